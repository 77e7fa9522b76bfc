/**
 * @file neuron.h
 * Leaky integrate-and-fire neurons over whole sequences.
 *
 * One call runs the time loop of a layer of neurons inside one kernel (state
 * in registers) over an input current x of shape [T, B, N]. The exact update
 * of every option is in docs/neurons.md; in short, per step t:
 *
 *     I[t] = i_decay * I[t-1] + i_gain * x[t]         (current-based kinds;
 *                                                      else I[t] = x[t])
 *     next-step reset:  V[t] = R(v_decay * V[t-1] + v_gain * I[t], S[t-1])
 *     immediate reset:  V[t] = v_decay * R(V[t-1], S[t-1]) + v_gain * I[t]
 *     S[t] = H(V[t] - threshold)                      (spiking kinds)
 *
 * where R(v, s) is the reset: subtract v - threshold*s, zero v*(1-s),
 * to value v*(1-s) + v_reset*s, or none v. V[t] is the membrane before the
 * reset that its spike causes. Exact integration uses i_decay = exp(-dt/tau_syn),
 * v_decay = exp(-dt/tau_mem) and unit gains (snnTorch Synaptic/Leaky, NIR
 * CubaLIF/LIF); Euler integration uses decay = 1 - dt/tau, gain = dt/tau
 * (the seed's Flux version). During the refractory steps after a spike the
 * neuron does not integrate and cannot spike: V[t] = R(V[t-1], S[t-1]), S[t] = 0.
 *
 * The backward pass replaces dS/dV by a surrogate g(V - threshold).
 */
#ifndef SPIKECL_NEURON_H
#define SPIKECL_NEURON_H

#include "spikecl/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum spk_neuron_kind {
    SPK_NEURON_LIF = 0,      /**< single-state LIF: V driven by x directly (snnTorch Leaky, NIR LIF) */
    SPK_NEURON_CUBA_LIF = 1, /**< current-based LIF: synaptic current I, then V (snnTorch Synaptic, NIR CubaLIF) */
    SPK_NEURON_LI = 2,       /**< leaky integrator readout: no spikes */
    SPK_NEURON_CUBA_LI = 3,  /**< current-based leaky integrator readout: no spikes */
    SPK_NEURON_IF = 4        /**< integrate-and-fire without leak: as LIF with v_decay = v_gain = 1 whatever the
                                  integration (V[t] = V[t-1] + x[t]); tau_mem is ignored */
} spk_neuron_kind;

typedef enum spk_integration {
    SPK_INTEGRATE_EXACT = 0, /**< decay = exp(-dt/tau), gain = 1 */
    SPK_INTEGRATE_EULER = 1  /**< decay = 1 - dt/tau, gain = dt/tau; requires dt <= tau */
} spk_integration;

typedef enum spk_reset {
    SPK_RESET_SUBTRACT = 0, /**< V -= threshold */
    SPK_RESET_ZERO = 1,     /**< V = 0 */
    SPK_RESET_TO_VALUE = 2, /**< V = v_reset */
    SPK_RESET_NONE = 3      /**< no reset */
} spk_reset;

typedef enum spk_reset_timing {
    SPK_RESET_NEXT_STEP = 0, /**< reset applied with the next step's update (snnTorch, NIR) */
    SPK_RESET_IMMEDIATE = 1  /**< reset applied right after the spike, before the leak (seed Flux version) */
} spk_reset_timing;

/** Surrogate gradient g(u), u = V - threshold; scale is the parameter named. */
typedef enum spk_surrogate {
    SPK_SURROGATE_FAST_SIGMOID = 0,    /**< 1/(1+k|u|)^2, scale k (default 25) */
    SPK_SURROGATE_ARCTAN = 1,          /**< (a/2)/(1+(pi a u/2)^2), scale a (default 2) */
    SPK_SURROGATE_SIGMOID = 2,         /**< k s(ku)(1-s(ku)), scale k (default 25) */
    SPK_SURROGATE_TRIANGLE = 3,        /**< max(0,1-|u|/w)/w, scale w (default 1) */
    SPK_SURROGATE_BOXCAR = 4,          /**< 1/(2w) if |u|<w else 0, scale w (default 0.5) */
    SPK_SURROGATE_GAUSSIAN = 5,        /**< exp(-u^2/(2s^2))/(s sqrt(2pi)), scale s (default 0.5) */
    SPK_SURROGATE_STRAIGHT_THROUGH = 6 /**< 1 */
} spk_surrogate;

#define SPK_SURROGATE_COUNT 7

/** @return the usual scale of surrogate @p s (see spk_surrogate), or 0 if unknown. */
SPK_API float spk_surrogate_default_scale(spk_surrogate s);

/** @return the surrogate's name ("fast_sigmoid", "arctan", ...), or NULL. */
SPK_API const char *spk_surrogate_name(spk_surrogate s);

/** Hyperparameters of a LIF-family layer. Start from spk_lif_params_default(). */
typedef struct spk_lif_params {
    spk_neuron_kind kind;
    spk_integration integration;
    float dt;               /**< time step, > 0 (same unit as the taus) */
    float tau_mem;          /**< membrane time constant, > 0 */
    float tau_syn;          /**< synaptic time constant, > 0 (current-based kinds) */
    float threshold;        /**< spike threshold theta */
    float v_reset;          /**< value for SPK_RESET_TO_VALUE */
    spk_reset reset;
    spk_reset_timing reset_timing;
    int detach_reset;       /**< 1: no gradient flows through the spike inside the reset (snnTorch default) */
    int refractory_steps;   /**< >= 0 steps after a spike without integration or spikes */
    spk_surrogate surrogate;
    float surrogate_scale;  /**< > 0 (ignored by straight-through) */
} spk_lif_params;

/** Defaults: exact integration, dt 1, tau_mem 20, tau_syn 10, threshold 1,
 *  reset by subtraction at the next step with a detached reset, no refractory
 *  steps, fast-sigmoid surrogate with k = 25. */
SPK_API spk_lif_params spk_lif_params_default(spk_neuron_kind kind);

/** Rows of the coefficient table: per neuron [SPK_LIF_NCOEF, N] or per layer. */
enum { SPK_COEF_I_DECAY = 0, SPK_COEF_I_GAIN = 1, SPK_COEF_V_DECAY = 2, SPK_COEF_V_GAIN = 3, SPK_COEF_THRESHOLD = 4,
       SPK_LIF_NCOEF = 5 };

/**
 * Check @p p and derive the coefficients the kernels use (decays and gains
 * computed on the host). @return SPK_OK or SPK_ERR_INVALID_ARGUMENT.
 * @param msg  optional buffer for the reason a parameter is rejected
 */
SPK_API spk_status spk_lif_coefficients(const spk_lif_params *p, float coef[SPK_LIF_NCOEF], char *msg,
                                        size_t msg_size);

/** Rows of the state tensor [SPK_LIF_NSTATE, B, N]. */
enum { SPK_STATE_I = 0, SPK_STATE_V = 1, SPK_STATE_S = 2, SPK_STATE_REFRACTORY = 3, SPK_LIF_NSTATE = 4 };

/** The tensors of one forward pass. T, B, N come from @c input, except for
 *  a static input: an @c input [1, B, N] beside a @c membrane, @c spikes or
 *  @c current of T > 1 steps is the same input at every one of the T steps
 *  (read once per step, never copied T times; the backward's @c grad_input
 *  may then be [1, B, N], the gradient summed over the steps, see
 *  spk_lif_grads). */
typedef struct spk_lif_io {
    const spk_tensor *input;   /**< x [T, B, N] F32, or [1, B, N] for a static input; required */
    const spk_tensor *coef;    /**< per-neuron coefficients [SPK_LIF_NCOEF, N] F32, or NULL: from params */
    const spk_tensor *state_in;/**< [SPK_LIF_NSTATE, B, N] F32 initial state, or NULL: all zero */
    spk_tensor *state_out;     /**< [SPK_LIF_NSTATE, B, N] F32 final state, or NULL; must not alias state_in */
    spk_tensor *spikes;        /**< S [T, B, N] F32 or U8; spiking kinds need it or @c spike_bits; NULL for LI kinds */
    spk_tensor *membrane;      /**< V [T, B, N] F32 (before reset); required for LI kinds and for backward */
    spk_tensor *current;       /**< I [T, B, N] F32; optional, current-based kinds only; required for their backward */
    spk_tensor *spike_bits;    /**< S bit-packed, U8 [T, B, spk_spike_row_bytes(N)] (spikecl/spikes.h): instead of
                                    @c spikes (give one of the two for spiking kinds), 1 bit per neuron-step */
} spk_lif_io;

/**
 * Run the layer over the whole sequence. Queued; not blocking.
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (parameters,
 *         or an output that the kind requires/forbids), SPK_ERR_SHAPE,
 *         SPK_ERR_DTYPE, SPK_ERR_CONTEXT, SPK_ERR_BUILD, SPK_ERR_OPENCL.
 */
SPK_API spk_status spk_lif_forward(spk_context *ctx, const spk_lif_params *p, const spk_lif_io *io);

/** Gradients of one backward pass; every tensor F32. */
typedef struct spk_lif_grads {
    const spk_tensor *grad_spikes;    /**< dL/dS [T, B, N], or NULL (zero); must be NULL for LI kinds */
    const spk_tensor *grad_membrane;  /**< dL/dV [T, B, N], or NULL (zero) */
    const spk_tensor *grad_state_out; /**< dL/d(final state) [SPK_LIF_NSTATE, B, N], or NULL (zero) */
    spk_tensor *grad_input;           /**< dL/dx [T, B, N]; or [1, B, N] (with T > 1): dL/dx summed over the steps,
                                           from the last down, what a static input receives (any input may ask
                                           for it); or NULL */
    spk_tensor *grad_state_in;        /**< dL/d(initial state) [SPK_LIF_NSTATE, B, N], or NULL; row 3 is 0 */
    spk_tensor *grad_coef;            /**< dL/d(coefficients) [SPK_LIF_NCOEF, N] summed over T and B, or NULL */
} spk_lif_grads;

/**
 * Backpropagate through time over a sequence run by spk_lif_forward() with
 * the same @p p and @p fwd (its input, coef, state_in, spikes, membrane and,
 * for current-based kinds, current must still hold the forward's values).
 * Outputs are overwritten, not accumulated. Queued; not blocking.
 */
SPK_API spk_status spk_lif_backward(spk_context *ctx, const spk_lif_params *p, const spk_lif_io *fwd,
                                    const spk_lif_grads *grads);

#ifdef __cplusplus
}
#endif
#endif
