/* rv_polar.c - round parts compared with themselves around their axis (rv_polar.h). */
#include "rv/rv_polar.h"
#include "rv/rv_align.h"
#include "rv/rv_error.h"
#include "rv/rv_filter.h"
#include "rv/rv_surface.h"
#include "rv_sample.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the outline profile: edges searched this far (px) either side of the refined ellipse */
#define S_PROFILE_BAND 4.0
/* ... and taken only where the grey changes across them by at least half the median change
 * around the outline (a face whose grey matches the fixture's leaves no edge to read) */
#define S_PROFILE_GATE 0.5
#define S_PROFILE_FLOOR 0.1 /* px: least spread of the outline profile */
#define S_REFINE_BAND 0.2   /* the refinement's edges: within a fifth of the silhouette's ellipse */

struct rv_polar_model {
    rv_polar_params_t p;
    float *spread;  /* per ring */
    double pspread; /* the outline profile's spread, px (0: no profile) */
    double threshold;
    int folds;
    size_t ntrain;
};

void rv_polar_params_default(rv_polar_params_t *p)
{
    p->nr = 96;
    p->ntheta = 720;
    p->r_max = 1.15;
    p->r_min = 0.05;
    p->window = 21;
    p->smooth = 1;
    p->topk = 0;
    p->min_spread = 2.0;
    p->folds = 5;
    p->fa = 0.02;
    p->refine = 1;
    p->profile_window = 121;
}

static int s_check(const rv_polar_params_t *p)
{
    const char *d = "rv_polar";
    if (p->nr < 16 || p->nr > 1024 || p->ntheta < 64 || p->ntheta > 4096)
        return rv_fail(RV_EINVAL, d, "nr %d (16..1024) or ntheta %d (64..4096) out of range",
                       p->nr, p->ntheta);
    if (!(p->r_max >= 0.5 && p->r_max <= 1.5) || !(p->r_min >= 0 && p->r_min < p->r_max))
        return rv_fail(RV_EINVAL, d, "r_min %g / r_max %g out of range", p->r_min, p->r_max);
    if (p->window < 3 || p->window % 2 == 0 || p->window > p->ntheta / 2)
        return rv_fail(RV_EINVAL, d, "window %d must be odd, 3..ntheta/2", p->window);
    if (p->smooth < 0 || p->smooth > 8 || p->topk < 0 || p->topk > 100000 ||
        !(p->min_spread > 0) || p->folds < 2 || p->folds > 20 || !(p->fa > 0 && p->fa <= 0.5))
        return rv_fail(RV_EINVAL, d, "smooth, topk, min_spread, folds or fa out of range");
    if (p->refine != 0 && p->refine != 1)
        return rv_fail(RV_EINVAL, d, "refine %d must be 0 or 1", p->refine);
    if (p->profile_window != 0 &&
        (p->profile_window < 3 || p->profile_window % 2 == 0 || p->profile_window > p->ntheta / 2))
        return rv_fail(RV_EINVAL, d, "profile_window %d must be 0 (off) or odd, 3..ntheta/2",
                       p->profile_window);
    if (p->profile_window && !p->refine)
        return rv_fail(RV_EINVAL, d,
                       "profile_window %d needs refine 1 (the profile is read around the "
                       "refined outline)",
                       p->profile_window);
    return RV_OK;
}

/* The part's outline as an ellipse: centre, semi-axes a >= b, angle of a (rv_polar.h). */
typedef rv_polar_ellipse_t s_ellipse_t;

static int s_outline(const rv_view_t *gray, s_ellipse_t *e)
{
    rv_image_t *mask = rv_image_new(gray->width, gray->height, RV_GRAY8);
    if (!mask)
        return RV_ENOMEM;
    rv_view_t mv = rv_image_view(mask);
    rv_align_params_t ap;
    rv_align_params_init(&ap);
    ap.solid = 1;
    int rc = rv_align_silhouette_p(gray, &mv, &ap);
    if (rc != RV_OK) {
        rv_image_destroy(&mask);
        return rc;
    }
    double n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    for (int y = 0; y < mv.height; y++) {
        const uint8_t *r = rv_view_row(&mv, y);
        for (int x = 0; x < mv.width; x++)
            if (r[x]) {
                n++;
                sx += x;
                sy += y;
                sxx += (double) x * x;
                syy += (double) y * y;
                sxy += (double) x * y;
            }
    }
    rv_image_destroy(&mask);
    if (n < 64)
        return rv_fail(RV_EFORMAT, "rv_polar", "no part outline in the view");
    e->cx = sx / n;
    e->cy = sy / n;
    double vxx = sxx / n - e->cx * e->cx, vyy = syy / n - e->cy * e->cy,
           vxy = sxy / n - e->cx * e->cy;
    /* a filled ellipse of semi-axes a, b has variances a^2/4, b^2/4 along its axes */
    double tr = vxx + vyy, det = vxx * vyy - vxy * vxy, disc = sqrt(fmax(0, tr * tr / 4 - det));
    double l1 = tr / 2 + disc, l2 = tr / 2 - disc;
    if (!(l2 > 0))
        return rv_fail(RV_EFORMAT, "rv_polar", "the part outline is degenerate");
    e->a = 2 * sqrt(l1);
    e->b = 2 * sqrt(l2);
    e->phi = 0.5 * atan2(2 * vxy, vxx - vyy);
    return RV_OK;
}

