/**
 * @file neuron_models.h
 * Neuron models beyond the LIF family: adaptive LIF (ALIF), Izhikevich and
 * AdEx, each over whole sequences.
 *
 * As with spk_lif_forward(), one call runs the time loop of a layer of
 * neurons inside one kernel over an input x of shape [T, B, N]; the
 * backward replaces dS/dV by a surrogate and runs the reverse time loop in
 * one kernel. The exact update of every model is in docs/neuron_models.md;
 * per step t, with I[t] = input_gain * x[t]:
 *
 * ALIF (Bellec et al. 2018), reset at the next step as snnTorch's Leaky:
 *
 *     a[t] = rho * a[t-1] + S[t-1]                      rho = exp(-dt/tau_adapt)
 *     A[t] = threshold + beta_a * a[t]                  the effective threshold
 *     V[t] = R(beta * V[t-1] + gain * I[t], S[t-1])     beta = exp(-dt/tau_mem), gain 1
 *     S[t] = H(V[t] - A[t])
 *
 *   with R(v, s) = v - A[t-1] s (subtract) or v (1 - s) (zero); Euler
 *   integration uses 1 - dt/tau for the decays and gain dt/tau_mem.
 *   During refractory steps V[t] = R(V[t-1], S[t-1]) and S[t] = 0.
 *
 * Izhikevich (2003), v in mV, t in ms, `substeps` Euler steps of h = dt/substeps
 * per time step, each (as in Izhikevich's own code, u uses the new v):
 *
 *     v* = v + h (0.04 v^2 + 5 v + 140 - u + I)
 *     u* = u + h a (b v* - u)
 *     if v* >= v_peak: spike, v <- c, u <- u* + d;  else v <- v*, u <- u*
 *
 * AdEx (Brette & Gerstner 2005), V in mV, t in ms, C in pF, conductances in
 * nS, currents in pA, the same sub-steps, both variables from the old state:
 *
 *     V* = V + h/C (-g_L (V - E_L) + g_L Delta_T exp(min((V - V_T)/Delta_T, 30)) - w + I)
 *     w* = w + h/tau_w (a (V - E_L) - w)
 *     if V* > V_peak: spike, V <- V_r, w <- w* + b;  else V <- V*, w <- w*
 *
 *   The exponent is capped at SPK_ADEX_EXP_ARG_MAX (30) so exp() never
 *   overflows in float; past V_T + 30 Delta_T the neuron has long crossed
 *   any sensible V_peak.
 *
 * S[t] of Izhikevich and AdEx counts the crossings within step t (0 or 1,
 * more only when the drive is strong enough to fire twice within dt); the
 * membrane and adaptation they record are the state at the end of step t
 * (after any reset). For the surrogate backward each crossing is
 * S = H(v* - v_peak) with dS/dv* = g(v* - v_peak); the reset's dependence on
 * the spike is detached (as snnTorch's default), and the gradient flows back
 * through every Euler sub-step. ALIF's reset is detached as well; its
 * gradient flows through the adaptation a (the dependence of the threshold
 * on past spikes), as in Bellec et al.
 *
 * A forward that meets a non-finite state (diverging dynamics, NaN or Inf
 * input) returns SPK_ERR_NUMERIC, naming the first such step: the kernel
 * raises a per-launch flag, which the call reads back. Both calls therefore
 * wait for their kernel to finish.
 */
#ifndef SPIKECL_NEURON_MODELS_H
#define SPIKECL_NEURON_MODELS_H

#include "spikecl/neuron.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum spk_model_kind {
    SPK_MODEL_ALIF = 0,       /**< adaptive-threshold LIF (Bellec et al. 2018) */
    SPK_MODEL_IZHIKEVICH = 1, /**< Izhikevich (2003) quadratic model with recovery u */
    SPK_MODEL_ADEX = 2        /**< adaptive exponential IF (Brette & Gerstner 2005) */
} spk_model_kind;

/** Cap of AdEx's exponent argument (V - V_T)/Delta_T: exp(30) ~ 1e13. */
#define SPK_ADEX_EXP_ARG_MAX 30.0f
/** Largest number of Euler sub-steps per time step. */
#define SPK_MODEL_MAX_SUBSTEPS 64
/** Largest Izhikevich sub-step h = dt/substeps, in ms (the published codes use 0.25 to 1). */
#define SPK_IZHIKEVICH_MAX_STEP 1.0f

typedef struct spk_alif_params {
    spk_integration integration; /**< exact (default) or Euler (requires dt <= tau_mem and dt <= tau_adapt) */
    float tau_mem;               /**< membrane time constant, > 0 */
    float tau_adapt;             /**< adaptation time constant, > 0 (Bellec: 200 ms to seconds) */
    float threshold;             /**< base threshold theta, finite */
    float beta_a;                /**< adaptation strength, >= 0 (0: plain LIF) */
    spk_reset reset;             /**< SPK_RESET_SUBTRACT (of the effective threshold) or SPK_RESET_ZERO */
    int refractory_steps;        /**< >= 0 steps after a spike without integration or spikes */
} spk_alif_params;

