/* test_inspect.c - the whole inspection of generated cores: references learnt from good
 * cores only, then defective and clean cores identified by their DataMatrix, aligned,
 * inspected and graded; and the refusals: another family's part, a blank frame, a 1x1
 * image, a truncated JPEG, a reference trained for another family file. */
#include "rs_test.h"
#include "ra/ra_cell.h"
#include "ra/ra_gencore.h"
#include "ra/ra_identify.h"
#include "ra/ra_inspect.h"
#include "ra/ra_reference.h"
#include "ra/ra_source.h"
#include "rm/rm_family.h"
#include "rm/rm_grade.h"
#include "rm/rm_registry.h"
#include "rv/rv.h"
#include "rv/rv_detect.h"
#include "rv/rv_filter.h"
#include "rv/rv_jpeg.h"

#include <sodium.h>

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *s_dir;

/* The journal caliper of demo-shaft, zeroed on the master (nominal_mm): sound shafts and
 * worn ones read their true diameter within the family's guard band (0.15 mm); and a
 * caliper that finds no edges on its own master is a model error that names itself. */
static void s_check_caliper(ra_inspector_t *insp, rm_family_t *fam, ra_reference_t *ref,
                            const char *path)
{
    static const double wear[] = {0, 0.25, 0.6};
    double sound = NAN; /* the sound shaft's reading */
    for (int i = 0; i < 3; i++) {
        ra_gencore_params_t p;
        ra_gencore_params_init(&p);
        p.shape = RA_GENCORE_SHAFT;
        p.seed = 750 + (uint64_t) i;
        p.defects = 0;
        p.journal_wear_mm = wear[i];
        ra_gencore_t *core = ra_gencore_render(&p);
        size_t len;
        const uint8_t *jpeg = ra_gencore_jpeg(core, &len);
        /* the mark read first, as the station does, so that it is not taken for defects */
        rv_image_t *gray = rv_jpeg_decode(jpeg, len, RV_GRAY8, 1);
        rv_view_t gv = rv_image_view(gray);
        ra_code_t code;
        int have = ra_identify_datamatrix(&gv, 1, 0, &code) == RV_OK;
        rv_image_destroy(&gray);
        ra_inspection_t r;
        RS_CHECK_EQ(ra_inspect_jpeg(insp, jpeg, len, have ? &code : NULL, 0, &r), RV_OK);
        double value = NAN, zero = 0;
        for (size_t k = 0; k < r.findings.count; k++)
            if (r.findings.items[k].type == RV_FINDING_DIMENSION) {
                value = r.findings.items[k].value_mm;
                zero = r.findings.items[k].zero_mm;
            }
        double truth = RA_GENCORE_JOURNAL_MM - wear[i];
        if (i == 0)
            sound = value;
        printf("  journal %.2f mm read %.3f mm (the caliper's zero %+.3f mm), %s\n", truth, value,
               zero, r.grade ? rm_grade_proposal(r.grade) : r.refusal);
        RS_CHECKF(fabs(value - truth) <= 0.15, "journal %.2f mm read %.3f", truth, value);
        RS_CHECK(zero != 0);
        /* sound: reuse; 0.25 mm worn: inside the reuse limit's guard band, a person
         * decides; 0.6 mm: reuse is out */
        static const char *const want[] = {"reuse", "review", NULL};
        const char *prop = r.grade ? rm_grade_proposal(r.grade) : "";
        RS_CHECKF(want[i] ? strcmp(prop, want[i]) == 0 : strcmp(prop, "reuse") != 0,
                  "journal %.2f mm: %s", truth, prop);
        ra_inspection_free(&r);
        ra_gencore_destroy(&core);
    }
    FILE *f = fopen(path, "rb");
    char *text = calloc(1, 1 << 16), out[1200];
    size_t n = f ? fread(text, 1, (1 << 16) - 1, f) : 0;
    if (f)
        fclose(f);
    /* a zero given by hand beside nominal_mm: the master's zero replaces it, and the sound
     * shaft reads as before */
    char *nom = strstr(text, "\"nominal_mm\": 52}");
    RS_CHECK(nom != NULL);
    if (nom) {
        size_t head = (size_t) (nom - text);
        snprintf(out, sizeof out, "%s/hand-zero.json", s_dir);
        FILE *o = fopen(out, "wb");
        fwrite(text, 1, head, o);
        fputs("\"nominal_mm\": 52, \"zero_mm\": 5}", o);
        fputs(nom + strlen("\"nominal_mm\": 52}"), o);
        fclose(o);
        rm_family_t *hz = rm_family_load(out);
        RS_CHECKF(hz != NULL, "%s", rv_last_error());
        uint8_t keep[32];
        memcpy(keep, ref->family_hash, 32);
        if (hz)
            memcpy(ref->family_hash, rm_family_hash(hz), 32);
        ra_inspector_t *hi = hz ? ra_inspector_new(hz, ref) : NULL;
        RS_CHECKF(hi != NULL, "%s", rv_last_error());
        ra_gencore_params_t p;
        ra_gencore_params_init(&p);
        p.shape = RA_GENCORE_SHAFT;
        p.seed = 750;
        p.defects = 0;
        ra_gencore_t *core = ra_gencore_render(&p);
        size_t len;
        const uint8_t *jpeg = ra_gencore_jpeg(core, &len);
        ra_inspection_t r;
        double value = NAN;
        if (hi && ra_inspect_jpeg(hi, jpeg, len, NULL, 0, &r) == RV_OK) {
            for (size_t k = 0; k < r.findings.count; k++)
                if (r.findings.items[k].type == RV_FINDING_DIMENSION)
                    value = r.findings.items[k].value_mm;
            ra_inspection_free(&r);
        }
        RS_CHECKF(fabs(value - sound) < 1e-9, "with a hand zero %.4f, without %.4f", value, sound);
        ra_inspector_destroy(&hi);
        ra_gencore_destroy(&core);
        memcpy(ref->family_hash, keep, 32);
        rm_family_destroy(&hz);
    }
    /* the same family with the caliper moved onto the bare fixture */
    char *at = strstr(text, "\"x0\": 301.8, \"y0\": 391.1, \"x1\": 301.8, \"y1\": 567.9");
    RS_CHECK(n > 0 && at != NULL);
    if (at) {
        memcpy(at, "\"x0\": 40.00, \"y0\": 40.00, \"x1\": 40.00, \"y1\": 200.0", 50);
        snprintf(out, sizeof out, "%s/moved-caliper.json", s_dir);
        FILE *o = fopen(out, "wb");
        fwrite(text, 1, n, o);
        fclose(o);
        rm_family_t *moved = rm_family_load(out);
        RS_CHECKF(moved != NULL, "%s", rv_last_error());
        if (moved) {
            uint8_t keep[32];
            memcpy(keep, ref->family_hash, 32);
            memcpy(ref->family_hash, rm_family_hash(moved), 32);
            RS_CHECK(ra_inspector_new(moved, ref) == NULL);
            RS_CHECK_MSG(rv_last_error(), "cannot be zeroed");
            printf("  a caliper on the bare fixture: %s\n", rv_last_error());
            memcpy(ref->family_hash, keep, 32);
            rm_family_destroy(&moved);
        }
    }
    free(text);
    (void) fam;
}

