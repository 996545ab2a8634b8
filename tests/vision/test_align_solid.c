/* test_align_solid.c - rv_align for a solid round part whose faces lie on both sides of
 * the fixture's grey (a dark cavity, a polished face lit from one side, as the cast
 * impeller): the solid silhouette (params.solid) finds its outline where Otsu's threshold
 * does not, the affine mode recovers a known scale and tilt the rigid mode refuses, a warp's
 * black fill is not taken for part, and views that must be refused still are. The scenes
 * are drawn here from an analytic model, so the true outline and transform are exact. */
#include "rs_test.h"
#include "rs_views.h"
#include "cv/rv_cv.h"
#include "rv/rv.h"
#include "rv/rv_align.h"

#include <math.h>
#include <string.h>

#define W 640
#define H 480
#define R 170.0 /* the part's outer radius, px, in the reference */

/* The part in its own frame (u, v from its centre, px of the reference): 0 outside, else
 * its grey. A dark cavity with vanes, a bright hub with a bore, a face whose grey runs
 * round it through the fixture's (a light from one side), a dark chamfer at the outline,
 * and a keyway notch at +u so that its rotation can be found. */
static int s_part(double u, double v)
{
    double r = hypot(u, v), t = atan2(v, u);
    if (r > R || (u > R - 18 && fabs(v) < 9))
        return 0;
    if (r > R - 2.5)
        return 70; /* the chamfer */
    if (r > 0.55 * R)
        return (int) lround(150 + 70 * cos(t + 0.6)); /* 80 .. 220: crosses the fixture */
    if (r > 0.22 * R)
        return 35 + (int) (12 * (sin(7 * t + r / 9) > 0.6)); /* cavity and vanes */
    if (r > 0.11 * R)
        return 205; /* hub */
    return 100;     /* bore, shadowed */
}

/* The fixture: a grey lit unevenly (150 at the left to 175 at the right, a little darker
 * down), with a little noise. */
static int s_fixture(int x, int y, uint64_t *rng)
{
    return (int) lround(150 + 25.0 * x / W - 8.0 * y / H) + (int) (rs_rand(rng) >> 62) - 1;
}

/* Render a view: view pixel p shows part point A (p - c) where A = the inverse of the part's
 * pose (scale s along its axes sx, sy, turned by angle a, centred at c). truth (may be
 * NULL) gets 255 on the part. */
static void s_render(const rv_view_t *g, const rv_view_t *truth, double cx, double cy,
                     double s, double aniso, double a_deg, uint64_t seed)
{
    uint64_t rng = seed;
    double a = a_deg * M_PI / 180, ca = cos(a), sa = sin(a);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double dx = x - cx, dy = y - cy;
            /* undo the turn, then the scales */
            double u = (ca * dx + sa * dy) / (s * aniso), v = (-sa * dx + ca * dy) / s;
            int p = s_part(u, v), f = s_fixture(x, y, &rng);
            rv_view_row(g, y)[x] = (uint8_t) (p ? p : f);
            if (truth)
                rv_view_row(truth, y)[x] = p ? 255 : 0;
        }
}

static void s_solid_params(rv_align_params_t *p)
{
    rv_align_params_init(p);
    p->solid = 1;
    p->affine = 1;
    p->min_scale = 0.67;
    p->max_scale = 1.5;
}

/* The outline: the solid silhouette finds it, Otsu's does not (its one threshold falls
 * between the cavity and the face, on the fixture's side of both). */
