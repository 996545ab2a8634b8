/* reman_collector.c - reman-collector: every station's decisions into the site's
 * PostgreSQL database (docs/site.md).
 *
 *   reman-collector --db CONNINFO --evidence DIR  PUB --replay REPLAY  [PUB --replay REPLAY ...]
 *                   [--status-every S] [--count N] [--timeout S] [--allow-plain]
 *
 * Subscribes to each station (ra_line_sub: in seq order, exactly once, gaps filled from
 * the station's replay service), verifies every decision's signature with the station's
 * key (from its birth; the key the site first recorded wins: a station whose key changes
 * is refused), and inserts decisions in batches (one transaction each, up to 2000, by
 * binary COPY and one INSERT ... ON CONFLICT (station, seq) DO NOTHING); a batch is sent
 * and the server works on it while this thread reads and verifies the next. A decision
 * that does not verify goes to the rejected table, never to decisions, and so does a signed
 * one the site could not store (ra_site_decision_check: it would fail its whole batch,
 * again and again); the site puts a decision whose id another holds in rejected itself
 * (ra_site_insert). Evidence cited by
 * the decisions is fetched by its own thread (with its own connection to the site, so
 * that files never hold decisions back): what the site wants (evidence_wanted) from the
 * stations this collector reaches, by hash from each station's replay service over a
 * connection kept open, checked against its hash and kept in DIR/ab/<sha256>; a file that
 * cannot be fetched is tried again later, backing off, without holding back the rest.
 *
 * When PostgreSQL is down the decisions wait in memory (at most 100000; beyond that the
 * collector stops reading and lets the stations keep them) and the connection is retried
 * with backoff (0.25 s doubling to 5 s). Nothing is acknowledged: on restart the collector
 * resumes each station from the highest seq the site holds.
 *
 * Health: a line on stderr every --status-every seconds (default 10; 0: never) and the
 * health view in the database. Ends on SIGTERM/SIGINT (the batch in hand is written
 * first), after --count decisions written, or after --timeout seconds without one.
 * Exit: 0; 1 the database could not be reached at start; 2 usage; 3 cannot subscribe. */
#include "ra/ra_line.h"
#include "ra/ra_msg.h"
#include "ra/ra_site.h"
#include "rv/rv_error.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_DB = 1, EXIT_USAGE = 2, EXIT_SETUP = 3 };
#define MAX_STATIONS 256
#define MAX_PAIRS 256
#define BATCH 500        /* decisions read between two looks at the site */
#define BATCH_MAX 2000   /* decisions per insert (transaction) when more wait */
#define MAX_BUFFERED 100000
#define EVIDENCE_PER_ROUND 64
#define MAX_LANES 8      /* insert connections */

typedef struct {
    char *msg;
    size_t len;
    uint64_t seq;
    int station; /* index */
} s_item_t;

typedef struct {
    char name[RA_MSG_MAX_ID];
    char key[65];      /* the key decisions are verified with ("" unknown yet) */
    char birth_key[65]; /* the key the station's last birth announced */
    int key_loaded;    /* the site was asked */
    int key_changed;   /* a birth announced another key: refused */
    char replay[RA_MSG_REPLAY_SIZE];
    uint64_t announced, site_seq;
    int stale;
    s_item_t *held; /* decisions waiting for the key */
    size_t nheld, capheld;
    uint64_t written, rejected;
    int seen_dirty; /* station row to update */
    char status[16];
    int64_t session;
} s_station_t;

/* The evidence worker: its own thread and site connection, so fetching files never holds
 * decisions back. The main thread tells it which stations it can reach. */
typedef struct {
    pthread_t th;
    int started;
    pthread_mutex_t mu;
    const char *conninfo, *evdir;
    ra_line_opts_t opts;
    struct {
        char name[RA_MSG_MAX_ID];
        char replay[RA_MSG_REPLAY_SIZE];
    } st[MAX_STATIONS]; /* under mu */
    int nst;
    atomic_int stop;
    atomic_ullong fetched, failed;
    atomic_llong outstanding;
} s_evw_t;

/* One insert connection and the decisions buffered for it: station i's decisions always go
 * to lane i mod nlanes, so each station's stream stays in seq order; the lanes' inserts run
 * on the server side by side (one backend each). */
typedef struct {
    ra_site_t *site;
    s_item_t *buf; /* verified, to insert */
    size_t nbuf, capbuf;
    size_t inflight; /* decisions at the front of buf sent to the site, not yet ended */
    ra_site_decision_t *rows; /* BATCH_MAX */
} s_lane_t;

