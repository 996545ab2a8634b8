/* ra_site.c - the site store in PostgreSQL through libpq (ra_site.h, docs/site.md). */
#include "ra/ra_site.h"
#include "ra/ra_msg.h"
#include "rv/rv_error.h"

#include <inttypes.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct ra_site {
    PGconn *conn;
    char *conninfo;
    int readonly; /* an auditor's connection: no migration, no writes */
    int inflight; /* an insert sent (ra_site_insert_send), not ended */
    /* what the last insert put in rejected instead of storing (ra_site_insert_refused) */
    struct s_refused {
        char *station, *reason;
        uint64_t seq;
    } *refused;
    size_t nrefused;
};

static void s_refused_clear(ra_site_t *self)
{
    for (size_t i = 0; i < self->nrefused; i++) {
        free(self->refused[i].station);
        free(self->refused[i].reason);
    }
    free(self->refused);
    self->refused = NULL;
    self->nrefused = 0;
}

/* Migration 1: the tables, indexes and the health view. Each migration runs in one
 * transaction together with its schema_version row. */
static const char *s_migration_1 =
    "CREATE TABLE stations ("
    " station text PRIMARY KEY, public_key text, first_seen timestamptz NOT NULL DEFAULT now(),"
    " last_seen timestamptz NOT NULL DEFAULT now(), last_session bigint, last_seq bigint"
    " NOT NULL DEFAULT 0, status text NOT NULL DEFAULT 'up', pub_endpoint text,"
    " replay_endpoint text);"
    "CREATE TABLE decisions ("
    " station text NOT NULL, seq bigint NOT NULL, id uuid UNIQUE, ts timestamptz,"
    " serial text, part_number text, family text, route text, proposal text, operator text,"
    " override_reason text, session bigint, message text NOT NULL, doc jsonb NOT NULL,"
    " chain_hash text, chain_n bigint, sig text, received_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (station, seq));"
    "CREATE INDEX decisions_serial ON decisions (serial);"
    "CREATE INDEX decisions_ts ON decisions (ts);"
    "CREATE INDEX decisions_family_ts ON decisions (family, ts);"
    "CREATE INDEX decisions_route_ts ON decisions (route, ts);"
    "CREATE INDEX decisions_operator_ts ON decisions (operator, ts);"
    "CREATE INDEX decisions_station_ts ON decisions (station, ts);"
    "CREATE TABLE evidence (sha256 text PRIMARY KEY, bytes bigint NOT NULL, kind text,"
    " stored_at timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE decision_evidence (station text NOT NULL, seq bigint NOT NULL,"
    " sha256 text NOT NULL, kind text, PRIMARY KEY (station, seq, sha256));"
    "CREATE INDEX decision_evidence_sha ON decision_evidence (sha256);"
    "CREATE TABLE rejected (id bigserial PRIMARY KEY, station text NOT NULL, seq bigint,"
    " reason text NOT NULL, message text, at timestamptz NOT NULL DEFAULT now());"
    "CREATE INDEX rejected_station ON rejected (station, at);"
    "CREATE VIEW health AS SELECT s.station, s.status, s.last_seq AS announced_seq,"
    " COALESCE(d.max_seq, 0) AS site_seq,"
    " GREATEST(s.last_seq - COALESCE(d.max_seq, 0), 0) AS lag,"
    " (s.last_seen < now() - interval '10 seconds') AS stale, s.last_seen,"
    " COALESCE(d.n, 0) AS rows,"
    " (SELECT count(DISTINCT de.sha256) FROM decision_evidence de"
    "   WHERE de.station = s.station AND NOT EXISTS"
    "   (SELECT 1 FROM evidence e WHERE e.sha256 = de.sha256)) AS evidence_outstanding,"
    " (SELECT count(*) FROM rejected r WHERE r.station = s.station) AS rejected"
    " FROM stations s LEFT JOIN (SELECT station, max(seq) AS max_seq, count(*) AS n"
    " FROM decisions GROUP BY station) d ON d.station = s.station;";

/* Migration 2: evidence wanted (cited and not held) kept as a table, so finding what to
 * fetch never scans every citation of the site; a fetch that fails backs off. */
static const char *s_migration_2 =
    "CREATE TABLE evidence_wanted (station text NOT NULL, sha256 text NOT NULL,"
    " cited_at timestamptz NOT NULL DEFAULT now(), tries integer NOT NULL DEFAULT 0,"
    " next_try timestamptz NOT NULL DEFAULT now(), last_error text,"
    " PRIMARY KEY (station, sha256));"
    "CREATE INDEX evidence_wanted_sha ON evidence_wanted (sha256);"
    "CREATE INDEX evidence_wanted_due ON evidence_wanted (station, next_try);"
    "INSERT INTO evidence_wanted (station, sha256) SELECT DISTINCT de.station, de.sha256"
    " FROM decision_evidence de WHERE NOT EXISTS"
    " (SELECT 1 FROM evidence e WHERE e.sha256 = de.sha256);"
    "CREATE OR REPLACE VIEW health AS SELECT s.station, s.status, s.last_seq AS announced_seq,"
    " COALESCE(d.max_seq, 0) AS site_seq,"
    " GREATEST(s.last_seq - COALESCE(d.max_seq, 0), 0) AS lag,"
    " (s.last_seen < now() - interval '10 seconds') AS stale, s.last_seen,"
    " COALESCE(d.n, 0) AS rows,"
    " (SELECT count(*) FROM evidence_wanted w WHERE w.station = s.station)"
    "   AS evidence_outstanding,"
    " (SELECT count(*) FROM rejected r WHERE r.station = s.station) AS rejected"
    " FROM stations s LEFT JOIN (SELECT station, max(seq) AS max_seq, count(*) AS n"
    " FROM decisions GROUP BY station) d ON d.station = s.station;"
    /* messages of a few kB: lz4 compresses them at a third less cost than pglz (a server
     * built without lz4 keeps pglz) */
    "DO $$ BEGIN ALTER TABLE decisions ALTER COLUMN message SET COMPRESSION lz4,"
    " ALTER COLUMN doc SET COMPRESSION lz4; EXCEPTION WHEN feature_not_supported OR"
    " invalid_parameter_value THEN NULL; END $$;";

/* Migration 3: no doc column. It held each message a second time, as jsonb; the searched
 * columns are now taken from the message by the collector (one parse, on the client) and
 * checked against it by ra_site_verify, and a view gives the JSON to ad-hoc queries. */
static const char *s_migration_3 =
    "ALTER TABLE decisions DROP COLUMN doc;"
    "CREATE VIEW decisions_doc AS SELECT d.*, d.message::jsonb AS doc FROM decisions d;";

/* Migration 4: a trigram index on the lower-case serial, so the audit browser's search by
 * a part of a serial (lower(serial) LIKE '%part%') reads the matches, not every decision
 * of its period. pg_trgm ships with PostgreSQL (contrib) and is a trusted extension (the
 * database's owner may create it); where the server lacks it, or the role may not create
 * it, the migration still applies, says so in a warning, and the search reads the table
 * as before (the same results). A writer that later finds the index missing runs this
 * again once at connection (s_trgm_again): a site whose administrator has since created
 * the extension, or given the role the right, gets the index without a new migration. */
static const char *s_migration_4 =
    "DO $$ BEGIN CREATE EXTENSION IF NOT EXISTS pg_trgm; EXCEPTION WHEN OTHERS THEN"
    " RAISE WARNING 'pg_trgm not available (%): a search by a part of a serial reads every"
    " decision of its period', SQLERRM; END $$;"
    "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN"
    " EXECUTE 'CREATE INDEX IF NOT EXISTS decisions_serial_trgm ON decisions"
    " USING gin (lower(serial) gin_trgm_ops)'; END IF; END $$;";

/* A batch arrives by COPY (binary) into this session's temporary table, then one statement
 * moves it, ON CONFLICT DO NOTHING (a (station, seq) the site holds is a repeat; an id
 * another decision holds puts the row in rejected), with the evidence each new decision
 * cites into decision_evidence and, when not held, into evidence_wanted. The searched
 * columns and the evidence list come with each row, taken from the message by the client
 * (s_fields): parsing each message into jsonb on the server was a third of its time. */
#define S_TEMP_COLS                                                                           \
    "(station text NOT NULL, seq bigint NOT NULL, message text %s NOT NULL, id text, ts text," \
    " serial text, part_number text, family text, route text, proposal text, operator text,"  \
    " override_reason text, session text, chain_hash text, chain_n text, sig text,"           \
    " ev_sha text[], ev_kind text[])"
/* the messages stay whole in it (compressed here, they would keep this table's method in
 * decisions): no compression under 8 kB, lz4 above when the server has it */
#define S_TEMP_SQL                                                                            \
    "CREATE TEMPORARY TABLE IF NOT EXISTS site_in " S_TEMP_COLS                                \
    " WITH (toast_tuple_target = 8160) ON COMMIT DELETE ROWS"
static const char *s_insert_sql =
    "WITH ins AS (INSERT INTO decisions (station, seq, id, ts, serial, part_number, family, route,"
    " proposal, operator, override_reason, session, message, chain_hash, chain_n, sig)"
    " SELECT station, seq, id::uuid, ts::timestamptz, serial, part_number, family, route,"
    " proposal, operator, override_reason, session::bigint, message, chain_hash,"
    " chain_n::bigint, sig FROM site_in"
    " ON CONFLICT DO NOTHING RETURNING station, seq),"
    /* a row neither inserted nor held already under its (station, seq) lost on its id:
     * another decision (another station's, or an earlier one of this batch) holds it.
     * It is kept in rejected, naming the holder (once: sent again, the same message is
     * not rejected twice), and the batch goes on. */
    " rj AS (INSERT INTO rejected (station, seq, reason, message) SELECT s.station, s.seq,"
    " 'the id ' || s.id || ' is held by ' || COALESCE((SELECT 'station ' || d.station ||"
    " ' seq ' || d.seq FROM decisions d WHERE d.id = s.id::uuid), 'another decision of its"
    " batch'), s.message FROM site_in s WHERE NOT EXISTS (SELECT 1 FROM ins i WHERE"
    " i.station = s.station AND i.seq = s.seq) AND NOT EXISTS (SELECT 1 FROM decisions d"
    " WHERE d.station = s.station AND d.seq = s.seq) AND NOT EXISTS (SELECT 1 FROM rejected x"
    " WHERE x.station = s.station AND x.seq = s.seq AND x.message = s.message)"
    " RETURNING station, seq, reason),"
    " de AS (INSERT INTO decision_evidence (station, seq, sha256, kind)"
    " SELECT i.station, i.seq, e.sha, e.kind FROM ins i JOIN site_in s"
    " ON s.station = i.station AND s.seq = i.seq, unnest(s.ev_sha, s.ev_kind) AS e(sha, kind)"
    " WHERE e.sha IS NOT NULL ON CONFLICT DO NOTHING RETURNING station, sha256),"
    /* held or not: one index probe per file (as a join, a large evidence table would be
     * read whole at every batch) */
    " w AS (INSERT INTO evidence_wanted (station, sha256) SELECT DISTINCT de.station, de.sha256"
    " FROM de WHERE NOT COALESCE((SELECT true FROM evidence e WHERE e.sha256 = de.sha256"
    " LIMIT 1), false) ON CONFLICT DO NOTHING)"
    /* the count, and each refusal (one row of NULLs when there is none) */
    " SELECT (SELECT count(*) FROM ins), r.station, r.seq, r.reason FROM (SELECT 1) one"
    " LEFT JOIN rj r ON true ORDER BY r.station, r.seq";

