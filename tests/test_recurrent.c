/* The recurrent spiking layer: its C reference against finite differences
 * (smooth spikes) and against an unrolled composition of the dense and LIF
 * references (no recurrent weights); the layer on every device against the
 * reference (spikes, membrane and every gradient, single-state and
 * current-based neurons, T = 1, 2, 13, B*N not a multiple of 64, static
 * input); invalid parameters; kernel launches per step; and a small network
 * with a recurrent layer that learns.
 *
 * Criterion runs each test in its own process and CLBlast compiles its GEMM
 * kernels in every process: the device tests loop over their cases inside
 * one test. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ref/ref.h"

/* ---- Helpers ------------------------------------------------------- */

/* db[out] = sum over rows of g[rows, out], in double. */
static void host_col_sum(const float *g, size_t rows, size_t out, float *db)
{
    for (size_t o = 0; o < out; o++) {
        double s = 0.0;
        for (size_t r = 0; r < rows; r++)
            s += g[r * out + o];
        db[o] = (float)s;
    }
}

/* ---- Neuron variants ------------------------------------------------- */

typedef struct rec_case {
    const char *name;
    spk_neuron_kind kind;
    spk_integration integration;
    spk_reset reset;
    spk_reset_timing timing;
    int detach, refractory;
    spk_surrogate surrogate;
    float tau_mem, tau_syn;
    float w_bound;   /* init bound of W_in and the bias */
    float rec_bound; /* init bound of W_rec */
} rec_case;

static const rec_case CASES[] = {
    /* snnTorch RLeaky: V = beta V + x - theta S[t-1] */
    {"lif exact subtract next-step", SPK_NEURON_LIF, SPK_INTEGRATE_EXACT, SPK_RESET_SUBTRACT, SPK_RESET_NEXT_STEP, 1,
     0, SPK_SURROGATE_FAST_SIGMOID, 5.0f, 3.0f, 0.6f, 0.5f},
    /* the seed's Flux cell with a recurrence; the reset's gradient attached */
    {"cuba-lif euler zero immediate attached", SPK_NEURON_CUBA_LIF, SPK_INTEGRATE_EULER, SPK_RESET_ZERO,
     SPK_RESET_IMMEDIATE, 0, 0, SPK_SURROGATE_ARCTAN, 2.0f, 2.0f, 1.5f, 1.0f},
    /* snnTorch RSynaptic-like, with a refractory period */
    {"cuba-lif exact to-value refractory 2", SPK_NEURON_CUBA_LIF, SPK_INTEGRATE_EXACT, SPK_RESET_TO_VALUE,
     SPK_RESET_NEXT_STEP, 1, 2, SPK_SURROGATE_SIGMOID, 5.0f, 3.0f, 0.5f, 0.4f},
};
#define NCASES (sizeof CASES / sizeof CASES[0])

static spk_lif_params lif_of(const rec_case *c)
{
    spk_lif_params p = spk_lif_params_default(c->kind);
    p.integration = c->integration;
    p.tau_mem = c->tau_mem;
    p.tau_syn = c->tau_syn;
    p.threshold = 0.5f;
    p.v_reset = -0.1f;
    p.reset = c->reset;
    p.reset_timing = c->timing;
    p.detach_reset = c->detach;
    p.refractory_steps = c->refractory;
    p.surrogate = c->surrogate;
    p.surrogate_scale = spk_surrogate_default_scale(c->surrogate);
    return p;
}

/* ---- (1) The reference against finite differences -------------------- */

enum { FD_T = 6, FD_B = 2, FD_IN = 3, FD_N = 4 };

typedef struct fd_problem {
    spk_lif_params lif;
    float W_in[FD_N * FD_IN], b[FD_N], W_rec[FD_N * FD_N];
    float u[FD_T * FD_B * FD_IN], g[FD_T * FD_B * FD_N];
} fd_problem;

static spk_ref_recurrent fd_layer(const fd_problem *pb)
{
    return (spk_ref_recurrent){&pb->lif, {1}, FD_T, FD_B, FD_IN, FD_N, pb->W_in, pb->b, pb->W_rec};
}

/* L = sum g * S (double) with smooth spikes S = sigmoid(k (V - theta)). */
static double fd_loss(const fd_problem *pb)
{
    float s[FD_T * FD_B * FD_N];
    spk_ref_recurrent r = fd_layer(pb);
    cr_assert(spk_ref_recurrent_forward(&r, pb->u, s, NULL, NULL, NULL) == SPK_OK);
    double L = 0.0;
    for (size_t i = 0; i < FD_T * FD_B * FD_N; i++)
        L += (double)pb->g[i] * s[i];
    return L;
}

