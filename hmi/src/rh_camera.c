/* rh_camera.c - the capture thread (rh_camera.h). */
#include "rh_camera.h"

#include "rv/rv.h"

#include <glib/gi18n.h>
#include <pango/pangocairo.h>
#include <string.h>

RhFrame *rh_frame_ref(RhFrame *fr)
{
    if (fr)
        g_atomic_int_inc(&fr->ref);
    return fr;
}

void rh_frame_unref(RhFrame *fr)
{
    if (fr && g_atomic_int_dec_and_test(&fr->ref)) {
        ra_frame_destroy(&fr->f);
        g_free(fr);
    }
}

/* Pixel buffers of textures, kept when a texture is finalised and handed to the next one
 * of the same size: a 5 MP frame is 20 MB, and fresh memory costs a page fault per 4 kB
 * at its first touch (60 ms for 20 MB on the machines measured, against 3 ms to fill it;
 * docs/benchmarks.md). At most S_POOL buffers wait; the preview and the three images of an
 * inspection reuse them. */
#define S_POOL 8
static GMutex s_pool_lock;
static struct {
    gsize size;
    guint8 *mem;
} s_pool[S_POOL];

static guint8 *s_pool_get(gsize size)
{
    guint8 *m = NULL;
    g_mutex_lock(&s_pool_lock);
    for (int i = 0; i < S_POOL && !m; i++)
        if (s_pool[i].mem && s_pool[i].size == size) {
            m = s_pool[i].mem;
            s_pool[i].mem = NULL;
        }
    g_mutex_unlock(&s_pool_lock);
    return m ? m : g_malloc(size);
}

typedef struct {
    guint8 *mem;
    gsize size;
} s_pooled_t;

static void s_pool_put(gpointer p)
{
    s_pooled_t *b = p;
    g_mutex_lock(&s_pool_lock);
    int slot = -1;
    for (int i = 0; i < S_POOL && slot < 0; i++)
        if (!s_pool[i].mem)
            slot = i;
    if (slot < 0) { /* full: the oldest goes (slot 0), the rest move up */
        g_free(s_pool[0].mem);
        memmove(s_pool, s_pool + 1, sizeof s_pool - sizeof *s_pool);
        slot = S_POOL - 1;
    }
    s_pool[slot].mem = b->mem;
    s_pool[slot].size = b->size;
    g_mutex_unlock(&s_pool_lock);
    g_free(b);
}

/* A texture over a pooled buffer of w x h B8G8R8A8 (the buffer back to the pool with it). */
static GdkTexture *s_pooled_texture(guint8 *mem, int w, int h)
{
    s_pooled_t *b = g_new(s_pooled_t, 1);
    b->mem = mem;
    b->size = (gsize) w * 4 * (gsize) h;
    GBytes *bytes = g_bytes_new_with_free_func(mem, b->size, s_pool_put, b);
    GdkTexture *t =
        gdk_memory_texture_new(w, h, GDK_MEMORY_B8G8R8A8_PREMULTIPLIED, bytes, (gsize) w * 4);
    g_bytes_unref(bytes);
    return t;
}

/* RGB8 rows into B8G8R8A8 (opaque) rows. */
static void s_to_bgra(const rv_view_t *v, guint8 *buf, gsize row)
{
    for (int y = 0; y < v->height; y++) {
        const uint8_t *s = rv_view_row(v, y);
        guint32 *d = (guint32 *) (void *) (buf + row * (gsize) y);
        for (int x = 0; x < v->width; x++, s += 3)
            d[x] = GUINT32_TO_LE(0xff000000u | ((guint32) s[0] << 16) | ((guint32) s[1] << 8) |
                                 s[2]);
    }
}

GdkTexture *rh_texture_from_image(const rv_image_t *im)
{
    if (!im)
        return NULL;
    rv_view_t v = rv_image_view(im);
    if (v.fmt != RV_RGB8)
        return NULL;
    /* B8G8R8A8 premultiplied (opaque here), byte for byte: GDK's default; both renderers
     * take it as it is, with no conversion on the main thread */
    gsize row = (gsize) v.width * 4;
    guint8 *buf = s_pool_get(row * (gsize) v.height);
    s_to_bgra(&v, buf, row);
    return s_pooled_texture(buf, v.width, v.height);
}

/* A finding type's word in the interface language. */
static const char *s_type_word(const char *type)
{
    static const struct {
        const char *type, *word;
    } words[] = {{"crack", N_("crack")},     {"corrosion", N_("corrosion")},
                 {"pit", N_("pit")},         {"missing", N_("missing")},
                 {"wear", N_("wear")},       {"dimension", N_("dimension")}};
    for (size_t i = 0; i < G_N_ELEMENTS(words); i++)
        if (!strcmp(type, words[i].type))
            return _(words[i].word);
    return type;
}

/* Each finding's measurement written beside its box (cairo text over the drawn overlay):
 * "crack 42.0 mm", "pit Ø1.2 mm", "rust 310 mm²". */
