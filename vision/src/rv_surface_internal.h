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

struct rv_surface_model {
    rv_surface_params_t p;
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
};

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

#endif
