/* Program building with two cache layers: per context in memory, and on
 * disk keyed by everything that can change the binary (see disk_cache.c).
 *
 * A program compiled from source is written to disk later, by
 * spk__programs_save (spk_context_cache_save, spk_context_free), not at
 * once: PoCL makes a binary by generating code for every kernel of the
 * program, which costs more than the compile itself, and PoCL generates a
 * kernel's code for its work-group size only at the first launch. Written
 * after the launches, the binary holds that code too (bench/RESULTS.md,
 * "Cold start"). Where PoCL keeps its own kernel cache, no binary is made
 * at all by default (spk_program_binaries in spikecl/context.h). */
#include <stdio.h>
#include <string.h>

#include "cl/cl_internal.h"
#include "cl/disk_cache.h"
#include "cl/kernel_sources.h"
#include "cl/program_bundle.h"

#define MAX_KERNELS_PER_PROGRAM 16

struct spk__program_entry {
    char *file;
    char *options;
    cl_program program;
    char *disk_key; /* compiled from source, not yet on disk: its cache key */
    size_t n_kernels;
    char *kernel_names[MAX_KERNELS_PER_PROGRAM];
    cl_kernel kernels[MAX_KERNELS_PER_PROGRAM];
    spk__program_entry *next;
};

static void entry_free(spk__program_entry *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n_kernels; i++) {
        clReleaseKernel(e->kernels[i]);
        spk__free(e->kernel_names[i]);
    }
    if (e->program)
        clReleaseProgram(e->program);
    spk__free(e->file);
    spk__free(e->options);
    spk__free(e->disk_key);
    spk__free(e);
}

void spk__programs_free(spk_context *ctx)
{
    spk__program_entry *e = ctx->programs;
    while (e) {
        spk__program_entry *next = e->next;
        entry_free(e);
        e = next;
    }
    ctx->programs = NULL;
    spk__program_expected_free(ctx);
}

/* Fetch the build log into the context's error detail. */
static spk_status build_error(spk_context *ctx, cl_program prog, cl_int err, const char *file, const char *options)
{
    char log[SPK_ERROR_DETAIL_MAX / 2];
    size_t n = 0;
    log[0] = '\0';
    if (clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, &n) != CL_SUCCESS) {
        /* The log is larger than our buffer: fetch it whole and keep the head. */
        size_t full = 0;
        clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &full);
        char *big = full ? spk__malloc(full + 1) : NULL;
        if (big && clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, full, big, NULL) == CL_SUCCESS) {
            big[full] = '\0';
            spk__copy_str(log, sizeof log, big);
        }
        spk__free(big);
    }
    log[sizeof log - 1] = '\0';
    return spk__error(ctx, SPK_ERR_BUILD, "building kernels/%s with options '%s' failed: %s (%d). Build log:\n%s",
                      file, options, spk__cl_error_name(err), (int)err, log);
}

/* quiet: a failure records no error (a bundle falls back to its files one by one). */
static spk_status build_from_source(spk_context *ctx, const spk__source_text *src, const char *file,
                                    const char *options, int quiet, cl_program *out)
{
    spk_status st = SPK_OK;
    cl_int err = CL_SUCCESS;
    cl_program prog = clCreateProgramWithSource(ctx->cl, (cl_uint)src->n_parts, (const char **)src->parts, src->lengths, &err);
    if (err != CL_SUCCESS)
        return spk__cl_error(ctx, err, "clCreateProgramWithSource");
    err = clBuildProgram(prog, 1, &ctx->device, options, NULL, NULL);
    if (err != CL_SUCCESS && quiet) {
        clReleaseProgram(prog);
        return SPK_ERR_BUILD;
    }
    if (err != CL_SUCCESS) {
        st = err == CL_BUILD_PROGRAM_FAILURE || err == CL_INVALID_BUILD_OPTIONS
                 ? build_error(ctx, prog, err, file, options)
                 : spk__cl_error(ctx, err, "clBuildProgram");
        clReleaseProgram(prog);
        return st;
    }
    ctx->cache_stats.compiles++;
    *out = prog;
    return SPK_OK;
}

/* The program of src (file: its name in messages) from the disk cache, else
 * compiled from source; then *unsaved receives its cache key (NULL with the
 * cache off). */
