/* ra_store.c - the station's decision store: opening (keys, schema, migrations, the
 * session), the append-only signed ledger, decisions and the line outbox.
 * Operators, evidence, verification and the audit queries are in ra_store_audit.c. */
#include "ra_store_priv.h"

#include "ra/ra_part.h"
#include "ra/ra_version.h"
#include "rm/rm_grade.h"
#include "rv/rv_error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define D RA_STORE_DOMAIN
#define S_CHUNK 256 /* messages fetched per lock */

/* --- the schema ------------------------------------------------------------------------
 * Migrations: s_migrations[v - 1] takes a database from user_version v - 1 to v. Version
 * 0 is an empty database. Append a version by adding its SQL here and raising
 * RA_STORE_SCHEMA_VERSION; never edit a released entry. */
static const char *const s_migrations[] = {
    /* 1: the ledger, its views and indexes, the outbox */
    "CREATE TABLE records(n INTEGER PRIMARY KEY, kind TEXT NOT NULL, ts TEXT NOT NULL,"
    " body TEXT NOT NULL, prev BLOB NOT NULL, hash BLOB NOT NULL, sig BLOB NOT NULL);"
    "CREATE TRIGGER records_no_update BEFORE UPDATE ON records"
    " BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;"
    "CREATE TRIGGER records_no_delete BEFORE DELETE ON records"
    " BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;"
    "CREATE INDEX records_kind ON records(kind, n);"
    "CREATE INDEX records_ts ON records(ts);"
    "CREATE INDEX records_family ON records(kind, json_extract(body, '$.family'));"
    "CREATE INDEX records_serial_i ON records(json_extract(body, '$.code.serial'))"
    " WHERE kind = 'inspection';"
    "CREATE INDEX records_serial_d ON records(json_extract(body, '$.serial'))"
    " WHERE kind = 'decision';"
    "CREATE INDEX records_route ON records(json_extract(body, '$.route'))"
    " WHERE kind = 'decision';"
    "CREATE INDEX records_operator ON records(json_extract(body, '$.operator'))"
    " WHERE kind = 'decision';"
    "CREATE INDEX records_decided ON records(json_extract(body, '$.inspection.n'))"
    " WHERE kind = 'decision';"
    "CREATE INDEX records_operator_id ON records(json_extract(body, '$.id'))"
    " WHERE kind = 'operator';"
    "CREATE UNIQUE INDEX records_seq ON records(json_extract(body, '$.seq'))"
    " WHERE kind = 'decision';"
    "CREATE TABLE outbox(seq INTEGER PRIMARY KEY, n INTEGER NOT NULL REFERENCES records(n));"
    "CREATE VIEW inspections AS SELECT n, ts,"
    " json_extract(body, '$.id') AS id, json_extract(body, '$.station') AS station,"
    " json_extract(body, '$.session') AS session,"
    " json_extract(body, '$.code.serial') AS serial,"
    " json_extract(body, '$.code.part_number') AS part_number,"
    " json_extract(body, '$.family') AS family, json_extract(body, '$.model_hash') AS model_hash,"
    " json_extract(body, '$.proposal') AS proposal, json_extract(body, '$.route') AS route,"
    " json_extract(body, '$.credit') AS credit, json_extract(body, '$.refused') AS refused, body"
    " FROM records WHERE kind = 'inspection';"
    "CREATE VIEW findings AS SELECT r.n AS inspection, CAST(f.key AS INTEGER) AS idx,"
    " json_extract(r.body, '$.code.serial') AS serial, json_extract(r.body, '$.family') AS family,"
    " json_extract(f.value, '$.type') AS type, json_extract(f.value, '$.zone') AS zone,"
    " f.value AS finding FROM records r, json_each(r.body, '$.findings') f"
    " WHERE r.kind = 'inspection';"
    "CREATE VIEW decisions AS SELECT n, ts, json_extract(body, '$.seq') AS seq,"
    " json_extract(body, '$.id') AS id, json_extract(body, '$.inspection.n') AS inspection,"
    " json_extract(body, '$.serial') AS serial, json_extract(body, '$.part_number') AS part_number,"
    " json_extract(body, '$.family') AS family, json_extract(body, '$.proposal') AS proposal,"
    " json_extract(body, '$.route') AS route,"
    " json_extract(body, '$.override.reason_code') AS reason_code,"
    " json_extract(body, '$.override.supervisor') AS supervisor,"
    " json_extract(body, '$.operator') AS operator, json_extract(body, '$.role') AS role,"
    " json_extract(body, '$.session') AS session, body"
    " FROM records WHERE kind = 'decision';"
    "CREATE VIEW operators AS SELECT r.n AS n, json_extract(r.body, '$.id') AS id,"
    " json_extract(r.body, '$.name') AS name, json_extract(r.body, '$.role') AS role,"
    " r.ts AS since FROM records r WHERE r.kind = 'operator' AND r.n = (SELECT max(o.n)"
    " FROM records o WHERE o.kind = 'operator'"
    " AND json_extract(o.body, '$.id') = json_extract(r.body, '$.id'));"
    "CREATE VIEW cores AS SELECT i.serial AS serial, max(i.part_number) AS part_number,"
    " max(i.family) AS family, count(*) AS inspections, min(i.ts) AS first_seen,"
    " max(i.ts) AS last_seen, (SELECT count(*) FROM records d WHERE d.kind = 'decision'"
    " AND json_extract(d.body, '$.serial') = i.serial) AS decisions"
    " FROM inspections i WHERE i.serial IS NOT NULL GROUP BY i.serial;",
};
#define S_NMIGRATIONS ((int) (sizeof s_migrations / sizeof *s_migrations))
_Static_assert(sizeof s_migrations / sizeof *s_migrations == RA_STORE_SCHEMA_VERSION,
               "one migration per schema version");

static const char *const s_sql[RA_SQL_COUNT] = {
    [RA_SQL_BEGIN] = "BEGIN IMMEDIATE",
    [RA_SQL_COMMIT] = "COMMIT",
    [RA_SQL_ROLLBACK] = "ROLLBACK",
    [RA_SQL_LAST] = "SELECT n, hash FROM records ORDER BY n DESC LIMIT 1",
    [RA_SQL_INSERT] = "INSERT INTO records(n, kind, ts, body, prev, hash, sig)"
                      " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    /* INDEXED BY: the planner, without statistics, would walk every decision */
    [RA_SQL_LAST_SEQ] = "SELECT json_extract(body, '$.seq') FROM records INDEXED BY records_seq"
                        " WHERE kind = 'decision' ORDER BY json_extract(body, '$.seq') DESC"
                        " LIMIT 1",
    [RA_SQL_SESSION] = "SELECT max(json_extract(body, '$.session')) FROM records"
                       " WHERE kind = 'session'",
    [RA_SQL_GET] = "SELECT kind, body FROM records WHERE n = ?1",
    [RA_SQL_OPERATOR] = "SELECT n, body FROM records WHERE kind = 'operator'"
                        " AND json_extract(body, '$.id') = ?1 ORDER BY n DESC LIMIT 1",
    [RA_SQL_OUTBOX_ADD] = "INSERT INTO outbox(seq, n) VALUES(?1, ?2)",
    [RA_SQL_OUTBOX] = "SELECT o.seq, r.n, r.body, r.prev, r.hash, r.sig FROM outbox o"
                      " JOIN records r ON r.n = o.n WHERE o.seq > ?1 ORDER BY o.seq LIMIT ?2",
    [RA_SQL_OUTBOX_DONE] = "DELETE FROM outbox WHERE seq <= ?1",
    [RA_SQL_MESSAGES] = "SELECT json_extract(body, '$.seq'), n, body, prev, hash, sig"
                        " FROM records INDEXED BY records_seq WHERE kind = 'decision'"
                        " AND json_extract(body, '$.seq') > ?1"
                        " ORDER BY json_extract(body, '$.seq') LIMIT ?2",
    [RA_SQL_MESSAGE] = "SELECT json_extract(body, '$.seq'), n, body, prev, hash, sig"
                       " FROM records INDEXED BY records_seq WHERE kind = 'decision'"
                       " AND json_extract(body, '$.seq') = ?1",
};

/* --- small helpers ------------------------------------------------------------------- */

void ra_store__now(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + k, 32 - k, ".%03dZ", (int) (ts.tv_nsec / 1000000));
}

