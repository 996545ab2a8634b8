/* ra_line.c - the line protocol over ZeroMQ (ra_line.h, docs/protocol.md): the station's
 * publisher and replay service, the subscriber that fills gaps, CURVE keys and the ZAP
 * handler. The one file of the product that includes zmq.h.
 *
 * Publisher. ra_line_pub_new() makes every socket in the caller's thread (so a bind
 * failure is reported there), then hands them to one thread that owns them from then on:
 *   XPUB   decisions, heartbeats, births, death. XPUB rather than PUB so the thread sees
 *          each new subscription: it then publishes the birth again (at most every
 *          S_REBIRTH_MS), so a subscriber that connects late or reconnects after a
 *          restart learns the session, the last seq and the station key at once.
 *   REP    the replay service (ZMQ_MAXMSGSIZE = RA_LINE_MAX_REQUEST: a bigger request
 *          costs its sender the connection, not us the memory).
 *   PAIR   inproc, from the caller: 'K' kick (drain the outbox), 'S' stop.
 *   REP    inproc://zeromq.zap.01, the ZAP handler (RFC 27), when keys are configured:
 *          CURVE clients whose public key is in the allow-list directory get 200, anything
 *          else 400. The directory is read again when its mtime changes.
 * The thread drains the outbox on each kick and on each heartbeat tick (so a lost kick
 * costs at most one heartbeat period), publishes a heartbeat when nothing was published
 * for heartbeat_ms, and publishes death on stop (the XPUB lingers S_LINGER_MS for it).
 * ra_line_pub_flush() waits on a generation counter: done_gen >= the kick's gen means a
 * drain that started after the kick found the outbox empty.
 *
 * Subscriber. One SUB per station (subscribed to "reman."), and a REQ for replay made on
 * first need; a request that gets no answer within S_REPLAY_TIMEOUT_MS closes the REQ and
 * retries on a fresh one (Lazy Pirate), S_REPLAY_TRIES times, then backs off. A station
 * is learnt from its first valid message; its messages must keep that station id. Per
 * station: delivered (the last seq handed to the caller), announced (the highest seq the
 * station said it has), pending (live decisions held while a gap is filled, in seq
 * order). A decision is delivered only as delivered + 1; anything lower is a duplicate
 * and dropped; anything higher waits in pending while the replay service is asked for
 * "since delivered" until it answers more=false. Everything read from a socket is checked
 * by ra_msg first; a bad message becomes a RA_LINE_REJECTED event. */
#include "ra/ra_line.h"

#include "ra/ra_msg.h"
#include "ra/ra_version.h"
#include "rv/rv_error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

_Static_assert(RA_MSG_MAX_ID == RA_STORE_MAX_ID, "station id sizes agree");
_Static_assert(RA_MSG_MAX_REQUEST == RA_LINE_MAX_REQUEST, "request limits agree");

static const char *s_domain = "ra_line";

#define S_EP_SIZE 256
#define S_SNDHWM 100000
#define S_RCVHWM 100000
#define S_LINGER_MS 1000          /* the publisher's XPUB on close: time for death */
#define S_REBIRTH_MS 200          /* at most one repeated birth per this */
#define S_DRAIN_BATCH 1000        /* outbox rows per store call */
#define S_DRAIN_ROUNDS 16         /* batches per wake-up before serving the others */
#define S_REPLAY_TIMEOUT_MS 2000  /* one replay request */
#define S_REPLAY_TRIES 3          /* before backing off */
#define S_REPLAY_BACKOFF_MS 3000  /* after a failed fill */
#define S_PENDING_MAX 20000       /* live decisions held per station during a fill */
#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"

static double s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void ra_line_opts_default(ra_line_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->heartbeat_ms = 1000;
    opts->stale_ms = 3000;
}

/* tcp://127.*, tcp://localhost, tcp://[::1], ipc://, inproc:// */
static int s_loopback(const char *ep)
{
    if (!strncmp(ep, "inproc://", 9) || !strncmp(ep, "ipc://", 6))
        return 1;
    if (strncmp(ep, "tcp://", 6) != 0)
        return 0;
    const char *h = ep + 6;
    const char *semi = strchr(h, ';'); /* connect "tcp://source;dest": dest decides */
    if (semi)
        h = semi + 1;
    const char *colon = strrchr(h, ':');
    if (!colon)
        return 0;
    size_t n = (size_t) (colon - h);
    if ((n == 9 && !strncmp(h, "localhost", 9)) || (n == 5 && !strncmp(h, "[::1]", 5)))
        return 1;
    if (n < 7 || strncmp(h, "127.", 4) != 0)
        return 0;
    for (size_t i = 4; i < n; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || h[i] == '.'))
            return 0;
    return 1;
}

static int s_setint(void *sock, int opt, int v)
{
    return zmq_setsockopt(sock, opt, &v, sizeof v);
}

static void s_close(void **sock_p)
{
    if (*sock_p) {
        s_setint(*sock_p, ZMQ_LINGER, 0);
        zmq_close(*sock_p);
        *sock_p = NULL;
    }
}

/* --- keys ---------------------------------------------------------------------------- */
static int s_z85_ok(const char *z85)
{
    uint8_t raw[32];
    return strlen(z85) == 40 && zmq_z85_decode(raw, z85) != NULL;
}

/* `name = "<40 Z85>"` on one line (leading blanks allowed); 1 and z85 when it is. */
static int s_key_line(const char *line, const char *name, char z85[41])
{
    while (*line == ' ' || *line == '\t')
        line++;
    size_t n = strlen(name);
    if (strncmp(line, name, n) != 0)
        return 0;
    const char *p = line + n;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p++ != '=')
        return 0;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p++ != '"')
        return 0;
    const char *q = strchr(p, '"');
    if (!q || q - p != 40)
        return 0;
    memcpy(z85, p, 40);
    z85[40] = '\0';
    return s_z85_ok(z85);
}

/* Read a small text file whole (keys: far under 64 KiB). */
static int s_read_small(const char *path, char *buf, size_t size, struct stat *st_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return rv_fail(RV_EIO, s_domain, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t) st.st_size >= size) {
        close(fd);
        return rv_fail(RV_EFORMAT, s_domain, "%s: not a key file (not a small regular file)", path);
    }
    ssize_t got = read(fd, buf, size - 1);
    close(fd);
    if (got < 0)
        return rv_fail(RV_EIO, s_domain, "cannot read %s: %s", path, strerror(errno));
    buf[got] = '\0';
    if (st_out)
        *st_out = st;
    return RV_OK;
}

/* public (and secret, when sec != NULL) key from a key pair or .pub file; a line with
 * only the 40 Z85 characters counts as a public key too */
static int s_load_keys(const char *path, char pub[41], char sec[41])
{
    char buf[8192];
    struct stat st;
    memset(&st, 0, sizeof st);
    int rc = s_read_small(path, buf, sizeof buf, &st);
    if (rc != RV_OK)
        return rc;
    if (sec && (st.st_mode & 077))
        return rv_fail(RV_EINVAL, s_domain,
                       "%s holds a secret key and is readable by others (mode %03o): chmod 600",
                       path, (unsigned) (st.st_mode & 0777));
    int have_pub = 0, have_sec = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        char tmp[41];
        if (!have_pub && s_key_line(line, "public-key", tmp)) {
            memcpy(pub, tmp, 41);
            have_pub = 1;
        } else if (sec && !have_sec && s_key_line(line, "secret-key", tmp)) {
            memcpy(sec, tmp, 41);
            have_sec = 1;
        } else if (!have_pub && strlen(line) == 40 && s_z85_ok(line)) {
            memcpy(pub, line, 41);
            have_pub = 1;
        }
    }
    memset(buf, 0, sizeof buf); /* it may have held a secret key */
    if (sec && !have_sec)
        return rv_fail(RV_EFORMAT, s_domain, "%s: no secret-key = \"...\" line", path);
    if (!have_pub && sec) { /* derive it */
        if (zmq_curve_public(pub, sec) != 0)
            return rv_fail(RV_EFORMAT, s_domain, "%s: bad secret key", path);
        have_pub = 1;
    }
    if (!have_pub)
        return rv_fail(RV_EFORMAT, s_domain, "%s: no public-key = \"...\" line", path);
    if (sec) {
        char derived[41];
        if (zmq_curve_public(derived, sec) != 0 || strcmp(derived, pub) != 0)
            return rv_fail(RV_EFORMAT, s_domain, "%s: the public key is not the secret key's",
                           path);
    }
    return RV_OK;
}

int ra_line_keys_public(const char *path, char z85[41])
{
    if (!path || !z85)
        return rv_fail(RV_EINVAL, s_domain, "keys: no path");
    return s_load_keys(path, z85, NULL);
}

static int s_write_new(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return rv_fail(RV_EIO, s_domain, "cannot create %s: %s", path, strerror(errno));
    size_t n = strlen(text);
    int ok = fchmod(fd, mode) == 0 && write(fd, text, n) == (ssize_t) n && fsync(fd) == 0;
    int err = errno;
    if (close(fd) != 0)
        ok = 0;
    if (!ok) {
        unlink(path);
        return rv_fail(RV_EIO, s_domain, "cannot write %s: %s", path, strerror(err));
    }
    return RV_OK;
}

