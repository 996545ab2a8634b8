/* rv_surface_internal.h - the model struct, shared by rv_surface.c (training, scoring)
 * and rv_surface_io.c (the file format). Not installed. */
#ifndef RV_SURFACE_INTERNAL_H
#define RV_SURFACE_INTERNAL_H

#include "rv/rv_surface.h"

#include <stddef.h>

struct rv_surface_model {
    rv_surface_params_t p;
    double mean[RV_SURFACE_MAX_FEATURES];
    double cov[RV_SURFACE_MAX_FEATURES * RV_SURFACE_MAX_FEATURES];
    /* derived by rv_surface_prepare(): mean and whitening W = L^-1 (cov = L L^T) */
    float mf[RV_SURFACE_MAX_FEATURES];
    float wf[RV_SURFACE_MAX_FEATURES * RV_SURFACE_MAX_FEATURES];
    float *amu, *asd; /* aligned: grid x grid cell mean and spread of the map, or NULL */
    float asd_floor;  /* added to asd */
    double threshold;
    size_t ntrain;
    int folds_used;
};

rv_surface_model_t *rv_surface_model_new_empty(void);
int rv_surface_check_params(const rv_surface_params_t *p, const char *domain);
int rv_surface_prepare(rv_surface_model_t *m, const char *domain);

#endif
