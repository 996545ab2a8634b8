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
#define MAX_INSPECTORS 32

#ifndef RS_FAMILIES_DIR
#define RS_FAMILIES_DIR "models/families"
#endif

typedef struct {
    rm_registry_t *registry;
    rm_family_t *forced; /* --family */
    const char *references;
    const char *overlay_dir;
    int identify;
    int identify_ms;      /* --identify-timeout: the code search's limit, 0 = none */
    int files_mode;       /* lines as before the sources: no "capture" member */
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
    struct {
        const rm_family_t *family;
        ra_reference_t *ref;
        ra_inspector_t *insp;
        char error[512];
    } cache[MAX_INSPECTORS];
    int ncache;
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
            "  --no-identify      do not read the code on the part (needs --family)\n"
            "  --identify         read it (DataMatrix, then QR, then EAN/UPC; the default)\n"
            "  --code TEXT        the code typed or wedge-scanned at the bench, for every image\n"
            "  --identify-timeout MS  the code search's time limit (default 3000; 0: search\n"
            "                     the whole image whatever it takes: the same result on any load)\n"
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

/* The inspector of a family, made on first use (its reference loaded from --references). */
static ra_inspector_t *s_inspector(s_ctx_t *c, const rm_family_t *family, char *why, size_t wsz)
{
    for (int i = 0; i < c->ncache; i++)
        if (c->cache[i].family == family) {
            if (!c->cache[i].insp)
                snprintf(why, wsz, "%s", c->cache[i].error);
            return c->cache[i].insp;
        }
    if (c->ncache == MAX_INSPECTORS) {
        snprintf(why, wsz, "more than %d families in one run", MAX_INSPECTORS);
        return NULL;
    }
    int i = c->ncache++;
    c->cache[i].family = family;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.ref", c->references, rm_family_id(family));
    c->cache[i].ref = ra_reference_load(path);
    if (!c->cache[i].ref) {
        snprintf(c->cache[i].error, sizeof c->cache[i].error,
                 "family %s has no usable learned reference (%s): run reman-train",
                 rm_family_id(family), rv_last_error());
    } else if (!(c->cache[i].insp = ra_inspector_new((rm_family_t *) family, c->cache[i].ref))) {
        snprintf(c->cache[i].error, sizeof c->cache[i].error, "%s", rv_last_error());
    }
    if (!c->cache[i].insp)
        snprintf(why, wsz, "%s", c->cache[i].error);
    return c->cache[i].insp;
}

static json_t *s_finding_json(const rm_family_t *fam, const rv_finding_t *f)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(rv_finding_type_name(f->type)));
    const rm_zone_t *z = f->zone >= 0 ? rm_family_zone(fam, (size_t) f->zone) : NULL;
    json_object_set_new(o, "zone", z ? json_string(rm_zone_name(z)) : json_null());
    json_object_set_new(o, "bbox", json_pack("[i,i,i,i]", f->bbox[0], f->bbox[1], f->bbox[2], f->bbox[3]));
    switch (f->type) {
    case RV_FINDING_CRACK:
        json_object_set_new(o, "length_mm", json_real(f->length_mm));
        json_object_set_new(o, "width_mm", json_real(f->width_mm));
        json_object_set_new(o, "orientation_deg", json_real(f->orientation_deg));
        break;
    case RV_FINDING_PIT:
        json_object_set_new(o, "diameter_mm", json_real(f->diameter_mm));
        break;
    case RV_FINDING_DIMENSION:
        json_object_set_new(o, "name", json_string(f->name));
        json_object_set_new(o, "value_mm", json_real(f->value_mm));
        break;
    default:
        json_object_set_new(o, "area_mm2", json_real(f->area_mm2));
        json_object_set_new(o, "zone_pct", json_real(f->zone_pct));
        break;
    }
    json_object_set_new(o, "score", json_real(f->score));
    return o;
}

