/* test_point.c - the scalar specification of the pointwise kernels against hand-computed
 * values, and the image-level API (rv_point.h) on small known images. */
#include "rs_test.h"
#include "rv_kernels.h"
#include "rv/rv_error.h"
#include "rv/rv_point.h"

static rv_point_kernels_t s_k; /* the scalar kernels */

static uint8_t s_gray1(uint8_t r, uint8_t g, uint8_t b)
{
    uint8_t rgb[3] = {r, g, b}, out = 0xAA;
    s_k.gray_from_rgb(rgb, &out, 1);
    return out;
}

static uint8_t s_rust1(uint8_t r, uint8_t g, uint8_t b)
{
    uint8_t rgb[3] = {r, g, b}, out = 0xAA;
    s_k.rust(rgb, &out, 1);
    return out;
}

static void s_test_gray(void)
{
    /* (4899 * 255 + 8192) >> 14 = 76, (9617 * 255 + 8192) >> 14 = 150,
     * (1868 * 255 + 8192) >> 14 = 29: OpenCV's cvtColor values */
    RS_CHECK_EQ(s_gray1(255, 0, 0), 76);
    RS_CHECK_EQ(s_gray1(0, 255, 0), 150);
    RS_CHECK_EQ(s_gray1(0, 0, 255), 29);
    RS_CHECK_EQ(s_gray1(255, 255, 255), 255);
    RS_CHECK_EQ(s_gray1(0, 0, 0), 0);
    /* (4899 * 150 + 9617 * 75 + 1868 * 30 + 8192) >> 14 = 1520357 >> 14 = 92 */
    RS_CHECK_EQ(s_gray1(150, 75, 30), 92);
    int gray_ok = 1;
    for (int v = 0; v < 256; v++) /* weights sum to 2^14: a gray stays itself */
        gray_ok &= s_gray1((uint8_t) v, (uint8_t) v, (uint8_t) v) == v;
    RS_CHECK(gray_ok);
}

static void s_test_rust(void)
{
    /* typical rust: c = 120, hue 60 * 45 / 120 = 22.5 degrees -> min(255, 360) */
    RS_CHECK_EQ(s_rust1(150, 75, 30), 255);
    RS_CHECK_EQ(s_rust1(120, 60, 40), 240); /* c = 80, 3c */
    RS_CHECK_EQ(s_rust1(100, 60, 40), 180); /* c = 60 */
    /* not rust */
    RS_CHECK_EQ(s_rust1(128, 128, 128), 0); /* gray */
    RS_CHECK_EQ(s_rust1(30, 60, 200), 0);   /* blue */
    RS_CHECK_EQ(s_rust1(40, 180, 40), 0);   /* green */
    RS_CHECK_EQ(s_rust1(255, 255, 255), 0); /* white */
    RS_CHECK_EQ(s_rust1(255, 250, 240), 0); /* saturated (near) white: c = 15 */
    RS_CHECK_EQ(s_rust1(200, 0, 0), 0);     /* pure red: hue 0 */
    RS_CHECK_EQ(s_rust1(230, 200, 30), 0);  /* yellow-orange: hue 51 degrees */
    RS_CHECK_EQ(s_rust1(40, 20, 10), 0);    /* too dark: R < 48 */
    RS_CHECK_EQ(s_rust1(30, 75, 150), 0);   /* rust's channels reversed */
    RS_CHECK_EQ(s_rust1(150, 30, 75), 0);   /* G < B: magenta side */
    /* the edges of the definition */
    RS_CHECK_EQ(s_rust1(60, 40, 36), 72); /* c = 24 */
    RS_CHECK_EQ(s_rust1(59, 40, 36), 0);  /* c = 23 */
    RS_CHECK_EQ(s_rust1(48, 30, 20), 84); /* R = 48 */
    RS_CHECK_EQ(s_rust1(47, 30, 19), 0);  /* R = 47 */
    RS_CHECK_EQ(s_rust1(88, 46, 40), 144); /* 8 (G - B) = 48 = c */
    RS_CHECK_EQ(s_rust1(88, 45, 40), 0);   /* 40 < 48 */
    RS_CHECK_EQ(s_rust1(80, 65, 40), 120); /* 8 (G - B) = 200 = 5c */
    RS_CHECK_EQ(s_rust1(80, 66, 40), 0);   /* 208 > 200 */
    RS_CHECK_EQ(s_rust1(255, 128, 0), 255);
    /* min(255, 3c) saturates from c = 85 */
    RS_CHECK_EQ(s_rust1(134, 70, 50), 252); /* c = 84 */
    RS_CHECK_EQ(s_rust1(135, 70, 50), 255); /* c = 85 */
}