static int s_fail_pg(ra_site_t *self, const char *what, PGresult *res)
{
    const char *m = res ? PQresultErrorMessage(res) : "";
    if (!m || !m[0])
        m = PQerrorMessage(self->conn);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", m ? m : "");
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = 0;
    if (res)
        PQclear(res);
    return rv_fail(RV_EIO, "ra_site", "%s: %s", what, buf);
}

/* A call while an insert is in flight (ra_site_insert_send, not yet ended) is refused by
 * name: its statements cannot run beside the insert's pipeline, and the insert's results
 * must stay whole for ra_site_insert_end. */
#define S_NOT_INFLIGHT(self, what)                                                            \
    do {                                                                                      \
        if ((self) && (self)->inflight)                                                       \
            return rv_fail(RV_EINVAL, "ra_site",                                              \
                           "%s: an insert is in flight (sent, not yet ended by "              \
                           "ra_site_insert_end)",                                             \
                           what);                                                             \
    } while (0)

static int s_exec(ra_site_t *self, const char *sql, const char *what)
{
    PGresult *r = PQexec(self->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return s_fail_pg(self, what, r);
    PQclear(r);
    return RV_OK;
}

/* A database migrated to version 4 without the trigram index (pg_trgm could not be
 * created then): try again, now that it may be. Not fatal: the search works without it,
 * and a failure (another writer building the same index, a lock) is only reported. On a
 * large site the index is built here, once, before the writer inserts (4.9-5.5 s for a
 * million decisions on a 2-core host; stations keep their decisions meanwhile). */
static void s_trgm_again(ra_site_t *self)
{
    PGresult *r = PQexec(self->conn, "SELECT to_regclass('decisions_serial_trgm') IS NULL");
    int missing = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
                  PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (missing && s_exec(self, s_migration_4, "trigram index") != RV_OK)
        fprintf(stderr, "ra_site: warning: the trigram index was not built: %s\n",
                rv_last_error());
}

static int s_migrate(ra_site_t *self)
{
    /* quiet the NOTICEs of IF NOT EXISTS */
    int rc = s_exec(self, "SET client_min_messages = warning", "set");
    if (rc == RV_OK)
        rc = s_exec(self, "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY,"
                          " applied_at timestamptz NOT NULL DEFAULT now())",
                    "create schema_version");
    if (rc != RV_OK)
        return rc;
    if ((rc = s_exec(self, "BEGIN; LOCK TABLE schema_version IN EXCLUSIVE MODE", "lock")) != RV_OK)
        return rc;
    PGresult *r = PQexec(self->conn, "SELECT COALESCE(max(version), 0) FROM schema_version");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = s_fail_pg(self, "read schema_version", r);
        s_exec(self, "ROLLBACK", "rollback");
        return rc;
    }
    int version = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (version > RA_SITE_SCHEMA_VERSION) {
        s_exec(self, "ROLLBACK", "rollback");
        return rv_fail(RV_EFORMAT, "ra_site",
                       "the site database has schema version %d, newer than this program's %d",
                       version, RA_SITE_SCHEMA_VERSION);
    }
    const char *migrations[RA_SITE_SCHEMA_VERSION + 1] = {NULL, s_migration_1, s_migration_2,
                                                             s_migration_3, s_migration_4};
    for (int v = version + 1; v <= RA_SITE_SCHEMA_VERSION && rc == RV_OK; v++) {
        char what[32], row[96];
        snprintf(what, sizeof what, "migration %d", v);
        snprintf(row, sizeof row, "INSERT INTO schema_version (version) VALUES (%d)", v);
        rc = s_exec(self, migrations[v], what);
        if (rc == RV_OK)
            rc = s_exec(self, row, what);
    }
    if (rc != RV_OK) {
        char keep[512];
        snprintf(keep, sizeof keep, "%s", rv_last_error());
        s_exec(self, "ROLLBACK", "rollback");
        return rv_fail(RV_EIO, "ra_site", "%s", keep + (strncmp(keep, "ra_site: ", 9) ? 0 : 9));
    }
    if ((rc = s_exec(self, "COMMIT", "commit migration")) == RV_OK && version >= 4)
        s_trgm_again(self);
    return rc;
}

/* A read-only session on a site database this program can read (schema 1 .. ours). */
static int s_check_readonly(ra_site_t *self)
{
    int rc = s_exec(self, "SET default_transaction_read_only = on", "set");
    if (rc != RV_OK)
        return rc;
    PGresult *r = PQexec(self->conn, "SELECT to_regclass('schema_version') IS NOT NULL");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return s_fail_pg(self, "read schema_version", r);
    int have = !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    if (!have)
        return rv_fail(RV_EFORMAT, "ra_site", "this database is not a site database (no "
                                              "schema_version table)");
    r = PQexec(self->conn, "SELECT COALESCE(max(version), 0) FROM schema_version");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return s_fail_pg(self, "read schema_version", r);
    int version = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (version < 1 || version > RA_SITE_SCHEMA_VERSION)
        return rv_fail(RV_EFORMAT, "ra_site",
                       "the site database has schema version %d; this program reads 1 to %d",
                       version, RA_SITE_SCHEMA_VERSION);
    return RV_OK;
}

static int s_connect(ra_site_t *self)
{
    self->inflight = 0;
    if (self->conn)
        PQfinish(self->conn);
    self->conn = PQconnectdb(self->conninfo);
    if (!self->conn)
        return rv_fail(RV_ENOMEM, "ra_site", "no memory for a connection");
    if (PQstatus(self->conn) != CONNECTION_OK)
        return s_fail_pg(self, "connect", NULL);
    /* JIT would compile each batch's statement anew (hundreds of ms for a few ms of work) */
    int rc = s_exec(self, "SET jit = off", "set");
    if (rc != RV_OK)
        return rc;
    if (self->readonly)
        return s_check_readonly(self);
    if ((rc = s_migrate(self)) != RV_OK)
        return rc;
    char temp[1024];
    snprintf(temp, sizeof temp, S_TEMP_SQL, "COMPRESSION lz4");
    if (s_exec(self, temp, "create the input table") != RV_OK) { /* a server without lz4 */
        snprintf(temp, sizeof temp, S_TEMP_SQL, "");
        if ((rc = s_exec(self, temp, "create the input table")) != RV_OK)
            return rc;
    }
    PGresult *r = PQprepare(self->conn, "ins", s_insert_sql, 0, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return s_fail_pg(self, "prepare insert", r);
    PQclear(r);
    return RV_OK;
}

static ra_site_t *s_open(const char *conninfo, int readonly)
{
    if (!conninfo) {
        rv_fail(RV_EINVAL, "ra_site", "no connection string");
        return NULL;
    }
    ra_site_t *self = calloc(1, sizeof *self);
    if (!self || !(self->conninfo = strdup(conninfo))) {
        free(self);
        rv_fail(RV_ENOMEM, "ra_site", "no memory");
        return NULL;
    }
    self->readonly = readonly;
    if (s_connect(self) != RV_OK) {
        char keep[512];
        snprintf(keep, sizeof keep, "%s", rv_last_error());
        ra_site_close(&self);
        rv_fail(RV_EIO, "ra_site", "%s", keep + (strncmp(keep, "ra_site: ", 9) ? 0 : 9));
        return NULL;
    }
    return self;
}

ra_site_t *ra_site_open(const char *conninfo)
{
    return s_open(conninfo, 0);
}

ra_site_t *ra_site_open_readonly(const char *conninfo)
{
    return s_open(conninfo, 1);
}

void ra_site_close(ra_site_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ra_site_t *self = *self_p;
    if (self->conn)
        PQfinish(self->conn);
    s_refused_clear(self);
    free(self->conninfo);
    free(self);
    *self_p = NULL;
}

int ra_site_ok(ra_site_t *self)
{
    return self && self->conn && PQstatus(self->conn) == CONNECTION_OK;
}

int ra_site_reconnect(ra_site_t *self)
{
    if (!self)
        return rv_fail(RV_EINVAL, "ra_site", "no site");
    return s_connect(self);
}

int ra_site_station(ra_site_t *self, const char *station, int *found, char key[65],
                    uint64_t *max_seq)
{
    S_NOT_INFLIGHT(self, "station");
    const char *p[1] = {station};
    PGresult *r = PQexecParams(self->conn,
                               "SELECT s.public_key, (SELECT COALESCE(max(seq), 0) FROM decisions d"
                               " WHERE d.station = $1) FROM stations s WHERE s.station = $1"
                               " UNION ALL SELECT NULL, (SELECT COALESCE(max(seq), 0) FROM"
                               " decisions WHERE station = $1) LIMIT 1",
                               1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return s_fail_pg(self, "read station", r);
    *found = 0;
    key[0] = 0;
    *max_seq = 0;
    if (PQntuples(r) > 0) {
        if (!PQgetisnull(r, 0, 0)) {
            *found = 1;
            snprintf(key, 65, "%s", PQgetvalue(r, 0, 0));
        }
        *max_seq = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
    }
    PQclear(r);
    return RV_OK;
}

int ra_site_station_seen(ra_site_t *self, const char *station, const char *key,
                         int64_t session, uint64_t announced, const char *status)
{
    S_NOT_INFLIGHT(self, "station seen");
    char sess[32], ann[32];
    snprintf(sess, sizeof sess, "%" PRId64, session);
    snprintf(ann, sizeof ann, "%" PRIu64, announced);
    const char *p[5] = {station, key, session >= 0 ? sess : NULL, ann, status ? status : "up"};
    PGresult *r = PQexecParams(
        self->conn,
        "INSERT INTO stations (station, public_key, last_session, last_seq, status)"
        " VALUES ($1, $2, $3::bigint, $4::bigint, $5) ON CONFLICT (station) DO UPDATE SET"
        " public_key = COALESCE(stations.public_key, EXCLUDED.public_key),"
        " last_session = COALESCE(EXCLUDED.last_session, stations.last_session),"
        " last_seq = GREATEST(stations.last_seq, EXCLUDED.last_seq), last_seen = now(),"
        " status = EXCLUDED.status",
        5, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return s_fail_pg(self, "record station", r);
    PQclear(r);
    return RV_OK;
}

static void s_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t) (v >> 8);
    p[1] = (uint8_t) v;
}

static void s_be32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t) (v >> (24 - 8 * i));
}

