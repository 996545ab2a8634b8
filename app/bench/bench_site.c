/* bench_site.c - the site's figures (see bench_site.h).
 *
 * The site database is filled with decisions shaped like a station's (reman.decision/1,
 * keys sorted, the chain member last, signed with each station's Ed25519 key: they verify
 * as the real ones do) through the real insert path, ra_site_insert (binary COPY), in
 * batches: a generator thread builds and signs the next batch while the server takes the
 * last. Serials are drawn from a pool of cores, so each appears about five times across
 * the stations over three years of decisions; each decision cites its original image and
 * most an overlay (recorded as held, as on a site whose collector fetched them long ago;
 * the files themselves are not written). The fill is deterministic (station and seq give
 * every field), so an interrupted fill goes on where it stopped and a filled database is
 * reused. */
#include "bench_site.h"

#include "ra/ra_line.h"
#include "ra/ra_msg.h"
#include "ra/ra_site.h"
#include "ra/ra_store.h"
#include "rv/rv.h"
#include "rv/rv_error.h"
#include "rv/rv_jpeg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_FILL_BATCH 2000
#define S_INGEST_BATCH 500
#define S_MAX_RULES 16
#define S_FIRST_TS 1704067200LL /* 2024-01-01T00:00:00Z: the fill spans three years */
#define S_SPAN_S (3LL * 365 * 86400)
#define S_JSON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(10))

