/* line_fixture.h - what the line tests share: a store in a temporary directory, decisions
 * made the real way (an inspection, then ra_store_decide), and a record of what a
 * subscriber delivered (per seq: how often, replayed or live, the bytes), pumped until a
 * condition holds or a generous deadline passes. */
#ifndef LINE_FIXTURE_H
#define LINE_FIXTURE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw; include this header first */
#endif

#include "ra/ra_line.h"
#include "ra/ra_msg.h"
#include "ra/ra_store.h"
#include "rs_test.h"
#include "rv/rv_error.h"

#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static inline double lf_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A new directory, in /dev/shm when there is one (fsync costs nothing there: the tests
 * are about the line, the store's durability has its own tests). */
static inline int lf_tmpdir(char *path, size_t size, const char *tag)
{
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
                               access("/dev/shm", W_OK) == 0
                           ? "/dev/shm"
                           : "/tmp";
    snprintf(path, size, "%s/rs-%s.XXXXXX", base, tag);
    return mkdtemp(path) ? 0 : -1;
}

static inline int lf__rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb;
    (void) flag;
    (void) ftw;
    return remove(path);
}

static inline void lf_rmrf(const char *dir)
{
    if (dir && dir[0])
        nftw(dir, lf__rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* An inspection as reman-inspect prints it (reman.inspection/1), graded to a route. */
static inline json_t *lf_inspection(unsigned i)
{
    static const char *routes[] = {"reuse", "remanufacture", "refurbish", "repair", "scrap"};
    const char *route = routes[i % 5];
    char serial[32];
    snprintf(serial, sizeof serial, "LN-%06u", i);
    return json_pack(
        "{s:s, s:s, s:I, s:s, s:{s:s, s:s, s:s}, s:s, s:i, s:s, s:s, s:s, s:b, s:[], "
        "s:[{s:s, s:s, s:b, s:b, s:f, s:f, s:f, s:s}], s:s, s:{s:f, s:f, s:f}, s:[], "
        "s:s, s:s}",
        "schema", "reman.inspection/1", "file", "line.jpg", "bytes", (json_int_t) 1000,
        "sha256", "0000000000000000000000000000000000000000000000000000000000000000", "code",
        "text", "S:x;P:BRK-DISC-300", "serial", serial, "part_number", "BRK-DISC-300",
        "family", "demo-disc", "family_revision", 1, "model_hash",
        "1111111111111111111111111111111111111111111111111111111111111111", "proposal", route,
        "route", route, "review", 0, "review_why", "reasons", "rule", "crack-critical", "code",
        "CRK-CRIT",
        "fired", 0, "deciding", 0, "value", 0.25 * (i % 7), "limit", 2.0, "guard", 0.2, "en",
        "crack in zone flange", "credit", "full", "value_retained", "fraction", 0.89,
        "material_kg", 8.0, "co2e_kg", 20.0, "findings", "isa", "scalar", "software",
        "reman-station test");
}

/* One decision, the real way: the inspection, then the cell confirms it. 0 and *seq. */
static inline int lf_decide(ra_store_t *store, unsigned i, uint64_t *seq)
{
    json_t *insp = lf_inspection(i);
    int64_t n = 0;
    int rc = insp ? ra_store_inspection(store, insp, &n)
                  : rv_fail(RV_EINVAL, "lf_decide", "json_pack failed");
    json_decref(insp);
    if (rc != RV_OK)
        return rc;
    ra_decision_in_t in;
    memset(&in, 0, sizeof in);
    in.inspection = n;
    in.operator_id = "cell";
    ra_decision_ack_t ack;
    rc = ra_store_decide(store, &in, &ack);
    if (rc == RV_OK && seq)
        *seq = ack.seq;
    return rc;
}

/* count decisions, kicking the publisher after each (pub may be NULL); the last seq */
static inline uint64_t lf_decide_n(ra_store_t *store, ra_line_pub_t *pub, unsigned from,
                                   int count)
{
    uint64_t seq = 0;
    for (int i = 0; i < count; i++) {
        if (lf_decide(store, from + (unsigned) i, &seq) != RV_OK) {
            fprintf(stderr, "lf_decide: %s\n", rv_last_error());
            return 0;
        }
        if (pub)
            ra_line_pub_kick(pub);
    }
    return seq;
}

/* What one subscriber delivered. station: count this station's decisions (NULL: any). */
typedef struct {
    const char *station;
    unsigned char *count; /* per seq */
    unsigned char *replayed;
    char **msgs;
    size_t cap;
    uint64_t first, last;
    size_t decisions, nreplayed, other_decisions;
    int out_of_order, births, deaths, stale, gaps, gaps_filled, gaps_unfilled, rejected,
        heartbeats;
    uint64_t hb_seq, death_seq, birth_seq;
    int64_t birth_session;
    char last_gap[256], last_rejected[256], last_stale[256], birth_key[65];
} lf_seen_t;

static inline void lf_seen_init(lf_seen_t *s, const char *station)
{
    memset(s, 0, sizeof *s);
    s->station = station;
}

static inline void lf_seen_free(lf_seen_t *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->msgs[i]);
    free(s->msgs);
    free(s->count);
    free(s->replayed);
    memset(s, 0, sizeof *s);
}

static inline int lf__grow(lf_seen_t *s, uint64_t seq)
{
    if (seq < s->cap)
        return 0;
    if (seq > 10000000)
        return -1;
    size_t cap = s->cap ? s->cap : 1024;
    while (cap <= seq)
        cap *= 2;
    unsigned char *c = realloc(s->count, cap), *r = realloc(s->replayed, cap);
    if (c)
        s->count = c;
    if (r)
        s->replayed = r;
    char **m = realloc(s->msgs, cap * sizeof *m);
    if (m)
        s->msgs = m;
    if (!c || !r || !m)
        return -1;
    memset(s->count + s->cap, 0, cap - s->cap);
    memset(s->replayed + s->cap, 0, cap - s->cap);
    memset(s->msgs + s->cap, 0, (cap - s->cap) * sizeof *m);
    s->cap = cap;
    return 0;
}

/* Record one event (ev->msg may be taken). */
static inline void lf_take(lf_seen_t *s, ra_line_event_t *ev)
{
    int mine = !s->station || !strcmp(ev->station, s->station);
    switch (ev->kind) {
    case RA_LINE_DECISION:
        if (!mine) {
            s->other_decisions++;
            break;
        }
        if (lf__grow(s, ev->seq) != 0)
            break;
        if (s->decisions && ev->seq != s->last + 1)
            s->out_of_order++;
        if (!s->decisions)
            s->first = ev->seq;
        s->last = ev->seq;
        s->decisions++;
        if (s->count[ev->seq] < 255)
            s->count[ev->seq]++;
        if (ev->replayed) {
            s->replayed[ev->seq] = 1;
            s->nreplayed++;
        }
        if (!s->msgs[ev->seq]) {
            s->msgs[ev->seq] = ev->msg;
            ev->msg = NULL;
        }
        break;
    case RA_LINE_BIRTH:
        if (mine) {
            s->births++;
            s->birth_session = ev->session;
            s->birth_seq = ev->seq;
            json_t *o = ev->msg ? json_loads(ev->msg, 0, NULL) : NULL;
            const char *pk = json_string_value(json_object_get(o, "public_key"));
            snprintf(s->birth_key, sizeof s->birth_key, "%s", pk ? pk : "");
            json_decref(o);
        }
        break;
    case RA_LINE_DEATH:
        if (mine) {
            s->deaths++;
            s->death_seq = ev->seq;
        }
        break;
    case RA_LINE_HEARTBEAT:
        if (mine) {
            s->heartbeats++;
            s->hb_seq = ev->seq;
        }
        break;
    case RA_LINE_STALE:
        if (mine) {
            s->stale++;
            snprintf(s->last_stale, sizeof s->last_stale, "%s", ev->detail);
        }
        break;
    case RA_LINE_GAP:
        if (mine) {
            s->gaps++;
            if (strstr(ev->detail, "filled from replay"))
                s->gaps_filled++;
            if (strstr(ev->detail, "not filled"))
                s->gaps_unfilled++;
            snprintf(s->last_gap, sizeof s->last_gap, "%s", ev->detail);
        }
        break;
    case RA_LINE_REJECTED:
        s->rejected++;
        snprintf(s->last_rejected, sizeof s->last_rejected, "%s", ev->detail);
        break;
    }
}

typedef int (*lf_cond_fn)(const lf_seen_t *s, const void *arg);
typedef void (*lf_hook_fn)(void *arg);

/* Take events until cond holds (1) or timeout_ms pass (0). hook (or NULL) runs between
 * events: a proxy or a fake peer the test serves. */
static inline int lf_pump(ra_line_sub_t *sub, lf_seen_t *s, lf_cond_fn cond, const void *carg,
                          int timeout_ms, lf_hook_fn hook, void *harg)
{
    double end = lf_now_ms() + timeout_ms;
    for (;;) {
        if (cond && cond(s, carg))
            return 1;
        if (lf_now_ms() >= end)
            return 0;
        if (hook)
            hook(harg);
        ra_line_event_t ev;
        int rc = ra_line_sub_next(sub, hook ? 2 : 50, &ev);
        if (rc < 0) {
            fprintf(stderr, "lf_pump: %s\n", rv_last_error());
            return 0;
        }
        if (rc == 1) {
            lf_take(s, &ev);
            ra_line_event_clear(&ev);
        }
    }
}

static inline int lf_until_last(const lf_seen_t *s, const void *arg)
{
    return s->last >= *(const uint64_t *) arg;
}
static inline int lf_until_contact(const lf_seen_t *s, const void *arg)
{
    (void) arg;
    return s->births + s->heartbeats > 0;
}
static inline int lf_until_births(const lf_seen_t *s, const void *arg)
{
    return s->births >= *(const int *) arg;
}
static inline int lf_until_deaths(const lf_seen_t *s, const void *arg)
{
    return s->deaths >= *(const int *) arg;
}
static inline int lf_until_stale(const lf_seen_t *s, const void *arg)
{
    return s->stale >= *(const int *) arg;
}
static inline int lf_until_gaps_filled(const lf_seen_t *s, const void *arg)
{
    return s->gaps_filled >= *(const int *) arg;
}
static inline int lf_until_heartbeats(const lf_seen_t *s, const void *arg)
{
    return s->heartbeats >= *(const int *) arg;
}

/* Take what is still queued: pump until two more heartbeats came (events are in order,
 * so everything before them was taken), so a duplicate behind the last awaited event is
 * seen too. 1 when they came. */
static inline int lf_settle(ra_line_sub_t *sub, lf_seen_t *s, lf_hook_fn hook, void *harg)
{
    int hb = s->heartbeats + 2;
    return lf_pump(sub, s, lf_until_heartbeats, &hb, 10000, hook, harg);
}

/* Every seq in from..to delivered exactly once, byte-equal to the store's message. */
static inline void lf_check_exactly_once(const lf_seen_t *s, ra_store_t *store, uint64_t from,
                                         uint64_t to, const char *what)
{
    int missing = 0, dup = 0, differ = 0, extra = 0;
    for (uint64_t q = from; q <= to; q++) {
        unsigned c = q < s->cap ? s->count[q] : 0;
        if (c == 0)
            missing++;
        if (c > 1)
            dup++;
        char *msg = NULL;
        size_t len = 0;
        if (c && store && ra_store_message(store, q, &msg, &len) == RV_OK &&
            (strlen(s->msgs[q]) != len || memcmp(s->msgs[q], msg, len) != 0))
            differ++;
        free(msg);
    }
    for (uint64_t q = 0; q < s->cap; q++)
        if ((q < from || q > to) && s->count[q])
            extra++;
    RS_CHECKF(missing == 0, "%s: %d of seq %llu..%llu missing", what, missing,
              (unsigned long long) from, (unsigned long long) to);
    RS_CHECKF(dup == 0, "%s: %d delivered twice", what, dup);
    RS_CHECKF(differ == 0, "%s: %d differ from the store's message", what, differ);
    RS_CHECKF(extra == 0, "%s: %d delivered outside %llu..%llu", what, extra,
              (unsigned long long) from, (unsigned long long) to);
    RS_CHECKF(s->out_of_order == 0, "%s: %d out of order", what, s->out_of_order);
}

#endif
