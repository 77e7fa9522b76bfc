/* Host side of kernels/sparse_synapse.cl: scratch buffers, the program
 * variant and the launches of event-driven synaptic propagation. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "ops/sparse_synapse.h"

/* Rows per weight-gradient tile (the lists are turned by input per tile);
 * vectors per work item on CPU devices. */
enum { TILE_ROWS = 256, NV_CPU = 4 };

/* The CPU layout (vectors along outputs, whole rows per item) on CPU
 * devices; the GPU layout elsewhere, or anywhere with the development
 * switches SPIKECL_GPU_LAYOUT (every kernel, spk__step_sync) or
 * SPIKECL_SPARSE_GPU_LAYOUT (these only) set, so the tests cover it on a CPU. */
static int cpu_layout(const spk_context *ctx)
{
    return spk__step_sync(ctx) && !getenv("SPIKECL_SPARSE_GPU_LAYOUT");
}

typedef struct sparse_variant {
    int vw, nv;     /* outputs per vector, vectors per work item */
    size_t rb;      /* rows per forward work item */
    char options[64];
} sparse_variant;

static size_t chunks(const sparse_variant *v, size_t out)
{
    size_t ch = (size_t)v->vw * (size_t)v->nv;
    return (out + ch - 1) / ch;
}

/* The row length of W^T as the forward gathers it: out rounded up to whole
 * chunks of vw * nv outputs (zeros past out), so that the last chunk, too,
 * is summed in vectors. */
static size_t wt_ld(const sparse_variant *v, size_t out)
{
    return chunks(v, out) * (size_t)v->vw * (size_t)v->nv;
}

/* CPU devices: native float vectors (8 with AVX), NV_CPU at a time, so each
 * gathered row of W^T is read 32 contiguous floats at a time, and two for
 * a narrower layer (a readout of up to 16 classes in one pass over a row's
 * list; only two widths, so that the gathers of a network share a program
 * as far as they can: src/cl/program_bundle.c); a forward item computes 16
 * whole rows of y (faster than items per chunk of outputs: contiguous
 * writes, each list read while in cache). GPUs: one output and 4 rows per
 * item, neighbouring items reading neighbouring words. */
static sparse_variant variant(const spk_context *ctx, size_t out)
{
    sparse_variant v = {1, 1, 4, ""};
    if (cpu_layout(ctx)) {
        v.vw = spk__native_vector_width(ctx);
        v.nv = out >= (size_t)v.vw * NV_CPU ? NV_CPU : 2;
        v.rb = 16;
    }
    snprintf(v.options, sizeof v.options, "-DVW=%d -DNV=%d -DROWS_DIM=%d", v.vw, v.nv, !cpu_layout(ctx));
    return v;
}

void spk__sparse_expect(spk_context *ctx, size_t out)
{
    spk__program_expect(ctx, "sparse_synapse.cl", variant(ctx, out).options);
}

void spk__sparse_release(spk__sparse *s)
{
    cl_mem *m[] = {&s->count, &s->off, &s->idx, &s->stats, &s->wt, &s->part, &s->cstart, &s->crow, &s->bits};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (*m[i])
            spk__mem_release(s->ctx, *m[i]);
    *s = (spk__sparse){0};
}

void spk__sparse_drop_scratch(spk__sparse *s)
{
    cl_mem *m[] = {&s->idx, &s->crow, &s->wt, &s->part, &s->cstart};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (*m[i])
            spk__mem_release(s->ctx, *m[i]);
    s->idx = s->crow = s->wt = s->part = s->cstart = NULL;
    s->cap = s->crow_cap = 0;
}

static spk_status alloc(spk_context *ctx, size_t bytes, cl_mem *out)
{
    spk_status st = SPK_OK;
    cl_int err = CL_SUCCESS;
    *out = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
    CL_TRY(ctx, err);
    spk__mem_made(ctx, bytes);
fail:
    return st;
}

/* Outputs per weight-gradient item: all of them on CPU devices (each item
 * then reads whole rows of dY: splitting the outputs between items made
 * each read a strided slice of every row, 2-15x slower, bench/RESULTS.md);
 * one output on GPUs. */
static size_t grad_chunk(const spk_context *ctx, size_t out)
{
    return cpu_layout(ctx) ? out : 1;
}

/* Weight-gradient segments (runs of tiles): enough work items to fill the
 * device, each keeping a [in + 1, out] partial. */
