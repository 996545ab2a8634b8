/* rv_mend.c - a part's mask mended along the learned outline (rv_align_part_mend).
 *
 * A face turned from the lamp can be darker than the fixture's growth limit
 * (rv_align_part_mask) in places: on the generated shafts' lower flank, the darker of the
 * turning streaks stopped the mask 10-20 px short of the outline in columns a streak or
 * two wide, in about one good part in ten. The nominal outline is where every good part
 * has material, so one such bite in one good part became a bite in the nominal, and a
 * chip there was measured to it and read as a few mm2 instead of 27-94 (docs/eval.md).
 *
 * What a bite shows is the part beside it: the same face at the same distance from the
 * outline, as dark as its darker streaks. What a chip shows is the fixture through the
 * notch. So each gap between the learned outline and the mask (4-connected) is compared
 * with both: the mask's pixels beside it at the same distances inside the outline (each
 * distance weighted by the gap's own pixels there), and f, the fixture just outside the
 * outline (S_FIX_NEAR to S_FIX_FAR px beyond it). When the part's mean there differs from
 * f by S_MIN_CONTRAST or more, p is its darker streaks (the S_BESIDE_Q quantile of its
 * grey; for a part darker than its fixture, the 1 - S_BESIDE_Q one), and the gap's mean g
 * lies at t = (g - f) / (p - f) between them (p taken at least S_MIN_CONTRAST / 2 from f).
 * A gap with t >= S_MEND_T is part and joins the mask. On generated shafts (docs/eval.md)
 * the chips on the lower flank lay at t <= 0.32 (104 chips), the sound flank's gaps of 60
 * px or more at t >= 0.41 but one (73 of 74, the other at a step's corner); against the
 * flank's mean instead of its darker streaks the two overlapped. A gap is left as it is
 * when it cannot be judged: too little contrast, fewer than half its pixels with part
 * beside them at their distance, or no fixture in reach.
 *
 * At a step's corner the flank also lies in the next wall's shadow, and a streak there can
 * be as dark as the fixture (t 0.1-0.35 on sound shafts). Its mouth tells it from a chip:
 * a part brighter than its fixture casts a contact shadow along its outline, and a notch
 * moves the outline and the shadow with it, so the fixture across a chip's mouth is lit as
 * the open fixture is. So a gap with t >= S_SHADED_T whose mouth (the fixture 1 to
 * S_MOUTH_FAR px outside the outline and within S_MOUTH_FAR px of the gap, at least
 * S_MOUTH_MIN px of it) lies S_MOUTH_SHADE grey levels or more below f is part too. On
 * generated shafts every true chip lay at t < 0 (docs/eval.md, twenty-third session). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "detect/rv_detect_util.h"
#include "rv/rv_align.h"
#include "rv/rv_blobs.h"
#include "rv/rv_error.h"
#include "rv/rv_point.h"

#define S_MEND_T 0.4       /* the least t of a gap that is part */
#define S_BESIDE_Q 0.2     /* the part beside a gap: this quantile of its grey */
#define S_MIN_CONTRAST 6.0 /* grey levels between the part beside a gap and the fixture */
#define S_WIN 24           /* px around a gap's box where its neighbours are looked for */
#define S_FIX_NEAR 3       /* the fixture's band outside the outline, px */
#define S_FIX_FAR 8
#define S_DMAX 64 /* distances binned per px up to this */
#define S_MIN_GAP 9 /* px: a smaller gap cannot hold the missing detector's 3 x 3 opening */
#define S_MOUTH_FAR 2     /* the mouth: fixture within this many px of the outline and the gap */
#define S_MOUTH_MIN 8     /* px of mouth to judge its shade */
#define S_MOUTH_SHADE 3.0 /* grey levels the mouth lies below the fixture: in contact shadow */
#define S_SHADED_T 0.05   /* the least t of a gap with a shaded mouth that is part */

static const char *s_domain = "rv_align_part_mend";

typedef struct s_acc {
    double gsum, psum[S_DMAX], fsum, msum;
    size_t gn, gd[S_DMAX], pn[S_DMAX], fn, mn;
    uint32_t ph[S_DMAX][256]; /* the part beside the gap: its grey's histogram per distance
                                 (zero between gaps: only the rows used are cleared) */
} s_acc_t;

static int s_decide(const s_acc_t *a);

