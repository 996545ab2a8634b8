/* test_filter.c - what the neighbourhood filters compute (scalar kernels: the spec), checked
 * against naive references written here from the definitions in rv_filter.h. */
#include "rs_test.h"
#include "rv/rv_error.h"
#include "rv/rv_filter.h"
#include "rv/rv_image.h"
#include "rv/rv_simd.h"
#include "cv/rv_cv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static rv_image_t *s_random(int w, int h, uint64_t seed)
{
    rv_image_t *img = rv_image_new(w, h, RV_GRAY8);
    rv_view_t v = rv_image_view(img);
    for (int y = 0; y < h; y++)
        rs_fill_random(rv_view_row(&v, y), (size_t) w, seed * 1000003u + (uint64_t) y + 1);
    return img;
}

static uint8_t s_px(const rv_view_t *v, int x, int y)
{
    return rv_view_row(v, y)[x];
}

static int s_reflect101(int p, int len)
{
    if (len == 1)
        return 0;
    while (p < 0 || p >= len)
        p = p < 0 ? -p : 2 * (len - 1) - p;
    return p;
}

/* number of pixels where a and b differ; prints the first */
static int s_diff(const char *what, const rv_view_t *a, const rv_view_t *b)
{
    int bad = 0;
    for (int y = 0; y < a->height; y++)
        for (int x = 0; x < a->width; x++)
            if (s_px(a, x, y) != s_px(b, x, y) && bad++ == 0)
                fprintf(stderr, "%s: %dx%d differs at (%d,%d): %d vs %d\n", what, a->width,
                        a->height, x, y, s_px(a, x, y), s_px(b, x, y));
    return bad;
}

/* ---- naive references ---- */

static void s_ref_gauss5(const rv_view_t *s, const rv_view_t *d)
{
    static const int w5[5] = {1, 4, 6, 4, 1};
    for (int y = 0; y < s->height; y++)
        for (int x = 0; x < s->width; x++) {
            int acc = 0;
            for (int j = -2; j <= 2; j++)
                for (int i = -2; i <= 2; i++)
                    acc += w5[j + 2] * w5[i + 2] *
                           s_px(s, s_reflect101(x + i, s->width), s_reflect101(y + j, s->height));
            rv_view_row(d, y)[x] = (uint8_t) ((acc + 128) >> 8);
        }
}

static void s_ref_box(const rv_view_t *s, const rv_view_t *d, int k)
{
    int r = k / 2;
    for (int y = 0; y < s->height; y++)
        for (int x = 0; x < s->width; x++) {
            int acc = 0;
            for (int j = -r; j <= r; j++)
                for (int i = -r; i <= r; i++)
                    acc += s_px(s, s_reflect101(x + i, s->width), s_reflect101(y + j, s->height));
            rv_view_row(d, y)[x] = (uint8_t) ((acc + k * k / 2) / (k * k));
        }
}

static void s_ref_sobel(const rv_view_t *s, const rv_view_t *d)
{
    static const int sm[3] = {1, 2, 1}, df[3] = {-1, 0, 1};
    for (int y = 0; y < s->height; y++)
        for (int x = 0; x < s->width; x++) {
            int gx = 0, gy = 0;
            for (int j = -1; j <= 1; j++)
                for (int i = -1; i <= 1; i++) {
                    int p = s_px(s, s_reflect101(x + i, s->width), s_reflect101(y + j, s->height));
                    gx += df[i + 1] * sm[j + 1] * p;
                    gy += sm[i + 1] * df[j + 1] * p;
                }
            int mag = (abs(gx) + abs(gy)) >> 2;
            rv_view_row(d, y)[x] = (uint8_t) (mag > 255 ? 255 : mag);
        }
}

