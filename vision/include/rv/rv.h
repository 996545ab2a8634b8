/* rv.h - the vision library in one include, and its process-wide set-up. */
#ifndef RV_H
#define RV_H

#include "rv/rv_blobs.h"
#include "rv/rv_error.h"
#include "rv/rv_filter.h"
#include "rv/rv_frontend.h"
#include "rv/rv_image.h"
#include "rv/rv_jpeg.h"
#include "rv/rv_point.h"
#include "rv/rv_simd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Call once at start-up, before other threads use the library: chooses the kernels
 * (honouring RV_SIMD) and sets OpenCV up (one thread per call, errors not printed).
 * Returns 0, or a negative status when OpenCV refuses its settings. */
int rv_init(void);

/* "vision <version> (<isa>, OpenCV <version>)" for --version and decision records. */
const char *rv_describe(void);

#ifdef __cplusplus
}
#endif
#endif
