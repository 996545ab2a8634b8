/* ra_twins.c - photographs of one object among a set of images (ra_twins.h). */
#include "ra/ra_twins.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rv/rv_error.h"
#include "rv/rv_filter.h"

#define DOMAIN "ra_twins"

typedef struct s_level {
    int w, h;
    float *px; /* band-passed, contrast-normalised, zero mean, unit variance */
} s_level_t;

struct ra_twins_sig {
    int w, h;          /* the image's own size */
    s_level_t lv[2];   /* [0]: 1/4, [1]: 1/8 */
};

void ra_twins_params_init(ra_twins_params_t *p)
{
    p->size_tol = 0.10;
    p->coarse_min = 0.25;
    p->twin_min = 0.50;
}

void ra_twins_sig_free(ra_twins_sig_t **sig)
{
    if (!sig || !*sig)
        return;
    free((*sig)->lv[0].px);
    free((*sig)->lv[1].px);
    free(*sig);
    *sig = NULL;
}

/* One level: box-average by f, log, band-pass, divide by local contrast, standardise. */
static int s_level(const rv_image_t *gray, int f, s_level_t *lv)
{
    rv_view_t v = rv_image_view(gray);
    int w = v.width / f, h = v.height / f;
    size_t n = (size_t) w * h;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c),
          *t = malloc(n * sizeof *t);
    if (!a || !b || !c || !t) {
        free(a), free(b), free(c), free(t);
        return rv_fail(RV_ENOMEM, DOMAIN, "signature %dx%d", w, h);
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned s = 0;
            for (int j = 0; j < f; j++) {
                const uint8_t *row = rv_view_row(&v, y * f + j) + x * f;
                for (int i = 0; i < f; i++)
                    s += row[i];
            }
            a[(size_t) y * w + x] = logf((float) s / (float) (f * f) + 4.0f);
        }
    rv_gauss_f32(a, b, t, w, h, 0.4);
    rv_gauss_f32(a, c, t, w, h, 1.5);
    for (size_t i = 0; i < n; i++)
        a[i] = b[i] - c[i], b[i] = a[i] * a[i];
    rv_gauss_f32(b, c, t, w, h, 4.0);
    double m = 0, q = 0;
    for (size_t i = 0; i < n; i++) {
        a[i] /= sqrtf(c[i] + 1e-4f);
        m += a[i];
    }
    m /= (double) n;
    for (size_t i = 0; i < n; i++)
        q += (a[i] - m) * (a[i] - m);
    double sd = sqrt(q / (double) n) + 1e-6;
    for (size_t i = 0; i < n; i++)
        a[i] = (float) ((a[i] - m) / sd);
    free(b), free(c), free(t);
    lv->w = w, lv->h = h, lv->px = a;
    return RV_OK;
}

ra_twins_sig_t *ra_twins_sig(const rv_image_t *gray)
{
    if (!gray || rv_image_view(gray).fmt != RV_GRAY8) {
        rv_fail(RV_EINVAL, DOMAIN, "need a GRAY8 image");
        return NULL;
    }
    int w = rv_image_width(gray), h = rv_image_height(gray);
    if (w < 32 || h < 32) {
        rv_fail(RV_EINVAL, DOMAIN, "image %dx%d: too small to compare (32 px a side at least)",
                w, h);
        return NULL;
    }
    ra_twins_sig_t *s = calloc(1, sizeof *s);
    if (!s) {
        rv_fail(RV_ENOMEM, DOMAIN, "signature");
        return NULL;
    }
    s->w = w, s->h = h;
    if (s_level(gray, 4, &s->lv[0]) != RV_OK || s_level(gray, 8, &s->lv[1]) != RV_OK)
        ra_twins_sig_free(&s);
    return s;
}

