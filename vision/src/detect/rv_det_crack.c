/* rv_det_crack.c - cracks: thin, dark, elongated line structures.
 *
 * Candidates: with a learned reference, the pixels darker by dark_thr than its darkest
 * value within ref_shift_px (an alignment residual moves design edges that far); without
 * one, the fused black-hat (closing - image, disc a few px wider than the widest crack) +
 * threshold of the blurred gray. Large dark regions (bore, bolt holes, fixture) are not
 * filled by the closing, so only their rims respond, and those are kept out by eroding
 * the part mask by edge_margin_px. Each candidate component is
 * then looked at on its own box: black-hat of the view and of the reference; pixels
 * darker than the reference's own black-hat stay (grooves, shadow lines, threads and
 * rims of the nominal part go), split into pieces. A piece is a crack when it is long
 * (skeleton length plus the band beyond the skeleton's ends, >= min_length_mm),
 * thin (mean band width = area / length), elongated (length / width and principal axes),
 * not rust-coloured, and dark relative to its local background, which separates cracks
 * from the long but faint concentric tool marks. That contrast is the band's mean, and a
 * crack's band holds its blurred rims: a wide crack with a dark core can average under
 * min_contrast. With a reference, a piece whose skeleton lies darker than the reference
 * by min_ridge of the background is a crack at three quarters of min_contrast (tool marks
 * are faint along their middle too; a design edge the alignment left a pixel off is dark
 * along it but the reference's own black-hat explains it, and its contrast stays low).
 * A piece whose skeleton is darker than the mean by no more than spread_gate times the
 * good parts' spread along it is a line of shade the goods show at varying depth (a raised
 * pad's edge under another lamp angle), not a crack.
 * The DataMatrix modules are compact squares, never elongated (and the family's zones
 * leave the code out).
 * With a learned reference, each accepted piece is then followed past its ends along the
 * dark ridge (pixels darker than the reference by dark_thr, less on a face darker than
 * the crack's own background, and by half the crack's own
 * darkness along its skeleton, on the part, the step chosen among three directions
 * within 35 degrees of the current one): the edge margin
 * and a design edge's black-hat cut a crack that crosses them into pieces, and only the
 * longest would otherwise be measured. The walk may leave the zone (S_CAP_OUT steps more
 * once out): a crack is measured whole wherever it runs, and the next zone's run, when it
 * finds the same crack from its side, reports one stretch twice, which the inspector's
 * join across zones keeps once (the polyline follows the walk's path for that). A walk
 * that reaches another accepted piece joins the two into one crack; one that fades adds
 * its length to the piece's. A walk also stops where the ridge is no darker than the part
 * 7 px either side of it (the lesser side), and the ridge route asks three quarters of
 * min_ridge of the skeleton's darkness less that: a view darker than the mean all over a
 * face (its exposure, the lamp's band a little off) is no line, though against the mean
 * alone it is as dark as one. Where the view is lighter than the mean on both sides (a
 * band lit brighter than the goods' average), the walk takes the ridge's darkness against
 * the part beside it, which against the mean alone it would understate. Where none of
 * that holds, a step is still taken along a valley: a line darker than the view 4 px
 * either side of it by dark_thr more than the mean's own valley there, and by a third of
 * the crack's peak relative darkness (a crack running on into a narrow shadow band that
 * this part's view shows lighter than the mean).
 * Reported: the skeleton as a polyline, length along it, the equivalent width (darkness
 * integral / background / length: a fully dark line of that width absorbs as much),
 * orientation end to end. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rv/rv_blobs.h"
#include "rv/rv_detect.h"
#include "rv/rv_error.h"
#include "rv/rv_filter.h"
#include "rv/rv_point.h"
#include "rv_detect_util.h"
#include "rv_sample.h"

static const char *s_domain = "rv_detect_crack";

/* Steps a walk may take past a piece's end once it has left the zone (2026-12-06: 32,
 * 64 and 128 read the same unseen cracks within one; docs/eval.md) */
#define S_CAP_OUT 64
/* Steps in a row a walk may take that fail its test, kept when a step after them passes (a
 * crack's depth varies along it: one or two shallow steps along a disc's hat band stopped
 * walks 11-52 % short of the crack's end; 2026-12-07, docs/eval.md) */
#define S_PATIENCE 2

typedef struct s_params {
    double min_length_mm; /* shorter line structures are not reported */
    double dark_thr;      /* black-hat grey levels for a candidate pixel */
    double min_contrast;  /* mean black-hat / mean local background over the component */
    double max_width_px;  /* widest crack; sets the disc (2 w + 5 px, blur included) */
    double max_mask_width_px; /* thresholded band wider than this on average: not a crack */
    double min_elongation;    /* skeleton length / mean band width */
    double edge_margin_px;    /* part outline and hole rims: this much of the part ignored */
    double max_rust;          /* mean rust likelihood above which it is corrosion */
    double min_axis_ratio;    /* principal axes' standard deviations, major / minor */
    double ref_shift_px;      /* with a reference: a candidate is darker than the reference's
                                 darkest value within this many px (an alignment residual
                                 that moves a design edge is not a crack); 0: pixel for pixel */
    double min_ridge;         /* with a reference: the skeleton's mean darkness against it,
                                 as a share of the background, that lets a piece pass at
                                 0.75 min_contrast; 0: off */
    double spread_gate;       /* with a reference: a piece's skeleton is darker than the
                                 mean by more than this many times the good parts' spread
                                 along it (a line of shade whose depth varies with the
                                 lamp is no crack); 0: off */
} s_params_t;

#define K(name, def, lo, hi, integer) {#name, offsetof(s_params_t, name), def, lo, hi, integer}
static const rv_det_key_t s_keys[] = {
    K(min_length_mm, 4.0, 0.01, 1e4, 0),  K(dark_thr, 12, 1, 254, 1),
    K(min_contrast, 0.16, 0, 1, 0),       K(max_width_px, 4, 1, 40, 0),
    K(max_mask_width_px, 14, 1, 100, 0),   K(min_elongation, 3, 1, 1000, 0),
    K(edge_margin_px, 5, 0, 100, 1),      K(max_rust, 48, 0, 255, 0),
    K(min_axis_ratio, 2.0, 1, 1000, 0),   K(ref_shift_px, 1, 0, 8, 1),
    K(min_ridge, 0.22, 0, 1, 0),          K(spread_gate, 3.5, 0, 20, 0),
};
#undef K

static int s_configure(void *params, const rv_param_t *kv, size_t n)
{
    return rv_det_configure(s_domain, s_keys, sizeof s_keys / sizeof s_keys[0], params, kv, n);
}

/* The largest skeleton path traced (pixels); longer cracks are measured on this part. */
#define S_MAX_PATH 8192
/* the part beside a crack: this far across its ridge (past the blurred band of the widest
 * crack, max_width_px 4, and a halo its rims leave) */
#define S_SIDE_PX 7
/* The walk's valley route: the sides of a line, px across it (a thin crack blurred by the
 * 5 x 5 Gaussian lies within 3 px; a shadow band beside a hat is about 10 px wide) */
#define S_VALLEY_PX 4

