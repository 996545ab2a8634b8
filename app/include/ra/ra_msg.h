/* ra_msg.h - the line protocol's messages (docs/protocol.md), without any socket: build the
 * station's heartbeat, birth and death messages and the replay service's end and error
 * frames; parse and check a replay request and every message read from the line; verify a
 * decision's chain hash and Ed25519 signature.
 *
 * Everything that comes from the network goes through here first. A malformed or hostile
 * message (not JSON, wrong types, a number out of range, a topic that does not match the
 * message, a duplicate member, anything over the size limits) is refused with
 * RV_EFORMAT (RV_ELIMIT for size) and rv_last_error() says why ("ra_msg: since must be a
 * non-negative integer"); nothing here aborts on input.
 *
 * Messages are built with jansson, compact, keys sorted. Numbers that count (session, seq,
 * since, last, chain.n) are JSON integers in 0 .. 2^63-1.
 * Thread-safety: every function is reentrant. */
#ifndef RA_MSG_H
#define RA_MSG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RA_MSG_MAX_ID 64             /* station id, bytes incl. NUL (= RA_STORE_MAX_ID) */
#define RA_MSG_MAX_TOPIC 96          /* "reman.heartbeat." + 63 + NUL fits */
#define RA_MSG_MAX_REQUEST 4096      /* a replay request (= RA_LINE_MAX_REQUEST) */
#define RA_MSG_MAX_MESSAGE (4u << 20) /* any message from the line */
#define RA_MSG_TS_SIZE 32            /* "2025-01-31T12:34:56.789Z" + NUL */
#define RA_MSG_REPLAY_SIZE 256       /* birth: the replay endpoint, incl. NUL */

typedef enum ra_msg_kind {
    RA_MSG_DECISION = 1, /* reman.decision.<station>, schema reman.decision/1 */
    RA_MSG_HEARTBEAT,    /* reman.heartbeat.<station>, reman.heartbeat/1 */
    RA_MSG_BIRTH,        /* reman.birth.<station>, reman.birth/1 */
    RA_MSG_DEATH         /* reman.death.<station>, reman.death/1 */
} ra_msg_kind_t;

/* "decision", "heartbeat", "birth", "death" ("?" otherwise). */
const char *ra_msg_kind_name(ra_msg_kind_t kind);
/* 1 when id is a station id: 1..63 bytes of [A-Za-z0-9_.-]. */
int ra_msg_station_ok(const char *id);
/* "reman.<kind>.<station>" into topic (RA_MSG_MAX_TOPIC is always enough). */
int ra_msg_topic(ra_msg_kind_t kind, const char *station, char *topic, size_t size);

/* The time as RFC 3339 UTC with milliseconds: "2025-01-31T12:34:56.789Z". */
void ra_msg_timestamp(char ts[RA_MSG_TS_SIZE]);                   /* now */
void ra_msg_timestamp_at(int64_t unix_ms, char ts[RA_MSG_TS_SIZE]); /* ms since 1970 */
/* 1 when text is an RFC 3339 date-time (fraction optional; Z or +hh:mm / -hh:mm). */
int ra_msg_timestamp_ok(const char *text);

/* --- building ---------------------------------------------------------------------- */
/* Each returns the message, malloc'd and NUL-terminated, and its length in *len; NULL on
 * a bad argument (named) or no memory. ts: NULL = now. */
char *ra_msg_heartbeat(const char *station, int64_t session, uint64_t seq, const char *ts,
                       size_t *len);
/* The same with "upgrades_waiting": the upgrade requests waiting at the station for a
 * supervisor's answer (ra_store_upgrade_requests), so that every supervisor following
 * the line sees them; waiting < 0 leaves the member out. */
char *ra_msg_heartbeat_waiting(const char *station, int64_t session, uint64_t seq,
                               const char *ts, int64_t waiting, size_t *len);
char *ra_msg_birth(const char *station, int64_t session, uint64_t seq, const char *ts,
                   const char *software, const char *public_key_hex,
                   const char *replay_endpoint, size_t *len);
char *ra_msg_death(const char *station, int64_t session, uint64_t seq, const char *ts,
                   size_t *len);
/* The replay request {"op":"replay","since":N,"station":S} and the reply's last frame:
 * {"last":M,"more":true|false,"op":"end"} or {"op":"error","reason":"..."}. */
char *ra_msg_replay_request(const char *station, uint64_t since, size_t *len);
char *ra_msg_replay_end(uint64_t last, int more, size_t *len);
char *ra_msg_error(const char *reason, size_t *len);

/* --- parsing ----------------------------------------------------------------------- */
/* A replay request for this station: one JSON object, at most RA_MSG_MAX_REQUEST bytes,
 * with "op":"replay", "station" equal to station, "since" an integer 0 .. 2^63-1.
 * Members not named here are ignored (a newer client may send more). 0 and *since, or
 * RV_EFORMAT / RV_ELIMIT with the reason. */
