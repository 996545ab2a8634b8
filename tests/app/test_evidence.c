/* test_evidence.c - evidence by content hash over the replay endpoint (docs/protocol.md,
 * "Evidence request"): the messages (ra_msg_evidence_*) and a real station's replay
 * service answered through ra_line_fetch_evidence: the bytes of a stored JPEG, verified
 * against their hash; an unknown hash, a malformed hash and another station's request
 * refused with a reason; the replay service still serving replay afterwards. */
#include "ra/ra_line.h"
#include "ra/ra_msg.h"
#include "rs_test.h"
#include "store_fixture.h"

#include <signal.h>

static void test_messages(void)
{
    const char *h = "ab00000000000000000000000000000000000000000000000000000000000000";
    size_t len = 0;
    char *req = ra_msg_evidence_request("st-1", h, &len);
    RS_CHECK(req != NULL);
    char hex[65];
    RS_CHECK_EQ(ra_msg_evidence_parse(req, len, "st-1", hex), 0);
    RS_CHECK(strcmp(hex, h) == 0);
    RS_CHECK(ra_msg_evidence_parse(req, len, "st-2", hex) == RV_EFORMAT);
    RS_CHECK_MSG(rv_last_error(), "replay service of station st-2");
    free(req);
    RS_CHECK(ra_msg_evidence_request("st-1", "AB00", &len) == NULL);
    const char *upper = "{\"op\":\"evidence\",\"station\":\"st-1\",\"sha256\":"
                        "\"AB00000000000000000000000000000000000000000000000000000000000000\"}";
    RS_CHECK(ra_msg_evidence_parse(upper, strlen(upper), "st-1", hex) == RV_EFORMAT);
    RS_CHECK_MSG(rv_last_error(), "64 lowercase hex");
    const char *nohash = "{\"op\":\"evidence\",\"station\":\"st-1\"}";
    RS_CHECK(ra_msg_evidence_parse(nohash, strlen(nohash), "st-1", hex) == RV_EFORMAT);
    RS_CHECK_MSG(rv_last_error(), "\"sha256\" is missing");
    const char *replay = "{\"op\":\"replay\",\"station\":\"st-1\",\"since\":0}";
    RS_CHECK_EQ(ra_msg_evidence_parse(replay, strlen(replay), "st-1", hex), 1);
    char *head = ra_msg_evidence_reply(h, 1234, &len);
    uint64_t n = 0;
    RS_CHECK(head && ra_msg_evidence_reply_parse(head, len, h, &n) == 0 && n == 1234);
    RS_CHECK(ra_msg_evidence_reply_parse(head, len,
                                         "cd00000000000000000000000000000000000000000000000000000000000000",
                                         &n) == RV_EFORMAT);
    free(head);
    const char *err = "{\"op\":\"error\",\"reason\":\"unknown evidence hash\"}";
    RS_CHECK(ra_msg_evidence_reply_parse(err, strlen(err), h, &n) == RV_EFORMAT);
    RS_CHECK_MSG(rv_last_error(), "unknown evidence hash");
}

static void test_fetch(void)
{
    char tmp[64], dir[128];
    RS_CHECK(fx_tmpdir(tmp, "evidence") == 0);
    fx_store_dir(dir, sizeof dir, tmp);
    ra_store_t *st = ra_store_open(dir, "st-ev", RA_STORE_WRITE);
    RS_CHECK(st != NULL);
    if (!st)
        return;
    char hex[65];
    size_t bytes = 0;
    RS_CHECK(fx_put_jpeg(st, 160, 120, 7, hex, &bytes) == 0);
    ra_line_opts_t o;
    ra_line_opts_default(&o);
    o.pub_endpoint = "tcp://127.0.0.1:*";
    o.replay_endpoint = "tcp://127.0.0.1:*";
    ra_line_pub_t *pub = ra_line_pub_new(st, &o);
    RS_CHECK(pub != NULL);
    char pub_ep[256], rep_ep[256];
    if (pub) {
        ra_line_pub_endpoints(pub, pub_ep, sizeof pub_ep, rep_ep, sizeof rep_ep);
        uint8_t *b = NULL;
        size_t n = 0;
        RS_CHECKF(ra_line_fetch_evidence(rep_ep, NULL, "st-ev", hex, &b, &n, 5000) == 0, "%s",
                  rv_last_error());
        RS_CHECK_EQ(n, bytes);
        RS_CHECK(b && n > 3 && b[0] == 0xff && b[1] == 0xd8); /* a JPEG */
        free(b);
        const char *unknown = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        RS_CHECK(ra_line_fetch_evidence(rep_ep, NULL, "st-ev", unknown, &b, &n, 5000) == RV_EFORMAT);
        RS_CHECK_MSG(rv_last_error(), "unknown evidence hash");
        RS_CHECK(b == NULL && n == 0);
        RS_CHECK(ra_line_fetch_evidence(rep_ep, NULL, "other", hex, &b, &n, 5000) == RV_EFORMAT);
        RS_CHECK_MSG(rv_last_error(), "replay service of station st-ev");
        RS_CHECK(ra_line_fetch_evidence(rep_ep, NULL, "st-ev", "xyz", &b, &n, 5000) == RV_EINVAL);
        /* a file on disk altered after it was stored: the client refuses it */
        char path[4096];
        ra_store_evidence_path(st, hex, path, sizeof path);
        chmod(path, 0644);
        FILE *f = fopen(path, "r+b");
        RS_CHECK(f != NULL);
        if (f) {
            fseek(f, 100, SEEK_SET);
            fputc(0x5a, f);
            fclose(f);
        }
        RS_CHECK(ra_line_fetch_evidence(rep_ep, NULL, "st-ev", hex, &b, &n, 5000) == RV_EFORMAT);
        RS_CHECK_MSG(rv_last_error(), "hash to");
        /* the service still answers replay */
        ra_line_pub_stats_t s;
        ra_line_pub_stats(pub, &s);
        RS_CHECK(s.replay_requests >= 4);
        /* no service there: a timeout, named */
        RS_CHECK(ra_line_fetch_evidence("tcp://127.0.0.1:9", NULL, "st-ev", hex, &b, &n, 300) ==
                 RV_EIO);
        RS_CHECK_MSG(rv_last_error(), "no reply");
        /* a non-loopback plain endpoint is refused before connecting */
        RS_CHECK(ra_line_fetch_evidence("tcp://10.1.2.3:5557", NULL, "st-ev", hex, &b, &n, 300) ==
                 RV_EINVAL);
    }
    ra_line_pub_destroy(&pub);
    ra_store_close(&st);
    fx_rmrf(tmp);
}