/* max (min) over the element mask (kw x kh, centred), pixels outside the image ignored */
static void s_ref_morph(const rv_view_t *s, const rv_view_t *d, const uint8_t *mask, int kw,
                        int kh, int is_max)
{
    for (int y = 0; y < s->height; y++)
        for (int x = 0; x < s->width; x++) {
            int v = is_max ? 0 : 255;
            for (int j = 0; j < kh; j++)
                for (int i = 0; i < kw; i++) {
                    int xx = x + i - kw / 2, yy = y + j - kh / 2;
                    if (mask && !mask[j * kw + i])
                        continue;
                    if (xx < 0 || yy < 0 || xx >= s->width || yy >= s->height)
                        continue;
                    int p = s_px(s, xx, yy);
                    v = is_max ? (p > v ? p : v) : (p < v ? p : v);
                }
            rv_view_row(d, y)[x] = (uint8_t) v;
        }
}

/* ---- tests ---- */

static void test_gauss_constant_and_reference(void)
{
    for (int c = 0; c < 256; c += 51) {
        rv_image_t *a = rv_image_new_filled(37, 9, RV_GRAY8, (uint8_t) c);
        rv_image_t *b = rv_image_new(37, 9, RV_GRAY8);
        rv_view_t va = rv_image_view(a), vb = rv_image_view(b);
        RS_CHECK_EQ(rv_gauss5(&va, &vb), RV_OK);
        int bad = 0;
        for (int y = 0; y < 9; y++)
            for (int x = 0; x < 37; x++)
                bad += s_px(&vb, x, y) != c;
        RS_CHECKF(bad == 0, "gauss5 of constant %d is not constant", c);
        rv_image_destroy(&a);
        rv_image_destroy(&b);
    }
    static const int sizes[][2] = {{1, 1}, {1, 5}, {5, 1}, {2, 2}, {3, 3}, {4, 7}, {33, 17},
                                   {70, 3}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int w = sizes[i][0], h = sizes[i][1];
        rv_image_t *s = s_random(w, h, 11 + i), *d = rv_image_new(w, h, RV_GRAY8);
        rv_image_t *r = rv_image_new(w, h, RV_GRAY8);
        rv_view_t vs = rv_image_view(s), vd = rv_image_view(d), vr = rv_image_view(r);
        RS_CHECK_EQ(rv_gauss5(&vs, &vd), RV_OK);
        s_ref_gauss5(&vs, &vr);
        RS_CHECK_EQ(s_diff("gauss5", &vd, &vr), 0);
        rv_image_destroy(&s);
        rv_image_destroy(&d);
        rv_image_destroy(&r);
    }
}

static void test_box(void)
{
    /* an impulse spreads evenly over the k x k window (rounded half up) */
    for (int k = 1; k <= 15; k += 2) {
        int w = 40, h = 40;
        rv_image_t *s = rv_image_new_filled(w, h, RV_GRAY8, 0), *d = rv_image_new(w, h, RV_GRAY8);
        rv_view_t vs = rv_image_view(s), vd = rv_image_view(d);
        rv_view_row(&vs, 20)[20] = 250;
        RS_CHECK_EQ(rv_box_blur(&vs, &vd, k), RV_OK);
        int bad = 0, expect = (250 + k * k / 2) / (k * k);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int inside = abs(x - 20) <= k / 2 && abs(y - 20) <= k / 2;
                bad += s_px(&vd, x, y) != (inside ? expect : 0);
            }
        RS_CHECKF(bad == 0, "box %d of an impulse: %d wrong pixels", k, bad);
        rv_image_destroy(&s);
        rv_image_destroy(&d);
    }
    static const int cases[][3] = {{1, 1, 3}, {3, 2, 5}, {2, 9, 3}, {17, 5, 7}, {31, 20, 15},
                                   {9, 30, 31}, {64, 3, 63}, {5, 4, 255}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int w = cases[i][0], h = cases[i][1], k = cases[i][2];
        rv_image_t *s = s_random(w, h, 21 + i), *d = rv_image_new(w, h, RV_GRAY8);
        rv_image_t *r = rv_image_new(w, h, RV_GRAY8);
        rv_view_t vs = rv_image_view(s), vd = rv_image_view(d), vr = rv_image_view(r);
        RS_CHECK_EQ(rv_box_blur(&vs, &vd, k), RV_OK);
        s_ref_box(&vs, &vr, k);
        RS_CHECKF(s_diff("box", &vd, &vr) == 0, "box %d on %dx%d", k, w, h);
        rv_image_destroy(&s);
        rv_image_destroy(&d);
        rv_image_destroy(&r);
    }
}

