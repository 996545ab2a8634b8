/* rv_kernels_point_avx2.c - pointwise kernels for AVX2 (compiled with -mavx2 only).
 *
 * 32 pixels per step; the tail of a row (fewer than 32 pixels) goes to the scalar kernels.
 * RGB is handled two ways: gray_from_rgb gathers each 4-pixel group (12 bytes) into a
 * 128-bit lane and forms 16-bit pairs with pshufb for pmaddwd; rust and front split RGB
 * into byte planes with pshufb (three shuffles and two ORs per plane and lane). Counts use
 * movemask + popcnt. hist stays scalar (rv_kernels_point_scalar.c). */
#include "rv_kernels.h"

#include <immintrin.h>

#define X (-1) /* pshufb index that writes a zero byte */

static inline __m256i s_load(const uint8_t *p)
{
    return _mm256_loadu_si256((const __m256i *) p);
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

static inline void s_store(uint8_t *p, __m256i v)
{
    _mm256_storeu_si256((__m256i *) p, v);
}

static inline __m256i s_ge_u8(__m256i a, __m256i b)
{
    return _mm256_cmpeq_epi8(_mm256_max_epu8(a, b), a);
}

/* src > thr for unsigned bytes, via the signed compare on flipped sign bits. */
static inline __m256i s_gt_u8(__m256i v, __m256i thr_flipped)
{
    return _mm256_cmpgt_epi8(_mm256_xor_si256(v, _mm256_set1_epi8((char) 0x80)), thr_flipped);
}

static inline size_t s_popcount(__m256i m)
{
    return (size_t) _mm_popcnt_u32((unsigned) _mm256_movemask_epi8(m));
}

/* Gray of 4 pixels per lane: v holds R G B x 4 in the low 12 bytes of each lane. */
static inline __m256i s_gray_groups(__m256i v)
{
    const __m256i to_rg = _mm256_setr_epi8(0, X, 1, X, 3, X, 4, X, 6, X, 7, X, 9, X, 10, X,
                                           0, X, 1, X, 3, X, 4, X, 6, X, 7, X, 9, X, 10, X);
    const __m256i to_b = _mm256_setr_epi8(2, X, X, X, 5, X, X, X, 8, X, X, X, 11, X, X, X,
                                          2, X, X, X, 5, X, X, X, 8, X, X, X, 11, X, X, X);
    const __m256i one_hi = _mm256_set1_epi32(1 << 16); /* the word pairs (B, 1) */
    const __m256i wrg = _mm256_set1_epi32(4899 | (9617 << 16));
    const __m256i wb1 = _mm256_set1_epi32(1868 | (8192 << 16));
    __m256i rg = _mm256_shuffle_epi8(v, to_rg);
    __m256i b1 = _mm256_or_si256(_mm256_shuffle_epi8(v, to_b), one_hi);
    __m256i sum = _mm256_add_epi32(_mm256_madd_epi16(rg, wrg), _mm256_madd_epi16(b1, wb1));
    return _mm256_srli_epi32(sum, 14);
}

/* Gray of the 32 pixels at p (96 bytes; reads nothing outside them). */
static inline __m256i s_gray32(const uint8_t *p)
{
    /* group g = pixels 4g .. 4g+3 = bytes 12g .. 12g+11; v_k holds groups 2k, 2k+1 */
    const __m256i spread = _mm256_setr_epi32(0, 1, 2, 0, 3, 4, 5, 0);
    const __m256i spread_end = _mm256_setr_epi32(2, 3, 4, 0, 5, 6, 7, 0); /* loaded at 64 */
    __m256i s0 = s_gray_groups(_mm256_permutevar8x32_epi32(s_load(p), spread));
    __m256i s1 = s_gray_groups(_mm256_permutevar8x32_epi32(s_load(p + 24), spread));
    __m256i s2 = s_gray_groups(_mm256_permutevar8x32_epi32(s_load(p + 48), spread));
    __m256i s3 = s_gray_groups(_mm256_permutevar8x32_epi32(s_load(p + 64), spread_end));
    /* the packs work per lane: dwords come out as groups 0 2 4 6 1 3 5 7 */
    __m256i v = _mm256_packus_epi16(_mm256_packs_epi32(s0, s1), _mm256_packs_epi32(s2, s3));
    return _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* Split the 32 pixels at p (96 bytes) into R, G and B planes. With c0 .. c5 the 16-byte
 * chunks, lane 0 works on c0 c1 c2 (pixels 0-15) and lane 1 on c3 c4 c5 (16-31). */
static inline void s_planes32(const uint8_t *p, __m256i *r, __m256i *g, __m256i *b)
{
    /* plane byte q <- byte 3q + channel of the 48, when it lies in that chunk */
    const __m256i r0 = _mm256_setr_epi8(0, 3, 6, 9, 12, 15, X, X, X, X, X, X, X, X, X, X,
                                        0, 3, 6, 9, 12, 15, X, X, X, X, X, X, X, X, X, X);
    const __m256i r1 = _mm256_setr_epi8(X, X, X, X, X, X, 2, 5, 8, 11, 14, X, X, X, X, X,
                                        X, X, X, X, X, X, 2, 5, 8, 11, 14, X, X, X, X, X);
    const __m256i r2 = _mm256_setr_epi8(X, X, X, X, X, X, X, X, X, X, X, 1, 4, 7, 10, 13,
                                        X, X, X, X, X, X, X, X, X, X, X, 1, 4, 7, 10, 13);
    const __m256i g0 = _mm256_setr_epi8(1, 4, 7, 10, 13, X, X, X, X, X, X, X, X, X, X, X,
                                        1, 4, 7, 10, 13, X, X, X, X, X, X, X, X, X, X, X);
    const __m256i g1 = _mm256_setr_epi8(X, X, X, X, X, 0, 3, 6, 9, 12, 15, X, X, X, X, X,
                                        X, X, X, X, X, 0, 3, 6, 9, 12, 15, X, X, X, X, X);
    const __m256i g2 = _mm256_setr_epi8(X, X, X, X, X, X, X, X, X, X, X, 2, 5, 8, 11, 14,
                                        X, X, X, X, X, X, X, X, X, X, X, 2, 5, 8, 11, 14);
    const __m256i b0 = _mm256_setr_epi8(2, 5, 8, 11, 14, X, X, X, X, X, X, X, X, X, X, X,
                                        2, 5, 8, 11, 14, X, X, X, X, X, X, X, X, X, X, X);
    const __m256i b1 = _mm256_setr_epi8(X, X, X, X, X, 1, 4, 7, 10, 13, X, X, X, X, X, X,
                                        X, X, X, X, X, 1, 4, 7, 10, 13, X, X, X, X, X, X);
    const __m256i b2 = _mm256_setr_epi8(X, X, X, X, X, X, X, X, X, X, 0, 3, 6, 9, 12, 15,
                                        X, X, X, X, X, X, X, X, X, X, 0, 3, 6, 9, 12, 15);
    __m256i z0 = s_load(p), z1 = s_load(p + 32), z2 = s_load(p + 64);
    __m256i a = _mm256_blend_epi32(z0, z1, 0xf0);          /* c0 | c3 */
    __m256i m = _mm256_permute2x128_si256(z0, z2, 0x21);   /* c1 | c4 */
    __m256i c = _mm256_blend_epi32(z1, z2, 0xf0);          /* c2 | c5 */
    *r = _mm256_or_si256(_mm256_or_si256(_mm256_shuffle_epi8(a, r0), _mm256_shuffle_epi8(m, r1)),
                         _mm256_shuffle_epi8(c, r2));
    *g = _mm256_or_si256(_mm256_or_si256(_mm256_shuffle_epi8(a, g0), _mm256_shuffle_epi8(m, g1)),
                         _mm256_shuffle_epi8(c, g2));
    *b = _mm256_or_si256(_mm256_or_si256(_mm256_shuffle_epi8(a, b0), _mm256_shuffle_epi8(m, b1)),
                         _mm256_shuffle_epi8(c, b2));
}

/* Gray from planes (front), with pmaddubsw (unsigned bytes times signed 7-bit weights):
 * splitting each weight as 128 a + b (4899 = 38*128 + 35, 9617 = 75*128 + 17,
 * 1868 = 14*128 + 76) and the rounding term as 128 * 64 gives
 *   H = 38 R + 75 G + 14 B + 64 <= 32449,   L = 35 R + 17 G + 76 B <= 32640,
 * both exact in signed 16 bits (the byte pairs are (R, G) and (B, 1)), and
 *   (128 H + L) >> 14 = (H + (L >> 7)) >> 7.
 * The unpacks and the pack work within 128-bit lanes, so pixels keep their order. */
static inline __m256i s_gray_planes(__m256i r, __m256i g, __m256i b)
{
    const __m256i one = _mm256_set1_epi8(1);
    const __m256i wh_rg = _mm256_set1_epi16(38 | (75 << 8));
    const __m256i wh_b1 = _mm256_set1_epi16(14 | (64 << 8));
    const __m256i wl_rg = _mm256_set1_epi16(35 | (17 << 8));
    const __m256i wl_b1 = _mm256_set1_epi16(76);
    __m256i rg[2] = {_mm256_unpacklo_epi8(r, g), _mm256_unpackhi_epi8(r, g)};
    __m256i b1[2] = {_mm256_unpacklo_epi8(b, one), _mm256_unpackhi_epi8(b, one)};
    __m256i y[2];
    for (int k = 0; k < 2; k++) {
        __m256i h = _mm256_add_epi16(_mm256_maddubs_epi16(rg[k], wh_rg),
                                    _mm256_maddubs_epi16(b1[k], wh_b1));
        __m256i l = _mm256_add_epi16(_mm256_maddubs_epi16(rg[k], wl_rg),
                                    _mm256_maddubs_epi16(b1[k], wl_b1));
        y[k] = _mm256_srli_epi16(_mm256_add_epi16(h, _mm256_srli_epi16(l, 7)), 7);
    }
    return _mm256_packus_epi16(y[0], y[1]);
}

/* Rust likelihood from planes, in bytes; see s_rust_planes in rv_kernels_point_sse2.c for
 * why this equals the scalar definition. */
static inline __m256i s_rust_planes(__m256i r, __m256i g, __m256i b)
{
    __m256i c = _mm256_subs_epu8(r, b);
    __m256i d = _mm256_subs_epu8(g, b);
    __m256i ok = _mm256_and_si256(s_ge_u8(c, _mm256_set1_epi8(24)),
                                  s_ge_u8(r, _mm256_set1_epi8(48)));
    __m256i d8 = _mm256_adds_epu8(d, d);
    d8 = _mm256_adds_epu8(d8, d8);
    d8 = _mm256_adds_epu8(d8, d8); /* min(255, 8d) */
    ok = _mm256_and_si256(ok, s_ge_u8(d8, c));
    __m256i q1 = _mm256_and_si256(_mm256_srli_epi16(c, 2), _mm256_set1_epi8(0x3f));
    q1 = _mm256_add_epi8(q1, _mm256_set1_epi8(1));
    __m256i too_yellow = s_ge_u8(d, _mm256_avg_epu8(c, q1));
    __m256i val = _mm256_adds_epu8(_mm256_adds_epu8(c, c), c); /* min(255, 3c) */
    return _mm256_andnot_si256(too_yellow, _mm256_and_si256(ok, val));
}

static void s_gray_from_rgb(const uint8_t *rgb, uint8_t *gray, size_t n)
{
    const int pf = n >= S_PREFETCH_MIN;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        if ((pf && (i & 63) == 0))
            s_ahead(rgb + 3 * i, 3);
        s_store(gray + i, s_gray32(rgb + 3 * i));
    }
    rv__gray_from_rgb_scalar(rgb + 3 * i, gray + i, n - i);
}

static void s_absdiff(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n)
{
    const int pf = n >= S_PREFETCH_MIN;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        if ((pf && (i & 63) == 0)) {
            s_ahead(a + i, 1);
            s_ahead(b + i, 1);
        }
        __m256i x = s_load(a + i), y = s_load(b + i);
        s_store(dst + i, _mm256_or_si256(_mm256_subs_epu8(x, y), _mm256_subs_epu8(y, x)));
    }
    rv__absdiff_scalar(a + i, b + i, dst + i, n - i);
}

