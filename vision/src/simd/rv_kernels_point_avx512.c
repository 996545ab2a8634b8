/* rv_kernels_point_avx512.c - pointwise kernels for AVX-512 F/BW/VL/DQ (compiled with
 * -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx2 -mbmi -mbmi2).
 *
 * 64 pixels per step. Tails use masked loads and stores (masked-off bytes are neither
 * read nor written, so a view's last row may end at the end of its memory); no scalar
 * fallback is needed. The RGB layouts are those of rv_kernels_point_avx2.c, four lanes
 * wide. Compares give k-masks, so the rust conditions chain through masked compares and
 * counts are popcnts of masks. hist stays scalar (rv_kernels_point_scalar.c). */
#include "rv_kernels.h"

#include <immintrin.h>

#define X (-1) /* pshufb index that writes a zero byte */

/* The first m bits set, for m <= 64 (bzhi keeps everything for m >= 64). */
static inline __mmask64 s_first(size_t m)
{
    return (__mmask64) _bzhi_u64(~0ull, (unsigned) (m < 64 ? m : 64));
}

static inline __m512i s_load(const uint8_t *p)
{
    return _mm512_loadu_si512((const void *) p);
}

/* Software prefetch S_AHEAD bytes ahead of each input stream, once per 64 pixels. The
 * hardware prefetchers stop at 4 KB page boundaries; on the development machine (Xeon with
 * AVX-512, in a VM) this took the 5 MP gray conversion from 2.1 to 1.4 ms when the input
 * came from DRAM. Rows shorter than S_PREFETCH_MIN pixels skip it: the bytes ahead of a
 * narrow region of interest are mostly not its own and would only cost bandwidth. A
 * prefetch never faults, so running past the end of the image is harmless. */
#define S_AHEAD 4096
#define S_PREFETCH_MIN 1024

static inline void s_ahead(const void *p, int lines)
{
    for (int l = 0; l < lines; l++)
        _mm_prefetch((const char *) ((uintptr_t) p + S_AHEAD + 64 * (uintptr_t) l),
                     _MM_HINT_T0);
}

static inline __m512i s_load_part(const uint8_t *p, size_t m)
{
    return _mm512_maskz_loadu_epi8(s_first(m), p);
}

/* The same 16 bytes in every lane (pshufb tables). */
static inline __m512i s_lanes(__m128i v)
{
    return _mm512_broadcast_i32x4(v);
}

/* Gray of 4 pixels per lane: v holds R G B x 4 in the low 12 bytes of each lane. */
static inline __m512i s_gray_groups(__m512i v)
{
    const __m512i to_rg =
        s_lanes(_mm_setr_epi8(0, X, 1, X, 3, X, 4, X, 6, X, 7, X, 9, X, 10, X));
    const __m512i to_b = s_lanes(_mm_setr_epi8(2, X, X, X, 5, X, X, X, 8, X, X, X, 11, X, X, X));
    const __m512i one_hi = _mm512_set1_epi32(1 << 16); /* the word pairs (B, 1) */
    const __m512i wrg = _mm512_set1_epi32(4899 | (9617 << 16));
    const __m512i wb1 = _mm512_set1_epi32(1868 | (8192 << 16));
    __m512i rg = _mm512_shuffle_epi8(v, to_rg);
    __m512i b1 = _mm512_or_si512(_mm512_shuffle_epi8(v, to_b), one_hi);
    __m512i sum = _mm512_add_epi32(_mm512_madd_epi16(rg, wrg), _mm512_madd_epi16(b1, wb1));
    return _mm512_srli_epi32(sum, 14);
}

/* Gray of up to 64 pixels at p, of which the first `bytes` bytes (<= 192) exist. */
static inline __m512i s_gray64(const uint8_t *p, size_t bytes)
{
    /* group g = pixels 4g .. 4g+3 = bytes 12g .. 12g+11; v_k holds groups 4k .. 4k+3 */
    const __m512i spread = _mm512_setr_epi32(0, 1, 2, 0, 3, 4, 5, 0, 6, 7, 8, 0, 9, 10, 11, 0);
    /* after the per-lane packs, dword 4j + m holds group 4m + j: transpose back */
    const __m512i order =
        _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    __m512i s[4];
    for (size_t k = 0; k < 4; k++) {
        size_t avail = bytes > 48 * k ? bytes - 48 * k : 0;
        __m512i v = _mm512_setzero_si512();
        if (avail)
            v = s_load_part(p + 48 * k, avail < 48 ? avail : 48);
        s[k] = s_gray_groups(_mm512_permutexvar_epi32(spread, v));
    }
    __m512i v = _mm512_packus_epi16(_mm512_packs_epi32(s[0], s[1]), _mm512_packs_epi32(s[2], s[3]));
    return _mm512_permutexvar_epi32(order, v);
}

