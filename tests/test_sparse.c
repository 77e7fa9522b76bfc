/* Event-driven synapses (kernels/sparse_synapse.cl) in the dense layer, on
 * every device and GEMM backend: forward and weight gradient against the C
 * reference and against the GEMM path, at densities from 0 to 1 and awkward
 * shapes; a spiking network gathering against the same network forced
 * dense; compact (bit-packed) spike storage training exactly like floats;
 * the automatic choice at its threshold; rejected settings; bit-packing
 * (kernels/spikes.cl) against its reference.
 *
 * Criterion runs each test in its own process and CLBlast compiles its
 * kernels in each: the tests loop over their cases inside one test. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "spikecl/custom_layer.h"
#include "ref/ref.h"

/* x [n] of Bernoulli(p) spikes, with row 0 silent and row 1 all ones. */
static void spikes(spk_test_rng *r, float *x, size_t rows, size_t in, float p)
{
    for (size_t i = 0; i < rows * in; i++)
        x[i] = spk_test_uniform(r, 0.0f, 1.0f) < p ? 1.0f : 0.0f;
    for (size_t j = 0; j < in && rows > 1; j++)
        x[j] = 0.0f, x[in + j] = 1.0f;
}

/* A network of one dense layer in `mode`, built for [T, B, in]. */
static spk_network *one_dense(spk_context *ctx, size_t T, size_t B, size_t in, size_t out, int bias,
                              spk_synapse_mode mode)
{
    spk_network *net = NULL;
    spk_layer *l = NULL;
    spk_dense_params p = spk_dense_params_default(in, out);
    p.bias = bias, p.seed = 7, p.synapse = mode;
    SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
    SPK_ASSERT_OK(ctx, spk_dense_create(ctx, &p, &l));
    SPK_ASSERT_OK(ctx, spk_network_add(net, l));
    SPK_ASSERT_OK(ctx, spk_network_build(net, T, B, 1, (size_t[1]){in}));
    return net;
}

static spk_dense_stats stats_of(spk_context *ctx, spk_network *net, size_t layer)
{
    spk_dense_stats s;
    SPK_ASSERT_OK(ctx, spk_dense_synapse_stats(spk_network_layer(net, layer), &s));
    return s;
}

/* ---- (1) One dense layer: gather = reference = GEMM ----------------- */

Test(sparse, dense_layer_gathers_like_the_reference_and_the_gemm, .timeout = 600)
{
    const struct {
        size_t T, B, in, out;
        float p;
        int bias;
    } cases[] = {
        {3, 4, 37, 13, 0.0f, 1},  {3, 4, 45, 13, 0.01f, 0}, {4, 5, 64, 40, 0.05f, 1}, {2, 3, 9, 70, 0.5f, 1},
        {2, 2, 16, 8, 1.0f, 1},   {20, 16, 70, 45, 0.05f, 1}, {16, 16, 130, 96, 0.2f, 0},
        /* a [in + 1, out] partial too large for the CPU layout's row-wise weight gradient: the turned lists */
        {4, 9, 700, 128, 0.05f, 1},
    };
    SPK_FOR_EACH_DEVICE_AND_GEMM(ctx, 1)
    {
        const size_t n_cases = sizeof cases / sizeof cases[0];
        for (size_t i = 0; i < 2 * n_cases; i++) {
            /* the second time round, the layout GPUs get (CPU devices only take it when asked) */
            const size_t c = i % n_cases;
            if (i == n_cases)
                setenv("SPIKECL_SPARSE_GPU_LAYOUT", "1", 1);
            const size_t T = cases[c].T, B = cases[c].B, in = cases[c].in, out = cases[c].out;
            const size_t rows = T * B, nw = out * in;
            const int bias = cases[c].bias;
            spk_test_rng r = {900 + c};
            float *x = spk_test_alloc(rows * in), *gy = spk_test_alloc(rows * out);
            float *W = spk_test_alloc(nw), *b = spk_test_alloc(out), *want = spk_test_alloc(rows * out);
            float *got = spk_test_alloc(rows * out), *dense_y = spk_test_alloc(rows * out);
            float *dW = spk_test_alloc(nw), *dW_got = spk_test_alloc(nw), *dW_dense = spk_test_alloc(nw);
            int *count = calloc(rows, sizeof *count), *idx = calloc(rows * in, sizeof *idx), binary = 0;
            cr_assert(count && idx);
            spikes(&r, x, rows, in, cases[c].p);
            spk_test_fill_normal(&r, gy, rows * out, 0.0f, 1.0f);
            spk_ref_sparse_compact(x, rows, in, count, idx, &binary);
            cr_assert(binary);

            spk_network *net = one_dense(ctx, T, B, in, out, bias, SPK_SYNAPSE_SPARSE);
            spk_test_get_param(net, 0, W, NULL, "0.weight", nw);
            if (bias)
                spk_test_get_param(net, 1, b, NULL, "0.bias", out);
            spk_test_guarded gx, ggy;
            spk_test_guarded_create(ctx, SPK_F32, 3, (size_t[3]){T, B, in}, &gx);
            spk_test_guarded_create(ctx, SPK_F32, 3, (size_t[3]){T, B, out}, &ggy);
            spk_test_guarded_upload(&gx, x);
            spk_test_guarded_upload(&ggy, gy);
            char what[128];
            for (int dense = 0; dense <= 1; dense++) {
                SPK_ASSERT_OK(ctx, spk_dense_set_synapse(spk_network_layer(net, 0),
                                                         dense ? SPK_SYNAPSE_DENSE : SPK_SYNAPSE_SPARSE, 0.0f));
                const spk_tensor *y = NULL;
                SPK_ASSERT_OK(ctx, spk_network_forward(net, gx.t, &y));
                SPK_ASSERT_OK(ctx, spk_network_backward(net, ggy.t));
                cr_assert_eq(stats_of(ctx, net, 0).sparse, !dense, "case %zu: path", c);
                SPK_ASSERT_OK(ctx, spk_tensor_download(y, dense ? dense_y : got, rows * out * sizeof(float)));
                spk_test_get_param(net, 0, NULL, dense ? dW_dense : dW_got, "0.weight", nw);
            }
            spk_dense_stats s = stats_of(ctx, net, 0);
            cr_assert(s.binary && s.sparse_forwards == 1 && s.dense_forwards == 1, "case %zu: stats", c);
            spk_ref_sparse_forward(count, idx, rows, in, W, bias ? b : NULL, out, want);
            snprintf(what, sizeof what, "case %zu (p %g, %s layout): gathered output vs reference", c,
                     (double)cases[c].p, i < n_cases ? "device's" : "GPU");
            spk_test_compare(what, got, want, rows * out, 1e-6f, 1e-6f);
            snprintf(what, sizeof what, "case %zu: gathered output vs GEMM", c);
            spk_test_compare_scaled(what, got, dense_y, rows * out, 1e-5f);
            cr_assert(spk_ref_sparse_weight_grad(count, idx, rows, in, gy, out, dW));
            snprintf(what, sizeof what, "case %zu: gathered d weight vs reference", c);
            spk_test_compare_scaled(what, dW_got, dW, nw, 1e-5f);
            snprintf(what, sizeof what, "case %zu: gathered d weight vs GEMM", c);
            spk_test_compare_scaled(what, dW_got, dW_dense, nw, 1e-5f);
            spk_test_guarded_download(&gx, x, "input");
            spk_test_guarded_download(&ggy, gy, "grad_output");
            spk_test_guarded_free(&gx), spk_test_guarded_free(&ggy);
            spk_network_free(net);
            free(x), free(gy), free(W), free(b), free(want), free(got), free(dense_y), free(dW), free(dW_got),
                free(dW_dense), free(count), free(idx);
        }
        unsetenv("SPIKECL_SPARSE_GPU_LAYOUT");
    }
}

