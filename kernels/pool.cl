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

/* Launched as 2-D ranges (src/nn/pool.c): dimension 0 over the pixels of a
 * plane, dimension 1 over the NC planes; the host keeps every element count
 * below 2^32. The forward kernels and pool_backward_tiled loop over both:
 * on GPUs each item runs once (one output element or band of one plane), on
 * CPU devices a few items in groups of one take blocks of whole planes
 * (ITEM_ROWS): one code generation whatever the planes' size (a group size
 * per shape meant one per layer) and no loop over a group's items. */

/* One work item per output element. The window's sum is taken in
 * row-major order, then divided by KH*KW. */
kernel void pool_avg_forward(int NC, int H, int W, int KH, int KW, int SH, int SW, int OH, int OW,
                             global const float *x, spk_off_t x_off, global float *y, spk_off_t y_off)
{
    ITEM_ROWS(NC, 1, p0, p1);
    for (uint plane = (uint)p0; plane < (uint)p1; plane++)
        for (uint o = (uint)get_global_id(0); o < (uint)(OH * OW); o += (uint)get_global_size(0)) {
            const int oh = (int)(o / (uint)OW), ow = (int)(o % (uint)OW);
            global const float *xp = x + x_off + (spk_off_t)plane * (uint)(H * W) + (uint)(oh * SH * W + ow * SW);
            float s = 0.0f;
            for (int i = 0; i < KH; i++)
                for (int j = 0; j < KW; j++)
                    s += xp[i * W + j];
            y[y_off + (spk_off_t)plane * (uint)(OH * OW) + o] = s / (float)(KH * KW);
        }
}