static ra_gencore_t *s_core(ra_gencore_shape_t shape, uint64_t seed, int clean, int master)
{
    ra_gencore_params_t p;
    ra_gencore_params_init(&p);
    p.shape = shape;
    p.seed = seed;
    p.defects = clean || master ? 0 : RA_GENCORE_DEFECTS_ALL;
    p.reference = master;
    p.canonical = master;
    return ra_gencore_render(&p);
}

static void s_write(const ra_gencore_t *core, const char *name)
{
    RS_CHECK_EQ(ra_gencore_write(core, s_dir, name), RV_OK);
}

static ra_reference_t *s_train(ra_gencore_shape_t shape, const rm_family_t *fam)
{
    char master[512], *paths[8], names[8][64];
    ra_gencore_t *m = s_core(shape, 9000, 1, 1);
    snprintf(names[0], sizeof names[0], "%s-master", ra_gencore_shape_name(shape));
    s_write(m, names[0]);
    snprintf(master, sizeof master, "%s/%s.jpg", s_dir, names[0]);
    ra_gencore_destroy(&m);
    for (int i = 0; i < 8; i++) {
        ra_gencore_t *g = s_core(shape, 5000 + (uint64_t) i, 1, 0);
        snprintf(names[i], sizeof names[i], "%s-good-%d", ra_gencore_shape_name(shape), i);
        s_write(g, names[i]);
        ra_gencore_destroy(&g);
        paths[i] = malloc(512);
        snprintf(paths[i], 512, "%s/%s.jpg", s_dir, names[i]);
    }
    ra_reference_t *ref = ra_reference_train(fam, master, (const char *const *) paths, 8, NULL);
    RS_CHECKF(ref != NULL, "%s", rv_last_error());
    for (int i = 0; i < 8; i++)
        free(paths[i]);
    return ref;
}

/* Field by field (the struct's padding is not part of a finding). */
static int s_same_finding(const rv_finding_t *a, const rv_finding_t *b)
{
    return a->type == b->type && a->zone == b->zone && !memcmp(a->bbox, b->bbox, sizeof a->bbox) &&
           a->npoints == b->npoints &&
           !memcmp(a->points, b->points, sizeof a->points[0] * (size_t) a->npoints) &&
           a->length_mm == b->length_mm && a->width_mm == b->width_mm &&
           a->orientation_deg == b->orientation_deg && a->area_mm2 == b->area_mm2 &&
           a->zone_pct == b->zone_pct && a->diameter_mm == b->diameter_mm &&
           a->value_mm == b->value_mm && a->severity == b->severity && a->score == b->score &&
           !strcmp(a->name, b->name);
}

/* Every detector in every zone of an aligned view, with the zones' parameters; cache may be
 * NULL. zones[z] are the zone masks. */
static void s_detect_all(const rm_family_t *fam, const rv_detect_ctx_t *ctx,
                         const rv_detect_ctx_t *wear_ctx, rv_view_t *zones, size_t nz,
                         rv_findings_t *out)
{
    const rv_detector_class_t *const *all = rv_detectors();
    for (size_t z = 0; z < nz; z++)
        for (size_t d = 0; all[d]; d++) {
            rv_param_t kv[RM_MAX_PARAMS];
            size_t n = rm_zone_params(rm_family_zone(fam, z), all[d]->name, kv, RM_MAX_PARAMS);
            if (!strcmp(all[d]->name, "dimension") && n == 0)
                continue;
            void *params = calloc(1, all[d]->params_size);
            RS_CHECK_EQ(all[d]->configure(params, kv, n), RV_OK);
            const rv_detect_ctx_t *c = strcmp(all[d]->name, "wear") == 0 ? wear_ctx : ctx;
            RS_CHECKF(all[d]->run(params, c, &zones[z], (int) z, out) == RV_OK, "%s: %s",
                      all[d]->name, rv_last_error());
            free(params);
        }
}

/* The maps the zones share (rv_detect_cache_t): the same findings as each detector
 * computing its own over its zone's box, on a first view, after a reset that keeps the
 * reference's maps (new view pixels, zones with a hole cut), and after a full reset. */
static void s_check_cache(const rm_family_t *fam, const ra_reference_t *ref,
                          const rv_image_t *aligned, double mm_per_px)
{
    rv_view_t av = rv_image_view(aligned);
    int w = av.width, h = av.height;
    enum { GRAY, RUST, BLUR, PART, DETAIL, NORM, IBLUR, NMAPS };
    rv_image_t *img[NMAPS];
    rv_view_t v[NMAPS];
    for (int i = 0; i < NMAPS; i++) {
        img[i] = rv_image_new(w, h, RV_GRAY8);
        v[i] = rv_image_view(img[i]);
    }
    RS_CHECK_EQ(rv_front(&av, &v[GRAY], &v[RUST], 96, NULL), RV_OK);
    RS_CHECK_EQ(rv_gauss5(&v[GRAY], &v[BLUR]), RV_OK);
    if (ra_part_mask(&v[GRAY], &v[PART]) != RV_OK)
        rv_view_fill(&v[PART], 0);
    RS_CHECK_EQ(ra_reference_detail(&v[BLUR], &v[DETAIL]), RV_OK);
    RS_CHECK_EQ(ra_reference_normalize(ref, ref->mean, &v[DETAIL], &v[NORM]), RV_OK);
    RS_CHECK_EQ(ra_reference_normalize(ref, ref->imean, &v[BLUR], &v[IBLUR]), RV_OK);
    rv_view_t mean = rv_image_view(ref->mean), spread = rv_image_view(ref->spread),
              rpart = rv_image_view(ref->part), imean = rv_image_view(ref->imean);
    size_t nz = rm_family_zone_count(fam);
    rv_image_t **zimg = calloc(nz, sizeof *zimg);
    rv_view_t *zv = calloc(nz, sizeof *zv);
    for (size_t z = 0; z < nz; z++) {
        zimg[z] = rv_image_new(w, h, RV_GRAY8);
        zv[z] = rv_image_view(zimg[z]);
        RS_CHECK_EQ(rm_family_zone_mask(fam, z, &zv[z]), RV_OK);
    }
    rv_detect_cache_t *cache = rv_detect_cache_new();
    RS_CHECK(cache != NULL);
    for (int round = 0; round < 3; round++) {
        if (round == 1) {
            /* another view: the blur darkened in a band, and a hole in every zone */
            for (int y = h / 3; y < h / 2; y++) {
                uint8_t *p = rv_view_row(&v[IBLUR], y);
                for (int x = 0; x < w; x++)
                    p[x] = (uint8_t) (p[x] > 20 ? p[x] - 20 : 0);
            }
            for (size_t z = 0; z < nz; z++)
                for (int y = h / 4; y < h / 2; y++)
                    memset(rv_view_row(&zv[z], y) + w / 4, 0, (size_t) w / 3);
        }
        if (round > 0)
            rv_detect_cache_reset(cache, round == 1);
        rv_detect_ctx_t ctx = {.rgb = &av,
                               .gray = &v[GRAY],
                               .blur = &v[IBLUR],
                               .rust = &v[RUST],
                               .ref_mean = &imean,
                               .ref_spread = &spread,
                               .ref_part = &rpart,
                               .part = &v[PART],
                               .mm_per_px = mm_per_px};
        rv_detect_ctx_t wear_ctx = ctx;
        wear_ctx.blur = &v[NORM];
        wear_ctx.ref_mean = &mean;
        rv_findings_t plain = {0}, cached = {0};
        s_detect_all(fam, &ctx, &wear_ctx, zv, nz, &plain);
        ctx.cache = wear_ctx.cache = cache;
        s_detect_all(fam, &ctx, &wear_ctx, zv, nz, &cached);
        printf("  shared maps, round %d: %zu findings, %zu with the cache\n", round, plain.count,
               cached.count);
        RS_CHECK(plain.count > 0);
        RS_CHECK_EQ(cached.count, plain.count);
        for (size_t q = 0; q < plain.count && q < cached.count; q++)
            RS_CHECKF(s_same_finding(&plain.items[q], &cached.items[q]),
                      "round %d: finding %zu differs with the cache", round, q);
        rv_findings_free(&plain);
        rv_findings_free(&cached);
    }
    rv_detect_cache_destroy(&cache);
    RS_CHECK(cache == NULL);
    for (size_t z = 0; z < nz; z++)
        rv_image_destroy(&zimg[z]);
    free(zimg);
    free(zv);
    for (int i = 0; i < NMAPS; i++)
        rv_image_destroy(&img[i]);
}

