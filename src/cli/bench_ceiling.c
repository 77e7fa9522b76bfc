/* spikecl bench, suite "ceiling": the hardware ceilings of BENCHMARKS.md §4
 * on the shapes of the "lib" suite.
 *  - GEMM: the dense layer's forward GEMM, Y[T*B, n] = X W^T, through
 *    spk_gemm (the context's backend) against OpenBLAS cblas_sgemm on host
 *    arrays of the same shape, when the device is a CPU and this build has
 *    OpenBLAS; elsewhere GFLOP/s only.
 *  - LIF: spk_lif_forward (x -> spikes, membrane: 12 bytes per
 *    neuron-step) against a streaming copy of the same number of bytes
 *    (spk_tensor_copy, half read, half written) on the same queue.
 * Each pair runs interleaved, A B A B, so both see the same load. */
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"
#include "cli/bench.h"
#include "cli/cli.h"
#include "cli/train_common.h"

#ifdef SPK_CLI_HAVE_BLAS
#include "blas/host_blas.h"
#endif

typedef struct gemm_case {
    spk_context *ctx;
    spk_tensor *x, *w, *y;
    float *hx, *hw, *hy; /* host copies for sgemm; NULL: no host ceiling */
#ifdef SPK_CLI_HAVE_BLAS
    const spk__host_blas *blas;
#endif
    size_t M, N, K;
} gemm_case;

static spk_status gemm_pair(void *user, double *t)
{
    spk_status st = SPK_OK;
    gemm_case *c = user;
    double t0 = bench_now();
    CLI_TRY(spk_gemm(0, 1, 1.0f, c->x, c->w, 0.0f, c->y));
    CLI_TRY(spk_context_finish(c->ctx));
    double t1 = bench_now();
#ifdef SPK_CLI_HAVE_BLAS
    if (c->hx)
        c->blas->sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)c->M, (int)c->N, (int)c->K, 1.0f, c->hx,
                    (int)c->K, c->hw, (int)c->K, 0.0f, c->hy, (int)c->N);
#endif
    t[0] = t1 - t0;
    t[1] = bench_now() - t1;
fail:
    return st;
}

typedef struct lif_case {
    spk_context *ctx;
    spk_lif_params p;
    spk_tensor *x, *s, *v, *src, *dst;
} lif_case;

static spk_status lif_pair(void *user, double *t)
{
    spk_status st = SPK_OK;
    lif_case *c = user;
    spk_lif_io io = {.input = c->x, .spikes = c->s, .membrane = c->v};
    double t0 = bench_now();
    CLI_TRY(spk_lif_forward(c->ctx, &c->p, &io));
    CLI_TRY(spk_context_finish(c->ctx));
    double t1 = bench_now();
    CLI_TRY(spk_tensor_copy(c->dst, c->src));
    CLI_TRY(spk_context_finish(c->ctx));
    t[0] = t1 - t0;
    t[1] = bench_now() - t1;
fail:
    return st;
}

/* Fill a tensor from the shared generator, through a host buffer. */
static spk_status fill(spk_tensor *t, float *host, uint64_t seed, unsigned stream)
{
    size_t n = spk_tensor_numel(t);
    float *h = host ? host : malloc(n * sizeof *h);
    if (!h)
        return SPK_ERR_OUT_OF_MEMORY;
    bench_fill_uniform(h, n, 1.0, seed, stream);
    spk_status st = spk_tensor_upload(t, h, n * sizeof *h);
    if (!host)
        free(h);
    return st;
}

static void add_pair_row(bench_table *tab, spk_context *ctx, const char *config, const char *what,
                         double t[BENCH_MAX_PARTS][BENCH_MAX_RUNS], size_t runs, double work, const char *unit,
                         int has_ceiling, uint64_t dev, const char *note)
{
    bench_row *r = bench_add_row(tab, ctx, "ceiling", config, what);
    if (!r)
        return;
    bench_row_times(r, t[0], runs);
    if (has_ceiling)
        r->ceiling_ms = 1e3 * bench_median(t[1], runs);
    r->launches = 1;
    r->device_bytes = dev;
    r->peak_rss = bench_rss_peak();
    r->value = work / (r->median_ms * 1e-3) / 1e9;
    snprintf(r->unit, sizeof r->unit, "%s", unit);
    snprintf(r->note, sizeof r->note, "%s", note);
}

static spk_status gemm_size(spk_context *ctx, const bench_opts *o, size_t n, int cpu, bench_table *tab)
{
    static double t[BENCH_MAX_PARTS][BENCH_MAX_RUNS];
    spk_status st = SPK_OK;
    size_t runs = 0;
    gemm_case c = {.ctx = ctx, .M = o->steps * o->batch, .N = n, .K = n};
    bench_rss_reset();
    CLI_TRY(spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){c.M, c.K}, &c.x));
    CLI_TRY(spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){c.N, c.K}, &c.w));
    CLI_TRY(spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){c.M, c.N}, &c.y));
