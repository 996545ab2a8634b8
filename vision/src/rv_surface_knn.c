/* rv_surface_knn.c - the surface model's memory-bank mode (PatchCore-like, with the
 * hand-made feature planes of rv_surface.c): patch descriptors, the bank's selection
 * (greedy k-centre coreset or random), the nearest-neighbour search and the map.
 *
 * Plain C written so that the compiler vectorises it at -O2 (fixed-length inner loops
 * over RV_SF_LANES bank vectors); no hand-written SIMD, so no per-ISA variants. */
#include "rv/rv_error.h"
#include "rv/rv_surface.h"
#include "rv_surface_internal.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PAD_NORM 1e30f

int rv_surface_desc_dim(const rv_surface_params_t *p)
{
    return p->nfeatures * (p->context > 0 ? 9 : 1);
}

void rv_surface_desc(const rv_surface_params_t *p, const float *plane, int w, int h, int x,
                     int y, float *out)
{
    int d = p->nfeatures;
    size_t n = (size_t) w * h;
    size_t c = (size_t) y * w + x;
    for (int a = 0; a < d; a++)
        out[a] = plane[(size_t) a * n + c];
    if (p->context <= 0)
        return;
    int r = p->context, k = 1;
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            if (!dx && !dy)
                continue;
            int xx = x + dx * r, yy = y + dy * r;
            xx = xx < 0 ? 0 : xx >= w ? w - 1 : xx;
            yy = yy < 0 ? 0 : yy >= h ? h - 1 : yy;
            size_t o = (size_t) yy * w + xx;
            for (int a = 0; a < d; a++)
                out[k * d + a] = plane[(size_t) a * n + o];
            k++;
        }
}

void rv_surface_bank_free(rv_surface_model_t *m)
{
    free(m->bank);
    free(m->bank_t);
    free(m->bank_norm);
    m->bank = m->bank_t = m->bank_norm = NULL;
    m->bank_n = m->bank_d = 0;
}

int rv_surface_bank_pack(rv_surface_model_t *m, const char *domain)
{
    int nb = m->bank_n, D = m->bank_d;
    size_t blocks = ((size_t) nb + RV_SF_LANES - 1) / RV_SF_LANES;
    free(m->bank_t);
    free(m->bank_norm);
    m->bank_t = calloc(blocks * RV_SF_LANES * (size_t) D, sizeof *m->bank_t);
    m->bank_norm = malloc(blocks * RV_SF_LANES * sizeof *m->bank_norm);
    if (!m->bank_t || !m->bank_norm)
        return rv_fail(RV_ENOMEM, domain, "no memory for a bank of %d x %d", nb, D);
    for (size_t i = 0; i < blocks * RV_SF_LANES; i++) {
        size_t blk = i / RV_SF_LANES, j = i % RV_SF_LANES;
        if (i >= (size_t) nb) {
            m->bank_norm[i] = PAD_NORM;
            continue;
        }
        const float *b = m->bank + i * (size_t) D;
        float s = 0;
        for (int a = 0; a < D; a++) {
            m->bank_t[(blk * (size_t) D + (size_t) a) * RV_SF_LANES + j] = b[a];
            s += b[a] * b[a];
        }
        m->bank_norm[i] = s;
    }
    return RV_OK;
}

/* Insert v into best[0..k) (ascending), dropping the largest. */
static inline void s_insert(float *best, int k, float v)
{
    int i = k - 1;
    while (i > 0 && best[i - 1] > v) {
        best[i] = best[i - 1];
        i--;
    }
    best[i] = v;
}

