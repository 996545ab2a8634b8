/* rv_blobs.c - connected components by runs and union-find. */
#include "rv/rv_blobs.h"
#include "rv/rv_error.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    rv_run_t *runs;
    size_t n, cap;
    uint32_t *parent; /* union-find over provisional labels, one per run at most */
} s_state_t;

static uint32_t s_find(uint32_t *parent, uint32_t a)
{
    while (parent[a] != a) {
        parent[a] = parent[parent[a]]; /* path halving */
        a = parent[a];
    }
    return a;
}

static void s_union(uint32_t *parent, uint32_t a, uint32_t b)
{
    a = s_find(parent, a);
    b = s_find(parent, b);
    if (a < b)
        parent[b] = a;
    else if (b < a)
        parent[a] = b;
}

static int s_push(s_state_t *st, int y, int x0, int x1)
{
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 1024;
        rv_run_t *r = realloc(st->runs, cap * sizeof *r);
        uint32_t *p = realloc(st->parent, cap * sizeof *p);
        if (r)
            st->runs = r;
        if (p)
            st->parent = p;
        if (!r || !p)
            return RV_ENOMEM;
        st->cap = cap;
    }
    uint32_t id = (uint32_t) st->n;
    st->runs[st->n++] = (rv_run_t){y, x0, x1, id};
    st->parent[id] = id;
    return RV_OK;
}

/* Index of the first non-zero byte of row[x .. w-1], or w. Eight bytes at a time: zero
 * words (most of a mask) are skipped four at once, and in a word that is not zero the
 * first non-zero byte is its lowest (little-endian) set byte. */
static int s_next_set(const uint8_t *row, int x, int w)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (x + 32 <= w) {
        uint64_t v[4];
        memcpy(v, row + x, 32);
        if (v[0] | v[1] | v[2] | v[3])
            break;
        x += 32;
    }
    while (x + 8 <= w) {
        uint64_t v;
        memcpy(&v, row + x, 8);
        if (v)
            return x + (__builtin_ctzll(v) >> 3);
        x += 8;
    }
#endif
    while (x < w && !row[x])
        x++;
    return x;
}

/* Index of the first zero byte of row[x .. w-1], or w. Eight bytes at a time: the lowest
 * byte flagged by (v - 0x01..01) & ~v & 0x80..80 is the word's first zero byte (a flag
 * above it can be false, never one below). */
static int s_next_clear(const uint8_t *row, int x, int w)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    while (x + 8 <= w) {
        uint64_t v;
        memcpy(&v, row + x, 8);
        uint64_t z = (v - ones) & ~v & highs;
        if (z)
            return x + (__builtin_ctzll(z) >> 3);
        x += 8;
    }
#endif
    while (x < w && row[x])
        x++;
    return x;
}

int rv_components(const rv_view_t *mask, int connectivity, uint32_t min_area, rv_blobs_t *out)
{
    const char *domain = "rv_components";
    if (!mask || !mask->data || mask->fmt != RV_GRAY8)
        return rv_fail(RV_EINVAL, domain, "the mask must be a gray8 view");
    if (connectivity != 4 && connectivity != 8)
        return rv_fail(RV_EINVAL, domain, "connectivity %d is not 4 or 8", connectivity);
    memset(out, 0, sizeof *out);
    s_state_t st = {0};
    int rc = RV_OK;
    int reach = connectivity == 8 ? 1 : 0; /* diagonal neighbours widen the overlap test */
    size_t prev_begin = 0, prev_end = 0;
    for (int y = 0; y < mask->height; y++) {
        const uint8_t *row = rv_view_row(mask, y);
        size_t cur_begin = st.n;
        size_t p = prev_begin;
        int x = 0;
        while ((x = s_next_set(row, x, mask->width)) < mask->width) {
            int x1 = s_next_clear(row, x, mask->width);
            if ((rc = s_push(&st, y, x, x1)) != RV_OK)
                goto fail;
            uint32_t id = (uint32_t) (st.n - 1);
            /* runs of the row above that overlap [x - reach, x1 + reach) */
            while (p < prev_end && st.runs[p].x1 + reach <= x)
                p++;
            for (size_t q = p; q < prev_end && st.runs[q].x0 < x1 + reach; q++)
                s_union(st.parent, id, (uint32_t) q);
            x = x1;
        }
        prev_begin = cur_begin;
        prev_end = st.n;
    }

    /* resolve labels: roots become blob indices in raster order of first pixel */
    uint32_t *index = malloc((st.n ? st.n : 1) * sizeof *index);
    if (!index) {
        rc = RV_ENOMEM;
        goto fail;
    }
    size_t nroots = 0;
    for (size_t i = 0; i < st.n; i++) {
        uint32_t r = s_find(st.parent, (uint32_t) i);
        if (r == i)
            index[i] = (uint32_t) nroots++;
        st.runs[i].blob = index[r];
    }
    rv_blob_t *blobs = calloc(nroots ? nroots : 1, sizeof *blobs);
    double *sx = calloc(nroots ? nroots : 1, sizeof *sx);
    double *sy = calloc(nroots ? nroots : 1, sizeof *sy);
    if (!blobs || !sx || !sy) {
        free(blobs);
        free(sx);
        free(sy);
        free(index);
        rc = RV_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < nroots; i++)
        blobs[i] = (rv_blob_t){mask->width, mask->height, -1, -1, 0, 0, 0};
    for (size_t i = 0; i < st.n; i++) {
        const rv_run_t *r = &st.runs[i];
        rv_blob_t *b = &blobs[r->blob];
        uint32_t len = (uint32_t) (r->x1 - r->x0);
        b->area += len;
        if (r->x0 < b->x0)
            b->x0 = r->x0;
        if (r->x1 - 1 > b->x1)
            b->x1 = r->x1 - 1;
        if (r->y < b->y0)
            b->y0 = r->y;
        if (r->y > b->y1)
            b->y1 = r->y;
        sx[r->blob] += (double) len * (r->x0 + r->x1 - 1) * 0.5;
        sy[r->blob] += (double) len * r->y;
    }
    /* drop small components, compacting the list and renumbering the runs */
    size_t kept = 0;
    for (size_t i = 0; i < nroots; i++) {
        if (blobs[i].area < min_area) {
            out->dropped++;
            index[i] = UINT32_MAX;
            continue;
        }
        blobs[i].cx = sx[i] / blobs[i].area;
        blobs[i].cy = sy[i] / blobs[i].area;
        index[i] = (uint32_t) kept;
        blobs[kept++] = blobs[i];
    }
    for (size_t i = 0; i < st.n; i++)
        st.runs[i].blob = index[st.runs[i].blob];
    free(sx);
    free(sy);
    free(index);
    free(st.parent);
    out->items = blobs;
    out->count = kept;
    out->runs = st.runs;
    out->nruns = st.n;
    return RV_OK;
fail:
    free(st.runs);
    free(st.parent);
    return rc == RV_ENOMEM ? rv_fail(RV_ENOMEM, domain, "out of memory at %zu runs", st.n) : rc;
}

void rv_blobs_free(rv_blobs_t *blobs)
{
    if (!blobs)
        return;
    free(blobs->items);
    free(blobs->runs);
    memset(blobs, 0, sizeof *blobs);
}

/* Chamfer 3-4 distances in place over a w x h grid: 0 at the sources, a large value
 * elsewhere on entry; 3 per pixel straight, 4 diagonally on return. */
void rv_chamfer34(int32_t *d, int w, int h)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int32_t *c = d + (size_t) y * w + x, v = *c;
            if (x > 0 && c[-1] + 3 < v)
                v = c[-1] + 3;
            if (y > 0) {
                if (c[-w] + 3 < v)
                    v = c[-w] + 3;
                if (x > 0 && c[-w - 1] + 4 < v)
                    v = c[-w - 1] + 4;
                if (x < w - 1 && c[-w + 1] + 4 < v)
                    v = c[-w + 1] + 4;
            }
            *c = v;
        }
    for (int y = h - 1; y >= 0; y--)
        for (int x = w - 1; x >= 0; x--) {
            int32_t *c = d + (size_t) y * w + x, v = *c;
            if (x < w - 1 && c[1] + 3 < v)
                v = c[1] + 3;
            if (y < h - 1) {
                if (c[w] + 3 < v)
                    v = c[w] + 3;
                if (x < w - 1 && c[w + 1] + 4 < v)
                    v = c[w + 1] + 4;
                if (x > 0 && c[w - 1] + 4 < v)
                    v = c[w - 1] + 4;
            }
            *c = v;
        }
}

int rv_fill_holes(const rv_view_t *m)
{
    if (!m || !m->data || m->fmt != RV_GRAY8)
        return rv_fail(RV_EINVAL, "rv_fill_holes", "the mask must be a gray8 view");
    int w = m->width, h = m->height;
    rv_image_t *inv = rv_image_new(w, h, RV_GRAY8);
    if (!inv)
        return rv_fail(RV_ENOMEM, "rv_fill_holes", "out of memory");
    rv_view_t iv = rv_image_view(inv);
    for (int y = 0; y < h; y++) {
        const uint8_t *a = rv_view_row(m, y);
        uint8_t *b = rv_view_row(&iv, y);
        for (int x = 0; x < w; x++)
            b[x] = (uint8_t) ~a[x];
    }
    rv_blobs_t bl;
    int rc = rv_components(&iv, 4, 1, &bl);
    if (rc == RV_OK) {
        for (size_t i = 0; i < bl.nruns; i++) {
            const rv_run_t *r = &bl.runs[i];
            if (r->blob == UINT32_MAX)
                continue;
            const rv_blob_t *b = &bl.items[r->blob];
            if (b->x0 > 0 && b->y0 > 0 && b->x1 < w - 1 && b->y1 < h - 1)
                memset(rv_view_row(m, r->y) + r->x0, 255, (size_t) (r->x1 - r->x0));
        }
        rv_blobs_free(&bl);
    }
    rv_image_destroy(&inv);
    return rc;
}
