/* Unsupervised learning with STDP in the style of Diehl & Cook 2015
 * ("Unsupervised learning of digit recognition using spike-timing-dependent
 * plasticity", Front. Comput. Neurosci. 9:99), on Fashion-MNIST.
 *
 *   Poisson input (784 pixels, rate = pixel / 255 * 63.75 Hz, dt = 1 ms)
 *   -> dense 784 -> N, additive STDP (the library's rule; post spike:
 *      +a_plus x_pre, pre spike: -a_minus y_post), weights clipped to
 *      [0, 1] by the network step and normalised to a row sum of 78 after
 *      every batch, as in the paper
 *   -> the excitatory layer below: LIF neurons (tau 100 ms, reset to 0,
 *      5 ms refractory) with adaptive thresholds theta0 + theta_i and
 *      lateral inhibition (every spike inhibits every other neuron at the
 *      next step, the paper's excitatory -> inhibitory -> excitatory loop
 *      collapsed into one weight -w_inh)
 *
 * The excitatory layer is a custom layer (custom_layer.h) stepping in time:
 * per step one GEMM for the inhibition and one LIF step (neuron.h) with
 * per-neuron coefficients whose threshold row holds theta0 + theta_i.
 * Departures from the paper, for two CPU cores: current-based instead of
 * conductance-based synapses; B presentations run in parallel and their
 * summed weight change is applied once per batch (lr 1: the sum is what B
 * sequential presentations would add with fixed weights); each
 * presentation is T steps with no rest period (the traces and the neurons
 * are reset between batches instead); theta_i grows by theta_plus per spike,
 * counted over the batch and applied after it (the paper's theta decays
 * with tau = 10^7 ms, which is negligible here and left out).
 *
 * After training, learning stops (an image with fewer than 5 spikes is
 * shown again with its rate raised by 32 Hz, at most 3 times, as in the
 * paper), every neuron is assigned the class for
 * which its mean response over the "assign" images is highest, and a test
 * image is classified as the class whose assigned neurons have the highest
 * mean spike count (the paper's rule).
 *
 * Usage: diehl_cook [neurons=100] [train=10000] [assign=10000] [test=10000]
 *                   [T=250] [batch=32] [epochs=1] [seed=1] [data=DIR] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spikecl/spikecl.h"

#define CHECK(ctx, call)                                                                             \
    do {                                                                                             \
        spk_status st_ = (call);                                                                     \
        if (st_ != SPK_OK) {                                                                         \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call,                     \
                    spk_context_last_error(ctx));                                                    \
            exit(1);                                                                                 \
        }                                                                                            \
    } while (0)

enum { PIXELS = 784, CLASSES = 10 };

static const float RATE_GAIN = 63.75f / 1000.0f; /* spike probability per 1 ms step at pixel 255 */
static const float THETA0 = 60.0f;               /* base threshold (units of summed weights) */
static const float THETA_PLUS = 0.25f;           /* threshold increase per spike */
static const float W_INH = 40.0f;                /* lateral inhibition per spike */
static const float ROW_SUM = 78.0f;              /* weight normalisation (the paper's 78) */

/* ---- The excitatory layer: LIF + adaptive thresholds + lateral inhibition */

typedef struct exc_layer {
    size_t N, T, B;
    spk_lif_params lif;
    float *theta;        /* [N] host copy of the adaptive part */
    spk_tensor *coef;    /* [5, N] per-neuron coefficients, threshold row theta0 + theta */
    spk_tensor *w_inh;   /* [N, N]: -W_INH off the diagonal */
    spk_tensor *x;       /* [T, B, N] input current plus inhibition */
    spk_tensor *state[2];/* [4, B, N] LIF state, ping-ponged between steps */
} exc_layer;

static spk_status exc_infer(void *user, int in_ndim, const size_t *in, int *out_ndim, size_t *out)
{
    exc_layer *e = user;
    if (in_ndim != 1 || in[0] != e->N)
        return SPK_ERR_SHAPE;
    *out_ndim = 1;
    out[0] = e->N;
    return SPK_OK;
}

/* Upload the coefficients with thresholds theta0 + theta_i. */
static spk_status exc_upload_coef(exc_layer *e)
{
    float base[SPK_LIF_NCOEF];
    spk_status st = spk_lif_coefficients(&e->lif, base, NULL, 0);
    float *h = malloc(SPK_LIF_NCOEF * e->N * sizeof *h);
    if (!h)
        return SPK_ERR_OUT_OF_MEMORY;
    for (int k = 0; k < SPK_LIF_NCOEF; k++)
        for (size_t n = 0; n < e->N; n++)
            h[k * e->N + n] = k == SPK_COEF_THRESHOLD ? THETA0 + e->theta[n] : base[k];
    if (st == SPK_OK)
        st = spk_tensor_upload(e->coef, h, SPK_LIF_NCOEF * e->N * sizeof *h);
    free(h);
    return st;
}