/* Split up to 64 pixels at p (the first `bytes` <= 192 bytes exist) into planes. With
 * c0 .. c11 the 16-byte chunks, lane j works on c(3j), c(3j+1), c(3j+2). */
static inline void s_planes64(const uint8_t *p, size_t bytes, __m512i *r, __m512i *g,
                              __m512i *b)
{
    __m512i z[3];
    for (size_t k = 0; k < 3; k++) {
        size_t avail = bytes > 64 * k ? bytes - 64 * k : 0;
        z[k] = _mm512_setzero_si512();
        if (avail >= 64)
            z[k] = s_load(p + 64 * k);
        else if (avail)
            z[k] = s_load_part(p + 64 * k, avail);
    }
    /* z0 = c0 c1 c2 c3, z1 = c4 c5 c6 c7, z2 = c8 c9 c10 c11; blends pick 128-bit lanes */
    __m512i s = _mm512_mask_blend_epi64(0x0c, _mm512_mask_blend_epi64(0x30, z[0], z[1]), z[2]);
    __m512i t = _mm512_mask_blend_epi64(0x30, _mm512_mask_blend_epi64(0x0c, z[1], z[0]), z[2]);
    __m512i u = _mm512_mask_blend_epi64(0x30, _mm512_mask_blend_epi64(0x0c, z[2], z[1]), z[0]);
    __m512i a = _mm512_shuffle_i64x2(s, s, _MM_SHUFFLE(1, 2, 3, 0)); /* c0 c9 c6 c3 -> */
    __m512i m = _mm512_shuffle_i64x2(t, t, _MM_SHUFFLE(2, 3, 0, 1)); /* c4 c1 c10 c7 -> */
    __m512i c = _mm512_shuffle_i64x2(u, u, _MM_SHUFFLE(3, 0, 1, 2)); /* c8 c5 c2 c11 -> */
    /* a = c0 c3 c6 c9, m = c1 c4 c7 c10, c = c2 c5 c8 c11; plane byte q <- byte 3q + ch */
    const __m512i r0 = s_lanes(_mm_setr_epi8(0, 3, 6, 9, 12, 15, X, X, X, X, X, X, X, X, X, X));
    const __m512i r1 = s_lanes(_mm_setr_epi8(X, X, X, X, X, X, 2, 5, 8, 11, 14, X, X, X, X, X));
    const __m512i r2 = s_lanes(_mm_setr_epi8(X, X, X, X, X, X, X, X, X, X, X, 1, 4, 7, 10, 13));
    const __m512i g0 = s_lanes(_mm_setr_epi8(1, 4, 7, 10, 13, X, X, X, X, X, X, X, X, X, X, X));
    const __m512i g1 = s_lanes(_mm_setr_epi8(X, X, X, X, X, 0, 3, 6, 9, 12, 15, X, X, X, X, X));
    const __m512i g2 = s_lanes(_mm_setr_epi8(X, X, X, X, X, X, X, X, X, X, X, 2, 5, 8, 11, 14));
    const __m512i b0 = s_lanes(_mm_setr_epi8(2, 5, 8, 11, 14, X, X, X, X, X, X, X, X, X, X, X));
    const __m512i b1 = s_lanes(_mm_setr_epi8(X, X, X, X, X, 1, 4, 7, 10, 13, X, X, X, X, X, X));
    const __m512i b2 = s_lanes(_mm_setr_epi8(X, X, X, X, X, X, X, X, X, X, 0, 3, 6, 9, 12, 15));
    /* 0xfe = a | b | c, one vpternlogd for the two ORs */
    *r = _mm512_ternarylogic_epi32(_mm512_shuffle_epi8(a, r0), _mm512_shuffle_epi8(m, r1),
                                   _mm512_shuffle_epi8(c, r2), 0xfe);
    *g = _mm512_ternarylogic_epi32(_mm512_shuffle_epi8(a, g0), _mm512_shuffle_epi8(m, g1),
                                   _mm512_shuffle_epi8(c, g2), 0xfe);
    *b = _mm512_ternarylogic_epi32(_mm512_shuffle_epi8(a, b0), _mm512_shuffle_epi8(m, b1),
                                   _mm512_shuffle_epi8(c, b2), 0xfe);
}

