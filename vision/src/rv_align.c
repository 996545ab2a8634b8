/* rv_align.c - registration of a view to the family's reference view. */
#include "rv/rv_align.h"
#include "rv_align_edges.h"
#include "rv_align_lk.h"
#include "rv/rv_blobs.h"
#include "rv/rv_error.h"
#include "rv/rv_filter.h"
#include "rv/rv_point.h"
#include "cv/rv_cv.h"
#include "rv_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S_SECTORS 360
#define S_BANDS 24

struct rv_align_ref {
    rv_align_params_t p;
    int width, height; /* full reference size */
    int factor;        /* downscale factor of the small copies */
    rv_image_t *small, *mask, *detail, *soft;
    rv_lk_template_t *lk; /* the soft silhouette's outline band, for the refinement */
    double area, cx, cy; /* silhouette moments in small px */
    /* the reference's angular signature, twice over (sectors 0..359 then 0..359 again) so
     * that every rotation of it is one contiguous run */
    double *sig2;
    /* the same counts as 16-bit integers where every one fits (NULL otherwise), and the
     * largest: the rotation search's exact integer path (s_rotations) */
    int16_t *sig2_16;
    double sig_max;
    /* the edge refinement: its templates along the outline, on the small copy (elk[0])
     * and at ffac (ffac x ffac blocks, about S_FINE_WIDTH px across, fw x fh; elk[1]) */
    int ffac, fw, fh;
    rv_lk_template_t *elk[2];
    int ebox[2][4]; /* each band's box in its frame: x0, y0, x1, y1 (exclusive) */
    rv_edge_pts_t *edges; /* the outline's edge points: the residual (rv_align_edges.h) */
};

static rv_image_t *s_detail(const rv_view_t *small);
static rv_image_t *s_soft(const rv_view_t *mask);
static int s_grow(const rv_view_t *gray, const rv_view_t *mask);
static void s_polar(const rv_view_t *m, double cx, double cy, double area, float *sig);

void rv_align_params_init(rv_align_params_t *p)
{
    p->work_width = 512;
    p->min_iou = 0.85;
    p->min_scale = 0.8;
    p->max_scale = 1.25;
    p->min_part = 0.03;
    p->min_std = 4.0;
    p->affine = 0;
    p->max_aniso = 1.5;
    p->solid = 0;
    p->blind_holes = 0;
    p->rotate = 1;
}

/* The gray of an RGB8 view (rv_gray_from_rgb, row by row) as a new image. */
static rv_image_t *s_gray_of(const rv_view_t *rgb)
{
    rv_image_t *out = rv_image_new(rgb->width, rgb->height, RV_GRAY8);
    if (!out) {
        rv_fail(RV_ENOMEM, "rv_align", "out of memory");
        return NULL;
    }
    const rv_point_kernels_t *k = &rv__kernels()->p;
    rv_view_t o = rv_image_view(out);
    for (int y = 0; y < o.height; y++)
        k->gray_from_rgb(rv_view_row(rgb, y), rv_view_row(&o, y), (size_t) o.width);
    return out;
}

/* Average f x f blocks of a GRAY8 view (the last partial blocks are dropped). */
static rv_image_t *s_downscale(const rv_view_t *src, int f)
{
    int w = src->width / f, h = src->height / f;
    if (w < 8 || h < 8) {
        rv_fail(RV_EFORMAT, "rv_align", "view of %dx%d is too small to align", src->width,
                src->height);
        return NULL;
    }
    rv_image_t *out = rv_image_new(w, h, RV_GRAY8);
    rv_view_t o = out ? rv_image_view(out) : (rv_view_t) {0};
    if (!out || f > 255 || rv_view_shrink(src, &o, f) != RV_OK) {
        rv_image_destroy(&out);
        if (f > 255)
            rv_fail(RV_EFORMAT, "rv_align", "view of %dx%d is too large to align", src->width,
                    src->height);
        return NULL;
    }
    return out;
}

/* Otsu's threshold of a histogram. */
static int s_otsu(const uint32_t hist[256], double *mean, double *std)
{
    double total = 0, sum = 0, sum2 = 0;
    for (int i = 0; i < 256; i++) {
        total += hist[i];
        sum += (double) i * hist[i];
        sum2 += (double) i * i * hist[i];
    }
    *mean = sum / total;
    *std = sqrt(fmax(0, sum2 / total - *mean * *mean));
    /* where no grey lies between the classes, every threshold in the gap splits them
     * alike: take the gap's middle, not its dark end (an image with a clean gap would
     * otherwise put its threshold on the top of the darker class) */
    double wb = 0, sb = 0, best = -1;
    int first = 128, last = 128;
    for (int t = 0; t < 255; t++) {
        wb += hist[t];
        sb += (double) t * hist[t];
        double wf = total - wb;
        if (wb == 0 || wf == 0)
            continue;
        double mb = sb / wb, mf = (sum - sb) / wf;
        double between = wb * wf * (mb - mf) * (mb - mf);
        if (between > best) {
            best = between;
            first = last = t;
        } else if (between == best && last == t - 1 && hist[t] == 0) {
            last = t;
        }
    }
    return (first + last) / 2;
}

/* Running median of the valid (not NaN) values of in[0..n) over a window of 2r+1
 * (clipped at the ends), into out; NaN where the window holds no valid value. */
static void s_running_median(const float *in, int n, int r, float *out)
{
    float win[64];
    for (int i = 0; i < n; i++) {
        int a = i - r < 0 ? 0 : i - r, b = i + r >= n ? n - 1 : i + r, m = 0;
        for (int j = a; j <= b; j++) { /* insertion sort: at most 2r+1 <= 63 values */
            float v = in[j];
            if (isnan(v))
                continue;
            int k = m++;
            while (k > 0 && win[k - 1] > v) {
                win[k] = win[k - 1];
                k--;
            }
            win[k] = v;
        }
        out[i] = m ? win[m / 2] : NAN;
    }
}

/* Fill the NaNs of p[0..n) from the nearest valid value; fallback where none is. */
static void s_fill_gaps(float *p, int n, float fallback)
{
    int last = -1;
    for (int i = 0; i < n; i++) {
        if (isnan(p[i]))
            continue;
        for (int j = last + 1; j < i; j++)
            p[j] = last < 0 || j - last > i - j ? p[i] : p[last];
        last = i;
    }
    for (int j = last + 1; j < n; j++)
        p[j] = last < 0 ? fallback : p[last];
}

/* The empty fixture as the picture's border shows it: along each side, from the outer
 * edge inwards past any no-data pixels (nd, may be NULL: the fill of a warp, see
 * s_nodata), the mean of S_EDGE pixels; each side's profile is the running median of
 * those over S_MEDIAN samples (a part touching the edge or a speck does not pull it), and
 * a Coons patch (the bilinear blend of the four sides) spreads them inside, so a fixture
 * lit unevenly is followed across the view. *noise gets the spread of the picture's outer
 * pixels about their profile (1.4826 x MAD). RV_EFORMAT when no side shows the fixture. */
#define S_EDGE 3
#define S_MEDIAN 15
static int s_fixture(const rv_view_t *v, const rv_view_t *nd, const rv_view_t *bg,
                     double *noise)
{
    int w = v->width, h = v->height, rc = RV_OK, len = w > h ? w : h;
    float *raw = malloc(sizeof(float) * (size_t) len), *outer[4] = {NULL};
    float *side[4]; /* top, bottom (w), left, right (h) */
    for (int i = 0; i < 4; i++) {
        side[i] = malloc(sizeof(float) * (size_t) (i < 2 ? w : h));
        outer[i] = malloc(sizeof(float) * (size_t) (i < 2 ? w : h));
    }
    if (!raw || !side[0] || !side[1] || !side[2] || !side[3] || !outer[0] || !outer[1] ||
        !outer[2] || !outer[3]) {
        rc = rv_fail(RV_ENOMEM, "rv_align", "out of memory");
        goto out;
    }
    double all = 0;
    size_t nall = 0;
    for (int s = 0; s < 4; s++) {
        int n = s < 2 ? w : h, depth = s < 2 ? h : w;
        for (int i = 0; i < n; i++) {
            int sum = 0, got = 0;
            raw[i] = outer[s][i] = NAN;
            for (int d = 0; d < depth / 2 && got < S_EDGE; d++) {
                int x = s < 2 ? i : s == 2 ? d : w - 1 - d;
                int y = s >= 2 ? i : s == 0 ? d : h - 1 - d;
                if (nd && rv_view_row(nd, y)[x])
                    continue;
                if (!got)
                    outer[s][i] = rv_view_row(v, y)[x];
                sum += rv_view_row(v, y)[x];
                got++;
            }
            if (got == S_EDGE) {
                raw[i] = (float) sum / S_EDGE;
                all += raw[i];
                nall++;
            }
        }
        s_running_median(raw, n, S_MEDIAN / 2, side[s]);
    }
    if (!nall) {
        rc = rv_fail(RV_EFORMAT, "rv_align", "no fixture visible along the view's border");
        goto out;
    }
    for (int s = 0; s < 4; s++)
        s_fill_gaps(side[s], s < 2 ? w : h, (float) (all / nall));
    /* the outer pixels' spread about their profiles */
    uint32_t hist[256] = {0}, cnt = 0;
    for (int s = 0; s < 4; s++) {
        int n = s < 2 ? w : h;
        for (int i = 0; i < n; i++) {
            if (isnan(outer[s][i]))
                continue;
            int d = (int) lroundf(fabsf(outer[s][i] - side[s][i]));
            hist[d > 255 ? 255 : d]++;
            cnt++;
        }
    }
    int med = 0;
    for (uint32_t acc = 0; med < 255 && (acc += hist[med]) * 2 < cnt; med++)
        ;
    *noise = 1.4826 * (med + 0.5);
    const float *t = side[0], *b = side[1], *l = side[2], *r = side[3];
    float p00 = (t[0] + l[0]) / 2, p10 = (t[w - 1] + r[0]) / 2;
    float p01 = (b[0] + l[h - 1]) / 2, p11 = (b[w - 1] + r[h - 1]) / 2;
    for (int y = 0; y < h; y++) {
        float q = h > 1 ? (float) y / (float) (h - 1) : 0;
        uint8_t *o = rv_view_row(bg, y);
        for (int x = 0; x < w; x++) {
            float u = w > 1 ? (float) x / (float) (w - 1) : 0;
            float val = (1 - q) * t[x] + q * b[x] + (1 - u) * l[y] + u * r[y] -
                        ((1 - u) * (1 - q) * p00 + u * (1 - q) * p10 + (1 - u) * q * p01 +
                         u * q * p11);
            o[x] = (uint8_t) (val < 0 ? 0 : val > 255 ? 255 : lroundf(val));
        }
    }
out:
    free(raw);
    for (int i = 0; i < 4; i++) {
        free(side[i]);
        free(outer[i]);
    }
    return rc;
}

