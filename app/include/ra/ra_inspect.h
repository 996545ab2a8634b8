/* ra_inspect.h - one part from JPEG bytes to a graded proposal.
 *
 *   decode (TurboJPEG) -> gray -> align to the family's master (refuse when it does not
 *   match) -> warp into the master's frame -> front end (gray, rust, blur) -> per zone:
 *   every detector, configured from the zone's parameters -> the learned reference's
 *   anomaly -> the grader (route, reasons, review, credit, value retained).
 *
 * An inspector is made once per family (it owns the zone masks, the band of the learned
 * reference and scratch images) and is used by one thread at a time.
 * Ownership: ra_inspection_free() releases what a run produced. */
#ifndef RA_INSPECT_H
#define RA_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "ra/ra_identify.h"
#include "ra/ra_reference.h"
#include "rm/rm_family.h"
#include "rm/rm_grade.h"
#include "rv/rv_align.h"
#include "rv/rv_findings.h"
#include "rv/rv_image.h"

typedef struct ra_inspector ra_inspector_t;

typedef struct ra_inspection {
    int width, height;           /* of the image as delivered */
    int shrink;                  /* inspected at 1/shrink of that size (shrink-on-load: the
                                  * reference's resolution is all the inspection needs);
                                  * align maps the delivered frame all the same */
    int refused;                 /* 1: not graded; refusal says why */
    char refusal[512];
    rv_align_result_t align;
    rv_findings_t findings;
    double anomaly_mm2;          /* raw: largest region outside the learned band */
    double anomaly_score;        /* 0..1 as handed to the grader */
    rm_grade_t *grade;           /* NULL when refused */
    const char *isa;
    double ms_decode, ms_align, ms_warp, ms_front, ms_detect, ms_anomaly, ms_grade, ms_total;
    rv_image_t *aligned;         /* RGB8 in the master's frame (for overlays), or NULL */
    rv_image_t *heat;            /* with aligned: GRAY8, how far each part pixel lies outside
                                  * the learned band (8 per grey level), for a display */
} ra_inspection_t;

/* An inspector for family with its learned reference (the reference must have been
 * trained for this family file: its hash must match). NULL on failure. The inspector takes
 * its own reference to family and borrows ref (keep it alive). */
ra_inspector_t *ra_inspector_new(rm_family_t *family, const ra_reference_t *ref);
void ra_inspector_destroy(ra_inspector_t **self_p);
/* Inspect the zones with this many threads at once (1..8; 1, the default: all in the
 * calling thread). The findings are the same, in the same order, whatever the number. */
int ra_inspector_set_threads(ra_inspector_t *self, int threads);
const rm_family_t *ra_inspector_family(const ra_inspector_t *self);

/* Inspect one JPEG. code: the part mark read from this image (ra_identify), or NULL; its
 * area (grown by a margin) is a marking, not a defect, and is left out of every zone and of
 * the anomaly. Returns 0 when the image was inspected (graded, or refused because
 * the part cannot be aligned: out->refused), a negative status when the bytes are not an
 * image or a resource failed (rv_last_error). keep_aligned: keep out->aligned. */
int ra_inspect_jpeg(ra_inspector_t *self, const uint8_t *jpeg, size_t len, const ra_code_t *code,
                    int keep_aligned, ra_inspection_t *out);

/* The same from a decoded RGB8 view (the frame of a camera or a test). */
int ra_inspect_rgb(ra_inspector_t *self, const rv_view_t *rgb, const ra_code_t *code,
                   int keep_aligned, ra_inspection_t *out);

/* The same from a frame decoded shrunk on load: rgb is the delivered frame at 1/scale (1,
 * 2, 4 or 8; the DCT's scaling, or a box average, of scale x scale pixels). The alignment
 * reported and code's corners are in the delivered frame's pixels, as for ra_inspect_rgb. */
int ra_inspect_scaled(ra_inspector_t *self, const rv_view_t *rgb, int scale,
                      const ra_code_t *code, int keep_aligned, ra_inspection_t *out);

void ra_inspection_free(ra_inspection_t *r);

/* Draw the findings and zone outlines onto an RGB8 view of the master's frame. */
int ra_inspection_overlay(const ra_inspector_t *self, const ra_inspection_t *r,
                          const rv_view_t *rgb);

#endif
