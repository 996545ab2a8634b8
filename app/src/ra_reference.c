/* ra_reference.c - learning, storing and applying a family's reference of good parts. */
#include "ra/ra_reference.h"
#include "rv/rv.h"
#include "rv/rv_align.h"
#include "rv/rv_blobs.h"
#include "rv/rv_surface.h"

#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAGIC "RMREF\0\2\0"
#define S_HEADER 160 /* bytes before the planes */
#define S_RINGS_HEADER 60 /* the rings section's parameters and threshold, before the spreads */

void ra_train_params_init(ra_train_params_t *p)
{
    p->fa_target = 0.02;
    p->folds = 5;
    p->band_k = 4.0;
    p->verbose = 0;
}

void ra_reference_destroy(ra_reference_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ra_reference_t *r = *self_p;
    rv_image_destroy(&r->master);
    rv_image_destroy(&r->mean);
    rv_image_destroy(&r->spread);
    rv_image_destroy(&r->part);
    rv_image_destroy(&r->imean);
    rv_image_destroy(&r->outline);
    rv_polar_model_destroy(&r->rings);
    free(r);
    *self_p = NULL;
}

static ra_reference_t *s_new(int w, int h)
{
    ra_reference_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->width = w;
    r->height = h;
    r->train_residual_median = r->train_residual_max = -1;
    r->master = rv_image_new(w, h, RV_GRAY8);
    r->mean = rv_image_new(w, h, RV_GRAY8);
    r->spread = rv_image_new(w, h, RV_GRAY8);
    r->part = rv_image_new(w, h, RV_GRAY8);
    r->imean = rv_image_new(w, h, RV_GRAY8);
    r->outline = rv_image_new(w, h, RV_GRAY8);
    if (!r->master || !r->mean || !r->spread || !r->part || !r->imean || !r->outline)
        ra_reference_destroy(&r);
    return r;
}

/* --- the band and the anomaly ------------------------------------------------------ */

int ra_reference_band(const ra_reference_t *self, const rv_view_t *lo, const rv_view_t *hi)
{
    rv_view_t mean = rv_image_view(self->mean), spread = rv_image_view(self->spread);
    int k_q8 = (int) lround(self->band_k * 256);
    int rc = rv_band_from_stats(&mean, &spread, k_q8, lo, hi);
    /* a pixel of misalignment must not read as a change: widen by the 3x3 neighbourhood */
    rv_image_t *tmp = rc == RV_OK ? rv_image_new(mean.width, mean.height, RV_GRAY8) : NULL;
    if (!tmp)
        return rc != RV_OK ? rc : RV_ENOMEM;
    rv_view_t t = rv_image_view(tmp);
    if ((rc = rv_erode_rect(lo, &t, 3, 3)) == RV_OK && (rc = rv_view_copy(&t, lo)) == RV_OK &&
        (rc = rv_dilate_rect(hi, &t, 3, 3)) == RV_OK)
        rc = rv_view_copy(&t, hi);
    rv_image_destroy(&tmp);
    return rc;
}

int ra_align_params_of(const rm_family_t *family, size_t view, rv_align_params_t *ap)
{
    rm_view_align_t va;
    rv_align_params_init(ap);
    int rc = rm_family_view_align(family, view, &va);
    if (rc != RV_OK)
        return rc;
    ap->affine = va.affine;
    ap->solid = va.solid;
    ap->blind_holes = va.blind_holes;
    ap->rotate = va.rotation;
    ap->min_scale = va.min_scale;
    ap->max_scale = va.max_scale;
    ap->max_aniso = va.max_aniso;
    ap->work_width = va.work_width;
    ap->min_iou = va.min_overlap;
    return RV_OK;
}

#define S_DISAGREE_MM 1.0 /* ra_reference_train: the nominal outline's allowance where the
                             good parts' outlines disagree */

/* Count the part pixels of mask into cover (one counter per pixel, the mask's size). */
static void s_cover_add(uint16_t *cover, const rv_view_t *mask)
{
    for (int y = 0; y < mask->height; y++) {
        const uint8_t *m = rv_view_row(mask, y);
        uint16_t *c = cover + (size_t) y * mask->width;
        for (int x = 0; x < mask->width; x++)
            c[x] += m[x] != 0;
    }
}

