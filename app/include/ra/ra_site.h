/* ra_site.h - the site store: every station's decisions in one PostgreSQL database
 * (libpq), written by reman-collector, read by reman-audit --site. Schema, migrations and
 * queries: docs/site.md. The one place of the product that speaks to PostgreSQL.
 *
 * Decisions are inserted exactly as published (the message text is kept byte for byte,
 * so the site can re-verify the station's signature at any time), unique on
 * (station, seq): inserting again is a no-op. The columns searched (serial, ts, family,
 * route, operator, station) are filled by the server from the message's JSON.
 * Evidence bytes live in a content-addressed directory beside the database; the
 * evidence table records what is held; decision_evidence what each decision cites;
 * evidence_wanted what is cited and not held yet (what the collector fetches).
 *
 * Errors: RV_EIO (connection lost, server refused: the server's message), RV_EINVAL,
 * RV_ENOMEM; rv_last_error() says "ra_site: ...". After RV_EIO, ra_site_ok() tells
 * whether the connection is still usable; ra_site_reconnect() tries again.
 * Thread-safety: one handle belongs to one thread. */
#ifndef RA_SITE_H
#define RA_SITE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RA_SITE_SCHEMA_VERSION 4

typedef struct ra_site ra_site_t;

/* Connect (a libpq conninfo: "host=127.0.0.1 port=5432 dbname=site user=reman") and apply
 * pending migrations. NULL on failure (named). */
ra_site_t *ra_site_open(const char *conninfo);
/* For reading only (reman-audit): no migration, every transaction read-only; refuses a
 * database that is not a site database or is newer than this program. */
ra_site_t *ra_site_open_readonly(const char *conninfo);
void ra_site_close(ra_site_t **self_p);
/* 1 when the connection is up. */
int ra_site_ok(ra_site_t *self);
/* Reset the connection (and migrate). 0 when up again. */
int ra_site_reconnect(ra_site_t *self);

/* What the site knows of a station: *found 0 when nothing; key ("" when unknown, 65
 * bytes), max_seq the highest seq held (0 when none). */
int ra_site_station(ra_site_t *self, const char *station, int *found, char key[65],
                    uint64_t *max_seq);
/* Record a station seen: key (NULL: keep), announced seq (the station's last), status
 * ("up", "stale", "down", "key-changed"), session (< 0: keep). Creates the row. */
int ra_site_station_seen(ra_site_t *self, const char *station, const char *key,
                         int64_t session, uint64_t announced, const char *status);

/* Remember where a station publishes (so a restarted collector knows which station an
 * endpoint is before its birth arrives). */
int ra_site_station_endpoints(ra_site_t *self, const char *station, const char *pub,
                              const char *replay);
/* The highest seq held of the station last seen on this PUB endpoint (0: none). */
int ra_site_since_endpoint(ra_site_t *self, const char *pub, uint64_t *since);

/* One decision to insert: the message as published. */
typedef struct ra_site_decision {
    const char *station;
    uint64_t seq;
    const char *msg;
    size_t len;
} ra_site_decision_t;

/* Insert n decisions in one transaction (binary COPY into a temporary table, then one
 * INSERT ... ON CONFLICT DO NOTHING), with the evidence each cites in decision_evidence
 * (and in evidence_wanted when the site does not hold it). A (station, seq) the site holds
 * is skipped; a decision whose id another decision holds goes to the rejected table, naming
 * the holder. 0 and *inserted (new rows); on failure (a row ra_site_decision_check refuses,
 * the server) nothing is committed. */
int ra_site_insert(ra_site_t *self, const ra_site_decision_t *rows, size_t n, size_t *inserted);
/* The same in two halves, so that the caller works while the server does:
 * ra_site_insert_send() hands the rows to the server (the caller may free them when it
 * returns) and starts the statement and the commit; ra_site_insert_busy() is 1 while the
 * server is still at it (it never blocks); ra_site_insert_end() waits for the end: 0 and
 * *inserted when committed, RV_EIO when nothing was. Between send and end the handle is
 * used for nothing else: any other call on it (a search, counts, another insert, ...) is
 * refused with RV_EINVAL, "NAME: an insert is in flight", and the insert is left whole
 * for ra_site_insert_end(); ra_site_reconnect() drops it. */
int ra_site_insert_send(ra_site_t *self, const ra_site_decision_t *rows, size_t n);
int ra_site_insert_busy(ra_site_t *self);
int ra_site_insert_end(ra_site_t *self, size_t *inserted);
/* After a committed insert: how many of its rows went to the rejected table instead of
 * being stored (an id another decision holds), and the i-th of them (i < that count):
 * its station, seq and the reason as stored. Valid until the next insert or
 * ra_site_close(); 0 after a failed insert. */
