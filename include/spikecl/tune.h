/**
 * @file tune.h
 * Tuned CLBlast GEMM parameters, measured per device and kept on disk.
 *
 * CLBlast ships tuned kernel parameters for the devices in its database and
 * guesses for the rest; on a device it does not know (PoCL's CPU device, a
 * new GPU) the guess can be several times slower than what the device
 * allows. spk_tune() searches the parameters of the kernels spikecl's GEMMs
 * run (Xgemm for large GEMMs, XgemmDirect for small ones, and the size where
 * CLBlast switches between them), timing each candidate with CLBlast itself
 * on the GEMM shapes spikecl's layers use. A candidate may win only if its
 * results equal a host reference exactly (the inputs are small integers, so
 * every summation order gives the same float result).
 *
 * The winner is stored in the context's cache directory (see
 * spk_context_options.cache_dir), one file per device, driver, CLBlast
 * version and precision, and every later spk_context_create() on that device
 * applies it (CLBlastOverrideParameters) unless tuning is turned off
 * (spk_context_options.clblast_tuning or SPIKECL_TUNE=off). A corrupt,
 * truncated or foreign file is ignored: the context uses CLBlast's own
 * parameters and spk_context_tuning() says why.
 *
 * CLBlast keeps parameters per device for the whole process, so applying
 * tuned parameters (by a context or by spk_tune()) affects every context
 * on that device in the process.
 */
#ifndef SPIKECL_TUNE_H
#define SPIKECL_TUNE_H

#include <stddef.h>
#include <stdint.h>

#include "spikecl/context.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One GEMM shape: C[m, n] = op(A)[m, k] op(B)[k, n], row-major as spk_gemm(). */
typedef struct spk_gemm_shape {
    int trans_a, trans_b;
    size_t m, n, k;
} spk_gemm_shape;

/** One CLBlast tuning parameter, e.g. {"Xgemm", "MWG", 64}. */
typedef struct spk_tune_param {
    char kernel[24];
    char name[24];
    size_t value;
} spk_tune_param;

#define SPK_TUNE_MAX_PARAMS 48

/** A set of CLBlast parameters. A kernel's parameters are all present or all absent. */
typedef struct spk_tune_params {
    size_t n;
    spk_tune_param p[SPK_TUNE_MAX_PARAMS];
} spk_tune_params;

/**
 * The shapes spk_tune() uses without --shapes: every GEMM of a training
 * step of the mlp preset (784 -> 256 -> 10 at batch 128 over 25 steps:
 * forward, bias, weight, bias and input gradients) and the dense layer of
 * the library comparison network at n = 512 (T*B = 8000 rows: forward,
 * weight and input gradients).
 * @param count  receives the number of shapes
 * @return a static array
 */
SPK_API const spk_gemm_shape *spk_tune_default_shapes(size_t *count);

#define SPK_TUNE_MAX_SHAPES 16

/** Options for spk_tune(). Start from spk_tune_options_default(). */
typedef struct spk_tune_options {
    const spk_gemm_shape *shapes; /**< NULL: spk_tune_default_shapes() */
    size_t n_shapes;              /**< 1..SPK_TUNE_MAX_SHAPES when shapes is set */
    double budget_s;              /**< wall-clock seconds for the search (default 300); candidates
                                       started before it ran out finish */
    size_t max_candidates;        /**< per kernel, besides CLBlast's own parameters; 0: the budget decides */
    uint64_t seed;                /**< order in which candidates are drawn */
    int dry_run;                  /**< measure and apply, but do not write the file */
    /** Optional progress lines ("Xgemm candidate 3: 41.2 GFLOP/s ..."). */
    void (*progress)(const char *line, void *user);
    void *progress_user;
} spk_tune_options;

/** @return budget 300 s, no candidate limit, seed 1, default shapes, no progress. */
SPK_API spk_tune_options spk_tune_options_default(void);

