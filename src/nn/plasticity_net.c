/* Plasticity rules attached to a network's layers: each plastic layer keeps
 * the trace state of its weights (and the eligibility of MSTDPET), and a
 * plasticity step runs spk_stdp_update on the last forward's spike trains,
 * writing -dW into the weight's gradient so that the usual optimizer step
 * applies it. Traces live in two tensors per side, read from one and written
 * to the other (the kernel's outputs must not alias its inputs), then
 * swapped. */
#include <stdio.h>
#include <string.h>

#include "nn/plasticity_internal.h"

#define MAX_LAYERS 64
#define MAX_SYN 2 /* recurrent: input and recurrent weights */

/* One plastic weight: its parameter and the state of its rule. */
typedef struct plastic_syn {
    size_t param;              /* index in the layer's parameters */
    int pre_is_output;         /* 1: the pre-synaptic spikes are the layer's own (recurrent weight) */
    spk_tensor *pre_tr[2], *post_tr[2], *elig[2];
    int cur;                   /* which of each pair holds the current state */
} plastic_syn;

typedef struct plastic_layer {
    spk_stdp_params p;
    plastic_syn syn[MAX_SYN];
    size_t n_syn;
    size_t B;                  /* batch the state is allocated for (0: none yet) */
    int post_is_next;          /* 1: post spikes are the next layer's output (dense, conv2d) */
} plastic_layer;

struct spk__net_plasticity {
    plastic_layer *layers[MAX_LAYERS];
};

static void syn_free_state(plastic_syn *s)
{
    for (int k = 0; k < 2; k++) {
        spk_tensor_free(s->pre_tr[k]), spk_tensor_free(s->post_tr[k]), spk_tensor_free(s->elig[k]);
        s->pre_tr[k] = s->post_tr[k] = s->elig[k] = NULL;
    }
}

static void layer_free(plastic_layer *pl)
{
    if (!pl)
        return;
    for (size_t k = 0; k < pl->n_syn; k++)
        syn_free_state(&pl->syn[k]);
    spk__free(pl);
}

void spk__net_plasticity_free(spk__net_plasticity *np)
{
    if (!np)
        return;
    for (size_t i = 0; i < MAX_LAYERS; i++)
        layer_free(np->layers[i]);
    spk__free(np);
}

/* Index of the parameter called `name` in l, or n_params. */
static size_t param_index(const spk_layer *l, const char *name)
{
    size_t i = 0;
    while (i < l->n_params && strcmp(l->param_names[i], name) != 0)
        i++;
    return i;
}

spk_status spk_network_set_plasticity(spk_network *net, size_t layer, const spk_stdp_params *p)
{
    spk_status st = SPK_OK;
    spk_layer *l = spk_network_layer(net, layer), *first = spk_network_layer(net, 0);
    spk_context *ctx = first ? first->ctx : NULL;
    plastic_layer *pl = NULL;
    char why[256];
    SPK_CHECK(ctx, net != NULL, SPK_ERR_NULL_POINTER, "spk_network_set_plasticity: net is NULL");
    SPK_CHECK(ctx, l != NULL, SPK_ERR_INVALID_ARGUMENT, "spk_network_set_plasticity: layer %zu >= %zu layers", layer,
              spk_network_layer_count(net));
    spk__net_plasticity **slot = spk__network_plasticity(net);
    if (!p) {
        if (*slot) {
            layer_free((*slot)->layers[layer]);
            (*slot)->layers[layer] = NULL;
        }
        return SPK_OK;
    }
    st = spk_stdp_decays(p, NULL, why, sizeof why);
    SPK_CHECK(ctx, st == SPK_OK, st, "spk_network_set_plasticity: %s", why);
    const char *type = l->vt->type;
    int dense_like = strcmp(type, "dense") == 0 || strcmp(type, "conv2d") == 0;
    SPK_CHECK(ctx, dense_like || strcmp(type, "recurrent") == 0, SPK_ERR_INVALID_ARGUMENT,
              "spk_network_set_plasticity: layer %zu is a %s layer; plasticity needs synapses (dense, conv2d or "
              "recurrent)", layer, type);
    SPK_CHECK(ctx, !dense_like || layer + 1 < spk_network_layer_count(net), SPK_ERR_INVALID_ARGUMENT,
              "spk_network_set_plasticity: the %s layer %zu is the last layer: its post-synaptic spikes come from "
              "the spiking neuron layer after it", type, layer);
    if (!*slot) {
        *slot = spk__calloc(1, sizeof **slot);
        SPK_CHECK(ctx, *slot != NULL, SPK_ERR_OUT_OF_MEMORY, "spk_network_set_plasticity: out of host memory");
    }
    pl = spk__calloc(1, sizeof *pl);
    SPK_CHECK(ctx, pl != NULL, SPK_ERR_OUT_OF_MEMORY, "spk_network_set_plasticity: out of host memory");
    pl->p = *p;
    pl->post_is_next = dense_like;
    pl->syn[pl->n_syn++] = (plastic_syn){.param = param_index(l, "weight")};
    if (!dense_like)
        pl->syn[pl->n_syn++] = (plastic_syn){.param = param_index(l, "recurrent_weight"), .pre_is_output = 1};
    layer_free((*slot)->layers[layer]);
    (*slot)->layers[layer] = pl;
fail:
    return st;
}

