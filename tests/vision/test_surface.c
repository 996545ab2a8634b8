/* test_surface.c - the surface anomaly model on images generated here: a vertical
 * grinding texture with noise and uneven light, defects painted in (thin dark cracks,
 * blowholes, a brighter uneven patch). Never uses the real datasets. */
#include "rs_test.h"
#include "rv/rv.h"
#include "rv/rv_surface.h"
#include "rv_surface_internal.h" /* the kNN search and its plain reference */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define W 128
#define H 128

static double s_uniform(uint64_t *s)
{
    return (double) (rs_rand(s) >> 11) / 9007199254740992.0;
}

static double s_gauss(uint64_t *s)
{
    double u = s_uniform(s) + 1e-12, v = s_uniform(s);
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* A good surface: per-column streaks (the grinding), pixel noise, a light gradient and a
 * soft bright spot of random strength and place. */
static void s_surface(float *img, uint64_t *s)
{
    float col[W];
    for (int x = 0; x < W; x++)
        col[x] = (float) (8 * s_gauss(s));
    double gx = 0.4 * (s_uniform(s) - 0.5), gy = 0.4 * (s_uniform(s) - 0.5);
    double bx = W * s_uniform(s), by = H * s_uniform(s), ba = 25 * s_uniform(s);
    double base = 90 + 40 * s_uniform(s);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double d2 = ((x - bx) * (x - bx) + (y - by) * (y - by)) / (60.0 * 60.0);
            img[y * W + x] = (float) (base + gx * (x - W / 2) + gy * (y - H / 2) +
                                      ba * exp(-d2) + col[x] + 4 * s_gauss(s));
        }
}

/* kind 0: a thin dark crack (not vertical); 1: a blowhole; 2: a brighter uneven patch */
static void s_defect(float *img, int kind, uint64_t *s)
{
    int cx = 24 + (int) (80 * s_uniform(s)), cy = 24 + (int) (80 * s_uniform(s));
    if (kind == 0) {
        double a = (s_uniform(s) - 0.5) * 1.6; /* within about 45 degrees of x */
        double len = 30 + 20 * s_uniform(s), px = cx, py = cy;
        for (int i = 0; i < (int) len; i++) {
            a += 0.15 * s_gauss(s);
            px += cos(a);
            py += sin(a);
            for (int j = 0; j <= 1; j++) {
                int x = (int) px, y = (int) py + j;
                if (x >= 0 && x < W && y >= 0 && y < H)
                    img[y * W + x] -= 45;
            }
        }
    } else if (kind == 1) {
        double r = 3 + 2 * s_uniform(s);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double d = hypot(x - cx, y - cy);
                if (d < r + 1)
                    img[y * W + x] -= (float) (50 * (d < r ? 1 : r + 1 - d));
            }
    } else {
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double d = hypot((x - cx) * 1.3, y - cy);
                if (d < 14)
                    img[y * W + x] += (float) (35 + 10 * s_gauss(s));
            }
    }
}

static rv_image_t *s_to_image(const float *img)
{
    rv_image_t *im = rv_image_new(W, H, RV_GRAY8);
    rv_view_t v = rv_image_view(im);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float f = img[y * W + x];
            rv_view_row(&v, y)[x] = (uint8_t) (f < 0 ? 0 : f > 255 ? 255 : f + 0.5f);
        }
    return im;
}

static rv_image_t *s_make(int kind, uint64_t *s)
{
    float *img = malloc(sizeof(float) * W * H);
    s_surface(img, s);
    if (kind >= 0)
        s_defect(img, kind, s);
    rv_image_t *im = s_to_image(img);
    free(img);
    return im;
}

static double s_auroc(const double *pos, int np, const double *neg, int nn)
{
    double u = 0;
    for (int i = 0; i < np; i++)
        for (int j = 0; j < nn; j++)
            u += pos[i] > neg[j] ? 1 : pos[i] == neg[j] ? 0.5 : 0;
    return u / ((double) np * nn);
}

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

static void s_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t) (v >> (8 * i));
}

static void s_fix_crc(uint8_t *buf, size_t len)
{
    s_put32(buf + len - 4, s_crc32(buf, len - 4));
}

static uint8_t *s_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t) n);
    *len = fread(b, 1, (size_t) n, f);
    fclose(f);
    return b;
}

static int s_cmp_f(const void *a, const void *b)
{
    float x = *(const float *) a, y = *(const float *) b;
    return (x > y) - (x < y);
}

static uint32_t s_get32(const uint8_t *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* A version-5 file as version 4: the held-out scores (u32 count + floats before the CRC)
 * cut, so the hostile-file checks below keep their offsets from the end. The file must
 * hold one held-out score per training image (every model trained here does). */
static uint8_t *s_slurp_v4(const char *path, size_t *len)
{
    uint8_t *b = s_slurp(path, len);
    if (!b || *len < 16 || s_get32(b + 8) != 5u)
        return b;
    size_t nfeat = s_get32(b + 12);
    size_t ntr_off = 16 + 4 * nfeat + 4 * 22 + 3 * 8;
    uint64_t ntr = s_get32(b + ntr_off) | (uint64_t) s_get32(b + ntr_off + 4) << 32;
    size_t cut = 4 + 4 * (size_t) ntr;
    RS_CHECKF(s_get32(b + *len - 4 - cut) == ntr, "held-out count %u, %llu training images",
              s_get32(b + *len - 4 - cut), (unsigned long long) ntr);
    memmove(b + *len - 4 - cut, b + *len - 4, 4);
    *len -= cut;
    s_put32(b + 8, 4u);
    s_fix_crc(b, *len);
    return b;
}

/* A malformed copy must be refused with a message containing `text`. */
static void s_expect_refused(const uint8_t *buf, size_t len, const char *text)
{
    rv_surface_model_t *m = rv_surface_model_load_mem(buf, len);
    RS_CHECKF(m == NULL, "malformed model accepted (expected \"%s\")", text);
    RS_CHECK_MSG(rv_last_error(), text);
    rv_surface_model_destroy(&m);
}

/* A copy of a version-4 file without learnt features rewritten as version 3 (without the
 * four version-4 integers), version 2 (without the six version-3 integers either) or
 * version 1 (without face and topk either). */
static uint8_t *s_downgrade(const uint8_t *buf, size_t len, int nfeat, int version,
                            size_t *out_len)
{
    size_t ints = 16 + 4 * (size_t) nfeat; /* the parameter integers start here */
    int keep = version == 3 ? 18 : version == 2 ? 12 : 10;
    size_t cut_at = ints + 4 * (size_t) keep, cut = 4 * (size_t) (22 - keep);
    uint8_t *c = malloc(len);
    memcpy(c, buf, cut_at);
    memcpy(c + cut_at, buf + cut_at + cut, len - cut_at - cut);
    *out_len = len - cut;
    s_put32(c + 8, (uint32_t) version);
    s_fix_crc(c, *out_len);
    return c;
}

/* The packed kNN search against the plain reference, on odd bank sizes and dimensions. */
static void s_check_knn_kernel(void)
{
    static const int sizes[][2] = {{1, 1}, {15, 3}, {17, 7}, {33, 18}, {100, 9}, {257, 31}};
    uint64_t s = 4242;
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        int nb = sizes[t][0], D = sizes[t][1];
        rv_surface_model_t *m = rv_surface_model_new_empty();
        m->bank = malloc(sizeof(float) * (size_t) nb * D);
        m->bank_n = nb;
        m->bank_d = D;
        for (int i = 0; i < nb * D; i++)
            m->bank[i] = (float) (3 * s_gauss(&s));
        RS_CHECK_EQ(rv_surface_bank_pack(m, "test"), RV_OK);
        for (int qi = 0; qi < 20; qi++) {
            float q[64], a[8], b[8];
            for (int i = 0; i < D; i++)
                q[i] = (float) (3 * s_gauss(&s));
            int k = 1 + qi % 5 < nb ? 1 + qi % 5 : nb;
            rv_surface_knn_query(m, q, k, a);
            rv_surface_knn_query_ref(m, q, k, b);
            for (int i = 0; i < k; i++)
                RS_CHECKF(fabsf(a[i] - b[i]) <= 1e-3f * (1 + b[i]),
                          "bank %d x %d, k %d: neighbour %d at %g, reference %g", nb, D, k, i,
                          a[i], b[i]);
        }
        rv_surface_model_destroy(&m);
    }
}

