/* test_detect.c - the whole-part detectors against the generator's exact ground truth.
 *
 * Cores are rendered with ra_gencore at 1280x960 and 5 MP over the three shapes; the
 * reference rendering of the same seed lies exactly over each one, so it gives the
 * learned mean (its blurred gray), the nominal outline (its labels) and the zone (its
 * part pixels, the DataMatrix excluded, as a family model's zones do). Measured figures
 * (recall, false alarms, length / area / diameter errors, caliper error, ms per detector)
 * are printed for the docs. RS_DETECT_OVERLAY=dir writes a PPM per core with the truth
 * (blue) and the findings (crack green, pit yellow, others red) drawn in. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ra/ra_gencore.h"
#include "ra/ra_truth.h"
#include "rs_test.h"
#include "rv/rv_blobs.h"
#include "rv/rv_detect.h"
#include "rv/rv_error.h"
#include "rv/rv_filter.h"
#include "rv/rv_findings.h"
#include "rv/rv_point.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif


static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- overlays ------------------------------------------------------------------------- */

static void s_put(rv_view_t *v, int x, int y, const uint8_t col[3])
{
    if (x < 0 || y < 0 || x >= v->width || y >= v->height)
        return;
    memcpy(rv_view_row(v, y) + 3 * x, col, 3);
}

static void s_line(rv_view_t *v, double x0, double y0, double x1, double y1, const uint8_t c[3])
{
    int n = (int) (fmax(fabs(x1 - x0), fabs(y1 - y0))) + 1;
    for (int i = 0; i <= n; i++)
        s_put(v, (int) lrint(x0 + (x1 - x0) * i / n), (int) lrint(y0 + (y1 - y0) * i / n), c);
}

static void s_rect(rv_view_t *v, const int b[4], const uint8_t c[3])
{
    s_line(v, b[0] - 2, b[1] - 2, b[0] + b[2] + 1, b[1] - 2, c);
    s_line(v, b[0] - 2, b[1] + b[3] + 1, b[0] + b[2] + 1, b[1] + b[3] + 1, c);
    s_line(v, b[0] - 2, b[1] - 2, b[0] - 2, b[1] + b[3] + 1, c);
    s_line(v, b[0] + b[2] + 1, b[1] - 2, b[0] + b[2] + 1, b[1] + b[3] + 1, c);
}

