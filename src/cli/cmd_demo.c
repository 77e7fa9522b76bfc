/* A LIF layer driven by Poisson input: neuron i receives spikes at a rate
 * that grows with i, so its output spike count should grow with i too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

typedef struct demo_opts {
    const char *device;
    long steps, neurons;
    unsigned long long seed;
} demo_opts;

static int parse(int argc, char **argv, demo_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("usage: spikecl demo [--device SEL] [--steps T] [--neurons N] [--seed S]\n\n"
                   "Drives N current-based LIF neurons (Euler, tau_mem 10, tau_syn 5, threshold 0.15, reset to 0)\n"
                   "with Poisson spike trains whose rate grows with the neuron index, for T steps,\n"
                   "and prints each neuron's input and output spike counts.\n");
            return 1;
        }
        if (!v) {
            fprintf(stderr, "spikecl demo: option %s needs a value\n", a);
            return -1;
        }
        char *end = NULL;
        if (strcmp(a, "--device") == 0)
            o->device = v;
        else if (strcmp(a, "--steps") == 0)
            o->steps = strtol(v, &end, 10);
        else if (strcmp(a, "--neurons") == 0)
            o->neurons = strtol(v, &end, 10);
        else if (strcmp(a, "--seed") == 0)
            o->seed = strtoull(v, &end, 10);
        else {
            fprintf(stderr, "spikecl demo: unknown option %s\n", a);
            return -1;
        }
        if (end && *end) {
            fprintf(stderr, "spikecl demo: %s expects a number, got '%s'\n", a, v);
            return -1;
        }
        i++;
    }
    if (o->steps < 1 || o->steps > 1000000 || o->neurons < 1 || o->neurons > 100000) {
        fprintf(stderr, "spikecl demo: --steps must be in 1..1000000 and --neurons in 1..100000\n");
        return -1;
    }
    return 0;
}

int spk_cmd_demo(int argc, char **argv)
{
    demo_opts o = {NULL, 200, 10, 42};
    int pr = parse(argc, argv, &o);
    if (pr)
        return pr > 0 ? 0 : 2;
    int rc = 1;
    spk_context *ctx = NULL;
    spk_tensor *rate = NULL, *in_spikes = NULL, *out_spikes = NULL, *mem = NULL;
    float *host_rate = NULL, *host_in = NULL, *host_out = NULL;
    size_t T = (size_t)o.steps, N = (size_t)o.neurons;
    spk_context_options copts = spk_context_options_default();
    copts.device = o.device;
    copts.seed = o.seed;
    spk_status st = spk_context_create(&copts, &ctx);
    if (st != SPK_OK) {
        spk_cli_report(NULL, st, "creating the OpenCL context");
        return 1;
    }
    spk_device_info info;
    spk_context_device(ctx, &info);
    printf("device %d:%d %s (%s)\n", info.platform_index, info.device_index, info.device_name, info.platform_name);

    host_rate = malloc(N * sizeof *host_rate);
    host_in = malloc(T * N * sizeof *host_in);
    host_out = malloc(T * N * sizeof *host_out);
    if (!host_rate || !host_in || !host_out) {
        fprintf(stderr, "spikecl demo: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < N; i++)
        host_rate[i] = 0.5f * (float)(i + 1) / (float)N; /* spike probability per step */
    size_t rate_shape[2] = {1, N}, seq_shape[3] = {T, 1, N};
    const char *what = "allocating tensors";
    if ((st = spk_tensor_create(ctx, SPK_F32, 2, rate_shape, &rate)) ||
        (st = spk_tensor_create(ctx, SPK_F32, 3, seq_shape, &in_spikes)) ||
        (st = spk_tensor_create(ctx, SPK_F32, 3, seq_shape, &out_spikes)) ||
        (st = spk_tensor_create(ctx, SPK_F32, 3, seq_shape, &mem)))
        goto fail;
    what = "uploading input rates";
    if ((st = spk_tensor_upload(rate, host_rate, N * sizeof *host_rate)))
        goto fail;
    what = "Poisson encoding";
    if ((st = spk_encode_poisson(ctx, rate, 1.0f, 0, in_spikes)))
        goto fail;
    spk_lif_params p = spk_lif_params_default(SPK_NEURON_CUBA_LIF);
    /* The seed's Euler version: the membrane relaxes towards the input rate,
     * so neurons whose rate exceeds the threshold fire, faster the higher. */
    p.integration = SPK_INTEGRATE_EULER;
    p.reset = SPK_RESET_ZERO;
    p.reset_timing = SPK_RESET_IMMEDIATE;
    p.tau_mem = 10.0f;
    p.tau_syn = 5.0f;
    p.threshold = 0.15f;
    spk_lif_io io = {.input = in_spikes, .spikes = out_spikes, .membrane = mem};
    what = "LIF forward";
    if ((st = spk_lif_forward(ctx, &p, &io)))
        goto fail;
    what = "downloading spikes";
    if ((st = spk_tensor_download(in_spikes, host_in, T * N * sizeof *host_in)) ||
        (st = spk_tensor_download(out_spikes, host_out, T * N * sizeof *host_out)))
        goto fail;
    printf("%zu current-based LIF neurons, %zu steps, Poisson input (probability per step 0.5*(i+1)/N)\n", N, T);
    printf("neuron  input-spikes  output-spikes\n");
    for (size_t i = 0; i < N; i++) {
        long cin = 0, cout = 0;
        for (size_t t = 0; t < T; t++) {
            cin += host_in[t * N + i] > 0.5f;
            cout += host_out[t * N + i] > 0.5f;
        }
        printf("%6zu  %12ld  %13ld\n", i, cin, cout);
    }
    rc = 0;
    goto done;
fail:
    spk_cli_report(ctx, st, what);
done:
    free(host_rate);
    free(host_in);
    free(host_out);
    spk_tensor_free(rate);
    spk_tensor_free(in_spikes);
    spk_tensor_free(out_spikes);
    spk_tensor_free(mem);
    spk_context_free(ctx);
    return rc;
}
