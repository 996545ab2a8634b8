// rv_cv_calib.cpp - calibration targets (chessboard, circle grids), calibrateCamera and
// undistortion behind the C shim (rv_cv.h).
#include "cv/rv_cv_internal.hpp"

#include <opencv2/calib3d.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

using rvcv::check_view;
using rvcv::guard;
using rvcv::wrap;

static int check_pattern(const char *domain, const rv_cv_pattern_t *p)
{
    if (!p)
        return rv_fail(RV_EINVAL, domain, "pattern is NULL");
    if (p->kind < RV_CV_PATTERN_CHESSBOARD || p->kind > RV_CV_PATTERN_ASYMMETRIC_CIRCLES)
        return rv_fail(RV_EINVAL, domain, "unknown pattern kind %d", p->kind);
    if (p->cols < 2 || p->rows < 2 || p->cols > 100 || p->rows > 100)
        return rv_fail(RV_EINVAL, domain, "pattern of %dx%d points (2..100 each way)", p->cols,
                       p->rows);
    if (!(p->spacing > 0) || !std::isfinite(p->spacing))
        return rv_fail(RV_EINVAL, domain, "pattern spacing %g must be > 0", p->spacing);
    return RV_OK;
}

extern "C" int rv_cv_find_pattern(const rv_view_t *gray, const rv_cv_pattern_t *pattern,
                                  rv_cv_point2f_t *points, int *found)
{
    static const char *const domain = "rv_cv_find_pattern";
    if (!points || !found)
        return rv_fail(RV_EINVAL, domain, "%s is NULL", points ? "found" : "points");
    *found = 0;
    int rc = check_view(domain, "gray", gray, rvcv::FMT_GRAY);
    if (!rc)
        rc = check_pattern(domain, pattern);
    if (rc)
        return rc;
    return guard(domain, [&]() -> int {
        cv::Mat img = wrap(gray);
        cv::Size size(pattern->cols, pattern->rows);
        std::vector<cv::Point2f> pts;
        bool ok;
        if (pattern->kind == RV_CV_PATTERN_CHESSBOARD) {
            ok = cv::findChessboardCorners(img, size, pts,
                                           cv::CALIB_CB_ADAPTIVE_THRESH |
                                               cv::CALIB_CB_NORMALIZE_IMAGE |
                                               cv::CALIB_CB_FAST_CHECK);
            if (ok && pts.size() >= 2) {
                // Subpixel refinement, window ~40% of the smallest corner spacing.
                double spacing = 1e9;
                for (int r = 0; r < pattern->rows; r++)
                    for (int c = 0; c + 1 < pattern->cols; c++) {
                        size_t i = (size_t) (r * pattern->cols + c);
                        spacing = std::min(spacing, (double) cv::norm(pts[i + 1] - pts[i]));
                    }
                int half = (int) std::clamp(spacing * 0.4, 2.0, 10.0);
                cv::cornerSubPix(img, pts, cv::Size(half, half), cv::Size(-1, -1),
                                 cv::TermCriteria(cv::TermCriteria::EPS +
                                                      cv::TermCriteria::COUNT,
                                                  40, 0.001));
            }
        } else {
            int flags = pattern->kind == RV_CV_PATTERN_CIRCLES ? cv::CALIB_CB_SYMMETRIC_GRID
                                                               : cv::CALIB_CB_ASYMMETRIC_GRID;
            ok = cv::findCirclesGrid(img, size, pts, flags);
        }
        if (!ok || pts.size() != (size_t) pattern->cols * (size_t) pattern->rows)
            return RV_OK;
        for (size_t i = 0; i < pts.size(); i++)
            points[i] = rv_cv_point2f_t{pts[i].x, pts[i].y};
        *found = 1;
        return RV_OK;
    });
}

// World coordinates (z = 0) of the pattern's points in the order the finders report them.
static std::vector<cv::Point3f> object_points(const rv_cv_pattern_t *p)
{
    std::vector<cv::Point3f> obj;
    for (int r = 0; r < p->rows; r++)
        for (int c = 0; c < p->cols; c++) {
            double x = p->kind == RV_CV_PATTERN_ASYMMETRIC_CIRCLES ? (2 * c + r % 2) * p->spacing
                                                                   : c * p->spacing;
            obj.emplace_back((float) x, (float) (r * p->spacing), 0.0f);
        }
    return obj;
}