static spk_status exc_prepare(void *user, spk_context *ctx, size_t T, size_t B)
{
    exc_layer *e = user;
    size_t N = e->N;
    e->T = T, e->B = B;
    spk_status st = spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, N}, &e->x);
    for (int k = 0; k < 2 && st == SPK_OK; k++)
        st = spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){SPK_LIF_NSTATE, B, N}, &e->state[k]);
    if (st == SPK_OK)
        st = spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){SPK_LIF_NCOEF, N}, &e->coef);
    if (st == SPK_OK)
        st = spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){N, N}, &e->w_inh);
    if (st != SPK_OK)
        return st;
    float *w = malloc(N * N * sizeof *w);
    if (!w)
        return SPK_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < N * N; i++)
        w[i] = i / N == i % N ? 0.0f : -W_INH;
    st = spk_tensor_upload(e->w_inh, w, N * N * sizeof *w);
    free(w);
    return st == SPK_OK ? exc_upload_coef(e) : st;
}

/* Per step t: x[t] += S[t-1] W_inh^T, then one LIF step from the state after t-1. */
static spk_status exc_forward(void *user, spk_context *ctx, spk_tensor *const *params, const spk_tensor *in,
                              spk_tensor *out)
{
    (void)params;
    exc_layer *e = user;
    const size_t B = e->B, N = e->N, BN = B * N;
    spk_status st = spk_tensor_copy(e->x, in);
    for (size_t t = 0; t < e->T && st == SPK_OK; t++) {
        spk_tensor *xt = NULL, *sp = NULL, *prev = NULL, *x2 = NULL;
        st = spk_tensor_view(e->x, t * BN, 3, (size_t[3]){1, B, N}, &xt);
        if (st == SPK_OK)
            st = spk_tensor_view(out, t * BN, 3, (size_t[3]){1, B, N}, &sp);
        if (st == SPK_OK && t > 0) {
            st = spk_tensor_view(out, (t - 1) * BN, 2, (size_t[2]){B, N}, &prev);
            if (st == SPK_OK)
                st = spk_tensor_view(e->x, t * BN, 2, (size_t[2]){B, N}, &x2);
            if (st == SPK_OK)
                st = spk_gemm(0, 1, 1.0f, prev, e->w_inh, 1.0f, x2);
        }
        spk_lif_io io = {.input = xt,
                         .coef = e->coef,
                         .state_in = t > 0 ? e->state[(t - 1) & 1] : NULL,
                         .state_out = e->state[t & 1],
                         .spikes = sp};
        if (st == SPK_OK)
            st = spk_lif_forward(ctx, &e->lif, &io);
        spk_tensor_free(xt), spk_tensor_free(sp), spk_tensor_free(prev), spk_tensor_free(x2);
    }
    return st;
}

/* Never called: the network learns by STDP only, without a backward pass. */
static spk_status exc_backward(void *user, spk_context *ctx, spk_tensor *const *params, spk_tensor *const *grads,
                               const spk_tensor *in, const spk_tensor *out, const spk_tensor *grad_out,
                               spk_tensor *grad_in)
{
    (void)user, (void)ctx, (void)params, (void)grads, (void)in, (void)out, (void)grad_out, (void)grad_in;
    return SPK_ERR_INVALID_ARGUMENT;
}

static void exc_destroy(void *user)
{
    exc_layer *e = user;
    spk_tensor_free(e->coef), spk_tensor_free(e->w_inh), spk_tensor_free(e->x);
    spk_tensor_free(e->state[0]), spk_tensor_free(e->state[1]);
    free(e->theta);
    free(e);
}

static const spk_custom_layer_ops EXC_OPS = {"excitatory (LIF, adaptive threshold, lateral inhibition)", exc_infer,
                                             exc_prepare, exc_forward, exc_backward, exc_destroy};

/* ---- Training and evaluation ---------------------------------------- */

typedef struct config {
    size_t neurons, train, assign, test, T, batch, epochs;
    uint64_t seed;
    const char *data;
} config;

