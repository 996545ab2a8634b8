/* ra_golden.h - the golden-sample check: at the start of a shift a known reference part is
 * inspected and compared with the result stored for it; drift beyond tolerance (a camera
 * moved or refocused, light changed, a lens dirty, calibration off) is reported and
 * recorded in the store (ra_store_note, kinds "golden" and "golden-check").
 *
 * What is compared (reman.inspection/1 objects, as reman-inspect prints them):
 *   - the route proposed, the family and the model's hash (must be equal: a changed
 *     family file makes the stored result incomparable; record it again);
 *   - the number of findings of each type (must be equal), and each type's summed measure
 *     (crack length, region area, pit diameter): |now - stored| <= measure_abs +
 *     measure_rel * |stored|;
 *   - every dimension finding by name: |now - stored| <= tol.dimension_mm;
 *   - the anomaly score: |now - stored| <= tol.anomaly;
 *   - the alignment's scale (the camera's mm per pixel against the master):
 *     |now / stored - 1| <= tol.scale_rel.
 * Pure functions over JSON; no I/O. */
#ifndef RA_GOLDEN_H
#define RA_GOLDEN_H

#include <jansson.h>

typedef struct ra_golden_tol {
    double dimension_mm; /* default 0.05 */
    double anomaly;      /* default 0.10 */
    double scale_rel;    /* default 0.005 */
    double measure_abs;  /* default 0.2 (mm or mm2) */
    double measure_rel;  /* default 0.05 */
} ra_golden_tol_t;

void ra_golden_tol_default(ra_golden_tol_t *tol);

/* The golden record (schema reman.golden/1) for a graded inspection stored as record n:
 * serial, part number, family, model hash, the values compared later, the tolerance.
 * NULL when the inspection was not graded (rv_last_error says why). */
json_t *ra_golden_record(const json_t *inspection, long long n, const ra_golden_tol_t *tol);

/* Compare an inspection of the golden part with its golden record: a golden-check record
 * (schema reman.golden-check/1) with "within" (true/false) and "drift": one entry
 * {what, stored, now, limit} per value beyond tolerance. The tolerance is the golden
 * record's. NULL on bad input (rv_last_error). */
json_t *ra_golden_check(const json_t *golden, const json_t *inspection, long long n);

#endif
