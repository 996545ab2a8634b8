/* test_twins.c - photographs of one object among a set of images (ra_twins.h).
 *
 * Drawn tiles with exact truth: a ground surface of random vertical streaks, stains and
 * specks (a seed per tile). A twin is the same tile photographed again: framed a few
 * pixels off and 3 % smaller, at another exposure (gain 0.55 or 1.3, clipped where
 * bright), with sensor noise. Checked: twins score well above
 * twin_min, different tiles of the same size and kind well below; three photographs of
 * one tile and two of another, shuffled among four single tiles, come back as exactly
 * those groups (each group named by its smallest index); sizes more than 10 % apart are
 * not compared; an image too small is refused by name. */
#include "rs_test.h"

#include "ra/ra_twins.h"
#include "rv/rv.h"
#include "rv/rv_error.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t s_rng(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

static double s_unif(uint64_t *s)
{
    return (double) (s_rng(s) >> 11) / 9007199254740992.0;
}

/* A tile's surface, W x H floats in [0, 1], from seed. */
static float *s_surface(uint64_t seed, int w, int h)
{
    float *f = malloc((size_t) w * h * sizeof *f);
    uint64_t s = seed * 2654435761u + 1;
    double col[1024];
    for (int x = 0; x < w; x++)
        col[x] = 0.16 * (s_unif(&s) - 0.5);
    for (int k = 0; k < 3; k++) /* a few wider streaks */
        for (int x = 1; x < w - 1; x++)
            col[x] = 0.5 * col[x] + 0.25 * (col[x - 1] + col[x + 1]);
    for (int x = 0; x < w; x++)
        col[x] += 0.06 * (s_unif(&s) - 0.5);
    double sx[6], sy[6], sr[6], sa[6];
    for (int k = 0; k < 6; k++) /* stains */
        sx[k] = s_unif(&s) * w, sy[k] = s_unif(&s) * h, sr[k] = 8 + 30 * s_unif(&s),
        sa[k] = 0.15 * (s_unif(&s) - 0.5);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double v = 0.5 + col[x] + 0.02 * (s_unif(&s) - 0.5);
            for (int k = 0; k < 6; k++) {
                double d2 = ((x - sx[k]) * (x - sx[k]) + (y - sy[k]) * (y - sy[k])) /
                            (sr[k] * sr[k]);
                v += sa[k] * exp(-d2);
            }
            f[(size_t) y * w + x] = (float) v;
        }
    for (int k = 0; k < 150; k++) { /* dark specks */
        int cx = (int) (s_unif(&s) * w), cy = (int) (s_unif(&s) * h);
        for (int y = cy - 1; y <= cy + 1; y++)
            for (int x = cx - 1; x <= cx + 1; x++)
                if (x >= 0 && y >= 0 && x < w && y < h)
                    f[(size_t) y * w + x] -= 0.12f;
    }
    return f;
}

/* A photograph of the surface: the window at (ox, oy) of w x h, gain, offset, noise. */
static rv_image_t *s_photo(const float *f, int fw, int ox, int oy, int w, int h, double gain,
                           double offset, uint64_t noise_seed)
{
    rv_image_t *img = rv_image_new(w, h, RV_GRAY8);
    rv_view_t v = rv_image_view(img);
    uint64_t s = noise_seed * 11400714819323198485u + 7;
    for (int y = 0; y < h; y++) {
        uint8_t *row = rv_view_row(&v, y);
        for (int x = 0; x < w; x++) {
            double g = offset + gain * 255 * f[(size_t) (y + oy) * fw + x + ox] +
                       4 * (s_unif(&s) - 0.5);
            row[x] = (uint8_t) (g < 0 ? 0 : g > 255 ? 255 : lrint(g));
        }
    }
    return img;
}

int main(void)
{
    enum { FW = 320, FH = 300 };
    ra_twins_params_t p;
    ra_twins_params_init(&p);
    /* nine photographs: tile A three times (indices 1, 4, 7), tile B twice (2, 6), four
     * other tiles once each (0, 3, 5, 8), every one about 300 x 280 */
    const int tile_of[9] = {10, 0, 1, 11, 0, 12, 1, 13, 0};
    const int shot_of[9] = {0, 0, 0, 0, 1, 0, 1, 0, 2};
    float *surf[14] = {0};
    rv_image_t *img[9];
    ra_twins_sig_t *sig[9];
    for (int i = 0; i < 9; i++) {
        int t = tile_of[i], k = shot_of[i];
        if (!surf[t])
            surf[t] = s_surface((uint64_t) t + 100, FW, FH);
        /* the second and third shots: framed 5-9 px off, 3 % smaller, darker or brighter */
        int w = k ? 291 : 300, h = k ? 272 : 280, ox = 4 + 5 * k, oy = 6 + 3 * k;
        double gain = k == 1 ? 0.55 : k == 2 ? 1.3 : 1.0, off = k == 1 ? 6 : 0;
        img[i] = s_photo(surf[t], FW, ox, oy, w, h, gain, off, (uint64_t) i + 1);
        sig[i] = ra_twins_sig(img[i]);
        RS_CHECK(sig[i] != NULL);
    }
    /* twins against different tiles, at the fine level */
    double twin_lo = 2, other_hi = -2;
    for (int i = 0; i < 9; i++)
        for (int j = i + 1; j < 9; j++) {
            double sc = ra_twins_score(sig[i], sig[j], 4, p.size_tol);
            if (tile_of[i] == tile_of[j])
                twin_lo = fmin(twin_lo, sc);
            else
                other_hi = fmax(other_hi, sc);
        }
    printf("twins: lowest score %.3f; different tiles: highest %.3f (twin_min %.2f)\n", twin_lo,
           other_hi, p.twin_min);
    RS_CHECKF(twin_lo >= p.twin_min + 0.05, "twins score %.3f", twin_lo);
    RS_CHECKF(other_hi <= p.twin_min - 0.1, "different tiles score %.3f", other_hi);
    size_t group[9];
    int nt = ra_twins_group(sig, 9, &p, group);
    RS_CHECK_EQ(nt, 5);
    const size_t want[9] = {0, 1, 2, 3, 1, 5, 2, 7, 1};
    for (int i = 0; i < 9; i++)
        RS_CHECKF(group[i] == want[i], "image %d: group %zu, want %zu", i, group[i], want[i]);
    /* sides more than 10 % apart are not compared */
    rv_image_t *small = s_photo(surf[0], FW, 4, 6, 240, 220, 1.0, 0, 99);
    ra_twins_sig_t *ss = ra_twins_sig(small);
    RS_CHECK(ss != NULL);
    RS_CHECK(ra_twins_score(sig[1], ss, 4, p.size_tol) == -2);
    /* an image too small, and no image */
    rv_image_t *tiny = rv_image_new(20, 40, RV_GRAY8);
    RS_CHECK(ra_twins_sig(tiny) == NULL);
    RS_CHECK_MSG(rv_last_error(), "20x40");
    RS_CHECK(ra_twins_sig(NULL) == NULL);
    RS_CHECK(ra_twins_score(NULL, sig[0], 4, 0.1) == -2);
    ra_twins_sig_free(&ss);
    RS_CHECK(ss == NULL);
    rv_image_destroy(&small);
    rv_image_destroy(&tiny);
    for (int i = 0; i < 9; i++) {
        ra_twins_sig_free(&sig[i]);
        rv_image_destroy(&img[i]);
    }
    for (int t = 0; t < 14; t++)
        free(surf[t]);
    return rs_test_end("app.twins");
}
