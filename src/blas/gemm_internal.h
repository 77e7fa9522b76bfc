/* The GEMM backends behind spk_gemm(): CLBlast (gemm.c) and the host BLAS on
 * mapped buffers (host_gemm.c, built only with OpenBLAS). */
#ifndef SPK_GEMM_INTERNAL_H
#define SPK_GEMM_INTERNAL_H

#include "tensor/tensor_internal.h"

/* Pick the context's backend from the request (or SPIKECL_GEMM for AUTO)
 * and the device; sets ctx->gemm_backend. */
spk_status spk__gemm_backend_resolve(spk_context *ctx, spk_gemm_backend requested);

/* C = alpha op(A) op(B) + beta C with checked shapes, on the host BLAS. */
spk_status spk__host_gemm(spk_context *ctx, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                          const spk_tensor *a, const spk_tensor *b, float beta, spk_tensor *c);

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
