/* ra_source_files.c - a list of JPEG files, once or looping (a simulated camera). */
#include "ra_source_priv.h"

#include "rv/rv_error.h"
#include "rv/rv_jpeg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char **paths;
    size_t n, next;
    double last_ms; /* when the last frame went out, for pacing */
} s_files_t;

static void s_destroy(void *impl)
{
    s_files_t *f = impl;
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        free(f->paths[i]);
    free(f->paths);
    free(f);
}

static int s_next(ra_source_t *self, int timeout_ms, ra_frame_t **out)
{
    s_files_t *f = self->impl;
    if (f->next == f->n) {
        if (!self->opts.loop)
            return RA_SOURCE_END;
        f->next = 0;
    }
    if (self->opts.interval_ms > 0 && f->last_ms > 0) {
        /* a simulated camera does not deliver faster than its frame rate */
        double due = f->last_ms + self->opts.interval_ms, now = ra_source_now_ms();
        if (due > now) {
            if (timeout_ms >= 0 && now + timeout_ms < due) {
                ra_source_sleep_ms(timeout_ms);
                return RA_SOURCE_IDLE;
            }
            ra_source_sleep_ms((int) (due - now + 0.5));
        }
    }
    const char *path = f->paths[f->next++];
    snprintf(self->current, sizeof self->current, "%s", path);
    f->last_ms = ra_source_now_ms();
    uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = rv_file_read(path, self->opts.max_bytes, &bytes, &len);
    if (rc != RV_OK)
        return rc;
    ra_frame_t *fr = ra_frame_from_jpeg(bytes, len, &self->opts);
    if (!fr)
        return RV_EFORMAT; /* rv_last_error() keeps the decoder's own words */
    snprintf(fr->name, sizeof fr->name, "%s", path);
    *out = fr;
    return RV_OK;
}

static const ra_source_ops_t s_ops = {s_next, s_destroy};

ra_source_t *ra_source_files_new(const char *const *paths, size_t n, const ra_source_opts_t *opts)
{
    if (!paths || n == 0) {
        rv_fail(RV_EINVAL, "ra_source_files_new", "no files given");
        return NULL;
    }
    s_files_t *f = calloc(1, sizeof *f);
    if (f)
        f->paths = calloc(n, sizeof *f->paths);
    if (!f || !f->paths) {
        s_destroy(f);
        rv_fail(RV_ENOMEM, "ra_source_files_new", "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!paths[i] || !(f->paths[i] = strdup(paths[i]))) {
            f->n = i;
            s_destroy(f);
            rv_fail(paths[i] ? RV_ENOMEM : RV_EINVAL, "ra_source_files_new",
                    paths[i] ? "out of memory" : "path %zu is NULL", i);
            return NULL;
        }
    }
    f->n = n;
    return ra_source_wrap(&s_ops, f, "files", opts);
}
