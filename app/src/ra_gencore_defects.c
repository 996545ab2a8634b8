/* ra_gencore_defects.c - defects painted onto the rendered part, each with exact labels.
 *
 * Placement is rejection sampling: a candidate must sit on intact surface (label part or
 * wear) and its loose box, grown by a margin, must touch no other defect's box nor the
 * DataMatrix. Wear bands come first and may carry other defects on top; every other pair
 * is disjoint, so the census can count each defect's label inside its box exactly.
 *
 * A pixel gets a defect's label when its centre lies inside the defect's nominal shape;
 * the painted colour fades across that boundary (anti-aliasing, rust halo), reaching 50 %
 * opacity where the label changes. */
#include "ra_gencore_priv.h"

#include <math.h>
#include <string.h>

#include "rv/rv_error.h"

static const char *s_domain = "ra_gencore";

int gc_box_busy(const gc_t *g, const int r[4])
{
    for (int i = 0; i < g->nboxes; i++) {
        const int *b = g->boxes[i];
        if (r[0] < b[2] && b[0] < r[2] && r[1] < b[3] && b[1] < r[3])
            return 1;
    }
    return 0;
}

void gc_box_add(gc_t *g, const int r[4])
{
    if (g->nboxes < GC_MAX_BOXES) {
        memcpy(g->boxes[g->nboxes], r, sizeof g->boxes[0]);
        g->nboxes++;
    }
}

/* ---- helpers ----------------------------------------------------------------------------- */

typedef struct s_ctx {
    gc_t *g;
    gc_rng_t rng;
    int margin;      /* px between defects */
    rv_view_t rgb, lab;
} s_ctx_t;

static inline int s_intact(uint8_t label)
{
    return label == RA_LABEL_PART || label == RA_LABEL_WEAR;
}

/* Intact surface at the pixel nearest (x, y). */
static int s_surface(const s_ctx_t *c, double x, double y)
{
    int xi = (int) floor(x + 0.5), yi = (int) floor(y + 0.5);
    if (xi < 0 || yi < 0 || xi >= c->g->w || yi >= c->g->h)
        return 0;
    return s_intact(rv_view_row(&c->lab, yi)[xi]);
}

/* A random point of the frame, 0.01 px resolution, that lies on intact surface. */
static int s_surface_point(s_ctx_t *c, double *x, double *y)
{
    for (int i = 0; i < 64; i++) {
        *x = gc_round(gc_rng_range(&c->rng, 0, c->g->w - 1), 0.01);
        *y = gc_round(gc_rng_range(&c->rng, 0, c->g->h - 1), 0.01);
        if (s_surface(c, *x, *y))
            return 1;
    }
    return 0;
}

/* The pixel box [x0, y0, x1, y1) that covers the rectangle x0..x1, y0..y1; 0 when it
 * leaves the frame (defects stay wholly in view). */
static int s_box(const s_ctx_t *c, double x0, double y0, double x1, double y1, int box[4])
{
    box[0] = (int) floor(x0);
    box[1] = (int) floor(y0);
    box[2] = (int) ceil(x1) + 1;
    box[3] = (int) ceil(y1) + 1;
    return box[0] >= 0 && box[1] >= 0 && box[2] <= c->g->w && box[3] <= c->g->h;
}

static int s_free(const s_ctx_t *c, const int box[4])
{
    int grown[4] = {box[0] - c->margin, box[1] - c->margin, box[2] + c->margin,
                    box[3] + c->margin};
    return !gc_box_busy(c->g, grown);
}

static ra_gencore_defect_t *s_record(s_ctx_t *c, ra_gencore_defect_type_t type,
                                     const char *kind, const int box[4])
{
    gc_t *g = c->g;
    ra_gencore_defect_t *d = &g->defects[g->ndefects++];
    memset(d, 0, sizeof *d);
    d->type = type;
    d->kind = kind;
    /* loose until the census tightens it */
    d->bbox[0] = box[0];
    d->bbox[1] = box[1];
    d->bbox[2] = box[2] - box[0];
    d->bbox[3] = box[3] - box[1];
    return d;
}

static inline float s_blend(float old, float target, float a)
{
    return old + (target - old) * a;
}

static inline uint8_t s_u8(float v)
{
    return (uint8_t) gc_clampf(v + 0.5f, 0.0f, 255.0f);
}

