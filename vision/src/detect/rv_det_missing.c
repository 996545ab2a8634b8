/* rv_det_missing.c - breaks, chips, missing material against the nominal outline.
 *
 * Pixels inside the reference part (and the zone) but outside this view's part mask are
 * material that should be there. They are opened with a small square (the outline of an
 * aligned view wobbles by a pixel or so: that is not a chip) and grouped; each component
 * of at least min_area_mm2 is reported with its area, box and depth (how far it reaches
 * into the nominal outline, from a chamfer distance on the component's neighbourhood).
 * Without ctx->part, material is missing where the blurred gray falls well below the
 * learned mean (a shadowed bevel is dark in the reference too), or, without a learned
 * mean, below Otsu's threshold between the dark fixture and the part (part_thr overrides
 * it); dark spots inside the part (rust scale, pits, cracks) then qualify too, so only
 * components that touch the reference outline count.
 *
 * The nominal outline (ctx->ref_part) lies inside the part's true outline wherever the
 * good parts' outlines disagreed (the reference keeps it short there, so that a pose or a
 * lamp is not a chip); measured to it alone a chip loses its outer band (through the
 * station, 55-70 % of a generated chip's area was found). With ctx->ref_outline (the
 * learned median outline) each gap found is measured to that instead: the pixels between
 * the two outlines that this view lacks, reached from the gap outward (each step farther
 * from the nominal outline, 4-connected, at most reach_mm: a view whose outline falls a
 * little short all round lacks a strip along it, which must not join), join it; its
 * depth is taken from the median outline too. Before that, the gap is followed in any
 * direction through what the view lacks of the nominal and the band, opened (s_flood,
 * within flood_mm of the piece): a chip on a face whose goods disagreed lies mostly in
 * the band, beside its piece inside the nominal (on unseen shafts a chip's area read
 * 0.95 of the truth at the median, 0.78 at the tenth percentile, outward steps alone);
 * where that flood runs out of its window (the view short along a long stretch of
 * outline) the outward steps measure it. A gap is measured whole, across zones: each
 * zone's piece of it reports the same pixels, and rv_findings_join_zones keeps one. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rv/rv_blobs.h"
#include "rv/rv_detect.h"
#include "rv/rv_error.h"
#include "rv/rv_filter.h"
#include "rv/rv_point.h"
#include "rv_detect_util.h"

static const char *s_domain = "rv_detect_missing";

typedef struct s_params {
    double min_area_mm2; /* smaller gaps are not reported */
    double open_mm;      /* opening disc: outline jitter is not a chip */
    double part_thr;     /* grey level between fixture and part without ctx->part; 0: Otsu */
    double min_drop;     /* without ctx->part: grey levels below the learned mean */
    double reach_mm;     /* with ctx->ref_outline: how far a gap is followed into the band
                            between the nominal and the learned outline */
    double share;        /* with ctx->ref_outline: the outline a gap is measured to, as the
                            least share of the good parts having part there */
    double flood_mm;     /* with ctx->ref_outline: how far from its piece inside the nominal
                            a gap is followed in any direction (s_flood); 0: outward only */
} s_params_t;

#define K(name, def, lo, hi, integer) {#name, offsetof(s_params_t, name), def, lo, hi, integer}
static const rv_det_key_t s_keys[] = {
    K(min_area_mm2, 2.0, 0, 1e6, 0),
    K(open_mm, 1.0, 0, 100, 0),
    K(part_thr, 0, 0, 254, 1),
    K(min_drop, 24, 0, 254, 1),
    K(reach_mm, 3.0, 0, 100, 0),
    K(share, 0.5, 0.01, 1, 0),
    K(flood_mm, 8.0, 0, 1000, 0),
};
#undef K

static int s_configure(void *params, const rv_param_t *kv, size_t n)
{
    return rv_det_configure(s_domain, s_keys, sizeof s_keys / sizeof s_keys[0], params, kv, n);
}