static void test_sobel(void)
{
    /* a vertical step of height d reads d on both columns next to it, 0 elsewhere */
    for (int d = 1; d <= 255; d += 37) {
        int w = 30, h = 8, base = 255 - d;
        rv_image_t *s = rv_image_new(w, h, RV_GRAY8), *o = rv_image_new(w, h, RV_GRAY8);
        rv_view_t vs = rv_image_view(s), vo = rv_image_view(o);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                rv_view_row(&vs, y)[x] = (uint8_t) (x < 15 ? base : base + d);
        RS_CHECK_EQ(rv_sobel_mag(&vs, &vo), RV_OK);
        int bad = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                bad += s_px(&vo, x, y) != (x == 14 || x == 15 ? d : 0);
        RS_CHECKF(bad == 0, "sobel of a step of %d: %d wrong pixels", d, bad);
        rv_image_destroy(&s);
        rv_image_destroy(&o);
    }
    static const int sizes[][2] = {{1, 1}, {2, 1}, {1, 3}, {3, 2}, {20, 13}, {67, 5}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int w = sizes[i][0], h = sizes[i][1];
        rv_image_t *s = s_random(w, h, 31 + i), *d = rv_image_new(w, h, RV_GRAY8);
        rv_image_t *r = rv_image_new(w, h, RV_GRAY8);
        rv_view_t vs = rv_image_view(s), vd = rv_image_view(d), vr = rv_image_view(r);
        RS_CHECK_EQ(rv_sobel_mag(&vs, &vd), RV_OK);
        s_ref_sobel(&vs, &vr);
        RS_CHECK_EQ(s_diff("sobel", &vd, &vr), 0);
        rv_image_destroy(&s);
        rv_image_destroy(&d);
        rv_image_destroy(&r);
    }
}

static void test_rect_brute_force(void)
{
    static const int cases[][4] = {
        /* w, h, kw, kh */
        {1, 1, 3, 3},     {7, 5, 1, 1},     {7, 5, 3, 1},    {7, 5, 1, 3},    {23, 17, 5, 7},
        {40, 30, 9, 15},  {40, 30, 15, 15}, {50, 40, 31, 9}, {45, 70, 3, 33}, {60, 50, 31, 31},
        {90, 80, 61, 61}, {130, 110, 101, 101}, {20, 10, 255, 3}, {10, 20, 3, 255},
        {140, 3, 61, 35}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int w = cases[i][0], h = cases[i][1], kw = cases[i][2], kh = cases[i][3];
        rv_image_t *s = s_random(w, h, 41 + i), *d = rv_image_new(w, h, RV_GRAY8);
        rv_image_t *r = rv_image_new(w, h, RV_GRAY8);
        rv_view_t vs = rv_image_view(s), vd = rv_image_view(d), vr = rv_image_view(r);
        for (int is_max = 0; is_max < 2; is_max++) {
            int rc = is_max ? rv_dilate_rect(&vs, &vd, kw, kh) : rv_erode_rect(&vs, &vd, kw, kh);
            RS_CHECK_EQ(rc, RV_OK);
            s_ref_morph(&vs, &vr, NULL, kw, kh, is_max);
            RS_CHECKF(s_diff(is_max ? "dilate_rect" : "erode_rect", &vd, &vr) == 0,
                      "%s %dx%d on %dx%d", is_max ? "dilate" : "erode", kw, kh, w, h);
        }
        rv_image_destroy(&s);
        rv_image_destroy(&d);
        rv_image_destroy(&r);
    }
}

