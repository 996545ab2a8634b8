/* ra_source_camera.c - a camera through the OpenCV shim's capture handle.
 *
 * Evidence first: when the device delivers MJPEG, the frame's bytes are the camera's own
 * JPEG, never decoded and re-encoded (a re-encode would change the bytes an auditor
 * compares). A device (or image sequence, or video file) that gives only decoded pixels
 * has each frame encoded once at quality 95 and the frame flagged encoded_by_station.
 *
 * Unplugged: a grab that fails (RV_EIO from the shim) closes the handle and reports
 * RA_SOURCE_DISCONNECTED; later calls reopen the device, at most once per reconnect_ms,
 * and go on delivering when it is back. A frame whose bytes do not decode in full (a USB
 * transfer cut short) is dropped and counted, never delivered. */
#include "ra_source_priv.h"

#include "cv/rv_cv.h"
#include "rv/rv_error.h"
#include "rv/rv_jpeg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATION_QUALITY 95

typedef struct {
    char device[1024];
    rv_cv_capture_t *cap;
    int raw;               /* 1: the camera's JPEG bytes; 0: pixels, encoded here; -1: unknown */
    double last_attempt_ms;
    char warning[512];     /* a property the camera refused (not fatal) */
} s_camera_t;

static void s_destroy(void *impl)
{
    s_camera_t *c = impl;
    if (c)
        rv_cv_capture_destroy(&c->cap);
    free(c);
}

static rv_cv_capture_t *s_open(const ra_source_opts_t *o, const char *device, char *warning,
                               size_t wsz)
{
    rv_cv_capture_t *cap = rv_cv_capture_open(device, o->width, o->height, o->mjpeg);
    if (!cap)
        return NULL;
    /* exposure and gain only where the device has them: a refusal is noted, not fatal */
    if (o->exposure >= 0) {
        if (rv_cv_capture_set(cap, RV_CV_PROP_AUTO_EXPOSURE, 1) != RV_OK ||
            rv_cv_capture_set(cap, RV_CV_PROP_EXPOSURE, o->exposure) != RV_OK)
            snprintf(warning, wsz, "%s", rv_last_error());
    }
    if (o->gain >= 0 && rv_cv_capture_set(cap, RV_CV_PROP_GAIN, o->gain) != RV_OK)
        snprintf(warning, wsz, "%s", rv_last_error());
    return cap;
}

/* One frame from an open handle. RV_OK with *out, RV_EIO when the device stopped, another
 * error for a bad frame (dropped). */
static int s_grab(s_camera_t *c, const ra_source_opts_t *o, ra_frame_t **out)
{
    if (c->raw != 0) {
        uint8_t *jpeg = NULL;
        size_t len = 0;
        int rc = rv_cv_capture_grab_jpeg(c->cap, &jpeg, &len);
        if (rc == RV_OK) {
            c->raw = 1;
            uint8_t *own = malloc(len);
            if (!own) {
                rv_cv_bytes_free(&jpeg);
                return rv_fail(RV_ENOMEM, "ra_source_camera", "out of memory");
            }
            memcpy(own, jpeg, len);
            rv_cv_bytes_free(&jpeg);
            ra_frame_t *fr = ra_frame_from_jpeg(own, len, o);
            if (!fr)
                return RV_EFORMAT;
            *out = fr;
            return RV_OK;
        }
        if (rc != RV_EBACKEND || c->raw == 1)
            return rc;
        c->raw = 0; /* no MJPEG from this backend: pixels from now on */
    }
    rv_image_t *rgb = NULL;
    int rc = rv_cv_capture_grab(c->cap, &rgb);
    if (rc != RV_OK)
        return rc;
    rv_view_t v = rv_image_view(rgb);
    uint8_t *jpeg = NULL;
    size_t len = 0;
    rc = rv_jpeg_encode(&v, STATION_QUALITY, &jpeg, &len);
    rv_image_destroy(&rgb);
    if (rc != RV_OK)
        return rc;
    uint8_t *own = malloc(len);
    if (!own) {
        rv_jpeg_free(&jpeg);
        return rv_fail(RV_ENOMEM, "ra_source_camera", "out of memory");
    }
    memcpy(own, jpeg, len);
    rv_jpeg_free(&jpeg);
    /* the image graded is decoded from the evidence bytes, not the camera's pixels, so a
     * re-inspection of the stored evidence years later sees exactly the same image */
    ra_frame_t *fr = ra_frame_from_jpeg(own, len, o);
    if (!fr)
        return RV_EFORMAT;
    fr->encoded_by_station = 1;
    fr->quality = STATION_QUALITY;
    *out = fr;
    return RV_OK;
}

static int s_next(ra_source_t *self, int timeout_ms, ra_frame_t **out)
{
    s_camera_t *c = self->impl;
    double deadline = ra_source_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        if (!c->cap) {
            double now = ra_source_now_ms();
            if (now - c->last_attempt_ms >= self->opts.reconnect_ms) {
                c->last_attempt_ms = now;
                c->cap = s_open(&self->opts, c->device, c->warning, sizeof c->warning);
                if (c->cap) {
                    self->stats.reconnects++;
                    c->raw = -1;
                }
            }
        }
        if (c->cap) {
            snprintf(self->current, sizeof self->current, "camera:%s#%llu", c->device,
                     (unsigned long long) self->seq + 1);
            int rc = s_grab(c, &self->opts, out);
            if (rc == RV_OK) {
                snprintf((*out)->name, sizeof (*out)->name, "%s", self->current);
                return RV_OK;
            }
            if (rc == RV_EIO) {
                /* the device is gone (or the sequence ended): close, report, reopen later */
                rv_cv_capture_destroy(&c->cap);
                c->last_attempt_ms = ra_source_now_ms();
                return RA_SOURCE_DISCONNECTED;
            }
            self->stats.dropped++;
            if (rc == RV_ENOMEM)
                return rc;
        } else if (timeout_ms >= 0 && ra_source_now_ms() >= deadline) {
            return RA_SOURCE_DISCONNECTED;
        } else {
            ra_source_sleep_ms(self->opts.reconnect_ms < 50 ? self->opts.reconnect_ms : 50);
        }
        if (timeout_ms >= 0 && ra_source_now_ms() >= deadline)
            return c->cap ? RA_SOURCE_IDLE : RA_SOURCE_DISCONNECTED;
    }
}

static const ra_source_ops_t s_ops = {s_next, s_destroy};

ra_source_t *ra_source_camera_new(const char *device, const ra_source_opts_t *opts)
{
    if (!device || !*device || strlen(device) >= 1024) {
        rv_fail(RV_EINVAL, "ra_source_camera_new", "no camera device given");
        return NULL;
    }
    ra_source_opts_t o;
    if (opts)
        o = *opts;
    else
        ra_source_opts_default(&o);
    if (o.reconnect_ms < 0)
        o.reconnect_ms = 0;
    s_camera_t *c = calloc(1, sizeof *c);
    if (!c) {
        rv_fail(RV_ENOMEM, "ra_source_camera_new", "out of memory");
        return NULL;
    }
    snprintf(c->device, sizeof c->device, "%s", device);
    c->raw = -1;
    c->cap = s_open(&o, device, c->warning, sizeof c->warning);
    if (!c->cap) {
        /* the shim's message names the device ("no such camera device /dev/video7") */
        s_destroy(c);
        return NULL;
    }
    c->last_attempt_ms = ra_source_now_ms();
    char name[1100];
    snprintf(name, sizeof name, "camera:%s", device);
    return ra_source_wrap(&s_ops, c, name, &o);
}
