#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#ifdef SPK_CLI_HAVE_BLAS
#include "blas/host_blas.h"
#endif

/* Why the library has no host BLAS (it loads OpenBLAS as this command does). */
static const char *host_blas_missing(void)
{
#ifdef SPK_CLI_HAVE_BLAS
    const char *why = NULL;
    return spk__host_blas_get(&why) ? "unknown" : why;
#else
    return "this spikecl was built without one";
#endif
}

const char *spk_cli_host_blas_kernels(void)
{
#ifdef SPK_CLI_HAVE_BLAS
    const spk__host_blas *blas = spk__host_blas_get(NULL);
    return blas && blas->get_corename ? blas->get_corename() : NULL;
#else
    return NULL;
#endif
}

/* OpenBLAS's generic x86-64 kernels ("Prescott", what it runs on a CPU
 * model newer than its table) on a CPU with AVX2: say which to ask for.
 * spikecl asks itself on Intel CPUs (src/blas/host_blas.c), not on others. */
static void print_blas_hint(const char *kernels)
{
#ifdef SPK_CLI_HAVE_BLAS
    const char *better = spk__host_blas_kernels_for_cpu();
    if (kernels && better && strcmp(kernels, "Prescott") == 0)
        printf("        OpenBLAS does not know this CPU and runs generic SSE3 kernels: OPENBLAS_CORETYPE=%s "
               "runs GEMMs several times faster\n",
               better);
#else
    (void)kernels;
#endif
}

/* What a context on device p:d does with tuned CLBlast parameters. */
static void print_tuning(const spk_device_info *d)
{
    char sel[32];
    spk_context *ctx = NULL;
    spk_context_options o = spk_context_options_default();
    snprintf(sel, sizeof sel, "%d:%d", d->platform_index, d->device_index);
    o.device = sel;
    o.gemm_backend = SPK_GEMM_CLBLAST;
    if (spk_context_create(&o, &ctx) != SPK_OK) {
        printf("        tuned CLBlast parameters: unknown (no context: %s)\n", spk_context_last_error(NULL));
        return;
    }
    printf("        tuned CLBlast parameters: %s\n", spk_context_tuning(ctx, NULL));
    spk_context_free(ctx);
}

int spk_cmd_devices(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: spikecl devices\n\nLists every OpenCL device with its key limits; * marks the device a "
               "context picks by default.\nSelect another with SPIKECL_DEVICE=p:d, gpu, cpu or a name substring.\n");
        return 0;
    }
    spk_device_info infos[64];
    size_t n = 0;
    spk_status st = spk_devices_list(infos, 64, &n);
    if (st != SPK_OK) {
        spk_cli_report(NULL, st, "listing devices");
        return 1;
    }
    if (n == 0) {
        printf("no OpenCL device found: install a driver (for the CPU: apt-get install pocl-opencl-icd)\n");
        return 1;
    }
    int last_platform = -1;
    for (size_t i = 0; i < n && i < 64; i++) {
        const spk_device_info *d = &infos[i];
        if (d->platform_index != last_platform) {
            printf("platform %d: %s (%s)\n", d->platform_index, d->platform_name, d->platform_version);
            last_platform = d->platform_index;
        }
        printf(" %c %d:%d  %s [%s]\n", d->is_default ? '*' : ' ', d->platform_index, d->device_index,
               d->device_name, d->is_gpu ? "GPU" : d->is_cpu ? "CPU" : "other");
        printf("        vendor %s, driver %s, %s\n", d->vendor, d->driver_version, d->device_version);
        printf("        %u compute units at %u MHz, global memory %.1f GiB (largest allocation %.1f GiB), "
               "local memory %llu KiB, work-group size up to %zu\n",
               d->compute_units, d->max_clock_mhz, (double)d->global_mem_bytes / (1 << 30),
               (double)d->max_alloc_bytes / (1 << 30), (unsigned long long)(d->local_mem_bytes / 1024),
               d->max_work_group_size);
        if (!d->is_cpu)
            printf("        GEMM: clblast\n");
        else if (spk_gemm_host_available()) {
            const char *kernels = spk_cli_host_blas_kernels();
            printf("        GEMM: host BLAS, OpenBLAS with its %s kernels (SPIKECL_GEMM=clblast for CLBlast)\n",
                   kernels ? kernels : "(unnamed)");
            print_blas_hint(kernels);
        }
        else
            printf("        GEMM: clblast (no host BLAS: %s)\n", host_blas_missing());
        print_tuning(d);
    }
    return 0;
}
