/* ra_inspect.c - the inspection pipeline of one part. */
#include "ra/ra_inspect.h"
#include "rv/rv.h"
#include "rv/rv_align.h"
#include "rv/rv_detect.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_MAX_ZONES 64
#define S_MAX_THREADS 8
/* pieces of one defect on either side of a zone boundary: crack ends this close (a zone
 * boundary often runs along a design edge, a groove or a step, that the crack detector
 * leaves out: its black-hat disc and edge margin, 13 + 2 x 5 px, and each piece's band end;
 * on unseen cores a crack's pieces lay 6-31 px apart, two cracks' 23 px or more, but not
 * continuing each other), chip boxes this close */
#define S_JOIN_CRACK_PX 30
#define S_JOIN_BOX_PX 6

struct ra_inspector {
    rm_family_t *family;
    const ra_reference_t *ref;
    rv_align_ref_t *aref;
    rv_align_params_t align; /* the family's alignment settings */
    double max_residual;     /* px: a residual over it proposes review (0: never) */
    int width, height;
    double mm_per_px;
    size_t nzones;
    rv_image_t *zone[S_MAX_ZONES];
    int zbox[S_MAX_ZONES][4]; /* each zone's box [x0, y0, x1, y1); x0 == x1 when empty */
    double zero[S_MAX_ZONES]; /* each zone's caliper zero (s_zero_calipers), mm */
    double zpx[S_MAX_ZONES];  /* each zone's area, px */
    int zrank[S_MAX_ZONES];   /* each zone's precedence: critical 2, mating 1, cosmetic 0 */
    rv_image_t *near[S_MAX_ZONES]; /* each zone grown by RV_ZONE_NEAR_PX (ctx->zone_near) */
    int nbox[S_MAX_ZONES][4];      /* its box; x0 == x1 when empty */
    rv_image_t *lo, *hi, *scratch, *part, *warped, *norm, *detail, *iblur, *exclude, *zone_eff;
    rv_frontend_t *front;
    rv_detect_cache_t *cache; /* maps the zones share (black-hats, eroded part, wear band) */
    rv_mend_t *mend;          /* the reference's median outline, to mend a view's part mask
                                 along (a part that is not solid; NULL otherwise) */
    int threads;                           /* zones inspected at once (1: in this thread) */
    rv_image_t *zone_eff_t[S_MAX_THREADS]; /* a zone less the mark, per worker */
    rv_image_t *near_eff, *near_eff_t[S_MAX_THREADS]; /* a grown zone less the mark */
    rv_image_t *shrunk; /* a frame shrunk on load to the reference's resolution (kept) */
    /* the rings model (a reference that has one): it scores the frame as delivered, so
     * these have the frame's size (reallocated when it changes), and its map is carried
     * into the reference frame (rings_ref: 128 at the model's threshold) */
    rv_image_t *rings_gray, *rings_e8, *rings_ref;
    float *rings_map;
    size_t rings_cap;
};

static double s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Whether two boxes [x0, y0, x1, y1) meet. */
static int s_boxes_meet(const int a[4], const int b[4])
{
    return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
}

void ra_inspector_destroy(ra_inspector_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ra_inspector_t *s = *self_p;
    for (size_t i = 0; i < s->nzones; i++) {
        rv_image_destroy(&s->zone[i]);
        rv_image_destroy(&s->near[i]);
    }
    rv_image_destroy(&s->near_eff);
    rv_image_destroy(&s->lo);
    rv_image_destroy(&s->hi);
    rv_image_destroy(&s->scratch);
    rv_image_destroy(&s->part);
    rv_image_destroy(&s->warped);
    rv_image_destroy(&s->norm);
    rv_image_destroy(&s->detail);
    rv_image_destroy(&s->iblur);
    rv_image_destroy(&s->exclude);
    rv_image_destroy(&s->zone_eff);
    rv_image_destroy(&s->shrunk);
    rv_mend_destroy(&s->mend);
    free(s->rings_map);
    rv_image_destroy(&s->rings_gray);
    rv_image_destroy(&s->rings_e8);
    rv_image_destroy(&s->rings_ref);
    for (int i = 0; i < S_MAX_THREADS; i++) {
        rv_image_destroy(&s->zone_eff_t[i]);
        rv_image_destroy(&s->near_eff_t[i]);
    }
    rv_frontend_destroy(&s->front);
    rv_detect_cache_destroy(&s->cache);
    rv_align_ref_destroy(&s->aref);
    rm_family_destroy(&s->family);
    free(s);
    *self_p = NULL;
}


/* Zero each caliper that names its feature's nominal size (nominal_mm) on the master, the
 * setting master of the family: zero = nominal - the caliper's raw reading on it (a
 * zero_mm the file also gives is replaced). A caliper that finds no edges on its own
 * master is a model error. */
static int s_zero_calipers(ra_inspector_t *self, const rv_view_t *master)
{
    rv_view_t blur = rv_image_view(self->scratch);
    int rc = rv_gauss5(master, &blur);
    for (size_t z = 0; rc == RV_OK && z < self->nzones; z++) {
        const rm_zone_t *zone = rm_family_zone(self->family, z);
        rv_param_t kv[RM_MAX_PARAMS];
        size_t n = rm_zone_params(zone, "dimension", kv, RM_MAX_PARAMS);
        double nominal = 0;
        for (size_t k = 0; k < n; k++)
            if (strcmp(kv[k].key, "nominal_mm") == 0)
                nominal = kv[k].value;
        for (size_t k = 0; k < n;) /* the raw reading: a zero given by hand is replaced */
            if (strcmp(kv[k].key, "zero_mm") == 0)
                kv[k] = kv[--n];
            else
                k++;
        if (!(nominal > 0))
            continue;
        const rv_detector_class_t *cal = rv_detector_find("dimension");
        uint8_t params[1024];
        rv_findings_t found = {0};
        rv_view_t zv = rv_image_view(self->zone[z]);
        rv_detect_ctx_t ctx = {.gray = master, .blur = &blur, .mm_per_px = self->mm_per_px};
        if (!cal || cal->params_size > sizeof params)
            return rv_fail(RV_ELIMIT, "ra_inspector_new", "no caliper detector to zero");
        if ((rc = cal->configure(params, kv, n)) == RV_OK &&
            (rc = cal->run(params, &ctx, &zv, (int) z, &found)) == RV_OK &&
            found.count == 0)
            rc = rv_fail(RV_EFORMAT, "ra_inspector_new",
                         "zone %s: its caliper finds no edges on the reference's master, so it "
                         "cannot be zeroed to nominal_mm %g",
                         rm_zone_name(zone), nominal);
        if (rc == RV_OK)
            self->zero[z] = nominal - found.items[0].value_mm;
        rv_findings_free(&found);
    }
    return rc;
}

