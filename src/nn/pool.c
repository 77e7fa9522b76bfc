/* Average and max pooling layers (kernels/pool.cl) over every channel of
 * the T*B images of a sequence, without padding. Max pooling's backward
 * recomputes each window's first maximum from the forward's input instead
 * of keeping an argmax buffer. */
#include <stdio.h>
#include <string.h>

#include "nn/layer_internal.h"
#include "ops/ops_internal.h"

typedef struct pool {
    spk_layer base;
    spk_pool_params p;
    int is_max;
    size_t planes, H, W, OH, OW; /* per sample: planes = channels; set when the network is built */
} pool;

#define FILE_ "pool.cl"

spk_pool_params spk_pool_params_default(size_t k)
{
    spk_pool_params p = {k, k, k, k};
    return p;
}

spk_status spk__pool_warmup(spk_context *ctx)
{
    cl_program prog;
    return spk__program_get(ctx, FILE_, "", &prog);
}

/* Messages start with a verb: the network prefixes "layer i (...) does not accept ...: it". */
static spk_status pool_infer(spk_layer *l, int in_ndim, const size_t *in, int *out_ndim, size_t *out)
{
    pool *pl = (pool *)l;
    char got[96];
    spk__dims_str(in_ndim, in, got, sizeof got);
    if (in_ndim != 2 && in_ndim != 3)
        return spk__error(l->ctx, SPK_ERR_SHAPE, "expects a per-sample input [C, H, W] or [H, W], gets %s", got);
    const size_t H = in[in_ndim - 2], W = in[in_ndim - 1];
    if (H < pl->p.kernel_h || W < pl->p.kernel_w)
        return spk__error(l->ctx, SPK_ERR_SHAPE, "needs the %zux%zu window to fit the input %s",
                          pl->p.kernel_h, pl->p.kernel_w, got);
    if (H * W > 0x7fffffffu)
        return spk__error(l->ctx, SPK_ERR_SHAPE, "has an input %s too large for 32-bit indices", got);
    pl->planes = in_ndim == 3 ? in[0] : 1;
    pl->H = H, pl->W = W;
    pl->OH = (H - pl->p.kernel_h) / pl->p.stride_h + 1;
    pl->OW = (W - pl->p.kernel_w) / pl->p.stride_w + 1;
    *out_ndim = in_ndim;
    if (in_ndim == 3)
        out[0] = in[0];
    out[in_ndim - 2] = pl->OH, out[in_ndim - 1] = pl->OW;
    return SPK_OK;
}

/* The 9 arguments every pooling kernel starts with. */
typedef struct pool_args {
    cl_int NC, H, W, KH, KW, SH, SW, OH, OW;
} pool_args;

#define POOL_ARGS(a)                                                                                           \
    SPK_ARG((a).NC), SPK_ARG((a).H), SPK_ARG((a).W), SPK_ARG((a).KH), SPK_ARG((a).KW), SPK_ARG((a).SH),       \
        SPK_ARG((a).SW), SPK_ARG((a).OH), SPK_ARG((a).OW)

static pool_args args_of(const pool *pl)
{
    const spk_layer *l = &pl->base;
    return (pool_args){(cl_int)(l->T * l->B * pl->planes), (cl_int)pl->H, (cl_int)pl->W,
                       (cl_int)pl->p.kernel_h, (cl_int)pl->p.kernel_w, (cl_int)pl->p.stride_h,
                       (cl_int)pl->p.stride_w, (cl_int)pl->OH, (cl_int)pl->OW};
}

static spk_status pool_prepare(spk_layer *l, size_t T, size_t B)
{
    pool *pl = (pool *)l;
    spk__program_expect(l->ctx, FILE_, "");
    if (T * B * pl->planes * pl->H * pl->W > 0xffffffffu) /* the kernels index in 32 bits */
        return spk__error(l->ctx, SPK_ERR_SHAPE, "%s: %zu x %zu samples of %zu channels are too many",
                          l->vt->type, T, B, pl->planes);
    return SPK_OK;
}

static spk_status pool_forward(spk_layer *l, const spk_tensor *in, spk_tensor *out)
{
    spk_status st = SPK_OK;
    pool *pl = (pool *)l;
    cl_kernel k;
    pool_args a = args_of(pl);
    SPK_TRY(spk__kernel_get(l->ctx, FILE_, "", pl->is_max ? "pool_max_forward" : "pool_avg_forward", &k));
    spk__buf x = spk__buf_of(in), y = spk__buf_of(out);
    SPK_TRY(SPK_SET_ARGS(l->ctx, k, POOL_ARGS(a), SPK_BUF(x), SPK_BUF(y)));
    SPK_TRY(spk__launch_rows(l->ctx, k, spk__step_sync(l->ctx), 1, pl->OH * pl->OW, (size_t)a.NC));
fail:
    return st;
}

