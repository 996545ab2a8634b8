/* ra_reference.h - a part family's learned reference: what good parts look like.
 *
 * reman-train learns it from images of good parts only: each image is aligned to the
 * family's master image (the view the zones are drawn on), and the reference keeps, per
 * pixel of that frame, the mean and the spread (robust standard deviation) of the detail
 * image (ra_reference_detail: blurred gray minus its local mean), the part's silhouette, and the anomaly threshold chosen from a target false-alarm
 * rate on good images held out from training (k-fold), so no defective sample is needed.
 *
 * File: a small versioned binary (magic "RMREF", version 5, sizes, the family id and the
 * SHA-256 of the family file it was trained for, six planes, the rings model's packed
 * bytes after their length (0: none), then the SHA-256 of all that precedes it; versions
 * 2, 3 and 4 (five planes: no outline) still load). A truncated, altered or foreign file is refused with a message.
 * Ownership: ra_reference_destroy() frees; the images are owned by the reference. */
#ifndef RA_REFERENCE_H
#define RA_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

#include "rm/rm_family.h"
#include "rv/rv_align.h"
#include "rv/rv_image.h"
#include "rv/rv_polar.h"

typedef struct ra_reference {
    char family_id[48];
    uint8_t family_hash[32];   /* SHA-256 of the family file trained for */
    int width, height;         /* the family's view */
    int n_train;               /* good images learnt from */
    double anomaly_threshold;  /* raw anomaly (mm2) at the target false-alarm rate */
    double fa_target;          /* e.g. 0.02 */
    double band_k;             /* the band is mean -+ band_k * spread */
    rv_image_t *master;        /* GRAY8: the master image, alignment target */
    rv_image_t *mean, *spread; /* GRAY8: of the blurred gray of aligned good parts */
    rv_image_t *part;          /* GRAY8: 255 where the master's part is and every aligned
                                  good part's (ra_part_mask, mended along the median
                                  outline for a part that is not solid): the nominal
                                  material */
    rv_image_t *imean;         /* GRAY8: plain mean of the blurred gray (intensity) */
    rv_image_t *outline;       /* GRAY8: the share of the master and the good parts having
                                  part at a pixel (255: all), as each image's ra_part_mask
                                  says: missing material found against the nominal material
                                  (which lies inside the median outline where the goods'
                                  outlines disagree) is measured to the median outline
                                  (rv_det_missing); NULL for a file before version 5 */
    rv_polar_model_t *rings;   /* a family whose anomaly model is "rings": each ring's
                                  spread and the threshold, learnt from the same goods on
                                  their aligned gray (rv_polar.h); NULL otherwise */
    double train_residual_median; /* the good images' alignment residual (px, rv_align's
                                     residual_px): median and largest, as trained (-1: not */
    double train_residual_max;    /* measured, and for a reference loaded from a file) */
} ra_reference_t;

typedef struct ra_train_params {
    double fa_target; /* false-alarm rate on good parts (default 0.02) */
    int folds;        /* k of the k-fold hold-out (default 5; at most the image count) */
    double band_k;    /* default 4 */
    int verbose;      /* progress lines on stderr */
} ra_train_params_t;

void ra_train_params_init(ra_train_params_t *p);

/* Learn a reference for family from the master JPEG and good JPEG images (paths). NULL
 * on failure; rv_last_error() names the image and the problem. */
ra_reference_t *ra_reference_train(const rm_family_t *family, const char *master_path,
                                   const char *const *paths, size_t n,
                                   const ra_train_params_t *params);

/* The per-pixel statistics of the learned band, into r->mean and r->spread: mean and spread
 * (1.25 x mean absolute deviation, at least 3 grey levels) of the images with use[i] set
 * (GRAY8, the reference's size, already aligned and in the detail domain). */
void ra_reference_stats(rv_image_t **imgs, const int *use, size_t n, ra_reference_t *r);

int ra_reference_save(const ra_reference_t *self, const char *path);
ra_reference_t *ra_reference_load(const char *path);
void ra_reference_destroy(ra_reference_t **self_p);

/* The learned band for a view: lo/hi (GRAY8, the reference size) = 3x3 min/max of the
 * mean -+ band_k * spread, so that a pixel of misalignment is not a defect. */
int ra_reference_band(const ra_reference_t *self, const rv_view_t *lo, const rv_view_t *hi);

/* The detail image the reference is learnt on: 128 + blur - (31 px box mean of blur).
 * Light that changes slowly across the part (the lamp's gradient, highlights that stay
 * with the camera) cancels; marks, cracks, pits, rust edges and worn bands remain. */
int ra_reference_detail(const rv_view_t *blur, const rv_view_t *dst);

/* Photometric normalisation: fit mean ~ a * blur + b over the part (a global gain and
 * offset: the lamp, the exposure) and write the mapped blur into dst (GRAY8, same size). */
int ra_reference_normalize(const ra_reference_t *self, const rv_image_t *target,
                           const rv_view_t *blur, const rv_view_t *dst);

/* A part's mask in a gray view: the silhouette (rv_align_silhouette) closed with a disc of
 * about 1/100 of the short side, so dark marks on the part are part and holes stay holes. */
int ra_part_mask(const rv_view_t *gray, const rv_view_t *mask);

/* The part's mask as a view's align parameters ask for it, in training and in inspection
 * alike: for a solid part (ap->solid) its solid silhouette (closed and filled); else
 * ra_part_mask's, its holes filled when they are blind (ap->blind_holes). ap may be NULL
 * (ra_part_mask). */
int ra_part_mask_p(const rv_view_t *gray, const rv_view_t *mask, const rv_align_params_t *ap);

/* The share of good parts (0..255) that the median outline is drawn at: a part's mask is
 * mended along it (rv_align_part_mend) in training and in inspection. */
#define RA_OUTLINE_SHARE 128

/* The raw anomaly of an aligned blurred gray view: the area (mm2) of the largest connected
 * region of part pixels outside [lo, hi], the part eroded by 3 px so the outline's own
 * edge does not count; exclude (GRAY8, non-zero = leave out, or NULL): the part mark.
 * scratch: a GRAY8 view of the reference size. */
int ra_reference_anomaly(const ra_reference_t *self, const rv_view_t *blur, const rv_view_t *lo,
                         const rv_view_t *hi, const rv_view_t *exclude, const rv_view_t *scratch,
                         double mm_per_px, double *raw_mm2);

/* The anomaly score in [0, 1) handed to the grader: raw / (raw + c), with c chosen so the
 * learned threshold lands exactly on the family's anomaly threshold T (0 < T < 1):
 * c = learned * (1 - T) / T. */
double ra_reference_score(const ra_reference_t *self, double raw_mm2, double family_threshold);
/* The same mapping for any raw score and its learned threshold (the rings model's). */
double ra_anomaly_score(double raw, double learned, double family_threshold);

/* The aligner's settings for a view of the family (its "align" object; rv_align's
 * defaults where the family says nothing). RV_OK, or the family's error (ap: defaults). */
int ra_align_params_of(const rm_family_t *family, size_t view, rv_align_params_t *ap);

#endif
