/* ra_line.h - the line protocol over ZeroMQ: the station's publisher and replay service,
 * and the subscriber that detects and fills gaps. libzmq is used in ra_line.c alone.
 * The protocol (topics, messages, JSON Schemas) is docs/protocol.md.
 *
 * Publisher (one per station process). ra_line_pub_new() starts a thread that owns every
 * socket: XPUB (PUB to subscribers; default tcp://127.0.0.1:5556; XPUB so the station sees
 * a subscriber connect and publishes its birth again, at most every 200 ms) and REP for
 * replay (default tcp://127.0.0.1:5557). At start it publishes reman.birth.<station>, then what
 * the store's outbox still holds; after each ra_line_pub_kick() it publishes the outbox again
 * (seq order) and removes what it sent; every second without a decision it publishes
 * reman.heartbeat.<station>; ra_line_pub_destroy() publishes reman.death.<station> and
 * stops. Replay requests are answered from the store (ra_store_messages). Every request
 * is checked (size limit 4096 bytes, one frame, JSON, schema): anything else gets
 * {"op":"error","reason":...} and the service carries on.
 *
 * Security. With keys (opts.secret_key_file and opts.allow_dir) both sockets are CURVE
 * servers and a ZAP handler admits only clients whose public key is in the allow-list
 * directory (any file holding a `public-key = "<Z85>"` line, as reman-keys writes; read
 * again when the directory changes). Without keys,
 * only loopback (tcp://127.*, tcp://localhost, ipc://, inproc://) endpoints are accepted
 * unless opts.allow_plain is set.
 *
 * Subscriber. Connects to one or more stations' PUB and replay endpoints and delivers
 * each station's decisions in seq order, exactly once: a seq already delivered is
 * dropped; a gap (a seq beyond last + 1, or a heartbeat/birth whose last seq is beyond)
 * is filled from that station's replay service before anything newer is delivered; a
 * station whose heartbeats stop for opts.stale_ms is reported stale once.
 * Thread-safety: a publisher's functions may be called from any one thread; a subscriber
 * belongs to the thread that made it. */
#ifndef RA_LINE_H
#define RA_LINE_H

#include <stddef.h>
#include <stdint.h>

#include "ra/ra_store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RA_LINE_PUB_DEFAULT "tcp://127.0.0.1:5556"
#define RA_LINE_REPLAY_DEFAULT "tcp://127.0.0.1:5557"
#define RA_LINE_MAX_REQUEST 4096
#define RA_LINE_REPLAY_MAX 1000

typedef struct ra_line_opts {
    const char *pub_endpoint;    /* NULL: RA_LINE_PUB_DEFAULT */
    const char *replay_endpoint; /* NULL: RA_LINE_REPLAY_DEFAULT; "" : no replay service */
    int heartbeat_ms;            /* 0: 1000 */
    const char *secret_key_file; /* CURVE: this side's key pair file (reman-keys) */
    const char *allow_dir;       /* publisher: allowed client public keys */
    const char *server_key;      /* subscriber: the station's public key (Z85) */
    int allow_plain;             /* accept non-loopback plain TCP */
    int stale_ms;                /* subscriber: 0 = 3 * 1000 */
} ra_line_opts_t;

void ra_line_opts_default(ra_line_opts_t *opts);

/* --- publisher --------------------------------------------------------------------- */
typedef struct ra_line_pub ra_line_pub_t;

/* Bind and start. The store is borrowed (keep it open until destroy). NULL on failure
 * (an endpoint in use, a non-loopback plain endpoint, a bad key file: named). */
ra_line_pub_t *ra_line_pub_new(ra_store_t *store, const ra_line_opts_t *opts);
/* Tell the publisher the outbox has new messages (cheap, never blocks). */
void ra_line_pub_kick(ra_line_pub_t *self);
/* Wait until the outbox is empty (everything committed was handed to the PUB socket) or
 * timeout_ms passes. 0 when empty. */
int ra_line_pub_flush(ra_line_pub_t *self, int timeout_ms);
/* Counters for health and the bench. */
typedef struct ra_line_pub_stats {
    uint64_t published, heartbeats, replay_requests, replay_errors, last_seq;
} ra_line_pub_stats_t;
void ra_line_pub_stats(ra_line_pub_t *self, ra_line_pub_stats_t *out);
/* Publish death, close the sockets, join the thread. */
void ra_line_pub_destroy(ra_line_pub_t **self_p);

