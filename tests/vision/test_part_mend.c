/* test_part_mend.c - rv_align_part_mend on a scene drawn here, so what each gap is is
 * exact: a bar on a fixture, its lower face turned from the lamp and streaked (turning
 * marks), the fixture in the bar's contact shadow. The mask handed in lacks two pieces
 * inside the learned outline (the whole bar): a bite where a darker streak of the face
 * stopped it (part: must join the mask) and a chip, where the fixture shows through the
 * notch (must stay out). The same scene in negative (a dark part on a bright fixture)
 * gives the same answer; with the face as dark as the fixture nothing can be judged and
 * both stay. A bite as dark as the fixture is told from a chip by its mouth: the fixture
 * across it still lies in the part's contact shadow. Views of other sizes or formats are
 * refused with a reason. */
#include "rs_test.h"
#include "rs_views.h"
#include "rv/rv.h"
#include "rv/rv_align.h"

#include <math.h>

#define W 640
#define H 480
#define X0 100 /* the bar [X0, X1) x [Y0, Y1); its lower face from YF down */
#define X1 540
#define Y0 180
#define Y1 300
#define YF 270
#define BX0 203 /* the bite: a streak's columns, its lowest BD rows */
#define BX1 214
#define BD 16
#define CX0 400 /* the chip: the fixture through a notch CD rows deep */
#define CX1 441
#define CD 14
#define DX0 300 /* a darker bite: a streak at the fixture's grey, its mouth in shadow */
#define DX1 312
#define DD 14
#define DGREY 62
#define LX0 480 /* a lit chip: the open fixture through a notch LD rows deep, and across */
#define LX1 515 /* its mouth (no contact shadow: the material that cast it is gone) */
#define LD 14

/* face: the lower face's grey away from its streaks (the fixture is about 60); shaded: with
 * the darker bite and the lit chip */
static void s_scene(const rv_view_t *v, const rv_view_t *truth, double face, int shaded)
{
    uint64_t rng = 7;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double fix = 60 + (double) (rs_rand(&rng) >> 61) - 3.5, val;
            int bar = x >= X0 && x < X1 && y >= Y0 && y < Y1;
            int chip = x >= CX0 && x < CX1 && y >= Y1 - CD && y < Y1;
            int lit = shaded && x >= LX0 && x < LX1 && y >= Y1 - LD && y < Y1;
            int lit_mouth = shaded && x >= LX0 - 2 && x < LX1 + 2 && y >= Y1 - LD && y < Y1 + 6;
            if (shaded && bar && x >= DX0 && x < DX1 && y >= Y1 - DD) {
                val = DGREY;
            } else if (lit_mouth && !(bar && !lit)) {
                val = fix;
            } else if (bar && !chip && !lit) {
                /* streaks: every 9th column 3 wide, 12 darker; the bite's columns darker
                 * still */
                int streak = x % 9 < 3, bite = x >= BX0 && x < BX1;
                val = y < YF ? 170 : face - (streak ? 12 : 0) - (bite ? 16 : 0);
            } else {
                /* the contact shadow within 6 px of the bar, the notch included */
                int dx = x < X0 ? X0 - x : x >= X1 ? x - X1 + 1 : 0;
                int dy = y < Y0 ? Y0 - y : y >= Y1 ? y - Y1 + 1 : 0;
                double d = chip ? 2 : sqrt((double) (dx * dx + dy * dy));
                val = d < 6 ? fix * (0.5 + 0.5 * d / 6) : fix;
            }
            rv_view_row(v, y)[x] = (uint8_t) lround(val < 0 ? 0 : val > 255 ? 255 : val);
            rv_view_row(truth, y)[x] = bar && !chip && !lit ? 255 : 0;
        }
}

/* The mask handed in: the true part less the bite (and the darker bite: shaded); the
 * outline: the whole bar. */
static void s_inputs(const rv_view_t *truth, const rv_view_t *mask, const rv_view_t *outline,
                     int shaded)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int bite = x >= BX0 && x < BX1 && y >= Y1 - BD && y < Y1;
            int dark = shaded && x >= DX0 && x < DX1 && y >= Y1 - DD && y < Y1;
            rv_view_row(mask, y)[x] = bite || dark ? 0 : rv_view_row(truth, y)[x];
            rv_view_row(outline, y)[x] = x >= X0 && x < X1 && y >= Y0 && y < Y1 ? 255 : 0;
        }
}

static size_t s_count(const rv_view_t *m, int x0, int x1, int y0, int y1)
{
    size_t n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            n += rv_view_row(m, y)[x] != 0;
    return n;
}

