/* rv_align_lk.c - inverse-compositional Lucas-Kanade on soft silhouettes (rv_align_lk.h). */
#include "rv_align_lk.h"
#include "rv_kernels.h"
#include "rv_sample.h"
#include "rv/rv_error.h"
#include "rv/rv_filter.h"
#include "cv/rv_cv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S_MAXP 6

struct rv_lk_template {
    int width, height, np; /* np: 3 (rotation, translation) or 6 (affine) */
    double cx, cy;         /* the centre the parameters turn about */
    size_t n;              /* band pixels */
    float *ux, *uy;        /* their centred coordinates */
    float *t;              /* template value */
    float *sd;             /* steepest-descent images, np per pixel */
    double hinv[S_MAXP][S_MAXP];
    float *full;           /* the smoothed template, every pixel (for the score) */
    double full_mean, full_ss; /* its mean and sum of squared deviations */
};

void rv_lk_template_destroy(rv_lk_template_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rv_lk_template_t *s = *self_p;
    free(s->ux);
    free(s->uy);
    free(s->t);
    free(s->sd);
    free(s->full);
    free(s);
    *self_p = NULL;
}

size_t rv_lk_template_pixels(const rv_lk_template_t *self)
{
    return self ? self->n : 0;
}

/* Invert the symmetric positive definite n x n matrix a (Gauss-Jordan with partial
 * pivoting); 0 when singular. */
static int s_invert(double a[S_MAXP][S_MAXP], int n, double out[S_MAXP][S_MAXP])
{
    double m[S_MAXP][2 * S_MAXP];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < 2 * n; j++)
            m[i][j] = j < n ? a[i][j] : (j - n == i);
    for (int c = 0; c < n; c++) {
        int piv = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(m[r][c]) > fabs(m[piv][c]))
                piv = r;
        if (fabs(m[piv][c]) < 1e-12)
            return 0;
        if (piv != c)
            for (int j = 0; j < 2 * n; j++) {
                double t = m[c][j];
                m[c][j] = m[piv][j];
                m[piv][j] = t;
            }
        double d = m[c][c];
        for (int j = 0; j < 2 * n; j++)
            m[c][j] /= d;
        for (int r = 0; r < n; r++)
            if (r != c) {
                double f = m[r][c];
                for (int j = 0; j < 2 * n; j++)
                    m[r][j] -= f * m[c][j];
            }
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            out[i][j] = m[i][j + n];
    return 1;
}

/* A Gaussian 5x5 of a GRAY8 view into a new image. */
static rv_image_t *s_smooth(const rv_view_t *v)
{
    rv_image_t *o = rv_image_new(v->width, v->height, RV_GRAY8);
    if (!o)
        return NULL;
    rv_view_t ov = rv_image_view(o);
    if (rv_gauss5(v, &ov) != RV_OK)
        rv_image_destroy(&o);
    return o;
}

rv_lk_template_t *rv_lk_template_new(const rv_view_t *tv, int affine)
{
    return rv_lk_template_new_masked(tv, NULL, affine, 1);
}

