/* A network: layers in order, their activations, and backpropagation
 * through the whole sequence layer by layer. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/layer_internal.h"
#include "nn/plasticity_internal.h"

#define MAX_LAYERS 64
#define MAX_PARAMS (MAX_LAYERS * SPK_LAYER_MAX_PARAMS)

struct spk_network {
    spk_context *ctx;
    size_t n;
    spk_layer *layers[MAX_LAYERS];
    spk_tensor *acts[MAX_LAYERS];  /* output of layer i, [T, B, ...] */
    spk_tensor *grads[MAX_LAYERS]; /* dL/d(output of layer i), for i < n-1 */
    const spk_tensor *input;       /* of the last forward, for backward */
    int built;
    int static_input;
    int training; /* 1 (default): training mode; 0: evaluation */
    int compact_spikes; /* spiking layers feeding dense ones keep bit-packed spikes */
    int packed_input;   /* the input is bit-packed spikes */
    spk_tensor *scratch; /* f32, shared: where layers unpack packed inputs (layer_internal.h) */
    int grad_in_act[MAX_LAYERS]; /* compact storage: grads[i] is acts[i]'s buffer (see plan_storage) */
    spk_tensor *grad_pool[2];    /* compact storage: the other grads[i] are views of grad_pool[i % 2] */
    size_t T, B, in_numel;
    char param_names[MAX_PARAMS][48];
    float rate_target[MAX_LAYERS], rate_weight[MAX_LAYERS]; /* firing-rate regularizers (weight 0: none) */
    double reg_loss;                                         /* of the last backward */
    spk__net_plasticity *plasticity;                         /* STDP rules and traces (plasticity_net.c) */
};

spk_status spk_network_create(spk_context *ctx, spk_network **out)
{
    spk_status st = SPK_OK;
    SPK_CHECK(ctx, ctx && out, SPK_ERR_NULL_POINTER, "spk_network_create: ctx or out is NULL");
    *out = spk__calloc(1, sizeof **out);
    SPK_CHECK(ctx, *out != NULL, SPK_ERR_OUT_OF_MEMORY, "spk_network_create: out of host memory");
    (*out)->ctx = ctx;
    (*out)->training = 1;
fail:
    return st;
}

static void free_activations(spk_network *net)
{
    for (size_t i = 0; i < net->n; i++) {
        spk_tensor_free(net->acts[i]);
        spk_tensor_free(net->grads[i]);
        net->acts[i] = net->grads[i] = NULL;
        net->layers[i]->in_packed = net->layers[i]->out_packed = 0;
        net->layers[i]->unpack_scratch = NULL;
    }
    spk_tensor_free(net->scratch);
    spk_tensor_free(net->grad_pool[0]), spk_tensor_free(net->grad_pool[1]);
    net->scratch = net->grad_pool[0] = net->grad_pool[1] = NULL;
    net->built = 0;
    net->input = NULL; /* the last forward's activations are gone */
}

void spk_network_free(spk_network *net)
{
    if (!net)
        return;
    free_activations(net);
    for (size_t i = 0; i < net->n; i++)
        spk_layer_free(net->layers[i]);
    spk__net_plasticity_free(net->plasticity);
    spk__free(net);
}

spk_status spk_network_add(spk_network *net, spk_layer *layer)
{
    spk_status st = SPK_OK;
    spk_context *ctx = net ? net->ctx : NULL;
    SPK_CHECK(ctx, net && layer, SPK_ERR_NULL_POINTER, "spk_network_add: net or layer is NULL");
    SPK_CHECK(ctx, layer->ctx == net->ctx, SPK_ERR_CONTEXT, "spk_network_add: the layer belongs to another context");
    SPK_CHECK(ctx, net->n < MAX_LAYERS, SPK_ERR_INVALID_ARGUMENT, "spk_network_add: more than %d layers",
              MAX_LAYERS);
    free_activations(net);
    net->layers[net->n++] = layer;
    return SPK_OK;
fail:
    spk_layer_free(layer);
    return st;
}

spk_status spk_network_set_static_input(spk_network *net, int static_input)
{
    if (!net)
        return spk__error(NULL, SPK_ERR_NULL_POINTER, "spk_network_set_static_input: net is NULL");
    free_activations(net);
    net->static_input = static_input != 0;
    return SPK_OK;
}

