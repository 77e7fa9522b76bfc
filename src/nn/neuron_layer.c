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
    spk_learn_scope learn;
    spk_tensor *membrane; /* [T, B, N]; NULL for readouts, whose output is the membrane */
    spk_tensor *current;  /* [T, B, N]; current-based kinds only */
    const spk_tensor *last_out; /* output of the last forward (a readout's membrane) */
    /* Learned coefficients: the kernels read a [5, N] table; per layer it is
     * the [5, 1] parameter times a row of ones (GEMM), and its gradient the
     * table's gradient times a column of ones. */
    spk_tensor *table, *table_grad, *ones_row, *ones_col;
} neuron_layer;

enum { COEF = 0 };

static spk_status neuron_infer(spk_layer *l, int in_ndim, const size_t *in, int *out_ndim, size_t *out)
{
    (void)l;
    *out_ndim = in_ndim;
    memcpy(out, in, (size_t)in_ndim * sizeof *in);
    return SPK_OK;
}

static void free_learned(neuron_layer *nl)
{
    spk_tensor_free(nl->table), spk_tensor_free(nl->table_grad);
    spk_tensor_free(nl->ones_row), spk_tensor_free(nl->ones_col);
    nl->table = nl->table_grad = nl->ones_row = nl->ones_col = NULL;
}

/* Create the "coef" parameter (once its size is known) and the tables. */
static spk_status prepare_learned(neuron_layer *nl)
{
    spk_status st = SPK_OK;
    spk_layer *l = &nl->base;
    size_t N = l->out_numel, cols = nl->learn == SPK_LEARN_PER_NEURON ? N : 1;
    float coef[SPK_LIF_NCOEF], *init = NULL;
    free_learned(nl);
    if (nl->learn == SPK_LEARN_NONE)
        return SPK_OK;
    if (l->n_params && spk_tensor_dim(l->params[COEF], 1) != cols) { /* rebuilt with another size */
        spk_tensor_free(l->params[COEF]), spk_tensor_free(l->grads[COEF]);
        l->n_params = 0;
    }
    if (!l->n_params) {
        SPK_TRY(spk_lif_coefficients(&nl->p, coef, NULL, 0));
        SPK_TRY(spk__layer_add_param(l, "coef", 2, (size_t[2]){SPK_LIF_NCOEF, cols}));
        init = spk__malloc((size_t)SPK_LIF_NCOEF * cols * sizeof *init);
        SPK_CHECK(l->ctx, init != NULL, SPK_ERR_OUT_OF_MEMORY, "neuron layer: out of host memory");
        for (size_t r = 0; r < SPK_LIF_NCOEF; r++)
            for (size_t n = 0; n < cols; n++)
                init[r * cols + n] = coef[r];
        SPK_TRY(spk_tensor_upload(l->params[COEF], init, (size_t)SPK_LIF_NCOEF * cols * sizeof *init));
    }
    if (nl->learn == SPK_LEARN_PER_LAYER) {
        SPK_TRY(spk_tensor_create(l->ctx, SPK_F32, 2, (size_t[2]){SPK_LIF_NCOEF, N}, &nl->table));
        SPK_TRY(spk_tensor_create(l->ctx, SPK_F32, 2, (size_t[2]){SPK_LIF_NCOEF, N}, &nl->table_grad));
        SPK_TRY(spk_tensor_create(l->ctx, SPK_F32, 2, (size_t[2]){1, N}, &nl->ones_row));
        SPK_TRY(spk_tensor_fill_f32(nl->ones_row, 1.0f));
        SPK_TRY(spk_tensor_create(l->ctx, SPK_F32, 2, (size_t[2]){N, 1}, &nl->ones_col));
        SPK_TRY(spk_tensor_fill_f32(nl->ones_col, 1.0f));
    }
fail:
    spk__free(init);
    return st;
}

/* The [5, N] coefficient table the kernels read, or NULL (from the params). */
static spk_status coef_table(neuron_layer *nl, const spk_tensor **out)
{
    spk_layer *l = &nl->base;
    *out = NULL;
    if (nl->learn == SPK_LEARN_PER_NEURON)
        *out = l->params[COEF];
    if (nl->learn != SPK_LEARN_PER_LAYER)
        return SPK_OK;
    *out = nl->table;
    return spk_gemm(0, 0, 1.0f, l->params[COEF], nl->ones_row, 0.0f, nl->table);
}

/* Gains are not learned: clear their gradient rows. */
static spk_status clear_gain_grads(spk_layer *l)
{
    spk_status st = SPK_OK;
    size_t cols = spk_tensor_dim(l->grads[COEF], 1);
    const int rows[2] = {SPK_COEF_I_GAIN, SPK_COEF_V_GAIN};
    for (int k = 0; k < 2; k++) {
        spk_tensor *row = NULL;
        SPK_TRY(spk_tensor_view(l->grads[COEF], (size_t)rows[k] * cols, 1, &cols, &row));
        st = spk_tensor_fill_f32(row, 0.0f);
        spk_tensor_free(row);
        SPK_TRY(st);
    }
fail:
    return st;
}

