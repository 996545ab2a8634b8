/* rv_surface.c - the surface anomaly model: features, Gaussian fit, k-fold threshold,
 * scoring. The file format lives in rv_surface_io.c. See rv_surface.h for the method. */
#include "rv/rv_surface.h"
#include "rv/rv_blobs.h"
#include "rv/rv_error.h"
#include "rv/rv_filter.h"
#include "rv/rv_point.h"
#include "rv_linalg.h"
#include "rv_surface_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOMAIN "rv_surface"

/* The default feature set: a general mix of scales and directions (reman-eval picks
 * per-set sets on a validation split, docs/eval.md; never on test images). */
static const rv_sf_def_t s_default_features[] = {
    {RV_SF_LOCALDEV, 15},      {RV_SF_LOWFREQ, 31},       {RV_SF_BLACKHAT_DISC, 5},
    {RV_SF_BLACKHAT_DISC, 11}, {RV_SF_BLACKHAT_DISC, 21}, {RV_SF_TOPHAT_DISC, 5},
    {RV_SF_TOPHAT_DISC, 11},   {RV_SF_BLACKHAT_VLINE, 15}, {RV_SF_TOPHAT_VLINE, 15},
    {RV_SF_BLACKHAT_HLINE, 9}, {RV_SF_SOBEL, 0},          {RV_SF_CONTRAST, 7},
};

void rv_surface_params_default(rv_surface_params_t *p)
{
    memset(p, 0, sizeof *p);
    p->nfeatures = (int) (sizeof s_default_features / sizeof s_default_features[0]);
    memcpy(p->features, s_default_features, sizeof s_default_features);
    p->scale = 1;
    p->pool = 1;
    p->smooth = 2;
    p->quantile = 1.0;
    p->aligned = 0;
    p->grid = 32;
    p->samples = 4096;
    p->folds = 5;
    p->fa = 0.02;
    p->compress = 1;
    p->border = 4;
    p->knn = 0;
    p->bank = 4096;
    p->stride = 2;
    p->context = 0;
    p->coreset = 1;
    p->patch = 9;
    p->ncomp = 0;
    p->pstep = 1;
    p->pwhite = 1;
}

int rv_surface_check_params(const rv_surface_params_t *p, const char *domain)
{
    if (p->nfeatures < 1 || p->nfeatures > RV_SURFACE_MAX_FEATURES)
        return rv_fail(RV_EINVAL, domain, "%d features, need 1..%d", p->nfeatures,
                       RV_SURFACE_MAX_FEATURES);
    for (int i = 0; i < p->nfeatures; i++) {
        int kind = p->features[i].kind, size = p->features[i].size;
        if (kind < RV_SF_LOCALDEV || kind > RV_SF_LINEMAX)
            return rv_fail(RV_EINVAL, domain, "feature %d: unknown kind %d", i, kind);
        if (kind == RV_SF_PCA) {
            int nc = rv_surface_pca_ncomp(p);
            if (size >= nc)
                return rv_fail(RV_EINVAL, domain,
                               "feature %d: learnt component %d, the basis keeps %d", i, size,
                               nc);
        } else if (kind == RV_SF_PCARES) {
            int nc = rv_surface_pca_ncomp(p);
            if (size > nc)
                return rv_fail(RV_EINVAL, domain,
                               "feature %d: residual outside %d components, the basis keeps %d",
                               i, size, nc);
        } else if (kind == RV_SF_SOBEL) {
            if (size != 0)
                return rv_fail(RV_EINVAL, domain, "feature %d: sobel takes size 0, not %d", i,
                               size);
        } else if (size < 3 || size > 255 || size % 2 == 0) {
            return rv_fail(RV_EINVAL, domain, "feature %d: size %d, need odd 3..255", i, size);
        } else if ((kind == RV_SF_DARKBLOB || kind == RV_SF_DARKRIDGE) && size > 101) {
            return rv_fail(RV_EINVAL, domain, "feature %d: curvature size %d, need 3..101", i,
                           size);
        }
    }
    if (p->scale < 1 || p->scale > 8)
        return rv_fail(RV_EINVAL, domain, "scale %d, need 1..8", p->scale);
    if (p->pool < 0 || p->pool > 8)
        return rv_fail(RV_EINVAL, domain, "pool %d, need 0..8", p->pool);
    if (p->smooth < 0 || p->smooth > 16)
        return rv_fail(RV_EINVAL, domain, "smooth %d, need 0..16", p->smooth);
    if (!(p->quantile >= 0.5 && p->quantile <= 1.0))
        return rv_fail(RV_EINVAL, domain, "quantile %g, need 0.5..1", p->quantile);
    if (p->aligned != 0 && p->aligned != 1)
        return rv_fail(RV_EINVAL, domain, "aligned %d, need 0 or 1", p->aligned);
    if (p->grid < 4 || p->grid > 256)
        return rv_fail(RV_EINVAL, domain, "grid %d, need 4..256", p->grid);
    if (p->samples < 256 || p->samples > 1000000)
        return rv_fail(RV_EINVAL, domain, "samples %d, need 256..1000000", p->samples);
    if (p->folds < 2 || p->folds > 20)
        return rv_fail(RV_EINVAL, domain, "folds %d, need 2..20", p->folds);
    if (p->compress != 0 && p->compress != 1)
        return rv_fail(RV_EINVAL, domain, "compress %d, need 0 or 1", p->compress);
    if (p->border < 0 || p->border > 64)
        return rv_fail(RV_EINVAL, domain, "border %d, need 0..64", p->border);
    if (p->face < 0 || p->face > 3)
        return rv_fail(RV_EINVAL, domain, "face %d, need 0, 1, 2 or 3", p->face);
    if (p->topk < 0 || p->topk > 100000)
        return rv_fail(RV_EINVAL, domain, "topk %d, need 0..100000", p->topk);
    if (p->knn < 0 || p->knn > 64)
        return rv_fail(RV_EINVAL, domain, "knn %d, need 0..64", p->knn);
    if (p->bank < 16 || p->bank > 65536)
        return rv_fail(RV_EINVAL, domain, "bank %d, need 16..65536", p->bank);
    if (p->stride < 1 || p->stride > 8)
        return rv_fail(RV_EINVAL, domain, "stride %d, need 1..8", p->stride);
    if (p->context < 0 || p->context > 32)
        return rv_fail(RV_EINVAL, domain, "context %d, need 0..32", p->context);
    if (p->coreset != 0 && p->coreset != 1)
        return rv_fail(RV_EINVAL, domain, "coreset %d, need 0 or 1", p->coreset);
    if (p->norm != 0 && p->norm != 1)
        return rv_fail(RV_EINVAL, domain, "norm %d, need 0 or 1", p->norm);
    if (p->patch < 3 || p->patch > RV_SF_MAX_PATCH || p->patch % 2 == 0)
        return rv_fail(RV_EINVAL, domain, "patch %d, need odd 3..%d", p->patch,
                       RV_SF_MAX_PATCH);
    if (p->pstep < 1 || p->pstep > 4)
        return rv_fail(RV_EINVAL, domain, "pstep %d, need 1..4", p->pstep);
    if (p->pwhite != 0 && p->pwhite != 1)
        return rv_fail(RV_EINVAL, domain, "pwhite %d, need 0 or 1", p->pwhite);
    if (p->ncomp < 0 || p->ncomp > RV_SURFACE_MAX_FEATURES ||
        p->ncomp > p->patch * p->patch)
        return rv_fail(RV_EINVAL, domain, "ncomp %d, need 0..%d and at most patch^2 (%d)",
                       p->ncomp, RV_SURFACE_MAX_FEATURES, p->patch * p->patch);
    if (rv_surface_uses_pca(p) && rv_surface_pca_ncomp(p) > p->patch * p->patch)
        return rv_fail(RV_EINVAL, domain, "%d learnt components of a %d-sample patch",
                       rv_surface_pca_ncomp(p), p->patch * p->patch);
    if (!(p->fa > 0 && p->fa <= 0.5))
        return rv_fail(RV_EINVAL, domain, "false-alarm rate %g, need (0, 0.5]", p->fa);
    return RV_OK;
}

/* ------------------------------------------------------------------------------------ */
/* small numeric helpers */

/* Box mean over (2r+1)^2 with replicated borders; src and dst may be the same; tmp holds
 * w * h + w floats. */
static void s_box_f(const float *src, float *dst, float *tmp, int w, int h, int r)
{
    if (r <= 0) {
        if (dst != src)
            memcpy(dst, src, (size_t) w * h * sizeof *dst);
        return;
    }
    float inv = 1.0f / (float) (2 * r + 1);
    for (int y = 0; y < h; y++) {
        const float *s = src + (size_t) y * w;
        float *t = tmp + (size_t) y * w;
        float acc = 0;
        for (int i = -r; i <= r; i++)
            acc += s[i < 0 ? 0 : i >= w ? w - 1 : i];
        for (int x = 0; x < w; x++) {
            t[x] = acc * inv;
            int out = x - r, in = x + r + 1;
            acc += s[in >= w ? w - 1 : in] - s[out < 0 ? 0 : out];
        }
    }
    /* vertical: running sums per column, row by row */
    float *col = tmp + (size_t) w * h;
    for (int x = 0; x < w; x++)
        col[x] = 0;
    for (int i = -r; i <= r; i++) {
        const float *t = tmp + (size_t) (i < 0 ? 0 : i >= h ? h - 1 : i) * w;
        for (int x = 0; x < w; x++)
            col[x] += t[x];
    }
    for (int y = 0; y < h; y++) {
        float *d = dst + (size_t) y * w;
        for (int x = 0; x < w; x++)
            d[x] = col[x] * inv;
        int out = y - r, in = y + r + 1;
        const float *to = tmp + (size_t) (out < 0 ? 0 : out) * w;
        const float *ti = tmp + (size_t) (in >= h ? h - 1 : in) * w;
        for (int x = 0; x < w; x++)
            col[x] += ti[x] - to[x];
    }
}

