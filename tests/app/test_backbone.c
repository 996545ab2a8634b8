/* test_backbone.c - the importer of Keras / TensorFlow.js layers models (ra_backbone.h).
 *
 * A small functional model written into a temporary folder: input, Conv2D 3x3 stride 2
 * "valid" without bias + BatchNormalization + Activation relu, a Conv2D 1x3 "same" with
 * bias and ReLU, AveragePooling2D 3x3 s1 "same", a Concatenate of three, MaxPooling2D 3x3
 * s2 "same" (the output), then Flatten and Dense beyond it. Its weights: two manifest
 * groups, the first in two shard files cut inside a tensor, float32 tensors beside two
 * uint8-quantized ones (one of 5 bytes, so the next tensor starts at an odd offset). The
 * emitted layers (ops, inputs, kernels, strides, padding, channels, ReLU), the weights
 * (transposed HWIO -> OIHW, the BN folded) against values computed here from the same
 * numbers, the SHA-256; rv_cnn's forward pass on the imported layers against Keras's own
 * computation (unfolded BN, HWIO kernels, TensorFlow padding) written out here. Then the
 * refusals, each naming what is wrong. With RS_BACKBONE=DIR (scripts/fetch-backbone.sh DIR)
 * the real InceptionV3 up to mixed3: 768 channels. */
#include "rs_test.h"

#include "ra/ra_backbone.h"
#include "rv/rv.h"
#include "rv/rv_cnn.h"
#include "rv/rv_error.h"

#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the model's numbers ---------------------------------------------------------- */

#define EPS 0.001
/* conv_a: 3x3, 3 -> 4; conv_b: 1x3, 4 -> 5 */
static float s_ka[3 * 3 * 3 * 4];   /* HWIO */
static float s_kb[1 * 3 * 4 * 5];   /* HWIO */
static float s_gamma[4], s_beta[4], s_mean[4];
static const uint8_t s_var_q[4] = {3, 50, 100, 255};
static const double s_var_min = 0.5, s_var_scale = 0.01;
static const uint8_t s_bias_q[5] = {0, 17, 128, 200, 255};
static const double s_bias_min = -1.25, s_bias_scale = 0.0098;
static float s_dense[13 * 2], s_dense_b[2];

static void s_numbers(void)
{
    for (size_t i = 0; i < sizeof s_ka / sizeof s_ka[0]; i++)
        s_ka[i] = (float) (0.8 * sin(0.731 * (double) i + 0.2));
    for (size_t i = 0; i < sizeof s_kb / sizeof s_kb[0]; i++)
        s_kb[i] = (float) (0.6 * cos(1.37 * (double) i + 0.5));
    for (int o = 0; o < 4; o++) {
        s_gamma[o] = (float) (0.5 + 0.3 * o);
        s_beta[o] = (float) (-0.2 + 0.15 * o);
        s_mean[o] = (float) (0.1 * o - 0.17);
    }
    for (size_t i = 0; i < 26; i++)
        s_dense[i] = (float) i / 7.0f;
    s_dense_b[0] = 1;
    s_dense_b[1] = -1;
}

static float s_deq(uint8_t q, double min, double scale)
{
    return (float) ((double) q * scale + min);
}

/* ---- writing it ------------------------------------------------------------------- */

typedef struct s_bytes {
    uint8_t b[4096];
    size_t n;
} s_bytes_t;

static void s_put_f32(s_bytes_t *o, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        for (int k = 0; k < 4; k++)
            o->b[o->n++] = (uint8_t) (u >> (8 * k));
    }
}

static void s_put_u8(s_bytes_t *o, const uint8_t *v, size_t n)
{
    memcpy(o->b + o->n, v, n);
    o->n += n;
}

static json_t *s_layer(const char *cls, const char *name, json_t *cfg, const char *in0,
                       const char *in1, const char *in2)
{
    json_object_set_new(cfg, "name", json_string(name));
    json_t *node = json_array();
    const char *ins[3] = {in0, in1, in2};
    for (int i = 0; i < 3; i++)
        if (ins[i])
            json_array_append_new(node, json_pack("[s,i,i,{}]", ins[i], 0, 0));
    json_t *nodes = json_array();
    if (json_array_size(node))
        json_array_append_new(nodes, node);
    else
        json_decref(node);
    return json_pack("{s:s, s:s, s:o, s:o}", "name", name, "class_name", cls, "config", cfg,
                     "inbound_nodes", nodes);
}

