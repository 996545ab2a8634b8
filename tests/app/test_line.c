/* test_line.c - the line protocol with real stores and real sockets on loopback
 * (ra_line.h, docs/protocol.md):
 *   order      200 decisions reach a subscriber in order, exactly once, byte-equal to the
 *              store; birth at start (with the store's session and key), a heartbeat when
 *              idle carrying the last seq, flush empties the outbox, death at destroy;
 *              commit -> subscriber latency measured
 *   resume     a subscriber destroyed mid-stream and made again with since = its last
 *              catches up with no gap and no duplicate
 *   late       a subscriber joining with since = 0 after 1205 decisions gets them all by
 *              replay (more = true at 1000: two requests at least)
 *   restart    the publisher destroyed, the store reopened (session + 1), decisions made
 *              while it is down, a new publisher on the same endpoints: the running
 *              subscriber sees death, then the new birth, and continues with no gap
 *   gap        a proxy between station and subscriber drops seq 11..20: the subscriber
 *              fills them from replay and delivers 1..30 in order
 *   stale      a station process killed with SIGKILL (no death) is reported stale once
 *              per silence; a new station process clears it; a second kill reports again */
#include "line_fixture.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <zmq.h>

#define HB_MS 100

typedef struct {
    char dir[128];
    ra_store_t *store;
    ra_line_pub_t *pub;
    char pub_ep[256], rep_ep[256];
} s_station_t;

/* A store (created or reopened) and a publisher on the given endpoints (NULL: a free
 * loopback port). */
static int s_station_up(s_station_t *s, const char *station, const char *pub_ep,
                        const char *rep_ep, int heartbeat_ms)
{
    if (!s->dir[0] && lf_tmpdir(s->dir, sizeof s->dir, "line") != 0)
        return -1;
    if (!s->store && !(s->store = ra_store_open(s->dir, station, RA_STORE_WRITE))) {
        fprintf(stderr, "store: %s\n", rv_last_error());
        return -1;
    }
    ra_line_opts_t o;
    ra_line_opts_default(&o);
    o.pub_endpoint = pub_ep ? pub_ep : "tcp://127.0.0.1:*";
    o.replay_endpoint = rep_ep ? rep_ep : "tcp://127.0.0.1:*";
    o.heartbeat_ms = heartbeat_ms;
    if (!(s->pub = ra_line_pub_new(s->store, &o))) {
        fprintf(stderr, "publisher: %s\n", rv_last_error());
        return -1;
    }
    ra_line_pub_endpoints(s->pub, s->pub_ep, sizeof s->pub_ep, s->rep_ep, sizeof s->rep_ep);
    return 0;
}

static void s_station_down(s_station_t *s)
{
    ra_line_pub_destroy(&s->pub);
    ra_store_close(&s->store);
    lf_rmrf(s->dir);
    s->dir[0] = '\0';
}