/* rv_filter.h */
void rv_gauss_f32(const float *src, float *dst, float *tmp, int w, int h, double sigma)
{
    float k[161];
    int r = (int) ceil(3.0 * sigma);
    if (r > 80)
        r = 80;
    double sum = 0;
    for (int i = -r; i <= r; i++)
        sum += k[i + r] = (float) exp(-0.5 * i * i / (sigma * sigma));
    for (int i = 0; i <= 2 * r; i++)
        k[i] = (float) (k[i] / sum);
    for (int y = 0; y < h; y++) { /* along x: src -> tmp */
        const float *s = src + (size_t) y * w;
        float *t = tmp + (size_t) y * w;
        for (int x = 0; x < w; x++) {
            float acc = 0;
            if (x >= r && x + r < w)
                for (int i = -r; i <= r; i++)
                    acc += k[i + r] * s[x + i];
            else
                for (int i = -r; i <= r; i++) {
                    int xi = x + i < 0 ? 0 : x + i >= w ? w - 1 : x + i;
                    acc += k[i + r] * s[xi];
                }
            t[x] = acc;
        }
    }
    for (int y = 0; y < h; y++) { /* along y: tmp -> dst, row by row (x innermost) */
        float *d = dst + (size_t) y * w;
        for (int x = 0; x < w; x++)
            d[x] = 0;
        for (int i = -r; i <= r; i++) {
            int yi = y + i < 0 ? 0 : y + i >= h ? h - 1 : y + i;
            const float *t = tmp + (size_t) yi * w;
            float c = k[i + r];
            for (int x = 0; x < w; x++)
                d[x] += c * t[x];
        }
    }
}

/* RV_SF_DARKBLOB / RV_SF_DARKRIDGE (rv_surface_internal.h). Second differences on the
 * blurred image, one pixel apart, replicated at the borders. */
void rv_surface_curvature(float *pl, float *tmp, float *tmp2, int w, int h, int k, int kind)
{
    double sigma = k / 4.0;
    float s2 = (float) (sigma * sigma);
    rv_gauss_f32(pl, tmp2, tmp, w, h, sigma);
    const float *g = tmp2;
    for (int y = 0; y < h; y++) {
        const float *r0 = g + (size_t) (y > 0 ? y - 1 : 0) * w, *r1 = g + (size_t) y * w,
                    *r2 = g + (size_t) (y + 1 < h ? y + 1 : h - 1) * w;
        float *o = pl + (size_t) y * w;
        for (int x = 0; x < w; x++) {
            int xm = x > 0 ? x - 1 : 0, xp = x + 1 < w ? x + 1 : w - 1;
            float ixx = r1[xp] - 2 * r1[x] + r1[xm], iyy = r2[x] - 2 * r1[x] + r0[x];
            float ixy = 0.25f * (r2[xp] - r2[xm] - r0[xp] + r0[xm]);
            float hm = 0.5f * (ixx + iyy), hd = 0.5f * (ixx - iyy);
            float root = sqrtf(hd * hd + ixy * ixy);
            float l1 = hm - root, l2 = hm + root;
            float v = kind == RV_SF_DARKBLOB ? l1 : l2 - fabsf(l1);
            o[x] = v > 0 ? s2 * v : 0;
        }
    }
}

size_t rv_fa_rank(size_t n, double fa)
{
    if (n == 0)
        return 0;
    /* the rank whose expected share of new goods above it, (n - q + 1) / (n + 1), is at
     * most fa; the epsilon keeps 0.98 x 50 (n = 49) from rounding up to 50 */
    double q = ceil((1.0 - fa) * (double) (n + 1) - 1e-9);
    return q < 1 ? 1 : q > (double) n ? n : (size_t) q;
}

double rv_fa_expected(size_t n, double fa)
{
    return n ? (double) (n - rv_fa_rank(n, fa) + 1) / (double) (n + 1) : 1.0;
}

size_t rv_fa_goods_needed(double fa)
{
    size_t n = 1;
    while (n < 1000000 && rv_fa_expected(n, fa) > fa)
        n++;
    return n;
}

typedef struct {
    int group;
    size_t index;
} s_member_t;

static int s_cmp_member(const void *a, const void *b)
{
    const s_member_t *x = a, *y = b;
    if (x->group != y->group)
        return (x->group > y->group) - (x->group < y->group);
    return (x->index > y->index) - (x->index < y->index);
}