static spk_status build_program(spk_context *ctx, const spk__source_text *src, const char *file, const char *options,
                                int quiet, cl_program *out, char **unsaved)
{
    spk_status st = SPK_OK;
    cl_program prog = NULL;
    char *key = NULL;
    if (ctx->cache_dir) {
        key = spk__disk_cache_key(ctx, src, options);
        SPK_CHECK(ctx, key != NULL, SPK_ERR_OUT_OF_MEMORY, "program cache: out of host memory");
    }
    if (key && spk__disk_cache_load(ctx, key, options, &prog) == SPK_OK) {
        ctx->cache_stats.disk_hits++;
    } else {
        SPK_TRY(build_from_source(ctx, src, file, options, quiet, &prog));
        *unsaved = key;
        key = NULL;
    }
    *out = prog;
fail:
    spk__free(key);
    return st;
}

void spk__programs_save(spk_context *ctx)
{
    for (spk__program_entry *e = ctx->programs; e; e = e->next)
        if (e->disk_key) {
            if (!ctx->write_binaries)
                ctx->cache_stats.disk_skips++;
            else if (spk__disk_cache_store(ctx, e->disk_key, e->program))
                ctx->cache_stats.disk_writes++;
            spk__free(e->disk_key); /* written, or logged as unwritable: not tried again */
            e->disk_key = NULL;
        }
}

static spk__program_entry *find_entry(spk_context *ctx, const char *file, const char *options)
{
    for (spk__program_entry *e = ctx->programs; e; e = e->next)
        if (strcmp(e->file, file) == 0 && strcmp(e->options, options) == 0)
            return e;
    return NULL;
}

static spk_status entry_new(spk_context *ctx, const char *file, const char *options, cl_program prog,
                            spk__program_entry **out)
{
    spk_status st = SPK_OK;
    spk__program_entry *e = spk__calloc(1, sizeof *e);
    SPK_CHECK(ctx, e != NULL, SPK_ERR_OUT_OF_MEMORY, "program cache: out of host memory");
    e->file = spk__strdup(file);
    e->options = spk__strdup(options);
    SPK_CHECK(ctx, e->file && e->options, SPK_ERR_OUT_OF_MEMORY, "program cache: out of host memory");
    e->program = prog;
    e->next = ctx->programs;
    ctx->programs = e;
    *out = e;
    return SPK_OK;
fail:
    entry_free(e);
    clReleaseProgram(prog);
    return st;
}

void spk__program_expect(spk_context *ctx, const char *file, const char *options)
{
    if (!find_entry(ctx, file, options))
        spk__program_expected_add(ctx, file, options);
}

/* The files to build with kernels/file: it first, then each expected
 * program of another file not built yet whose options fit with all those
 * before it. Returns how many (1: alone); src holds their sources. */
static size_t plan_bundle(spk_context *ctx, const char *file, const char *options, const char **files,
                          const char **opts, spk__source_text *src)
{
    size_t n = 1, most = spk__source_files_max();
    files[0] = file, opts[0] = options;
    if (most > SPK_BUNDLE_MAX)
        most = SPK_BUNDLE_MAX;
    for (const spk__program_expected *x = ctx->expected; x && n < most; x = x->next) {
        int taken = find_entry(ctx, x->file, x->options) != NULL;
        for (size_t i = 0; i < n && !taken; i++)
            taken = strcmp(files[i], x->file) == 0;
        if (!taken)
            files[n] = x->file, opts[n++] = x->options;
    }
    if (n == 1 || spk__source_load_files(ctx, files, n, src) != SPK_OK)
        return 1;
    spk__bundle_rules *rules = spk__bundle_rules_new(src);
    size_t kept = 1, at[SPK_BUNDLE_MAX] = {0}; /* at[i]: where kept file i is in src */
    for (size_t c = 1; c < n && rules; c++) {
        int fits = 1;
        for (size_t i = 0; i < kept && fits; i++)
            fits = spk__bundle_fits(rules, c, opts[c], at[i], opts[i]);
        if (fits)
            at[kept] = c, files[kept] = files[c], opts[kept++] = opts[c];
    }
    spk__bundle_rules_free(rules);
    if (kept == n)
        return n;
    spk__source_free(src);
    if (kept > 1 && spk__source_load_files(ctx, files, kept, src) != SPK_OK)
        return 1;
    return kept;
}

/* Build kernels/file with options and, in the same program, the expected
 * programs that fit (cl/program_bundle.h); one entry per file. A bundle
 * that fails to build falls back to the file alone. */