/* The pixels outside the picture: exact zeros joined to the view's border (what a warp
 * fills in where its source ends), grown by S_NODATA_GROW px for the interpolated ramp
 * beside them, into nd. *any = 0 when there are none (nd is then left as it was). */
#define S_NODATA_GROW 5
static int s_nodata(const rv_view_t *v, const rv_view_t *nd, int *any)
{
    int w = v->width, h = v->height, rc;
    *any = 0;
    for (int x = 0; x < w && !*any; x++)
        *any = !rv_view_row(v, 0)[x] || !rv_view_row(v, h - 1)[x];
    for (int y = 0; y < h && !*any; y++)
        *any = !rv_view_row(v, y)[0] || !rv_view_row(v, y)[w - 1];
    if (!*any)
        return RV_OK;
    rv_image_t *z = rv_image_new(w, h, RV_GRAY8);
    if (!z)
        return rv_fail(RV_ENOMEM, "rv_align", "out of memory");
    rv_view_t zv = rv_image_view(z);
    for (int y = 0; y < h; y++) {
        const uint8_t *a = rv_view_row(v, y);
        uint8_t *b = rv_view_row(&zv, y);
        for (int x = 0; x < w; x++)
            b[x] = a[x] ? 0 : 255;
    }
    rv_blobs_t bl;
    if ((rc = rv_components(&zv, 8, 1, &bl)) == RV_OK) {
        for (size_t i = 0; i < bl.nruns; i++) {
            const rv_run_t *r = &bl.runs[i];
            const rv_blob_t *b = &bl.items[r->blob];
            if (b->x0 > 0 && b->y0 > 0 && b->x1 < w - 1 && b->y1 < h - 1)
                memset(rv_view_row(&zv, r->y) + r->x0, 0, (size_t) (r->x1 - r->x0));
        }
        rv_blobs_free(&bl);
        rc = rv_dilate_rect(&zv, nd, 2 * S_NODATA_GROW + 1, 2 * S_NODATA_GROW + 1);
    }
    rv_image_destroy(&z);
    return rc;
}

/* Clear the 8-connected pieces of a mask smaller than min_area pixels. */
static int s_drop_small(const rv_view_t *m, uint32_t min_area)
{
    rv_blobs_t bl;
    int rc = rv_components(m, 8, min_area, &bl);
    if (rc != RV_OK)
        return rc;
    for (size_t i = 0; i < bl.nruns; i++) {
        const rv_run_t *r = &bl.runs[i];
        if (r->blob == UINT32_MAX)
            memset(rv_view_row(m, r->y) + r->x0, 0, (size_t) (r->x1 - r->x0));
    }
    rv_blobs_free(&bl);
    return RV_OK;
}

/* A solid part's silhouette is its outer outline: every hole (a region of fixture grey
 * not reached from the view's border) becomes part (rv_fill_holes), and only the largest
 * piece stays. */
static int s_solid(const rv_view_t *m)
{
    rv_blobs_t bl;
    int rc = rv_fill_holes(m);
    if (rc == RV_OK)
        rc = rv_components(m, 8, 1, &bl);
    if (rc == RV_OK) {
        size_t big = 0;
        for (size_t i = 1; i < bl.count; i++)
            if (bl.items[i].area > bl.items[big].area)
                big = i;
        for (size_t i = 0; i < bl.nruns; i++) {
            const rv_run_t *r = &bl.runs[i];
            if (r->blob != big)
                memset(rv_view_row(m, r->y) + r->x0, 0, (size_t) (r->x1 - r->x0));
        }
        rv_blobs_free(&bl);
    }
    return rc;
}

/* The silhouette of a part on a contrasting fixture: Otsu's threshold, the class that
 * touches the border least is the part, and the threshold moved half-way towards the
 * background class's mean. */
static rv_image_t *s_mask_otsu(const rv_view_t *small, const uint32_t hist[256], int thr,
                               size_t *on)
{
    rv_image_t *mask = rv_image_new(small->width, small->height, RV_GRAY8);
    if (!mask)
        return NULL;
    rv_view_t m = rv_image_view(mask);
    size_t count = 0;
    /* bright pixels on the border (above Otsu's threshold): when most of the border is
     * bright, the part is dark. Read off the view itself; only the final mask is made. */
    size_t border = 0, bright = 0;
    for (int x = 0; x < m.width; x++) {
        bright += rv_view_row(small, 0)[x] > thr;
        bright += rv_view_row(small, m.height - 1)[x] > thr;
        border += 2;
    }
    for (int y = 0; y < m.height; y++) {
        bright += rv_view_row(small, y)[0] > thr;
        bright += rv_view_row(small, y)[m.width - 1] > thr;
        border += 2;
    }
    /* The part's own shading (highlights, dark flanks, keyways) must not decide its
     * outline: move the threshold halfway from Otsu's towards the background class's
     * mean, so that every lit part of the surface counts as part whatever the lighting. */
    int part_dark = bright * 2 > border;
    double bsum = 0, bn = 0;
    for (int i = 0; i < 256; i++)
        if (part_dark ? i > thr : i <= thr) {
            bsum += (double) i * hist[i];
            bn += hist[i];
        }
    int t2 = bn > 0 ? (int) lround((thr + bsum / bn) / 2.0) : thr;
    rv_threshold(small, &m, (uint8_t) (t2 < 0 ? 0 : t2 > 254 ? 254 : t2), &count);
    *on = count;
    if (part_dark) {
        for (int y = 0; y < m.height; y++) {
            uint8_t *r = rv_view_row(&m, y);
            for (int x = 0; x < m.width; x++)
                r[x] = (uint8_t) ~r[x];
        }
        *on = (size_t) m.width * (size_t) m.height - count;
    }
    return mask;
}

/* The silhouette of a solid part (rv_align_params_t.solid): every pixel that differs from
 * the empty fixture (s_fixture) by more than S_K times the fixture's own noise, and at
 * least S_MIN_DIFF grey levels, in either direction, since a part may hold surfaces both
 * darker (cavities, shadowed flanks) and lighter (polished metal) than its fixture, whose
 * grey then lies between them (one threshold, Otsu's, splits the part there instead of at
 * its outline: the cast impeller's dark vane cavity came out as the part); and every edge
 * as strong; specks dropped, closed with a small disc, holes filled, the largest piece
 * kept (s_solid). */
#define S_K 6.0
#define S_MIN_DIFF 16
#define S_MIN_EDGE 8
#define S_SPECK 4000 /* pieces under 1/S_SPECK of the view are specks */
static rv_image_t *s_mask_fixture(const rv_view_t *small)
{
    int w = small->width, h = small->height;
    rv_image_t *mask = rv_image_new(w, h, RV_GRAY8), *sm = rv_image_new(w, h, RV_GRAY8),
               *bg = rv_image_new(w, h, RV_GRAY8), *nd = rv_image_new(w, h, RV_GRAY8);
    if (!mask || !sm || !bg || !nd) {
        rv_image_destroy(&mask);
        rv_image_destroy(&sm);
        rv_image_destroy(&bg);
        rv_image_destroy(&nd);
        rv_fail(RV_ENOMEM, "rv_align", "out of memory");
        return NULL;
    }
    rv_view_t m = rv_image_view(mask), smv = rv_image_view(sm), bgv = rv_image_view(bg),
              ndv = rv_image_view(nd);
    double noise = 0;
    int any_nd = 0;
    int rc = s_nodata(small, &ndv, &any_nd);
    if (rc == RV_OK)
        rc = rv_box_blur(small, &smv, 3);
    if (rc == RV_OK)
        rc = s_fixture(&smv, any_nd ? &ndv : NULL, &bgv, &noise);
    if (rc == RV_OK) {
        int thr = (int) ceil(fmax(S_K * noise, S_MIN_DIFF));
        int ethr = (int) ceil(fmax(S_K * noise, S_MIN_EDGE));
        rc = rv_absdiff(&smv, &bgv, &bgv);
        if (rc == RV_OK)
            rc = rv_threshold(&bgv, &bgv, (uint8_t) (thr > 254 ? 254 : thr), NULL);
        /* and every edge as strong: the part's outline where its face matches the
         * fixture's grey (a chamfer, a shadow line) */
        if (rc == RV_OK)
            rc = rv_sobel_mag(&smv, &m);
        if (rc == RV_OK)
            rc = rv_threshold(&m, &m, (uint8_t) (ethr > 254 ? 254 : ethr), NULL);
        if (rc == RV_OK)
            rc = rv_max(&m, &bgv, &smv);
        if (rc == RV_OK && any_nd) /* outside the picture: never part */
            rc = rv_sub_sat(&smv, &ndv, &smv);
        /* specks of the fixture go; thin lines joined to the part (a dark outline where
         * the part's face matches the fixture) stay and the closing joins them */
        if (rc == RV_OK)
            rc = s_drop_small(&smv, (uint32_t) ((size_t) w * h / S_SPECK + 1));
        if (rc == RV_OK)
            rc = rv_close_disc(&smv, &m, 5);
        if (rc == RV_OK && any_nd)
            rc = rv_sub_sat(&m, &ndv, &m);
        if (rc == RV_OK)
            rc = s_solid(&m);
    }
    rv_image_destroy(&sm);
    rv_image_destroy(&bg);
    rv_image_destroy(&nd);
    if (rc != RV_OK)
        rv_image_destroy(&mask);
    return mask;
}

