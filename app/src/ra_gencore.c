/* ra_gencore.c - the core generator: parameters, the render pipeline, sensor noise,
 * accessors and writing the three files.
 *
 * Pipeline: pose and lighting from the seed -> the shape, row by row, into RGB and the
 * label image -> the DataMatrix -> the defects -> sensor noise -> label census -> JSON ->
 * JPEG. Each random purpose draws from its own stream (gc_rng_init), so a reference
 * rendering shares pose, texture and code with the defective one. */
#include "ra_gencore_priv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rv/rv_error.h"
#include "rv/rv_jpeg.h"

static const char *s_domain = "ra_gencore";

/* ---- random streams and deterministic maths ---------------------------------------------- */

/* splitmix64: spreads a (seed, stream) pair into a well-mixed, never-zero xorshift state. */
static uint64_t s_splitmix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

void gc_rng_init(gc_rng_t *rng, uint64_t seed, int stream)
{
    uint64_t s = s_splitmix(seed ^ s_splitmix((uint64_t) stream * 0xD1B54A32D192ED03ULL));
    rng->s = s ? s : 0x2545F4914F6CDD1DULL;
}

uint64_t gc_rng_next(gc_rng_t *rng)
{
    uint64_t x = rng->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng->s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

double gc_rng_unit(gc_rng_t *rng)
{
    return (double) (gc_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

double gc_rng_range(gc_rng_t *rng, double a, double b)
{
    return a + (b - a) * gc_rng_unit(rng);
}

int gc_rng_int(gc_rng_t *rng, int lo, int hi)
{
    return lo + (int) (gc_rng_unit(rng) * (double) (hi - lo + 1));
}

double gc_round(double v, double step)
{
    /* k / 100 rather than k * 0.01: the quotient is the double nearest the decimal value,
     * the very number a JSON reader gets back from "123.45" */
    double inv = (double) (long long) (1.0 / step + 0.5);
    double q = v * inv;
    /* round half away from zero without libm's rounding-mode dependence */
    long long k = (long long) (q < 0 ? q - 0.5 : q + 0.5);
    return (double) k / inv;
}

/* sin and cos by quadrant reduction and Taylor series (|error| < 1e-15 on |r| <= pi/4):
 * libm's results may differ between C libraries, and the pose must not. */
void gc_sincos(double a, double *s, double *c)
{
    const double half_pi = GC_PI / 2;
    double q = a / half_pi;
    long long k = (long long) (q < 0 ? q - 0.5 : q + 0.5);
    double r = a - (double) k * half_pi;
    double r2 = r * r;
    double sr = r, cr = 1.0, term_s = r, term_c = 1.0;
    for (int i = 1; i <= 10; i++) {
        term_s *= -r2 / (double) ((2 * i) * (2 * i + 1));
        term_c *= -r2 / (double) ((2 * i - 1) * (2 * i));
        sr += term_s;
        cr += term_c;
    }
    switch ((int) (k & 3)) {
    case 0: *s = sr; *c = cr; break;
    case 1: *s = cr; *c = -sr; break;
    case 2: *s = -sr; *c = -cr; break;
    default: *s = -cr; *c = sr; break;
    }
}

/* atan2 with a minimax polynomial on [0, 1]: |error| < 1e-5 rad, plenty for shading. */
float gc_atan2f(float y, float x)
{
    float ax = x < 0 ? -x : x, ay = y < 0 ? -y : y;
    float mx = ax > ay ? ax : ay, mn = ax > ay ? ay : ax;
    if (mx == 0.0f)
        return 0.0f;
    float a = mn / mx, s = a * a;
    float r = ((-0.0464964749f * s + 0.15931422f) * s - 0.327622764f) * s * a + a;
    if (ay > ax)
        r = 1.57079637f - r;
    if (x < 0)
        r = 3.14159274f - r;
    return y < 0 ? -r : r;
}

/* ---- parameters and names ---------------------------------------------------------------- */

static const char *s_shape_names[RA_GENCORE_NSHAPES] = {"disc", "housing", "shaft"};
static const char *s_defect_names[RA_DEFECT_NTYPES] = {"crack", "rust", "pit", "chip", "wear"};
static const char *s_label_names[RA_LABEL_COUNT] = {"background", "part", "crack", "rust",
                                                    "pit",        "chip", "wear",  "code"};

const char *ra_gencore_shape_name(ra_gencore_shape_t shape)
{
    return (unsigned) shape < RA_GENCORE_NSHAPES ? s_shape_names[shape] : "unknown";
}

const char *ra_gencore_defect_name(ra_gencore_defect_type_t type)
{
    return (unsigned) type < RA_DEFECT_NTYPES ? s_defect_names[type] : "unknown";
}

const char *ra_gencore_label_name(int label)
{
    return label >= 0 && label < RA_LABEL_COUNT ? s_label_names[label] : "unknown";
}

void ra_gencore_params_init(ra_gencore_params_t *params)
{
    memset(params, 0, sizeof *params);
    params->seed = 1;
    params->shape = RA_GENCORE_DISC;
    params->width = 1280;
    params->height = 960;
    params->defects = RA_GENCORE_DEFECTS_ALL;
    params->quality = 92;
}

static int s_check_size(int width, int height)
{
    if (width < RA_GENCORE_MIN_SIDE || height < RA_GENCORE_MIN_SIDE ||
        width > RA_GENCORE_MAX_SIDE || height > RA_GENCORE_MAX_SIDE)
        return rv_fail(RV_EINVAL, s_domain, "size %dx%d: each side must be %d..%d px", width,
                       height, RA_GENCORE_MIN_SIDE, RA_GENCORE_MAX_SIDE);
    if ((long long) width * height > RA_GENCORE_MAX_PIXELS)
        return rv_fail(RV_EINVAL, s_domain, "size %dx%d exceeds %lld pixels", width, height,
                       (long long) RA_GENCORE_MAX_PIXELS);
    return RV_OK;
}

int ra_gencore_params_check(const ra_gencore_params_t *params)
{
    if (!params)
        return rv_fail(RV_EINVAL, s_domain, "no parameters");
    if (params->seed > (uint64_t) RA_GENCORE_SEED_MAX)
        return rv_fail(RV_EINVAL, s_domain, "seed %llu exceeds %lld",
                       (unsigned long long) params->seed, (long long) RA_GENCORE_SEED_MAX);
    if ((unsigned) params->shape >= RA_GENCORE_NSHAPES)
        return rv_fail(RV_EINVAL, s_domain, "unknown shape %d", (int) params->shape);
    int rc = s_check_size(params->width, params->height);
    if (rc != RV_OK)
        return rc;
    if (params->defects & ~RA_GENCORE_DEFECTS_ALL)
        return rv_fail(RV_EINVAL, s_domain, "unknown defect bits 0x%x",
                       params->defects & ~RA_GENCORE_DEFECTS_ALL);
    for (int t = 0; t < RA_DEFECT_NTYPES; t++)
        if (params->counts[t] < 0 || params->counts[t] > RA_GENCORE_MAX_PER_TYPE)
            return rv_fail(RV_EINVAL, s_domain, "%s count %d is outside 0..%d",
                           s_defect_names[t], params->counts[t], RA_GENCORE_MAX_PER_TYPE);
    if (params->quality < 1 || params->quality > 100)
        return rv_fail(RV_EINVAL, s_domain, "quality %d is outside 1..100", params->quality);
    if (!(params->journal_wear_mm >= 0 && params->journal_wear_mm <= RA_GENCORE_MAX_WEAR))
        return rv_fail(RV_EINVAL, s_domain, "journal wear %g mm is outside 0..%g",
                       params->journal_wear_mm, RA_GENCORE_MAX_WEAR);
    if (params->journal_wear_mm > 0 && params->shape != RA_GENCORE_SHAFT)
        return rv_fail(RV_EINVAL, s_domain, "journal wear is a shaft's; a %s has no journal",
                       s_shape_names[params->shape]);
    return RV_OK;
}

int ra_gencore_parse_shape(const char *text, ra_gencore_shape_t *shape)
{
    for (int i = 0; text && i < RA_GENCORE_NSHAPES; i++)
        if (strcmp(text, s_shape_names[i]) == 0) {
            *shape = (ra_gencore_shape_t) i;
            return RV_OK;
        }
    return rv_fail(RV_EINVAL, s_domain, "unknown shape \"%s\" (disc, housing, shaft)",
                   text ? text : "");
}

int ra_gencore_parse_size(const char *text, int *width, int *height)
{
    static const struct {
        const char *name;
        int w, h;
    } named[] = {{"vga", 640, 480}, {"2mp", 1600, 1200}, {"5mp", 2592, 1944},
                 {"12mp", 4000, 3000}};
    if (!text || !*text)
        return rv_fail(RV_EINVAL, s_domain, "empty size");
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (strcmp(text, named[i].name) == 0) {
            *width = named[i].w;
            *height = named[i].h;
            return RV_OK;
        }
    const char *p = text;
    char *end;
    long v[2];
    for (int k = 0; k < 2; k++) {
        if (*p < '0' || *p > '9')
            goto bad;
        errno = 0;
        v[k] = strtol(p, &end, 10);
        if (errno || v[k] > RA_GENCORE_MAX_SIDE * 10L)
            goto bad;
        p = end;
        if (k == 0) {
            if (*p != 'x' && *p != 'X')
                goto bad;
            p++;
        }
    }
    if (*p)
        goto bad;
    int rc = s_check_size((int) v[0], (int) v[1]);
    if (rc != RV_OK)
        return rc;
    *width = (int) v[0];
    *height = (int) v[1];
    return RV_OK;
bad:
    return rv_fail(RV_EINVAL, s_domain,
                   "bad size \"%s\" (WxH, vga, 2mp, 5mp or 12mp)", text);
}

int ra_gencore_parse_defects(const char *text, unsigned *defects)
{
    if (!text || !*text)
        return rv_fail(RV_EINVAL, s_domain, "empty defect list");
    if (strcmp(text, "none") == 0) {
        *defects = 0;
        return RV_OK;
    }
    if (strcmp(text, "all") == 0) {
        *defects = RA_GENCORE_DEFECTS_ALL;
        return RV_OK;
    }
    unsigned set = 0;
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, ",");
        int found = -1;
        for (int t = 0; t < RA_DEFECT_NTYPES; t++)
            if (strlen(s_defect_names[t]) == n && strncmp(p, s_defect_names[t], n) == 0)
                found = t;
        if (found < 0)
            return rv_fail(RV_EINVAL, s_domain,
                           "unknown defect \"%.*s\" (crack, rust, pit, chip, wear, all, none)",
                           (int) n, p);
        set |= RA_GENCORE_DEFECT_BIT(found);
        p += n;
        if (*p == ',') {
            p++;
            if (!*p)
                return rv_fail(RV_EINVAL, s_domain, "defect list \"%s\" ends in a comma", text);
        }
    }
    *defects = set;
    return RV_OK;
}

/* ---- rendering --------------------------------------------------------------------------- */

/* Paint the bare part and fixture, and label part (1) versus background (0). */
static void s_render_base(gc_t *g)
{
    rv_view_t rgb = rv_image_view(g->rgb), lab = rv_image_view(g->labels);
    gc_finish_t plain = {1.0f, 1.0f};
    /* Most of the frame is fixture far from the part, where only "far" matters: the
     * distances are 1-Lipschitz, so one probe at the middle of a 16 px run tells whether
     * the whole run lies beyond the part's shadow (7 mm, gc_fixture) with room to spare.
     * Those runs get a lower bound for the distance and no surface shading; the pixels come
     * out identical, 2-3x faster. */
    const int run = 16;
    const float far_px = (float) (7.0 * g->inv_mmpp) + run / 2 + 2;
    for (int y = 0; y < g->h; y++) {
        for (int x0 = 0; x0 < g->w; x0 += run) {
            int n = g->w - x0 < run ? g->w - x0 : run;
            float sc, tc, bc;
            gc_shape_span(g, y, x0 + n / 2, 1, plain, &sc, &tc, &bc);
            if (sc > far_px) {
                for (int i = x0; i < x0 + n; i++) {
                    g->row_sdf[i] = sc - (float) run;
                    g->row_tone[i] = 0.0f;
                    g->row_bgf[i] = bc;
                }
            } else {
                gc_shape_span(g, y, x0, n, plain, g->row_sdf + x0, g->row_tone + x0,
                              g->row_bgf + x0);
            }
        }
        gc_compose_span(g, y, 0, g->w, g->row_sdf, g->row_tone, g->row_bgf,
                        rv_view_row(&rgb, y));
        uint8_t *l = rv_view_row(&lab, y);
        for (int x = 0; x < g->w; x++)
            l[x] = g->row_sdf[x] <= 0.0f ? RA_LABEL_PART : RA_LABEL_BACKGROUND;
    }
}

/* The sums of bytes 0-3 and of bytes 4-7 of a, each minus 510: two Irwin-Hall samples,
 * near-Gaussian with sigma 147.8. */
static inline void s_two_gauss(uint64_t a, int32_t *lo, int32_t *hi)
{
    const uint64_t m8 = 0x00FF00FF00FF00FFULL, m16 = 0x0000FFFF0000FFFFULL;
    uint64_t s = (a & m8) + ((a >> 8) & m8);
    s = (s & m16) + ((s >> 16) & m16);
    *lo = (int32_t) (s & 0xFFFFFFFFu) - 510;
    *hi = (int32_t) (s >> 32) - 510;
}

/* Sensor noise: signal-dependent luma noise (shot + read noise, sigma^2 = 1.5 + 0.035 I)
 * shared by the three channels, plus a little independent chroma noise, as a camera's
 * demosaiced output shows. Fixed point: sig[] and chroma scale a 147.8-sigma sample to
 * grey levels in 1/65536 units. */
static void s_sensor_noise(gc_t *g)
{
    int32_t sig[256];
    for (int i = 0; i < 256; i++)
        sig[i] = (int32_t) (sqrt(1.5 + 0.035 * i) / 147.8 * 65536.0 + 0.5);
    const int32_t chroma = (int32_t) (0.9 / 147.8 * 65536.0 + 0.5);
    /* clamp[256 + v] = v limited to 0..255, for v in -256..511 */
    uint8_t clamp[768];
    for (int i = 0; i < 768; i++)
        clamp[i] = (uint8_t) (i < 256 ? 0 : i > 511 ? 255 : i - 256);
    gc_rng_t rng;
    gc_rng_init(&rng, g->p.seed, GC_NOISE);
    rv_view_t rgb = rv_image_view(g->rgb);
    for (int y = 0; y < g->h; y++) {
        uint8_t *p = rv_view_row(&rgb, y);
        for (int x = 0; x < g->w; x++, p += 3) {
            int32_t n0, n1, n2, n3;
            s_two_gauss(gc_rng_next(&rng), &n0, &n1);
            s_two_gauss(gc_rng_next(&rng), &n2, &n3);
            int luma = (p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8;
            int32_t common = n0 * sig[luma];
            /* |noise| < 2^24, so adding 256 grey levels keeps the sum positive and the
             * shift is a rounded division by 65536 for either sign */
            const int32_t bias = (256 << 16) + 32768;
            p[0] = clamp[p[0] + ((uint32_t) (common + n1 * chroma + bias) >> 16)];
            p[1] = clamp[p[1] + ((uint32_t) (common + n2 * chroma + bias) >> 16)];
            p[2] = clamp[p[2] + ((uint32_t) (common + n3 * chroma + bias) >> 16)];
        }
    }
}

/* Pixels per label, the part's extent, and each defect's tight bbox and area. */
static void s_census(gc_t *g)
{
    rv_view_t lab = rv_image_view(g->labels);
    memset(g->label_counts, 0, sizeof g->label_counts);
    int x0 = g->w, y0 = g->h, x1 = -1, y1 = -1;
    for (int y = 0; y < g->h; y++) {
        const uint8_t *l = rv_view_row(&lab, y);
        long row_part = 0;
        int rx0 = g->w, rx1 = -1;
        for (int x = 0; x < g->w; x++) {
            g->label_counts[l[x] & 7]++;
            if (l[x]) {
                row_part++;
                if (x < rx0)
                    rx0 = x;
                rx1 = x;
            }
        }
        if (row_part) {
            if (y < y0)
                y0 = y;
            y1 = y;
            if (rx0 < x0)
                x0 = rx0;
            if (rx1 > x1)
                x1 = rx1;
        }
    }
    g->part_area_px = (long) g->w * g->h - g->label_counts[RA_LABEL_BACKGROUND];
    int pb[4] = {x0, y0, x1 - x0 + 1, y1 - y0 + 1};
    memcpy(g->part_bbox, pb, sizeof pb);
    /* Defects of one label never share pixels of their search boxes (gc_box_busy), so a
     * count inside the loose box is exact. Wear bands may carry other defects on top:
     * those pixels count for the defect on top. */
    static const uint8_t label_of[RA_DEFECT_NTYPES] = {RA_LABEL_CRACK, RA_LABEL_RUST,
                                                       RA_LABEL_PIT, RA_LABEL_CHIP,
                                                       RA_LABEL_WEAR};
    double mm2 = g->mmpp * g->mmpp;
    for (size_t i = 0; i < g->ndefects; i++) {
        ra_gencore_defect_t *d = &g->defects[i];
        uint8_t want = label_of[d->type];
        int bx0 = d->bbox[0] < 0 ? 0 : d->bbox[0], by0 = d->bbox[1] < 0 ? 0 : d->bbox[1];
        int bx1 = d->bbox[0] + d->bbox[2], by1 = d->bbox[1] + d->bbox[3];
        if (bx1 > g->w)
            bx1 = g->w;
        if (by1 > g->h)
            by1 = g->h;
        long n = 0;
        int tx0 = g->w, ty0 = g->h, tx1 = -1, ty1 = -1;
        for (int y = by0; y < by1; y++) {
            const uint8_t *l = rv_view_row(&lab, y);
            for (int x = bx0; x < bx1; x++)
                if (l[x] == want) {
                    n++;
                    if (x < tx0)
                        tx0 = x;
                    if (x > tx1)
                        tx1 = x;
                    if (y < ty0)
                        ty0 = y;
                    ty1 = y;
                }
        }
        d->area_px = n;
        d->area_mm2 = gc_round((double) n * mm2, 0.001);
        if (n) {
            int tb[4] = {tx0, ty0, tx1 - tx0 + 1, ty1 - ty0 + 1};
            memcpy(d->bbox, tb, sizeof tb);
        } else {
            memset(d->bbox, 0, sizeof d->bbox);
        }
    }
    if (g->have_code) {
        int bx0 = g->code.bbox[0], by0 = g->code.bbox[1];
        int bx1 = bx0 + g->code.bbox[2], by1 = by0 + g->code.bbox[3];
        int tx0 = g->w, ty0 = g->h, tx1 = -1, ty1 = -1;
        for (int y = by0; y < by1; y++) {
            const uint8_t *l = rv_view_row(&lab, y);
            for (int x = bx0; x < bx1; x++)
                if (l[x] == RA_LABEL_CODE) {
                    if (x < tx0)
                        tx0 = x;
                    if (x > tx1)
                        tx1 = x;
                    if (y < ty0)
                        ty0 = y;
                    ty1 = y;
                }
        }
        int tb[4] = {tx0, ty0, tx1 - tx0 + 1, ty1 - ty0 + 1};
        memcpy(g->code.bbox, tb, sizeof tb);
    }
}

ra_gencore_t *ra_gencore_render(const ra_gencore_params_t *params)
{
    if (ra_gencore_params_check(params) != RV_OK)
        return NULL;
    gc_t *g = calloc(1, sizeof *g);
    if (!g) {
        rv_fail(RV_ENOMEM, s_domain, "cannot allocate the generator");
        return NULL;
    }
    g->p = *params;
    g->w = params->width;
    g->h = params->height;
    /* filled, so that row padding is defined too and images compare byte for byte */
    g->rgb = rv_image_new_filled(g->w, g->h, RV_RGB8, 0);
    g->labels = rv_image_new_filled(g->w, g->h, RV_GRAY8, 0);
    g->row_sdf = malloc(sizeof(float) * (size_t) g->w);
    g->row_tone = malloc(sizeof(float) * (size_t) g->w);
    g->row_bgf = malloc(sizeof(float) * (size_t) g->w);
    g->row_rgb = malloc((size_t) g->w * 3);
    if (!g->rgb || !g->labels || !g->row_sdf || !g->row_tone || !g->row_bgf || !g->row_rgb) {
        rv_fail(RV_ENOMEM, s_domain, "cannot allocate a %dx%d core", g->w, g->h);
        goto fail;
    }
    if (gc_shape_setup(g) != RV_OK)
        goto fail;
    s_render_base(g);
    if (gc_code_paint(g) != RV_OK)
        goto fail;
    if (!params->reference && params->defects && gc_defects_paint(g) != RV_OK)
        goto fail;
    if (!params->reference)
        s_sensor_noise(g);
    s_census(g);
    if (gc_json_build(g) != RV_OK)
        goto fail;
    rv_view_t v = rv_image_view(g->rgb);
    if (rv_jpeg_encode(&v, params->quality, &g->jpeg, &g->jpeg_len) != RV_OK)
        goto fail;
    free(g->row_sdf);
    free(g->row_tone);
    free(g->row_bgf);
    free(g->row_rgb);
    g->row_sdf = g->row_tone = g->row_bgf = NULL;
    g->row_rgb = NULL;
    return g;
fail:
    ra_gencore_destroy(&g);
    return NULL;
}

void ra_gencore_destroy(ra_gencore_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gc_t *g = *self_p;
    rv_image_destroy(&g->rgb);
    rv_image_destroy(&g->labels);
    rv_jpeg_free(&g->jpeg);
    free(g->json);
    free(g->fix_grid.v);
    free(g->blotch_grid.v);
    free(g->row_sdf);
    free(g->row_tone);
    free(g->row_bgf);
    free(g->row_rgb);
    free(g);
    *self_p = NULL;
}

/* ---- accessors --------------------------------------------------------------------------- */

const ra_gencore_params_t *ra_gencore_params(const ra_gencore_t *self)
{
    return &self->p;
}

const rv_image_t *ra_gencore_rgb(const ra_gencore_t *self)
{
    return self->rgb;
}

const rv_image_t *ra_gencore_labels(const ra_gencore_t *self)
{
    return self->labels;
}

const uint8_t *ra_gencore_jpeg(const ra_gencore_t *self, size_t *len)
{
    if (len)
        *len = self->jpeg_len;
    return self->jpeg;
}

const char *ra_gencore_json(const ra_gencore_t *self)
{
    return self->json;
}

double ra_gencore_mm_per_px(const ra_gencore_t *self)
{
    return self->mmpp;
}

const char *ra_gencore_serial(const ra_gencore_t *self)
{
    return self->serial;
}

const char *ra_gencore_part_number(const ra_gencore_t *self)
{
    return self->part_number;
}

const char *ra_gencore_family(const ra_gencore_t *self)
{
    return self->family;
}

const ra_gencore_code_t *ra_gencore_code(const ra_gencore_t *self)
{
    return &self->code;
}

size_t ra_gencore_defect_count(const ra_gencore_t *self)
{
    return self->ndefects;
}

const ra_gencore_defect_t *ra_gencore_defect(const ra_gencore_t *self, size_t i)
{
    return i < self->ndefects ? &self->defects[i] : NULL;
}

const long *ra_gencore_label_counts(const ra_gencore_t *self)
{
    return self->label_counts;
}

/* ---- files ------------------------------------------------------------------------------- */

static int s_write_file(const char *path, const void *head, size_t head_len,
                        const rv_image_t *rows, const void *body, size_t body_len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return rv_fail(RV_EIO, s_domain, "cannot create %s: %s", path, strerror(errno));
    int ok = 1;
    if (head_len && fwrite(head, 1, head_len, f) != head_len)
        ok = 0;
    if (ok && rows) {
        rv_view_t v = rv_image_view(rows);
        for (int y = 0; ok && y < v.height; y++)
            if (fwrite(rv_view_row(&v, y), 1, (size_t) v.width, f) != (size_t) v.width)
                ok = 0;
    }
    if (ok && body_len && fwrite(body, 1, body_len, f) != body_len)
        ok = 0;
    int err = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    if (!ok)
        return rv_fail(RV_EIO, s_domain, "cannot write %s: %s", path, strerror(err));
    return RV_OK;
}

int ra_gencore_write(const ra_gencore_t *self, const char *dir, const char *name)
{
    if (!self || !dir || !*dir || !name || !*name)
        return rv_fail(RV_EINVAL, s_domain, "write needs a core, a directory and a name");
    if (strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return rv_fail(RV_EINVAL, s_domain, "name \"%s\" must be a plain file name", name);
    size_t n = strlen(dir) + strlen(name) + 16;
    char *path = malloc(n);
    if (!path)
        return rv_fail(RV_ENOMEM, s_domain, "out of memory");
    int rc;
    snprintf(path, n, "%s/%s.jpg", dir, name);
    rc = s_write_file(path, NULL, 0, NULL, self->jpeg, self->jpeg_len);
    if (rc == RV_OK) {
        char head[160];
        int hl = snprintf(head, sizeof head,
                          "P5\n# " RA_GENCORE_SCHEMA " labels: 0 background 1 part 2 crack "
                          "3 rust 4 pit 5 chip 6 wear 7 code\n%d %d\n255\n",
                          self->w, self->h);
        snprintf(path, n, "%s/%s.pgm", dir, name);
        rc = s_write_file(path, head, (size_t) hl, self->labels, NULL, 0);
    }
    if (rc == RV_OK) {
        snprintf(path, n, "%s/%s.json", dir, name);
        rc = s_write_file(path, NULL, 0, NULL, self->json, strlen(self->json));
    }
    free(path);
    return rc;
}
