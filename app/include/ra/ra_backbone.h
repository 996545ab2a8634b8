/* ra_backbone.h - a pretrained network for rv_cnn, imported from a Keras / TensorFlow.js
 * "layers model" (a directory with model.json and the weight files its manifest names;
 * scripts/fetch-backbone.sh writes one from the npm package nsfwjs). The weights are never
 * part of the project.
 *
 * model.json: {"modelTopology": {"model_config": {"class_name": "Model" | "Functional",
 * "config": {"layers": [...]}}}, "weightsManifest": [{"paths": [...], "weights": [...]}]}
 * (or modelTopology holding class_name and config itself). A manifest group's bytes are its
 * path files (relative to the directory, in order) concatenated; its tensors follow one
 * another in manifest order: float32 (4 bytes, little-endian) or float32 quantized to uint8
 * (1 byte, value = q * scale + min); any other dtype or quantization is refused. The byte
 * count of every group must be exact.
 *
 * The Keras functional layers are walked in order up to and including the output layer:
 *   InputLayer          -> RV_CNN_INPUT (layer 0, 3 channels);
 *   Conv2D              -> RV_CNN_CONV (kernel HWIO transposed to OIHW, bias when
 *                          use_bias, equal strides, "same" / "valid", dilation 1, groups 1,
 *                          activation "linear" or "relu");
 *   BatchNormalization  -> folded into the convolution it follows (its only input, with no
 *                          other consumer of the convolution's raw output and no ReLU yet):
 *                          s = gamma / sqrt(moving_variance + epsilon), w' = w s,
 *                          b' = (b - moving_mean) s + beta (gamma 1 without "scale", beta 0
 *                          without "center", b 0 without bias); its name then means the
 *                          convolution's layer;
 *   Activation "relu"   -> the ReLU of the convolution (+BN) it follows, under the same
 *                          conditions; "linear" is the identity;
 *   MaxPooling2D, AveragePooling2D -> RV_CNN_MAXPOOL / RV_CNN_AVGPOOL (equal strides);
 *   Concatenate (axis -1 or 3)     -> RV_CNN_CONCAT of its inputs in order;
 * any other class before the output is refused, naming the layer. Every layer gets cin and
 * cout (for the ones that are not convolutions both are its channel count). Refused with a
 * message (rv_last_error): unreadable files, JSON syntax (line, column), a missing or
 * malformed field (by its JSON path), an unknown output layer, a weight absent from the
 * manifest or of the wrong shape, a byte count that differs, kernels over 16, more than
 * RV_CNN_MAX_LAYERS layers, over 4096 channels.
 *
 * Ownership: ra_backbone_load returns an owned backbone whose store holds every layer's
 * weights and bias (the layers point into it); ra_backbone_free frees it and NULLs the
 * pointer. Reentrant; no global state. */
#ifndef RA_BACKBONE_H
#define RA_BACKBONE_H

#include "rv/rv_cnn.h"

typedef struct ra_backbone {
    rv_cnn_layer_t *layers; /* nlayers, layer 0 the input */
    int nlayers;
    int output;             /* index of the output layer */
    float *store;           /* owns every layer's weights and bias */
    char sha256[65];        /* hex SHA-256 of model.json's bytes followed by the weight
                               bytes (every group's files in manifest order) */
} ra_backbone_t;

/* Import dir/model.json up to and including the Keras layer output_layer (a name that a
 * folded BatchNormalization or an Activation has is the convolution's layer). NULL on
 * failure (rv_last_error says what and where). */
ra_backbone_t *ra_backbone_load(const char *dir, const char *output_layer);
void ra_backbone_free(ra_backbone_t **p);

#endif
