/* The CLBlast kernels spk_tune() searches: their parameter names (CLBlast
 * 1.5's, sorted as CLBlast reports them), the values candidates are drawn
 * from (those of CLBlast's own tuners), and the constraints a parameter set
 * must meet to compile and compute correctly (from the same tuners), plus
 * the device's work-group and local-memory limits. */
#ifndef SPK_TUNE_SPACE_H
#define SPK_TUNE_SPACE_H

#include <stddef.h>
#include <stdint.h>

#include "spikecl/tune.h"

typedef enum spk__tune_kernel {
    SPK__XGEMM = 0,        /* the tiled kernel of large GEMMs (after copy/pad/transpose helpers) */
    SPK__XGEMM_DIRECT = 1, /* one kernel, no helpers: small GEMMs */
    SPK__GEMM_ROUTINE = 2, /* XGEMM_MIN_INDIRECT_SIZE: m*n*k below its cube runs XgemmDirect */
    SPK__N_TUNE_KERNELS = 3
} spk__tune_kernel;

#define SPK__TUNE_MAX_KERNEL_PARAMS 16

typedef struct spk__device_limits {
    size_t max_work_group;
    size_t local_mem_bytes;
} spk__device_limits;

/* Values of one kernel's parameters, in the order of spk__tune_param_names(). */
typedef struct spk__kernel_values {
    size_t v[SPK__TUNE_MAX_KERNEL_PARAMS];
} spk__kernel_values;

const char *spk__tune_kernel_name(spk__tune_kernel k);
/* The kernel's parameter names; *n receives their number. */
const char *const *spk__tune_param_names(spk__tune_kernel k, size_t *n);

/* 1 when `v` may run on a device with `lim`; else 0 and why in msg. */
int spk__tune_valid(spk__tune_kernel k, const spk__kernel_values *v, const spk__device_limits *lim, char *msg,
                    size_t msg_size);

/* Draw a random valid parameter set of kernel k (not GEMM_ROUTINE) from the
 * tuners' value ranges; *rng is a splitmix64 state. Returns 0 when no valid
 * set was found in many draws. */
int spk__tune_draw(spk__tune_kernel k, uint64_t *rng, const spk__device_limits *lim, spk__kernel_values *out);

/* A valid neighbour of `from`: one or two parameters redrawn. 0 when none was found. */
int spk__tune_mutate(spk__tune_kernel k, uint64_t *rng, const spk__device_limits *lim, const spk__kernel_values *from,
                     spk__kernel_values *out);

/* Kernel k's values taken from a parameter set: 1 when all its parameters
 * are there, 0 when none are; -1 (and why in msg) when only some are. */
int spk__tune_extract(const spk_tune_params *p, spk__tune_kernel k, spk__kernel_values *out, char *msg,
                      size_t msg_size);

/* Replace (or add) kernel k's parameters in *p. */
void spk__tune_put(spk_tune_params *p, spk__tune_kernel k, const spk__kernel_values *v);

/* Index of kernel k's parameter `name`, or -1. */
int spk__tune_param_index(spk__tune_kernel k, const char *name);

/* The kernel a parameter's kernel name denotes, or -1. */
int spk__tune_kernel_from_name(const char *name);

/* One-line description "MWG=64 NWG=64 ..." of a kernel's values. */
void spk__tune_describe(spk__tune_kernel k, const spk__kernel_values *v, char *buf, size_t cap);
#endif
