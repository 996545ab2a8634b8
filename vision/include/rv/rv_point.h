/* rv_point.h - pointwise image operations over views: colour conversion, differences,
 * thresholds, the learned-reference band, rust likelihood, histograms and integral images.
 *
 * Every function takes borrowed views, checks formats and sizes (RV_EINVAL with a message
 * naming the offending argument), loops over rows and runs the active SIMD kernels
 * (rv_simd.h); results are bit-identical whatever the instruction set. An output view may
 * be the very same pixels as an input of the same format (in place), but must not
 * otherwise overlap an input. Counts are optional (pass NULL).
 * Thread-safety: reentrant; distinct outputs may be computed from distinct threads. */
#ifndef RV_POINT_H
#define RV_POINT_H

#include "rv/rv_image.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* dst (GRAY8) = BT.601 luma of src (RGB8): (4899 R + 9617 G + 1868 B + 8192) >> 14,
 * as OpenCV's cvtColor(RGB2GRAY). */
int rv_gray_from_rgb(const rv_view_t *src, const rv_view_t *dst);

/* GRAY8, all the same size: dst = |a - b|, max(a, b), min(a, b), max(a - b, 0). */
int rv_absdiff(const rv_view_t *a, const rv_view_t *b, const rv_view_t *dst);
int rv_max(const rv_view_t *a, const rv_view_t *b, const rv_view_t *dst);
int rv_min(const rv_view_t *a, const rv_view_t *b, const rv_view_t *dst);
int rv_sub_sat(const rv_view_t *a, const rv_view_t *b, const rv_view_t *dst);

/* dst = table[src] (GRAY8, the same size; dst may be src). */
int rv_lut(const rv_view_t *src, const rv_view_t *dst, const uint8_t table[256]);

/* dst = src > thr ? 255 : 0 (GRAY8); *count = number of 255s. */
int rv_threshold(const rv_view_t *src, const rv_view_t *dst, uint8_t thr, size_t *count);

/* Per-pixel band of a learned reference: dst = (src < lo || src > hi) ? 255 : 0 (GRAY8);
 * *count = number of 255s (pixels outside their band). */
int rv_band_threshold(const rv_view_t *src, const rv_view_t *lo, const rv_view_t *hi,
                      const rv_view_t *dst, size_t *count);

/* The band from reference statistics (GRAY8): with e = (k_q8 * spread + 128) >> 8,
 * lo = max(0, mean - e), hi = min(255, mean + e). k_q8 is k in Q8 fixed point
 * (256 = 1.0), 0 .. 65535. */
int rv_band_from_stats(const rv_view_t *mean, const rv_view_t *spread, int k_q8,
                       const rv_view_t *lo, const rv_view_t *hi);

/* dst (GRAY8) = rust likelihood of src (RGB8), 0 .. 255; the integer definition is in
 * vision/src/simd/rv_kernels_point_scalar.c (hue 7.5 - 37.5 degrees, chroma >= 24,
 * R >= 48; min(255, 3 (R - B)) inside, 0 outside). */
int rv_rust(const rv_view_t *rgb, const rv_view_t *dst);

/* The detection front end in one pass over rgb: gray as rv_gray_from_rgb, rust as rv_rust,
 * *count = number of pixels with rust > thr. */
int rv_front(const rv_view_t *rgb, const rv_view_t *gray, const rv_view_t *rust, uint8_t thr,
             size_t *count);

/* hist[v] = number of pixels equal to v (GRAY8; hist is cleared first). */
int rv_histogram(const rv_view_t *src, uint32_t hist[256]);

/* Inclusive integral image of a GRAY8 view: out[y * out_stride + x] = sum of the pixels
 * (i, j) with i <= x, j <= y, modulo 2^32 (exact up to 16843009 pixels; rv_box_sum stays
 * exact for any box of up to that many pixels, whatever the image size).
 * out holds height rows of out_stride >= width elements. */
int rv_integral(const rv_view_t *src, uint32_t *out, size_t out_stride);

/* Sum of the pixels x0 <= x < x1, y0 <= y < y1 from an integral image of rv_integral
 * (0 for an empty box). The caller keeps 0 <= x0, x1 <= width, 0 <= y0, y1 <= height. */
static inline uint32_t rv_box_sum(const uint32_t *integral, size_t stride, int x0, int y0,
                                  int x1, int y1)
{
    if (x1 <= x0 || y1 <= y0)
        return 0;
    const uint32_t *bottom = integral + (size_t) (y1 - 1) * stride;
    const uint32_t *top = y0 > 0 ? integral + (size_t) (y0 - 1) * stride : NULL;
    uint32_t sum = bottom[x1 - 1];
    if (x0 > 0)
        sum -= bottom[x0 - 1];
    if (top) {
        sum -= top[x1 - 1];
        if (x0 > 0)
            sum += top[x0 - 1];
    }
    return sum; /* modular arithmetic: exact while the box sum fits 32 bits */
}

#ifdef __cplusplus
}
#endif
#endif
