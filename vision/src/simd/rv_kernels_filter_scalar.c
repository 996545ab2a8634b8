/* rv_kernels_filter_scalar.c - the neighbourhood kernels in plain C: the specification
 * every instruction set must match bit for bit (see rv_kernels_filter.h). Written for
 * clarity first; they are also the fallback on machines without a vector unit. */
#include "rv_kernels.h"

static void s_sobel_v(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2, int16_t *sum,
                      int16_t *diff, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sum[i] = (int16_t) (r0[i] + 2 * r1[i] + r2[i]);
        diff[i] = (int16_t) (r2[i] - r0[i]);
    }
}

static void s_sobel_h(const int16_t *sum, const int16_t *diff, uint8_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int gx = sum[i + 1] - sum[i - 1];
        int gy = diff[i - 1] + 2 * diff[i] + diff[i + 1];
        int mag = ((gx < 0 ? -gx : gx) + (gy < 0 ? -gy : gy)) >> 2;
        dst[i] = (uint8_t) (mag > 255 ? 255 : mag);
    }
}

static void s_gauss5_v(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2,
                       const uint8_t *r3, const uint8_t *r4, uint16_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (uint16_t) (r0[i] + 4 * r1[i] + 6 * r2[i] + 4 * r3[i] + r4[i]);
}

static void s_gauss5_h(const uint16_t *s, uint8_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t v = s[i - 2] + 4u * s[i - 1] + 6u * s[i] + 4u * s[i + 1] + s[i + 2];
        dst[i] = (uint8_t) ((v + 128) >> 8);
    }
}

static void s_box_v(uint16_t *acc, const uint8_t *add, const uint8_t *sub, size_t n)
{
    for (size_t i = 0; i < n; i++)
        acc[i] = (uint16_t) (acc[i] + add[i] - (sub ? sub[i] : 0));
}

/* Running sum along the row: one add and one subtract per pixel whatever k is. */
static void s_box_h(const uint16_t *src, uint8_t *dst, size_t n, int k, uint32_t *tmp)
{
    (void) tmp;
    if (n == 0)
        return;
    ptrdiff_t r = k / 2;
    uint32_t area = (uint32_t) k * (uint32_t) k, half = area / 2;
    uint32_t s = 0;
    for (ptrdiff_t j = -r; j <= r; j++)
        s += src[j];
    for (size_t i = 0;; i++) {
        dst[i] = (uint8_t) ((s + half) / area);
        if (i + 1 == n)
            break;
        s += src[(ptrdiff_t) i + r + 1];
        s -= src[(ptrdiff_t) i - r];
    }
}

/* van Herk / Gil-Werman. Number the padded row p[j] = src[j - k/2], j in [0, n + k - 1),
 * and cut it into blocks of k. The window p[i .. i+k-1] is the tail of i's block (suffix
 * extreme h[i]) plus the head of the next block up to i+k-1 (prefix extreme g[i+k-1]),
 * so dst[i] = op(h[i], g[i+k-1]): two running passes and one combine per pixel. h goes
 * to tmp; g is a running value. */
#define S_VAN_HERK(name, OP)                                                                 \
    static void name(const uint8_t *src, const uint8_t *other, uint8_t *dst, size_t n, int k, \
                     uint8_t *tmp)                                                           \
    {                                                                                        \
        if (n == 0)                                                                          \
            return;                                                                          \
        const uint8_t *p = src - k / 2;                                                      \
        size_t len = n + (size_t) k - 1, bk = (size_t) k;                                    \
        /* backward: suffix extremes, from the end of the block holding n-1 */               \
        size_t end = ((n - 1) / bk + 1) * bk;                                                \
        if (end > len)                                                                       \
            end = len;                                                                       \
        uint8_t run = 0;                                                                     \
        for (size_t j = end; j-- > 0;) {                                                     \
            run = (j == end - 1 || (j + 1) % bk == 0) ? p[j] : OP(run, p[j]);                \
            if (j < n)                                                                       \
                tmp[j] = run;                                                                \
        }                                                                                    \
        /* forward: prefix extremes, combined into the window that ends at j */              \
        for (size_t j = 0; j < len; j++) {                                                   \
            run = j % bk == 0 ? p[j] : OP(run, p[j]);                                        \
            if (j + 1 >= bk) {                                                               \
                size_t i = j + 1 - bk;                                                       \
                uint8_t v = OP(tmp[i], run);                                                 \
                dst[i] = other ? OP(v, other[i]) : v;                                        \
            }                                                                                \
        }                                                                                    \
    }

#define S_MAX(a, b) ((a) > (b) ? (a) : (b))
#define S_MIN(a, b) ((a) < (b) ? (a) : (b))
S_VAN_HERK(s_max_h, S_MAX)
S_VAN_HERK(s_min_h, S_MIN)

