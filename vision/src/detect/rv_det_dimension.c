/* rv_det_dimension.c - a caliper: the distance between two edges along a segment.
 *
 * The blurred gray is sampled along the segment (x0, y0) -> (x1, y1) (px of the aligned
 * view) every pixel, bilinearly, averaged over 2 half_width + 1 parallel lines to beat the
 * noise. (Samples half a pixel apart, interpolated, alternate two difference operators,
 * and the parabola's vertex then sticks to the samples: a journal worn by 0.5 mm read as
 * 0.2 mm less.) The edges are a rising and a falling gradient extremum, in order (a bore:
 * bright -> dark -> bright; a web: dark -> bright -> dark), preferring, among comparable
 * peaks, those next to the darkest side (the silhouette, not a bevel's shading beside it;
 * s_pair); each is refined to a fraction of a sample by the vertex of the parabola through
 * the peak and its two neighbours. value_mm = distance * mm_per_px; the finding is named
 * "dim<id>" and carries the two edge points. A caliper whose edges are fainter than
 * min_edge (grey levels per pixel) reports nothing.
 *
 * An edge found on a real profile lies a fraction of a pixel from the true outline, and
 * always to the same side for a given feature and lighting (a turned face darkening into
 * its outline, the fixture's contact shadow beside it): as a gauge is zeroed on a setting
 * master, zero_mm is added to the reading. The inspector sets it from nominal_mm, the
 * feature's size on the family's master (ra_inspect.c); the detector itself only adds it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rv/rv_detect.h"
#include "rv/rv_error.h"
#include "rv_detect_util.h"

static const char *s_domain = "rv_detect_dimension";

typedef struct s_params {
    double x0, y0, x1, y1; /* the caliper, px of the reference view */
    double id;             /* the finding's name is "dim<id>" */
    double half_width;     /* px either side of the line averaged */
    double min_edge;       /* grey levels per px */
    double nominal_mm;     /* the feature's size on the master (0: not given) */
    double zero_mm;        /* added to the reading */
} s_params_t;

#define K(name, def, lo, hi, integer) {#name, offsetof(s_params_t, name), def, lo, hi, integer}
static const rv_det_key_t s_keys[] = {
    K(x0, 0, 0, 65535, 0), K(y0, 0, 0, 65535, 0),       K(x1, 0, 0, 65535, 0),
    K(y1, 0, 0, 65535, 0), K(id, 0, 0, 999999, 1),      K(half_width, 2, 0, 50, 1),
    K(min_edge, 4, 0, 255, 0),  K(nominal_mm, 0, 0, 1e6, 0), K(zero_mm, 0, -1e3, 1e3, 0),
};
#undef K

#define S_STEP 1.0 /* px between samples */

static int s_configure(void *params, const rv_param_t *kv, size_t n)
{
    return rv_det_configure(s_domain, s_keys, sizeof s_keys / sizeof s_keys[0], params, kv, n);
}

static double s_bilinear(const rv_view_t *v, double x, double y)
{
    if (x < 0)
        x = 0;
    if (y < 0)
        y = 0;
    if (x > v->width - 1)
        x = v->width - 1;
    if (y > v->height - 1)
        y = v->height - 1;
    int ix = (int) x, iy = (int) y;
    if (ix > v->width - 2)
        ix = v->width - 2 < 0 ? 0 : v->width - 2;
    if (iy > v->height - 2)
        iy = v->height - 2 < 0 ? 0 : v->height - 2;
    double fx = x - ix, fy = y - iy;
    const uint8_t *a = rv_view_row(v, iy) + ix;
    const uint8_t *b = v->height > 1 ? rv_view_row(v, iy + 1) + ix : a;
    int dx = v->width > 1;
    double top = a[0] + fx * (a[dx] - a[0]), bot = b[0] + fx * (b[dx] - b[0]);
    return top + fy * (bot - top);
}

/* Sub-sample position of the extremum at i: vertex of the parabola through i-1, i, i+1. */
static double s_vertex(const double *g, int i, int n)
{
    if (i <= 0 || i >= n - 1)
        return i;
    double den = g[i - 1] - 2 * g[i] + g[i + 1];
    if (den == 0)
        return i;
    double off = 0.5 * (g[i - 1] - g[i + 1]) / den;
    return i + (off > 0.5 ? 0.5 : off < -0.5 ? -0.5 : off);
}

/* The two edges: a rising and a falling gradient peak, each at least S_PEAK_FRAC as strong
 * as the strongest of its sign, in the order of the strongest two (a web, bright between:
 * rising then falling; a bore, dark between: falling then rising) and at least a quarter of
 * the caliper apart; of those pairs, the one whose dark sides are darkest (a bevel or a
 * shadow beside a hole makes a second, slightly weaker edge a few px away, but only the
 * silhouette borders the hole itself; the contact shadow beside a shaft slopes into it from
 * outside, in the wrong order to pair), and among equally dark ones the stronger. 0 with
 * *ip, *in set, or -1 when no pair qualifies. */
