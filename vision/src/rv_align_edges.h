/* rv_align_edges.h - the reference outline's edge points, and how far a view's edges lie
 * from them after alignment (internal to rv_align).
 *
 * The alignment's residual: points along the reference silhouette's outline (the outer
 * outline and every hole's), each placed on the grey edge it follows (the largest
 * derivative across the outline, sub-pixel) with its outward normal and the edge's
 * polarity. A view is measured by carrying each point into it through the transform and
 * finding, across the outline, the largest derivative of the same polarity within 4
 * reference px; the signed distance between the two is the point's offset. The overlap
 * of two silhouettes cannot say how far apart their edges are; these offsets do, in
 * pixels of the reference. */
#ifndef RV_ALIGN_EDGES_H
#define RV_ALIGN_EDGES_H
#include "rv/rv_align.h"
#include "rv/rv_image.h"

typedef struct rv_edge_pts rv_edge_pts_t;

/* The edge points of a reference: its full-size gray view (GRAY8) and its silhouette at
 * 1/factor (GRAY8, 255 part). NULL with a reason on failure (out of memory); a reference
 * whose outline carries no grey edge gives a set of 0 points, which measures nothing. */
rv_edge_pts_t *rv_edge_pts_new(const rv_view_t *ref_gray, const rv_view_t *small_mask,
                               int factor);
void rv_edge_pts_destroy(rv_edge_pts_t **self_p);

/* Measure gray (GRAY8, the view) against the points under m (view px -> reference px).
 * out gets the median and 90th percentile of the offsets' sizes, the rigid motion that
 * explains them (rv_align_residual_t) and the points measured; the two figures are -1 and
 * the motion 0 when fewer than 8 points found an edge.
 * RV_EINVAL for a singular transform or a view that is not GRAY8. */
int rv_edge_pts_measure(const rv_edge_pts_t *self, const rv_view_t *gray, const double m[2][3],
                        rv_align_residual_t *out);

#endif