int ra_line_keys_new(const char *path)
{
    if (!path || !*path)
        return rv_fail(RV_EINVAL, s_domain, "keys: no path");
    if (!zmq_has("curve"))
        return rv_fail(RV_EBACKEND, s_domain, "this libzmq has no CURVE support");
    char pubpath[4096];
    if (snprintf(pubpath, sizeof pubpath, "%s.pub", path) >= (int) sizeof pubpath)
        return rv_fail(RV_EINVAL, s_domain, "keys: path too long");
    struct stat st;
    if (lstat(path, &st) == 0 || lstat(pubpath, &st) == 0)
        return rv_fail(RV_EINVAL, s_domain, "%s or %s exists: a key is never overwritten", path,
                       pubpath);
    char pub[41], sec[41], text[512];
    if (zmq_curve_keypair(pub, sec) != 0)
        return rv_fail(RV_EBACKEND, s_domain, "cannot make a key pair: %s", zmq_strerror(errno));
    snprintf(text, sizeof text,
             "# reman-station CURVE key pair (ZeroMQ, Z85). Keep this file secret.\n"
             "public-key = \"%s\"\nsecret-key = \"%s\"\n",
             pub, sec);
    int rc = s_write_new(path, text, 0600);
    memset(sec, 0, sizeof sec);
    if (rc == RV_OK) {
        snprintf(text, sizeof text,
                 "# reman-station CURVE public key (ZeroMQ, Z85): give it to the peer.\n"
                 "public-key = \"%s\"\n",
                 pub);
        rc = s_write_new(pubpath, text, 0644);
        if (rc != RV_OK)
            unlink(path);
    }
    memset(text, 0, sizeof text);
    return rc;
}

/* --- publisher ------------------------------------------------------------------------ */
struct ra_line_pub {
    ra_store_t *store;
    void *ctx;
    void *xpub, *rep, *zap, *pipe_in, *pipe_out;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;   /* the fields below, and pipe_out */
    pthread_cond_t cv;
    uint64_t kick_gen, done_gen;
    int stopping;         /* destroy asked: seen at the latest after one heartbeat period */
    ra_line_pub_stats_t stats;
    char error[512];      /* the thread's last failure */
    /* thread-owned from here */
    int heartbeat_ms;
    char station[RA_STORE_MAX_ID];
    int64_t session;
    char public_key[65];
    char topic_decision[RA_MSG_MAX_TOPIC];
    char pub_ep[S_EP_SIZE], replay_ep[S_EP_SIZE];
    uint64_t last_seq;    /* announced in heartbeats: the last published (or at start) */
    double last_pub_ms, last_birth_ms;
    int birth_due;
    /* the allow list */
    char allow_dir[4096];
    uint8_t (*allow)[32];
    size_t nallow;
    struct timespec allow_mtime;
};

static void s_pub_error(ra_line_pub_t *self, const char *what)
{
    pthread_mutex_lock(&self->mu);
    snprintf(self->error, sizeof self->error, "%s: %s", what, rv_last_error());
    pthread_mutex_unlock(&self->mu);
}

/* (Re)read the allow-list directory: every regular file holding a public key. */
static int s_allow_load(ra_line_pub_t *self)
{
    DIR *d = opendir(self->allow_dir);
    if (!d)
        return rv_fail(RV_EIO, s_domain, "cannot read the allow-list %s: %s", self->allow_dir,
                       strerror(errno));
    struct stat dst;
    if (fstat(dirfd(d), &dst) == 0)
        self->allow_mtime = dst.st_mtim;
    size_t n = 0, cap = 0;
    uint8_t(*keys)[32] = NULL;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[8192], pub[41];
        snprintf(path, sizeof path, "%s/%s", self->allow_dir, de->d_name);
        if (s_load_keys(path, pub, NULL) != RV_OK)
            continue; /* not a key file: a README, an editor's backup */
        if (n == cap) {
            size_t c = cap ? 2 * cap : 16;
            uint8_t(*p)[32] = realloc(keys, c * sizeof *p);
            if (!p)
                break;
            keys = p;
            cap = c;
        }
        zmq_z85_decode(keys[n++], pub);
    }
    closedir(d);
    free(self->allow);
    self->allow = keys;
    self->nallow = n;
    rv_clear_error();
    return RV_OK;
}

static int s_allowed(ra_line_pub_t *self, const uint8_t *key)
{
    struct stat st;
    if (stat(self->allow_dir, &st) == 0 &&
        (st.st_mtim.tv_sec != self->allow_mtime.tv_sec ||
         st.st_mtim.tv_nsec != self->allow_mtime.tv_nsec))
        s_allow_load(self); /* a key added or removed: takes effect now */
    for (size_t i = 0; i < self->nallow; i++)
        if (!memcmp(self->allow[i], key, 32))
            return 1;
    return 0;
}

/* One ZAP request (RFC 27): version, request id, domain, address, identity, mechanism,
 * credentials... Reply: version, request id, status code, status text, user id, metadata. */
