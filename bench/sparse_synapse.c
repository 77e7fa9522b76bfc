/* Event-driven vs GEMM synaptic propagation of Bernoulli input spikes
 * (BENCHMARKS.md §2 shapes): one dense layer over T*B = 256*128 rows as a
 * network's first layer, forward + backward (the weight and bias
 * gradients; no input gradient), rep by rep (A B C A B C ...): the GEMM
 * (SPK_SYNAPSE_DENSE) and the gather (SPK_SYNAPSE_SPARSE) on the same layer
 * and f32 input, and the gather from the same spikes bit-packed
 * (spk_network_set_packed_input, as a spiking layer with compact storage
 * hands them over) in a second network of the same weights. The sparse
 * times include the compaction and its density read-back.
 *
 * usage: bench_sparse_synapse [--device SEL] [--reps N] [--p P,P,...] [--in N,N] [--out N,N]
 */
#include <math.h>

#include "bench_common.h"

enum { T = 256, B = 128, MAX_LIST = 16, MAX_REPS = 64 };

typedef struct bench_case {
    size_t in, out;
    double p;
    spk_network *net, *net_bits; /* f32 input; packed input */
    spk_tensor *x, *x_bits, *gy;
    double secs[3][2][MAX_REPS]; /* [dense, sparse, sparse from bits][forward, backward] */
} bench_case;

enum { DENSE = 0, SPARSE = 1, BITS = 2 };

/* A network of one dense layer for [T, B, in] input, bit-packed or not. */
static spk_status one_dense(spk_context *ctx, size_t in, size_t out, int packed, spk_network **net)
{
    spk_status st;
    spk_layer *l = NULL;
    spk_dense_params p = spk_dense_params_default(in, out);
    if ((st = spk_network_create(ctx, net)) != SPK_OK || (st = spk_dense_create(ctx, &p, &l)) != SPK_OK ||
        (st = spk_network_add(*net, l)) != SPK_OK || (st = spk_network_set_packed_input(*net, packed)) != SPK_OK)
        return st;
    return spk_network_build(*net, T, B, 1, (size_t[1]){in});
}

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
    size_t nx = (size_t)T * B * c->in, ny = (size_t)T * B * c->out;
    float *h = malloc((nx > ny ? nx : ny) * sizeof *h);
    if (!h)
        return SPK_ERR_OUT_OF_MEMORY;
    if ((st = one_dense(ctx, c->in, c->out, 0, &c->net)) != SPK_OK ||
        (st = one_dense(ctx, c->in, c->out, 1, &c->net_bits)) != SPK_OK)
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
    if ((st = spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, c->in}, &c->x)) == SPK_OK &&
        (st = spk_tensor_upload(c->x, h, nx * sizeof *h)) == SPK_OK &&
        (st = spk_tensor_create(ctx, SPK_U8, 3, (size_t[3]){T, B, spk_spike_row_bytes(c->in)}, &c->x_bits)) == SPK_OK)
        st = spk_spikes_pack(ctx, c->x, c->x_bits);
done:
    free(h);
    return st;
}

/* One forward and one backward of variant w (DENSE, SPARSE, BITS): seconds of each, queue drained. */
static spk_status run(spk_context *ctx, bench_case *c, int w, double secs[2])
{
    spk_status st;
    spk_network *net = w == BITS ? c->net_bits : c->net;
    spk_layer *l = spk_network_layer(net, 0);
    const spk_tensor *y = NULL;
    spk_dense_stats s;
    int sparse = w != DENSE;
    if ((st = spk_dense_set_synapse(l, sparse ? SPK_SYNAPSE_SPARSE : SPK_SYNAPSE_DENSE, 0.0f)) != SPK_OK ||
        (st = spk_context_finish(ctx)) != SPK_OK)
        return st;
    double t0 = bench_now();
    if ((st = spk_network_forward(net, w == BITS ? c->x_bits : c->x, &y)) != SPK_OK ||
        (st = spk_context_finish(ctx)) != SPK_OK)
        return st;
    double t1 = bench_now();
    if ((st = spk_network_backward(net, c->gy)) != SPK_OK || (st = spk_context_finish(ctx)) != SPK_OK)
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
    spk_device_info info;
    spk_context *ctx = bench_context(&o, &info);
    if (!ctx)
        return 1;
    spk_status st = SPK_OK;
    char load[64];
    printf("device: %s (%s), T*B = %d*%d rows, %d interleaved reps, load %s\n", info.device_name,
           info.driver_version, T, B, reps, bench_loadavg(load, sizeof load));
    printf("median ms of forward + backward (forward, backward); dense/sparse of the medians from f32 input and "
           "from bit-packed input\n");
    printf("%5s %5s %6s %22s %22s %22s %8s %8s %8s %8s\n", "in", "out", "p", "dense ms", "sparse f32 ms",
           "sparse bits ms", "f32", "bits", "bits fwd", "bits bwd");
    for (size_t a = 0; a < nin && st == SPK_OK; a++)
        for (size_t b = 0; b < nout && st == SPK_OK; b++)
            for (size_t k = 0; k < np && st == SPK_OK; k++) {
                bench_case c = {(size_t)ins[a], (size_t)outs[b], ps[k], NULL, NULL, NULL, NULL, NULL, {{{0}}}};
                double warm[2], tot[3][MAX_REPS], med[3][3];
                if ((st = setup(ctx, &c, 1 + a * 64 + b * 8 + k)) != SPK_OK ||
                    (st = run(ctx, &c, DENSE, warm)) != SPK_OK || (st = run(ctx, &c, SPARSE, warm)) != SPK_OK ||
                    (st = run(ctx, &c, BITS, warm)) != SPK_OK)
                    bench_report(ctx, st, "setup");
                for (int r = 0; r < reps && st == SPK_OK; r++)
                    for (int w = 0; w < 3 && st == SPK_OK; w++)
                        if ((st = run(ctx, &c, w, warm)) != SPK_OK)
                            bench_report(ctx, st, "forward/backward");
                        else
                            c.secs[w][0][r] = warm[0], c.secs[w][1][r] = warm[1], tot[w][r] = warm[0] + warm[1];
                for (int w = 0; w < 3 && st == SPK_OK; w++) {
                    med[w][0] = 1e3 * bench_median(tot[w], (size_t)reps);
                    med[w][1] = 1e3 * bench_median(c.secs[w][0], (size_t)reps);
                    med[w][2] = 1e3 * bench_median(c.secs[w][1], (size_t)reps);
                }
                if (st == SPK_OK) {
                    printf("%5zu %5zu %6.3f", c.in, c.out, c.p);
                    for (int w = 0; w < 3; w++)
                        printf(" %8.1f (%5.1f, %5.1f)", med[w][0], med[w][1], med[w][2]);
                    printf(" %7.1fx %7.1fx %7.1fx %7.1fx\n", med[DENSE][0] / med[SPARSE][0],
                           med[DENSE][0] / med[BITS][0], med[DENSE][1] / med[BITS][1], med[DENSE][2] / med[BITS][2]);
                    fflush(stdout);
                }
                spk_network_free(c.net), spk_network_free(c.net_bits);
                spk_tensor_free(c.x), spk_tensor_free(c.x_bits), spk_tensor_free(c.gy);
            }
    spk_context_free(ctx);
    return st == SPK_OK ? 0 : 1;
}