ra_inspector_t *ra_inspector_new(rm_family_t *family, const ra_reference_t *ref)
{
    const char *domain = "ra_inspector_new";
    if (!family || !ref) {
        rv_fail(RV_EINVAL, domain, "needs a family and its learned reference");
        return NULL;
    }
    int w = 0, h = 0;
    rm_family_view_size(family, 0, &w, &h);
    if (strcmp(ref->family_id, rm_family_id(family)) != 0 ||
        memcmp(ref->family_hash, rm_family_hash(family), 32) != 0) {
        rv_fail(RV_EINVAL, domain,
                "the reference was trained for family '%s' (another file or revision), not for "
                "'%s' as loaded: train it again",
                ref->family_id, rm_family_id(family));
        return NULL;
    }
    if (ref->width != w || ref->height != h) {
        rv_fail(RV_EINVAL, domain, "reference is %dx%d, the family's view %dx%d", ref->width,
                ref->height, w, h);
        return NULL;
    }
    ra_inspector_t *self = calloc(1, sizeof *self);
    if (!self) {
        rv_fail(RV_ENOMEM, domain, "out of memory");
        return NULL;
    }
    self->family = rm_family_ref(family);
    self->ref = ref;
    self->width = w;
    self->height = h;
    self->mm_per_px = rm_family_mm_per_px(family) > 0 ? rm_family_mm_per_px(family) : 1.0;
    self->nzones = rm_family_zone_count(family);
    if (self->nzones > S_MAX_ZONES) {
        rv_fail(RV_ELIMIT, domain, "%zu zones (at most %d)", self->nzones, S_MAX_ZONES);
        goto fail;
    }
    for (size_t i = 0; i < self->nzones; i++) {
        if (!(self->zone[i] = rv_image_new(w, h, RV_GRAY8)))
            goto fail;
        rv_view_t zv = rv_image_view(self->zone[i]);
        if (rm_family_zone_mask(family, i, &zv) != RV_OK)
            goto fail;
        int *b = self->zbox[i];
        b[0] = w, b[1] = h, b[2] = 0, b[3] = 0;
        self->zrank[i] = 2 - (int) rm_zone_criticality(rm_family_zone(family, i));
        for (int y = 0; y < h; y++) {
            const uint8_t *r = rv_view_row(&zv, y);
            for (int x = 0; x < w; x++)
                if (r[x]) {
                    self->zpx[i]++;
                    b[0] = x < b[0] ? x : b[0];
                    b[2] = x + 1 > b[2] ? x + 1 : b[2];
                    b[1] = y < b[1] ? y : b[1];
                    b[3] = y + 1;
                }
        }
        if (b[2] == 0)
            b[0] = b[1] = b[2] = b[3] = 0;
        /* the zone grown by RV_ZONE_NEAR_PX, where a crack reaching into it is judged whole */
        const int g = RV_ZONE_NEAR_PX;
        int *nb = self->nbox[i];
        nb[0] = b[0] - g < 0 ? 0 : b[0] - g, nb[1] = b[1] - g < 0 ? 0 : b[1] - g;
        nb[2] = b[2] + g > w ? w : b[2] + g, nb[3] = b[3] + g > h ? h : b[3] + g;
        if (b[0] == b[2])
            nb[0] = nb[1] = nb[2] = nb[3] = 0;
        if (!(self->near[i] = rv_image_new_filled(w, h, RV_GRAY8, 0)))
            goto fail;
        rv_view_t nv = rv_image_view(self->near[i]), zs, ns;
        if (nb[0] != nb[2] &&
            (rv_view_roi(&zv, nb[0], nb[1], nb[2] - nb[0], nb[3] - nb[1], &zs) != RV_OK ||
             rv_view_roi(&nv, nb[0], nb[1], nb[2] - nb[0], nb[3] - nb[1], &ns) != RV_OK ||
             rv_dilate_rect(&zs, &ns, 2 * g + 1, 2 * g + 1) != RV_OK))
            goto fail;
    }
    self->lo = rv_image_new(w, h, RV_GRAY8);
    self->hi = rv_image_new(w, h, RV_GRAY8);
    self->scratch = rv_image_new(w, h, RV_GRAY8);
    self->part = rv_image_new(w, h, RV_GRAY8);
    self->warped = rv_image_new(w, h, RV_RGB8);
    self->norm = rv_image_new(w, h, RV_GRAY8);
    self->detail = rv_image_new(w, h, RV_GRAY8);
    self->iblur = rv_image_new(w, h, RV_GRAY8);
    self->exclude = rv_image_new(w, h, RV_GRAY8);
    /* a zone less the mark is made inside the zone's box only: the rest stays 0 */
    self->zone_eff = rv_image_new_filled(w, h, RV_GRAY8, 0);
    self->near_eff = rv_image_new_filled(w, h, RV_GRAY8, 0);
    self->threads = 1;
    self->front = rv_frontend_new(w, h);
    self->cache = rv_detect_cache_new();
    if (ref->rings && !(self->rings_ref = rv_image_new(w, h, RV_GRAY8)))
        goto fail;
    if (!self->cache || !self->lo || !self->hi || !self->scratch || !self->part || !self->warped || !self->norm || !self->detail || !self->iblur || !self->exclude ||
        !self->zone_eff || !self->near_eff || !self->front)
        goto fail;
    rv_view_t lo = rv_image_view(self->lo), hi = rv_image_view(self->hi),
              master = rv_image_view(ref->master);
    if (ra_reference_band(ref, &lo, &hi) != RV_OK)
        goto fail;
    (void) ra_align_params_of(family, 0, &self->align);
    rm_view_align_t va;
    self->max_residual = rm_family_view_align(family, 0, &va) == RV_OK ? va.max_residual : 0;
    if (!(self->aref = rv_align_ref_new(&master, NULL, &self->align)) ||
        s_zero_calipers(self, &master) != RV_OK)
        goto fail;
    if (!self->align.solid && ref->outline) {
        rv_view_t ov = rv_image_view(ref->outline);
        if (!(self->mend = rv_mend_new(&ov, RA_OUTLINE_SHARE)))
            goto fail;
    }
    return self;
fail:
    ra_inspector_destroy(&self);
    return NULL;
}

