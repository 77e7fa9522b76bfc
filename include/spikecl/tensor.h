/**
 * @file tensor.h
 * Device tensors: a buffer on the context's device, an element offset, a
 * shape and a data type. Time is a dimension: sequences are [T, B, ...].
 * Row-major ("C order"): the last dimension is contiguous.
 */
#ifndef SPIKECL_TENSOR_H
#define SPIKECL_TENSOR_H

#include <stddef.h>

#include "spikecl/context.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SPK_MAX_DIMS 6

typedef enum spk_dtype {
    SPK_F32 = 0, /**< 32-bit float */
    SPK_U8 = 1   /**< unsigned byte; spikes as 0/1 */
} spk_dtype;

typedef struct spk_tensor spk_tensor;

/** @return the size in bytes of one element of @p dtype (0 if invalid). */
SPK_API size_t spk_dtype_size(spk_dtype dtype);

/**
 * Allocate an uninitialised tensor on the context's device.
 * @param ndim  1..SPK_MAX_DIMS; every extent must be >= 1
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (bad ndim,
 *         zero extent, bad dtype, size overflow), SPK_ERR_DEVICE_OUT_OF_MEMORY
 *         (larger than the device allows or allocation failed), SPK_ERR_OUT_OF_MEMORY.
 */
SPK_API spk_status spk_tensor_create(spk_context *ctx, spk_dtype dtype, int ndim, const size_t *shape,
                                     spk_tensor **out);

/**
 * A view of @p base: same buffer, starting @p offset elements after the
 * start of @p base, with a new shape that must fit inside @p base. The view
 * keeps the buffer alive; free it with spk_tensor_free().
 */
SPK_API spk_status spk_tensor_view(spk_tensor *base, size_t offset, int ndim, const size_t *shape,
                                   spk_tensor **out);

/** Free a tensor or view. Accepts NULL. */
SPK_API void spk_tensor_free(spk_tensor *t);

/** Copy @p bytes from host memory; @p bytes must equal the tensor's size. Blocking. */
SPK_API spk_status spk_tensor_upload(spk_tensor *t, const void *host, size_t bytes);

/** Copy the tensor into host memory; @p bytes must equal the tensor's size. Blocking. */
SPK_API spk_status spk_tensor_download(const spk_tensor *t, void *host, size_t bytes);

/** Set every element of an F32 tensor to @p value. */
SPK_API spk_status spk_tensor_fill_f32(spk_tensor *t, float value);

/** Set every element of a U8 tensor to @p value. */
SPK_API spk_status spk_tensor_fill_u8(spk_tensor *t, unsigned char value);

/** Multiply every element of an F32 tensor by @p s in place. Queued. */
SPK_API spk_status spk_tensor_scale(spk_tensor *t, float s);

/** Copy @p src into @p dst: same dtype and element count. */
SPK_API spk_status spk_tensor_copy(spk_tensor *dst, const spk_tensor *src);

SPK_API spk_dtype spk_tensor_dtype(const spk_tensor *t);
SPK_API int spk_tensor_ndim(const spk_tensor *t);
/** @return extent of dimension @p i, 0 if out of range. */
SPK_API size_t spk_tensor_dim(const spk_tensor *t, int i);
SPK_API size_t spk_tensor_numel(const spk_tensor *t);
SPK_API size_t spk_tensor_bytes(const spk_tensor *t);
SPK_API spk_context *spk_tensor_context(const spk_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
