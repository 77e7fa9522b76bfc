/* Reward-modulated STDP (MSTDPET, Florian 2007) on a two-stimulus bandit.
 *
 * 40 Poisson inputs in two groups drive two LIF output neurons through a
 * plastic dense layer. Each trial shows stimulus A (inputs 0-19 fire often)
 * or B (inputs 20-39); the network's action is the output neuron with more
 * spikes over the trial. At the trial's last step a reward arrives: +1 when
 * the action is the target of the stimulus, -1 when it is not (0 on a tie).
 * The synapses' eligibility traces bridge the gap between the spikes and
 * the reward; the weight change r * e goes to plain SGD as the
 * pseudo-gradient -dW, and the network step clips the weights to [0, 1].
 *
 * Three runs from the same initial weights show that the reward decides
 * what is learned:
 *   target      A -> 0, B -> 1, reward +1 / -1
 *   flipped     A -> 1, B -> 0 (the reward target flipped)
 *   negated     A -> 0, B -> 1 with the reward's sign flipped (+1 for the
 *               wrong action): it must learn the flipped mapping
 * For each the program prints how often the action follows A -> 0, B -> 1
 * before and after training, and the mean weight from each input group to
 * each output. Usage: reward_stdp [trials_batches] (default 60). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spikecl/spikecl.h"

enum { IN = 40, OUT = 2, T = 50, B = 32 };

#define CHECK(call)                                                                                  \
    do {                                                                                             \
        spk_status st_ = (call);                                                                     \
        if (st_ != SPK_OK) {                                                                         \
            fprintf(stderr, "%s failed: %s\n", #call, spk_context_last_error(ctx));                  \
            exit(1);                                                                                 \
        }                                                                                            \
    } while (0)

typedef struct run {
    spk_context *ctx;
    spk_network *net;
    spk_optimizer *opt;
    spk_tensor *intensity, *spikes, *reward;
    float h_int[B * IN], h_out[T * B * OUT], h_r[T * B];
    int stim[B];
} run;

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void setup(run *r, const float *w0)
{
    spk_context *ctx = NULL;
    if (spk_context_create(NULL, &ctx) != SPK_OK) {
        fprintf(stderr, "%s\n", spk_context_last_error(NULL));
        exit(1);
    }
    r->ctx = ctx;
    spk_dense_params dp = spk_dense_params_default(IN, OUT);
    dp.bias = 0;
    spk_lif_params lp = spk_lif_params_default(SPK_NEURON_LIF);
    lp.threshold = 8.0f;
    spk_layer *dense = NULL, *lif = NULL;
    CHECK(spk_network_create(ctx, &r->net));
    CHECK(spk_dense_create(ctx, &dp, &dense));
    CHECK(spk_network_add(r->net, dense));
    CHECK(spk_neuron_layer_create(ctx, &lp, &lif));
    CHECK(spk_network_add(r->net, lif));
    CHECK(spk_network_build(r->net, T, B, 1, (size_t[1]){IN}));
    spk_param w;
    CHECK(spk_network_param(r->net, 0, &w));
    CHECK(spk_tensor_upload(w.value, w0, IN * OUT * sizeof(float)));
    spk_stdp_params sp = spk_stdp_params_default(SPK_STDP_MSTDPET);
    sp.tau_e = 25.0f;
    CHECK(spk_network_set_plasticity(r->net, 0, &sp));
    spk_optimizer_params op = spk_optimizer_params_default(SPK_OPTIM_SGD);
    op.lr = 2.0f / B; /* dW is summed over the batch */
    CHECK(spk_optimizer_create(ctx, &op, &r->opt));
    CHECK(spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){B, IN}, &r->intensity));
    CHECK(spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, IN}, &r->spikes));
    CHECK(spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){T, B}, &r->reward));
}

static void teardown(run *r)
{
    spk_tensor_free(r->intensity), spk_tensor_free(r->spikes), spk_tensor_free(r->reward);
    spk_optimizer_free(r->opt);
    spk_network_free(r->net);
    spk_context_free(r->ctx);
}

/* One batch of trials; returns how many actions follow A -> 0, B -> 1.
 * target_of_a: the rewarded action for A (B's is the other); sign: +1 or
 * -1 multiplies the reward; learn: 0 only measures. */