int ra_part_mask_p(const rv_view_t *gray, const rv_view_t *mask, const rv_align_params_t *ap)
{
    if (ap && ap->solid)
        return rv_align_silhouette_p(gray, mask, ap);
    int rc = ra_part_mask(gray, mask);
    return rc == RV_OK && ap && ap->blind_holes ? rv_fill_holes(mask) : rc;
}

int ra_part_mask(const rv_view_t *gray, const rv_view_t *mask)
{
    if (!mask)
        return rv_align_silhouette(gray, mask);
    /* the silhouette into a scratch image, closed from there into mask */
    rv_image_t *tmp = rv_image_new(mask->width, mask->height, RV_GRAY8);
    if (!tmp)
        return RV_ENOMEM;
    rv_view_t t = rv_image_view(tmp);
    int rc = rv_align_part_mask(gray, &t);
    if (rc == RV_OK) {
        /* close with a disc of ~1/100 of the short side: marks, cracks, rust and the code's
         * dark modules are part of the part; bores and bolt holes (larger) stay holes */
        int side = mask->width < mask->height ? mask->width : mask->height;
        int d = (side / 100) | 1;
        if (d < 5)
            d = 5;
        rc = rv_close_disc(&t, mask, d);
    }
    rv_image_destroy(&tmp);
    return rc;
}

/* 128 + b - m clamped to 0..255 (in 16 bits: the width SSE2's clamps have) */
static inline uint8_t s_detail_px(uint8_t b, uint8_t m)
{
    int16_t v = (int16_t) (128 + (int16_t) b - (int16_t) m);
    v = v < 0 ? 0 : v;
    return (uint8_t) (v > 255 ? 255 : v);
}

/* One row of the detail image. Blocks of 16 (a trip count the compiler knows) on rows
 * that never overlap (restrict) are what -O2 vectorises; the tail goes one by one. */
static void s_detail_row(const uint8_t *restrict b, const uint8_t *restrict m,
                         uint8_t *restrict d, int w)
{
    int x = 0;
    for (; x + 16 <= w; x += 16)
        for (int i = 0; i < 16; i++)
            d[x + i] = s_detail_px(b[x + i], m[x + i]);
    for (; x < w; x++)
        d[x] = s_detail_px(b[x], m[x]);
}

int ra_reference_detail(const rv_view_t *blur, const rv_view_t *dst)
{
    rv_image_t *mean = rv_image_new(blur->width, blur->height, RV_GRAY8);
    if (!mean)
        return RV_ENOMEM;
    rv_view_t mv = rv_image_view(mean);
    int rc = rv_box_blur(blur, &mv, 31);
    for (int y = 0; rc == RV_OK && y < blur->height; y++)
        s_detail_row(rv_view_row(blur, y), rv_view_row(&mv, y), rv_view_row(dst, y),
                     blur->width);
    rv_image_destroy(&mean);
    return rc;
}

int ra_reference_normalize(const ra_reference_t *self, const rv_image_t *target,
                           const rv_view_t *blur, const rv_view_t *dst)
{
    rv_view_t mean = rv_image_view(target), part = rv_image_view(self->part);
    if (blur->width != mean.width || blur->height != mean.height || dst->width != mean.width ||
        dst->height != mean.height)
        return rv_fail(RV_EINVAL, "ra_reference_normalize", "views must be %dx%d", mean.width,
                       mean.height);
    /* least squares mean ~ a * blur + b over the part (every 4th pixel of every 4th row) */
    double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int y = 0; y < mean.height; y += 4) {
        const uint8_t *b = rv_view_row(blur, y), *m = rv_view_row(&mean, y),
                      *k = rv_view_row(&part, y);
        for (int x = 0; x < mean.width; x += 4)
            if (k[x]) {
                n++;
                sx += b[x];
                sy += m[x];
                sxx += (double) b[x] * b[x];
                sxy += (double) b[x] * m[x];
            }
    }
    double a = 1, c = 0, var = n > 1 ? sxx - sx * sx / n : 0;
    if (var > 1e-6) {
        a = (sxy - sx * sy / n) / var;
        c = (sy - a * sx) / n;
    }
    if (!(a > 0.5 && a < 2.0)) { /* not a lighting change: leave the image as it is */
        a = 1;
        c = 0;
    }
    uint8_t lut[256];
    for (int v = 0; v < 256; v++)
        lut[v] = (uint8_t) fmin(255, fmax(0, lround(a * v + c)));
    return rv_lut(blur, dst, lut);
}