static void s_max(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n)
{
    const int pf = n >= S_PREFETCH_MIN;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        if ((pf && (i & 63) == 0)) {
            s_ahead(a + i, 1);
            s_ahead(b + i, 1);
        }
        s_store(dst + i, _mm256_max_epu8(s_load(a + i), s_load(b + i)));
    }
    rv__max_scalar(a + i, b + i, dst + i, n - i);
}

static void s_min(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n)
{
    const int pf = n >= S_PREFETCH_MIN;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        if ((pf && (i & 63) == 0)) {
            s_ahead(a + i, 1);
            s_ahead(b + i, 1);
        }
        s_store(dst + i, _mm256_min_epu8(s_load(a + i), s_load(b + i)));
    }
    rv__min_scalar(a + i, b + i, dst + i, n - i);
}

static void s_sub_sat(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n)
{
    const int pf = n >= S_PREFETCH_MIN;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        if ((pf && (i & 63) == 0)) {
            s_ahead(a + i, 1);
            s_ahead(b + i, 1);
        }
        s_store(dst + i, _mm256_subs_epu8(s_load(a + i), s_load(b + i)));
    }
    rv__sub_sat_scalar(a + i, b + i, dst + i, n - i);
}

static size_t s_threshold(const uint8_t *src, uint8_t *dst, size_t n, uint8_t thr)
{
    const __m256i t = _mm256_set1_epi8((char) (thr ^ 0x80));
    const int pf = n >= S_PREFETCH_MIN;
    size_t count = 0, i = 0;
    for (; i + 32 <= n; i += 32) {
        if ((pf && (i & 63) == 0))
            s_ahead(src + i, 1);
        __m256i m = s_gt_u8(s_load(src + i), t);
        s_store(dst + i, m);
        count += s_popcount(m);
    }
    return count + rv__threshold_scalar(src + i, dst + i, n - i, thr);
}

