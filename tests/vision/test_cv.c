/* test_cv.c - the OpenCV shim (vision/src/cv/rv_cv.h): one test per wrapper, on images
 * generated here, plus the error paths (wrong formats and sizes give negative codes and
 * messages naming the problem; no C++ exception escapes). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cv/rv_cv.h"
#include "rs_test.h"
#include "rv/rv_error.h"
#include "rv/rv_image.h"
#include "rv/rv_jpeg.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ---- drawing helpers ------------------------------------------------------------------ */

static void fill_rect(const rv_view_t *v, int x0, int y0, int w, int h, uint8_t value)
{
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++)
            if (x >= 0 && y >= 0 && x < v->width && y < v->height)
                for (int c = 0; c < (int) v->fmt; c++)
                    rv_view_row(v, y)[x * (int) v->fmt + c] = value;
}

static void fill_disc(const rv_view_t *v, double cx, double cy, double r, uint8_t value)
{
    for (int y = 0; y < v->height; y++)
        for (int x = 0; x < v->width; x++)
            if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r)
                rv_view_row(v, y)[x] = value;
}

static uint64_t view_sum(const rv_view_t *v)
{
    uint64_t s = 0;
    for (int y = 0; y < v->height; y++)
        for (int x = 0; x < v->width * (int) v->fmt; x++)
            s = s * 31 + rv_view_row(v, y)[x];
    return s;
}

/* 3x3 box blur of a GRAY8 view, through tmp (same size): soft edges like a lens gives. */
static void blur3(const rv_view_t *v, const rv_view_t *t)
{
    for (int y = 0; y < v->height; y++)
        for (int x = 0; x < v->width; x++) {
            int sum = 0, n = 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                    if (x + dx >= 0 && y + dy >= 0 && x + dx < v->width && y + dy < v->height) {
                        sum += rv_view_row(v, y + dy)[x + dx];
                        n++;
                    }
            rv_view_row(t, y)[x] = (uint8_t) (sum / n);
        }
    rv_view_copy(t, v);
}

/* A disc with anti-aliased edges (4x4 supersampling), blended over the view. */
static void fill_disc_aa(const rv_view_t *v, double cx, double cy, double r, uint8_t value)
{
    for (int y = (int) (cy - r - 1); y <= (int) (cy + r + 1); y++)
        for (int x = (int) (cx - r - 1); x <= (int) (cx + r + 1); x++) {
            if (x < 0 || y < 0 || x >= v->width || y >= v->height)
                continue;
            int in = 0;
            for (int sy = 0; sy < 4; sy++)
                for (int sx = 0; sx < 4; sx++) {
                    double px = x - 0.375 + sx * 0.25, py = y - 0.375 + sy * 0.25;
                    in += (px - cx) * (px - cx) + (py - cy) * (py - cy) <= r * r;
                }
            uint8_t *p = rv_view_row(v, y) + x;
            *p = (uint8_t) ((*p * (16 - in) + value * in + 8) / 16);
        }
}

/* A textured gray scene: random rectangles and discs of random levels, lightly blurred
 * (3x3 box), so that ORB, ECC and phase correlation have structure to lock onto. */
static rv_image_t *make_scene(int w, int h, uint64_t seed)
{
    rv_image_t *img = rv_image_new_filled(w, h, RV_GRAY8, 90);
    rv_image_t *tmp = rv_image_new(w, h, RV_GRAY8);
    if (!img || !tmp) {
        rv_image_destroy(&img);
        rv_image_destroy(&tmp);
        return NULL;
    }
    rv_view_t v = rv_image_view(img), t = rv_image_view(tmp);
    uint64_t s = seed;
    for (int i = 0; i < 60; i++) {
        int x = (int) (rs_rand(&s) % (uint64_t) w), y = (int) (rs_rand(&s) % (uint64_t) h);
        int rw = 8 + (int) (rs_rand(&s) % 60), rh = 8 + (int) (rs_rand(&s) % 60);
        uint8_t level = (uint8_t) (rs_rand(&s) >> 56);
        if (i % 3 == 0)
            fill_disc(&v, x, y, rw / 2.0, level);
        else
            fill_rect(&v, x, y, rw, rh, level);
    }
    blur3(&v, &t);
    rv_image_destroy(&tmp);
    return img;
}

/* Apply a 2x3 affine transform to a point. */
static void apply(const double m[2][3], double x, double y, double *ox, double *oy)
{
    *ox = m[0][0] * x + m[0][1] * y + m[0][2];
    *oy = m[1][0] * x + m[1][1] * y + m[1][2];
}

/* Largest distance between p and M(A(p)) over the corners of a w x h frame (inset). */
static double roundtrip_error(const double A[2][3], const double M[2][3], int w, int h)
{
    double worst = 0, pts[4][2] = {{40, 40}, {w - 40.0, 40}, {40, h - 40.0}, {w - 40.0, h - 40.0}};
    for (int i = 0; i < 4; i++) {
        double qx, qy, rx, ry;
        apply(A, pts[i][0], pts[i][1], &qx, &qy);
        apply(M, qx, qy, &rx, &ry);
        double d = hypot(rx - pts[i][0], ry - pts[i][1]);
        if (d > worst)
            worst = d;
    }
    return worst;
}

/* ---- setup ------------------------------------------------------------------------------ */

static void test_init(void)
{
    RS_CHECK_EQ(rv_cv_init(), RV_OK);
    RS_CHECK_EQ(rv_cv_init(), RV_OK); /* idempotent */
    RS_CHECK(strncmp(rv_cv_version(), "4.", 2) == 0);
    RS_CHECK_EQ(rv_cv_set_num_threads(-3), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "bad thread count");
    RS_CHECK_EQ(rv_cv_set_num_threads(1), RV_OK);
}

/* ---- connected components ---------------------------------------------------------------- */

