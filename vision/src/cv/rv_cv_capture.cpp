// rv_cv_capture.cpp - cv::VideoCapture behind the opaque rv_cv_capture_t (rv_cv.h).
#include "cv/rv_cv_internal.hpp"

#include <opencv2/videoio.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <sys/stat.h>

#include "rv/rv_jpeg.h"

using rvcv::guard;

struct rv_cv_capture {
    cv::VideoCapture cap;
    std::string source;  // as given
    std::string backend; // OpenCV's name for the backend in use
    bool camera = false; // V4L2 device (not a file or sequence)
    bool raw = false;    // raw mode on: frames are the camera's JPEG bytes
    cv::Mat frame;       // reused between grabs
};

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static bool path_exists(const std::string &p)
{
    struct stat st;
    return stat(p.c_str(), &st) == 0;
}

extern "C" rv_cv_capture_t *rv_cv_capture_open(const char *source, int width, int height,
                                               int mjpeg)
{
    static const char *const domain = "rv_cv_capture_open";
    if (!source || !*source) {
        rv_fail(RV_EINVAL, domain, "source is %s", source ? "empty" : "NULL");
        return nullptr;
    }
    if (width < 0 || height < 0 || width > RV_IMAGE_MAX_SIDE || height > RV_IMAGE_MAX_SIDE) {
        rv_fail(RV_EINVAL, domain, "bad frame size %dx%d", width, height);
        return nullptr;
    }
    return rvcv::guard_ptr<rv_cv_capture_t>(domain, [&]() -> rv_cv_capture_t * {
        std::string src(source);
        std::string dev;
        if (all_digits(source)) {
            if (src.size() > 4) {
                rv_fail(RV_EINVAL, domain, "camera index %s out of range", source);
                return nullptr;
            }
            dev = "/dev/video" + src;
        } else if (src.rfind("/dev/video", 0) == 0) {
            dev = src;
        }
        bool camera = !dev.empty();
        bool sequence = src.find('%') != std::string::npos;
        if (camera && !path_exists(dev)) {
            rv_fail(RV_EIO, domain, "no such camera device %s (source \"%s\")", dev.c_str(),
                    source);
            return nullptr;
        }
        if (!camera && !sequence && !path_exists(src)) {
            rv_fail(RV_EIO, domain, "no such file %s: %s", source, strerror(ENOENT));
            return nullptr;
        }
        auto self = std::make_unique<rv_cv_capture>();
        self->source = src;
        self->camera = camera;
        bool ok;
        if (camera)
            ok = self->cap.open(dev, cv::CAP_V4L2);
        else if (sequence) // deterministic: OpenCV's own image-sequence reader, not FFmpeg
            ok = self->cap.open(src, cv::CAP_IMAGES);
        else // not CAP_ANY: its probing runs gPhoto2's USB autodetect (slow, and it leaks
             // ~2500 libusb device lists per open in libgphoto2_port)
            ok = self->cap.open(src, cv::CAP_FFMPEG);
        if (!ok || !self->cap.isOpened()) {
            rv_fail(RV_EIO, domain, "OpenCV could not open %s%s", camera ? "camera " : "",
                    camera ? dev.c_str() : source);
            return nullptr;
        }
        self->backend = self->cap.getBackendName();
        if (camera) {
            // Best effort: a camera that ignores these keeps its own format, which
            // rv_cv_capture_get() reports.
            if (mjpeg)
                self->cap.set(cv::CAP_PROP_FOURCC, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'));
            if (width > 0)
                self->cap.set(cv::CAP_PROP_FRAME_WIDTH, width);
            if (height > 0)
                self->cap.set(cv::CAP_PROP_FRAME_HEIGHT, height);
        }
        return self.release();
    });
}

extern "C" void rv_cv_capture_destroy(rv_cv_capture_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rv_cv_capture_t *self = *self_p;
    *self_p = nullptr;
    guard("rv_cv_capture_destroy", [&]() -> int {
        self->cap.release();
        return RV_OK;
    });
    delete self; // members' destructors do not throw
}

extern "C" const char *rv_cv_capture_backend(const rv_cv_capture_t *self)
{
    return self ? self->backend.c_str() : "";
}

static int map_prop(int prop)
{
    switch (prop) {
    case RV_CV_PROP_EXPOSURE: return cv::CAP_PROP_EXPOSURE;
    case RV_CV_PROP_AUTO_EXPOSURE: return cv::CAP_PROP_AUTO_EXPOSURE;
    case RV_CV_PROP_GAIN: return cv::CAP_PROP_GAIN;
    case RV_CV_PROP_FPS: return cv::CAP_PROP_FPS;
    case RV_CV_PROP_WIDTH: return cv::CAP_PROP_FRAME_WIDTH;
    case RV_CV_PROP_HEIGHT: return cv::CAP_PROP_FRAME_HEIGHT;
    default: return -1;
    }
}

static const char *prop_name(int prop)
{
    static const char *const names[] = {"EXPOSURE", "AUTO_EXPOSURE", "GAIN", "FPS", "WIDTH",
                                        "HEIGHT"};
    return prop >= 0 && prop <= RV_CV_PROP_HEIGHT ? names[prop] : "?";
}

extern "C" int rv_cv_capture_set(rv_cv_capture_t *self, int prop, double value)
{
    static const char *const domain = "rv_cv_capture_set";
    if (!self)
        return rv_fail(RV_EINVAL, domain, "capture is NULL");
    int cvp = map_prop(prop);
    if (cvp < 0)
        return rv_fail(RV_EINVAL, domain, "unknown property %d", prop);
    if (prop == RV_CV_PROP_WIDTH || prop == RV_CV_PROP_HEIGHT)
        return rv_fail(RV_EINVAL, domain, "%s is set at open", prop_name(prop));
    return guard(domain, [&]() -> int {
        if (!self->cap.set(cvp, value))
            return rv_fail(RV_EBACKEND, domain, "%s backend refuses %s = %g on %s",
                           self->backend.c_str(), prop_name(prop), value,
                           self->source.c_str());
        return RV_OK;
    });
}

extern "C" int rv_cv_capture_get(rv_cv_capture_t *self, int prop, double *value)
{
    static const char *const domain = "rv_cv_capture_get";
    if (!self || !value)
        return rv_fail(RV_EINVAL, domain, "%s is NULL", self ? "value" : "capture");
    int cvp = map_prop(prop);
    if (cvp < 0)
        return rv_fail(RV_EINVAL, domain, "unknown property %d", prop);
    return guard(domain, [&]() -> int {
        *value = self->cap.get(cvp);
        return RV_OK;
    });
}

// Reads the next frame into self->frame; RV_EIO when none comes.
static int read_frame(const char *domain, rv_cv_capture_t *self)
{
    if (!self->cap.read(self->frame) || self->frame.empty())
        return rv_fail(RV_EIO, domain, "no frame from %s (end of stream or device lost)",
                       self->source.c_str());
    return RV_OK;
}

extern "C" int rv_cv_capture_grab_jpeg(rv_cv_capture_t *self, uint8_t **out, size_t *out_len)
{
    static const char *const domain = "rv_cv_capture_grab_jpeg";
    if (!self || !out || !out_len)
        return rv_fail(RV_EINVAL, domain, "%s is NULL", !self ? "capture" : "output");
    *out = nullptr;
    *out_len = 0;
    return guard(domain, [&]() -> int {
        if (!self->raw) {
            if (!self->camera)
                return rv_fail(RV_EBACKEND, domain,
                               "raw MJPEG needs a V4L2 camera; %s is read by %s",
                               self->source.c_str(), self->backend.c_str());
            int fourcc = (int) self->cap.get(cv::CAP_PROP_FOURCC);
            if (fourcc != cv::VideoWriter::fourcc('M', 'J', 'P', 'G'))
                return rv_fail(RV_EBACKEND, domain, "camera %s delivers %c%c%c%c, not MJPG",
                               self->source.c_str(), fourcc & 0xff, (fourcc >> 8) & 0xff,
                               (fourcc >> 16) & 0xff, (fourcc >> 24) & 0xff);
            if (!self->cap.set(cv::CAP_PROP_CONVERT_RGB, 0) ||
                !self->cap.set(cv::CAP_PROP_FORMAT, -1))
                return rv_fail(RV_EBACKEND, domain, "%s backend refuses raw mode",
                               self->backend.c_str());
            self->raw = true;
        }
        int rc = read_frame(domain, self);
        if (rc)
            return rc;
        const cv::Mat &f = self->frame;
        size_t n = f.total() * f.elemSize();
        if (f.depth() != CV_8U || !f.isContinuous() || n < 4 || f.data[0] != 0xFF ||
            f.data[1] != 0xD8)
            return rv_fail(RV_EFORMAT, domain, "raw frame from %s is not a JPEG (%dx%d type %d)",
                           self->source.c_str(), f.cols, f.rows, f.type());
        auto *buf = static_cast<uint8_t *>(malloc(n));
        if (!buf)
            return rv_fail(RV_ENOMEM, domain, "no memory for a %zu-byte frame", n);
        memcpy(buf, f.data, n);
        *out = buf;
        *out_len = n;
        return RV_OK;
    });
}

extern "C" void rv_cv_bytes_free(uint8_t **buf_p)
{
    if (!buf_p)
        return;
    free(*buf_p);
    *buf_p = nullptr;
}

extern "C" int rv_cv_capture_grab(rv_cv_capture_t *self, rv_image_t **out)
{
    static const char *const domain = "rv_cv_capture_grab";
    if (!self || !out)
        return rv_fail(RV_EINVAL, domain, "%s is NULL", self ? "out" : "capture");
    *out = nullptr;
    if (self->raw) {
        uint8_t *jpeg = nullptr;
        size_t len = 0;
        int rc = rv_cv_capture_grab_jpeg(self, &jpeg, &len);
        if (rc)
            return rc;
        *out = rv_jpeg_decode(jpeg, len, RV_RGB8, 1);
        rv_cv_bytes_free(&jpeg);
        return *out ? RV_OK : RV_EFORMAT; // rv_last_error() from the decoder
    }
    return guard(domain, [&]() -> int {
        int rc = read_frame(domain, self);
        if (rc)
            return rc;
        const cv::Mat &f = self->frame;
        int code;
        switch (f.type()) {
        case CV_8UC3: code = cv::COLOR_BGR2RGB; break;
        case CV_8UC1: code = cv::COLOR_GRAY2RGB; break;
        case CV_8UC4: code = cv::COLOR_BGRA2RGB; break;
        default:
            return rv_fail(RV_EFORMAT, domain, "frame from %s has unsupported type %d",
                           self->source.c_str(), f.type());
        }
        rv_image_t *img = rv_image_new(f.cols, f.rows, RV_RGB8);
        if (!img) {
            std::string why = rv_last_error();
            return rv_fail(RV_ENOMEM, domain, "no %dx%d RGB image: %s", f.cols, f.rows,
                           why.c_str());
        }
        rv_view_t v = rv_image_view(img);
        cv::Mat dst = rvcv::wrap(&v);
        try {
            cv::cvtColor(f, dst, code);
        } catch (...) {
            rv_image_destroy(&img);
            throw;
        }
        rc = rvcv::check_still_wrapped(domain, dst, v.data);
        if (rc) {
            rv_image_destroy(&img);
            return rc;
        }
        *out = img;
        return RV_OK;
    });
}
