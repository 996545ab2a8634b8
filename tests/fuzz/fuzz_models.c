/* fuzz_models.c - libFuzzer target for the learnt models' loaders: the round-part model's
 * packed bytes (rv_polar_model_unpack, kept in a family's reference file) and the surface
 * model file (rv_surface_model_load_mem). The first byte picks the loader, the rest is the
 * file. Any crash, leak, hang or sanitizer report is a bug; a refusal must say why. What
 * unpack accepts must pack again to the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rv/rv_error.h"
#include "rv/rv_polar.h"
#include "rv/rv_surface.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *buf = data + 1;
    size_t len = size - 1;
    rv_clear_error();
    if (data[0] & 1) {
        rv_surface_model_t *m = rv_surface_model_load_mem(buf, len);
        if (!m && rv_last_error()[0] == '\0')
            abort(); /* refused without saying why */
        rv_surface_model_destroy(&m);
        return 0;
    }
    rv_polar_model_t *m = rv_polar_model_unpack(buf, len);
    if (!m) {
        if (rv_last_error()[0] == '\0')
            abort();
        return 0;
    }
    /* accepted: it packs again, to a size a file of its version would have */
    size_t cap = rv_polar_model_packed_size(m), got = 0;
    uint8_t *again = malloc(cap ? cap : 1);
    if (!again || rv_polar_model_pack(m, again, cap, &got) != RV_OK || got != cap)
        abort();
    rv_polar_model_t *back = rv_polar_model_unpack(again, got);
    if (!back)
        abort(); /* what pack writes, unpack must read */
    rv_polar_model_destroy(&back);
    free(again);
    rv_polar_model_destroy(&m);
    return 0;
}
