/* reman_bench.c - reman-bench: speed of the station's vision against this machine's
 * memory bandwidth and against the idiomatic OpenCV way of doing the same work, in the
 * same process. Single thread; every figure is the median of --reps runs (at least 20).
 *
 *   reman-bench            a readable table
 *   reman-bench --json     one {"figure": NAME, "value": X, "unit": U} object per line
 *
 * Images are generated cores (app/ra_gencore) of 2, 5 and 12 MP. The site's figures
 * (--only site) need a PostgreSQL database of their own: --site-conninfo or
 * RS_SITE_CONNINFO (scripts/bench-site.sh starts a server and runs them). */
#include "bench_line.h"
#include "rv/rv_memory.h"
#include "bench_site.h"
#include "bench_opencv.h"
#include "ra/ra_gencore.h"
#include "ra/ra_inspect.h"
#include "ra/ra_reference.h"
#include "rm/rm_family.h"
#include <jansson.h>
#include <unistd.h>
#include "ra/ra_version.h"
#include "rv/rv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <turbojpeg.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* --- figures ----------------------------------------------------------------------- */

typedef struct {
    char name[96];
    double value;
    const char *unit;
} s_figure_t;

static s_figure_t s_figs[512];
static int s_nfigs;
static int s_json;

static void s_fig(const char *unit, double value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_fig(const char *unit, double value, const char *fmt, ...)
{
    if (s_nfigs >= (int) (sizeof s_figs / sizeof s_figs[0]))
        return;
    s_figure_t *f = &s_figs[s_nfigs++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->name, sizeof f->name, fmt, ap);
    va_end(ap);
    f->value = value;
    f->unit = unit;
    if (s_json) {
        printf("{\"figure\": \"%s\", \"value\": %.6g, \"unit\": \"%s\"}\n", f->name, value, unit);
        fflush(stdout);
    }
}

static void s_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void s_say(const char *fmt, ...)
{
    if (s_json)
        return;
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

/* --- timing ------------------------------------------------------------------------ */

static double s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static double s_median(double *v, int n)
{
    qsort(v, (size_t) n, sizeof *v, s_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int s_reps = 21;

/* --- memory bandwidth -------------------------------------------------------------- */

/* Single-core read bandwidth: sum a 1 GiB buffer (far larger than the caches, 260 MiB of
 * L3 on the development machine) with independent 64-bit accumulators, so the loop is
 * limited by memory, not by additions. */
static double s_membw_gbs(void)
{
    size_t n = (size_t) 1 << 30;
    uint64_t *buf = aligned_alloc(64, n);
    if (!buf)
        return 0;
    memset(buf, 1, n);
    size_t words = n / 8;
    (void) words;
    double t[40];
    volatile uint64_t sink = 0;
    int reps = s_reps < 40 ? s_reps : 40;
    for (int r = 0; r < reps; r++) {
        double t0 = s_now_ms();
#if defined(__SSE2__)
        /* 16-byte loads, four accumulators, a prefetch 4 KiB ahead: the way the kernels
         * read, so the figure is what a streaming kernel can reach on this core */
        __m128i a = _mm_setzero_si128(), b = a, c = a, d = a;
        const __m128i *p = (const __m128i *) buf;
        size_t nv = n / 16;
        for (size_t i = 0; i < nv; i += 4) {
            _mm_prefetch((const char *) (p + i) + 4096, _MM_HINT_T0);
            a = _mm_add_epi64(a, _mm_load_si128(p + i));
            b = _mm_add_epi64(b, _mm_load_si128(p + i + 1));
            c = _mm_add_epi64(c, _mm_load_si128(p + i + 2));
            d = _mm_add_epi64(d, _mm_load_si128(p + i + 3));
        }
        a = _mm_add_epi64(_mm_add_epi64(a, b), _mm_add_epi64(c, d));
        sink += (uint64_t) _mm_cvtsi128_si64(a);
#else
        uint64_t a = 0, b = 0, c = 0, d = 0;
        for (size_t i = 0; i < words; i += 4) {
            a += buf[i];
            b += buf[i + 1];
            c += buf[i + 2];
            d += buf[i + 3];
        }
        sink += a + b + c + d;
#endif
        t[r] = s_now_ms() - t0;
    }
    (void) sink;
    free(buf);
    return (double) n / (s_median(t, reps) * 1e6);
}

/* Copies of one image, together larger than 1 GiB, so that each timed run reads its
 * input from memory, not from a cache the previous run warmed ("cold" figures). */
typedef struct {
    rv_image_t **img;
    int n;
} s_pool_t;

static int s_pool_new(s_pool_t *p, const rv_view_t *src, int at_least)
{
    size_t bytes = (size_t) src->stride * (size_t) src->height;
    p->n = (int) (((size_t) 1 << 30) / bytes) + 1;
    if (p->n < at_least)
        p->n = at_least;
    p->img = calloc((size_t) p->n, sizeof *p->img);
    for (int i = 0; p->img && i < p->n; i++) {
        p->img[i] = rv_image_new(src->width, src->height, src->fmt);
        if (!p->img[i])
            return -1;
        rv_view_t v = rv_image_view(p->img[i]);
        rv_view_copy(src, &v);
    }
    return p->img ? 0 : -1;
}

static void s_pool_free(s_pool_t *p)
{
    for (int i = 0; p->img && i < p->n; i++)
        rv_image_destroy(&p->img[i]);
    free(p->img);
    p->img = NULL;
}

/* --- kernels per instruction set ------------------------------------------------------ */

typedef struct {
    const rv_view_t *rgb, *gray, *gray2, *out, *out2, *lo, *hi, *rgb_out;
} s_imgs_t;

typedef struct {
    const char *name;
    double bytes_per_px; /* read + written */
    const char *opencv;  /* rsb_cv_time_op name, or NULL */
    int opencv_on_rgb;
} s_kernel_t;

static const s_kernel_t s_kernels[] = {
    {"gray", 4, "gray", 1},         {"rust", 4, "hsv_inrange", 1}, {"front", 5, NULL, 0},
    {"absdiff", 3, "absdiff", 0},   {"threshold", 2, "threshold", 0}, {"band", 4, NULL, 0},
    {"gauss5", 2, "gauss5", 0},     {"box15", 2, "box15", 0},     {"sobel", 2, "sobel", 0},
    {"dilate15", 2, "dilate15", 0}, {"blackhat15", 2, "blackhat15", 0},
    {"blackhat15_thr", 2, NULL, 0}, {"hist", 1, NULL, 0},          {"integral", 5, NULL, 0},
    {"warp_rgb", 6, "warp_rgb", 1},
};
#define S_NKERNELS (int) (sizeof s_kernels / sizeof s_kernels[0])

static int s_run_kernel(const char *name, const s_imgs_t *im, uint32_t *ibuf)
{
    size_t cnt = 0;
    if (!strcmp(name, "gray"))
        return rv_gray_from_rgb(im->rgb, im->out);
    if (!strcmp(name, "rust"))
        return rv_rust(im->rgb, im->out);
    if (!strcmp(name, "front"))
        return rv_front(im->rgb, im->out, im->out2, 96, &cnt);
    if (!strcmp(name, "absdiff"))
        return rv_absdiff(im->gray, im->gray2, im->out);
    if (!strcmp(name, "threshold"))
        return rv_threshold(im->gray, im->out, 128, &cnt);
    if (!strcmp(name, "band"))
        return rv_band_threshold(im->gray, im->lo, im->hi, im->out, &cnt);
    if (!strcmp(name, "gauss5"))
        return rv_gauss5(im->gray, im->out);
    if (!strcmp(name, "box15"))
        return rv_box_blur(im->gray, im->out, 15);
    if (!strcmp(name, "sobel"))
        return rv_sobel_mag(im->gray, im->out);
    if (!strcmp(name, "dilate15"))
        return rv_dilate_rect(im->gray, im->out, 15, 15);
    if (!strcmp(name, "blackhat15"))
        return rv_blackhat_disc(im->gray, im->out, 15);
    if (!strcmp(name, "blackhat15_thr"))
        return rv_blackhat_disc_threshold(im->gray, im->out, 15, 24, &cnt);
    if (!strcmp(name, "hist")) {
        uint32_t h[256];
        return rv_histogram(im->gray, h);
    }
    if (!strcmp(name, "integral"))
        return rv_integral(im->gray, ibuf, (size_t) im->gray->width);
    if (!strcmp(name, "warp_rgb")) {
        double m[2][3];
        rsb_warp_matrix(im->rgb->width, im->rgb->height, m);
        return rv_warp_affine_rgb(im->rgb, im->rgb_out, m);
    }
    return RV_EINVAL;
}

/* Median ms of a kernel; cold: inputs rotate through the pools, hot: the same input
 * every run (it stays in the caches). */
static double s_time_kernel(const char *name, s_imgs_t im, const s_pool_t *rgbp,
                            const s_pool_t *grayp, int cold, uint32_t *ibuf)
{
    double t[256];
    int reps = s_reps < 256 ? s_reps : 256;
    if (s_run_kernel(name, &im, ibuf) != RV_OK) { /* a check that it runs */
        fprintf(stderr, "reman-bench: %s: %s\n", name, rv_last_error());
        return -1;
    }
    rv_view_t rgb, g[4];
    for (int r = 0; r < reps; r++) {
        if (cold) {
            rgb = rv_image_view(rgbp->img[r % rgbp->n]);
            for (int k = 0; k < 4; k++)
                g[k] = rv_image_view(grayp->img[(r * 4 + k) % grayp->n]);
            im.rgb = &rgb;
            im.gray = &g[0];
            im.gray2 = &g[1];
            im.lo = &g[2];
            im.hi = &g[3];
        }
        double t0 = s_now_ms();
        s_run_kernel(name, &im, ibuf);
        t[r] = s_now_ms() - t0;
    }
    return s_median(t, reps);
}

/* --- JPEG decode against raw TurboJPEG --------------------------------------------- */

static void s_bench_jpeg(const uint8_t *jpeg, size_t len, int w, int h)
{
    tjhandle tj = tjInitDecompress();
    size_t stride = ((size_t) w * 3 + 63) & ~(size_t) 63;
    uint8_t *raw = aligned_alloc(64, stride * (size_t) h);
    double ours[256], theirs[256], cv = 0;
    int reps = s_reps < 256 ? s_reps : 256;
    /* interleaved, so drifts of a shared machine hit both sides alike */
    for (int r = -1; r < reps; r++) {
        double t0 = s_now_ms();
        int ww, hh, samp, cs;
        tjDecompressHeader3(tj, jpeg, (unsigned long) len, &ww, &hh, &samp, &cs);
        tjDecompress2(tj, jpeg, (unsigned long) len, raw, w, (int) stride, h, TJPF_RGB,
                      TJFLAG_STOPONWARNING);
        double t1 = s_now_ms();
        rv_image_t *img = rv_jpeg_decode(jpeg, len, RV_RGB8, 1);
        double t2 = s_now_ms();
        rv_image_destroy(&img);
        if (r >= 0) {
            theirs[r] = t1 - t0;
            ours[r] = t2 - t1;
        }
    }
    double mo = s_median(ours, reps), mt = s_median(theirs, reps);
    rsb_cv_time_imdecode(jpeg, len, reps, &cv);
    s_fig("ms", mt, "jpeg_decode_5mp_turbojpeg_ms");
    s_fig("ms", mo, "jpeg_decode_5mp_ms");
    s_fig("ms", cv, "jpeg_decode_5mp_opencv_imdecode_ms");
    s_fig("%", (mo - mt) / mt * 100.0, "jpeg_decode_5mp_overhead_pct");
    s_say("\nJPEG decode, 5 MP RGB (%zu bytes): raw TurboJPEG %.2f ms, rv_jpeg_decode %.2f ms "
          "(overhead %+.1f %%), OpenCV imdecode %.2f ms\n",
          len, mt, mo, (mo - mt) / mt * 100.0, cv);
    free(raw);
    tjDestroy(tj);
}

/* --- the whole front end against OpenCV -------------------------------------------- */

static ra_gencore_t *s_core(int w, int h, int reference)
{
    ra_gencore_params_t p;
    ra_gencore_params_init(&p);
    p.seed = 20261123;
    p.shape = RA_GENCORE_DISC;
    p.width = w;
    p.height = h;
    p.defects = reference ? 0 : RA_GENCORE_DEFECTS_ALL;
    p.reference = reference;
    return ra_gencore_render(&p);
}

static int s_bench_frontend(const char *label, int w, int h)
{
    ra_gencore_t *core = s_core(w, h, 0), *ref = s_core(w, h, 1);
    if (!core || !ref) {
        fprintf(stderr, "reman-bench: cannot render a %dx%d core: %s\n", w, h, rv_last_error());
        ra_gencore_destroy(&core);
        ra_gencore_destroy(&ref);
        return -1;
    }
    size_t len;
    const uint8_t *jpeg = ra_gencore_jpeg(core, &len);
    rv_image_t *rgb = rv_jpeg_decode(jpeg, len, RV_RGB8, 1);
    size_t rlen;
    const uint8_t *rjpeg = ra_gencore_jpeg(ref, &rlen);
    rv_image_t *refgray = rv_jpeg_decode(rjpeg, rlen, RV_GRAY8, 1);
    rv_image_t *lo = rv_image_new(w, h, RV_GRAY8), *hi = rv_image_new(w, h, RV_GRAY8);
    rv_frontend_t *fe = rv_frontend_new(w, h);
    int rc = -1;
    if (!rgb || !refgray || !lo || !hi || !fe) {
        fprintf(stderr, "reman-bench: %s\n", rv_last_error());
        goto out;
    }
    /* the learned reference band: reference gray +- 40 (what training would store) */
    rv_view_t rv = rv_image_view(refgray), lv = rv_image_view(lo), hv = rv_image_view(hi);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int g = rv_view_row(&rv, y)[x];
            rv_view_row(&lv, y)[x] = (uint8_t) (g > 40 ? g - 40 : 0);
            rv_view_row(&hv, y)[x] = (uint8_t) (g < 215 ? g + 40 : 255);
        }
    rv_view_t in = rv_image_view(rgb);
    rv_frontend_params_t params;
    rv_frontend_params_init(&params);
    int reps = s_reps < 256 ? s_reps : 256;
    double ours[256], cv[256], cvdec[256];
    rv_frontend_result_t res, last = {0};
    rsb_cv_times_t ct = {0};
    for (int r = -1; r < reps; r++) {
        if (rv_frontend_run(fe, &in, &lv, &hv, &params, &res) != RV_OK) {
            fprintf(stderr, "reman-bench: front end: %s\n", rv_last_error());
            goto out;
        }
        if (r >= 0)
            ours[r] = res.ms_total;
        rv_frontend_result_free(&last);
        last = res;
        if (rsb_cv_frontend(jpeg, len, rv.data, w, h, rv.stride, 24, &ct) != 0) {
            fprintf(stderr, "reman-bench: OpenCV front end failed\n");
            goto out;
        }
        if (r >= 0) {
            cv[r] = ct.total_nodecode_ms;
            cvdec[r] = ct.total_ms;
        }
    }
    double mo = s_median(ours, reps), mc = s_median(cv, reps), mcd = s_median(cvdec, reps);
    s_fig("ms", mo, "frontend_%s_ms", label);
    s_fig("ms", mc, "frontend_%s_opencv_ms", label);
    s_fig("ms", mcd, "frontend_%s_opencv_with_decode_ms", label);
    s_fig("x", mc / mo, "frontend_%s_speedup_vs_opencv", label);
    s_say("\nFront end, %s (%dx%d), decode excluded: station %.2f ms, OpenCV %.2f ms -> %.1fx\n",
          label, w, h, mo, mc, mc / mo);
    s_say("  station stages (last run): gray+rust %.2f, blur %.2f, black-hat+thr %.2f, "
          "dark blobs %.2f, change %.2f, edges %.2f, edge chains %.2f ms\n",
          last.ms_gray_rust, last.ms_blur, last.ms_blackhat, last.ms_dark_blobs, last.ms_change,
          last.ms_edges, last.ms_edge_chains);
    s_say("  OpenCV stages (last run): gray %.2f, blur %.2f, black-hat %.2f, thr %.2f, cc %.2f, "
          "hsv %.2f, inRange %.2f, absdiff %.2f, thr %.2f, Canny %.2f, contours %.2f ms\n",
          ct.gray_ms, ct.blur_ms, ct.blackhat_ms, ct.thresh_ms, ct.cc_ms, ct.hsv_ms,
          ct.inrange_ms, ct.absdiff_ms, ct.thresh2_ms, ct.canny_ms, ct.contours_ms);
    s_say("  outputs: station %zu dark blobs, %zu rust px, %zu change px, %zu edge chains; "
          "OpenCV %d blobs, %ld rust px, %ld diff px, %d contours\n",
          last.dark.count, last.rust_px, last.change_px, last.edges.count, ct.n_components,
          ct.rust_pixels, ct.diff_pixels, ct.n_contours);
    rc = 0;
out:
    rv_frontend_result_free(&last);
    rv_frontend_destroy(&fe);
    rv_image_destroy(&lo);
    rv_image_destroy(&hi);
    rv_image_destroy(&rgb);
    rv_image_destroy(&refgray);
    ra_gencore_destroy(&core);
    ra_gencore_destroy(&ref);
    return rc;
}

/* --- one part, JPEG to graded proposal, against OpenCV ---------------------------- */

#ifndef RS_FAMILIES_DIR
#define RS_FAMILIES_DIR "models/families"
#endif

/* The demo family drawn for a w x h camera: the 1280 x 960 family scaled. */
static rm_family_t *s_family_at(const char *id, int w, int h)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.json", RS_FAMILIES_DIR, id);
    char *text = rm_family_scaled_text(path, w, h);
    if (!text)
        return NULL;
    rm_family_t *fam = rm_family_load_text(text, strlen(text), "bench");
    free(text);
    return fam;
}

/* A 5 MP JPEG to a graded proposal. full = 0: the demo family as drawn (1280 x 960, 0.39 mm
 * per pixel), so the inspection shrinks the 5 MP frame on load to that resolution; full = 1:
 * the family redrawn for 5 MP (0.19 mm per pixel), every stage at 5 MP. The OpenCV way does
 * the same work at the same resolution (IMREAD_REDUCED_COLOR_2 where the station shrinks). */
static int s_bench_inspect(int full)
{
    const int w = 2592, h = 1944;
    const int fw = full ? w : 1280, fh = full ? h : 960, reduce = full ? 1 : 2;
    const char *tag = full ? "_fullres" : "";
    char dir[] = "/tmp/reman-bench-XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    int rc = -1;
    rm_family_t *fam = s_family_at("demo-disc", fw, fh);
    ra_reference_t *ref = NULL;
    ra_inspector_t *insp = NULL;
    ra_gencore_t *core = NULL;
    char master[600], *paths[8] = {0};
    if (!fam)
        goto out;
    ra_gencore_params_t p;
    ra_gencore_params_init(&p);
    p.shape = RA_GENCORE_DISC;
    p.width = w;
    p.height = h;
    p.seed = 9000;
    p.reference = p.canonical = 1;
    p.defects = 0;
    p.width = fw; /* the master is the family's frame */
    p.height = fh;
    core = ra_gencore_render(&p);
    if (!core || ra_gencore_write(core, dir, "master") != RV_OK)
        goto out;
    ra_gencore_destroy(&core);
    snprintf(master, sizeof master, "%s/master.jpg", dir);
    p.reference = p.canonical = 0;
    p.width = w; /* the camera's */
    p.height = h;
    for (int i = 0; i < 8; i++) {
        char name[32];
        p.seed = 5000 + (uint64_t) i;
        snprintf(name, sizeof name, "good%d", i);
        core = ra_gencore_render(&p);
        if (!core || ra_gencore_write(core, dir, name) != RV_OK)
            goto out;
        ra_gencore_destroy(&core);
        paths[i] = malloc(600);
        snprintf(paths[i], 600, "%s/%s.jpg", dir, name);
    }
    if (!(ref = ra_reference_train(fam, master, (const char *const *) paths, 8, NULL)) ||
        !(insp = ra_inspector_new(fam, ref)))
        goto out;
    p.seed = 20261123;
    p.defects = RA_GENCORE_DEFECTS_ALL;
    if (!(core = ra_gencore_render(&p)))
        goto out;
    size_t len;
    const uint8_t *jpeg = ra_gencore_jpeg(core, &len);
    /* the mark's place as identification reports it (identification itself is not timed:
     * the generator knows where it painted the code) */
    ra_code_t code;
    memset(&code, 0, sizeof code);
    memcpy(code.corners, ra_gencore_code(core)->corners, sizeof code.corners);
    int reps = s_reps < 256 ? s_reps : 256;
    double ours[256], cv[256], cvnd[256], st[7][256];
    ra_inspection_t r;
    const char *prop = "?";
    for (int k = -1; k < reps; k++) {
        if (ra_inspect_jpeg(insp, jpeg, len, &code, 0, &r) != RV_OK || r.refused) {
            fprintf(stderr, "reman-bench: inspect: %s %s\n", rv_last_error(), r.refusal);
            ra_inspection_free(&r);
            goto out;
        }
        if (k >= 0) {
            ours[k] = r.ms_total;
            st[0][k] = r.ms_decode;
            st[1][k] = r.ms_align + r.ms_warp;
            st[2][k] = r.ms_front;
            st[3][k] = r.ms_detect;
            st[4][k] = r.ms_anomaly;
            st[5][k] = r.ms_grade;
            st[6][k] = r.ms_warp;
        }
        prop = rm_grade_proposal(r.grade);
        ra_inspection_free(&r);
        rv_view_t mv = rv_image_view(ref->master), av = rv_image_view(ref->mean);
        double t = 0, nd = 0;
        if (rsb_cv_inspect(jpeg, len, mv.data, av.data, fw, fh, mv.stride, 24, reduce, &t,
                           &nd) != 0) {
            fprintf(stderr, "reman-bench: OpenCV inspect: %s\n", rv_last_error());
            goto out;
        }
        if (k >= 0) {
            cv[k] = t;
            cvnd[k] = nd;
        }
    }
    double mo = s_median(ours, reps), mc = s_median(cv, reps);
    double sm[7];
    for (int i = 0; i < 7; i++)
        sm[i] = s_median(st[i], reps);
    /* the station's way: the zones shared between two threads (the same findings) */
    double two[256], sd2[256];
    if (ra_inspector_set_threads(insp, 2) != RV_OK)
        goto out;
    for (int k = -1; k < reps; k++) {
        if (ra_inspect_jpeg(insp, jpeg, len, &code, 0, &r) != RV_OK || r.refused) {
            fprintf(stderr, "reman-bench: inspect, 2 threads: %s %s\n", rv_last_error(),
                    r.refusal);
            ra_inspection_free(&r);
            goto out;
        }
        if (k >= 0) {
            two[k] = r.ms_total;
            sd2[k] = r.ms_detect;
        }
        ra_inspection_free(&r);
    }
    ra_inspector_set_threads(insp, 1);
    s_fig("ms", mo, "inspect_5mp%s_ms", tag);
    s_fig("ms", s_median(two, reps), "inspect_5mp%s_2threads_ms", tag);
    s_fig("ms", mc, "inspect_5mp%s_opencv_ms", tag);
    s_fig("x", mc / mo, "inspect_5mp%s_speedup_vs_opencv", tag);
    s_say("\nInspection, 5 MP JPEG to a graded proposal, family at %dx%d (%.3f mm/px; %s): station "
          "%.1f ms (decode %.1f, align + warp %.1f (warp %.1f), maps %.1f, detectors %.1f, anomaly "
          "%.1f, grade %.2f), OpenCV way %.1f ms (%.1f without decode) -> %.1fx\n",
          fw, fh, rm_family_mm_per_px(fam), prop, mo, sm[0], sm[1], sm[6], sm[2], sm[3], sm[4],
          sm[5], mc, s_median(cvnd, reps), mc / mo);
    s_say("Inspection with the zones on 2 threads (ra_inspector_set_threads): %.1f ms (detectors "
          "%.1f)\n",
          s_median(two, reps), s_median(sd2, reps));
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "reman-bench: inspection benchmark: %s\n", rv_last_error());
    for (int i = 0; i < 8; i++)
        free(paths[i]);
    ra_gencore_destroy(&core);
    ra_inspector_destroy(&insp);
    ra_reference_destroy(&ref);
    rm_family_destroy(&fam);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "reman-bench: could not remove %s\n", dir);
    return rc;
}