/* The memory-bank mode: a defect must rank above the goods; save / load; hostile banks. */
static void s_check_knn(const rv_view_t *tv, int ntrain, uint64_t *seed)
{
    rv_surface_params_t p;
    rv_surface_params_default(&p);
    p.knn = 1;
    p.bank = 1000; /* not a multiple of the search's block */
    p.samples = 512;
    p.stride = 3;
    p.context = 3;
    rv_surface_model_t *m = rv_surface_model_train(tv, (size_t) ntrain, &p);
    RS_CHECKF(m != NULL, "knn training failed: %s", rv_last_error());
    if (!m)
        return;
    enum { NG = 18, ND = 18 };
    double good[NG], bad[ND];
    for (int i = 0; i < NG; i++) {
        rv_image_t *im = s_make(-1, seed);
        rv_view_t v = rv_image_view(im);
        RS_CHECK_EQ(rv_surface_model_score(m, &v, NULL, 0, &good[i]), RV_OK);
        rv_image_destroy(&im);
    }
    for (int i = 0; i < ND; i++) {
        rv_image_t *im = s_make(i % 3, seed);
        rv_view_t v = rv_image_view(im);
        RS_CHECK_EQ(rv_surface_model_score(m, &v, NULL, 0, &bad[i]), RV_OK);
        rv_image_destroy(&im);
    }
    double auc = s_auroc(bad, ND, good, NG);
    printf("knn synthetic held-out AUROC %.4f (threshold %.3f)\n", auc,
           rv_surface_model_threshold(m));
    RS_CHECKF(auc >= 0.9, "knn AUROC %.4f", auc);

    /* one defect against its own good surface: the defect raises the score */
    uint64_t s1 = 777, s2 = 777;
    float *img = malloc(sizeof(float) * W * H);
    s_surface(img, &s1);
    rv_image_t *gi = s_to_image(img);
    s_surface(img, &s2);
    s_defect(img, 1, &s2);
    rv_image_t *bi = s_to_image(img);
    free(img);
    rv_view_t gv = rv_image_view(gi), bv = rv_image_view(bi);
    double sg = 0, sb = 0;
    RS_CHECK_EQ(rv_surface_model_score(m, &gv, NULL, 0, &sg), RV_OK);
    RS_CHECK_EQ(rv_surface_model_score(m, &bv, NULL, 0, &sb), RV_OK);
    RS_CHECKF(sb > sg, "blowhole %.4f not above its good surface %.4f", sb, sg);

    char path[256];
    snprintf(path, sizeof path, "/tmp/test_surface_knn_%d.rvsurf", (int) getpid());
    RS_CHECK_EQ(rv_surface_model_save(m, path), RV_OK);
    rv_surface_model_t *m2 = rv_surface_model_load(path);
    RS_CHECKF(m2 != NULL, "knn load failed: %s", rv_last_error());
    if (m2) {
        const rv_surface_params_t *q = rv_surface_model_params(m2);
        RS_CHECK(q->knn == 1 && q->bank == 1000 && q->stride == 3 && q->context == 3);
        float *ma = malloc(sizeof(float) * W * H), *mb = malloc(sizeof(float) * W * H);
        double a = 0, b = 1;
        RS_CHECK_EQ(rv_surface_model_score(m, &bv, ma, W, &a), RV_OK);
        RS_CHECK_EQ(rv_surface_model_score(m2, &bv, mb, W, &b), RV_OK);
        RS_CHECKF(a == b, "knn score %.9g after load %.9g", a, b);
        RS_CHECK(memcmp(ma, mb, sizeof(float) * W * H) == 0);
        free(ma);
        free(mb);
    }
    rv_surface_model_destroy(&m2);
    rv_image_destroy(&gi);
    rv_image_destroy(&bi);

    size_t len = 0;
    uint8_t *buf = s_slurp_v4(path, &len);
    RS_CHECK(buf != NULL);
    if (buf) {
        size_t D = 9 * (size_t) p.nfeatures, nb = 1000;
        size_t bank_off = len - 4 - 4 * nb * D; /* the bank's values */
        size_t cnt_off = bank_off - 8;          /* its count, then its dimension */
        uint8_t *c = malloc(len);
        s_expect_refused(buf, len - 7, "truncated");
        memcpy(c, buf, len);
        s_put32(c + cnt_off, 0);
        s_fix_crc(c, len);
        s_expect_refused(c, len, "absurd bank count 0");
        memcpy(c, buf, len);
        s_put32(c + cnt_off, 4000000000u);
        s_fix_crc(c, len);
        s_expect_refused(c, len, "absurd bank count");
        memcpy(c, buf, len);
        s_put32(c + cnt_off + 4, 5);
        s_fix_crc(c, len);
        s_expect_refused(c, len, "bank dimension 5");
        memcpy(c, buf, len);
        s_put32(c + bank_off + 4 * 17, 0x7FC00000u); /* a NaN */
        s_fix_crc(c, len);
        s_expect_refused(c, len, "bank: bad value");
        memcpy(c, buf, len);
        c[bank_off + 4 * 100] ^= 0x01;
        s_expect_refused(c, len, "bad checksum");
        /* a knn model whose bank was cut off (count says 1000, 10 vectors left) */
        size_t cut = bank_off + 4 * 10 * D;
        memcpy(c, buf, cut);
        memcpy(c + cut, buf + len - 4, 4);
        s_fix_crc(c, cut + 4);
        s_expect_refused(c, cut + 4, "truncated: bank");
        /* the knn parameters themselves */
        size_t ints = 16 + 4 * (size_t) p.nfeatures;
        memcpy(c, buf, len);
        s_put32(c + ints + 4 * 12, 1000); /* knn */
        s_fix_crc(c, len);
        s_expect_refused(c, len, "knn 1000");
        memcpy(c, buf, len);
        s_put32(c + ints + 4 * 13, 0x7FFFFFFF); /* bank */
        s_fix_crc(c, len);
        s_expect_refused(c, len, "bank 2147483647");
        memcpy(c, buf, len);
        s_put32(c + ints + 4 * 14, 0); /* stride */
        s_fix_crc(c, len);
        s_expect_refused(c, len, "stride 0");
        free(c);
        free(buf);
    }
    remove(path);
    rv_surface_model_destroy(&m);
}

/* A horizontal ramp of random slope and sign (plus a little noise): every patch, its
 * mean removed, is a multiple of one known direction u_j = dx_j / |dx|. */
static rv_image_t *s_ramp(uint64_t *s)
{
    float *img = malloc(sizeof(float) * W * H);
    double c = (0.3 + 0.6 * s_uniform(s)) * (s_uniform(s) < 0.5 ? -1 : 1);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            img[y * W + x] = (float) (128 + c * (x - W / 2) + 0.7 * s_gauss(s));
    rv_image_t *im = s_to_image(img);
    free(img);
    return im;
}

/* Learnt patch features: the basis (a known principal direction), the eigen-solver, the
 * vectorised projection against its plain reference, the version-4 file and its hostile
 * variants, and a learnt-feature model that finds the painted defects. */
