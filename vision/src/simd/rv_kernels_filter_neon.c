/* rv_kernels_filter_neon.c - neighbourhood kernels, aarch64 Advanced SIMD: 16 pixels per
 * vector (8 in 16-bit lanes); the last partial vector runs the one-pixel helpers of
 * rv_kernels_filter.h. */
#include "rv_kernels.h"

#include <arm_neon.h>
#include <string.h>

/* ---- Sobel ---- */

static void s_sobel_v(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2, int16_t *sum,
                      int16_t *diff, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        uint8x16_t a = vld1q_u8(r0 + i), b = vld1q_u8(r1 + i), c = vld1q_u8(r2 + i);
        uint16x8_t slo = vaddq_u16(vaddl_u8(vget_low_u8(a), vget_low_u8(c)),
                                   vshll_n_u8(vget_low_u8(b), 1));
        uint16x8_t shi = vaddq_u16(vaddl_high_u8(a, c), vshll_high_n_u8(b, 1));
        vst1q_s16(sum + i, vreinterpretq_s16_u16(slo));
        vst1q_s16(sum + i + 8, vreinterpretq_s16_u16(shi));
        /* modulo 2^16 the difference is the signed result */
        vst1q_s16(diff + i, vreinterpretq_s16_u16(vsubl_u8(vget_low_u8(c), vget_low_u8(a))));
        vst1q_s16(diff + i + 8, vreinterpretq_s16_u16(vsubl_high_u8(c, a)));
    }
    for (; i < n; i++) {
        sum[i] = (int16_t) (r0[i] + 2 * r1[i] + r2[i]);
        diff[i] = (int16_t) (r2[i] - r0[i]);
    }
}

static inline uint8x8_t s_sobel8(const int16_t *sum, const int16_t *diff)
{
    int16x8_t gx = vsubq_s16(vld1q_s16(sum + 1), vld1q_s16(sum - 1));
    int16x8_t d0 = vld1q_s16(diff);
    int16x8_t gy = vaddq_s16(vaddq_s16(vld1q_s16(diff - 1), vld1q_s16(diff + 1)),
                             vaddq_s16(d0, d0));
    uint16x8_t mag = vreinterpretq_u16_s16(vaddq_s16(vabsq_s16(gx), vabsq_s16(gy)));
    return vqmovn_u16(vshrq_n_u16(mag, 2)); /* saturates at 255 */
}

static void s_sobel_h(const int16_t *sum, const int16_t *diff, uint8_t *dst, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        vst1q_u8(dst + i, vcombine_u8(s_sobel8(sum + i, diff + i),
                                      s_sobel8(sum + i + 8, diff + i + 8)));
    for (; i < n; i++)
        dst[i] = rv__sobel_px(sum + i, diff + i);
}

/* ---- Gaussian 5 ---- */

static void s_gauss5_v(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2,
                       const uint8_t *r3, const uint8_t *r4, uint16_t *dst, size_t n)
{
    const uint8x8_t four = vdup_n_u8(4), six = vdup_n_u8(6);
    const uint8x16_t four16 = vdupq_n_u8(4), six16 = vdupq_n_u8(6);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        uint8x16_t a = vld1q_u8(r0 + i), b = vld1q_u8(r1 + i), c = vld1q_u8(r2 + i);
        uint8x16_t d = vld1q_u8(r3 + i), e = vld1q_u8(r4 + i);
        uint16x8_t lo = vaddl_u8(vget_low_u8(a), vget_low_u8(e));
        lo = vmlal_u8(lo, vget_low_u8(b), four);
        lo = vmlal_u8(lo, vget_low_u8(d), four);
        lo = vmlal_u8(lo, vget_low_u8(c), six);
        uint16x8_t hi = vaddl_high_u8(a, e);
        hi = vmlal_high_u8(hi, b, four16);
        hi = vmlal_high_u8(hi, d, four16);
        hi = vmlal_high_u8(hi, c, six16);
        vst1q_u16(dst + i, lo);
        vst1q_u16(dst + i + 8, hi);
    }
    for (; i < n; i++)
        dst[i] = (uint16_t) (r0[i] + 4 * r1[i] + 6 * r2[i] + 4 * r3[i] + r4[i]);
}