/* Size ranges in mm per shape: {crack length, rust radius, chip radius}, lo and hi. */
static void s_sizes(const gc_t *g, double crack[2], double rust[2], double chip[2])
{
    crack[0] = 18, crack[1] = 45, rust[0] = 8, rust[1] = 20, chip[0] = 6, chip[1] = 13;
    switch (g->p.shape) {
    case RA_GENCORE_DISC:
        crack[0] = 18, crack[1] = 45, rust[0] = 8, rust[1] = 20, chip[0] = 8, chip[1] = 18;
        break;
    case RA_GENCORE_HOUSING:
        crack[0] = 15, crack[1] = 38, rust[0] = 8, rust[1] = 18, chip[0] = 8, chip[1] = 16;
        break;
    case RA_GENCORE_SHAFT:
        crack[0] = 10, crack[1] = 28, rust[0] = 6, rust[1] = 13, chip[0] = 5, chip[1] = 10;
        break;
    }
}

/* ---- wear -------------------------------------------------------------------------------- */

static int s_wear_box(const gc_t *g, const gc_wear_t *w, int box[4])
{
    double xmin = 1e18, xmax = -1e18, ymin = 1e18, ymax = -1e18, x, y;
    if (w->axial) {
        double us[2] = {w->u0, w->u1}, vs[2] = {-w->rv, w->rv};
        for (int i = 0; i < 4; i++) {
            gc_to_pixel(g, us[i & 1], vs[i >> 1], &x, &y);
            xmin = fmin(xmin, x), xmax = fmax(xmax, x), ymin = fmin(ymin, y), ymax = fmax(ymax, y);
        }
    } else {
        for (int j = 0; j <= 48; j++) {
            double phi = w->phi - w->half_span + 2 * w->half_span * j / 48, s, c;
            gc_sincos(phi, &s, &c);
            for (int k = 0; k < 2; k++) {
                double r = k ? w->r1 : w->r0;
                gc_to_pixel(g, r * c, r * s, &x, &y);
                xmin = fmin(xmin, x), xmax = fmax(xmax, x), ymin = fmin(ymin, y),
                ymax = fmax(ymax, y);
            }
        }
    }
    box[0] = (int) floor(xmin) - 3;
    box[1] = (int) floor(ymin) - 3;
    box[2] = (int) ceil(xmax) + 4;
    box[3] = (int) ceil(ymax) + 4;
    if (box[0] < 0)
        box[0] = 0;
    if (box[1] < 0)
        box[1] = 0;
    if (box[2] > g->w)
        box[2] = g->w;
    if (box[3] > g->h)
        box[3] = g->h;
    return box[2] > box[0] && box[3] > box[1];
}

static void s_wear_paint(s_ctx_t *c, const gc_wear_t *w, const int box[4])
{
    gc_t *g = c->g;
    /* polished: brighter, the tool marks mostly rubbed away */
    gc_finish_t polished = {0.25f, 1.08f};
    if (g->p.shape == RA_GENCORE_HOUSING)
        polished.tone_gain = 1.12f;
    if (g->p.shape == RA_GENCORE_SHAFT)
        polished = (gc_finish_t){0.15f, 1.18f};
    int n = box[2] - box[0];
    for (int y = box[1]; y < box[3]; y++) {
        uint8_t *p = rv_view_row(&c->rgb, y), *l = rv_view_row(&c->lab, y);
        gc_shape_span(g, y, box[0], n, polished, g->row_sdf, g->row_tone, g->row_bgf);
        gc_compose_span(g, y, box[0], n, g->row_sdf, g->row_tone, g->row_bgf, g->row_rgb);
        for (int x = box[0]; x < box[2]; x++) {
            if (l[x] != RA_LABEL_PART)
                continue;
            double e;
            int inside = gc_wear_inside(g, w, x, y, &e);
            /* the band fades in over ~4 px, half-way where the label changes */
            float a = gc_clampf(0.5f + (float) e / 4.0f, 0.0f, 1.0f);
            if (a <= 0)
                continue;
            for (int ch = 0; ch < 3; ch++)
                p[3 * x + ch] = s_u8(s_blend(p[3 * x + ch], g->row_rgb[3 * x + ch], a));
            if (inside)
                l[x] = RA_LABEL_WEAR;
        }
    }
}

