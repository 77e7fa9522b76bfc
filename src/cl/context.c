/* Context: one device, one in-order queue, caches, seed and error detail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blas/gemm_internal.h"
#include "cl/device.h"

spk_context_options spk_context_options_default(void)
{
    spk_context_options o;
    memset(&o, 0, sizeof o);
    o.log_level = SPK_LOG_WARN;
    return o;
}

/* $XDG_CACHE_HOME/<name>, else $HOME/.cache/<name>, allocated into *out;
 * NULL where neither variable is set. */
static spk_status user_cache_dir(const char *name, char **out)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    const char *base = xdg && *xdg ? xdg : home, *mid = xdg && *xdg ? "/" : "/.cache/";
    *out = NULL;
    if (!base || !*base)
        return SPK_OK;
    size_t n = strlen(base) + strlen(mid) + strlen(name) + 1;
    *out = spk__malloc(n);
    if (!*out)
        return SPK_ERR_OUT_OF_MEMORY;
    snprintf(*out, n, "%s%s%s", base, mid, name);
    return SPK_OK;
}

/* Where the disk cache lives; NULL when it is off. */
static spk_status resolve_cache_dir(const char *opt, char **out)
{
    const char *dir = opt ? opt : getenv("SPIKECL_CACHE_DIR");
    *out = NULL;
    if (dir && (strcmp(dir, "off") == 0 || !*dir))
        return SPK_OK;
    if (dir) {
        *out = spk__strdup(dir);
        return *out ? SPK_OK : SPK_ERR_OUT_OF_MEMORY;
    }
    return user_cache_dir("spikecl", out); /* NULL: nowhere to write, no disk cache */
}

/* Whether PoCL can keep its kernel cache: POCL_KERNEL_CACHE is not 0 and
 * its directory (POCL_CACHE_DIR, else $XDG_CACHE_HOME/pocl, else
 * $HOME/.cache/pocl, else /tmp), or the nearest part of that path that
 * exists, is a directory we may write. */
static int pocl_cache_usable(void)
{
    const char *off = getenv("POCL_KERNEL_CACHE"), *dir = getenv("POCL_CACHE_DIR");
    if (off && strcmp(off, "0") == 0)
        return 0;
    char path[4096], *user = NULL;
    if (!(dir && *dir) && user_cache_dir("pocl", &user) != SPK_OK)
        return 0;
    int n = snprintf(path, sizeof path, "%s", dir && *dir ? dir : user ? user : "/tmp");
    spk__free(user);
    if (n <= 0 || (size_t)n >= sizeof path)
        return 0;
    for (;;) {
        struct stat sb;
        if (stat(path, &sb) == 0)
            return S_ISDIR(sb.st_mode) && access(path, W_OK | X_OK) == 0;
        char *slash = strrchr(path, '/');
        if (!slash)
            return 0;
        if (slash == path) {
            path[1] = '\0'; /* "/" */
            continue;
        }
        *slash = '\0';
    }
}

/* Whether this context writes program binaries (spk_program_binaries).
 * PoCL's binary costs code generation for every kernel of the program,
 * and its own kernel cache (on unless POCL_KERNEL_CACHE=0) already warms
 * the next start, so AUTO leaves PoCL's programs to it where it can write
 * that cache. */
static spk_status resolve_binaries(spk_context *ctx, spk_program_binaries mode)
{
    spk_status st = SPK_OK;
    SPK_CHECK(NULL, (unsigned)mode <= SPK_BINARIES_SKIP, SPK_ERR_INVALID_ARGUMENT,
              "spk_context_create: program_binaries must be AUTO, WRITE or SKIP, got %d", (int)mode);
    int on = -1;
    if (mode == SPK_BINARIES_AUTO)
        SPK_TRY(spk__env_switch("SPIKECL_CACHE_BINARIES", &on));
    if (on >= 0)
        mode = on ? SPK_BINARIES_WRITE : SPK_BINARIES_SKIP;
    if (mode == SPK_BINARIES_AUTO) {
        int pocl = strstr(ctx->info.platform_name, "Portable Computing Language") != NULL;
        mode = pocl && pocl_cache_usable() ? SPK_BINARIES_SKIP : SPK_BINARIES_WRITE;
    }
    ctx->write_binaries = mode == SPK_BINARIES_WRITE;
fail:
    return st;
}