/* Silhouette of a small view (s_mask_otsu, or s_mask_fixture for a solid part). Returns
 * the mask and its moments, or fails with a reason. */
static rv_image_t *s_silhouette(const rv_view_t *small, const rv_align_params_t *p,
                                double *area, double *cx, double *cy)
{
    uint32_t hist[256];
    rv_histogram(small, hist);
    double mean, std;
    int thr = s_otsu(hist, &mean, &std);
    if (std < p->min_std) {
        rv_fail(RV_EFORMAT, "rv_align",
                "blank or saturated image (gray mean %.0f, standard deviation %.1f)", mean, std);
        return NULL;
    }
    size_t counted = SIZE_MAX; /* the mask's pixels, where the threshold counted them */
    rv_image_t *mask =
        p->solid ? s_mask_fixture(small) : s_mask_otsu(small, hist, thr, &counted);
    if (!mask)
        return NULL;
    rv_view_t m = rv_image_view(mask);
    /* integer sums per row (branch-free, vectorisable); the totals are the exact integers
     * the moments are made of. Without cx (the part mask of an aligned view) only the area
     * is wanted, and the threshold counted it. */
    uint64_t ai = counted, sxi = 0, syi = 0;
    for (int y = 0; (cx || counted == SIZE_MAX) && y < m.height; y++) {
        const uint8_t *r = rv_view_row(&m, y);
        uint32_t cnt = 0;
        uint64_t rx = 0;
        for (int x = 0; x < m.width; x++) {
            uint32_t on = r[x] & 1u; /* the mask is 0 or 255 */
            cnt += on;
            rx += on * (uint32_t) x;
        }
        ai = y ? ai + cnt : cnt;
        sxi += rx;
        syi += (uint64_t) cnt * (uint64_t) y;
    }
    double a = (double) ai, sx = (double) sxi, sy = (double) syi;
    double frac = a / ((double) m.width * m.height);
    if (frac < p->min_part) {
        rv_image_destroy(&mask);
        rv_fail(RV_EFORMAT, "rv_align",
                "no part in the view (the part covers %.1f %% of it; empty fixture?)",
                100 * frac);
        return NULL;
    }
    *area = a;
    if (cx) {
        *cx = sx / a;
        *cy = sy / a;
    }
    return mask;
}

static int s_factor(int width, int work_width)
{
    int f = (int) lround((double) width / work_width);
    return f < 1 ? 1 : f;
}

static void s_compose(const double a[2][3], const double b[2][3], double c[2][3]);

/* The edge refinement. The silhouette's outline is where the part's grey departs from the
 * fixture's, and a lamp moves it: a turned shaft's shaded flank is as dark as the fixture
 * under some lights, and its Otsu outline then runs several px inside the part (docs/eval.md,
 * clean generated cores). The part's edges themselves do not move with the light, only
 * their contrast does; and where an edge is a ridge of gradient magnitude, a ridge of
 * another height peaks at the same place. So the silhouette's fit is refined on gradient
 * magnitude (Gaussian 5x5, then Sobel) in a band along the reference silhouette's outline
 * (the outline and the steps along it; not the surface, whose marks and codes differ from
 * part to part): Lucas-Kanade, rotation and shift (or affine), first on the downscaled
 * copies (S_BAND_SMALL px either side; its reach is the silhouette's error), then at about
 * S_FINE_WIDTH px across (S_BAND px either side, every second pixel), reading the view
 * where it lies (no warp). */
#define S_FINE_WIDTH 1400
#define S_BAND 12
#define S_BAND_SMALL 5
#define S_MAX_MOVE 4.0 /* small px: a refinement that moves the part further is not one */
#define S_EDGE_PASSES 6 /* the outline edges' correction: at most this many passes */
/* px: the least correction applied. Over 40 unseen clean cores per shape (seeds 700000..
 * and 810000..), 0.3 keeps the shafts and housings at their edge fit's 0.08-0.10 px mean
 * error while the discs go from 0.93-0.97 to 0.11 (applied always: shafts and housings
 * 0.10-0.12; from 0.5 px: discs 0.17, from 1 px: 0.25) */
#define S_EDGE_GATE 0.3

/* Gradient magnitude of g (GRAY8) into a new image. */
static rv_image_t *s_edges(const rv_view_t *g)
{
    rv_image_t *a = rv_image_new(g->width, g->height, RV_GRAY8),
               *b = rv_image_new(g->width, g->height, RV_GRAY8);
    rv_view_t av = a ? rv_image_view(a) : (rv_view_t) {0}, bv = b ? rv_image_view(b) : av;
    if (!a || !b || rv_gauss5(g, &av) != RV_OK || rv_sobel_mag(&av, &bv) != RV_OK)
        rv_image_destroy(&b);
    rv_image_destroy(&a);
    return b;
}

/* The edge template of a gray view in a band of half-width band px along the outline of
 * mask (GRAY8, the view's size), on every step-th pixel. */
static rv_lk_template_t *s_edge_template(const rv_view_t *gray, const rv_view_t *mask,
                                         int band, int step, int affine, int box[4])
{
    rv_lk_template_t *t = NULL;
    rv_image_t *e = s_edges(gray), *out = rv_image_new(gray->width, gray->height, RV_GRAY8),
               *in = rv_image_new(gray->width, gray->height, RV_GRAY8);
    if (e && out && in) {
        rv_view_t ev = rv_image_view(e), ov = rv_image_view(out), iv = rv_image_view(in);
        if (rv_dilate_rect(mask, &ov, 2 * band + 1, 2 * band + 1) == RV_OK &&
            rv_erode_rect(mask, &iv, 2 * band + 1, 2 * band + 1) == RV_OK &&
            rv_sub_sat(&ov, &iv, &ov) == RV_OK)
            t = rv_lk_template_new_masked(&ev, &ov, affine, step);
        box[0] = ov.width, box[1] = ov.height, box[2] = box[3] = 0;
        for (int y = 0; t && y < ov.height; y++) {
            const uint8_t *r = rv_view_row(&ov, y);
            for (int x = 0; x < ov.width; x++)
                if (r[x]) {
                    box[0] = x < box[0] ? x : box[0];
                    box[2] = x + 1 > box[2] ? x + 1 : box[2];
                    box[1] = y < box[1] ? y : box[1];
                    box[3] = y + 1;
                }
        }
    } else {
        rv_fail(RV_ENOMEM, "rv_align_ref_new", "out of memory");
    }
    rv_image_destroy(&e);
    rv_image_destroy(&out);
    rv_image_destroy(&in);
    return t;
}

/* The fine template: the reference at ffac, the band along the small silhouette's outline
 * carried to that scale (elk[1] stays NULL when that band has no gradient). RV_ENOMEM, or
 * RV_OK. */
static int s_fine_ref(rv_align_ref_t *self, const rv_view_t *ref_gray)
{
    self->ffac = s_factor(ref_gray->width, S_FINE_WIDTH);
    rv_image_t *fine = s_downscale(ref_gray, self->ffac), *mf = NULL;
    if (!fine)
        return RV_EFORMAT;
    rv_view_t fv = rv_image_view(fine), sm = rv_image_view(self->mask);
    self->fw = fv.width;
    self->fh = fv.height;
    int rc = RV_ENOMEM;
    if ((mf = rv_image_new(fv.width, fv.height, RV_GRAY8))) {
        rv_view_t mv = rv_image_view(mf);
        /* small px i is full px F i + (F-1)/2, fine px j is full px f j + (f-1)/2 */
        double F = self->factor, f = self->ffac, k = F / f, o = ((F - 1) / 2 - (f - 1) / 2) / f;
        double up[2][3] = {{k, 0, o}, {0, k, o}};
        rc = rv_cv_warp_affine(&sm, &mv, up, RV_CV_INTER_NEAREST);
        if (rc == RV_OK)
            self->elk[1] = s_edge_template(&fv, &mv, S_BAND, 2, self->p.affine, self->ebox[1]);
    } else {
        rv_fail(RV_ENOMEM, "rv_align_ref_new", "out of memory");
    }
    rv_image_destroy(&fine);
    rv_image_destroy(&mf);
    return rc;
}

/* 2x3 inverse; 0 when singular. */
static int s_invert23(const double a[2][3], double o[2][3])
{
    double det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
    if (!isfinite(det) || fabs(det) < 1e-12)
        return 0;
    o[0][0] = a[1][1] / det, o[0][1] = -a[0][1] / det;
    o[1][0] = -a[1][0] / det, o[1][1] = a[0][0] / det;
    o[0][2] = -(o[0][0] * a[0][2] + o[0][1] * a[1][2]);
    o[1][2] = -(o[1][0] * a[0][2] + o[1][1] * a[1][2]);
    return 1;
}

/* How far b moves the corners of a w x h frame from where a puts them (a, b: view ->
 * frame). */
static double s_moved(const double a[2][3], const double b[2][3], int w, int h)
{
    double ai[2][3], worst = 0;
    if (!s_invert23(a, ai))
        return INFINITY;
    for (int q = 0; q < 4; q++) {
        double x = (q & 1) * (w - 1), y = (q >> 1) * (h - 1);
        double vx = ai[0][0] * x + ai[0][1] * y + ai[0][2], vy = ai[1][0] * x + ai[1][1] * y + ai[1][2];
        double nx = b[0][0] * vx + b[0][1] * vy + b[0][2], ny = b[1][0] * vx + b[1][1] * vy + b[1][2];
        worst = fmax(worst, hypot(nx - x, ny - y));
    }
    return worst;
}