/* --- subscriber -------------------------------------------------------------------- */
typedef struct ra_line_sub ra_line_sub_t;

typedef enum ra_line_event_kind {
    RA_LINE_DECISION = 1, /* msg: the decision as published (or replayed) */
    RA_LINE_BIRTH,        /* a station started (session) */
    RA_LINE_DEATH,        /* a station shut down cleanly */
    RA_LINE_HEARTBEAT,
    RA_LINE_STALE,        /* no heartbeat for stale_ms */
    RA_LINE_GAP,          /* a gap was seen; filled (or not: detail says) */
    RA_LINE_REJECTED      /* a malformed message from the line, dropped (detail says) */
} ra_line_event_kind_t;

typedef struct ra_line_event {
    ra_line_event_kind_t kind;
    char station[RA_STORE_MAX_ID];
    int64_t session;
    uint64_t seq;          /* decision: its seq; heartbeat/birth: the station's last seq */
    int replayed;          /* decision: 1 when it came from the replay service */
    char *msg;             /* decision/birth/death/heartbeat: the JSON text (owned) */
    size_t len;
    char detail[256];
} ra_line_event_t;

ra_line_sub_t *ra_line_sub_new(const ra_line_opts_t *opts);
/* Add a station: its PUB endpoint and replay endpoint. since: deliver decisions with seq >
 * since (0: its whole history, replayed first). */
int ra_line_sub_add(ra_line_sub_t *self, const char *pub_endpoint, const char *replay_endpoint,
                    uint64_t since);
/* The next event, waiting up to timeout_ms (-1 forever). 1 with *ev filled, 0 on
 * timeout, negative on failure. Release with ra_line_event_clear(). */
int ra_line_sub_next(ra_line_sub_t *self, int timeout_ms, ra_line_event_t *ev);
void ra_line_event_clear(ra_line_event_t *ev);
void ra_line_sub_destroy(ra_line_sub_t **self_p);

/* --- evidence ---------------------------------------------------------------------- */
/* Fetch an evidence file by its SHA-256 (64 lowercase hex) from a station's replay
 * service (request {"op":"evidence"}, docs/protocol.md). opts: CURVE (secret_key_file +
 * server_key) or allow_plain as for the subscriber; NULL: defaults. 0 when the bytes
 * arrived and hash to hex: *bytes (malloc'd, free()) and *len. RV_EFORMAT when the
 * station refused (unknown hash: its reason) or the bytes do not match; RV_EIO when no
 * reply came in timeout_ms. */
int ra_line_fetch_evidence(const char *replay_endpoint, const ra_line_opts_t *opts,
                           const char *station, const char *hex, uint8_t **bytes, size_t *len,
                           int timeout_ms);

/* The same with connections kept between fetches: one context, and one REQ socket per
 * replay endpoint made on first use (closed and made again after a fetch that got no
 * reply). A fetcher belongs to one thread. */
typedef struct ra_line_fetcher ra_line_fetcher_t;
ra_line_fetcher_t *ra_line_fetcher_new(const ra_line_opts_t *opts);
int ra_line_fetcher_get(ra_line_fetcher_t *self, const char *replay_endpoint, const char *station,
                        const char *hex, uint8_t **bytes, size_t *len, int timeout_ms);
void ra_line_fetcher_destroy(ra_line_fetcher_t **self_p);

/* --- keys (CURVE) ---------------------------------------------------------------- */
/* Write a key pair: path (secret and public, Z85, mode 0600) and path.pub (public). */
int ra_line_keys_new(const char *path);
/* The public key (40 Z85 characters) in a key pair file or a .pub file (a line
 * public-key = "...", or a line of the 40 characters alone). */
int ra_line_keys_public(const char *path, char z85[41]);

/* The endpoints the publisher bound, a wildcard port ("tcp://127.0.0.1:*") resolved;
 * replay "" when there is no replay service. */
void ra_line_pub_endpoints(const ra_line_pub_t *self, char *pub, size_t pub_size, char *replay,
                           size_t replay_size);

#ifdef __cplusplus
}
#endif
#endif