/* Zero state of B samples: traces [2, B, n] per side, eligibility [B, weights]. */
static spk_status syn_alloc(spk_context *ctx, plastic_syn *s, const spk_stdp_params *p, size_t B, size_t n_pre,
                            size_t n_post, size_t n_w)
{
    spk_status st = SPK_OK;
    syn_free_state(s);
    for (int k = 0; k < 2; k++) {
        SPK_TRY(spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){SPK_STDP_NTRACE, B, n_pre}, &s->pre_tr[k]));
        SPK_TRY(spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){SPK_STDP_NTRACE, B, n_post}, &s->post_tr[k]));
        SPK_TRY(spk_tensor_fill_f32(s->pre_tr[k], 0.0f));
        SPK_TRY(spk_tensor_fill_f32(s->post_tr[k], 0.0f));
        if (p->rule == SPK_STDP_MSTDPET) {
            SPK_TRY(spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){B, n_w}, &s->elig[k]));
            SPK_TRY(spk_tensor_fill_f32(s->elig[k], 0.0f));
        }
    }
    s->cur = 0;
fail:
    return st;
}

/* The spikes that a plastic layer's post side sees, checked to be spikes. */
static spk_status post_spikes(spk_network *net, size_t i, const plastic_layer *pl, const spk_tensor **out)
{
    spk_status st = SPK_OK;
    spk_layer *l = spk_network_layer(net, i);
    size_t k = pl->post_is_next ? i + 1 : i;
    spk_layer *post = spk_network_layer(net, k);
    char here[160], there[160];
    *out = spk_network_layer_output(net, k);
    const spk_tensor *membrane = spk_network_layer_membrane(net, k);
    static const char *const NOT_SPIKING[] = {"dense", "conv2d", "recurrent", "flatten", "dropout", "avgpool2d",
                                              "maxpool2d"};
    int spiking = !(membrane && membrane == *out);
    for (size_t n = 0; pl->post_is_next && n < SPK_ARRAY_LEN(NOT_SPIKING); n++)
        spiking = spiking && strcmp(post->vt->type, NOT_SPIKING[n]) != 0;
    SPK_CHECK(l->ctx, spiking, SPK_ERR_INVALID_ARGUMENT,
              "spk_network_plasticity_step: layer %zu (%s) is plastic but layer %zu (%s) after it does not spike: "
              "its post-synaptic spikes must come from a spiking neuron layer", i,
              spk_layer_describe(l, here, sizeof here), k, spk_layer_describe(post, there, sizeof there));
fail:
    return st;
}

/* One weight's step: -dW into its gradient, traces advanced. */
static spk_status syn_step(spk_context *ctx, spk_layer *l, plastic_layer *pl, plastic_syn *s, const spk_tensor *pre,
                           const spk_tensor *post, const spk_stdp_conv *conv, const spk_tensor *reward)
{
    spk_status st = SPK_OK;
    const size_t T = spk_tensor_dim(post, 0), B = spk_tensor_dim(post, 1);
    const size_t n_pre = spk_tensor_numel(pre) / (T * B), n_post = spk_tensor_numel(post) / (T * B);
    spk_tensor *w = l->params[s->param];
    if (pl->B != B || !s->pre_tr[0] || spk_tensor_numel(s->pre_tr[0]) != SPK_STDP_NTRACE * B * n_pre)
        SPK_TRY(syn_alloc(ctx, s, &pl->p, B, n_pre, n_post, spk_tensor_numel(w)));
    const int c = s->cur, n = 1 - c;
    int elig = pl->p.rule == SPK_STDP_MSTDPET, rewarded = pl->p.rule >= SPK_STDP_MSTDP;
    spk_stdp_io io = {.pre = pre,
                      .post = post,
                      .weight = w,
                      .reward = rewarded ? reward : NULL,
                      .pre_trace_in = s->pre_tr[c],
                      .post_trace_in = s->post_tr[c],
                      .pre_trace_out = s->pre_tr[n],
                      .post_trace_out = s->post_tr[n],
                      .elig_in = elig ? s->elig[c] : NULL,
                      .elig_out = elig ? s->elig[n] : NULL,
                      .dw = l->grads[s->param],
                      .alpha = -1.0f,
                      .beta = 0.0f};
    SPK_TRY(spk_stdp_update(ctx, &pl->p, conv, &io));
    s->cur = n;
fail:
    return st;
}

