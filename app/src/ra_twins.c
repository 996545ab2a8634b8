/* ra_twins.c - photographs of one object among a set of images (ra_twins.h). */
#include "ra/ra_twins.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rv/rv_error.h"
#include "rv/rv_filter.h"
#include "rv/rv_polar.h"

#define DOMAIN "ra_twins"

typedef struct s_level {
    int w, h;
    float *px;    /* band-passed, contrast-normalised, zero mean, unit variance */
    int my, mx, th, tw; /* its middle 76 %: th x tw from (mx, my), the template it slides */
    float *t;     /* that middle less its mean */
    double tnorm; /* the template's norm */
    double *ii;   /* integral images of px and px^2, (w + 1) x (h + 1) each */
} s_level_t;

/* The round signature (ra_twins_sig_round, ra_twins.h): S_NR rings between S_R0 and S_R1 of
 * the part's outline ellipse x S_NT angles, kept as each ring's spectrum along the angle
 * (bins 0 .. S_NT / 2, re and im). The detail: log(grey + S_LOG_OFF) (the offset keeps the
 * dark cavity's sensor noise from ruling), its Gaussian of S_DETAIL px for a semi-axis of
 * 200 px, and the determinant of its Hessian; each ring less its box average along the
 * angle over S_HP samples (9 degrees; twice), over its local contrast (S_CN samples,
 * twice). Pairs are correlated at S_UP times the S_NT angles (the cross spectrum
 * zero-padded). S_ROUND_MIN: measured on the cast impeller set (ra_twins.h). */
#define S_NT 512
#define S_NR 48
#define S_NK (S_NT / 2 + 1)
#define S_UP 2
#define S_NI (S_NT * S_UP)
#define S_R0 0.15
#define S_R1 1.0
#define S_DETAIL 2.0
#define S_LOG_OFF 40.0f
#define S_HP 13
#define S_CN 65
#define S_ROUND_MIN 0.113

struct ra_twins_sig {
    int w, h;          /* the image's own size */
    s_level_t lv[2];   /* [0]: 1/4, [1]: 1/8 (shift signatures) */
    float *spec;       /* round signatures: S_NR x S_NK x (re, im); NULL for shift ones */
};

