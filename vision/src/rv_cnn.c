/* rv_cnn.c - a network's features and the deep surface model (see rv_cnn.h). The
 * network itself runs in the OpenCV shim (cv/rv_cv_net.cpp). */
#include "rv/rv_cnn.h"
#include "rv/rv_error.h"
#include "rv/rv_surface.h"
#include "cv/rv_cv.h"
#include "rv_linalg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DOMAIN "rv_cnn"

struct rv_cnn {
    rv_cv_net_t *net;
    int channels; /* of the output layer */
    float *in;    /* scratch: the input planes of the last size */
    float *out;   /* scratch: the output */
    size_t in_cap, out_cap;
};

/* ---- the network ------------------------------------------------------------------ */

static int s_check(const rv_cnn_layer_t *L, int n, int output, int *chan)
{
    if (!L || n < 2 || n > RV_CNN_MAX_LAYERS)
        return rv_fail(RV_EINVAL, DOMAIN, "%d layers: need 2..%d", n, RV_CNN_MAX_LAYERS);
    if (output < 1 || output >= n)
        return rv_fail(RV_EINVAL, DOMAIN, "output layer %d outside 1..%d", output, n - 1);
    if (L[0].op != RV_CNN_INPUT)
        return rv_fail(RV_EINVAL, DOMAIN, "layer 0 ('%s') is not the input", L[0].name);
    chan[0] = 3;
    for (int i = 1; i <= output; i++) {
        const rv_cnn_layer_t *l = &L[i];
        int want = l->op == RV_CNN_CONCAT ? -1 : 1;
        if (l->op == RV_CNN_INPUT || l->op < 0 || l->op > RV_CNN_CONCAT)
            return rv_fail(RV_EINVAL, DOMAIN, "layer %d ('%.63s'): op %d", i, l->name, l->op);
        if ((want > 0 && l->ninputs != 1) ||
            (want < 0 && (l->ninputs < 2 || l->ninputs > RV_CNN_MAX_INPUTS)))
            return rv_fail(RV_EINVAL, DOMAIN, "layer %d ('%.63s'): %d inputs", i, l->name,
                           l->ninputs);
        int c = 0;
        for (int k = 0; k < l->ninputs; k++) {
            if (l->inputs[k] < 0 || l->inputs[k] >= i)
                return rv_fail(RV_EINVAL, DOMAIN,
                               "layer %d ('%.63s'): input %d is not an earlier layer", i,
                               l->name, l->inputs[k]);
            c += chan[l->inputs[k]];
        }
        if (l->op != RV_CNN_CONCAT &&
            (l->kh < 1 || l->kh > 16 || l->kw < 1 || l->kw > 16 || l->stride < 1 ||
             l->stride > 16))
            return rv_fail(RV_EINVAL, DOMAIN, "layer %d ('%.63s'): kernel %dx%d, stride %d", i,
                           l->name, l->kh, l->kw, l->stride);
        if (l->op == RV_CNN_CONV) {
            if (l->cin != c || l->cout < 1 || l->cout > 4096 || !l->weights)
                return rv_fail(RV_EINVAL, DOMAIN,
                               "layer %d ('%.63s'): %d input channels arrive, it takes %d "
                               "(out %d)",
                               i, l->name, c, l->cin, l->cout);
            c = l->cout;
        }
        if (c > 16384)
            return rv_fail(RV_EINVAL, DOMAIN, "layer %d ('%.63s'): %d channels", i, l->name, c);
        chan[i] = c;
    }
    return RV_OK;
}

rv_cnn_t *rv_cnn_new(const rv_cnn_layer_t *layers, int n, int output)
{
    int *chan = malloc(sizeof(int) * (size_t) (n > 0 && n <= RV_CNN_MAX_LAYERS ? n : 1));
    if (!chan) {
        rv_fail(RV_ENOMEM, DOMAIN, "no memory");
        return NULL;
    }
    if (s_check(layers, n, output, chan)) {
        free(chan);
        return NULL;
    }
    rv_cnn_t *self = calloc(1, sizeof *self);
    if (!self) {
        free(chan);
        rv_fail(RV_ENOMEM, DOMAIN, "no memory");
        return NULL;
    }
    self->channels = chan[output];
    free(chan);
    self->net = rv_cv_net_new(layers, n, output);
    if (!self->net) {
        free(self);
        return NULL;
    }
    return self;
}

void rv_cnn_destroy(rv_cnn_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rv_cnn_t *self = *self_p;
    rv_cv_net_free(&self->net);
    free(self->in);
    free(self->out);
    free(self);
    *self_p = NULL;
}