spk_status spk_network_set_compact_spikes(spk_network *net, int compact)
{
    if (!net)
        return spk__error(NULL, SPK_ERR_NULL_POINTER, "spk_network_set_compact_spikes: net is NULL");
    free_activations(net);
    net->compact_spikes = compact != 0;
    return SPK_OK;
}

spk_status spk_network_set_packed_input(spk_network *net, int packed)
{
    if (!net)
        return spk__error(NULL, SPK_ERR_NULL_POINTER, "spk_network_set_packed_input: net is NULL");
    free_activations(net);
    net->packed_input = packed != 0;
    return SPK_OK;
}

/* Compact storage keeps only what backward reads. The output of a dense
 * layer feeding a LIF-family layer is read by that layer's forward and,
 * element by element before it writes the same element of its input
 * gradient, by its backward; the dense layer's own backward does not read
 * it. That gradient therefore takes the output's buffer (grad_in_act):
 * one [T, B, N] f32 tensor fewer. Not under a rate regularizer, which reads
 * the output after the gradient is written. */
static void plan_storage(spk_network *net)
{
    for (size_t i = 0; i < net->n; i++)
        net->grad_in_act[i] = net->compact_spikes && i + 1 < net->n && spk__is_dense_layer(net->layers[i]) &&
                              !net->layers[i]->static_input && spk__is_neuron_layer(net->layers[i + 1]) &&
                              net->rate_weight[i] == 0.0f;
}

/* Under compact storage the gradients that do not take their output's
 * buffer share two: grads[i] lives from the backward of layer i + 1, which
 * writes it, to that of layer i, which reads it and writes grads[i - 1];
 * so grads of even and of odd i never overlap in time among themselves.
 * shapes[i] (ndim[i] dims) are their shapes. */
static spk_status pool_grads(spk_network *net, size_t shapes[][SPK_MAX_DIMS], const int *ndim)
{
    spk_status st = SPK_OK;
    size_t need[2] = {0, 0};
    for (size_t i = 0; i + 1 < net->n; i++) {
        size_t n = 1;
        for (int k = 0; k < ndim[i]; k++)
            n *= shapes[i][k];
        if (!net->grad_in_act[i] && n > need[i % 2])
            need[i % 2] = n;
    }
    for (int p = 0; p < 2; p++)
        if (need[p])
            SPK_TRY(spk_tensor_create(net->ctx, SPK_F32, 1, &need[p], &net->grad_pool[p]));
    for (size_t i = 0; i + 1 < net->n; i++)
        if (!net->grad_in_act[i])
            SPK_TRY(spk_tensor_view(net->grad_pool[i % 2], 0, ndim[i], shapes[i], &net->grads[i]));
fail:
    return st;
}

/* The one f32 scratch into which the layers with a bit-packed input unpack
 * it (layer_internal.h), sized for the largest. */
static spk_status share_scratch(spk_network *net)
{
    spk_status st = SPK_OK;
    size_t n = 0;
    for (size_t i = 0; i < net->n; i++) {
        const spk_layer *l = net->layers[i];
        if (l->in_packed && l->T * l->B * l->in_numel > n)
            n = l->T * l->B * l->in_numel;
    }
    if (n)
        SPK_TRY(spk_tensor_create(net->ctx, SPK_F32, 1, &n, &net->scratch));
    for (size_t i = 0; i < net->n; i++)
        net->layers[i]->unpack_scratch = net->layers[i]->in_packed ? net->scratch : NULL;
fail:
    return st;
}

spk_status spk_network_set_training(spk_network *net, int training)
{
    if (!net)
        return spk__error(NULL, SPK_ERR_NULL_POINTER, "spk_network_set_training: net is NULL");
    net->training = training != 0;
    return SPK_OK;
}

