/* rv_align.c - registration of a view to the family's reference view. */
#include "rv/rv_align.h"
#include "rv/rv_error.h"
#include "rv/rv_filter.h"
#include "rv/rv_point.h"
#include "cv/rv_cv.h"
#include "rv_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S_SECTORS 360
#define S_BANDS 24

struct rv_align_ref {
    rv_align_params_t p;
    int width, height; /* full reference size */
    int factor;        /* downscale factor of the small copies */
    rv_image_t *small, *mask, *detail, *soft;
    double area, cx, cy; /* silhouette moments in small px */
    /* the reference's angular signature, twice over (sectors 0..359 then 0..359 again) so
     * that every rotation of it is one contiguous run */
    double *sig2;
    double ncc_sb, ncc_sbb, ncc_n; /* sums of the detail image over the mask, its squares */
};

static rv_image_t *s_detail(const rv_view_t *small);
static rv_image_t *s_soft(const rv_view_t *mask);
static void s_polar(const rv_view_t *m, double cx, double cy, double area, float *sig);

void rv_align_params_init(rv_align_params_t *p)
{
    p->work_width = 512;
    p->min_iou = 0.85;
    p->min_scale = 0.8;
    p->max_scale = 1.25;
    p->min_part = 0.03;
    p->min_std = 4.0;
}

/* Average f x f blocks (the last partial blocks are dropped). src is GRAY8, or RGB8 whose
 * rows are turned to gray (rv_gray_from_rgb) one at a time on the way: the same sums of the
 * same gray values as downscaling the gray image, without writing it. */
static rv_image_t *s_downscale(const rv_view_t *src, int f)
{
    int w = src->width / f, h = src->height / f;
    if (w < 8 || h < 8) {
        rv_fail(RV_EFORMAT, "rv_align", "view of %dx%d is too small to align", src->width,
                src->height);
        return NULL;
    }
    if (src->fmt == RV_RGB8) {
        rv_image_t *out = rv_image_new(w, h, RV_GRAY8);
        int wf = w * f;
        uint16_t *col = malloc(sizeof *col * (size_t) wf);
        uint8_t *row = malloc((size_t) wf + 64);
        if (!out || !col || !row || f > 255) {
            free(col);
            free(row);
            rv_image_destroy(&out);
            rv_fail(RV_ENOMEM, "rv_align", "out of memory");
            return NULL;
        }
        const rv_point_kernels_t *k = &rv__kernels()->p;
        rv_view_t o = rv_image_view(out);
        uint32_t n = (uint32_t) (f * f);
        for (int y = 0; y < h; y++) {
            k->gray_from_rgb(rv_view_row(src, y * f), row, (size_t) wf);
            for (int x = 0; x < wf; x++)
                col[x] = row[x];
            for (int dy = 1; dy < f; dy++) {
                k->gray_from_rgb(rv_view_row(src, y * f + dy), row, (size_t) wf);
                for (int x = 0; x < wf; x++)
                    col[x] = (uint16_t) (col[x] + row[x]);
            }
            uint8_t *dst = rv_view_row(&o, y);
            for (int x = 0; x < w; x++) {
                uint32_t sum = 0;
                for (int dx = 0; dx < f; dx++)
                    sum += col[x * f + dx];
                dst[x] = (uint8_t) ((sum + n / 2) / n);
            }
        }
        free(col);
        free(row);
        return out;
    }
    rv_image_t *out = rv_image_new(w, h, RV_GRAY8);
    if (!out)
        return NULL;
    rv_view_t o = rv_image_view(out);
    uint32_t *acc = calloc((size_t) w, sizeof *acc);
    if (!acc) {
        rv_image_destroy(&out);
        rv_fail(RV_ENOMEM, "rv_align", "out of memory");
        return NULL;
    }
    uint32_t n = (uint32_t) (f * f);
    /* column sums over the f rows first (a plain, vectorisable loop over the row), then
     * the f columns of each block: the same integer sums in another order */
    int wf = w * f;
    uint16_t *col = malloc(sizeof *col * (size_t) wf);
    if (!col || f > 255) {
        free(col);
        col = NULL;
    }
    for (int y = 0; y < h; y++) {
        uint8_t *dst = rv_view_row(&o, y);
        if (col) {
            const uint8_t *r0 = rv_view_row(src, y * f);
            for (int x = 0; x < wf; x++)
                col[x] = r0[x];
            for (int dy = 1; dy < f; dy++) {
                const uint8_t *row = rv_view_row(src, y * f + dy);
                for (int x = 0; x < wf; x++)
                    col[x] = (uint16_t) (col[x] + row[x]);
            }
            for (int x = 0; x < w; x++) {
                uint32_t s = 0;
                for (int dx = 0; dx < f; dx++)
                    s += col[x * f + dx];
                dst[x] = (uint8_t) ((s + n / 2) / n);
            }
            continue;
        }
        memset(acc, 0, sizeof *acc * (size_t) w);
        for (int dy = 0; dy < f; dy++) {
            const uint8_t *row = rv_view_row(src, y * f + dy);
            for (int x = 0; x < w; x++) {
                uint32_t s = 0;
                for (int dx = 0; dx < f; dx++)
                    s += row[x * f + dx];
                acc[x] += s;
            }
        }
        for (int x = 0; x < w; x++)
            dst[x] = (uint8_t) ((acc[x] + n / 2) / n);
    }
    free(col);
    free(acc);
    return out;
}