static json_t *s_tensor(const char *name, json_t *shape, int quant, double min, double scale)
{
    json_t *t = json_pack("{s:s, s:o, s:s}", "name", name, "shape", shape, "dtype", "float32");
    if (quant)
        json_object_set_new(t, "quantization",
                            json_pack("{s:f, s:f, s:s}", "min", min, "scale", scale, "dtype",
                                      "uint8"));
    return t;
}

/* The model (model.json's object) and its two groups' bytes. */
static json_t *s_model(s_bytes_t *g0, s_bytes_t *g1)
{
    json_t *layers = json_array();
    json_array_append_new(layers, s_layer("InputLayer", "input_1",
                                          json_pack("{s:[n,i,i,i], s:s}", "batch_input_shape",
                                                    32, 32, 3, "dtype", "float32"),
                                          NULL, NULL, NULL));
    json_array_append_new(
        layers, s_layer("Conv2D", "conv_a",
                        json_pack("{s:i, s:[i,i], s:[i,i], s:s, s:s, s:[i,i], s:s, s:b}",
                                  "filters", 4, "kernel_size", 3, 3, "strides", 2, 2, "padding",
                                  "valid", "data_format", "channels_last", "dilation_rate", 1, 1,
                                  "activation", "linear", "use_bias", 0),
                        "input_1", NULL, NULL));
    json_array_append_new(layers,
                          s_layer("BatchNormalization", "bn_a",
                                  json_pack("{s:i, s:f, s:b, s:b}", "axis", 3, "epsilon", EPS,
                                            "center", 1, "scale", 1),
                                  "conv_a", NULL, NULL));
    json_array_append_new(layers, s_layer("Activation", "act_a",
                                          json_pack("{s:s}", "activation", "relu"), "bn_a",
                                          NULL, NULL));
    json_array_append_new(
        layers, s_layer("Conv2D", "conv_b",
                        json_pack("{s:i, s:[i,i], s:[i,i], s:s, s:[i,i], s:s, s:b}", "filters", 5,
                                  "kernel_size", 1, 3, "strides", 1, 1, "padding", "same",
                                  "dilation_rate", 1, 1, "activation", "relu", "use_bias", 1),
                        "act_a", NULL, NULL));
    json_array_append_new(layers, s_layer("AveragePooling2D", "pool_a",
                                          json_pack("{s:[i,i], s:[i,i], s:s}", "pool_size", 3, 3,
                                                    "strides", 1, 1, "padding", "same"),
                                          "act_a", NULL, NULL));
    json_array_append_new(layers, s_layer("Concatenate", "mixed",
                                          json_pack("{s:i}", "axis", -1), "conv_b", "pool_a",
                                          "act_a"));
    json_array_append_new(layers, s_layer("MaxPooling2D", "pool_m",
                                          json_pack("{s:[i,i], s:[i,i], s:s}", "pool_size", 3, 3,
                                                    "strides", 2, 2, "padding", "same"),
                                          "mixed", NULL, NULL));
    json_array_append_new(layers, s_layer("Flatten", "flatten_1", json_object(), "pool_m", NULL,
                                          NULL));
    json_array_append_new(layers, s_layer("Dense", "dense_1",
                                          json_pack("{s:i, s:s}", "units", 2, "activation",
                                                    "softmax"),
                                          "flatten_1", NULL, NULL));
    /* group 0 in the manifest's (alphabetical) order */
    json_t *w0 = json_array(), *w1 = json_array();
    g0->n = g1->n = 0;
    json_array_append_new(w0, s_tensor("bn_a/beta", json_pack("[i]", 4), 0, 0, 0));
    s_put_f32(g0, s_beta, 4);
    json_array_append_new(w0, s_tensor("bn_a/gamma", json_pack("[i]", 4), 0, 0, 0));
    s_put_f32(g0, s_gamma, 4);
    json_array_append_new(w0, s_tensor("bn_a/moving_mean", json_pack("[i]", 4), 0, 0, 0));
    s_put_f32(g0, s_mean, 4);
    json_array_append_new(w0, s_tensor("bn_a/moving_variance", json_pack("[i]", 4), 1,
                                       s_var_min, s_var_scale));
    s_put_u8(g0, s_var_q, 4);
    json_array_append_new(w0, s_tensor("conv_a/kernel", json_pack("[i,i,i,i]", 3, 3, 3, 4), 0,
                                       0, 0));
    s_put_f32(g0, s_ka, 108);
    json_array_append_new(w0, s_tensor("conv_b/bias", json_pack("[i]", 5), 1, s_bias_min,
                                       s_bias_scale));
    s_put_u8(g0, s_bias_q, 5);
    json_array_append_new(w0, s_tensor("conv_b/kernel", json_pack("[i,i,i,i]", 1, 3, 4, 5), 0,
                                       0, 0));
    s_put_f32(g0, s_kb, 60);
    json_array_append_new(w1, s_tensor("dense_1/bias", json_pack("[i]", 2), 0, 0, 0));
    s_put_f32(g1, s_dense_b, 2);
    json_array_append_new(w1, s_tensor("dense_1/kernel", json_pack("[i,i]", 13, 2), 0, 0, 0));
    s_put_f32(g1, s_dense, 26);
    return json_pack(
        "{s:{s:s, s:{s:s, s:{s:s, s:o}}}, s:[{s:[s,s], s:o}, {s:[s], s:o}]}", "modelTopology",
        "keras_version", "2.2.4", "model_config", "class_name", "Model", "config", "name",
        "model_1", "layers", layers, "weightsManifest", "paths", "group1-shard1of2",
        "group1-shard2of2", "weights", w0, "paths", "group2-shard1of1", "weights", w1);
}

