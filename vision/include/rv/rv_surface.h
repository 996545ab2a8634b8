/* rv_surface.h - surface anomaly model learnt from defect-free images only.
 *
 * For surface crops that need no alignment or zones (ground tiles, steel strip patches,
 * a whole part on a fixture). Each pixel of a GRAY8 view gets a vector of hand-made
 * features computed with the SIMD filters of rv_filter.h at a few scales: local
 * deviation and low-frequency brightness (box blurs), black-hat and top-hat with small
 * discs, black-hat and top-hat with a VERTICAL line element (dark or bright details that
 * are short along y: a vertical grinding texture gives almost nothing there, a crack
 * across it or a blowhole does), a horizontal-line black-hat, the Sobel gradient and the
 * local contrast. Every feature is normalised per image with its median and MAD, so
 * uneven light and exposure do not dominate, then pooled over a small box.
 *
 * Training fits one Gaussian (mean + covariance, shrunk towards its diagonal) to the
 * feature vectors of a deterministic sample of the pixels of the good images; the
 * anomaly map is the Mahalanobis distance of each pixel (PaDiM with hand-made features),
 * smoothed; the image score is a high quantile (default: the maximum) of that map.
 * With params.aligned, the model also learns where the good parts are usually unusual
 * (mean and spread of the map per cell of a coarse grid, dilated by one cell so small
 * shifts do not matter) and the map becomes a z-score against them: for whole parts on a
 * fixture, roughly centred (the cast impeller).
 *
 * With params.knn = k > 0 (memory-bank mode, PatchCore-like) the Gaussian is kept but the
 * map comes from a bank of good-patch descriptors instead: a descriptor is a pixel's d
 * features, or with params.context = r those of the pixel and of its 8 neighbours at +-r
 * (9 d values: a small patch of the feature planes). Training keeps params.bank of the
 * sampled descriptors of the good images (greedy k-centre coreset, or random); the map is
 * the mean Euclidean distance to the k nearest bank vectors, computed every params.stride
 * working pixels (brute force) and interpolated bilinearly, then smoothed and scored as
 * above. Good variation that is multi-modal (tile kinds, exposures, edges) is modelled
 * by the bank where one Gaussian cannot.
 *
 * Learnt features (RV_SF_PCA, RV_SF_PCARES): a PCA basis of small brightness-normalised
 * patches of the good training images (their own mean removed) is learnt before the
 * features are extracted; a pixel's learnt features are its patch's projections on the
 * top components and the RMS residual outside the top k of them (texture the good
 * patches never show). They mix freely with the hand-made features, in the Gaussian or
 * in the bank.
 *
 * The decision threshold comes from good images only: k-fold over the training images
 * (fit on k-1 folds, score the held-out fold); the threshold is the (1 - fa) quantile of
 * the held-out scores, so about fa of good parts are flagged. No defect sample is needed.
 *
 * Ownership: _new/_train/_load return an owned model, _destroy frees it and NULLs the
 * caller's pointer. Thread-safety: a trained model is read-only; _score may run on
 * distinct threads at once. */
#ifndef RV_SURFACE_H
#define RV_SURFACE_H

#include <stddef.h>
#include <stdint.h>