/* Otsu's threshold of a histogram. */
static int s_otsu(const uint32_t hist[256], double *mean, double *std)
{
    double total = 0, sum = 0, sum2 = 0;
    for (int i = 0; i < 256; i++) {
        total += hist[i];
        sum += (double) i * hist[i];
        sum2 += (double) i * i * hist[i];
    }
    *mean = sum / total;
    *std = sqrt(fmax(0, sum2 / total - *mean * *mean));
    double wb = 0, sb = 0, best = -1;
    int thr = 128;
    for (int t = 0; t < 255; t++) {
        wb += hist[t];
        sb += (double) t * hist[t];
        double wf = total - wb;
        if (wb == 0 || wf == 0)
            continue;
        double mb = sb / wb, mf = (sum - sb) / wf;
        double between = wb * wf * (mb - mf) * (mb - mf);
        if (between > best) {
            best = between;
            thr = t;
        }
    }
    return thr;
}

/* Silhouette of a small view: Otsu threshold; the class that touches the border least is
 * the part. Returns the mask and its moments, or fails with a reason. */
static rv_image_t *s_silhouette(const rv_view_t *small, const rv_align_params_t *p,
                                double *area, double *cx, double *cy)
{
    uint32_t hist[256];
    rv_histogram(small, hist);
    double mean, std;
    int thr = s_otsu(hist, &mean, &std);
    if (std < p->min_std) {
        rv_fail(RV_EFORMAT, "rv_align",
                "blank or saturated image (gray mean %.0f, standard deviation %.1f)", mean, std);
        return NULL;
    }
    rv_image_t *mask = rv_image_new(small->width, small->height, RV_GRAY8);
    if (!mask)
        return NULL;
    rv_view_t m = rv_image_view(mask);
    size_t count = 0;
    rv_threshold(small, &m, (uint8_t) thr, &count);
    /* bright pixels on the border: when most of the border is bright, the part is dark */
    size_t border = 0, bright = 0;
    for (int x = 0; x < m.width; x++) {
        bright += rv_view_row(&m, 0)[x] != 0;
        bright += rv_view_row(&m, m.height - 1)[x] != 0;
        border += 2;
    }
    for (int y = 0; y < m.height; y++) {
        bright += rv_view_row(&m, y)[0] != 0;
        bright += rv_view_row(&m, y)[m.width - 1] != 0;
        border += 2;
    }
    /* The part's own shading (highlights, dark flanks, keyways) must not decide its
     * outline: move the threshold halfway from Otsu's towards the background class's
     * mean, so that every lit part of the surface counts as part whatever the lighting. */
    int part_dark = bright * 2 > border;
    double bsum = 0, bn = 0;
    for (int i = 0; i < 256; i++)
        if (part_dark ? i > thr : i <= thr) {
            bsum += (double) i * hist[i];
            bn += hist[i];
        }
    int t2 = bn > 0 ? (int) lround((thr + bsum / bn) / 2.0) : thr;
    rv_threshold(small, &m, (uint8_t) (t2 < 0 ? 0 : t2 > 254 ? 254 : t2), &count);
    if (part_dark) {
        for (int y = 0; y < m.height; y++) {
            uint8_t *r = rv_view_row(&m, y);
            for (int x = 0; x < m.width; x++)
                r[x] = (uint8_t) ~r[x];
        }
    }
    /* integer sums per row (branch-free, vectorisable); the totals are the exact integers
     * the moments are made of */
    uint64_t ai = 0, sxi = 0, syi = 0;
    for (int y = 0; y < m.height; y++) {
        const uint8_t *r = rv_view_row(&m, y);
        uint32_t cnt = 0;
        uint64_t rx = 0;
        for (int x = 0; x < m.width; x++) {
            uint32_t on = r[x] & 1u; /* the mask is 0 or 255 */
            cnt += on;
            rx += on * (uint32_t) x;
        }
        ai += cnt;
        sxi += rx;
        syi += (uint64_t) cnt * (uint64_t) y;
    }
    double a = (double) ai, sx = (double) sxi, sy = (double) syi;
    double frac = a / ((double) m.width * m.height);
    if (frac < p->min_part) {
        rv_image_destroy(&mask);
        rv_fail(RV_EFORMAT, "rv_align",
                "no part in the view (the part covers %.1f %% of it; empty fixture?)",
                100 * frac);
        return NULL;
    }
    *area = a;
    *cx = sx / a;
    *cy = sy / a;
    return mask;
}

