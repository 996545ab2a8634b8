/* rv_kernels_filter_avx2.c - neighbourhood kernels, AVX2: 32 pixels per vector (16 for
 * 16-bit lanes, 8 for 32-bit); the last partial vector runs the one-pixel helpers of
 * rv_kernels_filter.h. */
#include "rv_kernels.h"

#include <immintrin.h>

/* 16 16-bit lanes of 0..255 from two vectors -> 32 bytes in order */
static inline __m256i s_pack16(__m256i lo, __m256i hi)
{
    return _mm256_permute4x64_epi64(_mm256_packus_epi16(lo, hi), 0xd8);
}

static inline __m256i s_load(const void *p)
{
    return _mm256_loadu_si256((const __m256i *) p);
}

static inline void s_store(void *p, __m256i v)
{
    _mm256_storeu_si256((__m256i *) p, v);
}

static inline __m256i s_zx(const uint8_t *p) /* 16 bytes -> 16 16-bit lanes */
{
    return _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) p));
}

/* ---- Sobel ---- */

static void s_sobel_v(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2, int16_t *sum,
                      int16_t *diff, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i a = s_zx(r0 + i), b = s_zx(r1 + i), c = s_zx(r2 + i);
        __m256i s = _mm256_add_epi16(_mm256_add_epi16(a, c), _mm256_add_epi16(b, b));
        _mm256_storeu_si256((__m256i *) (sum + i), s);
        _mm256_storeu_si256((__m256i *) (diff + i), _mm256_sub_epi16(c, a));
    }
    for (; i < n; i++) {
        sum[i] = (int16_t) (r0[i] + 2 * r1[i] + r2[i]);
        diff[i] = (int16_t) (r2[i] - r0[i]);
    }
}

static inline __m256i s_sobel16(const int16_t *sum, const int16_t *diff)
{
    __m256i gx = _mm256_sub_epi16(s_load(sum + 1), s_load(sum - 1));
    __m256i d0 = s_load(diff);
    __m256i gy = _mm256_add_epi16(_mm256_add_epi16(s_load(diff - 1), s_load(diff + 1)),
                                  _mm256_add_epi16(d0, d0));
    return _mm256_srli_epi16(_mm256_add_epi16(_mm256_abs_epi16(gx), _mm256_abs_epi16(gy)), 2);
}

static void s_sobel_h(const int16_t *sum, const int16_t *diff, uint8_t *dst, size_t n)
{
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i v = s_pack16(s_sobel16(sum + i, diff + i), s_sobel16(sum + i + 16, diff + i + 16));
        _mm256_storeu_si256((__m256i *) (dst + i), v);
    }
    for (; i < n; i++)
        dst[i] = rv__sobel_px(sum + i, diff + i);
}

/* ---- Gaussian 5 ---- */

static void s_gauss5_v(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2,
                       const uint8_t *r3, const uint8_t *r4, uint16_t *dst, size_t n)
{
    const __m256i w14 = _mm256_set1_epi16(0x0401), w64 = _mm256_set1_epi16(0x0406);
    const __m256i z = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i a = s_load(r0 + i), b = s_load(r1 + i), c = s_load(r2 + i);
        __m256i d = s_load(r3 + i), e = s_load(r4 + i);
        __m256i lo = _mm256_add_epi16(
            _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_unpacklo_epi8(a, b), w14),
                             _mm256_maddubs_epi16(_mm256_unpacklo_epi8(c, d), w64)),
            _mm256_unpacklo_epi8(e, z));
        __m256i hi = _mm256_add_epi16(
            _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_unpackhi_epi8(a, b), w14),
                             _mm256_maddubs_epi16(_mm256_unpackhi_epi8(c, d), w64)),
            _mm256_unpackhi_epi8(e, z));
        /* unpack works per 128-bit lane: lo = pixels 0-7 | 16-23, hi = 8-15 | 24-31 */
        _mm256_storeu_si256((__m256i *) (dst + i), _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_storeu_si256((__m256i *) (dst + i + 16), _mm256_permute2x128_si256(lo, hi, 0x31));
    }
    for (; i < n; i++)
        dst[i] = (uint16_t) (r0[i] + 4 * r1[i] + 6 * r2[i] + 4 * r3[i] + r4[i]);
}

