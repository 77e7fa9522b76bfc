/* spikecl bench, suite "sparse": training on sparse spiking input, after
 * BENCHMARKS.md §2 (SHD-like, nothing downloaded). Bernoulli input spikes at
 * rate p, two LIF layers of 128 (--sparse-hidden), a leaky-integrator
 * readout of 20, batch 128, cross-entropy on the mean membrane, one Adam
 * step per batch. A step is: encode a new batch on the device, forward,
 * loss, backward, Adam. With --sparse-input shared, the batch and the
 * weights come from the shared generator instead (bench.h), the same batch
 * every step and no encode, so that bench/compare runs the same numbers in
 * PyTorch; the row then records the first step's loss and spike counts. The
 * dense layers choose gather or GEMM themselves (SPK_SYNAPSE_AUTO); the row
 * says what they chose. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"
#include "cli/bench.h"
#include "cli/cli.h"
#include "cli/train_common.h"

enum { CLASSES = 20, BATCH = 128, LAYERS = 3 };

typedef struct sparse_case {
    spk_context *ctx;
    spk_network *net;
    spk_optimizer *opt;
    spk_tensor *rate, *spikes, *grad;
    uint8_t labels[BATCH];
    uint64_t stream;
    int encode; /* a new Poisson batch each step, or one fixed batch */
    float loss; /* of the latest step */
} sparse_case;

static spk_status sparse_step(void *user, double *t)
{
    spk_status st = SPK_OK;
    sparse_case *c = user;
    spk_loss_params lp = spk_loss_params_default(SPK_LOSS_CE_MEAN_MEMBRANE);
    const spk_tensor *out = NULL;
    double t0 = bench_now();
    if (c->encode && spk_tensor_dtype(c->spikes) == SPK_U8) /* compact: the input spikes bit-packed too */
        CLI_TRY(spk_encode_poisson_bits(c->ctx, c->rate, 1.0f, c->stream++, c->spikes));
    else if (c->encode)
        CLI_TRY(spk_encode_poisson(c->ctx, c->rate, 1.0f, c->stream++, c->spikes));
    CLI_TRY(spk_network_forward(c->net, c->spikes, &out));
    CLI_TRY(spk_loss(c->ctx, &lp, out, c->labels, c->grad, &c->loss, NULL));
    CLI_TRY(spk_network_backward(c->net, c->grad));
    CLI_TRY(spk_network_step(c->net, c->opt));
    CLI_TRY(spk_context_finish(c->ctx));
    t[0] = bench_now() - t0;
fail:
    return st;
}

static spk_status add_layer(spk_network *net, spk_status created, spk_layer *const *l)
{
    return created == SPK_OK ? spk_network_add(net, *l) : created;
}

/* Weights and biases of every dense layer from the shared generator: layer k
 * (0, 1, 2) draws W [out, in] and b with seed 8 * seed + k, in
 * U(-1/sqrt(in), 1/sqrt(in)) like PyTorch's default Linear. */
static spk_status upload_shared_weights(spk_network *net, const size_t *fan_in, uint64_t seed)
{
    spk_status st = SPK_OK;
    for (size_t k = 0; k < LAYERS; k++) {
        spk_param w, b;
        double bound = 1.0 / sqrt((double)fan_in[k]);
        CLI_TRY(spk_network_param(net, 2 * k, &w));
        CLI_TRY(spk_network_param(net, 2 * k + 1, &b));
        CLI_TRY(bench_upload_generated(w.value, BENCH_GEN_UNIFORM, bound, seed * 8 + k, BENCH_STREAM_WEIGHT));
        CLI_TRY(bench_upload_generated(b.value, BENCH_GEN_UNIFORM, bound, seed * 8 + k, BENCH_STREAM_BIAS));
    }
fail:
    return st;
}

/* compact: hidden spikes kept bit-packed, and the encoded input too (the
 * shared input stays f32: it is uploaded as floats). */