static void s_check_pca(const rv_view_t *tv, int ntrain, uint64_t *seed)
{
    /* 1. the eigen-solver on a matrix with known eigenpairs: Q diag(5, 2, 1, 0.5) Q^T */
    {
        double q[4][4] = {{0.5, 0.5, 0.5, 0.5},
                          {0.5, -0.5, 0.5, -0.5},
                          {0.5, 0.5, -0.5, -0.5},
                          {0.5, -0.5, -0.5, 0.5}};
        double lam[4] = {2, 0.5, 5, 1}, a[16], ev[4], vec[16];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                a[i * 4 + j] = 0;
                for (int k = 0; k < 4; k++)
                    a[i * 4 + j] += q[k][i] * lam[k] * q[k][j];
            }
        RS_CHECK_EQ(rv_surface_eigen_sym(a, 4, ev, vec), RV_OK);
        RS_CHECKF(fabs(ev[0] - 5) < 1e-9 && fabs(ev[1] - 2) < 1e-9 && fabs(ev[2] - 1) < 1e-9 &&
                      fabs(ev[3] - 0.5) < 1e-9,
                  "eigenvalues %g %g %g %g", ev[0], ev[1], ev[2], ev[3]);
        double dot = 0;
        for (int k = 0; k < 4; k++)
            dot += vec[k] * q[2][k];
        RS_CHECKF(fabs(fabs(dot) - 1) < 1e-9, "first eigenvector . q2 = %g", dot);
    }

    /* 2. the basis of ramps of random slope: component 0 is the ramp's direction */
    enum { NR = 12 };
    rv_image_t *ramps[NR];
    rv_view_t rv[NR];
    for (int i = 0; i < NR; i++) {
        ramps[i] = s_ramp(seed);
        rv[i] = rv_image_view(ramps[i]);
    }
    rv_surface_params_t p;
    rv_surface_params_default(&p);
    p.nfeatures = 3;
    p.features[0] = (rv_sf_def_t) {RV_SF_PCA, 0};
    p.features[1] = (rv_sf_def_t) {RV_SF_PCA, 1};
    p.features[2] = (rv_sf_def_t) {RV_SF_PCARES, 0};
    p.patch = 7;
    p.ncomp = 4;
    p.samples = 512;
    rv_surface_model_t *m = rv_surface_model_train(rv, NR, &p);
    RS_CHECKF(m != NULL, "ramp model: %s", m ? "" : rv_last_error());
    if (m) {
        const rv_sf_basis_t *b = &m->pca;
        RS_CHECK_EQ(b->dim, 49);
        RS_CHECK_EQ(b->k, 4);
        double u[49], nu = 0, dot = 0;
        for (int t = 0; t < 49; t++) {
            u[t] = t % 7 - 3;
            nu += u[t] * u[t];
        }
        for (int t = 0; t < 49; t++)
            dot += b->vec[t] * u[t] / sqrt(nu);
        RS_CHECKF(fabs(dot) > 0.995, "component 0 . ramp direction = %.5f", dot);
        RS_CHECKF(b->eig[0] > 30 * b->eig[1], "eigenvalues %g, %g: the ramp does not dominate",
                  b->eig[0], b->eig[1]);
        for (int k = 0; k < 4; k++) { /* unit, orthogonal, descending */
            for (int j = 0; j <= k; j++) {
                double d = 0;
                for (int t = 0; t < 49; t++)
                    d += b->vec[k * 49 + t] * b->vec[j * 49 + t];
                RS_CHECKF(fabs(d - (j == k)) < 1e-9, "components %d . %d = %g", j, k, d);
            }
            if (k)
                RS_CHECK(b->eig[k] <= b->eig[k - 1]);
        }
        rv_surface_model_destroy(&m);
    }
    for (int i = 0; i < NR; i++)
        rv_image_destroy(&ramps[i]);

    /* 3. a learnt-feature model on the grinding surfaces: projection against the plain
     * reference, defects above goods, save / load, hostile files */
    rv_surface_params_default(&p);
    p.nfeatures = 0;
    for (int c = 0; c < 6; c++)
        p.features[p.nfeatures++] = (rv_sf_def_t) {RV_SF_PCA, (uint16_t) c};
    p.features[p.nfeatures++] = (rv_sf_def_t) {RV_SF_PCARES, 0};
    p.patch = 5;
    p.pstep = 2;
    p.ncomp = 0; /* automatic: 6 */
    p.samples = 1024;
    p.topk = 20;
    m = rv_surface_model_train(tv, (size_t) ntrain, &p);
    RS_CHECKF(m != NULL, "learnt-feature model: %s", m ? "" : rv_last_error());
    if (!m)
        return;
    RS_CHECK_EQ(rv_surface_model_params(m)->ncomp, 6);
    {
        /* the row-wise (vectorised) projection against the per-pixel double reference,
         * borders included, whitened and not */
        int w = W, h = H, K = m->pca.k;
        float *img = malloc(sizeof(float) * W * H);
        float *planes = malloc(sizeof(float) * W * H * (size_t) (2 * K));
        for (int i = 0; i < W * H; i++)
            img[i] = (float) (20 + 3 * s_gauss(seed));
        for (int white = 1; white >= 0; white--) {
            m->p.pwhite = white;
            RS_CHECK_EQ(rv_surface_pca_prepare(m, "test"), RV_OK);
            RS_CHECK_EQ(rv_surface_pca_project(m, img, w, h, planes, "test"), RV_OK);
            static const int px[][2] = {{0, 0}, {1, 2}, {W - 1, H - 1}, {64, 64}, {W - 3, 5},
                                        {7, H - 2}, {100, 31}};
            for (size_t i = 0; i < sizeof px / sizeof px[0]; i++) {
                double ref[2 * RV_SURFACE_MAX_FEATURES];
                rv_surface_pca_project_ref(m, img, w, h, px[i][0], px[i][1], ref);
                for (int k = 0; k < 2 * K; k++) {
                    float v = planes[(size_t) k * W * H + (size_t) px[i][1] * W + px[i][0]];
                    RS_CHECKF(fabs(v - ref[k]) <= 1e-3 * (1 + fabs(ref[k])),
                              "white %d, pixel (%d,%d), plane %d: %g, reference %g", white,
                              px[i][0], px[i][1], k, v, ref[k]);
                }
            }
        }
        m->p.pwhite = 1;
        RS_CHECK_EQ(rv_surface_pca_prepare(m, "test"), RV_OK);
        free(img);
        free(planes);
    }
    enum { NG = 16, ND = 16 };
    double good[NG], bad[ND];
    uint64_t s2 = 777;
    for (int i = 0; i < NG + ND; i++) {
        rv_image_t *im = s_make(i < NG ? -1 : (i - NG) % 2, &s2); /* cracks, blowholes */
        rv_view_t v = rv_image_view(im);
        RS_CHECK_EQ(rv_surface_model_score(m, &v, NULL, 0, i < NG ? &good[i] : &bad[i - NG]),
                    RV_OK);
        rv_image_destroy(&im);
    }
    double au = s_auroc(bad, ND, good, NG);
    printf("learnt features (pcs:6 + pcares, patch 5, step 2): AUROC %.3f\n", au);
    RS_CHECKF(au >= 0.9, "learnt features: AUROC %.3f on cracks and blowholes", au);

    char path[64];
    snprintf(path, sizeof path, "/tmp/test_surface_pca_%d.rvsurf", (int) getpid());
    RS_CHECK_EQ(rv_surface_model_save(m, path), RV_OK);
    rs_fuzz_seed("surface-pca", 1, NULL, 0, path);
    rv_surface_model_t *m2 = rv_surface_model_load(path);
    RS_CHECKF(m2 != NULL, "version-4 file refused: %s", m2 ? "" : rv_last_error());
    if (m2) {
        uint64_t s3 = 9;
        rv_image_t *im = s_make(0, &s3);
        rv_view_t v = rv_image_view(im);
        double a = 0, b2 = 1;
        RS_CHECK_EQ(rv_surface_model_score(m, &v, NULL, 0, &a), RV_OK);
        RS_CHECK_EQ(rv_surface_model_score(m2, &v, NULL, 0, &b2), RV_OK);
        RS_CHECKF(a == b2, "loaded learnt model scores %.9g, trained %.9g", b2, a);
        RS_CHECK_EQ(rv_surface_model_params(m2)->patch, 5);
        RS_CHECK_EQ(rv_surface_model_params(m2)->pstep, 2);
        rv_image_destroy(&im);
    }
    rv_surface_model_destroy(&m2);

    size_t len = 0;
    uint8_t *buf = s_slurp_v4(path, &len);
    RS_CHECK(buf != NULL);
    if (buf) {
        size_t D = 25, K = 6, nf = (size_t) p.nfeatures;
        size_t vec_off = len - 4 - 8 * K * D, eig_off = vec_off - 8 * K;
        size_t mean_off = eig_off - 8 * D, tot_off = mean_off - 8, dims_off = tot_off - 8;
        size_t ints = 16 + 4 * nf;
        uint8_t *c = malloc(len);
        double v;
        s_expect_refused(buf, len - 9, "truncated");
        /* the basis cut off */
        memcpy(c, buf, eig_off);
        memcpy(c + eig_off, buf + len - 4, 4);
        s_fix_crc(c, eig_off + 4);
        s_expect_refused(c, eig_off + 4, "truncated: basis");
        memcpy(c, buf, len);
        s_put32(c + dims_off, 24); /* dim */
        s_fix_crc(c, len);
        s_expect_refused(c, len, "basis of 6 x 24");
        memcpy(c, buf, len);
        s_put32(c + dims_off + 4, 5); /* k */
        s_fix_crc(c, len);
        s_expect_refused(c, len, "basis of 5 x 25");
        memcpy(c, buf, len);
        v = -1.0; /* the second eigenvalue */
        memcpy(c + eig_off + 8, &v, 8);
        s_fix_crc(c, len);
        s_expect_refused(c, len, "not positive and descending");
        memcpy(c, buf, len);
        memcpy(&v, c + eig_off, 8);
        v *= 0.5; /* the first below the second */
        memcpy(c + eig_off, &v, 8);
        s_fix_crc(c, len);
        s_expect_refused(c, len, "not positive and descending");
        memcpy(c, buf, len);
        memcpy(&v, c + vec_off + 8 * 3, 8);
        v += 0.5; /* component 0 no longer a unit vector */
        memcpy(c + vec_off + 8 * 3, &v, 8);
        s_fix_crc(c, len);
        s_expect_refused(c, len, "has norm");
        memcpy(c, buf, len);
        memcpy(c + vec_off + 8 * D, c + vec_off, 8 * D); /* component 1 = component 0 */
        s_fix_crc(c, len);
        s_expect_refused(c, len, "not orthogonal");
        memcpy(c, buf, len);
        v = NAN;
        memcpy(c + mean_off + 8 * 2, &v, 8);
        s_fix_crc(c, len);
        s_expect_refused(c, len, "bad mean");
        memcpy(c, buf, len);
        v = 0;
        memcpy(c + tot_off, &v, 8);
        s_fix_crc(c, len);
        s_expect_refused(c, len, "total variance");
        /* the parameters */
        memcpy(c, buf, len);
        s_put32(c + ints + 4 * 18, 4); /* patch: even */
        s_fix_crc(c, len);
        s_expect_refused(c, len, "patch 4");
        memcpy(c, buf, len);
        s_put32(c + ints + 4 * 18, 17); /* patch: too large */
        s_fix_crc(c, len);
        s_expect_refused(c, len, "patch 17");
        memcpy(c, buf, len);
        s_put32(c + ints + 4 * 19, 3); /* ncomp below the features' component 5 */
        s_fix_crc(c, len);
        s_expect_refused(c, len, "learnt component 3, the basis keeps 3");
        memcpy(c, buf, len);
        s_put32(c + ints + 4 * 20, 9); /* pstep */
        s_fix_crc(c, len);
        s_expect_refused(c, len, "pstep 9");
        memcpy(c, buf, len);
        s_put32(c + 16 + 4 * 6, (uint32_t) RV_SF_PCARES | (9u << 16)); /* pcares:9 */
        s_fix_crc(c, len);
        s_expect_refused(c, len, "residual outside 9 components, the basis keeps 6");
        /* learnt features in a version-3 file: refused */
        size_t ol = 0;
        uint8_t *old = s_downgrade(buf, len, p.nfeatures, 3, &ol);
        s_expect_refused(old, ol, "learnt features in a version 3 file");
        free(old);
        free(c);
        free(buf);
    }
    remove(path);
    /* bad parameters */
    rv_surface_params_t bp = p;
    bp.features[0].size = 30;
    RS_CHECK(rv_surface_model_train(tv, (size_t) ntrain, &bp) == NULL);
    RS_CHECK_MSG(rv_last_error(), "ncomp 31");
    bp = p;
    bp.ncomp = 26;
    RS_CHECK(rv_surface_model_train(tv, (size_t) ntrain, &bp) == NULL);
    RS_CHECK_MSG(rv_last_error(), "ncomp 26");
    rv_surface_model_destroy(&m);
}

/* The curvature features against their closed form and their purpose: a dark Gaussian
 * blob of depth A and sigma b, blurred by sigma s = k / 4, has the Hessian A b^2 / (b^2 +
 * s^2)^2 in both directions at its centre, so DARKBLOB there is s^2 times that; a dark
 * line gives DARKBLOB ~0 (under 3 % of its ridge: second differences of a line at 30
 * degrees) and DARKRIDGE > 0; a blob gives DARKRIDGE ~0 at its centre; a bright blob
 * gives neither. Sizes odd (97 x 83) so no power of two hides an indexing
 * slip. */