/* The band the black-hat thresholds is the crack and the halo the 5 x 5 blur spreads past
 * its rims: 3-5 px wider than the crack (1.8-2.3 px cracks of unseen demo shafts: bands of
 * 5.0-5.8 px; a 3.8 px one: 8.8 px). The elongation judges a band wider than a thin crack's
 * (S_THIN_BAND_PX) less the least of that halo: a short wide crack (10 mm, 3.8 px: band
 * length over band 2.6) is elongated; a band no wider than a thin crack's is judged whole
 * (short marks and pits of 2-4 px bands stay blobs). */
#define S_HALO_PX 3
#define S_THIN_BAND_PX 5

/* Points kept per accepted piece before the finding's polyline is made (a joined crack
 * concatenates its pieces' points, then keeps RV_FINDING_MAX_POINTS of them). */
#define S_MAX_PTS (4 * RV_FINDING_MAX_POINTS)

/* An accepted piece, before it is reported (it may be joined with others). */
typedef struct s_crack {
    rv_finding_t f;         /* its finding; points and length are filled at the end */
    float pts[S_MAX_PTS][2]; /* polyline, view pixels */
    int npts;
    double len_px, dark;    /* length; darkness integral (black-hat beyond the reference) */
    double len_pieces;      /* length of the pieces alone (the darkness was summed there) */
    double bg;              /* mean local background (closing) */
    double end[2][2], dir[2][2]; /* where each end's band stops, and the outward tangent */
    double half;            /* half the band's width (taken back at each end) */
    int ridge;              /* its darkness against the reference along its skeleton (mean) */
    int root;               /* union-find parent */
} s_crack_t;

typedef struct s_cracks {
    s_crack_t *items;
    size_t count, cap;
    uint16_t *label; /* box-sized: accepted piece index + 1 at its pixels, else 0 */
    int box[4];      /* the detector's box [x0, y0, x1, y1) in view pixels */
} s_cracks_t;

/* The reference less the view S_SIDE_PX either side of (x, y) across the direction (ux,
 * uy), into d[] for each side that is on the view and the reference part: how many (0..2). */
static int s_sides(const rv_detect_ctx_t *ctx, int x, int y, double ux, double uy, int d[2])
{
    int n = 0;
    for (int k = -1; k <= 1; k += 2) {
        int px = x + (int) lrint(-k * S_SIDE_PX * uy), py = y + (int) lrint(k * S_SIDE_PX * ux);
        if (px < 0 || py < 0 || px >= ctx->blur->width || py >= ctx->blur->height)
            continue;
        if (ctx->ref_part && !rv_view_row(ctx->ref_part, py)[px])
            continue;
        d[n++] = rv_view_row(ctx->ref_mean, py)[px] - rv_view_row(ctx->blur, py)[px];
    }
    return n;
}

/* How much darker than the reference the part lies beside a line, from its n sides d
 * (s_sides): the lesser of the two (a part's own tool mark or streak beside a crack
 * darkens one side, a view darker than the mean all round both), the one side there when
 * the other is not, 0 when neither is darker or neither is there. */
static int s_offset_of(const int *d, int n)
{
    int off = n == 2 ? (d[0] < d[1] ? d[0] : d[1]) : n == 1 ? d[0] : 0;
    return off > 0 ? off : 0;
}

/* How much lighter than the reference the part lies beside a line, from its n sides d: the
 * lesser of the two when both are there and both lighter (a face the view shows lighter
 * than the learnt mean all round: a disc's hat band lit brighter than the goods'
 * average), else 0. */
static int s_lighter_of(const int *d, int n)
{
    int light = n == 2 ? -(d[0] > d[1] ? d[0] : d[1]) : 0;
    return light > 0 ? light : 0;
}

/* How much darker v holds (x, y) (on the view) than the darker of the two pixels r px
 * either side of it across the direction (ux, uy) (a valley's depth; negative on a slope
 * or a ridge), and that side's value into *side: INT_MIN when a side is off the view or
 * off the part. */
static int s_valley(const rv_view_t *v, const rv_view_t *part, int x, int y, double ux,
                    double uy, int r, int *side)
{
    int lo = INT_MAX;
    for (int k = -1; k <= 1; k += 2) {
        int px = x + (int) lrint(-k * r * uy), py = y + (int) lrint(k * r * ux);
        if (px < 0 || py < 0 || px >= v->width || py >= v->height ||
            (part && !rv_view_row(part, py)[px]))
            return INT_MIN;
        int s = rv_view_row(v, py)[px];
        lo = s < lo ? s : lo;
    }
    if (side)
        *side = lo;
    return lo - rv_view_row(v, y)[x];
}

/* The mean of a GRAY8 map along a path (path[2k], path[2k + 1] offset by ox, oy). */
static double s_path_mean(const rv_view_t *map, const int *path, int n, int ox, int oy)
{
    long sum = 0;
    for (int k = 0; k < n; k++)
        sum += rv_view_row(map, oy + path[2 * k + 1])[ox + path[2 * k]];
    return n > 0 ? (double) sum / n : 0;
}

/* The mean darkness against the reference (ref_mean - blur, 0 where lighter) over a traced
 * skeleton path (patch coordinates; (ox, oy) is the view pixel of patch (0, 0)), and in
 * *local the same less the part's darkness S_SIDE_PX either side (s_sides, s_offset_of,
 * across the path's direction over 2 px each way): what is the line's own. */
static int s_ridge(const rv_detect_ctx_t *ctx, const int *path, int n, int ox, int oy,
                   int *local)
{
    long sum = 0, own = 0;
    for (int k = 0; k < n; k++) {
        int x = ox + path[2 * k], y = oy + path[2 * k + 1];
        int d = rv_view_row(ctx->ref_mean, y)[x] - rv_view_row(ctx->blur, y)[x];
        sum += d > 0 ? d : 0;
        int k0 = k >= 2 ? k - 2 : 0, k1 = k + 2 < n ? k + 2 : n - 1;
        double ux = path[2 * k1] - path[2 * k0], uy = path[2 * k1 + 1] - path[2 * k0 + 1];
        double un = hypot(ux, uy);
        if (un > 0) {
            int sd[2], ns = s_sides(ctx, x, y, ux / un, uy / un, sd);
            int o = d - s_offset_of(sd, ns);
            own += o > 0 ? o : 0;
        }
    }
    *local = n > 0 ? (int) (own / n) : 0;
    return n > 0 ? (int) (sum / n) : 0;
}

