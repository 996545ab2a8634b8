/* rv_det_crack.c - cracks: thin, dark, elongated line structures.
 *
 * Candidates: with a learned reference, the pixels darker than it by dark_thr (two cheap
 * passes); without one, the fused black-hat (closing - image, disc a few px wider than
 * the widest crack) + threshold of the blurred gray. Large dark regions (bore, bolt
 * holes, fixture) are not filled by the closing, so only their rims respond, and those
 * are kept out by eroding the part mask by edge_margin_px. Each candidate component is
 * then looked at on its own box: black-hat of the view and of the reference; pixels
 * darker than the reference's own black-hat stay (grooves, shadow lines, threads and
 * rims of the nominal part go), split into pieces. A piece is a crack when it is long
 * (skeleton length plus the band beyond the skeleton's ends, >= min_length_mm),
 * thin (mean band width = area / length), elongated (length / width and principal axes),
 * not rust-coloured, and dark relative to its local background, which separates cracks
 * from the long but faint concentric tool marks. The DataMatrix modules are compact
 * squares, never elongated (and the family's zones leave the code out).
 * Reported: the skeleton as a polyline, length along it, the equivalent width (darkness
 * integral / background / length: a fully dark line of that width absorbs as much),
 * orientation end to end. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rv/rv_blobs.h"
#include "rv/rv_detect.h"
#include "rv/rv_error.h"
#include "rv/rv_filter.h"
#include "rv/rv_point.h"
#include "rv_detect_util.h"

static const char *s_domain = "rv_detect_crack";

typedef struct s_params {
    double min_length_mm; /* shorter line structures are not reported */
    double dark_thr;      /* black-hat grey levels for a candidate pixel */
    double min_contrast;  /* mean black-hat / mean local background over the component */
    double max_width_px;  /* widest crack; sets the disc (2 w + 5 px, blur included) */
    double max_mask_width_px; /* thresholded band wider than this on average: not a crack */
    double min_elongation;    /* skeleton length / mean band width */
    double edge_margin_px;    /* part outline and hole rims: this much of the part ignored */
    double max_rust;          /* mean rust likelihood above which it is corrosion */
    double min_axis_ratio;    /* principal axes' standard deviations, major / minor */
} s_params_t;

#define K(name, def, lo, hi, integer) {#name, offsetof(s_params_t, name), def, lo, hi, integer}
static const rv_det_key_t s_keys[] = {
    K(min_length_mm, 4.0, 0.01, 1e4, 0),  K(dark_thr, 12, 1, 254, 1),
    K(min_contrast, 0.16, 0, 1, 0),       K(max_width_px, 4, 1, 40, 0),
    K(max_mask_width_px, 14, 1, 100, 0),   K(min_elongation, 3, 1, 1000, 0),
    K(edge_margin_px, 5, 0, 100, 1),      K(max_rust, 48, 0, 255, 0),
    K(min_axis_ratio, 2.0, 1, 1000, 0),
};
#undef K

static int s_configure(void *params, const rv_param_t *kv, size_t n)
{
    return rv_det_configure(s_domain, s_keys, sizeof s_keys / sizeof s_keys[0], params, kv, n);
}

/* The largest skeleton path traced (pixels); longer cracks are measured on this part. */
#define S_MAX_PATH 8192

