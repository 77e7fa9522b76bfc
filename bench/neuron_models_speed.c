/* bench_neuron_models: time per call and effective bandwidth of the ALIF,
 * Izhikevich and AdEx kernels (spk_model_forward, spk_model_backward).
 *
 * Forward: x -> spikes, membrane, adaptation (a training forward, f32
 * spikes), 16 bytes per neuron-step. Backward: membrane, adaptation, dL/dS,
 * dL/dx and the spikes (ALIF) or the input (Izhikevich, AdEx), 20 bytes
 * per neuron-step. The operations run interleaved, A B A B, each rep long
 * enough (--min-rep-s) to swamp the clock and launch overhead; medians are
 * printed. Compare two builds by running their binaries alternately
 * (bench/RESULTS.md).
 *
 * usage: bench_neuron_models [--device SEL] [--reps N] [--min-rep-s S]
 *                            [--shapes T:B:N,...] [--only SUBSTR]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

#define MAX_REPS 200
#define MAX_SHAPES 16
#define N_MODELS 3
#define N_OPS (2 * N_MODELS)

/* A model and the input regime that gives it both spikes and silence (as in tests/test_models.c). */
typedef struct model_case {
    const char *name;
    spk_model_params p;
    float x_mean, x_std;
} model_case;

static int cases_init(model_case c[N_MODELS])
{
    c[0] = (model_case){"alif", spk_model_params_default(SPK_MODEL_ALIF), 0.15f, 0.4f};
    c[0].p.alif.tau_mem = 8.0f, c[0].p.alif.tau_adapt = 15.0f, c[0].p.alif.threshold = 0.8f;
    c[0].p.alif.beta_a = 0.5f;
    c[1] = (model_case){"izhikevich", spk_model_params_default(SPK_MODEL_IZHIKEVICH), 8.0f, 8.0f};
    c[2] = (model_case){"adex", spk_model_params_default(SPK_MODEL_ADEX), 800.0f, 400.0f};
    c[2].p.dt = 0.5f;
    return spk_izhikevich_preset(SPK_IZH_RS, &c[1].p.izhikevich) == SPK_OK &&
           spk_adex_preset(SPK_ADEX_TONIC, &c[2].p.adex, NULL) == SPK_OK;
}

/* N(mean, std) by Box-Muller from a 64-bit LCG. */
static void fill_normal(uint64_t *s, float *v, size_t n, float mean, float std)
{
    for (size_t i = 0; i < n; i++) {
        *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
        double u1 = ((double)(*s >> 11) + 1.0) / 9007199254740993.0;
        *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
        double u2 = (double)(*s >> 11) / 9007199254740992.0;
        v[i] = mean + std * (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
    }
}

/* The tensors of one shape: an input per model (its regime), shared outputs. */
typedef struct problem {
    spk_tensor *x[N_MODELS], *s, *v, *w, *gs, *gx;
} problem;

static void problem_free(problem *pb)
{
    for (int m = 0; m < N_MODELS; m++)
        spk_tensor_free(pb->x[m]);
    spk_tensor_free(pb->s), spk_tensor_free(pb->v), spk_tensor_free(pb->w);
    spk_tensor_free(pb->gs), spk_tensor_free(pb->gx);
    memset(pb, 0, sizeof *pb);
}

static spk_status problem_make(spk_context *ctx, const model_case *cases, bench_seq_shape sh, problem *pb)
{
    spk_status st = SPK_OK;
    size_t shape[3] = {sh.T, sh.B, sh.N}, n = sh.T * sh.B * sh.N;
    float *host = malloc(n * sizeof *host);
    uint64_t seed = 42;
    memset(pb, 0, sizeof *pb);
    if (!host)
        return SPK_ERR_OUT_OF_MEMORY;
    spk_tensor **seqs[] = {&pb->x[0], &pb->x[1], &pb->x[2], &pb->s, &pb->v, &pb->w, &pb->gs, &pb->gx};
    for (size_t k = 0; k < sizeof seqs / sizeof seqs[0] && st == SPK_OK; k++)
        st = spk_tensor_create(ctx, SPK_F32, 3, shape, seqs[k]);
    for (int m = 0; m < N_MODELS && st == SPK_OK; m++) {
        fill_normal(&seed, host, n, cases[m].x_mean, cases[m].x_std);
        st = spk_tensor_upload(pb->x[m], host, n * sizeof *host);
    }
    if (st == SPK_OK) {
        fill_normal(&seed, host, n, 0.0f, 1.0f);
        st = spk_tensor_upload(pb->gs, host, n * sizeof *host);
    }
    free(host);
    return st;
}

/* Operation op: model op / 2, forward when even. */
static spk_status run_op(spk_context *ctx, const model_case *cases, problem *pb, int op)
{
    const model_case *c = &cases[op / 2];
    spk_model_io io = {.input = pb->x[op / 2], .spikes = pb->s, .membrane = pb->v, .adaptation = pb->w};
    if (op % 2 == 0)
        return spk_model_forward(ctx, &c->p, &io);
    spk_model_grads g = {.grad_spikes = pb->gs, .grad_input = pb->gx};
    return spk_model_backward(ctx, &c->p, &io, &g);
}

/* Seconds per call of op over one rep of `calls` calls. */
static spk_status time_op(spk_context *ctx, const model_case *cases, problem *pb, int op, int calls, double *s)
{
    spk_status st = spk_context_finish(ctx);
    double t0 = bench_now();
    for (int i = 0; i < calls && st == SPK_OK; i++)
        st = run_op(ctx, cases, pb, op);
    if (st == SPK_OK)
        st = spk_context_finish(ctx);
    *s = (bench_now() - t0) / calls;
    return st;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_neuron_models [--device SEL] [--reps N] [--min-rep-s S] [--shapes T:B:N,...]\n"
            "                           [--only SUBSTR]\n"
            "  --reps N       interleaved repetitions of each measurement (default 7)\n"
            "  --min-rep-s S  calls per rep are chosen so one rep lasts at least S seconds (default 0.2)\n"
            "  --shapes LIST  comma-separated T:B:N (default 500:16:512,100:128:2048,25:128:256)\n"
            "  --only SUBSTR  only the operations whose name contains SUBSTR (e.g. 'adex', 'bwd')\n");
}