static spk_status build_entries(spk_context *ctx, const char *file, const char *options, spk__program_entry **out)
{
    spk_status st = SPK_OK;
    const char *files[SPK_BUNDLE_MAX], *opts[SPK_BUNDLE_MAX];
    char name[256], *bundle_opts = NULL, *key = NULL;
    spk__source_text src = {0};
    cl_program prog = NULL;
    size_t n = plan_bundle(ctx, file, options, files, opts, &src);
    if (n > 1) {
        bundle_opts = spk__bundle_options(opts, n);
        size_t len = 0;
        name[0] = '\0';
        for (size_t i = 0; i < n; i++) { /* "lif.cl+sparse_synapse.cl+...", cut short if it must be */
            int w = snprintf(name + len, sizeof name - len, "%s%s", i ? "+" : "", files[i]);
            if (w < 0 || (size_t)w >= sizeof name - len)
                break;
            len += (size_t)w;
        }
        if (!bundle_opts || build_program(ctx, &src, name, bundle_opts, 1, &prog, &key) != SPK_OK) {
            spk__log(ctx, SPK_LOG_DEBUG, "programs %s did not build as one: building %s alone", name, file);
            prog = NULL;
            n = 1;
        }
        spk__source_free(&src);
    }
    if (n == 1) {
        SPK_TRY(spk__source_load(ctx, file, &src));
        SPK_TRY(build_program(ctx, &src, file, options, 0, &prog, &key));
    }
    /* every entry holds a reference; the first holds the disk key */
    for (size_t i = n; i-- > 0;) {
        spk__program_entry *e = NULL;
        if (i > 0)
            clRetainProgram(prog);
        cl_program mine = prog;
        if (i == 0)
            prog = NULL;
        SPK_TRY(entry_new(ctx, files[i], opts[i], mine, &e));
        if (i == 0)
            e->disk_key = key, key = NULL, *out = e;
    }
    for (size_t i = n; i-- > 0;)
        spk__program_expected_remove(ctx, files[i], opts[i]);
fail:
    if (prog)
        clReleaseProgram(prog);
    spk__free(key);
    spk__free(bundle_opts);
    spk__source_free(&src);
    return st;
}

static spk_status entry_get(spk_context *ctx, const char *file, const char *options, spk__program_entry **out)
{
    spk__program_entry *e = find_entry(ctx, file, options);
    if (e) {
        ctx->cache_stats.memory_hits++;
        *out = e;
        return SPK_OK;
    }
    return build_entries(ctx, file, options, out);
}

spk_status spk_context_compile_pending(spk_context *ctx, size_t *n_programs)
{
    spk_status st = SPK_OK;
    size_t n = 0;
    SPK_CHECK(ctx, ctx != NULL, SPK_ERR_NULL_POINTER, "spk_context_compile_pending: ctx is NULL");
    while (ctx->expected && st == SPK_OK) { /* each build takes the first expected program off the list */
        char *file = spk__strdup(ctx->expected->file), *options = spk__strdup(ctx->expected->options);
        spk__program_entry *e = NULL;
        if (!file || !options) /* copies: the build frees the list's strings */
            st = spk__error(ctx, SPK_ERR_OUT_OF_MEMORY, "spk_context_compile_pending: out of host memory");
        else if (find_entry(ctx, file, options)) /* built already: only the note goes */
            spk__program_expected_remove(ctx, file, options);
        else if ((st = build_entries(ctx, file, options, &e)) == SPK_OK)
            n++; /* the build took it (and those it bundled) off the list */
        spk__free(file), spk__free(options);
    }
fail:
    if (n_programs)
        *n_programs = n;
    return st;
}

/* 1 if `options` (of a program of `file`) are those of `want` and hold every word. */
static int options_match(const char *file, const char *options, const char *want, const char *const *words, size_t n)
{
    size_t k = 0;
    while (k < n && spk__options_have(options, words[k], strlen(words[k])))
        k++;
    return k == n && strcmp(file, want) == 0;
}

const char *spk__program_options_with(const spk_context *ctx, const char *file, const char *const *words, size_t n)
{
    for (const spk__program_entry *e = ctx->programs; e; e = e->next)
        if (options_match(e->file, e->options, file, words, n))
            return e->options;
    for (const spk__program_expected *x = ctx->expected; x; x = x->next) /* built with the first of them */
        if (options_match(x->file, x->options, file, words, n))
            return x->options;
    return NULL;
}

spk_status spk__program_get(spk_context *ctx, const char *file, const char *options, cl_program *out)
{
    spk__program_entry *e = NULL;
    spk_status st = entry_get(ctx, file, options, &e);
    if (st == SPK_OK)
        *out = e->program;
    return st;
}

