/* rv_kernels_point_neon.c - pointwise kernels for aarch64 Advanced SIMD (compiled only
 * on aarch64, where NEON is always present).
 *
 * 16 pixels per step; the tail of a row (fewer than 16 pixels) goes to the scalar kernels.
 * vld3q_u8 splits RGB into planes in one instruction, and NEON has byte shifts, saturating
 * shifts and widening multiply-accumulates, so every kernel stays in 8/16-bit lanes.
 * hist stays scalar (rv_kernels_point_scalar.c). */
#include "rv_kernels.h"

#include <arm_neon.h>

/* Gray of 8 pixels with 8x8-bit multiplies only. Splitting each weight as 256 a + b
 * (4899 = 19*256 + 35, 9617 = 37*256 + 145, 1868 = 7*256 + 76) gives
 * H = 19R + 37G + 7B <= 63*255 and L = 35R + 145G + 76B <= 256*255, both in 16 bits, and
 * (256 H + L + 8192) >> 14 = (H + (L >> 8) + 32) >> 6: vsra adds L >> 8 to H, vrshrn adds
 * the 32 and shifts. */
static inline uint8x8_t s_gray8(uint8x8_t r, uint8x8_t g, uint8x8_t b)
{
    uint16x8_t h = vmull_u8(r, vdup_n_u8(19));
    h = vmlal_u8(h, g, vdup_n_u8(37));
    h = vmlal_u8(h, b, vdup_n_u8(7));
    uint16x8_t l = vmull_u8(r, vdup_n_u8(35));
    l = vmlal_u8(l, g, vdup_n_u8(145));
    l = vmlal_u8(l, b, vdup_n_u8(76));
    return vrshrn_n_u16(vsraq_n_u16(h, l, 8), 6);
}

static inline uint8x16_t s_gray16(uint8x16x3_t v)
{
    return vcombine_u8(s_gray8(vget_low_u8(v.val[0]), vget_low_u8(v.val[1]),
                               vget_low_u8(v.val[2])),
                       s_gray8(vget_high_u8(v.val[0]), vget_high_u8(v.val[1]),
                               vget_high_u8(v.val[2])));
}

/* Rust likelihood from planes; see s_rust_planes in rv_kernels_point_sse2.c for why this
 * equals the scalar definition (here min(255, 8d) is one saturating shift). */
static inline uint8x16_t s_rust16(uint8x16x3_t v)
{
    uint8x16_t r = v.val[0], g = v.val[1], b = v.val[2];
    uint8x16_t c = vqsubq_u8(r, b);
    uint8x16_t d = vqsubq_u8(g, b);
    uint8x16_t ok = vandq_u8(vcgeq_u8(c, vdupq_n_u8(24)), vcgeq_u8(r, vdupq_n_u8(48)));
    ok = vandq_u8(ok, vcgeq_u8(vqshlq_n_u8(d, 3), c));
    uint8x16_t f = vrhaddq_u8(c, vaddq_u8(vshrq_n_u8(c, 2), vdupq_n_u8(1)));
    ok = vandq_u8(ok, vcltq_u8(d, f));
    return vandq_u8(ok, vqaddq_u8(vqaddq_u8(c, c), c)); /* min(255, 3c) or 0 */
}

/* Counting 0xff bytes: subtracting a mask adds 1 per byte; a byte counter is folded into
 * the total before it can wrap. */
typedef struct s_counter {
    uint8x16_t acc;
    unsigned steps;
    size_t total;
} s_counter_t;

static inline void s_count(s_counter_t *c, uint8x16_t mask)
{
    c->acc = vsubq_u8(c->acc, mask);
    if (++c->steps == 255) {
        c->total += vaddlvq_u8(c->acc);
        c->acc = vdupq_n_u8(0);
        c->steps = 0;
    }
}

static inline size_t s_count_end(const s_counter_t *c)
{
    return c->total + vaddlvq_u8(c->acc);
}

static void s_gray_from_rgb(const uint8_t *rgb, uint8_t *gray, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        vst1q_u8(gray + i, s_gray16(vld3q_u8(rgb + 3 * i)));
    rv__gray_from_rgb_scalar(rgb + 3 * i, gray + i, n - i);
}

static void s_absdiff(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        vst1q_u8(dst + i, vabdq_u8(vld1q_u8(a + i), vld1q_u8(b + i)));
    rv__absdiff_scalar(a + i, b + i, dst + i, n - i);
}

static void s_max(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        vst1q_u8(dst + i, vmaxq_u8(vld1q_u8(a + i), vld1q_u8(b + i)));
    rv__max_scalar(a + i, b + i, dst + i, n - i);
}

static void s_min(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        vst1q_u8(dst + i, vminq_u8(vld1q_u8(a + i), vld1q_u8(b + i)));
    rv__min_scalar(a + i, b + i, dst + i, n - i);
}

