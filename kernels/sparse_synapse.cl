/* Event-driven synaptic propagation for binary (0/1) input spikes x of
 * [rows, in], rows = T*B: instead of a dense GEMM, gather the weights of the
 * inputs that spiked. src/ops/sparse_synapse.c is the host side,
 * src/ref/sparse_ref.c the plain-C reference.
 *   forward      y[r, :] = b + sum over active j of W^T[j, :]
 *   weight grad  dW^T[j, :] = sum over rows r where x[r, j] = 1 of dY[r, :]
 *                (and the bias gradient, the sum of all rows of dY: the same
 *                pass over dY)
 * Both run one work item per (chunk of outputs, block of rows): on CPU
 * devices the chunk is all outputs (rows of y and dY stream contiguously),
 * on GPUs one output (neighbouring items, neighbouring words). Rows are
 * visited in a fixed order: no atomics on floats, deterministic sums.
 *
 * Defines (set by the host): VW outputs per vector (kernels/neuron.clh), NV
 * vectors per work item. */

#ifndef NV
#define NV 4
#endif
#define CH (VW * NV)

/* The nonzeros of 8 inputs as bits 0..7; *bad gets the lanes that are
 * neither 0 nor 1. */
static inline uint nonzero_bits(float8 v, int8 *bad)
{
    const int8 nz = v != 0.0f;
    *bad |= nz & (v != 1.0f);
    return lanes8(nz);
}

/* Float input x [rows, in] to bit-packed spikes (include/spikecl/spikes.h
 * layout, bits past `in` zero) and count[r], the row's nonzeros: the floats
 * are read once, and the lists are then made from 1/32 of the bytes, packed
 * tight (sparse_offsets, sparse_compact_bits), as from a spiking layer's
 * bits. stats[1] = 1 where some input is neither 0 nor 1: the host then
 * takes the GEMM, and the bits and counts are left incomplete. 32 inputs at
 * a time: their nonzeros as a mask, eight per vector compare. */
kernel void sparse_pack(int rows, int in, global const float *x, spk_off_t x_off, global uint *bits,
                        global int *count, volatile global int *stats)
{
    ITEM_ROWS(rows, 0, r0, r1);
    const int words = (in + 31) / 32;
    /* once one row is not binary, the host takes the GEMM: stop scanning */
    for (int r = r0; r < r1 && !stats[1]; r++) {
        global const float *xr = x + x_off + (spk_off_t)r * in;
        global uint *wr = bits + (spk_off_t)r * words;
        int8 bad8 = 0;
        int k = 0, j = 0, bad = 0;
        for (; j + 32 <= in; j += 32) {
            uint m = 0;
#pragma unroll
            for (int q = 0; q < 4; q++)
                m |= nonzero_bits(vload8(q, xr + j), &bad8) << (8 * q);
            wr[j / 32] = m;
            k += popcount(m);
        }
        if (j < in) { /* the last word: 8 inputs at a time, then one */
            uint m = 0;
            for (; j + 8 <= in; j += 8)
                m |= nonzero_bits(vload8(0, xr + j), &bad8) << (j % 32);
            SCALAR_LOOP
            for (; j < in; j++) {
                const float v = xr[j];
                bad |= v != 0.0f && v != 1.0f;
                m |= (uint)(v != 0.0f) << (j % 32);
            }
            wr[words - 1] = m;
            k += popcount(m);
        }
        count[r] = k;
        if (bad || any(bad8))
            atomic_or(&stats[1], 1);
    }
}

/* Per-row lists of active inputs from bit-packed spikes, packed tight:
 * count[r] by popcount (sparse_count_bits, or sparse_pack from floats),
 * off[r] their running sum (sparse_offsets), then idx[off[r] + 0 ..
 * count[r]) the active inputs, increasing (sparse_compact_bits). Bits past
 * `in` are zero by the format; masked all the same. */
static inline uint row_word(global const uint *wr, int in, int w)
{
    const int left = in - 32 * w;
    return left >= 32 ? wr[w] : wr[w] & ((1u << left) - 1u);
}

kernel void sparse_count_bits(int rows, int in, global const uint *bits, spk_off_t bits_off, global int *count)
{
    ITEM_ROWS(rows, 0, r0, r1);
    const int words = (in + 31) / 32;
    for (int r = r0; r < r1; r++) {
        global const uint *wr = bits + bits_off + (spk_off_t)r * words;
        int k = 0;
        SCALAR_LOOP
        for (int w = 0; w < words; w++)
            k += popcount(row_word(wr, in, w));
        count[r] = k;
    }
}

