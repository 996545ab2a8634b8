/* rv_align_edges.c - the alignment's residual: a view's outline edges against the
 * reference's (rv_align_edges.h). */
#include "rv_align_edges.h"
#include "rv/rv_error.h"
#include "rv_sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_POINTS 720 /* outline points a reference keeps at most */
#define S_MIN_GRAD 4.0   /* grey levels per px: weaker is no edge */
#define S_EDGE_REACH 4.0 /* reference px either side of a point searched in a view */
#define S_STEP 0.5       /* px between samples across the outline */
#define S_MAX_SAMPLES 128

struct rv_edge_pts {
    int n;
    float *x, *y;   /* the edge, reference full px */
    float *nx, *ny; /* unit normal, out of the part */
    signed char *up; /* +1: grey rises outwards, -1: falls */
};

static void s_free(rv_edge_pts_t *s)
{
    if (!s)
        return;
    free(s->x);
    free(s->y);
    free(s->nx);
    free(s->ny);
    free(s->up);
    free(s);
}

void rv_edge_pts_destroy(rv_edge_pts_t **self_p)
{
    if (!self_p)
        return;
    s_free(*self_p);
    *self_p = NULL;
}

/* The derivative across the outline at (px, py) along (dx, dy) (one unit per px of t) with
 * tangent (tx, ty), for t in [-reach, reach] every S_STEP: averaged over three parallel
 * lines a unit apart, central differences over one px. 0 when a sample falls outside
 * v; else *n derivatives into d (d[i] at t = -reach + (i + 1) S_STEP). */
static int s_profile(const rv_view_t *v, double px, double py, double dx, double dy, double tx,
                     double ty, double reach, double *d, int *n)
{
    double p[S_MAX_SAMPLES + 2];
    int ns = (int) lround(2 * reach / S_STEP) + 1;
    if (ns > S_MAX_SAMPLES)
        return 0;
    for (int i = 0; i < ns; i++) {
        double t = -reach + i * S_STEP, acc = 0, val;
        for (int s = -1; s <= 1; s++) {
            if (!rv__bilinear(v, px + t * dx + s * tx, py + t * dy + s * ty, &val))
                return 0;
            acc += val;
        }
        p[i] = acc / 3;
    }
    *n = 0;
    for (int i = 1; i + 1 < ns; i++)
        d[(*n)++] = (p[i + 1] - p[i - 1]) / (2 * S_STEP);
    return 1;
}

/* Index of the largest sign * d[i] that is a local maximum inside d (not at its ends), at
 * least S_MIN_GRAD; its sub-pixel place (parabola) into *at. -1 when there is none. */
static int s_peak(const double *d, int n, int sign, double *at)
{
    int best = -1;
    double bv = S_MIN_GRAD;
    for (int i = 1; i + 1 < n; i++) {
        double v = sign * d[i];
        if (v >= bv && v >= sign * d[i - 1] && v >= sign * d[i + 1]) {
            bv = v;
            best = i;
        }
    }
    if (best < 0)
        return -1;
    double a = sign * d[best - 1], b = sign * d[best], c = sign * d[best + 1];
    double den = a - 2 * b + c, off = den < 0 ? 0.5 * (a - c) / den : 0;
    *at = best + (off > 0.5 ? 0.5 : off < -0.5 ? -0.5 : off);
    return best;
}