static size_t s_band(const uint8_t *src, const uint8_t *lo, const uint8_t *hi, uint8_t *dst,
                     size_t n)
{
    const __m256i z = _mm256_setzero_si256();
    const int pf = n >= S_PREFETCH_MIN;
    size_t count = 0, i = 0;
    for (; i + 32 <= n; i += 32) {
        if ((pf && (i & 63) == 0)) {
            s_ahead(src + i, 1);
            s_ahead(lo + i, 1);
            s_ahead(hi + i, 1);
        }
        __m256i s = s_load(src + i);
        /* zero exactly where lo <= s <= hi */
        __m256i off = _mm256_or_si256(_mm256_subs_epu8(s_load(lo + i), s),
                                      _mm256_subs_epu8(s, s_load(hi + i)));
        __m256i m = _mm256_xor_si256(_mm256_cmpeq_epi8(off, z), _mm256_set1_epi8(-1));
        s_store(dst + i, m);
        count += s_popcount(m);
    }
    return count + rv__band_scalar(src + i, lo + i, hi + i, dst + i, n - i);
}

static void s_rust(const uint8_t *rgb, uint8_t *dst, size_t n)
{
    const int pf = n >= S_PREFETCH_MIN;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        if ((pf && (i & 63) == 0))
            s_ahead(rgb + 3 * i, 3);
        __m256i r, g, b;
        s_planes32(rgb + 3 * i, &r, &g, &b);
        s_store(dst + i, s_rust_planes(r, g, b));
    }
    rv__rust_scalar(rgb + 3 * i, dst + i, n - i);
}