int rv_folds(const int *group, size_t n, int k, int *fold)
{
    if (!fold || k < 2)
        return 0;
    if (!group) {
        for (size_t i = 0; i < n; i++)
            fold[i] = (int) (i % (size_t) k);
        return n >= 2 ? (n < (size_t) k ? (int) n : k) : 0;
    }
    s_member_t *m = malloc((n ? n : 1) * sizeof *m);
    size_t *first = malloc((n ? n : 1) * sizeof *first), *size = malloc((n ? n : 1) * sizeof *size);
    size_t *fill = calloc((size_t) k, sizeof *fill);
    if (!m || !first || !size || !fill) {
        free(m);
        free(first);
        free(size);
        free(fill);
        rv_fail(RV_ENOMEM, DOMAIN, "no memory for the folds of %zu images", n);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        m[i] = (s_member_t){group[i], i};
    qsort(m, n, sizeof *m, s_cmp_member);
    /* first[i]: the first image of image i's group (members sorted by group, then
     * index); size[f]: the group's image count, kept at its first image */
    for (size_t a = 0, b; a < n; a = b) {
        for (b = a; b < n && m[b].group == m[a].group; b++)
            first[m[b].index] = m[a].index;
        size[m[a].index] = b - a;
    }
    /* groups in the order of their first image, each whole to the fold holding fewest
     * images (the lowest on a tie): singletons alone give i % k */
    size_t ngroups = 0;
    for (size_t i = 0; i < n; i++) {
        if (first[i] != i) {
            fold[i] = fold[first[i]];
            continue;
        }
        int best = 0;
        for (int f = 1; f < k; f++)
            if (fill[f] < fill[best])
                best = f;
        fold[i] = best;
        fill[best] += size[i];
        ngroups++;
    }
    free(m);
    free(first);
    free(size);
    free(fill);
    return ngroups >= 2 ? (ngroups < (size_t) k ? (int) ngroups : k) : 0;
}

/* The threshold for false-alarm rate fa among n ascending held-out scores (rv_fa_rank). */
static float s_quantile_fa(const float *asc, size_t n, double fa)
{
    return asc[rv_fa_rank(n, fa) - 1];
}

static int s_cmp_float(const void *a, const void *b)
{
    float x = *(const float *) a, y = *(const float *) b;
    return (x > y) - (x < y);
}

/* The k-th smallest of v[0..n) (0-based); reorders v. */
static float s_select(float *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        float pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                float t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

/* ------------------------------------------------------------------------------------ */
/* features */

typedef struct s_feats {
    int w, h;      /* working size */
    float *plane;  /* d planes of w*h floats */
    uint8_t *mask; /* params.face: w*h, 1 on the face; NULL otherwise */
} s_feats_t;

static void s_feats_free(s_feats_t *f)
{
    free(f->plane);
    free(f->mask);
    f->plane = NULL;
    f->mask = NULL;
}

/* 1-D box mean of radius r along x (dx = 1) or y (dx = 0), replicated borders. */
static void s_line_mean(const float *src, float *dst, int w, int h, int r, int dx)
{
    int len = dx ? w : h, cnt = dx ? h : w;
    size_t step = dx ? 1 : (size_t) w, lane = dx ? (size_t) w : 1;
    float inv = 1.0f / (float) (2 * r + 1);
    for (int c = 0; c < cnt; c++) {
        const float *s = src + (size_t) c * lane;
        float *d = dst + (size_t) c * lane;
        double acc = 0;
        for (int i = -r; i <= r; i++)
            acc += s[(size_t) (i < 0 ? 0 : i >= len ? len - 1 : i) * step];
        for (int i = 0; i < len; i++) {
            d[(size_t) i * step] = (float) (acc * inv);
            int out = i - r, in = i + r + 1;
            acc += s[(size_t) (in >= len ? len - 1 : in) * step] -
                   s[(size_t) (out < 0 ? 0 : out) * step];
        }
    }
}

static int s_cmp_int(const void *a, const void *b)
{
    int x = *(const int *) a, y = *(const int *) b;
    return (x > y) - (x < y);
}

/* Face mode 2: the tile's ends. In the top and bottom quarter of each column, the
 * strongest step from the tile (brighter) to what lies beyond it (3 px either side of a
 * 7 px box blur), if it exceeds 15 % of the median brightness; the edge rows, a running
 * median over 31 columns; the face stops FACE_MARGIN px inside them. Mode 3 (band > 0):
 * the mask is the band of +-band px about those edge rows instead, and empty in a crop
 * with no end (chips and breaks at the ends, for a channel of their own). t1: scratch. */
#define FACE_MARGIN 8
#define FACE_BAND 24
static int s_face_ends(const rv_view_t *g, const rv_view_t *t1, uint8_t *mask, int band)
{
    int w = g->width, h = g->height, rc;
    if ((rc = rv_box_blur(g, t1, 7)) != RV_OK)
        return rc;
    uint32_t hist[256] = {0};
    for (int y = 0; y < h; y++) {
        const uint8_t *r = rv_view_row(t1, y);
        for (int x = 0; x < w; x++)
            hist[r[x]]++;
    }
    size_t acc = 0, n = (size_t) w * h;
    int med = 0;
    while (med < 255 && (acc += hist[med]) * 2 < n)
        med++;
    int win[31]; /* the running median's window */
    int *top = malloc((size_t) w * 2 * sizeof *top), *bot = top ? top + w : NULL;
    int *sm = malloc((size_t) w * 2 * sizeof *sm);
    if (!top || !sm) {
        free(top);
        free(sm);
        return rv_fail(RV_ENOMEM, DOMAIN, "no memory for the face's ends");
    }
    int q = h / 4, need = (15 * med + 99) / 100;
    for (int x = 0; x < w; x++) {
        int bt = 0, bb = 0;
        top[x] = -1;
        bot[x] = h;
        for (int y = 3; y < q && y + 3 < h; y++) {
            int d = (int) ((const uint8_t *) rv_view_row(t1, y + 3))[x] -
                    (int) ((const uint8_t *) rv_view_row(t1, y - 3))[x];
            if (d > bt && d >= need) {
                bt = d;
                top[x] = y;
            }
        }
        for (int y = h - q; y + 3 < h; y++) {
            if (y < 3)
                continue;
            int d = (int) ((const uint8_t *) rv_view_row(t1, y - 3))[x] -
                    (int) ((const uint8_t *) rv_view_row(t1, y + 3))[x];
            if (d > bb && d >= need) {
                bb = d;
                bot[x] = y;
            }
        }
    }
    for (int side = 0; side < 2; side++) {
        const int *src = side ? bot : top;
        for (int x = 0; x < w; x++) {
            int m = 0;
            for (int i = x - 15; i <= x + 15; i++)
                if (i >= 0 && i < w)
                    win[m++] = src[i];
            qsort(win, (size_t) m, sizeof *win, s_cmp_int);
            sm[side * w + x] = win[m / 2];
        }
    }
    size_t on = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int in = band > 0 ? (sm[x] >= 0 && abs(y - sm[x]) <= band) ||
                                    (sm[w + x] < h && abs(y - sm[w + x]) <= band)
                              : (sm[x] < 0 || y > sm[x] + FACE_MARGIN) &&
                                    (sm[w + x] >= h || y < sm[w + x] - FACE_MARGIN);
            on += (mask[(size_t) y * w + x] = (uint8_t) in);
        }
    if (band == 0 && on * 4 < n)
        memset(mask, 1, n);
    free(top);
    free(sm);
    return RV_OK;
}

/* The face mask of a working image (GRAY8 view g, scratch views t1 t2 of its size):
 * Otsu on a 15 px box blur, the largest component above it, holes (regions below it not
 * touching the image border) filled, eroded by ~1/40 of the short side. A face smaller
 * than a quarter of the image means no usable face: everything is face then. */
static int s_face_mask(const rv_view_t *g, const rv_view_t *t1, const rv_view_t *t2,
                       int mode, uint8_t **out)
{
    int w = g->width, h = g->height, rc;
    size_t n = (size_t) w * h;
    uint8_t *mask = calloc(n, 1);
    if (!mask)
        return rv_fail(RV_ENOMEM, DOMAIN, "no memory for the face mask");
    if (mode >= 2) {
        if ((rc = s_face_ends(g, t1, mask, mode == 3 ? FACE_BAND : 0)) != RV_OK)
            goto fail;
        *out = mask;
        return RV_OK;
    }
    if ((rc = rv_box_blur(g, t1, 15)) != RV_OK)
        goto fail;
    /* Otsu */
    double hist[256] = {0}, total = 0, sum = 0;
    for (int y = 0; y < h; y++) {
        const uint8_t *r = rv_view_row(t1, y);
        for (int x = 0; x < w; x++)
            hist[r[x]]++;
    }
    for (int i = 0; i < 256; i++) {
        total += hist[i];
        sum += i * hist[i];
    }
    double wb = 0, sb = 0, best = -1;
    int thr = 128;
    for (int t = 0; t < 255; t++) {
        wb += hist[t];
        sb += t * hist[t];
        double wf = total - wb;
        if (wb <= 0 || wf <= 0)
            continue;
        double mb = sb / wb, mf = (sum - sb) / wf, between = wb * wf * (mb - mf) * (mb - mf);
        if (between > best) {
            best = between;
            thr = t;
        }
    }
    for (int y = 0; y < h; y++) {
        const uint8_t *r = rv_view_row(t1, y);
        uint8_t *d = rv_view_row(t2, y);
        for (int x = 0; x < w; x++)
            d[x] = r[x] > thr ? 255 : 0;
    }
    rv_blobs_t blobs;
    if ((rc = rv_components(t2, 8, 1, &blobs)) != RV_OK)
        goto fail;
    size_t big = SIZE_MAX;
    uint32_t area = 0;
    for (size_t i = 0; i < blobs.count; i++)
        if (blobs.items[i].area > area) {
            area = blobs.items[i].area;
            big = i;
        }
    for (size_t i = 0; i < blobs.nruns; i++)
        if (blobs.runs[i].blob == big)
            memset(mask + (size_t) blobs.runs[i].y * w + blobs.runs[i].x0, 1,
                   (size_t) (blobs.runs[i].x1 - blobs.runs[i].x0));
    rv_blobs_free(&blobs);
    /* holes: components of the rest that do not touch the border */
    for (int y = 0; y < h; y++) {
        uint8_t *d = rv_view_row(t2, y);
        for (int x = 0; x < w; x++)
            d[x] = mask[(size_t) y * w + x] ? 0 : 255;
    }
    if ((rc = rv_components(t2, 4, 1, &blobs)) != RV_OK)
        goto fail;
    for (size_t i = 0; i < blobs.nruns; i++) {
        uint32_t b = blobs.runs[i].blob;
        if (b == UINT32_MAX)
            continue;
        const rv_blob_t *bl = &blobs.items[b];
        if (bl->x0 > 0 && bl->y0 > 0 && bl->x1 < w - 1 && bl->y1 < h - 1)
            memset(mask + (size_t) blobs.runs[i].y * w + blobs.runs[i].x0, 1,
                   (size_t) (blobs.runs[i].x1 - blobs.runs[i].x0));
    }
    rv_blobs_free(&blobs);
    int side = w < h ? w : h, e = 2 * (side / 40) + 1;
    for (int y = 0; y < h; y++) {
        uint8_t *d = rv_view_row(t2, y);
        for (int x = 0; x < w; x++)
            d[x] = mask[(size_t) y * w + x] ? 255 : 0;
    }
    if (e >= 3 && (rc = rv_erode_rect(t2, t1, e, e)) != RV_OK)
        goto fail;
    const rv_view_t *src = e >= 3 ? t1 : t2;
    size_t on = 0;
    for (int y = 0; y < h; y++) {
        const uint8_t *r = rv_view_row(src, y);
        for (int x = 0; x < w; x++)
            on += (mask[(size_t) y * w + x] = r[x] != 0);
    }
    if (on * 4 < n)
        memset(mask, 1, n);
    *out = mask;
    return RV_OK;
fail:
    free(mask);
    return rc;
}

/* The working GRAY8 image: gray, reduced by scale (block means). */
static rv_image_t *s_working_gray(const rv_view_t *view, int scale)
{
    rv_image_t *gray = NULL;
    rv_view_t g = *view;
    if (view->fmt == RV_RGB8) {
        gray = rv_image_new(view->width, view->height, RV_GRAY8);
        if (!gray)
            return NULL;
        g = rv_image_view(gray);
        if (rv_gray_from_rgb(view, &g) != RV_OK) {
            rv_image_destroy(&gray);
            return NULL;
        }
    }
    int ws = g.width / scale, hs = g.height / scale;
    rv_image_t *out = rv_image_new(ws, hs, RV_GRAY8);
    if (out) {
        rv_view_t o = rv_image_view(out);
        if (scale == 1) {
            rv_view_t src = g;
            rv_view_copy(&src, &o);
        } else {
            int n = scale * scale;
            for (int y = 0; y < hs; y++) {
                uint8_t *d = rv_view_row(&o, y);
                for (int x = 0; x < ws; x++) {
                    int s = 0;
                    for (int j = 0; j < scale; j++) {
                        const uint8_t *r = rv_view_row(&g, y * scale + j) + x * scale;
                        for (int i = 0; i < scale; i++)
                            s += r[i];
                    }
                    d[x] = (uint8_t) ((s + n / 2) / n);
                }
            }
        }
    }
    rv_image_destroy(&gray);
    return out;
}

/* s_median_mad reads fewer than this many samples: its scratch needs no more floats */
#define S_MAD_SAMPLES 16384

/* Median and MAD of a plane from a strided subsample. */
static void s_median_mad(const float *p, size_t n, float *scratch, float *med, float *mad)
{
    size_t step = n / S_MAD_SAMPLES + 1, m = 0;
    for (size_t i = 0; i < n; i += step)
        scratch[m++] = p[i];
    float md = s_select(scratch, m, m / 2);
    for (size_t i = 0; i < m; i++)
        scratch[i] = fabsf(scratch[i] - md);
    *med = md;
    *mad = s_select(scratch, m, m / 2);
}

/* The learnt features' input: B in floats over 5 % of its median brightness (Weber). */
static void s_weber_input(const rv_view_t *bv, float *out, float *scratch)
{
    int w = bv->width, h = bv->height;
    size_t n = (size_t) w * h;
    for (int y = 0; y < h; y++) {
        const uint8_t *r = rv_view_row(bv, y);
        for (int x = 0; x < w; x++)
            out[(size_t) y * w + x] = (float) r[x];
    }
    float med, mad;
    s_median_mad(out, n, scratch, &med, &mad);
    float inv = 1.0f / (0.05f * med + 0.5f);
    for (size_t i = 0; i < n; i++)
        out[i] *= inv;
}

/* pl (w x h) less the median of its own column, for each column; tmp: h floats. */
static void s_less_column_median(float *pl, float *tmp, int w, int h)
{
    for (int x = 0; x < w; x++) {
        for (int y = 0; y < h; y++)
            tmp[y] = pl[(size_t) y * w + x];
        float med = s_select(tmp, (size_t) h, (size_t) h / 2);
        for (int y = 0; y < h; y++)
            pl[(size_t) y * w + x] -= med;
    }
}

/* The bilinear sample between columns x0, x1 of rows r0 (top) and r1, weights ax, ay. */
static inline float s_bilerp(const float *r0, const float *r1, int x0, int x1, float ax,
                             float ay)
{
    return (1 - ay) * ((1 - ax) * r0[x0] + ax * r0[x1]) + ay * ((1 - ax) * r1[x0] + ax * r1[x1]);
}

/* One tap of a line mean over a run of n pixels: the bilinear sample at a fixed offset
 * (the run's pixels r0[x], r0[x + 1] and the row below, r1), added to acc. Blocks of 16
 * (a trip count the compiler knows) on buffers that never overlap vectorise at -O2. */
static void s_tap_run(float *restrict acc, const float *restrict r0, const float *restrict r1,
                      int n, float ax, float ay)
{
    int x = 0;
    for (; x + 16 <= n; x += 16)
        for (int i = 0; i < 16; i++)
            acc[x + i] += s_bilerp(r0, r1, x + i, x + i + 1, ax, ay);
    for (; x < n; x++)
        acc[x] += s_bilerp(r0, r1, x, x + 1, ax, ay);
}

/* The sum of the 2 r + 1 taps through (x, y) along (c, s), each clamped to the image: the
 * same sums, in the same order, as the inner rows' s_tap_run. */
static float s_line_px(const float *R, int w, int h, int x, int y, int r, double c, double s)
{
    float acc = 0;
    for (int q = -r; q <= r; q++) {
        double fx = x + q * c, fy = y + q * s;
        fx = fx < 0 ? 0 : fx > w - 1 ? w - 1 : fx;
        fy = fy < 0 ? 0 : fy > h - 1 ? h - 1 : fy;
        int x0 = (int) fx, y0 = (int) fy;
        int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
        float ax = (float) (fx - x0), ay = (float) (fy - y0);
        acc += s_bilerp(R + (size_t) y0 * w, R + (size_t) y1 * w, x0, x1, ax, ay);
    }
    return acc;
}

void rv_surface_line_dir(const float *R, int w, int h, int len, int t, float *dir)
{
    int r = len / 2;
    double th = 3.14159265358979323846 * t / RV_SF_LINE_DIRS, c = cos(th), s = sin(th);
    /* each tap's whole-pixel offset and bilinear weights (the same for every pixel) */
    int ox[RV_SF_LINE_MAXTAP], oy[RV_SF_LINE_MAXTAP], lo_x = 0, hi_x = 0, lo_y = 0, hi_y = 0;
    float wx[RV_SF_LINE_MAXTAP], wy[RV_SF_LINE_MAXTAP];
    for (int q = -r; q <= r; q++) {
        double fx = q * c, fy = q * s, x0 = floor(fx), y0 = floor(fy);
        int k = q + r;
        ox[k] = (int) x0;
        oy[k] = (int) y0;
        wx[k] = (float) (fx - x0);
        wy[k] = (float) (fy - y0);
        lo_x = ox[k] < lo_x ? ox[k] : lo_x;
        hi_x = ox[k] > hi_x ? ox[k] : hi_x;
        lo_y = oy[k] < lo_y ? oy[k] : lo_y;
        hi_y = oy[k] > hi_y ? oy[k] : hi_y;
    }
    /* pixels whose every tap square lies inside: x + lo_x >= 0, x + hi_x + 1 <= w - 1 */
    int xa = -lo_x, xb = w - 2 - hi_x, ya = -lo_y, yb = h - 2 - hi_y;
    float taps = (float) (2 * r + 1);
    for (int y = 0; y < h; y++) {
        float *d = dir + (size_t) y * w;
        int inner = y >= ya && y <= yb && xa <= xb;
        if (inner) {
            for (int x = xa; x <= xb; x++)
                d[x] = 0;
            for (int k = 0; k < 2 * r + 1; k++) {
                const float *r0 = R + (size_t) (y + oy[k]) * w + xa + ox[k];
                s_tap_run(d + xa, r0, r0 + w, xb - xa + 1, wx[k], wy[k]);
            }
            for (int x = xa; x <= xb; x++)
                d[x] /= taps;
        }
        /* the rest of the row (all of it outside the inner rows): pixel by pixel */
        for (int x = 0; x < (inner ? xa : w); x++)
            d[x] = s_line_px(R, w, h, x, y, r, c, s) / taps;
        for (int x = inner ? xb + 1 : w; x < w; x++)
            d[x] = s_line_px(R, w, h, x, y, r, c, s) / taps;
    }
}

/* RV_SF_LINEMAX into out (w x h floats; tmp: w x h floats of scratch): see rv_surface.h. */
static int s_line_max(const rv_view_t *bv, float *out, float *tmp, int w, int h, int len)
{
    size_t n = (size_t) w * h;
    rv_image_t *bh = rv_image_new(w, h, RV_GRAY8), *bx = rv_image_new(w, h, RV_GRAY8);
    float *dir = malloc(n * sizeof *dir), *scratch = malloc(S_MAD_SAMPLES * sizeof *scratch);
    int rc = RV_ENOMEM;
    if (!bh || !bx || !dir || !scratch) {
        rv_fail(RV_ENOMEM, DOMAIN, "no memory for the line planes");
        goto out;
    }
    if (len < 1 || len > RV_SF_LINE_MAXTAP) {
        rc = rv_fail(RV_EINVAL, DOMAIN, "line of %d px: need 1..%d", len, RV_SF_LINE_MAXTAP);
        goto out;
    }
    rv_view_t hv = rv_image_view(bh), xv = rv_image_view(bx);
    if ((rc = rv_blackhat_disc(bv, &hv, 7)) != RV_OK ||
        (rc = rv_box_blur(bv, &xv, 31)) != RV_OK)
        goto out;
    for (int y = 0; y < h; y++) { /* R: darkness relative to the surface around */
        const uint8_t *a = rv_view_row(&hv, y), *b = rv_view_row(&xv, y);
        for (int x = 0; x < w; x++)
            tmp[(size_t) y * w + x] = (float) a[x] / ((float) b[x] + 4.0f);
    }
    /* one-sided: a line lighter than its direction's median is no evidence (two-sided,
     * the Gaussian would score the flat bright faces of every tile as unusual) */
    for (size_t i = 0; i < n; i++)
        out[i] = 0;
    for (int t = 0; t < RV_SF_LINE_DIRS; t++) {
        rv_surface_line_dir(tmp, w, h, len, t, dir);
        float med, mad;
        s_median_mad(dir, n, scratch, &med, &mad);
        float inv = 1.0f / (1.4826f * mad + 1e-6f);
        for (size_t i = 0; i < n; i++) {
            float z = (dir[i] - med) * inv;
            out[i] = z > out[i] ? z : out[i];
        }
    }
    rc = RV_OK;
out:
    rv_image_destroy(&bh);
    rv_image_destroy(&bx);
    free(dir);
    free(scratch);
    return rc;
}

/* Features of one view at working resolution, normalised and pooled (the learnt ones with
 * the model's patch basis). */
static int s_extract(const rv_surface_model_t *m, const rv_view_t *view, s_feats_t *out)
{
    const rv_surface_params_t *p = &m->p;
    memset(out, 0, sizeof *out);
    if (!view || !view->data || (view->fmt != RV_GRAY8 && view->fmt != RV_RGB8))
        return rv_fail(RV_EINVAL, DOMAIN, "view missing or not GRAY8/RGB8");
    if (view->width / p->scale < 16 || view->height / p->scale < 16)
        return rv_fail(RV_EINVAL, DOMAIN, "view %dx%d too small at scale %d (16x16 needed)",
                       view->width, view->height, p->scale);
    int rc = RV_ENOMEM;
    rv_image_t *g = s_working_gray(view, p->scale);
    if (!g)
        return rv_fail(RV_ENOMEM, DOMAIN, "no memory for the working image");
    int w = rv_image_width(g), h = rv_image_height(g), d = p->nfeatures;
    size_t n = (size_t) w * h;
    rv_image_t *b = rv_image_new(w, h, RV_GRAY8), *t1 = rv_image_new(w, h, RV_GRAY8),
               *t2 = rv_image_new(w, h, RV_GRAY8);
    float *plane = malloc(n * (size_t) d * sizeof *plane);
    float *tmp = malloc(n * sizeof *tmp);
    float *learnt = NULL; /* the 2 k learnt planes, when the set uses them */
    if (!b || !t1 || !t2 || !plane || !tmp) {
        rv_fail(RV_ENOMEM, DOMAIN, "no memory for %d feature planes of %dx%d", d, w, h);
        goto done;
    }
    rv_view_t gv = rv_image_view(g), bv = rv_image_view(b), v1 = rv_image_view(t1),
              v2 = rv_image_view(t2);
    if ((rc = rv_gauss5(&gv, &bv)) != RV_OK)
        goto done;
    float bright = 0; /* norm 1: the median brightness of B */
    if (p->norm == 1) {
        for (int y = 0; y < h; y++) {
            const uint8_t *r = rv_view_row(&bv, y);
            for (int x = 0; x < w; x++)
                plane[(size_t) y * w + x] = (float) r[x];
        }
        float mad_unused;
        s_median_mad(plane, n, tmp, &bright, &mad_unused);
    }
    if (rv_surface_uses_pca(p)) {
        if (m->pca.k < 1) {
            rc = rv_fail(RV_EINVAL, DOMAIN, "learnt features without a learnt basis");
            goto done;
        }
        learnt = malloc(n * (size_t) (2 * m->pca.k) * sizeof *learnt);
        if (!learnt) {
            rc = rv_fail(RV_ENOMEM, DOMAIN, "no memory for the learnt planes");
            goto done;
        }
        s_weber_input(&bv, plane, tmp); /* plane 0 as scratch: filled again below */
        if ((rc = rv_surface_pca_project(m, plane, w, h, learnt, DOMAIN)) != RV_OK)
            goto done;
    }
    for (int f = 0; f < d; f++) {
        int k = p->features[f].size, kind = p->features[f].kind;
        const rv_view_t *res = &v1, *base = NULL; /* value = res - base */
        float *pl = plane + (size_t) f * n;
        int is_learnt = kind == RV_SF_PCA || kind == RV_SF_PCARES;
        int curv = kind == RV_SF_DARKBLOB || kind == RV_SF_DARKRIDGE;
        int in_float = kind == RV_SF_ROWHP || kind == RV_SF_COLHP || kind == RV_SF_HSTEP ||
                       kind == RV_SF_LINEMAX || is_learnt || curv;
        if (is_learnt) {
            int at = kind == RV_SF_PCA ? k : m->pca.k + (k > 0 ? k : m->pca.k) - 1;
            memcpy(pl, learnt + (size_t) at * n, n * sizeof *pl);
        } else if (in_float) { /* straight from B in floats: pl = B, tmp = work */
            for (int y = 0; y < h; y++) {
                const uint8_t *r = rv_view_row(&bv, y);
                for (int x = 0; x < w; x++)
                    pl[(size_t) y * w + x] = (float) r[x];
            }
            if (curv) {
                float *cbuf = malloc(n * sizeof *cbuf);
                if (!cbuf) {
                    rc = rv_fail(RV_ENOMEM, DOMAIN, "no memory for a curvature plane");
                    goto done;
                }
                rv_surface_curvature(pl, tmp, cbuf, w, h, k, kind);
                free(cbuf);
            } else if (kind == RV_SF_LINEMAX) {
                if ((rc = s_line_max(&bv, pl, tmp, w, h, k)) != RV_OK)
                    goto done;
            } else if (kind == RV_SF_HSTEP) {
                s_line_mean(pl, tmp, w, h, k / 2, 1);
                for (int y = 0; y < h; y++) {
                    const float *up = tmp + (size_t) (y >= 3 ? y - 3 : 0) * w,
                                *dn = tmp + (size_t) (y + 3 < h ? y + 3 : h - 1) * w;
                    float *o = pl + (size_t) y * w;
                    for (int x = 0; x < w; x++)
                        o[x] = fabsf(dn[x] - up[x]);
                }
            } else if (kind == RV_SF_COLHP) {
                s_line_mean(pl, tmp, w, h, k / 2, 0);
                for (size_t i = 0; i < n; i++)
                    pl[i] -= tmp[i];
            } else {
                s_line_mean(pl, tmp, w, h, k / 2, 0);
                s_line_mean(tmp, pl, w, h, k / 2, 1);
                for (size_t i = 0; i < n; i++)
                    pl[i] = tmp[i] - pl[i];
            }
        }
        switch (in_float ? 0 : kind) {
        case 0: break;
        case RV_SF_LOCALDEV:
            rc = rv_box_blur(&bv, &v1, k);
            res = &bv;
            base = &v1;
            break;
        case RV_SF_LOWFREQ: rc = rv_box_blur(&bv, &v1, k); break;
        case RV_SF_BLACKHAT_DISC: rc = rv_blackhat_disc(&bv, &v1, k); break;
        case RV_SF_TOPHAT_DISC: rc = rv_tophat_disc(&bv, &v1, k); break;
        case RV_SF_BLACKHAT_VLINE:
        case RV_SF_BLACKHAT_HLINE:
        case RV_SF_CRACKLINE: {
            int kw = kind == RV_SF_BLACKHAT_VLINE ? 1 : k, kh = kw == 1 ? k : 1;
            rc = rv_dilate_rect(&bv, &v2, kw, kh);
            if (!rc)
                rc = rv_erode_rect(&v2, &v1, kw, kh);
            base = &bv;
            break;
        }
        case RV_SF_TOPHAT_VLINE:
            rc = rv_erode_rect(&bv, &v2, 1, k);
            if (!rc)
                rc = rv_dilate_rect(&v2, &v1, 1, k);
            res = &bv;
            base = &v1;
            break;
        case RV_SF_SOBEL: rc = rv_sobel_mag(&bv, &v1); break;
        case RV_SF_CONTRAST:
            rc = rv_box_blur(&bv, &v1, k);
            if (!rc)
                rc = rv_absdiff(&bv, &v1, &v2);
            if (!rc)
                rc = rv_box_blur(&v2, &v1, k);
            break;
        default: rc = rv_fail(RV_EINVAL, DOMAIN, "unknown feature kind %d", kind);
        }
        if (rc)
            goto done;
        for (int y = 0; y < h && !in_float; y++) {
            const uint8_t *r = rv_view_row(res, y);
            float *o = pl + (size_t) y * w;
            if (base) {
                const uint8_t *q = rv_view_row(base, y);
                for (int x = 0; x < w; x++)
                    o[x] = (float) ((int) r[x] - (int) q[x]);
            } else {
                for (int x = 0; x < w; x++)
                    o[x] = (float) r[x];
            }
        }
        if (kind == RV_SF_CRACKLINE) /* less its column's median */
            s_less_column_median(pl, tmp, w, h);
        /* robust per-image normalisation: uneven light and exposure drop out */
        float med, mad, inv;
        if ((is_learnt && p->norm == 1) || kind == RV_SF_LINEMAX) {
            /* Weber-normalised patches, or z-scores per direction, already */
            med = 0;
            inv = 1.0f;
        } else if (p->norm == 1) {
            med = 0;
            inv = 1.0f / (0.05f * bright + 0.5f);
        } else {
            s_median_mad(pl, n, tmp, &med, &mad);
            inv = 1.0f / (1.4826f * mad + 0.5f);
        }
        if (p->compress)
            for (size_t i = 0; i < n; i++) {
                float z = (pl[i] - med) * inv;
                pl[i] = z >= 0 ? log1pf(z) : -log1pf(-z);
            }
        else
            for (size_t i = 0; i < n; i++)
                pl[i] = (pl[i] - med) * inv;
        if (p->pool > 0) {
            float *t = malloc((n + (size_t) w) * sizeof *t);
            if (!t) {
                rc = rv_fail(RV_ENOMEM, DOMAIN, "no memory for pooling");
                goto done;
            }
            s_box_f(pl, pl, t, w, h, p->pool);
            free(t);
        }
    }
    if (p->face && (rc = s_face_mask(&gv, &v1, &v2, p->face, &out->mask)) != RV_OK)
        goto done;
    out->w = w;
    out->h = h;
    out->plane = plane;
    plane = NULL;
    rc = RV_OK;
done:
    free(plane);
    free(tmp);
    free(learnt);
    rv_image_destroy(&b);
    rv_image_destroy(&t1);
    rv_image_destroy(&t2);
    rv_image_destroy(&g);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* the Gaussian */

/* Cholesky of the covariance, then W = L^-1 (lower triangular), in place of the model's
 * whitening matrix. Fails when the covariance is not positive definite. */
int rv_surface_prepare(rv_surface_model_t *m, const char *domain)
{
    int d = m->p.nfeatures;
    double L[RV_SURFACE_MAX_FEATURES * RV_SURFACE_MAX_FEATURES];
    double W[RV_SURFACE_MAX_FEATURES * RV_SURFACE_MAX_FEATURES];
    int rc = rv_linalg_whiten(m->cov, d, L, W, domain);
    if (rc)
        return rc;
    for (int i = 0; i < d * d; i++)
        m->wf[i] = (float) W[i];
    for (int i = 0; i < d; i++)
        m->mf[i] = (float) m->mean[i];
    return RV_OK;
}

/* Fit mean and covariance to the samples of the images with use[i] != 0. */
static int s_fit(rv_surface_model_t *m, const float *samples, const int *nsamp, size_t nimg,
                 const unsigned char *use)
{
    int d = m->p.nfeatures, S = m->p.samples, D = rv_surface_desc_dim(&m->p);
    double sum[RV_SURFACE_MAX_FEATURES] = {0};
    double *sxx = calloc((size_t) d * d, sizeof *sxx);
    if (!sxx)
        return rv_fail(RV_ENOMEM, DOMAIN, "no memory");
    double cnt = 0;
    /* two passes for accuracy: mean first */
    for (size_t i = 0; i < nimg; i++) {
        if (!use[i])
            continue;
        const float *s = samples + i * (size_t) S * D;
        for (int k = 0; k < nsamp[i]; k++)
            for (int a = 0; a < d; a++)
                sum[a] += s[(size_t) k * D + a];
        cnt += nsamp[i];
    }
    if (cnt < 2) {
        free(sxx);
        return rv_fail(RV_EINVAL, DOMAIN, "too few training samples");
    }
    for (int a = 0; a < d; a++)
        m->mean[a] = sum[a] / cnt;
    for (size_t i = 0; i < nimg; i++) {
        if (!use[i])
            continue;
        const float *s = samples + i * (size_t) S * D;
        for (int k = 0; k < nsamp[i]; k++) {
            double v[RV_SURFACE_MAX_FEATURES];
            for (int a = 0; a < d; a++)
                v[a] = s[(size_t) k * D + a] - m->mean[a];
            for (int a = 0; a < d; a++)
                for (int b = 0; b <= a; b++)
                    sxx[a * d + b] += v[a] * v[b];
        }
    }
    double tr = 0;
    for (int a = 0; a < d; a++)
        for (int b = 0; b <= a; b++) {
            double c = sxx[a * d + b] / (cnt - 1);
            m->cov[a * d + b] = m->cov[b * d + a] = c;
            if (a == b)
                tr += c;
        }
    /* shrink towards the diagonal, plus a floor: features may be nearly collinear */
    const double shrink = 0.05, floor = 1e-3 * tr / d + 1e-9;
    for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++)
            if (a != b)
                m->cov[a * d + b] *= 1.0 - shrink;
            else
                m->cov[a * d + b] += floor;
    free(sxx);
    int rc = rv_surface_prepare(m, DOMAIN);
    if (rc || m->p.knn <= 0)
        return rc;
    /* knn: the bank from the descriptors of the images in use */
    size_t nc = 0;
    for (size_t i = 0; i < nimg; i++)
        nc += use[i] ? (size_t) nsamp[i] : 0;
    float *cand = malloc(nc * (size_t) D * sizeof *cand);
    if (!cand)
        return rv_fail(RV_ENOMEM, DOMAIN, "no memory for %zu bank candidates", nc);
    size_t at = 0;
    uint64_t seed = 0x51ED270B27F3C9A1ULL;
    for (size_t i = 0; i < nimg; i++) {
        if (!use[i])
            continue;
        seed = seed * 31 + i + 1;
        memcpy(cand + at * D, samples + i * (size_t) S * D,
               (size_t) nsamp[i] * D * sizeof *cand);
        at += (size_t) nsamp[i];
    }
    rc = rv_surface_bank_select(m, cand, nc, seed, DOMAIN);
    free(cand);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* maps and scores */

/* Mahalanobis distance per working pixel, smoothed; then the aligned z-score. */
static int s_map(const rv_surface_model_t *m, const s_feats_t *f, int use_aligned, float *out)
{
    int d = m->p.nfeatures, w = f->w, h = f->h;
    size_t n = (size_t) w * h;
    if (m->p.knn > 0) {
        int rc = rv_surface_knn_map(m, f->plane, w, h, out, DOMAIN);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < n && m->p.knn <= 0; i++) {
        float v[RV_SURFACE_MAX_FEATURES];
        for (int a = 0; a < d; a++)
            v[a] = f->plane[(size_t) a * n + i] - m->mf[a];
        float d2 = 0;
        for (int a = 0; a < d; a++) {
            const float *wr = m->wf + a * d;
            float y = 0;
            for (int b = 0; b <= a; b++)
                y += wr[b] * v[b];
            d2 += y * y;
        }
        out[i] = sqrtf(d2);
    }
    if (m->p.smooth > 0) {
        float *t = malloc((n + (size_t) w) * sizeof *t);
        if (!t)
            return rv_fail(RV_ENOMEM, DOMAIN, "no memory");
        s_box_f(out, out, t, w, h, m->p.smooth);
        free(t);
    }
    if (use_aligned && m->amu) {
        int g = m->p.grid;
        for (int y = 0; y < h; y++) {
            int cy = (int) ((int64_t) y * g / h);
            for (int x = 0; x < w; x++) {
                int c = cy * g + (int) ((int64_t) x * g / w);
                float *o = out + (size_t) y * w + x;
                *o = (*o - m->amu[c]) / (m->asd[c] + m->asd_floor);
            }
        }
    }
    return RV_OK;
}

/* The image score over the map without its border (w x h working pixels). */
static double s_image_score(const rv_surface_model_t *m, const float *map, const uint8_t *mask,
                            int w, int h, float *scratch)
{
    int b = m->p.border;
    if (2 * b >= w - 2 || 2 * b >= h - 2)
        b = 0;
    size_t n = 0;
    for (int y = b; y < h - b; y++)
        for (int x = b; x < w - b; x++)
            if (!mask || mask[(size_t) y * w + x])
                scratch[n++] = map[(size_t) y * w + x];
    if (n == 0) /* a face entirely inside the border: score the face */
        for (size_t i = 0; i < (size_t) w * h; i++)
            if (!mask || mask[i])
                scratch[n++] = map[i];
    if (n == 0)
        return 0;
    if (m->p.topk > 0) {
        size_t k = (size_t) m->p.topk < n ? (size_t) m->p.topk : n;
        s_select(scratch, n, n - k); /* the k largest now lie in scratch[n-k..n) */
        double acc = 0;
        for (size_t i = n - k; i < n; i++)
            acc += scratch[i];
        return acc / (double) k;
    }
    if (m->p.quantile >= 1.0) {
        float mx = scratch[0];
        for (size_t i = 1; i < n; i++)
            if (scratch[i] > mx)
                mx = scratch[i];
        return mx;
    }
    size_t k = (size_t) floor(m->p.quantile * (double) (n - 1));
    return s_select(scratch, n, k);
}

/* Learn the aligned statistics from the images with use[i]: cell means of their maps. */
static int s_fit_aligned(rv_surface_model_t *m, const rv_view_t *views, size_t nimg,
                         const unsigned char *use)
{
    int g = m->p.grid, rc = RV_OK;
    size_t gc = (size_t) g * g;
    double *s1 = calloc(gc, sizeof *s1), *s2 = calloc(gc, sizeof *s2);
    float *cell = malloc(gc * sizeof *cell);
    if (!m->amu)
        m->amu = malloc(gc * sizeof *m->amu);
    if (!m->asd)
        m->asd = malloc(gc * sizeof *m->asd);
    if (!s1 || !s2 || !cell || !m->amu || !m->asd) {
        rc = rv_fail(RV_ENOMEM, DOMAIN, "no memory for the aligned statistics");
        goto done;
    }
    size_t cnt = 0;
    for (size_t i = 0; i < nimg; i++) {
        if (!use[i])
            continue;
        s_feats_t f;
        if ((rc = s_extract(m, &views[i], &f)) != RV_OK)
            goto done;
        float *map = malloc((size_t) f.w * f.h * sizeof *map);
        if (!map) {
            s_feats_free(&f);
            rc = rv_fail(RV_ENOMEM, DOMAIN, "no memory");
            goto done;
        }
        rc = s_map(m, &f, 0, map);
        if (!rc) {
            double *acc = calloc(gc, sizeof *acc);
            int *num = calloc(gc, sizeof *num);
            if (!acc || !num) {
                rc = rv_fail(RV_ENOMEM, DOMAIN, "no memory");
            } else {
                for (int y = 0; y < f.h; y++) {
                    int cy = (int) ((int64_t) y * g / f.h);
                    for (int x = 0; x < f.w; x++) {
                        int c = cy * g + (int) ((int64_t) x * g / f.w);
                        acc[c] += map[(size_t) y * f.w + x];
                        num[c]++;
                    }
                }
                for (size_t c = 0; c < gc; c++) {
                    double v = num[c] ? acc[c] / num[c] : 0;
                    s1[c] += v;
                    s2[c] += v * v;
                }
            }
            free(acc);
            free(num);
        }
        free(map);
        s_feats_free(&f);
        if (rc)
            goto done;
        cnt++;
    }
    if (cnt < 2) {
        rc = rv_fail(RV_EINVAL, DOMAIN, "aligned statistics need 2 images or more");
        goto done;
    }
    double sdsum = 0;
    for (size_t c = 0; c < gc; c++) {
        double mu = s1[c] / cnt, var = s2[c] / cnt - mu * mu;
        m->amu[c] = (float) mu;
        cell[c] = (float) sqrt(var > 0 ? var : 0);
        sdsum += cell[c];
    }
    /* dilate both by one cell: a part a little off centre stays within its statistics */
    float *mu2 = malloc(gc * sizeof *mu2);
    if (!mu2) {
        rc = rv_fail(RV_ENOMEM, DOMAIN, "no memory");
        goto done;
    }
    for (int y = 0; y < g; y++)
        for (int x = 0; x < g; x++) {
            float a = -INFINITY, b = -INFINITY;
            for (int j = -1; j <= 1; j++)
                for (int i = -1; i <= 1; i++) {
                    int yy = y + j, xx = x + i;
                    if (yy < 0 || yy >= g || xx < 0 || xx >= g)
                        continue;
                    a = fmaxf(a, m->amu[yy * g + xx]);
                    b = fmaxf(b, cell[yy * g + xx]);
                }
            mu2[y * g + x] = a;
            m->asd[y * g + x] = b;
        }
    memcpy(m->amu, mu2, gc * sizeof *mu2);
    free(mu2);
    m->asd_floor = (float) (0.5 * sdsum / gc + 1e-3);
done:
    free(s1);
    free(s2);
    free(cell);
    return rc;
}

/* The learnt patch basis from a deterministic sample of the patches of every view. */
static int s_learn_basis(rv_surface_model_t *m, const rv_view_t *views, size_t nimg)
{
    const rv_surface_params_t *p = &m->p;
    int D = p->patch * p->patch, per = p->samples < 1024 ? p->samples : 1024, rc = RV_OK;
    double *sum = calloc((size_t) D, sizeof *sum);
    double *sxx = calloc((size_t) D * D, sizeof *sxx);
    if (!sum || !sxx) {
        free(sum);
        free(sxx);
        return rv_fail(RV_ENOMEM, DOMAIN, "no memory for the patch covariance");
    }
    double cnt = 0;
    for (size_t i = 0; i < nimg && rc == RV_OK; i++) {
        const rv_view_t *view = &views[i];
        if (!view->data || (view->fmt != RV_GRAY8 && view->fmt != RV_RGB8) ||
            view->width / p->scale < 16 || view->height / p->scale < 16) {
            rc = rv_fail(RV_EINVAL, DOMAIN, "training image %zu: missing, not GRAY8/RGB8 or "
                         "smaller than 16x16 at scale %d", i, p->scale);
            break;
        }
        rv_image_t *g = s_working_gray(view, p->scale);
        rv_image_t *bi = g ? rv_image_new(rv_image_width(g), rv_image_height(g), RV_GRAY8)
                           : NULL;
        int w = g ? rv_image_width(g) : 0, h = g ? rv_image_height(g) : 0;
        float *img = bi ? malloc((size_t) w * h * sizeof *img) : NULL;
        float *tmp = bi ? malloc((size_t) w * h * sizeof *tmp) : NULL;
        if (!img || !tmp) {
            rc = rv_fail(RV_ENOMEM, DOMAIN, "no memory for the basis' input");
        } else {
            rv_view_t gv = rv_image_view(g), bv = rv_image_view(bi);
            rc = rv_gauss5(&gv, &bv);
            if (rc == RV_OK) {
                s_weber_input(&bv, img, tmp);
                cnt += (double) rv_surface_pca_accum(p, img, w, h, 0xB5AD4ECEDA1CE2A9ULL ^ (i + 1),
                                                     per, sum, sxx);
            }
        }
        free(img);
        free(tmp);
        rv_image_destroy(&bi);
        rv_image_destroy(&g);
    }
    if (rc == RV_OK)
        rc = rv_surface_pca_fit(m, sum, sxx, cnt, DOMAIN);
    free(sum);
    free(sxx);
    return rc;
}

/* Score of one view (features extracted here). */
static int s_score_view(const rv_surface_model_t *m, const rv_view_t *view, double *score)
{
    s_feats_t f;
    int rc = s_extract(m, view, &f);
    if (rc)
        return rc;
    size_t n = (size_t) f.w * f.h;
    float *map = malloc(n * sizeof *map), *scratch = malloc(n * sizeof *scratch);
    if (!map || !scratch)
        rc = rv_fail(RV_ENOMEM, DOMAIN, "no memory");
    else if ((rc = s_map(m, &f, 1, map)) == RV_OK)
        *score = s_image_score(m, map, f.mask, f.w, f.h, scratch);
    free(map);
    free(scratch);
    s_feats_free(&f);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* public */

rv_surface_model_t *rv_surface_model_new_empty(void)
{
    rv_surface_model_t *m = calloc(1, sizeof *m);
    if (!m)
        rv_fail(RV_ENOMEM, DOMAIN, "no memory for the model");
    return m;
}

void rv_surface_model_destroy(rv_surface_model_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rv_surface_model_t *m = *self_p;
    free(m->amu);
    free(m->asd);
    free(m->held);
    free(m->held_sorted);
    rv_surface_bank_free(m);
    free(m);
    *self_p = NULL;
}

rv_surface_model_t *rv_surface_model_train(const rv_view_t *views, size_t n,
                                           const rv_surface_params_t *params)
{
    return rv_surface_model_train_groups(views, n, NULL, params);
}

rv_surface_model_t *rv_surface_model_train_groups(const rv_view_t *views, size_t n,
                                                  const int *group,
                                                  const rv_surface_params_t *params)
{
    rv_surface_params_t p;
    if (params) {
        p = *params;
        if (p.nfeatures == 0) {
            rv_surface_params_t def;
            rv_surface_params_default(&def);
            p.nfeatures = def.nfeatures;
            memcpy(p.features, def.features, sizeof def.features);
        }
    } else {
        rv_surface_params_default(&p);
    }
    if (rv_surface_uses_pca(&p) && p.ncomp == 0)
        p.ncomp = rv_surface_pca_ncomp(&p);
    if (rv_surface_check_params(&p, DOMAIN) != RV_OK)
        return NULL;
    if (!views || n < 2) {
        rv_fail(RV_EINVAL, DOMAIN, "training needs 2 good images or more, got %zu", n);
        return NULL;
    }
    if (p.aligned)
        for (size_t i = 1; i < n; i++)
            if (views[i].width != views[0].width || views[i].height != views[0].height) {
                rv_fail(RV_EINVAL, DOMAIN,
                        "aligned model: image %zu is %dx%d, the first is %dx%d", i,
                        views[i].width, views[i].height, views[0].width, views[0].height);
                return NULL;
            }
    rv_surface_model_t *m = rv_surface_model_new_empty();
    if (!m)
        return NULL;
    m->p = p;
    m->ntrain = n;
    int D = rv_surface_desc_dim(&p), S = p.samples;
    float *samples = malloc(n * (size_t) S * D * sizeof *samples);
    int *nsamp = calloc(n, sizeof *nsamp);
    unsigned char *use = malloc(n);
    double *scores = malloc(n * sizeof *scores);
    int *fold = malloc(n * sizeof *fold);
    if (!samples || !nsamp || !use || !scores || !fold) {
        rv_fail(RV_ENOMEM, DOMAIN, "no memory for %zu x %d training samples", n, S);
        goto fail;
    }
    /* 0. the learnt patch basis, from every training image */
    if (rv_surface_uses_pca(&p) && s_learn_basis(m, views, n) != RV_OK)
        goto fail;
    /* 1. features of every image, a deterministic sample of their pixels */
    for (size_t i = 0; i < n; i++) {
        s_feats_t f;
        if (s_extract(m, &views[i], &f) != RV_OK) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s", rv_last_error());
            rv_fail(RV_EINVAL, DOMAIN, "training image %zu: %s", i, msg);
            goto fail;
        }
        size_t np = (size_t) f.w * f.h;
        int k = np < (size_t) S ? (int) np : S;
        uint64_t st = 0x9E3779B97F4A7C15ULL ^ (i + 1);
        float *dst = samples + i * (size_t) S * D;
        for (int s = 0; s < k; s++) {
            size_t pix = np <= (size_t) S ? (size_t) s : (size_t) (rv__surface_rng(&st) % np);
            /* on the face only (a few tries; the face is most of the image) */
            for (int t = 0; f.mask && !f.mask[pix] && t < 32; t++)
                pix = (size_t) (rv__surface_rng(&st) % np);
            rv_surface_desc(&p, f.plane, f.w, f.h, (int) (pix % (size_t) f.w),
                            (int) (pix / (size_t) f.w), dst + (size_t) s * D);
        }
        nsamp[i] = k;
        s_feats_free(&f);
    }
    /* 2. k-fold threshold from held-out good images */
    int folds = (size_t) p.folds * 2 <= n ? rv_folds(group, n, p.folds, fold) : 0;
    if (folds < 0)
        goto fail;
    if (folds) {
        for (int fo = 0; fo < folds; fo++) {
            for (size_t i = 0; i < n; i++)
                use[i] = fold[i] != fo;
            if (s_fit(m, samples, nsamp, n, use) != RV_OK)
                goto fail;
            if (p.aligned && s_fit_aligned(m, views, n, use) != RV_OK)
                goto fail;
            for (size_t i = 0; i < n; i++)
                if (!use[i] && s_score_view(m, &views[i], &scores[i]) != RV_OK)
                    goto fail;
        }
    }
    /* 3. the final model on every image */
    memset(use, 1, n);
    if (s_fit(m, samples, nsamp, n, use) != RV_OK)
        goto fail;
    if (p.aligned && s_fit_aligned(m, views, n, use) != RV_OK)
        goto fail;
    if (!folds)
        for (size_t i = 0; i < n; i++)
            if (s_score_view(m, &views[i], &scores[i]) != RV_OK)
                goto fail;
    {
        float *held = malloc(n * sizeof *held);
        if (!held) {
            rv_fail(RV_ENOMEM, DOMAIN, "no memory");
            goto fail;
        }
        for (size_t i = 0; i < n; i++)
            held[i] = (float) scores[i];
        if (rv_surface_set_heldout(m, held, n, DOMAIN) != RV_OK)
            goto fail;
        m->threshold = folds ? s_quantile_fa(m->held_sorted, n, p.fa) : m->held_sorted[n - 1];
    }
    m->folds_used = folds;
    free(samples);
    free(nsamp);
    free(use);
    free(scores);
    free(fold);
    return m;
fail:
    free(samples);
    free(nsamp);
    free(use);
    free(scores);
    free(fold);
    rv_surface_model_destroy(&m);
    return NULL;
}

int rv_surface_model_score(const rv_surface_model_t *self, const rv_view_t *view, float *map,
                           size_t map_stride, double *score)
{
    if (!self)
        return rv_fail(RV_EINVAL, DOMAIN, "no model");
    if (map && map_stride < (size_t) (view ? view->width : 0))
        return rv_fail(RV_EINVAL, DOMAIN, "map stride %zu is less than the width", map_stride);
    s_feats_t f;
    int rc = s_extract(self, view, &f);
    if (rc)
        return rc;
    size_t n = (size_t) f.w * f.h;
    float *m = malloc(n * sizeof *m), *scratch = malloc(n * sizeof *scratch);
    if (!m || !scratch) {
        rc = rv_fail(RV_ENOMEM, DOMAIN, "no memory");
        goto done;
    }
    if ((rc = s_map(self, &f, 1, m)) != RV_OK)
        goto done;
    if (score)
        *score = s_image_score(self, m, f.mask, f.w, f.h, scratch);
    if (f.mask)
        for (size_t i = 0; i < n; i++)
            if (!f.mask[i])
                m[i] = 0;
    if (map) {
        int s = self->p.scale;
        for (int y = 0; y < view->height; y++) {
            int wy = y / s < f.h ? y / s : f.h - 1;
            const float *src = m + (size_t) wy * f.w;
            float *dst = map + (size_t) y * map_stride;
            for (int x = 0; x < view->width; x++)
                dst[x] = src[x / s < f.w ? x / s : f.w - 1];
        }
    }
done:
    free(m);
    free(scratch);
    s_feats_free(&f);
    return rc;
}

double rv_surface_model_threshold(const rv_surface_model_t *self)
{
    return self ? self->threshold : 0;
}

void rv_surface_model_set_threshold(rv_surface_model_t *self, double threshold)
{
    if (self)
        self->threshold = threshold;
}

const rv_surface_params_t *rv_surface_model_params(const rv_surface_model_t *self)
{
    return self ? &self->p : NULL;
}

size_t rv_surface_model_ntrain(const rv_surface_model_t *self)
{
    return self ? self->ntrain : 0;
}

int rv_surface_set_heldout(rv_surface_model_t *m, float *held, size_t n, const char *domain)
{
    free(m->held);
    free(m->held_sorted);
    m->held = held;
    m->held_sorted = NULL;
    m->nheld = 0;
    if (n == 0)
        return RV_OK;
    m->held_sorted = malloc(n * sizeof *m->held_sorted);
    if (!m->held_sorted) {
        free(m->held);
        m->held = NULL;
        return rv_fail(RV_ENOMEM, domain, "no memory for the held-out scores");
    }
    memcpy(m->held_sorted, held, n * sizeof *held);
    qsort(m->held_sorted, n, sizeof *held, s_cmp_float);
    m->nheld = n;
    return RV_OK;
}

const float *rv_surface_model_heldout(const rv_surface_model_t *self, size_t *n)
{
    if (n)
        *n = self ? self->nheld : 0;
    return self && self->nheld ? self->held : NULL;
}

/* The surprise of score against the held-out goods; own = 1 when score is one of them,
 * judged against the other n - 1 (it counts itself among the c at or above it, and among
 * the top m of the tail): (c + 1) / (n + 1) becomes c / n. */
double rv_surprise(const float *g, size_t n, double score, int own)
{
    if (!g || n == 0 || isnan(score) || (own && n < 2))
        return -1;
    size_t one = own ? 0 : 1;
    /* the tail: the top m goods (a tenth, at least 3), above t an exponential tail with
     * the mean excess of those m over t */
    size_t m = n / 10 < 3 ? 3 : n / 10;
    if (m >= n)
        m = n - 1 > 0 ? n - 1 : 1;
    double t = g[n - m];
    double beta = 0;
    for (size_t i = n - m; i < n; i++)
        beta += g[i] - t;
    beta /= (double) m;
    if (score > t && beta > 0)
        return -log((double) (m + one) / (double) (n + one)) + (score - t) / beta;
    /* empirical: c goods at or above the score (binary search on the ascending copy) */
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g[mid] < score)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t c = n - lo;
    if (own && c == 0) /* not one of them after all: judged as a new score */
        return -log(1.0 / (double) (n + 1));
    return -log((double) (c + one) / (double) (n + one));
}

static double s_surprise(const rv_surface_model_t *self, double score, int own)
{
    return self ? rv_surprise(self->held_sorted, self->nheld, score, own) : -1;
}

double rv_surface_model_surprise(const rv_surface_model_t *self, double score)
{
    return s_surprise(self, score, 0);
}

double rv_surface_model_surprise_own(const rv_surface_model_t *self, double score)
{
    return s_surprise(self, score, 1);
}

static int s_channels_check(rv_surface_model_t *const *m, int n, double floor, const char *dom)
{
    if (!m || n < 1 || n > RV_SURFACE_MAX_CHANNELS)
        return rv_fail(RV_EINVAL, dom, "%d channels, need 1..%d", n, RV_SURFACE_MAX_CHANNELS);
    if (!(floor >= 0 && floor <= RV_SURFACE_MAX_FLOOR))
        return rv_fail(RV_EINVAL, dom, "floor %g: need 0..%g", floor, RV_SURFACE_MAX_FLOOR);
    for (int c = 0; c < n; c++) {
        if (!m[c])
            return rv_fail(RV_EINVAL, dom, "channel %d: no model", c);
        if (m[c]->nheld == 0)
            return rv_fail(RV_EINVAL, dom,
                           "channel %d: no held-out scores (a model file before version 5)",
                           c);
        if (m[c]->nheld != m[0]->nheld)
            return rv_fail(RV_EINVAL, dom,
                           "channel %d holds %zu held-out scores, channel 0 %zu: not trained "
                           "on the same images",
                           c, m[c]->nheld, m[0]->nheld);
    }
    return RV_OK;
}

double rv_surface_channels_combine(const double *each, int n, double floor)
{
    double sum = 0;
    for (int c = 0; each && c < n; c++)
        sum += each[c] > floor ? each[c] - floor : 0;
    return sum;
}

int rv_surface_channels_score(rv_surface_model_t *const *m, int n, double floor,
                              const rv_view_t *view, float *map, size_t map_stride,
                              double *score, double *each)
{
    const char *dom = "rv_surface_channels_score";
    int rc = s_channels_check(m, n, floor, dom);
    if (rc)
        return rc;
    float *cm = NULL;
    if (map) {
        if (!view || map_stride < (size_t) view->width)
            return rv_fail(RV_EINVAL, dom, "no view, or a map stride under its width");
        cm = malloc((size_t) view->width * (size_t) view->height * sizeof *cm);
        if (!cm)
            return rv_fail(RV_ENOMEM, dom, "no memory for a channel's map");
    }
    double own[RV_SURFACE_MAX_CHANNELS];
    for (int c = 0; c < n; c++) {
        double s;
        rc = rv_surface_model_score(m[c], view, cm, cm ? (size_t) view->width : 0, &s);
        if (rc)
            break;
        own[c] = rv_surface_model_surprise(m[c], s);
        if (each)
            each[c] = own[c];
        if (!cm)
            continue;
        /* the map: each channel's own against its threshold, the largest of them */
        double thr = m[c]->threshold > 0 ? m[c]->threshold : 1;
        for (int y = 0; y < view->height; y++) {
            const float *src = cm + (size_t) y * view->width;
            float *dst = map + (size_t) y * map_stride;
            for (int x = 0; x < view->width; x++) {
                float v = (float) (src[x] / thr);
                dst[x] = c == 0 || v > dst[x] ? v : dst[x];
            }
        }
    }
    free(cm);
    if (rc)
        return rc;
    if (score)
        *score = rv_surface_channels_combine(own, n, floor);
    return RV_OK;
}

int rv_surface_channels_heldout(rv_surface_model_t *const *m, int n, double floor,
                                double *comb)
{
    int rc = s_channels_check(m, n, floor, "rv_surface_channels_heldout");
    if (rc)
        return rc;
    for (size_t i = 0; comb && i < m[0]->nheld; i++) {
        double own[RV_SURFACE_MAX_CHANNELS];
        for (int c = 0; c < n; c++)
            own[c] = rv_surface_model_surprise_own(m[c], m[c]->held[i]);
        comb[i] = rv_surface_channels_combine(own, n, floor);
    }
    return RV_OK;
}

int rv_surface_channels_threshold(rv_surface_model_t *const *m, int n, double floor,
                                  double *threshold)
{
    const char *dom = "rv_surface_channels_threshold";
    int rc = s_channels_check(m, n, floor, dom);
    if (rc)
        return rc;
    size_t k = m[0]->nheld;
    double *comb = malloc(k * sizeof *comb);
    float *asc = malloc(k * sizeof *asc);
    if (!comb || !asc) {
        free(comb);
        free(asc);
        return rv_fail(RV_ENOMEM, dom, "no memory");
    }
    rv_surface_channels_heldout(m, n, floor, comb);
    for (size_t i = 0; i < k; i++)
        asc[i] = (float) comb[i];
    qsort(asc, k, sizeof *asc, s_cmp_float);
    if (threshold) /* as a single model's threshold */
        *threshold = s_quantile_fa(asc, k, m[0]->p.fa);
    free(comb);
    free(asc);
    return RV_OK;
}

int rv_surface_model_folds(const rv_surface_model_t *self)
{
    return self ? self->folds_used : 0;
}

int rv_surface_map_to_gray(const float *map, size_t map_stride, double lo, double hi,
                           const rv_view_t *dst)
{
    if (!map || !dst || !dst->data || dst->fmt != RV_GRAY8)
        return rv_fail(RV_EINVAL, "rv_surface_map_to_gray", "need a map and a GRAY8 view");
    if (map_stride < (size_t) dst->width || !(hi > lo))
        return rv_fail(RV_EINVAL, "rv_surface_map_to_gray", "bad stride or range");
    double k = 255.0 / (hi - lo);
    for (int y = 0; y < dst->height; y++) {
        const float *s = map + (size_t) y * map_stride;
        uint8_t *d = rv_view_row(dst, y);
        for (int x = 0; x < dst->width; x++) {
            double v = (s[x] - lo) * k;
            d[x] = (uint8_t) (v <= 0 ? 0 : v >= 255 ? 255 : v + 0.5);
        }
    }
    return RV_OK;
}