rv_edge_pts_t *rv_edge_pts_new(const rv_view_t *ref_gray, const rv_view_t *small_mask,
                               int factor)
{
    const char *domain = "rv_align_ref_new";
    if (!ref_gray || !small_mask || ref_gray->fmt != RV_GRAY8 || small_mask->fmt != RV_GRAY8 ||
        factor < 1) {
        rv_fail(RV_EINVAL, domain, "edge points need a gray8 reference and its silhouette");
        return NULL;
    }
    rv_edge_pts_t *s = calloc(1, sizeof *s);
    if (s) {
        s->x = malloc(sizeof(float) * S_MAX_POINTS);
        s->y = malloc(sizeof(float) * S_MAX_POINTS);
        s->nx = malloc(sizeof(float) * S_MAX_POINTS);
        s->ny = malloc(sizeof(float) * S_MAX_POINTS);
        s->up = malloc(S_MAX_POINTS);
    }
    if (!s || !s->x || !s->y || !s->nx || !s->ny || !s->up) {
        s_free(s);
        rv_fail(RV_ENOMEM, domain, "out of memory");
        return NULL;
    }
    int w = small_mask->width, h = small_mask->height, count = 0;
    /* outline pixels: part pixels with a 4-neighbour outside, 3 px clear of the border;
     * counted first, then every stride-th kept */
    for (int pass = 0; pass < 2; pass++) {
        int stride = count > S_MAX_POINTS ? (count + S_MAX_POINTS - 1) / S_MAX_POINTS : 1, seen = 0;
        for (int y = 3; y < h - 3; y++) {
            const uint8_t *r = rv_view_row(small_mask, y);
            for (int x = 3; x < w - 3; x++) {
                if (!r[x] || (r[x - 1] && r[x + 1] && rv_view_row(small_mask, y - 1)[x] &&
                              rv_view_row(small_mask, y + 1)[x]))
                    continue;
                if (pass == 0) {
                    count++;
                    continue;
                }
                if (seen++ % stride || s->n >= S_MAX_POINTS)
                    continue;
                /* the outline's normal: the 5 x 5 box-summed silhouette's slope */
                double gx = 0, gy = 0;
                for (int j = -2; j <= 2; j++) {
                    const uint8_t *rj = rv_view_row(small_mask, y + j);
                    gx += (rj[x + 1] != 0) + (rj[x + 2] != 0) - (rj[x - 1] != 0) - (rj[x - 2] != 0);
                    for (int i = -2; i <= 2; i++)
                        gy += (j > 0 ? 1 : j < 0 ? -1 : 0) * (rj[x + i] != 0);
                }
                double gn = hypot(gx, gy);
                if (gn < 3)
                    continue;
                double nx = -gx / gn, ny = -gy / gn; /* out of the part */
                double fx = (double) factor * x + (factor - 1) / 2.0;
                double fy = (double) factor * y + (factor - 1) / 2.0;
                double d[S_MAX_SAMPLES], at;
                int nd;
                if (!s_profile(ref_gray, fx, fy, nx, ny, -ny, nx, factor + 3.0, d, &nd))
                    continue;
                /* the reference's edge: the largest derivative of either sign */
                double up_at, dn_at;
                int iu = s_peak(d, nd, 1, &up_at), id = s_peak(d, nd, -1, &dn_at);
                if (iu < 0 && id < 0)
                    continue;
                int up = id < 0 || (iu >= 0 && d[iu] >= -d[id]);
                at = up ? up_at : dn_at;
                double t = -(factor + 3.0) + (at + 1) * S_STEP;
                s->x[s->n] = (float) (fx + t * nx);
                s->y[s->n] = (float) (fy + t * ny);
                s->nx[s->n] = (float) nx;
                s->ny[s->n] = (float) ny;
                s->up[s->n] = (signed char) (up ? 1 : -1);
                s->n++;
            }
        }
    }
    return s;
}

/* Solve the 3 x 3 system A[.][0..2] x = A[.][3] (Gaussian elimination, partial pivoting);
 * 0 when it is (nearly) singular: an outline that cannot fix a turn or a shift. */
