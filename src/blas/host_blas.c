/* Loading OpenBLAS (host_blas.h).
 *
 * OpenBLAS's worker threads spin (sched_yield) for about 2^28 cycles after
 * each threaded call unless OPENBLAS_THREAD_TIMEOUT says otherwise, which it
 * reads once, in its constructor. Spinning, they took the cores of the
 * OpenCL kernels queued after each GEMM: with a timeout of 2^4 cycles, after
 * which they sleep until the next call, the mlp preset trained 1.08x faster
 * than with them spinning, at about a third less CPU time
 * (bench/RESULTS.md). Linked, OpenBLAS starts before any code of ours can
 * set the variable; loaded here, it starts with OPENBLAS_THREAD_TIMEOUT=4
 * unless the environment already has a value (or the process already has
 * OpenBLAS, which then keeps its own setting). The variable is set only for
 * the time of the dlopen.
 *
 * OpenBLAS picks its kernels by CPU model, and a model newer than its table
 * gets the generic SSE3 kernels ("Prescott"): Debian 12's 0.3.21 on an Intel
 * Xeon of model 207 ran sgemm 8000x512x512 at 46-63 GFLOP/s, and at
 * 297-304 GFLOP/s with OPENBLAS_CORETYPE=SkylakeX (bench/RESULTS.md). So
 * the dlopen also sets OPENBLAS_CORETYPE, unless the environment has it,
 * from the instruction sets the CPU and the OS support: on Intel CPUs
 * SkylakeX with AVX-512 (F, CD, BW, DQ, VL), else Haswell with AVX2 and
 * FMA. OpenBLAS's newer Intel targets use those same sgemm kernels; AMD's
 * families it recognises by number, and they are left to it. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "blas/host_blas.h"

const char *spk__host_blas_kernels_for_cpu(void)
{
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
#endif
    return NULL;
}

/* The OPENBLAS_CORETYPE for this CPU (see above), or NULL: leave it to OpenBLAS. */
static const char *coretype_for_cpu(void)
{
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_is("intel") ? spk__host_blas_kernels_for_cpu() : NULL;
#else
    return NULL;
#endif
}

/* setenv(name, value) unless it is set: whether it was set here. */
static int set_unless_present(const char *name, const char *value)
{
    if (!value || getenv(name) != NULL)
        return 0;
    return setenv(name, value, 0) == 0;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static spk__host_blas blas;
static int loaded;
static char reason[512];

/* Debian's libopenblas-dev provides libopenblas.so.0 (through
 * alternatives); the unversioned name for other installs. SPIKECL_OPENBLAS
 * names another file (a path, or a name for the dynamic loader) instead. */
static void *open_library(const char **name)
{
    const char *own = getenv("SPIKECL_OPENBLAS");
    const char *names[2] = {"libopenblas.so.0", "libopenblas.so"};
    size_t n_names = 2;
    if (own && *own)
        names[0] = own, n_names = 1;
    for (size_t i = 0; i < n_names; i++) {
        void *h = dlopen(*name = names[i], RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
        if (h)
            return h; /* already in the process, started with its own setting */
    }
    const int set_timeout = set_unless_present("OPENBLAS_THREAD_TIMEOUT", "4");
    const int set_core = set_unless_present("OPENBLAS_CORETYPE", coretype_for_cpu());
    void *h = NULL;
    for (size_t i = 0; i < n_names && !h; i++)
        h = dlopen(*name = names[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(reason, sizeof reason, "cannot load OpenBLAS (%s%s): %s", names[0],
                 n_names > 1 ? " or alike" : "", e ? e : "unknown error");
    }
    if (set_timeout)
        unsetenv("OPENBLAS_THREAD_TIMEOUT");
    if (set_core)
        unsetenv("OPENBLAS_CORETYPE");
    return h;
}

static void load(void)
{
    const char *name = NULL;
    void *h = open_library(&name);
    if (!h)
        return;
    /* Through void*: ISO C has no cast from object to function pointers. */
    *(void **)&blas.sgemm = dlsym(h, "cblas_sgemm");
    *(void **)&blas.get_num_threads = dlsym(h, "openblas_get_num_threads");
    *(void **)&blas.set_num_threads = dlsym(h, "openblas_set_num_threads");
    *(void **)&blas.get_corename = dlsym(h, "openblas_get_corename"); /* optional */
    if (!blas.sgemm || !blas.get_num_threads || !blas.set_num_threads) {
        snprintf(reason, sizeof reason, "%s lacks cblas_sgemm or openblas_{get,set}_num_threads", name);
        return; /* the handle stays open: unloading a library with threads is unsafe */
    }
    loaded = 1;
}

const spk__host_blas *spk__host_blas_get(const char **why)
{
    pthread_once(&once, load);
    if (why)
        *why = loaded ? NULL : reason;
    return loaded ? &blas : NULL;
}