/* The two per-pixel maps of the reference domains against their definitions, computed
 * here pixel by pixel: the detail image 128 + blur - box31(blur) clamped, and the gain
 * correction clamp(lround(a v + c)) with a, c the least squares fit of the target mean to
 * the view over the part (every 4th pixel of every 4th row); widths that leave a tail
 * after the detail's blocks of 16, and 24 lightings. */
static void s_check_reference_maps(void)
{
    static const int widths[] = {1, 15, 17, 37, 331};
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
        int w = widths[wi], h = 9;
        rv_image_t *view = rv_image_new(w, h, RV_GRAY8), *det = rv_image_new(w, h, RV_GRAY8),
                   *box = rv_image_new(w, h, RV_GRAY8), *out = rv_image_new(w, h, RV_GRAY8);
        rv_view_t vv = rv_image_view(view), dv = rv_image_view(det), bv = rv_image_view(box),
                  ov = rv_image_view(out);
        uint64_t st = 12345 + (uint64_t) w;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                st = st * 6364136223846793005u + 1442695040888963407u;
                rv_view_row(&vv, y)[x] = (uint8_t) (st >> 56);
            }
        RS_CHECK_EQ(ra_reference_detail(&vv, &dv), RV_OK);
        RS_CHECK_EQ(rv_box_blur(&vv, &bv, 31), RV_OK);
        int bad = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int e = 128 + rv_view_row(&vv, y)[x] - rv_view_row(&bv, y)[x];
                bad += rv_view_row(&dv, y)[x] != (e < 0 ? 0 : e > 255 ? 255 : e);
            }
        RS_CHECKF(bad == 0, "detail, width %d: %d pixels differ", w, bad);
        for (int li = 0; li < 24; li++) {
            /* the target's gain and offset against the view (the first: none) */
            st = st * 6364136223846793005u + 1442695040888963407u;
            double gain = li ? 0.55 + 1.3 * (double) (st >> 11) / 9007199254740992.0 : 1;
            st = st * 6364136223846793005u + 1442695040888963407u;
            double off = li ? -60 + 120 * (double) (st >> 11) / 9007199254740992.0 : 0;
            ra_reference_t ref;
            memset(&ref, 0, sizeof ref);
            ref.mean = rv_image_new(w, h, RV_GRAY8);
            ref.part = rv_image_new(w, h, RV_GRAY8);
            rv_view_t mv = rv_image_view(ref.mean), pv = rv_image_view(ref.part);
            rv_view_fill(&pv, 255);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    double t = gain * rv_view_row(&vv, y)[x] + off;
                    rv_view_row(&mv, y)[x] = (uint8_t) (t < 0 ? 0 : t > 255 ? 255 : t);
                }
            double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
            for (int y = 0; y < h; y += 4)
                for (int x = 0; x < w; x += 4) {
                    double b = rv_view_row(&vv, y)[x], m = rv_view_row(&mv, y)[x];
                    n++, sx += b, sy += m, sxx += b * b, sxy += b * m;
                }
            double a = 1, c = 0, var = n > 1 ? sxx - sx * sx / n : 0;
            if (var > 1e-6) {
                a = (sxy - sx * sy / n) / var;
                c = (sy - a * sx) / n;
            }
            if (!(a > 0.5 && a < 2.0))
                a = 1, c = 0;
            RS_CHECK_EQ(ra_reference_normalize(&ref, ref.mean, &vv, &ov), RV_OK);
            bad = 0;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    double e = fmin(255, fmax(0, lround(a * rv_view_row(&vv, y)[x] + c)));
                    bad += rv_view_row(&ov, y)[x] != (uint8_t) e;
                }
            RS_CHECKF(bad == 0, "normalize, width %d, light %d (a %.4f, c %.3f): %d differ", w,
                      li, a, c, bad);
            rv_image_destroy(&ref.mean);
            rv_image_destroy(&ref.part);
        }
        rv_image_destroy(&view);
        rv_image_destroy(&det);
        rv_image_destroy(&box);
        rv_image_destroy(&out);
    }
}

/* How far the centre of a mark read (corners in the frame's pixels) lies from where the
 * generator painted it. */
static double s_mark_off(const ra_code_t *c, const ra_gencore_t *g)
{
    const double(*tc)[2] = ra_gencore_code(g)->corners;
    double cx = 0, cy = 0, tx = 0, ty = 0;
    for (int q = 0; q < 4; q++) {
        cx += c->corners[q][0] / 4, cy += c->corners[q][1] / 4;
        tx += tc[q][0] / 4, ty += tc[q][1] / 4;
    }
    return hypot(cx - tx, cy - ty);
}

/* The cell (as reman-inspect runs it) on a frame a source decoded shrunk on load: a
 * defective disc seen with twice the pixels each way (2560 x 1920). The source covers
 * the families' largest view (1280 x 960), so it decodes the frame at 1/2; the mark is
 * read there, the line names the frame as delivered and the shrink, and the proposal is
 * the frame decoded in full's (never reuse). famdir: the shipped families; s_dir holds
 * (in cell/) the references the main loop trained. */
