/* rv_polar.c - round parts compared with themselves around their axis (rv_polar.h). */
#include "rv/rv_polar.h"
#include "rv/rv_align.h"
#include "rv/rv_error.h"
#include "rv/rv_filter.h"
#include "rv_sample.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rv_polar_model {
    rv_polar_params_t p;
    float *spread; /* per ring */
    double threshold;
    int folds;
    size_t ntrain;
};

void rv_polar_params_default(rv_polar_params_t *p)
{
    p->nr = 96;
    p->ntheta = 720;
    p->r_max = 1.03;
    p->r_min = 0.05;
    p->window = 21;
    p->smooth = 1;
    p->topk = 0;
    p->min_spread = 2.0;
    p->folds = 5;
    p->fa = 0.02;
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
    return RV_OK;
}

/* The part's outline as an ellipse: centre, semi-axes a >= b, angle of a. */
typedef struct {
    double cx, cy, a, b, phi;
} s_ellipse_t;

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

/* Unwrap the view around its fitted outline and take each sample's deviation from the
 * running median of its ring: dev[nr * ntheta] (NaN where the ring leaves the view). */
static int s_deviation(const rv_polar_params_t *p, const rv_view_t *gray, float *dev,
                       s_ellipse_t *e)
{
    int rc = s_outline(gray, e);
    if (rc != RV_OK)
        return rc;
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
    size_t cells = (size_t) p.nr * (size_t) p.ntheta;
    rv_polar_model_t *m = calloc(1, sizeof *m);
    float **dev = calloc(n, sizeof *dev), **spr = calloc(n, sizeof *spr);
    int *use = calloc(n, sizeof *use);
    double *held = calloc(n, sizeof *held);
    float *z = malloc(sizeof(float) * cells), *fs = malloc(sizeof(float) * (size_t) p.nr);
    if (!m || !dev || !spr || !use || !held || !z || !fs ||
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
            !(spr[i] = malloc(sizeof(float) * (size_t) p.nr)))
            goto fail;
        if (s_deviation(&p, &views[i], dev[i], &e) != RV_OK) {
            char msg[400];
            snprintf(msg, sizeof msg, "%s", rv_last_error());
            rv_fail(RV_EFORMAT, "rv_polar", "training image %zu: %s", i, msg);
            goto fail;
        }
        s_ring_spread(&p, dev[i], spr[i]);
        use[i] = 1;
    }
    s_learn(&p, spr, use, n, m->spread);
    /* k-fold: each good scored by the spreads learnt without its fold */
    int k = (int) n >= 2 * p.folds ? p.folds : 0;
    m->folds = k;
    for (size_t i = 0; i < n; i++) {
        if (k) {
            for (size_t q = 0; q < n; q++)
                use[q] = (int) (q % (size_t) k) != (int) (i % (size_t) k);
            s_learn(&p, spr, use, n, fs);
        } else {
            memcpy(fs, m->spread, sizeof(float) * (size_t) p.nr);
        }
        held[i] = s_zmap(&p, fs, dev[i], z);
    }
    qsort(held, n, sizeof *held, s_cmpd);
    size_t at = (size_t) ceil((1.0 - p.fa) * (double) n) - 1;
    m->threshold = held[at < n ? at : n - 1];
    goto done;
fail:
    rv_polar_model_destroy(&m);
done:
    if (dev)
        for (size_t i = 0; i < n; i++)
            free(dev[i]);
    if (spr)
        for (size_t i = 0; i < n; i++)
            free(spr[i]);
    free(dev);
    free(spr);
    free(use);
    free(held);
    free(z);
    free(fs);
    return m;
}

int rv_polar_model_score(const rv_polar_model_t *self, const rv_view_t *view, float *map,
                         size_t map_stride, double *score)
{
    if (!self || !view || view->fmt != RV_GRAY8 || (map && map_stride < (size_t) view->width))
        return rv_fail(RV_EINVAL, "rv_polar", "needs a model and a gray8 view");
    const rv_polar_params_t *p = &self->p;
    size_t cells = (size_t) p->nr * (size_t) p->ntheta;
    float *dev = malloc(sizeof(float) * cells), *z = malloc(sizeof(float) * cells);
    if (!dev || !z) {
        free(dev);
        free(z);
        return rv_fail(RV_ENOMEM, "rv_polar", "out of memory");
    }
    s_ellipse_t e;
    int rc = s_deviation(p, view, dev, &e);
    if (rc == RV_OK) {
        double s = s_zmap(p, self->spread, dev, z);
        if (score)
            *score = s;
        if (map) {
            double c = cos(e.phi), sn = sin(e.phi);
            for (int y = 0; y < view->height; y++) {
                float *row = map + (size_t) y * map_stride;
                for (int x = 0; x < view->width; x++) {
                    double dx = x - e.cx, dy = y - e.cy;
                    double u = (c * dx + sn * dy) / e.a, v = (-sn * dx + c * dy) / e.b;
                    double r = hypot(u, v) / p->r_max;
                    int i = (int) (r * p->nr);
                    if (i >= p->nr) {
                        row[x] = 0;
                        continue;
                    }
                    double t = atan2(v, u);
                    int j = (int) floor((t < 0 ? t + 2 * M_PI : t) / (2 * M_PI) * p->ntheta);
                    j = j >= p->ntheta ? p->ntheta - 1 : j;
                    row[x] = z[(size_t) i * (size_t) p->ntheta + (size_t) j];
                }
            }
        }
    }
    free(dev);
    free(z);
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

void rv_polar_model_export(const rv_polar_model_t *self, rv_polar_params_t *p,
                           const float **spread, double *threshold)
{
    *p = self->p;
    *spread = self->spread;
    *threshold = self->threshold;
}

rv_polar_model_t *rv_polar_model_import(const rv_polar_params_t *p, const float *spread,
                                        double threshold)
{
    if (!p || !spread || s_check(p) != RV_OK)
        return NULL;
    if (!isfinite(threshold) || threshold < 0) {
        rv_fail(RV_EFORMAT, "rv_polar", "threshold %g is not a finite value >= 0", threshold);
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
    return m;
}
