/* rv_cv.h - the OpenCV shim: a thin C interface over the few OpenCV functions the
 * detectors, the registration and calibration steps and the capture need.
 *
 * Internal to vision (never installed); tests and the app reach it through the include
 * path vision/src as "cv/rv_cv.h". Pure C17 (also valid C++17); no OpenCV type appears.
 * The bodies live in rv_cv*.cpp, the only C++ in the product.
 *
 * Conventions (style-anchors 8.6):
 *  - Pixels cross as rv_view_t and are wrapped without copies. Inputs are never modified.
 *    Outputs go into caller views of the documented size and format, or into POD result
 *    structs that the matching *_free() releases (free is NULL-safe and idempotent).
 *  - Every function returns RV_OK or a negative rv_status (constructors: NULL), with
 *    rv_last_error() = "rv_cv_xxx: detail". No C++ exception ever leaves the shim:
 *    cv::Exception -> RV_EBACKEND, std::bad_alloc -> RV_ENOMEM, anything else RV_EBACKEND.
 *  - On failure, result structs are left empty ({NULL, 0}) and output views are undefined.
 *  - Coordinates are pixels, x right, y down, origin at the centre of the top-left pixel.
 * Thread-safety: functions without a handle are reentrant; a handle is used by one thread
 * at a time. rv_cv_init() is process-wide. */
#ifndef RV_CV_H
#define RV_CV_H

#include <stddef.h>
#include <stdint.h>

#include "rv/rv_image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- process-wide setup --------------------------------------------------------- */

/* Single-threaded OpenCV (cv::setNumThreads(1): the station runs one inspection per
 * worker); OpenCV's own error printing silenced and its log limited to FATAL unless the
 * OPENCV_LOG_LEVEL environment variable is set (errors come back through
 * rv_last_error()). Idempotent; call once from the library's init. */
int rv_cv_init(void);

/* Threads OpenCV may use inside one call (1 = none; 0 = OpenCV's default). */
int rv_cv_set_num_threads(int n);

/* "4.6.0" - the OpenCV version linked in. Static string. */
const char *rv_cv_version(void);

/* ---- connected components -------------------------------------------------------- */

typedef struct rv_cv_blob {
    int label;               /* label value in the label image (1..) */
    int x, y, width, height; /* bounding box */
    int area;                /* pixels */
    double cx, cy;           /* centroid */
} rv_cv_blob_t;

typedef struct rv_cv_blobs {
    rv_cv_blob_t *items; /* count blobs, background excluded; items[i].label == i + 1 */
    int count;
} rv_cv_blobs_t;

/* Components of a GRAY8 view (non-zero = foreground), connectivity 4 or 8. */
int rv_cv_components(const rv_view_t *bin, int connectivity, rv_cv_blobs_t *out);

/* Same, also writing the label of every pixel (0 = background) into caller memory:
 * bin->height rows of bin->width int32_t, labels_stride bytes apart (a multiple of 4,
 * >= 4 * width). */
int rv_cv_components_labels(const rv_view_t *bin, int connectivity, int32_t *labels,
                            ptrdiff_t labels_stride, rv_cv_blobs_t *out);

void rv_cv_blobs_free(rv_cv_blobs_t *blobs);

/* ---- contours --------------------------------------------------------------------- */

typedef struct rv_cv_point {
    int x, y;
} rv_cv_point_t;

typedef struct rv_cv_point2f {
    float x, y;
} rv_cv_point2f_t;

/* Which contours (values of cv::RetrievalModes), optionally or'ed with
 * RV_CV_CONTOURS_ALL_POINTS (keep every boundary pixel instead of compressing straight
 * horizontal, vertical and diagonal runs to their end points). */
typedef enum rv_cv_contour_mode {
    RV_CV_CONTOURS_EXTERNAL = 0, /* outer boundaries only */
    RV_CV_CONTOURS_LIST = 1,     /* all, no hierarchy */
    RV_CV_CONTOURS_CCOMP = 2,    /* two levels: outer boundaries and their holes */
    RV_CV_CONTOURS_TREE = 3,     /* full nesting */
    RV_CV_CONTOURS_ALL_POINTS = 0x100
} rv_cv_contour_mode_t;

typedef struct rv_cv_contour {
    rv_cv_point_t *points; /* count points (into the shared pool of the set) */
    int count;
    int next, prev, first_child, parent; /* indices into items, -1 = none */
} rv_cv_contour_t;

typedef struct rv_cv_contour_list {
    rv_cv_contour_t *items;
    int count;
    rv_cv_point_t *pool; /* all points, owned; items[i].points point into it */
} rv_cv_contours_t;