void rv_surface_knn_query(const rv_surface_model_t *m, const float *q, int k, float *best)
{
    int D = m->bank_d;
    size_t blocks = ((size_t) m->bank_n + RV_SF_LANES - 1) / RV_SF_LANES;
    float qn = 0;
    for (int a = 0; a < D; a++)
        qn += q[a] * q[a];
    for (int i = 0; i < k; i++)
        best[i] = FLT_MAX;
    for (size_t blk = 0; blk < blocks; blk++) {
        const float *bt = m->bank_t + blk * (size_t) D * RV_SF_LANES;
        const float *bn = m->bank_norm + blk * RV_SF_LANES;
        float acc[RV_SF_LANES];
        for (int j = 0; j < RV_SF_LANES; j++)
            acc[j] = 0;
        for (int a = 0; a < D; a++) {
            float qa = q[a];
            const float *row = bt + (size_t) a * RV_SF_LANES;
            for (int j = 0; j < RV_SF_LANES; j++)
                acc[j] += qa * row[j];
        }
        float d2[RV_SF_LANES], lo = FLT_MAX;
        for (int j = 0; j < RV_SF_LANES; j++) {
            d2[j] = bn[j] - 2.0f * acc[j];
            lo = d2[j] < lo ? d2[j] : lo;
        }
        if (lo + qn >= best[k - 1])
            continue;
        for (int j = 0; j < RV_SF_LANES; j++) {
            float v = d2[j] + qn;
            if (v < best[k - 1])
                s_insert(best, k, v);
        }
    }
    for (int i = 0; i < k; i++)
        best[i] = best[i] > 0 ? best[i] : 0;
}

void rv_surface_knn_query_ref(const rv_surface_model_t *m, const float *q, int k, float *best)
{
    int D = m->bank_d;
    for (int i = 0; i < k; i++)
        best[i] = FLT_MAX;
    for (int i = 0; i < m->bank_n; i++) {
        const float *b = m->bank + (size_t) i * D;
        double s = 0;
        for (int a = 0; a < D; a++)
            s += ((double) q[a] - b[a]) * ((double) q[a] - b[a]);
        if ((float) s < best[k - 1])
            s_insert(best, k, (float) s);
    }
}

/* Greedy k-centre on a random projection (at most PROJ dims) of at most POOL_PER * M
 * candidates (PatchCore's approximate coreset). */
#define PROJ 24
#define POOL_PER 12
#define CHUNK 256

