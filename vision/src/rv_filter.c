/* rv_filter.c - image-level neighbourhood filters: borders, strides and row pipelines
 * around the row kernels of rv_kernels_filter.h.
 *
 * Everything streams: each output row is produced from a few row buffers (rings) that stay
 * in L1/L2, so the image is read once and written once whatever the filter. Blurs and the
 * gradient run a vertical kernel over the source rows (reflected at the top and bottom),
 * reflect the ends of the resulting row of column sums and run the horizontal kernel.
 * Morphology: see the comment above s_rects_clip(). */
#include "rv/rv_filter.h"
#include "rv/rv_error.h"
#include "rv_kernels.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* checks and helpers */

/* BORDER_REFLECT_101 index, as OpenCV's borderInterpolate: reflects as often as needed,
 * and a single pixel reflects onto itself. */
static int s_reflect101(int p, int len)
{
    if (len == 1)
        return 0;
    while (p < 0 || p >= len)
        p = p < 0 ? -p : 2 * (len - 1) - p;
    return p;
}

/* Rows i of a and j of b share bytes when -wb < (b0 - a0) + (j - i) stride < wa. Exact for
 * equal strides (side-by-side regions of one image are fine), conservative otherwise. */
static int s_overlap(const rv_view_t *a, const rv_view_t *b)
{
    uintptr_t a0 = (uintptr_t) a->data, b0 = (uintptr_t) b->data;
    uintptr_t a1 = a0 + (uintptr_t) (a->height - 1) * (uintptr_t) a->stride + (uintptr_t) a->width;
    uintptr_t b1 = b0 + (uintptr_t) (b->height - 1) * (uintptr_t) b->stride + (uintptr_t) b->width;
    if (a1 <= b0 || b1 <= a0)
        return 0;
    if (a->stride != b->stride)
        return 1;
    ptrdiff_t s = a->stride, d = (ptrdiff_t) (b0 - a0);
    ptrdiff_t q0 = -d / s; /* the row distances j - i worth trying are around -d / s */
    for (ptrdiff_t q = q0 - 1; q <= q0 + 1; q++) {
        if (q < -(ptrdiff_t) (a->height - 1) || q > (ptrdiff_t) (b->height - 1))
            continue;
        ptrdiff_t e = d + q * s;
        if (e > -(ptrdiff_t) b->width && e < (ptrdiff_t) a->width)
            return 1;
    }
    return 0;
}

static int s_check_view(const char *domain, const char *what, const rv_view_t *v)
{
    if (!v || !v->data)
        return rv_fail(RV_EINVAL, domain, "%s: no view or no pixels", what);
    if (v->fmt != RV_GRAY8)
        return rv_fail(RV_EINVAL, domain, "%s: format %d is not gray8", what, (int) v->fmt);
    if (v->width <= 0 || v->height <= 0)
        return rv_fail(RV_EINVAL, domain, "%s: bad size %dx%d", what, v->width, v->height);
    if (v->stride < v->width)
        return rv_fail(RV_EINVAL, domain, "%s: stride %td is less than the width %d", what,
                       v->stride, v->width);
    return RV_OK;
}

static int s_check(const char *domain, const rv_view_t *src, const rv_view_t *dst)
{
    int rc = s_check_view(domain, "src", src);
    if (rc == RV_OK)
        rc = s_check_view(domain, "dst", dst);
    if (rc != RV_OK)
        return rc;
    if (src->width != dst->width || src->height != dst->height)
        return rv_fail(RV_EINVAL, domain, "dst is %dx%d but src is %dx%d", dst->width,
                       dst->height, src->width, src->height);
    if (s_overlap(src, dst))
        return rv_fail(RV_EINVAL, domain, "src and dst overlap (in-place filtering is not "
                       "supported)");
    return RV_OK;
}

/* 64-byte aligned, so vector kernels start aligned on the buffers' first element */
static void *s_alloc(const char *domain, size_t bytes)
{
    void *p = aligned_alloc(64, (bytes + 63) & ~(size_t) 63);
    if (!p)
        rv_fail(RV_ENOMEM, domain, "cannot allocate %zu bytes of row buffers", bytes);
    return p;
}

/* Reflect the r elements beyond each end of row v[0, n) (BORDER_REFLECT_101). */
#define S_REFLECT_ENDS(name, T)                                                              \
    static void name(T *v, int n, int r)                                                     \
    {                                                                                        \
        for (int j = 1; j <= r; j++) {                                                       \
            v[-j] = v[s_reflect101(-j, n)];                                                  \
            v[n - 1 + j] = v[s_reflect101(n - 1 + j, n)];                                    \
        }                                                                                    \
    }