extern "C" int rv_cv_calibrate(const rv_cv_pattern_t *pattern, const rv_cv_point2f_t *points,
                               int n_views, int width, int height, rv_cv_calib_t *out)
{
    static const char *const domain = "rv_cv_calibrate";
    if (!out || !points)
        return rv_fail(RV_EINVAL, domain, "%s is NULL", out ? "points" : "out");
    int rc = check_pattern(domain, pattern);
    if (rc)
        return rc;
    if (n_views < 3 || n_views > 1000)
        return rv_fail(RV_EINVAL, domain, "%d views, need 3..1000", n_views);
    if (width <= 0 || height <= 0 || width > RV_IMAGE_MAX_SIDE || height > RV_IMAGE_MAX_SIDE)
        return rv_fail(RV_EINVAL, domain, "bad image size %dx%d", width, height);
    size_t per_view = (size_t) pattern->cols * (size_t) pattern->rows;
    for (size_t i = 0; i < per_view * (size_t) n_views; i++)
        if (!std::isfinite(points[i].x) || !std::isfinite(points[i].y))
            return rv_fail(RV_EINVAL, domain, "point %zu (view %zu) is not finite", i,
                           i / per_view);
    return guard(domain, [&]() -> int {
        std::vector<std::vector<cv::Point3f>> obj((size_t) n_views, object_points(pattern));
        std::vector<std::vector<cv::Point2f>> img((size_t) n_views);
        for (size_t v = 0; v < (size_t) n_views; v++)
            for (size_t i = 0; i < per_view; i++) {
                const rv_cv_point2f_t &p = points[v * per_view + i];
                img[v].emplace_back(p.x, p.y);
            }
        cv::Mat K, D;
        std::vector<cv::Mat> rvecs, tvecs;
        double rms = cv::calibrateCamera(obj, img, cv::Size(width, height), K, D, rvecs, tvecs);
        if (!std::isfinite(rms))
            return rv_fail(RV_EBACKEND, domain, "calibration diverged (RMS not finite)");
        *out = rv_cv_calib_t{};
        out->width = width;
        out->height = height;
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++)
                out->camera[r][c] = K.at<double>(r, c);
        cv::Mat d = D.reshape(1, 1);
        for (int i = 0; i < 5 && i < d.cols; i++)
            out->dist[i] = d.at<double>(0, i);
        out->rms = rms;
        return RV_OK;
    });
}

extern "C" int rv_cv_undistort(const rv_view_t *src, const rv_view_t *dst,
                               const rv_cv_calib_t *calib)
{
    static const char *const domain = "rv_cv_undistort";
    int rc = check_view(domain, "src", src, rvcv::FMT_ANY);
    if (!rc)
        rc = check_view(domain, "dst", dst, rvcv::FMT_ANY);
    if (rc)
        return rc;
    if (!calib)
        return rv_fail(RV_EINVAL, domain, "calib is NULL");
    if (src->fmt != dst->fmt)
        return rv_fail(RV_EINVAL, domain, "src is %s but dst is %s", rvcv::fmt_name(src->fmt),
                       rvcv::fmt_name(dst->fmt));
    rc = rvcv::check_same_size(domain, "src", src, "dst", dst);
    if (rc)
        return rc;
    if (src->width != calib->width || src->height != calib->height)
        return rv_fail(RV_EINVAL, domain, "calibration is for %dx%d, src is %dx%d",
                       calib->width, calib->height, src->width, src->height);
    if (!(calib->camera[0][0] > 0) || !(calib->camera[1][1] > 0))
        return rv_fail(RV_EINVAL, domain, "camera matrix has no focal length");
    if (rvcv::views_overlap(src, dst))
        return rv_fail(RV_EINVAL, domain, "src and dst overlap");
    return guard(domain, [&]() -> int {
        cv::Mat K(3, 3, CV_64F, const_cast<double *>(&calib->camera[0][0]));
        cv::Mat D(1, 5, CV_64F, const_cast<double *>(calib->dist));
        cv::Mat out = wrap(dst);
        cv::undistort(wrap(src), out, K, D);
        return rvcv::check_still_wrapped(domain, out, dst->data);
    });
}