/* off[r] = count[0] + ... + count[r-1] (lists packed tight) and stats[0]
 * the total: one item, in a group of its own (a few µs per 10^4 rows; an
 * atomic add per row in the compactions instead cost 10x that, every add
 * moving the counter's line between the cores). */
kernel void sparse_offsets(int rows, global const int *count, global spk_off_t *off, global int *stats)
{
    if (get_global_id(0) != 0)
        return;
    spk_off_t s = 0;
    for (int r = 0; r < rows; r++) {
        off[r] = s;
        s += count[r];
    }
    stats[0] = (int)s;
}

/* 64 inputs of a row (words w and w + 1) as one mask. */
static inline ulong row_pair(global const uint *wr, int in, int words, int w)
{
    const ulong lo = row_word(wr, in, w);
    return w + 1 < words ? lo | (ulong)row_word(wr, in, w + 1) << 32 : lo;
}

/* The lists, 64 inputs at a time. Where the mask has at most 8 set bits,
 * 8 indices are stored without a test: past the last set bit they are
 * garbage, which the next stores (this row's, or the next row's) overwrite.
 * A loop over the set bits mispredicted its exit at almost every word
 * (4.3 -> 1.9 ms per launch at 32768 x 700, p = 0.05). Garbage must not
 * reach a list another item writes, or the end of idx: unchecked stores
 * stay 8 short of `end`, the end of this item's last list; the rest go bit
 * by bit. */
kernel void sparse_compact_bits(int rows, int in, global const uint *bits, spk_off_t bits_off,
                                global const int *count, global const spk_off_t *off, global int *idx)
{
    ITEM_ROWS(rows, 0, r0, r1);
    const int words = (in + 31) / 32;
    const spk_off_t end = r0 < r1 ? off[r1 - 1] + (spk_off_t)count[r1 - 1] : 0;
    for (int r = r0; r < r1; r++) {
        global const uint *wr = bits + bits_off + (spk_off_t)r * words;
        global int *ir = idx + off[r];
        const int n = count[r], room = (int)min(end - off[r], (spk_off_t)INT_MAX) - 8; /* unchecked stores below */
        int k = 0;
        SCALAR_LOOP
        for (int w = 0; w < words && k < n; w += 2) {
            ulong m = row_pair(wr, in, words, w);
            const int c = popcount(m);
            if (c <= 8 && k <= room) {
#pragma unroll
                for (int i = 0; i < 8; i++, m &= m - 1)
                    ir[k + i] = 32 * w + (int)ctz(m);
            } else {
                SCALAR_LOOP
                for (int i = k; m; m &= m - 1)
                    ir[i++] = 32 * w + (int)ctz(m);
            }
            k += c;
        }
    }
}

/* wt[j, o] = w[o, j]: the weights of one input contiguous along outputs,
 * rows of ld >= out (zeros past out: whole chunks of CH for the gather).
 * Items split the outputs along dimension 0 and the inputs along 1. */
kernel void sparse_transpose(int in, int out, int ld, global const float *w, spk_off_t w_off, global float *wt)
{
    ITEM_ROWS(in, 1, j0, j1);
    for (int j = j0; j < j1; j++)
        SCALAR_LOOP
        for (int o = get_global_id(0); o < ld; o += get_global_size(0))
            wt[(spk_off_t)j * ld + o] = o < out ? w[w_off + (spk_off_t)o * in + j] : 0.0f;
}

/* y[r, o0 .. o0+CH) = b + the sum over the row's list, in order, of
 * wt[j, o0 .. o0+CH). A last chunk that ends past out sums in vectors
 * too (wt's rows run to a whole chunk), with its bias and its stores
 * through a private copy: once per row, where one output at a time walked
 * the list again for each (a 256 -> 10 readout: a vector and two such
 * passes per row). */
static inline void gather_row(int out, int ld, int o0, int n, global const int *ir, global const float *wt,
                              global const float *b, spk_off_t b_off, int has_b, global float *yr)
{
    const int whole = o0 + CH <= out;
    vf acc[NV];
    if (whole) {
#pragma unroll
        for (int v = 0; v < NV; v++)
            acc[v] = has_b ? VLOADF(b, b_off + o0 + v * VW) : VZERO;
    } else {
        float part[CH];
        for (int i = 0; i < CH; i++)
            part[i] = has_b && o0 + i < out ? b[b_off + o0 + i] : 0.0f;
#pragma unroll
        for (int v = 0; v < NV; v++)
            acc[v] = VLOADF(part, v * VW);
    }
    for (int k = 0; k < n; k++) {
        global const float *w = wt + (spk_off_t)ir[k] * ld + o0;
#pragma unroll
        for (int v = 0; v < NV; v++)
            acc[v] += VLOADF(w, v * VW);
    }
    if (whole) {
#pragma unroll
        for (int v = 0; v < NV; v++)
            VSTOREF(acc[v], yr, o0 + v * VW);
    } else {
        float part[CH];
#pragma unroll
        for (int v = 0; v < NV; v++)
            VSTOREF(acc[v], part, v * VW);
        for (int o = o0; o < out; o++)
            yr[o] = part[o - o0];
    }
}

