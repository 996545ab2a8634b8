/* test_gencore.c - the core generator: determinism, ground truth that agrees with the
 * pixels, a DataMatrix that decodes back, sizes from VGA to 12 MP, refused arguments, and
 * the three files it writes. */
#include <dmtx.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ra/ra_gencore.h"
#include "rs_test.h"
#include "rv/rv_error.h"
#include "rv/rv_jpeg.h"

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

#define GC_PI_4 0.78539816339744831

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

static ra_gencore_t *s_make(uint64_t seed, ra_gencore_shape_t shape, int w, int h,
                            unsigned defects, int reference)
{
    ra_gencore_params_t p;
    ra_gencore_params_init(&p);
    p.seed = seed;
    p.shape = shape;
    p.width = w;
    p.height = h;
    p.defects = defects;
    p.reference = reference;
    ra_gencore_t *g = ra_gencore_render(&p);
    RS_CHECKF(g != NULL, "render seed %llu %s %dx%d: %s", (unsigned long long) seed,
              ra_gencore_shape_name(shape), w, h, rv_last_error());
    return g;
}

static uint8_t s_label(const ra_gencore_t *g, int x, int y)
{
    rv_view_t v = rv_image_view(ra_gencore_labels(g));
    if (x < 0 || y < 0 || x >= v.width || y >= v.height)
        return 255;
    return rv_view_row(&v, y)[x];
}

static int s_images_equal(const rv_image_t *a, const rv_image_t *b)
{
    rv_view_t va = rv_image_view(a), vb = rv_image_view(b);
    if (va.width != vb.width || va.height != vb.height || va.fmt != vb.fmt)
        return 0;
    for (int y = 0; y < va.height; y++)
        if (memcmp(rv_view_row(&va, y), rv_view_row(&vb, y), (size_t) va.width * va.fmt))
            return 0;
    return 1;
}

/* ---- refused arguments ------------------------------------------------------------------- */

static void s_expect_refused(const ra_gencore_params_t *p, const char *text)
{
    rv_clear_error();
    ra_gencore_t *g = ra_gencore_render(p);
    RS_CHECK(g == NULL);
    ra_gencore_destroy(&g);
    RS_CHECK_EQ(ra_gencore_params_check(p), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "ra_gencore: ");
    RS_CHECK_MSG(rv_last_error(), text);
}

static void test_bad_arguments(void)
{
    ra_gencore_params_t p;
    RS_CHECK(ra_gencore_render(NULL) == NULL);
    RS_CHECK_EQ(ra_gencore_params_check(NULL), RV_EINVAL);

    ra_gencore_params_init(&p);
    RS_CHECK_EQ(ra_gencore_params_check(&p), RV_OK);
    p.width = 100;
    p.height = 100;
    s_expect_refused(&p, "size 100x100");
    ra_gencore_params_init(&p);
    p.width = 13000;
    s_expect_refused(&p, "480..12000");
    ra_gencore_params_init(&p);
    p.width = p.height = 8000;
    s_expect_refused(&p, "exceeds");
    ra_gencore_params_init(&p);
    p.quality = 0;
    s_expect_refused(&p, "quality 0");
    p.quality = 101;
    s_expect_refused(&p, "quality 101");
    ra_gencore_params_init(&p);
    p.shape = (ra_gencore_shape_t) 7;
    s_expect_refused(&p, "shape");
    ra_gencore_params_init(&p);
    p.seed = (uint64_t) INT64_MAX + 1u;
    s_expect_refused(&p, "seed");
    ra_gencore_params_init(&p);
    p.counts[RA_DEFECT_CRACK] = 9;
    s_expect_refused(&p, "crack count 9");
    ra_gencore_params_init(&p);
    p.counts[RA_DEFECT_PIT] = -1;
    s_expect_refused(&p, "pit count");
    ra_gencore_params_init(&p);
    p.journal_wear_mm = 0.2; /* a disc */
    s_expect_refused(&p, "a disc has no journal");
    p.shape = RA_GENCORE_SHAFT;
    p.journal_wear_mm = -0.1;
    s_expect_refused(&p, "journal wear -0.1 mm");
    p.journal_wear_mm = 2.5;
    s_expect_refused(&p, "journal wear 2.5 mm");
    p.journal_wear_mm = NAN;
    s_expect_refused(&p, "journal wear");
    ra_gencore_params_init(&p);
    p.defects = 0x40;
    s_expect_refused(&p, "defect bits");

    int w = 0, h = 0;
    RS_CHECK_EQ(ra_gencore_parse_size("640x480", &w, &h), RV_OK);
    RS_CHECK(w == 640 && h == 480);
    RS_CHECK_EQ(ra_gencore_parse_size("12mp", &w, &h), RV_OK);
    RS_CHECK(w == 4000 && h == 3000);
    RS_CHECK_EQ(ra_gencore_parse_size("5mp", &w, &h), RV_OK);
    RS_CHECK(w == 2592 && h == 1944);
    static const char *bad_sizes[] = {"", "640x", "x480", "640x480x3", "-640x480", "640*480",
                                      "640x480 ", "99999999999999999999x480", "huge"};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        w = h = -1;
        RS_CHECK_EQ(ra_gencore_parse_size(bad_sizes[i], &w, &h), RV_EINVAL);
        RS_CHECK(w == -1 && h == -1);
        RS_CHECK_MSG(rv_last_error(), "size");
    }
    RS_CHECK_EQ(ra_gencore_parse_size("640x400", &w, &h), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "480..12000");

    ra_gencore_shape_t shape = RA_GENCORE_DISC;
    RS_CHECK_EQ(ra_gencore_parse_shape("shaft", &shape), RV_OK);
    RS_CHECK_EQ(shape, RA_GENCORE_SHAFT);
    RS_CHECK_EQ(ra_gencore_parse_shape("cube", &shape), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "\"cube\"");
    RS_CHECK_EQ(shape, RA_GENCORE_SHAFT);

    unsigned set = 99;
    RS_CHECK_EQ(ra_gencore_parse_defects("none", &set), RV_OK);
    RS_CHECK_EQ(set, 0);
    RS_CHECK_EQ(ra_gencore_parse_defects("all", &set), RV_OK);
    RS_CHECK_EQ(set, RA_GENCORE_DEFECTS_ALL);
    RS_CHECK_EQ(ra_gencore_parse_defects("pit,crack", &set), RV_OK);
    RS_CHECK_EQ(set, RA_GENCORE_DEFECT_BIT(RA_DEFECT_PIT) | RA_GENCORE_DEFECT_BIT(RA_DEFECT_CRACK));
    RS_CHECK_EQ(ra_gencore_parse_defects("crack,foo", &set), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "\"foo\"");
    RS_CHECK_EQ(ra_gencore_parse_defects("crack,", &set), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "comma");
    RS_CHECK_EQ(ra_gencore_parse_defects("", &set), RV_EINVAL);

    ra_gencore_t *g = s_make(3, RA_GENCORE_DISC, 640, 480, 0, 0);
    if (g) {
        RS_CHECK_EQ(ra_gencore_write(g, "/tmp", "a/b"), RV_EINVAL);
        RS_CHECK_MSG(rv_last_error(), "plain file name");
        RS_CHECK_EQ(ra_gencore_write(g, "/nonexistent/dir/for/gencore", "x"), RV_EIO);
        RS_CHECK_MSG(rv_last_error(), "/nonexistent/dir/for/gencore/x.jpg");
    }
    ra_gencore_destroy(&g);
    RS_CHECK(g == NULL);
    ra_gencore_destroy(NULL);
}