/* Contours of a GRAY8 view (non-zero = foreground). */
int rv_cv_contours(const rv_view_t *bin, int mode, rv_cv_contours_t *out);
void rv_cv_contours_free(rv_cv_contours_t *contours);

typedef struct rv_cv_rotrect {
    double cx, cy;        /* centre */
    double width, height; /* side lengths */
    double angle_deg;     /* rotation of the width side, degrees (OpenCV's convention) */
} rv_cv_rotrect_t;

/* Area enclosed (absolute, pixels^2), perimeter (closed polygon) and minimum-area
 * rectangle of a contour; fail with RV_EINVAL on an empty contour. */
int rv_cv_contour_area(const rv_cv_contour_t *c, double *area);
int rv_cv_contour_perimeter(const rv_cv_contour_t *c, double *perimeter);
int rv_cv_contour_min_rect(const rv_cv_contour_t *c, rv_cv_rotrect_t *rect);

/* ---- registration ----------------------------------------------------------------- */

/* A 2x3 affine transform that maps VIEW coordinates onto REFERENCE coordinates:
 *   x_ref = m[0][0] x + m[0][1] y + m[0][2],  y_ref = m[1][0] x + m[1][1] y + m[1][2].
 * rv_cv_warp_affine(view, dst, t.m, ...) therefore resamples the view into the
 * reference frame. */
typedef struct rv_cv_transform {
    double m[2][3];
    int matches;     /* features: candidate correspondences; ECC, phase: 0 */
    int inliers;     /* features: RANSAC inliers; ECC, phase: 0 */
    double residual; /* features: RMS distance (px) of the inliers after the transform;
                        ECC: 1 - correlation; phase: 1 - peak response */
    double score;    /* features: inliers / matches; ECC: correlation coefficient;
                        phase: peak response (about 1 for a clean shift, near 0 for none) */
} rv_cv_transform_t;

typedef enum rv_cv_motion {
    RV_CV_MOTION_TRANSLATION = 0,
    RV_CV_MOTION_EUCLIDEAN = 1,  /* rotation + translation */
    RV_CV_MOTION_SIMILARITY = 2, /* rotation + uniform scale + translation */
    RV_CV_MOTION_AFFINE = 3
} rv_cv_motion_t;

typedef struct rv_cv_register_params {
    int motion;            /* features: SIMILARITY (default) or AFFINE; ECC: TRANSLATION,
                              EUCLIDEAN (default) or AFFINE */
    int max_features;      /* ORB keypoints per image (default 2000) */
    double ransac_px;      /* RANSAC reprojection threshold, px (default 3) */
    int min_inliers;       /* fewer inliers fail with RV_EBACKEND (default 8) */
    int max_iterations;    /* ECC (default 100) */
    double epsilon;        /* ECC convergence (default 1e-5) */
    int use_initial_guess; /* ECC: start from *out's m (view->reference) */
} rv_cv_register_params_t;

/* Defaults for the parameters above (params == NULL means the same). */
void rv_cv_register_params_default(rv_cv_register_params_t *p);

/* ORB keypoints + brute-force Hamming matching (cross-checked) + RANSAC
 * estimateAffinePartial2D (or estimateAffine2D). view and ref: GRAY8, any sizes.
 * RV_EBACKEND when too few features, matches or inliers ("... 3 inliers, need 8"). */
int rv_cv_register_features(const rv_view_t *view, const rv_view_t *ref,
                            const rv_cv_register_params_t *params, rv_cv_transform_t *out);

/* Enhanced-correlation-coefficient refinement (findTransformECC); GRAY8 views of equal
 * size; best for small motions or after a feature-based guess. RV_EBACKEND when it does
 * not converge. */
int rv_cv_register_ecc(const rv_view_t *view, const rv_view_t *ref,
                       const rv_cv_register_params_t *params, rv_cv_transform_t *out);

/* Pure translation by phase correlation (Hanning-windowed); GRAY8 views of equal size. */
int rv_cv_register_phase(const rv_view_t *view, const rv_view_t *ref, rv_cv_transform_t *out);

typedef enum rv_cv_interp {
    RV_CV_INTER_NEAREST = 0,
    RV_CV_INTER_LINEAR = 1,
    RV_CV_INTER_CUBIC = 2
} rv_cv_interp_t;

/* dst(p) = src(m^-1 p): resample src into dst (same format, any size); pixels mapped from
 * outside src become 0. src and dst must not overlap. */
int rv_cv_warp_affine(const rv_view_t *src, const rv_view_t *dst, const double m[2][3],
                      int interpolation);

