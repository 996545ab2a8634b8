/* rv_kernels_filter.h - neighbourhood row kernels (blur, gradient, morphology).
 *
 * Semantics are exact: every instruction set must match the scalar kernels
 * (rv_kernels_filter_scalar.c, the specification) bit for bit, for every input that meets
 * the stated preconditions.
 *
 * "padded by r" means the kernel may read src[-r .. n-1+r]; the image-level wrapper
 * (rv_filter.c) provides those elements (border handling is the wrapper's job). Apart from
 * that, no kernel reads outside its inputs' [0, n) nor writes outside dst[0, n). n may be 0.
 * Blurs and the gradient are separable and run vertical pass first: the vertical kernel
 * turns a few image rows into one row of 16-bit column sums, the wrapper reflects that row's
 * ends (BORDER_REFLECT_101) and the horizontal kernel finishes the output row. */
#ifndef RV_KERNELS_FILTER_H
#define RV_KERNELS_FILTER_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rv_filter_kernels {
    /* Sobel gradient magnitude, vertical pass over rows y-1, y, y+1:
     *   sum[i] = r0[i] + 2 r1[i] + r2[i]   (0 .. 1020)
     *   diff[i] = r2[i] - r0[i]            (-255 .. 255) */
    void (*sobel_v)(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2, int16_t *sum,
                    int16_t *diff, size_t n);
    /* horizontal pass, sum and diff padded by 1 and within the ranges above:
     *   gx = sum[i+1] - sum[i-1],  gy = diff[i-1] + 2 diff[i] + diff[i+1],
     *   dst[i] = min(255, (|gx| + |gy|) >> 2)   (a step of height d reads d) */
    void (*sobel_h)(const int16_t *sum, const int16_t *diff, uint8_t *dst, size_t n);

    /* Gaussian 5x5, binomial 1 4 6 4 1 in both directions (OpenCV's 5x5 kernel for
     * sigma 0). Vertical pass over rows y-2 .. y+2:
     *   dst[i] = r0[i] + 4 r1[i] + 6 r2[i] + 4 r3[i] + r4[i]   (0 .. 4080) */
    void (*gauss5_v)(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2,
                     const uint8_t *r3, const uint8_t *r4, uint16_t *dst, size_t n);
    /* horizontal pass, src padded by 2, src[i] <= 4080:
     *   dst[i] = (s[i-2] + 4 s[i-1] + 6 s[i] + 4 s[i+1] + s[i+2] + 128) >> 8
     * (the 5x5 weights sum to 256: this rounds the weighted mean half up). */
    void (*gauss5_h)(const uint16_t *src, uint8_t *dst, size_t n);

    /* Box filter of odd size k (1 <= k <= 255). Running vertical sums of k rows:
     *   acc[i] = (acc[i] + add[i] - (sub ? sub[i] : 0)) mod 2^16
     * (exact while the true sum fits 16 bits, as 255 k does). */
    void (*box_v)(uint16_t *acc, const uint8_t *add, const uint8_t *sub, size_t n);
    /* horizontal pass, src padded by k/2, src[i] <= 255 k (k rows of 8-bit pixels):
     *   s = src[i-k/2] + ... + src[i+k/2]   (exact, <= 255 k^2),
     *   dst[i] = (s + k*k/2) / (k*k)        (integer division: the mean rounded half up).
     * tmp: scratch of at least n + k + 64 uint32_t (4-byte aligned) an implementation may
     * use. */
    void (*box_h)(const uint16_t *src, uint8_t *dst, size_t n, int k, uint32_t *tmp);

    /* Running maximum / minimum over a horizontal window of odd size k >= 1, src padded by
     * k/2, optionally combined with another row:
     *   w = max (min) of src[i-k/2 .. i+k/2],  dst[i] = other ? max (min)(w, other[i]) : w.
     * dst may equal other (in place); neither may overlap src. tmp: scratch of at least
     * n + k + 64 bytes. Cost per pixel does not grow with k beyond a logarithm: the scalar
     * kernel is van Herk / Gil-Werman (3 comparisons per pixel for any k); the vector
     * kernels use a direct window for k <= 3 and log-doubling above (P_2L[i] =
     * max(P_L[i], P_L[i+L]): one vector op per 16-64 pixels per level), which beats a
     * vectorised van Herk below k ~ 1000. */
    void (*max_h)(const uint8_t *src, const uint8_t *other, uint8_t *dst, size_t n, int k,
                  uint8_t *tmp);
    void (*min_h)(const uint8_t *src, const uint8_t *other, uint8_t *dst, size_t n, int k,
                  uint8_t *tmp);

    /* Vertical staircase: the column extremes of nested row windows, for nout consecutive
     * output rows at once. rows[0 .. nout + 2B - 1] are consecutive input rows,
     * B = b[m-1], 0 <= b[0] < b[1] < ... < b[m-1]; output row q (< nout) is centred on
     * rows[q + B]:
     *   dst[q*m + j][i] = max (min) of rows[q + B - b[j] .. q + B + b[j]][i],  j < m.
     * Consecutive outputs share input rows: per block of columns an implementation
     * fetches each input line once for the whole group (the re-reads hit L1).
     * dst rows must not overlap the input rows or each other. */
    void (*max_stair)(const uint8_t *const *rows, int nout, const int *b, int m,
                      uint8_t *const *dst, size_t n);
    void (*min_stair)(const uint8_t *const *rows, int nout, const int *b, int m,
                      uint8_t *const *dst, size_t n);

    /* Element-wise maximum / minimum of count >= 1 rows: dst[i] = max_j rows[j][i].
     * dst may be one of the rows (in place); it must not otherwise overlap them. */
    void (*max_rows)(const uint8_t *const *rows, int count, uint8_t *dst, size_t n);
    void (*min_rows)(const uint8_t *const *rows, int count, uint8_t *dst, size_t n);

    /* Fused last step of black-hat / top-hat (rows are the last vertical window of a
     * closing / opening, ref the source row):
     *   min_rows_sub:  v = max(0, min_j rows[j][i] - ref[i])    (closing - src)
     *   max_rows_rsub: v = max(0, ref[i] - max_j rows[j][i])    (src - opening)
     * thr < 0: dst[i] = v, returns 0. 0 <= thr <= 255: dst[i] = v > thr ? 255 : 0 and
     * returns the number of 255s written. dst must not overlap the inputs. */
    size_t (*min_rows_sub)(const uint8_t *const *rows, int count, const uint8_t *ref,
                           uint8_t *dst, size_t n, int thr);
    size_t (*max_rows_rsub)(const uint8_t *const *rows, int count, const uint8_t *ref,
                            uint8_t *dst, size_t n, int thr);
    /* Bilinear resampling of an RGB8 image (src: pixel (0, 0); stride bytes per row; sw x
     * sh pixels) along one row: destination pixel i (dst[3i .. 3i+2]) samples the source
     * at (x0 + ax[i], y0 + ay[i]) in 1/1024 px (OpenCV's warpAffine: x0, y0 the row's start
     * rounded, plus half a 1/32 px; ax, ay the column's offsets rounded), as rv__warp_rgb_px
     * gives it. Every x0 + ax[i], y0 + ay[i] must fit 32 bits. Reads only src pixels inside
     * sw x sh. */
    void (*warp_rgb)(const uint8_t *src, ptrdiff_t stride, int sw, int sh, const int32_t *ax,
                     const int32_t *ay, int32_t x0, int32_t y0, uint8_t *dst, size_t n);
    /* Bilinear values of a GRAY8 image (v: pixel (0, 0); stride bytes per row; vw x vh) at
     * n positions x_i = ((w0 ux_i + w1 uy_i) + w2) + w6, y_i = ((w3 ux_i + w4 uy_i) + w5)
     * + w7, in doubles in that order: val[i] = rv__bilinear_px there, NaN where it lies
     * outside [0, vw - 1] x [0, vh - 1]. Reads only pixels inside vw x vh. */
    void (*bilinear_at)(const uint8_t *v, ptrdiff_t stride, int vw, int vh, const float *ux,
                        const float *uy, const double w[8], double *val, size_t n);
} rv_filter_kernels_t;