static void s_check_curvature(void)
{
    enum { CW = 97, CH = 83 };
    float *img = malloc(sizeof(float) * CW * CH), *t1 = malloc(sizeof(float) * CW * CH),
          *t2 = malloc(sizeof(float) * CW * CH), *blob = malloc(sizeof(float) * CW * CH);
    const double A = 40, b = 3, cx = 41.0, cy = 37.0;
    int k = 13;
    double s = k / 4.0, s2 = s * s;
    /* a dark blob */
    for (int y = 0; y < CH; y++)
        for (int x = 0; x < CW; x++)
            img[y * CW + x] = (float) (100 - A * exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) /
                                                     (2 * b * b)));
    memcpy(blob, img, sizeof(float) * CW * CH);
    rv_surface_curvature(img, t1, t2, CW, CH, k, RV_SF_DARKBLOB);
    int at = 0;
    for (int i = 1; i < CW * CH; i++)
        if (img[i] > img[at])
            at = i;
    double want = s2 * A * b * b / ((b * b + s2) * (b * b + s2));
    printf("curvature: blob peak %.3f at (%d,%d), closed form %.3f\n", img[at], at % CW,
           at / CW, want);
    RS_CHECKF(at % CW == (int) cx && at / CW == (int) cy, "blob peak at (%d,%d)", at % CW,
              at / CW);
    RS_CHECKF(fabs(img[at] - want) < 0.03 * want, "blob %.4f, closed form %.4f", img[at], want);
    float blob_peak = img[at];
    memcpy(img, blob, sizeof(float) * CW * CH);
    rv_surface_curvature(img, t1, t2, CW, CH, k, RV_SF_DARKRIDGE);
    RS_CHECKF(img[(int) cy * CW + (int) cx] < 0.02f * blob_peak, "ridge %.4f at a blob's centre",
              img[(int) cy * CW + (int) cx]);
    /* a bright blob: no dark curvature anywhere */
    for (int i = 0; i < CW * CH; i++)
        img[i] = 200 - blob[i];
    rv_surface_curvature(img, t1, t2, CW, CH, k, RV_SF_DARKBLOB);
    float mx = 0;
    for (int i = 0; i < CW * CH; i++)
        mx = img[i] > mx ? img[i] : mx;
    RS_CHECKF(mx < 1e-3f * blob_peak, "a bright blob gives dark-blob %.4f", mx);
    /* a dark straight line at 30 degrees, sigma 1.5 across */
    double nx = -sin(0.5236), ny = cos(0.5236);
    for (int y = 0; y < CH; y++)
        for (int x = 0; x < CW; x++) {
            double dd = (x - cx) * nx + (y - cy) * ny;
            img[y * CW + x] = (float) (100 - A * exp(-dd * dd / (2 * 1.5 * 1.5)));
        }
    memcpy(blob, img, sizeof(float) * CW * CH);
    rv_surface_curvature(img, t1, t2, CW, CH, 9, RV_SF_DARKBLOB);
    float lb = 0, lr = 0;
    for (int y = 12; y < CH - 12; y++) /* away from the replicated borders */
        for (int x = 12; x < CW - 12; x++)
            lb = img[y * CW + x] > lb ? img[y * CW + x] : lb;
    memcpy(img, blob, sizeof(float) * CW * CH);
    rv_surface_curvature(img, t1, t2, CW, CH, 9, RV_SF_DARKRIDGE);
    for (int y = 12; y < CH - 12; y++)
        for (int x = 12; x < CW - 12; x++)
            lr = img[y * CW + x] > lr ? img[y * CW + x] : lr;
    printf("curvature: line ridge %.3f, line blob %.5f\n", lr, lb);
    RS_CHECKF(lr > 5.0f, "a dark line's ridge %.4f", lr);
    RS_CHECKF(lb < 0.03f * lr, "a dark line's blob %.4f against ridge %.4f", lb, lr);
    /* the sizes the parameters accept */
    rv_surface_params_t p;
    rv_surface_params_default(&p);
    p.nfeatures = 1;
    p.features[0] = (rv_sf_def_t) {RV_SF_DARKBLOB, 103};
    RS_CHECK(rv_surface_check_params(&p, "test") < 0);
    RS_CHECK_MSG(rv_last_error(), "curvature size 103");
    p.features[0] = (rv_sf_def_t) {RV_SF_DARKRIDGE, 101};
    RS_CHECK_EQ(rv_surface_check_params(&p, "test"), RV_OK);
    free(img);
    free(t1);
    free(t2);
    free(blob);
}

/* A model on the dark-blob feature alone: blowholes painted on the grinding texture rank
 * above held-out goods, through training, extraction and the top-k score. */
static void s_check_blob_model(const rv_view_t *tv, int n, uint64_t *seed)
{
    rv_surface_params_t p;
    rv_surface_params_default(&p);
    p.nfeatures = 1;
    p.features[0] = (rv_sf_def_t) {RV_SF_DARKBLOB, 9};
    p.norm = 1;
    p.topk = 5;
    rv_surface_model_t *m = rv_surface_model_train(tv, (size_t) n, &p);
    RS_CHECKF(m != NULL, "blob model: %s", rv_last_error());
    if (!m)
        return;
    double good[12], bad[12];
    for (int i = 0; i < 12; i++) {
        rv_image_t *g = s_make(-1, seed), *d = s_make(1, seed);
        rv_view_t gv = rv_image_view(g), dv = rv_image_view(d);
        RS_CHECK_EQ(rv_surface_model_score(m, &gv, NULL, 0, &good[i]), RV_OK);
        RS_CHECK_EQ(rv_surface_model_score(m, &dv, NULL, 0, &bad[i]), RV_OK);
        rv_image_destroy(&g);
        rv_image_destroy(&d);
    }
    double auc = s_auroc(bad, 12, good, 12);
    printf("dark-blob model: blowholes against goods AUROC %.3f\n", auc);
    RS_CHECKF(auc >= 0.95, "dark-blob model AUROC %.3f", auc);
    rv_surface_model_destroy(&m);
}

/* A near-vertical crack (kind 0: a dark line wandering about the y axis, ~40 px, ending
 * inside the image), a full-height dark grinding streak of the same depth (kind 1), a
 * step in brightness across the whole width (kind 2: the edge of an unground band), or
 * one down the whole height (kind 3). *at: a point on the painted feature. */
static rv_image_t *s_make_line(int kind, uint64_t *s, int *at_x, int *at_y)
{
    float *img = malloc(sizeof(float) * W * H);
    s_surface(img, s);
    int cx = 30 + (int) (68 * s_uniform(s)), cy = 30 + (int) (68 * s_uniform(s));
    *at_x = cx;
    *at_y = cy;
    if (kind == 0) {
        double a = 1.5707963 + 0.3 * (s_uniform(s) - 0.5), px = cx, py = cy - 20;
        for (int i = 0; i < 40; i++) {
            a += 0.12 * s_gauss(s);
            px += cos(a);
            py += sin(a);
            for (int j = 0; j <= 1; j++) {
                int x = (int) px + j, y = (int) py;
                if (x >= 0 && x < W && y >= 0 && y < H)
                    img[y * W + x] -= 40;
            }
        }
    } else if (kind == 1) {
        for (int y = 0; y < H; y++)
            for (int j = 0; j <= 1; j++)
                img[y * W + cx + j] -= 40;
    } else {
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                if (kind == 2 ? y >= cy : x >= cx)
                    img[y * W + x] += 25;
    }
    rv_image_t *im = s_to_image(img);
    free(img);
    return im;
}

/* RV_SF_CRACKLINE and RV_SF_HSTEP, each alone in a model trained on the goods tv[n]: the
 * crack scores above the goods and above a full-height streak as dark (which the column
 * median cancels), and its map peaks on it; the horizontal step above the goods and above a
 * vertical step as large (which the mean along x cancels), its map peaking on the step's
 * row. */
static void s_check_line_features(const rv_view_t *tv, int n, uint64_t *seed)
{
    static const struct {
        int kind, size, topk, hit, miss;
        const char *name, *hit_name, *miss_name;
    } cs[2] = {{RV_SF_CRACKLINE, 9, 5, 0, 1, "crack:9", "short crack", "full-height streak"},
               {RV_SF_HSTEP, 9, 20, 2, 3, "hstep:9", "step across x", "step down y"}};
    for (int c = 0; c < 2; c++) {
        rv_surface_params_t p;
        rv_surface_params_default(&p);
        p.nfeatures = 1;
        p.features[0] = (rv_sf_def_t) {(uint16_t) cs[c].kind, (uint16_t) cs[c].size};
        p.norm = 1;
        p.topk = cs[c].topk;
        rv_surface_model_t *m = rv_surface_model_train(tv, (size_t) n, &p);
        RS_CHECKF(m != NULL, "%s model: %s", cs[c].name, rv_last_error());
        if (!m)
            continue;
        enum { N = 12 };
        double good[N], hit[N], miss[N];
        int on_it = 0;
        float *map = malloc(sizeof(float) * W * H);
        for (int i = 0; i < N; i++) {
            int hx, hy, mx, my;
            rv_image_t *g = s_make(-1, seed), *a = s_make_line(cs[c].hit, seed, &hx, &hy),
                       *b = s_make_line(cs[c].miss, seed, &mx, &my);
            rv_view_t gv = rv_image_view(g), av = rv_image_view(a), bv = rv_image_view(b);
            RS_CHECK_EQ(rv_surface_model_score(m, &gv, NULL, 0, &good[i]), RV_OK);
            RS_CHECK_EQ(rv_surface_model_score(m, &av, map, W, &hit[i]), RV_OK);
            RS_CHECK_EQ(rv_surface_model_score(m, &bv, NULL, 0, &miss[i]), RV_OK);
            int bx = 0, by = 0;
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    if (map[y * W + x] > map[by * W + bx]) {
                        bx = x;
                        by = y;
                    }
            /* the crack: within its own 40 px run about (hx, hy); the step: on its row */
            on_it += c == 0 ? (abs(bx - hx) <= 12 && abs(by - hy) <= 24) : abs(by - hy) <= 5;
            rv_image_destroy(&g);
            rv_image_destroy(&a);
            rv_image_destroy(&b);
        }
        free(map);
        double auc_good = s_auroc(hit, N, good, N), auc_miss = s_auroc(hit, N, miss, N);
        printf("%s model: %s against goods AUROC %.3f, against a %s %.3f; map peak on it "
               "%d of %d\n",
               cs[c].name, cs[c].hit_name, auc_good, cs[c].miss_name, auc_miss, on_it, N);
        RS_CHECKF(auc_good >= 0.95, "%s: %s against goods AUROC %.3f", cs[c].name,
                  cs[c].hit_name, auc_good);
        RS_CHECKF(auc_miss >= 0.9, "%s: %s against a %s AUROC %.3f", cs[c].name,
                  cs[c].hit_name, cs[c].miss_name, auc_miss);
        RS_CHECKF(on_it >= N - 1, "%s: the map peaks on the %s in %d of %d", cs[c].name,
                  cs[c].hit_name, on_it, N);
        rv_surface_model_destroy(&m);
    }
}