void ra_store__uuid(char out[37])
{
    unsigned char b[16];
    randombytes_buf(b, sizeof b);
    b[6] = (unsigned char) ((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char) ((b[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

int ra_store__id_ok(const char *id)
{
    if (!id || !id[0] || strlen(id) >= RA_STORE_MAX_ID)
        return 0;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.' || *p == '-'))
            return 0;
    return 1;
}

static void s_hex(char *out, const unsigned char *bin, size_t n)
{
    sodium_bin2hex(out, 2 * n + 1, bin, n);
}

static char *s_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + lb + 2);
    if (p) {
        memcpy(p, a, la);
        p[la] = '/';
        memcpy(p + la + 1, b, lb + 1);
    }
    return p;
}

/* fsync a directory so a rename or a creation in it is durable. */
static int s_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* --- SQLite plumbing ------------------------------------------------------------------ */

sqlite3_stmt *ra_store__stmt(ra_store_t *s, ra_store_sql_t which)
{
    sqlite3_stmt *st = s->stmt[which];
    if (!st) {
        int rc = sqlite3_prepare_v3(s->db, s_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                                    &s->stmt[which], NULL);
        if (rc != SQLITE_OK) {
            ra_store__sql_fail(s, rc, "preparing a statement", 0);
            return NULL;
        }
        return s->stmt[which];
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

/* Reset a statement after use (drops its bindings' borrowed pointers). */
static void s_done(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

/* Step a statement that returns no row, then reset it: 0 or the mapped error (read before
 * the reset, which would lose the system errno). */
static int s_step_done(ra_store_t *s, sqlite3_stmt *st, const char *doing, int writing)
{
    int rc = sqlite3_step(st);
    int e = rc == SQLITE_DONE ? RV_OK : ra_store__sql_fail(s, rc, doing, writing);
    s_done(st);
    return e;
}

int ra_store__sql_fail(ra_store_t *s, int rc, const char *doing, int writing)
{
    const char *tail = writing ? " (nothing stored)" : "";
    const char *msg = s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    const char *path = s && s->db_path ? s->db_path : "store.db";
    int sys = s && s->db ? sqlite3_system_errno(s->db) : 0;
    switch (rc & 0xff) {
    case SQLITE_FULL:
        return rv_fail(RV_EIO, D, "disk full while %s%s", doing, tail);
    case SQLITE_READONLY:
        return rv_fail(RV_EIO, D, "%s is read-only (%s) while %s%s", path, msg, doing, tail);
    case SQLITE_IOERR:
        if (sys == ENOSPC)
            return rv_fail(RV_EIO, D, "disk full while %s%s", doing, tail);
        if (sys == EFBIG)
            return rv_fail(RV_EIO, D, "file size limit reached (%s) while %s%s", strerror(sys),
                           doing, tail);
        if (rc == SQLITE_IOERR_WRITE || rc == SQLITE_IOERR_TRUNCATE || rc == SQLITE_IOERR_SHMSIZE)
            return rv_fail(RV_EIO, D,
                           "a write to %s failed (%s: a full disk, a file size limit or a "
                           "failing device) while %s%s",
                           path, sys ? strerror(sys) : msg, doing, tail);
        return rv_fail(RV_EIO, D, "I/O error on %s (%s, SQLite code %d) while %s%s", path,
                       sys ? strerror(sys) : msg, rc, doing, tail);
    case SQLITE_CANTOPEN:
        return rv_fail(RV_EIO, D, "cannot open %s (%s) while %s%s", path,
                       sys ? strerror(sys) : msg, doing, tail);
    case SQLITE_NOMEM:
        return rv_fail(RV_ENOMEM, D, "out of memory while %s%s", doing, tail);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return rv_fail(RV_EFORMAT, D, "%s is corrupt (%s) while %s%s", path, msg, doing, tail);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return rv_fail(RV_EIO, D, "%s is locked by another writer (%s) while %s%s", path, msg,
                       doing, tail);
    case SQLITE_CONSTRAINT:
        return rv_fail(RV_EFORMAT, D, "%s refused a write (%s) while %s%s", path, msg, doing,
                       tail);
    default:
        return rv_fail(RV_EIO, D, "%s: %s while %s%s", path, msg, doing, tail);
    }
}

static int s_exec(ra_store_t *s, const char *sql, const char *doing, int writing)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? RV_OK : ra_store__sql_fail(s, rc, doing, writing);
}

/* Percent-encode what a SQLite URI path may not hold as it is. */
static char *s_uri(const char *path, const char *query)
{
    size_t n = strlen(path), q = strlen(query);
    char *u = malloc(5 + 3 * n + q + 1), *o = u;
    if (!u)
        return NULL;
    memcpy(o, "file:", 5);
    o += 5;
    for (const unsigned char *p = (const unsigned char *) path; *p; p++) {
        if (*p == '%' || *p == '?' || *p == '#' || *p < 0x20) {
            sprintf(o, "%%%02X", *p);
            o += 3;
        } else {
            *o++ = (char) *p;
        }
    }
    memcpy(o, query, q + 1);
    return u;
}

int ra_store__open_db(const char *path, int readonly, int immutable, sqlite3 **db)
{
    int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI | SQLITE_OPEN_EXRESCODE;
    char *uri = s_uri(path, immutable ? "?immutable=1" : "");
    if (!uri)
        return SQLITE_NOMEM;
    *db = NULL;
    int rc = sqlite3_open_v2(uri, db, flags, NULL);
    free(uri);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(*db, 10000);
    if (rc == SQLITE_OK)
        sqlite3_extended_result_codes(*db, 1);
    return rc;
}

/* The first row's first column of a query as text (size bytes) or an integer. */
static int s_query_text(ra_store_t *s, const char *sql, char *out, size_t size, const char *doing)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *) sqlite3_column_text(st, 0);
        snprintf(out, size, "%s", t ? t : "");
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        out[0] = 0;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? RV_OK : ra_store__sql_fail(s, rc, doing, 0);
}

static int s_query_int(ra_store_t *s, const char *sql, int64_t *v, const char *doing)
{
    char buf[32];
    int rc = s_query_text(s, sql, buf, sizeof buf, doing);
    if (rc == RV_OK)
        *v = strtoll(buf, NULL, 10);
    return rc;
}

/* --- transactions and the chain ------------------------------------------------------- */

int ra_store__begin(ra_store_t *s, const char *doing)
{
    sqlite3_stmt *st = ra_store__stmt(s, RA_SQL_BEGIN);
    if (!st)
        return RV_EIO;
    int rc = s_step_done(s, st, doing, 1);
    if (rc != RV_OK)
        return rc;
    if (!(st = ra_store__stmt(s, RA_SQL_LAST))) {
        ra_store__rollback(s);
        return RV_EIO;
    }
    s->tx_n = 0;
    memset(s->tx_hash, 0, sizeof s->tx_hash);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        s->tx_n = sqlite3_column_int64(st, 0);
        if (sqlite3_column_bytes(st, 1) != (int) sizeof s->tx_hash) {
            s_done(st);
            ra_store__rollback(s);
            return rv_fail(RV_EFORMAT, D, "record %lld has no 32-byte hash: the chain is broken",
                           (long long) s->tx_n);
        }
        memcpy(s->tx_hash, sqlite3_column_blob(st, 1), sizeof s->tx_hash);
        rc = SQLITE_DONE;
    }
    s_done(st);
    if (rc != SQLITE_DONE) {
        int e = ra_store__sql_fail(s, rc, doing, 1);
        ra_store__rollback(s);
        return e;
    }
    return RV_OK;
}

int ra_store__commit(ra_store_t *s, const char *doing)
{
    sqlite3_stmt *st = ra_store__stmt(s, RA_SQL_COMMIT);
    int rc = st ? s_step_done(s, st, doing, 1) : RV_EIO;
    if (rc != RV_OK)
        ra_store__rollback(s);
    return rc;
}

void ra_store__rollback(ra_store_t *s)
{
    if (sqlite3_get_autocommit(s->db))
        return; /* SQLite already rolled back (an I/O error, a full disk) */
    sqlite3_stmt *st = ra_store__stmt(s, RA_SQL_ROLLBACK);
    if (st)
        sqlite3_step(st);
    s_done(st);
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int ra_store__append(ra_store_t *s, const char *kind, json_t *obj, int64_t *n_out)
{
    const char *ts = json_string_value(json_object_get(obj, "ts"));
    if (!ts)
        return rv_fail(RV_EINVAL, D, "a %s record needs a ts", kind);
    char *body = json_dumps(obj, RA_STORE_JSON_FLAGS);
    if (!body)
        return rv_fail(RV_EINVAL, D, "the %s record cannot be serialised as JSON", kind);
    size_t len = strlen(body);
    if (len > RA_STORE_MAX_BODY) {
        free(body);
        return rv_fail(RV_ELIMIT, D, "the %s record is %zu bytes (at most %u)", kind, len,
                       RA_STORE_MAX_BODY);
    }
    unsigned char hash[crypto_hash_sha256_BYTES], sig[crypto_sign_BYTES];
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, s->tx_hash, sizeof s->tx_hash);
    crypto_hash_sha256_update(&h, (const unsigned char *) body, len);
    crypto_hash_sha256_final(&h, hash);
    crypto_sign_detached(sig, NULL, hash, sizeof hash, s->sk);
    int64_t n = s->tx_n + 1;
    sqlite3_stmt *st = ra_store__stmt(s, RA_SQL_INSERT);
    if (!st) {
        free(body);
        return RV_EIO;
    }
    sqlite3_bind_int64(st, 1, n);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ts, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, body, (int) len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, s->tx_hash, sizeof s->tx_hash, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, hash, sizeof hash, SQLITE_STATIC);
    sqlite3_bind_blob(st, 7, sig, sizeof sig, SQLITE_STATIC);
    char doing[64];
    snprintf(doing, sizeof doing, "appending a %s record", kind);
    int rc = s_step_done(s, st, doing, 1);
    free(body);
    if (rc != RV_OK)
        return rc;
    s->tx_n = n;
    memcpy(s->tx_hash, hash, sizeof hash);
    if (n_out)
        *n_out = n;
    return RV_OK;
}

/* --- keys ---------------------------------------------------------------------------- */

/* Read a small text file (a key) into buf; the trailing newline dropped. */
static int s_read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    ssize_t k = read(fd, buf, size - 1);
    int e = errno;
    close(fd);
    if (k < 0) {
        errno = e;
        return -1;
    }
    buf[k] = 0;
    while (k > 0 && (buf[k - 1] == '\n' || buf[k - 1] == '\r' || buf[k - 1] == ' '))
        buf[--k] = 0;
    return 0;
}