/* --- the site (PostgreSQL) ------------------------------------------------------------ */

static int s_bench_site(const char *conninfo, long rows)
{
    char exe[4096], bindir[4096] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(bindir, sizeof bindir, "%s", exe);
        }
    }
    rsb_site_opts_t o = {.conninfo = conninfo, .bindir = bindir[0] ? bindir : NULL,
                         .rows = rows, .stations = 20, .drills = 50, .backlog_stations = 10,
                         .backlog_per_station = 6000, .quiet = 0,
                         .connections = 2 /* as reman-collector inserts by default */};
    rsb_site_figs_t f;
    s_say("\nsite: PostgreSQL (libpq), %ld decisions of %d stations, the collector and ten "
          "stations on this machine\n",
          rows, o.stations);
    int rc = rsb_site_bench(&o, &f);
    if (f.rows > 0) {
        s_fig("decisions", (double) f.rows, "site_rows");
        if (f.filled)
            s_fig("s", f.fill_s, "site_fill_s");
    }
    if (f.drills > 0) {
        s_fig("ms", f.drill_p50_ms, "site_trace_drill_ms");
        s_fig("ms", f.drill_p95_ms, "site_trace_drill_p95_ms");
        s_fig("ms", f.drill_max_ms, "site_trace_drill_max_ms");
        s_fig("records", f.drill_records, "site_trace_drill_records");
        s_fig("bool", f.drill_uses_index, "site_trace_drill_uses_index");
        s_say("site database: %lld decisions, %d stations, serials drawn from %ld cores%s\n"
              "trace drill (reman-audit history --site): median %.2f ms, p95 %.2f ms, max %.2f ms "
              "over %d random serials; %.1f records and %.1f evidence files each\n"
              "plan (EXPLAIN ANALYZE of the drill): %s\n%s\n",
              f.rows, f.stations, f.cores,
              f.filled ? "" : " (reused: filled by an earlier run)", f.drill_p50_ms,
              f.drill_p95_ms, f.drill_max_ms, f.drills, f.drill_records, f.drill_evidence,
              f.drill_uses_index ? "uses the serial index" : "DOES NOT USE THE SERIAL INDEX",
              f.plan);
        if (f.filled)
            s_say("filled %ld decisions in %.0f s (%.0f/s, generated and signed while the server "
                  "inserted)\n",
                  f.filled, f.fill_s, (double) f.filled / f.fill_s);
    }
    if (f.records_all_s > 0) {
        s_fig("ms", f.search_all_ms, "site_audit_search_ms");
        s_fig("ms", f.search_filtered_ms, "site_audit_search_filtered_ms");
        s_fig("ms", f.search_part_ms, "site_audit_search_serial_part_ms");
        if (f.search_part_noindex_ms > 0) {
            s_fig("ms", f.search_part_noindex_ms, "site_audit_search_serial_part_noindex_ms");
            s_fig("x", f.search_part_noindex_ms / f.search_part_ms,
                  "site_audit_search_serial_part_speedup");
        }
        s_fig("s", f.records_all_s, "site_stream_all_s");
        s_say("audit browser search (ra_site_search: the newest 2,000 and the count): no filter "
              "%.1f ms (%lld matched), a family and a route %.1f ms, a part of a serial %.1f ms "
              "(%lld matched; without the trigram index: %.1f ms, %lld matched); "
              "streaming every decision as the browser did before (ra_site_records) %.1f s\n",
              f.search_all_ms, f.search_all_matched, f.search_filtered_ms, f.search_part_ms,
              f.search_part_matched, f.search_part_noindex_ms, f.search_part_noindex_matched,
              f.records_all_s);
    }
    if (f.ingest_n > 0) {
        s_fig("1/s", f.ingest_per_s, "site_ingest_decisions_per_s");
        s_fig("1/s", f.verify_per_s, "site_verify_decisions_per_s");
        s_say("insert path (ra_site_insert, batches of 500, ten stations, %d connection%s): "
              "%.0f decisions/s; signature checks (one thread): %.0f/s\n",
              f.ingest_connections, f.ingest_connections == 1 ? "" : "s", f.ingest_per_s,
              f.verify_per_s);
    }
    if (f.catch_up_measured) {
        s_fig("s", f.catch_up_s, "site_catch_up_s");
        s_fig("1/s", (double) f.catch_up_n / f.catch_up_s, "site_catch_up_decisions_per_s");
        s_fig("s", f.catch_up_evidence_s, "site_catch_up_evidence_s");
        s_say("catch-up (reman-collector from the stations' replay services): %ld decisions in "
              "%.1f s (%.0f/s), their %ld evidence files after %.1f s (the backlog took %.0f s "
              "to make)\n",
              f.catch_up_n, f.catch_up_s, (double) f.catch_up_n / f.catch_up_s, f.catch_up_files,
              f.catch_up_evidence_s, f.backlog_s);
    }
    if (rc != 0)
        fprintf(stderr, "reman-bench: site: not every figure was measured\n");
    return rc;
}