spk_status spk_context_create(const spk_context_options *opts_in, spk_context **out)
{
    spk_status st = SPK_OK;
    spk_context *ctx = NULL;
    spk__clear_error(NULL);
    SPK_CHECK(NULL, out != NULL, SPK_ERR_NULL_POINTER, "spk_context_create: out is NULL");
    *out = NULL;
    spk_context_options opts = opts_in ? *opts_in : spk_context_options_default();
    const char *selector = opts.device ? opts.device : getenv("SPIKECL_DEVICE");

    spk__device_ref ref;
    SPK_TRY(spk__device_select(selector, &ref));

    ctx = spk__calloc(1, sizeof *ctx);
    SPK_CHECK(NULL, ctx != NULL, SPK_ERR_OUT_OF_MEMORY, "spk_context_create: out of host memory");
    ctx->platform = ref.platform;
    ctx->device = ref.device;
    ctx->seed = opts.seed;
    ctx->log = opts.log;
    ctx->log_user = opts.log_user;
    ctx->log_level = opts.log_level;
    spk__device_describe(ref.platform, ref.device, ref.platform_index, ref.device_index, &ctx->info);
    ctx->info.is_default = ref.is_default;
    if (clGetDeviceInfo(ref.device, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof ctx->native_float_width,
                        &ctx->native_float_width, NULL) != CL_SUCCESS ||
        ctx->native_float_width < 1)
        ctx->native_float_width = 1;
    if (clGetDeviceInfo(ref.device, CL_DEVICE_GLOBAL_MEM_CACHE_SIZE, sizeof ctx->cache_bytes, &ctx->cache_bytes,
                        NULL) != CL_SUCCESS)
        ctx->cache_bytes = 0;
    /* Development switch: the kernels' GPU variants on a CPU device, so
     * that the tests cover them where no GPU is (spk__step_sync). */
    const char *gpu_layout = getenv("SPIKECL_GPU_LAYOUT");
    ctx->gpu_layout = ctx->info.is_cpu && gpu_layout && *gpu_layout && strcmp(gpu_layout, "0") != 0;

    cl_int err = CL_SUCCESS;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)ref.platform, 0};
    ctx->cl = clCreateContext(props, 1, &ref.device, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        st = spk__cl_error(NULL, err, "clCreateContext");
        goto fail;
    }
    ctx->queue = clCreateCommandQueue(ctx->cl, ref.device, 0, &err);
    if (err != CL_SUCCESS) {
        st = spk__cl_error(NULL, err, "clCreateCommandQueue");
        goto fail;
    }
    SPK_TRY(spk__gemm_backend_resolve(ctx, opts.gemm_backend));
    st = resolve_cache_dir(opts.cache_dir, &ctx->cache_dir);
    SPK_CHECK(NULL, st == SPK_OK, st, "spk_context_create: out of host memory");
    SPK_TRY(resolve_binaries(ctx, opts.program_binaries));
    const char *kdir = opts.kernel_dir ? opts.kernel_dir : getenv("SPIKECL_KERNEL_DIR");
    if (kdir && *kdir) {
        ctx->kernel_dir = spk__strdup(kdir);
        SPK_CHECK(NULL, ctx->kernel_dir != NULL, SPK_ERR_OUT_OF_MEMORY, "spk_context_create: out of host memory");
    }
    SPK_TRY(spk__tune_load(ctx, opts.clblast_tuning));
    spk__log(ctx, SPK_LOG_INFO,
             "spikecl: device %d:%d %s (%s), GEMM %s, disk cache %s (program binaries %s), tuned CLBlast parameters %s",
             ref.platform_index, ref.device_index, ctx->info.device_name, ctx->info.platform_name,
             spk_gemm_backend_name(ctx->gemm_backend), ctx->cache_dir ? ctx->cache_dir : "off",
             ctx->write_binaries ? "written" : "left to the driver's cache", ctx->tuning_info);
    *out = ctx;
    return SPK_OK;