static void s_test_row_kernels(void)
{
    uint8_t a[4] = {10, 200, 0, 255}, b[4] = {200, 10, 255, 255}, d[4];
    s_k.absdiff(a, b, d, 4);
    RS_CHECK(d[0] == 190 && d[1] == 190 && d[2] == 255 && d[3] == 0);
    s_k.max(a, b, d, 4);
    RS_CHECK(d[0] == 200 && d[1] == 200 && d[2] == 255 && d[3] == 255);
    s_k.min(a, b, d, 4);
    RS_CHECK(d[0] == 10 && d[1] == 10 && d[2] == 0 && d[3] == 255);
    s_k.sub_sat(a, b, d, 4);
    RS_CHECK(d[0] == 0 && d[1] == 190 && d[2] == 0 && d[3] == 0);

    uint8_t ramp[256], t[256];
    for (int i = 0; i < 256; i++)
        ramp[i] = (uint8_t) i;
    RS_CHECK_EQ(s_k.threshold(ramp, t, 256, 100), 155); /* 101 .. 255 */
    RS_CHECK(t[100] == 0 && t[101] == 255 && t[0] == 0 && t[255] == 255);
    RS_CHECK_EQ(s_k.threshold(ramp, t, 256, 0), 255);
    RS_CHECK_EQ(s_k.threshold(ramp, t, 256, 255), 0);
    RS_CHECK_EQ(s_k.threshold(ramp, t, 0, 0), 0);

    /* band: out when src < lo or src > hi; lo > hi puts everything out */
    uint8_t src[6] = {50, 49, 60, 61, 0, 255}, lo[6] = {50, 50, 50, 50, 0, 255},
            hi[6] = {60, 60, 60, 60, 0, 254}, out[6];
    RS_CHECK_EQ(s_k.band(src, lo, hi, out, 6), 3);
    RS_CHECK(out[0] == 0 && out[1] == 255 && out[2] == 0 && out[3] == 255 && out[4] == 0 &&
             out[5] == 255);

    /* front = gray + rust + count of rust > thr */
    uint8_t rgb[12] = {150, 75, 30, 100, 60, 40, 128, 128, 128, 60, 40, 36}, g[4], r[4];
    RS_CHECK_EQ(s_k.front(rgb, g, r, 4, 179), 2); /* rust 255, 180, 0, 72 */
    RS_CHECK(g[0] == 92 && g[2] == 128 && r[0] == 255 && r[1] == 180 && r[2] == 0 && r[3] == 72);
    RS_CHECK_EQ(s_k.front(rgb, g, r, 4, 180), 1);

    /* hist accumulates; both the small and the sub-histogram paths */
    uint32_t h[256] = {0};
    h[7] = 1000;
    s_k.hist(ramp, 256, h);
    RS_CHECK(h[0] == 1 && h[7] == 1001 && h[255] == 1);
    static uint8_t big[5000];
    for (int i = 0; i < 5000; i++)
        big[i] = (uint8_t) (i < 3000 ? 9 : i % 7);
    memset(h, 0, sizeof h);
    s_k.hist(big, 5000, h);
    uint64_t total = 0;
    for (int v = 0; v < 256; v++)
        total += h[v];
    RS_CHECK_EQ(total, 5000);
    RS_CHECK_EQ(h[9], 3000);
    RS_CHECK_EQ(h[0], 286); /* i in 3000 .. 4999 with i % 7 == 0: 3003 .. 4998 */

    /* integral row: above + running sum; in place */
    uint8_t s3[3] = {1, 2, 255};
    uint32_t above[3] = {10, 20, 4294967295u}, row[3];
    s_k.integral_row(s3, above, row, 3);
    RS_CHECK(row[0] == 11 && row[1] == 23 && row[2] == 257u); /* wraps modulo 2^32 */
    s_k.integral_row(s3, above, above, 3);
    RS_CHECK(above[0] == 11 && above[1] == 23 && above[2] == 257u);
}

