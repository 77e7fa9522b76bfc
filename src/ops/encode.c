/* Host side of kernels/encode.cl. */
#include <math.h>

#include "ops/ops_internal.h"

static const char *spike_options(spk_dtype d)
{
    return d == SPK_U8 ? "-DSPIKE_T=uchar" : "-DSPIKE_T=float";
}

spk_status spk__encode_warmup(spk_context *ctx)
{
    cl_program prog;
    return spk__program_get(ctx, "encode.cl", spike_options(SPK_F32), &prog);
}

spk_status spk_encode_poisson(spk_context *ctx, const spk_tensor *intensity, float gain, uint64_t stream,
                              spk_tensor *spikes)
{
    spk_status st = SPK_OK;
    cl_kernel k;
    char got[96];
    SPK_CHECK(ctx, ctx && intensity && spikes, SPK_ERR_NULL_POINTER,
              "spk_encode_poisson: ctx, intensity or spikes is NULL");
    SPK_CHECK(ctx, intensity->ctx == ctx && spikes->ctx == ctx, SPK_ERR_CONTEXT,
              "spk_encode_poisson: tensors belong to another context");
    SPK_CHECK(ctx, intensity->dtype == SPK_F32, SPK_ERR_DTYPE, "spk_encode_poisson: intensity must be f32");
    SPK_CHECK(ctx, gain >= 0.0f && isfinite(gain), SPK_ERR_INVALID_ARGUMENT,
              "spk_encode_poisson: gain must be finite and >= 0 (got %g)", (double)gain);
    int same = spikes->ndim == intensity->ndim + 1;
    for (int i = 0; same && i < intensity->ndim; i++)
        same = spikes->shape[i + 1] == intensity->shape[i];
    SPK_CHECK(ctx, same, SPK_ERR_SHAPE, "spk_encode_poisson: spikes %s must be [T] followed by the intensity shape",
              spk__shape_str(spikes, got, sizeof got));
    SPK_CHECK(ctx, intensity->numel <= 0xffffffffu && spikes->shape[0] <= 0x7fffffff, SPK_ERR_SHAPE,
              "spk_encode_poisson: too many elements for the 32-bit counter");
    SPK_TRY(spk__kernel_get(ctx, "encode.cl", spike_options(spikes->dtype), "encode_poisson", &k));
    cl_int T = (cl_int)spikes->shape[0];
    cl_uint F = (cl_uint)intensity->numel;
    cl_uint seed_lo = (cl_uint)ctx->seed, seed_hi = (cl_uint)(ctx->seed >> 32);
    cl_uint stream_lo = (cl_uint)stream, stream_hi = (cl_uint)(stream >> 32);
    spk__buf in = spk__buf_of(intensity), out = spk__buf_of(spikes);
    SPK_TRY(SPK_SET_ARGS(ctx, k, SPK_ARG(T), SPK_ARG(F), SPK_BUF(in), SPK_ARG(gain), SPK_ARG(seed_lo),
                         SPK_ARG(seed_hi), SPK_ARG(stream_lo), SPK_ARG(stream_hi), SPK_BUF(out)));
    SPK_TRY(spk__launch_1d(ctx, k, F));
fail:
    return st;
}
