/* bench_line.c - the line's figures (see bench_line.h). */
#include "bench_line.h"

#include "ra/ra_line.h"
#include "ra/ra_store.h"
#include "rv/rv.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

static double s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static double s_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = atof(line + 6);
    if (f)
        fclose(f);
    return kb;
}

static int s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *) &a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *) &a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static const char *s_fs_name(const char *dir)
{
    struct statfs st;
    if (statfs(dir, &st) != 0)
        return "unknown";
    switch ((unsigned long) st.f_type) {
    case 0xEF53UL: return "ext4";
    case 0x58465342UL: return "xfs";
    case 0x9123683EUL: return "btrfs";
    case 0x01021994UL: return "tmpfs";
    case 0x794c7630UL: return "overlayfs";
    default: return "other";
    }
}

/* --- the subscriber thread ------------------------------------------------------------ */
typedef struct {
    const char *pub_ep, *rep_ep;
    double *recv_ms;   /* per seq: when the subscriber had it */
    size_t cap;
    atomic_ullong last;
    atomic_int ready, stop, failed;
} s_sub_t;

static void *s_sub_main(void *arg)
{
    s_sub_t *s = arg;
    ra_line_opts_t o;
    ra_line_opts_default(&o);
    ra_line_sub_t *sub = ra_line_sub_new(&o);
    if (!sub || ra_line_sub_add(sub, s->pub_ep, s->rep_ep, 0) != 0) {
        atomic_store(&s->failed, 1);
        atomic_store(&s->ready, 1);
        ra_line_sub_destroy(&sub);
        return NULL;
    }
    while (!atomic_load(&s->stop)) {
        ra_line_event_t ev;
        memset(&ev, 0, sizeof ev);
        if (ra_line_sub_next(sub, 20, &ev) <= 0)
            continue;
        if (ev.kind == RA_LINE_HEARTBEAT || ev.kind == RA_LINE_BIRTH)
            atomic_store(&s->ready, 1);
        if (ev.kind == RA_LINE_DECISION && ev.seq < s->cap) {
            s->recv_ms[ev.seq] = s_now_ms();
            atomic_store(&s->last, ev.seq);
        }
        ra_line_event_clear(&ev);
    }
    ra_line_sub_destroy(&sub);
    return NULL;
}

static int s_wait_for(s_sub_t *s, uint64_t seq, double timeout_ms)
{
    double t0 = s_now_ms();
    while (atomic_load(&s->last) < seq) {
        if (s_now_ms() - t0 > timeout_ms)
            return -1;
        usleep(20);
    }
    return 0;
}