typedef struct {
    ra_site_t *site; /* stations, refusals, resume points (never an insert in flight) */
    s_lane_t lane[MAX_LANES];
    int nlanes;
    int site_up;
    double retry_at, backoff;
    const char *conninfo, *evdir;
    ra_line_opts_t opts;
    const char *pubs[MAX_PAIRS], *replays[MAX_PAIRS];
    int npairs;
    s_station_t st[MAX_STATIONS];
    int nst;
    s_item_t *rej; /* to record in rejected (msg may be NULL) */
    char (*rej_reason)[200];
    size_t nrej, caprej;
    uint64_t written, rejected_total;
    s_evw_t ev;
} s_ctx_t;

static volatile sig_atomic_t s_stop;
static void s_on_signal(int sig)
{
    (void) sig;
    s_stop = 1;
}

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: reman-collector --db CONNINFO --evidence DIR PUB --replay REPLAY [PUB --replay"
            " REPLAY ...]\n"
            "                       [--status-every S] [--count N] [--timeout S] [--allow-plain]\n"
            "                       [--connections N]\n"
            "                       [--key FILE --server-key Z85]\n"
            "Collects every station's decisions into the site's PostgreSQL database (libpq\n"
            "conninfo, e.g. \"host=127.0.0.1 dbname=site user=reman\"), verified, exactly once,\n"
            "and their evidence into DIR/ab/<sha256>. --connections N: insert connections\n"
            "(default 2; station i's decisions go by connection i mod N). See docs/site.md.\n");
}

static s_station_t *s_station(s_ctx_t *c, const char *name)
{
    for (int i = 0; i < c->nst; i++)
        if (!strcmp(c->st[i].name, name))
            return &c->st[i];
    if (c->nst == MAX_STATIONS)
        return NULL;
    s_station_t *st = &c->st[c->nst++];
    memset(st, 0, sizeof *st);
    snprintf(st->name, sizeof st->name, "%s", name);
    snprintf(st->status, sizeof st->status, "up");
    st->session = -1;
    return st;
}

static int s_push(s_item_t **arr, size_t *n, size_t *cap, s_item_t it)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 1024;
        s_item_t *p = realloc(*arr, nc * sizeof *p);
        if (!p)
            return -1;
        *arr = p;
        *cap = nc;
    }
    (*arr)[(*n)++] = it;
    return 0;
}

static void s_reject(s_ctx_t *c, s_station_t *st, uint64_t seq, char *msg, size_t len,
                     const char *why)
{
    if (c->nrej == c->caprej) {
        size_t nc = c->caprej ? c->caprej * 2 : 256;
        s_item_t *p = realloc(c->rej, nc * sizeof *p);
        if (p)
            c->rej = p;
        char(*r)[200] = realloc(c->rej_reason, nc * sizeof *r);
        if (r)
            c->rej_reason = r;
        if (!p || !r) {
            free(msg);
            return;
        }
        c->caprej = nc;
    }
    c->rej[c->nrej] = (s_item_t){msg, len, seq, (int) (st - c->st)};
    snprintf(c->rej_reason[c->nrej], 200, "%s", why);
    c->nrej++;
    st->rejected++;
    c->rejected_total++;
    fprintf(stderr, "reman-collector: REFUSED %s seq %" PRIu64 ": %s\n", st->name, seq, why);
}

/* A decision whose station key is known: verify, then buffer or reject. */
static void s_take(s_ctx_t *c, s_station_t *st, s_item_t it)
{
    char why[300];
    if (st->key_changed) {
        snprintf(why, sizeof why,
                 "the station's birth announced a key other than the one the site holds; "
                 "signature checked with the site's key: %s",
                 ra_msg_decision_verify_parsed(it.msg, it.len, st->key, NULL, NULL) == RV_OK
                     ? "verifies"
                     : rv_last_error());
        s_reject(c, st, it.seq, it.msg, it.len, why);
        return;
    }
    /* the subscriber has parsed and checked the message (ra_msg_parse): only the chain
     * member is read again */
    if (ra_msg_decision_verify_parsed(it.msg, it.len, st->key, NULL, NULL) != RV_OK) {
        snprintf(why, sizeof why, "signature does not verify: %s", rv_last_error());
        s_reject(c, st, it.seq, it.msg, it.len, why);
        return;
    }
    /* a message the site cannot store would fail its whole batch, and the batch would be
     * sent again for ever: it goes to rejected, and the lane moves on */
    ra_site_decision_t row = {st->name, it.seq, it.msg, it.len};
    if (ra_site_decision_check(&row) != RV_OK) {
        snprintf(why, sizeof why, "signed, but the site cannot store it: %s", rv_last_error());
        s_reject(c, st, it.seq, it.msg, it.len, why);
        return;
    }
    if (it.seq <= st->site_seq) { /* already held by the site */
        free(it.msg);
        return;
    }
    s_lane_t *l = &c->lane[it.station % c->nlanes];
    if (s_push(&l->buf, &l->nbuf, &l->capbuf, it) != 0)
        free(it.msg);
}

