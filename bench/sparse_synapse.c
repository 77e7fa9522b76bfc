/* Event-driven vs GEMM synaptic propagation of Bernoulli input spikes
 * (BENCHMARKS.md §2 shapes): one dense layer over T*B = 256*128 rows as a
 * network's first layer, forward + backward (the weight and bias
 * gradients; no input gradient), the same layer and buffers switched
 * between SPK_SYNAPSE_DENSE and SPK_SYNAPSE_SPARSE rep by rep (A B A B ...).
 * The sparse time includes the compaction and its density read-back.
 *
 * usage: bench_sparse_synapse [--device SEL] [--reps N] [--p P,P,...] [--in N,N] [--out N,N]
 */
#include <math.h>

#include "bench_common.h"

enum { T = 256, B = 128, MAX_LIST = 16, MAX_REPS = 64 };

typedef struct bench_case {
    size_t in, out;
    double p;
    spk_network *net;
    spk_tensor *x, *gy;
    double secs[2][2][MAX_REPS]; /* [dense, sparse][forward, backward] */
} bench_case;

/* Parse "a,b,c" into at most MAX_LIST positive numbers; returns the count (0 on error). */
static size_t parse_list(const char *s, double *v)
{
    size_t n = 0;
    for (char *end = NULL; *s && n < MAX_LIST; s = *end ? end + 1 : end) {
        v[n] = strtod(s, &end);
        if (end == s || !(v[n] > 0.0) || (*end && *end != ','))
            return 0;
        n++;
    }
    return *s ? 0 : n;
}

static spk_status setup(spk_context *ctx, bench_case *c, uint64_t seed)
{
    spk_status st = SPK_OK;
    spk_layer *l = NULL;
    size_t nx = (size_t)T * B * c->in, ny = (size_t)T * B * c->out;
    float *h = malloc((nx > ny ? nx : ny) * sizeof *h);
    if (!h)
        return SPK_ERR_OUT_OF_MEMORY;
    spk_dense_params p = spk_dense_params_default(c->in, c->out);
    if ((st = spk_network_create(ctx, &c->net)) != SPK_OK || (st = spk_dense_create(ctx, &p, &l)) != SPK_OK ||
        (st = spk_network_add(c->net, l)) != SPK_OK ||
        (st = spk_network_build(c->net, T, B, 1, (size_t[1]){c->in})) != SPK_OK)
        goto done;
    uint64_t s = seed;
    for (size_t i = 0; i < (nx > ny ? nx : ny); i++) { /* xorshift: uniform in [0, 1) */
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        h[i] = (float)((double)(s >> 11) / 9007199254740992.0);
    }
    if ((st = spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, c->out}, &c->gy)) != SPK_OK ||
        (st = spk_tensor_upload(c->gy, h, ny * sizeof *h)) != SPK_OK)
        goto done;
    for (size_t i = 0; i < nx; i++)
        h[i] = h[i] < c->p ? 1.0f : 0.0f;
    if ((st = spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, c->in}, &c->x)) == SPK_OK)
        st = spk_tensor_upload(c->x, h, nx * sizeof *h);
done:
    free(h);
    return st;
}

/* One forward and one backward on `sparse`'s path: seconds of each, queue drained. */
static spk_status run(spk_context *ctx, bench_case *c, int sparse, double secs[2])
{
    spk_status st;
    spk_layer *l = spk_network_layer(c->net, 0);
    const spk_tensor *y = NULL;
    spk_dense_stats s;
    if ((st = spk_dense_set_synapse(l, sparse ? SPK_SYNAPSE_SPARSE : SPK_SYNAPSE_DENSE, 0.0f)) != SPK_OK ||
        (st = spk_context_finish(ctx)) != SPK_OK)
        return st;
    double t0 = bench_now();
    if ((st = spk_network_forward(c->net, c->x, &y)) != SPK_OK || (st = spk_context_finish(ctx)) != SPK_OK)
        return st;
    double t1 = bench_now();
    if ((st = spk_network_backward(c->net, c->gy)) != SPK_OK || (st = spk_context_finish(ctx)) != SPK_OK)
        return st;
    secs[0] = t1 - t0, secs[1] = bench_now() - t1;
    if ((st = spk_dense_synapse_stats(l, &s)) == SPK_OK && s.sparse != sparse) {
        fprintf(stderr, "error: the layer took the %s path\n", s.sparse ? "sparse" : "dense");
        return SPK_ERR_INVALID_ARGUMENT;
    }
    return st;
}

