/* test_filter_equiv.c - every neighbourhood kernel and image-level filter of every
 * instruction set this CPU runs is bit-identical to the scalar specification: widths 0 ..
 * 129 and a few large ones, start offsets off alignment, strides wider than the width,
 * guard bytes around every output, inputs zeros / 0xFF / ramps / checkerboards / random.
 * Instruction sets this machine cannot run are reported as skipped. */
#include "rs_test.h"
#include "rv/rv_error.h"
#include "rv/rv_filter.h"
#include "rv/rv_image.h"
#include "rv/rv_simd.h"
#include "rv_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_isa[] = {"scalar", "sse2", "avx2", "avx512", "neon"};

enum { S_ZEROS, S_ONES, S_RAMP, S_CHECKER, S_RANDOM, S_PATTERNS };
static const char *const s_pat[] = {"zeros", "0xff", "ramp", "checker", "random"};

/* ---- buffers with guards ---- */

#define S_GUARD 64
#define S_GUARD_BYTE 0xA5

/* A buffer of `bytes` usable bytes at an offset `off` (0..63) past 64-byte alignment, with
 * S_GUARD bytes of pattern before and after the area the caller may read (pad bytes each
 * side, so "padded by r" kernels may read them). */
typedef struct s_buf {
    uint8_t *mem;
    uint8_t *p; /* first usable byte */
    size_t bytes, pad;
} s_buf_t;

static s_buf_t s_buf(size_t bytes, size_t pad, size_t off)
{
    s_buf_t b;
    b.bytes = bytes;
    b.pad = pad;
    size_t total = S_GUARD + pad + 64 + bytes + pad + S_GUARD + 64;
    b.mem = aligned_alloc(64, (total + 63) & ~(size_t) 63);
    memset(b.mem, S_GUARD_BYTE, total);
    size_t start = ((S_GUARD + pad + 63) & ~(size_t) 63) + off;
    b.p = b.mem + start;
    return b;
}

/* the guard areas outside [p - pad, p + bytes + pad) are untouched */
static int s_guards_ok(const s_buf_t *b)
{
    const uint8_t *lo = b->p - b->pad - S_GUARD, *hi = b->p + b->bytes + b->pad;
    for (size_t i = 0; i < S_GUARD; i++)
        if (lo[i] != S_GUARD_BYTE || hi[i] != S_GUARD_BYTE)
            return 0;
    return 1;
}

static void s_free(s_buf_t *b)
{
    free(b->mem);
}

static uint64_t s_seed = 1;

/* n bytes of a pattern; values in [0, top] */
static void s_fill8(uint8_t *p, size_t n, int pat, int top)
{
    switch (pat) {
    case S_ZEROS: memset(p, 0, n); break;
    case S_ONES: memset(p, top, n); break;
    case S_RAMP:
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t) ((i * 7) % ((size_t) top + 1));
        break;
    case S_CHECKER:
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t) ((i & 1) ? top : 0);
        break;
    default:
        rs_fill_random(p, n, s_seed++);
        for (size_t i = 0; i < n && top < 255; i++)
            p[i] = (uint8_t) (p[i] % (top + 1));
    }
}

/* n 16-bit values of a pattern in [lo, hi] */
static void s_fill16(int16_t *p, size_t n, int pat, int lo, int hi)
{
    uint64_t st = s_seed++;
    for (size_t i = 0; i < n; i++) {
        int v;
        switch (pat) {
        case S_ZEROS: v = lo > 0 ? lo : (hi < 0 ? hi : 0); break;
        case S_ONES: v = hi; break;
        case S_RAMP: v = lo + (int) ((i * 13) % (size_t) (hi - lo + 1)); break;
        case S_CHECKER: v = (i & 1) ? hi : lo; break;
        default: v = lo + (int) (rs_rand(&st) % (uint64_t) (hi - lo + 1));
        }
        p[i] = (int16_t) v;
    }
}

/* ---- the kernel comparisons ---- */

static const rv_filter_kernels_t *S, *V; /* scalar and the set under test */
static const char *s_name;
static int s_fail_shown;

