/* rv_findings.c - the growable list of findings. */
#include "rv/rv_findings.h"
#include "rv/rv_error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_names[RV_FINDING_NTYPES] = {"crack", "corrosion", "pit",
                                                       "missing", "wear", "dimension"};

int rv_findings_push(rv_findings_t *list, const rv_finding_t *f)
{
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        rv_finding_t *items = realloc(list->items, cap * sizeof *items);
        if (!items)
            return rv_fail(RV_ENOMEM, "rv_findings_push", "%zu findings", cap);
        list->items = items;
        list->cap = cap;
    }
    list->items[list->count++] = *f;
    return RV_OK;
}

void rv_findings_free(rv_findings_t *list)
{
    if (!list)
        return;
    free(list->items);
    memset(list, 0, sizeof *list);
}

const char *rv_finding_type_name(rv_finding_type_t type)
{
    return (int) type >= 0 && (int) type < RV_FINDING_NTYPES ? s_names[type] : NULL;
}

int rv_finding_type_parse(const char *name)
{
    for (int i = 0; name && i < RV_FINDING_NTYPES; i++)
        if (strcmp(name, s_names[i]) == 0)
            return i;
    return -1;
}

void rv_finding_set_polyline(rv_finding_t *f, const float (*pts)[2], int n)
{
    int m = n < RV_FINDING_MAX_POINTS ? n : RV_FINDING_MAX_POINTS;
    for (int k = 0; k < m; k++) {
        int src = m > 1 ? (int) lrint((double) k * (n - 1) / (m - 1)) : 0;
        f->points[k][0] = pts[src][0], f->points[k][1] = pts[src][1];
    }
    f->npoints = m > 0 ? m : 0;
    if (m > 0) {
        double ex = f->points[m - 1][0] - f->points[0][0];
        double ey = f->points[m - 1][1] - f->points[0][1];
        double ang = atan2(ey, ex) * 180.0 / 3.14159265358979323846;
        f->orientation_deg = ang < 0 ? ang + 180 : ang >= 180 ? ang - 180 : ang;
    }
}

/* ---- one defect across zones ---------------------------------------------------------- */

#define S_COS45 0.70710678118654752

static int s_zone_ok(const rv_finding_t *f, size_t nzones)
{
    return f->zone >= 0 && (size_t) f->zone < nzones && f->zone < 64;
}

static uint64_t s_zone_bits(const rv_finding_t *f)
{
    return f->zones ? f->zones : (uint64_t) 1 << f->zone;
}

/* The outward direction at end e (0 first, 1 last) of f's polyline: from the first point
 * at least 8 px back from the end (or the other end) to the end. */
static void s_tangent(const rv_finding_t *f, int e, double u[2])
{
    int n = f->npoints, end = e ? n - 1 : 0, step = e ? -1 : 1, k = end;
    const float *p = f->points[end];
    while (k + step >= 0 && k + step < n) {
        k += step;
        if (hypot(p[0] - f->points[k][0], p[1] - f->points[k][1]) >= 8)
            break;
    }
    double dx = p[0] - f->points[k][0], dy = p[1] - f->points[k][1], d = hypot(dx, dy);
    u[0] = d > 0 ? dx / d : 0, u[1] = d > 0 ? dy / d : 0;
}

/* The closest pair of polyline ends of a and b within gap that continue each other: the
 * step from one end to the other within 45 degrees of both ends' outward directions (a
 * step under 3 px is too short to have one). ea, eb: 0 first, 1 last; the distance, or -1
 * when no pair qualifies. */