static json_t *s_grade_json(const rm_grade_t *g, json_t *line)
{
    json_object_set_new(line, "proposal", json_string(rm_grade_proposal(g)));
    json_object_set_new(line, "route", json_string(rm_route_name(g->route)));
    json_t *why = json_array();
    if (g->review_why & RM_REVIEW_ROUTE)
        json_array_append_new(why, json_string("measurement in guard band"));
    if (g->review_why & RM_REVIEW_ANOMALY)
        json_array_append_new(why, json_string("anomaly score in uncertain band"));
    if (g->review_why & RM_REVIEW_CREDIT)
        json_array_append_new(why, json_string("credit measurement in guard band"));
    json_object_set_new(line, "review", json_boolean(g->review));
    json_object_set_new(line, "review_why", why);
    json_t *reasons = json_array();
    for (size_t i = 0; i < g->nreasons; i++) {
        const rm_reason_t *r = &g->reasons[i];
        json_array_append_new(
            reasons, json_pack("{s:s, s:s, s:b, s:b, s:f, s:f, s:f, s:s, s:s}", "rule", r->rule_id,
                               "code", r->code, "fired", r->fired, "deciding", r->deciding,
                               "value", r->value, "limit", r->limit, "guard", r->guard, "en",
                               r->text_en, "zh", r->text_zh));
    }
    json_object_set_new(line, "reasons", reasons);
    json_object_set_new(line, "credit", json_string(rm_credit_name(g->credit)));
    json_object_set_new(line, "value_retained",
                        json_pack("{s:f, s:f, s:f}", "fraction", g->retained_fraction,
                                  "material_kg", g->material_avoided_kg, "co2e_kg",
                                  g->co2e_avoided_kg));
    return line;
}

/* Store bytes as evidence of kind and cite them in line's "evidence" array. */
static int s_evidence(s_ctx_t *c, json_t *line, const char *kind, const uint8_t *bytes,
                      size_t len)
{
    char hex[65];
    if (ra_store_put_evidence(c->store, bytes, len, hex) != RV_OK)
        return -1;
    json_t *ev = json_object_get(line, "evidence");
    if (!ev) {
        ev = json_array();
        json_object_set_new(line, "evidence", ev);
    }
    json_array_append_new(ev, json_pack("{s:s, s:s, s:I}", "kind", kind, "sha256", hex, "bytes",
                                        (json_int_t) len));
    return 0;
}

/* Draw the overlay; write it to --overlay and keep it as evidence in --store. */
static int s_overlay(s_ctx_t *c, ra_inspector_t *insp, ra_inspection_t *r, const char *path,
                     json_t *line)
{
    if ((!c->overlay_dir && !c->store) || !r->aligned)
        return 0;
    rv_view_t v = rv_image_view(r->aligned);
    ra_inspection_overlay(insp, r, &v);
    uint8_t *jpeg = NULL;
    size_t len = 0;
    if (rv_jpeg_encode(&v, 90, &jpeg, &len) != RV_OK)
        return 0;
    int rc = 0;
    if (c->overlay_dir) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        char out[4096];
        snprintf(out, sizeof out, "%s/%.*s.overlay.jpg", c->overlay_dir,
                 (int) (strrchr(base, '.') ? strrchr(base, '.') - base : (long) strlen(base)),
                 base);
        FILE *f = fopen(out, "wb");
        if (!f || fwrite(jpeg, 1, len, f) != len)
            fprintf(stderr, "reman-inspect: cannot write %s\n", out);
        if (f)
            fclose(f);
    }
    if (c->store)
        rc = s_evidence(c, line, "overlay", jpeg, len);
    rv_jpeg_free(&jpeg);
    return rc;
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

/* The code search's downscale: marks are about 1/200 of the short side per module; keep
 * at least 4 px per module after shrinking. */
static int s_shrink(const rv_view_t *v)
{
    int short_side = v->width < v->height ? v->width : v->height;
    int s = short_side / 800;
    return s < 1 ? 1 : s > 4 ? 4 : s;
}

static void s_sha256(json_t *line, const uint8_t *bytes, size_t len)
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    crypto_hash_sha256(digest, bytes, len);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    json_object_set_new(line, "bytes", json_integer((json_int_t) len));
    json_object_set_new(line, "sha256", json_string(hex));
}

/* Inspect one frame (or, frame NULL, report why the item `path` gave none); prints its
 * line. t_dec: the source's read and decode time. 0 when graded, -1 when refused. */
