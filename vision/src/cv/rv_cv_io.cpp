// rv_cv_io.cpp - image files through imgcodecs: reading masks (PNG) as GRAY8 and writing
// overlays. See rv_cv.h; every extern "C" body runs inside rvcv::guard().
#include "cv/rv_cv_internal.hpp"
#include "rv/rv_jpeg.h"

#include <opencv2/imgcodecs.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <sys/stat.h>
#include <vector>

using rvcv::check_view;
using rvcv::guard;
using rvcv::wrap;

static const long long MAX_FILE_BYTES = 256LL << 20;

extern "C" int rv_cv_read_gray(const char *path, rv_image_t **out)
{
    static const char *const domain = "rv_cv_read_gray";
    if (!out)
        return rv_fail(RV_EINVAL, domain, "out is NULL");
    *out = nullptr;
    if (!path || !*path)
        return rv_fail(RV_EINVAL, domain, "no path");
    struct stat st;
    if (stat(path, &st) != 0)
        return rv_fail(RV_EIO, domain, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return rv_fail(RV_EIO, domain, "%s: not a regular file", path);
    if ((long long) st.st_size > MAX_FILE_BYTES)
        return rv_fail(RV_ELIMIT, domain, "%s: %lld bytes, limit %lld", path,
                       (long long) st.st_size, MAX_FILE_BYTES);
    return guard(domain, [&]() -> int {
        // read the bytes ourselves, so the header is checked before any pixel is decoded
        std::vector<uint8_t> bytes((size_t) st.st_size);
        FILE *f = fopen(path, "rb");
        if (!f)
            return rv_fail(RV_EIO, domain, "%s: %s", path, strerror(errno));
        size_t got = bytes.empty() ? 0 : fread(bytes.data(), 1, bytes.size(), f);
        fclose(f);
        if (got != bytes.size())
            return rv_fail(RV_EIO, domain, "%s: short read (%zu of %zu bytes)", path, got,
                           bytes.size());
        if (bytes.empty())
            return rv_fail(RV_EFORMAT, domain, "%s: empty file", path);
        cv::Mat m = cv::imdecode(bytes, cv::IMREAD_GRAYSCALE | cv::IMREAD_ANYDEPTH);
        if (m.empty())
            return rv_fail(RV_EFORMAT, domain, "%s: not an image imgcodecs can decode", path);
        if ((unsigned long long) m.cols * (unsigned long long) m.rows >
            (unsigned long long) RV_JPEG_DEFAULT_MAX_PIXELS)
            return rv_fail(RV_ELIMIT, domain, "%s: %dx%d pixels is over the limit", path,
                           m.cols, m.rows);
        cv::Mat g;
        if (m.depth() == CV_8U)
            g = m;
        else if (m.depth() == CV_16U)
            m.convertTo(g, CV_8U, 1.0 / 257.0);
        else
            m.convertTo(g, CV_8U);
        rv_image_t *img = rv_image_new(g.cols, g.rows, RV_GRAY8);
        if (!img) {
            std::string why = rv_last_error();
            return rv_fail(RV_ENOMEM, domain, "no %dx%d image: %s", g.cols, g.rows,
                           why.c_str());
        }
        rv_view_t v = rv_image_view(img);
        cv::Mat dst = wrap(&v);
        g.copyTo(dst);
        *out = img;
        return RV_OK;
    });
}

extern "C" int rv_cv_write_image(const char *path, const rv_view_t *view)
{
    static const char *const domain = "rv_cv_write_image";
    if (!path || !*path)
        return rv_fail(RV_EINVAL, domain, "no path");
    int rc = check_view(domain, "view", view, rvcv::FMT_ANY);
    if (rc)
        return rc;
    return guard(domain, [&]() -> int {
        cv::Mat m = wrap(view), bgr;
        if (view->fmt == RV_RGB8)
            cv::cvtColor(m, bgr, cv::COLOR_RGB2BGR);
        else
            bgr = m;
        if (!cv::imwrite(path, bgr))
            return rv_fail(RV_EIO, domain, "%s: cannot write (extension or folder?)", path);
        return RV_OK;
    });
}
