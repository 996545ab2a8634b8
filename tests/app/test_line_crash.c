/* test_line_crash.c - kill -9 of the station at random points while it decides and
 * publishes, 24 times over, with a subscriber running throughout (real SQLite file, real
 * TCP sockets on loopback, real processes).
 *
 * Each station process opens the store, starts its publisher (which re-publishes what the
 * outbox still holds), then decides and publishes as fast as it can, telling the parent
 * each seq it acknowledged (only after ra_store_decide returned: the decision is durable).
 * The parent SIGKILLs it after a random 20-400 ms, then starts the next. A last station
 * runs without deciding until the subscriber has caught up, and shuts down cleanly.
 * Checks: every acknowledged seq is in the store; the store's seqs are 1..N with no hole;
 * the subscriber delivered each of 1..N exactly once, in order, byte-equal to the store's
 * message; the chain still verifies. */
#include "line_fixture.h"
#include "rv/rv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUNS 24
#define MAX_SEQ 200000

/* A free TCP port on loopback (bound, read, released). */
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

/* The station process: decide and publish until killed (decide = 0: only publish what
 * the outbox holds and serve replay, until SIGTERM). Exit codes: 3 store, 4 line. */
static volatile sig_atomic_t s_term;
static void s_on_term(int sig)
{
    (void) sig;
    s_term = 1;
}

static int s_station(const char *dir, const char *pub_ep, const char *rep_ep, int ackfd,
                     int decide, unsigned seed)
{
    signal(SIGTERM, s_on_term);
    ra_store_t *store = ra_store_open(dir, "crash-1", RA_STORE_WRITE);
    if (!store) {
        fprintf(stderr, "station: %s\n", rv_last_error());
        return 3;
    }
    ra_line_opts_t o;
    ra_line_opts_default(&o);
    o.pub_endpoint = pub_ep;
    o.replay_endpoint = rep_ep;
    o.heartbeat_ms = 100;
    ra_line_pub_t *pub = ra_line_pub_new(store, &o);
    if (!pub) {
        fprintf(stderr, "station: %s\n", rv_last_error());
        ra_store_close(&store);
        return 4;
    }
    srand(seed);
    unsigned i = seed * 1000u;
    while (decide && !s_term) {
        uint64_t seq = 0;
        if (lf_decide(store, i++, &seq) == RV_OK) {
            /* acknowledged: only now may anyone be told */
            if (write(ackfd, &seq, sizeof seq) != (ssize_t) sizeof seq)
                _exit(5);
            ra_line_pub_kick(pub);
        }
        if (rand() % 4 == 0)
            usleep((useconds_t) (rand() % 3000));
    }
    while (!decide && !s_term)
        usleep(10000);
    ra_line_pub_destroy(&pub);
    ra_store_close(&store);
    return 0;
}

typedef struct {
    unsigned char *count; /* per seq: how many times delivered */
    uint64_t last;        /* last delivered seq */
    int out_of_order;
    int births;
    char **msgs;          /* per seq: the message as delivered */
} s_seen_t;

static void s_drain(ra_line_sub_t *sub, s_seen_t *seen, int ms)
{
    double until = lf_now_ms() + ms;
    for (;;) {
        double left = until - lf_now_ms();
        if (left <= 0)
            break;
        ra_line_event_t ev;
        memset(&ev, 0, sizeof ev);
        int rc = ra_line_sub_next(sub, (int) left + 1, &ev);
        if (rc <= 0)
            break;
        if (ev.kind == RA_LINE_DECISION && ev.seq > 0 && ev.seq < MAX_SEQ) {
            if (ev.seq != seen->last + 1)
                seen->out_of_order++;
            seen->last = ev.seq;
            if (seen->count[ev.seq] < 255)
                seen->count[ev.seq]++;
            if (!seen->msgs[ev.seq]) {
                seen->msgs[ev.seq] = ev.msg;
                ev.msg = NULL;
            }
        } else if (ev.kind == RA_LINE_BIRTH) {
            seen->births++;
        }
        ra_line_event_clear(&ev);
    }
}