/* --- the station window ---------------------------------------------------------- */

/* hmi_preview_1080p_fps and hmi_capture_to_proposal_5mp_ms are measured in the real window
 * by `reman-station --bench` (a GTK program: the benchmark, in app/, does not link GTK);
 * it is run from beside this program. 0 measured, 1 skipped (no display, not built), -1
 * failed. */
static int s_bench_hmi(void)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 32);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    snprintf(slash ? slash + 1 : exe, 32, "reman-station");
    if (access(exe, X_OK) != 0) {
        s_say("\nstation window: skipped (%s was not built: GTK 4 absent)\n", exe);
        return 1;
    }
    const char *d = getenv("DISPLAY"), *w = getenv("WAYLAND_DISPLAY");
    if ((!d || !*d) && (!w || !*w)) {
        s_say("\nstation window: skipped (no display; run under Xvfb: xvfb-run -a reman-bench "
              "--only hmi)\n");
        return 1;
    }
    s_say("\nstation window (reman-station --bench):\n");
    fflush(stdout);
    char *args[] = {exe, "--bench", s_json ? "--json" : NULL, NULL};
    pid_t pid;
    if (posix_spawn(&pid, exe, NULL, NULL, args, environ) != 0)
        return -1;
    int st = 0;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return 0;
}

