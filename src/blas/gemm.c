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

static spk_status gemm(int trans_a, int trans_b, float alpha, const spk_tensor *a, const spk_tensor *b, float beta,
                       spk_tensor *c, const spk__gemm_extras *ex);

spk_status spk_gemm(int trans_a, int trans_b, float alpha, const spk_tensor *a, const spk_tensor *b, float beta,
                    spk_tensor *c)
{
    return gemm(trans_a, trans_b, alpha, a, b, beta, c, NULL);
}

spk_status spk__gemm_bias(int trans_a, int trans_b, const spk_tensor *a, const spk_tensor *b, const spk_tensor *bias,
                          const spk_tensor *ones, spk_tensor *c)
{
    spk_status st = SPK_OK;
    spk_tensor *row = NULL;
    SPK_CHECK(c ? c->ctx : NULL, c && bias && ones, SPK_ERR_NULL_POINTER, "spk__gemm_bias: c, bias or ones is NULL");
    SPK_CHECK(c->ctx, bias->numel == c->shape[c->ndim - 1] && bias->dtype == SPK_F32, SPK_ERR_SHAPE,
              "spk__gemm_bias: the bias has %zu elements for rows of %zu", bias->numel, c->shape[c->ndim - 1]);
#ifdef SPK_HAVE_HOST_BLAS
    if (c->ctx->gemm_backend == SPK_GEMM_HOST)
        return gemm(trans_a, trans_b, 1.0f, a, b, 0.0f, c, &(spk__gemm_extras){.row_add = bias});
#endif
    SPK_TRY(spk_gemm(trans_a, trans_b, 1.0f, a, b, 0.0f, c));
    SPK_TRY(spk_tensor_view((spk_tensor *)bias, 0, 2, (size_t[2]){1, bias->numel}, &row));
    SPK_TRY(spk_gemm(0, 0, 1.0f, ones, row, 1.0f, c));
fail:
    spk_tensor_free(row);
    return st;
}

spk_status spk__gemm_wgrad(spk_tensor *dy, const spk_tensor *x, spk_tensor *dw, spk_tensor *db,
                           const spk_tensor *ones, const spk_tensor *dy_steps, const spk_tensor *ones_t)
{
    spk_status st = SPK_OK;
    spk_tensor *col = NULL, *sum = NULL;
    SPK_CHECK(dw ? dw->ctx : NULL, dy && dw && (!db || ones) && (!dy_steps || ones_t), SPK_ERR_NULL_POINTER,
              "spk__gemm_wgrad: dy, dw, ones or ones_t is NULL");
    SPK_CHECK(dw->ctx, dy->ndim == 2 && (!db || (db->numel == dy->shape[1] && db->dtype == SPK_F32)) &&
                           (!dy_steps || dy_steps->numel % dy->numel == 0),
              SPK_ERR_SHAPE, "spk__gemm_wgrad: the bias gradient or the steps do not fit dY %zu x %zu",
              dy->ndim == 2 ? dy->shape[0] : 0, dy->ndim == 2 ? dy->shape[1] : 0);
#ifdef SPK_HAVE_HOST_BLAS
    if (dw->ctx->gemm_backend == SPK_GEMM_HOST)
        return gemm(1, 0, 1.0f, dy, x, 0.0f, dw, &(spk__gemm_extras){.a_steps = dy_steps, .a_row_sum = db});
#endif
    if (dy_steps) { /* [1, T] x [T, dY's elements] */
        SPK_TRY(spk_tensor_view(dy, 0, 2, (size_t[2]){1, dy->numel}, &sum));
        SPK_TRY(spk_gemm(0, 0, 1.0f, ones_t, dy_steps, 0.0f, sum));
    }
    SPK_TRY(spk_gemm(1, 0, 1.0f, dy, x, 0.0f, dw));
    if (db) {
        SPK_TRY(spk_tensor_view(db, 0, 2, (size_t[2]){db->numel, 1}, &col));
        SPK_TRY(spk_gemm(1, 0, 1.0f, dy, ones, 0.0f, col));
    }
fail:
    spk_tensor_free(col), spk_tensor_free(sum);
    return st;
}

static spk_status gemm(int trans_a, int trans_b, float alpha, const spk_tensor *a, const spk_tensor *b, float beta,
                       spk_tensor *c, const spk__gemm_extras *ex)
{
    spk_status st = SPK_OK;
    spk_context *ctx = c ? c->ctx : a ? a->ctx : b ? b->ctx : NULL;
    char sa[96], sb[96], sc[96];
    (void)ex; /* read by the host backend only */
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
        SPK_TRY(spk__host_gemm(ctx, trans_a, trans_b, m, n, k, alpha, a, b, beta, c, ex));
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