/* rv_surface_line_dir against its definition computed here pixel by pixel (every tap
 * clamped to the image), on odd sizes, lines longer than the image and of one pixel,
 * every direction. */
static void s_check_line_dir(uint64_t *seed)
{
    static const int sz[][2] = {{17, 16}, {53, 41}, {97, 83}, {8, 200}};
    static const int lens[] = {1, 9, 31};
    double worst = 0;
    for (size_t a = 0; a < sizeof sz / sizeof *sz; a++) {
        int w = sz[a][0], h = sz[a][1];
        float *R = malloc(sizeof(float) * (size_t) w * h);
        float *d = malloc(sizeof(float) * (size_t) w * h);
        for (int i = 0; i < w * h; i++)
            R[i] = (float) (2 * s_uniform(seed));
        for (size_t b = 0; b < sizeof lens / sizeof *lens; b++)
            for (int t = 0; t < RV_SF_LINE_DIRS; t++) {
                rv_surface_line_dir(R, w, h, lens[b], t, d);
                double th = 3.14159265358979323846 * t / RV_SF_LINE_DIRS;
                int r = lens[b] / 2;
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) {
                        double acc = 0;
                        for (int q = -r; q <= r; q++) {
                            double fx = fmin(w - 1, fmax(0, x + q * cos(th)));
                            double fy = fmin(h - 1, fmax(0, y + q * sin(th)));
                            int x0 = (int) fx, y0 = (int) fy, x1 = x0 + 1 < w ? x0 + 1 : x0,
                                y1 = y0 + 1 < h ? y0 + 1 : y0;
                            double ax = fx - x0, ay = fy - y0;
                            acc += (1 - ay) * ((1 - ax) * R[y0 * w + x0] + ax * R[y0 * w + x1]) +
                                   ay * ((1 - ax) * R[y1 * w + x0] + ax * R[y1 * w + x1]);
                        }
                        double e = fabs(d[y * w + x] - acc / (2 * r + 1));
                        worst = e > worst ? e : worst;
                    }
            }
        free(R);
        free(d);
    }
    printf("line directions: worst difference from the definition %.2g\n", worst);
    RS_CHECKF(worst < 1e-5, "line directions differ from the definition by %.3g", worst);
}

/* RV_SF_LINEMAX alone in a model trained on the goods tv[n] (streaked by their grinding):
 * a thin crack within 45 degrees of x and a near-vertical one, each as dark as the
 * streaks are deep, score above the goods, and the map peaks on the near-vertical one. */
static void s_check_line_model(const rv_view_t *tv, int n, uint64_t *seed)
{
    rv_surface_params_t p;
    rv_surface_params_default(&p);
    p.nfeatures = 1;
    p.features[0] = (rv_sf_def_t) {RV_SF_LINEMAX, 31};
    p.norm = 1;
    p.topk = 5;
    rv_surface_model_t *m = rv_surface_model_train(tv, (size_t) n, &p);
    RS_CHECKF(m != NULL, "line:31 model: %s", rv_last_error());
    if (!m)
        return;
    enum { N = 12 };
    double good[N], across[N], along[N];
    int on_it = 0;
    float *map = malloc(sizeof(float) * W * H);
    for (int i = 0; i < N; i++) {
        int hx, hy;
        rv_image_t *g = s_make(-1, seed), *a = s_make(0, seed), *b = s_make_line(0, seed, &hx, &hy);
        rv_view_t gv = rv_image_view(g), av = rv_image_view(a), bv = rv_image_view(b);
        RS_CHECK_EQ(rv_surface_model_score(m, &gv, NULL, 0, &good[i]), RV_OK);
        RS_CHECK_EQ(rv_surface_model_score(m, &av, NULL, 0, &across[i]), RV_OK);
        RS_CHECK_EQ(rv_surface_model_score(m, &bv, map, W, &along[i]), RV_OK);
        /* the peak inside the border the score leaves out, as the score looks */
        int e = p.border, bx = e, by = e;
        for (int y = e; y < H - e; y++)
            for (int x = e; x < W - e; x++)
                if (map[y * W + x] > map[by * W + bx]) {
                    bx = x;
                    by = y;
                }
        on_it += abs(bx - hx) <= 12 && abs(by - hy) <= 24;
        rv_image_destroy(&g);
        rv_image_destroy(&a);
        rv_image_destroy(&b);
    }
    free(map);
    double auc_across = s_auroc(across, N, good, N), auc_along = s_auroc(along, N, good, N);
    printf("line:31 model: cracks across the streaks against goods AUROC %.3f, along them "
           "%.3f; map peak on the crack along them %d of %d\n",
           auc_across, auc_along, on_it, N);
    RS_CHECKF(auc_across >= 0.95, "line:31: cracks across, AUROC %.3f", auc_across);
    RS_CHECKF(auc_along >= 0.95, "line:31: cracks along, AUROC %.3f", auc_along);
    RS_CHECKF(on_it >= N - 1, "line:31: the map peaks on the crack in %d of %d", on_it, N);
    rv_surface_model_destroy(&m);
}

/* Held-out scores, surprise and channels (rv_surface.h), and their part of the version-5
 * file. m: a model trained on tv[n] with the defaults. */