/* ---- determinism ------------------------------------------------------------------------- */

static void test_determinism(void)
{
    ra_gencore_t *a = s_make(11, RA_GENCORE_DISC, 640, 480, RA_GENCORE_DEFECTS_ALL, 0);
    ra_gencore_t *b = s_make(11, RA_GENCORE_DISC, 640, 480, RA_GENCORE_DEFECTS_ALL, 0);
    ra_gencore_t *c = s_make(12, RA_GENCORE_DISC, 640, 480, RA_GENCORE_DEFECTS_ALL, 0);
    ra_gencore_t *d = s_make(11, RA_GENCORE_HOUSING, 640, 480, RA_GENCORE_DEFECTS_ALL, 0);
    if (a && b && c && d) {
        size_t la, lb, lc;
        const uint8_t *ja = ra_gencore_jpeg(a, &la), *jb = ra_gencore_jpeg(b, &lb);
        const uint8_t *jc = ra_gencore_jpeg(c, &lc);
        RS_CHECK(la > 1000);
        RS_CHECK(la == lb && memcmp(ja, jb, la) == 0);
        RS_CHECK(s_images_equal(ra_gencore_rgb(a), ra_gencore_rgb(b)));
        RS_CHECK(s_images_equal(ra_gencore_labels(a), ra_gencore_labels(b)));
        RS_CHECK(strcmp(ra_gencore_json(a), ra_gencore_json(b)) == 0);
        RS_CHECK(la != lc || memcmp(ja, jc, la) != 0);
        RS_CHECK(!s_images_equal(ra_gencore_rgb(a), ra_gencore_rgb(c)));
        RS_CHECK(strcmp(ra_gencore_json(a), ra_gencore_json(c)) != 0);
        RS_CHECK(strcmp(ra_gencore_serial(a), "RC-000011") == 0);
        RS_CHECK(strcmp(ra_gencore_serial(c), "RC-000012") == 0);
        RS_CHECK(!s_images_equal(ra_gencore_labels(a), ra_gencore_labels(d)));
    }
    ra_gencore_destroy(&a);
    ra_gencore_destroy(&b);
    ra_gencore_destroy(&c);
    ra_gencore_destroy(&d);
}

/* ---- ground truth ------------------------------------------------------------------------ */

static const uint8_t s_label_of[RA_DEFECT_NTYPES] = {RA_LABEL_CRACK, RA_LABEL_RUST, RA_LABEL_PIT,
                                                     RA_LABEL_CHIP, RA_LABEL_WEAR};