static spk_status pool_backward(spk_layer *l, const spk_tensor *in, const spk_tensor *out,
                                const spk_tensor *grad_out, spk_tensor *grad_in)
{
    (void)out;
    spk_status st = SPK_OK;
    pool *pl = (pool *)l;
    cl_kernel k;
    if (!grad_in)
        return SPK_OK; /* no parameters: a first layer has nothing to compute */
    pool_args a = args_of(pl);
    spk__buf x = spk__buf_of(in), dy = spk__buf_of(grad_out), dx = spk__buf_of(grad_in);
    if (pl->p.stride_h >= pl->p.kernel_h && pl->p.stride_w >= pl->p.kernel_w) {
        /* Windows do not overlap: one work item per band of rows. */
        cl_int is_max = pl->is_max;
        SPK_TRY(spk__kernel_get(l->ctx, FILE_, "", "pool_backward_tiled", &k));
        SPK_TRY(SPK_SET_ARGS(l->ctx, k, SPK_ARG(is_max), POOL_ARGS(a), SPK_BUF(x), SPK_BUF(dy), SPK_BUF(dx)));
        SPK_TRY(spk__launch_rows(l->ctx, k, spk__step_sync(l->ctx), 1, pl->OH + 1, (size_t)a.NC));
        return SPK_OK;
    }
    if (pl->is_max) {
        SPK_TRY(spk__kernel_get(l->ctx, FILE_, "", "pool_max_backward", &k));
        SPK_TRY(SPK_SET_ARGS(l->ctx, k, POOL_ARGS(a), SPK_BUF(x), SPK_BUF(dy), SPK_BUF(dx)));
    } else {
        SPK_TRY(spk__kernel_get(l->ctx, FILE_, "", "pool_avg_backward", &k));
        SPK_TRY(SPK_SET_ARGS(l->ctx, k, POOL_ARGS(a), SPK_BUF(dy), SPK_BUF(dx)));
    }
    SPK_TRY(spk__launch_nd(l->ctx, k, 2, (size_t[2]){pl->H * pl->W, (size_t)a.NC}));
fail:
    return st;
}

static void pool_describe(const spk_layer *l, char *buf, size_t cap)
{
    const pool *pl = (const pool *)l;
    snprintf(buf, cap, "%s %zux%zu (stride %zux%zu)", pl->is_max ? "maxpool2d" : "avgpool2d", pl->p.kernel_h,
             pl->p.kernel_w, pl->p.stride_h, pl->p.stride_w);
}

static const spk__layer_vtable AVGPOOL = {"avgpool2d", pool_infer, pool_prepare, pool_forward, pool_backward, 0,
                                          pool_describe, NULL};
static const spk__layer_vtable MAXPOOL = {"maxpool2d", pool_infer, pool_prepare, pool_forward, pool_backward, 0,
                                          pool_describe, NULL};

static spk_status pool_create(spk_context *ctx, const spk_pool_params *p, int is_max, spk_layer **out)
{
    spk_status st = SPK_OK;
    const char *fn = is_max ? "spk_maxpool2d_create" : "spk_avgpool2d_create";
    spk_layer *l = NULL;
    SPK_CHECK(ctx, ctx && p && out, SPK_ERR_NULL_POINTER, "%s: ctx, params or out is NULL", fn);
    SPK_CHECK(ctx, p->kernel_h > 0 && p->kernel_w > 0, SPK_ERR_INVALID_ARGUMENT,
              "%s: the kernel size must be > 0 (got %zux%zu)", fn, p->kernel_h, p->kernel_w);
    SPK_CHECK(ctx, p->stride_h > 0 && p->stride_w > 0, SPK_ERR_INVALID_ARGUMENT,
              "%s: the stride must be > 0 (got %zux%zu)", fn, p->stride_h, p->stride_w);
    SPK_CHECK(ctx, p->kernel_h <= 0xffffu && p->kernel_w <= 0xffffu && p->stride_h <= 0xffffu &&
                       p->stride_w <= 0xffffu,
              SPK_ERR_INVALID_ARGUMENT, "%s: the kernel size and stride must be < 65536", fn);
    SPK_TRY(spk__layer_alloc(ctx, is_max ? &MAXPOOL : &AVGPOOL, sizeof(pool), &l));
    ((pool *)l)->p = *p;
    ((pool *)l)->is_max = is_max;
    *out = l;
fail:
    return st;
}

spk_status spk_avgpool2d_create(spk_context *ctx, const spk_pool_params *p, spk_layer **out)
{
    return pool_create(ctx, p, 0, out);
}

spk_status spk_maxpool2d_create(spk_context *ctx, const spk_pool_params *p, spk_layer **out)
{
    return pool_create(ctx, p, 1, out);
}