/* A gather layer with few outputs (a readout) computes its input gradient
 * itself (sparse_input_grad): an identity layer in front of it catches that
 * gradient, compared with the C reference, in the device's and the GPU
 * layout, against the GEMM's too. */
typedef struct catcher {
    float *grad; /* the last grad_out, downloaded */
    size_t n;
} catcher;

static spk_status catch_shape(void *u, int in_ndim, const size_t *in, int *out_ndim, size_t *out)
{
    (void)u;
    *out_ndim = in_ndim;
    memcpy(out, in, (size_t)in_ndim * sizeof *in);
    return SPK_OK;
}

static spk_status catch_forward(void *u, spk_context *ctx, spk_tensor *const *params, const spk_tensor *in,
                                spk_tensor *out)
{
    (void)u, (void)ctx, (void)params;
    return spk_tensor_copy(out, in);
}

static spk_status catch_backward(void *u, spk_context *ctx, spk_tensor *const *params, spk_tensor *const *grads,
                                 const spk_tensor *in, const spk_tensor *out, const spk_tensor *grad_out,
                                 spk_tensor *grad_in)
{
    (void)ctx, (void)params, (void)grads, (void)in, (void)out, (void)grad_in;
    catcher *c = u;
    return spk_tensor_download(grad_out, c->grad, c->n * sizeof(float));
}