/* 1 when a gap pixel lies within S_MOUTH_FAR px (either way, in x and y) of (x, y) */
static int s_near_gap(const uint8_t *in_gap, int lw, int lh, int x, int y)
{
    int ya = y - S_MOUTH_FAR < 0 ? 0 : y - S_MOUTH_FAR;
    int yb = y + S_MOUTH_FAR >= lh ? lh - 1 : y + S_MOUTH_FAR;
    int xa = x - S_MOUTH_FAR < 0 ? 0 : x - S_MOUTH_FAR;
    int xb = x + S_MOUTH_FAR >= lw ? lw - 1 : x + S_MOUTH_FAR;
    for (int yy = ya; yy <= yb; yy++)
        for (int xx = xa; xx <= xb; xx++)
            if (in_gap[(size_t) yy * lw + xx])
                return 1;
    return 0;
}

struct rv_mend {
    int w, h;
    rv_image_t *in;   /* 255 inside the outline (outline >= othr), 0 outside */
    rv_image_t *din;  /* inside: px to the nearest pixel outside (1 ..), at most 255 */
    rv_image_t *dout; /* outside: px to the nearest pixel inside, at most 255 */
};

/* Judge one gap (its runs order[begin .. end) of bl; the window x0, y0, lw x lh of the
 * view, in_gap scratch of its size): 1 when it is part. */
static int s_judge(const rv_mend_t *mend, const rv_view_t *gray, const rv_view_t *mask,
                   const rv_blobs_t *bl, const uint32_t *order, uint32_t begin, uint32_t end,
                   int x0, int y0, int lw, int lh, uint8_t *in_gap, s_acc_t *acc)
{
    memset(in_gap, 0, (size_t) lw * lh);
    for (uint32_t k = begin; k < end; k++) {
        const rv_run_t *r = &bl->runs[order[k]];
        memset(in_gap + (size_t) (r->y - y0) * lw + (r->x0 - x0), 1, (size_t) (r->x1 - r->x0));
    }
    rv_view_t dinv = rv_image_view(mend->din), doutv = rv_image_view(mend->dout);
    s_acc_t *a = acc;
    memset(a, 0, offsetof(s_acc_t, ph));
    for (int y = 0; y < lh; y++) {
        const uint8_t *g = rv_view_row(gray, y + y0) + x0, *m = rv_view_row(mask, y + y0) + x0;
        const uint8_t *di = rv_view_row(&dinv, y + y0) + x0, *dn = rv_view_row(&doutv, y + y0) + x0;
        const uint8_t *ig = in_gap + (size_t) y * lw;
        for (int x = 0; x < lw; x++) {
            if (di[x]) { /* inside the outline: distance to it in whole px */
                int d = di[x] >= S_DMAX ? S_DMAX - 1 : di[x];
                if (ig[x]) {
                    a->gsum += g[x];
                    a->gn++;
                    a->gd[d]++;
                } else if (m[x]) {
                    a->ph[d][g[x]]++;
                    a->pn[d]++;
                    a->psum[d] += g[x];
                }
            } else if (dn[x] >= S_FIX_NEAR && dn[x] <= S_FIX_FAR) {
                a->fsum += g[x];
                a->fn++;
            } else if (dn[x] >= 1 && dn[x] <= S_MOUTH_FAR && s_near_gap(in_gap, lw, lh, x, y)) {
                a->msum += g[x];
                a->mn++;
            }
        }
    }
    int part = s_decide(a);
    for (int d = 0; d < S_DMAX; d++)
        if (a->pn[d])
            memset(a->ph[d], 0, sizeof a->ph[d]);
    return part;
}