static inline uint8x8_t s_gauss8(const uint16_t *s)
{
    uint16x8_t v = vaddq_u16(vld1q_u16(s - 2), vld1q_u16(s + 2));
    v = vaddq_u16(v, vshlq_n_u16(vaddq_u16(vld1q_u16(s - 1), vld1q_u16(s + 1)), 2));
    v = vmlaq_n_u16(v, vld1q_u16(s), 6); /* <= 65280 */
    return vrshrn_n_u16(v, 8);           /* (v + 128) >> 8 */
}

static void s_gauss5_h(const uint16_t *src, uint8_t *dst, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        vst1q_u8(dst + i, vcombine_u8(s_gauss8(src + i), s_gauss8(src + i + 8)));
    for (; i < n; i++)
        dst[i] = rv__gauss5_px(src + i);
}

/* ---- box ---- */

static void s_box_v(uint16_t *acc, const uint8_t *add, const uint8_t *sub, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        uint8x16_t a = vld1q_u8(add + i);
        uint16x8_t lo = vaddw_u8(vld1q_u16(acc + i), vget_low_u8(a));
        uint16x8_t hi = vaddw_high_u8(vld1q_u16(acc + i + 8), a);
        if (sub) {
            uint8x16_t s = vld1q_u8(sub + i);
            lo = vsubw_u8(lo, vget_low_u8(s));
            hi = vsubw_high_u8(hi, s);
        }
        vst1q_u16(acc + i, lo);
        vst1q_u16(acc + i + 8, hi);
    }
    for (; i < n; i++)
        acc[i] = (uint16_t) (acc[i] + add[i] - (sub ? sub[i] : 0));
}

/* k <= 15: 16-bit sums, exact division by k*k with a 17-bit magic (see the avx512 file) */
static void s_box_h16(const uint16_t *src, uint8_t *dst, size_t n, int k)
{
    unsigned d = (unsigned) (k * k), l = 0;
    while ((1u << l) < d)
        l++;
    const int small = k <= 11; /* 16-bit magic, see the avx512 file */
    const uint16_t mp = (uint16_t) (small ? ((1u << (15 + l)) + d - 1) / d
                                          : (65536u * ((1u << l) - d)) / d + 1);
    const uint16x8_t half = vdupq_n_u16((uint16_t) (d / 2));
    const int16x8_t sh = vdupq_n_s16((int16_t) -(l > 0 ? (int) l - 1 : 0));
    int r = k / 2;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        uint8x8_t q[2];
        for (int hlf = 0; hlf < 2; hlf++) {
            const uint16_t *p = src + i + 8 * hlf - r;
            uint16x8_t x = vld1q_u16(p);
            for (int j = 1; j < k; j++)
                x = vaddq_u16(x, vld1q_u16(p + j));
            if (d == 1) {
                q[hlf] = vmovn_u16(x);
                continue;
            }
            x = vaddq_u16(x, half);
            uint16x8_t t = vcombine_u16(vshrn_n_u32(vmull_n_u16(vget_low_u16(x), mp), 16),
                                        vshrn_n_u32(vmull_high_n_u16(x, mp), 16));
            if (small) {
                q[hlf] = vmovn_u16(vshlq_u16(t, sh));
                continue;
            }
            uint16x8_t u = vaddq_u16(t, vshrq_n_u16(vsubq_u16(x, t), 1));
            q[hlf] = vmovn_u16(vshlq_u16(u, sh));
        }
        vst1q_u8(dst + i, vcombine_u8(q[0], q[1]));
    }
    for (; i < n; i++)
        dst[i] = rv__box_px(src + i, k);
}

