/* ra_msg.c - the line protocol's messages: build, parse and check, verify (ra_msg.h).
 *
 * Input from the network is parsed by jansson with duplicate members refused (two
 * "seq" members would let two readers see two different messages); sizes are checked
 * before parsing; every member read is type- and range-checked; a reason never echoes
 * the input's bytes (they may not be text). A decision is checked to be exactly
 * "the signed object + its chain member, last": the bytes before the last ',"chain":'
 * closed with '}' must parse to the message without "chain", so the bytes a verifier
 * hashes are the bytes a reader reads. */
#include "ra/ra_msg.h"

#include "rv/rv_error.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *s_domain = "ra_msg";

static const char *s_kinds[] = {NULL, "decision", "heartbeat", "birth", "death"};
static const char *s_schemas[] = {NULL, "reman.decision/1", "reman.heartbeat/1",
                                  "reman.birth/1", "reman.death/1"};

#define S_INT_MAX ((uint64_t) INT64_MAX)

const char *ra_msg_kind_name(ra_msg_kind_t kind)
{
    return kind >= RA_MSG_DECISION && kind <= RA_MSG_DEATH ? s_kinds[kind] : "?";
}

static int s_station_ok_n(const char *id, size_t n)
{
    if (n < 1 || n >= RA_MSG_MAX_ID)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

int ra_msg_station_ok(const char *id)
{
    return id && s_station_ok_n(id, strnlen(id, RA_MSG_MAX_ID));
}

int ra_msg_topic(ra_msg_kind_t kind, const char *station, char *topic, size_t size)
{
    if (kind < RA_MSG_DECISION || kind > RA_MSG_DEATH)
        return rv_fail(RV_EINVAL, s_domain, "unknown message kind %d", (int) kind);
    if (!ra_msg_station_ok(station))
        return rv_fail(RV_EINVAL, s_domain, "bad station id");
    int n = snprintf(topic, size, "reman.%s.%s", s_kinds[kind], station);
    if (n < 0 || (size_t) n >= size)
        return rv_fail(RV_EINVAL, s_domain, "topic buffer too small");
    return RV_OK;
}

/* --- time ------------------------------------------------------------------------ */
void ra_msg_timestamp_at(int64_t unix_ms, char ts[RA_MSG_TS_SIZE])
{
    int64_t sec = unix_ms / 1000, ms = unix_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        sec -= 1;
    }
    time_t t = (time_t) sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(ts, RA_MSG_TS_SIZE, "1970-01-01T00:00:00.000Z");
        return;
    }
    int year = tm.tm_year + 1900;
    if (year < 0 || year > 9999) /* RFC 3339 has four digits: clamp */
        year = year < 0 ? 0 : 9999;
    /* the modulos only tell the compiler the widths */
    snprintf(ts, RA_MSG_TS_SIZE, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", (unsigned) year % 10000u,
             (unsigned) (tm.tm_mon + 1) % 100u, (unsigned) tm.tm_mday % 100u,
             (unsigned) tm.tm_hour % 100u, (unsigned) tm.tm_min % 100u,
             (unsigned) tm.tm_sec % 100u, (unsigned) ms % 1000u);
}

void ra_msg_timestamp(char ts[RA_MSG_TS_SIZE])
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    ra_msg_timestamp_at((int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000, ts);
}

/* n decimal digits at p, in [lo, hi]; -1 otherwise */
static int s_digits(const char *p, int n, int lo, int hi)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v >= lo && v <= hi ? v : -1;
}