S_REFLECT_ENDS(s_reflect_u16, uint16_t)
S_REFLECT_ENDS(s_reflect_i16, int16_t)

static const uint8_t *s_row_reflect(const rv_view_t *v, int y)
{
    return rv_view_row(v, s_reflect101(y, v->height));
}

/* ------------------------------------------------------------------------------------ */
/* blur and gradient */

/* Elements kept before x = 0 in the 16-bit row buffers: 64 bytes keeps x = 0 aligned. */
#define S_PAD16 32

int rv_gauss5(const rv_view_t *src, const rv_view_t *dst)
{
    int rc = s_check("rv_gauss5", src, dst);
    if (rc != RV_OK)
        return rc;
    const rv_filter_kernels_t *k = &rv__kernels()->f;
    int w = src->width;
    uint16_t *buf = s_alloc("rv_gauss5", ((size_t) w + 2 * S_PAD16) * sizeof *buf);
    if (!buf)
        return RV_ENOMEM;
    uint16_t *v = buf + S_PAD16;
    for (int y = 0; y < src->height; y++) {
        k->gauss5_v(s_row_reflect(src, y - 2), s_row_reflect(src, y - 1), rv_view_row(src, y),
                    s_row_reflect(src, y + 1), s_row_reflect(src, y + 2), v, (size_t) w);
        s_reflect_u16(v, w, 2);
        k->gauss5_h(v, rv_view_row(dst, y), (size_t) w);
    }
    free(buf);
    return RV_OK;
}

/* cvRound: the nearest integer, halves to even (the default rounding mode), 0 for NaN and
 * the int range's ends beyond it (only a refused transform gets there) */
static int32_t s_round(double v)
{
    return v != v ? 0 : v >= 2147483647.0 ? INT32_MAX : v <= -2147483648.0 ? INT32_MIN : (int32_t) lrint(v);
}

int rv_warp_affine_rgb(const rv_view_t *src, const rv_view_t *dst, const double m[2][3])
{
    const char *domain = "rv_warp_affine_rgb";
    if (!src || !dst || !src->data || !dst->data || src->fmt != RV_RGB8 || dst->fmt != RV_RGB8)
        return rv_fail(RV_EINVAL, domain, "needs two RGB8 views");
    /* dst -> src, inverted as OpenCV's warpAffine inverts it, operation for operation */
    double d = m[0][0] * m[1][1] - m[0][1] * m[1][0];
    if (!isfinite(d) || fabs(d) < 1e-12)
        return rv_fail(RV_EINVAL, domain, "the transform is singular");
    d = 1. / d;
    double i0 = m[1][1] * d, i1 = m[0][1] * -d, i3 = m[1][0] * -d, i4 = m[0][0] * d;
    double i2 = -i0 * m[0][2] - i1 * m[1][2], i5 = -i3 * m[0][2] - i4 * m[1][2];
    /* positions in 1/1024 px: each column's offset rounded once, each row's start rounded
     * plus half a 1/32 px (OpenCV's AB_BITS 10, INTER_BITS 5); all within 2^30 */
    const double one = 1024.0, lim = 1073741824.0;
    int w = dst->width;
    int32_t *ax = malloc(sizeof *ax * 2 * (size_t) (w > 0 ? w : 1)), *ay = ax ? ax + w : NULL;
    if (!ax)
        return rv_fail(RV_ENOMEM, domain, "out of memory");
    int rc = RV_OK;
    for (int x = 0; x < w && rc == RV_OK; x++) {
        double px = i0 * x * one, py = i3 * x * one;
        if (!(fabs(px) < lim / 2 && fabs(py) < lim / 2))
            rc = rv_fail(RV_EINVAL, domain, "the transform moves the view more than 2^19 px");
        ax[x] = s_round(px);
        ay[x] = s_round(py);
    }
    const rv_filter_kernels_t *k = &rv__kernels()->f;
    for (int y = 0; y < dst->height && rc == RV_OK; y++) {
        double sx = (i1 * y + i2) * one, sy = (i4 * y + i5) * one;
        if (!(fabs(sx) < lim / 2 && fabs(sy) < lim / 2)) {
            rc = rv_fail(RV_EINVAL, domain, "the transform moves the view more than 2^19 px");
            break;
        }
        k->warp_rgb(src->data, src->stride, src->width, src->height, ax, ay, s_round(sx) + 16,
                    s_round(sy) + 16, rv_view_row(dst, y), (size_t) w);
    }
    free(ax);
    return rc;
}

