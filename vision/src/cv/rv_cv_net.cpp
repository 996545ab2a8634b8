// rv_cv_net.cpp - rv_cnn.h's layer list as an OpenCV dnn network (CPU, OpenCV's own
// backend). Convolutions carry their folded bias; TensorFlow's "same" padding is OpenCV's
// pad_mode SAME (the odd pixel at the bottom and right); average pooling over "same"
// padding counts the pixels inside the image only (ave_pool_padded_area false).
#include <opencv2/dnn.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "cv/rv_cv_internal.hpp"
#include "rv/rv_cnn.h"

struct rv_cv_net {
    cv::dnn::Net net;
    std::string output;
};

namespace {

void set_kernel(cv::dnn::LayerParams &lp, const rv_cnn_layer_t &l)
{
    lp.set("kernel_h", l.kh);
    lp.set("kernel_w", l.kw);
    lp.set("stride_h", l.stride);
    lp.set("stride_w", l.stride);
    if (l.same)
        lp.set("pad_mode", "SAME");
    else
        lp.set("pad_mode", "VALID");
}

} // namespace

extern "C" rv_cv_net_t *rv_cv_net_new(const rv_cnn_layer_t *layers, int n, int output)
{
    return rvcv::guard_ptr<rv_cv_net_t>("rv_cv_net_new", [&]() -> rv_cv_net_t * {
        if (!layers || n < 1 || output < 0 || output >= n) {
            rv_fail(RV_EINVAL, "rv_cv_net_new", "no layers, or output %d outside 0..%d",
                    output, n - 1);
            return nullptr;
        }
        auto *self = new rv_cv_net;
        // OpenCV's layer ids per rv_cnn layer (the input is id 0, the net's input)
        std::vector<int> id((size_t) n, -1);
        id[0] = 0;
        for (int i = 1; i <= output; i++) {
            const rv_cnn_layer_t &l = layers[i];
            cv::dnn::LayerParams lp;
            lp.name = std::string(l.name) + "#" + std::to_string(i);
            switch (l.op) {
            case RV_CNN_CONV: {
                lp.type = "Convolution";
                set_kernel(lp, l);
                lp.set("num_output", l.cout);
                lp.set("bias_term", true);
                lp.set("group", 1);
                int sz[4] = {l.cout, l.cin, l.kh, l.kw};
                cv::Mat w(4, sz, CV_32F);
                std::memcpy(w.ptr<float>(), l.weights,
                            sizeof(float) * (size_t) l.cout * l.cin * l.kh * l.kw);
                cv::Mat b(1, l.cout, CV_32F, cv::Scalar(0));
                if (l.bias)
                    std::memcpy(b.ptr<float>(), l.bias, sizeof(float) * (size_t) l.cout);
                lp.blobs.push_back(w);
                lp.blobs.push_back(b);
                break;
            }
            case RV_CNN_MAXPOOL:
            case RV_CNN_AVGPOOL:
                lp.type = "Pooling";
                lp.set("pool", l.op == RV_CNN_MAXPOOL ? "max" : "ave");
                set_kernel(lp, l);
                lp.set("ave_pool_padded_area", false);
                break;
            case RV_CNN_CONCAT:
                lp.type = "Concat";
                lp.set("axis", 1);
                break;
            default:
                delete self;
                rv_fail(RV_EINVAL, "rv_cv_net_new", "layer %d ('%s'): op %d", i, l.name,
                        l.op);
                return nullptr;
            }
            int lid = self->net.addLayer(lp.name, lp.type, lp);
            for (int k = 0; k < l.ninputs; k++)
                self->net.connect(id[(size_t) l.inputs[k]], 0, lid, k);
            id[(size_t) i] = lid;
            if (l.op == RV_CNN_CONV && l.relu) {
                cv::dnn::LayerParams rp;
                rp.name = lp.name + "/relu";
                rp.type = "ReLU";
                int rid = self->net.addLayer(rp.name, rp.type, rp);
                self->net.connect(lid, 0, rid, 0);
                id[(size_t) i] = rid;
                lp.name = rp.name;
            }
            if (i == output)
                self->output = lp.name;
        }
        if (output == 0) {
            delete self;
            rv_fail(RV_EINVAL, "rv_cv_net_new", "the output is the input");
            return nullptr;
        }
        self->net.setInputsNames({"input"});
        self->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        self->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
        return self;
    });
}

extern "C" int rv_cv_net_forward(rv_cv_net_t *self, const float *in, int h, int w,
                                 float *out, size_t cap, int dims[3])
{
    return rvcv::guard("rv_cv_net_forward", [&]() -> int {
        if (!self || !in || h < 1 || w < 1 || !dims)
            return rv_fail(RV_EINVAL, "rv_cv_net_forward", "no net, input or dims");
        int sz[4] = {1, 3, h, w};
        cv::Mat blob(4, sz, CV_32F, const_cast<float *>(in));
        self->net.setInput(blob);
        cv::Mat o = self->net.forward(self->output);
        if (o.dims != 4 || o.size[0] != 1)
            return rv_fail(RV_EBACKEND, "rv_cv_net_forward", "output of %d dimensions",
                           o.dims);
        dims[0] = o.size[1];
        dims[1] = o.size[2];
        dims[2] = o.size[3];
        size_t need = (size_t) dims[0] * (size_t) dims[1] * (size_t) dims[2];
        if (!out || cap < need)
            return rv_fail(RV_EINVAL, "rv_cv_net_forward", "%zu floats needed, %zu given",
                           need, cap);
        if (!o.isContinuous())
            o = o.clone();
        std::memcpy(out, o.ptr<float>(), need * sizeof(float));
        return RV_OK;
    });
}

extern "C" int rv_cv_resize_gray_f32(const rv_view_t *src, int w, int h, float *dst)
{
    return rvcv::guard("rv_cv_resize_gray_f32", [&]() -> int {
        if (!src || !src->data || src->fmt != RV_GRAY8 || w < 1 || h < 1 || !dst)
            return rv_fail(RV_EINVAL, "rv_cv_resize_gray_f32", "need a GRAY8 view and a size");
        cv::Mat m = rvcv::wrap(src), f, r;
        m.convertTo(f, CV_32F);
        int shrink = w < src->width || h < src->height;
        cv::Mat d(h, w, CV_32F, dst);
        cv::resize(f, d, cv::Size(w, h), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
        return rvcv::check_still_wrapped("rv_cv_resize_gray_f32", d, dst);
    });
}

extern "C" void rv_cv_net_free(rv_cv_net_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    delete *self_p;
    *self_p = nullptr;
}