static int trials(run *r, uint64_t *rng, uint64_t stream, int target_of_a, float sign, int learn)
{
    spk_context *ctx = r->ctx;
    for (int b = 0; b < B; b++) {
        r->stim[b] = (int)(splitmix(rng) & 1);
        for (int j = 0; j < IN; j++)
            r->h_int[b * IN + j] = (j < IN / 2) == (r->stim[b] == 0) ? 0.2f : 0.02f;
    }
    CHECK(spk_tensor_upload(r->intensity, r->h_int, sizeof r->h_int));
    CHECK(spk_encode_poisson(ctx, r->intensity, 1.0f, stream, r->spikes));
    CHECK(spk_network_plasticity_reset(r->net)); /* independent trials */
    CHECK(spk_network_forward(r->net, r->spikes, NULL));
    CHECK(spk_tensor_download(spk_network_layer_output(r->net, 1), r->h_out, sizeof r->h_out));
    int follows = 0;
    memset(r->h_r, 0, sizeof r->h_r);
    for (int b = 0; b < B; b++) {
        float count[OUT] = {0, 0};
        for (int t = 0; t < T; t++)
            for (int i = 0; i < OUT; i++)
                count[i] += r->h_out[(t * B + b) * OUT + i];
        int action = count[0] > count[1] ? 0 : count[1] > count[0] ? 1 : -1;
        follows += action == r->stim[b];
        int target = r->stim[b] == 0 ? target_of_a : 1 - target_of_a;
        r->h_r[(T - 1) * B + b] = action < 0 ? 0.0f : sign * (action == target ? 1.0f : -1.0f);
    }
    if (learn) {
        CHECK(spk_tensor_upload(r->reward, r->h_r, sizeof r->h_r));
        CHECK(spk_network_plasticity_step(r->net, r->reward));
        CHECK(spk_network_step(r->net, r->opt));
    }
    return follows;
}

/* Mean weight from input group g (0: A's inputs, 1: B's) to output i. */
static void group_weights(run *r, float out[2][OUT])
{
    spk_context *ctx = r->ctx;
    float w[OUT * IN];
    spk_param p;
    CHECK(spk_network_param(r->net, 0, &p));
    CHECK(spk_tensor_download(p.value, w, sizeof w));
    for (int g = 0; g < 2; g++)
        for (int i = 0; i < OUT; i++) {
            float s = 0;
            for (int j = g * IN / 2; j < (g + 1) * IN / 2; j++)
                s += w[i * IN + j];
            out[g][i] = s / (IN / 2);
        }
}

int main(int argc, char **argv)
{
    int batches = argc > 1 ? atoi(argv[1]) : 60;
    if (batches < 1) {
        fprintf(stderr, "usage: reward_stdp [training batches >= 1]\n");
        return 2;
    }
    float w0[OUT * IN];
    uint64_t s = 42;
    for (int k = 0; k < OUT * IN; k++)
        w0[k] = 0.3f + 0.4f * (float)((splitmix(&s) >> 40) * (1.0 / 16777216.0));
    const struct {
        const char *name;
        int target_of_a;
        float sign;
    } runs[] = {{"target A->0, B->1", 0, 1.0f}, {"flipped A->1, B->0", 1, 1.0f}, {"negated reward", 0, -1.0f}};
    printf("MSTDPET, %d inputs -> %d LIF outputs, T=%d, %d trials per batch, %d training batches\n", IN, OUT, T, B,
           batches);
    printf("%-20s %14s %14s   mean weight A->0 A->1 B->0 B->1\n", "run", "A0/B1 before", "A0/B1 after");
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        run r;
        setup(&r, w0);
        uint64_t rng = 7, test_rng = 1234;
        int before = 0, after = 0;
        for (int e = 0; e < 8; e++)
            before += trials(&r, &test_rng, 100000 + (uint64_t)e, runs[k].target_of_a, runs[k].sign, 0);
        for (int e = 0; e < batches; e++)
            trials(&r, &rng, (uint64_t)e, runs[k].target_of_a, runs[k].sign, 1);
        test_rng = 1234;
        for (int e = 0; e < 8; e++)
            after += trials(&r, &test_rng, 100000 + (uint64_t)e, runs[k].target_of_a, runs[k].sign, 0);
        float gw[2][OUT];
        group_weights(&r, gw);
        printf("%-20s %13.1f%% %13.1f%%   %.3f %.3f %.3f %.3f\n", runs[k].name, 100.0 * before / (8 * B),
               100.0 * after / (8 * B), (double)gw[0][0], (double)gw[0][1], (double)gw[1][0], (double)gw[1][1]);
        teardown(&r);
    }
    return 0;
}