int main(void)
{
    rv_init();
    rv_image_t *img = rv_image_new(W, H, RV_GRAY8), *truth = rv_image_new(W, H, RV_GRAY8),
               *mask = rv_image_new(W, H, RV_GRAY8), *outl = rv_image_new(W, H, RV_GRAY8);
    rv_view_t v = rv_image_view(img), t = rv_image_view(truth), m = rv_image_view(mask),
              o = rv_image_view(outl);
    const size_t bite_px = (size_t) (BX1 - BX0) * BD, chip_px = (size_t) (CX1 - CX0) * CD;

    /* a face well above the fixture: the bite is part, the chip is not */
    s_scene(&v, &t, 95, 0);
    s_inputs(&t, &m, &o, 0);
    size_t mended = 0;
    RS_CHECK_EQ(rv_align_part_mend(&v, &m, &o, 128, &mended), RV_OK);
    size_t bite_in = s_count(&m, BX0, BX1, Y1 - BD, Y1);
    size_t chip_in = s_count(&m, CX0, CX1, Y1 - CD, Y1);
    printf("face 95: mended %zu px; the bite %zu of %zu px part, the chip %zu of %zu\n", mended,
           bite_in, bite_px, chip_in, chip_px);
    RS_CHECK_EQ(bite_in, bite_px);
    RS_CHECK_EQ(chip_in, 0);
    RS_CHECK_EQ(mended, bite_px);
    RS_CHECKF(rs_mask_iou(&m, &t) > 0.9999, "IoU with the true part %.5f", rs_mask_iou(&m, &t));

    /* a darker bite, a streak at the fixture's grey (t about 0.3, under the mend's 0.4),
     * whose mouth is still in the contact shadow: part; a chip whose floor and mouth are
     * lit as the open fixture (t about 0.2): not part */
    const size_t dark_px = (size_t) (DX1 - DX0) * DD, lit_px = (size_t) (LX1 - LX0) * LD;
    s_scene(&v, &t, 95, 1);
    s_inputs(&t, &m, &o, 1);
    RS_CHECK_EQ(rv_align_part_mend(&v, &m, &o, 128, &mended), RV_OK);
    size_t dark_in = s_count(&m, DX0, DX1, Y1 - DD, Y1);
    size_t lit_in = s_count(&m, LX0, LX1, Y1 - LD, Y1);
    printf("shaded mouths: mended %zu px; the darker bite %zu of %zu px part, the lit chip %zu of "
           "%zu\n", mended, dark_in, dark_px, lit_in, lit_px);
    RS_CHECK_EQ(dark_in, dark_px);
    RS_CHECK_EQ(lit_in, 0);
    RS_CHECK_EQ(s_count(&m, CX0, CX1, Y1 - CD, Y1), 0);
    RS_CHECK_EQ(mended, bite_px + dark_px);
    RS_CHECKF(rs_mask_iou(&m, &t) > 0.9999, "IoU with the true part %.5f", rs_mask_iou(&m, &t));
    s_scene(&v, &t, 95, 0);

    /* the same in negative: a dark part, its lit face darkest, on a bright fixture */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            rv_view_row(&v, y)[x] = (uint8_t) (255 - rv_view_row(&v, y)[x]);
    s_inputs(&t, &m, &o, 0);
    RS_CHECK_EQ(rv_align_part_mend(&v, &m, &o, 128, &mended), RV_OK);
    bite_in = s_count(&m, BX0, BX1, Y1 - BD, Y1);
    chip_in = s_count(&m, CX0, CX1, Y1 - CD, Y1);
    printf("in negative: mended %zu px; the bite %zu px part, the chip %zu\n", mended, bite_in,
           chip_in);
    RS_CHECK_EQ(bite_in, bite_px);
    RS_CHECK_EQ(chip_in, 0);

    /* a face as dark as the fixture: nothing can be judged, both gaps stay */
    s_scene(&v, &t, 60, 0);
    s_inputs(&t, &m, &o, 0);
    RS_CHECK_EQ(rv_align_part_mend(&v, &m, &o, 128, &mended), RV_OK);
    bite_in = s_count(&m, BX0, BX1, Y1 - BD, Y1);
    chip_in = s_count(&m, CX0, CX1, Y1 - CD, Y1);
    printf("face 60: mended %zu px; the bite %zu px part, the chip %zu\n", mended, bite_in,
           chip_in);
    RS_CHECK_EQ(mended, 0);
    RS_CHECK_EQ(bite_in + chip_in, 0);

    /* refused: another size, another format, an outline threshold out of range */
    rv_image_t *small = rv_image_new(W / 2, H, RV_GRAY8), *rgb = rv_image_new(W, H, RV_RGB8);
    rv_view_t sv = rv_image_view(small), cv = rv_image_view(rgb);
    RS_CHECK_EQ(rv_align_part_mend(&v, &sv, &o, 128, NULL), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "one size");
    RS_CHECK_EQ(rv_align_part_mend(&cv, &m, &o, 128, NULL), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "GRAY8");
    RS_CHECK_EQ(rv_align_part_mend(&v, &m, &o, 0, NULL), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "outline threshold 0");
    RS_CHECK_EQ(rv_align_part_mend(&v, NULL, &o, 128, NULL), RV_EINVAL);
    rv_image_destroy(&small);
    rv_image_destroy(&rgb);
    rv_image_destroy(&img);
    rv_image_destroy(&truth);
    rv_image_destroy(&mask);
    rv_image_destroy(&outl);
    return rs_test_end("vision.part_mend");
}
