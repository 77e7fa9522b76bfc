/* Plain-C references of kernels/conv.cl, kernels/pool.cl and
 * kernels/dropout.cl: direct loops over the definitions, not im2col. */
#include <stdlib.h>

#include "philox.clh"
#include "ref/ref.h"

size_t spk_ref_conv_out_h(const spk_ref_conv_shape *s)
{
    return (s->H + 2 * s->PH - s->KH) / s->SH + 1;
}

size_t spk_ref_conv_out_w(const spk_ref_conv_shape *s)
{
    return (s->W + 2 * s->PW - s->KW) / s->SW + 1;
}

/* x[n, c, h, w] with zero padding; h, w may be out of range. */
static double at(const spk_ref_conv_shape *s, const float *x, size_t n, size_t c, long h, long w)
{
    if (h < 0 || w < 0 || h >= (long)s->H || w >= (long)s->W)
        return 0.0;
    return x[((n * s->C + c) * s->H + (size_t)h) * s->W + (size_t)w];
}

void spk_ref_conv2d_forward(const spk_ref_conv_shape *s, const float *x, const float *w, const float *bias,
                            float *y)
{
    const size_t OH = spk_ref_conv_out_h(s), OW = spk_ref_conv_out_w(s);
    for (size_t n = 0; n < s->N; n++)
        for (size_t o = 0; o < s->OC; o++)
            for (size_t oh = 0; oh < OH; oh++)
                for (size_t ow = 0; ow < OW; ow++) {
                    double acc = 0.0;
                    for (size_t c = 0; c < s->C; c++)
                        for (size_t i = 0; i < s->KH; i++)
                            for (size_t j = 0; j < s->KW; j++) {
                                long h = (long)(oh * s->SH + i) - (long)s->PH;
                                long ww = (long)(ow * s->SW + j) - (long)s->PW;
                                acc += (double)w[((o * s->C + c) * s->KH + i) * s->KW + j] * at(s, x, n, c, h, ww);
                            }
                    if (bias)
                        acc += bias[o];
                    y[((n * s->OC + o) * OH + oh) * OW + ow] = (float)acc;
                }
}

void spk_ref_conv2d_backward(const spk_ref_conv_shape *s, const float *x, const float *w, const float *dy, float *dx,
                             float *dw, float *db)
{
    const size_t OH = spk_ref_conv_out_h(s), OW = spk_ref_conv_out_w(s);
    const size_t nx = s->N * s->C * s->H * s->W, nw = s->OC * s->C * s->KH * s->KW;
    double *gx = calloc(nx, sizeof *gx), *gw = calloc(nw, sizeof *gw), *gb = calloc(s->OC, sizeof *gb);
    if (!gx || !gw || !gb)
        abort(); /* tests only */
    for (size_t n = 0; n < s->N; n++)
        for (size_t o = 0; o < s->OC; o++)
            for (size_t oh = 0; oh < OH; oh++)
                for (size_t ow = 0; ow < OW; ow++) {
                    const double g = dy[((n * s->OC + o) * OH + oh) * OW + ow];
                    gb[o] += g;
                    for (size_t c = 0; c < s->C; c++)
                        for (size_t i = 0; i < s->KH; i++)
                            for (size_t j = 0; j < s->KW; j++) {
                                long h = (long)(oh * s->SH + i) - (long)s->PH;
                                long ww = (long)(ow * s->SW + j) - (long)s->PW;
                                const size_t wi = ((o * s->C + c) * s->KH + i) * s->KW + j;
                                gw[wi] += g * at(s, x, n, c, h, ww);
                                if (h >= 0 && ww >= 0 && h < (long)s->H && ww < (long)s->W)
                                    gx[((n * s->C + c) * s->H + (size_t)h) * s->W + (size_t)ww] += g * w[wi];
                            }
                }
    for (size_t i = 0; dx && i < nx; i++)
        dx[i] = (float)gx[i];
    for (size_t i = 0; dw && i < nw; i++)
        dw[i] = (float)gw[i];
    for (size_t i = 0; db && i < s->OC; i++)
        db[i] = (float)gb[i];
    free(gx), free(gw), free(gb);
}

/* ---- Pooling -------------------------------------------------------- */

/* Offset (i*KW + j) of the first maximum of the window at (oh, ow). */
static size_t window_argmax(const spk_ref_conv_shape *s, const float *plane, size_t oh, size_t ow)
{
    size_t arg = 0;
    float best = plane[oh * s->SH * s->W + ow * s->SW];
    for (size_t i = 0; i < s->KH; i++)
        for (size_t j = 0; j < s->KW; j++) {
            float v = plane[(oh * s->SH + i) * s->W + ow * s->SW + j];
            if (v > best)
                best = v, arg = i * s->KW + j;
        }
    return arg;
}

