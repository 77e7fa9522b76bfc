/* 2-D convolution as im2col + one GEMM over all images (src/nn/conv2d.c);
 * src/ref/conv_ref.c is the plain-C reference of the whole layer.
 *
 * Layouts (row-major), for N images of [C, H, W], output [OC, OH, OW],
 * P = OH*OW, K = C*KH*KW:
 *   x     [N, C, H, W]       the layer's input
 *   cols  [K, N*P]           cols[(c*KH + i)*KW + j, n*P + oh*OW + ow]
 *                            = x[n, c, oh*SH - PH + i, ow*SW - PW + j] (0 outside)
 *   y2    [OC, N*P]          = W[OC, K] cols[K, N*P]   (the GEMM)
 *   y     [reps, N, OC, P]   y[t, n, oc, p] = y2[oc, n*P + p] + bias[oc]
 * The columns are [K, N*P] rather than [N*P, K] so that both the im2col
 * writes and the reshuffle from y2 to y move contiguous runs of P elements
 * (a plain row copy, no transpose); see conv2d.c. */

/* Launched as 2-D ranges (src/nn/conv2d.c), dimension 1 over rows.
 * conv_output and conv_grad_output take one work item per element, with
 * dimension 0 along the P contiguous pixels of a row (coalesced on GPUs;
 * CPU devices run the *_rows kernels below instead); conv_im2col and conv_col2im take one work
 * item per row of pixels (dimension 0: the row within the image), which
 * was 3x faster on PoCL than one item per element, where the index
 * arithmetic dominated. Indices within a tensor are 32-bit: the host keeps
 * every element count below 2^32. */

/* dst[0 .. n) = src[0 .. n) (row_copy), src + b (row_copy_plus), or
 * += src (row_add; row_zero is in common.clh): eight floats at a time
 * (PoCL left the plain loops scalar, or vectorised them at a cost in
 * compile time), then one by one. */
static inline void row_copy(global float *restrict dst, global const float *restrict src, int n)
{
    int k = 0;
    for (; k + 8 <= n; k += 8)
        vstore8(vload8(0, src + k), 0, dst + k);
    SCALAR_LOOP
    for (; k < n; k++)
        dst[k] = src[k];
}

static inline void row_copy_plus(global float *restrict dst, global const float *restrict src, float b, int n)
{
    int k = 0;
    for (; k + 8 <= n; k += 8)
        vstore8(vload8(0, src + k) + b, 0, dst + k);
    SCALAR_LOOP
    for (; k < n; k++)
        dst[k] = src[k] + b;
}

static inline void row_add(global float *restrict dst, global const float *restrict src, int n)
{
    int k = 0;
    for (; k + 8 <= n; k += 8)
        vstore8(vload8(0, dst + k) + vload8(0, src + k), 0, dst + k);
    SCALAR_LOOP
    for (; k < n; k++)
        dst[k] += src[k];
}

/* cols[row = k*N + n, oh*OW + ow]: one work item per output row (oh, row),
 * a 2-D range, copying the OW entries of that row: at stride 1 without
 * horizontal padding a plain copy of OW inputs. */
kernel void conv_im2col(int N, int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int OH, int OW,
                        global const float *x, spk_off_t x_off, global float *cols, spk_off_t cols_off)
{
    const uint KK = (uint)(KH * KW);
    ITEM_ROWS(C * KH * KW * N, 1, r0, r1); /* CPU devices: blocks of rows, every oh (src/nn/conv2d.c) */
    for (uint row = (uint)r0; row < (uint)r1; row++)
        for (int oh = (int)get_global_id(0); oh < OH; oh += (int)get_global_size(0)) {
            const uint k = row / (uint)N, n = row % (uint)N;
            const uint c = k / KK, ij = k % KK;
            const int h = oh * SH - PH + (int)(ij / (uint)KW), w0 = (int)(ij % (uint)KW) - PW;
            global float *out = cols + cols_off + ((spk_off_t)row * (uint)OH + (uint)oh) * (uint)OW;
            if (h < 0 || h >= H) {
                SCALAR_LOOP
                for (int ow = 0; ow < OW; ow++)
                    out[ow] = 0.0f;
                continue;
            }
            global const float *in = x + x_off + ((n * (uint)C + c) * (uint)H + (uint)h) * (uint)W;
            if (SW == 1 && PW == 0) { /* w = ow + j: always inside */
                row_copy(out, in + w0, OW);
                continue;
            }
            SCALAR_LOOP
            for (int ow = 0; ow < OW; ow++) {
                const int w = w0 + ow * SW;
                out[ow] = (w >= 0 && w < W) ? in[w] : 0.0f;
            }
        }
}

#if !STEP_SYNC /* GPUs; CPU devices take conv_col2im_planes */
/* The input gradient from the gradient of the columns: every input pixel
 * gathers the column entries that read it (no atomics), in (i, j) order.
 * One work item per input row (h, plane = n*C + c), a 2-D range. */
kernel void conv_col2im(int N, int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int OH, int OW,
                        global const float *dcols, spk_off_t dc_off, global float *dx, spk_off_t dx_off)
{
    const int h = (int)get_global_id(0);
    const uint plane = (uint)get_global_id(1);
    if (h >= H || plane >= (uint)N * (uint)C)
        return;
    const uint n = plane / (uint)C, c = plane % (uint)C, P = (uint)(OH * OW);
    const spk_off_t NP = (spk_off_t)N * P;
    global const float *d = dcols + dc_off + (spk_off_t)n * P;
    global float *out = dx + dx_off + ((spk_off_t)plane * (uint)H + (uint)h) * (uint)W;
    for (int w = 0; w < W; w++) {
        float s = 0.0f;
        for (int i = 0; i < KH; i++) {
            const int hh = h + PH - i;
            if (hh < 0 || hh % SH != 0 || hh / SH >= OH)
                continue;
            global const float *drow = d + (spk_off_t)((c * (uint)KH + (uint)i) * (uint)KW) * NP + (uint)(hh / SH * OW);
            for (int j = 0; j < KW; j++) {
                const int ww = w + PW - j;
                if (ww < 0 || ww % SW != 0 || ww / SW >= OW)
                    continue;
                s += drow[(spk_off_t)j * NP + (uint)(ww / SW)];
            }
        }
        out[w] = s;
    }
}
#endif

#if STEP_SYNC
/* conv_col2im on CPU devices: work items in groups of one, each a block of
 * whole planes (n, c), taken channel by channel. A plane is zeroed, then every column row (i, j) adds
 * its P contiguous entries of image n to the pixels it read: each entry of
 * dcols is read once, in runs, and the plane stays in L1. Every pixel gets
 * its terms in the same (i, j) order as above, from 0: the same sums. */
kernel void conv_col2im_planes(int N, int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int OH,
                               int OW, global const float *dcols, spk_off_t dc_off, global float *dx, spk_off_t dx_off)
{
    const uint P = (uint)(OH * OW);
    ITEM_ROWS(N * C, 0, q0, q1);
    const spk_off_t NP = (spk_off_t)N * P;
    for (uint q = (uint)q0; q < (uint)q1; q++) { /* q = c*N + n: images in turn, each column row read in order */
        const uint c = q / (uint)N, n = q % (uint)N;
        global float *out = dx + dx_off + ((spk_off_t)n * (uint)C + c) * (uint)H * (uint)W;
        row_zero(out, H * W);
        for (int i = 0; i < KH; i++)
            for (int j = 0; j < KW; j++) {
                global const float *d =
                    dcols + dc_off + (spk_off_t)((c * (uint)KH + (uint)i) * (uint)KW + (uint)j) * NP + (spk_off_t)n * P;
                /* the ow whose w = ow*SW - PW + j falls inside [0, W): a loop without tests */
                const int ow0 = PW - j <= 0 ? 0 : (PW - j + SW - 1) / SW;
                const int ow1 = W + PW - j <= 0 ? 0 : min(OW, (W + PW - j + SW - 1) / SW);
                for (int oh = 0; oh < OH; oh++) {
                    const int h = oh * SH - PH + i;
                    if (h < 0 || h >= H)
                        continue;
                    global float *orow = out + h * W - PW + j;
                    global const float *drow = d + oh * OW;
                    if (SW == 1) {
                        row_add(orow + ow0, drow + ow0, ow1 - ow0);
                        continue;
                    }
                    SCALAR_LOOP
                    for (int ow = ow0; ow < ow1; ow++)
                        orow[ow * SW] += drow[ow];
                }
            }
    }
}
#endif

#if !STEP_SYNC /* GPUs; CPU devices take the _rows variants */
/* y[t, n, oc, p] = y2[oc, n*P + p] + bias[oc] for t < reps (reps = T
 * broadcasts a static input's current over time). Dimension 0: p;
 * dimension 1: the row n*OC + oc. The loop over t ends each step with
 * STEP_END (common.clh). */
kernel void conv_output(int reps, int N, int OC, int P, global const float *y2, spk_off_t y2_off,
                        global const float *bias, spk_off_t b_off, int has_bias, global float *y, spk_off_t y_off)
{
    const uint rows = (uint)N * (uint)OC;
    const spk_off_t NOP = (spk_off_t)rows * (uint)P;
    const uint gp = (uint)get_global_id(0), grow = (uint)get_global_id(1);
    const int valid = gp < (uint)P && grow < rows;
    if (!STEP_SYNC && !valid)
        return;
    const uint p = valid ? gp : (uint)P - 1, row = valid ? grow : rows - 1; /* past the end: compute, store nothing */
    const uint n = row / (uint)OC, oc = row % (uint)OC;
    float v = y2[y2_off + ((spk_off_t)oc * (uint)N + n) * (uint)P + p];
    if (has_bias)
        v += bias[b_off + oc];
    const spk_off_t o = (spk_off_t)row * (uint)P + p;
    for (int t = 0; t < reps; t++) {
        if (valid)
            y[y_off + t * NOP + o] = v;
        STEP_END();
    }
}
#endif

