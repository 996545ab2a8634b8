/* ra_twins.h - photographs of one object among a set of images (twins).
 *
 * A defect set may hold several photographs of each object (the magnetic tile set: about
 * six exposures of every tile). A split that puts them on different sides scores test
 * images whose twins were trained or tuned on (docs/eval.md). ra_twins_group finds them:
 *
 * - each image is reduced by box averages (factor 4, and 8 for a first look), taken to
 *   log brightness (an exposure becomes an offset), band-passed (a Gaussian of 0.4 less
 *   one of 1.5 working px) and divided by its local contrast (Gaussian of 4 px);
 * - two images whose sides differ by at most 10 % are compared by the normalised
 *   correlation of the middle 76 % of each slid over the other (the photographs are
 *   framed a little differently); the pair's score is the lower of the two ways;
 * - a pair scoring at least coarse_min at 1/8 and at least twin_min at 1/4 is one object,
 *   and pairs chain into groups.
 *
 * Measured on the magnetic tile set against a finer analysis (docs/eval.md). Only shift
 * is searched: a rotated or flipped copy is not found. */
#ifndef RA_TWINS_H
#define RA_TWINS_H

#include <stddef.h>

#include "rv/rv_image.h"

typedef struct ra_twins_params {
    double size_tol;   /* sides differing by at most this fraction are compared (0.10) */
    double coarse_min; /* the 1/8 score a pair needs to be looked at at 1/4 (0.25) */
    double twin_min;   /* the 1/4 score of one object (0.50) */
} ra_twins_params_t;

void ra_twins_params_init(ra_twins_params_t *p);

/* The signature of one image (GRAY8): opaque, freed with ra_twins_sig_free. NULL on
 * failure (an image under 32 px a side is refused: rv_last_error). */
typedef struct ra_twins_sig ra_twins_sig_t;
ra_twins_sig_t *ra_twins_sig(const rv_image_t *gray);
void ra_twins_sig_free(ra_twins_sig_t **sig);

/* The score of two signatures at level 4 (fine) or 8 (coarse): the lower of the two
 * ways' best normalised correlation, in [-1, 1]; -2 when their sizes differ too much. */
double ra_twins_score(const ra_twins_sig_t *a, const ra_twins_sig_t *b, int level,
                      double size_tol);

/* Groups n signatures: group[i] = the smallest index of i's group (i itself when it has
 * no twin). Returns the number of images with a twin, or a negative error. */
int ra_twins_group(ra_twins_sig_t *const *sigs, size_t n, const ra_twins_params_t *p,
                   size_t *group);

#endif
