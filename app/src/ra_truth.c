/* ra_truth.c - detectors against the generator's exact ground truth (ra_truth.h). */
#include "ra/ra_truth.h"
#include "rv/rv_error.h"
#include "rv/rv_filter.h"
#include "rv/rv_point.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static void s_log(FILE *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_log(FILE *log, const char *fmt, ...)
{
    if (!log)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(log, fmt, ap);
    va_end(ap);
}

void ra_truth_core_free(ra_truth_core_t *c)
{
    ra_gencore_destroy(&c->gc);
    ra_gencore_destroy(&c->ref);
    rv_image_t **imgs[] = {&c->gray,   &c->blur,     &c->rust, &c->ref_blur,
                           &c->spread, &c->ref_part, &c->part, &c->zone};
    for (size_t i = 0; i < sizeof imgs / sizeof imgs[0]; i++)
        rv_image_destroy(imgs[i]);
}

static ra_gencore_t *s_render(uint64_t seed, ra_gencore_shape_t shape, int w, int h,
                              unsigned defects, int ncracks, int reference)
{
    ra_gencore_params_t p;
    ra_gencore_params_init(&p);
    p.seed = seed;
    p.shape = shape;
    p.width = w;
    p.height = h;
    p.defects = defects;
    p.counts[RA_DEFECT_CRACK] = ncracks;
    p.reference = reference;
    return ra_gencore_render(&p);
}

/* dst = 255 where the label image holds one of the labels in set (a bit mask). */
void ra_truth_labels_to_mask(const rv_image_t *labels, unsigned set, rv_image_t *dst)
{
    rv_view_t l = rv_image_view(labels), d = rv_image_view(dst);
    for (int y = 0; y < l.height; y++) {
        const uint8_t *a = rv_view_row(&l, y);
        uint8_t *b = rv_view_row(&d, y);
        for (int x = 0; x < l.width; x++)
            b[x] = (set >> a[x]) & 1u ? 255 : 0;
    }
}

int ra_truth_core_make(ra_truth_core_t *c, uint64_t seed, ra_gencore_shape_t shape, int w, int h,
                       unsigned defects, int ncracks)
{
    memset(c, 0, sizeof *c);
    c->gc = s_render(seed, shape, w, h, defects, ncracks, 0);
    c->ref = s_render(seed, shape, w, h, 0, 0, 1);
    if (!c->gc || !c->ref)
        return -1;
    rv_image_t **imgs[] = {&c->gray,   &c->blur,     &c->rust, &c->ref_blur,
                           &c->spread, &c->ref_part, &c->part, &c->zone};
    for (size_t i = 0; i < 8; i++) {
        *imgs[i] = rv_image_new(w, h, RV_GRAY8);
        if (!*imgs[i])
            return -1;
        c->v[i] = rv_image_view(*imgs[i]);
    }
    rv_view_t rgb = rv_image_view(ra_gencore_rgb(c->gc));
    rv_view_t ref_rgb = rv_image_view(ra_gencore_rgb(c->ref));
    if (rv_front(&rgb, &c->v[0], &c->v[2], 64, NULL) || rv_gauss5(&c->v[0], &c->v[1]))
        return -1;
    /* the reference's blurred gray is the learned mean; spread a constant */
    if (rv_gray_from_rgb(&ref_rgb, &c->v[4]) || rv_gauss5(&c->v[4], &c->v[3]))
        return -1;
    rv_view_fill(&c->v[4], RA_TRUTH_SPREAD);
    unsigned all_but_bg = 0xFFu & ~1u;
    ra_truth_labels_to_mask(ra_gencore_labels(c->ref), all_but_bg, c->ref_part);
    ra_truth_labels_to_mask(ra_gencore_labels(c->gc), all_but_bg & ~(1u << RA_LABEL_CHIP), c->part);
    ra_truth_labels_to_mask(ra_gencore_labels(c->ref), 1u << RA_LABEL_PART, c->zone);
    c->ctx = (rv_detect_ctx_t){.rgb = NULL,
                               .gray = &c->v[0],
                               .blur = &c->v[1],
                               .rust = &c->v[2],
                               .ref_mean = &c->v[3],
                               .ref_spread = &c->v[4],
                               .ref_part = &c->v[5],
                               .part = &c->v[6],
                               .mm_per_px = ra_gencore_mm_per_px(c->gc)};
    return 0;
}

