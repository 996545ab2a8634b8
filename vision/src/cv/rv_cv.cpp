// rv_cv.cpp - the OpenCV shim: setup, connected components, contours, registration and
// affine warps. See rv_cv.h for the contract; every extern "C" body runs inside
// rvcv::guard(), the exception firewall.
#include "cv/rv_cv_internal.hpp"

#include <opencv2/calib3d.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/features2d.hpp>
#include <opencv2/video/tracking.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

using rvcv::check_view;
using rvcv::guard;
using rvcv::wrap;

static_assert(sizeof(rv_cv_point_t) == 2 * sizeof(int), "rv_cv_point_t must match cv::Point");
static_assert(sizeof(rv_cv_point2f_t) == 2 * sizeof(float),
              "rv_cv_point2f_t must match cv::Point2f");

// OpenCV errors still throw; this only stops OpenCV printing them to stderr first.
static int quiet_error_handler(int, const char *, const char *, const char *, int, void *)
{
    return 0;
}

extern "C" int rv_cv_init(void)
{
    return guard("rv_cv_init", []() -> int {
        cv::redirectError(quiet_error_handler);
        // OpenCV logs backend probing failures as errors (e.g. CAP_IMAGES on a plain file)
        // although the caller gets the failure anyway. OPENCV_LOG_LEVEL still wins.
        if (!getenv("OPENCV_LOG_LEVEL"))
            cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_FATAL);
        cv::setNumThreads(1);
        return RV_OK;
    });
}

extern "C" int rv_cv_set_num_threads(int n)
{
    return guard("rv_cv_set_num_threads", [n]() -> int {
        if (n < 0 || n > 256)
            return rv_fail(RV_EINVAL, "rv_cv_set_num_threads", "bad thread count %d", n);
        cv::setNumThreads(n == 0 ? -1 : n);
        return RV_OK;
    });
}

extern "C" const char *rv_cv_version(void)
{
    return CV_VERSION;
}

// ---- connected components -------------------------------------------------------------

static int components(const char *domain, const rv_view_t *bin, int connectivity,
                      int32_t *labels, ptrdiff_t labels_stride, rv_cv_blobs_t *out)
{
    if (!out)
        return rv_fail(RV_EINVAL, domain, "out is NULL");
    out->items = nullptr;
    out->count = 0;
    int rc = check_view(domain, "bin", bin, rvcv::FMT_GRAY);
    if (rc)
        return rc;
    if (connectivity != 4 && connectivity != 8)
        return rv_fail(RV_EINVAL, domain, "connectivity %d, need 4 or 8", connectivity);
    if (labels && (labels_stride % 4 != 0 || labels_stride < (ptrdiff_t) bin->width * 4))
        return rv_fail(RV_EINVAL, domain,
                       "labels stride %td: need a multiple of 4 and >= 4 * width (%d)",
                       labels_stride, 4 * bin->width);
    return guard(domain, [&]() -> int {
        cv::Mat src = wrap(bin);
        cv::Mat lab;
        if (labels)
            lab = cv::Mat(bin->height, bin->width, CV_32SC1, labels, (size_t) labels_stride);
        cv::Mat stats, centroids;
        int n = cv::connectedComponentsWithStats(src, lab, stats, centroids, connectivity,
                                                 CV_32S);
        if (labels) {
            int rc2 = rvcv::check_still_wrapped(domain, lab, labels);
            if (rc2)
                return rc2;
        }
        if (n <= 1)
            return RV_OK;
        auto *items = static_cast<rv_cv_blob_t *>(calloc((size_t) (n - 1), sizeof(rv_cv_blob_t)));
        if (!items)
            return rv_fail(RV_ENOMEM, domain, "no memory for %d blobs", n - 1);
        for (int i = 1; i < n; i++) {
            const int *s = stats.ptr<int>(i);
            const double *c = centroids.ptr<double>(i);
            rv_cv_blob_t *b = &items[i - 1];
            b->label = i;
            b->x = s[cv::CC_STAT_LEFT];
            b->y = s[cv::CC_STAT_TOP];
            b->width = s[cv::CC_STAT_WIDTH];
            b->height = s[cv::CC_STAT_HEIGHT];
            b->area = s[cv::CC_STAT_AREA];
            b->cx = c[0];
            b->cy = c[1];
        }
        out->items = items;
        out->count = n - 1;
        return RV_OK;
    });
}

