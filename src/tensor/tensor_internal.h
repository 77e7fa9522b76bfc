#ifndef SPK_TENSOR_INTERNAL_H
#define SPK_TENSOR_INTERNAL_H
#include "cl/cl_internal.h"

struct spk_tensor {
    spk_context *ctx;
    cl_mem buf;     /* retained by every view */
    size_t offset;  /* in elements */
    spk_dtype dtype;
    int ndim;
    size_t shape[SPK_MAX_DIMS];
    size_t numel;
};

/* Format a shape as "[2, 3, 4]" for error messages. */
const char *spk__shape_str(const spk_tensor *t, char *buf, size_t cap);
/* The same for ndim extents given as an array (a per-sample shape). */
const char *spk__dims_str(int ndim, const size_t *dims, char *buf, size_t cap);

/* Check t is non-NULL, of ctx, of dtype, with the given shape (ndim dims);
 * `what` names the argument in the message. */
spk_status spk__check_tensor(spk_context *ctx, const spk_tensor *t, const char *what, spk_dtype dtype, int ndim,
                             const size_t *shape);
/* Same, but either F32 or U8 is accepted. */
spk_status spk__check_tensor_any(spk_context *ctx, const spk_tensor *t, const char *what, int ndim,
                                 const size_t *shape);
#endif