/* 1 when the gap accumulated in a is part (the comment at the top of the file). */
static int s_decide(const s_acc_t *a)
{
    /* the part beside the gap against the fixture, at the gap's distances (each weighted
     * by the gap's pixels there): its mean must differ by S_MIN_CONTRAST; p, its darker
     * streaks (its brighter ones for a part darker than its fixture: those nearer the
     * fixture's grey) */
    if (!a->gn || a->fn < 8)
        return 0;
    double f = a->fsum / (double) a->fn, g = a->gsum / (double) a->gn, pm = 0;
    double plo = 0, phi = 0;
    size_t covered = 0;
    for (int d = 0; d < S_DMAX; d++)
        if (a->gd[d] && a->pn[d] >= 3) {
            size_t c = 0;
            int lo = -1, hi = -1;
            for (int v = 0; v < 256 && hi < 0; v++) {
                c += a->ph[d][v];
                if (lo < 0 && (double) c >= S_BESIDE_Q * (double) a->pn[d])
                    lo = v;
                if ((double) c >= (1 - S_BESIDE_Q) * (double) a->pn[d])
                    hi = v;
            }
            pm += (double) a->gd[d] * a->psum[d] / (double) a->pn[d];
            plo += (double) a->gd[d] * lo;
            phi += (double) a->gd[d] * hi;
            covered += a->gd[d];
        }
    if (covered * 2 < a->gn)
        return 0;
    double side = pm / (double) covered - f;
    if (fabs(side) < S_MIN_CONTRAST)
        return 0;
    double p = (side > 0 ? plo : phi) / (double) covered;
    /* t, with the streaks taken at least S_MIN_CONTRAST / 2 from the fixture (the darkest
     * streaks can lie at its grey, and t would be noise) */
    double sgn = side > 0 ? 1 : -1, den = fmax(sgn * (p - f), S_MIN_CONTRAST / 2);
    double t = sgn * (g - f) / den;
    if (t >= S_MEND_T)
        return 1;
    /* a part brighter than its fixture casts a contact shadow along its outline; a notch
     * moves the outline, and the shadow with it, so the fixture across a chip's mouth is
     * lit as the open fixture is. A gap at least as bright as the fixture whose mouth is
     * still in shadow is a face turned from the lamp. */
    return side > 0 && t >= S_SHADED_T && a->mn >= S_MOUTH_MIN &&
           f - a->msum / (double) a->mn >= S_MOUTH_SHADE;
}

void rv_mend_destroy(rv_mend_t **mend)
{
    if (!mend || !*mend)
        return;
    rv_image_destroy(&(*mend)->in);
    rv_image_destroy(&(*mend)->din);
    rv_image_destroy(&(*mend)->dout);
    free(*mend);
    *mend = NULL;
}

rv_mend_t *rv_mend_new(const rv_view_t *outline, int othr)
{
    if (!outline || !outline->data || outline->fmt != RV_GRAY8) {
        rv_fail(RV_EINVAL, s_domain, "the outline must be a GRAY8 view");
        return NULL;
    }
    if (othr < 1 || othr > 255) {
        rv_fail(RV_EINVAL, s_domain, "outline threshold %d outside 1..255", othr);
        return NULL;
    }
    int w = outline->width, h = outline->height;
    rv_mend_t *m = calloc(1, sizeof *m);
    int32_t *din = malloc((size_t) w * h * sizeof *din);
    int32_t *dout = malloc((size_t) w * h * sizeof *dout);
    if (!m || !din || !dout || !(m->in = rv_image_new(w, h, RV_GRAY8)) ||
        !(m->din = rv_image_new(w, h, RV_GRAY8)) || !(m->dout = rv_image_new(w, h, RV_GRAY8))) {
        free(din);
        free(dout);
        rv_mend_destroy(&m);
        rv_fail(RV_ENOMEM, s_domain, "out of memory");
        return NULL;
    }
    m->w = w, m->h = h;
    rv_view_t iv = rv_image_view(m->in), div = rv_image_view(m->din), dov = rv_image_view(m->dout);
    const int32_t inf = 1 << 28;
    for (int y = 0; y < h; y++) {
        const uint8_t *o = rv_view_row(outline, y);
        uint8_t *q = rv_view_row(&iv, y);
        for (int x = 0; x < w; x++) {
            int in = o[x] >= othr;
            q[x] = in ? 255 : 0;
            din[(size_t) y * w + x] = in ? inf : 0;
            dout[(size_t) y * w + x] = in ? 0 : inf;
        }
    }
    rv_chamfer34(din, w, h);
    rv_chamfer34(dout, w, h);
    for (int y = 0; y < h; y++) {
        uint8_t *a = rv_view_row(&div, y), *b = rv_view_row(&dov, y);
        for (int x = 0; x < w; x++) {
            int32_t c = din[(size_t) y * w + x], e = dout[(size_t) y * w + x];
            /* chamfer units of 3 per px; none in reach (no outline in the view): far */
            a[x] = (uint8_t) (c >= inf ? 255 : (c + 1) / 3 > 255 ? 255 : (c + 1) / 3);
            b[x] = (uint8_t) (e >= inf ? 255 : (e + 1) / 3 > 255 ? 255 : (e + 1) / 3);
        }
    }
    free(din);
    free(dout);
    return m;
}