int main(int argc, char **argv)
{
    spk_context_options o = spk_context_options_default();
    int reps = 5;
    double ps[MAX_LIST] = {0.01, 0.05, 0.2}, ins[MAX_LIST] = {128, 700}, outs[MAX_LIST] = {128, 512};
    size_t np = 3, nin = 2, nout = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = v != NULL;
        if (ok && !strcmp(a, "--device"))
            o.device = v;
        else if (ok && !strcmp(a, "--reps"))
            ok = bench_parse_pos_int(v, &reps) && reps <= MAX_REPS;
        else if (ok && !strcmp(a, "--p"))
            ok = (np = parse_list(v, ps)) > 0;
        else if (ok && !strcmp(a, "--in"))
            ok = (nin = parse_list(v, ins)) > 0;
        else if (ok && !strcmp(a, "--out"))
            ok = (nout = parse_list(v, outs)) > 0;
        else
            ok = 0;
        if (!ok) {
            fprintf(stderr, "usage: %s [--device SEL] [--reps N<=%d] [--p P,...] [--in N,...] [--out N,...]\n",
                    argv[0], MAX_REPS);
            return 2;
        }
        i++;
    }
    spk_context *ctx = NULL;
    spk_status st = spk_context_create(&o, &ctx);
    if (st != SPK_OK) {
        bench_report(NULL, st, "spk_context_create");
        return 1;
    }
    spk_device_info info;
    char load[64];
    spk_context_device(ctx, &info);
    printf("device: %s (%s), T*B = %d*%d rows, %d interleaved reps, load %s\n", info.device_name,
           info.driver_version, T, B, reps, bench_loadavg(load, sizeof load));
    printf("median ms of forward + backward (forward, backward), and dense/sparse of the medians\n");
    printf("%5s %5s %6s %22s %22s %8s %8s %8s\n", "in", "out", "p", "dense ms", "sparse ms", "total", "fwd", "bwd");
    for (size_t a = 0; a < nin && st == SPK_OK; a++)
        for (size_t b = 0; b < nout && st == SPK_OK; b++)
            for (size_t k = 0; k < np && st == SPK_OK; k++) {
                bench_case c = {(size_t)ins[a], (size_t)outs[b], ps[k], NULL, NULL, NULL, {{{0}}}};
                double warm[2], tot[2][MAX_REPS], med[2][3];
                if ((st = setup(ctx, &c, 1 + a * 64 + b * 8 + k)) != SPK_OK ||
                    (st = run(ctx, &c, 0, warm)) != SPK_OK || (st = run(ctx, &c, 1, warm)) != SPK_OK)
                    bench_report(ctx, st, "setup");
                for (int r = 0; r < reps && st == SPK_OK; r++)
                    for (int w = 0; w < 2 && st == SPK_OK; w++)
                        if ((st = run(ctx, &c, w, warm)) != SPK_OK)
                            bench_report(ctx, st, "forward/backward");
                        else
                            c.secs[w][0][r] = warm[0], c.secs[w][1][r] = warm[1], tot[w][r] = warm[0] + warm[1];
                for (int w = 0; w < 2 && st == SPK_OK; w++) {
                    med[w][0] = 1e3 * bench_median(tot[w], (size_t)reps);
                    med[w][1] = 1e3 * bench_median(c.secs[w][0], (size_t)reps);
                    med[w][2] = 1e3 * bench_median(c.secs[w][1], (size_t)reps);
                }
                if (st == SPK_OK) {
                    printf("%5zu %5zu %6.3f %8.1f (%5.1f, %5.1f) %8.1f (%5.1f, %5.1f) %7.1fx %7.1fx %7.1fx\n", c.in,
                           c.out, c.p, med[0][0], med[0][1], med[0][2], med[1][0], med[1][1], med[1][2],
                           med[0][0] / med[1][0], med[0][1] / med[1][1], med[0][2] / med[1][2]);
                    fflush(stdout);
                }
                spk_network_free(c.net), spk_tensor_free(c.x), spk_tensor_free(c.gy);
            }
    spk_context_free(ctx);
    return st == SPK_OK ? 0 : 1;
}
