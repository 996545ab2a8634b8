/* test_image.c - owned images, views, regions of interest and their errors. */
#include "rs_test.h"
#include "rv/rv_error.h"
#include "rv/rv_image.h"

static void test_new(void)
{
    int widths[] = {1, 3, 63, 64, 65, 1001};
    for (int i = 0; i < 6; i++) {
        rv_image_t *img = rv_image_new(widths[i], 3, RV_RGB8);
        RS_CHECK(img != NULL);
        rv_view_t v = rv_image_view(img);
        RS_CHECK_EQ((uintptr_t) v.data % 64, 0);
        RS_CHECK_EQ(v.stride % 64, 0);
        RS_CHECK(v.stride >= widths[i] * 3);
        RS_CHECK_EQ(v.fmt, RV_RGB8);
        rv_image_destroy(&img);
        RS_CHECK(img == NULL);
    }
    rv_image_t *none = NULL;
    rv_image_destroy(&none); /* destroying nothing is fine */

    RS_CHECK(rv_image_new(0, 10, RV_GRAY8) == NULL);
    RS_CHECK_MSG(rv_last_error(), "bad size 0x10");
    RS_CHECK(rv_image_new(10, -1, RV_GRAY8) == NULL);
    RS_CHECK(rv_image_new(10, 10, (rv_format_t) 2) == NULL);
    RS_CHECK_MSG(rv_last_error(), "format");
    RS_CHECK(rv_image_new(70000, 10, RV_GRAY8) == NULL);
    RS_CHECK_MSG(rv_last_error(), "exceeds the largest side");

    rv_image_t *f = rv_image_new_filled(5, 5, RV_GRAY8, 7);
    rv_view_t fv = rv_image_view(f);
    RS_CHECK_EQ(rv_view_row(&fv, 4)[4], 7);
    rv_image_destroy(&f);
}

static void test_roi(void)
{
    rv_image_t *img = rv_image_new(100, 50, RV_GRAY8);
    rv_view_t v = rv_image_view(img);
    for (int y = 0; y < 50; y++)
        for (int x = 0; x < 100; x++)
            rv_view_row(&v, y)[x] = (uint8_t) (x + y);
    rv_view_t roi;
    RS_CHECK_EQ(rv_view_roi(&v, 10, 20, 30, 5, &roi), RV_OK);
    RS_CHECK_EQ(roi.width, 30);
    RS_CHECK_EQ(roi.stride, v.stride);
    RS_CHECK_EQ(rv_view_row(&roi, 0)[0], 30); /* no copy: the same pixels */
    rv_view_row(&roi, 1)[2] = 200;
    RS_CHECK_EQ(rv_view_row(&v, 21)[12], 200);

    rv_view_t sub;
    RS_CHECK_EQ(rv_view_roi(&roi, 29, 4, 1, 1, &sub), RV_OK);
    RS_CHECK_EQ(rv_view_roi(&roi, 29, 4, 2, 1, &sub), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "leaves the 30x5 view");
    RS_CHECK_EQ(rv_view_roi(&v, -1, 0, 5, 5, &sub), RV_EINVAL);
    RS_CHECK_EQ(rv_view_roi(&v, 0, 0, 0, 5, &sub), RV_EINVAL);

    rv_image_t *copy = rv_image_new(30, 5, RV_GRAY8);
    rv_view_t cv = rv_image_view(copy);
    RS_CHECK_EQ(rv_view_copy(&roi, &cv), RV_OK);
    RS_CHECK_EQ(rv_view_row(&cv, 1)[2], 200);
    RS_CHECK_EQ(rv_view_copy(&v, &cv), RV_EINVAL);
    rv_view_fill(&roi, 9);
    RS_CHECK_EQ(rv_view_row(&v, 24)[39], 9);
    RS_CHECK_EQ(rv_view_row(&v, 24)[40], 64);
    rv_image_destroy(&copy);
    rv_image_destroy(&img);

    uint8_t mem[100];
    rv_view_t w;
    RS_CHECK_EQ(rv_view_wrap(mem, 10, 10, 10, RV_GRAY8, &w), RV_OK);
    RS_CHECK_EQ(rv_view_wrap(mem, 10, 10, 9, RV_GRAY8, &w), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "stride");
    RS_CHECK_EQ(rv_view_wrap(NULL, 10, 10, 10, RV_GRAY8, &w), RV_EINVAL);
}

static void test_errors(void)
{
    RS_CHECK_EQ(rv_fail(RV_EFORMAT, "dom", "x=%d", 5), RV_EFORMAT);
    RS_CHECK(strcmp(rv_last_error(), "dom: x=5") == 0);
    rv_clear_error();
    RS_CHECK(strcmp(rv_last_error(), "") == 0);
    RS_CHECK(strcmp(rv_strerror(RV_ELIMIT), "limit exceeded") == 0);
    RS_CHECK(strcmp(rv_strerror(-99), "unknown status") == 0);
}