/* One shape: calibrate the calls per rep, then time every operation A B A B. */
static int bench_shape(spk_context *ctx, const model_case *cases, bench_seq_shape sh, int reps, double min_rep_s,
                       const char *only)
{
    problem pb;
    spk_status st = problem_make(ctx, cases, sh, &pb);
    int calls[N_OPS], ok = st == SPK_OK, on[N_OPS];
    static double secs[N_OPS][MAX_REPS];
    char name[N_OPS][48];
    for (int op = 0; op < N_OPS && ok; op++) {
        snprintf(name[op], sizeof name[op], "%s %s", cases[op / 2].name, op % 2 ? "bwd" : "fwd");
        on[op] = !only || strstr(name[op], only);
        double s = 0.0;
        calls[op] = 1;
        if (on[op]) { /* the first call builds the kernel; the faster of the next two calibrates */
            double s2 = 0.0;
            ok = (st = run_op(ctx, cases, &pb, op)) == SPK_OK &&
                 (st = time_op(ctx, cases, &pb, op, 1, &s)) == SPK_OK &&
                 (st = time_op(ctx, cases, &pb, op, 1, &s2)) == SPK_OK;
            s = s2 < s ? s2 : s;
            calls[op] = s >= min_rep_s ? 1 : (int)ceil(min_rep_s / (s > 1e-6 ? s : 1e-6));
        }
    }
    for (int r = 0; r < reps && ok; r++)
        for (int op = 0; op < N_OPS && ok; op++)
            if (on[op])
                ok = (st = time_op(ctx, cases, &pb, op, calls[op], &secs[op][r])) == SPK_OK;
    if (!ok)
        bench_report(ctx, st, "a model call");
    const double elems = (double)sh.T * (double)sh.B * (double)sh.N;
    for (int op = 0; op < N_OPS && ok; op++) {
        if (!on[op])
            continue;
        double med = bench_median(secs[op], (size_t)reps);
        double bytes = elems * (op % 2 ? 20.0 : 16.0);
        printf("%zu:%zu:%zu  %-16s %9.3f ms  %7.2f GB/s  (min %.3f, max %.3f ms, %d calls/rep)\n", sh.T, sh.B, sh.N,
               name[op], 1e3 * med, bytes / med / 1e9, 1e3 * bench_min(secs[op], (size_t)reps),
               1e3 * bench_max(secs[op], (size_t)reps), calls[op]);
    }
    problem_free(&pb);
    return ok;
}

int main(int argc, char **argv)
{
    const char *device = NULL, *only = NULL;
    int reps = 7;
    double min_rep_s = 0.2;
    bench_seq_shape shapes[MAX_SHAPES] = {{500, 16, 512}, {100, 128, 2048}, {25, 128, 256}};
    size_t n_shapes = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (strcmp(a, "--device") == 0 && has_val) {
            device = argv[++i];
        } else if (strcmp(a, "--only") == 0 && has_val) {
            only = argv[++i];
        } else if (strcmp(a, "--reps") == 0 && has_val) {
            if (!bench_parse_pos_int(argv[++i], &reps) || reps > MAX_REPS) {
                fprintf(stderr, "error: --reps needs 1..%d\n", MAX_REPS);
                return 2;
            }
        } else if (strcmp(a, "--min-rep-s") == 0 && has_val) {
            min_rep_s = atof(argv[++i]);
            if (!(min_rep_s > 0.0) || min_rep_s > 60.0) {
                fprintf(stderr, "error: --min-rep-s needs a value in (0, 60]\n");
                return 2;
            }
        } else if (strcmp(a, "--shapes") == 0 && has_val) {
            if (!bench_parse_seq_shapes(argv[++i], shapes, MAX_SHAPES, &n_shapes)) {
                fprintf(stderr, "error: --shapes needs T:B:N[,T:B:N...] (at most %d, all >= 1)\n", MAX_SHAPES);
                return 2;
            }
        } else if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "error: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    model_case cases[N_MODELS];
    if (!cases_init(cases)) {
        fprintf(stderr, "error: the Izhikevich or AdEx preset is missing\n");
        return 1;
    }
    spk_context_options opts = spk_context_options_default();
    opts.device = device;
    spk_device_info info;
    spk_context *ctx = bench_context(&opts, &info);
    if (!ctx)
        return 1;
    char load[64];
    printf("device: %s, %u compute units; load %s; %d reps of >= %.2f s\n", info.device_name, info.compute_units,
           bench_loadavg(load, sizeof load), reps, min_rep_s);
    int ok = 1;
    for (size_t i = 0; i < n_shapes && ok; i++)
        ok = bench_shape(ctx, cases, shapes[i], reps, min_rep_s, only);
    spk_context_free(ctx);
    return ok ? 0 : 1;
}