spk_status spk_network_build(spk_network *net, size_t T, size_t B, int in_ndim, const size_t *in_shape)
{
    spk_status st = SPK_OK;
    spk_context *ctx = net ? net->ctx : NULL;
    SPK_CHECK(ctx, net && in_shape, SPK_ERR_NULL_POINTER, "spk_network_build: net or in_shape is NULL");
    SPK_CHECK(ctx, net->n > 0, SPK_ERR_INVALID_ARGUMENT, "spk_network_build: the network has no layer");
    SPK_CHECK(ctx, T > 0 && B > 0, SPK_ERR_INVALID_ARGUMENT, "spk_network_build: T and B must be > 0 (got %zu, %zu)",
              T, B);
    SPK_CHECK(ctx, in_ndim >= 1 && in_ndim <= SPK_MAX_DIMS - 2, SPK_ERR_INVALID_ARGUMENT,
              "spk_network_build: the per-sample input must have 1..%d dimensions", SPK_MAX_DIMS - 2);
    free_activations(net);
    char first[160];
    SPK_CHECK(ctx, !net->static_input || net->layers[0]->vt->accepts_static_input, SPK_ERR_INVALID_ARGUMENT,
              "spk_network_build: a static input needs a synapse layer first, not %s",
              spk_layer_describe(net->layers[0], first, sizeof first));
    SPK_CHECK(ctx, !net->packed_input || (!net->static_input && spk__is_dense_layer(net->layers[0])),
              SPK_ERR_INVALID_ARGUMENT, "spk_network_build: a bit-packed input needs a dense first layer, not %s%s",
              spk_layer_describe(net->layers[0], first, sizeof first), net->static_input ? " with a static input" : "");
    for (size_t i = 0; i < net->n; i++) {
        net->layers[i]->static_input = net->static_input && i == 0;
        net->layers[i]->index = i;
        net->layers[i]->out_packed = net->compact_spikes && i + 1 < net->n &&
                                     spk__neuron_layer_spiking(net->layers[i]) &&
                                     spk__is_dense_layer(net->layers[i + 1]);
        net->layers[i]->in_packed = i ? net->layers[i - 1]->out_packed : net->packed_input;
    }
    for (size_t i = 0; i < net->n; i++) {
        spk_layer *l = net->layers[i];
        l->grad_once = l->static_input && i + 1 < net->n && (spk__is_dense_layer(l) || spk__is_conv2d_layer(l)) &&
                       spk__is_neuron_layer(net->layers[i + 1]) && net->rate_weight[i] == 0.0f;
        l->out_once = net->compact_spikes && l->grad_once;
        l->in_once = i && net->layers[i - 1]->out_once;
        l->grad_in_once = i && net->layers[i - 1]->grad_once;
    }
    plan_storage(net);
    int ndim = in_ndim;
    size_t shape[SPK_MAX_DIMS];
    memcpy(shape, in_shape, (size_t)in_ndim * sizeof *shape);
    net->in_numel = 1;
    for (int i = 0; i < in_ndim; i++)
        net->in_numel *= in_shape[i];
    char here[160], prev[200];
    size_t grad_shape[MAX_LAYERS][SPK_MAX_DIMS];
    int grad_ndim[MAX_LAYERS];
    snprintf(prev, sizeof prev, "the network input");
    for (size_t i = 0; i < net->n; i++) {
        spk_layer *l = net->layers[i];
        int out_ndim = 0;
        size_t out[SPK_MAX_DIMS];
        spk_layer_describe(l, here, sizeof here);
        size_t in_numel = 1;
        for (int k = 0; k < ndim; k++)
            in_numel *= shape[k];
        if (l->vt->infer_shape(l, ndim, shape, &out_ndim, out) != SPK_OK) {
            char why[512];
            spk__copy_str(why, sizeof why, spk_context_last_error(ctx));
            const char *detail = strstr(why, ": ") ? strstr(why, ": ") + 2 : why;
            SPK_CHECK(ctx, 0, SPK_ERR_SHAPE, "layer %zu (%s) does not accept %s: it %s", i, here, prev, detail);
        }
        l->in_numel = in_numel;
        l->out_numel = 1;
        for (int k = 0; k < out_ndim; k++)
            l->out_numel *= out[k];
        l->T = T, l->B = B;
        if (l->vt->prepare)
            SPK_TRY(l->vt->prepare(l, T, B));
        size_t act_shape[SPK_MAX_DIMS] = {T, B};
        memcpy(act_shape + 2, out, (size_t)out_ndim * sizeof *out);
        if (l->out_packed)
            SPK_TRY(spk_tensor_create(ctx, SPK_U8, 3, (size_t[3]){T, B, spk_spike_row_bytes(l->out_numel)},
                                      &net->acts[i]));
        else if (l->out_once) { /* one step for all */
            act_shape[0] = 1;
            SPK_TRY(spk_tensor_create(ctx, SPK_F32, out_ndim + 2, act_shape, &net->acts[i]));
        } else
            SPK_TRY(spk_tensor_create(ctx, SPK_F32, out_ndim + 2, act_shape, &net->acts[i]));
        act_shape[0] = l->grad_once ? 1 : T; /* the gradient: summed over the steps, or per step */
        memcpy(grad_shape[i], act_shape, sizeof act_shape);
        grad_ndim[i] = out_ndim + 2;
        if (net->grad_in_act[i])
            SPK_TRY(spk_tensor_view(net->acts[i], 0, out_ndim + 2, act_shape, &net->grads[i]));
        else if (i + 1 < net->n && !net->compact_spikes)
            SPK_TRY(spk_tensor_create(ctx, SPK_F32, out_ndim + 2, act_shape, &net->grads[i]));
        snprintf(prev, sizeof prev, "the output of layer %zu (%.150s)", i, here);
        ndim = out_ndim;
        memcpy(shape, out, (size_t)out_ndim * sizeof *out);
    }
    SPK_TRY(share_scratch(net));
    if (net->compact_spikes)
        SPK_TRY(pool_grads(net, grad_shape, grad_ndim));
    net->T = T, net->B = B;
    net->built = 1;
    return SPK_OK;
fail:
    if (net)
        free_activations(net);
    return st;
}

