/* ra_store.h - the station's decision store: an append-only, hash-chained, signed ledger
 * in SQLite (WAL), evidence files content-addressed beside it, and the line outbox.
 *
 * A store is a directory:
 *   DIR/store.db          SQLite, WAL mode, synchronous=FULL; PRAGMA integrity_check at open
 *   DIR/evidence/ab/<sha256 hex>   evidence files (original JPEG bytes, overlays), named by
 *                         the SHA-256 of their bytes, written (fsync, rename) before the
 *                         record that cites them commits
 *   DIR/station.key       the station's Ed25519 secret key (libsodium), mode 0600, made at
 *                         first open; DIR/station.pub the public key (hex)
 *
 * The ledger. Every fact is one appended record: (n, kind, body, prev, hash, sig) where
 *   body = the record's canonical JSON bytes (jansson, compact, keys sorted), written once
 *          and never re-serialised: verification hashes the stored bytes;
 *   hash = SHA-256(prev || body), prev = the previous record's hash (32 zero bytes for n=1);
 *   sig  = Ed25519 detached signature of hash with the station key.
 * Kinds: "station" (n=1: station id, public key), "session" (each open for writing: the
 * session number, software), "operator" (an operator added or changed: id, name, role,
 * Argon2id PIN hash), "inspection" (the automatic proposal: code, family, model hash,
 * findings, reasons, evidence hashes, or a refusal), "decision" (a confirmation or an
 * override of an inspection: the line message, with its seq), "golden" and
 * "golden-check" (the shift-start golden-sample check, ra_golden.h). Cores, inspections,
 * findings, decisions and operators are SQL views over the ledger with indexes on the
 * fields searched (serial, family, route, operator, date); triggers refuse UPDATE and
 * DELETE on the ledger. Nothing is updated in place or deleted, except outbox rows once
 * their message has been handed to the publisher (the outbox is a queue, not a record).
 *
 * Decisions. Each decision gets seq = the station's last seq + 1 (64-bit, persisted; it
 * grows by exactly 1 per decision across restarts) in the same transaction that appends
 * its record and its outbox row: when ra_store_decide() returns 0 the decision is durable
 * (fsync'd) and may be acknowledged; on any error nothing of it is stored.
 * The line message of a decision is its record body with the chain appended as the last
 * member: body without its final '}' + ",\"chain\":{\"hash\":\"<64 hex>\",\"n\":N,\"prev\":
 * \"<64 hex>\",\"sig\":\"<128 hex>\"}}" (keys sorted; see ra_store_message(), docs/store.md). A
 * subscriber recovers the signed bytes by cutting that member off.
 *
 * Errors: RV_EIO (disk, full disk, read-only), RV_EFORMAT (corrupt database or chain),
 * RV_EINVAL (bad argument: names it), RV_ENOMEM; rv_last_error() says "ra_store: ...".
 * Thread-safety: one handle may be used from several threads; each database call is
 * serialised by the handle's mutex and is one transaction (ra_store_put_evidence writes
 * files only; ra_store_verify reads through its own read-only connection; callbacks run
 * with the lock released, so they may call the store again). Several processes may open one store
 * read-only; one process writes. */
#ifndef RA_STORE_H
#define RA_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ra_store ra_store_t;

#define RA_STORE_SCHEMA_VERSION 1
#define RA_STORE_MAX_ID 64 /* station, operator, serial, part number: bytes incl. NUL */

typedef enum ra_store_mode {
    RA_STORE_WRITE = 0,   /* create when absent, migrate, open a new session */
    RA_STORE_READONLY = 1 /* audit, replay from another process: never writes */
} ra_store_mode_t;

/* Open (RA_STORE_WRITE: create) the store in dir for station (an id of [A-Za-z0-9_.-],
 * 1..63 bytes; must equal the id the store was created with). Runs
 * PRAGMA integrity_check, applies pending migrations, and (write mode) appends a
 * "session" record: ra_store_session() grows by 1 at every open for writing. NULL on
 * failure (rv_last_error(): which file, what was wrong). station may be NULL to open an
 * existing store whatever its station (reman-audit). */
ra_store_t *ra_store_open(const char *dir, const char *station, ra_store_mode_t mode);
void ra_store_close(ra_store_t **self_p);

