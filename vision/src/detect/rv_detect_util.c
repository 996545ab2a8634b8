/* rv_detect_util.c - helpers shared by the detectors (see rv_detect_util.h). */
#include "rv_detect_util.h"

#include <math.h>
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

/* First and last non-zero byte of a row, word at a time: zone masks are mostly
 * empty or mostly full, and this runs over every row of a 5 MP view. */
static int s_row_span(const uint8_t *p, int w, int *first, int *last)
{
    int i = 0;
    while (i + 8 <= w) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        if (v)
            break;
        i += 8;
    }
    while (i < w && !p[i])
        i++;
    if (i >= w)
        return 0;
    int j = w - 1;
    while (j >= 8) {
        uint64_t v;
        memcpy(&v, p + j - 7, 8);
        if (v)
            break;
        j -= 8;
    }
    while (j > i && !p[j])
        j--;
    *first = i;
    *last = j;
    return 1;
}

int rv_det_mask_box(const rv_view_t *mask, int width, int height, int margin, int box[4])
{
    int x0 = width, y0 = height, x1 = -1, y1 = -1;
    if (!mask) {
        x0 = 0, y0 = 0, x1 = width - 1, y1 = height - 1;
    } else {
        for (int y = 0; y < height; y++) {
            int a, b;
            if (!s_row_span(rv_view_row(mask, y), width, &a, &b))
                continue;
            if (y0 > y)
                y0 = y;
            y1 = y;
            if (a < x0)
                x0 = a;
            if (b > x1)
                x1 = b;
        }
        if (x1 < 0)
            return 0;
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

int rv_det_allowed(const rv_detect_ctx_t *ctx, const rv_view_t *zone, int erode_px, int grow,
                   int box[4], rv_image_t **allowed)
{
    *allowed = NULL;
    int w = ctx->gray->width, h = ctx->gray->height;
    const rv_view_t *part = ctx->part ? ctx->part : ctx->ref_part;
    const rv_view_t *region = zone ? zone : part;
    if (!rv_det_mask_box(region, w, h, grow, box))
        return 0;
    if (!zone && !part)
        return 1;
    rv_image_t *img = rv_image_new(box[2] - box[0], box[3] - box[1], RV_GRAY8);
    if (!img)
        return RV_ENOMEM;
    rv_view_t a = rv_image_view(img);
    int rc = RV_OK;
    if (part) {
        rv_view_t ps = rv_det_sub(part, box);
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
    rv_image_destroy(&l->bh);
    rv_image_destroy(&l->bh_ref);
    rv_image_destroy(&l->patch);
    rv_blobs_free(&l->pieces);
    free(l->first);
    free(l->order);
    l->first = l->order = NULL;
}

int rv_det_local_split(const rv_view_t *blur, const rv_view_t *ref, const rv_blobs_t *blobs,
                       size_t blob, const uint32_t *order, uint32_t begin, uint32_t end, int d,
                       int thr, uint32_t min_area, rv_det_local_t *l)
{
    memset(l, 0, sizeof *l);
    const rv_blob_t *b = &blobs->items[blob];
    l->box[0] = b->x0 - d < 0 ? 0 : b->x0 - d;
    l->box[1] = b->y0 - d < 0 ? 0 : b->y0 - d;
    l->box[2] = b->x1 + 1 + d > blur->width ? blur->width : b->x1 + 1 + d;
    l->box[3] = b->y1 + 1 + d > blur->height ? blur->height : b->y1 + 1 + d;
    int lw = l->box[2] - l->box[0], lh = l->box[3] - l->box[1];
    l->bh = rv_image_new(lw, lh, RV_GRAY8);
    l->patch = rv_image_new_filled(lw, lh, RV_GRAY8, 0);
    if (ref)
        l->bh_ref = rv_image_new(lw, lh, RV_GRAY8);
    if (!l->bh || !l->patch || (ref && !l->bh_ref)) {
        rv_det_local_free(l);
        return rv_fail(RV_ENOMEM, "rv_detect", "candidate %dx%d", lw, lh);
    }
    rv_view_t src = rv_det_sub(blur, l->box), hv = rv_image_view(l->bh);
    rv_view_t pv = rv_image_view(l->patch), rv = {0};
    int rc = rv_blackhat_disc(&src, &hv, d);
    if (rc == RV_OK && ref) {
        rv_view_t rsrc = rv_det_sub(ref, l->box);
        rv = rv_image_view(l->bh_ref);
        rc = rv_blackhat_disc(&rsrc, &rv, d);
    }
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

void rv_det_piece_sums(const rv_det_local_t *l, const rv_view_t *blur, const rv_view_t *map,
                       size_t piece, double frac, rv_det_piece_sums_t *s)
{
    memset(s, 0, sizeof *s);
    rv_view_t hv = rv_image_view(l->bh), rv = l->bh_ref ? rv_image_view(l->bh_ref) : hv;
    uint32_t fq = (uint32_t) lrint(frac * 256);
    for (uint32_t k = l->first[piece]; k < l->first[piece + 1]; k++) {
        const rv_run_t *r = &l->pieces.runs[l->order[k]];
        const uint8_t *h = rv_view_row(&hv, r->y);
        const uint8_t *hr = l->bh_ref ? rv_view_row(&rv, r->y) : NULL;
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
