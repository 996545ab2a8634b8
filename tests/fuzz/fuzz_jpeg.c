/* fuzz_jpeg.c - libFuzzer target for the JPEG decode entry points: header, full decode
 * to gray and RGB, and a DCT-scaled preview. Any crash, leak or sanitizer report is a bug;
 * a refusal (non-zero status with a message) is the expected answer to junk. */
#include <stdint.h>
#include <string.h>

#include "rv/rv_error.h"
#include "rv/rv_image.h"
#include "rv/rv_jpeg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* keep single runs fast: 4 MP is plenty to exercise the decoder */
    rv_jpeg_set_max_pixels(4u * 1000u * 1000u);
    rv_jpeg_info_t info;
    if (rv_jpeg_read_header(data, size, &info) != RV_OK) {
        if (rv_last_error()[0] == '\0')
            __builtin_trap(); /* a refusal must say why */
        return 0;
    }
    rv_image_t *img = rv_jpeg_decode(data, size, (size & 1) ? RV_RGB8 : RV_GRAY8, 1);
    if (!img && rv_last_error()[0] == '\0')
        __builtin_trap();
    rv_image_destroy(&img);
    img = rv_jpeg_decode(data, size, RV_RGB8, 8);
    rv_image_destroy(&img);
    return 0;
}
