/* test_point_equiv.c - every pointwise kernel of every instruction set this CPU runs must
 * match the scalar specification bit for bit: all widths 0 .. 2*64+1 and a few large ones,
 * every start offset 0 .. 63 from 64-byte alignment plus inputs that end right at an
 * unmapped page (a read past the end faults), guard bytes around every output, several
 * input patterns; all 2^24 colours for the RGB kernels; the image-level API over views with
 * wide strides and heights 1 .. 3; in-place use; the API's error paths. */
#include "rs_test.h"
#include "rv_kernels.h"
#include "rv/rv_error.h"
#include "rv/rv_point.h"
#include "rv/rv_simd.h"

#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUARD 0xA5
#define GUARD_LEN 64
#define MAX_N 4099

static const char *const s_isa_names[] = {"scalar", "sse2", "avx2", "avx512", "neon"};

/* ------------------------------------------------------------------------------------- */
/* Input slots: mapped memory followed by a PROT_NONE page. An input is placed either at
 * 64-byte alignment + off, or (off == FENCE) so that its last byte touches the fence. */

#define FENCE 64 /* the "offset" that means: end at the unmapped page */

typedef struct slot {
    uint8_t *base;
    uint8_t *fence;
    size_t len;
} slot_t;

static void s_slot_init(slot_t *s, size_t bytes)
{
    size_t page = (size_t) sysconf(_SC_PAGESIZE);
    size_t len = (bytes + 128 + page - 1) / page * page;
    uint8_t *p = mmap(NULL, len + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                      0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    if (mprotect(p + len, page, PROT_NONE) != 0) {
        perror("mprotect");
        exit(1);
    }
    s->base = p;
    s->fence = p + len;
    s->len = len;
}

/* Place `bytes` bytes of content in the slot; align is the element alignment (1 or 4). */
static uint8_t *s_place(slot_t *s, const void *content, size_t bytes, int off, size_t align)
{
    uint8_t *p;
    if (off == FENCE) {
        p = s->fence - bytes;
        p -= (uintptr_t) p % align;
    } else {
        uintptr_t start = (uintptr_t) (s->fence - bytes - 64) & ~(uintptr_t) 63;
        p = (uint8_t *) start + ((size_t) off & ~(align - 1));
    }
    if (bytes)
        memcpy(p, content, bytes);
    return p;
}

/* Outputs: the output region at 64-byte alignment + off inside a larger buffer, with
 * GUARD_LEN guard bytes on each side (only those are filled and checked, to keep the
 * hundreds of thousands of cases fast). */
typedef struct out {
    uint8_t buf[GUARD_LEN + 64 + 4 * MAX_N + GUARD_LEN + 64];
    uint8_t *region;
    size_t bytes;
} out_t;

static uint8_t *s_out_prepare(out_t *o, int off, size_t bytes, size_t align)
{
    uintptr_t start = ((uintptr_t) o->buf + GUARD_LEN + 63) & ~(uintptr_t) 63;
    o->region = (uint8_t *) start + ((size_t) (off & 63) & ~(align - 1));
    o->bytes = bytes;
    memset(o->region - GUARD_LEN, GUARD, bytes + 2 * GUARD_LEN);
    return o->region;
}

static bool s_out_guards_ok(const out_t *o)
{
    for (int j = 1; j <= GUARD_LEN; j++)
        if (o->region[-j] != GUARD || o->region[o->bytes + (size_t) j - 1] != GUARD)
            return false;
    return true;
}

/* ------------------------------------------------------------------------------------- */
/* Kernels under test, called uniformly. */

enum {
    K_GRAY, K_ABSDIFF, K_MAX, K_MIN, K_SUB_SAT, K_THRESHOLD, K_BAND, K_RUST, K_FRONT, K_HIST,
    K_INTEGRAL, K_LUT, K_COUNT
};
static const char *const s_kernel_names[K_COUNT] = {
    "gray_from_rgb", "absdiff", "max", "min", "sub_sat", "threshold", "band", "rust", "front",
    "hist", "integral_row", "lut"};

/* Inputs per kernel: number, and bytes per element of each. */
static const int s_nin[K_COUNT] = {1, 2, 2, 2, 2, 1, 3, 1, 1, 1, 2, 1};
/* lut's tables: an identity, a reversal, a gain with clamps (as the gain correction makes)
 * and random ones; the case's thr picks one */
static uint8_t s_tables[4][256];
static void s_tables_init(void)
{
    for (int v = 0; v < 256; v++) {
        s_tables[0][v] = (uint8_t) v;
        s_tables[1][v] = (uint8_t) (255 - v);
        int g = (int) lround(1.37 * v - 21);
        s_tables[2][v] = (uint8_t) (g < 0 ? 0 : g > 255 ? 255 : g);
    }
    rs_fill_random(s_tables[3], 256, 99);
}
static size_t s_in_esize(int k, int i)
{
    if (k == K_GRAY || k == K_RUST || k == K_FRONT)
        return 3;
    if (k == K_INTEGRAL && i == 1)
        return 4;
    return 1;
}
/* Outputs: number, and bytes per element. */
static int s_nout(int k)
{
    return k == K_FRONT ? 2 : k == K_HIST ? 0 : 1;
}
static size_t s_out_esize(int k)
{
    return k == K_INTEGRAL ? 4 : 1;
}

static size_t s_run(const rv_point_kernels_t *t, int k, uint8_t *const in[3], uint8_t *out[2],
                    uint32_t *hist, size_t n, uint8_t thr)
{
    switch (k) {
    case K_GRAY: t->gray_from_rgb(in[0], out[0], n); return 0;
    case K_ABSDIFF: t->absdiff(in[0], in[1], out[0], n); return 0;
    case K_MAX: t->max(in[0], in[1], out[0], n); return 0;
    case K_MIN: t->min(in[0], in[1], out[0], n); return 0;
    case K_SUB_SAT: t->sub_sat(in[0], in[1], out[0], n); return 0;
    case K_THRESHOLD: return t->threshold(in[0], out[0], n, thr);
    case K_BAND: return t->band(in[0], in[1], in[2], out[0], n);
    case K_RUST: t->rust(in[0], out[0], n); return 0;
    case K_FRONT: return t->front(in[0], out[0], out[1], n, thr);
    case K_HIST: t->hist(in[0], n, hist); return 0;
    case K_LUT: t->lut(in[0], out[0], n, s_tables[thr % 4]); return 0;
    case K_INTEGRAL:
        t->integral_row(in[0], (const uint32_t *) (const void *) in[1],
                        (uint32_t *) (void *) out[0], n);
        return 0;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------- */
/* Input patterns. */

enum { P_ZERO, P_FF, P_RAMP, P_CHECKER, P_RANDOM, P_NEAR, P_COUNT };
static const char *const s_pattern_names[P_COUNT] = {"zeros", "0xff", "ramp", "checker",
                                                     "random", "near"};

/* Content of input i (bytes) for a pattern; `base` is input 0's content (for P_NEAR). */
static void s_pattern(uint8_t *p, size_t bytes, size_t esize, int pat, int i, size_t n,
                      const uint8_t *base)
{
    uint64_t seed = 0x9E3779B97F4A7C15ull ^ ((uint64_t) n << 8) ^ (uint64_t) i;
    switch (pat) {
    case P_ZERO: memset(p, 0, bytes); break;
    case P_FF: memset(p, 0xff, bytes); break;
    case P_RAMP:
        for (size_t j = 0; j < bytes; j++)
            p[j] = (uint8_t) (j * (3 + 2 * (size_t) i) + 17 * (size_t) i);
        break;
    case P_CHECKER:
        for (size_t j = 0; j < bytes; j++)
            p[j] = (((j / esize) + (size_t) i) & 1) ? 0xff : 0x00;
        break;
    case P_RANDOM: rs_fill_random(p, bytes, seed); break;
    case P_NEAR: {
        uint64_t s = seed;
        if (esize == 3) { /* colours around the rust region */
            for (size_t j = 0; j + 3 <= bytes; j += 3) {
                int r = 30 + (int) (rs_rand(&s) % 226);
                int c = (int) (rs_rand(&s) % (unsigned) (r + 1));
                int b = r - c, g = b + (int) (rs_rand(&s) % (unsigned) (c + 3)) - 1;
                p[j] = (uint8_t) r;
                p[j + 1] = (uint8_t) (g < 0 ? 0 : g > 255 ? 255 : g);
                p[j + 2] = (uint8_t) b;
            }
        } else if (i == 0 || esize != 1) {
            rs_fill_random(p, bytes, seed);
        } else { /* close to input 0, so equalities and edges occur often */
            for (size_t j = 0; j < bytes; j++) {
                int v = base[j] + (int) (rs_rand(&s) % 5) - 2;
                p[j] = (uint8_t) (v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
        break;
    }
    }
}

/* ------------------------------------------------------------------------------------- */

typedef struct isa_set {
    int count;
    rv_kernels_t t[5];
} isa_set_t;

static isa_set_t s_isas; /* the vector sets under test (scalar excluded) */
static rv_kernels_t s_ref;
static long s_compared[5];

static slot_t s_slots[3];
static out_t s_ref_out[2], s_out[2];
static uint8_t s_content[3][4 * MAX_N + 64];

static void s_check_case(int k, size_t n, int pat, int off)
{
    const int out_off = (off == FENCE) ? 5 : (off * 7 + 13) & 63;
    const uint8_t thrs[] = {0, 1, 100, 127, 128, 254, 255};
    const uint8_t thr = thrs[(n + (size_t) off + (size_t) pat) % 7];
    uint8_t *in[3] = {NULL, NULL, NULL};
    for (int i = 0; i < s_nin[k]; i++) {
        size_t es = s_in_esize(k, i), bytes = n * es;
        s_pattern(s_content[i], bytes, es, pat, i, n, s_content[0]);
        in[i] = s_place(&s_slots[i], s_content[i], bytes, off, es == 4 ? 4 : 1);
    }
    size_t obytes = n * s_out_esize(k);
    uint8_t *ref[2] = {NULL, NULL};
    uint32_t ref_hist[256], hist[256];
    for (int j = 0; j < 256; j++)
        ref_hist[j] = (uint32_t) j * 2654435761u;
    for (int o = 0; o < s_nout(k); o++)
        ref[o] = s_out_prepare(&s_ref_out[o], out_off + 16 * o, obytes, s_out_esize(k));
    size_t ref_count = s_run(&s_ref.p, k, in, ref, ref_hist, n, thr);

    for (int v = 0; v < s_isas.count; v++) {
        const rv_kernels_t *t = &s_isas.t[v];
        uint8_t *out[2] = {NULL, NULL};
        for (int j = 0; j < 256; j++)
            hist[j] = (uint32_t) j * 2654435761u;
        for (int o = 0; o < s_nout(k); o++)
            out[o] = s_out_prepare(&s_out[o], out_off + 16 * o, obytes, s_out_esize(k));
        size_t count = s_run(&t->p, k, in, out, hist, n, thr);
        bool same = count == ref_count;
        for (int o = 0; o < s_nout(k); o++) {
            same = same && memcmp(out[o], ref[o], obytes) == 0;
            RS_CHECKF(s_out_guards_ok(&s_out[o]),
                      "%s %s: wrote outside its output (n=%zu off=%d %s)", t->name,
                      s_kernel_names[k], n, off, s_pattern_names[pat]);
        }
        if (k == K_HIST)
            same = memcmp(hist, ref_hist, sizeof hist) == 0;
        RS_CHECKF(same, "%s %s differs from scalar (n=%zu off=%d %s thr=%d count %zu vs %zu)",
                  t->name, s_kernel_names[k], n, off, s_pattern_names[pat], thr, count,
                  ref_count);
        s_compared[t->isa]++;
    }
    for (int o = 0; o < s_nout(k); o++)
        RS_CHECKF(s_out_guards_ok(&s_ref_out[o]),
                  "scalar %s: wrote outside its output (n=%zu)", s_kernel_names[k], n);
}

static void s_test_rows(void)
{
    for (int i = 0; i < 3; i++)
        s_slot_init(&s_slots[i], 4 * MAX_N + 64);
    static const size_t large[] = {1000, 4099};
    for (int k = 0; k < K_COUNT; k++) {
        for (size_t n = 0; n <= 2 * 64 + 1 + 2; n++) {
            size_t width = n <= 2 * 64 + 1 ? n : large[n - (2 * 64 + 2)];
            for (int pat = 0; pat < P_COUNT; pat++)
                for (int off = 0; off <= FENCE; off++) {
                    /* the large widths: a few offsets are enough */
                    if (width > 200 && !(off <= 1 || off == 31 || off == 63 || off == FENCE))
                        continue;
                    s_check_case(k, width, pat, off);
                }
        }
    }
}

/* In place: an output that is the very same buffer as an input. */
static void s_test_in_place(void)
{
    enum { N = 777 };
    static uint8_t a[N], b[N], lo[N], hi[N], want[N], got[N];
    static uint32_t above[N], iwant[N], igot[N];
    rs_fill_random(a, N, 11);
    rs_fill_random(b, N, 12);
    rs_fill_random(lo, N, 13);
    rs_fill_random(hi, N, 14);
    for (int i = 0; i < N; i++)
        above[i] = (uint32_t) i * 40503u;
    for (int v = 0; v < s_isas.count; v++) {
        const rv_point_kernels_t *t = &s_isas.t[v].p;
        const char *name = s_isas.t[v].name;
        void (*bin[4])(const uint8_t *, const uint8_t *, uint8_t *, size_t) = {
            t->absdiff, t->max, t->min, t->sub_sat};
        void (*bin_ref[4])(const uint8_t *, const uint8_t *, uint8_t *, size_t) = {
            s_ref.p.absdiff, s_ref.p.max, s_ref.p.min, s_ref.p.sub_sat};
        for (int f = 0; f < 4; f++) {
            bin_ref[f](a, b, want, N);
            memcpy(got, a, N);
            bin[f](got, b, got, N);
            RS_CHECKF(memcmp(got, want, N) == 0, "%s: binary kernel %d in place (dst = a)", name,
                      f);
            memcpy(got, b, N);
            bin[f](a, got, got, N);
            RS_CHECKF(memcmp(got, want, N) == 0, "%s: binary kernel %d in place (dst = b)", name,
                      f);
        }
        size_t cw = s_ref.p.threshold(a, want, N, 77);
        memcpy(got, a, N);
        RS_CHECK_EQ(t->threshold(got, got, N, 77), cw);
        RS_CHECKF(memcmp(got, want, N) == 0, "%s: threshold in place", name);
        cw = s_ref.p.band(a, lo, hi, want, N);
        memcpy(got, a, N);
        RS_CHECK_EQ(t->band(got, lo, hi, got, N), cw);
        RS_CHECKF(memcmp(got, want, N) == 0, "%s: band in place", name);
        s_ref.p.integral_row(a, above, iwant, N);
        memcpy(igot, above, sizeof igot);
        t->integral_row(a, igot, igot, N);
        RS_CHECKF(memcmp(igot, iwant, sizeof igot) == 0, "%s: integral_row in place", name);
        s_ref.p.lut(a, want, N, s_tables[3]);
        memcpy(got, a, N);
        t->lut(got, got, N, s_tables[3]);
        RS_CHECKF(memcmp(got, want, N) == 0, "%s: lut in place", name);
    }
}

/* All 2^24 colours through gray_from_rgb, rust and front. */
static void s_test_all_colours(void)
{
    enum { N = 65536 };
    uint8_t *rgb = malloc(3 * N), *g0 = malloc(N), *r0 = malloc(N), *g1 = malloc(N),
            *r1 = malloc(N), *f0 = malloc(N), *f1 = malloc(N);
    if (!rgb || !g0 || !r0 || !g1 || !r1 || !f0 || !f1) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    long rusty = 0;
    for (int v = 0; v < s_isas.count; v++) {
        const rv_point_kernels_t *t = &s_isas.t[v].p;
        long bad_gray = 0, bad_rust = 0, bad_front = 0;
        for (int r = 0; r < 256; r++) {
            for (int j = 0; j < N; j++) {
                rgb[3 * j] = (uint8_t) r;
                rgb[3 * j + 1] = (uint8_t) (j >> 8);
                rgb[3 * j + 2] = (uint8_t) j;
            }
            uint8_t thr = (uint8_t) (r * 37);
            s_ref.p.gray_from_rgb(rgb, g0, N);
            s_ref.p.rust(rgb, r0, N);
            size_t c0 = s_ref.p.front(rgb, f0, f1, N, thr);
            bad_front += memcmp(f0, g0, N) != 0 || memcmp(f1, r0, N) != 0; /* scalar: fused */
            t->gray_from_rgb(rgb, g1, N);
            bad_gray += memcmp(g0, g1, N) != 0;
            t->rust(rgb, r1, N);
            bad_rust += memcmp(r0, r1, N) != 0;
            size_t c1 = t->front(rgb, g1, r1, N, thr);
            bad_front += c0 != c1 || memcmp(g0, g1, N) != 0 || memcmp(r0, r1, N) != 0;
            if (v == 0)
                for (int j = 0; j < N; j++)
                    rusty += r0[j] != 0;
        }
        const char *name = s_isas.t[v].name;
        RS_CHECKF(bad_gray == 0, "%s gray_from_rgb: %ld of 256 colour rows differ", name, bad_gray);
        RS_CHECKF(bad_rust == 0, "%s rust: %ld of 256 colour rows differ", name, bad_rust);
        RS_CHECKF(bad_front == 0, "%s front: %ld of 256 colour rows differ", name, bad_front);
    }
    if (s_isas.count)
        printf("point_equiv: all 2^24 colours compared (%ld rust-coloured)\n", rusty);
    free(rgb);
    free(g0);
    free(r0);
    free(g1);
    free(r1);
    free(f0);
    free(f1);
}

/* ------------------------------------------------------------------------------------- */
/* The image-level API over views with padded strides, heights 1 .. 3. */

typedef struct img {
    uint8_t *mem;
    size_t len;
    rv_view_t v;
} img_t;

/* A view of w x h of format fmt inside GUARD-filled memory, rows `extra` bytes apart more
 * than needed, starting `off` bytes past 64-byte alignment. */
static void s_img(img_t *im, int w, int h, rv_format_t fmt, int extra, int off)
{
    ptrdiff_t stride = (ptrdiff_t) w * fmt + extra;
    im->len = (size_t) (2 * GUARD_LEN + 64) + (size_t) stride * (size_t) h;
    im->mem = aligned_alloc(64, (im->len + 63) & ~(size_t) 63);
    if (!im->mem) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    memset(im->mem, GUARD, im->len);
    RS_CHECK_EQ(rv_view_wrap(im->mem + GUARD_LEN + off, w, h, stride, fmt, &im->v), RV_OK);
}

static void s_img_fill(img_t *im, uint64_t seed, int pat)
{
    for (int y = 0; y < im->v.height; y++) {
        uint8_t *row = rv_view_row(&im->v, y);
        size_t bytes = (size_t) im->v.width * im->v.fmt;
        if (pat == 0)
            rs_fill_random(row, bytes, seed + (uint64_t) y);
        else
            for (size_t j = 0; j < bytes; j++)
                row[j] = (uint8_t) ((j / im->v.fmt + (size_t) y) & 1 ? 200 : 20);
    }
}

/* Every byte outside the rows' pixels is still GUARD. */
static bool s_img_guards_ok(const img_t *im)
{
    const uint8_t *first = im->v.data;
    size_t row = (size_t) im->v.width * im->v.fmt;
    for (const uint8_t *p = im->mem; p < im->mem + im->len; p++) {
        ptrdiff_t rel = p - first;
        if (rel >= 0 && rel < im->v.stride * im->v.height && (size_t) (rel % im->v.stride) < row)
            continue;
        if (*p != GUARD)
            return false;
    }
    return true;
}

static bool s_img_same(const img_t *a, const img_t *b)
{
    size_t row = (size_t) a->v.width * a->v.fmt;
    for (int y = 0; y < a->v.height; y++)
        if (memcmp(rv_view_row(&a->v, y), rv_view_row(&b->v, y), row) != 0)
            return false;
    return true;
}

static void s_img_free(img_t *im)
{
    free(im->mem);
    im->mem = NULL;
}

/* Outputs of one run of every API function on the same inputs. */
typedef struct api_out {
    img_t gray, diff, mx, mn, sub, thr, band, lo, hi, rust, fgray, frust;
    size_t thr_count, band_count, front_count;
    uint32_t hist[256];
    uint32_t *integral;
} api_out_t;

static void s_api_run(api_out_t *o, const img_t *rgb, const img_t *a, const img_t *b, int w,
                      int h, int extra, size_t istride)
{
    img_t *outs[] = {&o->gray, &o->diff, &o->mx, &o->mn, &o->sub, &o->thr, &o->band, &o->lo,
                     &o->hi, &o->rust, &o->fgray, &o->frust};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
        s_img(outs[i], w, h, RV_GRAY8, extra + (int) i, (int) (i * 9) & 63);
    RS_CHECK_EQ(rv_gray_from_rgb(&rgb->v, &o->gray.v), RV_OK);
    RS_CHECK_EQ(rv_absdiff(&a->v, &b->v, &o->diff.v), RV_OK);
    RS_CHECK_EQ(rv_max(&a->v, &b->v, &o->mx.v), RV_OK);
    RS_CHECK_EQ(rv_min(&a->v, &b->v, &o->mn.v), RV_OK);
    RS_CHECK_EQ(rv_sub_sat(&a->v, &b->v, &o->sub.v), RV_OK);
    RS_CHECK_EQ(rv_threshold(&a->v, &o->thr.v, 99, &o->thr_count), RV_OK);
    RS_CHECK_EQ(rv_band_from_stats(&a->v, &b->v, 300, &o->lo.v, &o->hi.v), RV_OK);
    RS_CHECK_EQ(rv_band_threshold(&b->v, &o->lo.v, &o->hi.v, &o->band.v, &o->band_count),
                RV_OK);
    RS_CHECK_EQ(rv_rust(&rgb->v, &o->rust.v), RV_OK);
    RS_CHECK_EQ(rv_front(&rgb->v, &o->fgray.v, &o->frust.v, 60, &o->front_count), RV_OK);
    RS_CHECK_EQ(rv_histogram(&a->v, o->hist), RV_OK);
    size_t ilen = istride * (size_t) h + 16;
    o->integral = malloc(ilen * sizeof(uint32_t));
    if (!o->integral) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    memset(o->integral, GUARD, ilen * sizeof(uint32_t));
    RS_CHECK_EQ(rv_integral(&a->v, o->integral, istride), RV_OK);
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
        RS_CHECKF(s_img_guards_ok(outs[i]), "%s: output %zu written outside its view (%dx%d)",
                  rv_simd_isa(), i, w, h);
    /* the integral's padding elements stay untouched */
    bool pad_ok = true;
    for (size_t j = 0; j < ilen; j++)
        if ((j >= istride * (size_t) h || j % istride >= (size_t) w)
            && o->integral[j] != 0xA5A5A5A5u)
            pad_ok = false;
    RS_CHECKF(pad_ok, "%s: rv_integral wrote outside %dx%d", rv_simd_isa(), w, h);
}

static void s_api_free(api_out_t *o)
{
    img_t *outs[] = {&o->gray, &o->diff, &o->mx, &o->mn, &o->sub, &o->thr, &o->band, &o->lo,
                     &o->hi, &o->rust, &o->fgray, &o->frust};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
        s_img_free(outs[i]);
    free(o->integral);
}

static void s_api_compare(const api_out_t *x, const api_out_t *y, int w, int h, size_t istride)
{
    const img_t *xs[] = {&x->gray, &x->diff, &x->mx, &x->mn, &x->sub, &x->thr, &x->band, &x->lo,
                         &x->hi, &x->rust, &x->fgray, &x->frust};
    const img_t *ys[] = {&y->gray, &y->diff, &y->mx, &y->mn, &y->sub, &y->thr, &y->band, &y->lo,
                         &y->hi, &y->rust, &y->fgray, &y->frust};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        RS_CHECKF(s_img_same(xs[i], ys[i]), "%s: image output %zu differs from scalar (%dx%d)",
                  rv_simd_isa(), i, w, h);
    RS_CHECK_EQ(x->thr_count, y->thr_count);
    RS_CHECK_EQ(x->band_count, y->band_count);
    RS_CHECK_EQ(x->front_count, y->front_count);
    RS_CHECK(memcmp(x->hist, y->hist, sizeof x->hist) == 0);
    bool same = true;
    for (int yy = 0; yy < h; yy++)
        same = same && memcmp(x->integral + (size_t) yy * istride,
                              y->integral + (size_t) yy * istride, (size_t) w * 4) == 0;
    RS_CHECKF(same, "%s: rv_integral differs from scalar (%dx%d)", rv_simd_isa(), w, h);
}

static void s_test_api(void)
{
    static const int widths[] = {1, 2, 3, 15, 16, 17, 31, 32, 33, 63, 64, 65, 95, 127, 128, 129,
                                 200, 1000};
    int ran[5] = {0};
    for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++)
        for (int h = 1; h <= 3; h++)
            for (int pat = 0; pat < 2; pat++) {
                int w = widths[wi], extra = 1 + (int) ((wi * 7 + (size_t) h) % 70);
                img_t rgb, a, b;
                s_img(&rgb, w, h, RV_RGB8, extra, (int) (wi + (size_t) h) & 63);
                s_img(&a, w, h, RV_GRAY8, extra + 3, (int) (wi * 5) & 63);
                s_img(&b, w, h, RV_GRAY8, extra + 5, (int) (wi * 11 + 1) & 63);
                s_img_fill(&rgb, 100 + wi, pat);
                s_img_fill(&a, 200 + wi, pat);
                s_img_fill(&b, 300 + wi, pat ^ (h & 1));
                size_t istride = (size_t) w + (size_t) h + 2;
                api_out_t ref;
                RS_CHECK_EQ(rv_simd_force("scalar"), RV_OK);
                s_api_run(&ref, &rgb, &a, &b, w, h, extra, istride);
                for (int isa = RV_ISA_SSE2; isa <= RV_ISA_NEON; isa++) {
                    if (!rv_simd_supported(s_isa_names[isa]))
                        continue;
                    RS_CHECK_EQ(rv_simd_force(s_isa_names[isa]), RV_OK);
                    api_out_t got;
                    s_api_run(&got, &rgb, &a, &b, w, h, extra, istride);
                    s_api_compare(&ref, &got, w, h, istride);
                    s_api_free(&got);
                    ran[isa]++;
                }
                s_api_free(&ref);
                s_img_free(&rgb);
                s_img_free(&a);
                s_img_free(&b);
            }
    for (int isa = RV_ISA_SSE2; isa <= RV_ISA_NEON; isa++)
        if (ran[isa])
            printf("point_equiv: image API %s: %d image sets compared with scalar\n",
                   s_isa_names[isa], ran[isa]);
        else
            printf("point_equiv: image API %s: skipped (not available here or capped by "
                   "RV_SIMD)\n", s_isa_names[isa]);
}

/* ------------------------------------------------------------------------------------- */

static void s_expect_einval(int rc, const char *text)
{
    RS_CHECK_EQ(rc, RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), text);
}

static void s_test_errors(void)
{
    img_t rgb, g, g2, small;
    s_img(&rgb, 8, 4, RV_RGB8, 0, 0);
    s_img(&g, 8, 4, RV_GRAY8, 0, 0);
    s_img(&g2, 8, 4, RV_GRAY8, 3, 0);
    s_img(&small, 7, 4, RV_GRAY8, 0, 0);
    rv_view_fill(&rgb.v, 1);
    rv_view_fill(&g.v, 2);
    rv_view_fill(&g2.v, 3);
    rv_view_fill(&small.v, 4);
    size_t count = 0;
    uint32_t hist[256], integral[64];

    s_expect_einval(rv_gray_from_rgb(&g.v, &g2.v), "src must be RGB8, not GRAY8");
    s_expect_einval(rv_gray_from_rgb(&rgb.v, &rgb.v), "dst must be GRAY8, not RGB8");
    s_expect_einval(rv_gray_from_rgb(&rgb.v, &small.v), "sizes differ: src is 8x4, dst is 7x4");
    s_expect_einval(rv_gray_from_rgb(NULL, &g.v), "src: no view");
    s_expect_einval(rv_absdiff(&g.v, &small.v, &g2.v), "sizes differ: a is 8x4, b is 7x4");
    s_expect_einval(rv_max(&g.v, &g2.v, &small.v), "sizes differ: a is 8x4, dst is 7x4");
    s_expect_einval(rv_min(&rgb.v, &g2.v, &g.v), "a must be GRAY8");
    s_expect_einval(rv_sub_sat(&g.v, &rgb.v, &g2.v), "rv_sub_sat: b must be GRAY8");
    s_expect_einval(rv_threshold(&g.v, &small.v, 1, &count), "rv_threshold: sizes differ");
    s_expect_einval(rv_band_threshold(&g.v, &g2.v, &small.v, &g.v, &count),
                    "sizes differ: src is 8x4, hi is 7x4");
    s_expect_einval(rv_band_from_stats(&g.v, &g2.v, -1, &g.v, &g2.v), "k_q8 -1 is outside");
    s_expect_einval(rv_band_from_stats(&g.v, &g2.v, 256, &small.v, &g2.v),
                    "sizes differ: mean is 8x4, lo is 7x4");
    s_expect_einval(rv_rust(&g.v, &g2.v), "rv_rust: rgb must be RGB8");
    s_expect_einval(rv_front(&rgb.v, &g.v, &g.v, 9, &count), "gray and rust must be distinct");
    s_expect_einval(rv_front(&rgb.v, &g.v, &small.v, 9, &count), "rgb is 8x4, rust is 7x4");
    s_expect_einval(rv_histogram(&rgb.v, hist), "rv_histogram: src must be GRAY8");
    s_expect_einval(rv_histogram(&g.v, NULL), "no histogram");
    s_expect_einval(rv_integral(&g.v, integral, 7), "out_stride 7 is less than the width 8");
    s_expect_einval(rv_integral(&g.v, NULL, 8), "no output");
    rv_view_t bad = g.v;
    bad.stride = 3;
    s_expect_einval(rv_threshold(&bad, &g2.v, 1, NULL), "stride 3 is less than a row of 8");
    bad = g.v;
    bad.width = 0;
    s_expect_einval(rv_threshold(&g.v, &bad, 1, NULL), "dst: bad size 0x4");
    /* failures leave the outputs alone */
    RS_CHECK(rv_view_row(&g2.v, 0)[0] == 3 && rv_view_row(&g.v, 3)[7] == 2);
    RS_CHECK(s_img_guards_ok(&g) && s_img_guards_ok(&g2) && s_img_guards_ok(&small));
    s_img_free(&rgb);
    s_img_free(&g);
    s_img_free(&g2);
    s_img_free(&small);
}

int main(void)
{
    RS_CHECK_EQ(rv__kernels_for(RV_ISA_SCALAR, &s_ref), 0);
    for (int isa = RV_ISA_SSE2; isa <= RV_ISA_NEON; isa++) {
        if (rv__kernels_for((rv_isa_t) isa, &s_isas.t[s_isas.count]) == 0)
            s_isas.count++;
        else
            printf("point_equiv: %s: skipped (not supported by this CPU or build)\n",
                   s_isa_names[isa]);
    }
    s_tables_init();
    s_test_rows();
    s_test_in_place();
    s_test_all_colours();
    for (int v = 0; v < s_isas.count; v++)
        printf("point_equiv: %s: %ld row cases compared with scalar\n", s_isas.t[v].name,
               s_compared[s_isas.t[v].isa]);
    if (s_isas.count == 0)
        printf("point_equiv: no vector instruction set here; only the API checks ran\n");
    s_test_api();
    s_test_errors();
    return rs_test_end("point_equiv");
}