int ra_msg_timestamp_ok(const char *s)
{
    if (!s)
        return 0;
    size_t n = strnlen(s, RA_MSG_TS_SIZE + 16);
    if (n < 20 || n >= RA_MSG_TS_SIZE + 16)
        return 0;
    if (s_digits(s, 4, 0, 9999) < 0 || s[4] != '-' || s_digits(s + 5, 2, 1, 12) < 0 ||
        s[7] != '-' || s_digits(s + 8, 2, 1, 31) < 0 || (s[10] != 'T' && s[10] != 't') ||
        s_digits(s + 11, 2, 0, 23) < 0 || s[13] != ':' || s_digits(s + 14, 2, 0, 59) < 0 ||
        s[16] != ':' || s_digits(s + 17, 2, 0, 60) < 0)
        return 0;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        const char *d = p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == d || p - d > 9)
            return 0;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return 1;
    if ((*p == '+' || *p == '-') && s_digits(p + 1, 2, 0, 23) >= 0 && p[3] == ':' &&
        s_digits(p + 4, 2, 0, 59) >= 0 && p[6] == '\0')
        return 1;
    return 0;
}

/* --- building ------------------------------------------------------------------------ */
static char *s_dump(json_t *obj, size_t *len)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(obj);
    if (!text) {
        rv_fail(RV_ENOMEM, s_domain, "cannot build the message");
        return NULL;
    }
    if (len)
        *len = strlen(text);
    return text;
}

static json_t *s_envelope(ra_msg_kind_t kind, const char *station, int64_t session,
                          uint64_t seq, const char *ts)
{
    if (!ra_msg_station_ok(station)) {
        rv_fail(RV_EINVAL, s_domain, "bad station id");
        return NULL;
    }
    if (session < 0 || seq > S_INT_MAX) {
        rv_fail(RV_EINVAL, s_domain, "session or seq out of range");
        return NULL;
    }
    char now[RA_MSG_TS_SIZE];
    if (!ts) {
        ra_msg_timestamp(now);
        ts = now;
    }
    return json_pack("{s:s, s:s, s:I, s:I, s:s}", "schema", s_schemas[kind], "station", station,
                     "session", (json_int_t) session, "seq", (json_int_t) seq, "ts", ts);
}

char *ra_msg_heartbeat(const char *station, int64_t session, uint64_t seq, const char *ts,
                       size_t *len)
{
    return ra_msg_heartbeat_waiting(station, session, seq, ts, -1, len);
}

