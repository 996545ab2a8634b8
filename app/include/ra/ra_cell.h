/* ra_cell.h - one captured frame to its inspection record: the code on the part, the
 * family it selects (a code of another family is refused: nothing is graded under the
 * wrong family), the inspection, and its description as a "reman.inspection/1" JSON
 * object (docs/inspection.md), with the original bytes and the overlay kept as evidence
 * when a store is given.
 *
 * Shared by the headless cell (reman-inspect) and the GTK station (reman-station): both
 * describe, store and grade a part the same way. The caller appends the object to the
 * store (ra_store_inspection) and decides (ra_store_decide).
 *
 * A cell owns one inspector per family (made on first use from the family's learned
 * reference) and is used by one thread at a time. */
#ifndef RA_CELL_H
#define RA_CELL_H

#include <jansson.h>
#include <stddef.h>

#include "ra/ra_calib.h"
#include "ra/ra_identify.h"
#include "ra/ra_source.h"
#include "ra/ra_store.h"
#include "rm/rm_family.h"
#include "rm/rm_registry.h"
#include "rv/rv_image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ra_cell ra_cell_t;

typedef struct ra_cell_opts {
    rm_registry_t *registry;   /* the families (borrowed; required) */
    const rm_family_t *forced; /* grade every part as this family (borrowed), or NULL:
                                * the family is selected by the part number read */
    const char *references;    /* directory holding FAMILY.ref (reman-train) */
    int identify;              /* read the code on the part (DataMatrix, QR, 1-D) */
    long identify_budget;      /* the code search's work: scan locations (0: the whole
                                * image; RA_IDENTIFY_BUDGET the usual) */
    const ra_calib_t *calib;   /* the calibration record in force, or NULL: the family's */
    ra_store_t *store;         /* keep the evidence here (borrowed), or NULL */
    const char *overlay_dir;   /* also write NAME.overlay.jpg here, or NULL */
    int keep_overlay;          /* keep the overlaid image in the result (a display) */
    int threads;               /* zones inspected at once (ra_inspector_set_threads; 0: 1) */
    int files_mode;            /* lines as the file source always gave them: no "capture"
                                * member, and a file that did not decode is hashed and kept */
} ra_cell_opts_t;

typedef struct ra_cell_result {
    json_t *line;              /* the reman.inspection/1 object (owned) */
    int graded;                /* 1: graded; 0: refused ("refused" says why) */
    int store_failed;          /* the store refused a write: acknowledge nothing */
    rv_image_t *overlay;       /* keep_overlay: RGB8 in the family's master frame with zones
                                * and findings drawn; NULL when refused */
    rv_image_t *aligned;       /* keep_overlay: the same without the drawing */
    rv_image_t *heat;          /* keep_overlay: the same with the anomaly heat map blended in
                                * (yellow to red: further outside the learned band) */
} ra_cell_result_t;

/* NULL on failure (rv_last_error). The options are copied; what they point to is borrowed. */
ra_cell_t *ra_cell_new(const ra_cell_opts_t *opts);
void ra_cell_destroy(ra_cell_t **self_p);

/* Inspect one frame, or (frame NULL) describe why the item `name` gave none (error).
 * given: a code typed or scanned at the bench, used instead of reading one (NULL: read it
 * when opts.identify). t_dec: the source's read and decode time, in ms. Fills out (free it
 * with ra_cell_result_free) and returns 0 when graded, 1 when refused. */
int ra_cell_inspect(ra_cell_t *self, const char *name, const ra_frame_t *frame,
                    const char *error, double t_dec, const ra_code_t *given,
                    ra_cell_result_t *out);
void ra_cell_result_free(ra_cell_result_t *r);

/* The size a frame must keep for every family this cell may grade: the forced family's
 * largest view, else the largest view of any family in the registry (0 x 0 when none).
 * A source told to cover it (ra_source_opts_t cover_width) decodes a larger frame shrunk
 * on load, which the inspection would have averaged down to its family's size anyway. */
void ra_cell_cover_size(const ra_cell_t *self, int *width, int *height);

/* The family an inspection line names (from the cell's registry), or NULL. */
const rm_family_t *ra_cell_family(ra_cell_t *self, const json_t *line);

#ifdef __cplusplus
}
#endif
#endif
