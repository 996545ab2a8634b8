/* bench_opencv.h - the benchmark's OpenCV reference: what a user would write with OpenCV
 * for the station's front end, timed stage by stage, plus single-operation timers the
 * benchmark compares our kernels against. C interface; the body (bench_opencv.cpp) is
 * C++ and is not part of any product library.
 *
 * Every function runs OpenCV single-threaded (cv::setNumThreads(1), set by rsb_cv_init()
 * and again on each call), returns RV_OK or a negative rv_status with rv_last_error()
 * set, and lets no C++ exception escape. Times are wall-clock milliseconds
 * (std::chrono::steady_clock). */
#ifndef RSB_BENCH_OPENCV_H
#define RSB_BENCH_OPENCV_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "rv/rv_image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* cv::setNumThreads(1); silences OpenCV's own error printing. Idempotent. */
int rsb_cv_init(void);

/* "OpenCV 4.6.0, 1 thread, optimized on, IPP off": for the benchmark's report header.
 * Static thread-local string. */
const char *rsb_cv_info(void);

typedef struct rsb_cv_times {
    double decode_ms;   /* cv::imdecode(IMREAD_COLOR) -> BGR */
    double gray_ms;     /* cvtColor BGR2GRAY */
    double blur_ms;     /* GaussianBlur 5x5, sigma from the size (1.1) */
    double blackhat_ms; /* morphologyEx BLACKHAT, 15x15 MORPH_ELLIPSE, on the blurred gray
                           (the structuring element is built inside the timed span) */
    double thresh_ms;   /* threshold(blackhat, thr, 255, BINARY) */
    double cc_ms;       /* connectedComponentsWithStats(8-connected, CV_32S labels) */
    double hsv_ms;      /* cvtColor BGR2HSV (8-bit: H 0..179) */
    double inrange_ms;  /* inRange H 4..19, S 60..255, V 48..255 + countNonZero */
    double absdiff_ms;  /* absdiff(gray, reference) - the unblurred gray */
    double thresh2_ms;  /* threshold(diff, thr, 255, BINARY) */
    double canny_ms;    /* Canny(blurred gray, 50, 150), aperture 3, L1 gradient */
    double contours_ms; /* findContours(Canny edges, RETR_EXTERNAL, CHAIN_APPROX_SIMPLE) */
    double total_ms;    /* wall time of the whole chain, decode included */
    double total_nodecode_ms; /* total_ms - decode_ms */
    int n_components;   /* blackhat blobs, background excluded */
    int n_contours;     /* external contours of the Canny edges */
    long rust_pixels;   /* pixels inside the HSV range: the equivalent of our rust mask
                           (rust hue 8..38 degrees = OpenCV H 4..19, saturation >= 60/255,
                           value >= 48/255) */
    long diff_pixels;   /* pixels of |gray - reference| > thr */
} rsb_cv_times_t;

/* One run of the front end on a JPEG held in memory, against a GRAY8 reference of the
 * decoded image's size (ref_stride bytes per row). thr (0..255) thresholds both the
 * black-hat response and the difference image. RV_EFORMAT when the bytes do not decode,
 * RV_EINVAL for a reference of another size. */
int rsb_cv_frontend(const uint8_t *jpeg, size_t len, const uint8_t *ref_gray, int ref_w,
                    int ref_h, ptrdiff_t ref_stride, int thr, rsb_cv_times_t *out);

/* Median time (ms) of reps runs (1..10000) of one operation on src, after one untimed
 * warm-up run; outputs are allocated once, outside the timed runs. Operations:
 *   "gray"        cvtColor RGB2GRAY                              (src RGB8)
 *   "hsv_inrange" cvtColor RGB2HSV + inRange(4..19, 60.., 48..)  (src RGB8)
 *   "gauss5"      GaussianBlur 5x5 (sigma 1.1), 8-bit out
 *   "box15"       blur 15x15 (normalised box), 8-bit out
 *   "sobel"       Sobel dx=1 dy=0 3x3, CV_16S out
 *   "blackhat15"  morphologyEx BLACKHAT 15x15 ellipse (element built once)
 *   "dilate15"    dilate 15x15 rectangle
 *   "absdiff"     absdiff(src, src + 7 saturated) (the second operand made once)
 *   "threshold"   threshold 128 BINARY
 *   "warp_rgb"    warpAffine INTER_LINEAR, BORDER_CONSTANT 0, RGB8 to RGB8 of the same size
 *                 through rsb_warp_matrix's transform                 (src RGB8)
 * The gray operations take a GRAY8 src, or an RGB8 src converted to gray once, untimed.
 * RV_EINVAL names an unknown op or a wrong format. */
int rsb_cv_time_op(const char *op, const rv_view_t *src, int reps, double *median_ms);

/* The warp benchmark's transform (src -> dst px) for a w x h image: turned 3 degrees about
 * its centre and moved by (5.3, -2.7) px, as a view is aligned to its reference. */
static inline void rsb_warp_matrix(int w, int h, double m[2][3])
{
    const double a = 3.0 * 3.14159265358979323846 / 180.0, c = cos(a), s = sin(a);
    const double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
    m[0][0] = c, m[0][1] = -s, m[0][2] = cx - (c * cx - s * cy) + 5.3;
    m[1][0] = s, m[1][1] = c, m[1][2] = cy - (s * cx + c * cy) - 2.7;
}

/* Median time of cv::imdecode(IMREAD_COLOR) of a JPEG in memory (reps runs after one
 * warm-up). */
int rsb_cv_time_imdecode(const uint8_t *jpeg, size_t len, int reps, double *median_ms);

/* The station's inspection done the OpenCV way (see bench_opencv.cpp): decode, ECC
 * registration to the master, warp, the detection chain. master_gray and mean_gray are
 * GRAY8 of w x h (the family's view) with one stride; reduce (1, 2, 4 or 8): the JPEG is
 * decoded at 1/reduce (IMREAD_REDUCED_COLOR_*) as the station shrinks it on load. Total and
 * decode-excluded ms. */
int rsb_cv_inspect(const uint8_t *jpeg, size_t len, const uint8_t *master_gray,
                   const uint8_t *mean_gray, int w, int h, ptrdiff_t stride, int thr, int reduce,
                   double *total_ms, double *nodecode_ms);

#ifdef __cplusplus
}
#endif
#endif