/* 1 when any pixel of the code's box lies inside the wear region. */
static int s_wear_hits_code(const gc_t *g, const gc_wear_t *w)
{
    if (!g->have_code)
        return 0;
    const int *b = g->code.bbox;
    for (int y = b[1] - 2; y < b[1] + b[3] + 2; y += 2)
        for (int x = b[0] - 2; x < b[0] + b[2] + 2; x += 2) {
            double e;
            if (gc_wear_inside(g, w, x, y, &e) || e > -3)
                return 1;
        }
    return 0;
}

static void s_place_wear(s_ctx_t *c, int count)
{
    gc_t *g = c->g;
    int boxes[RA_GENCORE_MAX_PER_TYPE][4], placed = 0;
    for (int i = 0; i < count; i++) {
        for (int tries = 0; tries < 60; tries++) {
            gc_wear_t w;
            int box[4];
            gc_wear_pick(g, &c->rng, &w);
            if (!s_wear_box(g, &w, box))
                continue;
            int clash = 0;
            for (int k = 0; k < placed && !clash; k++)
                clash = box[0] < boxes[k][2] && boxes[k][0] < box[2] && box[1] < boxes[k][3] &&
                        boxes[k][1] < box[3];
            if (clash || s_wear_hits_code(g, &w))
                continue;
            memcpy(boxes[placed++], box, sizeof box);
            s_wear_paint(c, &w, box);
            ra_gencore_defect_t *d = s_record(c, RA_DEFECT_WEAR, "polished-band", box);
            g->wear[g->ndefects - 1] = w;
            double x, y, s, cs;
            if (w.axial) {
                gc_to_pixel(g, (w.u0 + w.u1) / 2, 0, &x, &y);
                d->width_mm = gc_round(w.u1 - w.u0, 0.001);
            } else {
                gc_sincos(w.phi, &s, &cs);
                double rm = (w.r0 + w.r1) / 2;
                gc_to_pixel(g, rm * cs, rm * s, &x, &y);
                d->width_mm = gc_round(w.r1 - w.r0, 0.001);
            }
            d->width_px = gc_round(d->width_mm * g->inv_mmpp, 0.001);
            d->centre[0] = gc_round(x, 0.01);
            d->centre[1] = gc_round(y, 0.01);
            break;
        }
    }
}

/* ---- rust -------------------------------------------------------------------------------- */

static void s_place_rust(s_ctx_t *c, int count, double rmin_mm, double rmax_mm)
{
    gc_t *g = c->g;
    for (int i = 0; i < count; i++) {
        double R = fmax(8.0, gc_rng_range(&c->rng, rmin_mm, rmax_mm) * g->inv_mmpp);
        uint32_t bs = (uint32_t) gc_rng_next(&c->rng);
        for (int tries = 0; tries < 200; tries++) {
            double cx, cy;
            if (!s_surface_point(c, &cx, &cy))
                continue;
            int ok = 1;
            for (int k = 0; k < 8 && ok; k++) {
                double s, cs;
                gc_sincos(k * GC_PI / 4, &s, &cs);
                ok = s_surface(c, cx + 0.5 * R * cs, cy + 0.5 * R * s);
            }
            int box[4];
            if (!ok || !s_box(c, cx - 1.4 * R - 2, cy - 1.4 * R - 2, cx + 1.4 * R + 2,
                              cy + 1.4 * R + 2, box) || !s_free(c, box))
                continue;
            gc_box_add(g, box);
            ra_gencore_defect_t *d = s_record(c, RA_DEFECT_RUST, "rust", box);
            d->centre[0] = cx;
            d->centre[1] = cy;
            /* an irregular blob: distance warped by two octaves of value noise */
            const float inv_r = (float) (1.0 / R), k1 = 1.0f / (0.45f * (float) R),
                        k2 = 1.0f / (0.18f * (float) R), k3 = 1.0f / (0.25f * (float) R);
            for (int y = box[1]; y < box[3]; y++) {
                uint8_t *p = rv_view_row(&c->rgb, y), *l = rv_view_row(&c->lab, y);
                for (int x = box[0]; x < box[2]; x++) {
                    if (!s_intact(l[x]))
                        continue;
                    float fx = (float) x, fy = (float) y;
                    float dx = fx - (float) cx, dy = fy - (float) cy;
                    float fbm = 0.65f * gc_vnoise2(fx * k1, fy * k1, bs) +
                                0.35f * gc_vnoise2(fx * k2, fy * k2, bs + 7u);
                    float dd = sqrtf(dx * dx + dy * dy) * inv_r + 0.55f * (fbm - 0.5f);
                    float a = gc_clampf(0.5f + (1.0f - dd) / 0.10f, 0.0f, 1.0f);
                    if (dd > 1.0f) /* faint staining around the patch */
                        a = fmaxf(a, 0.15f * gc_clampf(1.0f - (dd - 1.0f) / 0.35f, 0.0f, 1.0f));
                    if (a <= 0)
                        continue;
                    /* rust ~ RGB(140, 70, 30): mottled between dark scale and orange bloom,
                     * with dark pitting */
                    float t = 0.5f + 1.1f * (gc_vnoise2(fx * k3, fy * k3, bs + 3u) - 0.5f) +
                              0.5f * (gc_vnoise2(fx * 0.5f, fy * 0.5f, bs + 5u) - 0.5f) +
                              0.2f * (gc_hash01(x, y, bs + 6u) - 0.5f);
                    t = gc_clampf(t, 0.0f, 1.0f);
                    float pit = gc_hash01(x, y, bs + 9u) > 0.95f ? 0.65f : 1.0f;
                    float lt = gc_light(g, x, y) * pit;
                    float rc[3] = {(88.0f + 96.0f * t) * lt, (40.0f + 58.0f * t) * lt,
                                   (17.0f + 30.0f * t) * lt};
                    for (int ch = 0; ch < 3; ch++)
                        p[3 * x + ch] = s_u8(s_blend(p[3 * x + ch], rc[ch], a));
                    if (dd < 1.0f)
                        l[x] = RA_LABEL_RUST;
                }
            }
            break;
        }
    }
}

