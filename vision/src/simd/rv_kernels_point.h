/* rv_kernels_point.h - pointwise row kernels: one output pixel from the same pixel of
 * the inputs. Semantics are given exactly; every instruction set must match them
 * bit for bit.
 *
 * A kernel reads only in[0 .. n-1] (rgb[0 .. 3n-1]) and writes only dst[0 .. n-1]; n may
 * be 0. (Prefetch hints may point further ahead: they never fault and read nothing.) An output may be the very same buffer as an input of the same pixel format
 * (in-place), but must not otherwise overlap one. */
#ifndef RV_KERNELS_POINT_H
#define RV_KERNELS_POINT_H

#include <stddef.h>
#include <stdint.h>

typedef struct rv_point_kernels {
    /* gray[i] = (4899 R + 9617 G + 1868 B + 8192) >> 14, rgb = R G B R G B ...
     * (the BT.601 weights in 14-bit fixed point, as OpenCV's cvtColor uses). */
    void (*gray_from_rgb)(const uint8_t *rgb, uint8_t *gray, size_t n);

    /* dst[i] = |a[i] - b[i]| */
    void (*absdiff)(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n);
    /* dst[i] = max(a[i], b[i]) / min(a[i], b[i]) / max(a[i] - b[i], 0) */
    void (*max)(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n);
    void (*min)(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n);
    void (*sub_sat)(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n);

    /* dst[i] = src[i] > thr ? 255 : 0; returns the number of 255s written. */
    size_t (*threshold)(const uint8_t *src, uint8_t *dst, size_t n, uint8_t thr);

    /* Per-pixel band (learned reference): dst[i] = (src[i] < lo[i] || src[i] > hi[i]) ?
     * 255 : 0; returns the number of 255s written. */
    size_t (*band)(const uint8_t *src, const uint8_t *lo, const uint8_t *hi, uint8_t *dst,
                   size_t n);

    /* Rust likelihood from RGB, integer only (see rv_kernels_point_scalar.c for the
     * definition, which is the specification). 0 = not rust-coloured, 255 = strongly. */
    void (*rust)(const uint8_t *rgb, uint8_t *dst, size_t n);

    /* Fused detection front end, one pass over RGB: gray as gray_from_rgb, rust as rust;
     * returns the number of pixels with rust > thr. */
    size_t (*front)(const uint8_t *rgb, uint8_t *gray, uint8_t *rust, size_t n, uint8_t thr);

    /* dst[i] = table[src[i]] (a 256-entry lookup table). */
    void (*lut)(const uint8_t *src, uint8_t *dst, size_t n, const uint8_t table[256]);

    /* hist[v] += number of i with src[i] == v. */
    void (*hist)(const uint8_t *src, size_t n, uint32_t hist[256]);

    /* One row of an integral image: dst[i] = above[i] + src[0] + ... + src[i], modulo 2^32
     * (above may equal dst for in-place use; pass a zero row for the first row). */
    void (*integral_row)(const uint8_t *src, const uint32_t *above, uint32_t *dst, size_t n);
} rv_point_kernels_t;

/* The scalar kernels (the specification, rv_kernels_point_scalar.c), exported so the
 * vector files can finish the tail of a row with them. */
void rv__gray_from_rgb_scalar(const uint8_t *rgb, uint8_t *gray, size_t n);
void rv__absdiff_scalar(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n);
void rv__max_scalar(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n);
void rv__min_scalar(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n);
void rv__sub_sat_scalar(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n);
size_t rv__threshold_scalar(const uint8_t *src, uint8_t *dst, size_t n, uint8_t thr);
size_t rv__band_scalar(const uint8_t *src, const uint8_t *lo, const uint8_t *hi, uint8_t *dst,
                       size_t n);
void rv__rust_scalar(const uint8_t *rgb, uint8_t *dst, size_t n);
size_t rv__front_scalar(const uint8_t *rgb, uint8_t *gray, uint8_t *rust, size_t n,
                        uint8_t thr);
void rv__lut_scalar(const uint8_t *src, uint8_t *dst, size_t n, const uint8_t table[256]);
void rv__hist_scalar(const uint8_t *src, size_t n, uint32_t hist[256]);
void rv__integral_row_scalar(const uint8_t *src, const uint32_t *above, uint32_t *dst,
                             size_t n);

#endif
