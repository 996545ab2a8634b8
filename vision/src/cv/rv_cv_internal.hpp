// rv_cv_internal.hpp - shared by the shim's C++ files only: the exception firewall,
// view checks and zero-copy wrapping of rv_view_t as cv::Mat.
#ifndef RV_CV_INTERNAL_HPP
#define RV_CV_INTERNAL_HPP

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>

#include "cv/rv_cv.h"
#include "rv/rv_error.h"

namespace rvcv {

// The exception firewall: runs f() (which returns an rv_status) and turns every C++
// exception into a negative status with a message. Every extern "C" entry point goes
// through guard() or guard_ptr().
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

// For constructors: f() returns a pointer (NULL after rv_fail).
template <class T, class F> T *guard_ptr(const char *domain, F &&f) noexcept
{
    T *result = nullptr;
    guard(domain, [&]() -> int {
        result = f();
        return RV_OK;
    });
    return result;
}

inline const char *fmt_name(int fmt)
{
    switch (fmt) {
    case RV_GRAY8: return "GRAY8";
    case RV_RGB8: return "RGB8";
    default: return "unknown format";
    }
}

enum { FMT_GRAY = 1, FMT_RGB = 2, FMT_ANY = 3 };

// RV_OK when v is a usable view of an allowed format; otherwise fails naming `what`.
inline int check_view(const char *domain, const char *what, const rv_view_t *v, int allowed)
{
    if (!v)
        return rv_fail(RV_EINVAL, domain, "%s is NULL", what);
    if (v->fmt != RV_GRAY8 && v->fmt != RV_RGB8)
        return rv_fail(RV_EINVAL, domain, "%s has unknown format %d", what, (int) v->fmt);
    if ((v->fmt == RV_GRAY8 && !(allowed & FMT_GRAY)) ||
        (v->fmt == RV_RGB8 && !(allowed & FMT_RGB)))
        return rv_fail(RV_EINVAL, domain, "%s is %s, need %s", what, fmt_name(v->fmt),
                       allowed == FMT_GRAY  ? "GRAY8"
                       : allowed == FMT_RGB ? "RGB8"
                                            : "GRAY8 or RGB8");
    if (v->width <= 0 || v->height <= 0 || v->width > RV_IMAGE_MAX_SIDE ||
        v->height > RV_IMAGE_MAX_SIDE)
        return rv_fail(RV_EINVAL, domain, "%s has bad size %dx%d", what, v->width, v->height);
    if (!v->data)
        return rv_fail(RV_EINVAL, domain, "%s has NULL data", what);
    if (v->stride < (ptrdiff_t) v->width * (ptrdiff_t) v->fmt)
        return rv_fail(RV_EINVAL, domain, "%s stride %td is less than width*%d = %td", what,
                       v->stride, (int) v->fmt, (ptrdiff_t) v->width * (ptrdiff_t) v->fmt);
    return RV_OK;
}

inline int check_same_size(const char *domain, const char *a_name, const rv_view_t *a,
                           const char *b_name, const rv_view_t *b)
{
    if (a->width != b->width || a->height != b->height)
        return rv_fail(RV_EINVAL, domain, "%s is %dx%d but %s is %dx%d", a_name, a->width,
                       a->height, b_name, b->width, b->height);
    return RV_OK;
}

// A Mat header over the view's pixels: no copy, no ownership.
inline cv::Mat wrap(const rv_view_t *v)
{
    return cv::Mat(v->height, v->width, v->fmt == RV_GRAY8 ? CV_8UC1 : CV_8UC3, v->data,
                   (size_t) v->stride);
}

// After OpenCV wrote into a wrapped output: it must still be the caller's buffer (a
// size or type mismatch would have made OpenCV reallocate, losing the result).
inline int check_still_wrapped(const char *domain, const cv::Mat &m, const void *data)
{
    if ((const void *) m.data != data)
        return rv_fail(RV_EBACKEND, domain,
                       "OpenCV reallocated the output (%dx%d type %d): result not in caller "
                       "buffer",
                       m.cols, m.rows, m.type());
    return RV_OK;
}

// A GRAY8 Mat for a GRAY8 or RGB8 view: a wrap for gray, a converted copy for RGB.
inline cv::Mat gray_of(const rv_view_t *v)
{
    cv::Mat m = wrap(v);
    if (v->fmt == RV_GRAY8)
        return m;
    cv::Mat g;
    cv::cvtColor(m, g, cv::COLOR_RGB2GRAY);
    return g;
}

// Bytes the view spans in memory, for overlap checks.
inline bool views_overlap(const rv_view_t *a, const rv_view_t *b)
{
    auto span = [](const rv_view_t *v, uintptr_t *lo, uintptr_t *hi) {
        *lo = (uintptr_t) v->data;
        *hi = *lo + (uintptr_t) ((v->height - 1) * v->stride + (ptrdiff_t) v->width * v->fmt);
    };
    uintptr_t alo, ahi, blo, bhi;
    span(a, &alo, &ahi);
    span(b, &blo, &bhi);
    return alo < bhi && blo < ahi;
}

} // namespace rvcv

#endif