#define CUT 101 /* group 0's first file: its first 101 bytes (inside conv_a/kernel) */

static int s_write(const char *dir, const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* Write model.json (indented: its lines count) and the three shard files, the first
 * group's second file short by cut_short bytes; the SHA-256 of it all into sha. */
static int s_write_all(const char *dir, const json_t *model, const s_bytes_t *g0,
                       const s_bytes_t *g1, size_t cut_short, char sha[65])
{
    char *text = json_dumps(model, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    if (!text)
        return -1;
    size_t len = strlen(text);
    int rc = s_write(dir, "model.json", text, len) | s_write(dir, "group1-shard1of2", g0->b, CUT) |
             s_write(dir, "group1-shard2of2", g0->b + CUT, g0->n - CUT - cut_short) |
             s_write(dir, "group2-shard1of1", g1->b, g1->n);
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *) text, len);
    crypto_hash_sha256_update(&st, g0->b, g0->n - cut_short);
    crypto_hash_sha256_update(&st, g1->b, g1->n);
    uint8_t d[32];
    crypto_hash_sha256_final(&st, d);
    sodium_bin2hex(sha, 65, d, sizeof d);
    free(text);
    return rc;
}

/* ---- checks ----------------------------------------------------------------------- */

static int s_close(float got, double want)
{
    return fabs((double) got - want) <= 1e-6 * fmax(1.0, fabs(want));
}

static void s_check_layer(const ra_backbone_t *b, int i, int op, const char *name, int kh,
                          int kw, int stride, int same, int cin, int cout, int relu)
{
    RS_CHECKF(i < b->nlayers, "layer %d of %d", i, b->nlayers);
    if (i >= b->nlayers)
        return;
    const rv_cnn_layer_t *l = &b->layers[i];
    RS_CHECK_EQ(l->op, op);
    RS_CHECKF(!strcmp(l->name, name), "layer %d is '%s', want '%s'", i, l->name, name);
    if (op != RV_CNN_INPUT && op != RV_CNN_CONCAT) {
        RS_CHECK_EQ(l->kh, kh);
        RS_CHECK_EQ(l->kw, kw);
        RS_CHECK_EQ(l->stride, stride);
        RS_CHECK_EQ(l->same, same);
    }
    RS_CHECK_EQ(l->cin, cin);
    RS_CHECK_EQ(l->cout, cout);
    RS_CHECK_EQ(l->relu, relu);
}