/* Run one detector with its defaults (plus kv) on the zone. */
int ra_truth_detect(const ra_truth_core_t *c, const char *name, const rv_param_t *kv, size_t n,
                    const rv_view_t *zone, rv_findings_t *out)
{
    const rv_detector_class_t *d = rv_detector_find(name);
    if (!d)
        return -1;
    void *params = calloc(1, d->params_size);
    int rc = params ? d->configure(params, kv, n) : -1;
    if (rc == 0)
        rc = d->run(params, &c->ctx, zone, 0, out);
    free(params);
    return rc;
}

/* ---- matching ------------------------------------------------------------------------- */

static double s_seg_dist(double px, double py, const double a[2], const double b[2])
{
    double ex = b[0] - a[0], ey = b[1] - a[1], wx = px - a[0], wy = py - a[1];
    double l2 = ex * ex + ey * ey, t = l2 > 0 ? (wx * ex + wy * ey) / l2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return hypot(wx - t * ex, wy - t * ey);
}

/* Share of a reported polyline's points within tol px of the true crack. */
static double s_crack_overlap(const rv_finding_t *f, const ra_gencore_defect_t *d, double tol)
{
    int near = 0;
    for (int k = 0; k < f->npoints; k++) {
        double best = 1e18;
        for (int s = 1; s < d->npoints; s++)
            best = fmin(best, s_seg_dist(f->points[k][0], f->points[k][1], d->points[s - 1],
                                         d->points[s]));
        near += best <= tol;
    }
    return f->npoints ? (double) near / f->npoints : 0;
}

int ra_truth_box_overlap(const int a[4], const int b[4])
{
    return a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3];
}

/* ---- the figures -------------------------------------------------------------------- */