#include "rv/rv_image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Feature kinds (their numbers are part of the model file format: never renumber). */
typedef enum rv_sf_kind {
    RV_SF_LOCALDEV = 1,      /* B - box_k(B), signed (B = Gaussian 5x5 of the input) */
    RV_SF_LOWFREQ = 2,       /* box_k(B): slow brightness changes */
    RV_SF_BLACKHAT_DISC = 3, /* closing(B, disc k) - B: dark details narrower than k */
    RV_SF_TOPHAT_DISC = 4,   /* B - opening(B, disc k): bright details */
    RV_SF_BLACKHAT_VLINE = 5, /* black-hat with a 1 x k (vertical) line: dark, short in y */
    RV_SF_TOPHAT_VLINE = 6,   /* top-hat with a 1 x k line: bright, short in y */
    RV_SF_BLACKHAT_HLINE = 7, /* black-hat with a k x 1 (horizontal) line: short in x */
    RV_SF_SOBEL = 8,          /* Sobel gradient magnitude (k unused, 0) */
    RV_SF_CONTRAST = 9,       /* box_k(|B - box_k(B)|): local contrast */
    RV_SF_ROWHP = 10,         /* V - (mean of V over k px along x), V = mean of B over k
                                 px along y: a row-wise high-pass of the vertically
                                 averaged image (structures narrow in x, lasting in y) */
    RV_SF_COLHP = 11,         /* B - (mean of B over k px along y): a column-wise
                                 high-pass; a vertical grinding texture (constant along
                                 y) cancels, pits and cracks across it remain */
    /* Learnt features (model file version 4): a linear patch basis learnt from the good
     * training images by PCA (see params.patch). A patch is params.patch x params.patch
     * samples of B, params.pstep px apart, divided by 5 % of the image's median
     * brightness, its own mean removed. */
    RV_SF_PCA = 12,           /* the patch's projection on learnt component k (0-based,
                                 k < params.ncomp), divided by the square root of the
                                 component's variance when params.pwhite */
    RV_SF_PCARES = 13,        /* the patch's residual outside the top k learnt components
                                 (1 <= k <= params.ncomp; 0: all params.ncomp): RMS per
                                 sample. Texture the good patches never show (an
                                 "eigen-texture" novelty map) */
    /* Curvature (Hessian of B blurred by a Gaussian of sigma = k / 4, scale-normalised by
     * sigma^2; eigenvalues l1 <= l2; a dark detail curves up, l > 0). A scratch or a
     * grinding streak is a line (one large eigenvalue), a pit a blob (two). */
    RV_SF_DARKBLOB = 14,      /* sigma^2 max(0, l1): dark blobs about k / 2 px across;
                                 0 along lines and edges */
    RV_SF_DARKRIDGE = 15,     /* sigma^2 max(0, l2 - |l1|): dark lines about k / 4 px
                                 wide; 0 on round blobs */
    /* A dark line across a grinding texture that runs along y: R = closing(B, k x 1
     * horizontal line) - B (dark, narrower than k in x), less the median of R over its
     * own column. A grinding streak is as dark all along its column and cancels; a crack,
     * a pit or a chip edge covering less than half the column's height stays. */
    RV_SF_CRACKLINE = 16,
    /* A step in brightness along y that lasts along x: |H(y + 3) - H(y - 3)|, H = the mean
     * of B over k px along x. A boundary between a ground and an unground band (uneven
     * grinding) runs across the tile; the grinding streaks run along y and give nothing */
    RV_SF_HSTEP = 17,
    /* A thin dark line of any direction, judged against the image's own lines of that
     * direction: R = black-hat(B, disc 7) / (box31(B) + 4) (darkness relative to the
     * surface around), its mean along a line of k px through the pixel at each of 12
     * directions, each direction's map made a z-score with its own median and MAD over the
     * image (a grinding texture's streaks raise only their direction's median), the
     * largest of the 12. A crack integrates along its length where a pit or a speck does
     * not (nineteenth session, round 21) */
    RV_SF_LINEMAX = 18
} rv_sf_kind_t;

#define RV_SURFACE_MAX_FEATURES 24
#define RV_SF_MAX_PATCH 15 /* the learnt features' largest patch side */

typedef struct rv_sf_def {
    uint16_t kind; /* rv_sf_kind_t */
    uint16_t size; /* odd window size; 0 for RV_SF_SOBEL */
} rv_sf_def_t;