/* The step of plastic layer i: each unfrozen weight, then zero gradients for the layer's other parameters. */
static spk_status layer_step(spk_network *net, size_t i, plastic_layer *pl, const spk_tensor *reward)
{
    spk_status st = SPK_OK;
    spk_layer *l = spk_network_layer(net, i);
    spk_context *ctx = l->ctx;
    int static_input = 0;
    const spk_tensor *in = i ? spk_network_layer_output(net, i - 1) : spk__network_input(net, &static_input);
    const spk_tensor *post = NULL, *out = spk_network_layer_output(net, i);
    SPK_CHECK(ctx, in != NULL && out != NULL, SPK_ERR_INVALID_ARGUMENT,
              "spk_network_plasticity_step: no forward to take spikes from");
    SPK_CHECK(ctx, spk_tensor_dtype(in) == SPK_F32 && spk_tensor_dtype(out) == SPK_F32, SPK_ERR_INVALID_ARGUMENT,
              "spk_network_plasticity_step: layer %zu's spikes are kept bit-packed (spk_network_set_compact_spikes or "
              "spk_network_set_packed_input); STDP reads them as floats: turn compact storage off", i);
    SPK_CHECK(ctx, !static_input, SPK_ERR_INVALID_ARGUMENT,
              "spk_network_plasticity_step: layer 0 is plastic but the network has a static input; STDP needs "
              "pre-synaptic spike trains [T, B, ...]");
    SPK_CHECK(ctx, pl->p.rule < SPK_STDP_MSTDP || reward, SPK_ERR_INVALID_ARGUMENT,
              "spk_network_plasticity_step: layer %zu's %s rule needs a reward [T, B]", i,
              spk_stdp_rule_name(pl->p.rule));
    SPK_TRY(post_spikes(net, i, pl, &post));
    spk_stdp_conv conv;
    int is_conv = spk__conv2d_stdp_geometry(l, &conv);
    for (size_t k = 0; k < pl->n_syn; k++) {
        plastic_syn *s = &pl->syn[k];
        if (!l->frozen[s->param])
            SPK_TRY(syn_step(ctx, l, pl, s, s->pre_is_output ? out : in, post, is_conv ? &conv : NULL, reward));
    }
    pl->B = spk_tensor_dim(post, 1);
    for (size_t k = 0; k < l->n_params; k++) {
        int plastic = 0;
        for (size_t m = 0; m < pl->n_syn; m++)
            plastic |= pl->syn[m].param == k;
        if (!plastic)
            SPK_TRY(spk_tensor_fill_f32(l->grads[k], 0.0f));
    }
fail:
    return st;
}

spk_status spk_network_plasticity_step(spk_network *net, const spk_tensor *reward)
{
    spk_status st = SPK_OK;
    SPK_CHECK(NULL, net != NULL, SPK_ERR_NULL_POINTER, "spk_network_plasticity_step: net is NULL");
    spk__net_plasticity *np = *spk__network_plasticity(net);
    for (size_t i = 0; np && i < spk_network_layer_count(net); i++)
        if (np->layers[i])
            SPK_TRY(layer_step(net, i, np->layers[i], reward));
fail:
    return st;
}

spk_status spk_network_plasticity_reset(spk_network *net)
{
    spk_status st = SPK_OK;
    SPK_CHECK(NULL, net != NULL, SPK_ERR_NULL_POINTER, "spk_network_plasticity_reset: net is NULL");
    spk__net_plasticity *np = *spk__network_plasticity(net);
    for (size_t i = 0; np && i < MAX_LAYERS; i++)
        for (size_t k = 0; np->layers[i] && k < np->layers[i]->n_syn; k++) {
            plastic_syn *s = &np->layers[i]->syn[k];
            spk_tensor *state[] = {s->pre_tr[s->cur], s->post_tr[s->cur], s->elig[s->cur]};
            for (size_t m = 0; m < SPK_ARRAY_LEN(state); m++)
                if (state[m])
                    SPK_TRY(spk_tensor_fill_f32(state[m], 0.0f));
        }
fail:
    return st;
}

spk_status spk__net_plasticity_clip(spk_network *net)
{
    spk_status st = SPK_OK;
    spk__net_plasticity *np = *spk__network_plasticity(net);
    for (size_t i = 0; np && i < spk_network_layer_count(net); i++) {
        plastic_layer *pl = np->layers[i];
        spk_layer *l = spk_network_layer(net, i);
        for (size_t k = 0; pl && pl->p.clip && k < pl->n_syn; k++)
            if (!l->frozen[pl->syn[k].param])
                SPK_TRY(spk_tensor_clamp(l->params[pl->syn[k].param], pl->p.w_min, pl->p.w_max));
    }
fail:
    return st;
}