/* The best normalised correlation of a's middle 76 % slid over b. */
static double s_ncc(const s_level_t *a, const s_level_t *b)
{
    int my = (int) (0.12 * a->h), mx = (int) (0.12 * a->w);
    int th = a->h - 2 * my, tw = a->w - 2 * mx;
    if (th < 2 || tw < 2 || b->h < th || b->w < tw)
        return -2;
    size_t tn = (size_t) th * tw;
    float *t = malloc(tn * sizeof *t);
    double *ii = calloc((size_t) (b->h + 1) * (b->w + 1) * 2, sizeof *ii);
    if (!t || !ii) {
        free(t), free(ii);
        return -2;
    }
    double m = 0, q = 0;
    for (int y = 0; y < th; y++)
        for (int x = 0; x < tw; x++)
            m += t[(size_t) y * tw + x] = a->px[(size_t) (y + my) * a->w + x + mx];
    m /= (double) tn;
    for (size_t i = 0; i < tn; i++)
        t[i] = (float) (t[i] - m), q += (double) t[i] * t[i];
    double tnorm = sqrt(q) + 1e-12;
    /* integral images of b and b^2 */
    int iw = b->w + 1;
    double *i1 = ii, *i2 = ii + (size_t) (b->h + 1) * iw;
    for (int y = 0; y < b->h; y++) {
        double r1 = 0, r2 = 0;
        for (int x = 0; x < b->w; x++) {
            double v = b->px[(size_t) y * b->w + x];
            r1 += v, r2 += v * v;
            i1[(size_t) (y + 1) * iw + x + 1] = i1[(size_t) y * iw + x + 1] + r1;
            i2[(size_t) (y + 1) * iw + x + 1] = i2[(size_t) y * iw + x + 1] + r2;
        }
    }
    double best = -1;
    for (int oy = 0; oy + th <= b->h; oy++)
        for (int ox = 0; ox + tw <= b->w; ox++) {
            /* eight partial sums, so that the compiler can keep them in one vector */
            float acc[8] = {0};
            for (int y = 0; y < th; y++) {
                const float *tr = t + (size_t) y * tw, *br = b->px + (size_t) (oy + y) * b->w + ox;
                int x = 0;
                for (; x + 8 <= tw; x += 8)
                    for (int k = 0; k < 8; k++)
                        acc[k] += tr[x + k] * br[x + k];
                for (; x < tw; x++)
                    acc[0] += tr[x] * br[x];
            }
            float c = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
            size_t y0 = (size_t) oy * iw, y1 = (size_t) (oy + th) * iw;
            double s1 = i1[y1 + ox + tw] - i1[y0 + ox + tw] - i1[y1 + ox] + i1[y0 + ox];
            double s2 = i2[y1 + ox + tw] - i2[y0 + ox + tw] - i2[y1 + ox] + i2[y0 + ox];
            double var = s2 - s1 * s1 / (double) tn;
            double r = var > 1e-9 ? c / (tnorm * sqrt(var)) : -1;
            best = r > best ? r : best;
        }
    free(t), free(ii);
    return best;
}

/* Sides that differ by at most size_tol of the larger. */
static int s_size_near(const ra_twins_sig_t *a, const ra_twins_sig_t *b, double size_tol)
{
    return abs(a->w - b->w) <= size_tol * fmax(a->w, b->w) &&
           abs(a->h - b->h) <= size_tol * fmax(a->h, b->h);
}

double ra_twins_score(const ra_twins_sig_t *a, const ra_twins_sig_t *b, int level,
                      double size_tol)
{
    if (!a || !b)
        return -2;
    if (!s_size_near(a, b, size_tol))
        return -2;
    const s_level_t *la = &a->lv[level == 8], *lb = &b->lv[level == 8];
    double ab = s_ncc(la, lb), ba = s_ncc(lb, la);
    return ab < ba ? ab : ba;
}

/* Whether both ways' correlation at level lv (0: 1/4, 1: 1/8) reach min (the second way
 * is not computed when the first falls short: most pairs are different objects). */
static int s_passes(const ra_twins_sig_t *a, const ra_twins_sig_t *b, int lv, double size_tol,
                    double min)
{
    if (!s_size_near(a, b, size_tol))
        return 0;
    return s_ncc(&a->lv[lv], &b->lv[lv]) >= min && s_ncc(&b->lv[lv], &a->lv[lv]) >= min;
}

static size_t s_root(size_t *par, size_t i)
{
    while (par[i] != i)
        i = par[i] = par[par[i]];
    return i;
}

int ra_twins_group(ra_twins_sig_t *const *sigs, size_t n, const ra_twins_params_t *p,
                   size_t *group)
{
    ra_twins_params_t d;
    if (!p) {
        ra_twins_params_init(&d);
        p = &d;
    }
    size_t *par = malloc((n ? n : 1) * sizeof *par);
    if (!par)
        return rv_fail(RV_ENOMEM, DOMAIN, "%zu images", n);
    for (size_t i = 0; i < n; i++)
        par[i] = i;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            if (!sigs[i] || !sigs[j] || s_root(par, i) == s_root(par, j))
                continue;
            if (!s_passes(sigs[i], sigs[j], 1, p->size_tol, p->coarse_min) ||
                !s_passes(sigs[i], sigs[j], 0, p->size_tol, p->twin_min))
                continue;
            size_t a = s_root(par, i), b = s_root(par, j);
            par[a > b ? a : b] = a < b ? a : b;
        }
    /* the root of a union is its smallest index: every group's first member */
    for (size_t i = 0; i < n; i++)
        group[i] = s_root(par, i);
    /* count images that share their group with another */
    int twins = 0;
    size_t *count = calloc(n ? n : 1, sizeof *count);
    if (!count) {
        free(par);
        return rv_fail(RV_ENOMEM, DOMAIN, "%zu images", n);
    }
    for (size_t i = 0; i < n; i++)
        count[group[i]]++;
    for (size_t i = 0; i < n; i++)
        twins += count[group[i]] > 1;
    free(count);
    free(par);
    return twins;
}
