/* ra_calib.h - camera calibration: intrinsics, lens distortion and millimetres per pixel
 * on the working plane, as a record every decision can reference.
 *
 * From views of a checkerboard or circle grid of known spacing (OpenCV's calibrateCamera
 * through the shim): the camera matrix, the distortion (k1 k2 p1 p2 k3), the RMS
 * reprojection error, and the scale on the working plane. The scale comes from one view,
 * the "plane view", in which the target lies on the working plane where parts are put:
 * its points are undistorted with the computed model and the known spacing is divided by
 * the mean undistorted distance between neighbouring points. A target lying flat gives
 * the plane's scale directly; a slightly tilted one gives the mean scale over the target.
 *
 * The record is JSON ("reman.calibration/1"): id, date (UTC), target, image size, camera
 * matrix, distortion, RMS, mm_per_px, views used. */
#ifndef RA_CALIB_H
#define RA_CALIB_H

#include "rv/rv_image.h"

#define RA_CALIB_SCHEMA "reman.calibration/1"

typedef enum ra_calib_target {
    RA_CALIB_CHESSBOARD = 0, /* cols x rows INNER corners, spacing = square side */
    RA_CALIB_CIRCLES = 1     /* symmetric grid of dark circles, spacing = centre distance */
} ra_calib_target_t;

typedef struct ra_calib {
    char id[96];           /* "cal-20240501T101500Z-1a2b3c4d": date and a content hash */
    char date[32];         /* ISO 8601 UTC */
    int target;            /* ra_calib_target_t */
    int cols, rows;        /* points per row, rows */
    double spacing_mm;
    int width, height;     /* image size the calibration is for */
    double camera[3][3];   /* fx 0 cx / 0 fy cy / 0 0 1 */
    double dist[5];        /* k1 k2 p1 p2 k3 */
    double rms_px;         /* RMS reprojection error */
    double mm_per_px;      /* on the working plane */
    int views_used, views_given, plane_view;
} ra_calib_t;

/* Calibrate from n GRAY8 views of equal size. Views where the target is not found are
 * left out (views_used < views_given); at least 3 must remain, plane_view among them.
 * RV_EFORMAT naming the views without a target when too few remain. */
int ra_calib_compute(const rv_view_t *views, int n, int target, int cols, int rows,
                     double spacing_mm, int plane_view, ra_calib_t *out);

/* Write the record (atomically: a temporary file renamed into place) / read it back. */
int ra_calib_save(const ra_calib_t *c, const char *path);
int ra_calib_load(const char *path, ra_calib_t *out);

/* The record as a JSON text (caller frees with free()). */
char *ra_calib_to_json(const ra_calib_t *c);

#endif
