/* test_line_security.c - the line against peers that are not allowed or not honest, with
 * real stores and real sockets on loopback (ra_line.h, docs/protocol.md "Security"):
 *   keys       reman-keys files: the secret file mode 0600, the .pub holds no secret, a key
 *              is never overwritten, a group-readable secret key is refused
 *   curve      CURVE + ZAP allow-list: an allowed subscriber receives; one with a valid
 *              key not in the list and a plain one receive nothing while decisions are
 *              published for 1.5 s; nor does their replay request get an answer; a key
 *              added to the directory is admitted without a restart
 *   plain      a non-loopback plain endpoint is refused unless allow_plain
 *   replay     hostile replay requests from raw REQ/DEALER sockets: oversized, not JSON,
 *              not an object, wrong op, since of every wrong kind, wrong station, two
 *              frames, deep nesting, duplicates; 200 requests from 50 sockets at once;
 *              afterwards a good request is still served and decisions still published
 *   pub        a fake station publishing garbage (bad topics, bad JSON, wrong types, huge
 *              numbers, impersonation, frame counts, a 5 MiB message) and answering replay
 *              with garbage: each message is a RA_LINE_REJECTED event, nothing crashes, and
 *              the honest station's decisions are all delivered meanwhile */
#include "line_fixture.h"

#include <signal.h>
#include <zmq.h>

#define HB_MS 100

static char s_tmp[128];

typedef struct {
    char dir[160];
    ra_store_t *store;
    ra_line_pub_t *pub;
    char pub_ep[256], rep_ep[256];
} s_station_t;

static ra_line_pub_t *s_pub(s_station_t *s, const char *station, const char *key,
                            const char *allow)
{
    if (!s->store) {
        snprintf(s->dir, sizeof s->dir, "%s/%s", s_tmp, station);
        if (!(s->store = ra_store_open(s->dir, station, RA_STORE_WRITE))) {
            fprintf(stderr, "store: %s\n", rv_last_error());
            return NULL;
        }
    }
    ra_line_opts_t o;
    ra_line_opts_default(&o);
    o.pub_endpoint = "tcp://127.0.0.1:*";
    o.replay_endpoint = "tcp://127.0.0.1:*";
    o.heartbeat_ms = HB_MS;
    o.secret_key_file = key;
    o.allow_dir = allow;
    s->pub = ra_line_pub_new(s->store, &o);
    if (s->pub)
        ra_line_pub_endpoints(s->pub, s->pub_ep, sizeof s->pub_ep, s->rep_ep, sizeof s->rep_ep);
    return s->pub;
}

static void s_down(s_station_t *s)
{
    ra_line_pub_destroy(&s->pub);
    ra_store_close(&s->store);
}

static ra_line_sub_t *s_sub(const char *key, const char *server, const char *pub_ep,
                            const char *rep_ep, uint64_t since)
{
    ra_line_opts_t o;
    ra_line_opts_default(&o);
    o.secret_key_file = key;
    o.server_key = server;
    o.stale_ms = 60000;
    ra_line_sub_t *sub = ra_line_sub_new(&o);
    if (!sub)
        fprintf(stderr, "sub: %s\n", rv_last_error());
    else if (ra_line_sub_add(sub, pub_ep, rep_ep, since) != RV_OK) {
        fprintf(stderr, "sub add: %s\n", rv_last_error());
        ra_line_sub_destroy(&sub);
    }
    return sub;
}

/* take whatever events are there within ms */
static void s_take(ra_line_sub_t *sub, lf_seen_t *seen, int ms)
{
    ra_line_event_t ev;
    if (sub && ra_line_sub_next(sub, ms, &ev) == 1) {
        lf_take(seen, &ev);
        ra_line_event_clear(&ev);
    }
}

static int s_copy(const char *from, const char *to)
{
    char buf[4096];
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    size_t n = in ? fread(buf, 1, sizeof buf, in) : 0;
    int ok = in && out && fwrite(buf, 1, n, out) == n;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

static int s_slurp(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, size - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
    return f ? 0 : -1;
}

/* --- raw peers ---------------------------------------------------------------------- */
typedef struct {
    int n;
    char *f[RA_LINE_REPLAY_MAX + 2];
    size_t len[RA_LINE_REPLAY_MAX + 2];
} s_reply_t;

static void s_reply_free(s_reply_t *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->f[i]);
    r->n = 0;
}