static void s_sub_sat(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        vst1q_u8(dst + i, vqsubq_u8(vld1q_u8(a + i), vld1q_u8(b + i)));
    rv__sub_sat_scalar(a + i, b + i, dst + i, n - i);
}

static size_t s_threshold(const uint8_t *src, uint8_t *dst, size_t n, uint8_t thr)
{
    const uint8x16_t t = vdupq_n_u8(thr);
    s_counter_t cnt = {vdupq_n_u8(0), 0, 0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        uint8x16_t m = vcgtq_u8(vld1q_u8(src + i), t);
        vst1q_u8(dst + i, m);
        s_count(&cnt, m);
    }
    return s_count_end(&cnt) + rv__threshold_scalar(src + i, dst + i, n - i, thr);
}

static size_t s_band(const uint8_t *src, const uint8_t *lo, const uint8_t *hi, uint8_t *dst,
                     size_t n)
{
    s_counter_t cnt = {vdupq_n_u8(0), 0, 0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        uint8x16_t s = vld1q_u8(src + i);
        uint8x16_t m = vorrq_u8(vcltq_u8(s, vld1q_u8(lo + i)), vcgtq_u8(s, vld1q_u8(hi + i)));
        vst1q_u8(dst + i, m);
        s_count(&cnt, m);
    }
    return s_count_end(&cnt) + rv__band_scalar(src + i, lo + i, hi + i, dst + i, n - i);
}

static void s_rust(const uint8_t *rgb, uint8_t *dst, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        vst1q_u8(dst + i, s_rust16(vld3q_u8(rgb + 3 * i)));
    rv__rust_scalar(rgb + 3 * i, dst + i, n - i);
}

static size_t s_front(const uint8_t *rgb, uint8_t *gray, uint8_t *rust, size_t n, uint8_t thr)
{
    const uint8x16_t t = vdupq_n_u8(thr);
    s_counter_t cnt = {vdupq_n_u8(0), 0, 0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        uint8x16x3_t v = vld3q_u8(rgb + 3 * i);
        uint8x16_t ru = s_rust16(v);
        vst1q_u8(gray + i, s_gray16(v));
        vst1q_u8(rust + i, ru);
        s_count(&cnt, vcgtq_u8(ru, t));
    }
    return s_count_end(&cnt) + rv__front_scalar(rgb + 3 * i, gray + i, rust + i, n - i, thr);
}

/* Inclusive prefix sums of 8 words (vext shifts in zeros from below). */
static inline uint16x8_t s_prefix8(uint16x8_t x)
{
    const uint16x8_t z = vdupq_n_u16(0);
    x = vaddq_u16(x, vextq_u16(z, x, 7));
    x = vaddq_u16(x, vextq_u16(z, x, 6));
    return vaddq_u16(x, vextq_u16(z, x, 4));
}

static void s_integral_row(const uint8_t *src, const uint32_t *above, uint32_t *dst, size_t n)
{
    uint32x4_t carry = vdupq_n_u32(0); /* sum of src[0 .. i-1] in every lane */
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        uint8x16_t x = vld1q_u8(src + i);
        uint16x8_t lo = s_prefix8(vmovl_u8(vget_low_u8(x)));
        uint16x8_t hi = vaddq_u16(s_prefix8(vmovl_u8(vget_high_u8(x))), vdupq_laneq_u16(lo, 7));
        uint32x4_t p[4] = {vmovl_u16(vget_low_u16(lo)), vmovl_u16(vget_high_u16(lo)),
                           vmovl_u16(vget_low_u16(hi)), vmovl_u16(vget_high_u16(hi))};
        for (int k = 0; k < 4; k++)
            vst1q_u32(dst + i + 4 * k,
                      vaddq_u32(vaddq_u32(p[k], carry), vld1q_u32(above + i + 4 * k)));
        carry = vaddq_u32(carry, vdupq_laneq_u32(p[3], 3));
    }
    if (i < n) {
        uint32_t c = vgetq_lane_u32(carry, 0);
        /* the scalar tail restarts its running sum at 0; add the carry afterwards */
        rv__integral_row_scalar(src + i, above + i, dst + i, n - i);
        for (size_t j = i; j < n; j++)
            dst[j] += c;
    }
}

void rv__point_fill_neon(rv_point_kernels_t *k)
{
    k->gray_from_rgb = s_gray_from_rgb;
    k->absdiff = s_absdiff;
    k->max = s_max;
    k->min = s_min;
    k->sub_sat = s_sub_sat;
    k->threshold = s_threshold;
    k->band = s_band;
    k->rust = s_rust;
    k->front = s_front;
    k->integral_row = s_integral_row;
}
