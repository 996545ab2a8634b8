/* test_cnn.c - rv_cnn.h: the network that OpenCV's dnn runs must compute what a plain C
 * reference written from TensorFlow's rules computes ("same" padding with the odd pixel
 * at the bottom and right, "valid" padding, max pooling that ignores the padding, average
 * pooling over the pixels inside the image only, concatenation in order, ReLU), on odd
 * input sizes and at two output layers, with random weights; the features of a view
 * (brightness normalised, flipped, global maximum per channel) against the reference; the
 * deep surface model on generated textures (goods against goods with a dark pit: every pit
 * above the k-fold threshold region, held-out scores and surprises); refusals of broken
 * graphs and parameters. */
#include "rs_test.h"
#include "rv/rv.h"
#include "rv/rv_cnn.h"
#include "rv/rv_surface.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t s_seed = 77;
static float s_randf(void) /* -1..1 */
{
    return (float) ((rs_rand(&s_seed) >> 11) * (1.0 / 9007199254740992.0) * 2 - 1);
}

/* ---- the reference ---------------------------------------------------------------- */

typedef struct {
    int c, h, w;
    float *v;
} blob_t;

static void s_pad(int n, int k, int s, int same, int *out, int *before)
{
    if (same) {
        *out = (n + s - 1) / s;
        int t = (*out - 1) * s + k - n;
        t = t > 0 ? t : 0;
        *before = t / 2;
    } else {
        *out = (n - k) / s + 1;
        *before = 0;
    }
}

static blob_t s_ref_layer(const rv_cnn_layer_t *l, const blob_t *in, int nin)
{
    blob_t o = {0, 0, 0, NULL};
    const blob_t *a = &in[0];
    if (l->op == RV_CNN_CONCAT) {
        o.h = a->h;
        o.w = a->w;
        for (int k = 0; k < nin; k++)
            o.c += in[k].c;
        o.v = malloc(sizeof(float) * (size_t) o.c * o.h * o.w);
        size_t off = 0;
        for (int k = 0; k < nin; k++) {
            size_t nk = (size_t) in[k].c * o.h * o.w;
            memcpy(o.v + off, in[k].v, nk * sizeof(float));
            off += nk;
        }
        return o;
    }
    int pt, pl;
    s_pad(a->h, l->kh, l->stride, l->same, &o.h, &pt);
    s_pad(a->w, l->kw, l->stride, l->same, &o.w, &pl);
    o.c = l->op == RV_CNN_CONV ? l->cout : a->c;
    o.v = malloc(sizeof(float) * (size_t) o.c * o.h * o.w);
    for (int c = 0; c < o.c; c++)
        for (int y = 0; y < o.h; y++)
            for (int x = 0; x < o.w; x++) {
                double acc = l->op == RV_CNN_MAXPOOL ? -INFINITY : 0;
                int cnt = 0;
                for (int i = 0; i < l->kh; i++)
                    for (int j = 0; j < l->kw; j++) {
                        int sy = y * l->stride + i - pt, sx = x * l->stride + j - pl;
                        if (sy < 0 || sy >= a->h || sx < 0 || sx >= a->w)
                            continue; /* zero padding, or not counted */
                        cnt++;
                        if (l->op == RV_CNN_CONV) {
                            for (int ci = 0; ci < l->cin; ci++)
                                acc += (double) l->weights[(((size_t) c * l->cin + ci) * l->kh +
                                                            i) * l->kw + j] *
                                       a->v[((size_t) ci * a->h + sy) * a->w + sx];
                        } else {
                            double v = a->v[((size_t) c * a->h + sy) * a->w + sx];
                            acc = l->op == RV_CNN_MAXPOOL ? (v > acc ? v : acc) : acc + v;
                        }
                    }
                if (l->op == RV_CNN_CONV) {
                    acc += l->bias ? l->bias[c] : 0;
                    if (l->relu && acc < 0)
                        acc = 0;
                } else if (l->op == RV_CNN_AVGPOOL) {
                    acc /= cnt;
                }
                o.v[((size_t) c * o.h + y) * o.w + x] = (float) acc;
            }
    return o;
}

