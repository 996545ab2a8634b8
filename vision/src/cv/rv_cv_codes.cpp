// rv_cv_codes.cpp - QR codes (opencv_contrib wechat_qrcode) and EAN/UPC barcodes
// (opencv_contrib barcode) behind the C shim (rv_cv.h), plus a QR renderer (objdetect).
#include "cv/rv_cv_internal.hpp"

#include <opencv2/barcode.hpp>
#include <opencv2/objdetect.hpp>
#include <opencv2/wechat_qrcode.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using rvcv::check_view;
using rvcv::guard;

namespace {

struct found_code {
    int kind;
    std::string text;
    cv::Point2f corners[4];
};

// OpenCV returns the quadrilaterals as an N x 4 (or 4N x 1) array of Point2f.
std::vector<cv::Point2f> flatten_points(const cv::Mat &pts)
{
    std::vector<cv::Point2f> v;
    if (pts.empty())
        return v;
    cv::Mat f;
    pts.convertTo(f, CV_32F);
    f = f.clone(); // continuous
    const float *p = f.ptr<float>();
    size_t n = f.total() * (size_t) f.channels() / 2;
    for (size_t i = 0; i < n; i++)
        v.emplace_back(p[2 * i], p[2 * i + 1]);
    return v;
}

int to_codes(const char *domain, const std::vector<found_code> &found, rv_cv_codes_t *out)
{
    if (found.empty())
        return RV_OK;
    auto *items = static_cast<rv_cv_code_t *>(calloc(found.size(), sizeof(rv_cv_code_t)));
    if (!items)
        return rv_fail(RV_ENOMEM, domain, "no memory for %zu codes", found.size());
    for (size_t i = 0; i < found.size(); i++) {
        rv_cv_code_t *c = &items[i];
        c->kind = found[i].kind;
        c->len = found[i].text.size();
        c->text = static_cast<char *>(malloc(c->len + 1));
        if (!c->text) {
            rv_cv_codes_t partial{items, (int) found.size()};
            rv_cv_codes_free(&partial);
            return rv_fail(RV_ENOMEM, domain, "no memory for code text");
        }
        memcpy(c->text, found[i].text.data(), c->len);
        c->text[c->len] = '\0';
        for (int k = 0; k < 4; k++)
            c->corners[k] = rv_cv_point2f_t{found[i].corners[k].x, found[i].corners[k].y};
    }
    out->items = items;
    out->count = (int) found.size();
    return RV_OK;
}

int barcode_kind(cv::barcode::BarcodeType t)
{
    switch (t) {
    case cv::barcode::EAN_13: return RV_CV_CODE_EAN13;
    case cv::barcode::EAN_8: return RV_CV_CODE_EAN8;
    case cv::barcode::UPC_A: return RV_CV_CODE_UPCA;
    case cv::barcode::UPC_E: return RV_CV_CODE_UPCE;
    default: return RV_CV_CODE_OTHER;
    }
}

} // namespace

extern "C" void rv_cv_codes_free(rv_cv_codes_t *codes)
{
    if (!codes)
        return;
    for (int i = 0; i < codes->count && codes->items; i++)
        free(codes->items[i].text);
    free(codes->items);
    codes->items = nullptr;
    codes->count = 0;
}

// Decoded texts of a gray image, by wechat_qrcode (ZXing inside).
static std::vector<std::string> wechat_decode(const cv::Mat &gray)
{
    cv::wechat_qrcode::WeChatQRCode qr; // no CNN model files: classic detector
    std::vector<std::string> texts = qr.detectAndDecode(gray);
    std::vector<std::string> out;
    for (auto &t : texts)
        if (!t.empty())
            out.push_back(t);
    return out;
}

extern "C" int rv_cv_decode_qr(const rv_view_t *view, rv_cv_codes_t *out)
{
    static const char *const domain = "rv_cv_decode_qr";
    if (!out)
        return rv_fail(RV_EINVAL, domain, "out is NULL");
    *out = rv_cv_codes_t{nullptr, 0};
    int rc = check_view(domain, "view", view, rvcv::FMT_ANY);
    if (rc)
        return rc;
    return guard(domain, [&]() -> int {
        // Debian builds objdetect without quirc: cv::QRCodeDetector can locate codes but
        // its decode() prints to stdout and returns "". wechat_qrcode decodes (ZXing) but
        // without its CNN models reports the whole image as the code's corners. So
        // objdetect locates and wechat decodes.
        cv::Mat gray = rvcv::gray_of(view);
        // wechat_qrcode without its CNN finds one code per image: decode each located
        // neighbourhood, then the whole view for codes the locator missed.
        std::vector<found_code> found;
        cv::QRCodeDetector locator;
        cv::Mat quads;
        std::vector<cv::Point2f> q;
        if (locator.detectMulti(gray, quads))
            q = flatten_points(quads);
        if (q.empty() && locator.detect(gray, quads))
            q = flatten_points(quads);
        cv::Rect whole(0, 0, gray.cols, gray.rows);
        auto known = [&found](const std::string &t) {
            for (const found_code &c : found)
                if (c.text == t)
                    return true;
            return false;
        };
        for (size_t i = 0; i + 4 <= q.size(); i += 4) {
            std::vector<cv::Point2f> quad(q.begin() + (long) i, q.begin() + (long) i + 4);
            cv::Rect bb = cv::boundingRect(quad);
            int pad = std::max(bb.width, bb.height) / 4 + 4; // room for the quiet zone
            cv::Rect roi = cv::Rect(bb.x - pad, bb.y - pad, bb.width + 2 * pad,
                                    bb.height + 2 * pad) & whole;
            if (roi.empty())
                continue;
            std::vector<std::string> t = wechat_decode(gray(roi));
            if (t.size() != 1 || known(t[0]))
                continue;
            found_code c{RV_CV_CODE_QR, t[0], {}};
            for (int k = 0; k < 4; k++)
                c.corners[k] = quad[(size_t) k];
            found.push_back(c);
        }
        for (const std::string &t : wechat_decode(gray)) { // decoded but not located
            if (known(t))
                continue;
            found_code c{RV_CV_CODE_QR, t, {}};
            c.corners[1] = cv::Point2f((float) gray.cols - 1, 0);
            c.corners[2] = cv::Point2f((float) gray.cols - 1, (float) gray.rows - 1);
            c.corners[3] = cv::Point2f(0, (float) gray.rows - 1);
            found.push_back(c);
        }
        return to_codes(domain, found, out);
    });
}

