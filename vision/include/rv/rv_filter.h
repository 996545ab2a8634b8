/* rv_filter.h - neighbourhood filters on gray8 views: blur, gradient, morphology.
 *
 * Every function takes views (rv_image.h) of 8-bit gray images of equal size, returns 0 or
 * a negative rv_status (rv_last_error() says why), and allocates its scratch memory per
 * call (a few rows; nothing proportional to the image). src and dst must not overlap:
 * in-place filtering is refused with RV_EINVAL. Results are bit-identical whatever
 * instruction set rv_simd selected.
 *
 * Borders:
 *   blur and gradient: BORDER_REFLECT_101 (OpenCV's default: ... 2 1 | 0 1 2 ... w-1 |
 *     w-2 ...), repeated for windows larger than the image.
 *   morphology: pixels outside the image are ignored - dilation pads with 0, erosion with
 *     255 (OpenCV's default morphology border) - so a window is clipped to the image.
 *
 * Structuring elements are centred; sizes are odd. The disc of diameter d (odd,
 * 1 <= d <= RV_DISC_MAX) is exactly OpenCV's getStructuringElement(MORPH_ELLIPSE, d x d):
 * row dy (-r..r, r = d/2) spans |dx| <= lrint(r * sqrt((r*r - dy*dy) / (r*r))). Being
 * symmetric and convex along rows, it is the union of one centred rectangle per distinct
 * row width, and the filters work on that decomposition (dilation by a union is the max of
 * the dilations by its rectangles, computed with shared, nested passes). For d = 15:
 * 15x5, 13x9, 11x11, 9x13 and 1x15 (width x height). rv_disc_element() writes the mask.
 * Thread-safety: reentrant; distinct calls may run in parallel. */
#ifndef RV_FILTER_H
#define RV_FILTER_H

#include "rv/rv_image.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest disc diameter accepted. */
#define RV_DISC_MAX 255
/* Largest box blur size accepted (column sums of k rows stay within 16 bits). */
#define RV_BOX_MAX 255

/* Gaussian 5x5, binomial weights 1 4 6 4 1 in both directions, rounded half up:
 * bit-identical to OpenCV's GaussianBlur(src, dst, Size(5, 5), 0) on 8-bit images. */
int rv_gauss5(const rv_view_t *src, const rv_view_t *dst);

/* Gaussian blur of a w x h float image (rows packed), borders replicated, sigma > 0,
 * radius ceil(3 sigma) (at most 80); tmp holds w * h floats; src and dst may be the same.
 * Scalar: for the small float planes of the surface model's features and the twin search. */
void rv_gauss_f32(const float *src, float *dst, float *tmp, int w, int h, double sigma);

/* Bilinear affine resampling of an RGB8 view: dst(p) = src(m^-1 p), m mapping src pixel
 * coordinates to dst ones (pixel centres at integers), in 1/32 px with a 0 border (the
 * kernel rv__warp_rgb_px, simd/rv_kernels_filter.h): bit-identical to OpenCV 4's
 * warpAffine INTER_LINEAR, BORDER_CONSTANT 0, whose positions it rounds the same way.
 * src and dst must not overlap. EINVAL for other formats, a singular m, or one that moves
 * the view more than 2^19 px. */
int rv_warp_affine_rgb(const rv_view_t *src, const rv_view_t *dst, const double m[2][3]);

/* Mean over a k x k box (k odd, 1 <= k <= RV_BOX_MAX), rounded half up:
 * dst = (sum + k*k/2) / (k*k). */
int rv_box_blur(const rv_view_t *src, const rv_view_t *dst, int k);

/* Sobel gradient magnitude: gx, gy are the 3x3 Sobel responses (1 2 1 smoothing),
 * dst = min(255, (|gx| + |gy|) / 4), so a step edge of height d reads d. */
int rv_sobel_mag(const rv_view_t *src, const rv_view_t *dst);

/* Max / min over a centred kw x kh rectangle (odd sizes >= 1). Cost per pixel does not
 * depend on the size (van Herk / Gil-Werman; see rv_kernels_filter.h). */
int rv_dilate_rect(const rv_view_t *src, const rv_view_t *dst, int kw, int kh);
int rv_erode_rect(const rv_view_t *src, const rv_view_t *dst, int kw, int kh);

/* Write the disc of diameter d as a d x d row-major mask of 0 and 1. Returns 0, or
 * RV_EINVAL for an even or out-of-range diameter. */
int rv_disc_element(int diameter, uint8_t *mask);

/* Morphology with the disc: dilation, erosion, closing (dilate then erode), opening
 * (erode then dilate). */
int rv_dilate_disc(const rv_view_t *src, const rv_view_t *dst, int diameter);
int rv_erode_disc(const rv_view_t *src, const rv_view_t *dst, int diameter);
int rv_close_disc(const rv_view_t *src, const rv_view_t *dst, int diameter);
int rv_open_disc(const rv_view_t *src, const rv_view_t *dst, int diameter);

/* Black-hat: closing - src (dark details narrower than the disc light up);
 * top-hat: src - opening (bright details). Same as OpenCV's MORPH_BLACKHAT / MORPH_TOPHAT
 * with the ellipse of the same size. */
int rv_blackhat_disc(const rv_view_t *src, const rv_view_t *dst, int diameter);
int rv_tophat_disc(const rv_view_t *src, const rv_view_t *dst, int diameter);

/* Fused black-hat / top-hat and threshold, one pass and no intermediate image:
 * dst_mask = (hat > thr) ? 255 : 0; *count (may be NULL) gets the number of 255s. */
int rv_blackhat_disc_threshold(const rv_view_t *src, const rv_view_t *dst_mask, int diameter,
                               uint8_t thr, size_t *count);
int rv_tophat_disc_threshold(const rv_view_t *src, const rv_view_t *dst_mask, int diameter,
                             uint8_t thr, size_t *count);

#ifdef __cplusplus
}
#endif
#endif
