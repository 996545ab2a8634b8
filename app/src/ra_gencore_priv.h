/* ra_gencore_priv.h - what the ra_gencore_*.c files share: the object, the random
 * streams, the noise functions and the shading entry points. Not installed.
 *
 * Units: suffix _px for pixels, _mm for millimetres; "part coordinates" (u, v) are
 * millimetres in the part's own frame (u right, v down before the pose rotation). */
#ifndef RA_GENCORE_PRIV_H
#define RA_GENCORE_PRIV_H

#include <math.h>
#include <stdint.h>

#include "ra/ra_gencore.h"

#define GC_PI 3.14159265358979323846
#define GC_MAX_DEFECTS (RA_DEFECT_NTYPES * RA_GENCORE_MAX_PER_TYPE)
#define GC_MAX_BOXES (GC_MAX_DEFECTS + 2)
#define GC_TAB 4096 /* entries of the 1-D noise tables (a power of two) */

/* A finish modifies the surface: wear bands are brighter with their tool marks polished
 * away. The plain surface is {1, 1}. */
typedef struct gc_finish {
    float tex_gain;  /* scales texture deviations from the base tone */
    float tone_gain; /* scales the base tone */
} gc_finish_t;

/* A coarse value-noise lattice held in memory: the values gc_vnoise2(x * k, y * k, seed)
 * would hash, looked up instead (slow noise is sampled at every pixel of the frame). */
typedef struct gc_grid {
    float k;      /* lattice cells per pixel */
    int nx, ny;   /* lattice points */
    float *v;     /* nx * ny values in [0, 1) */
} gc_grid_t;

/* Wear region: an annular sector around the part origin (disc, housing) or an axial band
 * across one shaft section. Part coordinates. */
typedef struct gc_wear {
    int axial;              /* 1: band u0..u1 across |v| < rv; 0: annular sector */
    double r0, r1;          /* sector radii, mm */
    double phi, half_span;  /* sector direction and half opening, rad */
    double u0, u1, rv;      /* axial band, mm */
} gc_wear_t;

struct ra_gencore {
    ra_gencore_params_t p;
    int w, h;

    /* Pose: part coordinate (uc, vc) sits at frame point (cx, cy), rotated by ang. */
    double mmpp, inv_mmpp;
    double cx, cy, ang, ca, sa;
    double uc, vc;
    double ext_u0, ext_u1, ext_v0, ext_v1; /* the part's extent, part coordinates */
    int cast;                              /* 1: cast finish dominates (housing) */

    /* Shape details. */
    double hole_u[5], hole_v[5];  /* disc bolt holes (the pattern's angle is drawn) */
    double lug_u[3], lug_v[3];    /* housing mounting lugs */
    double pad_u, pad_v, pad_c, pad_s; /* housing ID pad: centre and radial direction */
    double volute_t0;             /* housing: angle of the tongue, rad */
    float tint[3];                /* metal colour balance */

    /* Lighting: L = l0 + lgx dx + lgy dy - vig (dx^2 + dy^2) about the frame centre
     * (vcx, vcy), and the direction towards the lamp. */
    float l0, lgx, lgy, vig, vcx, vcy;
    float ldir_x, ldir_y;   /* in the image, unit */
    float ldir_u, ldir_v;   /* in part coordinates */
    float hl_c2, hl_s2;     /* disc: direction of the anisotropic highlight, as cos/sin 2a */

    uint32_t tex_seed;      /* value-noise seed for textures */
    gc_grid_t fix_grid;     /* fixture: slow mottling */
    gc_grid_t blotch_grid;  /* cast surface: blotches */
    float ring_tab[GC_TAB]; /* 1-D noise: fine tool marks */
    float band_tab[GC_TAB]; /* 1-D noise: coarse banding */
    float brush_tab[GC_TAB]; /* 1-D noise: fixture brushing */
    float cyl_tab[513];     /* shaft: shading across the diameter, n = -1..1 */