static void fd_check(const char *name, fd_problem *pb, float *v, size_t n, const float *grad)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float keep = v[i], eps = 1e-3f * fmaxf(1.0f, fabsf(keep));
        v[i] = keep + eps;
        double lp = fd_loss(pb);
        v[i] = keep - eps;
        double lm = fd_loss(pb);
        v[i] = keep;
        double fd = (lp - lm) / (2.0 * eps);
        worst = fmax(worst, fabs(fd - grad[i]));
        cr_assert(fabs(fd - grad[i]) <= 2e-3 + 1e-2 * fabs(fd), "%s[%zu]: backward %.6g, finite difference %.6g",
                  name, i, (double)grad[i], fd);
    }
    cr_assert(spk_test_max_abs(grad, n) > 1e-2f, "%s: the gradient is (nearly) zero", name);
    cr_log_info("%s: %zu entries, largest |backward - finite difference| %.2e", name, n, worst);
}

/* With S = sigmoid(k u) in the forward and the sigmoid surrogate of the same
 * k, the layer is differentiable and its BPTT must be the exact gradient:
 * every reset attached, no refractory period (whose on/off is not smooth). */
Test(recurrent_reference, backward_matches_finite_differences_with_smooth_spikes)
{
    for (size_t c = 0; c < NCASES; c++) {
        fd_problem *pb = calloc(1, sizeof *pb);
        cr_assert(pb);
        pb->lif = lif_of(&CASES[c]);
        pb->lif.detach_reset = 0;
        pb->lif.refractory_steps = 0;
        pb->lif.surrogate = SPK_SURROGATE_SIGMOID;
        pb->lif.surrogate_scale = 3.0f;
        spk_test_rng r = {1000 + c};
        spk_test_fill_uniform(&r, pb->W_in, FD_N * FD_IN, -CASES[c].w_bound, CASES[c].w_bound);
        spk_test_fill_uniform(&r, pb->b, FD_N, -0.2f, 0.2f);
        spk_test_fill_uniform(&r, pb->W_rec, FD_N * FD_N, -1.0f, 1.0f);
        spk_test_fill_uniform(&r, pb->u, FD_T * FD_B * FD_IN, 0.0f, 1.5f);
        spk_test_fill_normal(&r, pb->g, FD_T * FD_B * FD_N, 0.0f, 1.0f);
        float du[FD_T * FD_B * FD_IN], dW[FD_N * FD_IN], db[FD_N], dR[FD_N * FD_N];
        spk_ref_recurrent layer = fd_layer(pb);
        cr_assert(spk_ref_recurrent_backward(&layer, pb->u, pb->g, du, dW, db, dR) == SPK_OK);
        char what[128];
        snprintf(what, sizeof what, "%s: d weight", CASES[c].name);
        fd_check(what, pb, pb->W_in, FD_N * FD_IN, dW);
        snprintf(what, sizeof what, "%s: d bias", CASES[c].name);
        fd_check(what, pb, pb->b, FD_N, db);
        snprintf(what, sizeof what, "%s: d recurrent_weight", CASES[c].name);
        fd_check(what, pb, pb->W_rec, FD_N * FD_N, dR);
        snprintf(what, sizeof what, "%s: d input", CASES[c].name);
        fd_check(what, pb, pb->u, FD_T * FD_B * FD_IN, du);
        free(pb);
    }
}

/* Without recurrent weights the layer is a dense layer followed by a LIF
 * layer over the whole sequence: the step-by-step reference (state chained
 * through T calls of one step) must equal one call of the LIF reference
 * over T steps, forward and backward, for hard spikes. */