const rm_family_t *ra_inspector_family(const ra_inspector_t *self)
{
    return self->family;
}

void ra_inspection_free(ra_inspection_t *r)
{
    if (!r)
        return;
    rv_findings_free(&r->findings);
    free(r->grade);
    r->grade = NULL;
    rv_image_destroy(&r->aligned);
    rv_image_destroy(&r->heat);
}

/* Run every detector in one zone with the zone's parameters. */
static int s_detect_zone(ra_inspector_t *self, const rv_detect_ctx_t *ctx0,
                         const rv_detect_ctx_t *wear_ctx0, size_t z, const rv_view_t *zmask,
                         const rv_view_t *near, rv_findings_t *out)
{
    const rm_zone_t *zone = rm_family_zone(self->family, z);
    rv_detect_ctx_t zc = *ctx0, wc = *wear_ctx0;
    zc.zone_near = wc.zone_near = near;
    const rv_detect_ctx_t *ctx = &zc, *wear_ctx = &wc;
    rv_view_t zv = *zmask;
    /* the zone (less the mark, or whole) is 0 outside the zone's box: the detectors' box of
     * it is found reading only there (else each view would scan the frame once a zone) */
    if (self->cache)
        (void) rv_detect_cache_zone_within(self->cache, (int) z, zmask, self->zbox[z]);
    const rv_detector_class_t *const *all = rv_detectors();
    for (size_t d = 0; all[d]; d++) {
        const rv_detector_class_t *det = all[d];
        rv_param_t kv[RM_MAX_PARAMS + 1];
        size_t n = rm_zone_params(zone, det->name, kv, RM_MAX_PARAMS);
        int caliper = strcmp(det->name, "dimension") == 0;
        /* a caliper is a measurement the model asks for; without one there is nothing */
        if (caliper && n == 0)
            continue;
        if (caliper && self->zero[z] != 0) { /* the zero from nominal_mm decides */
            size_t k = 0;
            while (k < n && strcmp(kv[k].key, "zero_mm") != 0)
                k++;
            kv[k] = (rv_param_t) {"zero_mm", self->zero[z]};
            n += k == n;
        }
        /* "off": 1 leaves a detector out of this zone (the family's measured choice, e.g. a
         * detector that false-alarms on its real parts); the key is the inspector's, not
         * handed to the detector */
        int off = 0;
        for (size_t k = 0; k < n;) {
            if (strcmp(kv[k].key, "off") == 0) {
                off = kv[k].value != 0;
                kv[k] = kv[--n];
            } else {
                k++;
            }
        }
        if (off)
            continue;
        /* the wear detector needs the learned reference (always present here) */
        uint8_t params[1024];
        if (det->params_size > sizeof params)
            return rv_fail(RV_ELIMIT, "ra_inspect", "detector %s has %zu bytes of parameters",
                           det->name, det->params_size);
        int rc = det->configure(params, kv, n);
        if (rc != RV_OK) {
            char msg[400];
            snprintf(msg, sizeof msg, "%s", rv_last_error());
            return rv_fail(rc, "ra_inspect", "zone %s: %s", rm_zone_name(zone), msg);
        }
        const rv_detect_ctx_t *c = strcmp(det->name, "wear") == 0 ? wear_ctx : ctx;
        if ((rc = det->run(params, c, &zv, (int) z, out)) != RV_OK)
            return rc;
    }
    return RV_OK;
}

/* A zone's mask less the mark (ex), in place: only where the mark's box (mb) meets the
 * zone's box (zb) can the two differ, so only that is written, after it is kept at the
 * same place of save (a full-size scratch), and s_mark_back puts it back once the zone's
 * detectors are done. What a zone costs is the mark's area, not its own (over the whole
 * zone box, the subtraction and the scratch's clearing were 3 % of an inspection). */
static void s_box_meet(const int *zb, const int *mb, int b[4])
{
    b[0] = zb[0] > mb[0] ? zb[0] : mb[0], b[1] = zb[1] > mb[1] ? zb[1] : mb[1];
    b[2] = zb[2] < mb[2] ? zb[2] : mb[2], b[3] = zb[3] < mb[3] ? zb[3] : mb[3];
}

static int s_mark_out(rv_image_t *zone, const int *zb, const int *mb, const rv_view_t *ex,
                      const rv_view_t *save, int *saved)
{
    int b[4];
    s_box_meet(zb, mb, b);
    if (b[0] >= b[2] || b[1] >= b[3])
        return RV_OK;
    rv_view_t zv = rv_image_view(zone), zs, es, ss;
    int rc = rv_view_roi(&zv, b[0], b[1], b[2] - b[0], b[3] - b[1], &zs);
    if (rc == RV_OK)
        rc = rv_view_roi(ex, b[0], b[1], b[2] - b[0], b[3] - b[1], &es);
    if (rc == RV_OK)
        rc = rv_view_roi(save, b[0], b[1], b[2] - b[0], b[3] - b[1], &ss);
    if (rc == RV_OK && (rc = rv_view_copy(&zs, &ss)) == RV_OK)
        *saved = 1; /* from here on the mask is put back, whatever follows */
    return rc == RV_OK ? rv_sub_sat(&zs, &es, &zs) : rc;
}

