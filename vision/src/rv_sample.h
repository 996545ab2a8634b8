/* rv_sample.h - a GRAY8 view read between pixels (internal to vision). */
#ifndef RV_SAMPLE_H
#define RV_SAMPLE_H
#include "rv/rv_image.h"

/* Bilinear value of v at (x, y) (pixel centres at integers) into *val: 1, or 0 when (x, y)
 * lies outside [0, width - 1] x [0, height - 1] (*val untouched). */
static inline int rv__bilinear(const rv_view_t *v, double x, double y, double *val)
{
    if (!(x >= 0 && y >= 0 && x <= v->width - 1 && y <= v->height - 1))
        return 0;
    int x0 = (int) x, y0 = (int) y;
    int x1 = x0 + 1 < v->width ? x0 + 1 : x0, y1 = y0 + 1 < v->height ? y0 + 1 : y0;
    double fx = x - x0, fy = y - y0;
    const uint8_t *r0 = rv_view_row(v, y0), *r1 = rv_view_row(v, y1);
    double a = r0[x0] + fx * (r0[x1] - r0[x0]), b = r1[x0] + fx * (r1[x1] - r1[x0]);
    *val = a + fy * (b - a);
    return 1;
}

#endif