static void s_check_small(const ra_backbone_t *b, const char *sha)
{
    RS_CHECK_EQ(b->nlayers, 6);
    RS_CHECK_EQ(b->output, 5);
    if (b->nlayers != 6)
        return;
    s_check_layer(b, 0, RV_CNN_INPUT, "input_1", 0, 0, 0, 0, 3, 3, 0);
    RS_CHECK_EQ(b->layers[0].ninputs, 0);
    s_check_layer(b, 1, RV_CNN_CONV, "conv_a", 3, 3, 2, 0, 3, 4, 1);
    s_check_layer(b, 2, RV_CNN_CONV, "conv_b", 1, 3, 1, 1, 4, 5, 1);
    s_check_layer(b, 3, RV_CNN_AVGPOOL, "pool_a", 3, 3, 1, 1, 4, 4, 0);
    s_check_layer(b, 4, RV_CNN_CONCAT, "mixed", 0, 0, 0, 0, 13, 13, 0);
    s_check_layer(b, 5, RV_CNN_MAXPOOL, "pool_m", 3, 3, 2, 1, 13, 13, 0);
    static const int nin[6] = {0, 1, 1, 1, 3, 1};
    static const int in[6][3] = {{0}, {0}, {1}, {1}, {2, 3, 1}, {4}};
    for (int i = 0; i < 6; i++) {
        RS_CHECK_EQ(b->layers[i].ninputs, nin[i]);
        for (int k = 0; k < nin[i]; k++)
            RS_CHECKF(b->layers[i].inputs[k] == in[i][k], "layer %d input %d: %d, want %d", i, k,
                      b->layers[i].inputs[k], in[i][k]);
    }
    /* conv_a: OIHW of the HWIO kernel times s = gamma / sqrt(var + eps); its bias
     * (none in the file) = (0 - mean) s + beta */
    const rv_cnn_layer_t *a = &b->layers[1], *c = &b->layers[2];
    RS_CHECK(a->weights && a->bias && c->weights && c->bias);
    RS_CHECK(b->layers[0].weights == NULL && b->layers[3].weights == NULL &&
             b->layers[4].bias == NULL);
    if (!a->weights || !a->bias || !c->weights || !c->bias)
        return;
    int bad = 0;
    for (int o = 0; o < 4; o++) {
        double var = (double) s_deq(s_var_q[o], s_var_min, s_var_scale);
        double s = (double) s_gamma[o] / sqrt(var + EPS);
        for (int ci = 0; ci < 3; ci++)
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 3; x++) {
                    double want = (double) s_ka[((y * 3 + x) * 3 + ci) * 4 + o] * s;
                    float got = a->weights[((o * 3 + ci) * 3 + y) * 3 + x];
                    if (!s_close(got, want) && bad++ < 5)
                        RS_CHECKF(0, "conv_a w[%d][%d][%d][%d] = %.7g, want %.7g", o, ci, y, x,
                                  (double) got, want);
                }
        double bw = (0.0 - (double) s_mean[o]) * s + (double) s_beta[o];
        RS_CHECKF(s_close(a->bias[o], bw), "conv_a bias[%d] = %.7g, want %.7g", o,
                  (double) a->bias[o], bw);
    }
    RS_CHECK_EQ(bad, 0);
    /* conv_b: transposed only; its bias dequantized */
    bad = 0;
    for (int o = 0; o < 5; o++) {
        for (int ci = 0; ci < 4; ci++)
            for (int x = 0; x < 3; x++)
                if (c->weights[(o * 4 + ci) * 3 + x] != s_kb[(x * 4 + ci) * 5 + o])
                    bad++;
        RS_CHECKF(c->bias[o] == s_deq(s_bias_q[o], s_bias_min, s_bias_scale),
                  "conv_b bias[%d] = %.7g", o, (double) c->bias[o]);
    }
    RS_CHECK_EQ(bad, 0);
    RS_CHECKF(!strcmp(b->sha256, sha), "sha256 %s, want %s", b->sha256, sha);
}

/* ---- Keras's own computation of the small model, from the file's numbers ------------ */

/* TensorFlow's padding: the output size and the padding before (the odd pixel after). */
static int s_tf_out(int n, int k, int s, int same, int *before)
{
    if (!same) {
        *before = 0;
        return (n - k) / s + 1;
    }
    int o = (n + s - 1) / s, t = (o - 1) * s + k - n;
    *before = t > 0 ? t / 2 : 0;
    return o;
}

