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

int main(void)
{
    test_new();
    test_roi();
    test_errors();
    return rs_test_end("vision.image");
}