spk_status spk_network_forward(spk_network *net, const spk_tensor *input, const spk_tensor **output)
{
    spk_status st = SPK_OK;
    spk_context *ctx = net ? net->ctx : NULL;
    char got[96];
    SPK_CHECK(ctx, net && input, SPK_ERR_NULL_POINTER, "spk_network_forward: net or input is NULL");
    SPK_CHECK(ctx, net->built, SPK_ERR_INVALID_ARGUMENT, "spk_network_forward: call spk_network_build first");
    if (net->packed_input)
        SPK_CHECK(ctx, spk_tensor_dtype(input) == SPK_U8 &&
                           spk_tensor_numel(input) == net->T * net->B * spk_spike_row_bytes(net->in_numel),
                  SPK_ERR_SHAPE, "spk_network_forward: packed input %s is not u8 [T=%zu, B=%zu, %zu bytes of packed "
                  "spikes]", spk__shape_str(input, got, sizeof got), net->T, net->B,
                  spk_spike_row_bytes(net->in_numel));
    else if (net->static_input)
        SPK_CHECK(ctx, spk_tensor_ndim(input) >= 2 && spk_tensor_dim(input, 0) == net->B &&
                           spk_tensor_numel(input) == net->B * net->in_numel,
                  SPK_ERR_SHAPE, "spk_network_forward: static input %s is not [B=%zu, %zu features]",
                  spk__shape_str(input, got, sizeof got), net->B, net->in_numel);
    else
        SPK_CHECK(ctx, spk_tensor_ndim(input) >= 3 && spk_tensor_dim(input, 0) == net->T &&
                           spk_tensor_dim(input, 1) == net->B &&
                           spk_tensor_numel(input) == net->T * net->B * net->in_numel,
                  SPK_ERR_SHAPE, "spk_network_forward: input %s is not [T=%zu, B=%zu, %zu features]",
                  spk__shape_str(input, got, sizeof got), net->T, net->B, net->in_numel);
    SPK_CHECK(ctx, net->packed_input || spk_tensor_dtype(input) == SPK_F32, SPK_ERR_DTYPE,
              "spk_network_forward: input must be f32");
    for (size_t i = 0; i < net->n; i++) {
        spk_layer *l = net->layers[i];
        l->training = net->training;
        SPK_TRY(l->vt->forward(l, i ? net->acts[i - 1] : input, net->acts[i]));
    }
    net->input = input;
    if (output)
        *output = net->acts[net->n - 1];
fail:
    return st;
}