size_t ra_site_insert_refused(ra_site_t *self, size_t i, const char **station, uint64_t *seq,
                              const char **reason);
/* 0 when ra_site_insert can store the row (the message one JSON object whose members it
 * reads have the shapes it stores); otherwise RV_EFORMAT (or RV_EINVAL, RV_ENOMEM) with
 * the error naming the station, the seq and what is wrong, as ra_site_insert would fail
 * on the whole batch. Needs no connection. */
int ra_site_decision_check(const ra_site_decision_t *row);
/* Record a refused message (bad signature, key changed, ...). */
int ra_site_reject(ra_site_t *self, const char *station, uint64_t seq, const char *reason,
                   const char *msg, size_t len);

/* Evidence cited and not held (the evidence_wanted table), of the given stations only
 * (stations the caller can reach; NULL with n 0: any), those due (not failed in the last
 * moments: see ra_site_evidence_failed), up to max (station, sha256) pairs via fn (return
 * non-zero to stop). Returns how many were found, or negative. */
typedef int (*ra_site_missing_fn)(void *arg, const char *station, const char *sha256);
int ra_site_evidence_missing(ra_site_t *self, const char *const *stations, size_t nstations,
                             size_t max, ra_site_missing_fn fn, void *arg);
/* Record evidence held (idempotent): no longer wanted. */
int ra_site_evidence_add(ra_site_t *self, const char *sha256, size_t bytes, const char *kind);
/* The same for n files in one statement (64 lowercase hex each; e.g. an evidence folder
 * restored from a backup). */
int ra_site_evidence_add_many(ra_site_t *self, const char *const *sha256, const size_t *bytes,
                              size_t n);
/* A fetch of evidence failed: try it again later (backoff growing with the tries, up to a
 * minute), so one file a station cannot serve does not hold back the others. */
int ra_site_evidence_failed(ra_site_t *self, const char *station, const char *sha256,
                            const char *why);
/* Counts for health: evidence cited and not held, of the given stations' decisions
 * (NULL: distinct files of the whole site). -1 on failure. */
long long ra_site_evidence_outstanding(ra_site_t *self, const char *const *stations,
                                       size_t nstations);

/* Counts of one station (NULL: the whole site): decisions held, the highest seq held,
 * evidence cited and not held, rejected messages. */
typedef struct ra_site_counts {
    long long decisions;
    uint64_t max_seq;
    long long evidence_outstanding;
    long long rejected;
    long long stations; /* site: stations known; station: 1 when known */
} ra_site_counts_t;
int ra_site_counts(ra_site_t *self, const char *station, ra_site_counts_t *out);
/* Refresh the planner's statistics of the site's tables (after a bulk load). */
int ra_site_analyze(ra_site_t *self);

/* --- reading: the trace drill, export, verification ------------------------------- */
/* One evidence file a decision cites: held when the site has it (EVIDENCE_DIR/ab/<sha>). */
typedef struct ra_site_evidence {
    char sha256[65];
    char kind[32];
    int held;
} ra_site_evidence_t;

/* One decision as the site holds it. Pointers are valid during the callback only. */
typedef struct ra_site_record {
    const char *station;
    uint64_t seq;
    const char *ts;      /* RFC 3339 UTC with milliseconds, from the ts column */
    const char *serial, *route, *operator_id; /* "" when the message has none */
    const char *message; /* the message as published, byte for byte (NUL-terminated) */
    size_t len;
    const ra_site_evidence_t *evidence; /* what the decision cites (decision_evidence) */
    size_t nevidence;
} ra_site_record_t;
/* Return non-zero to stop. */
typedef int (*ra_site_record_fn)(void *arg, const ra_site_record_t *rec);

/* The trace drill: every decision of one serial across all stations, in time order
 * (ts, station, seq), each with the evidence it cites. Returns how many, or negative. */
int ra_site_history(ra_site_t *self, const char *serial, ra_site_record_fn fn, void *arg);
/* The server's plan for ra_site_history(serial), executed (EXPLAIN ANALYZE), as text
 * lines: to check that the drill uses the serial index. */
int ra_site_history_plan(ra_site_t *self, const char *serial, char *plan, size_t size);
/* Every decision with from <= ts <= to (ISO UTC dates or time prefixes, inclusive as a
 * prefix: "2026-11-23" is the whole day; NULL: open), in time order, streamed (the whole
 * site is never held in memory). Returns how many, or negative (RV_EINVAL: a bad date). */