int rv_cnn_channels(const rv_cnn_t *self)
{
    return self ? self->channels : 0;
}

int rv_cnn_forward(rv_cnn_t *self, const float *in, int h, int w, float *out, size_t cap,
                   int dims[3])
{
    if (!self)
        return rv_fail(RV_EINVAL, DOMAIN, "no network");
    if (h < 1 || w < 1 || h > 4096 || w > 4096)
        return rv_fail(RV_EINVAL, DOMAIN, "input %dx%d: need 1..4096 a side", w, h);
    return rv_cv_net_forward(self->net, in, h, w, out, cap, dims);
}

static int s_grow(float **buf, size_t *cap, size_t need)
{
    if (*cap >= need)
        return RV_OK;
    float *b = realloc(*buf, need * sizeof *b);
    if (!b)
        return rv_fail(RV_ENOMEM, DOMAIN, "no memory for %zu floats", need);
    *buf = b;
    *cap = need;
    return RV_OK;
}

static int s_cmp_u8(const void *a, const void *b)
{
    return (int) *(const uint8_t *) a - (int) *(const uint8_t *) b;
}

int rv_cnn_features(rv_cnn_t *self, const rv_view_t *gray, int size, int flip, float *feat)
{
    if (!self || !gray || !gray->data || gray->fmt != RV_GRAY8 || !feat)
        return rv_fail(RV_EINVAL, DOMAIN, "need a network, a GRAY8 view and a feature buffer");
    if (size < 32 || size > 1024)
        return rv_fail(RV_EINVAL, DOMAIN, "input size %d: need 32..1024", size);
    if (gray->width < 1 || gray->height < 1)
        return rv_fail(RV_EINVAL, DOMAIN, "empty view");
    size_t plane = (size_t) size * (size_t) size;
    int rc = s_grow(&self->in, &self->in_cap, 3 * plane);
    if (rc)
        return rc;
    float *p = self->in;
    rc = rv_cv_resize_gray_f32(gray, size, size, p);
    if (rc)
        return rc;
    /* the median brightness of the view (of up to 4096 pixels on a grid) becomes 128 */
    uint8_t smp[4096];
    int step = 1, ns = 0;
    while ((size_t) (gray->width / step + 1) * (size_t) (gray->height / step + 1) > 4096)
        step++;
    for (int y = 0; y < gray->height && ns < 4096; y += step) {
        const uint8_t *row = rv_view_row(gray, y);
        for (int x = 0; x < gray->width && ns < 4096; x += step)
            smp[ns++] = row[x];
    }
    qsort(smp, (size_t) ns, 1, s_cmp_u8);
    double gain = 128.0 / ((double) smp[ns / 2] + 1.0);
    /* to [-1, 1] (x / 127.5 - 1), flipped, into three planes */
    for (int y = 0; y < size; y++) {
        int sy = flip & 2 ? size - 1 - y : y;
        for (int x = 0; x < size; x++) {
            int sx = flip & 1 ? size - 1 - x : x;
            self->in[plane + (size_t) y * size + x] =
                (float) (p[(size_t) sy * size + sx] * gain / 127.5 - 1.0);
        }
    }
    memcpy(self->in, self->in + plane, plane * sizeof(float));
    memcpy(self->in + 2 * plane, self->in + plane, plane * sizeof(float));
    int dims[3] = {0, 0, 0};
    rc = rv_cv_net_forward(self->net, self->in, size, size, self->out, self->out_cap, dims);
    if (rc == RV_EINVAL && self->out_cap < (size_t) dims[0] * dims[1] * dims[2]) {
        rc = s_grow(&self->out, &self->out_cap, (size_t) dims[0] * dims[1] * dims[2]);
        if (!rc)
            rc = rv_cv_net_forward(self->net, self->in, size, size, self->out,
                                   self->out_cap, dims);
    }
    if (rc)
        return rc;
    size_t hw = (size_t) dims[1] * dims[2];
    for (int c = 0; c < dims[0]; c++) {
        const float *o = self->out + (size_t) c * hw;
        float m = o[0];
        for (size_t i = 1; i < hw; i++)
            m = o[i] > m ? o[i] : m;
        feat[c] = m;
    }
    return RV_OK;
}

/* ---- the deep surface model -------------------------------------------------------- */

struct rv_deep_model {
    rv_deep_params_t p;
    int d;
    double *mean; /* d */
    double *w;    /* d x d whitening, lower triangular */
    float *held;  /* n held-out scores in training order, and sorted */
    float *held_sorted;
    size_t nheld;
    double threshold;
};