/* ---- chipped edge ------------------------------------------------------------------------ */

static void s_place_chip(s_ctx_t *c, int count, double rmin_mm, double rmax_mm)
{
    gc_t *g = c->g;
    for (int i = 0; i < count; i++) {
        double R = fmax(6.0, gc_rng_range(&c->rng, rmin_mm, rmax_mm) * g->inv_mmpp);
        uint32_t bs = (uint32_t) gc_rng_next(&c->rng);
        const float kn = 1.0f / (0.35f * (float) R);
        for (int tries = 0; tries < 200; tries++) {
            double u, v, nu, nv, x, y;
            gc_outline_point(g, &c->rng, &u, &v, &nu, &nv);
            double shift_mm = gc_rng_range(&c->rng, 0.1, 0.4) * R * g->mmpp;
            gc_to_pixel(g, u + nu * shift_mm, v + nv * shift_mm, &x, &y);
            x = gc_round(x, 0.01);
            y = gc_round(y, 0.01);
            int box[4];
            if (!s_box(c, x - 1.3 * R - 3, y - 1.3 * R - 3, x + 1.3 * R + 3, y + 1.3 * R + 3,
                       box) || !s_free(c, box))
                continue;
            /* it bites from outside: its centre, off the outline outward, on the fixture (an
             * outline point of one of the shape's pieces can lie inside another, where the
             * housing's duct meets its volute: a "chip" there was a hole through the part,
             * deeper than the chip's depth says) */
            int cxi = (int) lrint(x), cyi = (int) lrint(y);
            if (cxi < 0 || cyi < 0 || cxi >= c->lab.width || cyi >= c->lab.height ||
                rv_view_row(&c->lab, cyi)[cxi] != RA_LABEL_BACKGROUND)
                continue;
            /* it must bite: a quarter of its disc on intact surface, nothing else inside */
            long bite = 0, foreign = 0;
            for (int yy = box[1]; yy < box[3]; yy++) {
                const uint8_t *l = rv_view_row(&c->lab, yy);
                for (int xx = box[0]; xx < box[2]; xx++) {
                    double dx = xx - x, dy = yy - y;
                    if (dx * dx + dy * dy > 1.3 * 1.3 * R * R)
                        continue;
                    if (s_intact(l[xx]))
                        bite++;
                    else if (l[xx] != RA_LABEL_BACKGROUND)
                        foreign++;
                }
            }
            if (foreign || bite < (long) (0.25 * GC_PI * R * R))
                continue;
            gc_box_add(g, box);
            ra_gencore_defect_t *d = s_record(c, RA_DEFECT_CHIP, "chip", box);
            d->centre[0] = x;
            d->centre[1] = y;
            d->depth_px = gc_round(R - shift_mm * g->inv_mmpp, 0.001);
            d->depth_mm = gc_round(d->depth_px * g->mmpp, 0.001);
            int n = box[2] - box[0];
            gc_finish_t plain = {1.0f, 1.0f};
            for (int yy = box[1]; yy < box[3]; yy++) {
                uint8_t *p = rv_view_row(&c->rgb, yy), *l = rv_view_row(&c->lab, yy);
                gc_shape_span(g, yy, box[0], n, plain, g->row_sdf, g->row_tone, g->row_bgf);
                for (int xx = box[0]; xx < box[2]; xx++) {
                    float sdf = g->row_sdf[xx - box[0]];
                    float cov = gc_clampf(0.5f - sdf, 0.0f, 1.0f);
                    float fx = (float) xx, fy = (float) yy;
                    float dx = fx - (float) x, dy = fy - (float) y;
                    float rr = (float) R * (1.0f + 0.36f * (gc_vnoise2(fx * kn, fy * kn, bs) -
                                                            0.5f));
                    float dc = sqrtf(dx * dx + dy * dy) - rr; /* px, < 0 inside the notch */
                    if (cov <= 0) {
                        /* the fixture off the notch's mouth: the material that shaded it is
                         * gone, the nearest left is the notch's wall (a shadow along the
                         * outline that was would fence the notch's floor off from the open
                         * fixture, which no real chip shows) */
                        if (-dc > sdf) {
                            float lift = gc_fixture_ao(-dc * (float) g->mmpp) /
                                         gc_fixture_ao(sdf * (float) g->mmpp);
                            for (int ch = 0; ch < 3; ch++)
                                p[3 * xx + ch] = s_u8(p[3 * xx + ch] * lift);
                        }
                        continue;
                    }
                    float keep = gc_clampf(0.5f + dc, 0.0f, 1.0f);
                    if (keep < 1.0f) {
                        float fix = gc_fixture(g, xx, yy, -dc * (float) g->mmpp, 1.0f);
                        for (int ch = 0; ch < 3; ch++)
                            p[3 * xx + ch] = s_u8(keep * p[3 * xx + ch] + (1.0f - keep) * fix);
                    }
                    if (dc > 0.0f && dc < 3.0f) {
                        /* the fracture face: rough and mostly in shadow */
                        float f = 0.55f + 0.3f * gc_hash01(xx, yy, bs + 1u) + 0.1f * dc / 3.0f;
                        for (int ch = 0; ch < 3; ch++)
                            p[3 * xx + ch] = s_u8(p[3 * xx + ch] * f);
                    }
                    if (dc <= 0.0f && s_intact(l[xx]))
                        l[xx] = RA_LABEL_CHIP;
                }
            }
            break;
        }
    }
}

