// bench_opencv.cpp - the benchmark's OpenCV reference pipeline and single-op timers
// (bench_opencv.h). Written the way an OpenCV user would write it: fresh Mats per run in
// the front end, OpenCV's defaults, one thread. Not product code.
#include "bench_opencv.h"

#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <new>
#include <string>
#include <vector>

#include "rv/rv_error.h"

namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t0)
{
    return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

template <class F> int guard(const char *domain, F &&f) noexcept
{
    try {
        return f();
    } catch (const cv::Exception &e) {
        return rv_fail(RV_EBACKEND, domain, "OpenCV error: %s (in %s)", e.err.c_str(),
                       e.func.empty() ? "?" : e.func.c_str());
    } catch (const std::bad_alloc &) {
        return rv_fail(RV_ENOMEM, domain, "out of memory");
    } catch (const std::exception &e) {
        return rv_fail(RV_EBACKEND, domain, "C++ exception: %s", e.what());
    } catch (...) {
        return rv_fail(RV_EBACKEND, domain, "unknown C++ exception");
    }
}

int quiet_error_handler(int, const char *, const char *, const char *, int, void *)
{
    return 0;
}

// Runs fn once untimed, then reps times; returns the median in ms.
double median_ms(int reps, const std::function<void()> &fn)
{
    fn();
    std::vector<double> t((size_t) reps);
    for (int i = 0; i < reps; i++) {
        auto t0 = clock_type::now();
        fn();
        t[(size_t) i] = ms_since(t0);
    }
    std::sort(t.begin(), t.end());
    size_t n = t.size();
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

// The rust colour range in OpenCV's 8-bit HSV (H 0..179): see rsb_cv_times_t.
const cv::Scalar kRustLo(4, 60, 48), kRustHi(19, 255, 255);

} // namespace

extern "C" int rsb_cv_init(void)
{
    return guard("rsb_cv_init", []() -> int {
        cv::redirectError(quiet_error_handler);
        cv::setNumThreads(1);
        return RV_OK;
    });
}

extern "C" const char *rsb_cv_info(void)
{
    static thread_local char buf[160];
    int rc = guard("rsb_cv_info", []() -> int {
        snprintf(buf, sizeof buf, "OpenCV %s, %d thread%s, optimized %s, IPP %s", CV_VERSION,
                 cv::getNumThreads(), cv::getNumThreads() == 1 ? "" : "s",
                 cv::useOptimized() ? "on" : "off", cv::ipp::useIPP() ? "on" : "off");
        return RV_OK;
    });
    return rc ? "OpenCV (info unavailable)" : buf;
}

extern "C" int rsb_cv_frontend(const uint8_t *jpeg, size_t len, const uint8_t *ref_gray,
                               int ref_w, int ref_h, ptrdiff_t ref_stride, int thr,
                               rsb_cv_times_t *out)
{
    static const char *const domain = "rsb_cv_frontend";
    if (!out || !jpeg || !ref_gray)
        return rv_fail(RV_EINVAL, domain, "%s is NULL",
                       !out ? "out" : !jpeg ? "jpeg" : "ref_gray");
    if (len == 0 || len > (size_t) INT32_MAX)
        return rv_fail(RV_EINVAL, domain, "bad JPEG length %zu", len);
    if (ref_w <= 0 || ref_h <= 0 || ref_stride < ref_w)
        return rv_fail(RV_EINVAL, domain, "bad reference %dx%d stride %td", ref_w, ref_h,
                       ref_stride);
    if (thr < 0 || thr > 255)
        return rv_fail(RV_EINVAL, domain, "threshold %d outside 0..255", thr);
    memset(out, 0, sizeof *out);
    return guard(domain, [&]() -> int {
        cv::setNumThreads(1);
        const cv::Mat buf(1, (int) len, CV_8UC1, const_cast<uint8_t *>(jpeg));
        const cv::Mat ref(ref_h, ref_w, CV_8UC1, const_cast<uint8_t *>(ref_gray),
                          (size_t) ref_stride);
        auto start = clock_type::now();
        auto t = start;

        cv::Mat bgr = cv::imdecode(buf, cv::IMREAD_COLOR);
        out->decode_ms = ms_since(t);
        if (bgr.empty())
            return rv_fail(RV_EFORMAT, domain, "cv::imdecode could not decode %zu bytes", len);
        if (bgr.cols != ref_w || bgr.rows != ref_h)
            return rv_fail(RV_EINVAL, domain, "image is %dx%d but the reference is %dx%d",
                           bgr.cols, bgr.rows, ref_w, ref_h);

        t = clock_type::now();
        cv::Mat gray;
        cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
        out->gray_ms = ms_since(t);

        t = clock_type::now();
        cv::Mat blurred;
        cv::GaussianBlur(gray, blurred, cv::Size(5, 5), 0);
        out->blur_ms = ms_since(t);

        t = clock_type::now();
        cv::Mat blackhat;
        cv::morphologyEx(blurred, blackhat, cv::MORPH_BLACKHAT,
                         cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(15, 15)));
        out->blackhat_ms = ms_since(t);

        t = clock_type::now();
        cv::Mat bin;
        cv::threshold(blackhat, bin, thr, 255, cv::THRESH_BINARY);
        out->thresh_ms = ms_since(t);

        t = clock_type::now();
        cv::Mat labels, stats, centroids;
        int n = cv::connectedComponentsWithStats(bin, labels, stats, centroids, 8, CV_32S);
        out->cc_ms = ms_since(t);
        out->n_components = n > 0 ? n - 1 : 0;

        t = clock_type::now();
        cv::Mat hsv;
        cv::cvtColor(bgr, hsv, cv::COLOR_BGR2HSV);
        out->hsv_ms = ms_since(t);

        t = clock_type::now();
        cv::Mat rust;
        cv::inRange(hsv, kRustLo, kRustHi, rust);
        out->rust_pixels = cv::countNonZero(rust);
        out->inrange_ms = ms_since(t);

        t = clock_type::now();
        cv::Mat diff;
        cv::absdiff(gray, ref, diff);
        out->absdiff_ms = ms_since(t);

        t = clock_type::now();
        cv::Mat diffbin;
        cv::threshold(diff, diffbin, thr, 255, cv::THRESH_BINARY);
        out->thresh2_ms = ms_since(t);
        out->diff_pixels = cv::countNonZero(diffbin); // untimed

        t = clock_type::now();
        cv::Mat edges;
        cv::Canny(blurred, edges, 50, 150);
        out->canny_ms = ms_since(t);

        t = clock_type::now();
        std::vector<std::vector<cv::Point>> contours;
        cv::findContours(edges, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
        out->contours_ms = ms_since(t);
        out->n_contours = (int) contours.size();

        out->total_ms = ms_since(start);
        out->total_nodecode_ms = out->total_ms - out->decode_ms;
        return RV_OK;
    });
}

extern "C" int rsb_cv_time_op(const char *op, const rv_view_t *src, int reps, double *median)
{
    static const char *const domain = "rsb_cv_time_op";
    if (!op || !src || !median)
        return rv_fail(RV_EINVAL, domain, "%s is NULL", !op ? "op" : !src ? "src" : "median_ms");
    if (reps < 1 || reps > 10000)
        return rv_fail(RV_EINVAL, domain, "reps %d outside 1..10000", reps);
    if ((src->fmt != RV_GRAY8 && src->fmt != RV_RGB8) || !src->data || src->width <= 0 ||
        src->height <= 0 || src->stride < (ptrdiff_t) src->width * (ptrdiff_t) src->fmt)
        return rv_fail(RV_EINVAL, domain, "bad src view (%dx%d, format %d, stride %td)",
                       src->width, src->height, (int) src->fmt, src->stride);
    const std::string name(op);
    const bool color_op = name == "gray" || name == "hsv_inrange" || name == "warp_rgb";
    static const char *const gray_ops[] = {"gauss5", "box15", "sobel", "blackhat15",
                                           "dilate15", "absdiff", "threshold"};
    bool gray_op = false;
    for (const char *g : gray_ops)
        gray_op = gray_op || name == g;
    if (!color_op && !gray_op)
        return rv_fail(RV_EINVAL, domain,
                       "unknown op \"%s\" (gray, hsv_inrange, warp_rgb, gauss5, box15, "
                       "sobel, blackhat15, dilate15, absdiff, threshold)",
                       op);
    if (color_op && src->fmt != RV_RGB8)
        return rv_fail(RV_EINVAL, domain, "op \"%s\" needs an RGB8 src", op);
    return guard(domain, [&]() -> int {
        cv::setNumThreads(1);
        cv::Mat in(src->height, src->width, src->fmt == RV_GRAY8 ? CV_8UC1 : CV_8UC3,
                   src->data, (size_t) src->stride);
        cv::Mat g;
        if (gray_op)
            g = src->fmt == RV_GRAY8 ? in : [&] {
                cv::Mat t;
                cv::cvtColor(in, t, cv::COLOR_RGB2GRAY);
                return t;
            }();
        cv::Mat dst, tmp, other;
        std::function<void()> fn;
        if (name == "gray") {
            fn = [&] { cv::cvtColor(in, dst, cv::COLOR_RGB2GRAY); };
        } else if (name == "hsv_inrange") {
            fn = [&] {
                cv::cvtColor(in, tmp, cv::COLOR_RGB2HSV);
                cv::inRange(tmp, kRustLo, kRustHi, dst);
            };
        } else if (name == "warp_rgb") {
            double m[2][3];
            rsb_warp_matrix(src->width, src->height, m);
            other = (cv::Mat_<double>(2, 3) << m[0][0], m[0][1], m[0][2], m[1][0], m[1][1],
                     m[1][2]);
            fn = [&] {
                cv::warpAffine(in, dst, other, in.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                               cv::Scalar(0));
            };
        } else if (name == "gauss5") {
            fn = [&] { cv::GaussianBlur(g, dst, cv::Size(5, 5), 0); };
        } else if (name == "box15") {
            fn = [&] { cv::blur(g, dst, cv::Size(15, 15)); };
        } else if (name == "sobel") {
            fn = [&] { cv::Sobel(g, dst, CV_16S, 1, 0, 3); };
        } else if (name == "blackhat15") {
            cv::Mat k = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(15, 15));
            other = k;
            fn = [&] { cv::morphologyEx(g, dst, cv::MORPH_BLACKHAT, other); };
        } else if (name == "dilate15") {
            cv::Mat k = cv::getStructuringElement(cv::MORPH_RECT, cv::Size(15, 15));
            other = k;
            fn = [&] { cv::dilate(g, dst, other); };
        } else if (name == "absdiff") {
            cv::add(g, cv::Scalar(7), other); // saturating
            fn = [&] { cv::absdiff(g, other, dst); };
        } else { // threshold
            fn = [&] { cv::threshold(g, dst, 128, 255, cv::THRESH_BINARY); };
        }
        *median = median_ms(reps, fn);
        return RV_OK;
    });
}