extern "C" int rv_cv_components(const rv_view_t *bin, int connectivity, rv_cv_blobs_t *out)
{
    return components("rv_cv_components", bin, connectivity, nullptr, 0, out);
}

extern "C" int rv_cv_components_labels(const rv_view_t *bin, int connectivity, int32_t *labels,
                                       ptrdiff_t labels_stride, rv_cv_blobs_t *out)
{
    if (!labels) {
        if (out) {
            out->items = nullptr;
            out->count = 0;
        }
        return rv_fail(RV_EINVAL, "rv_cv_components_labels", "labels is NULL");
    }
    return components("rv_cv_components_labels", bin, connectivity, labels, labels_stride, out);
}

extern "C" void rv_cv_blobs_free(rv_cv_blobs_t *blobs)
{
    if (!blobs)
        return;
    free(blobs->items);
    blobs->items = nullptr;
    blobs->count = 0;
}

// ---- contours -------------------------------------------------------------------------

extern "C" int rv_cv_contours(const rv_view_t *bin, int mode, rv_cv_contours_t *out)
{
    static const char *const domain = "rv_cv_contours";
    if (!out)
        return rv_fail(RV_EINVAL, domain, "out is NULL");
    *out = rv_cv_contours_t{nullptr, 0, nullptr};
    int rc = check_view(domain, "bin", bin, rvcv::FMT_GRAY);
    if (rc)
        return rc;
    int retr = mode & 0xff;
    if ((mode & ~(0xff | RV_CV_CONTOURS_ALL_POINTS)) || retr > RV_CV_CONTOURS_TREE)
        return rv_fail(RV_EINVAL, domain, "bad mode 0x%x", (unsigned) mode);
    return guard(domain, [&]() -> int {
        std::vector<std::vector<cv::Point>> contours;
        std::vector<cv::Vec4i> hierarchy;
        // Since OpenCV 3.2 findContours works on an internal copy: the input is untouched.
        cv::findContours(wrap(bin), contours, hierarchy, retr,
                         (mode & RV_CV_CONTOURS_ALL_POINTS) ? cv::CHAIN_APPROX_NONE
                                                            : cv::CHAIN_APPROX_SIMPLE);
        if (contours.empty())
            return RV_OK;
        size_t total = 0;
        for (const auto &c : contours)
            total += c.size();
        auto *items = static_cast<rv_cv_contour_t *>(calloc(contours.size(), sizeof(rv_cv_contour_t)));
        auto *pool = static_cast<rv_cv_point_t *>(malloc((total ? total : 1) * sizeof(rv_cv_point_t)));
        if (!items || !pool) {
            free(items);
            free(pool);
            return rv_fail(RV_ENOMEM, domain, "no memory for %zu contours", contours.size());
        }
        size_t at = 0;
        for (size_t i = 0; i < contours.size(); i++) {
            rv_cv_contour_t *c = &items[i];
            c->points = pool + at;
            c->count = (int) contours[i].size();
            for (const cv::Point &p : contours[i])
                pool[at++] = rv_cv_point_t{p.x, p.y};
            if (i < hierarchy.size()) {
                c->next = hierarchy[i][0];
                c->prev = hierarchy[i][1];
                c->first_child = hierarchy[i][2];
                c->parent = hierarchy[i][3];
            } else {
                c->next = c->prev = c->first_child = c->parent = -1;
            }
        }
        out->items = items;
        out->count = (int) contours.size();
        out->pool = pool;
        return RV_OK;
    });
}

extern "C" void rv_cv_contours_free(rv_cv_contours_t *contours)
{
    if (!contours)
        return;
    free(contours->items);
    free(contours->pool);
    *contours = rv_cv_contours_t{nullptr, 0, nullptr};
}

static int check_contour(const char *domain, const rv_cv_contour_t *c, const void *result)
{
    if (!c || !result)
        return rv_fail(RV_EINVAL, domain, "%s is NULL", c ? "result" : "contour");
    if (c->count <= 0 || !c->points)
        return rv_fail(RV_EINVAL, domain, "empty contour");
    return RV_OK;
}