/* HWC in, HWIO kernel (NULL: pooling; max when maxpool), HWC out. */
static float *s_ref_op(const float *in, int h, int w, int c, const float *k, int kh, int kw,
                       int cout, int stride, int same, int maxpool, int *oh, int *ow)
{
    int pt, pl;
    *oh = s_tf_out(h, kh, stride, same, &pt);
    *ow = s_tf_out(w, kw, stride, same, &pl);
    int oc = k ? cout : c;
    float *out = calloc((size_t) *oh * (size_t) *ow * (size_t) oc, sizeof *out);
    for (int y = 0; y < *oh; y++)
        for (int x = 0; x < *ow; x++)
            for (int o = 0; o < oc; o++) {
                double acc = maxpool ? -INFINITY : 0;
                int cnt = 0;
                for (int dy = 0; dy < kh; dy++)
                    for (int dx = 0; dx < kw; dx++) {
                        int iy = y * stride - pt + dy, ix = x * stride - pl + dx;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                            continue;
                        const float *px =
                            in + ((size_t) iy * (size_t) w + (size_t) ix) * (size_t) c;
                        if (k) {
                            for (int ci = 0; ci < c; ci++)
                                acc += (double) px[ci] *
                                       (double) k[((dy * kw + dx) * c + ci) * cout + o];
                        } else if (maxpool) {
                            acc = fmax(acc, (double) px[o]);
                        } else {
                            acc += (double) px[o];
                            cnt++;
                        }
                    }
                if (!k && !maxpool)
                    acc /= cnt;
                out[((size_t) y * (size_t) *ow + (size_t) x) * (size_t) oc + (size_t) o] =
                    (float) acc;
            }
    return out;
}

/* pool_m of the small model for an h x w input of 3 planes: HWC, 13 channels. */
static float *s_ref_model(const float *planes, int h, int w, int *oh, int *ow)
{
    float *in = malloc(sizeof(float) * 3 * (size_t) h * (size_t) w);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < h * w; i++)
            in[(size_t) i * 3 + (size_t) c] = planes[(size_t) c * (size_t) (h * w) + (size_t) i];
    int ah, aw, bh, bw, ph, pw;
    float *a = s_ref_op(in, h, w, 3, s_ka, 3, 3, 4, 2, 0, 0, &ah, &aw);
    for (int i = 0; i < ah * aw; i++)
        for (int o = 0; o < 4; o++) {
            /* BatchNormalization, then ReLU, as Keras computes them */
            double var = (double) s_deq(s_var_q[o], s_var_min, s_var_scale);
            double v = ((double) a[i * 4 + o] - (double) s_mean[o]) / sqrt(var + EPS) *
                           (double) s_gamma[o] +
                       (double) s_beta[o];
            a[i * 4 + o] = (float) fmax(v, 0.0);
        }
    float *b = s_ref_op(a, ah, aw, 4, s_kb, 1, 3, 5, 1, 1, 0, &bh, &bw);
    for (int i = 0; i < bh * bw; i++)
        for (int o = 0; o < 5; o++)
            b[i * 5 + o] = fmaxf(b[i * 5 + o] + s_deq(s_bias_q[o], s_bias_min, s_bias_scale), 0);
    float *p = s_ref_op(a, ah, aw, 4, NULL, 3, 3, 0, 1, 1, 0, &ph, &pw);
    float *cat = malloc(sizeof(float) * 13 * (size_t) (ah * aw));
    for (int i = 0; i < ah * aw; i++) {
        memcpy(cat + i * 13, b + i * 5, 5 * sizeof(float));
        memcpy(cat + i * 13 + 5, p + i * 4, 4 * sizeof(float));
        memcpy(cat + i * 13 + 9, a + i * 4, 4 * sizeof(float));
    }
    float *out = s_ref_op(cat, ah, aw, 13, NULL, 3, 3, 0, 2, 1, 1, oh, ow);
    free(in);
    free(a);
    free(b);
    free(p);
    free(cat);
    return out;
}

/* rv_cnn on the imported layers against Keras's computation (an odd width: the "same"
 * padding's odd pixel on the right). */