static void test_components(void)
{
    rv_image_t *img = rv_image_new_filled(200, 120, RV_GRAY8, 0);
    RS_CHECK(img != NULL);
    if (!img)
        return;
    rv_view_t full = rv_image_view(img);
    /* Work inside a region of interest: the stride is the parent's, not width. */
    rv_view_t v;
    RS_CHECK_EQ(rv_view_roi(&full, 10, 10, 180, 100, &v), RV_OK);
    fill_rect(&v, 5, 5, 10, 10, 255);   /* blob A: 100 px, centroid (9.5, 9.5) */
    fill_rect(&v, 50, 40, 20, 5, 1);    /* blob B: 100 px; any non-zero is foreground */
    fill_rect(&v, 120, 70, 3, 3, 200);  /* C and D touch diagonally only */
    fill_rect(&v, 123, 73, 3, 3, 200);
    uint64_t before = view_sum(&full);

    rv_cv_blobs_t b8 = {0}, b4 = {0};
    RS_CHECK_EQ(rv_cv_components(&v, 8, &b8), RV_OK);
    RS_CHECK_EQ(b8.count, 3);
    RS_CHECK_EQ(rv_cv_components(&v, 4, &b4), RV_OK);
    RS_CHECK_EQ(b4.count, 4);
    if (b8.count == 3) {
        const rv_cv_blob_t *a = &b8.items[0];
        RS_CHECK_EQ(a->label, 1);
        RS_CHECK_EQ(a->x, 5);
        RS_CHECK_EQ(a->y, 5);
        RS_CHECK_EQ(a->width, 10);
        RS_CHECK_EQ(a->height, 10);
        RS_CHECK_EQ(a->area, 100);
        RS_CHECK(fabs(a->cx - 9.5) < 1e-9 && fabs(a->cy - 9.5) < 1e-9);
        RS_CHECK_EQ(b8.items[1].area, 100);
        RS_CHECK_EQ(b8.items[1].width, 20);
        RS_CHECK_EQ(b8.items[2].area, 18);
        RS_CHECK_EQ(b8.items[2].width, 6);
        RS_CHECK(fabs(b8.items[2].cx - 122.5) < 1e-9);
    }
    RS_CHECK_EQ(view_sum(&full), before); /* input untouched */

    /* Labels into caller memory with a padded stride. */
    ptrdiff_t lstride = (ptrdiff_t) (v.width + 7) * 4;
    int32_t *labels = malloc((size_t) lstride * (size_t) v.height);
    RS_CHECK(labels != NULL);
    rv_cv_blobs_t bl = {0};
    if (labels) {
        RS_CHECK_EQ(rv_cv_components_labels(&v, 8, labels, lstride, &bl), RV_OK);
        RS_CHECK_EQ(bl.count, 3);
        const int32_t *row7 = (const int32_t *) ((const uint8_t *) labels + 7 * lstride);
        const int32_t *row42 = (const int32_t *) ((const uint8_t *) labels + 42 * lstride);
        RS_CHECK_EQ(row7[7], 1);
        RS_CHECK_EQ(row7[30], 0);
        RS_CHECK_EQ(row42[60], 2);
        /* error: stride too small, not a multiple of 4 */
        rv_cv_blobs_t bad = {0};
        RS_CHECK_EQ(rv_cv_components_labels(&v, 8, labels, v.width * 4 - 4, &bad), RV_EINVAL);
        RS_CHECK_MSG(rv_last_error(), "labels stride");
        RS_CHECK_EQ(rv_cv_components_labels(&v, 8, labels, v.width * 4 + 2, &bad), RV_EINVAL);
        RS_CHECK(bad.items == NULL && bad.count == 0);
        RS_CHECK_EQ(rv_cv_components_labels(&v, 8, NULL, lstride, &bad), RV_EINVAL);
        RS_CHECK_MSG(rv_last_error(), "labels is NULL");
    }
    free(labels);

    /* Nothing there: no blobs, no error. */
    rv_view_t empty;
    RS_CHECK_EQ(rv_view_roi(&full, 0, 0, 8, 8, &empty), RV_OK);
    rv_cv_blobs_t none = {0};
    RS_CHECK_EQ(rv_cv_components(&empty, 8, &none), RV_OK);
    RS_CHECK(none.count == 0 && none.items == NULL);

    /* Errors. */
    rv_image_t *rgb = rv_image_new_filled(16, 16, RV_RGB8, 0);
    rv_view_t rv = rv_image_view(rgb);
    rv_cv_blobs_t e = {0};
    RS_CHECK_EQ(rv_cv_components(&rv, 8, &e), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "rv_cv_components: bin is RGB8, need GRAY8");
    RS_CHECK_EQ(rv_cv_components(&v, 6, &e), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "connectivity 6");
    RS_CHECK_EQ(rv_cv_components(NULL, 8, &e), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "bin is NULL");
    RS_CHECK_EQ(rv_cv_components(&v, 8, NULL), RV_EINVAL);
    rv_view_t badstride = v;
    badstride.stride = v.width - 1;
    RS_CHECK_EQ(rv_cv_components(&badstride, 8, &e), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "stride");
    rv_view_t zero = v;
    zero.width = 0;
    RS_CHECK_EQ(rv_cv_components(&zero, 8, &e), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "bad size 0x100");
    RS_CHECK(e.items == NULL && e.count == 0);

    rv_cv_blobs_free(&b8);
    rv_cv_blobs_free(&b8); /* idempotent */
    rv_cv_blobs_free(&b4);
    rv_cv_blobs_free(&bl);
    rv_cv_blobs_free(NULL);
    rv_image_destroy(&rgb);
    rv_image_destroy(&img);
}

/* ---- contours ------------------------------------------------------------------------------ */

