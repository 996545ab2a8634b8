/* rv_sample.h - a GRAY8 view read between pixels (internal to vision). */
#ifndef RV_SAMPLE_H
#define RV_SAMPLE_H
#include "rv/rv_image.h"
#include "simd/rv_kernels_filter.h"

/* Bilinear value of v at (x, y) (pixel centres at integers) into *val: 1, or 0 when (x, y)
 * lies outside [0, width - 1] x [0, height - 1] (*val untouched). The arithmetic is
 * rv__bilinear_px's (simd/rv_kernels_filter.h), which the vector kernels match. */
static inline int rv__bilinear(const rv_view_t *v, double x, double y, double *val)
{
    double r = rv__bilinear_px(v->data, v->stride, v->width, v->height, x, y);
    if (r != r)
        return 0;
    *val = r;
    return 1;
}

#endif