static void test_disc_element(void)
{
    /* d = 15: rows of width 15 (|dy| <= 2), 13 (3, 4), 11 (5), 9 (6), 1 (7) */
    static const int widths15[8] = {15, 15, 15, 13, 13, 11, 9, 1};
    uint8_t mask[RV_DISC_MAX * RV_DISC_MAX];
    RS_CHECK_EQ(rv_disc_element(15, mask), RV_OK);
    for (int i = 0; i < 15; i++) {
        int n = 0, first = -1;
        for (int j = 0; j < 15; j++) {
            n += mask[i * 15 + j];
            if (mask[i * 15 + j] && first < 0)
                first = j;
        }
        RS_CHECK_EQ(n, widths15[abs(i - 7)]);
        RS_CHECK_EQ(first, 7 - n / 2); /* centred */
    }
    RS_CHECK_EQ(rv_disc_element(1, mask), RV_OK);
    RS_CHECK_EQ(mask[0], 1);
    RS_CHECK_EQ(rv_disc_element(3, mask), RV_OK); /* the 3x3 ellipse is a cross */
    RS_CHECK(mask[0] == 0 && mask[1] == 1 && mask[4] == 1 && mask[8] == 0);
    RS_CHECK_EQ(rv_disc_element(4, mask), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "diameter 4");
    RS_CHECK_EQ(rv_disc_element(RV_DISC_MAX + 2, mask), RV_EINVAL);
    RS_CHECK_EQ(rv_disc_element(RV_DISC_MAX, mask), RV_OK);
}

static void test_disc_brute_force(void)
{
    uint8_t mask[31 * 31];
    for (int d = 1; d <= 31; d += 2) {
        int w = 41 + d, h = 29 + d / 2;
        RS_CHECK_EQ(rv_disc_element(d, mask), RV_OK);
        rv_image_t *s = s_random(w, h, 51 + (uint64_t) d), *o = rv_image_new(w, h, RV_GRAY8);
        rv_image_t *r = rv_image_new(w, h, RV_GRAY8), *t = rv_image_new(w, h, RV_GRAY8);
        rv_view_t vs = rv_image_view(s), vo = rv_image_view(o), vr = rv_image_view(r);
        rv_view_t vt = rv_image_view(t);
        RS_CHECK_EQ(rv_dilate_disc(&vs, &vo, d), RV_OK);
        s_ref_morph(&vs, &vr, mask, d, d, 1);
        RS_CHECKF(s_diff("dilate_disc", &vo, &vr) == 0, "dilate disc %d", d);
        RS_CHECK_EQ(rv_erode_disc(&vs, &vo, d), RV_OK);
        s_ref_morph(&vs, &vr, mask, d, d, 0);
        RS_CHECKF(s_diff("erode_disc", &vo, &vr) == 0, "erode disc %d", d);
        /* closing = erode(dilate), black-hat = closing - src */
        s_ref_morph(&vs, &vt, mask, d, d, 1);
        s_ref_morph(&vt, &vr, mask, d, d, 0);
        RS_CHECK_EQ(rv_close_disc(&vs, &vo, d), RV_OK);
        RS_CHECKF(s_diff("close_disc", &vo, &vr) == 0, "close disc %d", d);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                rv_view_row(&vr, y)[x] = (uint8_t) (s_px(&vr, x, y) - s_px(&vs, x, y));
        RS_CHECK_EQ(rv_blackhat_disc(&vs, &vo, d), RV_OK);
        RS_CHECKF(s_diff("blackhat_disc", &vo, &vr) == 0, "blackhat disc %d", d);
        size_t count = 0, expect = 0;
        RS_CHECK_EQ(rv_blackhat_disc_threshold(&vs, &vo, d, 17, &count), RV_OK);
        int bad = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int on = s_px(&vr, x, y) > 17;
                expect += (size_t) on;
                bad += s_px(&vo, x, y) != (on ? 255 : 0);
            }
        RS_CHECKF(bad == 0 && count == expect, "blackhat threshold disc %d: %d bad, %zu vs %zu",
                  d, bad, count, expect);
        /* opening = dilate(erode), top-hat = src - opening */
        s_ref_morph(&vs, &vt, mask, d, d, 0);
        s_ref_morph(&vt, &vr, mask, d, d, 1);
        RS_CHECK_EQ(rv_open_disc(&vs, &vo, d), RV_OK);
        RS_CHECKF(s_diff("open_disc", &vo, &vr) == 0, "open disc %d", d);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                rv_view_row(&vr, y)[x] = (uint8_t) (s_px(&vs, x, y) - s_px(&vr, x, y));
        RS_CHECK_EQ(rv_tophat_disc(&vs, &vo, d), RV_OK);
        RS_CHECKF(s_diff("tophat_disc", &vo, &vr) == 0, "tophat disc %d", d);
        RS_CHECK_EQ(rv_tophat_disc_threshold(&vs, &vo, d, 0, NULL), RV_OK);
        rv_image_destroy(&s);
        rv_image_destroy(&o);
        rv_image_destroy(&r);
        rv_image_destroy(&t);
    }
}