/* ---- calibration ------------------------------------------------------------------ */

typedef enum rv_cv_pattern_kind {
    RV_CV_PATTERN_CHESSBOARD = 0,        /* cols x rows INNER corners */
    RV_CV_PATTERN_CIRCLES = 1,           /* symmetric grid of dark circles */
    RV_CV_PATTERN_ASYMMETRIC_CIRCLES = 2 /* OpenCV's asymmetric grid (cols per row) */
} rv_cv_pattern_kind_t;

typedef struct rv_cv_pattern {
    int kind;
    int cols, rows; /* points per row, rows */
    double spacing; /* square size / circle spacing in world units (e.g. mm) */
} rv_cv_pattern_t;

/* Find the pattern in a GRAY8 view. points receives cols * rows points (row by row,
 * chessboard corners refined to subpixel). *found = 1 when the whole pattern was found,
 * 0 otherwise (not an error; points are then undefined). */
int rv_cv_find_pattern(const rv_view_t *gray, const rv_cv_pattern_t *pattern,
                       rv_cv_point2f_t *points, int *found);

typedef struct rv_cv_calib {
    int width, height;   /* image size the calibration is for */
    double camera[3][3]; /* fx 0 cx / 0 fy cy / 0 0 1 */
    double dist[5];      /* k1 k2 p1 p2 k3 */
    double rms;          /* RMS reprojection error, px */
} rv_cv_calib_t;

/* calibrateCamera over n_views sets of cols * rows points (consecutive in points) found
 * in width x height images. Needs n_views >= 3 of a tilted target. */
int rv_cv_calibrate(const rv_cv_pattern_t *pattern, const rv_cv_point2f_t *points,
                    int n_views, int width, int height, rv_cv_calib_t *out);

/* Remove lens distortion: dst (same size and format as src, calib->width x height). */
int rv_cv_undistort(const rv_view_t *src, const rv_view_t *dst, const rv_cv_calib_t *calib);

/* ---- video capture ---------------------------------------------------------------- */

typedef struct rv_cv_capture rv_cv_capture_t;

typedef enum rv_cv_capture_prop {
    RV_CV_PROP_EXPOSURE = 0,      /* backend units (V4L2: 100 us) */
    RV_CV_PROP_AUTO_EXPOSURE = 1, /* V4L2: 1 = manual, 3 = aperture priority (auto) */
    RV_CV_PROP_GAIN = 2,
    RV_CV_PROP_FPS = 3,
    RV_CV_PROP_WIDTH = 4, /* read-only here: set them at open */
    RV_CV_PROP_HEIGHT = 5
} rv_cv_capture_prop_t;

/* Open a source:
 *   "0", "1", ...     V4L2 camera by index (/dev/videoN);
 *   "/dev/videoN"     V4L2 camera by path;
 *   a path with '%'   an image sequence ("/tmp/x/frame_%03d.jpg", OpenCV's CAP_IMAGES);
 *   anything else     a video file, read by FFmpeg.
 * OpenCV's CAP_ANY is never used (its probing runs gPhoto2's USB camera autodetect).
 * width, height: requested frame size (0 = the source's default); mjpeg != 0 asks the
 * camera for MJPEG (FOURCC MJPG). Cameras only; ignored for files. NULL on failure with
 * a message naming the source ("no such device /dev/video7"). */
rv_cv_capture_t *rv_cv_capture_open(const char *source, int width, int height, int mjpeg);
void rv_cv_capture_destroy(rv_cv_capture_t **self_p);

/* The backend OpenCV chose ("V4L2", "CV_IMAGES", "FFMPEG"...). Borrowed from the handle. */
const char *rv_cv_capture_backend(const rv_cv_capture_t *self);

/* RV_EBACKEND when the backend refuses the property (most do for files). */
int rv_cv_capture_set(rv_cv_capture_t *self, int prop, double value);
int rv_cv_capture_get(rv_cv_capture_t *self, int prop, double *value);

/* Next frame as a new RGB8 image (*out, destroy with rv_image_destroy). RV_EIO when no
 * frame comes (end of file or sequence, camera unplugged). */
int rv_cv_capture_grab(rv_cv_capture_t *self, rv_image_t **out);

/* Next frame as the camera's own JPEG bytes, not decoded (raw mode: CAP_PROP_FORMAT -1,
 * CONVERT_RGB 0; needs an MJPEG camera on V4L2). *out is malloc'ed; free it with
 * rv_cv_bytes_free. RV_EBACKEND when the backend cannot deliver raw MJPEG. Once raw mode
 * is on, rv_cv_capture_grab decodes those bytes with TurboJPEG. */
