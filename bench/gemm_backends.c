/* GEMM backends side by side on the shapes spikecl runs: spk_gemm through
 * CLBlast, spk_gemm through the host BLAS on mapped device buffers, and
 * OpenBLAS called directly on malloc'd arrays (the ceiling: same library,
 * no OpenCL around it); and, when the cache directory holds tuned CLBlast
 * parameters for the device ('spikecl tune'), CLBlast with CLBlast's own
 * parameters and with the tuned ones, switched before each repetition.
 * Repetitions are interleaved (A B C D A B C D ...) so the ratios come from
 * one sitting on a shared machine.
 *
 * usage: bench_gemm_backends [--device SEL] [--reps N] [--min-rep-s S]
 *                            [--max-clblast-gflop G] [--only SUBSTR] [--json FILE]
 */
#include <cblas.h>
#include <errno.h>
#include <math.h>

#include "bench_common.h"

typedef struct shape {
    const char *name; /* where spikecl runs this GEMM */
    int ta, tb;
    size_t m, n, k;
} shape;

/* Dense layers compute x W^T (tb = 1); weight gradients dY^T X (ta = 1). */
static const shape SHAPES[] = {
    {"mlp dense1 fwd (B=128, 784->256)", 0, 1, 128, 256, 784},
    {"mlp dense1 dW (256x784 over B=128)", 1, 0, 256, 784, 128},
    {"mlp dense2 fwd (T*B=3200, 256->10)", 0, 1, 3200, 10, 256},
    {"mlp dense2 dX (T*B=3200, 10->256)", 0, 0, 3200, 256, 10},
    {"lib n=512 fwd (T*B=8000)", 0, 1, 8000, 512, 512},
    {"lib n=512 dW", 1, 0, 512, 512, 8000},
    {"lib n=1024 fwd (T*B=8000)", 0, 1, 8000, 1024, 1024},
    {"lib n=1024 dW", 1, 0, 1024, 1024, 8000},
    {"lib n=4096 fwd (T*B=8000)", 0, 1, 8000, 4096, 4096},
};
#define N_SHAPES (sizeof SHAPES / sizeof SHAPES[0])

enum { RAW = 0, HOST = 1, CLBLAST = 2, TUNED = 3, N_WAYS = 4 };
static const char *const WAY_NAMES[N_WAYS] = {"openblas", "spk host", "spk clblast", "clblast tuned"};

/* CLBlast's parameters for the CLBLAST and TUNED ways: process-wide per
 * device, so each rep applies its own set first. */
static spk_tune_params clblast_params[N_WAYS];

typedef struct operands {
    spk_context *ctx;
    spk_tensor *a, *b, *c;
} operands;

typedef struct bench_case {
    const shape *s;
    float *ha, *hb, *hc;           /* host arrays of the direct OpenBLAS call */
    operands dev[N_WAYS];          /* [HOST] and [CLBLAST]; [RAW] unused */
    int runs[N_WAYS];              /* calls per rep, chosen by calibration; 0: skipped */
    double gflops[N_WAYS][64];     /* per rep */
} bench_case;

static double gflop(const shape *s)
{
    return 2e-9 * (double)s->m * (double)s->n * (double)s->k;
}

static spk_status run_once(bench_case *bc, int way)
{
    const shape *s = bc->s;
    if (way == RAW) {
        cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans, s->tb ? CblasTrans : CblasNoTrans, (int)s->m,
                    (int)s->n, (int)s->k, 1.0f, bc->ha, s->ta ? (int)s->m : (int)s->k, bc->hb,
                    s->tb ? (int)s->k : (int)s->n, 0.0f, bc->hc, (int)s->n);
        return SPK_OK;
    }
    operands *o = &bc->dev[way];
    return spk_gemm(s->ta, s->tb, 1.0f, o->a, o->b, 0.0f, o->c);
}

/* Seconds for `runs` calls, the device queue drained at the end. */
static spk_status time_runs(bench_case *bc, int way, int runs, double *seconds)
{
    spk_status st = SPK_OK;
    if (way >= CLBLAST && (st = spk_tune_apply(bc->dev[way].ctx, &clblast_params[way])) != SPK_OK)
        return st;
    double t0 = bench_now();
    for (int r = 0; r < runs && st == SPK_OK; r++)
        st = run_once(bc, way);
    if (st == SPK_OK && way != RAW)
        st = spk_context_finish(bc->dev[way].ctx);
    *seconds = bench_now() - t0;
    return st;
}

static spk_status make_operands(spk_context *ctx, const shape *s, const float *ha, const float *hb, operands *o)
{
    spk_status st;
    size_t as[2] = {s->ta ? s->k : s->m, s->ta ? s->m : s->k};
    size_t bs[2] = {s->tb ? s->n : s->k, s->tb ? s->k : s->n};
    o->ctx = ctx;
    if ((st = spk_tensor_create(ctx, SPK_F32, 2, as, &o->a)) || (st = spk_tensor_create(ctx, SPK_F32, 2, bs, &o->b)) ||
        (st = spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){s->m, s->n}, &o->c)) ||
        (st = spk_tensor_upload(o->a, ha, s->m * s->k * sizeof(float))) ||
        (st = spk_tensor_upload(o->b, hb, s->k * s->n * sizeof(float))))
        return st;
    return spk_tensor_fill_f32(o->c, 0.0f);
}

