/* test_findings.c - the findings list, and one defect across zones (rv_findings_join_zones):
 * a crack whose pieces meet at a zone boundary, or either side of a design edge along it,
 * becomes one crack of their whole length in the most critical zone it reaches; a chip's
 * pieces in two zones one chip of their summed area, a chip measured whole from two zones
 * one chip of that area; pieces too far apart, in one zone, or of other types stay apart. */
#include "rs_test.h"
#include "rv/rv_findings.h"

#include <math.h>
#include <string.h>

static rv_finding_t s_crack(int zone, float x0, float y0, float x1, float y1, double len_mm)
{
    rv_finding_t f;
    memset(&f, 0, sizeof f);
    f.type = RV_FINDING_CRACK;
    f.zone = zone;
    f.npoints = 3;
    for (int k = 0; k < 3; k++)
        f.points[k][0] = x0 + (x1 - x0) * k / 2.0f, f.points[k][1] = y0 + (y1 - y0) * k / 2.0f;
    f.bbox[0] = (int) fminf(x0, x1), f.bbox[1] = (int) fminf(y0, y1);
    f.bbox[2] = (int) fabsf(x1 - x0) + 1, f.bbox[3] = (int) fabsf(y1 - y0) + 1;
    f.length_mm = len_mm;
    f.width_mm = 0.2;
    f.score = 0.5;
    return f;
}

static rv_finding_t s_missing(int zone, int x, int y, int w, int h, double area)
{
    rv_finding_t f;
    memset(&f, 0, sizeof f);
    f.type = RV_FINDING_MISSING;
    f.zone = zone;
    f.bbox[0] = x, f.bbox[1] = y, f.bbox[2] = w, f.bbox[3] = h;
    f.npoints = 1;
    f.points[0][0] = (float) (x + w / 2), f.points[0][1] = (float) (y + h / 2);
    f.area_mm2 = area;
    f.length_mm = area / 10; /* depth */
    f.score = 1;
    return f;
}