/* Firing-rate regularizer of layer i: with r_n the mean output of unit n
 * over the T*B rows, L = w * mean_n (r_n - target)^2 is added to the loss
 * and dL/d(out[t, b, n]) = 2 w (r_n - target) / (N T B) to the gradient of
 * the layer's output. Two GEMMs against a column of ones: the sums over
 * rows, then the broadcast of the per-unit gradient. */
static spk_status add_rate_regularizer(spk_network *net, size_t i)
{
    spk_status st = SPK_OK;
    spk_context *ctx = net->ctx;
    const size_t rows = net->T * net->B, N = net->layers[i]->out_numel;
    spk_tensor *ones = NULL, *vec = NULL, *act = NULL, *grad = NULL;
    float *h = spk__malloc(N * sizeof *h);
    SPK_CHECK(ctx, h != NULL, SPK_ERR_OUT_OF_MEMORY, "rate regularizer: out of host memory");
    SPK_TRY(spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){rows, 1}, &ones));
    SPK_TRY(spk_tensor_fill_f32(ones, 1.0f));
    SPK_TRY(spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){1, N}, &vec));
    if (net->layers[i]->out_packed) /* compact storage: its consumer's scratch is free until its forward */
        SPK_TRY(spk__unpack_input(net->layers[i + 1], net->acts[i], rows, N, &act));
    else
        SPK_TRY(spk__view2d(net->acts[i], rows, N, &act));
    SPK_TRY(spk__view2d(net->grads[i], rows, N, &grad));
    SPK_TRY(spk_gemm(1, 0, 1.0f, ones, act, 0.0f, vec));
    SPK_TRY(spk_tensor_download(vec, h, N * sizeof *h));
    const double w = net->rate_weight[i], target = net->rate_target[i];
    double loss = 0.0;
    for (size_t n = 0; n < N; n++) {
        double e = (double)h[n] / (double)rows - target;
        loss += e * e;
        h[n] = (float)(2.0 * w * e / ((double)N * (double)rows));
    }
    net->reg_loss += w * loss / (double)N;
    SPK_TRY(spk_tensor_upload(vec, h, N * sizeof *h));
    SPK_TRY(spk_gemm(0, 0, 1.0f, ones, vec, 1.0f, grad));
fail:
    spk__free(h);
    spk_tensor_free(ones), spk_tensor_free(vec), spk_tensor_free(act), spk_tensor_free(grad);
    return st;
}

spk_status spk_network_add_rate_regularizer(spk_network *net, size_t layer, float target_rate, float weight)
{
    spk_status st = SPK_OK;
    spk_context *ctx = net ? net->ctx : NULL;
    SPK_CHECK(ctx, net != NULL, SPK_ERR_NULL_POINTER, "spk_network_add_rate_regularizer: net is NULL");
    SPK_CHECK(ctx, layer + 1 < net->n, SPK_ERR_INVALID_ARGUMENT,
              "spk_network_add_rate_regularizer: layer %zu is not a hidden layer of this %zu-layer network "
              "(regularize the output through the loss)", layer, net->n);
    SPK_CHECK(ctx, weight >= 0.0f && isfinite(weight) && isfinite(target_rate), SPK_ERR_INVALID_ARGUMENT,
              "spk_network_add_rate_regularizer: weight must be finite and >= 0, target finite (got %g, %g)",
              (double)weight, (double)target_rate);
    /* Compact storage keeps some outputs only in part (plan_storage, out_once), and a static-input layer
     * gets its gradient summed over time (grad_once): the plan must know. */
    SPK_CHECK(ctx, !(net->built && net->compact_spikes && weight > 0.0f && net->rate_weight[layer] == 0.0f),
              SPK_ERR_INVALID_ARGUMENT, "spk_network_add_rate_regularizer: with compact spike storage, add it before "
              "spk_network_build (the storage plan depends on it)");
    SPK_CHECK(ctx, !(net->built && net->layers[layer]->grad_once && weight > 0.0f), SPK_ERR_INVALID_ARGUMENT,
              "spk_network_add_rate_regularizer: layer %zu takes the static input; add its regularizer before "
              "spk_network_build (its gradient is summed over time then)", layer);
    net->rate_target[layer] = target_rate;
    net->rate_weight[layer] = weight;
fail:
    return st;
}