Test(recurrent_reference, without_recurrent_weights_equals_dense_then_lif)
{
    const size_t T = 11, B = 3, IN = 5, N = 7, TB = T * B, n = TB * N;
    for (size_t c = 0; c < NCASES; c++) {
        spk_lif_params lif = lif_of(&CASES[c]);
        float *W = spk_test_alloc(N * IN), *b = spk_test_alloc(N), *R = spk_test_alloc(N * N);
        float *u = spk_test_alloc(TB * IN), *g = spk_test_alloc(n), *x = spk_test_alloc(n);
        float *s1 = spk_test_alloc(n), *v1 = spk_test_alloc(n), *i1 = spk_test_alloc(n);
        float *s2 = spk_test_alloc(n), *v2 = spk_test_alloc(n), *i2 = spk_test_alloc(n);
        float *du1 = spk_test_alloc(TB * IN), *dW1 = spk_test_alloc(N * IN), *db1 = spk_test_alloc(N);
        float *dR1 = spk_test_alloc(N * N), *du2 = spk_test_alloc(TB * IN), *dW2 = spk_test_alloc(N * IN);
        float *db2 = spk_test_alloc(N), *dR2 = spk_test_alloc(N * N), *dx = spk_test_alloc(n);
        spk_test_rng r = {70 + c};
        spk_test_fill_uniform(&r, W, N * IN, -CASES[c].w_bound, CASES[c].w_bound);
        spk_test_fill_uniform(&r, b, N, -0.2f, 0.2f);
        spk_test_fill_uniform(&r, u, TB * IN, 0.0f, 1.0f);
        spk_test_fill_normal(&r, g, n, 0.0f, 1.0f);

        spk_ref_recurrent layer = {&lif, {0}, T, B, IN, N, W, b, R}; /* R all zero */
        cr_assert(spk_ref_recurrent_forward(&layer, u, s1, v1, i1, NULL) == SPK_OK);
        cr_assert(spk_ref_recurrent_backward(&layer, u, g, du1, dW1, db1, dR1) == SPK_OK);

        spk_test_host_dense(u, TB, IN, W, b, N, x);
        spk_ref_lif_io io = {.x = x, .spikes = s2, .membrane = v2, .current = i2};
        cr_assert(spk_ref_lif_forward(&lif, (spk_ref_lif_mode){0}, T, B, N, &io) == SPK_OK);
        spk_ref_lif_io bio = {.x = x};
        spk_ref_lif_grads bg = {.grad_spikes = g, .grad_input = dx};
        cr_assert(spk_ref_lif_backward(&lif, (spk_ref_lif_mode){0}, T, B, N, &bio, &bg) == SPK_OK);
        spk_ref_gemm(1, 0, N, IN, TB, 1.0f, dx, u, 0.0f, dW2);
        host_col_sum(dx, TB, N, db2);
        spk_ref_gemm(0, 0, TB, IN, N, 1.0f, dx, W, 0.0f, du2);
        spk_ref_gemm(1, 0, N, N, (T - 1) * B, 1.0f, dx + B * N, s2, 0.0f, dR2);

        size_t spikes = 0;
        for (size_t i = 0; i < n; i++)
            spikes += s2[i] > 0.0f;
        cr_assert(spikes > n / 20 && spikes < n * 19 / 20, "%s: %zu of %zu spikes", CASES[c].name, spikes, n);
        cr_assert(memcmp(s1, s2, n * sizeof(float)) == 0, "%s: spikes differ", CASES[c].name);
        cr_assert(memcmp(v1, v2, n * sizeof(float)) == 0, "%s: membranes differ", CASES[c].name);
        if (lif.kind == SPK_NEURON_CUBA_LIF)
            cr_assert(memcmp(i1, i2, n * sizeof(float)) == 0, "%s: currents differ", CASES[c].name);
        char what[128];
        const float *pairs[4][2] = {{dW1, dW2}, {db1, db2}, {dR1, dR2}, {du1, du2}};
        const size_t sizes[4] = {N * IN, N, N * N, TB * IN};
        const char *names[4] = {"d weight", "d bias", "d recurrent_weight", "d input"};
        for (int k = 0; k < 4; k++) {
            snprintf(what, sizeof what, "%s: %s", CASES[c].name, names[k]);
            spk_test_compare_scaled(what, pairs[k][0], pairs[k][1], sizes[k], 1e-5f);
        }
        cr_assert(spk_test_max_abs(dR1, N * N) > 1e-3f, "%s: no gradient for the recurrent weights", CASES[c].name);
        float *all[] = {W, b, R, u, g, x, s1, v1, i1, s2, v2, i2, du1, dW1, db1, dR1, du2, dW2, db2, dR2, dx};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            free(all[i]);
    }
}

/* ---- (2) The layer on every device against the reference ------------ */

/* B*N = 65: not a multiple of 64 (nor of any work-group size). */
enum { DV_B = 5, DV_IN0 = 7, DV_IN = 11, DV_N = 13 };

static spk_layer *recurrent_layer(spk_context *ctx, const rec_case *c, int bias, uint64_t seed)
{
    spk_recurrent_params p = spk_recurrent_params_default(DV_IN, DV_N);
    p.bias = bias;
    p.init_bound = c->w_bound;
    p.rec_init_bound = c->rec_bound;
    p.seed = seed;
    p.lif = lif_of(c);
    spk_layer *l = NULL;
    SPK_ASSERT_OK(ctx, spk_recurrent_create(ctx, &p, &l));
    return l;
}

/* The smallest |V - threshold| over the membranes. */
static float margin(const float *V, size_t n, float threshold)
{
    float m = INFINITY;
    for (size_t i = 0; i < n; i++)
        m = fminf(m, fabsf(V[i] - threshold));
    return m;
}

/* One configuration: `front` puts a dense layer (7 -> 11 features) before
 * the recurrent layer, so that the network computes the recurrent layer's
 * input gradient (it reaches the dense layer's weight gradient, dW0 =
 * du^T u0, and bias gradient); otherwise the recurrent layer comes first,
 * with a static input when `static_in`. */
