/* 2-D convolution synapse layer (kernels/conv.cl): im2col over all N = T*B
 * images of the sequence (B for a static input), then one GEMM.
 *
 *   forward   cols[K, N*P] = im2col(x[N, C, H, W])
 *             y2[OC, N*P]  = W[OC, K] cols
 *             y[N, OC, P]  = y2 reshuffled + bias            (conv_output)
 *   backward  dy2[OC, N*P] = dy reshuffled (summed over time if static)
 *             dW = dy2 cols^T,  db = row sums of dy2,
 *             dcols = W^T dy2,  dx = col2im(dcols)           (gather, no atomics)
 *
 * Why the columns are [K, N*P] and not [N*P, K]: with either layout the
 * GEMM's output is channel-major ([OC, N*P]) or pixel-major ([N*P, OC]),
 * never the network's [N, OC, P], so one reshuffle is needed either way.
 * From [OC, N*P] it moves contiguous runs of P elements (a row copy, which
 * also adds the bias and, for a static input, writes the T copies), while
 * from [N*P, OC] it would be a strided transpose; and the im2col writes of
 * [K, N*P] run along output pixels, contiguous in both x and cols. Measured
 * on PoCL (CPU) for the 12 -> 32 5x5 layer of the spiking CNN preset over
 * 1600 images, the three GEMMs of this layout took 0.84 s against 0.92 s
 * for the [N*P, K] layout. A batched GEMM per image would avoid the
 * reshuffle but launches N small GEMMs.
 *
 * im2col and col2im run one work item per row of output (input) pixels: on
 * CPUs this was 3x faster than one item per element (the index arithmetic
 * and per-group overhead dominate there); on GPUs neighbouring items still
 * touch neighbouring rows.
 *
 * The columns are kept from the forward for the weight gradient; the
 * input gradient's columns are allocated at the first backward that needs
 * them (a first layer never does). */
#include <math.h>
#include <stdio.h>

#include "nn/layer_internal.h"
#include "nn/plasticity_internal.h"
#include "ops/ops_internal.h"

typedef struct conv2d {
    spk_layer base;
    spk_conv2d_params p;
    size_t C, H, W, OH, OW; /* per-sample geometry, set when the network is built */
    spk_tensor *cols;       /* [K, N*P] */
    spk_tensor *dcols;      /* [K, N*P], for the input gradient */
    spk_tensor *y2;         /* [OC, N*P]: GEMM output, then the output gradient */
    spk_tensor *partial;    /* [OC, N]: bias gradient per image */
} conv2d;

enum { WEIGHT = 0, BIAS = 1 };

#define FILE_ "conv.cl"

/* The program's -D options: STEP_SYNC on CPU devices (common.clh). */
static const char *options(const spk_context *ctx)
{
    return spk__step_sync(ctx) ? "-DSTEP_SYNC=1" : "";
}

spk_conv2d_params spk_conv2d_params_default(size_t in_channels, size_t out_channels, size_t k)
{
    spk_conv2d_params p = {in_channels, out_channels, k, k, 1, 1, 0, 0, 1, 0.0f, 0};
    return p;
}

spk_status spk__conv_warmup(spk_context *ctx)
{
    cl_program prog;
    return spk__program_get(ctx, FILE_, options(ctx), &prog);
}

static size_t kdim(const conv2d *cv)
{
    return cv->p.in_channels * cv->p.kernel_h * cv->p.kernel_w;
}

/* Images per GEMM: T*B, or B for a static input. */
static size_t images(const spk_layer *l)
{
    return l->static_input ? l->B : l->T * l->B;
}

