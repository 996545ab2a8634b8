/* rv_detect_util.c - helpers shared by the detectors (see rv_detect_util.h). */
#include "rv_detect_util.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rv/rv_error.h"
#include "rv/rv_filter.h"
#include "rv/rv_point.h"

int rv_det_configure(const char *domain, const rv_det_key_t *keys, size_t nkeys, void *params,
                     const rv_param_t *kv, size_t n)
{
    if (!params || (n && !kv))
        return rv_fail(RV_EINVAL, domain, "NULL params");
    uint8_t *base = params;
    for (size_t i = 0; i < nkeys; i++)
        memcpy(base + keys[i].offset, &keys[i].def, sizeof(double));
    for (size_t j = 0; j < n; j++) {
        const rv_det_key_t *k = NULL;
        for (size_t i = 0; kv[j].key && i < nkeys && !k; i++)
            if (strcmp(kv[j].key, keys[i].key) == 0)
                k = &keys[i];
        if (!k)
            return rv_fail(RV_EINVAL, domain, "unknown key \"%s\"",
                           kv[j].key ? kv[j].key : "(null)");
        double v = kv[j].value;
        /* NaN fails both comparisons, so test the good case */
        if (!(v >= k->lo && v <= k->hi))
            return rv_fail(RV_EINVAL, domain, "%s = %g out of range [%g, %g]", k->key, v, k->lo,
                           k->hi);
        if (k->integer && v != floor(v))
            return rv_fail(RV_EINVAL, domain, "%s = %g is not a whole number", k->key, v);
        memcpy(base + k->offset, &v, sizeof v);
    }
    return RV_OK;
}

static int s_gray_ok(const rv_view_t *v, int w, int h)
{
    return v && v->data && v->fmt == RV_GRAY8 && v->width == w && v->height == h;
}

int rv_det_check(const char *domain, const rv_detect_ctx_t *ctx, const rv_view_t *zone)
{
    if (!ctx || !ctx->gray || !ctx->gray->data || ctx->gray->fmt != RV_GRAY8)
        return rv_fail(RV_EINVAL, domain, "context without a GRAY8 gray map");
    int w = ctx->gray->width, h = ctx->gray->height;
    if (!s_gray_ok(ctx->blur, w, h))
        return rv_fail(RV_EINVAL, domain, "blur map missing or not %dx%d GRAY8", w, h);
    if (zone && !s_gray_ok(zone, w, h))
        return rv_fail(RV_EINVAL, domain, "zone mask not %dx%d GRAY8", w, h);
    const rv_view_t *opt[] = {ctx->rust, ctx->ref_mean, ctx->ref_spread, ctx->ref_part,
                              ctx->part};
    static const char *const names[] = {"rust", "ref_mean", "ref_spread", "ref_part", "part"};
    for (int i = 0; i < 5; i++)
        if (opt[i] && !s_gray_ok(opt[i], w, h))
            return rv_fail(RV_EINVAL, domain, "%s map not %dx%d GRAY8", names[i], w, h);
    if (!(ctx->mm_per_px > 0) || ctx->mm_per_px > 1e3)
        return rv_fail(RV_EINVAL, domain, "mm_per_px = %g", ctx->mm_per_px);
    return RV_OK;
}

/* Row scans, 64 bytes at a time: zone masks are mostly empty or mostly full, and these
 * run over the rows of a 5 MP view. */
static int s_zero64(const uint8_t *p)
{
    uint64_t v[8];
    memcpy(v, p, sizeof v);
    return !((v[0] | v[1]) | (v[2] | v[3]) | (v[4] | v[5]) | (v[6] | v[7]));
}

/* Index of the first non-zero byte of p[0, n), or n. */
static int s_first_set(const uint8_t *p, int n)
{
    int i = 0;
    while (i + 64 <= n && s_zero64(p + i))
        i += 64;
    while (i < n && !p[i])
        i++;
    return i;
}

/* Index of the last non-zero byte of p[lo, n), or lo - 1. */
static int s_last_set(const uint8_t *p, int lo, int n)
{
    int j = n;
    while (j - 64 >= lo && s_zero64(p + j - 64))
        j -= 64;
    while (j > lo && !p[j - 1])
        j--;
    return j - 1;
}

int rv_det_mask_box(const rv_view_t *mask, int width, int height, int margin, int box[4])
{
    int x0 = width, y0 = height, x1 = -1, y1 = -1;
    if (!mask) {
        x0 = 0, y0 = 0, x1 = width - 1, y1 = height - 1;
    } else {
        /* the first and last rows with a pixel set; between them, a row can only move the
         * box's sides when it has a pixel left of x0 or right of x1, so only those ends of
         * it are read: the same box as scanning every row whole */
        for (y0 = 0; y0 < height && s_first_set(rv_view_row(mask, y0), width) == width; y0++)
            ;
        if (y0 == height)
            return 0;
        for (y1 = height - 1; y1 > y0 && s_first_set(rv_view_row(mask, y1), width) == width; y1--)
            ;
        for (int y = y0; y <= y1; y++) {
            const uint8_t *p = rv_view_row(mask, y);
            int a = s_first_set(p, x0);
            if (a < x0)
                x0 = a;
            int b = s_last_set(p, x1 + 1, width);
            if (b > x1)
                x1 = b;
        }
    }
    box[0] = x0 - margin < 0 ? 0 : x0 - margin;
    box[1] = y0 - margin < 0 ? 0 : y0 - margin;
    box[2] = x1 + 1 + margin > width ? width : x1 + 1 + margin;
    box[3] = y1 + 1 + margin > height ? height : y1 + 1 + margin;
    return 1;
}