static void check_layer(spk_context *ctx, const rec_case *c, size_t T, int bias, int front, int static_in)
{
    const size_t B = DV_B, IN = DV_IN, N = DV_N, TB = T * B, n = TB * N;
    const size_t in0 = front ? DV_IN0 : IN, rows0 = static_in ? B : TB;
    const size_t ri = front ? 1 : 0; /* the recurrent layer's index */
    spk_lif_params lif = lif_of(c);
    char what[256], pre[160];
    snprintf(pre, sizeof pre, "%s, T %zu, bias %d, %s", c->name, T, bias,
             front ? "after a dense layer" : static_in ? "static input" : "first layer");

    spk_network *net;
    SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
    if (front) {
        spk_dense_params dp = spk_dense_params_default(DV_IN0, DV_IN);
        dp.init_bound = 0.6f;
        dp.seed = 5;
        spk_layer *d;
        SPK_ASSERT_OK(ctx, spk_dense_create(ctx, &dp, &d));
        SPK_ASSERT_OK(ctx, spk_network_add(net, d));
    }
    SPK_ASSERT_OK(ctx, spk_network_add(net, recurrent_layer(ctx, c, bias, 17 + T)));
    SPK_ASSERT_OK(ctx, spk_network_set_static_input(net, static_in));
    SPK_ASSERT_OK(ctx, spk_network_build(net, T, B, 1, &in0));
    const size_t np = (front ? 2 : 0) + (bias ? 3 : 2);
    cr_assert_eq(spk_network_param_count(net), np);

    float *W0 = spk_test_alloc(IN * DV_IN0), *b0 = spk_test_alloc(IN);
    float *W = spk_test_alloc(N * IN), *b = spk_test_alloc(N), *R = spk_test_alloc(N * N);
    char nw[32], nb[32], nr[32];
    snprintf(nw, sizeof nw, "%zu.weight", ri);
    snprintf(nb, sizeof nb, "%zu.bias", ri);
    snprintf(nr, sizeof nr, "%zu.recurrent_weight", ri);
    size_t pw = front ? 2 : 0, pb = pw + 1, pr = pw + (bias ? 2 : 1);
    if (front) {
        spk_test_get_param(net, 0, W0, NULL, "0.weight", IN * DV_IN0);
        spk_test_get_param(net, 1, b0, NULL, "0.bias", IN);
    }
    spk_test_get_param(net, pw, W, NULL, nw, N * IN);
    if (bias)
        spk_test_get_param(net, pb, b, NULL, nb, N);
    spk_test_get_param(net, pr, R, NULL, nr, N * N);

    /* The device's GEMMs (float) and the reference's (double) round
     * differently, so a membrane within ~1e-5 of the threshold may spike on
     * one side only, and that legitimately changes everything after it
     * (through the recurrence, in every neuron). Pick input data whose
     * reference trajectory keeps every membrane at least 1e-3 away from the
     * threshold, with both spikes and silence: the other spikes then agree
     * exactly. */
    float *u0 = spk_test_alloc(rows0 * in0), *u = spk_test_alloc(TB * IN);
    float *S = spk_test_alloc(n), *V = spk_test_alloc(n);
    spk_ref_recurrent layer = {&lif, {0}, T, B, IN, N, W, bias ? b : NULL, R};
    int found = 0;
    uint64_t seed;
    size_t spikes = 0;
    for (seed = 1; seed <= 60 && !found; seed++) {
        spk_test_rng r = {seed * 7919 + T};
        spk_test_fill_uniform(&r, u0, rows0 * in0, 0.0f, 1.0f);
        if (front) {
            spk_test_host_dense(u0, TB, DV_IN0, W0, b0, IN, u);
        } else {
            for (size_t t = 0; t < T; t++) /* a static input is the same at every step */
                memcpy(u + t * B * IN, u0 + (static_in ? 0 : t * B * IN), B * IN * sizeof(float));
        }
        cr_assert(spk_ref_recurrent_forward(&layer, u, S, V, NULL, NULL) == SPK_OK);
        spikes = 0;
        for (size_t i = 0; i < n; i++)
            spikes += S[i] > 0.0f;
        found = margin(V, n, lif.threshold) >= 1e-3f && spikes >= n / 20 && spikes <= n * 19 / 20;
    }
    cr_assert(found, "%s: no input data among 60 seeds keeps clear of the threshold", pre);
    cr_log_info("%s: data seed %llu, %zu of %zu neuron-steps spike, margin %.2g", pre, (unsigned long long)seed - 1,
                spikes, n, (double)margin(V, n, lif.threshold));

    spk_tensor *x, *gy;
    if (static_in)
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){B, in0}, &x));
    else
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, in0}, &x));
    SPK_ASSERT_OK(ctx, spk_tensor_upload(x, u0, rows0 * in0 * sizeof(float)));
    SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, N}, &gy));
    float *g = spk_test_alloc(n), *got = spk_test_alloc(n);
    spk_test_rng r = {seed + 100};
    spk_test_fill_normal(&r, g, n, 0.0f, 1.0f);
    SPK_ASSERT_OK(ctx, spk_tensor_upload(gy, g, n * sizeof(float)));

    float *du = spk_test_alloc(TB * IN), *dW = spk_test_alloc(N * IN), *db = spk_test_alloc(N);
    float *dR = spk_test_alloc(N * N), *dW0 = spk_test_alloc(IN * DV_IN0), *db0 = spk_test_alloc(IN);
    cr_assert(spk_ref_recurrent_backward(&layer, u, g, du, dW, db, dR) == SPK_OK);
    if (front) {
        spk_ref_gemm(1, 0, IN, DV_IN0, TB, 1.0f, du, u0, 0.0f, dW0);
        host_col_sum(du, TB, IN, db0);
    }
    float *gW = spk_test_alloc(N * IN), *gb = spk_test_alloc(N), *gR = spk_test_alloc(N * N);
    float *gW0 = spk_test_alloc(IN * DV_IN0), *gb0 = spk_test_alloc(IN);

    for (int round = 0; round < 2; round++) { /* a second forward/backward reuses every buffer */
        const spk_tensor *y;
        SPK_ASSERT_OK(ctx, spk_network_forward(net, x, &y));
        cr_assert(y == spk_network_layer_output(net, ri));
        cr_assert(spk_tensor_ndim(y) == 3 && spk_tensor_dim(y, 0) == T && spk_tensor_dim(y, 1) == B &&
                  spk_tensor_dim(y, 2) == N);
        SPK_ASSERT_OK(ctx, spk_tensor_download(y, got, n * sizeof(float)));
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(got[i], S[i], "%s: spike %zu (t %zu) is %g, reference %g (membrane %g)", pre, i, i / (B * N),
                         (double)got[i], (double)S[i], (double)V[i]);
        const spk_tensor *mem = spk_network_layer_membrane(net, ri);
        cr_assert(mem != NULL && spk_tensor_numel(mem) == n, "%s: no membrane", pre);
        SPK_ASSERT_OK(ctx, spk_tensor_download(mem, got, n * sizeof(float)));
        snprintf(what, sizeof what, "%s: membrane", pre);
        spk_test_compare_scaled(what, got, V, n, 1e-5f);

        SPK_ASSERT_OK(ctx, spk_network_backward(net, gy));
        spk_test_get_param(net, pw, NULL, gW, nw, N * IN);
        spk_test_get_param(net, pr, NULL, gR, nr, N * N);
        snprintf(what, sizeof what, "%s: d weight", pre);
        spk_test_compare_scaled(what, gW, dW, N * IN, 1e-4f);
        snprintf(what, sizeof what, "%s: d recurrent_weight", pre);
        spk_test_compare_scaled(what, gR, dR, N * N, 1e-4f);
        if (bias) {
            spk_test_get_param(net, pb, NULL, gb, nb, N);
            snprintf(what, sizeof what, "%s: d bias", pre);
            spk_test_compare_scaled(what, gb, db, N, 1e-4f);
        }
        if (front) { /* the input gradient, through the dense layer's */
            spk_test_get_param(net, 0, NULL, gW0, "0.weight", IN * DV_IN0);
            spk_test_get_param(net, 1, NULL, gb0, "0.bias", IN);
            snprintf(what, sizeof what, "%s: d 0.weight (d input)", pre);
            spk_test_compare_scaled(what, gW0, dW0, IN * DV_IN0, 1e-4f);
            snprintf(what, sizeof what, "%s: d 0.bias (d input)", pre);
            spk_test_compare_scaled(what, gb0, db0, IN, 1e-4f);
            cr_assert(spk_test_max_abs(dW0, IN * DV_IN0) > 1e-3f, "%s: no gradient reaches the input", pre);
        }
        cr_assert(spk_test_max_abs(dW, N * IN) > 1e-3f, "%s: the surrogate passed no gradient", pre);
        if (T > 1)
            cr_assert(spk_test_max_abs(dR, N * N) > 1e-3f, "%s: no gradient for the recurrent weights", pre);
        else
            cr_assert(spk_test_max_abs(gR, N * N) == 0.0f, "%s: T = 1 must give no recurrent weight gradient", pre);
    }

    float *all[] = {W0, b0, W, b, R, u0, u, S, V, g, got, du, dW, db, dR, dW0, db0, gW, gb, gR, gW0, gb0};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
    spk_tensor_free(x), spk_tensor_free(gy);
    spk_network_free(net);
}