static void s_check_forward(const ra_backbone_t *b)
{
    rv_cnn_t *net = rv_cnn_new(b->layers, b->nlayers, b->output);
    RS_CHECKF(net != NULL, "rv_cnn_new: %s", rv_last_error());
    if (!net)
        return;
    RS_CHECK_EQ(rv_cnn_channels(net), 13);
    enum { H = 32, W = 29 };
    static float in[3 * H * W], out[13 * 16 * 16];
    uint64_t st = 7;
    for (int i = 0; i < 3 * H * W; i++)
        in[i] = (float) ((double) (rs_rand(&st) >> 11) / 9007199254740992.0 * 2 - 1);
    int dims[3] = {0, 0, 0}, oh, ow;
    int rc = rv_cnn_forward(net, in, H, W, out, sizeof out / sizeof out[0], dims);
    RS_CHECKF(rc == RV_OK, "rv_cnn_forward: %s", rv_last_error());
    float *ref = s_ref_model(in, H, W, &oh, &ow);
    RS_CHECKF(dims[0] == 13 && dims[1] == oh && dims[2] == ow, "dims %d %d %d, want 13 %d %d",
              dims[0], dims[1], dims[2], oh, ow);
    double worst = 0;
    for (int c = 0; rc == RV_OK && dims[1] == oh && dims[2] == ow && c < 13; c++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                double r = ref[(y * ow + x) * 13 + c], g = out[(c * oh + y) * ow + x];
                worst = fmax(worst, fabs(g - r) / (1 + fabs(r)));
            }
    printf("  rv_cnn on the imported layers: %dx%dx%d, largest relative difference from "
           "Keras's computation %.2g\n",
           dims[0], dims[1], dims[2], worst);
    RS_CHECKF(worst < 1e-5, "largest relative difference %g", worst);
    free(ref);
    rv_cnn_destroy(&net);
}

/* Load dir up to output and expect a refusal whose message holds each of the texts. */
static void s_refused(const char *what, const char *dir, const char *output, const char *t1,
                      const char *t2)
{
    ra_backbone_t *b = ra_backbone_load(dir, output);
    RS_CHECKF(b == NULL, "%s: loaded", what);
    ra_backbone_free(&b);
    const char *msg = rv_last_error();
    printf("  %s: %s\n", what, msg);
    RS_CHECK_MSG(msg, t1);
    if (t2)
        RS_CHECK_MSG(msg, t2);
}

/* The layer named name in model's layer list. */
static json_t *s_find_layer(json_t *model, const char *name)
{
    json_t *layers = json_object_get(
        json_object_get(json_object_get(json_object_get(model, "modelTopology"), "model_config"),
                        "config"),
        "layers");
    size_t i;
    json_t *l;
    json_array_foreach(layers, i, l)
    {
        if (!strcmp(json_string_value(json_object_get(l, "name")), name))
            return l;
    }
    return NULL;
}

static json_t *s_find_weight(json_t *model, const char *name)
{
    json_t *wm = json_object_get(model, "weightsManifest"), *g, *w;
    size_t i, k;
    json_array_foreach(wm, i, g)
    {
        json_array_foreach(json_object_get(g, "weights"), k, w)
        {
            if (!strcmp(json_string_value(json_object_get(w, "name")), name))
                return w;
        }
    }
    return NULL;
}

/* Write a variant of the model, changed by a function, into dir. */
typedef void (*s_change_fn)(json_t *model);

static void s_variant(const char *dir, s_change_fn change)
{
    s_bytes_t g0, g1;
    char sha[65];
    json_t *m = s_model(&g0, &g1);
    change(m);
    RS_CHECK(s_write_all(dir, m, &g0, &g1, 0, sha) == 0);
    json_decref(m);
}

static void s_no_strides(json_t *m)
{
    json_object_del(json_object_get(s_find_layer(m, "conv_b"), "config"), "strides");
}

static void s_no_bias_entry(json_t *m)
{
    json_object_set_new(s_find_weight(m, "conv_b/bias"), "name", json_string("conv_b/offset"));
}

static void s_int32(json_t *m)
{
    json_object_set_new(s_find_weight(m, "dense_1/kernel"), "dtype", json_string("int32"));
}

static void s_bad_shape(json_t *m)
{
    json_object_set_new(s_find_weight(m, "conv_b/kernel"), "shape",
                        json_pack("[i,i,i,i]", 3, 1, 4, 5));
}

static void s_two_consumers(json_t *m)
{
    /* pool_a takes conv_a's raw output too: bn_a cannot fold into it */
    json_object_set_new(s_find_layer(m, "pool_a"), "inbound_nodes",
                        json_pack("[[[s,i,i,{}]]]", "conv_a", 0, 0));
}

