/* rv_surface_io.c - the surface model's file: small, versioned, checksummed, and read as
 * hostile input (every length is checked before it is used).
 *
 * Layout (all integers little-endian, reals IEEE-754 binary64 unless said otherwise):
 *   "RVSURF\r\n"                  8 bytes of magic
 *   u32 version                   5 (version 1 files, without face and topk, version 2
 *                                 files, without the knn fields, version 3 files,
 *                                 without the learnt basis, and version 4 files, without
 *                                 the held-out scores, still load)
 *   u32 nfeatures                 1..24, then nfeatures x (u16 kind, u16 size)
 *   i32 scale, pool, smooth, aligned, grid, samples, folds, folds_used, compress, border,
 *       and from version 2: face, topk; from version 3: knn, bank, stride, context,
 *       coreset, norm; from version 4: patch, ncomp, pstep, pwhite
 *   f64 quantile, fa, threshold
 *   u64 ntrain
 *   f64 mean[d], f64 cov[d * d]
 *   aligned only: f32 mu[grid * grid], f32 sd[grid * grid], f32 sd_floor
 *   version 3, knn > 0 only: u32 count (1..bank), u32 dim (the descriptor's: nfeatures, or
 *       9 nfeatures with context), f32 bank[count * dim] (row-major, finite)
 *   version 4, a learnt feature (pca, pcares) in the set only: the patch basis:
 *       u32 dim (= patch^2), u32 k (= ncomp), f64 total variance, f64 mean[dim],
 *       f64 eigenvalue[k] (positive, descending), f64 component[k * dim] (rows: unit,
 *       orthogonal)
 *   version 5: u32 nheld (0..ntrain), f32 held[nheld] (finite): the training images'
 *       held-out scores, in training order
 *   u32 CRC-32 (IEEE 802.3) of every byte before it */
#include "rv/rv_error.h"
#include "rv/rv_surface.h"
#include "rv_surface_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "RVSURF\r\n"
#define VERSION 5u
#define MAX_FILE ((size_t) 64 << 20) /* a bank of 65536 x 216 floats fits */

static uint32_t s_crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* ---- writing ---------------------------------------------------------------------- */

typedef struct s_buf {
    uint8_t *p;
    size_t len, cap;
    int oom;
} s_buf_t;

