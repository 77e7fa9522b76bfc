/* cl_first_use_shim: where a cold start's time goes, per OpenCL program and
 * kernel. An LD_PRELOAD library that wraps two OpenCL calls and prints to
 * stderr, for any program (spikecl train, a test, a bench):
 *
 *   clBuildProgram           wall and process CPU time, kernels, options;
 *   clEnqueueNDRangeKernel   the first launch of each (kernel, local size),
 *                            made synchronous (clFinish before and after), so
 *                            its time is the driver's code generation for
 *                            that work-group size (PoCL defers it to here)
 *                            plus the kernel's run.
 *
 * Time between a build and its kernels' first launches that is in neither
 * line is spent elsewhere (e.g. reading the binary: PoCL generates code for
 * every kernel then). Not built by meson (a measuring tool, not a bench):
 *
 *   cc -O2 -shared -fPIC -o /tmp/cl_first_use_shim.so bench/cl_first_use_shim.c -ldl -lOpenCL
 *   SPIKECL_CACHE_DIR=$(mktemp -d) POCL_CACHE_DIR=$(mktemp -d) \
 *       LD_PRELOAD=/tmp/cl_first_use_shim.so build-rel/src/spikecl train --epochs 1 --limit-train 128 --limit-test 128
 *
 * The synchronous first launches serialise the queue, so the totals are a
 * little above an unwrapped run's. */
#define _GNU_SOURCE
#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double t_start;

__attribute__((constructor)) static void shim_init(void)
{
    t_start = clock_s(CLOCK_MONOTONIC);
}

typedef cl_int (*build_fn)(cl_program, cl_uint, const cl_device_id *, const char *,
                           void(CL_CALLBACK *)(cl_program, void *), void *);

CL_API_ENTRY cl_int CL_API_CALL clBuildProgram(cl_program prog, cl_uint n, const cl_device_id *devs,
                                               const char *options,
                                               void(CL_CALLBACK *notify)(cl_program, void *), void *user)
{
    build_fn real = (build_fn)dlsym(RTLD_NEXT, "clBuildProgram");
    double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    cl_int err = real(prog, n, devs, options, notify, user);
    double w1 = clock_s(CLOCK_MONOTONIC), c1 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    size_t kernels = 0;
    clGetProgramInfo(prog, CL_PROGRAM_NUM_KERNELS, sizeof kernels, &kernels, NULL);
    fprintf(stderr, "[shim %7.3f s] clBuildProgram %.3f s (cpu %.3f s), %zu kernels, options '%s'\n", w1 - t_start,
            w1 - w0, c1 - c0, kernels, options ? options : "");
    return err;
}

typedef cl_int (*enqueue_fn)(cl_command_queue, cl_kernel, cl_uint, const size_t *, const size_t *, const size_t *,
                             cl_uint, const cl_event *, cl_event *);

#define MAX_SEEN 512
static char seen[MAX_SEEN][160];
static int n_seen;
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;

/* 1 the first time this (kernel object, local size) is launched. */
static int first_time(const char *key)
{
    int first = 1;
    pthread_mutex_lock(&seen_lock);
    for (int i = 0; i < n_seen && first; i++)
        first = strcmp(seen[i], key) != 0;
    if (first && n_seen < MAX_SEEN)
        snprintf(seen[n_seen++], sizeof seen[0], "%s", key);
    pthread_mutex_unlock(&seen_lock);
    return first;
}

CL_API_ENTRY cl_int CL_API_CALL clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint dims,
                                                       const size_t *offset, const size_t *global,
                                                       const size_t *local, cl_uint n_wait, const cl_event *wait,
                                                       cl_event *event)
{
    enqueue_fn real = (enqueue_fn)dlsym(RTLD_NEXT, "clEnqueueNDRangeKernel");
    char name[96] = "", key[160];
    clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, sizeof name - 1, name, NULL);
    snprintf(key, sizeof key, "%p %s local %zu,%zu,%zu", (void *)k, name, local ? local[0] : 0,
             local && dims > 1 ? local[1] : 1, local && dims > 2 ? local[2] : 1);
    if (!first_time(key))
        return real(q, k, dims, offset, global, local, n_wait, wait, event);
    clFinish(q);
    double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    cl_int err = real(q, k, dims, offset, global, local, n_wait, wait, event);
    clFinish(q);
    double w1 = clock_s(CLOCK_MONOTONIC), c1 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    fprintf(stderr, "[shim %7.3f s] first launch %s: %.3f s (cpu %.3f s)\n", w1 - t_start, key + strcspn(key, " ") + 1,
            w1 - w0, c1 - c0);
    return err;
}