/* Write a small file durably: tmp, fsync, rename, fsync dir. */
static int s_write_small(const char *dir, const char *name, const char *text, mode_t mode)
{
    char tmp[4096], dst[4096];
    snprintf(tmp, sizeof tmp, "%s/.tmp-%s", dir, name);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return rv_fail(RV_EIO, D, "cannot create %s: %s", tmp, strerror(errno));
    size_t len = strlen(text);
    int ok = write(fd, text, len) == (ssize_t) len && fsync(fd) == 0;
    int e = errno;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, dst) != 0) {
        e = ok ? errno : e;
        unlink(tmp);
        return rv_fail(RV_EIO, D, "cannot write %s: %s", dst, strerror(e));
    }
    s_fsync_dir(dir);
    return RV_OK;
}

static int s_key_load(ra_store_t *s)
{
    char path[4096], hex[260];
    snprintf(path, sizeof path, "%s/station.key", s->dir);
    if (s_read_small(path, hex, sizeof hex) != 0)
        return rv_fail(RV_EIO, D, "cannot read the station's secret key %s: %s", path,
                       strerror(errno));
    size_t bin = 0;
    if (strlen(hex) != 2 * sizeof s->sk ||
        sodium_hex2bin(s->sk, sizeof s->sk, hex, strlen(hex), NULL, &bin, NULL) != 0 ||
        bin != sizeof s->sk) {
        sodium_memzero(hex, sizeof hex);
        return rv_fail(RV_EFORMAT, D, "%s is not an Ed25519 secret key (%zu hex digits)", path,
                       2 * sizeof s->sk);
    }
    sodium_memzero(hex, sizeof hex);
    crypto_sign_ed25519_sk_to_pk(s->pk, s->sk);
    s_hex(s->pk_hex, s->pk, sizeof s->pk);
    return RV_OK;
}

/* Make the station's key pair: station.key (O_EXCL, 0600) and station.pub. When the secret
 * key is already there (a store whose first record never committed), use it. */
static int s_key_create(ra_store_t *s)
{
    char path[4096], hex[2 * crypto_sign_SECRETKEYBYTES + 2];
    snprintf(path, sizeof path, "%s/station.key", s->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == EEXIST)
        return s_key_load(s);
    if (fd < 0)
        return rv_fail(RV_EIO, D, "cannot create %s: %s", path, strerror(errno));
    crypto_sign_keypair(s->pk, s->sk);
    sodium_bin2hex(hex, sizeof hex - 1, s->sk, sizeof s->sk);
    size_t len = strlen(hex);
    hex[len++] = '\n';
    int ok = fchmod(fd, 0600) == 0 && write(fd, hex, len) == (ssize_t) len && fsync(fd) == 0;
    int e = errno;
    ok = close(fd) == 0 && ok;
    sodium_memzero(hex, sizeof hex);
    if (!ok) {
        unlink(path);
        return rv_fail(RV_EIO, D, "cannot write %s: %s", path, strerror(e));
    }
    s_hex(s->pk_hex, s->pk, sizeof s->pk);
    return RV_OK;
}

static int s_pub_write(ra_store_t *s)
{
    char text[80];
    snprintf(text, sizeof text, "%s\n", s->pk_hex);
    return s_write_small(s->dir, "station.pub", text, 0644);
}

/* --- opening ------------------------------------------------------------------------- */

static int s_migrate(ra_store_t *s)
{
    int64_t v = 0;
    int rc = s_query_int(s, "PRAGMA user_version", &v, "reading the schema version");
    if (rc != RV_OK)
        return rc;
    if (v > S_NMIGRATIONS)
        return rv_fail(RV_EFORMAT, D,
                       "%s has schema version %lld, newer than this software knows (%d): use "
                       "the reman-station that wrote it or a newer one",
                       s->db_path, (long long) v, S_NMIGRATIONS);
    if (v == S_NMIGRATIONS)
        return RV_OK;
    if (s->mode == RA_STORE_READONLY)
        return rv_fail(RV_EFORMAT, D,
                       "%s has schema version %lld, older than this software's %d: open it "
                       "once for writing to migrate it",
                       s->db_path, (long long) v, S_NMIGRATIONS);
    if ((rc = s_exec(s, "BEGIN IMMEDIATE", "migrating the schema", 1)) != RV_OK)
        return rc;
    /* again inside the transaction: another process may have migrated meanwhile */
    if ((rc = s_query_int(s, "PRAGMA user_version", &v, "reading the schema version")) != RV_OK)
        goto fail;
    if (v == 0) {
        int64_t tables = 0;
        if ((rc = s_query_int(s, "SELECT count(*) FROM sqlite_schema", &tables,
                              "reading the schema")) != RV_OK)
            goto fail;
        if (tables) {
            rc = rv_fail(RV_EFORMAT, D,
                         "%s is not a reman-station store (schema version 0 with %lld objects)",
                         s->db_path, (long long) tables);
            goto fail;
        }
    }
    for (; v < S_NMIGRATIONS; v++) {
        char doing[64], pragma[64];
        snprintf(doing, sizeof doing, "migrating the schema to version %lld", (long long) v + 1);
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %lld", (long long) v + 1);
        if ((rc = s_exec(s, s_migrations[v], doing, 1)) != RV_OK ||
            (rc = s_exec(s, pragma, doing, 1)) != RV_OK)
            goto fail;
    }
    return s_exec(s, "COMMIT", "migrating the schema", 1);
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int s_integrity(ra_store_t *s)
{
    char res[512];
    int rc = s_query_text(s, "PRAGMA integrity_check", res, sizeof res,
                          "checking the database's integrity");
    if (rc != RV_OK)
        return rc;
    if (strcmp(res, "ok") != 0)
        return rv_fail(RV_EFORMAT, D, "%s fails PRAGMA integrity_check: %s", s->db_path, res);
    return RV_OK;
}

/* Record n inside the caller's lock: its kind (size 32) and its body parsed (*body, NULL
 * when it is not JSON). 0 found, 1 no such record, < 0 the database failed (doing says
 * what was being read). */
static int s_get(ra_store_t *s, int64_t n, char kind[32], json_t **body, const char *doing)
{
    *body = NULL;
    kind[0] = '\0';
    sqlite3_stmt *st = ra_store__stmt(s, RA_SQL_GET);
    if (!st)
        return RV_EIO;
    sqlite3_bind_int64(st, 1, n);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(kind, 32, "%s", (const char *) sqlite3_column_text(st, 0));
        *body = json_loads((const char *) sqlite3_column_text(st, 1), 0, NULL);
    }
    s_done(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : ra_store__sql_fail(s, rc, doing, 1);
}

/* Record 1: the station and its key. 1 when the ledger is empty. */
static int s_read_station(ra_store_t *s, const char *station)
{
    sqlite3_stmt *st = ra_store__stmt(s, RA_SQL_GET);
    if (!st)
        return RV_EIO;
    sqlite3_bind_int64(st, 1, 1);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        s_done(st);
        return 1;
    }
    if (rc != SQLITE_ROW) {
        s_done(st);
        return ra_store__sql_fail(s, rc, "reading record 1", 0);
    }
    const char *kind = (const char *) sqlite3_column_text(st, 0);
    json_t *o = json_loads((const char *) sqlite3_column_text(st, 1), 0, NULL);
    const char *id = json_string_value(json_object_get(o, "station"));
    const char *key = json_string_value(json_object_get(o, "public_key"));
    size_t bin = 0;
    if (!kind || strcmp(kind, "station") != 0 || !id || !ra_store__id_ok(id) || !key ||
        sodium_hex2bin(s->pk, sizeof s->pk, key, strlen(key), NULL, &bin, NULL) != 0 ||
        bin != sizeof s->pk || strlen(key) != 2 * sizeof s->pk)
        rc = rv_fail(RV_EFORMAT, D, "%s: record 1 is not a station record with an id and a key",
                     s->db_path);
    else if (station && strcmp(station, id) != 0)
        rc = rv_fail(RV_EINVAL, D, "%s belongs to station %s, not %s", s->dir, id, station);
    else {
        snprintf(s->station, sizeof s->station, "%s", id);
        s_hex(s->pk_hex, s->pk, sizeof s->pk);
        rc = RV_OK;
    }
    json_decref(o);
    s_done(st);
    return rc;
}