/* Judge one piece of a candidate: append a finding when it is a crack. */
static int s_piece(const s_params_t *p, const rv_detect_ctx_t *ctx, const rv_view_t *blur,
                   const rv_view_t *rust, const rv_det_local_t *l, size_t i, const int box[4],
                   int zone, int *path, s_cracks_t *out)
{
    const rv_blob_t *b = &l->pieces.items[i];
    double min_len = p->min_length_mm / ctx->mm_per_px;
    int bw = b->x1 - b->x0 + 1, bh = b->y1 - b->y0 + 1;
    if (hypot(bw, bh) < 0.8 * min_len)
        return RV_OK;
    if (b->area > (uint32_t) (p->max_mask_width_px * (bw + bh) * 1.5) + 16)
        return RV_OK; /* too much area for a line spanning this box: a blob */
    /* a ring or crescent (the rim of a pit) can have a long skeleton; a crack, even a
     * bent one, has a clear main axis */
    rv_det_moments_t m;
    rv_det_moments(&l->pieces, l->order, l->first[i], l->first[i + 1], &m);
    if (m.major_sd < p->min_axis_ratio * m.minor_sd)
        return RV_OK;
    int pw = bw + 2, ph = bh + 2;
    uint8_t *patch = calloc((size_t) pw * ph, 1);
    if (!patch)
        return rv_fail(RV_ENOMEM, s_domain, "patch %dx%d", pw, ph);
    for (uint32_t k = l->first[i]; k < l->first[i + 1]; k++) {
        const rv_run_t *r = &l->pieces.runs[l->order[k]];
        memset(patch + (size_t) (r->y - b->y0 + 1) * pw + (r->x0 - b->x0 + 1), 1,
               (size_t) (r->x1 - r->x0));
    }
    int n = rv_det_trace(patch, pw, ph, path, S_MAX_PATH);
    free(patch);
    if (n < 0)
        return n;
    /* the skeleton stops short of the band's ends: from each end, the farthest band pixel
     * ahead along the end's tangent (and within the band's half-width of that line) is
     * where the band ends; take back the band's half-width there (the band reaches as far
     * past the crack's end as it reaches to either side of it) */
    double len = rv_det_path_length(path, n, 4), ext = 0;
    double half = 0.5 * b->area / (len + 1) + 1;
    double ends[2][4] = {{0}}; /* per end: x, y where the band stops; outward ux, uy */
    for (int end = 0; end < 2 && n > 1; end++) {
        int e = end ? n - 1 : 0, q = end ? (n - 1 > 6 ? n - 7 : 0) : (n - 1 < 6 ? n - 1 : 6);
        double ex = path[2 * e] + b->x0 - 1, ey = path[2 * e + 1] + b->y0 - 1;
        double ux = path[2 * e] - path[2 * q], uy = path[2 * e + 1] - path[2 * q + 1];
        double un = hypot(ux, uy), t = 0;
        if (un <= 0)
            continue;
        ux /= un, uy /= un;
        for (uint32_t k = l->first[i]; k < l->first[i + 1]; k++) {
            const rv_run_t *r = &l->pieces.runs[l->order[k]];
            double dy = r->y - ey;
            for (int x = r->x0; x < r->x1; x++) {
                double dx = x - ex, along = dx * ux + dy * uy, across = fabs(dx * uy - dy * ux);
                if (along > t && across <= half)
                    t = along;
            }
        }
        ext += t;
        ends[end][0] = ex + t * ux, ends[end][1] = ey + t * uy;
        ends[end][2] = ux, ends[end][3] = uy;
    }
    double band = b->area / (len + ext);
    len += ext - fmin(band, len + ext - 1) + 1;
    if (len < min_len)
        return RV_OK;
    band = b->area / len;
    if (band > p->max_mask_width_px ||
        len / fmin(band, fmax(S_THIN_BAND_PX, band - S_HALO_PX)) < p->min_elongation)
        return RV_OK;
    rv_det_piece_sums_t sum;
    rv_det_piece_sums(l, blur, rust, i, 0.5, &sum);
    if (sum.map > p->max_rust * sum.n)
        return RV_OK;
    /* the darkening beyond what the reference shows, relative to the local background */
    double contrast = sum.close > 0 ? (sum.bh - sum.bh_ref) / sum.close : 0;
    if (contrast < p->min_contrast &&
        !(p->min_ridge > 0 && ctx->ref_mean && contrast >= 0.75 * p->min_contrast))
        return RV_OK;
    int ox = box[0] + l->box[0] + b->x0, oy = box[1] + l->box[1] + b->y0;
    /* the ridge route: darker than the reference along the skeleton, and by three quarters
     * of that as the line's own darkness (less the part's beside it): a view darker than
     * the mean all round a step's shadow line is not a crack there (an unseen sound shaft's
     * 7 px at its journal's step: 35 against the mean, 19 its own, 30 needed; the faint
     * disc cracks nearest the limit: 34 and 43, their own 28) */
    int local = 0;
    int ridge = ctx->ref_mean ? s_ridge(ctx, path, n, ox - 1, oy - 1, &local) : 0;
    double need = p->min_ridge * sum.close / sum.n;
    if (contrast < p->min_contrast && (ridge < need || local < 0.75 * need))
        return RV_OK;
    /* the goods' own variation there: 5 of 800 unseen sound housings read a 27-39 mm
     * "crack" along the ID pad's edge, 14-19 under the mean where the spread is 8-9, and
     * 3 a 2-9 mm one on the inlet ring's shaded edge, 16 under it where it is 5 (at 2.5
     * times the spread those 3 stay). None of the 960 true cracks of those sets is lost */
    if (p->spread_gate > 0 && ctx->ref_mean && ctx->ref_spread &&
        ridge <= p->spread_gate * s_path_mean(ctx->ref_spread, path, n, ox - 1, oy - 1))
        return RV_OK;

    if (out->count == out->cap) {
        size_t cap = out->cap ? 2 * out->cap : 16;
        s_crack_t *items = realloc(out->items, cap * sizeof *items);
        if (!items)
            return rv_fail(RV_ENOMEM, s_domain, "%zu cracks", cap);
        out->items = items, out->cap = cap;
    }
    s_crack_t *c = &out->items[out->count];
    memset(c, 0, sizeof *c);
    rv_finding_t *f = &c->f;
    f->type = RV_FINDING_CRACK;
    f->zone = zone;
    f->bbox[0] = ox;
    f->bbox[1] = oy;
    f->bbox[2] = bw;
    f->bbox[3] = bh;
    /* path is in patch coordinates: patch (1, 1) is the piece's box (x0, y0) */
    c->npts = rv_det_path_points(path, n, c->pts, RV_FINDING_MAX_POINTS, (float) (ox - 1),
                                 (float) (oy - 1));
    c->len_px = c->len_pieces = len;
    c->dark = sum.bh - sum.bh_ref;
    c->bg = sum.close / sum.n;
    c->half = 0.5 * band;
    c->ridge = ridge;
    c->root = (int) out->count;
    for (int e = 0; e < 2; e++) {
        /* local (l->box) to view pixels */
        c->end[e][0] = ends[e][0] + box[0] + l->box[0];
        c->end[e][1] = ends[e][1] + box[1] + l->box[1];
        c->dir[e][0] = ends[e][2], c->dir[e][1] = ends[e][3];
    }
    f->area_mm2 = b->area * ctx->mm_per_px * ctx->mm_per_px;
    f->score = fmin(1.0, contrast / (2 * p->min_contrast + 1e-9));
    /* its pixels, for the walks of the others */
    uint16_t mark = (uint16_t) (out->count + 1 > 65535 ? 65535 : out->count + 1);
    int lw = out->box[2] - out->box[0];
    for (uint32_t k = l->first[i]; out->label && k < l->first[i + 1]; k++) {
        const rv_run_t *r = &l->pieces.runs[l->order[k]];
        int y = box[1] + l->box[1] + r->y - out->box[1];
        int x0 = box[0] + l->box[0] + r->x0 - out->box[0];
        for (int x = x0; x < x0 + (r->x1 - r->x0); x++)
            out->label[(size_t) y * lw + x] = mark;
    }
    out->count++;
    return RV_OK;
}