extern "C" int rv_cv_decode_barcodes(const rv_view_t *view, rv_cv_codes_t *out)
{
    static const char *const domain = "rv_cv_decode_barcodes";
    if (!out)
        return rv_fail(RV_EINVAL, domain, "out is NULL");
    *out = rv_cv_codes_t{nullptr, 0};
    int rc = check_view(domain, "view", view, rvcv::FMT_ANY);
    if (rc)
        return rc;
    return guard(domain, [&]() -> int {
        cv::Mat gray = rvcv::gray_of(view);
        cv::barcode::BarcodeDetector det; // no super-resolution model
        // OpenCV 4.6's locator is scale-sensitive: on a miss, retry at a few scales (on
        // synthetic EAN-13 tests this takes the hit rate from ~40% to ~85%).
        static const double scales[] = {1.0, 0.8, 1.25, 0.64, 1.5625, 0.5};
        std::vector<found_code> found;
        for (double s : scales) {
            if (s > 1.0 && (double) gray.total() * s * s > 16e6)
                continue; // never upscale past 16 MP
            cv::Mat img = gray;
            if (s != 1.0)
                cv::resize(gray, img, cv::Size(), s, s, s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
            if (img.cols < 32 || img.rows < 32)
                continue;
            std::vector<std::string> texts;
            std::vector<cv::barcode::BarcodeType> types;
            cv::Mat pts;
            if (!det.detectAndDecode(img, texts, types, pts))
                continue;
            std::vector<cv::Point2f> p = flatten_points(pts);
            for (size_t i = 0; i < texts.size() && i < types.size(); i++) {
                if (texts[i].empty() || types[i] == cv::barcode::NONE || p.size() < 4 * (i + 1))
                    continue;
                found_code c{barcode_kind(types[i]), texts[i], {}};
                for (int k = 0; k < 4; k++)
                    c.corners[k] = p[4 * i + (size_t) k] * (float) (1.0 / s);
                found.push_back(c);
            }
            if (!found.empty())
                break;
        }
        return to_codes(domain, found, out);
    });
}

extern "C" int rv_cv_qr_encode(const char *text, int module_px, int quiet, rv_image_t **out)
{
    static const char *const domain = "rv_cv_qr_encode";
    if (!out)
        return rv_fail(RV_EINVAL, domain, "out is NULL");
    *out = nullptr;
    if (!text || !*text)
        return rv_fail(RV_EINVAL, domain, "text is %s", text ? "empty" : "NULL");
    if (module_px < 1 || module_px > 64 || quiet < 0 || quiet > 64)
        return rv_fail(RV_EINVAL, domain, "module_px %d (1..64) or quiet %d (0..64) out of range",
                       module_px, quiet);
    return guard(domain, [&]() -> int {
        cv::Mat q;
        cv::QRCodeEncoder::create()->encode(text, q);
        if (q.empty() || q.type() != CV_8UC1)
            return rv_fail(RV_EBACKEND, domain, "QR encoder produced nothing for %zu bytes",
                           strlen(text));
        // The encoder adds its own margin: crop to the symbol (its finder patterns span
        // the full extent), then add ours.
        cv::Mat dark = q < 128;
        cv::Rect bb = cv::boundingRect(dark);
        if (bb.empty())
            return rv_fail(RV_EBACKEND, domain, "QR encoder produced a blank image");
        cv::Mat sym = q(bb);
        int side_w = (bb.width + 2 * quiet) * module_px;
        int side_h = (bb.height + 2 * quiet) * module_px;
        rv_image_t *img = rv_image_new_filled(side_w, side_h, RV_GRAY8, 255);
        if (!img) {
            std::string why = rv_last_error();
            return rv_fail(RV_ENOMEM, domain, "no %dx%d image: %s", side_w, side_h, why.c_str());
        }
        rv_view_t v = rv_image_view(img);
        cv::Mat dst = rvcv::wrap(&v);
        cv::Mat inner = dst(cv::Rect(quiet * module_px, quiet * module_px,
                                     bb.width * module_px, bb.height * module_px));
        const uchar *before = inner.data;
        try {
            cv::resize(sym, inner, inner.size(), 0, 0, cv::INTER_NEAREST);
        } catch (...) {
            rv_image_destroy(&img);
            throw;
        }
        int rc2 = rvcv::check_still_wrapped(domain, inner, before);
        if (rc2) {
            rv_image_destroy(&img);
            return rc2;
        }
        *out = img;
        return RV_OK;
    });
}