    /* Output. */
    rv_image_t *rgb, *labels;
    uint8_t *jpeg;
    size_t jpeg_len;
    char *json;
    char serial[16], part_number[24], family[24];
    ra_gencore_code_t code;
    int have_code;
    ra_gencore_defect_t defects[GC_MAX_DEFECTS];
    gc_wear_t wear[GC_MAX_DEFECTS];
    size_t ndefects;
    long label_counts[RA_LABEL_COUNT];
    long part_area_px;
    int part_bbox[4];

    /* Rectangles [x0, y0, x1, y1) that new defects must not touch (code, defects). */
    int boxes[GC_MAX_BOXES][4];
    int nboxes;

    /* Scratch rows, width floats each. */
    float *row_sdf, *row_tone, *row_bgf;
    uint8_t *row_rgb;
};

typedef struct ra_gencore gc_t;

/* xorshift64* streams; each purpose has its own so that, e.g., asking for more defects
 * never moves the pose. */
typedef struct gc_rng {
    uint64_t s;
} gc_rng_t;

enum gc_stream { GC_POSE = 1, GC_TEXTURE, GC_CODE, GC_DEFECTS, GC_NOISE };

void gc_rng_init(gc_rng_t *rng, uint64_t seed, int stream);
uint64_t gc_rng_next(gc_rng_t *rng);
double gc_rng_unit(gc_rng_t *rng);               /* [0, 1) */
double gc_rng_range(gc_rng_t *rng, double a, double b);
int gc_rng_int(gc_rng_t *rng, int lo, int hi);   /* lo..hi inclusive */

/* Deterministic elementary functions (polynomials; no libm in the pixel path). */
void gc_sincos(double a, double *s, double *c);
float gc_atan2f(float y, float x);

