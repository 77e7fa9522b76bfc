/* Plain-C references of every kernel. Written for clarity, not speed: the
 * tests compare every OpenCL device against these. */
#ifndef SPK_REF_H
#define SPK_REF_H

#include <stddef.h>
#include <stdint.h>

#include "spikecl/spikecl.h"

/* Host arrays of one LIF forward pass; shapes as in spk_lif_io. Optional
 * arrays may be NULL. `coef` is [5, N] or NULL (then the scalars derived
 * from the params are used). */
typedef struct spk_ref_lif_io {
    const float *x;
    const float *coef;
    const float *state_in;
    float *state_out;
    float *spikes;
    float *membrane;
    float *current;
} spk_ref_lif_io;

typedef struct spk_ref_lif_grads {
    const float *grad_spikes;
    const float *grad_membrane;
    const float *grad_state_out;
    float *grad_input;
    float *grad_state_in;
    float *grad_coef;       /* [5, N] */
    int grad_input_summed;  /* grad_input is [B, N], summed over the steps from the last down */
} spk_ref_lif_grads;

/* Test-only variation: smooth_spikes replaces H(u) by sigmoid(k u) in the
 * forward (k the surrogate scale), so that finite differences of the forward
 * equal the backward with the sigmoid surrogate. */
typedef struct spk_ref_lif_mode {
    int smooth_spikes;
} spk_ref_lif_mode;

/* Returns SPK_OK or SPK_ERR_INVALID_ARGUMENT (bad params). */
spk_status spk_ref_lif_forward(const spk_lif_params *p, spk_ref_lif_mode mode, size_t T, size_t B, size_t N,
                               const spk_ref_lif_io *io);
/* Needs io->x, coef, state_in as in the forward; recomputes the rest. */
spk_status spk_ref_lif_backward(const spk_lif_params *p, spk_ref_lif_mode mode, size_t T, size_t B, size_t N,
                                const spk_ref_lif_io *io, const spk_ref_lif_grads *g);

/* Surrogate g(u) with scale k, as in MODELS.md. */
float spk_ref_surrogate(spk_surrogate s, float u, float k);

void spk_ref_encode_direct(const float *x, size_t F, size_t T, float gain, float *out);
void spk_ref_encode_latency(const float *x, size_t F, size_t T, float gain, float *spikes);
void spk_ref_encode_poisson(uint64_t seed, const float *intensity, size_t F, size_t T, float gain, uint64_t stream,
                            float *spikes);

/* Row-major C = alpha op(A) op(B) + beta C, accumulated in double. */
void spk_ref_gemm(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha, const float *A,
                  const float *B, float beta, float *C);

/* One optimizer step on n elements (state arrays updated in place); step
 * counts from 1. */
void spk_ref_sgd_step(size_t n, float *x, const float *g, float *v, float lr, float momentum, float wd);
void spk_ref_adam_step(size_t n, float *x, const float *g, float *m, float *v, float lr, float b1, float b2,
                       float eps, float wd, int decoupled, long step);
/* ---- Convolution, pooling, dropout (src/ref/conv_ref.c) ------------- */

/* Geometry of a 2-D convolution or pooling window over N images [C, H, W]. */
typedef struct spk_ref_conv_shape {
    size_t N, C, H, W;  /* input images */
    size_t OC;          /* output channels (convolution only) */
    size_t KH, KW, SH, SW, PH, PW;
} spk_ref_conv_shape;

/* OH and OW of the geometry (PyTorch's floor rule). */
size_t spk_ref_conv_out_h(const spk_ref_conv_shape *s);
size_t spk_ref_conv_out_w(const spk_ref_conv_shape *s);

/* Direct convolution, sums in double: y[N, OC, OH, OW] from x[N, C, H, W],
 * w[OC, C, KH, KW] and bias[OC] (may be NULL). */
void spk_ref_conv2d_forward(const spk_ref_conv_shape *s, const float *x, const float *w, const float *bias,
                            float *y);
/* Gradients from dy[N, OC, OH, OW]; dx, dw and db may each be NULL. */
void spk_ref_conv2d_backward(const spk_ref_conv_shape *s, const float *x, const float *w, const float *dy, float *dx,
                             float *dw, float *db);

/* Pooling over N*C planes without padding (PH, PW and OC ignored): the
 * average sums each window in row-major order in float, then divides by
 * KH*KW; the maximum is the window's first maximum in row-major order. */
void spk_ref_avgpool2d_forward(const spk_ref_conv_shape *s, const float *x, float *y);
void spk_ref_avgpool2d_backward(const spk_ref_conv_shape *s, const float *dy, float *dx);
void spk_ref_maxpool2d_forward(const spk_ref_conv_shape *s, const float *x, float *y);
/* The gradient of each window goes to its first maximum in x. */
void spk_ref_maxpool2d_backward(const spk_ref_conv_shape *s, const float *x, const float *dy, float *dx);

/* Dropout's mask of n = B*F elements as kernels/dropout.cl draws it:
 * mask[j] = 1/(1-p) if the Philox uniform of counter (j / 4, salt, call)
 * word j % 4 is >= p, else 0. */
void spk_ref_dropout_mask(uint64_t seed, uint32_t salt, uint64_t call, size_t n, float p, float *mask);
/* y[t, j] = x[t, j] * mask[j] for t < T (also the backward, with dy and dx). */
void spk_ref_dropout_apply(const float *mask, size_t n, size_t T, const float *x, float *y);

/* ---- Recurrent spiking layer (src/ref/recurrent_ref.c) --------------- */

/* A recurrent layer: x[t] = u[t] W_in^T + bias + S[t-1] W_rec^T, S[-1] = 0,
 * then the LIF update of `lif` (in `mode`) with input x[t], stepped one
 * step at a time through spk_ref_lif_forward with the state chained. */
typedef struct spk_ref_recurrent {
    const spk_lif_params *lif;
    spk_ref_lif_mode mode;
    size_t T, B, in, N;
    const float *W_in;  /* [N, in] */
    const float *bias;  /* [N] or NULL */
    const float *W_rec; /* [N, N] */
} spk_ref_recurrent;

/* From u [T, B, in]: spikes, membrane, current (current-based kinds) and
 * the total input x, each [T, B, N] and each optional (NULL). */
spk_status spk_ref_recurrent_forward(const spk_ref_recurrent *r, const float *u, float *spikes, float *membrane,
                                     float *current, float *x);
/* BPTT from dL/dS [T, B, N] (recomputes the forward): du [T, B, in] and db
 * [N] may be NULL; dW_in [N, in] and dW_rec [N, N] are required. */
spk_status spk_ref_recurrent_backward(const spk_ref_recurrent *r, const float *u, const float *grad_spikes,
                                      float *du, float *dW_in, float *db, float *dW_rec);

/* ---- Plasticity (src/ref/plasticity_ref.c) --------------------------- */

/* Host arrays of one spk_stdp_update; shapes as in spk_stdp_io (spikes as
 * float 0/1). Optional arrays may be NULL. */
typedef struct spk_ref_stdp_io {
    const float *pre, *post, *weight, *reward;
    const float *pre_trace_in, *post_trace_in;
    const float *elig_in;
    float *elig_out;
    float *dw;
    float alpha, beta;
} spk_ref_stdp_io;

/* The rule of spk_stdp_update over [T, B, n_pre] and [T, B, n_post] spikes
 * (with conv, n_pre and n_post are ignored and come from the geometry).
 * Returns SPK_OK or SPK_ERR_INVALID_ARGUMENT (bad params). */
spk_status spk_ref_stdp_update(const spk_stdp_params *p, const spk_stdp_conv *conv, size_t T, size_t B,
                               size_t n_pre, size_t n_post, const spk_ref_stdp_io *io);
/* Trace state [2, BN] after spikes s [T, BN] from tr_in [2, BN] (NULL: zero). */
void spk_ref_stdp_traces(size_t T, size_t BN, const float *s, const float *tr_in, float d_fast, float d_slow,
                         float *tr_out);

/* ---- ALIF, Izhikevich, AdEx (src/ref/neuron_models_ref.c) ------------ */

/* Host arrays of one spk_model_forward; shapes as in spk_model_io. Optional
 * arrays may be NULL. */
typedef struct spk_ref_model_io {
    const float *x;
    const float *state_in;
    float *state_out;
    float *spikes;
    float *membrane;
    float *adaptation;
} spk_ref_model_io;

typedef struct spk_ref_model_grads {
    const float *grad_spikes;
    const float *grad_membrane;
    const float *grad_state_out;
    float *grad_input;
    float *grad_state_in;
} spk_ref_model_grads;

/* Test-only variation: smooth_spikes makes the spike *output* (and ALIF's
 * adaptation input) sigmoid(k u), k the surrogate scale, while resets and
 * refractory decisions keep the hard spike (they are detached): finite
 * differences of the forward then equal the backward with the sigmoid
 * surrogate. */
typedef struct spk_ref_model_mode {
    int smooth_spikes;
} spk_ref_model_mode;

/* Returns SPK_OK, SPK_ERR_INVALID_ARGUMENT (bad params) or SPK_ERR_NUMERIC
 * (a non-finite state; the outputs are still written). */
spk_status spk_ref_model_forward(const spk_model_params *p, spk_ref_model_mode mode, size_t T, size_t B, size_t N,
                                 const spk_ref_model_io *io);
/* Needs io->x and io->state_in as in the forward; recomputes the rest. */
spk_status spk_ref_model_backward(const spk_model_params *p, spk_ref_model_mode mode, size_t T, size_t B, size_t N,
                                  const spk_ref_model_io *io, const spk_ref_model_grads *g);

/* Event-driven synapses (kernels/sparse_synapse.cl). Per-row lists of the
 * nonzero inputs of x [rows, in]: count[r] and idx[r * in + k], increasing;
 * returns the nonzeros, *binary = 1 if every input is 0 or 1. */
size_t spk_ref_sparse_compact(const float *x, size_t rows, size_t in, int *count, int *idx, int *binary);
/* y[r, o] = b[o] + the sum of W[o, j] over the row's list, in its order (b may be NULL). */
void spk_ref_sparse_forward(const int *count, const int *idx, size_t rows, size_t in, const float *W, const float *b,
                            size_t out, float *y);
/* dW[o, j] = the sum of dy[r, o] over the rows r whose list holds j; returns 0 when out of host memory. */
int spk_ref_sparse_weight_grad(const int *count, const int *idx, size_t rows, size_t in, const float *dy, size_t out,
                               float *dW);
/* dx[r, i] = the sum over o of dy[r, o] W[o, i], o in order (sparse_input_grad). */
void spk_ref_sparse_input_grad(const float *dy, const float *W, size_t rows, size_t in, size_t out, float *dx);

/* Bit-packed spikes (kernels/spikes.cl, include/spikecl/spikes.h): rows of
 * n spikes s (nonzero: a spike) as (n + 31) / 32 words w per row, spike j
 * at bit j % 32 of word j / 32, bits past n zero; and back to 0/1 floats. */
void spk_ref_spikes_pack(const float *s, size_t rows, size_t n, uint32_t *w);
void spk_ref_spikes_unpack(const uint32_t *w, size_t rows, size_t n, float *s);
#endif
