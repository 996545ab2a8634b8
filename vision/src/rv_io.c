/* rv_io.c - image files through the OpenCV shim (imgcodecs). */
#include "rv/rv_io.h"
#include "cv/rv_cv.h"

rv_image_t *rv_image_read_gray(const char *path)
{
    rv_image_t *img = NULL;
    if (rv_cv_read_gray(path, &img) != 0)
        return NULL;
    return img;
}

int rv_image_write(const char *path, const rv_view_t *view)
{
    return rv_cv_write_image(path, view);
}