static inline float gc_clampf(float x, float lo, float hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* Integer hash of a lattice point: the source of every texture, so textures need no
 * state and any pixel can be re-evaluated alone. Inline: it runs several times a pixel. */
static inline uint32_t gc_hash(int32_t x, int32_t y, uint32_t seed)
{
    uint32_t h = (uint32_t) x * 0x8DA6B343u ^ (uint32_t) y * 0xD8163841u ^ seed * 0xCB1AB31Fu;
    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    h *= 0x297A2D39u;
    h ^= h >> 15;
    return h;
}

/* White noise in [0, 1) per lattice point. */
static inline float gc_hash01(int32_t x, int32_t y, uint32_t seed)
{
    return (float) (gc_hash(x, y, seed) >> 8) * (1.0f / 16777216.0f);
}

/* floor for |x| < 2^31 without a libm call (baseline x86-64 has no SSE4.1 round). */
static inline int32_t gc_ifloor(float x)
{
    int32_t i = (int32_t) x;
    return i - (x < (float) i);
}

/* Value noise in [0, 1) on a unit lattice, smoothstep-interpolated to hide the lattice. */
static inline float gc_vnoise2(float x, float y, uint32_t seed)
{
    int32_t ix = gc_ifloor(x), iy = gc_ifloor(y);
    float fx = (float) ix, fy = (float) iy;
    float tx = x - fx, ty = y - fy;
    tx = tx * tx * (3.0f - 2.0f * tx);
    ty = ty * ty * (3.0f - 2.0f * ty);
    float a = gc_hash01(ix, iy, seed), b = gc_hash01(ix + 1, iy, seed);
    float c = gc_hash01(ix, iy + 1, seed), d = gc_hash01(ix + 1, iy + 1, seed);
    float top = a + (b - a) * tx, bot = c + (d - c) * tx;
    return top + (bot - top) * ty;
}

/* gc_vnoise2(x * k, y * k, seed) from the lattice, for pixel coordinates x, y >= 0. */
static inline float gc_grid_at(const gc_grid_t *gr, float x, float y)
{
    float sx = x * gr->k, sy = y * gr->k;
    int32_t ix = gc_ifloor(sx), iy = gc_ifloor(sy);
    if (ix < 0)
        ix = 0;
    if (iy < 0)
        iy = 0;
    if (ix > gr->nx - 2)
        ix = gr->nx - 2;
    if (iy > gr->ny - 2)
        iy = gr->ny - 2;
    float tx = gc_clampf(sx - (float) ix, 0.0f, 1.0f), ty = gc_clampf(sy - (float) iy, 0.0f, 1.0f);
    tx = tx * tx * (3.0f - 2.0f * tx);
    ty = ty * ty * (3.0f - 2.0f * ty);
    const float *r0 = gr->v + (size_t) iy * (size_t) gr->nx + ix, *r1 = r0 + gr->nx;
    float top = r0[0] + (r0[1] - r0[0]) * tx, bot = r1[0] + (r1[1] - r1[0]) * tx;
    return top + (bot - top) * ty;
}

/* 1-D value noise from a GC_TAB-entry table of values in [-1, 1]. */
static inline float gc_tab1(const float *tab, float t)
{
    int32_t i = gc_ifloor(t);
    float ft = (float) i;
    float f = t - ft;
    f = f * f * (3.0f - 2.0f * f);
    float a = tab[(uint32_t) i & (GC_TAB - 1)], b = tab[(uint32_t) (i + 1) & (GC_TAB - 1)];
    return a + (b - a) * f;
}

/* Part coordinates of pixel (x, y), and back. */
void gc_to_part(const gc_t *g, double x, double y, double *u, double *v);
void gc_to_pixel(const gc_t *g, double u, double v, double *x, double *y);

/* Lighting factor and fixture colour (one value, neutral) at a pixel; sdf_mm > 0 is the
 * distance to the part, which shades the fixture (ambient occlusion). */
static inline float gc_light(const gc_t *g, int x, int y)
{
    float dx = (float) x - g->vcx, dy = (float) y - g->vcy;
    return g->l0 + g->lgx * dx + g->lgy * dy - g->vig * (dx * dx + dy * dy);
}
float gc_fixture(const gc_t *g, int x, int y, float sdf_mm, float bgf);
/* The share of light the part leaves the fixture sdf_mm from its outline (gc_fixture's
 * contact shadow: 0.45 at the outline, 1 from 7 mm). */
float gc_fixture_ao(float sdf_mm);

/* The shape along row y, pixels x0..x0+n-1: signed distance to the outline in px
 * (negative inside material), the surface tone (0..255, before lighting) and the
 * fixture factor (darker inside holes). */
void gc_shape_span(const gc_t *g, int y, int x0, int n, gc_finish_t fin, float *sdf_px,
                   float *tone, float *bgf);
/* Compose a span into RGB (3 bytes per pixel). */
void gc_compose_span(const gc_t *g, int y, int x0, int n, const float *sdf_px,
                     const float *tone, const float *bgf, uint8_t *rgb);

/* The DataMatrix: encode the text, place it on free surface, paint it, label it. */
int gc_code_paint(gc_t *g);

/* Place and paint the defects the parameters ask for; fills g->defects. */
int gc_defects_paint(gc_t *g);
/* Wear membership: 1 when (x, y) lies inside, *edge_px the distance to the region's edge
 * (positive inside). */
int gc_wear_inside(const gc_t *g, const gc_wear_t *w, double x, double y, double *edge_px);

/* A point on the outer outline with its outward normal, part coordinates. */
void gc_outline_point(const gc_t *g, gc_rng_t *rng, double *u, double *v, double *nu,
                      double *nv);
/* A random point of a wear region suited to the shape. */
void gc_wear_pick(const gc_t *g, gc_rng_t *rng, gc_wear_t *w);
/* A random candidate centre and angle for the code (part coordinates, radians). */
void gc_code_nominal(const gc_t *g, double *u, double *v, double *angle);
void gc_code_candidate(const gc_t *g, gc_rng_t *rng, double *u, double *v, double *angle);

/* 1 when rectangles [x0,y0,x1,y1) overlap any registered box. */
int gc_box_busy(const gc_t *g, const int r[4]);
void gc_box_add(gc_t *g, const int r[4]);

/* Pose, scale, lighting and texture tables from the seed (ra_gencore_shape.c). */
int gc_shape_setup(gc_t *g);

/* Build g->json from the object. */
int gc_json_build(gc_t *g);

/* v rounded to a multiple of step (0.01, 0.001 ...), as the nearest double to the
 * decimal, so that the JSON text reads back as the very value used for drawing. */
double gc_round(double v, double step);

#endif