static int s_last_session(ra_store_t *s, int64_t *session)
{
    sqlite3_stmt *st = ra_store__stmt(s, RA_SQL_SESSION);
    if (!st)
        return RV_EIO;
    int rc = sqlite3_step(st);
    *session = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    s_done(st);
    return rc == SQLITE_ROW ? RV_OK : ra_store__sql_fail(s, rc, "reading the session", 0);
}

/* Write mode, inside the first transaction: the station record (a new store) or the key
 * checks (an existing one), then this session's record. */
static int s_start_session(ra_store_t *s, const char *station)
{
    int rc = s_read_station(s, station);
    if (rc < 0)
        return rc;
    char now[32];
    ra_store__now(now);
    if (rc == 1) { /* a new store */
        if (!station || !ra_store__id_ok(station))
            return rv_fail(RV_EINVAL, D,
                           "a new store needs a station id of [A-Za-z0-9_.-], 1..%d bytes",
                           RA_STORE_MAX_ID - 1);
        snprintf(s->station, sizeof s->station, "%s", station);
        if ((rc = s_key_create(s)) != RV_OK || (rc = s_pub_write(s)) != RV_OK)
            return rc;
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "schema", "reman.station/1",
                              "station", s->station, "public_key", s->pk_hex, "software",
                              ra_version(), "ts", now);
        if (!o)
            return rv_fail(RV_ENOMEM, D, "out of memory");
        rc = ra_store__append(s, "station", o, NULL);
        json_decref(o);
        if (rc != RV_OK)
            return rc;
    } else {
        unsigned char want[sizeof s->pk];
        memcpy(want, s->pk, sizeof want);
        if ((rc = s_key_load(s)) != RV_OK)
            return rc;
        if (memcmp(want, s->pk, sizeof want) != 0)
            return rv_fail(RV_EFORMAT, D,
                           "%s/station.key is not the key of record 1 (the station's key): "
                           "refusing to sign with it",
                           s->dir);
        char path[4096], pub[200];
        snprintf(path, sizeof path, "%s/station.pub", s->dir);
        if (s_read_small(path, pub, sizeof pub) != 0) {
            if (errno != ENOENT)
                return rv_fail(RV_EIO, D, "cannot read %s: %s", path, strerror(errno));
            if ((rc = s_pub_write(s)) != RV_OK) /* lost: the key in record 1 is the truth */
                return rc;
        } else if (strcmp(pub, s->pk_hex) != 0) {
            return rv_fail(RV_EFORMAT, D,
                           "%s does not hold the key of record 1 (replaced?): refusing to open "
                           "for writing",
                           path);
        }
    }
    int64_t last = 0;
    if ((rc = s_last_session(s, &last)) != RV_OK)
        return rc;
    s->session = last + 1;
    json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s}", "schema", "reman.session/1", "station",
                          s->station, "session", (json_int_t) s->session, "software",
                          ra_version(), "ts", now);
    if (!o)
        return rv_fail(RV_ENOMEM, D, "out of memory");
    rc = ra_store__append(s, "session", o, NULL);
    json_decref(o);
    return rc;
}

/* Is path writable by this process (effective ids)? 0 yes; else errno. */
static int s_writable(const char *path)
{
    return faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0 ? 0 : errno;
}

static int s_open_write(ra_store_t *s, const char *station)
{
    if (mkdir(s->dir, 0755) != 0 && errno != EEXIST)
        return rv_fail(RV_EIO, D, "cannot create the store directory %s: %s", s->dir,
                       strerror(errno));
    int e = s_writable(s->dir);
    if (e)
        return rv_fail(RV_EIO, D,
                       "the store directory %s is read-only (%s): it cannot be opened for "
                       "writing (RA_STORE_READONLY opens it to audit)",
                       s->dir, strerror(e));
    struct stat sb;
    if (stat(s->db_path, &sb) == 0 && (e = s_writable(s->db_path)) != 0)
        return rv_fail(RV_EIO, D,
                       "%s is read-only (%s): it cannot be opened for writing "
                       "(RA_STORE_READONLY opens it to audit)",
                       s->db_path, strerror(e));
    char ev[4096];
    snprintf(ev, sizeof ev, "%s/evidence", s->dir);
    if (mkdir(ev, 0755) != 0 && errno != EEXIST)
        return rv_fail(RV_EIO, D, "cannot create %s: %s", ev, strerror(errno));
    int rc = ra_store__open_db(s->db_path, 0, 0, &s->db);
    if (rc != SQLITE_OK)
        return ra_store__sql_fail(s, rc, "opening the store", 0);
    char mode[32];
    if ((rc = s_query_text(s, "PRAGMA journal_mode = WAL", mode, sizeof mode,
                           "setting WAL mode")) != RV_OK)
        return rc;
    if (strcmp(mode, "wal") != 0)
        return rv_fail(RV_EIO, D, "%s cannot use WAL mode (journal mode %s)", s->db_path, mode);
    if ((rc = s_exec(s, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON",
                     "setting up the connection", 0)) != RV_OK ||
        (rc = s_integrity(s)) != RV_OK || (rc = s_migrate(s)) != RV_OK)
        return rc;
    if ((rc = ra_store__begin(s, "opening a session")) != RV_OK)
        return rc;
    if ((rc = s_start_session(s, station)) != RV_OK) {
        ra_store__rollback(s);
        return rc;
    }
    return ra_store__commit(s, "opening a session");
}