/* Messages start with a verb: the network prefixes "layer i (...) does not accept ...: it". */
static spk_status conv_infer(spk_layer *l, int in_ndim, const size_t *in, int *out_ndim, size_t *out)
{
    conv2d *cv = (conv2d *)l;
    const spk_conv2d_params *p = &cv->p;
    char got[96];
    spk__dims_str(in_ndim, in, got, sizeof got);
    size_t C, H, W;
    if (in_ndim == 3) {
        C = in[0], H = in[1], W = in[2];
    } else if (in_ndim == 2 && p->in_channels == 1) {
        C = 1, H = in[0], W = in[1];
    } else {
        return spk__error(l->ctx, SPK_ERR_SHAPE, "expects a per-sample input [C=%zu, H, W]%s, gets %s",
                          p->in_channels, p->in_channels == 1 ? " or [H, W]" : "", got);
    }
    if (C != p->in_channels)
        return spk__error(l->ctx, SPK_ERR_SHAPE, "expects %zu input channels ([C=%zu, H, W]), gets %s",
                          p->in_channels, p->in_channels, got);
    if (H + 2 * p->pad_h < p->kernel_h || W + 2 * p->pad_w < p->kernel_w)
        return spk__error(l->ctx, SPK_ERR_SHAPE,
                          "needs the %zux%zu kernel to fit the input %s padded by (%zu, %zu), which is "
                          "%zux%zu", p->kernel_h, p->kernel_w, got, p->pad_h, p->pad_w, H + 2 * p->pad_h,
                          W + 2 * p->pad_w);
    if (C * H * W > 0x7fffffffu || kdim(cv) > 0x7fffffffu || H + 2 * p->pad_h > 0x7fffffffu ||
        W + 2 * p->pad_w > 0x7fffffffu)
        return spk__error(l->ctx, SPK_ERR_SHAPE, "has an input %s too large for 32-bit indices", got);
    cv->C = C, cv->H = H, cv->W = W;
    cv->OH = (H + 2 * p->pad_h - p->kernel_h) / p->stride_h + 1;
    cv->OW = (W + 2 * p->pad_w - p->kernel_w) / p->stride_w + 1;
    if (p->out_channels * cv->OH * cv->OW > 0x7fffffffu)
        return spk__error(l->ctx, SPK_ERR_SHAPE, "would make an output [%zu, %zu, %zu] too large for 32-bit indices",
                          p->out_channels, cv->OH, cv->OW);
    *out_ndim = 3;
    out[0] = p->out_channels, out[1] = cv->OH, out[2] = cv->OW;
    return SPK_OK;
}

static void conv_destroy(spk_layer *l)
{
    conv2d *cv = (conv2d *)l;
    spk_tensor_free(cv->cols), spk_tensor_free(cv->dcols), spk_tensor_free(cv->y2), spk_tensor_free(cv->partial);
    cv->cols = cv->dcols = cv->y2 = cv->partial = NULL;
}

static spk_status conv_prepare(spk_layer *l, size_t T, size_t B)
{
    (void)T, (void)B;
    spk_status st = SPK_OK;
    conv2d *cv = (conv2d *)l;
    conv_destroy(l);
    spk__program_expect(l->ctx, FILE_, options(l->ctx));
    const size_t N = images(l), NP = N * cv->OH * cv->OW;
    /* The kernels index within a tensor in 32 bits. */
    if (kdim(cv) * NP > 0xffffffffu || N * cv->C * cv->H * cv->W > 0xffffffffu ||
        cv->p.out_channels * NP > 0xffffffffu)
        return spk__error(l->ctx, SPK_ERR_SHAPE,
                          "conv2d: %zu images of [%zu, %zu, %zu] make %zu x %zu columns, more than 2^32 elements",
                          N, cv->C, cv->H, cv->W, kdim(cv), NP);
    SPK_TRY(spk_tensor_create(l->ctx, SPK_F32, 2, (size_t[2]){kdim(cv), NP}, &cv->cols));
    SPK_TRY(spk_tensor_create(l->ctx, SPK_F32, 2, (size_t[2]){cv->p.out_channels, NP}, &cv->y2));
    if (cv->p.bias)
        SPK_TRY(spk_tensor_create(l->ctx, SPK_F32, 2, (size_t[2]){cv->p.out_channels, N}, &cv->partial));
fail:
    return st;
}

/* The 12 geometry arguments that conv_im2col and conv_col2im share. */
typedef struct geometry {
    cl_int N, C, H, W, KH, KW, SH, SW, PH, PW, OH, OW;
} geometry;

