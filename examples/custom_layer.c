/* A layer written by the user: a learned gain per feature, y = g * x.
 *
 * It shows the custom-layer interface (include/spikecl/custom_layer.h): the
 * library owns the parameter g and its gradient, the callbacks compute the
 * forward and backward over whole sequences. For clarity this one computes
 * on the host; a real layer would queue device work (spk_gemm, its own
 * OpenCL kernels, ...). The network dense -> gain -> LIF -> dense -> LI then
 * learns a toy task: which of two input channels is the stronger. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spikecl/spikecl.h"
#include "spikecl/custom_layer.h"

typedef struct gain_state {
    size_t features;
    float *x, *y, *g, *dy; /* host scratch */
    size_t numel;
} gain_state;

static spk_status gain_infer(void *user, int in_ndim, const size_t *in, int *out_ndim, size_t *out)
{
    gain_state *s = user;
    if (in_ndim != 1 || in[0] != s->features)
        return SPK_ERR_SHAPE;
    *out_ndim = 1;
    out[0] = in[0];
    return SPK_OK;
}

static spk_status gain_prepare(void *user, spk_context *ctx, size_t T, size_t B)
{
    (void)ctx;
    gain_state *s = user;
    s->numel = T * B * s->features;
    free(s->x), free(s->y), free(s->dy);
    s->x = malloc(s->numel * sizeof *s->x);
    s->y = malloc(s->numel * sizeof *s->y);
    s->dy = malloc(s->numel * sizeof *s->dy);
    return s->x && s->y && s->dy ? SPK_OK : SPK_ERR_OUT_OF_MEMORY;
}

static spk_status gain_forward(void *user, spk_context *ctx, spk_tensor *const *params, const spk_tensor *in,
                               spk_tensor *out)
{
    (void)ctx;
    gain_state *s = user;
    spk_status st = spk_tensor_download(in, s->x, s->numel * sizeof *s->x);
    if (st == SPK_OK)
        st = spk_tensor_download(params[0], s->g, s->features * sizeof *s->g);
    for (size_t i = 0; st == SPK_OK && i < s->numel; i++)
        s->y[i] = s->g[i % s->features] * s->x[i];
    return st == SPK_OK ? spk_tensor_upload(out, s->y, s->numel * sizeof *s->y) : st;
}

static spk_status gain_backward(void *user, spk_context *ctx, spk_tensor *const *params, spk_tensor *const *grads,
                                const spk_tensor *in, const spk_tensor *out, const spk_tensor *grad_out,
                                spk_tensor *grad_in)
{
    (void)ctx, (void)params, (void)in, (void)out;
    gain_state *s = user;
    float *dg = calloc(s->features, sizeof *dg);
    spk_status st = dg ? spk_tensor_download(grad_out, s->dy, s->numel * sizeof *s->dy) : SPK_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; st == SPK_OK && i < s->numel; i++) {
        dg[i % s->features] += s->x[i] * s->dy[i]; /* x kept from the forward */
        s->dy[i] *= s->g[i % s->features];        /* now dL/dx */
    }
    if (st == SPK_OK)
        st = spk_tensor_upload(grads[0], dg, s->features * sizeof *dg);
    if (st == SPK_OK && grad_in)
        st = spk_tensor_upload(grad_in, s->dy, s->numel * sizeof *s->dy);
    free(dg);
    return st;
}

static void gain_destroy(void *user)
{
    gain_state *s = user;
    free(s->x), free(s->y), free(s->g), free(s->dy);
    free(s);
}

static const spk_custom_layer_ops GAIN = {"gain", gain_infer, gain_prepare, gain_forward, gain_backward,
                                          gain_destroy};