rv_lk_template_t *rv_lk_template_new_masked(const rv_view_t *tv, const rv_view_t *mask,
                                            int affine, int step)
{
    const char *domain = "rv_align";
    if (!tv || tv->fmt != RV_GRAY8 || tv->width < 8 || tv->height < 8) {
        rv_fail(RV_EINVAL, domain, "the registration template must be a gray8 view of 8x8 or more");
        return NULL;
    }
    if (step < 1)
        step = 1;
    if (mask && (mask->fmt != RV_GRAY8 || mask->width != tv->width ||
                 mask->height != tv->height)) {
        rv_fail(RV_EINVAL, domain, "the template's mask must be a gray8 view of its size");
        return NULL;
    }
    rv_lk_template_t *s = calloc(1, sizeof *s);
    rv_image_t *sm = s_smooth(tv);
    size_t npx = (size_t) tv->width * (size_t) tv->height;
    if (!s || !sm || !(s->full = malloc(sizeof(float) * npx)))
        goto nomem;
    s->width = tv->width;
    s->height = tv->height;
    s->np = affine ? 6 : 3;
    s->cx = (tv->width - 1) / 2.0;
    s->cy = (tv->height - 1) / 2.0;
    rv_view_t v = rv_image_view(sm);
    double sum = 0;
    for (int y = 0; y < v.height; y++) {
        const uint8_t *r = rv_view_row(&v, y);
        for (int x = 0; x < v.width; x++) {
            s->full[(size_t) y * (size_t) v.width + (size_t) x] = r[x];
            sum += r[x];
        }
    }
    s->full_mean = sum / (double) npx;
    double ss = 0;
    for (size_t i = 0; i < npx; i++)
        ss += (s->full[i] - s->full_mean) * (s->full[i] - s->full_mean);
    s->full_ss = ss;
    /* the band: pixels (off the border) with a gradient */
    size_t cap = 0;
    for (int y = 1; y < v.height - 1; y += step)
        for (int x = 1; x < v.width - 1; x += step) {
            const float *f = s->full + (size_t) y * (size_t) v.width + (size_t) x;
            cap += (f[1] != f[-1] || f[v.width] != f[-v.width]) &&
                   (!mask || rv_view_row(mask, y)[x]);
        }
    if (cap < 16) {
        rv_fail(RV_EFORMAT, domain, "the reference silhouette has no outline to register on");
        rv_image_destroy(&sm);
        rv_lk_template_destroy(&s);
        return NULL;
    }
    s->ux = malloc(sizeof(float) * cap);
    s->uy = malloc(sizeof(float) * cap);
    s->t = malloc(sizeof(float) * cap);
    s->sd = malloc(sizeof(float) * cap * (size_t) s->np);
    if (!s->ux || !s->uy || !s->t || !s->sd)
        goto nomem;
    double h[S_MAXP][S_MAXP] = {{0}};
    size_t n = 0;
    for (int y = 1; y < v.height - 1; y += step)
        for (int x = 1; x < v.width - 1; x += step) {
            const float *f = s->full + (size_t) y * (size_t) v.width + (size_t) x;
            double gx = (f[1] - f[-1]) / 2.0, gy = (f[v.width] - f[-v.width]) / 2.0;
            if ((gx == 0 && gy == 0) || (mask && !rv_view_row(mask, y)[x]))
                continue;
            double ux = x - s->cx, uy = y - s->cy;
            float *d = s->sd + n * (size_t) s->np;
            if (affine) {
                d[0] = (float) (gx * ux);
                d[1] = (float) (gy * ux);
                d[2] = (float) (gx * uy);
                d[3] = (float) (gy * uy);
                d[4] = (float) gx;
                d[5] = (float) gy;
            } else {
                d[0] = (float) (-gx * uy + gy * ux);
                d[1] = (float) gx;
                d[2] = (float) gy;
            }
            for (int i = 0; i < s->np; i++)
                for (int j = 0; j < s->np; j++)
                    h[i][j] += (double) d[i] * d[j];
            s->ux[n] = (float) ux;
            s->uy[n] = (float) uy;
            s->t[n] = f[0];
            n++;
        }
    s->n = n;
    if (!s_invert(h, s->np, s->hinv)) {
        rv_fail(RV_EFORMAT, domain, "the reference silhouette cannot fix the motion (singular)");
        rv_image_destroy(&sm);
        rv_lk_template_destroy(&s);
        return NULL;
    }
    rv_image_destroy(&sm);
    return s;
nomem:
    rv_fail(RV_ENOMEM, domain, "out of memory");
    rv_image_destroy(&sm);
    rv_lk_template_destroy(&s);
    return NULL;
}

/* The gradient of the error over the band, sum of sd_i (v(W(u_i)) - t_i), for the warp w
 * (x = w0 ux + w1 uy + w2 + cx, y = w3 ux + w4 uy + w5 + cy); returns the band pixels inside
 * the view. The band's values come from the bilinear_at kernel (vector code, the same
 * doubles as rv__bilinear) into vals (s->n of them); the sums run in the band's order.
 * Inlined once per parameter count (np a constant) so that the sums live in registers:
 * summed through an array in memory, each pixel's addition waited on the last one's store. */