static spk_status neuron_prepare(spk_layer *l, size_t T, size_t B)
{
    spk_status st = SPK_OK;
    neuron_layer *nl = (neuron_layer *)l;
    size_t shape[3] = {T, B, l->out_numel};
    spk_tensor_free(nl->membrane);
    spk_tensor_free(nl->current);
    nl->membrane = nl->current = NULL;
    nl->last_out = NULL;
    SPK_TRY(prepare_learned(nl));
    spk__lif_expect(l->ctx, &nl->p, l->out_packed, B, l->out_numel, nl->learn != SPK_LEARN_NONE);
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
    SPK_TRY(spk__view3d(in, l->in_once ? 1 : l->T, l->B, l->out_numel, x)); /* in_once: a static input */
    /* a packed output (compact spike storage) is U8 [T, B, row bytes]: the bits themselves */
    SPK_TRY(spk__view3d(out, l->T, l->B, l->out_packed ? spk_spike_row_bytes(l->out_numel) : l->out_numel, y));
    int spiking = spk__lif_is_spiking(nl->p.kind);
    const spk_tensor *coef = NULL;
    SPK_TRY(coef_table(nl, &coef));
    *io = (spk_lif_io){.input = *x,
                       .coef = coef,
                       .spikes = spiking && !l->out_packed ? *y : NULL,
                       .membrane = spiking ? nl->membrane : *y,
                       .current = nl->current,
                       .spike_bits = l->out_packed ? *y : NULL};
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
    nl->last_out = out;
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
    if (!grad_in && nl->learn == SPK_LEARN_NONE)
        return SPK_OK; /* a first layer without parameters has nothing to compute */
    SPK_TRY(make_io(nl, in, out, &io, &x, &y));
    SPK_TRY(spk__view3d(grad_out, l->T, l->B, l->out_numel, &gy));
    if (grad_in) /* grad_in_once: the static input's gradient, summed over the steps by the kernel */
        SPK_TRY(spk__view3d(grad_in, l->grad_in_once ? 1 : l->T, l->B, l->out_numel, &gx));
    int spiking = spk__lif_is_spiking(nl->p.kind);
    spk_tensor *gcoef = nl->learn == SPK_LEARN_PER_NEURON ? l->grads[COEF]
                        : nl->learn == SPK_LEARN_PER_LAYER ? nl->table_grad
                                                           : NULL;
    spk_lif_grads g = {.grad_spikes = spiking ? gy : NULL,
                       .grad_membrane = spiking ? NULL : gy,
                       .grad_input = gx,
                       .grad_coef = gcoef};
    SPK_TRY(spk_lif_backward(l->ctx, &nl->p, &io, &g));
    if (nl->learn == SPK_LEARN_PER_LAYER)
        SPK_TRY(spk_gemm(0, 0, 1.0f, nl->table_grad, nl->ones_col, 0.0f, l->grads[COEF]));
    if (nl->learn != SPK_LEARN_NONE)
        SPK_TRY(clear_gain_grads(l));
fail:
    spk_tensor_free(x), spk_tensor_free(y), spk_tensor_free(gy), spk_tensor_free(gx);
    return st;
}

static void neuron_describe(const spk_layer *l, char *buf, size_t cap)
{
    const neuron_layer *nl = (const neuron_layer *)l;
    static const char *const KINDS[] = {"lif", "cuba-lif", "li", "cuba-li", "if"};
    static const char *const RESETS[] = {"subtract", "zero", "to-value", "none"};
    static const char *const LEARN[] = {"", ", learned per layer", ", learned per neuron"};
    snprintf(buf, cap, "%s %zu (%s, tau_mem %g, tau_syn %g, threshold %g, reset %s, surrogate %s%s)",
             KINDS[nl->p.kind], l->out_numel, nl->p.integration == SPK_INTEGRATE_EXACT ? "exact" : "euler",
             (double)nl->p.tau_mem, (double)nl->p.tau_syn, (double)nl->p.threshold, RESETS[nl->p.reset],
             spk_surrogate_name(nl->p.surrogate), LEARN[nl->learn]);
}

static void neuron_destroy(spk_layer *l)
{
    neuron_layer *nl = (neuron_layer *)l;
    spk_tensor_free(nl->membrane);
    spk_tensor_free(nl->current);
    free_learned(nl);
}

static const spk__layer_vtable NEURON = {"neuron", neuron_infer, neuron_prepare, neuron_forward, neuron_backward, 0,
                                         neuron_describe, neuron_destroy};


int spk__is_neuron_layer(const spk_layer *l)
{
    return l && l->vt == &NEURON;
}

int spk__neuron_layer_spiking(const spk_layer *l)
{
    return l && l->vt == &NEURON && spk__lif_is_spiking(((const neuron_layer *)l)->p.kind);
}

const spk_tensor *spk__neuron_layer_membrane(const spk_layer *l)
{
    if (!l || l->vt != &NEURON)
        return NULL;
    const neuron_layer *nl = (const neuron_layer *)l;
    return spk__lif_is_spiking(nl->p.kind) ? nl->membrane : nl->last_out;
}

spk_status spk_neuron_layer_set_learnable(spk_layer *l, spk_learn_scope scope)
{
    spk_status st = SPK_OK;
    SPK_CHECK(l ? l->ctx : NULL, l != NULL, SPK_ERR_NULL_POINTER, "spk_neuron_layer_set_learnable: layer is NULL");
    SPK_CHECK(l->ctx, l->vt == &NEURON, SPK_ERR_INVALID_ARGUMENT,
              "spk_neuron_layer_set_learnable: a %s layer is not a neuron layer", l->vt->type);
    SPK_CHECK(l->ctx, (unsigned)scope <= SPK_LEARN_PER_NEURON, SPK_ERR_INVALID_ARGUMENT,
              "spk_neuron_layer_set_learnable: unknown scope %d", (int)scope);
    ((neuron_layer *)l)->learn = scope;
fail:
    return st;
}

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
