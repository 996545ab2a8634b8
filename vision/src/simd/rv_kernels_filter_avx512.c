/* rv_kernels_filter_avx512.c - neighbourhood kernels, AVX-512 F/BW/VL/DQ (+BMI2).
 * 64 pixels per vector; every tail runs the same code with masked loads and stores
 * (masked-off bytes are never touched, so nothing is read or written out of bounds). */
#include "rv_kernels.h"

#include <immintrin.h>

static inline __mmask64 s_mask8(size_t rem) /* first min(rem, 64) bytes */
{
    return rem >= 64 ? ~(__mmask64) 0 : _bzhi_u64(~0ull, (unsigned) rem);
}

static inline __mmask32 s_mask16(size_t rem) /* first min(rem, 32) 16-bit lanes */
{
    return rem >= 32 ? ~(__mmask32) 0 : (__mmask32) _bzhi_u32(~0u, (unsigned) rem);
}

static inline __mmask16 s_mask32(size_t rem) /* first min(rem, 16) 32-bit lanes */
{
    return rem >= 16 ? (__mmask16) 0xffff : (__mmask16) _bzhi_u32(~0u, (unsigned) rem);
}

#define S_INLINE static inline __attribute__((always_inline))

/* Loads and stores of a body that runs unmasked (full = 1, constant after inlining) in the
 * main loop and masked for the last partial vector. */
S_INLINE __m512i s_ld8(int full, __mmask64 m, const void *p)
{
    return full ? _mm512_loadu_si512(p) : _mm512_maskz_loadu_epi8(m, p);
}

S_INLINE __m512i s_ld16(int full, __mmask32 m, const void *p)
{
    return full ? _mm512_loadu_si512(p) : _mm512_maskz_loadu_epi16(m, p);
}

S_INLINE __m256i s_ld8h(int full, __mmask32 m, const void *p) /* 32 bytes */
{
    return full ? _mm256_loadu_si256((const __m256i *) p) : _mm256_maskz_loadu_epi8(m, p);
}

S_INLINE void s_st8(int full, __mmask64 m, void *p, __m512i v)
{
    if (full)
        _mm512_storeu_si512(p, v);
    else
        _mm512_mask_storeu_epi8(p, m, v);
}

S_INLINE void s_st16(int full, __mmask32 m, void *p, __m512i v)
{
    if (full)
        _mm512_storeu_si512(p, v);
    else
        _mm512_mask_storeu_epi16(p, m, v);
}

/* 32 16-bit lanes of 0..255 from two vectors -> 64 bytes in order (packus interleaves
 * 128-bit lanes; the permute restores the order) */
static inline __m512i s_pack16(__m512i lo, __m512i hi)
{
    return _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7),
                                    _mm512_packus_epi16(lo, hi));
}

/* Run BODY(full, i, rem) over [0, n) in steps of STEP: unmasked, then one masked tail. */
#define S_LOOP(n, STEP, BODY)                                                                \
    do {                                                                                     \
        size_t i_ = 0;                                                                       \
        for (; i_ + (STEP) <= (n); i_ += (STEP))                                             \
            BODY(1, i_, (size_t) (STEP));                                                    \
        if (i_ < (n))                                                                        \
            BODY(0, i_, (n) - i_);                                                           \
    } while (0)

/* FN(full, rem, i, args...) over [0, n) in steps of 64: unmasked, then one masked tail */
#define S_FOR64(n, FN, ...)                                                                  \
    do {                                                                                     \
        size_t i_ = 0;                                                                       \
        for (; i_ + 64 <= (n); i_ += 64)                                                     \
            FN(1, 64, i_, __VA_ARGS__);                                                      \
        if (i_ < (n))                                                                        \
            FN(0, (n) - i_, i_, __VA_ARGS__);                                                \
    } while (0)

static inline size_t s_sub0(size_t a, size_t b) /* max(a - b, 0) */
{
    return a > b ? a - b : 0;
}

/* ---- Sobel ---- */

S_INLINE void s_sobel_v32(int full, size_t rem, const uint8_t *r0, const uint8_t *r1,
                          const uint8_t *r2, int16_t *sum, int16_t *diff)
{
    __mmask32 m = s_mask16(rem);
    __m512i a = _mm512_cvtepu8_epi16(s_ld8h(full, m, r0));
    __m512i b = _mm512_cvtepu8_epi16(s_ld8h(full, m, r1));
    __m512i c = _mm512_cvtepu8_epi16(s_ld8h(full, m, r2));
    s_st16(full, m, sum, _mm512_add_epi16(_mm512_add_epi16(a, c), _mm512_add_epi16(b, b)));
    s_st16(full, m, diff, _mm512_sub_epi16(c, a));
}

static void s_sobel_v(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2, int16_t *sum,
                      int16_t *diff, size_t n)
{
#define S_BODY(full, i, rem) s_sobel_v32(full, rem, r0 + i, r1 + i, r2 + i, sum + i, diff + i)
    S_LOOP(n, 32, S_BODY);
#undef S_BODY
}

