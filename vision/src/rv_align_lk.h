/* rv_align_lk.h - inverse-compositional Lucas-Kanade registration of a soft silhouette
 * to a fixed template (internal to rv_align).
 *
 * What rv_align refines after its rotation search: the view's silhouette, already carried
 * near the reference by the coarse guess and softened by a box blur, against the
 * reference's. Only pixels where the template has a gradient say anything about the
 * motion (a soft silhouette is flat inside and outside, sloped in a band along its
 * outline), so the template keeps just those pixels, with their steepest-descent images
 * and the inverse Hessian, computed once per reference (Baker and Matthews' inverse
 * compositional algorithm). An iteration then reads one view pixel per band pixel: a
 * tenth of the image, where OpenCV's ECC warps whole float images three times per
 * iteration. Motion: rotation + translation, or affine. */
#ifndef RV_ALIGN_LK_H
#define RV_ALIGN_LK_H
#include "rv/rv_image.h"

typedef struct rv_lk_template rv_lk_template_t;

/* The template from a GRAY8 image (smoothed with a Gaussian 5x5 first, as the view will
 * be); affine: 6 parameters, else 3 (rotation, translation). NULL on failure (no
 * gradient at all, or out of memory; rv_last_error). */
rv_lk_template_t *rv_lk_template_new(const rv_view_t *t, int affine);
/* The same keeping only the pixels where mask (GRAY8, the template's size; NULL: every
 * one) is not 0, on every step-th pixel of every step-th row: a template of some of an
 * image's edges, sampled. */
rv_lk_template_t *rv_lk_template_new_masked(const rv_view_t *t, const rv_view_t *mask,
                                            int affine, int step);
void rv_lk_template_destroy(rv_lk_template_t **self_p);
/* Pixels the template keeps (where its gradient is not zero). */
size_t rv_lk_template_pixels(const rv_lk_template_t *self);

/* Register view (GRAY8, the template's size, smoothed like it) to the template. m gets the
 * transform from view to template pixel coordinates (as rv_cv_register_ecc gives it);
 * *score (unless score is NULL: it costs a whole frame of samples) the correlation
 * coefficient of the template with the view carried into its frame,
 * over the whole frame (1: identical). RV_EFORMAT when the motion diverges or leaves too
 * few band pixels inside the view. */
int rv_lk_register(const rv_lk_template_t *self, const rv_view_t *view, int max_iterations,
                   double eps_px, double m[2][3], double *score, int *iterations);

/* The same from a view of any size (GRAY8, smoothed like the template) not carried into
 * the template's frame: init maps template px to view px (NULL: the identity), and the
 * iterations read the view through it. m gets the view -> template transform. */
int rv_lk_register_from(const rv_lk_template_t *self, const rv_view_t *view,
                        const double init[2][3], int max_iterations, double eps_px,
                        double m[2][3], double *score, int *iterations);

#endif