static void s_mark_back(rv_image_t *zone, const int *zb, const int *mb, const rv_view_t *save)
{
    int b[4];
    s_box_meet(zb, mb, b);
    if (b[0] >= b[2] || b[1] >= b[3])
        return;
    rv_view_t zv = rv_image_view(zone), zs, ss;
    if (rv_view_roi(&zv, b[0], b[1], b[2] - b[0], b[3] - b[1], &zs) == RV_OK &&
        rv_view_roi(save, b[0], b[1], b[2] - b[0], b[3] - b[1], &ss) == RV_OK)
        rv_view_copy(&ss, &zs);
}

/* Zone z's detectors on its mask and grown mask, less the mark (ex, its box mb) where the
 * mark meets the grown zone (the zone lies inside that), else on the masks as they are;
 * ze, ne: full-size scratch for what the mark overwrote. */
static int s_detect_zone_marked(ra_inspector_t *self, const rv_detect_ctx_t *ctx,
                                const rv_detect_ctx_t *wear_ctx, size_t z, const rv_view_t *ex,
                                const int *mb, const rv_view_t *ze, const rv_view_t *ne,
                                rv_findings_t *out)
{
    rv_view_t zv = rv_image_view(self->zone[z]), nv = rv_image_view(self->near[z]);
    int mark = ex && s_boxes_meet(mb, self->nbox[z]), rc = RV_OK, zsaved = 0, nsaved = 0;
    if (mark && (rc = s_mark_out(self->zone[z], self->zbox[z], mb, ex, ze, &zsaved)) == RV_OK)
        rc = s_mark_out(self->near[z], self->nbox[z], mb, ex, ne, &nsaved);
    if (rc == RV_OK)
        rc = s_detect_zone(self, ctx, wear_ctx, z, &zv, &nv, out);
    if (zsaved)
        s_mark_back(self->zone[z], self->zbox[z], mb, ze);
    if (nsaved)
        s_mark_back(self->near[z], self->nbox[z], mb, ne);
    return rc;
}

/* The zones shared among worker threads: each takes the next zone not yet taken and keeps
 * its findings apart; they are joined in zone order, so the result is the one a single
 * thread gives, finding for finding. */
typedef struct {
    ra_inspector_t *self;
    const rv_detect_ctx_t *ctx, *wear_ctx;
    const rv_view_t *exclude; /* the part mark, or NULL */
    int mbox[4];              /* its box */
    rv_findings_t *per_zone;
    atomic_size_t next;
    atomic_int failed;
    int rc;
    char error[512];
    pthread_mutex_t lock;
} s_zones_job_t;

typedef struct {
    s_zones_job_t *job;
    int worker;
} s_zones_arg_t;

static void *s_zones_worker(void *arg)
{
    s_zones_arg_t *a = arg;
    s_zones_job_t *j = a->job;
    ra_inspector_t *self = j->self;
    rv_view_t ze = rv_image_view(self->zone_eff_t[a->worker]),
              ne = rv_image_view(self->near_eff_t[a->worker]);
    for (;;) {
        size_t z = atomic_fetch_add(&j->next, 1);
        if (z >= self->nzones || atomic_load(&j->failed))
            break;
        int rc = s_detect_zone_marked(self, j->ctx, j->wear_ctx, z, j->exclude, j->mbox, &ze,
                                      &ne, &j->per_zone[z]);
        if (rc != RV_OK) {
            /* the message lives in this thread's error slot: hand it over */
            pthread_mutex_lock(&j->lock);
            if (!atomic_load(&j->failed)) {
                j->rc = rc;
                snprintf(j->error, sizeof j->error, "%s", rv_last_error());
                atomic_store(&j->failed, 1);
            }
            pthread_mutex_unlock(&j->lock);
            break;
        }
    }
    return NULL;
}

static int s_detect_zones_mt(ra_inspector_t *self, const rv_detect_ctx_t *ctx,
                             const rv_detect_ctx_t *wear_ctx, const rv_view_t *exclude,
                             const int mbox[4], rv_findings_t *out)
{
    s_zones_job_t j = {.self = self, .ctx = ctx, .wear_ctx = wear_ctx, .exclude = exclude};
    memcpy(j.mbox, mbox, sizeof j.mbox);
    atomic_init(&j.next, 0);
    atomic_init(&j.failed, 0);
    pthread_mutex_init(&j.lock, NULL);
    if (!(j.per_zone = calloc(self->nzones ? self->nzones : 1, sizeof *j.per_zone))) {
        pthread_mutex_destroy(&j.lock);
        return rv_fail(RV_ENOMEM, "ra_inspect", "out of memory");
    }
    pthread_t tid[S_MAX_THREADS];
    s_zones_arg_t args[S_MAX_THREADS];
    int started = 0;
    for (int i = 1; i < self->threads; i++) {
        args[i] = (s_zones_arg_t){&j, i};
        if (pthread_create(&tid[i], NULL, s_zones_worker, &args[i]) != 0)
            break; /* fewer workers: the zones still all get done */
        started = i;
    }
    args[0] = (s_zones_arg_t){&j, 0};
    s_zones_worker(&args[0]);
    for (int i = 1; i <= started; i++)
        pthread_join(tid[i], NULL);
    int rc = RV_OK;
    if (atomic_load(&j.failed))
        rc = rv_fail(j.rc, "ra_inspect", "%s", j.error);
    for (size_t z = 0; z < self->nzones; z++) {
        for (size_t k = 0; rc == RV_OK && k < j.per_zone[z].count; k++)
            rc = rv_findings_push(out, &j.per_zone[z].items[k]);
        rv_findings_free(&j.per_zone[z]);
    }
    free(j.per_zone);
    pthread_mutex_destroy(&j.lock);
    return rc;
}