S_INLINE __m512i s_sobel32(int full, size_t rem, const int16_t *sum, const int16_t *diff)
{
    __mmask32 m = s_mask16(rem);
    __m512i gx = _mm512_sub_epi16(s_ld16(full, m, sum + 1), s_ld16(full, m, sum - 1));
    __m512i d0 = s_ld16(full, m, diff);
    __m512i gy = _mm512_add_epi16(
        _mm512_add_epi16(s_ld16(full, m, diff - 1), s_ld16(full, m, diff + 1)),
        _mm512_add_epi16(d0, d0));
    return _mm512_srli_epi16(_mm512_add_epi16(_mm512_abs_epi16(gx), _mm512_abs_epi16(gy)), 2);
}

S_INLINE void s_sobel_h64(int full, size_t rem, const int16_t *sum, const int16_t *diff,
                          uint8_t *dst)
{
    __m512i lo = s_sobel32(full, rem, sum, diff);
    __m512i hi = s_sobel32(full, s_sub0(rem, 32), sum + 32, diff + 32);
    s_st8(full, s_mask8(rem), dst, s_pack16(lo, hi)); /* pack saturates at 255 */
}

static void s_sobel_h(const int16_t *sum, const int16_t *diff, uint8_t *dst, size_t n)
{
#define S_BODY(full, i, rem) s_sobel_h64(full, rem, sum + i, diff + i, dst + i)
    S_LOOP(n, 64, S_BODY);
#undef S_BODY
}

/* ---- Gaussian 5 ---- */

/* Byte pairs (a, b) times weights (wa, wb) with maddubs; the 128-bit-lane interleave of
 * unpack is undone by one two-source permute per output vector. */
S_INLINE void s_gauss5_v64(int full, size_t rem, const uint8_t *r0, const uint8_t *r1,
                           const uint8_t *r2, const uint8_t *r3, const uint8_t *r4,
                           uint16_t *dst)
{
    const __m512i w14 = _mm512_set1_epi16(0x0401), w64 = _mm512_set1_epi16(0x0406);
    const __m512i z = _mm512_setzero_si512();
    const __m512i i0 = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
    const __m512i i1 = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
    __mmask64 m = s_mask8(rem);
    __m512i a = s_ld8(full, m, r0), b = s_ld8(full, m, r1), c = s_ld8(full, m, r2);
    __m512i d = s_ld8(full, m, r3), e = s_ld8(full, m, r4);
    __m512i lo = _mm512_add_epi16(
        _mm512_add_epi16(_mm512_maddubs_epi16(_mm512_unpacklo_epi8(a, b), w14),
                         _mm512_maddubs_epi16(_mm512_unpacklo_epi8(c, d), w64)),
        _mm512_unpacklo_epi8(e, z));
    __m512i hi = _mm512_add_epi16(
        _mm512_add_epi16(_mm512_maddubs_epi16(_mm512_unpackhi_epi8(a, b), w14),
                         _mm512_maddubs_epi16(_mm512_unpackhi_epi8(c, d), w64)),
        _mm512_unpackhi_epi8(e, z));
    s_st16(full, s_mask16(rem), dst, _mm512_permutex2var_epi64(lo, i0, hi));
    s_st16(full, s_mask16(s_sub0(rem, 32)), dst + 32, _mm512_permutex2var_epi64(lo, i1, hi));
}

static void s_gauss5_v(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2,
                       const uint8_t *r3, const uint8_t *r4, uint16_t *dst, size_t n)
{
#define S_BODY(full, i, rem)                                                                 \
    s_gauss5_v64(full, rem, r0 + i, r1 + i, r2 + i, r3 + i, r4 + i, dst + i)
    S_LOOP(n, 64, S_BODY);
#undef S_BODY
}

S_INLINE __m512i s_gauss32(int full, size_t rem, const uint16_t *s)
{
    __mmask32 m = s_mask16(rem);
    __m512i ae = _mm512_add_epi16(s_ld16(full, m, s - 2), s_ld16(full, m, s + 2));
    __m512i bd = _mm512_add_epi16(s_ld16(full, m, s - 1), s_ld16(full, m, s + 1));
    __m512i c6 = _mm512_mullo_epi16(s_ld16(full, m, s), _mm512_set1_epi16(6));
    __m512i v = _mm512_add_epi16(_mm512_add_epi16(ae, _mm512_slli_epi16(bd, 2)),
                                 _mm512_add_epi16(c6, _mm512_set1_epi16(128)));
    return _mm512_srli_epi16(v, 8); /* v <= 65408 fits 16 bits unsigned */
}

S_INLINE void s_gauss5_h64(int full, size_t rem, const uint16_t *src, uint8_t *dst)
{
    __m512i lo = s_gauss32(full, rem, src), hi = s_gauss32(full, s_sub0(rem, 32), src + 32);
    s_st8(full, s_mask8(rem), dst, s_pack16(lo, hi));
}

static void s_gauss5_h(const uint16_t *src, uint8_t *dst, size_t n)
{
#define S_BODY(full, i, rem) s_gauss5_h64(full, rem, src + i, dst + i)
    S_LOOP(n, 64, S_BODY);
#undef S_BODY
}

/* ---- box ---- */