static void s_test_api(void)
{
    rv_image_t *img = rv_image_new(3, 3, RV_GRAY8);
    rv_image_t *rgb = rv_image_new(2, 1, RV_RGB8);
    rv_image_t *out = rv_image_new(3, 3, RV_GRAY8), *out2 = rv_image_new(3, 3, RV_GRAY8);
    rv_image_t *g2 = rv_image_new(2, 1, RV_GRAY8), *r2 = rv_image_new(2, 1, RV_GRAY8);
    RS_CHECK(img && rgb && out && out2 && g2 && r2);
    if (!img || !rgb || !out || !out2 || !g2 || !r2)
        return;
    rv_view_t v = rv_image_view(img), o = rv_image_view(out), o2 = rv_image_view(out2);
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 3; x++)
            rv_view_row(&v, y)[x] = (uint8_t) (3 * y + x + 1); /* 1 2 3 / 4 5 6 / 7 8 9 */

    /* integral: 1 3 6 / 5 12 21 / 12 27 45 */
    uint32_t ii[3 * 4];
    memset(ii, 0xA5, sizeof ii);
    RS_CHECK_EQ(rv_integral(&v, ii, 4), RV_OK);
    const uint32_t want[9] = {1, 3, 6, 5, 12, 21, 12, 27, 45};
    int ii_ok = 1;
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 3; x++)
            ii_ok &= ii[y * 4 + x] == want[y * 3 + x];
    RS_CHECK(ii_ok);
    RS_CHECK(ii[3] == 0xA5A5A5A5u && ii[7] == 0xA5A5A5A5u); /* padding untouched */
    RS_CHECK_EQ(rv_box_sum(ii, 4, 0, 0, 3, 3), 45);
    RS_CHECK_EQ(rv_box_sum(ii, 4, 1, 1, 2, 2), 5);
    RS_CHECK_EQ(rv_box_sum(ii, 4, 0, 1, 3, 2), 15);
    RS_CHECK_EQ(rv_box_sum(ii, 4, 1, 1, 3, 3), 28); /* 5 + 6 + 8 + 9 */
    RS_CHECK_EQ(rv_box_sum(ii, 4, 2, 0, 3, 3), 18);
    RS_CHECK_EQ(rv_box_sum(ii, 4, 1, 1, 1, 3), 0);

    /* histogram and threshold */
    uint32_t hist[256];
    memset(hist, 0xff, sizeof hist);
    RS_CHECK_EQ(rv_histogram(&v, hist), RV_OK);
    uint32_t sum = 0;
    for (int i = 0; i < 256; i++)
        sum += hist[i];
    RS_CHECK(sum == 9 && hist[0] == 0 && hist[1] == 1 && hist[9] == 1 && hist[10] == 0);
    size_t count = 0;
    RS_CHECK_EQ(rv_threshold(&v, &o, 6, &count), RV_OK);
    RS_CHECK_EQ(count, 3);
    RS_CHECK(rv_view_row(&o, 1)[2] == 0 && rv_view_row(&o, 2)[0] == 255);
    RS_CHECK_EQ(rv_threshold(&v, &o, 6, NULL), RV_OK);

    /* a table lookup, and its refusals: no table, another size, another format */
    uint8_t rev[256];
    for (int i = 0; i < 256; i++)
        rev[i] = (uint8_t) (255 - i);
    RS_CHECK_EQ(rv_lut(&v, &o, rev), RV_OK);
    RS_CHECK(rv_view_row(&o, 0)[0] == 254 && rv_view_row(&o, 2)[2] == 246);
    RS_CHECK_EQ(rv_lut(&v, &o, NULL), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "rv_lut: no table");

    /* band from statistics: mean 100, spread 10, k = 2.5: e = (640 * 10 + 128) >> 8 = 25 */
    rv_view_fill(&o, 100);
    rv_view_fill(&o2, 10);
    rv_view_row(&o, 0)[0] = 10;   /* clamps at 0 */
    rv_view_row(&o, 0)[1] = 250;  /* clamps at 255 */
    rv_view_t lo = rv_image_view(img), hi = o2;
    RS_CHECK_EQ(rv_band_from_stats(&o, &o2, 640, &lo, &hi), RV_OK); /* hi in place of spread */
    RS_CHECK(rv_view_row(&lo, 1)[1] == 75 && rv_view_row(&hi, 1)[1] == 125);
    RS_CHECK(rv_view_row(&lo, 0)[0] == 0 && rv_view_row(&hi, 0)[0] == 35);
    RS_CHECK(rv_view_row(&lo, 0)[1] == 225 && rv_view_row(&hi, 0)[1] == 255);
    /* band threshold against it: 75 and 125 are inside, 74 and 126 outside */
    rv_view_fill(&o, 75);
    rv_view_row(&o, 2)[0] = 74;
    rv_view_row(&o, 2)[1] = 126;
    rv_view_row(&o, 2)[2] = 125;
    rv_view_t dst = rv_image_view(out2);
    RS_CHECK_EQ(rv_band_threshold(&o, &lo, &hi, &dst, &count), RV_OK);
    RS_CHECK_EQ(count, 4); /* (2,0), (2,1), and the two clamped pixels of row 0 */
    RS_CHECK(rv_view_row(&dst, 2)[0] == 255 && rv_view_row(&dst, 2)[2] == 0);

    /* rust and the fused front end over an RGB view */
    rv_view_t c = rv_image_view(rgb), vg = rv_image_view(g2), vr = rv_image_view(r2);
    uint8_t px[6] = {150, 75, 30, 30, 60, 200};
    memcpy(rv_view_row(&c, 0), px, 6);
    RS_CHECK_EQ(rv_rust(&c, &vr), RV_OK);
    RS_CHECK(rv_view_row(&vr, 0)[0] == 255 && rv_view_row(&vr, 0)[1] == 0);
    RS_CHECK_EQ(rv_gray_from_rgb(&c, &vg), RV_OK);
    RS_CHECK_EQ(rv_view_row(&vg, 0)[0], 92);
    RS_CHECK_EQ(rv_front(&c, &vg, &vr, 128, &count), RV_OK);
    RS_CHECK_EQ(count, 1);

    /* a size mismatch is refused with a message */
    RS_CHECK_EQ(rv_absdiff(&v, &vg, &o), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "rv_absdiff: sizes differ");
    RS_CHECK_EQ(rv_lut(&v, &vg, rev), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "rv_lut: sizes differ");
    RS_CHECK_EQ(rv_lut(&c, &c, rev), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "rv_lut: src must be");

    rv_image_destroy(&img);
    rv_image_destroy(&rgb);
    rv_image_destroy(&out);
    rv_image_destroy(&out2);
    rv_image_destroy(&g2);
    rv_image_destroy(&r2);
}

int main(void)
{
    rv_kernels_t scalar;
    RS_CHECK_EQ(rv__kernels_for(RV_ISA_SCALAR, &scalar), 0);
    s_k = scalar.p;
    s_test_gray();
    s_test_rust();
    s_test_row_kernels();
    s_test_api();
    return rs_test_end("point");
}