/* a check; only the first 20 failures of a set are printed, all are counted */
#define S_SAME(cond, ...)                                                                    \
    do {                                                                                     \
        int same_ = (cond);                                                                  \
        if (same_ || s_fail_shown++ < 20) {                                                  \
            RS_CHECKF(same_, __VA_ARGS__);                                                   \
        } else {                                                                             \
            rs__checks++;                                                                    \
            rs__failures++;                                                                  \
        }                                                                                    \
    } while (0)

/* widths 0..129, then large ones */
static const size_t s_large[] = {1000, 4099};
static size_t s_width(int i)
{
    return i < 130 ? (size_t) i : s_large[i - 130];
}
#define S_NWIDTHS 132

/* offsets: all 64 for a few widths, one varying offset otherwise */
static int s_noffsets(size_t n)
{
    return n == 64 || n == 65 || n == 127 ? 64 : 1;
}
static size_t s_offset(size_t n, int k, int pat)
{
    return s_noffsets(n) == 64 ? (size_t) k : (n * 7 + (size_t) pat * 13) % 64;
}

static void test_sobel(void)
{
    for (int wi = 0; wi < S_NWIDTHS; wi++) {
        size_t n = s_width(wi);
        for (int pat = 0; pat < S_PATTERNS; pat++)
            for (int ok = 0; ok < s_noffsets(n); ok++) {
                size_t off = s_offset(n, ok, pat);
                s_buf_t r[3], se = s_buf(2 * n, 0, 0), de = s_buf(2 * n, 0, 0);
                s_buf_t sv = s_buf(2 * n, 0, off & ~(size_t) 1), dv = s_buf(2 * n, 0, off & 62);
                for (int j = 0; j < 3; j++) {
                    r[j] = s_buf(n, 0, (off + (size_t) j * 5) % 64);
                    s_fill8(r[j].p, n, (pat + j) % S_PATTERNS, 255);
                }
                S->sobel_v(r[0].p, r[1].p, r[2].p, (int16_t *) se.p, (int16_t *) de.p, n);
                V->sobel_v(r[0].p, r[1].p, r[2].p, (int16_t *) sv.p, (int16_t *) dv.p, n);
                S_SAME(!memcmp(se.p, sv.p, 2 * n) && !memcmp(de.p, dv.p, 2 * n) &&
                           s_guards_ok(&sv) && s_guards_ok(&dv),
                       "%s sobel_v n=%zu off=%zu %s", s_name, n, off, s_pat[pat]);
                for (int j = 0; j < 3; j++)
                    s_free(&r[j]);
                s_free(&se);
                s_free(&de);
                s_free(&sv);
                s_free(&dv);

                /* horizontal: sum and diff padded by 1, within their ranges */
                s_buf_t sum = s_buf(2 * n, 2, off & 62), dif = s_buf(2 * n, 2, (off * 3) & 62);
                s_fill16((int16_t *) (void *) sum.p - 1, n + 2, pat, 0, 1020);
                s_fill16((int16_t *) (void *) dif.p - 1, n + 2, (pat + 2) % S_PATTERNS, -255, 255);
                s_buf_t oe = s_buf(n, 0, 0), ov = s_buf(n, 0, off);
                S->sobel_h((int16_t *) (void *) sum.p, (int16_t *) (void *) dif.p, oe.p, n);
                V->sobel_h((int16_t *) (void *) sum.p, (int16_t *) (void *) dif.p, ov.p, n);
                S_SAME(!memcmp(oe.p, ov.p, n) && s_guards_ok(&ov), "%s sobel_h n=%zu off=%zu %s",
                       s_name, n, off, s_pat[pat]);
                s_free(&sum);
                s_free(&dif);
                s_free(&oe);
                s_free(&ov);
            }
    }
}

static void test_gauss(void)
{
    for (int wi = 0; wi < S_NWIDTHS; wi++) {
        size_t n = s_width(wi);
        for (int pat = 0; pat < S_PATTERNS; pat++)
            for (int ok = 0; ok < s_noffsets(n); ok++) {
                size_t off = s_offset(n, ok, pat);
                s_buf_t r[5], e = s_buf(2 * n, 0, 0), v = s_buf(2 * n, 0, off & 62);
                const uint8_t *rp[5];
                for (int j = 0; j < 5; j++) {
                    r[j] = s_buf(n, 0, (off + (size_t) j * 11) % 64);
                    s_fill8(r[j].p, n, (pat + j) % S_PATTERNS, 255);
                    rp[j] = r[j].p;
                }
                S->gauss5_v(rp[0], rp[1], rp[2], rp[3], rp[4], (uint16_t *) (void *) e.p, n);
                V->gauss5_v(rp[0], rp[1], rp[2], rp[3], rp[4], (uint16_t *) (void *) v.p, n);
                S_SAME(!memcmp(e.p, v.p, 2 * n) && s_guards_ok(&v), "%s gauss5_v n=%zu off=%zu %s",
                       s_name, n, off, s_pat[pat]);
                for (int j = 0; j < 5; j++)
                    s_free(&r[j]);
                s_free(&e);
                s_free(&v);

                s_buf_t src = s_buf(2 * n, 4, off & 62);
                s_fill16((int16_t *) (void *) src.p - 2, n + 4, pat, 0, 4080);
                s_buf_t oe = s_buf(n, 0, 0), ov = s_buf(n, 0, off);
                S->gauss5_h((uint16_t *) (void *) src.p, oe.p, n);
                V->gauss5_h((uint16_t *) (void *) src.p, ov.p, n);
                S_SAME(!memcmp(oe.p, ov.p, n) && s_guards_ok(&ov), "%s gauss5_h n=%zu off=%zu %s",
                       s_name, n, off, s_pat[pat]);
                s_free(&src);
                s_free(&oe);
                s_free(&ov);
            }
    }
}

static void test_box(void)
{
    static const int ks[] = {1, 3, 5, 7, 9, 11, 13, 15, 17, 31, 63, 255};
    for (int wi = 0; wi < S_NWIDTHS; wi++) {
        size_t n = s_width(wi);
        for (int pat = 0; pat < S_PATTERNS; pat++) {
            size_t off = s_offset(n, 0, pat);
            /* running column sums, with and without a row to subtract */
            s_buf_t acc = s_buf(2 * n, 0, off & 62), add = s_buf(n, 0, off), sub = s_buf(n, 0, 3);
            s_fill16((int16_t *) (void *) acc.p, n, pat, 0, 32767);
            s_fill8(add.p, n, pat, 255);
            s_fill8(sub.p, n, (pat + 1) % S_PATTERNS, 255);
            s_buf_t acc2 = s_buf(2 * n, 0, 0);
            memcpy(acc2.p, acc.p, 2 * n);
            S->box_v((uint16_t *) (void *) acc2.p, add.p, sub.p, n);
            V->box_v((uint16_t *) (void *) acc.p, add.p, sub.p, n);
            S->box_v((uint16_t *) (void *) acc2.p, add.p, NULL, n);
            V->box_v((uint16_t *) (void *) acc.p, add.p, NULL, n);
            S_SAME(!memcmp(acc.p, acc2.p, 2 * n) && s_guards_ok(&acc), "%s box_v n=%zu %s",
                   s_name, n, s_pat[pat]);
            s_free(&acc);
            s_free(&acc2);
            s_free(&add);
            s_free(&sub);

            for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
                int k = ks[ki], r = k / 2;
                if (n > 200 && k > 31 && pat != S_RANDOM)
                    continue;
                s_buf_t src = s_buf(2 * n, 2 * (size_t) r, off & 62);
                s_fill16((int16_t *) (void *) src.p - r, n + 2 * (size_t) r, pat, 0, 255 * k);
                uint32_t *tmp = malloc(((size_t) n + (size_t) k + 64) * sizeof *tmp);
                s_buf_t oe = s_buf(n, 0, 0), ov = s_buf(n, 0, (off + (size_t) k) % 64);
                S->box_h((uint16_t *) (void *) src.p, oe.p, n, k, tmp);
                V->box_h((uint16_t *) (void *) src.p, ov.p, n, k, tmp);
                S_SAME(!memcmp(oe.p, ov.p, n) && s_guards_ok(&ov), "%s box_h n=%zu k=%d %s",
                       s_name, n, k, s_pat[pat]);
                free(tmp);
                s_free(&src);
                s_free(&oe);
                s_free(&ov);
            }
        }
    }
}