static size_t s_front(const uint8_t *rgb, uint8_t *gray, uint8_t *rust, size_t n, uint8_t thr)
{
    const __m256i t = _mm256_set1_epi8((char) (thr ^ 0x80));
    const int pf = n >= S_PREFETCH_MIN;
    size_t count = 0, i = 0;
    for (; i + 32 <= n; i += 32) {
        if ((pf && (i & 63) == 0))
            s_ahead(rgb + 3 * i, 3);
        __m256i r, g, b;
        s_planes32(rgb + 3 * i, &r, &g, &b);
        __m256i ru = s_rust_planes(r, g, b);
        s_store(gray + i, s_gray_planes(r, g, b));
        s_store(rust + i, ru);
        count += s_popcount(s_gt_u8(ru, t));
    }
    return count + rv__front_scalar(rgb + 3 * i, gray + i, rust + i, n - i, thr);
}

static void s_integral_row(const uint8_t *src, const uint32_t *above, uint32_t *dst, size_t n)
{
    __m256i carry = _mm256_setzero_si256(); /* sum of src[0 .. i-1] in every dword */
    const int pf = n >= S_PREFETCH_MIN;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        if ((pf && (i & 63) == 0)) {
            s_ahead(src + i, 1);
            s_ahead(above + i, 4);
        }
        __m256i w = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (src + i)));
        /* inclusive prefix sums within each 8-word lane (at most 16 * 255 overall) */
        w = _mm256_add_epi16(w, _mm256_slli_si256(w, 2));
        w = _mm256_add_epi16(w, _mm256_slli_si256(w, 4));
        w = _mm256_add_epi16(w, _mm256_slli_si256(w, 8));
        /* add lane 0's total (its word 7) to every word of lane 1 */
        __m256i last = _mm256_shufflehi_epi16(w, 0xff);
        last = _mm256_unpackhi_epi64(last, last);
        w = _mm256_add_epi16(w, _mm256_permute2x128_si256(last, last, 0x08));
        __m256i p0 = _mm256_cvtepu16_epi32(_mm256_castsi256_si128(w));
        __m256i p1 = _mm256_cvtepu16_epi32(_mm256_extracti128_si256(w, 1));
        __m256i up0 = _mm256_loadu_si256((const __m256i *) (above + i));
        __m256i up1 = _mm256_loadu_si256((const __m256i *) (above + i + 8));
        _mm256_storeu_si256((__m256i *) (dst + i),
                            _mm256_add_epi32(_mm256_add_epi32(p0, carry), up0));
        _mm256_storeu_si256((__m256i *) (dst + i + 8),
                            _mm256_add_epi32(_mm256_add_epi32(p1, carry), up1));
        carry = _mm256_add_epi32(carry, _mm256_permutevar8x32_epi32(p1, _mm256_set1_epi32(7)));
    }
    if (i < n) {
        uint32_t c = (uint32_t) _mm256_extract_epi32(carry, 0);
        /* the scalar tail restarts its running sum at 0; add the carry afterwards */
        rv__integral_row_scalar(src + i, above + i, dst + i, n - i);
        for (size_t j = i; j < n; j++)
            dst[j] += c;
    }
}

void rv__point_fill_avx2(rv_point_kernels_t *k)
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
