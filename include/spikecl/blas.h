/**
 * @file blas.h
 * Dense linear algebra on device tensors (through CLBlast).
 */
#ifndef SPIKECL_BLAS_H
#define SPIKECL_BLAS_H

#include "spikecl/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * C = alpha * op(A) * op(B) + beta * C on 2-D F32 tensors, where op(X) is X
 * or its transpose. With op(A) of shape [M, K] and op(B) of shape [K, N],
 * C must be [M, N]. Queued; not blocking.
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_DTYPE, SPK_ERR_SHAPE,
 *         SPK_ERR_CONTEXT, SPK_ERR_BLAS (detail names the CLBlast status).
 */
SPK_API spk_status spk_gemm(int trans_a, int trans_b, float alpha, const spk_tensor *a, const spk_tensor *b,
                            float beta, spk_tensor *c);

#ifdef __cplusplus
}
#endif
#endif