Test(sparse, few_outputs_give_their_input_gradient_like_the_reference, .timeout = 600)
{
    /* IN: on CPU devices one block of 64 inputs, three vectors of 8 and two single inputs */
    enum { T = 6, B = 16, IN = 90, ROWS = T * B };
    static const spk_custom_layer_ops ops = {"catch", catch_shape, NULL, catch_forward, catch_backward, NULL};
    const size_t outs[] = {1, 5, 10, 16};
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        for (size_t i = 0; i < 2 * 4; i++) {
            if (i == 4) /* the layout GPUs get */
                setenv("SPIKECL_SPARSE_GPU_LAYOUT", "1", 1);
            const size_t out = outs[i % 4];
            spk_test_rng r = {400 + i};
            float *x = spk_test_alloc(ROWS * IN), *gy = spk_test_alloc(ROWS * out), *W = spk_test_alloc(out * IN);
            float *want = spk_test_alloc(ROWS * IN), *gemm = spk_test_alloc(ROWS * IN);
            catcher c = {spk_test_alloc(ROWS * IN), ROWS * IN};
            spikes(&r, x, ROWS, IN, 0.1f);
            spk_test_fill_normal(&r, gy, ROWS * out, 0.0f, 1.0f);
            spk_network *net = NULL;
            spk_layer *l = NULL;
            SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
            SPK_ASSERT_OK(ctx, spk_custom_layer_create(ctx, &ops, &c, NULL, 0, &l));
            SPK_ASSERT_OK(ctx, spk_network_add(net, l));
            spk_dense_params p = spk_dense_params_default(IN, out);
            p.seed = 11, p.synapse = SPK_SYNAPSE_SPARSE;
            SPK_ASSERT_OK(ctx, spk_dense_create(ctx, &p, &l));
            SPK_ASSERT_OK(ctx, spk_network_add(net, l));
            SPK_ASSERT_OK(ctx, spk_network_build(net, T, B, 1, (size_t[1]){IN}));
            spk_test_get_param(net, 0, W, NULL, "1.weight", out * IN);
            spk_tensor *xt, *gt;
            SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, IN}, &xt));
            SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, out}, &gt));
            SPK_ASSERT_OK(ctx, spk_tensor_upload(xt, x, ROWS * IN * sizeof(float)));
            SPK_ASSERT_OK(ctx, spk_tensor_upload(gt, gy, ROWS * out * sizeof(float)));
            for (int dense = 0; dense <= 1; dense++) {
                const spk_tensor *y;
                SPK_ASSERT_OK(ctx, spk_dense_set_synapse(spk_network_layer(net, 1),
                                                         dense ? SPK_SYNAPSE_DENSE : SPK_SYNAPSE_SPARSE, 0.0f));
                SPK_ASSERT_OK(ctx, spk_network_forward(net, xt, &y));
                SPK_ASSERT_OK(ctx, spk_network_backward(net, gt));
                cr_assert_eq(stats_of(ctx, net, 1).sparse, !dense);
                if (dense)
                    memcpy(gemm, c.grad, ROWS * IN * sizeof(float));
                else
                    memcpy(want, c.grad, ROWS * IN * sizeof(float));
            }
            memcpy(c.grad, want, ROWS * IN * sizeof(float)); /* the gather's */
            spk_ref_sparse_input_grad(gy, W, ROWS, IN, out, want);
            char what[96];
            snprintf(what, sizeof what, "%zu outputs (%s layout): input gradient vs reference", out,
                     i < 4 ? "device's" : "GPU");
            spk_test_compare(what, c.grad, want, ROWS * IN, 1e-6f, 1e-6f);
            snprintf(what, sizeof what, "%zu outputs: input gradient vs GEMM", out);
            spk_test_compare_scaled(what, c.grad, gemm, ROWS * IN, 1e-5f);
            spk_tensor_free(xt), spk_tensor_free(gt);
            spk_network_free(net);
            free(x), free(gy), free(W), free(want), free(gemm), free(c.grad);
        }
        unsetenv("SPIKECL_SPARSE_GPU_LAYOUT");
    }
}

/* ---- (2) A spiking network: gathering = forced dense ---------------- */

enum { NET_T = 30, NET_B = 8, NET_IN = 50, NET_HID = 40, NET_OUT = 5 };

/* Loss and every parameter gradient of input spikes x through
 * dense -> LIF -> dense -> LI with every dense layer in `mode`. */
static float net_loss_grads(spk_context *ctx, spk_synapse_mode mode, const spk_tensor *x, float *grads,
                            size_t *n_grads, float *hidden_spikes)
{
    spk_network *net = NULL;
    spk_layer *l = NULL;
    spk_lif_params lif = spk_lif_params_default(SPK_NEURON_LIF), li = spk_lif_params_default(SPK_NEURON_LI);
    lif.tau_mem = 5.0f, lif.threshold = 0.3f;
    const size_t widths[2][2] = {{NET_IN, NET_HID}, {NET_HID, NET_OUT}};
    SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
    for (int k = 0; k < 2; k++) {
        spk_dense_params d = spk_dense_params_default(widths[k][0], widths[k][1]);
        d.seed = 30u + (uint64_t)k, d.synapse = mode;
        SPK_ASSERT_OK(ctx, spk_dense_create(ctx, &d, &l));
        SPK_ASSERT_OK(ctx, spk_network_add(net, l));
        SPK_ASSERT_OK(ctx, spk_neuron_layer_create(ctx, k ? &li : &lif, &l));
        SPK_ASSERT_OK(ctx, spk_network_add(net, l));
    }
    SPK_ASSERT_OK(ctx, spk_network_build(net, NET_T, NET_B, 1, (size_t[1]){NET_IN}));
    spk_tensor *grad = NULL;
    SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){NET_T, NET_B, NET_OUT}, &grad));
    const spk_tensor *y = NULL;
    uint8_t labels[NET_B];
    for (size_t i = 0; i < NET_B; i++)
        labels[i] = (uint8_t)(i % NET_OUT);
    spk_loss_params lp = spk_loss_params_default(SPK_LOSS_CE_MEAN_MEMBRANE);
    float loss = NAN;
    SPK_ASSERT_OK(ctx, spk_network_forward(net, x, &y));
    SPK_ASSERT_OK(ctx, spk_loss(ctx, &lp, y, labels, grad, &loss, NULL));
    SPK_ASSERT_OK(ctx, spk_network_backward(net, grad));
    for (size_t k = 0; k < 2; k++)
        cr_assert_eq(stats_of(ctx, net, 2 * k).sparse, mode == SPK_SYNAPSE_SPARSE, "layer %zu's path", 2 * k);
    SPK_ASSERT_OK(ctx, spk_tensor_download(spk_network_layer_output(net, 1), hidden_spikes,
                                           NET_T * NET_B * NET_HID * sizeof(float)));
    *n_grads = 0;
    for (size_t i = 0; i < spk_network_param_count(net); i++) {
        spk_param p;
        SPK_ASSERT_OK(ctx, spk_network_param(net, i, &p));
        size_t n = spk_tensor_numel(p.grad);
        SPK_ASSERT_OK(ctx, spk_tensor_download(p.grad, grads + *n_grads, n * sizeof(float)));
        *n_grads += n;
    }
    spk_tensor_free(grad);
    spk_network_free(net);
    return loss;
}