static float s_bilinear(const rv_view_t *v, double x, double y)
{
    double val;
    return rv__bilinear(v, x, y, &val) ? (float) val : NAN;
}

static int s_cmpf(const void *a, const void *b)
{
    float x = *(const float *) a, y = *(const float *) b;
    return (x > y) - (x < y);
}

static int s_cmpd(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

/* The outline radius profile of one view, per angle of the unwrap (ntheta each): where the
 * outline's edge lies (r, relative to the ellipse), its running median over profile_window
 * angles (med), the deviation from it in px along the ray (dev; NaN where no edge was
 * read), and the ellipse's radius at that angle (rho, px). */
typedef struct {
    float *r, *med, *dev, *rho, *con;
} s_profile_t;

static void s_profile_free(s_profile_t *pr)
{
    free(pr->r);
    free(pr->med);
    free(pr->dev);
    free(pr->rho);
    free(pr->con);
    memset(pr, 0, sizeof *pr);
}

static int s_profile_alloc(s_profile_t *pr, int nt)
{
    size_t b = sizeof(float) * (size_t) nt;
    pr->r = malloc(b);
    pr->med = malloc(b);
    pr->dev = malloc(b);
    pr->rho = malloc(b);
    pr->con = malloc(b);
    if (pr->r && pr->med && pr->dev && pr->rho && pr->con)
        return RV_OK;
    s_profile_free(pr);
    return rv_fail(RV_ENOMEM, "rv_polar", "out of memory");
}

/* Running median of x[nt] (circular, NaN skipped) over w samples into med; win holds w. */
static void s_running_median(const float *x, int nt, int w, float *med, float *win)
{
    int h = w / 2;
    for (int j = 0; j < nt; j++) {
        int k = 0;
        for (int q = -h; q <= h; q++) {
            float v = x[((j + q) % nt + nt) % nt];
            if (!isnan(v))
                win[k++] = v;
        }
        if (k < h) {
            med[j] = NAN;
            continue;
        }
        qsort(win, (size_t) k, sizeof *win, s_cmpf);
        med[j] = k % 2 ? win[k / 2] : 0.5f * (win[k / 2 - 1] + win[k / 2]);
    }
}

/* The outline's edge along each ray of the unwrap, from the grey levels, searched within
 * band of the ellipse either side (band > 0: relative; < 0: -band px): the grey read every
 * half pixel from 3.5 px beyond the band's ends, its change over 2 px either side, the
 * strongest change within the band (at the band's end when the edge lies beyond it), and
 * there the sub-pixel place where the grey crosses halfway between its levels 1.5 to 3 px
 * inside and outside. NaN where the ray leaves the view before the band; with gate > 0,
 * also where the change across the edge is below gate x its median around the outline.
 * Then the running median (profile_window, else window) and the deviation from it. */
static void s_edges(const rv_polar_params_t *p, const rv_view_t *gray, const s_ellipse_t *e,
                    double band, double gate, s_profile_t *pr, float *win)
{
    enum { MAXS = 4096, M = 7 };
    int nt = p->ntheta;
    double c = cos(e->phi), s = sin(e->phi);
    float g[MAXS], win2[MAXS];
    for (int j = 0; j < nt; j++) {
        pr->con[j] = 0;
        double t = 2 * M_PI * j / nt, ux = e->a * cos(t), vy = e->b * sin(t);
        double rho = hypot(ux, vy), bpx = band < 0 ? -band : band * rho;
        int h = (int) ceil(2 * bpx), ns = 2 * (h + M) + 1;
        pr->rho[j] = (float) rho;
        pr->r[j] = NAN;
        if (!(rho > 1) || ns > MAXS)
            continue;
        for (int k = 0; k < ns; k++) {
            double r = 1 + (k - h - M) * 0.5 / rho, val = 0;
            if (!rv__bilinear(gray, e->cx + c * ux * r - s * vy * r, e->cy + s * ux * r + c * vy * r,
                              &val)) {
                ns = k; /* the ray leaves the view: what was read before it */
                break;
            }
            g[k] = (float) val;
        }
        int lo = M, hi = M + 2 * h < ns - M ? M + 2 * h : ns - M - 1;
        if (hi < lo)
            continue;
        int kb = lo;
        double best = -1;
        for (int k = lo; k <= hi; k++) {
            double d = fabs((double) g[k + 4] - g[k - 4]);
            if (d > best) {
                best = d;
                kb = k;
            }
        }
        /* where the grey crosses halfway between its levels either side (1.5 .. 3 px off),
         * nearest the strongest change: sub-pixel, and as sharp for a hard step as for a
         * blurred one */
        double in = 0, out = 0, pos = kb;
        for (int q = 3; q <= 6; q++) {
            in += g[kb - q];
            out += g[kb + q];
        }
        double mid = (in + out) / 8, bestd = 1e9;
        for (int k = kb - 3; k < kb + 3; k++) {
            double a = g[k] - mid, b = g[k + 1] - mid;
            if ((a <= 0 && b > 0) || (a >= 0 && b < 0)) {
                double x = k + a / (a - b);
                if (fabs(x - kb) < bestd) {
                    bestd = fabs(x - kb);
                    pos = x;
                }
            }
        }
        pr->r[j] = (float) (1 + (pos - h - M) * 0.5 / rho);
        pr->con[j] = (float) (fabs(out - in) / 4);
    }
    if (gate > 0) {
        int k = 0;
        for (int j = 0; j < nt; j++)
            if (!isnan(pr->r[j]))
                win2[k++] = pr->con[j];
        if (k) {
            qsort(win2, (size_t) k, sizeof *win2, s_cmpf);
            double lim = gate * win2[k / 2];
            for (int j = 0; j < nt; j++)
                if (pr->con[j] < lim)
                    pr->r[j] = NAN;
        }
    }
    int w = p->profile_window > 0 ? p->profile_window : p->window;
    s_running_median(pr->r, nt, w, pr->med, win);
    for (int j = 0; j < nt; j++)
        pr->dev[j] = isnan(pr->r[j]) || isnan(pr->med[j]) ? NAN
                                                          : (pr->r[j] - pr->med[j]) * pr->rho[j];
}

/* Solve the n x n system a x = b in place (partial pivoting); 0 when singular. */
static int s_solve(int n, double a[5][5], double b[5])
{
    for (int c = 0; c < n; c++) {
        int piv = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(a[r][c]) > fabs(a[piv][c]))
                piv = r;
        if (!(fabs(a[piv][c]) > 1e-12))
            return 0;
        for (int k = 0; k < n; k++) {
            double t = a[c][k];
            a[c][k] = a[piv][k];
            a[piv][k] = t;
        }
        double t = b[c];
        b[c] = b[piv];
        b[piv] = t;
        for (int r = c + 1; r < n; r++) {
            double f = a[r][c] / a[c][c];
            for (int k = c; k < n; k++)
                a[r][k] -= f * a[c][k];
            b[r] -= f * b[c];
        }
    }
    for (int c = n - 1; c >= 0; c--) {
        for (int k = c + 1; k < n; k++)
            b[c] -= a[c][k] * b[k];
        b[c] /= a[c][c];
    }
    return 1;
}

