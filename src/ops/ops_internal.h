/* Shared by the host side of every kernel. */
#ifndef SPK_OPS_INTERNAL_H
#define SPK_OPS_INTERNAL_H
#include "tensor/tensor_internal.h"

/* A tensor as kernel arguments: buffer, element offset, and whether it was
 * given. Absent tensors pass a valid stand-in buffer that the kernel never
 * touches (some drivers mishandle NULL buffer arguments). */
typedef struct spk__buf {
    cl_mem mem;
    cl_ulong offset;
    cl_int present;
} spk__buf;

static inline spk__buf spk__buf_of(const spk_tensor *t)
{
    return (spk__buf){t->buf, (cl_ulong)t->offset, 1};
}

static inline spk__buf spk__buf_or(const spk_tensor *t, const spk_tensor *stand_in)
{
    return t ? spk__buf_of(t) : (spk__buf){stand_in->buf, 0, 0};
}

/* A bit-packed spike tensor (U8 bytes that kernels read as uint words):
 * its offset in words, whole by spk__check_spike_bits. */
static inline spk__buf spk__buf_words(const spk_tensor *t)
{
    spk__buf b = spk__buf_of(t);
    b.offset /= 4;
    return b;
}

/* Buffer and offset, as two kernel arguments. */
#define SPK_BUF(b) SPK_ARG((b).mem), SPK_ARG((b).offset)

/* 1 on CPU devices: kernels with a time loop synchronise each step
 * (common.clh), neuron kernels run tiles of SIMD vectors. 0 on GPUs, and on
 * a CPU device with the development switch SPIKECL_GPU_LAYOUT, under which
 * the tests run the GPU variants of the kernels too. */
static inline int spk__step_sync(const spk_context *ctx)
{
    return ctx->info.is_cpu && !ctx->gpu_layout;
}

/* Check that `input` (named io.input in messages from `fn`) is an F32
 * sequence [T, B, N] within the kernels' index range, and that the
 * optional state_in and state_out are F32 [nstate, B, N] and distinct;
 * seq receives {T, B, N} and state {nstate, B, N}. */
spk_status spk__check_neuron_input(spk_context *ctx, const char *fn, const spk_tensor *input,
                                   const spk_tensor *state_in, const spk_tensor *state_out, size_t nstate,
                                   size_t seq[3], size_t state[3]);

/* The device's native float vector width as a power of two up to 16 (8
 * with AVX2; wider vectors split and change the ABI) on CPU devices; 1
 * elsewhere, where neighbouring work items read neighbouring words. */
static inline int spk__native_vector_width(const spk_context *ctx)
{
    int w = 1;
    while (spk__step_sync(ctx) && w < 16 && (cl_uint)w * 2 <= ctx->native_float_width)
        w *= 2;
    return w;
}

/* Elements per work item (VW, kernels/neuron.clh) of an elementwise kernel
 * over rows of n: the native width, halved until it divides n. */
static inline int spk__vector_width(const spk_context *ctx, size_t n)
{
    int w = spk__native_vector_width(ctx);
    while (w > 1 && n % (size_t)w)
        w /= 2;
    return w;
}

/* Tiled neuron kernels (kernels/neuron.clh, TILE_INDEX): the most vectors a
 * work item runs through each step (CHUNK_MAX); 1 on GPUs. 64 vectors of 8
 * floats make a 2 KiB run per tensor and step, and the state of the tile
 * (up to 8 vectors each in the backward pass) stays within L1. */
static inline int spk__tile_max(const spk_context *ctx)
{
    return spk__step_sync(ctx) ? 64 : 1;
}

/* A tiled launch over `vecs` vectors: how many per work item (at least 4
 * items per compute unit, so the device's threads share the work), the
 * work items, and the work-group size (1 on CPU devices: each item is a
 * whole tile; 64 elsewhere). */
typedef struct spk__tiling {
    int chunk;
    size_t items, local;
} spk__tiling;

