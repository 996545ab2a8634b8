/* ra_truth.h - the whole-part detectors measured against the generator's exact ground truth.
 *
 * A core is rendered with ra_gencore; the reference rendering of the same seed lies exactly
 * over it, so it gives the learned mean (its blurred gray, with a constant spread), the
 * nominal outline (its labels) and the zone (its part pixels, the DataMatrix excluded, as a
 * family model's zones do). Every detector runs with its defaults on that zone, and each
 * true defect is matched to the findings: a crack by the share of the reported polyline
 * within half its width + 4 px of the true one (>= 0.5), rust and chips and wear by box
 * overlap (areas summed), a pit by its centre within its radius + 2 px. What matches
 * nothing is a false finding. tests/app/test_detect.c asserts the targets on these figures;
 * reman-eval --generated prints them on cores of other seeds. */
#ifndef RA_TRUTH_H
#define RA_TRUTH_H
#include <stdint.h>
#include <stdio.h>

#include "ra/ra_gencore.h"
#include "rv/rv_detect.h"
#include "rv/rv_findings.h"
#include "rv/rv_image.h"

#define RA_TRUTH_SPREAD 2 /* the reference's spread, grey levels: the generator's blurred
                           * sensor noise is about 1 level (robust standard deviation) */
#define RA_TRUTH_NDET 6   /* crack, corrosion, pit, missing, wear, dimension */

/* One rendered core with its maps, its reference and its truth. */
typedef struct ra_truth_core {
    ra_gencore_t *gc, *ref;
    rv_image_t *gray, *blur, *rust, *ref_blur, *spread, *ref_part, *part, *zone;
    rv_view_t v[8]; /* views of the eight images, in that order */
    rv_detect_ctx_t ctx;
} ra_truth_core_t;

/* Render core seed (defects: RA_GENCORE_DEFECTS_* bits, ncracks > 0 asks for that many
 * cracks) and its reference, and make the maps. 0, or -1 (rv_last_error). */
int ra_truth_core_make(ra_truth_core_t *c, uint64_t seed, ra_gencore_shape_t shape, int w, int h,
                       unsigned defects, int ncracks);
void ra_truth_core_free(ra_truth_core_t *c);

/* dst = 255 where the label image holds one of the labels in set (a bit mask of
 * RA_LABEL_*), else 0 (both GRAY8 of one size). */
void ra_truth_labels_to_mask(const rv_image_t *labels, unsigned set, rv_image_t *dst);
/* 1 when two boxes [x, y, w, h] overlap. */
int ra_truth_box_overlap(const int a[4], const int b[4]);

/* The detectors by name, in the order ra_truth_detect_all runs them (the caliper last). */
extern const char *const ra_truth_detectors[RA_TRUTH_NDET];
/* Run detector name with its defaults plus kv on zone; its findings are appended to out. */
int ra_truth_detect(const ra_truth_core_t *c, const char *name, const rv_param_t *kv, size_t n,
                    const rv_view_t *zone, rv_findings_t *out);
/* Every detector but the caliper over the core's zone; ms (may be NULL) += ms per detector. */
int ra_truth_detect_all(const ra_truth_core_t *c, rv_findings_t *all, double ms[RA_TRUTH_NDET]);

typedef struct ra_truth_stats {
    int cracks, cracks_found, false_cracks, false_cracks_clean, clean_cores;
    double crack_len_err_max, crack_len_err_sum, crack_width_err_sum;
    int crack_len_within; /* found cracks whose length is within 10 % */
    int rust, rust_found;
    double rust_err_max, rust_err_sum;
    int pits, pits_found, pits_small, false_pits, pit_count_wrong;
    int pits_big, pits_big_found; /* pits of diameter >= 0.3 mm, and of those found */
    double pit_d_err_max;
    int chips, chips_found, false_missing;
    double chip_err_max, chip_err_sum, chip_depth_err_max;
    int wear, wear_found, false_wear_clean;
    int false_other_clean;
} ra_truth_stats_t;

/* Match one core's findings against its truth and add to st; misses, false findings and
 * (verbose) every match are written to log (may be NULL). A caller counts clean cores
 * (st->clean_cores) itself. */
void ra_truth_score(const ra_truth_core_t *c, const rv_findings_t *all, ra_truth_stats_t *st,
                    FILE *log, int verbose);

#endif