static void test_blackhat_finds_thin_dark_lines(void)
{
    int w = 200, h = 120;
    rv_image_t *s = rv_image_new_filled(w, h, RV_GRAY8, 200), *o = rv_image_new(w, h, RV_GRAY8);
    rv_view_t vs = rv_image_view(s), vo = rv_image_view(o);
    for (int y = 10; y < 110; y++) {
        for (int x = 40; x < 43; x++) /* thin dark line, 3 px */
            rv_view_row(&vs, y)[x] = 50;
        for (int x = 100; x < 160; x++) /* wide dark region, 60 px */
            rv_view_row(&vs, y)[x] = 50;
    }
    RS_CHECK_EQ(rv_blackhat_disc(&vs, &vo, 15), RV_OK);
    RS_CHECK_EQ(s_px(&vo, 41, 60), 150); /* the line: closing fills it to 200 */
    RS_CHECK_EQ(s_px(&vo, 130, 60), 0);  /* inside the wide region: nothing */
    RS_CHECK_EQ(s_px(&vo, 10, 60), 0);   /* background */
    int lit = 0, in_wide = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            lit += s_px(&vo, x, y) > 100;
            /* the wide region lights up at most at its corners, where the disc cannot reach */
            in_wide += x >= 100 && x < 160 && y >= 20 && y < 100 && s_px(&vo, x, y) != 0;
        }
    RS_CHECK_EQ(in_wide, 0);
    RS_CHECK(lit >= 3 * 100 && lit < 3 * 100 + 4 * 15 * 15);
    size_t count = 0;
    RS_CHECK_EQ(rv_blackhat_disc_threshold(&vs, &vo, 15, 100, &count), RV_OK);
    RS_CHECK_EQ(count, (size_t) lit);
    RS_CHECK_EQ(s_px(&vo, 41, 60), 255);
    RS_CHECK_EQ(s_px(&vo, 101, 60), 0);
    /* and top-hat finds thin bright lines */
    rv_view_fill(&vs, 30);
    for (int y = 0; y < h; y++)
        rv_view_row(&vs, y)[70] = 230;
    RS_CHECK_EQ(rv_tophat_disc(&vs, &vo, 9), RV_OK);
    RS_CHECK_EQ(s_px(&vo, 70, 50), 200);
    RS_CHECK_EQ(s_px(&vo, 75, 50), 0);
    rv_image_destroy(&s);
    rv_image_destroy(&o);
}