static ra_line_sub_t *s_sub(const char *pub_ep, const char *rep_ep, uint64_t since, int stale_ms)
{
    ra_line_opts_t o;
    ra_line_opts_default(&o);
    o.stale_ms = stale_ms;
    ra_line_sub_t *sub = ra_line_sub_new(&o);
    if (sub && ra_line_sub_add(sub, pub_ep, rep_ep, since) != RV_OK) {
        fprintf(stderr, "sub add: %s\n", rv_last_error());
        ra_line_sub_destroy(&sub);
    }
    return sub;
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static void test_order(void)
{
    s_station_t st = {0};
    RS_CHECK(s_station_up(&st, "line-a", NULL, NULL, HB_MS) == 0);
    if (!st.pub)
        return;
    RS_CHECK(strncmp(st.pub_ep, "tcp://127.0.0.1:", 16) == 0 && !strchr(st.pub_ep, '*'));
    ra_line_sub_t *sub = s_sub(st.pub_ep, st.rep_ep, 0, 5000);
    RS_CHECK(sub != NULL);
    lf_seen_t seen;
    lf_seen_init(&seen, "line-a");
    int one = 1;
    /* the birth again on subscription: a subscriber that joins late still sees it */
    RS_CHECKF(lf_pump(sub, &seen, lf_until_births, &one, 10000, NULL, NULL), "no birth seen");
    RS_CHECK_EQ(seen.birth_session, ra_store_session(st.store));
    RS_CHECK(strcmp(seen.birth_key, ra_store_public_key(st.store)) == 0);

    /* commit -> subscriber latency, one decision at a time */
    enum { LAT = 50, TOTAL = 200 };
    double lat[LAT];
    for (int i = 0; i < LAT; i++) {
        uint64_t seq = 0;
        RS_CHECK(lf_decide(st.store, (unsigned) i, &seq) == RV_OK);
        double t0 = lf_now_ms(); /* committed: durable from here */
        ra_line_pub_kick(st.pub);
        RS_CHECKF(lf_pump(sub, &seen, lf_until_last, &seq, 10000, NULL, NULL),
                  "seq %llu not delivered", (unsigned long long) seq);
        lat[i] = lf_now_ms() - t0;
    }
    qsort(lat, LAT, sizeof lat[0], s_cmp_double);
    printf("test_line: commit -> subscriber latency over %d decisions: median %.3f ms, p90 "
           "%.3f ms, max %.3f ms\n",
           LAT, lat[LAT / 2], lat[LAT * 9 / 10], lat[LAT - 1]);
    /* a burst */
    double t0 = lf_now_ms();
    uint64_t last = lf_decide_n(st.store, st.pub, LAT, TOTAL - LAT);
    RS_CHECK_EQ(last, TOTAL);
    RS_CHECK(lf_pump(sub, &seen, lf_until_last, &last, 20000, NULL, NULL));
    printf("test_line: burst of %d decisions (decide + kick each) delivered in %.1f ms\n",
           TOTAL - LAT, lf_now_ms() - t0);
    RS_CHECK(lf_settle(sub, &seen, NULL, NULL));
    lf_check_exactly_once(&seen, st.store, 1, TOTAL, "order");
    RS_CHECK_EQ(seen.decisions, TOTAL);
    RS_CHECK_EQ(seen.rejected, 0);
    RS_CHECK_EQ(seen.gaps, 0); /* nothing was lost: no replay needed */

    /* idle: a heartbeat carrying the last seq */
    int hb = seen.heartbeats + 1;
    RS_CHECK(lf_pump(sub, &seen, lf_until_heartbeats, &hb, 5000, NULL, NULL));
    RS_CHECK_EQ(seen.hb_seq, TOTAL);
    ra_line_pub_stats_t stats;
    ra_line_pub_stats(st.pub, &stats);
    RS_CHECK_EQ(stats.published, TOTAL);
    RS_CHECK_EQ(stats.last_seq, TOTAL);
    RS_CHECK(stats.heartbeats >= 1);

    /* flush: committed, not kicked; flush hands it to the socket */
    uint64_t seq = 0;
    RS_CHECK(lf_decide(st.store, 999, &seq) == RV_OK);
    RS_CHECK_EQ(ra_line_pub_flush(st.pub, 10000), RV_OK);
    ra_line_pub_stats(st.pub, &stats);
    RS_CHECK_EQ(stats.last_seq, seq);
    RS_CHECK(lf_pump(sub, &seen, lf_until_last, &seq, 10000, NULL, NULL));
    RS_CHECK_EQ(seq < seen.cap ? seen.count[seq] : 0, 1);

    /* death at destroy, with the last seq */
    ra_line_pub_destroy(&st.pub);
    RS_CHECK(st.pub == NULL);
    RS_CHECK(lf_pump(sub, &seen, lf_until_deaths, &one, 5000, NULL, NULL));
    RS_CHECK_EQ(seen.death_seq, seq);
    ra_line_sub_destroy(&sub);
    RS_CHECK(sub == NULL);
    lf_seen_free(&seen);
    s_station_down(&st);
}

static void test_resume(void)
{
    s_station_t st = {0};
    RS_CHECK(s_station_up(&st, "line-b", NULL, NULL, HB_MS) == 0);
    if (!st.pub)
        return;
    ra_line_sub_t *sub = s_sub(st.pub_ep, st.rep_ep, 0, 5000);
    lf_seen_t a;
    lf_seen_init(&a, "line-b");
    RS_CHECK(lf_pump(sub, &a, lf_until_contact, NULL, 10000, NULL, NULL));
    uint64_t last = lf_decide_n(st.store, st.pub, 0, 100), forty = 40;
    RS_CHECK_EQ(last, 100);
    RS_CHECK(lf_pump(sub, &a, lf_until_last, &forty, 10000, NULL, NULL));
    uint64_t k = a.last;
    lf_check_exactly_once(&a, st.store, 1, k, "resume, first subscriber");
    ra_line_sub_destroy(&sub); /* mid-stream: the rest of the 100 goes nowhere */
    last = lf_decide_n(st.store, st.pub, 100, 50);
    RS_CHECK_EQ(last, 150);

    sub = s_sub(st.pub_ep, st.rep_ep, k, 5000);
    lf_seen_t b;
    lf_seen_init(&b, "line-b");
    RS_CHECK(lf_pump(sub, &b, lf_until_last, &last, 20000, NULL, NULL));
    RS_CHECK(lf_settle(sub, &b, NULL, NULL));
    lf_check_exactly_once(&b, st.store, k + 1, 150, "resume, second subscriber");
    RS_CHECKF(b.nreplayed > 0, "the decisions made while away came by replay (%zu)",
              b.nreplayed);
    ra_line_sub_destroy(&sub);
    lf_seen_free(&a);
    lf_seen_free(&b);
    s_station_down(&st);
}

static void test_late(void)
{
    enum { N = 1205 };
    s_station_t st = {0};
    if (lf_tmpdir(st.dir, sizeof st.dir, "line") != 0 ||
        !(st.store = ra_store_open(st.dir, "line-c", RA_STORE_WRITE))) {
        RS_CHECKF(0, "store: %s", rv_last_error());
        return;
    }
    double t0 = lf_now_ms();
    uint64_t last = lf_decide_n(st.store, NULL, 0, N);
    RS_CHECK_EQ(last, N);
    printf("test_line: %d decisions stored in %.0f ms\n", N, lf_now_ms() - t0);
    RS_CHECK(s_station_up(&st, "line-c", NULL, NULL, HB_MS) == 0);
    if (!st.pub)
        return;
    /* the outbox goes out at start, to nobody */
    RS_CHECK_EQ(ra_line_pub_flush(st.pub, 20000), RV_OK);
    ra_line_sub_t *sub = s_sub(st.pub_ep, st.rep_ep, 0, 5000);
    lf_seen_t s;
    lf_seen_init(&s, "line-c");
    t0 = lf_now_ms();
    RS_CHECK(lf_pump(sub, &s, lf_until_last, &last, 30000, NULL, NULL));
    printf("test_line: late joiner got %zu decisions by replay in %.0f ms\n", s.nreplayed,
           lf_now_ms() - t0);
    RS_CHECK(lf_settle(sub, &s, NULL, NULL));
    lf_check_exactly_once(&s, st.store, 1, N, "late joiner");
    RS_CHECK_EQ(s.nreplayed, N);
    int one = 1; /* the fill's report comes after the decisions it brought */
    RS_CHECK(lf_pump(sub, &s, lf_until_gaps_filled, &one, 5000, NULL, NULL));
    ra_line_pub_stats_t stats;
    ra_line_pub_stats(st.pub, &stats);
    RS_CHECKF(stats.replay_requests >= 2, "more=true at %d: %llu requests", RA_LINE_REPLAY_MAX,
              (unsigned long long) stats.replay_requests);
    RS_CHECK_EQ(stats.replay_errors, 0);
    ra_line_sub_destroy(&sub);
    lf_seen_free(&s);
    s_station_down(&st);
}

static void test_restart(void)
{
    s_station_t st = {0};
    RS_CHECK(s_station_up(&st, "line-d", NULL, NULL, HB_MS) == 0);
    if (!st.pub)
        return;
    int64_t session1 = ra_store_session(st.store);
    ra_line_sub_t *sub = s_sub(st.pub_ep, st.rep_ep, 0, 5000);
    lf_seen_t s;
    lf_seen_init(&s, "line-d");
    RS_CHECK(lf_pump(sub, &s, lf_until_contact, NULL, 10000, NULL, NULL));
    uint64_t last = lf_decide_n(st.store, st.pub, 0, 20);
    RS_CHECK(lf_pump(sub, &s, lf_until_last, &last, 10000, NULL, NULL));
    int births = s.births, one = 1;
    ra_line_pub_destroy(&st.pub);
    RS_CHECK(lf_pump(sub, &s, lf_until_deaths, &one, 5000, NULL, NULL));
    ra_store_close(&st.store);
    /* down: the store reopened (a new session), decisions made with nobody publishing */
    st.store = ra_store_open(st.dir, "line-d", RA_STORE_WRITE);
    RS_CHECK(st.store != NULL);
    if (!st.store)
        return;
    RS_CHECK_EQ(ra_store_session(st.store), session1 + 1);
    last = lf_decide_n(st.store, NULL, 20, 10);
    RS_CHECK_EQ(last, 30);
    char pub_ep[256], rep_ep[256];
    snprintf(pub_ep, sizeof pub_ep, "%s", st.pub_ep);
    snprintf(rep_ep, sizeof rep_ep, "%s", st.rep_ep);
    RS_CHECK(s_station_up(&st, "line-d", pub_ep, rep_ep, HB_MS) == 0);
    if (!st.pub)
        return;
    int want = births + 1;
    RS_CHECK(lf_pump(sub, &s, lf_until_births, &want, 10000, NULL, NULL));
    RS_CHECK_EQ(s.birth_session, session1 + 1);
    RS_CHECK(lf_pump(sub, &s, lf_until_last, &last, 15000, NULL, NULL));
    last = lf_decide_n(st.store, st.pub, 30, 5);
    RS_CHECK(lf_pump(sub, &s, lf_until_last, &last, 10000, NULL, NULL));
    RS_CHECK(lf_settle(sub, &s, NULL, NULL));
    lf_check_exactly_once(&s, st.store, 1, 35, "restart");
    ra_line_sub_destroy(&sub);
    lf_seen_free(&s);
    s_station_down(&st);
}

/* A proxy that forwards the station's messages and drops decisions 11..20: as if the
 * subscriber's connection were down while they were published. While hold is set it keeps
 * what it would forward, and sends it all at once when hold is cleared: the subscriber
 * then reads 21..30 in one go, holds them while it fills 11..20, and must drop the copies
 * the replay brought too. */
typedef struct {
    void *in, *out;
    int dropped, forwarded, hold, nheld, held_decisions;
    char *topic[64], *body[64];
    size_t tlen[64], blen[64];
} s_proxy_t;

static void s_proxy_pump(void *arg)
{
    s_proxy_t *p = arg;
    for (;;) {
        char topic[128], body[65536];
        int t = zmq_recv(p->in, topic, sizeof topic - 1, ZMQ_DONTWAIT);
        if (t < 0)
            break;
        int b = zmq_recv(p->in, body, sizeof body, 0);
        if (b < 0 || t >= (int) sizeof topic || b > (int) sizeof body)
            continue;
        ra_msg_info_t info;
        int decision = ra_msg_parse(topic, (size_t) t, body, (size_t) b, &info) == RV_OK &&
                       info.kind == RA_MSG_DECISION;
        if (decision && info.seq >= 11 && info.seq <= 20) {
            p->dropped++;
            continue;
        }
        if (p->hold && p->nheld < 64) {
            p->topic[p->nheld] = malloc((size_t) t);
            p->body[p->nheld] = malloc((size_t) b);
            memcpy(p->topic[p->nheld], topic, (size_t) t);
            memcpy(p->body[p->nheld], body, (size_t) b);
            p->tlen[p->nheld] = (size_t) t;
            p->blen[p->nheld++] = (size_t) b;
            p->held_decisions += decision;
            continue;
        }
        zmq_send(p->out, topic, (size_t) t, ZMQ_SNDMORE);
        zmq_send(p->out, body, (size_t) b, 0);
        p->forwarded++;
    }
    if (!p->hold && p->nheld) {
        for (int i = 0; i < p->nheld; i++) {
            zmq_send(p->out, p->topic[i], p->tlen[i], ZMQ_SNDMORE);
            zmq_send(p->out, p->body[i], p->blen[i], 0);
            free(p->topic[i]);
            free(p->body[i]);
            p->forwarded++;
        }
        p->nheld = 0;
    }
}

static void test_gap(void)
{
    s_station_t st = {0};
    RS_CHECK(s_station_up(&st, "line-e", NULL, NULL, HB_MS) == 0);
    if (!st.pub)
        return;
    void *ctx = zmq_ctx_new();
    s_proxy_t p;
    memset(&p, 0, sizeof p);
    p.in = zmq_socket(ctx, ZMQ_SUB);
    p.out = zmq_socket(ctx, ZMQ_PUB);
    int zero = 0;
    zmq_setsockopt(p.in, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(p.out, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(p.in, ZMQ_SUBSCRIBE, "", 0);
    char proxy_ep[256];
    size_t sz = sizeof proxy_ep;
    RS_CHECK(zmq_connect(p.in, st.pub_ep) == 0);
    RS_CHECK(zmq_bind(p.out, "tcp://127.0.0.1:*") == 0);
    zmq_getsockopt(p.out, ZMQ_LAST_ENDPOINT, proxy_ep, &sz);
    ra_line_sub_t *sub = s_sub(proxy_ep, st.rep_ep, 0, 5000);
    lf_seen_t s;
    lf_seen_init(&s, "line-e");
    RS_CHECK(lf_pump(sub, &s, lf_until_contact, NULL, 10000, s_proxy_pump, &p));
    p.hold = 1;
    uint64_t last = lf_decide_n(st.store, st.pub, 0, 30);
    double end = lf_now_ms() + 10000;
    while (p.held_decisions < 20 && lf_now_ms() < end) {
        s_proxy_pump(&p);
        usleep(1000);
    }
    RS_CHECK_EQ(p.held_decisions, 20);
    p.hold = 0;
    RS_CHECK(lf_pump(sub, &s, lf_until_last, &last, 20000, s_proxy_pump, &p));
    RS_CHECK_EQ(p.dropped, 10);
    RS_CHECK(lf_settle(sub, &s, s_proxy_pump, &p));
    lf_check_exactly_once(&s, st.store, 1, 30, "gap");
    int replayed_11_20 = 0;
    for (int q = 11; q <= 20 && (size_t) q < s.cap; q++)
        replayed_11_20 += s.replayed[q];
    RS_CHECK_EQ(replayed_11_20, 10);
    int one = 1;
    RS_CHECK(lf_pump(sub, &s, lf_until_gaps_filled, &one, 5000, s_proxy_pump, &p));
    RS_CHECKF(strstr(s.last_gap, "11..") != NULL, "gap event: %s", s.last_gap);
    ra_line_sub_destroy(&sub);
    zmq_close(p.in);
    zmq_close(p.out);
    zmq_ctx_term(ctx);
    lf_seen_free(&s);
    s_station_down(&st);
}

/* The station in a child process, killed with SIGKILL by the test. Endpoints (resolved)
 * are written to fd. */
static void s_child(const char *dir, const char *pub_ep, const char *rep_ep, int fd)
{
    s_station_t st = {0};
    snprintf(st.dir, sizeof st.dir, "%s", dir);
    if (s_station_up(&st, "line-f", pub_ep, rep_ep, 50) != 0)
        _exit(3);
    char buf[600];
    int n = snprintf(buf, sizeof buf, "%s\n%s\n", st.pub_ep, st.rep_ep);
    if (write(fd, buf, (size_t) n) != n)
        _exit(4);
    close(fd);
    lf_decide_n(st.store, st.pub, 0, 3);
    for (;;)
        pause();
}

static pid_t s_spawn(const char *dir, const char *pub_ep, const char *rep_ep, char *got_pub,
                     char *got_rep)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
        if (getppid() == 1)
            _exit(1);
        close(fds[0]);
        s_child(dir, pub_ep, rep_ep, fds[1]);
        _exit(0);
    }
    close(fds[1]);
    char buf[600] = "";
    size_t got = 0;
    ssize_t r;
    while (got < sizeof buf - 1 && (r = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t) r;
    buf[got] = '\0';
    close(fds[0]);
    if (sscanf(buf, "%255s %255s", got_pub, got_rep) != 2) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

static void test_stale(void)
{
    char dir[128], pub_ep[256], rep_ep[256];
    if (lf_tmpdir(dir, sizeof dir, "line") != 0)
        return;
    pid_t pid = s_spawn(dir, NULL, NULL, pub_ep, rep_ep);
    RS_CHECK(pid > 0);
    if (pid <= 0) {
        lf_rmrf(dir);
        return;
    }
    ra_line_sub_t *sub = s_sub(pub_ep, rep_ep, 0, 600);
    lf_seen_t s;
    lf_seen_init(&s, "line-f");
    uint64_t three = 3;
    RS_CHECK(lf_pump(sub, &s, lf_until_last, &three, 15000, NULL, NULL));
    /* alive (heartbeats every 50 ms): 20 heartbeats, no stale */
    int hb = s.heartbeats + 20;
    RS_CHECK(lf_pump(sub, &s, lf_until_heartbeats, &hb, 10000, NULL, NULL));
    RS_CHECK_EQ(s.stale, 0);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    int one = 1, two = 2;
    double t0 = lf_now_ms();
    RS_CHECK(lf_pump(sub, &s, lf_until_stale, &one, 10000, NULL, NULL));
    printf("test_line: stale reported %.0f ms after SIGKILL (stale_ms 600)\n", lf_now_ms() - t0);
    RS_CHECKF(strstr(s.last_stale, "line-f") != NULL, "stale names the station: %s",
              s.last_stale);
    RS_CHECK_EQ(s.deaths, 0);
    /* once per silence: not again while it stays silent */
    RS_CHECK(!lf_pump(sub, &s, lf_until_stale, &two, 1500, NULL, NULL));
    RS_CHECK_EQ(s.stale, 1);
    /* back: cleared; killed again: reported again */
    char p2[256], r2[256];
    pid = s_spawn(dir, pub_ep, rep_ep, p2, r2);
    RS_CHECK(pid > 0);
    if (pid > 0) {
        int births = s.births + 1;
        RS_CHECK(lf_pump(sub, &s, lf_until_births, &births, 15000, NULL, NULL));
        uint64_t six = 6;
        RS_CHECK(lf_pump(sub, &s, lf_until_last, &six, 15000, NULL, NULL));
        RS_CHECK_EQ(s.stale, 1);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        RS_CHECK(lf_pump(sub, &s, lf_until_stale, &two, 10000, NULL, NULL));
        RS_CHECK_EQ(s.stale, 2);
    }
    lf_check_exactly_once(&s, NULL, 1, 6, "stale");
    ra_line_sub_destroy(&sub);
    lf_seen_free(&s);
    lf_rmrf(dir);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_stale(); /* first: it forks, best before this process has threads of its own */
    test_order();
    test_resume();
    test_late();
    test_restart();
    test_gap();
    return rs_test_end("test_line");
}