fail:
    spk_context_free(ctx);
    return st;
}

void spk_context_free(spk_context *ctx)
{
    if (!ctx)
        return;
    if (ctx->queue)
        clFinish(ctx->queue);
    if (ctx->cache_dir)
        spk__programs_save(ctx);
    spk__programs_free(ctx);
    if (ctx->queue)
        clReleaseCommandQueue(ctx->queue);
    if (ctx->cl)
        clReleaseContext(ctx->cl);
    spk__free(ctx->cache_dir);
    spk__free(ctx->kernel_dir);
    spk__free(ctx);
}

spk_status spk_context_device(const spk_context *ctx, spk_device_info *out)
{
    if (!ctx || !out)
        return spk__error(ctx, SPK_ERR_NULL_POINTER, "spk_context_device: ctx or out is NULL");
    *out = ctx->info;
    return SPK_OK;
}

spk_status spk_context_finish(spk_context *ctx)
{
    spk_status st = SPK_OK;
    SPK_CHECK(ctx, ctx != NULL, SPK_ERR_NULL_POINTER, "spk_context_finish: ctx is NULL");
    CL_TRY(ctx, clFinish(ctx->queue));
fail:
    return st;
}

uint64_t spk_context_seed(const spk_context *ctx)
{
    return ctx ? ctx->seed : 0;
}

spk_status spk_context_cache_stats(const spk_context *ctx, spk_cache_stats *out)
{
    if (!ctx || !out)
        return spk__error(ctx, SPK_ERR_NULL_POINTER, "spk_context_cache_stats: ctx or out is NULL");
    *out = ctx->cache_stats;
    return SPK_OK;
}

spk_status spk_context_launch_stats(const spk_context *ctx, spk_launch_stats *out)
{
    if (!ctx || !out)
        return spk__error(ctx, SPK_ERR_NULL_POINTER, "spk_context_launch_stats: ctx or out is NULL");
    *out = ctx->launch_stats;
    return SPK_OK;
}

spk_status spk_context_memory_stats(const spk_context *ctx, spk_memory_stats *out)
{
    if (!ctx || !out)
        return spk__error(ctx, SPK_ERR_NULL_POINTER, "spk_context_memory_stats: ctx or out is NULL");
    *out = ctx->memory;
    return SPK_OK;
}

void spk_context_reset_memory_peak(spk_context *ctx)
{
    if (ctx)
        ctx->memory.peak_bytes = ctx->memory.bytes;
}

void spk__mem_made(spk_context *ctx, size_t bytes)
{
    ctx->memory.bytes += bytes;
    if (ctx->memory.bytes > ctx->memory.peak_bytes)
        ctx->memory.peak_bytes = ctx->memory.bytes;
}

void spk__mem_release(spk_context *ctx, cl_mem m)
{
    cl_uint refs = 0;
    size_t size = 0;
    if (clGetMemObjectInfo(m, CL_MEM_REFERENCE_COUNT, sizeof refs, &refs, NULL) == CL_SUCCESS && refs == 1 &&
        clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof size, &size, NULL) == CL_SUCCESS && size <= ctx->memory.bytes)
        ctx->memory.bytes -= size;
    clReleaseMemObject(m);
}

spk_status spk_context_cache_save(spk_context *ctx)
{
    spk_status st = SPK_OK;
    SPK_CHECK(ctx, ctx != NULL, SPK_ERR_NULL_POINTER, "spk_context_cache_save: ctx is NULL");
    CL_TRY(ctx, clFinish(ctx->queue)); /* the launches' code is generated when they run */
    if (ctx->cache_dir)
        spk__programs_save(ctx);
fail:
    return st;
}

const char *spk_context_cache_dir(const spk_context *ctx)
{
    return ctx ? ctx->cache_dir : NULL;
}
