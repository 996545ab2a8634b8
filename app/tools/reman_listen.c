/* reman_listen.c - reman-listen: a line subscriber (docs/protocol.md).
 *
 * Connects to one or more stations (each: its PUB endpoint, then --replay and its replay
 * endpoint) and prints their decisions in seq order, each exactly once, gaps filled from
 * the replay service: a table on a terminal, else (or with --json) one JSON line per
 * decision, the message exactly as received. Events (births, deaths, gaps, stale
 * stations, rejected messages) go to stderr. It ends after --count decisions, or after
 * --timeout seconds without a decision, or on SIGINT/SIGTERM; every line is flushed as
 * it is printed, so a killed listener leaves whole lines.
 *
 * --verify checks each decision's hash and Ed25519 signature with the station's key (from
 * its birth message, or --station-key HEX) and the chain between decisions that are
 * consecutive records; a decision is held until its station's key is known. A failure is
 * reported on stderr, the decision is still printed, and the exit status becomes 1.
 *
 * Exit: 0; 1 a decision failed --verify; 2 usage; 3 cannot connect (bad endpoint, keys). */
#include "ra/ra_line.h"
#include "ra/ra_msg.h"
#include "rv/rv_error.h"

#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_VERIFY = 1, EXIT_USAGE = 2, EXIT_SETUP = 3 };

#define MAX_STATIONS 64
#define MAX_HELD 100000

typedef struct {
    char *msg;
    size_t len;
    uint64_t seq;
} s_held_t;

/* what --verify knows of a station */
typedef struct {
    char name[RA_MSG_MAX_ID];
    char key[65];
    int64_t chain_n;
    char chain_hash[65];
    s_held_t *held;
    size_t nheld;
} s_known_t;

typedef struct {
    int json, verify, quiet, verbose;
    long count, printed;
    const char *station_key;
    int header_done;
    int bad;
    s_known_t known[MAX_STATIONS];
    int nknown;
} s_ctx_t;

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void) sig;
    s_stop = 1;
}

static double s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: reman-listen ENDPOINT --replay ENDPOINT [ENDPOINT --replay ENDPOINT ...]\n"
            "                    [--since N] [--count N] [--timeout S] [--json] [--verify]\n"
            "                    [--station-key HEX] [--key FILE --server-key Z85|FILE]\n"
            "                    [--stale-ms N] [--allow-plain] [--quiet] [--verbose]\n"
            "Prints the decisions stations publish, in seq order, each once; fills gaps from\n"
            "each station's replay service. A table on a terminal, else one JSON line per\n"
            "decision (the message as received); events on stderr.\n"
            "  ENDPOINT            a station's PUB endpoint (tcp://127.0.0.1:5556)\n"
            "  --replay EP         that station's replay endpoint (tcp://127.0.0.1:5557);\n"
            "                      without it gaps cannot be filled (reported, skipped)\n"
            "  --since N           only decisions with seq > N (default 0: all, by replay)\n"
            "  --count N           stop after N decisions\n"
            "  --timeout S         stop after S seconds without a decision\n"
            "  --json              JSON lines even on a terminal\n"
            "  --verify            check each decision's signature and chain (key from the\n"
            "                      station's birth, or --station-key); exit 1 on a failure\n"
            "  --station-key HEX   the station's Ed25519 public key (64 hex), for --verify\n"
            "  --key FILE          this listener's CURVE key pair (reman-keys new)\n"
            "  --server-key K      the station's CURVE public key: Z85, or its .pub file\n"
            "  --stale-ms N        report a station silent for N ms (default 3000)\n"
            "  --allow-plain       allow plain TCP to non-loopback addresses\n"
            "  --quiet             no events on stderr; --verbose: heartbeats too\n"
            "Exit: 0; 1 a decision failed --verify; 2 usage; 3 cannot connect.\n");
}

static int s_parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    if (!s || !*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || v > (unsigned long long) INT64_MAX)
        return -1;
    *out = v;
    return 0;
}

static const char *s_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "-";
}