static void test_contours(void)
{
    rv_image_t *img = rv_image_new_filled(120, 90, RV_GRAY8, 0);
    RS_CHECK(img != NULL);
    if (!img)
        return;
    rv_view_t v = rv_image_view(img);
    fill_rect(&v, 20, 15, 40, 30, 255); /* outer 40x30 */
    fill_rect(&v, 30, 25, 10, 10, 0);   /* hole */
    fill_rect(&v, 80, 60, 5, 5, 255);   /* small square */
    uint64_t before = view_sum(&v);

    rv_cv_contours_t ext = {0};
    RS_CHECK_EQ(rv_cv_contours(&v, RV_CV_CONTOURS_EXTERNAL, &ext), RV_OK);
    RS_CHECK_EQ(ext.count, 2);
    RS_CHECK_EQ(view_sum(&v), before); /* findContours worked on a copy */
    int big = -1;
    for (int i = 0; i < ext.count; i++)
        if (ext.items[i].count == 4 && ext.items[i].points[0].x == 20)
            big = i;
    RS_CHECKF(big >= 0, "no 4-point contour starting at x=20");
    if (big >= 0) {
        const rv_cv_contour_t *c = &ext.items[big];
        RS_CHECK_EQ(c->points[0].y, 15);
        RS_CHECK_EQ(c->parent, -1);
        double area = 0, perim = 0;
        rv_cv_rotrect_t r;
        RS_CHECK_EQ(rv_cv_contour_area(c, &area), RV_OK);
        RS_CHECK(fabs(area - 39.0 * 29.0) < 1e-6); /* through pixel centres */
        RS_CHECK_EQ(rv_cv_contour_perimeter(c, &perim), RV_OK);
        RS_CHECK(fabs(perim - 2.0 * (39 + 29)) < 1e-6);
        RS_CHECK_EQ(rv_cv_contour_min_rect(c, &r), RV_OK);
        RS_CHECK(fabs(r.cx - 39.5) < 1e-3 && fabs(r.cy - 29.5) < 1e-3);
        double lo = r.width < r.height ? r.width : r.height;
        double hi = r.width < r.height ? r.height : r.width;
        RS_CHECK(fabs(lo - 29) < 1e-3 && fabs(hi - 39) < 1e-3);
    }

    /* Two-level hierarchy: the hole is a child of the outer boundary. */
    rv_cv_contours_t cc = {0};
    RS_CHECK_EQ(rv_cv_contours(&v, RV_CV_CONTOURS_CCOMP, &cc), RV_OK);
    RS_CHECK_EQ(cc.count, 3);
    int holes = 0;
    for (int i = 0; i < cc.count; i++)
        if (cc.items[i].parent >= 0) {
            holes++;
            RS_CHECK_EQ(cc.items[cc.items[i].parent].first_child, i);
        }
    RS_CHECK_EQ(holes, 1);

    /* Every boundary pixel. */
    rv_cv_contours_t all = {0};
    RS_CHECK_EQ(rv_cv_contours(&v, RV_CV_CONTOURS_EXTERNAL | RV_CV_CONTOURS_ALL_POINTS, &all),
                RV_OK);
    int maxcount = 0;
    for (int i = 0; i < all.count; i++)
        if (all.items[i].count > maxcount)
            maxcount = all.items[i].count;
    RS_CHECK_EQ(maxcount, 2 * (39 + 29));

    /* Errors. */
    rv_cv_contours_t e = {0};
    RS_CHECK_EQ(rv_cv_contours(&v, 7, &e), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "bad mode");
    RS_CHECK_EQ(rv_cv_contours(&v, 0x200, &e), RV_EINVAL);
    rv_image_t *rgb = rv_image_new_filled(8, 8, RV_RGB8, 0);
    rv_view_t rv = rv_image_view(rgb);
    RS_CHECK_EQ(rv_cv_contours(&rv, 0, &e), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "need GRAY8");
    RS_CHECK(e.items == NULL && e.count == 0 && e.pool == NULL);
    rv_cv_contour_t empty = {NULL, 0, -1, -1, -1, -1};
    double a;
    RS_CHECK_EQ(rv_cv_contour_area(&empty, &a), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "empty contour");
    RS_CHECK_EQ(rv_cv_contour_perimeter(NULL, &a), RV_EINVAL);

    rv_cv_contours_free(&ext);
    rv_cv_contours_free(&ext);
    rv_cv_contours_free(&cc);
    rv_cv_contours_free(&all);
    rv_cv_contours_free(NULL);
    rv_image_destroy(&rgb);
    rv_image_destroy(&img);
}

/* ---- warps and registration ------------------------------------------------------------- */

static void test_warp(void)
{
    rv_image_t *src = make_scene(160, 120, 7);
    rv_image_t *dst = rv_image_new_filled(160, 120, RV_GRAY8, 1);
    RS_CHECK(src && dst);
    if (!src || !dst) {
        rv_image_destroy(&src);
        rv_image_destroy(&dst);
        return;
    }
    rv_view_t s = rv_image_view(src), d = rv_image_view(dst);
    const double shift[2][3] = {{1, 0, 3}, {0, 1, 2}};
    RS_CHECK_EQ(rv_cv_warp_affine(&s, &d, shift, RV_CV_INTER_NEAREST), RV_OK);
    int bad = 0;
    for (int y = 0; y + 2 < 120; y++)
        for (int x = 0; x + 3 < 160; x++)
            bad += rv_view_row(&d, y + 2)[x + 3] != rv_view_row(&s, y)[x];
    RS_CHECK_EQ(bad, 0);
    RS_CHECK_EQ(rv_view_row(&d, 0)[0], 0); /* mapped from outside: 0 */

    /* RGB, into a smaller ROI destination. */
    rv_image_t *rgb = rv_image_new_filled(64, 48, RV_RGB8, 0);
    rv_image_t *rgb2 = rv_image_new_filled(64, 48, RV_RGB8, 0);
    rv_view_t a = rv_image_view(rgb), b = rv_image_view(rgb2), broi;
    fill_rect(&a, 10, 10, 10, 10, 200);
    RS_CHECK_EQ(rv_view_roi(&b, 4, 4, 40, 30, &broi), RV_OK);
    RS_CHECK_EQ(rv_cv_warp_affine(&a, &broi, shift, RV_CV_INTER_LINEAR), RV_OK);
    RS_CHECK_EQ(rv_view_row(&broi, 15)[3 * 15 + 1], 200);
    RS_CHECK_EQ(rv_view_row(&b, 2)[3 * 2], 0); /* outside the ROI untouched */

    /* Errors. */
    const double sing[2][3] = {{1, 2, 0}, {2, 4, 0}};
    const double nan_m[2][3] = {{1, 0, NAN}, {0, 1, 0}};
    RS_CHECK_EQ(rv_cv_warp_affine(&s, &a, shift, 0), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "src is GRAY8 but dst is RGB8");
    RS_CHECK_EQ(rv_cv_warp_affine(&s, &d, sing, 0), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "singular");
    RS_CHECK_EQ(rv_cv_warp_affine(&s, &d, nan_m, 0), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "not finite");
    RS_CHECK_EQ(rv_cv_warp_affine(&s, &d, shift, 9), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "interpolation 9");
    RS_CHECK_EQ(rv_cv_warp_affine(&s, &s, shift, 0), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "overlap");
    RS_CHECK_EQ(rv_cv_warp_affine(&s, &d, NULL, 0), RV_EINVAL);

    rv_image_destroy(&rgb);
    rv_image_destroy(&rgb2);
    rv_image_destroy(&src);
    rv_image_destroy(&dst);
}