static void s_serve_zap(ra_line_pub_t *self)
{
    enum { MAXF = 8 };
    zmq_msg_t f[MAXF];
    int nf = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, self->zap, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            if (nf == 0)
                return; /* nothing there after all */
            break;
        }
        more = zmq_msg_more(&m);
        if (nf < MAXF)
            f[nf++] = m;
        else
            zmq_msg_close(&m);
    }
    const char *status = "400", *text = "denied";
    char user[41] = "";
    if (nf >= 7 && zmq_msg_size(&f[0]) == 3 && !memcmp(zmq_msg_data(&f[0]), "1.0", 3) &&
        zmq_msg_size(&f[5]) == 5 && !memcmp(zmq_msg_data(&f[5]), "CURVE", 5) &&
        zmq_msg_size(&f[6]) == 32) {
        if (s_allowed(self, zmq_msg_data(&f[6]))) {
            status = "200";
            text = "OK";
            zmq_z85_encode(user, zmq_msg_data(&f[6]), 32);
        } else {
            text = "key not in the allow-list";
        }
    } else {
        text = "only CURVE clients are admitted";
    }
    zmq_send(self->zap, "1.0", 3, ZMQ_SNDMORE);
    if (nf >= 2)
        zmq_send(self->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
    else
        zmq_send(self->zap, "", 0, ZMQ_SNDMORE);
    zmq_send(self->zap, status, 3, ZMQ_SNDMORE);
    zmq_send(self->zap, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(self->zap, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(self->zap, "", 0, 0);
    for (int i = 0; i < nf; i++)
        zmq_msg_close(&f[i]);
}

static int s_send2(void *sock, const char *topic, const char *msg, size_t len)
{
    if (zmq_send(sock, topic, strlen(topic), ZMQ_SNDMORE) < 0 || zmq_send(sock, msg, len, 0) < 0)
        return rv_fail(RV_EIO, s_domain, "publish %s: %s", topic, zmq_strerror(errno));
    return RV_OK;
}

static int s_count_record(void *arg, int64_t n, const char *kind, const char *body, size_t len)
{
    (void) n;
    (void) kind;
    (void) body;
    (void) len;
    ++*(int64_t *) arg;
    return 0;
}

/* The upgrade requests waiting at this station, for its heartbeat (-1: not known). */
static int64_t s_upgrades_waiting(ra_store_t *store)
{
    int64_t count = 0;
    return ra_store_upgrade_requests(store, s_count_record, &count) == RV_OK ? count : -1;
}

static void s_publish_kind(ra_line_pub_t *self, ra_msg_kind_t kind)
{
    size_t len = 0;
    char *msg = NULL, topic[RA_MSG_MAX_TOPIC];
    if (kind == RA_MSG_BIRTH)
        msg = ra_msg_birth(self->station, self->session, self->last_seq, NULL, ra_version(),
                           self->public_key, self->replay_ep, &len);
    else if (kind == RA_MSG_HEARTBEAT)
        msg = ra_msg_heartbeat_waiting(self->station, self->session, self->last_seq, NULL,
                                       s_upgrades_waiting(self->store), &len);
    else
        msg = ra_msg_death(self->station, self->session, self->last_seq, NULL, &len);
    if (!msg || ra_msg_topic(kind, self->station, topic, sizeof topic) != RV_OK ||
        s_send2(self->xpub, topic, msg, len) != RV_OK) {
        s_pub_error(self, ra_msg_kind_name(kind));
    } else {
        double now = s_now_ms();
        self->last_pub_ms = now;
        if (kind == RA_MSG_BIRTH) {
            self->last_birth_ms = now;
            self->birth_due = 0;
        }
        if (kind == RA_MSG_HEARTBEAT) {
            pthread_mutex_lock(&self->mu);
            self->stats.heartbeats++;
            pthread_mutex_unlock(&self->mu);
        }
    }
    free(msg);
}

typedef struct {
    ra_line_pub_t *self;
    uint64_t last;
    size_t count;
    int failed;
} s_drain_t;

static int s_publish_one(void *arg, uint64_t seq, const char *msg, size_t len)
{
    s_drain_t *d = arg;
    if (s_send2(d->self->xpub, d->self->topic_decision, msg, len) != RV_OK) {
        d->failed = 1;
        return 1;
    }
    d->last = seq;
    d->count++;
    return 0;
}

/* Publish the outbox, in seq order, and remove what was sent. 1 when it is empty, 0 when
 * more is waiting (served after the other sockets), -1 when the store failed (tried again
 * at the next kick or heartbeat tick: never in a busy loop). */
static int s_drain(ra_line_pub_t *self)
{
    pthread_mutex_lock(&self->mu);
    uint64_t gen = self->kick_gen;
    pthread_mutex_unlock(&self->mu);
    for (int round = 0; round < S_DRAIN_ROUNDS; round++) {
        s_drain_t d = {self, 0, 0, 0};
        int n = ra_store_outbox(self->store, S_DRAIN_BATCH, s_publish_one, &d);
        if (d.count) {
            self->last_seq = d.last;
            self->last_pub_ms = s_now_ms();
            pthread_mutex_lock(&self->mu);
            self->stats.published += d.count;
            self->stats.last_seq = d.last;
            pthread_mutex_unlock(&self->mu);
            if (ra_store_outbox_done(self->store, d.last) != RV_OK) {
                s_pub_error(self, "outbox");
                return -1;
            }
        }
        if (n < 0 || d.failed) {
            s_pub_error(self, "outbox");
            return -1;
        }
        if (n == 0) {
            pthread_mutex_lock(&self->mu);
            if (gen > self->done_gen)
                self->done_gen = gen;
            self->error[0] = '\0';
            pthread_cond_broadcast(&self->cv);
            pthread_mutex_unlock(&self->mu);
            return 1;
        }
    }
    return 0; /* more to come: after the other sockets had their turn */
}

typedef struct {
    zmq_msg_t *m;
    size_t n, cap;
    uint64_t last;
    int failed;
} s_reply_t;

static int s_collect(void *arg, uint64_t seq, const char *msg, size_t len)
{
    s_reply_t *r = arg;
    if (seq <= r->last) { /* the store breaks its own order: refuse to serve it */
        rv_fail(RV_EFORMAT, s_domain, "replay: store gave seq %llu after %llu",
                (unsigned long long) seq, (unsigned long long) r->last);
        r->failed = 1;
        return 1;
    }
    if (r->n == r->cap) {
        size_t c = r->cap ? 2 * r->cap : 64;
        zmq_msg_t *p = realloc(r->m, c * sizeof *p);
        if (!p) {
            r->failed = 1;
            return 1;
        }
        r->m = p;
        r->cap = c;
    }
    if (zmq_msg_init_size(&r->m[r->n], len) != 0) {
        r->failed = 1;
        return 1;
    }
    memcpy(zmq_msg_data(&r->m[r->n]), msg, len);
    r->n++;
    r->last = seq;
    return 0;
}

static void s_reply_error(ra_line_pub_t *self, const char *reason)
{
    static const char prefix[] = "ra_msg: ";
    if (!strncmp(reason, prefix, sizeof prefix - 1))
        reason += sizeof prefix - 1;
    size_t len = 0;
    char *e = ra_msg_error(reason, &len);
    if (e)
        zmq_send(self->rep, e, len, 0);
    else
        zmq_send(self->rep, "{\"op\":\"error\",\"reason\":\"internal\"}", 34, 0);
    free(e);
    pthread_mutex_lock(&self->mu);
    self->stats.replay_errors++;
    pthread_mutex_unlock(&self->mu);
}

/* An evidence request: {"op":"evidence"} then the file's bytes, or one error frame. */
static void s_serve_evidence(ra_line_pub_t *self, const char *hex)
{
    char path[4096], why[300];
    if (ra_store_evidence_path(self->store, hex, path, sizeof path) != RV_OK) {
        s_reply_error(self, "no evidence path for this hash");
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        s_reply_error(self, errno == ENOENT ? "unknown evidence hash" : "evidence unreadable");
        return;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        s_reply_error(self, "evidence unreadable");
        return;
    }
    if ((uint64_t) sb.st_size > RA_MSG_EVIDENCE_MAX) {
        close(fd);
        snprintf(why, sizeof why, "evidence of %lld bytes, over the 64 MiB served",
                 (long long) sb.st_size);
        s_reply_error(self, why);
        return;
    }
    zmq_msg_t body;
    if (zmq_msg_init_size(&body, (size_t) sb.st_size) != 0) {
        close(fd);
        s_reply_error(self, "out of memory");
        return;
    }
    size_t got = 0, want = (size_t) sb.st_size;
    while (got < want) {
        ssize_t n = read(fd, (char *) zmq_msg_data(&body) + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t) n;
    }
    close(fd);
    if (got != want) {
        zmq_msg_close(&body);
        s_reply_error(self, "evidence unreadable (short read)");
        return;
    }
    size_t hlen = 0;
    char *head = ra_msg_evidence_reply(hex, want, &hlen);
    if (!head) {
        zmq_msg_close(&body);
        s_reply_error(self, "internal");
        return;
    }
    if (zmq_send(self->rep, head, hlen, ZMQ_SNDMORE) < 0 || zmq_msg_send(&body, self->rep, 0) < 0)
        zmq_msg_close(&body);
    free(head);
}

/* One replay request: read all its frames, check, answer (always: REP must). */
static void s_serve_replay(ra_line_pub_t *self)
{
    char req[RA_LINE_MAX_REQUEST + 1];
    size_t req_len = 0;
    int frames = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, self->rep, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            if (frames == 0)
                return;
            break;
        }
        more = zmq_msg_more(&m);
        if (frames++ == 0) {
            req_len = zmq_msg_size(&m);
            if (req_len > 0 && req_len <= RA_LINE_MAX_REQUEST)
                memcpy(req, zmq_msg_data(&m), req_len);
        }
        zmq_msg_close(&m);
    }
    pthread_mutex_lock(&self->mu);
    self->stats.replay_requests++;
    pthread_mutex_unlock(&self->mu);
    uint64_t since = 0;
    if (frames != 1) {
        s_reply_error(self, "a request is one frame");
        return;
    }
    if (req_len > RA_LINE_MAX_REQUEST) {
        s_reply_error(self, "request over 4096 bytes");
        return;
    }
    char ev_hex[65];
    int ev = ra_msg_evidence_parse(req, req_len, self->station, ev_hex);
    if (ev == 0) {
        s_serve_evidence(self, ev_hex);
        return;
    }
    if (ev < 0) {
        s_reply_error(self, rv_last_error());
        return;
    }
    if (ra_msg_replay_parse(req, req_len, self->station, &since) != RV_OK) {
        s_reply_error(self, rv_last_error());
        return;
    }
    s_reply_t r = {NULL, 0, 0, since, 0};
    int n = ra_store_messages(self->store, since, RA_LINE_REPLAY_MAX, s_collect, &r);
    char *end = NULL;
    size_t end_len = 0;
    if (n >= 0 && !r.failed) {
        uint64_t last_seq = ra_store_last_seq(self->store);
        end = ra_msg_replay_end(r.last, r.last < last_seq, &end_len);
    }
    if (!end) {
        for (size_t i = 0; i < r.n; i++)
            zmq_msg_close(&r.m[i]);
        free(r.m);
        char why[300];
        snprintf(why, sizeof why, "the store cannot answer: %s", rv_last_error());
        s_reply_error(self, why);
        return;
    }
    size_t i = 0;
    for (; i < r.n; i++)
        if (zmq_msg_send(&r.m[i], self->rep, ZMQ_SNDMORE) < 0)
            break;
    for (; i < r.n; i++)
        zmq_msg_close(&r.m[i]);
    zmq_send(self->rep, end, end_len, 0);
    free(end);
    free(r.m);
}

/* Subscriptions arriving on the XPUB: a subscriber (re)connected: birth again, soon. */
static void s_serve_xpub(ra_line_pub_t *self)
{
    for (int i = 0; i < 1000; i++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        int rc = zmq_msg_recv(&m, self->xpub, ZMQ_DONTWAIT);
        if (rc >= 1 && ((const uint8_t *) zmq_msg_data(&m))[0] == 1)
            self->birth_due = 1;
        zmq_msg_close(&m);
        if (rc < 0)
            break;
    }
}

static void *s_pub_thread(void *arg)
{
    ra_line_pub_t *self = arg;
    s_publish_kind(self, RA_MSG_BIRTH);
    int more = s_drain(self) == 0;
    int stop = 0;
    while (!stop) {
        zmq_pollitem_t items[4];
        int n = 0;
        items[n++] = (zmq_pollitem_t){self->pipe_in, 0, ZMQ_POLLIN, 0};
        items[n++] = (zmq_pollitem_t){self->xpub, 0, ZMQ_POLLIN, 0};
        int irep = -1, izap = -1;
        if (self->rep) {
            irep = n;
            items[n++] = (zmq_pollitem_t){self->rep, 0, ZMQ_POLLIN, 0};
        }
        if (self->zap) {
            izap = n;
            items[n++] = (zmq_pollitem_t){self->zap, 0, ZMQ_POLLIN, 0};
        }
        double now = s_now_ms();
        double next = self->last_pub_ms + self->heartbeat_ms;
        if (self->birth_due) {
            double b = self->last_birth_ms + S_REBIRTH_MS;
            if (b < next)
                next = b;
        }
        long timeout = more ? 0 : next > now ? (long) (next - now) + 1 : 0;
        int rc = zmq_poll(items, n, timeout);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        int kick = more;
        if (items[0].revents & ZMQ_POLLIN) {
            char cmd[8];
            int k;
            while ((k = zmq_recv(self->pipe_in, cmd, sizeof cmd, ZMQ_DONTWAIT)) >= 0)
                if (k >= 1 && cmd[0] == 'S')
                    stop = 1;
                else
                    kick = 1;
        }
        pthread_mutex_lock(&self->mu);
        if (self->stopping)
            stop = 1;
        pthread_mutex_unlock(&self->mu);
        if (items[1].revents & ZMQ_POLLIN)
            s_serve_xpub(self);
        if (izap >= 0 && (items[izap].revents & ZMQ_POLLIN))
            s_serve_zap(self);
        now = s_now_ms();
        int tick = now >= self->last_pub_ms + self->heartbeat_ms;
        if (kick || tick)
            more = s_drain(self) == 0;
        if (irep >= 0 && (items[irep].revents & ZMQ_POLLIN))
            s_serve_replay(self);
        now = s_now_ms();
        if (self->birth_due && now >= self->last_birth_ms + S_REBIRTH_MS)
            s_publish_kind(self, RA_MSG_BIRTH);
        if (now >= self->last_pub_ms + self->heartbeat_ms)
            s_publish_kind(self, RA_MSG_HEARTBEAT);
    }
    s_drain(self);
    s_publish_kind(self, RA_MSG_DEATH);
    s_close(&self->pipe_in);
    s_close(&self->rep);
    s_close(&self->zap);
    zmq_close(self->xpub); /* with its linger: death gets out */
    self->xpub = NULL;
    return NULL;
}