static void s_overlay(const ra_truth_core_t *c, const rv_findings_t *f, const char *name)
{
    const char *dir = getenv("RS_DETECT_OVERLAY");
    if (!dir)
        return;
    const rv_image_t *src = ra_gencore_rgb(c->gc);
    rv_image_t *img = rv_image_new(rv_image_width(src), rv_image_height(src), RV_RGB8);
    if (!img)
        return;
    rv_view_t s = rv_image_view(src), v = rv_image_view(img);
    rv_view_copy(&s, &v);
    static const uint8_t blue[3] = {60, 120, 255}, green[3] = {0, 255, 0},
                         yellow[3] = {255, 255, 0}, red[3] = {255, 0, 0};
    for (size_t i = 0; i < ra_gencore_defect_count(c->gc); i++) {
        const ra_gencore_defect_t *d = ra_gencore_defect(c->gc, i);
        s_rect(&v, d->bbox, blue);
    }
    for (size_t i = 0; i < f->count; i++) {
        const rv_finding_t *g = &f->items[i];
        if (g->type == RV_FINDING_CRACK)
            for (int k = 1; k < g->npoints; k++)
                s_line(&v, g->points[k - 1][0], g->points[k - 1][1], g->points[k][0],
                       g->points[k][1], green);
        else if (g->type == RV_FINDING_DIMENSION)
            s_line(&v, g->points[0][0], g->points[0][1], g->points[1][0], g->points[1][1],
                   yellow);
        else
            s_rect(&v, g->bbox, g->type == RV_FINDING_PIT ? yellow : red);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%s.ppm", dir, name);
    FILE *fp = fopen(path, "wb");
    if (fp) {
        fprintf(fp, "P6\n%d %d\n255\n", v.width, v.height);
        for (int y = 0; y < v.height; y++)
            fwrite(rv_view_row(&v, y), 3, (size_t) v.width, fp);
        fclose(fp);
    }
    rv_image_destroy(&img);
}

static void s_test_cores(ra_truth_stats_t *st)
{
    /* defective cores: all defect types, three cracks asked for per core */
    int n = SANITIZED ? 6 : 24;
    for (int i = 0; i < n; i++) {
        ra_gencore_shape_t shape = (ra_gencore_shape_t) (i % 3);
        int big = !SANITIZED && i % 8 == 7;
        ra_truth_core_t c;
        RS_CHECK(ra_truth_core_make(&c, 1000 + i, shape, big ? 2592 : 1280, big ? 1944 : 960,
                             RA_GENCORE_DEFECTS_ALL, 3) == 0);
        if (!c.gc) {
            ra_truth_core_free(&c);
            continue;
        }
        printf("core seed %d %s %dx%d: %zu defects\n", 1000 + i, ra_gencore_shape_name(shape),
               big ? 2592 : 1280, big ? 1944 : 960, ra_gencore_defect_count(c.gc));
        rv_findings_t all = {0};
        RS_CHECK(ra_truth_detect_all(&c, &all, NULL) == 0);
        ra_truth_score(&c, &all, st, stdout, 0);
        char name[64];
        snprintf(name, sizeof name, "detect_%d_%s", 1000 + i, ra_gencore_shape_name(shape));
        s_overlay(&c, &all, name);
        rv_findings_free(&all);
        ra_truth_core_free(&c);
    }
    /* clean cores: nothing may be reported */
    int nc = SANITIZED ? 3 : 18;
    for (int i = 0; i < nc; i++) {
        ra_gencore_shape_t shape = (ra_gencore_shape_t) (i % 3);
        int big = !SANITIZED && i % 6 == 5;
        ra_truth_core_t c;
        RS_CHECK(ra_truth_core_make(&c, 5000 + i, shape, big ? 2592 : 1280, big ? 1944 : 960, 0, 0) ==
                 0);
        if (!c.gc) {
            ra_truth_core_free(&c);
            continue;
        }
        st->clean_cores++;
        rv_findings_t all = {0};
        RS_CHECK(ra_truth_detect_all(&c, &all, NULL) == 0);
        if (all.count)
            printf("clean core seed %d %s:\n", 5000 + i, ra_gencore_shape_name(shape));
        ra_truth_score(&c, &all, st, stdout, 0);
        char name[64];
        snprintf(name, sizeof name, "clean_%d_%s", 5000 + i, ra_gencore_shape_name(shape));
        s_overlay(&c, &all, name);
        rv_findings_free(&all);
        ra_truth_core_free(&c);
    }
}

/* configure(): defaults with no keys; an unknown key and an out-of-range value are refused
 * with a message naming the key. */
static void s_test_configure(void)
{
    static const struct {
        const char *det, *key;
        double bad;
    } cases[] = {{"crack", "min_length_mm", -1},  {"corrosion", "rust_thr", 300},
                 {"pit", "min_diameter_mm", -0.1}, {"missing", "open_mm", 1e9},
                 {"wear", "k", -2},               {"dimension", "half_width", 0.5}};
    const rv_detector_class_t *const *all = rv_detectors();
    int n = 0;
    while (all[n])
        n++;
    RS_CHECK_EQ(n, RA_TRUTH_NDET);
    RS_CHECK(rv_detector_find("nope") == NULL);
    RS_CHECK(rv_detector_find(NULL) == NULL);
    for (int i = 0; i < RA_TRUTH_NDET; i++) {
        const rv_detector_class_t *d = rv_detector_find(cases[i].det);
        RS_CHECK(d != NULL);
        if (!d)
            continue;
        RS_CHECK(strcmp(d->name, cases[i].det) == 0);
        void *params = calloc(1, d->params_size);
        RS_CHECK_EQ(d->configure(params, NULL, 0), 0);
        rv_param_t unknown = {"no_such_key", 1};
        RS_CHECK_EQ(d->configure(params, &unknown, 1), RV_EINVAL);
        RS_CHECK_MSG(rv_last_error(), "no_such_key");
        rv_param_t bad = {cases[i].key, cases[i].bad};
        RS_CHECK_EQ(d->configure(params, &bad, 1), RV_EINVAL);
        RS_CHECK_MSG(rv_last_error(), cases[i].key);
        rv_param_t nan_value = {cases[i].key, NAN};
        RS_CHECK_EQ(d->configure(params, &nan_value, 1), RV_EINVAL);
        free(params);
    }
    /* a pit range upside down */
    const rv_detector_class_t *pit = rv_detector_find("pit");
    void *params = calloc(1, pit->params_size);
    rv_param_t kv[2] = {{"min_diameter_mm", 3}, {"max_diameter_mm", 2}};
    RS_CHECK_EQ(pit->configure(params, kv, 2), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "max_diameter_mm");
    free(params);
    /* the missing detector's flood: a negative reach is refused by name */
    const rv_detector_class_t *mis = rv_detector_find("missing");
    params = calloc(1, mis->params_size);
    rv_param_t flood = {"flood_mm", -1};
    RS_CHECK_EQ(mis->configure(params, &flood, 1), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "flood_mm");
    free(params);
}

/* The bore of a generated part, from the reference labels: the largest background
 * component that does not touch the frame. */
static int s_bore(const ra_truth_core_t *c, double *cx, double *cy)
{
    rv_image_t *m = rv_image_new(c->v[0].width, c->v[0].height, RV_GRAY8);
    if (!m)
        return -1;
    ra_truth_labels_to_mask(ra_gencore_labels(c->ref), 1u << RA_LABEL_BACKGROUND, m);
    rv_view_t v = rv_image_view(m);
    rv_blobs_t b = {0};
    int found = -1;
    uint32_t best = 0;
    if (rv_components(&v, 4, 100, &b) == 0)
        for (size_t i = 0; i < b.count; i++) {
            const rv_blob_t *o = &b.items[i];
            if (o->x0 == 0 || o->y0 == 0 || o->x1 == v.width - 1 || o->y1 == v.height - 1)
                continue;
            if (o->area > best) {
                best = o->area;
                *cx = o->cx;
                *cy = o->cy;
                found = 0;
            }
        }
    rv_blobs_free(&b);
    rv_image_destroy(&m);
    return found;
}

/* Calipers across the bore of discs (70 mm) and housings (80 mm), both directions. */
static void s_test_dimension(double *err_max_mm, double *err_max_px)
{
    static const struct {
        ra_gencore_shape_t shape;
        double diameter_mm;
    } parts[] = {{RA_GENCORE_DISC, 70.0}, {RA_GENCORE_HOUSING, 80.0}};
    for (int i = 0; i < 6; i++) {
        ra_truth_core_t c;
        int big = i >= 4; /* the same cases in every build: the figures must agree */
        ra_gencore_shape_t shape = parts[i % 2].shape;
        RS_CHECK(ra_truth_core_make(&c, 700 + i, shape, big ? 2592 : 1280, big ? 1944 : 960,
                             RA_GENCORE_DEFECTS_ALL, 0) == 0);
        double cx, cy;
        if (!c.gc || s_bore(&c, &cx, &cy) != 0) {
            RS_CHECK(!"bore found");
            ra_truth_core_free(&c);
            continue;
        }
        double r = parts[i % 2].diameter_mm / 2 / c.ctx.mm_per_px, m = 12;
        for (int dir = 0; dir < 2; dir++) {
            rv_param_t kv[5] = {{"x0", dir ? cx : cx - r - m}, {"y0", dir ? cy - r - m : cy},
                                {"x1", dir ? cx : cx + r + m}, {"y1", dir ? cy + r + m : cy},
                                {"id", 7}};
            rv_findings_t f = {0};
            RS_CHECK(ra_truth_detect(&c, "dimension", kv, 5, NULL, &f) == 0);
            RS_CHECK_EQ(f.count, 1);
            if (f.count == 1) {
                double e = fabs(f.items[0].value_mm - parts[i % 2].diameter_mm);
                RS_CHECK(strcmp(f.items[0].name, "dim7") == 0);
                /* a bore's shadowed bevel moves the dark-side edge by up to ~0.8 px (seen on
                 * the housing at 5 MP with the fixed camera scale): one pixel is the bound */
                RS_CHECKF(e <= 0.1 || e / c.ctx.mm_per_px <= 1.0,
                          "caliper %.3f mm, true %.1f; edges %.2f,%.2f %.2f,%.2f, bore centre "
                          "%.2f,%.2f r %.2f px",
                          f.items[0].value_mm, parts[i % 2].diameter_mm, f.items[0].points[0][0],
                          f.items[0].points[0][1], f.items[0].points[1][0],
                          f.items[0].points[1][1], cx, cy, r);
                *err_max_mm = fmax(*err_max_mm, e);
                *err_max_px = fmax(*err_max_px, e / c.ctx.mm_per_px);
            }
            rv_findings_free(&f);
        }
        /* a caliper left at its defaults is refused by run() */
        rv_findings_t f = {0};
        RS_CHECK(ra_truth_detect(&c, "dimension", NULL, 0, NULL, &f) == RV_EINVAL);
        rv_findings_free(&f);
        ra_truth_core_free(&c);
    }
}

/* Without a learned reference wear reports nothing; without this view's part mask the
 * missing-material detector segments the part itself and still finds the chips. */
static void s_test_fallbacks(double *chip_err_max, int *false_count)
{
    for (int i = 0; i < 3; i++) {
        ra_truth_core_t c;
        RS_CHECK(ra_truth_core_make(&c, 900 + i, (ra_gencore_shape_t) i, 1280, 960,
                             RA_GENCORE_DEFECTS_ALL, 0) == 0);
        if (!c.gc) {
            ra_truth_core_free(&c);
            continue;
        }
        rv_view_t zone = rv_image_view(c.zone);
        rv_findings_t f = {0};
        c.ctx.ref_mean = c.ctx.ref_spread = NULL;
        RS_CHECK(ra_truth_detect(&c, "wear", NULL, 0, &zone, &f) == 0);
        RS_CHECK_EQ(f.count, 0);
        c.ctx.ref_mean = &c.v[3];
        c.ctx.part = NULL;
        RS_CHECK(ra_truth_detect(&c, "missing", NULL, 0, NULL, &f) == 0);
        for (size_t k = 0; k < ra_gencore_defect_count(c.gc); k++) {
            const ra_gencore_defect_t *d = ra_gencore_defect(c.gc, k);
            if (d->type != RA_DEFECT_CHIP)
                continue;
            double area = 0;
            for (size_t j = 0; j < f.count; j++)
                if (ra_truth_box_overlap(f.items[j].bbox, d->bbox))
                    area += f.items[j].area_mm2;
            double e = fabs(area - d->area_mm2) / d->area_mm2;
            *chip_err_max = fmax(*chip_err_max, e);
        }
        int false_missing = 0;
        for (size_t j = 0; j < f.count; j++) {
            int hit = 0;
            for (size_t k = 0; k < ra_gencore_defect_count(c.gc); k++)
                hit |= ra_truth_box_overlap(f.items[j].bbox, ra_gencore_defect(c.gc, k)->bbox);
            false_missing += !hit;
        }
        /* the segmented fallback is weaker (fracture-face shadow, rust by the outline): its
         * figures are printed, not held to the label-mask tolerance */
        *false_count += false_missing;
        rv_findings_free(&f);
        ra_truth_core_free(&c);
    }
}

/* Distance from (px, py) to the segment a-b. */
static double s_seg_distance(double px, double py, double ax, double ay, double bx, double by)
{
    double ex = bx - ax, ey = by - ay, wx = px - ax, wy = py - ay;
    double t = (wx * ex + wy * ey) / (ex * ex + ey * ey);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return hypot(wx - t * ex, wy - t * ey);
}

/* How much of pixel (x, y) a crack drawn along the segment c covers: 2.5 px wide, with a
 * soft edge. */
static double s_cover(int x, int y, const double (*c)[2])
{
    double d = s_seg_distance(x, y, c[0][0], c[0][1], c[1][0], c[1][1]);
    return fmin(1, fmax(0, 1.75 - d));
}

/* A drawn scene for the crack detector, with exact truth: fill(x, y, arg, &gray, &ref,
 * &part, &zone) gives each pixel of the view, of the reference (before the 5 x 5 blur both
 * get), of the part mask and of the zone; the rust map is 0 and the spread flat. */
typedef void (*s_pixel_fn)(int x, int y, const void *arg, uint8_t *gray, uint8_t *ref,
                           uint8_t *part, uint8_t *zone);

typedef struct s_scene {
    rv_image_t *img[7];
    rv_view_t gray, blur, ref0, ref, part, zone, zero;
    double mmpp;
} s_scene_t;

static void s_scene_init(s_scene_t *sc, int w, int h, double mmpp, s_pixel_fn fill,
                         const void *arg)
{
    for (int i = 0; i < 7; i++)
        sc->img[i] = rv_image_new(w, h, RV_GRAY8);
    rv_view_t *v[7] = {&sc->gray, &sc->blur, &sc->ref0, &sc->ref, &sc->part, &sc->zone, &sc->zero};
    for (int i = 0; i < 7; i++)
        *v[i] = rv_image_view(sc->img[i]);
    sc->mmpp = mmpp;
    for (int y = 0; y < h; y++) {
        uint8_t *g = rv_view_row(&sc->gray, y), *r = rv_view_row(&sc->ref0, y);
        uint8_t *pm = rv_view_row(&sc->part, y), *z = rv_view_row(&sc->zone, y);
        uint8_t *o = rv_view_row(&sc->zero, y);
        for (int x = 0; x < w; x++) {
            fill(x, y, arg, &g[x], &r[x], &pm[x], &z[x]);
            o[x] = 0;
        }
    }
    RS_CHECK(rv_gauss5(&sc->gray, &sc->blur) == 0 && rv_gauss5(&sc->ref0, &sc->ref) == 0);
    rv_view_fill(&sc->ref0, RA_TRUTH_SPREAD);
}

/* The detectors' context on the scene. */
static rv_detect_ctx_t s_scene_ctx(s_scene_t *sc, rv_detect_cache_t *cache)
{
    return (rv_detect_ctx_t){.gray = &sc->gray, .blur = &sc->blur, .rust = &sc->zero,
                             .ref_mean = &sc->ref, .ref_spread = &sc->ref0, .ref_part = &sc->part,
                             .part = &sc->part, .mm_per_px = sc->mmpp, .cache = cache};
}

/* The crack detector on the scene's zone, configured with kv (n pairs; none: defaults). */
static void s_scene_cracks(s_scene_t *sc, const rv_param_t *kv, size_t n, rv_detect_cache_t *cache,
                           rv_findings_t *f)
{
    rv_detect_ctx_t ctx = s_scene_ctx(sc, cache);
    const rv_detector_class_t *d = rv_detector_find("crack");
    void *params = calloc(1, d->params_size);
    RS_CHECK(params && d->configure(params, kv, n) == 0);
    RS_CHECK(params && d->run(params, &ctx, &sc->zone, 0, f) == 0);
    free(params);
}

/* The crack detector on the scene with its defaults (on = 1), or with key set to 0 (on = 0:
 * that check off). */
static void s_scene_cracks_knob(s_scene_t *sc, const char *key, int on, rv_detect_cache_t *cache,
                                rv_findings_t *f)
{
    rv_param_t kv = {key, 0};
    s_scene_cracks(sc, on ? NULL : &kv, on ? 0 : 1, cache, f);
}

static void s_scene_free(s_scene_t *sc)
{
    for (int i = 0; i < 7; i++)
        rv_image_destroy(&sc->img[i]);
}

/* Print a crack finding's length (and width) against the truth; check it within 10 %. */
static void s_check_length(const char *what, const rv_finding_t *k, double true_mm)
{
    printf("%s: length %.2f mm, true %.2f mm (%.1f %%), width %.2f mm\n", what, k->length_mm,
           true_mm, 100 * (k->length_mm / true_mm - 1), k->width_mm);
    RS_CHECKF(fabs(k->length_mm - true_mm) <= 0.10 * true_mm, "%s: length %.2f mm against %.2f",
              what, k->length_mm, true_mm);
}

/* The length of a crack of two segments (three points), px. */
static double s_len3(const double (*c)[2])
{
    return hypot(c[1][0] - c[0][0], c[1][1] - c[0][1]) + hypot(c[2][0] - c[1][0], c[2][1] - c[1][1]);
}

/* A w x h scene (0.2 mm per px) with one crack of true length len_px: exactly one
 * finding, within 10 % of it (s_check_length). */
static void s_one_crack(const char *what, int w, int h, s_pixel_fn fill, double len_px)
{
    s_scene_t sc;
    s_scene_init(&sc, w, h, 0.2, fill, NULL);
    rv_findings_t f = {0};
    s_scene_cracks(&sc, NULL, 0, NULL, &f);
    RS_CHECK_EQ(f.count, 1);
    for (size_t i = 0; i < f.count; i++)
        s_check_length(what, &f.items[i], len_px * sc.mmpp);
    rv_findings_free(&f);
    s_scene_free(&sc);
}

/* crack 1: two segments, its bend 1.4 px from the pocket's corner (200, 160); crack 2:
 * level, 30 px long, ending 1 px short of the pocket's left edge */
static const double s_cut1[3][2] = {{110, 140}, {199, 161}, {280, 170}};
static const double s_cut2[2][2] = {{169, 118}, {199, 118}};

static void s_cut_pixel(int x, int y, const void *arg, uint8_t *g, uint8_t *r, uint8_t *pm,
                        uint8_t *z)
{
    (void) arg;
    int pocket = x >= 200 && x < 260 && y >= 100 && y < 160;
    double d = fmin(fmin(s_seg_distance(x, y, s_cut1[0][0], s_cut1[0][1], s_cut1[1][0], s_cut1[1][1]),
                         s_seg_distance(x, y, s_cut1[1][0], s_cut1[1][1], s_cut1[2][0], s_cut1[2][1])),
                    s_seg_distance(x, y, s_cut2[0][0], s_cut2[0][1], s_cut2[1][0], s_cut2[1][1]));
    double cover = fmin(1, fmax(0, 1.75 - d)); /* 2.5 px wide, a soft edge */
    *r = pocket ? 50 : 170;
    *g = pocket ? 50 : (uint8_t) lrint(170 - cover * 110);
    *pm = pocket ? 0 : 255; /* a hole through the part */
    *z = pocket ? 0 : 255;
}

/* A crack that passes a design feature (a dark pocket the zone leaves out) closer than the
 * edge margin is cut in two by it; both pieces must come back as one crack of the whole
 * length. A second crack ends inside the margin of the pocket's lower edge: its length
 * counts the part inside the margin. Exact truth: a flat part, the pocket, and the cracks
 * drawn as 2.5 px dark lines; the reference is the same picture without the cracks. */
static void s_test_crack_cut(void)
{
    const double mmpp = 0.2;
    double len1 = hypot(s_cut1[1][0] - s_cut1[0][0], s_cut1[1][1] - s_cut1[0][1]) +
                  hypot(s_cut1[2][0] - s_cut1[1][0], s_cut1[2][1] - s_cut1[1][1]);
    double len2 = s_cut2[1][0] - s_cut2[0][0];
    s_scene_t sc;
    s_scene_init(&sc, 400, 300, mmpp, s_cut_pixel, NULL);
    rv_findings_t f = {0};
    s_scene_cracks(&sc, NULL, 0, NULL, &f);
    int found1 = 0, found2 = 0;
    for (size_t i = 0; i < f.count; i++) {
        const rv_finding_t *c = &f.items[i];
        RS_CHECK_EQ(c->type, RV_FINDING_CRACK);
        int level = c->bbox[3] < 12;
        double truth = level ? len2 : len1;
        s_check_length(level ? "crack cut by a design edge, ending in the margin"
                             : "crack cut by a design edge, passing the corner",
                       c, truth * mmpp);
        printf("  %d points\n", c->npoints);
        found1 += !level, found2 += level;
    }
    /* one finding each: the pieces joined, not reported apart */
    RS_CHECK_EQ(found1, 1);
    RS_CHECK_EQ(found2, 1);
    rv_findings_free(&f);
    s_scene_free(&sc);
}

static const double s_edge_crack[2][2] = {{40, 50}, {110, 190}}; /* 156.5 px */

static void s_edge_pixel(int x, int y, const void *arg, uint8_t *g, uint8_t *r, uint8_t *pm,
                         uint8_t *z)
{
    (void) arg;
    double cover = s_cover(x, y, s_edge_crack);
    int in_ref = x >= 200 && x < 206, in_view = x >= 201 && x < 207; /* the groove */
    *r = in_ref ? 60 : 170;
    *g = in_view ? 60 : (uint8_t) lrint(170 - cover * 110);
    *pm = *z = 255;
}

/* A design groove that the alignment left 1 px off its reference: against the reference
 * pixel for pixel, the groove's leading rim is a thin dark line as long as the groove (on
 * learnt references, 4 in 100 sound housings read so and were scrapped). With ref_shift_px
 * (default 1) only the real crack beside it is reported, at its length; with 0 the rim is
 * reported too, so the test can fail. Run with and without a cache: the reference's
 * minimum is then derived by the cache or on the detector's box, the same either way. */
static void s_test_crack_shifted_edge(void)
{
    const double(*c)[2] = s_edge_crack;
    double len = hypot(c[1][0] - c[0][0], c[1][1] - c[0][1]);
    s_scene_t sc;
    s_scene_init(&sc, 320, 240, 0.2, s_edge_pixel, NULL);
    for (int shift = 0; shift <= 1; shift++)
        for (int cached = 0; cached <= 1; cached++) {
            rv_detect_cache_t *cache = cached ? rv_detect_cache_new() : NULL;
            rv_findings_t f = {0};
            /* shift 1 is the default: configured without a key */
            s_scene_cracks_knob(&sc, "ref_shift_px", shift, cache, &f);
            int crack = 0, rim = 0;
            for (size_t i = 0; i < f.count; i++) {
                const rv_finding_t *k = &f.items[i];
                if (k->bbox[0] >= 195 && k->bbox[0] + k->bbox[2] <= 212) {
                    rim++;
                    continue;
                }
                crack++;
                RS_CHECKF(fabs(k->length_mm - len * sc.mmpp) <= 0.10 * len * sc.mmpp,
                          "shift %d: crack length %.2f mm against %.2f", shift, k->length_mm,
                          len * sc.mmpp);
            }
            printf("groove 1 px off its reference, ref_shift_px %d%s: %d crack(s), %d on the "
                   "groove's rim\n",
                   shift, cached ? " (cache)" : "", crack, rim);
            RS_CHECK_EQ(crack, 1);
            RS_CHECKF(shift ? rim == 0 : rim >= 1, "ref_shift_px %d: %d on the rim", shift, rim);
            rv_findings_free(&f);
            rv_detect_cache_destroy(&cache);
        }
    s_scene_free(&sc);
}

/* Two lines alike, 30 grey levels under the reference's 100 along 160 px: one where the
 * good parts' spread is 12 (a line of shade whose depth varies with the lamp, as along the
 * demo housing's ID pad), one on a face where it is RA_TRUTH_SPREAD. */
static const double s_shade_line[2][2] = {{60, 40}, {70, 200}};
static const double s_face_line[2][2] = {{220, 40}, {230, 200}};

static void s_spread_pixel(int x, int y, const void *arg, uint8_t *g, uint8_t *r, uint8_t *pm,
                           uint8_t *z)
{
    (void) arg;
    double cover = fmax(s_cover(x, y, s_shade_line), s_cover(x, y, s_face_line));
    *r = 100;
    *g = (uint8_t) lrint(100 - 30 * cover);
    *pm = *z = 255;
}

/* spread_gate (default 3.5): a piece no darker than the reference by 3.5 times the goods'
 * spread along its skeleton is not a crack. Only the line on the quiet face is reported,
 * at its length; with the gate off (0) the shade line is reported too, so the test can
 * fail. */
static void s_test_crack_spread(void)
{
    s_scene_t sc;
    s_scene_init(&sc, 300, 240, 0.2, s_spread_pixel, NULL);
    for (int y = 0; y < sc.ref0.height; y++)
        for (int x = 30; x < 100; x++)
            rv_view_row(&sc.ref0, y)[x] = 12;
    const double(*c)[2] = s_face_line;
    double len = hypot(c[1][0] - c[0][0], c[1][1] - c[0][1]);
    for (int gate = 0; gate <= 1; gate++) {
        rv_findings_t f = {0};
        s_scene_cracks_knob(&sc, "spread_gate", gate, NULL, &f);
        int face = 0, shade = 0;
        for (size_t i = 0; i < f.count; i++) {
            const rv_finding_t *k = &f.items[i];
            if (k->bbox[0] >= 150) {
                face++;
                s_check_length("line on a quiet face", k, len * sc.mmpp);
            } else {
                shade++;
            }
        }
        printf("spread_gate %s: %d crack(s) on the quiet face, %d on the shade line\n",
               gate ? "3.5 (default)" : "0", face, shade);
        RS_CHECK_EQ(face, 1);
        RS_CHECKF(gate ? shade == 0 : shade >= 1, "spread_gate %s: %d on the shade line",
                  gate ? "default" : "0", shade);
        rv_findings_free(&f);
    }
    s_scene_free(&sc);
}

/* rv_detect_cache_zone_within: told that the zone is 0 outside a box, the cache finds the
 * zone's box reading only there, and the findings are the ones found without the hint;
 * a box that cuts the zone (a broken promise) changes them, so the hint is what is used;
 * a box outside the view is refused. */
static void s_test_zone_within(void)
{
    s_scene_t sc;
    s_scene_init(&sc, 400, 300, 0.2, s_cut_pixel, NULL);
    int zb[4] = {sc.zone.width, sc.zone.height, 0, 0};
    for (int y = 0; y < sc.zone.height; y++)
        for (int x = 0; x < sc.zone.width; x++)
            if (rv_view_row(&sc.zone, y)[x]) {
                zb[0] = x < zb[0] ? x : zb[0], zb[1] = y < zb[1] ? y : zb[1];
                zb[2] = x + 1 > zb[2] ? x + 1 : zb[2], zb[3] = y + 1 > zb[3] ? y + 1 : zb[3];
            }
    rv_findings_t f[3] = {{0}};
    const int loose[4] = {zb[0] > 3 ? zb[0] - 3 : 0, zb[1] > 2 ? zb[1] - 2 : 0, zb[2], zb[3]};
    const int cut[4] = {(zb[0] + zb[2]) / 2, zb[1], zb[2], zb[3]};
    for (int k = 0; k < 3; k++) {
        rv_detect_cache_t *cache = rv_detect_cache_new();
        if (k > 0)
            RS_CHECK_EQ(rv_detect_cache_zone_within(cache, 0, &sc.zone, k == 1 ? loose : cut), RV_OK);
        s_scene_cracks(&sc, NULL, 0, cache, &f[k]);
        rv_detect_cache_destroy(&cache);
    }
    int same = f[1].count == f[0].count, cut_same = f[2].count == f[0].count;
    for (size_t i = 0; same && i < f[0].count; i++)
        same = !memcmp(f[0].items[i].bbox, f[1].items[i].bbox, sizeof f[0].items[i].bbox) &&
               f[0].items[i].length_mm == f[1].items[i].length_mm;
    for (size_t i = 0; cut_same && i < f[0].count; i++)
        cut_same = !memcmp(f[0].items[i].bbox, f[2].items[i].bbox, sizeof f[0].items[i].bbox);
    printf("zone box hint: %zu crack(s) without, %zu with the zone's box, %zu with half of it\n",
           f[0].count, f[1].count, f[2].count);
    RS_CHECK(f[0].count == 2 && same);
    RS_CHECK(!cut_same);
    rv_detect_cache_t *cache = rv_detect_cache_new();
    const int outside[4] = {0, 0, sc.zone.width + 1, 10};
    RS_CHECK_EQ(rv_detect_cache_zone_within(cache, 0, &sc.zone, outside), RV_EINVAL);
    rv_detect_cache_destroy(&cache);
    for (int k = 0; k < 3; k++)
        rv_findings_free(&f[k]);
    s_scene_free(&sc);
}

static const double s_mark_crack[2][2] = {{40, 60}, {160, 90}}; /* 123.7 px */

static void s_mark_pixel(int x, int y, const void *arg, uint8_t *g, uint8_t *r, uint8_t *pm,
                         uint8_t *z)
{
    (void) arg;
    const double (*c)[2] = s_mark_crack;
    double len = hypot(c[1][0] - c[0][0], c[1][1] - c[0][1]);
    double cover = s_cover(x, y, c);
    /* the crack fades over its last fifth, from 110 grey levels to the mark's */
    double t = ((x - c[0][0]) * (c[1][0] - c[0][0]) + (y - c[0][1]) * (c[1][1] - c[0][1])) /
               (len * len);
    double depth = t < 0.8 ? 110 : 110 - (110 - 24) * fmin(1, (t - 0.8) / 0.2);
    /* the mark: on along the crack's direction from its end */
    double m = s_seg_distance(x, y, c[1][0], c[1][1], c[1][0] + 4 * (c[1][0] - c[0][0]),
                              c[1][1] + 4 * (c[1][1] - c[0][1]));
    double mark = x <= c[1][0] ? 0 : m < 1.0 ? 24 : m < 8.0 ? 14 : 0;
    *r = 170;
    *g = (uint8_t) lrint(170 - fmax(cover * depth, mark));
    *pm = *z = 255;
}

/* A crack that ends on a tool mark: a line 2 px wide, 24 grey levels under the learnt mean,
 * in a 16 px band 14 under it (a part's own machining marks lie so against a mean that
 * blurred everyone's; no black-hat of the crack's disc reaches 12 there), goes on from the
 * crack's end, where the crack has faded to the mark's darkness. The walk past the crack's
 * ends judges darkness against the crack's own (half its mean along the skeleton), so it
 * stops where the crack stops; judged against its own first steps it followed the mark
 * for another cap px (27.9 % long here), and cracks on machined faces read up to 1.8
 * times their length through the station. */
static void s_test_crack_tool_mark(void)
{
    const double(*c)[2] = s_mark_crack;
    s_one_crack("crack ending on a tool mark", 360, 160, s_mark_pixel,
                hypot(c[1][0] - c[0][0], c[1][1] - c[0][1]));
}

/* two lines across a flat part: a crack with a dark core (2.5 px, 50 grey levels) in a wide
 * shallow halo (to 5 px either side, 16 under), as a crack's blurred rims look; and a tool
 * mark as wide, uniformly 30 under (band contrast 0.149 and 0.130, skeleton 0.25 and 0.18
 * of the background darker than the reference) */
static const double s_halo[2][2][2] = {{{40, 60}, {200, 95}}, {{40, 150}, {200, 170}}};

static void s_halo_pixel(int x, int y, const void *arg, uint8_t *g, uint8_t *r, uint8_t *pm,
                         uint8_t *z)
{
    (void) arg;
    const double(*c)[2] = s_halo[0], (*m)[2] = s_halo[1];
    double d = s_seg_distance(x, y, c[0][0], c[0][1], c[1][0], c[1][1]);
    double e = s_seg_distance(x, y, m[0][0], m[0][1], m[1][0], m[1][1]);
    double crack = d < 1.25 ? 50 : d < 5 ? 16 : 0, mark = e < 5 ? 30 : 0;
    *r = 170;
    *g = (uint8_t) lrint(170 - fmax(crack, mark));
    *pm = *z = 255;
}

/* The band's mean darkness (min_contrast 0.16 of the background) is diluted by a crack's
 * wide rims: 3 of 80 disc cracks on unseen cores (41-68 mm, plain to the eye) averaged
 * 0.156-0.158 and were not reported. With a reference, a piece whose skeleton lies darker
 * than it by min_ridge (0.22) of the background passes at 0.75 min_contrast: the crack
 * with a dark core in a wide halo is found at its length (not with min_ridge 0); the
 * uniform tool mark beside it, within three quarters of min_contrast too, is not. */
static void s_test_crack_halo(void)
{
    const double(*c)[2] = s_halo[0];
    double len = hypot(c[1][0] - c[0][0], c[1][1] - c[0][1]);
    s_scene_t sc;
    s_scene_init(&sc, 260, 220, 0.2, s_halo_pixel, NULL);
    for (int ridge = 0; ridge <= 1; ridge++) {
        rv_findings_t f = {0};
        s_scene_cracks_knob(&sc, "min_ridge", ridge, NULL, &f);
        int crack = 0, mark = 0;
        for (size_t i = 0; i < f.count; i++) {
            const rv_finding_t *k = &f.items[i];
            if (k->bbox[1] > 120) {
                mark++;
                continue;
            }
            crack++;
            s_check_length(ridge ? "crack in a halo, min_ridge 0.22" : "crack in a halo, min_ridge 0",
                           k, len * sc.mmpp);
        }
        printf("crack in a halo, min_ridge %s: %d crack(s), %d on the tool mark\n",
               ridge ? "0.22" : "0", crack, mark);
        RS_CHECK_EQ(crack, ridge);
        RS_CHECK_EQ(mark, 0);
        rv_findings_free(&f);
    }
    s_scene_free(&sc);
}

/* a short wide crack (3.9 px, 20 px long: 8.2 mm at the demo's 0.41 mm/px) and a dark
 * oval pit (8 x 5 px) and a short mark (6 x 2 px), each 100 grey levels under a flat face */
static const double s_wide[2][2] = {{60, 60}, {79.4, 64.8}};

static void s_wide_pixel(int x, int y, const void *arg, uint8_t *g, uint8_t *r, uint8_t *pm,
                         uint8_t *z)
{
    (void) arg;
    double d = s_seg_distance(x, y, s_wide[0][0], s_wide[0][1], s_wide[1][0], s_wide[1][1]);
    double crack = fmin(1, fmax(0, 2.45 - d)); /* 3.9 px wide, a soft edge */
    double ox = (x - 140) / 4.0, oy = (y - 60) / 2.5, mx = (x - 110) / 3.0, my = (y - 95) / 1.0;
    int dark = ox * ox + oy * oy <= 1 || mx * mx + my * my <= 1;
    *r = 170;
    *g = (uint8_t) lrint(170 - 100 * fmax(crack, dark));
    *pm = *z = 255;
}

/* The elongation test judges the band the black-hat thresholds, which is the crack and
 * the halo the 5 x 5 blur spreads past its rims: on unseen demo shafts a 3.8 px crack of
 * 23 px had a band of 8.8 px, an elongation of 2.6 against 3 asked, and short wide cracks
 * (9.7-10.8 mm, 3.5-3.8 px) were missed that way (this one too, before). The width judged
 * is the band less its halo (3 px) where the band is wider than a thin crack's (5 px): the
 * crack is found at its length; the pit and the short mark, in a zone that reports cracks
 * from 0.5 mm, are not cracks. */
static void s_test_crack_wide(void)
{
    double len = hypot(s_wide[1][0] - s_wide[0][0], s_wide[1][1] - s_wide[0][1]);
    s_scene_t sc;
    s_scene_init(&sc, 200, 120, 0.41, s_wide_pixel, NULL);
    rv_param_t kv = {"min_length_mm", 0.5};
    rv_findings_t f = {0};
    s_scene_cracks(&sc, &kv, 1, NULL, &f);
    int crack = 0, other = 0;
    for (size_t i = 0; i < f.count; i++) {
        const rv_finding_t *k = &f.items[i];
        if (k->bbox[0] > 100) {
            other++;
            printf("wide crack scene: a finding at (%d, %d), %.2f mm, not the crack\n",
                   k->bbox[0], k->bbox[1], k->length_mm);
            continue;
        }
        crack++;
        s_check_length("short wide crack", k, len * sc.mmpp);
        /* its width at half depth (the equivalent width of a black line read 1.05 mm) */
        RS_CHECKF(fabs(k->width_mm - 3.9 * sc.mmpp) <= 0.15 * 3.9 * sc.mmpp,
                  "width %.2f mm against %.2f", k->width_mm, 3.9 * sc.mmpp);
    }
    RS_CHECK_EQ(crack, 1);
    RS_CHECK_EQ(other, 0);
    rv_findings_free(&f);
    s_scene_free(&sc);
}

/* a crack running to the part's edge over its chamfer: the face 170, the chamfer 60 from
 * y 92 to the outline at y 100 (below it no part); the crack 2.5 px wide takes 78 % of the
 * light of whatever it crosses */
static const double s_cham_crack[2][2] = {{150, 52}, {154, 99.5}}; /* 47.7 px */

static void s_cham_pixel(int x, int y, const void *arg, uint8_t *g, uint8_t *r, uint8_t *pm,
                         uint8_t *z)
{
    (void) arg;
    double cover = s_cover(x, y, s_cham_crack);
    double face = y >= 100 ? 40 : y >= 92 ? 60 : 170;
    *r = (uint8_t) face;
    *g = (uint8_t) lrint(face * (y >= 100 ? 1 : 1 - 0.78 * cover));
    *pm = *z = y < 100 ? 255 : 0;
}

/* The walk past a crack's ends stops where the line's darkness falls to half its peak.
 * Where a crack crosses a darker face its darkness in grey levels falls with the face's
 * (here from 133 on the face to 47 on the chamfer) though it takes the same share of the
 * light. The edge margin leaves the chamfer out of the candidates, and the walk through
 * it judges the darkness relative to the reference: the crack is read to the outline
 * (before, the walk stopped at the chamfer and read it 15 % short). */
static void s_test_crack_chamfer(void)
{
    double len = hypot(s_cham_crack[1][0] - s_cham_crack[0][0],
                       s_cham_crack[1][1] - s_cham_crack[0][1]);
    s_scene_t sc;
    s_scene_init(&sc, 300, 130, 0.2, s_cham_pixel, NULL);
    rv_findings_t f = {0};
    s_scene_cracks(&sc, NULL, 0, NULL, &f);
    RS_CHECK_EQ(f.count, 1);
    for (size_t i = 0; i < f.count; i++)
        s_check_length("crack over a chamfer to the outline", &f.items[i], len * sc.mmpp);
    rv_findings_free(&f);
    s_scene_free(&sc);
}

/* a crack that runs out of its zone (x < 134) over a design groove (x 128-140, as dark in
 * the reference) onto the next zone's face; 2.5 px wide, it takes 78 % of the light */
static const double s_exit_crack[2][2] = {{40, 50}, {200, 88}}; /* 164.5 px */

static void s_exit_pixel(int x, int y, const void *arg, uint8_t *g, uint8_t *r, uint8_t *pm,
                         uint8_t *z)
{
    (void) arg;
    double face = x >= 128 && x < 140 ? 90 : 170;
    *r = (uint8_t) face;
    *g = (uint8_t) lrint(face * (1 - 0.78 * s_cover(x, y, s_exit_crack)));
    *pm = 255;
    *z = x < 134 ? 255 : 0;
}

/* A crack is measured whole wherever it runs on the part: the walk past its piece's end
 * leaves the zone (on unseen demo cores 26 of 38 cracks read over 10 % short lost their
 * length in another zone: the disc's hat, the housing's unzoned ribs, a shaft's shoulder,
 * where the next zone's run found no piece of its own; the walk stopped at the boundary).
 * Its polyline follows the walk, so the next zone's run, which finds the same crack from
 * its side, joins it as one stretch reported twice (rv_findings_join_zones), not as two
 * pieces end to end. */
static void s_test_crack_zone_exit(void)
{
    const double(*c)[2] = s_exit_crack;
    double len = hypot(c[1][0] - c[0][0], c[1][1] - c[0][1]);
    s_scene_t sc;
    s_scene_init(&sc, 260, 130, 0.2, s_exit_pixel, NULL);
    rv_findings_t all = {0};
    for (int zone = 0; zone < 2; zone++) {
        rv_findings_t f = {0};
        s_scene_cracks(&sc, NULL, 0, NULL, &f);
        printf("crack out of its zone, zone %d: %zu finding(s)\n", zone, f.count);
        RS_CHECK_EQ(f.count, 1);
        for (size_t i = 0; i < f.count; i++) {
            rv_finding_t *k = &f.items[i];
            k->zone = zone;
            s_check_length(zone ? "crack out of its zone, found from the next"
                                : "crack out of its zone",
                           k, len * sc.mmpp);
            /* the polyline reaches both ends of the crack */
            const float *p0 = k->points[0], *p1 = k->points[k->npoints - 1];
            double d0 = fmin(hypot(p0[0] - c[0][0], p0[1] - c[0][1]),
                             hypot(p1[0] - c[0][0], p1[1] - c[0][1]));
            double d1 = fmin(hypot(p0[0] - c[1][0], p0[1] - c[1][1]),
                             hypot(p1[0] - c[1][0], p1[1] - c[1][1]));
            RS_CHECKF(d0 <= 4 && d1 <= 4, "polyline ends %.1f and %.1f px from the crack's", d0,
                      d1);
            RS_CHECK_EQ(rv_findings_push(&all, k), 0);
        }
        rv_findings_free(&f);
        /* the other zone: the rest of the part */
        for (int y = 0; y < sc.zone.height; y++) {
            uint8_t *z = rv_view_row(&sc.zone, y);
            for (int x = 0; x < sc.zone.width; x++)
                z[x] = (uint8_t) (255 - z[x]);
        }
    }
    const int rank[2] = {1, 1};
    RS_CHECK_EQ(rv_findings_join_zones(&all, rank, NULL, 2, 30, 6, sc.mmpp), 1);
    RS_CHECK_EQ(all.count, 1);
    if (all.count == 1)
        s_check_length("crack out of its zone, both zones joined", &all.items[0], len * sc.mmpp);
    rv_findings_free(&all);
    s_scene_free(&sc);
}

/* a crack that runs from a face (170, as the reference) onto the next zone's band, which
 * the view shows lighter than the learnt mean (140 against 100: a disc's hat lit brighter
 * than the goods' average); 2.5 px wide, it takes 35 % of the light */
static const double s_light_crack[2][2] = {{40, 60}, {200, 60}}; /* 160 px */

static void s_light_pixel(int x, int y, const void *arg, uint8_t *g, uint8_t *r, uint8_t *pm,
                          uint8_t *z)
{
    (void) arg;
    int band = x >= 120 && x < 230;
    *r = (uint8_t) (band ? 100 : 170);
    *g = (uint8_t) lrint((band ? 140 : 170) * (1 - 0.35 * s_cover(x, y, s_light_crack)));
    *pm = 255;
    *z = x < 124 ? 255 : 0; /* the band is the next zone's, as the hat is */
}

/* The walk past a crack's end judges its darkness against the reference; where the view
 * is lighter than the mean on both sides of the line, against the part beside it. On the
 * band the crack lies 49 grey levels under the part beside it but only 9 under the mean
 * (dark_thr 12): the walk stopped at the band's edge and read this crack 53 % short. On
 * unseen demo discs cracks ran on into the hat's band that way (disc-850008: 24.4 mm of
 * 37.6). */
static void s_test_crack_lighter_face(void)
{
    const double(*c)[2] = s_light_crack;
    s_one_crack("crack onto a face lighter than the mean", 260, 120, s_light_pixel,
                hypot(c[1][0] - c[0][0], c[1][1] - c[0][1]));
}

/* A thin crack on a face the view shows lighter than the learnt mean (124 against 114: the
 * lamp lit this part more than the goods' average), 1 px at full depth with a soft edge,
 * taking 32 % of the light: blurred, its line lies 24 grey levels under the face but only
 * 14 under the mean at its middle, and 12 or less on stretches of it, where the
 * candidates asked more than 12 under the mean: no candidate was long enough, and it was
 * not found (an unseen demo disc's 23.5 mm hub crack, disc-2420007, was missed so, its
 * lit face taking back what the crack darkened). The candidates now ask less by the
 * view's lightness around a pixel over 6 grey levels (rv_det_crack.c, s_lit_threshold;
 * with that margin at 100, the lift off, this test fails). Also the lit face alone, and
 * the same crack on a face lit as the goods were: no finding, and found, as before. */
static const double s_lit_crack[2][2] = {{40, 50}, {190, 70}};

static void s_lit_pixel(int x, int y, const void *arg, uint8_t *g, uint8_t *r, uint8_t *pm,
                        uint8_t *z)
{
    const double *p = arg; /* the view's face, the crack's share of the light */
    double d = s_seg_distance(x, y, s_lit_crack[0][0], s_lit_crack[0][1], s_lit_crack[1][0],
                              s_lit_crack[1][1]);
    double cover = fmin(1, fmax(0, 1.0 - 0.5 * d));
    *r = 114;
    *g = (uint8_t) lrint(p[0] * (1 - p[1] * cover));
    *pm = 255;
    *z = 255;
}

static void s_test_crack_lit_face(void)
{
    const double len = hypot(s_lit_crack[1][0] - s_lit_crack[0][0],
                             s_lit_crack[1][1] - s_lit_crack[0][1]);
    const double cases[3][2] = {{124, 0.32}, {124, 0}, {114, 0.32}};
    for (int i = 0; i < 3; i++) {
        s_scene_t sc;
        s_scene_init(&sc, 230, 120, 0.39, s_lit_pixel, cases[i]);
        rv_findings_t f = {0};
        s_scene_cracks(&sc, NULL, 0, NULL, &f);
        int cy = 60, cx = 115; /* the blurred line's depth at its middle */
        int under_mean = rv_view_row(&sc.ref, cy)[cx] - rv_view_row(&sc.blur, cy)[cx];
        int under_face = rv_view_row(&sc.blur, cy - 8)[cx] - rv_view_row(&sc.blur, cy)[cx];
        printf("thin crack, face %.0f against a mean of 114, %.0f %% of the light: %d under the "
               "mean, %d under the face; %zu finding(s)\n",
               cases[i][0], 100 * cases[i][1], under_mean, under_face, f.count);
        if (cases[i][1] == 0) {
            RS_CHECK_EQ(f.count, 0);
        } else {
            RS_CHECK_EQ(f.count, 1);
            if (f.count == 1)
                s_check_length(i == 0 ? "thin crack on a lit face" : "thin crack, face as lit",
                               &f.items[0], len * sc.mmpp);
        }
        if (i == 0) /* the case: near the candidates' 12 under the mean, 10 more under the face */
            RS_CHECK(under_mean <= 15 && under_face - under_mean >= 9);
        rv_findings_free(&f);
        s_scene_free(&sc);
    }
}

/* A short dark line in the middle of a wide shade (where an outlet's shadow band meets the
 * volute's rim on a sound demo housing, housing-2400038): shade and line together are deep
 * enough for the candidates, and the piece is a line, but at half depth the view reads the
 * shade as the width, and a "crack" 14 px long by 8.5 px wide is a spot (that housing was
 * scrapped for a 3.5 mm by 2.0 mm crack). A crack is reported only when at least
 * min_axis_ratio (2) times as long as its width at half depth (with that check off, the
 * spot is reported, 5.4 by 3.3 mm, and this test fails). The same line twice as long in
 * the same shade, and a thin short line alone, are still found. arg: the line's length
 * (px), the shade's depth and the line's (grey levels, on a face of 80); the shade is 10
 * px across and reaches 3 px past the line's ends. */
static void s_spot_pixel(int x, int y, const void *arg, uint8_t *g, uint8_t *r, uint8_t *pm,
                         uint8_t *z)
{
    const double *p = arg;
    double x0 = 90, x1 = 90 + p[0];
    double d = s_seg_distance(x, y, x0, 50, x1, 50);
    double line = fmin(1, fmax(0, 1.25 - d)); /* about 2.5 px across */
    double shade = x >= x0 - 3 && x <= x1 + 3 ? fmin(1, fmax(0, 5.5 - fabs(y - 50.0))) : 0;
    *r = 80;
    *g = (uint8_t) lrint(80 - p[1] * shade - p[2] * line);
    *pm = 255;
    *z = 255;
}

static void s_test_crack_spot(void)
{
    /* line length, shade depth, line depth, findings expected: the spot; a line 24 px long
     * in the same shade; a thin line 12 px long, alone */
    const double cases[3][4] = {{12, 11, 8, 0}, {24, 11, 8, 1}, {12, 0, 30, 1}};
    for (int i = 0; i < 3; i++) {
        s_scene_t sc;
        s_scene_init(&sc, 240, 100, 0.39, s_spot_pixel, cases[i]);
        rv_findings_t f = {0};
        rv_param_t kv = {"min_length_mm", 0.5}; /* as the housing's volute */
        s_scene_cracks(&sc, &kv, 1, NULL, &f);
        printf("dark line %.0f px, %.0f deep, in a shade %.0f deep and 10 px wide: %zu finding(s)",
               cases[i][0], cases[i][2], cases[i][1], f.count);
        if (f.count)
            printf(", %.2f by %.2f mm", f.items[0].length_mm, f.items[0].width_mm);
        printf("\n");
        RS_CHECK_EQ(f.count, (size_t) cases[i][3]);
        rv_findings_free(&f);
        s_scene_free(&sc);
    }
}

/* A crack that runs from a face into a narrow shadow band (a disc's groove beside its hat)
 * and on along it. The view shows the face 8 grey levels lighter than the learnt mean, the
 * band 24 lighter (109 against 85: the hat's shadow falls a little differently on every
 * part) and the lit face beyond it 8 lighter. Segments: 76.9 px on the face, 70.3 along
 * the band; 2 px across at full depth, the crack takes 30 % of the light. */
static const double s_band_crack[3][2] = {{80, 30}, {121, 95}, {127, 165}};

static void s_band_pixel(int x, int y, const void *arg, uint8_t *g, uint8_t *r, uint8_t *pm,
                         uint8_t *z)
{
    (void) arg;
    double d = fmin(s_seg_distance(x, y, s_band_crack[0][0], s_band_crack[0][1],
                                   s_band_crack[1][0], s_band_crack[1][1]),
                    s_seg_distance(x, y, s_band_crack[1][0], s_band_crack[1][1],
                                   s_band_crack[2][0], s_band_crack[2][1]));
    double cover = fmin(1, fmax(0, 1.5 - d));
    int face = x < 119, band = !face && x < 133;
    *r = (uint8_t) (face ? 118 : band ? 85 : 150);
    *g = (uint8_t) lrint((face ? 126 : band ? 109 : 158) * (1 - 0.30 * cover));
    *pm = 255;
    *z = face ? 255 : 0; /* the band and the face beyond are the next zone's */
}

/* The walk past the crack's end judged it against the mean (the band's crack lies about
 * as dark as the mean's band, so no darker) and against the part beside it where both
 * sides are lighter than the mean (the lesser side, the face, takes back only 10 of the
 * band's 22): it stopped at the band. Unseen demo discs' cracks read 13-35 % short so
 * (disc-910018: 21.2 mm of 26.5). The walk now also follows a valley: a line darker than
 * the view 4 px either side of it by more than the mean's own valley there. */
static void s_test_crack_band(void)
{
    s_one_crack("crack on into a shadow band lighter than the mean", 200, 200, s_band_pixel,
                s_len3(s_band_crack));
}

/* The same crack with a faint stretch where it runs along the band: for 2 (or 12) px of its
 * length, from row 128, it takes 5 % of the light instead of 30 %, so the valley a step
 * in the band reads there is shallower than the crack's peak asks (a crack's depth varies
 * along it). The walk stopped at the first
 * such step and read the crack short: unseen demo discs whose cracks run on along the
 * hat's band read 11-52 % short (disc-2320031: 24.4 mm of 51.1, the valley 16-27 grey
 * levels along the band where 18 was asked). A walk now goes on through up to two steps
 * that fail and keeps them when a step after them passes; it ends at the last step that
 * passed. */










static void s_faint_pixel(int x, int y, const void *arg, uint8_t *g, uint8_t *r, uint8_t *pm,
                          uint8_t *z)
{
    int faint_px = *(const int *) arg;
    s_band_pixel(x, y, NULL, g, r, pm, z);
    if (y >= 128 && y < 128 + faint_px && x >= 119 && x < 133) { /* the faint stretch */
        double d = s_seg_distance(x, y, s_band_crack[1][0], s_band_crack[1][1],
                                  s_band_crack[2][0], s_band_crack[2][1]);
        double cover = fmin(1, fmax(0, 1.5 - d));
        *g = (uint8_t) lrint(109 * (1 - 0.05 * cover));
    }
}

static void s_test_crack_band_faint(void)
{
    for (int faint = 2; faint <= 12; faint += 10) {
        s_scene_t sc;
        s_scene_init(&sc, 200, 200, 0.2, s_faint_pixel, &faint);
        rv_findings_t f = {0};
        s_scene_cracks(&sc, NULL, 0, NULL, &f);
        double whole = s_len3(s_band_crack) * sc.mmpp;
        /* 2 faint px are walked through (the crack whole; a walk that stops at the first
         * step that fails reads 21.7 mm); 12 are not (the walk ends at the last step that
         * passed, before them) */
        RS_CHECK(f.count >= 1);
        if (faint == 2 && f.count >= 1) {
            RS_CHECK_EQ(f.count, 1);
            s_check_length("crack on along a shadow band, 2 px of it faint", &f.items[0], whole);
        } else {
            for (size_t i = 0; i < f.count; i++) {
                const rv_finding_t *k = &f.items[i];
                printf("crack on along a shadow band, 12 px of it faint: %.2f mm (whole %.2f)\n",
                       k->length_mm, whole);
                RS_CHECKF(k->length_mm < 0.9 * whole, "%.2f mm through 12 faint px",
                          k->length_mm);
            }
        }
        rv_findings_free(&f);
        s_scene_free(&sc);
    }
}

/* A crack that runs from a lit face (170) on across a shaded one (40: a shaft's lower
 * flank, a keyway's floor), the shaded face the next zone's, the crack taking 35 % of each
 * face's light. On the shaded face its blurred line lies under dark_thr (12) against the
 * mean, and the walk past the lit piece's end, asking dark_thr of every step, stopped at
 * the faces' edge: 17.99 mm read for 34.36 (unseen demo shafts: shaft-850022, 18.1 mm read
 * 15.0). The walk now asks dark_thr times the square root of the face's light over the
 * crack's background (about 5.8 here). */
static const double s_shade_crack[3][2] = {{30, 50}, {110, 58}, {200, 74}};

static void s_shade_pixel(int x, int y, const void *arg, uint8_t *g, uint8_t *r, uint8_t *pm,
                          uint8_t *z)
{
    (void) arg;
    const double(*c)[2] = s_shade_crack;
    double d = fmin(s_seg_distance(x, y, c[0][0], c[0][1], c[1][0], c[1][1]),
                    s_seg_distance(x, y, c[1][0], c[1][1], c[2][0], c[2][1]));
    double cover = fmin(1, fmax(0, 1.75 - d));
    double face = x < 120 ? 170 : 40;
    *r = (uint8_t) face;
    *g = (uint8_t) lrint(face * (1 - 0.35 * cover));
    *pm = 255;
    *z = x < 124 ? 255 : 0;
}

static void s_test_crack_shade(void)
{
    s_one_crack("crack on across a shaded face", 240, 120, s_shade_pixel, s_len3(s_shade_crack));
}

/* A short crack across the boundary between two zones (x = 120), 6.9 mm long, 2.6 and 4.3
 * mm on either side: each zone's piece alone is under min_length_mm (4 mm) once its band's
 * ends are taken back, so neither zone's run found it (shaft-850028: 10.8 mm across a
 * shaft's body and shoulder, found by neither). Each zone's run now looks for candidates
 * on its zone grown by RV_ZONE_NEAR_PX and keeps the whole crack when it reaches into the
 * zone: both runs find it whole (the inspector's join keeps it once). */
static const double s_across_crack[2][2] = {{107, 60}, {141, 66}};

static void s_across_pixel(int x, int y, const void *arg, uint8_t *g, uint8_t *r, uint8_t *pm,
                           uint8_t *z)
{
    int right = *(const int *) arg;
    double cover = s_cover(x, y, s_across_crack);
    *r = 160;
    *g = (uint8_t) lrint(160 * (1 - 0.45 * cover));
    *pm = 255;
    *z = (x >= 120) == right ? 255 : 0;
}

static void s_test_crack_across_zones(void)
{
    const double(*c)[2] = s_across_crack;
    double len = hypot(c[1][0] - c[0][0], c[1][1] - c[0][1]);
    for (int right = 0; right <= 1; right++) {
        s_scene_t sc;
        s_scene_init(&sc, 240, 120, 0.2, s_across_pixel, &right);
        rv_findings_t f = {0};
        s_scene_cracks(&sc, NULL, 0, NULL, &f);
        char what[64];
        snprintf(what, sizeof what, "crack across two zones, the %s zone's run",
                 right ? "right" : "left");
        RS_CHECKF(f.count == 1, "%s: %zu findings", what, f.count);
        for (size_t i = 0; i < f.count; i++)
            s_check_length(what, &f.items[i], len * sc.mmpp);
        rv_findings_free(&f);
        s_scene_free(&sc);
    }
    /* a grown zone of another size than the view is refused, naming it */
    int right = 0;
    s_scene_t sc;
    s_scene_init(&sc, 240, 120, 0.2, s_across_pixel, &right);
    uint8_t small[10 * 10] = {0};
    rv_view_t nv;
    RS_CHECK(rv_view_wrap(small, 10, 10, 10, RV_GRAY8, &nv) == 0);
    rv_detect_ctx_t ctx = s_scene_ctx(&sc, NULL);
    ctx.zone_near = &nv;
    const rv_detector_class_t *d = rv_detector_find("crack");
    void *params = calloc(1, d->params_size);
    rv_findings_t f = {0};
    RS_CHECK(params && d->configure(params, NULL, 0) == 0);
    RS_CHECK(params && d->run(params, &ctx, &sc.zone, 0, &f) < 0);
    RS_CHECKF(strstr(rv_last_error(), "zone_near") != NULL, "error: %s", rv_last_error());
    RS_CHECK_EQ(f.count, 0);
    free(params);
    rv_findings_free(&f);
    s_scene_free(&sc);
}

/* A face the view shows darker than the learnt mean all over (its exposure, or the lamp's
 * band a little off: 15-40 grey levels on unseen demo shafts; here 36), right of a design
 * step at x = 180 (the face left of it 13 under its mean) whose shadow line is sharper in
 * the view than in the mean (each good part's lay a pixel apart): 2 px, 14 under the face
 * beside it, 40 for 7 px below the step's corner.
 * A crack crosses the face, 45 under it. */
static const double s_off_crack[2][2] = {{220, 40}, {330, 150}}; /* 155.6 px */

static void s_offset_pixel(int x, int y, const void *arg, uint8_t *g, uint8_t *r, uint8_t *pm,
                           uint8_t *z)
{
    (void) arg;
    double cover = s_cover(x, y, s_off_crack);
    int face = x >= 180;
    *r = face ? 200 : 150;
    double v = face ? 200 - 36 : 150 - 13;
    if (x >= 180 && x < 182 && y >= 20 && y < 180)
        v -= y >= 60 && y < 67 ? 40 : 14;
    *g = (uint8_t) lrint(v - cover * 45);
    *pm = 255;
    *z = x >= 180 ? 255 : 0;
}

/* The walk past a crack's ends stops where the line is no darker than the part beside it
 * (7 px across, the lesser side): judged against the mean alone, the face's own 36 grey
 * levels kept it going, and this crack read 46.0 mm for 31.1. The step's line must not be
 * reported either (it was not before; the sound shaft whose step was, 870168, is checked
 * by e2e.unseen_cores). */
static void s_test_crack_offset(void)
{
    const double(*c)[2] = s_off_crack;
    double len = hypot(c[1][0] - c[0][0], c[1][1] - c[0][1]);
    s_scene_t sc;
    s_scene_init(&sc, 360, 200, 0.2, s_offset_pixel, NULL);
    rv_findings_t f = {0};
    s_scene_cracks(&sc, NULL, 0, NULL, &f);
    int crack = 0, step = 0;
    for (size_t i = 0; i < f.count; i++) {
        const rv_finding_t *k = &f.items[i];
        printf("face darker than the mean: finding at %d,%d %dx%d, %.2f mm\n", k->bbox[0],
               k->bbox[1], k->bbox[2], k->bbox[3], k->length_mm);
        if (k->bbox[0] < 190) {
            step++;
            continue;
        }
        crack++;
        RS_CHECKF(fabs(k->length_mm - len * sc.mmpp) <= 0.10 * len * sc.mmpp,
                  "crack length %.2f mm against %.2f", k->length_mm, len * sc.mmpp);
    }
    printf("face darker than the mean: %d crack(s) (true %.2f mm), %d on the step\n", crack,
           len * sc.mmpp, step);
    RS_CHECK_EQ(crack, 1);
    RS_CHECK_EQ(step, 0);
    rv_findings_free(&f);
    s_scene_free(&sc);
}

/* ms per detector on 5 MP cores, maps precomputed (best of a few runs). */
/* A chip bitten out of a part's straight edge, drawn with exact truth: the true outline
 * at y = 100 (part above), the nominal material (ref_part) 6 px inside it, as a reference
 * keeps it where the goods' outlines disagreed, and the learned outline's share (255 down
 * to 94, 200 to 99, 60 for three rows beyond). The view's part falls 4 px short of the
 * outline all along (a lamp), less a half disc of radius 25 centred on the outline. The
 * chip is measured to the median outline: its area within 6 %, where the nominal alone
 * gives under 70 %; the 4 px strip along the edge does not join it, and alone it is no
 * finding. */
static void s_missing_scene(int chip, rv_findings_t *f, int with_outline)
{
    enum { W = 200, H = 160 };
    static uint8_t gray[W * H], part[W * H], ref[W * H], outl[W * H];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            size_t i = (size_t) y * W + x;
            int bitten = chip && (x - 100) * (x - 100) + (y - 100) * (y - 100) <= 25 * 25;
            part[i] = y < 96 && !bitten ? 255 : 0;
            gray[i] = part[i] ? 180 : 40;
            ref[i] = y < 94 ? 255 : 0;
            outl[i] = y < 94 ? 255 : y < 100 ? 200 : y < 103 ? 60 : 0;
        }
    rv_view_t g, pm, rp, ro;
    RS_CHECK(rv_view_wrap(gray, W, H, W, RV_GRAY8, &g) == 0 &&
             rv_view_wrap(part, W, H, W, RV_GRAY8, &pm) == 0 &&
             rv_view_wrap(ref, W, H, W, RV_GRAY8, &rp) == 0 &&
             rv_view_wrap(outl, W, H, W, RV_GRAY8, &ro) == 0);
    rv_detect_ctx_t ctx = {.gray = &g, .blur = &g, .ref_part = &rp, .part = &pm,
                           .ref_outline = with_outline ? &ro : NULL, .mm_per_px = 0.3};
    const rv_detector_class_t *d = rv_detector_find("missing");
    void *params = calloc(1, d->params_size);
    const rv_param_t kv[] = {{"min_area_mm2", 0.5}};
    RS_CHECK(params && d->configure(params, kv, 1) == 0);
    RS_CHECK(params && d->run(params, &ctx, NULL, 0, f) == 0);
    free(params);
}