int ra_inspector_set_threads(ra_inspector_t *self, int threads)
{
    if (!self || threads < 1 || threads > S_MAX_THREADS)
        return rv_fail(RV_EINVAL, "ra_inspect", "threads must be 1..%d", S_MAX_THREADS);
    for (int i = 0; i < threads; i++) {
        if ((!self->zone_eff_t[i] &&
             !(self->zone_eff_t[i] = rv_image_new_filled(self->width, self->height, RV_GRAY8, 0))) ||
            (!self->near_eff_t[i] &&
             !(self->near_eff_t[i] = rv_image_new_filled(self->width, self->height, RV_GRAY8, 0))))
            return rv_fail(RV_ENOMEM, "ra_inspect", "out of memory");
    }
    self->threads = threads;
    return RV_OK;
}

/* Fill a convex quadrilateral (px centres inside) with 255. */
static void s_fill_quad(const rv_view_t *m, const double q[4][2])
{
    double y0 = 1e9, y1 = -1e9;
    for (int k = 0; k < 4; k++) {
        y0 = fmin(y0, q[k][1]);
        y1 = fmax(y1, q[k][1]);
    }
    int ya = (int) fmax(0, ceil(y0)), yb = (int) fmin(m->height - 1, floor(y1));
    for (int y = ya; y <= yb; y++) {
        double xl = 1e9, xr = -1e9;
        for (int k = 0; k < 4; k++) {
            const double *a = q[k], *b = q[(k + 1) % 4];
            if ((a[1] <= y && b[1] > y) || (b[1] <= y && a[1] > y)) {
                double x = a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
                xl = fmin(xl, x);
                xr = fmax(xr, x);
            }
        }
        int xa = (int) fmax(0, ceil(xl)), xb = (int) fmin(m->width - 1, floor(xr));
        if (xa <= xb)
            memset(rv_view_row(m, y) + xa, 255, (size_t) (xb - xa + 1));
    }
}

/* The part mark's area in the reference frame, grown by 20 % around its centre, and the
 * box [x0, y0, x1) of what it filled (mbox). 0 when there is none. */
static int s_code_mask(const ra_inspection_t *out, const ra_code_t *code, const rv_view_t *m,
                       int mbox[4])
{
    rv_view_fill(m, 0);
    mbox[0] = mbox[1] = mbox[2] = mbox[3] = 0;
    if (!code)
        return 0;
    double q[4][2], cx = 0, cy = 0;
    for (int k = 0; k < 4; k++) {
        double x = code->corners[k][0], y = code->corners[k][1];
        q[k][0] = out->align.m[0][0] * x + out->align.m[0][1] * y + out->align.m[0][2];
        q[k][1] = out->align.m[1][0] * x + out->align.m[1][1] * y + out->align.m[1][2];
        cx += q[k][0] / 4;
        cy += q[k][1] / 4;
    }
    double x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
    for (int k = 0; k < 4; k++) {
        q[k][0] = cx + 1.2 * (q[k][0] - cx);
        q[k][1] = cy + 1.2 * (q[k][1] - cy);
        x0 = fmin(x0, q[k][0]), x1 = fmax(x1, q[k][0]);
        y0 = fmin(y0, q[k][1]), y1 = fmax(y1, q[k][1]);
    }
    s_fill_quad(m, q);
    /* the pixels s_fill_quad can have set (centres inside), a pixel to spare */
    mbox[0] = (int) fmax(0, floor(x0) - 1), mbox[1] = (int) fmax(0, floor(y0) - 1);
    mbox[2] = (int) fmin(m->width, ceil(x1) + 2), mbox[3] = (int) fmin(m->height, ceil(y1) + 2);
    if (mbox[0] >= mbox[2] || mbox[1] >= mbox[3])
        mbox[0] = mbox[1] = mbox[2] = mbox[3] = 0;
    return 1;
}


/* A transform found on a view shrunk by k, restated for the frame as delivered (frame x
 * maps to shrunk (x - (k-1)/2) / k): what the record reports and what the mark's corners,
 * read on the whole frame, go through. */
static void s_unshrink(rv_align_result_t *a, int k)
{
    if (k <= 1)
        return;
    double c0 = (k - 1) / 2.0;
    for (int i = 0; i < 2; i++) {
        a->m[i][2] -= (a->m[i][0] + a->m[i][1]) * c0 / k;
        a->m[i][0] /= k;
        a->m[i][1] /= k;
    }
    a->tx = a->m[0][2];
    a->ty = a->m[1][2];
    a->scale /= k;
    a->identity = 0;
}

/* *img kept when it has this size, else made anew: the inspector's per-frame buffers.
 * 0 when memory ran out. */
static int s_image_for(rv_image_t **img, int w, int h, rv_format_t fmt)
{
    if (*img && rv_image_width(*img) == w && rv_image_height(*img) == h)
        return 1;
    rv_image_destroy(img);
    return (*img = rv_image_new(w, h, fmt)) != NULL;
}

/* The rings anomaly (rv_polar.h) of a round part, on the frame as delivered (its gray): the
 * model fits the part's outline itself, so the warp's resampling is not needed. The score
 * is the largest normalised deviation whose place, carried into the reference frame, lies
 * outside the mark (ex, or NULL); the map goes into the reference frame as rings_ref (128
 * at the threshold) for the heat map and the area beyond the threshold. */