typedef struct rv_surface_params {
    int nfeatures;                                 /* 0 = the default feature set */
    rv_sf_def_t features[RV_SURFACE_MAX_FEATURES];
    int scale;         /* work at 1/scale of the input size (mean of scale x scale), 1..8 */
    int pool;          /* box radius pooling each normalised feature (0 = none), 0..8 */
    int smooth;        /* box radius smoothing the anomaly map, 0..16 */
    double quantile;   /* image score = this quantile of the smoothed map (1 = max) */
    int aligned;       /* 1: also learn per-cell statistics of the map (see above) */
    int grid;          /* aligned: cells per side of the statistics grid, 4..256 */
    int samples;       /* training pixels sampled per image, 256..1000000 */
    int folds;         /* k of the k-fold threshold, 2..20 (fewer images: no threshold) */
    double fa;         /* target false-alarm rate of the threshold, (0, 0.5] */
    int compress;      /* 1: each normalised feature becomes sign(x) log(1 + |x|), taming
                          the heavy tails of texture (bright grinding streaks), 0..1 */
    int border;        /* working pixels along each side left out of the image score
                          (filter borders, the crop's edges), 0..64 */
    int face;          /* a per-image mask of the surface's face limits training samples
                          and the image score, so what lies beyond the part at a crop's
                          edges does not count; the map is 0 outside it. 1: Otsu on a
                          smoothed copy, largest bright component, holes filled, eroded
                          by 1/40 of the short side. 2: the part's ends across the
                          grinding: in the top and bottom quarter of each column the
                          strongest step down from the part (7 px box blur, 3 px either
                          side, at least 15 % of the median brightness), a running median
                          over 31 columns, and the face stops 8 px inside it (a crop with
                          no end keeps every row). 3: the band of +-24 px about those
                          same ends instead (chips and breaks at the part's ends, for a
                          channel of their own; empty, image score 0, without an end).
                          0..3 */
    int topk;          /* > 0: image score = mean of the topk largest map values (working
                          pixels) instead of the quantile, 0..100000 */
    /* Memory-bank mode (PatchCore-like), model file version 3: */
    int knn;           /* 0: the Gaussian (above); k >= 1: a bank of good-patch descriptors,
                          anomaly map = mean distance to the k nearest bank vectors, 0..64 */
    int bank;          /* knn: bank size, vectors kept from the training samples, 16..65536 */
    int stride;        /* knn: descriptors every stride working px, map interpolated, 1..8 */
    int context;       /* knn: 0 = a pixel's d features; r > 0 = also the features at the
                          8 neighbours (+-r, +-r): descriptor of 9 d values, 0..32 */
    int coreset;       /* knn: 1 = greedy k-centre selection of the bank (the patches that
                          cover the training set best), 0 = a random sample, 0..1 */
    int norm;          /* per-image normalisation of each feature: 0 = its median and MAD
                          (default), 1 = Weber: the raw value over 5 % of the image's median
                          brightness (contrast relative to the exposure, not to the
                          image's own texture), 0..1 (model file version 3) */
    /* Learnt patch basis (model file version 4), used by RV_SF_PCA / RV_SF_PCARES
     * features only (learnt when one of them is in the feature set): */
    int patch;         /* patch side in samples, odd 3..RV_SF_MAX_PATCH */
    int ncomp;         /* components kept, 1..24 (<= patch^2); 0 = as many as the learnt
                          features name (8 with RV_SF_PCARES:0 alone) */
    int pstep;         /* px between a patch's samples, 1..4 */
    int pwhite;        /* 1: projections divided by sqrt(eigenvalue), 0..1 */
    /* Learnt features' patches are always Weber-normalised; with params.norm 1 nothing
     * more, with norm 0 each learnt plane is also standardised by its own median and MAD
     * over the image (as the hand-made features); compress and pool apply to them as to
     * the others. The basis is learnt once from
     * every training image (the k-fold threshold reuses it: one held-out image moves a
     * covariance of ~300 images' patches very little). */
} rv_surface_params_t;

/* Defaults: the default feature set (12 features), scale 1, pool 1, smooth 2, quantile 1,
 * not aligned, grid 32, 4096 samples, 5 folds, fa 0.02, compress 1, border 4, face 0,
 * topk 0; knn 0 (the Gaussian), bank 4096, stride 2, context 0, coreset 1, norm 0;
 * patch 9, ncomp 0 (auto), pstep 1, pwhite 1. */
void rv_surface_params_default(rv_surface_params_t *p);

typedef struct rv_surface_model rv_surface_model_t;

/* Learn from n GRAY8 (or RGB8, converted) views of defect-free surfaces; params NULL =
 * defaults. Needs n >= 2; the k-fold threshold needs n >= 2 * folds (otherwise the
 * threshold is the maximum training score and rv_surface_model_folds() says 0).
 * Views may differ in size (not in aligned mode: there every view must have the size
 * of the first). NULL on failure (rv_last_error()). */