static int s_recv_all(void *sock, s_reply_t *r)
{
    int more = 1;
    r->n = 0;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0) {
            zmq_msg_close(&m);
            return -1;
        }
        more = zmq_msg_more(&m);
        if (r->n < RA_LINE_REPLAY_MAX + 2) {
            r->len[r->n] = zmq_msg_size(&m);
            r->f[r->n] = malloc(r->len[r->n] + 1);
            memcpy(r->f[r->n], zmq_msg_data(&m), r->len[r->n]);
            r->f[r->n][r->len[r->n]] = '\0';
            r->n++;
        }
        zmq_msg_close(&m);
    }
    return r->n;
}

static void s_curve_client(void *sock, const char *keyfile, const char *server)
{
    char pub[41] = "", sec[41] = "", line[512];
    FILE *f = fopen(keyfile, "r");
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "public-key = \"", 14))
            memcpy(pub, line + 14, 40);
        if (!strncmp(line, "secret-key = \"", 14))
            memcpy(sec, line + 14, 40);
    }
    if (f)
        fclose(f);
    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server, 40);
    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, 40);
    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, 40);
}

/* One request on a fresh REQ: frames[nf]; the reply in r. Its frame count, 0 on timeout. */
static int s_request(void *ctx, const char *ep, const char *const *frames, const size_t *lens,
                     int nf, int timeout_ms, s_reply_t *r, const char *keyfile,
                     const char *server)
{
    void *req = zmq_socket(ctx, ZMQ_REQ);
    int zero = 0;
    zmq_setsockopt(req, ZMQ_LINGER, &zero, sizeof zero);
    if (keyfile)
        s_curve_client(req, keyfile, server);
    zmq_connect(req, ep);
    for (int i = 0; i < nf; i++)
        zmq_send(req, frames[i], lens[i], i + 1 < nf ? ZMQ_SNDMORE : 0);
    zmq_pollitem_t it = {req, 0, ZMQ_POLLIN, 0};
    r->n = 0;
    int got = zmq_poll(&it, 1, timeout_ms) == 1 ? s_recv_all(req, r) : 0;
    zmq_close(req);
    return got < 0 ? 0 : got;
}

static int s_request1(void *ctx, const char *ep, const char *text, size_t len, int timeout_ms,
                      s_reply_t *r)
{
    return s_request(ctx, ep, &text, &len, 1, timeout_ms, r, NULL, NULL);
}

/* the reply is exactly one {"op":"error","reason":...} frame */
static int s_is_error(const s_reply_t *r)
{
    ra_msg_end_t end;
    return r->n == 1 && ra_msg_end_parse(r->f[0], r->len[0], &end) == RV_OK && end.error &&
           end.reason[0];
}

/* the reply is `decisions` decision frames then an end frame with last and more */
static int s_is_end(const s_reply_t *r, int decisions, uint64_t last, int more)
{
    ra_msg_end_t end;
    return r->n == decisions + 1 &&
           ra_msg_end_parse(r->f[r->n - 1], r->len[r->n - 1], &end) == RV_OK && !end.error &&
           end.last == last && end.more == more;
}

/* --- keys ----------------------------------------------------------------------------- */
static void test_keys(void)
{
    char srv[256], pub[300], z1[41], z2[41], text[2048];
    snprintf(srv, sizeof srv, "%s/keys/station", s_tmp);
    snprintf(pub, sizeof pub, "%s.pub", srv);
    RS_CHECK_EQ(ra_line_keys_new(srv), RV_OK);
    struct stat st;
    RS_CHECK(stat(srv, &st) == 0 && (st.st_mode & 0777) == 0600);
    RS_CHECK(s_slurp(pub, text, sizeof text) == 0);
    RS_CHECK(strstr(text, "public-key = \"") != NULL);
    RS_CHECK(strstr(text, "secret-key") == NULL);
    RS_CHECK(s_slurp(srv, text, sizeof text) == 0 && strstr(text, "secret-key = \"") != NULL);
    RS_CHECK_EQ(ra_line_keys_public(srv, z1), RV_OK);
    RS_CHECK_EQ(ra_line_keys_public(pub, z2), RV_OK);
    RS_CHECK(strlen(z1) == 40 && strcmp(z1, z2) == 0);
    /* never overwritten */
    RS_CHECK(ra_line_keys_new(srv) != RV_OK);
    RS_CHECK_MSG(rv_last_error(), "never overwritten");
    char z3[41];
    RS_CHECK_EQ(ra_line_keys_public(srv, z3), RV_OK);
    RS_CHECK(strcmp(z1, z3) == 0);
    /* not a key file */
    RS_CHECK(ra_line_keys_public("/etc/hostname", z3) != RV_OK);
}