static int s_rings(ra_inspector_t *self, const rv_view_t *rgb, const rv_align_result_t *ar,
                   const rv_view_t *ex, double fam_thr, ra_inspection_t *out)
{
    const char *domain = "ra_inspect";
    size_t px = (size_t) rgb->width * (size_t) rgb->height;
    if (!s_image_for(&self->rings_gray, rgb->width, rgb->height, RV_GRAY8) ||
        !s_image_for(&self->rings_e8, rgb->width, rgb->height, RV_GRAY8))
        return rv_fail(RV_ENOMEM, domain, "out of memory");
    if (px > self->rings_cap) {
        free(self->rings_map);
        if (!(self->rings_map = malloc(sizeof(float) * px)))
            return rv_fail(RV_ENOMEM, domain, "out of memory");
        self->rings_cap = px;
    }
    rv_view_t gv = rv_image_view(self->rings_gray), ev = rv_image_view(self->rings_e8),
              rv = rv_image_view(self->rings_ref);
    int rc = rv_gray_from_rgb(rgb, &gv);
    if (rc != RV_OK)
        return rc;
    double z = 0, zmax = 0, thr = rv_polar_model_threshold(self->ref->rings);
    if (rv_polar_model_score(self->ref->rings, &gv, self->rings_map, (size_t) rgb->width, &z) !=
        RV_OK) {
        out->refused = 1;
        snprintf(out->refusal, sizeof out->refusal, "%s", rv_last_error());
        return RV_OK;
    }
    for (int y = 0; y < rgb->height; y++) {
        const float *m = self->rings_map + (size_t) y * (size_t) rgb->width;
        uint8_t *e = rv_view_row(&ev, y);
        for (int x = 0; x < rgb->width; x++) {
            double v = thr > 0 ? m[x] / thr * 128.0 : 0;
            e[x] = (uint8_t) (v > 255 ? 255 : v);
            if (m[x] <= zmax)
                continue;
            if (ex) { /* is this place on the mark? */
                int rx = (int) lround(ar->m[0][0] * x + ar->m[0][1] * y + ar->m[0][2]),
                    ry = (int) lround(ar->m[1][0] * x + ar->m[1][1] * y + ar->m[1][2]);
                if (rx >= 0 && ry >= 0 && rx < ex->width && ry < ex->height &&
                    rv_view_row(ex, ry)[rx])
                    continue;
            }
            zmax = m[x];
        }
    }
    if ((rc = rv_align_warp(&ev, ar, &rv)) != RV_OK)
        return rc;
    size_t beyond = 0;
    for (int y = 0; y < rv.height; y++) {
        uint8_t *r = rv_view_row(&rv, y);
        const uint8_t *e = ex ? rv_view_row(ex, y) : NULL;
        for (int x = 0; x < rv.width; x++) {
            if (e && e[x])
                r[x] = 0; /* the mark is a marking, not a defect: not in the map either */
            beyond += r[x] > 128;
        }
    }
    out->anomaly_mm2 = (double) beyond * self->mm_per_px * self->mm_per_px;
    out->anomaly_score = isnan(fam_thr) ? NAN : ra_anomaly_score(zmax, thr, fam_thr);
    return RV_OK;
}