static spk_status build(spk_context *ctx, const bench_opts *o, size_t inputs, float p, size_t steps, int compact,
                        sparse_case *c)
{
    spk_status st = SPK_OK;
    spk_layer *l = NULL;
    spk_lif_params lif = spk_train_hidden_neurons(), readout = lif;
    readout.kind = SPK_NEURON_LI;
    size_t widths[LAYERS] = {o->sparse_hidden, o->sparse_hidden, CLASSES}, fan_in[LAYERS], in = inputs;
    c->ctx = ctx;
    c->encode = !o->sparse_shared;
    CLI_TRY(spk_network_create(ctx, &c->net));
    for (size_t k = 0; k < LAYERS; k++) {
        spk_dense_params d = spk_dense_params_default(in, widths[k]);
        d.seed = o->seed * 8 + k;
        CLI_TRY(add_layer(c->net, spk_dense_create(ctx, &d, &l), &l));
        CLI_TRY(add_layer(c->net, spk_neuron_layer_create(ctx, k < 2 ? &lif : &readout, &l), &l));
        fan_in[k] = in;
        in = widths[k];
    }
    CLI_TRY(spk_network_set_compact_spikes(c->net, compact));
    CLI_TRY(spk_network_set_packed_input(c->net, compact && c->encode));
    CLI_TRY(spk_network_build(c->net, steps, BATCH, 1, &inputs));
    spk_optimizer_params op = spk_optimizer_params_default(SPK_OPTIM_ADAM);
    op.lr = 1e-3f;
    CLI_TRY(spk_optimizer_create(ctx, &op, &c->opt));
    CLI_TRY(spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){BATCH, inputs}, &c->rate));
    CLI_TRY(spk_tensor_fill_f32(c->rate, p));
    if (compact && c->encode)
        CLI_TRY(spk_tensor_create(ctx, SPK_U8, 3, (size_t[3]){steps, BATCH, spk_spike_row_bytes(inputs)}, &c->spikes));
    else
        CLI_TRY(spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){steps, BATCH, inputs}, &c->spikes));
    CLI_TRY(spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){steps, BATCH, CLASSES}, &c->grad));
    if (o->sparse_shared) {
        CLI_TRY(upload_shared_weights(c->net, fan_in, o->seed));
        CLI_TRY(bench_upload_generated(c->spikes, BENCH_GEN_BERNOULLI, p, o->seed, BENCH_STREAM_INPUT));
    }
    for (size_t b = 0; b < BATCH; b++)
        c->labels[b] = (uint8_t)(bench_word(o->seed, BENCH_STREAM_LABELS, b) % CLASSES);
fail:
    return st;
}

static void free_case(sparse_case *c)
{
    spk_tensor_free(c->rate), spk_tensor_free(c->spikes), spk_tensor_free(c->grad);
    spk_optimizer_free(c->opt);
    spk_network_free(c->net);
}

/* Which path each dense layer took (event-driven gather or GEMM), counted
 * over every forward of the case: the library chooses by measured density. */
static void synapse_note(spk_network *net, char *buf, size_t cap)
{
    size_t used = (size_t)snprintf(buf, cap, "gather/GEMM forwards per dense layer:");
    for (size_t i = 0; i < spk_network_layer_count(net) && used < cap; i++) {
        spk_dense_stats s;
        if (spk_dense_synapse_stats(spk_network_layer(net, i), &s) == SPK_OK)
            used += (size_t)snprintf(buf + used, cap - used, " %llu/%llu", (unsigned long long)s.sparse_forwards,
                                     (unsigned long long)s.dense_forwards);
    }
}

static spk_status one_case(spk_context *ctx, const bench_opts *o, size_t inputs, float p, bench_table *tab)
{
    static double t[BENCH_MAX_PARTS][BENCH_MAX_RUNS];
    size_t runs = 0;
    sparse_case c = {0};
    double warm;
    bench_rss_reset();
    /* f32 storage unless SPIKECL_COMPACT_SPIKES=1: rows comparable with earlier runs */
    spk_status st = build(ctx, o, inputs, p, o->sparse_steps, spk_train_compact_spikes(0), &c);
    if (st == SPK_OK)
        st = sparse_step(&c, &warm);
    float first_loss = c.loss;
    double spikes[2] = {0.0, 0.0}; /* of the two LIF layers in the first forward */
    for (size_t k = 0; k < 2 && st == SPK_OK; k++)
        st = bench_tensor_sum(spk_network_layer_output(c.net, 2 * k + 1), &spikes[k]);
    uint64_t l0 = bench_launches(ctx);
    if (st == SPK_OK)
        st = sparse_step(&c, &warm);
    uint64_t launches = bench_launches(ctx) - l0;
    if (st == SPK_OK)
        st = bench_measure(o, sparse_step, &c, 1, t, &runs);
    char config[64];
    snprintf(config, sizeof config, "in=%zu h=%zu p=%g T=%zu B=%d%s", inputs, o->sparse_hidden, (double)p,
             o->sparse_steps, BATCH, o->sparse_shared ? " shared" : "");
    if (st != SPK_OK) {
        char what[96];
        snprintf(what, sizeof what, "bench sparse %s", config);
        spk_cli_report(ctx, st, what);
    } else {
        bench_row *r = bench_add_row(tab, ctx, "sparse", config, "train step");
        if (r) {
            bench_row_times(r, t[0], runs);
            r->launches = (double)launches;
            r->device_bytes = bench_network_bytes(c.net) +
                              bench_tensor_bytes((const spk_tensor *[3]){c.rate, c.spikes, c.grad}, 3);
            r->peak_rss = bench_rss_peak();
            r->value = 1e3 / r->median_ms;
            snprintf(r->unit, sizeof r->unit, "steps/s");
            synapse_note(c.net, r->note, sizeof r->note);
            r->check_loss = first_loss;
            r->check_spikes[0] = spikes[0], r->check_spikes[1] = spikes[1];
            r->n_check_spikes = 2;
        }
    }
    free_case(&c);
    return st;
}