static long s_count_in(const ra_gencore_t *g, const int b[4], uint8_t label)
{
    long n = 0;
    for (int y = b[1]; y < b[1] + b[3]; y++)
        for (int x = b[0]; x < b[0] + b[2]; x++)
            n += s_label(g, x, y) == label;
    return n;
}

static double s_luma(const ra_gencore_t *g, int x, int y)
{
    rv_view_t v = rv_image_view(ra_gencore_rgb(g));
    const uint8_t *p = rv_view_row(&v, y) + 3 * x;
    return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
}

static void s_check_truth(ra_gencore_t *g, ra_gencore_t *ref)
{
    const ra_gencore_params_t *p = ra_gencore_params(g);
    const char *what = ra_gencore_shape_name(p->shape);
    json_error_t err;
    json_t *root = json_loads(ra_gencore_json(g), 0, &err);
    RS_CHECKF(root != NULL, "%s: JSON: %s", what, err.text);
    if (!root)
        return;
    double mmpp = ra_gencore_mm_per_px(g);
    RS_CHECK(strcmp(json_string_value(json_object_get(root, "schema")), "reman.gencore/1") == 0);
    RS_CHECK_EQ(json_integer_value(json_object_get(root, "seed")), (long long) p->seed);
    RS_CHECK(strcmp(json_string_value(json_object_get(root, "shape")), what) == 0);
    RS_CHECK_EQ(json_integer_value(json_object_get(root, "width")), p->width);
    RS_CHECK_EQ(json_integer_value(json_object_get(root, "height")), p->height);
    RS_CHECK(json_real_value(json_object_get(root, "mm_per_px")) == mmpp);
    RS_CHECK(mmpp > 0.02 && mmpp < 2.0);
    const char *serial = json_string_value(json_object_get(root, "serial"));
    const char *pn = json_string_value(json_object_get(root, "part_number"));
    const char *family = json_string_value(json_object_get(root, "family"));
    RS_CHECK(serial && strcmp(serial, ra_gencore_serial(g)) == 0);
    RS_CHECK(pn && strcmp(pn, ra_gencore_part_number(g)) == 0);
    RS_CHECK(family && strncmp(family, "demo-", 5) == 0);
    char text[96];
    snprintf(text, sizeof text, "S:%s;P:%s", serial ? serial : "", pn ? pn : "");
    json_t *code = json_object_get(root, "code");
    RS_CHECK(strcmp(json_string_value(json_object_get(code, "text")), text) == 0);
    RS_CHECK(strcmp(ra_gencore_code(g)->text, text) == 0);

    /* the label census in the JSON is the label image's histogram */
    long hist[256] = {0};
    rv_view_t lv = rv_image_view(ra_gencore_labels(g));
    for (int y = 0; y < lv.height; y++)
        for (int x = 0; x < lv.width; x++)
            hist[rv_view_row(&lv, y)[x]]++;
    json_t *counts = json_object_get(root, "label_counts");
    RS_CHECK_EQ(json_array_size(counts), RA_LABEL_COUNT);
    long total = 0;
    for (int i = 0; i < RA_LABEL_COUNT; i++) {
        RS_CHECK_EQ(json_integer_value(json_array_get(counts, (size_t) i)), hist[i]);
        RS_CHECK_EQ(ra_gencore_label_counts(g)[i], hist[i]);
        total += hist[i];
    }
    RS_CHECK_EQ(total, (long) p->width * p->height);
    RS_CHECK(hist[RA_LABEL_PART] > total / 20);
    RS_CHECK(hist[RA_LABEL_CODE] > 0);

    /* the part spans most of the frame along its long side: 80 % unrotated (the camera's
     * scale is fixed per shape and frame), up to 96 % when turned */
    json_t *pb = json_object_get(json_object_get(root, "part"), "bbox");
    double span = fmax((double) json_integer_value(json_array_get(pb, 2)) / p->width,
                       (double) json_integer_value(json_array_get(pb, 3)) / p->height);
    RS_CHECKF(span > 0.7 && span <= 0.965, "%s: part spans %.2f of the frame", what, span);

    /* the code's pixels lie in its bbox */
    const ra_gencore_code_t *cd = ra_gencore_code(g);
    RS_CHECK_EQ(s_count_in(g, cd->bbox, RA_LABEL_CODE), hist[RA_LABEL_CODE]);

    json_t *defects = json_object_get(root, "defects");
    size_t nd = ra_gencore_defect_count(g);
    RS_CHECK_EQ(json_array_size(defects), nd);
    long sum[RA_LABEL_COUNT] = {0};
    for (size_t i = 0; i < nd; i++) {
        const ra_gencore_defect_t *d = ra_gencore_defect(g, i);
        json_t *jd = json_array_get(defects, i);
        uint8_t lab = s_label_of[d->type];
        RS_CHECK(strcmp(json_string_value(json_object_get(jd, "type")),
                        ra_gencore_defect_name(d->type)) == 0);
        RS_CHECK_EQ(json_integer_value(json_object_get(jd, "label")), lab);
        json_t *jb = json_object_get(jd, "bbox");
        for (int k = 0; k < 4; k++)
            RS_CHECK_EQ(json_integer_value(json_array_get(jb, (size_t) k)), d->bbox[k]);
        /* each defect's pixels carry its label, and the listed area is their number */
        long n = s_count_in(g, d->bbox, lab);
        RS_CHECKF(n == d->area_px && n > 0, "%s defect %zu (%s): %ld labelled, area_px %ld", what,
                  i, ra_gencore_defect_name(d->type), n, d->area_px);
        RS_CHECK_EQ(json_integer_value(json_object_get(jd, "area_px")), d->area_px);
        RS_CHECK(fabs(json_real_value(json_object_get(jd, "area_mm2")) -
                      d->area_px * mmpp * mmpp) < 0.002);
        sum[lab] += n;
        /* a tight bbox: the label touches its first and last row */
        int top = 0, bottom = 0;
        for (int x = d->bbox[0]; x < d->bbox[0] + d->bbox[2]; x++) {
            top |= s_label(g, x, d->bbox[1]) == lab;
            bottom |= s_label(g, x, d->bbox[1] + d->bbox[3] - 1) == lab;
        }
        RS_CHECK(top && bottom);
        /* defects keep off the DataMatrix */
        const int *cb = cd->bbox;
        RS_CHECK(d->bbox[0] >= cb[0] + cb[2] || cb[0] >= d->bbox[0] + d->bbox[2] ||
                 d->bbox[1] >= cb[1] + cb[3] || cb[1] >= d->bbox[1] + d->bbox[3]);
        switch (d->type) {
        case RA_DEFECT_CRACK: {
            json_t *pts = json_object_get(jd, "points");
            size_t np = json_array_size(pts);
            RS_CHECK(np >= 3 && np <= 6 && (int) np == d->npoints);
            double len = 0;
            for (size_t k = 0; k < np; k++) {
                double x = json_real_value(json_array_get(json_array_get(pts, k), 0));
                double y = json_real_value(json_array_get(json_array_get(pts, k), 1));
                if (k) {
                    double px = json_real_value(json_array_get(json_array_get(pts, k - 1), 0));
                    double py = json_real_value(json_array_get(json_array_get(pts, k - 1), 1));
                    len += sqrt((x - px) * (x - px) + (y - py) * (y - py));
                }
                /* every vertex lies on crack pixels */
                int hit = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                        hit |= s_label(g, (int) floor(x + 0.5) + dx, (int) floor(y + 0.5) + dy) ==
                               RA_LABEL_CRACK;
                RS_CHECK(hit);
            }
            double lpx = json_real_value(json_object_get(jd, "length_px"));
            double wpx = json_real_value(json_object_get(jd, "width_px"));
            RS_CHECKF(fabs(len - lpx) < 0.002, "polyline %.4f vs length_px %.4f", len, lpx);
            RS_CHECK(fabs(json_real_value(json_object_get(jd, "length_mm")) - lpx * mmpp) < 0.002);
            RS_CHECK(wpx >= 1.0 && wpx <= 4.0);
            /* the mask's area is the band of that width along that length (plus round caps) */
            double expect = lpx * wpx + GC_PI_4 * wpx * wpx;
            RS_CHECKF(fabs(n - expect) < 0.2 * expect + 8, "crack: %ld px for %.1f x %.1f", n, lpx,
                      wpx);
            break;
        }
        case RA_DEFECT_PIT: {
            double r = d->diameter_px / 2;
            RS_CHECK(d->diameter_px >= 3.0);
            RS_CHECK(s_label(g, (int) floor(d->centre[0] + 0.5), (int) floor(d->centre[1] + 0.5)) ==
                     RA_LABEL_PIT);
            double expect = GC_PI_4 * 4 * r * r;
            RS_CHECKF(fabs(n - expect) < 0.15 * expect + 6, "pit: %ld px for d=%.2f", n,
                      d->diameter_px);
            RS_CHECK(fabs(json_real_value(json_object_get(jd, "diameter_mm")) -
                          d->diameter_px * mmpp) < 0.002);
            json_t *c = json_object_get(jd, "centre");
            RS_CHECK(json_real_value(json_array_get(c, 0)) == d->centre[0]);
            break;
        }
        case RA_DEFECT_RUST: {
            /* rust-coloured: red over green over blue, a brown around RGB(140, 70, 30) */
            rv_view_t v = rv_image_view(ra_gencore_rgb(g));
            double m[3] = {0, 0, 0};
            for (int y = d->bbox[1]; y < d->bbox[1] + d->bbox[3]; y++)
                for (int x = d->bbox[0]; x < d->bbox[0] + d->bbox[2]; x++)
                    if (s_label(g, x, y) == RA_LABEL_RUST)
                        for (int ch = 0; ch < 3; ch++)
                            m[ch] += rv_view_row(&v, y)[3 * x + ch];
            for (int ch = 0; ch < 3; ch++)
                m[ch] /= (double) n;
            RS_CHECKF(m[0] > m[1] * 1.4 && m[1] > m[2] * 1.4 && m[0] > 80 && m[0] < 200,
                      "rust colour %.0f %.0f %.0f", m[0], m[1], m[2]);
            break;
        }
        case RA_DEFECT_CHIP:
        case RA_DEFECT_WEAR:
            if (ref) {
                /* a chip is missing material inside the nominal outline, and darker (the
                 * fixture shows); a wear band is polished brighter than the reference */
                double lg = 0, lr = 0;
                long inside = 0;
                for (int y = d->bbox[1]; y < d->bbox[1] + d->bbox[3]; y++)
                    for (int x = d->bbox[0]; x < d->bbox[0] + d->bbox[2]; x++)
                        if (s_label(g, x, y) == lab) {
                            inside += s_label(ref, x, y) == RA_LABEL_PART;
                            lg += s_luma(g, x, y);
                            lr += s_luma(ref, x, y);
                        }
                RS_CHECK_EQ(inside, n);
                if (d->type == RA_DEFECT_CHIP)
                    RS_CHECKF(lg < lr * 0.7, "chip %.0f vs reference %.0f", lg / n, lr / n);
                else
                    RS_CHECKF(lg > lr + 3.0 * n, "wear %.1f vs reference %.1f", lg / n, lr / n);
            }
            break;
        }
    }
    /* every defect pixel in the image belongs to a listed defect */
    for (int l = RA_LABEL_CRACK; l <= RA_LABEL_WEAR; l++)
        RS_CHECKF(sum[l] == hist[l], "%s: label %d: %ld listed, %ld in the mask", what, l, sum[l],
                  hist[l]);
    json_decref(root);
}

