/* test_align_lk.c - the Lucas-Kanade refinement of rv_align (rv_align_lk.h) recovers known
 * rigid and affine motions of a softened silhouette to a small fraction of a pixel, on odd
 * sizes, and refuses what it cannot register (a flat template, a view of another size, a
 * view with nothing in it). */
#include "rs_test.h"
#include "rv/rv.h"
#include "rv_align_lk.h"

#include <math.h>
#include <stdio.h>

/* An asymmetric part: a rectangle with a notch and a tab, in template pixels. */
static const double s_poly[][2] = {{40, 30},  {150, 30},  {150, 60},  {170, 60}, {170, 80},
                                   {150, 80}, {150, 120}, {95, 120},  {95, 100}, {75, 100},
                                   {75, 120}, {40, 120}};
#define S_NPOLY (sizeof s_poly / sizeof s_poly[0])

static int s_inside(double x, double y, const double (*p)[2], size_t n)
{
    int in = 0;
    for (size_t i = 0, j = n - 1; i < n; j = i++)
        if ((p[i][1] > y) != (p[j][1] > y) &&
            x < (p[j][0] - p[i][0]) * (y - p[i][1]) / (p[j][1] - p[i][1]) + p[i][0])
            in = !in;
    return in;
}

/* The polygon carried by m (template -> view), drawn 4x4-supersampled, then box 7. */
static rv_image_t *s_render(int w, int h, const double m[2][3])
{
    double q[S_NPOLY][2];
    for (size_t i = 0; i < S_NPOLY; i++) {
        q[i][0] = m[0][0] * s_poly[i][0] + m[0][1] * s_poly[i][1] + m[0][2];
        q[i][1] = m[1][0] * s_poly[i][0] + m[1][1] * s_poly[i][1] + m[1][2];
    }
    rv_image_t *hard = rv_image_new(w, h, RV_GRAY8), *soft = rv_image_new(w, h, RV_GRAY8);
    rv_view_t hv = rv_image_view(hard), sv = rv_image_view(soft);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int c = 0;
            for (int sy = 0; sy < 4; sy++)
                for (int sx = 0; sx < 4; sx++)
                    c += s_inside(x + (sx + 0.5) / 4 - 0.5, y + (sy + 0.5) / 4 - 0.5, q, S_NPOLY);
            rv_view_row(&hv, y)[x] = (uint8_t) (c * 255 / 16);
        }
    RS_CHECK_EQ(rv_box_blur(&hv, &sv, 7), RV_OK);
    rv_image_destroy(&hard);
    return soft;
}

/* The worst distance, over the polygon's vertices moved by g (template -> view), between
 * where m (view -> template) carries them back and where they were. */
static double s_worst(const double g[2][3], const double m[2][3])
{
    double worst = 0;
    for (size_t i = 0; i < S_NPOLY; i++) {
        double px = g[0][0] * s_poly[i][0] + g[0][1] * s_poly[i][1] + g[0][2];
        double py = g[1][0] * s_poly[i][0] + g[1][1] * s_poly[i][1] + g[1][2];
        double bx = m[0][0] * px + m[0][1] * py + m[0][2];
        double by = m[1][0] * px + m[1][1] * py + m[1][2];
        worst = fmax(worst, hypot(bx - s_poly[i][0], by - s_poly[i][1]));
    }
    return worst;
}

/* Register a view drawn with motion g (template -> view): the result maps view -> template,
 * so it must carry every moved vertex back onto the original within tol px. */
static void s_case(const char *name, int w, int h, int affine, const double g[2][3], double tol)
{
    const double id[2][3] = {{1, 0, 0}, {0, 1, 0}};
    rv_image_t *t = s_render(w, h, id), *v = s_render(w, h, g);
    rv_view_t tv = rv_image_view(t), vv = rv_image_view(v);
    rv_lk_template_t *lk = rv_lk_template_new(&tv, affine);
    RS_CHECKF(lk != NULL, "%s: %s", name, rv_last_error());
    if (lk) {
        /* the band is a small part of the frame */
        RS_CHECK(rv_lk_template_pixels(lk) > 100 &&
                 rv_lk_template_pixels(lk) < (size_t) (w * h) / 2);
        double m[2][3], score = 0;
        int its = 0;
        RS_CHECKF(rv_lk_register(lk, &vv, 50, 1e-3, m, &score, &its) == RV_OK, "%s: %s", name,
                  rv_last_error());
        double worst = s_worst(g, m);
        printf("%s (%dx%d, %s): %d iterations, score %.4f, worst vertex error %.3f px\n", name,
               w, h, affine ? "affine" : "rigid", its, score, worst);
        RS_CHECKF(worst < tol, "%s: worst vertex error %.3f px (at most %.2f)", name, worst, tol);
        RS_CHECK(score > 0.99);
    }
    rv_lk_template_destroy(&lk);
    rv_image_destroy(&t);
    rv_image_destroy(&v);
}

/* rv_lk_register_from: a view of another size, not carried into the template's frame,
 * drawn with a motion g far beyond the iterations' reach (10 degrees, tens of px), read
 * through a start near g (off by 2 px and half a degree); the template keeps every second
 * pixel of every second row of the right half of its band (a mask and a step). */
