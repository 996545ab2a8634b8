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

/* Maps the detectors derive from the context's maps (black-hats of the blur and of the
 * reference, the eroded part, the wear band), kept so that zones that overlap, and the
 * detectors of one zone, compute each pixel once per view instead of once per zone box.
 * Filled lazily, tile by tile, with exactly the values each detector would compute on its
 * own box (a tile is computed with the whole reach of its filter around it), so findings
 * are the same with or without a cache. Thread-safe: the zones of one view may run on
 * several threads with one cache. */
typedef struct rv_detect_cache rv_detect_cache_t;

rv_detect_cache_t *rv_detect_cache_new(void);
void rv_detect_cache_destroy(rv_detect_cache_t **self_p);
/* Forget what was derived from the view and the zone masks (call before a context with
 * new view pixels or new zone masks uses it: between two resets, the mask a detector gets
 * with one zone index must stay the same, since the cache remembers each zone's box).
 * keep_reference: keep what was derived from the reference maps (ref_mean, ref_spread),
 * which the caller promises have not changed; 0 forgets those too. Contexts that use one
 * cache at the same time must share their maps. */
void rv_detect_cache_reset(rv_detect_cache_t *self, int keep_reference);

/* Find and remember the box of zone index zone's mask (a width x height view) reading only
 * within[4] (x0, y0, x1, y1, exclusive), outside which the caller promises the mask is 0:
 * the same box the detectors would find scanning the whole view, for less reading (a zone
 * less the part's mark is made anew for every view). RV_OK, or RV_EINVAL for a box outside
 * the view. */
int rv_detect_cache_zone_within(rv_detect_cache_t *self, int zone, const rv_view_t *mask,
                                const int within[4]);

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
    const rv_view_t *ref_outline; /* GRAY8 the share of the good parts having part at a
                                     pixel (255: all); ref_part lies inside their median
                                     outline where their outlines disagree: missing
                                     material found against ref_part is measured to that
                                     outline (the missing detector's key share). NULL:
                                     measured to ref_part */
    double mm_per_px;            /* calibration on the working plane */
    rv_detect_cache_t *cache;    /* optional (NULL: every run computes its own maps) */
    const rv_view_t *zone_near;  /* optional GRAY8: the zone being run grown by
                                    RV_ZONE_NEAR_PX px (less the part mark), where a
                                    detector judges a defect that crosses the zone's
                                    boundary whole (the crack detector's candidates);
                                    NULL: such a detector grows the zone itself */
} rv_detect_ctx_t;

/* How far past its zone a defect that reaches into the zone is judged whole, px. */
#define RV_ZONE_NEAR_PX 13

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