static void s_flat_topology(json_t *m)
{
    /* modelTopology holding class_name and config itself */
    json_t *mc = json_incref(json_object_get(json_object_get(m, "modelTopology"),
                                             "model_config"));
    json_object_set_new(m, "modelTopology", mc);
}

static void s_real(const char *dir)
{
    ra_backbone_t *b = ra_backbone_load(dir, "mixed3");
    RS_CHECKF(b != NULL, "%s up to mixed3: %s", dir, rv_last_error());
    if (!b)
        return;
    int convs = 0, relus = 0;
    for (int i = 0; i < b->nlayers; i++) {
        convs += b->layers[i].op == RV_CNN_CONV;
        relus += b->layers[i].op == RV_CNN_CONV && b->layers[i].relu;
    }
    const rv_cnn_layer_t *o = &b->layers[b->output];
    printf("  %s: %d layers (%d convolutions, %d with ReLU), output '%s' of %d channels, "
           "sha256 %s\n",
           dir, b->nlayers, convs, relus, o->name, o->cout, b->sha256);
    RS_CHECK_EQ(o->cout, 768);
    RS_CHECK_EQ(o->op, RV_CNN_CONCAT);
    RS_CHECK(!strcmp(o->name, "mixed3"));
    RS_CHECK_EQ(b->output, b->nlayers - 1);
    RS_CHECK_EQ(convs, 30);
    RS_CHECK_EQ(relus, 30);
    RS_CHECK_EQ(b->nlayers, 41); /* input, 30 conv, 3 max, 3 average, 4 concat */
    RS_CHECK_EQ(strlen(b->sha256), 64);
    rv_cnn_t *net = rv_cnn_new(b->layers, b->nlayers, b->output);
    RS_CHECKF(net != NULL, "rv_cnn_new on %s: %s", dir, rv_last_error());
    RS_CHECK_EQ(rv_cnn_channels(net), 768);
    if (net) {
        /* InceptionV3's own input size: mixed3 is 17 x 17, after ReLUs (>= 0) */
        enum { S = 299 };
        float *in = malloc(sizeof(float) * 3 * S * S);
        float *out = malloc(sizeof(float) * 768 * 17 * 17);
        uint64_t st = 11;
        for (int i = 0; i < 3 * S * S; i++)
            in[i] = (float) ((double) (rs_rand(&st) >> 11) / 9007199254740992.0 * 2 - 1);
        int dims[3] = {0, 0, 0};
        int rc = rv_cnn_forward(net, in, S, S, out, 768 * 17 * 17, dims);
        RS_CHECKF(rc == RV_OK, "forward %dx%d: %s", S, S, rv_last_error());
        RS_CHECKF(dims[0] == 768 && dims[1] == 17 && dims[2] == 17, "dims %d %d %d", dims[0],
                  dims[1], dims[2]);
        int bad = 0;
        for (int i = 0; rc == RV_OK && i < 768 * 17 * 17; i++)
            bad += !(out[i] >= 0 && isfinite(out[i]));
        RS_CHECK_EQ(bad, 0);
        free(in);
        free(out);
    }
    rv_cnn_destroy(&net);
    ra_backbone_free(&b);
    RS_CHECK(b == NULL);
    /* the classifier's head is beyond what the importer takes */
    s_refused("the real model up to its Dense head", dir, "dense_3", "layer 'flatten_1' (Flatten)",
              "not supported before the output layer");
}

