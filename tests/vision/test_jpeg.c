/* test_jpeg.c - JPEG decode/encode through TurboJPEG, and every kind of bad input:
 * empty, not a JPEG, truncated, corrupt entropy data, absurd dimensions, wrong output. */
#include "rs_test.h"
#include "rv/rv_error.h"
#include "rv/rv_image.h"
#include "rv/rv_jpeg.h"

/* A smooth test pattern with some texture, so the entropy-coded data is not trivial. */
static rv_image_t *s_pattern(int w, int h, rv_format_t fmt)
{
    rv_image_t *img = rv_image_new(w, h, fmt);
    rv_view_t v = rv_image_view(img);
    uint64_t s = 1234;
    for (int y = 0; y < h; y++) {
        uint8_t *row = rv_view_row(&v, y);
        for (int x = 0; x < w * (int) fmt; x++)
            row[x] = (uint8_t) ((x * 3 + y * 2) / 4 + (rs_rand(&s) >> 60));
    }
    return img;
}

static void s_encode(const rv_image_t *img, int q, uint8_t **buf, size_t *len)
{
    rv_view_t v = rv_image_view(img);
    RS_CHECK_EQ(rv_jpeg_encode(&v, q, buf, len), RV_OK);
}

static double s_mean_abs_diff(const rv_view_t *a, const rv_view_t *b)
{
    double sum = 0;
    for (int y = 0; y < a->height; y++)
        for (int x = 0; x < a->width * (int) a->fmt; x++)
            sum += abs(rv_view_row(a, y)[x] - rv_view_row(b, y)[x]);
    return sum / ((double) a->width * a->height * a->fmt);
}

static void test_round_trip(void)
{
    for (int f = 0; f < 2; f++) {
        rv_format_t fmt = f ? RV_RGB8 : RV_GRAY8;
        rv_image_t *src = s_pattern(333, 217, fmt);
        uint8_t *buf = NULL;
        size_t len = 0;
        s_encode(src, 95, &buf, &len);
        RS_CHECK(len > 100);

        rv_jpeg_info_t info;
        RS_CHECK_EQ(rv_jpeg_read_header(buf, len, &info), RV_OK);
        RS_CHECK_EQ(info.width, 333);
        RS_CHECK_EQ(info.height, 217);
        RS_CHECK_EQ(info.components, f ? 3 : 1);

        /* the evidence bytes stay untouched by decoding */
        uint8_t *copy = malloc(len);
        memcpy(copy, buf, len);
        rv_image_t *out = rv_jpeg_decode(buf, len, fmt, 1);
        RS_CHECK(out != NULL);
        RS_CHECK(memcmp(copy, buf, len) == 0);
        rv_view_t a = rv_image_view(src), b = rv_image_view(out);
        RS_CHECK_EQ(b.width, 333);
        RS_CHECK_EQ(b.height, 217);
        RS_CHECK_EQ(b.stride % 64, 0);
        RS_CHECK_EQ((uintptr_t) b.data % 64, 0);
        double mad = s_mean_abs_diff(&a, &b);
        RS_CHECKF(mad < 3.0, "mean abs diff %.2f after quality 95", mad);

        /* colour to gray and gray to RGB both decode */
        rv_image_t *other = rv_jpeg_decode(buf, len, f ? RV_GRAY8 : RV_RGB8, 1);
        RS_CHECK(other != NULL);
        rv_image_destroy(&other);

        /* decode straight into a region of interest of a larger image; guard pixels
         * around it stay untouched */
        rv_image_t *big = rv_image_new_filled(400, 300, fmt, 0xA5);
        rv_view_t bv = rv_image_view(big), roi;
        RS_CHECK_EQ(rv_view_roi(&bv, 7, 5, 333, 217, &roi), RV_OK);
        RS_CHECK_EQ(rv_jpeg_decode_into(buf, len, &roi, 1), RV_OK);
        RS_CHECK(memcmp(rv_view_row(&roi, 10), rv_view_row(&b, 10), 333 * fmt) == 0);
        RS_CHECK_EQ(rv_view_row(&bv, 4)[7 * fmt], 0xA5);
        RS_CHECK_EQ(rv_view_row(&bv, 10)[6 * fmt + fmt - 1], 0xA5);
        RS_CHECK_EQ(rv_view_row(&bv, 10)[(7 + 333) * fmt], 0xA5);
        RS_CHECK_EQ(rv_view_row(&bv, 5 + 217)[20 * fmt], 0xA5);

        /* a view of the wrong size is refused with both sizes named */
        rv_view_t small;
        RS_CHECK_EQ(rv_view_roi(&bv, 0, 0, 100, 100, &small), RV_OK);
        RS_CHECK_EQ(rv_jpeg_decode_into(buf, len, &small, 1), RV_EINVAL);
        RS_CHECK_MSG(rv_last_error(), "333x217");

        rv_image_destroy(&big);
        rv_image_destroy(&out);
        rv_image_destroy(&src);
        free(copy);
        rv_jpeg_free(&buf);
        RS_CHECK(buf == NULL);
    }
}