static size_t segments(const spk_context *ctx, size_t n_chunks, size_t tiles, size_t in, size_t out)
{
    size_t cu = ctx->info.compute_units ? ctx->info.compute_units : 1;
    size_t target = cpu_layout(ctx) ? 2 * cu : 64 * cu;
    size_t segs = (target + n_chunks - 1) / n_chunks;
    if (segs > tiles)
        segs = tiles;
    while (segs > 1 && segs * (in + 1) * out * sizeof(float) > ctx->info.max_alloc_bytes / 2)
        segs /= 2;
    return segs ? segs : 1;
}

enum { ROWS_PARTIAL_MAX = 256 * 1024 };

/* out padded to whole vectors of the CPU kernels. */
static size_t padded_out(const spk_context *ctx, size_t out)
{
    const size_t vw = (size_t)spk__native_vector_width(ctx);
    return (out + vw - 1) / vw * vw;
}

/* Whether the weight gradient takes the rows kernel: CPU devices, where
 * its [in + 1, padded out] partial stays in the core's L2. */
static int grad_by_rows(const spk_context *ctx, size_t in, size_t out)
{
    return cpu_layout(ctx) && (in + 1) * padded_out(ctx, out) * sizeof(float) <= ROWS_PARTIAL_MAX;
}

/* (Re)make the scratch for rows x in -> out. */
static spk_status ensure(spk_context *ctx, spk__sparse *s, size_t rows, size_t in, size_t out)
{
    spk_status st = SPK_OK;
    if (s->count && s->rows == rows && s->in == in && s->out == out)
        return SPK_OK;
    spk__sparse_release(s);
    s->ctx = ctx;
    SPK_CHECK(ctx, rows <= INT_MAX && in <= INT_MAX / 8 && out <= INT_MAX / 8 && in * out <= INT_MAX, SPK_ERR_SHAPE,
              "sparse synapses: [%zu, %zu] -> %zu is too large for the kernels' index range", rows, in, out);
    s->cw = grad_chunk(ctx, out);
    s->tiles = (rows + TILE_ROWS - 1) / TILE_ROWS;
    s->segs = segments(ctx, (out + s->cw - 1) / s->cw, s->tiles, in, out);
    s->pld = grad_by_rows(ctx, in, out) ? padded_out(ctx, out) : out;
    SPK_TRY(alloc(ctx, rows * sizeof(cl_int), &s->count));
    SPK_TRY(alloc(ctx, rows * sizeof(cl_ulong), &s->off));
    SPK_TRY(alloc(ctx, 2 * sizeof(cl_int), &s->stats)); /* the rest when the layer gathers */
    s->rows = rows, s->in = in, s->out = out;
    return SPK_OK;
fail:
    spk__sparse_release(s);
    return st;
}

/* *m holding at least n ints (at least 1), *cap their count: grown, never shrunk. */
static spk_status ensure_ints(spk_context *ctx, cl_mem *m, size_t *cap, size_t n)
{
    n = n ? n : 1;
    if (*m && *cap >= n)
        return SPK_OK;
    if (*m)
        spk__mem_release(ctx, *m);
    *m = NULL;
    *cap = 0;
    spk_status st = alloc(ctx, n * sizeof(cl_int), m);
    if (st == SPK_OK)
        *cap = n;
    return st;
}

/* A 2-D launch of one item per group on CPU devices (every item is a long
 * loop; PoCL spreads groups over its threads), the driver's choice elsewhere. */
static spk_status launch_items(spk_context *ctx, cl_kernel k, size_t g0, size_t g1)
{
    spk_status st = SPK_OK;
    size_t g[2] = {g0, g1};
    if (cpu_layout(ctx))
        return spk__launch_items(ctx, k, 2, g);
    CL_TRY(ctx, clEnqueueNDRangeKernel(ctx->queue, k, 2, NULL, g, NULL, 0, NULL, NULL));
    ctx->launch_stats.kernel_launches++;
fail:
    return st;
}

/* Clear the counters; after the kernels, read back the nonzeros and the flag. */
static spk_status stats_clear(spk_context *ctx, spk__sparse *s)
{
    spk_status st = SPK_OK;
    static const cl_int zero[2] = {0, 0}; /* static: the write is not blocking */
    CL_TRY(ctx, clEnqueueWriteBuffer(ctx->queue, s->stats, CL_FALSE, 0, sizeof zero, zero, 0, NULL, NULL));
fail:
    return st;
}

