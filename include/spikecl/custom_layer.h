/**
 * @file custom_layer.h
 * Layers written by users in C.
 *
 * A custom layer follows the seed discussion's shape "parameters P, state Z,
 * output O = forward(Z, X, P)": the library owns the parameters and their
 * gradients (so optimizers, freezing and checkpoints treat them like any
 * other), the callbacks own the layer's state (the `user` pointer), and the
 * network calls them with whole sequences [T, B, ...] like every built-in
 * layer. Callbacks may use any spikecl call (GEMM, encoders, neuron ops,
 * tensor transfers) on the context they are given. See examples/custom_layer.c.
 */
#ifndef SPIKECL_CUSTOM_LAYER_H
#define SPIKECL_CUSTOM_LAYER_H

#include "spikecl/network.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SPK_CUSTOM_MAX_PARAMS 4

/** Name and shape of one parameter of a custom layer. */
typedef struct spk_custom_param {
    const char *name; /**< copied; at most 31 characters */
    int ndim;
    size_t shape[SPK_MAX_DIMS];
} spk_custom_param;

typedef struct spk_custom_layer_ops {
    const char *name; /**< shown by spk_layer_describe */
    /** Per-sample output shape for a per-sample input shape; return
     *  SPK_ERR_SHAPE when the input does not fit. Required. */
    spk_status (*infer_shape)(void *user, int in_ndim, const size_t *in, int *out_ndim, size_t *out);
    /** Allocate state for T steps of B samples (optional). */
    spk_status (*prepare)(void *user, spk_context *ctx, size_t T, size_t B);
    /** out = f(in, params): in [T, B, in...], out [T, B, out...]. Required. */
    spk_status (*forward)(void *user, spk_context *ctx, spk_tensor *const *params, const spk_tensor *in,
                          spk_tensor *out);
    /** From dL/d(out): write dL/d(in) into grad_in (NULL for a first layer)
     *  and overwrite grads[i] = dL/d(params[i]). Required. */
    spk_status (*backward)(void *user, spk_context *ctx, spk_tensor *const *params, spk_tensor *const *grads,
                           const spk_tensor *in, const spk_tensor *out, const spk_tensor *grad_out,
                           spk_tensor *grad_in);
    /** Free the user state when the layer is freed (optional). */
    void (*destroy)(void *user);
} spk_custom_layer_ops;

/**
 * Create a custom layer with @p n_params parameters (zero-initialised: set
 * them through spk_layer_param). @p ops must outlive the layer.
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (a required
 *         callback missing, too many parameters, a bad shape).
 */
SPK_API spk_status spk_custom_layer_create(spk_context *ctx, const spk_custom_layer_ops *ops, void *user,
                                           const spk_custom_param *params, size_t n_params, spk_layer **out);

/** Parameter @p i of any layer (value, gradient, name), e.g. to initialise it. */
SPK_API spk_status spk_layer_param(spk_layer *layer, size_t i, spk_param *out);

/** Number of parameters of a layer (known after creation, or for neuron
 *  layers with learned coefficients, after the network is built). */
SPK_API size_t spk_layer_param_count(const spk_layer *layer);

#ifdef __cplusplus
}
#endif
#endif