static void test_errors(void)
{
    rv_image_t *a = rv_image_new_filled(16, 8, RV_GRAY8, 1), *b = rv_image_new(16, 8, RV_GRAY8);
    rv_image_t *c = rv_image_new(15, 8, RV_GRAY8), *rgb = rv_image_new(16, 8, RV_RGB8);
    rv_view_t va = rv_image_view(a), vb = rv_image_view(b), vc = rv_image_view(c);
    rv_view_t vrgb = rv_image_view(rgb);
    RS_CHECK_EQ(rv_gauss5(&vrgb, &vb), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "rv_gauss5: src: format 3 is not gray8");
    RS_CHECK_EQ(rv_sobel_mag(&va, &vc), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "dst is 15x8 but src is 16x8");
    RS_CHECK_EQ(rv_box_blur(&va, &vb, 4), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "size 4 is not odd");
    RS_CHECK_EQ(rv_box_blur(&va, &vb, 257), RV_EINVAL);
    RS_CHECK_EQ(rv_dilate_rect(&va, &vb, 3, 0), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "window 3x0");
    RS_CHECK_EQ(rv_erode_disc(&va, &vb, 0), RV_EINVAL);
    RS_CHECK_EQ(rv_blackhat_disc(&va, &va, 5), RV_EINVAL); /* in place */
    RS_CHECK_MSG(rv_last_error(), "overlap");
    RS_CHECK_EQ(rv_gauss5(NULL, &vb), RV_EINVAL);
    /* side by side halves of one image do not overlap; shifted by a row they do */
    rv_view_t left, right, down;
    RS_CHECK_EQ(rv_view_roi(&va, 0, 0, 8, 7, &left), RV_OK);
    RS_CHECK_EQ(rv_view_roi(&va, 8, 0, 8, 7, &right), RV_OK);
    RS_CHECK_EQ(rv_view_roi(&va, 0, 1, 8, 7, &down), RV_OK);
    RS_CHECK_EQ(rv_dilate_rect(&left, &right, 3, 3), RV_OK);
    RS_CHECK_EQ(rv_dilate_rect(&left, &down, 3, 3), RV_EINVAL);
    rv_image_destroy(&a);
    rv_image_destroy(&b);
    rv_image_destroy(&c);
    rv_image_destroy(&rgb);
}

/* rv_warp_affine_rgb: on a linear ramp, bilinear interpolation is exact, so every
 * destination pixel whose source position lies inside must read the ramp's value there to
 * within the 1/32 px positions and the rounding (1 level); pixels mapped a pixel or more
 * outside read 0. On random colours, through turns, shrinks, enlargements and shifts
 * that take part of the view outside, OpenCV's warpAffine gives the very same bytes. Bad
 * arguments are refused. */