static spk_status stats_read(spk_context *ctx, spk__sparse *s)
{
    spk_status st = SPK_OK;
    cl_int stats[2];
    CL_TRY(ctx, clEnqueueReadBuffer(ctx->queue, s->stats, CL_TRUE, 0, sizeof stats, stats, 0, NULL, NULL));
    s->nnz = (size_t)(cl_uint)stats[0];
    s->binary = stats[1] == 0;
fail:
    return st;
}

/* With count[] made: the offsets, the read-back of the total and the flag,
 * then (binary input no denser than max_density) the lists from the bits b
 * of rows x in. */
static spk_status lists_from_bits(spk_context *ctx, spk__sparse *s, const sparse_variant *v, const spk__buf *b,
                                  float max_density)
{
    spk_status st = SPK_OK;
    cl_kernel ko, kl;
    SPK_TRY(spk__kernel_get(ctx, "sparse_synapse.cl", v->options, "sparse_offsets", &ko));
    SPK_TRY(spk__kernel_get(ctx, "sparse_synapse.cl", v->options, "sparse_compact_bits", &kl));
    cl_int rows = (cl_int)s->rows, in = (cl_int)s->in;
    SPK_TRY(SPK_SET_ARGS(ctx, ko, SPK_ARG(rows), SPK_ARG(s->count), SPK_ARG(s->off), SPK_ARG(s->stats)));
    SPK_TRY(spk__launch_items(ctx, ko, 1, (size_t[1]){1}));
    s->listed = 0;
    SPK_TRY(stats_read(ctx, s)); /* the count sizes the lists */
    if (!s->binary || spk__sparse_density(s) > max_density)
        return SPK_OK; /* the GEMM takes it */
    SPK_TRY(ensure_ints(ctx, &s->idx, &s->cap, s->nnz));
    SPK_TRY(SPK_SET_ARGS(ctx, kl, SPK_ARG(rows), SPK_ARG(in), SPK_BUF(*b), SPK_ARG(s->count), SPK_ARG(s->off),
                          SPK_ARG(s->idx)));
    SPK_TRY(spk__launch_rows(ctx, kl, cpu_layout(ctx), 0, 0, s->rows));
    s->listed = 1;
fail:
    return st;
}

spk_status spk__sparse_compact(spk_context *ctx, spk__sparse *s, const spk_tensor *x, size_t out,
                               float max_density)
{
    spk_status st = SPK_OK;
    cl_kernel k;
    SPK_TRY(ensure(ctx, s, spk_tensor_dim(x, 0), spk_tensor_dim(x, 1), out));
    SPK_TRY(ensure_ints(ctx, &s->bits, &s->bits_cap, s->rows * ((s->in + 31) / 32)));
    sparse_variant v = variant(ctx, out);
    SPK_TRY(spk__kernel_get(ctx, "sparse_synapse.cl", v.options, "sparse_pack", &k));
    cl_int rows = (cl_int)s->rows, in = (cl_int)s->in;
    spk__buf xb = spk__buf_of(x), bits = {s->bits, 0, 1};
    SPK_TRY(stats_clear(ctx, s));
    SPK_TRY(SPK_SET_ARGS(ctx, k, SPK_ARG(rows), SPK_ARG(in), SPK_BUF(xb), SPK_ARG(s->bits), SPK_ARG(s->count),
                          SPK_ARG(s->stats)));
    SPK_TRY(spk__launch_rows(ctx, k, cpu_layout(ctx), 0, 0, s->rows));
    SPK_TRY(lists_from_bits(ctx, s, &v, &bits, max_density));
fail:
    return st;
}

spk_status spk__sparse_compact_bits(spk_context *ctx, spk__sparse *s, const spk_tensor *bits, size_t rows, size_t in,
                                   size_t out, float max_density)
{
    spk_status st = SPK_OK;
    cl_kernel kc;
    SPK_TRY(ensure(ctx, s, rows, in, out));
    sparse_variant v = variant(ctx, out);
    SPK_TRY(spk__kernel_get(ctx, "sparse_synapse.cl", v.options, "sparse_count_bits", &kc));
    cl_int r = (cl_int)rows, n = (cl_int)in;
    spk__buf b = spk__buf_words(bits);
    SPK_TRY(stats_clear(ctx, s));
    SPK_TRY(SPK_SET_ARGS(ctx, kc, SPK_ARG(r), SPK_ARG(n), SPK_BUF(b), SPK_ARG(s->count)));
    SPK_TRY(spk__launch_rows(ctx, kc, cpu_layout(ctx), 0, 0, rows));
    SPK_TRY(lists_from_bits(ctx, s, &v, &b, max_density));
fail:
    return st;
}