static void test_register(void)
{
    const int W = 640, H = 480;
    rv_image_t *ref = make_scene(W, H, 42);
    rv_image_t *view = rv_image_new_filled(W, H, RV_GRAY8, 0);
    RS_CHECK(ref && view);
    if (!ref || !view) {
        rv_image_destroy(&ref);
        rv_image_destroy(&view);
        return;
    }
    rv_view_t r = rv_image_view(ref), v = rv_image_view(view);

    /* Features: view = ref rotated 6 degrees, scaled 1.03, shifted (14, -9) about the centre. */
    double ang = 6.0 * M_PI / 180.0, sc = 1.03;
    double A[2][3] = {{sc * cos(ang), -sc * sin(ang), 0}, {sc * sin(ang), sc * cos(ang), 0}};
    A[0][2] = W / 2.0 + 14 - (A[0][0] * W / 2.0 + A[0][1] * H / 2.0);
    A[1][2] = H / 2.0 - 9 - (A[1][0] * W / 2.0 + A[1][1] * H / 2.0);
    RS_CHECK_EQ(rv_cv_warp_affine(&r, &v, A, RV_CV_INTER_LINEAR), RV_OK);
    rv_cv_transform_t t;
    int rc = rv_cv_register_features(&v, &r, NULL, &t);
    RS_CHECKF(rc == RV_OK, "%s", rv_last_error());
    double err = roundtrip_error(A, t.m, W, H);
    RS_CHECKF(err < 1.0, "features round trip error %.3f px (inliers %d of %d, rms %.3f)", err,
              t.inliers, t.matches, t.residual);
    RS_CHECK(t.inliers >= 8 && t.inliers <= t.matches);
    RS_CHECK(t.residual < 2.0 && t.score > 0 && t.score <= 1);

    rv_cv_register_params_t p;
    rv_cv_register_params_default(&p);
    p.motion = RV_CV_MOTION_AFFINE;
    RS_CHECK_EQ(rv_cv_register_features(&v, &r, &p, &t), RV_OK);
    RS_CHECK(roundtrip_error(A, t.m, W, H) < 1.5);

    /* ECC: small euclidean motion (1 degree, (3.5, -2.25)). */
    double ang2 = 1.0 * M_PI / 180.0;
    double B[2][3] = {{cos(ang2), -sin(ang2), 3.5}, {sin(ang2), cos(ang2), -2.25}};
    RS_CHECK_EQ(rv_cv_warp_affine(&r, &v, B, RV_CV_INTER_LINEAR), RV_OK);
    rc = rv_cv_register_ecc(&v, &r, NULL, &t);
    RS_CHECKF(rc == RV_OK, "%s", rv_last_error());
    err = roundtrip_error(B, t.m, W, H);
    RS_CHECKF(err < 0.5, "ECC round trip error %.3f px (cc %.4f)", err, t.score);
    RS_CHECK(t.score > 0.9);
    /* ... starting from a guess */
    p.motion = RV_CV_MOTION_EUCLIDEAN;
    p.use_initial_guess = 1;
    t.m[0][2] -= 0.5; /* perturb the previous answer */
    RS_CHECK_EQ(rv_cv_register_ecc(&v, &r, &p, &t), RV_OK);
    RS_CHECK(roundtrip_error(B, t.m, W, H) < 0.5);

    /* Phase correlation: pure translation (7, -4): view->ref is (-7, +4). */
    const double C[2][3] = {{1, 0, 7}, {0, 1, -4}};
    RS_CHECK_EQ(rv_cv_warp_affine(&r, &v, C, RV_CV_INTER_NEAREST), RV_OK);
    RS_CHECK_EQ(rv_cv_register_phase(&v, &r, &t), RV_OK);
    RS_CHECKF(fabs(t.m[0][2] + 7) < 0.3 && fabs(t.m[1][2] - 4) < 0.3,
              "phase shift (%.3f, %.3f), want (-7, 4)", t.m[0][2], t.m[1][2]);
    RS_CHECK(t.m[0][0] == 1 && t.m[1][1] == 1 && t.m[0][1] == 0);
    RS_CHECK(t.score > 0.1);

    /* Errors: flat images have no features; ECC on constant images fails inside OpenCV
     * (a cv::Exception, caught by the firewall); sizes and formats. */
    rv_image_t *flat = rv_image_new_filled(W, H, RV_GRAY8, 128);
    rv_image_t *small = rv_image_new_filled(320, 240, RV_GRAY8, 128);
    rv_image_t *rgb = rv_image_new_filled(W, H, RV_RGB8, 128);
    rv_view_t f = rv_image_view(flat), s = rv_image_view(small), c = rv_image_view(rgb);
    RS_CHECK_EQ(rv_cv_register_features(&f, &r, NULL, &t), RV_EBACKEND);
    RS_CHECK_MSG(rv_last_error(), "too few ORB features");
    rc = rv_cv_register_ecc(&f, &f, NULL, &t);
    RS_CHECKF(rc == RV_EBACKEND, "rc %d: %s", rc, rv_last_error());
    RS_CHECK_MSG(rv_last_error(), "rv_cv_register_ecc: OpenCV error");
    RS_CHECK_EQ(rv_cv_register_ecc(&s, &r, NULL, &t), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "view is 320x240 but ref is 640x480");
    RS_CHECK_EQ(rv_cv_register_phase(&c, &r, &t), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "view is RGB8, need GRAY8");
    p.motion = RV_CV_MOTION_SIMILARITY;
    RS_CHECK_EQ(rv_cv_register_ecc(&v, &r, &p, &t), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "ECC supports");
    p.motion = RV_CV_MOTION_TRANSLATION;
    RS_CHECK_EQ(rv_cv_register_features(&v, &r, &p, &t), RV_EINVAL);
    RS_CHECK_EQ(rv_cv_register_phase(&v, &r, NULL), RV_EINVAL);

    rv_image_destroy(&flat);
    rv_image_destroy(&small);
    rv_image_destroy(&rgb);
    rv_image_destroy(&ref);
    rv_image_destroy(&view);
}

/* ---- calibration ------------------------------------------------------------------------ */

/* Render a chessboard of sq x sq squares (cols+1 by rows+1 squares, white margin of one
 * square, grey beyond) seen by a pinhole camera K (no distortion) from pose
 * (rx, ry, rz radians about the board centre, then the board centre at (ox, oy, z)).
 * 3x3 supersampling. */
