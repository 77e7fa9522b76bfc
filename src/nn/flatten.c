/* Flatten: per-sample [C, H, W] -> [C*H*W]. Row-major data is already in
 * that order, so this is a reshape; the network gives every layer its own
 * activation buffer, so it is done as a copy (one device copy forward, one
 * backward). Letting the network alias the output to the input would make
 * it free, at the price of aliasing rules in the network; not worth it yet. */
#include <stdio.h>

#include "nn/layer_internal.h"

static spk_status flatten_infer(spk_layer *l, int in_ndim, const size_t *in, int *out_ndim, size_t *out)
{
    (void)l;
    size_t n = 1;
    for (int i = 0; i < in_ndim; i++)
        n *= in[i];
    *out_ndim = 1;
    out[0] = n;
    return SPK_OK;
}

static spk_status flatten_forward(spk_layer *l, const spk_tensor *in, spk_tensor *out)
{
    (void)l;
    return spk_tensor_copy(out, in);
}

static spk_status flatten_backward(spk_layer *l, const spk_tensor *in, const spk_tensor *out,
                                   const spk_tensor *grad_out, spk_tensor *grad_in)
{
    (void)l, (void)in, (void)out;
    return grad_in ? spk_tensor_copy(grad_in, grad_out) : SPK_OK;
}

static void flatten_describe(const spk_layer *l, char *buf, size_t cap)
{
    if (l->in_numel)
        snprintf(buf, cap, "flatten -> %zu", l->in_numel);
    else
        snprintf(buf, cap, "flatten");
}

static const spk__layer_vtable FLATTEN = {"flatten", flatten_infer, NULL, flatten_forward, flatten_backward, 0,
                                          flatten_describe, NULL};

spk_status spk_flatten_create(spk_context *ctx, spk_layer **out)
{
    spk_status st = SPK_OK;
    SPK_CHECK(ctx, ctx && out, SPK_ERR_NULL_POINTER, "spk_flatten_create: ctx or out is NULL");
    SPK_TRY(spk__layer_alloc(ctx, &FLATTEN, sizeof(spk_layer), out));
fail:
    return st;
}
