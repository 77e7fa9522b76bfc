/* Tuned CLBlast parameters on a context: CLBlast's own values, applying a
 * set, loading the device's file at context creation, storing a set, and
 * the queries of tune.h. */
#include <clblast_c.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blas/clblast_params.h"
#include "blas/gemm_internal.h"
#include "blas/tune_file.h"
#include "blas/tune_space.h"

spk_status spk__tune_defaults(spk_context *ctx, spk_tune_params *out, char *why, size_t cap)
{
    spk__kernel_values v;
    memset(out, 0, sizeof *out);
    for (int k = 0; k < SPK__N_TUNE_KERNELS; k++) {
        const char *name = spk__tune_kernel_name((spk__tune_kernel)k);
        int s = spk__clblast_defaults(ctx->device, name, out);
        if (s != 0) {
            snprintf(why, cap, "CLBlast cannot report its %s parameters: %s (%d)", name,
                     s == 1 ? "too many" : spk__clblast_status_name(s), s);
            return SPK_ERR_UNSUPPORTED;
        }
        char detail[256];
        if (spk__tune_extract(out, (spk__tune_kernel)k, &v, detail, sizeof detail) != 1) {
            snprintf(why, cap, "this CLBlast's %s kernel has other parameters than spikecl knows (%s)", name, detail);
            return SPK_ERR_UNSUPPORTED;
        }
    }
    return SPK_OK;
}

spk_status spk__tune_apply(spk_context *ctx, const spk_tune_params *p, char *why, size_t cap)
{
    spk_tune_params defaults;
    /* CLBlast forgets its own values once overridden: remember them first. */
    spk_status st = spk__tune_defaults(ctx, &defaults, why, cap);
    if (st != SPK_OK)
        return st;
    for (int k = 0; k < SPK__N_TUNE_KERNELS; k++) {
        spk__kernel_values v;
        if (spk__tune_extract(p, (spk__tune_kernel)k, &v, NULL, 0) != 1)
            continue;
        size_t n;
        const char *const *names = spk__tune_param_names((spk__tune_kernel)k, &n);
        const char *kernel = spk__tune_kernel_name((spk__tune_kernel)k);
        CLBlastStatusCode s = CLBlastOverrideParameters(ctx->device, kernel, CLBlastPrecisionSingle, n,
                                                        (const char **)names, v.v);
        if (s != CLBlastSuccess) {
            snprintf(why, cap, "CLBlastOverrideParameters(%s) failed: %s (%d)", kernel, spk__clblast_status_name(s),
                     (int)s);
            return SPK_ERR_BLAS;
        }
    }
    return SPK_OK;
}

static spk_status resolve_mode(spk_clblast_tuning mode, spk_clblast_tuning *out, const char **source)
{
    spk_status st = SPK_OK;
    SPK_CHECK(NULL, (unsigned)mode <= SPK_TUNING_OFF, SPK_ERR_INVALID_ARGUMENT,
              "spk_context_create: clblast_tuning %d is not a spk_clblast_tuning", (int)mode);
    *out = mode;
    *source = "context option";
    if (mode != SPK_TUNING_AUTO)
        return SPK_OK;
    int on;
    *out = SPK_TUNING_LOAD;
    *source = "SPIKECL_TUNE";
    SPK_TRY(spk__env_switch("SPIKECL_TUNE", &on));
    if (on == 0)
        *out = SPK_TUNING_OFF;
fail:
    return st;
}

