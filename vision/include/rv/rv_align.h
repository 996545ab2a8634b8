/* rv_align.h - registers a view of a part to its family's reference view.
 *
 * Estimation works on downscaled copies (work width ~512 px) of the part's silhouette
 * (Otsu threshold: a part on a contrasting fixture; or, for a solid part, params.solid,
 * every pixel that differs from the empty fixture, modelled from the view's border, in
 * either direction, holes filled): its moments give translation (and, params.affine, the
 * starting scale), its angular signature around the centroid gives rotation (holes and
 * flanges break the symmetry), and Lucas-Kanade on the softened silhouettes refines the
 * transform (rotation and shift at the camera's scale, or affine). The silhouettes are
 * then checked against the reference's (their IoU where they fit best): a view that does
 * not match is refused with a reason (no part, blank or saturated image, wrong part, wrong
 * view or pose) instead of being graded. Last, since a silhouette's outline follows the
 * lamp where a face turned from it is as dark as the fixture, the fit is refined on the
 * part's edges (gradient magnitude in a band along the reference outline), on the
 * downscaled copies and then at about 1400 px across, to a tenth of a pixel on generated
 * cores (tests/app/test_align.c). Silhouettes and edges, not textures, so that instances of
 * a part with different surfaces and lighting align alike. Ownership: rv_align_ref_t is
 * immutable once built; share it between threads. */
#ifndef RV_ALIGN_H
#define RV_ALIGN_H

#include "rv/rv_image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_align_params {
    int work_width;     /* px of the downscaled copies (default 512) */
    double min_iou;     /* silhouette overlap where the silhouettes fit best (default 0.85) */
    double min_scale;   /* accepted scale range, reference / view (default 0.8 .. 1.25) */
    double max_scale;
    double min_part;    /* smallest part area, fraction of the view (default 0.03) */
    double min_std;     /* smallest gray standard deviation of a usable view (default 4) */
    int affine;         /* 0 (default): rotation and shift at the camera's scale (a worn part
                           keeps its size); 1: affine, the part's scale and tilt fitted too, for
                           a camera whose distance or angle to the part varies (sizes are then
                           relative to the reference part's) */
    double max_aniso;   /* affine: largest ratio of the two axis scales (default 1.5) */
    int solid;          /* 1: the part has no through-holes in this view: its silhouette is
                           its outer outline (holes filled, largest piece), so surfaces that
                           happen to match the fixture's grey stay part (default 0) */
    int blind_holes;    /* 1: the part's holes in this view are blind (a keyway's floor, a
                           pocket), not through: its mask (ra_part_mask's callers) holds them
                           as part, so the detectors inspect their floors; the silhouette the
                           view is aligned by is unchanged (default 0) */
    int rotate;         /* 1 (default): rotation found from the silhouette's angular
                           signature and the surface; 0: a round part photographed under a
                           light that stays with the camera, whose rotation is not searched
                           (it starts at 0; affine refinement may still turn it slightly) */
} rv_align_params_t;

typedef struct rv_align_result {
    double m[2][3];     /* view px -> reference px */
    double scale;       /* reference / view */
    double angle_deg;   /* rotation of the view relative to the reference */
    double tx, ty;      /* px, reference frame */
    double iou;         /* silhouette overlap where the silhouettes fit best */
    double residual_px; /* the median distance of the view's outline edges from the
                           reference's after alignment (rv_align_residual), reference px;
                           -1 when fewer than 8 outline points found an edge */
    int inliers;        /* the outline points that found their edge in the view */
    const char *method; /* "silhouette", "silhouette+lk" (refined on the soft outline band)
                           or "silhouette+edges" (and on the edges), each followed by
                           "+outline" when the outline's edge points moved it last
                           (rv_align_residual's motion undone) */
    int identity;       /* 1 when the transform moves no pixel by more than 0.05 px */
} rv_align_result_t;

typedef struct rv_align_ref rv_align_ref_t;

/* How far a view's edges lie from the reference's under a transform (rv_align_residual). */
typedef struct rv_align_residual {
    double median_px;   /* median size of the offsets, reference px (-1: too few points) */
    double p90_px;      /* their 90th percentile (-1: too few points) */
    double shift_px[2]; /* the rigid motion of the view's outline (reference px) that best
                           explains the offsets: its shift (x, y) at centre, and */
    double turn_deg;    /* its turn about centre (degrees, as angle_deg turns) */
    double centre[2];   /* the measured outline points' centroid, reference px */
    int points;         /* outline points that found an edge of their polarity in the view */
    int outline_points; /* outline points of the reference (at most 720) */
} rv_align_residual_t;

void rv_align_params_init(rv_align_params_t *p);

/* Prepare a reference from its gray view (GRAY8). Its silhouette is found the same way
 * as a view's, so that the two compare; ref_part is reserved and may be NULL.
 * NULL on failure. */
