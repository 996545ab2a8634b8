/* rv_point.c - pointwise image operations: argument checks, then one kernel call per row
 * (rv_kernels_point.h) from the active SIMD table. */
#include "rv/rv_point.h"
#include "rv/rv_error.h"
#include "rv_kernels.h"

#include <string.h>

static const char *s_format_name(rv_format_t fmt)
{
    return fmt == RV_GRAY8 ? "GRAY8" : fmt == RV_RGB8 ? "RGB8" : "unknown";
}

/* A usable view of the given format: pixels, a positive size, a stride covering a row. */
static int s_check(const char *domain, const char *name, const rv_view_t *v, rv_format_t fmt)
{
    if (!v || !v->data)
        return rv_fail(RV_EINVAL, domain, "%s: no view or no pixels", name);
    if (v->width <= 0 || v->height <= 0)
        return rv_fail(RV_EINVAL, domain, "%s: bad size %dx%d", name, v->width, v->height);
    if (v->fmt != fmt)
        return rv_fail(RV_EINVAL, domain, "%s must be %s, not %s (%d)", name,
                       s_format_name(fmt), s_format_name(v->fmt), (int) v->fmt);
    if (v->stride < (ptrdiff_t) v->width * fmt)
        return rv_fail(RV_EINVAL, domain, "%s: stride %td is less than a row of %d bytes", name,
                       v->stride, v->width * (int) fmt);
    return RV_OK;
}

static int s_same_size(const char *domain, const char *name_a, const rv_view_t *a,
                       const char *name_b, const rv_view_t *b)
{
    if (a->width != b->width || a->height != b->height)
        return rv_fail(RV_EINVAL, domain, "sizes differ: %s is %dx%d, %s is %dx%d", name_a,
                       a->width, a->height, name_b, b->width, b->height);
    return RV_OK;
}

static const rv_point_kernels_t *s_kernels(void)
{
    return &rv__kernels()->p;
}

int rv_gray_from_rgb(const rv_view_t *src, const rv_view_t *dst)
{
    static const char *const domain = "rv_gray_from_rgb";
    int rc;
    if ((rc = s_check(domain, "src", src, RV_RGB8)) || (rc = s_check(domain, "dst", dst, RV_GRAY8))
        || (rc = s_same_size(domain, "src", src, "dst", dst)))
        return rc;
    const rv_point_kernels_t *k = s_kernels();
    for (int y = 0; y < src->height; y++)
        k->gray_from_rgb(rv_view_row(src, y), rv_view_row(dst, y), (size_t) src->width);
    return RV_OK;
}

typedef void (*s_binary_fn)(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n);

/* The two-input GRAY8 operations. */
static int s_binary(const char *domain, s_binary_fn fn, const rv_view_t *a, const rv_view_t *b,
                    const rv_view_t *dst)
{
    int rc;
    if ((rc = s_check(domain, "a", a, RV_GRAY8)) || (rc = s_check(domain, "b", b, RV_GRAY8))
        || (rc = s_check(domain, "dst", dst, RV_GRAY8))
        || (rc = s_same_size(domain, "a", a, "b", b))
        || (rc = s_same_size(domain, "a", a, "dst", dst)))
        return rc;
    for (int y = 0; y < a->height; y++)
        fn(rv_view_row(a, y), rv_view_row(b, y), rv_view_row(dst, y), (size_t) a->width);
    return RV_OK;
}

int rv_absdiff(const rv_view_t *a, const rv_view_t *b, const rv_view_t *dst)
{
    return s_binary("rv_absdiff", s_kernels()->absdiff, a, b, dst);
}

int rv_max(const rv_view_t *a, const rv_view_t *b, const rv_view_t *dst)
{
    return s_binary("rv_max", s_kernels()->max, a, b, dst);
}

int rv_min(const rv_view_t *a, const rv_view_t *b, const rv_view_t *dst)
{
    return s_binary("rv_min", s_kernels()->min, a, b, dst);
}

