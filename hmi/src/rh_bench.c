/* rh_bench.c - `reman-station --bench`: the station's two speed figures, measured in the
 * real window (a display is needed; under CI, Xvfb):
 *
 *   hmi_preview_1080p_fps           1920x1080 frames from a camera thread (each copied into
 *                                   a texture, as rh_camera does) shown in a GtkPicture with
 *                                   an overlay drawn over every frame (zone outlines, boxes
 *                                   and labels, as after an inspection): frames painted per
 *                                   second of wall time.
 *   hmi_capture_to_proposal_5mp_ms  a 5 MP frame in hand (decoded, as the camera delivers it)
 *                                   to the proposal ready to show: the code read from the
 *                                   image, the part aligned, inspected and graded by the cell
 *                                   (ra_cell_inspect), and the findings image made (the
 *                                   texture with labels in mm). Median of the runs. The
 *                                   plain and heat-map images, made after the proposal is
 *                                   shown, are timed apart.
 *
 * The 5 MP family reference is learnt first from generated good discs (not timed). */
#include "rh_bench.h"

#include "rh_camera.h"

#include "ra/ra_cell.h"
#include "ra/ra_gencore.h"
#include "ra/ra_reference.h"
#include "rm/rm_registry.h"
#include "rv/rv.h"
#include "rv/rv_io.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static double s_median(double *v, int n)
{
    qsort(v, (size_t) n, sizeof *v, s_cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void s_fig(gboolean json, const char *name, double value, const char *unit)
{
    if (json)
        printf("{\"name\":\"%s\",\"value\":%.3f,\"unit\":\"%s\"}\n", name, value, unit);
    else
        printf("%-36s %10.2f %s\n", name, value, unit);
    fflush(stdout);
}

/* ------------------------------------------------------------ capture to proposal */

static ra_gencore_t *s_core(int w, int h, uint64_t seed, int reference, int defects)
{
    ra_gencore_params_t p;
    ra_gencore_params_init(&p);
    p.shape = RA_GENCORE_DISC;
    p.width = w;
    p.height = h;
    p.seed = seed;
    p.reference = p.canonical = reference;
    p.defects = defects ? RA_GENCORE_DEFECTS_ALL : 0;
    return ra_gencore_render(&p);
}

static int s_capture_to_proposal(const char *families, int reps, gboolean json)
{
    int rc = -1;
    char *dir = g_dir_make_tmp("rh-bench-XXXXXX", NULL);
    const int w = 2592, h = 1944;
    /* the demo disc family drawn for a 5 MP camera, alone in a registry of its own */
    char *src = g_build_filename(families, "demo-disc.json", NULL);
    char *text = dir ? rm_family_scaled_text(src, w, h) : NULL;
    char *dst = dir ? g_build_filename(dir, "demo-disc.json", NULL) : NULL;
    rm_registry_t *reg = text && g_file_set_contents(dst, text, -1, NULL)
                             ? rm_registry_load_dir(dir)
                             : NULL;
    g_free(src);
    g_free(dst);
    free(text);
    const rm_family_t *fam = reg ? rm_registry_get(reg, "demo-disc") : NULL;
    ra_reference_t *ref = NULL;
    ra_cell_t *cell = NULL;
    ra_gencore_t *core = NULL;
    char *paths[8] = {0};
    if (!dir || !fam) {
        fprintf(stderr, "reman-station --bench: families: %s\n", rv_last_error());
        goto out;
    }
    fprintf(stderr, "bench: learning a 5 MP disc reference from 8 generated good parts...\n");
    if (!(core = s_core(w, h, 9000, 1, 0)) || ra_gencore_write(core, dir, "master") != RV_OK)
        goto out;
    ra_gencore_destroy(&core);
    for (int i = 0; i < 8; i++) {
        char name[32];
        g_snprintf(name, sizeof name, "good%d", i);
        if (!(core = s_core(w, h, 5000 + (uint64_t) i, 0, 0)) ||
            ra_gencore_write(core, dir, name) != RV_OK)
            goto out;
        ra_gencore_destroy(&core);
        paths[i] = g_strdup_printf("%s/%s.jpg", dir, name);
    }
    char *master = g_strdup_printf("%s/master.jpg", dir);
    ref = ra_reference_train(fam, master, (const char *const *) paths, 8, NULL);
    g_free(master);
    char *refpath = g_strdup_printf("%s/demo-disc.ref", dir);
    int saved = ref && ra_reference_save(ref, refpath) == RV_OK;
    g_free(refpath);
    if (!saved) {
        fprintf(stderr, "reman-station --bench: reference: %s\n", rv_last_error());
        goto out;
    }
    /* as the station runs it: the zones on every core */
    ra_cell_opts_t co = {.registry = reg, .references = dir, .identify = 1, .keep_overlay = 1,
                         .threads = (int) MIN(g_get_num_processors(), 8)};
    if (!(cell = ra_cell_new(&co)) || !(core = s_core(w, h, 20261123, 0, 1)))
        goto out;
    /* the frame as the camera hands it over: its JPEG bytes and the decoded image */
    size_t len = 0;
    const uint8_t *jpeg = ra_gencore_jpeg(core, &len);
    ra_frame_t frame;
    memset(&frame, 0, sizeof frame);
    frame.jpeg = (uint8_t *) jpeg;
    frame.jpeg_len = len;
    frame.rgb = (rv_image_t *) ra_gencore_rgb(core);
    g_strlcpy(frame.source, "bench", sizeof frame.source);
    g_strlcpy(frame.name, "bench-5mp.jpg", sizeof frame.name);
    double total[64], inspect[64], show[64], after[64];
    if (reps > 64)
        reps = 64;
    const char *proposal = "?";
    for (int k = -1; k < reps; k++) {
        ra_cell_result_t r;
        gint64 t0 = g_get_monotonic_time();
        ra_cell_inspect(cell, frame.name, &frame, "", 0, NULL, &r);
        gint64 t1 = g_get_monotonic_time();
        /* shown with the proposal: the findings image; the plain and heat-map images
         * follow in a second task (rh_window.c), timed apart */
        GdkTexture *b = rh_texture_labelled(r.overlay, json_object_get(r.line, "findings"));
        gint64 t2 = g_get_monotonic_time();
        GdkTexture *a = rh_texture_from_image(r.aligned);
        GdkTexture *c = rh_texture_from_image(r.heat);
        gint64 t3 = g_get_monotonic_time();
        if (!r.graded) {
            fprintf(stderr, "reman-station --bench: not graded: %s\n",
                    json_string_value(json_object_get(r.line, "refused")));
            ra_cell_result_free(&r);
            goto out;
        }
        proposal = json_string_value(json_object_get(r.line, "proposal")) ? "graded" : "?";
        if (k >= 0) {
            total[k] = (double) (t2 - t0) / 1000.0;
            inspect[k] = (double) (t1 - t0) / 1000.0;
            show[k] = (double) (t2 - t1) / 1000.0;
            after[k] = (double) (t3 - t2) / 1000.0;
        }
        g_clear_object(&a);
        g_clear_object(&b);
        g_clear_object(&c);
        ra_cell_result_free(&r);
    }
    (void) proposal;
    s_fig(json, "hmi_capture_to_proposal_5mp_ms", s_median(total, reps), "ms");
    s_fig(json, "hmi_capture_to_proposal_5mp_inspect_ms", s_median(inspect, reps), "ms");
    s_fig(json, "hmi_capture_to_proposal_5mp_findings_image_ms", s_median(show, reps), "ms");
    s_fig(json, "hmi_after_proposal_5mp_plain_and_heat_ms", s_median(after, reps), "ms");
    rc = 0;
out:
    for (int i = 0; i < 8; i++)
        g_free(paths[i]);
    ra_gencore_destroy(&core);
    ra_cell_destroy(&cell);
    ra_reference_destroy(&ref);
    rm_registry_destroy(&reg);
    if (dir) {
        GDir *d = g_dir_open(dir, 0, NULL);
        const char *n;
        while (d && (n = g_dir_read_name(d))) {
            char *p = g_build_filename(dir, n, NULL);
            g_unlink(p);
            g_free(p);
        }
        if (d)
            g_dir_close(d);
        g_rmdir(dir);
        g_free(dir);
    }
    return rc;
}

/* ------------------------------------------------------------ preview */

typedef struct {
    GtkWidget *window, *picture, *overlay;
    rv_image_t *frames[4];
    GThread *thread;
    GMutex lock;
    GdkTexture *mailbox;   /* the newest texture from the camera thread */
    gboolean stop;
    guint64 made, shown, painted, painted_at_start;
    gint64 t_start, t_end;
    double seconds;
    gboolean json;
    int status;
} s_preview_t;

static gpointer s_producer(gpointer data)
{
    s_preview_t *p = data;
    for (guint64 i = 0;; i++) {
        g_mutex_lock(&p->lock);
        gboolean stop = p->stop;
        gboolean full = p->mailbox != NULL;
        g_mutex_unlock(&p->lock);
        if (stop)
            break;
        if (full) { /* the window has not taken the last one: a camera would drop it */
            g_usleep(1000);
            continue;
        }
        GdkTexture *t = rh_texture_from_image(p->frames[i % 4]);
        g_mutex_lock(&p->lock);
        p->mailbox = t;
        p->made++;
        g_mutex_unlock(&p->lock);
        g_main_context_wakeup(NULL);
    }
    return NULL;
}

static gboolean s_tick(GtkWidget *w, GdkFrameClock *clock, gpointer data)
{
    (void) w;
    (void) clock;
    s_preview_t *p = data;
    g_mutex_lock(&p->lock);
    GdkTexture *t = p->mailbox;
    p->mailbox = NULL;
    g_mutex_unlock(&p->lock);
    if (t) {
        gtk_picture_set_paintable(GTK_PICTURE(p->picture), GDK_PAINTABLE(t));
        g_object_unref(t);
        p->shown++;
        gtk_widget_queue_draw(p->overlay);
    }
    return G_SOURCE_CONTINUE;
}

/* The overlay after an inspection: zone outlines, finding boxes and their labels. */
static void s_draw_overlay(GtkDrawingArea *a, cairo_t *cr, int w, int h, gpointer data)
{
    (void) a;
    s_preview_t *p = data;
    p->painted++;
    cairo_set_line_width(cr, 2);
    cairo_set_source_rgb(cr, 0.3, 0.6, 1.0);
    for (int z = 1; z <= 4; z++) {
        cairo_arc(cr, w / 2.0, h / 2.0, z * h / 10.0, 0, 2 * G_PI);
        cairo_stroke(cr);
    }
    cairo_select_font_face(cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 16);
    for (int i = 0; i < 30; i++) {
        double x = (i * 137) % (w - 120) + 10, y = (i * 89) % (h - 60) + 30;
        cairo_set_source_rgb(cr, 1, 0.2, 0.2);
        cairo_rectangle(cr, x, y, 60, 24);
        cairo_stroke(cr);
        char label[32];
        g_snprintf(label, sizeof label, "crack %.1f mm", 3.0 + i);
        cairo_set_source_rgba(cr, 0, 0, 0, 0.7);
        cairo_rectangle(cr, x, y - 20, 110, 20);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_move_to(cr, x + 3, y - 5);
        cairo_show_text(cr, label);
    }
}

static gboolean s_preview_start(gpointer data)
{
    s_preview_t *p = data;
    p->t_start = g_get_monotonic_time();
    p->painted_at_start = p->painted;
    p->shown = 0;
    return G_SOURCE_REMOVE;
}

static gboolean s_preview_stop(gpointer data)
{
    s_preview_t *p = data;
    p->t_end = g_get_monotonic_time();
    double secs = (double) (p->t_end - p->t_start) / 1e6;
    double fps = (double) (p->painted - p->painted_at_start) / secs;
    double shown = (double) p->shown / secs;
    GskRenderer *r = gtk_native_get_renderer(GTK_NATIVE(p->window));
    fprintf(stderr, "bench: preview renderer %s, %.1f s, %llu frames painted, %llu shown\n",
            r ? G_OBJECT_TYPE_NAME(r) : "?", secs,
            (unsigned long long) (p->painted - p->painted_at_start),
            (unsigned long long) p->shown);
    /* a frame counts when it was painted with a new image under the overlay */
    s_fig(p->json, "hmi_preview_1080p_fps", fmin(fps, shown), "fps");
    p->status = 0;
    gtk_window_destroy(GTK_WINDOW(p->window));
    return G_SOURCE_REMOVE;
}

static int s_preview(double seconds, gboolean json)
{
    s_preview_t p;
    memset(&p, 0, sizeof p);
    p.seconds = seconds;
    p.json = json;
    p.status = -1;
    g_mutex_init(&p.lock);
    for (int i = 0; i < 4; i++) {
        ra_gencore_t *c = s_core(1920, 1080, 700 + (uint64_t) i, 0, 1);
        if (!c)
            return -1;
        const rv_image_t *im = ra_gencore_rgb(c);
        rv_view_t v = rv_image_view(im);
        p.frames[i] = rv_image_new(v.width, v.height, RV_RGB8);
        rv_view_t d = rv_image_view(p.frames[i]);
        rv_view_copy(&v, &d);
        ra_gencore_destroy(&c);
    }
    p.window = gtk_window_new();
    gtk_window_set_default_size(GTK_WINDOW(p.window), 1920, 1080);
    gtk_window_set_title(GTK_WINDOW(p.window), "reman-station preview bench");
    GtkWidget *ov = gtk_overlay_new();
    p.picture = gtk_picture_new();
    gtk_picture_set_can_shrink(GTK_PICTURE(p.picture), TRUE);
    gtk_overlay_set_child(GTK_OVERLAY(ov), p.picture);
    p.overlay = gtk_drawing_area_new();
    gtk_drawing_area_set_draw_func(GTK_DRAWING_AREA(p.overlay), s_draw_overlay, &p, NULL);
    gtk_overlay_add_overlay(GTK_OVERLAY(ov), p.overlay);
    gtk_window_set_child(GTK_WINDOW(p.window), ov);
    gtk_widget_add_tick_callback(p.picture, s_tick, &p, NULL);
    gtk_window_present(GTK_WINDOW(p.window));
    p.thread = g_thread_new("bench-camera", s_producer, &p);
    g_timeout_add(1000, s_preview_start, &p); /* one second to settle */
    g_timeout_add((guint) (1000 + seconds * 1000), s_preview_stop, &p);
    while (g_list_model_get_n_items(gtk_window_get_toplevels()) > 0)
        g_main_context_iteration(NULL, TRUE);
    g_mutex_lock(&p.lock);
    p.stop = TRUE;
    g_mutex_unlock(&p.lock);
    g_thread_join(p.thread);
    g_clear_object(&p.mailbox);
    for (int i = 0; i < 4; i++)
        rv_image_destroy(&p.frames[i]);
    g_mutex_clear(&p.lock);
    return p.status;
}

int rh_bench_run(const char *families, double seconds, int reps, gboolean json)
{
    if (rv_init() != RV_OK)
        return 3;
    if (!gtk_init_check()) {
        fprintf(stderr, "reman-station --bench: no display (run it under Xvfb: xvfb-run -a)\n");
        return 3;
    }
    fprintf(stderr, "bench: instruction set %s\n", rv_simd_isa());
    int rc = s_preview(seconds, json);
    if (s_capture_to_proposal(families, reps, json) != 0)
        rc = -1;
    return rc == 0 ? 0 : 1;
}
