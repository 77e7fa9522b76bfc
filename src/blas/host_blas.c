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
 * the time of the dlopen. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "blas/host_blas.h"

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
    const int set_timeout = getenv("OPENBLAS_THREAD_TIMEOUT") == NULL;
    if (set_timeout)
        setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0);
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