int rv_sub_sat(const rv_view_t *a, const rv_view_t *b, const rv_view_t *dst)
{
    return s_binary("rv_sub_sat", s_kernels()->sub_sat, a, b, dst);
}

int rv_lut(const rv_view_t *src, const rv_view_t *dst, const uint8_t table[256])
{
    static const char *const domain = "rv_lut";
    int rc;
    if (!table)
        return rv_fail(RV_EINVAL, domain, "no table");
    if ((rc = s_check(domain, "src", src, RV_GRAY8)) || (rc = s_check(domain, "dst", dst, RV_GRAY8))
        || (rc = s_same_size(domain, "src", src, "dst", dst)))
        return rc;
    const rv_point_kernels_t *k = s_kernels();
    for (int y = 0; y < src->height; y++)
        k->lut(rv_view_row(src, y), rv_view_row(dst, y), (size_t) src->width, table);
    return RV_OK;
}

int rv_threshold(const rv_view_t *src, const rv_view_t *dst, uint8_t thr, size_t *count)
{
    static const char *const domain = "rv_threshold";
    int rc;
    if ((rc = s_check(domain, "src", src, RV_GRAY8)) || (rc = s_check(domain, "dst", dst, RV_GRAY8))
        || (rc = s_same_size(domain, "src", src, "dst", dst)))
        return rc;
    const rv_point_kernels_t *k = s_kernels();
    size_t total = 0;
    for (int y = 0; y < src->height; y++)
        total += k->threshold(rv_view_row(src, y), rv_view_row(dst, y), (size_t) src->width, thr);
    if (count)
        *count = total;
    return RV_OK;
}

int rv_band_threshold(const rv_view_t *src, const rv_view_t *lo, const rv_view_t *hi,
                      const rv_view_t *dst, size_t *count)
{
    static const char *const domain = "rv_band_threshold";
    int rc;
    if ((rc = s_check(domain, "src", src, RV_GRAY8)) || (rc = s_check(domain, "lo", lo, RV_GRAY8))
        || (rc = s_check(domain, "hi", hi, RV_GRAY8))
        || (rc = s_check(domain, "dst", dst, RV_GRAY8))
        || (rc = s_same_size(domain, "src", src, "lo", lo))
        || (rc = s_same_size(domain, "src", src, "hi", hi))
        || (rc = s_same_size(domain, "src", src, "dst", dst)))
        return rc;
    const rv_point_kernels_t *k = s_kernels();
    size_t total = 0;
    for (int y = 0; y < src->height; y++)
        total += k->band(rv_view_row(src, y), rv_view_row(lo, y), rv_view_row(hi, y),
                         rv_view_row(dst, y), (size_t) src->width);
    if (count)
        *count = total;
    return RV_OK;
}

int rv_band_from_stats(const rv_view_t *mean, const rv_view_t *spread, int k_q8,
                       const rv_view_t *lo, const rv_view_t *hi)
{
    static const char *const domain = "rv_band_from_stats";
    int rc;
    if ((rc = s_check(domain, "mean", mean, RV_GRAY8))
        || (rc = s_check(domain, "spread", spread, RV_GRAY8))
        || (rc = s_check(domain, "lo", lo, RV_GRAY8)) || (rc = s_check(domain, "hi", hi, RV_GRAY8))
        || (rc = s_same_size(domain, "mean", mean, "spread", spread))
        || (rc = s_same_size(domain, "mean", mean, "lo", lo))
        || (rc = s_same_size(domain, "mean", mean, "hi", hi)))
        return rc;
    if (k_q8 < 0 || k_q8 > 65535)
        return rv_fail(RV_EINVAL, domain, "k_q8 %d is outside 0 .. 65535", k_q8);
    /* Run once per learned reference, not per frame: plain C (the compiler vectorises it)
     * rather than a kernel of its own. Both inputs are read before either output is
     * written, so lo or hi may be mean or spread itself. */
    for (int y = 0; y < mean->height; y++) {
        const uint8_t *m = rv_view_row(mean, y), *s = rv_view_row(spread, y);
        uint8_t *l = rv_view_row(lo, y), *h = rv_view_row(hi, y);
        for (int x = 0; x < mean->width; x++) {
            int mv = m[x], e = (k_q8 * s[x] + 128) >> 8; /* at most 65535 * 255: fits int */
            int lv = mv - e, hv = mv + e;
            l[x] = (uint8_t) (lv > 0 ? lv : 0);
            h[x] = (uint8_t) (hv < 255 ? hv : 255);
        }
    }
    return RV_OK;
}