rv_surface_model_t *rv_surface_model_train(const rv_view_t *views, size_t n,
                                           const rv_surface_params_t *params);

/* The same, with group (may be NULL: each image its own) naming the images that show one
 * object (equal ids, any ints: several photographs of one tile): the k-fold never holds
 * out an image while another photograph of its object trains (rv_folds), so the held-out
 * scores, and the threshold taken from them, are those of objects the model has not seen. */
rv_surface_model_t *rv_surface_model_train_groups(const rv_view_t *views, size_t n,
                                                  const int *group,
                                                  const rv_surface_params_t *params);

void rv_surface_model_destroy(rv_surface_model_t **self_p);

/* Score one view. map (may be NULL) receives the anomaly map at the input's full size:
 * view->height rows of view->width floats, map_stride floats apart (>= width); larger
 * is more anomalous; with a threshold t, pixels whose map exceeds t are the suspect
 * region. *score (may be NULL) gets the image score. */
int rv_surface_model_score(const rv_surface_model_t *self, const rv_view_t *view, float *map,
                           size_t map_stride, double *score);

/* The threshold for the model's false-alarm rate: score > threshold flags the image. */
double rv_surface_model_threshold(const rv_surface_model_t *self);
/* Set another threshold (e.g. from a site's own calibration). */
void rv_surface_model_set_threshold(rv_surface_model_t *self, double threshold);

/* The parameters the model was trained with (feature set filled in). */
const rv_surface_params_t *rv_surface_model_params(const rv_surface_model_t *self);
/* Training images, folds actually used for the threshold (0 = none). */
size_t rv_surface_model_ntrain(const rv_surface_model_t *self);
int rv_surface_model_folds(const rv_surface_model_t *self);

/* The training images' held-out scores (the k-fold's; in-sample when the model used no
 * folds), in training order: *n of them; NULL (and *n = 0) for a model loaded from a
 * file before version 5. */
const float *rv_surface_model_heldout(const rv_surface_model_t *self, size_t *n);
/* How surprising an image score is against the held-out good scores: -ln((c + 1) / (n +
 * 1)), c = held-out scores at or above it (0 below every good); above the top tenth of
 * the goods (at least 3) an exponential tail fitted to their mean excess continues it, so
 * scores beyond every good still rank. -1 when the model holds no held-out scores. */
double rv_surface_model_surprise(const rv_surface_model_t *self, double score);
/* The same for a score that is one of the model's own held-out scores, judged against the
 * other n - 1 (-ln(c / n), c counting itself; the tail's constant -ln(m / n)): what a new
 * good with that score would get. The channels' threshold is taken over these (judging a
 * held-out score against a set that holds it would make every good look one count less
 * surprising and set the threshold too low). -1 with fewer than 2 held-out scores. */
double rv_surface_model_surprise_own(const rv_surface_model_t *self, double score);

/* Channels: up to RV_SURFACE_MAX_CHANNELS models trained on the same good images (each
 * with its own features and top-k, e.g. one for large areas, one for small pits), each
 * judged against its own held-out goods, so no channel's scale or tail swamps another.
 * The combined image score is the sum of the channels' surprises, each counted only by
 * what it has beyond floor (0..RV_SURFACE_MAX_FLOOR; 0 = the plain sum): a truncated sum,
 * so one channel's strong evidence is not drowned by the others' ordinary goods' noise
 * (a good's surprise is about 1 on average; floor 1 counts only p < 1/e). The map
 * (map_stride floats apart, may be NULL) is the largest of the channels' maps, each
 * divided by its own threshold; each (n doubles, may be NULL) receives every channel's own
 * surprise. Refused: a floor out of range, a model without held-out scores, models
 * trained on different numbers of images. */
#define RV_SURFACE_MAX_CHANNELS 6
#define RV_SURFACE_MAX_FLOOR 20.0
double rv_surface_channels_combine(const double *each, int n, double floor);
int rv_surface_channels_score(rv_surface_model_t *const *m, int n, double floor,
                              const rv_view_t *view, float *map, size_t map_stride,
                              double *score, double *each);