void ra_twins_params_init(ra_twins_params_t *p)
{
    p->size_tol = 0.10;
    p->coarse_min = 0.25;
    p->twin_min = 0.50;
    p->round_min = S_ROUND_MIN;
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
    free((*sig)->spec);
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

/* ---- round parts: the part unwrapped around its outline, every rotation and mirror ---- */

/* In-place radix-2 FFT of n (a power of 2, at most S_NI) complex values (re, im
 * interleaved); inv: the inverse, unscaled. */
static void s_fft(float *x, int n, int inv)
{
    float tw[S_NI];
    for (int k = 0; k < n / 2; k++) {
        double a = (inv ? 2 : -2) * M_PI * k / n;
        tw[2 * k] = (float) cos(a), tw[2 * k + 1] = (float) sin(a);
    }
    for (int i = 1, j = 0; i < n; i++) {
        int bit = n >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j ^= bit;
        if (i < j) {
            float t0 = x[2 * i], t1 = x[2 * i + 1];
            x[2 * i] = x[2 * j], x[2 * i + 1] = x[2 * j + 1];
            x[2 * j] = t0, x[2 * j + 1] = t1;
        }
    }
    for (int len = 2; len <= n; len <<= 1) {
        int step = n / len;
        for (int i = 0; i < n; i += len)
            for (int k = 0; k < len / 2; k++) {
                float wr = tw[2 * k * step], wi = tw[2 * k * step + 1];
                float *u = x + 2 * (i + k), *v = x + 2 * (i + k + len / 2);
                float vr = v[0] * wr - v[1] * wi, vi = v[0] * wi + v[1] * wr;
                v[0] = u[0] - vr, v[1] = u[1] - vi;
                u[0] += vr, u[1] += vi;
            }
    }
}

/* A circular box average of width k (odd) along a ring of S_NT: x into y (not the same). */
static void s_ring_box(const float *x, float *y, int k)
{
    int h = k / 2;
    double a = 0;
    for (int i = -h; i <= h; i++)
        a += x[(i + S_NT) & (S_NT - 1)];
    for (int j = 0; j < S_NT; j++) {
        y[j] = (float) (a / k);
        a += x[(j + h + 1) & (S_NT - 1)] - x[(j - h + S_NT) & (S_NT - 1)];
    }
}

/* Bilinear in a w x h float plane; NaN outside it. */
static float s_bilin(const float *f, int w, int h, double x, double y)
{
    if (!(x >= 0 && y >= 0 && x <= w - 1 && y <= h - 1))
        return NAN;
    int x0 = (int) x, y0 = (int) y;
    int x1 = x0 + (x0 < w - 1), y1 = y0 + (y0 < h - 1);
    float fx = (float) (x - x0), fy = (float) (y - y0);
    const float *r0 = f + (size_t) y0 * w, *r1 = f + (size_t) y1 * w;
    return (1 - fy) * ((1 - fx) * r0[x0] + fx * r0[x1]) + fy * ((1 - fx) * r1[x0] + fx * r1[x1]);
}

/* The determinant of the Hessian of the w x h plane f into d (3 x 3 differences, borders
 * replicated): specks, pits and marks light up; edges, rings and slow shading do not. */
static void s_det_hessian(const float *f, float *d, int w, int h)
{
    for (int y = 0; y < h; y++) {
        const float *r = f + (size_t) y * w, *ru = f + (size_t) (y ? y - 1 : y) * w,
                    *rd = f + (size_t) (y < h - 1 ? y + 1 : y) * w;
        for (int x = 0; x < w; x++) {
            int xm = x ? x - 1 : x, xp = x < w - 1 ? x + 1 : x;
            float lxx = r[xp] - 2 * r[x] + r[xm], lyy = rd[x] - 2 * r[x] + ru[x];
            float lxy = 0.25f * (rd[xp] - rd[xm] - ru[xp] + ru[xm]);
            d[(size_t) y * w + x] = lxx * lyy - lxy * lxy;
        }
    }
}

ra_twins_sig_t *ra_twins_sig_round(const rv_image_t *gray)
{
    if (!gray || rv_image_view(gray).fmt != RV_GRAY8) {
        rv_fail(RV_EINVAL, DOMAIN, "need a GRAY8 image");
        return NULL;
    }
    rv_view_t v = rv_image_view(gray);
    int w = v.width, h = v.height;
    if (w < 32 || h < 32) {
        rv_fail(RV_EINVAL, DOMAIN, "image %dx%d: too small to compare (32 px a side at least)",
                w, h);
        return NULL;
    }
    rv_polar_ellipse_t e;
    if (rv_polar_outline(&v, NULL, &e) != RV_OK)
        return NULL; /* rv_last_error says why */
    size_t n = (size_t) w * h, pn = (size_t) S_NR * S_NT;
    ra_twins_sig_t *s = calloc(1, sizeof *s);
    float *img = malloc(n * sizeof *img), *tmp = malloc(n * sizeof *tmp);
    float *pol = malloc(2 * pn * sizeof *pol), *ring = malloc(3 * S_NT * sizeof *ring);
    uint8_t *ok = malloc(pn);
    if (s)
        s->spec = malloc((size_t) S_NR * S_NK * 2 * sizeof *s->spec);
    if (!s || !s->spec || !img || !tmp || !pol || !ring || !ok) {
        rv_fail(RV_ENOMEM, DOMAIN, "round signature %dx%d", w, h);
        ra_twins_sig_free(&s);
        goto out;
    }
    s->w = w, s->h = h;
    /* log brightness (an exposure becomes an offset), its Gaussian in proportion to the
     * part (S_DETAIL px for a semi-axis of 200 px) and the determinant of its Hessian */
    for (int y = 0; y < h; y++) {
        const uint8_t *row = rv_view_row(&v, y);
        for (int x = 0; x < w; x++)
            img[(size_t) y * w + x] = logf((float) row[x] + S_LOG_OFF);
    }
    rv_gauss_f32(img, img, tmp, w, h, S_DETAIL * e.a / 200.0);
    s_det_hessian(img, tmp, w, h);
    /* unwrapped: ring i, angle j, each ring less its box average along the angle (twice,
     * S_HP samples) over its local contrast (twice, S_CN samples); 0 outside the image */
    double c = cos(e.phi), sn = sin(e.phi);
    float *a1 = ring + S_NT, *a2 = ring + 2 * S_NT;
    for (int i = 0; i < S_NR; i++) {
        double r = S_R0 + (S_R1 - S_R0) * (i + 0.5) / S_NR;
        uint8_t *o = ok + (size_t) i * S_NT;
        for (int j = 0; j < S_NT; j++) {
            double t = 2 * M_PI * j / S_NT, u = e.a * r * cos(t), q = e.b * r * sin(t);
            ring[j] = s_bilin(tmp, w, h, e.cx + c * u - sn * q, e.cy + sn * u + c * q);
            o[j] = !isnan(ring[j]);
            if (!o[j])
                ring[j] = 0;
        }
        s_ring_box(ring, a1, S_HP);
        s_ring_box(a1, a2, S_HP);
        for (int j = 0; j < S_NT; j++)
            ring[j] -= a2[j], a2[j] = ring[j] * ring[j];
        s_ring_box(a2, a1, S_CN);
        s_ring_box(a1, a2, S_CN);
        for (int j = 0; j < S_NT; j++)
            pol[(size_t) i * S_NT + j] = o[j] ? ring[j] / sqrtf(a2[j] + 1e-12f) : 0;
    }
    /* 1 2 1 across the rings, zero mean and unit norm overall, each ring's spectrum */
    double m = 0, q = 0;
    for (size_t k = 0; k < pn; k++)
        m += pol[k];
    m /= (double) pn;
    for (int i = 0; i < S_NR; i++)
        for (int j = 0; j < S_NT; j++) {
            float p0 = pol[(size_t) (i ? i - 1 : i) * S_NT + j], p1 = pol[(size_t) i * S_NT + j],
                  p2 = pol[(size_t) (i < S_NR - 1 ? i + 1 : i) * S_NT + j];
            float val = (float) (0.25 * (p0 + 2 * p1 + p2) - m);
            pol[pn + (size_t) i * S_NT + j] = val;
            q += (double) val * val;
        }
    double inv = 1 / (sqrt(q) + 1e-12);
    for (int i = 0; i < S_NR; i++) {
        float x[2 * S_NT];
        for (int j = 0; j < S_NT; j++)
            x[2 * j] = (float) (pol[pn + (size_t) i * S_NT + j] * inv), x[2 * j + 1] = 0;
        s_fft(x, S_NT, 0);
        memcpy(s->spec + (size_t) i * S_NK * 2, x, (size_t) S_NK * 2 * sizeof *x);
    }
out:
    free(img), free(tmp), free(pol), free(ring), free(ok);
    return s;
}

/* The best normalised correlation of two round signatures over every circular shift of the
 * angle (interpolated S_UP times finer than the S_NT angles, by zero-padding the cross
 * spectrum), the second as it is and mirrored (theta -> -theta). */
static double s_round_score(const ra_twins_sig_t *a, const ra_twins_sig_t *b)
{
    float y[2][2 * S_NI];
    memset(y, 0, sizeof y);
    for (int k = 0; k < S_NK; k++) {
        double dr = 0, di = 0, mr = 0, mi = 0;
        for (int i = 0; i < S_NR; i++) {
            const float *p = a->spec + ((size_t) i * S_NK + k) * 2,
                        *q = b->spec + ((size_t) i * S_NK + k) * 2;
            /* conj(A) B: b as it is; conj(A) conj(B): b mirrored */
            dr += p[0] * q[0] + p[1] * q[1], di += p[0] * q[1] - p[1] * q[0];
            mr += p[0] * q[0] - p[1] * q[1], mi += -p[0] * q[1] - p[1] * q[0];
        }
        y[0][2 * k] = (float) dr, y[0][2 * k + 1] = (float) di;
        y[1][2 * k] = (float) mr, y[1][2 * k + 1] = (float) mi;
    }
    double best = -1;
    for (int m = 0; m < 2; m++) {
        /* a real correlation: the upper bins are the lower ones' conjugates, the Nyquist
         * bin is split between +S_NT / 2 and -S_NT / 2, and the bins between stay 0 (the
         * interpolation) */
        for (int k = 1; k < S_NK - 1; k++)
            y[m][2 * (S_NI - k)] = y[m][2 * k], y[m][2 * (S_NI - k) + 1] = -y[m][2 * k + 1];
        y[m][2 * (S_NK - 1)] *= 0.5f, y[m][2 * (S_NK - 1) + 1] = 0;
        y[m][2 * (S_NI - S_NK + 1)] = y[m][2 * (S_NK - 1)];
        s_fft(y[m], S_NI, 1);
        for (int j = 0; j < S_NI; j++)
            best = fmax(best, y[m][2 * j]);
    }
    return best / S_NT; /* each signature has unit norm; the inverse is unscaled */
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
    if (!a || !b || !a->spec != !b->spec)
        return -2;
    if (a->spec)
        return s_round_score(a, b);
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
            if (!sigs[i] || !sigs[j] || s_root(par, i) == s_root(par, j) ||
                !sigs[i]->spec != !sigs[j]->spec)
                continue;
            if (sigs[i]->spec && s_round_score(sigs[i], sigs[j]) < p->round_min)
                continue;
            if (!sigs[i]->spec && (!s_passes(sigs[i], sigs[j], 1, p->size_tol, p->coarse_min) ||
                !s_passes(sigs[i], sigs[j], 0, p->size_tol, p->twin_min)))
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