int main(void)
{
    /* zones: 0 cosmetic (rank 0), 1 critical (2), 2 mating (1), 3 critical (2) */
    const int rank[4] = {0, 2, 1, 2};
    const double zpx[4] = {10000, 20000, 5000, 8000};
    const double mmpp = 0.5;

    /* a crack from (10, 50) to (100, 50) found as two pieces meeting at x = 60 (their
     * skeletons 4 px apart), in cosmetic zone 0 and critical zone 1; a third crack far off
     * in zone 1; a pit in zone 0 beside the meeting point */
    rv_findings_t l = {0};
    rv_finding_t a = s_crack(0, 10, 50, 58, 50, 25.0), b = s_crack(1, 100, 52, 62, 50, 20.0);
    rv_finding_t c = s_crack(1, 10, 150, 60, 150, 25.0), pit;
    memset(&pit, 0, sizeof pit);
    pit.type = RV_FINDING_PIT, pit.zone = 0, pit.bbox[0] = 59, pit.bbox[1] = 48;
    pit.bbox[2] = pit.bbox[3] = 3;
    RS_CHECK(rv_findings_push(&l, &a) == 0 && rv_findings_push(&l, &pit) == 0 &&
             rv_findings_push(&l, &b) == 0 && rv_findings_push(&l, &c) == 0);
    RS_CHECK_EQ(rv_findings_join_zones(&l, rank, zpx, 4, 6, 6, mmpp), 1);
    RS_CHECK_EQ(l.count, 3);
    const rv_finding_t *j = &l.items[0];
    RS_CHECK_EQ(j->type, RV_FINDING_CRACK);
    RS_CHECK_EQ(j->zone, 1); /* critical beats cosmetic, though the cosmetic piece is longer */
    RS_CHECK_EQ(j->zones, (uint64_t) 3);
    /* the pieces and the 4 px step between them (0.5 mm per px) */
    RS_CHECKF(fabs(j->length_mm - 47.0) < 1e-9, "joined length %.2f", j->length_mm);
    /* one polyline end to end: from a's far end to b's far end */
    RS_CHECKF(j->npoints == 6 && j->points[0][0] == 10 && j->points[5][0] == 100,
              "%d points, %.0f .. %.0f", j->npoints, j->points[0][0], j->points[j->npoints - 1][0]);
    for (int k = 1; k < j->npoints; k++)
        RS_CHECKF(j->points[k][0] >= j->points[k - 1][0], "point %d goes back", k);
    RS_CHECKF(j->bbox[0] == 10 && j->bbox[0] + j->bbox[2] == 101, "bbox %d + %d", j->bbox[0],
              j->bbox[2]);
    RS_CHECKF(fabs(j->orientation_deg) < 2 || fabs(j->orientation_deg - 180) < 2,
              "orientation %.1f", j->orientation_deg);
    RS_CHECK_EQ(l.items[1].type, RV_FINDING_PIT);      /* other types stay */
    RS_CHECKF(l.items[2].zone == 1 && l.items[2].zones == 0 && l.items[2].length_mm == 25.0,
              "the far crack: zone %d", l.items[2].zone); /* too far: stays apart */
    /* joined again: nothing more to join, and the joined crack does not join its own zones */
    RS_CHECK_EQ(rv_findings_join_zones(&l, rank, zpx, 4, 6, 6, mmpp), 0);
    rv_findings_free(&l);

    /* 8 px apart: no join at gap 6; two pieces of one zone never join */
    a = s_crack(0, 10, 50, 56, 50, 23.0), b = s_crack(1, 64, 50, 100, 50, 18.0);
    c = s_crack(0, 56, 52, 10, 90, 20.0);
    RS_CHECK(rv_findings_push(&l, &a) == 0 && rv_findings_push(&l, &b) == 0 &&
             rv_findings_push(&l, &c) == 0);
    RS_CHECK_EQ(rv_findings_join_zones(&l, rank, zpx, 4, 6, 6, mmpp), 0);
    RS_CHECK_EQ(l.count, 3);
    /* at 30 px they join (a design edge between the pieces), across the 8 px step */
    RS_CHECK_EQ(rv_findings_join_zones(&l, rank, zpx, 4, 30, 6, mmpp), 1);
    RS_CHECKF(l.count == 2 && fabs(l.items[0].length_mm - (23 + 18 + 4)) < 1e-9,
              "count %zu length %.2f", l.count, l.items[0].length_mm);
    rv_findings_free(&l);

    /* ends 9 px apart that do not continue each other: a level crack and one going down
     * from beside its end, in another zone, stay two */
    a = s_crack(0, 10, 50, 58, 50, 23.0), b = s_crack(1, 62, 58, 62, 100, 20.0);
    RS_CHECK(rv_findings_push(&l, &a) == 0 && rv_findings_push(&l, &b) == 0);
    RS_CHECK_EQ(rv_findings_join_zones(&l, rank, zpx, 4, 30, 6, mmpp), 0);
    RS_CHECK_EQ(l.count, 2);
    rv_findings_free(&l);

    /* one stretch of crack reported by two zones (zones that overlap): one crack, the
     * longer one's length and polyline, in the critical zone */
    a = s_crack(0, 10, 50, 100, 80, 40.0), b = s_crack(3, 55, 66, 99, 80, 20.0);
    b.points[1][1] += 1.5f; /* a little off the other's line, within 3 px */
    RS_CHECK(rv_findings_push(&l, &a) == 0 && rv_findings_push(&l, &b) == 0);
    RS_CHECK_EQ(rv_findings_join_zones(&l, rank, zpx, 4, 30, 6, mmpp), 1);
    RS_CHECKF(l.count == 1 && l.items[0].zone == 3 && l.items[0].zones == 9 &&
                  l.items[0].length_mm == 40.0 && l.items[0].points[0][0] == 10,
              "count %zu zone %d length %.1f", l.count, l.items[0].zone, l.items[0].length_mm);
    rv_findings_free(&l);

    /* a chip across zones 0 (cosmetic) and 2 (mating): boxes touching; the mating zone
     * takes it with the summed area, its zone_pct over zone 2's area, the deeper depth;
     * a chip of zone 3 whose box lies 10 px off stays apart */
    rv_finding_t m0 = s_missing(0, 100, 100, 20, 10, 40.0), m2 = s_missing(2, 105, 110, 10, 6, 16.0);
    rv_finding_t m3 = s_missing(3, 100, 136, 20, 10, 30.0);
    RS_CHECK(rv_findings_push(&l, &m0) == 0 && rv_findings_push(&l, &m2) == 0 &&
             rv_findings_push(&l, &m3) == 0);
    RS_CHECK_EQ(rv_findings_join_zones(&l, rank, zpx, 4, 6, 6, mmpp), 1);
    RS_CHECK_EQ(l.count, 2);
    j = &l.items[0];
    RS_CHECKF(j->zone == 2 && j->zones == 5 && fabs(j->area_mm2 - 56) < 1e-9,
              "zone %d zones %llx area %.1f", j->zone, (unsigned long long) j->zones, j->area_mm2);
    RS_CHECKF(fabs(j->zone_pct - 100.0 * 56 / (mmpp * mmpp) / 5000) < 1e-9, "zone_pct %.3f",
              j->zone_pct);
    RS_CHECKF(fabs(j->length_mm - 4.0) < 1e-9, "depth %.2f", j->length_mm);
    RS_CHECKF(j->bbox[0] == 100 && j->bbox[1] == 100 && j->bbox[2] == 20 && j->bbox[3] == 16,
              "bbox %d %d %d %d", j->bbox[0], j->bbox[1], j->bbox[2], j->bbox[3]);
    RS_CHECK_EQ(l.items[1].zone, 3);
    /* a third piece in zone 3 touching the joined one: all three, in critical zone 3 */
    rv_finding_t m3b = s_missing(3, 118, 112, 8, 8, 5.0);
    RS_CHECK(rv_findings_push(&l, &m3b) == 0);
    RS_CHECK_EQ(rv_findings_join_zones(&l, rank, zpx, 4, 6, 6, mmpp), 1);
    RS_CHECKF(l.count == 2 && l.items[0].zone == 3 && l.items[0].zones == 13 &&
                  fabs(l.items[0].area_mm2 - 61) < 1e-9,
              "count %zu zone %d zones %llx area %.1f", l.count, l.items[0].zone,
              (unsigned long long) l.items[0].zones, l.items[0].area_mm2);
    /* a finding outside the zones (surface mode, -1) is left alone */
    rv_finding_t s = s_missing(-1, 100, 100, 5, 5, 3.0);
    RS_CHECK(rv_findings_push(&l, &s) == 0);
    RS_CHECK_EQ(rv_findings_join_zones(&l, rank, zpx, 4, 6, 6, mmpp), 0);
    RS_CHECK_EQ(l.count, 3);
    rv_findings_free(&l);

    /* one gap measured whole from each zone's piece of it (rv_det_missing's flood): the
     * same box, or one box holding the other, is the same pixels, kept once (the larger
     * area, the critical zone); boxes that only touch are pieces, summed (above) */
    rv_finding_t w0 = s_missing(0, 100, 200, 30, 12, 50.0);
    rv_finding_t w2 = s_missing(2, 100, 200, 30, 12, 50.0);
    rv_finding_t w1 = s_missing(1, 112, 203, 9, 9, 12.0);
    RS_CHECK(rv_findings_push(&l, &w0) == 0 && rv_findings_push(&l, &w2) == 0 &&
             rv_findings_push(&l, &w1) == 0);
    RS_CHECK_EQ(rv_findings_join_zones(&l, rank, zpx, 4, 6, 6, mmpp), 2);
    RS_CHECKF(l.count == 1 && l.items[0].zone == 1 && l.items[0].zones == 7 &&
                  fabs(l.items[0].area_mm2 - 50) < 1e-9 && l.items[0].bbox[2] == 30,
              "count %zu zone %d zones %llx area %.1f", l.count, l.items[0].zone,
              (unsigned long long) l.items[0].zones, l.items[0].area_mm2);
    rv_findings_free(&l);
    return rs_test_end("vision.findings");
}