Test(recurrent, layer_matches_reference, .timeout = 600)
{
    const size_t Ts[] = {1, 2, 13};
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        for (size_t c = 0; c < NCASES; c++)
            for (size_t k = 0; k < 3; k++)
                check_layer(ctx, &CASES[c], Ts[k], (int)((c + k + 1) % 2), 1, 0);
        /* the recurrent layer first: with and without a static input */
        check_layer(ctx, &CASES[0], 13, 1, 0, 1);
        check_layer(ctx, &CASES[1], 2, 0, 0, 1);
        check_layer(ctx, &CASES[2], 13, 1, 0, 0);
    }
}

/* ---- (3) Parameters, names, shapes, errors -------------------------- */

Test(recurrent, parameters_and_invalid_arguments)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        char buf[256];
        spk_layer *l = NULL;
        spk_recurrent_params p = spk_recurrent_params_default(12, 16);
        cr_assert_eq(p.in_features, 12u);
        cr_assert_eq(p.neurons, 16u);
        cr_assert_eq(p.bias, 1);
        cr_assert(p.init_bound == 0.0f && p.rec_init_bound == 0.0f);
        cr_assert_eq(p.lif.kind, SPK_NEURON_LIF);
        SPK_ASSERT_OK(ctx, spk_recurrent_create(ctx, &p, &l));
        cr_assert_str_eq(spk_layer_describe(l, buf, sizeof buf),
                         "recurrent 12 -> 16 (lif, exact, tau_mem 20, threshold 1, reset subtract, surrogate "
                         "fast_sigmoid, bias)");
        spk_layer_free(l);
        p.bias = 0;
        p.lif = spk_lif_params_default(SPK_NEURON_CUBA_LIF);
        p.lif.integration = SPK_INTEGRATE_EULER;
        p.lif.reset = SPK_RESET_ZERO;
        SPK_ASSERT_OK(ctx, spk_recurrent_create(ctx, &p, &l));
        cr_assert_str_eq(spk_layer_describe(l, buf, sizeof buf),
                         "recurrent 12 -> 16 (cuba-lif, euler, tau_mem 20, tau_syn 10, threshold 1, reset zero, "
                         "surrogate fast_sigmoid)");
        spk_layer_free(l);

        /* In a network: names, shapes, PyTorch's initial bounds. */
        spk_network *net;
        SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
        p = spk_recurrent_params_default(12, 16);
        p.seed = 3;
        SPK_ASSERT_OK(ctx, spk_recurrent_create(ctx, &p, &l));
        SPK_ASSERT_OK(ctx, spk_network_add(net, l));
        SPK_ASSERT_OK(ctx, spk_network_build(net, 4, 3, 2, (size_t[2]){3, 4}));
        cr_assert_eq(spk_network_param_count(net), 3u);
        const char *names[3] = {"0.weight", "0.bias", "0.recurrent_weight"};
        const size_t rows[3] = {16, 16, 16}, cols[3] = {12, 0, 16};
        const float bounds[3] = {1.0f / sqrtf(12.0f), 1.0f / sqrtf(12.0f), 0.25f};
        for (size_t i = 0; i < 3; i++) {
            spk_param pr;
            SPK_ASSERT_OK(ctx, spk_network_param(net, i, &pr));
            cr_assert_str_eq(pr.name, names[i]);
            cr_assert_eq(spk_tensor_ndim(pr.value), cols[i] ? 2 : 1);
            cr_assert_eq(spk_tensor_dim(pr.value, 0), rows[i]);
            if (cols[i])
                cr_assert_eq(spk_tensor_dim(pr.value, 1), cols[i]);
            size_t n = spk_tensor_numel(pr.value);
            float *v = spk_test_alloc(n);
            SPK_ASSERT_OK(ctx, spk_tensor_download(pr.value, v, n * sizeof(float)));
            cr_assert(spk_test_max_abs(v, n) <= bounds[i] && spk_test_max_abs(v, n) > 0.5f * bounds[i], "%s: initial bound %g", names[i],
                      (double)spk_test_max_abs(v, n));
            free(v);
        }
        cr_assert(spk_network_layer_membrane(net, 0) != NULL);
        /* Wrong input size: the build names the layer. */
        SPK_ASSERT_STATUS(ctx, spk_network_build(net, 4, 3, 1, (size_t[1]){13}), SPK_ERR_SHAPE,
                          "expects 12 input features");
        SPK_ASSERT_STATUS(ctx, spk_network_build(net, 4, 3, 1, (size_t[1]){13}), SPK_ERR_SHAPE, "recurrent 12 -> 16");
        spk_network_free(net);

        /* Invalid parameters. */
        SPK_ASSERT_STATUS(ctx, spk_recurrent_create(ctx, NULL, &l), SPK_ERR_NULL_POINTER, "NULL");
        p = spk_recurrent_params_default(12, 16);
        SPK_ASSERT_STATUS(ctx, spk_recurrent_create(ctx, &p, NULL), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(NULL, spk_recurrent_create(NULL, &p, &l), SPK_ERR_NULL_POINTER, "NULL");
        p = spk_recurrent_params_default(0, 16);
        SPK_ASSERT_STATUS(ctx, spk_recurrent_create(ctx, &p, &l), SPK_ERR_INVALID_ARGUMENT, "in_features");
        p = spk_recurrent_params_default(12, 0);
        SPK_ASSERT_STATUS(ctx, spk_recurrent_create(ctx, &p, &l), SPK_ERR_INVALID_ARGUMENT, "neurons");
        p = spk_recurrent_params_default(12, 16);
        p.init_bound = -1.0f;
        SPK_ASSERT_STATUS(ctx, spk_recurrent_create(ctx, &p, &l), SPK_ERR_INVALID_ARGUMENT, "init_bound");
        p.init_bound = NAN;
        SPK_ASSERT_STATUS(ctx, spk_recurrent_create(ctx, &p, &l), SPK_ERR_INVALID_ARGUMENT, "init_bound");
        p = spk_recurrent_params_default(12, 16);
        p.rec_init_bound = INFINITY;
        SPK_ASSERT_STATUS(ctx, spk_recurrent_create(ctx, &p, &l), SPK_ERR_INVALID_ARGUMENT, "rec_init_bound");
        p.rec_init_bound = -0.5f;
        SPK_ASSERT_STATUS(ctx, spk_recurrent_create(ctx, &p, &l), SPK_ERR_INVALID_ARGUMENT, "rec_init_bound");
        p = spk_recurrent_params_default(12, 16);
        p.lif.tau_mem = -1.0f;
        SPK_ASSERT_STATUS(ctx, spk_recurrent_create(ctx, &p, &l), SPK_ERR_INVALID_ARGUMENT, "tau_mem");
        p = spk_recurrent_params_default(12, 16);
        p.lif.kind = (spk_neuron_kind)9;
        SPK_ASSERT_STATUS(ctx, spk_recurrent_create(ctx, &p, &l), SPK_ERR_INVALID_ARGUMENT, "kind");
        /* Readouts do not spike: nothing to feed back. */
        p.lif = spk_lif_params_default(SPK_NEURON_LI);
        SPK_ASSERT_STATUS(ctx, spk_recurrent_create(ctx, &p, &l), SPK_ERR_INVALID_ARGUMENT, "does not spike");
        p.lif = spk_lif_params_default(SPK_NEURON_CUBA_LI);
        SPK_ASSERT_STATUS(ctx, spk_recurrent_create(ctx, &p, &l), SPK_ERR_INVALID_ARGUMENT, "does not spike");
        cr_assert(l == NULL, "a failed create left a layer");
    }
}

