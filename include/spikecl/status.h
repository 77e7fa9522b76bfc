/**
 * @file status.h
 * Status codes returned by every spikecl call.
 *
 * 0 is success, errors are negative. Values are only ever appended, so a
 * number keeps its meaning across versions. The detail of the last error
 * (OpenCL error name, build log, offending shape) is kept per context:
 * see spk_context_last_error().
 */
#ifndef SPIKECL_STATUS_H
#define SPIKECL_STATUS_H

#include "spikecl/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, message) */
#define SPK_STATUS_LIST(X)                                                          \
    X(SPK_OK, 0, "success")                                                         \
    X(SPK_ERR_INVALID_ARGUMENT, -1, "invalid argument")                             \
    X(SPK_ERR_NULL_POINTER, -2, "a required pointer argument is NULL")              \
    X(SPK_ERR_SHAPE, -3, "tensor shapes do not match")                              \
    X(SPK_ERR_DTYPE, -4, "tensor data type is not the one required")                \
    X(SPK_ERR_OUT_OF_MEMORY, -5, "out of host memory")                              \
    X(SPK_ERR_DEVICE_OUT_OF_MEMORY, -6, "out of device memory")                     \
    X(SPK_ERR_NO_DEVICE, -7, "no matching OpenCL device")                           \
    X(SPK_ERR_OPENCL, -8, "an OpenCL call failed")                                  \
    X(SPK_ERR_BUILD, -9, "an OpenCL kernel failed to build")                        \
    X(SPK_ERR_BLAS, -10, "the BLAS library (CLBlast) failed")                       \
    X(SPK_ERR_IO, -11, "file input/output failed")                                  \
    X(SPK_ERR_CORRUPT, -12, "file is corrupt or truncated")                         \
    X(SPK_ERR_UNSUPPORTED, -13, "not supported on this device or build")            \
    X(SPK_ERR_CONTEXT, -14, "objects belong to different contexts")                 \
    X(SPK_ERR_NUMERIC, -15, "a NaN or Inf was produced")

typedef enum spk_status {
#define SPK_STATUS_ENUM_(name, value, msg) name = value,
    SPK_STATUS_LIST(SPK_STATUS_ENUM_)
#undef SPK_STATUS_ENUM_
} spk_status;

/** @return the enum name of @p s, e.g. "SPK_ERR_SHAPE"; "SPK_UNKNOWN_STATUS" if not a status. */
SPK_API const char *spk_status_name(spk_status s);

/** @return a short English description of @p s. */
SPK_API const char *spk_status_str(spk_status s);

#ifdef __cplusplus
}
#endif
#endif