static int s_inspect(s_ctx_t *c, const char *path, const ra_frame_t *frame, const char *error,
                     double t_dec)
{
    double t0 = s_now_ms() - t_dec;
    json_t *line = json_object();
    json_object_set_new(line, "schema", json_string("reman.inspection/1"));
    json_object_set_new(line, "file", json_string(path));
    rv_image_t *gray = NULL;
    ra_inspection_t r;
    memset(&r, 0, sizeof r);
    char why[700] = "";
    int rc = -1;
    double t_id = 0;
    rm_family_t *found = NULL; /* a reference taken by rm_registry_find */
    if (!frame) {
        /* the file was read but did not decode: its hash still identifies what came */
        uint8_t *bytes = NULL;
        size_t len = 0;
        if (c->files_mode && rv_file_read(path, MAX_FILE_BYTES, &bytes, &len) == RV_OK) {
            s_sha256(line, bytes, len);
            /* the cell keeps what came, even when it is not an image */
            if (c->store && s_evidence(c, line, "original", bytes, len) != 0)
                c->store_failed = 1;
        }
        free(bytes);
        snprintf(why, sizeof why, "%s", error);
        goto out;
    }
    s_sha256(line, frame->jpeg, frame->jpeg_len);
    if (c->store && s_evidence(c, line, "original", frame->jpeg, frame->jpeg_len) != 0) {
        c->store_failed = 1;
        snprintf(why, sizeof why, "evidence not stored: %s", rv_last_error());
        goto out;
    }
    if (!c->files_mode) {
        char when[48];
        time_t sec = (time_t) frame->timestamp;
        struct tm tm;
        gmtime_r(&sec, &tm);
        size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(when + n, sizeof when - n, ".%03dZ",
                 (int) ((frame->timestamp - (double) sec) * 1000) % 1000);
        json_object_set_new(
            line, "capture",
            json_pack("{s:s, s:I, s:s, s:s, s:b, s:i}", "source", frame->source, "seq",
                      (json_int_t) frame->seq, "captured_at", when, "original",
                      frame->original, "encoded_by_station", frame->encoded_by_station,
                      "quality", frame->quality));
    }
    if (c->have_calib)
        json_object_set_new(line, "calibration",
                            json_pack("{s:s, s:s, s:s, s:f, s:f}", "source", "record", "id",
                                      c->calib.id, "date", c->calib.date, "mm_per_px",
                                      c->calib.mm_per_px, "rms_px", c->calib.rms_px));
    rv_view_t v = rv_image_view(frame->rgb);
    json_object_set_new(line, "width", json_integer(v.width));
    json_object_set_new(line, "height", json_integer(v.height));

    /* identify: the code on the part */
    t_id = s_now_ms();
    ra_code_t code;
    int have_code = 0;
    if (c->have_given_code) {
        code = c->given_code;
        have_code = 1;
    } else if (c->identify) {
        gray = rv_image_new(v.width, v.height, RV_GRAY8);
        rv_view_t gv = rv_image_view(gray);
        if (gray && rv_gray_from_rgb(&v, &gv) == RV_OK &&
            ra_identify_any(&gv, s_shrink(&v), c->identify_ms, &code) == RV_OK)
            have_code = 1;
    }
    t_id = s_now_ms() - t_id;
    json_t *cj = have_code ? json_pack("{s:s, s:s, s:s}", "text", code.text, "serial",
                                       code.serial, "part_number", code.part_number)
                           : json_null();
    if (have_code && code.kind != RA_CODE_DATAMATRIX) /* DataMatrix lines stay as they were */
        json_object_set_new(cj, "kind", json_string(ra_code_kind_name(code.kind)));
    json_object_set_new(line, "code", cj);
    const rm_family_t *family = c->forced;
    if (have_code && code.part_number[0]) {
        if (family && !rm_family_matches(family, code.part_number)) {
            snprintf(why, sizeof why,
                     "part number %s read from the part is not of family %s: not graded under the "
                     "wrong family",
                     code.part_number, rm_family_id(family));
            goto out;
        }
        if (!family) {
            if (rm_registry_find(c->registry, code.part_number, &found) != RV_OK) {
                snprintf(why, sizeof why, "%s", rv_last_error());
                goto out;
            }
            family = found;
        }
    }
    if (!family) {
        snprintf(why, sizeof why,
                 "no part number could be read from the part (%s); give --family to grade it",
                 have_code ? "the code carries none" : "no DataMatrix, QR code or barcode found");
        goto out;
    }
    json_object_set_new(line, "family", json_string(rm_family_id(family)));
    if (!c->have_calib) {
        /* no calibration record given: the millimetres come from the family's own scale
         * (or the record it names); say so, so that every decision names its calibration */
        const char *rec = rm_family_calibration_record(family);
        json_object_set_new(line, "calibration",
                            json_pack("{s:s, s:s, s:f, s:s?}", "source", "family", "family",
                                      rm_family_id(family), "mm_per_px",
                                      rm_family_mm_per_px(family), "record", rec));
    }
    json_object_set_new(line, "family_revision", json_integer(rm_family_revision(family)));
    json_object_set_new(line, "model_hash", json_string(rm_family_hash_hex(family)));
    ra_inspector_t *insp = s_inspector(c, family, why, sizeof why);
    if (!insp)
        goto out;
    if (ra_inspect_rgb(insp, &v, have_code ? &code : NULL, c->overlay_dir || c->store, &r) !=
        RV_OK) {
        snprintf(why, sizeof why, "%s", rv_last_error());
        goto out;
    }
    json_object_set_new(line, "alignment",
                        json_pack("{s:f, s:f, s:f, s:s}", "angle_deg", r.align.angle_deg, "scale",
                                  r.align.scale, "iou", r.align.iou, "method",
                                  r.align.method ? r.align.method : "none"));
    if (r.refused) {
        snprintf(why, sizeof why, "%s", r.refusal);
        goto out;
    }
    s_grade_json(r.grade, line);
    json_t *fa = json_array();
    for (size_t i = 0; i < r.findings.count; i++)
        json_array_append_new(fa, s_finding_json(family, &r.findings.items[i]));
    json_object_set_new(line, "findings", fa);
    json_object_set_new(line, "anomaly",
                        json_pack("{s:f, s:o}", "area_mm2", r.anomaly_mm2, "score",
                                  isnan(r.anomaly_score) ? json_null()
                                                         : json_real(r.anomaly_score)));
    if (s_overlay(c, insp, &r, frame->original[0] ? frame->original : path, line) != 0) {
        c->store_failed = 1;
        snprintf(why, sizeof why, "overlay evidence not stored: %s", rv_last_error());
        goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        json_object_set_new(line, "proposal", json_null());
        json_object_set_new(line, "refused", json_string(why));
    }
    json_object_set_new(line, "isa", json_string(rv_simd_isa()));
    json_object_set_new(line, "software", json_string(ra_version()));
    json_object_set_new(line, "ms",
                        json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "decode", t_dec,
                                  "identify", t_id, "align", r.ms_align + r.ms_warp, "front",
                                  r.ms_front, "detect", r.ms_detect, "anomaly", r.ms_anomaly,
                                  "grade", r.ms_grade, "total", s_now_ms() - t0));
    if (c->store && json_object_get(line, "evidence") && !c->store_failed)
        s_record(c, line, rc == 0);
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    if (text) {
        puts(text);
        fflush(stdout);
        free(text);
    }
    json_decref(line);
    rm_family_destroy(&found);
    ra_inspection_free(&r);
    rv_image_destroy(&gray);
    return rc;
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
    int refused = 0, tty = c->files_mode && isatty(STDERR_FILENO) && !isatty(STDOUT_FILENO);
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
        int rc = ra_source_next(src, c->files_mode ? -1 : wait, &frame);
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
        if (rc < 0 && !c->files_mode) {
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
    c.references = refdir;
    c.identify = 1;
    c.operator_id = "cell";
    c.identify_ms = 3000;
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
            c.references = argv[++i];
        } else if (!strcmp(a, "--overlay") && i + 1 < argc) {
            c.overlay_dir = argv[++i];
        } else if (!strcmp(a, "--no-identify")) {
            c.identify = 0;
        } else if (!strcmp(a, "--identify")) {
            c.identify = 1;
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
        } else if (!strcmp(a, "--identify-timeout") && i + 1 < argc) {
            char *end = NULL;
            long ms = strtol(argv[++i], &end, 10);
            if (!end || *end || ms < 0 || ms > 600000) {
                fprintf(stderr, "reman-inspect: --identify-timeout needs milliseconds (0: none)\n");
                return EXIT_USAGE;
            }
            c.identify_ms = (int) ms;
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
    c.files_mode = !strcmp(source_spec, "files");
    if (c.files_mode && nfiles == 0) {
        fprintf(stderr, "reman-inspect: no images given (see --help)\n");
        return EXIT_USAGE;
    }
    if (!c.files_mode && nfiles > 0) {
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
    if (!c.identify && !family_arg && !code_arg) {
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
    if (c.overlay_dir && mkdir(c.overlay_dir, 0777) != 0 && access(c.overlay_dir, W_OK) != 0) {
        fprintf(stderr, "reman-inspect: cannot write to %s\n", c.overlay_dir);
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
    sopts.max_bytes = MAX_FILE_BYTES;
    src = ra_source_open(source_spec, (const char *const *) files, nfiles, &sopts);
    if (!src) {
        fprintf(stderr, "reman-inspect: source: %s\n", rv_last_error());
        code = EXIT_SETUP;
        goto done;
    }
    signal(SIGINT, s_on_signal);
    signal(SIGTERM, s_on_signal);
    size_t ndone = 0;
    int refused = s_run(&c, src, c.files_mode ? 0 : count, c.files_mode ? 0 : timeout_s, &ndone);
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
    for (int i = 0; i < c.ncache; i++) {
        ra_inspector_destroy(&c.cache[i].insp);
        ra_reference_destroy(&c.cache[i].ref);
    }
    rm_family_destroy(&c.forced);
    rm_registry_destroy(&c.registry);
    ra_files_free(&files, &nfiles);
    return code;
}