/* --- main -------------------------------------------------------------------------- */

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: reman-bench [--json] [--reps N]\n"
            "                   [--only kernels|jpeg|inspect|frontend|line|site|hmi]\n"
            "                   [--soak N] [--site-conninfo CONNINFO] [--site-rows N]\n"
            "Measures, on this machine, single thread, median of N runs (N >= 20, default 21):\n"
            "  membw_read_gbs                      single-core memory read bandwidth\n"
            "  kernel.<name>.<isa>.{ms,pct_membw}  each kernel on a 5 MP image, per instruction set\n"
            "  kernel.<name>.opencv.ms and kernel.<name>.speedup_vs_opencv\n"
            "  jpeg_decode_5mp_overhead_pct        rv_jpeg_decode against raw TurboJPEG\n"
            "  frontend_<2|5|12>mp_speedup_vs_opencv  the detection front end against OpenCV\n"
            "  inspect_5mp_ms, inspect_5mp_speedup_vs_opencv  a 5 MP JPEG to a graded proposal\n"
            "  inspect_5mp_2threads_ms             the same with the zones on 2 threads\n"
            "  inspect_5mp_fullres_*               the same with the family redrawn for 5 MP (no\n"
            "                                      shrink-on-load: every stage at 5 MP)\n"
            "  line_durable_decisions_per_s        decisions stored (fsync'd, signed, chained) and\n"
            "                                      acknowledged per second, group commit of 64\n"
            "  line_commit_to_subscriber_p99_ms    commit to a subscriber on loopback (also p50, max)\n"
            "  line_soak_rss_growth_kb             resident memory growth over --soak N decisions\n"
            "                                      (default 100000) through store, PUB and SUB\n"
            "  site_trace_drill_ms                 every decision of one serial across all stations,\n"
            "                                      with its evidence, on a site database of --site-rows\n"
            "                                      decisions (default 1000000; median of 50 serials, p95)\n"
            "  site_ingest_decisions_per_s         ten stations' decisions through ra_site_insert on two\n"
            "                                      connections, as reman-collector inserts\n"
            "  site_catch_up_s                     reman-collector catching up 60,000 decisions of ten\n"
            "                                      stations (10 minutes at 100/s) from their stores\n"
            "  hmi_preview_1080p_fps               1080p frames painted per second in the station\n"
            "                                      window with an overlay (reman-station --bench)\n"
            "  hmi_capture_to_proposal_5mp_ms      a 5 MP frame in hand to the proposal shown\n"
            "  The station figures need a display (xvfb-run -a reman-bench --only hmi).\n"
            "  The site figures need a PostgreSQL database of their own: --site-conninfo CONNINFO\n"
            "  or RS_SITE_CONNINFO (scripts/bench-site.sh starts a server for them); without one\n"
            "  they are skipped.\n"
            "Exit status: 0 when every figure was measured, 1 otherwise, 2 for a usage error.\n");
}