#if !STEP_SYNC
/* The GEMM layout of the output gradient: dy2[oc, n*P + p] = sum over
 * t < reps of dy[t, n, oc, p], summed in t order (reps = T for a static
 * input, else 1). Dimension 0: p; dimension 1: the row oc*N + n. */
kernel void conv_grad_output(int reps, int N, int OC, int P, global const float *dy, spk_off_t dy_off,
                             global float *dy2, spk_off_t dy2_off)
{
    const uint rows = (uint)N * (uint)OC;
    const spk_off_t NOP = (spk_off_t)rows * (uint)P;
    const uint gp = (uint)get_global_id(0), grow = (uint)get_global_id(1);
    const int valid = gp < (uint)P && grow < rows;
    if (!STEP_SYNC && !valid)
        return;
    const uint p = valid ? gp : (uint)P - 1, row = valid ? grow : rows - 1;
    const uint oc = row / (uint)N, n = row % (uint)N;
    const spk_off_t src = ((spk_off_t)n * (uint)OC + oc) * (uint)P + p;
    float s = 0.0f;
    for (int t = 0; t < reps; t++) {
        s += dy[dy_off + t * NOP + src];
        STEP_END();
    }
    if (valid)
        dy2[dy2_off + (spk_off_t)row * (uint)P + p] = s;
}
#endif

#if STEP_SYNC
/* The same two reshuffles on CPU devices (STEP_SYNC): work items in groups
 * of one, each taking a block of whole rows of P contiguous pixels and every
 * step t of them, so that each copy runs along memory. The per-element
 * kernels above synchronise their work-groups once per step; PoCL compiled
 * each in 0.55-0.65 s and ran them at 8.6 ms per launch in the conv preset
 * (bench/RESULTS.md). The sums over t run in the same order. */

kernel void conv_output_rows(int reps, int N, int OC, int P, global const float *y2, spk_off_t y2_off,
                             global const float *bias, spk_off_t b_off, int has_bias, global float *y,
                             spk_off_t y_off)
{
    const uint rows = (uint)N * (uint)OC;
    const spk_off_t NOP = (spk_off_t)rows * (uint)P;
    ITEM_ROWS((int)rows, 0, r0, r1);
    for (uint row = (uint)r0; row < (uint)r1; row++) { /* row = n*OC + oc */
        const uint n = row / (uint)OC, oc = row % (uint)OC;
        const float b = has_bias ? bias[b_off + oc] : 0.0f;
        global const float *src = y2 + y2_off + ((spk_off_t)oc * (uint)N + n) * (uint)P;
        for (int t = 0; t < reps; t++) {
            global float *dst = y + y_off + t * NOP + (spk_off_t)row * (uint)P;
            if (has_bias)
                row_copy_plus(dst, src, b, P);
            else
                row_copy(dst, src, P);
        }
    }
}
#endif

#if STEP_SYNC
kernel void conv_grad_output_rows(int reps, int N, int OC, int P, global const float *dy, spk_off_t dy_off,
                                  global float *dy2, spk_off_t dy2_off)
{
    const uint rows = (uint)N * (uint)OC;
    const spk_off_t NOP = (spk_off_t)rows * (uint)P;
    ITEM_ROWS((int)rows, 0, r0, r1);
    for (uint row = (uint)r0; row < (uint)r1; row++) { /* row = oc*N + n */
        const uint oc = row / (uint)N, n = row % (uint)N;
        global const float *src = dy + dy_off + ((spk_off_t)n * (uint)OC + oc) * (uint)P;
        global float *dst = dy2 + dy2_off + (spk_off_t)row * (uint)P;
        row_copy_plus(dst, src, 0.0f, P); /* as the per-element kernel: 0 + dy[0] + dy[1] + ... */
        for (int t = 1; t < reps; t++)
            row_add(dst, src + t * NOP, P);
    }
}
#endif

/* Bias gradient in two deterministic stages: partial[oc, n] = sum over p of
 * dy2[oc, n*P + p] (one work item per (oc, n)), then db[oc] = sum over n of
 * partial[oc, n] (one work item per oc). */
kernel void conv_bias_partial(int N, int OC, int P, global const float *dy2, spk_off_t dy2_off,
                              global float *partial, spk_off_t part_off)
{
    const spk_off_t idx = get_global_id(0);
    if (idx >= (spk_off_t)OC * N)
        return;
    global const float *row = dy2 + dy2_off + idx * P;
    float s = 0.0f;
    SCALAR_LOOP
    for (int p = 0; p < P; p++)
        s += row[p];
    partial[part_off + idx] = s;
}

kernel void conv_bias_reduce(int N, int OC, global const float *partial, spk_off_t part_off, global float *db,
                             spk_off_t db_off)
{
    const int oc = (int)get_global_id(0);
    if (oc >= OC)
        return;
    global const float *row = partial + part_off + (spk_off_t)oc * N;
    float s = 0.0f;
    for (int n = 0; n < N; n++)
        s += row[n];
    db[db_off + oc] = s;
}