/* An ellipse through the points whose use[] is set (least squares on the conic
 * A x^2 + B xy + C y^2 + D x + E y = 1, in coordinates centred and scaled); 0 when they do
 * not make one. */
static int s_fit_ellipse(const double *px, const double *py, const int *use, int n, s_ellipse_t *e)
{
    double mx = 0, my = 0, sc = 0;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (use[i]) {
            mx += px[i];
            my += py[i];
            k++;
        }
    if (k < 16)
        return 0;
    mx /= k;
    my /= k;
    for (int i = 0; i < n; i++)
        if (use[i])
            sc += hypot(px[i] - mx, py[i] - my);
    sc = sc / k;
    if (!(sc > 0))
        return 0;
    double a[5][5] = {{0}}, b[5] = {0};
    for (int i = 0; i < n; i++) {
        if (!use[i])
            continue;
        double x = (px[i] - mx) / sc, y = (py[i] - my) / sc;
        double f[5] = {x * x, x * y, y * y, x, y};
        for (int r = 0; r < 5; r++) {
            b[r] += f[r];
            for (int c = 0; c < 5; c++)
                a[r][c] += f[r] * f[c];
        }
    }
    if (!s_solve(5, a, b))
        return 0;
    double A = b[0], B = b[1], C = b[2], D = b[3], E = b[4];
    double det = 4 * A * C - B * B;
    if (!(det > 0))
        return 0;
    double x0 = (B * E - 2 * C * D) / det, y0 = (B * D - 2 * A * E) / det;
    double g = 1 - (A * x0 * x0 + B * x0 * y0 + C * y0 * y0 + D * x0 + E * y0);
    /* A u^2 + B uv + C v^2 = g about the centre */
    double tr = A + C, disc = sqrt(fmax(0, (A - C) * (A - C) / 4 + B * B / 4));
    double l1 = tr / 2 - disc, l2 = tr / 2 + disc; /* l1 <= l2: the long axis is l1's */
    if (!(g > 0 && l1 > 0))
        return 0;
    e->cx = mx + sc * x0;
    e->cy = my + sc * y0;
    e->a = sc * sqrt(g / l1);
    e->b = sc * sqrt(g / l2);
    /* the eigenvector of l1: (B/2, l1 - A) or (l1 - C, B/2) */
    double vx = B / 2, vy = l1 - A;
    if (fabs(vx) + fabs(vy) < 1e-12) {
        vx = l1 - C;
        vy = B / 2;
    }
    if (fabs(vx) + fabs(vy) < 1e-12) {
        vx = 1;
        vy = 0;
    }
    e->phi = atan2(vy, vx);
    return 1;
}

/* The ellipse refined on the outline's grey edge: the edge along each ray within a fifth of
 * the silhouette's ellipse (s_edges), an ellipse fitted to those points, the points further
 * than max(2 px, 3 robust spreads) from it dropped and the fit made again (three rounds);
 * the silhouette's ellipse is kept when a fit fails or would move it by a fifth or more.
 * (The solid silhouette takes in the fixture's shadow and loses a face whose grey matches
 * the fixture's: its ellipse can be 10 % too large and 30 px off centre.) */