static int s_factor(int width, int work_width)
{
    int f = (int) lround((double) width / work_width);
    return f < 1 ? 1 : f;
}

rv_align_ref_t *rv_align_ref_new(const rv_view_t *ref_gray, const rv_view_t *ref_part,
                                 const rv_align_params_t *params)
{
    if (!ref_gray || ref_gray->fmt != RV_GRAY8) {
        rv_fail(RV_EINVAL, "rv_align_ref_new", "the reference must be a gray8 view");
        return NULL;
    }
    rv_align_ref_t *self = calloc(1, sizeof *self);
    if (!self) {
        rv_fail(RV_ENOMEM, "rv_align_ref_new", "out of memory");
        return NULL;
    }
    if (params)
        self->p = *params;
    else
        rv_align_params_init(&self->p);
    self->width = ref_gray->width;
    self->height = ref_gray->height;
    self->factor = s_factor(ref_gray->width, self->p.work_width);
    self->small = s_downscale(ref_gray, self->factor);
    if (!self->small)
        goto fail;
    rv_view_t sv = rv_image_view(self->small);
    /* the reference silhouette is found exactly as a view's is, so the two compare */
    (void) ref_part;
    self->mask = s_silhouette(&sv, &self->p, &self->area, &self->cx, &self->cy);
    if (!self->mask || !(self->detail = s_detail(&sv)))
        goto fail;
    /* what rv_align needs of the reference every time: its soft silhouette and its
     * angular signature */
    rv_view_t rmv = rv_image_view(self->mask);
    float *sig = malloc(sizeof(float) * S_SECTORS * S_BANDS);
    self->sig2 = malloc(sizeof(double) * 2 * S_SECTORS * S_BANDS);
    if (!sig || !self->sig2 || !(self->soft = s_soft(&rmv))) {
        free(sig);
        rv_fail(RV_ENOMEM, "rv_align_ref_new", "out of memory");
        goto fail;
    }
    s_polar(&rmv, self->cx, self->cy, self->area, sig);
    rv_view_t rdv = rv_image_view(self->detail);
    uint64_t sb = 0, sbb = 0, nk = 0;
    for (int y = 0; y < rdv.height; y++) {
        const uint8_t *b = rv_view_row(&rdv, y), *k = rv_view_row(&rmv, y);
        for (int x = 0; x < rdv.width; x++)
            if (k[x]) {
                sb += b[x];
                sbb += (uint64_t) b[x] * b[x];
                nk++;
            }
    }
    self->ncc_sb = (double) sb;
    self->ncc_sbb = (double) sbb;
    self->ncc_n = (double) nk;
    for (int i = 0; i < 2 * S_SECTORS * S_BANDS; i++)
        self->sig2[i] = sig[i % (S_SECTORS * S_BANDS)];
    free(sig);
    return self;
fail:
    rv_align_ref_destroy(&self);
    return NULL;
}

void rv_align_ref_destroy(rv_align_ref_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rv_image_destroy(&(*self_p)->small);
    rv_image_destroy(&(*self_p)->mask);
    rv_image_destroy(&(*self_p)->detail);
    rv_image_destroy(&(*self_p)->soft);
    free((*self_p)->sig2);
    free(*self_p);
    *self_p = NULL;
}

