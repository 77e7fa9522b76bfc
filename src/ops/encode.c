/* Host side of kernels/encode.cl. */
#include <math.h>
#include <stdio.h>

#include "ops/ops_internal.h"
#include "ops/spikes_internal.h"

static const char *spike_options(const spk_context *ctx, spk_dtype d)
{
    if (spk__step_sync(ctx))
        return d == SPK_U8 ? "-DSPIKE_T=uchar -DSTEP_SYNC=1" : "-DSPIKE_T=float -DSTEP_SYNC=1";
    return d == SPK_U8 ? "-DSPIKE_T=uchar" : "-DSPIKE_T=float";
}

/* Build options of a tiled encoder (encode_direct, encode_poisson_tiled):
 * `base` with vectors of vw inputs and the device's tile size. */
static void tiled_options(const spk_context *ctx, const char *base, int vw, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s -DVW=%d -DCHUNK_MAX=%d", base, vw, spk__tile_max(ctx));
}

/* The Poisson and latency variant, and direct encoding at the device's
 * native width (any input whose size it divides). */
spk_status spk__encode_warmup(spk_context *ctx)
{
    spk_status st = SPK_OK;
    cl_program prog;
    char opts[128];
    SPK_TRY(spk__program_get(ctx, "encode.cl", spike_options(ctx, SPK_F32), &prog));
    tiled_options(ctx, spike_options(ctx, SPK_F32), spk__native_vector_width(ctx), opts, sizeof opts);
    SPK_TRY(spk__program_get(ctx, "encode.cl", opts, &prog));
fail:
    return st;
}

/* Checks shared by the encoders: out is [T] followed by the input's shape. */
static spk_status check_encode(spk_context *ctx, const char *fn, const spk_tensor *in, float gain,
                               const spk_tensor *out)
{
    spk_status st = SPK_OK;
    char got[96];
    SPK_CHECK(ctx, ctx && in && out, SPK_ERR_NULL_POINTER, "%s: ctx, input or output is NULL", fn);
    SPK_CHECK(ctx, in->ctx == ctx && out->ctx == ctx, SPK_ERR_CONTEXT, "%s: tensors belong to another context", fn);
    SPK_CHECK(ctx, in->dtype == SPK_F32, SPK_ERR_DTYPE, "%s: the input must be f32", fn);
    SPK_CHECK(ctx, gain >= 0.0f && isfinite(gain), SPK_ERR_INVALID_ARGUMENT,
              "%s: gain must be finite and >= 0 (got %g)", fn, (double)gain);
    int same = out->ndim == in->ndim + 1;
    for (int i = 0; same && i < in->ndim; i++)
        same = out->shape[i + 1] == in->shape[i];
    SPK_CHECK(ctx, same, SPK_ERR_SHAPE, "%s: output %s must be [T] followed by the input shape", fn,
              spk__shape_str(out, got, sizeof got));
    SPK_CHECK(ctx, in->numel <= 0xffffffffu && out->shape[0] <= 0x7fffffff, SPK_ERR_SHAPE,
              "%s: too many elements for the 32-bit counter", fn);
fail:
    return st;
}

/* The Poisson kernel into `out` (its offset in words when bits), rows of n
 * inputs. On CPU devices, when a vector of 2 or more inputs divides n, the
 * tiled kernel (encode_poisson_tiled: no per-step barrier, Philox on a
 * vector of counters); else one work item per input. */
static spk_status poisson(spk_context *ctx, const spk_tensor *intensity, float gain, uint64_t stream,
                          const spk_tensor *out, const char *options, size_t T, size_t n, int bits)
{
    spk_status st = SPK_OK;
    cl_kernel k;
    const int vw = spk__vector_width(ctx, n);
    const int tiled = spk__tile_max(ctx) > 1 && vw > 1;
    char opts[160];
    tiled_options(ctx, options, vw, opts, sizeof opts);
    SPK_TRY(spk__kernel_get(ctx, "encode.cl", tiled ? opts : options, tiled ? "encode_poisson_tiled" : "encode_poisson",
                            &k));
    cl_int cT = (cl_int)T;
    cl_uint F = (cl_uint)intensity->numel, cn = (cl_uint)n;
    cl_uint seed_lo = (cl_uint)ctx->seed, seed_hi = (cl_uint)(ctx->seed >> 32);
    cl_uint stream_lo = (cl_uint)stream, stream_hi = (cl_uint)(stream >> 32);
    spk__buf in = spk__buf_of(intensity), o = bits ? spk__buf_words(out) : spk__buf_of(out);
    if (tiled) {
        spk__tiling tiles = spk__tiling_for(ctx, F / (size_t)vw);
        SPK_TRY(SPK_SET_ARGS(ctx, k, SPK_ARG(cT), SPK_ARG(F), SPK_ARG(cn), SPK_ARG(tiles.chunk), SPK_BUF(in),
                             SPK_ARG(gain), SPK_ARG(seed_lo), SPK_ARG(seed_hi), SPK_ARG(stream_lo), SPK_ARG(stream_hi),
                             SPK_BUF(o)));
        SPK_TRY(spk__launch_1d_groups(ctx, k, tiles.items, tiles.local));
    } else {
        SPK_TRY(SPK_SET_ARGS(ctx, k, SPK_ARG(cT), SPK_ARG(F), SPK_ARG(cn), SPK_BUF(in), SPK_ARG(gain),
                             SPK_ARG(seed_lo), SPK_ARG(seed_hi), SPK_ARG(stream_lo), SPK_ARG(stream_hi), SPK_BUF(o)));
        SPK_TRY(spk__launch_1d(ctx, k, F));
    }
fail:
    return st;
}