int rv_box_blur(const rv_view_t *src, const rv_view_t *dst, int k)
{
    int rc = s_check("rv_box_blur", src, dst);
    if (rc != RV_OK)
        return rc;
    if (k < 1 || k > RV_BOX_MAX || k % 2 == 0)
        return rv_fail(RV_EINVAL, "rv_box_blur", "size %d is not odd in 1..%d", k, RV_BOX_MAX);
    const rv_filter_kernels_t *kk = &rv__kernels()->f;
    int w = src->width, h = src->height, r = k / 2;
    /* column sums padded by r <= 127 elements (128 keeps x = 0 aligned), then box_h scratch */
    size_t pad = 128, accn = ((size_t) w + 2 * pad + 31) & ~(size_t) 31; /* tmp 64-aligned */
    size_t tmpn = (size_t) w + (size_t) k + 64;
    uint16_t *acc = s_alloc("rv_box_blur", accn * sizeof *acc + tmpn * sizeof(uint32_t));
    if (!acc)
        return RV_ENOMEM;
    uint32_t *tmp = (uint32_t *) (acc + accn);
    uint16_t *sums = acc + pad;
    memset(sums, 0, (size_t) w * sizeof *sums);
    for (int j = -r; j <= r; j++)
        kk->box_v(sums, s_row_reflect(src, j), NULL, (size_t) w);
    for (int y = 0; y < h; y++) {
        if (y > 0)
            kk->box_v(sums, s_row_reflect(src, y + r), s_row_reflect(src, y - r - 1),
                      (size_t) w);
        s_reflect_u16(sums, w, r);
        kk->box_h(sums, rv_view_row(dst, y), (size_t) w, k, tmp);
    }
    free(acc);
    return RV_OK;
}

int rv_sobel_mag(const rv_view_t *src, const rv_view_t *dst)
{
    int rc = s_check("rv_sobel_mag", src, dst);
    if (rc != RV_OK)
        return rc;
    const rv_filter_kernels_t *k = &rv__kernels()->f;
    int w = src->width;
    size_t rown = (size_t) w + 2 * S_PAD16;
    int16_t *buf = s_alloc("rv_sobel_mag", 2 * rown * sizeof *buf);
    if (!buf)
        return RV_ENOMEM;
    int16_t *sum = buf + S_PAD16, *diff = buf + rown + S_PAD16;
    for (int y = 0; y < src->height; y++) {
        k->sobel_v(s_row_reflect(src, y - 1), rv_view_row(src, y), s_row_reflect(src, y + 1),
                   sum, diff, (size_t) w);
        s_reflect_i16(sum, w, 1);
        s_reflect_i16(diff, w, 1);
        k->sobel_h(sum, diff, rv_view_row(dst, y), (size_t) w);
    }
    free(buf);
    return RV_OK;
}

/* ------------------------------------------------------------------------------------ */
/* morphology */

/* Elements are unions of m centred rectangles (2a_j+1) x (2b_j+1), a strictly decreasing
 * and b strictly increasing in j (a staircase; m = 1 for the rectangle filters). Dilation
 * by a union is the max of the dilations by its parts, and windows nest: a window of
 * 2a+1 is a window of 2(a - a')+1 over one of 2a'+1. Two engines, both streaming rows:
 * s_stair_* (vertical first; discs and rectangles up to S_STAIR_ROWS rows) and s_tall_*
 * (taller rectangles: horizontal first, then van Herk across rows). Pixels outside the
 * image read as the neutral value (0 for max, 255 for min), which clips every window to
 * the image. */

/* At most this many rectangles: a disc of diameter d has at most d/2 + 1. */
#define S_MAX_RECTS (RV_DISC_MAX / 2 + 1)

typedef enum s_final { S_STORE, S_HAT } s_final_t;

/* A window wider than the image equals one just covering it: clip the m rectangles
 * (sorted by a descending, b ascending) to the image, then drop those another one now
 * contains, which keeps a and b strictly monotonic. Returns the new count. */
