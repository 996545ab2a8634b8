/* rv_jpeg.h - JPEG in and out through TurboJPEG.
 *
 * Decoding writes straight into an rv_image_t (no intermediate copy) in gray or RGB,
 * optionally DCT-scaled by 1/2, 1/4 or 1/8 for previews. The input bytes are never
 * modified: callers keep them as evidence. Every failure names the problem (empty input,
 * not a JPEG, truncated, corrupt data, too many pixels) and leaks nothing. Libjpeg
 * warnings (premature end of data, corrupt entropy segments) are treated as errors: an
 * image that decoded only in part is never inspected.
 * Thread-safety: each thread uses its own TurboJPEG handles (created on first use). */
#ifndef RV_JPEG_H
#define RV_JPEG_H

#include <stddef.h>
#include <stdint.h>

#include "rv/rv_image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default largest image accepted by the decoder: 100 megapixels. */
#define RV_JPEG_DEFAULT_MAX_PIXELS (100u * 1000u * 1000u)

typedef struct rv_jpeg_info {
    int width, height; /* full-size pixels, from the header */
    int components;    /* 1 (gray) or 3 (colour) */
    int subsampling;   /* TurboJPEG's TJSAMP_* value */
} rv_jpeg_info_t;

/* The limit (in pixels) that rv_jpeg_decode* checks from the header before allocating.
 * Process-wide; 0 restores the default. */
void rv_jpeg_set_max_pixels(uint64_t max_pixels);
uint64_t rv_jpeg_max_pixels(void);

/* Read the header only. RV_EFORMAT for empty input, non-JPEG bytes or a broken header. */
int rv_jpeg_read_header(const uint8_t *buf, size_t len, rv_jpeg_info_t *info);

/* Output size for a scale denominator (1, 2, 4 or 8). */
int rv_jpeg_scaled_size(const rv_jpeg_info_t *info, int denom, int *width, int *height);

/* Shrink-on-load: the largest denominator (8, 4, 2 or 1) whose scaled size still has at
 * least tw x th pixels; the DCT-domain scaling makes the decode itself cheaper. */
int rv_jpeg_shrink_denom(const rv_jpeg_info_t *info, int tw, int th);
/* Decode shrunk on load: at rv_jpeg_shrink_denom's scale for tw x th (tw <= 0: whole).
 * *info and *denom (each may be NULL) get the header and the denominator used. NULL on
 * failure, as rv_jpeg_decode. */
rv_image_t *rv_jpeg_decode_cover(const uint8_t *buf, size_t len, rv_format_t fmt, int tw, int th,
                                 rv_jpeg_info_t *info, int *denom);

/* Decode into a new image of format fmt (RV_GRAY8 or RV_RGB8), scaled by 1/denom
 * (1, 2, 4, 8). NULL on failure; rv_last_error() names the problem. */
rv_image_t *rv_jpeg_decode(const uint8_t *buf, size_t len, rv_format_t fmt, int denom);

/* Decode into an existing view, whose size must equal the scaled size. */
int rv_jpeg_decode_into(const uint8_t *buf, size_t len, const rv_view_t *dst, int denom);

/* Encode a view at quality 1..100 (4:4:4 for colour at quality >= 90, else 4:2:0;
 * gray stays gray). *out is allocated; free it with rv_jpeg_free(). */
int rv_jpeg_encode(const rv_view_t *src, int quality, uint8_t **out, size_t *out_len);
void rv_jpeg_free(uint8_t **buf_p);

/* Read a whole file into memory (the evidence bytes). Caller frees with free(). Refuses
 * files larger than max_bytes with RV_ELIMIT. */
int rv_file_read(const char *path, size_t max_bytes, uint8_t **out, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