size_t rv_det_mask_count(const rv_view_t *mask, const int box[4])
{
    if (!mask)
        return (size_t) (box[2] - box[0]) * (size_t) (box[3] - box[1]);
    size_t n = 0;
    for (int y = box[1]; y < box[3]; y++) {
        const uint8_t *p = rv_view_row(mask, y);
        for (int x = box[0]; x < box[2]; x++)
            n += p[x] != 0;
    }
    return n;
}

rv_view_t rv_det_sub(const rv_view_t *src, const int box[4])
{
    rv_view_t v = {0};
    if (!src)
        return v;
    v = *src;
    v.data = src->data + (ptrdiff_t) box[1] * src->stride + (ptrdiff_t) box[0] * src->fmt;
    v.width = box[2] - box[0];
    v.height = box[3] - box[1];
    return v;
}

int rv_det_and(const rv_view_t *a, const rv_view_t *b, const rv_view_t *dst)
{
    if (a && b)
        return rv_min(a, b, dst);
    const rv_view_t *one = a ? a : b;
    if (one)
        return one->data == dst->data ? RV_OK : rv_view_copy(one, dst);
    rv_view_fill(dst, 255);
    return RV_OK;
}

int rv_det_runs_by_blob(const rv_blobs_t *blobs, uint32_t **first, uint32_t **order)
{
    *first = calloc(blobs->count + 1, sizeof **first);
    *order = malloc((blobs->nruns ? blobs->nruns : 1) * sizeof **order);
    if (!*first || !*order) {
        free(*first);
        free(*order);
        *first = *order = NULL;
        return rv_fail(RV_ENOMEM, "rv_detect", "run index of %zu runs", blobs->nruns);
    }
    uint32_t *f = *first;
    for (size_t r = 0; r < blobs->nruns; r++)
        if (blobs->runs[r].blob != UINT32_MAX)
            f[blobs->runs[r].blob + 1]++;
    for (size_t i = 0; i < blobs->count; i++)
        f[i + 1] += f[i];
    /* counting sort, stable: each blob's runs stay in raster order */
    uint32_t *next = malloc((blobs->count + 1) * sizeof *next);
    if (!next) {
        free(*first);
        free(*order);
        *first = *order = NULL;
        return rv_fail(RV_ENOMEM, "rv_detect", "run index of %zu blobs", blobs->count);
    }
    memcpy(next, f, (blobs->count + 1) * sizeof *next);
    for (size_t r = 0; r < blobs->nruns; r++)
        if (blobs->runs[r].blob != UINT32_MAX)
            (*order)[next[blobs->runs[r].blob]++] = (uint32_t) r;
    free(next);
    return RV_OK;
}

void rv_det_moments(const rv_blobs_t *blobs, const uint32_t *order, uint32_t begin,
                    uint32_t end, rv_det_moments_t *m)
{
    /* sums over runs in closed form, relative to the first run to keep doubles exact */
    double n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    if (begin >= end) {
        memset(m, 0, sizeof *m);
        return;
    }
    const rv_run_t *r0 = &blobs->runs[order[begin]];
    double ox = r0->x0, oy = r0->y;
    for (uint32_t k = begin; k < end; k++) {
        const rv_run_t *r = &blobs->runs[order[k]];
        double a = r->x0 - ox, b = r->x1 - 1 - ox, y = r->y - oy, c = b - a + 1;
        double s1 = (a + b) * c / 2;
        /* sum of x^2 for x = a..b */
        double s2 = (b * (b + 1) * (2 * b + 1) - (a - 1) * a * (2 * a - 1)) / 6;
        n += c, sx += s1, sxx += s2, sy += y * c, syy += y * y * c, sxy += y * s1;
    }
    double mx = sx / n, my = sy / n;
    double cxx = sxx / n - mx * mx, cyy = syy / n - my * my, cxy = sxy / n - mx * my;
    double tr = cxx + cyy, det = cxx * cyy - cxy * cxy, disc = sqrt(fmax(0, tr * tr / 4 - det));
    double l1 = tr / 2 + disc, l2 = tr / 2 - disc;
    m->n = n;
    m->cx = mx + ox;
    m->cy = my + oy;
    m->major_sd = sqrt(fmax(0, l1));
    m->minor_sd = sqrt(fmax(0, l2));
    double ang = 0.5 * atan2(2 * cxy, cxx - cyy) * 180.0 / 3.14159265358979323846;
    m->angle_deg = ang < 0 ? ang + 180 : ang;
}

/* Zhang-Suen thinning; the patch keeps a zero border of one pixel. */
static void s_thin(uint8_t *p, int w, int h, uint8_t *del)
{
    int changed = 1;
    while (changed) {
        changed = 0;
        for (int pass = 0; pass < 2; pass++) {
            int nd = 0;
            for (int y = 1; y < h - 1; y++)
                for (int x = 1; x < w - 1; x++) {
                    const uint8_t *c = p + (size_t) y * w + x;
                    if (!*c)
                        continue;
                    /* neighbours P2..P9 clockwise from north */
                    int nb[8] = {c[-w] != 0,    c[-w + 1] != 0, c[1] != 0,     c[w + 1] != 0,
                                 c[w] != 0,     c[w - 1] != 0,  c[-1] != 0,    c[-w - 1] != 0};
                    int b = 0, a = 0;
                    for (int i = 0; i < 8; i++) {
                        b += nb[i];
                        a += !nb[i] && nb[(i + 1) & 7];
                    }
                    if (b < 2 || b > 6 || a != 1)
                        continue;
                    if (pass == 0 ? (nb[0] && nb[2] && nb[4]) || (nb[2] && nb[4] && nb[6])
                                  : (nb[0] && nb[2] && nb[6]) || (nb[0] && nb[4] && nb[6]))
                        continue;
                    del[(size_t) y * w + x] = 1;
                    nd++;
                }
            if (!nd)
                continue;
            changed = 1;
            for (size_t i = 0; i < (size_t) w * h; i++)
                if (del[i]) {
                    p[i] = 0;
                    del[i] = 0;
                }
        }
    }
}