#define S_STAIR(name, OP)                                                                    \
    static void name(const uint8_t *const *rows, int nout, const int *b, int m,              \
                     uint8_t *const *dst, size_t n)                                          \
    {                                                                                        \
        int bm = b[m - 1];                                                                   \
        for (int q = 0; q < nout; q++) {                                                     \
            const uint8_t *const *c = rows + q + bm; /* the centre row */                    \
            for (size_t i = 0; i < n; i++) {                                                 \
                uint8_t v = c[0][i];                                                         \
                int d = 0;                                                                   \
                for (int j = 0; j < m; j++) {                                                \
                    for (; d < b[j]; d++)                                                    \
                        v = OP(v, OP(c[-d - 1][i], c[d + 1][i]));                            \
                    dst[q * m + j][i] = v;                                                   \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }

S_STAIR(s_max_stair, S_MAX)
S_STAIR(s_min_stair, S_MIN)

static void s_max_rows(const uint8_t *const *rows, int count, uint8_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t v = rows[0][i];
        for (int j = 1; j < count; j++)
            v = S_MAX(v, rows[j][i]);
        dst[i] = v;
    }
}

static void s_min_rows(const uint8_t *const *rows, int count, uint8_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t v = rows[0][i];
        for (int j = 1; j < count; j++)
            v = S_MIN(v, rows[j][i]);
        dst[i] = v;
    }
}

/* v is a difference, thr < 0 keeps it, else binarises it; returns the 255s written */
static size_t s_emit(uint8_t *dst, size_t i, int v, int thr)
{
    if (thr < 0) {
        dst[i] = (uint8_t) v;
        return 0;
    }
    dst[i] = v > thr ? 255 : 0;
    return v > thr;
}

static size_t s_min_rows_sub(const uint8_t *const *rows, int count, const uint8_t *ref,
                             uint8_t *dst, size_t n, int thr)
{
    size_t hits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = rows[0][i];
        for (int j = 1; j < count; j++)
            v = S_MIN(v, rows[j][i]);
        v -= ref[i];
        hits += s_emit(dst, i, v < 0 ? 0 : v, thr);
    }
    return hits;
}

static size_t s_max_rows_rsub(const uint8_t *const *rows, int count, const uint8_t *ref,
                              uint8_t *dst, size_t n, int thr)
{
    size_t hits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = rows[0][i];
        for (int j = 1; j < count; j++)
            v = S_MAX(v, rows[j][i]);
        v = ref[i] - v;
        hits += s_emit(dst, i, v < 0 ? 0 : v, thr);
    }
    return hits;
}

static void s_warp_rgb(const uint8_t *src, ptrdiff_t stride, int sw, int sh, const int32_t *ax,
                       const int32_t *ay, int32_t x0, int32_t y0, uint8_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int32_t X = x0 + ax[i], Y = y0 + ay[i];
        int32_t ix = X >> 10, iy = Y >> 10;
        if (ix < 0 || iy < 0 || ix >= sw - 1 || iy >= sh - 1) { /* a corner may be outside */
            rv__warp_rgb_px(src, stride, sw, sh, X, Y, dst + 3 * i);
            continue;
        }
        /* all four inside: the same sums without the checks */
        uint32_t fx = (uint32_t) ((X >> 5) & 31), fy = (uint32_t) ((Y >> 5) & 31);
        uint32_t w00 = (32 - fx) * (32 - fy), w01 = fx * (32 - fy), w10 = (32 - fx) * fy,
                 w11 = fx * fy;
        const uint8_t *p = src + (ptrdiff_t) iy * stride + (ptrdiff_t) ix * 3, *q = p + stride;
        for (int c = 0; c < 3; c++)
            dst[3 * i + (size_t) c] =
                (uint8_t) ((512 + w00 * p[c] + w01 * p[3 + c] + w10 * q[c] + w11 * q[3 + c]) >> 10);
    }
}

static void s_bilinear_at(const uint8_t *v, ptrdiff_t stride, int vw, int vh, const float *ux,
                          const float *uy, const double w[8], double *val, size_t n)
{
    for (size_t i = 0; i < n; i++)
        val[i] = rv__bilinear_at_px(v, stride, vw, vh, ux[i], uy[i], w);
}

void rv__filter_fill_scalar(rv_filter_kernels_t *k)
{
    k->sobel_v = s_sobel_v;
    k->sobel_h = s_sobel_h;
    k->gauss5_v = s_gauss5_v;
    k->gauss5_h = s_gauss5_h;
    k->box_v = s_box_v;
    k->box_h = s_box_h;
    k->max_h = s_max_h;
    k->min_h = s_min_h;
    k->max_stair = s_max_stair;
    k->min_stair = s_min_stair;
    k->max_rows = s_max_rows;
    k->min_rows = s_min_rows;
    k->min_rows_sub = s_min_rows_sub;
    k->max_rows_rsub = s_max_rows_rsub;
    k->warp_rgb = s_warp_rgb;
    k->bilinear_at = s_bilinear_at;
}