static inline __m256i s_gauss16(const uint16_t *s)
{
    __m256i ae = _mm256_add_epi16(s_load(s - 2), s_load(s + 2));
    __m256i bd = _mm256_add_epi16(s_load(s - 1), s_load(s + 1));
    __m256i c6 = _mm256_mullo_epi16(s_load(s), _mm256_set1_epi16(6));
    __m256i v = _mm256_add_epi16(_mm256_add_epi16(ae, _mm256_slli_epi16(bd, 2)),
                                 _mm256_add_epi16(c6, _mm256_set1_epi16(128)));
    return _mm256_srli_epi16(v, 8);
}

static void s_gauss5_h(const uint16_t *src, uint8_t *dst, size_t n)
{
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        _mm256_storeu_si256((__m256i *) (dst + i),
                            s_pack16(s_gauss16(src + i), s_gauss16(src + i + 16)));
    for (; i < n; i++)
        dst[i] = rv__gauss5_px(src + i);
}

/* ---- box ---- */

static void s_box_v(uint16_t *acc, const uint8_t *add, const uint8_t *sub, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i v = _mm256_add_epi16(s_load(acc + i), s_zx(add + i));
        if (sub)
            v = _mm256_sub_epi16(v, s_zx(sub + i));
        _mm256_storeu_si256((__m256i *) (acc + i), v);
    }
    for (; i < n; i++)
        acc[i] = (uint16_t) (acc[i] + add[i] - (sub ? sub[i] : 0));
}

/* k <= 15: 16-bit sums, exact division by k*k with a 16- or 17-bit magic (see the avx512
 * file): x = sum + k*k/2, t = mulhi(x, mp), q = t >> (l - 1) for k <= 11, else
 * (t + ((x - t) >> 1)) >> (l - 1). */
typedef struct s_div16 {
    __m256i mp, half;
    __m128i sh;
    int one, small;
} s_div16_t;

static s_div16_t s_div16_for(int k)
{
    unsigned d = (unsigned) (k * k), l = 0;
    while ((1u << l) < d)
        l++;
    s_div16_t q;
    q.small = k <= 11;
    q.mp = _mm256_set1_epi16((short) (q.small ? ((1u << (15 + l)) + d - 1) / d
                                              : (65536u * ((1u << l) - d)) / d + 1));
    q.half = _mm256_set1_epi16((short) (d / 2));
    q.sh = _mm_cvtsi32_si128(l > 0 ? (int) l - 1 : 0);
    q.one = d == 1;
    return q;
}

static inline __m256i s_div16(__m256i x, const s_div16_t *q)
{
    if (q->one)
        return x;
    x = _mm256_add_epi16(x, q->half);
    __m256i t = _mm256_mulhi_epu16(x, q->mp);
    if (q->small)
        return _mm256_srl_epi16(t, q->sh);
    return _mm256_srl_epi16(_mm256_add_epi16(t, _mm256_srli_epi16(_mm256_sub_epi16(x, t), 1)),
                            q->sh);
}

/* direct taps; k constant after inlining for the small sizes */
static inline __attribute__((always_inline)) void s_box_h16k(const uint16_t *src, uint8_t *dst,
                                                             size_t n, int k)
{
    const s_div16_t q = s_div16_for(k);
    int r = k / 2;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i v[2];
        for (int hlf = 0; hlf < 2; hlf++) {
            const uint16_t *p = src + i + 16 * hlf - r;
            __m256i x = s_load(p);
            for (int j = 1; j < k; j++)
                x = _mm256_add_epi16(x, s_load(p + j));
            v[hlf] = s_div16(x, &q);
        }
        s_store(dst + i, s_pack16(v[0], v[1]));
    }
    for (; i < n; i++)
        dst[i] = rv__box_px(src + i, k);
}

/* 9 <= k <= 15: prefix sums modulo 2^16 (an in-register scan), window = difference (exact,
 * every window sum is below 2^16); see the avx512 file. */
