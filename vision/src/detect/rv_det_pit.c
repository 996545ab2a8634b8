/* rv_det_pit.c - pits and blowholes: small, round, dark spots.
 *
 * Black-hat of the blurred gray with a square wider than the largest pit (van Herk
 * closing, cheap at any size), thresholded, components, then per candidate a local
 * black-hat on its box only: a pit is much darker than its surroundings (relative
 * contrast), compact (area against the circle over its box) and not stretched. Its size
 * is the equivalent diameter 2 sqrt(A / pi) of the pixels darker than half-way between
 * the local background and black (frac of the closing), which sits on the pit's rim
 * whatever the lighting. With a learned reference, darkness the reference has at the same
 * place (design features) does not count. Pits on rust are corrosion pitting: left to that detector. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rv/rv_blobs.h"
#include "rv/rv_detect.h"
#include "rv/rv_error.h"
#include "rv/rv_filter.h"
#include "rv/rv_point.h"
#include "rv_detect_util.h"

static const char *s_domain = "rv_detect_pit";

typedef struct s_params {
    double min_diameter_mm; /* smaller pits are not reported */
    double max_diameter_mm; /* sets the black-hat disc; larger dark spots are not pits */
    double dark_thr;        /* black-hat grey levels for a candidate pixel */
    double peak_thr;        /* black-hat grey levels a candidate must reach somewhere */
    double min_contrast;    /* mean black-hat / mean local background */
    double min_roundness;   /* area / (pi/4 * longest box side^2) */
    double max_aspect;      /* longest / shortest box side */
    double frac;            /* darkness (of the local background) on the rim */
    double edge_margin_px;  /* part outline and hole rims ignored */
    double max_rust;        /* mean rust likelihood above which it is corrosion pitting */
} s_params_t;

#define K(name, def, lo, hi, integer) {#name, offsetof(s_params_t, name), def, lo, hi, integer}
static const rv_det_key_t s_keys[] = {
    K(min_diameter_mm, 0.3, 0.0, 1e3, 0), K(max_diameter_mm, 6.0, 0.01, 1e3, 0),
    K(dark_thr, 20, 1, 254, 1),           K(peak_thr, 30, 1, 255, 1),
    K(min_contrast, 0.22, 0, 1, 0),       K(min_roundness, 0.5, 0, 1, 0),
    K(max_aspect, 2.0, 1, 100, 0),        K(frac, 0.3, 0.01, 0.99, 0),
    K(edge_margin_px, 3, 0, 100, 1),      K(max_rust, 48, 0, 255, 0),
};
#undef K

static int s_configure(void *params, const rv_param_t *kv, size_t n)
{
    int rc = rv_det_configure(s_domain, s_keys, sizeof s_keys / sizeof s_keys[0], params, kv, n);
    const s_params_t *p = params;
    if (rc == RV_OK && p->min_diameter_mm > p->max_diameter_mm)
        return rv_fail(RV_EINVAL, s_domain, "min_diameter_mm = %g above max_diameter_mm = %g",
                       p->min_diameter_mm, p->max_diameter_mm);
    return rc;
}

/* Judge one piece of a candidate: append a finding when it is a pit. */
static int s_piece(const s_params_t *p, const rv_detect_ctx_t *ctx, const rv_view_t *blur,
                   const rv_view_t *rust, const rv_det_local_t *l, size_t i, const int box[4],
                   int zone, rv_findings_t *out)
{
    const rv_blob_t *b = &l->pieces.items[i];
    double min_px = p->min_diameter_mm / ctx->mm_per_px;
    double max_px = p->max_diameter_mm / ctx->mm_per_px;
    int bw = b->x1 - b->x0 + 1, bh = b->y1 - b->y0 + 1, side = bw > bh ? bw : bh;
    int small = bw < bh ? bw : bh;
    if (side > max_px + 4 || side > small * p->max_aspect + 1)
        return RV_OK;
    if (b->area < p->min_roundness * 0.785 * side * side)
        return RV_OK;
    rv_det_piece_sums_t sum;
    rv_det_piece_sums(l, blur, rust, i, p->frac, &sum);
    if (sum.map > p->max_rust * sum.n)
        return RV_OK;
    /* a dark spot the reference has too (a drilled hole's rim, a corner of a groove) is
     * part of the design: only the darkening beyond it counts */
    double contrast = sum.close > 0 ? (sum.bh - sum.bh_ref) / sum.close : 0;
    double d_px = 2 * sqrt(sum.n_frac / 3.14159265358979323846);
    if (contrast < p->min_contrast || d_px < min_px || d_px > max_px)
        return RV_OK;
    rv_finding_t f;
    memset(&f, 0, sizeof f);
    f.type = RV_FINDING_PIT;
    f.zone = zone;
    f.bbox[0] = b->x0 + l->box[0] + box[0];
    f.bbox[1] = b->y0 + l->box[1] + box[1];
    f.bbox[2] = bw;
    f.bbox[3] = bh;
    f.npoints = 1;
    f.points[0][0] = (float) (b->cx + l->box[0] + box[0]);
    f.points[0][1] = (float) (b->cy + l->box[1] + box[1]);
    f.diameter_mm = d_px * ctx->mm_per_px;
    f.area_mm2 = sum.n_frac * ctx->mm_per_px * ctx->mm_per_px;
    f.score = fmin(1.0, contrast / (2 * p->min_contrast + 1e-9));
    return rv_findings_push(out, &f);
}