static inline __attribute__((always_inline)) size_t
s_gradient(const rv_lk_template_t *s, const rv_view_t *v, const double w[6], double *vals,
           double g[S_MAXP], const int np)
{
    const double ww[8] = {w[0], w[1], w[2], w[3], w[4], w[5], s->cx, s->cy};
    rv__kernels()->f.bilinear_at(v->data, v->stride, v->width, v->height, s->ux, s->uy, ww,
                                 vals, s->n);
    double g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0;
    size_t used = 0;
    for (size_t i = 0; i < s->n; i++) {
        double val = vals[i];
        if (val != val) /* NaN: outside the view */
            continue;
        double e = val - s->t[i];
        const float *d = s->sd + i * (size_t) np;
        g0 += d[0] * e;
        g1 += d[1] * e;
        g2 += d[2] * e;
        if (np == 6) {
            g3 += d[3] * e;
            g4 += d[4] * e;
            g5 += d[5] * e;
        }
        used++;
    }
    g[0] = g0, g[1] = g1, g[2] = g2, g[3] = g3, g[4] = g4, g[5] = g5;
    return used;
}


/* The correlation of the template with the (smoothed) view v carried into the template's
 * frame through m (view px -> template px) over the whole frame, 0 where m reaches outside
 * the view. The carrying is the shim's bilinear warp: one pass of vector code instead of a
 * bilinear sample in doubles per pixel, which cost more than all the iterations together. */
static int s_score(const rv_lk_template_t *s, const rv_view_t *v, const double m[2][3],
                   double *score)
{
    rv_image_t *w = rv_image_new(s->width, s->height, RV_GRAY8);
    if (!w)
        return rv_fail(RV_ENOMEM, "rv_align", "out of memory");
    rv_view_t wv = rv_image_view(w);
    int rc = rv_cv_warp_affine(v, &wv, m, RV_CV_INTER_LINEAR);
    if (rc == RV_OK) {
        uint64_t sv = 0, svv = 0; /* integers: exact in any order */
        double stv = 0;
        for (int y = 0; y < s->height; y++) {
            const uint8_t *r = rv_view_row(&wv, y);
            const float *t = s->full + (size_t) y * (size_t) s->width;
            uint64_t rs = 0, rss = 0;
            double rt = 0;
            for (int x = 0; x < s->width; x++) {
                rs += r[x];
                rss += (uint32_t) r[x] * r[x];
                rt += (double) r[x] * t[x];
            }
            sv += rs;
            svv += rss;
            stv += rt - s->full_mean * (double) rs;
        }
        double cnt = (double) s->width * s->height, dsv = (double) sv;
        double vv = (double) svv - dsv * dsv / cnt;
        *score = vv > 0 && s->full_ss > 0 ? stv / sqrt(vv * s->full_ss) : 0;
    }
    rv_image_destroy(&w);
    return rc;
}

int rv_lk_register(const rv_lk_template_t *s, const rv_view_t *view, int max_iterations,
                   double eps_px, double m[2][3], double *score, int *iterations)
{
    if (!s || !view || view->fmt != RV_GRAY8 || view->width != s->width ||
        view->height != s->height)
        return rv_fail(RV_EINVAL, "rv_align",
                       "the view to register must be gray8 of the template's size");
    return rv_lk_register_from(s, view, NULL, max_iterations, eps_px, m, score, iterations);
}