int ra_reference_anomaly(const ra_reference_t *self, const rv_view_t *blur, const rv_view_t *lo,
                         const rv_view_t *hi, const rv_view_t *exclude, const rv_view_t *scratch,
                         double mm_per_px, double *raw_mm2)
{
    size_t count = 0;
    int rc = rv_band_threshold(blur, lo, hi, scratch, &count);
    if (rc != RV_OK)
        return rc;
    /* only inside the part, kept 3 px from its outline */
    rv_view_t part = rv_image_view(self->part);
    rv_image_t *inner = rv_image_new(part.width, part.height, RV_GRAY8);
    if (!inner)
        return RV_ENOMEM;
    rv_view_t in = rv_image_view(inner);
    if ((rc = rv_erode_rect(&part, &in, 7, 7)) == RV_OK)
        rc = rv_min(scratch, &in, scratch);
    if (rc == RV_OK && exclude)
        rc = rv_sub_sat(scratch, exclude, scratch);
    rv_image_destroy(&inner);
    if (rc != RV_OK)
        return rc;
    rv_blobs_t blobs;
    if ((rc = rv_components(scratch, 8, 1, &blobs)) != RV_OK)
        return rc;
    uint32_t largest = 0;
    for (size_t i = 0; i < blobs.count; i++)
        if (blobs.items[i].area > largest)
            largest = blobs.items[i].area;
    rv_blobs_free(&blobs);
    *raw_mm2 = largest * mm_per_px * mm_per_px;
    return RV_OK;
}

double ra_anomaly_score(double raw, double learned, double family_threshold)
{
    double t = family_threshold > 0 && family_threshold < 1 ? family_threshold : 0.5;
    double c = fmax(learned, 1e-6) * (1 - t) / t;
    return raw / (raw + c);
}

double ra_reference_score(const ra_reference_t *self, double raw_mm2, double family_threshold)
{
    return ra_anomaly_score(raw_mm2, self->anomaly_threshold, family_threshold);
}

/* --- training ------------------------------------------------------------------------ */

/* Decoded whole, or (tw > 0) shrunk on load to the smallest DCT scale still covering
 * tw x th, as the inspection decodes it (ra_inspect_jpeg). */
static rv_image_t *s_decode_for(const char *path, rv_format_t fmt, int tw, int th)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (rv_file_read(path, (size_t) 256 << 20, &bytes, &len) != RV_OK)
        return NULL;
    rv_image_t *img = rv_jpeg_decode_cover(bytes, len, fmt, tw, th, NULL, NULL);
    free(bytes);
    if (!img) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", rv_last_error());
        rv_fail(RV_EFORMAT, "reman-train", "%s: %s", path, msg);
    }
    return img;
}

static rv_image_t *s_decode(const char *path, rv_format_t fmt)
{
    return s_decode_for(path, fmt, 0, 0);
}

/* Align one good image to the master; its blurred gray in the master's frame goes to
 * *blur_out and the detail image (ra_reference_detail) to *detail_out. */
static int s_aligned(const rv_align_ref_t *aref, const char *path, int w, int h,
                     rv_image_t **blur_out, rv_image_t **detail_out, rv_image_t **gray_out,
                     double *residual)
{
    rv_image_t *gray = s_decode_for(path, RV_GRAY8, w, h), *warped = NULL, *blur = NULL,
               *det = NULL;
    int rc = RV_EFORMAT;
    if (!gray)
        return rc;
    rv_view_t g = rv_image_view(gray);
    rv_align_result_t r;
    if (rv_align(aref, &g, &r) != RV_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", rv_last_error());
        rv_fail(RV_EFORMAT, "reman-train", "%s: %s", path, msg);
        goto out;
    }
    *residual = r.residual_px;
    warped = rv_image_new(w, h, RV_GRAY8);
    blur = rv_image_new(w, h, RV_GRAY8);
    det = rv_image_new(w, h, RV_GRAY8);
    if (!warped || !blur || !det)
        goto out;
    rv_view_t wv = rv_image_view(warped), bv = rv_image_view(blur), dv = rv_image_view(det);
    if (rv_align_warp(&g, &r, &wv) != RV_OK || rv_gauss5(&wv, &bv) != RV_OK ||
        ra_reference_detail(&bv, &dv) != RV_OK)
        goto out;
    *blur_out = blur;
    *detail_out = det;
    blur = det = NULL;
    if (gray_out) { /* the image as decoded (shrunk on load), not aligned */
        *gray_out = gray;
        gray = NULL;
    }
    rc = RV_OK;
out:
    rv_image_destroy(&warped);
    rv_image_destroy(&blur);
    rv_image_destroy(&det);
    rv_image_destroy(&gray);
    return rc;
}