Test(sparse, spiking_network_gathering_matches_forced_dense, .timeout = 600)
{
    enum { NX = NET_T * NET_B * NET_IN, NS = NET_T * NET_B * NET_HID };
    enum { NG = NET_HID * NET_IN + NET_HID + NET_OUT * NET_HID + NET_OUT };
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        spk_test_rng r = {77};
        float *x = spk_test_alloc(NX), *g[2] = {spk_test_alloc(NG), spk_test_alloc(NG)};
        float *s[2] = {spk_test_alloc(NS), spk_test_alloc(NS)}, loss[2];
        size_t n[2];
        spikes(&r, x, NET_T * NET_B, NET_IN, 0.05f);
        spk_tensor *xt = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){NET_T, NET_B, NET_IN}, &xt));
        SPK_ASSERT_OK(ctx, spk_tensor_upload(xt, x, NX * sizeof(float)));
        for (int k = 0; k < 2; k++)
            loss[k] = net_loss_grads(ctx, k ? SPK_SYNAPSE_DENSE : SPK_SYNAPSE_SPARSE, xt, g[k], &n[k], s[k]);
        cr_assert_eq(n[0], (size_t)NG);
        cr_assert(memcmp(s[0], s[1], NS * sizeof(float)) == 0, "hidden spikes differ between the paths");
        size_t active = 0;
        for (size_t i = 0; i < NS; i++)
            active += s[0][i] != 0.0f;
        cr_assert(active > NS / 100 && active < NS / 2, "hidden layer spikes at a useful rate (%zu of %d)", active,
                  (int)NS);
        cr_assert(fabsf(loss[0] - loss[1]) <= 1e-5f * fabsf(loss[1]), "loss %g vs %g", (double)loss[0],
                  (double)loss[1]);
        spk_test_compare_scaled("gradients, gathered vs forced dense", g[0], g[1], NG, 1e-4f);
        spk_tensor_free(xt);
        free(x), free(g[0]), free(g[1]), free(s[0]), free(s[1]);
    }
}

/* ---- (2b) Compact spike storage: the same training, bit for bit ----- */

enum { CT = 20, CB = 6, CIN = 45, CH1 = 40, CH2 = 33, COUT = 4, CSTEPS = 3 };

/* CSTEPS Adam steps of a built network on x against fixed labels: the loss
 * of each (regularizers included) and the final parameters; frees net.
 * Returns the parameter count. */
static size_t adam_steps(spk_context *ctx, spk_network *net, const spk_tensor *x, float *losses, float *params)
{
    spk_optimizer *opt = NULL;
    spk_optimizer_params op = spk_optimizer_params_default(SPK_OPTIM_ADAM);
    op.lr = 0.05f;
    SPK_ASSERT_OK(ctx, spk_optimizer_create(ctx, &op, &opt));
    spk_tensor *grad = NULL;
    SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){CT, CB, COUT}, &grad));
    uint8_t labels[CB];
    for (size_t i = 0; i < CB; i++)
        labels[i] = (uint8_t)(i % COUT);
    spk_loss_params lp = spk_loss_params_default(SPK_LOSS_CE_MEAN_MEMBRANE);
    for (int step = 0; step < CSTEPS; step++) {
        const spk_tensor *y = NULL;
        SPK_ASSERT_OK(ctx, spk_network_forward(net, x, &y));
        SPK_ASSERT_OK(ctx, spk_loss(ctx, &lp, y, labels, grad, &losses[step], NULL));
        SPK_ASSERT_OK(ctx, spk_network_backward(net, grad));
        losses[step] += spk_network_regularizer_loss(net);
        SPK_ASSERT_OK(ctx, spk_network_step(net, opt));
    }
    size_t n = 0;
    for (size_t i = 0; i < spk_network_param_count(net); i++) {
        spk_param p;
        SPK_ASSERT_OK(ctx, spk_network_param(net, i, &p));
        SPK_ASSERT_OK(ctx, spk_tensor_download(p.value, params + n, spk_tensor_bytes(p.value)));
        n += spk_tensor_numel(p.value);
    }
    spk_tensor_free(grad);
    spk_optimizer_free(opt);
    spk_network_free(net);
    return n;
}

/* Loss of each of CSTEPS Adam steps and the final parameters of input
 * spikes x [CT, CB, CIN] through dense -> LIF -> dense -> CUBA-LIF ->
 * dense -> LI, every dense layer in `mode`, the first hidden layer's rate
 * regularized; compact: spk_network_set_compact_spikes; packed: the input
 * handed over bit-packed (x_bits). Returns the parameter count. */
