/* rv_kernels_filter.h - neighbourhood row kernels (blur, gradient, morphology).
 * "padded by r" means the kernel may read src[-r .. n-1+r]; the image-level wrapper
 * (rv_filter.c) provides those bytes (border handling is the wrapper's job). */
#ifndef RV_KERNELS_FILTER_H
#define RV_KERNELS_FILTER_H

#include <stddef.h>
#include <stdint.h>

typedef struct rv_filter_kernels {
    /* Sobel gradient magnitude; r0, r1, r2 are rows y-1, y, y+1, each padded by 1.
     * gx = (r0[i+1] + 2 r1[i+1] + r2[i+1]) - (r0[i-1] + 2 r1[i-1] + r2[i-1]),
     * gy = (r2[i-1] + 2 r2[i] + r2[i+1]) - (r0[i-1] + 2 r0[i] + r0[i+1]),
     * dst[i] = min(255, (|gx| + |gy|) >> 2)   (a step of height d reads about d). */
    void (*sobel_mag)(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2, uint8_t *dst,
                      size_t n);

    /* Gaussian 5 (binomial 1 4 6 4 1): horizontal pass, src padded by 2:
     * dst[i] = s[i-2] + 4 s[i-1] + 6 s[i] + 4 s[i+1] + s[i+2]  (<= 4080) */
    void (*gauss5_h)(const uint8_t *src, uint16_t *dst, size_t n);
    /* vertical pass over five horizontal results: dst = (r0 + 4 r1 + 6 r2 + 4 r3 + r4 + 128) >> 8 */
    void (*gauss5_v)(const uint16_t *r0, const uint16_t *r1, const uint16_t *r2,
                     const uint16_t *r3, const uint16_t *r4, uint8_t *dst, size_t n);

    /* Box filter, k odd, 1 <= k <= 255: horizontal sums, src padded by k/2:
     * dst[i] = src[i-k/2] + ... + src[i+k/2] */
    void (*box_h)(const uint8_t *src, uint16_t *dst, size_t n, int k);
    /* running vertical sums: acc[i] += add[i] - (sub ? sub[i] : 0) */
    void (*acc_update)(uint32_t *acc, const uint16_t *add, const uint16_t *sub, size_t n);
    /* mean with rounding: dst[i] = (acc[i] * mul + (1 << 21)) >> 22,
     * mul = (2^22 + k*k/2) / (k*k), acc[i] <= 255 * k * k */
    void (*box_out)(const uint32_t *acc, uint8_t *dst, size_t n, uint32_t mul);

    /* Running max / min over a horizontal window of odd length k, src padded by k/2:
     * dst[i] = max (min) of src[i-k/2 .. i+k/2]. Cost must not grow with k for large k
     * (van Herk / Gil-Werman). */
    void (*max_h)(const uint8_t *src, uint8_t *dst, size_t n, int k);
    void (*min_h)(const uint8_t *src, uint8_t *dst, size_t n, int k);
} rv_filter_kernels_t;

#endif
