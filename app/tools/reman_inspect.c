/* reman_inspect.c - reman-inspect: the headless inspection of core images.
 *
 * For each JPEG given (files, or folders of *.jpg / *.jpeg): keep the original bytes (their
 * SHA-256 is the evidence hash), read the DataMatrix on the part (serial, part number),
 * choose the part family (--family, or the part number against the families' patterns;
 * a code of another family is refused: nothing is graded under the wrong family), align
 * to the family's master, run every detector per zone, grade, and print one JSON line per
 * part. An image that cannot be graded gets a line naming why, and the run goes on.
 *
 * --source folder:DIR or camera:DEVICE takes the frames from a hot folder or a camera
 * instead (ra_source.h), so a cell runs headless: --count and --timeout end the run.
 *
 * --store DIR makes it an automated cell (ra_store.h, ra_line.h): the original JPEG bytes
 * (and overlays) become evidence, each inspection is appended to the store, a graded
 * proposal is confirmed by --operator (default "cell") as a decision that commits with
 * its outbox entry before its line is printed, and --publish sends it to the line; a
 * "review" proposal is stored and left for a technician. After the last image the replay
 * service keeps answering for --linger seconds. */
#include "ra/ra_calib.h"
#include "rv/rv_memory.h"
#include "ra/ra_cell.h"
#include "ra/ra_files.h"
#include "ra/ra_golden.h"
#include "ra/ra_identify.h"
#include "ra/ra_line.h"
#include "ra/ra_source.h"
#include "ra/ra_store.h"
#include "ra/ra_inspect.h"
#include "ra/ra_reference.h"
#include "ra/ra_version.h"
#include "rm/rm_family.h"
#include "rm/rm_grade.h"
#include "rm/rm_registry.h"
#include "rv/rv.h"
#include "rv/rv_io.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_SETUP = 3, EXIT_GOLDEN = 4 };

#define MAX_FILE_BYTES ((size_t) 256 << 20)

#ifndef RS_FAMILIES_DIR
#define RS_FAMILIES_DIR "models/families"
#endif

typedef struct {
    rm_registry_t *registry;
    rm_family_t *forced; /* --family */
    ra_cell_t *cell;
    ra_cell_opts_t copts;
    ra_code_t given_code; /* --code: typed or scanned at the bench */
    int have_given_code;
    ra_calib_t calib;     /* --calibration */
    int have_calib;
    ra_store_t *store;    /* --store: the automated cell */
    ra_line_pub_t *pub;   /* --publish */
    const char *operator_id;
    int store_failed;     /* the store refused a write: stop, acknowledge nothing more */
    int golden;           /* 1: --golden-record, 2: --golden-check */
    ra_golden_tol_t golden_tol;
    int golden_drift;     /* a check found drift (or had nothing to compare with) */
} s_ctx_t;