/* Register the edges of view (GRAY8 at the template's scale) to t, starting from m
 * (view -> template frame); m is replaced when the fit converged within max_move px.
 * Only the part of the view that the template's band box (tbox) maps to, with a margin,
 * is read. */
#define S_FIT_MARGIN 8
static int s_edge_fit(const rv_lk_template_t *t, const int tbox[4], const rv_view_t *view,
                      double m[2][3], int w, int h, double max_move)
{
    double init[2][3], fit[2][3];
    if (!t || !s_invert23(m, init))
        return 0;
    double bx0 = INFINITY, by0 = INFINITY, bx1 = -INFINITY, by1 = -INFINITY;
    for (int q = 0; q < 4; q++) {
        double x = tbox[q & 1 ? 2 : 0], y = tbox[q >> 1 ? 3 : 1];
        double vx = init[0][0] * x + init[0][1] * y + init[0][2];
        double vy = init[1][0] * x + init[1][1] * y + init[1][2];
        bx0 = fmin(bx0, vx), bx1 = fmax(bx1, vx), by0 = fmin(by0, vy), by1 = fmax(by1, vy);
    }
    int x0 = (int) fmax(0, floor(bx0) - S_FIT_MARGIN), y0 = (int) fmax(0, floor(by0) - S_FIT_MARGIN);
    int x1 = (int) fmin(view->width, ceil(bx1) + S_FIT_MARGIN);
    int y1 = (int) fmin(view->height, ceil(by1) + S_FIT_MARGIN);
    rv_view_t sub;
    if (x1 - x0 < 16 || y1 - y0 < 16 || rv_view_roi(view, x0, y0, x1 - x0, y1 - y0, &sub) != RV_OK)
        return 0;
    init[0][2] -= x0;
    init[1][2] -= y0;
    rv_image_t *e = s_edges(&sub);
    int ok = e != NULL;
    if (ok) {
        rv_view_t ev = rv_image_view(e);
        ok = rv_lk_register_from(t, &ev, init, 30, 1e-2, fit, NULL, NULL) == RV_OK;
        /* back to the whole view's px: x_sub = x - (x0, y0) */
        for (int i = 0; ok && i < 2; i++)
            fit[i][2] -= fit[i][0] * x0 + fit[i][1] * y0;
        ok = ok && s_moved(m, fit, w, h) <= max_move;
    }
    rv_image_destroy(&e);
    if (ok)
        memcpy(m, fit, sizeof fit);
    return ok;
}

/* The fine step on m (view full px -> reference full px); 1 when it moved m. */
static int s_refine_fine(const rv_align_ref_t *ref, const rv_view_t *view, double m[2][3])
{
    if (!ref->elk[1])
        return 0;
    int fv = (int) lround((double) ref->ffac * view->width / ref->width);
    fv = fv < 1 ? 1 : fv;
    rv_image_t *vf = fv > 1 ? s_downscale(view, fv) : NULL; /* fv 1: the view itself */
    if (fv > 1 && !vf)
        return 0;
    rv_view_t vfv = vf ? rv_image_view(vf) : *view;
    /* W: fine view px -> fine reference px = Sr^-1 m Sv */
    double rf = ref->ffac, cr = (rf - 1) / 2, cv = (fv - 1) / 2.0;
    double sv[2][3] = {{fv, 0, cv}, {0, fv, cv}};
    double sri[2][3] = {{1 / rf, 0, -cr / rf}, {0, 1 / rf, -cr / rf}};
    double t[2][3], W[2][3];
    s_compose(m, sv, t);
    s_compose(sri, t, W);
    int ok = s_edge_fit(ref->elk[1], ref->ebox[1], &vfv, W, ref->fw, ref->fh,
                        S_MAX_MOVE * ref->factor / rf / 2);
    if (ok) {
        /* m = Sr W Sv^-1 */
        double sr[2][3] = {{rf, 0, cr}, {0, rf, cr}};
        double svi[2][3] = {{1.0 / fv, 0, -cv / fv}, {0, 1.0 / fv, -cv / fv}};
        s_compose(W, svi, t);
        s_compose(sr, t, m);
    }
    rv_image_destroy(&vf);
    return ok;
}

rv_align_ref_t *rv_align_ref_new(const rv_view_t *ref_gray, const rv_view_t *ref_part,
                                 const rv_align_params_t *params)
{
    if (!ref_gray || ref_gray->fmt != RV_GRAY8) {
        rv_fail(RV_EINVAL, "rv_align_ref_new", "the reference must be a gray8 view");
        return NULL;
    }
    rv_align_ref_t *self = calloc(1, sizeof *self);
    if (!self) {
        rv_fail(RV_ENOMEM, "rv_align_ref_new", "out of memory");
        return NULL;
    }
    if (params)
        self->p = *params;
    else
        rv_align_params_init(&self->p);
    self->width = ref_gray->width;
    self->height = ref_gray->height;
    self->factor = s_factor(ref_gray->width, self->p.work_width);
    self->small = s_downscale(ref_gray, self->factor);
    if (!self->small)
        goto fail;
    rv_view_t sv = rv_image_view(self->small);
    /* the reference silhouette is found exactly as a view's is, so the two compare */
    (void) ref_part;
    self->mask = s_silhouette(&sv, &self->p, &self->area, &self->cx, &self->cy);
    if (!self->mask || !(self->detail = s_detail(&sv)))
        goto fail;
    /* what rv_align needs of the reference every time: its soft silhouette and its
     * angular signature */
    rv_view_t rmv = rv_image_view(self->mask);
    float *sig = malloc(sizeof(float) * S_SECTORS * S_BANDS);
    self->sig2 = malloc(sizeof(double) * 2 * S_SECTORS * S_BANDS);
    if (!sig || !self->sig2 || !(self->soft = s_soft(&rmv))) {
        free(sig);
        rv_fail(RV_ENOMEM, "rv_align_ref_new", "out of memory");
        goto fail;
    }
    rv_view_t softv = rv_image_view(self->soft);
    if (!(self->lk = rv_lk_template_new(&softv, self->p.affine))) {
        free(sig);
        goto fail;
    }
    /* the edge templates; a reference whose outline band has no gradient at all (a drawn
     * master, a blank one) keeps the silhouettes' fit alone */
    self->elk[0] = s_edge_template(&sv, &rmv, S_BAND_SMALL, 1, self->p.affine, self->ebox[0]);
    if (self->elk[0] && s_fine_ref(self, ref_gray) == RV_ENOMEM) {
        free(sig);
        goto fail;
    }
    if (!(self->edges = rv_edge_pts_new(ref_gray, &rmv, self->factor))) {
        free(sig);
        goto fail;
    }
    s_polar(&rmv, self->cx, self->cy, self->area, sig);
    self->sig_max = 0;
    for (int i = 0; i < 2 * S_SECTORS * S_BANDS; i++) {
        self->sig2[i] = sig[i % (S_SECTORS * S_BANDS)];
        self->sig_max = fmax(self->sig_max, self->sig2[i]);
    }
    free(sig);
    if (self->sig_max <= INT16_MAX && (self->sig2_16 = malloc(sizeof(int16_t) * 2 * S_SECTORS * S_BANDS)))
        for (int i = 0; i < 2 * S_SECTORS * S_BANDS; i++)
            self->sig2_16[i] = (int16_t) self->sig2[i];
    return self;
fail:
    rv_align_ref_destroy(&self);
    return NULL;
}

void rv_align_ref_destroy(rv_align_ref_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rv_image_destroy(&(*self_p)->small);
    rv_image_destroy(&(*self_p)->mask);
    rv_image_destroy(&(*self_p)->detail);
    rv_image_destroy(&(*self_p)->soft);
    rv_lk_template_destroy(&(*self_p)->lk);
    rv_lk_template_destroy(&(*self_p)->elk[0]);
    rv_lk_template_destroy(&(*self_p)->elk[1]);
    free((*self_p)->sig2);
    free((*self_p)->sig2_16);
    rv_edge_pts_destroy(&(*self_p)->edges);
    free(*self_p);
    *self_p = NULL;
}

int rv_align_ref_width(const rv_align_ref_t *self)
{
    return self->width;
}

int rv_align_ref_height(const rv_align_ref_t *self)
{
    return self->height;
}

/* IoU of the view's small mask, carried by the small-scale transform, with the
 * reference's small mask. */
static double s_iou(const rv_align_ref_t *ref, const rv_view_t *vmask, const double m[2][3])
{
    rv_view_t rm = rv_image_view(ref->mask);
    rv_image_t *warped = rv_image_new(rm.width, rm.height, RV_GRAY8);
    if (!warped)
        return 0;
    rv_view_t wv = rv_image_view(warped);
    double iou = 0;
    if (rv_cv_warp_affine(vmask, &wv, m, RV_CV_INTER_NEAREST) == RV_OK) {
        /* both masks are 0 or 255 (nearest neighbour keeps them so): count bits, in
         * per-row integer sums the compiler can vectorise */
        size_t inter = 0, uni = 0;
        for (int y = 0; y < rm.height; y++) {
            const uint8_t *a = rv_view_row(&rm, y), *b = rv_view_row(&wv, y);
            uint32_t ri = 0, ru = 0;
            for (int x = 0; x < rm.width; x++) {
                ri += (uint32_t) (a[x] & b[x] & 1u);
                ru += (uint32_t) ((a[x] | b[x]) & 1u);
            }
            inter += ri;
            uni += ru;
        }
        iou = uni ? (double) inter / uni : 0;
    }
    rv_image_destroy(&warped);
    return iou;
}