/* CURVE server options on sock */
static int s_curve_server(void *sock, const char *sec)
{
    if (s_setint(sock, ZMQ_CURVE_SERVER, 1) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, 40) != 0 ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, "reman", 5) != 0)
        return rv_fail(RV_EBACKEND, s_domain, "CURVE server options: %s", zmq_strerror(errno));
    return RV_OK;
}

static int s_bind(void *sock, const char *ep, char *bound, size_t size)
{
    if (strchr(ep, '['))
        s_setint(sock, ZMQ_IPV6, 1);
    if (zmq_bind(sock, ep) != 0)
        return rv_fail(RV_EIO, s_domain, "cannot bind %s: %s", ep, zmq_strerror(errno));
    size_t sz = size;
    if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, bound, &sz) != 0)
        snprintf(bound, size, "%s", ep);
    return RV_OK;
}

ra_line_pub_t *ra_line_pub_new(ra_store_t *store, const ra_line_opts_t *opts_in)
{
    ra_line_opts_t opts;
    if (opts_in)
        opts = *opts_in;
    else
        ra_line_opts_default(&opts);
    if (!store) {
        rv_fail(RV_EINVAL, s_domain, "publisher: no store");
        return NULL;
    }
    const char *pub_ep = opts.pub_endpoint ? opts.pub_endpoint : RA_LINE_PUB_DEFAULT;
    const char *rep_ep = opts.replay_endpoint ? opts.replay_endpoint : RA_LINE_REPLAY_DEFAULT;
    int curve = opts.secret_key_file && *opts.secret_key_file;
    if (curve && !(opts.allow_dir && *opts.allow_dir)) {
        rv_fail(RV_EINVAL, s_domain, "a CURVE publisher needs an allow-list directory (allow_dir)");
        return NULL;
    }
    if (!curve && opts.allow_dir && *opts.allow_dir) {
        rv_fail(RV_EINVAL, s_domain, "allow_dir without secret_key_file: no CURVE, no allow-list");
        return NULL;
    }
    if (!curve && !opts.allow_plain) {
        const char *bad = !s_loopback(pub_ep)                    ? pub_ep
                          : (*rep_ep && !s_loopback(rep_ep)) ? rep_ep
                                                             : NULL;
        if (bad) {
            rv_fail(RV_EINVAL, s_domain,
                    "%s is not a loopback endpoint: configure CURVE keys (secret_key_file, "
                    "allow_dir) or set allow_plain",
                    bad);
            return NULL;
        }
    }
    ra_line_pub_t *self = calloc(1, sizeof *self);
    if (!self) {
        rv_fail(RV_ENOMEM, s_domain, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&self->cv, &ca);
    pthread_condattr_destroy(&ca);
    self->store = store;
    self->heartbeat_ms = opts.heartbeat_ms > 0 ? opts.heartbeat_ms : 1000;
    snprintf(self->station, sizeof self->station, "%s", ra_store_station(store));
    self->session = ra_store_session(store);
    const char *pk = ra_store_public_key(store);
    snprintf(self->public_key, sizeof self->public_key, "%s", pk ? pk : "");
    self->last_seq = ra_store_last_seq(store);
    char sec[41] = "", pub[41] = "", pipe_ep[64];
    if (ra_msg_topic(RA_MSG_DECISION, self->station, self->topic_decision,
                     sizeof self->topic_decision) != RV_OK)
        goto fail;
    self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        rv_fail(RV_EBACKEND, s_domain, "zmq_ctx_new: %s", zmq_strerror(errno));
        goto fail;
    }
    if (curve) {
        if (!zmq_has("curve")) {
            rv_fail(RV_EBACKEND, s_domain, "this libzmq has no CURVE support");
            goto fail;
        }
        if (s_load_keys(opts.secret_key_file, pub, sec) != RV_OK)
            goto fail;
        snprintf(self->allow_dir, sizeof self->allow_dir, "%s", opts.allow_dir);
        if (s_allow_load(self) != RV_OK)
            goto fail;
        self->zap = zmq_socket(self->ctx, ZMQ_REP);
        if (!self->zap || s_setint(self->zap, ZMQ_LINGER, 0) != 0 ||
            zmq_bind(self->zap, S_ZAP_ENDPOINT) != 0) {
            rv_fail(RV_EBACKEND, s_domain, "ZAP handler: %s", zmq_strerror(errno));
            goto fail;
        }
    }
    self->xpub = zmq_socket(self->ctx, ZMQ_XPUB);
    if (!self->xpub || s_setint(self->xpub, ZMQ_SNDHWM, S_SNDHWM) != 0 ||
        s_setint(self->xpub, ZMQ_LINGER, S_LINGER_MS) != 0 ||
        s_setint(self->xpub, ZMQ_XPUB_VERBOSE, 1) != 0) {
        rv_fail(RV_EBACKEND, s_domain, "XPUB socket: %s", zmq_strerror(errno));
        goto fail;
    }
    if ((curve && s_curve_server(self->xpub, sec) != RV_OK) ||
        s_bind(self->xpub, pub_ep, self->pub_ep, sizeof self->pub_ep) != RV_OK)
        goto fail;
    if (*rep_ep) {
        int64_t maxsz = RA_LINE_MAX_REQUEST;
        self->rep = zmq_socket(self->ctx, ZMQ_REP);
        if (!self->rep || s_setint(self->rep, ZMQ_LINGER, 0) != 0 ||
            zmq_setsockopt(self->rep, ZMQ_MAXMSGSIZE, &maxsz, sizeof maxsz) != 0 ||
            s_setint(self->rep, ZMQ_SNDHWM, S_SNDHWM) != 0) {
            rv_fail(RV_EBACKEND, s_domain, "REP socket: %s", zmq_strerror(errno));
            goto fail;
        }
        if ((curve && s_curve_server(self->rep, sec) != RV_OK) ||
            s_bind(self->rep, rep_ep, self->replay_ep, sizeof self->replay_ep) != RV_OK)
            goto fail;
    }
    memset(sec, 0, sizeof sec);
    snprintf(pipe_ep, sizeof pipe_ep, "inproc://ra-line-pipe-%p", (void *) self);
    self->pipe_in = zmq_socket(self->ctx, ZMQ_PAIR);
    self->pipe_out = zmq_socket(self->ctx, ZMQ_PAIR);
    if (!self->pipe_in || !self->pipe_out || zmq_bind(self->pipe_in, pipe_ep) != 0 ||
        zmq_connect(self->pipe_out, pipe_ep) != 0) {
        rv_fail(RV_EBACKEND, s_domain, "inproc pipe: %s", zmq_strerror(errno));
        goto fail;
    }
    s_setint(self->pipe_in, ZMQ_LINGER, 0);
    s_setint(self->pipe_out, ZMQ_LINGER, 0);
    self->last_pub_ms = self->last_birth_ms = s_now_ms();
    if (pthread_create(&self->thread, NULL, s_pub_thread, self) != 0) {
        rv_fail(RV_EBACKEND, s_domain, "cannot start the publisher thread");
        goto fail;
    }
    self->started = 1;
    return self;
fail:
    memset(sec, 0, sizeof sec);
    ra_line_pub_destroy(&self);
    return NULL;
}

void ra_line_pub_endpoints(const ra_line_pub_t *self, char *pub, size_t pub_size, char *replay,
                           size_t replay_size)
{
    if (pub && pub_size)
        snprintf(pub, pub_size, "%s", self ? self->pub_ep : "");
    if (replay && replay_size)
        snprintf(replay, replay_size, "%s", self ? self->replay_ep : "");
}

static void s_pipe_send(ra_line_pub_t *self, char cmd, int flags)
{
    /* the caller side of the pipe: under the mutex, so a kick from another thread is safe */
    pthread_mutex_lock(&self->mu);
    if (cmd == 'K')
        self->kick_gen++;
    zmq_send(self->pipe_out, &cmd, 1, flags);
    pthread_mutex_unlock(&self->mu);
}

void ra_line_pub_kick(ra_line_pub_t *self)
{
    if (self)
        s_pipe_send(self, 'K', ZMQ_DONTWAIT); /* a full pipe: kicks are pending anyway */
}