/* The site's view of a station, once (needs the database). */
static void s_load_station(s_ctx_t *c, s_station_t *st)
{
    if (st->key_loaded || !c->site_up)
        return;
    int found = 0;
    char key[65];
    uint64_t max = 0;
    if (ra_site_station(c->site, st->name, &found, key, &max) != RV_OK)
        return;
    st->key_loaded = 1;
    st->site_seq = max;
    if (found && key[0] && !st->key[0])
        snprintf(st->key, sizeof st->key, "%s", key);
}

static void s_release_held(s_ctx_t *c, s_station_t *st)
{
    if (!st->key[0])
        return;
    for (size_t i = 0; i < st->nheld; i++)
        s_take(c, st, st->held[i]);
    st->nheld = 0;
}

/* The key to verify with: the one the site holds, else (first sight) the birth's. A
 * birth announcing another key than the site's makes the station refused. */
static void s_resolve_key(s_ctx_t *c, s_station_t *st)
{
    if (!st->key_loaded)
        return;
    if (!st->key[0] && st->birth_key[0])
        snprintf(st->key, sizeof st->key, "%s", st->birth_key);
    else if (st->key[0] && st->birth_key[0] && strcmp(st->key, st->birth_key) != 0 &&
             !st->key_changed) {
        st->key_changed = 1;
        snprintf(st->status, sizeof st->status, "key-changed");
        st->seen_dirty = st->seen_dirty ? st->seen_dirty : 1;
        fprintf(stderr,
                "reman-collector: REFUSED station %s: its birth announces key %.16s..., the "
                "site holds %.16s...: its decisions go to rejected\n",
                st->name, st->birth_key, st->key);
    }
    s_release_held(c, st);
}

static void s_event(s_ctx_t *c, ra_line_event_t *ev)
{
    s_station_t *st = ev->station[0] ? s_station(c, ev->station) : NULL;
    if (!st) {
        if (ev->kind == RA_LINE_REJECTED)
            fprintf(stderr, "reman-collector: rejected from the line: %s\n", ev->detail);
        return;
    }
    if (!st->key_loaded) {
        s_load_station(c, st);
        s_resolve_key(c, st);
    }
    switch (ev->kind) {
    case RA_LINE_DECISION: {
        s_item_t it = {ev->msg, ev->len, ev->seq, (int) (st - c->st)};
        ev->msg = NULL; /* ours now */
        st->stale = 0;
        if (ev->seq > st->announced)
            st->announced = ev->seq;
        if (!st->key[0] || !st->key_loaded) {
            if (s_push(&st->held, &st->nheld, &st->capheld, it) != 0)
                free(it.msg);
        } else {
            s_take(c, st, it);
        }
        break;
    }
    case RA_LINE_BIRTH: {
        char topic[RA_MSG_MAX_TOPIC];
        ra_msg_info_t info;
        ra_msg_topic(RA_MSG_BIRTH, st->name, topic, sizeof topic);
        if (ra_msg_parse(topic, strlen(topic), ev->msg, ev->len, &info) != RV_OK)
            break;
        snprintf(st->replay, sizeof st->replay, "%s", info.replay);
        st->session = info.session;
        if (info.seq > st->announced)
            st->announced = info.seq;
        snprintf(st->birth_key, sizeof st->birth_key, "%s", info.public_key);
        s_resolve_key(c, st);
        snprintf(st->status, sizeof st->status, "%s", st->key_changed ? "key-changed" : "up");
        st->seen_dirty = 2; /* with key and endpoints */
        st->stale = 0;
        break;
    }
    case RA_LINE_HEARTBEAT:
        if (ev->seq > st->announced)
            st->announced = ev->seq;
        st->stale = 0;
        if (!st->key_changed)
            snprintf(st->status, sizeof st->status, "up");
        if (!st->seen_dirty)
            st->seen_dirty = 1;
        break;
    case RA_LINE_STALE:
        st->stale = 1;
        if (!st->key_changed)
            snprintf(st->status, sizeof st->status, "stale");
        st->seen_dirty = st->seen_dirty ? st->seen_dirty : 1;
        fprintf(stderr, "reman-collector: station %s stale: %s\n", st->name, ev->detail);
        break;
    case RA_LINE_DEATH:
        if (!st->key_changed)
            snprintf(st->status, sizeof st->status, "down");
        st->seen_dirty = st->seen_dirty ? st->seen_dirty : 1;
        break;
    case RA_LINE_GAP:
        fprintf(stderr, "reman-collector: %s: %s\n", st->name, ev->detail);
        break;
    case RA_LINE_REJECTED:
        fprintf(stderr, "reman-collector: %s: rejected from the line: %s\n", st->name, ev->detail);
        break;
    }
}