int rv_rust(const rv_view_t *rgb, const rv_view_t *dst)
{
    static const char *const domain = "rv_rust";
    int rc;
    if ((rc = s_check(domain, "rgb", rgb, RV_RGB8)) || (rc = s_check(domain, "dst", dst, RV_GRAY8))
        || (rc = s_same_size(domain, "rgb", rgb, "dst", dst)))
        return rc;
    const rv_point_kernels_t *k = s_kernels();
    for (int y = 0; y < rgb->height; y++)
        k->rust(rv_view_row(rgb, y), rv_view_row(dst, y), (size_t) rgb->width);
    return RV_OK;
}

int rv_front(const rv_view_t *rgb, const rv_view_t *gray, const rv_view_t *rust, uint8_t thr,
             size_t *count)
{
    static const char *const domain = "rv_front";
    int rc;
    if ((rc = s_check(domain, "rgb", rgb, RV_RGB8))
        || (rc = s_check(domain, "gray", gray, RV_GRAY8))
        || (rc = s_check(domain, "rust", rust, RV_GRAY8))
        || (rc = s_same_size(domain, "rgb", rgb, "gray", gray))
        || (rc = s_same_size(domain, "rgb", rgb, "rust", rust)))
        return rc;
    if (gray->data == rust->data)
        return rv_fail(RV_EINVAL, domain, "gray and rust must be distinct outputs");
    const rv_point_kernels_t *k = s_kernels();
    size_t total = 0;
    for (int y = 0; y < rgb->height; y++)
        total += k->front(rv_view_row(rgb, y), rv_view_row(gray, y), rv_view_row(rust, y),
                          (size_t) rgb->width, thr);
    if (count)
        *count = total;
    return RV_OK;
}

int rv_histogram(const rv_view_t *src, uint32_t hist[256])
{
    static const char *const domain = "rv_histogram";
    int rc = s_check(domain, "src", src, RV_GRAY8);
    if (rc)
        return rc;
    if (!hist)
        return rv_fail(RV_EINVAL, domain, "no histogram");
    memset(hist, 0, 256 * sizeof hist[0]);
    const rv_point_kernels_t *k = s_kernels();
    for (int y = 0; y < src->height; y++)
        k->hist(rv_view_row(src, y), (size_t) src->width, hist);
    return RV_OK;
}

int rv_integral(const rv_view_t *src, uint32_t *out, size_t out_stride)
{
    static const char *const domain = "rv_integral";
    int rc = s_check(domain, "src", src, RV_GRAY8);
    if (rc)
        return rc;
    if (!out)
        return rv_fail(RV_EINVAL, domain, "no output");
    if (out_stride < (size_t) src->width)
        return rv_fail(RV_EINVAL, domain, "out_stride %zu is less than the width %d", out_stride,
                       src->width);
    const rv_point_kernels_t *k = s_kernels();
    size_t w = (size_t) src->width;
    /* row 0 adds to a zero row: clear it and run in place (above == dst is allowed) */
    memset(out, 0, w * sizeof out[0]);
    k->integral_row(rv_view_row(src, 0), out, out, w);
    for (int y = 1; y < src->height; y++) {
        uint32_t *row = out + (size_t) y * out_stride;
        k->integral_row(rv_view_row(src, y), row - out_stride, row, w);
    }
    return RV_OK;
}