/* --- CURVE and the allow-list ------------------------------------------------------------ */
static void test_curve(void)
{
    char keys[200], allow[200], srv[256], alice[256], mallory[256], path[600], from[600];
    snprintf(keys, sizeof keys, "%s/keys", s_tmp); /* made by test_keys */
    snprintf(allow, sizeof allow, "%s/allow", s_tmp);
    snprintf(srv, sizeof srv, "%s/station", keys);
    snprintf(alice, sizeof alice, "%s/alice", keys);
    snprintf(mallory, sizeof mallory, "%s/mallory", keys);
    RS_CHECK(mkdir(allow, 0700) == 0);
    RS_CHECK_EQ(ra_line_keys_new(alice), RV_OK);
    RS_CHECK_EQ(ra_line_keys_new(mallory), RV_OK);
    snprintf(from, sizeof from, "%s.pub", alice);
    snprintf(path, sizeof path, "%s/alice.pub", allow);
    RS_CHECK(s_copy(from, path) == 0);
    snprintf(path, sizeof path, "%s/README", allow); /* not a key: ignored */
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("one client public key per file\n", f);
        fclose(f);
    }
    char server[41] = "";
    RS_CHECK_EQ(ra_line_keys_public(srv, server), RV_OK);

    s_station_t st = {0};
    /* a secret key others can read is refused, by name */
    RS_CHECK(chmod(srv, 0644) == 0);
    RS_CHECK(s_pub(&st, "sec-1", srv, allow) == NULL);
    RS_CHECK_MSG(rv_last_error(), "readable by others");
    RS_CHECK(chmod(srv, 0600) == 0);
    /* CURVE without an allow-list is refused */
    RS_CHECK(s_pub(&st, "sec-1", srv, NULL) == NULL);
    RS_CHECK(s_pub(&st, "sec-1", srv, allow) != NULL);
    if (!st.pub)
        return;

    ra_line_sub_t *a = s_sub(alice, server, st.pub_ep, st.rep_ep, 0);
    ra_line_sub_t *m = s_sub(mallory, server, st.pub_ep, st.rep_ep, 0);
    ra_line_sub_t *p = s_sub(NULL, NULL, st.pub_ep, st.rep_ep, 0);
    RS_CHECK(a && m && p);
    lf_seen_t sa, sm, sp;
    lf_seen_init(&sa, "sec-1");
    lf_seen_init(&sm, NULL);
    lf_seen_init(&sp, NULL);
    double end = lf_now_ms() + 10000;
    while (sa.births == 0 && lf_now_ms() < end) {
        s_take(a, &sa, 20);
        s_take(m, &sm, 1);
        s_take(p, &sp, 1);
    }
    RS_CHECK(sa.births >= 1);
    /* 10 decisions over 1.5 s */
    double t0 = lf_now_ms();
    uint64_t last = 0;
    for (int i = 0; i < 10; i++) {
        last = lf_decide_n(st.store, st.pub, (unsigned) i, 1);
        double until = t0 + 150.0 * (i + 1);
        while (lf_now_ms() < until) {
            s_take(a, &sa, 5);
            s_take(m, &sm, 1);
            s_take(p, &sp, 1);
        }
    }
    RS_CHECK_EQ(last, 10);
    lf_pump(a, &sa, lf_until_last, &last, 5000, NULL, NULL);
    RS_CHECK(lf_settle(a, &sa, NULL, NULL));
    lf_check_exactly_once(&sa, st.store, 1, 10, "allowed subscriber");
    RS_CHECKF(sm.decisions + sm.other_decisions + sm.births + sm.heartbeats == 0,
              "a key not in the allow-list received %zu decisions, %d births, %d heartbeats",
              sm.decisions + sm.other_decisions, sm.births, sm.heartbeats);
    RS_CHECKF(sp.decisions + sp.other_decisions + sp.births + sp.heartbeats == 0,
              "a plain subscriber received %zu decisions, %d births, %d heartbeats",
              sp.decisions + sp.other_decisions, sp.births, sp.heartbeats);

    /* the replay service: only the allowed key gets an answer */
    void *ctx = zmq_ctx_new();
    char good[128];
    int glen = snprintf(good, sizeof good, "{\"op\":\"replay\",\"station\":\"sec-1\",\"since\":0}");
    const char *fr = good;
    size_t fl = (size_t) glen;
    s_reply_t r = {0};
    RS_CHECK(s_request(ctx, st.rep_ep, &fr, &fl, 1, 5000, &r, alice, server) == 11);
    RS_CHECK(s_is_end(&r, 10, 10, 0));
    s_reply_free(&r);
    RS_CHECK_EQ(s_request(ctx, st.rep_ep, &fr, &fl, 1, 1500, &r, mallory, server), 0);
    s_reply_free(&r);
    RS_CHECK_EQ(s_request(ctx, st.rep_ep, &fr, &fl, 1, 1500, &r, NULL, NULL), 0);
    s_reply_free(&r);
    zmq_ctx_term(ctx);

    /* mallory's key added to the directory: admitted from the next connection on */
    snprintf(from, sizeof from, "%s.pub", mallory);
    snprintf(path, sizeof path, "%s/mallory.pub", allow);
    RS_CHECK(s_copy(from, path) == 0);
    ra_line_sub_destroy(&m);
    lf_seen_free(&sm);
    lf_seen_init(&sm, "sec-1");
    m = s_sub(mallory, server, st.pub_ep, st.rep_ep, 0);
    RS_CHECK(lf_pump(m, &sm, lf_until_last, &last, 10000, NULL, NULL));
    RS_CHECK(lf_settle(m, &sm, NULL, NULL));
    lf_check_exactly_once(&sm, st.store, 1, 10, "key added to the allow-list");

    ra_line_sub_destroy(&a);
    ra_line_sub_destroy(&m);
    ra_line_sub_destroy(&p);
    lf_seen_free(&sa);
    lf_seen_free(&sm);
    lf_seen_free(&sp);
    s_down(&st);
}