/* ---- (4) Launches ----------------------------------------------------- */

/* Kernel launches and GEMMs of one forward and backward of dense ->
 * recurrent: the recurrence steps in time, so they grow by exactly two per
 * step (forward: one GEMM and one LIF kernel; backward: one LIF kernel and
 * one GEMM). */
static spk_launch_stats launches(spk_context *ctx, size_t T)
{
    const size_t B = 3, in = 4;
    spk_network *net;
    SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
    spk_dense_params dp = spk_dense_params_default(in, 5);
    dp.synapse = SPK_SYNAPSE_DENSE; /* the GEMM path's launches: no spike-density measurement */
    spk_layer *l;
    SPK_ASSERT_OK(ctx, spk_dense_create(ctx, &dp, &l));
    SPK_ASSERT_OK(ctx, spk_network_add(net, l));
    spk_recurrent_params rp = spk_recurrent_params_default(5, 6);
    rp.lif.kind = SPK_NEURON_CUBA_LIF;
    SPK_ASSERT_OK(ctx, spk_recurrent_create(ctx, &rp, &l));
    SPK_ASSERT_OK(ctx, spk_network_add(net, l));
    SPK_ASSERT_OK(ctx, spk_network_build(net, T, B, 1, &in));
    spk_tensor *x, *g;
    SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, in}, &x));
    SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, 6}, &g));
    SPK_ASSERT_OK(ctx, spk_tensor_fill_f32(x, 0.5f));
    SPK_ASSERT_OK(ctx, spk_tensor_fill_f32(g, 1.0f));
    spk_launch_stats before, after;
    SPK_ASSERT_OK(ctx, spk_context_launch_stats(ctx, &before));
    SPK_ASSERT_OK(ctx, spk_network_forward(net, x, NULL));
    SPK_ASSERT_OK(ctx, spk_network_backward(net, g));
    SPK_ASSERT_OK(ctx, spk_context_launch_stats(ctx, &after));
    spk_tensor_free(x), spk_tensor_free(g);
    spk_network_free(net);
    return (spk_launch_stats){after.kernel_launches - before.kernel_launches, after.gemm_calls - before.gemm_calls};
}

