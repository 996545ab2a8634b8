/* rv_det_wear.c - wear: surface change against the learned reference.
 *
 * A pixel has changed when the blurred gray leaves its reference band mean +- k spread
 * (rv_band_from_stats + rv_band_threshold, both integer SIMD kernels). Inside the zone and
 * this view's part eroded by a few pixels (the outline of an aligned view wobbles), rust
 * excluded (the corrosion detector reports it), opened with a square that removes cracks,
 * pits and noise, then grouped: each region of at least min_area_mm2 is a finding with its
 * area, its share of the zone and a score 1 - exp(-zone_pct / pct_scale). Without a
 * learned reference it reports nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rv/rv_blobs.h"
#include "rv/rv_detect.h"
#include "rv/rv_error.h"
#include "rv/rv_filter.h"
#include "rv/rv_point.h"
#include "rv_detect_util.h"

static const char *s_domain = "rv_detect_wear";

typedef struct s_params {
    double k;              /* tolerance band: mean +- k spread */
    double min_area_mm2;   /* smaller regions are not reported */
    double open_mm;        /* opening disc: thin or small changes are other defects */
    double pct_scale;      /* zone % at which the score reaches 1 - 1/e */
    double edge_margin_px; /* outline and rims ignored */
    double rust_thr;       /* rust likelihood above which a pixel is left to corrosion */
} s_params_t;

#define K(name, def, lo, hi, integer) {#name, offsetof(s_params_t, name), def, lo, hi, integer}
static const rv_det_key_t s_keys[] = {
    K(k, 3.0, 0, 255, 0),          K(min_area_mm2, 25, 0, 1e6, 0), K(open_mm, 4.0, 0, 100, 0),
    K(pct_scale, 5, 0.01, 100, 0), K(edge_margin_px, 4, 0, 100, 1), K(rust_thr, 100, 0, 255, 1),
};
#undef K

static int s_configure(void *params, const rv_param_t *kv, size_t n)
{
    return rv_det_configure(s_domain, s_keys, sizeof s_keys / sizeof s_keys[0], params, kv, n);
}

static int s_run(const void *params, const rv_detect_ctx_t *ctx, const rv_view_t *zone_mask,
                 int zone, rv_findings_t *out)
{
    const s_params_t *p = params;
    int rc = rv_det_check(s_domain, ctx, zone_mask);
    if (rc < 0)
        return rc;
    if (!ctx->ref_mean || !ctx->ref_spread)
        return RV_OK; /* nothing learned yet: the pipeline says so */
    int dopen = p->open_mm > 0 ? rv_det_odd(p->open_mm / ctx->mm_per_px, 1, RV_DISC_MAX) : 1;
    int box[4];
    rv_image_t *allowed = NULL, *lo_img = NULL, *hi_img = NULL, *mimg = NULL;
    rv_blobs_t blobs = {0};
    uint32_t *first = NULL, *order = NULL;
    rc = rv_det_allowed(ctx, zone_mask, zone, (int) p->edge_margin_px, 0, box, &allowed);
    if (rc <= 0)
        return rc;
    int bw = box[2] - box[0], bh = box[3] - box[1];
    lo_img = rv_image_new(bw, bh, RV_GRAY8);
    hi_img = rv_image_new(bw, bh, RV_GRAY8);
    mimg = rv_image_new(bw, bh, RV_GRAY8);
    if (!lo_img || !hi_img || !mimg) {
        rc = rv_fail(RV_ENOMEM, s_domain, "scratch for %dx%d", bw, bh);
        goto done;
    }
    rv_view_t lo = rv_image_view(lo_img), hi = rv_image_view(hi_img), mask = rv_image_view(mimg);
    rv_view_t mean = rv_det_sub(ctx->ref_mean, box), spread = rv_det_sub(ctx->ref_spread, box);
    rv_view_t blur = rv_det_sub(ctx->blur, box);
    int kq8 = (int) lrint(p->k * 256);
    if (kq8 > 65535)
        kq8 = 65535;
    /* the band depends on the reference alone: a cache keeps it from one view to the next */
    rv_view_t blo, bhi;
    int cached = rv_det_cached(ctx, RV_DET_MAP_BAND_LO, kq8, box, NULL, &blo);
    if (cached == 1)
        cached = rv_det_cached(ctx, RV_DET_MAP_BAND_HI, kq8, box, NULL, &bhi);
    rc = cached < 0 ? cached : RV_OK;
    if (cached == 0) {
        rc = rv_band_from_stats(&mean, &spread, kq8, &lo, &hi);
        blo = lo;
        bhi = hi;
    }
    size_t count = 0;
    if (rc == RV_OK)
        rc = rv_band_threshold(&blur, &blo, &bhi, &mask, &count);
    if (rc < 0 || count == 0)
        goto done;
    if (allowed) {
        rv_view_t a = rv_image_view(allowed);
        rc = rv_min(&mask, &a, &mask);
    }
    if (rc == RV_OK && ctx->rust) {
        rv_view_t rust = rv_det_sub(ctx->rust, box);
        rc = rv_threshold(&rust, &lo, (uint8_t) (p->rust_thr > 254 ? 254 : p->rust_thr), NULL);
        if (rc == RV_OK)
            rc = rv_sub_sat(&mask, &lo, &mask);
    }
    /* opening with a square (van Herk: cost independent of its size) */
    if (rc == RV_OK && dopen > 1 && (rc = rv_erode_rect(&mask, &hi, dopen, dopen)) == RV_OK)
        rc = rv_dilate_rect(&hi, &mask, dopen, dopen);
    if (rc < 0)
        goto done;
    double mm2 = ctx->mm_per_px * ctx->mm_per_px;
    uint32_t min_area = (uint32_t) fmax(1, ceil(p->min_area_mm2 / mm2));
    rc = rv_components(&mask, 8, min_area, &blobs);
    if (rc == RV_OK)
        rc = rv_det_runs_by_blob(&blobs, &first, &order);
    size_t zone_px = blobs.count ? rv_det_zone_pixels(ctx, zone_mask, box, &lo) : 1;
    for (size_t i = 0; rc == RV_OK && i < blobs.count; i++) {
        const rv_blob_t *b = &blobs.items[i];
        rv_finding_t f;
        memset(&f, 0, sizeof f);
        f.type = RV_FINDING_WEAR;
        f.zone = zone;
        f.bbox[0] = b->x0 + box[0];
        f.bbox[1] = b->y0 + box[1];
        f.bbox[2] = b->x1 - b->x0 + 1;
        f.bbox[3] = b->y1 - b->y0 + 1;
        f.npoints = 1;
        f.points[0][0] = (float) (b->cx + box[0]);
        f.points[0][1] = (float) (b->cy + box[1]);
        f.area_mm2 = b->area * mm2;
        f.zone_pct = 100.0 * b->area / (double) (zone_px ? zone_px : 1);
        f.score = 1.0 - exp(-f.zone_pct / p->pct_scale);
        rc = rv_findings_push(out, &f);
    }
done:
    free(first);
    free(order);
    rv_blobs_free(&blobs);
    rv_image_destroy(&lo_img);
    rv_image_destroy(&hi_img);
    rv_image_destroy(&mimg);
    rv_image_destroy(&allowed);
    return rc;
}

const rv_detector_class_t rv_det_wear = {"wear", sizeof(s_params_t), s_configure, s_run};