/* ---- following a crack past its pieces' ends ---------------------------------------- */

#define S_WALK_PTS 48
typedef struct s_walk {
    double steps;  /* pixels walked */
    double at[2];  /* where it stopped */
    int hit;       /* index of the accepted piece reached, or -1 */
    int npath;     /* its path: every 4th position, then where it stopped */
    float path[S_WALK_PTS][2];
} s_walk_t;

/* Follow the dark ridge from end e of piece i: each step 1 px to the darkest (against the
 * reference) of three pixels ahead, within 35 degrees of the current direction; stop when
 * none is darker than the reference by thr (more than S_PATIENCE steps in a row: the walk
 * ends at the last step that passed), on leaving the part or the view, on reaching
 * another accepted piece, or after cap steps (cap + S_CAP_OUT once it has left the
 * zone). */
static s_walk_t s_follow(const rv_detect_ctx_t *ctx, const rv_view_t *zone_mask,
                         const s_cracks_t *cs, size_t i, int e, int thr, int cap)
{
    const s_crack_t *c = &cs->items[i];
    s_walk_t w = {0, {c->end[e][0], c->end[e][1]}, -1, 0, {{0}}};
    double ux = c->dir[e][0], uy = c->dir[e][1];
    if (ux == 0 && uy == 0)
        return w;
    static const double co = 0.81915204428899178, si = 0.57357643635104609; /* 35 deg */
    int lw = cs->box[2] - cs->box[0];
    double anchor[2] = {w.at[0], w.at[1]};
    /* the walk's darkness is judged against the crack's own: on a machined or cast face the
     * part's own tool marks and streaks lie darker than the learnt mean (each part has its
     * own), and a walk started from the walk's first step alone followed them for up to
     * cap px past the crack's end */
    double peak = c->bg > 0 ? c->ridge / c->bg : 0;
    int out = 0; /* steps taken outside the zone */
    /* the walk as it stood after its last step that passed (a run of misses that does not
     * end in a pass is taken back) */
    s_walk_t kept = w;
    double kept_anchor[2] = {anchor[0], anchor[1]};
    int miss = 0;
    for (int step = 0; step < cap + (out ? S_CAP_OUT : 0); step++) {
        int best = INT_MIN, bx = 0, by = 0, bk = -2, bref = 1, ax[3], ay[3], na = 0;
        for (int k = -1; k <= 1; k++) { /* the three steps ahead on the view and the part */
            double dx = ux * co - k * uy * si, dy = k * ux * si + uy * co;
            if (k == 0)
                dx = ux, dy = uy;
            int x = (int) lrint(w.at[0] + dx), y = (int) lrint(w.at[1] + dy);
            if (x < 0 || y < 0 || x >= ctx->blur->width || y >= ctx->blur->height)
                continue;
            if (ctx->ref_part && !rv_view_row(ctx->ref_part, y)[x])
                continue;
            ax[na] = x, ay[na++] = y;
            int d = rv_view_row(ctx->ref_mean, y)[x] - rv_view_row(ctx->blur, y)[x];
            if (d > best)
                best = d, bx = x, by = y, bk = k, bref = rv_view_row(ctx->ref_mean, y)[x];
        }
        /* the end of a blurred line is where its darkness falls to half its peak, the
         * darkness taken relative to the reference there: a crack takes a share of the
         * light its surface returns, so where it crosses a darker face (a keyway's floor,
         * a pocket, a shaded flank) its darkness in grey levels falls with the face's */
        if (bk < -1)
            break;
        /* where the view is lighter than the mean on both sides, the line's darkness is
         * taken against the part beside it (and so its share of the light) */
        int sd[2], ns = s_sides(ctx, bx, by, ux, uy, sd);
        int light = s_lighter_of(sd, ns);
        best += light, bref += light;
        double rel = (double) best / (bref > 0 ? bref : 1);
        /* and a crack is darker than the part either side of it: a view darker than the
         * mean all over (its exposure, the lamp's band a little off) is not a ridge */
        /* the darkness asked of a step falls with the face's light where the face is
         * darker than the crack's own background: by the square root of their ratio (the
         * crack's darkness in grey levels falls with the light, the noise more slowly; a
         * crack running on across a shaft's shaded lower flank or a keyway's rim) */
        double tl = c->bg > 0 && bref < c->bg ? thr * sqrt(fmax(bref, 1) / c->bg) : thr;
        int pass = 1;
        if (best <= tl || 2 * rel < peak || best - s_offset_of(sd, ns) <= tl) {
            /* the valley route: where a crack runs on into a narrow shadow band that the
             * view shows lighter than the mean by more than the face beside it (each
             * part's hat casts its shadow a little differently), the line is no darker
             * than the mean, and the lighter face takes back too little. It is still a
             * valley: darker than the view S_VALLEY_PX either side of it by more than
             * the mean's own valley there (a design groove is one in both) by thr, and
             * by a third of the crack's peak darkness against that side (the band's
             * narrow sides hold the blurred line's skirt) */
            int vbest = INT_MIN, vside = 1;
            for (int a = 0; a < na; a++) {
                int side = 0, x = ax[a], y = ay[a];
                int vv = s_valley(ctx->blur, ctx->ref_part, x, y, ux, uy, S_VALLEY_PX, &side);
                int vr = s_valley(ctx->ref_mean, ctx->ref_part, x, y, ux, uy, S_VALLEY_PX, NULL);
                if (vv == INT_MIN || vr == INT_MIN)
                    continue;
                vv -= vr > 0 ? vr : 0;
                if (vv > vbest)
                    vbest = vv, vside = side, bx = x, by = y;
            }
            pass = !(vbest <= tl || 3 * ((double) vbest / (vside > 0 ? vside : 1)) < peak);
        } else {
            peak = rel > peak ? rel : peak;
        }
        if (!pass && ++miss > S_PATIENCE)
            break;
        /* another accepted piece within 2 px (a piece can be a thin fringe of its
         * crack's band, beside the ridge the walk follows) */
        int lab = 0;
        out += zone_mask && !rv_view_row(zone_mask, by)[bx];
        for (int y = by - 2; cs->label && !lab && y <= by + 2; y++)
            for (int x = bx - 2; !lab && x <= bx + 2; x++)
                if (x >= cs->box[0] && y >= cs->box[1] && x < cs->box[2] && y < cs->box[3]) {
                    int v = cs->label[(size_t) (y - cs->box[1]) * lw + (x - cs->box[0])];
                    lab = v && (size_t) (v - 1) != i ? v : 0;
                }
        double sx = bx - w.at[0], sy = by - w.at[1], sn = hypot(sx, sy);
        if (sn <= 0)
            break;
        w.at[0] = bx, w.at[1] = by;
        /* length through every 4th position (the 8-connected staircase is not length) */
        if ((step + 1) % 4 == 0) {
            w.steps += hypot(w.at[0] - anchor[0], w.at[1] - anchor[1]);
            anchor[0] = w.at[0], anchor[1] = w.at[1];
            if (w.npath < S_WALK_PTS - 1)
                w.path[w.npath][0] = (float) w.at[0], w.path[w.npath][1] = (float) w.at[1],
                w.npath++;
        }
        if (lab) {
            w.hit = lab - 1;
            miss = 0;
            break;
        }
        /* the direction turns slowly with the ridge */
        ux = 0.6 * ux + 0.4 * sx / sn, uy = 0.6 * uy + 0.4 * sy / sn;
        double un = hypot(ux, uy);
        ux /= un, uy /= un;
        if (pass) {
            miss = 0;
            kept = w;
            kept_anchor[0] = anchor[0], kept_anchor[1] = anchor[1];
        }
    }
    if (miss) { /* it ended in steps that failed: back to the last one that passed */
        w = kept;
        anchor[0] = kept_anchor[0], anchor[1] = kept_anchor[1];
    }
    w.steps += hypot(w.at[0] - anchor[0], w.at[1] - anchor[1]);
    if (w.npath == 0 || w.path[w.npath - 1][0] != (float) w.at[0] ||
        w.path[w.npath - 1][1] != (float) w.at[1])
        w.path[w.npath][0] = (float) w.at[0], w.path[w.npath][1] = (float) w.at[1], w.npath++;
    return w;
}

