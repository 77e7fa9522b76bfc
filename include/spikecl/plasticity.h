/**
 * @file plasticity.h
 * Spike-timing-dependent plasticity (STDP) as pseudo-gradients.
 *
 * A rule turns the spike trains on both sides of a weight matrix into a
 * weight change dW; the change is handed to the optimizers of learn.h as the
 * gradient -dW, so SGD with learning rate lr does W += lr * dW (with lr = 1
 * the classical rule exactly). The math, per pre-synaptic input j and
 * post-synaptic neuron i, with decays d = exp(-dt / tau) computed on the host
 * (docs/plasticity.md has the derivations and the references):
 *
 *     x1_j[t] = d_plus  x1_j[t-1] + S_pre_j[t]      fast pre trace  (tau_plus)
 *     x2_j[t] = d_x     x2_j[t-1] + S_pre_j[t]      slow pre trace  (tau_x, triplet)
 *     y1_i[t] = d_minus y1_i[t-1] + S_post_i[t]     fast post trace (tau_minus)
 *     y2_i[t] = d_y     y2_i[t-1] + S_post_i[t]     slow post trace (tau_y, triplet)
 *
 *     xi_ij[t] = f_plus(w)  S_post_i[t] x1_j[t] (a_plus  + a3_plus  d_y y2_i[t-1])
 *              - f_minus(w) S_pre_j[t]  y1_i[t] (a_minus + a3_minus d_x x2_j[t-1])
 *
 * where the triplet terms (a3_*) are those of Pfister & Gerstner 2006 (the
 * slow trace taken just before the current spike) and are zero for the pair
 * rules; f = 1 except for the weight-dependent rule, f_plus(w) =
 * max(w_max - w, 0)^mu and f_minus(w) = max(w - w_min, 0)^mu, with w the
 * weight at the start of the sequence. Then, summed over the batch:
 *
 *     additive, multiplicative, triplet:  dW = sum_t xi[t]
 *     MSTDP   (Florian 2007):             dW = sum_t r[t] xi[t]
 *     MSTDPET (Florian 2007):             e[t] = d_e e[t-1] + xi[t],  dW = sum_t r[t] e[t]
 *
 * with r[t, b] the reward of sample b at step t and e the eligibility trace
 * of each synapse and sample. Traces (and eligibility) at the end of a
 * sequence are returned as state, so consecutive chunks of a sequence give
 * the same total dW as the whole sequence.
 *
 * Two levels: spk_stdp_update() runs a rule on given spike trains (dense or
 * convolutional weights); spk_network_set_plasticity() attaches a rule to a
 * layer of a network, which keeps the traces and writes -dW into the
 * layer's weight gradient at spk_network_plasticity_step().
 */
#ifndef SPIKECL_PLASTICITY_H
#define SPIKECL_PLASTICITY_H

#include "spikecl/network.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum spk_stdp_rule {
    SPK_STDP_ADDITIVE = 0,       /**< pair-based, f = 1; bound the weights with clip */
    SPK_STDP_MULTIPLICATIVE = 1, /**< pair-based, weight-dependent f (exponent mu, bounds w_min, w_max) */
    SPK_STDP_TRIPLET = 2,        /**< Pfister & Gerstner 2006, all-to-all: two traces per side */
    SPK_STDP_MSTDP = 3,          /**< reward-modulated pair STDP, no eligibility trace (Florian 2007) */
    SPK_STDP_MSTDPET = 4         /**< reward-modulated pair STDP with an eligibility trace (Florian 2007) */
} spk_stdp_rule;

#define SPK_STDP_RULE_COUNT 5

/** @return the rule's name ("additive", "multiplicative", "triplet", "mstdp", "mstdpet"), or NULL. */
SPK_API const char *spk_stdp_rule_name(spk_stdp_rule r);

/** Hyperparameters of a rule. Start from spk_stdp_params_default(). Times
 *  in the unit of dt. */
typedef struct spk_stdp_params {
    spk_stdp_rule rule;
    float dt;        /**< time step, > 0 */
    float tau_plus;  /**< fast pre trace x1 (potentiation window), > 0 */
    float tau_minus; /**< fast post trace y1 (depression window), > 0 */
    float a_plus;    /**< potentiation amplitude (A2+ of the triplet rule), finite, >= 0 */
    float a_minus;   /**< depression amplitude (A2-), finite, >= 0 */
    float mu;        /**< multiplicative rule: exponent of f, finite, >= 0 (0: additive) */
    float w_min;     /**< lower weight bound; not NaN, <= w_max; finite for the multiplicative rule */
    float w_max;     /**< upper weight bound; not NaN; finite for the multiplicative rule */
    int clip;        /**< 1: a network step clips the weight to [w_min, w_max] after the optimizer (default) */
    float tau_x;     /**< triplet: slow pre trace x2, > 0 */
    float tau_y;     /**< triplet: slow post trace y2, > 0 */
    float a3_plus;   /**< triplet: potentiation by post-pre-post triplets, finite, >= 0 */
    float a3_minus;  /**< triplet: depression by pre-post-pre triplets, finite, >= 0 */
    float tau_e;     /**< MSTDPET: eligibility trace, > 0 */
} spk_stdp_params;

/**
 * Defaults of @p rule: dt 1, tau_plus = tau_minus = 20, a_plus 0.01,
 * a_minus 0.0105, mu 1, weights clipped to [0, 1], tau_e 25 (Florian 2007).
 * The triplet rule gets Pfister & Gerstner's all-to-all fit to visual cortex
 * data (tau_plus 16.8, tau_minus 33.7, tau_x 101, tau_y 125, a_plus 5e-10,
 * a_minus 7e-3, a3_plus 6.2e-3, a3_minus 2.3e-4); the other rules keep
 * tau_x, tau_y at those values and a3_plus = a3_minus = 0.
 */
SPK_API spk_stdp_params spk_stdp_params_default(spk_stdp_rule rule);

/** Rows of the decays a rule uses, exp(-dt / tau). */
enum { SPK_STDP_DECAY_PLUS = 0, SPK_STDP_DECAY_MINUS = 1, SPK_STDP_DECAY_X = 2, SPK_STDP_DECAY_Y = 3,
       SPK_STDP_DECAY_E = 4, SPK_STDP_NDECAY = 5 };

/**
 * Check @p p and derive the decays the kernels use.
 * @param decay  receives SPK_STDP_NDECAY decays (may be NULL: only check)
 * @param msg    optional buffer for the reason a parameter is rejected
 * @return SPK_OK or SPK_ERR_INVALID_ARGUMENT: an unknown rule; dt or a time
 *         constant not positive and finite (e.g. negative); an amplitude or
 *         mu negative or not finite; w_min > w_max or a NaN bound;
 *         infinite bounds with the multiplicative rule.
 */
SPK_API spk_status spk_stdp_decays(const spk_stdp_params *p, float decay[SPK_STDP_NDECAY], char *msg,
                                   size_t msg_size);

/** Trace state of one side: [SPK_STDP_NTRACE, B, n], row 0 the fast trace, row 1 the slow one. */
#define SPK_STDP_NTRACE 2

/**
 * Shape of a convolutional weight: shared weights [OC, C, KH, KW] between
 * pre-synaptic images [C, H, W] and post-synaptic maps [OC, OH, OW], as
 * spk_conv2d_create() (stride, zero padding; OH = (H + 2 PH - KH) / SH + 1).
 * Each shared weight sums the rule over every (input pixel, output neuron)
 * pair it connects; pixels in the padding never spike.
 */
typedef struct spk_stdp_conv {
    size_t C, H, W;       /**< pre-synaptic image */
    size_t OC;            /**< output channels */
    size_t KH, KW;        /**< kernel, >= 1 */
    size_t SH, SW;        /**< stride, >= 1 */
    size_t PH, PW;        /**< padding */
} spk_stdp_conv;

/** The tensors of one update. n_pre and n_post are the per-sample sizes of
 *  pre and post; the weight is [n_post, n_pre] (dense) or [OC, C, KH, KW] (conv). */
typedef struct spk_stdp_io {
    const spk_tensor *pre;            /**< S_pre [T, B, n_pre...] F32 or U8 (0/1), required */
    const spk_tensor *post;           /**< S_post [T, B, n_post...] F32 or U8, required */
    const spk_tensor *weight;         /**< W F32: required by the multiplicative rule, else ignored (may be NULL) */
    const spk_tensor *reward;         /**< r [T, B] F32: required by the reward rules, else must be NULL */
    const spk_tensor *pre_trace_in;   /**< [2, B, n_pre] F32 or NULL (zero) */
    const spk_tensor *post_trace_in;  /**< [2, B, n_post] F32 or NULL (zero) */
    spk_tensor *pre_trace_out;        /**< [2, B, n_pre] F32 traces after the last step, or NULL */
    spk_tensor *post_trace_out;       /**< [2, B, n_post] F32, or NULL */
    const spk_tensor *elig_in;        /**< MSTDPET: [B, weights] F32 eligibility before the sequence, or NULL (zero) */
    spk_tensor *elig_out;             /**< MSTDPET: [B, weights] F32 eligibility after it, or NULL */
    spk_tensor *dw;                   /**< out = alpha * dW + beta * out, the weight's shape, F32, required */
    float alpha;                      /**< e.g. 1 for dW, -1 for the pseudo-gradient -dW */
    float beta;                       /**< 0: overwrite (out is not read), 1: accumulate */
} spk_stdp_io;

/**
 * Run rule @p p over a whole sequence. Dense weights with every rule but
 * MSTDPET: one kernel per side writes the trace and factor sequences (time
 * loop inside, one item per neuron), then two GEMMs over the T*B rows sum
 * the pairs (plus one elementwise kernel for the weight-dependent rule).
 * Convolutions and MSTDPET (whose eligibility is per synapse and sample):
 * one kernel with one work item per weight, the trace recursions fused over
 * T inside, plus one trace kernel per side when the trace state is asked
 * for. The direct kernel sums in time order; the GEMM path in the BLAS
 * library's order (equal up to rounding). Outputs must not alias inputs.
 * Queued; not blocking.
 * @param conv  NULL for a dense weight [n_post, n_pre], else the convolution
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (parameters
 *         as spk_stdp_decays, a reward given to or missing from a rule,
 *         eligibility with a rule other than MSTDPET, a zero kernel size or
 *         stride, aliased outputs), SPK_ERR_SHAPE, SPK_ERR_DTYPE,
 *         SPK_ERR_CONTEXT, SPK_ERR_BUILD, SPK_ERR_OPENCL.
 */
SPK_API spk_status spk_stdp_update(spk_context *ctx, const spk_stdp_params *p, const spk_stdp_conv *conv,
                                   const spk_stdp_io *io);

/**
 * Clip every element of @p w to [w_min, w_max] in place (w_min <= w_max, not NaN). Queued.
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_DTYPE, SPK_ERR_INVALID_ARGUMENT.
 */
SPK_API spk_status spk_tensor_clamp(spk_tensor *w, float w_min, float w_max);

/* ---- Plasticity in a network ------------------------------------------ */

/**
 * Attach rule @p p to layer @p layer of @p net (NULL detaches it). The layer
 * keeps its traces from then on. Supported layers, and where the spikes come
 * from (the last forward's activations):
 *  - dense and conv2d: pre = the layer's input, post = the output of the
 *    next layer, which must be a spiking neuron layer;
 *  - recurrent: "weight" with pre = the input, post = its own spikes, and
 *    "recurrent_weight" with pre = post = its own spikes (the spike time of
 *    the pre-synaptic neuron, without the one-step transmission delay).
 * Pre-synaptic spikes must be 0/1 trains: a first layer fed a static input
 * is rejected at the step.
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (parameters
 *         as spk_stdp_decays, no such layer, a layer type without synapses,
 *         a dense or conv2d layer that is the last one), SPK_ERR_OUT_OF_MEMORY.
 */
SPK_API spk_status spk_network_set_plasticity(spk_network *net, size_t layer, const spk_stdp_params *p);

/**
 * After a forward (and after spk_network_backward, which overwrites every
 * gradient, when the network mixes STDP and BPTT layers): for every layer
 * with a rule, write the pseudo-gradient -dW of the last forward's spikes
 * into each weight's gradient that is not frozen (frozen weights are
 * skipped), zero the gradient of its bias, and advance its traces. Then
 * spk_network_step (or spk_optimizer_apply on spk_network_param) applies
 * them, and clips the weights of rules with clip set. dW is summed over the
 * batch: divide the learning rate by B for the batch mean.
 * @param reward  [T, B] F32 reward per step and sample; required when a
 *                reward rule is attached, else ignored (may be NULL)
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (no
 *         forward yet; a static input; a post layer that is not spiking; a
 *         missing reward), SPK_ERR_SHAPE, and the statuses of spk_stdp_update.
 */
SPK_API spk_status spk_network_plasticity_step(spk_network *net, const spk_tensor *reward);

/**
 * Zero the traces and eligibility of every plastic layer (start of an
 * independent sequence, e.g. the next sample). Traces otherwise carry over
 * from one spk_network_plasticity_step to the next.
 */
SPK_API spk_status spk_network_plasticity_reset(spk_network *net);

#ifdef __cplusplus
}
#endif
#endif