int ra_line_pub_flush(ra_line_pub_t *self, int timeout_ms)
{
    if (!self)
        return rv_fail(RV_EINVAL, s_domain, "flush: no publisher");
    pthread_mutex_lock(&self->mu);
    uint64_t gen = ++self->kick_gen;
    zmq_send(self->pipe_out, "K", 1, ZMQ_DONTWAIT);
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    int64_t ns = dl.tv_nsec + (int64_t) (timeout_ms > 0 ? timeout_ms : 0) * 1000000;
    dl.tv_sec += ns / 1000000000;
    dl.tv_nsec = ns % 1000000000;
    int rc = 0;
    while (self->done_gen < gen && rc == 0)
        rc = pthread_cond_timedwait(&self->cv, &self->mu, &dl);
    int ok = self->done_gen >= gen;
    char err[512];
    snprintf(err, sizeof err, "%s", self->error);
    pthread_mutex_unlock(&self->mu);
    if (ok)
        return RV_OK;
    return rv_fail(RV_EIO, s_domain, "the outbox is not empty after %d ms%s%s", timeout_ms,
                   err[0] ? ": " : "", err);
}

void ra_line_pub_stats(ra_line_pub_t *self, ra_line_pub_stats_t *out)
{
    memset(out, 0, sizeof *out);
    if (!self)
        return;
    pthread_mutex_lock(&self->mu);
    *out = self->stats;
    pthread_mutex_unlock(&self->mu);
}

void ra_line_pub_destroy(ra_line_pub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ra_line_pub_t *self = *self_p;
    if (self->started) {
        pthread_mutex_lock(&self->mu);
        self->stopping = 1; /* if the pipe is full or gone, the thread sees this instead */
        zmq_send(self->pipe_out, "S", 1, ZMQ_DONTWAIT);
        pthread_mutex_unlock(&self->mu);
        pthread_join(self->thread, NULL);
    } else {
        s_close(&self->pipe_in);
        s_close(&self->rep);
        s_close(&self->zap);
        s_close(&self->xpub);
    }
    s_close(&self->pipe_out);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    pthread_cond_destroy(&self->cv);
    pthread_mutex_destroy(&self->mu);
    free(self->allow);
    free(self);
    *self_p = NULL;
}

/* --- subscriber ----------------------------------------------------------------------- */
typedef struct {
    uint64_t seq;
    int64_t session;
    char *msg;
    size_t len;
} s_held_t;

typedef struct {
    char pub_ep[S_EP_SIZE], replay_ep[S_EP_SIZE];
    void *sub, *req;
    char station[RA_STORE_MAX_ID]; /* "" until its first valid message */
    int64_t session, birth_session; /* birth_session: the last birth reported (-1: none) */
    int have_session;
    uint64_t delivered; /* the last seq handed to the caller (or since) */
    uint64_t announced; /* the highest seq the station said it has */
    double last_msg_ms;
    int stale, dead;
    /* gap filling */
    int filling, inflight, tries;
    double deadline, retry_at;
    uint64_t req_since, fill_first, reported_first;
    size_t fill_count;
    s_held_t *held; /* live decisions beyond a gap, in seq order */
    size_t nheld, capheld;
} s_station_t;

struct ra_line_sub {
    void *ctx;
    int stale_ms, curve, allow_plain;
    char pub[41], sec[41], server[41];
    s_station_t **st;
    size_t nst;
    ra_line_event_t *q; /* events not yet taken: q[qhead .. qhead + qn) */
    size_t qhead, qn, qcap;
    zmq_pollitem_t *items;
    s_station_t **owner; /* items[i] belongs to owner[i] */
    int *is_req;
    size_t capitems;
};

static char *s_dup(const void *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        if (n)
            memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

/* Queue an event; msg (malloc'd, may be NULL) is taken. */
__attribute__((format(printf, 7, 8))) static ra_line_event_t *
s_emit(ra_line_sub_t *self, ra_line_event_kind_t kind, const s_station_t *st, uint64_t seq,
       int64_t session, char *msg_taken, const char *fmt, ...)
{
    if (self->qhead + self->qn == self->qcap) {
        if (self->qhead > 0) {
            memmove(self->q, self->q + self->qhead, self->qn * sizeof *self->q);
            self->qhead = 0;
        } else {
            size_t c = self->qcap ? 2 * self->qcap : 64;
            ra_line_event_t *p = realloc(self->q, c * sizeof *p);
            if (!p) {
                free(msg_taken); /* out of memory: this event is lost, the process goes on */
                return NULL;
            }
            self->q = p;
            self->qcap = c;
        }
    }
    ra_line_event_t *ev = &self->q[self->qhead + self->qn++];
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    snprintf(ev->station, sizeof ev->station, "%s", st ? st->station : "");
    ev->session = session;
    ev->seq = seq;
    ev->msg = msg_taken;
    ev->len = msg_taken ? strlen(msg_taken) : 0;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ev->detail, sizeof ev->detail, fmt, ap);
        va_end(ap);
    }
    return ev;
}

static void s_deliver(ra_line_sub_t *self, s_station_t *st, uint64_t seq, int64_t session,
                      char *msg_taken, size_t len, int replayed)
{
    ra_line_event_t *ev = s_emit(self, RA_LINE_DECISION, st, seq, session, msg_taken, NULL);
    if (ev) {
        ev->len = len;
        ev->replayed = replayed;
    }
    st->delivered = seq;
}

/* Deliver what the held list now continues; drop what is no longer needed. */
static void s_flush_held(ra_line_sub_t *self, s_station_t *st)
{
    size_t i = 0;
    for (; i < st->nheld; i++) {
        s_held_t *h = &st->held[i];
        if (h->seq <= st->delivered)
            free(h->msg);
        else if (h->seq == st->delivered + 1)
            s_deliver(self, st, h->seq, h->session, h->msg, h->len, 0);
        else
            break;
    }
    if (i > 0 && i < st->nheld)
        memmove(st->held, st->held + i, (st->nheld - i) * sizeof *st->held);
    st->nheld -= i;
}

static void s_hold(s_station_t *st, const ra_msg_info_t *info, const char *msg, size_t len)
{
    if (st->nheld >= S_PENDING_MAX)
        return; /* the replay will bring it */
    size_t pos = st->nheld;
    while (pos > 0 && st->held[pos - 1].seq > info->seq)
        pos--;
    if (pos > 0 && st->held[pos - 1].seq == info->seq)
        return; /* held already */
    if (st->nheld == st->capheld) {
        size_t c = st->capheld ? 2 * st->capheld : 64;
        s_held_t *p = realloc(st->held, c * sizeof *p);
        if (!p)
            return;
        st->held = p;
        st->capheld = c;
    }
    char *copy = s_dup(msg, len);
    if (!copy)
        return;
    memmove(st->held + pos + 1, st->held + pos, (st->nheld - pos) * sizeof *st->held);
    st->held[pos] = (s_held_t){info->seq, info->session, copy, len};
    st->nheld++;
}

static int s_curve_client(ra_line_sub_t *self, void *sock)
{
    if (!self->curve)
        return RV_OK;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, self->server, 40) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, self->pub, 40) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, self->sec, 40) != 0)
        return rv_fail(RV_EBACKEND, s_domain, "CURVE client options: %s", zmq_strerror(errno));
    return RV_OK;
}

static void s_fill_check(ra_line_sub_t *self, s_station_t *st);

/* A fill that cannot go on now: say so once per gap, try again later. */
static void s_fill_fail(ra_line_sub_t *self, s_station_t *st, const char *why)
{
    s_close(&st->req); /* a REQ that missed its reply is stuck: a fresh one next time */
    st->filling = st->inflight = 0;
    st->retry_at = s_now_ms() + S_REPLAY_BACKOFF_MS;
    if (st->reported_first != st->fill_first) {
        st->reported_first = st->fill_first;
        s_emit(self, RA_LINE_GAP, st, st->delivered, st->session, NULL,
               "seq %llu..%llu not filled yet: %s; retrying every %d ms",
               (unsigned long long) st->delivered + 1, (unsigned long long) st->announced, why,
               S_REPLAY_BACKOFF_MS);
    }
}

static void s_request(ra_line_sub_t *self, s_station_t *st)
{
    char why[400];
    if (!st->req) {
        int64_t maxsz = RA_MSG_MAX_MESSAGE;
        st->req = zmq_socket(self->ctx, ZMQ_REQ);
        if (!st->req || s_setint(st->req, ZMQ_LINGER, 0) != 0 ||
            zmq_setsockopt(st->req, ZMQ_MAXMSGSIZE, &maxsz, sizeof maxsz) != 0 ||
            s_curve_client(self, st->req) != RV_OK ||
            (strchr(st->replay_ep, '[') && s_setint(st->req, ZMQ_IPV6, 1) != 0) ||
            zmq_connect(st->req, st->replay_ep) != 0) {
            snprintf(why, sizeof why, "cannot connect to %s: %s", st->replay_ep,
                     zmq_strerror(errno));
            s_fill_fail(self, st, why);
            return;
        }
    }
    size_t len = 0;
    char *req = ra_msg_replay_request(st->station, st->delivered, &len);
    if (!req || zmq_send(st->req, req, len, ZMQ_DONTWAIT) < 0) {
        free(req);
        snprintf(why, sizeof why, "cannot send to %s: %s", st->replay_ep, zmq_strerror(errno));
        s_fill_fail(self, st, why);
        return;
    }
    free(req);
    st->inflight = 1;
    st->req_since = st->delivered;
    st->deadline = s_now_ms() + S_REPLAY_TIMEOUT_MS;
    st->tries++;
}