static int s_open_read(ra_store_t *s, const char *station)
{
    struct stat sb;
    if (stat(s->db_path, &sb) != 0)
        return rv_fail(RV_EIO, D, "no store in %s: %s: %s", s->dir, s->db_path,
                       strerror(errno));
    int rc = ra_store__open_db(s->db_path, 1, 0, &s->db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        /* a WAL database in a directory we cannot write (no -shm can be made): when no
         * write-ahead log is pending, read the database file as it is (immutable) */
        char wal[4096];
        snprintf(wal, sizeof wal, "%s-wal", s->db_path);
        int base = rc & 0xff;
        if ((base == SQLITE_CANTOPEN || base == SQLITE_READONLY) &&
            (stat(wal, &sb) != 0 || sb.st_size == 0)) {
            sqlite3_close_v2(s->db);
            s->db = NULL;
            s->immutable = 1;
            rc = ra_store__open_db(s->db_path, 1, 1, &s->db);
            if (rc == SQLITE_OK)
                rc = sqlite3_exec(s->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
        }
        if (rc != SQLITE_OK)
            return ra_store__sql_fail(s, rc, "opening the store read-only", 0);
    }
    if ((rc = s_integrity(s)) != RV_OK || (rc = s_migrate(s)) != RV_OK)
        return rc;
    if ((rc = s_read_station(s, station)) != RV_OK)
        return rc == 1 ? rv_fail(RV_EFORMAT, D, "%s: the ledger is empty", s->db_path) : rc;
    return s_last_session(s, &s->session);
}

ra_store_t *ra_store_open(const char *dir, const char *station, ra_store_mode_t mode)
{
    if (!dir || !dir[0] || (mode != RA_STORE_WRITE && mode != RA_STORE_READONLY)) {
        rv_fail(RV_EINVAL, D, "ra_store_open needs a directory and a mode");
        return NULL;
    }
    if (station && !ra_store__id_ok(station)) {
        rv_fail(RV_EINVAL, D, "station id \"%.80s\" is not of [A-Za-z0-9_.-], 1..%d bytes",
                station, RA_STORE_MAX_ID - 1);
        return NULL;
    }
    if (sodium_init() < 0) {
        rv_fail(RV_EBACKEND, D, "libsodium failed to initialise");
        return NULL;
    }
    ra_store_t *s = calloc(1, sizeof *s);
    if (!s) {
        rv_fail(RV_ENOMEM, D, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->mode = mode;
    s->dir = strdup(dir);
    s->db_path = s->dir ? s_join(dir, "store.db") : NULL;
    int rc;
    if (!s->dir || !s->db_path)
        rc = rv_fail(RV_ENOMEM, D, "out of memory");
    else
        rc = mode == RA_STORE_WRITE ? s_open_write(s, station) : s_open_read(s, station);
    if (rc != RV_OK) {
        ra_store_close(&s); /* leaves the error message alone */
        return NULL;
    }
    return s;
}

void ra_store_close(ra_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ra_store_t *s = *self_p;
    for (int i = 0; i < RA_SQL_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    if (s->db)
        sqlite3_close_v2(s->db);
    sodium_memzero(s->sk, sizeof s->sk);
    pthread_mutex_destroy(&s->lock);
    free(s->dir);
    free(s->db_path);
    free(s);
    *self_p = NULL;
}

const char *ra_store_station(const ra_store_t *self)
{
    return self ? self->station : "";
}

int64_t ra_store_session(const ra_store_t *self)
{
    return self ? self->session : 0;
}

const char *ra_store_public_key(const ra_store_t *self)
{
    return self ? self->pk_hex : "";
}

const char *ra_store_dir(const ra_store_t *self)
{
    return self ? self->dir : "";
}

static int s_last_seq_locked(ra_store_t *s, uint64_t *seq)
{
    sqlite3_stmt *st = ra_store__stmt(s, RA_SQL_LAST_SEQ);
    if (!st)
        return RV_EIO;
    int rc = sqlite3_step(st);
    *seq = rc == SQLITE_ROW ? (uint64_t) sqlite3_column_int64(st, 0) : 0;
    s_done(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE
               ? RV_OK
               : ra_store__sql_fail(s, rc, "reading the last seq", 0);
}

uint64_t ra_store_last_seq(ra_store_t *self)
{
    if (!self)
        return 0;
    uint64_t seq = 0;
    pthread_mutex_lock(&self->lock);
    s_last_seq_locked(self, &seq);
    pthread_mutex_unlock(&self->lock);
    return seq;
}

/* --- inspections ----------------------------------------------------------------------- */

static int s_hex64(const char *h)
{
    if (!h || strlen(h) != 64)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
            return 0;
    return 1;
}

/* What the store adds to a record it is given: station, session, a new id and ts. */
static int s_stamp(const ra_store_t *s, json_t *record)
{
    char id[37], now[32];
    ra_store__uuid(id);
    ra_store__now(now);
    if (json_object_set_new(record, "station", json_string(s->station)) ||
        json_object_set_new(record, "session", json_integer(s->session)) ||
        json_object_set_new(record, "id", json_string(id)) ||
        json_object_set_new(record, "ts", json_string(now)))
        return rv_fail(RV_ENOMEM, D, "out of memory");
    return RV_OK;
}

int ra_store_inspection(ra_store_t *self, json_t *inspection, int64_t *n)
{
    if (!self || !json_is_object(inspection))
        return rv_fail(RV_EINVAL, D, "ra_store_inspection needs a store and a JSON object");
    if (self->mode != RA_STORE_WRITE)
        return rv_fail(RV_EINVAL, D, "%s was opened read-only: no inspection stored", self->dir);
    const char *schema = json_string_value(json_object_get(inspection, "schema"));
    if (!schema || strcmp(schema, "reman.inspection/1") != 0)
        return rv_fail(RV_EINVAL, D, "the inspection's schema is \"%s\", not reman.inspection/1",
                       schema ? schema : "(none)");
    if (json_object_get(inspection, "views"))
        return rv_fail(RV_EINVAL, D, "an inspection citing views is a part's: ra_store_part "
                                     "combines it from the stored views");
    /* evidence is written before the record that cites it */
    json_t *ev = json_object_get(inspection, "evidence");
    if (ev && !json_is_array(ev))
        return rv_fail(RV_EINVAL, D, "the inspection's evidence is not an array");
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e)
    {
        const char *hex = json_string_value(json_object_get(e, "sha256"));
        char path[4096];
        struct stat sb;
        if (!s_hex64(hex))
            return rv_fail(RV_EINVAL, D,
                           "evidence %zu of the inspection has no sha256 (64 lowercase hex)", i);
        ra_store_evidence_path(self, hex, path, sizeof path);
        if (stat(path, &sb) != 0)
            return rv_fail(RV_EINVAL, D,
                           "evidence %s is cited but not stored (ra_store_put_evidence first): "
                           "nothing stored",
                           hex);
    }
    if (s_stamp(self, inspection) != RV_OK)
        return RV_ENOMEM;
    pthread_mutex_lock(&self->lock);
    int64_t rn = 0;
    int rc = ra_store__begin(self, "storing an inspection");
    if (rc == RV_OK) {
        if ((rc = ra_store__append(self, "inspection", inspection, &rn)) == RV_OK)
            rc = ra_store__commit(self, "committing an inspection");
        else
            ra_store__rollback(self);
    }
    pthread_mutex_unlock(&self->lock);
    if (rc == RV_OK && n)
        *n = rn;
    return rc;
}

int ra_store_part(ra_store_t *self, const int64_t *views, size_t n, int64_t *part)
{
    if (!self || !views || n < 2 || n > RA_PART_MAX_VIEWS)
        return rv_fail(RV_EINVAL, D, "ra_store_part needs a store and 2..%d views",
                       RA_PART_MAX_VIEWS);
    if (self->mode != RA_STORE_WRITE)
        return rv_fail(RV_EINVAL, D, "%s was opened read-only: no inspection stored", self->dir);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (views[i] == views[j])
                return rv_fail(RV_EINVAL, D, "record %lld is cited twice as a view",
                               (long long) views[i]);
    json_t *v[RA_PART_MAX_VIEWS] = {0}, *p = NULL;
    pthread_mutex_lock(&self->lock);
    int rc = ra_store__begin(self, "storing a part's inspection");
    int began = rc == RV_OK;
    for (size_t i = 0; i < n && rc == RV_OK; i++) {
        char kind[32];
        int got = s_get(self, views[i], kind, &v[i], "reading a view");
        if (got < 0)
            rc = got;
        else if (got == 1 || strcmp(kind, "inspection") != 0 || !v[i])
            rc = rv_fail(RV_EINVAL, D, "view %zu: record %lld is not an inspection", i + 1,
                         (long long) views[i]);
    }
    char why[400] = "";
    if (rc == RV_OK && !(p = ra_part_combine(v, views, n, why, sizeof why)))
        rc = rv_fail(RV_EINVAL, D, "%s: nothing stored", why);
    if (rc == RV_OK)
        rc = s_stamp(self, p);
    int64_t rn = 0;
    if (rc == RV_OK && (rc = ra_store__append(self, "inspection", p, &rn)) == RV_OK)
        rc = ra_store__commit(self, "committing a part's inspection");
    else if (began)
        ra_store__rollback(self);
    pthread_mutex_unlock(&self->lock);
    for (size_t i = 0; i < n; i++)
        json_decref(v[i]);
    json_decref(p);
    if (rc == RV_OK && part)
        *part = rn;
    return rc;
}

int ra_store_note(ra_store_t *self, const char *kind, json_t *record, int64_t *n)
{
    static const char *const kinds[][2] = {{"golden", "reman.golden/1"},
                                           {"golden-check", "reman.golden-check/1"}};
    const char *want = NULL;
    for (size_t i = 0; kind && i < sizeof kinds / sizeof *kinds; i++)
        if (!strcmp(kind, kinds[i][0]))
            want = kinds[i][1];
    if (!self || !want || !json_is_object(record))
        return rv_fail(RV_EINVAL, D, "ra_store_note needs a store, a kind (golden, golden-check) "
                                     "and a JSON object");
    if (self->mode != RA_STORE_WRITE)
        return rv_fail(RV_EINVAL, D, "%s was opened read-only: no %s record stored", self->dir,
                       kind);
    const char *schema = json_string_value(json_object_get(record, "schema"));
    if (!schema || strcmp(schema, want) != 0)
        return rv_fail(RV_EINVAL, D, "a %s record's schema must be %s, not \"%s\"", kind, want,
                       schema ? schema : "(none)");
    if (s_stamp(self, record) != RV_OK)
        return RV_ENOMEM;
    pthread_mutex_lock(&self->lock);
    int64_t rn = 0;
    int rc = ra_store__begin(self, "storing a record");
    if (rc == RV_OK) {
        if ((rc = ra_store__append(self, kind, record, &rn)) == RV_OK)
            rc = ra_store__commit(self, "committing a record");
        else
            ra_store__rollback(self);
    }
    pthread_mutex_unlock(&self->lock);
    if (rc == RV_OK && n)
        *n = rn;
    return rc;
}

/* --- decisions ----------------------------------------------------------------------- */

/* A supervisor named in a batch, checked (Argon2id) before the transaction. */
typedef struct s_sup {
    const char *id, *pin;
    int64_t n; /* the operator record that was checked */
} s_sup_t;

static int s_check_supervisor(ra_store_t *s, const char *id, const char *pin, int64_t *n)
{
    if (!ra_store__id_ok(id))
        return rv_fail(RV_EINVAL, D, "supervisor id \"%.80s\" is not of [A-Za-z0-9_.-]", id);
    if (!pin || !pin[0])
        return rv_fail(RV_EINVAL, D, "supervisor %s needs a PIN", id);
    char hash[256];
    ra_role_t role = RA_ROLE_TECHNICIAN;
    pthread_mutex_lock(&s->lock);
    int rc = ra_store__operator_get(s, id, n, &role, hash, sizeof hash);
    pthread_mutex_unlock(&s->lock);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return rv_fail(RV_EINVAL, D, "unknown supervisor %s", id);
    /* the expensive hash runs without the lock: the publisher keeps going */
    rc = hash[0] == '$' && crypto_pwhash_str_verify(hash, pin, strlen(pin)) == 0;
    sodium_memzero(hash, sizeof hash);
    if (!rc)
        return rv_fail(RV_EINVAL, D, "wrong PIN for supervisor %s", id);
    if (role != RA_ROLE_SUPERVISOR)
        return rv_fail(RV_EINVAL, D, "%s is a %s, not a supervisor: an upgrade needs a supervisor",
                       id, ra_role_name(role));
    return RV_OK;
}

static json_t *s_or_null(json_t *v)
{
    return v ? json_incref(v) : json_null();
}

static json_t *s_nonempty_string(json_t *v)
{
    const char *t = json_string_value(v);
    return t && t[0] ? json_incref(v) : json_null();
}

/* Value retained by the decided route: the inspection's when the route is the grader's;
 * else the IRP fraction of the decided route, with the inspection's kilograms scaled by
 * the ratio of fractions (null when the grader's fraction was 0: the family's masses are
 * not known here). */
static json_t *s_value_retained(json_t *insp, int same, rm_route_t route)
{
    json_t *vr = json_object_get(insp, "value_retained");
    if (same)
        return s_or_null(vr);
    double f = rm_route_retained(route);
    double f0 = json_number_value(json_object_get(vr, "fraction"));
    json_t *mat = json_object_get(vr, "material_kg"), *co2 = json_object_get(vr, "co2e_kg");
    int scale = f0 > 0 && json_is_number(mat) && json_is_number(co2);
    return json_pack("{s:f, s:o, s:o}", "fraction", f, "material_kg",
                     scale ? json_real(json_number_value(mat) * f / f0) : json_null(), "co2e_kg",
                     scale ? json_real(json_number_value(co2) * f / f0) : json_null());
}

static int s_text_ok(const char *t, size_t max)
{
    return t && t[0] && strlen(t) <= max;
}

/* What s_decide_one appends: the decision, or (as_request) an upgrade request. */
typedef struct s_how {
    int as_request;        /* append an "upgrade-request" record: no seq, no outbox row */
    const json_t *request; /* the decision approves this request ({n, id}): in the override */
} s_how_t;

/* One decision inside the transaction. *seq: the last seq (advanced on success). */
static int s_decide_one(ra_store_t *s, const ra_decision_in_t *in, const s_sup_t *sup,
                        const s_how_t *how, uint64_t *seq, ra_decision_ack_t *ack)
{
    if (!in)
        return rv_fail(RV_EINVAL, D, "no decision given");
    long long ni = (long long) in->inspection;
    char kind[32];
    json_t *insp = NULL;
    int rc = s_get(s, in->inspection, kind, &insp, "reading the inspection");
    if (rc != 0)
        return rc == 1 ? rv_fail(RV_EINVAL, D, "inspection %lld does not exist", ni) : rc;
    if (strcmp(kind, "inspection") != 0) {
        json_decref(insp);
        return rv_fail(RV_EINVAL, D, "record %lld is a %s record, not an inspection", ni, kind);
    }
    if (!insp)
        return rv_fail(RV_EFORMAT, D, "inspection %lld does not parse as JSON", ni);
    json_t *d = NULL;
    const char *refused = json_string_value(json_object_get(insp, "refused"));
    const char *proposal = json_string_value(json_object_get(insp, "proposal"));
    const char *grader = json_string_value(json_object_get(insp, "route"));
    int review = proposal && strcmp(proposal, "review") == 0;
    if (refused) {
        rc = rv_fail(RV_EINVAL, D, "inspection %lld was refused (%.200s): nothing to decide", ni,
                     refused);
        goto out;
    }
    if (!proposal || (!review && rm_route_parse(proposal) < 0)) {
        rc = rv_fail(RV_EINVAL, D, "inspection %lld has no proposal (a route or review)", ni);
        goto out;
    }
    if (!grader)
        grader = review ? NULL : proposal;
    if (!grader || rm_route_parse(grader) < 0) {
        rc = rv_fail(RV_EINVAL, D, "inspection %lld has no grader's route", ni);
        goto out;
    }
    /* the operator */
    if (!ra_store__id_ok(in->operator_id)) {
        rc = rv_fail(RV_EINVAL, D, "operator id \"%.80s\" is not of [A-Za-z0-9_.-], 1..%d bytes",
                     in->operator_id ? in->operator_id : "(none)", RA_STORE_MAX_ID - 1);
        goto out;
    }
    int64_t opn = 0;
    ra_role_t role = RA_ROLE_TECHNICIAN;
    char pin_hash[256];
    rc = ra_store__operator_get(s, in->operator_id, &opn, &role, pin_hash, sizeof pin_hash);
    if (rc == 1 && strcmp(in->operator_id, "cell") == 0)
        rc = ra_store__operator_cell(s, in->operator_id);
    else if (rc == 1)
        rc = rv_fail(RV_EINVAL, D, "unknown operator %s", in->operator_id);
    if (rc != RV_OK)
        goto out;
    /* the route: a confirmation or an override */
    const char *route = in->route ? in->route : proposal;
    if (!in->route && review) {
        rc = rv_fail(RV_EINVAL, D,
                     "inspection %lld proposes review: a technician must give the route "
                     "decided",
                     ni);
        goto out;
    }
    int r = rm_route_parse(route), g = rm_route_parse(grader);
    if (r < 0) {
        rc = rv_fail(RV_EINVAL, D, "unknown route \"%.40s\" (reuse, remanufacture, refurbish, "
                                   "repair or scrap)", route);
        goto out;
    }
    int override = review || strcmp(route, proposal) != 0;
    if (override && (!s_text_ok(in->reason_code, 63) || !ra_store__id_ok(in->reason_code))) {
        rc = rv_fail(RV_EINVAL, D,
                     "the override of inspection %lld from %s to %s needs a reason code "
                     "([A-Za-z0-9_.-], 1..63 bytes)",
                     ni, proposal, route);
        goto out;
    }
    if (override && in->text && strlen(in->text) > 2000) {
        rc = rv_fail(RV_EINVAL, D, "the override's text is longer than 2000 bytes");
        goto out;
    }
    if (how->as_request && (r >= g || sup)) {
        rc = rv_fail(RV_EINVAL, D,
                     r >= g ? "%s of inspection %lld is not an upgrade over the grader's %s: "
                              "decide it at the bench, no approval is needed"
                            : "%s of inspection %lld over the grader's %s: a request for "
                              "approval names no supervisor",
                     route, ni, grader);
        goto out;
    }
    if (r < g && !sup && !how->as_request) {
        rc = rv_fail(RV_EINVAL, D,
                     "%s of inspection %lld retains more value than the grader's %s: this "
                     "upgrade needs a supervisor's id and PIN",
                     route, ni, grader);
        goto out;
    }
    if (sup) { /* checked before the transaction: still the same record? */
        int64_t sn = 0;
        ra_role_t srole;
        rc = ra_store__operator_get(s, sup->id, &sn, &srole, pin_hash, sizeof pin_hash);
        if (rc == RV_OK && sn != sup->n)
            rc = rv_fail(RV_EINVAL, D, "supervisor %s changed while deciding: try again",
                         sup->id);
        else if (rc == 1)
            rc = rv_fail(RV_EINVAL, D, "unknown supervisor %s", sup->id);
        if (rc != RV_OK)
            goto out;
    }
    /* the record */
    char id[37], now[32];
    ra_store__uuid(id);
    ra_store__now(now);
    json_t *code = json_object_get(insp, "code");
    json_t *ov = json_null();
    if (override) {
        json_t *text = in->text ? json_string(in->text) : json_null();
        if (!text) {
            rc = rv_fail(RV_EINVAL, D, "the override's text is not valid UTF-8");
            goto out;
        }
        ov = json_pack("{s:s, s:s, s:o, s:o}", "from", proposal, "reason_code", in->reason_code,
                       "text", text, "supervisor", sup ? json_string(sup->id) : json_null());
        if (ov && how->request)
            json_object_set(ov, "request", (json_t *) how->request);
    }
    if (how->as_request) {
        int64_t rn = 0;
        json_t *q = json_pack(
            "{s:s, s:s, s:I, s:s, s:s, s:{s:I, s:o}, s:o, s:o, s:s, s:s, s:s, s:s, s:o}",
            "schema", "reman.upgrade-request/1", "station", s->station, "session",
            (json_int_t) s->session, "id", id, "ts", now, "inspection", "n",
            (json_int_t) in->inspection, "id", s_or_null(json_object_get(insp, "id")), "serial",
            s_nonempty_string(json_object_get(code, "serial")), "family",
            s_or_null(json_object_get(insp, "family")), "proposal", proposal, "grader", grader,
            "route", route, "operator", in->operator_id, "override", ov);
        if (!q)
            rc = rv_fail(RV_ENOMEM, D, "cannot build the upgrade request");
        else if ((rc = ra_store__append(s, "upgrade-request", q, &rn)) == RV_OK && ack) {
            memset(ack, 0, sizeof *ack);
            ack->n = rn;
            snprintf(ack->id, sizeof ack->id, "%s", id);
            snprintf(ack->route, sizeof ack->route, "%s", route);
        }
        json_decref(q);
        goto out;
    }
    json_t *reasons = json_object_get(insp, "reasons"), *ev = json_object_get(insp, "evidence");
    d = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:{s:I, s:o}, s:o, s:o, s:o, s:o, s:s, s:s,"
                  " s:o, s:o, s:o, s:o, s:s, s:s, s:o, s:o, s:s, s:o}",
                  "schema", "reman.decision/1", "station", s->station, "session",
                  (json_int_t) s->session, "seq", (json_int_t) (*seq + 1), "id", id, "ts", now,
                  "inspection", "n", (json_int_t) in->inspection, "id",
                  s_or_null(json_object_get(insp, "id")), "serial",
                  s_nonempty_string(json_object_get(code, "serial")), "part_number",
                  s_nonempty_string(json_object_get(code, "part_number")), "family",
                  s_or_null(json_object_get(insp, "family")), "model_hash",
                  s_or_null(json_object_get(insp, "model_hash")), "proposal", proposal, "route",
                  route, "override", ov, "reasons",
                  json_is_array(reasons) ? json_incref(reasons) : json_array(), "credit",
                  s_or_null(json_object_get(insp, "credit")), "value_retained",
                  s_value_retained(insp, r == g, (rm_route_t) r), "operator", in->operator_id,
                  "role", ra_role_name(role), "evidence",
                  json_is_array(ev) ? json_incref(ev) : json_array(), "calibration",
                  s_or_null(json_object_get(insp, "calibration")), "software", ra_version(),
                  "isa", s_or_null(json_object_get(insp, "isa")));
    if (!d) {
        rc = rv_fail(RV_ENOMEM, D, "cannot build the decision record");
        goto out;
    }
    int64_t n = 0;
    if ((rc = ra_store__append(s, "decision", d, &n)) != RV_OK)
        goto out;
    sqlite3_stmt *st = ra_store__stmt(s, RA_SQL_OUTBOX_ADD);
    if (!st) {
        rc = RV_EIO;
        goto out;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64) (*seq + 1));
    sqlite3_bind_int64(st, 2, n);
    if ((rc = s_step_done(s, st, "queueing the decision in the outbox", 1)) != RV_OK)
        goto out;
    *seq += 1;
    if (ack) {
        ack->seq = *seq;
        ack->n = n;
        snprintf(ack->id, sizeof ack->id, "%s", id);
        snprintf(ack->route, sizeof ack->route, "%s", route);
    }
out:
    json_decref(d);
    json_decref(insp);
    return rc;
}

int ra_store_decide_many(ra_store_t *self, const ra_decision_in_t *in, size_t n,
                         ra_decision_ack_t *acks)
{
    if (!self || (!in && n))
        return rv_fail(RV_EINVAL, D, "ra_store_decide needs a store and decisions");
    if (self->mode != RA_STORE_WRITE)
        return rv_fail(RV_EINVAL, D, "%s was opened read-only: no decision stored", self->dir);
    if (n == 0)
        return RV_OK;
    s_sup_t *sups = calloc(n, sizeof *sups);
    if (!sups)
        return rv_fail(RV_ENOMEM, D, "out of memory");
    int rc = RV_OK;
    char prefix[64] = "";
    /* supervisors: Argon2id verification, once per distinct id and PIN, before locking */
    for (size_t i = 0; i < n && rc == RV_OK; i++) {
        if (!in[i].supervisor)
            continue;
        sups[i].id = in[i].supervisor;
        sups[i].pin = in[i].supervisor_pin;
        size_t j = 0;
        for (; j < i; j++)
            if (sups[j].id && strcmp(sups[j].id, sups[i].id) == 0 && sups[i].pin &&
                sups[j].pin && strcmp(sups[j].pin, sups[i].pin) == 0)
                break;
        if (j < i)
            sups[i].n = sups[j].n;
        else if ((rc = s_check_supervisor(self, sups[i].id, sups[i].pin, &sups[i].n)) != RV_OK &&
                 n > 1)
            snprintf(prefix, sizeof prefix, "decision %zu of %zu: ", i + 1, n);
    }
    if (rc == RV_OK) {
        pthread_mutex_lock(&self->lock);
        uint64_t seq = 0;
        rc = ra_store__begin(self, n > 1 ? "committing decisions" : "committing a decision");
        if (rc == RV_OK && (rc = s_last_seq_locked(self, &seq)) != RV_OK)
            ra_store__rollback(self);
        for (size_t i = 0; i < n && rc == RV_OK; i++)
            if ((rc = s_decide_one(self, &in[i], sups[i].id ? &sups[i] : NULL, &(s_how_t){0},
                                   &seq, acks ? &acks[i] : NULL)) != RV_OK) {
                ra_store__rollback(self);
                if (n > 1)
                    snprintf(prefix, sizeof prefix, "decision %zu of %zu: ", i + 1, n);
            }
        if (rc == RV_OK)
            rc = ra_store__commit(self, n > 1 ? "committing decisions" : "committing a decision");
        pthread_mutex_unlock(&self->lock);
    }
    free(sups);
    if (rc != RV_OK) {
        if (acks) /* nothing of it is acknowledged */
            memset(acks, 0, n * sizeof *acks);
        const char *why = rv_last_error();
        size_t skip = strncmp(why, D ": ", strlen(D) + 2) == 0 ? strlen(D) + 2 : 0;
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", why + skip);
        rv_fail(rc, D, "%s%s%s", prefix, msg,
                strstr(msg, "nothing stored") ? "" : " (nothing stored)");
    }
    return rc;
}

int ra_store_decide(ra_store_t *self, const ra_decision_in_t *in, ra_decision_ack_t *ack)
{
    if (!in)
        return rv_fail(RV_EINVAL, D, "ra_store_decide needs a decision");
    return ra_store_decide_many(self, in, 1, ack);
}

/* --- upgrades waiting for a supervisor -------------------------------------------------- */

int ra_store_request_upgrade(ra_store_t *self, const ra_decision_in_t *in, ra_decision_ack_t *ack)
{
    if (!self || !in)
        return rv_fail(RV_EINVAL, D, "ra_store_request_upgrade needs a store and a request");
    if (self->mode != RA_STORE_WRITE)
        return rv_fail(RV_EINVAL, D, "%s was opened read-only: no request stored", self->dir);
    if (in->supervisor)
        return rv_fail(RV_EINVAL, D, "a request for approval names no supervisor: with one at "
                                     "the bench, decide (ra_store_decide)");
    pthread_mutex_lock(&self->lock);
    uint64_t seq = 0;
    int rc = ra_store__begin(self, "storing an upgrade request");
    if (rc == RV_OK) {
        if ((rc = s_decide_one(self, in, NULL, &(s_how_t){.as_request = 1}, &seq, ack)) ==
            RV_OK)
            rc = ra_store__commit(self, "committing an upgrade request");
        else
            ra_store__rollback(self);
    }
    pthread_mutex_unlock(&self->lock);
    if (rc != RV_OK && ack)
        memset(ack, 0, sizeof *ack);
    return rc;
}

/* Inside the transaction: is request n still waiting (no decision of its inspection after
 * it, no answer, no later request for the same inspection)? 1 yes, 0 no, < 0 error. */
static int s_request_pending(ra_store_t *s, int64_t n, int64_t inspection)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        s->db,
        "SELECT (SELECT count(*) FROM records WHERE n > ?1 AND kind IN ('decision',"
        " 'upgrade-request') AND json_extract(body, '$.inspection.n') = ?2)"
        " + (SELECT count(*) FROM records WHERE kind = 'upgrade-refused'"
        " AND json_extract(body, '$.request.n') = ?1)",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return ra_store__sql_fail(s, rc, "reading the request", 1);
    sqlite3_bind_int64(st, 1, n);
    sqlite3_bind_int64(st, 2, inspection);
    rc = sqlite3_step(st);
    int out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) == 0
                               : ra_store__sql_fail(s, rc, "reading the request", 1);
    sqlite3_finalize(st);
    return out;
}

