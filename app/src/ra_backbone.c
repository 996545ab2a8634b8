/* ra_backbone.c - the importer of a Keras / TensorFlow.js layers model (see ra_backbone.h).
 *
 * Three steps: model.json read and parsed (its bytes hashed); every manifest group's files
 * read and its tensors located (name, shape, dtype, offset; the bytes hashed); the Keras
 * layers walked up to the output, each layer's tensors decoded, transposed and folded into
 * one float store (offsets while it grows, pointers at the end). */
#include "ra/ra_backbone.h"

#include "rv/rv_error.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D "ra_backbone"

#define MAX_JSON_BYTES ((size_t) 64 << 20)     /* model.json */
#define MAX_WEIGHT_BYTES ((size_t) 1 << 30)    /* all weight files together */
#define MAX_STORE_FLOATS ((size_t) 1 << 28)    /* decoded weights kept */
#define MAX_KERAS_LAYERS 8192                  /* walked up to the output */
#define MAX_KERNEL 16
#define MAX_CHANNELS 4096
#define MAX_DIMS 8
#define NONE SIZE_MAX

/* One tensor of the manifest. */
typedef struct s_tensor {
    const char *name;     /* borrowed from the parsed JSON */
    int ndim;
    long long shape[MAX_DIMS];
    size_t count;         /* elements */
    int quant;            /* 1: uint8 with min and scale; 0: float32 */
    double min, scale;
    const uint8_t *bytes; /* into its group's buffer */
} s_tensor_t;

typedef struct s_ctx {
    char file[4200];      /* dir/model.json, the prefix of every message */
    const char *dir;
    crypto_hash_sha256_state sha;
    s_tensor_t *t;
    size_t nt;
    uint8_t **groups;     /* each group's bytes */
    size_t ngroups;
    float *store;         /* decoded weights; layers refer to offsets until the end */
    size_t nstore, capstore;
    rv_cnn_layer_t *layers;
    size_t *woff, *boff;  /* per emitted layer: offsets into store or NONE */
    int nlayers;
} s_ctx_t;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int s_fail(const s_ctx_t *c, int code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rv_fail(code, D, "%s: %s", c->file, msg);
}

/* ---- files ------------------------------------------------------------------------ */

/* Append the bytes of path to *buf (grown), hashing them; at most limit bytes in all. */
static int s_read_append(const char *path, uint8_t **buf, size_t *len, size_t *cap,
                         size_t limit, crypto_hash_sha256_state *sha)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return rv_fail(RV_EIO, D, "cannot read %s: %s", path, strerror(errno));
    int rc = RV_OK;
    for (;;) {
        if (*cap - *len < 65536) {
            size_t ncap = *cap ? *cap * 2 : (size_t) 1 << 20;
            uint8_t *nb = realloc(*buf, ncap);
            if (!nb) {
                rc = rv_fail(RV_ENOMEM, D, "%s: out of memory", path);
                break;
            }
            *buf = nb;
            *cap = ncap;
        }
        size_t got = fread(*buf + *len, 1, *cap - *len, f);
        if (got > 0)
            crypto_hash_sha256_update(sha, *buf + *len, got);
        *len += got;
        if (*len > limit) {
            rc = rv_fail(RV_ELIMIT, D, "%s: over %zu bytes", path, limit);
            break;
        }
        if (got == 0) {
            if (ferror(f))
                rc = rv_fail(RV_EIO, D, "cannot read %s: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    return rc;
}

/* ---- JSON fields, named by their path ------------------------------------------------ */

static json_t *s_req(const s_ctx_t *c, const json_t *obj, const char *path, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (!v)
        s_fail(c, RV_EFORMAT, "%s.%s: missing", path, key);
    return v;
}

static const char *s_req_str(const s_ctx_t *c, const json_t *obj, const char *path,
                             const char *key)
{
    json_t *v = s_req(c, obj, path, key);
    if (v && !json_is_string(v)) {
        s_fail(c, RV_EFORMAT, "%s.%s: not a string", path, key);
        return NULL;
    }
    return v ? json_string_value(v) : NULL;
}

static int s_int_of(const json_t *v, int *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < -1000000000 ||
        json_integer_value(v) > 1000000000)
        return -1;
    *out = (int) json_integer_value(v);
    return 0;
}

/* An integer or a list of two (kernel_size, strides, pool_size, dilation_rate). */
static int s_pair(const s_ctx_t *c, const json_t *obj, const char *path, const char *key,
                  int *a, int *b)
{
    json_t *v = s_req(c, obj, path, key);
    if (!v)
        return RV_EFORMAT;
    if (s_int_of(v, a) == 0) {
        *b = *a;
        return RV_OK;
    }
    if (json_is_array(v) && json_array_size(v) == 2 && s_int_of(json_array_get(v, 0), a) == 0 &&
        s_int_of(json_array_get(v, 1), b) == 0)
        return RV_OK;
    return s_fail(c, RV_EFORMAT, "%s.%s: not an integer or a list of two", path, key);
}

/* An optional boolean (default def). */
static int s_bool(const s_ctx_t *c, const json_t *obj, const char *path, const char *key,
                  int def, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return RV_OK;
    }
    if (!json_is_boolean(v))
        return s_fail(c, RV_EFORMAT, "%s.%s: not true or false", path, key);
    *out = json_is_true(v);
    return RV_OK;
}