static void test_ground_truth(void)
{
    static const struct {
        ra_gencore_shape_t shape;
        uint64_t seed;
        int w, h;
    } cases[] = {{RA_GENCORE_DISC, 21, 1280, 960},   {RA_GENCORE_HOUSING, 22, 1280, 960},
                 {RA_GENCORE_SHAFT, 23, 1280, 960},  {RA_GENCORE_DISC, 24, 640, 480},
                 {RA_GENCORE_HOUSING, 25, 800, 600}, {RA_GENCORE_SHAFT, 26, 1000, 1000}};
    int seen[RA_DEFECT_NTYPES] = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ra_gencore_t *g = s_make(cases[i].seed, cases[i].shape, cases[i].w, cases[i].h,
                                 RA_GENCORE_DEFECTS_ALL, 0);
        ra_gencore_t *r = s_make(cases[i].seed, cases[i].shape, cases[i].w, cases[i].h, 0, 1);
        if (g && r) {
            s_check_truth(g, r);
            for (size_t k = 0; k < ra_gencore_defect_count(g); k++)
                seen[ra_gencore_defect(g, k)->type]++;
        }
        ra_gencore_destroy(&g);
        ra_gencore_destroy(&r);
    }
    for (int t = 0; t < RA_DEFECT_NTYPES; t++)
        RS_CHECKF(seen[t] >= 4, "%s placed %d times in 6 cores", ra_gencore_defect_name(t),
                  seen[t]);

    /* asked-for counts are honoured where there is room */
    ra_gencore_params_t p;
    ra_gencore_params_init(&p);
    p.seed = 31;
    p.defects = RA_GENCORE_DEFECT_BIT(RA_DEFECT_PIT) | RA_GENCORE_DEFECT_BIT(RA_DEFECT_CRACK);
    p.counts[RA_DEFECT_PIT] = 5;
    p.counts[RA_DEFECT_CRACK] = 3;
    ra_gencore_t *g = ra_gencore_render(&p);
    RS_CHECK(g != NULL);
    if (g) {
        int n[RA_DEFECT_NTYPES] = {0};
        for (size_t k = 0; k < ra_gencore_defect_count(g); k++)
            n[ra_gencore_defect(g, k)->type]++;
        RS_CHECK_EQ(n[RA_DEFECT_PIT], 5);
        RS_CHECK_EQ(n[RA_DEFECT_CRACK], 3);
        RS_CHECK_EQ(n[RA_DEFECT_RUST] + n[RA_DEFECT_CHIP] + n[RA_DEFECT_WEAR], 0);
        s_check_truth(g, NULL);
    }
    ra_gencore_destroy(&g);
}