static double s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: reman-inspect [options] IMAGE|FOLDER...\n"
            "       reman-inspect [options] --source folder:DIR|camera:DEVICE\n"
            "Inspects JPEG images of returned cores and prints one JSON line per part: the\n"
            "code read from the part, the family, the findings (in mm), the proposed route\n"
            "(reuse, remanufacture, refurbish, repair, scrap, or review) with every reason,\n"
            "the core credit and the value retained. Folders: *.jpg and *.jpeg, name order.\n"
            "\n"
            "options:\n"
            "  --family FILE|ID   grade as this family (the code on the part must agree)\n"
            "  --families DIR     family files (default %s)\n"
            "  --references DIR   learned references, <family id>.ref (default\n"
            "                     $XDG_DATA_HOME/reman-station/references); see reman-train\n"
            "  --overlay DIR      write <image>.overlay.jpg with zones and findings drawn\n"
            "  --no-identify      do not look for the code on the part (needs --family; a\n"
            "                     mark on the part is then inspected as surface)\n"
            "  --identify         read it (DataMatrix, then QR, then EAN/UPC; the default)\n"
            "  --code TEXT        the code typed or wedge-scanned at the bench, for every image\n"
            "                     (the mark on the part must agree where it is found)\n"
            "  --threads N        inspect a part's zones N at a time (1-8, default 1; the\n"
            "                     findings are the same)\n"
            "  --identify-budget N  the code search's work, in scan locations (default 400000,\n"
            "                     about 3 s on one core; 0: the whole image whatever it takes).\n"
            "                     A budget, not a clock: the same result on any machine or load\n"
            "  --calibration FILE the calibration record (reman-calibrate) to reference\n"
            "  --source SPEC      files (the arguments, default), folder:DIR (a hot folder: each\n"
            "                     complete JPEG taken once, moved to DIR/taken/), or\n"
            "                     camera:DEVICE (0, /dev/video2; MJPEG kept as delivered)\n"
            "  --count N          folder/camera: stop after N images\n"
            "  --timeout S        folder/camera: stop after S seconds without an image\n"
            "  --width W --height H  camera: frame size\n"
            "  --max-mp N         refuse images over N megapixels (default 100)\n"
            "automated cell (docs/protocol.md, docs/store.md):\n"
            "  --store DIR        append evidence, inspections and decisions to the store in DIR\n"
            "  --station ID       this station's id (required with --store)\n"
            "  --operator ID      who confirms the proposals (default cell)\n"
            "  --publish EP       publish decisions on this ZeroMQ endpoint (tcp://127.0.0.1:5556)\n"
            "  --replay EP        serve replay requests here (default tcp://127.0.0.1:5557)\n"
            "  --linger S         keep serving replay S seconds after the last image\n"
            "  --curve-key FILE   CURVE: this station's key pair (reman-keys new)\n"
            "  --allow DIR        CURVE: public keys of the subscribers let in\n"
            "  --allow-plain      allow plain TCP on a non-loopback endpoint\n"
            "golden sample (a known part, at the start of a shift; needs --store):\n"
            "  --golden-record    store each image's result as the golden result of its serial\n"
            "  --golden-check     compare each image with its serial's golden result; drift\n"
            "                     beyond tolerance is printed, recorded, and exits 4\n"
            "  --golden-tol-mm X  dimensions' tolerance (default 0.05 mm; anomaly 0.10, scale 0.5 %%)\n"
            "  --help, --version\n"
            "  --simd-best        print the best instruction set of this CPU and exit\n"
            "\n"
            "environment: RV_SIMD=scalar|sse2|avx2|avx512 caps the instruction set.\n"
            "exit status: 0 every image graded; 1 at least one image refused (its line says\n"
            "why); 2 usage error; 3 set-up failure (families, references, store, line) or the\n"
            "store refused a write (full disk, read-only): nothing more is acknowledged;\n"
            "4 a golden-sample check found drift beyond tolerance.\n",
            RS_FAMILIES_DIR);
}

/* The golden result of this serial: the latest "golden" record. NULL when none. */
typedef struct {
    const char *serial;
    json_t *found;
} s_golden_find_t;

static int s_golden_each(void *arg, int64_t n, const char *kind, const char *body, size_t len)
{
    (void) n;
    (void) kind;
    s_golden_find_t *g = arg;
    json_t *o = json_loadb(body, len, 0, NULL);
    const char *serial = json_string_value(json_object_get(o, "serial"));
    if (serial && !strcmp(serial, g->serial)) {
        json_decref(g->found);
        g->found = o;
    } else
        json_decref(o);
    return 0;
}