GdkTexture *rh_texture_labelled(const rv_image_t *im, const json_t *findings)
{
    if (!im)
        return NULL;
    rv_view_t v = rv_image_view(im);
    if (v.fmt != RV_RGB8)
        return NULL;
    /* cairo draws on the texture's own pooled buffer (ARGB32/RGB24 in memory is B, G, R, A
     * on a little-endian machine: GDK's B8G8R8A8) */
    int cstride = cairo_format_stride_for_width(CAIRO_FORMAT_RGB24, v.width);
    if (G_BYTE_ORDER != G_LITTLE_ENDIAN || cstride != v.width * 4)
        return rh_texture_from_image(im); /* no labels rather than wrong colours */
    guint8 *data = s_pool_get((gsize) cstride * (gsize) v.height);
    s_to_bgra(&v, data, (gsize) cstride);
    cairo_surface_t *cs = cairo_image_surface_create_for_data(data, CAIRO_FORMAT_RGB24, v.width,
                                                              v.height, cstride);
    if (cairo_surface_status(cs) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(cs);
        return s_pooled_texture(data, v.width, v.height);
    }
    cairo_t *cr = cairo_create(cs);
    double fs = v.height / 45.0;
    /* Pango, not cairo's own text: it falls back to another installed font for what the
     * first one lacks (the Chinese words of the labels; cairo_show_text drew empty boxes) */
    PangoLayout *pl = pango_cairo_create_layout(cr);
    PangoFontDescription *fd = pango_font_description_from_string("Sans Bold");
    pango_font_description_set_absolute_size(fd, fs * PANGO_SCALE);
    pango_layout_set_font_description(pl, fd);
    pango_font_description_free(fd);
    int nlabels = 0, unknown = 0;
    size_t i;
    json_t *f;
    GArray *placed = g_array_new(FALSE, FALSE, sizeof(double)); /* x, y, w, h per label */
    json_array_foreach(findings, i, f)
    {
        const char *type = json_string_value(json_object_get(f, "type"));
        json_t *bb = json_object_get(f, "bbox");
        if (!type || json_array_size(bb) != 4)
            continue;
        type = s_type_word(type);
        double x = (double) json_integer_value(json_array_get(bb, 0));
        double y = (double) json_integer_value(json_array_get(bb, 1));
        double h = (double) json_integer_value(json_array_get(bb, 3));
        char text[96];
        if (json_object_get(f, "length_mm"))
            g_snprintf(text, sizeof text, "%s %.1f mm", type,
                       json_real_value(json_object_get(f, "length_mm")));
        else if (json_object_get(f, "diameter_mm"))
            g_snprintf(text, sizeof text, "%s Ø%.1f mm", type,
                       json_real_value(json_object_get(f, "diameter_mm")));
        else if (json_object_get(f, "value_mm"))
            g_snprintf(text, sizeof text, "%s %.2f mm", type,
                       json_real_value(json_object_get(f, "value_mm")));
        else
            g_snprintf(text, sizeof text, "%s %.0f mm²", type,
                       json_real_value(json_object_get(f, "area_mm2")));
        pango_layout_set_text(pl, text, -1);
        unknown += pango_layout_get_unknown_glyphs_count(pl);
        nlabels++;
        PangoRectangle logical;
        pango_layout_get_pixel_extents(pl, NULL, &logical);
        double adv = logical.width, base = pango_layout_get_baseline(pl) / (double) PANGO_SCALE;
        double tx = x, ty = y - fs * 0.4;
        if (ty - fs < 0)
            ty = y + h + fs * 1.1;
        if (tx + adv > v.width)
            tx = v.width - adv - 2;
        /* not over a label already written: step down a line until free */
        for (int tries = 0; tries < 12; tries++) {
            gboolean clash = FALSE;
            for (guint k = 0; k < placed->len / 4 && !clash; k++) {
                const double *r = &g_array_index(placed, double, k * 4);
                clash = tx < r[0] + r[2] && tx + adv + 6 > r[0] && ty - fs < r[1] + r[3] &&
                        ty + fs * 0.3 > r[1];
            }
            if (!clash)
                break;
            ty += fs * 1.35;
        }
        double rect[4] = {tx - 3, ty - fs, adv + 6, fs * 1.3};
        g_array_append_vals(placed, rect, 4);
        /* a dark plate under light text: legible on any part */
        cairo_set_source_rgba(cr, 0, 0, 0, 0.72);
        cairo_rectangle(cr, tx - 3, ty - fs, adv + 6, fs * 1.3);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_move_to(cr, tx, ty - base); /* the layout's top left: its baseline at ty */
        pango_cairo_show_layout(cr, pl);
    }
    g_object_unref(pl);
    g_array_free(placed, TRUE);
    /* what a label could not show (no installed font has the character: a Chinese station
     * without a CJK font) is said, not left as empty boxes on the technician's screen */
    if (unknown > 0)
        g_warning("overlay: %d labels, %d characters no installed font can draw", nlabels,
                  unknown);
    else if (nlabels > 0)
        g_message("overlay: %d labels, 0 characters no installed font can draw", nlabels);
    cairo_destroy(cr);
    cairo_surface_flush(cs);
    cairo_surface_destroy(cs); /* the pixels stay in data: the surface never owned them */
    return s_pooled_texture(data, v.width, v.height);
}