static int s_root(s_cracks_t *cs, int i)
{
    while (cs->items[i].root != i)
        i = cs->items[i].root = cs->items[cs->items[i].root].root;
    return i;
}

/* Append a's points (reversed when rev) to the points of dst, keeping at most S_MAX_PTS
 * (every other point dropped when full). */
static void s_append(s_crack_t *dst, const float (*pts)[2], int n, int rev)
{
    for (int k = 0; k < n; k++) {
        if (dst->npts == S_MAX_PTS) {
            for (int j = 0; j < S_MAX_PTS / 2; j++)
                dst->pts[j][0] = dst->pts[2 * j][0], dst->pts[j][1] = dst->pts[2 * j][1];
            dst->npts = S_MAX_PTS / 2;
        }
        const float *q = pts[rev ? n - 1 - k : k];
        dst->pts[dst->npts][0] = q[0], dst->pts[dst->npts][1] = q[1];
        dst->npts++;
    }
}

/* Join piece j into piece i: i's end ei met j's end ej after a walk of gap px. */
static void s_join(s_crack_t *a, int ea, const s_crack_t *b, int eb, double gap)
{
    /* a's points run from end 0 to end 1: make ea the last, then b from eb on */
    if (ea == 0) {
        for (int k = 0; k < a->npts / 2; k++) {
            float t0 = a->pts[k][0], t1 = a->pts[k][1];
            a->pts[k][0] = a->pts[a->npts - 1 - k][0], a->pts[k][1] = a->pts[a->npts - 1 - k][1];
            a->pts[a->npts - 1 - k][0] = t0, a->pts[a->npts - 1 - k][1] = t1;
        }
        double t[2] = {a->end[0][0], a->end[0][1]}, u[2] = {a->dir[0][0], a->dir[0][1]};
        memcpy(a->end[0], a->end[1], sizeof t), memcpy(a->dir[0], a->dir[1], sizeof u);
        memcpy(a->end[1], t, sizeof t), memcpy(a->dir[1], u, sizeof u);
    }
    s_append(a, (const float (*)[2]) b->pts, b->npts, eb == 1);
    a->end[1][0] = b->end[1 - eb][0], a->end[1][1] = b->end[1 - eb][1];
    a->dir[1][0] = b->dir[1 - eb][0], a->dir[1][1] = b->dir[1 - eb][1];
    a->len_px += b->len_px + gap;
    a->len_pieces += b->len_pieces;
    a->dark += b->dark;
    a->bg = 0.5 * (a->bg + b->bg);
    a->f.area_mm2 += b->f.area_mm2;
    a->f.score = fmax(a->f.score, b->f.score);
    int x0 = a->f.bbox[0] < b->f.bbox[0] ? a->f.bbox[0] : b->f.bbox[0];
    int y0 = a->f.bbox[1] < b->f.bbox[1] ? a->f.bbox[1] : b->f.bbox[1];
    int x1 = a->f.bbox[0] + a->f.bbox[2], bx1 = b->f.bbox[0] + b->f.bbox[2];
    int y1 = a->f.bbox[1] + a->f.bbox[3], by1 = b->f.bbox[1] + b->f.bbox[3];
    a->f.bbox[0] = x0, a->f.bbox[1] = y0;
    a->f.bbox[2] = (x1 > bx1 ? x1 : bx1) - x0, a->f.bbox[3] = (y1 > by1 ? y1 : by1) - y0;
}

/* The width across a crack at each point of its polyline: the grey profile across the
 * local direction (bilinear, in steps of S_WIDTH_STEP px, out to S_SIDE_PX either side),
 * the part beside it the line between the profile's outer 1.5 px on either side, the
 * darkness that line less the grey; the width is the run about the darkest sample (within
 * 2 px of the polyline) where the darkness is at least half of it, its ends interpolated:
 * the width at half depth, which the blur of the optics and of the aligning warp hardly
 * moves for a crack wider than them. Points whose darkness is under min_dark or whose run
 * reaches the profile's ends (the crack is not resolved there: a design edge beside it)
 * are left out. The crack's width is the 75th percentile over its points (its wider
 * stretch, not one noisy profile; on 237 unseen demo cracks, whose width is even along
 * them, the median read 0.34-0.44 px wide for cracks of 1.75 px and more, the 75th
 * percentile 0.41-0.55 and the 90th 0.46-0.63); 0 when fewer than 3 points are measured. */
#define S_WIDTH_STEP 0.25
#define S_WIDTH_N ((int) (2 * S_SIDE_PX / S_WIDTH_STEP) + 1)