float spk_network_regularizer_loss(const spk_network *net)
{
    return net ? (float)net->reg_loss : 0.0f;
}

spk_status spk_network_backward(spk_network *net, const spk_tensor *grad_output)
{
    spk_status st = SPK_OK;
    spk_context *ctx = net ? net->ctx : NULL;
    SPK_CHECK(ctx, net && grad_output, SPK_ERR_NULL_POINTER, "spk_network_backward: net or grad_output is NULL");
    SPK_CHECK(ctx, net->input != NULL, SPK_ERR_INVALID_ARGUMENT, "spk_network_backward: no forward to go back through");
    const spk_tensor *last = net->acts[net->n - 1];
    SPK_CHECK(ctx, spk_tensor_numel(grad_output) == spk_tensor_numel(last) && spk_tensor_dtype(grad_output) == SPK_F32,
              SPK_ERR_SHAPE, "spk_network_backward: grad_output must be f32 with the output's %zu elements",
              spk_tensor_numel(last));
    net->reg_loss = 0.0;
    for (size_t i = net->n; i-- > 0;) {
        spk_layer *l = net->layers[i];
        const spk_tensor *gout = i + 1 == net->n ? grad_output : net->grads[i];
        SPK_CHECK(ctx, !(net->rate_weight[i] > 0.0f && net->grad_in_act[i]), SPK_ERR_INVALID_ARGUMENT,
                  "spk_network_backward: layer %zu's rate regularizer was added after a build with compact storage, "
                  "which reuses that layer's output for its gradient: build again", i);
        SPK_CHECK(ctx, !(net->rate_weight[i] > 0.0f && l->grad_once), SPK_ERR_INVALID_ARGUMENT,
                  "spk_network_backward: layer %zu's rate regularizer was added after the build, which sums that "
                  "static-input layer's gradient over the steps: build again", i);
        if (net->rate_weight[i] > 0.0f)
            SPK_TRY(add_rate_regularizer(net, i));
        SPK_TRY(l->vt->backward(l, i ? net->acts[i - 1] : net->input, net->acts[i], gout,
                                i ? net->grads[i - 1] : NULL));
    }
fail:
    return st;
}

/* Parameter i in network order: layer by layer, each layer's in its order. */
static spk_layer *param_owner(const spk_network *net, size_t i, size_t *local, size_t *layer_index)
{
    for (size_t k = 0; k < net->n; k++) {
        if (i < net->layers[k]->n_params) {
            *local = i;
            *layer_index = k;
            return net->layers[k];
        }
        i -= net->layers[k]->n_params;
    }
    return NULL;
}

size_t spk_network_param_count(const spk_network *net)
{
    size_t n = 0;
    for (size_t k = 0; net && k < net->n; k++)
        n += net->layers[k]->n_params;
    return n;
}

spk_status spk_network_param(spk_network *net, size_t i, spk_param *out)
{
    spk_status st = SPK_OK;
    spk_context *ctx = net ? net->ctx : NULL;
    size_t local = 0, li = 0;
    SPK_CHECK(ctx, net && out, SPK_ERR_NULL_POINTER, "spk_network_param: net or out is NULL");
    spk_layer *l = param_owner(net, i, &local, &li);
    SPK_CHECK(ctx, l != NULL, SPK_ERR_INVALID_ARGUMENT, "spk_network_param: index %zu >= %zu parameters", i,
              spk_network_param_count(net));
    if (i < MAX_PARAMS)
        snprintf(net->param_names[i], sizeof net->param_names[i], "%zu.%s", li, l->param_names[local]);
    *out = (spk_param){l->params[local], l->grads[local], net->param_names[i], l->frozen[local]};
fail:
    return st;
}

spk_status spk_network_freeze(spk_network *net, size_t i, int frozen)
{
    spk_status st = SPK_OK;
    spk_context *ctx = net ? net->ctx : NULL;
    size_t local = 0, li = 0;
    SPK_CHECK(ctx, net != NULL, SPK_ERR_NULL_POINTER, "spk_network_freeze: net is NULL");
    spk_layer *l = param_owner(net, i, &local, &li);
    SPK_CHECK(ctx, l != NULL, SPK_ERR_INVALID_ARGUMENT, "spk_network_freeze: index %zu >= %zu parameters", i,
              spk_network_param_count(net));
    l->frozen[local] = frozen != 0;
fail:
    return st;
}