static int s_rects_clip(const int *a_in, const int *b_in, int m, int w, int h, int *a, int *b)
{
    int n = 0;
    for (int i = 0; i < m; i++) {
        int ai = a_in[i] < w - 1 ? a_in[i] : w - 1, bi = b_in[i] < h - 1 ? b_in[i] : h - 1;
        if (n > 0 && b[n - 1] == bi)
            continue; /* the previous one is as tall and at least as wide */
        if (n > 0 && a[n - 1] == ai) {
            b[n - 1] = bi; /* as wide and taller: replaces the previous one */
            continue;
        }
        a[n] = ai;
        b[n] = bi;
        n++;
    }
    return n;
}

/* ------------------------------------------------------------------------------------ */
/* tall rectangles: horizontal first, van Herk across rows */

/* Input row t becomes X[t] = the horizontal window of 2a+1 (a ring of 2L rows,
 * L = 2b+1). Across rows, van Herk / Gil-Werman: prefix extremes g within blocks of L rows
 * (blocks start at row -b), suffix extremes computed in place over the X rows when a block
 * completes, and output row y = t - b is op(h[y - b], g[t]): three row operations per
 * row whatever b. */
typedef struct s_tall {
    const rv_filter_kernels_t *k;
    int is_max;
    uint8_t neutral;
    int w, h, a, b, len; /* len = 2b + 1 */
    int size;            /* ring rows: 2 len */
    size_t pitch, margin;
    uint8_t *ring;       /* X rows, margin bytes before x = 0 */
    uint8_t *pad;        /* the input row with neutral margins of a */
    uint8_t *g[2];       /* prefix rows, ping-pong */
    const uint8_t *gcur; /* prefix row of the newest X row */
    uint8_t *tmp;        /* max_h scratch */
    uint8_t *mem;
} s_tall_t;

static uint8_t *s_tall_x(const s_tall_t *s, int t)
{
    int i = t % s->size;
    if (i < 0)
        i += s->size;
    return s->ring + (size_t) i * s->pitch + s->margin;
}

static void s_tall_op2(const s_tall_t *s, const uint8_t *x, const uint8_t *y, uint8_t *dst)
{
    const uint8_t *two[2] = {x, y};
    if (s->is_max)
        s->k->max_rows(two, 2, dst, (size_t) s->w);
    else
        s->k->min_rows(two, 2, dst, (size_t) s->w);
}

static int s_tall_run(const char *domain, int is_max, int a, int b, const rv_view_t *src,
                      const rv_view_t *dst)
{
    s_tall_t s;
    s.k = &rv__kernels()->f;
    s.is_max = is_max;
    s.neutral = is_max ? 0 : 255;
    s.w = src->width;
    s.h = src->height;
    s_rects_clip(&a, &b, 1, s.w, s.h, &s.a, &s.b);
    s.len = 2 * s.b + 1;
    s.size = 2 * s.len;
    s.margin = ((size_t) s.a + 63) & ~(size_t) 63;
    s.pitch = 2 * s.margin + (((size_t) s.w + 63) & ~(size_t) 63);
    size_t tmpn = ((size_t) s.w + 2 * (size_t) s.a + 128 + 63) & ~(size_t) 63;
    size_t bytes = ((size_t) s.size + 3) * s.pitch + tmpn;
    s.mem = aligned_alloc(64, bytes);
    if (!s.mem)
        return rv_fail(RV_ENOMEM, domain, "cannot allocate %zu bytes of row buffers", bytes);
    memset(s.mem, s.neutral, bytes);
    s.ring = s.mem;
    s.pad = s.mem + (size_t) s.size * s.pitch + s.margin;
    s.g[0] = s.pad + s.pitch;
    s.g[1] = s.g[0] + s.pitch;
    s.tmp = s.mem + ((size_t) s.size + 3) * s.pitch;
    s.gcur = NULL;
    size_t w = (size_t) s.w;
    for (int t = -s.b; t < s.h + s.b; t++) {
        uint8_t *x = s_tall_x(&s, t);
        if (t < 0 || t >= s.h) {
            memset(x, s.neutral, w);
        } else if (s.a == 0) {
            memcpy(x, rv_view_row(src, t), w);
        } else {
            memcpy(s.pad, rv_view_row(src, t), w);
            if (is_max)
                s.k->max_h(s.pad, NULL, x, w, 2 * s.a + 1, s.tmp);
            else
                s.k->min_h(s.pad, NULL, x, w, 2 * s.a + 1, s.tmp);
        }
        int p = (t + s.b) % s.len; /* position in the block of L rows */
        if (p == 0) {
            s.gcur = x;
        } else {
            uint8_t *g = s.g[(unsigned) t & 1u];
            s_tall_op2(&s, s.gcur, x, g);
            s.gcur = g;
        }
        if (p == s.len - 1) /* block complete: suffix extremes, in place */
            for (int v = t - 1; v > t - s.len; v--)
                s_tall_op2(&s, s_tall_x(&s, v), s_tall_x(&s, v + 1), s_tall_x(&s, v));
        int y = t - s.b;
        if (y >= 0)
            s_tall_op2(&s, s_tall_x(&s, y - s.b), s.gcur, rv_view_row(dst, y));
    }
    free(s.mem);
    return RV_OK;
}

/* ------------------------------------------------------------------------------------ */
/* vertical-first staircase: discs, and rectangles up to S_STAIR_ROWS rows */

/* For a group of output rows, one stair kernel call gives V_j = the column extreme over
 * rows y-b_j .. y+b_j for every j and every row of the group (each input line fetched
 * once per group). Then along each row, with the nesting above:
 *   T_0 = V_0,  T_{j+1} = op(V_{j+1}, window of 2(a_j - a_{j+1})+1 over T_j),
 *   out = window of 2a_{m-1}+1 over T_{m-1},
 * each T_{j+1} in place over V_{j+1}, on the columns [-a_{j+1}, w + a_{j+1}) the next
 * window reads (V is neutral outside the image). Measured on 5 MP: groups of 4 rows beat
 * 1, 2 and 8 (more rows of V than L1 holds), and cutting the image into bands of columns
 * only added overhead. */
#define S_STAIR_ROWS 31 /* rectangles up to this height use this engine */
#define S_GROUP 4       /* output rows per stair call */

typedef struct s_stair {
    const rv_filter_kernels_t *k;
    int is_max;
    uint8_t neutral;
    int w, h, m;
    int a[S_MAX_RECTS], b[S_MAX_RECTS];
    size_t pitch, margin;  /* a V row: margin bytes, w pixels, margin bytes */
    uint8_t *v;            /* S_GROUP * m V rows: row q, rectangle j is number q * m + j */
    uint8_t **vp;          /* where the stair kernel writes them */
    const uint8_t **rows;  /* the S_GROUP + 2 b[m-1] input rows of a group */
    uint8_t *nrow;         /* neutral row, for input rows outside the image */
    uint8_t *tmp;          /* max_h scratch */
    uint8_t *mem;
} s_stair_t;

/* Input rows: the rows of a view, or a ring holding row t in slot t % size. */
typedef struct s_rows {
    const uint8_t *base;
    ptrdiff_t stride;
    int size; /* 0 for a view */
    int h;
} s_rows_t;

static const uint8_t *s_rows_get(const s_rows_t *r, int t, const uint8_t *outside)
{
    if (t < 0 || t >= r->h)
        return outside;
    return r->base + (ptrdiff_t) (r->size ? t % r->size : t) * r->stride;
}

static void s_stair_free(s_stair_t *s)
{
    free(s->mem);
    s->mem = NULL;
}

static int s_stair_init(s_stair_t *s, const char *domain, int is_max, int w, int h, int m,
                        const int *a_in, const int *b_in)
{
    s->k = &rv__kernels()->f;
    s->is_max = is_max;
    s->neutral = is_max ? 0 : 255;
    s->w = w;
    s->h = h;
    s->m = m = s_rects_clip(a_in, b_in, m, w, h, s->a, s->b);
    size_t a0 = (size_t) s->a[0], nv = (size_t) S_GROUP * (size_t) m;
    size_t nrows = (size_t) S_GROUP + 2 * (size_t) s->b[m - 1];
    size_t wr = ((size_t) w + 63) & ~(size_t) 63;
    s->margin = (a0 + 63) & ~(size_t) 63;
    s->pitch = 2 * s->margin + wr;
    size_t tmpn = ((size_t) w + 4 * a0 + 128 + 63) & ~(size_t) 63;
    size_t ptrs = (nv + nrows) * sizeof(void *);
    size_t bytes = nv * s->pitch + wr + tmpn + ptrs;
    s->mem = aligned_alloc(64, (bytes + 63) & ~(size_t) 63);
    if (!s->mem)
        return rv_fail(RV_ENOMEM, domain, "cannot allocate %zu bytes of row buffers", bytes);
    memset(s->mem, s->neutral, nv * s->pitch + wr);
    s->v = s->mem;
    s->nrow = s->v + nv * s->pitch;
    s->tmp = s->nrow + wr;
    s->vp = (uint8_t **) (void *) (s->tmp + tmpn);
    s->rows = (const uint8_t **) (s->vp + nv);
    return RV_OK;
}

/* V row of output row q and rectangle j */
static uint8_t *s_stair_v(const s_stair_t *s, int q, int j)
{
    return s->v + (size_t) (q * s->m + j) * s->pitch + s->margin;
}

static void s_hop(const s_stair_t *s, const uint8_t *src, const uint8_t *other, uint8_t *dst,
                  size_t n, int k)
{
    if (s->is_max)
        s->k->max_h(src, other, dst, n, k, s->tmp);
    else
        s->k->min_h(src, other, dst, n, k, s->tmp);
}

/* Output rows y0 .. y0+nout-1 (nout <= S_GROUP) into out[q][0, w). */
static void s_stair_group(s_stair_t *s, const s_rows_t *in, int y0, int nout,
                          uint8_t *const *out)
{
    const int *a = s->a;
    int m = s->m, w = s->w, bmax = s->b[m - 1];
    for (int r = 0; r < nout + 2 * bmax; r++)
        s->rows[r] = s_rows_get(in, y0 - bmax + r, s->nrow);
    int column = m == 1 && a[0] == 0; /* the vertical pass is the output */
    for (int q = 0; q < nout; q++)
        for (int j = 0; j < m; j++)
            s->vp[q * m + j] = column ? out[q] : s_stair_v(s, q, j);
    if (s->is_max)
        s->k->max_stair(s->rows, nout, s->b, m, s->vp, (size_t) w);
    else
        s->k->min_stair(s->rows, nout, s->b, m, s->vp, (size_t) w);
    if (column)
        return;
    for (int q = 0; q < nout; q++) {
        int j = 0;
        for (; j + 1 < m; j++) {
            size_t e = (size_t) a[j + 1];
            int kw = 2 * (a[j] - a[j + 1]) + 1;
            uint8_t *t = s_stair_v(s, q, j), *u = s_stair_v(s, q, j + 1);
            if (j + 2 == m && e == 0) { /* the last T is the output */
                s_hop(s, t, u, out[q], (size_t) w, kw);
                break;
            }
            /* the previous group left T values in the margins (at least 64 bytes each
             * side since a[0] >= e > 0: constant-size stores when that covers e) */
            if (e <= 64) {
                memset(u - 64, s->neutral, 64);
                memset(u + w, s->neutral, 64);
            } else {
                memset(u - e, s->neutral, e);
                memset(u + w, s->neutral, e);
            }
            s_hop(s, t - e, u - e, u - e, (size_t) w + 2 * e, kw);
        }
        if (j + 1 == m)
            s_hop(s, s_stair_v(s, q, m - 1), NULL, out[q], (size_t) w, 2 * a[m - 1] + 1);
    }
}

static void s_stair_run(s_stair_t *s, const rv_view_t *src, const rv_view_t *dst)
{
    s_rows_t in = {src->data, src->stride, 0, src->height};
    uint8_t *out[S_GROUP];
    for (int y0 = 0; y0 < s->h; y0 += S_GROUP) {
        int nout = s->h - y0 < S_GROUP ? s->h - y0 : S_GROUP;
        for (int q = 0; q < nout; q++)
            out[q] = rv_view_row(dst, y0 + q);
        s_stair_group(s, &in, y0, nout, out);
    }
}

/* Two stages (closing: dilate then erode; opening: the reverse): the first stage's rows go
 * to a ring the second stage reads. final: S_STORE writes the second stage's output,
 * S_HAT the hat (closing - src or src - opening), binarised when thr >= 0 (*count, if not
 * NULL, gets the 255s). */
static int s_stair_run2(s_stair_t *s1, s_stair_t *s2, const char *domain, const rv_view_t *src,
                        const rv_view_t *dst, s_final_t final, int thr, size_t *count)
{
    const rv_filter_kernels_t *k = s2->k;
    int w = src->width, h = src->height, b2 = s2->b[s2->m - 1];
    int size = 2 * b2 + 3 * S_GROUP; /* ring rows: see below */
    size_t pitch = ((size_t) w + 63) & ~(size_t) 63;
    uint8_t *ring = s_alloc(domain, ((size_t) size + S_GROUP) * pitch);
    if (!ring)
        return RV_ENOMEM;
    uint8_t *hat = ring + (size_t) size * pitch;
    uint8_t *out1[S_GROUP], *out2[S_GROUP];
    s_rows_t in1 = {src->data, src->stride, 0, h};
    s_rows_t in2 = {ring, (ptrdiff_t) pitch, size, h};
    size_t hits = 0;
    int next2 = 0; /* next output row of the second stage */
    for (int y1 = 0; y1 < h; y1 += S_GROUP) {
        /* Rows still needed are >= next2 - b2 > y1 - S_GROUP - 2 b2, the newest
         * y1 + S_GROUP - 1: fewer than size, so no slot in use is overwritten. */
        int n1 = h - y1 < S_GROUP ? h - y1 : S_GROUP;
        for (int q = 0; q < n1; q++)
            out1[q] = ring + (size_t) ((y1 + q) % size) * pitch;
        s_stair_group(s1, &in1, y1, n1, out1);
        int avail = y1 + n1 - 1; /* newest row of the first stage */
        while (next2 < h) {
            int n2 = h - next2 < S_GROUP ? h - next2 : S_GROUP;
            if (avail < h - 1 && next2 + n2 - 1 + b2 > avail)
                break;
            for (int q = 0; q < n2; q++)
                out2[q] = final == S_STORE ? rv_view_row(dst, next2 + q) : hat + (size_t) q * pitch;
            s_stair_group(s2, &in2, next2, n2, out2);
            for (int q = 0; final == S_HAT && q < n2; q++) {
                const uint8_t *one[1] = {out2[q]};
                const uint8_t *ref = rv_view_row(src, next2 + q);
                uint8_t *o = rv_view_row(dst, next2 + q);
                if (s2->is_max) /* opening: src - opening */
                    hits += k->max_rows_rsub(one, 1, ref, o, (size_t) w, thr);
                else /* closing - src */
                    hits += k->min_rows_sub(one, 1, ref, o, (size_t) w, thr);
            }
            next2 += n2;
        }
    }
    free(ring);
    if (count)
        *count = hits;
    return RV_OK;
}

/* ------------------------------------------------------------------------------------ */
/* rectangles */

static int s_rect(const char *domain, const rv_view_t *src, const rv_view_t *dst, int kw,
                  int kh, int is_max)
{
    int rc = s_check(domain, src, dst);
    if (rc != RV_OK)
        return rc;
    if (kw < 1 || kh < 1 || kw % 2 == 0 || kh % 2 == 0)
        return rv_fail(RV_EINVAL, domain, "window %dx%d: sizes must be odd and >= 1", kw, kh);
    int a = kw / 2, b = kh / 2;
    if (kh <= S_STAIR_ROWS) {
        s_stair_t s;
        rc = s_stair_init(&s, domain, is_max, src->width, src->height, 1, &a, &b);
        if (rc != RV_OK)
            return rc;
        s_stair_run(&s, src, dst);
        s_stair_free(&s);
        return RV_OK;
    }
    return s_tall_run(domain, is_max, a, b, src, dst);
}

int rv_dilate_rect(const rv_view_t *src, const rv_view_t *dst, int kw, int kh)
{
    return s_rect("rv_dilate_rect", src, dst, kw, kh, 1);
}

int rv_erode_rect(const rv_view_t *src, const rv_view_t *dst, int kw, int kh)
{
    return s_rect("rv_erode_rect", src, dst, kw, kh, 0);
}

/* ------------------------------------------------------------------------------------ */
/* discs */

/* Half-width of row dy of the disc, exactly as OpenCV's getStructuringElement computes
 * MORPH_ELLIPSE (cvRound of a double, round half to even). */
static int s_disc_half_width(int r, int dy)
{
    double inv_r2 = r ? 1.0 / ((double) r * r) : 0.0;
    return (int) lrint((double) r * sqrt((double) (r * r - dy * dy) * inv_r2));
}

static int s_disc_check(const char *domain, int diameter)
{
    if (diameter < 1 || diameter > RV_DISC_MAX || diameter % 2 == 0)
        return rv_fail(RV_EINVAL, domain, "diameter %d is not odd in 1..%d", diameter,
                       RV_DISC_MAX);
    return RV_OK;
}

