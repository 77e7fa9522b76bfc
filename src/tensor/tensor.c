/* Device tensors: a cl_mem plus an element offset (views share the buffer,
 * no sub-buffers, so offsets need no alignment). */
#include <stdio.h>
#include <string.h>

#include "tensor/tensor_internal.h"

size_t spk_dtype_size(spk_dtype dtype)
{
    switch (dtype) {
    case SPK_F32:
        return 4;
    case SPK_U8:
        return 1;
    }
    return 0;
}

static const char *dtype_name(spk_dtype d)
{
    return d == SPK_F32 ? "f32" : d == SPK_U8 ? "u8" : "invalid";
}

const char *spk__dims_str(int ndim, const size_t *dims, char *buf, size_t cap)
{
    size_t used = 0;
    used += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, i ? ", %zu" : "%zu", dims[i]);
    if (used < cap)
        snprintf(buf + used, cap - used, "]");
    return buf;
}

const char *spk__shape_str(const spk_tensor *t, char *buf, size_t cap)
{
    return spk__dims_str(t->ndim, t->shape, buf, cap);
}

static spk_status check_shape(spk_context *ctx, const char *fn, int ndim, const size_t *shape, size_t *numel)
{
    spk_status st = SPK_OK;
    SPK_CHECK(ctx, shape != NULL, SPK_ERR_NULL_POINTER, "%s: shape is NULL", fn);
    SPK_CHECK(ctx, ndim >= 1 && ndim <= SPK_MAX_DIMS, SPK_ERR_INVALID_ARGUMENT, "%s: ndim %d is not in 1..%d", fn,
              ndim, SPK_MAX_DIMS);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        SPK_CHECK(ctx, shape[i] > 0, SPK_ERR_INVALID_ARGUMENT, "%s: dimension %d has extent 0", fn, i);
        SPK_CHECK(ctx, n <= ((size_t)-1 >> 3) / shape[i], SPK_ERR_INVALID_ARGUMENT, "%s: shape overflows", fn);
        n *= shape[i];
    }
    *numel = n;
fail:
    return st;
}

spk_status spk_tensor_create(spk_context *ctx, spk_dtype dtype, int ndim, const size_t *shape, spk_tensor **out)
{
    spk_status st = SPK_OK;
    spk_tensor *t = NULL;
    size_t numel = 0;
    SPK_CHECK(ctx, ctx && out, SPK_ERR_NULL_POINTER, "spk_tensor_create: ctx or out is NULL");
    *out = NULL;
    SPK_CHECK(ctx, spk_dtype_size(dtype) != 0, SPK_ERR_INVALID_ARGUMENT, "spk_tensor_create: invalid dtype %d",
              (int)dtype);
    SPK_TRY(check_shape(ctx, "spk_tensor_create", ndim, shape, &numel));
    size_t bytes = numel * spk_dtype_size(dtype);
    SPK_CHECK(ctx, bytes <= ctx->info.max_alloc_bytes, SPK_ERR_DEVICE_OUT_OF_MEMORY,
              "spk_tensor_create: %zu bytes exceed the device's largest allocation (%llu bytes on %s)", bytes,
              (unsigned long long)ctx->info.max_alloc_bytes, ctx->info.device_name);
    t = spk__calloc(1, sizeof *t);
    SPK_CHECK(ctx, t != NULL, SPK_ERR_OUT_OF_MEMORY, "spk_tensor_create: out of host memory");
    cl_int err = CL_SUCCESS;
    t->buf = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS) {
        st = spk__cl_error(ctx, err, "clCreateBuffer");
        goto fail;
    }
    spk__mem_made(ctx, bytes);
    t->ctx = ctx;
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->numel = numel;
    *out = t;
    return SPK_OK;
fail:
    spk_tensor_free(t);
    return st;
}

spk_status spk_tensor_view(spk_tensor *base, size_t offset, int ndim, const size_t *shape, spk_tensor **out)
{
    spk_status st = SPK_OK;
    spk_context *ctx = base ? base->ctx : NULL;
    size_t numel = 0;
    SPK_CHECK(ctx, base && out, SPK_ERR_NULL_POINTER, "spk_tensor_view: base or out is NULL");
    *out = NULL;
    SPK_TRY(check_shape(ctx, "spk_tensor_view", ndim, shape, &numel));
    SPK_CHECK(ctx, offset <= base->numel && numel <= base->numel - offset, SPK_ERR_SHAPE,
              "spk_tensor_view: %zu elements at offset %zu do not fit in the %zu elements of the base tensor", numel,
              offset, base->numel);
    spk_tensor *t = spk__calloc(1, sizeof *t);
    SPK_CHECK(ctx, t != NULL, SPK_ERR_OUT_OF_MEMORY, "spk_tensor_view: out of host memory");
    *t = *base;
    clRetainMemObject(t->buf);
    t->offset = base->offset + offset;
    t->ndim = ndim;
    memset(t->shape, 0, sizeof t->shape);
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->numel = numel;
    *out = t;
fail:
    return st;
}

void spk_tensor_free(spk_tensor *t)
{
    if (!t)
        return;
    if (t->buf)
        spk__mem_release(t->ctx, t->buf);
    spk__free(t);
}

static spk_status check_transfer(const spk_tensor *t, const void *host, size_t bytes, const char *fn)
{
    spk_status st = SPK_OK;
    spk_context *ctx = t ? t->ctx : NULL;
    SPK_CHECK(ctx, t && host, SPK_ERR_NULL_POINTER, "%s: tensor or host pointer is NULL", fn);
    SPK_CHECK(ctx, bytes == spk_tensor_bytes(t), SPK_ERR_SHAPE, "%s: %zu bytes given, the tensor holds %zu", fn,
              bytes, spk_tensor_bytes(t));
fail:
    return st;
}