int rv_align_ref_width(const rv_align_ref_t *self)
{
    return self->width;
}

int rv_align_ref_height(const rv_align_ref_t *self)
{
    return self->height;
}

/* IoU of the view's small mask, carried by the small-scale transform, with the
 * reference's small mask. */
static double s_iou(const rv_align_ref_t *ref, const rv_view_t *vmask, const double m[2][3])
{
    rv_view_t rm = rv_image_view(ref->mask);
    rv_image_t *warped = rv_image_new(rm.width, rm.height, RV_GRAY8);
    if (!warped)
        return 0;
    rv_view_t wv = rv_image_view(warped);
    double iou = 0;
    if (rv_cv_warp_affine(vmask, &wv, m, RV_CV_INTER_NEAREST) == RV_OK) {
        /* both masks are 0 or 255 (nearest neighbour keeps them so): count bits, in
         * per-row integer sums the compiler can vectorise */
        size_t inter = 0, uni = 0;
        for (int y = 0; y < rm.height; y++) {
            const uint8_t *a = rv_view_row(&rm, y), *b = rv_view_row(&wv, y);
            uint32_t ri = 0, ru = 0;
            for (int x = 0; x < rm.width; x++) {
                ri += (uint32_t) (a[x] & b[x] & 1u);
                ru += (uint32_t) ((a[x] | b[x]) & 1u);
            }
            inter += ri;
            uni += ru;
        }
        iou = uni ? (double) inter / uni : 0;
    }
    rv_image_destroy(&warped);
    return iou;
}

/* Angular signature of a mask around (cx, cy): for each of 360 one-degree sectors and
 * S radial bands (radius in units of the silhouette's RMS radius, so scale cancels),
 * the share of mask pixels. */
static void s_polar(const rv_view_t *m, double cx, double cy, double area, float *sig)
{
    memset(sig, 0, sizeof(float) * S_SECTORS * S_BANDS);
    double r0 = sqrt(area / M_PI); /* the radius of a disc of the same area */
    for (int y = 0; y < m->height; y++) {
        const uint8_t *row = rv_view_row(m, y);
        for (int x = 0; x < m->width; x++) {
            if (!row[x])
                continue;
            double dx = x - cx, dy = y - cy;
            int band = (int) (sqrt(dx * dx + dy * dy) / r0 * (S_BANDS / 2.0));
            if (band >= S_BANDS)
                band = S_BANDS - 1;
            int sec = (int) ((atan2(dy, dx) + M_PI) * (S_SECTORS / (2 * M_PI)));
            if (sec >= S_SECTORS)
                sec = S_SECTORS - 1;
            sig[sec * S_BANDS + band] += 1.0f;
        }
    }
}

/* The rotations (degrees, view -> reference) that best overlay the two signatures:
 * every local maximum within 10 % of the best (a part with n-fold symmetric holes has n
 * such peaks; the texture check picks among them), and the best one's opposite (elongated
 * parts look alike turned end for end). At most S_MAX_CAND. */
#define S_MAX_CAND 10
static int s_rotations(const float *view, const double *ref2, int cand[S_MAX_CAND])
{
    static _Thread_local double score[S_SECTORS], a[S_SECTORS * S_BANDS];
    /* The entries are pixel counts, so every product and every partial sum is an integer
     * below 2^53: the dot products are exact in any order. That allows one contiguous
     * product over the doubled reference and four independent accumulators. */
    const int len = S_SECTORS * S_BANDS;
    for (int i = 0; i < len; i++)
        a[i] = view[i];
    for (int shift = 0; shift < S_SECTORS; shift++) {
        const double *b = ref2 + shift * S_BANDS;
        double d0 = 0, d1 = 0, d2 = 0, d3 = 0;
        for (int i = 0; i < len; i += 4) {
            d0 += a[i] * b[i];
            d1 += a[i + 1] * b[i + 1];
            d2 += a[i + 2] * b[i + 2];
            d3 += a[i + 3] * b[i + 3];
        }
        score[shift] = (d0 + d1) + (d2 + d3);
    }
    int best = 0;
    for (int i = 1; i < S_SECTORS; i++)
        if (score[i] > score[best])
            best = i;
    int n = 0;
    cand[n++] = best;
    cand[n++] = (best + S_SECTORS / 2) % S_SECTORS;
    /* the other peaks (local maxima over +-3 degrees), best first */
    int peaks[S_SECTORS], np = 0;
    for (int i = 0; i < S_SECTORS; i++) {
        if (i == best || i == cand[1] || score[i] < 0.9 * score[best])
            continue;
        int peak = 1;
        for (int d = -3; d <= 3 && peak; d++)
            if (d && score[(i + d + S_SECTORS) % S_SECTORS] > score[i])
                peak = 0;
        if (peak)
            peaks[np++] = i;
    }
    while (n < S_MAX_CAND && np > 0) {
        int arg = 0;
        for (int j = 1; j < np; j++)
            if (score[peaks[j]] > score[peaks[arg]])
                arg = j;
        cand[n++] = peaks[arg];
        peaks[arg] = peaks[--np];
    }
    return n;
}

