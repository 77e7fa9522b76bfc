/* spikecl bench: rows, the timing loop, peak memory, the shared generator. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "cli/bench.h"

bench_row *bench_add_row(bench_table *tab, spk_context *ctx, const char *suite, const char *config, const char *what)
{
    if (tab->n >= BENCH_MAX_ROWS) {
        fprintf(stderr, "spikecl bench: more than %d results; the rest are dropped\n", BENCH_MAX_ROWS);
        return NULL;
    }
    bench_row *r = &tab->rows[tab->n++];
    memset(r, 0, sizeof *r);
    spk_device_info info;
    if (spk_context_device(ctx, &info) == SPK_OK) {
        snprintf(r->device, sizeof r->device, "%d:%d %s", info.platform_index, info.device_index, info.device_name);
        snprintf(r->driver, sizeof r->driver, "%s", info.driver_version);
    }
    const char *b = spk_gemm_backend_name(spk_context_gemm_backend(ctx));
    snprintf(r->backend, sizeof r->backend, "%s", b ? b : "?");
    snprintf(r->suite, sizeof r->suite, "%s", suite);
    snprintf(r->config, sizeof r->config, "%s", config);
    snprintf(r->what, sizeof r->what, "%s", what);
    r->ceiling_ms = -1.0;
    r->launches = -1.0;
    return r;
}

spk_status bench_measure(const bench_opts *o, bench_run_fn fn, void *user, int parts,
                         double t[BENCH_MAX_PARTS][BENCH_MAX_RUNS], size_t *n)
{
    double warm[BENCH_MAX_PARTS];
    spk_status st = fn(user, warm); /* compiles kernels, touches pages: not timed */
    *n = 0;
    double spent = 0.0;
    while (st == SPK_OK && *n < BENCH_MAX_RUNS && (*n < o->runs || spent < o->min_time)) {
        double run[BENCH_MAX_PARTS];
        st = fn(user, run);
        for (int p = 0; p < parts; p++) {
            t[p][*n] = run[p];
            spent += run[p];
        }
        *n += st == SPK_OK;
    }
    return st;
}

void bench_row_times(bench_row *r, const double *t, size_t n)
{
    r->median_ms = 1e3 * bench_median(t, n);
    r->min_ms = 1e3 * bench_min(t, n);
    r->max_ms = 1e3 * bench_max(t, n);
    r->runs = n;
}

void bench_rss_reset(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

uint64_t bench_rss_peak(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return (uint64_t)kb * 1024u;
}

static uint64_t splitmix64(uint64_t x)
{
    uint64_t z = x + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t bench_word(uint64_t seed, unsigned stream, uint64_t i)
{
    return splitmix64(((seed * 4 + stream) << 40) + i);
}

static double unit(uint64_t seed, unsigned stream, uint64_t i)
{
    return ((double)(bench_word(seed, stream, i) >> 40) + 0.5) / 16777216.0;
}

void bench_fill_normal(float *x, size_t n, uint64_t seed, unsigned stream)
{
    const double two_pi = 6.283185307179586;
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(sqrt(-2.0 * log(unit(seed, stream, 2 * i))) * cos(two_pi * unit(seed, stream, 2 * i + 1)));
}

void bench_fill_bernoulli(float *x, size_t n, double p, uint64_t seed, unsigned stream)
{
    for (size_t i = 0; i < n; i++)
        x[i] = unit(seed, stream, i) < p ? 1.0f : 0.0f;
}

void bench_fill_uniform(float *x, size_t n, double bound, uint64_t seed, unsigned stream)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((2.0 * unit(seed, stream, i) - 1.0) * bound);
}

spk_status bench_upload_generated(spk_tensor *t, bench_gen kind, double param, uint64_t seed, unsigned stream)
{
    size_t n = spk_tensor_numel(t);
    float *h = malloc(n * sizeof *h);
    if (!h)
        return SPK_ERR_OUT_OF_MEMORY;
    if (kind == BENCH_GEN_UNIFORM)
        bench_fill_uniform(h, n, param, seed, stream);
    else if (kind == BENCH_GEN_BERNOULLI)
        bench_fill_bernoulli(h, n, param, seed, stream);
    else
        bench_fill_normal(h, n, seed, stream);
    spk_status st = spk_tensor_upload(t, h, n * sizeof *h);
    free(h);
    return st;
}

spk_status bench_tensor_sum(const spk_tensor *t, double *sum)
{
    size_t n = spk_tensor_numel(t);
    float *h = malloc(n * sizeof *h);
    if (!h)
        return SPK_ERR_OUT_OF_MEMORY;
    spk_status st = spk_tensor_download(t, h, n * sizeof *h);
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += h[i];
    free(h);
    *sum = s;
    return st;
}

uint64_t bench_tensor_bytes(const spk_tensor *const *t, size_t n)
{
    uint64_t b = 0;
    for (size_t i = 0; i < n; i++)
        b += t[i] ? spk_tensor_bytes(t[i]) : 0;
    return b;
}

uint64_t bench_network_bytes(spk_network *net)
{
    uint64_t b = 0;
    for (size_t i = 0; i < spk_network_param_count(net); i++) {
        spk_param p;
        if (spk_network_param(net, i, &p) == SPK_OK)
            b += bench_tensor_bytes((const spk_tensor *[2]){p.value, p.grad}, 2);
    }
    for (size_t i = 0; i < spk_network_layer_count(net); i++)
        b += bench_tensor_bytes((const spk_tensor *[2]){spk_network_layer_output(net, i),
                                                        spk_network_layer_membrane(net, i)}, 2);
    return b;
}

bench_row *bench_bptt_row(bench_table *tab, spk_context *ctx, const char *suite, const char *config, int compact,
                          uint64_t p1, uint64_t p2, size_t t1, size_t t2, double neurons_per_step)
{
    bench_row *r = bench_add_row(tab, ctx, suite, config, compact ? "BPTT compact" : "BPTT f32");
    if (!r)
        return NULL;
    r->device_bytes = p2;
    r->value = ((double)p2 - (double)p1) / ((double)(t2 - t1) * neurons_per_step);
    snprintf(r->unit, sizeof r->unit, "B/n-step");
    snprintf(r->note, sizeof r->note, "step high-water %.1f MB at T=%u, %.1f MB at T=%u", (double)p1 / 1e6,
             (unsigned)t1, (double)p2 / 1e6, (unsigned)t2);
    return r;
}

uint64_t bench_launches(const spk_context *ctx)
{
    spk_launch_stats s = {0};
    spk_context_launch_stats(ctx, &s);
    return s.kernel_launches + s.gemm_calls;
}