extern "C" int rsb_cv_time_imdecode(const uint8_t *jpeg, size_t len, int reps, double *median)
{
    static const char *const domain = "rsb_cv_time_imdecode";
    if (!jpeg || !median || len == 0 || len > (size_t) INT32_MAX)
        return rv_fail(RV_EINVAL, domain, "bad arguments (jpeg %p, len %zu)", (const void *) jpeg,
                       len);
    if (reps < 1 || reps > 10000)
        return rv_fail(RV_EINVAL, domain, "reps %d outside 1..10000", reps);
    return guard(domain, [&]() -> int {
        cv::setNumThreads(1);
        const cv::Mat buf(1, (int) len, CV_8UC1, const_cast<uint8_t *>(jpeg));
        cv::Mat probe = cv::imdecode(buf, cv::IMREAD_COLOR);
        if (probe.empty())
            return rv_fail(RV_EFORMAT, domain, "cv::imdecode could not decode %zu bytes", len);
        cv::Mat dst;
        *median = median_ms(reps, [&] { dst = cv::imdecode(buf, cv::IMREAD_COLOR); });
        return RV_OK;
    });
}

/* The same work as the station's inspection of one part, the way an OpenCV user would
 * write it: imdecode; register to the master by ECC (affine) on downscaled Otsu
 * silhouettes; warpAffine the colour image into the master's frame; then the detection
 * chain of rsb_cv_frontend on the aligned image (gray, blur, black-hat, threshold,
 * components, HSV + inRange, absdiff against the learned mean + threshold, Canny,
 * contours). The grading itself is the station's and costs microseconds either way. */