void rv_deep_params_default(rv_deep_params_t *p)
{
    p->size = 224;
    p->flips = 0;
    p->shrink = 0.1;
    p->folds = 5;
    p->fa = 0.02;
}

void rv_deep_model_destroy(rv_deep_model_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rv_deep_model_t *m = *self_p;
    free(m->mean);
    free(m->w);
    free(m->held);
    free(m->held_sorted);
    free(m);
    *self_p = NULL;
}

/* Mean and shrunk covariance of the rows of X (nr x d) whose image (row / per) is used,
 * then the whitening matrix into m. */
static int s_fit(rv_deep_model_t *m, const float *X, size_t nr, int per, const int *fold,
                 int skip)
{
    int d = m->d;
    double *cov = calloc((size_t) d * d, sizeof *cov);
    double *L = malloc((size_t) d * d * sizeof *L);
    if (!cov || !L) {
        free(cov);
        free(L);
        return rv_fail(RV_ENOMEM, DOMAIN, "no memory for a %dx%d covariance", d, d);
    }
    size_t cnt = 0;
    memset(m->mean, 0, (size_t) d * sizeof *m->mean);
    for (size_t r = 0; r < nr; r++) {
        if (fold[r / (size_t) per] == skip)
            continue;
        for (int a = 0; a < d; a++)
            m->mean[a] += X[r * d + a];
        cnt++;
    }
    for (int a = 0; a < d; a++)
        m->mean[a] /= (double) cnt;
    double *e = malloc((size_t) d * sizeof *e);
    if (!e) {
        free(cov);
        free(L);
        return rv_fail(RV_ENOMEM, DOMAIN, "no memory");
    }
    for (size_t r = 0; r < nr; r++) {
        if (fold[r / (size_t) per] == skip)
            continue;
        for (int a = 0; a < d; a++)
            e[a] = X[r * d + a] - m->mean[a];
        for (int a = 0; a < d; a++) {
            double ea = e[a];
            double *row = cov + (size_t) a * d;
            for (int b = 0; b <= a; b++)
                row[b] += ea * e[b];
        }
    }
    double tr = 0;
    for (int a = 0; a < d; a++) {
        for (int b = 0; b <= a; b++) {
            double v = cov[(size_t) a * d + b] / (double) (cnt > 1 ? cnt - 1 : 1);
            cov[(size_t) a * d + b] = cov[(size_t) b * d + a] = v;
        }
        tr += cov[(size_t) a * d + a];
    }
    double s = m->p.shrink, iso = tr / d > 0 ? tr / d : 1e-6;
    for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++)
            cov[(size_t) a * d + b] = (1 - s) * cov[(size_t) a * d + b] + (a == b ? s * iso : 0);
    int rc = rv_linalg_whiten(cov, d, L, m->w, DOMAIN);
    free(e);
    free(cov);
    free(L);
    return rc;
}

static double s_distance(const rv_deep_model_t *m, const float *x, double *e)
{
    int d = m->d;
    for (int a = 0; a < d; a++)
        e[a] = x[a] - m->mean[a];
    double q = 0;
    for (int i = 0; i < d; i++) {
        const double *row = m->w + (size_t) i * d;
        double z = 0;
        for (int k = 0; k <= i; k++)
            z += row[k] * e[k];
        q += z * z;
    }
    return sqrt(q);
}

static int s_cmp_float(const void *a, const void *b)
{
    float x = *(const float *) a, y = *(const float *) b;
    return (x > y) - (x < y);
}

rv_deep_model_t *rv_deep_model_train(rv_cnn_t *cnn, const rv_view_t *views, size_t n,
                                     const rv_deep_params_t *p)
{
    return rv_deep_model_train_groups(cnn, views, n, NULL, p);
}