/* Is something missing (announced beyond delivered, not continued by held)? Fill it. */
static void s_fill_check(ra_line_sub_t *self, s_station_t *st)
{
    for (;;) {
        if (st->filling || st->announced <= st->delivered || !st->station[0])
            return;
        if (st->replay_ep[0]) {
            if (s_now_ms() < st->retry_at)
                return; /* the timer comes back */
            st->filling = 1;
            st->tries = 0;
            st->fill_first = st->delivered + 1;
            st->fill_count = 0;
            s_request(self, st);
            return;
        }
        /* no replay service: the gap cannot be filled; say so and go on after it */
        uint64_t to = st->nheld ? st->held[0].seq - 1 : st->announced;
        s_emit(self, RA_LINE_GAP, st, to, st->session, NULL,
               "seq %llu..%llu lost: no replay service for this station",
               (unsigned long long) st->delivered + 1, (unsigned long long) to);
        st->delivered = to;
        s_flush_held(self, st);
    }
}

static void s_announce(ra_line_sub_t *self, s_station_t *st, uint64_t seq)
{
    if (seq > st->announced)
        st->announced = seq;
    s_fill_check(self, st);
}

/* One replay reply, all its frames. */
static void s_read_req(ra_line_sub_t *self, s_station_t *st)
{
    enum { MAXF = RA_LINE_REPLAY_MAX + 1 };
    zmq_msg_t *f = malloc(MAXF * sizeof *f);
    if (!f)
        return;
    size_t nf = 0;
    int more = 1, over = 0;
    char why[400];
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, st->req, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (nf < MAXF)
            f[nf++] = m;
        else {
            over = 1;
            zmq_msg_close(&m);
        }
    }
    if (nf == 0) {
        free(f);
        return;
    }
    st->inflight = 0;
    ra_msg_end_t end;
    if (over) {
        snprintf(why, sizeof why, "replay reply over %d frames", MAXF);
        s_fill_fail(self, st, why);
        goto done;
    }
    if (ra_msg_end_parse(zmq_msg_data(&f[nf - 1]), zmq_msg_size(&f[nf - 1]), &end) != RV_OK) {
        snprintf(why, sizeof why, "bad replay reply: %s", rv_last_error());
        s_fill_fail(self, st, why);
        goto done;
    }
    if (end.error) {
        snprintf(why, sizeof why, "the replay service refused: %s", end.reason);
        s_fill_fail(self, st, why);
        goto done;
    }
    uint64_t prev = st->req_since;
    for (size_t i = 0; i + 1 < nf; i++) {
        ra_msg_info_t info;
        const char *data = zmq_msg_data(&f[i]);
        size_t len = zmq_msg_size(&f[i]);
        if (ra_msg_parse_decision(data, len, st->station, &info) != RV_OK || info.seq <= prev) {
            snprintf(why, sizeof why, "bad replay reply (frame %zu): %s", i + 1,
                     info.seq && info.seq <= prev ? "seq out of order" : rv_last_error());
            s_fill_fail(self, st, why);
            goto done;
        }
        prev = info.seq;
        if (info.seq <= st->delivered)
            continue;
        if (info.seq > st->delivered + 1)
            s_emit(self, RA_LINE_GAP, st, info.seq - 1, st->session, NULL,
                   "seq %llu..%llu lost: the station's replay service does not have them",
                   (unsigned long long) st->delivered + 1, (unsigned long long) info.seq - 1);
        char *copy = s_dup(data, len);
        if (!copy) {
            s_fill_fail(self, st, "out of memory");
            goto done;
        }
        s_deliver(self, st, info.seq, info.session, copy, len, 1);
        st->fill_count++;
    }
    if (end.more) {
        if (st->delivered <= st->req_since) {
            s_fill_fail(self, st, "the replay service says more but gives nothing");
            goto done;
        }
        st->tries = 0;
        s_request(self, st);
        goto done;
    }
    /* complete */
    st->filling = 0;
    if (st->fill_count)
        s_emit(self, RA_LINE_GAP, st, st->delivered, st->session, NULL,
               "seq %llu..%llu filled from replay (%zu decisions)",
               (unsigned long long) st->fill_first, (unsigned long long) st->delivered,
               st->fill_count);
    s_flush_held(self, st);
    if (st->announced > st->delivered && st->fill_count == 0) {
        /* the station announced more than its replay service has (yet): later */
        snprintf(why, sizeof why, "the replay service ends at %llu",
                 (unsigned long long) end.last);
        s_fill_fail(self, st, why);
        goto done;
    }
    s_fill_check(self, st);
done:
    for (size_t i = 0; i < nf; i++)
        zmq_msg_close(&f[i]);
    free(f);
}

static s_station_t *s_by_station(ra_line_sub_t *self, const char *station)
{
    for (size_t i = 0; i < self->nst; i++)
        if (!strcmp(self->st[i]->station, station))
            return self->st[i];
    return NULL;
}

/* One message from a station's SUB. */
static void s_on_line(ra_line_sub_t *self, s_station_t *st, const void *topic, size_t tlen,
                      const char *msg, size_t len)
{
    ra_msg_info_t info;
    if (ra_msg_parse(topic, tlen, msg, len, &info) != RV_OK) {
        s_emit(self, RA_LINE_REJECTED, st, 0, 0, NULL, "from %s: %s", st->pub_ep, rv_last_error());
        return;
    }
    if (!st->station[0]) {
        s_station_t *other = s_by_station(self, info.station);
        if (other) {
            s_emit(self, RA_LINE_REJECTED, st, 0, 0, NULL,
                   "from %s: station %s is already connected at %s", st->pub_ep, info.station,
                   other->pub_ep);
            return;
        }
        snprintf(st->station, sizeof st->station, "%s", info.station);
    } else if (strcmp(st->station, info.station) != 0) {
        s_emit(self, RA_LINE_REJECTED, st, 0, 0, NULL,
               "from %s: station %s on station %s's endpoint", st->pub_ep, info.station,
               st->station);
        return;
    }
    st->last_msg_ms = s_now_ms();
    st->stale = 0;
    if (info.kind != RA_MSG_DEATH)
        st->dead = 0;
    switch (info.kind) {
    case RA_MSG_BIRTH: {
        int fresh = st->birth_session != info.session; /* births repeat: report one */
        st->birth_session = info.session;
        st->session = info.session;
        st->have_session = 1;
        if (fresh) {
            s_emit(self, RA_LINE_BIRTH, st, info.seq, info.session, s_dup(msg, len),
                   "station %s session %lld started at seq %llu (replay %s)", info.station,
                   (long long) info.session, (unsigned long long) info.seq,
                   info.replay[0] ? info.replay : "none");
            if (info.seq < st->delivered)
                s_emit(self, RA_LINE_GAP, st, info.seq, info.session, NULL,
                       "station %s restarted at seq %llu, below the %llu delivered: was its "
                       "store replaced? Decisions up to %llu are taken as duplicates",
                       info.station, (unsigned long long) info.seq,
                       (unsigned long long) st->delivered, (unsigned long long) st->delivered);
        }
        s_announce(self, st, info.seq);
        break;
    }
    case RA_MSG_HEARTBEAT:
        st->session = info.session;
        st->have_session = 1;
        s_emit(self, RA_LINE_HEARTBEAT, st, info.seq, info.session, s_dup(msg, len), NULL);
        s_announce(self, st, info.seq);
        break;
    case RA_MSG_DEATH:
        st->dead = 1;
        s_emit(self, RA_LINE_DEATH, st, info.seq, info.session, s_dup(msg, len),
               "station %s session %lld shut down at seq %llu", info.station,
               (long long) info.session, (unsigned long long) info.seq);
        s_announce(self, st, info.seq);
        break;
    case RA_MSG_DECISION:
        if (info.seq <= st->delivered)
            return; /* delivered already: a duplicate */
        if (info.seq > st->announced)
            st->announced = info.seq;
        if (!st->filling && info.seq == st->delivered + 1) {
            char *copy = s_dup(msg, len);
            if (copy)
                s_deliver(self, st, info.seq, info.session, copy, len, 0);
            s_flush_held(self, st);
        } else {
            s_hold(st, &info, msg, len);
        }
        s_fill_check(self, st);
        break;
    }
}

static void s_read_sub(ra_line_sub_t *self, s_station_t *st)
{
    for (int i = 0; i < 1000; i++) {
        zmq_msg_t topic, body;
        zmq_msg_init(&topic);
        if (zmq_msg_recv(&topic, st->sub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&topic);
            return;
        }
        int frames = 1, more = zmq_msg_more(&topic);
        zmq_msg_init(&body);
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, st->sub, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                break;
            }
            more = zmq_msg_more(&m);
            if (++frames == 2)
                zmq_msg_move(&body, &m);
            zmq_msg_close(&m);
        }
        if (frames != 2)
            s_emit(self, RA_LINE_REJECTED, st, 0, 0, NULL,
                   "from %s: a line message is two frames (topic, JSON), not %d", st->pub_ep,
                   frames);
        else
            s_on_line(self, st, zmq_msg_data(&topic), zmq_msg_size(&topic),
                      zmq_msg_data(&body), zmq_msg_size(&body));
        zmq_msg_close(&body);
        zmq_msg_close(&topic);
    }
}