static void s_check_channels(rv_surface_model_t *m, const rv_view_t *tv, int n, uint64_t *seed)
{
    size_t nh = 0;
    const float *held = rv_surface_model_heldout(m, &nh);
    RS_CHECKF(held != NULL && nh == (size_t) n, "held-out scores: %zu for %d images", nh, n);
    if (!held)
        return;
    /* surprise: 0 below every good; the empirical -ln((c + 1) / (n + 1)) in the body;
     * non-decreasing; beyond every good still rising */
    float lo = held[0], hi = held[0];
    for (size_t i = 1; i < nh; i++) {
        lo = held[i] < lo ? held[i] : lo;
        hi = held[i] > hi ? held[i] : hi;
    }
    RS_CHECK(rv_surface_model_surprise(m, lo - 1.0) == 0.0);
    float *asc = malloc(nh * sizeof *asc);
    memcpy(asc, held, nh * sizeof *asc);
    qsort(asc, nh, sizeof *asc, s_cmp_f);
    double body = asc[nh / 2]; /* the median: inside the empirical part */
    size_t c = 0;
    for (size_t i = 0; i < nh; i++)
        c += held[i] >= body;
    double want = -log((double) (c + 1) / (double) (nh + 1));
    RS_CHECKF(fabs(rv_surface_model_surprise(m, body) - want) < 1e-12,
              "surprise at the median %.6f, want %.6f", rv_surface_model_surprise(m, body),
              want);
    double prev = -1;
    for (int i = 0; i <= 200; i++) {
        double sc = lo - 0.5 + (hi - lo + 1.5) * i / 200.0;
        double su = rv_surface_model_surprise(m, sc);
        RS_CHECKF(su >= prev, "surprise falls at %.4f: %.6f after %.6f", sc, su, prev);
        prev = su;
    }
    RS_CHECKF(rv_surface_model_surprise(m, hi + 1.0) > rv_surface_model_surprise(m, hi),
              "surprise beyond every good does not rise");
    RS_CHECKF(rv_surface_model_surprise(m, hi) > log((double) (nh + 1) / 4.0),
              "surprise at the top good %.3f", rv_surface_model_surprise(m, hi));
    free(asc);

    /* a second channel for small dark pits, and the pair */
    rv_surface_params_t bp;
    rv_surface_params_default(&bp);
    bp.nfeatures = 1;
    bp.features[0] = (rv_sf_def_t) {RV_SF_DARKBLOB, 9};
    bp.norm = 1;
    bp.topk = 5;
    rv_surface_model_t *mb = rv_surface_model_train(tv, (size_t) n, &bp);
    RS_CHECKF(mb != NULL, "blob channel: %s", rv_last_error());
    if (!mb)
        return;
    rv_surface_model_t *ch[2] = {m, mb};
    double thr = 0;
    RS_CHECK_EQ(rv_surface_channels_threshold(ch, 2, 0, &thr), RV_OK);
    /* the threshold is the (1 - fa) quantile of the combined held-out surprises, each
     * held-out score judged against the others: -ln(c / n), c counting itself */
    size_t nb = 0;
    const float *hb = rv_surface_model_heldout(mb, &nb);
    float *comb = malloc(nh * sizeof *comb);
    for (size_t i = 0; i < nh; i++)
        comb[i] = (float) (rv_surface_model_surprise_own(m, held[i]) +
                           rv_surface_model_surprise_own(mb, hb[i]));
    {
        size_t cb = 0;
        for (size_t i = 0; i < nh; i++)
            cb += held[i] >= body;
        double own = rv_surface_model_surprise_own(m, body), want_own = -log((double) cb / nh);
        RS_CHECKF(fabs(own - want_own) < 1e-12, "own surprise at the median %.6f, want %.6f",
                  own, want_own);
        RS_CHECKF(own > rv_surface_model_surprise(m, body),
                  "a held-out score judged against the others is more surprising");
        RS_CHECK(rv_surface_model_surprise_own(m, lo - 1.0) == 0.0); /* every good above */
    }
    qsort(comb, nh, sizeof *comb, s_cmp_f);
    /* rank ceil(0.98 (n + 1)), at most n */
    size_t idx = (size_t) fmin((double) nh, ceil(0.98 * (double) (nh + 1) - 1e-9)) - 1;
    RS_CHECKF(thr == comb[idx], "channels threshold %.6f, the quantile %.6f", thr, comb[idx]);
    /* with a floor, the same quantile of the truncated sums */
    for (size_t i = 0; i < nh; i++) {
        double a = rv_surface_model_surprise_own(m, held[i]),
               b = rv_surface_model_surprise_own(mb, hb[i]);
        comb[i] = (float) ((a > 1.5 ? a - 1.5 : 0) + (b > 1.5 ? b - 1.5 : 0));
    }
    qsort(comb, nh, sizeof *comb, s_cmp_f);
    double thr_f = -1;
    RS_CHECK_EQ(rv_surface_channels_threshold(ch, 2, 1.5, &thr_f), RV_OK);
    RS_CHECKF(thr_f == comb[idx], "floor 1.5: channels threshold %.6f, the quantile %.6f", thr_f,
              comb[idx]);
    free(comb);
    {   /* the truncated sum: one strong channel beside ordinary ones */
        const double e[3] = {3.0, 0.5, 0.8};
        RS_CHECK(fabs(rv_surface_channels_combine(e, 3, 0) - 4.3) < 1e-12);
        RS_CHECK(fabs(rv_surface_channels_combine(e, 3, 1.0) - 2.0) < 1e-12);
        RS_CHECK(rv_surface_channels_combine(e, 3, 3.0) == 0.0);
    }
    /* held-out goods against blowholes and cracks: the pair ranks them */
    double good[10], bad[10];
    float *map = malloc(sizeof(float) * W * H), *m0 = malloc(sizeof(float) * W * H);
    for (int i = 0; i < 10; i++) {
        rv_image_t *g = s_make(-1, seed), *d = s_make(i % 2 ? 1 : 0, seed);
        rv_view_t gv = rv_image_view(g), dv = rv_image_view(d);
        RS_CHECK_EQ(rv_surface_channels_score(ch, 2, 0, &gv, NULL, 0, &good[i], NULL), RV_OK);
        double each[2] = {-9, -9};
        RS_CHECK_EQ(rv_surface_channels_score(ch, 2, 0, &dv, map, W, &bad[i], each), RV_OK);
        double s0 = 0, s1 = 0;
        RS_CHECK_EQ(rv_surface_model_score(m, &dv, NULL, 0, &s0), RV_OK);
        RS_CHECK_EQ(rv_surface_model_score(mb, &dv, NULL, 0, &s1), RV_OK);
        double e0 = rv_surface_model_surprise(m, s0), e1 = rv_surface_model_surprise(mb, s1);
        RS_CHECKF(fabs(bad[i] - (e0 + e1)) < 1e-9, "channels score %.9g, sum of surprises %.9g",
                  bad[i], e0 + e1);
        RS_CHECKF(each[0] == e0 && each[1] == e1, "each channel %.9g %.9g, surprises %.9g %.9g",
                  each[0], each[1], e0, e1);
        /* floor 1: each channel counts only what it has beyond 1 */
        double tr = -1, want_tr = (e0 > 1 ? e0 - 1 : 0) + (e1 > 1 ? e1 - 1 : 0);
        RS_CHECK_EQ(rv_surface_channels_score(ch, 2, 1.0, &dv, NULL, 0, &tr, NULL), RV_OK);
        RS_CHECKF(fabs(tr - want_tr) < 1e-9, "floor 1: channels score %.9g, want %.9g", tr,
                  want_tr);
        if (i == 0) { /* one channel: its map over its threshold */
            double s;
            RS_CHECK_EQ(rv_surface_channels_score(ch, 1, 0, &dv, map, W, &s, NULL), RV_OK);
            RS_CHECK_EQ(rv_surface_model_score(m, &dv, m0, W, NULL), RV_OK);
            double t0 = rv_surface_model_threshold(m);
            int same = 1;
            for (int k = 0; k < W * H; k++)
                same &= map[k] == (float) (m0[k] / t0);
            RS_CHECK(same);
        }
        rv_image_destroy(&g);
        rv_image_destroy(&d);
    }
    free(map);
    free(m0);
    double auc = s_auroc(bad, 10, good, 10);
    printf("channels (default + dark blob): cracks and blowholes against goods AUROC %.3f, "
           "threshold %.3f\n", auc, thr);
    RS_CHECKF(auc >= 0.95, "channels AUROC %.3f", auc);

    /* refused: different training sets, no held-out scores (a version-4 file), too many */
    rv_surface_model_t *m5 = rv_surface_model_train(tv, (size_t) n - 5, &bp);
    rv_surface_model_t *mix[2] = {m, m5};
    RS_CHECK(rv_surface_channels_threshold(mix, 2, 0, &thr) < 0);
    RS_CHECK_MSG(rv_last_error(), "not trained on the same images");
    RS_CHECK(rv_surface_channels_score(ch, RV_SURFACE_MAX_CHANNELS + 1, 0, &tv[0], NULL, 0,
                                       &thr, NULL) < 0);
    /* the floor: out of range, refused naming it */
    const double bad_floor[3] = {-0.5, NAN, RV_SURFACE_MAX_FLOOR + 1};
    for (int k = 0; k < 3; k++) {
        RS_CHECK(rv_surface_channels_score(ch, 2, bad_floor[k], &tv[0], NULL, 0, &thr, NULL) <
                 0);
        RS_CHECK_MSG(rv_last_error(), "floor");
        RS_CHECK(rv_surface_channels_threshold(ch, 2, bad_floor[k], &thr) < 0);
        RS_CHECK_MSG(rv_last_error(), "floor");
    }
    char path[64];
    snprintf(path, sizeof path, "/tmp/test_surface_ch_%d.rvsurf", (int) getpid());
    RS_CHECK_EQ(rv_surface_model_save(mb, path), RV_OK);
    rv_surface_model_t *ml = rv_surface_model_load(path);
    RS_CHECKF(ml != NULL, "version-5 file refused: %s", ml ? "" : rv_last_error());
    if (ml) { /* the held-out scores survive the file */
        size_t nl = 0;
        const float *hl = rv_surface_model_heldout(ml, &nl);
        RS_CHECK(nl == nb && hl && memcmp(hl, hb, nb * sizeof *hb) == 0);
        RS_CHECK(rv_surface_model_surprise(ml, 3.0) == rv_surface_model_surprise(mb, 3.0));
    }
    size_t len = 0;
    uint8_t *buf = s_slurp(path, &len);
    RS_CHECK(buf != NULL && len > 4 + 4 * nb);
    if (buf) {
        size_t cnt_off = len - 4 - 4 * nb - 4;
        uint8_t *cp = malloc(len);
        memcpy(cp, buf, len);
        s_put32(cp + cnt_off, (uint32_t) nb + 1);
        s_fix_crc(cp, len);
        s_expect_refused(cp, len, "absurd held-out count");
        memcpy(cp, buf, len);
        s_put32(cp + cnt_off + 4 + 4 * 3, 0x7fc00000u); /* score 3: a NaN */
        s_fix_crc(cp, len);
        s_expect_refused(cp, len, "held-out score 3 is not finite");
        memcpy(cp, buf, len - 4 - 8);
        s_put32(cp + len - 12, s_crc32(cp, len - 12));
        s_expect_refused(cp, len - 8, "truncated");
        free(cp);
        free(buf);
    }
    size_t l4 = 0;
    uint8_t *v4 = s_slurp_v4(path, &l4);
    rv_surface_model_t *old = v4 ? rv_surface_model_load_mem(v4, l4) : NULL;
    RS_CHECKF(old != NULL, "version-4 rendition refused: %s", old ? "" : rv_last_error());
    if (old) {
        size_t n0 = 1;
        RS_CHECK(rv_surface_model_heldout(old, &n0) == NULL && n0 == 0);
        RS_CHECK(rv_surface_model_surprise(old, 1.0) == -1.0);
        rv_surface_model_t *och[2] = {m, old};
        RS_CHECK(rv_surface_channels_threshold(och, 2, 0, &thr) < 0);
        RS_CHECK_MSG(rv_last_error(), "before version 5");
    }
    free(v4);
    remove(path);
    rv_surface_model_destroy(&old);
    rv_surface_model_destroy(&ml);
    rv_surface_model_destroy(&m5);
    rv_surface_model_destroy(&mb);
}

/* Face mode 2 (the part's ends): a surface whose first and last rows are a darker
 * fixture beyond curved ends gets a map of 0 from 8 px inside each end on, and keeps the
 * rest; a surface without an end keeps every row. */