/* k > 15: 32-bit prefix sums and an exact float division (see the avx512 file) */
static void s_box_h32(const uint16_t *src, uint8_t *dst, size_t n, int k, uint32_t *tmp)
{
    const uint16_t *p = src - k / 2;
    const uint32x4_t z = vdupq_n_u32(0);
    size_t len = n + (size_t) k - 1, j = 0;
    uint32x4_t carry = z;
    tmp[0] = 0;
    for (; j + 4 <= len; j += 4) {
        uint32x4_t x = vmovl_u16(vld1_u16(p + j));
        x = vaddq_u32(x, vextq_u32(z, x, 3)); /* x[i] += x[i-1] */
        x = vaddq_u32(x, vextq_u32(z, x, 2)); /* x[i] += x[i-2] */
        x = vaddq_u32(x, carry);
        carry = vdupq_laneq_u32(x, 3);
        vst1q_u32(tmp + 1 + j, x);
    }
    uint32_t run = tmp[j];
    for (; j < len; j++)
        tmp[1 + j] = run += p[j];

    const float dd = (float) (k * k);
    const float32x4_t df = vdupq_n_f32(dd), inv = vdupq_n_f32(1.0f / dd), fz = vdupq_n_f32(0);
    const uint32x4_t half = vdupq_n_u32((uint32_t) (k * k / 2));
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32x4_t x = vaddq_u32(vsubq_u32(vld1q_u32(tmp + i + k), vld1q_u32(tmp + i)), half);
        float32x4_t xf = vcvtq_f32_u32(x);
        uint32x4_t q = vcvtq_u32_f32(vmulq_f32(xf, inv)); /* truncates */
        float32x4_t rf = vsubq_f32(xf, vmulq_f32(vcvtq_f32_u32(q), df));
        q = vsubq_u32(q, vcgeq_f32(rf, df)); /* masks are all ones: minus one adds one */
        q = vaddq_u32(q, vcltq_f32(rf, fz));
        uint8x8_t b = vmovn_u16(vcombine_u16(vmovn_u32(q), vdup_n_u16(0)));
        uint32_t four = vget_lane_u32(vreinterpret_u32_u8(b), 0);
        memcpy(dst + i, &four, 4);
    }
    for (; i < n; i++) {
        uint32_t area = (uint32_t) (k * k);
        dst[i] = (uint8_t) ((tmp[i + k] - tmp[i] + area / 2) / area);
    }
}

static void s_box_h(const uint16_t *src, uint8_t *dst, size_t n, int k, uint32_t *tmp)
{
    if (k <= 15)
        s_box_h16(src, dst, n, k);
    else
        s_box_h32(src, dst, n, k, tmp);
}

/* ---- morphology ---- */