/* One fetcher, many fetches: its connection is kept (one REQ per endpoint), a refusal
 * leaves it usable, a station that does not answer costs that endpoint its socket and
 * not the others theirs. */
static void test_fetcher(void)
{
    char tmp[64], dir[128];
    RS_CHECK(fx_tmpdir(tmp, "fetcher") == 0);
    fx_store_dir(dir, sizeof dir, tmp);
    ra_store_t *st = ra_store_open(dir, "st-fe", RA_STORE_WRITE);
    RS_CHECK(st != NULL);
    if (!st)
        return;
    enum { N = 20 };
    char hex[N][65];
    size_t bytes[N];
    for (int i = 0; i < N; i++)
        RS_CHECK(fx_put_jpeg(st, 64, 48, (unsigned) (100 + i), hex[i], &bytes[i]) == 0);
    ra_line_opts_t o;
    ra_line_opts_default(&o);
    o.pub_endpoint = "tcp://127.0.0.1:*";
    o.replay_endpoint = "tcp://127.0.0.1:*";
    ra_line_pub_t *pub = ra_line_pub_new(st, &o);
    ra_line_fetcher_t *f = ra_line_fetcher_new(NULL);
    RS_CHECK(pub != NULL && f != NULL);
    if (pub && f) {
        char pub_ep[256], rep_ep[256];
        ra_line_pub_endpoints(pub, pub_ep, sizeof pub_ep, rep_ep, sizeof rep_ep);
        const char *unknown = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < N; i++) {
                uint8_t *b = NULL;
                size_t n = 0;
                RS_CHECKF(ra_line_fetcher_get(f, rep_ep, "st-fe", hex[i], &b, &n, 5000) == 0,
                          "file %d: %s", i, rv_last_error());
                RS_CHECK_EQ(n, bytes[i]);
                free(b);
                if (i == N / 2) { /* a refusal in between: the same socket goes on */
                    RS_CHECK(ra_line_fetcher_get(f, rep_ep, "st-fe", unknown, &b, &n, 5000) ==
                             RV_EFORMAT);
                    RS_CHECK_MSG(rv_last_error(), "unknown evidence hash");
                }
            }
            /* an endpoint that never answers: a timeout, named; the live one still serves */
            uint8_t *b = NULL;
            size_t n = 0;
            RS_CHECK(ra_line_fetcher_get(f, "tcp://127.0.0.1:9", "st-fe", hex[0], &b, &n, 200) ==
                     RV_EIO);
            RS_CHECK_MSG(rv_last_error(), "no reply");
        }
        /* every request came to the station's one replay service */
        ra_line_pub_stats_t s;
        ra_line_pub_stats(pub, &s);
        RS_CHECK(s.replay_requests >= 2 * (N + 1));
    }
    ra_line_fetcher_destroy(&f);
    RS_CHECK(f == NULL);
    ra_line_pub_destroy(&pub);
    ra_store_close(&st);
    fx_rmrf(tmp);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_messages();
    test_fetch();
    test_fetcher();
    return rs_test_end("test_evidence");
}