int ra_site_records(ra_site_t *self, const char *from, const char *to, ra_site_record_fn fn,
                    void *arg);

/* A search of the site's decisions: every filter given must hold (NULL: any). */
typedef struct ra_site_search {
    const char *from, *to;     /* as ra_site_records: ISO UTC dates or time prefixes */
    const char *serial_part;   /* a part of the serial, case-insensitive (ASCII and what
                                * PostgreSQL's lower() folds) */
    const char *family, *route, *operator_id, *station; /* exact */
    size_t max;                /* the newest this many are delivered (0: 2000) */
} ra_site_search_t;
/* Choices for a search's filters: column is "family", "operator" or "station". */
typedef int (*ra_site_choice_fn)(void *arg, const char *column, const char *value);
/* The decisions matching q, filtered by the server (the indexes on ts, serial, family,
 * route, operator and station serve it): *matched is how many match, and the newest
 * q->max of them are given to fn, newest first (ts, station, seq descending). With
 * choice, every distinct family, operator and station of the period (from, to; the other
 * filters not applied) is given to it first. One snapshot for all of it. Returns how many
 * were given to fn, or negative (RV_EINVAL: a bad date). */
int ra_site_search(ra_site_t *self, const ra_site_search_t *q, ra_site_choice_fn choice,
                   ra_site_record_fn fn, void *arg, size_t *matched);

/* Re-verify every decision the site holds: the station's Ed25519 signature over the
 * message with the key the site holds for the station (ra_msg_decision_verify), the
 * message being that station's decision of that seq, the searched columns (id, ts,
 * serial, part number, family, route, proposal, operator, session, chain) and the doc
 * column equal to what the message says, and decision_evidence equal to the message's
 * evidence list. In (station, seq) order; the first failure is named. */
typedef struct ra_site_verify_report {
    long long decisions; /* checked */
    long long stations;
    char station[64];    /* the first bad decision's station and seq ("" when none) */
    uint64_t seq;
    char what[512];      /* "station st-3 seq 17: signature does not verify: ..." */
} ra_site_verify_report_t;
/* 0 when every decision verifies; RV_EFORMAT with the report naming the first that does
 * not; RV_EIO when the database could not be read. */
int ra_site_verify(ra_site_t *self, ra_site_verify_report_t *report);

/* --- reading for the station window (reman-station --site) --------------------------- */
/* The connection string in words, without any password: "host db port 5432 dbname site
 * user auditor" (what a screen may show). 0, or RV_EINVAL when it does not parse. */
int ra_site_conninfo_describe(const char *conninfo, char *out, size_t size);
/* One decision by (station, seq), to fn. 1 when found, 0 when not, or negative. */
int ra_site_decision(ra_site_t *self, const char *station, uint64_t seq, ra_site_record_fn fn,
                     void *arg);
/* The same checks as ra_site_verify() for one decision: 0 when it verifies; RV_EFORMAT with
 * why ("signature does not verify: ...") when not; RV_EIO when it could not be read. */
int ra_site_verify_decision(ra_site_t *self, const char *station, uint64_t seq, char *why,
                            size_t size);
/* New decisions for a poller: of every station the site knows, those with ts >= from (ISO
 * UTC as ra_site_records; NULL: any) and seq greater than what the caller already holds of
 * that station (stations[i], after[i]; stations not listed: from seq 1), at most
 * max_per_station of each, by station then seq. Returns how many, or negative. A station's
 * decisions are inserted in seq order (the collector), so the highest seq seen of each
 * station is a safe mark. */
int ra_site_decisions_after(ra_site_t *self, const char *from, const char *const *stations,
                            const uint64_t *after, size_t n, size_t max_per_station,
                            ra_site_record_fn fn, void *arg);

/* One row of the health view. Pointers are valid during the callback only. */
typedef struct ra_site_health {
    const char *station;
    const char *status;    /* "up", "stale", "down", "key-changed", "enrolled" */
    uint64_t announced_seq, site_seq;
    long long lag;         /* announced - held */
    int stale;             /* nothing heard for 10 s */
    double last_seen_s;    /* seconds since the collector last heard of it */
    long long rows, evidence_outstanding, rejected;
} ra_site_health_t;
typedef int (*ra_site_health_fn)(void *arg, const ra_site_health_t *h);
/* Every station of the health view, by station. Returns how many, or negative. */
int ra_site_health(ra_site_t *self, ra_site_health_fn fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif
