/* spk_gemm(): checks, then CLBlast or the host BLAS (host_gemm.c). The only
 * file that includes clblast_c.h: the rest of the library sees spk_gemm()
 * and spk_status. */
#include <clblast_c.h>

#include "blas/gemm_internal.h"

const char *spk__clblast_status_name(int status)
{
    CLBlastStatusCode s = (CLBlastStatusCode)status;
    switch (s) {
    case CLBlastNotImplemented:
        return "CLBlastNotImplemented";
    case CLBlastInvalidMatrixA:
        return "CLBlastInvalidMatrixA";
    case CLBlastInvalidMatrixB:
        return "CLBlastInvalidMatrixB";
    case CLBlastInvalidMatrixC:
        return "CLBlastInvalidMatrixC";
    case CLBlastInvalidDimension:
        return "CLBlastInvalidDimension";
    case CLBlastInvalidLeadDimA:
        return "CLBlastInvalidLeadDimA";
    case CLBlastInvalidLeadDimB:
        return "CLBlastInvalidLeadDimB";
    case CLBlastInvalidLeadDimC:
        return "CLBlastInvalidLeadDimC";
    case CLBlastInsufficientMemoryA:
        return "CLBlastInsufficientMemoryA";
    case CLBlastInsufficientMemoryB:
        return "CLBlastInsufficientMemoryB";
    case CLBlastInsufficientMemoryC:
        return "CLBlastInsufficientMemoryC";
    case CLBlastInsufficientMemoryTemp:
        return "CLBlastInsufficientMemoryTemp";
    case CLBlastInvalidLocalMemUsage:
        return "CLBlastInvalidLocalMemUsage";
    case CLBlastDatabaseError:
        return "CLBlastDatabaseError";
    case CLBlastUnknownError:
        return "CLBlastUnknownError";
    case CLBlastUnexpectedError:
        return "CLBlastUnexpectedError";
    default:
        /* Values above -1000 reuse OpenCL's error numbers. */
        return (int)s > -1000 ? spk__cl_error_name((cl_int)s) : "CLBlast error";
    }
}

/* CLBlast reuses OpenCL's numbers, so memory errors map like OpenCL's. */
static spk_status map_status(const spk_context *ctx, CLBlastStatusCode s, size_t m, size_t n, size_t k)
{
    spk_status st = SPK_ERR_BLAS;
    if (s == CLBlastTempBufferAllocFailure || s == CLBlastOpenCLOutOfResources)
        st = SPK_ERR_DEVICE_OUT_OF_MEMORY;
    else if (s == CLBlastOpenCLOutOfHostMemory)
        st = SPK_ERR_OUT_OF_MEMORY;
    return spk__error(ctx, st, "CLBlastSgemm (M=%zu, N=%zu, K=%zu) failed: %s (%d)", m, n, k,
                      spk__clblast_status_name(s), (int)s);
}

spk_status spk_gemm(int trans_a, int trans_b, float alpha, const spk_tensor *a, const spk_tensor *b, float beta,
                    spk_tensor *c)
{
    spk_status st = SPK_OK;
    spk_context *ctx = c ? c->ctx : a ? a->ctx : b ? b->ctx : NULL;
    char sa[96], sb[96], sc[96];
    SPK_CHECK(ctx, a && b && c, SPK_ERR_NULL_POINTER, "spk_gemm: a, b or c is NULL");
    SPK_CHECK(ctx, a->ctx == ctx && b->ctx == ctx, SPK_ERR_CONTEXT, "spk_gemm: tensors belong to different contexts");
    SPK_CHECK(ctx, a->dtype == SPK_F32 && b->dtype == SPK_F32 && c->dtype == SPK_F32, SPK_ERR_DTYPE,
              "spk_gemm: a, b and c must be f32");
    SPK_CHECK(ctx, a->ndim == 2 && b->ndim == 2 && c->ndim == 2, SPK_ERR_SHAPE,
              "spk_gemm: a, b and c must be 2-D (got %d, %d and %d dimensions)", a->ndim, b->ndim, c->ndim);
    size_t m = trans_a ? a->shape[1] : a->shape[0];
    size_t k = trans_a ? a->shape[0] : a->shape[1];
    size_t kb = trans_b ? b->shape[1] : b->shape[0];
    size_t n = trans_b ? b->shape[0] : b->shape[1];
    SPK_CHECK(ctx, k == kb && c->shape[0] == m && c->shape[1] == n, SPK_ERR_SHAPE,
              "spk_gemm: op(a) %s%s times op(b) %s%s does not give c %s", spk__shape_str(a, sa, sizeof sa),
              trans_a ? "^T" : "", spk__shape_str(b, sb, sizeof sb), trans_b ? "^T" : "",
              spk__shape_str(c, sc, sizeof sc));
    if (ctx->gemm_backend == SPK_GEMM_HOST) {
#ifdef SPK_HAVE_HOST_BLAS
        SPK_TRY(spk__host_gemm(ctx, trans_a, trans_b, m, n, k, alpha, a, b, beta, c));
        ctx->launch_stats.gemm_calls++;
        return SPK_OK;
#endif
    }
    CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                                       trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a->buf,
                                       a->offset, a->shape[1], b->buf, b->offset, b->shape[1], beta, c->buf,
                                       c->offset, c->shape[1], &ctx->queue, NULL);
    if (s != CLBlastSuccess)
        st = map_status(ctx, s, m, n, k);
    else
        ctx->launch_stats.gemm_calls++;
fail:
    return st;
}
