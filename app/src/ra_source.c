/* ra_source.c - the capture interface: frames, options, dispatch to a source's ops. */
#include "ra_source_priv.h"

#include "rv/rv_error.h"
#include "rv/rv_jpeg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void ra_frame_destroy(ra_frame_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ra_frame_t *f = *self_p;
    free(f->jpeg);
    rv_image_destroy(&f->rgb);
    free(f);
    *self_p = NULL;
}

ra_frame_t *ra_frame_from_jpeg(uint8_t *jpeg, size_t len, const ra_source_opts_t *o)
{
    ra_frame_t *f = calloc(1, sizeof *f);
    if (!f) {
        free(jpeg);
        rv_fail(RV_ENOMEM, "ra_source", "out of memory");
        return NULL;
    }
    f->jpeg = jpeg;
    f->jpeg_len = len;
    /* the decoder treats libjpeg's warnings (premature end, corrupt data) as errors, so a
     * half-written or damaged file never becomes a frame */
    rv_jpeg_info_t info;
    int cw = o ? o->cover_width : 0, ch = o ? o->cover_height : 0;
    f->rgb = rv_jpeg_decode_cover(jpeg, len, RV_RGB8, cw, ch, &info, &f->scale);
    if (!f->rgb) {
        ra_frame_destroy(&f);
        return NULL;
    }
    f->width = info.width;
    f->height = info.height;
    return f;
}

double ra_source_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void ra_source_sleep_ms(int ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void ra_source_opts_default(ra_source_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->poll_ms = 100;
    o->stable_polls = 2;
    o->reject_after_ms = 10000;
    o->mjpeg = 1;
    o->exposure = -1;
    o->gain = -1;
    o->reconnect_ms = 1000;
    o->max_bytes = (size_t) 256 << 20;
}

ra_source_t *ra_source_wrap(const ra_source_ops_t *ops, void *impl, const char *name,
                            const ra_source_opts_t *opts)
{
    ra_source_t *s = calloc(1, sizeof *s);
    if (!s) {
        ops->destroy(impl);
        rv_fail(RV_ENOMEM, "ra_source", "out of memory");
        return NULL;
    }
    s->ops = ops;
    s->impl = impl;
    if (opts)
        s->opts = *opts;
    else
        ra_source_opts_default(&s->opts);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->status = RA_SOURCE_IDLE;
    return s;
}

ra_source_t *ra_source_open(const char *spec, const char *const *paths, size_t n,
                            const ra_source_opts_t *opts)
{
    if (!spec || !strcmp(spec, "files"))
        return ra_source_files_new(paths, n, opts);
    if (!strncmp(spec, "folder:", 7) && spec[7])
        return ra_source_folder_new(spec + 7, opts);
    if (!strncmp(spec, "camera:", 7) && spec[7])
        return ra_source_camera_new(spec + 7, opts);
    rv_fail(RV_EINVAL, "ra_source_open",
            "unknown source \"%s\" (camera:DEVICE, folder:DIR or files)", spec);
    return NULL;
}

void ra_source_destroy(ra_source_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ra_source_t *s = *self_p;
    s->ops->destroy(s->impl);
    free(s);
    *self_p = NULL;
}

int ra_source_next(ra_source_t *self, int timeout_ms, ra_frame_t **out)
{
    if (!self || !out)
        return rv_fail(RV_EINVAL, "ra_source_next", "source or output is NULL");
    *out = NULL;
    int rc = self->ops->next(self, timeout_ms, out);
    if (rc == RV_OK && *out) {
        ra_frame_t *f = *out;
        f->seq = ++self->seq;
        snprintf(f->source, sizeof f->source, "%s", self->name);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        f->timestamp = (double) ts.tv_sec + ts.tv_nsec / 1e9;
        self->stats.delivered++;
        self->status = RA_SOURCE_READY;
    } else if (rc > 0) {
        self->status = (ra_source_status_t) rc;
    }
    return rc;
}

ra_source_status_t ra_source_status(const ra_source_t *self)
{
    return self->status;
}

const char *ra_source_name(const ra_source_t *self)
{
    return self->name;
}

const char *ra_source_current(const ra_source_t *self)
{
    return self->current;
}

void ra_source_stats(const ra_source_t *self, ra_source_stats_t *out)
{
    *out = self->stats;
}
