/* rv_kernels_filter_sse2.c - neighbourhood kernels, SSE2 only (the x86-64 baseline):
 * 16 pixels per vector; the last partial vector runs the one-pixel helpers of
 * rv_kernels_filter.h. */
#include "rv_kernels.h"

#include <emmintrin.h>
#include <string.h>

static inline __m128i s_load(const void *p)
{
    return _mm_loadu_si128((const __m128i *) p);
}

static inline void s_store(void *p, __m128i v)
{
    _mm_storeu_si128((__m128i *) p, v);
}

static inline __m128i s_abs16(__m128i x)
{
    return _mm_max_epi16(x, _mm_sub_epi16(_mm_setzero_si128(), x));
}

/* ---- Sobel ---- */

static void s_sobel_v(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2, int16_t *sum,
                      int16_t *diff, size_t n)
{
    const __m128i z = _mm_setzero_si128();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i a8 = s_load(r0 + i), b8 = s_load(r1 + i), c8 = s_load(r2 + i);
        for (int hlf = 0; hlf < 2; hlf++) {
            __m128i a = hlf ? _mm_unpackhi_epi8(a8, z) : _mm_unpacklo_epi8(a8, z);
            __m128i b = hlf ? _mm_unpackhi_epi8(b8, z) : _mm_unpacklo_epi8(b8, z);
            __m128i c = hlf ? _mm_unpackhi_epi8(c8, z) : _mm_unpacklo_epi8(c8, z);
            s_store(sum + i + 8 * hlf, _mm_add_epi16(_mm_add_epi16(a, c), _mm_add_epi16(b, b)));
            s_store(diff + i + 8 * hlf, _mm_sub_epi16(c, a));
        }
    }
    for (; i < n; i++) {
        sum[i] = (int16_t) (r0[i] + 2 * r1[i] + r2[i]);
        diff[i] = (int16_t) (r2[i] - r0[i]);
    }
}

static inline __m128i s_sobel8(const int16_t *sum, const int16_t *diff)
{
    __m128i gx = _mm_sub_epi16(s_load(sum + 1), s_load(sum - 1));
    __m128i d0 = s_load(diff);
    __m128i gy = _mm_add_epi16(_mm_add_epi16(s_load(diff - 1), s_load(diff + 1)),
                               _mm_add_epi16(d0, d0));
    return _mm_srli_epi16(_mm_add_epi16(s_abs16(gx), s_abs16(gy)), 2);
}

static void s_sobel_h(const int16_t *sum, const int16_t *diff, uint8_t *dst, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        s_store(dst + i, _mm_packus_epi16(s_sobel8(sum + i, diff + i),
                                          s_sobel8(sum + i + 8, diff + i + 8)));
    for (; i < n; i++)
        dst[i] = rv__sobel_px(sum + i, diff + i);
}

/* ---- Gaussian 5 ---- */

static void s_gauss5_v(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2,
                       const uint8_t *r3, const uint8_t *r4, uint16_t *dst, size_t n)
{
    const __m128i z = _mm_setzero_si128(), six = _mm_set1_epi16(6);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i a8 = s_load(r0 + i), b8 = s_load(r1 + i), c8 = s_load(r2 + i);
        __m128i d8 = s_load(r3 + i), e8 = s_load(r4 + i);
        for (int hlf = 0; hlf < 2; hlf++) {
            __m128i ae = hlf ? _mm_add_epi16(_mm_unpackhi_epi8(a8, z), _mm_unpackhi_epi8(e8, z))
                             : _mm_add_epi16(_mm_unpacklo_epi8(a8, z), _mm_unpacklo_epi8(e8, z));
            __m128i bd = hlf ? _mm_add_epi16(_mm_unpackhi_epi8(b8, z), _mm_unpackhi_epi8(d8, z))
                             : _mm_add_epi16(_mm_unpacklo_epi8(b8, z), _mm_unpacklo_epi8(d8, z));
            __m128i c = hlf ? _mm_unpackhi_epi8(c8, z) : _mm_unpacklo_epi8(c8, z);
            __m128i v = _mm_add_epi16(_mm_add_epi16(ae, _mm_slli_epi16(bd, 2)),
                                      _mm_mullo_epi16(c, six));
            s_store(dst + i + 8 * hlf, v);
        }
    }
    for (; i < n; i++)
        dst[i] = (uint16_t) (r0[i] + 4 * r1[i] + 6 * r2[i] + 4 * r3[i] + r4[i]);
}