/* y[r, :] for the rows r0 .. r0+rb of one item: the bias, then the rows of
 * wt of the row's active inputs in increasing order. Items run over row
 * blocks along dimension ROWS_DIM and over chunks of CH outputs along the
 * other: item c of C covers the chunks c, c + C, ... CPU devices launch
 * C = 1 (ROWS_DIM 0): an item writes whole rows of y and reads each listed
 * row of wt whole, both contiguous (blocking the outputs so that a block of
 * wt stays in L2 measured no faster). GPUs launch one item per output along
 * dimension 0 (ROWS_DIM 1): neighbouring items, neighbouring words. */
#ifndef ROWS_DIM
#define ROWS_DIM 0
#endif
kernel void sparse_forward(int rows, int in, int out, int ld, int rb, global const int *count,
                           global const spk_off_t *off,
                           global const int *idx,
                           global const float *wt, global const float *b, spk_off_t b_off, int has_b,
                           global float *y, spk_off_t y_off)
{
    const int r0 = (int)get_global_id(ROWS_DIM) * rb;
    const int c0 = (int)get_global_id(1 - ROWS_DIM) * CH, step = (int)get_global_size(1 - ROWS_DIM) * CH;
    for (int r = r0; r < min(rows, r0 + rb); r++)
        for (int o0 = c0; o0 < out; o0 += step)
            gather_row(out, ld, o0, count[r], idx + off[r], wt, b, b_off, has_b,
                       y + y_off + (spk_off_t)r * out);
}

/* The lists of one tile of R rows turned by input: the rows of input j
 * are crow[off[r0] + cstart[t, j] .. cstart[t, j + 1]), increasing (crow
 * has the layout of idx)
 * (a counting sort; one item per tile). */
kernel void sparse_columns(int rows, int in, int R, global const int *count, global const spk_off_t *off,
                           global const int *idx, global int *cstart, global int *crow)
{
    const int t = get_global_id(0), r0 = t * R, r1 = min(rows, r0 + R);
    if (r0 >= rows)
        return;
    global int *cs = cstart + (spk_off_t)t * (in + 1);
    global int *cr = crow + off[r0];
    for (int j = 0; j <= in; j++)
        cs[j] = 0;
    for (int r = r0; r < r1; r++)
        for (int k = 0; k < count[r]; k++)
            cs[idx[off[r] + k] + 1]++;
    for (int j = 1; j <= in; j++)
        cs[j] += cs[j - 1];
    for (int r = r0; r < r1; r++) /* cs[j] walks to the end of column j */
        for (int k = 0; k < count[r]; k++)
            cr[cs[idx[off[r] + k]]++] = r;
    for (int j = in; j > 0; j--)
        cs[j] = cs[j - 1];
    cs[0] = 0;
}

/* dst[o0 .. o1) += g[o0 .. o1): vectors to ov, then single floats. Through
 * a vector type of float alignment: PoCL's vload/vstore here became pairs of
 * floats and shuffles (3x slower). */
#if VW > 1
typedef float vf_unaligned __attribute__((ext_vector_type(VW), aligned(4)));
#define ROW_ADD(dst, g, o) (*(global vf_unaligned *)((dst) + (o)) += *(global const vf_unaligned *)((g) + (o)))
#else
#define ROW_ADD(dst, g, o) ((dst)[o] += (g)[o])
#endif
static inline void add_row(global float *restrict dst, global const float *restrict g, int o0, int ov, int o1)
{
    for (int o = o0; o < ov; o += VW)
        ROW_ADD(dst, g, o);
    SCALAR_LOOP
    for (int o = ov; o < o1; o++)
        dst[o] += g[o];
}

/* pj[o .. o+CH) += the sum of dy[r, o .. o+CH) over the rows r of one
 * column, q = a .. e. */
static inline void column_sum(global float *pj, global const float *dy, spk_off_t dy_off, int out, int o,
                              global const int *cr, int a, int e)
{
    vf acc[NV];
#pragma unroll
    for (int v = 0; v < NV; v++)
        acc[v] = VZERO;
    for (int q = a; q < e; q++) {
        global const float *g = dy + dy_off + (spk_off_t)cr[q] * out + o;
#pragma unroll
        for (int v = 0; v < NV; v++)
            acc[v] += VLOADF(g, v * VW);
    }
#pragma unroll
    for (int v = 0; v < NV; v++)
        VSTOREF(VLOADF(pj, o + v * VW) + acc[v], pj, o + v * VW);
}