rv_deep_model_t *rv_deep_model_train_groups(rv_cnn_t *cnn, const rv_view_t *views, size_t n,
                                            const int *group, const rv_deep_params_t *p)
{
    rv_deep_params_t dp;
    if (p)
        dp = *p;
    else
        rv_deep_params_default(&dp);
    if (!cnn || !views || n < 2) {
        rv_fail(RV_EINVAL, DOMAIN, "need a network and 2 or more good views (%zu)", n);
        return NULL;
    }
    if (dp.size < 32 || dp.size > 1024 || dp.flips < 0 || dp.flips > 1 ||
        !(dp.shrink > 0 && dp.shrink <= 1) || dp.folds < 2 || dp.folds > 20 ||
        !(dp.fa > 0 && dp.fa <= 0.5)) {
        rv_fail(RV_EINVAL, DOMAIN,
                "parameters out of range (size 32..1024, flips 0..1, shrink (0, 1], folds "
                "2..20, fa (0, 0.5])");
        return NULL;
    }
    rv_deep_model_t *m = calloc(1, sizeof *m);
    int per = dp.flips ? 4 : 1, d = rv_cnn_channels(cnn);
    size_t nr = n * (size_t) per;
    float *X = m ? malloc(nr * (size_t) d * sizeof *X) : NULL;
    int *fold = m ? malloc(n * sizeof *fold) : NULL;
    double *e = m ? malloc((size_t) d * sizeof *e) : NULL;
    if (m) {
        m->p = dp;
        m->d = d;
        m->mean = malloc((size_t) d * sizeof *m->mean);
        m->w = malloc((size_t) d * d * sizeof *m->w);
    }
    if (!m || !X || !fold || !e || !m->mean || !m->w) {
        rv_fail(RV_ENOMEM, DOMAIN, "no memory for %zu views of %d features", n, d);
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        for (int f = 0; f < per; f++)
            if (rv_cnn_features(cnn, &views[i], dp.size, f, X + (i * per + f) * (size_t) d))
                goto fail;
    /* k-fold: each good scored (unflipped) by a Gaussian fitted without it and its flips */
    int folds = n >= (size_t) dp.folds ? rv_folds(group, n, dp.folds, fold) : 0;
    if (folds < 0)
        goto fail;
    if (folds) {
        m->held = malloc(n * sizeof *m->held);
        m->held_sorted = malloc(n * sizeof *m->held_sorted);
        if (!m->held || !m->held_sorted) {
            rv_fail(RV_ENOMEM, DOMAIN, "no memory");
            goto fail;
        }
        for (int k = 0; k < folds; k++) {
            if (s_fit(m, X, nr, per, fold, k))
                goto fail;
            for (size_t i = 0; i < n; i++)
                if (fold[i] == k)
                    m->held[i] = (float) s_distance(m, X + i * per * (size_t) d, e);
        }
        memcpy(m->held_sorted, m->held, n * sizeof *m->held);
        qsort(m->held_sorted, n, sizeof *m->held_sorted, s_cmp_float);
        m->nheld = n;
        m->threshold = m->held_sorted[rv_fa_rank(n, dp.fa) - 1];
    } else {
        m->threshold = INFINITY;
    }
    for (size_t i = 0; i < n; i++)
        fold[i] = 0;
    if (s_fit(m, X, nr, per, fold, -1))
        goto fail;
    free(X);
    free(fold);
    free(e);
    return m;
fail:
    free(X);
    free(fold);
    free(e);
    rv_deep_model_destroy(&m);
    return NULL;
}

int rv_deep_model_score(const rv_deep_model_t *self, rv_cnn_t *cnn, const rv_view_t *view,
                        double *score)
{
    if (!self || !cnn || !score)
        return rv_fail(RV_EINVAL, DOMAIN, "need a model, a network and a score");
    if (rv_cnn_channels(cnn) != self->d)
        return rv_fail(RV_EINVAL, DOMAIN,
                       "the network gives %d features, the model was trained on %d",
                       rv_cnn_channels(cnn), self->d);
    float *f = malloc((size_t) self->d * sizeof *f);
    double *e = malloc((size_t) self->d * sizeof *e);
    int rc = f && e ? RV_OK : rv_fail(RV_ENOMEM, DOMAIN, "no memory");
    if (!rc)
        rc = rv_cnn_features(cnn, view, self->p.size, 0, f);
    if (!rc)
        *score = s_distance(self, f, e);
    free(f);
    free(e);
    return rc;
}

double rv_deep_model_threshold(const rv_deep_model_t *self)
{
    return self ? self->threshold : NAN;
}

const float *rv_deep_model_heldout(const rv_deep_model_t *self, size_t *n)
{
    if (n)
        *n = self ? self->nheld : 0;
    return self && self->nheld ? self->held : NULL;
}

double rv_deep_model_surprise(const rv_deep_model_t *self, double score)
{
    return self ? rv_surprise(self->held_sorted, self->nheld, score, 0) : -1;
}

double rv_deep_model_surprise_own(const rv_deep_model_t *self, double score)
{
    return self ? rv_surprise(self->held_sorted, self->nheld, score, 1) : -1;
}
