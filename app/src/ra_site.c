/* ra_site.c - the site store in PostgreSQL through libpq (ra_site.h, docs/site.md). */
#include "ra/ra_site.h"
#include "rv/rv_error.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ra_site {
    PGconn *conn;
    char *conninfo;
};

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

static const char *s_insert_sql =
    "WITH m AS (SELECT $1::text AS station, $2::bigint AS seq, $3::text AS message,"
    " $3::jsonb AS doc),"
    " ins AS (INSERT INTO decisions (station, seq, id, ts, serial, part_number, family, route,"
    " proposal, operator, override_reason, session, message, doc, chain_hash, chain_n, sig)"
    " SELECT station, seq, (doc->>'id')::uuid, (doc->>'ts')::timestamptz, doc->>'serial',"
    " doc->>'part_number', doc->>'family', doc->>'route', doc->>'proposal', doc->>'operator',"
    " doc->'override'->>'reason_code', (doc->>'session')::bigint, message, doc,"
    " doc->'chain'->>'hash', (doc->'chain'->>'n')::bigint, doc->'chain'->>'sig' FROM m"
    " ON CONFLICT (station, seq) DO NOTHING RETURNING station, seq, doc),"
    " ev AS (INSERT INTO decision_evidence (station, seq, sha256, kind)"
    " SELECT ins.station, ins.seq, e->>'sha256', e->>'kind' FROM ins,"
    " jsonb_array_elements(CASE WHEN jsonb_typeof(ins.doc->'evidence') = 'array'"
    " THEN ins.doc->'evidence' ELSE '[]'::jsonb END) e WHERE e->>'sha256' IS NOT NULL"
    " ON CONFLICT DO NOTHING)"
    " SELECT count(*) FROM ins";

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

