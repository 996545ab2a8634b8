/* rv_init.c - process-wide set-up of the vision library. */
#include "rv/rv.h"
#include "cv/rv_cv.h"

#include <stdio.h>

int rv_init(void)
{
    (void) rv_simd_isa(); /* choose the kernels now, not in the first inspection */
    return rv_cv_init();
}

const char *rv_describe(void)
{
    static _Thread_local char buf[128];
    snprintf(buf, sizeof buf, "kernels %s (best %s), OpenCV %s", rv_simd_isa(), rv_simd_best(),
             rv_cv_version());
    return buf;
}
