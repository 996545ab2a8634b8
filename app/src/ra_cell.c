/* ra_cell.c - one captured frame to its inspection record (ra_cell.h). */
#include "ra/ra_cell.h"

#include "ra/ra_inspect.h"
#include "ra/ra_reference.h"
#include "ra/ra_version.h"
#include "rm/rm_grade.h"
#include "rv/rv.h"
#include "rv/rv_error.h"
#include "rv/rv_io.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define MAX_FILE_BYTES ((size_t) 256 << 20)
#define MAX_INSPECTORS 32

struct ra_cell {
    ra_cell_opts_t o;
    ra_calib_t calib;
    int have_calib;
    struct {
        const rm_family_t *family;
        ra_reference_t *ref;
        ra_inspector_t *insp;
        char error[512];
    } cache[MAX_INSPECTORS];
    int ncache;
};

static double s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static rv_image_t *s_copy(const rv_image_t *im)
{
    rv_view_t s = rv_image_view(im);
    rv_image_t *d = rv_image_new(s.width, s.height, s.fmt);
    if (d) {
        rv_view_t dv = rv_image_view(d);
        rv_view_copy(&s, &dv);
    }
    return d;
}

ra_cell_t *ra_cell_new(const ra_cell_opts_t *opts)
{
    if (!opts || !opts->registry || !opts->references) {
        rv_fail(RV_EINVAL, "ra_cell", "needs a registry of families and a references directory");
        return NULL;
    }
    ra_cell_t *self = calloc(1, sizeof *self);
    if (!self) {
        rv_fail(RV_ENOMEM, "ra_cell", "out of memory");
        return NULL;
    }
    self->o = *opts;
    if (opts->calib) {
        self->calib = *opts->calib;
        self->have_calib = 1;
        self->o.calib = &self->calib;
    }
    return self;
}

void ra_cell_destroy(ra_cell_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ra_cell_t *self = *self_p;
    for (int i = 0; i < self->ncache; i++) {
        ra_inspector_destroy(&self->cache[i].insp);
        ra_reference_destroy(&self->cache[i].ref);
    }
    free(self);
    *self_p = NULL;
}

/* The largest view of one family into *w x *h (each the larger). */
static void s_cover_of(const rm_family_t *f, int *w, int *h)
{
    for (size_t i = 0; f && i < rm_family_view_count(f); i++) {
        int vw = 0, vh = 0;
        if (rm_family_view_size(f, i, &vw, &vh) == RV_OK) {
            *w = vw > *w ? vw : *w;
            *h = vh > *h ? vh : *h;
        }
    }
}

void ra_cell_cover_size(const ra_cell_t *self, int *width, int *height)
{
    int w = 0, h = 0;
    if (self->o.forced)
        s_cover_of(self->o.forced, &w, &h);
    else
        for (size_t i = 0; i < rm_registry_count(self->o.registry); i++)
            s_cover_of(rm_registry_at(self->o.registry, i), &w, &h);
    *width = w;
    *height = h;
}

const rm_family_t *ra_cell_family(ra_cell_t *self, const json_t *line)
{
    const char *id = json_string_value(json_object_get(line, "family"));
    return id ? rm_registry_get(self->o.registry, id) : NULL;
}