static void test_scaled(void)
{
    rv_image_t *src = s_pattern(1001, 603, RV_RGB8);
    uint8_t *buf = NULL;
    size_t len = 0;
    s_encode(src, 90, &buf, &len);
    int denoms[] = {1, 2, 4, 8};
    for (int i = 0; i < 4; i++) {
        rv_image_t *out = rv_jpeg_decode(buf, len, RV_RGB8, denoms[i]);
        RS_CHECK(out != NULL);
        if (out) {
            int d = denoms[i];
            RS_CHECK_EQ(rv_image_width(out), (1001 + d - 1) / d);
            RS_CHECK_EQ(rv_image_height(out), (603 + d - 1) / d);
        }
        rv_image_destroy(&out);
    }
    RS_CHECK(rv_jpeg_decode(buf, len, RV_RGB8, 3) == NULL);
    RS_CHECK_MSG(rv_last_error(), "1/3");
    /* shrink-on-load: the smallest scale still covering the target (1001 x 603 gives
     * 501 x 302 at 1/2, 251 x 151 at 1/4, 126 x 76 at 1/8) */
    rv_jpeg_info_t info;
    RS_CHECK_EQ(rv_jpeg_read_header(buf, len, &info), RV_OK);
    RS_CHECK_EQ(rv_jpeg_shrink_denom(&info, 1001, 603), 1);
    RS_CHECK_EQ(rv_jpeg_shrink_denom(&info, 502, 300), 1);
    RS_CHECK_EQ(rv_jpeg_shrink_denom(&info, 501, 302), 2);
    RS_CHECK_EQ(rv_jpeg_shrink_denom(&info, 251, 151), 4);
    RS_CHECK_EQ(rv_jpeg_shrink_denom(&info, 252, 100), 2);
    RS_CHECK_EQ(rv_jpeg_shrink_denom(&info, 126, 76), 8);
    RS_CHECK_EQ(rv_jpeg_shrink_denom(&info, 1, 1), 8);
    RS_CHECK_EQ(rv_jpeg_shrink_denom(&info, 5000, 5000), 1);
    rv_jpeg_free(&buf);
    rv_image_destroy(&src);
}