/* Otsu's threshold of a histogram: the level that maximises the between-class variance. */
static int s_otsu(const uint32_t hist[256])
{
    double total = 0, sum = 0;
    for (int i = 0; i < 256; i++)
        total += hist[i], sum += (double) i * hist[i];
    double w0 = 0, s0 = 0, best = -1;
    int t = 127;
    for (int i = 0; i < 255; i++) {
        w0 += hist[i];
        s0 += (double) i * hist[i];
        double w1 = total - w0;
        if (w0 <= 0 || w1 <= 0)
            continue;
        double m0 = s0 / w0, m1 = (sum - s0) / w1, v = w0 * w1 * (m0 - m1) * (m0 - m1);
        if (v > best)
            best = v, t = i;
    }
    return t;
}

/* 1 when a pixel of the component has a reference-background 4-neighbour. */
static int s_touches_outline(const rv_view_t *ref, const rv_blobs_t *blobs,
                             const uint32_t *order, uint32_t begin, uint32_t end)
{
    for (uint32_t k = begin; k < end; k++) {
        const rv_run_t *r = &blobs->runs[order[k]];
        for (int dy = -1; dy <= 1; dy++) {
            int y = r->y + dy;
            if (y < 0 || y >= ref->height)
                return 1;
            const uint8_t *p = rv_view_row(ref, y);
            int a = dy ? r->x0 : r->x0 - 1, b = dy ? r->x1 - 1 : r->x1;
            if (a < 0 || b >= ref->width)
                return 1;
            for (int x = a; x <= b; x += dy ? 1 : b - a)
                if (!p[x])
                    return 1;
        }
    }
    return 0;
}

/* Deepest pixel of the component, in px from the nearest reference-background pixel (below
 * thr): chamfer 3-4 distances on the component's box grown by half its size (the outline
 * it bit into lies within that). */
static double s_depth(const rv_view_t *ref, int thr, const rv_blob_t *b, const rv_blobs_t *blobs,
                      const uint32_t *order, uint32_t begin, uint32_t end)
{
    int g = (b->x1 - b->x0 > b->y1 - b->y0 ? b->x1 - b->x0 : b->y1 - b->y0) / 2 + 3;
    int x0 = b->x0 - g < 0 ? 0 : b->x0 - g, y0 = b->y0 - g < 0 ? 0 : b->y0 - g;
    int x1 = b->x1 + g + 1 > ref->width ? ref->width : b->x1 + g + 1;
    int y1 = b->y1 + g + 1 > ref->height ? ref->height : b->y1 + g + 1;
    int w = x1 - x0, h = y1 - y0;
    int32_t *d = malloc((size_t) w * h * sizeof *d);
    if (!d)
        return 0;
    const int32_t inf = 1 << 28;
    for (int y = 0; y < h; y++) {
        const uint8_t *p = rv_view_row(ref, y + y0) + x0;
        for (int x = 0; x < w; x++)
            d[(size_t) y * w + x] = p[x] >= thr ? inf : 0;
    }
    rv_chamfer34(d, w, h);
    int32_t best = 0;
    for (uint32_t k = begin; k < end; k++) {
        const rv_run_t *r = &blobs->runs[order[k]];
        for (int x = r->x0; x < r->x1; x++) {
            int32_t v = d[(size_t) (r->y - y0) * w + (x - x0)];
            if (v < inf && v > best)
                best = v;
        }
    }
    free(d);
    /* chamfer units of 3 per pixel; the distance counts to the background pixel's centre,
     * the outline lies half a pixel before it */
    return best > 0 ? best / 3.0 - 0.5 : 0;
}

/* The component's box (corner bx, by of the view) grown by grow px, clipped to the view:
 * [x0, x1) x [y0, y1). */
static void s_window(const rv_detect_ctx_t *ctx, const rv_blob_t *b, int bx, int by, int grow,
                     int *x0, int *y0, int *x1, int *y1)
{
    int w = ctx->ref_part->width, h = ctx->ref_part->height;
    *x0 = b->x0 + bx - grow < 0 ? 0 : b->x0 + bx - grow;
    *y0 = b->y0 + by - grow < 0 ? 0 : b->y0 + by - grow;
    *x1 = b->x1 + bx + grow + 1 > w ? w : b->x1 + bx + grow + 1;
    *y1 = b->y1 + by + grow + 1 > h ? h : b->y1 + by + grow + 1;
}

/* The gap measured to the median outline: the component's pixels (its runs, in box
 * coordinates; the box's corner at bx, by of the view) and the pixels of the band between
 * ref_part and ref_outline (share othr or more) that this view's part lacks, reached from
 * them in at most reach outward 4-connected steps (below). Returns the pixel count (-1 without memory); bb gets their box (view
 * coordinates, inclusive) and c their centroid. */
static long s_to_outline(const rv_detect_ctx_t *ctx, const rv_blobs_t *blobs,
                         const uint32_t *order, uint32_t begin, uint32_t end, const rv_blob_t *b,
                         int bx, int by, int reach, int othr, int bb[4], double c[2])
{
    int w = ctx->ref_part->width, h = ctx->ref_part->height, x0, y0, x1, y1;
    s_window(ctx, b, bx, by, reach, &x0, &y0, &x1, &y1);
    int lw = x1 - x0, lh = y1 - y0;
    uint8_t *cur = calloc((size_t) lw * lh, 2);
    if (!cur)
        return -1;
    uint8_t *allow = cur + (size_t) lw * lh;
    int32_t *d = malloc((size_t) lw * lh * sizeof *d); /* chamfer 3-4 distance to ref_part */
    if (!d) {
        free(cur);
        return -1;
    }
    const int32_t inf = 1 << 28;
    for (int y = 0; y < lh; y++) {
        const uint8_t *n = rv_view_row(ctx->ref_part, y + y0) + x0;
        for (int x = 0; x < lw; x++)
            d[(size_t) y * lw + x] = n[x] ? 0 : inf;
    }
    rv_chamfer34(d, lw, lh);
    for (int y = 0; y < lh; y++) {
        const uint8_t *o = rv_view_row(ctx->ref_outline, y + y0) + x0;
        const uint8_t *n = rv_view_row(ctx->ref_part, y + y0) + x0;
        const uint8_t *q = rv_view_row(ctx->part, y + y0) + x0;
        for (int x = 0; x < lw; x++)
            allow[(size_t) y * lw + x] = o[x] >= othr && !n[x] && !q[x];
    }
    for (uint32_t k = begin; k < end; k++) {
        const rv_run_t *r = &blobs->runs[order[k]];
        for (int x = r->x0; x < r->x1; x++)
            cur[(size_t) (r->y + by - y0) * lw + (x + bx - x0)] = 1;
    }
    /* at most reach steps outward across the band: a pixel joins from a 4-neighbour that
     * lies nearer ref_part (never along the outline, where a view whose outline falls a
     * little short lacks a thin strip all the way round; mark 2: reached this step). The
     * gap's corners inside ref_part that the opening took stay out (let back in, they
     * joined other small gaps of the view's mask: discs' chips read 1.56 times their
     * area). */
    static const int nb[4][2] = {{-1, 0}, {1, 0}, {0, -1}, {0, 1}};
    for (int step = 0; step < reach; step++) {
        int grew = 0;
        for (int y = 0; y < lh; y++)
            for (int x = 0; x < lw; x++) {
                size_t i = (size_t) y * lw + x;
                if (cur[i] || !allow[i])
                    continue;
                for (int k = 0; k < 4; k++) {
                    int yy = y + nb[k][1], xx = x + nb[k][0];
                    size_t j = (size_t) yy * lw + xx;
                    if (yy >= 0 && yy < lh && xx >= 0 && xx < lw && cur[j] == 1 && d[j] < d[i]) {
                        cur[i] = 2;
                        grew = 1;
                        break;
                    }
                }
            }
        for (size_t i = 0; i < (size_t) lw * lh; i++)
            cur[i] = cur[i] ? 1 : 0;
        if (!grew)
            break;
    }
    long count = 0;
    double sx = 0, sy = 0;
    bb[0] = w, bb[1] = h, bb[2] = -1, bb[3] = -1;
    for (int y = 0; y < lh; y++)
        for (int x = 0; x < lw; x++)
            if (cur[(size_t) y * lw + x]) {
                count++;
                sx += x + x0, sy += y + y0;
                bb[0] = x + x0 < bb[0] ? x + x0 : bb[0];
                bb[1] = y + y0 < bb[1] ? y + y0 : bb[1];
                bb[2] = x + x0 > bb[2] ? x + x0 : bb[2];
                bb[3] = y + y0 > bb[3] ? y + y0 : bb[3];
            }
    c[0] = count ? sx / (double) count : 0;
    c[1] = count ? sy / (double) count : 0;
    free(cur);
    free(d);
    return count;
}

