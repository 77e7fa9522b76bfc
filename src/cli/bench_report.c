/* spikecl bench: the table on stdout and the JSON file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"
#include "cli/bench.h"
#include "cli/cli.h"

/* Fraction of the ceiling reached: ceiling time / our time (1 = at the ceiling). */
static double ratio(const bench_row *r)
{
    return r->ceiling_ms > 0 && r->median_ms > 0 ? r->ceiling_ms / r->median_ms : -1.0;
}

void bench_print_table(const bench_table *tab)
{
    printf("\n%-28s %-12s %-7s %-8s %-26s %-12s %10s %7s %8s %8s %8s  %s\n", "device", "driver", "gemm", "suite",
           "size", "what", "median ms", "/ceil", "launches", "dev MB", "RSS MB", "result");
    for (size_t i = 0; i < tab->n; i++) {
        const bench_row *r = &tab->rows[i];
        char rat[16] = "-", la[16] = "-";
        if (ratio(r) >= 0)
            snprintf(rat, sizeof rat, "%.3f", ratio(r));
        if (r->launches >= 0)
            snprintf(la, sizeof la, "%.0f", r->launches);
        printf("%-28.28s %-12.12s %-7s %-8s %-26s %-12s %10.2f %7s %8s %8.1f %8.1f  %.*f %s%s%s\n", r->device,
               r->driver, r->backend, r->suite, r->config, r->what, r->median_ms, rat, la,
               (double)r->device_bytes / 1e6, (double)r->peak_rss / 1e6, r->value >= 100 ? 0 : 2, r->value, r->unit,
               r->note[0] ? "; " : "", r->note);
    }
    printf("\n/ceil = ceiling time / our time on the same work (1 = at the ceiling); launches = kernel launches +\n"
           "GEMM calls per step; dev MB = tensors visible to the benchmark (inputs, parameters, gradients, layer\n"
           "outputs; BPTT rows: spikecl's device high-water of one training step at the larger T); RSS MB =\n"
           "process peak resident memory (VmHWM) during the case. BPTT rows: B/n-step = bytes stored per\n"
           "neuron-step for backpropagation through time, the growth of that high-water from T/2 to T over the\n"
           "neuron-steps added (f32: every activation a float; compact: spk_network_set_compact_spikes).\n");
}

static void json_num(FILE *f, const char *key, double v, int valid)
{
    if (valid) /* 12 digits: byte and spike counts stay exact */
        fprintf(f, ", \"%s\": %.12g", key, v);
    else
        fprintf(f, ", \"%s\": null", key);
}

static void json_row(FILE *f, const bench_row *r)
{
    static const char *const KEYS[] = {"device", "driver", "gemm_backend", "suite", "config", "what", "unit", "note"};
    const char *vals[] = {r->device, r->driver, r->backend, r->suite, r->config, r->what, r->unit, r->note};
    fputc('{', f);
    for (size_t k = 0; k < sizeof KEYS / sizeof KEYS[0]; k++) {
        fprintf(f, "%s\"%s\": ", k ? ", " : "", KEYS[k]);
        bench_json_str(f, vals[k]);
    }
    json_num(f, "median_ms", r->median_ms, 1);
    json_num(f, "min_ms", r->min_ms, 1);
    json_num(f, "max_ms", r->max_ms, 1);
    json_num(f, "runs", (double)r->runs, 1);
    json_num(f, "ceiling_ms", r->ceiling_ms, r->ceiling_ms >= 0);
    json_num(f, "ratio_vs_ceiling", ratio(r), ratio(r) >= 0);
    json_num(f, "launches_per_step", r->launches, r->launches >= 0);
    json_num(f, "device_bytes", (double)r->device_bytes, 1);
    json_num(f, "peak_rss_bytes", (double)r->peak_rss, r->peak_rss > 0);
    json_num(f, "value", r->value, 1);
    if (r->n_check_spikes) { /* sparse: what bench/compare compares with the Python peers */
        json_num(f, "first_loss", r->check_loss, 1);
        fputs(", \"layer_spikes\": [", f);
        for (size_t k = 0; k < r->n_check_spikes; k++)
            fprintf(f, "%s%.12g", k ? ", " : "", r->check_spikes[k]);
        fputc(']', f);
    }
    fputc('}', f);
}

static void json_env(FILE *f, const char *name)
{
    const char *v = getenv(name);
    fprintf(f, ", \"%s\": ", name);
    if (v)
        bench_json_str(f, v);
    else
        fputs("null", f);
}

int bench_write_json(const bench_table *tab, const bench_opts *o, const char *path, const char *load_start,
                     const char *load_end)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "spikecl bench: cannot write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    fprintf(f, "{\"benchmark\": \"spikecl bench\", \"version\": ");
    bench_json_str(f, spk_version_string());
    fprintf(f, ", \"loadavg_start\": ");
    bench_json_str(f, load_start);
    fprintf(f, ", \"loadavg_end\": ");
    bench_json_str(f, load_end);
    fprintf(f, ", \"nproc\": %ld, \"openblas_kernels\": ", sysconf(_SC_NPROCESSORS_ONLN));
    const char *blas_kernels = spk_cli_host_blas_kernels();
    if (blas_kernels)
        bench_json_str(f, blas_kernels);
    else
        fputs("null", f);
    json_env(f, "OPENBLAS_NUM_THREADS");
    json_env(f, "POCL_MAX_PTHREAD_COUNT");
    fprintf(f, ",\n \"options\": {\"steps\": %zu, \"batch\": %zu, \"sparse_steps\": %zu, \"runs\": %zu, "
               "\"min_time_s\": %g, \"seed\": %llu, \"quick\": %s, \"sparse_hidden\": %zu, \"sparse_input\": \"%s\"},\n"
               " \"rows\": [\n",
            o->steps, o->batch, o->sparse_steps, o->runs, o->min_time, (unsigned long long)o->seed,
            o->quick ? "true" : "false", o->sparse_hidden, o->sparse_shared ? "shared" : "encode");
    for (size_t i = 0; i < tab->n; i++) {
        fputs("  ", f);
        json_row(f, &tab->rows[i]);
        fputs(i + 1 < tab->n ? ",\n" : "\n", f);
    }
    fputs(" ]}\n", f);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        fprintf(stderr, "spikecl bench: writing %s failed: %s\n", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}
