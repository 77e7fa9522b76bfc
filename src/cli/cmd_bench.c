/* spikecl bench: the benchmark suites of BENCHMARKS.md on every OpenCL
 * device (or the one --device selects), one table, optional JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"
#include "cli/bench.h"
#include "cli/cli.h"

static void usage(void)
{
    printf("usage: spikecl bench [options]\n\n"
           "Runs the benchmark suites on every OpenCL device (or --device) and prints one table.\n\n"
           "  --suites LIST      comma-separated: lib, sparse, fmnist, ceiling, or all (default all)\n"
           "                     lib:     dense n->n + LIF, x ~ N(0,1) [T, B, n], forward and backward timed apart\n"
           "                     sparse:  Bernoulli input spikes (p 0.01, 0.05, 0.2; 128 and 700 inputs), two LIF\n"
           "                              layers of 128, LI readout of 20, batch 128, Adam: training steps/s\n"
           "                     fmnist:  the mlp preset of 'spikecl train': training img/s\n"
           "                     ceiling: the dense GEMM vs OpenBLAS sgemm, the LIF forward vs a copy\n"
           "  --sizes LIST       n for lib and ceiling (default 512,1024,2048,4096)\n"
           "  --steps T          lib and ceiling time steps (default 500)\n"
           "  --batch B          lib and ceiling batch (default 16)\n"
           "  --sparse-steps T   sparse time steps (default 256)\n"
           "  --sparse-inputs L  sparse input widths (default 128,700)\n"
           "  --sparse-rates L   sparse input spike probabilities in (0, 1] (default 0.01,0.05,0.2)\n"
           "  --sparse-hidden N  sparse: width of both LIF layers (default 128)\n"
           "  --sparse-input M   sparse: encode (default: a new Poisson batch on the device each step) or shared\n"
           "                     (one fixed batch and the weights from the generator of docs/benchmarks.md, as\n"
           "                     bench/compare reproduces them; records the first step's loss and spike counts)\n"
           "  --runs N           at least N timed runs after one warm-up (default 3)\n"
           "  --min-time S       and at least S seconds of timed runs (default 2)\n"
           "  --quick            smoke run: n=512, T=50, sparse T=32, 128 inputs at p 0.05, 0.2 s\n"
           "  --seed N           seed of inputs and weights (default 0; see docs/benchmarks.md)\n"
           "  --gemm B           GEMM backend: auto (default), clblast or host\n"
           "  --device SEL       only this device: p:d, gpu, cpu or a name substring\n"
           "  --data DIR         Fashion-MNIST directory (default %s; synthetic images if missing)\n"
           "  --json FILE        also write the results as JSON (atomically)\n",
           SPK_FASHION_MNIST_DIR);
}

/* A comma-separated list of at most BENCH_MAX_SIZES items, each parsed by
 * one(opt, token, i); *n receives the count. 0 or -1 (message printed). */
static int parse_list(const char *opt, const char *v, size_t *n, int (*one)(const char *, const char *, size_t, void *),
                      void *dst)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", v);
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*n == BENCH_MAX_SIZES) {
            fprintf(stderr, "spikecl bench: %s takes at most %d values\n", opt, BENCH_MAX_SIZES);
            return -1;
        }
        if (one(opt, tok, (*n)++, dst))
            return -1;
    }
    if (*n == 0) {
        fprintf(stderr, "spikecl bench: %s expects a comma-separated list, got '%s'\n", opt, v);
        return -1;
    }
    return 0;
}

static int one_size(const char *opt, const char *tok, size_t i, void *dst)
{
    return spk_cli_parse_size(opt, tok, 1, 65536, &((size_t *)dst)[i]);
}

static int one_rate(const char *opt, const char *tok, size_t i, void *dst)
{
    char *end = NULL;
    double p = strtod(tok, &end);
    if (!*tok || *end || !(p > 0.0 && p <= 1.0)) {
        fprintf(stderr, "spikecl bench: %s expects probabilities in (0, 1], got '%s'\n", opt, tok);
        return -1;
    }
    ((double *)dst)[i] = p;
    return 0;
}

static int parse_sparse_input(const char *v, bench_opts *o)
{
    if (strcmp(v, "encode") != 0 && strcmp(v, "shared") != 0) {
        fprintf(stderr, "spikecl bench: --sparse-input expects encode or shared, got '%s'\n", v);
        return -1;
    }
    o->sparse_shared = strcmp(v, "shared") == 0;
    return 0;
}

