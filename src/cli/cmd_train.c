/* spikecl train: surrogate-gradient training of a spiking network on
 * Fashion-MNIST (or any MNIST-format IDX data) from the command line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/train_common.h"

static void usage(void)
{
    printf("usage: spikecl train [options]\n\n"
           "Trains a spiking network with surrogate gradients (BPTT) and prints the test accuracy after each epoch.\n\n"
           "  --preset NAME      mlp (784-H-10 LIF, default) | mlp-fast (H=128, T=10: a quick demo)\n"
           "                     | conv (conv5x5 16 - LIF - pool - conv5x5 48 - LIF - pool - 10, T=8)\n"
           "  --epochs N         training epochs (preset default)\n"
           "  --batch N          batch size (default 128)\n"
           "  --steps T          time steps per sample (preset default)\n"
           "  --hidden H         hidden neurons (preset default)\n"
           "  --channels C1,C2   channels of the two convolutions (conv preset; default 16,48)\n"
           "  --lr X             Adam learning rate (default 2e-3)\n"
           "  --encoder E        direct (pixels as input current, default) | poisson (rate-coded spikes)\n"
           "                     | latency (one spike per pixel, earlier when brighter)\n"
           "  --loss L           ce-mean-membrane (LI readout, default) | ce-max-membrane (LI readout) | ce-count\n"
           "                     (spike counts of a LIF output layer) | mse-count\n"
           "  --schedule S       cosine (default) | step (halved every epoch) | constant learning rate\n"
           "  --clip X           clip gradients to a global L2 norm of X (default: off)\n"
           "  --limit-train N    use only the first N training images (0: all)\n"
           "  --limit-test N     use only the first N test images (0: all)\n"
           "  --data DIR         directory of the IDX files (default %s)\n"
           "  --device SEL       OpenCL device: p:d, gpu, cpu or a name substring (default: SPIKECL_DEVICE, else first GPU, else CPU)\n"
           "  --gemm B           GEMM backend: auto (default: SPIKECL_GEMM, else host BLAS on CPU devices, CLBlast\n"
           "                     elsewhere) | clblast | host\n"
           "  --seed N           seed of the weights, the shuffling and the encoder (default 1)\n"
           "  --out FILE         write a checkpoint after every epoch (atomically; see 'spikecl eval')\n",
           SPK_FASHION_MNIST_DIR);
}

/* --channels C1,C2 of the conv preset (parse_args applies --preset first). */
static int parse_channels(const char *v, spk_train_config *c)
{
    unsigned long c1 = 0, c2 = 0;
    int used = 0;
    if (!c->channels1) {
        fprintf(stderr, "spikecl train: --channels applies to the conv preset (--preset conv)\n");
        return 1;
    }
    if (sscanf(v, "%lu,%lu%n", &c1, &c2, &used) != 2 || v[used] || c1 < 1 || c2 < 1 || c1 > 4096 || c2 > 4096) {
        fprintf(stderr, "spikecl train: --channels expects two counts C1,C2 in 1..4096, got '%s'\n", v);
        return 1;
    }
    c->channels1 = c1;
    c->channels2 = c2;
    return 0;
}

/* The preset first, wherever --preset stands (the last one counts): it sets
 * every default, and the other options then change them in order. */
