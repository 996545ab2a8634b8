/* rm_zone.c - zone masks (scanline polygon fill) and part-number matching.
 *
 * The mask samples each pixel at its centre, pixel (x, y) at (x, y) as in the generator,
 * and treats every edge as half-open in y (ymin <= y < ymax) and every span as half-open
 * in x (xa <= x < xb). Vertices shared by two edges are then counted once and a
 * rectangle from (0, 0) to (w, h) covers exactly w * h pixels. All rings of a zone feed
 * one crossing list, so holes (and self-intersections) follow the even-odd rule. */
#include "rm_family_priv.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rv/rv_error.h"

typedef struct s_edge {
    double x0, y0, dxdy; /* the x at row y is x0 + (y - y0) * dxdy */
    int ya, yb;          /* rows ya .. yb-1 cross it */
} s_edge_t;

static int s_edge_cmp(const void *a, const void *b)
{
    const s_edge_t *ea = a, *eb = b;
    return (ea->ya > eb->ya) - (ea->ya < eb->ya);
}

static void s_sort(double *x, size_t n)
{
    for (size_t i = 1; i < n; i++) { /* insertion sort: few crossings per row */
        double v = x[i];
        size_t j = i;
        while (j > 0 && x[j - 1] > v) {
            x[j] = x[j - 1];
            j--;
        }
        x[j] = v;
    }
}

int rm_family_zone_mask(const rm_family_t *self, size_t zone, const rv_view_t *dst)
{
    if (!self || !dst || !dst->data || zone >= self->nzones)
        return rv_fail(RV_EINVAL, "rm_family_zone_mask", "no family, view or zone %zu", zone);
    const rm_zone_t *z = &self->zones[zone];
    const rm_view_def_t *v = &self->views[z->view];
    if (dst->fmt != RV_GRAY8 || dst->width != v->width || dst->height != v->height)
        return rv_fail(RV_EINVAL, "rm_family_zone_mask",
                       "zone %s needs a GRAY8 view of %dx%d, not %dx%d", z->name, v->width,
                       v->height, dst->width, dst->height);
    size_t nedges = 0;
    for (size_t r = 0; r < z->nrings; r++)
        nedges += z->rings[r].n;
    s_edge_t *edges = malloc(nedges * sizeof *edges);
    double *xs = malloc(nedges * sizeof *xs);
    size_t *active = malloc(nedges * sizeof *active);
    if (!edges || !xs || !active) {
        free(edges);
        free(xs);
        free(active);
        return rv_fail(RV_ENOMEM, "rm_family_zone_mask", "out of memory");
    }
    size_t ne = 0;
    for (size_t r = 0; r < z->nrings; r++) {
        const rm_ring_t *ring = &z->rings[r];
        for (size_t i = 0; i < ring->n; i++) {
            const double *a = ring->pts[i], *b = ring->pts[(i + 1) % ring->n];
            if (a[1] == b[1])
                continue; /* horizontal: no row crosses it under the half-open rule */
            const double *lo = a[1] < b[1] ? a : b, *hi = a[1] < b[1] ? b : a;
            s_edge_t *e = &edges[ne++];
            e->x0 = lo[0];
            e->y0 = lo[1];
            e->dxdy = (hi[0] - lo[0]) / (hi[1] - lo[1]);
            e->ya = (int) ceil(lo[1]);
            e->yb = (int) ceil(hi[1]);
        }
    }
    qsort(edges, ne, sizeof *edges, s_edge_cmp);
    size_t next = 0, nactive = 0;
    for (int y = 0; y < dst->height; y++) {
        uint8_t *row = rv_view_row(dst, y);
        memset(row, 0, (size_t) dst->width);
        while (next < ne && edges[next].ya <= y)
            active[nactive++] = next++;
        size_t nx = 0, keep = 0;
        for (size_t k = 0; k < nactive; k++) {
            const s_edge_t *e = &edges[active[k]];
            if (e->yb <= y)
                continue; /* finished: drop it */
            active[keep++] = active[k];
            xs[nx++] = e->x0 + ((double) y - e->y0) * e->dxdy;
        }
        nactive = keep;
        s_sort(xs, nx);
        for (size_t k = 0; k + 1 < nx; k += 2) {
            /* pixel centres x with xs[k] <= x < xs[k + 1] */
            double a = ceil(xs[k]), b = ceil(xs[k + 1]);
            if (a < 0)
                a = 0;
            if (b > dst->width)
                b = dst->width;
            if (b > a)
                memset(row + (size_t) a, 255, (size_t) (b - a));
        }
    }
    free(edges);
    free(xs);
    free(active);
    return RV_OK;
}

/* ---- part numbers ----------------------------------------------------------------------- */

static int s_char_match(char p, char t)
{
    if (p == '?')
        return 1;
    if (p == '#')
        return t >= '0' && t <= '9';
    return tolower((unsigned char) p) == tolower((unsigned char) t);
}

int rm_pattern_match(const char *pattern, const char *text)
{
    if (!pattern || !text)
        return 0;
    /* iterative glob: on a mismatch, let the last '*' swallow one more character */
    const char *p = pattern, *t = text, *star = NULL, *resume = NULL;
    while (*t) {
        if (*p == '*') {
            star = p++;
            resume = t;
        } else if (*p && s_char_match(*p, *t)) {
            p++;
            t++;
        } else if (star) {
            p = star + 1;
            t = ++resume;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

int rm_family_matches(const rm_family_t *self, const char *part_number)
{
    if (!self || !part_number || !*part_number || strlen(part_number) >= RM_PN_SIZE)
        return 0;
    for (size_t i = 0; i < self->npatterns; i++)
        if (rm_pattern_match(self->patterns[i], part_number))
            return 1;
    return 0;
}
