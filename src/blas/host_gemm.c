/* GEMM on the host BLAS over the device's own buffers: on a CPU device with
 * host-unified memory, mapping a buffer hands back the memory the kernels
 * use, so no data moves. The last map blocks: that orders the GEMM after the
 * work queued before it; the unmaps order the work queued after. */
#include <limits.h>
#include <string.h>

#include "blas/gemm_internal.h"
#include "blas/host_blas.h"

/* GEMMs from 30 MFLOP run on OpenBLAS's threads. Started by host_blas.c,
 * those sleep between calls instead of spinning (sched_yield) and taking
 * the cores of the kernels queued next: threading the mlp's 51 MFLOP GEMMs
 * then trains 1.15x faster at about the same CPU time (bench/RESULTS.md;
 * spinning, with 18 blocking maps per step, single-threaded GEMMs had been
 * 1.8x faster). Smaller ones (the mlp's 3200x256x10 product, bound by
 * memory) gained nothing from a second thread. */
#define THREADED_MIN_FLOP 3e7

typedef struct mapping {
    cl_mem buf;
    size_t lo, hi; /* element range */
    cl_map_flags flags;
    float *ptr;    /* element lo */
} mapping;

/* Add t's elements to the mapping of its buffer (one mapping per buffer:
 * overlapping maps for writing are undefined in OpenCL). */
static void add_range(mapping *maps, size_t *n, const spk_tensor *t, cl_map_flags flags)
{
    for (size_t i = 0; i < *n; i++)
        if (maps[i].buf == t->buf) {
            if (t->offset < maps[i].lo)
                maps[i].lo = t->offset;
            if (t->offset + t->numel > maps[i].hi)
                maps[i].hi = t->offset + t->numel;
            maps[i].flags |= flags;
            return;
        }
    maps[(*n)++] = (mapping){t->buf, t->offset, t->offset + t->numel, flags, NULL};
}

static const float *host_ptr(const mapping *maps, size_t n, const spk_tensor *t)
{
    for (size_t i = 0; i < n; i++)
        if (maps[i].buf == t->buf)
            return maps[i].ptr + (t->offset - maps[i].lo);
    return NULL;
}

/* dst[0 .. n) = the sum over the `steps` blocks of n floats at src, in
 * order, or from the last block down (reverse): the order in which the LIF
 * backward sums a static input's gradient itself (kernels/lif.cl, has_gx 2),
 * so that both storages of a network give the same bits. */
static void sum_steps(float *dst, const float *src, size_t steps, size_t n, int reverse)
{
    memcpy(dst, src + (reverse ? (steps - 1) * n : 0), n * sizeof *dst);
    for (size_t k = 1; k < steps; k++) {
        const float *s = src + (reverse ? steps - 1 - k : k) * n;
        for (size_t i = 0; i < n; i++)
            dst[i] += s[i];
    }
}

spk_status spk__host_gemm(spk_context *ctx, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                          const spk_tensor *a, const spk_tensor *b, float beta, spk_tensor *c,
                          const spk__gemm_extras *ex)
{
    spk_status st = SPK_OK;
    mapping maps[6];
    const spk__gemm_extras none = {0}, *e = ex ? ex : &none;
    const spk_tensor *row_add = e->row_add, *a_steps = e->a_steps;
    spk_tensor *a_row_sum = e->a_row_sum;
    size_t n_maps = 0;
    const char *why = NULL;
    const spk__host_blas *blas = spk__host_blas_get(&why);
    SPK_CHECK(ctx, blas != NULL, SPK_ERR_UNSUPPORTED, "spk_gemm (host backend): %s", why);
    /* Tensors have no zero extents, so m, n, k >= 1; the BLAS takes ints. */
    SPK_CHECK(ctx, m <= INT_MAX && n <= INT_MAX && k <= INT_MAX && a->shape[1] <= INT_MAX &&
                       b->shape[1] <= INT_MAX && c->shape[1] <= INT_MAX,
              SPK_ERR_UNSUPPORTED, "spk_gemm: M=%zu, N=%zu, K=%zu exceed the host BLAS's int dimensions", m, n, k);
    add_range(maps, &n_maps, a, a_steps ? CL_MAP_READ | CL_MAP_WRITE : CL_MAP_READ);
    if (a_steps)
        add_range(maps, &n_maps, a_steps, CL_MAP_READ);
    add_range(maps, &n_maps, b, CL_MAP_READ);
    add_range(maps, &n_maps, c, CL_MAP_READ | CL_MAP_WRITE);
    if (row_add)
        add_range(maps, &n_maps, row_add, CL_MAP_READ);
    if (a_row_sum)
        add_range(maps, &n_maps, a_row_sum, CL_MAP_READ | CL_MAP_WRITE);
    for (size_t i = 0; i < n_maps; i++) {
        /* One wait for all: the queue is in order, so once the last map is
         * done, so are the ones before it (each blocking map cost a round
         * trip to the driver's thread). */
        cl_int err = CL_SUCCESS;
        const cl_bool last = i + 1 == n_maps ? CL_TRUE : CL_FALSE;
        maps[i].ptr = clEnqueueMapBuffer(ctx->queue, maps[i].buf, last, maps[i].flags, maps[i].lo * sizeof(float),
                                         (maps[i].hi - maps[i].lo) * sizeof(float), 0, NULL, NULL, &err);
        if (err != CL_SUCCESS) {
            st = spk__cl_error(ctx, err, "clEnqueueMapBuffer (host GEMM)");
            n_maps = i;
            goto fail;
        }
    }
    if (a_steps) /* A is the sum of a_steps over its steps */
        sum_steps((float *)host_ptr(maps, n_maps, a), host_ptr(maps, n_maps, a_steps), a_steps->numel / a->numel,
                  a->numel, 1);
    if (row_add) { /* every row of C starts as row_add; the product adds to it */
        const float *r = host_ptr(maps, n_maps, row_add);
        float *cp = (float *)host_ptr(maps, n_maps, c);
        for (size_t i = 0; i < m; i++)
            memcpy(cp + i * c->shape[1], r, n * sizeof *r);
        beta = 1.0f;
    }
    const int max_threads = blas->get_num_threads();
    const int threads = 2.0 * (double)m * (double)n * (double)k >= THREADED_MIN_FLOP ? max_threads : 1;
    if (threads != max_threads)
        blas->set_num_threads(threads);
    blas->sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (blasint)m,
                (blasint)n, (blasint)k, alpha, host_ptr(maps, n_maps, a), (blasint)a->shape[1],
                host_ptr(maps, n_maps, b), (blasint)b->shape[1], beta, (float *)host_ptr(maps, n_maps, c),
                (blasint)c->shape[1]);
    if (threads != max_threads)
        blas->set_num_threads(max_threads);
    if (a_row_sum) /* the sum of A's stored rows, in order */
        sum_steps((float *)host_ptr(maps, n_maps, a_row_sum), host_ptr(maps, n_maps, a), a->shape[0], a->shape[1], 0);
fail:
    for (size_t i = 0; i < n_maps; i++) {
        cl_int err = clEnqueueUnmapMemObject(ctx->queue, maps[i].buf, maps[i].ptr, 0, NULL, NULL);
        if (err != CL_SUCCESS && st == SPK_OK)
            st = spk__cl_error(ctx, err, "clEnqueueUnmapMemObject (host GEMM)");
    }
    return st;
}