static void s_check_cell_scaled(const char *famdir)
{
    rm_registry_t *reg = rm_registry_load_dir(famdir);
    RS_CHECKF(reg != NULL, "%s", rv_last_error());
    ra_cell_opts_t co;
    memset(&co, 0, sizeof co);
    co.registry = reg;
    char refs[1100];
    snprintf(refs, sizeof refs, "%s/cell", s_dir);
    co.references = refs;
    co.identify = 1;
    co.identify_budget = RA_IDENTIFY_BUDGET;
    co.files_mode = 1;
    ra_cell_t *cell = reg ? ra_cell_new(&co) : NULL;
    RS_CHECKF(cell != NULL, "%s", rv_last_error());
    ra_gencore_params_t bp;
    ra_gencore_params_init(&bp);
    bp.shape = RA_GENCORE_DISC;
    bp.seed = 700;
    bp.defects = RA_GENCORE_DEFECTS_ALL;
    bp.width = 2560;
    bp.height = 1920;
    ra_gencore_t *big = ra_gencore_render(&bp);
    size_t blen = 0;
    const uint8_t *bj = big ? ra_gencore_jpeg(big, &blen) : NULL;
    char path[1200];
    snprintf(path, sizeof path, "%s/big-disc.jpg", s_dir);
    FILE *f = fopen(path, "wb");
    RS_CHECK(f && bj && fwrite(bj, 1, blen, f) == blen);
    if (f)
        fclose(f);
    /* the mark read on the frame in full with the search shrunk by 2 (a short side of
     * 1600 px or more): its corners in the frame's pixels, where the generator put them
     * (they were half as far from the search window's origin before 2026-12-06, and the
     * mark's modules were graded as pits) */
    rv_image_t *fg = bj ? rv_jpeg_decode(bj, blen, RV_GRAY8, 1) : NULL;
    rv_view_t fgv = rv_image_view(fg);
    for (int sh = 1; fg && sh <= 2; sh++) {
        ra_code_t cc;
        RS_CHECK_EQ(ra_identify_any(&fgv, sh, 0, &cc), RV_OK);
        double off = s_mark_off(&cc, big);
        RS_CHECKF(off < 2.0, "search shrunk by %d: the mark read %.1f px from the generator's",
                  sh, off);
    }
    rv_image_destroy(&fg);
    const char *paths[1] = {path};
    char proposal[2][32] = {"", ""};
    for (int full = 0; cell && big && full < 2; full++) {
        ra_source_opts_t so;
        ra_source_opts_default(&so);
        if (!full) {
            ra_cell_cover_size(cell, &so.cover_width, &so.cover_height);
            RS_CHECK(so.cover_width == 1280 && so.cover_height == 960);
        }
        ra_source_t *src = ra_source_files_new(paths, 1, &so);
        ra_frame_t *fr = NULL;
        RS_CHECK(src && ra_source_next(src, -1, &fr) == RV_OK && fr);
        if (!fr) {
            ra_source_destroy(&src);
            continue;
        }
        RS_CHECK(fr->scale == (full ? 1 : 2) && fr->width == 2560 && fr->height == 1920);
        RS_CHECK(rv_image_width(fr->rgb) == (full ? 2560 : 1280));
        ra_cell_result_t res;
        RS_CHECK_EQ(ra_cell_inspect(cell, path, fr, "", 0, NULL, &res), 0);
        json_t *l = res.line;
        if (json_object_get(l, "refused"))
            printf("  refused: %s\n", json_string_value(json_object_get(l, "refused")));
        /* the mark lies on the friction ring: the core has one pit of its own, and the
         * mark's modules, left in the zone, read as 10 more */
        size_t pits = 0;
        json_t *fa = json_object_get(l, "findings");
        for (size_t q = 0; q < json_array_size(fa); q++)
            pits += !strcmp(json_string_value(json_object_get(json_array_get(fa, q), "type")),
                            "pit");
        RS_CHECKF(pits <= 2, "%zu pits on the 2x disc decoded %s", pits, full ? "in full" : "at 1/2");
        const char *p = json_string_value(json_object_get(l, "proposal"));
        const char *serial = json_string_value(json_object_get(json_object_get(l, "code"), "serial"));
        RS_CHECKF(serial && !strcmp(serial, ra_gencore_serial(big)), "serial %s",
                  serial ? serial : "(none)");
        RS_CHECK(json_integer_value(json_object_get(l, "width")) == 2560 &&
                 json_integer_value(json_object_get(l, "height")) == 1920);
        RS_CHECK(json_integer_value(json_object_get(json_object_get(l, "alignment"), "shrink")) == 2);
        RS_CHECKF(p && strcmp(p, "reuse") != 0, "proposal %s", p ? p : "(refused)");
        snprintf(proposal[full], sizeof proposal[full], "%s", p ? p : "");
        printf("  cell, 2x disc decoded %s: %s, %zu findings\n", full ? "in full" : "at 1/2",
               p ? p : "refused", json_array_size(json_object_get(l, "findings")));
        ra_cell_result_free(&res);
        ra_frame_destroy(&fr);
        ra_source_destroy(&src);
    }
    RS_CHECK(!strcmp(proposal[0], proposal[1]));
    unlink(path);
    ra_gencore_destroy(&big);
    ra_cell_destroy(&cell);
    rm_registry_destroy(&reg);
}

/* A code typed or scanned at the bench: the mark on the part is still found, so its
 * modules are not graded as pits (before 2026-12-07 a clean disc given its code lost
 * reuse to four 1.6-4.8 mm "pits" on the friction ring), and a code that is not the
 * mark's is refused; a code carried from another view is not looked for again. */