static void s_case_from(void)
{
    const double id[2][3] = {{1, 0, 0}, {0, 1, 0}};
    const double a = 10 * M_PI / 180, a0 = 9.5 * M_PI / 180;
    const double g[2][3] = {{cos(a), -sin(a), 41.3}, {sin(a), cos(a), 17.6}};
    const double start[2][3] = {{cos(a0), -sin(a0), 43.3}, {sin(a0), cos(a0), 16.1}};
    int w = 211, h = 157, vw = 263, vh = 217;
    rv_image_t *t = s_render(w, h, id), *v = s_render(vw, vh, g),
               *mask = rv_image_new_filled(w, h, RV_GRAY8, 0);
    rv_view_t tv = rv_image_view(t), vv = rv_image_view(v), mv = rv_image_view(mask);
    for (int y = 0; y < h; y++)
        for (int x = w / 2; x < w; x++)
            rv_view_row(&mv, y)[x] = 255;
    rv_lk_template_t *full = rv_lk_template_new(&tv, 0),
                     *lk = rv_lk_template_new_masked(&tv, &mv, 0, 2);
    RS_CHECK(full && lk);
    if (full && lk) {
        size_t nf = rv_lk_template_pixels(full), n = rv_lk_template_pixels(lk);
        /* half the band, a quarter of its pixels of that: about an eighth */
        RS_CHECKF(n > nf / 16 && n < nf / 5, "%zu of %zu band pixels kept", n, nf);
        double m[2][3], score = 0;
        int its = 0;
        RS_CHECKF(rv_lk_register_from(lk, &vv, start, 50, 1e-3, m, &score, &its) == RV_OK,
                  "%s", rv_last_error());
        double worst = s_worst(g, m);
        printf("from a start near the motion (view %dx%d, template %zu of %zu band pixels): %d "
               "iterations, score %.4f, worst vertex error %.3f px\n",
               vw, vh, n, nf, its, score, worst);
        RS_CHECKF(worst < 0.2, "worst vertex error %.3f px", worst);
        /* without the start (the identity), the same view is not found */
        int rc = rv_lk_register_from(lk, &vv, NULL, 50, 1e-3, m, &score, NULL);
        RS_CHECK(rc != RV_OK || s_worst(g, m) > 1.0);
    }
    RS_CHECK(rv_lk_template_new_masked(&tv, &vv, 0, 1) == NULL); /* a mask of another size */
    rv_lk_template_destroy(&full);
    rv_lk_template_destroy(&lk);
    rv_image_destroy(&t);
    rv_image_destroy(&v);
    rv_image_destroy(&mask);
}

int main(void)
{
    rv_init();
    const double a = 2.5 * M_PI / 180;
    /* rotation about an off-centre point, and a shift */
    const double rigid[2][3] = {{cos(a), -sin(a), 5.3}, {sin(a), cos(a), -3.7}};
    s_case("rigid", 211, 157, 0, rigid, 0.15);
    s_case("rigid, even size", 224, 160, 0, rigid, 0.15);
    /* on the quarter-pixel grid of the 4x4 supersampling, so the drawing is exact */
    const double shift[2][3] = {{1, 0, -2.25}, {0, 1, 1.75}};
    s_case("shift only", 205, 151, 0, shift, 0.05);
    /* scale and shear: only the affine motion can follow */
    const double aff[2][3] = {{1.04, 0.03, -4.0}, {-0.02, 0.97, 2.5}};
    s_case("affine", 213, 159, 1, aff, 0.15);
    s_case_from();

    /* refusals */
    rv_image_t *flat = rv_image_new_filled(64, 48, RV_GRAY8, 128);
    rv_view_t fv = rv_image_view(flat);
    RS_CHECK(rv_lk_template_new(&fv, 0) == NULL);
    RS_CHECK_MSG(rv_last_error(), "no outline");
    const double id[2][3] = {{1, 0, 0}, {0, 1, 0}};
    rv_image_t *t = s_render(211, 157, id), *other = rv_image_new_filled(100, 80, RV_GRAY8, 0),
               *empty = rv_image_new_filled(211, 157, RV_GRAY8, 0);
    rv_view_t tv = rv_image_view(t), ov = rv_image_view(other), ev = rv_image_view(empty);
    rv_lk_template_t *lk = rv_lk_template_new(&tv, 0);
    RS_CHECK(lk != NULL);
    double m[2][3], score = 1;
    RS_CHECK_EQ(rv_lk_register(lk, &ov, 50, 1e-3, m, &score, NULL), RV_EINVAL);
    /* nothing to register on: it either fails or says the silhouettes do not match */
    int rc = rv_lk_register(lk, &ev, 50, 1e-3, m, &score, NULL);
    RS_CHECKF(rc != RV_OK || score < 0.5, "an empty view registered with score %.3f", score);
    rv_lk_template_destroy(&lk);
    rv_image_destroy(&flat);
    rv_image_destroy(&t);
    rv_image_destroy(&other);
    rv_image_destroy(&empty);
    return rs_test_end("vision.align_lk");
}