/* Local detail of a small gray view: |gray - box mean over 15 px|, so that the texture
 * check below compares marks, holes and edges rather than the lamp's gradient and
 * highlights (which stay with the camera, not with the part). */
static rv_image_t *s_detail(const rv_view_t *small)
{
    rv_image_t *mean = rv_image_new(small->width, small->height, RV_GRAY8);
    rv_image_t *det = rv_image_new(small->width, small->height, RV_GRAY8);
    if (!mean || !det)
        goto fail;
    rv_view_t mv = rv_image_view(mean), dv = rv_image_view(det);
    if (rv_box_blur(small, &mv, 15) != RV_OK || rv_absdiff(small, &mv, &dv) != RV_OK)
        goto fail;
    rv_image_destroy(&mean);
    return det;
fail:
    rv_image_destroy(&mean);
    rv_image_destroy(&det);
    return NULL;
}

/* Normalised cross-correlation of the view (small gray) carried into the reference frame
 * with the reference (small gray), over the reference silhouette. */
static double s_ncc(const rv_align_ref_t *ref, const rv_view_t *small, const double m[2][3])
{
    rv_view_t rs = rv_image_view(ref->detail), rm = rv_image_view(ref->mask);
    rv_image_t *w = rv_image_new(rs.width, rs.height, RV_GRAY8);
    if (!w)
        return -1;
    rv_view_t wv = rv_image_view(w);
    double ncc = -1;
    if (rv_cv_warp_affine(small, &wv, m, RV_CV_INTER_LINEAR) == RV_OK) {
        /* integer sums (exact, as the double sums of integers below 2^53 were): the
         * reference's own come with it, the view's are masked without a branch */
        double sb = ref->ncc_sb, sbb = ref->ncc_sbb, n = ref->ncc_n;
        uint64_t ia = 0, iaa = 0, iab = 0;
        for (int y = 0; y < rs.height; y++) {
            const uint8_t *a = rv_view_row(&wv, y), *b = rv_view_row(&rs, y),
                          *k = rv_view_row(&rm, y);
            uint32_t ra = 0, raa = 0, rab = 0;
            for (int x = 0; x < rs.width; x++) {
                uint32_t av = a[x] & (uint32_t) -(k[x] & 1u); /* mask: 0 or 255 */
                ra += av;
                raa += av * av;
                rab += av * b[x];
            }
            ia += ra;
            iaa += raa;
            iab += rab;
        }
        double sa = (double) ia, saa = (double) iaa, sab = (double) iab;
        double va = saa - sa * sa / n, vb = sbb - sb * sb / n;
        if (n > 0 && va > 0 && vb > 0)
            ncc = (sab - sa * sb / n) / sqrt(va * vb);
    }
    rv_image_destroy(&w);
    return ncc;
}

/* c = a o b for 2x3 affine transforms (apply b first). */
static void s_compose(const double a[2][3], const double b[2][3], double c[2][3])
{
    for (int i = 0; i < 2; i++) {
        c[i][0] = a[i][0] * b[0][0] + a[i][1] * b[1][0];
        c[i][1] = a[i][0] * b[0][1] + a[i][1] * b[1][1];
        c[i][2] = a[i][0] * b[0][2] + a[i][1] * b[1][2] + a[i][2];
    }
}

static rv_image_t *s_soft(const rv_view_t *mask)
{
    rv_image_t *a = rv_image_new(mask->width, mask->height, RV_GRAY8);
    if (!a)
        return NULL;
    rv_view_t av = rv_image_view(a);
    if (rv_box_blur(mask, &av, 7) != RV_OK)
        rv_image_destroy(&a);
    return a;
}

