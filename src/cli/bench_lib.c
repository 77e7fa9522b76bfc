/* spikecl bench, suite "lib": the library comparison of BENCHMARKS.md §1.
 * Dense n -> n (bias) + single-state LIF (beta 0.95, threshold 1, subtract
 * reset at the next step, detached, arctan surrogate alpha 2), input
 * x ~ N(0, 1) of [T, B, n], loss = sum of all spikes. Forward and backward
 * are timed apart, each ending with spk_context_finish. Inputs and weights
 * come from the shared counter-based generator (bench.h), so that
 * bench/compare runs the same numbers in PyTorch and the spike counts can
 * be compared exactly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"
#include "cli/bench.h"
#include "cli/cli.h"
#include "cli/train_common.h"

typedef struct lib_case {
    spk_context *ctx;
    spk_network *net;
    spk_tensor *x, *ones;
    const spk_tensor *out;
} lib_case;

static spk_status lib_run(void *user, double *t)
{
    spk_status st = SPK_OK;
    lib_case *c = user;
    double t0 = bench_now();
    CLI_TRY(spk_network_forward(c->net, c->x, &c->out));
    CLI_TRY(spk_context_finish(c->ctx));
    double t1 = bench_now();
    CLI_TRY(spk_network_backward(c->net, c->ones)); /* d(sum of spikes)/d(spikes) = 1 */
    CLI_TRY(spk_context_finish(c->ctx));
    t[0] = t1 - t0;
    t[1] = bench_now() - t1;
fail:
    return st;
}

static spk_status build(spk_context *ctx, const bench_opts *o, size_t n, size_t steps, int compact, lib_case *c)
{
    spk_status st = SPK_OK;
    spk_layer *l = NULL;
    spk_dense_params d = spk_dense_params_default(n, n);
    spk_lif_params lif = spk_train_hidden_neurons();
    spk_param w, b;
    c->ctx = ctx;
    CLI_TRY(spk_network_create(ctx, &c->net));
    CLI_TRY(spk_dense_create(ctx, &d, &l));
    CLI_TRY(spk_network_add(c->net, l));
    CLI_TRY(spk_neuron_layer_create(ctx, &lif, &l));
    CLI_TRY(spk_network_add(c->net, l));
    CLI_TRY(spk_network_set_compact_spikes(c->net, compact));
    CLI_TRY(spk_network_build(c->net, steps, o->batch, 1, &n));
    CLI_TRY(spk_network_param(c->net, 0, &w));
    CLI_TRY(spk_network_param(c->net, 1, &b));
    CLI_TRY(bench_upload_generated(w.value, BENCH_GEN_UNIFORM, 1.0 / sqrt((double)n), o->seed, BENCH_STREAM_WEIGHT));
    CLI_TRY(bench_upload_generated(b.value, BENCH_GEN_UNIFORM, 1.0 / sqrt((double)n), o->seed, BENCH_STREAM_BIAS));
    size_t shape[3] = {steps, o->batch, n};
    CLI_TRY(spk_tensor_create(ctx, SPK_F32, 3, shape, &c->x));
    CLI_TRY(spk_tensor_create(ctx, SPK_F32, 3, shape, &c->ones));
    CLI_TRY(bench_upload_generated(c->x, BENCH_GEN_NORMAL, 0.0, o->seed, BENCH_STREAM_INPUT));
    CLI_TRY(spk_tensor_fill_f32(c->ones, 1.0f));
fail:
    return st;
}

static void free_case(lib_case *c)
{
    spk_tensor_free(c->x);
    spk_tensor_free(c->ones);
    spk_network_free(c->net);
}

/* Device memory high-water (spk_context_memory_stats) of building the case
 * at `steps` and running one training step, beyond what the context held
 * before. */
static spk_status step_peak(spk_context *ctx, const bench_opts *o, size_t n, size_t steps, int compact,
                            uint64_t *peak)
{
    spk_memory_stats m0, m1;
    lib_case c = {0};
    double t[BENCH_MAX_PARTS];
    spk_context_memory_stats(ctx, &m0);
    spk_context_reset_memory_peak(ctx);
    spk_status st = build(ctx, o, n, steps, compact, &c);
    if (st == SPK_OK)
        st = lib_run(&c, t);
    spk_context_memory_stats(ctx, &m1);
    *peak = m1.peak_bytes - m0.bytes;
    free_case(&c);
    return st;
}