static void s_refine(const rv_polar_params_t *p, const rv_view_t *gray, s_ellipse_t *e)
{
    int nt = p->ntheta;
    s_profile_t pr;
    if (s_profile_alloc(&pr, nt) != RV_OK)
        return;
    double *px = malloc(sizeof(double) * (size_t) nt * 3);
    int *use = malloc(sizeof(int) * (size_t) nt);
    int w = p->profile_window > 0 ? p->profile_window : p->window;
    float *win = malloc(sizeof(float) * (size_t) w);
    if (!px || !use || !win)
        goto out;
    double *py = px + nt, *res = py + nt;
    s_edges(p, gray, e, S_REFINE_BAND, 0, &pr, win);
    double c = cos(e->phi), s = sin(e->phi);
    for (int j = 0; j < nt; j++) {
        double t = 2 * M_PI * j / nt, ux = e->a * pr.r[j] * cos(t), vy = e->b * pr.r[j] * sin(t);
        use[j] = !isnan(pr.r[j]);
        px[j] = e->cx + c * ux - s * vy;
        py[j] = e->cy + s * ux + c * vy;
    }
    s_ellipse_t f = *e;
    for (int round = 0; round < 3; round++) {
        s_ellipse_t g;
        if (!s_fit_ellipse(px, py, use, nt, &g))
            goto out;
        f = g;
        double fc = cos(f.phi), fs = sin(f.phi);
        int k = 0;
        for (int j = 0; j < nt; j++) {
            double dx = px[j] - f.cx, dy = py[j] - f.cy;
            double u = (fc * dx + fs * dy) / f.a, v = (-fs * dx + fc * dy) / f.b;
            double rr = hypot(u, v);
            res[j] = fabs(rr - 1) * hypot(dx, dy) / fmax(rr, 1e-9);
            if (!isnan(pr.r[j]))
                use[k++] = j; /* reuse as an index list for the median */
        }
        double *tmp = malloc(sizeof(double) * (size_t) (k ? k : 1));
        if (!tmp)
            goto out;
        for (int i = 0; i < k; i++)
            tmp[i] = res[use[i]];
        qsort(tmp, (size_t) k, sizeof *tmp, s_cmpd);
        double lim = fmax(2.0, 3 * 1.4826 * (k ? tmp[k / 2] : 0));
        free(tmp);
        for (int j = 0; j < nt; j++)
            use[j] = !isnan(pr.r[j]) && res[j] <= lim;
    }
    if (fabs(f.a - e->a) < 0.2 * e->a && fabs(f.b - e->b) < 0.2 * e->b &&
        hypot(f.cx - e->cx, f.cy - e->cy) < 0.2 * e->a)
        *e = f;
out:
    s_profile_free(&pr);
    free(px);
    free(use);
    free(win);
}

int rv_polar_outline(const rv_view_t *gray, const rv_polar_params_t *p, rv_polar_ellipse_t *e)
{
    rv_polar_params_t d;
    if (!p) {
        rv_polar_params_default(&d);
        p = &d;
    }
    if (!gray || !e || gray->fmt != RV_GRAY8)
        return rv_fail(RV_EINVAL, "rv_polar", "outline: need a GRAY8 view and an ellipse");
    int rc = s_check(p);
    if (rc != RV_OK)
        return rc;
    rc = s_outline(gray, e);
    if (rc == RV_OK && p->refine)
        s_refine(p, gray, e);
    return rc;
}

/* Unwrap the view around its fitted (and, with refine, refined) outline and take each
 * sample's deviation from the running median of its ring: dev[nr * ntheta] (NaN where the
 * ring leaves the view); with pr (profile_window > 0), the outline's radius profile too. */
static int s_deviation(const rv_polar_params_t *p, const rv_view_t *gray, float *dev,
                       s_ellipse_t *e, s_profile_t *pr)
{
    int rc = s_outline(gray, e);
    if (rc != RV_OK)
        return rc;
    if (p->refine)
        s_refine(p, gray, e);
    if (pr) {
        float *pw = malloc(sizeof(float) * (size_t) p->profile_window);
        if (!pw)
            return rv_fail(RV_ENOMEM, "rv_polar", "out of memory");
        s_edges(p, gray, e, -S_PROFILE_BAND, S_PROFILE_GATE, pr, pw);
        free(pw);
    }
    int nr = p->nr, nt = p->ntheta, h = p->window / 2;
    float *ring = malloc(sizeof(float) * (size_t) nt), *win = malloc(sizeof(float) * (size_t) p->window);
    if (!ring || !win) {
        free(ring);
        free(win);
        return rv_fail(RV_ENOMEM, "rv_polar", "out of memory");
    }
    double c = cos(e->phi), s = sin(e->phi);
    for (int i = 0; i < nr; i++) {
        double r = (i + 0.5) / nr * p->r_max;
        for (int j = 0; j < nt; j++) {
            double t = 2 * M_PI * j / nt, u = e->a * r * cos(t), v = e->b * r * sin(t);
            ring[j] = s_bilinear(gray, e->cx + c * u - s * v, e->cy + s * u + c * v);
        }
        for (int j = 0; j < nt; j++) {
            float *d = dev + (size_t) i * (size_t) nt + (size_t) j;
            if (isnan(ring[j])) {
                *d = NAN;
                continue;
            }
            int k = 0;
            for (int q = -h; q <= h; q++) {
                float x = ring[(j + q + nt) % nt];
                if (!isnan(x))
                    win[k++] = x;
            }
            if (k < h) {
                *d = NAN;
                continue;
            }
            qsort(win, (size_t) k, sizeof *win, s_cmpf);
            float med = k % 2 ? win[k / 2] : 0.5f * (win[k / 2 - 1] + win[k / 2]);
            *d = ring[j] - med;
        }
    }
    free(ring);
    free(win);
    return RV_OK;
}