static void test_window(void)
{
    static const int ks[] = {1, 3, 5, 7, 9, 11, 15, 17, 31, 33, 63, 65, 101, 255};
    for (int wi = 0; wi < S_NWIDTHS; wi++) {
        size_t n = s_width(wi);
        for (int pat = 0; pat < S_PATTERNS; pat++)
            for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
                for (int ok = 0; ok < (s_noffsets(n) > 1 ? 8 : 1); ok++) {
                    int k = ks[ki];
                    size_t r = (size_t) k / 2, off = ok ? (size_t) ok * 9 : s_offset(n, 0, pat);
                    s_buf_t src = s_buf(n, r, off), oth = s_buf(n, 0, (off * 5) % 64);
                    s_fill8(src.p - r, n + 2 * r, pat, 255);
                    s_fill8(oth.p, n, (pat + 3) % S_PATTERNS, 255);
                    uint8_t *tmp = malloc(n + (size_t) k + 64);
                    s_buf_t e = s_buf(n, 0, 0), v = s_buf(n, 0, (off + 1) % 64);
                    for (int is_max = 0; is_max < 2; is_max++) {
                        void (*fs)(const uint8_t *, const uint8_t *, uint8_t *, size_t, int,
                                   uint8_t *) = is_max ? S->max_h : S->min_h;
                        void (*fv)(const uint8_t *, const uint8_t *, uint8_t *, size_t, int,
                                   uint8_t *) = is_max ? V->max_h : V->min_h;
                        fs(src.p, NULL, e.p, n, k, tmp);
                        fv(src.p, NULL, v.p, n, k, tmp);
                        S_SAME(!memcmp(e.p, v.p, n) && s_guards_ok(&v),
                               "%s %s_h n=%zu k=%d off=%zu %s", s_name, is_max ? "max" : "min", n,
                               k, off, s_pat[pat]);
                        /* with another row, in place over it */
                        memcpy(e.p, oth.p, n);
                        memcpy(v.p, oth.p, n);
                        fs(src.p, e.p, e.p, n, k, tmp);
                        fv(src.p, v.p, v.p, n, k, tmp);
                        S_SAME(!memcmp(e.p, v.p, n) && s_guards_ok(&v),
                               "%s %s_h other n=%zu k=%d off=%zu %s", s_name,
                               is_max ? "max" : "min", n, k, off, s_pat[pat]);
                    }
                    free(tmp);
                    s_free(&src);
                    s_free(&oth);
                    s_free(&e);
                    s_free(&v);
                }
    }
}