/* ---- reference and clean cores ----------------------------------------------------------- */

static void test_reference(void)
{
    ra_gencore_t *g = s_make(5, RA_GENCORE_DISC, 800, 600, RA_GENCORE_DEFECTS_ALL, 0);
    ra_gencore_t *r = s_make(5, RA_GENCORE_DISC, 800, 600, RA_GENCORE_DEFECTS_ALL, 1);
    ra_gencore_t *c = s_make(5, RA_GENCORE_DISC, 800, 600, 0, 0);
    if (g && r && c) {
        RS_CHECK(ra_gencore_defect_count(g) > 0);
        RS_CHECK_EQ(ra_gencore_defect_count(r), 0);
        RS_CHECK_EQ(ra_gencore_defect_count(c), 0);
        RS_CHECK(strstr(ra_gencore_json(r), "\"reference\": true") != NULL);
        RS_CHECK(strstr(ra_gencore_json(r), "\"clean\": true") != NULL);
        RS_CHECK(strstr(ra_gencore_json(c), "\"clean\": true") != NULL);
        RS_CHECK(strstr(ra_gencore_json(g), "\"clean\": false") != NULL);
        /* same pose: outline and code sit on the same pixels; the clean core differs from the
         * reference only by sensor noise */
        RS_CHECK(s_images_equal(ra_gencore_labels(r), ra_gencore_labels(c)));
        rv_view_t lg = rv_image_view(ra_gencore_labels(g));
        rv_view_t lr = rv_image_view(ra_gencore_labels(r));
        long moved = 0;
        for (int y = 0; y < lg.height; y++)
            for (int x = 0; x < lg.width; x++) {
                uint8_t a = rv_view_row(&lg, y)[x], b = rv_view_row(&lr, y)[x];
                if ((a == RA_LABEL_BACKGROUND) != (b == RA_LABEL_BACKGROUND) ||
                    (a == RA_LABEL_CODE) != (b == RA_LABEL_CODE))
                    moved++;
            }
        RS_CHECK_EQ(moved, 0);
        double diff = 0, maxd = 0;
        long n = 0;
        for (int y = 0; y < lg.height; y++)
            for (int x = 0; x < lg.width; x++) {
                double d = fabs(s_luma(c, x, y) - s_luma(r, x, y));
                diff += d;
                maxd = fmax(maxd, d);
                n++;
            }
        RS_CHECKF(diff / n > 0.5 && diff / n < 3.5, "noise: mean |clean - reference| %.2f",
                  diff / n);
        for (int l = RA_LABEL_CRACK; l <= RA_LABEL_WEAR; l++)
            RS_CHECK_EQ(ra_gencore_label_counts(c)[l], 0);
    }
    ra_gencore_destroy(&g);
    ra_gencore_destroy(&r);
    ra_gencore_destroy(&c);
}