#define S_PEAK_FRAC 0.2 /* a silhouette in shadow can be a fifth of the bevel edge */
#define S_LOOK 2        /* samples to the dark side */
static int s_pair(const double *prof, const double *grad, int n, int best_pos, int best_neg,
                  int *ip, int *in)
{
    int web = best_pos < best_neg, minsep = n / 4, found = -1;
    double best_dark = 1e18, best_g = 0;
    for (int i = 1; i < n - 1; i++) {
        double gi = grad[i];
        if (gi < S_PEAK_FRAC * grad[best_pos] || gi < grad[i - 1] || gi < grad[i + 1])
            continue;
        for (int j = 1; j < n - 1; j++) {
            double gj = -grad[j];
            if (gj < S_PEAK_FRAC * -grad[best_neg] || gj < -grad[j - 1] || gj < -grad[j + 1])
                continue;
            if (web ? j - i < minsep : i - j < minsep)
                continue;
            /* rising edge: dark before it; falling edge: dark after it */
            int di = i - S_LOOK < 0 ? 0 : i - S_LOOK, dj = j + S_LOOK > n - 1 ? n - 1 : j + S_LOOK;
            double dark = prof[di] + prof[dj], g = fmin(gi, gj);
            if (dark < best_dark - 2.0 || (fabs(dark - best_dark) <= 2.0 && g > best_g)) {
                best_dark = dark;
                best_g = g;
                *ip = i;
                *in = j;
                found = 0;
            }
        }
    }
    return found;
}

static int s_run(const void *params, const rv_detect_ctx_t *ctx, const rv_view_t *zone_mask,
                 int zone, rv_findings_t *out)
{
    const s_params_t *p = params;
    int rc = rv_det_check(s_domain, ctx, zone_mask);
    if (rc < 0)
        return rc;
    double dx = p->x1 - p->x0, dy = p->y1 - p->y0, len = hypot(dx, dy);
    if (len < 4)
        return rv_fail(RV_EINVAL, s_domain, "caliper dim%d: segment (%g,%g)-(%g,%g) too short",
                       (int) p->id, p->x0, p->y0, p->x1, p->y1);
    int n = (int) (len / S_STEP) + 1;
    double *prof = malloc(2 * (size_t) n * sizeof *prof);
    if (!prof)
        return rv_fail(RV_ENOMEM, s_domain, "%d samples", n);
    double *grad = prof + n, ux = dx / len, uy = dy / len;
    int hw = (int) p->half_width;
    for (int i = 0; i < n; i++) {
        double s = 0, x = p->x0 + ux * i * S_STEP, y = p->y0 + uy * i * S_STEP;
        for (int k = -hw; k <= hw; k++)
            s += s_bilinear(ctx->blur, x - uy * k, y + ux * k);
        prof[i] = s / (2 * hw + 1);
    }
    /* central difference, grey levels per px */
    int ipos = -1, ineg = -1;
    for (int i = 0; i < n; i++) {
        grad[i] = i > 0 && i < n - 1 ? (prof[i + 1] - prof[i - 1]) / (2 * S_STEP) : 0;
        if (grad[i] > 0 && (ipos < 0 || grad[i] > grad[ipos]))
            ipos = i;
        if (grad[i] < 0 && (ineg < 0 || grad[i] < grad[ineg]))
            ineg = i;
    }
    if (ipos < 0 || ineg < 0 || grad[ipos] < p->min_edge || -grad[ineg] < p->min_edge) {
        free(prof);
        return RV_OK;
    }
    if (s_pair(prof, grad, n, ipos, ineg, &ipos, &ineg) != 0) {
        free(prof);
        return RV_OK;
    }
    double tp = s_vertex(grad, ipos, n) * S_STEP, tn = s_vertex(grad, ineg, n) * S_STEP;
    double weakest = fmin(grad[ipos], -grad[ineg]);
    free(prof);
    double ta = tp < tn ? tp : tn, tb = tp < tn ? tn : tp;
    rv_finding_t f;
    memset(&f, 0, sizeof f);
    f.type = RV_FINDING_DIMENSION;
    f.zone = zone;
    f.npoints = 2;
    f.points[0][0] = (float) (p->x0 + ux * ta);
    f.points[0][1] = (float) (p->y0 + uy * ta);
    f.points[1][0] = (float) (p->x0 + ux * tb);
    f.points[1][1] = (float) (p->y0 + uy * tb);
    double bx0 = fmin(f.points[0][0], f.points[1][0]), by0 = fmin(f.points[0][1], f.points[1][1]);
    f.bbox[0] = (int) floor(bx0);
    f.bbox[1] = (int) floor(by0);
    f.bbox[2] = (int) ceil(fmax(f.points[0][0], f.points[1][0])) - f.bbox[0] + 1;
    f.bbox[3] = (int) ceil(fmax(f.points[0][1], f.points[1][1])) - f.bbox[1] + 1;
    f.value_mm = (tb - ta) * ctx->mm_per_px + p->zero_mm;
    f.zero_mm = p->zero_mm;
    f.length_mm = f.value_mm;
    f.orientation_deg = fmod(atan2(dy, dx) * 180.0 / 3.14159265358979323846 + 180.0, 180.0);
    /* confident when both edges are well above the floor */
    f.score = fmin(1.0, weakest / (4 * (p->min_edge > 0 ? p->min_edge : 1)));
    snprintf(f.name, sizeof f.name, "dim%d", (int) p->id);
    return rv_findings_push(out, &f);
}

const rv_detector_class_t rv_det_dimension = {"dimension", sizeof(s_params_t), s_configure,
                                               s_run};