rv_align_ref_t *rv_align_ref_new(const rv_view_t *ref_gray, const rv_view_t *ref_part,
                                 const rv_align_params_t *params);
void rv_align_ref_destroy(rv_align_ref_t **self_p);
int rv_align_ref_width(const rv_align_ref_t *self);
int rv_align_ref_height(const rv_align_ref_t *self);

/* Register gray (GRAY8, any size) to the reference. 0 with *out filled; RV_EFORMAT with a
 * reason in rv_last_error() when the view cannot be aligned (the caller must not grade
 * it); other negative codes for bad arguments or memory. */
int rv_align(const rv_align_ref_t *ref, const rv_view_t *gray, rv_align_result_t *out);

/* The same from an RGB8 view (or a GRAY8 one): the result rv_align gives on its gray
 * (rv_gray_from_rgb), without making the full-size gray image (only the downscaled copy is
 * made, from gray rows converted one at a time). */
int rv_align_rgb(const rv_align_ref_t *ref, const rv_view_t *rgb, rv_align_result_t *out);

/* The alignment's residual: up to 720 points along the reference silhouette's outline
 * (outer outline and holes), each on the grey edge it follows (the largest derivative
 * across the outline, sub-pixel, with its polarity), are carried into gray (GRAY8 or
 * RGB8, the view) through m (view px -> reference px: rv_align's, or any other); across
 * the outline, within 4 reference px, the largest derivative of the same polarity is the
 * view's edge and its signed distance the point's offset (positive: outwards). A point
 * whose view edge is missing (a chip, a shadow, the view's border) is not counted. RV_OK
 * with out filled; RV_EINVAL for a singular transform or a view of another format. */
int rv_align_residual(const rv_align_ref_t *ref, const rv_view_t *gray, const double m[2][3],
                      rv_align_residual_t *out);

/* Resample src (GRAY8 or RGB8) into dst, a view of the reference size and the same
 * format, bilinear; copies when the transform is the identity. */
int rv_align_warp(const rv_view_t *src, const rv_align_result_t *r, const rv_view_t *dst);

/* The part's silhouette in a gray view, found as rv_align finds it with default
 * parameters (Otsu, moved towards the background): 255 part, 0 background, into mask
 * (GRAY8, same size). RV_EFORMAT with a reason for a blank view or one without a part. */
int rv_align_silhouette(const rv_view_t *gray, const rv_view_t *mask);

/* The same with the given parameters (their solid and min_std, min_part; the full-size
 * view is used, not a downscaled copy); params NULL = defaults. */
int rv_align_silhouette_p(const rv_view_t *gray, const rv_view_t *mask,
                          const rv_align_params_t *params);

/* The part's extent for comparing outlines: the silhouette (rv_align_silhouette) grown
 * across faces that are at least 0.84 times as bright as the open fixture beside them, up
 * to the part's contact shadow on the fixture, by at most a twentieth of the short side:
 * a face turned away from the lamp stays part whatever the lamp did. 255 part, 0
 * background, into mask (GRAY8, the view's size). */
int rv_align_part_mask(const rv_view_t *gray, const rv_view_t *mask);

/* Mend a part's mask (GRAY8, 255 part, 0 background, changed in place) along the learned
 * outline: each gap (4-connected) between the outline (outline >= othr; e.g. the share of
 * good parts with material there, 0..255) and the mask whose grey lies nearer the part
 * beside it (its darker streaks, at the same distance inside the outline) than the
 * fixture just outside it (t >= 0.4 of the way from the fixture's grey to the part's) is
 * part: a streak of a face turned from the lamp, not the fixture seen through a notch. Gaps that cannot be judged
 * (too little contrast between part and fixture, no part beside them) stay. mended (may
 * be NULL) gets the pixels set. RV_EINVAL for views of other formats or sizes. */
int rv_align_part_mend(const rv_view_t *gray, const rv_view_t *mask, const rv_view_t *outline,
                       int othr, size_t *mended);

/* The same for many views against one outline: rv_mend_new makes the outline's distance
 * maps once (NULL with a reason for a view that is not GRAY8 or othr outside 1..255),
 * rv_mend_run mends a mask of the outline's size as rv_align_part_mend does (the
 * inspection mends each view in about a millisecond at 1280 x 960). Reentrant: one
 * rv_mend_t serves any number of threads. */
typedef struct rv_mend rv_mend_t;
rv_mend_t *rv_mend_new(const rv_view_t *outline, int othr);
int rv_mend_run(const rv_mend_t *mend, const rv_view_t *gray, const rv_view_t *mask,
                size_t *mended);
void rv_mend_destroy(rv_mend_t **mend);

#ifdef __cplusplus
}
#endif
#endif