static void s_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t) (v >> (56 - 8 * i));
}

/* --- the searched columns, taken from the message by a scan of its JSON text --------------
 * The collector's messages are a few kB; a full parse (jansson) cost about 90 us each, as
 * much as the server's insert. This scan validates the JSON as it goes, decodes only the
 * strings it keeps, and gives what the server's doc->>'key' gave: a string's text, another
 * value's JSON text, NULL for null or a member absent; the last of duplicate keys wins. */
typedef struct s_span {
    const char *p;
    size_t n;
    char kind; /* 0 absent or null, 's' a string's raw text (between its quotes), 'r' other */
} s_span_t;

typedef struct s_scan {
    const char *p, *end;
    int depth;
} s_scan_t;

#define S_SCAN_DEPTH 256

static void s_ws(s_scan_t *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int s_hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

/* At a '"': the string's raw text (escapes checked, not decoded); p after its quote. */
static int s_scan_string(s_scan_t *j, s_span_t *out)
{
    if (j->p >= j->end || *j->p != '"')
        return -1;
    const char *s = ++j->p;
    while (j->p < j->end) {
        unsigned char c = (unsigned char) *j->p;
        if (c == '"') {
            out->p = s;
            out->n = (size_t) (j->p - s);
            out->kind = 's';
            j->p++;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            if (j->end - j->p < 2)
                return -1;
            char e = j->p[1];
            if (e == 'u') {
                if (j->end - j->p < 6 || s_hex4(j->p + 2) < 0)
                    return -1;
                j->p += 6;
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || !e)
                return -1;
            j->p += 2;
            continue;
        }
        j->p++;
    }
    return -1;
}

static int s_scan_value(s_scan_t *j, s_span_t *out);
static size_t s_unescape(const char *p, size_t n, char *out);

/* A member whose key is one of keys: its value kept. */
static void s_keep(const char *const *keys, s_span_t *vals, size_t nkeys, const s_span_t *key,
                   const s_span_t *v)
{
    char buf[64];
    const char *k = key->p;
    size_t n = key->n;
    if (memchr(k, '\\', n)) { /* "\u0073erial" is "serial" too */
        if (n > sizeof buf)
            return;
        n = s_unescape(k, n, buf);
        k = buf;
    }
    for (size_t i = 0; i < nkeys; i++)
        if (strlen(keys[i]) == n && memcmp(keys[i], k, n) == 0)
            vals[i] = *v;
}

/* At '{' or '[': the whole object or array, validated; on each member of an object whose
 * key is given, its value is kept (the last one wins). */
static int s_scan_compound(s_scan_t *j, const char *const *keys, s_span_t *vals, size_t nkeys)
{
    char open = *j->p, close = open == '{' ? '}' : ']';
    if (++j->depth > S_SCAN_DEPTH)
        return -1;
    j->p++;
    s_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        j->depth--;
        return 0;
    }
    for (;;) {
        s_span_t key = {0}, v = {0};
        if (open == '{') {
            if (s_scan_string(j, &key) != 0)
                return -1;
            s_ws(j);
            if (j->p >= j->end || *j->p != ':')
                return -1;
            j->p++;
            s_ws(j);
        }
        if (s_scan_value(j, &v) != 0)
            return -1;
        if (open == '{' && nkeys)
            s_keep(keys, vals, nkeys, &key, &v);
        s_ws(j);
        if (j->p >= j->end)
            return -1;
        if (*j->p == close) {
            j->p++;
            j->depth--;
            return 0;
        }
        if (*j->p != ',')
            return -1;
        j->p++;
        s_ws(j);
    }
}

static int s_scan_value(s_scan_t *j, s_span_t *out)
{
    s_ws(j);
    if (j->p >= j->end)
        return -1;
    const char *s = j->p;
    char c = *s;
    out->kind = 'r';
    if (c == '"')
        return s_scan_string(j, out);
    if (c == '{' || c == '[') {
        if (s_scan_compound(j, NULL, NULL, 0) != 0)
            return -1;
    } else if (c == 't' || c == 'f' || c == 'n') {
        const char *w = c == 't' ? "true" : c == 'f' ? "false" : "null";
        size_t n = strlen(w);
        if ((size_t) (j->end - s) < n || memcmp(s, w, n) != 0)
            return -1;
        j->p += n;
        if (c == 'n')
            out->kind = 0;
    } else if (c == '-' || (c >= '0' && c <= '9')) { /* -?int frac? exp? */
        const char *p = s + (c == '-');
        const char *d = p;
        while (p < j->end && *p >= '0' && *p <= '9')
            p++;
        if (p == d || (*d == '0' && p - d > 1))
            return -1;
        if (p < j->end && *p == '.') {
            d = ++p;
            while (p < j->end && *p >= '0' && *p <= '9')
                p++;
            if (p == d)
                return -1;
        }
        if (p < j->end && (*p == 'e' || *p == 'E')) {
            p++;
            if (p < j->end && (*p == '+' || *p == '-'))
                p++;
            d = p;
            while (p < j->end && *p >= '0' && *p <= '9')
                p++;
            if (p == d)
                return -1;
        }
        j->p = p;
    } else {
        return -1;
    }
    out->p = s;
    out->n = (size_t) (j->p - s);
    return 0;
}

/* A kept member of an object value: scanned again for its own members. */
static int s_scan_members(const s_span_t *obj, const char *const *keys, s_span_t *vals,
                          size_t nkeys)
{
    memset(vals, 0, nkeys * sizeof *vals);
    if (obj->kind != 'r' || obj->n == 0 || obj->p[0] != '{')
        return 0;
    s_scan_t j = {obj->p, obj->p + obj->n, 0};
    return s_scan_compound(&j, keys, vals, nkeys);
}

/* A string's raw text decoded into UTF-8 (never longer than the raw text). */
static size_t s_unescape(const char *p, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (p[i] != '\\') {
            out[o++] = p[i++];
            continue;
        }
        char e = p[i + 1];
        i += 2;
        if (e != 'u') {
            out[o++] = e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r'
                       : e == 't' ? '\t' : e;
            continue;
        }
        long cp = s_hex4(p + i);
        i += 4;
        if (cp >= 0xd800 && cp < 0xdc00 && i + 6 <= n && p[i] == '\\' && p[i + 1] == 'u') {
            int lo = s_hex4(p + i + 2);
            if (lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            }
        }
        if (cp < 0x80) {
            out[o++] = (char) cp;
        } else if (cp < 0x800) {
            out[o++] = (char) (0xc0 | (cp >> 6));
            out[o++] = (char) (0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out[o++] = (char) (0xe0 | (cp >> 12));
            out[o++] = (char) (0x80 | ((cp >> 6) & 0x3f));
            out[o++] = (char) (0x80 | (cp & 0x3f));
        } else {
            out[o++] = (char) (0xf0 | (cp >> 18));
            out[o++] = (char) (0x80 | ((cp >> 12) & 0x3f));
            out[o++] = (char) (0x80 | ((cp >> 6) & 0x3f));
            out[o++] = (char) (0x80 | (cp & 0x3f));
        }
    }
    return o;
}

/* A growing buffer of COPY data; oom set when it could not grow. */
typedef struct s_buf {
    uint8_t *p;
    size_t len, cap;
    int oom;
} s_buf_t;

static uint8_t *s_room(s_buf_t *b, size_t n)
{
    if (b->oom)
        return NULL;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1u << 16;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return NULL;
        }
        b->p = q;
        b->cap = cap;
    }
    uint8_t *at = b->p + b->len;
    b->len += n;
    return at;
}

static void s_put32(s_buf_t *b, uint32_t v)
{
    uint8_t *p = s_room(b, 4);
    if (p)
        s_be32(p, v);
}

/* One field: its length, then its bytes; NULL text is SQL NULL (length -1). */
static void s_put_field(s_buf_t *b, const char *t, size_t n)
{
    s_put32(b, t ? (uint32_t) n : 0xffffffffu);
    uint8_t *p = t && n ? s_room(b, n) : NULL;
    if (p)
        memcpy(p, t, n);
}

/* A kept value as a field (s_span_t): a string decoded, other values as written. */
static void s_put_span(s_buf_t *b, const s_span_t *v)
{
    if (v->kind == 0) {
        s_put_field(b, NULL, 0);
    } else if (v->kind == 's' && memchr(v->p, '\\', v->n)) {
        char *t = malloc(v->n ? v->n : 1);
        if (!t)
            b->oom = 1;
        s_put_field(b, t, t ? s_unescape(v->p, v->n, t) : 0);
        free(t);
    } else {
        s_put_field(b, v->p, v->n);
    }
}

/* Member f (0 sha256, 1 kind) of each evidence entry that is an object with a sha256, as a
 * text[] in binary form: ndim, has-null flag, element type (text = 25), the length and
 * lower bound of the one dimension, then the elements. ev was validated by the scan. */
static int s_put_ev(s_buf_t *b, const s_span_t *ev, int f)
{
    static const char *const keys[] = {"sha256", "kind"};
    size_t at = b->len, n = 0;
    int nulls = 0;
    s_put32(b, 0); /* the field's length, filled in below */
    size_t head = b->len;
    for (int k = 0; k < 5; k++)
        s_put32(b, k == 0 || k == 4 ? 1 : k == 2 ? 25 : 0);
    if (ev->kind == 'r' && ev->n && ev->p[0] == '[') {
        s_scan_t j = {ev->p + 1, ev->p + ev->n, 1};
        s_ws(&j);
        while (j.p < j.end && *j.p != ']') {
            s_span_t e = {0}, kv[2];
            if (s_scan_value(&j, &e) != 0 || s_scan_members(&e, keys, kv, 2) != 0)
                return -1;
            if (kv[0].kind) {
                nulls |= kv[f].kind == 0;
                s_put_span(b, &kv[f]);
                n++;
            }
            s_ws(&j);
            if (j.p < j.end && *j.p == ',')
                j.p++;
        }
    }
    if (b->oom)
        return 0;
    if (n == 0) { /* the empty array has no dimension */
        b->len = head + 12;
        s_be32(b->p + head, 0);
    } else {
        s_be32(b->p + head + 4, (uint32_t) nulls);
        s_be32(b->p + head + 12, (uint32_t) n);
    }
    s_be32(b->p + at, (uint32_t) (b->len - head));
    return 0;
}

/* The typed members the insert casts (id::uuid, ts::timestamptz, session::bigint,
 * chain_n::bigint): a value the cast would refuse fails the whole batch on the server, so
 * it is found here, with its name. NULL when v is fine (absent or null, or the type's
 * text), else what is wrong. */
