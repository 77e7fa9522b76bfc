/**
 * @file learn.h
 * Losses, metrics and optimizers.
 *
 * Optimizers share one rule shape, apply(state, x, dx): a slot holds the
 * state of one parameter tensor (momentum, Adam moments), and a step updates
 * x in place from its gradient dx. Plasticity rules will hand their weight
 * changes to the same rules as pseudo-gradients.
 */
#ifndef SPIKECL_LEARN_H
#define SPIKECL_LEARN_H

#include <stdint.h>

#include "spikecl/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Losses --------------------------------------------------------- */

typedef enum spk_loss_kind {
    /** Softmax cross-entropy on spike counts sum_t S[t, b, c]. Output: spikes. */
    SPK_LOSS_CE_COUNT = 0,
    /** Softmax cross-entropy on the time-mean membrane of a readout. Output: membrane. */
    SPK_LOSS_CE_MEAN_MEMBRANE = 1,
    /** Softmax cross-entropy on the time-max membrane of a readout. Output: membrane. */
    SPK_LOSS_CE_MAX_MEMBRANE = 2,
    /** Mean squared error between spike counts and target counts (snnTorch
     *  mse_count_loss): correct_rate*T for the label, incorrect_rate*T for the others. */
    SPK_LOSS_MSE_COUNT = 3
} spk_loss_kind;

typedef struct spk_loss_params {
    spk_loss_kind kind;
    float correct_rate;   /**< SPK_LOSS_MSE_COUNT: target firing rate of the label's neuron (default 0.8) */
    float incorrect_rate; /**< SPK_LOSS_MSE_COUNT: target rate of the others (default 0.2) */
} spk_loss_params;

SPK_API spk_loss_params spk_loss_params_default(spk_loss_kind kind);

/**
 * Loss of a batch and its gradient with respect to the output.
 * @param output       [T, B, C] F32: spikes or membrane, by the loss kind
 * @param labels       B class indices (< C), host memory
 * @param grad_output  [T, B, C] F32, receives dL/d(output) (mean over the batch); may be NULL
 * @param loss         receives the mean loss over the batch; may be NULL
 * @param correct      receives how many samples the output classifies right
 *                     (argmax of counts or of the reduced membrane; ties go to
 *                     the lowest class); may be NULL
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_SHAPE, SPK_ERR_INVALID_ARGUMENT
 *         (label out of range), SPK_ERR_NUMERIC (a NaN or Inf in the output, or in the loss),
 *         SPK_ERR_OPENCL.
 */
SPK_API spk_status spk_loss(spk_context *ctx, const spk_loss_params *p, const spk_tensor *output,
                            const uint8_t *labels, spk_tensor *grad_output, float *loss, size_t *correct);

/**
 * The class each sample's output votes for: argmax over C of the time
 * reduction that @p p's kind uses (spike counts, mean or max membrane); ties
 * go to the lowest class.
 * @param output  [T, B, C] F32
 * @param pred    B bytes of host memory
 */
SPK_API spk_status spk_predict(spk_context *ctx, const spk_loss_params *p, const spk_tensor *output, uint8_t *pred);

/* ---- Optimizers ----------------------------------------------------- */

typedef enum spk_optimizer_kind {
    SPK_OPTIM_SGD = 0,      /**< x -= lr * (dx + weight_decay * x), with momentum if momentum > 0 */
    SPK_OPTIM_ADAM = 1,     /**< Kingma & Ba 2015; weight_decay added to the gradient (L2) */
    SPK_OPTIM_ADAMW = 2     /**< Loshchilov & Hutter 2019: decoupled weight decay */
} spk_optimizer_kind;

typedef struct spk_optimizer_params {
    spk_optimizer_kind kind;
    float lr;
    float momentum;     /**< SGD: heavy-ball momentum in [0, 1) (0: plain SGD) */
    float beta1, beta2; /**< Adam: in [0, 1) (defaults 0.9, 0.999) */
    float eps;          /**< Adam: > 0 (default 1e-8) */
    float weight_decay; /**< >= 0 */
} spk_optimizer_params;

SPK_API spk_optimizer_params spk_optimizer_params_default(spk_optimizer_kind kind);

typedef struct spk_optimizer spk_optimizer;

SPK_API spk_status spk_optimizer_create(spk_context *ctx, const spk_optimizer_params *p, spk_optimizer **out);
SPK_API void spk_optimizer_free(spk_optimizer *opt);

/** Change the learning rate (schedules). @return SPK_ERR_INVALID_ARGUMENT if not finite or < 0. */
SPK_API spk_status spk_optimizer_set_lr(spk_optimizer *opt, float lr);
SPK_API float spk_optimizer_lr(const spk_optimizer *opt);

/**
 * apply(state, x, dx): update @p x in place from gradient @p dx using the
 * state kept in @p slot (created zeroed on first use with x's element count;
 * a slot must keep that count). Each slot counts its own steps for Adam's
 * bias correction. Queued; not blocking.
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_SHAPE, SPK_ERR_DTYPE,
 *         SPK_ERR_CONTEXT, SPK_ERR_DEVICE_OUT_OF_MEMORY, SPK_ERR_OPENCL.
 */
SPK_API spk_status spk_optimizer_apply(spk_optimizer *opt, size_t slot, spk_tensor *x, const spk_tensor *dx);

/** Forget every slot's state (moments and step counts). */
SPK_API void spk_optimizer_reset(spk_optimizer *opt);

/* ---- Learning-rate schedules ------------------------------------------ */

typedef enum spk_lr_schedule_kind {
    SPK_LR_CONSTANT = 0, /**< base_lr at every step */
    SPK_LR_STEP = 1,     /**< base_lr * gamma^floor(step / step_size) */
    SPK_LR_COSINE = 2    /**< min_lr + (base_lr - min_lr) (1 + cos(pi step / total_steps)) / 2, then min_lr */
} spk_lr_schedule_kind;

/** A learning rate as a function of the optimizer step (0, 1, ...). */
typedef struct spk_lr_schedule {
    spk_lr_schedule_kind kind;
    float base_lr;      /**< >= 0, finite */
    size_t step_size;   /**< SPK_LR_STEP: steps between decays, >= 1 (e.g. the batches of an epoch) */
    float gamma;        /**< SPK_LR_STEP: factor per decay, in (0, 1] (default 0.5) */
    size_t total_steps; /**< SPK_LR_COSINE: steps of the decay, >= 1 (e.g. epochs * batches) */
    float min_lr;       /**< SPK_LR_COSINE: floor, in [0, base_lr] (default 0) */
} spk_lr_schedule;

/** A schedule of @p kind from @p base_lr; step_size and total_steps are
 *  @p steps, gamma 0.5, min_lr 0. */
SPK_API spk_lr_schedule spk_lr_schedule_default(spk_lr_schedule_kind kind, float base_lr, size_t steps);

/**
 * The learning rate at optimizer step @p step (computed in double, then
 * rounded once to float).
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (a
 *         parameter out of range; @p msg, if given, says which).
 */
SPK_API spk_status spk_lr_schedule_at(const spk_lr_schedule *s, size_t step, float *lr, char *msg, size_t msg_size);

#ifdef __cplusplus
}
#endif
#endif