static size_t train_steps(spk_context *ctx, spk_synapse_mode mode, int compact, const spk_tensor *x,
                          const spk_tensor *x_bits, float *losses, float *params)
{
    spk_network *net = NULL;
    spk_layer *l = NULL;
    spk_lif_params lif = spk_lif_params_default(SPK_NEURON_LIF), cuba = spk_lif_params_default(SPK_NEURON_CUBA_LIF);
    spk_lif_params li = spk_lif_params_default(SPK_NEURON_LI);
    lif.tau_mem = 5.0f, lif.threshold = 0.3f, lif.refractory_steps = 1;
    cuba.threshold = 0.2f, cuba.reset = SPK_RESET_ZERO, cuba.detach_reset = 0;
    const spk_lif_params *neurons[3] = {&lif, &cuba, &li};
    const size_t widths[3][2] = {{CIN, CH1}, {CH1, CH2}, {CH2, COUT}};
    SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
    for (int k = 0; k < 3; k++) {
        spk_dense_params d = spk_dense_params_default(widths[k][0], widths[k][1]);
        d.seed = 50u + (uint64_t)k, d.synapse = mode;
        SPK_ASSERT_OK(ctx, spk_dense_create(ctx, &d, &l));
        SPK_ASSERT_OK(ctx, spk_network_add(net, l));
        SPK_ASSERT_OK(ctx, spk_neuron_layer_create(ctx, neurons[k], &l));
        SPK_ASSERT_OK(ctx, spk_network_add(net, l));
    }
    SPK_ASSERT_OK(ctx, spk_network_set_compact_spikes(net, compact));
    SPK_ASSERT_OK(ctx, spk_network_set_packed_input(net, x_bits != NULL));
    SPK_ASSERT_OK(ctx, spk_network_add_rate_regularizer(net, 1, 0.1f, 0.5f));
    SPK_ASSERT_OK(ctx, spk_network_build(net, CT, CB, 1, (size_t[1]){CIN}));
    for (size_t i = 1; i < 4; i += 2) /* the spiking layers feeding dense ones */
        cr_assert_eq(spk_tensor_dtype(spk_network_layer_output(net, i)), compact ? SPK_U8 : SPK_F32);
    return adam_steps(ctx, net, x_bits ? x_bits : x, losses, params);
}

Test(sparse, compact_spike_storage_trains_bit_for_bit_like_f32, .timeout = 600)
{
    enum { NX = CT * CB * CIN, NP = CH1 * CIN + CH1 + CH2 * CH1 + CH2 + COUT * CH2 + COUT };
    const spk_synapse_mode modes[4] = {SPK_SYNAPSE_DENSE, SPK_SYNAPSE_SPARSE, SPK_SYNAPSE_AUTO, SPK_SYNAPSE_SPARSE};
    SPK_FOR_EACH_DEVICE_AND_GEMM(ctx, 1)
    {
        spk_test_rng r = {91};
        float *x = spk_test_alloc(NX), *want = spk_test_alloc(NP), *got = spk_test_alloc(NP);
        float lw[CSTEPS], lg[CSTEPS];
        spikes(&r, x, CT * CB, CIN, 0.1f);
        spk_tensor *xt = NULL, *xb = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){CT, CB, CIN}, &xt));
        SPK_ASSERT_OK(ctx, spk_tensor_upload(xt, x, NX * sizeof(float)));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_U8, 3, (size_t[3]){CT, CB, spk_spike_row_bytes(CIN)}, &xb));
        SPK_ASSERT_OK(ctx, spk_spikes_pack(ctx, xt, xb));
        for (int m = 0; m < 4; m++) {
            if (m == 3) /* sparse once more in the layout GPUs get (CPU devices only take it when asked) */
                setenv("SPIKECL_SPARSE_GPU_LAYOUT", "1", 1);
            cr_assert_eq(train_steps(ctx, modes[m], 0, xt, NULL, lw, want), (size_t)NP);
            for (int packed = 0; packed <= 1; packed++) {
                cr_assert_eq(train_steps(ctx, modes[m], 1, xt, packed ? xb : NULL, lg, got), (size_t)NP);
                for (int s = 0; s < CSTEPS; s++)
                    cr_assert(lg[s] == lw[s], "mode %d, packed input %d: loss of step %d %.9g vs %.9g with f32 "
                              "spikes", (int)modes[m], packed, s, (double)lg[s], (double)lw[s]);
                cr_assert(lw[CSTEPS - 1] != lw[0], "the steps train");
                cr_assert(memcmp(got, want, NP * sizeof(float)) == 0,
                          "mode %d, packed input %d: trained parameters differ from f32 spike storage", (int)modes[m],
                          packed);
            }
        }
        unsetenv("SPIKECL_SPARSE_GPU_LAYOUT");
        spk_tensor_free(xt), spk_tensor_free(xb);
        free(x), free(want), free(got);
    }
}

/* A static input (one image for all steps) under compact storage: the
 * first dense layer hands its product to the LIF layer once, [1, B, H], and
 * that layer reads it at every step (no copy per step). The losses and the
 * parameters after CSTEPS Adam steps: the same bits as with f32 storage,
 * which broadcasts the product over T. */