S_INLINE void s_box_v32(int full, size_t rem, uint16_t *acc, const uint8_t *add,
                        const uint8_t *sub)
{
    __mmask32 m = s_mask16(rem);
    __m512i v = _mm512_add_epi16(s_ld16(full, m, acc),
                                 _mm512_cvtepu8_epi16(s_ld8h(full, m, add)));
    if (sub)
        v = _mm512_sub_epi16(v, _mm512_cvtepu8_epi16(s_ld8h(full, m, sub)));
    s_st16(full, m, acc, v);
}

static void s_box_v(uint16_t *acc, const uint8_t *add, const uint8_t *sub, size_t n)
{
#define S_BODY(full, i, rem) s_box_v32(full, rem, acc + i, add + i, sub ? sub + i : NULL)
    S_LOOP(n, 32, S_BODY);
#undef S_BODY
}

/* k <= 15: the sum fits 16 bits; x = sum + k*k/2 is divided by d = k*k exactly with
 * l = ceil(log2 d): for k <= 11, x < 2^15 and q = mulhi(x, ceil(2^(15+l) / d)) >> (l - 1);
 * for k = 13, 15 a 17-bit magic, t = mulhi(x, mp), q = (t + ((x - t) >> 1)) >> (l - 1).
 * Both checked for every x in range. */
typedef struct s_div16 {
    __m512i mp, half;
    __m128i sh;
    int one;   /* k = 1: no division */
    int small; /* k <= 11 */
} s_div16_t;

static s_div16_t s_div16_for(int k)
{
    unsigned d = (unsigned) (k * k), l = 0;
    while ((1u << l) < d)
        l++;
    s_div16_t q;
    q.small = k <= 11;
    q.mp = _mm512_set1_epi16((short) (q.small ? ((1u << (15 + l)) + d - 1) / d
                                              : (65536u * ((1u << l) - d)) / d + 1));
    q.half = _mm512_set1_epi16((short) (d / 2));
    q.sh = _mm_cvtsi32_si128(l > 0 ? (int) l - 1 : 0);
    q.one = d == 1;
    return q;
}

S_INLINE __m512i s_box32(int full, size_t rem, const uint16_t *p, int k, const s_div16_t *q)
{
    __mmask32 m = s_mask16(rem);
    __m512i x = s_ld16(full, m, p);
    for (int j = 1; j < k; j++)
        x = _mm512_add_epi16(x, s_ld16(full, m, p + j));
    if (q->one)
        return x;
    x = _mm512_add_epi16(x, q->half);
    __m512i t = _mm512_mulhi_epu16(x, q->mp);
    if (q->small)
        return _mm512_srl_epi16(t, q->sh);
    __m512i u = _mm512_add_epi16(t, _mm512_srli_epi16(_mm512_sub_epi16(x, t), 1));
    return _mm512_srl_epi16(u, q->sh);
}

S_INLINE void s_box_h64(int full, size_t rem, const uint16_t *p, uint8_t *dst, int k,
                        const s_div16_t *q)
{
    __m512i lo = s_box32(full, rem, p, k, q), hi = s_box32(full, s_sub0(rem, 32), p + 32, k, q);
    s_st8(full, s_mask8(rem), dst, s_pack16(lo, hi));
}

/* constant k after inlining: the taps unroll */
S_INLINE void s_box_h16k(const uint16_t *src, uint8_t *dst, size_t n, int k)
{
    const s_div16_t q = s_div16_for(k);
    const uint16_t *p = src - k / 2;
#define S_BODY(full, i, rem) s_box_h64(full, rem, p + i, dst + i, k, &q)
    S_LOOP(n, 64, S_BODY);
#undef S_BODY
}

/* 9 <= k <= 15: sums by prefix differences, cost independent of k. tmp[j] = sum of the
 * first j padded elements modulo 2^16 (an in-register scan: five shifted adds and the
 * carry of the previous vector); as every window sum is below 2^16, the modular
 * difference tmp[i+k] - tmp[i] is exact. */
S_INLINE void s_scan16_32(int full, size_t rem, size_t j, const uint16_t *p, uint16_t *tmp,
                          __m512i *carry)
{
    const __m512i z = _mm512_setzero_si512();
    __mmask32 m = s_mask16(rem);
    __m512i x = s_ld16(full, m, p + j);
    x = _mm512_add_epi16(x, _mm512_alignr_epi8(x, _mm512_alignr_epi64(x, z, 6), 14)); /* 1 */
    x = _mm512_add_epi16(x, _mm512_alignr_epi32(x, z, 15));                           /* 2 */
    x = _mm512_add_epi16(x, _mm512_alignr_epi64(x, z, 7));                            /* 4 */
    x = _mm512_add_epi16(x, _mm512_alignr_epi64(x, z, 6));                            /* 8 */
    x = _mm512_add_epi16(x, _mm512_alignr_epi64(x, z, 4));                            /* 16 */
    x = _mm512_add_epi16(x, *carry);
    *carry = _mm512_permutexvar_epi16(_mm512_set1_epi16(31), x);
    s_st16(full, m, tmp + 1 + j, x);
}

