/* rv_io.h - image files other than the JPEG evidence path: PNG masks of evaluation sets,
 * overlays and plots written for people to look at. Through the OpenCV shim. */
#ifndef RV_IO_H
#define RV_IO_H

#include "rv/rv_image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Read PNG, JPEG, PGM, BMP ... as a new GRAY8 image (luma for colour files). NULL on
 * failure: RV_EIO missing file, RV_EFORMAT undecodable, RV_ELIMIT too large. */
rv_image_t *rv_image_read_gray(const char *path);

/* Write a GRAY8 or RGB8 view; the format follows the extension (.png, .ppm, .pgm, .jpg). */
int rv_image_write(const char *path, const rv_view_t *view);

#ifdef __cplusplus
}
#endif
#endif