static blob_t s_ref(const rv_cnn_layer_t *L, int output, const float *in, int h, int w)
{
    blob_t b[32];
    b[0].c = 3;
    b[0].h = h;
    b[0].w = w;
    b[0].v = malloc(sizeof(float) * 3 * (size_t) h * w);
    memcpy(b[0].v, in, sizeof(float) * 3 * (size_t) h * w);
    for (int i = 1; i <= output; i++) {
        blob_t ins[RV_CNN_MAX_INPUTS] = {{0, 0, 0, NULL}};
        for (int k = 0; k < L[i].ninputs; k++)
            ins[k] = b[L[i].inputs[k]];
        b[i] = s_ref_layer(&L[i], ins, L[i].ninputs);
    }
    for (int i = 0; i < output; i++)
        free(b[i].v);
    return b[output];
}

/* ---- a small random graph with every op ------------------------------------------- */

static float s_w[8][6 * 12 * 9], s_b[8][12];

static void s_conv(rv_cnn_layer_t *l, const char *name, int in, int cin, int cout, int kh,
                   int kw, int s, int same, int relu, int bias, int slot)
{
    memset(l, 0, sizeof *l);
    l->op = RV_CNN_CONV;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->ninputs = 1;
    l->inputs[0] = in;
    l->kh = kh;
    l->kw = kw;
    l->stride = s;
    l->same = same;
    l->cin = cin;
    l->cout = cout;
    for (int i = 0; i < cout * cin * kh * kw; i++)
        s_w[slot][i] = s_randf() * 0.5f;
    for (int i = 0; i < cout; i++)
        s_b[slot][i] = s_randf() * 0.2f;
    l->weights = s_w[slot];
    l->bias = bias ? s_b[slot] : NULL;
    l->relu = relu;
}

static void s_pool(rv_cnn_layer_t *l, const char *name, int op, int in, int k, int s, int same)
{
    memset(l, 0, sizeof *l);
    l->op = op;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->ninputs = 1;
    l->inputs[0] = in;
    l->kh = l->kw = k;
    l->stride = s;
    l->same = same;
}

static void s_cat(rv_cnn_layer_t *l, const char *name, int a, int b, int c)
{
    memset(l, 0, sizeof *l);
    l->op = RV_CNN_CONCAT;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->ninputs = c >= 0 ? 3 : 2;
    l->inputs[0] = a;
    l->inputs[1] = b;
    l->inputs[2] = c;
}

enum { N_LAYERS = 10, L_MID = 6, L_OUT = 9 };

static void s_graph(rv_cnn_layer_t *L)
{
    memset(&L[0], 0, sizeof L[0]);
    L[0].op = RV_CNN_INPUT;
    snprintf(L[0].name, sizeof L[0].name, "input");
    s_conv(&L[1], "a", 0, 3, 5, 3, 3, 2, 0, 1, 0, 0);       /* 3x3 s2 valid, ReLU */
    s_conv(&L[2], "b", 1, 5, 4, 1, 3, 1, 1, 0, 1, 1);       /* 1x3 same, bias */
    s_pool(&L[3], "c", RV_CNN_MAXPOOL, 1, 3, 2, 1);         /* max 3x3 s2 same */
    s_pool(&L[4], "d", RV_CNN_AVGPOOL, 1, 3, 1, 1);         /* avg 3x3 s1 same */
    s_conv(&L[5], "e", 1, 5, 3, 3, 1, 1, 1, 1, 1, 2);       /* 3x1 same, ReLU */
    s_cat(&L[6], "f", 2, 4, 5);                             /* 4 + 5 + 3 = 12 */
    s_conv(&L[7], "g", 6, 12, 6, 2, 2, 2, 1, 1, 1, 3);      /* 2x2 s2 same */
    s_cat(&L[8], "h", 3, 7, -1);                            /* 5 + 6 = 11 */
    s_pool(&L[9], "i", RV_CNN_MAXPOOL, 8, 3, 2, 0);         /* max 3x3 s2 valid */
}