/* ---- pits and blowholes ------------------------------------------------------------------ */

static void s_place_pit(s_ctx_t *c, int count)
{
    gc_t *g = c->g;
    for (int i = 0; i < count; i++) {
        double D = gc_round(fmax(3.0, gc_rng_range(&c->rng, 1.2, 5.0) * g->inv_mmpp), 0.01);
        double r = D / 2;
        for (int tries = 0; tries < 200; tries++) {
            double cx, cy;
            if (!s_surface_point(c, &cx, &cy))
                continue;
            int ok = 1;
            for (int k = 0; k < 12 && ok; k++) {
                double s, cs;
                gc_sincos(k * GC_PI / 6, &s, &cs);
                ok = s_surface(c, cx + (r + 3) * cs, cy + (r + 3) * s);
            }
            int box[4];
            if (!ok || !s_box(c, cx - r - 3, cy - r - 3, cx + r + 3, cy + r + 3, box) ||
                !s_free(c, box))
                continue;
            gc_box_add(g, box);
            ra_gencore_defect_t *d =
                s_record(c, RA_DEFECT_PIT, g->cast ? "blowhole" : "pit", box);
            d->centre[0] = cx;
            d->centre[1] = cy;
            d->diameter_px = D;
            d->diameter_mm = gc_round(D * g->mmpp, 0.001);
            for (int y = box[1]; y < box[3]; y++) {
                uint8_t *p = rv_view_row(&c->rgb, y), *l = rv_view_row(&c->lab, y);
                for (int x = box[0]; x < box[2]; x++) {
                    if (!s_intact(l[x]))
                        continue;
                    double dx = x - cx, dy = y - cy, dist = sqrt(dx * dx + dy * dy);
                    /* the wall facing the lamp (the far side of the hole) is lit */
                    float q = (float) ((dx * g->ldir_x + dy * g->ldir_y) / r);
                    float cov = gc_clampf((float) (r + 0.5 - dist), 0.0f, 1.0f);
                    if (cov > 0) {
                        float lit = gc_clampf(-q, 0.0f, 1.0f);
                        float f = 0.14f + 0.42f * lit * lit * (float) (dist / r);
                        for (int ch = 0; ch < 3; ch++)
                            p[3 * x + ch] = s_u8(s_blend(p[3 * x + ch], p[3 * x + ch] * f, cov));
                    } else if (dist < r + 1.5 && q > 0.3f) {
                        /* a raised, bright lip on the lamp side */
                        for (int ch = 0; ch < 3; ch++)
                            p[3 * x + ch] = s_u8(p[3 * x + ch] * 1.12f);
                    }
                    if (dist <= r)
                        l[x] = RA_LABEL_PIT;
                }
            }
            break;
        }
    }
}