/* Partial gradients of one segment s of tiles, in part[s] of [in + 1, out]:
 * rows j < in are dW^T, row `in` the bias gradient. The item of outputs
 * o0 .. o0+cw (a multiple of CH but where it ends at out) clears its
 * columns, then for each tile adds, per input j,
 * the sum of dY over the tile's rows where j spiked (the tile's rows of dY
 * stay in cache, each partial row is updated once per tile), and every
 * row of dY to the bias row. The bias goes first: it reads the tile's rows
 * in order, so they come from memory at the prefetcher's pace, and the
 * column sums then find them in cache (1.2-1.5x faster than the other way
 * round, whose first touches were the column order's scattered rows). On CPU devices cw is all outputs (whole rows
 * of dY stream through); on GPUs it is one output (CH = 1). */
kernel void sparse_weight_grad(int rows, int in, int out, int R, int tiles_per_seg, int cw,
                               global const spk_off_t *off, global const int *cstart, global const int *crow,
                               global const float *dy,
                               spk_off_t dy_off, global float *part)
{
    const int o0 = get_global_id(0) * cw, s = get_global_id(1);
    const int t0 = s * tiles_per_seg, n_tiles = (rows + R - 1) / R;
    if (o0 >= out)
        return;
    const int o1 = min(out, o0 + cw), ov = o0 + (o1 - o0) / CH * CH; /* CH-blocks to ov, then single outputs */
    global float *p = part + (spk_off_t)s * (in + 1) * out;
    for (int j = 0; j <= in; j++) {
        for (int o = o0; o < ov; o += VW)
            VSTOREF(VZERO, p, (spk_off_t)j * out + o);
        for (int o = ov; o < o1; o++)
            p[(spk_off_t)j * out + o] = 0.0f;
    }
    for (int t = t0; t < min(n_tiles, t0 + tiles_per_seg); t++) {
        global const int *cs = cstart + (spk_off_t)t * (in + 1);
        global const int *cr = crow + off[t * R];
        global float *pb = p + (spk_off_t)in * out;
        for (int r = t * R; r < min(rows, (t + 1) * R); r++)
            add_row(pb, dy + dy_off + (spk_off_t)r * out, o0, ov, o1);
        for (int j = 0; j < in; j++) {
            const int a = cs[j], e = cs[j + 1];
            if (a == e)
                continue;
            global float *pj = p + (spk_off_t)j * out;
            for (int o = o0; o < ov; o += CH)
                column_sum(pj, dy, dy_off, out, o, cr, a, e);
            for (int o = ov; o < o1; o++) {
                float acc = 0.0f;
                for (int q = a; q < e; q++)
                    acc += dy[dy_off + (spk_off_t)cr[q] * out + o];
                pj[o] += acc;
            }
        }
    }
}

/* The partial gradients of segment s (rows s*rps ..) straight from the
 * rows' lists, for CPU devices where a [in + 1, pld] partial stays in the
 * core's L2: each row of dY, read once and in order, is added to the bias
 * row and to the partial row of every input that spiked in it. No lists
 * turned by input (sparse_columns) and no scattered reads of dY; the adds
 * go to the cached partial instead of registers. Rows in a fixed order:
 * deterministic sums. pld is out padded to whole vectors: a row of dY is
 * added as whole vectors, its last one running into the next rows of dY,
 * whose values land in the padding columns [out, pld), which the reduction
 * never reads (only the tensor's last rows, where that would read past dY,
 * add the tail one by one). For out = 10 that is two vector adds per spike
 * instead of one and a two-step loop (bench/RESULTS.md). */
kernel void sparse_weight_grad_rows(int rows, int in, int out, int pld, int rps, global const int *count,
                                    global const spk_off_t *off, global const int *idx, global const float *dy,
                                    spk_off_t dy_off, global float *part)
{
    const int s = get_global_id(0), r0 = s * rps, r1 = min(rows, r0 + rps), ov = out / VW * VW;
    global float *p = part + (spk_off_t)s * (in + 1) * pld;
    row_zero(p, (spk_off_t)(in + 1) * pld);
    global float *pb = p + (spk_off_t)in * pld;
    for (int r = r0; r < r1; r++) {
        global const float *g = dy + dy_off + (spk_off_t)r * out;
        global const int *ir = idx + off[r];
        const int n = count[r];
        const int whole = (spk_off_t)r * out + pld <= (spk_off_t)rows * out;
        const int v1 = whole ? pld : ov, o1 = whole ? pld : out;
        add_row(pb, g, 0, v1, o1);
        for (int k = 0; k < n; k++)
            add_row(p + (spk_off_t)ir[k] * pld, g, 0, v1, o1);
    }
}