static void s_check_cell_typed(const char *famdir)
{
    rm_registry_t *reg = rm_registry_load_dir(famdir);
    RS_CHECKF(reg != NULL, "%s", rv_last_error());
    ra_cell_opts_t co;
    memset(&co, 0, sizeof co);
    co.registry = reg;
    char refs[1100];
    snprintf(refs, sizeof refs, "%s/cell", s_dir);
    co.references = refs;
    co.identify = 1;
    co.identify_budget = RA_IDENTIFY_BUDGET;
    co.files_mode = 1;
    ra_cell_t *cell = reg ? ra_cell_new(&co) : NULL;
    RS_CHECKF(cell != NULL, "%s", rv_last_error());
    ra_gencore_t *core = s_core(RA_GENCORE_DISC, 702, 1, 0);
    char path[1200];
    snprintf(path, sizeof path, "%s/typed-disc.jpg", s_dir);
    size_t len = 0;
    const uint8_t *jpeg = core ? ra_gencore_jpeg(core, &len) : NULL;
    FILE *f = fopen(path, "wb");
    RS_CHECK(f && jpeg && fwrite(jpeg, 1, len, f) == len);
    if (f)
        fclose(f);
    const char *serial = core ? ra_gencore_serial(core) : "";
    char full[160], alone[100], other[160];
    snprintf(full, sizeof full, "S:%s;P:BRK-DISC-300", serial);
    snprintf(alone, sizeof alone, "S:%s", serial);
    snprintf(other, sizeof other, "S:%s9;P:BRK-DISC-300", serial);
    /* given: none (read from the part), the mark's text, the serial alone, another
     * serial, the mark's text carried from another view */
    const char *given[] = {NULL, full, alone, other, full};
    const char *mark[] = {NULL, "agrees", "agrees", "differs", NULL};
    const char *paths[1] = {path};
    char first[32] = "";
    size_t first_findings = 0;
    for (int k = 0; cell && core && k < 5; k++) {
        ra_source_opts_t so;
        ra_source_opts_default(&so);
        ra_source_t *src = ra_source_files_new(paths, 1, &so);
        ra_frame_t *fr = NULL;
        RS_CHECK(src && ra_source_next(src, -1, &fr) == RV_OK && fr);
        ra_code_t code;
        if (given[k])
            RS_CHECK_EQ(ra_identify_manual(given[k], &code), RV_OK);
        if (k == 4)
            code.kind = RA_CODE_CARRIED;
        ra_cell_result_t res;
        memset(&res, 0, sizeof res);
        if (fr)
            RS_CHECK_EQ(ra_cell_inspect(cell, path, fr, "", 0, given[k] ? &code : NULL, &res),
                        k == 3 ? 1 : 0);
        json_t *l = res.line, *cj = json_object_get(l, "code");
        const char *p = json_string_value(json_object_get(l, "proposal"));
        const char *m = json_string_value(json_object_get(cj, "mark"));
        size_t nf = 0, pits = 0;
        json_t *fa = json_object_get(l, "findings");
        for (size_t q = 0; q < json_array_size(fa); q++) {
            const char *t = json_string_value(json_object_get(json_array_get(fa, q), "type"));
            nf += strcmp(t, "dimension") != 0;
            pits += !strcmp(t, "pit");
        }
        printf("  cell, clean disc given %s: %s (mark %s), %zu findings, %zu pits\n",
               given[k] ? given[k] : "no code", p ? p : json_string_value(json_object_get(l,
               "refused")), m ? m : "not looked for", nf, pits);
        RS_CHECKF(mark[k] ? m && !strcmp(m, mark[k]) : !m, "mark %s", m ? m : "(none)");
        if (k == 0) {
            snprintf(first, sizeof first, "%s", p ? p : "");
            first_findings = nf;
            RS_CHECKF(p && !strcmp(p, "reuse") && pits == 0, "read from the part: %s, %zu pits",
                      p ? p : "(refused)", pits);
        } else if (k == 1 || k == 2) {
            RS_CHECKF(p && !strcmp(p, first) && nf == first_findings && pits == 0,
                      "given %s: %s, %zu findings (%zu pits)", given[k], p ? p : "(refused)", nf,
                      pits);
            RS_CHECK(!strcmp(json_string_value(json_object_get(cj, "part_number")),
                             "BRK-DISC-300"));
        } else if (k == 3) {
            const char *why = json_string_value(json_object_get(l, "refused"));
            RS_CHECKF(!p && why && strstr(why, "is not the mark on the part") &&
                          strstr(why, serial),
                      "%s", why ? why : "(graded)");
            RS_CHECK(!strcmp(json_string_value(json_object_get(json_object_get(cj, "mark_code"),
                                                               "serial")),
                             serial));
        } else {
            RS_CHECK(p != NULL);
            RS_CHECK(!strcmp(json_string_value(json_object_get(cj, "kind")), "carried"));
        }
        ra_cell_result_free(&res);
        ra_frame_destroy(&fr);
        ra_source_destroy(&src);
    }
    unlink(path);
    ra_gencore_destroy(&core);
    ra_cell_destroy(&cell);
    rm_registry_destroy(&reg);
}

