#include <stdio.h>
#include <string.h>

#include "core/rng.h"
#include "nn/layer_internal.h"

spk_status spk__layer_alloc(spk_context *ctx, const spk__layer_vtable *vt, size_t size, spk_layer **out)
{
    spk_status st = SPK_OK;
    SPK_CHECK(ctx, ctx && out, SPK_ERR_NULL_POINTER, "%s layer: ctx or out is NULL", vt->type);
    *out = NULL;
    spk_layer *l = spk__calloc(1, size);
    SPK_CHECK(ctx, l != NULL, SPK_ERR_OUT_OF_MEMORY, "%s layer: out of host memory", vt->type);
    l->vt = vt;
    l->ctx = ctx;
    *out = l;
fail:
    return st;
}

spk_status spk__layer_add_param(spk_layer *l, const char *name, int ndim, const size_t *shape)
{
    spk_status st = SPK_OK;
    size_t i = l->n_params;
    SPK_CHECK(l->ctx, i < SPK_LAYER_MAX_PARAMS, SPK_ERR_INVALID_ARGUMENT, "too many parameters in a layer");
    SPK_TRY(spk_tensor_create(l->ctx, SPK_F32, ndim, shape, &l->params[i]));
    SPK_TRY(spk_tensor_create(l->ctx, SPK_F32, ndim, shape, &l->grads[i]));
    SPK_TRY(spk_tensor_fill_f32(l->grads[i], 0.0f));
    l->param_names[i] = name;
    l->n_params++;
    return SPK_OK;
fail:
    spk_tensor_free(l->params[i]);
    spk_tensor_free(l->grads[i]);
    l->params[i] = l->grads[i] = NULL;
    return st;
}

void spk_layer_free(spk_layer *l)
{
    if (!l)
        return;
    if (l->vt->destroy)
        l->vt->destroy(l);
    for (size_t i = 0; i < l->n_params; i++) {
        spk_tensor_free(l->params[i]);
        spk_tensor_free(l->grads[i]);
    }
    spk__free(l);
}

const char *spk_layer_describe(const spk_layer *l, char *buf, size_t cap)
{
    if (!buf || !cap)
        return "";
    if (!l)
        spk__copy_str(buf, cap, "(null)");
    else if (l->vt->describe)
        l->vt->describe(l, buf, cap);
    else
        spk__copy_str(buf, cap, l->vt->type);
    return buf;
}

spk_status spk__view2d(const spk_tensor *t, size_t rows, size_t cols, spk_tensor **out)
{
    return spk_tensor_view((spk_tensor *)t, 0, 2, (size_t[2]){rows, cols}, out);
}

spk_status spk__view3d(const spk_tensor *t, size_t T, size_t B, size_t n, spk_tensor **out)
{
    return spk_tensor_view((spk_tensor *)t, 0, 3, (size_t[3]){T, B, n}, out);
}

spk_status spk__init_params_uniform(spk_layer *l, float bound, uint64_t seed)
{
    spk_status st = SPK_OK;
    spk__rng rng = spk__rng_seed(seed);
    for (size_t i = 0; i < l->n_params && st == SPK_OK; i++)
        st = spk__init_uniform(l->params[i], bound, &rng);
    return st;
}

spk_status spk__init_uniform(spk_tensor *t, float bound, spk__rng *rng)
{
    size_t n = spk_tensor_numel(t);
    float *h = spk__malloc(n * sizeof *h);
    if (!h)
        return spk__error(spk_tensor_context(t), SPK_ERR_OUT_OF_MEMORY, "initialising weights: out of host memory");
    for (size_t i = 0; i < n; i++)
        h[i] = bound * (2.0f * spk__rng_uniform(rng) - 1.0f);
    spk_status st = spk_tensor_upload(t, h, n * sizeof *h);
    spk__free(h);
    return st;
}

spk_status spk__unpack_input(spk_layer *l, const spk_tensor *in, size_t rows, size_t cols, spk_tensor **out)
{
    spk_status st = SPK_OK;
    *out = NULL;
    SPK_CHECK(l->ctx, l->unpack_scratch && spk_tensor_numel(l->unpack_scratch) >= rows * cols, SPK_ERR_INVALID_ARGUMENT,
              "layer %zu: no scratch to unpack its bit-packed input into", l->index);
    SPK_TRY(spk_tensor_view(l->unpack_scratch, 0, 2, (size_t[2]){rows, cols}, out));
    SPK_TRY(spk_spikes_unpack(l->ctx, in, *out));
    return SPK_OK;
fail:
    spk_tensor_free(*out);
    *out = NULL;
    return st;
}