/* --golden-record / --golden-check for one stored inspection (record n). */
static void s_golden(s_ctx_t *c, json_t *line, int64_t n, int graded)
{
    json_t *rec = NULL;
    int64_t gn = 0;
    const char *serial =
        json_string_value(json_object_get(json_object_get(line, "code"), "serial"));
    json_object_set_new(line, "decision", json_null());
    if (!graded || !serial) {
        json_object_set_new(line, "golden",
                            json_pack("{s:s}", "error",
                                      graded ? "no serial read: not a golden sample"
                                             : "not graded: not a golden sample"));
        c->golden_drift = 1;
        return;
    }
    if (c->golden == 1) {
        rec = ra_golden_record(line, (long long) n, &c->golden_tol);
        if (!rec || ra_store_note(c->store, "golden", rec, &gn) != RV_OK) {
            json_object_set_new(line, "golden", json_pack("{s:s}", "error", rv_last_error()));
            c->golden_drift = 1;
        } else
            json_object_set_new(line, "golden", json_pack("{s:s, s:I}", "recorded", serial,
                                                          "record", (json_int_t) gn));
        json_decref(rec);
        return;
    }
    s_golden_find_t g = {serial, NULL};
    ra_store_records(c->store, "golden", NULL, NULL, s_golden_each, &g);
    if (!g.found) {
        json_object_set_new(line, "golden",
                            json_pack("{s:s}", "error",
                                      "no golden result stored for this serial "
                                      "(--golden-record first)"));
        c->golden_drift = 1;
        return;
    }
    rec = ra_golden_check(g.found, line, (long long) n);
    json_decref(g.found);
    if (!rec || ra_store_note(c->store, "golden-check", rec, &gn) != RV_OK) {
        json_object_set_new(line, "golden", json_pack("{s:s}", "error", rv_last_error()));
        c->golden_drift = 1;
        json_decref(rec);
        return;
    }
    if (!json_is_true(json_object_get(rec, "within")))
        c->golden_drift = 1;
    json_object_set_new(line, "golden",
                        json_pack("{s:O, s:O, s:I}", "within", json_object_get(rec, "within"),
                                  "drift", json_object_get(rec, "drift"), "record",
                                  (json_int_t) gn));
    json_decref(rec);
}

/* The cell: append the inspection; confirm a graded proposal as a decision (durable with
 * its outbox entry before anything is printed or published). Fills line's "decision". */
static void s_record(s_ctx_t *c, json_t *line, int graded)
{
    int64_t n = 0;
    ra_decision_ack_t ack;
    const char *proposal = json_string_value(json_object_get(line, "proposal"));
    if (ra_store_inspection(c->store, line, &n) != RV_OK) {
        c->store_failed = 1;
    } else if (c->golden) {
        s_golden(c, line, n, graded);
        return;
    } else if (graded && proposal && strcmp(proposal, "review") != 0) {
        ra_decision_in_t in = {.inspection = n, .operator_id = c->operator_id};
        if (ra_store_decide(c->store, &in, &ack) == RV_OK) {
            json_object_set_new(line, "decision",
                                json_pack("{s:I, s:s, s:s, s:s, s:I}", "seq", (json_int_t) ack.seq,
                                          "id", ack.id, "route", ack.route, "operator",
                                          c->operator_id, "record", (json_int_t) ack.n));
            if (c->pub)
                ra_line_pub_kick(c->pub);
            return;
        }
        c->store_failed = 1;
    } else {
        json_object_set_new(line, "decision", json_null());
        json_object_set_new(line, "awaiting", json_string(graded ? "review by a technician"
                                                                 : "nothing to decide"));
        json_object_set_new(line, "record", json_integer(n));
        return;
    }
    /* nothing of this part was acknowledged: say so on the line and stop the run */
    json_object_set_new(line, "decision", json_null());
    json_object_set_new(line, "store_error", json_string(rv_last_error()));
    fprintf(stderr, "reman-inspect: store: %s: no decision acknowledged, stopping\n",
            rv_last_error());
}

/* Inspect one frame (or, frame NULL, report why the item `path` gave none) through the
 * cell; with a store, record and confirm it; print its line. t_dec: the source's read and
 * decode time. 0 when graded, -1 when refused. */
static int s_inspect(s_ctx_t *c, const char *path, const ra_frame_t *frame, const char *error,
                     double t_dec)
{
    ra_cell_result_t r;
    int rc = ra_cell_inspect(c->cell, path, frame, error, t_dec,
                             c->have_given_code ? &c->given_code : NULL, &r);
    if (r.store_failed)
        c->store_failed = 1;
    json_t *line = r.line;
    if (line && c->store && json_object_get(line, "evidence") && !c->store_failed)
        s_record(c, line, rc == 0);
    char *text = line ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6))
                      : NULL;
    if (text) {
        puts(text);
        fflush(stdout);
        free(text);
    }
    ra_cell_result_free(&r);
    return rc == 0 ? 0 : -1;
}

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void) sig;
    s_stop = 1; /* finish the image in hand, take no other: a taken file is never half done */
}

