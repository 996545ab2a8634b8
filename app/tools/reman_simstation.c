/* reman_simstation.c - reman-simstation: a simulated station for load and fault tests of
 * the line and the site collector (docs/site.md). Not a product program.
 *
 * It opens (creates) a real station store, starts the real publisher and replay service,
 * then builds realistic reman.inspection/1 inspections and decides them the real way
 * (ra_store_inspection + ra_store_decide + ra_line_pub_kick) at --rate decisions per
 * second (or "max"), --count of them. With --evidence each inspection cites one small
 * real JPEG (generated, pixels varying so every hash differs), stored content-addressed
 * in the store. Then it lingers serving replay until SIGTERM/SIGINT (or --linger S).
 *
 * Exit: 0; 1 a store or line failure (named on stderr); 2 usage. */
#include "ra/ra_line.h"
#include "rv/rv_memory.h"
#include "ra/ra_store.h"
#include "rv/rv.h"
#include "rv/rv_error.h"
#include "rv/rv_jpeg.h"

#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
            "usage: reman-simstation --store DIR --station ID [--publish EP] [--replay EP]\n"
            "                        [--rate N|max] [--count N] [--evidence] [--linger S]\n"
            "                        [--serial S]\n"
            "A simulated station for load and fault tests (the site collector, listeners):\n"
            "a real store, publisher and replay service deciding generated inspections\n"
            "(reman.inspection/1, the operator \"cell\" confirming) at --rate per second\n"
            "(default max), --count decisions (default 100), then serving replay until\n"
            "SIGTERM/SIGINT (or --linger seconds). --evidence: one small real JPEG per\n"
            "inspection, each different. --serial: every inspection is of that one core (a\n"
            "core that comes back; default SN-<station>-<n>, a new core each). A store\n"
            "reopened continues its seq.\n");
}

