/* ra_gencore_shape.c - the three part families: geometry as signed distance functions in
 * part coordinates (mm), surface finish (machined tool marks, cast grain), lighting and
 * the fixture the part lies on.
 *
 * Every shape is evaluated per pixel through a distance to its outline, so edges are
 * anti-aliased by coverage = clamp(0.5 - sdf_px, 0, 1) and the label is exact: a pixel is
 * part when its centre lies inside (sdf <= 0). Textures are sized in pixels (tool marks of
 * a ~2 px period) because a camera resolves what its pixels resolve. */
#include "ra_gencore_priv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rv/rv_error.h"

/* Brake disc, mm. */
#define D_ROUT 150.0f  /* outer radius of the friction ring */
#define D_RFI 90.0f    /* inner radius of the friction ring */
#define D_GROOVE 3.0f  /* undercut between hat and friction ring */
#define D_RPC 58.0f    /* bolt pitch circle */
#define D_RHOLE 7.5f   /* bolt hole */
#define D_RBORE 35.0f  /* centre bore */

/* Volute housing, mm; the tongue sits at the top of the part frame. */
#define H_R0 80.0f    /* volute outer radius at the tongue */
#define H_R1 112.0f   /* ... after one turn */
#define H_BORE 40.0f  /* inlet bore */
#define H_FACE 60.0f  /* outer radius of the machined inlet face */
#define H_GROOVE 3.0f
#define H_LUG 13.0f   /* mounting lug radius */
#define H_LUGHOLE 5.5f
#define H_PAD_T 4.5f   /* a flat, machined ID pad on the volute: its angle from the tongue, */
#define H_PAD_R 100.0f /* its centre radius, */
#define H_PAD_HW 36.0f /* and half width */

/* Stepped shaft: sections along u, mm. */
static const struct {
    float u0, u1, r;
} s_sec[6] = {{-210, -172, 17}, {-172, -105, 26}, {-105, 38, 45},
              {38, 56, 52},     {56, 150, 30},    {150, 210, 20}};
#define S_NSEC 6
#define S_JOURNAL 1 /* the bearing journal: RA_GENCORE_JOURNAL_MM across, less its wear */
#define S_KEY_U0 76.0f  /* keyway in section 4: a slot of half width 6 mm */
#define S_KEY_U1 134.0f
#define S_KEY_HW 6.0f
#define S_THREAD_U0 156.0f /* thread on section 5, pitch 2 mm */
#define S_THREAD_PITCH 2.0f

static inline float s_maxf(float a, float b)
{
    return a > b ? a : b;
}

static inline float s_minf(float a, float b)
{
    return a < b ? a : b;
}

/* Signed distance to an axis-aligned box of half sizes (hx, hy), corners rounded by rr. */
static inline float s_sdbox(float px, float py, float hx, float hy, float rr)
{
    float qx = fabsf(px) - (hx - rr), qy = fabsf(py) - (hy - rr);
    float ox = s_maxf(qx, 0.0f), oy = s_maxf(qy, 0.0f);
    return sqrtf(ox * ox + oy * oy) + s_minf(s_maxf(qx, qy), 0.0f) - rr;
}

/* Smooth union of two distances: a cast fillet of radius ~k where the bodies meet, and no
 * internal faces (which would otherwise shade as edges). */
static inline float s_smin(float a, float b, float k)
{
    if (b - a >= k) /* also keeps "far" sentinels (1e9) out of the arithmetic */
        return a;
    if (a - b >= k)
        return b;
    float h = 0.5f + 0.5f * (b - a) / k;
    return b + (a - b) * h - k * h * (1.0f - h);
}

static inline float s_volute_r(float t)
{
    return H_R0 + (H_R1 - H_R0) * t * (float) (1.0 / (2.0 * GC_PI));
}

/* ---- pose -------------------------------------------------------------------------------- */

void gc_to_part(const gc_t *g, double x, double y, double *u, double *v)
{
    double dx = x - g->cx, dy = y - g->cy;
    *u = (dx * g->ca + dy * g->sa) * g->mmpp + g->uc;
    *v = (-dx * g->sa + dy * g->ca) * g->mmpp + g->vc;
}

void gc_to_pixel(const gc_t *g, double u, double v, double *x, double *y)
{
    double du = (u - g->uc) * g->inv_mmpp, dv = (v - g->vc) * g->inv_mmpp;
    *x = g->cx + du * g->ca - dv * g->sa;
    *y = g->cy + du * g->sa + dv * g->ca;
}

/* Points on the part's outline (part coordinates, mm), enough to size and centre the
 * rotated part in the frame, and their axis-aligned extent. */
#define OUTLINE_MAX 1024
typedef struct s_outline {
    double e[4]; /* u0, u1, v0, v1 */
    double p[OUTLINE_MAX][2];
    int n;
} s_outline_t;

static void s_extent_add(s_outline_t *o, double u, double v)
{
    if (u < o->e[0])
        o->e[0] = u;
    if (u > o->e[1])
        o->e[1] = u;
    if (v < o->e[2])
        o->e[2] = v;
    if (v > o->e[3])
        o->e[3] = v;
    if (o->n < OUTLINE_MAX) {
        o->p[o->n][0] = u;
        o->p[o->n][1] = v;
        o->n++;
    }
}