static cv::Mat contour_mat(const rv_cv_contour_t *c)
{
    return cv::Mat(c->count, 1, CV_32SC2, c->points);
}

extern "C" int rv_cv_contour_area(const rv_cv_contour_t *c, double *area)
{
    int rc = check_contour("rv_cv_contour_area", c, area);
    if (rc)
        return rc;
    return guard("rv_cv_contour_area", [&]() -> int {
        *area = cv::contourArea(contour_mat(c), false);
        return RV_OK;
    });
}

extern "C" int rv_cv_contour_perimeter(const rv_cv_contour_t *c, double *perimeter)
{
    int rc = check_contour("rv_cv_contour_perimeter", c, perimeter);
    if (rc)
        return rc;
    return guard("rv_cv_contour_perimeter", [&]() -> int {
        *perimeter = cv::arcLength(contour_mat(c), true);
        return RV_OK;
    });
}

extern "C" int rv_cv_contour_min_rect(const rv_cv_contour_t *c, rv_cv_rotrect_t *rect)
{
    int rc = check_contour("rv_cv_contour_min_rect", c, rect);
    if (rc)
        return rc;
    return guard("rv_cv_contour_min_rect", [&]() -> int {
        cv::RotatedRect r = cv::minAreaRect(contour_mat(c));
        *rect = rv_cv_rotrect_t{r.center.x, r.center.y, r.size.width, r.size.height, r.angle};
        return RV_OK;
    });
}

// ---- registration ---------------------------------------------------------------------

extern "C" void rv_cv_register_params_default(rv_cv_register_params_t *p)
{
    if (!p)
        return;
    p->motion = -1; // per-method default
    p->max_features = 2000;
    p->ransac_px = 3.0;
    p->min_inliers = 8;
    p->max_iterations = 100;
    p->epsilon = 1e-5;
    p->use_initial_guess = 0;
}

static void set_identity(rv_cv_transform_t *t)
{
    memset(t, 0, sizeof *t);
    t->m[0][0] = t->m[1][1] = 1.0;
}

static int check_pair(const char *domain, const rv_view_t *view, const rv_view_t *ref,
                      rv_cv_transform_t *out, bool same_size)
{
    if (!out)
        return rv_fail(RV_EINVAL, domain, "out is NULL");
    int rc = check_view(domain, "view", view, rvcv::FMT_GRAY);
    if (!rc)
        rc = check_view(domain, "ref", ref, rvcv::FMT_GRAY);
    if (!rc && same_size)
        rc = rvcv::check_same_size(domain, "view", view, "ref", ref);
    return rc;
}

