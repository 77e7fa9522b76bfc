/* OpenBLAS, loaded at its first use (dlopen) rather than linked: the
 * library then starts it with OPENBLAS_THREAD_TIMEOUT=4 (see host_blas.c),
 * and a machine without it still runs spikecl, on CLBlast. Also compiled
 * into the spikecl command for its sgemm ceiling (src/cli/bench_ceiling.c). */
#ifndef SPK_HOST_BLAS_H
#define SPK_HOST_BLAS_H

#include <cblas.h>

typedef struct spk__host_blas {
    __typeof__(cblas_sgemm) *sgemm;
    int (*get_num_threads)(void);
    void (*set_num_threads)(int);
    char *(*get_corename)(void); /* the kernels OpenBLAS runs ("SkylakeX"); NULL if it lacks the call */
} spk__host_blas;

/* The loaded functions, or NULL when OpenBLAS cannot be loaded; then *why
 * (if why is not NULL) says what failed. Thread-safe; loads once. */
const spk__host_blas *spk__host_blas_get(const char **why);

/* OpenBLAS's kernels for this CPU's instruction sets, whatever its vendor:
 * "SkylakeX" with AVX-512 (F, CD, BW, DQ, VL), "Haswell" with AVX2 and FMA,
 * else NULL. The loader asks for them on Intel CPUs only (host_blas.c);
 * spikecl devices names them where OpenBLAS runs its generic ones. */
const char *spk__host_blas_kernels_for_cpu(void);

#endif
