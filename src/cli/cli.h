#ifndef SPK_CLI_H
#define SPK_CLI_H
#include "spikecl/spikecl.h"

int spk_cmd_devices(int argc, char **argv);
int spk_cmd_demo(int argc, char **argv);
int spk_cmd_train(int argc, char **argv);
int spk_cmd_eval(int argc, char **argv);
int spk_cmd_bench(int argc, char **argv);
int spk_cmd_tune(int argc, char **argv);

/* The CLI uses only the public API: its own try macro, same style. */
#define CLI_TRY(expr)         \
    do {                      \
        st = (expr);          \
        if (st != SPK_OK)     \
            goto fail;        \
    } while (0)

/* Parse option opt's value v as an integer in lo..hi into *out; on error
 * print why and return -1. */
int spk_cli_parse_size(const char *opt, const char *v, size_t lo, size_t hi, size_t *out);

/* Parse --gemm's value v (auto, clblast, host) for command cmd; on error
 * print why and return 1. */
int spk_cli_parse_gemm(const char *cmd, const char *v, spk_gemm_backend *out);

/* Print "spikecl: <status name>: <detail>" for a failed call. */
void spk_cli_report(const spk_context *ctx, spk_status st, const char *what);

/* The kernel set of the host BLAS that spikecl loads ("SkylakeX": see
 * src/blas/host_blas.c), or NULL when it has none or does not say. */
const char *spk_cli_host_blas_kernels(void);
#endif