int ra_store_answer_upgrade(ra_store_t *self, int64_t request, const char *supervisor,
                            const char *pin, int approve, const char *text,
                            ra_decision_ack_t *ack)
{
    if (ack)
        memset(ack, 0, sizeof *ack);
    if (!self)
        return rv_fail(RV_EINVAL, D, "ra_store_answer_upgrade needs a store");
    if (self->mode != RA_STORE_WRITE)
        return rv_fail(RV_EINVAL, D, "%s was opened read-only: nothing stored", self->dir);
    if (!approve && !s_text_ok(text, 2000))
        return rv_fail(RV_EINVAL, D, "refusing upgrade request %lld needs a few words of why "
                                     "(1..2000 bytes): nothing stored", (long long) request);
    if (text && strlen(text) > 2000)
        return rv_fail(RV_EINVAL, D, "the answer's text is longer than 2000 bytes");
    s_sup_t sup = {supervisor, pin, 0};
    int rc = s_check_supervisor(self, supervisor, pin, &sup.n);
    if (rc != RV_OK)
        return rc;
    json_t *q = NULL, *note = NULL, *ref = NULL;
    pthread_mutex_lock(&self->lock);
    uint64_t seq = 0;
    rc = ra_store__begin(self, approve ? "approving an upgrade" : "refusing an upgrade");
    int began = rc == RV_OK;
    if (rc == RV_OK && (rc = s_last_seq_locked(self, &seq)) == RV_OK) {
        char kind[32];
        int got = s_get(self, request, kind, &q, "reading the request");
        if (got < 0)
            rc = got;
        else if (got == 1 || strcmp(kind, "upgrade-request") != 0 || !q) {
            json_decref(q);
            q = NULL;
            rc = rv_fail(RV_EINVAL, D, "record %lld is not an upgrade request",
                         (long long) request);
        }
    }
    json_t *ov = json_object_get(q, "override");
    const char *op = json_string_value(json_object_get(q, "operator"));
    int64_t insp = json_integer_value(json_object_get(json_object_get(q, "inspection"), "n"));
    if (rc == RV_OK && (!op || !json_is_object(ov) || insp <= 0))
        rc = rv_fail(RV_EFORMAT, D, "upgrade request %lld lacks its operator, override or "
                                    "inspection", (long long) request);
    if (rc == RV_OK) {
        int pending = s_request_pending(self, request, insp);
        if (pending < 0)
            rc = pending;
        else if (!pending)
            rc = rv_fail(RV_EINVAL, D, "upgrade request %lld was already answered, replaced by a "
                                       "later request or the inspection decided otherwise",
                         (long long) request);
    }
    if (rc == RV_OK && !strcmp(op, supervisor))
        rc = rv_fail(RV_EINVAL, D, "%s asked for upgrade request %lld: another supervisor must "
                                   "answer it", supervisor, (long long) request);
    if (rc == RV_OK)
        ref = json_pack("{s:I, s:O}", "n", (json_int_t) request, "id", json_object_get(q, "id"));
    if (rc == RV_OK && approve) {
        ra_decision_in_t in = {
            .inspection = insp,
            .operator_id = op,
            .route = json_string_value(json_object_get(q, "route")),
            .reason_code = json_string_value(json_object_get(ov, "reason_code")),
            .text = json_string_value(json_object_get(ov, "text")),
            .supervisor = supervisor,
            .supervisor_pin = pin,
        };
        rc = s_decide_one(self, &in, &sup, &(s_how_t){.request = ref}, &seq, ack);
    } else if (rc == RV_OK) {
        char id[37], now[32];
        ra_store__uuid(id);
        ra_store__now(now);
        note = json_pack("{s:s, s:s, s:I, s:s, s:s, s:O, s:O, s:O, s:s, s:s, s:s}", "schema",
                         "reman.upgrade-refused/1", "station", self->station, "session",
                         (json_int_t) self->session, "id", id, "ts", now, "request", ref,
                         "inspection", json_object_get(q, "inspection"), "serial",
                         json_object_get(q, "serial"), "operator", op, "supervisor", supervisor,
                         "text", text);
        int64_t rn = 0;
        rc = note ? ra_store__append(self, "upgrade-refused", note, &rn)
                  : rv_fail(RV_ENOMEM, D, "cannot build the refusal");
        if (rc == RV_OK && ack) {
            ack->n = rn;
            snprintf(ack->id, sizeof ack->id, "%s", id);
        }
    }
    if (rc == RV_OK)
        rc = ra_store__commit(self, approve ? "committing an approval" : "committing a refusal");
    else if (began)
        ra_store__rollback(self);
    pthread_mutex_unlock(&self->lock);
    json_decref(q);
    json_decref(note);
    json_decref(ref);
    if (rc != RV_OK && ack)
        memset(ack, 0, sizeof *ack);
    return rc;
}