/* ---- cracks ------------------------------------------------------------------------------ */

static double s_seg_dist(double px, double py, const double a[2], const double b[2])
{
    double ex = b[0] - a[0], ey = b[1] - a[1], wx = px - a[0], wy = py - a[1];
    double l2 = ex * ex + ey * ey, t = l2 > 0 ? (wx * ex + wy * ey) / l2 : 0;
    if (t < 0)
        t = 0;
    if (t > 1)
        t = 1;
    double dx = wx - t * ex, dy = wy - t * ey;
    return sqrt(dx * dx + dy * dy);
}

static void s_place_crack(s_ctx_t *c, int count, double lmin_mm, double lmax_mm)
{
    gc_t *g = c->g;
    for (int i = 0; i < count; i++) {
        double wpx = gc_round(gc_rng_range(&c->rng, 1.0, 4.0), 0.1);
        double total = fmax(25.0, gc_rng_range(&c->rng, lmin_mm, lmax_mm) * g->inv_mmpp);
        int nseg = gc_rng_int(&c->rng, 2, 5);
        double half = wpx / 2;
        for (int tries = 0; tries < 300; tries++) {
            double pts[RA_GENCORE_MAX_POINTS][2];
            if (!s_surface_point(c, &pts[0][0], &pts[0][1]))
                continue;
            double th = gc_rng_range(&c->rng, -GC_PI, GC_PI);
            /* a random walk: each segment turns by up to +-35 degrees */
            for (int s = 1; s <= nseg; s++) {
                double sn, cs;
                th += gc_rng_range(&c->rng, -0.6, 0.6);
                gc_sincos(th, &sn, &cs);
                double len = total / nseg * gc_rng_range(&c->rng, 0.7, 1.3);
                pts[s][0] = gc_round(pts[s - 1][0] + len * cs, 0.01);
                pts[s][1] = gc_round(pts[s - 1][1] + len * sn, 0.01);
            }
            /* the crack and a band of half + 2 px either side stay on intact surface */
            int ok = 1;
            double xmin = 1e18, xmax = -1e18, ymin = 1e18, ymax = -1e18;
            for (int s = 0; s <= nseg && ok; s++) {
                xmin = fmin(xmin, pts[s][0]), xmax = fmax(xmax, pts[s][0]);
                ymin = fmin(ymin, pts[s][1]), ymax = fmax(ymax, pts[s][1]);
                if (s == 0)
                    continue;
                double ex = pts[s][0] - pts[s - 1][0], ey = pts[s][1] - pts[s - 1][1];
                double len = sqrt(ex * ex + ey * ey), nx = -ey / len, ny = ex / len;
                int steps = (int) (len / 2) + 1;
                for (int k = 0; k <= steps && ok; k++) {
                    double px = pts[s - 1][0] + ex * k / steps, py = pts[s - 1][1] + ey * k / steps;
                    for (int side = -1; side <= 1 && ok; side++)
                        ok = s_surface(c, px + side * (half + 2) * nx, py + side * (half + 2) * ny);
                }
            }
            int box[4];
            if (!ok || !s_box(c, xmin - half - 3, ymin - half - 3, xmax + half + 3,
                              ymax + half + 3, box) || !s_free(c, box))
                continue;
            gc_box_add(g, box);
            ra_gencore_defect_t *d = s_record(c, RA_DEFECT_CRACK, "crack", box);
            d->npoints = nseg + 1;
            double length = 0;
            for (int s = 0; s <= nseg; s++) {
                d->points[s][0] = pts[s][0];
                d->points[s][1] = pts[s][1];
                if (s) {
                    double ex = pts[s][0] - pts[s - 1][0], ey = pts[s][1] - pts[s - 1][1];
                    length += sqrt(ex * ex + ey * ey);
                }
            }
            d->length_px = gc_round(length, 0.001);
            d->length_mm = gc_round(length * g->mmpp, 0.001);
            d->width_px = wpx;
            d->width_mm = gc_round(wpx * g->mmpp, 0.001);
            d->centre[0] = gc_round((xmin + xmax) / 2, 0.01);
            d->centre[1] = gc_round((ymin + ymax) / 2, 0.01);
            for (int y = box[1]; y < box[3]; y++) {
                uint8_t *p = rv_view_row(&c->rgb, y), *l = rv_view_row(&c->lab, y);
                for (int x = box[0]; x < box[2]; x++) {
                    if (!s_intact(l[x]))
                        continue;
                    double dmin = 1e18;
                    for (int s = 1; s <= nseg; s++)
                        dmin = fmin(dmin, s_seg_dist(x, y, pts[s - 1], pts[s]));
                    /* exact width: coverage of a band of half-width `half` by the pixel */
                    float cov = gc_clampf((float) (half + 0.5 - dmin), 0.0f, 1.0f);
                    /* a faint oxide stain along the crack */
                    float halo = dmin > half
                                     ? 0.16f * gc_clampf((float) (1.0 - (dmin - half) / 2.5),
                                                         0.0f, 1.0f)
                                     : 0.16f;
                    float f = (1.0f - 0.78f * cov) * (1.0f - halo);
                    if (f < 1.0f)
                        for (int ch = 0; ch < 3; ch++)
                            p[3 * x + ch] = s_u8(p[3 * x + ch] * f);
                    if (dmin <= half)
                        l[x] = RA_LABEL_CRACK;
                }
            }
            break;
        }
    }
}