static void test_rows(void)
{
    static const int bs[][6] = {
        /* m, b[0..] */
        {1, 0}, {1, 1}, {1, 3}, {1, 7}, {1, 8}, {1, 15}, {2, 0, 1}, {5, 2, 4, 5, 6, 7},
        {3, 1, 3, 8}, {2, 2, 9}, {4, 0, 3, 5, 7}};
    for (int wi = 0; wi < S_NWIDTHS; wi += (wi < 70 ? 1 : 3)) {
        size_t n = s_width(wi);
        for (int pat = 0; pat < S_PATTERNS; pat++) {
            size_t off = s_offset(n, 0, pat);
            s_buf_t in[40];
            const uint8_t *rows[40];
            for (int j = 0; j < 40; j++) {
                in[j] = s_buf(n, 0, (off + (size_t) j * 17) % 64);
                s_fill8(in[j].p, n, (pat + j) % S_PATTERNS == S_ZEROS ? S_RANDOM : pat, 255);
                if (pat == S_RANDOM || j % 3 == 0)
                    s_fill8(in[j].p, n, S_RANDOM, 255);
                rows[j] = in[j].p;
            }
            /* element-wise extremes of 1..16 rows, and in place */
            for (int count = 1; count <= 16; count++) {
                s_buf_t e = s_buf(n, 0, 0), v = s_buf(n, 0, (off + (size_t) count) % 64);
                for (int is_max = 0; is_max < 2; is_max++) {
                    (is_max ? S->max_rows : S->min_rows)(rows, count, e.p, n);
                    (is_max ? V->max_rows : V->min_rows)(rows, count, v.p, n);
                    S_SAME(!memcmp(e.p, v.p, n) && s_guards_ok(&v), "%s %s_rows n=%zu count=%d %s",
                           s_name, is_max ? "max" : "min", n, count, s_pat[pat]);
                    const uint8_t *inplace[2] = {v.p, rows[count]};
                    memcpy(v.p, rows[0], n);
                    const uint8_t *ref2[2] = {rows[0], rows[count]};
                    (is_max ? S->max_rows : S->min_rows)(ref2, 2, e.p, n);
                    (is_max ? V->max_rows : V->min_rows)(inplace, 2, v.p, n);
                    S_SAME(!memcmp(e.p, v.p, n), "%s %s_rows in place n=%zu %s", s_name,
                           is_max ? "max" : "min", n, s_pat[pat]);
                }
                /* the hats, plain and binarised */
                static const int thrs[] = {-1, 0, 20, 128, 254, 255};
                for (size_t t = 0; t < sizeof thrs / sizeof thrs[0]; t++)
                    for (int is_max = 0; is_max < 2; is_max++) {
                        size_t (*fs)(const uint8_t *const *, int, const uint8_t *, uint8_t *,
                                     size_t, int) = is_max ? S->max_rows_rsub : S->min_rows_sub;
                        size_t (*fv)(const uint8_t *const *, int, const uint8_t *, uint8_t *,
                                     size_t, int) = is_max ? V->max_rows_rsub : V->min_rows_sub;
                        size_t ce = fs(rows + 1, count, rows[0], e.p, n, thrs[t]);
                        size_t cv = fv(rows + 1, count, rows[0], v.p, n, thrs[t]);
                        S_SAME(ce == cv && !memcmp(e.p, v.p, n) && s_guards_ok(&v),
                               "%s %s n=%zu count=%d thr=%d %s: %zu vs %zu", s_name,
                               is_max ? "max_rows_rsub" : "min_rows_sub", n, count, thrs[t],
                               s_pat[pat], ce, cv);
                    }
                s_free(&e);
                s_free(&v);
            }
            /* staircases for groups of 1..9 output rows */
            for (size_t bi = 0; bi < sizeof bs / sizeof bs[0]; bi++) {
                int m = bs[bi][0];
                const int *b = &bs[bi][1];
                for (int nout = 1; nout <= 9; nout++) {
                    if (nout + 2 * b[m - 1] > 40)
                        continue;
                    s_buf_t e[45], v[45];
                    uint8_t *ep[45], *vp[45];
                    for (int j = 0; j < nout * m; j++) {
                        e[j] = s_buf(n, 0, 0);
                        v[j] = s_buf(n, 0, (off + (size_t) j * 3) % 64);
                        ep[j] = e[j].p;
                        vp[j] = v[j].p;
                    }
                    for (int is_max = 0; is_max < 2; is_max++) {
                        (is_max ? S->max_stair : S->min_stair)(rows, nout, b, m, ep, n);
                        (is_max ? V->max_stair : V->min_stair)(rows, nout, b, m, vp, n);
                        int same = 1;
                        for (int j = 0; j < nout * m; j++)
                            same &= !memcmp(ep[j], vp[j], n) && s_guards_ok(&v[j]);
                        S_SAME(same, "%s %s_stair n=%zu nout=%d m=%d bmax=%d %s", s_name,
                               is_max ? "max" : "min", n, nout, m, b[m - 1], s_pat[pat]);
                    }
                    for (int j = 0; j < nout * m; j++) {
                        s_free(&e[j]);
                        s_free(&v[j]);
                    }
                }
            }
            for (int j = 0; j < 40; j++)
                s_free(&in[j]);
        }
    }
}

/* ---- image level: each set against scalar through rv_simd_force ---- */

typedef int (*s_op_t)(const rv_view_t *, const rv_view_t *, int, int);