/* The combined threshold: the (1 - fa) quantile (fa of the first model) of the training
 * images' combined held-out surprises (the same floor), each judged against the other
 * held-out goods (rv_surface_model_surprise_own). */
int rv_surface_channels_threshold(rv_surface_model_t *const *m, int n, double floor,
                                  double *threshold);
/* The training images' combined held-out surprises themselves (comb: the models' number of
 * held-out scores, in training order), for a caller adding a channel of its own (a deep
 * model, rv_cnn.h) before taking the quantile. */
int rv_surface_channels_heldout(rv_surface_model_t *const *m, int n, double floor,
                                double *comb);

/* A small versioned binary file: magic "RVSURF\r\n", version, parameters and the
 * feature definition, the Gaussian (mean and covariance), the aligned statistics when
 * there are any, the memory bank in knn mode (version 3), the learnt patch basis when a
 * learnt feature is used (version 4), the threshold, the training images' held-out scores
 * (version 5), and a CRC-32 of everything before it. Versions 1, 2 (no bank), 3 (no
 * basis) and 4 (no held-out scores) still load. */
int rv_surface_model_save(const rv_surface_model_t *self, const char *path);
/* Refuses (NULL, RV_EFORMAT or RV_EIO, the message says what) truncated files, another
 * magic or version, a bad checksum, unknown features, absurd dimensions or parameters
 * and a covariance that is not positive definite. */
rv_surface_model_t *rv_surface_model_load(const char *path);
/* The same from memory. */
rv_surface_model_t *rv_surface_model_load_mem(const uint8_t *buf, size_t len);

/* A GRAY8 rendering of a map (same size as the view): 0 at or below lo, 255 at or
 * above hi, linear between. */
int rv_surface_map_to_gray(const float *map, size_t map_stride, double lo, double hi,
                           const rv_view_t *dst);

/* Thresholds from n good scores held out from training (k-fold), for a false-alarm rate
 * fa in (0, 1); rv_surface, rv_polar and the station's references use them alike.
 * rv_fa_rank: the threshold's rank among the n scores in ascending order (1-based),
 * ceil((1 - fa) (n + 1)) within 1..n (n = 0: 0).
 * rv_fa_expected: the share of new good parts expected above that threshold when their
 * scores and the held-out ones are exchangeable, (n - rank + 1) / (n + 1): at most fa
 * once n + 1 >= 1 / fa; with fewer goods the threshold is the largest of them and the
 * share is 1 / (n + 1), above fa. (Until 2026-12-05 the rank was ceil((1 - fa) n), one
 * lower for some n >= 1 / fa, and its share could exceed fa: 2 / 51 at n = 50.)
 * rv_fa_goods_needed: the fewest goods whose expected share is at most fa. */
size_t rv_fa_rank(size_t n, double fa);
/* The surprise -ln p of score against n held-out good scores sorted ascending (asc): p =
 * the share of goods at or above it, (c + 1) / (n + 1), with an exponential tail fitted to
 * the top tenth (at least 3) beyond the largest; own = 1 when score is one of the n,
 * judged against the other n - 1 (c / n). -1 without scores or for NaN. What
 * rv_surface_model_surprise and rv_deep_model_surprise compute. */
double rv_surprise(const float *asc, size_t n, double score, int own);
double rv_fa_expected(size_t n, double fa);
size_t rv_fa_goods_needed(double fa);
/* The k-fold's folds of n training images into fold[n]: image i's fold is i % k, unless
 * group (may be NULL) gives each image an id (equal ids: one object, photographed more
 * than once): then a group's images share one fold, the groups taken in the order of
 * their first image, each to the fold holding fewest images so far (the lowest on a tie;
 * singleton groups alone give i % k). Returns the folds used, min(k, groups), their ids
 * 0..that - 1; 0 when fewer than 2 groups (or n < 2, or k < 2: no held-out scores);
 * -1 (rv_last_error()) without memory. rv_surface, rv_deep and rv_polar use it alike. */
int rv_folds(const int *group, size_t n, int k, int *fold);

#ifdef __cplusplus
}
#endif
#endif