int gc_defects_paint(gc_t *g)
{
    s_ctx_t c = {.g = g};
    gc_rng_init(&c.rng, g->p.seed, GC_DEFECTS);
    c.rgb = rv_image_view(g->rgb);
    c.lab = rv_image_view(g->labels);
    int short_side = g->w < g->h ? g->w : g->h;
    c.margin = 4 + short_side / 200;
    /* how many of each: asked for, or 1..2 (pits 1..3) from the seed; drawn for every type
     * so that one type's setting never changes where another type lands */
    int n[RA_DEFECT_NTYPES];
    for (int t = 0; t < RA_DEFECT_NTYPES; t++) {
        int hi = t == RA_DEFECT_PIT ? 3 : t == RA_DEFECT_WEAR || t == RA_DEFECT_CHIP ? 1 : 2;
        int drawn = gc_rng_int(&c.rng, 1, hi);
        n[t] = !(g->p.defects & RA_GENCORE_DEFECT_BIT(t)) ? 0
               : g->p.counts[t]                           ? g->p.counts[t]
                                                          : drawn;
    }
    double crack[2], rust[2], chip[2];
    s_sizes(g, crack, rust, chip);
    if (g->ndefects != 0)
        return rv_fail(RV_EINVAL, s_domain, "defects painted twice");
    s_place_wear(&c, n[RA_DEFECT_WEAR]);
    s_place_rust(&c, n[RA_DEFECT_RUST], rust[0], rust[1]);
    s_place_chip(&c, n[RA_DEFECT_CHIP], chip[0], chip[1]);
    s_place_pit(&c, n[RA_DEFECT_PIT]);
    s_place_crack(&c, n[RA_DEFECT_CRACK], crack[0], crack[1]);
    return RV_OK;
}