/* Judge one piece of a candidate: append a finding when it is a crack. */
static int s_piece(const s_params_t *p, const rv_detect_ctx_t *ctx, const rv_view_t *blur,
                   const rv_view_t *rust, const rv_det_local_t *l, size_t i, const int box[4],
                   int zone, int *path, rv_findings_t *out)
{
    const rv_blob_t *b = &l->pieces.items[i];
    double min_len = p->min_length_mm / ctx->mm_per_px;
    int bw = b->x1 - b->x0 + 1, bh = b->y1 - b->y0 + 1;
    if (hypot(bw, bh) < 0.8 * min_len)
        return RV_OK;
    if (b->area > (uint32_t) (p->max_mask_width_px * (bw + bh) * 1.5) + 16)
        return RV_OK; /* too much area for a line spanning this box: a blob */
    /* a ring or crescent (the rim of a pit) can have a long skeleton; a crack, even a
     * bent one, has a clear main axis */
    rv_det_moments_t m;
    rv_det_moments(&l->pieces, l->order, l->first[i], l->first[i + 1], &m);
    if (m.major_sd < p->min_axis_ratio * m.minor_sd)
        return RV_OK;
    int pw = bw + 2, ph = bh + 2;
    uint8_t *patch = calloc((size_t) pw * ph, 1);
    if (!patch)
        return rv_fail(RV_ENOMEM, s_domain, "patch %dx%d", pw, ph);
    for (uint32_t k = l->first[i]; k < l->first[i + 1]; k++) {
        const rv_run_t *r = &l->pieces.runs[l->order[k]];
        memset(patch + (size_t) (r->y - b->y0 + 1) * pw + (r->x0 - b->x0 + 1), 1,
               (size_t) (r->x1 - r->x0));
    }
    int n = rv_det_trace(patch, pw, ph, path, S_MAX_PATH);
    free(patch);
    if (n < 0)
        return n;
    /* the skeleton stops short of the band's ends: from each end, the farthest band pixel
     * ahead along the end's tangent (and within the band's half-width of that line) is
     * where the band ends; take back the band's half-width there (the band reaches as far
     * past the crack's end as it reaches to either side of it) */
    double len = rv_det_path_length(path, n, 4), ext = 0;
    double half = 0.5 * b->area / (len + 1) + 1;
    for (int end = 0; end < 2 && n > 1; end++) {
        int e = end ? n - 1 : 0, q = end ? (n - 1 > 6 ? n - 7 : 0) : (n - 1 < 6 ? n - 1 : 6);
        double ex = path[2 * e] + b->x0 - 1, ey = path[2 * e + 1] + b->y0 - 1;
        double ux = path[2 * e] - path[2 * q], uy = path[2 * e + 1] - path[2 * q + 1];
        double un = hypot(ux, uy), t = 0;
        if (un <= 0)
            continue;
        ux /= un, uy /= un;
        for (uint32_t k = l->first[i]; k < l->first[i + 1]; k++) {
            const rv_run_t *r = &l->pieces.runs[l->order[k]];
            double dy = r->y - ey;
            for (int x = r->x0; x < r->x1; x++) {
                double dx = x - ex, along = dx * ux + dy * uy, across = fabs(dx * uy - dy * ux);
                if (along > t && across <= half)
                    t = along;
            }
        }
        ext += t;
    }
    double band = b->area / (len + ext);
    len += ext - fmin(band, len + ext - 1) + 1;
    if (len < min_len)
        return RV_OK;
    band = b->area / len;
    if (band > p->max_mask_width_px || len / band < p->min_elongation)
        return RV_OK;
    rv_det_piece_sums_t sum;
    rv_det_piece_sums(l, blur, rust, i, 0.5, &sum);
    if (sum.map > p->max_rust * sum.n)
        return RV_OK;
    /* the darkening beyond what the reference shows, relative to the local background */
    double contrast = sum.close > 0 ? (sum.bh - sum.bh_ref) / sum.close : 0;
    if (contrast < p->min_contrast)
        return RV_OK;

    int ox = box[0] + l->box[0] + b->x0, oy = box[1] + l->box[1] + b->y0;
    rv_finding_t f;
    memset(&f, 0, sizeof f);
    f.type = RV_FINDING_CRACK;
    f.zone = zone;
    f.bbox[0] = ox;
    f.bbox[1] = oy;
    f.bbox[2] = bw;
    f.bbox[3] = bh;
    /* path is in patch coordinates: patch (1, 1) is the piece's box (x0, y0) */
    f.npoints = rv_det_path_points(path, n, f.points, RV_FINDING_MAX_POINTS, (float) (ox - 1),
                                   (float) (oy - 1));
    f.length_mm = len * ctx->mm_per_px;
    /* equivalent width of a fully dark line with the same darkness integral: the black-hat
     * summed over the band is (background x width) per unit length */
    double bg = sum.close / sum.n;
    f.width_mm = (sum.bh - sum.bh_ref) / (bg * len) * ctx->mm_per_px;
    double ex = f.points[f.npoints - 1][0] - f.points[0][0];
    double ey = f.points[f.npoints - 1][1] - f.points[0][1];
    double ang = atan2(ey, ex) * 180.0 / 3.14159265358979323846;
    f.orientation_deg = ang < 0 ? ang + 180 : ang >= 180 ? ang - 180 : ang;
    f.area_mm2 = b->area * ctx->mm_per_px * ctx->mm_per_px;
    f.score = fmin(1.0, contrast / (2 * p->min_contrast + 1e-9));
    return rv_findings_push(out, &f);
}