static void render_board(const rv_view_t *v, double f, double cx0, double cy0, int cols,
                         int rows, double sq, const double pose[6])
{
    double bw = (cols + 1) * sq, bh = (rows + 1) * sq;
    double ca = cos(pose[0]), sa = sin(pose[0]), cb = cos(pose[1]), sb = sin(pose[1]);
    double cg = cos(pose[2]), sg = sin(pose[2]);
    /* R = Rx * Ry * Rz */
    double Rz[3][3] = {{cg, -sg, 0}, {sg, cg, 0}, {0, 0, 1}};
    double Ry[3][3] = {{cb, 0, sb}, {0, 1, 0}, {-sb, 0, cb}};
    double Rx[3][3] = {{1, 0, 0}, {0, ca, -sa}, {0, sa, ca}};
    double T1[3][3] = {{0}}, R[3][3] = {{0}};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++)
                T1[i][j] += Ry[i][k] * Rz[k][j];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++)
                R[i][j] += Rx[i][k] * T1[k][j];
    /* camera point = R (P - c) + o, with c the board centre; for P = (X, Y, 0):
     * = X r1 + Y r2 + (o - R c). Homography H = K [r1 r2 t]. */
    double c[3] = {bw / 2, bh / 2, 0}, t[3];
    for (int i = 0; i < 3; i++)
        t[i] = pose[3 + i] - (R[i][0] * c[0] + R[i][1] * c[1]);
    double M[3][3] = {{R[0][0], R[0][1], t[0]}, {R[1][0], R[1][1], t[1]}, {R[2][0], R[2][1], t[2]}};
    double H[3][3];
    for (int j = 0; j < 3; j++) {
        H[0][j] = f * M[0][j] + cx0 * M[2][j];
        H[1][j] = f * M[1][j] + cy0 * M[2][j];
        H[2][j] = M[2][j];
    }
    /* inverse of H (adjugate / determinant) */
    double det = H[0][0] * (H[1][1] * H[2][2] - H[1][2] * H[2][1]) -
                 H[0][1] * (H[1][0] * H[2][2] - H[1][2] * H[2][0]) +
                 H[0][2] * (H[1][0] * H[2][1] - H[1][1] * H[2][0]);
    double I[3][3] = {
        {(H[1][1] * H[2][2] - H[1][2] * H[2][1]) / det, (H[0][2] * H[2][1] - H[0][1] * H[2][2]) / det,
         (H[0][1] * H[1][2] - H[0][2] * H[1][1]) / det},
        {(H[1][2] * H[2][0] - H[1][0] * H[2][2]) / det, (H[0][0] * H[2][2] - H[0][2] * H[2][0]) / det,
         (H[0][2] * H[1][0] - H[0][0] * H[1][2]) / det},
        {(H[1][0] * H[2][1] - H[1][1] * H[2][0]) / det, (H[0][1] * H[2][0] - H[0][0] * H[2][1]) / det,
         (H[0][0] * H[1][1] - H[0][1] * H[1][0]) / det}};
    for (int y = 0; y < v->height; y++)
        for (int x = 0; x < v->width; x++) {
            int acc = 0;
            for (int sy = 0; sy < 3; sy++)
                for (int sx = 0; sx < 3; sx++) {
                    double u = x + (sx - 1) / 3.0, w = y + (sy - 1) / 3.0;
                    double qx = I[0][0] * u + I[0][1] * w + I[0][2];
                    double qy = I[1][0] * u + I[1][1] * w + I[1][2];
                    double qz = I[2][0] * u + I[2][1] * w + I[2][2];
                    double X = qx / qz, Y = qy / qz;
                    int val;
                    if (X >= 0 && Y >= 0 && X < bw && Y < bh)
                        val = (((int) floor(X / sq) + (int) floor(Y / sq)) & 1) ? 255 : 0;
                    else if (X >= -sq && Y >= -sq && X < bw + sq && Y < bh + sq)
                        val = 255;
                    else
                        val = 140;
                    acc += val;
                }
            rv_view_row(v, y)[x] = (uint8_t) ((acc + 4) / 9);
        }
}