/* The inspector of a family, made on first use (its reference loaded from references). */
static ra_inspector_t *s_inspector(ra_cell_t *c, const rm_family_t *family, char *why, size_t wsz)
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
    snprintf(path, sizeof path, "%s/%s.ref", c->o.references, rm_family_id(family));
    c->cache[i].ref = ra_reference_load(path);
    if (!c->cache[i].ref) {
        snprintf(c->cache[i].error, sizeof c->cache[i].error,
                 "family %s has no usable learned reference (%s): run reman-train",
                 rm_family_id(family), rv_last_error());
    } else if (!(c->cache[i].insp = ra_inspector_new((rm_family_t *) family, c->cache[i].ref)) ||
               (c->o.threads > 1 &&
                ra_inspector_set_threads(c->cache[i].insp, c->o.threads) != RV_OK)) {
        snprintf(c->cache[i].error, sizeof c->cache[i].error, "%s", rv_last_error());
        ra_inspector_destroy(&c->cache[i].insp);
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
    if (f->zones) { /* one defect across zones (rv_findings_join_zones): every zone it spans */
        json_t *zs = json_array();
        for (size_t k = 0; k < rm_family_zone_count(fam) && k < 64; k++)
            if (f->zones >> k & 1)
                json_array_append_new(zs, json_string(rm_zone_name(rm_family_zone(fam, k))));
        json_object_set_new(o, "zones", zs);
    }
    json_object_set_new(o, "bbox", json_pack("[i,i,i,i]", f->bbox[0], f->bbox[1], f->bbox[2], f->bbox[3]));
    switch (f->type) {
    case RV_FINDING_CRACK:
        json_object_set_new(o, "length_mm", json_real(f->length_mm));
        json_object_set_new(o, "width_mm", json_real(f->width_mm));
        json_object_set_new(o, "orientation_deg", json_real(f->orientation_deg));
        if (f->npoints > 0) { /* the polyline, aligned view px, to 0.1 px */
            json_t *pts = json_array();
            for (int k = 0; k < f->npoints; k++)
                json_array_append_new(pts, json_pack("[f,f]", round(f->points[k][0] * 10) / 10,
                                                     round(f->points[k][1] * 10) / 10));
            json_object_set_new(o, "points", pts);
        }
        break;
    case RV_FINDING_PIT:
        json_object_set_new(o, "diameter_mm", json_real(f->diameter_mm));
        break;
    case RV_FINDING_DIMENSION:
        json_object_set_new(o, "name", json_string(f->name));
        json_object_set_new(o, "value_mm", json_real(f->value_mm));
        if (f->zero_mm != 0)
            json_object_set_new(o, "zero_mm", json_real(f->zero_mm));
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
    if (g->review_why & RM_REVIEW_ALIGN)
        json_array_append_new(why, json_string("alignment residual over its limit"));
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
static int s_evidence(ra_cell_t *c, json_t *line, const char *kind, const uint8_t *bytes,
                      size_t len)
{
    char hex[65];
    if (ra_store_put_evidence(c->o.store, bytes, len, hex) != RV_OK)
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

/* The code search's downscale: marks are about 1/200 of the short side per module; keep
 * at least 4 px per module after shrinking. */
static int s_shrink(const rv_view_t *v)
{
    int short_side = v->width < v->height ? v->width : v->height;
    int s = short_side / 800;
    return s < 1 ? 1 : s > 4 ? 4 : s;
}

/* Read the part's mark on frame (v: its pixels at 1/scale), into *code with corners in
 * frame pixels; *gray keeps the gray image it was read on. 1 when a code was read. */
static int s_read_mark(ra_cell_t *c, const ra_frame_t *frame, const rv_view_t *v, int scale,
                       long budget, rv_image_t **gray, ra_code_t *code)
{
    rv_image_destroy(gray);
    *gray = rv_image_new(v->width, v->height, RV_GRAY8);
    rv_view_t gv = rv_image_view(*gray);
    if (*gray && rv_gray_from_rgb(v, &gv) == RV_OK &&
        ra_identify_any(&gv, s_shrink(v), budget, code) == RV_OK) {
        ra_code_unscale(code, scale); /* read at 1/scale: corners in frame pixels */
        return 1;
    }
    if (scale > 1 && frame->jpeg) {
        /* a mark too small to read at 1/scale: the frame's gray in full, read again */
        rv_image_destroy(gray);
        *gray = rv_jpeg_decode(frame->jpeg, frame->jpeg_len, RV_GRAY8, 1);
        rv_view_t fv = rv_image_view(*gray);
        if (*gray && ra_identify_any(&fv, s_shrink(&fv), budget, code) == RV_OK)
            return 1;
    }
    return 0;
}

/* Two fields of a code disagree: both given, and not the same text. */
static int s_fields_differ(const char *a, const char *b)
{
    return a[0] && b[0] && strcmp(a, b) != 0;
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

/* The aligned image with heat (GRAY8, same size) blended in: yellow where a pixel lies just
 * outside the learned band, red where far outside. */
static rv_image_t *s_heat(const rv_image_t *aligned, const rv_image_t *heat)
{
    rv_image_t *d = aligned && heat ? s_copy(aligned) : NULL;
    if (!d)
        return NULL;
    rv_view_t dv = rv_image_view(d), hv = rv_image_view(heat);
    if (hv.width != dv.width || hv.height != dv.height)
        return d;
    for (int y = 0; y < dv.height; y++) {
        uint8_t *p = rv_view_row(&dv, y);
        const uint8_t *h = rv_view_row(&hv, y);
        for (int x = 0; x < dv.width; x++, p += 3) {
            int a = h[x];
            if (!a)
                continue;
            int alpha = 96 + a * 159 / 255; /* of 255 */
            int r = 255, g = 255 - a, b = 0;
            p[0] = (uint8_t) ((p[0] * (255 - alpha) + r * alpha) / 255);
            p[1] = (uint8_t) ((p[1] * (255 - alpha) + g * alpha) / 255);
            p[2] = (uint8_t) ((p[2] * (255 - alpha) + b * alpha) / 255);
        }
    }
    return d;
}

/* Draw the overlay; write it to overlay_dir, keep it as evidence in the store and, for a
 * display, in out. 0, or -1 when the store refused it. */
static int s_overlay(ra_cell_t *c, ra_inspector_t *insp, ra_inspection_t *r, const char *path,
                     ra_cell_result_t *out)
{
    if ((!c->o.overlay_dir && !c->o.store && !c->o.keep_overlay) || !r->aligned)
        return 0;
    if (c->o.keep_overlay) {
        out->aligned = s_copy(r->aligned);
        out->heat = s_heat(r->aligned, r->heat);
    }
    rv_view_t v = rv_image_view(r->aligned);
    ra_inspection_overlay(insp, r, &v);
    if (c->o.keep_overlay)
        out->overlay = s_copy(r->aligned);
    if (!c->o.overlay_dir && !c->o.store)
        return 0;
    uint8_t *jpeg = NULL;
    size_t len = 0;
    if (rv_jpeg_encode(&v, 90, &jpeg, &len) != RV_OK)
        return 0;
    int rc = 0;
    if (c->o.overlay_dir) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        char name[4096];
        snprintf(name, sizeof name, "%s/%.*s.overlay.jpg", c->o.overlay_dir,
                 (int) (strrchr(base, '.') ? strrchr(base, '.') - base : (long) strlen(base)),
                 base);
        FILE *f = fopen(name, "wb");
        if (!f || fwrite(jpeg, 1, len, f) != len)
            fprintf(stderr, "ra_cell: cannot write %s\n", name);
        if (f)
            fclose(f);
    }
    if (c->o.store)
        rc = s_evidence(c, out->line, "overlay", jpeg, len);
    rv_jpeg_free(&jpeg);
    return rc;
}

int ra_cell_inspect(ra_cell_t *c, const char *path, const ra_frame_t *frame, const char *error,
                    double t_dec, const ra_code_t *given, ra_cell_result_t *out)
{
    memset(out, 0, sizeof *out);
    double t0 = s_now_ms() - t_dec;
    json_t *line = out->line = json_object();
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
        if (c->o.files_mode && rv_file_read(path, MAX_FILE_BYTES, &bytes, &len) == RV_OK) {
            s_sha256(line, bytes, len);
            /* the cell keeps what came, even when it is not an image */
            if (c->o.store && s_evidence(c, line, "original", bytes, len) != 0)
                out->store_failed = 1;
        }
        free(bytes);
        snprintf(why, sizeof why, "%s", error);
        goto out;
    }
    s_sha256(line, frame->jpeg, frame->jpeg_len);
    if (c->o.store && s_evidence(c, line, "original", frame->jpeg, frame->jpeg_len) != 0) {
        out->store_failed = 1;
        snprintf(why, sizeof why, "evidence not stored: %s", rv_last_error());
        goto out;
    }
    if (!c->o.files_mode) {
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
    /* a frame decoded shrunk on load (ra_source_opts_t cover_width) is at 1/scale */
    int scale = frame->scale > 1 ? frame->scale : 1;
    json_object_set_new(line, "width", json_integer(frame->width > 0 ? frame->width : v.width));
    json_object_set_new(line, "height",
                        json_integer(frame->height > 0 ? frame->height : v.height));

    /* identify: the code on the part */
    t_id = s_now_ms();
    ra_code_t code, mark;
    memset(&mark, 0, sizeof mark); /* read only where mark_read > 0 */
    int have_code = 0, mark_read = -1; /* -1: not looked for */
    if (given) {
        code = *given;
        have_code = 1;
        /* a code typed or scanned at the bench names the part, but its mark is still on
         * the part: found, its area is left out as a marking (not read as pits), and what
         * it says must be what was given. Not looked for where the code carries its
         * corners, or is the part's code carried from another view (already looked for) */
        if (c->o.identify && !ra_code_located(given) && given->kind != RA_CODE_CARRIED) {
            /* an eighth of the search: a readable mark is found in its first 5-10 ms
             * (where marks probably are), and one that cannot be read, often why the
             * code was typed, costs 0.7-1 s instead of 3-4.5 s (generated cores) */
            long budget = (c->o.identify_budget > 0 ? c->o.identify_budget
                                                    : RA_IDENTIFY_BUDGET) / 8;
            mark_read = s_read_mark(c, frame, &v, scale, budget, &gray, &mark);
            if (mark_read) {
                memcpy(code.corners, mark.corners, sizeof code.corners);
                /* what was not given (a serial scanned alone) the mark tells, if it agrees */
                if (!code.serial[0])
                    memcpy(code.serial, mark.serial, sizeof code.serial);
                if (!code.part_number[0])
                    memcpy(code.part_number, mark.part_number, sizeof code.part_number);
            }
        }
    } else if (c->o.identify) {
        have_code = s_read_mark(c, frame, &v, scale, c->o.identify_budget, &gray, &code);
    }
    t_id = s_now_ms() - t_id;
    json_t *cj = have_code ? json_pack("{s:s, s:s, s:s}", "text", code.text, "serial",
                                       code.serial, "part_number", code.part_number)
                           : json_null();
    if (have_code && code.kind != RA_CODE_DATAMATRIX) /* DataMatrix lines stay as they were */
        json_object_set_new(cj, "kind", json_string(ra_code_kind_name(code.kind)));
    int differs = mark_read > 0 && (s_fields_differ(code.serial, mark.serial) ||
                                    s_fields_differ(code.part_number, mark.part_number));
    if (mark_read >= 0) /* a given code: was the part's own mark found, and does it agree? */
        json_object_set_new(cj, "mark", json_string(!mark_read ? "not found"
                                                    : differs  ? "differs"
                                                               : "agrees"));
    json_object_set_new(line, "code", cj);
    if (differs) {
        json_object_set_new(cj, "mark_code",
                            json_pack("{s:s, s:s, s:s}", "text", mark.text, "serial", mark.serial,
                                      "part_number", mark.part_number));
        snprintf(why, sizeof why,
                 "the code given (serial %s, part number %s) is not the mark on the part "
                 "(serial %s, part number %s): not graded under either",
                 code.serial[0] ? code.serial : "none",
                 code.part_number[0] ? code.part_number : "none",
                 mark.serial[0] ? mark.serial : "none",
                 mark.part_number[0] ? mark.part_number : "none");
        goto out;
    }
    const rm_family_t *family = c->o.forced;
    if (have_code && code.part_number[0]) {
        if (family && !rm_family_matches(family, code.part_number)) {
            snprintf(why, sizeof why,
                     "part number %s read from the part is not of family %s: not graded under the "
                     "wrong family",
                     code.part_number, rm_family_id(family));
            goto out;
        }
        if (!family) {
            if (rm_registry_find(c->o.registry, code.part_number, &found) != RV_OK) {
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
    if (ra_inspect_scaled(insp, &v, scale, have_code ? &code : NULL,
                          c->o.overlay_dir || c->o.store || c->o.keep_overlay, &r) != RV_OK) {
        snprintf(why, sizeof why, "%s", rv_last_error());
        goto out;
    }
    json_object_set_new(line, "alignment",
                        json_pack("{s:f, s:f, s:f, s:f, s:i, s:s, s:i}", "angle_deg",
                                  r.align.angle_deg, "scale", r.align.scale, "iou", r.align.iou,
                                  "residual_px", r.align.residual_px, "edge_points",
                                  r.align.inliers, "method",
                                  r.align.method ? r.align.method : "none", "shrink",
                                  r.shrink > 0 ? r.shrink : 1));
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
    if (s_overlay(c, insp, &r, frame->original[0] ? frame->original : path, out) != 0) {
        out->store_failed = 1;
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
    rm_family_destroy(&found);
    ra_inspection_free(&r);
    rv_image_destroy(&gray);
    out->graded = rc == 0;
    return rc == 0 ? 0 : 1;
}

void ra_cell_result_free(ra_cell_result_t *r)
{
    if (!r)
        return;
    json_decref(r->line);
    rv_image_destroy(&r->overlay);
    rv_image_destroy(&r->aligned);
    rv_image_destroy(&r->heat);
    memset(r, 0, sizeof *r);
}