static inline __m128i s_gauss8(const uint16_t *s)
{
    __m128i ae = _mm_add_epi16(s_load(s - 2), s_load(s + 2));
    __m128i bd = _mm_add_epi16(s_load(s - 1), s_load(s + 1));
    __m128i c6 = _mm_mullo_epi16(s_load(s), _mm_set1_epi16(6));
    __m128i v = _mm_add_epi16(_mm_add_epi16(ae, _mm_slli_epi16(bd, 2)),
                              _mm_add_epi16(c6, _mm_set1_epi16(128)));
    return _mm_srli_epi16(v, 8);
}

static void s_gauss5_h(const uint16_t *src, uint8_t *dst, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        s_store(dst + i, _mm_packus_epi16(s_gauss8(src + i), s_gauss8(src + i + 8)));
    for (; i < n; i++)
        dst[i] = rv__gauss5_px(src + i);
}

/* ---- box ---- */

static void s_box_v(uint16_t *acc, const uint8_t *add, const uint8_t *sub, size_t n)
{
    const __m128i z = _mm_setzero_si128();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i a8 = s_load(add + i), s8 = sub ? s_load(sub + i) : z;
        __m128i lo = _mm_add_epi16(s_load(acc + i), _mm_unpacklo_epi8(a8, z));
        __m128i hi = _mm_add_epi16(s_load(acc + i + 8), _mm_unpackhi_epi8(a8, z));
        s_store(acc + i, _mm_sub_epi16(lo, _mm_unpacklo_epi8(s8, z)));
        s_store(acc + i + 8, _mm_sub_epi16(hi, _mm_unpackhi_epi8(s8, z)));
    }
    for (; i < n; i++)
        acc[i] = (uint16_t) (acc[i] + add[i] - (sub ? sub[i] : 0));
}

/* k <= 15: 16-bit sums, exact division by k*k with a 16- or 17-bit magic (see the avx512
 * file) */
static void s_box_h16(const uint16_t *src, uint8_t *dst, size_t n, int k)
{
    unsigned d = (unsigned) (k * k), l = 0;
    while ((1u << l) < d)
        l++;
    const int small = k <= 11;
    const __m128i mp = _mm_set1_epi16((short) (small ? ((1u << (15 + l)) + d - 1) / d
                                                : (65536u * ((1u << l) - d)) / d + 1));
    const __m128i half = _mm_set1_epi16((short) (d / 2));
    const __m128i sh = _mm_cvtsi32_si128(l > 0 ? (int) l - 1 : 0);
    int r = k / 2;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i q[2];
        for (int hlf = 0; hlf < 2; hlf++) {
            const uint16_t *p = src + i + 8 * hlf - r;
            __m128i x = s_load(p);
            for (int j = 1; j < k; j++)
                x = _mm_add_epi16(x, s_load(p + j));
            if (d == 1) {
                q[hlf] = x;
                continue;
            }
            x = _mm_add_epi16(x, half);
            __m128i t = _mm_mulhi_epu16(x, mp);
            if (small) {
                q[hlf] = _mm_srl_epi16(t, sh);
                continue;
            }
            q[hlf] = _mm_srl_epi16(_mm_add_epi16(t, _mm_srli_epi16(_mm_sub_epi16(x, t), 1)), sh);
        }
        s_store(dst + i, _mm_packus_epi16(q[0], q[1]));
    }
    for (; i < n; i++)
        dst[i] = rv__box_px(src + i, k);
}