static void test_calibration(void)
{
    enum { W = 640, H = 480, COLS = 9, ROWS = 6, NV = 6 };
    const double f = 800, sq = 25;
    static const double poses[NV][6] = {
        {0.35, 0, 0, 0, 0, 600},         {-0.35, 0, 0.1, 10, -10, 620},
        {0, 0.4, 0, -20, 0, 580},        {0, -0.4, -0.1, 0, 20, 600},
        {0.25, 0.25, 0.2, 0, 0, 650},    {-0.25, 0.3, -0.15, 15, 5, 560}};
    rv_image_t *img = rv_image_new(W, H, RV_GRAY8);
    rv_cv_point2f_t *pts = malloc(sizeof *pts * COLS * ROWS * NV);
    RS_CHECK(img && pts);
    if (!img || !pts) {
        free(pts);
        rv_image_destroy(&img);
        return;
    }
    rv_view_t v = rv_image_view(img);
    rv_cv_pattern_t pat = {RV_CV_PATTERN_CHESSBOARD, COLS, ROWS, sq};
    int all_found = 1;
    for (int i = 0; i < NV; i++) {
        render_board(&v, f, W / 2.0, H / 2.0, COLS, ROWS, sq, poses[i]);
        int found = -1;
        RS_CHECK_EQ(rv_cv_find_pattern(&v, &pat, pts + i * COLS * ROWS, &found), RV_OK);
        RS_CHECKF(found == 1, "board %d not found", i);
        all_found &= found == 1;
    }
    if (all_found) {
        rv_cv_calib_t cal;
        int rc = rv_cv_calibrate(&pat, pts, NV, W, H, &cal);
        RS_CHECKF(rc == RV_OK, "%s", rv_last_error());
        RS_CHECKF(rc == RV_OK && cal.rms < 0.3, "RMS %.3f px", cal.rms);
        RS_CHECKF(fabs(cal.camera[0][0] / f - 1) < 0.02 && fabs(cal.camera[1][1] / f - 1) < 0.02,
                  "fx %.1f fy %.1f, want %.0f", cal.camera[0][0], cal.camera[1][1], f);
        RS_CHECKF(fabs(cal.camera[0][2] - W / 2.0) < 15 && fabs(cal.camera[1][2] - H / 2.0) < 15,
                  "cx %.1f cy %.1f", cal.camera[0][2], cal.camera[1][2]);
        RS_CHECK(cal.width == W && cal.height == H && cal.camera[2][2] == 1);

        /* Undistort the last view: almost no distortion, so almost no change. */
        rv_image_t *und = rv_image_new(W, H, RV_GRAY8);
        rv_view_t u = rv_image_view(und);
        RS_CHECK_EQ(rv_cv_undistort(&v, &u, &cal), RV_OK);
        double diff = 0;
        for (int y = 40; y < H - 40; y++)
            for (int x = 40; x < W - 40; x++)
                diff += abs(rv_view_row(&u, y)[x] - rv_view_row(&v, y)[x]);
        diff /= (double) (W - 80) * (H - 80);
        RS_CHECKF(diff < 6, "mean |undistorted - original| = %.2f", diff);
        /* errors */
        rv_view_t part;
        RS_CHECK_EQ(rv_view_roi(&v, 0, 0, 320, 240, &part), RV_OK);
        rv_view_t upart;
        RS_CHECK_EQ(rv_view_roi(&u, 0, 0, 320, 240, &upart), RV_OK);
        RS_CHECK_EQ(rv_cv_undistort(&part, &upart, &cal), RV_EINVAL);
        RS_CHECK_MSG(rv_last_error(), "calibration is for 640x480, src is 320x240");
        RS_CHECK_EQ(rv_cv_undistort(&v, &upart, &cal), RV_EINVAL);
        RS_CHECK_EQ(rv_cv_undistort(&v, &v, &cal), RV_EINVAL);
        RS_CHECK_MSG(rv_last_error(), "overlap");
        rv_image_destroy(&und);
    }
    RS_CHECK_EQ(rv_cv_calibrate(&pat, pts, 2, W, H, &(rv_cv_calib_t){0}), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "2 views, need 3");
    pts[5].x = NAN;
    RS_CHECK_EQ(rv_cv_calibrate(&pat, pts, NV, W, H, &(rv_cv_calib_t){0}), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "point 5 (view 0) is not finite");

    /* No board: found = 0, not an error. */
    rv_view_fill(&v, 200);
    int found = -1;
    RS_CHECK_EQ(rv_cv_find_pattern(&v, &pat, pts, &found), RV_OK);
    RS_CHECK_EQ(found, 0);

    /* Symmetric circle grid 7x5, 30 px apart, radius 8 (anti-aliased: hard-edged small
     * discs fail SimpleBlobDetector's circularity test). */
    rv_cv_pattern_t circ = {RV_CV_PATTERN_CIRCLES, 7, 5, 30};
    for (int r = 0; r < 5; r++)
        for (int c = 0; c < 7; c++)
            fill_disc_aa(&v, 200 + 30 * c, 150 + 30 * r, 8, 20);
    RS_CHECK_EQ(rv_cv_find_pattern(&v, &circ, pts, &found), RV_OK);
    RS_CHECK_EQ(found, 1);
    if (found == 1) {
        int near = 0; /* every centre is on the grid */
        for (int i = 0; i < 35; i++) {
            double gx = (pts[i].x - 200) / 30, gy = (pts[i].y - 150) / 30;
            near += fabs(gx - floor(gx + 0.5)) < 0.02 && fabs(gy - floor(gy + 0.5)) < 0.02;
        }
        RS_CHECK_EQ(near, 35);
    }

    /* Errors. */
    rv_cv_pattern_t badpat = {7, 9, 6, 25};
    RS_CHECK_EQ(rv_cv_find_pattern(&v, &badpat, pts, &found), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "unknown pattern kind 7");
    badpat = (rv_cv_pattern_t){RV_CV_PATTERN_CHESSBOARD, 1, 6, 25};
    RS_CHECK_EQ(rv_cv_find_pattern(&v, &badpat, pts, &found), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "pattern of 1x6 points");
    rv_image_t *rgb = rv_image_new_filled(W, H, RV_RGB8, 0);
    rv_view_t cv3 = rv_image_view(rgb);
    RS_CHECK_EQ(rv_cv_find_pattern(&cv3, &pat, pts, &found), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "gray is RGB8, need GRAY8");
    rv_image_destroy(&rgb);
    free(pts);
    rv_image_destroy(&img);
}

/* ---- codes ------------------------------------------------------------------------------- */

static void test_qr(void)
{
    const char *text = "REMAN-STATION/SN:0042-A7";
    rv_image_t *qr = NULL;
    RS_CHECK_EQ(rv_cv_qr_encode(text, 6, 4, &qr), RV_OK);
    RS_CHECK(qr != NULL);
    if (!qr)
        return;
    int side = rv_image_width(qr);
    RS_CHECK_EQ(side, rv_image_height(qr));
    RS_CHECK_EQ(side % 6, 0);
    RS_CHECK_EQ((side / 6 - 8 - 17) % 4, 0); /* 17 + 4 * version modules + quiet zone */
    rv_view_t q = rv_image_view(qr);
    RS_CHECK_EQ(rv_view_row(&q, 0)[0], 255);
    RS_CHECK_EQ(rv_view_row(&q, 24)[24], 0); /* finder pattern corner */

    /* Paste into a larger RGB scene at (100, 60). */
    rv_image_t *scene = rv_image_new_filled(side + 200, side + 120, RV_RGB8, 230);
    rv_view_t s = rv_image_view(scene);
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++)
            for (int c = 0; c < 3; c++)
                rv_view_row(&s, y + 60)[(x + 100) * 3 + c] = rv_view_row(&q, y)[x];
    rv_cv_codes_t codes = {0};
    RS_CHECK_EQ(rv_cv_decode_qr(&s, &codes), RV_OK);
    RS_CHECK_EQ(codes.count, 1);
    if (codes.count == 1) {
        RS_CHECK_EQ(codes.items[0].kind, RV_CV_CODE_QR);
        RS_CHECK(strcmp(codes.items[0].text, text) == 0);
        RS_CHECK_EQ(codes.items[0].len, strlen(text));
        double minx = 1e9, miny = 1e9;
        for (int k = 0; k < 4; k++) {
            if (codes.items[0].corners[k].x < minx)
                minx = codes.items[0].corners[k].x;
            if (codes.items[0].corners[k].y < miny)
                miny = codes.items[0].corners[k].y;
        }
        RS_CHECKF(fabs(minx - (100 + 24)) < 8 && fabs(miny - (60 + 24)) < 8,
                  "QR corner at (%.1f, %.1f), want (124, 84)", minx, miny);
    }
    rv_cv_codes_free(&codes);
    rv_cv_codes_free(&codes);

    /* Gray works too; a blank image has no code (not an error). */
    RS_CHECK_EQ(rv_cv_decode_qr(&q, &codes), RV_OK);
    RS_CHECK(codes.count == 1 && strcmp(codes.items[0].text, text) == 0);
    rv_cv_codes_free(&codes);
    rv_view_fill(&s, 255);
    RS_CHECK_EQ(rv_cv_decode_qr(&s, &codes), RV_OK);
    RS_CHECK(codes.count == 0 && codes.items == NULL);

    /* Two codes: each text with its own quadrilateral. */
    rv_image_t *qr2 = NULL;
    RS_CHECK_EQ(rv_cv_qr_encode("SECOND-CODE", 6, 4, &qr2), RV_OK);
    if (qr2) {
        rv_view_t q2 = rv_image_view(qr2);
        int side2 = rv_image_width(qr2);
        rv_image_t *two = rv_image_new_filled(side + side2 + 120, side + 80, RV_GRAY8, 255);
        rv_view_t tv = rv_image_view(two), a, b;
        RS_CHECK_EQ(rv_view_roi(&tv, 20, 40, side, side, &a), RV_OK);
        RS_CHECK_EQ(rv_view_roi(&tv, side + 100, 20, side2, side2, &b), RV_OK);
        rv_view_copy(&q, &a);
        rv_view_copy(&q2, &b);
        RS_CHECK_EQ(rv_cv_decode_qr(&tv, &codes), RV_OK);
        RS_CHECK_EQ(codes.count, 2);
        for (int i = 0; i < codes.count; i++) {
            int first = strcmp(codes.items[i].text, text) == 0;
            int second = strcmp(codes.items[i].text, "SECOND-CODE") == 0;
            RS_CHECKF(first || second, "unexpected text \"%s\"", codes.items[i].text);
            double cx = 0;
            for (int k = 0; k < 4; k++)
                cx += codes.items[i].corners[k].x / 4;
            double want = first ? 20 + side / 2.0 : side + 100 + side2 / 2.0;
            RS_CHECKF(fabs(cx - want) < 10, "code \"%s\" centre x %.1f, want %.1f",
                      codes.items[i].text, cx, want);
        }
        rv_cv_codes_free(&codes);
        rv_image_destroy(&two);
        rv_image_destroy(&qr2);
    }

    rv_image_t *none = NULL;
    RS_CHECK_EQ(rv_cv_qr_encode("", 4, 4, &none), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "text is empty");
    RS_CHECK_EQ(rv_cv_qr_encode("x", 0, 4, &none), RV_EINVAL);
    RS_CHECK(none == NULL);
    RS_CHECK_EQ(rv_cv_decode_qr(NULL, &codes), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "rv_cv_decode_qr: view is NULL");
    rv_image_destroy(&scene);
    rv_image_destroy(&qr);
}