/* The gap measured to the median outline by a flood: from the component (its runs, box
 * corner at bx, by) through the pixels of ref_part or of the band (share othr or more)
 * that this view lacks, opened with the detector's square (a strip the view's outline
 * falls short by a pixel or two is jitter, not a chip), in any direction, within the
 * component's box grown by margin. A chip on a face whose goods' outlines disagreed (the
 * shaft's dark lower flank: the nominal stops several pixels short of the median outline)
 * lies mostly in the band, beside the piece of it that reaches the nominal, where steps
 * only outward (s_to_outline) do not go. Returns the pixel count, 0 when the flood reached
 * the window's edge (a view short along a long stretch of outline: the caller measures
 * with s_to_outline instead), -1 without memory; bb, c as s_to_outline's. */
static long s_flood(const rv_detect_ctx_t *ctx, const rv_blobs_t *blobs, const uint32_t *order,
                    const uint32_t *first, size_t blob, uint8_t *covered, int bx, int by,
                    int margin, int othr, int dopen, int bb[4], double c[2])
{
    const rv_blob_t *b = &blobs->items[blob];
    uint32_t begin = first[blob], end = first[blob + 1];
    int w = ctx->ref_part->width, h = ctx->ref_part->height, x0, y0, x1, y1;
    s_window(ctx, b, bx, by, margin, &x0, &y0, &x1, &y1);
    int lw = x1 - x0, lh = y1 - y0;
    rv_image_t *li = rv_image_new(lw, lh, RV_GRAY8), *ti = rv_image_new(lw, lh, RV_GRAY8);
    uint8_t *cur = calloc((size_t) lw * lh, 1);
    int32_t *queue = malloc((size_t) lw * lh * sizeof *queue);
    long count = -1;
    if (!li || !ti || !cur || !queue)
        goto out;
    rv_view_t lv = rv_image_view(li), tv = rv_image_view(ti);
    for (int y = 0; y < lh; y++) {
        const uint8_t *o = rv_view_row(ctx->ref_outline, y + y0) + x0;
        const uint8_t *n = rv_view_row(ctx->ref_part, y + y0) + x0;
        const uint8_t *q = rv_view_row(ctx->part, y + y0) + x0;
        uint8_t *l = rv_view_row(&lv, y);
        for (int x = 0; x < lw; x++)
            l[x] = (n[x] || o[x] >= othr) && !q[x] ? 255 : 0;
    }
    if (dopen > 1 && (rv_erode_rect(&lv, &tv, dopen, dopen) != RV_OK ||
                      rv_dilate_rect(&tv, &lv, dopen, dopen) != RV_OK))
        goto out;
    size_t head = 0, tail = 0;
    for (uint32_t k = begin; k < end; k++) {
        const rv_run_t *r = &blobs->runs[order[k]];
        for (int x = r->x0; x < r->x1; x++) {
            int32_t i = (int32_t) ((r->y + by - y0) * lw + (x + bx - x0));
            if (!cur[i])
                cur[i] = 1, queue[tail++] = i;
        }
    }
    static const int nb[4][2] = {{-1, 0}, {1, 0}, {0, -1}, {0, 1}};
    int open_edge = 0;
    while (head < tail) {
        int32_t i = queue[head++];
        int x = i % lw, y = i / lw;
        for (int k = 0; k < 4; k++) {
            int xx = x + nb[k][0], yy = y + nb[k][1];
            if (xx < 0 || yy < 0 || xx >= lw || yy >= lh)
                continue;
            int32_t j = yy * lw + xx;
            if (cur[j] || !rv_view_row(&lv, yy)[xx])
                continue;
            cur[j] = 1;
            queue[tail++] = j;
            /* on the window's edge, where the view goes on past it */
            if ((xx == 0 && x0 > 0) || (yy == 0 && y0 > 0) || (xx == lw - 1 && x1 < w) ||
                (yy == lh - 1 && y1 < h))
                open_edge = 1;
        }
    }
    if (open_edge) {
        count = 0;
        goto out;
    }
    /* the later components this flood holds are this gap (measured once) */
    for (size_t j = blob + 1; j < blobs->count; j++) {
        const rv_run_t *r = &blobs->runs[order[first[j]]];
        int x = r->x0 + bx - x0, y = r->y + by - y0;
        if (x >= 0 && y >= 0 && x < lw && y < lh && cur[(size_t) y * lw + x])
            covered[j] = 1;
    }
    double sx = 0, sy = 0;
    bb[0] = w, bb[1] = h, bb[2] = -1, bb[3] = -1;
    for (size_t q = 0; q < tail; q++) {
        int x = queue[q] % lw + x0, y = queue[q] / lw + y0;
        sx += x, sy += y;
        bb[0] = x < bb[0] ? x : bb[0];
        bb[1] = y < bb[1] ? y : bb[1];
        bb[2] = x > bb[2] ? x : bb[2];
        bb[3] = y > bb[3] ? y : bb[3];
    }
    count = (long) tail;
    c[0] = sx / (double) count;
    c[1] = sy / (double) count;
out:
    rv_image_destroy(&li);
    rv_image_destroy(&ti);
    free(cur);
    free(queue);
    return count;
}

static int s_run(const void *params, const rv_detect_ctx_t *ctx, const rv_view_t *zone_mask,
                 int zone, rv_findings_t *out)
{
    const s_params_t *p = params;
    int rc = rv_det_check(s_domain, ctx, zone_mask);
    if (rc < 0)
        return rc;
    if (!ctx->ref_part)
        return RV_OK; /* no nominal outline to compare with */
    int dopen = p->open_mm > 0 ? rv_det_odd(p->open_mm / ctx->mm_per_px, 1, RV_DISC_MAX) : 1;
    int w = ctx->gray->width, h = ctx->gray->height, box[4];
    if (!(zone_mask ? rv_det_zone_box(ctx, zone_mask, zone, dopen + 2, box)
                    : rv_det_mask_box(ctx->ref_part, w, h, dopen + 2, box)))
        return RV_OK;
    rv_image_t *mimg = NULL, *timg = NULL;
    rv_blobs_t blobs = {0};
    uint32_t *first = NULL, *order = NULL;
    uint8_t *covered = NULL; /* components a flood already measured */
    int bw = box[2] - box[0], bh = box[3] - box[1];
    mimg = rv_image_new(bw, bh, RV_GRAY8);
    timg = rv_image_new(bw, bh, RV_GRAY8);
    if (!mimg || !timg) {
        rc = rv_fail(RV_ENOMEM, s_domain, "scratch for %dx%d", bw, bh);
        goto done;
    }
    rv_view_t mask = rv_image_view(mimg), tmp = rv_image_view(timg);
    rv_view_t ref = rv_det_sub(ctx->ref_part, box);
    if (ctx->part) {
        rv_view_t part = rv_det_sub(ctx->part, box);
        rc = rv_sub_sat(&ref, &part, &mask);
    } else {
        rv_view_t blur = rv_det_sub(ctx->blur, box);
        int t = (int) p->part_thr;
        if (t == 0 && ctx->ref_mean) {
            t = 254; /* the drop below the learned mean decides (below) */
        } else if (t == 0) {
            uint32_t hist[256];
            rc = rv_histogram(&blur, hist);
            t = s_otsu(hist);
        }
        if (rc == RV_OK)
            rc = rv_threshold(&blur, &tmp, (uint8_t) t, NULL);
        if (rc == RV_OK)
            rc = rv_sub_sat(&ref, &tmp, &mask);
        if (rc == RV_OK && ctx->ref_mean) {
            /* dark where the learned part was bright: shadowed bevels and dark design
             * features are dark in the reference too, and are not missing material */
            rv_view_t mean = rv_det_sub(ctx->ref_mean, box);
            rc = rv_sub_sat(&mean, &blur, &tmp);
            if (rc == RV_OK)
                rc = rv_threshold(&tmp, &tmp, (uint8_t) p->min_drop, NULL);
            if (rc == RV_OK)
                rc = rv_min(&mask, &tmp, &mask);
        }
    }
    if (rc == RV_OK && zone_mask) {
        rv_view_t z = rv_det_sub(zone_mask, box);
        rc = rv_min(&mask, &z, &mask);
    }
    /* opening with a square (van Herk: cost independent of its size) */
    if (rc == RV_OK && dopen > 1 && (rc = rv_erode_rect(&mask, &tmp, dopen, dopen)) == RV_OK)
        rc = rv_dilate_rect(&tmp, &mask, dopen, dopen);
    if (rc < 0)
        goto done;
    double mm2 = ctx->mm_per_px * ctx->mm_per_px;
    uint32_t min_area = (uint32_t) fmax(1, ceil(p->min_area_mm2 / mm2));
    rc = rv_components(&mask, 8, min_area, &blobs);
    if (rc == RV_OK)
        rc = rv_det_runs_by_blob(&blobs, &first, &order);
    size_t zone_px = blobs.count ? rv_det_zone_pixels(ctx, zone_mask ? zone_mask : ctx->ref_part,
                                                       box, &tmp)
                                 : 1;
    if (rc == RV_OK && blobs.count && !(covered = calloc(blobs.count, 1)))
        rc = rv_fail(RV_ENOMEM, s_domain, "no memory for %zu gaps", blobs.count);
    for (size_t i = 0; rc == RV_OK && i < blobs.count; i++) {
        const rv_blob_t *b = &blobs.items[i];
        if (covered[i] ||
            (!ctx->part && !s_touches_outline(&ref, &blobs, order, first[i], first[i + 1])))
            continue;
        rv_finding_t f;
        memset(&f, 0, sizeof f);
        f.type = RV_FINDING_MISSING;
        f.zone = zone;
        f.bbox[0] = b->x0 + box[0];
        f.bbox[1] = b->y0 + box[1];
        f.bbox[2] = b->x1 - b->x0 + 1;
        f.bbox[3] = b->y1 - b->y0 + 1;
        f.npoints = 1;
        f.points[0][0] = (float) (b->cx + box[0]);
        f.points[0][1] = (float) (b->cy + box[1]);
        double area = b->area;
        const rv_view_t *to = &ref; /* the outline the depth counts from */
        int to_thr = 1;
        rv_view_t outl;
        if (ctx->part && ctx->ref_outline) {
            int bb[4];
            double c[2];
            int reach = (int) ceil(p->reach_mm / ctx->mm_per_px);
            int othr = (int) ceil(255 * p->share - 1e-9);
            int margin = (int) ceil(p->flood_mm / ctx->mm_per_px);
            long n = margin > 0 ? s_flood(ctx, &blobs, order, first, i, covered, box[0], box[1],
                                          margin, othr < 1 ? 1 : othr, dopen, bb, c)
                                : 0;
            if (n == 0)
                n = s_to_outline(ctx, &blobs, order, first[i], first[i + 1], b, box[0], box[1],
                                 reach, othr < 1 ? 1 : othr, bb, c);
            if (n < 0) {
                rc = rv_fail(RV_ENOMEM, s_domain, "no memory for a gap's outline");
                break;
            }
            area = (double) n;
            f.bbox[0] = bb[0], f.bbox[1] = bb[1];
            f.bbox[2] = bb[2] - bb[0] + 1, f.bbox[3] = bb[3] - bb[1] + 1;
            f.points[0][0] = (float) c[0], f.points[0][1] = (float) c[1];
            outl = rv_det_sub(ctx->ref_outline, box);
            to = &outl;
            to_thr = othr < 1 ? 1 : othr;
        }
        f.area_mm2 = area * mm2;
        f.zone_pct = 100.0 * area / (double) (zone_px ? zone_px : 1);
        /* depth reuses length_mm: how far the gap reaches into the outline */
        f.length_mm = s_depth(to, to_thr, b, &blobs, order, first[i], first[i + 1]) * ctx->mm_per_px;
        f.score = 1.0;
        rc = rv_findings_push(out, &f);
    }
done:
    free(covered);
    free(first);
    free(order);
    rv_blobs_free(&blobs);
    rv_image_destroy(&mimg);
    rv_image_destroy(&timg);
    return rc;
}

const rv_detector_class_t rv_det_missing = {"missing", sizeof(s_params_t), s_configure, s_run};
