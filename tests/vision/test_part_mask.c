/* test_part_mask.c - rv_align_part_mask on scenes drawn here from an analytic model, so
 * the true outline is exact: a bar lying on a fixture, lit from above, whose lower face is
 * turned from the lamp (a little darker than the fixture, below Otsu's threshold), with a
 * dark hole through it, and the fixture in the bar's contact shadow all round. The mask
 * must cover the dark face and stop at the shadow, leave the hole a hole, and, where the
 * shadow has a gap, not run out over the fixture (the growth that finds no shadow goes).
 * The fixture is lit unevenly, brighter in the middle than at the view's border (a lamp
 * and a lens's vignetting), which its border alone does not show. */
#include "rs_test.h"
#include "rs_views.h"
#include "rv/rv.h"
#include "rv/rv_align.h"

#include <math.h>

#define W 640
#define H 480
#define X0 120 /* the bar: [X0, X1) x [Y0, Y1), its lower face from YF down */
#define X1 520
#define Y0 170
#define Y1 300
#define YF 284
#define HX 330 /* a hole of radius HR through the bar's bright face */
#define HY 215
#define HR 18

/* The fixture's grey at (x, y): 60 at the border rising to 75 in the middle, plus noise. */
static double s_fixture(int x, int y, uint64_t *rng)
{
    double dx = (x - W / 2.0) / (W / 2.0), dy = (y - H / 2.0) / (H / 2.0);
    return 75 - 15 * (dx * dx + dy * dy) / 2 + (double) (rs_rand(rng) >> 61) - 3.5;
}

/* gap: 1 leaves the contact shadow out along the bar's lower edge from x = 300 to 360 */
static void s_scene(const rv_view_t *v, const rv_view_t *truth, int gap)
{
    uint64_t rng = 99;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double fix = s_fixture(x, y, &rng), val;
            int part = x >= X0 && x < X1 && y >= Y0 && y < Y1;
            int hole = (x - HX) * (x - HX) + (y - HY) * (y - HY) < HR * HR;
            if (part && !hole) {
                /* the lit face, then the face turned from the lamp: 0.95 of the fixture
                 * beside it, darker than Otsu's threshold between fixture and bar */
                val = y < YF ? 170 + (y - Y0) * 0.2 : 0.95 * fix;
            } else if (hole) {
                val = 0.4 * fix; /* the fixture seen through the hole, in its shadow */
            } else {
                /* the contact shadow: darker within 6 px of the bar */
                int dx = x < X0 ? X0 - x : x >= X1 ? x - X1 + 1 : 0;
                int dy = y < Y0 ? Y0 - y : y >= Y1 ? y - Y1 + 1 : 0;
                double d = sqrt((double) (dx * dx + dy * dy));
                int open = gap && y >= Y1 && x >= 300 && x < 360;
                val = d < 6 && !open ? fix * (0.5 + 0.5 * d / 6) : fix;
            }
            rv_view_row(v, y)[x] = (uint8_t) lround(val < 0 ? 0 : val > 255 ? 255 : val);
            rv_view_row(truth, y)[x] = part && !hole ? 255 : 0;
        }
}

int main(void)
{
    rv_init();
    rv_image_t *img = rv_image_new(W, H, RV_GRAY8), *truth = rv_image_new(W, H, RV_GRAY8),
               *sil = rv_image_new(W, H, RV_GRAY8), *mask = rv_image_new(W, H, RV_GRAY8);
    rv_view_t v = rv_image_view(img), t = rv_image_view(truth), s = rv_image_view(sil),
              m = rv_image_view(mask);
    for (int gap = 0; gap < 2; gap++) {
        s_scene(&v, &t, gap);
        RS_CHECK_EQ(rv_align_silhouette(&v, &s), RV_OK);
        RS_CHECK_EQ(rv_align_part_mask(&v, &m), RV_OK);
        double is = rs_mask_iou(&s, &t), im = rs_mask_iou(&m, &t);
        size_t spill = 0, face = 0, face_s = 0, face_t = 0, hole = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int mm = rv_view_row(&m, y)[x] != 0, tt = rv_view_row(&t, y)[x] != 0;
                spill += mm && !tt;
                if (y >= YF + 2 && y < Y1 - 2 && x >= X0 + 2 && x < X1 - 2) {
                    face_t++;
                    face += mm;
                    face_s += rv_view_row(&s, y)[x] != 0;
                }
                hole += mm && (x - HX) * (x - HX) + (y - HY) * (y - HY) < (HR - 2) * (HR - 2);
            }
        printf("%s: IoU with the true part: silhouette %.4f, part mask %.4f; dark face "
               "covered %.3f; %zu px beyond the part, %zu px in the hole\n",
               gap ? "a gap in the contact shadow" : "shadow all round", is, im,
               (double) face / (double) face_t, spill, hole);
        /* the silhouette misses the dark face (else there is nothing to test) */
        RS_CHECKF(face_s < face_t / 20, "the silhouette covers %zu of %zu", face_s, face_t);
        RS_CHECK_EQ(hole, 0);
        if (!gap) {
            RS_CHECKF(im > 0.98, "part mask IoU %.4f", im);
            RS_CHECKF(face > face_t * 99 / 100, "dark face covered %zu of %zu", face, face_t);
            RS_CHECKF(spill < 2 * (X1 - X0 + Y1 - Y0), "%zu px beyond the part", spill);
        } else {
            /* through the gap the growth ran to its reach: that growth is dropped, whole
             * (the dark face with it), and no more than the silhouette's own spill stays
             * beyond the part */
            RS_CHECKF(face < face_t / 20, "dark face covered %zu of %zu", face, face_t);
            RS_CHECKF(spill < 2 * (X1 - X0 + Y1 - Y0), "%zu px beyond the part", spill);
        }
    }
    /* a view too small to model its fixture, and one with no part: the silhouette's own
     * answers */
    rv_image_t *tiny = rv_image_new_filled(6, 6, RV_GRAY8, 90);
    rv_view_t tv = rv_image_view(tiny);
    RS_CHECK(rv_align_part_mask(&tv, &tv) != RV_OK);
    rv_view_fill(&v, 128);
    RS_CHECK_EQ(rv_align_part_mask(&v, &m), RV_EFORMAT);
    RS_CHECK_MSG(rv_last_error(), "blank or saturated");
    rv_image_destroy(&tiny);
    rv_image_destroy(&img);
    rv_image_destroy(&truth);
    rv_image_destroy(&sil);
    rv_image_destroy(&mask);
    return rs_test_end("vision.part_mask");
}