/* EAN-13, drawn from the standard's module patterns: L, G and R codes, parity by the first
 * digit, guards 101 / 01010 / 101. */
static void render_ean13(const rv_view_t *v, const char digits[13], int module, int x0, int y0,
                         int bar_h)
{
    static const char *const L[10] = {"0001101", "0011001", "0010011", "0111101", "0100011",
                                      "0110001", "0101111", "0111011", "0110111", "0001011"};
    static const char *const parity[10] = {"LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG",
                                           "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL"};
    char bits[96] = "101";
    int first = digits[0] - '0';
    for (int i = 1; i <= 6; i++) {
        const char *l = L[digits[i] - '0'];
        char code[8];
        for (int k = 0; k < 7; k++) /* G = reversed R; R = complement of L */
            code[k] = parity[first][i - 1] == 'L' ? l[k] : (l[6 - k] == '0' ? '1' : '0');
        code[7] = '\0';
        strcat(bits, code);
    }
    strcat(bits, "01010");
    for (int i = 7; i <= 12; i++) {
        const char *l = L[digits[i] - '0'];
        char code[8];
        for (int k = 0; k < 7; k++)
            code[k] = l[k] == '0' ? '1' : '0';
        code[7] = '\0';
        strcat(bits, code);
    }
    strcat(bits, "101");
    for (int m = 0; m < 95; m++)
        if (bits[m] == '1')
            fill_rect(v, x0 + m * module, y0, module, bar_h, 0);
}

static void test_barcode(void)
{
    char digits[14] = "400638133393";
    int sum = 0;
    for (int i = 0; i < 12; i++)
        sum += (digits[i] - '0') * (i % 2 ? 3 : 1);
    digits[12] = (char) ('0' + (10 - sum % 10) % 10);
    digits[13] = '\0';
    RS_CHECK(strcmp(digits, "4006381333931") == 0);

    rv_image_t *img = rv_image_new_filled(480, 240, RV_GRAY8, 255);
    RS_CHECK(img != NULL);
    if (!img)
        return;
    rv_image_t *tmp = rv_image_new(480, 240, RV_GRAY8);
    rv_view_t v = rv_image_view(img), t = rv_image_view(tmp);
    render_ean13(&v, digits, 3, 90, 50, 140);
    blur3(&v, &t); /* OpenCV 4.6's locator misses perfectly hard edges */
    rv_cv_codes_t codes = {0};
    int rc = rv_cv_decode_barcodes(&v, &codes);
    RS_CHECKF(rc == RV_OK, "%s", rv_last_error());
    RS_CHECK_EQ(codes.count, 1);
    if (codes.count >= 1) {
        RS_CHECK_EQ(codes.items[0].kind, RV_CV_CODE_EAN13);
        RS_CHECKF(strcmp(codes.items[0].text, digits) == 0, "decoded \"%s\"", codes.items[0].text);
        double cx = 0;
        for (int k = 0; k < 4; k++)
            cx += codes.items[0].corners[k].x / 4;
        RS_CHECKF(fabs(cx - (90 + 95 * 3 / 2.0)) < 20, "barcode centre x %.1f", cx);
    }
    rv_cv_codes_free(&codes);

    /* Blank: nothing, not an error. RGB input accepted. */
    rv_view_fill(&v, 255);
    RS_CHECK_EQ(rv_cv_decode_barcodes(&v, &codes), RV_OK);
    RS_CHECK_EQ(codes.count, 0);
    rv_image_t *rgb = rv_image_new_filled(480, 240, RV_RGB8, 255);
    rv_view_t c = rv_image_view(rgb);
    render_ean13(&v, digits, 3, 90, 50, 140);
    blur3(&v, &t);
    for (int y = 0; y < 240; y++)
        for (int x = 0; x < 480; x++)
            for (int k = 0; k < 3; k++)
                rv_view_row(&c, y)[3 * x + k] = rv_view_row(&v, y)[x];
    RS_CHECK_EQ(rv_cv_decode_barcodes(&c, &codes), RV_OK);
    RS_CHECK(codes.count == 1 && strcmp(codes.items[0].text, digits) == 0);
    rv_cv_codes_free(&codes);
    rv_view_t bad = c;
    bad.fmt = (rv_format_t) 2;
    RS_CHECK_EQ(rv_cv_decode_barcodes(&bad, &codes), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "unknown format 2");
    RS_CHECK_EQ(rv_cv_decode_barcodes(&c, NULL), RV_EINVAL);
    rv_image_destroy(&rgb);
    rv_image_destroy(&tmp);
    rv_image_destroy(&img);
}