/* ---- DataMatrix -------------------------------------------------------------------------- */

/* Decode the DataMatrix from the gray image: the whole frame, or a crop around the code's
 * box grown by four modules (what a reader that was told where to look would do). */
static int s_decode(const rv_image_t *gray, const ra_gencore_code_t *cd, int whole,
                    char *out, size_t cap)
{
    rv_view_t v = rv_image_view(gray);
    int x0 = 0, y0 = 0, w = v.width, h = v.height;
    if (!whole) {
        int grow = (int) (4 * cd->module_px) + 2;
        x0 = cd->bbox[0] - grow;
        y0 = cd->bbox[1] - grow;
        int x1 = cd->bbox[0] + cd->bbox[2] + grow, y1 = cd->bbox[1] + cd->bbox[3] + grow;
        x0 = x0 < 0 ? 0 : x0;
        y0 = y0 < 0 ? 0 : y0;
        x1 = x1 > v.width ? v.width : x1;
        y1 = y1 > v.height ? v.height : y1;
        w = x1 - x0;
        h = y1 - y0;
    }
    unsigned char *buf = malloc((size_t) w * (size_t) h);
    if (!buf)
        return 0;
    for (int y = 0; y < h; y++)
        memcpy(buf + (size_t) y * w, rv_view_row(&v, y0 + y) + x0, (size_t) w);
    int ok = 0;
    DmtxImage *img = dmtxImageCreate(buf, w, h, DmtxPack8bppK);
    DmtxDecode *dec = img ? dmtxDecodeCreate(img, 1) : NULL;
    if (dec) {
        DmtxTime timeout = dmtxTimeAdd(dmtxTimeNow(), 20000);
        DmtxRegion *reg = dmtxRegionFindNext(dec, &timeout);
        if (reg) {
            DmtxMessage *msg = dmtxDecodeMatrixRegion(dec, reg, DmtxUndefined);
            if (msg) {
                size_t n = (size_t) msg->outputIdx < cap - 1 ? (size_t) msg->outputIdx : cap - 1;
                memcpy(out, msg->output, n);
                out[n] = '\0';
                ok = 1;
                dmtxMessageDestroy(&msg);
            }
            dmtxRegionDestroy(&reg);
        }
        dmtxDecodeDestroy(&dec);
    }
    if (img)
        dmtxImageDestroy(&img);
    free(buf);
    return ok;
}

static void s_check_code(const ra_gencore_t *g, int whole)
{
    size_t len;
    const uint8_t *jpeg = ra_gencore_jpeg(g, &len);
    rv_image_t *gray = rv_jpeg_decode(jpeg, len, RV_GRAY8, 1);
    RS_CHECKF(gray != NULL, "decode: %s", rv_last_error());
    if (!gray)
        return;
    char text[128] = "";
    char expect[96];
    snprintf(expect, sizeof expect, "S:%s;P:%s", ra_gencore_serial(g), ra_gencore_part_number(g));
    int ok = s_decode(gray, ra_gencore_code(g), whole, text, sizeof text);
    const ra_gencore_params_t *p = ra_gencore_params(g);
    RS_CHECKF(ok && strcmp(text, expect) == 0,
              "%s %dx%d seed %llu (%s): decoded \"%s\", want \"%s\"",
              ra_gencore_shape_name(p->shape), p->width, p->height, (unsigned long long) p->seed,
              whole ? "whole frame" : "crop", ok ? text : "(nothing)", expect);
    rv_image_destroy(&gray);
}