/* The plain per-pixel mean of images (the intensity reference). */
static void s_plain_mean(rv_image_t **imgs, size_t n, rv_image_t *dst)
{
    rv_view_t dv = rv_image_view(dst);
    for (int y = 0; y < dv.height; y++) {
        uint8_t *d = rv_view_row(&dv, y);
        for (int x = 0; x < dv.width; x++) {
            uint32_t sum = 0;
            for (size_t i = 0; i < n; i++) {
                rv_view_t v = rv_image_view(imgs[i]);
                sum += rv_view_row(&v, y)[x];
            }
            d[x] = (uint8_t) ((sum + n / 2) / n);
        }
    }
}

/* Per-pixel mean and spread (1.25 x mean absolute deviation, at least 3 grey levels) of
 * the images whose use[i] is set. */
void ra_reference_stats(rv_image_t **imgs, const int *use, size_t n, ra_reference_t *r)
{
    rv_view_t mv = rv_image_view(r->mean), sv = rv_image_view(r->spread);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += use[i] != 0;
    for (int y = 0; y < r->height; y++) {
        uint8_t *mean = rv_view_row(&mv, y), *spread = rv_view_row(&sv, y);
        for (int x = 0; x < r->width; x++) {
            uint32_t sum = 0;
            for (size_t i = 0; i < n; i++)
                if (use[i]) {
                    rv_view_t v = rv_image_view(imgs[i]);
                    sum += rv_view_row(&v, y)[x];
                }
            int mu = (int) ((sum + m / 2) / m);
            uint32_t dev = 0;
            for (size_t i = 0; i < n; i++)
                if (use[i]) {
                    rv_view_t v = rv_image_view(imgs[i]);
                    dev += (uint32_t) abs(rv_view_row(&v, y)[x] - mu);
                }
            double s = 1.25 * dev / m;
            mean[x] = (uint8_t) mu;
            spread[x] = (uint8_t) fmin(255, fmax(3, lround(s)));
        }
    }
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

ra_reference_t *ra_reference_train(const rm_family_t *family, const char *master_path,
                                   const char *const *paths, size_t n,
                                   const ra_train_params_t *params)
{
    const char *domain = "reman-train";
    ra_train_params_t p;
    if (params)
        p = *params;
    else
        ra_train_params_init(&p);
    int w = 0, h = 0;
    rm_family_view_size(family, 0, &w, &h);
    if (n < 3 || n > 60000) {
        rv_fail(RV_EINVAL, domain, "needs 3 to 60000 good images (got %zu)", n);
        return NULL;
    }
    ra_reference_t *r = NULL;
    rv_image_t **imgs = calloc(n, sizeof *imgs), **blurs = calloc(n, sizeof *blurs), **raws = NULL;
    int *use = calloc(n, sizeof *use);
    double *scores = calloc(n, sizeof *scores);
    rv_align_ref_t *aref = NULL;
    rv_image_t *master = s_decode(master_path, RV_GRAY8), *lo = NULL, *hi = NULL, *scr = NULL,
               *norm = NULL;
    if (!imgs || !blurs || !use || !scores || !master)
        goto fail;
    if (rv_image_width(master) != w || rv_image_height(master) != h) {
        rv_fail(RV_EINVAL, domain, "%s is %dx%d; the family's view is %dx%d", master_path,
                rv_image_width(master), rv_image_height(master), w, h);
        goto fail;
    }
    if (!(r = s_new(w, h)))
        goto fail;
    snprintf(r->family_id, sizeof r->family_id, "%s", rm_family_id(family));
    memcpy(r->family_hash, rm_family_hash(family), 32);
    r->fa_target = p.fa_target;
    r->band_k = p.band_k;
    r->n_train = (int) n;
    rv_view_t mv = rv_image_view(master), rmv = rv_image_view(r->master),
              pv = rv_image_view(r->part);
    rv_view_copy(&mv, &rmv);
    rv_align_params_t ap;
    (void) ra_align_params_of(family, 0, &ap);
    if (ra_part_mask_p(&mv, &pv, &ap) != RV_OK)
        goto fail;
    if (!(aref = rv_align_ref_new(&mv, NULL, &ap)))
        goto fail;
    int window = 21, rings = rm_family_anomaly_model(family, &window) == RM_ANOMALY_RINGS;
    if (rings && !(raws = calloc(n, sizeof *raws)))
        goto fail;
    size_t nres = 0;
    double *resid = calloc(n, sizeof *resid);
    if (!resid)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        double res = -1;
        if (s_aligned(aref, paths[i], w, h, &blurs[i], &imgs[i], rings ? &raws[i] : NULL,
                      &res) != RV_OK) {
            free(resid);
            goto fail;
        }
        if (res >= 0)
            resid[nres++] = res;
        if (p.verbose)
            fprintf(stderr, "reman-train: aligned %zu/%zu %s (residual %.2f px)\n", i + 1, n,
                    paths[i], res);
    }
    /* the goods' alignment residual, which the family's max_residual_px must clear */
    if (nres) {
        qsort(resid, nres, sizeof *resid, s_cmp_double);
        r->train_residual_median = resid[nres / 2];
        r->train_residual_max = resid[nres - 1];
    }
    free(resid);
    /* the nominal material: where the master and every aligned good part have it. A
     * face turned from the lamp may leave a part's mask short of its outline under one
     * light and not under another (rv_align_part_mask grows across most of them); first
     * the median outline (the share of the master and the goods with material at each
     * pixel), then each mask mended along it (rv_align_part_mend: a bite in one good
     * part's mask, a streak darker than the rest, would be a bite in the nominal, and a
     * chip there would be measured to it), then their intersection. Where the good parts
     * still disagree, a view's mask is no evidence of missing material, and a view lit as
     * none of them was may fall a little further short still: there the nominal outline
     * keeps S_DISAGREE_MM further in */
    scr = rv_image_new(w, h, RV_GRAY8);
    rv_image_t *uni = rv_image_new(w, h, RV_GRAY8);
    uint16_t *cover = calloc((size_t) w * h, sizeof *cover);
    if (!scr || !uni || !cover) {
        rv_fail(RV_ENOMEM, domain, "out of memory");
        rv_image_destroy(&uni);
        free(cover);
        goto fail;
    }
    rv_view_t uv = rv_image_view(uni), gm = rv_image_view(scr), ov = rv_image_view(r->outline);
    s_cover_add(cover, &pv);
    int ok = 1;
    rv_mend_t *mend = NULL;
    for (int pass = 0; ok && pass < 2; pass++) {
        if (pass == 1) {
            for (int y = 0; y < h; y++) {
                uint8_t *o = rv_view_row(&ov, y);
                for (int x = 0; x < w; x++)
                    o[x] = (uint8_t) ((255 * (size_t) cover[(size_t) y * w + x] + (n + 1) / 2) /
                                      (n + 1));
            }
            if (!ap.solid && (!(mend = rv_mend_new(&ov, RA_OUTLINE_SHARE)) ||
                              rv_mend_run(mend, &mv, &pv, NULL) != RV_OK))
                ok = 0;
            rv_view_copy(&pv, &uv);
        }
        for (size_t i = 0; ok && i < n; i++) {
            rv_view_t bv = rv_image_view(blurs[i]);
            int rc = ra_part_mask_p(&bv, &gm, &ap);
            if (rc == RV_OK && pass == 0)
                s_cover_add(cover, &gm);
            if (rc == RV_OK && pass == 1 && !ap.solid)
                rc = rv_mend_run(mend, &bv, &gm, NULL);
            if (rc == RV_OK && pass == 1 && (rc = rv_min(&pv, &gm, &pv)) == RV_OK)
                rc = rv_max(&uv, &gm, &uv);
            if (rc != RV_OK) {
                char msg[512];
                snprintf(msg, sizeof msg, "%s", rv_last_error());
                rv_fail(RV_EFORMAT, "reman-train", "%s: the part's mask: %s", paths[i], msg);
                ok = 0;
            }
        }
    }
    free(cover);
    rv_mend_destroy(&mend);
    if (!ok) {
        rv_image_destroy(&uni);
        goto fail;
    }
    double mpp = rm_family_mm_per_px(family) > 0 ? rm_family_mm_per_px(family) : 1.0;
    int grow = (int) ceil(S_DISAGREE_MM / mpp);
    if (rv_sub_sat(&uv, &pv, &uv) != RV_OK ||
        rv_dilate_rect(&uv, &gm, 2 * grow + 1, 2 * grow + 1) != RV_OK ||
        rv_sub_sat(&pv, &gm, &pv) != RV_OK) {
        rv_image_destroy(&uni);
        goto fail;
    }
    rv_image_destroy(&uni);
    lo = rv_image_new(w, h, RV_GRAY8);
    hi = rv_image_new(w, h, RV_GRAY8);
    norm = rv_image_new(w, h, RV_GRAY8);
    if (!lo || !hi || !scr || !norm)
        goto fail;
    rv_view_t lv = rv_image_view(lo), hv = rv_image_view(hi), sv = rv_image_view(scr);
    double mmpp = rm_family_mm_per_px(family) > 0 ? rm_family_mm_per_px(family) : 1.0;
    /* k-fold: learn on the other folds, score the held-out good images */
    int k = p.folds < 2 ? 2 : p.folds;
    if ((size_t) k > n)
        k = (int) n;
    for (int fold = 0; fold < k; fold++) {
        for (size_t i = 0; i < n; i++)
            use[i] = (int) (i % (size_t) k) != fold;
        ra_reference_stats(imgs, use, n, r);
        if (ra_reference_band(r, &lv, &hv) != RV_OK)
            goto fail;
        for (size_t i = 0; i < n; i++) {
            if (use[i])
                continue;
            rv_view_t bv = rv_image_view(imgs[i]), nv = rv_image_view(norm);
            if (ra_reference_normalize(r, r->mean, &bv, &nv) != RV_OK ||
                ra_reference_anomaly(r, &nv, &lv, &hv, NULL, &sv, mmpp, &scores[i]) != RV_OK)
                goto fail;
        }
    }
    qsort(scores, n, sizeof *scores, s_cmp_double);
    /* the held-out good score of rank ceil((1 - fa)(n + 1)) (rv_fa_rank); with fewer than
     * 1 / fa - 1 images that is the largest one, and a floor of 1 mm2 keeps a perfect
     * training set from making every speck an anomaly */
    r->anomaly_threshold = fmax(1.0, scores[rv_fa_rank(n, p.fa_target) - 1]);
    for (size_t i = 0; i < n; i++)
        use[i] = 1;
    ra_reference_stats(imgs, use, n, r);
    s_plain_mean(blurs, n, r->imean);
    /* a round part's anomaly model: its rings, learnt from the same goods as they were
     * delivered (the model fits each one's outline itself; a warp would only blur it) */
    if (rings) {
        rv_view_t *bv = malloc(n * sizeof *bv);
        rv_polar_params_t pp;
        rv_polar_params_default(&pp);
        pp.window = window;
        pp.fa = p.fa_target;
        pp.folds = p.folds < 2 ? 2 : p.folds > 20 ? 20 : p.folds;
        for (size_t i = 0; bv && i < n; i++)
            bv[i] = rv_image_view(raws[i]);
        r->rings = bv ? rv_polar_model_train(bv, n, &pp) : NULL;
        free(bv);
        if (!r->rings)
            goto fail;
    }
    goto out;
fail:
    ra_reference_destroy(&r);
out:
    for (size_t i = 0; imgs && i < n; i++)
        rv_image_destroy(&imgs[i]);
    for (size_t i = 0; blurs && i < n; i++)
        rv_image_destroy(&blurs[i]);
    for (size_t i = 0; raws && i < n; i++)
        rv_image_destroy(&raws[i]);
    free(raws);
    free(imgs);
    free(blurs);
    free(use);
    free(scores);
    rv_image_destroy(&master);
    rv_image_destroy(&lo);
    rv_image_destroy(&hi);
    rv_image_destroy(&scr);
    rv_image_destroy(&norm);
    rv_align_ref_destroy(&aref);
    return r;
}