/* rv_view_shrink against the definition (the rounded mean of each k x k block), on odd
 * sizes, views that start at an offset inside a larger image, padded strides, every k. */
static void test_shrink(void)
{
    uint32_t seed = 12345;
    const rv_format_t fmts[2] = {RV_GRAY8, RV_RGB8};
    const int sizes[][2] = {{1, 1}, {7, 5}, {33, 17}, {64, 48}, {101, 67}};
    for (int f = 0; f < 2; f++)
        for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++)
            for (int k = 1; k <= 16; k++) {
                int w = sizes[z][0] * k + (k > 1 ? k - 1 : 0), h = sizes[z][1] * k + k / 2;
                rv_image_t *big = rv_image_new(w + 5, h + 3, fmts[f]);
                rv_view_t bv = rv_image_view(big), src;
                for (int y = 0; y < bv.height; y++)
                    for (int x = 0; x < bv.width * (int) fmts[f]; x++) {
                        seed = seed * 1664525u + 1013904223u;
                        rv_view_row(&bv, y)[x] = (uint8_t) (seed >> 24);
                    }
                RS_CHECK_EQ(rv_view_roi(&bv, 3, 2, w, h, &src), RV_OK); /* offset, stride */
                int dw = w / k, dh = h / k;
                RS_CHECK(dw == sizes[z][0] && dh == sizes[z][1]);
                rv_image_t *dst = rv_image_new(dw, dh, fmts[f]);
                rv_view_t dv = rv_image_view(dst);
                RS_CHECK_EQ(rv_view_shrink(&src, &dv, k), RV_OK);
                int bad = 0, c = (int) fmts[f];
                for (int y = 0; y < dh && !bad; y++)
                    for (int x = 0; x < dw && !bad; x++)
                        for (int ch = 0; ch < c; ch++) {
                            uint32_t sum = 0;
                            for (int yy = 0; yy < k; yy++)
                                for (int xx = 0; xx < k; xx++)
                                    sum += rv_view_row(&src, y * k + yy)[(x * k + xx) * c + ch];
                            uint32_t want = (sum + (uint32_t) (k * k) / 2) / (uint32_t) (k * k);
                            if (rv_view_row(&dv, y)[x * c + ch] != want) {
                                RS_CHECKF(0, "shrink %dx%dx%d by %d: (%d,%d,%d) is %d, not %u", w,
                                          h, c, k, x, y, ch, rv_view_row(&dv, y)[x * c + ch],
                                          want);
                                bad = 1;
                                break;
                            }
                        }
                rv_image_destroy(&dst);
                rv_image_destroy(&big);
            }
    /* refusals: a factor outside 1..255, a destination of another size or format */
    rv_image_t *a = rv_image_new(40, 30, RV_RGB8), *b = rv_image_new(20, 15, RV_RGB8),
               *g = rv_image_new(20, 15, RV_GRAY8);
    rv_view_t av = rv_image_view(a), bv = rv_image_view(b), gv = rv_image_view(g);
    RS_CHECK_EQ(rv_view_shrink(&av, &bv, 0), RV_EINVAL);
    RS_CHECK_EQ(rv_view_shrink(&av, &bv, 256), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "not in 1..255");
    RS_CHECK_EQ(rv_view_shrink(&av, &bv, 3), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "shrunk by 3 is 13x10, not 20x15");
    RS_CHECK_EQ(rv_view_shrink(&av, &gv, 2), RV_EINVAL);
    RS_CHECK_EQ(rv_view_shrink(&av, &bv, 2), RV_OK);
    rv_image_destroy(&a);
    rv_image_destroy(&b);
    rv_image_destroy(&g);
    /* the factor: the largest that still covers the target, at least 1, at most 16 */
    RS_CHECK_EQ(rv_shrink_factor(2592, 1944, 1280, 960), 2);
    RS_CHECK_EQ(rv_shrink_factor(2559, 1944, 1280, 960), 1);
    RS_CHECK_EQ(rv_shrink_factor(4000, 3000, 1280, 960), 3);
    RS_CHECK_EQ(rv_shrink_factor(640, 480, 1280, 960), 1);
    RS_CHECK_EQ(rv_shrink_factor(100000, 100000, 10, 10), 16);
    RS_CHECK_EQ(rv_shrink_factor(100, 100, 0, 10), 1);
}

int main(void)
{
    test_new();
    test_roi();
    test_errors();
    test_shrink();
    return rs_test_end("vision.image");
}
