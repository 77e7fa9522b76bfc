/* spikecl bench: the suites of /work/shared/BENCHMARKS.md (§1 library
 * comparison, §2 sparse input, §3 Fashion-MNIST training, §4 hardware
 * ceiling) on one device each, collected into rows for one table and JSON. */
#ifndef SPK_CLI_BENCH_H
#define SPK_CLI_BENCH_H
#include <stddef.h>
#include <stdint.h>

#include "spikecl/spikecl.h"

enum { SUITE_LIB = 1, SUITE_SPARSE = 2, SUITE_FMNIST = 4, SUITE_CEILING = 8, SUITE_ALL = 15 };

#define BENCH_MAX_SIZES 16
#define BENCH_MAX_ROWS 512
#define BENCH_MAX_RUNS 1000
#define BENCH_MAX_PARTS 2
#define BENCH_MAX_CHECKS 4

typedef struct bench_opts {
    unsigned suites;              /* SUITE_* bits */
    size_t sizes[BENCH_MAX_SIZES]; /* lib and ceiling: n */
    size_t n_sizes;
    size_t steps, batch;          /* lib and ceiling: T and B */
    size_t sparse_steps;          /* sparse: T */
    size_t sparse_inputs[BENCH_MAX_SIZES]; /* sparse: input widths (default 128, 700) */
    size_t n_sparse_inputs;
    double sparse_rates[BENCH_MAX_SIZES];  /* sparse: input spike probabilities (default 0.01, 0.05, 0.2) */
    size_t n_sparse_rates;
    size_t sparse_hidden;         /* sparse: width of both LIF layers (default 128) */
    int sparse_shared;            /* sparse: one fixed batch and the weights from the shared generator */
    size_t runs;                  /* at least this many timed runs ... */
    double min_time;              /* ... lasting at least this many seconds together */
    int quick;
    uint64_t seed;
    const char *device, *json, *data_dir;
    spk_gemm_backend gemm;
} bench_opts;

/* One line of the table: one measurement of one suite on one device. */
typedef struct bench_row {
    char device[160], driver[64], backend[16];
    char suite[12], config[64], what[24];
    double median_ms, min_ms, max_ms;
    size_t runs;
    double ceiling_ms;     /* the ceiling's median on the same work, or < 0 */
    double launches;       /* kernel launches + GEMM calls per step, or < 0 */
    uint64_t device_bytes; /* tensors the suite can see (inputs, params, grads, layer outputs) */
    uint64_t peak_rss;     /* process VmHWM since the case started, bytes (0: unknown) */
    double value;          /* spikes, steps/s, img/s, GFLOP/s or GB/s, by unit */
    char unit[16];
    char note[96];
    /* What bench/compare checks against the Python peers (sparse suite with
     * --sparse-input shared): the first step's loss and the spike count of
     * each LIF layer in its forward; n_check_spikes = 0 when not recorded. */
    double check_loss;
    double check_spikes[BENCH_MAX_CHECKS];
    size_t n_check_spikes;
} bench_row;

typedef struct bench_table {
    bench_row rows[BENCH_MAX_ROWS];
    size_t n;
} bench_table;

/* A new row for the context's device, or NULL when the table is full. */
bench_row *bench_add_row(bench_table *tab, spk_context *ctx, const char *suite, const char *config, const char *what);

/* One timed run: writes the seconds of each of its parts into t[0..parts). */
typedef spk_status (*bench_run_fn)(void *user, double *t);

/* One untimed warm-up run, then runs until at least o->runs of them and at
 * least o->min_time seconds (at most BENCH_MAX_RUNS); t[p][r] is part p of
 * run r, *n the number of runs. */
spk_status bench_measure(const bench_opts *o, bench_run_fn fn, void *user, int parts,
                         double t[BENCH_MAX_PARTS][BENCH_MAX_RUNS], size_t *n);

/* Median, min and max of n run times (seconds) into the row (milliseconds). */
void bench_row_times(bench_row *r, const double *t, size_t n);

/* Peak resident memory: reset the process's high-water mark (Linux
 * clear_refs 5), then read VmHWM in bytes (0 where unavailable). */
void bench_rss_reset(void);
uint64_t bench_rss_peak(void);

/* The counter-based generator both sides of bench/compare use, so that
 * spikecl and PyTorch see the same inputs and weights bit for bit:
 *   word(seed, stream, i) = splitmix64(((seed * 4 + stream) << 40) + i)
 *   u(i) = ((word >> 40) + 0.5) / 2^24                (in (0, 1))
 *   uniform: (2 u(i) - 1) * bound                       (in double, then float)
 *   normal:  sqrt(-2 ln u(2i)) * cos(2 pi u(2i+1))      (in double, then float)
 *   bernoulli: 1 if u(i) < p else 0
 * bench/compare/lib_common.py has the same in numpy. */
enum { BENCH_STREAM_INPUT = 0, BENCH_STREAM_WEIGHT = 1, BENCH_STREAM_BIAS = 2, BENCH_STREAM_LABELS = 3 };
uint64_t bench_word(uint64_t seed, unsigned stream, uint64_t i);
/* Bernoulli spikes: x[i] = 1 where u(i) < p (compared in double), else 0. */
void bench_fill_bernoulli(float *x, size_t n, double p, uint64_t seed, unsigned stream);
void bench_fill_normal(float *x, size_t n, uint64_t seed, unsigned stream);
void bench_fill_uniform(float *x, size_t n, double bound, uint64_t seed, unsigned stream);

/* Fill a tensor from the shared generator: normal (param unused), uniform in
 * +-param, or Bernoulli with probability param. */
typedef enum bench_gen { BENCH_GEN_NORMAL, BENCH_GEN_UNIFORM, BENCH_GEN_BERNOULLI } bench_gen;
spk_status bench_upload_generated(spk_tensor *t, bench_gen kind, double param, uint64_t seed, unsigned stream);

/* Sum of a F32 tensor's elements (in double), downloaded to the host: spike counts. */
spk_status bench_tensor_sum(const spk_tensor *t, double *sum);

/* The suites: each adds its rows; a failure is reported on stderr. */
spk_status bench_suite_lib(spk_context *ctx, const bench_opts *o, bench_table *tab);
spk_status bench_suite_sparse(spk_context *ctx, const bench_opts *o, bench_table *tab);
spk_status bench_suite_fmnist(spk_context *ctx, const bench_opts *o, bench_table *tab);
spk_status bench_suite_ceiling(spk_context *ctx, const bench_opts *o, bench_table *tab);

/* Sum of the bytes of the non-NULL tensors among t[0..n). */
uint64_t bench_tensor_bytes(const spk_tensor *const *t, size_t n);

/* Bytes of every parameter, gradient, layer output and membrane of net. */
uint64_t bench_network_bytes(spk_network *net);

/* A row of bytes stored per neuron-step for BPTT: p1 and p2 are the device
 * high-waters of one training step at t1 < t2 steps, `neurons` the neurons
 * per sample of the network; compact says the storage. */
bench_row *bench_bptt_row(bench_table *tab, spk_context *ctx, const char *suite, const char *config, int compact,
                          uint64_t p1, uint64_t p2, size_t t1, size_t t2, double neurons_per_step);

/* Kernel launches + GEMM calls queued on ctx so far. */
uint64_t bench_launches(const spk_context *ctx);

/* Print the table; write it as JSON to path (via a temp file and rename). */
void bench_print_table(const bench_table *tab);
int bench_write_json(const bench_table *tab, const bench_opts *o, const char *path, const char *load_start,
                     const char *load_end);
#endif