static void s_extent_circle(s_outline_t *o, double u, double v, double r, int n)
{
    for (int i = 0; i < n; i++) {
        double s, c;
        gc_sincos(i * 2 * GC_PI / n, &s, &c);
        s_extent_add(o, u + r * c, v + r * s);
    }
}

static void s_fill_tab(float *tab, gc_rng_t *rng)
{
    for (int i = 0; i < GC_TAB; i++)
        tab[i] = (float) gc_rng_range(rng, -1.0, 1.0);
}

/* Shading across a turned cylinder, n = v / r from -1 (top) to 1: Lambert plus a narrow
 * specular band (exponent 48 by repeated squaring), light tilted by lv. */
static void s_fill_cyl(gc_t *g)
{
    double lv = g->ldir_v;
    double lz = 0.8, ln = 0.6 * lv;
    double hn = ln, hz = lz + 1.0, hl = sqrt(hn * hn + hz * hz);
    hn /= hl;
    hz /= hl;
    for (int i = 0; i <= 512; i++) {
        double n = i / 256.0 - 1.0;
        double nz = sqrt(1.0 - n * n > 0 ? 1.0 - n * n : 0.0);
        double diff = n * ln + nz * lz;
        if (diff < 0)
            diff = 0;
        double sp = n * hn + nz * hz;
        if (sp < 0)
            sp = 0;
        double s16 = sp * sp;
        s16 *= s16;
        s16 *= s16;
        s16 *= s16;
        double s48 = s16 * s16 * s16;
        g->cyl_tab[i] = (float) (0.22 + 0.62 * diff + 0.45 * s48);
    }
}

static int s_grid_init(gc_grid_t *gr, const gc_t *g, float k, uint32_t seed)
{
    gr->k = k;
    gr->nx = (int) ((float) g->w * k) + 3;
    gr->ny = (int) ((float) g->h * k) + 3;
    gr->v = malloc(sizeof(float) * (size_t) gr->nx * (size_t) gr->ny);
    if (!gr->v)
        return rv_fail(RV_ENOMEM, "ra_gencore", "out of memory");
    for (int j = 0; j < gr->ny; j++)
        for (int i = 0; i < gr->nx; i++)
            gr->v[(size_t) j * (size_t) gr->nx + i] = gc_hash01(i, j, seed);
    return RV_OK;
}