/* atan(z) for 0 <= z <= 1 by a polynomial, within 1.7e-6 rad (1e-4 of a degree) of it. */
static inline double s_atan01(double z)
{
    double z2 = z * z;
    return z * (0.99997726 +
                z2 * (-0.33262347 +
                      z2 * (0.19354346 + z2 * (-0.11643287 + z2 * (0.05265332 + z2 * -0.01172120)))));
}

/* The one-degree sector of (dx, dy): (int) ((atan2(dy, dx) + pi) * 360 / 2 pi), capped at
 * 359. The polynomial decides it wherever its angle lies more than 1e-3 of a sector (ten
 * times its error) from a sector's edge; atan2 itself decides the rest (about one pixel in
 * 500), so every pixel lands in the sector atan2 gives, at a fraction of atan2's cost. */
static inline int s_sector(double dx, double dy)
{
    const double k = S_SECTORS / (2 * M_PI), tol = 1e-3;
    double ax = fabs(dx), ay = fabs(dy);
    if (ax > 0 || ay > 0) {
        double a = ax >= ay ? s_atan01(ay / ax) : M_PI_2 - s_atan01(ax / ay);
        a = dx < 0 ? M_PI - a : a;
        a = dy < 0 ? -a : a;
        double t = (a + M_PI) * k;
        int sec = (int) t;
        double fr = t - sec;
        if (fr > tol && fr < 1 - tol)
            return sec >= S_SECTORS ? S_SECTORS - 1 : sec;
    }
    int sec = (int) ((atan2(dy, dx) + M_PI) * k);
    return sec >= S_SECTORS ? S_SECTORS - 1 : sec;
}

/* Angular signature of a mask around (cx, cy): for each of 360 one-degree sectors and
 * S radial bands (radius in units of the silhouette's RMS radius, so scale cancels),
 * the share of mask pixels. */
static void s_polar(const rv_view_t *m, double cx, double cy, double area, float *sig)
{
    memset(sig, 0, sizeof(float) * S_SECTORS * S_BANDS);
    double r0 = sqrt(area / M_PI); /* the radius of a disc of the same area */
    for (int y = 0; y < m->height; y++) {
        const uint8_t *row = rv_view_row(m, y);
        for (int x = 0; x < m->width; x++) {
            if (!row[x])
                continue;
            double dx = x - cx, dy = y - cy;
            int band = (int) (sqrt(dx * dx + dy * dy) / r0 * (S_BANDS / 2.0));
            if (band >= S_BANDS)
                band = S_BANDS - 1;
            sig[s_sector(dx, dy) * S_BANDS + band] += 1.0f;
        }
    }
}

/* The rotations (degrees, view -> reference) that best overlay the two signatures:
 * every local maximum within 10 % of the best (a part with n-fold symmetric holes has n
 * such peaks; the texture check picks among them), and the best one's opposite (elongated
 * parts look alike turned end for end). At most S_MAX_CAND. */
#define S_MAX_CAND 10
static int s_rotations(const float *view, const rv_align_ref_t *ref, int cand[S_MAX_CAND])
{
    static _Thread_local double score[S_SECTORS], a[S_SECTORS * S_BANDS];
    static _Thread_local int16_t a16[S_SECTORS * S_BANDS];
    /* The entries are pixel counts, so every product and every partial sum is an integer:
     * the dot products are exact in any order. Where every count fits 16 bits and no sum
     * can pass 2^31 (the view's total times the reference's largest count), they are
     * summed as 32-bit integers (16-bit multiply-adds the compiler vectorises); otherwise
     * in doubles (exact below 2^53), over the doubled reference with four accumulators.
     * Both give the same integers. */
    const int len = S_SECTORS * S_BANDS;
    double total = 0, vmax = 0;
    for (int i = 0; i < len; i++) {
        total += view[i];
        vmax = fmax(vmax, view[i]);
    }
    if (ref->sig2_16 && vmax <= INT16_MAX && total * ref->sig_max < 2147483647.0) {
        for (int i = 0; i < len; i++)
            a16[i] = (int16_t) view[i];
        for (int shift = 0; shift < S_SECTORS; shift++) {
            const int16_t *b = ref->sig2_16 + shift * S_BANDS;
            int32_t d = 0;
            for (int i = 0; i < len; i++)
                d += (int32_t) a16[i] * b[i];
            score[shift] = d;
        }
    } else {
        for (int i = 0; i < len; i++)
            a[i] = view[i];
        for (int shift = 0; shift < S_SECTORS; shift++) {
            const double *b = ref->sig2 + shift * S_BANDS;
            double d0 = 0, d1 = 0, d2 = 0, d3 = 0;
            for (int i = 0; i < len; i += 4) {
                d0 += a[i] * b[i];
                d1 += a[i + 1] * b[i + 1];
                d2 += a[i + 2] * b[i + 2];
                d3 += a[i + 3] * b[i + 3];
            }
            score[shift] = (d0 + d1) + (d2 + d3);
        }
    }
    int best = 0;
    for (int i = 1; i < S_SECTORS; i++)
        if (score[i] > score[best])
            best = i;
    int n = 0;
    cand[n++] = best;
    cand[n++] = (best + S_SECTORS / 2) % S_SECTORS;
    /* the other peaks (local maxima over +-3 degrees), best first */
    int peaks[S_SECTORS], np = 0;
    for (int i = 0; i < S_SECTORS; i++) {
        if (i == best || i == cand[1] || score[i] < 0.9 * score[best])
            continue;
        int peak = 1;
        for (int d = -3; d <= 3 && peak; d++)
            if (d && score[(i + d + S_SECTORS) % S_SECTORS] > score[i])
                peak = 0;
        if (peak)
            peaks[np++] = i;
    }
    while (n < S_MAX_CAND && np > 0) {
        int arg = 0;
        for (int j = 1; j < np; j++)
            if (score[peaks[j]] > score[peaks[arg]])
                arg = j;
        cand[n++] = peaks[arg];
        peaks[arg] = peaks[--np];
    }
    return n;
}

/* Local detail of a small gray view: |gray - box mean over 15 px|, so that the texture
 * check below compares marks, holes and edges rather than the lamp's gradient and
 * highlights (which stay with the camera, not with the part). */
static rv_image_t *s_detail(const rv_view_t *small)
{
    rv_image_t *mean = rv_image_new(small->width, small->height, RV_GRAY8);
    rv_image_t *det = rv_image_new(small->width, small->height, RV_GRAY8);
    if (!mean || !det)
        goto fail;
    rv_view_t mv = rv_image_view(mean), dv = rv_image_view(det);
    if (rv_box_blur(small, &mv, 15) != RV_OK || rv_absdiff(small, &mv, &dv) != RV_OK)
        goto fail;
    rv_image_destroy(&mean);
    return det;
fail:
    rv_image_destroy(&mean);
    rv_image_destroy(&det);
    return NULL;
}

/* The candidate's score (5 x outline overlap + surface correlation, as s_iou and s_ncc
 * give them) on every second pixel of every second row of the reference, each looked up in
 * the view directly through the inverse transform (nearest pixel) instead of warping whole
 * images: a quarter of the pixels and no image written, enough to rank the candidates;
 * the chosen one's overlap is measured in full afterwards. */
static double s_rank_score(const rv_align_ref_t *ref, const rv_view_t *vmask,
                           const rv_view_t *vdetail, const double m[2][3])
{
    double inv[2][3]; /* view = inv(A) (ref - t) */
    if (!s_invert23(m, inv))
        return -1e9;
    double ia = inv[0][0], ib = inv[0][1], ic = inv[1][0], id = inv[1][1];
    double itx = inv[0][2], ity = inv[1][2];
    rv_view_t rm = rv_image_view(ref->mask), rd = rv_image_view(ref->detail);
    /* integer sums (exact in any order); a view pixel's index from its nearest-pixel
     * coordinates, the mask read through an index that is 0 off the view (the view's first
     * pixel, its value then dropped by the mask bit): no branch on the pixel's place */
    uint64_t inter = 0, uni = 0, n = 0, sa = 0, saa = 0, sb = 0, sbb = 0, sab = 0;
    const uint8_t *vm0 = rv_view_row(vmask, 0), *vd0 = vdetail ? rv_view_row(vdetail, 0) : NULL;
    const ptrdiff_t ms = vmask->stride, ds = vdetail ? vdetail->stride : 0;
    const unsigned vw = (unsigned) vmask->width, vh = (unsigned) vmask->height;
    for (int y = 0; y < rm.height; y += 2) {
        const uint8_t *a = rv_view_row(&rm, y), *b = rv_view_row(&rd, y);
        double ux = ib * y + itx + 0.5, uy = id * y + ity + 0.5;
        uint32_t ri = 0, ru = 0, rn = 0, ra = 0, raa = 0, rb = 0, rbb = 0, rab = 0;
        for (int x = 0; x < rm.width; x += 2) {
            /* floor(f + 0.5) as truncation of a positive number (a view is far smaller
             * than the offset) */
            int vx = (int) (ia * x + ux + 65536.0) - 65536, vy = (int) (ic * x + uy + 65536.0) - 65536;
            unsigned in = (unsigned) vx < vw && (unsigned) vy < vh;
            ptrdiff_t mi = in ? vy * ms + vx : 0, di = in ? vy * ds + vx : 0;
            unsigned vm = vm0[mi] & in, rmk = a[x] & 1u;
            ri += vm & rmk;
            ru += vm | rmk;
            if (rmk && vd0) {
                uint32_t av = in ? vd0[di] : 0, bv = b[x];
                rn++;
                ra += av;
                raa += av * av;
                rb += bv;
                rbb += bv * bv;
                rab += av * bv;
            }
        }
        inter += ri, uni += ru, n += rn;
        sa += ra, saa += raa, sb += rb, sbb += rbb, sab += rab;
    }
    double iou = uni ? (double) inter / (double) uni : 0, ncc = 0;
    if (vdetail && n > 0) {
        double nn = (double) n, dsa = (double) sa, dsb = (double) sb;
        double va = (double) saa - dsa * dsa / nn, vb = (double) sbb - dsb * dsb / nn;
        ncc = va > 0 && vb > 0 ? ((double) sab - dsa * dsb / nn) / sqrt(va * vb) : -1;
    }
    return 5 * iou + ncc;
}