static void s_put(s_buf_t *b, const void *src, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void s_put_u(s_buf_t *b, uint64_t v, int bytes)
{
    uint8_t t[8];
    for (int i = 0; i < bytes; i++)
        t[i] = (uint8_t) (v >> (8 * i));
    s_put(b, t, (size_t) bytes);
}

static void s_put_f64(s_buf_t *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    s_put_u(b, u, 8);
}

static void s_put_f32(s_buf_t *b, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    s_put_u(b, u, 4);
}

int rv_surface_model_save(const rv_surface_model_t *self, const char *path)
{
    const char *dom = "rv_surface_model_save";
    if (!self || !path)
        return rv_fail(RV_EINVAL, dom, "no model or no path");
    const rv_surface_params_t *p = &self->p;
    int d = p->nfeatures;
    s_buf_t b = {0};
    s_put(&b, MAGIC, 8);
    s_put_u(&b, VERSION, 4);
    s_put_u(&b, (uint32_t) d, 4);
    for (int i = 0; i < d; i++) {
        s_put_u(&b, p->features[i].kind, 2);
        s_put_u(&b, p->features[i].size, 2);
    }
    int knn = p->knn > 0 && self->bank ? p->knn : 0;
    int ints[22] = {p->scale,   p->pool,  p->smooth,        p->aligned && self->amu,
                    p->grid,    p->samples, p->folds,       self->folds_used,
                    p->compress, p->border, p->face,        p->topk,
                    knn,        p->bank,  p->stride,        p->context,
                    p->coreset, p->norm,  p->patch,         p->ncomp,
                    p->pstep,   p->pwhite};
    for (int i = 0; i < 22; i++)
        s_put_u(&b, (uint32_t) ints[i], 4);
    s_put_f64(&b, p->quantile);
    s_put_f64(&b, p->fa);
    s_put_f64(&b, self->threshold);
    s_put_u(&b, (uint64_t) self->ntrain, 8);
    for (int i = 0; i < d; i++)
        s_put_f64(&b, self->mean[i]);
    for (int i = 0; i < d * d; i++)
        s_put_f64(&b, self->cov[i]);
    if (p->aligned && self->amu) {
        size_t gc = (size_t) p->grid * p->grid;
        for (size_t i = 0; i < gc; i++)
            s_put_f32(&b, self->amu[i]);
        for (size_t i = 0; i < gc; i++)
            s_put_f32(&b, self->asd[i]);
        s_put_f32(&b, self->asd_floor);
    }
    if (knn) {
        s_put_u(&b, (uint32_t) self->bank_n, 4);
        s_put_u(&b, (uint32_t) self->bank_d, 4);
        for (size_t i = 0; i < (size_t) self->bank_n * self->bank_d; i++)
            s_put_f32(&b, self->bank[i]);
    }
    if (rv_surface_uses_pca(p)) {
        const rv_sf_basis_t *ba = &self->pca;
        s_put_u(&b, (uint32_t) ba->dim, 4);
        s_put_u(&b, (uint32_t) ba->k, 4);
        s_put_f64(&b, ba->total);
        for (int i = 0; i < ba->dim; i++)
            s_put_f64(&b, ba->mean[i]);
        for (int i = 0; i < ba->k; i++)
            s_put_f64(&b, ba->eig[i]);
        for (size_t i = 0; i < (size_t) ba->k * ba->dim; i++)
            s_put_f64(&b, ba->vec[i]);
    }
    s_put_u(&b, (uint32_t) self->nheld, 4);
    for (size_t i = 0; i < self->nheld; i++)
        s_put_f32(&b, self->held[i]);
    if (!b.oom)
        s_put_u(&b, s_crc32(b.p, b.len), 4);
    if (b.oom) {
        free(b.p);
        return rv_fail(RV_ENOMEM, dom, "no memory");
    }
    /* write beside, then rename: a crash never leaves half a model under the name */
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 8);
    if (!tmp) {
        free(b.p);
        return rv_fail(RV_ENOMEM, dom, "no memory");
    }
    snprintf(tmp, plen + 8, "%s.tmp", path);
    int rc = RV_OK;
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        rc = rv_fail(RV_EIO, dom, "%s: %s", tmp, strerror(errno));
    } else {
        size_t wrote = fwrite(b.p, 1, b.len, f);
        int closed = fclose(f);
        if (wrote != b.len || closed != 0)
            rc = rv_fail(RV_EIO, dom, "%s: write failed", tmp);
        else if (rename(tmp, path) != 0)
            rc = rv_fail(RV_EIO, dom, "%s: %s", path, strerror(errno));
        if (rc)
            remove(tmp);
    }
    free(tmp);
    free(b.p);
    return rc;
}

/* ---- reading ---------------------------------------------------------------------- */

typedef struct s_rd {
    const uint8_t *p;
    size_t len, off;
    int bad; /* set at the first read past the end */
} s_rd_t;

static const char *s_dom = "rv_surface_model_load";

static int s_need(s_rd_t *r, size_t n, const char *what)
{
    if (r->bad)
        return 0;
    if (r->len - r->off < n) {
        r->bad = 1;
        rv_fail(RV_EFORMAT, s_dom, "truncated: %s needs %zu bytes at offset %zu, %zu left", what,
                n, r->off, r->len - r->off);
        return 0;
    }
    return 1;
}

static uint64_t s_get_u(s_rd_t *r, int bytes, const char *what)
{
    if (!s_need(r, (size_t) bytes, what))
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t) r->p[r->off + (size_t) i] << (8 * i);
    r->off += (size_t) bytes;
    return v;
}