static void s_test_missing_outline(void)
{
    /* the truth: the half disc's pixels inside the true outline (y < 100) */
    int truth = 0;
    for (int y = 75; y < 100; y++)
        for (int x = 75; x <= 125; x++)
            truth += (x - 100) * (x - 100) + (y - 100) * (y - 100) <= 25 * 25;
    double mm2 = 0.09; /* 0.3 mm px, as the demo parts' views (the opening: 3 px) */
    rv_findings_t f = {0}, g = {0}, h = {0};
    s_missing_scene(1, &f, 1);
    s_missing_scene(1, &g, 0);
    s_missing_scene(0, &h, 1);
    RS_CHECK_EQ(f.count, 1);
    RS_CHECK_EQ(g.count, 1);
    RS_CHECK_EQ(h.count, 0);
    if (f.count == 1 && g.count == 1) {
        double to_outline = f.items[0].area_mm2 / mm2, to_nominal = g.items[0].area_mm2 / mm2;
        printf("missing: a chip of %d px measured to the learned outline %.0f px (%+.1f %%), "
               "to the nominal alone %.0f px (%+.1f %%); depth %.2f mm (true 7.50), %.2f mm\n",
               truth, to_outline, 100 * (to_outline / truth - 1), to_nominal,
               100 * (to_nominal / truth - 1), f.items[0].length_mm, g.items[0].length_mm);
        RS_CHECKF(fabs(to_outline / truth - 1) <= 0.06, "measured %.0f px of %d", to_outline,
                  truth);
        RS_CHECKF(to_nominal < 0.7 * truth, "to the nominal: %.0f px of %d", to_nominal, truth);
        /* the opening (3 px) takes the bite's one-pixel apex: within 2 px */
        RS_CHECKF(fabs(f.items[0].length_mm - 7.5) <= 0.6, "depth %.2f mm", f.items[0].length_mm);
        RS_CHECK(f.items[0].length_mm > g.items[0].length_mm + 1.5);
        /* its box is the bite's: 51 px wide (75..125), 25 rows (75..99) */
        RS_CHECKF(f.items[0].bbox[1] + f.items[0].bbox[3] == 100 && f.items[0].bbox[2] <= 53,
                  "box %d %d %d %d", f.items[0].bbox[0], f.items[0].bbox[1], f.items[0].bbox[2],
                  f.items[0].bbox[3]);
    }
    rv_findings_free(&f);
    rv_findings_free(&g);
    rv_findings_free(&h);
}