int main(void)
{
    if (sodium_init() < 0 || rv_init() != RV_OK)
        return 1;
    char dir[] = "/tmp/rs-crash-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    int p1 = s_free_port(), p2 = s_free_port();
    while (p2 == p1)
        p2 = s_free_port();
    char pub_ep[64], rep_ep[64];
    snprintf(pub_ep, sizeof pub_ep, "tcp://127.0.0.1:%d", p1);
    snprintf(rep_ep, sizeof rep_ep, "tcp://127.0.0.1:%d", p2);
    unsigned seed0 = (unsigned) time(NULL);
    printf("test_line_crash: store %s, %s, replay %s, seed %u\n", dir, pub_ep, rep_ep, seed0);
    srand(seed0);

    s_seen_t seen = {calloc(MAX_SEQ, 1), 0, 0, 0, calloc(MAX_SEQ, sizeof(char *))};
    unsigned char *acked = calloc(MAX_SEQ, 1);
    ra_line_opts_t o;
    ra_line_opts_default(&o);
    o.stale_ms = 1000;
    ra_line_sub_t *sub = ra_line_sub_new(&o);
    RS_CHECK(sub != NULL);
    if (!sub || !seen.count || !seen.msgs || !acked)
        return rs_test_end("test_line_crash");
    RS_CHECK_EQ(ra_line_sub_add(sub, pub_ep, rep_ep, 0), 0);

    int kills = 0, nacked = 0;
    for (int run = 0; run <= RUNS; run++) {
        int last_run = run == RUNS;
        int fds[2];
        if (pipe(fds) != 0)
            return 1;
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            _exit(s_station(dir, pub_ep, rep_ep, fds[1], !last_run, (unsigned) run + 1));
        }
        close(fds[1]);
        fcntl(fds[0], F_SETFL, O_NONBLOCK);
        if (!last_run) {
            /* a random moment: while starting, deciding, committing or publishing */
            s_drain(sub, &seen, 20 + rand() % 380);
            kill(pid, SIGKILL);
            kills++;
        } else {
            /* the last station decides nothing: wait until the subscriber has every
             * decision the store holds, then stop it cleanly */
            ra_store_t *ro = ra_store_open(dir, "crash-1", RA_STORE_READONLY);
            uint64_t want = ro ? ra_store_last_seq(ro) : 0;
            ra_store_close(&ro);
            double t0 = lf_now_ms();
            while (seen.last < want && lf_now_ms() - t0 < 30000)
                s_drain(sub, &seen, 200);
            kill(pid, SIGTERM);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        if (last_run)
            RS_CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "the last station ended with status %d", status);
        else
            RS_CHECKF(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0),
                      "run %d: station failed to start (exit %d)", run,
                      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        uint64_t seq;
        while (read(fds[0], &seq, sizeof seq) == (ssize_t) sizeof seq)
            if (seq > 0 && seq < MAX_SEQ) {
                acked[seq] = 1;
                nacked++;
            }
        close(fds[0]);
    }
    s_drain(sub, &seen, 300);

    ra_store_t *store = ra_store_open(dir, "crash-1", RA_STORE_READONLY);
    RS_CHECK(store != NULL);
    uint64_t last = store ? ra_store_last_seq(store) : 0;
    printf("test_line_crash: %d kills, %d decisions acknowledged, %" PRIu64
           " stored, %" PRIu64 " delivered last, %d births seen\n",
           kills, nacked, last, seen.last, seen.births);
    RS_CHECKF(last > 100, "only %" PRIu64 " decisions stored over %d runs", last, RUNS);
    RS_CHECK(last < MAX_SEQ);
    /* nothing acknowledged that is not stored */
    int acked_missing = 0;
    for (uint64_t s = 1; s < MAX_SEQ; s++)
        if (acked[s] && s > last)
            acked_missing++;
    RS_CHECK_EQ(acked_missing, 0);
    /* the subscriber holds every stored decision exactly once, in order, unchanged */
    int missing = 0, dup = 0, differ = 0;
    for (uint64_t s = 1; s <= last && s < MAX_SEQ; s++) {
        if (seen.count[s] == 0)
            missing++;
        if (seen.count[s] > 1)
            dup++;
        char *msg = NULL;
        size_t len = 0;
        if (ra_store_message(store, s, &msg, &len) != RV_OK)
            missing++; /* a hole in the store's seqs */
        else if (seen.msgs[s] && strcmp(seen.msgs[s], msg) != 0)
            differ++;
        free(msg);
    }
    for (uint64_t s = last + 1; s < MAX_SEQ; s++)
        if (seen.count[s])
            dup++; /* delivered but not stored */
    RS_CHECK_EQ(missing, 0);
    RS_CHECK_EQ(dup, 0);
    RS_CHECK_EQ(differ, 0);
    RS_CHECK_EQ(seen.out_of_order, 0);
    RS_CHECK(seen.births >= 1);
    ra_verify_report_t rep;
    memset(&rep, 0, sizeof rep);
    RS_CHECKF(store && ra_store_verify(store, &rep) == RV_OK, "verify: %s", rep.what);
    ra_store_close(&store);

    ra_line_sub_destroy(&sub);
    for (int s = 0; s < MAX_SEQ; s++)
        free(seen.msgs[s]);
    free(seen.msgs);
    free(seen.count);
    free(acked);
    lf_rmrf(dir);
    return rs_test_end("test_line_crash");
}