void ra_truth_score(const ra_truth_core_t *c, const rv_findings_t *all, ra_truth_stats_t *st,
                    FILE *log, int verbose)
{
    double mmpp = c->ctx.mm_per_px;
    size_t nd = ra_gencore_defect_count(c->gc);
    int *used = calloc(all->count + 1, sizeof *used);
    int true_pits = 0, found_pits = 0;
    for (size_t i = 0; i < nd; i++) {
        const ra_gencore_defect_t *d = ra_gencore_defect(c->gc, i);
        if (d->type == RA_DEFECT_CRACK) {
            st->cracks++;
            double best = 0;
            const rv_finding_t *m = NULL;
            for (size_t k = 0; k < all->count; k++) {
                const rv_finding_t *f = &all->items[k];
                if (f->type != RV_FINDING_CRACK)
                    continue;
                double o = s_crack_overlap(f, d, d->width_px / 2 + 4);
                if (o >= 0.5)
                    used[k] = 1;
                if (o > best)
                    best = o, m = f;
            }
            if (m && best >= 0.5) {
                st->cracks_found++;
                double e = fabs(m->length_mm - d->length_mm) / d->length_mm;
                st->crack_len_err_sum += e;
                st->crack_len_err_max = fmax(st->crack_len_err_max, e);
                st->crack_width_err_sum += fabs(m->width_mm - d->width_mm) / mmpp;
                st->crack_len_within += e <= 0.10;
                if (verbose || e > 0.1)
                    s_log(log, "  crack len %.1f mm true %.1f (%.1f%%) width %.2f px true %.1f\n",
                           m->length_mm, d->length_mm, 100 * e, m->width_mm / mmpp, d->width_px);
            } else {
                s_log(log, "  MISSED crack at %.0f,%.0f len %.1f mm width %.1f px (best %.2f)\n",
                       d->centre[0], d->centre[1], d->length_mm, d->width_px, best);
            }
        } else if (d->type == RA_DEFECT_RUST) {
            st->rust++;
            double area = 0;
            for (size_t k = 0; k < all->count; k++) {
                const rv_finding_t *f = &all->items[k];
                if (f->type == RV_FINDING_CORROSION && ra_truth_box_overlap(f->bbox, d->bbox))
                    area += f->area_mm2, used[k] = 1;
            }
            if (area > 0) {
                st->rust_found++;
                double e = fabs(area - d->area_mm2) / d->area_mm2;
                st->rust_err_sum += e;
                st->rust_err_max = fmax(st->rust_err_max, e);
                if (verbose || e > 0.15)
                    s_log(log, "  rust %.1f mm2 true %.1f (%.1f%%)\n", area, d->area_mm2, 100 * e);
            } else
                s_log(log, "  MISSED rust at %.0f,%.0f\n", d->centre[0], d->centre[1]);
        } else if (d->type == RA_DEFECT_PIT) {
            st->pits++;
            true_pits++;
            if (d->diameter_mm < 0.3)
                st->pits_small++;
            else
                st->pits_big++;
            const rv_finding_t *m = NULL;
            for (size_t k = 0; k < all->count; k++) {
                const rv_finding_t *f = &all->items[k];
                if (f->type == RV_FINDING_PIT &&
                    hypot(f->points[0][0] - d->centre[0], f->points[0][1] - d->centre[1]) <=
                        d->diameter_px / 2 + 2)
                    m = f, used[k] = 1;
            }
            if (m) {
                st->pits_found++;
                st->pits_big_found += d->diameter_mm >= 0.3;
                double e = fabs(m->diameter_mm - d->diameter_mm);
                st->pit_d_err_max = fmax(st->pit_d_err_max, e);
                if (verbose)
                    s_log(log, "  pit d %.2f mm true %.2f\n", m->diameter_mm, d->diameter_mm);
            } else
                s_log(log, "  MISSED pit at %.0f,%.0f d %.2f mm\n", d->centre[0], d->centre[1],
                       d->diameter_mm);
        } else if (d->type == RA_DEFECT_CHIP) {
            st->chips++;
            const rv_finding_t *m = NULL;
            double area = 0;
            for (size_t k = 0; k < all->count; k++) {
                const rv_finding_t *f = &all->items[k];
                if (f->type == RV_FINDING_MISSING && ra_truth_box_overlap(f->bbox, d->bbox))
                    m = f, area += f->area_mm2, used[k] = 1;
            }
            if (m) {
                st->chips_found++;
                double e = fabs(area - d->area_mm2) / d->area_mm2;
                st->chip_err_sum += e;
                st->chip_err_max = fmax(st->chip_err_max, e);
                st->chip_depth_err_max =
                    fmax(st->chip_depth_err_max, fabs(m->length_mm - d->depth_mm));
                if (verbose || e > 0.15)
                    s_log(log, "  chip %.1f mm2 true %.1f (%.1f%%) depth %.2f true %.2f mm\n", area,
                           d->area_mm2, 100 * e, m->length_mm, d->depth_mm);
            } else
                s_log(log, "  MISSED chip at %.0f,%.0f area %.1f mm2\n", d->centre[0], d->centre[1],
                       d->area_mm2);
        } else if (d->type == RA_DEFECT_WEAR) {
            st->wear++;
            int found = 0;
            for (size_t k = 0; k < all->count; k++) {
                const rv_finding_t *f = &all->items[k];
                if (f->type == RV_FINDING_WEAR && ra_truth_box_overlap(f->bbox, d->bbox))
                    found = 1, used[k] = 1;
            }
            st->wear_found += found;
            if (!found)
                s_log(log, "  MISSED wear at %.0f,%.0f area %.1f mm2\n", d->centre[0], d->centre[1],
                       d->area_mm2);
        }
    }
    for (size_t k = 0; k < all->count; k++) {
        const rv_finding_t *f = &all->items[k];
        if (f->type == RV_FINDING_PIT)
            found_pits++;
        if (used[k] || f->type == RV_FINDING_DIMENSION)
            continue;
        /* wear regions may carry other defects: a change found there is not false */
        if (f->type == RV_FINDING_WEAR && nd)
            continue;
        if (f->type == RV_FINDING_CRACK)
            st->false_cracks++;
        if (f->type == RV_FINDING_PIT)
            st->false_pits++;
        if (f->type == RV_FINDING_MISSING)
            st->false_missing++;
        s_log(log, "  FALSE %s at %d,%d %dx%d (len %.1f mm, area %.1f mm2, d %.2f)\n",
               rv_finding_type_name(f->type), f->bbox[0], f->bbox[1], f->bbox[2], f->bbox[3],
               f->length_mm, f->area_mm2, f->diameter_mm);
        if (nd == 0) {
            if (f->type == RV_FINDING_CRACK)
                st->false_cracks_clean++;
            else if (f->type == RV_FINDING_WEAR)
                st->false_wear_clean++;
            else
                st->false_other_clean++;
        }
    }
    if (found_pits != true_pits)
        st->pit_count_wrong++;
    free(used);
}

const char *const ra_truth_detectors[RA_TRUTH_NDET] = {"crack", "corrosion", "pit", "missing", "wear",
                                          "dimension"};

/* All detectors but the caliper on one core, whole zone; times in ms added to ms[]. */
int ra_truth_detect_all(const ra_truth_core_t *c, rv_findings_t *all, double ms[RA_TRUTH_NDET])
{
    rv_view_t zone = rv_image_view(c->zone);
    for (int i = 0; i < RA_TRUTH_NDET - 1; i++) {
        double t0 = s_now();
        if (ra_truth_detect(c, ra_truth_detectors[i], NULL, 0, &zone, all))
            return -1;
        if (ms)
            ms[i] += 1e3 * (s_now() - t0);
    }
    return 0;
}