typedef struct spk_izhikevich_params {
    float a;      /**< recovery rate, > 0 */
    float b;      /**< recovery sensitivity to v, finite */
    float c;      /**< reset of v (mV), < v_peak */
    float d;      /**< increment of u at a spike, finite */
    float v_peak; /**< spike cut-off (mV), 30 in the paper */
    float v_init; /**< v without state_in (mV); u starts at b * v_init. -65 in Izhikevich's code */
} spk_izhikevich_params;

typedef struct spk_adex_params {
    float C;       /**< capacitance (pF), > 0 */
    float g_L;     /**< leak conductance (nS), > 0 */
    float E_L;     /**< leak reversal (mV); also V without state_in (w then starts at 0) */
    float V_T;     /**< threshold slope factor's centre (mV) */
    float Delta_T; /**< slope factor (mV), > 0 */
    float V_peak;  /**< spike cut-off (mV), > V_T and > V_r */
    float V_r;     /**< reset (mV) */
    float a;       /**< subthreshold adaptation (nS), finite (negative: delayed/irregular patterns) */
    float tau_w;   /**< adaptation time constant (ms), > 0 */
    float b;       /**< spike-triggered adaptation (pA), finite */
} spk_adex_params;

/** Hyperparameters of a neuron-model layer. Start from spk_model_params_default(). */
typedef struct spk_model_params {
    spk_model_kind kind;
    float dt;               /**< time step (ms for Izhikevich and AdEx), > 0 */
    int substeps;           /**< Euler sub-steps per time step, 1..SPK_MODEL_MAX_SUBSTEPS; ALIF: 1 */
    float input_gain;       /**< I = input_gain * x, finite (default 1) */
    spk_surrogate surrogate;
    float surrogate_scale;  /**< > 0 (ignored by straight-through); in 1/mV for Izhikevich and AdEx */
    spk_alif_params alif;               /**< read when kind is SPK_MODEL_ALIF */
    spk_izhikevich_params izhikevich;   /**< read when kind is SPK_MODEL_IZHIKEVICH */
    spk_adex_params adex;               /**< read when kind is SPK_MODEL_ADEX */
} spk_model_params;

/**
 * Defaults per kind. All: input_gain 1, fast-sigmoid surrogate.
 * ALIF: dt 1, exact, tau_mem 20, tau_adapt 200, threshold 1, beta_a 1.8
 *       (Bellec's choice), subtract reset, no refractory steps, k = 25.
 * Izhikevich: dt 1 ms, 2 sub-steps (0.5 ms, as the 2003 network code),
 *       regular spiking (a 0.02, b 0.2, c -65, d 8), v_peak 30, v_init -65, k = 0.2 per mV.
 * AdEx: dt 0.1 ms, 1 sub-step, Naud et al. (2008) tonic spiking (C 200,
 *       g_L 10, E_L -70, V_T -50, Delta_T 2, a 2, tau_w 30, b 0, V_r -58),
 *       V_peak 0 mV (as Brian2's Naud example), k = 0.2 per mV.
 */
SPK_API spk_model_params spk_model_params_default(spk_model_kind kind);

/** @return "alif", "izhikevich", "adex", or NULL. */
SPK_API const char *spk_model_kind_name(spk_model_kind kind);

/**
 * Check @p p: every range documented above, and the Euler step against the
 * model's time scales: ALIF Euler needs dt <= tau_mem and dt <= tau_adapt;
 * Izhikevich needs h = dt/substeps <= SPK_IZHIKEVICH_MAX_STEP and h a <= 1;
 * AdEx needs h <= C/g_L and h <= tau_w (a non-negative decay per sub-step,
 * as LIF's Euler rule).
 * @param msg  optional buffer for the reason a parameter is rejected
 * @return SPK_OK or SPK_ERR_INVALID_ARGUMENT (also for a NULL @p p).
 */
SPK_API spk_status spk_model_check_params(const spk_model_params *p, char *msg, size_t msg_size);

/* ---- Published parameter sets ---------------------------------------- */

/** The cortical and thalamic classes of Izhikevich (2003), Fig. 2. */
typedef enum spk_izhikevich_class {
    SPK_IZH_RS = 0,  /**< regular spiking: a 0.02, b 0.2,  c -65, d 8 */
    SPK_IZH_IB = 1,  /**< intrinsically bursting: a 0.02, b 0.2, c -55, d 4 */
    SPK_IZH_CH = 2,  /**< chattering: a 0.02, b 0.2, c -50, d 2 */
    SPK_IZH_FS = 3,  /**< fast spiking: a 0.1, b 0.2, c -65, d 2 */
    SPK_IZH_LTS = 4, /**< low-threshold spiking: a 0.02, b 0.25, c -65, d 2 */
    SPK_IZH_TC = 5,  /**< thalamo-cortical: a 0.02, b 0.25, c -65, d 0.05 */
    SPK_IZH_RZ = 6,  /**< resonator: a 0.1, b 0.26, c -65, d 2 */
    SPK_IZH_CLASS_COUNT = 7
} spk_izhikevich_class;

/** The firing patterns of Naud et al. (2008), Table 1 (with its step current). */
typedef enum spk_adex_pattern {
    SPK_ADEX_TONIC = 0,
    SPK_ADEX_ADAPTING = 1,
    SPK_ADEX_INITIAL_BURST = 2,
    SPK_ADEX_REGULAR_BURSTING = 3,
    SPK_ADEX_DELAYED_ACCELERATING = 4,
    SPK_ADEX_DELAYED_REGULAR_BURSTING = 5,
    SPK_ADEX_TRANSIENT = 6,
    SPK_ADEX_IRREGULAR = 7,
    SPK_ADEX_PATTERN_COUNT = 8
} spk_adex_pattern;

/**
 * Izhikevich parameters of class @p c, with v_peak 30 and v_init the
 * resting potential at I = 0 (the lower root of 0.04 v^2 + (5 - b) v + 140:
 * -70 mV for b = 0.2, -64.4 for b = 0.25, -62.5 for b = 0.26).
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (unknown class).
 */
SPK_API spk_status spk_izhikevich_preset(spk_izhikevich_class c, spk_izhikevich_params *out);
/** @return "RS", "IB", "CH", "FS", "LTS", "TC", "RZ", or NULL. */
SPK_API const char *spk_izhikevich_class_name(spk_izhikevich_class c);

/**
 * AdEx parameters of pattern @p pat (V_peak 0 mV) and the step current of
 * Naud et al.'s Table 1 in pA (@p step_current may be NULL).
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (unknown pattern).
 */
SPK_API spk_status spk_adex_preset(spk_adex_pattern pat, spk_adex_params *out, float *step_current);
/** @return "tonic", "adapting", "initial burst", ..., or NULL. */
SPK_API const char *spk_adex_pattern_name(spk_adex_pattern pat);

/* ---- Forward and backward -------------------------------------------- */

/** Rows of the state tensor [SPK_MODEL_NSTATE, B, N]: membrane, adaptation
 *  (ALIF a, Izhikevich u, AdEx w), the last step's spikes, the refractory
 *  counter (ALIF; 0 otherwise). */
enum { SPK_MSTATE_V = 0, SPK_MSTATE_W = 1, SPK_MSTATE_S = 2, SPK_MSTATE_REFRACTORY = 3, SPK_MODEL_NSTATE = 4 };

/** The tensors of one forward pass. T, B, N come from @c input. */
typedef struct spk_model_io {
    const spk_tensor *input;    /**< x [T, B, N] F32, required */
    const spk_tensor *state_in; /**< [SPK_MODEL_NSTATE, B, N] F32, or NULL: rest (see the params) */
    spk_tensor *state_out;      /**< [SPK_MODEL_NSTATE, B, N] F32 final state, or NULL; must not alias state_in */
    spk_tensor *spikes;         /**< S [T, B, N] F32 or U8, required */
    spk_tensor *membrane;       /**< V [T, B, N] F32 (ALIF: before the reset; others: end of step), or NULL; required for backward */
    spk_tensor *adaptation;     /**< a / u / w [T, B, N] F32, or NULL; required for backward */
} spk_model_io;

/**
 * Run the layer over the whole sequence; waits for the kernel (to report
 * divergence).
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (params,
 *         aliasing), SPK_ERR_SHAPE, SPK_ERR_DTYPE, SPK_ERR_CONTEXT,
 *         SPK_ERR_BUILD, SPK_ERR_OPENCL, SPK_ERR_NUMERIC (a non-finite
 *         state; the outputs then hold it).
 */
SPK_API spk_status spk_model_forward(spk_context *ctx, const spk_model_params *p, const spk_model_io *io);

/** Gradients of one backward pass; every tensor F32. */
typedef struct spk_model_grads {
    const spk_tensor *grad_spikes;    /**< dL/dS [T, B, N], or NULL (zero) */
    const spk_tensor *grad_membrane;  /**< dL/dV [T, B, N] of the recorded membrane, or NULL (zero) */
    const spk_tensor *grad_state_out; /**< dL/d(final state) [SPK_MODEL_NSTATE, B, N], or NULL (zero) */
    spk_tensor *grad_input;           /**< dL/dx [T, B, N], or NULL */
    spk_tensor *grad_state_in;        /**< dL/d(initial state) [SPK_MODEL_NSTATE, B, N], or NULL; row 3 is 0 */
} spk_model_grads;

/**
 * Backpropagate through time over a sequence run by spk_model_forward()
 * with the same @p p and @p fwd (input, state_in, spikes, membrane and
 * adaptation must still hold the forward's values). Izhikevich and AdEx
 * recompute each step's sub-steps from the recorded state. Outputs are
 * overwritten. Waits for the kernel.
 * @return as spk_model_forward(); SPK_ERR_NUMERIC for a non-finite gradient.
 */
SPK_API spk_status spk_model_backward(spk_context *ctx, const spk_model_params *p, const spk_model_io *fwd,
                                      const spk_model_grads *grads);

#ifdef __cplusplus
}
#endif
#endif
