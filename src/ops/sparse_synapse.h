/* Event-driven synaptic propagation for binary input spikes (host side of
 * kernels/sparse_synapse.cl), used by the dense layer (src/nn/dense.c). */
#ifndef SPK_SPARSE_SYNAPSE_H
#define SPK_SPARSE_SYNAPSE_H
#include "ops/ops_internal.h"

/* Scratch of one layer, made on first use for its shape: the per-row lists
 * of active inputs of the last compaction, W^T, the per-segment weight
 * gradients. The lists start at off[r] in idx, packed tight (4 bytes per
 * spike); float input is packed to bits first (`bits`). idx and crow grow
 * to the lists' size; they, wt, part and cstart are made when the layer
 * first gathers and released by spk__sparse_drop_scratch. */
typedef struct spk__sparse {
    spk_context *ctx; /* of the buffers, NULL before the first */
    size_t rows, in, out;
    cl_mem count; /* [rows] int */
    cl_mem off;   /* [rows] ulong: where each row's list starts in idx */
    cl_mem idx;   /* [cap] int: the lists */
    size_t cap;   /* ints that idx and crow hold */
    size_t crow_cap;
    cl_mem stats; /* [2] int: nonzeros, non-binary flag */
    cl_mem wt;    /* [in, ld] float: W^T, rows padded to whole chunks */
    cl_mem part;  /* [segs, in + 1, pld] float: partial dW^T and db */
    size_t pld;   /* part's row length: out, or out padded to whole vectors for the rows kernel */
    cl_mem cstart; /* [tiles, in + 1] int: the lists of each tile of rows by input */
    cl_mem crow;   /* [cap] int: their rows, laid out as idx (made by the weight gradient) */
    cl_mem bits;   /* [bits_cap] uint: float input packed (spk__sparse_compact) */
    size_t bits_cap;
    size_t tiles;
    size_t segs;  /* runs of tiles of the weight gradient */
    size_t cw;    /* outputs per weight-gradient work item */
    size_t nnz;   /* nonzero inputs of the last compaction */
    int binary;   /* 1: its inputs were all 0 or 1 */
    int listed;   /* 1: and its lists were made (no denser than asked) */
} spk__sparse;

void spk__sparse_release(spk__sparse *s);

/* nnz / (rows * in) of the last compaction. */
static inline float spk__sparse_density(const spk__sparse *s)
{
    return (float)((double)s->nnz / ((double)s->rows * (double)s->in));
}
/* The program of a layer with `out` outputs is expected (cl/program_bundle.h). */
void spk__sparse_expect(spk_context *ctx, size_t out);
/* Release all but the counts (idx, crow, wt, part, cstart): a layer that
 * takes the GEMM holds no gather scratch; the next gather makes it again. */
void spk__sparse_drop_scratch(spk__sparse *s);

/* Lists of the nonzero inputs of each row of x [rows, in] (a view); reads
 * back nnz and binary (waits for the queue). out sizes the later calls.
 * The lists are made (listed = 1) only when x is binary and its density
 * nnz / (rows * in) is at most max_density: denser input takes the GEMM,
 * which needs none. */
spk_status spk__sparse_compact(spk_context *ctx, spk__sparse *s, const spk_tensor *x, size_t out,
                               float max_density);

/* The same lists from bit-packed spikes (include/spikecl/spikes.h) of rows
 * x in: a U8 tensor of rows packed rows; binary by construction. */
spk_status spk__sparse_compact_bits(spk_context *ctx, spk__sparse *s, const spk_tensor *bits, size_t rows, size_t in,
                                   size_t out, float max_density);

/* y [rows, out] = b + the sum of the columns of w [out, in] of each row's
 * active inputs (b may be NULL); valid after a compaction of binary input. */
spk_status spk__sparse_forward(spk_context *ctx, spk__sparse *s, const spk_tensor *w, const spk_tensor *b,
                               spk_tensor *y);

/* dw [out, in] = dy^T x for the compacted x and, when db is given,
 * db [out] = dy^T 1, from dy [rows, out]: one pass over dy. */
spk_status spk__sparse_weight_grad(spk_context *ctx, spk__sparse *s, const spk_tensor *dy, spk_tensor *dw,
                                   spk_tensor *db);

/* A gather layer's input gradient dx [rows, in] = dy [rows, out] w [out, in]
 * for out <= SPK_SPARSE_SMALL_OUT (a readout's classes), in the program of
 * the gather: a GEMM with so small a K runs memory-bound on the host BLAS. */
#define SPK_SPARSE_SMALL_OUT 16
spk_status spk__sparse_input_grad(spk_context *ctx, const spk_tensor *dy, const spk_tensor *w, spk_tensor *dx);
#endif