/* dW[o, j] (and db[o] from row `in`, when has_db) = the sum over segments,
 * in order, of part[s, j, o] (rows of pld). */
kernel void sparse_reduce_grad(int in, int out, int pld, int segs, global const float *part, global float *dw,
                               spk_off_t dw_off, global float *db, spk_off_t db_off, int has_db)
{
    ITEM_ROWS(in + has_db, 1, j0, j1);
    const spk_off_t seg = (spk_off_t)(in + 1) * pld;
    for (int j = j0; j < j1; j++)
        for (int o = get_global_id(0); o < out; o += get_global_size(0)) {
            const spk_off_t at = (spk_off_t)j * pld + o;
            float acc = part[at];
            SCALAR_LOOP
            for (int s = 1; s < segs; s++)
                acc += part[s * seg + at];
            if (j < in)
                dw[dw_off + (spk_off_t)o * in + j] = acc;
            else
                db[db_off + o] = acc;
        }
}

/* The input gradient of a gather layer with few outputs (a readout's
 * classes): dx[r, :] = sum over k of dy[r, k] w[k, :], k in order, for
 * w [out, in]; a GEMM with K = out that the host BLAS runs at a fraction of
 * its speed (memory-bound, C zeroed first). CPU layout (ROWS_DIM 0): one
 * item per block of rb rows; per row, 8 vectors of dx at a time summed
 * over k in registers, as 8 independent chains over W's rows (which stay
 * in L1 across the block; 16 vectors spilled). Each column of W in
 * registers, summed over k unrolled to 16 with a test per k, made a branch
 * and a dependent add per term: 500-540 us per launch in the mlp against
 * 250-320 now. GPUs: one input per item along dimension 0, a block of rows
 * along dimension 1. */
kernel void sparse_input_grad(int rows, int in, int out, int rb, global const float *dy, spk_off_t dy_off,
                              global const float *w, spk_off_t w_off, global float *dx, spk_off_t dx_off)
{
    dy += dy_off, w += w_off, dx += dx_off;
#if ROWS_DIM
    const int i = (int)get_global_id(0), r0 = (int)get_global_id(1) * rb;
    if (i >= in)
        return;
    for (int r = r0; r < min(r0 + rb, rows); r++) {
        float acc = 0.0f;
        for (int k = 0; k < out; k++)
            acc += dy[(spk_off_t)r * out + k] * w[(spk_off_t)k * in + i];
        dx[(spk_off_t)r * in + i] = acc;
    }
#else
    const int r0 = (int)get_global_id(0) * rb, r1 = min(r0 + rb, rows), iv = in / VW * VW;
#if VW > 1
    const int ib = in / (8 * VW) * (8 * VW);
    for (int r = r0; r < r1; r++) {
        global const float *d = dy + (spk_off_t)r * out;
        global float *xr = dx + (spk_off_t)r * in;
        for (int i = 0; i < ib; i += 8 * VW) {
            vf_unaligned acc[8];
#pragma unroll
            for (int q = 0; q < 8; q++)
                acc[q] = 0.0f;
            for (int k = 0; k < out; k++) {
                const float dk = d[k];
                global const float *wk = w + (spk_off_t)k * in + i;
#pragma unroll
                for (int q = 0; q < 8; q++)
                    acc[q] += dk * *(global const vf_unaligned *)(wk + q * VW);
            }
#pragma unroll
            for (int q = 0; q < 8; q++)
                *(global vf_unaligned *)(xr + i + q * VW) = acc[q];
        }
        for (int i = ib; i < iv; i += VW) {
            vf_unaligned acc = 0.0f;
            for (int k = 0; k < out; k++)
                acc += d[k] * *(global const vf_unaligned *)(w + (spk_off_t)k * in + i);
            *(global vf_unaligned *)(xr + i) = acc;
        }
    }
#endif
    for (int r = r0; r < r1; r++)
        SCALAR_LOOP
        for (int i = iv; i < in; i++) {
            float acc = 0.0f;
            SCALAR_LOOP
            for (int k = 0; k < out; k++)
                acc += dy[(spk_off_t)r * out + k] * w[(spk_off_t)k * in + i];
            dx[(spk_off_t)r * in + i] = acc;
        }
#endif
}