static int s_run(const void *params, const rv_detect_ctx_t *ctx, const rv_view_t *zone_mask,
                 int zone, rv_findings_t *out)
{
    const s_params_t *p = params;
    int rc = rv_det_check(s_domain, ctx, zone_mask);
    if (rc < 0)
        return rc;
    double max_px = p->max_diameter_mm / ctx->mm_per_px;
    /* the disc must span the largest pit plus the blur on both sides */
    int disc = rv_det_odd(max_px + 5, 5, RV_DISC_MAX);
    int box[4];
    rv_image_t *allowed = NULL, *mimg = NULL, *timg = NULL;
    rv_blobs_t blobs = {0};
    uint32_t *first = NULL, *order = NULL;
    rc = rv_det_allowed(ctx, zone_mask, zone, (int) p->edge_margin_px, disc, box, &allowed);
    if (rc <= 0)
        return rc;
    rv_view_t blur = rv_det_sub(ctx->blur, box), rust = rv_det_sub(ctx->rust, box);
    rv_view_t ref = rv_det_sub(ctx->ref_mean, box);
    mimg = rv_image_new(box[2] - box[0], box[3] - box[1], RV_GRAY8);
    timg = rv_image_new(box[2] - box[0], box[3] - box[1], RV_GRAY8);
    if (!mimg || !timg) {
        rc = rv_fail(RV_ENOMEM, s_domain, "scratch for %dx%d", box[2] - box[0], box[3] - box[1]);
        goto done;
    }
    rv_view_t mask = rv_image_view(mimg), tmp = rv_image_view(timg);
    /* candidates by the drop below the reference, or without one by a black-hat with a
     * square (van Herk: cost independent of its size, where a large disc costs one pass
     * per row width); the disc's black-hat, which measures, runs on each candidate's box */
    if (ctx->ref_mean) {
        /* with a learned reference, a pit is first of all darker than it (the drop goes
         * into tmp, where the peak test reads it) */
        rc = rv_sub_sat(&ref, &blur, &tmp);
    } else {
        rc = rv_dilate_rect(&blur, &tmp, disc, disc);
        if (rc == RV_OK)
            rc = rv_erode_rect(&tmp, &mask, disc, disc);
        if (rc == RV_OK)
            rc = rv_sub_sat(&mask, &blur, &tmp);
    }
    if (rc == RV_OK)
        rc = rv_threshold(&tmp, &mask, (uint8_t) p->dark_thr, NULL);
    if (rc == RV_OK && allowed) {
        rv_view_t a = rv_image_view(allowed);
        rc = rv_min(&mask, &a, &mask);
    }
    if (rc < 0)
        goto done;
    double min_px = p->min_diameter_mm / ctx->mm_per_px;
    /* candidates are at least the smallest pit's disc, and never fewer than 3 pixels */
    uint32_t min_area = (uint32_t) fmax(3, 0.5 * 0.785 * min_px * min_px);
    rc = rv_components(&mask, 8, min_area, &blobs);
    if (rc == RV_OK)
        rc = rv_det_runs_by_blob(&blobs, &first, &order);
    for (size_t i = 0; rc == RV_OK && i < blobs.count; i++) {
        /* texture specks pass the low threshold; a pit's core is far darker */
        uint32_t peak = 0;
        for (uint32_t k = first[i]; k < first[i + 1] && peak < p->peak_thr; k++) {
            const rv_run_t *r = &blobs.runs[order[k]];
            const uint8_t *h = rv_view_row(&tmp, r->y);
            for (int x = r->x0; x < r->x1; x++)
                peak = h[x] > peak ? h[x] : peak;
        }
        if (peak < p->peak_thr)
            continue;
        rv_det_local_t l;
        rc = rv_det_local_split_ctx(ctx, box, &blur, ctx->ref_mean ? &ref : NULL, &blobs, i,
                                    order, first[i], first[i + 1], disc, (int) p->dark_thr,
                                    min_area, &l);
        for (size_t j = 0; rc == RV_OK && j < l.pieces.count; j++)
            rc = s_piece(p, ctx, &blur, ctx->rust ? &rust : NULL, &l, j, box, zone, out);
        rv_det_local_free(&l);
    }
done:
    free(first);
    free(order);
    rv_blobs_free(&blobs);
    rv_image_destroy(&mimg);
    rv_image_destroy(&timg);
    rv_image_destroy(&allowed);
    return rc;
}

const rv_detector_class_t rv_det_pit = {"pit", sizeof(s_params_t), s_configure, s_run};