S_INLINE __m512i s_boxdiff32(int full, size_t rem, const uint16_t *t, int k, const s_div16_t *q)
{
    __mmask32 m = s_mask16(rem);
    __m512i x = _mm512_sub_epi16(s_ld16(full, m, t + k), s_ld16(full, m, t));
    x = _mm512_add_epi16(x, q->half);
    __m512i h = _mm512_mulhi_epu16(x, q->mp);
    if (q->small)
        return _mm512_srl_epi16(h, q->sh);
    __m512i u = _mm512_add_epi16(h, _mm512_srli_epi16(_mm512_sub_epi16(x, h), 1));
    return _mm512_srl_epi16(u, q->sh);
}

S_INLINE void s_boxdiff64(int full, size_t rem, size_t i, const uint16_t *t, uint8_t *dst,
                          int k, const s_div16_t *q)
{
    __m512i lo = s_boxdiff32(full, rem, t + i, k, q);
    __m512i hi = s_boxdiff32(full, s_sub0(rem, 32), t + i + 32, k, q);
    s_st8(full, s_mask8(rem), dst + i, s_pack16(lo, hi));
}

static void s_box_h16scan(const uint16_t *src, uint8_t *dst, size_t n, int k, uint16_t *tmp)
{
    const s_div16_t q = s_div16_for(k);
    const uint16_t *p = src - k / 2;
    size_t len = n + (size_t) k - 1, j = 0;
    __m512i carry = _mm512_setzero_si512();
    tmp[0] = 0;
    for (; j + 32 <= len; j += 32)
        s_scan16_32(1, 32, j, p, tmp, &carry);
    if (j < len)
        s_scan16_32(0, len - j, j, p, tmp, &carry);
    S_FOR64(n, s_boxdiff64, tmp, dst, k, &q);
}

/* k > 15: 32-bit prefix sums (tmp[j] = sum of the first j padded elements), window sums
 * as differences, and an exact division in float: q = trunc(x / d) is off by at most one
 * and the exact float remainder x - q d fixes it (all values are integers < 2^24). */
static void s_box_h32(const uint16_t *src, uint8_t *dst, size_t n, int k, uint32_t *tmp)
{
    const uint16_t *p = src - k / 2;
    size_t len = n + (size_t) k - 1;
    const __m512i zero = _mm512_setzero_si512(), last = _mm512_set1_epi32(15);
    __m512i carry = zero;
    tmp[0] = 0;
    for (size_t j = 0; j < len; j += 16) {
        __mmask16 m = s_mask32(len - j);
        __m512i x = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p + j));
        x = _mm512_add_epi32(x, _mm512_alignr_epi32(x, zero, 15));
        x = _mm512_add_epi32(x, _mm512_alignr_epi32(x, zero, 14));
        x = _mm512_add_epi32(x, _mm512_alignr_epi32(x, zero, 12));
        x = _mm512_add_epi32(x, _mm512_alignr_epi32(x, zero, 8));
        x = _mm512_add_epi32(x, carry);
        carry = _mm512_permutexvar_epi32(last, x);
        _mm512_mask_storeu_epi32(tmp + 1 + j, m, x);
    }
    const float dd = (float) (k * k);
    const __m512 df = _mm512_set1_ps(dd), inv = _mm512_set1_ps(1.0f / dd);
    const __m512 fz = _mm512_setzero_ps();
    const __m512i half = _mm512_set1_epi32(k * k / 2), one = _mm512_set1_epi32(1);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = s_mask32(n - i);
        __m512i x = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(m, tmp + i + k),
                                     _mm512_maskz_loadu_epi32(m, tmp + i));
        __m512 xf = _mm512_cvtepi32_ps(_mm512_add_epi32(x, half));
        __m512i q = _mm512_cvttps_epi32(_mm512_mul_ps(xf, inv));
        __m512 rf = _mm512_sub_ps(xf, _mm512_mul_ps(_mm512_cvtepi32_ps(q), df));
        q = _mm512_mask_add_epi32(q, _mm512_cmp_ps_mask(rf, df, _CMP_GE_OQ), q, one);
        q = _mm512_mask_sub_epi32(q, _mm512_cmp_ps_mask(rf, fz, _CMP_LT_OQ), q, one);
        _mm_mask_storeu_epi8(dst + i, m, _mm512_cvtepi32_epi8(q));
    }
}

static void s_box_h(const uint16_t *src, uint8_t *dst, size_t n, int k, uint32_t *tmp)
{
    switch (k) {
    case 1: s_box_h16k(src, dst, n, 1); break;
    case 3: s_box_h16k(src, dst, n, 3); break;
    case 5: s_box_h16k(src, dst, n, 5); break;
    case 7: s_box_h16k(src, dst, n, 7); break;
    default:
        if (k <= 15)
            s_box_h16scan(src, dst, n, k, (uint16_t *) (void *) tmp);
        else
            s_box_h32(src, dst, n, k, tmp);
    }
}

/* ---- morphology ---- */