/* The robust spread (1.4826 x median |dev|) of each ring of one image into out[nr]. */
static void s_ring_spread(const rv_polar_params_t *p, const float *dev, float *out)
{
    int nt = p->ntheta;
    float *tmp = malloc(sizeof(float) * (size_t) nt);
    for (int i = 0; i < p->nr; i++) {
        int k = 0;
        for (int j = 0; j < nt && tmp; j++) {
            float d = dev[(size_t) i * (size_t) nt + (size_t) j];
            if (!isnan(d))
                tmp[k++] = fabsf(d);
        }
        if (!tmp || k < nt / 4) {
            out[i] = NAN;
            continue;
        }
        qsort(tmp, (size_t) k, sizeof *tmp, s_cmpf);
        out[i] = 1.4826f * tmp[k / 2];
    }
    free(tmp);
}

/* The normalised, smoothed deviation z[nr * ntheta] and the image score. */
static double s_zmap(const rv_polar_params_t *p, const float *spread, const float *dev, float *z)
{
    int nr = p->nr, nt = p->ntheta, sm = p->smooth;
    float *raw = malloc(sizeof(float) * (size_t) nr * (size_t) nt);
    if (!raw)
        return NAN;
    for (int i = 0; i < nr; i++)
        for (int j = 0; j < nt; j++) {
            float d = dev[(size_t) i * (size_t) nt + (size_t) j];
            raw[(size_t) i * (size_t) nt + (size_t) j] = isnan(d) ? 0.0f : fabsf(d) / spread[i];
        }
    int ilo = (int) ceil(p->r_min / p->r_max * nr - 0.5);
    size_t nscore = 0;
    double best = 0;
    float *top = p->topk > 0 ? calloc((size_t) p->topk, sizeof(float)) : NULL;
    for (int i = 0; i < nr; i++)
        for (int j = 0; j < nt; j++) {
            double acc = 0;
            int cnt = 0;
            for (int di = -sm; di <= sm; di++) {
                int ii = i + di;
                if (ii < 0 || ii >= nr)
                    continue;
                for (int dj = -sm; dj <= sm; dj++) {
                    acc += raw[(size_t) ii * (size_t) nt + (size_t) ((j + dj + nt) % nt)];
                    cnt++;
                }
            }
            float v = (float) (acc / cnt);
            z[(size_t) i * (size_t) nt + (size_t) j] = i >= ilo ? v : 0.0f;
            if (i < ilo)
                continue;
            nscore++;
            if (v > best)
                best = v;
            if (top && v > top[p->topk - 1]) { /* keep the k largest, descending */
                int q = p->topk - 1;
                while (q > 0 && top[q - 1] < v) {
                    top[q] = top[q - 1];
                    q--;
                }
                top[q] = v;
            }
        }
    double score = best;
    if (top) {
        double s = 0;
        int k = (size_t) p->topk < nscore ? p->topk : (int) nscore;
        for (int q = 0; q < k; q++)
            s += top[q];
        score = k ? s / k : 0;
    }
    free(top);
    free(raw);
    return score;
}

/* Per-ring spread learnt from the deviations of the images whose use[i] is set. */
static void s_learn(const rv_polar_params_t *p, float *const *spreads, const int *use, size_t n,
                    float *out)
{
    float *col = malloc(sizeof(float) * (n ? n : 1));
    for (int i = 0; i < p->nr; i++) {
        size_t k = 0;
        for (size_t q = 0; q < n && col; q++)
            if (use[q] && !isnan(spreads[q][i]))
                col[k++] = spreads[q][i];
        float v = (float) p->min_spread;
        if (col && k) {
            qsort(col, k, sizeof *col, s_cmpf);
            v = col[k / 2];
        }
        out[i] = v > p->min_spread ? v : (float) p->min_spread;
    }
    free(col);
}

/* The robust spread (1.4826 x median |deviation|, px) of one view's outline profile; NaN
 * when fewer than a quarter of the angles found the edge. */
static double s_profile_spread(const rv_polar_params_t *p, const s_profile_t *pr)
{
    int nt = p->ntheta, k = 0;
    float *tmp = malloc(sizeof(float) * (size_t) nt);
    if (!tmp)
        return NAN;
    for (int j = 0; j < nt; j++)
        if (!isnan(pr->dev[j]))
            tmp[k++] = fabsf(pr->dev[j]);
    double v = NAN;
    if (k >= nt / 4) {
        qsort(tmp, (size_t) k, sizeof *tmp, s_cmpf);
        v = 1.4826 * tmp[k / 2];
    }
    free(tmp);
    return v;
}

/* The profile's spread learnt from the goods whose use[i] is set: the median of theirs,
 * at least S_PROFILE_FLOOR px. */
static double s_profile_learn(const double *spreads, const int *use, size_t n)
{
    double *col = malloc(sizeof(double) * (n ? n : 1));
    size_t k = 0;
    for (size_t q = 0; q < n && col; q++)
        if (use[q] && !isnan(spreads[q]))
            col[k++] = spreads[q];
    double v = S_PROFILE_FLOOR;
    if (col && k) {
        qsort(col, k, sizeof *col, s_cmpd);
        v = col[k / 2];
    }
    free(col);
    return v > S_PROFILE_FLOOR ? v : S_PROFILE_FLOOR;
}