int gc_shape_setup(gc_t *g)
{
    gc_rng_t pose, tex;
    gc_rng_init(&pose, g->p.seed, GC_POSE);
    gc_rng_init(&tex, g->p.seed, GC_TEXTURE);
    s_outline_t ol; /* 16 kB */
    ol.e[0] = ol.e[2] = 1e9;
    ol.e[1] = ol.e[3] = -1e9;
    ol.n = 0;
    double max_ang = 0;
    switch (g->p.shape) {
    case RA_GENCORE_DISC: {
        s_extent_circle(&ol, 0, 0, D_ROUT, 720);
        ol.e[0] = ol.e[2] = -D_ROUT;
        ol.e[1] = ol.e[3] = D_ROUT;
        max_ang = 36.0; /* the bolt pattern repeats every 72 degrees */
        /* the bolt circle sits at the same place relative to the part mark on every disc
         * (the draw keeps the random stream as it was) */
        (void) gc_rng_range(&pose, 0, 2 * GC_PI / 5);
        double a0 = GC_PI / 10;
        for (int k = 0; k < 5; k++) {
            double s, c;
            gc_sincos(a0 + k * 2 * GC_PI / 5, &s, &c);
            g->hole_u[k] = D_RPC * c;
            g->hole_v[k] = D_RPC * s;
        }
        snprintf(g->part_number, sizeof g->part_number, "BRK-DISC-300");
        snprintf(g->family, sizeof g->family, "demo-disc");
        break;
    }
    case RA_GENCORE_HOUSING: {
        g->volute_t0 = -GC_PI / 2;
        g->cast = 1;
        max_ang = 15.0;
        static const double lug_t[3] = {1.9, 3.7, 5.3};
        for (int k = 0; k < 3; k++) {
            double s, c, r = s_volute_r((float) lug_t[k]) + 2.0;
            gc_sincos(lug_t[k] + g->volute_t0, &s, &c);
            g->lug_u[k] = r * c;
            g->lug_v[k] = r * s;
            s_extent_circle(&ol, g->lug_u[k], g->lug_v[k], H_LUG, 32);
        }
        for (int i = 0; i < 720; i++) {
            double t = i * 2 * GC_PI / 720, s, c, r = s_volute_r((float) t);
            gc_sincos(t + g->volute_t0, &s, &c);
            s_extent_add(&ol, r * c, r * s);
        }
        {
            double s, c;
            gc_sincos(H_PAD_T + g->volute_t0, &s, &c);
            g->pad_u = H_PAD_R * c;
            g->pad_v = H_PAD_R * s;
            g->pad_c = c;
            g->pad_s = s;
            for (int k = 0; k < 4; k++) {
                double a = (k & 1 ? 1 : -1) * H_PAD_HW, b = (k & 2 ? 1 : -1) * H_PAD_HW;
                s_extent_add(&ol, g->pad_u + a * c - b * s, g->pad_v + a * s + b * c);
            }
        }
        s_extent_add(&ol, 138, -120); /* outlet flange */
        s_extent_add(&ol, 138, -54);
        snprintf(g->part_number, sizeof g->part_number, "TRB-HSG-260");
        snprintf(g->family, sizeof g->family, "demo-housing");
        break;
    }
    case RA_GENCORE_SHAFT:
        for (int k = 0; k < S_NSEC; k++) {
            s_extent_add(&ol, s_sec[k].u0, -s_sec[k].r);
            s_extent_add(&ol, s_sec[k].u0, s_sec[k].r);
            s_extent_add(&ol, s_sec[k].u1, -s_sec[k].r);
            s_extent_add(&ol, s_sec[k].u1, s_sec[k].r);
        }
        max_ang = 5.0;
        snprintf(g->part_number, sizeof g->part_number, "SHF-STEP-420");
        snprintf(g->family, sizeof g->family, "demo-shaft");
        break;
    }
    snprintf(g->serial, sizeof g->serial, "RC-%06llu",
             (unsigned long long) (g->p.seed % 1000000u));
    g->ext_u0 = ol.e[0];
    g->ext_u1 = ol.e[1];
    g->ext_v0 = ol.e[2];
    g->ext_v1 = ol.e[3];
    g->uc = (ol.e[0] + ol.e[1]) / 2;
    g->vc = (ol.e[2] + ol.e[3]) / 2;

    /* Pose: a small rotation, the part scaled to span ~80 % of the frame, and an offset
     * that keeps it inside. mm_per_px is rounded (up) to 1e-6 so the JSON value is exact. */
    g->ang = gc_rng_range(&pose, -max_ang, max_ang) * GC_PI / 180.0;
    if (g->p.canonical) /* the master pose the family's zones are drawn on */
        g->ang = 0;
    /* a portrait frame gets the part's long side along its long side */
    if (g->h > g->w && g->p.shape != RA_GENCORE_DISC)
        g->ang += GC_PI / 2;
    gc_sincos(g->ang, &g->sa, &g->ca);
    /* the rotated outline's extent on screen (mm) and its centre relative to (uc, vc) */
    double x0 = 1e9, x1 = -1e9, y0 = 1e9, y1 = -1e9;
    for (int i = 0; i < ol.n; i++) {
        double du = ol.p[i][0] - g->uc, dv = ol.p[i][1] - g->vc;
        double x = du * g->ca - dv * g->sa, y = du * g->sa + dv * g->ca;
        x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
    }
    double rw = x1 - x0, rh = y1 - y0;
    /* The scale is the camera's, fixed for a shape and frame size like a station's
     * calibrated camera: the unrotated part spans 80 % of the frame (in the frame's long
     * direction for a portrait frame), whatever the pose of this one. */
    double fill = 0.80;
    double uw = g->ext_u1 - g->ext_u0, vh = g->ext_v1 - g->ext_v0;
    if (g->h > g->w && g->p.shape != RA_GENCORE_DISC) {
        double t = uw;
        uw = vh;
        vh = t;
    }
    double mmpp = uw / (fill * g->w);
    if (vh / (fill * g->h) > mmpp)
        mmpp = vh / (fill * g->h);
    /* a rotated part must still fit inside the frame */
    if (rw / (0.96 * g->w) > mmpp)
        mmpp = rw / (0.96 * g->w);
    if (rh / (0.96 * g->h) > mmpp)
        mmpp = rh / (0.96 * g->h);
    g->mmpp = ceil(mmpp * 1e6) / 1e6;
    g->inv_mmpp = 1.0 / g->mmpp;
    double slack_x = g->w - rw * g->inv_mmpp, slack_y = g->h - rh * g->inv_mmpp;
    double off_x = gc_rng_range(&pose, -0.3, 0.3), off_y = gc_rng_range(&pose, -0.3, 0.3);
    if (g->p.canonical)
        off_x = off_y = 0;
    g->cx = (g->w - 1) / 2.0 - (x0 + x1) / 2 * g->inv_mmpp + off_x * fmin(slack_x, 0.25 * g->w);
    g->cy = (g->h - 1) / 2.0 - (y0 + y1) / 2 * g->inv_mmpp + off_y * fmin(slack_y, 0.25 * g->h);

    /* Lighting: a lamp to the upper left, brighter towards it, with vignetting. */
    double la = gc_rng_range(&pose, 200, 250) * GC_PI / 180.0, ls, lc;
    gc_sincos(la, &ls, &lc);
    g->ldir_x = (float) lc;
    g->ldir_y = (float) ls;
    g->ldir_u = (float) (lc * g->ca + ls * g->sa);
    g->ldir_v = (float) (-lc * g->sa + ls * g->ca);
    double half_diag = sqrt((double) g->w * g->w + (double) g->h * g->h) / 2;
    double gain = gc_rng_range(&pose, 0.10, 0.20);
    g->l0 = (float) gc_rng_range(&pose, 0.94, 1.02);
    g->lgx = (float) (gain * lc / half_diag);
    g->lgy = (float) (gain * ls / half_diag);
    g->vig = (float) (gc_rng_range(&pose, 0.10, 0.20) / (half_diag * half_diag));
    g->vcx = (float) ((g->w - 1) / 2.0);
    g->vcy = (float) ((g->h - 1) / 2.0);
    double ha = gc_rng_range(&pose, 0, GC_PI), hs, hc;
    gc_sincos(2 * ha, &hs, &hc);
    g->hl_c2 = (float) hc;
    g->hl_s2 = (float) hs;

    /* Metal colour: machined steel is slightly cool, cast iron slightly warm. */
    float jitter = (float) gc_rng_range(&pose, -0.01, 0.01);
    if (g->cast) {
        g->tint[0] = 1.03f + jitter;
        g->tint[1] = 1.0f;
        g->tint[2] = 0.95f - jitter;
    } else {
        g->tint[0] = 0.97f + jitter;
        g->tint[1] = 1.0f;
        g->tint[2] = 1.035f - jitter;
    }

    g->tex_seed = (uint32_t) gc_rng_next(&tex);
    if (s_grid_init(&g->fix_grid, g, 6.0f / (float) g->w, g->tex_seed ^ 0xABCu) != RV_OK ||
        s_grid_init(&g->blotch_grid, g, 1.0f / (0.03f * (float) (g->w < g->h ? g->w : g->h)),
                    g->tex_seed + 2u) != RV_OK)
        return RV_ENOMEM;
    s_fill_tab(g->ring_tab, &tex);
    s_fill_tab(g->band_tab, &tex);
    s_fill_tab(g->brush_tab, &tex);
    s_fill_cyl(g);
    return RV_OK;
}

