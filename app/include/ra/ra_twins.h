/* ra_twins.h - photographs of one object among a set of images (twins).
 *
 * A defect set may hold several photographs of each object (the magnetic tile set: about
 * six exposures of every tile; the cast impeller set: copies of one photograph rotated,
 * mirrored or zoomed, and second photographs of one part). A split that puts them on
 * different sides scores test images whose twins were trained or tuned on (docs/eval.md).
 * ra_twins_group finds them, by one of two signatures:
 *
 * The shift search (ra_twins_sig), for flat parts framed alike:
 * - each image is reduced by box averages (factor 4, and 8 for a first look), taken to
 *   log brightness (an exposure becomes an offset), band-passed (a Gaussian of 0.4 less
 *   one of 1.5 working px) and divided by its local contrast (Gaussian of 4 px);
 * - two images whose sides differ by at most 10 % are compared by the normalised
 *   correlation of the middle 76 % of each slid over the other (the photographs are
 *   framed a little differently); the pair's score is the lower of the two ways;
 * - a pair scoring at least coarse_min at 1/8 and at least twin_min at 1/4 is one object.
 * Only shift is searched: a rotated or flipped copy is not found, and round parts of one
 * design under one light look alike to it (the impeller: 96 of 141 in one chain).
 *
 * The round search (ra_twins_sig_round), for round parts turned any way:
 * - the part's outline ellipse is found as rv_polar finds it (rv_polar_outline: the solid
 *   silhouette's moments, refined on its grey edge); the tilted circle is unwrapped through
 *   it, so that a rotation, a mirror or a zoom of the photograph, or the part turned on the
 *   fixture, becomes a circular shift (or a reversal) of the angle;
 * - fine detail, not the design: the log brightness, a Gaussian of 2 px for a part of 200 px
 *   semi-axis (in proportion to it), and the determinant of its Hessian (specks, pits,
 *   nicks and flash light up; the rings, the blades' edges and the light's slow change do
 *   not); read on 48 rings (0.15 to 1.0 of the ellipse) x 512 angles, each ring less its
 *   box average along the angle and over its local contrast;
 * - two parts' score is the best normalised correlation over every circular shift of the
 *   angle (interpolated to 1024 positions) and both mirror directions (theta -> -theta),
 *   by FFT along each ring; a pair scoring at least round_min is one part.
 * Measured on the impeller set, each doubtful pair looked at (docs/eval.md): most copies
 * (turned by a multiple of 90 degrees, mirrored) score 0.42-0.91; copies turned by another
 * angle or zoomed, and second photographs, 0.05-0.29 (those under round_min are found
 * through other pairs of their group); every other pair at most 0.108, distinct impellers
 * of one design under one light the highest. So round_min 0.113 has a thin margin (the
 * best of 2048 correlations of unrelated detail is 0.04-0.1), tuned on that one set; a
 * design with strong point-like features (corners) leaks into the score (test_twins.c).
 *
 * Pairs chain into groups (union-find); shift and round signatures are not compared with
 * each other. */
#ifndef RA_TWINS_H
#define RA_TWINS_H

#include <stddef.h>

#include "rv/rv_image.h"

typedef struct ra_twins_params {
    double size_tol;   /* sides differing by at most this fraction are compared (0.10) */
    double coarse_min; /* the 1/8 score a pair needs to be looked at at 1/4 (0.25) */
    double twin_min;   /* the 1/4 score of one object (0.50) */
    double round_min;  /* round signatures: the score of one part (0.113) */
} ra_twins_params_t;

void ra_twins_params_init(ra_twins_params_t *p);

/* The signature of one image (GRAY8): opaque, freed with ra_twins_sig_free. NULL on
 * failure (an image under 32 px a side is refused: rv_last_error). */
typedef struct ra_twins_sig ra_twins_sig_t;
ra_twins_sig_t *ra_twins_sig(const rv_image_t *gray);
void ra_twins_sig_free(ra_twins_sig_t **sig);

/* The round signature of one image (GRAY8) of a round part (above): freed with
 * ra_twins_sig_free. NULL on failure: an image under 32 px a side, or no part outline
 * found (rv_last_error). */
ra_twins_sig_t *ra_twins_sig_round(const rv_image_t *gray);

/* The score of two signatures at level 4 (fine) or 8 (coarse): the lower of the two
 * ways' best normalised correlation, in [-1, 1]; -2 when their sizes differ too much. Two
 * round signatures: their best correlation over every rotation and mirror (level and
 * size_tol unused); a round and a shift signature: -2. */
double ra_twins_score(const ra_twins_sig_t *a, const ra_twins_sig_t *b, int level,
                      double size_tol);

/* Groups n signatures: group[i] = the smallest index of i's group (i itself when it has
 * no twin). Returns the number of images with a twin, or a negative error. */
int ra_twins_group(ra_twins_sig_t *const *sigs, size_t n, const ra_twins_params_t *p,
                   size_t *group);

#endif
