/* A layer of LIF-family neurons over whole sequences (kernels/lif.cl): its
 * output is the spikes (or the membrane of a readout); it keeps the membrane
 * and synaptic current of the forward for the backward. */
#include <stdio.h>
#include <string.h>

#include "nn/layer_internal.h"
#include "ops/ops_internal.h"

typedef struct neuron_layer {
    spk_layer base;
    spk_lif_params p;
    spk_tensor *membrane; /* [T, B, N]; NULL for readouts, whose output is the membrane */
    spk_tensor *current;  /* [T, B, N]; current-based kinds only */
} neuron_layer;

static spk_status neuron_infer(spk_layer *l, int in_ndim, const size_t *in, int *out_ndim, size_t *out)
{
    (void)l;
    *out_ndim = in_ndim;
    memcpy(out, in, (size_t)in_ndim * sizeof *in);
    return SPK_OK;
}

static spk_status neuron_prepare(spk_layer *l, size_t T, size_t B)
{
    spk_status st = SPK_OK;
    neuron_layer *nl = (neuron_layer *)l;
    size_t shape[3] = {T, B, l->out_numel};
    spk_tensor_free(nl->membrane);
    spk_tensor_free(nl->current);
    nl->membrane = nl->current = NULL;
    if (spk__lif_is_spiking(nl->p.kind))
        SPK_TRY(spk_tensor_create(l->ctx, SPK_F32, 3, shape, &nl->membrane));
    if (spk__lif_is_cuba(nl->p.kind))
        SPK_TRY(spk_tensor_create(l->ctx, SPK_F32, 3, shape, &nl->current));
fail:
    return st;
}

/* The forward's tensors, as the LIF op sees them. Views are freed by the caller. */
static spk_status make_io(neuron_layer *nl, const spk_tensor *in, const spk_tensor *out, spk_lif_io *io,
                          spk_tensor **x, spk_tensor **y)
{
    spk_status st = SPK_OK;
    spk_layer *l = &nl->base;
    SPK_TRY(spk__view3d(in, l->T, l->B, l->out_numel, x));
    SPK_TRY(spk__view3d(out, l->T, l->B, l->out_numel, y));
    int spiking = spk__lif_is_spiking(nl->p.kind);
    *io = (spk_lif_io){.input = *x,
                       .spikes = spiking ? *y : NULL,
                       .membrane = spiking ? nl->membrane : *y,
                       .current = nl->current};
fail:
    return st;
}

static spk_status neuron_forward(spk_layer *l, const spk_tensor *in, spk_tensor *out)
{
    spk_status st = SPK_OK;
    neuron_layer *nl = (neuron_layer *)l;
    spk_tensor *x = NULL, *y = NULL;
    spk_lif_io io;
    SPK_TRY(make_io(nl, in, out, &io, &x, &y));
    SPK_TRY(spk_lif_forward(l->ctx, &nl->p, &io));
fail:
    spk_tensor_free(x), spk_tensor_free(y);
    return st;
}

static spk_status neuron_backward(spk_layer *l, const spk_tensor *in, const spk_tensor *out,
                                  const spk_tensor *grad_out, spk_tensor *grad_in)
{
    spk_status st = SPK_OK;
    neuron_layer *nl = (neuron_layer *)l;
    spk_tensor *x = NULL, *y = NULL, *gy = NULL, *gx = NULL;
    spk_lif_io io;
    if (!grad_in)
        return SPK_OK; /* a first layer without parameters has nothing to compute */
    SPK_TRY(make_io(nl, in, out, &io, &x, &y));
    SPK_TRY(spk__view3d(grad_out, l->T, l->B, l->out_numel, &gy));
    SPK_TRY(spk__view3d(grad_in, l->T, l->B, l->out_numel, &gx));
    int spiking = spk__lif_is_spiking(nl->p.kind);
    spk_lif_grads g = {.grad_spikes = spiking ? gy : NULL, .grad_membrane = spiking ? NULL : gy, .grad_input = gx};
    SPK_TRY(spk_lif_backward(l->ctx, &nl->p, &io, &g));
fail:
    spk_tensor_free(x), spk_tensor_free(y), spk_tensor_free(gy), spk_tensor_free(gx);
    return st;
}

static void neuron_describe(const spk_layer *l, char *buf, size_t cap)
{
    const neuron_layer *nl = (const neuron_layer *)l;
    static const char *const KINDS[] = {"lif", "cuba-lif", "li", "cuba-li"};
    static const char *const RESETS[] = {"subtract", "zero", "to-value", "none"};
    snprintf(buf, cap, "%s %zu (%s, tau_mem %g, tau_syn %g, threshold %g, reset %s, surrogate %s)",
             KINDS[nl->p.kind], l->out_numel, nl->p.integration == SPK_INTEGRATE_EXACT ? "exact" : "euler",
             (double)nl->p.tau_mem, (double)nl->p.tau_syn, (double)nl->p.threshold, RESETS[nl->p.reset],
             spk_surrogate_name(nl->p.surrogate));
}

static void neuron_destroy(spk_layer *l)
{
    neuron_layer *nl = (neuron_layer *)l;
    spk_tensor_free(nl->membrane);
    spk_tensor_free(nl->current);
}

static const spk__layer_vtable NEURON = {"neuron", neuron_infer, neuron_prepare, neuron_forward, neuron_backward, 0,
                                         neuron_describe, neuron_destroy};

spk_status spk_neuron_layer_create(spk_context *ctx, const spk_lif_params *p, spk_layer **out)
{
    spk_status st = SPK_OK;
    spk_layer *l = NULL;
    float coef[SPK_LIF_NCOEF];
    char why[256];
    SPK_CHECK(ctx, p != NULL, SPK_ERR_NULL_POINTER, "spk_neuron_layer_create: params is NULL");
    st = spk_lif_coefficients(p, coef, why, sizeof why);
    SPK_CHECK(ctx, st == SPK_OK, st, "spk_neuron_layer_create: %s", why);
    SPK_TRY(spk__layer_alloc(ctx, &NEURON, sizeof(neuron_layer), &l));
    ((neuron_layer *)l)->p = *p;
    *out = l;
fail:
    return st;
}