typedef struct model {
    spk_context *ctx;
    spk_network *net;
    exc_layer *exc;
    spk_optimizer *opt;
    spk_tensor *intensity, *spikes;
    float *h_int, *h_out, *w;
    const config *cfg;
    uint64_t stream;
} model;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Scale each neuron's incoming weights to sum to ROW_SUM (on the host). */
static void normalise(model *m)
{
    spk_context *ctx = m->ctx;
    const size_t N = m->cfg->neurons;
    spk_param p;
    CHECK(ctx, spk_network_param(m->net, 0, &p));
    CHECK(ctx, spk_tensor_download(p.value, m->w, N * PIXELS * sizeof *m->w));
    for (size_t i = 0; i < N; i++) {
        double s = 0;
        for (size_t j = 0; j < PIXELS; j++)
            s += m->w[i * PIXELS + j];
        float f = s > 0 ? (float)(ROW_SUM / s) : 1.0f;
        for (size_t j = 0; j < PIXELS; j++)
            m->w[i * PIXELS + j] *= f;
    }
    CHECK(ctx, spk_tensor_upload(p.value, m->w, N * PIXELS * sizeof *m->w));
}

static void build(model *m, const config *cfg)
{
    spk_context *ctx = NULL;
    spk_context_options o = spk_context_options_default();
    o.seed = cfg->seed;
    if (spk_context_create(&o, &ctx) != SPK_OK) {
        fprintf(stderr, "%s\n", spk_context_last_error(NULL));
        exit(1);
    }
    m->ctx = ctx, m->cfg = cfg;
    const size_t N = cfg->neurons, T = cfg->T, B = cfg->batch;
    spk_dense_params dp = spk_dense_params_default(PIXELS, N);
    dp.bias = 0;
    spk_layer *dense = NULL, *exc = NULL;
    CHECK(ctx, spk_network_create(ctx, &m->net));
    CHECK(ctx, spk_dense_create(ctx, &dp, &dense));
    CHECK(ctx, spk_network_add(m->net, dense));
    m->exc = calloc(1, sizeof *m->exc);
    m->exc->N = N;
    m->exc->theta = calloc(N, sizeof(float));
    m->exc->lif = spk_lif_params_default(SPK_NEURON_LIF);
    m->exc->lif.tau_mem = 100.0f;
    m->exc->lif.reset = SPK_RESET_ZERO;
    m->exc->lif.refractory_steps = 5;
    m->exc->lif.threshold = THETA0;
    CHECK(ctx, spk_custom_layer_create(ctx, &EXC_OPS, m->exc, NULL, 0, &exc));
    CHECK(ctx, spk_network_add(m->net, exc));
    CHECK(ctx, spk_network_build(m->net, T, B, 1, (size_t[1]){PIXELS}));
    /* The paper's initial weights: U(0, 0.3), then normalised. */
    m->w = malloc(N * PIXELS * sizeof *m->w);
    uint64_t s = cfg->seed;
    for (size_t k = 0; k < N * PIXELS; k++)
        m->w[k] = 0.3f * (float)((splitmix(&s) >> 40) * (1.0 / 16777216.0));
    spk_param p;
    CHECK(ctx, spk_network_param(m->net, 0, &p));
    CHECK(ctx, spk_tensor_upload(p.value, m->w, N * PIXELS * sizeof *m->w));
    normalise(m);
    spk_stdp_params sp = spk_stdp_params_default(SPK_STDP_ADDITIVE);
    sp.a_plus = 0.01f, sp.a_minus = 0.0001f; /* the paper's nu_post and nu_pre */
    sp.w_min = 0.0f, sp.w_max = 1.0f;
    CHECK(ctx, spk_network_set_plasticity(m->net, 0, &sp));
    spk_optimizer_params op = spk_optimizer_params_default(SPK_OPTIM_SGD);
    op.lr = 1.0f;
    CHECK(ctx, spk_optimizer_create(ctx, &op, &m->opt));
    CHECK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){B, PIXELS}, &m->intensity));
    CHECK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, PIXELS}, &m->spikes));
    m->h_int = malloc(B * PIXELS * sizeof *m->h_int);
    m->h_out = malloc(T * B * N * sizeof *m->h_out);
}

static void teardown(model *m)
{
    spk_tensor_free(m->intensity), spk_tensor_free(m->spikes);
    spk_optimizer_free(m->opt);
    spk_network_free(m->net); /* frees the custom layer's state too */
    spk_context_free(m->ctx);
    free(m->h_int), free(m->h_out), free(m->w);
}

/* Present images idx[0..B-1] of d, each at its own boost (the paper's
 * +32 Hz per retry); counts[b * N + n] receives the spike counts. With
 * learn, apply STDP, clip, normalise and adapt thresholds. */