static geometry geometry_of(const conv2d *cv, size_t N)
{
    const spk_conv2d_params *p = &cv->p;
    return (geometry){(cl_int)N,           (cl_int)cv->C,       (cl_int)cv->H,       (cl_int)cv->W,
                      (cl_int)p->kernel_h, (cl_int)p->kernel_w, (cl_int)p->stride_h, (cl_int)p->stride_w,
                      (cl_int)p->pad_h,    (cl_int)p->pad_w,    (cl_int)cv->OH,      (cl_int)cv->OW};
}

#define GEOMETRY_ARGS(g)                                                                                        \
    SPK_ARG((g).N), SPK_ARG((g).C), SPK_ARG((g).H), SPK_ARG((g).W), SPK_ARG((g).KH), SPK_ARG((g).KW),          \
        SPK_ARG((g).SH), SPK_ARG((g).SW), SPK_ARG((g).PH), SPK_ARG((g).PW), SPK_ARG((g).OH), SPK_ARG((g).OW)

/* Unfold (dir 0: x -> cols) or fold back (dir 1: dcols -> dx). */
static spk_status fold(conv2d *cv, int dir, size_t N, const spk_tensor *src, spk_tensor *dst)
{
    spk_status st = SPK_OK;
    spk_context *ctx = cv->base.ctx;
    cl_kernel k;
    geometry g = geometry_of(cv, N);
    const int planes = dir && spk__step_sync(ctx); /* CPU devices: whole planes per item */
    SPK_TRY(spk__kernel_get(ctx, FILE_, options(ctx),
                            planes ? "conv_col2im_planes" : dir ? "conv_col2im" : "conv_im2col", &k));
    spk__buf s = spk__buf_of(src), d = spk__buf_of(dst);
    SPK_TRY(SPK_SET_ARGS(ctx, k, GEOMETRY_ARGS(g), SPK_BUF(s), SPK_BUF(d)));
    if (planes)
        SPK_TRY(spk__launch_rows(ctx, k, 1, 0, 0, N * cv->C));
    else if (dir)
        SPK_TRY(spk__launch_nd(ctx, k, 2, (size_t[2]){cv->H, N * cv->C}));
    else /* rows of the columns, every oh */
        SPK_TRY(spk__launch_rows(ctx, k, spk__step_sync(ctx), 1, cv->OH, kdim(cv) * N));
fail:
    return st;
}

static spk_status conv_forward(spk_layer *l, const spk_tensor *in, spk_tensor *out)
{
    spk_status st = SPK_OK;
    conv2d *cv = (conv2d *)l;
    const size_t N = images(l), OC = cv->p.out_channels, P = cv->OH * cv->OW;
    spk_tensor *w = NULL;
    cl_kernel k;
    SPK_TRY(fold(cv, 0, N, in, cv->cols));
    SPK_TRY(spk__view2d(l->params[WEIGHT], OC, kdim(cv), &w));
    SPK_TRY(spk_gemm(0, 0, 1.0f, w, cv->cols, 0.0f, cv->y2));
    const int rows = spk__step_sync(l->ctx);
    SPK_TRY(spk__kernel_get(l->ctx, FILE_, options(l->ctx), rows ? "conv_output_rows" : "conv_output", &k));
    /* a static input's current T times, unless the next layer reads it once (out_once) */
    cl_int reps = l->static_input && !l->out_once ? (cl_int)l->T : 1, n = (cl_int)N, oc = (cl_int)OC, p = (cl_int)P;
    spk__buf y2 = spk__buf_of(cv->y2), b = spk__buf_or(cv->p.bias ? l->params[BIAS] : NULL, cv->y2),
             y = spk__buf_of(out);
    SPK_TRY(SPK_SET_ARGS(l->ctx, k, SPK_ARG(reps), SPK_ARG(n), SPK_ARG(oc), SPK_ARG(p), SPK_BUF(y2), SPK_BUF(b),
                         SPK_ARG(b.present), SPK_BUF(y)));
    SPK_TRY(rows ? spk__launch_rows(l->ctx, k, 1, 0, 0, N * OC) : spk__launch_nd(l->ctx, k, 2, (size_t[2]){P, N * OC}));
fail:
    spk_tensor_free(w);
    return st;
}

/* db[oc] = sum over the images of (sum over pixels of dy2[oc, n, :]). */
static spk_status bias_grad(conv2d *cv, size_t N)
{
    spk_status st = SPK_OK;
    spk_layer *l = &cv->base;
    cl_kernel k1, k2;
    cl_int n = (cl_int)N, oc = (cl_int)cv->p.out_channels, p = (cl_int)(cv->OH * cv->OW);
    spk__buf y2 = spk__buf_of(cv->y2), part = spk__buf_of(cv->partial), db = spk__buf_of(l->grads[BIAS]);
    SPK_TRY(spk__kernel_get(l->ctx, FILE_, options(l->ctx), "conv_bias_partial", &k1));
    SPK_TRY(SPK_SET_ARGS(l->ctx, k1, SPK_ARG(n), SPK_ARG(oc), SPK_ARG(p), SPK_BUF(y2), SPK_BUF(part)));
    SPK_TRY(spk__launch_1d(l->ctx, k1, N * cv->p.out_channels));
    SPK_TRY(spk__kernel_get(l->ctx, FILE_, options(l->ctx), "conv_bias_reduce", &k2));
    SPK_TRY(SPK_SET_ARGS(l->ctx, k2, SPK_ARG(n), SPK_ARG(oc), SPK_BUF(part), SPK_BUF(db)));
    SPK_TRY(spk__launch_1d(l->ctx, k2, cv->p.out_channels));
fail:
    return st;
}

static spk_status conv_backward(spk_layer *l, const spk_tensor *in, const spk_tensor *out,
                                const spk_tensor *grad_out, spk_tensor *grad_in)
{
    (void)in, (void)out;
    spk_status st = SPK_OK;
    conv2d *cv = (conv2d *)l;
    const size_t N = images(l), OC = cv->p.out_channels, P = cv->OH * cv->OW, K = kdim(cv);
    spk_tensor *w = NULL, *dw = NULL;
    cl_kernel k;
    /* dy2[OC, N*P], summed over time for a static input (here, or by the next layer: grad_once) */
    const int rows = spk__step_sync(l->ctx);
    SPK_TRY(spk__kernel_get(l->ctx, FILE_, options(l->ctx), rows ? "conv_grad_output_rows" : "conv_grad_output",
                            &k));
    cl_int reps = l->static_input && !l->grad_once ? (cl_int)l->T : 1, n = (cl_int)N, oc = (cl_int)OC, p = (cl_int)P;
    spk__buf dy = spk__buf_of(grad_out), dy2 = spk__buf_of(cv->y2);
    SPK_TRY(SPK_SET_ARGS(l->ctx, k, SPK_ARG(reps), SPK_ARG(n), SPK_ARG(oc), SPK_ARG(p), SPK_BUF(dy), SPK_BUF(dy2)));
    SPK_TRY(rows ? spk__launch_rows(l->ctx, k, 1, 0, 0, OC * N) : spk__launch_nd(l->ctx, k, 2, (size_t[2]){P, OC * N}));
    SPK_TRY(spk__view2d(l->grads[WEIGHT], OC, K, &dw));
    SPK_TRY(spk_gemm(0, 1, 1.0f, cv->y2, cv->cols, 0.0f, dw));
    if (cv->p.bias)
        SPK_TRY(bias_grad(cv, N));
    if (grad_in && !l->static_input) {
        if (!cv->dcols)
            SPK_TRY(spk_tensor_create(l->ctx, SPK_F32, 2, (size_t[2]){K, N * P}, &cv->dcols));
        SPK_TRY(spk__view2d(l->params[WEIGHT], OC, K, &w));
        SPK_TRY(spk_gemm(1, 0, 1.0f, w, cv->y2, 0.0f, cv->dcols));
        SPK_TRY(fold(cv, 1, N, cv->dcols, grad_in));
    }
fail:
    spk_tensor_free(w), spk_tensor_free(dw);
    return st;
}

