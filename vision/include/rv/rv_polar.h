/* rv_polar.h - anomaly model for round parts, each part compared with itself around its axis.
 *
 * A turned or cast round part (an impeller, a flange, a brake disc) looks the same all the
 * way round at a given distance from its axis: its rings, chamfers and faces are circles.
 * What differs between good parts (the camera's distance and tilt, the light, a
 * sand-blasted or a machined face, a grey or a white fixture) changes a ring slowly along
 * it or everywhere at once; a chip, a blowhole or a burr changes it over a few degrees.
 *
 * So: the part's outline is found (rv_align_silhouette_p, solid: every pixel differing from
 * the empty fixture), an ellipse is fitted to it (moments: the camera's tilt makes the round
 * outline an ellipse), and the view is unwrapped to (radius, angle), the radius relative to
 * the ellipse. Each ring is compared with itself: the deviation of every sample from the
 * running median over a window of angles around it. What good parts show there (the grain of
 * a blasted face, the vanes seen in the cavity) is learnt per ring from good images only: a
 * robust spread of the deviation per radius, pooled over the good images. The anomaly map is
 * the deviation over that spread, smoothed over a few samples; the image score is its
 * maximum (or the mean of its top k). Rotation of the part, the light's direction and
 * the part's own shade do not matter; a ring's defect at any angle does.
 *
 * The refined outline (refine 1): the solid silhouette takes in the fixture's shadow and
 * loses a face whose grey matches the fixture's, so its ellipse can be 10 % too large and
 * 30 px off centre (on 2 of 7 validation impellers), and every ring then crosses the part's
 * own circles. Along each ray, within a fifth of that ellipse, the outline's grey edge is
 * read (the strongest change of grey over 2 px either side; there, sub-pixel, where the grey
 * crosses halfway between its levels inside and outside), and an ellipse is fitted to those
 * points by least squares, dropping the points further than max(2 px, 3 robust spreads) and
 * fitting again (three rounds). The silhouette's ellipse stays when a fit fails or would
 * move it by a fifth or more.
 *
 * The outline radius profile (profile_window > 0, needs refine): a burr on the outer
 * outline or a chip bitten out of it changes the outline's own ring little (that ring
 * straddles the edge and carries the most spread), but it moves the edge. Per angle, the
 * edge is read as above within 4 px of the refined ellipse (at 4 px when it lies beyond),
 * and only where the grey changes across it by at least half the median change around the
 * outline (a face as grey as the fixture leaves no edge to read); its deviation from the
 * running median over profile_window angles, in px, over a spread learnt from the goods
 * (the median of their robust spreads, at least 0.1 px), smoothed over the model's smooth
 * radius of angles, is the profile's map along the outline, and its maximum the profile's
 * score. The image score is the larger of the rings' score and the profile's (both are
 * deviations over a good's spread); the map carries the profile's value on the band between
 * the outline's running median and its edge, 2 px either side.
 *
 * The threshold comes from good images only (k-fold, as rv_surface). Thread-safety: a trained
 * model is read-only; score may run on distinct threads at once. */
#ifndef RV_POLAR_H
#define RV_POLAR_H
#include <stddef.h>
#include <stdint.h>
#include "rv/rv_image.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_polar_params {
    int nr;         /* rings between the centre and r_max, 16..1024 */
    int ntheta;     /* samples around, 64..4096 */
    double r_max;   /* outermost ring, relative to the fitted outline, 0.5..1.5 */
    double r_min;   /* innermost ring scored, 0..r_max */
    int window;     /* angular running median window, samples (odd, 3..ntheta/2) */
    int smooth;     /* box radius (samples) smoothing the normalised deviation, 0..8 */
    int topk;       /* > 0: image score = mean of the topk largest map values; 0: the max */
    double min_spread; /* floor of a ring's spread, grey levels, > 0 */
    int folds;      /* k of the k-fold threshold, 2..20 */
    double fa;      /* target false-alarm rate, (0, 0.5] */
    int refine;     /* 1: the silhouette's ellipse refined on the outline's grey edge
                       (above); 0: the silhouette's ellipse as it is (version 1 models) */
    int profile_window; /* the outline radius profile (above): its angular running median
                           window (odd, 3..ntheta/2; needs refine 1); 0 = off, rings only */
} rv_polar_params_t;