static int s_gauss(const rv_view_t *s, const rv_view_t *d, int a, int b)
{
    (void) a;
    (void) b;
    return rv_gauss5(s, d);
}
static int s_boxf(const rv_view_t *s, const rv_view_t *d, int a, int b)
{
    (void) b;
    return rv_box_blur(s, d, a);
}
static int s_sobel(const rv_view_t *s, const rv_view_t *d, int a, int b)
{
    (void) a;
    (void) b;
    return rv_sobel_mag(s, d);
}
static int s_dil(const rv_view_t *s, const rv_view_t *d, int a, int b)
{
    return rv_dilate_rect(s, d, a, b);
}
static int s_ero(const rv_view_t *s, const rv_view_t *d, int a, int b)
{
    return rv_erode_rect(s, d, a, b);
}
static int s_ddisc(const rv_view_t *s, const rv_view_t *d, int a, int b)
{
    (void) b;
    return rv_dilate_disc(s, d, a);
}
static int s_edisc(const rv_view_t *s, const rv_view_t *d, int a, int b)
{
    (void) b;
    return rv_erode_disc(s, d, a);
}
static int s_close(const rv_view_t *s, const rv_view_t *d, int a, int b)
{
    (void) b;
    return rv_close_disc(s, d, a);
}
static int s_open(const rv_view_t *s, const rv_view_t *d, int a, int b)
{
    (void) b;
    return rv_open_disc(s, d, a);
}
static int s_bhat(const rv_view_t *s, const rv_view_t *d, int a, int b)
{
    (void) b;
    return rv_blackhat_disc(s, d, a);
}
static int s_that(const rv_view_t *s, const rv_view_t *d, int a, int b)
{
    (void) b;
    return rv_tophat_disc(s, d, a);
}
static size_t s_count;
static int s_bhat_thr(const rv_view_t *s, const rv_view_t *d, int a, int b)
{
    return rv_blackhat_disc_threshold(s, d, a, (uint8_t) b, &s_count);
}
static int s_that_thr(const rv_view_t *s, const rv_view_t *d, int a, int b)
{
    return rv_tophat_disc_threshold(s, d, a, (uint8_t) b, &s_count);
}

typedef struct s_case {
    const char *name;
    s_op_t op;
    int a, b;
} s_case_t;

static const s_case_t s_cases[] = {
    {"gauss5", s_gauss, 0, 0},
    {"box", s_boxf, 1, 0},
    {"box", s_boxf, 3, 0},
    {"box", s_boxf, 5, 0},
    {"box", s_boxf, 9, 0},
    {"box", s_boxf, 15, 0},
    {"box", s_boxf, 31, 0},
    {"sobel", s_sobel, 0, 0},
    {"dilate_rect", s_dil, 3, 3},
    {"erode_rect", s_ero, 15, 15},
    {"dilate_rect", s_dil, 1, 9},
    {"erode_rect", s_ero, 31, 1},
    {"dilate_rect", s_dil, 61, 33},
    {"erode_rect", s_ero, 9, 101},
    {"dilate_disc", s_ddisc, 1, 0},
    {"dilate_disc", s_ddisc, 3, 0},
    {"erode_disc", s_edisc, 7, 0},
    {"dilate_disc", s_ddisc, 15, 0},
    {"erode_disc", s_edisc, 31, 0},
    {"close_disc", s_close, 15, 0},
    {"open_disc", s_open, 9, 0},
    {"blackhat", s_bhat, 15, 0},
    {"tophat", s_that, 5, 0},
    {"blackhat_thr", s_bhat_thr, 15, 20},
    {"tophat_thr", s_that_thr, 11, 3}};

static void test_images(int isa)
{
    static const int ws[] = {1, 2, 3, 5, 17, 63, 64, 65, 127, 129, 200};
    static const int hs[] = {1, 2, 3, 17, 40};
    for (size_t ci = 0; ci < sizeof s_cases / sizeof s_cases[0]; ci++) {
        const s_case_t *c = &s_cases[ci];
        for (size_t wi = 0; wi < sizeof ws / sizeof ws[0] + 2; wi++)
            for (size_t hi = 0; hi < sizeof hs / sizeof hs[0]; hi++) {
                int w, h;
                if (wi < sizeof ws / sizeof ws[0]) {
                    w = ws[wi];
                    h = hs[hi];
                } else { /* large */
                    if (hi > 0)
                        continue;
                    w = wi == sizeof ws / sizeof ws[0] ? 1000 : 4099;
                    h = w == 1000 ? 40 : 17;
                }
                int pat = (int) ((wi + hi + ci) % S_PATTERNS);
                /* regions of interest at odd offsets in wider images, guard bytes around */
                int xo = (int) ((wi * 7 + hi) % 64), stride = w + xo + 13 + (int) (hi * 5);
                size_t bytes = (size_t) stride * (size_t) (h + 2);
                uint8_t *sm = malloc(bytes), *de = malloc(bytes), *dv = malloc(bytes);
                for (int y = 0; y < h + 2; y++)
                    s_fill8(sm + (size_t) y * (size_t) stride, (size_t) stride,
                            pat == S_ZEROS && y % 2 ? S_RANDOM : pat, 255);
                memset(de, S_GUARD_BYTE, bytes);
                memset(dv, S_GUARD_BYTE, bytes);
                rv_view_t vs, ve, vv;
                rv_view_wrap(sm + stride + xo, w, h, stride, RV_GRAY8, &vs);
                rv_view_wrap(de + stride + xo, w, h, stride, RV_GRAY8, &ve);
                rv_view_wrap(dv + stride + xo, w, h, stride, RV_GRAY8, &vv);
                rv_simd_force("scalar");
                int re = c->op(&vs, &ve, c->a, c->b);
                size_t ce = s_count;
                rv_simd_force(s_isa[isa]);
                int rv = c->op(&vs, &vv, c->a, c->b);
                size_t cv = s_count;
                S_SAME(re == RV_OK && rv == RV_OK && ce == cv && !memcmp(de, dv, bytes),
                       "%s image %s(%d,%d) %dx%d %s", s_name, c->name, c->a, c->b, w, h,
                       s_pat[pat]);
                free(sm);
                free(de);
                free(dv);
            }
    }
}