#define S_MORPH(OPN, VOP)                                                                    \
    S_INLINE void s_##OPN##_win64(int full, size_t rem, size_t i, const uint8_t *p,          \
                                  const uint8_t *other, uint8_t *dst, int k)                 \
    {                                                                                        \
        __mmask64 m = s_mask8(rem);                                                          \
        __m512i v = s_ld8(full, m, p + i);                                                   \
        for (int j = 1; j < k; j++)                                                          \
            v = VOP(v, s_ld8(full, m, p + i + j));                                           \
        if (other)                                                                           \
            v = VOP(v, s_ld8(full, m, other + i));                                           \
        s_st8(full, m, dst + i, v);                                                          \
    }                                                                                        \
                                                                                             \
    /* dst[i] = op(a[i], b[i], other[i] if any); dst may be a (forward in place) or other */ \
    S_INLINE void s_##OPN##_two64(int full, size_t rem, size_t i, const uint8_t *a,          \
                                  const uint8_t *b, const uint8_t *other, uint8_t *dst)      \
    {                                                                                        \
        __mmask64 m = s_mask8(rem);                                                          \
        __m512i v = VOP(s_ld8(full, m, a + i), s_ld8(full, m, b + i));                       \
        if (other)                                                                           \
            v = VOP(v, s_ld8(full, m, other + i));                                           \
        s_st8(full, m, dst + i, v);                                                          \
    }                                                                                        \
                                                                                             \
    static void s_##OPN##_h(const uint8_t *src, const uint8_t *other, uint8_t *dst, size_t n, \
                            int k, uint8_t *tmp)                                             \
    {                                                                                        \
        const uint8_t *p = src - k / 2;                                                      \
        if (k <= 3) { /* constant k: the taps unroll */                                      \
            if (k == 1)                                                                      \
                S_FOR64(n, s_##OPN##_win64, p, other, dst, 1);                               \
            else                                                                             \
                S_FOR64(n, s_##OPN##_win64, p, other, dst, 3);                               \
            return;                                                                          \
        }                                                                                    \
        /* P_L[j] = op of p[j .. j+L-1]: P_2 from p, then P_2L[j] = op(P_L[j], P_L[j+L]) in  \
         * place (forward, each vector loaded before it is stored), dst from P_L with the    \
         * largest L <= k: dst[i] = op(P_L[i], P_L[i+k-L]). */                               \
        size_t len = n + (size_t) k - 1, L = 2, cnt = len - 1;                               \
        S_FOR64(cnt, s_##OPN##_two64, p, p + 1, NULL, tmp);                                  \
        for (; 2 * L <= (size_t) k; L *= 2) {                                                \
            cnt = len - 2 * L + 1;                                                           \
            S_FOR64(cnt, s_##OPN##_two64, tmp, tmp + L, NULL, tmp);                          \
        }                                                                                    \
        S_FOR64(n, s_##OPN##_two64, tmp, tmp + (k - (int) L), other, dst);                   \
    }                                                                                        \
                                                                                             \
    /* Up to 4 outputs of one 64-column block, the 4 + 2B input vectors in registers (B is \
     * constant after inlining, so the arrays unroll into registers). Extremes running out  \
     * from the group's centre, between rows c-1 and c (c = 2 + B): lo[k] = op(r[k .. c-1]), \
     * hi[k] = op(r[c .. k]); a window that contains rows c-1 and c is op(lo[top],           \
     * hi[bottom]), one operation, and only the few small windows that do not (d = 1 at the  \
     * group's ends) are built up row by row. */                                            \
    S_INLINE void s_##OPN##_stair_regs(int full, size_t rem, size_t i,                       \
                                       const uint8_t *const *rows, int nout, const int *b,   \
                                       int m, uint8_t *const *dst, const int B)              \
    {                                                                                        \
        __mmask64 mk = s_mask8(rem);                                                         \
        const int c = 2 + B, nr = 4 + 2 * B;                                                 \
        __m512i r[4 + 2 * 7], lo[4 + 2 * 7], hi[4 + 2 * 7];                                  \
        _Pragma("GCC unroll 32")                                                             \
        for (int k = 0; k < nr; k++)                                                         \
            r[k] = k < nout + 2 * B ? s_ld8(full, mk, rows[k] + i) : _mm512_setzero_si512(); \
        lo[c - 1] = r[c - 1];                                                                \
        _Pragma("GCC unroll 32")                                                             \
        for (int k = c - 2; k >= 0; k--)                                                     \
            lo[k] = VOP(r[k], lo[k + 1]);                                                    \
        hi[c] = r[c];                                                                        \
        _Pragma("GCC unroll 32")                                                             \
        for (int k = c + 1; k < nr; k++)                                                     \
            hi[k] = VOP(hi[k - 1], r[k]);                                                    \
        _Pragma("GCC unroll 4")                                                              \
        for (int q = 0; q < 4; q++) {                                                        \
            if (q >= nout)                                                                   \
                break;                                                                       \
            __m512i v = r[q + B];                                                            \
            int j = 0;                                                                       \
            if (b[0] == 0)                                                                   \
                s_st8(full, mk, dst[q * m + j++] + i, v);                                    \
            _Pragma("GCC unroll 8")                                                          \
            for (int d = 1; d <= B; d++) {                                                   \
                int top = q + B - d, bottom = q + B + d;                                     \
                if (top < c && bottom >= c) {                                                \
                    if (j < m && b[j] == d)                                                  \
                        s_st8(full, mk, dst[q * m + j++] + i, VOP(lo[top], hi[bottom]));     \
                } else {                                                                     \
                    v = VOP(v, VOP(r[top], r[bottom]));                                      \
                    if (j < m && b[j] == d)                                                  \
                        s_st8(full, mk, dst[q * m + j++] + i, v);                            \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
                                                                                             \
    S_INLINE void s_##OPN##_stair_b(const uint8_t *const *rows, int nout, const int *b,      \
                                    int m, uint8_t *const *dst, size_t n, const int B)       \
    {                                                                                        \
        for (int q0 = 0; q0 < nout; q0 += 4) {                                               \
            int nq = nout - q0 < 4 ? nout - q0 : 4;                                          \
            S_FOR64(n, s_##OPN##_stair_regs, rows + q0, nq, b, m, dst + (size_t) q0 * m, B); \
        }                                                                                    \
    }                                                                                        \
                                                                                             \
    /* B > 7: per block of 128 columns all nout outputs; the block's input lines come     \
     * from L2 once, then from L1 */                                                         \
    static void s_##OPN##_stair(const uint8_t *const *rows, int nout, const int *b, int m,   \
                                uint8_t *const *dst, size_t n)                               \
    {                                                                                        \
        int bm = b[m - 1];                                                                   \
        switch (bm) {                                                                        \
        case 0: s_##OPN##_stair_b(rows, nout, b, m, dst, n, 0); return;                      \
        case 1: s_##OPN##_stair_b(rows, nout, b, m, dst, n, 1); return;                      \
        case 2: s_##OPN##_stair_b(rows, nout, b, m, dst, n, 2); return;                      \
        case 3: s_##OPN##_stair_b(rows, nout, b, m, dst, n, 3); return;                      \
        case 4: s_##OPN##_stair_b(rows, nout, b, m, dst, n, 4); return;                      \
        case 5: s_##OPN##_stair_b(rows, nout, b, m, dst, n, 5); return;                      \
        case 6: s_##OPN##_stair_b(rows, nout, b, m, dst, n, 6); return;                      \
        case 7: s_##OPN##_stair_b(rows, nout, b, m, dst, n, 7); return;                      \
        default: break;                                                                      \
        }                                                                                    \
        size_t i = 0;                                                                        \
        for (; i + 128 <= n; i += 128) {                                                     \
            for (int q = 0; q < nout; q++) {                                                 \
                const uint8_t *const *c = rows + q + bm;                                     \
                __m512i v0 = _mm512_loadu_si512(c[0] + i);                                   \
                __m512i v1 = _mm512_loadu_si512(c[0] + i + 64);                              \
                int d = 0;                                                                   \
                for (int j = 0; j < m; j++) {                                                \
                    for (; d < b[j]; d++) {                                                  \
                        const uint8_t *up = c[-d - 1] + i, *dn = c[d + 1] + i;               \
                        v0 = VOP(v0, VOP(_mm512_loadu_si512(up), _mm512_loadu_si512(dn)));   \
                        v1 = VOP(v1, VOP(_mm512_loadu_si512(up + 64),                        \
                                         _mm512_loadu_si512(dn + 64)));                      \
                    }                                                                        \
                    uint8_t *o = dst[q * m + j] + i;                                         \
                    _mm512_storeu_si512(o, v0);                                              \
                    _mm512_storeu_si512(o + 64, v1);                                         \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
        for (; i < n; i += 64) {                                                             \
            __mmask64 mk = s_mask8(n - i);                                                   \
            for (int q = 0; q < nout; q++) {                                                 \
                const uint8_t *const *c = rows + q + bm;                                     \
                __m512i v = _mm512_maskz_loadu_epi8(mk, c[0] + i);                           \
                int d = 0;                                                                   \
                for (int j = 0; j < m; j++) {                                                \
                    for (; d < b[j]; d++)                                                    \
                        v = VOP(v, VOP(_mm512_maskz_loadu_epi8(mk, c[-d - 1] + i),           \
                                       _mm512_maskz_loadu_epi8(mk, c[d + 1] + i)));          \
                    _mm512_mask_storeu_epi8(dst[q * m + j] + i, mk, v);                      \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
                                                                                             \
    /* 4 vectors per row pointer fetched; loads of a block precede its stores (in place) */  \
    static void s_##OPN##_rows(const uint8_t *const *rows, int count, uint8_t *dst, size_t n) \
    {                                                                                        \
        size_t i = 0;                                                                        \
        for (; i + 256 <= n; i += 256) {                                                     \
            const uint8_t *q = rows[0] + i;                                                  \
            __m512i v0 = _mm512_loadu_si512(q), v1 = _mm512_loadu_si512(q + 64);             \
            __m512i v2 = _mm512_loadu_si512(q + 128), v3 = _mm512_loadu_si512(q + 192);      \
            for (int j = 1; j < count; j++) {                                                \
                q = rows[j] + i;                                                             \
                v0 = VOP(v0, _mm512_loadu_si512(q));                                         \
                v1 = VOP(v1, _mm512_loadu_si512(q + 64));                                    \
                v2 = VOP(v2, _mm512_loadu_si512(q + 128));                                   \
                v3 = VOP(v3, _mm512_loadu_si512(q + 192));                                   \
            }                                                                                \
            _mm512_storeu_si512(dst + i, v0);                                                \
            _mm512_storeu_si512(dst + i + 64, v1);                                           \
            _mm512_storeu_si512(dst + i + 128, v2);                                          \
            _mm512_storeu_si512(dst + i + 192, v3);                                          \
        }                                                                                    \
        for (; i < n; i += 64) {                                                             \
            __mmask64 m = s_mask8(n - i);                                                    \
            __m512i v = _mm512_maskz_loadu_epi8(m, rows[0] + i);                             \
            for (int j = 1; j < count; j++)                                                  \
                v = VOP(v, _mm512_maskz_loadu_epi8(m, rows[j] + i));                         \
            _mm512_mask_storeu_epi8(dst + i, m, v);                                          \
        }                                                                                    \
    }

S_MORPH(max, _mm512_max_epu8)
S_MORPH(min, _mm512_min_epu8)

/* v = sat(a - b) per byte, stored or binarised; the 255s are counted with sad into 64-bit
 * lanes. */
#define S_HAT(NAME, VOP, A, B)                                                               \
    S_INLINE void NAME##64(int full, size_t rem, size_t i, const uint8_t *const *rows,       \
                           int count, const uint8_t *ref, uint8_t *dst, int thr, __m512i *hits) \
    {                                                                                        \
        __mmask64 m = s_mask8(rem);                                                          \
        __m512i v = s_ld8(full, m, rows[0] + i);                                             \
        for (int j = 1; j < count; j++)                                                      \
            v = VOP(v, s_ld8(full, m, rows[j] + i));                                         \
        __m512i r = s_ld8(full, m, ref + i);                                                 \
        __m512i d = _mm512_subs_epu8(A, B);                                                  \
        if (thr >= 0) {                                                                      \
            __mmask64 gt = _mm512_mask_cmpgt_epu8_mask(m, d, _mm512_set1_epi8((char) thr));  \
            d = _mm512_movm_epi8(gt);                                                        \
            *hits = _mm512_add_epi64(*hits, _mm512_sad_epu8(_mm512_abs_epi8(d),              \
                                                            _mm512_setzero_si512()));        \
        }                                                                                    \
        s_st8(full, m, dst + i, d);                                                          \
    }                                                                                        \
                                                                                             \
    static size_t NAME(const uint8_t *const *rows, int count, const uint8_t *ref,            \
                       uint8_t *dst, size_t n, int thr)                                      \
    {                                                                                        \
        __m512i hits = _mm512_setzero_si512();                                               \
        S_FOR64(n, NAME##64, rows, count, ref, dst, thr, &hits);                             \
        return (size_t) _mm512_reduce_add_epi64(hits);                                       \
    }

S_HAT(s_min_rows_sub, _mm512_min_epu8, v, r)
S_HAT(s_max_rows_rsub, _mm512_max_epu8, r, v)

/* ---- bilinear warp, RGB8 ---- */

/* Sixteen destination pixels at a time. A pixel's 2 x 2 neighbourhood is two 8-byte
 * gathers, on its row and the row below (R G B of the pixel, R G B of the next, 2 spare),
 * in gathers of eight whose 128-bit lanes hold pixels (4L, 4L + 1) and (4L + 2, 4L + 3),
 * so that the packs leave lane L with pixels 4L..4L + 3 in order. The bytes are paired
 * (left, right) per channel and multiply-added as bytes with (32 - fx, fx) (at most 255 x
 * 32, no saturation), the two rows' sums paired and multiply-added with (32 - fy, fy):
 * the scalar kernel's sum, exactly. A group with a pixel whose neighbourhood (and the
 * gather's 2 spare bytes) is not inside the source runs rv__warp_rgb_px; the row's last
 * group is masked, so nothing past n pixels is read from ax, ay or written to dst. */
static void s_warp_rgb(const uint8_t *src, ptrdiff_t stride, int sw, int sh, const int32_t *ax,
                       const int32_t *ay, int32_t x0, int32_t y0, uint8_t *dst, size_t n)
{
    size_t i = 0;
    if (sw >= 3 && sh >= 2 && stride > 0 && (int64_t) stride * sh < INT32_MAX) {
        const __m512i zero = _mm512_setzero_si512(), xmax = _mm512_set1_epi32(sw - 2),
                      ymax = _mm512_set1_epi32(sh - 1), f31 = _mm512_set1_epi32(31),
                      f32 = _mm512_set1_epi32(32), vstride = _mm512_set1_epi32((int32_t) stride),
                      round = _mm512_set1_epi32(512), vx0 = _mm512_set1_epi32(x0),
                      vy0 = _mm512_set1_epi32(y0);
        /* per 64-bit lane: R0 R1 G0 G1 B0 B1 0 0 (-128 clears) */
        const __m512i pairs = _mm512_broadcast_i32x4(
            _mm_setr_epi8(0, 3, 1, 4, 2, 5, -128, -128, 8, 11, 9, 12, 10, 13, -128, -128));
        /* per 128-bit lane: four pixels' R G B 0 -> twelve bytes */
        const __m512i pack = _mm512_broadcast_i32x4(
            _mm_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -128, -128, -128, -128));
        const __m512i pix_a = _mm512_setr_epi32(0, 1, 4, 5, 8, 9, 12, 13, 0, 0, 0, 0, 0, 0, 0, 0);
        const __m512i pix_b = _mm512_setr_epi32(2, 3, 6, 7, 10, 11, 14, 15, 0, 0, 0, 0, 0, 0, 0, 0);
        const __m512i squeeze =
            _mm512_setr_epi32(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 0, 0, 0, 0);
        const __m512i spread[4] = {
            _mm512_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12),
            _mm512_setr_epi32(1, 1, 1, 1, 5, 5, 5, 5, 9, 9, 9, 9, 13, 13, 13, 13),
            _mm512_setr_epi32(2, 2, 2, 2, 6, 6, 6, 6, 10, 10, 10, 10, 14, 14, 14, 14),
            _mm512_setr_epi32(3, 3, 3, 3, 7, 7, 7, 7, 11, 11, 11, 11, 15, 15, 15, 15)};
        const uint8_t *bot = src + stride;
        for (; i < n; i += 16) {
            size_t rem = n - i;
            __mmask16 act = rem >= 16 ? (__mmask16) 0xffff : (__mmask16) ((1u << rem) - 1);
            __m512i X = _mm512_add_epi32(vx0, _mm512_maskz_loadu_epi32(act, ax + i));
            __m512i Y = _mm512_add_epi32(vy0, _mm512_maskz_loadu_epi32(act, ay + i));
            __m512i ix = _mm512_srai_epi32(X, 10), iy = _mm512_srai_epi32(Y, 10);
            __mmask16 in = _mm512_cmpge_epi32_mask(ix, zero) & _mm512_cmplt_epi32_mask(ix, xmax) &
                           _mm512_cmpge_epi32_mask(iy, zero) & _mm512_cmplt_epi32_mask(iy, ymax);
            if ((in & act) != act) {
                for (size_t k = i; k < i + (rem < 16 ? rem : 16); k++)
                    rv__warp_rgb_px(src, stride, sw, sh, x0 + ax[k], y0 + ay[k], dst + 3 * k);
                continue;
            }
            __m512i fx = _mm512_and_si512(_mm512_srai_epi32(X, 5), f31);
            __m512i fy = _mm512_and_si512(_mm512_srai_epi32(Y, 5), f31);
            __m512i wx = _mm512_or_si512(_mm512_sub_epi32(f32, fx), _mm512_slli_epi32(fx, 8));
            __m512i wy = _mm512_or_si512(_mm512_sub_epi32(f32, fy), _mm512_slli_epi32(fy, 16));
            __m512i off = _mm512_add_epi32(_mm512_mullo_epi32(iy, vstride),
                                           _mm512_add_epi32(ix, _mm512_add_epi32(ix, ix)));
            __m512i s[2][2]; /* [gather a, b][pixel 4L + 2g, 4L + 2g + 1] */
            for (int g = 0; g < 2; g++) {
                const __m512i pick = g ? pix_b : pix_a;
                __m256i o = _mm512_castsi512_si256(_mm512_permutexvar_epi32(pick, off));
                __mmask8 k8 = (__mmask8) _pext_u32(act, g ? 0xccccu : 0x3333u);
                __m512i t = _mm512_mask_i32gather_epi64(zero, k8, o, src, 1);
                __m512i b = _mm512_mask_i32gather_epi64(zero, k8, o, bot, 1);
                /* (32 - fx, fx) thrice per 64-bit lane, as bytes */
                __m512i w = _mm512_cvtepu32_epi64(
                    _mm512_castsi512_si256(_mm512_permutexvar_epi32(pick, wx)));
                w = _mm512_or_si512(w, _mm512_or_si512(_mm512_slli_epi64(w, 16),
                                                       _mm512_slli_epi64(w, 32)));
                __m512i ht = _mm512_maddubs_epi16(_mm512_shuffle_epi8(t, pairs), w);
                __m512i hb = _mm512_maddubs_epi16(_mm512_shuffle_epi8(b, pairs), w);
                for (int u = 0; u < 2; u++) {
                    __m512i tb = u ? _mm512_unpackhi_epi16(ht, hb) : _mm512_unpacklo_epi16(ht, hb);
                    __m512i wyu = _mm512_permutexvar_epi32(spread[2 * g + u], wy);
                    __m512i v = _mm512_madd_epi16(tb, wyu);
                    s[g][u] = _mm512_srli_epi32(_mm512_add_epi32(v, round), 10);
                }
            }
            __m512i q = _mm512_packus_epi16(_mm512_packus_epi32(s[0][0], s[0][1]),
                                            _mm512_packus_epi32(s[1][0], s[1][1]));
            q = _mm512_permutexvar_epi32(squeeze, _mm512_shuffle_epi8(q, pack));
            size_t cnt = rem < 16 ? rem : 16;
            _mm512_mask_storeu_epi8(dst + 3 * i, _bzhi_u64(~0ull, (unsigned) (3 * cnt)), q);
        }
    }
    for (; i < n; i++)
        rv__warp_rgb_px(src, stride, sw, sh, x0 + ax[i], y0 + ay[i], dst + 3 * i);
}

void rv__filter_fill_avx512(rv_filter_kernels_t *k)
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
}
