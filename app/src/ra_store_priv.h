/* ra_store_priv.h - what the store's source files share (ra_store.c: open, the ledger,
 * decisions, the outbox; ra_store_audit.c: operators, evidence, verification, queries).
 * Not part of the API. */
#ifndef RA_STORE_PRIV_H
#define RA_STORE_PRIV_H

#include "ra/ra_store.h"

#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>

#define RA_STORE_DOMAIN "ra_store"
#define RA_STORE_MAX_BODY (8u << 20) /* one record's canonical JSON */
#define RA_STORE_JSON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(10))

/* Statements prepared once per handle (ra_store__stmt()). */
typedef enum ra_store_sql {
    RA_SQL_BEGIN,
    RA_SQL_COMMIT,
    RA_SQL_ROLLBACK,
    RA_SQL_LAST,      /* n, hash of the last record */
    RA_SQL_INSERT,    /* a record */
    RA_SQL_LAST_SEQ,  /* the last decision seq */
    RA_SQL_SESSION,   /* the last session number */
    RA_SQL_GET,       /* kind, body of record n */
    RA_SQL_OPERATOR,  /* n, body of an operator's latest record */
    RA_SQL_OUTBOX_ADD,
    RA_SQL_OUTBOX,    /* outbox rows after a seq */
    RA_SQL_OUTBOX_DONE,
    RA_SQL_MESSAGES,  /* decisions after a seq */
    RA_SQL_MESSAGE,   /* the decision of one seq */
    RA_SQL_COUNT
} ra_store_sql_t;

struct ra_store {
    pthread_mutex_t lock; /* every public call that touches db holds it */
    sqlite3 *db;
    sqlite3_stmt *stmt[RA_SQL_COUNT];
    ra_store_mode_t mode;
    int immutable;        /* read-only, opened with immutable=1 (a read-only directory) */
    char *dir;
    char *db_path;
    char station[RA_STORE_MAX_ID];
    int64_t session;
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    unsigned char sk[crypto_sign_SECRETKEYBYTES]; /* write mode only */
    char pk_hex[2 * crypto_sign_PUBLICKEYBYTES + 1];
    /* the chain inside the current write transaction */
    int64_t tx_n;
    unsigned char tx_hash[crypto_hash_sha256_BYTES];
};

/* The cached statement, reset and with its bindings cleared; NULL (error set) on failure. */
sqlite3_stmt *ra_store__stmt(ra_store_t *s, ra_store_sql_t which);

/* Map a SQLite failure to an rv status with a message naming what was being done. A
 * write (writing = 1) adds "(nothing stored)". */
int ra_store__sql_fail(ra_store_t *s, int rc, const char *doing, int writing);

/* Write transactions: BEGIN IMMEDIATE (and load the chain's tail), COMMIT, ROLLBACK. */
int ra_store__begin(ra_store_t *s, const char *doing);
int ra_store__commit(ra_store_t *s, const char *doing);
void ra_store__rollback(ra_store_t *s);

/* Append one record inside a write transaction: body = the canonical dump of obj, whose
 * "ts" member must be set. n_out: the record number (may be NULL). */
int ra_store__append(ra_store_t *s, const char *kind, json_t *obj, int64_t *n_out);

/* RFC 3339 UTC with milliseconds, "2026-11-23T18:50:01.123Z". */
void ra_store__now(char out[32]);
/* A random (version 4) UUID, lowercase. */
void ra_store__uuid(char out[37]);
/* An id of [A-Za-z0-9_.-], 1..RA_STORE_MAX_ID-1 bytes. */
int ra_store__id_ok(const char *id);

/* The latest record of an operator: n, role and PIN hash (size 256). 0 found, 1 unknown,
 * < 0 error. Call with the lock held. */
int ra_store__operator_get(ra_store_t *s, const char *id, int64_t *n, ra_role_t *role,
                           char *pin_hash, size_t size);
/* Append the "cell" operator (technician, unusable PIN) inside a write transaction. */
int ra_store__operator_cell(ra_store_t *s, const char *id);

/* Open a second connection to the store's database, read-only (for verification). */
int ra_store__open_db(const char *path, int readonly, int immutable, sqlite3 **db);

#endif