static int parse_suites(const char *v, bench_opts *o)
{
    static const char *const NAMES[] = {"lib", "sparse", "fmnist", "ceiling", "all"};
    static const unsigned BITS[] = {SUITE_LIB, SUITE_SPARSE, SUITE_FMNIST, SUITE_CEILING, SUITE_ALL};
    char buf[256];
    snprintf(buf, sizeof buf, "%s", v);
    o->suites = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        unsigned bit = 0;
        for (size_t k = 0; k < sizeof NAMES / sizeof NAMES[0]; k++)
            if (strcmp(tok, NAMES[k]) == 0)
                bit = BITS[k];
        if (!bit) {
            fprintf(stderr, "spikecl bench: unknown suite '%s' (lib, sparse, fmnist, ceiling, all)\n", tok);
            return -1;
        }
        o->suites |= bit;
    }
    if (!o->suites) {
        fprintf(stderr, "spikecl bench: --suites expects a list such as lib,ceiling\n");
        return -1;
    }
    return 0;
}

static int parse_value(const char *a, const char *v, bench_opts *o, unsigned *given)
{
    size_t x = 0;
    if (strcmp(a, "--suites") == 0)
        return parse_suites(v, o);
    if (strcmp(a, "--sizes") == 0)
        return *given |= 1, parse_list(a, v, &o->n_sizes, one_size, o->sizes);
    if (strcmp(a, "--sparse-inputs") == 0)
        return *given |= 32, parse_list(a, v, &o->n_sparse_inputs, one_size, o->sparse_inputs);
    if (strcmp(a, "--sparse-rates") == 0)
        return *given |= 64, parse_list(a, v, &o->n_sparse_rates, one_rate, o->sparse_rates);
    if (strcmp(a, "--sparse-hidden") == 0)
        return spk_cli_parse_size(a, v, 1, 65536, &o->sparse_hidden);
    if (strcmp(a, "--sparse-input") == 0)
        return parse_sparse_input(v, o);
    if (strcmp(a, "--steps") == 0)
        return *given |= 2, spk_cli_parse_size(a, v, 1, 100000, &o->steps);
    if (strcmp(a, "--batch") == 0)
        return spk_cli_parse_size(a, v, 1, 65536, &o->batch);
    if (strcmp(a, "--sparse-steps") == 0)
        return *given |= 4, spk_cli_parse_size(a, v, 1, 100000, &o->sparse_steps);
    if (strcmp(a, "--runs") == 0)
        return spk_cli_parse_size(a, v, 1, BENCH_MAX_RUNS, &o->runs);
    if (strcmp(a, "--seed") == 0) {
        int bad = spk_cli_parse_size(a, v, 0, (size_t)1 << 20, &x);
        o->seed = x;
        return bad;
    }
    if (strcmp(a, "--min-time") == 0) {
        char *end = NULL;
        o->min_time = strtod(v, &end);
        *given |= 16;
        if (!*v || *end || !(o->min_time >= 0.0) || o->min_time > 3600.0) {
            fprintf(stderr, "spikecl bench: --min-time expects seconds in 0..3600, got '%s'\n", v);
            return -1;
        }
        return 0;
    }
    if (strcmp(a, "--gemm") == 0)
        return spk_cli_parse_gemm("bench", v, &o->gemm) ? -1 : 0;
    const char **s = strcmp(a, "--device") == 0 ? &o->device
                     : strcmp(a, "--json") == 0 ? &o->json
                     : strcmp(a, "--data") == 0 ? &o->data_dir
                                                : NULL;
    if (!s) {
        fprintf(stderr, "spikecl bench: unknown option %s (see --help)\n", a);
        return -1;
    }
    *s = v;
    return 0;
}