spk_status spk_encode_poisson(spk_context *ctx, const spk_tensor *intensity, float gain, uint64_t stream,
                              spk_tensor *spikes)
{
    spk_status st = SPK_OK;
    SPK_TRY(check_encode(ctx, "spk_encode_poisson", intensity, gain, spikes));
    SPK_TRY(poisson(ctx, intensity, gain, stream, spikes, spike_options(ctx, spikes->dtype), spikes->shape[0],
                    intensity->numel, 0));
fail:
    return st;
}

spk_status spk_encode_poisson_bits(spk_context *ctx, const spk_tensor *intensity, float gain, uint64_t stream,
                                   spk_tensor *bits)
{
    spk_status st = SPK_OK;
    char got[96];
    SPK_CHECK(ctx, ctx && intensity && bits, SPK_ERR_NULL_POINTER,
              "spk_encode_poisson_bits: ctx, intensity or bits is NULL");
    SPK_CHECK(ctx, intensity->ctx == ctx && intensity->dtype == SPK_F32 && intensity->ndim >= 2, SPK_ERR_SHAPE,
              "spk_encode_poisson_bits: intensity %s must be f32 [B, F...] of this context",
              spk__shape_str(intensity, got, sizeof got));
    SPK_CHECK(ctx, gain >= 0.0f && isfinite(gain), SPK_ERR_INVALID_ARGUMENT,
              "spk_encode_poisson_bits: gain must be finite and >= 0 (got %g)", (double)gain);
    size_t B = intensity->shape[0], n = intensity->numel / B, T = bits->ndim == 3 ? bits->shape[0] : 0;
    SPK_CHECK(ctx, bits->ndim == 3 && bits->shape[1] == B && T > 0 && T <= 0x7fffffff &&
                       intensity->numel <= 0xffffffffu, SPK_ERR_SHAPE,
              "spk_encode_poisson_bits: bits %s must be u8 [T, B=%zu, %zu]", spk__shape_str(bits, got, sizeof got), B,
              spk_spike_row_bytes(n));
    SPK_TRY(spk__check_spike_bits(ctx, bits, "spk_encode_poisson_bits: bits", T * B, n));
    SPK_TRY(spk_tensor_fill_u8(bits, 0)); /* the kernel sets the bits of the spikes only */
    char options[96];
    snprintf(options, sizeof options, "-DSPIKE_T=uint -DSPIKE_BITS=1 -DSTEP_SYNC=%d", spk__step_sync(ctx));
    SPK_TRY(poisson(ctx, intensity, gain, stream, bits, options, T, n, 1));
fail:
    return st;
}

spk_status spk_encode_direct(spk_context *ctx, const spk_tensor *x, float gain, spk_tensor *out)
{
    spk_status st = SPK_OK;
    cl_kernel k;
    SPK_TRY(check_encode(ctx, "spk_encode_direct", x, gain, out));
    SPK_CHECK(ctx, out->dtype == SPK_F32, SPK_ERR_DTYPE, "spk_encode_direct: the output must be f32");
    int vw = spk__vector_width(ctx, x->numel);
    spk__tiling tiles = spk__tiling_for(ctx, x->numel / (size_t)vw);
    char opts[128];
    tiled_options(ctx, spike_options(ctx, SPK_F32), vw, opts, sizeof opts);
    SPK_TRY(spk__kernel_get(ctx, "encode.cl", opts, "encode_direct", &k));
    cl_int T = (cl_int)out->shape[0];
    cl_uint F = (cl_uint)x->numel;
    spk__buf in = spk__buf_of(x), o = spk__buf_of(out);
    const spk_tensor *outs[] = {out};
    cl_int stream = spk__streaming(ctx, spk_tensor_bytes(out), outs, 1, vw);
    SPK_TRY(SPK_SET_ARGS(ctx, k, SPK_ARG(T), SPK_ARG(F), SPK_ARG(tiles.chunk), SPK_ARG(stream), SPK_BUF(in), SPK_ARG(gain),
                          SPK_BUF(o)));
    SPK_TRY(spk__launch_1d_groups(ctx, k, tiles.items, tiles.local));
fail:
    return st;
}

spk_status spk_encode_latency(spk_context *ctx, const spk_tensor *x, float gain, spk_tensor *spikes)
{
    spk_status st = SPK_OK;
    cl_kernel k;
    SPK_TRY(check_encode(ctx, "spk_encode_latency", x, gain, spikes));
    SPK_TRY(spk__kernel_get(ctx, "encode.cl", spike_options(ctx, spikes->dtype), "encode_latency", &k));
    cl_int T = (cl_int)spikes->shape[0];
    cl_uint F = (cl_uint)x->numel;
    spk__buf in = spk__buf_of(x), out = spk__buf_of(spikes);
    SPK_TRY(SPK_SET_ARGS(ctx, k, SPK_ARG(T), SPK_ARG(F), SPK_BUF(in), SPK_ARG(gain), SPK_BUF(out)));
    SPK_TRY(spk__launch_1d(ctx, k, F));
fail:
    return st;
}