static int s_exec(ra_site_t *self, const char *sql, const char *what)
{
    PGresult *r = PQexec(self->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return s_fail_pg(self, what, r);
    PQclear(r);
    return RV_OK;
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
    if (version < 1) {
        rc = s_exec(self, s_migration_1, "migration 1");
        if (rc == RV_OK)
            rc = s_exec(self, "INSERT INTO schema_version (version) VALUES (1)", "migration 1");
    }
    if (rc != RV_OK) {
        char keep[512];
        snprintf(keep, sizeof keep, "%s", rv_last_error());
        s_exec(self, "ROLLBACK", "rollback");
        return rv_fail(RV_EIO, "ra_site", "%s", keep + (strncmp(keep, "ra_site: ", 9) ? 0 : 9));
    }
    return s_exec(self, "COMMIT", "commit migration");
}

static int s_connect(ra_site_t *self)
{
    if (self->conn)
        PQfinish(self->conn);
    self->conn = PQconnectdb(self->conninfo);
    if (!self->conn)
        return rv_fail(RV_ENOMEM, "ra_site", "no memory for a connection");
    if (PQstatus(self->conn) != CONNECTION_OK)
        return s_fail_pg(self, "connect", NULL);
    int rc = s_migrate(self);
    if (rc != RV_OK)
        return rc;
    PGresult *r = PQprepare(self->conn, "ins", s_insert_sql, 3, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return s_fail_pg(self, "prepare insert", r);
    PQclear(r);
    return RV_OK;
}

ra_site_t *ra_site_open(const char *conninfo)
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
    if (s_connect(self) != RV_OK) {
        char keep[512];
        snprintf(keep, sizeof keep, "%s", rv_last_error());
        ra_site_close(&self);
        rv_fail(RV_EIO, "ra_site", "%s", keep + (strncmp(keep, "ra_site: ", 9) ? 0 : 9));
        return NULL;
    }
    return self;
}

void ra_site_close(ra_site_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ra_site_t *self = *self_p;
    if (self->conn)
        PQfinish(self->conn);
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

int ra_site_insert(ra_site_t *self, const ra_site_decision_t *rows, size_t n, size_t *inserted)
{
    size_t got = 0;
    if (inserted)
        *inserted = 0;
    if (n == 0)
        return RV_OK;
    int rc = s_exec(self, "BEGIN", "begin");
    if (rc != RV_OK)
        return rc;
    /* pipeline mode: every insert sent before reading the results (one round trip) */
    if (PQenterPipelineMode(self->conn) != 1) {
        s_exec(self, "ROLLBACK", "rollback");
        return s_fail_pg(self, "pipeline", NULL);
    }
    char **bufs = calloc(n, sizeof *bufs);
    char seqs[32];
    rc = bufs ? RV_OK : rv_fail(RV_ENOMEM, "ra_site", "no memory");
    for (size_t i = 0; i < n && rc == RV_OK; i++) {
        /* the message must be NUL-terminated text for the text format */
        bufs[i] = malloc(rows[i].len + 1);
        if (!bufs[i]) {
            rc = rv_fail(RV_ENOMEM, "ra_site", "no memory");
            break;
        }
        memcpy(bufs[i], rows[i].msg, rows[i].len);
        bufs[i][rows[i].len] = 0;
        snprintf(seqs, sizeof seqs, "%" PRIu64, rows[i].seq);
        const char *p[3] = {rows[i].station, seqs, bufs[i]};
        if (PQsendQueryPrepared(self->conn, "ins", 3, p, NULL, NULL, 0) != 1)
            rc = s_fail_pg(self, "send insert", NULL);
    }
    if (PQpipelineSync(self->conn) != 1 && rc == RV_OK)
        rc = s_fail_pg(self, "pipeline sync", NULL);
    /* read every result up to the sync */
    for (;;) {
        PGresult *r = PQgetResult(self->conn);
        if (!r) {
            if (PQstatus(self->conn) != CONNECTION_OK) {
                if (rc == RV_OK)
                    rc = s_fail_pg(self, "insert", NULL);
                break;
            }
            continue; /* end of one query's results */
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (st == PGRES_TUPLES_OK) {
            got += strtoull(PQgetvalue(r, 0, 0), NULL, 10);
            PQclear(r);
        } else if (st == PGRES_PIPELINE_ABORTED) {
            PQclear(r);
        } else if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE) {
            if (rc == RV_OK)
                rc = s_fail_pg(self, "insert decision", r);
            else
                PQclear(r);
        } else {
            PQclear(r);
        }
    }
    if (bufs)
        for (size_t i = 0; i < n; i++)
            free(bufs[i]);
    free(bufs);
    if (PQpipelineStatus(self->conn) != PQ_PIPELINE_OFF)
        PQexitPipelineMode(self->conn);
    if (rc != RV_OK) {
        char keep[512];
        snprintf(keep, sizeof keep, "%s", rv_last_error());
        if (PQstatus(self->conn) == CONNECTION_OK)
            s_exec(self, "ROLLBACK", "rollback");
        return rv_fail(RV_EIO, "ra_site", "%s", keep + (strncmp(keep, "ra_site: ", 9) ? 0 : 9));
    }
    rc = s_exec(self, "COMMIT", "commit");
    if (rc == RV_OK && inserted)
        *inserted = got;
    return rc;
}

int ra_site_reject(ra_site_t *self, const char *station, uint64_t seq, const char *reason,
                   const char *msg, size_t len)
{
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

int ra_site_evidence_missing(ra_site_t *self, size_t max, ra_site_missing_fn fn, void *arg)
{
    char lim[32];
    snprintf(lim, sizeof lim, "%zu", max);
    const char *p[1] = {lim};
    PGresult *r = PQexecParams(self->conn,
                               "SELECT DISTINCT ON (de.sha256) de.station, de.sha256 FROM"
                               " decision_evidence de WHERE NOT EXISTS (SELECT 1 FROM evidence e"
                               " WHERE e.sha256 = de.sha256) ORDER BY de.sha256 LIMIT $1::bigint",
                               1, NULL, p, NULL, NULL, 0);
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
    char b[32];
    snprintf(b, sizeof b, "%zu", bytes);
    const char *p[3] = {sha256, b, kind};
    PGresult *r = PQexecParams(self->conn,
                               "INSERT INTO evidence (sha256, bytes, kind) VALUES ($1, $2::bigint,"
                               " $3) ON CONFLICT (sha256) DO NOTHING",
                               3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return s_fail_pg(self, "record evidence", r);
    PQclear(r);
    return RV_OK;
}

long long ra_site_evidence_outstanding(ra_site_t *self)
{
    PGresult *r = PQexec(self->conn, "SELECT count(DISTINCT sha256) FROM decision_evidence de"
                                     " WHERE NOT EXISTS (SELECT 1 FROM evidence e WHERE"
                                     " e.sha256 = de.sha256)");
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