static void present_once(model *m, const spk_dataset *d, const size_t *idx, const int *boost, int learn,
                         float *counts)
{
    spk_context *ctx = m->ctx;
    const size_t N = m->cfg->neurons, T = m->cfg->T, B = m->cfg->batch;
    for (size_t b = 0; b < B; b++) {
        float gain = (63.75f + 32.0f * (float)boost[b]) / 63.75f / 255.0f;
        for (size_t j = 0; j < PIXELS; j++)
            m->h_int[b * PIXELS + j] = d->images[idx[b] * PIXELS + j] * gain;
    }
    CHECK(ctx, spk_tensor_upload(m->intensity, m->h_int, B * PIXELS * sizeof *m->h_int));
    CHECK(ctx, spk_encode_poisson(ctx, m->intensity, RATE_GAIN, m->stream++, m->spikes));
    CHECK(ctx, spk_network_forward(m->net, m->spikes, NULL));
    if (learn) {
        CHECK(ctx, spk_network_plasticity_reset(m->net));
        CHECK(ctx, spk_network_plasticity_step(m->net, NULL));
        CHECK(ctx, spk_network_step(m->net, m->opt));
    }
    CHECK(ctx, spk_tensor_download(spk_network_layer_output(m->net, 1), m->h_out, T * B * N * sizeof *m->h_out));
    memset(counts, 0, B * N * sizeof *counts);
    for (size_t t = 0; t < T; t++)
        for (size_t k = 0; k < B * N; k++)
            counts[k] += m->h_out[t * B * N + k];
    if (learn) {
        normalise(m);
        for (size_t k = 0; k < B * N; k++)
            m->exc->theta[k % N] += THETA_PLUS * counts[k];
        CHECK(ctx, exc_upload_coef(m->exc));
    }
}

/* Evaluation presentations follow the paper: an image that gives fewer
 * than 5 spikes is shown again with its rate raised by 32 Hz (at most 3
 * times); only those images' counts are replaced. */
static void present(model *m, const spk_dataset *d, const size_t *idx, int learn, float *counts)
{
    const size_t N = m->cfg->neurons, B = m->cfg->batch;
    int boost[256] = {0};
    present_once(m, d, idx, boost, learn, counts);
    for (int retry = 0; !learn && retry < 3; retry++) {
        int again = 0;
        for (size_t b = 0; b < B; b++) {
            float total = 0;
            for (size_t n = 0; n < N; n++)
                total += counts[b * N + n];
            boost[b] += total < 5.0f;
            again |= total < 5.0f;
        }
        if (!again)
            return;
        float *more = malloc(B * N * sizeof *more);
        present_once(m, d, idx, boost, 0, more);
        for (size_t b = 0; b < B; b++)
            if (boost[b] == retry + 1)
                memcpy(counts + b * N, more + b * N, N * sizeof *more);
        free(more);
    }
}

static size_t parse(const char *arg, const char *key, size_t def)
{
    size_t n = strlen(key);
    return strncmp(arg, key, n) == 0 && arg[n] == '=' ? (size_t)strtoull(arg + n + 1, NULL, 10) : def;
}

