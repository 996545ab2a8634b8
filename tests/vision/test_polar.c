/* test_polar.c - the round-part model (rv_polar.h) on generated round parts: good parts seen
 * at random centres, tilts, turns, light gradients, shades and grain; a blowhole, a chip in a
 * ring's edge, a 4 px burr on the outer outline over 6 degrees and a 4 px chip bitten out of
 * the outline must each score above every unseen good part and above the k-fold threshold,
 * with the map's peak on the defect: with the outline profile on, and (the first two) with
 * the rings alone on the silhouette's ellipse (version 1 models); the packed bytes and the
 * version 1 export give the same scores, hostile contents are refused; refusals for bad
 * parameters, too few images and a view without a part. */
#include "rs_test.h"
#include "rv/rv.h"
#include "rv/rv_polar.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double cx, cy, a, b, phi, turn; /* outline ellipse (px), tilt axis, the part's turn */
    double grad, shade, grain;      /* light gradient (grey / px), face shade, grain amplitude */
    int defect;                     /* 0 none, 1 blowhole, 2 chip in an edge, 3 burr on the
                                       outline, 4 chip bitten out of the outline */
    double dr, dt;                  /* defect at relative radius dr, part angle dt */
} part_t;

static uint32_t s_rng = 2024;
static double s_uniform(void)
{
    s_rng = s_rng * 1664525u + 1013904223u;
    return (s_rng >> 8) / 16777216.0;
}

/* The grey of a round part at relative radius r, part angle t (radians). */
static double s_grey(const part_t *p, double r, double t, double x, double y)
{
    double g;
    if (r > 1.0)
        g = 200; /* fixture */
    else if (r > 0.62)
        g = 150 + p->shade; /* flange */
    else if (r > 0.55)
        g = 210 + p->shade; /* rim */
    else if (r > 0.30)
        g = 45 + 20 * (cos(8 * t) > 0.7); /* cavity with 8 vanes */
    else if (r > 0.18)
        g = 190 + p->shade; /* hub */
    else
        g = 230; /* bore: the fixture through the hole */
    double dt = remainder(t - p->dt, 2 * M_PI);
    if (p->defect == 1 && hypot((r - p->dr) * 100, dt * p->dr * 100) < 3.0)
        g = 60; /* blowhole: dark, ~6 px across */
    if (p->defect == 2 && fabs(dt) < 0.05 && r > 0.60 && r < 0.66)
        g = 45; /* the flange's inner edge chipped: the cavity shows through */
    if (p->defect == 3 && fabs(dt) < 0.05 && r > 1.0 && r < 1.04)
        g = 150 + p->shade; /* a burr on the outer edge, 4 px out */
    if (p->defect == 4 && fabs(dt) < 0.05 && r > 0.96 && r <= 1.0)
        g = 200; /* a chip bitten out of the outer edge, 4 px deep: the fixture shows */
    return g + p->grad * (x - 128);
}

static rv_image_t *s_draw(const part_t *p)
{
    rv_image_t *img = rv_image_new(256, 256, RV_GRAY8);
    rv_view_t v = rv_image_view(img);
    double c = cos(p->phi), s = sin(p->phi);
    for (int y = 0; y < 256; y++)
        for (int x = 0; x < 256; x++) {
            double dx = x - p->cx, dy = y - p->cy;
            double u = (c * dx + s * dy) / p->a, w = (-s * dx + c * dy) / p->b;
            double r = hypot(u, w), t = atan2(w, u) - p->turn;
            double g = s_grey(p, r, t, x, y) + p->grain * (s_uniform() - 0.5);
            rv_view_row(&v, y)[x] = (uint8_t) (g < 0 ? 0 : g > 255 ? 255 : g);
        }
    return img;
}

static part_t s_part(int defect)
{
    part_t p;
    p.cx = 128 + 10 * (s_uniform() - 0.5);
    p.cy = 128 + 10 * (s_uniform() - 0.5);
    p.a = 95 + 10 * s_uniform();
    p.b = p.a * (0.88 + 0.12 * s_uniform());
    p.phi = M_PI * s_uniform();
    p.turn = 2 * M_PI * s_uniform();
    p.grad = 0.1 * (s_uniform() - 0.5);
    p.shade = 20 * (s_uniform() - 0.5);
    p.grain = 10 + 10 * s_uniform();
    p.defect = defect;
    p.dr = defect == 1 ? 0.8 : defect == 2 ? 0.62 : defect == 3 ? 1.02 : 0.98;
    p.dt = 2 * M_PI * s_uniform();
    return p;
}