static const char *s_typed_bad(const s_span_t *v, char type)
{
    if (v->kind == 0)
        return NULL;
    char t[64];
    if (v->n >= sizeof t || (v->kind == 's' && memchr(v->p, '\\', v->n)))
        return type == 'u' ? "is not a UUID" : type == 't' ? "is not an RFC 3339 time"
                                                            : "is not an integer";
    memcpy(t, v->p, v->n);
    t[v->n] = '\0';
    if (type == 'u') { /* 32 hex digits, hyphens at 8-4-4-4-12 or none */
        size_t h = 0, k = 0;
        int ok = v->kind == 's';
        for (; ok && t[k]; k++) {
            if (t[k] == '-')
                ok = v->n == 36 && (k == 8 || k == 13 || k == 18 || k == 23);
            else if ((t[k] >= '0' && t[k] <= '9') || ((t[k] | 0x20) >= 'a' && (t[k] | 0x20) <= 'f'))
                h++;
            else
                ok = 0;
        }
        return ok && h == 32 ? NULL : "is not a UUID";
    }
    if (type == 't') /* and year 1 at least: PostgreSQL has no year 0 */
        return v->kind == 's' && ra_msg_timestamp_ok(t) && strncmp(t, "0000", 4) != 0
                   ? NULL
                   : "is not an RFC 3339 time";
    /* a bigint: optional minus, 1 to 19 digits, in range */
    const char *d = t + (t[0] == '-');
    size_t nd = strspn(d, "0123456789");
    if (nd == 0 || nd > 19 || d[nd] != '\0')
        return "is not an integer";
    if (nd == 19 && strcmp(d, t[0] == '-' ? "9223372036854775808" : "9223372036854775807") > 0)
        return "is out of a 64-bit integer's range";
    return NULL;
}

/* The rows in PostgreSQL's binary COPY format, the columns of site_in: station, seq and
 * message, then what the server used to take from the message's JSON (the searched
 * columns, the evidence cited), taken here from one parse of each message. */
static int s_copy_data(const ra_site_decision_t *rows, size_t n, uint8_t **out, size_t *len)
{
    static const uint8_t sig[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};
    s_buf_t b = {0};
    uint8_t *p = s_room(&b, sizeof sig + 8);
    if (p) {
        memcpy(p, sig, sizeof sig);
        s_be32(p + sizeof sig, 0);     /* flags */
        s_be32(p + sizeof sig + 4, 0); /* header extension */
    }
    for (size_t i = 0; i < n && !b.oom; i++) {
        if (!rows[i].station || !rows[i].msg || rows[i].len > (size_t) INT32_MAX ||
            rows[i].seq > (uint64_t) INT64_MAX) {
            free(b.p);
            return rv_fail(RV_EINVAL, "ra_site",
                           "insert: row %zu has no station or message, or is out of range", i);
        }
        /* the members kept, in the order of site_in's columns after the message */
        static const char *const top[] = {"id",      "ts",       "serial",   "part_number",
                                          "family",  "route",    "proposal", "operator",
                                          "session", "override", "chain",    "evidence"};
        s_span_t v[12] = {{0}}, ov[1], ch[3];
        static const char *const ovk[] = {"reason_code"}, *const chk[] = {"hash", "n", "sig"};
        s_scan_t j = {rows[i].msg, (const char *) rows[i].msg + rows[i].len, 0};
        s_ws(&j);
        int ok = j.p < j.end && *j.p == '{' && s_scan_compound(&j, top, v, 12) == 0;
        s_ws(&j);
        ok = ok && j.p == j.end && s_scan_members(&v[9], ovk, ov, 1) == 0 &&
             s_scan_members(&v[10], chk, ch, 3) == 0;
        if (!ok) {
            free(b.p);
            return rv_fail(RV_EFORMAT, "ra_site",
                           "insert: station %s seq %" PRIu64 ": the message is not a JSON "
                           "object (malformed at byte %zu)",
                           rows[i].station, rows[i].seq,
                           (size_t) (j.p - (const char *) rows[i].msg));
        }
        /* id, ts, session (v[0], v[1], v[8]) and chain.n (ch[1]) */
        static const struct {
            int top; /* index in v, or -1: ch[1] */
            char type;
            const char *name;
        } typed[] = {{0, 'u', "id"}, {1, 't', "ts"}, {8, 'i', "session"}, {-1, 'i', "chain.n"}};
        for (size_t k = 0; k < sizeof typed / sizeof typed[0]; k++) {
            const char *why = s_typed_bad(typed[k].top >= 0 ? &v[typed[k].top] : &ch[1],
                                          typed[k].type);
            if (why) {
                free(b.p);
                return rv_fail(RV_EFORMAT, "ra_site",
                               "insert: station %s seq %" PRIu64 ": \"%s\" %s",
                               rows[i].station, rows[i].seq, typed[k].name, why);
            }
        }
        uint8_t *q = s_room(&b, 2);
        if (q)
            s_be16(q, 18);
        s_put_field(&b, rows[i].station, strlen(rows[i].station));
        q = s_room(&b, 12);
        if (q) {
            s_be32(q, 8);
            s_be64(q + 4, rows[i].seq);
        }
        s_put_field(&b, rows[i].msg, rows[i].len);
        for (int k = 0; k < 8; k++) /* id .. operator */
            s_put_span(&b, &v[k]);
        s_put_span(&b, &ov[0]); /* override_reason */
        s_put_span(&b, &v[8]);  /* session */
        for (int k = 0; k < 3; k++)
            s_put_span(&b, &ch[k]);
        if (s_put_ev(&b, &v[11], 0) != 0 || s_put_ev(&b, &v[11], 1) != 0) {
            free(b.p);
            return rv_fail(RV_EFORMAT, "ra_site", "insert: station %s seq %" PRIu64
                                                  ": the evidence list is malformed",
                           rows[i].station, rows[i].seq);
        }
    }
    uint8_t *q = s_room(&b, 2);
    if (q)
        s_be16(q, 0xffff); /* trailer: -1 */
    if (b.oom) {
        free(b.p);
        return rv_fail(RV_ENOMEM, "ra_site", "no memory for a batch of %zu decisions", n);
    }
    *len = b.len;
    *out = b.p;
    return RV_OK;
}

int ra_site_decision_check(const ra_site_decision_t *row)
{
    if (!row)
        return rv_fail(RV_EINVAL, "ra_site", "check: no row");
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = s_copy_data(row, 1, &data, &len);
    free(data);
    return rc;
}

/* Undo what an insert left (a failed statement, an open transaction); the error of what
 * failed is kept. */
static int s_insert_fail(ra_site_t *self, int rc)
{
    char keep[512];
    snprintf(keep, sizeof keep, "%s", rv_last_error());
    if (PQpipelineStatus(self->conn) != PQ_PIPELINE_OFF)
        PQexitPipelineMode(self->conn);
    if (PQstatus(self->conn) == CONNECTION_OK && PQtransactionStatus(self->conn) != PQTRANS_IDLE)
        s_exec(self, "ROLLBACK", "rollback");
    (void) rc;
    return rv_fail(RV_EIO, "ra_site", "%s", keep + (strncmp(keep, "ra_site: ", 9) ? 0 : 9));
}

int ra_site_insert_send(ra_site_t *self, const ra_site_decision_t *rows, size_t n)
{
    if (!self || (!rows && n))
        return rv_fail(RV_EINVAL, "ra_site", "insert: no site or rows");
    S_NOT_INFLIGHT(self, "insert");
    size_t len = 0;
    uint8_t *data = NULL;
    int rc = n ? s_copy_data(rows, n, &data, &len) : RV_OK;
    if (rc != RV_OK)
        return rc;
    /* one transaction: the rows by COPY into site_in ... */
    PGresult *r = PQexec(self->conn, n ? "BEGIN; COPY site_in FROM STDIN (FORMAT binary)"
                                       : "BEGIN");
    if (PQresultStatus(r) != (n ? PGRES_COPY_IN : PGRES_COMMAND_OK)) {
        free(data);
        s_fail_pg(self, "insert (copy)", r);
        return s_insert_fail(self, RV_EIO);
    }
    PQclear(r);
    if (n) {
        /* in pieces of 1 MiB: libpq buffers each, the server parses as they come */
        for (size_t off = 0; off < len && rc == RV_OK; off += 1u << 20) {
            size_t k = len - off > (1u << 20) ? (1u << 20) : len - off;
            if (PQputCopyData(self->conn, (const char *) data + off, (int) k) != 1)
                rc = s_fail_pg(self, "insert (copy data)", NULL);
        }
        if (PQputCopyEnd(self->conn, rc == RV_OK ? NULL : "the client gave up") != 1 &&
            rc == RV_OK)
            rc = s_fail_pg(self, "insert (copy end)", NULL);
        while ((r = PQgetResult(self->conn)) != NULL) {
            if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == RV_OK)
                rc = s_fail_pg(self, "insert (copy)", r);
            else
                PQclear(r);
        }
    }
    free(data);
    if (rc != RV_OK)
        return s_insert_fail(self, rc);
    /* ... then the statement that moves them and the commit, sent together; the caller
     * may work while the server does */
    if (PQenterPipelineMode(self->conn) != 1 ||
        PQsendQueryPrepared(self->conn, "ins", 0, NULL, NULL, NULL, 0) != 1 ||
        PQsendQueryParams(self->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) != 1 ||
        PQpipelineSync(self->conn) != 1 || PQflush(self->conn) != 0) {
        s_fail_pg(self, "insert (send)", NULL);
        return s_insert_fail(self, RV_EIO);
    }
    self->inflight = 1;
    return RV_OK;
}

int ra_site_insert_busy(ra_site_t *self)
{
    if (!self || !self->inflight)
        return 0;
    if (PQconsumeInput(self->conn) != 1)
        return 0; /* broken: ra_site_insert_end() says so */
    return PQisBusy(self->conn);
}

int ra_site_insert_end(ra_site_t *self, size_t *inserted)
{
    if (inserted)
        *inserted = 0;
    if (!self || !self->inflight)
        return rv_fail(RV_EINVAL, "ra_site", "insert: nothing was sent");
    self->inflight = 0;
    s_refused_clear(self);
    int rc = RV_OK;
    size_t got = 0;
    for (;;) {
        PGresult *r = PQgetResult(self->conn);
        if (!r) {
            if (PQstatus(self->conn) != CONNECTION_OK) {
                if (rc == RV_OK)
                    rc = s_fail_pg(self, "insert", NULL);
                break;
            }
            continue; /* the end of one statement's results */
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (st == PGRES_TUPLES_OK && PQntuples(r) >= 1 && PQnfields(r) == 4) {
            got = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
            int nr = PQntuples(r);
            if (!PQgetisnull(r, 0, 1) && (self->refused = calloc((size_t) nr, sizeof *self->refused)))
                for (int i = 0; i < nr; i++) {
                    struct s_refused *f = &self->refused[self->nrefused];
                    f->station = strdup(PQgetvalue(r, i, 1));
                    f->seq = strtoull(PQgetvalue(r, i, 2), NULL, 10);
                    f->reason = strdup(PQgetvalue(r, i, 3));
                    if (!f->station || !f->reason) {
                        free(f->station);
                        free(f->reason);
                        break;
                    }
                    self->nrefused++;
                }
        }
        if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE) {
            if (rc == RV_OK)
                rc = s_fail_pg(self, "insert decisions", r);
            else
                PQclear(r);
        } else {
            PQclear(r);
        }
    }
    if (rc == RV_OK && PQexitPipelineMode(self->conn) != 1)
        rc = s_fail_pg(self, "insert (pipeline)", NULL);
    if (rc == RV_OK && PQtransactionStatus(self->conn) != PQTRANS_IDLE)
        rc = rv_fail(RV_EIO, "ra_site", "insert: the transaction did not end");
    if (rc != RV_OK) {
        s_refused_clear(self); /* nothing was committed */
        return s_insert_fail(self, rc);
    }
    if (inserted)
        *inserted = got;
    return RV_OK;
}