static void test_silhouette(void)
{
    rv_image_t *g = rv_image_new(W, H, RV_GRAY8), *t = rv_image_new(W, H, RV_GRAY8),
               *m = rv_image_new(W, H, RV_GRAY8);
    rv_view_t gv = rv_image_view(g), tv = rv_image_view(t), mv = rv_image_view(m);
    s_render(&gv, &tv, 300, 230, 1.0, 1.0, 0, 1);
    rv_align_params_t p;
    s_solid_params(&p);
    RS_CHECK_EQ(rv_align_silhouette_p(&gv, &mv, &p), RV_OK);
    double solid = rs_mask_iou(&mv, &tv);
    RS_CHECK_EQ(rv_align_silhouette(&gv, &mv), RV_OK);
    double otsu = rs_mask_iou(&mv, &tv);
    printf("silhouette IoU against the true outline: solid %.4f, Otsu %.4f\n", solid, otsu);
    /* the edge evidence and the 3 px smoothing put the outline a pixel or two out */
    RS_CHECKF(solid > 0.96, "solid IoU %.4f", solid);
    RS_CHECKF(otsu < 0.9, "Otsu IoU %.4f (the case this mode is for)", otsu);
    /* a blank view is still refused with its reason */
    rv_view_fill(&gv, 150);
    RS_CHECK_EQ(rv_align_silhouette_p(&gv, &mv, &p), RV_EFORMAT);
    RS_CHECK_MSG(rv_last_error(), "blank or saturated");
    rv_image_destroy(&g);
    rv_image_destroy(&t);
    rv_image_destroy(&m);
}

/* A known pose: the part 1.18 times larger, squeezed to 0.88 along one axis (tilted
 * towards the camera), turned 25 degrees and moved. The affine mode must send the view's
 * points to where the model puts them; the rigid mode (the camera's scale) must refuse. */
static void test_affine(const rv_align_ref_t *ref, const rv_align_ref_t *rigid)
{
    const double cx = 330, cy = 250, s = 1.18, an = 0.88, adeg = 25;
    rv_image_t *g = rv_image_new(W, H, RV_GRAY8), *t = rv_image_new(W, H, RV_GRAY8);
    rv_view_t gv = rv_image_view(g), tv = rv_image_view(t);
    s_render(&gv, &tv, cx, cy, s, an, adeg, 2);
    rv_align_result_t r;
    int rc = rv_align(ref, &gv, &r);
    RS_CHECKF(rc == RV_OK, "%s", rv_last_error());
    if (rc == RV_OK) {
        /* view point -> part frame (u, v) -> reference (300 + u, 230 + v) */
        double a = adeg * M_PI / 180, ca = cos(a), sa = sin(a), worst = 0;
        double pts[5][2] = {{cx, cy}, {cx + 150, cy}, {cx - 150, cy}, {cx, cy + 150},
                            {cx, cy - 150}};
        for (int k = 0; k < 5; k++) {
            double dx = pts[k][0] - cx, dy = pts[k][1] - cy;
            double u = (ca * dx + sa * dy) / (s * an), v = (-sa * dx + ca * dy) / s;
            double ex = 300 + u, ey = 230 + v;
            double gx = r.m[0][0] * pts[k][0] + r.m[0][1] * pts[k][1] + r.m[0][2];
            double gy = r.m[1][0] * pts[k][0] + r.m[1][1] * pts[k][1] + r.m[1][2];
            worst = fmax(worst, hypot(gx - ex, gy - ey));
        }
        printf("affine pose: %s, scale %.4f, IoU %.4f, worst point error %.2f px\n", r.method,
               r.scale, r.iou, worst);
        RS_CHECKF(worst < 2.0, "point error %.2f px", worst);
        RS_CHECK(r.iou > 0.95);
        /* the true outline carried by the result lies on the reference's */
        rv_image_t *wt = rv_image_new(W, H, RV_GRAY8), *rt = rv_image_new(W, H, RV_GRAY8);
        rv_view_t wv = rv_image_view(wt), rv = rv_image_view(rt);
        rv_image_t *rg = rv_image_new(W, H, RV_GRAY8);
        rv_view_t rgv = rv_image_view(rg);
        s_render(&rgv, &rv, 300, 230, 1.0, 1.0, 0, 1);
        RS_CHECK_EQ(rv_align_warp(&tv, &r, &wv), RV_OK);
        double iou = rs_mask_iou(&wv, &rv);
        RS_CHECKF(iou > 0.98, "true outline IoU %.4f", iou);
        rv_image_destroy(&wt);
        rv_image_destroy(&rt);
        rv_image_destroy(&rg);
    }
    /* at the camera's scale the same view is the wrong distance */
    RS_CHECK_EQ(rv_align(rigid, &gv, &r), RV_EFORMAT);
    rv_image_destroy(&g);
    rv_image_destroy(&t);
}