/* --- the file ------------------------------------------------------------------------ */

static void s_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t) (v >> (8 * i));
}

static uint32_t s_get32(const uint8_t *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static void s_putf64(uint8_t *p, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t) (u >> (8 * i));
}

static double s_getf64(const uint8_t *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t) p[i] << (8 * i);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

int ra_reference_save(const ra_reference_t *self, const char *path)
{
    size_t plane = (size_t) self->width * self->height;
    /* version 5: six planes (version 4's five and the median outline), then the rings
     * section: a 4-byte length (0 when none) and the rings model as rv_polar_model_pack
     * gives it. A reference loaded from an older file (no outline) is saved as version 4. */
    int np = self->outline ? 6 : 5;
    size_t rings = self->rings ? rv_polar_model_packed_size(self->rings) : 0;
    size_t size = S_HEADER + (size_t) np * plane + 4 + rings + 32;
    if (rings > UINT32_MAX)
        return rv_fail(RV_EINVAL, "ra_reference_save", "rings model of %zu bytes", rings);
    uint8_t *buf = calloc(1, size);
    if (!buf)
        return rv_fail(RV_ENOMEM, "ra_reference_save", "out of memory");
    memcpy(buf, S_MAGIC, 8);
    s_put32(buf + 8, np == 6 ? 5 : 4);
    s_put32(buf + 12, (uint32_t) self->width);
    s_put32(buf + 16, (uint32_t) self->height);
    s_put32(buf + 20, (uint32_t) self->n_train);
    s_putf64(buf + 24, self->anomaly_threshold);
    s_putf64(buf + 32, self->fa_target);
    s_putf64(buf + 40, self->band_k);
    memcpy(buf + 48, self->family_id, 48);
    memcpy(buf + 96, self->family_hash, 32);
    const rv_image_t *planes[6] = {self->master, self->mean,  self->spread,
                                   self->part,   self->imean, self->outline};
    for (int k = 0; k < np; k++) {
        rv_view_t v = rv_image_view(planes[k]);
        for (int y = 0; y < v.height; y++)
            memcpy(buf + S_HEADER + k * plane + (size_t) y * v.width, rv_view_row(&v, y),
                   (size_t) v.width);
    }
    uint8_t *q = buf + S_HEADER + (size_t) np * plane;
    s_put32(q, (uint32_t) rings);
    size_t packed = 0;
    if (self->rings &&
        (rv_polar_model_pack(self->rings, q + 4, rings, &packed) != RV_OK || packed != rings)) {
        free(buf);
        return rv_fail(RV_EINVAL, "ra_reference_save", "rings model: %s", rv_last_error());
    }
    crypto_hash_sha256(buf + size - 32, buf, size - 32);
    int rc = RV_OK;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f || fwrite(buf, 1, size, f) != size || fflush(f) != 0) {
        rc = rv_fail(RV_EIO, "ra_reference_save", "%s: %s", tmp, strerror(errno));
        if (f)
            fclose(f);
        remove(tmp);
    } else if (fclose(f) != 0 || rename(tmp, path) != 0) {
        rc = rv_fail(RV_EIO, "ra_reference_save", "%s: %s", path, strerror(errno));
        remove(tmp);
    }
    free(buf);
    return rc;
}