static size_t train_static(spk_context *ctx, int compact, const spk_tensor *x, float *losses, float *params,
                           size_t *once_dim0)
{
    spk_network *net = NULL;
    spk_layer *l = NULL;
    spk_lif_params lif = spk_lif_params_default(SPK_NEURON_CUBA_LIF), li = spk_lif_params_default(SPK_NEURON_LI);
    lif.threshold = 0.2f;
    SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
    for (int k = 0; k < 2; k++) {
        spk_dense_params d = spk_dense_params_default(k ? CH1 : CIN, k ? COUT : CH1);
        d.seed = 70u + (uint64_t)k;
        SPK_ASSERT_OK(ctx, spk_dense_create(ctx, &d, &l));
        SPK_ASSERT_OK(ctx, spk_network_add(net, l));
        SPK_ASSERT_OK(ctx, spk_neuron_layer_create(ctx, k ? &li : &lif, &l));
        SPK_ASSERT_OK(ctx, spk_network_add(net, l));
    }
    SPK_ASSERT_OK(ctx, spk_network_set_compact_spikes(net, compact));
    SPK_ASSERT_OK(ctx, spk_network_set_static_input(net, 1));
    SPK_ASSERT_OK(ctx, spk_network_build(net, CT, CB, 1, (size_t[1]){CIN}));
    *once_dim0 = spk_tensor_dim(spk_network_layer_output(net, 0), 0);
    /* The storage plan, and under either storage the gradient of the static-input layer summed over
     * time, are fixed at build: a regularizer now would need another. */
    SPK_ASSERT_STATUS(ctx, spk_network_add_rate_regularizer(net, 0, 0.1f, 0.5f), SPK_ERR_INVALID_ARGUMENT,
                      "before spk_network_build");
    return adam_steps(ctx, net, x, losses, params);
}

Test(sparse, compact_storage_reads_a_static_product_once_bit_for_bit, .timeout = 600)
{
    enum { NX = CB * CIN, NP = CH1 * CIN + CH1 + COUT * CH1 + COUT };
    SPK_FOR_EACH_DEVICE_AND_GEMM(ctx, 1)
    {
        spk_test_rng r = {92};
        float *x = spk_test_alloc(NX), *want = spk_test_alloc(NP), *got = spk_test_alloc(NP);
        float lw[CSTEPS], lg[CSTEPS];
        spk_test_fill_uniform(&r, x, NX, 0.0f, 1.0f);
        spk_tensor *xt = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){CB, CIN}, &xt));
        SPK_ASSERT_OK(ctx, spk_tensor_upload(xt, x, NX * sizeof(float)));
        size_t dim0[2];
        cr_assert_eq(train_static(ctx, 0, xt, lw, want, &dim0[0]), (size_t)NP);
        cr_assert_eq(train_static(ctx, 1, xt, lg, got, &dim0[1]), (size_t)NP);
        cr_assert(dim0[0] == CT && dim0[1] == 1, "first output: %zu steps with f32 storage (want %d), %zu compact "
                  "(want 1)", dim0[0], (int)CT, dim0[1]);
        for (int s = 0; s < CSTEPS; s++)
            cr_assert(lg[s] == lw[s], "loss of step %d %.9g vs %.9g with f32 storage", s, (double)lg[s],
                      (double)lw[s]);
        cr_assert(lw[CSTEPS - 1] != lw[0], "the steps train");
        cr_assert(memcmp(got, want, NP * sizeof(float)) == 0, "trained parameters differ from f32 storage");
        spk_tensor_free(xt);
        free(x), free(want), free(got);
    }
}

/* ---- (3) The automatic choice -------------------------------------- */

Test(sparse, auto_gathers_at_or_below_the_threshold_and_only_binary_input, .timeout = 600)
{
    enum { T = 5, B = 4, IN = 50, OUT = 24, N = T * B * IN }; /* 1000 inputs */
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        spk_network *net = one_dense(ctx, T, B, IN, OUT, 1, SPK_SYNAPSE_AUTO);
        spk_layer *l = spk_network_layer(net, 0);
        spk_tensor *xt = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, IN}, &xt));
        float *x = spk_test_alloc(N);
        const struct {
            spk_synapse_mode mode;
            size_t ones;     /* inputs set, spread over the rows */
            float value;     /* their value */
            int want_sparse;
        } cases[] = {
            {SPK_SYNAPSE_AUTO, 100, 1.0f, 1},  {SPK_SYNAPSE_AUTO, 101, 1.0f, 0}, {SPK_SYNAPSE_AUTO, 0, 1.0f, 1},
            {SPK_SYNAPSE_AUTO, 5, 0.5f, 0},    {SPK_SYNAPSE_SPARSE, 900, 1.0f, 1}, {SPK_SYNAPSE_SPARSE, 3, 2.0f, 0},
            {SPK_SYNAPSE_DENSE, 10, 1.0f, 0},
        };
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            SPK_ASSERT_OK(ctx, spk_dense_set_synapse(l, cases[c].mode, 0.1f));
            memset(x, 0, N * sizeof(float));
            for (size_t i = 0; i < cases[c].ones; i++)
                x[(i * 7919) % N] = cases[c].value; /* 7919 is prime to N: distinct positions */
            SPK_ASSERT_OK(ctx, spk_tensor_upload(xt, x, N * sizeof(float)));
            const spk_tensor *y = NULL;
            SPK_ASSERT_OK(ctx, spk_network_forward(net, xt, &y));
            spk_dense_stats s = stats_of(ctx, net, 0);
            cr_assert_eq(s.sparse, cases[c].want_sparse, "case %zu: sparse %d, density %g", c, s.sparse,
                         (double)s.density);
            if (cases[c].mode != SPK_SYNAPSE_DENSE)
                cr_assert_eq(s.binary, cases[c].value == 1.0f, "case %zu: binary", c);
            if (s.binary)
                cr_assert(fabsf(s.density - (float)cases[c].ones / N) < 1e-6f, "case %zu: density %g", c,
                          (double)s.density);
        }
        /* The default threshold (0): 0.3 on CPU devices, 0.2 elsewhere. */
        spk_device_info info;
        SPK_ASSERT_OK(ctx, spk_context_device(ctx, &info));
        const struct {
            size_t ones;
            int want_sparse;
        } defaults[] = {{200, 1}, {250, info.is_cpu}, {300, info.is_cpu}, {301, 0}};
        SPK_ASSERT_OK(ctx, spk_dense_set_synapse(l, SPK_SYNAPSE_AUTO, 0.0f));
        for (size_t c = 0; c < sizeof defaults / sizeof defaults[0]; c++) {
            memset(x, 0, N * sizeof(float));
            for (size_t i = 0; i < defaults[c].ones; i++)
                x[(i * 7919) % N] = 1.0f;
            SPK_ASSERT_OK(ctx, spk_tensor_upload(xt, x, N * sizeof(float)));
            const spk_tensor *y = NULL;
            SPK_ASSERT_OK(ctx, spk_network_forward(net, xt, &y));
            cr_assert_eq(stats_of(ctx, net, 0).sparse, defaults[c].want_sparse, "default threshold, density %g",
                         (double)defaults[c].ones / N);
        }
        spk_tensor_free(xt);
        free(x);
        spk_network_free(net);
    }
}