/* The reference moved by a rigid motion with rv_cv_warp_affine: the frame's corners are
 * the warp's black fill, which is outside the picture, not part. */
static void test_fill(const rv_align_ref_t *ref, const rv_view_t *refgray)
{
    double a = 6 * M_PI / 180, tx = 21.5, ty = -14.25;
    double inv[2][3] = {{cos(a), sin(a), 0}, {-sin(a), cos(a), 0}};
    inv[0][2] = -(inv[0][0] * tx + inv[0][1] * ty);
    inv[1][2] = -(inv[1][0] * tx + inv[1][1] * ty);
    rv_image_t *v = rv_image_new(W, H, RV_GRAY8), *m = rv_image_new(W, H, RV_GRAY8);
    rv_view_t vv = rv_image_view(v), mv = rv_image_view(m);
    RS_CHECK_EQ(rv_cv_warp_affine(refgray, &vv, inv, RV_CV_INTER_LINEAR), RV_OK);
    rv_align_params_t p;
    s_solid_params(&p);
    RS_CHECK_EQ(rv_align_silhouette_p(&vv, &mv, &p), RV_OK);
    /* nothing in the fill: the corner pixels (black) are background */
    RS_CHECK(rv_view_row(&mv, 0)[0] == 0 && rv_view_row(&mv, H - 1)[W - 1] == 0);
    rv_align_result_t r;
    int rc = rv_align(ref, &vv, &r);
    RS_CHECKF(rc == RV_OK, "%s", rv_last_error());
    if (rc == RV_OK) {
        double worst = 0;
        double pts[3][2] = {{300, 230}, {450, 230}, {300, 80}};
        for (int k = 0; k < 3; k++) {
            /* the view shows reference point q at inv(q) = rot(-a) (q - t); r maps it back */
            double qx = pts[k][0], qy = pts[k][1];
            double vx = cos(a) * (qx - tx) + sin(a) * (qy - ty);
            double vy = -sin(a) * (qx - tx) + cos(a) * (qy - ty);
            double gx = r.m[0][0] * vx + r.m[0][1] * vy + r.m[0][2];
            double gy = r.m[1][0] * vx + r.m[1][1] * vy + r.m[1][2];
            worst = fmax(worst, hypot(gx - qx, gy - qy));
        }
        printf("warped reference: %s, angle %.2f (true %.2f), scale %.4f, IoU %.4f, worst point "
               "error %.2f px\n",
               r.method, r.angle_deg, 6.0, r.scale, r.iou, worst);
        RS_CHECKF(worst < 2.0, "point error %.2f px", worst);
    }
    rv_image_destroy(&v);
    rv_image_destroy(&m);
}

/* Views that must not be graded: an empty fixture, and another part (a bar three times as
 * long as wide, of the part's area: no affine map within max_axis_ratio makes it round). */
static void test_refusals(const rv_align_ref_t *ref)
{
    rv_image_t *g = rv_image_new(W, H, RV_GRAY8);
    rv_view_t gv = rv_image_view(g);
    uint64_t rng = 9;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            rv_view_row(&gv, y)[x] = (uint8_t) s_fixture(x, y, &rng);
    rv_align_result_t r;
    RS_CHECK_EQ(rv_align(ref, &gv, &r), RV_EFORMAT);
    printf("empty fixture: %s\n", rv_last_error());
    double hw = R * sqrt(M_PI / 3) / 2, hl = 3 * hw;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            if (fabs(x - 300.0) < hl && fabs(y - 230.0) < hw)
                rv_view_row(&gv, y)[x] = (uint8_t) (x < 300 ? 60 : 230);
    RS_CHECK_EQ(rv_align(ref, &gv, &r), RV_EFORMAT);
    printf("bar: %s\n", rv_last_error());
    rv_image_destroy(&g);
}

/* rotate = 0 (a round part whose rotation is not searched): a view of the part 1.1 times
 * larger and moved, not turned, is registered from the moments and ECC alone. */
