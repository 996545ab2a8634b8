/* rv_frontend.h - the detection front end: the image maps every detector starts from,
 * computed in as few passes as the kernels allow.
 *
 *   RGB ──(one fused pass)──> gray + rust likelihood (+ rust pixel count)
 *   gray ─> Gaussian 5x5 ─> blur
 *   blur ─> black-hat with a 15 px disc-like element, thresholded (one fused pass)
 *        ─> dark thin structures (crack / pit candidates) ─> connected components
 *   blur ─> outside the learned reference band [lo, hi] ─> change mask (+ count)
 *   blur ─> Sobel magnitude ─> threshold ─> edge mask ─> edge chains (components)
 *
 * It is the station's counterpart of the OpenCV chain imdecode → cvtColor gray →
 * GaussianBlur → morphologyEx BLACKHAT → threshold → connectedComponentsWithStats →
 * cvtColor HSV → inRange → absdiff → threshold → Canny → findContours, producing the same
 * kinds of output (app/bench compares the two).
 * Ownership: rv_frontend_t owns its scratch images, sized at creation; the result's blob
 * lists are owned by the result (rv_frontend_result_free). Not thread-safe per object;
 * use one front end per worker thread. */
#ifndef RV_FRONTEND_H
#define RV_FRONTEND_H

#include <stddef.h>
#include <stdint.h>

#include "rv/rv_blobs.h"
#include "rv/rv_image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_frontend_params {
    int blackhat_diameter; /* px, odd; default 15 */
    uint8_t dark_thr;      /* black-hat response above which a pixel is a dark candidate */
    uint8_t rust_thr;      /* rust likelihood above which a pixel counts as rust */
    uint8_t edge_thr;      /* Sobel magnitude above which a pixel is an edge */
    uint32_t min_blob_px;  /* dark components smaller than this are dropped */
} rv_frontend_params_t;

typedef struct rv_frontend_result {
    size_t rust_px, dark_px, change_px, edge_px;
    rv_blobs_t dark;  /* components of the dark-candidate mask (8-connected) */
    rv_blobs_t edges; /* edge chains: components of the edge mask (8-connected) */
    double ms_gray_rust, ms_blur, ms_blackhat, ms_dark_blobs, ms_change, ms_edges,
        ms_edge_chains, ms_total;
} rv_frontend_result_t;

typedef struct rv_frontend rv_frontend_t;

void rv_frontend_params_init(rv_frontend_params_t *params);

/* A front end for images of width x height. NULL on failure (rv_last_error). */
rv_frontend_t *rv_frontend_new(int width, int height);
void rv_frontend_destroy(rv_frontend_t **self_p);

/* Run on an RGB8 view of the front end's size. lo and hi are the learned reference
 * band (GRAY8, same size), or both NULL to skip the change mask. *out is overwritten
 * (free a previous result first). */
int rv_frontend_run(rv_frontend_t *self, const rv_view_t *rgb, const rv_view_t *lo,
                    const rv_view_t *hi, const rv_frontend_params_t *params,
                    rv_frontend_result_t *out);

void rv_frontend_result_free(rv_frontend_result_t *result);

/* The maps of the last run (borrowed; valid until the next run or destroy):
 * "gray", "rust", "blur", "dark", "change", "sobel", "edges". NULL for another name. */
const rv_view_t *rv_frontend_map(const rv_frontend_t *self, const char *name);

#ifdef __cplusplus
}
#endif
#endif
