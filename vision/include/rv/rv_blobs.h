/* rv_blobs.h - connected components of a binary mask, by runs.
 *
 * The mask is scanned row by row for runs of non-zero pixels (whole zero words are
 * skipped, so a sparse defect mask costs little more than reading it); runs that touch
 * runs of the row above are merged with union-find. Each component comes back with its
 * area, bounding box and centroid, like OpenCV's connectedComponentsWithStats.
 * Ownership: rv_blobs_t owns its arrays; free them with rv_blobs_free(). */
#ifndef RV_BLOBS_H
#define RV_BLOBS_H

#include <stddef.h>
#include <stdint.h>

#include "rv/rv_image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_blob {
    int x0, y0, x1, y1; /* bounding box, inclusive, in pixels of the mask */
    uint32_t area;      /* pixels */
    double cx, cy;      /* centroid */
} rv_blob_t;

typedef struct rv_run {
    int y, x0, x1; /* pixels x0 .. x1-1 of row y */
    uint32_t blob; /* index into rv_blobs_t.items, or UINT32_MAX when the blob was dropped */
} rv_run_t;

typedef struct rv_blobs {
    rv_blob_t *items; /* components in order of their first pixel (raster order) */
    size_t count;
    rv_run_t *runs;   /* every run of the mask, in raster order (kept for shape analysis) */
    size_t nruns;
    uint32_t dropped; /* components smaller than min_area, not listed */
} rv_blobs_t;

/* Components of the non-zero pixels of a gray8 mask. connectivity is 4 or 8; components
 * with fewer than min_area pixels are counted in dropped and not listed. *out is
 * overwritten (call rv_blobs_free first when reusing it). */
int rv_components(const rv_view_t *mask, int connectivity, uint32_t min_area, rv_blobs_t *out);

void rv_blobs_free(rv_blobs_t *blobs);

/* Fill the holes of a 0 / 255 mask in place: every 4-connected region of zeros that does not
 * touch the mask's border becomes 255 (a part's through-holes and blind ones alike). */
int rv_fill_holes(const rv_view_t *mask);

/* Chamfer 3-4 distances in place over a w x h grid (row-major): 0 at the sources, a large
 * value (1 << 28) elsewhere on entry; on return 3 per pixel straight, 4 diagonally, from
 * the nearest source. */
void rv_chamfer34(int32_t *d, int w, int h);

#ifdef __cplusplus
}
#endif
#endif
