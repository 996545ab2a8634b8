/* rv_detect.h - the contract every detector fills in (darktable's module contract, for
 * defect detectors), and the context they run in.
 *
 * A detector is a const rv_detector_class_t: a name, the size of its run-time
 * parameters, configure() that turns a zone's key/value parameters (from the part-family
 * model) into those parameters (defaults for keys not given; an unknown key or a value
 * out of range is an error naming it), and run() that looks at one zone of an aligned
 * view and appends findings measured in millimetres. Detectors keep no state between
 * runs and never allocate images per pixel; they read the shared maps of the context.
 * Thread-safety: run() is reentrant; a context belongs to one thread. */
#ifndef RV_DETECT_H
#define RV_DETECT_H

#include <stddef.h>

#include "rv/rv_findings.h"
#include "rv/rv_image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_param {
    const char *key;
    double value;
} rv_param_t;

/* What a detector sees: the aligned view and the maps computed once per view. Maps that
 * are not available are NULL (for example no learned reference yet). All views have
 * the same size, in the reference frame of the part family. */
typedef struct rv_detect_ctx {
    const rv_view_t *rgb;        /* RGB8 aligned view */
    const rv_view_t *gray;       /* GRAY8 */
    const rv_view_t *blur;       /* GRAY8, Gaussian 5x5 of gray */
    const rv_view_t *rust;       /* GRAY8 rust likelihood (rv_rust) */
    const rv_view_t *ref_mean;   /* GRAY8 learned mean of good parts (blurred gray) */
    const rv_view_t *ref_spread; /* GRAY8 learned spread (robust std. dev.) */
    const rv_view_t *ref_part;   /* GRAY8 255 where the reference part is, else 0 */
    const rv_view_t *part;       /* GRAY8 255 where this view's part is, else 0 */
    double mm_per_px;            /* calibration on the working plane */
} rv_detect_ctx_t;

typedef struct rv_detector_class {
    const char *name;   /* "crack", "corrosion", "pit", "missing", "wear", "dimension" */
    size_t params_size; /* bytes of the run-time parameters */
    /* Fill params (params_size bytes) from n key/value pairs. */
    int (*configure)(void *params, const rv_param_t *kv, size_t n);
    /* Look at the pixels of zone_mask (GRAY8, non-zero = inside; NULL = whole view) and
     * append findings (their zone field set to zone) to out. */
    int (*run)(const void *params, const rv_detect_ctx_t *ctx, const rv_view_t *zone_mask,
               int zone, rv_findings_t *out);
} rv_detector_class_t;

/* The detector of that name, or NULL. */
const rv_detector_class_t *rv_detector_find(const char *name);

/* All detectors, NULL-terminated. */
const rv_detector_class_t *const *rv_detectors(void);

#ifdef __cplusplus
}
#endif
#endif