/* Gray from planes (front), with pmaddubsw (unsigned bytes times signed 7-bit weights):
 * splitting each weight as 128 a + b (4899 = 38*128 + 35, 9617 = 75*128 + 17,
 * 1868 = 14*128 + 76) and the rounding term as 128 * 64 gives
 *   H = 38 R + 75 G + 14 B + 64 <= 32449,   L = 35 R + 17 G + 76 B <= 32640,
 * both exact in signed 16 bits (the byte pairs are (R, G) and (B, 1)), and
 *   (128 H + L) >> 14 = (H + (L >> 7)) >> 7.
 * The unpacks and the pack work within 128-bit lanes, so pixels keep their order. */
static inline __m512i s_gray_planes(__m512i r, __m512i g, __m512i b)
{
    const __m512i one = _mm512_set1_epi8(1);
    const __m512i wh_rg = _mm512_set1_epi16(38 | (75 << 8));
    const __m512i wh_b1 = _mm512_set1_epi16(14 | (64 << 8));
    const __m512i wl_rg = _mm512_set1_epi16(35 | (17 << 8));
    const __m512i wl_b1 = _mm512_set1_epi16(76);
    __m512i rg[2] = {_mm512_unpacklo_epi8(r, g), _mm512_unpackhi_epi8(r, g)};
    __m512i b1[2] = {_mm512_unpacklo_epi8(b, one), _mm512_unpackhi_epi8(b, one)};
    __m512i y[2];
    for (int k = 0; k < 2; k++) {
        __m512i h = _mm512_add_epi16(_mm512_maddubs_epi16(rg[k], wh_rg),
                                    _mm512_maddubs_epi16(b1[k], wh_b1));
        __m512i l = _mm512_add_epi16(_mm512_maddubs_epi16(rg[k], wl_rg),
                                    _mm512_maddubs_epi16(b1[k], wl_b1));
        y[k] = _mm512_srli_epi16(_mm512_add_epi16(h, _mm512_srli_epi16(l, 7)), 7);
    }
    return _mm512_packus_epi16(y[0], y[1]);
}

/* Rust likelihood from planes; see s_rust_planes in rv_kernels_point_sse2.c for why this
 * equals the scalar definition. The conditions chain through masked compares. */
static inline __m512i s_rust_planes(__m512i r, __m512i g, __m512i b)
{
    __m512i c = _mm512_subs_epu8(r, b);
    __m512i d = _mm512_subs_epu8(g, b);
    __mmask64 k = _mm512_cmpge_epu8_mask(c, _mm512_set1_epi8(24));
    k = _mm512_mask_cmpge_epu8_mask(k, r, _mm512_set1_epi8(48));
    __m512i d8 = _mm512_adds_epu8(d, d);
    d8 = _mm512_adds_epu8(d8, d8);
    d8 = _mm512_adds_epu8(d8, d8); /* min(255, 8d) */
    k = _mm512_mask_cmpge_epu8_mask(k, d8, c);
    __m512i q1 = _mm512_and_si512(_mm512_srli_epi16(c, 2), _mm512_set1_epi8(0x3f));
    q1 = _mm512_add_epi8(q1, _mm512_set1_epi8(1));
    k = _mm512_mask_cmplt_epu8_mask(k, d, _mm512_avg_epu8(c, q1));
    return _mm512_maskz_adds_epu8(k, _mm512_adds_epu8(c, c), c); /* min(255, 3c) or 0 */
}

static void s_gray_from_rgb(const uint8_t *rgb, uint8_t *gray, size_t n)
{
    const int pf = n >= S_PREFETCH_MIN;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        if (pf)
            s_ahead(rgb + 3 * i, 3);
        _mm512_storeu_si512((void *) (gray + i), s_gray64(rgb + 3 * i, 192));
    }
    if (i < n)
        _mm512_mask_storeu_epi8(gray + i, s_first(n - i), s_gray64(rgb + 3 * i, 3 * (n - i)));
}

/* The two-input byte kernels share one loop shape; op is a vector intrinsic. */
#define S_BINARY(name, op)                                                                  \
    static void name(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n)            \
    {                                                                                       \
        const int pf = n >= S_PREFETCH_MIN;                                                 \
        size_t i = 0;                                                                       \
        for (; i + 64 <= n; i += 64) {                                                      \
            if (pf) {                                                                       \
                s_ahead(a + i, 1);                                                          \
                s_ahead(b + i, 1);                                                          \
            }                                                                               \
            _mm512_storeu_si512((void *) (dst + i), op(s_load(a + i), s_load(b + i)));     \
        }                                                                                   \
        if (i < n) {                                                                        \
            __m512i v = op(s_load_part(a + i, n - i), s_load_part(b + i, n - i));           \
            _mm512_mask_storeu_epi8(dst + i, s_first(n - i), v);                            \
        }                                                                                   \
    }