static void s_check_face_ends(const rv_view_t *tv, int n, uint64_t *seed)
{
    rv_surface_params_t p;
    rv_surface_params_default(&p);
    p.face = 2;
    p.norm = 1;
    rv_surface_model_t *m = rv_surface_model_train(tv, (size_t) n, &p);
    RS_CHECKF(m != NULL, "face-2 model: %s", rv_last_error());
    if (!m)
        return;
    float *img = malloc(sizeof(float) * W * H), *map = malloc(sizeof(float) * W * H);
    int edge[W], top[W];
    s_surface(img, seed);
    for (int x = 0; x < W; x++) {
        edge[x] = 106 + (int) lround(4 * sin(x / 20.0));
        top[x] = 14 + (int) lround(3 * cos(x / 17.0));
        for (int y = 0; y < H; y++)
            if (y >= edge[x] || y < top[x])
                img[y * W + x] = 0.4f * img[y * W + x];
    }
    rv_image_t *im = s_to_image(img);
    rv_view_t v = rv_image_view(im);
    RS_CHECK_EQ(rv_surface_model_score(m, &v, map, W, NULL), RV_OK);
    size_t beyond = 0, beyond0 = 0, face = 0, face0 = 0;
    for (int x = 0; x < W; x++)
        for (int y = 0; y < H; y++) {
            if (y >= edge[x] - 6 || y < top[x] + 6) { /* 8 px inside, 2 for the blur */
                beyond++;
                beyond0 += map[y * W + x] == 0.0f;
            } else if (y < edge[x] - 12 && y >= top[x] + 12) {
                face++;
                face0 += map[y * W + x] == 0.0f;
            }
        }
    printf("face ends: %zu of %zu px beyond the ends masked, %zu of %zu on the face\n", beyond0,
           beyond, face0, face);
    RS_CHECKF(beyond0 * 100 >= beyond * 98, "beyond the end: %zu of %zu masked", beyond0, beyond);
    RS_CHECKF(face0 * 100 <= face, "on the face: %zu of %zu masked", face0, face);
    rv_image_destroy(&im);
    /* no end: nothing masked */
    im = s_make(-1, seed);
    v = rv_image_view(im);
    RS_CHECK_EQ(rv_surface_model_score(m, &v, map, W, NULL), RV_OK);
    size_t zero = 0;
    for (int i = 0; i < W * H; i++)
        zero += map[i] == 0.0f;
    RS_CHECKF(zero * 100 <= (size_t) W * H, "a surface without ends: %zu px masked", zero);
    rv_image_destroy(&im);
    free(img);
    free(map);
    rv_surface_model_destroy(&m);
    p.face = 4;
    RS_CHECK(rv_surface_check_params(&p, "test") < 0);
    RS_CHECK_MSG(rv_last_error(), "need 0, 1, 2 or 3");
}

/* A surface with a darker fixture beyond curved top and bottom ends (random phase), and
 * with chip > 0 a chip out of the bottom end: the fixture reaching 12 px into the tile
 * over 14 columns. edge / top: the ends per column (the chip not counted). */
static rv_image_t *s_make_ends(uint64_t *seed, int chip, int *edge, int *top)
{
    float *img = malloc(sizeof(float) * W * H);
    s_surface(img, seed);
    double ph = 6.283 * s_uniform(seed);
    int cx = 20 + (int) (80 * s_uniform(seed));
    for (int x = 0; x < W; x++) {
        edge[x] = 106 + (int) lround(4 * sin(x / 20.0 + ph));
        top[x] = 14 + (int) lround(3 * cos(x / 17.0 + ph));
        int e = chip && x >= cx && x < cx + 14 ? edge[x] - 12 : edge[x];
        for (int y = 0; y < H; y++)
            if (y >= e || y < top[x])
                img[y * W + x] = 0.4f * img[y * W + x];
    }
    rv_image_t *im = s_to_image(img);
    free(img);
    return im;
}

/* Face mode 3 (the band about the part's ends): trained on goods with ends, the map is 0
 * away from the ends and set on the band; a crop without an end scores 0; a chip out of
 * an end scores above the goods. */
static void s_check_face_band(uint64_t *seed)
{
    enum { NT = 24, N = 12 };
    int edge[W], top[W];
    rv_image_t *tr[NT];
    rv_view_t tv[NT];
    for (int i = 0; i < NT; i++) {
        tr[i] = s_make_ends(seed, 0, edge, top);
        tv[i] = rv_image_view(tr[i]);
    }
    rv_surface_params_t p;
    rv_surface_params_default(&p);
    p.nfeatures = 2;
    p.features[0] = (rv_sf_def_t) {RV_SF_HSTEP, 9};
    p.features[1] = (rv_sf_def_t) {RV_SF_BLACKHAT_DISC, 11};
    p.face = 3;
    p.border = 2;
    p.topk = 5;
    p.norm = 1;
    rv_surface_model_t *m = rv_surface_model_train(tv, NT, &p);
    RS_CHECKF(m != NULL, "face-3 model: %s", rv_last_error());
    for (int i = 0; i < NT; i++)
        rv_image_destroy(&tr[i]);
    if (!m)
        return;
    float *map = malloc(sizeof(float) * W * H);
    /* the band: +-24 px about each end (2 px either side for the blur and the median) */
    rv_image_t *im = s_make_ends(seed, 0, edge, top);
    rv_view_t v = rv_image_view(im);
    RS_CHECK_EQ(rv_surface_model_score(m, &v, map, W, NULL), RV_OK);
    size_t away = 0, away0 = 0, band = 0, band0 = 0;
    for (int x = 0; x < W; x++)
        for (int y = 0; y < H; y++) {
            int d = abs(y - top[x]) < abs(y - edge[x]) ? abs(y - top[x]) : abs(y - edge[x]);
            if (d > 26) {
                away++;
                away0 += map[y * W + x] == 0.0f;
            } else if (d < 22) {
                band++;
                band0 += map[y * W + x] == 0.0f;
            }
        }
    printf("face band: %zu of %zu px away from the ends masked, %zu of %zu on the band\n",
           away0, away, band0, band);
    RS_CHECKF(away0 == away, "away from the ends: %zu of %zu masked", away0, away);
    RS_CHECKF(band0 * 50 <= band, "on the band: %zu of %zu masked", band0, band);
    rv_image_destroy(&im);
    /* no end: an empty band, score 0 */
    im = s_make(-1, seed);
    v = rv_image_view(im);
    double s0 = -1;
    RS_CHECK_EQ(rv_surface_model_score(m, &v, NULL, 0, &s0), RV_OK);
    RS_CHECKF(s0 == 0.0, "a crop without an end scores %.4f", s0);
    rv_image_destroy(&im);
    /* chips against goods */
    double good[N], chip[N];
    for (int i = 0; i < N; i++) {
        rv_image_t *g = s_make_ends(seed, 0, edge, top), *c = s_make_ends(seed, 1, edge, top);
        rv_view_t gv = rv_image_view(g), cv = rv_image_view(c);
        RS_CHECK_EQ(rv_surface_model_score(m, &gv, NULL, 0, &good[i]), RV_OK);
        RS_CHECK_EQ(rv_surface_model_score(m, &cv, NULL, 0, &chip[i]), RV_OK);
        rv_image_destroy(&g);
        rv_image_destroy(&c);
    }
    double auc = s_auroc(chip, N, good, N);
    printf("face band: chips at an end against goods AUROC %.3f\n", auc);
    RS_CHECKF(auc >= 0.95, "face band: chips against goods AUROC %.3f", auc);
    free(map);
    rv_surface_model_destroy(&m);
}

/* The threshold's rank among held-out goods and the false alarms it can promise. */
static void test_fa_rank(void)
{
    /* few goods: the largest, and 1 in n + 1 new goods above it */
    RS_CHECK_EQ(rv_fa_rank(12, 0.02), 12);
    RS_CHECK(fabs(rv_fa_expected(12, 0.02) - 1.0 / 13) < 1e-12);
    /* 49 goods hold 2 %: the largest, 1 in 50; 50 goods still the largest (the rank
     * ceil(0.98 n) would take the 49th and let 2 in 51 through) */
    RS_CHECK_EQ(rv_fa_rank(49, 0.02), 49);
    RS_CHECK(fabs(rv_fa_expected(49, 0.02) - 0.02) < 1e-12);
    RS_CHECK_EQ(rv_fa_rank(50, 0.02), 50);
    RS_CHECK_EQ(rv_fa_rank(100, 0.02), 99);
    RS_CHECK(fabs(rv_fa_expected(100, 0.02) - 2.0 / 101) < 1e-12);
    RS_CHECK_EQ(rv_fa_rank(303, 0.02), 298);
    RS_CHECK_EQ(rv_fa_goods_needed(0.02), 49);
    RS_CHECK_EQ(rv_fa_goods_needed(0.1), 9);
    RS_CHECK_EQ(rv_fa_rank(1, 0.5), 1);
    RS_CHECK_EQ(rv_fa_rank(0, 0.02), 0);
    /* from 49 goods on, never above the target */
    for (size_t n = 49; n < 2000; n++)
        RS_CHECKF(rv_fa_expected(n, 0.02) <= 0.02 + 1e-12, "n %zu: %.5f", n,
                  rv_fa_expected(n, 0.02));
}

/* The k-fold's folds: i % k alone; a group's images in one fold, the folds balanced. */
static void test_folds(void)
{
    int fold[10];
    RS_CHECK_EQ(rv_folds(NULL, 7, 3, fold), 3);
    for (int i = 0; i < 7; i++)
        RS_CHECK_EQ(fold[i], i % 3);
    /* singleton groups (any ids) give the same */
    const int single[7] = {40, -3, 7, 9, 0, 12, 5};
    RS_CHECK_EQ(rv_folds(single, 7, 3, fold), 3);
    for (int i = 0; i < 7; i++)
        RS_CHECK_EQ(fold[i], i % 3);
    /* groups 5 (3 images), 9 (2), 2, 7 (3), 1, in order of their first image, each whole
     * to the emptiest fold: 5 -> 0 (3), 9 -> 1 (2), 2 -> 2 (1), 7 -> 2 (4), 1 -> 1 (3) */
    const int g[10] = {5, 5, 9, 5, 2, 9, 7, 7, 7, 1};
    const int want[10] = {0, 0, 1, 0, 2, 1, 2, 2, 2, 1};
    RS_CHECK_EQ(rv_folds(g, 10, 3, fold), 3);
    for (int i = 0; i < 10; i++)
        RS_CHECKF(fold[i] == want[i], "image %d in fold %d, want %d", i, fold[i], want[i]);
    /* fewer groups than folds: as many folds as groups; one group: no held-out scores */
    const int two[6] = {1, 2, 1, 2, 1, 2};
    RS_CHECK_EQ(rv_folds(two, 6, 5, fold), 2);
    for (int i = 0; i < 6; i++)
        RS_CHECK_EQ(fold[i], i % 2);
    const int one[4] = {3, 3, 3, 3};
    RS_CHECK_EQ(rv_folds(one, 4, 5, fold), 0);
    RS_CHECK_EQ(rv_folds(NULL, 1, 5, fold), 0);
    RS_CHECK_EQ(rv_folds(NULL, 5, 1, fold), 0);
}