static double s_compare(rv_cnn_t *net, const rv_cnn_layer_t *L, int output, int h, int w)
{
    float *in = malloc(sizeof(float) * 3 * (size_t) h * w);
    for (int i = 0; i < 3 * h * w; i++)
        in[i] = s_randf();
    blob_t r = s_ref(L, output, in, h, w);
    size_t n = (size_t) r.c * r.h * r.w;
    float *out = malloc(sizeof(float) * (n + 1));
    int dims[3] = {0, 0, 0};
    int rc = rv_cnn_forward(net, in, h, w, out, n, dims);
    RS_CHECKF(rc == RV_OK, "%dx%d: %s", w, h, rv_last_error());
    RS_CHECKF(dims[0] == r.c && dims[1] == r.h && dims[2] == r.w,
              "%dx%d: dims %d %d %d, reference %d %d %d", w, h, dims[0], dims[1], dims[2], r.c,
              r.h, r.w);
    double worst = rc ? INFINITY : 0;
    for (size_t i = 0; !rc && i < n; i++) {
        double e = fabs(out[i] - r.v[i]) / (1 + fabs(r.v[i]));
        worst = e > worst ? e : worst;
    }
    /* a short buffer is refused and says how much is needed */
    if (n > 1)
        RS_CHECK(rv_cnn_forward(net, in, h, w, out, n - 1, dims) == RV_EINVAL);
    free(in);
    free(out);
    free(r.v);
    return worst;
}

static void test_forward(void)
{
    rv_cnn_layer_t L[N_LAYERS];
    s_graph(L);
    rv_cnn_t *net = rv_cnn_new(L, N_LAYERS, L_OUT);
    RS_CHECKF(net != NULL, "%s", rv_last_error());
    rv_cnn_t *mid = rv_cnn_new(L, N_LAYERS, L_MID);
    RS_CHECKF(mid != NULL, "%s", rv_last_error());
    if (!net || !mid)
        return;
    RS_CHECK_EQ(rv_cnn_channels(net), 11);
    RS_CHECK_EQ(rv_cnn_channels(mid), 12);
    const int sizes[][2] = {{23, 31}, {17, 17}, {40, 29}, {13, 11}, {64, 33}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        double e1 = s_compare(net, L, L_OUT, sizes[k][0], sizes[k][1]);
        double e2 = s_compare(mid, L, L_MID, sizes[k][0], sizes[k][1]);
        RS_CHECKF(e1 < 1e-5 && e2 < 1e-5, "%dx%d: largest relative difference %g / %g",
                  sizes[k][1], sizes[k][0], e1, e2);
    }
    /* an input too small for the valid pooling at the end: an error, not a crash */
    {
        float in[3 * 12 * 9] = {0}, out[64];
        int dims[3];
        RS_CHECK(rv_cnn_forward(net, in, 12, 9, out, 64, dims) == RV_EBACKEND);
        RS_CHECK(rv_cnn_forward(net, in, 0, 9, out, 64, dims) == RV_EINVAL);
        RS_CHECK(rv_cnn_forward(net, in, 5000, 9, out, 64, dims) == RV_EINVAL);
        RS_CHECK_MSG(rv_last_error(), "9x5000");
    }
    /* the features: brightness to median 128, [-1, 1], flipped, three planes, global max */
    enum { S = 37 };
    uint8_t px[S * S];
    for (int i = 0; i < S * S; i++)
        px[i] = (uint8_t) (60 + (rs_rand(&s_seed) >> 58) + (i % S) / 2);
    rv_view_t v;
    RS_CHECK(rv_view_wrap(px, S, S, S, RV_GRAY8, &v) == RV_OK);
    uint8_t sorted[S * S];
    memcpy(sorted, px, sizeof px);
    for (int i = 1; i < S * S; i++) /* insertion sort: the median */
        for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            uint8_t t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    double gain = 128.0 / (sorted[S * S / 2] + 1.0);
    for (int flip = 0; flip < 4; flip++) {
        float in[3 * S * S];
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                int sy = flip & 2 ? S - 1 - y : y, sx = flip & 1 ? S - 1 - x : x;
                float f = (float) (px[sy * S + sx] * gain / 127.5 - 1.0);
                in[y * S + x] = in[S * S + y * S + x] = in[2 * S * S + y * S + x] = f;
            }
        blob_t r = s_ref(L, L_OUT, in, S, S);
        float feat[11];
        int rc = rv_cnn_features(net, &v, S, flip, feat);
        RS_CHECKF(rc == RV_OK, "%s", rv_last_error());
        double worst = 0;
        for (int c = 0; c < r.c && !rc; c++) {
            float m = -INFINITY;
            for (int i = 0; i < r.h * r.w; i++)
                m = r.v[(size_t) c * r.h * r.w + i] > m ? r.v[(size_t) c * r.h * r.w + i] : m;
            double e = fabs(feat[c] - m) / (1 + fabs(m));
            worst = e > worst ? e : worst;
        }
        RS_CHECKF(worst < 1e-5, "flip %d: features differ by %g", flip, worst);
        free(r.v);
    }
    RS_CHECK(rv_cnn_features(net, &v, 31, 0, NULL) == RV_EINVAL);
    RS_CHECK(rv_cnn_features(net, &v, 8, 0, (float[11]){0}) == RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "input size 8");
    rv_cnn_destroy(&net);
    rv_cnn_destroy(&mid);
    RS_CHECK(net == NULL);
    rv_cnn_destroy(&net); /* idempotent */
}