/* nr 96, ntheta 720, r_max 1.15, r_min 0.05, window 21 (10.5 degrees), smooth 1, topk 0,
 * min_spread 2, folds 5, fa 0.02, refine 1, profile_window 121 (60.5 degrees). (Until
 * 2026-12-04: r_max 1.03, no refine, no profile; those are version 1 models.) */
void rv_polar_params_default(rv_polar_params_t *p);

typedef struct rv_polar_model rv_polar_model_t;

/* The part's outline as the model unwraps it: centre (px), semi-axes a >= b (px), and the
 * angle of a (radians, from +x towards +y). */
typedef struct rv_polar_ellipse {
    double cx, cy, a, b, phi;
} rv_polar_ellipse_t;

/* The outline of the part in one GRAY8 view: the solid silhouette's ellipse (moments) and,
 * with p->refine, refined on the outline's grey edge (above); p NULL = defaults. The point
 * at ring r, angle t is (cx, cy) + R(phi) (a r cos t, b r sin t). RV_EFORMAT when no part
 * is found in the view. */
int rv_polar_outline(const rv_view_t *gray, const rv_polar_params_t *p, rv_polar_ellipse_t *e);

/* Learn from n >= 3 GRAY8 views of good parts (any sizes). NULL on failure (rv_last_error
 * names the image that has no part, or the bad parameter). */
rv_polar_model_t *rv_polar_model_train(const rv_view_t *views, size_t n,
                                       const rv_polar_params_t *params);
/* The same, group (may be NULL) naming the views of one part: they share a k-fold fold
 * (rv_folds, rv_surface.h). */
rv_polar_model_t *rv_polar_model_train_groups(const rv_view_t *views, size_t n,
                                              const int *group,
                                              const rv_polar_params_t *params);
void rv_polar_model_destroy(rv_polar_model_t **self_p);
/* Score one GRAY8 view. map (may be NULL): view->height rows of view->width floats, stride
 * map_stride floats, the normalised deviation at every pixel (0 outside the rings scored).
 * RV_EFORMAT when no part is found in the view. */
int rv_polar_model_score(const rv_polar_model_t *self, const rv_view_t *view, float *map,
                         size_t map_stride, double *score);
double rv_polar_model_threshold(const rv_polar_model_t *self);
int rv_polar_model_folds(const rv_polar_model_t *self);

/* The outline profile's learnt spread (px); 0 when the model has no profile. */
double rv_polar_model_profile_spread(const rv_polar_model_t *self);

/* What a trained model is made of, for a file to keep (version 1 contents): its parameters,
 * the spread of each of its p->nr rings (borrowed, valid while the model lives) and its
 * threshold. The outline profile's spread is not among them, and import makes a version 1
 * model: a file that is to keep a model trained with refine or a profile (the defaults)
 * keeps rv_polar_model_pack's bytes instead. */
void rv_polar_model_export(const rv_polar_model_t *self, rv_polar_params_t *p,
                           const float **spread, double *threshold);
/* A model from what export gave (copied). NULL, with a message naming the problem, for
 * parameters out of range, a spread that is not finite and positive, or a threshold that
 * is not finite and >= 0: a file's contents are checked, not trusted. */
rv_polar_model_t *rv_polar_model_import(const rv_polar_params_t *p, const float *spread,
                                        double threshold);
/* (import makes a version 1 model: p->refine and p->profile_window are ignored, set to 0,
 * whatever the caller's defaults say: a file written before them keeps scoring as it was
 * trained.) */

/* The whole model as bytes, the current version (RV_POLAR_FORMAT): "RVPOLAR\0", u32
 * version, then every parameter, the threshold, refine, the profile's window and spread,
 * and the rings' spreads, little-endian (layout in rv_polar.c). pack writes
 * rv_polar_model_packed_size bytes into buf (cap at least that); unpack reads versions 1
 * (rings on the silhouette's ellipse) and 2, and refuses (NULL, with a message) another
 * mark or version, a length that does not fit the version and ring count, and contents
 * that import would refuse. */
#define RV_POLAR_FORMAT 2
size_t rv_polar_model_packed_size(const rv_polar_model_t *self);
int rv_polar_model_pack(const rv_polar_model_t *self, uint8_t *buf, size_t cap, size_t *len);
rv_polar_model_t *rv_polar_model_unpack(const uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