/* The profile's normalised deviation zp[ntheta] (|dev| / spread, box-smoothed over the
 * model's smooth radius of angles) and its maximum, the profile's score. */
static double s_profile_z(const rv_polar_params_t *p, double pspread, const s_profile_t *pr,
                          float *zp)
{
    int nt = p->ntheta, sm = p->smooth;
    double best = 0;
    for (int j = 0; j < nt; j++) {
        double acc = 0;
        for (int dj = -sm; dj <= sm; dj++) {
            float d = pr->dev[((j + dj) % nt + nt) % nt];
            acc += isnan(d) ? 0.0 : fabs(d) / pspread;
        }
        zp[j] = (float) (acc / (2 * sm + 1));
        if (zp[j] > best)
            best = zp[j];
    }
    return best;
}

void rv_polar_model_destroy(rv_polar_model_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->spread);
    free(*self_p);
    *self_p = NULL;
}

rv_polar_model_t *rv_polar_model_train(const rv_view_t *views, size_t n,
                                       const rv_polar_params_t *params)
{
    return rv_polar_model_train_groups(views, n, NULL, params);
}

rv_polar_model_t *rv_polar_model_train_groups(const rv_view_t *views, size_t n,
                                              const int *group,
                                              const rv_polar_params_t *params)
{
    rv_polar_params_t p;
    if (params)
        p = *params;
    else
        rv_polar_params_default(&p);
    if (s_check(&p) != RV_OK)
        return NULL;
    if (!views || n < 3) {
        rv_fail(RV_EINVAL, "rv_polar", "needs at least 3 good images (got %zu)", n);
        return NULL;
    }
    int prof = p.profile_window > 0;
    size_t cells = (size_t) p.nr * (size_t) p.ntheta;
    rv_polar_model_t *m = calloc(1, sizeof *m);
    float **dev = calloc(n, sizeof *dev), **spr = calloc(n, sizeof *spr);
    s_profile_t *pro = calloc(n, sizeof *pro);
    double *pspr = calloc(n, sizeof *pspr);
    int *use = calloc(n, sizeof *use), *fold = calloc(n, sizeof *fold);
    double *held = calloc(n, sizeof *held);
    float *z = malloc(sizeof(float) * cells), *fs = malloc(sizeof(float) * (size_t) p.nr);
    float *zp = malloc(sizeof(float) * (size_t) p.ntheta);
    if (!m || !dev || !spr || !pro || !pspr || !use || !fold || !held || !z || !fs || !zp ||
        !(m->spread = malloc(sizeof(float) * (size_t) p.nr))) {
        rv_fail(RV_ENOMEM, "rv_polar", "out of memory");
        goto fail;
    }
    m->p = p;
    m->ntrain = n;
    for (size_t i = 0; i < n; i++) {
        s_ellipse_t e;
        if (views[i].fmt != RV_GRAY8) {
            rv_fail(RV_EINVAL, "rv_polar", "training image %zu is not gray8", i);
            goto fail;
        }
        if (!(dev[i] = malloc(sizeof(float) * cells)) ||
            !(spr[i] = malloc(sizeof(float) * (size_t) p.nr)) ||
            (prof && s_profile_alloc(&pro[i], p.ntheta) != RV_OK)) {
            rv_fail(RV_ENOMEM, "rv_polar", "out of memory");
            goto fail;
        }
        if (s_deviation(&p, &views[i], dev[i], &e, prof ? &pro[i] : NULL) != RV_OK) {
            char msg[400];
            snprintf(msg, sizeof msg, "%s", rv_last_error());
            rv_fail(RV_EFORMAT, "rv_polar", "training image %zu: %s", i, msg);
            goto fail;
        }
        s_ring_spread(&p, dev[i], spr[i]);
        pspr[i] = prof ? s_profile_spread(&p, &pro[i]) : NAN;
        use[i] = 1;
    }
    s_learn(&p, spr, use, n, m->spread);
    m->pspread = prof ? s_profile_learn(pspr, use, n) : 0;
    /* k-fold: each good scored by the spreads learnt without its fold */
    int k = (int) n >= 2 * p.folds ? rv_folds(group, n, p.folds, fold) : 0;
    if (k < 0)
        goto fail;
    m->folds = k;
    for (size_t i = 0; i < n; i++) {
        double ps = m->pspread;
        if (k) {
            for (size_t q = 0; q < n; q++)
                use[q] = fold[q] != fold[i];
            s_learn(&p, spr, use, n, fs);
            if (prof)
                ps = s_profile_learn(pspr, use, n);
        } else {
            memcpy(fs, m->spread, sizeof(float) * (size_t) p.nr);
        }
        held[i] = s_zmap(&p, fs, dev[i], z);
        if (prof)
            held[i] = fmax(held[i], s_profile_z(&p, ps, &pro[i], zp));
    }
    qsort(held, n, sizeof *held, s_cmpd);
    m->threshold = held[rv_fa_rank(n, p.fa) - 1];
    goto done;
fail:
    rv_polar_model_destroy(&m);
done:
    for (size_t i = 0; i < n; i++) {
        if (dev)
            free(dev[i]);
        if (spr)
            free(spr[i]);
        if (pro)
            s_profile_free(&pro[i]);
    }
    free(dev);
    free(spr);
    free(pro);
    free(pspr);
    free(use);
    free(fold);
    free(held);
    free(z);
    free(fs);
    free(zp);
    return m;
}