static void conv_describe(const spk_layer *l, char *buf, size_t cap)
{
    const spk_conv2d_params *p = &((const conv2d *)l)->p;
    snprintf(buf, cap, "conv2d %zu -> %zu, %zux%zu (stride %zux%zu, pad %zux%zu%s)", p->in_channels, p->out_channels,
             p->kernel_h, p->kernel_w, p->stride_h, p->stride_w, p->pad_h, p->pad_w, p->bias ? ", bias" : "");
}

static const spk__layer_vtable CONV2D = {"conv2d", conv_infer, conv_prepare, conv_forward, conv_backward, 1,
                                         conv_describe, conv_destroy};

int spk__is_conv2d_layer(const spk_layer *l)
{
    return l && l->vt == &CONV2D;
}

spk_status spk_conv2d_create(spk_context *ctx, const spk_conv2d_params *p, spk_layer **out)
{
    spk_status st = SPK_OK;
    spk_layer *l = NULL;
    SPK_CHECK(ctx, ctx && p && out, SPK_ERR_NULL_POINTER, "spk_conv2d_create: ctx, params or out is NULL");
    SPK_CHECK(ctx, p->in_channels > 0 && p->out_channels > 0, SPK_ERR_INVALID_ARGUMENT,
              "spk_conv2d_create: in_channels and out_channels must be > 0 (got %zu, %zu)", p->in_channels,
              p->out_channels);
    SPK_CHECK(ctx, p->kernel_h > 0 && p->kernel_w > 0, SPK_ERR_INVALID_ARGUMENT,
              "spk_conv2d_create: the kernel size must be > 0 (got %zux%zu)", p->kernel_h, p->kernel_w);
    SPK_CHECK(ctx, p->stride_h > 0 && p->stride_w > 0, SPK_ERR_INVALID_ARGUMENT,
              "spk_conv2d_create: the stride must be > 0 (got %zux%zu)", p->stride_h, p->stride_w);
    SPK_CHECK(ctx, p->in_channels <= 0xffffu && p->out_channels <= 0xffffu && p->kernel_h <= 0xffffu &&
                       p->kernel_w <= 0xffffu && p->stride_h <= 0xffffu && p->stride_w <= 0xffffu &&
                       p->pad_h <= 0xffffu && p->pad_w <= 0xffffu,
              SPK_ERR_INVALID_ARGUMENT, "spk_conv2d_create: channels, kernel, stride and padding must be < 65536");
    SPK_CHECK(ctx, p->init_bound >= 0.0f && isfinite(p->init_bound), SPK_ERR_INVALID_ARGUMENT,
              "spk_conv2d_create: init_bound must be finite and >= 0");
    SPK_TRY(spk__layer_alloc(ctx, &CONV2D, sizeof(conv2d), &l));
    conv2d *cv = (conv2d *)l;
    cv->p = *p;
    SPK_TRY(spk__layer_add_param(l, "weight", 4, (size_t[4]){p->out_channels, p->in_channels, p->kernel_h, p->kernel_w}));
    if (p->bias)
        SPK_TRY(spk__layer_add_param(l, "bias", 1, (size_t[1]){p->out_channels}));
    float bound = p->init_bound > 0.0f ? p->init_bound : 1.0f / sqrtf((float)kdim(cv));
    SPK_TRY(spk__init_params_uniform(l, bound, p->seed));
    *out = l;
    return SPK_OK;
fail:
    spk_layer_free(l);
    return st;
}

/* The geometry of a conv2d layer's weight for plasticity (nn/plasticity_net.c),
 * known once the network is built; 0 if l is not a conv2d layer. */
int spk__conv2d_stdp_geometry(const spk_layer *l, spk_stdp_conv *g)
{
    if (!l || l->vt != &CONV2D)
        return 0;
    const conv2d *cv = (const conv2d *)l;
    const spk_conv2d_params *p = &cv->p;
    *g = (spk_stdp_conv){cv->C,       cv->H,       cv->W,       p->out_channels, p->kernel_h,
                         p->kernel_w, p->stride_h, p->stride_w, p->pad_h,        p->pad_w};
    return 1;
}