static void test_datamatrix(void)
{
    for (int shape = 0; shape < RA_GENCORE_NSHAPES; shape++)
        for (uint64_t seed = 40; seed < 43; seed++) {
            ra_gencore_t *g = s_make(seed, (ra_gencore_shape_t) shape, 640, 480,
                                     RA_GENCORE_DEFECTS_ALL, 0);
            if (g) {
                s_check_code(g, 0);
                if (seed == 40)
                    s_check_code(g, 1);
            }
            ra_gencore_destroy(&g);
            g = s_make(seed + 100, (ra_gencore_shape_t) shape, 1280, 960, RA_GENCORE_DEFECTS_ALL,
                       0);
            if (g)
                s_check_code(g, 0);
            ra_gencore_destroy(&g);
        }
}

/* ---- sizes ------------------------------------------------------------------------------- */

static void test_sizes(void)
{
    static const struct {
        const char *size;
        ra_gencore_shape_t shape;
    } cases[] = {{"vga", RA_GENCORE_SHAFT},   {"2mp", RA_GENCORE_DISC},
                 {"5mp", RA_GENCORE_HOUSING}, {"12mp", RA_GENCORE_DISC},
                 {"12mp", RA_GENCORE_SHAFT},  {"3000x4000", RA_GENCORE_HOUSING}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int w, h;
        RS_CHECK_EQ(ra_gencore_parse_size(cases[i].size, &w, &h), RV_OK);
        double t0 = s_now();
        ra_gencore_t *g = s_make(50 + i, cases[i].shape, w, h, RA_GENCORE_DEFECTS_ALL, 0);
        double t = s_now() - t0;
        if (!g)
            continue;
        printf("  %-9s %-7s %5.0f ms, %zu defects\n", cases[i].size,
               ra_gencore_shape_name(cases[i].shape), t * 1000, ra_gencore_defect_count(g));
        if (!SANITIZED && w * h >= 12000000)
            RS_CHECKF(t < 4.0, "12 MP core took %.2f s", t);
        RS_CHECK_EQ(rv_image_width(ra_gencore_rgb(g)), w);
        RS_CHECK_EQ(rv_image_width(ra_gencore_labels(g)), w);
        size_t len;
        const uint8_t *jpeg = ra_gencore_jpeg(g, &len);
        rv_jpeg_info_t info;
        RS_CHECK_EQ(rv_jpeg_read_header(jpeg, len, &info), RV_OK);
        RS_CHECK(info.width == w && info.height == h && info.components == 3);
        rv_image_t *dec = rv_jpeg_decode(jpeg, len, RV_RGB8, 1);
        RS_CHECKF(dec != NULL, "%s", rv_last_error());
        if (dec) {
            /* quality 92: the decoded picture stays close to what was rendered */
            rv_view_t a = rv_image_view(dec), b = rv_image_view(ra_gencore_rgb(g));
            double sum = 0;
            for (int y = 0; y < h; y += 7)
                for (int x = 0; x < 3 * w; x += 5)
                    sum += abs(rv_view_row(&a, y)[x] - rv_view_row(&b, y)[x]);
            double mean = sum / (((h + 6) / 7) * (double) ((3 * w + 4) / 5));
            RS_CHECKF(mean < 3.0, "JPEG mean error %.2f", mean);
        }
        rv_image_destroy(&dec);
        if (w * h >= 12000000 || i == 0)
            s_check_code(g, 0);
        if (i == 2)
            s_check_truth(g, NULL);
        ra_gencore_destroy(&g);
    }
}

/* ---- files ------------------------------------------------------------------------------- */

static uint8_t *s_slurp(const char *path, size_t *len)
{
    uint8_t *buf = NULL;
    if (rv_file_read(path, 64u << 20, &buf, len) != RV_OK)
        return NULL;
    return buf;
}