static void test_warp(void)
{
    const int w = 64, h = 48;
    rv_image_t *src = rv_image_new(w, h, RV_RGB8), *dst = rv_image_new(71, 53, RV_RGB8),
               *cv = rv_image_new(71, 53, RV_RGB8);
    rv_view_t sv = rv_image_view(src), dv = rv_image_view(dst), cvv = rv_image_view(cv);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = rv_view_row(&sv, y) + 3 * x;
            p[0] = (uint8_t) (2 * x + y), p[1] = (uint8_t) (3 * y + 10), p[2] = (uint8_t) (200 - x - y);
        }
    /* src -> dst: turned 7 degrees, enlarged by 1.1, moved */
    double an = 7 * 3.14159265358979 / 180, k = 1.1;
    double m[2][3] = {{k * cos(an), -k * sin(an), 3.2}, {k * sin(an), k * cos(an), -1.7}};
    RS_CHECK_EQ(rv_warp_affine_rgb(&sv, &dv, m), RV_OK);
    double det = m[0][0] * m[1][1] - m[0][1] * m[1][0], worst = 0;
    int inside = 0, outside = 0, zeros = 0;
    for (int y = 0; y < dv.height; y++)
        for (int x = 0; x < dv.width; x++) {
            double qx = x - m[0][2], qy = y - m[1][2];
            double px = (m[1][1] * qx - m[0][1] * qy) / det, py = (-m[1][0] * qx + m[0][0] * qy) / det;
            const uint8_t *o = rv_view_row(&dv, y) + 3 * x;
            if (px >= 0 && py >= 0 && px <= w - 1 && py <= h - 1) {
                double want[3] = {2 * px + py, 3 * py + 10, 200 - px - py};
                for (int c = 0; c < 3; c++)
                    worst = fmax(worst, fabs(o[c] - want[c]));
                inside++;
            } else if (px < -1 || py < -1 || px > w || py > h) {
                outside++;
                zeros += !o[0] && !o[1] && !o[2];
            }
        }
    printf("warp: %d pixels inside the source, worst error %.2f level(s); %d outside, %d of them 0\n",
           inside, worst, outside, zeros);
    RS_CHECK(inside > 1500 && worst <= 1.0);
    RS_CHECK(outside > 100 && zeros == outside);
    /* the same bytes as the shim's warp (OpenCV), random colours, several transforms */
    for (int y = 0; y < h; y++)
        rs_fill_random(rv_view_row(&sv, y), (size_t) w * 3, 77 + (uint64_t) y);
    const double ts[][4] = {{7, 1.1, 3.2, -1.7}, {-13.3, 1.0, 20.5, -9.25}, {0.4, 0.87, -5, 2},
                            {91, 1.37, 60, 1.5},  {0, 1.0, 0.5, 0.5},         {180, 2.5, 140, 100}};
    size_t diffs = 0;
    for (size_t t = 0; t < sizeof ts / sizeof ts[0]; t++) {
        double a = ts[t][0] * 3.14159265358979 / 180, sc = ts[t][1];
        double mt[2][3] = {{sc * cos(a), -sc * sin(a), ts[t][2]}, {sc * sin(a), sc * cos(a), ts[t][3]}};
        RS_CHECK_EQ(rv_warp_affine_rgb(&sv, &dv, mt), RV_OK);
        RS_CHECK_EQ(rv_cv_warp_affine(&sv, &cvv, mt, RV_CV_INTER_LINEAR), RV_OK);
        for (int y = 0; y < dv.height; y++)
            for (int x = 0; x < 3 * dv.width; x++)
                diffs += rv_view_row(&dv, y)[x] != rv_view_row(&cvv, y)[x];
    }
    printf("warp: %zu bytes differ from OpenCV's warpAffine over %zu transforms\n", diffs,
           sizeof ts / sizeof ts[0]);
    RS_CHECK_EQ(diffs, 0);
    /* refusals */
    double sing[2][3] = {{1, 2, 0}, {2, 4, 0}}, far[2][3] = {{1, 0, 1e7}, {0, 1, 0}};
    RS_CHECK_EQ(rv_warp_affine_rgb(&sv, &dv, sing), RV_EINVAL);
    RS_CHECK_EQ(rv_warp_affine_rgb(&sv, &dv, far), RV_EINVAL);
    rv_image_t *g = rv_image_new(8, 8, RV_GRAY8);
    rv_view_t gv = rv_image_view(g);
    RS_CHECK_EQ(rv_warp_affine_rgb(&gv, &dv, m), RV_EINVAL);
    rv_image_destroy(&g);
    rv_image_destroy(&src);
    rv_image_destroy(&dst);
    rv_image_destroy(&cv);
}

int main(void)
{
    if (rv_simd_force("scalar") != RV_OK)
        return rs_test_skip("filter", "cannot force the scalar kernels");
    test_gauss_constant_and_reference();
    test_box();
    test_sobel();
    test_rect_brute_force();
    test_disc_element();
    test_disc_brute_force();
    test_blackhat_finds_thin_dark_lines();
    test_errors();
    test_warp();
    return rs_test_end("filter");
}