/* warp_rgb: sources of odd sizes at offsets off alignment with strides wider than their
 * rows (the gathers must not read past a row's last pixel nor the last row), and lines of
 * every length 0..60 and a long one, at positions that start and end inside, cross every
 * edge, start before the source, run backwards, rotate steeply, shrink and enlarge; the
 * destination guarded. */
static void test_warp(void)
{
    static const int sizes[][2] = {{1, 1}, {2, 2}, {3, 2}, {4, 3}, {17, 9}, {64, 48}, {131, 77}};
    /* x0, y0 (px), dx, dy (px per pixel) */
    static const double lines[][4] = {
        {0.0, 0.0, 1.0, 0.0},        {2.3, 1.7, 1.0, 0.0},       {-5.6, 3.2, 0.97, 0.05},
        {3.9, -2.5, 1.02, 0.11},     {20.5, 4.4, -1.0, 0.02},    {-1.0, -1.0, 0.3, 0.3},
        {1.01, 2.99, 2.5, -0.7},     {0.5, 0.5, 0.0, 1.0},       {-300.0, 40.0, 9.0, 0.01},
        {5.03125, 1.96875, 0.03125, 0.0}};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        int sw = sizes[si][0], sh = sizes[si][1];
        for (size_t off = 0; off < 3; off++) {
            size_t stride = (size_t) sw * 3 + 5 * off; /* wider than the row for off > 0 */
            s_buf_t src = s_buf(stride * (size_t) sh, 0, off * 7);
            s_fill8(src.p, stride * (size_t) sh, S_RANDOM, 255);
            for (size_t li = 0; li < sizeof lines / sizeof lines[0]; li++) {
                /* the lines scaled to the source, so that each crosses it */
                double x0 = lines[li][0] * sw / 16.0, y0 = lines[li][1] * sh / 8.0;
                int32_t X = (int32_t) lrint(x0 * 1024) + 16, Y = (int32_t) lrint(y0 * 1024) + 16;
                int32_t ax[333], ay[333];
                for (int i = 0; i < 333; i++) {
                    ax[i] = (int32_t) lrint(lines[li][2] * i * 1024);
                    ay[i] = (int32_t) lrint(lines[li][3] * i * 1024);
                }
                for (size_t n = 0; n <= 61; n += (n < 40 ? 1 : 7)) {
                    size_t nn = n == 61 ? 333 : n;
                    s_buf_t e = s_buf(3 * nn, 0, off), v = s_buf(3 * nn, 0, off);
                    S->warp_rgb(src.p, (ptrdiff_t) stride, sw, sh, ax, ay, X, Y, e.p, nn);
                    V->warp_rgb(src.p, (ptrdiff_t) stride, sw, sh, ax, ay, X, Y, v.p, nn);
                    S_SAME(!memcmp(e.p, v.p, 3 * nn) && s_guards_ok(&v),
                           "%s warp_rgb %dx%d stride %zu line %zu n=%zu", s_name, sw, sh,
                           stride, li, nn);
                    s_free(&e);
                    s_free(&v);
                }
            }
            s_free(&src);
        }
    }
}