static void s_print(s_ctx_t *c, const char *msg, size_t len)
{
    if (c->count && c->printed >= c->count)
        return; /* --count reached (held decisions released at once may overshoot) */
    c->printed++;
    if (c->json) {
        fwrite(msg, 1, len, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        return;
    }
    json_t *o = json_loadb(msg, len, 0, NULL);
    if (!o)
        return;
    if (!c->header_done) {
        printf("%8s  %-24s  %-12s  %-16s  %-16s  %-13s  %-10s  %s\n", "seq", "time", "station",
               "serial", "family", "route", "operator", "override");
        c->header_done = 1;
    }
    char ov[160] = "-";
    json_t *o_ov = json_object_get(o, "override");
    if (json_is_object(o_ov))
        snprintf(ov, sizeof ov, "from %s (%s)", s_str(o_ov, "from"), s_str(o_ov, "reason_code"));
    printf("%8" PRIu64 "  %-24s  %-12s  %-16s  %-16s  %-13s  %-10s  %s\n",
           (uint64_t) json_integer_value(json_object_get(o, "seq")), s_str(o, "ts"),
           s_str(o, "station"), s_str(o, "serial"), s_str(o, "family"), s_str(o, "route"),
           s_str(o, "operator"), ov);
    fflush(stdout);
    json_decref(o);
}

static s_known_t *s_known(s_ctx_t *c, const char *station)
{
    for (int i = 0; i < c->nknown; i++)
        if (!strcmp(c->known[i].name, station))
            return &c->known[i];
    if (c->nknown == MAX_STATIONS)
        return NULL;
    s_known_t *k = &c->known[c->nknown++];
    memset(k, 0, sizeof *k);
    snprintf(k->name, sizeof k->name, "%s", station);
    if (c->station_key)
        snprintf(k->key, sizeof k->key, "%s", c->station_key);
    return k;
}

/* verify one decision against what is known of its station; print it either way */
static void s_verify_print(s_ctx_t *c, s_known_t *k, uint64_t seq, const char *msg, size_t len)
{
    ra_msg_chain_t chain;
    if (ra_msg_decision_verify(msg, len, k->key, NULL, &chain) != RV_OK) {
        fprintf(stderr, "reman-listen: %s seq %" PRIu64 ": NOT VERIFIED: %s\n", k->name, seq,
                rv_last_error());
        c->bad++;
    } else if (k->chain_n && chain.n <= k->chain_n) {
        fprintf(stderr,
                "reman-listen: %s seq %" PRIu64 ": chain record %lld does not follow %lld\n",
                k->name, seq, (long long) chain.n, (long long) k->chain_n);
        c->bad++;
    } else if (k->chain_n && chain.n == k->chain_n + 1 && strcmp(chain.prev, k->chain_hash)) {
        fprintf(stderr,
                "reman-listen: %s seq %" PRIu64 ": chain broken: record %lld does not link to "
                "record %lld\n",
                k->name, seq, (long long) chain.n, (long long) k->chain_n);
        c->bad++;
    } else {
        k->chain_n = chain.n;
        snprintf(k->chain_hash, sizeof k->chain_hash, "%s", chain.hash);
    }
    s_print(c, msg, len);
}

static void s_flush_held(s_ctx_t *c, s_known_t *k)
{
    for (size_t i = 0; i < k->nheld; i++) {
        if (k->key[0])
            s_verify_print(c, k, k->held[i].seq, k->held[i].msg, k->held[i].len);
        else {
            fprintf(stderr,
                    "reman-listen: %s seq %" PRIu64 ": NOT VERIFIED: no station key (no birth "
                    "seen, no --station-key)\n",
                    k->name, k->held[i].seq);
            c->bad++;
            s_print(c, k->held[i].msg, k->held[i].len);
        }
        free(k->held[i].msg);
    }
    free(k->held);
    k->held = NULL;
    k->nheld = 0;
}

static void s_decision(s_ctx_t *c, ra_line_event_t *ev)
{
    if (!c->verify) {
        s_print(c, ev->msg, ev->len);
        return;
    }
    s_known_t *k = s_known(c, ev->station);
    if (!k) {
        fprintf(stderr, "reman-listen: too many stations to verify\n");
        c->bad++;
        s_print(c, ev->msg, ev->len);
        return;
    }
    if (k->key[0] && k->nheld == 0) {
        s_verify_print(c, k, ev->seq, ev->msg, ev->len);
        return;
    }
    if (k->nheld < MAX_HELD) { /* until the station's birth tells its key */
        s_held_t *p = realloc(k->held, (k->nheld + 1) * sizeof *p);
        if (p) {
            k->held = p;
            k->held[k->nheld++] = (s_held_t){ev->msg, ev->len, ev->seq};
            ev->msg = NULL; /* taken */
            return;
        }
    }
    s_flush_held(c, k);
    s_verify_print(c, k, ev->seq, ev->msg, ev->len);
}

static void s_birth(s_ctx_t *c, const ra_line_event_t *ev)
{
    if (!c->verify)
        return;
    s_known_t *k = s_known(c, ev->station);
    json_t *o = ev->msg ? json_loadb(ev->msg, ev->len, 0, NULL) : NULL;
    const char *pk = json_string_value(json_object_get(o, "public_key"));
    if (k && pk && strlen(pk) == 64) {
        if (c->station_key && strcasecmp(c->station_key, pk) != 0)
            fprintf(stderr,
                    "reman-listen: %s announces key %.16s..., not --station-key: verifying with "
                    "--station-key\n",
                    ev->station, pk);
        else
            snprintf(k->key, sizeof k->key, "%s", pk);
        s_flush_held(c, k);
    }
    json_decref(o);
}

static void s_event(s_ctx_t *c, const ra_line_event_t *ev)
{
    if (c->quiet)
        return;
    switch (ev->kind) {
    case RA_LINE_BIRTH:
        fprintf(stderr, "reman-listen: birth: %s\n", ev->detail);
        break;
    case RA_LINE_DEATH:
        fprintf(stderr, "reman-listen: death: %s\n", ev->detail);
        break;
    case RA_LINE_GAP:
        fprintf(stderr, "reman-listen: gap: %s: %s\n", ev->station, ev->detail);
        break;
    case RA_LINE_STALE:
        fprintf(stderr, "reman-listen: stale: %s\n", ev->detail);
        break;
    case RA_LINE_REJECTED:
        fprintf(stderr, "reman-listen: rejected: %s\n", ev->detail);
        break;
    case RA_LINE_HEARTBEAT:
        if (c->verbose)
            fprintf(stderr, "reman-listen: heartbeat: %s session %lld seq %" PRIu64 "\n",
                    ev->station, (long long) ev->session, ev->seq);
        break;
    default:
        break;
    }
}

int main(int argc, char **argv)
{
    const char *pubs[MAX_STATIONS], *replays[MAX_STATIONS];
    int n = 0;
    uint64_t since = 0;
    double timeout_s = 0;
    const char *key = NULL, *server = NULL;
    ra_line_opts_t opts;
    ra_line_opts_default(&opts);
    s_ctx_t c;
    memset(&c, 0, sizeof c);
    c.json = !isatty(STDOUT_FILENO);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t u = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            s_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            c.json = 1;
        } else if (!strcmp(a, "--verify")) {
            c.verify = 1;
        } else if (!strcmp(a, "--quiet")) {
            c.quiet = 1;
        } else if (!strcmp(a, "--verbose")) {
            c.verbose = 1;
        } else if (!strcmp(a, "--allow-plain")) {
            opts.allow_plain = 1;
        } else if (a[0] == '-' && a[1] == '-' && !v) {
            fprintf(stderr, "reman-listen: %s needs a value\n", a);
            return EXIT_USAGE;
        } else if (!strcmp(a, "--replay")) {
            if (n == 0 || replays[n - 1]) {
                fprintf(stderr, "reman-listen: --replay follows its station's endpoint\n");
                return EXIT_USAGE;
            }
            replays[n - 1] = v;
            i++;
        } else if (!strcmp(a, "--since") || !strcmp(a, "--count") || !strcmp(a, "--stale-ms")) {
            if (s_parse_u64(v, &u) != 0 || (strcmp(a, "--since") && (u == 0 || u > 1u << 30))) {
                fprintf(stderr, "reman-listen: %s: bad number %s\n", a, v);
                return EXIT_USAGE;
            }
            if (!strcmp(a, "--since"))
                since = u;
            else if (!strcmp(a, "--count"))
                c.count = (long) u;
            else
                opts.stale_ms = (int) u;
            i++;
        } else if (!strcmp(a, "--timeout")) {
            char *end = NULL;
            timeout_s = strtod(v, &end);
            if (*end || !(timeout_s > 0) || timeout_s > 1e7) {
                fprintf(stderr, "reman-listen: --timeout: bad number of seconds %s\n", v);
                return EXIT_USAGE;
            }
            i++;
        } else if (!strcmp(a, "--station-key")) {
            if (strlen(v) != 64 || strspn(v, "0123456789abcdefABCDEF") != 64) {
                fprintf(stderr, "reman-listen: --station-key: 64 hex characters\n");
                return EXIT_USAGE;
            }
            c.station_key = v;
            i++;
        } else if (!strcmp(a, "--key")) {
            key = v;
            i++;
        } else if (!strcmp(a, "--server-key")) {
            server = v;
            i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "reman-listen: unknown option %s\n", a);
            s_usage(stderr);
            return EXIT_USAGE;
        } else {
            if (n == MAX_STATIONS) {
                fprintf(stderr, "reman-listen: at most %d stations\n", MAX_STATIONS);
                return EXIT_USAGE;
            }
            pubs[n] = a;
            replays[n++] = NULL;
        }
    }
    if (n == 0) {
        s_usage(stderr);
        return EXIT_USAGE;
    }
    if (!key != !server) {
        fprintf(stderr, "reman-listen: CURVE needs both --key and --server-key\n");
        return EXIT_USAGE;
    }
    char server_z85[41] = "";
    if (server) {
        if (strlen(server) == 40)
            snprintf(server_z85, sizeof server_z85, "%s", server);
        else if (ra_line_keys_public(server, server_z85) != RV_OK) {
            fprintf(stderr, "reman-listen: --server-key: %s\n", rv_last_error());
            return EXIT_SETUP;
        }
        opts.secret_key_file = key;
        opts.server_key = server_z85;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    ra_line_sub_t *sub = ra_line_sub_new(&opts);
    if (!sub) {
        fprintf(stderr, "reman-listen: %s\n", rv_last_error());
        return EXIT_SETUP;
    }
    for (int i = 0; i < n; i++) {
        if (!replays[i] && !c.quiet)
            fprintf(stderr, "reman-listen: %s has no --replay: gaps cannot be filled\n", pubs[i]);
        if (ra_line_sub_add(sub, pubs[i], replays[i], since) != RV_OK) {
            fprintf(stderr, "reman-listen: %s\n", rv_last_error());
            ra_line_sub_destroy(&sub);
            return EXIT_SETUP;
        }
    }
    double last = s_now_ms();
    int rc = 0;
    while (!s_stop && (c.count == 0 || c.printed < c.count)) {
        if (timeout_s > 0 && s_now_ms() - last >= timeout_s * 1000)
            break;
        ra_line_event_t ev;
        int r = ra_line_sub_next(sub, 200, &ev); /* short: signals are seen at once */
        if (r < 0) {
            fprintf(stderr, "reman-listen: %s\n", rv_last_error());
            rc = EXIT_SETUP;
            break;
        }
        if (r == 0)
            continue;
        if (ev.kind == RA_LINE_DECISION) {
            last = s_now_ms();
            s_decision(&c, &ev);
        } else {
            if (ev.kind == RA_LINE_BIRTH)
                s_birth(&c, &ev);
            s_event(&c, &ev);
        }
        ra_line_event_clear(&ev);
    }
    for (int i = 0; i < c.nknown; i++)
        s_flush_held(&c, &c.known[i]); /* never got a key: reported as not verified */
    ra_line_sub_destroy(&sub);
    if (rc == 0 && c.bad) {
        fprintf(stderr, "reman-listen: %d decision(s) failed verification\n", c.bad);
        rc = EXIT_VERIFY;
    }
    return rc;
}