const char *ra_store_station(const ra_store_t *self);
int64_t ra_store_session(const ra_store_t *self);
uint64_t ra_store_last_seq(ra_store_t *self);
/* The station's public key, 64 hex characters. */
const char *ra_store_public_key(const ra_store_t *self);
const char *ra_store_dir(const ra_store_t *self);

/* --- operators and roles --------------------------------------------------------- */
typedef enum ra_role { RA_ROLE_TECHNICIAN = 0, RA_ROLE_SUPERVISOR = 1 } ra_role_t;
const char *ra_role_name(ra_role_t role);
int ra_role_parse(const char *name); /* -1 when unknown */

/* Add an operator (or replace their PIN/role: a new record; the old one stays). The PIN
 * (4..64 characters) is hashed with Argon2id (libsodium crypto_pwhash_str). */
int ra_store_operator_add(ra_store_t *self, const char *id, const char *name, ra_role_t role,
                          const char *pin);
/* 0 and *role when the PIN is right; RV_EINVAL "unknown operator" / "wrong PIN". */
int ra_store_operator_check(ra_store_t *self, const char *id, const char *pin, ra_role_t *role);

/* --- evidence ----------------------------------------------------------------------- */
/* Store bytes content-addressed (idempotent); hex: the SHA-256, 65 bytes. */
int ra_store_put_evidence(ra_store_t *self, const uint8_t *bytes, size_t len, char hex[65]);
/* The path of an evidence file (whether or not it exists). */
int ra_store_evidence_path(const ra_store_t *self, const char *hex, char *path, size_t size);

/* --- inspections and decisions --------------------------------------------------- */
/* Append an inspection (the automatic proposal). inspection: a JSON object as
 * reman-inspect prints it (schema "reman.inspection/1": code{serial, part_number}, family,
 * model_hash, proposal, route, reasons, findings, credit, value_retained, evidence[{kind,
 * sha256, bytes}] ... or "refused"); the store adds station, session, id (UUID), ts and
 * keeps it whole. *n: its record number. */
int ra_store_inspection(ra_store_t *self, json_t *inspection, int64_t *n);

/* One part seen in several views (ra_part.h): the part's inspection, combined here from the
 * views' stored records (2..16 inspection records, each graded, of one serial and family)
 * and appended as an inspection whose "views" cite them. A decision then cites the part's
 * record. *part: its record number. RV_EINVAL (nothing stored) naming the view that does
 * not fit. */
int ra_store_part(ra_store_t *self, const int64_t *views, size_t n, int64_t *part);

/* Append a golden-sample record: kind "golden" (a known part's stored result, schema
 * reman.golden/1) or "golden-check" (a later inspection of it compared with that result,
 * schema reman.golden-check/1; see ra_golden.h). The store adds station, session, id, ts. */
int ra_store_note(ra_store_t *self, const char *kind, json_t *record, int64_t *n);

typedef struct ra_decision_in {
    int64_t inspection;  /* the record number of the inspection decided */
    const char *operator_id; /* who confirms or overrides (must exist; "cell" for an
                              * automated cell is created on first use as a technician) */
    const char *route;   /* NULL: confirm the proposal's route; else an override to it */
    const char *reason_code; /* override: required, from the family's or station's list */
    const char *text;        /* override: free text, may be NULL */
    const char *supervisor;  /* an upgrade (a route retaining more value than the
                              * grader's) needs a supervisor's id and PIN */
    const char *supervisor_pin;
} ra_decision_in_t;

typedef struct ra_decision_ack {
    uint64_t seq;
    int64_t n;         /* record number */
    char id[37];       /* UUID */
    char route[32];
} ra_decision_ack_t;

/* Decide: append the decision record and its outbox row in one transaction (fsync'd).
 * 0: durable, ack filled. RV_EINVAL: a review proposal confirmed without a route, an
 * override without a reason code, an upgrade without a valid supervisor, an unknown
 * operator or inspection (names which). RV_EIO: the disk refused (full, read-only):
 * nothing stored. */
int ra_store_decide(ra_store_t *self, const ra_decision_in_t *in, ra_decision_ack_t *ack);
/* Group commit: n decisions in one transaction; all or none. */
int ra_store_decide_many(ra_store_t *self, const ra_decision_in_t *in, size_t n,
                         ra_decision_ack_t *acks);