extern "C" int rsb_cv_inspect(const uint8_t *jpeg, size_t len, const uint8_t *master_gray,
                              const uint8_t *mean_gray, int w, int h, ptrdiff_t stride, int thr,
                              int reduce, double *total_ms, double *nodecode_ms)
{
    static const char *const domain = "rsb_cv_inspect";
    if (!jpeg || !master_gray || !mean_gray || !total_ms || !nodecode_ms || len == 0 ||
        len > (size_t) INT32_MAX || w <= 0 || h <= 0 || stride < w ||
        (reduce != 1 && reduce != 2 && reduce != 4 && reduce != 8))
        return rv_fail(RV_EINVAL, domain, "bad arguments");
    const int flags = reduce == 2   ? cv::IMREAD_REDUCED_COLOR_2
                      : reduce == 4 ? cv::IMREAD_REDUCED_COLOR_4
                      : reduce == 8 ? cv::IMREAD_REDUCED_COLOR_8
                                    : cv::IMREAD_COLOR;
    return guard(domain, [&]() -> int {
        cv::setNumThreads(1);
        const cv::Mat buf(1, (int) len, CV_8UC1, const_cast<uint8_t *>(jpeg));
        const cv::Mat master(h, w, CV_8UC1, const_cast<uint8_t *>(master_gray), (size_t) stride);
        const cv::Mat mean(h, w, CV_8UC1, const_cast<uint8_t *>(mean_gray), (size_t) stride);
        auto start = clock_type::now();
        cv::Mat bgr = cv::imdecode(buf, flags);
        double dec = ms_since(start);
        if (bgr.empty())
            return rv_fail(RV_EFORMAT, domain, "cv::imdecode failed");
        cv::Mat gray, small, msmall, sil, msil;
        cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
        /* both to the master's small size (the frame may have a few more pixels) */
        double f = 512.0 / w;
        const cv::Size ssize(512, (int) std::lround(h * f));
        cv::resize(gray, small, ssize, 0, 0, cv::INTER_AREA);
        cv::resize(master, msmall, ssize, 0, 0, cv::INTER_AREA);
        cv::threshold(small, sil, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
        cv::threshold(msmall, msil, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
        cv::GaussianBlur(sil, sil, cv::Size(7, 7), 0);
        cv::GaussianBlur(msil, msil, cv::Size(7, 7), 0);
        cv::Mat warp = cv::Mat::eye(2, 3, CV_32F);
        try {
            cv::findTransformECC(msil, sil, warp, cv::MOTION_AFFINE,
                                 cv::TermCriteria(cv::TermCriteria::COUNT | cv::TermCriteria::EPS,
                                                  50, 1e-4),
                                 cv::noArray(), 5);
        } catch (const cv::Exception &) {
            /* no convergence: keep the identity, as a user's code would fall through */
        }
        warp.at<float>(0, 2) /= (float) f;
        warp.at<float>(1, 2) /= (float) f;
        cv::Mat aligned;
        cv::warpAffine(bgr, aligned, warp, cv::Size(w, h), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP);
        cv::Mat agray, blurred, blackhat, bin, labels, stats, centroids, hsv, rust, diff, diffbin,
            edges;
        cv::cvtColor(aligned, agray, cv::COLOR_BGR2GRAY);
        cv::GaussianBlur(agray, blurred, cv::Size(5, 5), 0);
        cv::morphologyEx(blurred, blackhat, cv::MORPH_BLACKHAT,
                         cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(15, 15)));
        cv::threshold(blackhat, bin, thr, 255, cv::THRESH_BINARY);
        cv::connectedComponentsWithStats(bin, labels, stats, centroids, 8, CV_32S);
        cv::cvtColor(aligned, hsv, cv::COLOR_BGR2HSV);
        cv::inRange(hsv, kRustLo, kRustHi, rust);
        cv::absdiff(blurred, mean, diff);
        cv::threshold(diff, diffbin, thr, 255, cv::THRESH_BINARY);
        cv::Canny(blurred, edges, 50, 150);
        std::vector<std::vector<cv::Point>> contours;
        cv::findContours(edges, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
        *total_ms = ms_since(start);
        *nodecode_ms = *total_ms - dec;
        return RV_OK;
    });
}