int rv_lk_register_from(const rv_lk_template_t *s, const rv_view_t *view,
                        const double init[2][3], int max_iterations, double eps_px,
                        double m[2][3], double *score, int *iterations)
{
    const char *domain = "rv_align";
    if (!s || !view || view->fmt != RV_GRAY8 || view->width < 8 || view->height < 8)
        return rv_fail(RV_EINVAL, domain, "the view to register must be gray8, 8x8 or more");
    rv_image_t *sm = s_smooth(view);
    double *vals = malloc(sizeof *vals * (s->n ? s->n : 1)); /* the band's values */
    if (!sm || !vals) {
        rv_image_destroy(&sm);
        free(vals);
        return rv_fail(RV_ENOMEM, domain, "out of memory");
    }
    rv_view_t v = rv_image_view(sm);
    /* W: template (centred) -> view (centred), u_v = A u_t + b; from init (template px ->
     * view px, x_v = M x_t + t): A = M, b = M c + t - c */
    double a00 = 1, a01 = 0, a10 = 0, a11 = 1, b0 = 0, b1 = 0;
    if (init) {
        a00 = init[0][0], a01 = init[0][1], a10 = init[1][0], a11 = init[1][1];
        b0 = a00 * s->cx + a01 * s->cy + init[0][2] - s->cx;
        b1 = a10 * s->cx + a11 * s->cy + init[1][2] - s->cy;
    }
    double reach = hypot(s->cx, s->cy); /* how far a parameter change moves the far corner */
    int it = 0, rc = RV_OK;
    for (; it < max_iterations; it++) {
        double g[S_MAXP] = {0};
        double w[6] = {a00, a01, b0, a10, a11, b1};
        size_t used = s->np == 3 ? s_gradient(s, &v, w, vals, g, 3)
                                 : s_gradient(s, &v, w, vals, g, 6);
        if (used < s->n / 2) {
            rc = rv_fail(RV_EFORMAT, domain, "the silhouette left the view while registering");
            break;
        }
        double dp[S_MAXP] = {0};
        for (int k = 0; k < s->np; k++)
            for (int j = 0; j < s->np; j++)
                dp[k] += s->hinv[k][j] * g[j];
        /* the increment's warp D, inverted, composed first: W <- W o D^-1 */
        double d00, d01, d10, d11, e0, e1, step;
        if (s->np == 3) {
            double c = cos(dp[0]), sn = sin(dp[0]);
            d00 = c, d01 = -sn, d10 = sn, d11 = c, e0 = dp[1], e1 = dp[2];
            step = fabs(dp[0]) * reach + hypot(dp[1], dp[2]);
        } else {
            d00 = 1 + dp[0], d01 = dp[2], d10 = dp[1], d11 = 1 + dp[3], e0 = dp[4], e1 = dp[5];
            step = (fabs(dp[0]) + fabs(dp[1]) + fabs(dp[2]) + fabs(dp[3])) * reach +
                   hypot(dp[4], dp[5]);
        }
        double det = d00 * d11 - d01 * d10;
        if (!isfinite(det) || fabs(det) < 1e-9) {
            rc = rv_fail(RV_EFORMAT, domain, "the registration diverged");
            break;
        }
        double i00 = d11 / det, i01 = -d01 / det, i10 = -d10 / det, i11 = d00 / det;
        double j0 = -(i00 * e0 + i01 * e1), j1 = -(i10 * e0 + i11 * e1);
        double n00 = a00 * i00 + a01 * i10, n01 = a00 * i01 + a01 * i11;
        double n10 = a10 * i00 + a11 * i10, n11 = a10 * i01 + a11 * i11;
        double nb0 = a00 * j0 + a01 * j1 + b0, nb1 = a10 * j0 + a11 * j1 + b1;
        a00 = n00, a01 = n01, a10 = n10, a11 = n11, b0 = nb0, b1 = nb1;
        if (!isfinite(a00 + a01 + a10 + a11 + b0 + b1) ||
            fabs(a00 * a11 - a01 * a10) < 1e-3) {
            rc = rv_fail(RV_EFORMAT, domain, "the registration diverged");
            break;
        }
        if (step < eps_px) {
            it++;
            break;
        }
    }
    if (iterations)
        *iterations = it;
    if (rc == RV_OK) {
        /* view -> template, absolute pixels: the inverse of x_v = A (x_t - c) + b + c */
        double det = a00 * a11 - a01 * a10;
        double i00 = a11 / det, i01 = -a01 / det, i10 = -a10 / det, i11 = a00 / det;
        /* x_t = Ai (x_v - c - b) + c */
        double k0 = s->cx + b0, k1 = s->cy + b1;
        m[0][0] = i00, m[0][1] = i01, m[0][2] = s->cx - (i00 * k0 + i01 * k1);
        m[1][0] = i10, m[1][1] = i11, m[1][2] = s->cy - (i10 * k0 + i11 * k1);
    }
    if (rc == RV_OK && score)
        rc = s_score(s, &v, m, score);
    free(vals);
    rv_image_destroy(&sm);
    return rc;
}