static inline __m512i s_absdiff64(__m512i x, __m512i y)
{
    return _mm512_or_si512(_mm512_subs_epu8(x, y), _mm512_subs_epu8(y, x));
}

S_BINARY(s_absdiff, s_absdiff64)
S_BINARY(s_max, _mm512_max_epu8)
S_BINARY(s_min, _mm512_min_epu8)
S_BINARY(s_sub_sat, _mm512_subs_epu8)

/* The table as 16 rows of 16 entries (the high nibble picks the row, the low one the
 * entry): each row, in all four lanes, shuffled by the low nibble and kept where the high
 * nibble is the row's. */
static void s_lut(const uint8_t *src, uint8_t *dst, size_t n, const uint8_t table[256])
{
    __m512i rows[16];
    for (int h = 0; h < 16; h++)
        rows[h] = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *) (table + 16 * h)));
    const __m512i nib = _mm512_set1_epi8(0x0f);
    for (size_t i = 0; i < n; i += 64) {
        size_t m = n - i < 64 ? n - i : 64;
        __m512i v = m == 64 ? s_load(src + i) : s_load_part(src + i, m);
        __m512i lo = _mm512_and_si512(v, nib);
        __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nib);
        __m512i r = _mm512_setzero_si512();
        for (int h = 0; h < 16; h++)
            r = _mm512_mask_shuffle_epi8(r, _mm512_cmpeq_epi8_mask(hi, _mm512_set1_epi8((char) h)),
                                         rows[h], lo);
        _mm512_mask_storeu_epi8(dst + i, s_first(m), r);
    }
}

static size_t s_threshold(const uint8_t *src, uint8_t *dst, size_t n, uint8_t thr)
{
    const __m512i t = _mm512_set1_epi8((char) thr);
    const int pf = n >= S_PREFETCH_MIN;
    size_t count = 0, i = 0;
    for (; i + 64 <= n; i += 64) {
        if (pf)
            s_ahead(src + i, 1);
        __mmask64 k = _mm512_cmpgt_epu8_mask(s_load(src + i), t);
        _mm512_storeu_si512((void *) (dst + i), _mm512_movm_epi8(k));
        count += (size_t) _mm_popcnt_u64(k);
    }
    if (i < n) {
        __mmask64 in = s_first(n - i);
        __mmask64 k = _mm512_mask_cmpgt_epu8_mask(in, s_load_part(src + i, n - i), t);
        _mm512_mask_storeu_epi8(dst + i, in, _mm512_movm_epi8(k));
        count += (size_t) _mm_popcnt_u64(k);
    }
    return count;
}

static inline __mmask64 s_band64(__mmask64 in, __m512i s, __m512i lo, __m512i hi)
{
    return _mm512_mask_cmplt_epu8_mask(in, s, lo) | _mm512_mask_cmpgt_epu8_mask(in, s, hi);
}

static size_t s_band(const uint8_t *src, const uint8_t *lo, const uint8_t *hi, uint8_t *dst,
                     size_t n)
{
    const int pf = n >= S_PREFETCH_MIN;
    size_t count = 0, i = 0;
    for (; i + 64 <= n; i += 64) {
        if (pf) {
            s_ahead(src + i, 1);
            s_ahead(lo + i, 1);
            s_ahead(hi + i, 1);
        }
        __mmask64 k = s_band64(~0ull, s_load(src + i), s_load(lo + i), s_load(hi + i));
        _mm512_storeu_si512((void *) (dst + i), _mm512_movm_epi8(k));
        count += (size_t) _mm_popcnt_u64(k);
    }
    if (i < n) {
        size_t m = n - i;
        __mmask64 in = s_first(m);
        __mmask64 k = s_band64(in, s_load_part(src + i, m), s_load_part(lo + i, m),
                               s_load_part(hi + i, m));
        _mm512_mask_storeu_epi8(dst + i, in, _mm512_movm_epi8(k));
        count += (size_t) _mm_popcnt_u64(k);
    }
    return count;
}

/* Rust of m <= 64 pixels (m is a constant 64 in the main loops, so masks fold away). */
static inline void s_rust_block(const uint8_t *rgb, uint8_t *dst, size_t m)
{
    __m512i r, g, b;
    s_planes64(rgb, 3 * m, &r, &g, &b);
    _mm512_mask_storeu_epi8(dst, s_first(m), s_rust_planes(r, g, b));
}