int main(void)
{
    RS_CHECK_EQ(rv_init(), RV_OK);
    test_fa_rank();
    test_folds();
    uint64_t seed = 20240611;
    enum { NTRAIN = 30, NGOOD = 24, NDEF = 24 };
    rv_image_t *train[NTRAIN];
    rv_view_t tv[NTRAIN];
    for (int i = 0; i < NTRAIN; i++) {
        train[i] = s_make(-1, &seed);
        tv[i] = rv_image_view(train[i]);
    }
    rv_surface_params_t p;
    rv_surface_params_default(&p);
    rv_surface_model_t *m = rv_surface_model_train(tv, NTRAIN, &p);
    RS_CHECKF(m != NULL, "training failed: %s", rv_last_error());
    if (!m)
        return rs_test_end("vision.surface");
    RS_CHECK_EQ(rv_surface_model_folds(m), 5);
    RS_CHECK_EQ(rv_surface_model_ntrain(m), NTRAIN);
    double thr = rv_surface_model_threshold(m);
    RS_CHECK(thr > 0);

    /* held-out images: defect images must score above the good ones */
    double good[NGOOD], bad[NDEF], by_kind[3][NDEF / 3];
    for (int i = 0; i < NGOOD; i++) {
        rv_image_t *im = s_make(-1, &seed);
        rv_view_t v = rv_image_view(im);
        RS_CHECK_EQ(rv_surface_model_score(m, &v, NULL, 0, &good[i]), RV_OK);
        rv_image_destroy(&im);
    }
    float *map = malloc(sizeof(float) * W * H);
    for (int i = 0; i < NDEF; i++) {
        rv_image_t *im = s_make(i % 3, &seed);
        rv_view_t v = rv_image_view(im);
        RS_CHECK_EQ(rv_surface_model_score(m, &v, map, W, &bad[i]), RV_OK);
        by_kind[i % 3][i / 3] = bad[i];
        rv_image_destroy(&im);
    }
    double auc = s_auroc(bad, NDEF, good, NGOOD);
    printf("synthetic held-out AUROC %.4f (threshold %.3f)\n", auc, thr);
    RS_CHECKF(auc >= 0.95, "AUROC %.4f", auc);
    for (int k = 0; k < 3; k++) {
        double ak = s_auroc(by_kind[k], NDEF / 3, good, NGOOD);
        printf("  kind %d (crack, blowhole, uneven) AUROC %.4f\n", k, ak);
        RS_CHECKF(ak >= 0.9, "kind %d AUROC %.4f", k, ak);
    }
    int fa = 0;
    for (int i = 0; i < NGOOD; i++)
        fa += good[i] > thr;
    RS_CHECKF(fa <= 3, "%d of %d good images over the k-fold threshold", fa, NGOOD);

    /* save / load round trip: identical scores and maps */
    char path[256];
    snprintf(path, sizeof path, "/tmp/test_surface_%d.rvsurf", (int) getpid());
    RS_CHECK_EQ(rv_surface_model_save(m, path), RV_OK);
    rs_fuzz_seed("surface-gauss", 1, NULL, 0, path);
    rv_surface_model_t *m2 = rv_surface_model_load(path);
    RS_CHECKF(m2 != NULL, "load failed: %s", rv_last_error());
    if (m2) {
        RS_CHECK(rv_surface_model_threshold(m2) == thr);
        float *map2 = malloc(sizeof(float) * W * H);
        uint64_t s2 = 99;
        for (int i = 0; i < 4; i++) {
            rv_image_t *im = s_make(i % 2 ? 0 : -1, &s2);
            rv_view_t v = rv_image_view(im);
            double a = 0, b = 1;
            RS_CHECK_EQ(rv_surface_model_score(m, &v, map, W, &a), RV_OK);
            RS_CHECK_EQ(rv_surface_model_score(m2, &v, map2, W, &b), RV_OK);
            RS_CHECKF(a == b, "score %.9g after load %.9g", a, b);
            RS_CHECK(memcmp(map, map2, sizeof(float) * W * H) == 0);
            rv_image_destroy(&im);
        }
        free(map2);
    }
    rv_surface_model_destroy(&m2);

    /* hostile files */
    size_t len = 0;
    uint8_t *buf = s_slurp_v4(path, &len);
    RS_CHECK(buf != NULL && len > 100);
    if (buf) {
        uint8_t *c = malloc(len);
        s_expect_refused(buf, 0, "empty");
        s_expect_refused(buf, 5, "magic");
        s_expect_refused(buf, len / 2, "truncated");
        s_expect_refused(buf, len - 1, "truncated");
        memcpy(c, buf, len);
        c[0] = 'X';
        s_expect_refused(c, len, "wrong magic");
        memcpy(c, buf, len);
        s_put32(c + 8, 7);
        s_expect_refused(c, len, "version 7");
        /* the same model as a version 3, 2 and 1 file: they load, score the same */
        for (int ver = 3; ver >= 1; ver--) {
            size_t ol = 0;
            uint8_t *old = s_downgrade(buf, len, p.nfeatures, ver, &ol);
            rv_surface_model_t *mo = rv_surface_model_load_mem(old, ol);
            RS_CHECKF(mo != NULL, "version %d file refused: %s", ver, rv_last_error());
            if (mo) {
                RS_CHECK(rv_surface_model_params(mo)->knn == 0);
                uint64_t s3 = 5;
                rv_image_t *im = s_make(1, &s3);
                rv_view_t v = rv_image_view(im);
                double a = 0, b = 1;
                RS_CHECK_EQ(rv_surface_model_score(m, &v, NULL, 0, &a), RV_OK);
                RS_CHECK_EQ(rv_surface_model_score(mo, &v, NULL, 0, &b), RV_OK);
                RS_CHECKF(a == b, "version %d: score %.9g, %.9g", ver, b, a);
                rv_image_destroy(&im);
            }
            rv_surface_model_destroy(&mo);
            free(old);
        }
        memcpy(c, buf, len);
        c[len - 20] ^= 0x40; /* inside the covariance */
        s_expect_refused(c, len, "bad checksum");
        memcpy(c, buf, len);
        s_put32(c + 12, 100000); /* feature count */
        s_fix_crc(c, len);
        s_expect_refused(c, len, "absurd feature count 100000");
        memcpy(c, buf, len);
        size_t grid_off = 12 + 4 + 4 * (size_t) p.nfeatures + 4 * 4;
        s_put32(c + grid_off, 1u << 30); /* grid */
        s_fix_crc(c, len);
        s_expect_refused(c, len, "grid");
        memcpy(c, buf, len);
        s_put32(c + 16, 77); /* first feature: kind 77 */
        s_fix_crc(c, len);
        s_expect_refused(c, len, "unknown kind 77");
        /* a covariance that is not positive definite: diagonal entry 0 -> -1 */
        memcpy(c, buf, len);
        size_t d = (size_t) p.nfeatures;
        size_t cov_off = len - 4 - 8 * d * d;
        double neg = -1.0;
        memcpy(c + cov_off, &neg, 8);
        s_fix_crc(c, len);
        s_expect_refused(c, len, "positive definite");
        free(c);
        free(buf);
    }
    RS_CHECK(rv_surface_model_load("/nonexistent/dir/model.rvsurf") == NULL);
    RS_CHECK_MSG(rv_last_error(), "No such file");
    remove(path);

    /* bad arguments */
    RS_CHECK(rv_surface_model_train(tv, 1, NULL) == NULL);
    RS_CHECK_MSG(rv_last_error(), "2 good images");
    rv_surface_params_t bp = p;
    bp.fa = 0.9;
    RS_CHECK(rv_surface_model_train(tv, NTRAIN, &bp) == NULL);
    RS_CHECK_MSG(rv_last_error(), "false-alarm rate");
    rv_image_t *tiny = rv_image_new(8, 8, RV_GRAY8);
    rv_view_t tiv = rv_image_view(tiny);
    double sc;
    RS_CHECK(rv_surface_model_score(m, &tiv, NULL, 0, &sc) < 0);
    RS_CHECK_MSG(rv_last_error(), "too small");
    rv_image_destroy(&tiny);

    s_check_knn_kernel();
    s_check_curvature();
    s_check_blob_model(tv, NTRAIN, &seed);
    s_check_line_features(tv, NTRAIN, &seed);
    s_check_line_dir(&seed);
    s_check_line_model(tv, NTRAIN, &seed);
    s_check_channels(m, tv, NTRAIN, &seed);
    s_check_face_ends(tv, NTRAIN, &seed);
    s_check_face_band(&seed);
    s_check_knn(tv, NTRAIN, &seed);
    s_check_pca(tv, NTRAIN, &seed);

    free(map);
    rv_surface_model_destroy(&m);
    for (int i = 0; i < NTRAIN; i++)
        rv_image_destroy(&train[i]);
    return rs_test_end("vision.surface");
}