static void s_box_h16scan(const uint16_t *src, uint8_t *dst, size_t n, int k, uint16_t *tmp)
{
    const s_div16_t q = s_div16_for(k);
    const uint16_t *p = src - k / 2;
    const __m256i top = _mm256_set1_epi16(0x0f0e); /* bytes of element 7 of a lane */
    size_t len = n + (size_t) k - 1, j = 0;
    uint16_t run = 0;
    __m256i carry = _mm256_setzero_si256();
    tmp[0] = 0;
    for (; j + 16 <= len; j += 16) {
        __m256i x = s_load(p + j), lane0;
        lane0 = _mm256_permute2x128_si256(x, x, 0x08); /* [0, low lane]: x up by 8 elements */
        x = _mm256_add_epi16(x, _mm256_alignr_epi8(x, lane0, 14));
        lane0 = _mm256_permute2x128_si256(x, x, 0x08);
        x = _mm256_add_epi16(x, _mm256_alignr_epi8(x, lane0, 12));
        lane0 = _mm256_permute2x128_si256(x, x, 0x08);
        x = _mm256_add_epi16(x, _mm256_alignr_epi8(x, lane0, 8));
        x = _mm256_add_epi16(x, _mm256_permute2x128_si256(x, x, 0x08));
        x = _mm256_add_epi16(x, carry);
        /* element 15 to every element: within lanes, then the high lane to both */
        carry = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(x, top), 0xff);
        s_store(tmp + 1 + j, x);
    }
    run = tmp[j];
    for (; j < len; j++)
        tmp[1 + j] = run = (uint16_t) (run + p[j]);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i lo = _mm256_sub_epi16(s_load(tmp + i + k), s_load(tmp + i));
        __m256i hi = _mm256_sub_epi16(s_load(tmp + i + 16 + k), s_load(tmp + i + 16));
        s_store(dst + i, s_pack16(s_div16(lo, &q), s_div16(hi, &q)));
    }
    for (; i < n; i++)
        dst[i] = rv__box_px(src + i, k);
}

