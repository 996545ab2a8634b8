/* rv_surface_pca.c - learnt linear patch features for the surface model: a PCA basis of
 * small patches of the good training images (an "eigen-texture" filter bank), the
 * projections of every pixel's patch on its top components and the residual energy
 * outside them.
 *
 * A patch is params.patch x params.patch samples, params.pstep px apart, of the working
 * image B (Gaussian 5x5 of the grey) divided by 5 % of the image's median brightness
 * (rv_surface.c prepares it); its own mean (the local brightness) is removed, so the
 * basis models texture and detail, not exposure. Training adds the outer products of a
 * deterministic sample of patches (double precision) and diagonalises the covariance by
 * cyclic Jacobi. Projection builds, row by row, the patch samples of every pixel of the
 * row as params.patch^2 rows of w floats (im2col) so that every inner loop runs along x
 * over contiguous floats: the compiler vectorises it; no hand-written SIMD, and a plain
 * per-pixel reference in double (rv_surface_pca_project_ref) is compared with it in the
 * tests. */
#include "rv/rv_error.h"
#include "rv/rv_surface.h"
#include "rv_surface_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int rv_surface_uses_pca(const rv_surface_params_t *p)
{
    for (int i = 0; i < p->nfeatures; i++)
        if (p->features[i].kind == RV_SF_PCA || p->features[i].kind == RV_SF_PCARES)
            return 1;
    return 0;
}

int rv_surface_pca_ncomp(const rv_surface_params_t *p)
{
    if (p->ncomp > 0)
        return p->ncomp;
    int k = 0, res = 0;
    for (int i = 0; i < p->nfeatures; i++) {
        if (p->features[i].kind == RV_SF_PCA && p->features[i].size + 1 > k)
            k = p->features[i].size + 1;
        if (p->features[i].kind == RV_SF_PCARES && p->features[i].size > k)
            k = p->features[i].size;
        if (p->features[i].kind == RV_SF_PCARES)
            res = 1;
    }
    return k > 0 ? k : res ? 8 : 0;
}

/* ---- eigen-decomposition ------------------------------------------------------------ */

