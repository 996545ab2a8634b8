/* test_twins.c - photographs of one object among a set of images (ra_twins.h).
 *
 * Drawn tiles with exact truth: a ground surface of random vertical streaks, stains and
 * specks (a seed per tile). A twin is the same tile photographed again: framed a few
 * pixels off and 3 % smaller, at another exposure (gain 0.55 or 1.3, clipped where
 * bright), with sensor noise. Checked: twins score well above
 * twin_min, different tiles of the same size and kind well below; three photographs of
 * one tile and two of another, shuffled among four single tiles, come back as exactly
 * those groups (each group named by its smallest index); sizes more than 10 % apart are
 * not compared; an image too small is refused by name.
 *
 * Drawn round parts (ra_twins_sig_round), one design: a bore, a bright ring, a dark cavity
 * with seven curved blades, a grooved face, seen tilted (an ellipse), lit from one side
 * that stays with the camera. What tells parts apart is their own detail: specks and a few
 * nicks (a seed per part) on the part's plane. A copy of a photograph is turned by 37 or
 * 200 degrees, or mirrored (the source set's augmentation), or re-exposed (gain 0.6), each
 * with new noise; a second photograph has the part turned on the fixture; distinct parts of
 * the same design are photographed alike. Checked: one part's photographs score well above
 * round_min, distinct parts below it (with the blades three times as contrasted, 0.24 of
 * full scale against 0.08, they reached 0.142 and merged: the design's corners leak);
 * the score does not depend on the order; the groups come back exactly; a round and a
 * shift signature are not compared; a blank image has no part. */
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

/* ---- round parts ---- */

enum { RW = 300, RTEX = 241 }; /* the photographs' side; the part's plane, px (radius 120) */

/* A part's own detail on its plane (RTEX x RTEX, centre at RTEX / 2): specks and nicks. */
static float *s_part_detail(uint64_t seed)
{
    float *t = calloc((size_t) RTEX * RTEX, sizeof *t);
    uint64_t s = seed * 0x9E3779B97F4A7C15u + 3;
    double c = RTEX / 2;
    for (int k = 0; k < 420; k++) {
        double rho = 20 + 100 * sqrt(s_unif(&s)), th = 2 * M_PI * s_unif(&s);
        double px = c + rho * cos(th), py = c + rho * sin(th);
        double sg = 0.9 + 0.9 * s_unif(&s), amp = (s_unif(&s) < 0.6 ? -0.16 : 0.12);
        if (k < 3) /* nicks near the rim */
            sg = 2.5, amp = -0.35, px = c + 112 * cos(th), py = c + 112 * sin(th);
        int r = (int) ceil(3 * sg);
        for (int y = (int) py - r; y <= (int) py + r; y++)
            for (int x = (int) px - r; x <= (int) px + r; x++)
                if (x >= 0 && y >= 0 && x < RTEX && y < RTEX)
                    t[(size_t) y * RTEX + x] += (float) (amp * exp(-0.5 * ((x - px) * (x - px) + (y - py) * (y - py)) / (sg * sg)));
    }
    return t;
}

static double s_tex(const float *t, double x, double y)
{
    if (!(x >= 0 && y >= 0 && x < RTEX - 1 && y < RTEX - 1))
        return 0;
    int x0 = (int) x, y0 = (int) y;
    double fx = x - x0, fy = y - y0;
    const float *r0 = t + (size_t) y0 * RTEX, *r1 = r0 + RTEX;
    return (1 - fy) * ((1 - fx) * r0[x0] + fx * r0[x0 + 1]) + fy * ((1 - fx) * r1[x0] + fx * r1[x0 + 1]);
}

/* A step over about a pixel at the part's scale (the lens draws no staircase). */
static double s_step(double x)
{
    return 1 / (1 + exp(-x));
}

/* The design's grey at radius rho (0..1 of the part, 120 px) and angle th (the part's
 * own): its edges soft over about a pixel. */
static double s_design(double rho, double th)
{
    double k = 120 / 0.6; /* per unit of rho */
    double blade = 0.08 * s_step(10 * (sin(7 * (th + 2.2 * rho)) - 0.55));
    double v = 0.45 + 0.40 * s_step(k * (rho - 0.18));            /* bore -> bright ring */
    v += (0.10 + blade - 0.85) * s_step(k * (rho - 0.25));         /* -> the cavity */
    v += (0.68 - 0.1 * (rho - 0.55) - 0.10 - blade) * s_step(k * (rho - 0.55)); /* -> face */
    v -= 0.35 * exp(-0.5 * pow((rho - 0.61) * 120 / 1.2, 2));     /* a groove */
    return v;
}

/* A photograph of the part whose detail is det: the part turned by alpha on the fixture
 * (degrees), the photograph then turned by beta about its centre and mirrored (mirror), at
 * gain, with noise from noise_seed. The part is tilted (b = 0.93 a, axis at 20 degrees),
 * lit from the upper left (the light stays with the camera). */