/* --- plain endpoints ------------------------------------------------------------------ */
static void test_plain(void)
{
    char dir[200];
    snprintf(dir, sizeof dir, "%s/plain", s_tmp);
    ra_store_t *store = ra_store_open(dir, "plain-1", RA_STORE_WRITE);
    RS_CHECK(store != NULL);
    if (!store)
        return;
    ra_line_opts_t o;
    ra_line_opts_default(&o);
    o.pub_endpoint = "tcp://0.0.0.0:*";
    o.replay_endpoint = "tcp://127.0.0.1:*";
    ra_line_pub_t *pub = ra_line_pub_new(store, &o);
    RS_CHECK(pub == NULL);
    RS_CHECK_MSG(rv_last_error(), "not a loopback endpoint");
    o.pub_endpoint = "tcp://127.0.0.1:*";
    o.replay_endpoint = "tcp://0.0.0.0:*";
    RS_CHECK((pub = ra_line_pub_new(store, &o)) == NULL);
    o.replay_endpoint = "tcp://127.0.0.1.example.com:*";
    RS_CHECK((pub = ra_line_pub_new(store, &o)) == NULL);
    o.pub_endpoint = "tcp://0.0.0.0:*";
    o.replay_endpoint = "tcp://0.0.0.0:*";
    o.allow_plain = 1;
    RS_CHECK((pub = ra_line_pub_new(store, &o)) != NULL);
    ra_line_pub_destroy(&pub);
    ra_line_sub_t *sub = ra_line_sub_new(NULL);
    RS_CHECK(sub != NULL);
    RS_CHECK(ra_line_sub_add(sub, "tcp://192.0.2.1:5556", "tcp://192.0.2.1:5557", 0) != RV_OK);
    RS_CHECK_MSG(rv_last_error(), "not a loopback endpoint");
    RS_CHECK_EQ(ra_line_sub_add(sub, "tcp://localhost:5556", "ipc:///tmp/x", 0), RV_OK);
    ra_line_sub_destroy(&sub);
    ra_store_close(&store);
}

