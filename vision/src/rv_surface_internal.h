/* rv_surface_internal.h - the model struct, shared by rv_surface.c (training, scoring)
 * and rv_surface_io.c (the file format). Not installed. */
#ifndef RV_SURFACE_INTERNAL_H
#define RV_SURFACE_INTERNAL_H

#include "rv/rv_surface.h"

#include <stddef.h>
#include <stdint.h>

/* The module's deterministic generator (xorshift64*): sample positions, banks. */
static inline uint64_t rv__surface_rng(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* The learnt patch basis (rv_surface_pca.c): dim = patch^2 samples, k components. */
#define RV_SF_MAX_PD (RV_SF_MAX_PATCH * RV_SF_MAX_PATCH)
typedef struct rv_sf_basis {
    int dim, k;                                     /* 0, 0: no basis */
    double mean[RV_SF_MAX_PD];                      /* mean of the (DC-removed) patches */
    double eig[RV_SURFACE_MAX_FEATURES];            /* eigenvalues, descending, > 0 */
    double vec[RV_SURFACE_MAX_FEATURES * RV_SF_MAX_PD]; /* k unit eigenvectors, rows */
    double total;                                   /* trace of the covariance */
    /* derived (rv_surface_pca_prepare): float copies, 1/sqrt(eig) or 1 */
    float vf[RV_SURFACE_MAX_FEATURES * RV_SF_MAX_PD];
    float muf[RV_SF_MAX_PD];
    float scale[RV_SURFACE_MAX_FEATURES];
} rv_sf_basis_t;

struct rv_surface_model {
    rv_surface_params_t p;
    rv_sf_basis_t pca;
    double mean[RV_SURFACE_MAX_FEATURES];
    double cov[RV_SURFACE_MAX_FEATURES * RV_SURFACE_MAX_FEATURES];
    /* derived by rv_surface_prepare(): mean and whitening W = L^-1 (cov = L L^T) */
    float mf[RV_SURFACE_MAX_FEATURES];
    float wf[RV_SURFACE_MAX_FEATURES * RV_SURFACE_MAX_FEATURES];
    float *amu, *asd; /* aligned: grid x grid cell mean and spread of the map, or NULL */
    float asd_floor;  /* added to asd */
    /* knn mode: bank_n vectors of bank_d floats, row-major (as in the file), and the
     * search's packed copy (rv_surface_bank_pack): blocks of RV_SF_LANES vectors with
     * their values interleaved, |b|^2 per vector (padding: huge) */
    int bank_n, bank_d;
    float *bank, *bank_t, *bank_norm;
    double threshold;
    size_t ntrain;
    int folds_used;
    /* the training images' held-out scores (k-fold; in-sample without folds), in
     * training order, and the same ascending; nheld 0 for a file before version 5 */
    float *held, *held_sorted;
    size_t nheld;
};

/* Take over held[n] (training order) as the model's held-out scores: sorts a copy.
 * RV_OK, or RV_ENOMEM (held is freed either way). */
int rv_surface_set_heldout(rv_surface_model_t *m, float *held, size_t n, const char *domain);

rv_surface_model_t *rv_surface_model_new_empty(void);
int rv_surface_check_params(const rv_surface_params_t *p, const char *domain);
int rv_surface_prepare(rv_surface_model_t *m, const char *domain);

/* knn mode (rv_surface_knn.c) */
#define RV_SF_LANES 16
#define RV_SF_MAX_DIM (9 * RV_SURFACE_MAX_FEATURES)
/* The descriptor's dimension for these parameters (d, or 9 d with context). */
int rv_surface_desc_dim(const rv_surface_params_t *p);
/* The descriptor of working pixel (x, y) from d planes of w x h: the centre's d features
 * first, then (context) the 8 neighbours' (borders replicated). */
void rv_surface_desc(const rv_surface_params_t *p, const float *plane, int w, int h, int x,
                     int y, float *out);
/* Choose the bank (p.bank vectors, greedy k-centre or random) among n candidates of
 * p's dimension; replaces the model's bank and packs it. */
int rv_surface_bank_select(rv_surface_model_t *m, const float *cand, size_t n, uint64_t seed,
                           const char *domain);
/* (Re)build the packed copy of m->bank (after loading). */
int rv_surface_bank_pack(rv_surface_model_t *m, const char *domain);
void rv_surface_bank_free(rv_surface_model_t *m);
/* The kNN map at every working pixel (w x h, planes as from the features). */
int rv_surface_knn_map(const rv_surface_model_t *m, const float *plane, int w, int h,
                       float *out, const char *domain);
/* Squared distances from q to its k nearest bank vectors, ascending (k <= 64): the
 * packed search, and a plain reference over the row-major bank (tests compare them). */
void rv_surface_knn_query(const rv_surface_model_t *m, const float *q, int k, float *best);
void rv_surface_knn_query_ref(const rv_surface_model_t *m, const float *q, int k, float *best);

/* RV_SF_DARKBLOB or RV_SF_DARKRIDGE (kind) at size k of the w x h float image in pl,
 * in place (rv_surface.h: sigma = k / 4, scale-normalised); tmp and tmp2 hold w * h
 * floats each. */
void rv_surface_curvature(float *pl, float *tmp, float *tmp2, int w, int h, int k, int kind);

/* RV_SF_LINEMAX's directions: the mean of R (w x h floats) along a line of len px (odd,
 * 1..RV_SF_LINE_MAXTAP) through each pixel at angle pi t / RV_SF_LINE_DIRS from the x
 * axis, taps one pixel apart, bilinear, each clamped to the image, into dir (w x h).
 * Where every tap's square lies inside, rows of taps at once (vectorised); elsewhere
 * pixel by pixel; the same sums in the same order either way. */
#define RV_SF_LINE_DIRS 12
#define RV_SF_LINE_MAXTAP 255
void rv_surface_line_dir(const float *R, int w, int h, int len, int t, float *dir);

/* Learnt patch features (rv_surface_pca.c). */
/* 1 when the feature set holds an RV_SF_PCA or RV_SF_PCARES feature. */
int rv_surface_uses_pca(const rv_surface_params_t *p);
/* The ncomp the parameters ask for (params.ncomp, or its automatic value). */
int rv_surface_pca_ncomp(const rv_surface_params_t *p);
/* Eigen-decomposition of the symmetric n x n matrix a (row-major, destroyed) by cyclic
 * Jacobi: eigenvalues descending in evals[n], unit eigenvectors as ROWS of evecs[n*n],
 * each with its largest-magnitude entry positive. n <= RV_SF_MAX_PD. */
int rv_surface_eigen_sym(double *a, int n, double *evals, double *evecs);
/* Add count patches of img (w x h floats, the Weber-normalised B) at deterministic
 * positions to sum[dim] and the lower triangle of sxx[dim * dim]; returns patches added. */
size_t rv_surface_pca_accum(const rv_surface_params_t *p, const float *img, int w, int h,
                            uint64_t seed, int count, double *sum, double *sxx);
/* The basis from the sums of cnt patches (k components), then prepared. */
int rv_surface_pca_fit(rv_surface_model_t *m, const double *sum, const double *sxx,
                       double cnt, const char *domain);
/* Derived float copies of m->pca (after fitting or loading); checks the basis. */
int rv_surface_pca_prepare(rv_surface_model_t *m, const char *domain);
/* 2 k planes of w x h: the k projections (scaled by 1/sqrt(eig) when pwhite), then the
 * residual RMS outside the top 1, 2, .., k components; replicated borders. */
int rv_surface_pca_project(const rv_surface_model_t *m, const float *img, int w, int h,
                           float *planes, const char *domain);
/* The same for one pixel, plainly in double (tests compare the two). */
void rv_surface_pca_project_ref(const rv_surface_model_t *m, const float *img, int w, int h,
                                int x, int y, double *out);

#endif