int rv_polar_model_score(const rv_polar_model_t *self, const rv_view_t *view, float *map,
                         size_t map_stride, double *score)
{
    if (!self || !view || view->fmt != RV_GRAY8 || (map && map_stride < (size_t) view->width))
        return rv_fail(RV_EINVAL, "rv_polar", "needs a model and a gray8 view");
    const rv_polar_params_t *p = &self->p;
    int prof = p->profile_window > 0;
    size_t cells = (size_t) p->nr * (size_t) p->ntheta;
    float *dev = malloc(sizeof(float) * cells), *z = malloc(sizeof(float) * cells);
    float *zp = prof ? malloc(sizeof(float) * (size_t) p->ntheta) : NULL;
    s_profile_t pr = {0};
    if (!dev || !z || (prof && (!zp || s_profile_alloc(&pr, p->ntheta) != RV_OK))) {
        free(dev);
        free(z);
        free(zp);
        return rv_fail(RV_ENOMEM, "rv_polar", "out of memory");
    }
    s_ellipse_t e;
    int rc = s_deviation(p, view, dev, &e, prof ? &pr : NULL);
    if (rc == RV_OK) {
        double s = s_zmap(p, self->spread, dev, z);
        double sp = prof ? s_profile_z(p, self->pspread, &pr, zp) : 0;
        if (score)
            *score = fmax(s, sp);
        if (map) {
            double c = cos(e.phi), sn = sin(e.phi);
            for (int y = 0; y < view->height; y++) {
                float *row = map + (size_t) y * map_stride;
                for (int x = 0; x < view->width; x++) {
                    double dx = x - e.cx, dy = y - e.cy;
                    double u = (c * dx + sn * dy) / e.a, v = (-sn * dx + c * dy) / e.b;
                    double rr = hypot(u, v);
                    int i = (int) (rr / p->r_max * p->nr);
                    double t = atan2(v, u);
                    int j = (int) floor((t < 0 ? t + 2 * M_PI : t) / (2 * M_PI) * p->ntheta);
                    j = j >= p->ntheta ? p->ntheta - 1 : j < 0 ? 0 : j;
                    float val = i < p->nr ? z[(size_t) i * (size_t) p->ntheta + (size_t) j] : 0.0f;
                    /* the profile's deviation on the band between the outline's running
                     * median and its edge (a burr's bump, a chip's bite), 2 px either side */
                    if (prof && zp[j] > val && !isnan(pr.r[j]) && !isnan(pr.med[j])) {
                        double m2 = 2.0 / pr.rho[j];
                        double lo = fmin(pr.r[j], pr.med[j]) - m2, hi = fmax(pr.r[j], pr.med[j]) + m2;
                        if (rr >= lo && rr <= hi)
                            val = zp[j];
                    }
                    row[x] = val;
                }
            }
        }
    }
    free(dev);
    free(z);
    free(zp);
    s_profile_free(&pr);
    return rc;
}

double rv_polar_model_threshold(const rv_polar_model_t *self)
{
    return self ? self->threshold : NAN;
}

int rv_polar_model_folds(const rv_polar_model_t *self)
{
    return self ? self->folds : 0;
}

double rv_polar_model_profile_spread(const rv_polar_model_t *self)
{
    return self ? self->pspread : NAN;
}

void rv_polar_model_export(const rv_polar_model_t *self, rv_polar_params_t *p,
                           const float **spread, double *threshold)
{
    *p = self->p;
    *spread = self->spread;
    *threshold = self->threshold;
}

/* A model from checked contents: pspread 0 with profile_window 0, else finite and > 0. */
static rv_polar_model_t *s_import(const rv_polar_params_t *p, const float *spread,
                                  double threshold, double pspread)
{
    if (!p || !spread || s_check(p) != RV_OK)
        return NULL;
    if (!isfinite(threshold) || threshold < 0) {
        rv_fail(RV_EFORMAT, "rv_polar", "threshold %g is not a finite value >= 0", threshold);
        return NULL;
    }
    if (p->profile_window > 0 ? !(isfinite(pspread) && pspread > 0) : pspread != 0) {
        rv_fail(RV_EFORMAT, "rv_polar",
                "outline profile spread %g does not fit profile_window %d (finite and > 0 "
                "when on, 0 when off)",
                pspread, p->profile_window);
        return NULL;
    }
    for (int i = 0; i < p->nr; i++)
        if (!isfinite(spread[i]) || !(spread[i] > 0)) {
            rv_fail(RV_EFORMAT, "rv_polar", "ring %d: spread %g is not finite and positive", i,
                    (double) spread[i]);
            return NULL;
        }
    rv_polar_model_t *m = calloc(1, sizeof *m);
    if (!m || !(m->spread = malloc(sizeof(float) * (size_t) p->nr))) {
        free(m);
        rv_fail(RV_ENOMEM, "rv_polar", "out of memory");
        return NULL;
    }
    m->p = *p;
    memcpy(m->spread, spread, sizeof(float) * (size_t) p->nr);
    m->threshold = threshold;
    m->pspread = pspread;
    return m;
}

rv_polar_model_t *rv_polar_model_import(const rv_polar_params_t *p, const float *spread,
                                        double threshold)
{
    if (!p)
        return NULL;
    rv_polar_params_t q = *p;
    q.refine = 0; /* version 1 contents: the silhouette's ellipse, the rings only */
    q.profile_window = 0;
    return s_import(&q, spread, threshold, 0);
}