/* bilinear_at: gray sources of odd sizes (widths 1..131) at offsets off alignment with
 * strides wider than their rows, band positions random (inside, outside, across every edge),
 * on whole pixels up to the last row and column, through turned, scaled and shifted warps;
 * the values must be the same doubles (NaN outside) bit for bit. */
static void test_bilinear_at(void)
{
    static const int sizes[][2] = {{1, 1}, {3, 2}, {4, 4}, {5, 3}, {17, 9}, {64, 48}, {131, 77}};
    static const double warps[][8] = {
        {1, 0, 0, 0, 1, 0, 0, 0},           {0.99, -0.12, 0.3, 0.12, 0.99, -0.7, 5.5, 3.5},
        {1.3, 0.2, -4, -0.2, 0.8, 2, 10, 6}, {-1, 0, 0, 0, -1, 0, 20.25, 11.75}};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        int sw = sizes[si][0], sh = sizes[si][1];
        for (size_t off = 0; off < 3; off++) {
            size_t stride = (size_t) sw + 3 * off;
            s_buf_t src = s_buf(stride * (size_t) sh, 0, off * 5);
            s_fill8(src.p, stride * (size_t) sh, S_RANDOM, 255);
            enum { N = 203 };
            float ux[N], uy[N];
            uint64_t st = s_seed++;
            for (int i = 0; i < N; i++) {
                st = st * 6364136223846793005ULL + 1442695040888963407ULL;
                if (i % 5 == 0) { /* whole pixels, the last row and column among them */
                    ux[i] = (float) ((int) (st >> 33) % (sw + 2) - 1);
                    uy[i] = (float) ((int) (st >> 45) % (sh + 2) - 1);
                } else {
                    ux[i] = (float) (((double) (st >> 11) / 9007199254740992.0) * (sw + 8) - 4);
                    st = st * 6364136223846793005ULL + 1442695040888963407ULL;
                    uy[i] = (float) (((double) (st >> 11) / 9007199254740992.0) * (sh + 8) - 4);
                }
            }
            for (size_t wi = 0; wi < sizeof warps / sizeof warps[0]; wi++) {
                double w[8];
                memcpy(w, warps[wi], sizeof w);
                w[6] *= sw / 20.0, w[7] *= sh / 12.0;
                for (size_t n = 0; n <= N; n += (n < 24 ? 1 : 29)) {
                    double e[N + 1], v[N + 1];
                    memset(e, 0x5a, sizeof e);
                    memset(v, 0x5a, sizeof v);
                    S->bilinear_at(src.p, (ptrdiff_t) stride, sw, sh, ux, uy, w, e, n);
                    V->bilinear_at(src.p, (ptrdiff_t) stride, sw, sh, ux, uy, w, v, n);
                    S_SAME(!memcmp(e, v, sizeof e), "%s bilinear_at %dx%d stride %zu warp %zu n=%zu",
                           s_name, sw, sh, stride, wi, n);
                }
            }
            s_free(&src);
        }
    }
}

int main(void)
{
    rv_kernels_t scalar, t;
    if (rv__kernels_for(RV_ISA_SCALAR, &scalar) != 0)
        return rs_test_skip("filter_equiv", "no scalar table");
    S = &scalar.f;
    int tested = 0;
    for (int isa = RV_ISA_SSE2; isa <= RV_ISA_NEON; isa++) {
        if (rv__kernels_for((rv_isa_t) isa, &t) != 0) {
            printf("filter_equiv: %s: skipped (not supported by this CPU or build)\n",
                   s_isa[isa]);
            continue;
        }
        V = &t.f;
        s_name = s_isa[isa];
        s_fail_shown = 0;
        test_sobel();
        test_gauss();
        test_box();
        test_window();
        test_rows();
        test_warp();
        test_bilinear_at();
        if (rv_simd_supported(s_isa[isa]))
            test_images(isa);
        else
            printf("filter_equiv: %s: image-level part skipped (capped by RV_SIMD=%s)\n",
                   s_isa[isa], getenv("RV_SIMD") ? getenv("RV_SIMD") : "");
        printf("filter_equiv: %s: compared with scalar\n", s_isa[isa]);
        tested++;
    }
    if (!tested)
        printf("filter_equiv: only the scalar kernels run here\n");
    return rs_test_end("filter_equiv");
}