spk_status spk_network_step(spk_network *net, spk_optimizer *opt)
{
    spk_status st = SPK_OK;
    spk_context *ctx = net ? net->ctx : NULL;
    SPK_CHECK(ctx, net && opt, SPK_ERR_NULL_POINTER, "spk_network_step: net or optimizer is NULL");
    size_t n = spk_network_param_count(net);
    for (size_t i = 0; i < n; i++) {
        spk_param p;
        SPK_TRY(spk_network_param(net, i, &p));
        if (!p.frozen)
            SPK_TRY(spk_optimizer_apply(opt, i, p.value, p.grad));
    }
    SPK_TRY(spk__net_plasticity_clip(net));
fail:
    return st;
}

/* Squared L2 norm of a tensor: one GEMM, g[1, n] x g[n, 1]. */
static spk_status squared_norm(spk_context *ctx, const spk_tensor *g, spk_tensor *out, double *sq)
{
    spk_status st = SPK_OK;
    spk_tensor *row = NULL, *col = NULL;
    float v = 0.0f;
    size_t n = spk_tensor_numel(g);
    SPK_TRY(spk__view2d(g, 1, n, &row));
    SPK_TRY(spk__view2d(g, n, 1, &col));
    SPK_TRY(spk_gemm(0, 0, 1.0f, row, col, 0.0f, out));
    SPK_TRY(spk_tensor_download(out, &v, sizeof v));
    *sq = v;
fail:
    (void)ctx;
    spk_tensor_free(row), spk_tensor_free(col);
    return st;
}

spk_status spk_network_clip_grad_norm(spk_network *net, float max_norm, float *norm_out)
{
    spk_status st = SPK_OK;
    spk_context *ctx = net ? net->ctx : NULL;
    spk_tensor *dot = NULL;
    SPK_CHECK(ctx, net != NULL, SPK_ERR_NULL_POINTER, "spk_network_clip_grad_norm: net is NULL");
    SPK_CHECK(ctx, max_norm > 0.0f && isfinite(max_norm), SPK_ERR_INVALID_ARGUMENT,
              "spk_network_clip_grad_norm: max_norm must be positive and finite (got %g)", (double)max_norm);
    SPK_TRY(spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){1, 1}, &dot));
    size_t n = spk_network_param_count(net);
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        spk_param p;
        double sq = 0.0;
        SPK_TRY(spk_network_param(net, i, &p));
        if (p.frozen)
            continue;
        SPK_TRY(squared_norm(ctx, p.grad, dot, &sq));
        total += sq;
    }
    double norm = sqrt(total);
    if (norm_out)
        *norm_out = (float)norm;
    SPK_CHECK(ctx, isfinite(norm), SPK_ERR_NUMERIC, "spk_network_clip_grad_norm: the gradient norm is %g", norm);
    if (norm > max_norm)
        for (size_t i = 0; i < n; i++) {
            spk_param p;
            SPK_TRY(spk_network_param(net, i, &p));
            if (!p.frozen)
                SPK_TRY(spk_tensor_scale(p.grad, (float)(max_norm / norm)));
        }
fail:
    spk_tensor_free(dot);
    return st;
}

size_t spk_network_layer_count(const spk_network *net)
{
    return net ? net->n : 0;
}

spk_layer *spk_network_layer(spk_network *net, size_t i)
{
    return net && i < net->n ? net->layers[i] : NULL;
}

const spk_tensor *spk_network_layer_output(const spk_network *net, size_t i)
{
    return net && i < net->n ? net->acts[i] : NULL;
}

const spk_tensor *spk_network_layer_membrane(const spk_network *net, size_t i)
{
    if (!net || i >= net->n || !net->built)
        return NULL;
    const spk_tensor *m = spk__neuron_layer_membrane(net->layers[i]);
    return m ? m : spk__recurrent_layer_membrane(net->layers[i]);
}

spk__net_plasticity **spk__network_plasticity(spk_network *net)
{
    return &net->plasticity;
}

const spk_tensor *spk__network_input(const spk_network *net, int *static_input)
{
    *static_input = net->static_input;
    return net->input;
}
