/* rv_cnn.h - a pretrained convolutional network as a feature extractor, and a surface
 * model on its features.
 *
 * The network is a plain graph of convolutions (batch normalisation already folded into
 * their weights and bias, an optional ReLU after), max and average pooling and channel
 * concatenation, with TensorFlow's padding rules ("same": the output has ceil(n / stride)
 * samples, the padding's odd pixel goes to the bottom and right; average pooling over
 * "same" padding divides by the pixels inside the image only). It runs on OpenCV's dnn
 * module through the shim (one thread, CPU). The layers come from an importer
 * (ra_backbone.h reads a Keras / TensorFlow.js layers model); this header knows no file
 * format for the network itself, and the weights are never part of the project.
 *
 * A view's features: the GRAY8 view is resized to size x size (area averaging when it
 * shrinks, bilinear when it grows), its brightness scaled so its median is 128, mapped to
 * [-1, 1] and copied into three channels; optionally flipped; the output layer's
 * activations are reduced to one vector by the global maximum of each channel (what the
 * strongest response anywhere in the view looks like: a blowhole, a break or a band of
 * uneven grinding raises it wherever it lies).
 *
 * The deep surface model (rv_deep_model_t): one Gaussian (mean and covariance shrunk
 * towards a multiple of the identity) of the good training views' feature vectors (each
 * good also flipped left-right, up-down and both with params.flips); image score =
 * Mahalanobis distance of its vector. Its k-fold held-out scores (each good scored by the
 * Gaussian fitted without it and its flips) give the threshold and surprises exactly as
 * rv_surface's channels do (rv_surprise), so it adds to them as one more channel.
 *
 * Ownership: _new/_train return owned objects; _destroy frees and NULLs the pointer.
 * Thread-safety: a network runs one forward pass at a time (OpenCV's net keeps its
 * buffers); a trained deep model is read-only. */
#ifndef RV_CNN_H
#define RV_CNN_H

#include <stddef.h>
#include <stdint.h>

#include "rv/rv_image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rv_cnn_op {
    RV_CNN_INPUT = 0,   /* the 3-channel input (exactly one, layer 0) */
    RV_CNN_CONV = 1,    /* convolution + bias, then ReLU when relu */
    RV_CNN_MAXPOOL = 2, /* max over kh x kw */
    RV_CNN_AVGPOOL = 3, /* mean over kh x kw (inside the image only, with "same") */
    RV_CNN_CONCAT = 4   /* channels of the inputs, in order */
} rv_cnn_op_t;

#define RV_CNN_MAX_INPUTS 8
#define RV_CNN_MAX_LAYERS 512

typedef struct rv_cnn_layer {
    int op;                          /* rv_cnn_op_t */
    char name[64];                   /* for messages and the output's choice */
    int ninputs;                     /* CONCAT: 2..RV_CNN_MAX_INPUTS; others 1; INPUT 0 */
    int inputs[RV_CNN_MAX_INPUTS];   /* indices of earlier layers */
    int kh, kw, stride;              /* CONV and pools: kernel and stride (1..16) */
    int same;                        /* 1: TensorFlow "same" padding, 0: "valid" */
    int cin, cout;                   /* CONV: input and output channels (read for CONV only) */
    const float *weights;            /* CONV: cout x cin x kh x kw (copied by _new) */
    const float *bias;               /* CONV: cout, or NULL for none (copied) */
    int relu;                        /* CONV: 1 = ReLU after */
} rv_cnn_layer_t;

typedef struct rv_cnn rv_cnn_t;

/* Checks the graph (inputs earlier, channel counts that agree, kernel sizes) and builds
 * the network up to layer output (its index). Refused with a message naming the layer. */
rv_cnn_t *rv_cnn_new(const rv_cnn_layer_t *layers, int n, int output);
void rv_cnn_destroy(rv_cnn_t **self_p);
/* Channels of the output layer (the feature vector's length). */
int rv_cnn_channels(const rv_cnn_t *self);

/* The raw forward pass: in = 3 planes of h x w floats (plane after plane); out receives
 * the output layer's c x oh x ow floats when cap is large enough (dims = {c, oh, ow}
 * always, RV_EINVAL when cap is short). */
int rv_cnn_forward(rv_cnn_t *self, const float *in, int h, int w, float *out, size_t cap,
                   int dims[3]);

/* The features of a GRAY8 view (above): flip bit 0 = left-right, bit 1 = up-down;
 * feat receives rv_cnn_channels() floats. size 32..1024. */
int rv_cnn_features(rv_cnn_t *self, const rv_view_t *gray, int size, int flip, float *feat);

/* ---- the deep surface model ----------------------------------------------------- */

typedef struct rv_deep_params {
    int size;       /* input side in px, 32..1024 (default 224) */
    int flips;      /* 1: train on each good and its three flips (default 0: on the
                       magnetic tile's dev side they lowered the AUROC, 0.933 -> 0.917) */
    double shrink;  /* covariance shrinkage towards trace / d times the identity, 0..1
                       (default 0.1) */
    int folds;      /* k of the k-fold held-out scores, 2..20 (default 5) */
    double fa;      /* target false-alarm rate of the threshold (default 0.02) */
} rv_deep_params_t;

void rv_deep_params_default(rv_deep_params_t *p);

typedef struct rv_deep_model rv_deep_model_t;

/* Trains on n good views (n >= folds for held-out scores; fewer: no threshold). */
rv_deep_model_t *rv_deep_model_train(rv_cnn_t *cnn, const rv_view_t *views, size_t n,
                                     const rv_deep_params_t *p);
/* The same, group (may be NULL) naming the views of one object: they share a fold
 * (rv_folds, rv_surface.h), so no view is scored by a Gaussian its twin trained. */
rv_deep_model_t *rv_deep_model_train_groups(rv_cnn_t *cnn, const rv_view_t *views, size_t n,
                                            const int *group, const rv_deep_params_t *p);
void rv_deep_model_destroy(rv_deep_model_t **self_p);
/* Mahalanobis distance of the view's features (cnn: the network it was trained with). */
int rv_deep_model_score(const rv_deep_model_t *self, rv_cnn_t *cnn, const rv_view_t *view,
                        double *score);
double rv_deep_model_threshold(const rv_deep_model_t *self);
/* The training views' held-out scores, in training order (NULL without folds). */
const float *rv_deep_model_heldout(const rv_deep_model_t *self, size_t *n);
/* Surprise (-ln p) of a new score against the held-out goods; _own: of one of them. */
double rv_deep_model_surprise(const rv_deep_model_t *self, double score);
double rv_deep_model_surprise_own(const rv_deep_model_t *self, double score);

#ifdef __cplusplus
}
#endif

#endif