/* c = a o b for 2x3 affine transforms (apply b first). */
static void s_compose(const double a[2][3], const double b[2][3], double c[2][3])
{
    for (int i = 0; i < 2; i++) {
        c[i][0] = a[i][0] * b[0][0] + a[i][1] * b[1][0];
        c[i][1] = a[i][0] * b[0][1] + a[i][1] * b[1][1];
        c[i][2] = a[i][0] * b[0][2] + a[i][1] * b[1][2] + a[i][2];
    }
}

static rv_image_t *s_soft(const rv_view_t *mask)
{
    rv_image_t *a = rv_image_new(mask->width, mask->height, RV_GRAY8);
    if (!a)
        return NULL;
    rv_view_t av = rv_image_view(a);
    if (rv_box_blur(mask, &av, 7) != RV_OK)
        rv_image_destroy(&a);
    return a;
}

int rv_align(const rv_align_ref_t *ref, const rv_view_t *gray, rv_align_result_t *out)
{
    if (!ref || !gray || gray->fmt != RV_GRAY8)
        return rv_fail(RV_EINVAL, "rv_align", "needs a reference and a gray8 view");
    return rv_align_rgb(ref, gray, out);
}

int rv_align_rgb(const rv_align_ref_t *ref, const rv_view_t *gray, rv_align_result_t *out)
{
    const char *domain = "rv_align";
    if (!ref || !gray || (gray->fmt != RV_GRAY8 && gray->fmt != RV_RGB8))
        return rv_fail(RV_EINVAL, domain, "needs a reference and a gray8 or RGB8 view");
    memset(out, 0, sizeof *out);
    int rc = RV_OK;
    int f = s_factor(gray->width, ref->p.work_width);
    /* an RGB view's gray is made once: the small copy averages it, the fine step reads it */
    rv_image_t *gimg = gray->fmt == RV_RGB8 ? s_gray_of(gray) : NULL;
    if (gray->fmt == RV_RGB8 && !gimg)
        return RV_ENOMEM;
    rv_view_t gv = gimg ? rv_image_view(gimg) : *gray;
    gray = &gv;
    rv_image_t *small = s_downscale(gray, f), *vmask = NULL, *pre = NULL, *soft_v = NULL,
               *vdetail = NULL;
    float *sig = NULL;
    if (!small) {
        rv_image_destroy(&gimg);
        return RV_EFORMAT;
    }

    rv_view_t sv = rv_image_view(small), rmv = rv_image_view(ref->mask);
    double area, cx, cy;
    vmask = s_silhouette(&sv, &ref->p, &area, &cx, &cy);
    if (!vmask) {
        rc = RV_EFORMAT;
        goto out;
    }
    rv_view_t mv = rv_image_view(vmask);

    /* 1. The scale is the camera's, not the part's: a worn or undersized part must keep
     * its size, or no dimension could be measured. A view covering the master's field of
     * view with w pixels maps by ref_width / w. The silhouette's moments only check it
     * (a part far larger or smaller than expected is the wrong part, or at the wrong
     * distance); translation comes from the moments, rotation from the signature. */
    double expected = (double) ref->width / gray->width;
    /* small px are f (view) and ref->factor (reference) full px: the area ratio of the
     * small silhouettes times ref->factor / f is the full-size scale */
    double seen = sqrt(ref->area / area) * ref->factor / (double) f;
    out->scale = expected;
    if (seen / expected < ref->p.min_scale || seen / expected > ref->p.max_scale) {
        rc = rv_fail(RV_EFORMAT, domain,
                     "the part appears at scale %.2f of the reference where the camera gives "
                     "%.2f: wrong part, wrong view or wrong distance",
                     seen, expected);
        goto out;
    }
    /* affine: the part's own size (its silhouette's area) starts the fit, the refinement fits
     * scale and tilt */
    double k = (ref->p.affine ? seen : expected) * (double) f / ref->factor;
    sig = malloc(sizeof(float) * S_SECTORS * S_BANDS);
    if (!sig) {
        rc = rv_fail(RV_ENOMEM, domain, "out of memory");
        goto out;
    }
    int cand[S_MAX_CAND] = {0};
    int ncand = 1; /* a round part whose rotation is not fitted: the view's own */
    if (ref->p.rotate) {
        s_polar(&mv, cx, cy, area, sig);
        ncand = s_rotations(sig, ref, cand);
    }
    pre = rv_image_new(rmv.width, rmv.height, RV_GRAY8);
    if (!pre) {
        rc = rv_fail(RV_ENOMEM, domain, "out of memory");
        goto out;
    }
    rv_view_t pv = rv_image_view(pre);
    vdetail = ncand > 1 ? s_detail(&sv) : NULL; /* one candidate: nothing to rank */
    rv_view_t vd = vdetail ? rv_image_view(vdetail) : sv;
    /* rank the candidate rotations by the unrefined guess (cheap), then refine the best */
    double ms[2][3], best_score = -1e9;
    for (int ci = 0; ci < ncand; ci++) {
        /* signature shift s means view sector i matches reference sector i + s */
        double rot = cand[ci] * M_PI / 180.0;
        double c = cos(rot) * k, sn = sin(rot) * k;
        double guess[2][3] = {{c, -sn, ref->cx - (c * cx - sn * cy)},
                              {sn, c, ref->cy - (sn * cx + c * cy)}};
        if (ncand == 1) {
            memcpy(ms, guess, sizeof ms);
            break;
        }
        /* the outline first, the surface among equals */
        double score = s_rank_score(ref, &mv, vdetail ? &vd : NULL, guess);
        if (score > best_score) {
            best_score = score;
            memcpy(ms, guess, sizeof ms);
        }
    }
    out->method = "silhouette";
    /* refine on the soft silhouettes (inverse-compositional Lucas-Kanade on the outline
     * band: rotation and shift, the scale being the camera's; or affine where it varies),
     * starting from the best guess */
    if (rv_cv_warp_affine(&mv, &pv, ms, RV_CV_INTER_LINEAR) == RV_OK &&
        (soft_v = rv_image_new(rmv.width, rmv.height, RV_GRAY8))) {
        rv_view_t a = rv_image_view(soft_v);
        double tm[2][3], score = 0;
        if (rv_box_blur(&pv, &a, 7) == RV_OK &&
            rv_lk_register(ref->lk, &a, 50, 1e-3, tm, &score, NULL) == RV_OK && score > 0.9) {
            double refined[2][3];
            s_compose(tm, ms, refined);
            memcpy(ms, refined, sizeof ms);
            out->method = "silhouette+lk";
        }
    }
    /* the silhouettes' overlap where they fit each other best: the shape check (wrong
     * part, view or pose). The edges then move the fit where the silhouettes' outlines
     * follow the lamp rather than the part, which lowers their overlap without the part
     * being any less the part */
    out->iou = s_iou(ref, &mv, ms);
    if (s_edge_fit(ref->elk[0], ref->ebox[0], &sv, ms, rmv.width, rmv.height, S_MAX_MOVE))
        out->method = "silhouette+edges";

    double det = ms[0][0] * ms[1][1] - ms[0][1] * ms[1][0];
    out->scale = sqrt(fabs(det)) * ref->factor / (double) f;
    out->angle_deg = atan2(ms[1][0], ms[0][0]) * 180.0 / M_PI;
    if (ref->p.affine) {
        /* the fitted transform must still be a view of the part: no mirror, a scale in
         * range, and axis scales (singular values) within max_aniso of each other */
        double a = ms[0][0], b = ms[0][1], c = ms[1][0], d = ms[1][1];
        double e = (a + d) / 2, ff = (a - d) / 2, g = (c + b) / 2, hh = (c - b) / 2;
        double q = hypot(e, hh), r = hypot(ff, g);
        double s1 = q + r, s2 = fabs(q - r);
        double rel = out->scale / expected;
        if (det <= 0 || s2 <= 0 || s1 / s2 > ref->p.max_aniso || rel < ref->p.min_scale ||
            rel > ref->p.max_scale) {
            rc = rv_fail(RV_EFORMAT, domain,
                         "the fitted transform is not a view of the part (scale %.2f, axis "
                         "ratio %.2f): wrong part, wrong view or wrong pose",
                         rel, s2 > 0 ? s1 / s2 : INFINITY);
            goto out;
        }
    }
    if (out->iou < ref->p.min_iou) {
        rc = rv_fail(RV_EFORMAT, domain,
                     "the outline does not match the reference (overlap %.2f < %.2f): wrong part, "
                     "wrong view or wrong pose",
                     out->iou, ref->p.min_iou);
        goto out;
    }
    /* full resolution: small pixel i covers full pixels f*i .. f*i+f-1 (centre f*i+(f-1)/2),
     * so x_small = (x - (f-1)/2) / f and x_ref = F (x_small' ) + (F-1)/2 */
    double kr = ref->factor, kv = f, cv0 = (kv - 1) / 2.0, cr0 = (kr - 1) / 2.0;
    for (int i = 0; i < 2; i++) {
        out->m[i][0] = ms[i][0] * kr / kv;
        out->m[i][1] = ms[i][1] * kr / kv;
        out->m[i][2] = kr * ms[i][2] + cr0 - (out->m[i][0] * cv0 + out->m[i][1] * cv0);
    }
    if (s_refine_fine(ref, gray, out->m))
        out->method = "silhouette+edges";
    rv_align_residual_t res;
    /* the last step: the rigid motion that the outline's grey edges say is left (points
     * placed on each edge's largest derivative, rv_align_edges.h) is undone, pass after
     * pass until it is under 0.02 px. The edges' gradient magnitude fitted above is pulled
     * by a bevel the lamp lights on one side only (the demo disc's rim, bore and bolt
     * holes: 0.93-0.97 px mean error on the part's box over 40 unseen discs, worst 3.35-3.86);
     * an edge's place across the outline is not (0.09-0.11, worst 0.23-0.29;
     * tests/app/test_align.c) */
    int moved = 0, stale = 1; /* stale: res was not measured at out->m */
    for (int it = 0; it < S_EDGE_PASSES; it++) {
        if ((rc = rv_edge_pts_measure(ref->edges, gray, out->m, &res)) != RV_OK)
            goto out;
        stale = 0;
        double th = res.turn_deg * M_PI / 180.0;
        if (res.median_px < 0 || hypot(res.shift_px[0], res.shift_px[1]) > 3.0 ||
            fabs(res.turn_deg) > 1.0)
            break;
        /* a motion that moves no part of the frame by S_EDGE_GATE is within the points'
         * own noise: the fit stays as the edges' magnitude left it; under 0.02 px the
         * passes have converged */
        double far = hypot(ref->width, ref->height) / 2 * fabs(th);
        double most = hypot(res.shift_px[0], res.shift_px[1]) + far;
        if ((it == 0 && most < S_EDGE_GATE) || most < 0.02)
            break;
        /* C: p -> R(-th) (p - c) + c - t, the motion undone; m = C m */
        double c = cos(th), sn = sin(th), ox = res.centre[0], oy = res.centre[1];
        double C[2][3] = {{c, sn, ox - c * ox - sn * oy - res.shift_px[0]},
                          {-sn, c, oy + sn * ox - c * oy - res.shift_px[1]}};
        double nm[2][3];
        s_compose(C, out->m, nm);
        memcpy(out->m, nm, sizeof nm);
        moved = stale = 1;
    }
    if (stale && (rc = rv_edge_pts_measure(ref->edges, gray, out->m, &res)) != RV_OK)
        goto out;
    if (moved)
        out->method = !strcmp(out->method, "silhouette+edges") ? "silhouette+edges+outline"
                      : !strcmp(out->method, "silhouette+lk") ? "silhouette+lk+outline"
                                                               : "silhouette+outline";
    out->residual_px = res.median_px;
    out->inliers = res.points;
    out->tx = out->m[0][2];
    out->ty = out->m[1][2];
    out->angle_deg = atan2(out->m[1][0], out->m[0][0]) * 180.0 / M_PI;
    /* identity when no corner of the reference frame moves by more than 0.05 px */
    double worst = 0;
    int cw[4][2] = {{0, 0}, {ref->width, 0}, {0, ref->height}, {ref->width, ref->height}};
    for (int q = 0; q < 4; q++) {
        double x = cw[q][0], y = cw[q][1];
        double dx = out->m[0][0] * x + out->m[0][1] * y + out->m[0][2] - x;
        double dy = out->m[1][0] * x + out->m[1][1] * y + out->m[1][2] - y;
        worst = fmax(worst, hypot(dx, dy));
    }
    out->identity = worst <= 0.05 && gray->width == ref->width && gray->height == ref->height;
out:
    free(sig);
    rv_image_destroy(&gimg);
    rv_image_destroy(&small);
    rv_image_destroy(&vmask);
    rv_image_destroy(&pre);
    rv_image_destroy(&soft_v);
    rv_image_destroy(&vdetail);
    return rc;
}