struct RhCamera {
    ra_source_t *src;
    gboolean step;
    RhCameraFn fn;
    gpointer user;
    GThread *thread;
    GMutex lock;
    GCond cond;
    gboolean stop;
    int advance; /* step mode: frames asked for */
    GMainContext *ctx;
};

typedef struct {
    RhCamera *cam;
    RhFrame *frame;
    GdkTexture *tex;
    char *status;
} s_post_t;

static gboolean s_deliver(gpointer data)
{
    s_post_t *p = data;
    gboolean stop;
    g_mutex_lock(&p->cam->lock);
    stop = p->cam->stop;
    g_mutex_unlock(&p->cam->lock);
    if (!stop)
        p->cam->fn(p->cam->user, p->frame, p->tex, p->status);
    rh_frame_unref(p->frame);
    g_clear_object(&p->tex);
    g_free(p->status);
    g_free(p);
    return G_SOURCE_REMOVE;
}

static void s_post(RhCamera *cam, RhFrame *frame, GdkTexture *tex, const char *status)
{
    s_post_t *p = g_new0(s_post_t, 1);
    p->cam = cam;
    p->frame = frame;
    p->tex = tex;
    p->status = g_strdup(status);
    g_main_context_invoke(cam->ctx, s_deliver, p);
}

static gpointer s_run(gpointer data)
{
    RhCamera *cam = data;
    ra_source_status_t shown = RA_SOURCE_READY;
    for (;;) {
        g_mutex_lock(&cam->lock);
        while (!cam->stop && cam->step && cam->advance == 0)
            g_cond_wait(&cam->cond, &cam->lock);
        gboolean stop = cam->stop;
        if (cam->advance > 0)
            cam->advance--;
        g_mutex_unlock(&cam->lock);
        if (stop)
            break;
        ra_frame_t *f = NULL;
        int rc = ra_source_next(cam->src, 250, &f);
        if (rc == RA_SOURCE_END)
            break;
        if (rc == RA_SOURCE_IDLE || rc == RA_SOURCE_DISCONNECTED) {
            if (rc != (int) shown)
                s_post(cam, NULL, NULL,
                       rc == RA_SOURCE_IDLE ? _("Waiting for images")
                                            : _("Camera disconnected: reconnecting…"));
            shown = (ra_source_status_t) rc;
            if (cam->step) { /* ask again */
                g_mutex_lock(&cam->lock);
                cam->advance++;
                g_mutex_unlock(&cam->lock);
            }
            continue;
        }
        if (rc < 0) {
            char *m = g_strdup_printf(_("Capture: %s"), rv_last_error());
            s_post(cam, NULL, NULL, m);
            g_free(m);
            if (rc == RV_EIO || rc == RV_ENOMEM)
                break;
            continue;
        }
        if (shown == RA_SOURCE_DISCONNECTED)
            s_post(cam, NULL, NULL, _("Camera back"));
        shown = RA_SOURCE_READY;
        RhFrame *fr = g_new0(RhFrame, 1);
        fr->ref = 1;
        fr->f = f;
        s_post(cam, fr, rh_texture_from_image(f->rgb), NULL);
    }
    return NULL;
}

RhCamera *rh_camera_new(ra_source_t *src, gboolean step, RhCameraFn fn, gpointer user)
{
    RhCamera *cam = g_new0(RhCamera, 1);
    cam->src = src;
    cam->step = step;
    cam->fn = fn;
    cam->user = user;
    cam->advance = 1; /* the first frame */
    cam->ctx = g_main_context_ref_thread_default();
    g_mutex_init(&cam->lock);
    g_cond_init(&cam->cond);
    cam->thread = g_thread_new("camera", s_run, cam);
    return cam;
}

void rh_camera_advance(RhCamera *cam)
{
    g_mutex_lock(&cam->lock);
    cam->advance++;
    g_cond_signal(&cam->cond);
    g_mutex_unlock(&cam->lock);
}

static gboolean s_free_later(gpointer data)
{
    RhCamera *cam = data;
    g_mutex_clear(&cam->lock);
    g_cond_clear(&cam->cond);
    g_free(cam);
    return G_SOURCE_REMOVE;
}

void rh_camera_free(RhCamera *cam)
{
    if (!cam)
        return;
    g_mutex_lock(&cam->lock);
    cam->stop = TRUE;
    g_cond_signal(&cam->cond);
    g_mutex_unlock(&cam->lock);
    g_thread_join(cam->thread);
    /* frames already posted are dropped by s_deliver (stop is set); their idle sources
     * still hold cam, so it is released once the main loop has run them */
    ra_source_destroy(&cam->src);
    g_main_context_unref(cam->ctx);
    /* cam itself is freed after pending deliveries: a last idle call */
    g_idle_add_full(G_PRIORITY_LOW, s_free_later, cam, NULL);
}