int main(void)
{
    rv_init();
    s_check_reference_maps();
    char tmpl[] = "/tmp/rs_test_inspect_XXXXXX";
    s_dir = mkdtemp(tmpl);
    RS_CHECK(s_dir != NULL);
    const char *src = getenv("RS_SOURCE_DIR");
    char famdir[1024];
    snprintf(famdir, sizeof famdir, "%s/models/families", src ? src : ".");

    int graded = 0, defects_not_reuse = 0, n_defects = 0, identified = 0;
    for (int shape = 0; shape < RA_GENCORE_NSHAPES; shape++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/demo-%s.json", famdir, ra_gencore_shape_name(shape));
        rm_family_t *fam = rm_family_load(path);
        RS_CHECKF(fam != NULL, "%s", rv_last_error());
        if (!fam)
            continue;
        ra_reference_t *ref = s_train((ra_gencore_shape_t) shape, fam);
        if (!ref) {
            rm_family_destroy(&fam);
            continue;
        }
        printf("%s: learnt from %d good cores, anomaly threshold %.2f mm2\n", rm_family_id(fam),
               ref->n_train, ref->anomaly_threshold);
        /* save and load give the same reference; one changed byte is refused */
        char refpath[1200];
        snprintf(refpath, sizeof refpath, "%s/%s.ref", s_dir, rm_family_id(fam));
        RS_CHECK_EQ(ra_reference_save(ref, refpath), RV_OK);
        /* and a copy the cell's check reads (the one above is damaged below) */
        char cellref[1300];
        snprintf(cellref, sizeof cellref, "%s/cell", s_dir);
        mkdir(cellref, 0700);
        snprintf(cellref, sizeof cellref, "%s/cell/%s.ref", s_dir, rm_family_id(fam));
        RS_CHECK_EQ(ra_reference_save(ref, cellref), RV_OK);
        ra_reference_t *back = ra_reference_load(refpath);
        RS_CHECK(back && back->anomaly_threshold == ref->anomaly_threshold);
        /* version 5 keeps the outline's share; the nominal material lies inside the median
         * outline (share >= 128 wherever ref->part is: the goods' masks are mended along
         * it, so where one mask fell short the share is below 255) */
        RS_CHECK(ref->outline && back && back->outline);
        if (ref->outline && back && back->outline) {
            rv_view_t a = rv_image_view(ref->outline), b = rv_image_view(back->outline),
                      pp = rv_image_view(ref->part);
            int same = 1, inside = 1;
            long band = 0;
            for (int y = 0; y < a.height; y++) {
                const uint8_t *ra = rv_view_row(&a, y), *rb = rv_view_row(&b, y),
                              *rp = rv_view_row(&pp, y);
                same &= memcmp(ra, rb, (size_t) a.width) == 0;
                for (int x = 0; x < a.width; x++) {
                    inside &= !rp[x] || ra[x] >= RA_OUTLINE_SHARE;
                    band += !rp[x] && ra[x] >= 128;
                }
            }
            printf("%s: %ld px of the median outline lie beyond the nominal material\n",
                   rm_family_id(fam), band);
            RS_CHECK(same && inside && band > 0);
        }
        ra_reference_destroy(&back);
        /* a version 4 file (five planes, no outline) still loads, without the outline */
        {
            uint8_t *bytes = NULL;
            size_t len = 0;
            RS_CHECK_EQ(rv_file_read(refpath, (size_t) 1 << 28, &bytes, &len), RV_OK);
            size_t plane = (size_t) ref->width * ref->height, at = 160 + 5 * plane;
            if (bytes && len > at + plane + 32) {
                memmove(bytes + at, bytes + at + plane, len - at - plane);
                len -= plane;
                bytes[8] = 4;
                crypto_hash_sha256(bytes + len - 32, bytes, len - 32);
                char v4[1300];
                snprintf(v4, sizeof v4, "%s.v4", refpath);
                FILE *fv = fopen(v4, "wb");
                RS_CHECK(fv && fwrite(bytes, 1, len, fv) == len);
                if (fv)
                    fclose(fv);
                ra_reference_t *old = ra_reference_load(v4);
                RS_CHECKF(old && !old->outline && old->anomaly_threshold == ref->anomaly_threshold,
                          "%s", rv_last_error());
                ra_reference_destroy(&old);
                remove(v4);
            }
            free(bytes);
        }
        FILE *f = fopen(refpath, "r+b");
        fseek(f, 5000, SEEK_SET);
        int c = fgetc(f);
        fseek(f, 5000, SEEK_SET);
        fputc(c ^ 1, f);
        fclose(f);
        RS_CHECK(ra_reference_load(refpath) == NULL);
        RS_CHECK_MSG(rv_last_error(), "altered");
        truncate(refpath, 1000);
        RS_CHECK(ra_reference_load(refpath) == NULL);

        ra_inspector_t *insp = ra_inspector_new(fam, ref);
        RS_CHECKF(insp != NULL, "%s", rv_last_error());
        for (int k = 0; k < 4 && insp; k++) {
            int clean = k >= 2;
            ra_gencore_t *core = s_core((ra_gencore_shape_t) shape, 700 + (uint64_t) k, clean, 0);
            size_t len;
            const uint8_t *jpeg = ra_gencore_jpeg(core, &len);
            /* identification: the code names this family's part number */
            rv_image_t *gray = rv_jpeg_decode(jpeg, len, RV_GRAY8, 1);
            rv_view_t gv = rv_image_view(gray);
            ra_code_t code;
            int rc = ra_identify_datamatrix(&gv, 1, 0, &code);
            int identified_now = rc == RV_OK;
            if (rc != RV_OK)
                printf("  %s seed %d: %s\n", rm_family_id(fam), 700 + k, rv_last_error());
            if (rc == RV_OK) {
                identified++;
                RS_CHECK(strcmp(code.serial, ra_gencore_serial(core)) == 0);
                RS_CHECK(rm_family_matches(fam, code.part_number));
            }
            rv_image_destroy(&gray);

            ra_inspection_t r;
            rc = ra_inspect_jpeg(insp, jpeg, len, identified_now ? &code : NULL, k == 0, &r);
            if (k == 0 && rc == RV_OK && !r.refused && r.aligned)
                s_check_cache(fam, ref, r.aligned,
                              rm_family_mm_per_px(fam) > 0 ? rm_family_mm_per_px(fam) : 1.0);
            RS_CHECKF(rc == RV_OK && !r.refused, "%s seed %d: %s %s", rm_family_id(fam), 700 + k,
                      rv_last_error(), r.refusal);
            if (rc == RV_OK && !r.refused) {
                graded++;
                const char *prop = rm_grade_proposal(r.grade);
                printf("  %s core %d: %s, %zu findings, anomaly %.1f mm2 (score %.2f), %.1f ms\n",
                       clean ? "clean" : "defective", 700 + k, prop, r.findings.count,
                       r.anomaly_mm2, r.anomaly_score, r.ms_total);
                if (!clean) {
                    n_defects++;
                    /* a core with cracks, rust, pits, chips and wear is never proposed for
                     * reuse as it is */
                    defects_not_reuse += strcmp(prop, "reuse") != 0;
                }
                RS_CHECK(strcmp(r.isa, rv_simd_isa()) == 0);
                RS_CHECK(strcmp(r.grade->family_id, rm_family_id(fam)) == 0);
                /* the zones shared among 2 and 3 threads: the same findings, byte for byte,
                 * in the same order, and the same proposal */
                for (int th = 2; th <= 3; th++) {
                    RS_CHECK_EQ(ra_inspector_set_threads(insp, th), RV_OK);
                    ra_inspection_t rt;
                    RS_CHECK_EQ(ra_inspect_jpeg(insp, jpeg, len, identified_now ? &code : NULL,
                                                0, &rt),
                                RV_OK);
                    RS_CHECKF(rt.findings.count == r.findings.count, "%zu findings with %d "
                              "threads, %zu with one", rt.findings.count, th, r.findings.count);
                    for (size_t q = 0; q < rt.findings.count && q < r.findings.count; q++)
                        RS_CHECKF(s_same_finding(&rt.findings.items[q], &r.findings.items[q]),
                                  "finding %zu differs with %d threads", q, th);
                    RS_CHECK(rt.grade && strcmp(rm_grade_proposal(rt.grade), prop) == 0);
                    ra_inspection_free(&rt);
                }
                RS_CHECK_EQ(ra_inspector_set_threads(insp, 1), RV_OK);
                RS_CHECK(ra_inspector_set_threads(insp, 0) != RV_OK);
                RS_CHECK(ra_inspector_set_threads(insp, 9) != RV_OK);
            }
            ra_inspection_free(&r);
            ra_gencore_destroy(&core);
        }

        /* the camera 3 % closer (the part's image 3 % larger, which the rigid alignment
         * does not fit): the zones land off their features by up to ~7 px at the rim, the
         * outline's residual reads it and the proposal is review, whatever the findings;
         * the same clean core as taken is not (docs/inspection.md, "The residual") */
        if (insp) {
            ra_gencore_t *core = s_core((ra_gencore_shape_t) shape, 702, 1, 0);
            size_t len;
            const uint8_t *jpeg = core ? ra_gencore_jpeg(core, &len) : NULL;
            rv_image_t *rgb = jpeg ? rv_jpeg_decode(jpeg, len, RV_RGB8, 1) : NULL;
            rv_image_t *near = rgb ? rv_image_new(rv_image_width(rgb), rv_image_height(rgb),
                                                  RV_RGB8)
                                   : NULL;
            RS_CHECK(near != NULL);
            if (near) {
                rv_view_t sv = rv_image_view(rgb), nv = rv_image_view(near);
                double cx = (sv.width - 1) / 2.0, cy = (sv.height - 1) / 2.0, k = 1.03;
                const double m[2][3] = {{k, 0, cx * (1 - k)}, {0, k, cy * (1 - k)}};
                RS_CHECK_EQ(rv_warp_affine_rgb(&sv, &nv, m), RV_OK);
                ra_inspection_t as_is, closer;
                RS_CHECK_EQ(ra_inspect_rgb(insp, &sv, NULL, 0, &as_is), RV_OK);
                RS_CHECK_EQ(ra_inspect_rgb(insp, &nv, NULL, 0, &closer), RV_OK);
                RS_CHECKF(!as_is.refused && !closer.refused, "%s %s", as_is.refusal,
                          closer.refusal);
                if (as_is.grade && closer.grade) {
                    const rm_grade_t *g = closer.grade;
                    printf("  %s 3 %% closer: residual %.2f px (as taken %.2f), %s (route %s)\n",
                           rm_family_id(fam), closer.align.residual_px, as_is.align.residual_px,
                           rm_grade_proposal(g), rm_route_name(g->route));
                    RS_CHECK(as_is.align.residual_px >= 0 && as_is.align.residual_px <= 0.35);
                    RS_CHECK(!(as_is.grade->review_why & RM_REVIEW_ALIGN));
                    RS_CHECK(closer.align.residual_px > 0.6);
                    RS_CHECK(g->review && (g->review_why & RM_REVIEW_ALIGN));
                    RS_CHECK(g->nreasons > 0 &&
                             !strcmp(g->reasons[g->nreasons - 1].code, "ALIGN-RESIDUAL") &&
                             g->reasons[g->nreasons - 1].value == closer.align.residual_px);
                }
                ra_inspection_free(&as_is);
                ra_inspection_free(&closer);
            }
            rv_image_destroy(&near);
            rv_image_destroy(&rgb);
            ra_gencore_destroy(&core);
        }

        /* shrink-on-load: the same defective core seen by a camera with twice the pixels
         * in each direction (2560 x 1920), as a JPEG and as an RGB frame. It is inspected
         * at the family's resolution (shrink 2), the transform still maps the delivered
         * frame (the mark read on the big frame lands where the native core has it), and
         * the findings are those of the native image */
        if (insp) {
            ra_gencore_params_t bp;
            ra_gencore_params_init(&bp);
            bp.shape = (ra_gencore_shape_t) shape;
            bp.seed = 700;
            bp.defects = RA_GENCORE_DEFECTS_ALL;
            bp.width = 2560;
            bp.height = 1920;
            ra_gencore_t *big = ra_gencore_render(&bp), *nat = s_core(shape, 700, 0, 0);
            RS_CHECKF(big && nat, "%s", rv_last_error());
            size_t blen = 0, nlen = 0;
            const uint8_t *bj = big ? ra_gencore_jpeg(big, &blen) : NULL,
                          *nj = nat ? ra_gencore_jpeg(nat, &nlen) : NULL;
            ra_inspection_t rb, rn, rr;
            memset(&rr, 0, sizeof rr);
            RS_CHECK_EQ(ra_inspect_jpeg(insp, nj, nlen, NULL, 0, &rn), RV_OK);
            RS_CHECK_EQ(ra_inspect_jpeg(insp, bj, blen, NULL, 0, &rb), RV_OK);
            RS_CHECKF(!rb.refused, "%s", rb.refusal);
            rv_image_t *brgb = rv_jpeg_decode(bj, blen, RV_RGB8, 1);
            rv_view_t brv = rv_image_view(brgb);
            RS_CHECK_EQ(ra_inspect_rgb(insp, &brv, NULL, 0, &rr), RV_OK);
            RS_CHECKF(!rr.refused, "%s", rr.refusal);
            const ra_inspection_t *both[2] = {&rb, &rr};
            for (int b = 0; b < 2 && !rb.refused && !rr.refused && !rn.refused; b++) {
                const ra_inspection_t *x = both[b];
                RS_CHECK_EQ(x->shrink, 2);
                RS_CHECK(x->width == 2560 && x->height == 1920);
                RS_CHECKF(fabs(x->align.scale - 0.5) < 0.02, "scale %.3f", x->align.scale);
                /* the mark's centre, in frame pixels, through the reported transform */
                const double(*bc)[2] = ra_gencore_code(big)->corners,
                             (*nc)[2] = ra_gencore_code(nat)->corners;
                double fx = 0, fy = 0, gx = 0, gy = 0;
                for (int q = 0; q < 4; q++) {
                    fx += bc[q][0] / 4, fy += bc[q][1] / 4;
                    gx += nc[q][0] / 4, gy += nc[q][1] / 4;
                }
                double mx = x->align.m[0][0] * fx + x->align.m[0][1] * fy + x->align.m[0][2],
                       my = x->align.m[1][0] * fx + x->align.m[1][1] * fy + x->align.m[1][2];
                double nx = rn.align.m[0][0] * gx + rn.align.m[0][1] * gy + rn.align.m[0][2],
                       ny = rn.align.m[1][0] * gx + rn.align.m[1][1] * gy + rn.align.m[1][2];
                RS_CHECKF(hypot(mx - nx, my - ny) < 3.0,
                          "the mark maps to (%.1f, %.1f) from the big frame, (%.1f, %.1f) "
                          "natively",
                          mx, my, nx, ny);
                RS_CHECK(strcmp(rm_grade_proposal(x->grade), "reuse") != 0);
                /* the same kinds of finding as the native image */
                unsigned kb = 0, kn = 0;
                for (size_t q = 0; q < x->findings.count; q++)
                    kb |= 1u << x->findings.items[q].type;
                for (size_t q = 0; q < rn.findings.count; q++)
                    kn |= 1u << rn.findings.items[q].type;
                RS_CHECKF(kb == kn, "finding kinds %#x shrunk, %#x native (%s)", kb, kn,
                          b ? "RGB" : "JPEG");
            }
            /* the frame a source decoded shrunk on load (ra_source_opts_t cover_width): at
             * 1/2 by the DCT, as ra_inspect_jpeg decodes it, and said so: the same
             * inspection to the bit; the mark read on it and restated in frame pixels
             * lands where the generator put it */
            rv_image_t *hrgb2 = rv_jpeg_decode(bj, blen, RV_RGB8, 2);
            rv_view_t h2 = rv_image_view(hrgb2);
            ra_inspection_t rs;
            memset(&rs, 0, sizeof rs);
            RS_CHECK_EQ(ra_inspect_scaled(insp, &h2, 2, NULL, 0, &rs), RV_OK);
            RS_CHECK(!rs.refused && rs.shrink == 2);
            RS_CHECK(memcmp(rs.align.m, rb.align.m, sizeof rs.align.m) == 0);
            RS_CHECK_EQ(rs.findings.count, rb.findings.count);
            for (size_t q = 0; q < rs.findings.count && q < rb.findings.count; q++)
                RS_CHECK(rs.findings.items[q].type == rb.findings.items[q].type &&
                         !memcmp(rs.findings.items[q].bbox, rb.findings.items[q].bbox,
                                 sizeof rs.findings.items[q].bbox));
            RS_CHECK(rs.grade && rb.grade &&
                     !strcmp(rm_grade_proposal(rs.grade), rm_grade_proposal(rb.grade)));
            ra_inspection_t bad;
            memset(&bad, 0, sizeof bad);
            RS_CHECK_EQ(ra_inspect_scaled(insp, &h2, 3, NULL, 0, &bad), RV_EINVAL);
            RS_CHECK_MSG(rv_last_error(), "frame scale 1/3");
            rv_image_t *g2 = rv_image_new(h2.width, h2.height, RV_GRAY8);
            rv_view_t g2v = rv_image_view(g2);
            ra_code_t half;
            RS_CHECK(g2 && rv_gray_from_rgb(&h2, &g2v) == RV_OK);
            RS_CHECK_EQ(ra_identify_any(&g2v, 1, 0, &half), RV_OK);
            if (big && !strcmp(half.serial, ra_gencore_serial(big))) {
                ra_code_unscale(&half, 2);
                double off = s_mark_off(&half, big);
                RS_CHECKF(off < 2.0, "the mark read at 1/2 lies %.1f px from the generator's",
                          off);
            } else {
                RS_CHECKF(0, "the mark of the 2x core not read at 1/2 (%s)", half.serial);
            }
            rv_image_destroy(&g2);
            ra_inspection_free(&rs);
            rv_image_destroy(&hrgb2);
            printf("  shrink-on-load: %zu findings natively, %zu from a 2x JPEG, %zu from a 2x "
                   "RGB frame; %.1f / %.1f / %.1f ms\n",
                   rn.findings.count, rb.findings.count, rr.findings.count, rn.ms_total,
                   rb.ms_total, rr.ms_total);
            /* a 12 MP frame of the same core (4000 x 3000): decoded at 1/2 (1/4 would not
             * cover the master), or as an RGB frame averaged by 3; graded, never reuse */
            if (shape == 0) {
                ra_gencore_t *huge = NULL;
                bp.width = 4000;
                bp.height = 3000;
                huge = ra_gencore_render(&bp);
                RS_CHECKF(huge != NULL, "%s", rv_last_error());
                size_t hlen = 0;
                const uint8_t *hj = huge ? ra_gencore_jpeg(huge, &hlen) : NULL;
                ra_inspection_t rh, rhr;
                memset(&rhr, 0, sizeof rhr);
                RS_CHECK_EQ(ra_inspect_jpeg(insp, hj, hlen, NULL, 0, &rh), RV_OK);
                RS_CHECKF(!rh.refused, "12 MP JPEG: %s", rh.refusal);
                rv_image_t *hrgb = rv_jpeg_decode(hj, hlen, RV_RGB8, 1);
                rv_view_t hv = rv_image_view(hrgb);
                RS_CHECK_EQ(ra_inspect_rgb(insp, &hv, NULL, 0, &rhr), RV_OK);
                RS_CHECKF(!rhr.refused, "12 MP RGB: %s", rhr.refusal);
                if (!rh.refused && !rhr.refused) {
                    RS_CHECK(rh.shrink == 2 && rhr.shrink == 3);
                    RS_CHECKF(fabs(rh.align.scale - 0.32) < 0.02 &&
                                  fabs(rhr.align.scale - 0.32) < 0.02,
                              "scales %.3f, %.3f", rh.align.scale, rhr.align.scale);
                    RS_CHECK(strcmp(rm_grade_proposal(rh.grade), "reuse") != 0);
                    RS_CHECK(strcmp(rm_grade_proposal(rhr.grade), "reuse") != 0);
                    printf("  12 MP: %s from the JPEG (1/2, %zu findings, %.1f ms), %s from "
                           "the RGB frame (1/3, %zu findings, %.1f ms)\n",
                           rm_grade_proposal(rh.grade), rh.findings.count, rh.ms_total,
                           rm_grade_proposal(rhr.grade), rhr.findings.count, rhr.ms_total);
                }
                ra_inspection_free(&rh);
                ra_inspection_free(&rhr);
                rv_image_destroy(&hrgb);
                ra_gencore_destroy(&huge);
            }
            ra_inspection_free(&rb);
            ra_inspection_free(&rn);
            ra_inspection_free(&rr);
            rv_image_destroy(&brgb);
            ra_gencore_destroy(&big);
            ra_gencore_destroy(&nat);
        }

        /* refusals */
        ra_inspection_t r;
        ra_gencore_t *other = s_core((ra_gencore_shape_t) ((shape + 1) % 3), 42, 0, 0);
        size_t olen;
        const uint8_t *ojpeg = ra_gencore_jpeg(other, &olen);
        RS_CHECK_EQ(ra_inspect_jpeg(insp, ojpeg, olen, NULL, 0, &r), RV_OK);
        RS_CHECK(r.refused && r.grade == NULL);
        RS_CHECK(strstr(r.refusal, "wrong part") != NULL);
        ra_inspection_free(&r);
        RS_CHECK(ra_inspect_jpeg(insp, ojpeg, olen / 2, NULL, 0, &r) != RV_OK);
        RS_CHECK_MSG(rv_last_error(), "truncated");
        ra_inspection_free(&r);
        ra_gencore_destroy(&other);
        rv_image_t *blank = rv_image_new_filled(1280, 960, RV_RGB8, 255);
        rv_view_t bv = rv_image_view(blank);
        RS_CHECK_EQ(ra_inspect_rgb(insp, &bv, NULL, 0, &r), RV_OK);
        RS_CHECK(r.refused);
        RS_CHECK(strstr(r.refusal, "blank or saturated") != NULL);
        ra_inspection_free(&r);
        rv_image_destroy(&blank);
        rv_image_t *one = rv_image_new_filled(1, 1, RV_RGB8, 90);
        rv_view_t ov = rv_image_view(one);
        memset(&r, 0, sizeof r);
        RS_CHECK_EQ(ra_inspect_rgb(insp, &ov, NULL, 0, &r), RV_OK);
        RS_CHECK(r.refused);
        ra_inspection_free(&r);
        rv_image_destroy(&one);

        if (shape == RA_GENCORE_SHAFT && insp)
            s_check_caliper(insp, fam, ref, path);
        ra_inspector_destroy(&insp);
        /* a reference is bound to the family file it was trained for */
        ref->family_hash[0] ^= 1;
        RS_CHECK(ra_inspector_new(fam, ref) == NULL);
        RS_CHECK_MSG(rv_last_error(), "train it again");
        ra_reference_destroy(&ref);
        rm_family_destroy(&fam);
    }
    printf("graded %d cores; %d of %d defective cores not proposed for reuse\n", graded,
           defects_not_reuse, n_defects);
    RS_CHECK_EQ(graded, 12);
    /* identification proper (rates per condition) is measured in its own test; here the
     * whole-frame search must find nearly every mark */
    printf("identified %d of 12 cores by their DataMatrix\n", identified);
    RS_CHECK(identified >= 10);
    RS_CHECK_EQ(defects_not_reuse, n_defects);
    s_check_cell_scaled(famdir);
    s_check_cell_typed(famdir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    RS_CHECK_EQ(system(cmd), 0);
    return rs_test_end("app.inspect");
}
