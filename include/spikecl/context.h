/**
 * @file context.h
 * Devices and contexts.
 *
 * A context is one OpenCL device with one in-order queue, the compiled-program
 * cache, the random seed, and the detail of the last error. Every other object
 * belongs to one context. One object is used from one thread at a time;
 * separate contexts are independent.
 */
#ifndef SPIKECL_CONTEXT_H
#define SPIKECL_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "spikecl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct spk_context spk_context;

/** What spk_devices_list() reports about one OpenCL device. */
typedef struct spk_device_info {
    int platform_index;        /**< index of the platform in clGetPlatformIDs order */
    int device_index;          /**< index of the device within its platform */
    char platform_name[128];
    char platform_version[128];
    char device_name[128];
    char vendor[128];
    char device_version[128];  /**< e.g. "OpenCL 3.0 PoCL ..." */
    char driver_version[64];
    int is_gpu;
    int is_cpu;
    uint32_t compute_units;
    uint32_t max_clock_mhz;
    uint64_t global_mem_bytes;
    uint64_t max_alloc_bytes;
    uint64_t local_mem_bytes;
    size_t max_work_group_size;
    int is_default;            /**< 1 for the device a context picks with no selector */
} spk_device_info;

/**
 * List every OpenCL device of every platform.
 * @param out    array of @p cap entries, may be NULL when @p cap is 0
 * @param count  receives the total number of devices (may exceed @p cap)
 * @return SPK_OK (also when there is no device: *count is then 0),
 *         SPK_ERR_NULL_POINTER, SPK_ERR_OPENCL when the ICD loader fails.
 */
SPK_API spk_status spk_devices_list(spk_device_info *out, size_t cap, size_t *count);

/** Log levels for the optional log callback. */
typedef enum spk_log_level { SPK_LOG_ERROR = 0, SPK_LOG_WARN = 1, SPK_LOG_INFO = 2, SPK_LOG_DEBUG = 3 } spk_log_level;

typedef void (*spk_log_fn)(spk_log_level level, const char *message, void *user);

/**
 * Which library runs spk_gemm() (and so every dense and convolutional layer).
 * CLBlast runs on every OpenCL device. On a CPU device whose buffers live in
 * host memory, a host BLAS (OpenBLAS, when the library was built with it)
 * can run on the same buffers mapped without a copy; on the 2-core machine
 * in bench/RESULTS.md it is 3 to 14 times faster than CLBlast through PoCL.
 */
typedef enum spk_gemm_backend {
    SPK_GEMM_AUTO = 0,    /**< host BLAS on CPU devices with host-unified memory when it can be loaded, else CLBlast */
    SPK_GEMM_CLBLAST = 1, /**< CLBlast on the device */
    SPK_GEMM_HOST = 2     /**< host BLAS on mapped buffers; CPU devices with host-unified memory only */
} spk_gemm_backend;

/** @return "auto", "clblast", "host", or NULL for an unknown value. */
SPK_API const char *spk_gemm_backend_name(spk_gemm_backend b);

/** @return 1 if the host BLAS backend can be used: this build has it, and OpenBLAS loads (the library
 *  loads it at the first call or context that may use it: libopenblas.so.0, or the file SPIKECL_OPENBLAS
 *  names; see docs/training.md for OPENBLAS_THREAD_TIMEOUT). */
SPK_API int spk_gemm_host_available(void);

/** Whether a context applies the tuned CLBlast parameters stored for its
 *  device by spk_tune() (see tune.h). */
typedef enum spk_clblast_tuning {
    SPK_TUNING_AUTO = 0, /**< SPIKECL_TUNE: "off" (or "0") turns loading off; unset, "on" or "1": load */
    SPK_TUNING_LOAD = 1, /**< load them when a valid file exists */
    SPK_TUNING_OFF = 2   /**< keep CLBlast's own parameters */
} spk_clblast_tuning;

/** Whether programs compiled from source are written to the disk cache as
 *  binaries (spk_context_cache_save, spk_context_free). */