int rv_surface_eigen_sym(double *a, int n, double *evals, double *evecs)
{
    if (n < 1 || n > RV_SF_MAX_PD)
        return rv_fail(RV_EINVAL, "rv_surface_eigen_sym", "size %d, need 1..%d", n,
                       RV_SF_MAX_PD);
    double *v = malloc((size_t) n * n * sizeof *v);
    int *ord = malloc((size_t) n * sizeof *ord);
    if (!v || !ord) {
        free(v);
        free(ord);
        return rv_fail(RV_ENOMEM, "rv_surface_eigen_sym", "no memory");
    }
    for (int i = 0; i < n * n; i++)
        v[i] = 0;
    for (int i = 0; i < n; i++)
        v[i * n + i] = 1;
    double norm = 0;
    for (int i = 0; i < n * n; i++)
        norm += a[i] * a[i];
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                off += a[i * n + j] * a[i * n + j];
        if (off <= 1e-30 * norm || off == 0)
            break;
        for (int pi = 0; pi < n; pi++)
            for (int q = pi + 1; q < n; q++) {
                double apq = a[pi * n + q];
                if (fabs(apq) < 1e-300)
                    continue;
                double app = a[pi * n + pi], aqq = a[q * n + q];
                double theta = (aqq - app) / (2 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) /
                           (fabs(theta) + sqrt(theta * theta + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                /* A' = J^T A J on rows / columns p and q */
                for (int k = 0; k < n; k++) {
                    double akp = a[k * n + pi], akq = a[k * n + q];
                    a[k * n + pi] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; k++) {
                    double apk = a[pi * n + k], aqk = a[q * n + k];
                    a[pi * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                a[pi * n + q] = a[q * n + pi] = 0;
                /* eigenvectors: columns of V, V' = V J */
                for (int k = 0; k < n; k++) {
                    double vkp = v[k * n + pi], vkq = v[k * n + q];
                    v[k * n + pi] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
    }
    /* order descending (selection sort of indices: n is small) */
    for (int i = 0; i < n; i++)
        ord[i] = i;
    for (int i = 0; i < n; i++) {
        int best = i;
        for (int j = i + 1; j < n; j++)
            if (a[ord[j] * n + ord[j]] > a[ord[best] * n + ord[best]])
                best = j;
        int t = ord[i];
        ord[i] = ord[best];
        ord[best] = t;
    }
    for (int i = 0; i < n; i++) {
        int c = ord[i];
        evals[i] = a[c * n + c];
        int big = 0;
        for (int k = 1; k < n; k++)
            if (fabs(v[k * n + c]) > fabs(v[big * n + c]))
                big = k;
        double sg = v[big * n + c] < 0 ? -1.0 : 1.0;
        for (int k = 0; k < n; k++)
            evecs[(size_t) i * n + k] = sg * v[k * n + c];
    }
    free(v);
    free(ord);
    return RV_OK;
}

/* ---- learning ------------------------------------------------------------------------ */

static inline int s_clamp(int v, int hi)
{
    return v < 0 ? 0 : v > hi ? hi : v;
}

size_t rv_surface_pca_accum(const rv_surface_params_t *p, const float *img, int w, int h,
                            uint64_t seed, int count, double *sum, double *sxx)
{
    int P = p->patch, st = p->pstep, r = (P / 2) * st, D = P * P;
    uint64_t s = seed | 1;
    double v[RV_SF_MAX_PD];
    /* interior positions when the image allows (no replicated borders in the basis) */
    int x0 = w > 2 * r + 1 ? r : 0, x1 = w > 2 * r + 1 ? w - r : w;
    int y0 = h > 2 * r + 1 ? r : 0, y1 = h > 2 * r + 1 ? h - r : h;
    for (int k = 0; k < count; k++) {
        int x = x0 + (int) (rv__surface_rng(&s) % (uint64_t) (x1 - x0));
        int y = y0 + (int) (rv__surface_rng(&s) % (uint64_t) (y1 - y0));
        double m = 0;
        int t = 0;
        for (int dy = -(P / 2); dy <= P / 2; dy++) {
            const float *row = img + (size_t) s_clamp(y + dy * st, h - 1) * w;
            for (int dx = -(P / 2); dx <= P / 2; dx++) {
                v[t] = row[s_clamp(x + dx * st, w - 1)];
                m += v[t++];
            }
        }
        m /= D;
        for (int a = 0; a < D; a++) {
            v[a] -= m;
            sum[a] += v[a];
        }
        for (int a = 0; a < D; a++) {
            double va = v[a];
            double *row = sxx + (size_t) a * D;
            for (int b = 0; b <= a; b++)
                row[b] += va * v[b];
        }
    }
    return (size_t) count;
}

int rv_surface_pca_fit(rv_surface_model_t *m, const double *sum, const double *sxx,
                       double cnt, const char *domain)
{
    const rv_surface_params_t *p = &m->p;
    int D = p->patch * p->patch, K = rv_surface_pca_ncomp(p);
    if (cnt < 2 * D)
        return rv_fail(RV_EINVAL, domain, "%g patches are too few for a basis of %d samples",
                       cnt, D);
    if (K < 1 || K > D || K > RV_SURFACE_MAX_FEATURES)
        return rv_fail(RV_EINVAL, domain, "%d components of a %d-sample patch", K, D);
    double *cov = malloc((size_t) D * D * sizeof *cov);
    double *ev = malloc((size_t) D * sizeof *ev);
    double *vec = malloc((size_t) D * D * sizeof *vec);
    if (!cov || !ev || !vec) {
        free(cov);
        free(ev);
        free(vec);
        return rv_fail(RV_ENOMEM, domain, "no memory for the patch covariance");
    }
    rv_sf_basis_t *b = &m->pca;
    double tr = 0;
    for (int a = 0; a < D; a++)
        b->mean[a] = sum[a] / cnt;
    for (int a = 0; a < D; a++)
        for (int c = 0; c <= a; c++) {
            double v = (sxx[(size_t) a * D + c] - cnt * b->mean[a] * b->mean[c]) / (cnt - 1);
            cov[(size_t) a * D + c] = cov[(size_t) c * D + a] = v;
            if (a == c)
                tr += v;
        }
    int rc = rv_surface_eigen_sym(cov, D, ev, vec);
    if (rc == RV_OK) {
        b->dim = D;
        b->k = K;
        b->total = tr;
        /* a floor keeps a flat training set's components usable (and whitening finite) */
        double floor = 1e-6 * tr / D + 1e-12;
        for (int i = 0; i < K; i++) {
            b->eig[i] = ev[i] > floor ? ev[i] : floor;
            if (i > 0 && b->eig[i] > b->eig[i - 1])
                b->eig[i] = b->eig[i - 1];
            memcpy(b->vec + (size_t) i * D, vec + (size_t) i * D, (size_t) D * sizeof *vec);
        }
        rc = rv_surface_pca_prepare(m, domain);
    }
    free(cov);
    free(ev);
    free(vec);
    return rc;
}

int rv_surface_pca_prepare(rv_surface_model_t *m, const char *domain)
{
    const rv_surface_params_t *p = &m->p;
    rv_sf_basis_t *b = &m->pca;
    int D = p->patch * p->patch, K = rv_surface_pca_ncomp(p);
    if (b->dim != D || b->k != K)
        return rv_fail(RV_EFORMAT, domain, "basis of %d x %d, the parameters give %d x %d",
                       b->k, b->dim, K, D);
    if (!isfinite(b->total) || !(b->total > 0))
        return rv_fail(RV_EFORMAT, domain, "basis: total variance %g", b->total);
    for (int i = 0; i < D; i++)
        if (!isfinite(b->mean[i]) || fabs(b->mean[i]) > 1e6)
            return rv_fail(RV_EFORMAT, domain, "basis: bad mean at %d", i);
    for (int k = 0; k < K; k++) {
        if (!isfinite(b->eig[k]) || !(b->eig[k] > 0) ||
            (k > 0 && b->eig[k] > b->eig[k - 1]))
            return rv_fail(RV_EFORMAT, domain,
                           "basis: eigenvalue %d (%g) not positive and descending", k,
                           b->eig[k]);
        double nn = 0;
        for (int i = 0; i < D; i++) {
            double v = b->vec[(size_t) k * D + i];
            if (!isfinite(v))
                return rv_fail(RV_EFORMAT, domain, "basis: component %d not finite", k);
            nn += v * v;
        }
        if (fabs(nn - 1.0) > 1e-3)
            return rv_fail(RV_EFORMAT, domain, "basis: component %d has norm %g, not 1", k,
                           sqrt(nn));
        /* orthogonal to the earlier ones */
        for (int j = 0; j < k; j++) {
            double dot = 0;
            for (int i = 0; i < D; i++)
                dot += b->vec[(size_t) k * D + i] * b->vec[(size_t) j * D + i];
            if (fabs(dot) > 1e-3)
                return rv_fail(RV_EFORMAT, domain,
                               "basis: components %d and %d not orthogonal (%g)", j, k, dot);
        }
    }
    for (int i = 0; i < D; i++)
        b->muf[i] = (float) b->mean[i];
    for (int k = 0; k < K; k++) {
        for (int i = 0; i < D; i++)
            b->vf[(size_t) k * D + i] = (float) b->vec[(size_t) k * D + i];
        b->scale[k] = p->pwhite ? (float) (1.0 / sqrt(b->eig[k])) : 1.0f;
    }
    return RV_OK;
}

/* ---- projection ---------------------------------------------------------------------- */

int rv_surface_pca_project(const rv_surface_model_t *m, const float *img, int w, int h,
                           float *planes, const char *domain)
{
    const rv_surface_params_t *p = &m->p;
    const rv_sf_basis_t *b = &m->pca;
    int P = p->patch, st = p->pstep, D = b->dim, K = b->k;
    size_t n = (size_t) w * h;
    float *X = malloc((size_t) D * w * sizeof *X);
    float *mean = malloc((size_t) w * sizeof *mean), *e = malloc((size_t) w * sizeof *e);
    if (!X || !mean || !e) {
        free(X);
        free(mean);
        free(e);
        return rv_fail(RV_ENOMEM, domain, "no memory for the patch rows");
    }
    const float invD = 1.0f / (float) D;
    for (int y = 0; y < h; y++) {
        /* X[t][x]: sample t of the patch around (x, y), borders replicated */
        int t = 0;
        for (int dy = -(P / 2); dy <= P / 2; dy++) {
            const float *row = img + (size_t) s_clamp(y + dy * st, h - 1) * w;
            for (int dx = -(P / 2); dx <= P / 2; dx++, t++) {
                float *xt = X + (size_t) t * w;
                int off = dx * st;
                int lo = off < 0 ? -off : 0, hi = off > 0 ? w - off : w;
                if (lo > w)
                    lo = w;
                if (hi < lo)
                    hi = lo;
                for (int x = 0; x < lo; x++)
                    xt[x] = row[s_clamp(x + off, w - 1)];
                if (hi > lo)
                    memcpy(xt + lo, row + lo + off, (size_t) (hi - lo) * sizeof *xt);
                for (int x = hi; x < w; x++)
                    xt[x] = row[s_clamp(x + off, w - 1)];
            }
        }
        for (int x = 0; x < w; x++)
            mean[x] = 0;
        for (int a = 0; a < D; a++) {
            const float *xt = X + (size_t) a * w;
            for (int x = 0; x < w; x++)
                mean[x] += xt[x];
        }
        for (int x = 0; x < w; x++) {
            mean[x] *= invD;
            e[x] = 0;
        }
        for (int a = 0; a < D; a++) {
            float *xt = X + (size_t) a * w;
            float mu = b->muf[a];
            for (int x = 0; x < w; x++) {
                float v = xt[x] - mean[x] - mu;
                xt[x] = v;
                e[x] += v * v;
            }
        }
        for (int k = 0; k < K; k++) {
            float *o = planes + (size_t) k * n + (size_t) y * w;
            float *res = planes + (size_t) (K + k) * n + (size_t) y * w;
            const float *vk = b->vf + (size_t) k * D;
            for (int x = 0; x < w; x++)
                o[x] = 0;
            for (int a = 0; a < D; a++) {
                const float *xt = X + (size_t) a * w;
                float c = vk[a];
                for (int x = 0; x < w; x++)
                    o[x] += c * xt[x];
            }
            float sc = b->scale[k];
            for (int x = 0; x < w; x++) {
                e[x] -= o[x] * o[x];
                o[x] *= sc;
                res[x] = sqrtf((e[x] > 0 ? e[x] : 0) * invD);
            }
        }
    }
    free(X);
    free(mean);
    free(e);
    return RV_OK;
}

void rv_surface_pca_project_ref(const rv_surface_model_t *m, const float *img, int w, int h,
                                int x, int y, double *out)
{
    const rv_surface_params_t *p = &m->p;
    const rv_sf_basis_t *b = &m->pca;
    int P = p->patch, st = p->pstep, D = b->dim, K = b->k;
    double v[RV_SF_MAX_PD], mean = 0;
    int t = 0;
    for (int dy = -(P / 2); dy <= P / 2; dy++)
        for (int dx = -(P / 2); dx <= P / 2; dx++) {
            v[t] = img[(size_t) s_clamp(y + dy * st, h - 1) * w + s_clamp(x + dx * st, w - 1)];
            mean += v[t++];
        }
    mean /= D;
    double e = 0;
    for (int a = 0; a < D; a++) {
        v[a] -= mean + b->mean[a];
        e += v[a] * v[a];
    }
    for (int k = 0; k < K; k++) {
        double s = 0;
        for (int a = 0; a < D; a++)
            s += b->vec[(size_t) k * D + a] * v[a];
        e -= s * s;
        out[k] = p->pwhite ? s / sqrt(b->eig[k]) : s;
        out[K + k] = sqrt((e > 0 ? e : 0) / D);
    }
}