/* ---- (4) Invalid settings ------------------------------------------- */

Test(sparse, invalid_settings_are_rejected_with_a_message)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        spk_layer *l = NULL, *lif = NULL;
        spk_dense_params p = spk_dense_params_default(10, 4);
        cr_assert_eq(p.synapse, SPK_SYNAPSE_AUTO);
        p.synapse = (spk_synapse_mode)7;
        SPK_ASSERT_STATUS(ctx, spk_dense_create(ctx, &p, &l), SPK_ERR_INVALID_ARGUMENT, "synapse mode");
        const float bad[] = {-0.1f, 1.5f, NAN};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            p = spk_dense_params_default(10, 4);
            p.sparse_threshold = bad[i];
            SPK_ASSERT_STATUS(ctx, spk_dense_create(ctx, &p, &l), SPK_ERR_INVALID_ARGUMENT, "sparse_threshold");
        }
        cr_assert_null(l);
        p = spk_dense_params_default(10, 4);
        SPK_ASSERT_OK(ctx, spk_dense_create(ctx, &p, &l));
        SPK_ASSERT_STATUS(ctx, spk_dense_set_synapse(l, (spk_synapse_mode)-1, 0.0f), SPK_ERR_INVALID_ARGUMENT,
                          "synapse mode");
        SPK_ASSERT_STATUS(ctx, spk_dense_set_synapse(l, SPK_SYNAPSE_AUTO, 2.0f), SPK_ERR_INVALID_ARGUMENT,
                          "sparse_threshold");
        SPK_ASSERT_STATUS(ctx, spk_dense_synapse_stats(l, NULL), SPK_ERR_NULL_POINTER, "out is NULL");
        spk_lif_params lp = spk_lif_params_default(SPK_NEURON_LIF);
        SPK_ASSERT_OK(ctx, spk_neuron_layer_create(ctx, &lp, &lif));
        SPK_ASSERT_STATUS(ctx, spk_dense_set_synapse(lif, SPK_SYNAPSE_DENSE, 0.0f), SPK_ERR_INVALID_ARGUMENT,
                          "not a dense");
        spk_dense_stats s;
        SPK_ASSERT_STATUS(ctx, spk_dense_synapse_stats(lif, &s), SPK_ERR_INVALID_ARGUMENT, "not a dense");
        cr_assert_eq(spk_dense_set_synapse(NULL, SPK_SYNAPSE_DENSE, 0.0f), SPK_ERR_NULL_POINTER);
        spk_layer_free(l), spk_layer_free(lif);
    }
}

/* ---- (5) Bit-packed spikes: pack and unpack against the reference ---- */

Test(sparse, spikes_pack_and_unpack_match_the_reference, .timeout = 600)
{
    const size_t widths[] = {1, 31, 32, 33, 64, 100};
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        for (size_t c = 0; c < sizeof widths / sizeof widths[0]; c++) {
            const size_t rows = 7, n = widths[c], words = (n + 31) / 32, row_bytes = spk_spike_row_bytes(n);
            cr_assert_eq(row_bytes, 4 * words);
            spk_test_rng r = {500 + c};
            float *s = spk_test_alloc(rows * n), *back = spk_test_alloc(rows * n);
            unsigned char *u8 = malloc(rows * n);
            uint32_t *want = calloc(rows * words, 4), *got = calloc(rows * words, 4);
            cr_assert(u8 && want && got);
            spikes(&r, s, rows, n, 0.3f);
            for (size_t i = 0; i < rows * n; i++)
                u8[i] = (unsigned char)s[i];
            spk_ref_spikes_pack(s, rows, n, want);
            spk_test_guarded fs, us, bits, fb;
            spk_test_guarded_create(ctx, SPK_F32, 2, (size_t[2]){rows, n}, &fs);
            spk_test_guarded_create(ctx, SPK_U8, 2, (size_t[2]){rows, n}, &us);
            spk_test_guarded_create_at(ctx, SPK_U8, 2, (size_t[2]){rows, row_bytes}, 256, &bits);
            spk_test_guarded_create(ctx, SPK_F32, 2, (size_t[2]){rows, n}, &fb);
            spk_test_guarded_upload(&fs, s);
            spk_test_guarded_upload(&us, u8);
            for (int from_u8 = 0; from_u8 <= 1; from_u8++) {
                SPK_ASSERT_OK(ctx, spk_spikes_pack(ctx, from_u8 ? us.t : fs.t, bits.t));
                spk_test_guarded_download(&bits, got, "bits");
                cr_assert(memcmp(got, want, rows * row_bytes) == 0, "n = %zu, from %s: packed bits differ", n,
                          from_u8 ? "u8" : "f32");
            }
            SPK_ASSERT_OK(ctx, spk_spikes_unpack(ctx, bits.t, fb.t));
            spk_test_guarded_download(&fb, back, "unpacked");
            cr_assert(memcmp(back, s, rows * n * sizeof(float)) == 0, "n = %zu: unpacked spikes differ", n);
            spk_test_guarded_free(&fs), spk_test_guarded_free(&us), spk_test_guarded_free(&bits);
            spk_test_guarded_free(&fb);
            free(s), free(back), free(u8), free(want), free(got);
        }
    }
}