/* Bytes stored per neuron-step for backpropagation through time: the
 * growth of the step's device high-water from T/2 to T steps over the
 * (T - T/2) * B * n neuron-steps it adds, as bench/compare/bptt_memory.py
 * measures PyTorch libraries by their peak RSS. Everything that grows with
 * T counts: the input and the output gradient, the activations, what the
 * layers keep, their gradients. One row per storage: f32, compact. */
static spk_status bptt_rows(spk_context *ctx, const bench_opts *o, size_t n, bench_table *tab)
{
    spk_status st = SPK_OK;
    size_t t1 = o->steps / 2;
    if (t1 == 0 || t1 == o->steps)
        return SPK_OK;
    for (int compact = 0; compact <= 1 && st == SPK_OK; compact++) {
        uint64_t p1 = 0, p2 = 0;
        if ((st = step_peak(ctx, o, n, t1, compact, &p1)) != SPK_OK ||
            (st = step_peak(ctx, o, n, o->steps, compact, &p2)) != SPK_OK) {
            spk_cli_report(ctx, st, "bench lib: BPTT memory");
            break;
        }
        char config[128];
        snprintf(config, sizeof config, "n=%zu T=%zu/%zu B=%zu", n, t1, o->steps, o->batch);
        if (!bench_bptt_row(tab, ctx, "lib", config, compact, p1, p2, t1, o->steps, (double)o->batch * (double)n))
            break;
    }
    return st;
}

static spk_status one_size(spk_context *ctx, const bench_opts *o, size_t n, bench_table *tab)
{
    static double t[BENCH_MAX_PARTS][BENCH_MAX_RUNS];
    double total[BENCH_MAX_RUNS], spikes = 0.0;
    size_t runs = 0;
    lib_case c = {0};
    bench_rss_reset();
    spk_status st = build(ctx, o, n, o->steps, 0, &c);
    uint64_t l0 = bench_launches(ctx);
    double warm[BENCH_MAX_PARTS];
    if (st == SPK_OK)
        st = lib_run(&c, warm); /* one run alone, to count its launches */
    uint64_t launches = bench_launches(ctx) - l0;
    if (st == SPK_OK)
        st = bench_measure(o, lib_run, &c, 2, t, &runs);
    if (st == SPK_OK)
        st = bench_tensor_sum(c.out, &spikes);
    if (st != SPK_OK) {
        char what[64];
        snprintf(what, sizeof what, "bench lib n=%zu", n);
        spk_cli_report(ctx, st, what);
        free_case(&c);
        return st;
    }
    for (size_t r = 0; r < runs; r++)
        total[r] = t[0][r] + t[1][r];
    const double *series[3] = {t[0], t[1], total};
    static const char *const WHAT[3] = {"forward", "backward", "fwd+bwd"};
    char config[64];
    snprintf(config, sizeof config, "n=%zu T=%zu B=%zu", n, o->steps, o->batch);
    uint64_t dev = bench_network_bytes(c.net) + bench_tensor_bytes((const spk_tensor *[2]){c.x, c.ones}, 2);
    for (int k = 0; k < 3; k++) {
        bench_row *r = bench_add_row(tab, ctx, "lib", config, WHAT[k]);
        if (!r)
            break;
        bench_row_times(r, series[k], runs);
        r->launches = (double)launches;
        r->device_bytes = dev;
        r->peak_rss = bench_rss_peak();
        r->value = spikes;
        snprintf(r->unit, sizeof r->unit, "spikes");
    }
    free_case(&c);
    return bptt_rows(ctx, o, n, tab);
}

spk_status bench_suite_lib(spk_context *ctx, const bench_opts *o, bench_table *tab)
{
    spk_status worst = SPK_OK;
    for (size_t i = 0; i < o->n_sizes; i++) {
        spk_status st = one_size(ctx, o, o->sizes[i], tab);
        if (st != SPK_OK)
            worst = st;
    }
    return worst;
}