/* ---- shapes ------------------------------------------------------------------------------ */

/* u, v of pixel x on row y is (ub + x dux, vb + x dvx). */
static void s_row_basis(const gc_t *g, int y, double *ub, double *dux, double *vb, double *dvx)
{
    double dy = y - g->cy;
    *ub = g->uc + (-g->cx * g->ca + dy * g->sa) * g->mmpp;
    *dux = g->ca * g->mmpp;
    *vb = g->vc + (g->cx * g->sa + dy * g->ca) * g->mmpp;
    *dvx = -g->sa * g->mmpp;
}

/* A bevel's brightness: n_dot_l is the bevel normal (in the surface plane) against the
 * light; a 45-degree chamfer facing the lamp shines, one facing away is in shadow. */
static inline float s_bevel(float n_dot_l)
{
    return 0.70f + 0.45f * n_dot_l;
}

static void s_disc_span(const gc_t *g, int y, int x0, int n, gc_finish_t fin, float *sdf_px,
                        float *tone, float *bgf)
{
    double ub, dux, vb, dvx;
    s_row_basis(g, y, &ub, &dux, &vb, &dvx);
    const float ip = (float) g->inv_mmpp;
    for (int i = 0; i < n; i++) {
        int x = x0 + i;
        float u = (float) (ub + x * dux), v = (float) (vb + x * dvx);
        float r2 = u * u + v * v, r = sqrtf(r2);
        float inv_r = r > 1e-3f ? 1.0f / r : 0.0f;
        float lit_r = (u * g->ldir_u + v * g->ldir_v) * inv_r;
        float sdf = r - D_ROUT, hole = 0.0f, shade = 1.0f, w;
        if (D_RBORE - r > sdf)
            sdf = D_RBORE - r;
        if (r < D_RBORE)
            hole = 1.0f;
        /* bevels: outer edge 1.6 mm, bore 2 mm, bolt holes 1 mm */
        w = gc_clampf((1.6f - (D_ROUT - r)) * ip + 0.5f, 0.0f, 1.0f);
        shade += w * (s_bevel(lit_r) - 1.0f);
        w = gc_clampf((2.0f - (r - D_RBORE)) * ip + 0.5f, 0.0f, 1.0f);
        shade += w * (s_bevel(-lit_r) - 1.0f);
        if (fabsf(r - D_RPC) < D_RHOLE + 3.0f) {
            for (int k = 0; k < 5; k++) {
                float du = u - (float) g->hole_u[k], dv = v - (float) g->hole_v[k];
                float d2 = du * du + dv * dv;
                if (d2 > (D_RHOLE + 3.0f) * (D_RHOLE + 3.0f))
                    continue;
                float d = sqrtf(d2);
                if (D_RHOLE - d > sdf)
                    sdf = D_RHOLE - d;
                if (d < D_RHOLE)
                    hole = 1.0f;
                float lit_h = d > 1e-3f ? -(du * g->ldir_u + dv * g->ldir_v) / d : 0.0f;
                w = gc_clampf((1.0f - (d - D_RHOLE)) * ip + 0.5f, 0.0f, 1.0f);
                shade += w * (s_bevel(lit_h) - 1.0f);
            }
        }
        float rp = r * ip;
        float marks = gc_tab1(g->ring_tab, rp * 0.45f);
        float band = gc_tab1(g->band_tab, rp * 0.04f);
        /* turned faces throw a bow-tie highlight: brightest along one diameter */
        float hd = ((u * u - v * v) * g->hl_c2 + 2.0f * u * v * g->hl_s2) * inv_r * inv_r;
        float h = hd > 0 ? hd * hd : 0.0f;
        h *= h;
        float wa = gc_clampf((r - D_RFI) * ip + 0.5f, 0.0f, 1.0f);
        float wb = gc_clampf((r - (D_RFI - D_GROOVE)) * ip + 0.5f, 0.0f, 1.0f);
        float base_ring = 146.0f + 66.0f * h, tex_ring = 9.0f * marks + 7.0f * band;
        float base_groove = 86.0f, tex_groove = 3.0f * marks;
        float base_hat = 118.0f + 14.0f * h, tex_hat = 0.0f;
        if (wb < 1.0f) {
            /* the hat is turned more coarsely and keeps some cast grain */
            tex_hat = 7.0f * gc_tab1(g->ring_tab, rp * 0.33f + 2048.0f) +
                      12.0f * (gc_vnoise2((float) x * 0.5f, (float) y * 0.5f, g->tex_seed) -
                               0.5f);
        }
        float base = base_hat + wb * (base_groove - base_hat + wa * (base_ring - base_groove));
        float tex = tex_hat + wb * (tex_groove - tex_hat + wa * (tex_ring - tex_groove));
        tone[i] = (base * fin.tone_gain + tex * fin.tex_gain) * shade;
        sdf_px[i] = sdf * ip;
        bgf[i] = hole > 0 ? 0.45f : 1.0f;
    }
}

