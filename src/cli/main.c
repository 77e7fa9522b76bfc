/* The spikecl command: one subcommand per file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} command;

static const command COMMANDS[] = {
    {"devices", spk_cmd_devices, "list OpenCL platforms and devices; * marks the default"},
    {"train", spk_cmd_train, "train a spiking network on Fashion-MNIST with surrogate gradients"},
    {"eval", spk_cmd_eval, "evaluate a checkpoint written by 'spikecl train --out'"},
    {"demo", spk_cmd_demo, "drive a LIF layer with Poisson input and print spike counts"},
    {"bench", spk_cmd_bench, "benchmark suites on every OpenCL device: one table, optional JSON"},
    {"tune", spk_cmd_tune, "tune CLBlast's GEMM parameters for a device and store them for later runs"},
};

void spk_cli_report(const spk_context *ctx, spk_status st, const char *what)
{
    const char *detail = spk_context_last_error(ctx);
    fprintf(stderr, "spikecl: %s failed: %s\n", what, detail && *detail ? detail : spk_status_str(st));
}

int spk_cli_parse_size(const char *opt, const char *v, size_t lo, size_t hi, size_t *out)
{
    char *end = NULL;
    unsigned long long x = strtoull(v, &end, 10);
    if (!*v || *v == '-' || *end || x < lo || x > hi) {
        fprintf(stderr, "spikecl: %s expects an integer in %zu..%zu, got '%s'\n", opt, lo, hi, v);
        return -1;
    }
    *out = (size_t)x;
    return 0;
}

int spk_cli_parse_gemm(const char *cmd, const char *v, spk_gemm_backend *out)
{
    for (int b = SPK_GEMM_AUTO; b <= SPK_GEMM_HOST; b++)
        if (strcmp(v, spk_gemm_backend_name((spk_gemm_backend)b)) == 0) {
            *out = (spk_gemm_backend)b;
            return 0;
        }
    fprintf(stderr, "spikecl %s: --gemm is auto, clblast or host, not '%s'\n", cmd, v);
    return 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: spikecl <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(f, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].help);
    fprintf(f, "\nenvironment: SPIKECL_DEVICE (p:d, gpu, cpu or a name substring), SPIKECL_CACHE_DIR (or off),\n"
               "             SPIKECL_GEMM (auto, clblast, host), SPIKECL_TUNE (off: ignore tuned CLBlast parameters)\n"
               "'spikecl <command> --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("spikecl %s\n", spk_version_string());
        return 0;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (strcmp(argv[1], COMMANDS[i].name) == 0)
            return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "spikecl: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