/* --- hostile replay requests ------------------------------------------------------------ */
static void test_replay(void)
{
    s_station_t st = {0};
    RS_CHECK(s_pub(&st, "rep-1", NULL, NULL) != NULL);
    if (!st.pub)
        return;
    lf_decide_n(st.store, st.pub, 0, 5);
    RS_CHECK_EQ(ra_line_pub_flush(st.pub, 10000), RV_OK);
    void *ctx = zmq_ctx_new();
    s_reply_t r = {0};
    const char *good = "{\"op\":\"replay\",\"station\":\"rep-1\",\"since\":0}";

    /* 1 MiB: the connection is dropped (ZMQ_MAXMSGSIZE) or an error comes back */
    size_t big = 1 << 20;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    memcpy(huge, good, strlen(good));
    int n = s_request1(ctx, st.rep_ep, huge, big, 1500, &r);
    RS_CHECKF(n == 0 || s_is_error(&r), "1 MiB request: %d frames", n);
    s_reply_free(&r);
    free(huge);
    RS_CHECK_EQ(s_request1(ctx, st.rep_ep, good, strlen(good), 5000, &r), 6);
    RS_CHECK(s_is_end(&r, 5, 5, 0));
    for (int i = 0; i < 5 && r.n == 6; i++) {
        ra_msg_info_t info;
        RS_CHECK(ra_msg_parse_decision(r.f[i], r.len[i], "rep-1", &info) == RV_OK &&
                 info.seq == (uint64_t) i + 1);
    }
    s_reply_free(&r);

    static const char *bad[] = {
        "not json",
        "[1,2]",
        "{}",
        "\"replay\"",
        "{\"op\":\"nope\",\"station\":\"rep-1\",\"since\":0}",
        "{\"op\":\"replay\",\"station\":\"rep-1\",\"since\":\"5\"}",
        "{\"op\":\"replay\",\"station\":\"rep-1\",\"since\":-1}",
        "{\"op\":\"replay\",\"station\":\"rep-1\",\"since\":1e300}",
        "{\"op\":\"replay\",\"station\":\"rep-1\",\"since\":18446744073709551615}",
        "{\"op\":\"replay\",\"station\":\"rep-1\",\"since\":9223372036854775808}",
        "{\"op\":\"replay\",\"station\":\"rep-1\",\"since\":1.5}",
        "{\"op\":\"replay\",\"station\":\"rep-1\",\"since\":null}",
        "{\"op\":\"replay\",\"station\":\"rep-1\"}",
        "{\"op\":\"replay\",\"station\":\"other\",\"since\":0}",
        "{\"op\":\"replay\",\"station\":5,\"since\":0}",
        "{\"op\":\"replay\",\"since\":0}",
        "{\"op\":\"replay\",\"station\":\"rep-1\",\"since\":0,\"since\":3}",
        "{\"op\":\"replay\",\"station\":\"rep-1\",\"since\":0",
        "",
    };
    int nbad = (int) (sizeof bad / sizeof bad[0]), errors = 0;
    for (int i = 0; i < nbad; i++) {
        n = s_request1(ctx, st.rep_ep, bad[i], strlen(bad[i]), 5000, &r);
        RS_CHECKF(s_is_error(&r), "request \"%s\": %d frames, not one error", bad[i], n);
        errors += s_is_error(&r);
        s_reply_free(&r);
    }
    /* NUL bytes, invalid UTF-8, nesting 2000 deep (all under 4096 bytes) */
    char odd[4096];
    memcpy(odd, "{\"op\":\"rep\0ay\"}", 15);
    RS_CHECK(s_request1(ctx, st.rep_ep, odd, 15, 5000, &r) == 1 && s_is_error(&r));
    s_reply_free(&r);
    memcpy(odd, "{\"op\":\"\xff\xfe\"}", 11);
    RS_CHECK(s_request1(ctx, st.rep_ep, odd, 11, 5000, &r) == 1 && s_is_error(&r));
    s_reply_free(&r);
    memset(odd, '[', 2000);
    memset(odd + 2000, ']', 2000);
    RS_CHECK(s_request1(ctx, st.rep_ep, odd, 4000, 5000, &r) == 1 && s_is_error(&r));
    s_reply_free(&r);
    errors += 3;
    /* two frames */
    const char *two[] = {good, good};
    size_t twol[] = {strlen(good), strlen(good)};
    RS_CHECK(s_request(ctx, st.rep_ep, two, twol, 2, 5000, &r, NULL, NULL) == 1 &&
             s_is_error(&r));
    s_reply_free(&r);
    errors++;
    /* accepted: unknown members ignored, since at the limits */
    const char *extra = "{\"op\":\"replay\",\"station\":\"rep-1\",\"since\":3,\"max\":1}";
    RS_CHECK(s_request1(ctx, st.rep_ep, extra, strlen(extra), 5000, &r) == 3 &&
             s_is_end(&r, 2, 5, 0));
    s_reply_free(&r);
    const char *top = "{\"op\":\"replay\",\"station\":\"rep-1\",\"since\":9223372036854775807}";
    RS_CHECK(s_request1(ctx, st.rep_ep, top, strlen(top), 5000, &r) == 1 &&
             s_is_end(&r, 0, 9223372036854775807ULL, 0));
    s_reply_free(&r);

    /* 200 requests from 50 sockets at once, every other one bad */
    enum { SOCKS = 50, EACH = 4 };
    void *d[SOCKS];
    int zero = 0;
    for (int i = 0; i < SOCKS; i++) {
        d[i] = zmq_socket(ctx, ZMQ_DEALER);
        zmq_setsockopt(d[i], ZMQ_LINGER, &zero, sizeof zero);
        zmq_connect(d[i], st.rep_ep);
    }
    for (int k = 0; k < EACH; k++)
        for (int i = 0; i < SOCKS; i++) {
            const char *body = (i + k) % 2 ? bad[(i + k) % nbad] : good;
            zmq_send(d[i], "", 0, ZMQ_SNDMORE); /* REP's envelope delimiter */
            zmq_send(d[i], body, strlen(body), 0);
        }
    int replies = 0, ok = 0, err = 0;
    double end = lf_now_ms() + 30000;
    while (replies < SOCKS * EACH && lf_now_ms() < end) {
        zmq_pollitem_t it[SOCKS];
        for (int i = 0; i < SOCKS; i++)
            it[i] = (zmq_pollitem_t){d[i], 0, ZMQ_POLLIN, 0};
        if (zmq_poll(it, SOCKS, 100) <= 0)
            continue;
        for (int i = 0; i < SOCKS; i++)
            if (it[i].revents & ZMQ_POLLIN) {
                s_recv_all(d[i], &r);
                replies++;
                s_reply_t body = r; /* past the delimiter */
                body.n = r.n - 1;
                memmove(body.f, r.f + 1, (size_t) body.n * sizeof body.f[0]);
                memmove(body.len, r.len + 1, (size_t) body.n * sizeof body.len[0]);
                ok += s_is_end(&body, 5, 5, 0);
                err += s_is_error(&body);
                free(r.f[0]);
                body.n = r.n - 1;
                s_reply_free(&body);
            }
    }
    for (int i = 0; i < SOCKS; i++)
        zmq_close(d[i]);
    RS_CHECK_EQ(replies, SOCKS * EACH);
    RS_CHECK_EQ(ok, SOCKS * EACH / 2);
    RS_CHECK_EQ(err, SOCKS * EACH / 2);

    /* still serving, still publishing */
    RS_CHECK(s_request1(ctx, st.rep_ep, good, strlen(good), 5000, &r) == 6 &&
             s_is_end(&r, 5, 5, 0));
    s_reply_free(&r);
    ra_line_pub_stats_t stats;
    ra_line_pub_stats(st.pub, &stats);
    RS_CHECKF(stats.replay_errors >= (uint64_t) errors + SOCKS * EACH / 2,
              "%llu replay errors counted", (unsigned long long) stats.replay_errors);
    ra_line_sub_t *sub = s_sub(NULL, NULL, st.pub_ep, st.rep_ep, 5);
    lf_seen_t s;
    lf_seen_init(&s, "rep-1");
    RS_CHECK(lf_pump(sub, &s, lf_until_contact, NULL, 10000, NULL, NULL));
    uint64_t last = lf_decide_n(st.store, st.pub, 5, 1);
    RS_CHECK(lf_pump(sub, &s, lf_until_last, &last, 10000, NULL, NULL));
    RS_CHECK(lf_settle(sub, &s, NULL, NULL));
    lf_check_exactly_once(&s, st.store, 6, 6, "after the hostile requests");
    ra_line_sub_destroy(&sub);
    lf_seen_free(&s);
    zmq_ctx_term(ctx);
    s_down(&st);
}