/* A chip on a face whose goods' outlines disagreed (the shaft's dark lower flank): the
 * true outline at y = 100 (part above), the nominal (ref_part) 8 px inside it, the learned
 * outline's share 200 over those 8 rows. The chip is a shallow wide bite (a half ellipse,
 * 40 x 7 px, centred at x = 104: all in the band) and, at its right end, a deep small one
 * (a disc of radius 16 at x = 120, 8 rows into the nominal). Only the deep bite's piece is
 * a gap of the nominal; followed outward only, the shallow bite beside it is lost. The
 * flood (flood_mm) measures the whole chip: within 6 % of its area, outward steps alone
 * under 75 %. The same chip across a zone boundary through the deep bite (x < 120 | x >=
 * 120): zone 0's piece is measured whole, and rv_findings_join_zones keeps one finding of
 * that area, not the sum of the pieces. */
static void s_missing_flank(double flood_mm, rv_findings_t *f, int zones)
{
    enum { W = 220, H = 160 };
    static uint8_t gray[W * H], part[W * H], ref[W * H], outl[W * H], zm[2][W * H];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            size_t i = (size_t) y * W + x;
            double ex = (x - 104) / 20.0, ey = (y - 100) / 7.0;
            int bitten = ex * ex + ey * ey <= 1 ||
                         (x - 120) * (x - 120) + (y - 100) * (y - 100) <= 16 * 16;
            part[i] = y < 100 && !bitten ? 255 : 0;
            gray[i] = part[i] ? 120 : 40;
            ref[i] = y < 92 ? 255 : 0;
            outl[i] = y < 92 ? 255 : y < 100 ? 200 : 0;
            zm[0][i] = y < 92 && x < 120 ? 255 : 0;
            zm[1][i] = y < 92 && x >= 120 ? 255 : 0;
        }
    rv_view_t g, pm, rp, ro, z0, z1;
    RS_CHECK(rv_view_wrap(gray, W, H, W, RV_GRAY8, &g) == 0 &&
             rv_view_wrap(part, W, H, W, RV_GRAY8, &pm) == 0 &&
             rv_view_wrap(ref, W, H, W, RV_GRAY8, &rp) == 0 &&
             rv_view_wrap(outl, W, H, W, RV_GRAY8, &ro) == 0 &&
             rv_view_wrap(zm[0], W, H, W, RV_GRAY8, &z0) == 0 &&
             rv_view_wrap(zm[1], W, H, W, RV_GRAY8, &z1) == 0);
    rv_detect_ctx_t ctx = {.gray = &g, .blur = &g, .ref_part = &rp, .part = &pm,
                           .ref_outline = &ro, .mm_per_px = 0.3};
    const rv_detector_class_t *d = rv_detector_find("missing");
    void *params = calloc(1, d->params_size);
    const rv_param_t kv[] = {{"min_area_mm2", 0.5}, {"flood_mm", flood_mm}};
    RS_CHECK(params && d->configure(params, kv, 2) == 0);
    if (!zones) {
        RS_CHECK(params && d->run(params, &ctx, NULL, 0, f) == 0);
    } else {
        RS_CHECK(params && d->run(params, &ctx, &z0, 0, f) == 0);
        RS_CHECK(params && d->run(params, &ctx, &z1, 1, f) == 0);
    }
    free(params);
}

