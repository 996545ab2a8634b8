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
 * The threshold comes from good images only (k-fold, as rv_surface). Thread-safety: a trained
 * model is read-only; score may run on distinct threads at once. */
#ifndef RV_POLAR_H
#define RV_POLAR_H
#include <stddef.h>
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
} rv_polar_params_t;

/* nr 96, ntheta 720, r_max 1.03, r_min 0.05, window 21 (10.5 degrees), smooth 1, topk 0, min_spread 2,
 * folds 5, fa 0.02. */
void rv_polar_params_default(rv_polar_params_t *p);

typedef struct rv_polar_model rv_polar_model_t;

/* Learn from n >= 3 GRAY8 views of good parts (any sizes). NULL on failure (rv_last_error
 * names the image that has no part, or the bad parameter). */
rv_polar_model_t *rv_polar_model_train(const rv_view_t *views, size_t n,
                                       const rv_polar_params_t *params);
void rv_polar_model_destroy(rv_polar_model_t **self_p);
/* Score one GRAY8 view. map (may be NULL): view->height rows of view->width floats, stride
 * map_stride floats, the normalised deviation at every pixel (0 outside the rings scored).
 * RV_EFORMAT when no part is found in the view. */
int rv_polar_model_score(const rv_polar_model_t *self, const rv_view_t *view, float *map,
                         size_t map_stride, double *score);
double rv_polar_model_threshold(const rv_polar_model_t *self);
int rv_polar_model_folds(const rv_polar_model_t *self);

/* What a trained model is made of, for a file to keep: its parameters, the spread of each
 * of its p->nr rings (borrowed, valid while the model lives) and its threshold. */
void rv_polar_model_export(const rv_polar_model_t *self, rv_polar_params_t *p,
                           const float **spread, double *threshold);
/* A model from what export gave (copied). NULL, with a message naming the problem, for
 * parameters out of range, a spread that is not finite and positive, or a threshold that
 * is not finite and >= 0: a file's contents are checked, not trusted. */
rv_polar_model_t *rv_polar_model_import(const rv_polar_params_t *p, const float *spread,
                                        double threshold);

#ifdef __cplusplus
}
#endif
#endif