/* k > 15: 32-bit prefix sums and an exact float division (see the avx512 file) */
static void s_box_h32(const uint16_t *src, uint8_t *dst, size_t n, int k, uint32_t *tmp)
{
    const uint16_t *p = src - k / 2;
    size_t len = n + (size_t) k - 1, j = 0;
    const __m256i last = _mm256_set1_epi32(7);
    __m256i carry = _mm256_setzero_si256();
    uint32_t run = 0;
    tmp[0] = 0;
    for (; j + 8 <= len; j += 8) {
        __m256i x = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *) (p + j)));
        x = _mm256_add_epi32(x, _mm256_slli_si256(x, 4)); /* scan within 128-bit lanes */
        x = _mm256_add_epi32(x, _mm256_slli_si256(x, 8));
        __m256i low3 = _mm256_shuffle_epi32(x, 0xff); /* lane 0's total into lane 1 */
        x = _mm256_add_epi32(x, _mm256_permute2x128_si256(low3, low3, 0x08));
        x = _mm256_add_epi32(x, carry);
        carry = _mm256_permutevar8x32_epi32(x, last);
        _mm256_storeu_si256((__m256i *) (tmp + 1 + j), x);
    }
    run = j ? tmp[j] : 0;
    for (; j < len; j++)
        tmp[1 + j] = run += p[j];

    const float dd = (float) (k * k);
    const __m256 df = _mm256_set1_ps(dd), inv = _mm256_set1_ps(1.0f / dd);
    const __m256 fz = _mm256_setzero_ps();
    const __m256i half = _mm256_set1_epi32(k * k / 2);
    const __m256i gather = _mm256_setr_epi32(0, 4, 0, 0, 0, 0, 0, 0);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i x = _mm256_sub_epi32(s_load(tmp + i + k), s_load(tmp + i));
        __m256 xf = _mm256_cvtepi32_ps(_mm256_add_epi32(x, half));
        __m256i q = _mm256_cvttps_epi32(_mm256_mul_ps(xf, inv));
        __m256 rf = _mm256_sub_ps(xf, _mm256_mul_ps(_mm256_cvtepi32_ps(q), df));
        /* compare masks are -1: subtracting adds one */
        q = _mm256_sub_epi32(q, _mm256_castps_si256(_mm256_cmp_ps(rf, df, _CMP_GE_OQ)));
        q = _mm256_add_epi32(q, _mm256_castps_si256(_mm256_cmp_ps(rf, fz, _CMP_LT_OQ)));
        __m256i b = _mm256_packus_epi16(_mm256_packus_epi32(q, q), q); /* bytes 0-3 | 16-19 */
        b = _mm256_permutevar8x32_epi32(b, gather);
        _mm_storel_epi64((__m128i *) (dst + i), _mm256_castsi256_si128(b));
    }
    for (; i < n; i++) {
        uint32_t area = (uint32_t) (k * k);
        dst[i] = (uint8_t) ((tmp[i + k] - tmp[i] + area / 2) / area);
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

#define S_MORPH(OPN, VOP, PX)                                                                \
    static void s_##OPN##_h(const uint8_t *src, const uint8_t *other, uint8_t *dst, size_t n, \
                            int k, uint8_t *tmp)                                             \
    {                                                                                        \
        const uint8_t *p = src - k / 2;                                                      \
        size_t i = 0;                                                                        \
        if (k <= 3) {                                                                        \
            for (; i + 32 <= n; i += 32) {                                                   \
                __m256i v = s_load(p + i);                                                 \
                if (k == 3)                                                                  \
                    v = VOP(VOP(v, s_load(p + i + 1)), s_load(p + i + 2));               \
                if (other)                                                                   \
                    v = VOP(v, s_load(other + i));                                         \
                s_store(dst + i, v);                                                       \
            }                                                                                \
            for (; i < n; i++) {                                                             \
                uint8_t two[2] = {PX(p + i, k), other ? other[i] : p[i + k / 2]};            \
                dst[i] = PX(two, 2);                                                         \
            }                                                                                \
            return;                                                                          \
        }                                                                                    \
        /* log-doubling in tmp, as in the avx512 file; scalar tails read only elements       \
         * no vector has stored yet */                                                       \
        size_t len = n + (size_t) k - 1, L = 2, cnt = len - 1, j = 0;                        \
        for (; j + 32 <= cnt; j += 32)                                                       \
            s_store(tmp + j, VOP(s_load(p + j), s_load(p + j + 1)));                   \
        for (; j < cnt; j++)                                                                 \
            tmp[j] = PX(p + j, 2);                                                           \
        for (; 2 * L <= (size_t) k; L *= 2) {                                                \
            cnt = len - 2 * L + 1;                                                           \
            for (j = 0; j + 32 <= cnt; j += 32)                                              \
                s_store(tmp + j, VOP(s_load(tmp + j), s_load(tmp + j + L)));           \
            for (; j < cnt; j++) {                                                           \
                uint8_t two[2] = {tmp[j], tmp[j + L]};                                       \
                tmp[j] = PX(two, 2);                                                         \
            }                                                                                \
        }                                                                                    \
        size_t off = (size_t) k - L;                                                         \
        for (; i + 32 <= n; i += 32) {                                                       \
            __m256i v = VOP(s_load(tmp + i), s_load(tmp + i + off));                     \
            if (other)                                                                       \
                v = VOP(v, s_load(other + i));                                             \
            s_store(dst + i, v);                                                           \
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
        for (; i + 2 * 32 <= n; i += 2 * 32) {                                               \
            for (int q = 0; q < nout; q++) {                                                 \
                const uint8_t *const *c = rows + q + bm;                                     \
                __m256i v0 = s_load(c[0] + i), v1 = s_load(c[0] + i + 32);                   \
                int d = 0;                                                                   \
                for (int j = 0; j < m; j++) {                                                \
                    for (; d < b[j]; d++) {                                                  \
                        const uint8_t *up = c[-d - 1] + i, *dn = c[d + 1] + i;               \
                        v0 = VOP(v0, VOP(s_load(up), s_load(dn)));                           \
                        v1 = VOP(v1, VOP(s_load(up + 32), s_load(dn + 32)));                 \
                    }                                                                        \
                    uint8_t *o = dst[q * m + j] + i;                                         \
                    s_store(o, v0);                                                          \
                    s_store(o + 32, v1);                                                     \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
        for (; i + 32 <= n; i += 32) {                                                       \
            for (int q = 0; q < nout; q++) {                                                 \
                const uint8_t *const *c = rows + q + bm;                                     \
                __m256i v = s_load(c[0] + i);                                                \
                int d = 0;                                                                   \
                for (int j = 0; j < m; j++) {                                                \
                    for (; d < b[j]; d++)                                                    \
                        v = VOP(v, VOP(s_load(c[-d - 1] + i), s_load(c[d + 1] + i)));        \
                    s_store(dst[q * m + j] + i, v);                                          \
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
        for (; i + 128 <= n; i += 128) {                                                     \
            const uint8_t *q = rows[0] + i;                                                  \
            __m256i v0 = s_load(q), v1 = s_load(q + 32);                                 \
            __m256i v2 = s_load(q + 64), v3 = s_load(q + 96);                            \
            for (int j = 1; j < count; j++) {                                                \
                q = rows[j] + i;                                                             \
                v0 = VOP(v0, s_load(q));                                                   \
                v1 = VOP(v1, s_load(q + 32));                                              \
                v2 = VOP(v2, s_load(q + 64));                                              \
                v3 = VOP(v3, s_load(q + 96));                                              \
            }                                                                                \
            _mm256_storeu_si256((__m256i *) (dst + i), v0);                                  \
            _mm256_storeu_si256((__m256i *) (dst + i + 32), v1);                             \
            _mm256_storeu_si256((__m256i *) (dst + i + 64), v2);                             \
            _mm256_storeu_si256((__m256i *) (dst + i + 96), v3);                             \
        }                                                                                    \
        for (; i + 32 <= n; i += 32) {                                                       \
            __m256i v = s_load(rows[0] + i);                                               \
            for (int j = 1; j < count; j++)                                                  \
                v = VOP(v, s_load(rows[j] + i));                                           \
            _mm256_storeu_si256((__m256i *) (dst + i), v);                                   \
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

S_MORPH(max, _mm256_max_epu8, rv__max_px)
S_MORPH(min, _mm256_min_epu8, rv__min_px)

/* hat: d = sat(A - B); v > thr <=> min(v, thr) != v; 255s counted with sad */
#define S_HAT(NAME, VOP, PX, A, B, SA, SB)                                                   \
    static size_t NAME(const uint8_t *const *rows, int count, const uint8_t *ref,            \
                       uint8_t *dst, size_t n, int thr)                                      \
    {                                                                                        \
        const __m256i t = _mm256_set1_epi8((char) (thr < 0 ? 0 : thr));                      \
        const __m256i one = _mm256_set1_epi8(1), ones = _mm256_set1_epi8(-1);                \
        const __m256i zero = _mm256_setzero_si256();                                         \
        __m256i hits = zero;                                                                 \
        size_t i = 0;                                                                        \
        for (; i + 32 <= n; i += 32) {                                                       \
            __m256i v = s_load(rows[0] + i);                                               \
            for (int j = 1; j < count; j++)                                                  \
                v = VOP(v, s_load(rows[j] + i));                                           \
            __m256i r = s_load(ref + i);                                                   \
            __m256i d = _mm256_subs_epu8(A, B);                                              \
            if (thr >= 0) {                                                                  \
                d = _mm256_xor_si256(_mm256_cmpeq_epi8(_mm256_min_epu8(d, t), d), ones);     \
                hits = _mm256_add_epi64(hits,                                                \
                                        _mm256_sad_epu8(_mm256_and_si256(d, one), zero));    \
            }                                                                                \
            _mm256_storeu_si256((__m256i *) (dst + i), d);                                   \
        }                                                                                    \
        size_t total = (size_t) (_mm256_extract_epi64(hits, 0) + _mm256_extract_epi64(hits, 1) + \
                                 _mm256_extract_epi64(hits, 2) + _mm256_extract_epi64(hits, 3)); \
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

S_HAT(s_min_rows_sub, _mm256_min_epu8, rv__min_px, v, r, v, ref[i])
S_HAT(s_max_rows_rsub, _mm256_max_epu8, rv__max_px, r, v, ref[i], v)

/* ---- bilinear warp, RGB8 ---- */

/* Eight destination pixels at a time, each one's 2 x 2 neighbourhood read as two 8-byte
 * gathers (its pixel and the next, on its row and the row below): the bytes shuffled into
 * (left, right) pairs per channel, multiply-added with (32 - fx, fx), the two rows' sums
 * paired and multiply-added with (32 - fy, fy). A group with a pixel whose neighbourhood is
 * not inside the source with a pixel to spare on the right (the gathers read 8 bytes), and
 * the row's last pixels (the stores write 16 bytes for 12), run rv__warp_rgb_px. */
static void s_warp_rgb(const uint8_t *src, ptrdiff_t stride, int sw, int sh, const int32_t *ax,
                       const int32_t *ay, int32_t x0, int32_t y0, uint8_t *dst, size_t n)
{
    size_t i = 0;
    /* each offset into the source in 32 bits */
    if (sw >= 3 && sh >= 2 && stride > 0 && (int64_t) stride * sh < INT32_MAX) {
        const __m256i m1 = _mm256_set1_epi32(-1), xmax = _mm256_set1_epi32(sw - 2),
                      ymax = _mm256_set1_epi32(sh - 1), f31 = _mm256_set1_epi32(31),
                      f32 = _mm256_set1_epi32(32), vstride = _mm256_set1_epi32((int32_t) stride),
                      round = _mm256_set1_epi32(512), zero = _mm256_setzero_si256(),
                      vx0 = _mm256_set1_epi32(x0), vy0 = _mm256_set1_epi32(y0);
        const __m256i pairs = _mm256_setr_epi8(0, 3, 1, 4, 2, 5, 6, 7, 8, 11, 9, 12, 10, 13, 14,
                                               15, 0, 3, 1, 4, 2, 5, 6, 7, 8, 11, 9, 12, 10, 13,
                                               14, 15);
        const __m256i pack = _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -128, -128,
                                              -128, -128, 0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14,
                                              -128, -128, -128, -128);
        const __m256i order = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
        /* which pixel's weights each 32-bit lane of a gathered half needs (see below) */
        const __m256i sel[2][2] = {
            {_mm256_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2), _mm256_setr_epi32(1, 1, 1, 1, 3, 3, 3, 3)},
            {_mm256_setr_epi32(4, 4, 4, 4, 6, 6, 6, 6), _mm256_setr_epi32(5, 5, 5, 5, 7, 7, 7, 7)}};
        const long long *top = (const long long *) (const void *) src;
        const long long *bot = (const long long *) (const void *) (src + stride);
        for (; i + 10 <= n; i += 8) {
            __m256i X = _mm256_add_epi32(vx0, _mm256_loadu_si256((const __m256i *) (ax + i)));
            __m256i Y = _mm256_add_epi32(vy0, _mm256_loadu_si256((const __m256i *) (ay + i)));
            __m256i ix = _mm256_srai_epi32(X, 10), iy = _mm256_srai_epi32(Y, 10);
            __m256i in = _mm256_and_si256(
                _mm256_and_si256(_mm256_cmpgt_epi32(ix, m1), _mm256_cmpgt_epi32(xmax, ix)),
                _mm256_and_si256(_mm256_cmpgt_epi32(iy, m1), _mm256_cmpgt_epi32(ymax, iy)));
            if (_mm256_movemask_ps(_mm256_castsi256_ps(in)) != 0xff) {
                for (size_t k = i; k < i + 8; k++)
                    rv__warp_rgb_px(src, stride, sw, sh, x0 + ax[k], y0 + ay[k], dst + 3 * k);
                continue;
            }
            __m256i fx = _mm256_and_si256(_mm256_srai_epi32(X, 5), f31);
            __m256i fy = _mm256_and_si256(_mm256_srai_epi32(Y, 5), f31);
            /* (32 - f) in the low 16 bits, f in the high: one pixel's pair of weights */
            __m256i wx = _mm256_or_si256(_mm256_slli_epi32(fx, 16), _mm256_sub_epi32(f32, fx));
            __m256i wy = _mm256_or_si256(_mm256_slli_epi32(fy, 16), _mm256_sub_epi32(f32, fy));
            __m256i off = _mm256_add_epi32(_mm256_mullo_epi32(iy, vstride),
                                           _mm256_add_epi32(ix, _mm256_add_epi32(ix, ix)));
            __m128i olo = _mm256_castsi256_si128(off), ohi = _mm256_extracti128_si256(off, 1);
            /* per half (pixels 0-3, 4-7): each 64-bit lane R0 G0 B0 R1 G1 B1 . . of one
             * pixel, shuffled to R0 R1 G0 G1 B0 B1 . . */
            __m256i t[2] = {_mm256_shuffle_epi8(_mm256_i32gather_epi64(top, olo, 1), pairs),
                            _mm256_shuffle_epi8(_mm256_i32gather_epi64(top, ohi, 1), pairs)};
            __m256i b[2] = {_mm256_shuffle_epi8(_mm256_i32gather_epi64(bot, olo, 1), pairs),
                            _mm256_shuffle_epi8(_mm256_i32gather_epi64(bot, ohi, 1), pairs)};
            __m256i p[2];
            for (int h = 0; h < 2; h++) {
                /* unpacklo: pixels 4h (low 128 bits) and 4h + 2 (high); unpackhi: 4h + 1
                 * and 4h + 3, each as four 16-bit pairs (R, G, B and a spare) */
                __m256i v[2];
                for (int u = 0; u < 2; u++) {
                    __m256i tt = u ? _mm256_unpackhi_epi8(t[h], zero) : _mm256_unpacklo_epi8(t[h], zero);
                    __m256i bb = u ? _mm256_unpackhi_epi8(b[h], zero) : _mm256_unpacklo_epi8(b[h], zero);
                    __m256i w1 = _mm256_permutevar8x32_epi32(wx, sel[h][u]);
                    __m256i w2 = _mm256_permutevar8x32_epi32(wy, sel[h][u]);
                    __m256i ht = _mm256_madd_epi16(tt, w1), hb = _mm256_madd_epi16(bb, w1);
                    __m256i sum = _mm256_madd_epi16(_mm256_or_si256(ht, _mm256_slli_epi32(hb, 16)), w2);
                    v[u] = _mm256_srli_epi32(_mm256_add_epi32(sum, round), 10);
                }
                p[h] = _mm256_packus_epi32(v[0], v[1]); /* 4h, 4h+1 | 4h+2, 4h+3 */
            }
            /* bytes: 0 1 4 5 | 2 3 6 7 (4 bytes a pixel), into order, 3 bytes a pixel */
            __m256i q = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(p[0], p[1]), order);
            q = _mm256_shuffle_epi8(q, pack);
            _mm_storeu_si128((__m128i *) (dst + 3 * i), _mm256_castsi256_si128(q));
            _mm_storeu_si128((__m128i *) (dst + 3 * i + 12), _mm256_extracti128_si256(q, 1));
        }
    }
    for (; i < n; i++)
        rv__warp_rgb_px(src, stride, sw, sh, x0 + ax[i], y0 + ay[i], dst + 3 * i);
}

/* ---- bilinear values at band positions (Lucas-Kanade) ---- */

/* Four positions at a time in doubles, the same operations in the same order as
 * rv__bilinear_px (no FMA: this file is compiled for AVX2 alone), the four neighbours
 * gathered as 32-bit words and masked to their first byte. A group with a position outside,
 * or a right neighbour within 3 px of the row's end (the words would read past it), runs
 * rv__bilinear_px. */
static void s_bilinear_at(const uint8_t *v, ptrdiff_t stride, int vw, int vh, const float *ux,
                          const float *uy, const double w[8], double *val, size_t n)
{
    size_t i = 0;
    if (vw >= 4 && vh >= 1 && stride > 0 && (int64_t) stride * vh < INT32_MAX) {
        const __m256d w0 = _mm256_set1_pd(w[0]), w1 = _mm256_set1_pd(w[1]),
                      w2 = _mm256_set1_pd(w[2]), w3 = _mm256_set1_pd(w[3]),
                      w4 = _mm256_set1_pd(w[4]), w5 = _mm256_set1_pd(w[5]),
                      w6 = _mm256_set1_pd(w[6]), w7 = _mm256_set1_pd(w[7]),
                      zero = _mm256_setzero_pd(), xmax = _mm256_set1_pd(vw - 1),
                      ymax = _mm256_set1_pd(vh - 1);
        const __m128i one = _mm_set1_epi32(1), xlast = _mm_set1_epi32(vw - 1),
                      ylast = _mm_set1_epi32(vh - 1), xword = _mm_set1_epi32(vw - 4),
                      vs = _mm_set1_epi32((int32_t) stride), byte = _mm_set1_epi32(0xff);
        const int *base = (const int *) (const void *) v;
        for (; i + 4 <= n; i += 4) {
            __m256d u = _mm256_cvtps_pd(_mm_loadu_ps(ux + i)),
                    t = _mm256_cvtps_pd(_mm_loadu_ps(uy + i));
            __m256d x = _mm256_add_pd(
                _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(w0, u), _mm256_mul_pd(w1, t)), w2), w6);
            __m256d y = _mm256_add_pd(
                _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(w3, u), _mm256_mul_pd(w4, t)), w5), w7);
            __m256d in = _mm256_and_pd(
                _mm256_and_pd(_mm256_cmp_pd(x, zero, _CMP_GE_OQ), _mm256_cmp_pd(y, zero, _CMP_GE_OQ)),
                _mm256_and_pd(_mm256_cmp_pd(x, xmax, _CMP_LE_OQ), _mm256_cmp_pd(y, ymax, _CMP_LE_OQ)));
            __m128i x0 = _mm_setzero_si128(), x1 = x0;
            int inside = _mm256_movemask_pd(in) == 0xf;
            if (inside) {
                x0 = _mm256_cvttpd_epi32(x);
                x1 = _mm_min_epi32(_mm_add_epi32(x0, one), xlast);
                inside = !_mm_movemask_epi8(_mm_cmpgt_epi32(x1, xword));
            }
            if (!inside) {
                for (size_t k = i; k < i + 4; k++)
                    val[k] = rv__bilinear_at_px(v, stride, vw, vh, ux[k], uy[k], w);
                continue;
            }
            __m128i y0 = _mm256_cvttpd_epi32(y);
            __m128i y1 = _mm_min_epi32(_mm_add_epi32(y0, one), ylast);
            __m256d fx = _mm256_sub_pd(x, _mm256_cvtepi32_pd(x0));
            __m256d fy = _mm256_sub_pd(y, _mm256_cvtepi32_pd(y0));
            __m128i r0 = _mm_mullo_epi32(y0, vs), r1 = _mm_mullo_epi32(y1, vs);
            __m128i p00 = _mm_and_si128(_mm_i32gather_epi32(base, _mm_add_epi32(r0, x0), 1), byte);
            __m128i p01 = _mm_and_si128(_mm_i32gather_epi32(base, _mm_add_epi32(r0, x1), 1), byte);
            __m128i p10 = _mm_and_si128(_mm_i32gather_epi32(base, _mm_add_epi32(r1, x0), 1), byte);
            __m128i p11 = _mm_and_si128(_mm_i32gather_epi32(base, _mm_add_epi32(r1, x1), 1), byte);
            __m256d a = _mm256_add_pd(_mm256_cvtepi32_pd(p00),
                                      _mm256_mul_pd(fx, _mm256_cvtepi32_pd(_mm_sub_epi32(p01, p00))));
            __m256d b = _mm256_add_pd(_mm256_cvtepi32_pd(p10),
                                      _mm256_mul_pd(fx, _mm256_cvtepi32_pd(_mm_sub_epi32(p11, p10))));
            _mm256_storeu_pd(val + i, _mm256_add_pd(a, _mm256_mul_pd(fy, _mm256_sub_pd(b, a))));
        }
    }
    for (; i < n; i++)
        val[i] = rv__bilinear_at_px(v, stride, vw, vh, ux[i], uy[i], w);
}

void rv__filter_fill_avx2(rv_filter_kernels_t *k)
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