/* "same" or "valid". */
static int s_padding(const s_ctx_t *c, const json_t *cfg, const char *path, int *same)
{
    const char *p = s_req_str(c, cfg, path, "padding");
    if (!p)
        return RV_EFORMAT;
    if (!strcmp(p, "same") || !strcmp(p, "valid")) {
        *same = !strcmp(p, "same");
        return RV_OK;
    }
    return s_fail(c, RV_EFORMAT, "%s.padding: '%s' not supported (\"same\" or \"valid\")", path,
                  p);
}

/* data_format, when given, must be channels_last (the layout the weights are in). */
static int s_channels_last(const s_ctx_t *c, const json_t *cfg, const char *path)
{
    json_t *v = json_object_get(cfg, "data_format");
    if (!v || json_is_null(v) ||
        (json_is_string(v) && !strcmp(json_string_value(v), "channels_last")))
        return RV_OK;
    return s_fail(c, RV_EFORMAT, "%s.data_format: only channels_last is supported", path);
}

/* An axis that means the channels: -1 or 3 (an integer or a list of one). */
static int s_channel_axis(const s_ctx_t *c, const json_t *cfg, const char *path, int def_ok)
{
    json_t *v = json_object_get(cfg, "axis");
    if (!v && def_ok)
        return RV_OK;
    if (json_is_array(v) && json_array_size(v) == 1)
        v = json_array_get(v, 0);
    int a;
    if (!v)
        return s_fail(c, RV_EFORMAT, "%s.axis: missing", path);
    if (s_int_of(v, &a) != 0 || (a != -1 && a != 3))
        return s_fail(c, RV_EFORMAT, "%s.axis: only the channel axis (-1 or 3) is supported",
                      path);
    return RV_OK;
}

/* ---- the weights manifest ---------------------------------------------------------- */

static int s_manifest(s_ctx_t *c, const json_t *root)
{
    const json_t *wm = s_req(c, root, "(top)", "weightsManifest");
    if (!wm)
        return RV_EFORMAT;
    if (!json_is_array(wm))
        return s_fail(c, RV_EFORMAT, "weightsManifest: not a list");
    size_t total = 0, ntensors = 0;
    for (size_t g = 0; g < json_array_size(wm); g++)
        ntensors += json_array_size(json_object_get(json_array_get(wm, g), "weights"));
    c->t = calloc(ntensors ? ntensors : 1, sizeof *c->t);
    c->groups = calloc(json_array_size(wm) ? json_array_size(wm) : 1, sizeof *c->groups);
    if (!c->t || !c->groups)
        return s_fail(c, RV_ENOMEM, "out of memory");
    for (size_t g = 0; g < json_array_size(wm); g++) {
        const json_t *grp = json_array_get(wm, g);
        char gp[64];
        snprintf(gp, sizeof gp, "weightsManifest[%zu]", g);
        const json_t *paths = s_req(c, grp, gp, "paths"), *ws = s_req(c, grp, gp, "weights");
        if (!paths || !ws)
            return RV_EFORMAT;
        if (!json_is_array(paths) || !json_is_array(ws))
            return s_fail(c, RV_EFORMAT, "%s: paths and weights must be lists", gp);
        uint8_t *buf = NULL;
        size_t len = 0, cap = 0;
        c->groups[c->ngroups++] = NULL;
        for (size_t k = 0; k < json_array_size(paths); k++) {
            const char *p = json_string_value(json_array_get(paths, k));
            if (!p || !*p || p[0] == '/' || strstr(p, ".."))
                return s_fail(c, RV_EFORMAT, "%s.paths[%zu]: not a file name inside %s", gp, k,
                              c->dir);
            char full[4200];
            if (snprintf(full, sizeof full, "%s/%s", c->dir, p) >= (int) sizeof full)
                return s_fail(c, RV_EINVAL, "%s.paths[%zu]: path too long", gp, k);
            size_t before = len;
            int rc = s_read_append(full, &buf, &len, &cap, MAX_WEIGHT_BYTES - total, &c->sha);
            c->groups[g] = buf;
            if (rc != RV_OK)
                return rc;
            total += len - before;
        }
        size_t need = 0;
        for (size_t k = 0; k < json_array_size(ws); k++) {
            const json_t *w = json_array_get(ws, k);
            char wp[96];
            snprintf(wp, sizeof wp, "%s.weights[%zu]", gp, k);
            const char *name = s_req_str(c, w, wp, "name"),
                       *dtype = s_req_str(c, w, wp, "dtype");
            const json_t *shape = s_req(c, w, wp, "shape");
            if (!name || !dtype || !shape)
                return RV_EFORMAT;
            s_tensor_t *t = &c->t[c->nt++];
            t->name = name;
            if (!json_is_array(shape) || json_array_size(shape) > MAX_DIMS)
                return s_fail(c, RV_EFORMAT, "%s.shape ('%s'): not a list of at most %d sizes",
                              wp, name, MAX_DIMS);
            t->ndim = (int) json_array_size(shape);
            t->count = 1;
            for (int d = 0; d < t->ndim; d++) {
                const json_t *v = json_array_get(shape, (size_t) d);
                if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                    json_integer_value(v) > (1 << 30))
                    return s_fail(c, RV_EFORMAT, "%s.shape ('%s'): not a list of sizes", wp, name);
                t->shape[d] = json_integer_value(v);
                t->count *= (size_t) t->shape[d];
                if (t->count > MAX_WEIGHT_BYTES)
                    return s_fail(c, RV_ELIMIT, "%s ('%s'): over %zu elements", wp, name,
                                  MAX_WEIGHT_BYTES);
            }
            if (strcmp(dtype, "float32") != 0)
                return s_fail(c, RV_EFORMAT,
                              "%s ('%s'): dtype '%s' not supported (float32, or float32 "
                              "quantized to uint8)",
                              wp, name, dtype);
            const json_t *q = json_object_get(w, "quantization");
            if (q && !json_is_null(q)) {
                const char *qd = json_string_value(json_object_get(q, "dtype"));
                const json_t *mn = json_object_get(q, "min"), *sc = json_object_get(q, "scale");
                if (!qd || strcmp(qd, "uint8") != 0 || !json_is_number(mn) || !json_is_number(sc))
                    return s_fail(c, RV_EFORMAT,
                                  "%s ('%s'): quantization %s not supported (uint8 with min "
                                  "and scale only)",
                                  wp, name, qd ? qd : "without a dtype");
                t->quant = 1;
                t->min = json_number_value(mn);
                t->scale = json_number_value(sc);
            }
            size_t bytes = t->count * (t->quant ? 1 : 4);
            /* (the group's buffer is final: all its files are read; a tensor past its end
               is left NULL and the byte count below refuses the group) */
            t->bytes = buf && bytes <= len && need <= len - bytes ? buf + need : NULL;
            need += bytes;
        }
        if (need != len)
            return s_fail(c, RV_EFORMAT,
                          "weights: %zu bytes in the shard files, the manifest needs %zu%s%s%s",
                          len, need, json_array_size(wm) > 1 ? " (" : "",
                          json_array_size(wm) > 1 ? gp : "", json_array_size(wm) > 1 ? ")" : "");
    }
    return RV_OK;
}