spk_status spk__kernel_get(spk_context *ctx, const char *file, const char *options, const char *name, cl_kernel *out)
{
    spk_status st = SPK_OK;
    spk__program_entry *e = NULL;
    SPK_TRY(entry_get(ctx, file, options, &e));
    for (size_t i = 0; i < e->n_kernels; i++)
        if (strcmp(e->kernel_names[i], name) == 0) {
            *out = e->kernels[i];
            return SPK_OK;
        }
    SPK_CHECK(ctx, e->n_kernels < MAX_KERNELS_PER_PROGRAM, SPK_ERR_INVALID_ARGUMENT,
              "kernels/%s: more than %d kernels requested", file, MAX_KERNELS_PER_PROGRAM);
    char *copy = spk__strdup(name);
    SPK_CHECK(ctx, copy != NULL, SPK_ERR_OUT_OF_MEMORY, "kernel cache: out of host memory");
    cl_int err = CL_SUCCESS;
    cl_kernel k = clCreateKernel(e->program, name, &err);
    if (err != CL_SUCCESS) {
        spk__free(copy);
        st = spk__cl_error(ctx, err, "clCreateKernel");
        goto fail;
    }
    e->kernel_names[e->n_kernels] = copy;
    e->kernels[e->n_kernels++] = k;
    *out = k;
fail:
    return st;
}

spk_status spk__set_args(spk_context *ctx, cl_kernel k, size_t first, const spk__arg *args, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cl_int err = clSetKernelArg(k, (cl_uint)(first + i), args[i].size, args[i].ptr);
        if (err != CL_SUCCESS)
            return spk__error(ctx, SPK_ERR_OPENCL, "clSetKernelArg(%zu) failed: %s (%d)", first + i,
                              spk__cl_error_name(err), (int)err);
    }
    return SPK_OK;
}

spk_status spk__launch_1d(spk_context *ctx, cl_kernel k, size_t global)
{
    return spk__launch_1d_groups(ctx, k, global, 64);
}

spk_status spk__launch_1d_groups(spk_context *ctx, cl_kernel k, size_t global, size_t local)
{
    spk_status st = SPK_OK;
    size_t kernel_max = 0;
    CL_TRY(ctx, clGetKernelWorkGroupInfo(k, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_max, &kernel_max,
                                         NULL));
    while (local > 1 && local > kernel_max)
        local /= 2;
    size_t rounded = (global + local - 1) / local * local;
    CL_TRY(ctx, clEnqueueNDRangeKernel(ctx->queue, k, 1, NULL, &rounded, &local, 0, NULL, NULL));
    ctx->launch_stats.kernel_launches++;
fail:
    return st;
}

spk_status spk__launch_items(spk_context *ctx, cl_kernel k, cl_uint dims, const size_t *global)
{
    spk_status st = SPK_OK;
    const size_t one[3] = {1, 1, 1};
    CL_TRY(ctx, clEnqueueNDRangeKernel(ctx->queue, k, dims, NULL, global, one, 0, NULL, NULL));
    ctx->launch_stats.kernel_launches++;
fail:
    return st;
}

spk_status spk__launch_rows(spk_context *ctx, cl_kernel k, int cpu, int dim, size_t across, size_t n)
{
    if (!cpu)
        return dim ? spk__launch_nd(ctx, k, 2, (size_t[2]){across, n}) : spk__launch_1d(ctx, k, n);
    size_t items = 4 * (size_t)(ctx->info.compute_units ? ctx->info.compute_units : 1);
    if (items > n)
        items = n > 0 ? n : 1;
    const size_t g[2] = {dim ? 1 : items, items};
    return spk__launch_items(ctx, k, (cl_uint)dim + 1, g);
}

/* A 2-D or 3-D launch over g[0..dims-1]: dimension 0 runs along contiguous
 * elements. Work-groups of up to 256 items, filled from dimension 0 up:
 * large groups keep the per-group overhead of CPU devices small (PoCL runs
 * a group as one loop) and are a normal size on GPUs. */
spk_status spk__launch_nd(spk_context *ctx, cl_kernel k, cl_uint dims, const size_t *g)
{
    spk_status st = SPK_OK;
    size_t local[3] = {1, 1, 1}, global[3] = {1, 1, 1}, kernel_max = 0, items = 1;
    CL_TRY(ctx, clGetKernelWorkGroupInfo(k, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_max, &kernel_max,
                                         NULL));
    for (cl_uint d = 0; d < dims; d++) {
        while (items * 2 <= 256 && items * 2 <= kernel_max && local[d] < g[d] && (d > 0 || local[d] < 64))
            local[d] *= 2, items *= 2;
        global[d] = (g[d] + local[d] - 1) / local[d] * local[d];
    }
    CL_TRY(ctx, clEnqueueNDRangeKernel(ctx->queue, k, dims, NULL, global, local, 0, NULL, NULL));
    ctx->launch_stats.kernel_launches++;
fail:
    return st;
}
