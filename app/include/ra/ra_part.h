/* ra_part.h - one part seen in several views: the part's inspection from its views'.
 *
 * A technician captures as many views of a core as it needs (both faces of a disc, a
 * shaft turned a quarter). Each view is inspected and stored on its own; the part's
 * inspection combines them, and a decision cites that one record:
 *   - the grader's route is the worst of the views' routes (each view's fired rules
 *     exclude routes; the first route every view still allows is the latest of their
 *     routes in the order reuse, remanufacture, refurbish, repair, scrap);
 *   - the proposal is that route, or review when any view asks for review, unless a view
 *     that needs no person already proposes scrap (nothing can be worse);
 *   - reasons, findings and evidence are every view's, each carrying "view": its index
 *     (0-based) in the part; review_why the union;
 *   - credit, value retained, anomaly, calibration and isa are those of the deciding
 *     view (the first with the worst route);
 *   - "views": [{n, id, proposal, route, findings}] cites each view's record.
 * The views must all be graded (not refused), of one serial (where read), one family and
 * one model hash. */
#ifndef RA_PART_H
#define RA_PART_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define RA_PART_MAX_VIEWS 16

/* The part's inspection (schema reman.inspection/1, without station, session, id and ts:
 * the store adds them), a new reference. views[i]: view i's inspection record as stored
 * (with its id); records[i]: its record number. NULL with why (which view, what differs)
 * when the views cannot be one part's. */
json_t *ra_part_combine(json_t *const *views, const int64_t *records, size_t n, char *why,
                        size_t why_size);

#endif