int main(int argc, char **argv)
{
    rv_memory_keep(); /* images freed stay for the next (rv_memory.h) */
    const char *only = NULL, *site_conninfo = NULL;
    long soak = 100000, site_rows = 1000000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            s_json = 1;
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
            s_reps = atoi(argv[++i]);
            if (s_reps < 20) {
                fprintf(stderr, "reman-bench: --reps must be at least 20\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--soak") && i + 1 < argc) {
            soak = atol(argv[++i]);
            if (soak < 20000) {
                fprintf(stderr, "reman-bench: --soak must be at least 20000\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--site-conninfo") && i + 1 < argc) {
            site_conninfo = argv[++i];
        } else if (!strcmp(argv[i], "--site-rows") && i + 1 < argc) {
            site_rows = atol(argv[++i]);
            if (site_rows < 1000) {
                fprintf(stderr, "reman-bench: --site-rows must be at least 1000\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            s_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--version")) {
            printf("%s\n", ra_version());
            return 0;
        } else {
            fprintf(stderr, "reman-bench: unknown argument '%s'\n", argv[i]);
            s_usage(stderr);
            return 2;
        }
    }
    if (rv_init() != RV_OK || rsb_cv_init() != 0) {
        fprintf(stderr, "reman-bench: set-up failed: %s\n", rv_last_error());
        return 1;
    }
    int failed = 0;
    s_say("%s, %s\n%s\nsingle thread, medians of %d runs\n", ra_version(), rv_describe(),
          rsb_cv_info(), s_reps);

    double bw = 0;
    if (!only || strcmp(only, "site") != 0) {
        bw = s_membw_gbs();
        s_fig("GB/s", bw, "membw_read_gbs");
        s_say("\nmemory read bandwidth (one core, 1 GiB): %.2f GB/s\n", bw);
    }

    const char *isas[] = {"scalar", "sse2", "avx2", "avx512"};
    const int nisa = 4;
    if (!only || !strcmp(only, "kernels")) {
        ra_gencore_t *core = s_core(2592, 1944, 0);
        if (!core) {
            fprintf(stderr, "reman-bench: %s\n", rv_last_error());
            return 1;
        }
        rv_view_t rgb = rv_image_view(ra_gencore_rgb(core));
        int w = rgb.width, h = rgb.height;
        rv_image_t *g = rv_image_new(w, h, RV_GRAY8), *g2 = rv_image_new(w, h, RV_GRAY8),
                   *o = rv_image_new(w, h, RV_GRAY8), *o2 = rv_image_new(w, h, RV_GRAY8),
                   *lo = rv_image_new_filled(w, h, RV_GRAY8, 60),
                   *hi = rv_image_new_filled(w, h, RV_GRAY8, 180),
                   *ro = rv_image_new(w, h, RV_RGB8);
        rv_view_t gv = rv_image_view(g), g2v = rv_image_view(g2), ov = rv_image_view(o),
                  o2v = rv_image_view(o2), lov = rv_image_view(lo), hiv = rv_image_view(hi),
                  rov = rv_image_view(ro);
        rv_gray_from_rgb(&rgb, &gv);
        rv_gauss5(&gv, &g2v);
        uint32_t *ibuf = malloc(sizeof(uint32_t) * (size_t) w * h);
        s_imgs_t im = {&rgb, &gv, &g2v, &ov, &o2v, &lov, &hiv, &rov};
        s_pool_t rgbp = {0}, grayp = {0};
        if (s_pool_new(&rgbp, &rgb, s_reps + 1) != 0 || s_pool_new(&grayp, &gv, 4 * s_reps + 4) != 0) {
            fprintf(stderr, "reman-bench: cannot allocate the input pools\n");
            return 1;
        }
        double npx = (double) w * h;
        s_say("\nkernels on a 5 MP core (%dx%d), inputs read from memory (not cache):\n"
              "ms (GB/s read + written, %% of the read bandwidth); speed-up against OpenCV compares both on a cached input\n",
              w, h);
        s_say("%-16s", "kernel");
        for (int i = 0; i < nisa; i++)
            s_say("%22s", isas[i]);
        s_say("%12s%10s\n", "OpenCV", "speed-up");
        for (int k = 0; k < S_NKERNELS; k++) {
            const s_kernel_t *kd = &s_kernels[k];
            s_say("%-16s", kd->name);
            double best = 0;
            for (int i = 0; i < nisa; i++) {
                if (rv_simd_force(isas[i]) != RV_OK) {
                    s_say("%22s", "n/a");
                    continue;
                }
                double ms = s_time_kernel(kd->name, im, &rgbp, &grayp, 1, ibuf);
                double hot = s_time_kernel(kd->name, im, &rgbp, &grayp, 0, ibuf);
                if (ms < 0) {
                    failed = 1;
                    s_say("%22s", "failed");
                    continue;
                }
                double gbs = kd->bytes_per_px * npx / (ms * 1e6);
                s_fig("ms", ms, "kernel.%s.%s.ms", kd->name, isas[i]);
                s_fig("ms", hot, "kernel.%s.%s.hot_ms", kd->name, isas[i]);
                s_fig("%", gbs / bw * 100.0, "kernel.%s.%s.pct_membw", kd->name, isas[i]);
                char cell[32];
                snprintf(cell, sizeof cell, "%.3f (%.1f, %3.0f%%)", ms, gbs, gbs / bw * 100);
                s_say("%22s", cell);
                best = hot; /* the highest set is last; OpenCV runs hot too */
            }
            rv_simd_force(rv_simd_best());
            if (kd->opencv) {
                double cvms = 0;
                if (rsb_cv_time_op(kd->opencv, kd->opencv_on_rgb ? &rgb : &gv, s_reps, &cvms) == 0 &&
                    best > 0) {
                    s_fig("ms", cvms, "kernel.%s.opencv.ms", kd->name);
                    s_fig("x", cvms / best, "kernel.%s.speedup_vs_opencv", kd->name);
                    s_say("%12.3f%9.1fx", cvms, cvms / best);
                }
            }
            s_say("\n");
        }
        free(ibuf);
        s_pool_free(&rgbp);
        s_pool_free(&grayp);
        rv_image_destroy(&g);
        rv_image_destroy(&ro);
        rv_image_destroy(&g2);
        rv_image_destroy(&o);
        rv_image_destroy(&o2);
        rv_image_destroy(&lo);
        rv_image_destroy(&hi);
        ra_gencore_destroy(&core);
    }
    rv_simd_force(rv_simd_best());

    if (!only || !strcmp(only, "jpeg")) {
        ra_gencore_t *core = s_core(2592, 1944, 0);
        if (core) {
            size_t len;
            const uint8_t *jpeg = ra_gencore_jpeg(core, &len);
            s_bench_jpeg(jpeg, len, 2592, 1944);
            ra_gencore_destroy(&core);
        } else
            failed = 1;
    }

    if (!only || !strcmp(only, "inspect")) {
        if (s_bench_inspect(0) != 0 || s_bench_inspect(1) != 0)
            failed = 1;
    }

    if (!only || !strcmp(only, "line")) {
        rsb_line_figs_t lf;
        s_say("\nline: store (SQLite WAL, synchronous=FULL) + PUB + SUB on loopback, one process\n");
        if (rsb_line_bench(&lf, soak) != 0) {
            fprintf(stderr, "reman-bench: line: not every figure was measured\n");
            failed = 1;
        } else {
            s_fig("1/s", lf.durable_per_s, "line_durable_decisions_per_s");
            s_fig("1/s", lf.durable_single_per_s, "line_durable_single_decisions_per_s");
            s_fig("ms", lf.commit_to_sub_p50_ms, "line_commit_to_subscriber_p50_ms");
            s_fig("ms", lf.commit_to_sub_p99_ms, "line_commit_to_subscriber_p99_ms");
            s_fig("ms", lf.commit_to_sub_max_ms, "line_commit_to_subscriber_max_ms");
            s_fig("kB", lf.soak_rss_growth_kb, "line_soak_rss_growth_kb");
            s_fig("kB", lf.soak_rss_growth_half_kb, "line_soak_rss_growth_second_half_kb");
            s_fig("decisions", (double) lf.soak_decisions, "line_soak_decisions");
            s_fig("1/s", lf.soak_per_s, "line_soak_decisions_per_s");
            s_fig("decisions", (double) lf.delivered_missing, "line_delivered_missing");
            s_say("store on %s\n"
                  "durable decisions/s: %.0f in groups of %d (median of 5 runs of 2048), %.0f one per commit\n"
                  "commit -> subscriber: p50 %.3f ms, p99 %.3f ms, max %.3f ms (%d decisions)\n"
                  "soak: %ld decisions at %.0f/s, resident memory %+.0f kB from 10%% to the end "
                  "(%+.0f kB over the second half), %ld not delivered\n",
                  lf.fs, lf.durable_per_s, lf.batch, lf.durable_single_per_s,
                  lf.commit_to_sub_p50_ms, lf.commit_to_sub_p99_ms, lf.commit_to_sub_max_ms,
                  lf.latency_samples, lf.soak_decisions, lf.soak_per_s, lf.soak_rss_growth_kb,
                  lf.soak_rss_growth_half_kb, lf.delivered_missing);
        }
    }

    if (!only || !strcmp(only, "site")) {
        if (!site_conninfo)
            site_conninfo = getenv("RS_SITE_CONNINFO");
        if (!site_conninfo || !*site_conninfo) {
            if (only) {
                fprintf(stderr, "reman-bench: site: needs a PostgreSQL database of its own: "
                                "--site-conninfo CONNINFO or RS_SITE_CONNINFO (scripts/bench-site.sh "
                                "starts a server and runs it)\n");
                failed = 1;
            } else {
                s_say("\nsite: skipped (no --site-conninfo or RS_SITE_CONNINFO; "
                      "scripts/bench-site.sh runs it)\n");
            }
        } else if (s_bench_site(site_conninfo, site_rows) != 0) {
            failed = 1;
        }
    }

    if (!only || !strcmp(only, "frontend")) {
        if (s_bench_frontend("2mp", 1600, 1200) != 0)
            failed = 1;
        if (s_bench_frontend("5mp", 2592, 1944) != 0)
            failed = 1;
        if (s_bench_frontend("12mp", 4000, 3000) != 0)
            failed = 1;
    }

    if (!only || !strcmp(only, "hmi")) {
        int r = s_bench_hmi();
        if (r < 0 || (r > 0 && only))
            failed = 1;
    }
    return failed;
}