int rv_mend_run(const rv_mend_t *mend, const rv_view_t *gray, const rv_view_t *mask,
                size_t *mended)
{
    if (mended)
        *mended = 0;
    if (!mend || !gray || !mask || !gray->data || !mask->data)
        return rv_fail(RV_EINVAL, s_domain, "gray, mask and outline are required");
    int w = mend->w, h = mend->h;
    if (gray->fmt != RV_GRAY8 || mask->fmt != RV_GRAY8 || gray->width != w ||
        gray->height != h || mask->width != w || mask->height != h)
        return rv_fail(RV_EINVAL, s_domain, "gray, mask and outline must be GRAY8 of one size");
    rv_image_t *gimg = rv_image_new(w, h, RV_GRAY8);
    if (!gimg)
        return rv_fail(RV_ENOMEM, s_domain, "out of memory");
    rv_view_t gv = rv_image_view(gimg), iv = rv_image_view(mend->in);
    rv_blobs_t bl = {0};
    uint32_t *first = NULL, *order = NULL;
    uint8_t *in_gap = NULL, *part = NULL;
    s_acc_t *acc = NULL;
    /* the gaps: inside the outline, not in the mask */
    int rc = rv_sub_sat(&iv, mask, &gv);
    if (rc == RV_OK)
        rc = rv_components(&gv, 4, S_MIN_GAP, &bl);
    if (rc == RV_OK && bl.count)
        rc = rv_det_runs_by_blob(&bl, &first, &order);
    size_t big = 0;
    for (size_t i = 0; rc == RV_OK && i < bl.count; i++) {
        const rv_blob_t *b = &bl.items[i];
        size_t lw = (size_t) (b->x1 - b->x0 + 1 + 2 * S_WIN);
        size_t lh = (size_t) (b->y1 - b->y0 + 1 + 2 * S_WIN);
        big = lw * lh > big ? lw * lh : big;
    }
    if (rc == RV_OK && bl.count) {
        in_gap = malloc(big);
        acc = calloc(1, sizeof *acc);
        part = calloc(bl.count, 1);
        if (!in_gap || !acc || !part)
            rc = rv_fail(RV_ENOMEM, s_domain, "out of memory");
    }
    /* every gap judged against the mask as it came, then the part ones set */
    for (size_t i = 0; rc == RV_OK && i < bl.count; i++) {
        const rv_blob_t *b = &bl.items[i];
        int x0 = b->x0 - S_WIN < 0 ? 0 : b->x0 - S_WIN, y0 = b->y0 - S_WIN < 0 ? 0 : b->y0 - S_WIN;
        int x1 = b->x1 + S_WIN + 1 > w ? w : b->x1 + S_WIN + 1;
        int y1 = b->y1 + S_WIN + 1 > h ? h : b->y1 + S_WIN + 1;
        part[i] = (uint8_t) s_judge(mend, gray, mask, &bl, order, first[i], first[i + 1], x0, y0,
                                    x1 - x0, y1 - y0, in_gap, acc);
    }
    for (size_t i = 0; rc == RV_OK && i < bl.count; i++) {
        if (!part[i])
            continue;
        for (uint32_t k = first[i]; k < first[i + 1]; k++) {
            const rv_run_t *r = &bl.runs[order[k]];
            memset(rv_view_row(mask, r->y) + r->x0, 255, (size_t) (r->x1 - r->x0));
        }
        if (mended)
            *mended += bl.items[i].area;
    }
    free(part);
    free(acc);
    free(in_gap);
    free(first);
    free(order);
    rv_blobs_free(&bl);
    rv_image_destroy(&gimg);
    return rc;
}

int rv_align_part_mend(const rv_view_t *gray, const rv_view_t *mask, const rv_view_t *outline,
                       int othr, size_t *mended)
{
    if (mended)
        *mended = 0;
    if (!gray || !mask || !outline || !gray->data || !mask->data || !outline->data)
        return rv_fail(RV_EINVAL, s_domain, "gray, mask and outline are required");
    if (gray->fmt != RV_GRAY8 || mask->fmt != RV_GRAY8 || outline->fmt != RV_GRAY8 ||
        mask->width != gray->width || mask->height != gray->height ||
        outline->width != gray->width || outline->height != gray->height)
        return rv_fail(RV_EINVAL, s_domain, "gray, mask and outline must be GRAY8 of one size");
    if (othr < 1 || othr > 255)
        return rv_fail(RV_EINVAL, s_domain, "outline threshold %d outside 1..255", othr);
    rv_mend_t *m = rv_mend_new(outline, othr);
    if (!m)
        return RV_ENOMEM;
    int rc = rv_mend_run(m, gray, mask, mended);
    rv_mend_destroy(&m);
    return rc;
}