spk_status spk__sparse_forward(spk_context *ctx, spk__sparse *s, const spk_tensor *w, const spk_tensor *b,
                               spk_tensor *y)
{
    spk_status st = SPK_OK;
    cl_kernel kt, kf;
    sparse_variant v = variant(ctx, s->out);
    SPK_TRY(spk__kernel_get(ctx, "sparse_synapse.cl", v.options, "sparse_transpose", &kt));
    SPK_TRY(spk__kernel_get(ctx, "sparse_synapse.cl", v.options, "sparse_forward", &kf));
    cl_int rows = (cl_int)s->rows, in = (cl_int)s->in, out = (cl_int)s->out, rb = (cl_int)v.rb;
    cl_int ld = (cl_int)wt_ld(&v, s->out);
    spk__buf wb = spk__buf_of(w), bb = spk__buf_or(b, w), yb = spk__buf_of(y);
    if (!s->wt)
        SPK_TRY(alloc(ctx, s->in * (size_t)ld * sizeof(float), &s->wt));
    SPK_TRY(SPK_SET_ARGS(ctx, kt, SPK_ARG(in), SPK_ARG(out), SPK_ARG(ld), SPK_BUF(wb), SPK_ARG(s->wt)));
    SPK_TRY(spk__launch_rows(ctx, kt, cpu_layout(ctx), 1, s->out, s->in));
    SPK_TRY(SPK_SET_ARGS(ctx, kf, SPK_ARG(rows), SPK_ARG(in), SPK_ARG(out), SPK_ARG(ld), SPK_ARG(rb), SPK_ARG(s->count),
                          SPK_ARG(s->off), SPK_ARG(s->idx), SPK_ARG(s->wt), SPK_BUF(bb), SPK_ARG(bb.present),
                          SPK_BUF(yb)));
    size_t blocks = (s->rows + v.rb - 1) / v.rb;
    if (cpu_layout(ctx))
        SPK_TRY(launch_items(ctx, kf, blocks, 1));
    else
        SPK_TRY(spk__launch_nd(ctx, kf, 2, (size_t[2]){chunks(&v, s->out), blocks}));
fail:
    return st;
}

/* The segments' partial gradients on CPU devices where one [in + 1, out]
 * partial fits in a core's L2 with room to spare (sparse_weight_grad_rows):
 * no lists turned by input. From bit-packed spikes at p = 0.05, 32768 rows,
 * the backward took 1.9-3.5 ms against 2.4-4.3 with the turned lists at
 * 128 -> 128, and 0.7 against 1.3-1.4 ms at 128 -> 10 (bench/RESULTS.md). */
static spk_status weight_grad_rows(spk_context *ctx, spk__sparse *s, const sparse_variant *v, const spk__buf *dyb)
{
    spk_status st = SPK_OK;
    cl_kernel k;
    SPK_TRY(spk__kernel_get(ctx, "sparse_synapse.cl", v->options, "sparse_weight_grad_rows", &k));
    cl_int rows = (cl_int)s->rows, in = (cl_int)s->in, out = (cl_int)s->out;
    cl_int rps = (cl_int)((s->rows + s->segs - 1) / s->segs), pld = (cl_int)s->pld;
    SPK_TRY(SPK_SET_ARGS(ctx, k, SPK_ARG(rows), SPK_ARG(in), SPK_ARG(out), SPK_ARG(pld), SPK_ARG(rps), SPK_ARG(s->count),
                          SPK_ARG(s->off), SPK_ARG(s->idx), SPK_BUF(*dyb), SPK_ARG(s->part)));
    SPK_TRY(launch_items(ctx, k, s->segs, 1));
fail:
    return st;
}