void spk_ref_avgpool2d_forward(const spk_ref_conv_shape *s, const float *x, float *y)
{
    const size_t OH = (s->H - s->KH) / s->SH + 1, OW = (s->W - s->KW) / s->SW + 1;
    for (size_t pl = 0; pl < s->N * s->C; pl++)
        for (size_t oh = 0; oh < OH; oh++)
            for (size_t ow = 0; ow < OW; ow++) {
                float sum = 0.0f;
                for (size_t i = 0; i < s->KH; i++)
                    for (size_t j = 0; j < s->KW; j++)
                        sum += x[(pl * s->H + oh * s->SH + i) * s->W + ow * s->SW + j];
                y[(pl * OH + oh) * OW + ow] = sum / (float)(s->KH * s->KW);
            }
}

void spk_ref_avgpool2d_backward(const spk_ref_conv_shape *s, const float *dy, float *dx)
{
    const size_t OH = (s->H - s->KH) / s->SH + 1, OW = (s->W - s->KW) / s->SW + 1;
    const size_t n = s->N * s->C * s->H * s->W;
    double *g = calloc(n, sizeof *g);
    if (!g)
        abort();
    for (size_t pl = 0; pl < s->N * s->C; pl++)
        for (size_t oh = 0; oh < OH; oh++)
            for (size_t ow = 0; ow < OW; ow++)
                for (size_t i = 0; i < s->KH; i++)
                    for (size_t j = 0; j < s->KW; j++)
                        g[(pl * s->H + oh * s->SH + i) * s->W + ow * s->SW + j] += dy[(pl * OH + oh) * OW + ow];
    for (size_t i = 0; i < n; i++)
        dx[i] = (float)(g[i] / (double)(s->KH * s->KW));
    free(g);
}

void spk_ref_maxpool2d_forward(const spk_ref_conv_shape *s, const float *x, float *y)
{
    const size_t OH = (s->H - s->KH) / s->SH + 1, OW = (s->W - s->KW) / s->SW + 1;
    for (size_t pl = 0; pl < s->N * s->C; pl++) {
        const float *plane = x + pl * s->H * s->W;
        for (size_t oh = 0; oh < OH; oh++)
            for (size_t ow = 0; ow < OW; ow++) {
                size_t a = window_argmax(s, plane, oh, ow);
                y[(pl * OH + oh) * OW + ow] = plane[(oh * s->SH + a / s->KW) * s->W + ow * s->SW + a % s->KW];
            }
    }
}

void spk_ref_maxpool2d_backward(const spk_ref_conv_shape *s, const float *x, const float *dy, float *dx)
{
    const size_t OH = (s->H - s->KH) / s->SH + 1, OW = (s->W - s->KW) / s->SW + 1;
    const size_t n = s->N * s->C * s->H * s->W;
    double *g = calloc(n, sizeof *g);
    if (!g)
        abort();
    for (size_t pl = 0; pl < s->N * s->C; pl++) {
        const float *plane = x + pl * s->H * s->W;
        for (size_t oh = 0; oh < OH; oh++)
            for (size_t ow = 0; ow < OW; ow++) {
                size_t a = window_argmax(s, plane, oh, ow);
                g[(pl * s->H + oh * s->SH + a / s->KW) * s->W + ow * s->SW + a % s->KW] +=
                    dy[(pl * OH + oh) * OW + ow];
            }
    }
    for (size_t i = 0; i < n; i++)
        dx[i] = (float)g[i];
    free(g);
}

/* ---- Dropout -------------------------------------------------------- */

void spk_ref_dropout_mask(uint64_t seed, uint32_t salt, uint64_t call, size_t n, float p, float *mask)
{
    const float scale = 1.0f / (1.0f - p);
    for (size_t j = 0; j < n; j++) {
        spk_philox4 ctr = {{(spk_u32)(j >> 2), salt, (spk_u32)call, (spk_u32)(call >> 32)}};
        spk_philox4 r = spk_philox4x32_10(ctr, (spk_u32)seed, (spk_u32)(seed >> 32));
        mask[j] = spk_u32_to_unit(r.v[j & 3]) >= p ? scale : 0.0f;
    }
}

void spk_ref_dropout_apply(const float *mask, size_t n, size_t T, const float *x, float *y)
{
    for (size_t t = 0; t < T; t++)
        for (size_t j = 0; j < n; j++)
            y[t * n + j] = x[t * n + j] * mask[j];
}
