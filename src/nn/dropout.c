/* Dropout with one mask per sequence (kernels/dropout.cl): in training
 * mode each element of a sample [B, features] is kept with probability
 * 1 - p and scaled by 1/(1 - p), the same at every time step (the usual
 * practice for spiking networks: a dropped neuron stays silent for the
 * whole sequence). The mask of the last training forward is kept for the
 * backward. Outside training the layer copies its input.
 *
 * Random stream: Philox4x32-10 keyed by the context seed, counter
 * (j / 4, the layer's index in its network, the number of training forwards
 * before this one (64 bits)): a new mask every training forward, two
 * dropout layers of one network independent, and the same masks again for
 * the same seed, network and call sequence. */
#include <math.h>
#include <stdio.h>

#include "nn/layer_internal.h"
#include "ops/ops_internal.h"

typedef struct dropout {
    spk_layer base;
    float p;
    uint64_t calls;     /* training forwards so far */
    int last_training;  /* mode of the last forward, for the backward */
    spk_tensor *mask;   /* [B, features]: 0 or 1/(1 - p) */
} dropout;

#define FILE_ "dropout.cl"

/* The program's -D options: STEP_SYNC on CPU devices (common.clh). */
static const char *options(const spk_context *ctx)
{
    return spk__step_sync(ctx) ? "-DSTEP_SYNC=1" : "";
}

spk_status spk__dropout_warmup(spk_context *ctx)
{
    cl_program prog;
    return spk__program_get(ctx, FILE_, options(ctx), &prog);
}

static spk_status dropout_infer(spk_layer *l, int in_ndim, const size_t *in, int *out_ndim, size_t *out)
{
    (void)l;
    *out_ndim = in_ndim;
    for (int i = 0; i < in_ndim; i++)
        out[i] = in[i];
    return SPK_OK;
}

static void dropout_destroy(spk_layer *l)
{
    dropout *d = (dropout *)l;
    spk_tensor_free(d->mask);
    d->mask = NULL;
}

static spk_status dropout_prepare(spk_layer *l, size_t T, size_t B)
{
    dropout *d = (dropout *)l;
    dropout_destroy(l);
    spk__program_expect(l->ctx, FILE_, options(l->ctx));
    if (B * l->in_numel > 0xffffffffu || T > 0x7fffffff)
        return spk__error(l->ctx, SPK_ERR_SHAPE, "dropout: %zu samples of %zu features are too many for the 32-bit counter",
                          B, l->in_numel);
    return spk_tensor_create(l->ctx, SPK_F32, 2, (size_t[2]){B, l->in_numel}, &d->mask);
}

static spk_status dropout_forward(spk_layer *l, const spk_tensor *in, spk_tensor *out)
{
    spk_status st = SPK_OK;
    dropout *d = (dropout *)l;
    cl_kernel k;
    d->last_training = l->training;
    if (!l->training)
        return spk_tensor_copy(out, in);
    SPK_TRY(spk__kernel_get(l->ctx, FILE_, options(l->ctx), "dropout_forward", &k));
    const uint64_t seed = l->ctx->seed, call = d->calls++;
    cl_int T = (cl_int)l->T;
    cl_uint BF = (cl_uint)(l->B * l->in_numel), seed_lo = (cl_uint)seed, seed_hi = (cl_uint)(seed >> 32);
    cl_uint salt = (cl_uint)l->index, call_lo = (cl_uint)call, call_hi = (cl_uint)(call >> 32);
    cl_float p = d->p, scale = 1.0f / (1.0f - d->p);
    spk__buf x = spk__buf_of(in), y = spk__buf_of(out), m = spk__buf_of(d->mask);
    SPK_TRY(SPK_SET_ARGS(l->ctx, k, SPK_ARG(T), SPK_ARG(BF), SPK_ARG(p), SPK_ARG(scale), SPK_ARG(seed_lo),
                         SPK_ARG(seed_hi), SPK_ARG(salt), SPK_ARG(call_lo), SPK_ARG(call_hi), SPK_BUF(x), SPK_BUF(y),
                         SPK_BUF(m)));
    SPK_TRY(spk__launch_1d(l->ctx, k, BF));
fail:
    return st;
}

static spk_status dropout_backward(spk_layer *l, const spk_tensor *in, const spk_tensor *out,
                                   const spk_tensor *grad_out, spk_tensor *grad_in)
{
    (void)in, (void)out;
    spk_status st = SPK_OK;
    dropout *d = (dropout *)l;
    cl_kernel k;
    if (!grad_in)
        return SPK_OK;
    if (!d->last_training)
        return spk_tensor_copy(grad_in, grad_out);
    SPK_TRY(spk__kernel_get(l->ctx, FILE_, options(l->ctx), "dropout_backward", &k));
    cl_int T = (cl_int)l->T;
    cl_uint BF = (cl_uint)(l->B * l->in_numel);
    spk__buf m = spk__buf_of(d->mask), dy = spk__buf_of(grad_out), dx = spk__buf_of(grad_in);
    SPK_TRY(SPK_SET_ARGS(l->ctx, k, SPK_ARG(T), SPK_ARG(BF), SPK_BUF(m), SPK_BUF(dy), SPK_BUF(dx)));
    SPK_TRY(spk__launch_1d(l->ctx, k, BF));
fail:
    return st;
}

static void dropout_describe(const spk_layer *l, char *buf, size_t cap)
{
    snprintf(buf, cap, "dropout %g (one mask per sequence)", (double)((const dropout *)l)->p);
}

static const spk__layer_vtable DROPOUT = {"dropout", dropout_infer, dropout_prepare, dropout_forward,
                                          dropout_backward, 0, dropout_describe, dropout_destroy};

spk_status spk_dropout_create(spk_context *ctx, float p, spk_layer **out)
{
    spk_status st = SPK_OK;
    SPK_CHECK(ctx, ctx && out, SPK_ERR_NULL_POINTER, "spk_dropout_create: ctx or out is NULL");
    SPK_CHECK(ctx, p >= 0.0f && p < 1.0f, SPK_ERR_INVALID_ARGUMENT,
              "spk_dropout_create: the rate p must be in [0, 1) (got %g)", (double)p);
    SPK_TRY(spk__layer_alloc(ctx, &DROPOUT, sizeof(dropout), out));
    ((dropout *)*out)->p = p;
fail:
    return st;
}