static void test_write(void)
{
    char dir[] = "/tmp/test_gencore.XXXXXX";
    if (!mkdtemp(dir)) {
        RS_CHECKF(0, "mkdtemp failed");
        return;
    }
    ra_gencore_t *g = s_make(77, RA_GENCORE_HOUSING, 640, 480, RA_GENCORE_DEFECTS_ALL, 0);
    if (g) {
        RS_CHECK_EQ(ra_gencore_write(g, dir, "core"), RV_OK);
        char path[256];
        size_t len, jl;
        const uint8_t *jpeg = ra_gencore_jpeg(g, &jl);
        snprintf(path, sizeof path, "%s/core.jpg", dir);
        uint8_t *b = s_slurp(path, &len);
        RS_CHECK(b && len == jl && memcmp(b, jpeg, jl) == 0);
        free(b);
        unlink(path);
        snprintf(path, sizeof path, "%s/core.json", dir);
        b = s_slurp(path, &len);
        RS_CHECK(b && len == strlen(ra_gencore_json(g)) &&
                 memcmp(b, ra_gencore_json(g), len) == 0);
        free(b);
        unlink(path);
        snprintf(path, sizeof path, "%s/core.pgm", dir);
        b = s_slurp(path, &len);
        RS_CHECK(b != NULL);
        if (b) {
            /* P5, a comment, "640 480", 255, then one label byte per pixel */
            RS_CHECK(len > 2 && b[0] == 'P' && b[1] == '5');
            const char *hdr_end = NULL;
            int lines = 0;
            for (size_t k = 0; k < len && k < 400; k++)
                if (b[k] == '\n' && ++lines == 4) {
                    hdr_end = (const char *) b + k + 1;
                    break;
                }
            RS_CHECK(hdr_end != NULL);
            RS_CHECK(strstr((const char *) b, "\n640 480\n255\n") != NULL);
            if (hdr_end) {
                size_t off = (size_t) (hdr_end - (const char *) b);
                RS_CHECK_EQ(len - off, 640 * 480);
                rv_view_t lv = rv_image_view(ra_gencore_labels(g));
                int same = len - off == 640 * 480;
                for (int y = 0; same && y < 480; y++)
                    same = memcmp(b + off + (size_t) y * 640, rv_view_row(&lv, y), 640) == 0;
                RS_CHECK(same);
            }
        }
        free(b);
        unlink(path);
    }
    ra_gencore_destroy(&g);
    rmdir(dir);
}

/* A worn journal: the same shaft but the journal, narrower by exactly the wear (its part
 * label's height across the journal's middle), the rest of the picture as it was, and the
 * true diameter in the JSON. */
static void test_journal_wear(void)
{
    ra_gencore_params_t p;
    ra_gencore_params_init(&p);
    p.shape = RA_GENCORE_SHAFT;
    p.seed = 31;
    p.defects = 0;
    p.canonical = 1;
    ra_gencore_t *a = ra_gencore_render(&p);
    p.journal_wear_mm = 1.0;
    ra_gencore_t *b = ra_gencore_render(&p);
    RS_CHECK(a && b);
    if (a && b) {
        double mmpp = ra_gencore_mm_per_px(a);
        rv_view_t la = rv_image_view(ra_gencore_labels(a)),
                  lb = rv_image_view(ra_gencore_labels(b));
        /* the journal spans u = -172..-105 mm from the part's origin (the JSON's centre,
         * unrotated at the canonical pose): count the part's label rows in its middle */
        json_error_t err;
        json_t *ja = json_loads(ra_gencore_json(a), 0, &err),
               *jb = json_loads(ra_gencore_json(b), 0, &err);
        json_t *centre = json_object_get(json_object_get(ja, "part"), "centre");
        double cx = json_real_value(json_array_get(centre, 0));
        int x = (int) lround(cx - 138.5 / mmpp);
        int ha = 0, hb = 0, differ_far = 0;
        for (int y = 0; y < la.height; y++) {
            ha += rv_view_row(&la, y)[x] != RA_LABEL_BACKGROUND;
            hb += rv_view_row(&lb, y)[x] != RA_LABEL_BACKGROUND;
        }
        /* far from the journal (the thread's end), the pictures are the same */
        const rv_image_t *ra = ra_gencore_rgb(a), *rb = ra_gencore_rgb(b);
        rv_view_t va = rv_image_view(ra), vb = rv_image_view(rb);
        int xf = (int) lround(cx + 190 / mmpp);
        for (int y = 0; y < va.height; y++)
            differ_far +=
                memcmp(rv_view_row(&va, y) + 3 * xf, rv_view_row(&vb, y) + 3 * xf, 3) != 0;
        printf("journal worn 1.0 mm: %d label rows across it, %d unworn (%.3f mm less, %.3f mm "
               "per px)\n", hb, ha, (ha - hb) * mmpp, mmpp);
        RS_CHECK(fabs((ha - hb) * mmpp - 1.0) <= 2 * mmpp);
        RS_CHECK_EQ(differ_far, 0);
        json_t *pa = json_object_get(ja, "part"), *pb = json_object_get(jb, "part");
        RS_CHECK(fabs(json_real_value(json_object_get(pa, "journal_diameter_mm")) - 52.0) < 1e-9);
        RS_CHECK(fabs(json_real_value(json_object_get(pb, "journal_diameter_mm")) - 51.0) < 1e-9);
        json_decref(ja);
        json_decref(jb);
    }
    ra_gencore_destroy(&a);
    ra_gencore_destroy(&b);
}

int main(void)
{
    test_bad_arguments();
    test_journal_wear();
    test_determinism();
    test_ground_truth();
    test_reference();
    test_datamatrix();
    test_sizes();
    test_write();
    return rs_test_end("app.gencore");
}