/* Score NTEST unseen goods and NTEST parts with each defect 1..4 on model m; print them
 * and check that the defects in need[] (1..4) score above every good and the threshold, with
 * the map's peak within 8 px of the defect's centre in all but one part. */
static void s_measure(const char *name, const rv_polar_model_t *m, const int *need, int nneed)
{
    enum { NTEST = 10 };
    double thr = rv_polar_model_threshold(m);
    double worst_good = 0;
    for (int i = 0; i < NTEST; i++) {
        part_t p = s_part(0);
        rv_image_t *img = s_draw(&p);
        rv_view_t v = rv_image_view(img);
        double sc = 0;
        RS_CHECK_EQ(rv_polar_model_score(m, &v, NULL, 0, &sc), RV_OK);
        worst_good = fmax(worst_good, sc);
        rv_image_destroy(&img);
    }
    printf("%s: k-fold threshold %.2f, highest new good %.2f\n", name, thr, worst_good);
    const char *names[] = {"", "blowhole", "chip", "outline burr", "outline chip"};
    float *map = malloc(sizeof(float) * 256 * 256);
    for (int d = 1; d <= 4 && map; d++) {
        double lowest = 1e9;
        int on_defect = 0;
        for (int i = 0; i < NTEST; i++) {
            part_t p = s_part(d);
            rv_image_t *img = s_draw(&p);
            rv_view_t v = rv_image_view(img);
            double sc = 0;
            RS_CHECK_EQ(rv_polar_model_score(m, &v, map, 256, &sc), RV_OK);
            lowest = fmin(lowest, sc);
            /* the map's peak lies on the defect (within 8 px of its centre) */
            int bx = 0, by = 0;
            for (int y = 0; y < 256; y++)
                for (int x = 0; x < 256; x++)
                    if (map[y * 256 + x] > map[by * 256 + bx])
                        bx = x, by = y;
            double c = cos(p.phi), s = sin(p.phi), t = p.dt + p.turn;
            double u = p.a * p.dr * cos(t), w = p.b * p.dr * sin(t);
            double dx = p.cx + c * u - s * w, dy = p.cy + s * u + c * w;
            on_defect += hypot(bx - dx, by - dy) < 8.0;
            rv_image_destroy(&img);
        }
        printf("%s: %s: lowest score %.2f, peak on the defect in %d of %d\n", name, names[d],
               lowest, on_defect, NTEST);
        int needed = 0;
        for (int k = 0; k < nneed; k++)
            needed |= need[k] == d;
        if (!needed)
            continue;
        RS_CHECKF(lowest > worst_good && lowest > thr,
                  "%s: %s: lowest score %.2f, highest good %.2f, threshold %.2f", name, names[d],
                  lowest, worst_good, thr);
        RS_CHECKF(on_defect >= NTEST - 1, "%s: %s: the peak on the defect in %d of %d", name,
                  names[d], on_defect, NTEST);
    }
    free(map);
}