/* Breadth-first distances over set pixels from start; returns the farthest pixel. */
static int s_bfs(const uint8_t *p, int w, int h, int start, int *dist, int *parent, int *queue)
{
    static const int dx[8] = {1, -1, 0, 0, 1, 1, -1, -1}, dy[8] = {0, 0, 1, -1, 1, -1, 1, -1};
    for (size_t i = 0; i < (size_t) w * h; i++)
        dist[i] = -1;
    int head = 0, tail = 0, far = start;
    dist[start] = 0;
    parent[start] = -1;
    queue[tail++] = start;
    while (head < tail) {
        int c = queue[head++], cx = c % w, cy = c / w;
        if (dist[c] > dist[far])
            far = c;
        for (int k = 0; k < 8; k++) {
            int nx = cx + dx[k], ny = cy + dy[k];
            if (nx < 0 || ny < 0 || nx >= w || ny >= h)
                continue;
            int q = ny * w + nx;
            if (!p[q] || dist[q] >= 0)
                continue;
            dist[q] = dist[c] + 1;
            parent[q] = c;
            queue[tail++] = q;
        }
    }
    return far;
}

int rv_det_trace(uint8_t *patch, int w, int h, int *path, int max_path)
{
    size_t np = (size_t) w * h;
    uint8_t *del = calloc(np, 1);
    int *dist = malloc(np * sizeof *dist), *parent = malloc(np * sizeof *parent),
        *queue = malloc(np * sizeof *queue);
    int n = 0;
    if (!del || !dist || !parent || !queue) {
        n = rv_fail(RV_ENOMEM, "rv_detect", "trace of %dx%d", w, h);
        goto done;
    }
    s_thin(patch, w, h, del);
    int start = -1;
    for (size_t i = 0; i < np && start < 0; i++)
        if (patch[i])
            start = (int) i;
    if (start < 0)
        goto done;
    /* the farthest pixel from anywhere is an end; the farthest from that end, the other */
    int a = s_bfs(patch, w, h, start, dist, parent, queue);
    int b = s_bfs(patch, w, h, a, dist, parent, queue);
    for (int c = b; c >= 0 && n < max_path; c = parent[c]) {
        path[2 * n] = c % w;
        path[2 * n + 1] = c / w;
        n++;
    }
done:
    free(del);
    free(dist);
    free(parent);
    free(queue);
    return n;
}

double rv_det_path_length(const int *path, int n, int step)
{
    if (n < 2)
        return 0;
    if (step < 1)
        step = 1;
    double len = 0;
    int prev = 0;
    for (int i = step; prev < n - 1; i += step) {
        if (i > n - 1)
            i = n - 1;
        double dx = path[2 * i] - path[2 * prev], dy = path[2 * i + 1] - path[2 * prev + 1];
        len += sqrt(dx * dx + dy * dy);
        prev = i;
    }
    return len;
}

int rv_det_path_points(const int *path, int n, float (*pts)[2], int max_pts, float ox,
                       float oy)
{
    if (n <= 0)
        return 0;
    int k = n < max_pts ? n : max_pts;
    for (int i = 0; i < k; i++) {
        int j = k > 1 ? (int) ((long) i * (n - 1) / (k - 1)) : 0;
        pts[i][0] = (float) path[2 * j] + ox;
        pts[i][1] = (float) path[2 * j + 1] + oy;
    }
    return k;
}

int rv_det_odd(double v, int lo, int hi)
{
    int d = (int) ceil(v);
    if (d < lo)
        d = lo;
    if (d > hi)
        d = hi;
    if (!(d & 1))
        d = d + 1 <= hi ? d + 1 : d - 1;
    return d;
}

double rv_det_blob_mean(const rv_view_t *map, const rv_blobs_t *blobs, const uint32_t *order,
                        uint32_t begin, uint32_t end)
{
    if (!map)
        return 0;
    uint64_t s = 0, n = 0;
    for (uint32_t k = begin; k < end; k++) {
        const rv_run_t *r = &blobs->runs[order[k]];
        const uint8_t *p = rv_view_row(map, r->y);
        for (int x = r->x0; x < r->x1; x++)
            s += p[x];
        n += (uint64_t) (r->x1 - r->x0);
    }
    return n ? (double) s / (double) n : 0;
}

int rv_det_allowed(const rv_detect_ctx_t *ctx, const rv_view_t *zone, int zone_index,
                   int erode_px, int grow, int box[4], rv_image_t **allowed)
{
    *allowed = NULL;
    int w = ctx->gray->width, h = ctx->gray->height;
    const rv_view_t *part = ctx->part ? ctx->part : ctx->ref_part;
    if (!(zone ? rv_det_zone_box(ctx, zone, zone_index, grow, box)
               : rv_det_mask_box(part, w, h, grow, box)))
        return 0;
    if (!zone && !part)
        return 1;
    rv_image_t *img = rv_image_new(box[2] - box[0], box[3] - box[1], RV_GRAY8);
    if (!img)
        return RV_ENOMEM;
    rv_view_t a = rv_image_view(img);
    int rc = RV_OK;
    if (part) {
        rv_view_t ps = rv_det_sub(part, box), er;
        /* the part eroded over the whole view is the erosion over the box wherever the
         * square stays inside the box, which holds for every zone pixel when the box grows
         * the zone's by at least erode_px; elsewhere allowed is 0 anyway (zone) */
        int cached = erode_px > 0 && grow >= erode_px && zone
                         ? rv_det_cached(ctx, RV_DET_MAP_ERODE, 2 * erode_px + 1, box, NULL, &er)
                         : 0;
        if (cached < 0)
            rc = cached;
        else if (cached && zone) {
            rv_view_t zs = rv_det_sub(zone, box);
            rc = rv_min(&er, &zs, &a);
            zone = NULL;
        } else
            rc = erode_px > 0 ? rv_erode_rect(&ps, &a, 2 * erode_px + 1, 2 * erode_px + 1)
                              : rv_view_copy(&ps, &a);
        if (rc == RV_OK && zone) {
            rv_view_t zs = rv_det_sub(zone, box);
            rc = rv_min(&a, &zs, &a);
        }
    } else {
        rv_view_t zs = rv_det_sub(zone, box);
        rc = rv_view_copy(&zs, &a);
    }
    if (rc < 0) {
        rv_image_destroy(&img);
        return rc;
    }
    *allowed = img;
    return 1;
}

size_t rv_det_zone_pixels(const rv_detect_ctx_t *ctx, const rv_view_t *zone, const int box[4],
                          const rv_view_t *scratch)
{
    const rv_view_t *m = zone ? zone : ctx->part ? ctx->part : ctx->ref_part;
    if (!m)
        return (size_t) ctx->gray->width * (size_t) ctx->gray->height;
    rv_view_t sub = rv_det_sub(m, box);
    size_t count = 0;
    if (rv_threshold(&sub, scratch, 0, &count) < 0)
        return rv_det_mask_count(m, box);
    return count;
}

void rv_det_local_free(rv_det_local_t *l)
{
    rv_image_destroy(&l->bh_img);
    rv_image_destroy(&l->bh_ref_img);
    rv_image_destroy(&l->patch);
    rv_blobs_free(&l->pieces);
    free(l->first);
    free(l->order);
    l->first = l->order = NULL;
}

/* The local split, with the black-hats from the cache (ctx) or computed on the box. */
static int s_local_split(const rv_detect_ctx_t *ctx, const int box[4], const rv_view_t *blur,
                         const rv_view_t *ref, const rv_blobs_t *blobs, size_t blob,
                         const uint32_t *order, uint32_t begin, uint32_t end, int d, int thr,
                         uint32_t min_area, rv_det_local_t *l)
{
    memset(l, 0, sizeof *l);
    const rv_blob_t *b = &blobs->items[blob];
    l->box[0] = b->x0 - d < 0 ? 0 : b->x0 - d;
    l->box[1] = b->y0 - d < 0 ? 0 : b->y0 - d;
    l->box[2] = b->x1 + 1 + d > blur->width ? blur->width : b->x1 + 1 + d;
    l->box[3] = b->y1 + 1 + d > blur->height ? blur->height : b->y1 + 1 + d;
    int lw = l->box[2] - l->box[0], lh = l->box[3] - l->box[1];
    int rc = RV_OK, have = 0;
    if (ctx && ctx->cache) {
        /* only the blob's pixels are read: its box must hold exact values */
        int need[4] = {box[0] + b->x0, box[1] + b->y0, box[0] + b->x1 + 1, box[1] + b->y1 + 1};
        int win[4] = {box[0] + l->box[0], box[1] + l->box[1], box[0] + l->box[2],
                      box[1] + l->box[3]};
        have = rv_det_cached(ctx, RV_DET_MAP_BH_BLUR, d, need, win, &l->bh);
        if (have == 1 && ref)
            have = rv_det_cached(ctx, RV_DET_MAP_BH_REF, d, need, win, &l->bh_ref);
        if (have < 0)
            return have;
    }
    l->patch = rv_image_new_filled(lw, lh, RV_GRAY8, 0);
    if (have != 1) {
        memset(&l->bh, 0, sizeof l->bh);
        memset(&l->bh_ref, 0, sizeof l->bh_ref);
        l->bh_img = rv_image_new(lw, lh, RV_GRAY8);
        if (ref)
            l->bh_ref_img = rv_image_new(lw, lh, RV_GRAY8);
    }
    if (!l->patch || (have != 1 && (!l->bh_img || (ref && !l->bh_ref_img)))) {
        rv_det_local_free(l);
        return rv_fail(RV_ENOMEM, "rv_detect", "candidate %dx%d", lw, lh);
    }
    if (have != 1) {
        rv_view_t src = rv_det_sub(blur, l->box);
        l->bh = rv_image_view(l->bh_img);
        rc = rv_blackhat_disc(&src, &l->bh, d);
        if (rc == RV_OK && ref) {
            rv_view_t rsrc = rv_det_sub(ref, l->box);
            l->bh_ref = rv_image_view(l->bh_ref_img);
            rc = rv_blackhat_disc(&rsrc, &l->bh_ref, d);
        }
    }
    rv_view_t hv = l->bh, rv = l->bh_ref, pv = rv_image_view(l->patch);
    for (uint32_t k = begin; rc == RV_OK && k < end; k++) {
        const rv_run_t *r = &blobs->runs[order[k]];
        const uint8_t *h = rv_view_row(&hv, r->y - l->box[1]) - l->box[0];
        uint8_t *q = rv_view_row(&pv, r->y - l->box[1]) - l->box[0];
        if (!ref) {
            for (int x = r->x0; x < r->x1; x++)
                q[x] = h[x] > thr ? 255 : 0;
            continue;
        }
        /* darker than the reference's own black-hat, or (where a defect crosses a design
         * edge, whose black-hat the reference shares) plainly darker than the reference */
        const uint8_t *hr = rv_view_row(&rv, r->y - l->box[1]) - l->box[0];
        const uint8_t *g = rv_view_row(blur, r->y), *m = rv_view_row(ref, r->y);
        for (int x = r->x0; x < r->x1; x++)
            q[x] = h[x] - hr[x] > thr || (h[x] > thr && m[x] - g[x] > thr) ? 255 : 0;
    }
    if (rc == RV_OK)
        rc = rv_components(&pv, 8, min_area, &l->pieces);
    if (rc == RV_OK)
        rc = rv_det_runs_by_blob(&l->pieces, &l->first, &l->order);
    if (rc < 0)
        rv_det_local_free(l);
    return rc;
}