static double s_ends(const rv_finding_t *a, const rv_finding_t *b, double gap, int *ea, int *eb)
{
    double best = -1;
    if (a->npoints < 1 || b->npoints < 1)
        return -1;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            const float *p = a->points[i ? a->npoints - 1 : 0], *q = b->points[j ? b->npoints - 1 : 0];
            double d = hypot(q[0] - p[0], q[1] - p[1]);
            if (d > gap || (best >= 0 && d >= best))
                continue;
            if (d >= 3) {
                double ua[2], ub[2], vx = (q[0] - p[0]) / d, vy = (q[1] - p[1]) / d;
                s_tangent(a, i, ua);
                s_tangent(b, j, ub);
                if (ua[0] * vx + ua[1] * vy < S_COS45 || -(ub[0] * vx + ub[1] * vy) < S_COS45)
                    continue;
            }
            best = d, *ea = i, *eb = j;
        }
    return best;
}

/* Share of f's polyline points within tol px of g's polyline. */
static double s_on(const rv_finding_t *f, const rv_finding_t *g, double tol)
{
    int on = 0;
    for (int k = 0; k < f->npoints; k++) {
        double px = f->points[k][0], py = f->points[k][1], best = INFINITY;
        for (int m = 0; m < g->npoints; m++) {
            const float *u = g->points[m], *v = g->points[m + 1 < g->npoints ? m + 1 : m];
            double ex = v[0] - u[0], ey = v[1] - u[1], wx = px - u[0], wy = py - u[1];
            double l2 = ex * ex + ey * ey, t = l2 > 0 ? (wx * ex + wy * ey) / l2 : 0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            best = fmin(best, hypot(wx - t * ex, wy - t * ey));
        }
        on += best <= tol;
    }
    return f->npoints ? (double) on / f->npoints : 0;
}

static int s_boxes_near(const rv_finding_t *a, const rv_finding_t *b, double gap)
{
    double dx = fmax(0, fmax(a->bbox[0] - (b->bbox[0] + b->bbox[2]), b->bbox[0] - (a->bbox[0] + a->bbox[2])));
    double dy = fmax(0, fmax(a->bbox[1] - (b->bbox[1] + b->bbox[3]), b->bbox[1] - (a->bbox[1] + a->bbox[3])));
    return dx <= gap && dy <= gap;
}

/* 1 when a's box holds b's, give or take tol px. */
static int s_box_holds(const rv_finding_t *a, const rv_finding_t *b, int tol)
{
    return b->bbox[0] >= a->bbox[0] - tol && b->bbox[1] >= a->bbox[1] - tol &&
           b->bbox[0] + b->bbox[2] <= a->bbox[0] + a->bbox[2] + tol &&
           b->bbox[1] + b->bbox[3] <= a->bbox[1] + a->bbox[3] + tol;
}

/* b's polyline after a's, a's end ea meeting b's end eb (rv_finding_set_polyline). */
static void s_chain(rv_finding_t *a, int ea, const rv_finding_t *b, int eb)
{
    float pts[2 * RV_FINDING_MAX_POINTS][2];
    int n = 0;
    for (int k = 0; k < a->npoints; k++) { /* a, ending at ea */
        int src = ea ? k : a->npoints - 1 - k;
        pts[n][0] = a->points[src][0], pts[n][1] = a->points[src][1], n++;
    }
    for (int k = 0; k < b->npoints; k++) { /* b, starting at eb */
        int src = eb ? b->npoints - 1 - k : k;
        pts[n][0] = b->points[src][0], pts[n][1] = b->points[src][1], n++;
    }
    rv_finding_set_polyline(a, (const float (*)[2]) pts, n);
}

