/* rv_kernels_point_scalar.c - the pointwise kernels in plain C: the specification that
 * every instruction set must match bit for bit (tests/vision/test_point_equiv.c), and the
 * fallback for entries a set does not implement. Clarity first; only hist is tuned here
 * because no vector set replaces it.
 *
 * RUST LIKELIHOOD (integer only; no HSV, no floats). With R, G, B the bytes of a pixel
 * and c = R - B (the chroma when R >= G >= B):
 *
 *     rusty      = R >= G && G >= B              hue in the red..yellow sextant
 *               && c >= 24                       saturation floor (absolute chroma)
 *               && R >= 48                       value floor (too dark to judge)
 *               && 8 * (G - B) >= c              hue >= 7.5 degrees (not pure red)
 *               && 8 * (G - B) <= 5 * c          hue <= 37.5 degrees (not orange-yellow)
 *     likelihood = rusty ? min(255, 3 * c) : 0
 *
 * In that sextant HSV's hue is 60 * (G - B) / c degrees, so the last two lines bound the
 * hue to [7.5, 37.5] degrees without a division. The likelihood grows with chroma: a
 * strongly coloured rust (c >= 85) saturates at 255, a faint one scores low. Grays,
 * blues, greens, saturated whites and pure reds score 0.
 *
 * Vector sets may use any equivalent formulation; for instance, given c >= 24 the two hue
 * bounds already imply R > G > B. */
#include "rv_kernels.h"

#include <string.h>

/* BT.601 luma in 14-bit fixed point (weights sum to 16384), rounded to nearest. */
static inline uint8_t s_gray(uint8_t r, uint8_t g, uint8_t b)
{
    return (uint8_t) ((4899u * r + 9617u * g + 1868u * b + 8192u) >> 14);
}

static inline uint8_t s_rust(uint8_t r, uint8_t g, uint8_t b)
{
    int c = (int) r - (int) b;
    int d = (int) g - (int) b;
    int rusty = r >= g && g >= b && c >= 24 && r >= 48 && 8 * d >= c && 8 * d <= 5 * c;
    if (!rusty)
        return 0;
    return (uint8_t) (3 * c < 255 ? 3 * c : 255);
}

void rv__gray_from_rgb_scalar(const uint8_t *rgb, uint8_t *gray, size_t n)
{
    for (size_t i = 0; i < n; i++)
        gray[i] = s_gray(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]);
}

void rv__absdiff_scalar(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (uint8_t) (a[i] > b[i] ? a[i] - b[i] : b[i] - a[i]);
}

void rv__max_scalar(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = a[i] > b[i] ? a[i] : b[i];
}

void rv__min_scalar(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = a[i] < b[i] ? a[i] : b[i];
}

void rv__sub_sat_scalar(const uint8_t *a, const uint8_t *b, uint8_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (uint8_t) (a[i] > b[i] ? a[i] - b[i] : 0);
}

void rv__lut_scalar(const uint8_t *src, uint8_t *dst, size_t n, const uint8_t table[256])
{
    for (size_t i = 0; i < n; i++)
        dst[i] = table[src[i]];
}

size_t rv__threshold_scalar(const uint8_t *src, uint8_t *dst, size_t n, uint8_t thr)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        int on = src[i] > thr;
        dst[i] = on ? 255 : 0;
        count += (size_t) on;
    }
    return count;
}

size_t rv__band_scalar(const uint8_t *src, const uint8_t *lo, const uint8_t *hi, uint8_t *dst,
                       size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        int out = (src[i] < lo[i]) | (src[i] > hi[i]); /* | not ||: no branch per pixel */
        dst[i] = out ? 255 : 0;
        count += (size_t) out;
    }
    return count;
}

void rv__rust_scalar(const uint8_t *rgb, uint8_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = s_rust(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]);
}

size_t rv__front_scalar(const uint8_t *rgb, uint8_t *gray, uint8_t *rust, size_t n,
                        uint8_t thr)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t r = rgb[3 * i], g = rgb[3 * i + 1], b = rgb[3 * i + 2];
        gray[i] = s_gray(r, g, b);
        rust[i] = s_rust(r, g, b);
        count += (size_t) (rust[i] > thr);
    }
    return count;
}

/* Below this many pixels the four sub-histograms cost more to clear and merge (4 KB and
 * 1024 counters) than they save. */
#define S_HIST_SPLIT 1024

void rv__hist_scalar(const uint8_t *src, size_t n, uint32_t hist[256])
{
    if (n < S_HIST_SPLIT) {
        for (size_t i = 0; i < n; i++)
            hist[src[i]]++;
        return;
    }
    /* Four sub-histograms: runs of equal values (flat regions, saturated areas) would
     * otherwise chain every increment through the same counter (store-to-load forwarding,
     * about 5 cycles each); with four, consecutive pixels update different counters. */
    uint32_t sub[4][256];
    memset(sub, 0, sizeof sub);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        sub[0][src[i]]++;
        sub[1][src[i + 1]]++;
        sub[2][src[i + 2]]++;
        sub[3][src[i + 3]]++;
    }
    for (; i < n; i++)
        sub[0][src[i]]++;
    for (int v = 0; v < 256; v++)
        hist[v] += sub[0][v] + sub[1][v] + sub[2][v] + sub[3][v];
}

void rv__integral_row_scalar(const uint8_t *src, const uint32_t *above, uint32_t *dst,
                             size_t n)
{
    uint32_t run = 0; /* src[0] + ... + src[i]; at most 255 * 65535, no overflow */
    for (size_t i = 0; i < n; i++) {
        run += src[i];
        dst[i] = above[i] + run; /* above[i] is read before dst[i] is written */
    }
}

void rv__point_fill_scalar(rv_point_kernels_t *k)
{
    k->gray_from_rgb = rv__gray_from_rgb_scalar;
    k->absdiff = rv__absdiff_scalar;
    k->max = rv__max_scalar;
    k->min = rv__min_scalar;
    k->sub_sat = rv__sub_sat_scalar;
    k->threshold = rv__threshold_scalar;
    k->band = rv__band_scalar;
    k->rust = rv__rust_scalar;
    k->front = rv__front_scalar;
    k->lut = rv__lut_scalar;
    k->hist = rv__hist_scalar;
    k->integral_row = rv__integral_row_scalar;
}