/* --- messages and the outbox ------------------------------------------------------------ */

typedef struct s_msg {
    uint64_t seq;
    char *text;
    size_t len;
} s_msg_t;

/* The line message of a decision record: its body with the chain as the last member. */
static char *s_compose(sqlite3_stmt *st, size_t *len)
{
    /* columns: seq, n, body, prev, hash, sig */
    const char *body = (const char *) sqlite3_column_text(st, 2);
    size_t blen = (size_t) sqlite3_column_bytes(st, 2);
    if (!body || blen < 2 || body[blen - 1] != '}' || sqlite3_column_bytes(st, 3) != 32 ||
        sqlite3_column_bytes(st, 4) != 32 || sqlite3_column_bytes(st, 5) != 64)
        return NULL;
    char prev[65], hash[65], sig[129];
    s_hex(prev, sqlite3_column_blob(st, 3), 32);
    s_hex(hash, sqlite3_column_blob(st, 4), 32);
    s_hex(sig, sqlite3_column_blob(st, 5), 64);
    char chain[400];
    int k = snprintf(chain, sizeof chain,
                     ",\"chain\":{\"hash\":\"%s\",\"n\":%lld,\"prev\":\"%s\",\"sig\":\"%s\"}}",
                     hash, (long long) sqlite3_column_int64(st, 1), prev, sig);
    char *m = malloc(blen - 1 + (size_t) k + 1);
    if (!m)
        return NULL;
    memcpy(m, body, blen - 1);
    memcpy(m + blen - 1, chain, (size_t) k + 1);
    *len = blen - 1 + (size_t) k;
    return m;
}