Test(recurrent, launches_grow_by_two_per_step)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        spk_launch_stats a = launches(ctx, 4), b = launches(ctx, 10);
        cr_assert_eq(b.kernel_launches - a.kernel_launches, 2u * 6, "kernel launches: %llu at T=4, %llu at T=10",
                     (unsigned long long)a.kernel_launches, (unsigned long long)b.kernel_launches);
        cr_assert_eq(b.gemm_calls - a.gemm_calls, 2u * 6, "GEMMs: %llu at T=4, %llu at T=10",
                     (unsigned long long)a.gemm_calls, (unsigned long long)b.gemm_calls);
        /* dense: 2 forward + 2 backward (first layer: no input gradient),
         * 1 + 1 on the host backend, where the bias and its gradient ride on
         * the product's call; recurrent: 2 + (T-1) forward, (T-1) + 4 backward */
        const unsigned dense = spk_context_gemm_backend(ctx) == SPK_GEMM_HOST ? 2u : 4u;
        cr_assert_eq(a.gemm_calls, dense + 2 + 3 + 3 + 4, "GEMMs at T=4: %llu", (unsigned long long)a.gemm_calls);
        cr_assert_eq(a.kernel_launches, 2u * 4, "kernel launches at T=4: %llu", (unsigned long long)a.kernel_launches);
        cr_log_info("forward + backward at T=4: %llu kernel launches, %llu GEMMs",
                    (unsigned long long)a.kernel_launches, (unsigned long long)a.gemm_calls);
    }
}