static void test_refusals(void)
{
    rv_cnn_layer_t L[N_LAYERS];
    s_graph(L);
    L[7].cin = 11; /* 12 channels arrive */
    RS_CHECK(rv_cnn_new(L, N_LAYERS, L_OUT) == NULL);
    RS_CHECK_MSG(rv_last_error(), "'g'");
    RS_CHECK_MSG(rv_last_error(), "12 input channels arrive");
    s_graph(L);
    L[5].inputs[0] = 7; /* a later layer */
    RS_CHECK(rv_cnn_new(L, N_LAYERS, L_OUT) == NULL);
    RS_CHECK_MSG(rv_last_error(), "not an earlier layer");
    s_graph(L);
    L[3].kh = 40;
    RS_CHECK(rv_cnn_new(L, N_LAYERS, L_OUT) == NULL);
    RS_CHECK_MSG(rv_last_error(), "kernel 40x3");
    s_graph(L);
    RS_CHECK(rv_cnn_new(L, N_LAYERS, N_LAYERS) == NULL);
    RS_CHECK_MSG(rv_last_error(), "output layer 10");
    RS_CHECK(rv_cnn_new(L, N_LAYERS, 0) == NULL);
    L[0].op = RV_CNN_CONV;
    RS_CHECK(rv_cnn_new(L, N_LAYERS, L_OUT) == NULL);
    RS_CHECK_MSG(rv_last_error(), "not the input");
    s_graph(L);
    L[6].ninputs = 1;
    RS_CHECK(rv_cnn_new(L, N_LAYERS, L_OUT) == NULL);
    RS_CHECK_MSG(rv_last_error(), "1 inputs");
    /* a layer that does not feed the output is not built: a broken one there is ignored
     * only when it lies after the output */
    s_graph(L);
    L[9].kh = 99;
    rv_cnn_t *ok = rv_cnn_new(L, N_LAYERS, L_MID);
    RS_CHECKF(ok != NULL, "%s", rv_last_error());
    rv_cnn_destroy(&ok);
}

/* ---- the deep model on generated textures ---------------------------------------- */

/* A 64 x 64 ground texture: vertical streaks, a light gradient, noise; pit > 0: a dark
 * round pit of that radius at a random place. */
static void s_texture(uint8_t *px, int pit, uint32_t seed)
{
    uint64_t st = seed * 2654435761u + 1;
    double phase = (rs_rand(&st) >> 40) / 16777216.0 * 6.28, g = (rs_rand(&st) >> 40) / 16777216.0;
    int cx = 12 + (int) (rs_rand(&st) % 40), cy = 12 + (int) (rs_rand(&st) % 40);
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++) {
            double v = 130 + 12 * sin(x * 1.3 + phase) + 20 * g * (y - 32) / 32.0 +
                       (double) (rs_rand(&st) >> 60) - 8;
            if (pit && (x - cx) * (x - cx) + (y - cy) * (y - cy) <= pit * pit)
                v -= 70;
            px[y * 64 + x] = (uint8_t) (v < 0 ? 0 : v > 255 ? 255 : v);
        }
}