/* Inspect rgb, which is the delivered frame shrunk by k (1: as delivered). */
static int s_inspect(ra_inspector_t *self, const rv_view_t *rgb, int k, const ra_code_t *code,
                     int keep_aligned, ra_inspection_t *out, double t0)
{
    double t;
    int rc = RV_OK;
    out->isa = rv_simd_isa();
    out->shrink = k;
    /* aligned on its gray, which the alignment makes row by row as it downscales (the
     * full-size gray is not needed) */
    rv_align_result_t ar;
    memset(&ar, 0, sizeof ar);
    int arc = rv_align_rgb(self->aref, rgb, &ar);
    out->align = ar;
    s_unshrink(&out->align, k);
    if (arc != RV_OK) {
        out->refused = 1;
        snprintf(out->refusal, sizeof out->refusal, "%s", rv_last_error());
        rc = RV_OK;
        goto out;
    }
    t = s_now_ms();
    out->ms_align = t - t0;
    rv_view_t wv = rv_image_view(self->warped);
    if ((rc = rv_align_warp(rgb, &ar, &wv)) != RV_OK)
        goto out;
    out->ms_warp = s_now_ms() - t;
    t = s_now_ms();

    /* the maps every detector reads: gray, rust, blur (the rest of the front end's maps
     * are not needed here, so run only those passes) */
    rv_view_t fg = *rv_frontend_map(self->front, "gray"), fr = *rv_frontend_map(self->front, "rust"),
              fb = *rv_frontend_map(self->front, "blur");
    size_t rust_px = 0;
    if ((rc = rv_front(&wv, &fg, &fr, 96, &rust_px)) != RV_OK || (rc = rv_gauss5(&fg, &fb)) != RV_OK)
        goto out;
    rv_view_t pv = rv_image_view(self->part);
    /* the mask as training made it (ra_part_mask_p): a solid part's is its solid
     * silhouette (the fill of the warp is no fixture); another's is mended along the
     * reference's median outline, as its goods' were (a streak of a face turned from the
     * lamp that stopped it short is part, the fixture in a notch is not) */
    if (ra_part_mask_p(&fg, &pv, &self->align) != RV_OK ||
        (self->mend && rv_mend_run(self->mend, &fg, &pv, NULL) != RV_OK))
        rv_view_fill(&pv, 0);
    out->ms_front = s_now_ms() - t;
    t = s_now_ms();

    /* two reference domains: the intensity mean (cracks, pits, missing material compare
     * the blur, gain-corrected to it) and the detail image's mean and spread (wear and the
     * anomaly compare the detail image, gain-corrected, against the band) */
    rv_view_t dv = rv_image_view(self->detail), nb = rv_image_view(self->norm),
              ib = rv_image_view(self->iblur);
    if ((rc = ra_reference_detail(&fb, &dv)) != RV_OK ||
        (rc = ra_reference_normalize(self->ref, self->ref->mean, &dv, &nb)) != RV_OK ||
        (rc = ra_reference_normalize(self->ref, self->ref->imean, &fb, &ib)) != RV_OK)
        goto out;
    rv_view_t mean = rv_image_view(self->ref->mean), spread = rv_image_view(self->ref->spread),
              rpart = rv_image_view(self->ref->part), imean = rv_image_view(self->ref->imean);
    rv_view_t routline = self->ref->outline ? rv_image_view(self->ref->outline) : rpart;
    /* what the detectors derive from this view is new; what they derive from the
     * reference (its black-hats, the wear band) holds from one part to the next */
    rv_detect_cache_reset(self->cache, 1);
    rv_detect_ctx_t ctx = {.rgb = &wv,
                           .gray = &fg,
                           .blur = &ib,
                           .rust = &fr,
                           .ref_mean = &imean,
                           .ref_spread = &spread,
                           .ref_part = &rpart,
                           .ref_outline = self->ref->outline ? &routline : NULL,
                           .part = &pv,
                           .mm_per_px = self->mm_per_px,
                           .cache = self->cache};
    rv_detect_ctx_t wear_ctx = ctx;
    wear_ctx.blur = &nb;
    wear_ctx.ref_mean = &mean;
    rv_view_t ex = rv_image_view(self->exclude), ze = rv_image_view(self->zone_eff),
              ne = rv_image_view(self->near_eff);
    int mbox[4];
    int have_code = s_code_mask(out, code, &ex, mbox);
    if (self->threads > 1) {
        if ((rc = s_detect_zones_mt(self, &ctx, &wear_ctx, have_code ? &ex : NULL, mbox,
                                    &out->findings)) != RV_OK)
            goto out;
    } else {
        for (size_t z = 0; z < self->nzones; z++)
            if ((rc = s_detect_zone_marked(self, &ctx, &wear_ctx, z, have_code ? &ex : NULL, mbox,
                                           &ze, &ne, &out->findings)) != RV_OK)
                goto out;
    }
    /* a crack or a chip that crosses a zone boundary is one defect, measured whole and
     * graded in the most critical zone it reaches: each zone's run found a piece of it
     * (docs/inspection.md) */
    rv_findings_join_zones(&out->findings, self->zrank, self->zpx, self->nzones, S_JOIN_CRACK_PX,
                           S_JOIN_BOX_PX, self->mm_per_px);
    out->ms_detect = s_now_ms() - t;
    t = s_now_ms();

    rv_view_t lo = rv_image_view(self->lo), hi = rv_image_view(self->hi),
              sc = rv_image_view(self->scratch);
    double fam_thr = rm_family_anomaly_threshold(self->family);
    if (self->ref->rings) {
        if ((rc = s_rings(self, rgb, &ar, have_code ? &ex : NULL, fam_thr, out)) != RV_OK ||
            out->refused)
            goto out;
    } else {
        if ((rc = ra_reference_anomaly(self->ref, &nb, &lo, &hi, have_code ? &ex : NULL, &sc,
                                       self->mm_per_px, &out->anomaly_mm2)) != RV_OK)
            goto out;
        out->anomaly_score = isnan(fam_thr)
                                 ? NAN
                                 : ra_reference_score(self->ref, out->anomaly_mm2, fam_thr);
    }
    out->ms_anomaly = s_now_ms() - t;
    t = s_now_ms();

    out->grade = calloc(1, sizeof *out->grade);
    if (!out->grade) {
        rc = rv_fail(RV_ENOMEM, "ra_inspect", "out of memory");
        goto out;
    }
    if ((rc = rm_grade(self->family, &out->findings, out->anomaly_score, out->grade)) != RV_OK)
        goto out;
    /* zones placed through an alignment whose outline edges lie off the master's: what was
     * found in them (or not) is no ground for a route (docs/inspection.md, "The residual") */
    (void) rm_grade_review_alignment(self->family, out->align.residual_px, self->max_residual,
                                     out->grade);
    out->ms_grade = s_now_ms() - t;
    if (keep_aligned) {
        out->aligned = rv_image_new(self->width, self->height, RV_RGB8);
        if (out->aligned) {
            rv_view_t av = rv_image_view(out->aligned);
            rv_view_copy(&wv, &av);
        }
        /* for a display: how far each part pixel lies outside the learned band */
        out->heat = rv_image_new(self->width, self->height, RV_GRAY8);
        if (out->heat) {
            rv_view_t hv = rv_image_view(out->heat);
            if (self->ref->rings) { /* the rings' map: 128 at the learnt threshold */
                rv_view_t rr = rv_image_view(self->rings_ref);
                rv_view_copy(&rr, &hv);
            } else {
                for (int y = 0; y < hv.height; y++) {
                    const uint8_t *n = rv_view_row(&nb, y), *l = rv_view_row(&lo, y),
                                  *h = rv_view_row(&hi, y), *m = rv_view_row(&rpart, y);
                    uint8_t *d = rv_view_row(&hv, y);
                    for (int x = 0; x < hv.width; x++) {
                        int e = n[x] < l[x] ? l[x] - n[x] : n[x] > h[x] ? n[x] - h[x] : 0;
                        e = m[x] ? e * 8 : 0;
                        d[x] = (uint8_t) (e > 255 ? 255 : e);
                    }
                }
            }
        }
    }
out:
    out->ms_total = s_now_ms() - t0;
    return rc;
}

/* Shrink on load (libvips's way): the family's reference fixes the detail the inspection
 * works at (its mm per pixel); a camera giving k times as many pixels in each direction is
 * averaged down by k before anything else, a box filter instead of the warp's sparse
 * sampling, and every later stage handles k*k times fewer pixels. */
int ra_inspect_rgb(ra_inspector_t *self, const rv_view_t *rgb, const ra_code_t *code,
                   int keep_aligned, ra_inspection_t *out)
{
    return ra_inspect_scaled(self, rgb, 1, code, keep_aligned, out);
}