char *ra_msg_heartbeat_waiting(const char *station, int64_t session, uint64_t seq,
                               const char *ts, int64_t waiting, size_t *len)
{
    json_t *o = s_envelope(RA_MSG_HEARTBEAT, station, session, seq, ts);
    if (o && waiting >= 0 &&
        json_object_set_new(o, "upgrades_waiting", json_integer((json_int_t) waiting)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o ? s_dump(o, len) : NULL;
}

char *ra_msg_death(const char *station, int64_t session, uint64_t seq, const char *ts,
                   size_t *len)
{
    json_t *o = s_envelope(RA_MSG_DEATH, station, session, seq, ts);
    return o ? s_dump(o, len) : NULL;
}

char *ra_msg_birth(const char *station, int64_t session, uint64_t seq, const char *ts,
                   const char *software, const char *public_key_hex,
                   const char *replay_endpoint, size_t *len)
{
    json_t *o = s_envelope(RA_MSG_BIRTH, station, session, seq, ts);
    if (!o)
        return NULL;
    if (json_object_set_new(o, "software", json_string(software ? software : "")) ||
        json_object_set_new(o, "public_key", json_string(public_key_hex ? public_key_hex : "")) ||
        json_object_set_new(o, "replay", json_string(replay_endpoint ? replay_endpoint : ""))) {
        json_decref(o);
        rv_fail(RV_EINVAL, s_domain, "birth: software, key or endpoint is not UTF-8");
        return NULL;
    }
    return s_dump(o, len);
}

char *ra_msg_replay_request(const char *station, uint64_t since, size_t *len)
{
    if (!ra_msg_station_ok(station) || since > S_INT_MAX) {
        rv_fail(RV_EINVAL, s_domain, "replay request: bad station id or since");
        return NULL;
    }
    return s_dump(json_pack("{s:s, s:s, s:I}", "op", "replay", "station", station, "since",
                            (json_int_t) since),
                  len);
}

char *ra_msg_replay_end(uint64_t last, int more, size_t *len)
{
    if (last > S_INT_MAX) {
        rv_fail(RV_EINVAL, s_domain, "end: last out of range");
        return NULL;
    }
    return s_dump(json_pack("{s:s, s:I, s:b}", "op", "end", "last", (json_int_t) last, "more",
                            more ? 1 : 0),
                  len);
}

char *ra_msg_error(const char *reason, size_t *len)
{
    char clean[256];
    size_t k = 0;
    for (const char *p = reason ? reason : ""; *p && k + 1 < sizeof clean; p++) {
        unsigned char c = (unsigned char) *p;
        clean[k++] = c >= 0x20 && c < 0x7f ? (char) c : '?'; /* printable ASCII only */
    }
    clean[k] = '\0';
    return s_dump(json_pack("{s:s, s:s}", "op", "error", "reason", clean), len);
}

/* --- parsing ------------------------------------------------------------------------- */
/* jansson's verdict on text that would not parse, without echoing the input */
static int s_load(const void *text, size_t len, size_t limit, size_t flags, json_t **out)
{
    *out = NULL;
    if (!text)
        return rv_fail(RV_EFORMAT, s_domain, "no message");
    if (len > limit)
        return rv_fail(RV_ELIMIT, s_domain, "%zu bytes, over the limit of %zu", len, limit);
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES | flags, &err);
    if (!root) {
        switch (json_error_code(&err)) {
        case json_error_numeric_overflow:
            return rv_fail(RV_EFORMAT, s_domain, "a number is out of range");
        case json_error_duplicate_key:
            return rv_fail(RV_EFORMAT, s_domain, "a member appears twice");
        case json_error_null_character:
        case json_error_null_byte_in_key:
            return rv_fail(RV_EFORMAT, s_domain, "not JSON text: a NUL character");
        case json_error_invalid_utf8:
            return rv_fail(RV_EFORMAT, s_domain, "not JSON text: invalid UTF-8");
        default:
            return rv_fail(RV_EFORMAT, s_domain, "not JSON (position %d)", err.position);
        }
    }
    *out = root;
    return RV_OK;
}

/* an integer member in [min, 2^63-1] */
static int s_uint(json_t *obj, const char *key, uint64_t min, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return rv_fail(RV_EFORMAT, s_domain, "\"%s\" is missing", key);
    if (!json_is_integer(v))
        return rv_fail(RV_EFORMAT, s_domain, "\"%s\" must be an integer", key);
    json_int_t i = json_integer_value(v);
    if (i < 0 || (uint64_t) i < min)
        return rv_fail(RV_EFORMAT, s_domain, "\"%s\" must be an integer >= %llu", key,
                       (unsigned long long) min);
    *out = (uint64_t) i;
    return RV_OK;
}

static int s_str(json_t *obj, const char *key, const char **out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return rv_fail(RV_EFORMAT, s_domain, "\"%s\" is missing", key);
    if (!json_is_string(v))
        return rv_fail(RV_EFORMAT, s_domain, "\"%s\" must be a string", key);
    *out = json_string_value(v);
    return RV_OK;
}

static int s_hex_ok(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

static int s_unhex(const char *s, uint8_t *out, size_t n)
{
    size_t got = 0;
    if (!s_hex_ok(s, 2 * n) ||
        sodium_hex2bin(out, n, s, 2 * n, NULL, &got, NULL) != 0 || got != n)
        return -1;
    return 0;
}

int ra_msg_replay_parse(const void *req, size_t len, const char *station, uint64_t *since)
{
    json_t *root = NULL;
    int rc = s_load(req, len, RA_MSG_MAX_REQUEST, 0, &root);
    if (rc != RV_OK)
        return rc;
    const char *op = NULL, *st = NULL;
    if (!json_is_object(root))
        rc = rv_fail(RV_EFORMAT, s_domain, "a request must be a JSON object");
    else if ((rc = s_str(root, "op", &op)) != RV_OK)
        ;
    else if (strcmp(op, "replay") != 0)
        rc = rv_fail(RV_EFORMAT, s_domain, "unknown op (only \"replay\" is served)");
    else if ((rc = s_str(root, "station", &st)) != RV_OK)
        ;
    else if (!station || strcmp(st, station) != 0)
        rc = rv_fail(RV_EFORMAT, s_domain, "this is the replay service of station %s",
                     station ? station : "?");
    else if ((rc = s_uint(root, "since", 0, since)) != RV_OK)
        rc = rv_fail(RV_EFORMAT, s_domain, "\"since\" must be an integer 0 .. 2^63-1");
    json_decref(root);
    return rc;
}

static int s_hex_lower(const char *s)
{
    if (!s || strlen(s) != 64)
        return 0;
    for (size_t i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

char *ra_msg_evidence_request(const char *station, const char *hex, size_t *len)
{
    if (!ra_msg_station_ok(station) || !s_hex_lower(hex)) {
        rv_fail(RV_EINVAL, s_domain, "evidence request: bad station id or hash (64 lowercase hex)");
        return NULL;
    }
    return s_dump(json_pack("{s:s, s:s, s:s}", "op", "evidence", "station", station, "sha256",
                            hex),
                  len);
}

char *ra_msg_evidence_reply(const char *hex, uint64_t bytes, size_t *len)
{
    if (!s_hex_lower(hex) || bytes > RA_MSG_EVIDENCE_MAX) {
        rv_fail(RV_EINVAL, s_domain, "evidence reply: bad hash or size");
        return NULL;
    }
    return s_dump(json_pack("{s:s, s:s, s:I}", "op", "evidence", "sha256", hex, "bytes",
                            (json_int_t) bytes),
                  len);
}

int ra_msg_evidence_parse(const void *req, size_t len, const char *station, char hex[65])
{
    json_t *root = NULL;
    int rc = s_load(req, len, RA_MSG_MAX_REQUEST, 0, &root);
    if (rc != RV_OK)
        return rc;
    const char *op = NULL, *st = NULL, *h = NULL;
    json_t *jop = json_is_object(root) ? json_object_get(root, "op") : NULL;
    if (!json_is_string(jop) || strcmp(json_string_value(jop), "evidence") != 0) {
        json_decref(root);
        return 1; /* not ours */
    }
    if ((rc = s_str(root, "op", &op)) != RV_OK)
        ;
    else if ((rc = s_str(root, "station", &st)) != RV_OK)
        ;
    else if (!station || strcmp(st, station) != 0)
        rc = rv_fail(RV_EFORMAT, s_domain, "this is the replay service of station %s",
                     station ? station : "?");
    else if ((rc = s_str(root, "sha256", &h)) != RV_OK)
        ;
    else if (!s_hex_lower(h))
        rc = rv_fail(RV_EFORMAT, s_domain, "\"sha256\" must be 64 lowercase hex digits");
    else
        memcpy(hex, h, 65);
    json_decref(root);
    return rc;
}

int ra_msg_evidence_reply_parse(const void *msg, size_t len, const char *hex, uint64_t *bytes)
{
    json_t *root = NULL;
    int rc = s_load(msg, len, RA_MSG_MAX_REQUEST, 0, &root);
    if (rc != RV_OK)
        return rc;
    const char *op = NULL, *h = NULL, *reason = NULL;
    if (!json_is_object(root))
        rc = rv_fail(RV_EFORMAT, s_domain, "an evidence reply must be a JSON object");
    else if ((rc = s_str(root, "op", &op)) != RV_OK)
        ;
    else if (!strcmp(op, "error")) {
        if (s_str(root, "reason", &reason) != RV_OK)
            reason = "(no reason given)";
        char clean[200];
        size_t k = 0;
        for (const char *p = reason; *p && k + 1 < sizeof clean; p++)
            clean[k++] = (unsigned char) *p >= 0x20 && (unsigned char) *p < 0x7f ? *p : '?';
        clean[k] = '\0';
        rc = rv_fail(RV_EFORMAT, s_domain, "the station refused: %s", clean);
    } else if (strcmp(op, "evidence") != 0)
        rc = rv_fail(RV_EFORMAT, s_domain, "unexpected op in an evidence reply");
    else if ((rc = s_str(root, "sha256", &h)) != RV_OK)
        ;
    else if (!hex || strcmp(h, hex) != 0)
        rc = rv_fail(RV_EFORMAT, s_domain, "the reply names another hash");
    else if ((rc = s_uint(root, "bytes", 0, bytes)) != RV_OK)
        ;
    else if (*bytes > RA_MSG_EVIDENCE_MAX)
        rc = rv_fail(RV_ELIMIT, s_domain, "evidence of %llu bytes, over 64 MiB",
                     (unsigned long long) *bytes);
    json_decref(root);
    return rc;
}

int ra_msg_end_parse(const void *msg, size_t len, ra_msg_end_t *end)
{
    memset(end, 0, sizeof *end);
    json_t *root = NULL;
    int rc = s_load(msg, len, RA_MSG_MAX_REQUEST, 0, &root);
    if (rc != RV_OK)
        return rc;
    const char *op = NULL, *reason = NULL;
    if (!json_is_object(root))
        rc = rv_fail(RV_EFORMAT, s_domain, "a reply's last frame must be a JSON object");
    else if ((rc = s_str(root, "op", &op)) != RV_OK)
        ;
    else if (!strcmp(op, "error")) {
        end->error = 1;
        if (s_str(root, "reason", &reason) != RV_OK)
            reason = "(no reason given)";
        size_t k = 0; /* printable ASCII only: it may end up on a terminal */
        for (const char *p = reason; *p && k + 1 < sizeof end->reason; p++)
            end->reason[k++] = (unsigned char) *p >= 0x20 && (unsigned char) *p < 0x7f ? *p : '?';
        end->reason[k] = '\0';
        rc = RV_OK;
    } else if (!strcmp(op, "end")) {
        json_t *more = json_object_get(root, "more");
        if ((rc = s_uint(root, "last", 0, &end->last)) != RV_OK)
            ;
        else if (!json_is_boolean(more))
            rc = rv_fail(RV_EFORMAT, s_domain, "\"more\" must be true or false");
        else
            end->more = json_is_true(more);
    } else {
        rc = rv_fail(RV_EFORMAT, s_domain, "unknown op in a replay reply");
    }
    json_decref(root);
    return rc;
}

/* memrchr for a needle */
static const char *s_last(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    if (n < k)
        return NULL;
    for (size_t i = n - k + 1; i-- > 0;)
        if (hay[i] == needle[0] && !memcmp(hay + i, needle, k))
            return hay + i;
    return NULL;
}

/* The decision's chain member, and where it starts: checked to be the last member, and the
 * bytes before it + '}' to be the rest of the object. */
/* In a JSON text that parses as an object: the comma before the last member of the
 * top-level object (NULL when it has one member or none). */
static const char *s_last_top_member(const char *t, size_t n)
{
    const char *last = NULL;
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (in_str) {
            if (c == '\\')
                i++; /* the escaped character */
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"')
            in_str = 1;
        else if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']')
            depth--;
        else if (c == ',' && depth == 1)
            last = t + i;
    }
    return last;
}

static int s_chain(const char *text, size_t len, json_t *root, ra_msg_chain_t *chain,
                   size_t *cut)
{
    static const char key[] = ",\"chain\":";
    json_t *c = json_object_get(root, "chain");
    if (!c)
        return rv_fail(RV_EFORMAT, s_domain, "\"chain\" is missing");
    if (!json_is_object(c) || json_object_size(c) != 4)
        return rv_fail(RV_EFORMAT, s_domain, "\"chain\" must be {n, prev, hash, sig}");
    uint64_t n = 0;
    const char *prev = NULL, *hash = NULL, *sig = NULL;
    int rc;
    if ((rc = s_uint(c, "n", 1, &n)) != RV_OK || (rc = s_str(c, "prev", &prev)) != RV_OK ||
        (rc = s_str(c, "hash", &hash)) != RV_OK || (rc = s_str(c, "sig", &sig)) != RV_OK)
        return rv_fail(RV_EFORMAT, s_domain, "chain: %s", rv_last_error());
    if (!s_hex_ok(prev, 64) || !s_hex_ok(hash, 64) || !s_hex_ok(sig, 128))
        return rv_fail(RV_EFORMAT, s_domain, "chain: prev, hash (64) and sig (128) must be hex");
    /* the chain must be the last member of the top-level object: then the bytes before
     * it, closed, are the rest of the object (what the signature covers). The text has
     * been parsed (root), so a scan of its structure says where that member starts. */
    const char *at = s_last_top_member(text, len);
    if (!at || len < 2 || text[len - 1] != '}' || (size_t) (text + len - at) < sizeof key ||
        memcmp(at, key, sizeof key - 1) != 0)
        return rv_fail(RV_EFORMAT, s_domain, "\"chain\" must be the last member");
    size_t pos = (size_t) (at - text);
    if (chain) {
        chain->n = (int64_t) n;
        snprintf(chain->prev, sizeof chain->prev, "%s", prev);
        snprintf(chain->hash, sizeof chain->hash, "%s", hash);
        snprintf(chain->sig, sizeof chain->sig, "%s", sig);
    }
    *cut = pos;
    return RV_OK;
}

/* the members every line message has; kind's own members */
static int s_check(json_t *root, const char *text, size_t len, ra_msg_kind_t kind,
                   const char *station, ra_msg_info_t *info)
{
    const char *schema = NULL, *st = NULL, *ts = NULL;
    uint64_t session = 0;
    int rc;
    if (!json_is_object(root))
        return rv_fail(RV_EFORMAT, s_domain, "a message must be a JSON object");
    if ((rc = s_str(root, "schema", &schema)) != RV_OK)
        return rc;
    if (strcmp(schema, s_schemas[kind]) != 0)
        return rv_fail(RV_EFORMAT, s_domain, "schema must be %s on a %s topic", s_schemas[kind],
                       s_kinds[kind]);
    if ((rc = s_str(root, "station", &st)) != RV_OK)
        return rc;
    if (strcmp(st, station) != 0)
        return rv_fail(RV_EFORMAT, s_domain, "\"station\" is not the topic's station %s",
                       station);
    if ((rc = s_uint(root, "session", 0, &session)) != RV_OK ||
        (rc = s_uint(root, "seq", kind == RA_MSG_DECISION ? 1 : 0, &info->seq)) != RV_OK ||
        (rc = s_str(root, "ts", &ts)) != RV_OK)
        return rc;
    if (!ra_msg_timestamp_ok(ts))
        return rv_fail(RV_EFORMAT, s_domain, "\"ts\" must be an RFC 3339 time");
    info->kind = kind;
    snprintf(info->station, sizeof info->station, "%s", station);
    info->session = (int64_t) session;
    info->upgrades_waiting = -1;
    if (kind == RA_MSG_HEARTBEAT && json_object_get(root, "upgrades_waiting")) {
        uint64_t w = 0;
        if ((rc = s_uint(root, "upgrades_waiting", 0, &w)) != RV_OK)
            return rc;
        info->upgrades_waiting = (int64_t) w;
    }
    snprintf(info->ts, sizeof info->ts, "%s", ts);
    if (kind == RA_MSG_BIRTH) {
        const char *pk = NULL, *replay = NULL, *software = NULL;
        if ((rc = s_str(root, "public_key", &pk)) != RV_OK ||
            (rc = s_str(root, "replay", &replay)) != RV_OK ||
            (rc = s_str(root, "software", &software)) != RV_OK)
            return rc;
        if (!s_hex_ok(pk, 64))
            return rv_fail(RV_EFORMAT, s_domain, "\"public_key\" must be 64 hex characters");
        if (strlen(replay) >= sizeof info->replay)
            return rv_fail(RV_EFORMAT, s_domain, "\"replay\" is too long");
        snprintf(info->public_key, sizeof info->public_key, "%s", pk);
        snprintf(info->replay, sizeof info->replay, "%s", replay);
    } else if (kind == RA_MSG_DECISION) {
        const char *id = NULL;
        if ((rc = s_str(root, "id", &id)) != RV_OK)
            return rc;
        ra_msg_chain_t chain;
        size_t cut = 0;
        if ((rc = s_chain(text, len, root, &chain, &cut)) != RV_OK)
            return rc;
        info->chain_n = chain.n;
    }
    return RV_OK;
}

static int s_parse(const void *msg, size_t len, ra_msg_kind_t kind, const char *station,
                   ra_msg_info_t *info)
{
    memset(info, 0, sizeof *info);
    json_t *root = NULL;
    int rc = s_load(msg, len, RA_MSG_MAX_MESSAGE, 0, &root);
    if (rc == RV_OK)
        rc = s_check(root, msg, len, kind, station, info);
    json_decref(root);
    if (rc != RV_OK)
        memset(info, 0, sizeof *info);
    return rc;
}

int ra_msg_parse(const void *topic, size_t topic_len, const void *msg, size_t len,
                 ra_msg_info_t *info)
{
    memset(info, 0, sizeof *info);
    const char *t = topic;
    static const char prefix[] = "reman.";
    size_t np = sizeof prefix - 1;
    if (!t || topic_len <= np || topic_len >= RA_MSG_MAX_TOPIC || memchr(t, '\0', topic_len) ||
        memcmp(t, prefix, np) != 0)
        return rv_fail(RV_EFORMAT, s_domain, "topic must be reman.<kind>.<station>");
    const char *k = t + np, *end = t + topic_len;
    const char *dot = memchr(k, '.', (size_t) (end - k));
    if (!dot)
        return rv_fail(RV_EFORMAT, s_domain, "topic must be reman.<kind>.<station>");
    ra_msg_kind_t kind = 0;
    for (int i = RA_MSG_DECISION; i <= RA_MSG_DEATH; i++)
        if ((size_t) (dot - k) == strlen(s_kinds[i]) && !memcmp(k, s_kinds[i], (size_t) (dot - k)))
            kind = (ra_msg_kind_t) i;
    if (!kind)
        return rv_fail(RV_EFORMAT, s_domain, "unknown topic kind");
    char station[RA_MSG_MAX_ID];
    size_t ns = (size_t) (end - dot - 1);
    if (!s_station_ok_n(dot + 1, ns))
        return rv_fail(RV_EFORMAT, s_domain, "topic: bad station id");
    memcpy(station, dot + 1, ns);
    station[ns] = '\0';
    return s_parse(msg, len, kind, station, info);
}

int ra_msg_parse_decision(const void *msg, size_t len, const char *station,
                          ra_msg_info_t *info)
{
    memset(info, 0, sizeof *info);
    if (!ra_msg_station_ok(station))
        return rv_fail(RV_EINVAL, s_domain, "bad station id");
    return s_parse(msg, len, RA_MSG_DECISION, station, info);
}

/* --- verification ------------------------------------------------------------------ */
/* The hash and signature of a decision whose chain member c starts at cut. */
static int s_verify_chain(const void *msg, size_t cut, const ra_msg_chain_t *c,
                          const uint8_t pk[crypto_sign_PUBLICKEYBYTES], const char *prev_hex)
{
    uint8_t prev[32], want[32], got[32], sig[64];
    if (s_unhex(c->prev, prev, sizeof prev) != 0 || s_unhex(c->hash, want, sizeof want) != 0 ||
        s_unhex(c->sig, sig, sizeof sig) != 0)
        return rv_fail(RV_EFORMAT, s_domain, "chain: bad hex");
    if (prev_hex && strcasecmp(prev_hex, c->prev) != 0)
        return rv_fail(RV_EFORMAT, s_domain,
                       "chain broken: record %lld follows %.16s..., not the previous %.16s...",
                       (long long) c->n, c->prev, prev_hex);
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, prev, sizeof prev);
    crypto_hash_sha256_update(&st, (const unsigned char *) msg, cut);
    crypto_hash_sha256_update(&st, (const unsigned char *) "}", 1);
    crypto_hash_sha256_final(&st, got);
    if (sodium_memcmp(got, want, sizeof got) != 0)
        return rv_fail(RV_EFORMAT, s_domain,
                       "hash does not match the message (record %lld): altered", (long long) c->n);
    if (crypto_sign_verify_detached(sig, want, sizeof want, pk) != 0)
        return rv_fail(RV_EFORMAT, s_domain,
                       "signature does not verify with the station key (record %lld)",
                       (long long) c->n);
    return RV_OK;
}

int ra_msg_decision_verify(const void *msg, size_t len, const char *public_key_hex,
                           const char *prev_hex, ra_msg_chain_t *chain)
{
    ra_msg_chain_t c;
    memset(&c, 0, sizeof c);
    if (chain)
        memset(chain, 0, sizeof *chain);
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    if (s_unhex(public_key_hex, pk, sizeof pk) != 0)
        return rv_fail(RV_EINVAL, s_domain, "the public key must be 64 hex characters");
    if (sodium_init() < 0)
        return rv_fail(RV_EBACKEND, s_domain, "libsodium cannot start");
    json_t *root = NULL;
    size_t cut = 0;
    int rc = s_load(msg, len, RA_MSG_MAX_MESSAGE, 0, &root);
    if (rc == RV_OK && !json_is_object(root))
        rc = rv_fail(RV_EFORMAT, s_domain, "a decision must be a JSON object");
    if (rc == RV_OK)
        rc = s_chain(msg, len, root, &c, &cut);
    json_decref(root);
    if (rc != RV_OK)
        return rc;
    if (chain)
        *chain = c;
    return s_verify_chain(msg, cut, &c, pk, prev_hex);
}

int ra_msg_decision_verify_parsed(const void *msg, size_t len, const char *public_key_hex,
                                  const char *prev_hex, ra_msg_chain_t *chain)
{
    static const char key[] = ",\"chain\":";
    ra_msg_chain_t c;
    memset(&c, 0, sizeof c);
    if (chain)
        memset(chain, 0, sizeof *chain);
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    if (s_unhex(public_key_hex, pk, sizeof pk) != 0)
        return rv_fail(RV_EINVAL, s_domain, "the public key must be 64 hex characters");
    if (sodium_init() < 0)
        return rv_fail(RV_EBACKEND, s_domain, "libsodium cannot start");
    const char *text = msg;
    const char *at = text ? s_last(text, len, key) : NULL;
    if (!at || len < 2 || text[len - 1] != '}')
        return rv_fail(RV_EFORMAT, s_domain, "\"chain\" must be the last member");
    size_t cut = (size_t) (at - text), start = cut + sizeof key - 1;
    json_error_t err;
    json_t *tail = json_loadb(text + start, len - 1 - start,
                              JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
    uint64_t n = 0;
    const char *prev = NULL, *hash = NULL, *sig = NULL;
    int rc = json_is_object(tail) && json_object_size(tail) == 4 ? RV_OK
             : rv_fail(RV_EFORMAT, s_domain, "\"chain\" must be {n, prev, hash, sig}");
    if (rc == RV_OK &&
        ((rc = s_uint(tail, "n", 1, &n)) != RV_OK || (rc = s_str(tail, "prev", &prev)) != RV_OK ||
         (rc = s_str(tail, "hash", &hash)) != RV_OK || (rc = s_str(tail, "sig", &sig)) != RV_OK))
        rc = rv_fail(RV_EFORMAT, s_domain, "chain: %s", rv_last_error());
    if (rc == RV_OK && (!s_hex_ok(prev, 64) || !s_hex_ok(hash, 64) || !s_hex_ok(sig, 128)))
        rc = rv_fail(RV_EFORMAT, s_domain, "chain: prev, hash (64) and sig (128) must be hex");
    if (rc == RV_OK) {
        c.n = (int64_t) n;
        snprintf(c.prev, sizeof c.prev, "%s", prev);
        snprintf(c.hash, sizeof c.hash, "%s", hash);
        snprintf(c.sig, sizeof c.sig, "%s", sig);
    }
    json_decref(tail);
    if (rc != RV_OK)
        return rc;
    if (chain)
        *chain = c;
    return s_verify_chain(msg, cut, &c, pk, prev_hex);
}