/* Bilinear value of a GRAY8 image at (x, y) (pixel centres at integers), NaN outside
 * [0, w - 1] x [0, h - 1]: x0 = (int) x, x1 = min(x0 + 1, w - 1), fx = x - x0 (likewise y),
 * a = v(x0, y0) + fx (v(x1, y0) - v(x0, y0)), b the same on row y1, the value a + fy (b - a),
 * in doubles in that order (the differences of pixels in int). */
static inline double rv__bilinear_px(const uint8_t *v, ptrdiff_t stride, int w, int h,
                                     double x, double y)
{
    if (!(x >= 0 && y >= 0 && x <= w - 1 && y <= h - 1))
        return (double) NAN;
    int x0 = (int) x, y0 = (int) y;
    int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
    double fx = x - x0, fy = y - y0;
    const uint8_t *r0 = v + (ptrdiff_t) y0 * stride, *r1 = v + (ptrdiff_t) y1 * stride;
    double a = r0[x0] + fx * (r0[x1] - r0[x0]), b = r1[x0] + fx * (r1[x1] - r1[x0]);
    return a + fy * (b - a);
}

/* One value of bilinear_at: band position (ux, uy) through w. */
static inline double rv__bilinear_at_px(const uint8_t *v, ptrdiff_t stride, int vw, int vh,
                                        double ux, double uy, const double w[8])
{
    return rv__bilinear_px(v, stride, vw, vh, w[0] * ux + w[1] * uy + w[2] + w[6],
                           w[3] * ux + w[4] * uy + w[5] + w[7]);
}