static void s_test_missing_flank(void)
{
    int truth = 0;
    for (int y = 0; y < 100; y++)
        for (int x = 0; x < 220; x++) {
            double ex = (x - 104) / 20.0, ey = (y - 100) / 7.0;
            truth += ex * ex + ey * ey <= 1 ||
                     (x - 120) * (x - 120) + (y - 100) * (y - 100) <= 16 * 16;
        }
    const double mm2 = 0.09;
    rv_findings_t f = {0}, g = {0}, h = {0};
    s_missing_flank(8, &f, 0);
    s_missing_flank(0, &g, 0);
    s_missing_flank(8, &h, 1);
    RS_CHECK_EQ(f.count, 1);
    RS_CHECK_EQ(g.count, 1);
    /* a piece in each zone: zone 0's measured whole, zone 1's (its flood's window ends
     * before the chip does) by outward steps, inside the other's box */
    RS_CHECK_EQ(h.count, 2);
    if (h.count == 2 && f.count == 1)
        RS_CHECKF(h.items[0].area_mm2 == f.items[0].area_mm2 &&
                      h.items[1].area_mm2 < f.items[0].area_mm2,
                  "pieces %.2f, %.2f mm2, whole %.2f", h.items[0].area_mm2, h.items[1].area_mm2,
                  f.items[0].area_mm2);
    const int rank[2] = {0, 1};
    RS_CHECK_EQ(rv_findings_join_zones(&h, rank, NULL, 2, 30, 6, 0.3), 1);
    RS_CHECK_EQ(h.count, 1);
    if (f.count == 1 && g.count == 1) {
        double flood = f.items[0].area_mm2 / mm2, outward = g.items[0].area_mm2 / mm2;
        printf("missing on a flank: a chip of %d px, followed in any direction %.0f px (%+.1f "
               "%%), outward only %.0f px (%+.1f %%)\n",
               truth, flood, 100 * (flood / truth - 1), outward, 100 * (outward / truth - 1));
        RS_CHECKF(fabs(flood / truth - 1) <= 0.06, "flood %.0f px of %d", flood, truth);
        RS_CHECKF(outward < 0.75 * truth, "outward %.0f px of %d", outward, truth);
        /* its box is the chip's: x 84..136 (the opening takes the ends), rows 84..99 */
        RS_CHECKF(f.items[0].bbox[0] <= 92 && f.items[0].bbox[0] + f.items[0].bbox[2] >= 135 &&
                      f.items[0].bbox[1] + f.items[0].bbox[3] == 100,
                  "box %d %d %d %d", f.items[0].bbox[0], f.items[0].bbox[1], f.items[0].bbox[2],
                  f.items[0].bbox[3]);
    }
    if (h.count == 1 && f.count == 1)
        RS_CHECKF(h.items[0].area_mm2 == f.items[0].area_mm2 && h.items[0].zone == 1,
                  "joined %.2f mm2 in zone %d, whole %.2f", h.items[0].area_mm2, h.items[0].zone,
                  f.items[0].area_mm2);
    rv_findings_free(&f);
    rv_findings_free(&g);
    rv_findings_free(&h);
}