static rv_image_t *s_round_photo(const float *det, double alpha, double beta, int mirror,
                                 double gain, uint64_t noise_seed)
{
    rv_image_t *img = rv_image_new(RW, RW, RV_GRAY8);
    rv_view_t v = rv_image_view(img);
    uint64_t s = noise_seed * 11400714819323198485u + 5;
    double c = RW / 2.0, al = alpha * M_PI / 180, be = beta * M_PI / 180, ps = 20 * M_PI / 180;
    for (int y = 0; y < RW; y++) {
        uint8_t *row = rv_view_row(&v, y);
        for (int x = 0; x < RW; x++) {
            /* undo the copy's mirror and turn: the original photograph's point */
            double dx = (mirror ? -1 : 1) * (x - c), dy = y - c;
            double px = cos(be) * dx + sin(be) * dy, py = -sin(be) * dx + cos(be) * dy;
            /* the part's plane: undo the tilt, then the part's own turn */
            double u = cos(ps) * px + sin(ps) * py, w = (-sin(ps) * px + cos(ps) * py) / 0.93;
            double rho = hypot(u, w) / 120, th = atan2(w, u) - al;
            double light = 1 + 0.18 * cos(atan2(py, px) + 2.4);
            double val = 0.34 + 0.03 * px / c; /* the fixture */
            if (rho <= 1.05) {
                double tu = RTEX / 2 + 120 * rho * cos(th), tv = RTEX / 2 + 120 * rho * sin(th);
                double in = s_step((1 - rho) * 120 / 0.6);
                val += in * ((s_design(rho, th) + s_tex(det, tu, tv)) * light - val);
            }
            double g = gain * 255 * val + 3 * (s_unif(&s) - 0.5);
            row[x] = (uint8_t) (g < 0 ? 0 : g > 255 ? 255 : lrint(g));
        }
    }
    return img;
}

static void test_round(void)
{
    ra_twins_params_t p;
    ra_twins_params_init(&p);
    /* eleven photographs: part 0 five times (0: as photographed; 3: the photograph turned
     * by 37 degrees; 6: mirrored; 8: re-exposed, gain 0.6; 10: a second photograph, the
     * part turned by 120 degrees on the fixture, gain 0.8), part 1 twice (1; 5: the
     * photograph turned by 200 degrees and mirrored), parts 2, 3, 4 and 5 once (2, 4, 7,
     * 9), each lying turned its own way: all one design */
    enum { N = 11 };
    const int part_of[N] = {0, 1, 2, 0, 3, 1, 0, 4, 0, 5, 0};
    const double turn[N] = {0, 15, 70, 37, 140, 200, 0, 250, 0, 300, 120};
    const int mirror[N] = {0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0};
    const double gain[N] = {1, 1, 1, 1, 1, 1, 1, 1, 0.6, 1, 0.8};
    float *det[6] = {0};
    rv_image_t *img[N];
    ra_twins_sig_t *sig[N];
    for (int i = 0; i < N; i++) {
        int q = part_of[i];
        if (!det[q])
            det[q] = s_part_detail((uint64_t) q + 7);
        /* distinct parts lie on the fixture turned differently; copies turn the photograph */
        int copy = i == 3 || i == 5 || i == 6 || i == 8;
        img[i] = s_round_photo(det[q], copy ? (q == 1 ? 15 : 0) : turn[i], copy ? turn[i] : 0,
                               mirror[i], gain[i], (uint64_t) i + 1);
        sig[i] = ra_twins_sig_round(img[i]);
        RS_CHECKF(sig[i] != NULL, "round part %d: %s", i, rv_last_error());
    }
    double twin_lo = 2, twin_hi = -2, other_lo = 2, other_hi = -2;
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) {
            double sc = ra_twins_score(sig[i], sig[j], 4, p.size_tol);
            RS_CHECKF(fabs(sc - ra_twins_score(sig[j], sig[i], 4, p.size_tol)) < 1e-3,
                      "round parts %d and %d: the score depends on the order", i, j);
            if (part_of[i] == part_of[j])
                twin_lo = fmin(twin_lo, sc), twin_hi = fmax(twin_hi, sc);
            else
                other_lo = fmin(other_lo, sc), other_hi = fmax(other_hi, sc);
        }
    printf("round parts: one part (copies turned, mirrored, re-exposed; turned on the fixture) "
           "%.3f..%.3f; distinct parts of one design %.3f..%.3f (round_min %.3f)\n",
           twin_lo, twin_hi, other_lo, other_hi, p.round_min);
    RS_CHECKF(twin_lo >= p.round_min + 0.3, "one part scores %.3f", twin_lo);
    RS_CHECKF(other_hi < p.round_min, "distinct parts score %.3f", other_hi);
    size_t group[N];
    int nt = ra_twins_group(sig, N, &p, group);
    RS_CHECK_EQ(nt, 7);
    const size_t want[N] = {0, 1, 2, 0, 4, 1, 0, 7, 0, 9, 0};
    for (int i = 0; i < N; i++)
        RS_CHECKF(group[i] == want[i], "round part %d: group %zu, want %zu", i, group[i], want[i]);
    /* a round and a shift signature are not compared; a blank image has no part */
    ra_twins_sig_t *flat = ra_twins_sig(img[0]);
    RS_CHECK(flat != NULL);
    RS_CHECK(ra_twins_score(sig[0], flat, 4, p.size_tol) == -2);
    rv_image_t *blank = rv_image_new_filled(200, 200, RV_GRAY8, 128);
    RS_CHECK(ra_twins_sig_round(blank) == NULL);
    RS_CHECK(ra_twins_sig_round(NULL) == NULL);
    ra_twins_sig_free(&flat);
    rv_image_destroy(&blank);
    for (int i = 0; i < N; i++) {
        ra_twins_sig_free(&sig[i]);
        rv_image_destroy(&img[i]);
    }
    for (int q = 0; q < 6; q++)
        free(det[q]);
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
    test_round();
    return rs_test_end("app.twins");
}