int rv_findings_join_zones(rv_findings_t *list, const int *rank, const double *zone_px,
                           size_t nzones, double crack_gap_px, double box_gap_px,
                           double mm_per_px)
{
    int joins = 0;
    for (int again = 1; again;) {
        again = 0;
        for (size_t i = 0; i < list->count && !again; i++) {
            rv_finding_t *a = &list->items[i];
            if ((a->type != RV_FINDING_CRACK && a->type != RV_FINDING_MISSING) ||
                !s_zone_ok(a, nzones))
                continue;
            for (size_t j = i + 1; j < list->count && !again; j++) {
                rv_finding_t *b = &list->items[j];
                if (b->type != a->type || !s_zone_ok(b, nzones) ||
                    (s_zone_bits(a) & s_zone_bits(b)))
                    continue;
                int ea = 0, eb = 0, dup = 0;
                double gap = 0;
                if (a->type == RV_FINDING_CRACK) {
                    /* zones that overlap, or a walk past a piece's end that ran on into the
                     * next zone, report one stretch of crack twice: the same crack */
                    dup = s_on(a, b, 3) >= 0.5 || s_on(b, a, 3) >= 0.5;
                    if (!dup && (gap = s_ends(a, b, crack_gap_px, &ea, &eb)) < 0)
                        continue;
                } else if (!s_boxes_near(a, b, box_gap_px)) {
                    continue;
                } else {
                    /* a gap followed across zones (rv_det_missing's flood) is measured whole
                     * from each zone's piece of it: one box holds the other */
                    dup = s_box_holds(a, b, 1) || s_box_holds(b, a, 1);
                }
                /* the zone: the higher rank, else the larger piece's */
                double sa = a->type == RV_FINDING_CRACK ? a->length_mm : a->area_mm2;
                double sb = b->type == RV_FINDING_CRACK ? b->length_mm : b->area_mm2;
                int za = a->zone, zb = b->zone;
                int zone = rank[za] > rank[zb] ? za : rank[zb] > rank[za] ? zb : sa >= sb ? za : zb;
                uint64_t bits = s_zone_bits(a) | s_zone_bits(b);
                if (dup) { /* the longer one's polyline and length */
                    if (b->length_mm > a->length_mm) {
                        memcpy(a->points, b->points, sizeof a->points);
                        a->npoints = b->npoints;
                        a->length_mm = b->length_mm;
                        a->orientation_deg = b->orientation_deg;
                    }
                    a->width_mm = fmax(a->width_mm, b->width_mm);
                    a->area_mm2 = fmax(a->area_mm2, b->area_mm2);
                } else if (a->type == RV_FINDING_CRACK) {
                    s_chain(a, ea, b, eb);
                    /* the crack runs on between the pieces: across the boundary, or the
                     * design edge beside it that the black-hat left out */
                    a->length_mm += b->length_mm + gap * mm_per_px;
                    a->width_mm = fmax(a->width_mm, b->width_mm);
                } else {
                    a->length_mm = fmax(a->length_mm, b->length_mm); /* depth */
                    int n = a->npoints + b->npoints;
                    for (int k = a->npoints; k < n && k < RV_FINDING_MAX_POINTS; k++)
                        a->points[k][0] = b->points[k - a->npoints][0],
                        a->points[k][1] = b->points[k - a->npoints][1];
                    a->npoints = n < RV_FINDING_MAX_POINTS ? n : RV_FINDING_MAX_POINTS;
                }
                if (!dup)
                    a->area_mm2 += b->area_mm2;
                int x0 = a->bbox[0] < b->bbox[0] ? a->bbox[0] : b->bbox[0];
                int y0 = a->bbox[1] < b->bbox[1] ? a->bbox[1] : b->bbox[1];
                int x1 = a->bbox[0] + a->bbox[2] > b->bbox[0] + b->bbox[2] ? a->bbox[0] + a->bbox[2]
                                                                         : b->bbox[0] + b->bbox[2];
                int y1 = a->bbox[1] + a->bbox[3] > b->bbox[1] + b->bbox[3] ? a->bbox[1] + a->bbox[3]
                                                                         : b->bbox[1] + b->bbox[3];
                a->bbox[0] = x0, a->bbox[1] = y0, a->bbox[2] = x1 - x0, a->bbox[3] = y1 - y0;
                a->score = fmax(a->score, b->score);
                a->zone = zone;
                a->zones = bits;
                if (zone_px && zone_px[zone] > 0 && mm_per_px > 0)
                    a->zone_pct = 100.0 * a->area_mm2 / (mm_per_px * mm_per_px) / zone_px[zone];
                memmove(b, b + 1, (list->count - j - 1) * sizeof *b);
                list->count--;
                joins++;
                again = 1;
            }
        }
    }
    return joins;
}