static json_t *s_inspection(void)
{
    return json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:s, s:b, s:[{s:s, s:s, s:b, s:b, s:f, s:f, "
        "s:f, s:s, s:s}], s:s, s:{s:f, s:f, s:f}, s:[], s:s, s:s}",
        "schema", "reman.inspection/1", "code", "text", "S:RC-1;P:BRK-DISC-300", "serial",
        "RC-000001", "part_number", "BRK-DISC-300", "family", "demo-disc", "model_hash",
        "1111111111111111111111111111111111111111111111111111111111111111", "proposal",
        "remanufacture", "route", "remanufacture", "review", 0, "reasons", "rule",
        "crack-critical", "code", "CRK-CRIT", "fired", 0, "deciding", 0, "value", 0.4, "limit",
        2.0, "guard", 0.2, "en", "crack 0.4 mm in zone flange (limit 2.0 mm)", "zh",
        "\xe8\xa3\x82\xe7\xba\xb9 0.4 mm", "credit", "full", "value_retained", "fraction", 0.89,
        "material_kg", 8.0, "co2e_kg", 20.0, "findings", "isa", rv_simd_isa(), "software",
        "reman-bench");
}

int rsb_line_bench(rsb_line_figs_t *f, long soak)
{
    memset(f, 0, sizeof *f);
    if (soak < 20000)
        soak = 20000;
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/rs-bench-line-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    snprintf(f->fs, sizeof f->fs, "%s", s_fs_name(dir));
    int rc = -1;
    char pub_ep[64], rep_ep[64];
    snprintf(pub_ep, sizeof pub_ep, "tcp://127.0.0.1:%d", s_free_port());
    snprintf(rep_ep, sizeof rep_ep, "tcp://127.0.0.1:%d", s_free_port());
    const int runs = 5, per_run = 2048, singles = 200, lat_n = 1000;
    f->batch = 64;
    size_t cap = (size_t) (runs * per_run + runs * singles + lat_n + soak + 16);
    s_sub_t sub = {.pub_ep = pub_ep, .rep_ep = rep_ep, .cap = cap};
    sub.recv_ms = calloc(cap, sizeof(double));
    /* write every element now (-1: not received), so the soak measures the line's memory
     * and not this array's pages being touched one by one (a memset to 0 after calloc
     * would be folded away by the compiler) */
    for (size_t i = 0; sub.recv_ms && i < cap; i++)
        sub.recv_ms[i] = -1.0;
    ra_decision_in_t *in = calloc((size_t) f->batch, sizeof *in);
    ra_decision_ack_t *acks = calloc((size_t) f->batch, sizeof *acks);
    double *lat = calloc((size_t) lat_n, sizeof(double)), rates[5], srates[5];
    ra_store_t *store = ra_store_open(dir, "bench-1", RA_STORE_WRITE);
    ra_line_pub_t *pub = NULL;
    pthread_t th;
    int have_thread = 0;
    json_t *insp = s_inspection();
    int64_t n = 0;
    if (!store || !sub.recv_ms || !in || !acks || !lat || !insp ||
        ra_store_inspection(store, insp, &n) != RV_OK) {
        fprintf(stderr, "reman-bench: line: %s\n", rv_last_error());
        goto done;
    }
    ra_line_opts_t o;
    ra_line_opts_default(&o);
    o.pub_endpoint = pub_ep;
    o.replay_endpoint = rep_ep;
    o.heartbeat_ms = 100;
    if (!(pub = ra_line_pub_new(store, &o)) ||
        pthread_create(&th, NULL, s_sub_main, &sub) != 0) {
        fprintf(stderr, "reman-bench: line: %s\n", rv_last_error());
        goto done;
    }
    have_thread = 1;
    for (double t0 = s_now_ms(); !atomic_load(&sub.ready) && s_now_ms() - t0 < 5000;)
        usleep(1000);
    if (atomic_load(&sub.failed) || !atomic_load(&sub.ready)) {
        fprintf(stderr, "reman-bench: line: the subscriber did not connect\n");
        goto done;
    }
    for (int i = 0; i < f->batch; i++)
        in[i] = (ra_decision_in_t){.inspection = n, .operator_id = "cell"};

    /* durable decisions per second: group commit, acknowledged after the commit */
    for (int r = 0; r < runs; r++) {
        double t0 = s_now_ms();
        for (int b = 0; b < per_run / f->batch; b++) {
            if (ra_store_decide_many(store, in, (size_t) f->batch, acks) != RV_OK) {
                fprintf(stderr, "reman-bench: line: %s\n", rv_last_error());
                goto done;
            }
            ra_line_pub_kick(pub);
        }
        rates[r] = per_run / ((s_now_ms() - t0) / 1e3);
        double t1 = s_now_ms();
        for (int i = 0; i < singles; i++) {
            if (ra_store_decide(store, &in[0], &acks[0]) != RV_OK)
                goto done;
            ra_line_pub_kick(pub);
        }
        srates[r] = singles / ((s_now_ms() - t1) / 1e3);
    }
    qsort(rates, (size_t) runs, sizeof(double), s_cmp);
    qsort(srates, (size_t) runs, sizeof(double), s_cmp);
    f->durable_per_s = rates[runs / 2];
    f->durable_single_per_s = srates[runs / 2];
    if (s_wait_for(&sub, ra_store_last_seq(store), 30000) != 0)
        fprintf(stderr, "reman-bench: line: the subscriber fell behind\n");

    /* commit -> subscriber latency: one decision at a time */
    for (int i = 0; i < lat_n; i++) {
        if (ra_store_decide(store, &in[0], &acks[0]) != RV_OK)
            goto done;
        double tc = s_now_ms();
        ra_line_pub_kick(pub);
        if (s_wait_for(&sub, acks[0].seq, 5000) != 0) {
            fprintf(stderr, "reman-bench: line: decision %llu never arrived\n",
                    (unsigned long long) acks[0].seq);
            goto done;
        }
        lat[i] = sub.recv_ms[acks[0].seq] - tc;
    }
    qsort(lat, (size_t) lat_n, sizeof(double), s_cmp);
    f->latency_samples = lat_n;
    f->commit_to_sub_p50_ms = lat[lat_n / 2];
    f->commit_to_sub_p99_ms = lat[(int) (lat_n * 0.99) - 1];
    f->commit_to_sub_max_ms = lat[lat_n - 1];

    /* soak: memory over `soak` decisions (batches of 100 through the whole line) */
    {
        double rss10 = -1, rss50 = -1, t0 = s_now_ms();
        long done_n = 0;
        const int sb = 64;
        while (done_n < soak) {
            if (ra_store_decide_many(store, in, (size_t) sb, acks) != RV_OK) {
                fprintf(stderr, "reman-bench: line: %s\n", rv_last_error());
                goto done;
            }
            ra_line_pub_kick(pub);
            done_n += sb;
            /* keep the subscriber within a few batches, as a line would */
            s_wait_for(&sub, acks[sb - 1].seq > 640 ? acks[sb - 1].seq - 640 : 0, 10000);
            if (rss10 < 0 && done_n >= soak / 10) {
                s_wait_for(&sub, acks[sb - 1].seq, 10000);
                rss10 = s_rss_kb();
            }
            if (rss50 < 0 && done_n >= soak / 2) {
                s_wait_for(&sub, acks[sb - 1].seq, 10000);
                rss50 = s_rss_kb();
            }
        }
        uint64_t last = ra_store_last_seq(store);
        s_wait_for(&sub, last, 30000);
        f->soak_per_s = done_n / ((s_now_ms() - t0) / 1e3);
        double rss_end = s_rss_kb();
        f->soak_rss_growth_kb = rss_end - rss10;
        f->soak_rss_growth_half_kb = rss_end - rss50;
        f->soak_decisions = done_n;
        for (uint64_t s = 1; s <= last && s < cap; s++)
            if (sub.recv_ms[s] < 0)
                f->delivered_missing++;
    }
    rc = f->delivered_missing == 0 ? 0 : -1;
done:
    if (have_thread) {
        atomic_store(&sub.stop, 1);
        pthread_join(th, NULL);
    }
    ra_line_pub_destroy(&pub);
    ra_store_close(&store);
    json_decref(insp);
    free(sub.recv_ms);
    free(in);
    free(acks);
    free(lat);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "reman-bench: could not remove %s\n", dir);
    return rc;
}