/* One pixel of warp_rgb at the source position (X, Y) in 1/1024 px: the corner
 * ix = X >> 10, iy = Y >> 10 (floor), the fractions in 1/32 px, fx = (X >> 5) & 31, fy
 * likewise; each channel (sum over the 2 x 2 pixels from (ix, iy) of w v + 512) >> 10 with
 * w = (32 - fx)(32 - fy), fx (32 - fy), (32 - fx) fy, fx fy (the weights sum to 1024), a
 * pixel outside the source counting 0: OpenCV 4's warpAffine INTER_LINEAR with a constant
 * 0 border (its 1/32 px weight table, scaled by 32, is exactly these weights). */
static inline void rv__warp_rgb_px(const uint8_t *src, ptrdiff_t stride, int sw, int sh,
                                   int32_t X, int32_t Y, uint8_t *d)
{
    int32_t ix = X >> 10, iy = Y >> 10; /* arithmetic shifts: floor */
    int fx = (X >> 5) & 31, fy = (Y >> 5) & 31;
    const int w[4] = {(32 - fx) * (32 - fy), fx * (32 - fy), (32 - fx) * fy, fx * fy};
    uint32_t acc[3] = {512, 512, 512};
    for (int k = 0; k < 4; k++) {
        int32_t x = ix + (k & 1), y = iy + (k >> 1);
        if (x < 0 || y < 0 || x >= sw || y >= sh)
            continue;
        const uint8_t *p = src + (ptrdiff_t) y * stride + (ptrdiff_t) x * 3;
        for (int c = 0; c < 3; c++)
            acc[c] += (uint32_t) w[k] * p[c];
    }
    for (int c = 0; c < 3; c++)
        d[c] = (uint8_t) (acc[c] >> 10);
}

/* One output element of the kernels above, for the scalar tails of the vector kernels
 * (the same formulas; the scalar kernels spell them out in loops). p points at element i. */
static inline uint8_t rv__sobel_px(const int16_t *sum, const int16_t *diff)
{
    int gx = sum[1] - sum[-1], gy = diff[-1] + 2 * diff[0] + diff[1];
    int mag = ((gx < 0 ? -gx : gx) + (gy < 0 ? -gy : gy)) >> 2;
    return (uint8_t) (mag > 255 ? 255 : mag);
}

static inline uint8_t rv__gauss5_px(const uint16_t *s)
{
    return (uint8_t) ((s[-2] + 4u * s[-1] + 6u * s[0] + 4u * s[1] + s[2] + 128) >> 8);
}

static inline uint8_t rv__box_px(const uint16_t *s, int k)
{
    uint32_t sum = 0, area = (uint32_t) k * (uint32_t) k;
    for (int j = -k / 2; j <= k / 2; j++)
        sum += s[j];
    return (uint8_t) ((sum + area / 2) / area);
}

/* max / min of the k elements p[0 .. k-1] */
static inline uint8_t rv__max_px(const uint8_t *p, int k)
{
    uint8_t v = p[0];
    for (int j = 1; j < k; j++)
        v = p[j] > v ? p[j] : v;
    return v;
}

static inline uint8_t rv__min_px(const uint8_t *p, int k)
{
    uint8_t v = p[0];
    for (int j = 1; j < k; j++)
        v = p[j] < v ? p[j] : v;
    return v;
}

#endif