int ra_msg_replay_parse(const void *req, size_t len, const char *station, uint64_t *since);

/* The last frame of a replay reply. */
typedef struct ra_msg_end {
    int error;       /* 1: {"op":"error"}: reason says why */
    uint64_t last;   /* end: the highest seq in the reply (since when none) */
    int more;        /* end: 1 when the station holds decisions after last */
    char reason[256];
} ra_msg_end_t;
/* 0 when msg is an end or an error frame (end filled), RV_EFORMAT otherwise. */
int ra_msg_end_parse(const void *msg, size_t len, ra_msg_end_t *end);

/* --- evidence over the replay endpoint ------------------------------------------- */
#define RA_MSG_EVIDENCE_MAX (64u << 20) /* the largest evidence file served: 64 MiB */
/* The request {"op":"evidence","sha256":"<64 lowercase hex>","station":S}. */
char *ra_msg_evidence_request(const char *station, const char *hex, size_t *len);
/* The reply's first frame {"bytes":N,"op":"evidence","sha256":H}; the raw bytes follow
 * as the second frame. */
char *ra_msg_evidence_reply(const char *hex, uint64_t bytes, size_t *len);
/* A request to the replay endpoint: 1 when its op is not "evidence" (let the replay
 * parser answer it), 0 and hex (65 bytes, lowercase) for a valid evidence request for
 * this station, RV_EFORMAT / RV_ELIMIT with the reason otherwise. */
int ra_msg_evidence_parse(const void *req, size_t len, const char *station, char hex[65]);
/* The first frame of an evidence reply: 0 and *bytes when it is {"op":"evidence"} for
 * hex; RV_EFORMAT otherwise (an {"op":"error"} frame: its reason in rv_last_error()). */
int ra_msg_evidence_reply_parse(const void *msg, size_t len, const char *hex, uint64_t *bytes);

/* What a line message says about itself. */
typedef struct ra_msg_info {
    ra_msg_kind_t kind;
    char station[RA_MSG_MAX_ID];
    int64_t session;
    uint64_t seq;                    /* decision: its seq; others: the station's last seq */
    char ts[RA_MSG_TS_SIZE];
    char public_key[65];             /* birth: the station's Ed25519 key, hex */
    char replay[RA_MSG_REPLAY_SIZE]; /* birth: the replay endpoint ("" when none) */
    int64_t chain_n;                 /* decision: chain.n, its record number */
    int64_t upgrades_waiting;        /* heartbeat: upgrade requests waiting at the station for
                                      * a supervisor; -1 when the message does not say */
} ra_msg_info_t;

/* Parse and check one message as read from the line: topic "reman.<kind>.<station>" and
 * its JSON. The schema must be the topic kind's, the message's station the topic's, the
 * session and seq integers in range (a decision's seq >= 1), ts an RFC 3339 time; a
 * decision must end with its "chain" member (n, prev, hash, sig in hex) and the bytes
 * before it must be the object without it (what the signature covers); a birth must carry
 * a 64-hex public key. 0 and *info, or RV_EFORMAT / RV_ELIMIT with the reason.
 * The signature itself is not checked here: ra_msg_decision_verify() does. */
int ra_msg_parse(const void *topic, size_t topic_len, const void *msg, size_t len,
                 ra_msg_info_t *info);
/* The same for a decision frame of a replay reply (no topic): station must match. */
int ra_msg_parse_decision(const void *msg, size_t len, const char *station,
                          ra_msg_info_t *info);

/* --- verification ------------------------------------------------------------------ */
typedef struct ra_msg_chain {
    int64_t n;      /* the record number in the station's ledger */
    char prev[65];  /* hex */
    char hash[65];
    char sig[129];
} ra_msg_chain_t;

/* Verify a decision as published: signed = msg up to the last ',"chain":' + "}";
 * hash = SHA-256(prev (32 bytes) || signed) must equal chain.hash, and chain.sig must be
 * the Ed25519 signature of hash by public_key_hex (64 hex). prev_hex (or NULL): when
 * given, chain.prev must equal it (the previous record's hash, when the caller knows it).
 * 0 when all hold; RV_EFORMAT naming the first that does not. chain (or NULL) gets the
 * message's chain member whenever it could be read. */
int ra_msg_decision_verify(const void *msg, size_t len, const char *public_key_hex,
                           const char *prev_hex, ra_msg_chain_t *chain);
/* The same check for a message that ra_msg_parse() or ra_msg_parse_decision() has already
 * accepted (so its chain is the last member and the bytes before it are the rest of the
 * object): the chain member is read from the end of the message and the message is not
 * parsed again. The signature still covers every byte before the chain. */
int ra_msg_decision_verify_parsed(const void *msg, size_t len, const char *public_key_hex,
                                  const char *prev_hex, ra_msg_chain_t *chain);

#ifdef __cplusplus
}
#endif
#endif