/* Replay deadlines, retries and staleness. The next time something is due. */
static double s_timers(ra_line_sub_t *self)
{
    double now = s_now_ms(), next = now + 60000;
    for (size_t i = 0; i < self->nst; i++) {
        s_station_t *st = self->st[i];
        if (st->inflight && now >= st->deadline) {
            s_close(&st->req);
            st->inflight = 0;
            if (st->tries < S_REPLAY_TRIES) {
                s_request(self, st);
            } else {
                char why[400];
                snprintf(why, sizeof why, "the replay service at %s did not answer (%d tries)",
                         st->replay_ep, S_REPLAY_TRIES);
                s_fill_fail(self, st, why);
            }
        }
        if (!st->filling && st->retry_at > 0 && now >= st->retry_at) {
            st->retry_at = 0;
            s_fill_check(self, st);
        }
        if (!st->stale && !st->dead && now - st->last_msg_ms >= self->stale_ms) {
            st->stale = 1;
            s_emit(self, RA_LINE_STALE, st, st->delivered, st->session, NULL,
                   "no message from %s%s(%s) for %d ms", st->station, st->station[0] ? " " : "",
                   st->pub_ep, self->stale_ms);
        }
        if (st->inflight && st->deadline < next)
            next = st->deadline;
        if (!st->filling && st->retry_at > 0 && st->retry_at < next)
            next = st->retry_at;
        if (!st->stale && !st->dead && st->last_msg_ms + self->stale_ms < next)
            next = st->last_msg_ms + self->stale_ms;
    }
    return next;
}

ra_line_sub_t *ra_line_sub_new(const ra_line_opts_t *opts_in)
{
    ra_line_opts_t opts;
    if (opts_in)
        opts = *opts_in;
    else
        ra_line_opts_default(&opts);
    ra_line_sub_t *self = calloc(1, sizeof *self);
    if (!self) {
        rv_fail(RV_ENOMEM, s_domain, "out of memory");
        return NULL;
    }
    self->stale_ms = opts.stale_ms > 0 ? opts.stale_ms : 3000;
    self->allow_plain = opts.allow_plain;
    int have_key = opts.secret_key_file && *opts.secret_key_file;
    int have_server = opts.server_key && *opts.server_key;
    if (have_key != have_server) {
        rv_fail(RV_EINVAL, s_domain,
                "CURVE needs both this side's key file and the station's public key");
        goto fail;
    }
    if (have_key) {
        if (!zmq_has("curve")) {
            rv_fail(RV_EBACKEND, s_domain, "this libzmq has no CURVE support");
            goto fail;
        }
        if (!s_z85_ok(opts.server_key)) {
            rv_fail(RV_EINVAL, s_domain, "the station's public key must be 40 Z85 characters");
            goto fail;
        }
        if (s_load_keys(opts.secret_key_file, self->pub, self->sec) != RV_OK)
            goto fail;
        snprintf(self->server, sizeof self->server, "%s", opts.server_key);
        self->curve = 1;
    }
    self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        rv_fail(RV_EBACKEND, s_domain, "zmq_ctx_new: %s", zmq_strerror(errno));
        goto fail;
    }
    return self;
fail:
    ra_line_sub_destroy(&self);
    return NULL;
}

int ra_line_sub_add(ra_line_sub_t *self, const char *pub_endpoint, const char *replay_endpoint,
                    uint64_t since)
{
    if (!self || !pub_endpoint || !*pub_endpoint)
        return rv_fail(RV_EINVAL, s_domain, "add: no endpoint");
    if (!replay_endpoint)
        replay_endpoint = "";
    if (strlen(pub_endpoint) >= S_EP_SIZE || strlen(replay_endpoint) >= S_EP_SIZE)
        return rv_fail(RV_EINVAL, s_domain, "add: endpoint too long");
    if (since > (uint64_t) INT64_MAX)
        return rv_fail(RV_EINVAL, s_domain, "add: since out of range");
    if (!self->curve && !self->allow_plain) {
        const char *bad = !s_loopback(pub_endpoint) ? pub_endpoint
                          : (*replay_endpoint && !s_loopback(replay_endpoint)) ? replay_endpoint
                                                                                : NULL;
        if (bad)
            return rv_fail(RV_EINVAL, s_domain,
                           "%s is not a loopback endpoint: configure CURVE keys or allow_plain",
                           bad);
    }
    s_station_t **p = realloc(self->st, (self->nst + 1) * sizeof *p);
    if (!p)
        return rv_fail(RV_ENOMEM, s_domain, "out of memory");
    self->st = p;
    s_station_t *st = calloc(1, sizeof *st);
    if (!st)
        return rv_fail(RV_ENOMEM, s_domain, "out of memory");
    snprintf(st->pub_ep, sizeof st->pub_ep, "%s", pub_endpoint);
    snprintf(st->replay_ep, sizeof st->replay_ep, "%s", replay_endpoint);
    st->delivered = st->announced = since;
    st->birth_session = -1;
    st->last_msg_ms = s_now_ms();
    int64_t maxsz = RA_MSG_MAX_MESSAGE;
    st->sub = zmq_socket(self->ctx, ZMQ_SUB);
    int rc = RV_OK;
    if (!st->sub || s_setint(st->sub, ZMQ_RCVHWM, S_RCVHWM) != 0 ||
        s_setint(st->sub, ZMQ_LINGER, 0) != 0 ||
        zmq_setsockopt(st->sub, ZMQ_MAXMSGSIZE, &maxsz, sizeof maxsz) != 0 ||
        (strchr(pub_endpoint, '[') && s_setint(st->sub, ZMQ_IPV6, 1) != 0) ||
        zmq_setsockopt(st->sub, ZMQ_SUBSCRIBE, "reman.", 6) != 0)
        rc = rv_fail(RV_EBACKEND, s_domain, "SUB socket: %s", zmq_strerror(errno));
    else if ((rc = s_curve_client(self, st->sub)) != RV_OK)
        ;
    else if (zmq_connect(st->sub, pub_endpoint) != 0)
        rc = rv_fail(RV_EINVAL, s_domain, "cannot connect to %s: %s", pub_endpoint,
                     zmq_strerror(errno));
    if (rc != RV_OK) {
        s_close(&st->sub);
        free(st);
        return rc;
    }
    self->st[self->nst++] = st;
    return RV_OK;
}

int ra_line_sub_next(ra_line_sub_t *self, int timeout_ms, ra_line_event_t *ev)
{
    if (!self || !ev)
        return rv_fail(RV_EINVAL, s_domain, "next: no subscriber or event");
    memset(ev, 0, sizeof *ev);
    double end = s_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        if (self->qn) {
            *ev = self->q[self->qhead++];
            if (--self->qn == 0)
                self->qhead = 0;
            return 1;
        }
        double next = s_timers(self);
        if (self->qn)
            continue;
        if (2 * self->nst > self->capitems) {
            size_t c = 2 * self->nst + 8;
            zmq_pollitem_t *it = realloc(self->items, c * sizeof *it);
            if (it)
                self->items = it;
            s_station_t **ow = realloc(self->owner, c * sizeof *ow);
            if (ow)
                self->owner = ow;
            int *rq = realloc(self->is_req, c * sizeof *rq);
            if (rq)
                self->is_req = rq;
            if (!it || !ow || !rq)
                return rv_fail(RV_ENOMEM, s_domain, "out of memory");
            self->capitems = c;
        }
        int n = 0;
        for (size_t i = 0; i < self->nst; i++) {
            s_station_t *st = self->st[i];
            self->items[n] = (zmq_pollitem_t){st->sub, 0, ZMQ_POLLIN, 0};
            self->owner[n] = st;
            self->is_req[n++] = 0;
            if (st->inflight && st->req) {
                self->items[n] = (zmq_pollitem_t){st->req, 0, ZMQ_POLLIN, 0};
                self->owner[n] = st;
                self->is_req[n++] = 1;
            }
        }
        double now = s_now_ms();
        double until = timeout_ms < 0 ? next : (end < next ? end : next);
        long wait = until > now ? (long) (until - now) + 1 : 0;
        int rc = zmq_poll(self->items, n, wait);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            return rv_fail(RV_EIO, s_domain, "poll: %s", zmq_strerror(errno));
        }
        for (int i = 0; i < n && rc > 0; i++) {
            if (!(self->items[i].revents & ZMQ_POLLIN))
                continue;
            if (self->is_req[i]) {
                if (self->owner[i]->inflight && self->owner[i]->req == self->items[i].socket)
                    s_read_req(self, self->owner[i]);
            } else {
                s_read_sub(self, self->owner[i]);
            }
        }
        if (!self->qn && timeout_ms >= 0 && s_now_ms() >= end)
            return 0;
    }
}

void ra_line_event_clear(ra_line_event_t *ev)
{
    if (!ev)
        return;
    free(ev->msg);
    memset(ev, 0, sizeof *ev);
}

