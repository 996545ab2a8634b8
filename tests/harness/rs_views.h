/* rs_views.h - checks on images that several tests share. */
#ifndef RS_VIEWS_H
#define RS_VIEWS_H

#include <stddef.h>

#include "rv/rv_image.h"

/* Intersection over union of two masks (a pixel is set above 127), 0 when both are empty. */
static inline double rs_mask_iou(const rv_view_t *a, const rv_view_t *b)
{
    size_t inter = 0, uni = 0;
    for (int y = 0; y < a->height; y++)
        for (int x = 0; x < a->width; x++) {
            int p = rv_view_row(a, y)[x] > 127, q = rv_view_row(b, y)[x] > 127;
            inter += p && q;
            uni += p || q;
        }
    return uni ? (double) inter / (double) uni : 0;
}

#endif