extern "C" int rv_cv_register_features(const rv_view_t *view, const rv_view_t *ref,
                                       const rv_cv_register_params_t *params,
                                       rv_cv_transform_t *out)
{
    static const char *const domain = "rv_cv_register_features";
    int rc = check_pair(domain, view, ref, out, false);
    if (rc)
        return rc;
    rv_cv_register_params_t p;
    rv_cv_register_params_default(&p);
    if (params)
        p = *params;
    int motion = p.motion < 0 ? RV_CV_MOTION_SIMILARITY : p.motion;
    if (motion != RV_CV_MOTION_SIMILARITY && motion != RV_CV_MOTION_AFFINE)
        return rv_fail(RV_EINVAL, domain, "motion %d: features support SIMILARITY or AFFINE",
                       motion);
    if (p.max_features < 16 || p.max_features > 100000 || !(p.ransac_px > 0) ||
        p.min_inliers < 3)
        return rv_fail(RV_EINVAL, domain,
                       "bad parameters (max_features %d, ransac_px %g, min_inliers %d)",
                       p.max_features, p.ransac_px, p.min_inliers);
    set_identity(out);
    return guard(domain, [&]() -> int {
        cv::Ptr<cv::ORB> orb = cv::ORB::create(p.max_features);
        std::vector<cv::KeyPoint> kv, kr;
        cv::Mat dv, dr;
        orb->detectAndCompute(wrap(view), cv::noArray(), kv, dv);
        orb->detectAndCompute(wrap(ref), cv::noArray(), kr, dr);
        if (kv.size() < 3 || kr.size() < 3)
            return rv_fail(RV_EBACKEND, domain,
                           "too few ORB features (view %zu, ref %zu): image too flat?",
                           kv.size(), kr.size());
        cv::BFMatcher matcher(cv::NORM_HAMMING, true);
        std::vector<cv::DMatch> matches;
        matcher.match(dv, dr, matches);
        out->matches = (int) matches.size();
        if (matches.size() < 3)
            return rv_fail(RV_EBACKEND, domain, "%zu matches, need at least 3",
                           matches.size());
        std::vector<cv::Point2f> from, to;
        for (const cv::DMatch &m : matches) {
            from.push_back(kv[(size_t) m.queryIdx].pt);
            to.push_back(kr[(size_t) m.trainIdx].pt);
        }
        std::vector<uchar> inl;
        cv::Mat M = motion == RV_CV_MOTION_AFFINE
                        ? cv::estimateAffine2D(from, to, inl, cv::RANSAC, p.ransac_px)
                        : cv::estimateAffinePartial2D(from, to, inl, cv::RANSAC, p.ransac_px);
        if (M.empty())
            return rv_fail(RV_EBACKEND, domain, "RANSAC found no transform (%zu matches)",
                           matches.size());
        for (int r = 0; r < 2; r++)
            for (int c = 0; c < 3; c++)
                out->m[r][c] = M.at<double>(r, c);
        int n = 0;
        double sum2 = 0;
        for (size_t i = 0; i < inl.size(); i++) {
            if (!inl[i])
                continue;
            double x = out->m[0][0] * from[i].x + out->m[0][1] * from[i].y + out->m[0][2];
            double y = out->m[1][0] * from[i].x + out->m[1][1] * from[i].y + out->m[1][2];
            sum2 += (x - to[i].x) * (x - to[i].x) + (y - to[i].y) * (y - to[i].y);
            n++;
        }
        out->inliers = n;
        out->residual = n ? std::sqrt(sum2 / n) : 0.0;
        out->score = (double) n / (double) matches.size();
        if (n < p.min_inliers)
            return rv_fail(RV_EBACKEND, domain, "%d inliers of %zu matches, need %d", n,
                           matches.size(), p.min_inliers);
        return RV_OK;
    });
}

extern "C" int rv_cv_register_ecc(const rv_view_t *view, const rv_view_t *ref,
                                  const rv_cv_register_params_t *params, rv_cv_transform_t *out)
{
    static const char *const domain = "rv_cv_register_ecc";
    int rc = check_pair(domain, view, ref, out, true);
    if (rc)
        return rc;
    rv_cv_register_params_t p;
    rv_cv_register_params_default(&p);
    if (params)
        p = *params;
    int motion = p.motion < 0 ? RV_CV_MOTION_EUCLIDEAN : p.motion;
    int cv_motion;
    switch (motion) {
    case RV_CV_MOTION_TRANSLATION: cv_motion = cv::MOTION_TRANSLATION; break;
    case RV_CV_MOTION_EUCLIDEAN: cv_motion = cv::MOTION_EUCLIDEAN; break;
    case RV_CV_MOTION_AFFINE: cv_motion = cv::MOTION_AFFINE; break;
    default:
        return rv_fail(RV_EINVAL, domain,
                       "motion %d: ECC supports TRANSLATION, EUCLIDEAN or AFFINE", motion);
    }
    if (p.max_iterations < 1 || !(p.epsilon > 0))
        return rv_fail(RV_EINVAL, domain, "bad parameters (max_iterations %d, epsilon %g)",
                       p.max_iterations, p.epsilon);
    rv_cv_transform_t guess{};
    if (p.use_initial_guess) {
        guess = *out;
        const double(*g)[3] = guess.m;
        bool finite = true;
        for (int r = 0; r < 2; r++)
            for (int c = 0; c < 3; c++)
                finite = finite && std::isfinite(g[r][c]);
        if (!finite || std::fabs(g[0][0] * g[1][1] - g[0][1] * g[1][0]) < 1e-12)
            return rv_fail(RV_EINVAL, domain, "initial guess is not an invertible transform");
    }
    set_identity(out);
    return guard(domain, [&]() -> int {
        // ECC's warp maps reference coordinates to view coordinates: the inverse of ours.
        cv::Mat warp = cv::Mat::eye(2, 3, CV_32F);
        if (p.use_initial_guess) {
            cv::Mat g(2, 3, CV_64F, guess.m), inv;
            cv::invertAffineTransform(g, inv);
            inv.convertTo(warp, CV_32F);
        }
        cv::TermCriteria crit(cv::TermCriteria::COUNT + cv::TermCriteria::EPS, p.max_iterations,
                              p.epsilon);
        double cc = cv::findTransformECC(wrap(ref), wrap(view), warp, cv_motion, crit,
                                         cv::noArray(), 5);
        cv::Mat w64, ours;
        warp.convertTo(w64, CV_64F);
        cv::invertAffineTransform(w64, ours);
        for (int r = 0; r < 2; r++)
            for (int c = 0; c < 3; c++)
                out->m[r][c] = ours.at<double>(r, c);
        out->score = cc;
        out->residual = 1.0 - cc;
        return RV_OK;
    });
}

