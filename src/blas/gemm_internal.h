/* The GEMM backends behind spk_gemm(): CLBlast (gemm.c) and the host BLAS on
 * mapped buffers (host_gemm.c, built only with OpenBLAS). */
#ifndef SPK_GEMM_INTERNAL_H
#define SPK_GEMM_INTERNAL_H

#include "tensor/tensor_internal.h"

/* Pick the context's backend from the request (or SPIKECL_GEMM for AUTO)
 * and the device; sets ctx->gemm_backend. */
spk_status spk__gemm_backend_resolve(spk_context *ctx, spk_gemm_backend requested);

/* What a host GEMM can do besides the product while its buffers are mapped
 * (one mapping and one wait for all; each wait is a round trip to the
 * driver's threads). NULL members: nothing. */
typedef struct spk__gemm_extras {
    const spk_tensor *a_steps; /* before: A = the sum of a_steps's blocks of A's size, from the last down */
    const spk_tensor *row_add; /* C's rows start as these n elements (beta ignored: C = product + rows) */
    spk_tensor *a_row_sum;     /* after: the sum of A's stored rows (A's columns many) */
} spk__gemm_extras;

/* C = alpha op(A) op(B) + beta C with checked shapes, on the host BLAS, with
 * the extras (NULL: none). */
spk_status spk__host_gemm(spk_context *ctx, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                          const spk_tensor *a, const spk_tensor *b, float beta, spk_tensor *c,
                          const spk__gemm_extras *ex);

/* C = op(A) op(B) + 1 bias^T: bias (n elements) added to every row of C.
 * On the host backend one mapping of the four buffers and one wait (each
 * wait is a round trip to the driver); elsewhere the GEMM, then a rank-1
 * GEMM with `ones` ([m, 1] of 1). */
spk_status spk__gemm_bias(int trans_a, int trans_b, const spk_tensor *a, const spk_tensor *b, const spk_tensor *bias,
                          const spk_tensor *ones, spk_tensor *c);

/* The weight and bias gradients of a dense layer: dW = dY^T X and db (NULL:
 * none) = the sum of dY's rows. With dy_steps ([T, dY's elements]), dY is
 * first set to its sum over the T steps (a static input's gradient).
 * One mapping and one wait on the host backend; elsewhere GEMMs, with
 * `ones` ([rows, 1] of 1) for db and `ones_t` ([1, T]) for the time sum. */
spk_status spk__gemm_wgrad(spk_tensor *dy, const spk_tensor *x, spk_tensor *dw, spk_tensor *db,
                           const spk_tensor *ones, const spk_tensor *dy_steps, const spk_tensor *ones_t);

/* "CLBlastInvalidLocalMemUsage", an OpenCL error name, ... for a CLBlast status. */
const char *spk__clblast_status_name(int status);

/* Tuned CLBlast parameters (tune_params.c). */

/* CLBlast's own parameters of the tuned kernels on ctx's device (as they
 * were before spikecl overrode any); SPK_ERR_UNSUPPORTED, why in msg, when
 * this CLBlast's kernels have other parameters than spikecl knows. */
spk_status spk__tune_defaults(spk_context *ctx, spk_tune_params *out, char *why, size_t cap);

/* Apply p's kernels on ctx's device (CLBlastOverrideParameters); CLBlast's
 * status name in why on failure (SPK_ERR_BLAS). Sets no error on ctx. */
spk_status spk__tune_apply(spk_context *ctx, const spk_tune_params *p, char *why, size_t cap);

/* At context creation: load and apply the device's tuning file unless
 * tuning is off; never fails for a bad file (tuning_info says why), only
 * for a bad mode or SPIKECL_TUNE value. */
spk_status spk__tune_load(spk_context *ctx, spk_clblast_tuning mode);
#endif