static int parse_args(int argc, char **argv, spk_train_config *c)
{
    const char *preset = "mlp";
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--preset") == 0)
            preset = argv[++i];
        else if (argv[i][0] == '-' && strcmp(argv[i], "--help") != 0 && strcmp(argv[i], "-h") != 0)
            i++; /* an option's value */
    if (spk_train_config_preset(c, preset) != 0) {
        fprintf(stderr, "spikecl train: unknown preset '%s' (mlp, mlp-fast, conv)\n", preset);
        return -1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "spikecl train: option %s needs a value (see --help)\n", a);
            return -1;
        }
        const char *v = argv[++i];
        size_t x = 0;
        int bad = 0;
        if (strcmp(a, "--preset") == 0) {
            /* applied above */
        } else if (strcmp(a, "--epochs") == 0) {
            bad = spk_cli_parse_size(a, v, 1, 100000, &c->epochs);
        } else if (strcmp(a, "--batch") == 0) {
            bad = spk_cli_parse_size(a, v, 1, 65536, &c->batch);
        } else if (strcmp(a, "--steps") == 0) {
            bad = spk_cli_parse_size(a, v, 1, 100000, &c->steps);
        } else if (strcmp(a, "--hidden") == 0) {
            bad = spk_cli_parse_size(a, v, 1, 1 << 20, &c->hidden);
        } else if (strcmp(a, "--channels") == 0) {
            bad = parse_channels(v, c);
        } else if (strcmp(a, "--limit-train") == 0) {
            bad = spk_cli_parse_size(a, v, 0, (size_t)1 << 40, &c->limit_train);
        } else if (strcmp(a, "--limit-test") == 0) {
            bad = spk_cli_parse_size(a, v, 0, (size_t)1 << 40, &c->limit_test);
        } else if (strcmp(a, "--seed") == 0) {
            bad = spk_cli_parse_size(a, v, 0, (size_t)-1, &x);
            c->seed = x;
        } else if (strcmp(a, "--lr") == 0) {
            char *end = NULL;
            c->lr = strtof(v, &end);
            bad = !*v || *end || !(c->lr > 0.0f) || !isfinite(c->lr);
            if (bad)
                fprintf(stderr, "spikecl train: --lr expects a positive number, got '%s'\n", v);
        } else if (strcmp(a, "--encoder") == 0) {
            bad = 1;
            for (int k = 0; k < 3; k++)
                if (strcmp(v, SPK_ENCODER_NAMES[k]) == 0)
                    c->encoder = k, bad = 0;
            if (bad)
                fprintf(stderr, "spikecl train: --encoder is direct, poisson or latency, not '%s'\n", v);
        } else if (strcmp(a, "--loss") == 0) {
            static const char *const NAMES[] = {"ce-count", "ce-mean-membrane", "ce-max-membrane", "mse-count"};
            bad = 1;
            for (int k = 0; k < 4; k++)
                if (strcmp(v, NAMES[k]) == 0)
                    c->loss = (spk_loss_kind)k, bad = 0;
            if (bad)
                fprintf(stderr, "spikecl train: unknown --loss '%s' (see --help)\n", v);
        } else if (strcmp(a, "--schedule") == 0) {
            static const char *const NAMES[] = {"constant", "cosine", "step"};
            bad = 1;
            for (int k = 0; k < 3; k++)
                if (strcmp(v, NAMES[k]) == 0)
                    c->schedule = k, bad = 0;
            if (bad)
                fprintf(stderr, "spikecl train: --schedule is cosine, step or constant, not '%s'\n", v);
        } else if (strcmp(a, "--clip") == 0) {
            char *end = NULL;
            c->clip = strtof(v, &end);
            bad = !*v || *end || !(c->clip > 0.0f) || !isfinite(c->clip);
            if (bad)
                fprintf(stderr, "spikecl train: --clip expects a positive number, got '%s'\n", v);
        } else if (strcmp(a, "--data") == 0) {
            c->data_dir = v;
        } else if (strcmp(a, "--device") == 0) {
            c->device = v;
        } else if (strcmp(a, "--gemm") == 0) {
            bad = spk_cli_parse_gemm("train", v, &c->gemm);
        } else if (strcmp(a, "--out") == 0) {
            c->checkpoint = v;
        } else {
            fprintf(stderr, "spikecl train: unknown option %s (see --help)\n", a);
            return -1;
        }
        if (bad)
            return -1;
    }
    return 0;
}

int spk_cmd_train(int argc, char **argv)
{
    spk_train_config c;
    int pr = parse_args(argc, argv, &c);
    if (pr)
        return pr > 0 ? 0 : 2;
    return spk_train_run(&c) == SPK_OK ? 0 : 1;
}

static void eval_usage(void)
{
    printf("usage: spikecl eval --checkpoint FILE [--data DIR] [--device SEL] [--gemm B] [--batch N] [--limit-test N]\n\n"
           "Rebuilds the network a checkpoint of 'spikecl train --out' describes, loads its parameters and prints\n"
           "the test accuracy.\n");
}

int spk_cmd_eval(int argc, char **argv)
{
    spk_train_config c;
    spk_train_config_preset(&c, "mlp");
    c.checkpoint = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            eval_usage();
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "spikecl eval: option %s needs a value (see --help)\n", a);
            return 2;
        }
        const char *v = argv[++i];
        int bad = 0;
        if (strcmp(a, "--checkpoint") == 0)
            c.checkpoint = v;
        else if (strcmp(a, "--data") == 0)
            c.data_dir = v;
        else if (strcmp(a, "--device") == 0)
            c.device = v;
        else if (strcmp(a, "--gemm") == 0)
            bad = spk_cli_parse_gemm("eval", v, &c.gemm);
        else if (strcmp(a, "--batch") == 0)
            bad = spk_cli_parse_size(a, v, 1, 65536, &c.batch);
        else if (strcmp(a, "--limit-test") == 0)
            bad = spk_cli_parse_size(a, v, 0, (size_t)1 << 40, &c.limit_test);
        else {
            fprintf(stderr, "spikecl eval: unknown option %s (see --help)\n", a);
            return 2;
        }
        if (bad)
            return 2;
    }
    if (!c.checkpoint) {
        fprintf(stderr, "spikecl eval: --checkpoint FILE is required\n");
        return 2;
    }
    return spk_eval_run(&c) == SPK_OK ? 0 : 1;
}