int main(void)
{
    rv_init();
    enum { NGOOD = 15 };
    rv_image_t *good[NGOOD];
    rv_view_t gv[NGOOD];
    for (int i = 0; i < NGOOD; i++) {
        part_t p = s_part(0);
        good[i] = s_draw(&p);
        gv[i] = rv_image_view(good[i]);
    }
    /* the defaults: the refined outline, the rings and the outline profile */
    rv_polar_params_t pp;
    rv_polar_params_default(&pp);
    RS_CHECK(pp.refine == 1 && pp.profile_window == 121);
    rv_polar_model_t *m = rv_polar_model_train(gv, NGOOD, NULL);
    RS_CHECKF(m != NULL, "%s", rv_last_error());
    /* the rings alone on the silhouette's ellipse, as version 1 models are */
    rv_polar_params_t p1;
    rv_polar_params_default(&p1);
    p1.refine = 0;
    p1.profile_window = 0;
    p1.r_max = 1.03;
    rv_polar_model_t *m1 = rv_polar_model_train(gv, NGOOD, &p1);
    RS_CHECKF(m1 != NULL, "%s", rv_last_error());
    if (!m || !m1)
        return rs_test_end("vision.polar");
    double thr = rv_polar_model_threshold(m);
    RS_CHECK_EQ(rv_polar_model_folds(m), 5);
    RS_CHECK(rv_polar_model_profile_spread(m) >= 0.1);
    printf("outline profile spread %.3f px\n", rv_polar_model_profile_spread(m));
    RS_CHECK(rv_polar_model_profile_spread(m1) == 0);
    const int all[] = {1, 2, 3, 4}, rings[] = {1, 2};
    s_measure("defaults", m, all, 4);
    /* a burr on the outer outline sits where the silhouette's ellipse and the pixel grid
     * leave the most spread: the rings alone are not required to catch it */
    s_measure("rings only", m1, rings, 2);

    /* the packed bytes: the same model, the same scores; version 1 still read; hostile
     * contents refused */
    {
        size_t len = rv_polar_model_packed_size(m), got = 0;
        uint8_t *buf = malloc(len + 8);
        RS_CHECK(buf && rv_polar_model_pack(m, buf, len + 8, &got) == RV_OK && got == len);
        if (buf)
            rs_fuzz_seed("polar-model", 0, buf, len, NULL);
        RS_CHECK(rv_polar_model_pack(m, buf, len - 1, &got) != RV_OK);
        rv_polar_model_t *copy = rv_polar_model_unpack(buf, len);
        RS_CHECKF(copy != NULL, "%s", rv_last_error());
        part_t bp = s_part(3);
        rv_image_t *burr = s_draw(&bp);
        rv_view_t bv = rv_image_view(burr);
        double a = 0, b = -1;
        RS_CHECK_EQ(rv_polar_model_score(m, &bv, NULL, 0, &a), RV_OK);
        RS_CHECK(copy && rv_polar_model_score(copy, &bv, NULL, 0, &b) == RV_OK && a == b);
        RS_CHECK(copy && rv_polar_model_threshold(copy) == thr &&
                 rv_polar_model_profile_spread(copy) == rv_polar_model_profile_spread(m));
        rv_polar_model_destroy(&copy);
        uint8_t *bad = malloc(len);
        /* another mark, a later version, a short or long length */
        memcpy(bad, buf, len);
        bad[0] = 'X';
        RS_CHECK(rv_polar_model_unpack(bad, len) == NULL);
        RS_CHECK_MSG(rv_last_error(), "RVPOLAR mark");
        memcpy(bad, buf, len);
        bad[8] = 3;
        RS_CHECK(rv_polar_model_unpack(bad, len) == NULL);
        RS_CHECK_MSG(rv_last_error(), "version 3 is not 1 or 2");
        RS_CHECK(rv_polar_model_unpack(buf, len - 1) == NULL);
        RS_CHECK_MSG(rv_last_error(), "expected");
        RS_CHECK(rv_polar_model_unpack(buf, 10) == NULL);
        /* a ring count that would read past the end */
        memcpy(bad, buf, len);
        bad[13] = 0x40; /* nr 16384 + ... */
        RS_CHECK(rv_polar_model_unpack(bad, len) == NULL);
        /* the profile's spread NaN, its window even, refine 2, a ring's spread negative */
        uint32_t nan_bits[2] = {0, 0x7ff80000u};
        memcpy(bad, buf, len);
        memcpy(bad + 84, nan_bits, 8);
        RS_CHECK(rv_polar_model_unpack(bad, len) == NULL);
        RS_CHECK_MSG(rv_last_error(), "outline profile spread nan");
        memcpy(bad, buf, len);
        bad[80] = 120;
        RS_CHECK(rv_polar_model_unpack(bad, len) == NULL);
        RS_CHECK_MSG(rv_last_error(), "profile_window 120");
        memcpy(bad, buf, len);
        bad[76] = 2;
        RS_CHECK(rv_polar_model_unpack(bad, len) == NULL);
        RS_CHECK_MSG(rv_last_error(), "refine 2");
        memcpy(bad, buf, len);
        float neg = -1;
        memcpy(bad + len - 4 * 90, &neg, 4); /* ring 6 of 96 */
        RS_CHECK(rv_polar_model_unpack(bad, len) == NULL);
        RS_CHECK_MSG(rv_last_error(), "ring 6: spread -1");
        free(bad);
        free(buf);

        /* version 1: a rings-only model's bytes without the refine and profile fields */
        size_t len2 = rv_polar_model_packed_size(m1);
        uint8_t *b2 = malloc(len2), *v1 = malloc(len2);
        RS_CHECK(b2 && rv_polar_model_pack(m1, b2, len2, NULL) == RV_OK);
        memcpy(v1, b2, 76);
        v1[8] = 1;
        memcpy(v1 + 76, b2 + 92, len2 - 92);
        rv_polar_model_t *old = rv_polar_model_unpack(v1, len2 - 16);
        RS_CHECKF(old != NULL, "%s", rv_last_error());
        RS_CHECK_EQ(rv_polar_model_score(m1, &bv, NULL, 0, &a), RV_OK);
        RS_CHECK(old && rv_polar_model_score(old, &bv, NULL, 0, &b) == RV_OK && a == b);
        RS_CHECK(rv_polar_model_unpack(v1, len2) == NULL); /* a version 1 mark, version 2's length */
        rv_polar_model_destroy(&old);
        free(b2);
        free(v1);
        rv_image_destroy(&burr);
    }

    /* export and import (version 1 contents: the rings on the silhouette's ellipse): the same
     * rings-only model, the same scores; hostile contents refused */
    {
        rv_polar_params_t ep;
        const float *sp;
        double et;
        rv_polar_model_export(m1, &ep, &sp, &et);
        rv_polar_params_t fresh;
        rv_polar_params_default(&fresh); /* a file's reader starts from the defaults */
        fresh.nr = ep.nr;
        fresh.r_max = ep.r_max;
        rv_polar_model_t *copy = rv_polar_model_import(&fresh, sp, et);
        RS_CHECKF(copy != NULL, "%s", rv_last_error());
        double a = 0, b = -1;
        RS_CHECK_EQ(rv_polar_model_score(m1, &gv[0], NULL, 0, &a), RV_OK);
        RS_CHECK(copy && rv_polar_model_score(copy, &gv[0], NULL, 0, &b) == RV_OK && a == b);
        RS_CHECK(copy && rv_polar_model_threshold(copy) == rv_polar_model_threshold(m1));
        RS_CHECK(copy && rv_polar_model_profile_spread(copy) == 0);
        rv_polar_model_destroy(&copy);
        float *bad = malloc(sizeof(float) * (size_t) ep.nr);
        memcpy(bad, sp, sizeof(float) * (size_t) ep.nr);
        bad[5] = NAN;
        RS_CHECK(rv_polar_model_import(&ep, bad, et) == NULL);
        RS_CHECK_MSG(rv_last_error(), "ring 5: spread nan");
        bad[5] = -1;
        RS_CHECK(rv_polar_model_import(&ep, bad, et) == NULL);
        free(bad);
        RS_CHECK(rv_polar_model_import(&ep, sp, INFINITY) == NULL);
        RS_CHECK_MSG(rv_last_error(), "threshold inf");
        rv_polar_params_t wild = ep;
        wild.nr = 5000;
        RS_CHECK(rv_polar_model_import(&wild, sp, et) == NULL);
    }

    /* refusals */
    rv_image_t *blank = rv_image_new_filled(256, 256, RV_GRAY8, 128);
    rv_view_t bv = rv_image_view(blank);
    double sc = 0;
    RS_CHECK(rv_polar_model_score(m, &bv, NULL, 0, &sc) != RV_OK);
    RS_CHECK(rv_polar_model_train(gv, 2, NULL) == NULL);
    RS_CHECK_MSG(rv_last_error(), "at least 3");
    rv_polar_params_t p;
    rv_polar_params_default(&p);
    p.window = 20;
    RS_CHECK(rv_polar_model_train(gv, NGOOD, &p) == NULL);
    RS_CHECK_MSG(rv_last_error(), "window 20");
    rv_polar_params_default(&p);
    p.r_max = 3;
    RS_CHECK(rv_polar_model_train(gv, NGOOD, &p) == NULL);
    rv_polar_params_default(&p);
    p.refine = 0;
    p.profile_window = 61;
    RS_CHECK(rv_polar_model_train(gv, NGOOD, &p) == NULL);
    RS_CHECK_MSG(rv_last_error(), "needs refine 1");
    rv_view_t with_blank[3] = {gv[0], gv[1], bv};
    RS_CHECK(rv_polar_model_train(with_blank, 3, NULL) == NULL);
    RS_CHECK_MSG(rv_last_error(), "training image 2");
    rv_image_destroy(&blank);
    rv_polar_model_destroy(&m);
    rv_polar_model_destroy(&m1);
    RS_CHECK(m == NULL);
    for (int i = 0; i < NGOOD; i++)
        rv_image_destroy(&good[i]);
    return rs_test_end("vision.polar");
}