static void s_test_speed(void)
{
    double best[RA_TRUTH_NDET];
    for (int i = 0; i < RA_TRUTH_NDET; i++)
        best[i] = 1e9;
    for (int shape = 0; shape < 3; shape++) {
        ra_truth_core_t c;
        RS_CHECK(ra_truth_core_make(&c, 42 + shape, (ra_gencore_shape_t) shape, 2592, 1944,
                             RA_GENCORE_DEFECTS_ALL, 0) == 0);
        if (!c.gc) {
            ra_truth_core_free(&c);
            continue;
        }
        rv_param_t kv[4] = {{"x0", 1000}, {"y0", 900}, {"x1", 1600}, {"y1", 900}};
        for (int rep = 0; rep < 3; rep++) {
            double ms[RA_TRUTH_NDET] = {0};
            rv_findings_t f = {0};
            ra_truth_detect_all(&c, &f, ms);
            double t0 = s_now();
            ra_truth_detect(&c, "dimension", kv, 4, NULL, &f);
            ms[RA_TRUTH_NDET - 1] = 1e3 * (s_now() - t0);
            for (int i = 0; i < RA_TRUTH_NDET; i++)
                best[i] = fmin(best[i], ms[i]);
            rv_findings_free(&f);
        }
        ra_truth_core_free(&c);
    }
    double total = 0;
    printf("ms per detector at 5 MP (2592x1944, whole-part zone, best of 9):");
    for (int i = 0; i < RA_TRUTH_NDET; i++) {
        printf(" %s %.2f", ra_truth_detectors[i], best[i]);
        total += best[i];
    }
    printf(", total %.2f%s\n", total, SANITIZED ? " (sanitized build)" : "");
}