#define S_MORPH(OPN, VOP, PX)                                                                \
    static void s_##OPN##_h(const uint8_t *src, const uint8_t *other, uint8_t *dst, size_t n, \
                            int k, uint8_t *tmp)                                             \
    {                                                                                        \
        const uint8_t *p = src - k / 2;                                                      \
        size_t i = 0;                                                                        \
        if (k <= 3) {                                                                        \
            for (; i + 16 <= n; i += 16) {                                                   \
                uint8x16_t v = vld1q_u8(p + i);                                              \
                if (k == 3)                                                                  \
                    v = VOP(VOP(v, vld1q_u8(p + i + 1)), vld1q_u8(p + i + 2));               \
                if (other)                                                                   \
                    v = VOP(v, vld1q_u8(other + i));                                         \
                vst1q_u8(dst + i, v);                                                        \
            }                                                                                \
            for (; i < n; i++) {                                                             \
                uint8_t two[2] = {PX(p + i, k), other ? other[i] : p[i + k / 2]};            \
                dst[i] = PX(two, 2);                                                         \
            }                                                                                \
            return;                                                                          \
        }                                                                                    \
        /* log-doubling in tmp, as in the avx512 file */                                     \
        size_t len = n + (size_t) k - 1, L = 2, cnt = len - 1, j = 0;                        \
        for (; j + 16 <= cnt; j += 16)                                                       \
            vst1q_u8(tmp + j, VOP(vld1q_u8(p + j), vld1q_u8(p + j + 1)));                    \
        for (; j < cnt; j++)                                                                 \
            tmp[j] = PX(p + j, 2);                                                           \
        for (; 2 * L <= (size_t) k; L *= 2) {                                                \
            cnt = len - 2 * L + 1;                                                           \
            for (j = 0; j + 16 <= cnt; j += 16)                                              \
                vst1q_u8(tmp + j, VOP(vld1q_u8(tmp + j), vld1q_u8(tmp + j + L)));            \
            for (; j < cnt; j++) {                                                           \
                uint8_t two[2] = {tmp[j], tmp[j + L]};                                       \
                tmp[j] = PX(two, 2);                                                         \
            }                                                                                \
        }                                                                                    \
        size_t off = (size_t) k - L;                                                         \
        for (; i + 16 <= n; i += 16) {                                                       \
            uint8x16_t v = VOP(vld1q_u8(tmp + i), vld1q_u8(tmp + i + off));                  \
            if (other)                                                                       \
                v = VOP(v, vld1q_u8(other + i));                                             \
            vst1q_u8(dst + i, v);                                                            \
        }                                                                                    \
        for (; i < n; i++) {                                                                 \
            uint8_t three[3] = {tmp[i], tmp[i + off], other ? other[i] : tmp[i]};            \
            dst[i] = PX(three, 3);                                                           \
        }                                                                                    \
    }                                                                                        \
                                                                                             \
    static void s_##OPN##_stair(const uint8_t *const *rows, int nout, const int *b, int m,   \
                                uint8_t *const *dst, size_t n)                               \
    {                                                                                        \
        int bm = b[m - 1];                                                                   \
        size_t i = 0;                                                                        \
        for (; i + 32 <= n; i += 32) {                                                       \
            for (int q = 0; q < nout; q++) {                                                 \
                const uint8_t *const *c = rows + q + bm;                                     \
                uint8x16_t v0 = vld1q_u8(c[0] + i), v1 = vld1q_u8(c[0] + i + 16);            \
                int d = 0;                                                                   \
                for (int j = 0; j < m; j++) {                                                \
                    for (; d < b[j]; d++) {                                                  \
                        const uint8_t *up = c[-d - 1] + i, *dn = c[d + 1] + i;               \
                        v0 = VOP(v0, VOP(vld1q_u8(up), vld1q_u8(dn)));                       \
                        v1 = VOP(v1, VOP(vld1q_u8(up + 16), vld1q_u8(dn + 16)));             \
                    }                                                                        \
                    vst1q_u8(dst[q * m + j] + i, v0);                                        \
                    vst1q_u8(dst[q * m + j] + i + 16, v1);                                   \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
        for (; i < n; i++) {                                                                 \
            for (int q = 0; q < nout; q++) {                                                 \
                const uint8_t *const *c = rows + q + bm;                                     \
                uint8_t v = c[0][i];                                                         \
                int d = 0;                                                                   \
                for (int j = 0; j < m; j++) {                                                \
                    for (; d < b[j]; d++) {                                                  \
                        uint8_t three[3] = {v, c[-d - 1][i], c[d + 1][i]};                   \
                        v = PX(three, 3);                                                    \
                    }                                                                        \
                    dst[q * m + j][i] = v;                                                   \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
                                                                                             \
    static void s_##OPN##_rows(const uint8_t *const *rows, int count, uint8_t *dst, size_t n) \
    {                                                                                        \
        size_t i = 0;                                                                        \
        for (; i + 64 <= n; i += 64) {                                                       \
            const uint8_t *q = rows[0] + i;                                                  \
            uint8x16_t v0 = vld1q_u8(q), v1 = vld1q_u8(q + 16), v2 = vld1q_u8(q + 32);       \
            uint8x16_t v3 = vld1q_u8(q + 48);                                                \
            for (int j = 1; j < count; j++) {                                                \
                q = rows[j] + i;                                                             \
                v0 = VOP(v0, vld1q_u8(q));                                                   \
                v1 = VOP(v1, vld1q_u8(q + 16));                                              \
                v2 = VOP(v2, vld1q_u8(q + 32));                                              \
                v3 = VOP(v3, vld1q_u8(q + 48));                                              \
            }                                                                                \
            vst1q_u8(dst + i, v0);                                                           \
            vst1q_u8(dst + i + 16, v1);                                                      \
            vst1q_u8(dst + i + 32, v2);                                                      \
            vst1q_u8(dst + i + 48, v3);                                                      \
        }                                                                                    \
        for (; i + 16 <= n; i += 16) {                                                       \
            uint8x16_t v = vld1q_u8(rows[0] + i);                                            \
            for (int j = 1; j < count; j++)                                                  \
                v = VOP(v, vld1q_u8(rows[j] + i));                                           \
            vst1q_u8(dst + i, v);                                                            \
        }                                                                                    \
        for (; i < n; i++) {                                                                 \
            uint8_t v = rows[0][i];                                                          \
            for (int j = 1; j < count; j++) {                                                \
                uint8_t two[2] = {v, rows[j][i]};                                            \
                v = PX(two, 2);                                                              \
            }                                                                                \
            dst[i] = v;                                                                      \
        }                                                                                    \
    }

S_MORPH(max, vmaxq_u8, rv__max_px)
S_MORPH(min, vminq_u8, rv__min_px)

/* hat: d = sat(A - B), binarised with a compare; 255s counted by pairwise widening adds */
#define S_HAT(NAME, VOP, PX, A, B, SA, SB)                                                   \
    static size_t NAME(const uint8_t *const *rows, int count, const uint8_t *ref,            \
                       uint8_t *dst, size_t n, int thr)                                      \
    {                                                                                        \
        const uint8x16_t t = vdupq_n_u8((uint8_t) (thr < 0 ? 0 : thr));                      \
        uint32x4_t hits = vdupq_n_u32(0);                                                    \
        size_t i = 0;                                                                        \
        for (; i + 16 <= n; i += 16) {                                                       \
            uint8x16_t v = vld1q_u8(rows[0] + i);                                            \
            for (int j = 1; j < count; j++)                                                  \
                v = VOP(v, vld1q_u8(rows[j] + i));                                           \
            uint8x16_t r = vld1q_u8(ref + i);                                                \
            uint8x16_t d = vqsubq_u8(A, B);                                                  \
            if (thr >= 0) {                                                                  \
                d = vcgtq_u8(d, t);                                                          \
                hits = vpadalq_u16(hits, vpaddlq_u8(vshrq_n_u8(d, 7)));                      \
            }                                                                                \
            vst1q_u8(dst + i, d);                                                            \
        }                                                                                    \
        size_t total = vaddvq_u32(hits);                                                     \
        for (; i < n; i++) {                                                                 \
            uint8_t v = rows[0][i];                                                          \
            for (int j = 1; j < count; j++) {                                                \
                uint8_t two[2] = {v, rows[j][i]};                                            \
                v = PX(two, 2);                                                              \
            }                                                                                \
            int dv = (int) (SA) - (int) (SB);                                                \
            dv = dv < 0 ? 0 : dv;                                                            \
            if (thr >= 0) {                                                                  \
                total += dv > thr;                                                           \
                dv = dv > thr ? 255 : 0;                                                     \
            }                                                                                \
            dst[i] = (uint8_t) dv;                                                           \
        }                                                                                    \
        return total;                                                                        \
    }

S_HAT(s_min_rows_sub, vminq_u8, rv__min_px, v, r, v, ref[i])
S_HAT(s_max_rows_rsub, vmaxq_u8, rv__max_px, r, v, ref[i], v)

void rv__filter_fill_neon(rv_filter_kernels_t *k)
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
}