/* The random network the deep-model tests share (seed 4242), its layers in L. */
static rv_cnn_t *s_seeded_net(rv_cnn_layer_t L[N_LAYERS])
{
    s_seed = 4242;
    s_graph(L);
    rv_cnn_t *net = rv_cnn_new(L, N_LAYERS, L_OUT);
    RS_CHECKF(net != NULL, "%s", rv_last_error());
    return net;
}

static void test_deep_model(void)
{
    rv_cnn_layer_t L[N_LAYERS];
    rv_cnn_t *net = s_seeded_net(L);
    if (!net)
        return;
    enum { NTRAIN = 40, NTEST = 20 };
    static uint8_t good[NTRAIN][64 * 64], tg[NTEST][64 * 64], tb[NTEST][64 * 64];
    rv_view_t views[NTRAIN];
    for (int i = 0; i < NTRAIN; i++) {
        s_texture(good[i], 0, (uint32_t) i + 1);
        rv_view_wrap(good[i], 64, 64, 64, RV_GRAY8, &views[i]);
    }
    rv_deep_params_t p;
    rv_deep_params_default(&p);
    RS_CHECK(p.size == 224 && p.flips == 0 && p.folds == 5);
    p.flips = 1; /* the flipped goods too: four vectors per good */
    p.size = 64;
    rv_deep_model_t *m = rv_deep_model_train(net, views, NTRAIN, &p);
    RS_CHECKF(m != NULL, "%s", rv_last_error());
    if (!m) {
        rv_cnn_destroy(&net);
        return;
    }
    size_t nh = 0;
    const float *held = rv_deep_model_heldout(m, &nh);
    RS_CHECK(held != NULL && nh == NTRAIN);
    double thr = rv_deep_model_threshold(m);
    RS_CHECK(isfinite(thr) && thr > 0);
    /* the threshold is the held-out score of rank rv_fa_rank (40 goods, 2 %: the largest) */
    float mx = 0;
    for (size_t i = 0; i < nh; i++)
        mx = held[i] > mx ? held[i] : mx;
    RS_CHECK(fabs(thr - mx) < 1e-6);
    double sg[NTEST], sb[NTEST];
    for (int i = 0; i < NTEST; i++) {
        rv_view_t a, b;
        s_texture(tg[i], 0, 1000u + (uint32_t) i);
        s_texture(tb[i], 4, 2000u + (uint32_t) i);
        rv_view_wrap(tg[i], 64, 64, 64, RV_GRAY8, &a);
        rv_view_wrap(tb[i], 64, 64, 64, RV_GRAY8, &b);
        RS_CHECK(rv_deep_model_score(m, net, &a, &sg[i]) == RV_OK);
        RS_CHECK(rv_deep_model_score(m, net, &b, &sb[i]) == RV_OK);
    }
    /* AUROC of pits against unseen goods */
    double wins = 0;
    for (int i = 0; i < NTEST; i++)
        for (int j = 0; j < NTEST; j++)
            wins += sb[i] > sg[j] ? 1 : sb[i] == sg[j] ? 0.5 : 0;
    double auroc = wins / (NTEST * NTEST);
    printf("deep model, random network: pits against unseen goods AUROC %.3f\n", auroc);
    RS_CHECKF(auroc >= 0.9, "AUROC %.3f", auroc);
    /* surprises: rise with the score, own-judged ones as rv_surprise says */
    RS_CHECK(rv_deep_model_surprise(m, thr * 2) > rv_deep_model_surprise(m, thr));
    RS_CHECK(rv_deep_model_surprise(m, 0) < 0.05);
    float asc[NTRAIN];
    memcpy(asc, held, sizeof asc);
    for (int i = 1; i < NTRAIN; i++)
        for (int j = i; j > 0 && asc[j - 1] > asc[j]; j--) {
            float t = asc[j];
            asc[j] = asc[j - 1];
            asc[j - 1] = t;
        }
    /* the held-out median: 20 of 40 at or above it; a new score there 21 of 41 */
    RS_CHECK(fabs(rv_deep_model_surprise_own(m, asc[20]) - log(2.0)) < 1e-6);
    RS_CHECK(fabs(rv_deep_model_surprise(m, asc[20]) - log(41.0 / 21.0)) < 1e-6);
    /* a network with another feature count is refused */
    rv_cnn_t *mid = rv_cnn_new(L, N_LAYERS, L_MID);
    double s = 0;
    RS_CHECK(rv_deep_model_score(m, mid, &views[0], &s) == RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "12 features");
    rv_cnn_destroy(&mid);
    rv_deep_model_destroy(&m);
    RS_CHECK(m == NULL);
    /* parameters and too few views */
    p.shrink = 0;
    RS_CHECK(rv_deep_model_train(net, views, NTRAIN, &p) == NULL);
    RS_CHECK_MSG(rv_last_error(), "shrink");
    rv_deep_params_default(&p);
    RS_CHECK(rv_deep_model_train(net, views, 1, &p) == NULL);
    /* fewer goods than folds: a model, no threshold */
    p.size = 64;
    m = rv_deep_model_train(net, views, 3, &p);
    RS_CHECKF(m != NULL, "%s", rv_last_error());
    RS_CHECK(isinf(rv_deep_model_threshold(m)) && rv_deep_model_heldout(m, NULL) == NULL);
    rv_deep_model_destroy(&m);
    rv_cnn_destroy(&net);
}

