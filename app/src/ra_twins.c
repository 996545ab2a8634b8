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
    float *px;    /* band-passed, contrast-normalised, zero mean, unit variance */
    int my, mx, th, tw; /* its middle 76 %: th x tw from (mx, my), the template it slides */
    float *t;     /* that middle less its mean */
    double tnorm; /* the template's norm */
    double *ii;   /* integral images of px and px^2, (w + 1) x (h + 1) each */
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
    for (int k = 0; k < 2; k++) {
        free((*sig)->lv[k].px);
        free((*sig)->lv[k].t);
        free((*sig)->lv[k].ii);
    }
    free(*sig);
    *sig = NULL;
}

/* What every comparison reads of a level, computed once: the template (its middle 76 %
 * less its mean, and its norm) and the integral images of the level and its square. */
static int s_prepare(s_level_t *lv)
{
    lv->my = (int) (0.12 * lv->h), lv->mx = (int) (0.12 * lv->w);
    lv->th = lv->h - 2 * lv->my, lv->tw = lv->w - 2 * lv->mx;
    size_t tn = (size_t) lv->th * lv->tw;
    int iw = lv->w + 1;
    lv->t = malloc((tn ? tn : 1) * sizeof *lv->t);
    lv->ii = calloc((size_t) (lv->h + 1) * iw * 2, sizeof *lv->ii);
    if (!lv->t || !lv->ii)
        return rv_fail(RV_ENOMEM, DOMAIN, "signature %dx%d", lv->w, lv->h);
    double m = 0, q = 0;
    for (int y = 0; y < lv->th; y++)
        for (int x = 0; x < lv->tw; x++)
            m += lv->t[(size_t) y * lv->tw + x] = lv->px[(size_t) (y + lv->my) * lv->w + x + lv->mx];
    m /= (double) (tn ? tn : 1);
    for (size_t i = 0; i < tn; i++)
        lv->t[i] = (float) (lv->t[i] - m), q += (double) lv->t[i] * lv->t[i];
    lv->tnorm = sqrt(q) + 1e-12;
    double *i1 = lv->ii, *i2 = lv->ii + (size_t) (lv->h + 1) * iw;
    for (int y = 0; y < lv->h; y++) {
        double r1 = 0, r2 = 0;
        for (int x = 0; x < lv->w; x++) {
            double v = lv->px[(size_t) y * lv->w + x];
            r1 += v, r2 += v * v;
            i1[(size_t) (y + 1) * iw + x + 1] = i1[(size_t) y * iw + x + 1] + r1;
            i2[(size_t) (y + 1) * iw + x + 1] = i2[(size_t) y * iw + x + 1] + r2;
        }
    }
    return RV_OK;
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
    return s_prepare(lv);
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
    int th = a->th, tw = a->tw;
    if (th < 2 || tw < 2 || b->h < th || b->w < tw)
        return -2;
    size_t tn = (size_t) th * tw;
    const float *t = a->t;
    double tnorm = a->tnorm;
    int iw = b->w + 1;
    const double *i1 = b->ii, *i2 = b->ii + (size_t) (b->h + 1) * iw;
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
