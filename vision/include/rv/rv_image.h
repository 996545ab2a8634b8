/* rv_image.h - owned pixel buffers and borrowed views.
 *
 * rv_image_t owns a 64-byte-aligned buffer whose rows are padded to a multiple of 64
 * bytes. rv_view_t is a plain struct that borrows pixels: kernels, detectors and the
 * OpenCV shim all take views, and a region of interest is just another view (no copy).
 * Ownership: rv_image_new() returns an owned image, rv_image_destroy() frees it and
 * NULLs the caller's pointer. A view is valid while the memory it borrows is.
 * Thread-safety: none per object; distinct images may be used from distinct threads. */
#ifndef RV_IMAGE_H
#define RV_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The value of a format is its number of bytes per pixel. */
typedef enum rv_format {
    RV_GRAY8 = 1, /* one 8-bit channel */
    RV_RGB8 = 3   /* three 8-bit channels, R G B in memory order */
} rv_format_t;

/* The largest side accepted by rv_image_new(), in pixels. Larger sizes are refused with
 * RV_ELIMIT before any allocation; the JPEG decoder has its own (smaller) pixel limit. */
#define RV_IMAGE_MAX_SIDE 65535

typedef struct rv_view {
    uint8_t *data;    /* first pixel of the first row */
    int width;        /* pixels */
    int height;       /* rows */
    ptrdiff_t stride; /* bytes from one row to the next, >= width * fmt */
    rv_format_t fmt;
} rv_view_t;

typedef struct rv_image rv_image_t;

/* A new image with uninitialised pixels, or NULL (rv_last_error() says why: bad size,
 * format, limit or memory). */
rv_image_t *rv_image_new(int width, int height, rv_format_t fmt);

/* A new image with every byte (padding included) set to value. */
rv_image_t *rv_image_new_filled(int width, int height, rv_format_t fmt, uint8_t value);

void rv_image_destroy(rv_image_t **self_p);

/* The whole image as a view (borrowed from self). */
rv_view_t rv_image_view(const rv_image_t *self);

int rv_image_width(const rv_image_t *self);
int rv_image_height(const rv_image_t *self);

/* 1 when fmt is a known format. */
int rv_format_is_valid(rv_format_t fmt);

/* Bytes per row a new image of this width and format gets (a multiple of 64). */
size_t rv_image_stride_for(int width, rv_format_t fmt);

/* A view of a rectangle inside src. Fails with RV_EINVAL when the rectangle is empty or
 * leaves src; *out is untouched then. */
int rv_view_roi(const rv_view_t *src, int x, int y, int width, int height, rv_view_t *out);

/* A view over caller memory; checks sizes and stride like rv_image_new. */
int rv_view_wrap(uint8_t *data, int width, int height, ptrdiff_t stride, rv_format_t fmt,
                 rv_view_t *out);

/* Copy pixels (not padding) between views of equal size and format. */
int rv_view_copy(const rv_view_t *src, const rv_view_t *dst);

/* Set every pixel of a view to value. */
void rv_view_fill(const rv_view_t *v, uint8_t value);

/* Shrink by a whole factor k (1..255): each dst pixel is the rounded mean of a k x k block of
 * src, channel by channel (GRAY8 or RGB8, the same format). dst must be (src / k) in each
 * side (the last partial blocks of src are dropped). Pixel centres: dst x covers src
 * k*x .. k*x+k-1, so x_dst = (x_src - (k-1)/2) / k. */
int rv_view_shrink(const rv_view_t *src, const rv_view_t *dst, int k);

/* The largest whole factor k (1..16) by which a w x h image can shrink and still have at
 * least tw x th pixels: shrink-on-load when a camera gives more pixels than the work needs. */
int rv_shrink_factor(int w, int h, int tw, int th);

/* Row y of a view. */
static inline uint8_t *rv_view_row(const rv_view_t *v, int y)
{
    return v->data + (ptrdiff_t) y * v->stride;
}

#ifdef __cplusplus
}
#endif
#endif
