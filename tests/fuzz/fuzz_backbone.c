/* fuzz_backbone.c - libFuzzer target for the importer of Keras / TensorFlow.js layers
 * models (ra_backbone_load): the input is model.json, beside a fixed 144-byte weight
 * file (the seed's tensors' size) (group1-shard1of1) in a folder of this process's own under /dev/shm (or /tmp).
 * Any crash, leak, hang or sanitizer report is a bug; a refusal must say why. What it
 * accepts up to the layer "conv" must also build (rv_cnn_new) and run on a 19 x 23 input,
 * or be refused with a message. Seed: tests/fuzz/seeds/backbone-tiny.json. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ra/ra_backbone.h"
#include "rv/rv_cnn.h"
#include "rv/rv_error.h"

static char s_dir[64];

static int s_write(const char *name, const void *p, size_t n)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_dir[0]) {
        snprintf(s_dir, sizeof s_dir, "%s/rs-fuzz-backbone-XXXXXX",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (!mkdtemp(s_dir))
            abort();
        uint8_t w[144];
        for (size_t i = 0; i < sizeof w; i++)
            w[i] = (uint8_t) (i * 97 + 31);
        if (s_write("group1-shard1of1", w, sizeof w))
            abort();
    }
    if (s_write("model.json", data, size))
        abort();
    rv_clear_error();
    ra_backbone_t *bb = ra_backbone_load(s_dir, "conv");
    if (!bb) {
        if (rv_last_error()[0] == '\0')
            __builtin_trap(); /* a refusal must say why */
        return 0;
    }
    rv_clear_error();
    rv_cnn_t *net = rv_cnn_new(bb->layers, bb->nlayers, bb->output);
    if (!net && rv_last_error()[0] == '\0')
        __builtin_trap();
    if (net) {
        static float in[3 * 19 * 23], out[1 << 16];
        int dims[3];
        rv_clear_error();
        if (rv_cnn_forward(net, in, 19, 23, out, sizeof out / sizeof out[0], dims) != RV_OK &&
            rv_last_error()[0] == '\0')
            __builtin_trap();
    }
    rv_cnn_destroy(&net);
    ra_backbone_free(&bb);
    return 0;
}