/* One candidate component of the full-view mask: its pixels darker than the reference
 * (grooves, shadow lines, threads and rims of the nominal part are not cracks), split into
 * pieces, each judged. */
static int s_judge(const s_params_t *p, const rv_detect_ctx_t *ctx, const rv_view_t *blur,
                   const rv_view_t *ref, const rv_view_t *rust, const rv_blobs_t *blobs,
                   size_t i, const uint32_t *order, uint32_t begin, uint32_t end, int disc,
                   const int box[4], int zone, int *path, rv_findings_t *out)
{
    const rv_blob_t *b = &blobs->items[i];
    double min_len = p->min_length_mm / ctx->mm_per_px;
    if (hypot(b->x1 - b->x0 + 1, b->y1 - b->y0 + 1) < 0.8 * min_len)
        return RV_OK;
    rv_det_local_t l;
    int rc = rv_det_local_split_ctx(ctx, box, blur, ref, blobs, i, order, begin, end, disc,
                                    (int) p->dark_thr, (uint32_t) fmax(6, min_len), &l);
    for (size_t j = 0; rc == RV_OK && j < l.pieces.count; j++)
        rc = s_piece(p, ctx, blur, rust, &l, j, box, zone, path, out);
    rv_det_local_free(&l);
    return rc;
}

static int s_run(const void *params, const rv_detect_ctx_t *ctx, const rv_view_t *zone_mask,
                 int zone, rv_findings_t *out)
{
    const s_params_t *p = params;
    int rc = rv_det_check(s_domain, ctx, zone_mask);
    if (rc < 0)
        return rc;
    /* a disc wider than the crack plus the 5x5 blur's spread either side */
    int disc = rv_det_odd(2 * p->max_width_px + 5, 3, RV_DISC_MAX);
    int box[4];
    rv_image_t *allowed = NULL, *mimg = NULL;
    rv_blobs_t blobs = {0};
    uint32_t *first = NULL, *order = NULL;
    int *path = NULL;
    rc = rv_det_allowed(ctx, zone_mask, zone, (int) p->edge_margin_px, disc, box, &allowed);
    if (rc <= 0)
        return rc;
    rv_view_t blur = rv_det_sub(ctx->blur, box), rust = rv_det_sub(ctx->rust, box);
    rv_view_t ref = rv_det_sub(ctx->ref_mean, box);
    mimg = rv_image_new(box[2] - box[0], box[3] - box[1], RV_GRAY8);
    path = malloc(2 * S_MAX_PATH * sizeof *path);
    if (!mimg || !path) {
        rc = rv_fail(RV_ENOMEM, s_domain, "scratch for %dx%d", box[2] - box[0], box[3] - box[1]);
        goto done;
    }
    rv_view_t mask = rv_image_view(mimg);
    if (ctx->ref_mean) {
        /* with a learned reference, a defect pixel is first of all darker than it: two
         * cheap passes instead of a black-hat over the whole part; the black-hat then runs
         * on each candidate's box only */
        rc = rv_sub_sat(&ref, &blur, &mask);
        if (rc == RV_OK)
            rc = rv_threshold(&mask, &mask, (uint8_t) p->dark_thr, NULL);
    } else {
        rc = rv_blackhat_disc_threshold(&blur, &mask, disc, (uint8_t) p->dark_thr, NULL);
    }
    if (rc == RV_OK && allowed) {
        rv_view_t a = rv_image_view(allowed);
        rc = rv_min(&mask, &a, &mask);
    }
    if (rc < 0)
        goto done;
    double min_len = p->min_length_mm / ctx->mm_per_px;
    uint32_t min_area = (uint32_t) fmax(6, min_len);
    rc = rv_components(&mask, 8, min_area, &blobs);
    if (rc < 0)
        goto done;
    rc = rv_det_runs_by_blob(&blobs, &first, &order);
    for (size_t i = 0; rc == RV_OK && i < blobs.count; i++)
        rc = s_judge(p, ctx, &blur, ctx->ref_mean ? &ref : NULL, ctx->rust ? &rust : NULL,
                     &blobs, i, order, first[i],
                     first[i + 1], disc, box, zone, path, out);
done:
    free(path);
    free(first);
    free(order);
    rv_blobs_free(&blobs);
    rv_image_destroy(&mimg);
    rv_image_destroy(&allowed);
    return rc;
}

const rv_detector_class_t rv_det_crack = {"crack", sizeof(s_params_t), s_configure, s_run};
