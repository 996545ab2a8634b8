/* ra_site.h - the site store: every station's decisions in one PostgreSQL database
 * (libpq), written by reman-collector. Schema, migrations and queries: docs/site.md.
 *
 * Decisions are inserted exactly as published (the message text is kept byte for byte,
 * so the site can re-verify the station's signature at any time), unique on
 * (station, seq): inserting again is a no-op. The columns searched (serial, ts, family,
 * route, operator, station) are filled by the server from the message's JSON.
 * Evidence bytes live in a content-addressed directory beside the database; the
 * evidence table records what is held; decision_evidence what each decision cites.
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

#define RA_SITE_SCHEMA_VERSION 1

typedef struct ra_site ra_site_t;

/* Connect (a libpq conninfo: "host=127.0.0.1 port=5432 dbname=site user=reman") and apply
 * pending migrations. NULL on failure (named). */
ra_site_t *ra_site_open(const char *conninfo);
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

/* Insert n decisions in one transaction (ON CONFLICT (station, seq) DO NOTHING), with
 * the evidence each cites in decision_evidence and each station's last_session. 0 and
 * *inserted (new rows); on failure nothing is committed. */
int ra_site_insert(ra_site_t *self, const ra_site_decision_t *rows, size_t n, size_t *inserted);
/* Record a refused message (bad signature, key changed, ...). */
int ra_site_reject(ra_site_t *self, const char *station, uint64_t seq, const char *reason,
                   const char *msg, size_t len);

/* Evidence cited and not held: up to max (station, sha256) pairs via fn. Returns how
 * many, or negative. */
typedef int (*ra_site_missing_fn)(void *arg, const char *station, const char *sha256);
int ra_site_evidence_missing(ra_site_t *self, size_t max, ra_site_missing_fn fn, void *arg);
/* Record evidence held (idempotent). */
int ra_site_evidence_add(ra_site_t *self, const char *sha256, size_t bytes, const char *kind);
/* Counts for health: outstanding evidence (cited, not held). -1 on failure. */
long long ra_site_evidence_outstanding(ra_site_t *self);

#ifdef __cplusplus
}
#endif
#endif