/* a small JPEG whose pixels depend on seed (so its hash differs) */
static int s_jpeg(unsigned seed, uint8_t **out, size_t *len)
{
    const int w = 48, h = 32;
    rv_image_t *img = rv_image_new(w, h, RV_RGB8);
    if (!img)
        return rv_fail(RV_ENOMEM, "reman-simstation", "no memory for an image");
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

static json_t *s_inspection(const char *station, unsigned i, const char *ev_hex, size_t ev_len,
                            const char *fixed_serial)
{
    static const char *routes[] = {"reuse", "remanufacture", "refurbish", "repair", "scrap"};
    static const char *families[] = {"brake-caliper", "demo-disc", "demo-shaft"};
    const char *route = routes[i % 5];
    char serial[64];
    if (fixed_serial)
        snprintf(serial, sizeof serial, "%s", fixed_serial);
    else
        snprintf(serial, sizeof serial, "SN-%s-%06u", station, i);
    json_t *ev = json_array();
    if (ev_hex)
        json_array_append_new(ev, json_pack("{s:s, s:s, s:I}", "kind", "original", "sha256",
                                            ev_hex, "bytes", (json_int_t) ev_len));
    return json_pack(
        "{s:s, s:s, s:I, s:s, s:{s:s, s:s, s:s}, s:s, s:i, s:s, s:s, s:s, s:b, s:n, "
        "s:[{s:s, s:s, s:b, s:b, s:f, s:f, s:f, s:s}], s:s, s:{s:f, s:f, s:f}, s:[], "
        "s:s, s:s, s:o}",
        "schema", "reman.inspection/1", "file", "sim.jpg", "bytes", (json_int_t) ev_len,
        "sha256", ev_hex ? ev_hex : "0000000000000000000000000000000000000000000000000000000000000000",
        "code", "text", serial, "serial", serial, "part_number", "BC-4471", "family",
        families[i % 3], "family_revision", 1, "model_hash",
        "1111111111111111111111111111111111111111111111111111111111111111", "proposal", route,
        "route", route, "review", 0, "review_why", "reasons", "rule", "crack-critical", "code",
        "CRK-CRIT", "fired", 0, "deciding", 0, "value", 0.25 * (i % 7), "limit", 2.0, "guard",
        0.2, "en", "crack in zone flange", "credit", "full", "value_retained", "fraction", 0.89,
        "material_kg", 8.0, "co2e_kg", 20.0, "findings", "isa", "scalar", "software",
        "reman-simstation", "evidence", ev);
}

int main(int argc, char **argv)
{
    rv_memory_keep(); /* images freed stay for the next (rv_memory.h) */
    const char *store_dir = NULL, *station = NULL, *pub_ep = NULL, *rep_ep = NULL,
               *fixed_serial = NULL;
    double rate = 0; /* 0: max */
    long count = 100;
    int evidence = 0;
    double linger = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            s_usage(stdout);
            return 0;
        } else if (strcmp(a, "--evidence") == 0) {
            evidence = 1;
        } else if (v && strcmp(a, "--store") == 0) {
            store_dir = v, i++;
        } else if (v && strcmp(a, "--station") == 0) {
            station = v, i++;
        } else if (v && strcmp(a, "--publish") == 0) {
            pub_ep = v, i++;
        } else if (v && strcmp(a, "--replay") == 0) {
            rep_ep = v, i++;
        } else if (v && strcmp(a, "--rate") == 0) {
            rate = strcmp(v, "max") == 0 ? 0 : atof(v), i++;
        } else if (v && strcmp(a, "--count") == 0) {
            count = atol(v), i++;
        } else if (v && strcmp(a, "--serial") == 0) {
            fixed_serial = v, i++;
        } else if (v && strcmp(a, "--linger") == 0) {
            linger = atof(v), i++;
        } else {
            fprintf(stderr, "reman-simstation: unknown or incomplete option %s\n", a);
            s_usage(stderr);
            return 2;
        }
    }
    if (!store_dir || !station || count < 0 || rate < 0) {
        s_usage(stderr);
        return 2;
    }
    signal(SIGINT, s_on_signal);
    signal(SIGTERM, s_on_signal);
    signal(SIGPIPE, SIG_IGN);

    ra_store_t *store = ra_store_open(store_dir, station, RA_STORE_WRITE);
    if (!store) {
        fprintf(stderr, "reman-simstation: %s\n", rv_last_error());
        return 1;
    }
    ra_line_opts_t opts;
    ra_line_opts_default(&opts);
    opts.pub_endpoint = pub_ep;
    opts.replay_endpoint = rep_ep;
    ra_line_pub_t *pub = ra_line_pub_new(store, &opts);
    if (!pub) {
        fprintf(stderr, "reman-simstation: %s\n", rv_last_error());
        ra_store_close(&store);
        return 1;
    }
    int rc = 0;
    double t0 = s_now();
    uint64_t first = ra_store_last_seq(store);
    long done = 0;
    for (long i = 0; i < count && !s_stop; i++) {
        unsigned k = (unsigned) (first + (uint64_t) i + 1);
        char hex[65] = {0};
        size_t ev_len = 0;
        if (evidence) {
            uint8_t *jpeg = NULL;
            unsigned seed = k * 2654435761u ^ (unsigned) strlen(station) * 40503u;
            for (const char *c = station; *c; c++)
                seed = seed * 31u + (unsigned char) *c;
            if (s_jpeg(seed, &jpeg, &ev_len) != RV_OK ||
                ra_store_put_evidence(store, jpeg, ev_len, hex) != RV_OK) {
                rv_jpeg_free(&jpeg);
                fprintf(stderr, "reman-simstation: evidence: %s\n", rv_last_error());
                rc = 1;
                break;
            }
            rv_jpeg_free(&jpeg);
        }
        json_t *insp = s_inspection(station, k, evidence ? hex : NULL, ev_len, fixed_serial);
        int64_t n = 0;
        int st = insp ? ra_store_inspection(store, insp, &n)
                      : rv_fail(RV_ENOMEM, "reman-simstation", "json_pack failed");
        json_decref(insp);
        ra_decision_ack_t ack;
        if (st == RV_OK) {
            ra_decision_in_t in;
            memset(&in, 0, sizeof in);
            in.inspection = n;
            in.operator_id = "cell";
            st = ra_store_decide(store, &in, &ack);
        }
        if (st != RV_OK) {
            fprintf(stderr, "reman-simstation: decision %ld: %s\n", i + 1, rv_last_error());
            rc = 1;
            break;
        }
        ra_line_pub_kick(pub);
        done++;
        if (rate > 0) {
            double due = t0 + (double) done / rate, now = s_now();
            if (due > now)
                usleep((useconds_t) ((due - now) * 1e6));
        }
    }
    double dt = s_now() - t0;
    ra_line_pub_flush(pub, 5000);
    fprintf(stderr, "reman-simstation: %s: %ld decisions in %.2f s (%.0f/s), last seq %" PRIu64 "\n",
            station, done, dt, dt > 0 ? (double) done / dt : 0.0, ra_store_last_seq(store));
    double tl = s_now();
    while (!s_stop && (linger < 0 || s_now() - tl < linger))
        usleep(50 * 1000);
    ra_line_pub_destroy(&pub);
    ra_store_close(&store);
    return rc;
}
