/* Custom layers: the vtable of a layer forwards to user callbacks. */
#include <stdio.h>
#include <string.h>

#include "nn/layer_internal.h"

typedef struct custom_layer {
    spk_layer base;
    const spk_custom_layer_ops *ops;
    void *user;
    char names[SPK_CUSTOM_MAX_PARAMS][32];
} custom_layer;

static spk_status custom_infer(spk_layer *l, int in_ndim, const size_t *in, int *out_ndim, size_t *out)
{
    custom_layer *c = (custom_layer *)l;
    spk_status st = c->ops->infer_shape(c->user, in_ndim, in, out_ndim, out);
    if (st == SPK_OK && (*out_ndim < 1 || *out_ndim > SPK_MAX_DIMS - 2))
        return spk__error(l->ctx, SPK_ERR_SHAPE, "gives a per-sample output of %d dimensions", *out_ndim);
    if (st != SPK_OK && !*spk_context_last_error(l->ctx))
        spk__error(l->ctx, st, "rejects the input shape");
    return st;
}

static spk_status custom_prepare(spk_layer *l, size_t T, size_t B)
{
    custom_layer *c = (custom_layer *)l;
    return c->ops->prepare ? c->ops->prepare(c->user, l->ctx, T, B) : SPK_OK;
}

static spk_status custom_forward(spk_layer *l, const spk_tensor *in, spk_tensor *out)
{
    custom_layer *c = (custom_layer *)l;
    return c->ops->forward(c->user, l->ctx, l->params, in, out);
}

static spk_status custom_backward(spk_layer *l, const spk_tensor *in, const spk_tensor *out,
                                  const spk_tensor *grad_out, spk_tensor *grad_in)
{
    custom_layer *c = (custom_layer *)l;
    return c->ops->backward(c->user, l->ctx, l->params, l->grads, in, out, grad_out, grad_in);
}

static void custom_describe(const spk_layer *l, char *buf, size_t cap)
{
    const custom_layer *c = (const custom_layer *)l;
    snprintf(buf, cap, "custom %s", c->ops->name ? c->ops->name : "layer");
}

static void custom_destroy(spk_layer *l)
{
    custom_layer *c = (custom_layer *)l;
    if (c->ops->destroy && c->user) /* user is unset when creation failed: the caller keeps it */
        c->ops->destroy(c->user);
}

static const spk__layer_vtable CUSTOM = {"custom", custom_infer, custom_prepare, custom_forward, custom_backward, 0,
                                         custom_describe, custom_destroy};

spk_status spk_custom_layer_create(spk_context *ctx, const spk_custom_layer_ops *ops, void *user,
                                   const spk_custom_param *params, size_t n_params, spk_layer **out)
{
    spk_status st = SPK_OK;
    spk_layer *l = NULL;
    SPK_CHECK(ctx, ctx && ops && out && (params || n_params == 0), SPK_ERR_NULL_POINTER,
              "spk_custom_layer_create: ctx, ops, params or out is NULL");
    *out = NULL;
    SPK_CHECK(ctx, ops->infer_shape && ops->forward && ops->backward, SPK_ERR_INVALID_ARGUMENT,
              "spk_custom_layer_create: infer_shape, forward and backward are required");
    SPK_CHECK(ctx, n_params <= SPK_CUSTOM_MAX_PARAMS, SPK_ERR_INVALID_ARGUMENT,
              "spk_custom_layer_create: at most %d parameters (got %zu)", SPK_CUSTOM_MAX_PARAMS, n_params);
    SPK_TRY(spk__layer_alloc(ctx, &CUSTOM, sizeof(custom_layer), &l));
    custom_layer *c = (custom_layer *)l;
    c->ops = ops;
    for (size_t i = 0; i < n_params; i++) {
        SPK_CHECK(ctx, params[i].name && strlen(params[i].name) < sizeof c->names[i], SPK_ERR_INVALID_ARGUMENT,
                  "spk_custom_layer_create: parameter %zu needs a name of at most %zu characters", i,
                  sizeof c->names[i] - 1);
        spk__copy_str(c->names[i], sizeof c->names[i], params[i].name);
        SPK_TRY(spk__layer_add_param(l, c->names[i], params[i].ndim, params[i].shape));
        SPK_TRY(spk_tensor_fill_f32(l->params[i], 0.0f));
    }
    c->user = user; /* only now: on failure the caller still owns its state */
    *out = l;
    return SPK_OK;
fail:
    spk_layer_free(l);
    return st;
}

spk_status spk_layer_param(spk_layer *l, size_t i, spk_param *out)
{
    spk_status st = SPK_OK;
    SPK_CHECK(l ? l->ctx : NULL, l && out, SPK_ERR_NULL_POINTER, "spk_layer_param: layer or out is NULL");
    SPK_CHECK(l->ctx, i < l->n_params, SPK_ERR_INVALID_ARGUMENT, "spk_layer_param: index %zu >= %zu parameters", i,
              l->n_params);
    *out = (spk_param){l->params[i], l->grads[i], l->param_names[i], l->frozen[i]};
fail:
    return st;
}

size_t spk_layer_param_count(const spk_layer *l)
{
    return l ? l->n_params : 0;
}