/* k > 15: 32-bit prefix sums and an exact float division (see the avx512 file) */
static void s_box_h32(const uint16_t *src, uint8_t *dst, size_t n, int k, uint32_t *tmp)
{
    const uint16_t *p = src - k / 2;
    const __m128i z = _mm_setzero_si128();
    size_t len = n + (size_t) k - 1, j = 0;
    __m128i carry = z;
    tmp[0] = 0;
    for (; j + 4 <= len; j += 4) {
        __m128i x = _mm_unpacklo_epi16(_mm_loadl_epi64((const __m128i *) (p + j)), z);
        x = _mm_add_epi32(x, _mm_slli_si128(x, 4));
        x = _mm_add_epi32(x, _mm_slli_si128(x, 8));
        x = _mm_add_epi32(x, carry);
        carry = _mm_shuffle_epi32(x, 0xff);
        s_store(tmp + 1 + j, x);
    }
    uint32_t run = tmp[j];
    for (; j < len; j++)
        tmp[1 + j] = run += p[j];

    const float dd = (float) (k * k);
    const __m128 df = _mm_set1_ps(dd), inv = _mm_set1_ps(1.0f / dd), fz = _mm_setzero_ps();
    const __m128i half = _mm_set1_epi32(k * k / 2);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128i x = _mm_sub_epi32(s_load(tmp + i + k), s_load(tmp + i));
        __m128 xf = _mm_cvtepi32_ps(_mm_add_epi32(x, half));
        __m128i q = _mm_cvttps_epi32(_mm_mul_ps(xf, inv));
        __m128 rf = _mm_sub_ps(xf, _mm_mul_ps(_mm_cvtepi32_ps(q), df));
        q = _mm_sub_epi32(q, _mm_castps_si128(_mm_cmpge_ps(rf, df))); /* masks are -1 */
        q = _mm_add_epi32(q, _mm_castps_si128(_mm_cmplt_ps(rf, fz)));
        __m128i w = _mm_packs_epi32(q, q); /* 0..255 survive both packs */
        int four = _mm_cvtsi128_si32(_mm_packus_epi16(w, w));
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
                __m128i v = s_load(p + i);                                                   \
                if (k == 3)                                                                  \
                    v = VOP(VOP(v, s_load(p + i + 1)), s_load(p + i + 2));                   \
                if (other)                                                                   \
                    v = VOP(v, s_load(other + i));                                           \
                s_store(dst + i, v);                                                         \
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
        for (; j + 16 <= cnt; j += 16)                                                       \
            s_store(tmp + j, VOP(s_load(p + j), s_load(p + j + 1)));                         \
        for (; j < cnt; j++)                                                                 \
            tmp[j] = PX(p + j, 2);                                                           \
        for (; 2 * L <= (size_t) k; L *= 2) {                                                \
            cnt = len - 2 * L + 1;                                                           \
            for (j = 0; j + 16 <= cnt; j += 16)                                              \
                s_store(tmp + j, VOP(s_load(tmp + j), s_load(tmp + j + L)));                 \
            for (; j < cnt; j++) {                                                           \
                uint8_t two[2] = {tmp[j], tmp[j + L]};                                       \
                tmp[j] = PX(two, 2);                                                         \
            }                                                                                \
        }                                                                                    \
        size_t off = (size_t) k - L;                                                         \
        for (; i + 16 <= n; i += 16) {                                                       \
            __m128i v = VOP(s_load(tmp + i), s_load(tmp + i + off));                         \
            if (other)                                                                       \
                v = VOP(v, s_load(other + i));                                               \
            s_store(dst + i, v);                                                             \
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
        for (; i + 2 * 16 <= n; i += 2 * 16) {                                               \
            for (int q = 0; q < nout; q++) {                                                 \
                const uint8_t *const *c = rows + q + bm;                                     \
                __m128i v0 = s_load(c[0] + i), v1 = s_load(c[0] + i + 16);                   \
                int d = 0;                                                                   \
                for (int j = 0; j < m; j++) {                                                \
                    for (; d < b[j]; d++) {                                                  \
                        const uint8_t *up = c[-d - 1] + i, *dn = c[d + 1] + i;               \
                        v0 = VOP(v0, VOP(s_load(up), s_load(dn)));                           \
                        v1 = VOP(v1, VOP(s_load(up + 16), s_load(dn + 16)));                 \
                    }                                                                        \
                    uint8_t *o = dst[q * m + j] + i;                                         \
                    s_store(o, v0);                                                          \
                    s_store(o + 16, v1);                                                     \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
        for (; i + 16 <= n; i += 16) {                                                       \
            for (int q = 0; q < nout; q++) {                                                 \
                const uint8_t *const *c = rows + q + bm;                                     \
                __m128i v = s_load(c[0] + i);                                                \
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
        for (; i + 64 <= n; i += 64) {                                                       \
            const uint8_t *q = rows[0] + i;                                                  \
            __m128i v0 = s_load(q), v1 = s_load(q + 16), v2 = s_load(q + 32);                \
            __m128i v3 = s_load(q + 48);                                                     \
            for (int j = 1; j < count; j++) {                                                \
                q = rows[j] + i;                                                             \
                v0 = VOP(v0, s_load(q));                                                     \
                v1 = VOP(v1, s_load(q + 16));                                                \
                v2 = VOP(v2, s_load(q + 32));                                                \
                v3 = VOP(v3, s_load(q + 48));                                                \
            }                                                                                \
            s_store(dst + i, v0);                                                            \
            s_store(dst + i + 16, v1);                                                       \
            s_store(dst + i + 32, v2);                                                       \
            s_store(dst + i + 48, v3);                                                       \
        }                                                                                    \
        for (; i + 16 <= n; i += 16) {                                                       \
            __m128i v = s_load(rows[0] + i);                                                 \
            for (int j = 1; j < count; j++)                                                  \
                v = VOP(v, s_load(rows[j] + i));                                             \
            s_store(dst + i, v);                                                             \
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

S_MORPH(max, _mm_max_epu8, rv__max_px)
S_MORPH(min, _mm_min_epu8, rv__min_px)

/* hat: d = sat(A - B); v > thr <=> min(v, thr) != v; 255s counted with sad */
#define S_HAT(NAME, VOP, PX, A, B, SA, SB)                                                   \
    static size_t NAME(const uint8_t *const *rows, int count, const uint8_t *ref,            \
                       uint8_t *dst, size_t n, int thr)                                      \
    {                                                                                        \
        const __m128i t = _mm_set1_epi8((char) (thr < 0 ? 0 : thr));                         \
        const __m128i one = _mm_set1_epi8(1), ones = _mm_set1_epi8(-1);                      \
        const __m128i zero = _mm_setzero_si128();                                            \
        __m128i hits = zero;                                                                 \
        size_t i = 0;                                                                        \
        for (; i + 16 <= n; i += 16) {                                                       \
            __m128i v = s_load(rows[0] + i);                                                 \
            for (int j = 1; j < count; j++)                                                  \
                v = VOP(v, s_load(rows[j] + i));                                             \
            __m128i r = s_load(ref + i);                                                     \
            __m128i d = _mm_subs_epu8(A, B);                                                 \
            if (thr >= 0) {                                                                  \
                d = _mm_xor_si128(_mm_cmpeq_epi8(_mm_min_epu8(d, t), d), ones);              \
                hits = _mm_add_epi64(hits, _mm_sad_epu8(_mm_and_si128(d, one), zero));       \
            }                                                                                \
            s_store(dst + i, d);                                                             \
        }                                                                                    \
        size_t total = (size_t) _mm_cvtsi128_si64(hits) +                                    \
                       (size_t) _mm_cvtsi128_si64(_mm_unpackhi_epi64(hits, hits));           \
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

S_HAT(s_min_rows_sub, _mm_min_epu8, rv__min_px, v, r, v, ref[i])
S_HAT(s_max_rows_rsub, _mm_max_epu8, rv__max_px, r, v, ref[i], v)

void rv__filter_fill_sse2(rv_filter_kernels_t *k)
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