int main(void)
{
    ra_truth_stats_t st;
    memset(&st, 0, sizeof st);
    s_test_configure();
    s_test_crack_cut();
    s_test_zone_within();
    s_test_crack_shifted_edge();
    s_test_crack_spread();
    s_test_crack_tool_mark();
    s_test_crack_halo();
    s_test_crack_wide();
    s_test_crack_chamfer();
    s_test_crack_offset();
    s_test_crack_zone_exit();
    s_test_crack_lighter_face();
    s_test_crack_band();
    s_test_crack_band_faint();
    s_test_crack_lit_face();
    s_test_crack_spot();
    s_test_crack_shade();
    s_test_crack_across_zones();
    s_test_missing_outline();
    s_test_missing_flank();
    double cal_mm = 0, cal_px = 0, chip_derived = 0;
    s_test_dimension(&cal_mm, &cal_px);
    printf("caliper: bore diameter error max %.3f mm (%.2f px)\n", cal_mm, cal_px);
    int derived_false = 0;
    s_test_fallbacks(&chip_derived, &derived_false);
    printf("missing without ctx->part (drop below the learned mean): chip area error max "
           "%.1f%%, %d false\n",
           100 * chip_derived, derived_false);
    s_test_cores(&st);
    printf("cracks: recall %d/%d = %.3f, length error mean %.1f%% max %.1f%% (%d within 10%%), "
           "width error mean %.2f px; false cracks %d on defective cores, %d on %d clean "
           "cores\n",
           st.cracks_found, st.cracks, st.cracks ? (double) st.cracks_found / st.cracks : 0,
           st.cracks_found ? 100 * st.crack_len_err_sum / st.cracks_found : 0,
           100 * st.crack_len_err_max, st.crack_len_within,
           st.cracks_found ? st.crack_width_err_sum / st.cracks_found : 0, st.false_cracks,
           st.false_cracks_clean, st.clean_cores);
    printf("rust: %d/%d found, area error mean %.1f%% max %.1f%%\n", st.rust_found, st.rust,
           st.rust_found ? 100 * st.rust_err_sum / st.rust_found : 0, 100 * st.rust_err_max);
    printf("pits: %d/%d found, diameter error max %.2f mm, %d false, %d cores with a wrong "
           "count\n",
           st.pits_found, st.pits, st.pit_d_err_max, st.false_pits, st.pit_count_wrong);
    printf("chips: %d/%d found, area error mean %.1f%% max %.1f%%, depth error max %.2f mm, "
           "%d false\n",
           st.chips_found, st.chips, st.chips_found ? 100 * st.chip_err_sum / st.chips_found : 0,
           100 * st.chip_err_max, st.chip_depth_err_max, st.false_missing);
    printf("wear: %d/%d found, %d false on clean cores; other false findings on clean cores "
           "%d\n",
           st.wear_found, st.wear, st.false_wear_clean, st.false_other_clean);
    RS_CHECK(SANITIZED || (st.cracks >= 50 && st.clean_cores >= 15));
    RS_CHECKF(st.cracks_found >= 0.98 * st.cracks, "crack recall %d/%d", st.cracks_found,
              st.cracks);
    RS_CHECK_EQ(st.false_cracks_clean, 0);
    /* a crack cut where it passes a design edge is followed through the cut */
    RS_CHECKF(st.crack_len_within >= 0.98 * st.cracks_found, "%d/%d within 10 %%",
              st.crack_len_within, st.cracks_found);
    RS_CHECKF(st.crack_len_err_sum <= 0.05 * st.cracks_found, "mean length error %.1f%%",
              100 * st.crack_len_err_sum / (st.cracks_found ? st.cracks_found : 1));
    /* the width at half depth: within 0.6 px on average (the generator's cracks carry a
     * faint stain past their rims, and the thinnest read wider by the optics' blur) */
    RS_CHECKF(st.crack_width_err_sum <= 0.6 * st.cracks_found, "mean width error %.2f px",
              st.cracks_found ? st.crack_width_err_sum / st.cracks_found : 0);
    RS_CHECK_EQ(st.rust_found, st.rust);
    RS_CHECKF(st.rust_err_max <= 0.15, "rust area error %.1f%%", 100 * st.rust_err_max);
    RS_CHECK_EQ(st.pits_found, st.pits);
    RS_CHECK_EQ(st.false_pits, 0);
    RS_CHECK_EQ(st.pit_count_wrong, 0);
    RS_CHECK_EQ(st.chips_found, st.chips);
    RS_CHECKF(st.chip_err_max <= 0.10, "chip area error %.1f%%", 100 * st.chip_err_max);
    /* depth to the outline against the generator's R - shift, which its chip's ragged edge
     * (radius +-18 % of R) moves by up to about 3 mm; a chip the generator placed on a
     * piece's outline inside the part (a hole, before 2026-12-05) read 27 mm off */
    RS_CHECKF(st.chip_depth_err_max <= 3.0, "chip depth error %.2f mm", st.chip_depth_err_max);
    RS_CHECK_EQ(st.false_missing, 0);
    RS_CHECK_EQ(st.wear_found, st.wear);
    RS_CHECK_EQ(st.false_wear_clean, 0);
    RS_CHECK_EQ(st.false_other_clean, 0);
    s_test_speed();
    return rs_test_end("app.detect");
}
