/* 2-D pooling without padding over NC planes of [H, W] (N images times C
 * channels), output planes [OH, OW], OH = (H - KH) / SH + 1. Backward
 * kernels gather: every input pixel sums the gradients of the windows that
 * contain it, in (oh, ow) ascending order, so no atomics are needed and
 * overlapping windows (stride < kernel) work. src/ref/conv_ref.c is the
 * plain-C reference; src/nn/pool.c the host side. */

/* Output windows (oh in [*lo, *hi]) that contain row h. */
static inline void covering(int h, int K, int S, int O, int *lo, int *hi)
{
    *hi = min(h / S, O - 1);
    *lo = h >= K ? (h - K) / S + 1 : 0;
}

/* One work item per output element. The window's sum is taken in
 * row-major order, then divided by KH*KW. */
kernel void pool_avg_forward(int NC, int H, int W, int KH, int KW, int SH, int SW, int OH, int OW,
                             global const float *x, spk_off_t x_off, global float *y, spk_off_t y_off)
{
    const spk_off_t idx = get_global_id(0);
    if (idx >= (spk_off_t)NC * OH * OW)
        return;
    const int ow = (int)(idx % OW), oh = (int)((idx / OW) % OH);
    const spk_off_t plane = idx / ((spk_off_t)OW * OH);
    global const float *xp = x + x_off + plane * H * W + (spk_off_t)(oh * SH) * W + ow * SW;
    float s = 0.0f;
    for (int i = 0; i < KH; i++)
        for (int j = 0; j < KW; j++)
            s += xp[i * W + j];
    y[y_off + idx] = s / (float)(KH * KW);
}

/* One work item per input element. */
kernel void pool_avg_backward(int NC, int H, int W, int KH, int KW, int SH, int SW, int OH, int OW,
                              global const float *dy, spk_off_t dy_off, global float *dx, spk_off_t dx_off)
{
    const spk_off_t idx = get_global_id(0);
    if (idx >= (spk_off_t)NC * H * W)
        return;
    const int w = (int)(idx % W), h = (int)((idx / W) % H);
    const spk_off_t plane = idx / ((spk_off_t)W * H);
    int oh0, oh1, ow0, ow1;
    covering(h, KH, SH, OH, &oh0, &oh1);
    covering(w, KW, SW, OW, &ow0, &ow1);
    global const float *g = dy + dy_off + plane * OH * OW;
    float s = 0.0f;
    for (int oh = oh0; oh <= oh1; oh++)
        for (int ow = ow0; ow <= ow1; ow++)
            s += g[oh * OW + ow];
    dx[dx_off + idx] = s / (float)(KH * KW);
}

/* Offset (i*KW + j) of the first maximum of a window in row-major order. */
static inline int window_argmax(global const float *xp, int W, int KH, int KW)
{
    float best = xp[0];
    int arg = 0;
    for (int i = 0; i < KH; i++)
        for (int j = 0; j < KW; j++) {
            const float v = xp[i * W + j];
            if (v > best) {
                best = v;
                arg = i * KW + j;
            }
        }
    return arg;
}

kernel void pool_max_forward(int NC, int H, int W, int KH, int KW, int SH, int SW, int OH, int OW,
                             global const float *x, spk_off_t x_off, global float *y, spk_off_t y_off)
{
    const spk_off_t idx = get_global_id(0);
    if (idx >= (spk_off_t)NC * OH * OW)
        return;
    const int ow = (int)(idx % OW), oh = (int)((idx / OW) % OH);
    const spk_off_t plane = idx / ((spk_off_t)OW * OH);
    global const float *xp = x + x_off + plane * H * W + (spk_off_t)(oh * SH) * W + ow * SW;
    const int a = window_argmax(xp, W, KH, KW);
    y[y_off + idx] = xp[(a / KW) * W + a % KW];
}

/* The gradient of a window goes to its first maximum, recomputed from the
 * forward's input: no argmax buffer to keep, and the same tie rule as the
 * forward by construction. One work item per input element. */
kernel void pool_max_backward(int NC, int H, int W, int KH, int KW, int SH, int SW, int OH, int OW,
                              global const float *x, spk_off_t x_off, global const float *dy, spk_off_t dy_off,
                              global float *dx, spk_off_t dx_off)
{
    const spk_off_t idx = get_global_id(0);
    if (idx >= (spk_off_t)NC * H * W)
        return;
    const int w = (int)(idx % W), h = (int)((idx / W) % H);
    const spk_off_t plane = idx / ((spk_off_t)W * H);
    int oh0, oh1, ow0, ow1;
    covering(h, KH, SH, OH, &oh0, &oh1);
    covering(w, KW, SW, OW, &ow0, &ow1);
    global const float *xplane = x + x_off + plane * H * W;
    global const float *g = dy + dy_off + plane * OH * OW;
    float s = 0.0f;
    for (int oh = oh0; oh <= oh1; oh++)
        for (int ow = ow0; ow <= ow1; ow++) {
            const int a = window_argmax(xplane + (spk_off_t)(oh * SH) * W + ow * SW, W, KH, KW);
            if (oh * SH + a / KW == h && ow * SW + a % KW == w)
                s += g[oh * OW + ow];
        }
    dx[dx_off + idx] = s;
}
