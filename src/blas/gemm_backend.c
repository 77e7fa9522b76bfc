/* Choosing the GEMM backend of a context. The automatic rule is the one the
 * measurements in bench/RESULTS.md support: a host BLAS on mapped buffers
 * beats CLBlast wherever the device computes in host memory (CPU devices),
 * and is impossible elsewhere. */
#include <stdlib.h>
#include <string.h>

#include "blas/gemm_internal.h"
#ifdef SPK_HAVE_HOST_BLAS
#include "blas/host_blas.h"
#endif

static const char *const BACKEND_NAMES[] = {"auto", "clblast", "host"};

const char *spk_gemm_backend_name(spk_gemm_backend b)
{
    return (unsigned)b <= SPK_GEMM_HOST ? BACKEND_NAMES[b] : NULL;
}

/* Why the host BLAS cannot be used, or NULL when it can. */
static const char *host_unavailable(void)
{
#ifdef SPK_HAVE_HOST_BLAS
    const char *why = NULL;
    return spk__host_blas_get(&why) ? NULL : why;
#else
    return "this spikecl was built without a host BLAS (OpenBLAS)";
#endif
}

int spk_gemm_host_available(void)
{
    return host_unavailable() == NULL;
}

spk_gemm_backend spk_context_gemm_backend(const spk_context *ctx)
{
    return ctx ? ctx->gemm_backend : SPK_GEMM_AUTO;
}

/* The device computes in host memory, so a mapped buffer is the device's own
 * memory, not a copy. */
static int device_shares_host_memory(const spk_context *ctx)
{
    cl_bool unified = CL_FALSE;
    if (!ctx->info.is_cpu)
        return 0;
    if (clGetDeviceInfo(ctx->device, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL) != CL_SUCCESS)
        return 0;
    return unified == CL_TRUE;
}

static spk_status parse_env(spk_gemm_backend *out)
{
    const char *env = getenv("SPIKECL_GEMM");
    *out = SPK_GEMM_AUTO;
    if (!env || !*env)
        return SPK_OK;
    for (int b = SPK_GEMM_AUTO; b <= SPK_GEMM_HOST; b++)
        if (strcmp(env, BACKEND_NAMES[b]) == 0) {
            *out = (spk_gemm_backend)b;
            return SPK_OK;
        }
    return spk__error(NULL, SPK_ERR_INVALID_ARGUMENT,
                      "SPIKECL_GEMM=%s: expected \"auto\", \"clblast\" or \"host\"", env);
}

spk_status spk__gemm_backend_resolve(spk_context *ctx, spk_gemm_backend requested)
{
    spk_status st = SPK_OK;
    SPK_CHECK(NULL, (unsigned)requested <= SPK_GEMM_HOST, SPK_ERR_INVALID_ARGUMENT,
              "spk_context_create: gemm_backend %d is not a spk_gemm_backend", (int)requested);
    if (requested == SPK_GEMM_AUTO)
        SPK_TRY(parse_env(&requested));
    int host_possible = spk_gemm_host_available() && device_shares_host_memory(ctx);
    if (requested == SPK_GEMM_HOST) {
        SPK_CHECK(NULL, spk_gemm_host_available(), SPK_ERR_UNSUPPORTED, "host GEMM requested, but %s",
                  host_unavailable());
        SPK_CHECK(NULL, host_possible, SPK_ERR_UNSUPPORTED,
                  "host GEMM requested, but device %s does not compute in host memory (only CPU devices do)",
                  ctx->info.device_name);
    }
    ctx->gemm_backend = requested != SPK_GEMM_AUTO ? requested : host_possible ? SPK_GEMM_HOST : SPK_GEMM_CLBLAST;
fail:
    return st;
}