int main(int argc, char **argv)
{
    config cfg = {100, 10000, 10000, 10000, 250, 32, 1, 1, NULL};
    for (int i = 1; i < argc; i++) {
        cfg.neurons = parse(argv[i], "neurons", cfg.neurons);
        cfg.train = parse(argv[i], "train", cfg.train);
        cfg.assign = parse(argv[i], "assign", cfg.assign);
        cfg.test = parse(argv[i], "test", cfg.test);
        cfg.T = parse(argv[i], "T", cfg.T);
        cfg.batch = parse(argv[i], "batch", cfg.batch);
        cfg.epochs = parse(argv[i], "epochs", cfg.epochs);
        cfg.seed = parse(argv[i], "seed", cfg.seed);
        if (strncmp(argv[i], "data=", 5) == 0)
            cfg.data = argv[i] + 5;
    }
    if (!cfg.neurons || !cfg.T || !cfg.batch || cfg.batch > 256 || !cfg.assign || !cfg.test) {
        fprintf(stderr, "neurons, T, assign and test must be >= 1, batch in 1..256\n");
        return 2;
    }
    spk_dataset *train = NULL, *test = NULL;
    if (spk_dataset_load_fashion_mnist(cfg.data, "train", &train) != SPK_OK ||
        spk_dataset_load_fashion_mnist(cfg.data, "test", &test) != SPK_OK) {
        fprintf(stderr, "%s\n", spk_context_last_error(NULL));
        return 1;
    }
    cfg.train = cfg.train < train->n ? cfg.train : train->n;
    cfg.assign = cfg.assign < train->n ? cfg.assign : train->n;
    cfg.test = cfg.test < test->n ? cfg.test : test->n;
    const size_t N = cfg.neurons, B = cfg.batch;
    printf("Diehl & Cook style STDP on Fashion-MNIST: %zu excitatory neurons, T=%zu (1 ms steps), batch %zu, "
           "%zu epoch(s) of %zu training images, labels from %zu, test on %zu, seed %llu\n",
           N, cfg.T, B, cfg.epochs, cfg.train, cfg.assign, cfg.test, (unsigned long long)cfg.seed);
    model m = {0};
    build(&m, &cfg);
    size_t *idx = malloc(B * sizeof *idx), *order = malloc(train->n * sizeof *order);
    float *counts = malloc(B * N * sizeof *counts);
    for (size_t i = 0; i < train->n; i++)
        order[i] = i;
    uint64_t rs = cfg.seed;
    double t0 = now(), spikes = 0;
    for (size_t e = 0; e < cfg.epochs; e++) {
        for (size_t i = train->n; i > 1; i--) { /* shuffle */
            size_t j = splitmix(&rs) % i, tmp = order[i - 1];
            order[i - 1] = order[j], order[j] = tmp;
        }
        for (size_t s = 0; s + B <= cfg.train; s += B) {
            for (size_t b = 0; b < B; b++)
                idx[b] = order[s + b];
            present(&m, train, idx, 1, counts);
            for (size_t k = 0; k < B * N; k++)
                spikes += counts[k];
            if ((s / B) % 50 == 0)
                printf("  epoch %zu, %zu images, %.1f s, %.2f excitatory spikes per image\n", e + 1, s + B,
                       now() - t0, spikes / (double)(s + B + e * cfg.train));
            fflush(stdout);
        }
    }
    double train_s = now() - t0;

    /* Assign each neuron the class of its highest mean response. */
    double *resp = calloc(N * CLASSES, sizeof *resp);
    size_t per_class[CLASSES] = {0};
    for (size_t s = 0; s + B <= cfg.assign; s += B) {
        for (size_t b = 0; b < B; b++)
            idx[b] = s + b;
        present(&m, train, idx, 0, counts);
        for (size_t b = 0; b < B; b++) {
            per_class[train->labels[idx[b]]]++;
            for (size_t n = 0; n < N; n++)
                resp[n * CLASSES + train->labels[idx[b]]] += counts[b * N + n];
        }
    }
    int *label = malloc(N * sizeof *label);
    size_t assigned[CLASSES] = {0};
    for (size_t n = 0; n < N; n++) {
        int best = 0;
        double best_v = -1;
        for (int c = 0; c < CLASSES; c++) {
            double v = per_class[c] ? resp[n * CLASSES + c] / (double)per_class[c] : 0;
            if (v > best_v)
                best_v = v, best = c;
        }
        label[n] = best;
        assigned[best]++;
    }

    /* Test: the class whose neurons respond most on average. */
    size_t correct = 0, total = 0, silent = 0;
    for (size_t s = 0; s + B <= cfg.test; s += B) {
        for (size_t b = 0; b < B; b++)
            idx[b] = s + b;
        present(&m, test, idx, 0, counts);
        for (size_t b = 0; b < B; b++) {
            double score[CLASSES] = {0}, any = 0;
            for (size_t n = 0; n < N; n++)
                score[label[n]] += counts[b * N + n], any += counts[b * N + n];
            int best = 0;
            for (int c = 1; c < CLASSES; c++)
                if (assigned[c] && (!assigned[best] || score[c] / assigned[c] > score[best] / assigned[best]))
                    best = c;
            silent += any == 0;
            correct += best == test->labels[idx[b]];
            total++;
        }
    }
    double total_s = now() - t0;
    printf("neurons per class:");
    for (int c = 0; c < CLASSES; c++)
        printf(" %zu", assigned[c]);
    printf("\ntest accuracy %.2f%% (%zu / %zu, %zu silent), training %.1f s, total %.1f s\n",
           100.0 * (double)correct / (double)total, correct, total, silent, train_s, total_s);
    free(idx), free(order), free(counts), free(resp), free(label);
    teardown(&m);
    spk_dataset_free(train), spk_dataset_free(test);
    return 0;
}