int rv_align_residual(const rv_align_ref_t *ref, const rv_view_t *gray, const double m[2][3],
                      rv_align_residual_t *out)
{
    if (!ref || !gray || !m || !out || (gray->fmt != RV_GRAY8 && gray->fmt != RV_RGB8))
        return rv_fail(RV_EINVAL, "rv_align_residual",
                       "needs a reference, a gray8 or RGB8 view, a transform and a result");
    rv_image_t *g = gray->fmt == RV_RGB8 ? s_gray_of(gray) : NULL;
    if (gray->fmt == RV_RGB8 && !g)
        return RV_ENOMEM;
    rv_view_t gv = g ? rv_image_view(g) : *gray;
    int rc = rv_edge_pts_measure(ref->edges, &gv, m, out);
    rv_image_destroy(&g);
    return rc;
}

int rv_align_warp(const rv_view_t *src, const rv_align_result_t *r, const rv_view_t *dst)
{
    if (!src || !dst || src->fmt != dst->fmt)
        return rv_fail(RV_EINVAL, "rv_align_warp", "source and destination formats differ");
    if (r->identity && src->width == dst->width && src->height == dst->height)
        return rv_view_copy(src, dst);
    /* colour through the project's own kernel (a third of OpenCV's time here, docs/
     * benchmarks.md), gray through the shim */
    if (src->fmt == RV_RGB8)
        return rv_warp_affine_rgb(src, dst, r->m);
    return rv_cv_warp_affine(src, dst, r->m, RV_CV_INTER_LINEAR);
}

int rv_align_silhouette(const rv_view_t *gray, const rv_view_t *mask)
{
    return rv_align_silhouette_p(gray, mask, NULL);
}

int rv_align_silhouette_p(const rv_view_t *gray, const rv_view_t *mask,
                          const rv_align_params_t *params)
{
    if (!gray || !mask || gray->fmt != RV_GRAY8 || mask->fmt != RV_GRAY8 ||
        gray->width != mask->width || gray->height != mask->height)
        return rv_fail(RV_EINVAL, "rv_align_silhouette", "needs two gray8 views of one size");
    rv_align_params_t p;
    if (params)
        p = *params;
    else
        rv_align_params_init(&p);
    double area;
    rv_image_t *m = s_silhouette(gray, &p, &area, NULL, NULL);
    if (!m)
        return RV_EFORMAT;
    rv_view_t mv = rv_image_view(m);
    int rc = rv_view_copy(&mv, mask);
    rv_image_destroy(&m);
    return rc;
}

/* The part's extent for comparing outlines (rv_align_part_mask). A turned or chamfered
 * face that turns away from the lamp can be as dark as the fixture, or darker than Otsu's
 * threshold, so the silhouette stops short of the outline there by as much as the face
 * is wide, and by how much depends on the lamp. What does not depend on it: where the part
 * stands on the fixture, the fixture is in its shadow (darker than the open fixture next
 * to it, ambient occlusion), all the way round, chips and holes included. So the
 * silhouette (its specks dropped) grows through every pixel at least S_GROW_K times as
 * bright as the open fixture there, up to 1/S_GROW_DIV of the short side from it: across
 * a dark face, not across the contact shadow, neither into holes (the fixture seen through
 * a hole lies in shadow) nor into a notch beyond its own shadow. On the generated cores a
 * face turned from the lamp is about 0.96 of the fixture (its marks 0.85-1.07), the shadow
 * under 0.6 within a millimetre of the outline and under 0.84 within about three; at 0.8
 * a chip's shadow, narrower than the outline's, let the growth into the notch. The open
 * fixture's level: a quadratic surface fitted to the fixture beyond the part's shadow
 * (s_fit_fixture; the border's profiles, s_fixture, when too little is left). A growth
 * that runs to its reach found no shadow there and goes, whole. */
#define S_GROW_K 0.84
#define S_GROW_DIV 20 /* the reach: short side / S_GROW_DIV */
/* The quadratic surface c0 + c1 x + c2 y + c3 x^2 + c4 x y + c5 y^2 at (x, y) (small px,
 * scaled by 1/256 inside so the normal equations stay well conditioned). */
static inline double s_quad(const double c[6], double x, double y)
{
    x /= 256.0;
    y /= 256.0;
    return c[0] + c[1] * x + c[2] * y + c[3] * x * x + c[4] * x * y + c[5] * y * y;
}

/* Solve the 6 x 6 system a c = b (Gauss-Jordan, partial pivoting); 0 when singular. */
static int s_solve6(double a[6][7], double c[6])
{
    for (int k = 0; k < 6; k++) {
        int piv = k;
        for (int r = k + 1; r < 6; r++)
            if (fabs(a[r][k]) > fabs(a[piv][k]))
                piv = r;
        if (fabs(a[piv][k]) < 1e-9)
            return 0;
        for (int j = 0; j < 7; j++) {
            double t = a[k][j];
            a[k][j] = a[piv][j];
            a[piv][j] = t;
        }
        for (int r = 0; r < 6; r++) {
            if (r == k)
                continue;
            double q = a[r][k] / a[k][k];
            for (int j = k; j < 7; j++)
                a[r][j] -= q * a[k][j];
        }
    }
    for (int k = 0; k < 6; k++)
        c[k] = a[k][6] / a[k][k];
    return 1;
}

#define S_AO_SMALL 9 /* small px: beyond the part's contact shadow */
/* Fit the fixture's level (s_grow) on the small copy sv (f x f blocks of the view) away
 * from the part (mask: the view's size). 1 with c set, 0 when it cannot. */