Test(sparse, packed_spikes_reject_bad_tensors_with_a_message)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        spk_tensor *s = NULL, *bits = NULL, *odd = NULL, *f32 = NULL, *x = NULL, *mem = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){2, 3, 40}, &s));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_U8, 3, (size_t[3]){2, 3, 8}, &bits));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){2, 3, 8}, &f32));
        SPK_ASSERT_STATUS(ctx, spk_spikes_pack(ctx, s, f32), SPK_ERR_DTYPE, "must be u8");
        SPK_ASSERT_STATUS(ctx, spk_spikes_pack(ctx, s, NULL), SPK_ERR_NULL_POINTER, "NULL");
        spk_tensor *short_bits = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_view(bits, 0, 3, (size_t[3]){2, 3, 4}, &short_bits));
        SPK_ASSERT_STATUS(ctx, spk_spikes_pack(ctx, s, short_bits), SPK_ERR_SHAPE, "8 bytes each");
        spk_tensor *room = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_U8, 1, (size_t[1]){2 * 3 * 8 + 4}, &room));
        SPK_ASSERT_OK(ctx, spk_tensor_view(room, 1, 2, (size_t[2]){6, 8}, &odd));
        spk_tensor_free(room);
        SPK_ASSERT_STATUS(ctx, spk_spikes_unpack(ctx, odd, s), SPK_ERR_SHAPE, "4-byte word");
        SPK_ASSERT_OK(ctx, spk_spikes_pack(ctx, s, bits));
        /* the LIF op: one of spikes and spike_bits, bits of the right shape */
        spk_lif_params p = spk_lif_params_default(SPK_NEURON_LIF);
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){2, 3, 40}, &x));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){2, 3, 40}, &mem));
        spk_lif_io both = {.input = x, .spikes = s, .membrane = mem, .spike_bits = bits};
        SPK_ASSERT_STATUS(ctx, spk_lif_forward(ctx, &p, &both), SPK_ERR_INVALID_ARGUMENT, "got both");
        spk_lif_io wrong = {.input = x, .membrane = mem, .spike_bits = short_bits};
        SPK_ASSERT_STATUS(ctx, spk_lif_forward(ctx, &p, &wrong), SPK_ERR_SHAPE, "io.spike_bits");
        spk_lif_params li = spk_lif_params_default(SPK_NEURON_LI);
        spk_lif_io readout = {.input = x, .membrane = mem, .spike_bits = bits};
        SPK_ASSERT_STATUS(ctx, spk_lif_forward(ctx, &li, &readout), SPK_ERR_INVALID_ARGUMENT, "no spikes");
        /* a packed network input needs a dense first layer and u8 bits */
        spk_network *net = NULL;
        spk_layer *l = NULL;
        SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
        SPK_ASSERT_OK(ctx, spk_neuron_layer_create(ctx, &p, &l));
        SPK_ASSERT_OK(ctx, spk_network_add(net, l));
        SPK_ASSERT_OK(ctx, spk_network_set_packed_input(net, 1));
        SPK_ASSERT_STATUS(ctx, spk_network_build(net, 2, 3, 1, (size_t[1]){40}), SPK_ERR_INVALID_ARGUMENT,
                          "needs a dense first layer");
        spk_network_free(net);
        spk_dense_params dp = spk_dense_params_default(40, 5);
        SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
        SPK_ASSERT_OK(ctx, spk_dense_create(ctx, &dp, &l));
        SPK_ASSERT_OK(ctx, spk_network_add(net, l));
        SPK_ASSERT_OK(ctx, spk_network_set_packed_input(net, 1));
        SPK_ASSERT_OK(ctx, spk_network_build(net, 2, 3, 1, (size_t[1]){40}));
        SPK_ASSERT_STATUS(ctx, spk_network_forward(net, s, NULL), SPK_ERR_SHAPE, "packed input");
        SPK_ASSERT_OK(ctx, spk_network_forward(net, bits, NULL));
        spk_network_free(net);
        spk_tensor_free(short_bits), spk_tensor_free(odd), spk_tensor_free(s), spk_tensor_free(bits);
        spk_tensor_free(f32), spk_tensor_free(x), spk_tensor_free(mem);
    }
}