/* One rectangle per distinct row width: a descending, b ascending. Returns m. */
static int s_disc_rects(int diameter, int *a, int *b)
{
    int r = diameter / 2, m = 0;
    for (int dy = 0; dy <= r; dy++) {
        int dx = s_disc_half_width(r, dy);
        if (m > 0 && a[m - 1] == dx) {
            b[m - 1] = dy;
        } else {
            a[m] = dx;
            b[m] = dy;
            m++;
        }
    }
    return m;
}

int rv_disc_element(int diameter, uint8_t *mask)
{
    int rc = s_disc_check("rv_disc_element", diameter);
    if (rc != RV_OK)
        return rc;
    if (!mask)
        return rv_fail(RV_EINVAL, "rv_disc_element", "no mask");
    int r = diameter / 2;
    for (int i = 0; i < diameter; i++) {
        int hw = s_disc_half_width(r, abs(i - r));
        for (int j = 0; j < diameter; j++)
            mask[(size_t) i * (size_t) diameter + (size_t) j] = abs(j - r) <= hw;
    }
    return RV_OK;
}

static int s_disc_init(s_stair_t *s, const char *domain, int is_max, const rv_view_t *src,
                       int diameter)
{
    int a[S_MAX_RECTS], b[S_MAX_RECTS];
    int m = s_disc_rects(diameter, a, b);
    return s_stair_init(s, domain, is_max, src->width, src->height, m, a, b);
}

static int s_disc1(const char *domain, const rv_view_t *src, const rv_view_t *dst,
                   int diameter, int is_max)
{
    int rc = s_check(domain, src, dst);
    if (rc == RV_OK)
        rc = s_disc_check(domain, diameter);
    if (rc != RV_OK)
        return rc;
    s_stair_t s;
    rc = s_disc_init(&s, domain, is_max, src, diameter);
    if (rc != RV_OK)
        return rc;
    s_stair_run(&s, src, dst);
    s_stair_free(&s);
    return RV_OK;
}

/* close_first: dilate then erode (closing, black-hat), else erode then dilate. */
static int s_disc2(const char *domain, const rv_view_t *src, const rv_view_t *dst,
                   int diameter, int close_first, s_final_t final, int thr, size_t *count)
{
    int rc = s_check(domain, src, dst);
    if (rc == RV_OK)
        rc = s_disc_check(domain, diameter);
    if (rc != RV_OK)
        return rc;
    s_stair_t s1, s2;
    rc = s_disc_init(&s1, domain, close_first, src, diameter);
    if (rc != RV_OK)
        return rc;
    rc = s_disc_init(&s2, domain, !close_first, src, diameter);
    if (rc == RV_OK) {
        rc = s_stair_run2(&s1, &s2, domain, src, dst, final, thr, count);
        s_stair_free(&s2);
    }
    s_stair_free(&s1);
    return rc;
}

int rv_dilate_disc(const rv_view_t *src, const rv_view_t *dst, int diameter)
{
    return s_disc1("rv_dilate_disc", src, dst, diameter, 1);
}

int rv_erode_disc(const rv_view_t *src, const rv_view_t *dst, int diameter)
{
    return s_disc1("rv_erode_disc", src, dst, diameter, 0);
}

int rv_close_disc(const rv_view_t *src, const rv_view_t *dst, int diameter)
{
    return s_disc2("rv_close_disc", src, dst, diameter, 1, S_STORE, -1, NULL);
}

int rv_open_disc(const rv_view_t *src, const rv_view_t *dst, int diameter)
{
    return s_disc2("rv_open_disc", src, dst, diameter, 0, S_STORE, -1, NULL);
}

int rv_blackhat_disc(const rv_view_t *src, const rv_view_t *dst, int diameter)
{
    return s_disc2("rv_blackhat_disc", src, dst, diameter, 1, S_HAT, -1, NULL);
}

int rv_tophat_disc(const rv_view_t *src, const rv_view_t *dst, int diameter)
{
    return s_disc2("rv_tophat_disc", src, dst, diameter, 0, S_HAT, -1, NULL);
}

int rv_blackhat_disc_threshold(const rv_view_t *src, const rv_view_t *dst_mask, int diameter,
                               uint8_t thr, size_t *count)
{
    return s_disc2("rv_blackhat_disc_threshold", src, dst_mask, diameter, 1, S_HAT, thr,
                   count);
}

int rv_tophat_disc_threshold(const rv_view_t *src, const rv_view_t *dst_mask, int diameter,
                             uint8_t thr, size_t *count)
{
    return s_disc2("rv_tophat_disc_threshold", src, dst_mask, diameter, 0, S_HAT, thr, count);
}
