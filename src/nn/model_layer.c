/* A layer of ALIF, Izhikevich or AdEx neurons (kernels/neuron_models.cl):
 * its output is the spikes; it keeps the membrane and adaptation of the
 * forward for the backward. */
#include <stdio.h>
#include <string.h>

#include "nn/layer_internal.h"
#include "ops/ops_internal.h"

typedef struct model_layer {
    spk_layer base;
    spk_model_params p;
    spk_tensor *membrane;   /* [T, B, N] */
    spk_tensor *adaptation; /* [T, B, N] */
} model_layer;

static spk_status model_infer(spk_layer *l, int in_ndim, const size_t *in, int *out_ndim, size_t *out)
{
    (void)l;
    *out_ndim = in_ndim;
    memcpy(out, in, (size_t)in_ndim * sizeof *in);
    return SPK_OK;
}

static void free_buffers(model_layer *ml)
{
    spk_tensor_free(ml->membrane), spk_tensor_free(ml->adaptation);
    ml->membrane = ml->adaptation = NULL;
}

static spk_status model_prepare(spk_layer *l, size_t T, size_t B)
{
    spk_status st = SPK_OK;
    model_layer *ml = (model_layer *)l;
    size_t shape[3] = {T, B, l->out_numel};
    free_buffers(ml);
    spk__model_expect(l->ctx, &ml->p, l->out_numel); /* its output, the spikes, is F32 */
    SPK_TRY(spk_tensor_create(l->ctx, SPK_F32, 3, shape, &ml->membrane));
    SPK_TRY(spk_tensor_create(l->ctx, SPK_F32, 3, shape, &ml->adaptation));
fail:
    return st;
}

/* The forward's tensors as the op sees them; x and y are views the caller frees. */
static spk_status make_io(model_layer *ml, const spk_tensor *in, const spk_tensor *out, spk_model_io *io,
                          spk_tensor **x, spk_tensor **y)
{
    spk_status st = SPK_OK;
    spk_layer *l = &ml->base;
    SPK_TRY(spk__view3d(in, l->T, l->B, l->out_numel, x));
    SPK_TRY(spk__view3d(out, l->T, l->B, l->out_numel, y));
    *io = (spk_model_io){.input = *x, .spikes = *y, .membrane = ml->membrane, .adaptation = ml->adaptation};
fail:
    return st;
}

static spk_status model_forward(spk_layer *l, const spk_tensor *in, spk_tensor *out)
{
    spk_status st = SPK_OK;
    model_layer *ml = (model_layer *)l;
    spk_tensor *x = NULL, *y = NULL;
    spk_model_io io;
    SPK_TRY(make_io(ml, in, out, &io, &x, &y));
    SPK_TRY(spk_model_forward(l->ctx, &ml->p, &io));
fail:
    spk_tensor_free(x), spk_tensor_free(y);
    return st;
}

static spk_status model_backward(spk_layer *l, const spk_tensor *in, const spk_tensor *out,
                                 const spk_tensor *grad_out, spk_tensor *grad_in)
{
    spk_status st = SPK_OK;
    model_layer *ml = (model_layer *)l;
    spk_tensor *x = NULL, *y = NULL, *gy = NULL, *gx = NULL;
    spk_model_io io;
    if (!grad_in)
        return SPK_OK; /* no parameters: a first layer has nothing to compute */
    SPK_TRY(make_io(ml, in, out, &io, &x, &y));
    SPK_TRY(spk__view3d(grad_out, l->T, l->B, l->out_numel, &gy));
    SPK_TRY(spk__view3d(grad_in, l->T, l->B, l->out_numel, &gx));
    spk_model_grads g = {.grad_spikes = gy, .grad_input = gx};
    SPK_TRY(spk_model_backward(l->ctx, &ml->p, &io, &g));
fail:
    spk_tensor_free(x), spk_tensor_free(y), spk_tensor_free(gy), spk_tensor_free(gx);
    return st;
}

static void model_describe(const spk_layer *l, char *buf, size_t cap)
{
    const model_layer *ml = (const model_layer *)l;
    const spk_model_params *p = &ml->p;
    const char *surr = spk_surrogate_name(p->surrogate);
    if (p->kind == SPK_MODEL_ALIF)
        snprintf(buf, cap, "alif %zu (tau_mem %g, tau_adapt %g, threshold %g, beta_a %g, surrogate %s)",
                 l->out_numel, (double)p->alif.tau_mem, (double)p->alif.tau_adapt, (double)p->alif.threshold,
                 (double)p->alif.beta_a, surr);
    else if (p->kind == SPK_MODEL_IZHIKEVICH)
        snprintf(buf, cap, "izhikevich %zu (a %g, b %g, c %g, d %g, dt %g ms / %d, surrogate %s)", l->out_numel,
                 (double)p->izhikevich.a, (double)p->izhikevich.b, (double)p->izhikevich.c,
                 (double)p->izhikevich.d, (double)p->dt, p->substeps, surr);
    else
        snprintf(buf, cap, "adex %zu (C %g, g_L %g, a %g, tau_w %g, b %g, dt %g ms / %d, surrogate %s)",
                 l->out_numel, (double)p->adex.C, (double)p->adex.g_L, (double)p->adex.a, (double)p->adex.tau_w,
                 (double)p->adex.b, (double)p->dt, p->substeps, surr);
}

static void model_destroy(spk_layer *l)
{
    free_buffers((model_layer *)l);
}

static const spk__layer_vtable MODEL = {"neuron model", model_infer, model_prepare, model_forward, model_backward,
                                        0, model_describe, model_destroy};

spk_status spk_model_layer_create(spk_context *ctx, const spk_model_params *p, spk_layer **out)
{
    spk_status st = SPK_OK;
    spk_layer *l = NULL;
    char why[256];
    SPK_CHECK(ctx, ctx && p && out, SPK_ERR_NULL_POINTER, "spk_model_layer_create: ctx, params or out is NULL");
    st = spk_model_check_params(p, why, sizeof why);
    SPK_CHECK(ctx, st == SPK_OK, st, "spk_model_layer_create: %s", why);
    SPK_TRY(spk__layer_alloc(ctx, &MODEL, sizeof(model_layer), &l));
    ((model_layer *)l)->p = *p;
    *out = l;
fail:
    return st;
}
