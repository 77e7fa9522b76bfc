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
#endif