/* Up to limit messages after seq `after` (outbox or ledger), with the lock held. */
static int s_fetch(ra_store_t *s, ra_store_sql_t which, uint64_t after, size_t limit,
                   s_msg_t *out, size_t *count)
{
    *count = 0;
    sqlite3_stmt *st = ra_store__stmt(s, which);
    if (!st)
        return RV_EIO;
    sqlite3_bind_int64(st, 1, (sqlite3_int64) after);
    sqlite3_bind_int64(st, 2, (sqlite3_int64) limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        s_msg_t *m = &out[*count];
        m->seq = (uint64_t) sqlite3_column_int64(st, 0);
        if (!(m->text = s_compose(st, &m->len))) {
            long long rn = (long long) sqlite3_column_int64(st, 1);
            s_done(st);
            return rv_fail(RV_EFORMAT, D, "record %lld (decision seq %llu) is malformed", rn,
                           (unsigned long long) m->seq);
        }
        (*count)++;
    }
    s_done(st);
    return rc == SQLITE_DONE ? RV_OK : ra_store__sql_fail(s, rc, "reading messages", 0);
}

static int s_deliver(ra_store_t *s, ra_store_sql_t which, uint64_t since, size_t max,
                     ra_store_msg_fn fn, void *arg)
{
    if (!s || !fn)
        return rv_fail(RV_EINVAL, D, "reading messages needs a store and a callback");
    s_msg_t *buf = malloc(S_CHUNK * sizeof *buf);
    if (!buf)
        return rv_fail(RV_ENOMEM, D, "out of memory");
    size_t given = 0;
    int rc = RV_OK, stop = 0;
    uint64_t after = since;
    while (!stop && given < max) {
        size_t lim = max - given < S_CHUNK ? max - given : S_CHUNK, count = 0;
        pthread_mutex_lock(&s->lock);
        rc = s_fetch(s, which, after, lim, buf, &count);
        pthread_mutex_unlock(&s->lock);
        /* the callbacks run without the lock: they may call the store */
        for (size_t i = 0; i < count; i++) {
            if (rc == RV_OK && !stop) {
                given++;
                after = buf[i].seq;
                if (fn(arg, buf[i].seq, buf[i].text, buf[i].len) != 0)
                    stop = 1;
            }
            free(buf[i].text);
        }
        if (rc != RV_OK || count < lim)
            break;
    }
    free(buf);
    if (rc != RV_OK)
        return rc;
    return given > 0x7fffffff ? 0x7fffffff : (int) given;
}

int ra_store_messages(ra_store_t *self, uint64_t since, size_t max, ra_store_msg_fn fn,
                      void *arg)
{
    return s_deliver(self, RA_SQL_MESSAGES, since, max, fn, arg);
}

int ra_store_outbox(ra_store_t *self, size_t max, ra_store_msg_fn fn, void *arg)
{
    return s_deliver(self, RA_SQL_OUTBOX, 0, max, fn, arg);
}

int ra_store_outbox_done(ra_store_t *self, uint64_t upto)
{
    if (!self)
        return rv_fail(RV_EINVAL, D, "ra_store_outbox_done needs a store");
    if (self->mode != RA_STORE_WRITE)
        return rv_fail(RV_EINVAL, D, "%s was opened read-only", self->dir);
    pthread_mutex_lock(&self->lock);
    sqlite3_stmt *st = ra_store__stmt(self, RA_SQL_OUTBOX_DONE);
    int rc = RV_EIO;
    if (st) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64) upto);
        rc = s_step_done(self, st, "removing published messages from the outbox", 0);
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

int ra_store_message(ra_store_t *self, uint64_t seq, char **msg, size_t *len)
{
    if (!self || !msg)
        return rv_fail(RV_EINVAL, D, "ra_store_message needs a store and an output");
    *msg = NULL;
    pthread_mutex_lock(&self->lock);
    sqlite3_stmt *st = ra_store__stmt(self, RA_SQL_MESSAGE);
    int rc = RV_EIO;
    if (st) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64) seq);
        int src = sqlite3_step(st);
        size_t l = 0;
        if (src == SQLITE_ROW) {
            *msg = s_compose(st, &l);
            rc = *msg ? RV_OK
                      : rv_fail(RV_EFORMAT, D, "record %lld (decision seq %llu) is malformed",
                                (long long) sqlite3_column_int64(st, 1),
                                (unsigned long long) seq);
            if (len)
                *len = l;
        } else if (src == SQLITE_DONE) {
            rc = rv_fail(RV_EINVAL, D, "no decision with seq %llu", (unsigned long long) seq);
        } else {
            rc = ra_store__sql_fail(self, src, "reading a message", 0);
        }
        s_done(st);
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}