spk_status spk__tune_load(spk_context *ctx, spk_clblast_tuning mode)
{
    char path[1100], why[1024];
    const char *source;
    spk_status st = resolve_mode(mode, &mode, &source);
    if (st != SPK_OK)
        return st;
    ctx->tuning_loaded = 0;
    memset(&ctx->tuned, 0, sizeof ctx->tuned);
    if (mode == SPK_TUNING_OFF) {
        snprintf(ctx->tuning_info, sizeof ctx->tuning_info, "off (%s)", source);
        return SPK_OK;
    }
    if (!spk__tune_file_path(ctx, path, sizeof path)) {
        snprintf(ctx->tuning_info, sizeof ctx->tuning_info, "none: the disk cache is off");
        return SPK_OK;
    }
    spk_tune_params p;
    st = spk__tune_file_read(ctx, path, &p, why, sizeof why);
    if (st == SPK_ERR_IO && errno == ENOENT) {
        snprintf(ctx->tuning_info, sizeof ctx->tuning_info, "none: no file %s (run 'spikecl tune')", path);
        return SPK_OK;
    }
    if (st == SPK_OK)
        st = spk__tune_apply(ctx, &p, why, sizeof why);
    if (st != SPK_OK) {
        snprintf(ctx->tuning_info, sizeof ctx->tuning_info, "ignored %s: %s; using CLBlast's own parameters", path,
                 why);
        spk__log(ctx, SPK_LOG_WARN, "spikecl: tuned CLBlast parameters %s", ctx->tuning_info);
        return SPK_OK;
    }
    ctx->tuned = p;
    ctx->tuning_loaded = 1;
    snprintf(ctx->tuning_info, sizeof ctx->tuning_info, "loaded from %s", path);
    return SPK_OK;
}

/* Check params as a caller-given set, then apply them. */
static spk_status check_and_apply(spk_context *ctx, const spk_tune_params *params, const char *fn)
{
    spk_status st = SPK_OK;
    char why[1024];
    SPK_CHECK(ctx, ctx && params, SPK_ERR_NULL_POINTER, "%s: ctx or params is NULL", fn);
    SPK_CHECK(ctx, params->n <= SPK_TUNE_MAX_PARAMS, SPK_ERR_INVALID_ARGUMENT, "%s: %zu parameters, at most %d", fn,
              params->n, SPK_TUNE_MAX_PARAMS);
    SPK_CHECK(ctx, spk__tune_params_check(ctx, params, why, sizeof why), SPK_ERR_INVALID_ARGUMENT, "%s: %s", fn,
              why);
    st = spk__tune_apply(ctx, params, why, sizeof why);
    SPK_CHECK(ctx, st == SPK_OK, st, "%s: %s", fn, why);
fail:
    return st;
}

spk_status spk_tune_apply(spk_context *ctx, const spk_tune_params *params)
{
    return check_and_apply(ctx, params, "spk_tune_apply");
}

spk_status spk_tune_clblast_defaults(spk_context *ctx, spk_tune_params *out)
{
    spk_status st = SPK_OK;
    char why[1024];
    SPK_CHECK(ctx, ctx && out, SPK_ERR_NULL_POINTER, "spk_tune_clblast_defaults: ctx or out is NULL");
    st = spk__tune_defaults(ctx, out, why, sizeof why);
    SPK_CHECK(ctx, st == SPK_OK, st, "spk_tune_clblast_defaults: %s", why);
fail:
    return st;
}

spk_status spk_tune_store(spk_context *ctx, const spk_tune_params *params, char *path_out, size_t path_cap)
{
    spk_status st = SPK_OK;
    char path[1100];
    SPK_CHECK(ctx, ctx && params, SPK_ERR_NULL_POINTER, "spk_tune_store: ctx or params is NULL");
    SPK_CHECK(ctx, spk__tune_file_path(ctx, path, sizeof path), SPK_ERR_UNSUPPORTED,
              "spk_tune_store: the context's disk cache is off: nowhere to store tuned parameters");
    SPK_TRY(check_and_apply(ctx, params, "spk_tune_store"));
    SPK_TRY(spk__tune_file_write(ctx, path, params));
    if (path_out && path_cap)
        spk__copy_str(path_out, path_cap, path);
fail:
    return st;
}

const char *spk_context_tuning(const spk_context *ctx, int *loaded)
{
    if (loaded)
        *loaded = ctx ? ctx->tuning_loaded : 0;
    return ctx ? ctx->tuning_info : "";
}

spk_status spk_context_tuned_params(const spk_context *ctx, spk_tune_params *out)
{
    if (!ctx || !out)
        return spk__error(ctx, SPK_ERR_NULL_POINTER, "spk_context_tuned_params: ctx or out is NULL");
    *out = ctx->tuned;
    return SPK_OK;
}