typedef enum spk_program_binaries {
    /** SPIKECL_CACHE_BINARIES ("on" or "1", "off" or "0") when set; else write them, except on PoCL
     *  with its own kernel cache on (POCL_KERNEL_CACHE unset or not "0") and its cache directory
     *  (POCL_CACHE_DIR, else $XDG_CACHE_HOME/pocl or ~/.cache/pocl) writable. PoCL makes a binary by
     *  generating code for every kernel of the program, about 3 s on the 2-core machine of
     *  bench/RESULTS.md after a cold start, and its own cache already starts the next process as
     *  warm (0.15-0.17 s to the first training step against 0.16-0.18 s from our binaries). */
    SPK_BINARIES_AUTO = 0,
    SPK_BINARIES_WRITE = 1, /**< write them (where the disk cache is on) */
    SPK_BINARIES_SKIP = 2   /**< leave them to the driver's own cache; entries already on disk still load */
} spk_program_binaries;

/** Options for spk_context_create(). Start from spk_context_options_default(). */
typedef struct spk_context_options {
    /** Device selector: "p:d" (platform and device index), "gpu", "cpu", or a
     *  case-insensitive substring of the device or platform name. NULL: the
     *  SPIKECL_DEVICE environment variable, else the first GPU, else the first CPU. */
    const char *device;
    /** Directory of the on-disk program cache. NULL: SPIKECL_CACHE_DIR, else
     *  $XDG_CACHE_HOME/spikecl, else $HOME/.cache/spikecl. The value "off"
     *  or "" (here or in SPIKECL_CACHE_DIR) disables the disk cache. */
    const char *cache_dir;
    /** Development switch: load the kernels/ sources (.cl, .clh) from this directory instead of
     *  the copies embedded at build time. NULL: SPIKECL_KERNEL_DIR, else embedded. */
    const char *kernel_dir;
    /** Seed of the counter-based random number generator. */
    uint64_t seed;
    /** Optional log callback; the library prints nothing by itself. */
    spk_log_fn log;
    void *log_user;
    spk_log_level log_level;
    /** GEMM backend. SPK_GEMM_AUTO: the SPIKECL_GEMM environment variable
     *  ("auto", "clblast" or "host") if set, else the automatic choice. */
    spk_gemm_backend gemm_backend;
    /** Tuned CLBlast parameters from the cache directory; see spk_context_tuning(). */
    spk_clblast_tuning clblast_tuning;
    /** Program binaries to the disk cache, or not; see spk_program_binaries. */
    spk_program_binaries program_binaries;
} spk_context_options;

/** @return the defaults: environment-driven device and cache, seed 0, no log. */
SPK_API spk_context_options spk_context_options_default(void);

/**
 * Create a context on the selected device.
 * @param opts  options, or NULL for spk_context_options_default()
 * @param out   receives the context; NULL on failure
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_NO_DEVICE (no device or no
 *         match for the selector), SPK_ERR_INVALID_ARGUMENT (malformed
 *         selector, unknown GEMM backend, program_binaries mode, or
 *         SPIKECL_TUNE or SPIKECL_CACHE_BINARIES value),
 *         SPK_ERR_UNSUPPORTED (host GEMM asked for on a device or build
 *         without it), SPK_ERR_OPENCL, SPK_ERR_OUT_OF_MEMORY. On failure the
 *         detail is available from spk_context_last_error(NULL). A stored
 *         tuning file that cannot be used is not an error: the context keeps
 *         CLBlast's own parameters and spk_context_tuning() says why.
 */
SPK_API spk_status spk_context_create(const spk_context_options *opts, spk_context **out);

/** Free a context and everything cached in it. Accepts NULL. All objects
 *  created from the context must be freed first. Programs it compiled that
 *  are not on disk yet are written to the disk cache first where binaries
 *  are written (see spk_context_cache_save), which can take seconds after
 *  a cold start. */
SPK_API void spk_context_free(spk_context *ctx);

/**
 * @return the detail of the last error on @p ctx ("" if none). With NULL:
 *         the detail of the last failed context-less call (spk_context_create,
 *         spk_devices_list) on this thread.
 */
SPK_API const char *spk_context_last_error(const spk_context *ctx);

/** Describe the context's device. @return SPK_OK or SPK_ERR_NULL_POINTER. */
SPK_API spk_status spk_context_device(const spk_context *ctx, spk_device_info *out);

/** @return the GEMM backend the context uses (never SPK_GEMM_AUTO), or
 *  SPK_GEMM_AUTO for a NULL context. */
SPK_API spk_gemm_backend spk_context_gemm_backend(const spk_context *ctx);

/** Wait until all work queued on the context has finished. */
SPK_API spk_status spk_context_finish(spk_context *ctx);

/** The context's RNG seed (from the options). */
SPK_API uint64_t spk_context_seed(const spk_context *ctx);