extern "C" int rv_cv_register_phase(const rv_view_t *view, const rv_view_t *ref,
                                    rv_cv_transform_t *out)
{
    static const char *const domain = "rv_cv_register_phase";
    int rc = check_pair(domain, view, ref, out, true);
    if (rc)
        return rc;
    if (view->width < 8 || view->height < 8)
        return rv_fail(RV_EINVAL, domain, "views of %dx%d are too small (8x8 at least)",
                       view->width, view->height);
    set_identity(out);
    return guard(domain, [&]() -> int {
        cv::Mat fv, fr, win;
        wrap(view).convertTo(fv, CV_64F);
        wrap(ref).convertTo(fr, CV_64F);
        cv::createHanningWindow(win, fv.size(), CV_64F);
        double response = 0;
        // With view(x) = ref(x - d), phaseCorrelate(ref, view) returns d.
        cv::Point2d d = cv::phaseCorrelate(fr, fv, win, &response);
        out->m[0][2] = -d.x;
        out->m[1][2] = -d.y;
        out->score = response;
        out->residual = 1.0 - response;
        return RV_OK;
    });
}

extern "C" int rv_cv_warp_affine(const rv_view_t *src, const rv_view_t *dst, const double m[2][3],
                                 int interpolation)
{
    static const char *const domain = "rv_cv_warp_affine";
    int rc = check_view(domain, "src", src, rvcv::FMT_ANY);
    if (!rc)
        rc = check_view(domain, "dst", dst, rvcv::FMT_ANY);
    if (rc)
        return rc;
    if (src->fmt != dst->fmt)
        return rv_fail(RV_EINVAL, domain, "src is %s but dst is %s", rvcv::fmt_name(src->fmt),
                       rvcv::fmt_name(dst->fmt));
    if (!m)
        return rv_fail(RV_EINVAL, domain, "matrix is NULL");
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 3; c++)
            if (!std::isfinite(m[r][c]))
                return rv_fail(RV_EINVAL, domain, "matrix element [%d][%d] is not finite", r, c);
    if (std::fabs(m[0][0] * m[1][1] - m[0][1] * m[1][0]) < 1e-12)
        return rv_fail(RV_EINVAL, domain, "matrix is singular");
    int flags;
    switch (interpolation) {
    case RV_CV_INTER_NEAREST: flags = cv::INTER_NEAREST; break;
    case RV_CV_INTER_LINEAR: flags = cv::INTER_LINEAR; break;
    case RV_CV_INTER_CUBIC: flags = cv::INTER_CUBIC; break;
    default: return rv_fail(RV_EINVAL, domain, "unknown interpolation %d", interpolation);
    }
    if (rvcv::views_overlap(src, dst))
        return rv_fail(RV_EINVAL, domain, "src and dst overlap");
    return guard(domain, [&]() -> int {
        cv::Mat M(2, 3, CV_64F, const_cast<double *>(&m[0][0]));
        cv::Mat out = wrap(dst);
        cv::warpAffine(wrap(src), out, M, out.size(), flags, cv::BORDER_CONSTANT,
                       cv::Scalar::all(0));
        return rvcv::check_still_wrapped(domain, out, dst->data);
    });
}
