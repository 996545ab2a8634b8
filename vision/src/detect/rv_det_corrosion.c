/* rv_det_corrosion.c - corrosion: rust-coloured regions.
 *
 * The front end's rust likelihood (hue 7.5 - 37.5 degrees, enough chroma, min(255,
 * 3 (R - B))) thresholded inside the zone, closed (fills the dark scale and pitting
 * inside a patch) then opened (drops single rust-coloured pixels of the texture),
 * components: one finding per region of at least min_area_mm2, with its area, its share
 * of the zone and its severity (mean likelihood / 255 over the region). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rv/rv_blobs.h"
#include "rv/rv_detect.h"
#include "rv/rv_error.h"
#include "rv/rv_filter.h"
#include "rv/rv_point.h"
#include "rv_detect_util.h"

static const char *s_domain = "rv_detect_corrosion";

typedef struct s_params {
    double rust_thr;     /* likelihood (0..255) above which a pixel is rust-coloured */
    double min_area_mm2; /* smaller regions are not reported */
    double close_mm;     /* closing disc: joins a patch's mottled pixels */
    double open_mm;      /* opening disc: drops specks */
} s_params_t;

#define K(name, def, lo, hi, integer) {#name, offsetof(s_params_t, name), def, lo, hi, integer}
static const rv_det_key_t s_keys[] = {
    K(rust_thr, 100, 0, 254, 1),
    K(min_area_mm2, 3.0, 0, 1e6, 0),
    K(close_mm, 1.0, 0, 100, 0),
    K(open_mm, 0.8, 0, 100, 0),
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
    if (!ctx->rust)
        return RV_OK; /* no rust map, nothing to judge by */
    int dc = p->close_mm > 0 ? rv_det_odd(p->close_mm / ctx->mm_per_px, 1, RV_DISC_MAX) : 1;
    int dopen = p->open_mm > 0 ? rv_det_odd(p->open_mm / ctx->mm_per_px, 1, RV_DISC_MAX) : 1;
    int box[4];
    rv_image_t *allowed = NULL, *mimg = NULL, *timg = NULL;
    rv_blobs_t blobs = {0};
    uint32_t *first = NULL, *order = NULL;
    rc = rv_det_allowed(ctx, zone_mask, zone, 0, dc, box, &allowed);
    if (rc <= 0)
        return rc;
    rv_view_t rust = rv_det_sub(ctx->rust, box);
    mimg = rv_image_new(box[2] - box[0], box[3] - box[1], RV_GRAY8);
    timg = rv_image_new(box[2] - box[0], box[3] - box[1], RV_GRAY8);
    if (!mimg || !timg) {
        rc = rv_fail(RV_ENOMEM, s_domain, "scratch for %dx%d", box[2] - box[0], box[3] - box[1]);
        goto done;
    }
    rv_view_t mask = rv_image_view(mimg), tmp = rv_image_view(timg);
    size_t count = 0;
    rc = rv_threshold(&rust, &mask, (uint8_t) p->rust_thr, &count);
    if (rc < 0 || count == 0)
        goto done;
    /* rust is rare: clean only the box around the rust-coloured pixels */
    int rb[4];
    rv_det_mask_box(&mask, mask.width, mask.height, dc + dopen + 2, rb);
    rv_view_t full = mask;
    mask = rv_det_sub(&full, rb);
    tmp = rv_det_sub(&tmp, rb);
    if (dc > 1 && (rc = rv_close_disc(&mask, &tmp, dc)) < 0)
        goto done;
    if (dc > 1 && dopen > 1)
        rc = rv_open_disc(&tmp, &mask, dopen);
    else if (dc > 1)
        rc = rv_view_copy(&tmp, &mask);
    else if (dopen > 1 && (rc = rv_open_disc(&mask, &tmp, dopen)) == RV_OK)
        rc = rv_view_copy(&tmp, &mask);
    mask = full;
    if (rc == RV_OK && allowed) {
        rv_view_t a = rv_image_view(allowed);
        rc = rv_min(&mask, &a, &mask);
    }
    if (rc < 0)
        goto done;
    double mm2 = ctx->mm_per_px * ctx->mm_per_px;
    uint32_t min_area = (uint32_t) fmax(1, ceil(p->min_area_mm2 / mm2));
    rc = rv_components(&mask, 8, min_area, &blobs);
    if (rc == RV_OK)
        rc = rv_det_runs_by_blob(&blobs, &first, &order);
    rv_view_t scratch = rv_image_view(timg);
    size_t zone_px = blobs.count ? rv_det_zone_pixels(ctx, zone_mask, box, &scratch) : 1;
    for (size_t i = 0; rc == RV_OK && i < blobs.count; i++) {
        const rv_blob_t *b = &blobs.items[i];
        rv_finding_t f;
        memset(&f, 0, sizeof f);
        f.type = RV_FINDING_CORROSION;
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
        f.severity = rv_det_blob_mean(&rust, &blobs, order, first[i], first[i + 1]) / 255.0;
        f.score = f.severity;
        rc = rv_findings_push(out, &f);
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

const rv_detector_class_t rv_det_corrosion = {"corrosion", sizeof(s_params_t), s_configure,
                                               s_run};
