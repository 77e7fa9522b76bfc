/* Gradient cross-check of the `mlp` preset against fmnist_snntorch.py (see grad_check.py).
 *
 * Builds the network exactly as src/cli/train_loop.c does for `--preset mlp`, loads the
 * weights of a checkpoint, runs one forward, the loss (CE on the time-mean membrane) and one
 * backward on the first B training images of Fashion-MNIST, and writes to OUT:
 *   u32 count, then for each parameter: u32 name length, name, u64 elements, f32 gradient;
 *   then f32 loss.
 *
 *   cc -O2 -Iinclude -Ibuild-bench/include bench/compare/grad_check.c -Lbuild-bench/src -lspikecl \
 *      -Wl,-rpath,$PWD/build-bench/src -lm -o build-bench/grad_check
 *   build-bench/grad_check CKPT OUT [BATCH]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spikecl/spikecl.h"

#define TRY(x)                                                                                     \
    do {                                                                                           \
        spk_status s_ = (x);                                                                       \
        if (s_ != SPK_OK) {                                                                        \
            fprintf(stderr, "grad_check: %s failed: %s\n", #x, ctx ? spk_context_last_error(ctx) : "");    \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: grad_check CKPT OUT [BATCH]\n");
        return 2;
    }
    const size_t T = 25, H = 256, C = 10, B = argc > 3 ? (size_t)atoi(argv[3]) : 128;
    spk_context *ctx = NULL;
    spk_dataset *d = NULL;
    TRY(spk_dataset_load_fashion_mnist(NULL, "train", &d));
    const size_t F = d->rows * d->cols;
    spk_context_options o = spk_context_options_default();
    TRY(spk_context_create(&o, &ctx));

    spk_lif_params lif = spk_lif_params_default(SPK_NEURON_LIF), li;
    lif.tau_mem = -1.0f / logf(0.95f);
    lif.surrogate = SPK_SURROGATE_ARCTAN;
    lif.surrogate_scale = 2.0f;
    li = lif;
    li.kind = SPK_NEURON_LI;
    spk_network *net;
    spk_layer *l;
    spk_dense_params d1 = spk_dense_params_default(F, H), d2 = spk_dense_params_default(H, C);
    TRY(spk_network_create(ctx, &net));
    TRY(spk_network_set_static_input(net, 1));
    TRY(spk_dense_create(ctx, &d1, &l));
    TRY(spk_network_add(net, l));
    TRY(spk_neuron_layer_create(ctx, &lif, &l));
    TRY(spk_network_add(net, l));
    TRY(spk_dense_create(ctx, &d2, &l));
    TRY(spk_network_add(net, l));
    TRY(spk_neuron_layer_create(ctx, &li, &l));
    TRY(spk_network_add(net, l));
    TRY(spk_network_build(net, T, B, 1, &F));
    TRY(spk_checkpoint_load(net, argv[1]));

    float *x = malloc(B * F * sizeof *x);
    for (size_t i = 0; i < B * F; i++)
        x[i] = (float)d->images[i] * (1.0f / 255.0f);
    spk_tensor *pixels, *grad;
    TRY(spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){B, F}, &pixels));
    TRY(spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, C}, &grad));
    TRY(spk_tensor_upload(pixels, x, B * F * sizeof *x));
    const spk_tensor *out;
    float loss = 0.0f;
    spk_loss_params lp = spk_loss_params_default(SPK_LOSS_CE_MEAN_MEMBRANE);
    TRY(spk_network_forward(net, pixels, &out));
    TRY(spk_loss(ctx, &lp, out, d->labels, grad, &loss, NULL));
    TRY(spk_network_backward(net, grad));

    FILE *f = fopen(argv[2], "wb");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    uint32_t n = (uint32_t)spk_network_param_count(net);
    fwrite(&n, 4, 1, f);
    for (uint32_t i = 0; i < n; i++) {
        spk_param p;
        TRY(spk_network_param(net, i, &p));
        size_t count = spk_tensor_numel(p.grad);
        float *g = malloc(count * sizeof *g);
        TRY(spk_tensor_download(p.grad, g, count * sizeof *g));
        uint32_t len = (uint32_t)strlen(p.name);
        uint64_t c64 = count;
        fwrite(&len, 4, 1, f);
        fwrite(p.name, 1, len, f);
        fwrite(&c64, 8, 1, f);
        fwrite(g, sizeof *g, count, f);
        free(g);
    }
    fwrite(&loss, 4, 1, f);
    fclose(f);
    printf("grad_check: loss %.6f, %u gradients written to %s\n", (double)loss, n, argv[2]);
    return 0;
}