static int s_quiet;

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static void s_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void s_progress(const char *fmt, ...)
{
    if (s_quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("reman-bench: site: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
}

static uint64_t s_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
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

/* --- the generator: decisions as stations make them ------------------------------------ */

typedef struct {
    char id[48], code[32], en[256], zh[256];
    double limit, guard;
} s_rule_t;

typedef struct {
    char id[32], part[32], model_hash[65];
    double mm_per_px;
    s_rule_t rules[S_MAX_RULES];
    int nrules;
} s_family_t;

typedef struct {
    char name[RA_MSG_MAX_ID];
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    char pk_hex[65];
    uint64_t salt; /* from the name: two stations never make the same ids */
} s_station_t;

typedef struct {
    s_family_t fam[4];
    int nfam;
    long cores;            /* serials drawn from */
    long per_station;      /* decisions per station over the span */
    const char *software;
} s_gen_t;

static const char *s_family_files[] = {"demo-disc", "demo-housing", "demo-shaft",
                                       "cast-impeller"};

/* text with {value}, {limit}, {zone} filled in */
static void s_fill_text(const char *tpl, double value, double limit, char *out, size_t size)
{
    size_t k = 0;
    for (const char *p = tpl; *p && k + 1 < size;) {
        char rep[32] = "";
        size_t skip = 0;
        if (!strncmp(p, "{value}", 7))
            snprintf(rep, sizeof rep, "%.2f", value), skip = 7;
        else if (!strncmp(p, "{limit}", 7))
            snprintf(rep, sizeof rep, "%.2f", limit), skip = 7;
        else if (!strncmp(p, "{zone}", 6))
            snprintf(rep, sizeof rep, "flange"), skip = 6;
        if (skip) {
            int w = snprintf(out + k, size - k, "%s", rep);
            k += w > 0 && (size_t) w < size - k ? (size_t) w : 0;
            p += skip;
        } else {
            out[k++] = *p++;
        }
    }
    out[k] = 0;
}

static int s_gen_init(s_gen_t *g, long rows, int stations)
{
    memset(g, 0, sizeof *g);
    g->per_station = rows / stations;
    g->cores = rows / 5 > 1 ? rows / 5 : 1;
    g->software = "reman-station 0.1.0";
    for (int f = 0; f < 4; f++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.json", RS_FAMILIES_DIR, s_family_files[f]);
        json_error_t err;
        json_t *root = json_load_file(path, 0, &err);
        if (!root)
            return rv_fail(RV_EIO, "reman-bench", "%s: %s", path, err.text);
        s_family_t *fam = &g->fam[g->nfam++];
        snprintf(fam->id, sizeof fam->id, "%s", s_family_files[f]);
        const char *pn = json_string_value(json_array_get(json_object_get(root, "part_numbers"), 0));
        snprintf(fam->part, sizeof fam->part, "%s", pn ? pn : "PN");
        for (char *c = fam->part; *c; c++)
            if (*c == '?' || *c == '*')
                *c = (char) ('0' + (c - fam->part) % 10);
        fam->mm_per_px =
            json_number_value(json_object_get(json_object_get(root, "calibration"), "mm_per_px"));
        uint8_t h[32];
        char *text = json_dumps(root, S_JSON_FLAGS);
        crypto_hash_sha256(h, (const uint8_t *) (text ? text : ""), text ? strlen(text) : 0);
        free(text);
        sodium_bin2hex(fam->model_hash, sizeof fam->model_hash, h, sizeof h);
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(root, "rules"), i, r)
        {
            if (fam->nrules == S_MAX_RULES)
                break;
            s_rule_t *ru = &fam->rules[fam->nrules++];
            json_t *when = json_object_get(r, "when"), *text_o = json_object_get(r, "text");
            snprintf(ru->id, sizeof ru->id, "%s", json_string_value(json_object_get(r, "id")));
            const char *code = json_string_value(json_object_get(r, "reason"));
            snprintf(ru->code, sizeof ru->code, "%s", code ? code : "RULE");
            const char *en = json_string_value(json_object_get(text_o, "en"));
            const char *zh = json_string_value(json_object_get(text_o, "zh"));
            snprintf(ru->en, sizeof ru->en, "%s", en ? en : "");
            snprintf(ru->zh, sizeof ru->zh, "%s", zh ? zh : "");
            ru->limit = json_number_value(json_object_get(when, "limit"));
            ru->guard = json_number_value(json_object_get(when, "guard"));
        }
        json_decref(root);
    }
    return RV_OK;
}

static void s_station_init(s_station_t *st, const char *name)
{
    memset(st, 0, sizeof *st);
    snprintf(st->name, sizeof st->name, "%s", name);
    uint8_t seed[crypto_sign_SEEDBYTES];
    char text[128];
    snprintf(text, sizeof text, "reman-bench site station %s", name);
    crypto_hash_sha256(seed, (const uint8_t *) text, strlen(text));
    crypto_sign_seed_keypair(st->pk, st->sk, seed);
    sodium_bin2hex(st->pk_hex, sizeof st->pk_hex, st->pk, sizeof st->pk);
    for (int i = 0; i < 8; i++)
        st->salt = st->salt << 8 | seed[i];
}

static void s_uuid(uint64_t a, uint64_t b, char out[37])
{
    uint8_t u[16];
    for (int i = 0; i < 8; i++) {
        u[i] = (uint8_t) (a >> (8 * i));
        u[8 + i] = (uint8_t) (b >> (8 * i));
    }
    u[6] = (uint8_t) ((u[6] & 0x0f) | 0x40);
    u[8] = (uint8_t) ((u[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
             u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
             u[15]);
}

static void s_hex_of(const char *what, const char *station, uint64_t seq, char out[65])
{
    char text[160];
    uint8_t h[32];
    snprintf(text, sizeof text, "%s/%s/%" PRIu64, what, station, seq);
    crypto_hash_sha256(h, (const uint8_t *) text, strlen(text));
    sodium_bin2hex(out, 65, h, sizeof h);
}

/* The serial of a station's decision seq (a core drawn from the pool). */
static long s_core(const s_gen_t *g, const s_station_t *st, uint64_t seq)
{
    return (long) (s_mix(st->salt ^ seq ^ 0x5eed) % (uint64_t) g->cores);
}

static void s_serial(long core, char out[32])
{
    snprintf(out, 32, "RC-%07ld", core);
}

/* The evidence a made decision cites. */
typedef struct {
    char hex[2][65];
    size_t bytes[2];
    int n;
} s_cites_t;

/* Station s's decision seq as it publishes it: malloc'd, *len; what it cites in *cites
 * (or NULL). */
static char *s_decision(const s_gen_t *g, const s_station_t *st, int s, uint64_t seq, size_t *len,
                        s_cites_t *cites)
{
    static const char *routes[] = {"reuse", "remanufacture", "refurbish", "repair", "scrap"};
    static const double frac[] = {0.98, 0.89, 0.85, 0.95, 0.0};
    uint64_t r = s_mix(st->salt ^ ((uint64_t) s << 40) ^ seq);
    long core = s_core(g, st, seq);
    const s_family_t *fam = &g->fam[core % g->nfam];
    char serial[32], id[37], insp_id[37], ts[RA_MSG_TS_SIZE];
    s_serial(core, serial);
    s_uuid(r, s_mix(r ^ 1), id);
    s_uuid(s_mix(r ^ 2), s_mix(r ^ 3), insp_id);
    int64_t ms = (S_FIRST_TS + (int64_t) ((double) seq * (double) S_SPAN_S / (double) g->per_station) +
                  s * 37) * 1000 + (int64_t) (r % 60000);
    ra_msg_timestamp_at(ms, ts);
    /* the route: mostly remanufacture; a few overrides, some confirmed by a supervisor */
    unsigned pick = (unsigned) (r >> 8) % 100;
    int route = pick < 18 ? 0 : pick < 63 ? 1 : pick < 78 ? 2 : pick < 90 ? 3 : 4;
    int override = ((r >> 20) % 100) < 6;
    int grader = override ? (route + 1 + (int) ((r >> 28) % 4)) % 5 : route;
    const char *proposal = override && ((r >> 32) & 1) ? "review" : routes[grader];
    json_t *reasons = json_array();
    for (int i = 0; i < fam->nrules; i++) {
        const s_rule_t *ru = &fam->rules[i];
        double v = ru->limit * (double) (s_mix(r ^ (uint64_t) (i + 10)) % 1500) / 1000.0;
        int fired = v > ru->limit;
        char en[300], zh[300];
        s_fill_text(ru->en, v, ru->limit, en, sizeof en);
        s_fill_text(ru->zh, v, ru->limit, zh, sizeof zh);
        json_array_append_new(reasons,
                              json_pack("{s:s, s:s, s:b, s:b, s:f, s:f, s:f, s:s, s:s}", "rule",
                                        ru->id, "code", ru->code, "fired", fired, "deciding",
                                        fired && i == 0, "value", v, "limit", ru->limit, "guard",
                                        ru->guard, "en", en, "zh", zh));
    }
    char orig[65], over[65];
    s_hex_of("original", st->name, seq, orig);
    s_hex_of("overlay", st->name, seq, over);
    json_t *ev = json_array();
    size_t ob = (size_t) (900000 + r % 400000), vb = (size_t) (200000 + r % 90000);
    int overlay = (r >> 40) % 10 < 6;
    json_array_append_new(ev, json_pack("{s:s, s:s, s:I}", "kind", "original", "sha256", orig,
                                        "bytes", (json_int_t) ob));
    if (overlay)
        json_array_append_new(ev, json_pack("{s:s, s:s, s:I}", "kind", "overlay", "sha256", over,
                                            "bytes", (json_int_t) vb));
    if (cites) {
        memcpy(cites->hex[0], orig, 65);
        memcpy(cites->hex[1], over, 65);
        cites->bytes[0] = ob;
        cites->bytes[1] = vb;
        cites->n = overlay ? 2 : 1;
    }
    char op[16], sup[16], reason_code[24];
    snprintf(op, sizeof op, "op-%02d", (int) ((s * 3 + (int) ((r >> 44) % 3)) % 60));
    snprintf(sup, sizeof sup, "sv-%02d", s % 7);
    snprintf(reason_code, sizeof reason_code, "OVR-%s", routes[route]);
    for (char *c = reason_code; *c; c++)
        if (*c >= 'a' && *c <= 'z')
            *c = (char) (*c - 'a' + 'A');
    json_t *ov = override ? json_pack("{s:s, s:s, s:s, s:o}", "from", proposal, "reason_code",
                                      reason_code, "text", "seen at the bench",
                                      "supervisor", route < grader ? json_string(sup) : json_null())
                          : json_null();
    double fr = frac[route];
    json_t *d = json_pack(
        "{s:s, s:s, s:I, s:I, s:s, s:s, s:{s:I, s:s}, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o,"
        " s:s, s:{s:f, s:f, s:f}, s:s, s:s, s:o, s:{s:s, s:s, s:f}, s:s, s:s}",
        "schema", "reman.decision/1", "station", st->name, "session",
        (json_int_t) (1 + seq / 5000), "seq", (json_int_t) seq, "id", id, "ts", ts, "inspection",
        "n", (json_int_t) (2 * seq + 1), "id", insp_id, "serial", serial, "part_number",
        fam->part, "family", fam->id, "model_hash", fam->model_hash, "proposal", proposal,
        "route", routes[route], "override", ov, "reasons", reasons, "credit",
        route == 4 ? "none" : "full", "value_retained", "fraction", fr, "material_kg",
        8.0 * fr, "co2e_kg", 20.0 * fr, "operator", op, "role",
        override && route < grader ? "supervisor" : "technician", "evidence", ev, "calibration",
        "source", "family", "family", fam->id, "mm_per_px", fam->mm_per_px, "software",
        g->software, "isa", "avx2");
    char *body = d ? json_dumps(d, S_JSON_FLAGS) : NULL;
    json_decref(d);
    if (!body)
        return NULL;
    /* signed as the store signs: hash = SHA-256(prev || body), sig = Ed25519(hash) */
    size_t bl = strlen(body);
    uint8_t prev[32], hash[32], sig[64];
    char prev_hex[65], hash_hex[65], sig_hex[129];
    s_hex_of("inspection", st->name, seq, prev_hex);
    sodium_hex2bin(prev, sizeof prev, prev_hex, 64, NULL, NULL, NULL);
    crypto_hash_sha256_state hs;
    crypto_hash_sha256_init(&hs);
    crypto_hash_sha256_update(&hs, prev, sizeof prev);
    crypto_hash_sha256_update(&hs, (const uint8_t *) body, bl);
    crypto_hash_sha256_final(&hs, hash);
    crypto_sign_detached(sig, NULL, hash, sizeof hash, st->sk);
    sodium_bin2hex(hash_hex, sizeof hash_hex, hash, sizeof hash);
    sodium_bin2hex(sig_hex, sizeof sig_hex, sig, sizeof sig);
    size_t cap = bl + 400;
    char *msg = malloc(cap);
    if (msg) {
        body[bl - 1] = 0; /* the closing brace: the chain member goes before it */
        int w = snprintf(msg, cap, "%s,\"chain\":{\"hash\":\"%s\",\"n\":%" PRIu64
                                   ",\"prev\":\"%s\",\"sig\":\"%s\"}}",
                         body, hash_hex, 2 * seq + 2, prev_hex, sig_hex);
        *len = w > 0 ? (size_t) w : 0;
    }
    free(body);
    return msg;
}

/* --- the fill: a generator thread, the insert path in this one -------------------------- */

typedef struct {
    ra_site_decision_t rows[S_FILL_BATCH];
    char *msgs[S_FILL_BATCH];
    size_t n;
    s_cites_t cites[S_FILL_BATCH];
    const char *ev_hex[2 * S_FILL_BATCH];
    size_t ev_bytes[2 * S_FILL_BATCH], nev;
    int last;
} s_batch_t;

typedef struct {
    const s_gen_t *g;
    const s_station_t *st;
    int nst;
    uint64_t from_seq, to_seq; /* seqs to make, every station */
    s_batch_t slot[3];
    int head, tail, count; /* ring of made batches */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, failed;
} s_fill_t;

static void *s_fill_gen(void *arg)
{
    s_fill_t *f = arg;
    uint64_t seq = f->from_seq;
    int s = 0;
    for (;;) {
        pthread_mutex_lock(&f->mu);
        while (f->count == 3 && !f->stop)
            pthread_cond_wait(&f->cv, &f->mu);
        int stop = f->stop;
        s_batch_t *b = &f->slot[f->tail];
        pthread_mutex_unlock(&f->mu);
        if (stop)
            return NULL;
        b->n = 0;
        b->nev = 0;
        b->last = 0;
        /* in time order: seq by seq, every station */
        while (b->n < S_FILL_BATCH && seq <= f->to_seq) {
            size_t len = 0;
            s_cites_t *c = &b->cites[b->n];
            char *m = s_decision(f->g, &f->st[s], s, seq, &len, c);
            for (int k = 0; m && k < c->n; k++) {
                b->ev_hex[b->nev] = c->hex[k];
                b->ev_bytes[b->nev++] = c->bytes[k];
            }
            if (!m) {
                pthread_mutex_lock(&f->mu);
                f->failed = 1;
                f->stop = 1;
                pthread_cond_broadcast(&f->cv);
                pthread_mutex_unlock(&f->mu);
                return NULL;
            }
            b->msgs[b->n] = m;
            b->rows[b->n] = (ra_site_decision_t){f->st[s].name, seq, m, len};
            b->n++;
            if (++s == f->nst) {
                s = 0;
                seq++;
            }
        }
        b->last = seq > f->to_seq;
        pthread_mutex_lock(&f->mu);
        f->tail = (f->tail + 1) % 3;
        f->count++;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
        if (b->last)
            return NULL;
    }
}

static int s_fill(ra_site_t *site, const s_gen_t *g, const s_station_t *st, int nst,
                  uint64_t from_seq, uint64_t to_seq, long *added)
{
    s_fill_t *f = calloc(1, sizeof *f);
    if (!f)
        return rv_fail(RV_ENOMEM, "reman-bench", "no memory");
    *f = (s_fill_t){.g = g, .st = st, .nst = nst, .from_seq = from_seq, .to_seq = to_seq};
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    pthread_t th;
    int rc = RV_OK;
    if (pthread_create(&th, NULL, s_fill_gen, f) != 0) {
        free(f);
        return rv_fail(RV_EIO, "reman-bench", "cannot start the generator");
    }
    double t0 = s_now(), shown = t0;
    long total = (long) (to_seq - from_seq + 1) * nst;
    for (int done = 0; !done && rc == RV_OK;) {
        pthread_mutex_lock(&f->mu);
        while (f->count == 0 && !f->failed)
            pthread_cond_wait(&f->cv, &f->mu);
        if (f->failed) {
            pthread_mutex_unlock(&f->mu);
            rc = rv_fail(RV_ENOMEM, "reman-bench", "the generator failed");
            break;
        }
        s_batch_t *b = &f->slot[f->head];
        pthread_mutex_unlock(&f->mu);
        /* a site that has had its files for years: what the batch cites is held (as the
         * collector would have recorded it), so evidence_wanted stays what a live site's
         * is, the files of the last minutes */
        size_t ins = 0;
        rc = ra_site_evidence_add_many(site, b->ev_hex, b->ev_bytes, b->nev);
        if (rc == RV_OK)
            rc = ra_site_insert(site, b->rows, b->n, &ins);
        *added += (long) ins;
        for (size_t i = 0; i < b->n; i++)
            free(b->msgs[i]);
        done = b->last;
        pthread_mutex_lock(&f->mu);
        f->head = (f->head + 1) % 3;
        f->count--;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
        double now = s_now();
        if (now - shown >= 10) {
            shown = now;
            s_progress("filling: %ld of %ld decisions, %.0f/s\n", *added, total,
                       (double) *added / (now - t0));
        }
    }
    pthread_mutex_lock(&f->mu);
    f->stop = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(th, NULL);
    /* batches made and not inserted */
    while (f->count > 0) {
        s_batch_t *b = &f->slot[f->head];
        for (size_t i = 0; i < b->n; i++)
            free(b->msgs[i]);
        f->head = (f->head + 1) % 3;
        f->count--;
    }
    free(f);
    return rc;
}

/* --- the trace drill ------------------------------------------------------------------ */

typedef struct {
    long records, evidence;
    const char *want_station;
    uint64_t want_seq;
    int found;
} s_drill_t;

static int s_drill_row(void *arg, const ra_site_record_t *rec)
{
    s_drill_t *d = arg;
    d->records++;
    d->evidence += (long) rec->nevidence;
    if (rec->seq == d->want_seq && !strcmp(rec->station, d->want_station))
        d->found = 1;
    return 0;
}

/* --- the catch-up backlog: real stores, publishers, the real collector ------------------ */

typedef struct {
    char dir[4200], name[RA_MSG_MAX_ID];
    int evidence;
    long count;
    ra_store_t *store;
    int rc;
    char err[300];
} s_backlog_t;

/* a small JPEG whose pixels depend on seed (so its hash differs) */
static int s_jpeg(unsigned seed, uint8_t **out, size_t *len)
{
    const int w = 48, h = 32;
    rv_image_t *img = rv_image_new(w, h, RV_RGB8);
    if (!img)
        return rv_fail(RV_ENOMEM, "reman-bench", "no memory for an image");
    rv_view_t v = rv_image_view(img);
    for (int y = 0; y < h; y++) {
        uint8_t *row = rv_view_row(&v, y);
        for (int x = 0; x < w; x++) {
            row[3 * x] = (uint8_t) ((x * 5 + seed) & 0xff);
            row[3 * x + 1] = (uint8_t) ((y * 7 + (seed >> 8)) & 0xff);
            row[3 * x + 2] = (uint8_t) ((x ^ y ^ (seed >> 16)) & 0xff);
        }
    }
    int rc = rv_jpeg_encode(&v, 90, out, len);
    rv_image_destroy(&img);
    return rc;
}

/* One station deciding count inspections as reman-simstation does (inspection stored,
 * then decided by the cell; with evidence, a JPEG each first). */
static void *s_backlog_main(void *arg)
{
    s_backlog_t *b = arg;
    b->rc = -1;
    if (!(b->store = ra_store_open(b->dir, b->name, RA_STORE_WRITE))) {
        snprintf(b->err, sizeof b->err, "%s", rv_last_error());
        return NULL;
    }
    static const char *routes[] = {"reuse", "remanufacture", "refurbish", "repair", "scrap"};
    for (long i = 1; i <= b->count; i++) {
        char hex[65] = "0000000000000000000000000000000000000000000000000000000000000000";
        size_t ev_len = 0;
        json_t *ev = json_array();
        if (b->evidence) {
            uint8_t *jpeg = NULL;
            unsigned seed = (unsigned) i * 2654435761u;
            for (const char *c = b->name; *c; c++)
                seed = seed * 31u + (unsigned char) *c;
            if (s_jpeg(seed, &jpeg, &ev_len) != RV_OK ||
                ra_store_put_evidence(b->store, jpeg, ev_len, hex) != RV_OK) {
                rv_jpeg_free(&jpeg);
                json_decref(ev);
                snprintf(b->err, sizeof b->err, "evidence: %s", rv_last_error());
                return NULL;
            }
            rv_jpeg_free(&jpeg);
            json_array_append_new(ev, json_pack("{s:s, s:s, s:I}", "kind", "original", "sha256",
                                                hex, "bytes", (json_int_t) ev_len));
        }
        char serial[96];
        snprintf(serial, sizeof serial, "SN-%.60s-%06ld", b->name, i);
        const char *route = routes[i % 5];
        json_t *insp = json_pack(
            "{s:s, s:s, s:I, s:s, s:{s:s, s:s, s:s}, s:s, s:i, s:s, s:s, s:s, s:b, s:[], "
            "s:[{s:s, s:s, s:b, s:b, s:f, s:f, s:f, s:s}], s:s, s:{s:f, s:f, s:f}, s:[], "
            "s:s, s:s, s:o}",
            "schema", "reman.inspection/1", "file", "sim.jpg", "bytes", (json_int_t) ev_len,
            "sha256", hex, "code", "text", serial, "serial", serial, "part_number", "BC-4471",
            "family", "demo-disc", "family_revision", 1, "model_hash",
            "1111111111111111111111111111111111111111111111111111111111111111", "proposal", route,
            "route", route, "review", 0, "review_why", "reasons", "rule", "crack-critical", "code",
            "CRK-CRIT", "fired", 0, "deciding", 0, "value", 0.25 * (double) (i % 7), "limit", 2.0,
            "guard", 0.2, "en", "crack in zone flange", "credit", "full", "value_retained",
            "fraction", 0.89, "material_kg", 8.0, "co2e_kg", 20.0, "findings", "isa", "scalar",
            "software", "reman-bench", "evidence", ev);
        int64_t n = 0;
        int st = insp ? ra_store_inspection(b->store, insp, &n) : RV_ENOMEM;
        json_decref(insp);
        ra_decision_in_t in;
        ra_decision_ack_t ack;
        memset(&in, 0, sizeof in);
        in.inspection = n;
        in.operator_id = "cell";
        if (st == RV_OK)
            st = ra_store_decide(b->store, &in, &ack);
        if (st != RV_OK) {
            snprintf(b->err, sizeof b->err, "decision %ld: %s", i, rv_last_error());
            return NULL;
        }
    }
    b->rc = 0;
    return NULL;
}

static int s_catch_up(ra_site_t *site, const rsb_site_opts_t *o, const char *run,
                      rsb_site_figs_t *f)
{
    int nb = o->backlog_stations;
    long per = o->backlog_per_station;
    const char *tmp = getenv("TMPDIR");
    char dir[4096], collector[4200], log[4300];
    snprintf(dir, sizeof dir, "%s/rs-bench-site-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    snprintf(collector, sizeof collector, "%s/reman-collector", o->bindir);
    if (access(collector, X_OK) != 0)
        return rv_fail(RV_EIO, "reman-bench", "%s is not there: no catch-up figure", collector);
    if (!mkdtemp(dir))
        return rv_fail(RV_EIO, "reman-bench", "cannot make a temporary folder: %s",
                       strerror(errno));
    snprintf(log, sizeof log, "%s/collector.err", dir);
    int rc = -1;
    s_backlog_t *bl = calloc((size_t) nb, sizeof *bl);
    pthread_t *th = calloc((size_t) nb, sizeof *th);
    ra_line_pub_t **pubs = calloc((size_t) nb, sizeof *pubs);
    char (*pub_ep)[64] = calloc((size_t) nb, 64), (*rep_ep)[64] = calloc((size_t) nb, 64);
    char **argv = calloc((size_t) (10 + 3 * nb), sizeof *argv);
    pid_t pid = -1;
    if (!bl || !th || !pubs || !pub_ep || !rep_ep || !argv)
        goto out;
    /* the backlog: every station deciding in parallel, as their benches would have */
    s_progress("catch-up: %d stations deciding %ld each into their stores (3 with a JPEG "
               "each)...\n",
               nb, per);
    double t0 = s_now();
    for (int i = 0; i < nb; i++) {
        snprintf(bl[i].name, sizeof bl[i].name, "cu-%s-%02d", run, i + 1);
        snprintf(bl[i].dir, sizeof bl[i].dir, "%s/%s", dir, bl[i].name);
        bl[i].evidence = i < 3;
        bl[i].count = per;
        if (pthread_create(&th[i], NULL, s_backlog_main, &bl[i]) != 0)
            bl[i].rc = -2;
    }
    int bad = 0;
    for (int i = 0; i < nb; i++) {
        if (bl[i].rc != -2)
            pthread_join(th[i], NULL);
        if (bl[i].rc != 0) {
            fprintf(stderr, "reman-bench: site: backlog %s: %s\n", bl[i].name, bl[i].err);
            bad = 1;
        }
    }
    f->backlog_s = s_now() - t0;
    if (bad)
        goto out;
    /* the stations come up: publishers and replay services (what was decided while no
     * collector listened is replayed to it) */
    for (int i = 0; i < nb; i++) {
        snprintf(pub_ep[i], 64, "tcp://127.0.0.1:%d", s_free_port());
        snprintf(rep_ep[i], 64, "tcp://127.0.0.1:%d", s_free_port());
        ra_line_opts_t lo;
        ra_line_opts_default(&lo);
        lo.pub_endpoint = pub_ep[i];
        lo.replay_endpoint = rep_ep[i];
        if (!(pubs[i] = ra_line_pub_new(bl[i].store, &lo))) {
            fprintf(stderr, "reman-bench: site: %s: %s\n", bl[i].name, rv_last_error());
            goto out;
        }
    }
    for (int i = 0; i < nb; i++)
        ra_line_pub_flush(pubs[i], 60000);
    int a = 0;
    argv[a++] = collector;
    argv[a++] = "--db";
    argv[a++] = (char *) o->conninfo;
    argv[a++] = "--evidence";
    char evdir[4200];
    snprintf(evdir, sizeof evdir, "%s/evidence", dir);
    argv[a++] = evdir;
    argv[a++] = "--status-every";
    argv[a++] = "5";
    for (int i = 0; i < nb; i++) {
        argv[a++] = pub_ep[i];
        argv[a++] = "--replay";
        argv[a++] = rep_ep[i];
    }
    argv[a] = NULL;
    s_progress("catch-up: %ld decisions and %ld files wait in %d stations; the collector "
               "starts\n",
               per * nb, per * 3, nb);
    fflush(NULL);
    t0 = s_now();
    pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execv(collector, argv);
        _exit(127);
    }
    if (pid < 0)
        goto out;
    double t_dec = -1, t_ev = -1;
    while (s_now() - t0 < 600) {
        usleep(50 * 1000);
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            pid = -1;
            fprintf(stderr, "reman-bench: site: the collector ended early (see %s)\n", log);
            goto out;
        }
        long long held = 0, wanted = 0;
        int ok = 1;
        for (int i = 0; i < nb && ok; i++) {
            ra_site_counts_t c;
            if (ra_site_counts(site, bl[i].name, &c) != RV_OK) {
                ok = 0;
                break;
            }
            held += c.decisions;
            wanted += c.evidence_outstanding;
        }
        if (!ok)
            continue;
        if (t_dec < 0 && held >= per * nb)
            t_dec = s_now() - t0;
        if (t_dec >= 0 && wanted == 0) {
            t_ev = s_now() - t0;
            break;
        }
    }
    if (t_dec < 0 || t_ev < 0) {
        fprintf(stderr, "reman-bench: site: the collector did not catch up in 600 s (see %s)\n",
                log);
        goto out;
    }
    /* exactly once: each station's seq 1..per, no more, no less */
    for (int i = 0; i < nb; i++) {
        ra_site_counts_t c;
        if (ra_site_counts(site, bl[i].name, &c) != RV_OK || c.decisions != per ||
            c.max_seq != (uint64_t) per) {
            fprintf(stderr, "reman-bench: site: %s: %lld decisions held, max seq %" PRIu64
                            ", not %ld\n",
                    bl[i].name, c.decisions, c.max_seq, per);
            goto out;
        }
    }
    f->catch_up_measured = 1;
    f->catch_up_n = per * nb;
    f->catch_up_files = per * 3;
    f->catch_up_s = t_dec;
    f->catch_up_evidence_s = t_ev;
    rc = 0;
out:
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    for (int i = 0; pubs && i < nb; i++)
        ra_line_pub_destroy(&pubs[i]);
    for (int i = 0; bl && i < nb; i++)
        ra_store_close(&bl[i].store);
    if (rc != 0 && !s_quiet) {
        char cmd[4400];
        snprintf(cmd, sizeof cmd, "tail -5 '%s' >&2 2>/dev/null", log);
        if (system(cmd) != 0)
            fprintf(stderr, "reman-bench: site: no collector log\n");
    }
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "reman-bench: could not remove %s\n", dir);
    free(bl);
    free(th);
    free(pubs);
    free(pub_ep);
    free(rep_ep);
    free(argv);
    return rc;
}

/* --- the whole section ----------------------------------------------------------------- */

#define S_MAX_CONNS 8

/* One insert connection of the ingest figure: its stations' rows, in batches. */
typedef struct s_ingest {
    ra_site_t *site;
    ra_site_decision_t *rows;
    long n;
    size_t inserted;
    int rc;
} s_ingest_t;

static void *s_ingest_run(void *arg)
{
    s_ingest_t *g = arg;
    g->rc = RV_OK;
    for (long k = 0; g->rc == RV_OK && k < g->n; k += S_INGEST_BATCH) {
        size_t b = (size_t) (g->n - k < S_INGEST_BATCH ? g->n - k : S_INGEST_BATCH), ins = 0;
        g->rc = ra_site_insert(g->site, g->rows + k, b, &ins);
        g->inserted += ins;
    }
    return NULL;
}

int rsb_site_bench(const rsb_site_opts_t *o, rsb_site_figs_t *f)
{
    memset(f, 0, sizeof *f);
    s_quiet = o->quiet;
    if (sodium_init() < 0)
        return rv_fail(RV_EBACKEND, "reman-bench", "libsodium does not start");
    int nst = o->stations > 0 ? o->stations : 20;
    long rows = o->rows > 0 ? o->rows : 1000000;
    s_gen_t *g = calloc(1, sizeof *g);
    s_station_t *st = calloc((size_t) nst, sizeof *st);
    ra_site_t *site = NULL;
    int rc = -1;
    if (!g || !st || s_gen_init(g, rows, nst) != RV_OK)
        goto out;
    f->stations = nst;
    f->cores = g->cores;
    if (!(site = ra_site_open(o->conninfo)))
        goto out;
    /* --- the site database: fill it (or go on filling it, or reuse it) --- */
    uint64_t low = UINT64_MAX;
    for (int s = 0; s < nst; s++) {
        char name[32];
        snprintf(name, sizeof name, "bench-%02d", s + 1);
        s_station_init(&st[s], name);
        int found = 0;
        char key[65];
        uint64_t max = 0;
        if (ra_site_station(site, name, &found, key, &max) != RV_OK)
            goto out;
        if (found && key[0] && strcmp(key, st[s].pk_hex) != 0) {
            rv_fail(RV_EINVAL, "reman-bench",
                    "station %s in this database has another key: not the bench's; give "
                    "reman-bench a database of its own",
                    name);
            goto out;
        }
        if (s == 0 && !found) {
            ra_site_counts_t c;
            if (ra_site_counts(site, NULL, &c) != RV_OK)
                goto out;
            if (c.decisions > 0) {
                rv_fail(RV_EINVAL, "reman-bench",
                        "this database holds %lld decisions of other stations: give reman-bench "
                        "a database of its own",
                        c.decisions);
                goto out;
            }
        }
        if (max < low)
            low = max;
        if (ra_site_station_seen(site, name, st[s].pk_hex, 1 + (int64_t) (g->per_station / 5000),
                                 (uint64_t) g->per_station, "up") != RV_OK)
            goto out;
    }
    {
        /* check one made decision the way the collector and reman-audit check them */
        size_t len = 0;
        char *m = s_decision(g, &st[0], 0, 1, &len, NULL);
        ra_msg_info_t info;
        int ok = m && ra_msg_parse_decision(m, len, st[0].name, &info) == RV_OK &&
                 ra_msg_decision_verify(m, len, st[0].pk_hex, NULL, NULL) == RV_OK;
        free(m);
        if (!ok) {
            fprintf(stderr, "reman-bench: site: a generated decision does not verify: %s\n",
                    rv_last_error());
            goto out;
        }
    }
    if (low < (uint64_t) g->per_station) {
        s_progress("filling the site database: %d stations x %ld decisions from seq %" PRIu64
                   " (once; a later run reuses them)...\n",
                   nst, g->per_station, low + 1);
        double t0 = s_now();
        if (s_fill(site, g, st, nst, low + 1, (uint64_t) g->per_station, &f->filled) != RV_OK)
            goto out;
        f->fill_s = s_now() - t0;
        if (ra_site_analyze(site) != RV_OK)
            goto out;
    }
    ra_site_counts_t c;
    if (ra_site_counts(site, NULL, &c) != RV_OK)
        goto out;
    f->rows = c.decisions;

    /* --- the trace drill --- */
    int nd = o->drills > 0 ? o->drills : 50;
    double *ms = calloc((size_t) nd, sizeof *ms);
    if (!ms)
        goto out;
    uint64_t seed = (uint64_t) time(NULL) ^ (uint64_t) getpid();
    long recs = 0, evs = 0;
    for (int i = 0; i < nd; i++) {
        uint64_t r = s_mix(seed + (uint64_t) i);
        int s = (int) (r % (uint64_t) nst);
        uint64_t seq = 1 + (r >> 16) % (uint64_t) g->per_station;
        char serial[32];
        s_serial(s_core(g, &st[s], seq), serial);
        if (i == 0) { /* the plan, executed: the same statement as the drill */
            if (ra_site_history_plan(site, serial, f->plan, sizeof f->plan) != RV_OK) {
                free(ms);
                goto out;
            }
            f->drill_uses_index = strstr(f->plan, "decisions_serial") != NULL;
        }
        s_drill_t d = {0, 0, st[s].name, seq, 0};
        double t0 = s_now();
        int n = ra_site_history(site, serial, s_drill_row, &d);
        ms[i] = (s_now() - t0) * 1e3;
        if (n < 0 || !d.found) {
            fprintf(stderr, "reman-bench: site: the drill for %s did not find %s seq %" PRIu64
                            ": %s\n",
                    serial, st[s].name, seq, n < 0 ? rv_last_error() : "missing");
            free(ms);
            goto out;
        }
        recs += d.records;
        evs += d.evidence;
    }
    f->drills = nd;
    f->drill_records = (double) recs / nd;
    f->drill_evidence = (double) evs / nd;
    qsort(ms, (size_t) nd, sizeof *ms, s_cmp);
    f->drill_p50_ms = nd % 2 ? ms[nd / 2] : 0.5 * (ms[nd / 2 - 1] + ms[nd / 2]);
    f->drill_p95_ms = ms[(int) (0.95 * (nd - 1) + 0.5)];
    f->drill_max_ms = ms[nd - 1];
    free(ms);

    /* --- the audit browser's search (ra_site_search) against streaming the site --- */
    {
        double t[5];
        size_t matched = 0;
        s_drill_t d = {0, 0, "", 0, 0};
        const ra_site_search_t all = {.max = 2000};
        const ra_site_search_t fam = {.family = "demo-disc", .route = "reuse", .max = 2000};
        const ra_site_search_t part = {.serial_part = "-00042", .max = 2000};
        /* the search by a part of a serial again on a session with bitmap scans off: a GIN
         * index is read only through a bitmap scan, so the trigram index is out while the
         * B-tree indexes serve as before; the plan of before schema 4, in the same run (a
         * key = value conninfo: a URI takes its options another way; skipped) */
        char noidx[1200];
        snprintf(noidx, sizeof noidx, "%s options='-c enable_bitmapscan=off'", o->conninfo);
        ra_site_t *slow = strncmp(o->conninfo, "postgres", 8) ? ra_site_open(noidx) : NULL;
        if (!slow)
            fprintf(stderr, "reman-bench: site: no session with bitmap scans off: %s\n",
                    rv_last_error());
        const struct {
            ra_site_t *s;
            const ra_site_search_t *q;
            int runs;
            double *out;
            long long *matched; /* may be NULL */
        } runs[] = {{site, &all, 5, &f->search_all_ms, &f->search_all_matched},
                    {site, &fam, 5, &f->search_filtered_ms, NULL},
                    {site, &part, 3, &f->search_part_ms, &f->search_part_matched},
                    {slow, &part, 3, &f->search_part_noindex_ms,
                     &f->search_part_noindex_matched}};
        for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
            int i = 0;
            for (; runs[k].s && i < runs[k].runs; i++) {
                double t0 = s_now();
                if (ra_site_search(runs[k].s, runs[k].q, NULL, s_drill_row, &d, &matched) < 0)
                    break;
                t[i] = (s_now() - t0) * 1e3;
            }
            if (i < runs[k].runs) {
                if (runs[k].s == site) {
                    fprintf(stderr, "reman-bench: site: search: %s\n", rv_last_error());
                    ra_site_close(&slow);
                    goto out;
                }
                continue; /* the session without the index: not measured, said above */
            }
            if (runs[k].matched)
                *runs[k].matched = (long long) matched;
            qsort(t, (size_t) runs[k].runs, sizeof *t, s_cmp);
            *runs[k].out = t[runs[k].runs / 2];
        }
        ra_site_close(&slow);
        double t0 = s_now();
        if (ra_site_records(site, NULL, NULL, s_drill_row, &d) < 0) {
            fprintf(stderr, "reman-bench: site: records: %s\n", rv_last_error());
            goto out;
        }
        f->records_all_s = s_now() - t0;
    }

    /* --- the insert path: ten stations' decisions, batches of 500 --- */
    char run[16];
    snprintf(run, sizeof run, "%06x", (unsigned) (s_mix(seed) & 0xffffff));
    {
        int ni = 10;
        long per = o->backlog_per_station > 0 ? o->backlog_per_station : 6000;
        long n = ni * per;
        s_station_t *is = calloc((size_t) ni, sizeof *is);
        ra_site_decision_t *rows_in = calloc((size_t) n, sizeof *rows_in);
        char **msgs = calloc((size_t) n, sizeof *msgs);
        s_cites_t *cites = calloc((size_t) n, sizeof *cites);
        int ok = is && rows_in && msgs && cites;
        for (int s = 0; ok && s < ni; s++) {
            char name[40];
            snprintf(name, sizeof name, "in-%s-%02d", run, s + 1);
            s_station_init(&is[s], name);
            ok = ra_site_station_seen(site, name, is[s].pk_hex, 1, (uint64_t) per, "up") == RV_OK;
        }
        for (long k = 0; ok && k < n; k++) { /* in time order across the ten */
            int s = (int) (k % ni);
            uint64_t seq = (uint64_t) (k / ni) + 1;
            size_t len = 0;
            msgs[k] = s_decision(g, &is[s], s, seq, &len, &cites[k]);
            ok = msgs[k] != NULL;
            if (ok)
                rows_in[k] = (ra_site_decision_t){is[s].name, seq, msgs[k], len};
        }
        double tv = s_now();
        for (long k = 0; ok && k < n; k++)
            ok = ra_msg_decision_verify_parsed(rows_in[k].msg, rows_in[k].len,
                                               is[k % ni].pk_hex, NULL, NULL) == RV_OK;
        tv = s_now() - tv;
        /* as reman-collector inserts: each station's stream on one of its connections
         * (station i on connection i mod conns), each connection on its own thread */
        int nc = o->connections > 0 ? o->connections : 1;
        if (nc > S_MAX_CONNS)
            nc = S_MAX_CONNS;
        s_ingest_t ig[S_MAX_CONNS];
        memset(ig, 0, sizeof ig);
        for (int t = 0; ok && t < nc; t++) {
            ig[t].rows = calloc((size_t) n, sizeof *ig[t].rows);
            ig[t].site = t == 0 ? site : ra_site_open(o->conninfo);
            ok = ig[t].rows && ig[t].site;
        }
        for (long k = 0; ok && k < n; k++) {
            s_ingest_t *g2 = &ig[(k % ni) % nc];
            g2->rows[g2->n++] = rows_in[k];
        }
        double t0 = s_now();
        pthread_t th[S_MAX_CONNS];
        int started = 0;
        for (int t = 1; ok && t < nc; t++, started++)
            ok = pthread_create(&th[t], NULL, s_ingest_run, &ig[t]) == 0;
        if (ok)
            s_ingest_run(&ig[0]);
        for (int t = 1; t <= started; t++)
            pthread_join(th[t], NULL);
        double dt = s_now() - t0;
        size_t total = 0;
        for (int t = 0; t < nc; t++) {
            if (ig[t].rc != RV_OK)
                ok = 0;
            total += ig[t].inserted;
            free(ig[t].rows);
            if (t > 0)
                ra_site_close(&ig[t].site);
        }
        f->ingest_connections = nc;
        /* then their files as fetched (not timed): the next run finds a site whose
         * evidence_wanted holds only what is new */
        for (long k = 0; ok && k < n; k += S_FILL_BATCH / 2) {
            const char *hx[S_FILL_BATCH];
            size_t by[S_FILL_BATCH], m = 0;
            for (long j = k; j < n && j < k + S_FILL_BATCH / 2; j++)
                for (int e = 0; e < cites[j].n; e++) {
                    hx[m] = cites[j].hex[e];
                    by[m++] = cites[j].bytes[e];
                }
            ok = ra_site_evidence_add_many(site, hx, by, m) == RV_OK;
        }
        for (long k = 0; msgs && k < n; k++)
            free(msgs[k]);
        free(msgs);
        free(cites);
        free(rows_in);
        free(is);
        if (!ok || total != (size_t) n) {
            fprintf(stderr, "reman-bench: site: ingest: %zu of %ld inserted: %s\n", total, n,
                    rv_last_error());
            goto out;
        }
        f->ingest_n = n;
        f->ingest_per_s = (double) n / dt;
        f->verify_per_s = (double) n / tv;
    }

    /* --- the collector catching up a backlog --- */
    rc = 0;
    if (o->bindir && o->backlog_stations > 0) {
        if (s_catch_up(site, o, run, f) != 0) {
            fprintf(stderr, "reman-bench: site: catch-up: %s\n", rv_last_error());
            rc = -1;
        }
    }
out:
    if (rc != 0 && rv_last_error()[0])
        fprintf(stderr, "reman-bench: site: %s\n", rv_last_error());
    ra_site_close(&site);
    if (st)
        sodium_memzero(st, (size_t) nst * sizeof *st);
    free(st);
    free(g);
    return rc;
}