static double s_median(const float *v, size_t n)
{
    float t[64];
    memcpy(t, v, n * sizeof *t);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && t[j - 1] > t[j]; j--) {
            float x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* Three photographs of each of 12 goods (exposures 0, +6, -6): held out one by one, a good
 * whose twins trained scores as if seen; with its group named it is judged unseen. */
static void test_deep_twins(void)
{
    rv_cnn_layer_t L[N_LAYERS];
    rv_cnn_t *net = s_seeded_net(L);
    if (!net)
        return;
    enum { OBJ = 12, PER = 3, N = OBJ * PER };
    static uint8_t px[N][64 * 64];
    rv_view_t views[N];
    int group[N];
    for (int i = 0; i < N; i++) {
        int obj = i % OBJ, shot = i / OBJ; /* twins far apart: i % 5 folds would split them */
        s_texture(px[i], 0, 500u + (uint32_t) obj);
        for (int q = 0; q < 64 * 64; q++) {
            int v = px[i][q] + (shot == 1 ? 6 : shot == 2 ? -6 : 0);
            px[i][q] = (uint8_t) (v < 0 ? 0 : v > 255 ? 255 : v);
        }
        rv_view_wrap(px[i], 64, 64, 64, RV_GRAY8, &views[i]);
        group[i] = 100 + obj;
    }
    rv_deep_params_t p;
    rv_deep_params_default(&p);
    p.size = 64;
    rv_deep_model_t *leaky = rv_deep_model_train(net, views, N, &p);
    rv_deep_model_t *grouped = rv_deep_model_train_groups(net, views, N, group, &p);
    RS_CHECKF(leaky && grouped, "%s", rv_last_error());
    if (leaky && grouped) {
        size_t n1 = 0, n2 = 0;
        const float *h1 = rv_deep_model_heldout(leaky, &n1), *h2 = rv_deep_model_heldout(grouped, &n2);
        RS_CHECK(h1 && h2 && n1 == N && n2 == N);
        double m1 = s_median(h1, n1), m2 = s_median(h2, n2);
        printf("deep model, 12 goods photographed 3 times: held-out median %.2f with twins "
               "in training, %.2f with each good's photographs held out together\n",
               m1, m2);
        RS_CHECKF(m2 > 1.25 * m1, "grouped held-out median %.3f, leaky %.3f", m2, m1);
        RS_CHECK(rv_deep_model_threshold(grouped) > rv_deep_model_threshold(leaky));
    }
    rv_deep_model_destroy(&leaky);
    rv_deep_model_destroy(&grouped);
    rv_cnn_destroy(&net);
}

int main(void)
{
    rv_init();
    test_forward();
    test_refusals();
    test_deep_model();
    test_deep_twins();
    return rs_test_end("test_cnn");
}