#define CHECK(ctx, call)                                                                                   \
    do {                                                                                                   \
        spk_status st_ = (call);                                                                           \
        if (st_ != SPK_OK) {                                                                               \
            fprintf(stderr, "%s failed: %s\n", #call, spk_context_last_error(ctx));                       \
            return 1;                                                                                      \
        }                                                                                                  \
    } while (0)

int main(void)
{
    const size_t T = 20, B = 32, IN = 2, H = 16, C = 2, STEPS = 150;
    spk_context *ctx;
    CHECK(NULL, spk_context_create(NULL, &ctx));

    gain_state *gs = calloc(1, sizeof *gs);
    if (!gs || !(gs->g = malloc(H * sizeof *gs->g)))
        return 1;
    gs->features = H;
    spk_custom_param gp = {"gain", 1, {H}};
    spk_layer *gain, *l;
    CHECK(ctx, spk_custom_layer_create(ctx, &GAIN, gs, &gp, 1, &gain));
    spk_param g;
    CHECK(ctx, spk_layer_param(gain, 0, &g));
    float ones[16];
    for (size_t i = 0; i < H; i++)
        ones[i] = 1.0f;
    CHECK(ctx, spk_tensor_upload(g.value, ones, sizeof ones));

    spk_network *net;
    CHECK(ctx, spk_network_create(ctx, &net));
    CHECK(ctx, spk_network_set_static_input(net, 1));
    spk_dense_params d1 = spk_dense_params_default(IN, H), d2 = spk_dense_params_default(H, C);
    spk_lif_params lif = spk_lif_params_default(SPK_NEURON_LIF), li = spk_lif_params_default(SPK_NEURON_LI);
    CHECK(ctx, spk_dense_create(ctx, &d1, &l));
    CHECK(ctx, spk_network_add(net, l));
    CHECK(ctx, spk_network_add(net, gain));
    CHECK(ctx, spk_neuron_layer_create(ctx, &lif, &l));
    CHECK(ctx, spk_network_add(net, l));
    CHECK(ctx, spk_dense_create(ctx, &d2, &l));
    CHECK(ctx, spk_network_add(net, l));
    CHECK(ctx, spk_neuron_layer_create(ctx, &li, &l));
    CHECK(ctx, spk_network_add(net, l));
    CHECK(ctx, spk_network_build(net, T, B, 1, &IN));

    spk_tensor *x, *grad;
    CHECK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){B, IN}, &x));
    CHECK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, C}, &grad));
    spk_optimizer *opt;
    spk_optimizer_params op = spk_optimizer_params_default(SPK_OPTIM_ADAM);
    op.lr = 0.02f;
    CHECK(ctx, spk_optimizer_create(ctx, &op, &opt));
    spk_loss_params lp = spk_loss_params_default(SPK_LOSS_CE_MEAN_MEMBRANE);
    float hx[64];
    uint8_t labels[32];
    unsigned seed = 7;
    for (size_t step = 0; step < STEPS; step++) {
        for (size_t b = 0; b < B; b++) { /* two channels; the label says which is stronger */
            seed = seed * 1103515245u + 12345u;
            float a = (float)(seed >> 8 & 0xffff) / 65535.0f;
            seed = seed * 1103515245u + 12345u;
            float c = (float)(seed >> 8 & 0xffff) / 65535.0f;
            hx[2 * b] = a, hx[2 * b + 1] = c;
            labels[b] = a > c;
        }
        CHECK(ctx, spk_tensor_upload(x, hx, sizeof hx));
        const spk_tensor *out;
        float loss;
        size_t correct;
        CHECK(ctx, spk_network_forward(net, x, &out));
        CHECK(ctx, spk_loss(ctx, &lp, out, labels, grad, &loss, &correct));
        CHECK(ctx, spk_network_backward(net, grad));
        CHECK(ctx, spk_network_step(net, opt));
        if (step % 30 == 0 || step + 1 == STEPS)
            printf("step %3zu: loss %.4f, accuracy %zu/%zu\n", step, loss, correct, B);
    }
    CHECK(ctx, spk_tensor_download(g.value, ones, sizeof ones));
    printf("learned gains:");
    for (size_t i = 0; i < H; i++)
        printf(" %.2f", ones[i]);
    printf("\n");
    spk_optimizer_free(opt);
    spk_tensor_free(x), spk_tensor_free(grad);
    spk_network_free(net);
    spk_context_free(ctx);
    return 0;
}