/* ---- capture ------------------------------------------------------------------------------ */

static void test_capture_missing(void)
{
    rv_cv_capture_t *cap = rv_cv_capture_open("97", 640, 480, 1);
    RS_CHECK(cap == NULL);
    RS_CHECK_MSG(rv_last_error(), "rv_cv_capture_open: no such camera device /dev/video97");
    cap = rv_cv_capture_open("/dev/video98", 0, 0, 0);
    RS_CHECK(cap == NULL);
    RS_CHECK_MSG(rv_last_error(), "/dev/video98");
    cap = rv_cv_capture_open("/nonexistent/clip.avi", 0, 0, 0);
    RS_CHECK(cap == NULL);
    RS_CHECK_MSG(rv_last_error(), "no such file /nonexistent/clip.avi");
    cap = rv_cv_capture_open("", 0, 0, 0);
    RS_CHECK(cap == NULL);
    RS_CHECK_MSG(rv_last_error(), "source is empty");
    cap = rv_cv_capture_open("0", -5, 0, 0);
    RS_CHECK(cap == NULL);
    RS_CHECK_MSG(rv_last_error(), "bad frame size");
    /* A file that exists but is no video. */
    cap = rv_cv_capture_open("/etc/hostname", 0, 0, 0);
    RS_CHECK(cap == NULL);
    RS_CHECK_MSG(rv_last_error(), "OpenCV could not open /etc/hostname");
    rv_cv_capture_destroy(&cap); /* NULL-safe */
    rv_cv_capture_destroy(NULL);
}

static void test_capture_sequence(void)
{
    char dir[] = "/tmp/rv_cv_seqXXXXXX";
    if (!mkdtemp(dir)) {
        RS_CHECKF(0, "mkdtemp failed");
        return;
    }
    enum { N = 4, W = 96, H = 64 };
    rv_image_t *img = rv_image_new(W, H, RV_RGB8);
    rv_view_t v = rv_image_view(img);
    char path[256];
    for (int i = 0; i < N; i++) {
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                uint8_t *p = rv_view_row(&v, y) + 3 * x;
                p[0] = 200;
                p[1] = (uint8_t) (40 * i);
                p[2] = 60;
            }
        uint8_t *jpeg = NULL;
        size_t len = 0;
        RS_CHECK_EQ(rv_jpeg_encode(&v, 95, &jpeg, &len), RV_OK);
        snprintf(path, sizeof path, "%s/frame_%03d.jpg", dir, i);
        FILE *f = fopen(path, "wb");
        RS_CHECK(f != NULL);
        if (f) {
            RS_CHECK_EQ(fwrite(jpeg, 1, len, f), len);
            fclose(f);
        }
        rv_jpeg_free(&jpeg);
    }
    snprintf(path, sizeof path, "%s/frame_%%03d.jpg", dir);
    rv_cv_capture_t *cap = rv_cv_capture_open(path, 0, 0, 0);
    RS_CHECKF(cap != NULL, "%s", rv_last_error());
    if (cap) {
        RS_CHECK(strlen(rv_cv_capture_backend(cap)) > 0);
        double w = 0;
        RS_CHECK_EQ(rv_cv_capture_get(cap, RV_CV_PROP_WIDTH, &w), RV_OK);
        for (int i = 0; i < N; i++) {
            rv_image_t *frame = NULL;
            int rc = rv_cv_capture_grab(cap, &frame);
            RS_CHECKF(rc == RV_OK, "frame %d: %s", i, rv_last_error());
            if (!frame)
                continue;
            RS_CHECK_EQ(rv_image_width(frame), W);
            RS_CHECK_EQ(rv_image_height(frame), H);
            rv_view_t fv = rv_image_view(frame);
            const uint8_t *p = rv_view_row(&fv, H / 2) + 3 * (W / 2);
            RS_CHECKF(abs(p[0] - 200) <= 4 && abs(p[1] - 40 * i) <= 4 && abs(p[2] - 60) <= 4,
                      "frame %d pixel (%d, %d, %d), want (200, %d, 60): R and B swapped?", i,
                      p[0], p[1], p[2], 40 * i);
            rv_image_destroy(&frame);
        }
        rv_image_t *frame = NULL;
        RS_CHECK_EQ(rv_cv_capture_grab(cap, &frame), RV_EIO);
        RS_CHECK_MSG(rv_last_error(), "end of stream");
        RS_CHECK(frame == NULL);
        uint8_t *raw = NULL;
        size_t raw_len = 0;
        RS_CHECK_EQ(rv_cv_capture_grab_jpeg(cap, &raw, &raw_len), RV_EBACKEND);
        RS_CHECK_MSG(rv_last_error(), "raw MJPEG needs a V4L2 camera");
        RS_CHECK(raw == NULL && raw_len == 0);
        rv_cv_bytes_free(&raw);
        RS_CHECK_EQ(rv_cv_capture_set(cap, RV_CV_PROP_WIDTH, 320), RV_EINVAL);
        RS_CHECK_MSG(rv_last_error(), "WIDTH is set at open");
        RS_CHECK_EQ(rv_cv_capture_set(cap, 42, 1), RV_EINVAL);
        RS_CHECK_MSG(rv_last_error(), "unknown property 42");
        int rc = rv_cv_capture_set(cap, RV_CV_PROP_GAIN, 3);
        RS_CHECKF(rc == RV_EBACKEND, "rc %d", rc); /* an image sequence has no gain */
        RS_CHECK_MSG(rv_last_error(), "refuses GAIN");
        rv_cv_capture_destroy(&cap);
        RS_CHECK(cap == NULL);
    }
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "%s/frame_%03d.jpg", dir, i);
        unlink(path);
    }
    rmdir(dir);
    rv_image_destroy(&img);
}

int main(void)
{
    test_init();
    test_components();
    test_contours();
    test_warp();
    test_register();
    test_calibration();
    test_qr();
    test_barcode();
    test_capture_missing();
    test_capture_sequence();
    return rs_test_end("vision.cv");
}
