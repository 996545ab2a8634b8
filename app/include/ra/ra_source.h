/* ra_source.h - where the station's pictures come from: one interface over files, a hot
 * folder and a camera.
 *
 * Every source hands out frames that carry two things: the JPEG bytes exactly as they were
 * delivered (the evidence an auditor may ask for years later, hashed and stored as they
 * are) and the decoded RGB image the inspection works on. A frame is handed out whole or
 * not at all: bytes that do not decode completely never become a frame.
 *
 *   files   a list of paths, read in order; with loop = 1 the list repeats and, with
 *           interval_ms, is paced like a camera (the simulated camera of the demo).
 *   folder  a hot folder: *.jpg / *.jpeg files appearing in a directory are taken once
 *           complete (size unchanged over stable_polls polls AND a JPEG that decodes in
 *           full). A taken file is moved into <dir>/taken/ with rename(2) BEFORE it is
 *           returned, so a restarted station never takes it again; a name already used
 *           there gets a ".N" suffix (never an overwrite). A file that is still not a valid
 *           JPEG reject_after_ms after it last changed goes to <dir>/rejected/ with a
 *           <name>.reason.txt beside it. Hidden files (".x.jpg", the usual temporary name
 *           of a writer that renames into place) and other extensions are left alone.
 *   camera  a V4L2 device through the OpenCV shim ("0", "/dev/video2"; an image sequence
 *           path with '%' or a video file also open, which the tests use). MJPEG frames
 *           are kept as the camera sent them; a camera that only gives raw frames has
 *           each one encoded once at quality 95, and the frame says so
 *           (encoded_by_station). When the camera stops delivering (unplugged), the
 *           status becomes RA_SOURCE_DISCONNECTED and every later ra_source_next() tries
 *           to reopen it, at most once per reconnect_ms.
 *
 * Thread-safety: a source is used by one thread at a time; frames are independent. */
#ifndef RA_SOURCE_H
#define RA_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "rv/rv_image.h"

/* What ra_source_next() returns besides a frame (RV_OK) or an error (< 0). */
typedef enum ra_source_status {
    RA_SOURCE_READY = 0,       /* a frame was delivered (== RV_OK) */
    RA_SOURCE_IDLE = 1,        /* no frame within the wait: folder empty, camera slow */
    RA_SOURCE_END = 2,         /* a finite source has nothing more */
    RA_SOURCE_DISCONNECTED = 3 /* the camera is gone; reconnection is attempted */
} ra_source_status_t;

typedef struct ra_frame {
    uint8_t *jpeg;            /* the evidence bytes, as delivered (or as encoded once) */
    size_t jpeg_len;
    rv_image_t *rgb;          /* decoded from jpeg, RGB8: the frame at 1/scale */
    int scale;                /* 1; 2, 4 or 8 when decoded shrunk on load (cover_width) */
    int width, height;        /* the frame as delivered: the JPEG's own size */
    char source[4160];        /* "files", "folder:/in", "camera:0" */
    char name[4096];          /* files: the path; folder: where the file now lies (taken/);
                                 camera: "camera:0#17" */
    char original[256];       /* folder: the name the file arrived with; else "" */
    uint64_t seq;             /* 1, 2, ... per source object */
    double timestamp;         /* seconds since the epoch, when the frame was taken */
    int encoded_by_station;   /* 1 when the station encoded raw pixels (at `quality`) */
    int quality;              /* that quality; 0 when the bytes are the source's own */
} ra_frame_t;

void ra_frame_destroy(ra_frame_t **self_p);

typedef struct ra_source_opts {
    /* files */
    int loop;             /* repeat the list forever (a simulated camera) */
    int interval_ms;      /* pace frames at least this far apart (0 = no pacing) */
    /* folder */
    int poll_ms;          /* directory poll period (default 100) */
    int stable_polls;     /* polls with an unchanged size and time before a try (default 2) */
    int reject_after_ms;  /* invalid this long after its last change: rejected (10000) */
    /* camera */
    int width, height;    /* requested frame size (0 = the camera's default) */
    int mjpeg;            /* ask for MJPEG (default 1) */
    double exposure;      /* V4L2 units (100 us); < 0 leaves the camera's (default -1) */
    double gain;          /* < 0 leaves the camera's (default -1) */
    int reconnect_ms;     /* between reconnection attempts (default 1000) */
    /* all */
    size_t max_bytes;     /* largest file or frame accepted (default 256 MiB) */
    int cover_width, cover_height; /* decode each frame at the smallest DCT scale (1/2,
                                    * 1/4, 1/8) that still covers this size (the families'
                                    * largest view: ra_cell_cover_size), the entropy data
                                    * checked whole as ever; 0 = in full (the default) */
} ra_source_opts_t;

void ra_source_opts_default(ra_source_opts_t *opts);

typedef struct ra_source ra_source_t;

/* files: copies the paths. NULL on a bad argument (empty list). */
ra_source_t *ra_source_files_new(const char *const *paths, size_t n, const ra_source_opts_t *opts);

/* folder: creates <dir>/taken and <dir>/rejected when missing. NULL when dir is no
 * writable directory. */
ra_source_t *ra_source_folder_new(const char *dir, const ra_source_opts_t *opts);

/* camera: opens the device now. NULL with a clear message when it cannot be opened
 * ("no such camera device /dev/video7"): a station must not start on a missing camera. */
ra_source_t *ra_source_camera_new(const char *device, const ra_source_opts_t *opts);

/* "camera:DEV", "folder:DIR" or "files" (the given paths). NULL on an unknown spec. */
ra_source_t *ra_source_open(const char *spec, const char *const *paths, size_t n,
                            const ra_source_opts_t *opts);

void ra_source_destroy(ra_source_t **self_p);

/* Wait up to timeout_ms (< 0: forever, 0: one look) for the next frame. RV_OK with *out
 * set (the caller destroys it), or a positive ra_source_status_t with *out NULL, or a
 * negative rv_status: for the files source, a file that cannot be read or decoded (the
 * source moves on; ra_source_current() names the file); for a camera, an open failure
 * never makes an error here, it makes RA_SOURCE_DISCONNECTED. */
int ra_source_next(ra_source_t *self, int timeout_ms, ra_frame_t **out);

/* The last status (READY after a frame). */
ra_source_status_t ra_source_status(const ra_source_t *self);

/* "files", "folder:DIR", "camera:DEV". Borrowed. */
const char *ra_source_name(const ra_source_t *self);

/* The item the last ra_source_next() was about (a path, "camera:0#3"); borrowed. */
const char *ra_source_current(const ra_source_t *self);

/* Counters: frames delivered, files rejected (folder), frames dropped because they did not
 * decode (camera), reconnections that succeeded (camera). */
typedef struct ra_source_stats {
    uint64_t delivered, rejected, dropped, reconnects;
} ra_source_stats_t;

void ra_source_stats(const ra_source_t *self, ra_source_stats_t *out);

#endif