int rv_align(const rv_align_ref_t *ref, const rv_view_t *gray, rv_align_result_t *out)
{
    if (!ref || !gray || gray->fmt != RV_GRAY8)
        return rv_fail(RV_EINVAL, "rv_align", "needs a reference and a gray8 view");
    return rv_align_rgb(ref, gray, out);
}

int rv_align_rgb(const rv_align_ref_t *ref, const rv_view_t *gray, rv_align_result_t *out)
{
    const char *domain = "rv_align";
    if (!ref || !gray || (gray->fmt != RV_GRAY8 && gray->fmt != RV_RGB8))
        return rv_fail(RV_EINVAL, domain, "needs a reference and a gray8 or RGB8 view");
    memset(out, 0, sizeof *out);
    int rc = RV_OK;
    int f = s_factor(gray->width, ref->p.work_width);
    rv_image_t *small = s_downscale(gray, f), *vmask = NULL, *pre = NULL, *soft_v = NULL,
               *vdetail = NULL;
    float *sig = NULL;
    if (!small)
        return RV_EFORMAT;
    rv_view_t sv = rv_image_view(small), rmv = rv_image_view(ref->mask);
    double area, cx, cy;
    vmask = s_silhouette(&sv, &ref->p, &area, &cx, &cy);
    if (!vmask) {
        rc = RV_EFORMAT;
        goto out;
    }
    rv_view_t mv = rv_image_view(vmask);

    /* 1. The scale is the camera's, not the part's: a worn or undersized part must keep
     * its size, or no dimension could be measured. A view covering the master's field of
     * view with w pixels maps by ref_width / w. The silhouette's moments only check it
     * (a part far larger or smaller than expected is the wrong part, or at the wrong
     * distance); translation comes from the moments, rotation from the signature. */
    double expected = (double) ref->width / gray->width;
    double seen = sqrt(ref->area / area) * (double) f / ref->factor;
    out->scale = expected;
    if (seen / expected < ref->p.min_scale || seen / expected > ref->p.max_scale) {
        rc = rv_fail(RV_EFORMAT, domain,
                     "the part appears at scale %.2f of the reference where the camera gives "
                     "%.2f: wrong part, wrong view or wrong distance",
                     seen, expected);
        goto out;
    }
    double k = expected * ref->factor / (double) f;
    sig = malloc(sizeof(float) * S_SECTORS * S_BANDS);
    if (!sig) {
        rc = rv_fail(RV_ENOMEM, domain, "out of memory");
        goto out;
    }
    s_polar(&mv, cx, cy, area, sig);
    int cand[S_MAX_CAND];
    int ncand = s_rotations(sig, ref->sig2, cand);
    pre = rv_image_new(rmv.width, rmv.height, RV_GRAY8);
    if (!pre) {
        rc = rv_fail(RV_ENOMEM, domain, "out of memory");
        goto out;
    }
    rv_view_t pv = rv_image_view(pre);
    vdetail = s_detail(&sv);
    rv_view_t vd = vdetail ? rv_image_view(vdetail) : sv;
    /* rank the candidate rotations by the unrefined guess (cheap), then refine the best */
    double ms[2][3], best_score = -1e9;
    for (int ci = 0; ci < ncand; ci++) {
        /* signature shift s means view sector i matches reference sector i + s */
        double rot = cand[ci] * M_PI / 180.0;
        double c = cos(rot) * k, sn = sin(rot) * k;
        double guess[2][3] = {{c, -sn, ref->cx - (c * cx - sn * cy)},
                              {sn, c, ref->cy - (sn * cx + c * cy)}};
        double iou = s_iou(ref, &mv, guess);
        double ncc = vdetail ? s_ncc(ref, &vd, guess) : 0;
        double score = 5 * iou + ncc; /* the outline first, the surface among equals */
        if (score > best_score) {
            best_score = score;
            memcpy(ms, guess, sizeof ms);
        }
    }
    out->method = "silhouette";
    /* refine on the soft silhouettes with ECC (affine), starting from the best guess */
    if (rv_cv_warp_affine(&mv, &pv, ms, RV_CV_INTER_LINEAR) == RV_OK &&
        (soft_v = rv_image_new(rmv.width, rmv.height, RV_GRAY8))) {
        rv_view_t a = rv_image_view(soft_v), b = rv_image_view(ref->soft);
        rv_cv_register_params_t rp;
        rv_cv_register_params_default(&rp);
        rp.motion = RV_CV_MOTION_EUCLIDEAN; /* rotation and shift: the scale is known */
        rp.max_iterations = 50;
        rp.epsilon = 1e-4;
        rv_cv_transform_t t;
        if (rv_box_blur(&pv, &a, 7) == RV_OK && rv_cv_register_ecc(&a, &b, &rp, &t) == RV_OK &&
            t.score > 0.9) {
            double refined[2][3];
            s_compose(t.m, ms, refined);
            memcpy(ms, refined, sizeof ms);
            out->method = "silhouette+ecc";
        }
    }
    out->iou = s_iou(ref, &mv, ms);
    double det = ms[0][0] * ms[1][1] - ms[0][1] * ms[1][0];
    out->scale = sqrt(fabs(det)) * (double) f / ref->factor;
    out->angle_deg = atan2(ms[1][0], ms[0][0]) * 180.0 / M_PI;
    out->residual_px = -1;
    if (out->iou < ref->p.min_iou) {
        rc = rv_fail(RV_EFORMAT, domain,
                     "the outline does not match the reference (overlap %.2f < %.2f): wrong part, "
                     "wrong view or wrong pose",
                     out->iou, ref->p.min_iou);
        goto out;
    }
    /* full resolution: small pixel i covers full pixels f*i .. f*i+f-1 (centre f*i+(f-1)/2),
     * so x_small = (x - (f-1)/2) / f and x_ref = F (x_small' ) + (F-1)/2 */
    double kr = ref->factor, kv = f, cv0 = (kv - 1) / 2.0, cr0 = (kr - 1) / 2.0;
    for (int i = 0; i < 2; i++) {
        out->m[i][0] = ms[i][0] * kr / kv;
        out->m[i][1] = ms[i][1] * kr / kv;
        out->m[i][2] = kr * ms[i][2] + cr0 - (out->m[i][0] * cv0 + out->m[i][1] * cv0);
    }
    out->tx = out->m[0][2];
    out->ty = out->m[1][2];
    /* identity when no corner of the reference frame moves by more than 0.05 px */
    double worst = 0;
    int cw[4][2] = {{0, 0}, {ref->width, 0}, {0, ref->height}, {ref->width, ref->height}};
    for (int q = 0; q < 4; q++) {
        double x = cw[q][0], y = cw[q][1];
        double dx = out->m[0][0] * x + out->m[0][1] * y + out->m[0][2] - x;
        double dy = out->m[1][0] * x + out->m[1][1] * y + out->m[1][2] - y;
        worst = fmax(worst, hypot(dx, dy));
    }
    out->identity = worst <= 0.05 && gray->width == ref->width && gray->height == ref->height;
out:
    free(sig);
    rv_image_destroy(&small);
    rv_image_destroy(&vmask);
    rv_image_destroy(&pre);
    rv_image_destroy(&soft_v);
    rv_image_destroy(&vdetail);
    return rc;
}

int rv_align_warp(const rv_view_t *src, const rv_align_result_t *r, const rv_view_t *dst)
{
    if (!src || !dst || src->fmt != dst->fmt)
        return rv_fail(RV_EINVAL, "rv_align_warp", "source and destination formats differ");
    if (r->identity && src->width == dst->width && src->height == dst->height)
        return rv_view_copy(src, dst);
    return rv_cv_warp_affine(src, dst, r->m, RV_CV_INTER_LINEAR);
}

int rv_align_silhouette(const rv_view_t *gray, const rv_view_t *mask)
{
    if (!gray || !mask || gray->fmt != RV_GRAY8 || mask->fmt != RV_GRAY8 ||
        gray->width != mask->width || gray->height != mask->height)
        return rv_fail(RV_EINVAL, "rv_align_silhouette", "needs two gray8 views of one size");
    rv_align_params_t p;
    rv_align_params_init(&p);
    double area, cx, cy;
    rv_image_t *m = s_silhouette(gray, &p, &area, &cx, &cy);
    if (!m)
        return RV_EFORMAT;
    rv_view_t mv = rv_image_view(m);
    int rc = rv_view_copy(&mv, mask);
    rv_image_destroy(&m);
    return rc;
}