/* ---- (5) Learning ------------------------------------------------------ */

enum { LRN_T = 20, LRN_B = 32, LRN_F = 8, LRN_HID = 16, LRN_STEPS = 60 };

/* Which half of the inputs bursts during the first 4 steps (then only
 * noise): dense -> recurrent -> dense -> LI readout, cross-entropy on the
 * readout's mean membrane. */
Test(recurrent, network_with_a_recurrent_layer_learns, .timeout = 600)
{
    float *x = spk_test_alloc(LRN_T * LRN_B * LRN_F);
    uint8_t labels[LRN_B];
    spk_test_rng r = {77};
    for (size_t b = 0; b < LRN_B; b++)
        labels[b] = (uint8_t)(b % 2);
    for (size_t t = 0; t < LRN_T; t++)
        for (size_t b = 0; b < LRN_B; b++)
            for (size_t f = 0; f < LRN_F; f++) {
                int on = t < 4 && (f < LRN_F / 2) == (labels[b] == 0);
                x[(t * LRN_B + b) * LRN_F + f] = spk_test_uniform(&r, 0.0f, 1.0f) < (on ? 0.6f : 0.05f);
            }
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        spk_network *net;
        SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
        spk_dense_params dp = spk_dense_params_default(LRN_F, LRN_HID);
        dp.seed = 1;
        spk_layer *l;
        SPK_ASSERT_OK(ctx, spk_dense_create(ctx, &dp, &l));
        SPK_ASSERT_OK(ctx, spk_network_add(net, l));
        spk_recurrent_params rp = spk_recurrent_params_default(LRN_HID, LRN_HID);
        rp.seed = 2;
        rp.init_bound = 0.5f;
        rp.lif.tau_mem = 5.0f;
        rp.lif.threshold = 0.5f;
        SPK_ASSERT_OK(ctx, spk_recurrent_create(ctx, &rp, &l));
        SPK_ASSERT_OK(ctx, spk_network_add(net, l));
        dp = spk_dense_params_default(LRN_HID, 2);
        dp.seed = 3;
        SPK_ASSERT_OK(ctx, spk_dense_create(ctx, &dp, &l));
        SPK_ASSERT_OK(ctx, spk_network_add(net, l));
        spk_lif_params li = spk_lif_params_default(SPK_NEURON_LI);
        li.tau_mem = 10.0f;
        SPK_ASSERT_OK(ctx, spk_neuron_layer_create(ctx, &li, &l));
        SPK_ASSERT_OK(ctx, spk_network_add(net, l));
        SPK_ASSERT_OK(ctx, spk_network_build(net, LRN_T, LRN_B, 1, (size_t[1]){LRN_F}));

        spk_tensor *xin, *grad;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){LRN_T, LRN_B, LRN_F}, &xin));
        SPK_ASSERT_OK(ctx, spk_tensor_upload(xin, x, LRN_T * LRN_B * LRN_F * sizeof(float)));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){LRN_T, LRN_B, 2}, &grad));
        spk_optimizer_params op = spk_optimizer_params_default(SPK_OPTIM_ADAM);
        op.lr = 0.02f;
        spk_optimizer *opt;
        SPK_ASSERT_OK(ctx, spk_optimizer_create(ctx, &op, &opt));
        spk_loss_params lp = spk_loss_params_default(SPK_LOSS_CE_MEAN_MEMBRANE);
        float first = NAN, last = NAN;
        size_t first_correct = 0, correct = 0;
        for (int step = 0; step <= LRN_STEPS; step++) {
            const spk_tensor *y;
            SPK_ASSERT_OK(ctx, spk_network_forward(net, xin, &y));
            SPK_ASSERT_OK(ctx, spk_loss(ctx, &lp, y, labels, grad, &last, &correct));
            if (step == 0)
                first = last, first_correct = correct;
            if (step == LRN_STEPS)
                break;
            SPK_ASSERT_OK(ctx, spk_network_backward(net, grad));
            SPK_ASSERT_OK(ctx, spk_network_step(net, opt));
        }
        cr_log_info("recurrent network: loss %.4g -> %.4g, %zu -> %zu of %d correct", (double)first, (double)last,
                    first_correct, correct, LRN_B);
        cr_assert(last < 0.5f * first, "loss %g -> %g: not learning", (double)first, (double)last);
        cr_assert(correct * 10 >= LRN_B * 9, "only %zu of %d right after %d steps", correct, LRN_B, LRN_STEPS);
        spk_optimizer_free(opt);
        spk_tensor_free(xin), spk_tensor_free(grad);
        spk_network_free(net);
    }
    free(x);
}
