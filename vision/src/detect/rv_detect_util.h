/* rv_detect_util.h - what the detectors share: table-driven configure(), the region of
 * interest a zone covers, scratch masks, per-component run indexes and moments, and a
 * small thinning + longest-path tracer for line-like components.
 *
 * Internal to vision/src/detect. Nothing here keeps state between calls.
 * Thread-safety: reentrant. */
#ifndef RV_DETECT_UTIL_H
#define RV_DETECT_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "rv/rv_blobs.h"
#include "rv/rv_detect.h"
#include "rv/rv_image.h"

/* The detector classes, one per file. */
extern const rv_detector_class_t rv_det_crack;
extern const rv_detector_class_t rv_det_corrosion;
extern const rv_detector_class_t rv_det_pit;
extern const rv_detector_class_t rv_det_missing;
extern const rv_detector_class_t rv_det_wear;
extern const rv_detector_class_t rv_det_dimension;

/* One configure key: the params struct holds it as a double at offset; values outside
 * [lo, hi] are refused. integer: the value must be a whole number. */
typedef struct rv_det_key {
    const char *key;
    size_t offset;
    double def, lo, hi;
    int integer;
} rv_det_key_t;

/* Defaults for every key, then the pairs of kv; an unknown key or a value out of range
 * fails with RV_EINVAL, "<domain>: ..." naming the key. */
int rv_det_configure(const char *domain, const rv_det_key_t *keys, size_t nkeys, void *params,
                     const rv_param_t *kv, size_t n);

/* Check the context for a run: gray/blur present as GRAY8 of one size, zone (may be NULL)
 * of that size, mm_per_px > 0. */
int rv_det_check(const char *domain, const rv_detect_ctx_t *ctx, const rv_view_t *zone);

/* The box [x0, y0, x1, y1) of the non-zero pixels of mask (whole view when mask is NULL),
 * grown by margin and clipped to the view. 0 when the mask is empty. */
int rv_det_mask_box(const rv_view_t *mask, int width, int height, int margin, int box[4]);

/* Number of non-zero pixels of mask inside box (all pixels of the box when NULL). */
size_t rv_det_mask_count(const rv_view_t *mask, const int box[4]);

/* The view of src restricted to box (src may be NULL: result has data NULL). */
rv_view_t rv_det_sub(const rv_view_t *src, const int box[4]);

/* dst = a AND b for 0/255 masks (either may be NULL = all set; both NULL fills 255). */
int rv_det_and(const rv_view_t *a, const rv_view_t *b, const rv_view_t *dst);

/* Runs of each blob: runs of blob i are order[first[i] .. first[i + 1]) (indexes into
 * blobs->runs). Both arrays are malloc'ed; free them. */
int rv_det_runs_by_blob(const rv_blobs_t *blobs, uint32_t **first, uint32_t **order);

/* Second moments of one blob from its runs: centroid, principal-axis standard deviations
 * (px) and the angle of the major axis (degrees, 0 = x, 90 = y, 0 .. 180). */
typedef struct rv_det_moments {
    double n, cx, cy, major_sd, minor_sd, angle_deg;
} rv_det_moments_t;

void rv_det_moments(const rv_blobs_t *blobs, const uint32_t *order, uint32_t begin,
                    uint32_t end, rv_det_moments_t *m);

/* The longest simple path through the 8-connected skeleton of a binary patch (w x h,
 * row-major, non-zero = set, modified: thinned in place). path receives up to max_path
 * (x, y) pixel pairs in patch coordinates, ordered from one end to the other; returns its
 * number of pixels (0 when the patch is empty), or RV_ENOMEM. */
int rv_det_trace(uint8_t *patch, int w, int h, int *path, int max_path);

/* Length (px) of a pixel path measured through samples every step pixels along it
 * (removes the staircase of 8-connected paths). */
double rv_det_path_length(const int *path, int n, int step);

/* Put up to max_pts points evenly along the path (by index) into pts (x, y floats),
 * offset by (ox, oy); returns their number. */
int rv_det_path_points(const int *path, int n, float (*pts)[2], int max_pts, float ox,
                       float oy);

/* Mean of a GRAY8 map (same frame as the runs) over one blob's pixels; 0 when map NULL. */
double rv_det_blob_mean(const rv_view_t *map, const rv_blobs_t *blobs, const uint32_t *order,
                        uint32_t begin, uint32_t end);

/* Where a detector may look (zone_index: the zone's index as run() got it, for the cache):
 * the box (grown by grow px, clipped) around the zone (or,
 * without a zone, this view's part mask, else the reference part, else the whole view),
 * and in *allowed (an image of that box's size, or NULL when every pixel is allowed) the
 * zone AND the part eroded by erode_px (keeps the outline and hole rims out). Returns 1,
 * or 0 when the zone is empty (nothing to do), or a negative status. */
int rv_det_allowed(const rv_detect_ctx_t *ctx, const rv_view_t *zone, int zone_index,
                   int erode_px, int grow, int box[4], rv_image_t **allowed);