/* Run the source until it ends, --count images, --timeout seconds without one, or a
 * signal. Returns the number refused (lines printed), or -1 on a source failure. */
static int s_run(s_ctx_t *c, ra_source_t *src, long count, double timeout_s, size_t *done)
{
    int refused = 0, tty = c->copts.files_mode && isatty(STDERR_FILENO) && !isatty(STDOUT_FILENO);
    double last = s_now_ms();
    ra_source_status_t shown = RA_SOURCE_READY;
    *done = 0;
    while (!s_stop && !c->store_failed && (count <= 0 || (long) *done < count)) {
        int wait = 500;
        if (timeout_s > 0) {
            double left = timeout_s * 1e3 - (s_now_ms() - last);
            if (left <= 0)
                break;
            wait = left < wait ? (int) left + 1 : wait;
        }
        ra_frame_t *frame = NULL;
        double t = s_now_ms();
        int rc = ra_source_next(src, c->copts.files_mode ? -1 : wait, &frame);
        t = s_now_ms() - t;
        if (rc == RA_SOURCE_END)
            break;
        if (rc == RA_SOURCE_IDLE || rc == RA_SOURCE_DISCONNECTED) {
            if (rc != (int) shown)
                fprintf(stderr, "reman-inspect: %s: %s\n", ra_source_name(src),
                        rc == RA_SOURCE_IDLE ? "waiting for images"
                                             : "camera disconnected, reconnecting");
            shown = (ra_source_status_t) rc;
            continue;
        }
        if (rc < 0 && !c->copts.files_mode) {
            fprintf(stderr, "reman-inspect: %s: %s\n", ra_source_name(src), rv_last_error());
            if (rc == RV_EIO || rc == RV_ENOMEM)
                return -1;
            continue;
        }
        if (shown == RA_SOURCE_DISCONNECTED)
            fprintf(stderr, "reman-inspect: %s: camera back\n", ra_source_name(src));
        shown = RA_SOURCE_READY;
        (*done)++;
        last = s_now_ms();
        const char *name = frame ? frame->name : ra_source_current(src);
        if (tty)
            fprintf(stderr, "\r[%zu] %s\033[K", *done, name);
        char error[700];
        snprintf(error, sizeof error, "%s", rc < 0 ? rv_last_error() : "");
        if (s_inspect(c, name, frame, error, rc < 0 ? 0 : t) != 0)
            refused++;
        ra_frame_destroy(&frame);
    }
    if (tty)
        fprintf(stderr, "\r\033[K");
    return refused;
}