static int s_solve3(double A[3][4], double x[3])
{
    double scale = A[0][0] + A[1][1] + A[2][2];
    if (!(scale > 0))
        return 0;
    for (int c = 0; c < 3; c++) {
        int piv = c;
        for (int r = c + 1; r < 3; r++)
            if (fabs(A[r][c]) > fabs(A[piv][c]))
                piv = r;
        if (fabs(A[piv][c]) < 1e-9 * scale)
            return 0;
        for (int j = 0; j < 4; j++) {
            double t = A[c][j];
            A[c][j] = A[piv][j];
            A[piv][j] = t;
        }
        for (int r = c + 1; r < 3; r++) {
            double f = A[r][c] / A[c][c];
            for (int j = c; j < 4; j++)
                A[r][j] -= f * A[c][j];
        }
    }
    for (int c = 2; c >= 0; c--) {
        double acc = A[c][3];
        for (int j = c + 1; j < 3; j++)
            acc -= A[c][j] * x[j];
        x[c] = acc / A[c][c];
    }
    return 1;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

int rv_edge_pts_measure(const rv_edge_pts_t *self, const rv_view_t *gray, const double m[2][3],
                        rv_align_residual_t *out)
{
    const char *domain = "rv_align_residual";
    memset(out, 0, sizeof *out);
    out->median_px = out->p90_px = -1;
    if (!self || !gray || gray->fmt != RV_GRAY8)
        return rv_fail(RV_EINVAL, domain, "needs edge points and a gray8 view");
    out->outline_points = self->n;
    double det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
    if (!isfinite(det) || fabs(det) < 1e-12)
        return rv_fail(RV_EINVAL, domain, "the transform is singular");
    /* a: reference px -> view px */
    double a[2][2] = {{m[1][1] / det, -m[0][1] / det}, {-m[1][0] / det, m[0][0] / det}};
    double a2[2] = {-(a[0][0] * m[0][2] + a[0][1] * m[1][2]),
                    -(a[1][0] * m[0][2] + a[1][1] * m[1][2])};
    size_t cap = self->n > 0 ? (size_t) self->n : 1;
    double *off = malloc(sizeof(double) * cap * 6), *so = off + cap, *snx = so + cap,
           *sny = snx + cap, *spx = sny + cap, *spy = spx + cap;
    if (!off)
        return rv_fail(RV_ENOMEM, domain, "out of memory");
    int k = 0;
    double cx = 0, cy = 0;
    for (int i = 0; i < self->n; i++) {
        double px = self->x[i], py = self->y[i], nx = self->nx[i], ny = self->ny[i];
        double vx = a[0][0] * px + a[0][1] * py + a2[0], vy = a[1][0] * px + a[1][1] * py + a2[1];
        /* one reference px across and along the outline, in the view */
        double dx = a[0][0] * nx + a[0][1] * ny, dy = a[1][0] * nx + a[1][1] * ny;
        double tx = -a[0][0] * ny + a[0][1] * nx, ty = -a[1][0] * ny + a[1][1] * nx;
        double d[S_MAX_SAMPLES], at;
        int nd;
        if (!s_profile(gray, vx, vy, dx, dy, tx, ty, S_EDGE_REACH, d, &nd) ||
            s_peak(d, nd, self->up[i], &at) < 0)
            continue;
        so[k] = -S_EDGE_REACH + (at + 1) * S_STEP;
        off[k] = fabs(so[k]);
        snx[k] = nx;
        sny[k] = ny;
        spx[k] = px;
        spy[k] = py;
        cx += px;
        cy += py;
        k++;
    }
    out->points = k;
    if (k >= 8) {
        cx /= k;
        cy /= k;
        out->centre[0] = cx;
        out->centre[1] = cy;
        /* the rigid motion of the outline that explains the offsets: least squares of
         * o = n . (t + theta x (p - c)), refitted twice on the points it explains within
         * 1 px (a chip's offsets, or an edge the lamp moved, are not the transform's) */
        double q[3] = {0, 0, 0};
        for (int it = 0; it < 3; it++) {
            double A[3][4] = {{0}};
            for (int i = 0; i < k; i++) {
                double g[3] = {snx[i], sny[i], sny[i] * (spx[i] - cx) - snx[i] * (spy[i] - cy)};
                double r = so[i] - g[0] * q[0] - g[1] * q[1] - g[2] * q[2];
                if (it > 0 && fabs(r) > 1.0)
                    continue;
                for (int u = 0; u < 3; u++) {
                    for (int v = 0; v < 3; v++)
                        A[u][v] += g[u] * g[v];
                    A[u][3] += g[u] * so[i];
                }
            }
            double sol[3];
            if (!s_solve3(A, sol))
                break;
            memcpy(q, sol, sizeof q);
        }
        out->shift_px[0] = q[0];
        out->shift_px[1] = q[1];
        out->turn_deg = q[2] * 180.0 / 3.14159265358979323846;
        qsort(off, (size_t) k, sizeof *off, s_cmp);
        out->median_px = k % 2 ? off[k / 2] : 0.5 * (off[k / 2 - 1] + off[k / 2]);
        out->p90_px = off[(int) floor(0.9 * (k - 1))];
    }
    free(off);
    return RV_OK;
}