static void s_housing_span(const gc_t *g, int y, int x0, int n, gc_finish_t fin, float *sdf_px,
                           float *tone, float *bgf)
{
    double ub, dux, vb, dvx;
    s_row_basis(g, y, &ub, &dux, &vb, &dvx);
    const float ip = (float) g->inv_mmpp;
    const float two_pi = (float) (2 * GC_PI);
    for (int i = 0; i < n; i++) {
        int x = x0 + i;
        float u = (float) (ub + x * dux), v = (float) (vb + x * dvx);
        float r = sqrtf(u * u + v * v);
        float inv_r = r > 1e-3f ? 1.0f / r : 0.0f;
        float lit_r = (u * g->ldir_u + v * g->ldir_v) * inv_r;
        float t = gc_atan2f(v, u) - (float) g->volute_t0;
        if (t < 0)
            t += two_pi;
        if (t >= two_pi)
            t -= two_pi;
        float rs = s_volute_r(t);
        float d_vol = r - rs;
        /* the duct starts 10 mm back inside the volute so that its end face is buried */
        float d_duct = s_sdbox(u - 60.0f, v + 87.0f, 70.0f, 25.0f, 3.0f);
        float d_fl = s_sdbox(u - 131.0f, v + 87.0f, 7.0f, 33.0f, 2.0f);
        float d_lug = 1e9f, d_hole = 1e9f;
        for (int k = 0; k < 3; k++) {
            float du = u - (float) g->lug_u[k], dv = v - (float) g->lug_v[k];
            float d2 = du * du + dv * dv;
            if (d2 > (H_LUG + 40.0f) * (H_LUG + 40.0f))
                continue;
            float d = sqrtf(d2);
            d_lug = s_minf(d_lug, d - H_LUG);
            d_hole = s_minf(d_hole, d - H_LUGHOLE);
        }
        float pu = u - (float) g->pad_u, pv = v - (float) g->pad_v;
        float pa = pu * (float) g->pad_c + pv * (float) g->pad_s;  /* radial */
        float pb = -pu * (float) g->pad_s + pv * (float) g->pad_c; /* tangential */
        float d_pad = s_sdbox(pa, pb, H_PAD_HW, H_PAD_HW, 6.0f);
        float outer = s_smin(s_smin(s_smin(d_vol, d_duct, 5.0f), d_lug, 4.0f), d_pad, 3.0f);
        outer = s_minf(outer, d_fl);
        float sdf = s_maxf(outer, s_maxf(H_BORE - r, -d_hole));
        float hole = (r < H_BORE || d_hole < 0) ? 1.0f : 0.0f;

        /* sand-cast grain: per-pixel speckle, a 2.5 px grain and slow blotches */
        float g1 = gc_hash01(x, y, g->tex_seed) - 0.5f;
        float g2 = gc_vnoise2((float) x * 0.4f, (float) y * 0.4f, g->tex_seed + 1u) - 0.5f;
        float g3 = gc_grid_at(&g->blotch_grid, (float) x, (float) y) - 0.5f;
        float tex_cast = 12.0f * g1 + 22.0f * g2 + 22.0f * g3;

        /* the volute and the duct are tubes: shade across their width */
        float nv = gc_clampf((r - (63.0f + rs) * 0.5f) / ((rs - 63.0f) * 0.5f), -1.0f, 1.0f);
        float bulge_v = 0.70f + 0.32f * (1.0f - nv * nv) + 0.24f * nv * lit_r;
        /* the duct continues the volute's channel (63..112 mm) where they meet */
        float nd = gc_clampf((-v - 87.0f) / 25.0f, -1.0f, 1.0f);
        float bulge_d = 0.70f + 0.32f * (1.0f - nd * nd) - 0.24f * nd * g->ldir_v;
        float wd = gc_clampf((d_vol - d_duct) / 6.0f + 0.5f, 0.0f, 1.0f);
        float bulge = bulge_v + wd * (bulge_d - bulge_v);
        float wl = gc_clampf((d_vol - d_lug) / 4.0f + 0.5f, 0.0f, 1.0f);
        bulge += wl * (0.93f - bulge);
        float base_cast = 122.0f * bulge;

        /* machined: the inlet face (turned, with highlight) and the outlet flange face */
        float rp = r * ip;
        float hd = ((u * u - v * v) * g->hl_c2 + 2.0f * u * v * g->hl_s2) * inv_r * inv_r;
        float h = hd > 0 ? hd * hd : 0.0f;
        float base_face = 150.0f + 40.0f * h * h;
        float tex_face = 8.0f * gc_tab1(g->ring_tab, rp * 0.45f) +
                         4.0f * gc_tab1(g->band_tab, rp * 0.05f);
        float wf = gc_clampf((H_FACE - r) * ip + 0.5f, 0.0f, 1.0f);
        float wg = gc_clampf((H_FACE + H_GROOVE - r) * ip + 0.5f, 0.0f, 1.0f);
        float base = base_cast + wg * (84.0f - base_cast + wf * (base_face - 84.0f));
        float tex = tex_cast + wg * (4.0f * g2 - tex_cast + wf * (tex_face - 4.0f * g2));
        float wfl = gc_clampf(-d_fl * ip + 0.5f, 0.0f, 1.0f);
        if (wfl > 0) {
            float base_fl = 150.0f, tex_fl = 8.0f * gc_tab1(g->ring_tab, v * ip * 0.45f + 777.0f);
            base += wfl * (base_fl - base);
            tex += wfl * (tex_fl - tex);
        }
        /* the ID pad is milled flat: straight tool marks, a little brighter */
        float wpd = gc_clampf(-d_pad * ip + 0.5f, 0.0f, 1.0f);
        if (wpd > 0) {
            float base_pd = 142.0f;
            float tex_pd = 7.0f * gc_tab1(g->ring_tab, pa * ip * 0.45f + 1555.0f) + 3.0f * g2;
            base += wpd * (base_pd - base);
            tex += wpd * (tex_pd - tex);
            wfl = fmaxf(wfl, wpd);
        }
        /* rounded cast edges fall away from the camera and darken; the bore has a bevel */
        float shade = 1.0f;
        if (outer > -4.0f && wfl < 1.0f)
            shade *= 0.62f + 0.38f * gc_clampf(-outer / 4.0f, 0.0f, 1.0f);
        if (wpd > 0 && d_pad > -2.0f) {
            /* the pad's milled rim: a 2 mm bevel facing outwards from the nearest side */
            float na = fabsf(pa) > fabsf(pb) ? (pa > 0 ? 1.0f : -1.0f) : 0.0f;
            float nb = na == 0.0f ? (pb > 0 ? 1.0f : -1.0f) : 0.0f;
            float nu = na * (float) g->pad_c - nb * (float) g->pad_s;
            float nvv = na * (float) g->pad_s + nb * (float) g->pad_c;
            float w = gc_clampf((2.0f + d_pad) * ip + 0.5f, 0.0f, 1.0f) * wpd;
            shade += w * (s_bevel(nu * g->ldir_u + nvv * g->ldir_v) * 0.85f - 1.0f);
        }
        float wbv = gc_clampf((1.5f - (r - H_BORE)) * ip + 0.5f, 0.0f, 1.0f);
        shade += wbv * (s_bevel(-lit_r) - 1.0f);
        if (d_hole < 1.2f)
            shade *= 0.7f;
        tone[i] = (base * fin.tone_gain + tex * fin.tex_gain) * shade;
        sdf_px[i] = sdf * ip;
        bgf[i] = hole > 0 ? 0.40f : 1.0f;
    }
}