size_t ra_site_insert_refused(ra_site_t *self, size_t i, const char **station, uint64_t *seq,
                              const char **reason)
{
    if (!self || i >= self->nrefused)
        return self ? self->nrefused : 0;
    if (station)
        *station = self->refused[i].station;
    if (seq)
        *seq = self->refused[i].seq;
    if (reason)
        *reason = self->refused[i].reason;
    return self->nrefused;
}

int ra_site_insert(ra_site_t *self, const ra_site_decision_t *rows, size_t n, size_t *inserted)
{
    S_NOT_INFLIGHT(self, "insert");
    if (inserted)
        *inserted = 0;
    if (n == 0)
        return RV_OK;
    int rc = ra_site_insert_send(self, rows, n);
    return rc != RV_OK ? rc : ra_site_insert_end(self, inserted);
}

int ra_site_reject(ra_site_t *self, const char *station, uint64_t seq, const char *reason,
                   const char *msg, size_t len)
{
    S_NOT_INFLIGHT(self, "reject");
    char seqs[32];
    snprintf(seqs, sizeof seqs, "%" PRIu64, seq);
    char *text = NULL;
    if (msg) {
        text = malloc(len + 1);
        if (!text)
            return rv_fail(RV_ENOMEM, "ra_site", "no memory");
        memcpy(text, msg, len);
        text[len] = 0;
        /* text columns cannot hold NUL: cut there (a hostile message may carry one) */
    }
    const char *p[4] = {station, seqs, reason, text};
    PGresult *r = PQexecParams(self->conn,
                               "INSERT INTO rejected (station, seq, reason, message)"
                               " VALUES ($1, $2::bigint, $3, $4)",
                               4, NULL, p, NULL, NULL, 0);
    free(text);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return s_fail_pg(self, "record rejected", r);
    PQclear(r);
    return RV_OK;
}

/* A text[] literal of station ids: {"a","b"} (ids are [A-Za-z0-9_.-]; quoted anyway). */
static char *s_text_array(const char *const *items, size_t n)
{
    size_t cap = 3;
    for (size_t i = 0; i < n; i++)
        cap += 2 * strlen(items[i]) + 3;
    char *out = malloc(cap), *p = out;
    if (!out)
        return NULL;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        *p++ = '"';
        for (const char *c = items[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                *p++ = '\\';
            *p++ = *c;
        }
        *p++ = '"';
    }
    *p++ = '}';
    *p = 0;
    return out;
}

int ra_site_evidence_missing(ra_site_t *self, const char *const *stations, size_t nstations,
                             size_t max, ra_site_missing_fn fn, void *arg)
{
    S_NOT_INFLIGHT(self, "evidence missing");
    char lim[32];
    snprintf(lim, sizeof lim, "%zu", max);
    char *list = NULL;
    if (stations && !(list = s_text_array(stations, nstations)))
        return rv_fail(RV_ENOMEM, "ra_site", "no memory");
    const char *p[2] = {lim, list};
    /* two statements, so that the station list is an index condition (evidence_wanted_due):
     * a site may want many files of stations this collector does not reach */
    PGresult *r = PQexecParams(self->conn,
                               list ? "SELECT station, sha256 FROM evidence_wanted"
                                      " WHERE station = ANY ($2::text[]) AND next_try <= now()"
                                      " ORDER BY station, next_try LIMIT $1::bigint"
                                    : "SELECT station, sha256 FROM evidence_wanted"
                                      " WHERE next_try <= now() LIMIT $1::bigint",
                               list ? 2 : 1, NULL, p, NULL, NULL, 0);
    free(list);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return s_fail_pg(self, "read missing evidence", r);
    int n = PQntuples(r);
    for (int i = 0; i < n; i++)
        if (fn(arg, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1)) != 0)
            break;
    PQclear(r);
    return n;
}