/* ---- bytes (little-endian): "RVPOLAR\0", u32 version, u32 nr, u32 ntheta, window, smooth,
 * topk, folds, f64 r_min, r_max, min_spread, fa, threshold; version 2 then: u32 refine,
 * u32 profile_window, f64 profile spread; then nr f32 ring spreads. Version 1 (a rings-only
 * model on the silhouette's ellipse, as the station's files of 2026-12-04 hold it) has no
 * refine or profile fields. */
#define S_MAGIC "RVPOLAR"
#define S_V1_HEAD 76
#define S_V2_HEAD 92

static void s_put32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t) (v >> (8 * i));
}

static void s_put64(uint8_t *b, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t) (v >> (8 * i));
}

static uint32_t s_get32(const uint8_t *b)
{
    return (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24;
}

static double s_get64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t) b[i] << (8 * i);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

size_t rv_polar_model_packed_size(const rv_polar_model_t *self)
{
    return self ? S_V2_HEAD + 4 * (size_t) self->p.nr : 0;
}

int rv_polar_model_pack(const rv_polar_model_t *self, uint8_t *buf, size_t cap, size_t *len)
{
    size_t need = rv_polar_model_packed_size(self);
    if (!self || !buf || cap < need)
        return rv_fail(RV_EINVAL, "rv_polar", "pack: needs a model and %zu bytes", need);
    const rv_polar_params_t *p = &self->p;
    memcpy(buf, S_MAGIC, 8);
    s_put32(buf + 8, RV_POLAR_FORMAT);
    s_put32(buf + 12, (uint32_t) p->nr);
    uint32_t iv[5] = {(uint32_t) p->ntheta, (uint32_t) p->window, (uint32_t) p->smooth,
                      (uint32_t) p->topk, (uint32_t) p->folds};
    for (int i = 0; i < 5; i++)
        s_put32(buf + 16 + 4 * i, iv[i]);
    double dv[5] = {p->r_min, p->r_max, p->min_spread, p->fa, self->threshold};
    for (int i = 0; i < 5; i++)
        s_put64(buf + 36 + 8 * i, dv[i]);
    s_put32(buf + 76, (uint32_t) p->refine);
    s_put32(buf + 80, (uint32_t) p->profile_window);
    s_put64(buf + 84, self->pspread);
    for (int i = 0; i < p->nr; i++) {
        uint32_t u;
        memcpy(&u, &self->spread[i], 4);
        s_put32(buf + S_V2_HEAD + 4 * (size_t) i, u);
    }
    if (len)
        *len = need;
    return RV_OK;
}

rv_polar_model_t *rv_polar_model_unpack(const uint8_t *buf, size_t len)
{
    const char *d = "rv_polar";
    if (!buf || len < 16 || memcmp(buf, S_MAGIC, 8) != 0) {
        rv_fail(RV_EFORMAT, d, "not a packed round-part model (%zu bytes, no RVPOLAR mark)", len);
        return NULL;
    }
    uint32_t version = s_get32(buf + 8), nr = s_get32(buf + 12);
    if (version != 1 && version != 2) {
        rv_fail(RV_EFORMAT, d, "packed model version %u is not 1 or 2 (train it again)",
                version);
        return NULL;
    }
    if (nr < 16 || nr > 1024) {
        rv_fail(RV_EFORMAT, d, "packed model: %u rings (16..1024)", nr);
        return NULL;
    }
    size_t head = version == 1 ? S_V1_HEAD : S_V2_HEAD, need = head + 4 * (size_t) nr;
    if (len != need) {
        rv_fail(RV_EFORMAT, d, "packed model version %u: %zu bytes, expected %zu", version, len,
                need);
        return NULL;
    }
    rv_polar_params_t p;
    rv_polar_params_default(&p);
    p.nr = (int) nr;
    int *iv[5] = {&p.ntheta, &p.window, &p.smooth, &p.topk, &p.folds};
    for (int i = 0; i < 5; i++) {
        uint32_t u = s_get32(buf + 16 + 4 * i);
        *iv[i] = u > 1000000u ? -1 : (int) u; /* out of range either way: s_check refuses */
    }
    double *dv[4] = {&p.r_min, &p.r_max, &p.min_spread, &p.fa};
    for (int i = 0; i < 4; i++)
        *dv[i] = s_get64(buf + 36 + 8 * i);
    double threshold = s_get64(buf + 68), pspread = 0;
    p.refine = 0;
    p.profile_window = 0;
    if (version >= 2) {
        uint32_t rf = s_get32(buf + 76), w = s_get32(buf + 80);
        p.refine = rf > 1000000u ? -1 : (int) rf;
        p.profile_window = w > 1000000u ? -1 : (int) w;
        pspread = s_get64(buf + 84);
    }
    float *spread = malloc(sizeof(float) * nr);
    if (!spread) {
        rv_fail(RV_ENOMEM, d, "out of memory");
        return NULL;
    }
    for (uint32_t i = 0; i < nr; i++) {
        uint32_t u = s_get32(buf + head + 4 * (size_t) i);
        memcpy(&spread[i], &u, 4);
    }
    rv_polar_model_t *m = s_import(&p, spread, threshold, pspread);
    free(spread);
    return m;
}