/* --- a fake station on the line ------------------------------------------------------- */
typedef struct {
    void *pub, *rep;
    int served;
} s_fake_t;

/* the fake's replay service answers everything with garbage */
static void s_fake_serve(void *arg)
{
    s_fake_t *f = arg;
    s_reply_t r = {0};
    zmq_pollitem_t it = {f->rep, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, 0) == 1 && s_recv_all(f->rep, &r) > 0) {
        if (f->served++ % 2 == 0)
            zmq_send(f->rep, "garbage", 7, 0);
        else {
            zmq_send(f->rep, "{\"schema\":\"reman.decision/1\"}", 29, ZMQ_SNDMORE);
            zmq_send(f->rep, "{\"op\":\"end\",\"last\":1,\"more\":true}", 34, 0);
        }
    }
    s_reply_free(&r);
}

static void s_send(void *sock, const char *topic, const char *body)
{
    zmq_send(sock, topic, strlen(topic), ZMQ_SNDMORE);
    zmq_send(sock, body, strlen(body), 0);
}

static void test_fake_pub(void)
{
    s_station_t st = {0};
    RS_CHECK(s_pub(&st, "good-1", NULL, NULL) != NULL);
    if (!st.pub)
        return;
    void *ctx = zmq_ctx_new();
    s_fake_t f = {zmq_socket(ctx, ZMQ_PUB), zmq_socket(ctx, ZMQ_REP), 0};
    int zero = 0;
    zmq_setsockopt(f.pub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(f.rep, ZMQ_LINGER, &zero, sizeof zero);
    char fpub[256], frep[256];
    size_t sz = sizeof fpub;
    zmq_bind(f.pub, "tcp://127.0.0.1:*");
    zmq_getsockopt(f.pub, ZMQ_LAST_ENDPOINT, fpub, &sz);
    sz = sizeof frep;
    zmq_bind(f.rep, "tcp://127.0.0.1:*");
    zmq_getsockopt(f.rep, ZMQ_LAST_ENDPOINT, frep, &sz);

    ra_line_sub_t *sub = s_sub(NULL, NULL, st.pub_ep, st.rep_ep, 0);
    RS_CHECK(sub && ra_line_sub_add(sub, fpub, frep, 0) == RV_OK);
    lf_seen_t good, fake;
    lf_seen_init(&good, "good-1");
    lf_seen_init(&fake, "fake-1");
    /* the fake's subscriber connection is up once one of its heartbeats comes through */
    double end = lf_now_ms() + 10000;
    const char *hb = "{\"schema\":\"reman.heartbeat/1\",\"station\":\"fake-1\",\"session\":1,"
                     "\"seq\":0,\"ts\":\"2026-01-01T00:00:00.000Z\"}";
    while ((fake.heartbeats == 0 || good.births + good.heartbeats == 0) && lf_now_ms() < end) {
        s_send(f.pub, "reman.heartbeat.fake-1", hb);
        ra_line_event_t ev;
        while (ra_line_sub_next(sub, 20, &ev) == 1) {
            lf_take(&good, &ev);
            lf_take(&fake, &ev);
            ra_line_event_clear(&ev);
        }
    }
    RS_CHECK(fake.heartbeats > 0);
    const char *chainless =
        "{\"id\":\"x\",\"schema\":\"reman.decision/1\",\"seq\":1,\"session\":1,\"station\":"
        "\"fake-1\",\"ts\":\"2026-01-01T00:00:00Z\"}";
    const char *chain_first =
        "{\"chain\":{\"hash\":\"" "0000000000000000000000000000000000000000000000000000000000000000"
        "\",\"n\":1,\"prev\":\"" "0000000000000000000000000000000000000000000000000000000000000000"
        "\",\"sig\":\"" "0000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000"
        "\"},\"id\":\"x\",\"schema\":\"reman.decision/1\",\"seq\":1,\"session\":1,\"station\":"
        "\"fake-1\",\"ts\":\"2026-01-01T00:00:00Z\"}";
    const char *garbage[][2] = {
        {"junk", "{}"},
        {"reman.decision.", "{}"},
        {"reman.nonsense.fake-1", "{}"},
        {"reman.heartbeat.fake-1", "not json"},
        {"reman.heartbeat.fake-1", "[]"},
        {"reman.heartbeat.fake-1", "{\"schema\":\"reman.heartbeat/1\",\"station\":\"fake-1\","
                                   "\"session\":1,\"ts\":\"2026-01-01T00:00:00Z\"}"},
        {"reman.heartbeat.fake-1", "{\"schema\":\"reman.heartbeat/1\",\"station\":\"fake-1\","
                                   "\"session\":1,\"seq\":\"5\",\"ts\":\"2026-01-01T00:00:00Z\"}"},
        {"reman.heartbeat.fake-1", "{\"schema\":\"reman.heartbeat/1\",\"station\":\"fake-1\","
                                   "\"session\":1,\"seq\":1e300,\"ts\":\"2026-01-01T00:00:00Z\"}"},
        {"reman.heartbeat.fake-1",
         "{\"schema\":\"reman.heartbeat/1\",\"station\":\"fake-1\",\"session\":1,\"seq\":"
         "18446744073709551615,\"ts\":\"2026-01-01T00:00:00Z\"}"},
        {"reman.heartbeat.fake-1",
         "{\"schema\":\"reman.heartbeat/1\",\"station\":\"fake-1\",\"session\":1,\"seq\":1,"
         "\"seq\":2,\"ts\":\"2026-01-01T00:00:00Z\"}"},
        {"reman.heartbeat.fake-1", "{\"schema\":\"reman.heartbeat/1\",\"station\":\"fake-1\","
                                   "\"session\":1,\"seq\":1,\"ts\":\"yesterday\"}"},
        {"reman.heartbeat.fake-1", "{\"schema\":\"reman.birth/1\",\"station\":\"fake-1\","
                                   "\"session\":1,\"seq\":1,\"ts\":\"2026-01-01T00:00:00Z\"}"},
        {"reman.birth.fake-1", "{\"schema\":\"reman.birth/1\",\"station\":\"fake-1\",\"session\":1,"
                               "\"seq\":1,\"ts\":\"2026-01-01T00:00:00Z\",\"software\":\"x\","
                               "\"public_key\":\"nothex\",\"replay\":\"\"}"},
        /* impersonation: the honest station's name on the fake's endpoint */
        {"reman.heartbeat.good-1", "{\"schema\":\"reman.heartbeat/1\",\"station\":\"good-1\","
                                   "\"session\":9,\"seq\":99999,\"ts\":\"2026-01-01T00:00:00Z\"}"},
        {"reman.heartbeat.fake-1", "{\"schema\":\"reman.heartbeat/1\",\"station\":\"good-1\","
                                   "\"session\":1,\"seq\":1,\"ts\":\"2026-01-01T00:00:00Z\"}"},
        {"reman.decision.fake-1", chainless},
        {"reman.decision.fake-1", chain_first},
    };
    int ng = (int) (sizeof garbage / sizeof garbage[0]);
    for (int i = 0; i < ng; i++)
        s_send(f.pub, garbage[i][0], garbage[i][1]);
    /* frame counts, NUL bytes, a long topic */
    zmq_send(f.pub, "reman.heartbeat.fake-1", 22, 0);
    zmq_send(f.pub, "reman.heartbeat.fake-1", 22, ZMQ_SNDMORE);
    zmq_send(f.pub, hb, strlen(hb), ZMQ_SNDMORE);
    zmq_send(f.pub, "third", 5, 0);
    zmq_send(f.pub, "reman.heartbeat.fake-1", 22, ZMQ_SNDMORE);
    zmq_send(f.pub, "{\"schema\":\"reman.heart\0beat/1\"}", 31, 0);
    char topic[300];
    memset(topic, 'a', sizeof topic);
    memcpy(topic, "reman.heartbeat.", 16);
    zmq_send(f.pub, topic, sizeof topic, ZMQ_SNDMORE);
    zmq_send(f.pub, "{}", 2, 0);
    int expect = ng - 1 + 4; /* "junk" never passes the "reman." subscription */
    /* a valid heartbeat announcing 2^63-1: a gap the fake's replay answers with garbage */
    s_send(f.pub, "reman.heartbeat.fake-1",
           "{\"schema\":\"reman.heartbeat/1\",\"station\":\"fake-1\",\"session\":1,\"seq\":"
           "9223372036854775807,\"ts\":\"2026-01-01T00:00:00Z\"}");
    /* 5 MiB: over the subscriber's limit: the fake's connection is dropped */
    size_t big = 5u << 20;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    zmq_send(f.pub, "reman.heartbeat.fake-1", 22, ZMQ_SNDMORE);
    zmq_send(f.pub, huge, big, 0);
    free(huge);

    /* meanwhile the honest station decides */
    uint64_t last = lf_decide_n(st.store, st.pub, 0, 10);
    end = lf_now_ms() + 15000;
    while ((good.last < last || fake.gaps_unfilled == 0) && lf_now_ms() < end) {
        s_fake_serve(&f);
        ra_line_event_t ev;
        if (ra_line_sub_next(sub, 5, &ev) == 1) {
            lf_take(&good, &ev);
            lf_take(&fake, &ev);
            ra_line_event_clear(&ev);
        }
    }
    int hb_want = good.heartbeats + 2; /* settle: what is still queued is taken */
    end = lf_now_ms() + 10000;
    while (good.heartbeats < hb_want && lf_now_ms() < end) {
        s_fake_serve(&f);
        ra_line_event_t ev;
        if (ra_line_sub_next(sub, 5, &ev) == 1) {
            lf_take(&good, &ev);
            lf_take(&fake, &ev);
            ra_line_event_clear(&ev);
        }
    }
    lf_check_exactly_once(&good, st.store, 1, 10, "honest station beside a fake");
    RS_CHECKF(good.rejected == expect, "%d of %d garbage messages rejected (last: %s)",
              good.rejected, expect, good.last_rejected);
    RS_CHECK(fake.gaps_unfilled >= 1);
    RS_CHECKF(strstr(fake.last_gap, "not filled") != NULL, "fake gap: %s", fake.last_gap);
    RS_CHECK(f.served >= 1);
    RS_CHECK_EQ(fake.decisions, 0);
    /* impersonation did not reach the honest station's state */
    RS_CHECK_EQ(good.gaps, 0);
    ra_line_sub_destroy(&sub);
    zmq_close(f.pub);
    zmq_close(f.rep);
    zmq_ctx_term(ctx);
    lf_seen_free(&good);
    lf_seen_free(&fake);
    s_down(&st);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (lf_tmpdir(s_tmp, sizeof s_tmp, "line-sec") != 0)
        return 1;
    char keys[200];
    snprintf(keys, sizeof keys, "%s/keys", s_tmp);
    mkdir(keys, 0700);
    test_keys();
    test_curve();
    test_plain();
    test_replay();
    test_fake_pub();
    lf_rmrf(s_tmp);
    return rs_test_end("test_line_security");
}