static double s_width_at(const rv_view_t *gray, double x, double y, double ux, double uy,
                         double min_dark)
{
    double prof[S_WIDTH_N];
    for (int i = 0; i < S_WIDTH_N; i++) {
        double t = -S_SIDE_PX + i * S_WIDTH_STEP;
        if (!rv__bilinear(gray, x - t * uy, y + t * ux, &prof[i]))
            return -1;
    }
    int edge = (int) (1.5 / S_WIDTH_STEP); /* samples at each end taken as the part beside */
    double a = 0, b = 0;
    for (int i = 0; i < edge; i++)
        a += prof[i], b += prof[S_WIDTH_N - 1 - i];
    a /= edge, b /= edge;
    double ta = -S_SIDE_PX + 0.5 * (edge - 1) * S_WIDTH_STEP, tb = -ta;
    double dark[S_WIDTH_N];
    int peak = -1, reach = (int) (2 / S_WIDTH_STEP), mid = S_WIDTH_N / 2;
    for (int i = 0; i < S_WIDTH_N; i++) {
        double t = -S_SIDE_PX + i * S_WIDTH_STEP;
        dark[i] = a + (b - a) * (t - ta) / (tb - ta) - prof[i];
        if (i >= mid - reach && i <= mid + reach && (peak < 0 || dark[i] > dark[peak]))
            peak = i;
    }
    double d = dark[peak], half = 0.5 * d;
    if (d < min_dark)
        return -1;
    int lo = peak, hi = peak;
    while (lo > edge && dark[lo - 1] >= half)
        lo--;
    while (hi < S_WIDTH_N - 1 - edge && dark[hi + 1] >= half)
        hi++;
    if (lo <= edge || hi >= S_WIDTH_N - 1 - edge)
        return -1;
    /* the crossings of half depth, between lo - 1 and lo, and hi and hi + 1 */
    double fl = (dark[lo] - half) / (dark[lo] - dark[lo - 1] + 1e-12);
    double fh = (dark[hi] - half) / (dark[hi] - dark[hi + 1] + 1e-12);
    return (hi - lo + fl + fh) * S_WIDTH_STEP;
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static double s_width(const rv_view_t *gray, const float (*pts)[2], int n, double min_dark)
{
    double w[S_MAX_PTS];
    int m = 0;
    for (int i = 0; i < n && i < S_MAX_PTS; i++) {
        int i0 = i >= 2 ? i - 2 : 0, i1 = i + 2 < n ? i + 2 : n - 1;
        double ux = pts[i1][0] - pts[i0][0], uy = pts[i1][1] - pts[i0][1], un = hypot(ux, uy);
        if (un <= 0)
            continue;
        double v = s_width_at(gray, pts[i][0], pts[i][1], ux / un, uy / un, min_dark);
        if (v > 0)
            w[m++] = v;
    }
    if (m < 3)
        return 0;
    qsort(w, (size_t) m, sizeof w[0], s_cmp_double);
    return w[(int) (0.75 * (m - 1) + 0.5)];
}

/* Walk every accepted piece's ends (with a reference), join the pieces the walks connect,
 * lengthen the ends that continue, and report one finding per crack. */
static int s_report(const s_params_t *p, const rv_detect_ctx_t *ctx, const rv_view_t *zone_mask,
                    s_cracks_t *cs, rv_findings_t *out)
{
    size_t n = cs->count;
    /* a crack cut by the edge margin continues through it; one cut by a design edge
     * continues through the disc the black-hat spans there */
    int disc = rv_det_odd(2 * p->max_width_px + 5, 3, RV_DISC_MAX);
    int cap = 2 * ((int) p->edge_margin_px + disc);
    s_walk_t (*walks)[2] = calloc(n ? n : 1, sizeof *walks);
    if (!walks)
        return rv_fail(RV_ENOMEM, s_domain, "%zu cracks", n);
    for (size_t i = 0; i < n; i++)
        for (int e = 0; e < 2; e++)
            walks[i][e] = ctx->ref_mean ? s_follow(ctx, zone_mask, cs, i, e, (int) p->dark_thr, cap)
                                        : (s_walk_t){0, {cs->items[i].end[e][0], cs->items[i].end[e][1]}, -1, 0, {{0}}};
    /* joins: piece i's end e reached piece j; j's nearer end to where the walk stopped */
    int (*endof)[2] = malloc((n ? n : 1) * sizeof *endof); /* which original end is each end */
    if (!endof) {
        free(walks);
        return rv_fail(RV_ENOMEM, s_domain, "%zu cracks", n);
    }
    for (size_t i = 0; i < n; i++)
        endof[i][0] = (int) (2 * i), endof[i][1] = (int) (2 * i + 1);
    for (size_t i = 0; i < n; i++) {
        for (int e = 0; e < 2; e++) {
            const s_walk_t *w = &walks[i][e];
            if (w->hit < 0)
                continue;
            size_t j = (size_t) w->hit;
            const s_crack_t *b = &cs->items[j];
            int ej = hypot(b->end[0][0] - w->at[0], b->end[0][1] - w->at[1]) <=
                             hypot(b->end[1][0] - w->at[0], b->end[1][1] - w->at[1])
                         ? 0
                         : 1;
            int ri = s_root(cs, (int) i), rj = s_root(cs, (int) j);
            if (ri == rj)
                continue;
            /* the joined ends must still be the outer ends of their cracks */
            int ai = endof[ri][0] == (int) (2 * i + e) ? 0 : endof[ri][1] == (int) (2 * i + e) ? 1 : -1;
            int bj = endof[rj][0] == (int) (2 * j + ej) ? 0 : endof[rj][1] == (int) (2 * j + ej) ? 1 : -1;
            if (ai < 0 || bj < 0)
                continue;
            int outer_a = endof[ri][1 - ai], outer_b = endof[rj][1 - bj];
            s_join(&cs->items[ri], ai, &cs->items[rj], bj, w->steps);
            cs->items[rj].root = ri;
            endof[ri][0] = outer_a, endof[ri][1] = outer_b;
        }
    }
    int rc = RV_OK;
    for (size_t i = 0; rc == RV_OK && i < n; i++) {
        s_crack_t *c = &cs->items[i];
        if (c->root != (int) i)
            continue;
        /* the outer ends: a walk that went on adds its length and the half band taken
         * back there, and its end point */
        for (int e = 0; e < 2; e++) {
            int o = endof[i][e];
            const s_walk_t *w = &walks[o / 2][o % 2];
            /* a pixel or two is the blurred end of the band itself */
            if (w->hit >= 0 || w->steps < 2)
                continue;
            c->len_px += w->steps;
            /* the walk's path, so the polyline follows the crack where it went (a piece of
             * the next zone that the walk ran over is then seen to lie on it) */
            if (e == 1) {
                s_append(c, (const float (*)[2]) w->path, w->npath, 0);
            } else {
                float old[S_MAX_PTS][2];
                int nold = c->npts;
                memcpy(old, c->pts, (size_t) nold * sizeof old[0]);
                c->npts = 0;
                s_append(c, (const float (*)[2]) w->path, w->npath, 1);
                s_append(c, (const float (*)[2]) old, nold, 0);
            }
            int *bb = c->f.bbox;
            for (int k = 0; k < w->npath; k++) {
                int x = (int) lrint(w->path[k][0]), y = (int) lrint(w->path[k][1]);
                if (x < bb[0])
                    bb[2] += bb[0] - x, bb[0] = x;
                if (y < bb[1])
                    bb[3] += bb[1] - y, bb[1] = y;
                if (x >= bb[0] + bb[2])
                    bb[2] = x - bb[0] + 1;
                if (y >= bb[1] + bb[3])
                    bb[3] = y - bb[1] + 1;
            }
        }
        rv_finding_t *f = &c->f;
        rv_finding_set_polyline(f, (const float (*)[2]) c->pts, c->npts);
        f->length_mm = c->len_px * ctx->mm_per_px;
        /* the width at half depth (s_width); where no point resolves it, the equivalent
         * width of a fully dark line with the same darkness integral (the black-hat summed
         * over the band is background x width per unit length) */
        double wpx = s_width(ctx->gray, (const float (*)[2]) c->pts,
                             c->npts < S_MAX_PTS ? c->npts : S_MAX_PTS, 0.5 * p->dark_thr);
        if (wpx <= 0)
            wpx = c->dark / (c->bg * c->len_pieces);
        /* a line, as reported: at least min_axis_ratio times as long as its width at half
         * depth (a dark spot where a shadow band meets a rim passed as a piece, then read
         * 3.5 mm by 2.0 mm; the widest true cracks of five unseen sets read 3.9 times as
         * long as wide, 2026-12-07, docs/eval.md) */
        if (c->len_px < p->min_axis_ratio * wpx)
            continue;
        f->width_mm = wpx * ctx->mm_per_px;
        rc = rv_findings_push(out, f);
    }
    free(endof);
    free(walks);
    return rc;
}

/* One candidate component of the full-view mask: its pixels darker than the reference
 * (grooves, shadow lines, threads and rims of the nominal part are not cracks), split into
 * pieces, each judged. */
static int s_judge(const s_params_t *p, const rv_detect_ctx_t *ctx, const rv_view_t *blur,
                   const rv_view_t *ref, const rv_view_t *rust, const rv_blobs_t *blobs,
                   size_t i, const uint32_t *order, uint32_t begin, uint32_t end, int disc,
                   const int box[4], int zone, int *path, s_cracks_t *out)
{
    const rv_blob_t *b = &blobs->items[i];
    double min_len = p->min_length_mm / ctx->mm_per_px;
    if (hypot(b->x1 - b->x0 + 1, b->y1 - b->y0 + 1) < 0.8 * min_len)
        return RV_OK;
    rv_det_local_t l;
    int rc = rv_det_local_split_ctx(ctx, box, blur, ref, blobs, i, order, begin, end, disc,
                                    (int) p->dark_thr, (uint32_t) fmax(6, min_len), &l);
    for (size_t j = 0; rc == RV_OK && j < l.pieces.count; j++)
        rc = s_piece(p, ctx, blur, rust, &l, j, box, zone, path, out);
    rv_det_local_free(&l);
    return rc;
}

/* The candidates' threshold where the view is lit lighter than the goods' mean. mask holds
 * how much darker than the mean each pixel is (saturated). A crack takes a share of its
 * face's light, so on a face the lamp lights more than it lit the goods, its line lies
 * fewer grey levels under the mean than under the face beside it (disc-2420007: a 1 px hub
 * crack 21 under the face and 11-13 under the mean, where the candidates ask 12). The
 * view's lightness o around a pixel is the mean of blur - ref over S_LIT_BLOCK px blocks
 * (every pixel of every fourth row) smoothed over 3 x 3 blocks, held to 0..thr - 1; what
 * of it is over S_LIT_MARGIN comes off the threshold, so a candidate is still darker than
 * the mean by thr + S_LIT_MARGIN - o (at least S_LIT_MARGIN + 1) and a view lit as the
 * goods were asks thr as before (2026-12-07, docs/eval.md). */
#define S_LIT_BLOCK 16
#define S_LIT_MARGIN 6
static int s_lit_threshold(const rv_view_t *blur, const rv_view_t *ref, const rv_view_t *mask,
                           int thr)
{
    int w = mask->width, h = mask->height, bw = (w + S_LIT_BLOCK - 1) / S_LIT_BLOCK,
        bh = (h + S_LIT_BLOCK - 1) / S_LIT_BLOCK;
    int32_t *sum = calloc((size_t) bw * bh * 2, sizeof *sum);
    uint8_t *t = malloc((size_t) bw * bh);
    if (!sum || !t) {
        free(sum);
        free(t);
        return rv_fail(RV_ENOMEM, s_domain, "lightness blocks %dx%d", bw, bh);
    }
    int32_t *cnt = sum + (size_t) bw * bh;
    for (int y = 0; y < h; y += 4) {
        const uint8_t *g = rv_view_row(blur, y), *r = rv_view_row(ref, y);
        int32_t *srow = sum + (size_t) (y / S_LIT_BLOCK) * bw;
        int32_t *crow = cnt + (size_t) (y / S_LIT_BLOCK) * bw;
        for (int bx = 0; bx < bw; bx++) {
            int x0 = bx * S_LIT_BLOCK, x1 = x0 + S_LIT_BLOCK < w ? x0 + S_LIT_BLOCK : w;
            int32_t d = 0;
            if (x1 - x0 == S_LIT_BLOCK) /* a whole block: a loop of known length */
                for (int k = 0; k < S_LIT_BLOCK; k++)
                    d += g[x0 + k] - r[x0 + k];
            else
                for (int x = x0; x < x1; x++)
                    d += g[x] - r[x];
            srow[bx] += d;
            crow[bx] += x1 - x0;
        }
    }
    int lit_any = 0;
    for (int by = 0; by < bh; by++)
        for (int bx = 0; bx < bw; bx++) {
            int64_t sd = 0, n = 0;
            for (int yy = by - 1; yy <= by + 1; yy++)
                for (int xx = bx - 1; xx <= bx + 1; xx++)
                    if (yy >= 0 && xx >= 0 && yy < bh && xx < bw) {
                        sd += sum[(size_t) yy * bw + xx];
                        n += cnt[(size_t) yy * bw + xx];
                    }
            double lit = n > 0 ? (double) sd / (double) n : 0;
            int o = lit <= 0 ? 0 : lit >= thr - 1 ? thr - 1 : (int) lit;
            int need = thr + S_LIT_MARGIN - o < thr ? thr + S_LIT_MARGIN - o : thr;
            t[(size_t) by * bw + bx] = (uint8_t) need;
            lit_any |= need < thr;
        }
    int rc = RV_OK;
    if (!lit_any) { /* lit as the goods were: the one threshold */
        rc = rv_threshold(mask, mask, (uint8_t) thr, NULL);
    } else {
        for (int y = 0; y < h; y++) {
            uint8_t *m = rv_view_row(mask, y);
            const uint8_t *trow = t + (size_t) (y / S_LIT_BLOCK) * bw;
            for (int bx = 0; bx < bw; bx++) {
                int x0 = bx * S_LIT_BLOCK, x1 = x0 + S_LIT_BLOCK < w ? x0 + S_LIT_BLOCK : w;
                uint8_t tv = trow[bx], *mb = m + x0;
                if (x1 - x0 == S_LIT_BLOCK)
                    for (int k = 0; k < S_LIT_BLOCK; k++)
                        mb[k] = mb[k] > tv ? 255 : 0;
                else
                    for (int x = x0; x < x1; x++)
                        m[x] = m[x] > tv ? 255 : 0;
            }
        }
    }
    free(sum);
    free(t);
    return rc;
}

static int s_run(const void *params, const rv_detect_ctx_t *ctx, const rv_view_t *zone_mask,
                 int zone, rv_findings_t *out)
{
    const s_params_t *p = params;
    int rc = rv_det_check(s_domain, ctx, zone_mask);
    if (rc < 0)
        return rc;
    /* a disc wider than the crack plus the 5x5 blur's spread either side */
    int disc = rv_det_odd(2 * p->max_width_px + 5, 3, RV_DISC_MAX);
    int box[4], m = (int) p->edge_margin_px;
    rv_image_t *allowed = NULL, *mimg = NULL, *near_img = NULL, *er_img = NULL;
    rv_blobs_t blobs = {0};
    uint32_t *first = NULL, *order = NULL;
    int *path = NULL;
    s_cracks_t cracks = {0};
    rc = rv_det_allowed(ctx, zone_mask, zone, m, disc > RV_ZONE_NEAR_PX ? disc : RV_ZONE_NEAR_PX,
                        box, &allowed);
    if (rc <= 0)
        return rc;
    /* The candidates are looked for on the zone grown by RV_ZONE_NEAR_PX (the inspector's
     * ctx->zone_near, else grown here), on the part less the edge margin: a crack across
     * the zone's boundary is judged whole (each zone's piece alone can be too short or too
     * stubby to pass: shaft-850028, 10.8 mm across the body and the shoulder, was found by
     * neither), and kept when it reaches into the zone. The next zone's run finds it too,
     * and the inspector's join across zones keeps it once. */
    rv_view_t near = {0}, er = {0};
    int have_near = zone_mask && allowed;
    const rv_view_t *pm = ctx->part ? ctx->part : ctx->ref_part;
    if (have_near) {
        int bw = box[2] - box[0], bh = box[3] - box[1];
        if (ctx->zone_near) {
            if (ctx->zone_near->width != ctx->gray->width ||
                ctx->zone_near->height != ctx->gray->height || ctx->zone_near->fmt != RV_GRAY8) {
                rc = rv_fail(RV_EINVAL, s_domain, "zone_near must be a GRAY8 view of %dx%d",
                             ctx->gray->width, ctx->gray->height);
                goto done;
            }
            near = rv_det_sub(ctx->zone_near, box);
        } else {
            rv_view_t zs = rv_det_sub(zone_mask, box);
            if (!(near_img = rv_image_new(bw, bh, RV_GRAY8))) {
                rc = rv_fail(RV_ENOMEM, s_domain, "scratch for %dx%d", bw, bh);
                goto done;
            }
            near = rv_image_view(near_img);
            if ((rc = rv_dilate_rect(&zs, &near, 2 * RV_ZONE_NEAR_PX + 1,
                                     2 * RV_ZONE_NEAR_PX + 1)) != RV_OK)
                goto done;
        }
        /* the part less the edge margin, as rv_det_allowed took it (its cache) */
        int cached = pm && m > 0 ? rv_det_cached(ctx, RV_DET_MAP_ERODE, 2 * m + 1, box, NULL, &er) : 0;
        if (cached < 0) {
            rc = cached;
            goto done;
        }
        if (pm && !cached) {
            rv_view_t ps = rv_det_sub(pm, box);
            if (!(er_img = rv_image_new(bw, bh, RV_GRAY8))) {
                rc = rv_fail(RV_ENOMEM, s_domain, "scratch for %dx%d", bw, bh);
                goto done;
            }
            er = rv_image_view(er_img);
            rc = m > 0 ? rv_erode_rect(&ps, &er, 2 * m + 1, 2 * m + 1) : rv_view_copy(&ps, &er);
            if (rc != RV_OK)
                goto done;
        }
    }
    memcpy(cracks.box, box, sizeof cracks.box);
    rv_view_t blur = rv_det_sub(ctx->blur, box), rust = rv_det_sub(ctx->rust, box);
    rv_view_t ref = rv_det_sub(ctx->ref_mean, box);
    mimg = rv_image_new(box[2] - box[0], box[3] - box[1], RV_GRAY8);
    path = malloc(2 * S_MAX_PATH * sizeof *path);
    if (ctx->ref_mean) /* the accepted pieces' pixels, for the walks past their ends */
        cracks.label = calloc((size_t) (box[2] - box[0]) * (box[3] - box[1]), sizeof *cracks.label);
    if (!mimg || !path || (ctx->ref_mean && !cracks.label)) {
        rc = rv_fail(RV_ENOMEM, s_domain, "scratch for %dx%d", box[2] - box[0], box[3] - box[1]);
        goto done;
    }
    rv_view_t mask = rv_image_view(mimg);
    if (ctx->ref_mean) {
        /* with a learned reference, a defect pixel is first of all darker than it: two
         * cheap passes instead of a black-hat over the whole part; the black-hat then runs
         * on each candidate's box only. Darker than the reference anywhere within
         * ref_shift_px: a design edge (a groove's rim, a pocket's corner) that the
         * alignment left a pixel off is a thin dark sliver against the reference, as long
         * as the edge, and was read as a crack on 4 in 100 sound housings */
        rv_image_t *low_img = NULL;
        rv_view_t low;
        rc = rv_det_ref_min(ctx, box, (int) p->ref_shift_px, &low_img, &low);
        if (rc == RV_OK)
            rc = rv_sub_sat(&low, &blur, &mask);
        rv_image_destroy(&low_img);
        if (rc == RV_OK)
            rc = s_lit_threshold(&blur, &ref, &mask, (int) p->dark_thr);
    } else {
        rc = rv_blackhat_disc_threshold(&blur, &mask, disc, (uint8_t) p->dark_thr, NULL);
    }
    if (rc == RV_OK && have_near) {
        rc = rv_min(&mask, &near, &mask);
        if (rc == RV_OK && pm)
            rc = rv_min(&mask, &er, &mask);
    } else if (rc == RV_OK && allowed) {
        rv_view_t a = rv_image_view(allowed);
        rc = rv_min(&mask, &a, &mask);
    }
    if (rc < 0)
        goto done;
    double min_len = p->min_length_mm / ctx->mm_per_px;
    uint32_t min_area = (uint32_t) fmax(6, min_len);
    rc = rv_components(&mask, 8, min_area, &blobs);
    if (rc < 0)
        goto done;
    rc = rv_det_runs_by_blob(&blobs, &first, &order);
    for (size_t i = 0; rc == RV_OK && i < blobs.count; i++) {
        rv_view_t a = have_near ? rv_image_view(allowed) : (rv_view_t){0};
        /* a candidate near the zone that does not reach into it */
        if (have_near && rv_det_blob_mean(&a, &blobs, order, first[i], first[i + 1]) == 0)
            continue;
        rc = s_judge(p, ctx, &blur, ctx->ref_mean ? &ref : NULL, ctx->rust ? &rust : NULL,
                     &blobs, i, order, first[i],
                     first[i + 1], disc, box, zone, path, &cracks);
    }
    if (rc == RV_OK)
        rc = s_report(p, ctx, zone_mask, &cracks, out);
done:
    free(cracks.items);
    free(cracks.label);
    free(path);
    free(first);
    free(order);
    rv_blobs_free(&blobs);
    rv_image_destroy(&mimg);
    rv_image_destroy(&allowed);
    rv_image_destroy(&near_img);
    rv_image_destroy(&er_img);
    return rc;
}

const rv_detector_class_t rv_det_crack = {"crack", sizeof(s_params_t), s_configure, s_run};
