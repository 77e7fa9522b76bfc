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

/* One work item per element of cols. */
kernel void conv_im2col(int N, int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int OH, int OW,
                        global const float *x, spk_off_t x_off, global float *cols, spk_off_t cols_off)
{
    const spk_off_t P = (spk_off_t)OH * OW, NP = (spk_off_t)N * P;
    const spk_off_t idx = get_global_id(0);
    if (idx >= (spk_off_t)C * KH * KW * NP)
        return;
    const int k = (int)(idx / NP);
    const spk_off_t r = idx % NP;
    const spk_off_t n = r / P;
    const int p = (int)(r % P);
    const int oh = p / OW, ow = p % OW;
    const int c = k / (KH * KW), ij = k % (KH * KW);
    const int h = oh * SH - PH + ij / KW, w = ow * SW - PW + ij % KW;
    float v = 0.0f;
    if (h >= 0 && h < H && w >= 0 && w < W)
        v = x[x_off + ((n * C + c) * H + h) * (spk_off_t)W + w];
    cols[cols_off + idx] = v;
}

/* The input gradient from the gradient of the columns: every input pixel
 * gathers the column entries that read it (no atomics), in (i, j) order.
 * One work item per element of dx [N, C, H, W]. */
kernel void conv_col2im(int N, int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int OH, int OW,
                        global const float *dcols, spk_off_t dc_off, global float *dx, spk_off_t dx_off)
{
    const spk_off_t P = (spk_off_t)OH * OW, NP = (spk_off_t)N * P;
    const spk_off_t idx = get_global_id(0);
    if (idx >= (spk_off_t)N * C * H * W)
        return;
    const int w = (int)(idx % W);
    const int h = (int)((idx / W) % H);
    const int c = (int)((idx / ((spk_off_t)W * H)) % C);
    const spk_off_t n = idx / ((spk_off_t)W * H * C);
    float s = 0.0f;
    for (int i = 0; i < KH; i++) {
        const int hh = h + PH - i;
        if (hh < 0 || hh % SH != 0 || hh / SH >= OH)
            continue;
        const int oh = hh / SH;
        for (int j = 0; j < KW; j++) {
            const int ww = w + PW - j;
            if (ww < 0 || ww % SW != 0 || ww / SW >= OW)
                continue;
            const int k = (c * KH + i) * KW + j;
            s += dcols[dc_off + k * NP + n * P + oh * OW + ww / SW];
        }
    }
    dx[dx_off + idx] = s;
}

/* y[t, n, oc, p] = y2[oc, n*P + p] + bias[oc] for t < reps (reps = T
 * broadcasts a static input's current over time). One work item per
 * (n, oc, p). */
kernel void conv_output(int reps, int N, int OC, int P, global const float *y2, spk_off_t y2_off,
                        global const float *bias, spk_off_t b_off, int has_bias, global float *y, spk_off_t y_off)
{
    const spk_off_t NOP = (spk_off_t)N * OC * P;
    const spk_off_t idx = get_global_id(0);
    if (idx >= NOP)
        return;
    const int p = (int)(idx % P);
    const int oc = (int)((idx / P) % OC);
    const spk_off_t n = idx / ((spk_off_t)P * OC);
    float v = y2[y2_off + (oc * (spk_off_t)N + n) * P + p];
    if (has_bias)
        v += bias[b_off + oc];
    for (int t = 0; t < reps; t++)
        y[y_off + t * NOP + idx] = v;
}

/* The GEMM layout of the output gradient: dy2[oc, n*P + p] = sum over
 * t < reps of dy[t, n, oc, p], summed in t order (reps = T for a static
 * input, else 1). One work item per element of dy2. */
kernel void conv_grad_output(int reps, int N, int OC, int P, global const float *dy, spk_off_t dy_off,
                             global float *dy2, spk_off_t dy2_off)
{
    const spk_off_t NP = (spk_off_t)N * P, NOP = NP * OC;
    const spk_off_t idx = get_global_id(0);
    if (idx >= NOP)
        return;
    const int oc = (int)(idx / NP);
    const spk_off_t r = idx % NP;
    const spk_off_t n = r / P;
    const int p = (int)(r % P);
    const spk_off_t src = (n * OC + oc) * P + p;
    float s = 0.0f;
    for (int t = 0; t < reps; t++)
        s += dy[dy_off + t * NOP + src];
    dy2[dy2_off + idx] = s;
}