static void s_rust(const uint8_t *rgb, uint8_t *dst, size_t n)
{
    const int pf = n >= S_PREFETCH_MIN;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        if (pf)
            s_ahead(rgb + 3 * i, 3);
        s_rust_block(rgb + 3 * i, dst + i, 64);
    }
    if (i < n)
        s_rust_block(rgb + 3 * i, dst + i, n - i);
}

static inline size_t s_front_block(const uint8_t *rgb, uint8_t *gray, uint8_t *rust, size_t m,
                                   __m512i thr)
{
    __mmask64 in = s_first(m);
    __m512i r, g, b;
    s_planes64(rgb, 3 * m, &r, &g, &b);
    __m512i ru = s_rust_planes(r, g, b);
    _mm512_mask_storeu_epi8(gray, in, s_gray_planes(r, g, b));
    _mm512_mask_storeu_epi8(rust, in, ru);
    return (size_t) _mm_popcnt_u64(_mm512_mask_cmpgt_epu8_mask(in, ru, thr));
}

static size_t s_front(const uint8_t *rgb, uint8_t *gray, uint8_t *rust, size_t n, uint8_t thr)
{
    const __m512i t = _mm512_set1_epi8((char) thr);
    const int pf = n >= S_PREFETCH_MIN;
    size_t count = 0, i = 0;
    for (; i + 64 <= n; i += 64) {
        if (pf)
            s_ahead(rgb + 3 * i, 3);
        count += s_front_block(rgb + 3 * i, gray + i, rust + i, 64, t);
    }
    if (i < n)
        count += s_front_block(rgb + 3 * i, gray + i, rust + i, n - i, t);
    return count;
}

/* m <= 32 pixels of an integral row; returns the new carry (sum of src so far). */
static inline __m512i s_integral_block(const uint8_t *src, const uint32_t *above, uint32_t *dst,
                                       size_t m, __m512i carry)
{
    __mmask32 in = (__mmask32) s_first(m);
    __mmask16 in0 = (__mmask16) in, in1 = (__mmask16) (in >> 16);
    __m512i w = _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(in, src));
    /* inclusive prefix sums within each 8-word lane (at most 32 * 255 overall) */
    w = _mm512_add_epi16(w, _mm512_bslli_epi128(w, 2));
    w = _mm512_add_epi16(w, _mm512_bslli_epi128(w, 4));
    w = _mm512_add_epi16(w, _mm512_bslli_epi128(w, 8));
    /* lane totals t0 .. t3 (word 7 of each lane, spread over its lane), then add
     * t0 + ... + t(j-1) to lane j: two shift-and-add steps across lanes, one shift */
    __m512i t = _mm512_shufflehi_epi16(w, 0xff);
    t = _mm512_unpackhi_epi64(t, t);
    t = _mm512_add_epi16(t, _mm512_maskz_shuffle_i64x2(0xfc, t, t, _MM_SHUFFLE(2, 1, 0, 0)));
    t = _mm512_add_epi16(t, _mm512_maskz_shuffle_i64x2(0xf0, t, t, _MM_SHUFFLE(1, 0, 0, 0)));
    w = _mm512_add_epi16(w, _mm512_maskz_shuffle_i64x2(0xfc, t, t, _MM_SHUFFLE(2, 1, 0, 0)));
    __m512i p0 = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(w));
    __m512i p1 = _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(w, 1));
    __m512i up0 = _mm512_maskz_loadu_epi32(in0, above);
    _mm512_mask_storeu_epi32(dst, in0, _mm512_add_epi32(_mm512_add_epi32(p0, carry), up0));
    if (m > 16) {
        __m512i up1 = _mm512_maskz_loadu_epi32(in1, above + 16);
        _mm512_mask_storeu_epi32(dst + 16, in1,
                                 _mm512_add_epi32(_mm512_add_epi32(p1, carry), up1));
    }
    return _mm512_add_epi32(carry, _mm512_permutexvar_epi32(_mm512_set1_epi32(15), p1));
}

static void s_integral_row(const uint8_t *src, const uint32_t *above, uint32_t *dst, size_t n)
{
    __m512i carry = _mm512_setzero_si512(); /* sum of src[0 .. i-1] in every dword */
    const int pf = n >= S_PREFETCH_MIN;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        if (pf && (i & 63) == 0) {
            s_ahead(src + i, 1);
            s_ahead(above + i, 4);
        }
        carry = s_integral_block(src + i, above + i, dst + i, 32, carry);
    }
    if (i < n)
        s_integral_block(src + i, above + i, dst + i, n - i, carry);
}

void rv__point_fill_avx512(rv_point_kernels_t *k)
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
    k->lut = s_lut;
}