int main(int argc, char **argv)
{
    rv_memory_keep(); /* images freed stay for the next (rv_memory.h) */
    char **files = NULL;
    size_t nfiles = 0;
    const char *family_arg = NULL, *families_dir = RS_FAMILIES_DIR;
    const char *source_spec = "files", *code_arg = NULL, *calib_arg = NULL;
    const char *store_dir = NULL, *station = NULL, *publish = NULL, *replay = NULL;
    double linger_s = 0;
    ra_line_opts_t lopts;
    ra_line_opts_default(&lopts);
    long count = 0;
    double timeout_s = 0;
    ra_source_opts_t sopts;
    ra_source_opts_default(&sopts);
    char refdir[4096];
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(refdir, sizeof refdir, "%s/reman-station/references", xdg);
    else
        snprintf(refdir, sizeof refdir, "%s/.local/share/reman-station/references",
                 home ? home : ".");
    s_ctx_t c;
    memset(&c, 0, sizeof c);
    c.copts.references = refdir;
    c.copts.identify = 1;
    c.operator_id = "cell";
    c.copts.identify_budget = RA_IDENTIFY_BUDGET;
    ra_golden_tol_default(&c.golden_tol);
    int usage_error = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            s_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            rv_init();
            printf("%s (%s)\n", ra_version(), rv_describe());
            return 0;
        } else if (!strcmp(a, "--simd-best")) {
            printf("%s\n", rv_simd_best());
            return 0;
        } else if (!strcmp(a, "--family") && i + 1 < argc) {
            family_arg = argv[++i];
        } else if (!strcmp(a, "--families") && i + 1 < argc) {
            families_dir = argv[++i];
        } else if (!strcmp(a, "--references") && i + 1 < argc) {
            c.copts.references = argv[++i];
        } else if (!strcmp(a, "--overlay") && i + 1 < argc) {
            c.copts.overlay_dir = argv[++i];
        } else if (!strcmp(a, "--no-identify")) {
            c.copts.identify = 0;
        } else if (!strcmp(a, "--identify")) {
            c.copts.identify = 1;
        } else if (!strcmp(a, "--code") && i + 1 < argc) {
            code_arg = argv[++i];
        } else if (!strcmp(a, "--calibration") && i + 1 < argc) {
            calib_arg = argv[++i];
        } else if (!strcmp(a, "--store") && i + 1 < argc) {
            store_dir = argv[++i];
        } else if (!strcmp(a, "--station") && i + 1 < argc) {
            station = argv[++i];
        } else if (!strcmp(a, "--operator") && i + 1 < argc) {
            c.operator_id = argv[++i];
        } else if (!strcmp(a, "--publish") && i + 1 < argc) {
            publish = argv[++i];
        } else if (!strcmp(a, "--replay") && i + 1 < argc) {
            replay = argv[++i];
        } else if (!strcmp(a, "--curve-key") && i + 1 < argc) {
            lopts.secret_key_file = argv[++i];
        } else if (!strcmp(a, "--allow") && i + 1 < argc) {
            lopts.allow_dir = argv[++i];
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            char *end = NULL;
            long n = strtol(argv[++i], &end, 10);
            if (!end || *end || n < 1 || n > 8) {
                fprintf(stderr, "reman-inspect: --threads needs 1-8\n");
                return EXIT_USAGE;
            }
            c.copts.threads = (int) n;
        } else if (!strcmp(a, "--identify-budget") && i + 1 < argc) {
            char *end = NULL;
            long n = strtol(argv[++i], &end, 10);
            if (!end || *end || n < 0 || n > 100000000) {
                fprintf(stderr, "reman-inspect: --identify-budget needs scan locations, "
                                "0-100000000 (0: the whole image)\n");
                return EXIT_USAGE;
            }
            c.copts.identify_budget = n;
        } else if (!strcmp(a, "--golden-record")) {
            c.golden = 1;
        } else if (!strcmp(a, "--golden-check")) {
            c.golden = 2;
        } else if (!strcmp(a, "--golden-tol-mm") && i + 1 < argc) {
            char *end = NULL;
            c.golden_tol.dimension_mm = strtod(argv[++i], &end);
            if (!end || *end || !(c.golden_tol.dimension_mm > 0)) {
                fprintf(stderr, "reman-inspect: --golden-tol-mm needs millimetres > 0\n");
                return EXIT_USAGE;
            }
        } else if (!strcmp(a, "--allow-plain")) {
            lopts.allow_plain = 1;
        } else if (!strcmp(a, "--linger") && i + 1 < argc) {
            char *end = NULL;
            linger_s = strtod(argv[++i], &end);
            if (!end || *end || !(linger_s >= 0) || linger_s > 86400) {
                fprintf(stderr, "reman-inspect: --linger needs seconds (0-86400)\n");
                return EXIT_USAGE;
            }
        } else if (!strcmp(a, "--source") && i + 1 < argc) {
            source_spec = argv[++i];
        } else if ((!strcmp(a, "--count") || !strcmp(a, "--width") || !strcmp(a, "--height")) &&
                   i + 1 < argc) {
            char *end = NULL;
            long n = strtol(argv[++i], &end, 10);
            if (!end || *end || n <= 0 || n > 1000000) {
                fprintf(stderr, "reman-inspect: %s needs a positive number\n", a);
                return EXIT_USAGE;
            }
            if (a[2] == 'c')
                count = n;
            else if (a[2] == 'w')
                sopts.width = (int) n;
            else
                sopts.height = (int) n;
        } else if (!strcmp(a, "--timeout") && i + 1 < argc) {
            char *end = NULL;
            timeout_s = strtod(argv[++i], &end);
            if (!end || *end || !(timeout_s > 0)) {
                fprintf(stderr, "reman-inspect: --timeout needs seconds > 0\n");
                return EXIT_USAGE;
            }
        } else if (!strcmp(a, "--max-mp") && i + 1 < argc) {
            char *end = NULL;
            double mp = strtod(argv[++i], &end);
            if (!end || *end || mp <= 0 || mp > 1000) {
                fprintf(stderr, "reman-inspect: --max-mp needs a number of megapixels (0-1000]\n");
                return EXIT_USAGE;
            }
            rv_jpeg_set_max_pixels((uint64_t) (mp * 1e6));
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "reman-inspect: unknown option or missing value: %s (see --help)\n", a);
            return EXIT_USAGE;
        } else if (ra_files_collect(a, &files, &nfiles) != RV_OK) {
            fprintf(stderr, "reman-inspect: %s\n", rv_last_error());
            usage_error = 1;
        }
    }
    if (usage_error)
        return EXIT_USAGE;
    c.copts.files_mode = !strcmp(source_spec, "files");
    if (c.copts.files_mode && nfiles == 0) {
        fprintf(stderr, "reman-inspect: no images given (see --help)\n");
        return EXIT_USAGE;
    }
    if (!c.copts.files_mode && nfiles > 0) {
        fprintf(stderr, "reman-inspect: images given with --source %s (see --help)\n",
                source_spec);
        ra_files_free(&files, &nfiles);
        return EXIT_USAGE;
    }
    if (code_arg) {
        if (ra_identify_manual(code_arg, &c.given_code) != RV_OK) {
            fprintf(stderr, "reman-inspect: --code: %s\n", rv_last_error());
            ra_files_free(&files, &nfiles);
            return EXIT_USAGE;
        }
        c.have_given_code = 1;
    }
    if ((publish || replay || station) && !store_dir) {
        fprintf(stderr, "reman-inspect: --publish, --replay and --station need --store (nothing "
                        "is published that is not stored first)\n");
        ra_files_free(&files, &nfiles);
        return EXIT_USAGE;
    }
    if (c.golden && !store_dir) {
        fprintf(stderr, "reman-inspect: --golden-record and --golden-check need --store\n");
        ra_files_free(&files, &nfiles);
        return EXIT_USAGE;
    }
    if (store_dir && !station) {
        fprintf(stderr, "reman-inspect: --store needs --station ID\n");
        ra_files_free(&files, &nfiles);
        return EXIT_USAGE;
    }
    if (!c.copts.identify && !family_arg && !code_arg) {
        fprintf(stderr, "reman-inspect: --no-identify needs --family\n");
        return EXIT_USAGE;
    }
    if (sodium_init() < 0 || rv_init() != RV_OK) {
        fprintf(stderr, "reman-inspect: set-up failed: %s\n", rv_last_error());
        return EXIT_SETUP;
    }
    int code = 0;
    ra_source_t *src = NULL;
    c.registry = rm_registry_load_dir(families_dir);
    if (!c.registry) {
        fprintf(stderr, "reman-inspect: families: %s\n", rv_last_error());
        code = EXIT_SETUP;
        goto done;
    }
    if (family_arg) {
        if (strchr(family_arg, '/') || strstr(family_arg, ".json"))
            c.forced = rm_family_load(family_arg);
        else if ((c.forced = (rm_family_t *) rm_registry_get(c.registry, family_arg)))
            c.forced = rm_family_ref(c.forced);
        if (!c.forced) {
            fprintf(stderr, "reman-inspect: family %s: %s\n", family_arg,
                    rv_last_error()[0] ? rv_last_error() : "not found");
            code = EXIT_SETUP;
            goto done;
        }
    }
    if (c.copts.overlay_dir && mkdir(c.copts.overlay_dir, 0777) != 0 &&
        access(c.copts.overlay_dir, W_OK) != 0) {
        fprintf(stderr, "reman-inspect: cannot write to %s\n", c.copts.overlay_dir);
        code = EXIT_SETUP;
        goto done;
    }
    if (calib_arg) {
        if (ra_calib_load(calib_arg, &c.calib) != RV_OK) {
            fprintf(stderr, "reman-inspect: calibration: %s\n", rv_last_error());
            code = EXIT_SETUP;
            goto done;
        }
        c.have_calib = 1;
    }
    if (store_dir) {
        if (!(c.store = ra_store_open(store_dir, station, RA_STORE_WRITE))) {
            fprintf(stderr, "reman-inspect: store: %s\n", rv_last_error());
            code = EXIT_SETUP;
            goto done;
        }
        if (publish || replay) {
            lopts.pub_endpoint = publish;
            lopts.replay_endpoint = replay;
            if (!(c.pub = ra_line_pub_new(c.store, &lopts))) {
                fprintf(stderr, "reman-inspect: line: %s\n", rv_last_error());
                code = EXIT_SETUP;
                goto done;
            }
        }
    }
    c.copts.registry = c.registry;
    c.copts.forced = c.forced;
    c.copts.calib = c.have_calib ? &c.calib : NULL;
    c.copts.store = c.store;
    if (!(c.cell = ra_cell_new(&c.copts))) {
        fprintf(stderr, "reman-inspect: %s\n", rv_last_error());
        code = EXIT_SETUP;
        goto done;
    }
    sopts.max_bytes = MAX_FILE_BYTES;
    /* each frame decoded at the DCT scale that still covers the largest family: a 5 MP
     * frame for a 1280 x 960 family at 1/2, as ra_inspect_jpeg does, instead of in full
     * and then averaged down (the code on the part is read on that frame, and on the
     * frame in full only when it is too small to read there) */
    ra_cell_cover_size(c.cell, &sopts.cover_width, &sopts.cover_height);
    src = ra_source_open(source_spec, (const char *const *) files, nfiles, &sopts);
    if (!src) {
        fprintf(stderr, "reman-inspect: source: %s\n", rv_last_error());
        code = EXIT_SETUP;
        goto done;
    }
    signal(SIGINT, s_on_signal);
    signal(SIGTERM, s_on_signal);
    size_t ndone = 0;
    int refused = s_run(&c, src, c.copts.files_mode ? 0 : count, c.copts.files_mode ? 0 : timeout_s,
                        &ndone);
    if (refused < 0) {
        code = EXIT_SETUP;
    } else if (c.store_failed) {
        code = EXIT_SETUP;
    } else if (c.golden_drift) {
        fprintf(stderr, "reman-inspect: golden sample: %s\n",
                c.golden == 1 ? "not recorded (see the line)"
                              : "drift beyond tolerance (see the line)");
        code = EXIT_GOLDEN;
    } else if (refused) {
        fprintf(stderr, "reman-inspect: %d of %zu images refused\n", refused, ndone);
        code = EXIT_REFUSED;
    }
    if (c.pub && ra_line_pub_flush(c.pub, 10000) != 0)
        fprintf(stderr, "reman-inspect: line: outbox not drained; it is published at next start\n");
    for (double t0 = s_now_ms(); c.pub && !s_stop && s_now_ms() - t0 < linger_s * 1e3;)
        usleep(50 * 1000); /* the publisher's thread serves replay meanwhile */
done:
    ra_line_pub_destroy(&c.pub);
    ra_store_close(&c.store);
    ra_source_destroy(&src);
    ra_cell_destroy(&c.cell);
    rm_family_destroy(&c.forced);
    rm_registry_destroy(&c.registry);
    ra_files_free(&files, &nfiles);
    return code;
}