int ra_site_evidence_add(ra_site_t *self, const char *sha256, size_t bytes, const char *kind)
{
    S_NOT_INFLIGHT(self, "evidence add");
    char b[32];
    snprintf(b, sizeof b, "%zu", bytes);
    const char *p[3] = {sha256, b, kind};
    PGresult *r = PQexecParams(self->conn,
                               "WITH a AS (INSERT INTO evidence (sha256, bytes, kind) VALUES ($1,"
                               " $2::bigint, $3) ON CONFLICT (sha256) DO NOTHING)"
                               " DELETE FROM evidence_wanted WHERE sha256 = $1",
                               3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return s_fail_pg(self, "record evidence", r);
    PQclear(r);
    return RV_OK;
}

int ra_site_evidence_add_many(ra_site_t *self, const char *const *sha256, const size_t *bytes,
                              size_t n)
{
    S_NOT_INFLIGHT(self, "evidence add many");
    if (!self || (n && (!sha256 || !bytes)))
        return rv_fail(RV_EINVAL, "ra_site", "evidence: no site or files");
    if (n == 0)
        return RV_OK;
    /* two array literals: {hex,...} and {bytes,...} (hashes checked: nothing to quote) */
    char *hs = malloc(n * 66 + 3), *bs = malloc(n * 21 + 3);
    int rc = hs && bs ? RV_OK : rv_fail(RV_ENOMEM, "ra_site", "no memory");
    size_t kh = 0, kb = 0;
    if (rc == RV_OK) {
        hs[kh++] = '{';
        bs[kb++] = '{';
    }
    for (size_t i = 0; i < n && rc == RV_OK; i++) {
        if (!sha256[i] || strlen(sha256[i]) != 64 ||
            strspn(sha256[i], "0123456789abcdef") != 64) {
            rc = rv_fail(RV_EINVAL, "ra_site", "evidence: %zu is not a SHA-256 in hex", i);
            break;
        }
        kh += (size_t) sprintf(hs + kh, "%s%s", i ? "," : "", sha256[i]);
        kb += (size_t) sprintf(bs + kb, "%s%zu", i ? "," : "", bytes[i]);
    }
    if (rc == RV_OK) {
        hs[kh++] = '}';
        hs[kh] = 0;
        bs[kb++] = '}';
        bs[kb] = 0;
        const char *p[2] = {hs, bs};
        PGresult *r = PQexecParams(self->conn,
                                   "WITH a AS (INSERT INTO evidence (sha256, bytes) SELECT * FROM"
                                   " unnest($1::text[], $2::bigint[]) ON CONFLICT (sha256) DO"
                                   " NOTHING) DELETE FROM evidence_wanted WHERE sha256 = ANY"
                                   " ($1::text[])",
                                   2, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = s_fail_pg(self, "record evidence", r);
        else
            PQclear(r);
    }
    free(hs);
    free(bs);
    return rc;
}

int ra_site_evidence_failed(ra_site_t *self, const char *station, const char *sha256,
                            const char *why)
{
    S_NOT_INFLIGHT(self, "evidence failed");
    const char *p[3] = {station, sha256, why};
    PGresult *r = PQexecParams(self->conn,
                               "UPDATE evidence_wanted SET tries = tries + 1, last_error = $3,"
                               " next_try = now() + least(interval '1 second' * power(2,"
                               " least(tries, 6)), interval '60 seconds')"
                               " WHERE station = $1 AND sha256 = $2",
                               3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return s_fail_pg(self, "record a failed fetch", r);
    PQclear(r);
    return RV_OK;
}

long long ra_site_evidence_outstanding(ra_site_t *self, const char *const *stations,
                                       size_t nstations)
{
    char *list = NULL;
    if (stations && !(list = s_text_array(stations, nstations))) {
        rv_fail(RV_ENOMEM, "ra_site", "no memory");
        return -1;
    }
    const char *p[1] = {list};
    PGresult *r = PQexecParams(self->conn,
                               list ? "SELECT count(*) FROM evidence_wanted"
                                      " WHERE station = ANY ($1::text[])"
                                    : "SELECT count(DISTINCT sha256) FROM evidence_wanted",
                               list ? 1 : 0, NULL, list ? p : NULL, NULL, NULL, 0);
    free(list);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        s_fail_pg(self, "count missing evidence", r);
        return -1;
    }
    long long v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

int ra_site_station_endpoints(ra_site_t *self, const char *station, const char *pub,
                              const char *replay)
{
    S_NOT_INFLIGHT(self, "station endpoints");
    const char *p[3] = {station, pub, replay};
    PGresult *r = PQexecParams(self->conn,
                               "UPDATE stations SET pub_endpoint = $2, replay_endpoint = $3"
                               " WHERE station = $1",
                               3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return s_fail_pg(self, "record endpoints", r);
    PQclear(r);
    return RV_OK;
}

int ra_site_since_endpoint(ra_site_t *self, const char *pub, uint64_t *since)
{
    S_NOT_INFLIGHT(self, "since endpoint");
    const char *p[1] = {pub};
    *since = 0;
    PGresult *r = PQexecParams(self->conn,
                               "SELECT COALESCE(max(d.seq), 0) FROM stations s JOIN decisions d"
                               " ON d.station = s.station WHERE s.pub_endpoint = $1",
                               1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return s_fail_pg(self, "read resume point", r);
    if (PQntuples(r) > 0)
        *since = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return RV_OK;
}

int ra_site_counts(ra_site_t *self, const char *station, ra_site_counts_t *out)
{
    S_NOT_INFLIGHT(self, "counts");
    if (!self || !out)
        return rv_fail(RV_EINVAL, "ra_site", "counts: no site");
    memset(out, 0, sizeof *out);
    const char *p[1] = {station};
    PGresult *r = PQexecParams(
        self->conn,
        station ? "SELECT (SELECT count(*) FROM decisions WHERE station = $1),"
                  " (SELECT COALESCE(max(seq), 0) FROM decisions WHERE station = $1),"
                  " (SELECT count(*) FROM evidence_wanted WHERE station = $1),"
                  " (SELECT count(*) FROM rejected WHERE station = $1),"
                  " (SELECT count(*) FROM stations WHERE station = $1)"
                : "SELECT (SELECT count(*) FROM decisions), (SELECT COALESCE(max(seq), 0) FROM"
                  " decisions), (SELECT count(DISTINCT sha256) FROM evidence_wanted),"
                  " (SELECT count(*) FROM rejected), (SELECT count(*) FROM stations)",
        station ? 1 : 0, NULL, station ? p : NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return s_fail_pg(self, "counts", r);
    out->decisions = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    out->max_seq = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
    out->evidence_outstanding = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    out->rejected = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
    out->stations = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
    PQclear(r);
    return RV_OK;
}

int ra_site_analyze(ra_site_t *self)
{
    S_NOT_INFLIGHT(self, "analyze");
    if (!self)
        return rv_fail(RV_EINVAL, "ra_site", "analyze: no site");
    return s_exec(self, "ANALYZE decisions; ANALYZE decision_evidence; ANALYZE evidence;"
                        " ANALYZE evidence_wanted; ANALYZE stations",
                  "analyze");
}

/* --- reading ------------------------------------------------------------------------ */

/* The columns of a record (ra_site_record_t), then the raw ts (a cursor for paging). */
#define S_RECORD_COLS                                                                          \
    "d.station, d.seq, to_char(d.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"   \
    " COALESCE(d.serial, ''), COALESCE(d.route, ''), COALESCE(d.operator, ''), d.message,"     \
    " (SELECT json_agg(json_build_object('sha256', de.sha256, 'kind', de.kind, 'held',"        \
    " EXISTS (SELECT 1 FROM evidence e WHERE e.sha256 = de.sha256))"                           \
    " ORDER BY de.sha256 COLLATE \"C\") FROM decision_evidence de"                             \
    " WHERE de.station = d.station AND de.seq = d.seq), d.ts"

/* The trace drill (ra_site_history and its plan: the same text). */
static const char *s_history_sql = "SELECT " S_RECORD_COLS " FROM decisions d"
                                   " WHERE d.serial = $1 ORDER BY d.ts, d.station, d.seq";

typedef struct s_evbuf {
    ra_site_evidence_t *ev;
    size_t cap;
} s_evbuf_t;

/* Row i of r as a record, to fn. 0, fn's non-zero, or a negative status. */
static int s_record(PGresult *r, int i, s_evbuf_t *eb, ra_site_record_fn fn, void *arg)
{
    ra_site_record_t rec;
    memset(&rec, 0, sizeof rec);
    rec.station = PQgetvalue(r, i, 0);
    rec.seq = strtoull(PQgetvalue(r, i, 1), NULL, 10);
    rec.ts = PQgetvalue(r, i, 2);
    rec.serial = PQgetvalue(r, i, 3);
    rec.route = PQgetvalue(r, i, 4);
    rec.operator_id = PQgetvalue(r, i, 5);
    rec.message = PQgetvalue(r, i, 6);
    rec.len = (size_t) PQgetlength(r, i, 6);
    size_t n = 0;
    if (!PQgetisnull(r, i, 7)) {
        json_t *a = json_loads(PQgetvalue(r, i, 7), 0, NULL);
        if (!json_is_array(a)) {
            json_decref(a);
            return rv_fail(RV_EFORMAT, "ra_site", "the evidence of %s seq %" PRIu64
                                                  " does not read", rec.station, rec.seq);
        }
        if (json_array_size(a) > eb->cap) {
            size_t cap = json_array_size(a) + 8;
            ra_site_evidence_t *p = realloc(eb->ev, cap * sizeof *p);
            if (!p) {
                json_decref(a);
                return rv_fail(RV_ENOMEM, "ra_site", "no memory");
            }
            eb->ev = p;
            eb->cap = cap;
        }
        size_t k;
        json_t *e;
        json_array_foreach(a, k, e)
        {
            ra_site_evidence_t *x = &eb->ev[n++];
            const char *sha = json_string_value(json_object_get(e, "sha256"));
            const char *kind = json_string_value(json_object_get(e, "kind"));
            snprintf(x->sha256, sizeof x->sha256, "%s", sha ? sha : "");
            snprintf(x->kind, sizeof x->kind, "%s", kind ? kind : "");
            x->held = json_is_true(json_object_get(e, "held"));
        }
        json_decref(a);
    }
    rec.evidence = eb->ev;
    rec.nevidence = n;
    return fn(arg, &rec);
}

int ra_site_history(ra_site_t *self, const char *serial, ra_site_record_fn fn, void *arg)
{
    S_NOT_INFLIGHT(self, "history");
    if (!self || !serial || !serial[0] || !fn)
        return rv_fail(RV_EINVAL, "ra_site", "history needs a site, a serial and a callback");
    const char *p[1] = {serial};
    PGresult *r = PQexecParams(self->conn, s_history_sql, 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return s_fail_pg(self, "history", r);
    int n = PQntuples(r), rc = 0;
    s_evbuf_t eb = {NULL, 0};
    for (int i = 0; i < n && rc == 0; i++)
        rc = s_record(r, i, &eb, fn, arg);
    free(eb.ev);
    PQclear(r);
    return rc < 0 ? rc : n;
}

int ra_site_history_plan(ra_site_t *self, const char *serial, char *plan, size_t size)
{
    S_NOT_INFLIGHT(self, "history plan");
    if (!self || !serial || !plan || size == 0)
        return rv_fail(RV_EINVAL, "ra_site", "history plan: bad arguments");
    plan[0] = 0;
    char sql[2048];
    snprintf(sql, sizeof sql, "EXPLAIN (ANALYZE, BUFFERS) %s", s_history_sql);
    const char *p[1] = {serial};
    PGresult *r = PQexecParams(self->conn, sql, 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return s_fail_pg(self, "explain history", r);
    size_t k = 0;
    for (int i = 0; i < PQntuples(r) && k + 1 < size; i++) {
        int w = snprintf(plan + k, size - k, "%s%s", i ? "\n" : "", PQgetvalue(r, i, 0));
        if (w < 0)
            break;
        k += (size_t) w < size - k ? (size_t) w : size - k - 1;
    }
    PQclear(r);
    return RV_OK;
}

/* An ISO UTC date or time prefix ("2026-11-23", "2026-11-23T18", ... "...:01.123Z") as a
 * timestamptz literal: its start, or (upper) the start of the next unit, so that "to" is
 * inclusive as a prefix. 0, or -1 when it is not such a time. */
static int s_bound(const char *t, int upper, char out[64])
{
    int y, mo, d, h = 0, mi = 0, se = 0, n = 0;
    size_t len = strlen(t);
    if (len && (t[len - 1] == 'Z' || t[len - 1] == 'z'))
        len--;
    if (len < 10 || sscanf(t, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
        return -1;
    long long unit = 86400LL * 1000000; /* microseconds of the last field given */
    long long frac = 0;
    size_t i = 10;
    if (i < len) {
        if ((t[i] != 'T' && t[i] != 't' && t[i] != ' ') || len < 13 ||
            sscanf(t + i + 1, "%2d%n", &h, &n) != 1 || n != 2)
            return -1;
        i += 3, unit = 3600LL * 1000000;
    }
    if (i < len) {
        if (t[i] != ':' || len < i + 3 || sscanf(t + i + 1, "%2d%n", &mi, &n) != 1 || n != 2)
            return -1;
        i += 3, unit = 60LL * 1000000;
    }
    if (i < len) {
        if (t[i] != ':' || len < i + 3 || sscanf(t + i + 1, "%2d%n", &se, &n) != 1 || n != 2)
            return -1;
        i += 3, unit = 1000000;
    }
    if (i < len) {
        if (t[i] != '.' || i + 1 >= len || len - i - 1 > 6)
            return -1;
        for (size_t k = i + 1; k < len; k++) {
            if (t[k] < '0' || t[k] > '9')
                return -1;
            frac = frac * 10 + (t[k] - '0');
            unit /= 10;
        }
        for (size_t k = len - i - 1; k < 6; k++)
            frac *= 10;
        i = len;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || h < 0 ||
        mi < 0 || se < 0)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi, .tm_sec = se};
    long long us = (long long) timegm(&tm) * 1000000 + frac + (upper ? unit : 0);
    time_t secs = (time_t) (us / 1000000);
    struct tm o;
    if (!gmtime_r(&secs, &o))
        return -1;
    snprintf(out, 64, "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", o.tm_year + 1900, o.tm_mon + 1,
             o.tm_mday, o.tm_hour, o.tm_min, o.tm_sec, us % 1000000);
    return 0;
}

/* The end of a read-only snapshot: COMMIT when rc is RV_OK; otherwise ROLLBACK, keeping
 * the error of what failed. */
static int s_read_end(ra_site_t *self, int rc)
{
    if (rc == RV_OK)
        return s_exec(self, "COMMIT", "commit");
    char keep[512];
    snprintf(keep, sizeof keep, "%s", rv_last_error());
    if (PQstatus(self->conn) == CONNECTION_OK)
        s_exec(self, "ROLLBACK", "rollback");
    return rv_fail(rc, "ra_site", "%s", keep + (strncmp(keep, "ra_site: ", 9) ? 0 : 9));
}

#define S_PAGE 2000 /* rows per page when reading the whole site */
#define S_PAGE_SQL "2000"

int ra_site_records(ra_site_t *self, const char *from, const char *to, ra_site_record_fn fn,
                    void *arg)
{
    S_NOT_INFLIGHT(self, "records");
    if (!self || !fn)
        return rv_fail(RV_EINVAL, "ra_site", "records need a site and a callback");
    char lo[64] = "-infinity", hi[64] = "infinity";
    if ((from && s_bound(from, 0, lo) != 0) || (to && s_bound(to, 1, hi) != 0))
        return rv_fail(RV_EINVAL, "ra_site",
                       "from/to must be ISO dates or times (YYYY-MM-DD[THH:MM:SS[.mmm]Z]), not "
                       "\"%.40s\"",
                       from && s_bound(from, 0, lo) != 0 ? from : to);
    /* one snapshot for the whole export, read page by page along decisions_ts */
    int rc = s_exec(self, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin");
    if (rc != RV_OK)
        return rc;
    char last_ts[64] = "", last_station[RA_MSG_MAX_ID] = "", last_seq[32] = "";
    long long total = 0;
    s_evbuf_t eb = {NULL, 0};
    int stop = 0;
    while (!stop && rc == RV_OK) {
        const char *p[5] = {last_ts[0] ? last_ts : lo, hi, last_ts[0] ? last_ts : NULL,
                            last_station, last_seq[0] ? last_seq : "0"};
        PGresult *r = PQexecParams(
            self->conn,
            "SELECT " S_RECORD_COLS " FROM decisions d WHERE d.ts >= $1::timestamptz"
            " AND d.ts < $2::timestamptz AND ($3::timestamptz IS NULL OR"
            " (d.ts, d.station, d.seq) > ($3::timestamptz, $4::text, $5::bigint))"
            " ORDER BY d.ts, d.station, d.seq LIMIT " S_PAGE_SQL,
            5, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            rc = s_fail_pg(self, "read decisions", r);
            break;
        }
        int n = PQntuples(r);
        for (int i = 0; i < n && !stop && rc == RV_OK; i++) {
            int k = s_record(r, i, &eb, fn, arg);
            if (k < 0)
                rc = k;
            else if (k > 0)
                stop = 1;
            total++;
        }
        if (n > 0) {
            snprintf(last_ts, sizeof last_ts, "%s", PQgetvalue(r, n - 1, 8));
            snprintf(last_station, sizeof last_station, "%s", PQgetvalue(r, n - 1, 0));
            snprintf(last_seq, sizeof last_seq, "%s", PQgetvalue(r, n - 1, 1));
        }
        PQclear(r);
        if (n < S_PAGE)
            break;
    }
    free(eb.ev);
    rc = s_read_end(self, rc);
    return rc != RV_OK ? rc : (int) (total > INT32_MAX ? INT32_MAX : total);
}

/* The search's filters: $1 from, $2 to, $3 a part of the serial, $4 family, $5 route,
 * $6 operator, $7 station. */
#define S_SEARCH_WHERE                                                                        \
    " WHERE d.ts >= $1::timestamptz AND d.ts < $2::timestamptz AND ($3::text IS NULL OR"      \
    " lower(d.serial) LIKE '%' || replace(replace(replace(lower($3::text), '\\', '\\\\'),"  \
    " '%', '\\%'), '_', '\\_') || '%') AND ($4::text IS NULL OR d.family = $4)"            \
    " AND ($5::text IS NULL OR d.route = $5) AND ($6::text IS NULL OR d.operator = $6)"       \
    " AND ($7::text IS NULL OR d.station = $7)"

int ra_site_search(ra_site_t *self, const ra_site_search_t *q, ra_site_choice_fn choice,
                   ra_site_record_fn fn, void *arg, size_t *matched)
{
    S_NOT_INFLIGHT(self, "search");
    if (matched)
        *matched = 0;
    if (!self || !q || !fn)
        return rv_fail(RV_EINVAL, "ra_site", "a search needs a site, a query and a callback");
    char lo[64] = "-infinity", hi[64] = "infinity", lim[32];
    if ((q->from && s_bound(q->from, 0, lo) != 0) || (q->to && s_bound(q->to, 1, hi) != 0))
        return rv_fail(RV_EINVAL, "ra_site",
                       "from/to must be ISO dates or times (YYYY-MM-DD[THH:MM:SS[.mmm]Z]), not "
                       "\"%.40s\"",
                       q->from && s_bound(q->from, 0, lo) != 0 ? q->from : q->to);
    snprintf(lim, sizeof lim, "%zu", q->max ? q->max : 2000);
    const char *p[8] = {lo,      hi,           q->serial_part && *q->serial_part ? q->serial_part : NULL,
                        q->family, q->route, q->operator_id, q->station, lim};
    int rc = s_exec(self, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin");
    if (rc != RV_OK)
        return rc;
    int given = 0;
    PGresult *r = NULL;
    if (choice) {
        r = PQexecParams(self->conn,
                         "SELECT 'family', v FROM (SELECT DISTINCT family AS v FROM decisions"
                         " WHERE ts >= $1::timestamptz AND ts < $2::timestamptz AND family IS NOT"
                         " NULL) f UNION ALL SELECT 'operator', v FROM (SELECT DISTINCT operator"
                         " AS v FROM decisions WHERE ts >= $1::timestamptz AND ts <"
                         " $2::timestamptz AND operator IS NOT NULL) o UNION ALL SELECT"
                         " 'station', v FROM (SELECT DISTINCT station AS v FROM decisions WHERE"
                         " ts >= $1::timestamptz AND ts < $2::timestamptz) s",
                         2, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            rc = s_fail_pg(self, "search (choices)", r);
            r = NULL;
        }
        for (int i = 0; r && rc == RV_OK && i < PQntuples(r); i++)
            if (choice(arg, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1)) != 0)
                break;
        PQclear(r);
    }
    if (rc == RV_OK) {
        r = PQexecParams(self->conn, "SELECT count(*) FROM decisions d" S_SEARCH_WHERE, 7, NULL,
                         p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            rc = s_fail_pg(self, "search (count)", r);
        else if (matched)
            *matched = (size_t) strtoull(PQgetvalue(r, 0, 0), NULL, 10);
        if (rc == RV_OK)
            PQclear(r);
    }
    if (rc == RV_OK) {
        r = PQexecParams(self->conn,
                         "SELECT " S_RECORD_COLS " FROM decisions d" S_SEARCH_WHERE
                         " ORDER BY d.ts DESC, d.station DESC, d.seq DESC LIMIT $8::bigint",
                         8, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            rc = s_fail_pg(self, "search", r);
        } else {
            s_evbuf_t eb = {NULL, 0};
            for (int i = 0; i < PQntuples(r) && rc == RV_OK; i++) {
                int k = s_record(r, i, &eb, fn, arg);
                if (k < 0)
                    rc = k;
                else if (k > 0)
                    break;
                given++;
            }
            free(eb.ev);
            PQclear(r);
        }
    }
    rc = s_read_end(self, rc);
    return rc != RV_OK ? rc : given;
}

/* --- verification ------------------------------------------------------------------- */

/* An RFC 3339 time as microseconds since 1970 (rounded to the microsecond, as the server
 * stores it). 0, or -1 when it is not one. */
static int s_rfc3339_us(const char *t, long long *us)
{
    int y, mo, d, h, mi, se, n = 0;
    if (!t || sscanf(t, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 ||
        n != 19)
        return -1;
    const char *p = t + 19;
    long long frac = 0;
    if (*p == '.') {
        int digits = 0, round = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
            if (digits < 6)
                frac = frac * 10 + (*p - '0');
            else if (digits == 6)
                round = *p >= '5';
        }
        if (digits == 0)
            return -1;
        for (int k = digits; k < 6; k++)
            frac *= 10;
        frac += round;
    }
    long long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5)
            return -1;
        off = (*p == '-' ? -1 : 1) * (oh * 3600LL + om * 60LL);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi, .tm_sec = se};
    *us = ((long long) timegm(&tm) - off) * 1000000 + frac;
    return 0;
}

/* Column col of row i equals v (a string or an integer of the message; absent or null:
 * SQL NULL). */
static int s_col_is(PGresult *r, int i, int col, json_t *v)
{
    int isnull = PQgetisnull(r, i, col);
    if (!v || json_is_null(v))
        return isnull;
    if (isnull)
        return 0;
    const char *t = PQgetvalue(r, i, col);
    if (json_is_string(v))
        return strcmp(t, json_string_value(v)) == 0;
    if (json_is_integer(v)) {
        char b[32];
        snprintf(b, sizeof b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return strcmp(t, b) == 0;
    }
    return 0;
}

static int s_strcmp_p(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The check of one decision row (ra_site_verify): NULL when it holds, else why. */
static const char *s_verify_row(PGresult *r, int i, char *why, size_t size)
{
    const char *station = PQgetvalue(r, i, 0), *msg = PQgetvalue(r, i, 15);
    size_t len = (size_t) PQgetlength(r, i, 15);
    uint64_t seq = strtoull(PQgetvalue(r, i, 1), NULL, 10);
    if (PQgetisnull(r, i, 16) || !PQgetvalue(r, i, 16)[0]) {
        snprintf(why, size, "the site holds no public key for the station: it cannot be "
                            "verified");
        return why;
    }
    ra_msg_info_t info;
    if (ra_msg_parse_decision(msg, len, station, &info) != RV_OK) {
        snprintf(why, size, "the message is not a decision of this station: %s", rv_last_error());
        return why;
    }
    if (info.seq != seq) {
        snprintf(why, size, "the message says seq %" PRIu64, info.seq);
        return why;
    }
    if (ra_msg_decision_verify_parsed(msg, len, PQgetvalue(r, i, 16), NULL, NULL) != RV_OK) {
        snprintf(why, size, "%s", rv_last_error());
        return why;
    }
    json_t *m = json_loadb(msg, len, 0, NULL);
    json_t *chain = json_object_get(m, "chain"), *ov = json_object_get(m, "override");
    const char *bad = NULL;
    long long us = 0;
    if (!json_is_object(m))
        bad = "message";
    else if (PQgetisnull(r, i, 2) || !json_is_string(json_object_get(m, "id")) ||
             strcasecmp(PQgetvalue(r, i, 2), json_string_value(json_object_get(m, "id"))) != 0)
        bad = "id";
    else if (PQgetisnull(r, i, 3) ||
             s_rfc3339_us(json_string_value(json_object_get(m, "ts")), &us) != 0 ||
             strtoll(PQgetvalue(r, i, 3), NULL, 10) != us)
        bad = "ts";
    else if (!s_col_is(r, i, 4, json_object_get(m, "serial")))
        bad = "serial";
    else if (!s_col_is(r, i, 5, json_object_get(m, "part_number")))
        bad = "part_number";
    else if (!s_col_is(r, i, 6, json_object_get(m, "family")))
        bad = "family";
    else if (!s_col_is(r, i, 7, json_object_get(m, "route")))
        bad = "route";
    else if (!s_col_is(r, i, 8, json_object_get(m, "proposal")))
        bad = "proposal";
    else if (!s_col_is(r, i, 9, json_object_get(m, "operator")))
        bad = "operator";
    else if (!s_col_is(r, i, 10, json_object_get(ov, "reason_code")))
        bad = "override_reason";
    else if (!s_col_is(r, i, 11, json_object_get(m, "session")))
        bad = "session";
    else if (!s_col_is(r, i, 12, json_object_get(chain, "hash")))
        bad = "chain_hash";
    else if (!s_col_is(r, i, 13, json_object_get(chain, "n")))
        bad = "chain_n";
    else if (!s_col_is(r, i, 14, json_object_get(chain, "sig")))
        bad = "sig";
    if (!bad) { /* the hashes cited: decision_evidence against the message's list */
        json_t *ev = json_object_get(m, "evidence"), *e;
        size_t k, n = 0;
        const char **want = calloc(json_array_size(ev) + 1, sizeof *want);
        json_array_foreach(ev, k, e)
        {
            const char *h = json_string_value(json_object_get(e, "sha256"));
            if (h && want)
                want[n++] = h;
        }
        if (want)
            qsort(want, n, sizeof *want, s_strcmp_p);
        size_t u = 0;
        for (k = 0; want && k < n; k++)
            if (u == 0 || strcmp(want[u - 1], want[k]) != 0)
                want[u++] = want[k];
        json_t *got = PQgetisnull(r, i, 17) ? json_array() : json_loads(PQgetvalue(r, i, 17), 0, NULL);
        int same = want && json_is_array(got) && json_array_size(got) == u;
        for (k = 0; same && k < u; k++)
            same = json_is_string(json_array_get(got, k)) &&
                   strcmp(json_string_value(json_array_get(got, k)), want[k]) == 0;
        if (!same)
            bad = "decision_evidence";
        json_decref(got);
        free(want);
    }
    json_decref(m);
    if (bad) {
        snprintf(why, size, "the %s %s differs from the signed message (changed in the site "
                            "database)",
                 bad, strcmp(bad, "decision_evidence") == 0 ? "rows" : "column");
        return why;
    }
    return NULL;
}

#define S_VERIFY_COLS                                                                          \
    "d.station, d.seq, d.id::text, (extract(epoch FROM d.ts) * 1000000)::bigint, d.serial,"   \
    " d.part_number, d.family, d.route, d.proposal, d.operator, d.override_reason, d.session," \
    " d.chain_hash, d.chain_n, d.sig, d.message, s.public_key,"                              \
    " (SELECT json_agg(de.sha256 ORDER BY de.sha256 COLLATE \"C\")"     \
    " FROM decision_evidence de WHERE de.station = d.station AND de.seq = d.seq)"              \
    " FROM decisions d LEFT JOIN stations s ON s.station = d.station"

int ra_site_verify(ra_site_t *self, ra_site_verify_report_t *rep)
{
    S_NOT_INFLIGHT(self, "verify");
    if (!self || !rep)
        return rv_fail(RV_EINVAL, "ra_site", "verify: no site or report");
    memset(rep, 0, sizeof *rep);
    int rc = s_exec(self, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin");
    if (rc != RV_OK)
        return rc;
    char last_station[RA_MSG_MAX_ID] = "", last_seq[32] = "0";
    int bad = 0;
    while (rc == RV_OK && !bad) {
        const char *p[2] = {last_station, last_seq};
        PGresult *r = PQexecParams(
            self->conn,
            last_station[0] ? "SELECT " S_VERIFY_COLS " WHERE (d.station, d.seq) > ($1, $2::bigint)"
                              " ORDER BY d.station, d.seq LIMIT " S_PAGE_SQL
                            : "SELECT " S_VERIFY_COLS
                              " ORDER BY d.station, d.seq LIMIT " S_PAGE_SQL,
            last_station[0] ? 2 : 0, NULL, last_station[0] ? p : NULL, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            rc = s_fail_pg(self, "read decisions", r);
            break;
        }
        int n = PQntuples(r);
        for (int i = 0; i < n && !bad; i++) {
            const char *station = PQgetvalue(r, i, 0);
            if (strcmp(station, last_station) != 0)
                rep->stations++;
            snprintf(last_station, sizeof last_station, "%s", station);
            snprintf(last_seq, sizeof last_seq, "%s", PQgetvalue(r, i, 1));
            char why[400];
            if (s_verify_row(r, i, why, sizeof why)) {
                bad = 1;
                snprintf(rep->station, sizeof rep->station, "%s", station);
                rep->seq = strtoull(last_seq, NULL, 10);
                snprintf(rep->what, sizeof rep->what, "station %s seq %" PRIu64 ": %s", station,
                         rep->seq, why);
            } else {
                rep->decisions++;
            }
        }
        PQclear(r);
        if (n < S_PAGE)
            break;
    }
    if (PQstatus(self->conn) == CONNECTION_OK)
        s_exec(self, rc == RV_OK ? "COMMIT" : "ROLLBACK", "end");
    if (rc != RV_OK)
        return rc;
    if (bad)
        return rv_fail(RV_EFORMAT, "ra_site", "%s", rep->what);
    return RV_OK;
}

/* --- reading for the station window ------------------------------------------------ */

int ra_site_conninfo_describe(const char *conninfo, char *out, size_t size)
{
    if (!conninfo || !out || size == 0)
        return rv_fail(RV_EINVAL, "ra_site", "describe: bad arguments");
    out[0] = 0;
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
    if (!opts) {
        int rc = rv_fail(RV_EINVAL, "ra_site", "connection string: %s",
                         err ? err : "does not parse");
        PQfreemem(err);
        return rc;
    }
    static const char *const shown[] = {"host", "hostaddr", "port", "dbname", "user"};
    size_t k = 0;
    for (size_t s = 0; s < sizeof shown / sizeof shown[0]; s++)
        for (PQconninfoOption *o = opts; o->keyword; o++) {
            if (strcmp(o->keyword, shown[s]) != 0 || !o->val || !o->val[0])
                continue;
            int w = snprintf(out + k, size - k, "%s%s %s", k ? " " : "", o->keyword, o->val);
            if (w < 0 || (size_t) w >= size - k) {
                k = size - 1;
                break;
            }
            k += (size_t) w;
        }
    PQconninfoFree(opts);
    if (k == 0)
        snprintf(out, size, "%s", "(libpq defaults)");
    return RV_OK;
}

int ra_site_decision(ra_site_t *self, const char *station, uint64_t seq, ra_site_record_fn fn,
                     void *arg)
{
    S_NOT_INFLIGHT(self, "decision");
    if (!self || !station || !fn)
        return rv_fail(RV_EINVAL, "ra_site", "decision needs a site, a station and a callback");
    char s[32];
    snprintf(s, sizeof s, "%" PRIu64, seq);
    const char *p[2] = {station, s};
    PGresult *r = PQexecParams(self->conn,
                               "SELECT " S_RECORD_COLS " FROM decisions d"
                               " WHERE d.station = $1 AND d.seq = $2::bigint",
                               2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return s_fail_pg(self, "read a decision", r);
    int n = PQntuples(r), rc = 0;
    s_evbuf_t eb = {NULL, 0};
    if (n > 0)
        rc = s_record(r, 0, &eb, fn, arg);
    free(eb.ev);
    PQclear(r);
    return rc < 0 ? rc : n > 0;
}

int ra_site_verify_decision(ra_site_t *self, const char *station, uint64_t seq, char *why,
                            size_t size)
{
    S_NOT_INFLIGHT(self, "verify decision");
    if (!self || !station || !why || size == 0)
        return rv_fail(RV_EINVAL, "ra_site", "verify decision: bad arguments");
    why[0] = 0;
    char s[32];
    snprintf(s, sizeof s, "%" PRIu64, seq);
    const char *p[2] = {station, s};
    PGresult *r = PQexecParams(self->conn,
                               "SELECT " S_VERIFY_COLS " WHERE d.station = $1 AND d.seq = $2::bigint",
                               2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return s_fail_pg(self, "read a decision", r);
    if (PQntuples(r) == 0) {
        PQclear(r);
        snprintf(why, size, "station %s seq %" PRIu64 " is not in the site", station, seq);
        return rv_fail(RV_EFORMAT, "ra_site", "%s", why);
    }
    char w[400];
    const char *bad = s_verify_row(r, 0, w, sizeof w);
    PQclear(r);
    if (bad) {
        snprintf(why, size, "%s", w);
        return rv_fail(RV_EFORMAT, "ra_site", "station %s seq %" PRIu64 ": %s", station, seq, w);
    }
    return RV_OK;
}

int ra_site_decisions_after(ra_site_t *self, const char *from, const char *const *stations,
                            const uint64_t *after, size_t n, size_t max_per_station,
                            ra_site_record_fn fn, void *arg)
{
    S_NOT_INFLIGHT(self, "decisions after");
    if (!self || !fn || (n && (!stations || !after)))
        return rv_fail(RV_EINVAL, "ra_site", "decisions after: bad arguments");
    char lo[64] = "-infinity";
    if (from && s_bound(from, 0, lo) != 0)
        return rv_fail(RV_EINVAL, "ra_site", "from must be an ISO date or time, not \"%.40s\"",
                       from);
    char *names = s_text_array(stations, n);
    size_t cap = 3 + n * 21;
    char *seqs = malloc(cap);
    if (!names || !seqs) {
        free(names);
        free(seqs);
        return rv_fail(RV_ENOMEM, "ra_site", "no memory");
    }
    size_t k = 0;
    seqs[k++] = '{';
    for (size_t i = 0; i < n; i++)
        k += (size_t) snprintf(seqs + k, cap - k, "%s%" PRIu64, i ? "," : "", after[i]);
    seqs[k++] = '}';
    seqs[k] = 0;
    char lim[32];
    snprintf(lim, sizeof lim, "%zu", max_per_station ? max_per_station : 2000);
    const char *p[4] = {lo, names, seqs, lim};
    /* per station along the primary key (station, seq) from the mark, or along
     * decisions_station_ts for a station not seen yet */
    PGresult *r = PQexecParams(
        self->conn,
        "SELECT " S_RECORD_COLS " FROM stations s"
        " LEFT JOIN unnest($2::text[], $3::bigint[]) AS k(station, seq) ON k.station = s.station"
        " CROSS JOIN LATERAL (SELECT * FROM decisions d0 WHERE d0.station = s.station"
        " AND d0.seq > COALESCE(k.seq, 0) AND d0.ts >= $1::timestamptz ORDER BY d0.seq"
        " LIMIT $4::bigint) d ORDER BY d.station, d.seq",
        4, NULL, p, NULL, NULL, 0);
    free(names);
    free(seqs);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return s_fail_pg(self, "read new decisions", r);
    int rows = PQntuples(r), rc = 0;
    s_evbuf_t eb = {NULL, 0};
    for (int i = 0; i < rows && rc == 0; i++)
        rc = s_record(r, i, &eb, fn, arg);
    free(eb.ev);
    PQclear(r);
    return rc < 0 ? rc : rows;
}

int ra_site_health(ra_site_t *self, ra_site_health_fn fn, void *arg)
{
    S_NOT_INFLIGHT(self, "health");
    if (!self || !fn)
        return rv_fail(RV_EINVAL, "ra_site", "health needs a site and a callback");
    PGresult *r = PQexec(self->conn,
                         "SELECT station, COALESCE(status, ''), announced_seq, site_seq, lag,"
                         " COALESCE(stale, false), COALESCE(extract(epoch FROM now() -"
                         " last_seen), -1), rows, evidence_outstanding, rejected FROM health"
                         " ORDER BY station");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return s_fail_pg(self, "read health", r);
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        ra_site_health_t h;
        memset(&h, 0, sizeof h);
        h.station = PQgetvalue(r, i, 0);
        h.status = PQgetvalue(r, i, 1);
        h.announced_seq = strtoull(PQgetvalue(r, i, 2), NULL, 10);
        h.site_seq = strtoull(PQgetvalue(r, i, 3), NULL, 10);
        h.lag = strtoll(PQgetvalue(r, i, 4), NULL, 10);
        h.stale = !strcmp(PQgetvalue(r, i, 5), "t");
        h.last_seen_s = strtod(PQgetvalue(r, i, 6), NULL);
        h.rows = strtoll(PQgetvalue(r, i, 7), NULL, 10);
        h.evidence_outstanding = strtoll(PQgetvalue(r, i, 8), NULL, 10);
        h.rejected = strtoll(PQgetvalue(r, i, 9), NULL, 10);
        if (fn(arg, &h) != 0)
            break;
    }
    PQclear(r);
    return n;
}