ra_reference_t *ra_reference_load(const char *path)
{
    const char *domain = "ra_reference_load";
    uint8_t *buf = NULL;
    size_t len = 0;
    ra_reference_t *r = NULL;
    if (rv_file_read(path, (size_t) 2 << 30, &buf, &len) != RV_OK)
        return NULL;
    if (len < S_HEADER + 32 || memcmp(buf, S_MAGIC, 8) != 0) {
        rv_fail(RV_EFORMAT, domain, "%s: not a reference file (bad magic or %zu bytes)", path, len);
        goto out;
    }
    uint32_t version = s_get32(buf + 8);
    if (version < 2 || version > 5) {
        rv_fail(RV_EFORMAT, domain, "%s: version %u is not 2, 3, 4 or 5 (train it again)", path,
                version);
        goto out;
    }
    const size_t np = version >= 5 ? 6 : 5; /* version 5: the median outline too */
    uint32_t w = s_get32(buf + 12), h = s_get32(buf + 16);
    if (w == 0 || h == 0 || w > 20000 || h > 20000) {
        rv_fail(RV_EFORMAT, domain, "%s: absurd size %ux%u", path, w, h);
        goto out;
    }
    size_t plane = (size_t) w * h;
    /* after the planes, version 3: a rings count and that many rings' section; versions 4
     * and 5: the rings section's length and that many packed bytes */
    size_t nrings = 0, packed = 0, expect = S_HEADER + np * plane + 32;
    if (version >= 3) {
        if (len < expect + 4) {
            rv_fail(RV_EFORMAT, domain, "%s: %zu bytes, too short for a %ux%u reference",
                    path, len, w, h);
            goto out;
        }
        uint32_t n = s_get32(buf + S_HEADER + np * plane);
        if (version == 3 && n > 1024) {
            rv_fail(RV_EFORMAT, domain, "%s: %u rings (at most 1024)", path, n);
            goto out;
        }
        if (version >= 4 && n > len - expect - 4) {
            rv_fail(RV_EFORMAT, domain, "%s: rings section: %u bytes, the file holds %zu", path,
                    n, len - expect - 4);
            goto out;
        }
        if (version == 3)
            nrings = n;
        else
            packed = n;
        expect += 4 + (version >= 4 ? packed : nrings ? S_RINGS_HEADER + 4 * nrings : 0);
    }
    if (len != expect) {
        rv_fail(RV_EFORMAT, domain, "%s: %zu bytes, a %ux%u reference has %zu (truncated?)", path,
                len, w, h, expect);
        goto out;
    }
    uint8_t digest[32];
    crypto_hash_sha256(digest, buf, len - 32);
    if (sodium_memcmp(digest, buf + len - 32, 32) != 0) {
        rv_fail(RV_EFORMAT, domain, "%s: checksum does not match (the file was altered)", path);
        goto out;
    }
    if (!(r = s_new((int) w, (int) h))) {
        rv_fail(RV_ENOMEM, domain, "out of memory");
        goto out;
    }
    r->n_train = (int) s_get32(buf + 20);
    r->anomaly_threshold = s_getf64(buf + 24);
    r->fa_target = s_getf64(buf + 32);
    r->band_k = s_getf64(buf + 40);
    if (!isfinite(r->anomaly_threshold) || r->anomaly_threshold < 0 || !isfinite(r->band_k) ||
        r->band_k <= 0 || r->band_k > 64) {
        rv_fail(RV_EFORMAT, domain, "%s: threshold or band out of range", path);
        ra_reference_destroy(&r);
        goto out;
    }
    memcpy(r->family_id, buf + 48, 48);
    r->family_id[47] = '\0';
    memcpy(r->family_hash, buf + 96, 32);
    if (np == 5)
        rv_image_destroy(&r->outline); /* before version 5: none (measured to the nominal) */
    rv_image_t *planes[6] = {r->master, r->mean, r->spread, r->part, r->imean, r->outline};
    for (size_t k = 0; k < np; k++) {
        rv_view_t v = rv_image_view(planes[k]);
        for (int y = 0; y < v.height; y++)
            memcpy(rv_view_row(&v, y), buf + S_HEADER + k * plane + (size_t) y * v.width,
                   (size_t) v.width);
    }
    if (packed) {
        r->rings = rv_polar_model_unpack(buf + S_HEADER + np * plane + 4, packed);
        if (!r->rings) {
            char msg[400];
            snprintf(msg, sizeof msg, "%s", rv_last_error());
            rv_fail(RV_EFORMAT, domain, "%s: rings section: %s", path, msg);
            ra_reference_destroy(&r);
        }
    }
    if (nrings) { /* version 3 */
        const uint8_t *q = buf + S_HEADER + np * plane + 4;
        rv_polar_params_t pp;
        rv_polar_params_default(&pp);
        pp.nr = (int) nrings;
        pp.ntheta = (int) s_get32(q);
        pp.window = (int) s_get32(q + 4);
        pp.smooth = (int) s_get32(q + 8);
        pp.topk = (int) s_get32(q + 12);
        pp.folds = (int) s_get32(q + 16);
        pp.r_min = s_getf64(q + 20);
        pp.r_max = s_getf64(q + 28);
        pp.min_spread = s_getf64(q + 36);
        pp.fa = s_getf64(q + 44);
        double pthr = s_getf64(q + 52);
        float *spread = malloc(sizeof(float) * nrings);
        for (size_t i = 0; spread && i < nrings; i++) {
            uint32_t u = s_get32(q + S_RINGS_HEADER + 4 * i);
            memcpy(&spread[i], &u, 4);
        }
        if (!spread || !(r->rings = rv_polar_model_import(&pp, spread, pthr))) {
            char msg[400];
            snprintf(msg, sizeof msg, "%s", spread ? rv_last_error() : "out of memory");
            rv_fail(RV_EFORMAT, domain, "%s: rings section: %s", path, msg);
            ra_reference_destroy(&r);
        }
        free(spread);
    }
out:
    free(buf);
    return r;
}
