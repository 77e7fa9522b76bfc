/**
 * @file network.h
 * Layers and networks.
 *
 * Two families of layers compose a network, as in the seed discussion ("a
 * LIF cell wraps a forward layer"): synapse layers compute input currents
 * (dense), neuron layers turn currents into spikes (LIF family) or read them
 * out (leaky integrators). Every layer maps a whole sequence [T, B, ...] to a
 * whole sequence: a dense layer runs one GEMM over T*B rows (or, for sparse
 * input spikes, gathers the weights of the inputs that spiked), a neuron
 * layer one fused kernel with the time loop inside. Synaptic weights live with the
 * post-synaptic layer.
 */
#ifndef SPIKECL_NETWORK_H
#define SPIKECL_NETWORK_H

#include <stdint.h>

#include "spikecl/neuron.h"
#include "spikecl/neuron_models.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct spk_layer spk_layer;
typedef struct spk_network spk_network;

/* ---- Layers --------------------------------------------------------- */

/**
 * How a dense layer propagates its input. Spikes are binary: where few
 * inputs spike, adding the weight columns of the active inputs (forward, and
 * the weight gradient only where inputs spiked) beats one dense GEMM over
 * T*B rows. The decision is per forward and covers its backward; a static
 * input (spk_network_set_static_input) always takes the GEMM. A bit-packed
 * input (compact storage or spk_network_set_packed_input, spikes.h) is read
 * 1 bit per input, and on the GEMM path unpacked into the network's shared
 * scratch first.
 */
typedef enum spk_synapse_mode {
    SPK_SYNAPSE_AUTO = 0,   /**< measure each forward's input (one small read-back): gather where it is all 0/1
                                 and its density is <= sparse_threshold, else the GEMM (default) */
    SPK_SYNAPSE_DENSE = 1,  /**< always the GEMM, nothing measured */
    SPK_SYNAPSE_SPARSE = 2  /**< gather whenever the input is all 0/1, whatever its density; the GEMM otherwise */
} spk_synapse_mode;

typedef struct spk_dense_params {
    size_t in_features;
    size_t out_features;
    int bias;          /**< 1: add a learned bias (default) */
    float init_bound;  /**< weights and bias ~ U(-b, b); 0: b = 1/sqrt(in_features) (PyTorch's default) */
    uint64_t seed;     /**< seed of the initial weights */
    spk_synapse_mode synapse; /**< event-driven or GEMM propagation (default SPK_SYNAPSE_AUTO) */
    float sparse_threshold;   /**< AUTO gathers at densities <= this, in [0, 1]; 0: the library's default,
                                   measured on a CPU device (docs/training.md) */
} spk_dense_params;

SPK_API spk_dense_params spk_dense_params_default(size_t in_features, size_t out_features);

/**
 * A fully connected synapse layer: y = x W^T + b, W [out, in]. Input [T, B, in...] with in... flattening to in_features.
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (zero sizes, a bad init_bound, synapse mode or
 *         sparse_threshold; the message says which).
 */
SPK_API spk_status spk_dense_create(spk_context *ctx, const spk_dense_params *p, spk_layer **out);

/**
 * Change a dense layer's propagation (see spk_synapse_mode); takes effect at the next forward.
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (not a dense layer, a bad mode, a threshold
 *         outside [0, 1]).
 */
SPK_API spk_status spk_dense_set_synapse(spk_layer *layer, spk_synapse_mode mode, float sparse_threshold);

/** What a dense layer's forwards chose. */
typedef struct spk_dense_stats {
    float density;     /**< fraction of nonzero inputs of the last measured forward (not measured in DENSE mode;
                            only a lower bound where the input was not binary: the scan stops there) */
    int binary;        /**< 1: that input was all 0/1 */
    int sparse;        /**< 1: the last forward (and its backward) gathered */
    uint64_t sparse_forwards, dense_forwards; /**< forwards on each path since the layer was created */
} spk_dense_stats;

/** @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (not a dense layer). */
SPK_API spk_status spk_dense_synapse_stats(const spk_layer *layer, spk_dense_stats *out);