static size_t s_buffered(const s_ctx_t *c)
{
    size_t n = 0;
    for (int k = 0; k < c->nlanes; k++)
        n += c->lane[k].nbuf;
    return n;
}

static void s_site_down(s_ctx_t *c, const char *what)
{
    if (c->site_up)
        fprintf(stderr, "reman-collector: the site database is unavailable (%s: %s); holding "
                        "decisions in memory and retrying\n",
                what, rv_last_error());
    c->site_up = 0;
    c->backoff = c->backoff > 0 ? (c->backoff * 2 > 5 ? 5 : c->backoff * 2) : 0.25;
    c->retry_at = s_now() + c->backoff;
}

static void s_site_try(s_ctx_t *c)
{
    if (c->site_up || s_now() < c->retry_at)
        return;
    /* every connection anew: an insert that was in flight is sent again (ON CONFLICT DO
     * NOTHING: what it wrote is not written twice) */
    int ok = ra_site_reconnect(c->site) == RV_OK;
    for (int k = 0; ok && k < c->nlanes; k++) {
        c->lane[k].inflight = 0;
        ok = ra_site_reconnect(c->lane[k].site) == RV_OK;
    }
    if (ok) {
        c->site_up = 1;
        c->backoff = 0;
        fprintf(stderr, "reman-collector: the site database is back; %zu decisions to write\n",
                s_buffered(c));
        for (int i = 0; i < c->nst; i++) {
            s_station_t *st = &c->st[i];
            if (!st->key_loaded) {
                s_load_station(c, st);
                s_resolve_key(c, st);
            }
        }
    } else {
        s_site_down(c, "reconnect");
    }
}

static const char *s_pub_for_replay(s_ctx_t *c, const char *replay)
{
    for (int i = 0; i < c->npairs; i++)
        if (c->replays[i] && !strcmp(c->replays[i], replay))
            return c->pubs[i];
    return NULL;
}

/* A lane's insert in flight: wait for its end, then account for it. */
static void s_insert_end(s_ctx_t *c, s_lane_t *l)
{
    if (!l->inflight)
        return;
    size_t n = l->inflight, ins = 0;
    l->inflight = 0;
    if (ra_site_insert_end(l->site, &ins) != RV_OK) {
        s_site_down(c, "insert");
        return; /* the decisions stay in buf: sent again once the site is back */
    }
    for (size_t i = 0; i < n; i++) {
        s_item_t *it = &l->buf[i];
        s_station_t *st = &c->st[it->station];
        if (it->seq > st->site_seq)
            st->site_seq = it->seq;
        st->written++;
        free(it->msg);
    }
    c->written += ins;
    /* decisions the site kept in rejected instead (an id another decision holds) */
    size_t nref = ra_site_insert_refused(l->site, 0, NULL, NULL, NULL);
    for (size_t i = 0; i < nref; i++) {
        const char *who = "", *why = "";
        uint64_t seq = 0;
        ra_site_insert_refused(l->site, i, &who, &seq, &why);
        fprintf(stderr, "reman-collector: REFUSED %s seq %" PRIu64 ": %s\n", who, seq, why);
        for (int k = 0; k < c->nst; k++)
            if (!strcmp(c->st[k].name, who))
                c->st[k].rejected++;
        c->rejected_total++;
    }
    memmove(l->buf, l->buf + n, (l->nbuf - n) * sizeof *l->buf);
    l->nbuf -= n;
}

/* Start inserting what a lane holds (up to BATCH_MAX, one transaction); the server works
 * while this thread reads and verifies the next decisions. */
static void s_insert_start(s_ctx_t *c, s_lane_t *l)
{
    if (!c->site_up || l->inflight || l->nbuf == 0)
        return;
    size_t n = l->nbuf > BATCH_MAX ? BATCH_MAX : l->nbuf;
    for (size_t i = 0; i < n; i++) {
        s_item_t *it = &l->buf[i];
        l->rows[i] = (ra_site_decision_t){c->st[it->station].name, it->seq, it->msg, it->len};
    }
    if (ra_site_insert_send(l->site, l->rows, n) != RV_OK) {
        s_site_down(c, "insert");
        return;
    }
    l->inflight = n;
}