static const s_tensor_t *s_find(const s_ctx_t *c, const char *layer, const char *param)
{
    char name[256], tail[258];
    snprintf(name, sizeof name, "%s/%s", layer, param);
    snprintf(tail, sizeof tail, "/%s", name);
    for (size_t i = 0; i < c->nt; i++)
        if (!strcmp(c->t[i].name, name))
            return &c->t[i];
    /* a name under a scope ("model/conv2d_1/kernel") */
    size_t lt = strlen(tail);
    for (size_t i = 0; i < c->nt; i++) {
        size_t ln = strlen(c->t[i].name);
        if (ln > lt && !strcmp(c->t[i].name + ln - lt, tail))
            return &c->t[i];
    }
    return NULL;
}

static float s_value(const s_tensor_t *t, size_t i)
{
    if (t->quant)
        return (float) ((double) t->bytes[i] * t->scale + t->min);
    const uint8_t *b = t->bytes + 4 * i;
    uint32_t u = (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 |
                 (uint32_t) b[3] << 24;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void s_shape_text(char *out, size_t size, const long long *dims, int n)
{
    size_t o = 0;
    o += (size_t) snprintf(out + o, size - o, "[");
    for (int d = 0; d < n && o < size; d++)
        o += (size_t) snprintf(out + o, size - o, "%s%lld", d ? "," : "", dims[d]);
    if (o < size)
        snprintf(out + o, size - o, "]");
}

/* The tensor layer/param, of the given shape. */
static const s_tensor_t *s_weight(const s_ctx_t *c, const char *layer, const char *cls,
                                  const char *param, const long long *dims, int n)
{
    const s_tensor_t *t = s_find(c, layer, param);
    if (!t) {
        s_fail(c, RV_EFORMAT, "layer '%s' (%s): weight '%s/%s' not in the weightsManifest", layer,
               cls, layer, param);
        return NULL;
    }
    int same = t->ndim == n;
    for (int d = 0; same && d < n; d++)
        same = t->shape[d] == dims[d];
    if (!same) {
        char have[128], want[128];
        s_shape_text(have, sizeof have, t->shape, t->ndim);
        s_shape_text(want, sizeof want, dims, n);
        s_fail(c, RV_EFORMAT, "layer '%s' (%s): weight '%s' has shape %s, the layer needs %s",
               layer, cls, t->name, have, want);
        return NULL;
    }
    return t;
}

/* n floats more in the store: their offset, or NONE. */
static size_t s_alloc(s_ctx_t *c, size_t n)
{
    if (n > MAX_STORE_FLOATS - c->nstore) {
        s_fail(c, RV_ELIMIT, "over %zu weights up to the output layer", MAX_STORE_FLOATS);
        return NONE;
    }
    if (c->nstore + n > c->capstore) {
        size_t cap = c->capstore ? c->capstore : 65536;
        while (cap < c->nstore + n)
            cap *= 2;
        float *s = realloc(c->store, cap * sizeof *s);
        if (!s) {
            s_fail(c, RV_ENOMEM, "out of memory");
            return NONE;
        }
        c->store = s;
        c->capstore = cap;
    }
    size_t off = c->nstore;
    c->nstore += n;
    return off;
}

/* ---- the layers ------------------------------------------------------------------- */

/* A new layer (zeroed, named); its index, or -1. */
static int s_emit(s_ctx_t *c, int op, const char *name)
{
    if (c->nlayers >= RV_CNN_MAX_LAYERS) {
        s_fail(c, RV_ELIMIT, "more than %d layers up to the output layer (at '%s')",
               RV_CNN_MAX_LAYERS, name);
        return -1;
    }
    int i = c->nlayers++;
    rv_cnn_layer_t *l = &c->layers[i];
    memset(l, 0, sizeof *l);
    l->op = op;
    snprintf(l->name, sizeof l->name, "%s", name);
    c->woff[i] = c->boff[i] = NONE;
    return i;
}

/* A one-input window layer's geometry: input, kernel, stride, padding, channels. */
static void s_window(rv_cnn_layer_t *l, int src, int kh, int kw, int stride, int same, int cin,
                     int cout)
{
    l->ninputs = 1;
    l->inputs[0] = src;
    l->kh = kh;
    l->kw = kw;
    l->stride = stride;
    l->same = same;
    l->cin = cin;
    l->cout = cout;
}

static int s_conv(s_ctx_t *c, const json_t *cfg, const char *cp, const char *name, int src)
{
    int filters, kh = 0, kw = 0, sy = 0, sx = 0, dy = 1, dx = 1, same = 0, use_bias = 1;
    int groups = 1;
    int rc;
    const json_t *f = s_req(c, cfg, cp, "filters");
    if (!f)
        return RV_EFORMAT;
    if (s_int_of(f, &filters) != 0)
        return s_fail(c, RV_EFORMAT, "%s.filters: not an integer", cp);
    if ((rc = s_pair(c, cfg, cp, "kernel_size", &kh, &kw)) != RV_OK ||
        (rc = s_pair(c, cfg, cp, "strides", &sy, &sx)) != RV_OK ||
        (rc = s_padding(c, cfg, cp, &same)) != RV_OK ||
        (rc = s_channels_last(c, cfg, cp)) != RV_OK ||
        (rc = s_bool(c, cfg, cp, "use_bias", 1, &use_bias)) != RV_OK)
        return rc;
    if (json_object_get(cfg, "dilation_rate") &&
        (rc = s_pair(c, cfg, cp, "dilation_rate", &dy, &dx)) != RV_OK)
        return rc;
    const json_t *gv = json_object_get(cfg, "groups");
    if (gv && s_int_of(gv, &groups) != 0)
        return s_fail(c, RV_EFORMAT, "%s.groups: not an integer", cp);
    const json_t *av = json_object_get(cfg, "activation");
    const char *act = av ? json_string_value(av) : "linear";
    if (!act)
        return s_fail(c, RV_EFORMAT, "%s.activation: not a string", cp);
    if (filters < 1 || filters > MAX_CHANNELS)
        return s_fail(c, RV_ELIMIT, "%s.filters: %d (1..%d)", cp, filters, MAX_CHANNELS);
    if (kh < 1 || kw < 1 || kh > MAX_KERNEL || kw > MAX_KERNEL)
        return s_fail(c, RV_ELIMIT, "%s.kernel_size: %dx%d (1..%d)", cp, kh, kw, MAX_KERNEL);
    if (sy != sx || sy < 1 || sy > MAX_KERNEL)
        return s_fail(c, RV_EFORMAT, "%s.strides: %d,%d (equal, 1..%d)", cp, sy, sx, MAX_KERNEL);
    if (dy != 1 || dx != 1)
        return s_fail(c, RV_EFORMAT, "%s.dilation_rate: %d,%d (only 1 is supported)", cp, dy, dx);
    if (groups != 1)
        return s_fail(c, RV_EFORMAT, "%s.groups: %d (only 1 is supported)", cp, groups);
    if (strcmp(act, "linear") != 0 && strcmp(act, "relu") != 0)
        return s_fail(c, RV_EFORMAT, "%s.activation: '%s' not supported (linear or relu)", cp,
                      act);
    int cin = c->layers[src].cout;
    long long kdims[4] = {kh, kw, cin, filters}, bdims[1] = {filters};
    const s_tensor_t *k = s_weight(c, name, "Conv2D", "kernel", kdims, 4);
    const s_tensor_t *b = use_bias ? s_weight(c, name, "Conv2D", "bias", bdims, 1) : NULL;
    if (!k || (use_bias && !b))
        return RV_EFORMAT;
    int i = s_emit(c, RV_CNN_CONV, name);
    if (i < 0)
        return RV_ELIMIT;
    size_t n = (size_t) kh * (size_t) kw * (size_t) cin * (size_t) filters;
    size_t wo = s_alloc(c, n), bo = b ? s_alloc(c, (size_t) filters) : NONE;
    if (wo == NONE || (b && bo == NONE))
        return RV_ENOMEM;
    /* Keras HWIO -> OIHW */
    float *w = c->store + wo;
    for (int y = 0; y < kh; y++)
        for (int x = 0; x < kw; x++)
            for (int ci = 0; ci < cin; ci++)
                for (int o = 0; o < filters; o++)
                    w[(((size_t) o * (size_t) cin + (size_t) ci) * (size_t) kh + (size_t) y) *
                          (size_t) kw +
                      (size_t) x] =
                        s_value(k, (((size_t) y * (size_t) kw + (size_t) x) * (size_t) cin +
                                    (size_t) ci) *
                                           (size_t) filters +
                                       (size_t) o);
    if (b)
        for (int o = 0; o < filters; o++)
            c->store[bo + (size_t) o] = s_value(b, (size_t) o);
    rv_cnn_layer_t *l = &c->layers[i];
    s_window(l, src, kh, kw, sy, same, cin, filters);
    l->relu = !strcmp(act, "relu");
    c->woff[i] = wo;
    c->boff[i] = bo;
    return RV_OK;
}

/* Fold the batch normalisation name into the convolution ci. */
static int s_fold_bn(s_ctx_t *c, const json_t *cfg, const char *cp, const char *name, int ci)
{
    int rc, center = 1, scale = 1;
    if ((rc = s_channel_axis(c, cfg, cp, 1)) != RV_OK ||
        (rc = s_bool(c, cfg, cp, "center", 1, &center)) != RV_OK ||
        (rc = s_bool(c, cfg, cp, "scale", 1, &scale)) != RV_OK)
        return rc;
    const json_t *ev = s_req(c, cfg, cp, "epsilon");
    if (!ev)
        return RV_EFORMAT;
    if (!json_is_number(ev) || !(json_number_value(ev) >= 0))
        return s_fail(c, RV_EFORMAT, "%s.epsilon: not a number >= 0", cp);
    double eps = json_number_value(ev);
    rv_cnn_layer_t *l = &c->layers[ci];
    long long dims[1] = {l->cout};
    const char *cls = "BatchNormalization";
    const s_tensor_t *gamma = scale ? s_weight(c, name, cls, "gamma", dims, 1) : NULL,
                     *beta = center ? s_weight(c, name, cls, "beta", dims, 1) : NULL,
                     *mean = s_weight(c, name, cls, "moving_mean", dims, 1),
                     *var = s_weight(c, name, cls, "moving_variance", dims, 1);
    if ((scale && !gamma) || (center && !beta) || !mean || !var)
        return RV_EFORMAT;
    if (c->boff[ci] == NONE) {
        size_t bo = s_alloc(c, (size_t) l->cout);
        if (bo == NONE)
            return RV_ENOMEM;
        memset(c->store + bo, 0, (size_t) l->cout * sizeof(float));
        c->boff[ci] = bo;
    }
    size_t per = (size_t) l->cin * (size_t) l->kh * (size_t) l->kw;
    for (int o = 0; o < l->cout; o++) {
        double v = (double) s_value(var, (size_t) o) + eps;
        if (!(v > 0))
            return s_fail(c, RV_EFORMAT,
                          "layer '%s' (%s): moving_variance + epsilon not positive at channel %d",
                          name, cls, o);
        double s = (gamma ? (double) s_value(gamma, (size_t) o) : 1.0) / sqrt(v);
        float *w = c->store + c->woff[ci] + (size_t) o * per;
        for (size_t j = 0; j < per; j++)
            w[j] = (float) ((double) w[j] * s);
        float *b = c->store + c->boff[ci] + (size_t) o;
        *b = (float) (((double) *b - (double) s_value(mean, (size_t) o)) * s +
                      (beta ? (double) s_value(beta, (size_t) o) : 0.0));
    }
    return RV_OK;
}

static int s_pool(s_ctx_t *c, int op, const json_t *cfg, const char *cp, const char *name,
                  int src)
{
    int ph = 0, pw = 0, sy = 0, sx = 0, same = 0, rc;
    if ((rc = s_pair(c, cfg, cp, "pool_size", &ph, &pw)) != RV_OK ||
        (rc = s_padding(c, cfg, cp, &same)) != RV_OK ||
        (rc = s_channels_last(c, cfg, cp)) != RV_OK)
        return rc;
    const json_t *sv = json_object_get(cfg, "strides");
    if (!sv || json_is_null(sv)) { /* Keras: the pool size */
        sy = ph;
        sx = pw;
    } else if ((rc = s_pair(c, cfg, cp, "strides", &sy, &sx)) != RV_OK) {
        return rc;
    }
    if (ph < 1 || pw < 1 || ph > MAX_KERNEL || pw > MAX_KERNEL)
        return s_fail(c, RV_ELIMIT, "%s.pool_size: %dx%d (1..%d)", cp, ph, pw, MAX_KERNEL);
    if (sy != sx || sy < 1 || sy > MAX_KERNEL)
        return s_fail(c, RV_EFORMAT, "%s.strides: %d,%d (equal, 1..%d)", cp, sy, sx, MAX_KERNEL);
    int i = s_emit(c, op, name);
    if (i < 0)
        return RV_ELIMIT;
    s_window(&c->layers[i], src, ph, pw, sy, same, c->layers[src].cout, c->layers[src].cout);
    return RV_OK;
}

/* The walk: Keras layers 0..out; at[] maps each to its emitted layer. */
typedef struct s_walk {
    int n;                           /* Keras layers walked (out + 1) */
    int *at;                         /* emitted layer of each, -1 before */
    int *nin;                        /* inputs of each */
    int (*in)[RV_CNN_MAX_INPUTS];    /* Keras indices of the inputs */
    int *consumers;                  /* walked layers that take it as an input */
} s_walk_t;

/* The inbound layers of layer i: [[["name", 0, 0, {}], ...]] (one call only). */
static int s_inbound(s_ctx_t *c, const json_t *layers, s_walk_t *w, int i, const char *lp,
                     const char *name, const char *cls)
{
    const json_t *nodes = s_req(c, json_array_get(layers, (size_t) i), lp, "inbound_nodes");
    if (!nodes)
        return RV_EFORMAT;
    if (!json_is_array(nodes))
        return s_fail(c, RV_EFORMAT, "%s.inbound_nodes: not a list", lp);
    w->nin[i] = 0;
    if (json_array_size(nodes) == 0)
        return RV_OK;
    if (json_array_size(nodes) > 1)
        return s_fail(c, RV_EFORMAT,
                      "layer '%s' (%s): called %zu times (shared layers are not supported)", name,
                      cls, json_array_size(nodes));
    const json_t *node = json_array_get(nodes, 0);
    if (!json_is_array(node))
        return s_fail(c, RV_EFORMAT,
                      "%s.inbound_nodes[0]: not a list of [name, 0, 0, {}] (the TensorFlow.js / "
                      "Keras 2 form)",
                      lp);
    if (json_array_size(node) > RV_CNN_MAX_INPUTS)
        return s_fail(c, RV_ELIMIT, "layer '%s' (%s): %zu inputs, at most %d", name, cls,
                      json_array_size(node), RV_CNN_MAX_INPUTS);
    for (size_t k = 0; k < json_array_size(node); k++) {
        const json_t *e = json_array_get(node, k);
        const char *src = json_string_value(json_array_get(e, 0));
        int ni = 0, ti = 0;
        const json_t *nv = json_array_get(e, 1), *tv = json_array_get(e, 2);
        if (!json_is_array(e) || !src || (nv && s_int_of(nv, &ni) != 0) ||
            (tv && s_int_of(tv, &ti) != 0))
            return s_fail(c, RV_EFORMAT, "%s.inbound_nodes[0][%zu]: not [name, 0, 0, {}]", lp, k);
        if (ni != 0 || ti != 0)
            return s_fail(c, RV_EFORMAT,
                          "layer '%s' (%s): input '%s' node %d tensor %d (only 0, 0 is "
                          "supported)",
                          name, cls, src, ni, ti);
        int j = -1;
        for (int m = 0; m < i && j < 0; m++) {
            const char *nm = json_string_value(
                json_object_get(json_array_get(layers, (size_t) m), "name"));
            if (nm && !strcmp(nm, src))
                j = m;
        }
        if (j < 0)
            return s_fail(c, RV_EFORMAT, "layer '%s' (%s): input '%s' is not an earlier layer",
                          name, cls, src);
        w->in[i][w->nin[i]++] = j;
        w->consumers[j]++;
    }
    return RV_OK;
}

/* The one input of a layer that takes one. */
static int s_one(const s_ctx_t *c, const s_walk_t *w, int i, const char *name, const char *cls)
{
    if (w->nin[i] != 1)
        return s_fail(c, RV_EFORMAT, "layer '%s' (%s): %d inputs, want 1", name, cls, w->nin[i]);
    return RV_OK;
}

/* Whether layer i's one input is a convolution whose output may still change (no ReLU yet,
 * no other consumer of what it outputs now). */
static int s_foldable(const s_ctx_t *c, const s_walk_t *w, const json_t *layers, int i,
                      const char *name, const char *cls, const char *what)
{
    int j = w->in[i][0], t = w->at[j];
    const char *src = json_string_value(json_object_get(json_array_get(layers, (size_t) j),
                                                        "name"));
    if (c->layers[t].op != RV_CNN_CONV)
        return s_fail(c, RV_EFORMAT, "layer '%s' (%s): its input '%s' is not a convolution (%s "
                      "only after a Conv2D)", name, cls, src, what);
    if (c->layers[t].relu)
        return s_fail(c, RV_EFORMAT, "layer '%s' (%s): its input '%s' has a ReLU already", name,
                      cls, src);
    if (w->consumers[j] != 1)
        return s_fail(c, RV_EFORMAT,
                      "layer '%s' (%s): '%s' has %d consumers up to the output layer (%s only "
                      "when it is the only one)",
                      name, cls, src, w->consumers[j], what);
    return RV_OK;
}

static int s_layers(s_ctx_t *c, const json_t *root, const char *output_layer, int *output)
{
    const json_t *topo = s_req(c, root, "(top)", "modelTopology");
    if (!topo)
        return RV_EFORMAT;
    char mp[64] = "modelTopology.model_config";
    const json_t *mc = json_object_get(topo, "model_config");
    if (!mc && json_object_get(topo, "config")) {
        mc = topo;
        snprintf(mp, sizeof mp, "modelTopology");
    } else if (!mc) {
        return s_fail(c, RV_EFORMAT, "modelTopology.model_config: missing");
    }
    const char *kind = s_req_str(c, mc, mp, "class_name");
    if (!kind)
        return RV_EFORMAT;
    if (strcmp(kind, "Model") != 0 && strcmp(kind, "Functional") != 0)
        return s_fail(c, RV_EFORMAT,
                      "%s.class_name: '%s' not supported (a functional Model only)", mp, kind);
    char cp[96];
    snprintf(cp, sizeof cp, "%s.config", mp);
    const json_t *config = s_req(c, mc, mp, "config");
    const json_t *layers = config ? s_req(c, config, cp, "layers") : NULL;
    if (!layers)
        return RV_EFORMAT;
    if (!json_is_array(layers))
        return s_fail(c, RV_EFORMAT, "%s.layers: not a list", cp);
    int out = -1;
    for (size_t i = 0; i < json_array_size(layers) && out < 0; i++) {
        const char *nm = json_string_value(json_object_get(json_array_get(layers, i), "name"));
        if (nm && !strcmp(nm, output_layer))
            out = (int) i;
    }
    if (out < 0)
        return s_fail(c, RV_EINVAL, "output layer '%s' not found among the %zu layers",
                      output_layer, json_array_size(layers));
    if (out >= MAX_KERAS_LAYERS)
        return s_fail(c, RV_ELIMIT, "output layer '%s' after more than %d layers", output_layer,
                      MAX_KERAS_LAYERS);
    s_walk_t w = {.n = out + 1};
    w.at = malloc((size_t) w.n * sizeof *w.at);
    w.nin = calloc((size_t) w.n, sizeof *w.nin);
    w.in = calloc((size_t) w.n, sizeof *w.in);
    w.consumers = calloc((size_t) w.n, sizeof *w.consumers);
    c->layers = calloc(RV_CNN_MAX_LAYERS, sizeof *c->layers);
    c->woff = calloc(RV_CNN_MAX_LAYERS, sizeof *c->woff);
    c->boff = calloc(RV_CNN_MAX_LAYERS, sizeof *c->boff);
    int rc = RV_OK;
    if (!w.at || !w.nin || !w.in || !w.consumers || !c->layers || !c->woff || !c->boff)
        rc = s_fail(c, RV_ENOMEM, "out of memory");
    char lp[128], lcp[160];
    /* names and inputs first: the consumers decide whether a BN or ReLU may fold */
    for (int i = 0; rc == RV_OK && i < w.n; i++) {
        const json_t *l = json_array_get(layers, (size_t) i);
        snprintf(lp, sizeof lp, "%s.layers[%d]", cp, i);
        const char *name = s_req_str(c, l, lp, "name"), *cls = s_req_str(c, l, lp, "class_name");
        if (!name || !cls)
            rc = RV_EFORMAT;
        else if (strlen(name) >= sizeof c->layers[0].name)
            rc = s_fail(c, RV_ELIMIT, "%s.name: '%s' longer than %zu characters", lp, name,
                        sizeof c->layers[0].name - 1);
        else
            rc = s_inbound(c, layers, &w, i, lp, name, cls);
        w.at[i] = -1;
    }
    for (int i = 0; rc == RV_OK && i < w.n; i++) {
        const json_t *l = json_array_get(layers, (size_t) i);
        snprintf(lp, sizeof lp, "%s.layers[%d]", cp, i);
        snprintf(lcp, sizeof lcp, "%s.config", lp);
        const char *name = json_string_value(json_object_get(l, "name"));
        const char *cls = json_string_value(json_object_get(l, "class_name"));
        const json_t *cfg = json_object_get(l, "config");
        int known = !strcmp(cls, "InputLayer") || !strcmp(cls, "Conv2D") ||
                    !strcmp(cls, "BatchNormalization") || !strcmp(cls, "Activation") ||
                    !strcmp(cls, "MaxPooling2D") || !strcmp(cls, "AveragePooling2D") ||
                    !strcmp(cls, "Concatenate");
        if (!known) {
            rc = s_fail(c, RV_EFORMAT, "layer '%s' (%s): not supported before the output layer",
                        name, cls);
            break;
        }
        if (!cfg) {
            rc = s_fail(c, RV_EFORMAT, "%s.config: missing", lp);
            break;
        }
        if (!json_is_object(cfg)) {
            rc = s_fail(c, RV_EFORMAT, "%s.config: not an object", lp);
            break;
        }
        if (strcmp(cls, "InputLayer") != 0 && w.nin[i] == 0) {
            rc = s_fail(c, RV_EFORMAT, "layer '%s' (%s): no input", name, cls);
            break;
        }
        int src = w.nin[i] ? w.at[w.in[i][0]] : -1;
        if (!strcmp(cls, "InputLayer")) {
            if (c->nlayers > 0) {
                rc = s_fail(c, RV_EFORMAT, "layer '%s' (InputLayer): a second input (one only)",
                            name);
                break;
            }
            const json_t *shape = json_object_get(cfg, "batch_input_shape");
            if (!shape)
                shape = json_object_get(cfg, "batch_shape");
            const json_t *ch = json_array_get(shape, json_array_size(shape) - 1);
            if (json_is_integer(ch) && json_integer_value(ch) != 3) {
                rc = s_fail(c, RV_EFORMAT, "layer '%s' (InputLayer): %lld channels, want 3", name,
                            (long long) json_integer_value(ch));
                break;
            }
            int k = s_emit(c, RV_CNN_INPUT, name);
            if (k < 0) {
                rc = RV_ELIMIT;
                break;
            }
            c->layers[k].cin = c->layers[k].cout = 3;
            w.at[i] = k;
        } else if (!strcmp(cls, "Conv2D")) {
            if ((rc = s_one(c, &w, i, name, cls)) == RV_OK &&
                (rc = s_conv(c, cfg, lcp, name, src)) == RV_OK)
                w.at[i] = c->nlayers - 1;
        } else if (!strcmp(cls, "BatchNormalization")) {
            if ((rc = s_one(c, &w, i, name, cls)) == RV_OK &&
                (rc = s_foldable(c, &w, layers, i, name, cls, "folded")) == RV_OK &&
                (rc = s_fold_bn(c, cfg, lcp, name, src)) == RV_OK)
                w.at[i] = src;
        } else if (!strcmp(cls, "Activation")) {
            const char *act = NULL;
            if ((rc = s_one(c, &w, i, name, cls)) == RV_OK &&
                (act = s_req_str(c, cfg, lcp, "activation")) == NULL)
                rc = RV_EFORMAT;
            if (rc == RV_OK && !strcmp(act, "linear")) {
                w.at[i] = src;
            } else if (rc == RV_OK && !strcmp(act, "relu")) {
                if ((rc = s_foldable(c, &w, layers, i, name, cls, "a ReLU")) == RV_OK) {
                    c->layers[src].relu = 1;
                    w.at[i] = src;
                }
            } else if (rc == RV_OK) {
                rc = s_fail(c, RV_EFORMAT,
                            "layer '%s' (Activation): '%s' not supported (relu or linear)", name,
                            act);
            }
        } else if (!strcmp(cls, "MaxPooling2D") || !strcmp(cls, "AveragePooling2D")) {
            int op = !strcmp(cls, "MaxPooling2D") ? RV_CNN_MAXPOOL : RV_CNN_AVGPOOL;
            if ((rc = s_one(c, &w, i, name, cls)) == RV_OK &&
                (rc = s_pool(c, op, cfg, lcp, name, src)) == RV_OK)
                w.at[i] = c->nlayers - 1;
        } else { /* Concatenate */
            if (w.nin[i] < 2) {
                rc = s_fail(c, RV_EFORMAT, "layer '%s' (Concatenate): %d inputs, want 2..%d",
                            name, w.nin[i], RV_CNN_MAX_INPUTS);
                break;
            }
            if ((rc = s_channel_axis(c, cfg, lcp, 1)) != RV_OK)
                break;
            int ch = 0;
            for (int k = 0; k < w.nin[i]; k++)
                ch += c->layers[w.at[w.in[i][k]]].cout;
            if (ch > MAX_CHANNELS) {
                rc = s_fail(c, RV_ELIMIT, "layer '%s' (Concatenate): %d channels (at most %d)",
                            name, ch, MAX_CHANNELS);
                break;
            }
            int k = s_emit(c, RV_CNN_CONCAT, name);
            if (k < 0) {
                rc = RV_ELIMIT;
                break;
            }
            rv_cnn_layer_t *cl = &c->layers[k];
            cl->ninputs = w.nin[i];
            for (int m = 0; m < w.nin[i]; m++)
                cl->inputs[m] = w.at[w.in[i][m]];
            cl->cin = cl->cout = ch;
            w.at[i] = k;
        }
    }
    if (rc == RV_OK)
        *output = w.at[out];
    free(w.at);
    free(w.nin);
    free(w.in);
    free(w.consumers);
    return rc;
}

/* ---- the whole -------------------------------------------------------------------- */

static void s_ctx_free(s_ctx_t *c)
{
    free(c->t);
    for (size_t g = 0; g < c->ngroups; g++)
        free(c->groups[g]);
    free(c->groups);
    free(c->store);
    free(c->layers);
    free(c->woff);
    free(c->boff);
}

ra_backbone_t *ra_backbone_load(const char *dir, const char *output_layer)
{
    if (!dir || !output_layer || !*output_layer) {
        rv_fail(RV_EINVAL, D, "no model directory or output layer given");
        return NULL;
    }
    if (sodium_init() < 0) {
        rv_fail(RV_EBACKEND, D, "libsodium failed to initialise");
        return NULL;
    }
    s_ctx_t c;
    memset(&c, 0, sizeof c);
    c.dir = dir;
    if (snprintf(c.file, sizeof c.file, "%s/model.json", dir) >= (int) sizeof c.file) {
        rv_fail(RV_EINVAL, D, "%s: path too long", dir);
        return NULL;
    }
    crypto_hash_sha256_init(&c.sha);
    uint8_t *text = NULL;
    size_t len = 0, cap = 0;
    json_t *root = NULL;
    ra_backbone_t *bb = NULL;
    int output = -1;
    int rc = s_read_append(c.file, &text, &len, &cap, MAX_JSON_BYTES, &c.sha);
    if (rc == RV_OK) {
        json_error_t err;
        root = json_loadb((const char *) text, len, 0, &err);
        if (!root)
            rc = s_fail(&c, RV_EFORMAT, "JSON syntax error at line %d, column %d: %s", err.line,
                        err.column, err.text);
        else if (!json_is_object(root))
            rc = s_fail(&c, RV_EFORMAT, "not a JSON object");
    }
    free(text);
    if (rc == RV_OK)
        rc = s_manifest(&c, root);
    if (rc == RV_OK)
        rc = s_layers(&c, root, output_layer, &output);
    if (rc == RV_OK) {
        bb = calloc(1, sizeof *bb);
        rv_cnn_layer_t *layers = realloc(c.layers, (size_t) c.nlayers * sizeof *layers);
        if (!bb || !layers) {
            free(bb);
            bb = NULL;
            s_fail(&c, RV_ENOMEM, "out of memory");
        } else {
            c.layers = NULL;
            bb->layers = layers;
            bb->nlayers = c.nlayers;
            bb->output = output;
            bb->store = c.store;
            c.store = NULL;
            for (int i = 0; i < bb->nlayers; i++) {
                layers[i].weights = c.woff[i] == NONE ? NULL : bb->store + c.woff[i];
                layers[i].bias = c.boff[i] == NONE ? NULL : bb->store + c.boff[i];
            }
            uint8_t digest[crypto_hash_sha256_BYTES];
            crypto_hash_sha256_final(&c.sha, digest);
            sodium_bin2hex(bb->sha256, sizeof bb->sha256, digest, sizeof digest);
        }
    }
    json_decref(root);
    s_ctx_free(&c);
    return bb;
}

void ra_backbone_free(ra_backbone_t **p)
{
    if (!p || !*p)
        return;
    free((*p)->layers);
    free((*p)->store);
    free(*p);
    *p = NULL;
}