int rv_det_local_split(const rv_view_t *blur, const rv_view_t *ref, const rv_blobs_t *blobs,
                       size_t blob, const uint32_t *order, uint32_t begin, uint32_t end, int d,
                       int thr, uint32_t min_area, rv_det_local_t *l)
{
    return s_local_split(NULL, NULL, blur, ref, blobs, blob, order, begin, end, d, thr, min_area,
                         l);
}

int rv_det_local_split_ctx(const rv_detect_ctx_t *ctx, const int box[4], const rv_view_t *blur,
                           const rv_view_t *ref, const rv_blobs_t *blobs, size_t blob,
                           const uint32_t *order, uint32_t begin, uint32_t end, int d, int thr,
                           uint32_t min_area, rv_det_local_t *l)
{
    return s_local_split(ctx, box, blur, ref, blobs, blob, order, begin, end, d, thr, min_area,
                         l);
}

void rv_det_piece_sums(const rv_det_local_t *l, const rv_view_t *blur, const rv_view_t *map,
                       size_t piece, double frac, rv_det_piece_sums_t *s)
{
    memset(s, 0, sizeof *s);
    rv_view_t hv = l->bh, rv = l->bh_ref;
    uint32_t fq = (uint32_t) lrint(frac * 256);
    for (uint32_t k = l->first[piece]; k < l->first[piece + 1]; k++) {
        const rv_run_t *r = &l->pieces.runs[l->order[k]];
        const uint8_t *h = rv_view_row(&hv, r->y);
        const uint8_t *hr = rv.data ? rv_view_row(&rv, r->y) : NULL;
        const uint8_t *g = rv_view_row(blur, r->y + l->box[1]) + l->box[0];
        const uint8_t *m = map ? rv_view_row(map, r->y + l->box[1]) + l->box[0] : NULL;
        for (int x = r->x0; x < r->x1; x++) {
            uint32_t v = h[x], c = v + g[x];
            s->bh += v;
            s->bh_ref += hr ? hr[x] : 0;
            s->close += c;
            s->map += m ? m[x] : 0;
            s->n_frac += v * 256 >= fq * c;
        }
        s->n += (uint32_t) (r->x1 - r->x0);
    }
}

/* --- the cache of derived maps (rv_detect_cache_t) ------------------------------------ */

/* One derived map: full view size, computed tile by tile. A tile is computed from its
 * source over the tile grown by the filter's reach (clipped to the view), which gives at
 * the tile's pixels exactly what the filter gives on the whole view, and on any box that
 * holds that reach (windows are clipped to the view, never to a box, at those pixels). */
#define S_CACHE_MAPS 24

typedef struct s_cmap {
    rv_det_map_t kind; /* BAND_LO and BAND_HI share one entry (kind BAND_LO, img and img2) */
    int param;
    const uint8_t *src, *src2; /* the source pixels it was derived from (the key) */
    ptrdiff_t stride, stride2;
    int w, h;
    int tile, tw, th;
    rv_image_t *img, *img2;
    uint8_t *done; /* tw * th flags */
    pthread_mutex_t lock; /* the tiles and their flags (the table's lock guards the key) */
} s_cmap_t;

/* The box of a zone's mask (every detector of the zone asks for it). */
typedef struct s_zbox {
    int zone;
    const uint8_t *mask;
    ptrdiff_t stride;
    int w, h, found, box[4];
} s_zbox_t;

#define S_CACHE_ZONES 64

struct rv_detect_cache {
    pthread_mutex_t lock;
    s_cmap_t maps[S_CACHE_MAPS];
    int n;
    s_zbox_t zones[S_CACHE_ZONES];
    int nzones;
};

rv_detect_cache_t *rv_detect_cache_new(void)
{
    rv_detect_cache_t *c = calloc(1, sizeof *c);
    if (!c) {
        rv_fail(RV_ENOMEM, "rv_detect_cache_new", "out of memory");
        return NULL;
    }
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        rv_fail(RV_ENOMEM, "rv_detect_cache_new", "cannot make a mutex");
        return NULL;
    }
    return c;
}