/* Write the stations' rows and the refusals (the connection must be idle). */
static void s_meta(s_ctx_t *c)
{
    if (!c->site_up)
        return;
    for (int i = 0; i < c->nst; i++) {
        s_station_t *st = &c->st[i];
        if (!st->seen_dirty)
            continue;
        int full = st->seen_dirty == 2;
        if (ra_site_station_seen(c->site, st->name, full && st->key[0] ? st->key : NULL,
                                 st->session, st->announced, st->status) != RV_OK ||
            (full && st->replay[0] &&
             ra_site_station_endpoints(c->site, st->name, s_pub_for_replay(c, st->replay),
                                       st->replay) != RV_OK)) {
            s_site_down(c, "station");
            return;
        }
        st->seen_dirty = 0;
    }
    while (c->nrej) {
        s_item_t *it = &c->rej[c->nrej - 1];
        if (ra_site_reject(c->site, c->st[it->station].name, it->seq, c->rej_reason[c->nrej - 1],
                           it->msg, it->len) != RV_OK) {
            s_site_down(c, "rejected");
            return;
        }
        free(it->msg);
        c->nrej--;
    }
}

/* Everything buffered, now (at the end). */
static void s_flush_all(s_ctx_t *c)
{
    for (int k = 0; k < c->nlanes; k++)
        s_insert_end(c, &c->lane[k]);
    while (c->site_up) {
        s_meta(c);
        if (s_buffered(c) == 0 || !c->site_up)
            break;
        for (int k = 0; k < c->nlanes; k++)
            s_insert_start(c, &c->lane[k]);
        for (int k = 0; k < c->nlanes; k++)
            s_insert_end(c, &c->lane[k]);
    }
}

static int s_mkdirs(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* write bytes as DIR/ab/<hex> (temporary file, fsync, rename) */
static int s_store_file(const char *dir, const char *hex, const uint8_t *b, size_t n)
{
    char sub[4096], path[4200], tmp[4300];
    snprintf(sub, sizeof sub, "%s/%.2s", dir, hex);
    if (s_mkdirs(sub) != 0)
        return rv_fail(RV_EIO, "reman-collector", "cannot create %s: %s", sub, strerror(errno));
    snprintf(path, sizeof path, "%s/%s", sub, hex);
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int) getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return rv_fail(RV_EIO, "reman-collector", "cannot write %s: %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, b + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t) w;
    }
    int ok = off == n && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return rv_fail(RV_EIO, "reman-collector", "cannot write %s: %s", path, strerror(errno));
    }
    return RV_OK;
}