/* --- upgrades waiting for a supervisor ------------------------------------------------ */
/* An upgrade asked for without a supervisor at the bench. in is checked as
 * ra_store_decide() checks it (the inspection, the operator, the reason code) except that
 * it names no supervisor, and its route must be an upgrade over the grader's. It is
 * appended as an "upgrade-request" record (schema reman.upgrade-request/1: inspection{n,
 * id}, serial, family, proposal, grader, route, operator, override{from, reason_code,
 * text}); nothing is decided and nothing goes to the line. ack: n and id of the request
 * (seq 0). The request waits until a supervisor answers it, a later request for the same
 * inspection replaces it, or the inspection is decided otherwise. */
int ra_store_request_upgrade(ra_store_t *self, const ra_decision_in_t *in, ra_decision_ack_t *ack);

/* A supervisor answers a waiting request (their PIN checked with Argon2id; the technician
 * who asked cannot answer their own request). approve: the decision is committed as if
 * decided at the bench with that supervisor, its override naming the request
 * (override.request{n, id}); ack as ra_store_decide(). Else an "upgrade-refused" record
 * (request{n, id}, inspection, serial, operator, supervisor, text: required) and the
 * inspection stays undecided; ack: its n and id. RV_EINVAL: not a request, no longer
 * waiting, wrong PIN, not a supervisor, no text for a refusal (nothing stored). */
int ra_store_answer_upgrade(ra_store_t *self, int64_t request, const char *supervisor,
                            const char *pin, int approve, const char *text,
                            ra_decision_ack_t *ack);

/* --- the line: messages, outbox, replay -------------------------------------------- */
/* Called for each message, in seq order; return non-zero to stop. msg is not
 * NUL-terminated past len (it is, in fact, but do not rely on it). */
typedef int (*ra_store_msg_fn)(void *arg, uint64_t seq, const char *msg, size_t len);

/* The messages of decisions with seq > since, in order, at most max. Returns how many
 * were given, or a negative status. */
int ra_store_messages(ra_store_t *self, uint64_t since, size_t max, ra_store_msg_fn fn,
                      void *arg);
/* The outbox: messages committed and not yet handed to the publisher, in seq order. */
int ra_store_outbox(ra_store_t *self, size_t max, ra_store_msg_fn fn, void *arg);
/* Remove outbox rows with seq <= upto (after they were published). */
int ra_store_outbox_done(ra_store_t *self, uint64_t upto);
/* The message of one decision (malloc'd, NUL-terminated). */
int ra_store_message(ra_store_t *self, uint64_t seq, char **msg, size_t *len);

/* --- audit ------------------------------------------------------------------------- */
typedef struct ra_verify_report {
    int64_t records;       /* records checked */
    int64_t evidence;      /* evidence files checked */
    int64_t first_bad;     /* record number of the first broken record, 0 when none */
    char what[512];        /* "record 17 (decision seq 5): hash does not match its body" or
                            * "evidence/ab/ab12...: SHA-256 does not match its name" */
} ra_verify_report_t;

/* Check the chain, every signature (with DIR/station.pub and the key in record 1) and
 * every cited evidence file's hash. 0 when all hold; RV_EFORMAT with the report naming
 * the first broken record or file. */
int ra_store_verify(ra_store_t *self, ra_verify_report_t *report);

/* The records of one kind (NULL: all), in order: fn gets the record number, kind and body.
 * from/to: ISO dates or times (inclusive; NULL: open). For reman-audit. */
typedef int (*ra_store_record_fn)(void *arg, int64_t n, const char *kind, const char *body,
                                  size_t len);
int ra_store_records(ra_store_t *self, const char *kind, const char *from, const char *to,
                     ra_store_record_fn fn, void *arg);
/* Every inspection and decision of one serial (and the upgrade requests and refusals), in
 * order. */
int ra_store_history(ra_store_t *self, const char *serial, ra_store_record_fn fn, void *arg);
/* The upgrade requests still waiting for a supervisor (ra_store_request_upgrade), oldest
 * first: fn gets each request record. */
int ra_store_upgrade_requests(ra_store_t *self, ra_store_record_fn fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif
