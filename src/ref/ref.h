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
    float *grad_coef; /* [5, N] */
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
#endif
