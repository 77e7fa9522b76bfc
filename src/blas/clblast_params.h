/* CLBlast's own tuning parameters of a device, read through CLBlast's C++
 * API (its C API can override parameters but not read them). */
#ifndef SPK_CLBLAST_PARAMS_H
#define SPK_CLBLAST_PARAMS_H

#include <CL/cl.h>

#include "spikecl/tune.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Append CLBlast's parameters of `kernel` (single precision) on `device` to
 * *out, sorted by name: the values CLBlast had before spikecl first asked,
 * remembered for the process, so later overrides do not change them.
 * Returns 0, or a CLBlast status (negative) when CLBlast fails, or 1 when
 * *out has no room. */
int spk__clblast_defaults(cl_device_id device, const char *kernel, spk_tune_params *out);

#ifdef __cplusplus
}
#endif
#endif