void rv_detect_cache_destroy(rv_detect_cache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rv_detect_cache_t *c = *self_p;
    for (int i = 0; i < c->n; i++) {
        rv_image_destroy(&c->maps[i].img);
        rv_image_destroy(&c->maps[i].img2);
        free(c->maps[i].done);
        pthread_mutex_destroy(&c->maps[i].lock);
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
    *self_p = NULL;
}

static int s_map_of_reference(rv_det_map_t kind)
{
    return kind == RV_DET_MAP_BH_REF || kind == RV_DET_MAP_BAND_LO || kind == RV_DET_MAP_REF_MIN;
}

void rv_detect_cache_reset(rv_detect_cache_t *self, int keep_reference)
{
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    for (int i = 0; i < self->n; i++) {
        s_cmap_t *m = &self->maps[i];
        pthread_mutex_lock(&m->lock);
        if (!keep_reference || !s_map_of_reference(m->kind))
            memset(m->done, 0, (size_t) m->tw * (size_t) m->th);
        pthread_mutex_unlock(&m->lock);
    }
    self->nzones = 0;
    pthread_mutex_unlock(&self->lock);
}

/* Whether a map is an erosion (else a black-hat, or the band). */
static int s_map_erodes(rv_det_map_t kind)
{
    return kind == RV_DET_MAP_ERODE || kind == RV_DET_MAP_REF_MIN;
}

/* How far the filter of a map reaches from a pixel. */
static int s_map_reach(rv_det_map_t kind, int param)
{
    switch (kind) {
    case RV_DET_MAP_BH_BLUR:
    case RV_DET_MAP_BH_REF:
        return param - 1; /* closing: dilation then erosion, r = (d - 1) / 2 each */
    case RV_DET_MAP_ERODE:
    case RV_DET_MAP_REF_MIN:
        return param / 2;
    default:
        return 0;
    }
}

/* Compute the map over rect (absolute) into dst (and dst2 for the band), views of rect's
 * size; src views are the whole context maps. */
static int s_map_compute(const s_cmap_t *m, const rv_view_t *src, const rv_view_t *src2,
                         const int rect[4], const rv_view_t *dst, const rv_view_t *dst2)
{
    int reach = s_map_reach(m->kind, m->param);
    if (reach == 0) {
        rv_view_t a = rv_det_sub(src, rect), b = rv_det_sub(src2, rect);
        return rv_band_from_stats(&a, &b, m->param, dst, dst2);
    }
    int g[4] = {rect[0] - reach < 0 ? 0 : rect[0] - reach, rect[1] - reach < 0 ? 0 : rect[1] - reach,
                rect[2] + reach > m->w ? m->w : rect[2] + reach,
                rect[3] + reach > m->h ? m->h : rect[3] + reach};
    rv_image_t *tmp = rv_image_new(g[2] - g[0], g[3] - g[1], RV_GRAY8);
    if (!tmp)
        return RV_ENOMEM;
    rv_view_t s = rv_det_sub(src, g), t = rv_image_view(tmp);
    int rc = s_map_erodes(m->kind) ? rv_erode_rect(&s, &t, m->param, m->param)
                                   : rv_blackhat_disc(&s, &t, m->param);
    if (rc == RV_OK) {
        int in[4] = {rect[0] - g[0], rect[1] - g[1], rect[2] - g[0], rect[3] - g[1]};
        rv_view_t part = rv_det_sub(&t, in);
        rc = rv_view_copy(&part, dst);
    }
    rv_image_destroy(&tmp);
    return rc;
}

int rv_det_cached(const rv_detect_ctx_t *ctx, rv_det_map_t kind, int param, const int box[4],
                  const int win[4], rv_view_t *out)
{
    rv_detect_cache_t *c = ctx ? ctx->cache : NULL;
    if (!c)
        return 0;
    const rv_view_t *src = NULL, *src2 = NULL;
    int hi = kind == RV_DET_MAP_BAND_HI;
    if (hi)
        kind = RV_DET_MAP_BAND_LO;
    switch (kind) {
    case RV_DET_MAP_BH_BLUR:
        src = ctx->blur;
        break;
    case RV_DET_MAP_BH_REF:
    case RV_DET_MAP_REF_MIN:
        src = ctx->ref_mean;
        break;
    case RV_DET_MAP_ERODE:
        src = ctx->part ? ctx->part : ctx->ref_part;
        break;
    default:
        src = ctx->ref_mean;
        src2 = ctx->ref_spread;
        if (!src2)
            return 0;
        break;
    }
    if (!src || !src->data || src->fmt != RV_GRAY8)
        return 0;
    int w = src->width, h = src->height;
    if (!win)
        win = box;
    for (int k = 0; k < 2; k++) {
        const int *b = k ? win : box;
        if (b[0] < 0 || b[1] < 0 || b[2] > w || b[3] > h || b[0] >= b[2] || b[1] >= b[3])
            return rv_fail(RV_EINVAL, "rv_detect_cache", "box [%d %d %d %d) outside %dx%d", b[0],
                           b[1], b[2], b[3], w, h);
    }
    int rc = RV_OK;
    /* the table's lock finds (or makes) the entry; the entry's lock covers its tiles, so
     * that threads asking for different maps do not wait for each other */
    pthread_mutex_lock(&c->lock);
    s_cmap_t *m = NULL;
    for (int i = 0; i < c->n && !m; i++)
        if (c->maps[i].kind == kind && c->maps[i].param == param && c->maps[i].src == src->data &&
            c->maps[i].stride == src->stride && c->maps[i].w == w && c->maps[i].h == h &&
            (!src2 || (c->maps[i].src2 == src2->data && c->maps[i].stride2 == src2->stride)))
            m = &c->maps[i];
    for (int i = 0; i < c->n && !m; i++) /* same map of other pixels: take its place */
        if (c->maps[i].kind == kind && c->maps[i].param == param && c->maps[i].w == w &&
            c->maps[i].h == h) {
            m = &c->maps[i];
            pthread_mutex_lock(&m->lock);
            memset(m->done, 0, (size_t) m->tw * (size_t) m->th);
            pthread_mutex_unlock(&m->lock);
        }
    if (!m) {
        if (c->n == S_CACHE_MAPS) {
            pthread_mutex_unlock(&c->lock);
            return 0; /* full: the caller computes its own */
        }
        m = &c->maps[c->n];
        memset(m, 0, sizeof *m);
        m->kind = kind;
        m->param = param;
        m->w = w;
        m->h = h;
        /* black-hats are asked for around each candidate: small tiles, computed with
         * their reach; the others over whole zone boxes */
        m->tile = kind == RV_DET_MAP_BH_BLUR || kind == RV_DET_MAP_BH_REF ? 16 : 64;
        m->tw = (w + m->tile - 1) / m->tile;
        m->th = (h + m->tile - 1) / m->tile;
        m->img = rv_image_new(w, h, RV_GRAY8);
        m->img2 = src2 ? rv_image_new(w, h, RV_GRAY8) : NULL;
        m->done = calloc((size_t) m->tw * (size_t) m->th, 1);
        if (!m->img || (src2 && !m->img2) || !m->done ||
            pthread_mutex_init(&m->lock, NULL) != 0) {
            rv_image_destroy(&m->img);
            rv_image_destroy(&m->img2);
            free(m->done);
            pthread_mutex_unlock(&c->lock);
            return rv_fail(RV_ENOMEM, "rv_detect_cache", "maps of %dx%d", w, h);
        }
        c->n++;
    }
    m->src = src->data;
    m->stride = src->stride;
    m->src2 = src2 ? src2->data : NULL;
    m->stride2 = src2 ? src2->stride : 0;
    pthread_mutex_lock(&m->lock);
    pthread_mutex_unlock(&c->lock);
    int t = m->tile;
    int tx0 = box[0] / t, ty0 = box[1] / t, tx1 = (box[2] - 1) / t, ty1 = (box[3] - 1) / t;
    /* the missing tiles' bounding rectangle, computed in one go (tiles already done in it
     * are not written again: another thread may be reading them) */
    int mx0 = tx1 + 1, my0 = ty1 + 1, mx1 = -1, my1 = -1;
    for (int ty = ty0; ty <= ty1; ty++)
        for (int tx = tx0; tx <= tx1; tx++)
            if (!m->done[(size_t) ty * m->tw + tx]) {
                mx0 = tx < mx0 ? tx : mx0;
                mx1 = tx > mx1 ? tx : mx1;
                my0 = ty < my0 ? ty : my0;
                my1 = ty > my1 ? ty : my1;
            }
    int direct = 0;
    if (mx1 >= 0) {
        int rect[4] = {mx0 * t, my0 * t, (mx1 + 1) * t > w ? w : (mx1 + 1) * t,
                       (my1 + 1) * t > h ? h : (my1 + 1) * t};
        /* when no tile the computation writes to is done (no thread reads it), the map
         * itself takes the filter's output, grown by the reach: the ring around the rect
         * holds values that are not final, in tiles left not done */
        int reach = s_map_reach(m->kind, m->param);
        int g[4] = {rect[0] - reach < 0 ? 0 : rect[0] - reach,
                    rect[1] - reach < 0 ? 0 : rect[1] - reach,
                    rect[2] + reach > w ? w : rect[2] + reach,
                    rect[3] + reach > h ? h : rect[3] + reach};
        direct = 1;
        for (int ty = g[1] / t; direct && ty <= (g[3] - 1) / t; ty++)
            for (int tx = g[0] / t; direct && tx <= (g[2] - 1) / t; tx++)
                direct = !m->done[(size_t) ty * m->tw + tx];
        if (direct) {
            rv_view_t full = rv_image_view(m->img), dg = rv_det_sub(&full, g), dr = dg;
            if (reach == 0) {
                rv_view_t full2 = rv_image_view(m->img2);
                dr = rv_det_sub(&full2, g);
                rc = s_map_compute(m, src, src2, g, &dg, &dr);
            } else {
                rv_view_t s0 = rv_det_sub(src, g);
                rc = s_map_erodes(m->kind) ? rv_erode_rect(&s0, &dg, m->param, m->param)
                                           : rv_blackhat_disc(&s0, &dg, m->param);
            }
            for (int ty = my0; rc == RV_OK && ty <= my1; ty++)
                for (int tx = mx0; tx <= mx1; tx++)
                    m->done[(size_t) ty * m->tw + tx] = 1;
            mx1 = -1; /* done */
        }
    }
    if (mx1 >= 0) {
        int rect[4] = {mx0 * t, my0 * t, (mx1 + 1) * t > w ? w : (mx1 + 1) * t,
                       (my1 + 1) * t > h ? h : (my1 + 1) * t};
        int rw = rect[2] - rect[0], rh = rect[3] - rect[1];
        rv_image_t *o1 = rv_image_new(rw, rh, RV_GRAY8);
        rv_image_t *o2 = src2 ? rv_image_new(rw, rh, RV_GRAY8) : NULL;
        if (!o1 || (src2 && !o2)) {
            rc = rv_fail(RV_ENOMEM, "rv_detect_cache", "tiles of %dx%d", rw, rh);
        } else {
            rv_view_t v1 = rv_image_view(o1), v2 = o2 ? rv_image_view(o2) : v1;
            rc = s_map_compute(m, src, src2, rect, &v1, o2 ? &v2 : NULL);
            rv_view_t full = rv_image_view(m->img), full2 = m->img2 ? rv_image_view(m->img2) : full;
            for (int ty = my0; rc == RV_OK && ty <= my1; ty++)
                for (int tx = mx0; rc == RV_OK && tx <= mx1; tx++) {
                    uint8_t *dn = &m->done[(size_t) ty * m->tw + tx];
                    if (*dn)
                        continue;
                    int tb[4] = {tx * t, ty * t, (tx + 1) * t > w ? w : (tx + 1) * t,
                                 (ty + 1) * t > h ? h : (ty + 1) * t};
                    int lb[4] = {tb[0] - rect[0], tb[1] - rect[1], tb[2] - rect[0],
                                 tb[3] - rect[1]};
                    rv_view_t a = rv_det_sub(&v1, lb), b = rv_det_sub(&full, tb);
                    rc = rv_view_copy(&a, &b);
                    if (rc == RV_OK && o2) {
                        a = rv_det_sub(&v2, lb);
                        b = rv_det_sub(&full2, tb);
                        rc = rv_view_copy(&a, &b);
                    }
                    if (rc == RV_OK)
                        *dn = 1;
                }
        }
        rv_image_destroy(&o1);
        rv_image_destroy(&o2);
    }
    if (rc == RV_OK) {
        rv_view_t full = rv_image_view(hi ? m->img2 : m->img);
        *out = rv_det_sub(&full, win);
    }
    pthread_mutex_unlock(&m->lock);
    return rc == RV_OK ? 1 : rc;
}

/* Remember a zone's raw box (margin 0) under its key: replaces an entry of that key. */
static void s_zone_remember(rv_detect_cache_t *c, int zone, const rv_view_t *mask, int w, int h,
                            int found, const int raw[4])
{
    pthread_mutex_lock(&c->lock);
    s_zbox_t *z = NULL;
    for (int i = 0; i < c->nzones && !z; i++)
        if (c->zones[i].zone == zone && c->zones[i].mask == mask->data &&
            c->zones[i].stride == mask->stride && c->zones[i].w == w && c->zones[i].h == h)
            z = &c->zones[i];
    if (!z && c->nzones < S_CACHE_ZONES)
        z = &c->zones[c->nzones++];
    if (z) {
        z->zone = zone;
        z->mask = mask->data;
        z->stride = mask->stride;
        z->w = w;
        z->h = h;
        z->found = found;
        memcpy(z->box, raw, sizeof z->box);
    }
    pthread_mutex_unlock(&c->lock);
}

int rv_detect_cache_zone_within(rv_detect_cache_t *self, int zone, const rv_view_t *mask,
                                const int within[4])
{
    if (!self || !mask || zone < 0 || within[0] < 0 || within[1] < 0 || within[2] > mask->width ||
        within[3] > mask->height || within[2] < within[0] || within[3] < within[1])
        return rv_fail(RV_EINVAL, "rv_detect_cache_zone_within", "the box is not inside the view");
    int raw[4] = {0, 0, 0, 0}, found = 0;
    rv_view_t sub;
    if (within[2] > within[0] && within[3] > within[1] &&
        rv_view_roi(mask, within[0], within[1], within[2] - within[0], within[3] - within[1],
                    &sub) == RV_OK &&
        (found = rv_det_mask_box(&sub, sub.width, sub.height, 0, raw))) {
        raw[0] += within[0], raw[2] += within[0];
        raw[1] += within[1], raw[3] += within[1];
    }
    s_zone_remember(self, zone, mask, mask->width, mask->height, found, raw);
    return RV_OK;
}

int rv_det_zone_box(const rv_detect_ctx_t *ctx, const rv_view_t *mask, int zone, int margin,
                    int box[4])
{
    int w = ctx->gray->width, h = ctx->gray->height;
    rv_detect_cache_t *c = ctx->cache;
    if (!c || !mask || zone < 0)
        return rv_det_mask_box(mask, w, h, margin, box);
    int found = -1, raw[4] = {0, 0, 0, 0};
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->nzones && found < 0; i++) {
        const s_zbox_t *z = &c->zones[i];
        if (z->zone == zone && z->mask == mask->data && z->stride == mask->stride && z->w == w &&
            z->h == h) {
            found = z->found;
            memcpy(raw, z->box, sizeof raw);
        }
    }
    pthread_mutex_unlock(&c->lock);
    if (found < 0) {
        /* the raw box, x1 and y1 exclusive (margin 0) */
        found = rv_det_mask_box(mask, w, h, 0, raw);
        s_zone_remember(c, zone, mask, w, h, found, raw);
    }
    if (!found)
        return 0;
    box[0] = raw[0] - margin < 0 ? 0 : raw[0] - margin;
    box[1] = raw[1] - margin < 0 ? 0 : raw[1] - margin;
    box[2] = raw[2] + margin > w ? w : raw[2] + margin;
    box[3] = raw[3] + margin > h ? h : raw[3] + margin;
    return 1;
}