int ra_inspect_scaled(ra_inspector_t *self, const rv_view_t *rgb, int scale,
                      const ra_code_t *code, int keep_aligned, ra_inspection_t *out)
{
    memset(out, 0, sizeof *out); /* as ra_inspect_jpeg: nothing of the caller's is read */
    double t0 = s_now_ms();
    out->width = rgb->width;
    out->height = rgb->height;
    out->isa = rv_simd_isa();
    if (!rgb->data || rgb->fmt != RV_RGB8 || rgb->width <= 0 || rgb->height <= 0 ||
        rgb->stride < (ptrdiff_t) rgb->width * 3)
        return rv_fail(RV_EINVAL, "ra_inspect", "needs an RGB8 view");
    if (scale != 1 && scale != 2 && scale != 4 && scale != 8)
        return rv_fail(RV_EINVAL, "ra_inspect", "frame scale 1/%d: not 1/1, 1/2, 1/4 or 1/8",
                       scale);
    int k = rv_shrink_factor(rgb->width, rgb->height, self->width, self->height);
    if (k <= 1)
        return s_inspect(self, rgb, scale, code, keep_aligned, out, t0);
    if (!s_image_for(&self->shrunk, rgb->width / k, rgb->height / k, RV_RGB8))
        return RV_ENOMEM;
    rv_view_t sv = rv_image_view(self->shrunk);
    int rc = rv_view_shrink(rgb, &sv, k);
    if (rc != RV_OK)
        return rc;
    out->ms_decode = s_now_ms() - t0; /* the shrink counts with getting the pixels */
    rc = s_inspect(self, &sv, scale * k, code, keep_aligned, out, s_now_ms());
    out->ms_total += out->ms_decode;
    return rc;
}

int ra_inspect_jpeg(ra_inspector_t *self, const uint8_t *jpeg, size_t len, const ra_code_t *code,
                    int keep_aligned, ra_inspection_t *out)
{
    memset(out, 0, sizeof *out);
    double t0 = s_now_ms();
    /* decoded at the smallest DCT scale that still covers the reference */
    rv_jpeg_info_t info;
    int d = 1;
    rv_image_t *rgb =
        rv_jpeg_decode_cover(jpeg, len, RV_RGB8, self->width, self->height, &info, &d);
    if (!rgb)
        return RV_EFORMAT;
    double t1 = s_now_ms();
    rv_view_t v = rv_image_view(rgb);
    out->width = info.width;
    out->height = info.height;
    int rc = s_inspect(self, &v, d, code, keep_aligned, out, t1);
    out->ms_decode = t1 - t0;
    out->ms_total += t1 - t0;
    rv_image_destroy(&rgb);
    return rc;
}

/* --- overlay ------------------------------------------------------------------------ */

static void s_plot(const rv_view_t *v, int x, int y, const uint8_t c[3])
{
    if (x < 0 || y < 0 || x >= v->width || y >= v->height)
        return;
    uint8_t *p = rv_view_row(v, y) + 3 * x;
    p[0] = c[0];
    p[1] = c[1];
    p[2] = c[2];
}

static void s_line(const rv_view_t *v, double x0, double y0, double x1, double y1,
                   const uint8_t c[3], int thick)
{
    int n = (int) ceil(fmax(fabs(x1 - x0), fabs(y1 - y0))) + 1;
    for (int i = 0; i <= n; i++) {
        double t = n ? (double) i / n : 0;
        int x = (int) lround(x0 + t * (x1 - x0)), y = (int) lround(y0 + t * (y1 - y0));
        for (int dy = -thick / 2; dy <= thick / 2; dy++)
            for (int dx = -thick / 2; dx <= thick / 2; dx++)
                s_plot(v, x + dx, y + dy, c);
    }
}

static void s_rect(const rv_view_t *v, const int b[4], const uint8_t c[3])
{
    s_line(v, b[0] - 2, b[1] - 2, b[0] + b[2] + 1, b[1] - 2, c, 2);
    s_line(v, b[0] - 2, b[1] + b[3] + 1, b[0] + b[2] + 1, b[1] + b[3] + 1, c, 2);
    s_line(v, b[0] - 2, b[1] - 2, b[0] - 2, b[1] + b[3] + 1, c, 2);
    s_line(v, b[0] + b[2] + 1, b[1] - 2, b[0] + b[2] + 1, b[1] + b[3] + 1, c, 2);
}

int ra_inspection_overlay(const ra_inspector_t *self, const ra_inspection_t *r,
                          const rv_view_t *rgb)
{
    if (!rgb || rgb->fmt != RV_RGB8 || rgb->width != self->width || rgb->height != self->height)
        return rv_fail(RV_EINVAL, "ra_inspection_overlay", "needs an RGB8 view of %dx%d",
                       self->width, self->height);
    static const uint8_t zone_c[3] = {80, 160, 255};
    static const uint8_t colour[RV_FINDING_NTYPES][3] = {
        {255, 40, 40}, {255, 160, 0}, {255, 0, 255}, {0, 255, 255}, {255, 255, 0}, {0, 255, 0}};
    for (size_t z = 0; z < self->nzones; z++) {
        const rm_zone_t *zone = rm_family_zone(self->family, z);
        for (size_t k = 0; k < rm_zone_ring_count(zone); k++) {
            size_t n = 0;
            const double(*pts)[2] = rm_zone_ring(zone, k, &n);
            for (size_t i = 0; i < n; i++)
                s_line(rgb, pts[i][0], pts[i][1], pts[(i + 1) % n][0], pts[(i + 1) % n][1], zone_c,
                       1);
        }
    }
    for (size_t i = 0; i < r->findings.count; i++) {
        const rv_finding_t *f = &r->findings.items[i];
        const uint8_t *c = colour[f->type];
        if (f->type == RV_FINDING_CRACK && f->npoints > 1) {
            for (int k = 0; k + 1 < f->npoints; k++)
                s_line(rgb, f->points[k][0], f->points[k][1], f->points[k + 1][0],
                       f->points[k + 1][1], c, 3);
        }
        s_rect(rgb, f->bbox, c);
    }
    return RV_OK;
}