static void test_bad_input(void)
{
    /* empty */
    RS_CHECK(rv_jpeg_decode(NULL, 0, RV_GRAY8, 1) == NULL);
    RS_CHECK_MSG(rv_last_error(), "empty input");
    uint8_t one = 0xFF;
    RS_CHECK(rv_jpeg_decode(&one, 0, RV_GRAY8, 1) == NULL);
    RS_CHECK_MSG(rv_last_error(), "empty input");

    /* not a JPEG: text, a PNG signature, a lone SOI */
    const char *text = "this is not an image at all";
    RS_CHECK(rv_jpeg_decode((const uint8_t *) text, strlen(text), RV_GRAY8, 1) == NULL);
    RS_CHECK_MSG(rv_last_error(), "not a JPEG");
    const uint8_t png[] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13};
    RS_CHECK(rv_jpeg_decode(png, sizeof png, RV_RGB8, 1) == NULL);
    RS_CHECK_MSG(rv_last_error(), "not a JPEG");
    const uint8_t soi[] = {0xFF, 0xD8, 0xFF, 0xD9};
    RS_CHECK(rv_jpeg_decode(soi, sizeof soi, RV_RGB8, 1) == NULL);
    RS_CHECK_MSG(rv_last_error(), "header");

    rv_image_t *src = s_pattern(640, 480, RV_RGB8);
    uint8_t *buf = NULL;
    size_t len = 0;
    s_encode(src, 92, &buf, &len);

    /* truncated: inside the header, and at several points of the scan data */
    RS_CHECK(rv_jpeg_decode(buf, 60, RV_RGB8, 1) == NULL);
    RS_CHECK_MSG(rv_last_error(), "rv_jpeg");
    size_t cuts[] = {len / 3, len / 2, len - 100, len - 2};
    for (int i = 0; i < 4; i++) {
        rv_clear_error();
        rv_image_t *out = rv_jpeg_decode(buf, cuts[i], RV_RGB8, 1);
        RS_CHECKF(out == NULL, "a file cut at %zu of %zu bytes decoded", cuts[i], len);
        RS_CHECK_MSG(rv_last_error(), "truncated JPEG");
        rv_image_destroy(&out);
    }

    /* corrupt entropy data: an unexpected marker in the middle of the scan, and a run of
     * junk that ends the scan early */
    uint8_t *bad = malloc(len);
    memcpy(bad, buf, len);
    bad[len / 2] = 0xFF;
    bad[len / 2 + 1] = 0xD3; /* RST3 where no restart interval exists */
    rv_image_t *out = rv_jpeg_decode(bad, len, RV_RGB8, 1);
    RS_CHECK(out == NULL);
    RS_CHECK_MSG(rv_last_error(), "corrupt JPEG data");
    rv_image_destroy(&out);
    memcpy(bad, buf, len);
    memset(bad + len / 2, 0xFF, 64);
    bad[len / 2 + 64] = 0xC4; /* a DHT marker inside entropy-coded data */
    out = rv_jpeg_decode(bad, len, RV_RGB8, 1);
    RS_CHECK(out == NULL);
    RS_CHECK(strlen(rv_last_error()) > 0);
    rv_image_destroy(&out);

    /* absurd dimensions in the header: refused from the header, before any pixel
     * allocation (65500 x 65500 would be 12.8 GB of RGB) */
    memcpy(bad, buf, len);
    int patched = 0;
    for (size_t i = 2; i + 8 < len; i++) {
        if (bad[i] == 0xFF && (bad[i + 1] == 0xC0 || bad[i + 1] == 0xC1 || bad[i + 1] == 0xC2)) {
            /* SOFn: FF Cn len(2) precision(1) height(2) width(2) */
            bad[i + 5] = 0xFF;
            bad[i + 6] = 0xDC;
            bad[i + 7] = 0xFF;
            bad[i + 8] = 0xDC;
            patched = 1;
            break;
        }
    }
    RS_CHECK(patched);
    out = rv_jpeg_decode(bad, len, RV_RGB8, 1);
    RS_CHECK(out == NULL);
    RS_CHECK_MSG(rv_last_error(), "exceeds the limit of 100.0 MP");
    rv_image_destroy(&out);

    /* a configurable limit */
    rv_jpeg_set_max_pixels(640 * 479);
    out = rv_jpeg_decode(buf, len, RV_RGB8, 1);
    RS_CHECK(out == NULL);
    RS_CHECK_MSG(rv_last_error(), "640x480");
    rv_jpeg_set_max_pixels(0);
    RS_CHECK_EQ(rv_jpeg_max_pixels(), RV_JPEG_DEFAULT_MAX_PIXELS);
    out = rv_jpeg_decode(buf, len, RV_RGB8, 1);
    RS_CHECK(out != NULL);
    rv_image_destroy(&out);

    /* a bad output format */
    RS_CHECK(rv_jpeg_decode(buf, len, (rv_format_t) 2, 1) == NULL);
    RS_CHECK_MSG(rv_last_error(), "format");

    free(bad);
    rv_jpeg_free(&buf);
    rv_image_destroy(&src);
}

static void test_encode_errors(void)
{
    rv_image_t *src = s_pattern(16, 16, RV_GRAY8);
    rv_view_t v = rv_image_view(src);
    uint8_t *buf = NULL;
    size_t len = 0;
    RS_CHECK_EQ(rv_jpeg_encode(&v, 0, &buf, &len), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "quality 0");
    RS_CHECK_EQ(rv_jpeg_encode(&v, 101, &buf, &len), RV_EINVAL);
    RS_CHECK(buf == NULL);
    rv_image_destroy(&src);
}

static void test_file_read(void)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    RS_CHECK_EQ(rv_file_read("/nonexistent/core.jpg", 1 << 20, &buf, &len), RV_EIO);
    RS_CHECK_MSG(rv_last_error(), "/nonexistent/core.jpg");
    RS_CHECK_EQ(rv_file_read("/tmp", 1 << 20, &buf, &len), RV_EIO);
    RS_CHECK_MSG(rv_last_error(), "not a regular file");

    char path[] = "/tmp/rs_test_jpeg_XXXXXX";
    int fd = mkstemp(path);
    RS_CHECK(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    for (int i = 0; i < 5000; i++)
        fputc(i & 0xFF, f);
    fclose(f);
    RS_CHECK_EQ(rv_file_read(path, 4999, &buf, &len), RV_ELIMIT);
    RS_CHECK_EQ(rv_file_read(path, 5000, &buf, &len), RV_OK);
    RS_CHECK_EQ(len, 5000);
    RS_CHECK(buf && buf[4999] == (4999 & 0xFF));
    free(buf);
    remove(path);
}

int main(void)
{
    test_round_trip();
    test_scaled();
    test_bad_input();
    test_encode_errors();
    test_file_read();
    return rs_test_end("vision.jpeg");
}