int rv_det_ref_min(const rv_detect_ctx_t *ctx, const int box[4], int shift, rv_image_t **own,
                   rv_view_t *out)
{
    *own = NULL;
    if (shift <= 0) {
        *out = rv_det_sub(ctx->ref_mean, box);
        return RV_OK;
    }
    int side = 2 * shift + 1;
    int rc = rv_det_cached(ctx, RV_DET_MAP_REF_MIN, side, box, NULL, out);
    if (rc != 0)
        return rc < 0 ? rc : RV_OK;
    /* no cache: erode the box grown by the square's reach (within the view), keep the box */
    int w = ctx->ref_mean->width, h = ctx->ref_mean->height;
    int g[4] = {box[0] - shift < 0 ? 0 : box[0] - shift, box[1] - shift < 0 ? 0 : box[1] - shift,
                box[2] + shift > w ? w : box[2] + shift, box[3] + shift > h ? h : box[3] + shift};
    rv_image_t *tmp = rv_image_new(g[2] - g[0], g[3] - g[1], RV_GRAY8);
    rv_image_t *dst = rv_image_new(box[2] - box[0], box[3] - box[1], RV_GRAY8);
    if (!tmp || !dst) {
        rv_image_destroy(&tmp);
        rv_image_destroy(&dst);
        return rv_fail(RV_ENOMEM, "rv_detect", "reference minimum over %dx%d", g[2] - g[0],
                       g[3] - g[1]);
    }
    rv_view_t s = rv_det_sub(ctx->ref_mean, g), t = rv_image_view(tmp);
    rc = rv_erode_rect(&s, &t, side, side);
    if (rc == RV_OK) {
        int in[4] = {box[0] - g[0], box[1] - g[1], box[2] - g[0], box[3] - g[1]};
        rv_view_t part = rv_det_sub(&t, in), d = rv_image_view(dst);
        rc = rv_view_copy(&part, &d);
    }
    rv_image_destroy(&tmp);
    if (rc != RV_OK) {
        rv_image_destroy(&dst);
        return rc;
    }
    *own = dst;
    *out = rv_image_view(dst);
    return RV_OK;
}