static void free_operands(operands *o)
{
    spk_tensor_free(o->a);
    spk_tensor_free(o->b);
    spk_tensor_free(o->c);
}

static float *random_array(size_t n, unsigned seed)
{
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; p && i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
    }
    return p;
}

static void usage(void)
{
    printf("usage: bench_gemm_backends [--device SEL] [--reps N] [--min-rep-s S] [--max-clblast-gflop G]\n"
           "                           [--only SUBSTR] [--json FILE]\n"
           "  --reps N                interleaved repetitions (default 5, at most 64)\n"
           "  --min-rep-s S           calls per rep chosen so a rep lasts at least S seconds (default 0.2)\n"
           "  --max-clblast-gflop G   skip CLBlast on GEMMs above G GFLOP (default 20: it runs at ~10 GFLOP/s on PoCL)\n"
           "  --only SUBSTR           only the shapes whose name contains SUBSTR\n"
           "  --json FILE             also write the results as JSON\n");
}

int main(int argc, char **argv)
{
    const char *device = NULL, *json = NULL, *only = NULL;
    int reps = 5;
    double min_rep_s = 0.2, max_clblast_gflop = 20.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (strcmp(a, "--device") == 0 && has_val)
            device = argv[++i];
        else if (strcmp(a, "--reps") == 0 && has_val)
            reps = atoi(argv[++i]);
        else if (strcmp(a, "--min-rep-s") == 0 && has_val)
            min_rep_s = atof(argv[++i]);
        else if (strcmp(a, "--max-clblast-gflop") == 0 && has_val)
            max_clblast_gflop = atof(argv[++i]);
        else if (strcmp(a, "--only") == 0 && has_val)
            only = argv[++i];
        else if (strcmp(a, "--json") == 0 && has_val)
            json = argv[++i];
        else {
            usage();
            return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 ? 0 : 2;
        }
    }
    if (reps < 1 || reps > 64 || !(min_rep_s > 0)) {
        fprintf(stderr, "error: --reps is 1..64 and --min-rep-s positive\n");
        return 2;
    }
    spk_context *ctx[N_WAYS] = {NULL};
    spk_context_options o = spk_context_options_default();
    o.device = device;
    spk_status st = SPK_OK;
    for (int w = HOST; w < N_WAYS && st == SPK_OK; w++) {
        o.gemm_backend = w == HOST ? SPK_GEMM_HOST : SPK_GEMM_CLBLAST;
        o.clblast_tuning = w == TUNED ? SPK_TUNING_LOAD : SPK_TUNING_OFF;
        st = spk_context_create(&o, &ctx[w]);
    }
    if (st != SPK_OK) {
        bench_report(NULL, st, "creating the contexts (the host backend needs a CPU device)");
        return 1;
    }
    int have_tuned = 0;
    if ((st = spk_tune_clblast_defaults(ctx[CLBLAST], &clblast_params[CLBLAST])) != SPK_OK ||
        (st = spk_context_tuned_params(ctx[TUNED], &clblast_params[TUNED])) != SPK_OK) {
        bench_report(ctx[CLBLAST], st, "reading CLBlast's parameters");
        return 1;
    }
    spk_context_tuning(ctx[TUNED], &have_tuned);
    printf("tuned CLBlast parameters: %s\n", spk_context_tuning(ctx[TUNED], NULL));
    spk_device_info info;
    spk_context_device(ctx[HOST], &info);
    printf("device %s (%s), OpenBLAS %s, %d threads\n", info.device_name, info.driver_version,
           openblas_get_config(), openblas_get_num_threads());

    bench_case cases[N_SHAPES];
    size_t n_cases = 0;
    memset(cases, 0, sizeof cases);
    for (size_t i = 0; i < N_SHAPES && st == SPK_OK; i++) {
        if (only && !strstr(SHAPES[i].name, only))
            continue;
        bench_case *bc = &cases[n_cases++];
        const shape *s = bc->s = &SHAPES[i];
        bc->ha = random_array(s->m * s->k, 1);
        bc->hb = random_array(s->k * s->n, 2);
        bc->hc = calloc(s->m * s->n, sizeof(float));
        if (!bc->ha || !bc->hb || !bc->hc) {
            fprintf(stderr, "error: out of host memory for %s\n", s->name);
            return 1;
        }
        for (int w = HOST; w < N_WAYS && st == SPK_OK; w++)
            if ((st = make_operands(ctx[w], s, bc->ha, bc->hb, &bc->dev[w])) != SPK_OK)
                bench_report(ctx[w], st, s->name);
        /* Calibrate calls per rep; one warm-up call each (CLBlast compiles). */
        for (int w = 0; w < N_WAYS && st == SPK_OK; w++) {
            double t = 0.0;
            if ((w >= CLBLAST && gflop(s) > max_clblast_gflop) || (w == TUNED && !have_tuned))
                continue;
            if ((st = time_runs(bc, w, 1, &t)) != SPK_OK || (st = time_runs(bc, w, 1, &t)) != SPK_OK) {
                bench_report(w == RAW ? NULL : ctx[w], st, s->name);
                break;
            }
            int runs = (int)ceil(min_rep_s / (t > 1e-6 ? t : 1e-6));
            bc->runs[w] = runs < 1 ? 1 : runs > 100000 ? 100000 : runs;
        }
    }
    for (int r = 0; r < reps && st == SPK_OK; r++)
        for (size_t c = 0; c < n_cases && st == SPK_OK; c++)
            for (int w = 0; w < N_WAYS && st == SPK_OK; w++) {
                bench_case *bc = &cases[c];
                double t = 0.0;
                if (!bc->runs[w])
                    continue;
                if ((st = time_runs(bc, w, bc->runs[w], &t)) != SPK_OK)
                    bench_report(w == RAW ? NULL : ctx[w], st, bc->s->name);
                bc->gflops[w][r] = gflop(bc->s) * bc->runs[w] / t;
            }
    if (st != SPK_OK)
        return 1;

    printf("\nmedian GFLOP/s over %d interleaved reps (op: N/T of A and B; M x N x K)\n", reps);
    printf("%-38s %2s %18s %10s %10s %12s %13s %13s %12s %13s\n", "GEMM", "op", "M x N x K", WAY_NAMES[RAW],
           WAY_NAMES[HOST], WAY_NAMES[CLBLAST], WAY_NAMES[TUNED], "host/openblas", "host/clblast", "tuned/clblast");
    double med[N_SHAPES][N_WAYS];
    for (size_t c = 0; c < n_cases; c++) {
        const shape *s = cases[c].s;
        char dims[40], clb[16], vs[16], tun[16], tvs[16];
        for (int w = 0; w < N_WAYS; w++)
            med[c][w] = cases[c].runs[w] ? bench_median(cases[c].gflops[w], (size_t)reps) : 0.0;
        snprintf(dims, sizeof dims, "%zux%zux%zu", s->m, s->n, s->k);
        snprintf(clb, sizeof clb, med[c][CLBLAST] > 0 ? "%.1f" : "skipped", med[c][CLBLAST]);
        snprintf(vs, sizeof vs, med[c][CLBLAST] > 0 ? "%.1fx" : "-", med[c][HOST] / med[c][CLBLAST]);
        snprintf(tun, sizeof tun, med[c][TUNED] > 0 ? "%.1f" : "-", med[c][TUNED]);
        snprintf(tvs, sizeof tvs, med[c][TUNED] > 0 && med[c][CLBLAST] > 0 ? "%.2fx" : "-",
                 med[c][TUNED] / med[c][CLBLAST]);
        printf("%-38s %c%c %18s %10.1f %10.1f %12s %13s %12.0f%% %12s %13s\n", s->name, s->ta ? 'T' : 'N',
               s->tb ? 'T' : 'N', dims, med[c][RAW], med[c][HOST], clb, tun, 100.0 * med[c][HOST] / med[c][RAW], vs,
               tvs);
    }
    if (json) {
        FILE *f = fopen(json, "w");
        if (!f) {
            fprintf(stderr, "error: cannot write %s: %s\n", json, strerror(errno));
            return 1;
        }
        fprintf(f, "{\"device\": ");
        bench_json_str(f, info.device_name);
        fprintf(f, ", \"driver\": ");
        bench_json_str(f, info.driver_version);
        fprintf(f, ", \"reps\": %d, \"gemms\": [", reps);
        for (size_t c = 0; c < n_cases; c++) {
            const shape *s = cases[c].s;
            fprintf(f, "%s\n  {\"name\": ", c ? "," : "");
            bench_json_str(f, s->name);
            fprintf(f, ", \"trans_a\": %d, \"trans_b\": %d, \"m\": %zu, \"n\": %zu, \"k\": %zu, "
                       "\"gflops_openblas\": %.3f, \"gflops_host\": %.3f, \"gflops_clblast\": %.3f, "
                       "\"gflops_clblast_tuned\": %.3f}",
                    s->ta, s->tb, s->m, s->n, s->k, med[c][RAW], med[c][HOST], med[c][CLBLAST], med[c][TUNED]);
        }
        fprintf(f, "\n]}\n");
        fclose(f);
    }
    for (size_t c = 0; c < n_cases; c++) {
        for (int w = HOST; w < N_WAYS; w++)
            free_operands(&cases[c].dev[w]);
        free(cases[c].ha), free(cases[c].hb), free(cases[c].hc);
    }
    for (int w = HOST; w < N_WAYS; w++)
        spk_context_free(ctx[w]);
    return 0;
}