spk_status spk_tensor_upload(spk_tensor *t, const void *host, size_t bytes)
{
    spk_status st = SPK_OK;
    SPK_TRY(check_transfer(t, host, bytes, "spk_tensor_upload"));
    size_t es = spk_dtype_size(t->dtype);
    CL_TRY(t->ctx, clEnqueueWriteBuffer(t->ctx->queue, t->buf, CL_TRUE, t->offset * es, bytes, host, 0, NULL, NULL));
fail:
    return st;
}

spk_status spk_tensor_download(const spk_tensor *t, void *host, size_t bytes)
{
    spk_status st = SPK_OK;
    SPK_TRY(check_transfer(t, host, bytes, "spk_tensor_download"));
    size_t es = spk_dtype_size(t->dtype);
    CL_TRY(t->ctx, clEnqueueReadBuffer(t->ctx->queue, t->buf, CL_TRUE, t->offset * es, bytes, host, 0, NULL, NULL));
fail:
    return st;
}

static spk_status fill(spk_tensor *t, spk_dtype dtype, const void *pattern, const char *fn)
{
    spk_status st = SPK_OK;
    spk_context *ctx = t ? t->ctx : NULL;
    SPK_CHECK(ctx, t != NULL, SPK_ERR_NULL_POINTER, "%s: tensor is NULL", fn);
    SPK_CHECK(ctx, t->dtype == dtype, SPK_ERR_DTYPE, "%s: tensor is %s, not %s", fn, dtype_name(t->dtype),
              dtype_name(dtype));
    size_t es = spk_dtype_size(dtype);
    CL_TRY(ctx, clEnqueueFillBuffer(ctx->queue, t->buf, pattern, es, t->offset * es, t->numel * es, 0, NULL, NULL));
fail:
    return st;
}

spk_status spk_tensor_fill_f32(spk_tensor *t, float value)
{
    return fill(t, SPK_F32, &value, "spk_tensor_fill_f32");
}

spk_status spk_tensor_fill_u8(spk_tensor *t, unsigned char value)
{
    return fill(t, SPK_U8, &value, "spk_tensor_fill_u8");
}

spk_status spk_tensor_copy(spk_tensor *dst, const spk_tensor *src)
{
    spk_status st = SPK_OK;
    spk_context *ctx = dst ? dst->ctx : src ? src->ctx : NULL;
    SPK_CHECK(ctx, dst && src, SPK_ERR_NULL_POINTER, "spk_tensor_copy: dst or src is NULL");
    SPK_CHECK(ctx, dst->ctx == src->ctx, SPK_ERR_CONTEXT, "spk_tensor_copy: tensors belong to different contexts");
    SPK_CHECK(ctx, dst->dtype == src->dtype, SPK_ERR_DTYPE, "spk_tensor_copy: dtypes differ (%s and %s)",
              dtype_name(dst->dtype), dtype_name(src->dtype));
    SPK_CHECK(ctx, dst->numel == src->numel, SPK_ERR_SHAPE, "spk_tensor_copy: %zu elements into %zu", src->numel,
              dst->numel);
    size_t es = spk_dtype_size(src->dtype);
    CL_TRY(ctx, clEnqueueCopyBuffer(ctx->queue, src->buf, dst->buf, src->offset * es, dst->offset * es,
                                    src->numel * es, 0, NULL, NULL));
fail:
    return st;
}

spk_dtype spk_tensor_dtype(const spk_tensor *t)
{
    return t ? t->dtype : SPK_F32;
}

int spk_tensor_ndim(const spk_tensor *t)
{
    return t ? t->ndim : 0;
}

size_t spk_tensor_dim(const spk_tensor *t, int i)
{
    return t && i >= 0 && i < t->ndim ? t->shape[i] : 0;
}

size_t spk_tensor_numel(const spk_tensor *t)
{
    return t ? t->numel : 0;
}

size_t spk_tensor_bytes(const spk_tensor *t)
{
    return t ? t->numel * spk_dtype_size(t->dtype) : 0;
}

spk_context *spk_tensor_context(const spk_tensor *t)
{
    return t ? t->ctx : NULL;
}

static spk_status check_common(spk_context *ctx, const spk_tensor *t, const char *what, int ndim,
                               const size_t *shape)
{
    spk_status st = SPK_OK;
    char got[128];
    SPK_CHECK(ctx, t != NULL, SPK_ERR_NULL_POINTER, "%s is NULL", what);
    SPK_CHECK(ctx, t->ctx == ctx, SPK_ERR_CONTEXT, "%s belongs to another context", what);
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        spk_tensor want = {.ndim = ndim};
        char wanted[128];
        memcpy(want.shape, shape, (size_t)ndim * sizeof *shape);
        SPK_CHECK(ctx, 0, SPK_ERR_SHAPE, "%s has shape %s, expected %s", what, spk__shape_str(t, got, sizeof got),
                  spk__shape_str(&want, wanted, sizeof wanted));
    }
fail:
    return st;
}

spk_status spk__check_tensor(spk_context *ctx, const spk_tensor *t, const char *what, spk_dtype dtype, int ndim,
                             const size_t *shape)
{
    spk_status st = SPK_OK;
    SPK_TRY(check_common(ctx, t, what, ndim, shape));
    SPK_CHECK(ctx, t->dtype == dtype, SPK_ERR_DTYPE, "%s is %s, expected %s", what, dtype_name(t->dtype),
              dtype_name(dtype));
fail:
    return st;
}

spk_status spk__check_tensor_any(spk_context *ctx, const spk_tensor *t, const char *what, int ndim,
                                 const size_t *shape)
{
    return check_common(ctx, t, what, ndim, shape);
}