static void s_sleep(double seconds)
{
    struct timespec ts = {(time_t) seconds, (long) ((seconds - (double) (time_t) seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

typedef struct {
    char station[RA_MSG_MAX_ID];
    char hex[65];
} s_want_t;

typedef struct {
    s_want_t *w;
    size_t n, cap;
} s_wants_t;

static int s_want(void *arg, const char *station, const char *hex)
{
    s_wants_t *ws = arg;
    if (ws->n == ws->cap)
        return 1;
    snprintf(ws->w[ws->n].station, sizeof ws->w[ws->n].station, "%s", station);
    snprintf(ws->w[ws->n].hex, sizeof ws->w[ws->n].hex, "%s", hex);
    ws->n++;
    return 0;
}

/* The evidence worker: asks the site what is cited and not held (of the stations it can
 * reach), fetches each file by hash from the citing station's replay service, checks and
 * stores it, records it; a file that cannot be fetched backs off on its own. */
static void *s_evw_main(void *arg)
{
    s_evw_t *w = arg;
    ra_site_t *site = NULL;
    ra_line_fetcher_t *f = ra_line_fetcher_new(&w->opts);
    typedef struct {
        char name[RA_MSG_MAX_ID];
        char replay[RA_MSG_REPLAY_SIZE];
        double skip_until; /* it did not answer: its files wait a while */
    } s_reach_t;
    s_reach_t *reach = calloc(MAX_STATIONS, sizeof *reach);
    s_reach_t *fresh = calloc(MAX_STATIONS, sizeof *fresh);
    int nreach = 0;
    const char **names = calloc(MAX_STATIONS, sizeof *names);
    s_wants_t ws = {calloc(EVIDENCE_PER_ROUND, sizeof(s_want_t)), 0, EVIDENCE_PER_ROUND};
    double backoff = 0.25, counted = 0;
    if (!f || !reach || !fresh || !names || !ws.w) {
        fprintf(stderr, "reman-collector: the evidence worker cannot start: %s\n",
                f ? "out of memory" : rv_last_error());
        goto out;
    }
    while (!atomic_load(&w->stop)) {
        if (!site && !(site = ra_site_open(w->conninfo))) {
            s_sleep(backoff);
            backoff = backoff * 2 > 5 ? 5 : backoff * 2;
            continue;
        }
        backoff = 0.25;
        /* the stations reachable now (each keeps its skip time) */
        pthread_mutex_lock(&w->mu);
        int nfresh = w->nst;
        for (int i = 0; i < nfresh; i++) {
            snprintf(fresh[i].name, sizeof fresh[i].name, "%s", w->st[i].name);
            snprintf(fresh[i].replay, sizeof fresh[i].replay, "%s", w->st[i].replay);
            fresh[i].skip_until = 0;
            for (int j = 0; j < nreach; j++)
                if (!strcmp(reach[j].name, fresh[i].name))
                    fresh[i].skip_until = reach[j].skip_until;
        }
        pthread_mutex_unlock(&w->mu);
        s_reach_t *swap = reach;
        reach = fresh;
        fresh = swap;
        nreach = nfresh;
        double now = s_now();
        if (now - counted >= 2.0) { /* for the health line: this collector's stations */
            for (int i = 0; i < nreach; i++)
                names[i] = reach[i].name;
            long long out = nreach ? ra_site_evidence_outstanding(site, names, (size_t) nreach) : 0;
            if (out >= 0)
                atomic_store(&w->outstanding, out);
            counted = now;
        }
        size_t k = 0;
        for (int i = 0; i < nreach; i++)
            if (reach[i].skip_until <= now)
                names[k++] = reach[i].name;
        ws.n = 0;
        int n = k ? ra_site_evidence_missing(site, names, k, EVIDENCE_PER_ROUND, s_want, &ws) : 0;
        if (n < 0) {
            fprintf(stderr, "reman-collector: evidence: %s\n", rv_last_error());
            ra_site_close(&site);
            continue;
        }
        if (ws.n == 0) {
            s_sleep(0.25);
            continue;
        }
        for (size_t i = 0; i < ws.n && !atomic_load(&w->stop) && site; i++) {
            s_reach_t *r = NULL;
            for (int j = 0; j < nreach && !r; j++)
                if (!strcmp(reach[j].name, ws.w[i].station))
                    r = &reach[j];
            if (!r || r->skip_until > s_now())
                continue;
            uint8_t *b = NULL;
            size_t len = 0;
            char why[300];
            int rc = ra_line_fetcher_get(f, r->replay, ws.w[i].station, ws.w[i].hex, &b, &len,
                                         2000);
            if (rc == RV_OK && s_store_file(w->evdir, ws.w[i].hex, b, len) != RV_OK) {
                /* this side's disk, not the station: the same file again later */
                fprintf(stderr, "reman-collector: evidence: %s\n", rv_last_error());
                free(b);
                s_sleep(1.0);
                break;
            }
            free(b);
            if (rc == RV_OK) {
                if (ra_site_evidence_add(site, ws.w[i].hex, len, NULL) != RV_OK) {
                    fprintf(stderr, "reman-collector: evidence: %s\n", rv_last_error());
                    ra_site_close(&site);
                    break;
                }
                atomic_fetch_add(&w->fetched, 1);
                continue;
            }
            snprintf(why, sizeof why, "%s", rv_last_error());
            fprintf(stderr, "reman-collector: evidence %.12s... from %s: %s\n", ws.w[i].hex,
                    ws.w[i].station, why);
            atomic_fetch_add(&w->failed, 1);
            if (rc == RV_EIO) /* no answer: leave this station alone for a while */
                r->skip_until = s_now() + 5.0;
            if (ra_site_evidence_failed(site, ws.w[i].station, ws.w[i].hex, why) != RV_OK) {
                ra_site_close(&site);
                break;
            }
        }
    }
out:
    ra_line_fetcher_destroy(&f);
    ra_site_close(&site);
    free(reach);
    free(fresh);
    free(names);
    free(ws.w);
    return NULL;
}

static void s_evw_stop(s_evw_t *w)
{
    if (!w->started)
        return;
    atomic_store(&w->stop, 1);
    pthread_join(w->th, NULL);
    w->started = 0;
}

/* Tell the worker which stations can be asked for evidence now. */
static void s_evw_stations(s_ctx_t *c)
{
    s_evw_t *w = &c->ev;
    if (!w->started)
        return;
    pthread_mutex_lock(&w->mu);
    w->nst = 0;
    for (int i = 0; i < c->nst; i++) {
        s_station_t *st = &c->st[i];
        if (!st->replay[0] || st->key_changed)
            continue;
        snprintf(w->st[w->nst].name, sizeof w->st[w->nst].name, "%s", st->name);
        snprintf(w->st[w->nst].replay, sizeof w->st[w->nst].replay, "%s", st->replay);
        w->nst++;
    }
    pthread_mutex_unlock(&w->mu);
}

static void s_status(s_ctx_t *c, double rate)
{
    fprintf(stderr,
            "reman-collector: health: site %s, written %" PRIu64 " (%.0f/s), buffered %zu, "
            "rejected %" PRIu64 ", evidence fetched %" PRIu64 " outstanding %lld\n",
            c->site_up ? "up" : "DOWN", c->written, rate, s_buffered(c), c->rejected_total,
            (uint64_t) atomic_load(&c->ev.fetched), (long long) atomic_load(&c->ev.outstanding));
    for (int i = 0; i < c->nst; i++) {
        s_station_t *st = &c->st[i];
        fprintf(stderr,
                "reman-collector: health: station %s %s lag %" PRIu64 " written %" PRIu64
                " rejected %" PRIu64 "%s\n",
                st->name, st->status, st->announced > st->site_seq ? st->announced - st->site_seq : 0,
                st->written, st->rejected, st->stale ? " STALE" : "");
    }
}

int main(int argc, char **argv)
{
    static s_ctx_t c;
    double status_every = 10, timeout = 0;
    long long count = 0;
    const char *key_file = NULL, *server_key = NULL;
    int allow_plain = 0;
    c.nlanes = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            s_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--allow-plain")) {
            allow_plain = 1;
        } else if (v && !strcmp(a, "--db")) {
            c.conninfo = v, i++;
        } else if (v && !strcmp(a, "--evidence")) {
            c.evdir = v, i++;
        } else if (v && !strcmp(a, "--status-every")) {
            status_every = atof(v), i++;
        } else if (v && !strcmp(a, "--connections")) {
            c.nlanes = atoi(v), i++;
            if (c.nlanes < 1 || c.nlanes > MAX_LANES) {
                fprintf(stderr, "reman-collector: --connections must be 1 to %d\n", MAX_LANES);
                return EXIT_USAGE;
            }
        } else if (v && !strcmp(a, "--count")) {
            count = atoll(v), i++;
        } else if (v && !strcmp(a, "--timeout")) {
            timeout = atof(v), i++;
        } else if (v && !strcmp(a, "--key")) {
            key_file = v, i++;
        } else if (v && !strcmp(a, "--server-key")) {
            server_key = v, i++;
        } else if (v && !strcmp(a, "--replay")) {
            if (c.npairs == 0 || c.replays[c.npairs - 1]) {
                fprintf(stderr, "reman-collector: --replay %s must follow a PUB endpoint\n", v);
                return EXIT_USAGE;
            }
            c.replays[c.npairs - 1] = v, i++;
        } else if (a[0] != '-' && c.npairs < MAX_PAIRS) {
            c.pubs[c.npairs] = a;
            c.replays[c.npairs++] = NULL;
        } else {
            fprintf(stderr, "reman-collector: unknown or incomplete option %s\n", a);
            s_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!c.conninfo || !c.evdir || c.npairs == 0) {
        fprintf(stderr, "reman-collector: --db, --evidence and at least one station are needed\n");
        s_usage(stderr);
        return EXIT_USAGE;
    }
    for (int i = 0; i < c.npairs; i++)
        if (!c.replays[i]) {
            fprintf(stderr, "reman-collector: station %s has no --replay endpoint\n", c.pubs[i]);
            return EXIT_USAGE;
        }
    if (s_mkdirs(c.evdir) != 0) {
        fprintf(stderr, "reman-collector: cannot create the evidence directory %s: %s\n", c.evdir,
                strerror(errno));
        return EXIT_SETUP;
    }
    signal(SIGINT, s_on_signal);
    signal(SIGTERM, s_on_signal);
    signal(SIGPIPE, SIG_IGN);

    c.site = ra_site_open(c.conninfo);
    if (!c.site) {
        fprintf(stderr, "reman-collector: %s\n", rv_last_error());
        return EXIT_DB;
    }
    for (int k = 0; k < c.nlanes; k++) {
        s_lane_t *l = &c.lane[k];
        if (!(l->rows = malloc(BATCH_MAX * sizeof *l->rows)) ||
            !(l->site = ra_site_open(c.conninfo))) {
            fprintf(stderr, "reman-collector: insert connection %d: %s\n", k + 1,
                    l->rows ? rv_last_error() : "no memory");
            for (int j = 0; j <= k; j++) {
                ra_site_close(&c.lane[j].site);
                free(c.lane[j].rows);
            }
            ra_site_close(&c.site);
            return EXIT_DB;
        }
    }
    c.site_up = 1;
    ra_line_opts_default(&c.opts);
    c.opts.allow_plain = allow_plain;
    c.opts.secret_key_file = key_file;
    c.opts.server_key = server_key;
    ra_line_sub_t *sub = ra_line_sub_new(&c.opts);
    if (!sub) {
        fprintf(stderr, "reman-collector: %s\n", rv_last_error());
        ra_site_close(&c.site);
        return EXIT_SETUP;
    }
    c.ev.conninfo = c.conninfo;
    c.ev.evdir = c.evdir;
    c.ev.opts = c.opts;
    pthread_mutex_init(&c.ev.mu, NULL);
    if (pthread_create(&c.ev.th, NULL, s_evw_main, &c.ev) == 0)
        c.ev.started = 1;
    else
        fprintf(stderr, "reman-collector: no evidence worker (%s): evidence is not fetched\n",
                strerror(errno));
    for (int i = 0; i < c.npairs; i++) {
        uint64_t since = 0;
        if (ra_site_since_endpoint(c.site, c.pubs[i], &since) != RV_OK) {
            fprintf(stderr, "reman-collector: %s\n", rv_last_error());
            s_evw_stop(&c.ev);
            ra_line_sub_destroy(&sub);
            ra_site_close(&c.site);
            return EXIT_DB;
        }
        if (ra_line_sub_add(sub, c.pubs[i], c.replays[i], since) != RV_OK) {
            fprintf(stderr, "reman-collector: %s: %s\n", c.pubs[i], rv_last_error());
            s_evw_stop(&c.ev);
            ra_line_sub_destroy(&sub);
            ra_site_close(&c.site);
            return EXIT_SETUP;
        }
        fprintf(stderr, "reman-collector: %s (replay %s): from seq %" PRIu64 "\n", c.pubs[i],
                c.replays[i], since);
    }
    double t0 = s_now(), last_status = t0, last_decision = t0;
    uint64_t written_at_status = 0;
    while (!s_stop) {
        /* read: up to a batch or 50 ms, unless memory is full */
        double until = s_now() + 0.05;
        int got = 0;
        while (s_buffered(&c) < MAX_BUFFERED && got < BATCH && !s_stop) {
            double left = until - s_now();
            if (left <= 0)
                break;
            ra_line_event_t ev;
            int r = ra_line_sub_next(sub, (int) (left * 1000) + 1, &ev);
            if (r <= 0)
                break;
            if (ev.kind == RA_LINE_DECISION) {
                got++;
                last_decision = s_now();
            }
            s_event(&c, &ev);
            ra_line_event_clear(&ev);
        }
        int full = s_buffered(&c) >= MAX_BUFFERED;
        if (full && !c.site_up)
            usleep(50 * 1000);
        s_site_try(&c);
        /* the site: end the insert in flight once the server is done with it (or wait for
         * it when memory is full), then write stations and refusals and start the next */
        s_meta(&c);
        for (int k = 0; k < c.nlanes; k++) {
            s_lane_t *l = &c.lane[k];
            if (l->inflight && (full || !ra_site_insert_busy(l->site)))
                s_insert_end(&c, l);
            if (!l->inflight)
                s_insert_start(&c, l);
        }
        s_evw_stations(&c);
        double now = s_now();
        if (status_every > 0 && now - last_status >= status_every) {
            s_status(&c, (double) (c.written - written_at_status) / (now - last_status));
            written_at_status = c.written;
            last_status = now;
        }
        if (count > 0 && c.written >= (uint64_t) count)
            break;
        if (timeout > 0 && now - last_decision > timeout)
            break;
    }
    s_flush_all(&c); /* the batch in hand */
    double dt = s_now() - t0;
    s_evw_stop(&c.ev);
    s_status(&c, dt > 0 ? (double) c.written / dt : 0);
    int pending = (int) s_buffered(&c);
    ra_line_sub_destroy(&sub);
    for (int k = 0; k < c.nlanes; k++) {
        for (size_t i = 0; i < c.lane[k].nbuf; i++)
            free(c.lane[k].buf[i].msg);
        free(c.lane[k].buf);
        free(c.lane[k].rows);
        ra_site_close(&c.lane[k].site);
    }
    for (size_t i = 0; i < c.nrej; i++)
        free(c.rej[i].msg);
    for (int i = 0; i < c.nst; i++) {
        for (size_t k = 0; k < c.st[i].nheld; k++)
            free(c.st[i].held[k].msg);
        free(c.st[i].held);
    }
    free(c.rej);
    free(c.rej_reason);
    ra_site_close(&c.site);
    if (pending)
        fprintf(stderr, "reman-collector: %d decisions not written (the stations keep them; the "
                        "next start resumes from the site)\n",
                pending);
    return 0;
}