/** Default and tuned speed of one shape, measured A/B interleaved after the search. */
typedef struct spk_tune_shape_result {
    spk_gemm_shape shape;
    double default_gflops; /**< median GFLOP/s with CLBlast's own parameters */
    double tuned_gflops;   /**< median GFLOP/s with the tuned parameters */
    int tuned_direct;      /**< 1: the tuned parameters run this shape with XgemmDirect */
} spk_tune_shape_result;

/** What spk_tune() did. */
typedef struct spk_tune_report {
    size_t n_shapes;
    spk_tune_shape_result shapes[SPK_TUNE_MAX_SHAPES];
    spk_tune_params defaults; /**< CLBlast's own parameters for the device */
    spk_tune_params tuned;    /**< the winners (a kernel whose defaults won keeps them); stored and applied */
    double speedup;           /**< geometric mean over the shapes of tuned / default GFLOP/s */
    int kept_own;             /**< 1 when the winners lost the final A/B (speedup < 1): tuned is then
                                   empty, CLBlast's own parameters are stored and applied */
    size_t candidates_timed;  /**< candidates measured, CLBlast's own parameters included */
    size_t candidates_failed; /**< rejected: CLBlast refused them or their results were wrong */
    double seconds;           /**< the whole run, final A/B included */
    int stored;               /**< 1 when the file was written */
    char path[1024];          /**< the file written (or that would be, with dry_run); "" with no cache dir */
} spk_tune_report;

/**
 * Tune CLBlast's GEMM kernels on the context's device, apply the result to
 * the device (for this process) and, unless dry_run, store it for later
 * contexts. Runs GEMMs on @p ctx whatever its GEMM backend; runs for about
 * opts->budget_s plus the final A/B measurement.
 * @param opts  options, or NULL for spk_tune_options_default()
 * @param out   receives the report
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (bad
 *         shapes or budget), SPK_ERR_UNSUPPORTED (no cache directory to
 *         store into without dry_run; a CLBlast without the expected kernels),
 *         SPK_ERR_BLAS (CLBlast's own parameters fail or give wrong results),
 *         SPK_ERR_IO (the file could not be written), SPK_ERR_DEVICE_OUT_OF_MEMORY.
 */
SPK_API spk_status spk_tune(spk_context *ctx, const spk_tune_options *opts, spk_tune_report *out);

/**
 * Store @p params as the tuned parameters of the context's device (for
 * instance values found with CLBlast's own tuners) and apply them. Each
 * kernel present must have all its parameters, satisfying CLBlast's
 * constraints and the device's limits; kernels absent keep CLBlast's values.
 * @param path      optional, receives the file's path
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (the detail
 *         names the parameter), SPK_ERR_UNSUPPORTED (disk cache off), SPK_ERR_IO.
 */
SPK_API spk_status spk_tune_store(spk_context *ctx, const spk_tune_params *params, char *path, size_t path_cap);

/**
 * Apply @p params on the context's device for this process without storing
 * them (checked as spk_tune_store() checks them). Benchmarks use it with
 * spk_tune_clblast_defaults() to compare both sets in one process.
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT, SPK_ERR_BLAS.
 */
SPK_API spk_status spk_tune_apply(spk_context *ctx, const spk_tune_params *params);

/**
 * CLBlast's own parameters of the tuned kernels on the context's device, as
 * they were before spikecl first overrode them in this process.
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_UNSUPPORTED (a CLBlast whose
 *         kernels have other parameters than spikecl knows).
 */
SPK_API spk_status spk_tune_clblast_defaults(spk_context *ctx, spk_tune_params *out);

/**
 * The tuned parameters state of a context, as one line: "loaded from PATH",
 * "none: no file PATH (run 'spikecl tune')", "off (...)", or "ignored PATH:
 * <reason>; using CLBlast's own parameters".
 * @param loaded  optional, receives 1 when tuned parameters were applied
 * @return a string owned by the context ("" for NULL)
 */
SPK_API const char *spk_context_tuning(const spk_context *ctx, int *loaded);

/** The tuned parameters the context applied at creation (n = 0 when none). */
SPK_API spk_status spk_context_tuned_params(const spk_context *ctx, spk_tune_params *out);

#ifdef __cplusplus
}
#endif
#endif