/* 1: help printed, 0: run, -1: bad options (message printed). */
static int parse_args(int argc, char **argv, bench_opts *o)
{
    static const size_t SIZES[] = {512, 1024, 2048, 4096}, INPUTS[] = {128, 700};
    static const double RATES[] = {0.01, 0.05, 0.2};
    *o = (bench_opts){.suites = SUITE_ALL, .n_sizes = 4, .steps = 500, .batch = 16, .sparse_steps = 256,
                      .n_sparse_inputs = 2, .n_sparse_rates = 3, .sparse_hidden = 128, .runs = 3, .min_time = 2.0};
    memcpy(o->sizes, SIZES, sizeof SIZES);
    memcpy(o->sparse_inputs, INPUTS, sizeof INPUTS);
    memcpy(o->sparse_rates, RATES, sizeof RATES);
    unsigned given = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 1;
        }
        if (strcmp(a, "--quick") == 0) {
            o->quick = 1;
            continue;
        }
        if (i + 1 >= argc || strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "spikecl bench: %s %s (see --help)\n", a,
                    strncmp(a, "--", 2) != 0 ? "is not an option" : "needs a value");
            return -1;
        }
        if (parse_value(a, argv[++i], o, &given))
            return -1;
    }
    if (o->quick) { /* defaults of a smoke run, unless given explicitly */
        if (!(given & 1))
            o->n_sizes = 1, o->sizes[0] = 512;
        if (!(given & 2))
            o->steps = 50;
        if (!(given & 4))
            o->sparse_steps = 32;
        if (!(given & 16))
            o->min_time = 0.2;
        if (!(given & 32))
            o->n_sparse_inputs = 1, o->sparse_inputs[0] = 128;
        if (!(given & 64))
            o->n_sparse_rates = 1, o->sparse_rates[0] = 0.05;
    }
    return 0;
}

static const struct {
    unsigned bit;
    const char *name;
    spk_status (*run)(spk_context *, const bench_opts *, bench_table *);
} SUITES[] = {
    {SUITE_LIB, "lib", bench_suite_lib},
    {SUITE_SPARSE, "sparse", bench_suite_sparse},
    {SUITE_FMNIST, "fmnist", bench_suite_fmnist},
    {SUITE_CEILING, "ceiling", bench_suite_ceiling},
};

/* Every suite asked for on one device; 0 when all of them ran. */
static int bench_device(const bench_opts *o, const char *selector, bench_table *tab)
{
    spk_context_options co = spk_context_options_default();
    co.device = selector;
    co.seed = o->seed;
    co.gemm_backend = o->gemm;
    spk_context *ctx = NULL;
    spk_status st = spk_context_create(&co, &ctx);
    if (st != SPK_OK) {
        spk_cli_report(NULL, st, "creating the OpenCL context");
        return -1;
    }
    spk_device_info info;
    spk_context_device(ctx, &info);
    int bad = 0;
    for (size_t k = 0; k < sizeof SUITES / sizeof SUITES[0]; k++) {
        if (!(o->suites & SUITES[k].bit))
            continue;
        fprintf(stderr, "spikecl bench: %d:%d %s: suite %s\n", info.platform_index, info.device_index,
                info.device_name, SUITES[k].name);
        bad |= SUITES[k].run(ctx, o, tab) != SPK_OK;
    }
    spk_context_free(ctx);
    return bad ? -1 : 0;
}

int spk_cmd_bench(int argc, char **argv)
{
    bench_opts o;
    int pr = parse_args(argc, argv, &o);
    if (pr)
        return pr > 0 ? 0 : 2;
    static bench_table tab;
    char load0[64], load1[64], sel[32];
    const char *blas_kernels = spk_cli_host_blas_kernels();
    printf("spikecl %s bench; load average %s; %ld CPUs; OpenBLAS kernels %s\n", spk_version_string(),
           bench_loadavg(load0, sizeof load0), sysconf(_SC_NPROCESSORS_ONLN), blas_kernels ? blas_kernels : "none");
    int bad = 0;
    if (o.device) {
        bad |= bench_device(&o, o.device, &tab);
    } else {
        spk_device_info devs[16];
        size_t count = 0;
        spk_status st = spk_devices_list(devs, 16, &count);
        if (st != SPK_OK || count == 0) {
            fprintf(stderr, "spikecl bench: no OpenCL device found%s%s\n", st != SPK_OK ? ": " : "",
                    st != SPK_OK ? spk_context_last_error(NULL) : "");
            return 1;
        }
        for (size_t i = 0; i < count && i < 16; i++) {
            snprintf(sel, sizeof sel, "%d:%d", devs[i].platform_index, devs[i].device_index);
            bad |= bench_device(&o, sel, &tab);
        }
    }
    if (tab.n)
        bench_print_table(&tab);
    printf("load average at the end: %s\n", bench_loadavg(load1, sizeof load1));
    if (o.json && bench_write_json(&tab, &o, o.json, load0, load1) != 0)
        bad = 1;
    return bad ? 1 : 0;
}