/* One work item per input element. */
kernel void pool_avg_backward(int NC, int H, int W, int KH, int KW, int SH, int SW, int OH, int OW,
                              global const float *dy, spk_off_t dy_off, global float *dx, spk_off_t dx_off)
{
    const uint hw = (uint)get_global_id(0), plane = (uint)get_global_id(1);
    if (hw >= (uint)(H * W) || plane >= (uint)NC)
        return;
    const int h = (int)(hw / (uint)W), w = (int)(hw % (uint)W);
    int oh0, oh1, ow0, ow1;
    covering(h, KH, SH, OH, &oh0, &oh1);
    covering(w, KW, SW, OW, &ow0, &ow1);
    global const float *g = dy + dy_off + (spk_off_t)plane * (uint)(OH * OW);
    float s = 0.0f;
    for (int oh = oh0; oh <= oh1; oh++)
        for (int ow = ow0; ow <= ow1; ow++)
            s += g[oh * OW + ow];
    dx[dx_off + (spk_off_t)plane * (uint)(H * W) + hw] = s / (float)(KH * KW);
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

/* The window's value at that first maximum: the forward's output. */
static inline float window_max(global const float *xp, int W, int KH, int KW)
{
    const int a = window_argmax(xp, W, KH, KW);
    return xp[(a / KW) * W + a % KW];
}

/* 2x2 windows at stride 2, the usual max pooling, four at a time: the
 * band's two rows as float8 a (row h0) and b (h0 + 1), whose even and odd
 * lanes are the windows' left and right columns. The first maximum in
 * row-major order as window_argmax finds it, comparison for comparison:
 * the same values and positions, bit for bit (NaN included). *best gets
 * the maxima; returns their positions 0..3. */
static inline int4 argmax_2x2(float8 a, float8 b, float4 *best)
{
    float4 m = a.even;
    int4 arg = 0, c = a.odd > m;
    m = select(m, a.odd, c), arg = select(arg, (int4)1, c);
    c = b.even > m;
    m = select(m, b.even, c), arg = select(arg, (int4)2, c);
    c = b.odd > m;
    m = select(m, b.odd, c), arg = select(arg, (int4)3, c);
    *best = m;
    return arg;
}

#define IS_2X2(KH, KW, SH, SW) ((KH) == 2 && (KW) == 2 && (SH) == 2 && (SW) == 2)

/* Band oh of a plane for 2x2 stride-2 max pooling: y's windows ow = 0, 4, 8
 * ... while four fit; returns the first window left to the generic code. */
static inline int max_2x2_forward_band(int W, int OW, int oh, global const float *xp, global float *yp)
{
    global const float *r = xp + (uint)(2 * oh * W);
    int ow = 0;
    for (; ow + 4 <= OW; ow += 4) {
        float4 m;
        (void)argmax_2x2(vload8(0, r + 2 * ow), vload8(0, r + W + 2 * ow), &m);
        vstore4(m, 0, yp + (uint)(oh * OW + ow));
    }
    return ow;
}

kernel void pool_max_forward(int NC, int H, int W, int KH, int KW, int SH, int SW, int OH, int OW,
                             global const float *x, spk_off_t x_off, global float *y, spk_off_t y_off)
{
    ITEM_ROWS(NC, 1, p0, p1); /* CPU devices: blocks of whole planes (ITEMS_OVER_PLANES) */
    /* CPU devices (one item along the plane): a band's windows four at a time first */
    const int by_bands = IS_2X2(KH, KW, SH, SW) && get_global_size(0) == 1;
    for (uint plane = (uint)p0; plane < (uint)p1; plane++) {
        global const float *xplane = x + x_off + (spk_off_t)plane * (uint)(H * W);
        global float *yplane = y + y_off + (spk_off_t)plane * (uint)(OH * OW);
        for (int oh = 0; by_bands && oh < OH; oh++)
            SCALAR_LOOP
            for (int ow = max_2x2_forward_band(W, OW, oh, xplane, yplane); ow < OW; ow++)
                yplane[oh * OW + ow] = window_max(xplane + (uint)(2 * oh * W + 2 * ow), W, 2, 2);
        SCALAR_LOOP
        for (uint o = (uint)get_global_id(0); !by_bands && o < (uint)(OH * OW); o += (uint)get_global_size(0)) {
            const int oh = (int)(o / (uint)OW), ow = (int)(o % (uint)OW);
            yplane[o] = window_max(xplane + (uint)(oh * SH * W + ow * SW), W, KH, KW);
        }
    }
}

/* The gradient of a window goes to its first maximum, recomputed from the
 * forward's input: no argmax buffer to keep, and the same tie rule as the
 * forward by construction. One work item per input element. */
kernel void pool_max_backward(int NC, int H, int W, int KH, int KW, int SH, int SW, int OH, int OW,
                              global const float *x, spk_off_t x_off, global const float *dy, spk_off_t dy_off,
                              global float *dx, spk_off_t dx_off)
{
    const uint hw = (uint)get_global_id(0), plane = (uint)get_global_id(1);
    if (hw >= (uint)(H * W) || plane >= (uint)NC)
        return;
    const int h = (int)(hw / (uint)W), w = (int)(hw % (uint)W);
    int oh0, oh1, ow0, ow1;
    covering(h, KH, SH, OH, &oh0, &oh1);
    covering(w, KW, SW, OW, &ow0, &ow1);
    global const float *xplane = x + x_off + (spk_off_t)plane * (uint)(H * W);
    global const float *g = dy + dy_off + (spk_off_t)plane * (uint)(OH * OW);
    float s = 0.0f;
    for (int oh = oh0; oh <= oh1; oh++)
        for (int ow = ow0; ow <= ow1; ow++) {
            const int a = window_argmax(xplane + (uint)(oh * SH * W + ow * SW), W, KH, KW);
            if (oh * SH + a / KW == h && ow * SW + a % KW == w)
                s += g[oh * OW + ow];
        }
    dx[dx_off + (spk_off_t)plane * (uint)(H * W) + hw] = s;
}

/* Backward without overlapping windows (stride >= window in both
 * directions; the usual 2x2 stride-2 case): one work item per band of SH
 * input rows (band oh of a plane; band OH is the rows no window reaches)
 * writes every pixel of the band once: a window's gradient at its first
 * maximum (IS_MAX) or spread evenly (average), zero elsewhere. The argmax
 * is computed once per window instead of once per input pixel, and the
 * result equals the gather kernels' bit for bit (each pixel has at most
 * one window). 2-D range (band, plane). */
kernel void pool_backward_tiled(int is_max, int NC, int H, int W, int KH, int KW, int SH, int SW, int OH, int OW,
                                global const float *x, spk_off_t x_off, global const float *dy, spk_off_t dy_off,
                                global float *dx, spk_off_t dx_off)
{
    ITEM_ROWS(NC, 1, p0, p1);
    for (uint plane = (uint)p0; plane < (uint)p1; plane++)
        for (int oh = (int)get_global_id(0); oh <= OH; oh += (int)get_global_size(0)) {
            const spk_off_t base = (spk_off_t)plane * (uint)(H * W);
            global float *out = dx + dx_off + base;
            const int h0 = oh * SH, h1 = oh < OH ? min(h0 + SH, H) : H;
            if (oh == OH) { /* rows below the last window */
                for (int h = h0; h < h1; h++)
                    SCALAR_LOOP
                    for (int w = 0; w < W; w++)
                        out[h * W + w] = 0.0f;
                continue;
            }
            global const float *g = dy + dy_off + (spk_off_t)plane * (uint)(OH * OW) + (uint)(oh * OW);
            global const float *xp = x + x_off + base;
            int ow = 0;
            if (is_max && IS_2X2(KH, KW, SH, SW)) /* four windows at a time */
                for (global const float *r = xp + (uint)(h0 * W); ow + 4 <= OW; ow += 4) {
                    float4 m;
                    const int4 a = argmax_2x2(vload8(0, r + 2 * ow), vload8(0, r + W + 2 * ow), &m);
                    const float4 gv = vload4(0, g + ow), z = 0.0f;
                    const uint8 lanes = (uint8)(0, 4, 1, 5, 2, 6, 3, 7); /* even, odd, even, ... */
                    vstore8(shuffle2(select(z, gv, a == 0), select(z, gv, a == 1), lanes), 0, out + h0 * W + 2 * ow);
                    vstore8(shuffle2(select(z, gv, a == 2), select(z, gv, a == 3), lanes), 0,
                            out + (h0 + 1) * W + 2 * ow);
                }
            SCALAR_LOOP
            for (; ow < OW; ow++) {
                const int w0 = ow * SW;
                const int a = is_max ? window_argmax(xp + h0 * W + w0, W, KH, KW) : 0;
                const float gv = g[ow], avg = gv / (float)(KH * KW);
                for (int h = h0; h < h1; h++)
                    SCALAR_LOOP
                    for (int w = w0; w < w0 + SW && w < W; w++) {
                        const int i = h - h0, j = w - w0;
                        float v = 0.0f;
                        if (i < KH && j < KW)
                            v = is_max ? (i * KW + j == a ? gv : 0.0f) : avg;
                        out[h * W + w] = v;
                    }
            }
            for (int h = h0; h < h1; h++) /* columns right of the last window */
                SCALAR_LOOP
                for (int w = OW * SW; w < W; w++)
                    out[h * W + w] = 0.0f;
        }
}
