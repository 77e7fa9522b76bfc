/* The context's internals and the OpenCL helpers every op uses. */
#ifndef SPK_CL_INTERNAL_H
#define SPK_CL_INTERNAL_H

#include <CL/cl.h>

#include "core/core.h"

#define SPK_ERROR_DETAIL_MAX 8192

typedef struct spk__program_entry spk__program_entry;

struct spk_context {
    cl_platform_id platform;
    cl_device_id device;
    cl_context cl;
    cl_command_queue queue;
    spk_device_info info;
    uint64_t seed;
    spk_log_fn log;
    void *log_user;
    spk_log_level log_level;
    char *cache_dir;  /* NULL: disk cache off */
    int write_binaries; /* programs compiled from source go to the disk cache (spk_program_binaries) */
    char *kernel_dir; /* NULL: embedded kernels */
    spk__program_entry *programs; /* in-memory program cache, a list */
    struct spk__program_expected *expected; /* programs to build together (cl/program_bundle.h) */
    spk_cache_stats cache_stats;
    spk_launch_stats launch_stats;
    spk_memory_stats memory; /* spk__mem_track */
    spk_gemm_backend gemm_backend; /* resolved at creation: CLBLAST or HOST */
    cl_uint native_float_width;    /* CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, at least 1 */
    cl_ulong cache_bytes;          /* CL_DEVICE_GLOBAL_MEM_CACHE_SIZE (0: unknown) */
    int gpu_layout;                /* SPIKECL_GPU_LAYOUT on a CPU device: the GPU kernel variants */
    int tuning_loaded;             /* tuned CLBlast parameters applied at creation */
    spk_tune_params tuned;         /* those parameters (n = 0: none) */
    char tuning_info[2300];        /* spk_context_tuning(): a path and a reason */
    char last_error[SPK_ERROR_DETAIL_MAX];
};

/* Device memory accounting (spk_context_memory_stats): a buffer of
 * `bytes` made; release a buffer through spk__mem_release, which counts it
 * out when this was its last reference (views retain their base's). */
void spk__mem_made(spk_context *ctx, size_t bytes);
void spk__mem_release(spk_context *ctx, cl_mem m);

/* Record an OpenCL failure: names the call and the CL error; maps
 * out-of-memory errors to SPK_ERR_DEVICE_OUT_OF_MEMORY. */
spk_status spk__cl_error(const spk_context *ctx, cl_int err, const char *call);
const char *spk__cl_error_name(cl_int err);

#define CL_TRY(ctx, call)                                         \
    do {                                                          \
        cl_int cl_err_ = (call);                                  \
        if (cl_err_ != CL_SUCCESS) {                              \
            st = spk__cl_error((ctx), cl_err_, #call);            \
            goto fail;                                            \
        }                                                         \
    } while (0)

/* Fill an spk_device_info for one device. */
void spk__device_describe(cl_platform_id platform, cl_device_id device, int platform_index, int device_index,
                          spk_device_info *out);

/* A kernel from program `file` (a name in kernels/, e.g. "lif.cl") built
 * with `options` (structural -D defines). Borrowed: the context owns it and
 * keeps it for its lifetime. */
spk_status spk__kernel_get(spk_context *ctx, const char *file, const char *options, const char *kernel_name,
                           cl_kernel *out);

/* The options of a program of `file` this context has built (the most
 * recent first), else expects (spk__program_expect), whose options hold each
 * of the n `words` (whole space-separated words); NULL if none. Borrowed:
 * copy it before the next build. */
const char *spk__program_options_with(const spk_context *ctx, const char *file, const char *const *words, size_t n);

/* Note that this context will likely build kernels/`file` with `options`:
 * the first build of any expected program compiles those that fit in the
 * same program (cl/program_bundle.h). A hint: nothing is built now, and out
 * of memory only loses it. */
void spk__program_expect(spk_context *ctx, const char *file, const char *options);

/* Launch k over `global` (dims 1-3) in work-groups of one item: for CPU
 * kernels whose items each loop over a block (ITEM_ROWS, TILE_INDEX). */
spk_status spk__launch_items(spk_context *ctx, cl_kernel k, cl_uint dims, const size_t *global);

/* Launch a kernel whose items loop over blocks of n rows (ITEM_ROWS in
 * kernels/common.clh) along dimension dim (0 or 1), and, for dim 1, over
 * `across` along dimension 0. With cpu (a CPU device): 4 items per compute
 * unit in groups of one item, so PoCL generates no loop over a group's
 * items, whose code took up to 3x as long to compile (bench/RESULTS.md,
 * "Cold start"), and one code generation serves every shape. Otherwise one
 * item per row (and per `across`). */
spk_status spk__launch_rows(spk_context *ctx, cl_kernel k, int cpu, int dim, size_t across, size_t n);

/* Build (or fetch) a whole program; used by warm-up and the kernel lookup. */
spk_status spk__program_get(spk_context *ctx, const char *file, const char *options, cl_program *out);

/* Write the programs compiled from source in this context to the disk
 * cache (best effort; each is tried once). */
void spk__programs_save(spk_context *ctx);

void spk__programs_free(spk_context *ctx);

/* Kernel arguments, set in order by SPK_SET_ARGS(ctx, kernel, SPK_ARG(a), ...). */
typedef struct spk__arg {
    size_t size;
    const void *ptr;
} spk__arg;
#define SPK_ARG(x) ((spk__arg){sizeof(x), (const void *)&(x)})
#define SPK_SET_ARGS(ctx, k, ...) SPK_SET_ARGS_FROM(ctx, k, 0, __VA_ARGS__)
/* The same from argument index `first` on. */
#define SPK_SET_ARGS_FROM(ctx, k, first, ...)                                                                        \
    spk__set_args((ctx), (k), (first), (const spk__arg[]){__VA_ARGS__},                                              \
                  sizeof((const spk__arg[]){__VA_ARGS__}) / sizeof(spk__arg))
spk_status spk__set_args(spk_context *ctx, cl_kernel k, size_t first, const spk__arg *args, size_t n);

/* Launch a 1-D kernel over `global` work items (rounded up inside to the
 * local size; kernels guard their index). */
spk_status spk__launch_1d(spk_context *ctx, cl_kernel k, size_t global);

/* The same with work-groups of up to `local` items. */
spk_status spk__launch_1d_groups(spk_context *ctx, cl_kernel k, size_t global, size_t local);

/* A 2-D or 3-D launch over g[0..dims-1], dimension 0 along contiguous
 * elements, with work-groups of up to 256 items. */
spk_status spk__launch_nd(spk_context *ctx, cl_kernel k, cl_uint dims, const size_t *g);

#endif