/* rv_det_mask_box of a zone's mask (zone: its index as run() got it); with a cache, found
 * once per zone between two resets (the mask of a zone index must not change meanwhile). */
int rv_det_zone_box(const rv_detect_ctx_t *ctx, const rv_view_t *mask, int zone, int margin,
                    int box[4]);

/* Pixels of the zone (zone_pct's denominator): the zone's non-zero pixels; without a
 * zone, the part's (ctx->part, else ref_part), else the whole view. box holds every
 * non-zero pixel of that mask; scratch (GRAY8, box-sized, overwritten) takes the SIMD
 * threshold's output, whose count is the answer. */
size_t rv_det_zone_pixels(const rv_detect_ctx_t *ctx, const rv_view_t *zone, const int box[4],
                          const rv_view_t *scratch);

/* One candidate component looked at closely: the black-hat (disc d) of the view and of
 * the reference over its box grown by d, and its pixels that are darker than their
 * surroundings by more than thr beyond what the reference shows at the same place
 * (grooves, shadow lines, threads and rims of the nominal part are not defects), split
 * into pieces (8-connected, at least min_area px) in the local frame at box. */
typedef struct rv_det_local {
    int box[4];              /* in the frame of blur */
    rv_view_t bh, bh_ref;    /* over box; bh_ref.data NULL without a reference */
    rv_image_t *bh_img, *bh_ref_img; /* their pixels when no cache holds them */
    rv_image_t *patch;
    rv_blobs_t pieces;
    uint32_t *first, *order; /* rv_det_runs_by_blob of pieces */
} rv_det_local_t;

int rv_det_local_split(const rv_view_t *blur, const rv_view_t *ref, const rv_blobs_t *blobs,
                       size_t blob, const uint32_t *order, uint32_t begin, uint32_t end, int d,
                       int thr, uint32_t min_area, rv_det_local_t *l);
/* The same, with the black-hats read from ctx's cache when it has one: blur and ref must be
 * the windows of ctx->blur and ctx->ref_mean over box (the detector's box, as given to
 * rv_det_allowed), and every pixel of the blob must lie at least d px inside box unless
 * box meets the view's edge there (the blob lies in the zone, and box grows the zone's
 * box by d). The values at the blob's pixels, all that is read of them, are those the
 * local black-hats give. */
int rv_det_local_split_ctx(const rv_detect_ctx_t *ctx, const int box[4], const rv_view_t *blur,
                           const rv_view_t *ref, const rv_blobs_t *blobs, size_t blob,
                           const uint32_t *order, uint32_t begin, uint32_t end, int d, int thr,
                           uint32_t min_area, rv_det_local_t *l);

/* Maps a cache derives from the context (rv_detect_cache_t). */
typedef enum rv_det_map {
    RV_DET_MAP_BH_BLUR,  /* black-hat, disc param, of ctx->blur */
    RV_DET_MAP_BH_REF,   /* black-hat, disc param, of ctx->ref_mean */
    RV_DET_MAP_ERODE,    /* erosion, square of side param, of ctx->part (else ref_part) */
    RV_DET_MAP_BAND_LO,  /* rv_band_from_stats(ref_mean, ref_spread, k_q8 = param): lo */
    RV_DET_MAP_BAND_HI,  /* ... and hi */
    RV_DET_MAP_REF_MIN   /* erosion, square of side param, of ctx->ref_mean */
} rv_det_map_t;

/* The window over win (absolute [x0, y0, x1, y1) in the view's frame; NULL: box) of a
 * derived map whose pixels in box (inside win) are what the same filter run on the whole
 * view gives (the rest of win may hold anything): 1 with *out set, 0 when ctx has no cache
 * (or lacks the source map), negative on failure. */
int rv_det_cached(const rv_detect_ctx_t *ctx, rv_det_map_t kind, int param, const int box[4],
                  const int win[4], rv_view_t *out);
void rv_det_local_free(rv_det_local_t *l);

/* The reference's darkest value within shift px of each pixel of box (ctx->ref_mean eroded
 * by a square of side 2 shift + 1, as over the whole view): a part aligned to within shift
 * px shows no design edge darker than this. *out is a view of box's size (ctx->ref_mean's
 * own pixels when shift is 0); *own is set when it was computed here, for the caller to
 * rv_image_destroy. RV_OK or a negative error. */
int rv_det_ref_min(const rv_detect_ctx_t *ctx, const int box[4], int shift, rv_image_t **own,
                   rv_view_t *out);

/* Sums over one piece of a local split: black-hat, reference black-hat, closing (local
 * background), a map of the blur frame (may be NULL), and the pixels where black-hat >=
 * frac * closing. */
typedef struct rv_det_piece_sums {
    double bh, bh_ref, close, map;
    uint32_t n, n_frac;
} rv_det_piece_sums_t;

void rv_det_piece_sums(const rv_det_local_t *l, const rv_view_t *blur, const rv_view_t *map,
                       size_t piece, double frac, rv_det_piece_sums_t *s);

/* Ceil to odd, clamped to [lo, hi] (odd bounds). */
int rv_det_odd(double v, int lo, int hi);

#endif