/* Section k's radius, mm: the journal worn by the parameters' journal_wear_mm. */
static inline float s_radius(const gc_t *g, int k)
{
    return k == S_JOURNAL ? (float) ((RA_GENCORE_JOURNAL_MM - g->p.journal_wear_mm) / 2)
                          : s_sec[k].r;
}

static void s_shaft_span(const gc_t *g, int y, int x0, int n, gc_finish_t fin, float *sdf_px,
                         float *tone, float *bgf)
{
    double ub, dux, vb, dvx;
    s_row_basis(g, y, &ub, &dux, &vb, &dvx);
    const float ip = (float) g->inv_mmpp;
    const float pitch_px = S_THREAD_PITCH * ip;
    for (int i = 0; i < n; i++) {
        int x = x0 + i;
        float u = (float) (ub + x * dux), v = (float) (vb + x * dvx);
        int k = 0;
        while (k < S_NSEC - 1 && u >= s_sec[k].u1)
            k++;
        float sdf = 1e9f;
        for (int j = k - 1; j <= k + 1; j++) {
            if (j < 0 || j >= S_NSEC)
                continue;
            float hl = (s_sec[j].u1 - s_sec[j].u0) * 0.5f;
            float d = s_sdbox(u - (s_sec[j].u0 + hl), v, hl, s_radius(g, j), 1.2f);
            sdf = s_minf(sdf, d);
        }
        float nrm = gc_clampf(v / s_radius(g, k), -1.0f, 1.0f);
        float cyl = g->cyl_tab[(int) ((nrm + 1.0f) * 256.0f)];
        float up = u * ip;
        float marks = gc_tab1(g->ring_tab, up * 0.45f);
        float band = gc_tab1(g->band_tab, up * 0.05f);
        float base = 200.0f * cyl, tex = (9.0f * marks + 5.0f * band) * (0.5f + cyl);
        float shade = 1.0f;
        if (k == 4) {
            float cu = u < S_KEY_U0 ? S_KEY_U0 : u > S_KEY_U1 ? S_KEY_U1 : u;
            float dk = sqrtf((u - cu) * (u - cu) + v * v) - S_KEY_HW;
            float a = gc_clampf(-dk * ip + 0.5f, 0.0f, 1.0f);
            /* the slot floor is in shadow, its far wall catches a little light */
            shade *= 1.0f - a * (0.62f - 0.15f * gc_clampf(v / S_KEY_HW, -1.0f, 1.0f) *
                                             g->ldir_v);
        }
        if (k == 5 && u > S_THREAD_U0) {
            float f = 0.8f;
            if (pitch_px >= 3.0f) {
                float ph = u / S_THREAD_PITCH;
                ph -= floorf(ph);
                f = 0.62f + 0.38f * fabsf(2.0f * ph - 1.0f);
            }
            float a = gc_clampf((u - S_THREAD_U0) * ip, 0.0f, 1.0f);
            shade *= 1.0f + a * (f - 1.0f);
        }
        tone[i] = (base * fin.tone_gain + tex * fin.tex_gain) * shade;
        sdf_px[i] = sdf * ip;
        bgf[i] = 1.0f;
    }
}

