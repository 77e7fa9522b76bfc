/* LD_PRELOAD shim: device time per kernel, from OpenCL profiling events,
 * for any program of ours without changing it. Every command queue gets
 * CL_QUEUE_PROFILING_ENABLE; every kernel launch an event; at exit one line
 * per kernel name goes to stderr: launches, total and mean time between
 * the command's START and END. A per-kernel split that a whole-step timing
 * cannot give (used for the sparse weight gradient, bench/RESULTS.md).
 *
 *   cc -O2 -shared -fPIC -o /tmp/cl_kernel_time_shim.so bench/cl_kernel_time_shim.c -ldl -lOpenCL
 *   LD_PRELOAD=/tmp/cl_kernel_time_shim.so build-rel/bench/bench_sparse_synapse --in 128 --out 128
 *
 * Profiling events serialize nothing on PoCL's CPU device, but waiting for
 * them does: events are collected every PENDING_MAX launches, and at exit. */
#define _GNU_SOURCE
#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

enum { NAMES_MAX = 256, NAME_LEN = 64, PENDING_MAX = 4096 };

static struct {
    char name[NAME_LEN];
    double ns;
    long launches;
} g_kernels[NAMES_MAX];
static int g_n_kernels;
static struct {
    cl_event event;
    int kernel;
} g_pending[PENDING_MAX];
static int g_n_pending;

static void collect(void)
{
    for (int i = 0; i < g_n_pending; i++) {
        cl_ulong start = 0, end = 0;
        clWaitForEvents(1, &g_pending[i].event);
        if (clGetEventProfilingInfo(g_pending[i].event, CL_PROFILING_COMMAND_START, sizeof start, &start, NULL) ==
                CL_SUCCESS &&
            clGetEventProfilingInfo(g_pending[i].event, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL) ==
                CL_SUCCESS) {
            g_kernels[g_pending[i].kernel].ns += (double)(end - start);
            g_kernels[g_pending[i].kernel].launches++;
        }
        clReleaseEvent(g_pending[i].event);
    }
    g_n_pending = 0;
}

__attribute__((destructor)) static void report(void)
{
    collect();
    for (int i = 0; i < g_n_kernels; i++)
        fprintf(stderr, "kernel-time %-28s %8ld launches %10.3f ms %10.1f us each\n", g_kernels[i].name,
                g_kernels[i].launches, g_kernels[i].ns / 1e6,
                g_kernels[i].launches ? g_kernels[i].ns / 1e3 / (double)g_kernels[i].launches : 0.0);
}

static int kernel_slot(cl_kernel k)
{
    char name[NAME_LEN] = {0};
    clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, sizeof name - 1, name, NULL);
    for (int i = 0; i < g_n_kernels; i++)
        if (strcmp(g_kernels[i].name, name) == 0)
            return i;
    if (g_n_kernels == NAMES_MAX)
        return -1;
    memcpy(g_kernels[g_n_kernels].name, name, sizeof name);
    return g_n_kernels++;
}

cl_command_queue clCreateCommandQueue(cl_context c, cl_device_id d, cl_command_queue_properties p, cl_int *err)
{
    cl_command_queue (*real)(cl_context, cl_device_id, cl_command_queue_properties, cl_int *) =
        (cl_command_queue(*)(cl_context, cl_device_id, cl_command_queue_properties, cl_int *))dlsym(
            RTLD_NEXT, "clCreateCommandQueue");
    return real(c, d, p | CL_QUEUE_PROFILING_ENABLE, err);
}

cl_command_queue clCreateCommandQueueWithProperties(cl_context c, cl_device_id d, const cl_queue_properties *p,
                                                    cl_int *err)
{
    cl_command_queue (*real)(cl_context, cl_device_id, const cl_queue_properties *, cl_int *) =
        (cl_command_queue(*)(cl_context, cl_device_id, const cl_queue_properties *, cl_int *))dlsym(
            RTLD_NEXT, "clCreateCommandQueueWithProperties");
    cl_queue_properties q[32];
    int n = 0, found = 0;
    for (; p && p[n] && n < 28; n += 2) {
        q[n] = p[n];
        q[n + 1] = p[n + 1];
        if (p[n] == CL_QUEUE_PROPERTIES) {
            q[n + 1] |= CL_QUEUE_PROFILING_ENABLE;
            found = 1;
        }
    }
    if (!found) {
        q[n++] = CL_QUEUE_PROPERTIES;
        q[n++] = CL_QUEUE_PROFILING_ENABLE;
    }
    q[n] = 0;
    return real(c, d, q, err);
}

cl_int clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint dim, const size_t *offset,
                              const size_t *global, const size_t *local, cl_uint n_wait, const cl_event *wait,
                              cl_event *event)
{
    cl_int (*real)(cl_command_queue, cl_kernel, cl_uint, const size_t *, const size_t *, const size_t *, cl_uint,
                   const cl_event *, cl_event *) =
        (cl_int(*)(cl_command_queue, cl_kernel, cl_uint, const size_t *, const size_t *, const size_t *, cl_uint,
                   const cl_event *, cl_event *))dlsym(RTLD_NEXT, "clEnqueueNDRangeKernel");
    cl_event e = NULL;
    cl_int r = real(q, k, dim, offset, global, local, n_wait, wait, &e);
    if (r != CL_SUCCESS)
        return r;
    if (event) {
        *event = e;
        clRetainEvent(e);
    }
    int slot = kernel_slot(k);
    if (slot < 0) {
        clReleaseEvent(e);
        return r;
    }
    if (g_n_pending == PENDING_MAX)
        collect();
    g_pending[g_n_pending].event = e;
    g_pending[g_n_pending++].kernel = slot;
    return r;
}