static int s_fit_fixture(const rv_view_t *sv, const rv_view_t *mask, int f,
                         const rv_view_t *nodata, double c[6])
{
    int sw = sv->width, sh = sv->height, ok = 0;
    rv_image_t *near = rv_image_new(sw, sh, RV_GRAY8), *grown = rv_image_new(sw, sh, RV_GRAY8);
    if (!near || !grown)
        goto out;
    rv_view_t nv = rv_image_view(near), gv = rv_image_view(grown);
    /* the part at the small pixels' centres (its shadow's margin covers what falls between) */
    for (int y = 0; y < sh; y++) {
        const uint8_t *m = rv_view_row(mask, y * f + f / 2) + f / 2;
        uint8_t *o = rv_view_row(&nv, y);
        for (int x = 0; x < sw; x++)
            o[x] = m[(size_t) x * f];
    }
    if (rv_dilate_rect(&nv, &gv, 2 * S_AO_SMALL + 1, 2 * S_AO_SMALL + 1) != RV_OK)
        goto out;
    double sigma = INFINITY;
    for (int pass = 0; pass < 2; pass++) {
        double a[6][7] = {{0}};
        size_t n = 0;
        double ss = 0;
        /* every second pixel of every second row: a smooth surface needs no more */
        for (int y = 0; y < sh; y += 2) {
            const uint8_t *g = rv_view_row(&gv, y), *v = rv_view_row(sv, y);
            const uint8_t *z = nodata ? rv_view_row(nodata, y) : NULL;
            for (int x = 0; x < sw; x += 2) {
                if (g[x] || (z && z[x]))
                    continue;
                if (pass && fabs(v[x] - s_quad(c, x, y)) > 3 * sigma)
                    continue;
                double xs = x / 256.0, ys = y / 256.0;
                double t[6] = {1, xs, ys, xs * xs, xs * ys, ys * ys};
                for (int i = 0; i < 6; i++) {
                    for (int j = 0; j < 6; j++)
                        a[i][j] += t[i] * t[j];
                    a[i][6] += t[i] * v[x];
                }
                n++;
            }
        }
        if (n < (size_t) sw * sh / 80 || !s_solve6(a, c))
            goto out;
        for (int y = 0; y < sh; y += 2) {
            const uint8_t *g = rv_view_row(&gv, y), *v = rv_view_row(sv, y);
            const uint8_t *z = nodata ? rv_view_row(nodata, y) : NULL;
            for (int x = 0; x < sw; x += 2) {
                double e = v[x] - s_quad(c, x, y);
                if (!g[x] && !(z && z[x]) && (!pass || fabs(e) <= 3 * sigma))
                    ss += e * e;
            }
        }
        sigma = sqrt(ss / (double) n);
    }
    ok = 1;
out:
    rv_image_destroy(&near);
    rv_image_destroy(&grown);
    return ok;
}

int rv_align_part_mask(const rv_view_t *gray, const rv_view_t *mask)
{
    int rc = rv_align_silhouette(gray, mask);
    return rc == RV_OK ? s_grow(gray, mask) : rc;
}

static int s_grow(const rv_view_t *gray, const rv_view_t *mask)
{
    int w = gray->width, h = gray->height, f = s_factor(w, 256);
    int reach = (w < h ? w : h) / S_GROW_DIV;
    /* specks of the fixture the threshold let through are no part to grow from */
    int rc = s_drop_small(mask, (uint32_t) ((size_t) w * h / S_SPECK + 1));
    if (rc != RV_OK || reach < 1)
        return rc;
    /* the view at every f-th pixel of every f-th row, for the fixture's level: a smooth
     * surface, fitted to tens of thousands of them */
    int sw = w / f, shh = h / f;
    if (sw < 8 || shh < 8)
        return RV_OK; /* too small to model the fixture: the silhouette as it is */
    rv_image_t *small = rv_image_new(sw, shh, RV_GRAY8), *sm = NULL, *bg = NULL, *nd = NULL,
               *thr = NULL, *edge = NULL;
    int32_t *queue = NULL, *bx_of = NULL, *by_of = NULL;
    uint8_t *grown = NULL;
    if (!small)
        return rv_fail(RV_ENOMEM, "rv_align", "out of memory");
    for (int y = 0; y < shh; y++) {
        const uint8_t *g = rv_view_row(gray, y * f + f / 2) + f / 2;
        uint8_t *o = rv_image_view(small).data + (ptrdiff_t) y * rv_image_view(small).stride;
        for (int x = 0; x < sw; x++)
            o[x] = g[(size_t) x * f];
    }
    sm = rv_image_new(sw, shh, RV_GRAY8);
    bg = rv_image_new(sw, shh, RV_GRAY8);
    nd = rv_image_new(sw, shh, RV_GRAY8);
    thr = rv_image_new(sw, shh, RV_GRAY8);
    edge = rv_image_new(w, h, RV_GRAY8);
    size_t npx = (size_t) w * (size_t) h;
    queue = malloc(sizeof *queue * npx); /* pages are touched only as far as it fills */
    grown = calloc(npx, 1);
    /* each column's and row's small pixel, looked up (the growth asks it of every
     * neighbour it tries) */
    bx_of = malloc(sizeof *bx_of * (size_t) w);
    by_of = malloc(sizeof *by_of * (size_t) h);
    if (!sm || !bg || !nd || !thr || !edge || !queue || !grown || !bx_of || !by_of) {
        rc = rv_fail(RV_ENOMEM, "rv_align", "out of memory");
        goto out;
    }
    rv_view_t sv = rv_image_view(small), smv = rv_image_view(sm), bgv = rv_image_view(bg),
              ndv = rv_image_view(nd), tv = rv_image_view(thr), ev = rv_image_view(edge);
    double noise = 0, qc[6] = {0};
    int any_nd = 0;
    if ((rc = s_nodata(&sv, &ndv, &any_nd)) != RV_OK || (rc = rv_box_blur(&sv, &smv, 3)) != RV_OK)
        goto out;
    int have_bg = s_fixture(&smv, any_nd ? &ndv : NULL, &bgv, &noise) == RV_OK;
    int have_q = s_fit_fixture(&sv, mask, f, any_nd ? &ndv : NULL, qc);
    if (!have_bg && !have_q)
        goto out; /* no fixture to grow against */
    /* the grey a pixel needs, per small pixel: S_GROW_K of the open fixture's level there */
    for (int y = 0; y < shh; y++) {
        uint8_t *t = rv_view_row(&tv, y);
        const uint8_t *b = rv_view_row(&bgv, y);
        for (int x = 0; x < sw; x++) {
            double level = have_q ? s_quad(qc, x, y) : b[x];
            double need = ceil(S_GROW_K * level);
            t[x] = (uint8_t) (level < 1 ? 255 : need > 255 ? 255 : need < 1 ? 1 : need);
        }
    }
    for (int x = 0; x < w; x++)
        bx_of[x] = x / f < sw ? x / f : sw - 1;
    for (int y = 0; y < h; y++)
        by_of[y] = y / f < shh ? y / f : shh - 1;
    /* the seeds: the silhouette's own outline (part less its 3 x 3 erosion) */
    if ((rc = rv_erode_rect(mask, &ev, 3, 3)) != RV_OK)
        goto out;
    size_t head = 0, tail = 0;
    for (int y = 0; y < h; y++) {
        const uint8_t *m = rv_view_row(mask, y), *e = rv_view_row(&ev, y);
        int x = 0;
        for (; x + 8 <= w; x += 8) { /* eight at a time: most of a row is not outline */
            uint64_t a, b;
            memcpy(&a, m + x, 8);
            memcpy(&b, e + x, 8);
            if (!(a & ~b))
                continue;
            for (int k = x; k < x + 8; k++)
                if (m[k] && !e[k])
                    queue[tail++] = (int32_t) ((size_t) y * w + k);
        }
        for (; x < w; x++)
            if (m[x] && !e[x])
                queue[tail++] = (int32_t) ((size_t) y * w + x);
    }
    /* breadth first, one ring of 8-neighbours per layer; the mask itself marks what was
     * reached (silhouette or grown), grown marks what grew */
    size_t layer_end = tail, fronts = 0;
    for (int layer = 1; layer <= reach + 1 && head < tail; layer++) {
        layer_end = tail;
        while (head < layer_end) {
            size_t i = (size_t) queue[head++];
            int x = (int) (i % (size_t) w), y = (int) (i / (size_t) w);
            for (int dy = -1; dy <= 1; dy++) {
                int yy = y + dy;
                if (yy < 1 || yy >= h - 1)
                    continue;
                uint8_t *mrow = rv_view_row(mask, yy);
                const uint8_t *grow = rv_view_row(gray, yy);
                const uint8_t *trow = rv_view_row(&tv, by_of[yy]);
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx;
                    if (xx < 1 || xx >= w - 1 || mrow[xx])
                        continue;
                    int bx = bx_of[xx];
                    /* the pixel itself against the fixture's level there (not a mean over
                     * its neighbours: beside a bright face, that would carry the face's
                     * light across the shadow) */
                    if (grow[xx] < trow[bx])
                        continue;
                    if (layer > reach) { /* it would grow on: a front at the reach */
                        if (grown[i] == 1)
                            grown[i] = 2;
                        fronts++;
                        continue;
                    }
                    mrow[xx] = 255;
                    size_t j = (size_t) yy * w + xx;
                    grown[j] = 1;
                    queue[tail++] = (int32_t) j;
                }
            }
        }
    }
    /* A face ends at the contact shadow well within the reach. A growth that still had
     * somewhere to go at the reach found no shadow there: it crossed onto the fixture (a gap
     * in the shadow, or a fixture lit brighter than its model), and goes, whole: the grown
     * pixels joined to the last layer's are cleared. */
    if (fronts) {
        size_t qh = 0, qt = 0;
        for (size_t k = 0; k < tail; k++) { /* the fronts (grown pixels of the last layer) */
            size_t i = (size_t) queue[k];
            if (grown[i] == 2)
                queue[qt++] = (int32_t) i;
        }
        while (qh < qt) {
            size_t i = (size_t) queue[qh++];
            int x = (int) (i % (size_t) w), y = (int) (i / (size_t) w);
            rv_view_row(mask, y)[x] = 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= w || yy >= h)
                        continue;
                    size_t j = (size_t) yy * w + xx;
                    if (grown[j] == 1) {
                        grown[j] = 2;
                        queue[qt++] = (int32_t) j;
                    }
                }
        }
    }
out:
    free(queue);
    free(grown);
    free(bx_of);
    free(by_of);
    rv_image_destroy(&small);
    rv_image_destroy(&sm);
    rv_image_destroy(&bg);
    rv_image_destroy(&nd);
    rv_image_destroy(&thr);
    rv_image_destroy(&edge);
    return rc;
}