void gc_shape_span(const gc_t *g, int y, int x0, int n, gc_finish_t fin, float *sdf_px,
                   float *tone, float *bgf)
{
    switch (g->p.shape) {
    case RA_GENCORE_DISC: s_disc_span(g, y, x0, n, fin, sdf_px, tone, bgf); break;
    case RA_GENCORE_HOUSING: s_housing_span(g, y, x0, n, fin, sdf_px, tone, bgf); break;
    case RA_GENCORE_SHAFT: s_shaft_span(g, y, x0, n, fin, sdf_px, tone, bgf); break;
    }
}

/* ---- light, fixture, composition --------------------------------------------------------- */

/* A dark, matte, lightly brushed fixture plate; the part shades it nearby (within 7 mm)
 * and holes show it darker still. */
float gc_fixture(const gc_t *g, int x, int y, float sdf_mm, float bgf)
{
    float base = 46.0f + 7.0f * (gc_hash01(x, y, g->tex_seed ^ 0x55u) - 0.5f) +
                 2.0f * gc_tab1(g->brush_tab, (float) x * 0.7f + (float) y * 0.013f) +
                 10.0f * (gc_grid_at(&g->fix_grid, (float) x, (float) y) - 0.5f);
    return base * gc_light(g, x, y) * bgf * gc_fixture_ao(sdf_mm);
}

float gc_fixture_ao(float sdf_mm)
{
    if (sdf_mm >= 7.0f)
        return 1.0f;
    float t = gc_clampf(1.0f - sdf_mm / 7.0f, 0.0f, 1.0f);
    return 1.0f - 0.55f * t * t;
}

void gc_compose_span(const gc_t *g, int y, int x0, int n, const float *sdf_px,
                     const float *tone, const float *bgf, uint8_t *rgb)
{
    static const float bg_tint[3] = {0.98f, 1.0f, 1.03f};
    for (int i = 0; i < n; i++) {
        int x = x0 + i;
        float cov = gc_clampf(0.5f - sdf_px[i], 0.0f, 1.0f);
        float lt = gc_light(g, x, y);
        float metal = tone[i] * lt;
        float fix = cov < 1.0f ? gc_fixture(g, x, y, sdf_px[i] * (float) g->mmpp, bgf[i]) : 0;
        uint8_t *p = rgb + 3 * (size_t) x;
        for (int c = 0; c < 3; c++) {
            float val = cov * metal * g->tint[c] + (1.0f - cov) * fix * bg_tint[c];
            val = gc_clampf(val + 0.5f, 0.0f, 255.0f);
            p[c] = (uint8_t) val;
        }
    }
}

/* ---- places for marks and defects, per shape --------------------------------------------- */

void gc_outline_point(const gc_t *g, gc_rng_t *rng, double *u, double *v, double *nu,
                      double *nv)
{
    double s, c;
    switch (g->p.shape) {
    case RA_GENCORE_DISC:
        gc_sincos(gc_rng_range(rng, 0, 2 * GC_PI), &s, &c);
        *u = D_ROUT * c;
        *v = D_ROUT * s;
        *nu = c;
        *nv = s;
        break;
    case RA_GENCORE_HOUSING: {
        /* the volute's rim, away from the tongue and the lugs */
        double t;
        for (;;) {
            t = gc_rng_range(rng, 0.4, 2 * GC_PI - 0.5);
            if (fabs(t - 1.9) > 0.4 && fabs(t - 3.7) > 0.4 && fabs(t - 5.3) > 0.4 &&
                fabs(t - H_PAD_T) > 0.55)
                break;
        }
        gc_sincos(t + g->volute_t0, &s, &c);
        double r = s_volute_r((float) t);
        *u = r * c;
        *v = r * s;
        *nu = c;
        *nv = s;
        break;
    }
    case RA_GENCORE_SHAFT: {
        static const int big[3] = {1, 2, 4};
        int k = big[gc_rng_int(rng, 0, 2)];
        *u = gc_rng_range(rng, s_sec[k].u0 + 8, s_sec[k].u1 - 8);
        double side = gc_rng_unit(rng) < 0.5 ? -1.0 : 1.0;
        *v = side * s_radius(g, k);
        *nu = 0;
        *nv = side;
        break;
    }
    }
}