int rv_cv_capture_grab_jpeg(rv_cv_capture_t *self, uint8_t **out, size_t *out_len);
void rv_cv_bytes_free(uint8_t **buf_p);

/* ---- QR codes and 1-D barcodes ------------------------------------------------------ */

typedef enum rv_cv_code_kind {
    RV_CV_CODE_QR = 1,
    RV_CV_CODE_EAN13 = 2,
    RV_CV_CODE_EAN8 = 3,
    RV_CV_CODE_UPCA = 4,
    RV_CV_CODE_UPCE = 5,
    RV_CV_CODE_OTHER = 99
} rv_cv_code_kind_t;

typedef struct rv_cv_code {
    int kind;
    char *text;              /* NUL-terminated UTF-8 (owned by the set) */
    size_t len;              /* bytes of text */
    rv_cv_point2f_t corners[4]; /* the code's quadrilateral in the view */
} rv_cv_code_t;

typedef struct rv_cv_codes {
    rv_cv_code_t *items;
    int count;
} rv_cv_codes_t;

/* Detect and decode every QR code in a GRAY8 or RGB8 view. No code is not an error
 * (count == 0); a code that is located but cannot be decoded is not reported.
 * Debian's objdetect is built without quirc (cv::QRCodeDetector cannot decode there), so
 * cv::QRCodeDetector only locates and opencv_contrib's wechat_qrcode (ZXing, no CNN
 * models) decodes. A code decoded but not located gets the whole view as corners. */
int rv_cv_decode_qr(const rv_view_t *view, rv_cv_codes_t *out);

/* Detect and decode EAN-13/EAN-8/UPC-A/UPC-E barcodes (opencv_contrib barcode module)
 * in a GRAY8 or RGB8 view; only decoded ones are reported. OpenCV 4.6's locator is
 * scale-sensitive, so on a miss this retries at scales 0.8, 1.25, 0.64, 1.56 and 0.5 and
 * stops at the first scale that decodes anything. Works best on an ROI around the label
 * with the code spanning a good part of it, quiet zone included. */
int rv_cv_decode_barcodes(const rv_view_t *view, rv_cv_codes_t *out);

void rv_cv_codes_free(rv_cv_codes_t *codes);

/* Render text as a QR code (cv::QRCodeEncoder, for tests and labels): a new GRAY8 image,
 * black modules on white, module_px pixels per module, with a quiet zone of quiet
 * modules on every side. */
int rv_cv_qr_encode(const char *text, int module_px, int quiet, rv_image_t **out);

/* ---- image files (rv_cv_io.cpp) ------------------------------------------------------ */

/* Read an image file (PNG, JPEG, PGM, BMP... whatever imgcodecs reads) as a new GRAY8
 * image (*out, destroy with rv_image_destroy); colour files are converted to luma, 16-bit
 * files scaled to 8 bits. Files over 256 MiB or images over RV_JPEG_DEFAULT_MAX_PIXELS
 * are refused (RV_ELIMIT); a missing file is RV_EIO, undecodable bytes RV_EFORMAT. */
int rv_cv_read_gray(const char *path, rv_image_t **out);

/* Write a GRAY8 or RGB8 view to a file; the format follows the extension (.png, .ppm,
 * .pgm, .jpg). RV_EIO when the file cannot be written. */
int rv_cv_write_image(const char *path, const rv_view_t *view);

/* ---- a convolutional network (OpenCV dnn) ------------------------------------------ */

/* Built from rv_cnn.h's layer list up to layer output (checked by rv_cnn_new). The
 * weights are copied. The handle is used by one thread at a time. */
typedef struct rv_cv_net rv_cv_net_t;
struct rv_cnn_layer;
rv_cv_net_t *rv_cv_net_new(const struct rv_cnn_layer *layers, int n, int output);
/* in: 3 planes of h x w floats; out: the output layer's c x oh x ow floats when cap
 * holds them (dims = {c, oh, ow} either way; RV_EINVAL when cap is short). */
int rv_cv_net_forward(rv_cv_net_t *net, const float *in, int h, int w, float *out,
                      size_t cap, int dims[3]);
/* Resizes a GRAY8 view to a float plane of w x h (area averaging when it shrinks,
 * bilinear when it grows). */
int rv_cv_resize_gray_f32(const rv_view_t *src, int w, int h, float *dst);
void rv_cv_net_free(rv_cv_net_t **net);

#ifdef __cplusplus
}
#endif
#endif