spk_status spk__sparse_weight_grad(spk_context *ctx, spk__sparse *s, const spk_tensor *dy, spk_tensor *dw,
                                   spk_tensor *db)
{
    spk_status st = SPK_OK;
    cl_kernel kc, kg, kr;
    sparse_variant v = variant(ctx, s->out);
    SPK_TRY(spk__kernel_get(ctx, "sparse_synapse.cl", v.options, "sparse_reduce_grad", &kr));
    cl_int rows = (cl_int)s->rows, in = (cl_int)s->in, out = (cl_int)s->out, segs = (cl_int)s->segs;
    cl_int R = TILE_ROWS, per_seg = (cl_int)((s->tiles + s->segs - 1) / s->segs), cw = (cl_int)s->cw;
    cl_int pld = (cl_int)s->pld;
    spk__buf dyb = spk__buf_of(dy), dwb = spk__buf_of(dw), dbb = spk__buf_or(db, dw);
    if (!s->part)
        SPK_TRY(alloc(ctx, s->segs * (s->in + 1) * s->pld * sizeof(float), &s->part));
    if (grad_by_rows(ctx, s->in, s->out)) {
        SPK_TRY(weight_grad_rows(ctx, s, &v, &dyb));
    } else {
        SPK_TRY(spk__kernel_get(ctx, "sparse_synapse.cl", v.options, "sparse_columns", &kc));
        SPK_TRY(spk__kernel_get(ctx, "sparse_synapse.cl", v.options, "sparse_weight_grad", &kg));
        SPK_TRY(ensure_ints(ctx, &s->crow, &s->crow_cap, s->cap)); /* the layout of idx */
        if (!s->cstart)
            SPK_TRY(alloc(ctx, s->tiles * (s->in + 1) * sizeof(cl_int), &s->cstart));
        SPK_TRY(SPK_SET_ARGS(ctx, kc, SPK_ARG(rows), SPK_ARG(in), SPK_ARG(R), SPK_ARG(s->count), SPK_ARG(s->off),
                              SPK_ARG(s->idx), SPK_ARG(s->cstart), SPK_ARG(s->crow)));
        SPK_TRY(launch_items(ctx, kc, s->tiles, 1));
        SPK_TRY(SPK_SET_ARGS(ctx, kg, SPK_ARG(rows), SPK_ARG(in), SPK_ARG(out), SPK_ARG(R), SPK_ARG(per_seg),
                              SPK_ARG(cw), SPK_ARG(s->off), SPK_ARG(s->cstart), SPK_ARG(s->crow), SPK_BUF(dyb),
                              SPK_ARG(s->part)));
        SPK_TRY(launch_items(ctx, kg, (s->out + s->cw - 1) / s->cw, s->segs));
    }
    SPK_TRY(SPK_SET_ARGS(ctx, kr, SPK_ARG(in), SPK_ARG(out), SPK_ARG(pld), SPK_ARG(segs), SPK_ARG(s->part), SPK_BUF(dwb),
                          SPK_BUF(dbb), SPK_ARG(dbb.present)));
    SPK_TRY(spk__launch_rows(ctx, kr, cpu_layout(ctx), 1, s->out, s->in + 1));
fail:
    return st;
}

spk_status spk__sparse_input_grad(spk_context *ctx, const spk_tensor *dy, const spk_tensor *w, spk_tensor *dx)
{
    spk_status st = SPK_OK;
    cl_kernel k;
    const size_t rows = dx->shape[0], in = dx->shape[1], out = dy->shape[1];
    SPK_CHECK(ctx, out <= SPK_SPARSE_SMALL_OUT && w->shape[0] == out && w->shape[1] == in && dy->shape[0] == rows,
              SPK_ERR_SHAPE, "spk__sparse_input_grad: dy [%zu, %zu], w [%zu, %zu], dx [%zu, %zu]", dy->shape[0], out,
              w->shape[0], w->shape[1], rows, in);
    sparse_variant v = variant(ctx, out);
    SPK_TRY(spk__kernel_get(ctx, "sparse_synapse.cl", v.options, "sparse_input_grad", &k));
    cl_int r = (cl_int)rows, n = (cl_int)in, o = (cl_int)out, rb = (cl_int)v.rb;
    spk__buf dyb = spk__buf_of(dy), wb = spk__buf_of(w), dxb = spk__buf_of(dx);
    SPK_TRY(SPK_SET_ARGS(ctx, k, SPK_ARG(r), SPK_ARG(n), SPK_ARG(o), SPK_ARG(rb), SPK_BUF(dyb), SPK_BUF(wb),
                          SPK_BUF(dxb)));
    const size_t blocks = (rows + v.rb - 1) / v.rb;
    if (cpu_layout(ctx))
        SPK_TRY(launch_items(ctx, k, blocks, 1));
    else
        SPK_TRY(spk__launch_nd(ctx, k, 2, (size_t[2]){in, blocks}));
fail:
    return st;
}