void gc_wear_pick(const gc_t *g, gc_rng_t *rng, gc_wear_t *w)
{
    memset(w, 0, sizeof *w);
    switch (g->p.shape) {
    case RA_GENCORE_DISC:
        /* a polished track on the friction ring (pad contact) */
        w->r0 = gc_rng_range(rng, D_RFI + 4, 124);
        w->r1 = w->r0 + gc_rng_range(rng, 12, 24);
        if (w->r1 > D_ROUT - 4)
            w->r1 = D_ROUT - 4;
        w->phi = gc_rng_range(rng, -GC_PI, GC_PI);
        w->half_span = gc_rng_range(rng, 0.45, 1.2);
        break;
    case RA_GENCORE_HOUSING:
        /* seal rub on the inlet face */
        w->r0 = gc_rng_range(rng, H_BORE + 2, H_BORE + 6);
        w->r1 = w->r0 + gc_rng_range(rng, 7, 12);
        if (w->r1 > H_FACE - 1)
            w->r1 = H_FACE - 1;
        w->phi = gc_rng_range(rng, -GC_PI, GC_PI);
        w->half_span = gc_rng_range(rng, 0.6, 1.4);
        break;
    case RA_GENCORE_SHAFT: {
        /* a bearing or seal seat worn bright all round */
        static const int seats[3] = {1, 2, 4};
        int k = seats[gc_rng_int(rng, 0, 2)];
        double len = s_sec[k].u1 - s_sec[k].u0;
        double width = gc_rng_range(rng, 12, 28);
        if (width > len - 12)
            width = len - 12;
        w->axial = 1;
        w->u0 = gc_rng_range(rng, s_sec[k].u0 + 6, s_sec[k].u1 - 6 - width);
        w->u1 = w->u0 + width;
        w->rv = s_sec[k].r + 2;
        break;
    }
    }
}

int gc_wear_inside(const gc_t *g, const gc_wear_t *w, double x, double y, double *edge_px)
{
    double u, v;
    gc_to_part(g, x, y, &u, &v);
    double e;
    if (w->axial) {
        if (fabs(v) > w->rv) {
            *edge_px = -1e9;
            return 0;
        }
        e = u - w->u0 < w->u1 - u ? u - w->u0 : w->u1 - u;
    } else {
        double r = sqrt(u * u + v * v);
        double er = r - w->r0 < w->r1 - r ? r - w->r0 : w->r1 - r;
        double d = gc_atan2f((float) v, (float) u) - w->phi;
        while (d > GC_PI)
            d -= 2 * GC_PI;
        while (d < -GC_PI)
            d += 2 * GC_PI;
        double ea = (w->half_span - fabs(d)) * r;
        e = er < ea ? er : ea;
    }
    *edge_px = e * g->inv_mmpp;
    return *edge_px >= 0;
}

void gc_code_nominal(const gc_t *g, double *u, double *v, double *angle)
{
    /* where the maker marks every part of the family: a fixed place in the part's frame,
     * as direct part marks are in practice (the inspection then finds it in one place) */
    switch (g->p.shape) {
    case RA_GENCORE_DISC:
        *u = 0;
        *v = 111;
        *angle = 0;
        break;
    case RA_GENCORE_HOUSING:
        *u = g->pad_u;
        *v = g->pad_v;
        *angle = H_PAD_T + g->volute_t0 + GC_PI / 2;
        break;
    case RA_GENCORE_SHAFT:
        *u = (s_sec[2].u0 + s_sec[2].u1) / 2;
        *v = 0;
        *angle = 0;
        break;
    }
}

void gc_code_candidate(const gc_t *g, gc_rng_t *rng, double *u, double *v, double *angle)
{
    double s, c;
    switch (g->p.shape) {
    case RA_GENCORE_DISC: {
        /* on the friction ring, along its tangent */
        double phi = gc_rng_range(rng, -GC_PI, GC_PI);
        double r = gc_rng_range(rng, 98, 124);
        gc_sincos(phi, &s, &c);
        *u = r * c;
        *v = r * s;
        *angle = phi + GC_PI / 2;
        break;
    }
    case RA_GENCORE_HOUSING:
        if (gc_rng_unit(rng) < 0.5) {
            /* along the outlet duct */
            *u = gc_rng_range(rng, 35, 100);
            *v = -87 + gc_rng_range(rng, -0.5, 0.5);
            *angle = 0;
        } else {
            /* on the ID pad, square to it */
            *u = g->pad_u + gc_rng_range(rng, -2, 2);
            *v = g->pad_v + gc_rng_range(rng, -2, 2);
            *angle = H_PAD_T + g->volute_t0 + GC_PI / 2;
        }
        break;
    case RA_GENCORE_SHAFT:
        /* on the main body, along the axis */
        *u = gc_rng_range(rng, s_sec[2].u0 + 30, s_sec[2].u1 - 30);
        *v = gc_rng_range(rng, -3, 3);
        *angle = 0;
        break;
    }
}
