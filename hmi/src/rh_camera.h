/* rh_camera.h - the live image at the bench: a thread reads the capture source
 * (ra_source.h) and hands each frame to the main loop as a texture, keeping the latest for
 * the capture key. A files source (the demo's simulated camera) shows one core until the
 * next is asked for; a camera or hot folder runs continuously. */
#ifndef RH_CAMERA_H
#define RH_CAMERA_H

#include <gtk/gtk.h>
#include <jansson.h>

#include "ra/ra_source.h"

G_BEGIN_DECLS

/* A frame shared between the camera thread, the window and an inspection. */
typedef struct RhFrame {
    gint ref;
    ra_frame_t *f;
} RhFrame;

RhFrame *rh_frame_ref(RhFrame *fr);
void rh_frame_unref(RhFrame *fr);
/* A texture of an RGB8 image (copied). */
GdkTexture *rh_texture_from_image(const rv_image_t *im);

/* The same with each finding's measurement written beside its box (findings: the
 * inspection line's "findings" array, boxes in the image's pixels). */
GdkTexture *rh_texture_labelled(const rv_image_t *im, const json_t *findings);

typedef struct RhCamera RhCamera;

/* Called on the main loop: a new frame (with its texture), or frame NULL and a status
 * message (camera disconnected, back, waiting for images, a bad file). */
typedef void (*RhCameraFn)(gpointer user, RhFrame *frame, GdkTexture *tex, const char *status);

/* Takes src. step: show one frame until rh_camera_advance (the files source). */
RhCamera *rh_camera_new(ra_source_t *src, gboolean step, RhCameraFn fn, gpointer user);
void rh_camera_advance(RhCamera *cam);
void rh_camera_free(RhCamera *cam);

G_END_DECLS
#endif