/**
 * A layer of LIF-family neurons (see neuron.h) of any per-sample shape;
 * its size comes from the previous layer when the network is built.
 * Output: spikes for spiking kinds, the membrane for leaky-integrator kinds.
 */
SPK_API spk_status spk_neuron_layer_create(spk_context *ctx, const spk_lif_params *p, spk_layer **out);

/**
 * A layer of ALIF, Izhikevich or AdEx neurons (see neuron_models.h) of any
 * per-sample shape; its size comes from the previous layer when the network
 * is built. Output: the spikes (for Izhikevich and AdEx, the threshold
 * crossings of each step). Every neuron starts each forward from rest (the
 * params' initial state); a forward whose dynamics diverge returns
 * SPK_ERR_NUMERIC. Backward gives the input gradient (no learned parameters).
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (invalid
 *         params; the message says which and why).
 */
SPK_API spk_status spk_model_layer_create(spk_context *ctx, const spk_model_params *p, spk_layer **out);

/** Which coefficients of a neuron layer are learned (as in PLIF). */
typedef enum spk_learn_scope {
    SPK_LEARN_NONE = 0,       /**< decays and threshold fixed by the params (default) */
    SPK_LEARN_PER_LAYER = 1,  /**< one decay pair and threshold shared by the layer */
    SPK_LEARN_PER_NEURON = 2  /**< a decay pair and threshold per neuron */
} spk_learn_scope;

/**
 * Make a neuron layer's decays (i_decay, v_decay) and threshold learnable.
 * The layer then has one parameter "coef": [SPK_LIF_NCOEF, 1] per layer or
 * [SPK_LIF_NCOEF, N] per neuron, rows as in neuron.h, initialised from its
 * params; the gain rows get no gradient. The decays are learned directly
 * (not through a sigmoid): keep learning rates small enough that they stay
 * in (0, 1). Call before the network is built.
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (not a
 *         neuron layer, or an unknown scope).
 */
SPK_API spk_status spk_neuron_layer_set_learnable(spk_layer *layer, spk_learn_scope scope);

/** Free a layer not added to a network. Accepts NULL. */
SPK_API void spk_layer_free(spk_layer *layer);

/** A one-line description, e.g. "dense 784 -> 128 (bias)". */
SPK_API const char *spk_layer_describe(const spk_layer *layer, char *buf, size_t cap);

/* ---- Convolution, pooling, flatten, dropout -------------------------- */

/**
 * A 2-D convolution (cross-correlation, as PyTorch's Conv2d with groups=1
 * and dilation 1). Weights [out_channels, in_channels, kernel_h, kernel_w].
 */
typedef struct spk_conv2d_params {
    size_t in_channels;
    size_t out_channels;
    size_t kernel_h, kernel_w; /**< >= 1 */
    size_t stride_h, stride_w; /**< >= 1 (default 1) */
    size_t pad_h, pad_w;       /**< zeros added on each side (default 0) */
    int bias;                  /**< 1: add a learned bias per output channel (default) */
    float init_bound;          /**< weights and bias ~ U(-b, b); 0: b = 1/sqrt(in_channels*kernel_h*kernel_w) (PyTorch's default) */
    uint64_t seed;             /**< seed of the initial weights */
} spk_conv2d_params;

/** A @p k x @p k convolution, stride 1, no padding, with bias. */
SPK_API spk_conv2d_params spk_conv2d_params_default(size_t in_channels, size_t out_channels, size_t k);

/**
 * A convolutional synapse layer. Per-sample input [in_channels, H, W] (or
 * [H, W] when in_channels is 1), output [out_channels, OH, OW] with
 * OH = (H + 2 pad_h - kernel_h) / stride_h + 1 (and likewise OW). All T*B
 * images go through one im2col and one GEMM. Accepts a static input (see
 * spk_network_set_static_input): the convolution then runs on B images once.
 * The network's build fails with SPK_ERR_SHAPE, naming the layer and the
 * shapes, when the kernel does not fit the padded input or the channels
 * differ.
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (a zero
 *         channel count, kernel size or stride; a negative or non-finite
 *         init_bound),
 *         SPK_ERR_DEVICE_OUT_OF_MEMORY.
 */
SPK_API spk_status spk_conv2d_create(spk_context *ctx, const spk_conv2d_params *p, spk_layer **out);

/** A pooling window (no padding). */
typedef struct spk_pool_params {
    size_t kernel_h, kernel_w; /**< >= 1 */
    size_t stride_h, stride_w; /**< >= 1; the default is the kernel size (non-overlapping windows) */
} spk_pool_params;

/** A @p k x @p k window with stride @p k. */
SPK_API spk_pool_params spk_pool_params_default(size_t k);

/**
 * Average pooling over each channel. Per-sample input [C, H, W] or [H, W],
 * output [C, OH, OW] (or [OH, OW]) with OH = (H - kernel_h) / stride_h + 1:
 * rows and columns that no window reaches are dropped, as in PyTorch.
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (a zero
 *         kernel size or stride). The network's build fails with
 *         SPK_ERR_SHAPE when the window is larger than the input.
 */
SPK_API spk_status spk_avgpool2d_create(spk_context *ctx, const spk_pool_params *p, spk_layer **out);

/**
 * Max pooling, shapes as spk_avgpool2d_create(). The gradient goes to the
 * first maximum of each window in row-major order (binary spikes tie
 * often); the backward recomputes the argmax from the forward's input.
 */
SPK_API spk_status spk_maxpool2d_create(spk_context *ctx, const spk_pool_params *p, spk_layer **out);

/**
 * Flatten the per-sample shape: [C, H, W] -> [C*H*W]. The data is copied
 * (the network does not alias activations), so it costs one copy forward
 * and one backward.
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_OUT_OF_MEMORY.
 */
SPK_API spk_status spk_flatten_create(spk_context *ctx, spk_layer **out);

/**
 * Dropout with one mask per sequence: while the network is training (see
 * spk_network_set_training), each element of a sample is zeroed with
 * probability @p p, and kept and scaled by 1/(1-p) otherwise, with the same
 * mask at every time step. Outside training it is the identity (a copy).
 * Element j of [B, features...] is kept when the uniform from word j % 4 of
 * Philox4x32-10 (keyed by the context seed, counter (j / 4, the layer's
 * index in its network, n low, n high), n the number of training forwards
 * of this layer before this one) is >= p: every training forward draws a
 * new mask, the same on every device and in the C reference, and a network
 * built again on the same seed draws the same sequence of masks.
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (p not in [0, 1)).
 */
SPK_API spk_status spk_dropout_create(spk_context *ctx, float p, spk_layer **out);

/* ---- Recurrent spiking layer ----------------------------------------- */

/** Parameters of a recurrent spiking layer. Start from spk_recurrent_params_default(). */
typedef struct spk_recurrent_params {
    size_t in_features;   /**< input features per sample (the input flattens to this) */
    size_t neurons;       /**< N: neurons, also the output features */
    int bias;             /**< 1: add a learned bias to the input current (default) */
    float init_bound;     /**< W_in and bias ~ U(-b, b); 0: b = 1/sqrt(in_features) (PyTorch's default) */
    float rec_init_bound; /**< W_rec ~ U(-b, b); 0: b = 1/sqrt(neurons) */
    uint64_t seed;        /**< seed of the initial weights */
    spk_lif_params lif;   /**< the neurons: a spiking kind (SPK_NEURON_LIF or SPK_NEURON_CUBA_LIF) */
} spk_recurrent_params;

/** @p in_features inputs, @p neurons single-state LIF neurons with the
 *  defaults of spk_lif_params_default(SPK_NEURON_LIF), a bias, PyTorch's
 *  initial weights, seed 0. */
SPK_API spk_recurrent_params spk_recurrent_params_default(size_t in_features, size_t neurons);

/**
 * A recurrent spiking layer (snnTorch RLeaky / RSynaptic with all-to-all
 * recurrent weights): input weights W_in [N, in] (parameter "weight"), an
 * optional bias [N] ("bias") and recurrent weights W_rec [N, N]
 * ("recurrent_weight") on the layer's own spikes of the previous step,
 * followed by LIF-family neurons (neuron.h):
 *
 *     x[t] = W_in u[t] + b + W_rec S[t-1],   S[-1] = 0,
 *
 * then the neuron update of neuron.h with input x[t]. Input [T, B, in...]
 * flattening to in_features per sample, output the spikes [T, B, N]. The
 * input currents of all steps come from one GEMM over T*B rows; the
 * recurrence steps in time: per step one GEMM and one neuron kernel forward,
 * and one neuron kernel and one GEMM backward. Accepts a static input (see
 * spk_network_set_static_input). spk_network_layer_membrane() gives its
 * membrane. Every neuron starts each forward from rest.
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (zero
 *         in_features or neurons; a negative or non-finite init_bound or
 *         rec_init_bound; invalid lif parameters; a readout kind, LI or
 *         CUBA_LI, which does not spike), SPK_ERR_DEVICE_OUT_OF_MEMORY.
 */
SPK_API spk_status spk_recurrent_create(spk_context *ctx, const spk_recurrent_params *p, spk_layer **out);

/* ---- Networks ------------------------------------------------------- */

SPK_API spk_status spk_network_create(spk_context *ctx, spk_network **out);

/** Free the network and every layer in it. Accepts NULL. */
SPK_API void spk_network_free(spk_network *net);

/** Append a layer; the network owns it from now on, also when this fails. */
SPK_API spk_status spk_network_add(spk_network *net, spk_layer *layer);

/**
 * Declare that the input is the same at every time step (direct encoding):
 * forward then takes [B, in_shape...] instead of [T, B, in_shape...], and the
 * first layer (which must be a synapse layer, e.g. dense) computes its
 * current once instead of T times. Call before spk_network_build.
 */
SPK_API spk_status spk_network_set_static_input(spk_network *net, int static_input);

/**
 * Compact spike storage (default 0: off). With 1, every spiking neuron layer
 * whose output feeds a dense layer keeps its spikes for backpropagation
 * bit-packed (1 bit per neuron-step instead of a 4-byte float; format in
 * spikes.h): the LIF kernel writes the bits, its backward reads them, the
 * dense layer gathers from them or, on its GEMM path, unpacks them into one
 * f32 scratch that the whole network shares, right before each GEMM. Results
 * are the same as without. spk_network_layer_output() of such a layer then
 * gives the packed U8 tensor [T, B, spk_spike_row_bytes(N)] (unpack it with
 * spk_spikes_unpack()); plasticity rules reject it. Compact storage also
 * keeps only what backward reads: the output of a dense layer feeding a
 * neuron layer (read by nothing in backward but the neuron layer, element
 * by element before it writes the same element of its input gradient)
 * holds that gradient after spk_network_backward (not under a rate
 * regularizer), and the other gradients between layers share two buffers.
 * With a static input (spk_network_set_static_input) and a neuron layer
 * second, the first layer's product is stored once, [1, B, N], and the
 * neuron layer reads it at every step (spk_lif_io) instead of a copy per
 * step: its spk_network_layer_output() is that [1, B, N] tensor (not under
 * a rate regularizer of the first layer). Call before spk_network_build; a
 * rate regularizer too (spk_network_add_rate_regularizer refuses a new one
 * after the build). @return SPK_OK, SPK_ERR_NULL_POINTER.
 */
SPK_API spk_status spk_network_set_compact_spikes(spk_network *net, int compact);

/**
 * Take the input as bit-packed spikes (default 0: F32): forward then takes
 * a U8 tensor [T, B, spk_spike_row_bytes(in_features)] (spikes.h), and the
 * first layer, which must be dense, gathers straight from the bits (or
 * unpacks them for its GEMM). Not with a static input. Call before
 * spk_network_build. @return SPK_OK, SPK_ERR_NULL_POINTER.
 */
SPK_API spk_status spk_network_set_packed_input(spk_network *net, int packed);

/**
 * Training (1, the default) or evaluation (0) mode: layers that behave
 * differently, such as dropout, read it at every forward.
 * @return SPK_OK, SPK_ERR_NULL_POINTER.
 */
SPK_API spk_status spk_network_set_training(spk_network *net, int training);

/**
 * Fix the sequence length, batch size and per-sample input shape, check
 * that every layer accepts its predecessor's output (the message names both
 * layers when not), and allocate activations.
 * @return SPK_OK, SPK_ERR_SHAPE, SPK_ERR_INVALID_ARGUMENT (empty network,
 *         T or B zero), SPK_ERR_DEVICE_OUT_OF_MEMORY.
 */
SPK_API spk_status spk_network_build(spk_network *net, size_t T, size_t B, int in_ndim, const size_t *in_shape);

/**
 * Run the whole sequence. @p input is [T, B, in_shape...] F32 ([B,
 * in_shape...] with a static input). Every
 * neuron starts from rest: state is reset between calls.
 * @param output  receives the last layer's output [T, B, out...], owned by the network
 */
SPK_API spk_status spk_network_forward(spk_network *net, const spk_tensor *input, const spk_tensor **output);

/**
 * Backpropagate through time from dL/d(output) after a forward. Parameter
 * gradients are overwritten (not accumulated).
 */
SPK_API spk_status spk_network_backward(spk_network *net, const spk_tensor *grad_output);

/**
 * Regularize the firing rate of hidden layer @p layer: with r_n the mean of
 * unit n's output over time and batch (its firing rate for a spiking
 * layer), spk_network_backward adds weight * mean_n (r_n - target_rate)^2 to
 * the loss and its gradient to the layer's output gradient. A weight of 0
 * removes it. The last layer is regularized through the loss instead.
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (not a
 *         hidden layer, negative or non-finite weight, or a new regularizer
 *         on a network built with compact spike storage, or on the
 *         static-input layer of a built network: add it before
 *         spk_network_build there).
 */
SPK_API spk_status spk_network_add_rate_regularizer(spk_network *net, size_t layer, float target_rate, float weight);

/** The regularizers' loss computed by the last spk_network_backward (0 without any). */
SPK_API float spk_network_regularizer_loss(const spk_network *net);

/** A learnable tensor and its gradient. */
typedef struct spk_param {
    spk_tensor *value;
    spk_tensor *grad;
    const char *name;   /**< e.g. "0.weight" */
    int frozen;         /**< 1: optimizers leave it alone */
} spk_param;

SPK_API size_t spk_network_param_count(const spk_network *net);
SPK_API spk_status spk_network_param(spk_network *net, size_t i, spk_param *out);
/** Freeze or unfreeze parameter @p i. */
SPK_API spk_status spk_network_freeze(spk_network *net, size_t i, int frozen);

/**
 * Clip gradients by their global L2 norm over every parameter that is not
 * frozen: when the norm exceeds @p max_norm, every gradient is scaled by
 * max_norm / norm. @p norm receives the norm before clipping (may be NULL).
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (max_norm
 *         not positive), SPK_ERR_NUMERIC (a NaN or Inf gradient).
 */
SPK_API spk_status spk_network_clip_grad_norm(spk_network *net, float max_norm, float *norm);

/** Apply the optimizer to every parameter that is not frozen (slot = parameter index). */
struct spk_optimizer;
SPK_API spk_status spk_network_step(spk_network *net, struct spk_optimizer *opt);

SPK_API size_t spk_network_layer_count(const spk_network *net);
SPK_API spk_layer *spk_network_layer(spk_network *net, size_t i);
/** The output of layer @p i from the last forward (spikes or membrane) [T, B, ...]; with compact
 *  spike storage, a layer kept bit-packed gives U8 [T, B, spk_spike_row_bytes(N)], and a first
 *  layer fed a static input [1, B, ...] (spk_network_set_compact_spikes). */
SPK_API const spk_tensor *spk_network_layer_output(const spk_network *net, size_t i);

/** The membrane of neuron or recurrent layer @p i from the last forward [T, B, ...] (before
 *  reset, see neuron.h), or NULL for a layer without one. */
SPK_API const spk_tensor *spk_network_layer_membrane(const spk_network *net, size_t i);

#ifdef __cplusplus
}
#endif
#endif