void ra_line_sub_destroy(ra_line_sub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ra_line_sub_t *self = *self_p;
    for (size_t i = 0; i < self->nst; i++) {
        s_station_t *st = self->st[i];
        s_close(&st->sub);
        s_close(&st->req);
        for (size_t k = 0; k < st->nheld; k++)
            free(st->held[k].msg);
        free(st->held);
        free(st);
    }
    free(self->st);
    for (size_t i = 0; i < self->qn; i++)
        free(self->q[self->qhead + i].msg);
    free(self->q);
    free(self->items);
    free(self->owner);
    free(self->is_req);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    memset(self->sec, 0, sizeof self->sec);
    free(self);
    *self_p = NULL;
}

/* --- evidence client ------------------------------------------------------------------ */
/* One context and, per replay endpoint, one REQ socket kept connected between fetches (a
 * fetch costs one round trip, not a context, a connection and a handshake). A REQ that
 * missed its reply is stuck: it is closed and made again on the next fetch. */
#define S_FETCH_MAX_EP 256

struct ra_line_fetcher {
    void *ctx;
    int curve;
    int allow_plain;
    char pub[41], sec[41], server[41];
    struct {
        char ep[S_EP_SIZE];
        void *sock;
    } eps[S_FETCH_MAX_EP];
    int neps;
};

ra_line_fetcher_t *ra_line_fetcher_new(const ra_line_opts_t *opts_in)
{
    ra_line_opts_t opts;
    if (opts_in)
        opts = *opts_in;
    else
        ra_line_opts_default(&opts);
    ra_line_fetcher_t *self = calloc(1, sizeof *self);
    if (!self) {
        rv_fail(RV_ENOMEM, s_domain, "out of memory");
        return NULL;
    }
    self->allow_plain = opts.allow_plain;
    self->curve = opts.secret_key_file && *opts.secret_key_file && opts.server_key &&
                  *opts.server_key;
    if (self->curve) {
        if (!s_z85_ok(opts.server_key)) {
            rv_fail(RV_EINVAL, s_domain, "the station's public key must be 40 Z85 characters");
            ra_line_fetcher_destroy(&self);
            return NULL;
        }
        if (s_load_keys(opts.secret_key_file, self->pub, self->sec) != RV_OK) {
            ra_line_fetcher_destroy(&self);
            return NULL;
        }
        snprintf(self->server, sizeof self->server, "%s", opts.server_key);
    }
    if (!(self->ctx = zmq_ctx_new())) {
        rv_fail(RV_EBACKEND, s_domain, "zmq_ctx_new: %s", zmq_strerror(errno));
        ra_line_fetcher_destroy(&self);
        return NULL;
    }
    return self;
}

void ra_line_fetcher_destroy(ra_line_fetcher_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ra_line_fetcher_t *self = *self_p;
    for (int i = 0; i < self->neps; i++)
        s_close(&self->eps[i].sock);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    sodium_memzero(self->sec, sizeof self->sec);
    free(self);
    *self_p = NULL;
}

/* The REQ socket for an endpoint (made and connected when there is none). */
static void **s_fetch_sock(ra_line_fetcher_t *self, const char *ep)
{
    int i = 0;
    while (i < self->neps && strcmp(self->eps[i].ep, ep) != 0)
        i++;
    if (i == self->neps) {
        if (self->neps == S_FETCH_MAX_EP) { /* full: reuse the first slot */
            s_close(&self->eps[0].sock);
            i = 0;
        } else {
            self->neps++;
        }
        snprintf(self->eps[i].ep, sizeof self->eps[i].ep, "%s", ep);
        self->eps[i].sock = NULL;
    }
    if (self->eps[i].sock)
        return &self->eps[i].sock;
    int64_t maxsz = (int64_t) RA_MSG_EVIDENCE_MAX + 4096;
    void *sock = zmq_socket(self->ctx, ZMQ_REQ);
    if (!sock || s_setint(sock, ZMQ_LINGER, 0) != 0 ||
        zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxsz, sizeof maxsz) != 0 ||
        (self->curve && (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, self->server, 40) != 0 ||
                         zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, self->pub, 40) != 0 ||
                         zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, self->sec, 40) != 0)) ||
        (strchr(ep, '[') && s_setint(sock, ZMQ_IPV6, 1) != 0) || zmq_connect(sock, ep) != 0) {
        rv_fail(RV_EBACKEND, s_domain, "evidence: cannot connect to %s: %s", ep,
                zmq_strerror(errno));
        if (sock)
            zmq_close(sock);
        return NULL;
    }
    self->eps[i].sock = sock;
    return &self->eps[i].sock;
}

int ra_line_fetcher_get(ra_line_fetcher_t *self, const char *replay_endpoint, const char *station,
                        const char *hex, uint8_t **bytes, size_t *len, int timeout_ms)
{
    *bytes = NULL;
    *len = 0;
    if (!self || !replay_endpoint || !*replay_endpoint)
        return rv_fail(RV_EINVAL, s_domain, "evidence: no replay endpoint");
    if (strlen(replay_endpoint) >= S_EP_SIZE)
        return rv_fail(RV_EINVAL, s_domain, "evidence: endpoint too long");
    if (!self->curve && !self->allow_plain && !s_loopback(replay_endpoint))
        return rv_fail(RV_EINVAL, s_domain,
                       "%s is not a loopback endpoint: configure CURVE keys or allow_plain",
                       replay_endpoint);
    size_t rlen = 0;
    char *req = ra_msg_evidence_request(station, hex, &rlen);
    if (!req)
        return RV_EINVAL;
    void **sockp = s_fetch_sock(self, replay_endpoint);
    if (!sockp) {
        free(req);
        return RV_EBACKEND;
    }
    void *sock = *sockp;
    int rc = RV_OK;
    if (zmq_send(sock, req, rlen, 0) < 0)
        rc = rv_fail(RV_EIO, s_domain, "evidence: cannot send to %s: %s", replay_endpoint,
                     zmq_strerror(errno));
    free(req);
    zmq_msg_t head, body;
    zmq_msg_init(&head);
    zmq_msg_init(&body);
    uint64_t want = 0;
    if (rc == RV_OK) {
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
        int k;
        while ((k = zmq_poll(&it, 1, timeout_ms > 0 ? timeout_ms : -1)) < 0 && errno == EINTR)
            ;
        if (k <= 0 || zmq_msg_recv(&head, sock, ZMQ_DONTWAIT) < 0)
            rc = rv_fail(RV_EIO, s_domain, "evidence: no reply from %s in %d ms",
                         replay_endpoint, timeout_ms);
    }
    if (rc == RV_OK) {
        int more = zmq_msg_more(&head);
        rc = ra_msg_evidence_reply_parse(zmq_msg_data(&head), zmq_msg_size(&head), hex, &want);
        if (rc == RV_OK && !more)
            rc = rv_fail(RV_EFORMAT, s_domain, "evidence: the reply has no bytes frame");
    }
    /* the rest of the reply (a multipart message arrives whole) */
    int more = rc == RV_OK || zmq_msg_more(&head);
    if (more && zmq_msg_recv(&body, sock, ZMQ_DONTWAIT) < 0 && rc == RV_OK)
        rc = rv_fail(RV_EIO, s_domain, "evidence: the bytes frame did not arrive");
    while (zmq_msg_more(&body)) { /* too many frames: drain them */
        zmq_msg_t x;
        zmq_msg_init(&x);
        int got = zmq_msg_recv(&x, sock, ZMQ_DONTWAIT);
        int again = got >= 0 && zmq_msg_more(&x);
        zmq_msg_close(&x);
        if (rc == RV_OK)
            rc = rv_fail(RV_EFORMAT, s_domain, "evidence: the reply has more than two frames");
        if (!again)
            break;
    }
    if (rc == RV_OK && zmq_msg_size(&body) != want)
        rc = rv_fail(RV_EFORMAT, s_domain, "evidence: %zu bytes received, %llu announced",
                     zmq_msg_size(&body), (unsigned long long) want);
    if (rc == RV_OK) {
        uint8_t digest[crypto_hash_sha256_BYTES];
        char got_hex[65];
        crypto_hash_sha256(digest, zmq_msg_data(&body), zmq_msg_size(&body));
        sodium_bin2hex(got_hex, sizeof got_hex, digest, sizeof digest);
        if (strcmp(got_hex, hex) != 0)
            rc = rv_fail(RV_EFORMAT, s_domain, "evidence %.12s...: the bytes received hash to %.12s...",
                         hex, got_hex);
    }
    if (rc == RV_OK) {
        *len = zmq_msg_size(&body);
        *bytes = malloc(*len ? *len : 1);
        if (!*bytes)
            rc = rv_fail(RV_ENOMEM, s_domain, "out of memory");
        else
            memcpy(*bytes, zmq_msg_data(&body), *len);
    }
    zmq_msg_close(&head);
    zmq_msg_close(&body);
    if (rc == RV_EIO || rc == RV_EBACKEND)
        s_close(sockp); /* no reply: this REQ is stuck; a fresh one next time */
    if (rc != RV_OK)
        *len = 0;
    return rc;
}

int ra_line_fetch_evidence(const char *replay_endpoint, const ra_line_opts_t *opts,
                           const char *station, const char *hex, uint8_t **bytes, size_t *len,
                           int timeout_ms)
{
    *bytes = NULL;
    *len = 0;
    ra_line_fetcher_t *f = ra_line_fetcher_new(opts);
    if (!f)
        return RV_EINVAL;
    int rc = ra_line_fetcher_get(f, replay_endpoint, station, hex, bytes, len, timeout_ms);
    ra_line_fetcher_destroy(&f);
    return rc;
}