static void test_no_rotation(const rv_view_t *refgray)
{
    rv_align_params_t p;
    s_solid_params(&p);
    p.rotate = 0;
    rv_align_ref_t *ref = rv_align_ref_new(refgray, NULL, &p);
    RS_CHECK(ref != NULL);
    rv_image_t *g = rv_image_new(W, H, RV_GRAY8);
    rv_view_t gv = rv_image_view(g);
    s_render(&gv, NULL, 280, 250, 1.1, 1.0, 0, 4);
    rv_align_result_t r;
    int rc = ref ? rv_align(ref, &gv, &r) : RV_EINVAL;
    RS_CHECKF(rc == RV_OK, "%s", rv_last_error());
    if (rc == RV_OK) {
        double worst = 0;
        double pts[3][2] = {{280, 250}, {280 + 165, 250}, {280, 250 - 165}};
        for (int k = 0; k < 3; k++) {
            double ex = 300 + (pts[k][0] - 280) / 1.1, ey = 230 + (pts[k][1] - 250) / 1.1;
            double gx = r.m[0][0] * pts[k][0] + r.m[0][1] * pts[k][1] + r.m[0][2];
            double gy = r.m[1][0] * pts[k][0] + r.m[1][1] * pts[k][1] + r.m[1][2];
            worst = fmax(worst, hypot(gx - ex, gy - ey));
        }
        printf("rotation not searched: %s, angle %.2f, scale %.4f, worst point error %.2f px\n",
               r.method, r.angle_deg, r.scale, worst);
        RS_CHECKF(worst < 2.0, "point error %.2f px", worst);
    }
    rv_image_destroy(&g);
    rv_align_ref_destroy(&ref);
}

/* rv_align_rgb on an RGB view gives what rv_align gives on its gray. */
static void test_rgb(const rv_align_ref_t *ref)
{
    rv_image_t *g = rv_image_new(W, H, RV_GRAY8), *rgb = rv_image_new(W, H, RV_RGB8);
    rv_view_t gv = rv_image_view(g), cv = rv_image_view(rgb);
    s_render(&gv, NULL, 320, 240, 1.05, 0.95, -40, 3);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            memset(rv_view_row(&cv, y) + 3 * x, rv_view_row(&gv, y)[x], 3);
    rv_align_result_t a, b;
    int ra = rv_align(ref, &gv, &a), rb = rv_align_rgb(ref, &cv, &b);
    RS_CHECK_EQ(ra, RV_OK);
    RS_CHECK_EQ(ra, rb);
    if (ra == RV_OK && rb == RV_OK) {
        RS_CHECK(memcmp(a.m, b.m, sizeof a.m) == 0);
        RS_CHECK(a.iou == b.iou && strcmp(a.method, b.method) == 0);
    }
    rv_image_destroy(&g);
    rv_image_destroy(&rgb);
}

int main(void)
{
    rv_init();
    test_silhouette();
    rv_image_t *rg = rv_image_new(W, H, RV_GRAY8);
    rv_view_t rgv = rv_image_view(rg);
    s_render(&rgv, NULL, 300, 230, 1.0, 1.0, 0, 1);
    rv_align_params_t p;
    s_solid_params(&p);
    rv_align_ref_t *ref = rv_align_ref_new(&rgv, NULL, &p);
    RS_CHECK(ref != NULL);
    rv_align_params_t q = p;
    q.affine = 0;
    q.min_scale = 0.8;
    q.max_scale = 1.25;
    rv_align_ref_t *rigid = rv_align_ref_new(&rgv, NULL, &q);
    RS_CHECK(rigid != NULL);
    if (ref && rigid) {
        test_affine(ref, rigid);
        test_fill(ref, &rgv);
        test_refusals(ref);
        test_rgb(ref);
        test_no_rotation(&rgv);
    }
    rv_align_ref_destroy(&ref);
    rv_align_ref_destroy(&rigid);
    RS_CHECK(ref == NULL);
    rv_image_destroy(&rg);
    return rs_test_end("vision.align_solid");
}