int rv_surface_bank_select(rv_surface_model_t *m, const float *cand, size_t n, uint64_t seed,
                           const char *domain)
{
    const rv_surface_params_t *p = &m->p;
    int D = rv_surface_desc_dim(p);
    if (n == 0)
        return rv_fail(RV_EINVAL, domain, "no training descriptors for the bank");
    size_t M = (size_t) p->bank < n ? (size_t) p->bank : n;
    uint64_t st = seed | 1;
    float *bank = malloc(M * (size_t) D * sizeof *bank);
    if (!bank)
        return rv_fail(RV_ENOMEM, domain, "no memory for a bank of %zu", M);
    if (!p->coreset || M == n) {
        /* a random sample without repetition (partial Fisher-Yates over indices) */
        size_t *idx = malloc(n * sizeof *idx);
        if (!idx) {
            free(bank);
            return rv_fail(RV_ENOMEM, domain, "no memory");
        }
        for (size_t i = 0; i < n; i++)
            idx[i] = i;
        for (size_t i = 0; i < M; i++) {
            size_t j = i + (size_t) (rv__surface_rng(&st) % (n - i));
            size_t t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
            memcpy(bank + i * D, cand + idx[i] * D, (size_t) D * sizeof *bank);
        }
        free(idx);
    } else {
        size_t np = n < POOL_PER * M ? n : POOL_PER * M;
        int Dp = D <= PROJ ? D : PROJ;
        size_t *idx = malloc(n * sizeof *idx);
        float *proj = malloc(np * (size_t) Dp * sizeof *proj); /* transposed: Dp x np */
        float *mind = malloc(np * sizeof *mind);
        float *R = malloc((size_t) Dp * D * sizeof *R);
        if (!idx || !proj || !mind || !R) {
            free(idx);
            free(proj);
            free(mind);
            free(R);
            free(bank);
            return rv_fail(RV_ENOMEM, domain, "no memory for the coreset of %zu", np);
        }
        for (size_t i = 0; i < n; i++)
            idx[i] = i;
        for (size_t i = 0; i < np && np < n; i++) {
            size_t j = i + (size_t) (rv__surface_rng(&st) % (n - i));
            size_t t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        /* projection: identity, or Gaussian-ish random (sum of 4 uniforms) / sqrt(Dp) */
        for (int r = 0; r < Dp; r++)
            for (int a = 0; a < D; a++) {
                float v;
                if (Dp == D) {
                    v = r == a ? 1.0f : 0.0f;
                } else {
                    double u = 0;
                    for (int t = 0; t < 4; t++)
                        u += (double) (rv__surface_rng(&st) >> 11) / 9007199254740992.0 - 0.5;
                    v = (float) (u * sqrt(3.0) / sqrt((double) Dp));
                }
                R[(size_t) r * D + a] = v;
            }
        for (size_t i = 0; i < np; i++) {
            const float *c = cand + idx[i] * D;
            for (int r = 0; r < Dp; r++) {
                float s = 0;
                for (int a = 0; a < D; a++)
                    s += R[(size_t) r * D + a] * c[a];
                proj[(size_t) r * np + i] = s;
            }
        }
        for (size_t i = 0; i < np; i++)
            mind[i] = FLT_MAX;
        size_t pick = (size_t) (rv__surface_rng(&st) % np);
        for (size_t s = 0; s < M; s++) {
            memcpy(bank + s * D, cand + idx[pick] * D, (size_t) D * sizeof *bank);
            float sp[PROJ];
            for (int r = 0; r < Dp; r++)
                sp[r] = proj[(size_t) r * np + pick];
            float far = -1;
            size_t next = 0;
            for (size_t c0 = 0; c0 < np; c0 += CHUNK) {
                size_t len = np - c0 < CHUNK ? np - c0 : CHUNK;
                float acc[CHUNK];
                for (size_t i = 0; i < len; i++)
                    acc[i] = 0;
                for (int r = 0; r < Dp; r++) {
                    const float *pr = proj + (size_t) r * np + c0;
                    float v = sp[r];
                    for (size_t i = 0; i < len; i++) {
                        float t = pr[i] - v;
                        acc[i] += t * t;
                    }
                }
                for (size_t i = 0; i < len; i++) {
                    float md = mind[c0 + i] < acc[i] ? mind[c0 + i] : acc[i];
                    mind[c0 + i] = md;
                    if (md > far) {
                        far = md;
                        next = c0 + i;
                    }
                }
            }
            pick = next;
        }
        free(idx);
        free(proj);
        free(mind);
        free(R);
    }
    rv_surface_bank_free(m);
    m->bank = bank;
    m->bank_n = (int) M;
    m->bank_d = D;
    return rv_surface_bank_pack(m, domain);
}

int rv_surface_knn_map(const rv_surface_model_t *m, const float *plane, int w, int h,
                       float *out, const char *domain)
{
    const rv_surface_params_t *p = &m->p;
    int s = p->stride, k = p->knn < m->bank_n ? p->knn : m->bank_n;
    int gw = (w - 1) / s + 2, gh = (h - 1) / s + 2; /* grid points at 0, s, 2s, ... */
    float *grid = malloc((size_t) gw * gh * sizeof *grid);
    if (!grid)
        return rv_fail(RV_ENOMEM, domain, "no memory for the knn grid");
    float q[RV_SF_MAX_DIM], best[64];
    for (int gy = 0; gy < gh; gy++)
        for (int gx = 0; gx < gw; gx++) {
            int x = gx * s < w ? gx * s : w - 1, y = gy * s < h ? gy * s : h - 1;
            rv_surface_desc(p, plane, w, h, x, y, q);
            rv_surface_knn_query(m, q, k, best);
            float acc = 0;
            for (int i = 0; i < k; i++)
                acc += sqrtf(best[i]);
            grid[(size_t) gy * gw + gx] = acc / (float) k;
        }
    /* bilinear between grid points */
    float inv = 1.0f / (float) s;
    for (int y = 0; y < h; y++) {
        int gy = y / s;
        float fy = (float) (y - gy * s) * inv;
        const float *r0 = grid + (size_t) gy * gw, *r1 = r0 + gw;
        float *o = out + (size_t) y * w;
        for (int x = 0; x < w; x++) {
            int gx = x / s;
            float fx = (float) (x - gx * s) * inv;
            float a = r0[gx] + fx * (r0[gx + 1] - r0[gx]);
            float b = r1[gx] + fx * (r1[gx + 1] - r1[gx]);
            o[x] = a + fy * (b - a);
        }
    }
    free(grid);
    return RV_OK;
}