/* Device high-water of building the case at `steps` and one training step,
 * beyond what the context held before. */
static spk_status step_peak(spk_context *ctx, const bench_opts *o, size_t inputs, float p, size_t steps, int compact,
                            uint64_t *peak)
{
    spk_memory_stats m0, m1;
    sparse_case c = {0};
    double t;
    spk_context_memory_stats(ctx, &m0);
    spk_context_reset_memory_peak(ctx);
    spk_status st = build(ctx, o, inputs, p, steps, compact, &c);
    if (st == SPK_OK)
        st = sparse_step(&c, &t);
    spk_context_memory_stats(ctx, &m1);
    *peak = m1.peak_bytes - m0.bytes;
    free_case(&c);
    return st;
}

/* Bytes stored per neuron-step for BPTT (as in the lib suite, bench_lib.c):
 * the growth of one step's device high-water from T/2 to T over the added
 * neuron-steps of the two hidden layers and the readout; f32 storage, then
 * compact: the two hidden layers feed dense layers, so their spikes are
 * kept bit-packed, and the encoder writes the input spikes bit-packed too
 * (spk_encode_poisson_bits, spk_network_set_packed_input). */
static spk_status bptt_rows(spk_context *ctx, const bench_opts *o, size_t inputs, float p, bench_table *tab)
{
    spk_status st = SPK_OK;
    size_t t1 = o->sparse_steps / 2, t2 = o->sparse_steps, neurons = 2 * o->sparse_hidden + CLASSES;
    for (int compact = 0; compact <= 1 && t1 > 0 && st == SPK_OK; compact++) {
        uint64_t p1 = 0, p2 = 0;
        if ((st = step_peak(ctx, o, inputs, p, t1, compact, &p1)) != SPK_OK ||
            (st = step_peak(ctx, o, inputs, p, t2, compact, &p2)) != SPK_OK) {
            spk_cli_report(ctx, st, "bench sparse: BPTT memory");
            break;
        }
        char config[128];
        snprintf(config, sizeof config, "in=%zu p=%g T=%zu/%zu B=%d", inputs, (double)p, t1, t2, BATCH);
        if (!bench_bptt_row(tab, ctx, "sparse", config, compact, p1, p2, t1, t2, (double)BATCH * (double)neurons))
            break;
    }
    return st;
}

spk_status bench_suite_sparse(spk_context *ctx, const bench_opts *o, bench_table *tab)
{
    spk_status worst = SPK_OK;
    for (size_t i = 0; i < o->n_sparse_inputs; i++)
        for (size_t k = 0; k < o->n_sparse_rates; k++) {
            spk_status st = one_case(ctx, o, o->sparse_inputs[i], (float)o->sparse_rates[k], tab);
            if (st != SPK_OK)
                worst = st;
        }
    if (o->sparse_shared || o->n_sparse_inputs == 0 || o->n_sparse_rates == 0)
        return worst; /* the comparison harness (shared input) times the steps only */
    /* the first width at the second rate (0.05 by default) */
    spk_status st = bptt_rows(ctx, o, o->sparse_inputs[0], (float)o->sparse_rates[o->n_sparse_rates > 1], tab);
    return st != SPK_OK ? st : worst;
}