static inline spk__tiling spk__tiling_for(const spk_context *ctx, size_t vecs)
{
    size_t per = vecs / (4 * (size_t)(ctx->info.compute_units ? ctx->info.compute_units : 1));
    size_t chunk = per < 1 ? 1 : per > (size_t)spk__tile_max(ctx) ? (size_t)spk__tile_max(ctx) : per;
    return (spk__tiling){(int)chunk, (vecs + chunk - 1) / chunk, spk__step_sync(ctx) ? 1 : 64};
}

/* Whether a tiled kernel (CHUNK_MAX > 1) that touches `bytes` of memory,
 * its outputs `outs` (NULL entries: absent) included, should write those
 * outputs with streaming (non-temporal) stores, which skip the read of each
 * line before it is written. Only on CPU devices, when every output starts
 * on a whole vector of vw elements (the stores need aligned addresses) and
 * the data exceed half the last-level cache (already at 26-33 MB of a
 * 32 MiB L3 the outputs pushed the inputs out: plain stores ran up to 1.4x
 * slower there); then, by measurement (bench_lif_bandwidth,
 * bench/RESULTS.md), when there is one output, or when the inputs alone
 * fit in the cache (the streamed outputs leave them there). Several output
 * streams with every input coming from memory ran 1.2-1.4x faster with
 * plain stores whose lines the kernel prefetched (VPREFETCHW) than with
 * streaming ones. */
static inline int spk__streaming(const spk_context *ctx, size_t bytes, const spk_tensor *const *outs, size_t n_outs,
                                 int vw)
{
    size_t out_bytes = 0, n_streams = 0;
    for (size_t i = 0; i < n_outs; i++) {
        if (!outs[i])
            continue;
        if (outs[i]->offset % (size_t)vw)
            return 0;
        out_bytes += spk_tensor_bytes(outs[i]);
        n_streams++;
    }
    const size_t cache = ctx->cache_bytes, in_bytes = bytes > out_bytes ? bytes - out_bytes : 0;
    return spk__tile_max(ctx) > 1 && cache > 0 && bytes > cache / 2 && (n_streams <= 1 || in_bytes <= cache);
}

/* spk__streaming for a launch that touches the sequence tensors `seqs`
 * (NULL entries: absent), its outputs `outs` among them. */
static inline int spk__streaming_seqs(const spk_context *ctx, const spk_tensor *const *seqs, size_t n_seqs,
                                      const spk_tensor *const *outs, size_t n_outs, int vw)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n_seqs; i++)
        bytes += seqs[i] ? spk_tensor_bytes(seqs[i]) : 0;
    return spk__streaming(ctx, bytes, outs, n_outs, vw);
}

int spk__lif_is_cuba(spk_neuron_kind k);
int spk__lif_is_spiking(spk_neuron_kind k);
/* The program spk_lif_forward will build for a layer of B x N neurons with
 * these parameters, bit-packed spikes (bits) or F32, and a coefficient
 * table (has_coef) or none, is expected (cl/program_bundle.h). */
void spk__lif_expect(spk_context *ctx, const spk_lif_params *p, int bits, size_t B, size_t N, int has_coef);

/* The program spk_model_forward will build for a layer of N neurons with
 * F32 spikes is expected (cl/program_bundle.h). */
void spk__model_expect(spk_context *ctx, const spk_model_params *p, size_t N);

/* Build each program's default variant (spk_context_warmup). */
spk_status spk__lif_warmup(spk_context *ctx);
spk_status spk__encode_warmup(spk_context *ctx);
spk_status spk__optim_warmup(spk_context *ctx);
spk_status spk__conv_warmup(spk_context *ctx);    /* src/nn/conv2d.c */
spk_status spk__pool_warmup(spk_context *ctx);    /* src/nn/pool.c */
spk_status spk__dropout_warmup(spk_context *ctx); /* src/nn/dropout.c */
#endif