int main(void)
{
    if (rv_init() != RV_OK || sodium_init() < 0)
        return rs_test_skip("app.backbone", "no vision library or libsodium");
    char dir[] = "/tmp/ra_backboneXXXXXX";
    if (!mkdtemp(dir))
        return rs_test_skip("app.backbone", "no temporary folder");
    s_numbers();

    /* refused before anything is written: no model.json */
    s_refused("missing model.json", dir, "pool_m", "model.json", "No such file");

    s_bytes_t g0, g1;
    char sha[65];
    json_t *model = s_model(&g0, &g1);
    RS_CHECK_EQ(g0.n, 4 * 4 * 3 + 4 + 108 * 4 + 5 + 60 * 4);
    RS_CHECK(s_write_all(dir, model, &g0, &g1, 0, sha) == 0);
    ra_backbone_t *b = ra_backbone_load(dir, "pool_m");
    RS_CHECKF(b != NULL, "load: %s", rv_last_error());
    if (b) {
        s_check_small(b, sha);
        s_check_forward(b);
    }
    ra_backbone_free(&b);
    RS_CHECK(b == NULL);
    ra_backbone_free(&b); /* twice: harmless */

    /* an output inside a folded chain: bn_a is conv_a before its ReLU */
    b = ra_backbone_load(dir, "bn_a");
    RS_CHECKF(b != NULL, "load up to bn_a: %s", rv_last_error());
    if (b) {
        RS_CHECK_EQ(b->nlayers, 2);
        RS_CHECK_EQ(b->output, 1);
        RS_CHECK_EQ(b->layers[1].relu, 0);
        RS_CHECK(b->layers[1].bias != NULL);
    }
    ra_backbone_free(&b);
    b = ra_backbone_load(dir, "act_a");
    RS_CHECKF(b && b->output == 1 && b->layers[1].relu == 1, "up to act_a: %s",
              b ? "wrong layers" : rv_last_error());
    ra_backbone_free(&b);

    /* modelTopology holding the model's config itself */
    s_variant(dir, s_flat_topology);
    b = ra_backbone_load(dir, "pool_m");
    RS_CHECKF(b && b->nlayers == 6 && b->output == 5, "flat topology: %s",
              b ? "wrong layers" : rv_last_error());
    ra_backbone_free(&b);

    /* ---- refusals ---- */
    RS_CHECK(s_write_all(dir, model, &g0, &g1, 0, sha) == 0);
    s_refused("a layer of another kind before the output", dir, "dense_1",
              "layer 'flatten_1' (Flatten): not supported before the output layer", NULL);
    s_refused("output layer not present", dir, "mixed9", "output layer 'mixed9' not found",
              NULL);

    RS_CHECK(s_write_all(dir, model, &g0, &g1, 3, sha) == 0);
    char want[128];
    snprintf(want, sizeof want, "weights: %zu bytes in the shard files, the manifest needs %zu",
             g0.n - 3, g0.n);
    s_refused("a short shard file", dir, "pool_m", want, "weightsManifest[0]");

    RS_CHECK(s_write_all(dir, model, &g0, &g1, 0, sha) == 0);
    char path[512];
    snprintf(path, sizeof path, "%s/group2-shard1of1", dir);
    RS_CHECK(unlink(path) == 0);
    s_refused("a shard file missing", dir, "pool_m", "group2-shard1of1", "No such file");

    static const char bad_json[] = "{\n  \"modelTopology\": {\n    \"model_config\": [1, 2,,]\n"
                                   "  }\n}\n";
    RS_CHECK(s_write(dir, "model.json", bad_json, strlen(bad_json)) == 0);
    s_refused("a JSON syntax error", dir, "pool_m", "line 3", "JSON syntax error");

    s_variant(dir, s_no_bias_entry);
    s_refused("a weight missing from the manifest", dir, "pool_m",
              "layer 'conv_b' (Conv2D): weight 'conv_b/bias' not in the weightsManifest", NULL);
    s_variant(dir, s_int32);
    s_refused("dtype int32", dir, "pool_m", "'dense_1/kernel'", "dtype 'int32' not supported");
    s_variant(dir, s_no_strides);
    s_refused("a missing field", dir, "pool_m",
              "modelTopology.model_config.config.layers[4].config.strides: missing", NULL);
    s_variant(dir, s_bad_shape);
    s_refused("a shape that differs", dir, "pool_m",
              "weight 'conv_b/kernel' has shape [3,1,4,5], the layer needs [1,3,4,5]", NULL);
    s_variant(dir, s_two_consumers);
    s_refused("a BN after a convolution used elsewhere", dir, "pool_m", "layer 'bn_a'",
              "'conv_a' has 2 consumers");
    json_decref(model);

    static const char *const files[] = {"model.json", "group1-shard1of2", "group1-shard2of2",
                                        "group2-shard1of1"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    RS_CHECK(rmdir(dir) == 0);

    const char *real = getenv("RS_BACKBONE");
    if (real && *real)
        s_real(real);
    else
        printf("  the real model: skipped (RS_BACKBONE names none; scripts/fetch-backbone.sh)\n");
    return rs_test_end("app.backbone");
}