/** Counters of the program cache, for tests and benchmarks. */
typedef struct spk_cache_stats {
    uint64_t memory_hits;  /**< program found in this context's memory */
    uint64_t disk_hits;    /**< program binary loaded from the disk cache */
    uint64_t compiles;     /**< program compiled from source */
    uint64_t disk_rejects; /**< disk entries ignored as corrupt or mismatched */
    uint64_t disk_writes;  /**< programs written to the disk cache (spk_context_cache_save) */
    uint64_t disk_skips;   /**< programs compiled from source and not written: SPK_BINARIES_SKIP, or AUTO on
                                PoCL with its kernel cache on */
} spk_cache_stats;

SPK_API spk_status spk_context_cache_stats(const spk_context *ctx, spk_cache_stats *out);

/** Work queued on the context so far, for benchmarks and tests (e.g. that
 *  the launches of a training step do not grow with T). */
typedef struct spk_launch_stats {
    uint64_t kernel_launches; /**< spikecl's own kernels */
    uint64_t gemm_calls;      /**< GEMMs run by the GEMM backend (a CLBlast GEMM may run a few kernels of its own) */
} spk_launch_stats;

SPK_API spk_status spk_context_launch_stats(const spk_context *ctx, spk_launch_stats *out);

/** Device memory in spikecl's own buffers: tensors (a view costs nothing)
 *  and the ops' scratch. Buffers that CLBlast allocates inside its GEMMs are
 *  not counted. */
typedef struct spk_memory_stats {
    uint64_t bytes;      /**< held now */
    uint64_t peak_bytes; /**< high-water mark since the context was made or spk_context_reset_memory_peak() */
} spk_memory_stats;

SPK_API spk_status spk_context_memory_stats(const spk_context *ctx, spk_memory_stats *out);

/** Start a new high-water mark from what is held now (e.g. before one training step). Accepts NULL. */
SPK_API void spk_context_reset_memory_peak(spk_context *ctx);

/**
 * Compile (or load from cache) every kernel program the library uses with its
 * default structural options, so later calls start warm.
 * @param n_programs  optional, receives the number of programs built
 */
SPK_API spk_status spk_context_warmup(spk_context *ctx, size_t *n_programs);

/**
 * Compile now (or load from the disk cache) the kernel programs that the
 * layers, networks and optimizers made on this context so far will launch,
 * bundled into as few programs as their options allow. Otherwise they build
 * at the first launch that needs them. Call it, for example, while another
 * thread loads the data: `spikecl train` does, and its first step then
 * waits for the longer of the two instead of their sum. Some drivers (PoCL)
 * still generate each kernel's machine code at its first launch.
 * @param n_programs  optional, receives the number of builds (bundles) done
 */
SPK_API spk_status spk_context_compile_pending(spk_context *ctx, size_t *n_programs);

/**
 * Write the programs this context compiled from source to the disk cache;
 * spk_context_free does it for any left. Where binaries are not written
 * (spk_program_binaries; by default on PoCL with its own kernel cache) it
 * writes nothing and counts them as disk_skips. Compiling does not write them at
 * once: on PoCL, making a program's binary generates code for every kernel
 * in it, which takes longer than the compile, so a cold start would pay it
 * before its first result. Written later, after the kernels ran, a binary
 * also holds the code PoCL generated for their work-group sizes, so a new
 * process launches them without generating any. Call it after the first
 * results (spikecl train does, after the first training step) so that a run
 * that is killed still leaves its programs on disk. Waits for the queue.
 * A program that cannot be written is a logged warning, not an error, and
 * is not tried again.
 * @return SPK_OK, SPK_ERR_NULL_POINTER, or an OpenCL error of the queue
 */
SPK_API spk_status spk_context_cache_save(spk_context *ctx);

/** The directory of the disk cache in use, or NULL when it is off. */
SPK_API const char *spk_context_cache_dir(const spk_context *ctx);

/** Host allocation hooks (process-wide). The library allocates host memory
 *  only through them; tests use them to inject allocation failures. */
typedef struct spk_allocator {
    void *(*malloc_fn)(size_t size, void *user);
    void (*free_fn)(void *ptr, void *user);
    void *user;
} spk_allocator;

/** Install @p a, or restore malloc/free with NULL. Call while no spikecl
 *  object exists: memory must be freed by the allocator that made it. */
SPK_API void spk_set_allocator(const spk_allocator *a);

#ifdef __cplusplus
}
#endif
#endif