#ifdef SPK_CLI_HAVE_BLAS
    c.blas = cpu ? spk__host_blas_get(NULL) : NULL;
    if (c.blas) {
        c.hx = malloc(c.M * c.K * sizeof *c.hx);
        c.hw = malloc(c.N * c.K * sizeof *c.hw);
        c.hy = calloc(c.M * c.N, sizeof *c.hy);
        if (!c.hx || !c.hw || !c.hy) {
            st = SPK_ERR_OUT_OF_MEMORY;
            goto fail;
        }
    }
#endif
    CLI_TRY(fill(c.x, c.hx, o->seed, BENCH_STREAM_INPUT));
    CLI_TRY(fill(c.w, c.hw, o->seed, BENCH_STREAM_WEIGHT));
    CLI_TRY(bench_measure(o, gemm_pair, &c, 2, t, &runs));
    char config[64];
    snprintf(config, sizeof config, "%zux%zux%zu", c.M, c.N, c.K);
    add_pair_row(tab, ctx, config, "gemm", t, runs, 2.0 * (double)c.M * (double)c.N * (double)c.K, "GFLOP/s",
                 c.hx != NULL, bench_tensor_bytes((const spk_tensor *[3]){c.x, c.w, c.y}, 3),
                 c.hx ? "ceiling: OpenBLAS sgemm on host arrays"
                 : cpu ? "no ceiling: built without OpenBLAS"
                       : "no ceiling: not a CPU device");
fail:
    free(c.hx), free(c.hw), free(c.hy);
    spk_tensor_free(c.x), spk_tensor_free(c.w), spk_tensor_free(c.y);
    return st;
}

static spk_status lif_size(spk_context *ctx, const bench_opts *o, size_t n, bench_table *tab)
{
    static double t[BENCH_MAX_PARTS][BENCH_MAX_RUNS];
    spk_status st = SPK_OK;
    size_t runs = 0, shape[3] = {o->steps, o->batch, n}, numel = o->steps * o->batch * n;
    size_t half = numel * 3 / 2; /* floats: 12 bytes per neuron-step, half read, half written */
    lif_case c = {.ctx = ctx, .p = spk_train_hidden_neurons()};
    bench_rss_reset();
    CLI_TRY(spk_tensor_create(ctx, SPK_F32, 3, shape, &c.x));
    CLI_TRY(spk_tensor_create(ctx, SPK_F32, 3, shape, &c.s));
    CLI_TRY(spk_tensor_create(ctx, SPK_F32, 3, shape, &c.v));
    CLI_TRY(spk_tensor_create(ctx, SPK_F32, 1, &half, &c.src));
    CLI_TRY(spk_tensor_create(ctx, SPK_F32, 1, &half, &c.dst));
    CLI_TRY(fill(c.x, NULL, o->seed, BENCH_STREAM_INPUT));
    CLI_TRY(spk_tensor_fill_f32(c.src, 1.0f));
    CLI_TRY(spk_tensor_fill_f32(c.dst, 0.0f));
    CLI_TRY(bench_measure(o, lif_pair, &c, 2, t, &runs));
    char config[64];
    snprintf(config, sizeof config, "T=%zu B=%zu n=%zu", o->steps, o->batch, n);
    add_pair_row(tab, ctx, config, "lif forward", t, runs, 12.0 * (double)numel, "GB/s", 1,
                 bench_tensor_bytes((const spk_tensor *[5]){c.x, c.s, c.v, c.src, c.dst}, 5),
                 "ceiling: copy of the same bytes");
fail:
    spk_tensor_free(c.x), spk_tensor_free(c.s), spk_tensor_free(c.v);
    spk_tensor_free(c.src), spk_tensor_free(c.dst);
    return st;
}

spk_status bench_suite_ceiling(spk_context *ctx, const bench_opts *o, bench_table *tab)
{
    spk_device_info info = {0};
    spk_status worst = spk_context_device(ctx, &info);
    for (size_t i = 0; i < o->n_sizes; i++) {
        char what[64];
        spk_status st = gemm_size(ctx, o, o->sizes[i], info.is_cpu, tab);
        if (st == SPK_OK)
            st = lif_size(ctx, o, o->sizes[i], tab);
        if (st != SPK_OK) {
            snprintf(what, sizeof what, "bench ceiling n=%zu", o->sizes[i]);
            spk_cli_report(ctx, st, what);
            worst = st;
        }
    }
    return worst;
}