static double s_get_f64(s_rd_t *r, const char *what)
{
    uint64_t u = s_get_u(r, 8, what);
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static float s_get_f32(s_rd_t *r, const char *what)
{
    uint32_t u = (uint32_t) s_get_u(r, 4, what);
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

rv_surface_model_t *rv_surface_model_load_mem(const uint8_t *buf, size_t len)
{
    if (!buf || len == 0) {
        rv_fail(RV_EFORMAT, s_dom, "empty model");
        return NULL;
    }
    if (len < 8 || memcmp(buf, MAGIC, 8) != 0) {
        rv_fail(RV_EFORMAT, s_dom, "not a surface model (wrong magic)");
        return NULL;
    }
    s_rd_t r = {buf, len, 8, 0};
    uint32_t version = (uint32_t) s_get_u(&r, 4, "version");
    if (r.bad)
        return NULL;
    if (version < 1u || version > VERSION) {
        rv_fail(RV_EFORMAT, s_dom, "version %u, this build reads version %u", version, VERSION);
        return NULL;
    }
    /* the checksum covers everything: check it before trusting any field */
    if (len < 8 + 4 + 4) {
        rv_fail(RV_EFORMAT, s_dom, "truncated: %zu bytes", len);
        return NULL;
    }
    uint32_t stored = (uint32_t) buf[len - 4] | (uint32_t) buf[len - 3] << 8 |
                      (uint32_t) buf[len - 2] << 16 | (uint32_t) buf[len - 1] << 24;
    uint32_t crc = s_crc32(buf, len - 4);
    r.len = len - 4; /* the fields end before the checksum */

    rv_surface_model_t *m = rv_surface_model_new_empty();
    if (!m)
        return NULL;
    rv_surface_params_t *p = &m->p;
    uint32_t d = (uint32_t) s_get_u(&r, 4, "nfeatures");
    if (!r.bad && (d < 1 || d > RV_SURFACE_MAX_FEATURES)) {
        rv_fail(RV_EFORMAT, s_dom, "absurd feature count %u (1..%d)", d,
                RV_SURFACE_MAX_FEATURES);
        goto fail;
    }
    p->nfeatures = (int) d;
    for (uint32_t i = 0; i < d && !r.bad; i++) {
        p->features[i].kind = (uint16_t) s_get_u(&r, 2, "feature kind");
        p->features[i].size = (uint16_t) s_get_u(&r, 2, "feature size");
    }
    int32_t ints[22] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4096, 2, 0, 1, 0, 9, 0, 1, 1};
    for (int i = 0; i < (version >= 4u ? 22 : version >= 3u ? 18 : version >= 2u ? 12 : 10);
         i++)
        ints[i] = (int32_t) (uint32_t) s_get_u(&r, 4, "parameters");
    p->quantile = s_get_f64(&r, "quantile");
    p->fa = s_get_f64(&r, "false-alarm rate");
    m->threshold = s_get_f64(&r, "threshold");
    uint64_t ntrain = s_get_u(&r, 8, "ntrain");
    if (r.bad)
        goto fail;
    p->scale = ints[0];
    p->pool = ints[1];
    p->smooth = ints[2];
    p->aligned = ints[3];
    p->grid = ints[4];
    p->samples = ints[5];
    p->folds = ints[6];
    m->folds_used = ints[7];
    p->compress = ints[8];
    p->border = ints[9];
    p->face = ints[10];
    p->topk = ints[11];
    p->knn = ints[12];
    p->bank = ints[13];
    p->stride = ints[14];
    p->context = ints[15];
    p->coreset = ints[16];
    p->norm = ints[17];
    p->patch = ints[18];
    p->ncomp = ints[19];
    p->pstep = ints[20];
    p->pwhite = ints[21];
    m->ntrain = (size_t) ntrain;
    if (rv_surface_check_params(p, s_dom) != RV_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", rv_last_error());
        rv_fail(RV_EFORMAT, "rv_surface_model_load", "bad parameters: %s", msg);
        goto fail;
    }
    if (rv_surface_uses_pca(p) && (version < 4u || p->ncomp < 1)) {
        rv_fail(RV_EFORMAT, s_dom, "learnt features in a version %u file without ncomp "
                "(%d)", version, p->ncomp);
        goto fail;
    }
    if (m->folds_used < 0 || m->folds_used > 20 || ntrain > ((uint64_t) 1 << 40) ||
        !isfinite(m->threshold)) {
        rv_fail(RV_EFORMAT, s_dom, "absurd folds %d, training count or threshold",
                m->folds_used);
        goto fail;
    }
    for (uint32_t i = 0; i < d; i++)
        m->mean[i] = s_get_f64(&r, "mean");
    for (uint32_t i = 0; i < d * d; i++)
        m->cov[i] = s_get_f64(&r, "covariance");
    if (r.bad)
        goto fail;
    if (p->aligned) {
        size_t gc = (size_t) p->grid * (size_t) p->grid;
        if (!s_need(&r, gc * 8 + 4, "aligned statistics"))
            goto fail;
        m->amu = malloc(gc * sizeof *m->amu);
        m->asd = malloc(gc * sizeof *m->asd);
        if (!m->amu || !m->asd) {
            rv_fail(RV_ENOMEM, s_dom, "no memory");
            goto fail;
        }
        for (size_t i = 0; i < gc; i++)
            m->amu[i] = s_get_f32(&r, "aligned mean");
        for (size_t i = 0; i < gc; i++)
            m->asd[i] = s_get_f32(&r, "aligned spread");
        m->asd_floor = s_get_f32(&r, "aligned floor");
        for (size_t i = 0; i < gc; i++)
            if (!isfinite(m->amu[i]) || !(m->asd[i] >= 0) || !isfinite(m->asd[i])) {
                rv_fail(RV_EFORMAT, s_dom, "aligned statistics: bad value at cell %zu", i);
                goto fail;
            }
        if (!(m->asd_floor > 0) || !isfinite(m->asd_floor)) {
            rv_fail(RV_EFORMAT, s_dom, "aligned statistics: bad floor");
            goto fail;
        }
    }
    if (p->knn > 0) {
        uint32_t cnt = (uint32_t) s_get_u(&r, 4, "bank count");
        uint32_t dim = (uint32_t) s_get_u(&r, 4, "bank dimension");
        if (r.bad)
            goto fail;
        if (cnt < 1 || cnt > (uint32_t) p->bank) {
            rv_fail(RV_EFORMAT, s_dom, "absurd bank count %u (1..%d)", cnt, p->bank);
            goto fail;
        }
        if (dim != (uint32_t) rv_surface_desc_dim(p)) {
            rv_fail(RV_EFORMAT, s_dom, "bank dimension %u, the parameters give %d", dim,
                    rv_surface_desc_dim(p));
            goto fail;
        }
        size_t nv = (size_t) cnt * dim;
        if (!s_need(&r, nv * 4, "bank"))
            goto fail;
        m->bank = malloc(nv * sizeof *m->bank);
        if (!m->bank) {
            rv_fail(RV_ENOMEM, s_dom, "no memory for the bank");
            goto fail;
        }
        m->bank_n = (int) cnt;
        m->bank_d = (int) dim;
        for (size_t i = 0; i < nv; i++) {
            m->bank[i] = s_get_f32(&r, "bank");
            if (!isfinite(m->bank[i]) || fabsf(m->bank[i]) > 1e6f) {
                rv_fail(RV_EFORMAT, s_dom, "bank: bad value at %zu", i);
                goto fail;
            }
        }
    }
    if (rv_surface_uses_pca(p)) {
        uint32_t dim = (uint32_t) s_get_u(&r, 4, "basis dimension");
        uint32_t k = (uint32_t) s_get_u(&r, 4, "basis components");
        if (r.bad)
            goto fail;
        if (dim != (uint32_t) (p->patch * p->patch) || k != (uint32_t) p->ncomp) {
            rv_fail(RV_EFORMAT, s_dom, "basis of %u x %u, the parameters give %d x %d", k,
                    dim, p->ncomp, p->patch * p->patch);
            goto fail;
        }
        if (!s_need(&r, 8 + (size_t) 8 * (dim + k + (size_t) k * dim), "basis"))
            goto fail;
        rv_sf_basis_t *ba = &m->pca;
        ba->dim = (int) dim;
        ba->k = (int) k;
        ba->total = s_get_f64(&r, "basis variance");
        for (uint32_t i = 0; i < dim; i++)
            ba->mean[i] = s_get_f64(&r, "basis mean");
        for (uint32_t i = 0; i < k; i++)
            ba->eig[i] = s_get_f64(&r, "basis eigenvalue");
        for (size_t i = 0; i < (size_t) k * dim; i++)
            ba->vec[i] = s_get_f64(&r, "basis component");
    }
    if (version >= 5u) {
        uint32_t nh = (uint32_t) s_get_u(&r, 4, "held-out count");
        if (r.bad)
            goto fail;
        if ((uint64_t) nh > ntrain) {
            rv_fail(RV_EFORMAT, s_dom, "absurd held-out count %u (%llu training images)", nh,
                    (unsigned long long) ntrain);
            goto fail;
        }
        if (!s_need(&r, (size_t) nh * 4, "held-out scores"))
            goto fail;
        float *held = nh ? malloc((size_t) nh * sizeof *held) : NULL;
        if (nh && !held) {
            rv_fail(RV_ENOMEM, s_dom, "no memory");
            goto fail;
        }
        for (uint32_t i = 0; i < nh; i++) {
            held[i] = s_get_f32(&r, "held-out score");
            if (!isfinite(held[i])) {
                free(held);
                rv_fail(RV_EFORMAT, s_dom, "held-out score %u is not finite", i);
                goto fail;
            }
        }
        if (rv_surface_set_heldout(m, held, nh, s_dom) != RV_OK)
            goto fail;
    }
    if (r.off != r.len) {
        rv_fail(RV_EFORMAT, s_dom, "%zu unexpected bytes after the model", r.len - r.off);
        goto fail;
    }
    if (crc != stored) {
        rv_fail(RV_EFORMAT, s_dom, "bad checksum (stored %08x, computed %08x)", stored, crc);
        goto fail;
    }
    for (uint32_t i = 0; i < d; i++)
        if (!isfinite(m->mean[i])) {
            rv_fail(RV_EFORMAT, s_dom, "mean %u is not finite", i);
            goto fail;
        }
    for (uint32_t i = 0; i < d; i++)
        for (uint32_t j = 0; j < d; j++)
            if (!isfinite(m->cov[i * d + j]) || m->cov[i * d + j] != m->cov[j * d + i]) {
                rv_fail(RV_EFORMAT, s_dom, "covariance is not finite and symmetric at %u,%u",
                        i, j);
                goto fail;
            }
    if (rv_surface_prepare(m, s_dom) != RV_OK)
        goto fail;
    if (rv_surface_uses_pca(p) && rv_surface_pca_prepare(m, s_dom) != RV_OK)
        goto fail;
    if (m->bank && rv_surface_bank_pack(m, s_dom) != RV_OK)
        goto fail;
    return m;
fail:
    rv_surface_model_destroy(&m);
    return NULL;
}

rv_surface_model_t *rv_surface_model_load(const char *path)
{
    if (!path) {
        rv_fail(RV_EINVAL, s_dom, "no path");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        rv_fail(RV_EIO, s_dom, "%s: %s", path, strerror(errno));
        return NULL;
    }
    uint8_t *buf = malloc(MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        rv_fail(RV_ENOMEM, s_dom, "no memory");
        return NULL;
    }
    size_t n = fread(buf, 1, MAX_FILE + 1, f);
    int err = ferror(f);
    fclose(f);
    rv_surface_model_t *m = NULL;
    if (err)
        rv_fail(RV_EIO, s_dom, "%s: read error", path);
    else if (n > MAX_FILE)
        rv_fail(RV_ELIMIT, s_dom, "%s: larger than %zu bytes", path, MAX_FILE);
    else
        m = rv_surface_model_load_mem(buf, n);
    free(buf);
    return m;
}
