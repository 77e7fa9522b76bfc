/* Shared by every test: devices to run on, guarded device buffers, host
 * comparisons against the C reference, deterministic random data. */
#ifndef SPK_TEST_HARNESS_H
#define SPK_TEST_HARNESS_H

#include <criterion/criterion.h>
#include <stddef.h>
#include <stdint.h>

#include "spikecl/spikecl.h"

#define SPK_TEST_MAX_DEVICES 16

/* Selectors ("p:d") of every OpenCL device present, filtered by
 * SPIKECL_TEST_DEVICES (comma-separated name substrings or p:d). */
size_t spk_test_devices(char sel[][16], size_t cap);

/* A context on device `sel`, with the disk cache under the build tree. */
spk_context *spk_test_context(const char *sel, uint64_t seed);

/* A context on device `sel` with GEMM backend `backend`, or NULL when the
 * device or the build does not offer that backend (SPK_ERR_UNSUPPORTED). */
spk_context *spk_test_context_gemm(const char *sel, uint64_t seed, spk_gemm_backend backend);

/* Run the following block once per device and GEMM backend that device
 * offers (CLBlast everywhere, the host BLAS on CPU devices), with `ctx`
 * bound to a fresh context. */
#define SPK_FOR_EACH_DEVICE_AND_GEMM(ctx, seed)                                                 \
    char spk_sel_[SPK_TEST_MAX_DEVICES][16];                                                    \
    size_t spk_ndev_ = spk_test_devices(spk_sel_, SPK_TEST_MAX_DEVICES);                        \
    cr_assert(spk_ndev_ > 0, "no OpenCL device to test (install pocl-opencl-icd)");             \
    for (size_t spk_d_ = 0; spk_d_ < spk_ndev_; spk_d_++)                                       \
        for (int spk_g_ = SPK_GEMM_CLBLAST; spk_g_ <= SPK_GEMM_HOST; spk_g_++)                  \
            for (spk_context *ctx = spk_test_context_gemm(spk_sel_[spk_d_], (seed), (spk_gemm_backend)spk_g_); \
                 ctx; spk_context_free(ctx), ctx = NULL)

/* Run the following block once per device with `ctx` bound to a fresh
 * context; spk_sel_[spk_d_] is the device's "p:d" selector. */
#define SPK_FOR_EACH_DEVICE(ctx, seed)                                                          \
    char spk_sel_[SPK_TEST_MAX_DEVICES][16];                                                    \
    size_t spk_ndev_ = spk_test_devices(spk_sel_, SPK_TEST_MAX_DEVICES);                        \
    cr_assert(spk_ndev_ > 0, "no OpenCL device to test (install pocl-opencl-icd)");             \
    for (size_t spk_d_ = 0; spk_d_ < spk_ndev_; spk_d_++)                                       \
        for (spk_context *ctx = spk_test_context(spk_sel_[spk_d_], (seed)); ctx;                \
             spk_context_free(ctx), ctx = NULL)

/* A tensor whose buffer has guard values on both sides, to catch writes out
 * of bounds. */
typedef struct spk_test_guarded {
    spk_tensor *base;
    spk_tensor *t; /* the view the op uses */
    size_t numel;
    size_t guard; /* elements on each side */
} spk_test_guarded;

#define SPK_TEST_GUARD 257

void spk_test_guarded_create(spk_context *ctx, spk_dtype dtype, int ndim, const size_t *shape, spk_test_guarded *g);
/* The same with `guard` elements on each side (bit-packed spikes start on a 4-byte word: 256). */
void spk_test_guarded_create_at(spk_context *ctx, spk_dtype dtype, int ndim, const size_t *shape, size_t guard,
                                spk_test_guarded *g);
/* Upload host data (numel elements of the tensor's dtype) into the view. */
void spk_test_guarded_upload(spk_test_guarded *g, const void *host);
/* Download the view into host memory (numel elements), asserting the guards are intact. */
void spk_test_guarded_download(spk_test_guarded *g, void *host, const char *what);
/* The same into floats, converting a U8 tensor (spikes) element by element. */
void spk_test_guarded_download_f32(spk_test_guarded *g, float *host, const char *what);
void spk_test_guarded_free(spk_test_guarded *g);

/* Assert got ~= want elementwise: |got - want| <= atol + rtol |want| for
 * every element and a normalized error ||got - want|| / ||want|| <= rtol;
 * no NaN or Inf in got where want is finite. */
void spk_test_compare(const char *what, const float *got, const float *want, size_t n, float atol, float rtol);

/* Deterministic data: splitmix64 stream. */
typedef struct spk_test_rng {
    uint64_t s;
} spk_test_rng;
float spk_test_uniform(spk_test_rng *r, float lo, float hi);
float spk_test_normal(spk_test_rng *r);
void spk_test_fill_uniform(spk_test_rng *r, float *x, size_t n, float lo, float hi);
void spk_test_fill_normal(spk_test_rng *r, float *x, size_t n, float mean, float std);

/* Upstream gradients of a neuron-kernel test, allocated: dL/dS ~ N(0, 1)
 * and dL/dV ~ N(0, 0.1) over seq elements, dL/d(final state) ~ N(0, 0.5)
 * over st. */
void spk_test_neuron_upstream(spk_test_rng *r, size_t seq, size_t st, float **gS, float **gV, float **g_state_out);

float *spk_test_alloc(size_t n); /* zeroed; asserts on failure */

/* Assert that status is SPK_OK, printing the context's error detail if not. */
#define SPK_ASSERT_OK(ctx, expr)                                                                          \
    do {                                                                                                  \
        spk_status st_ = (expr);                                                                          \
        cr_assert(st_ == SPK_OK, "%s returned %s: %s", #expr, spk_status_name(st_),                      \
                  spk_context_last_error(ctx));                                                           \
    } while (0)

/* Assert that expr returns `want` and leaves a non-empty detail containing `needle`. */
#define SPK_ASSERT_STATUS(ctx, expr, want, needle)                                                        \
    do {                                                                                                  \
        spk_status st_ = (expr);                                                                          \
        cr_assert(st_ == (want), "%s returned %s, expected %s (%s)", #expr, spk_status_name(st_),        \
                  spk_status_name(want), spk_context_last_error(ctx));                                    \
        cr_assert(strstr(spk_context_last_error(ctx), (needle)) != NULL,                                 \
                  "%s: detail '%s' does not mention '%s'", #expr, spk_context_last_error(ctx), (needle)); \
    } while (0)

/* Largest |a[i]|. */
float spk_test_max_abs(const float *a, size_t n);

/* spk_test_compare with an absolute margin scaled to the reference's
 * magnitude: sums in float (device) and double (reference) round differently. */
void spk_test_compare_scaled(const char *what, const float *got, const float *want, size_t n, float rel);

/* Parameter i of a network (checking its name and size) into host memory;
 * value or grad may be NULL. */
void spk_test_get_param(spk_network *net, size_t i, float *value, float *grad, const char *want_name,
                        size_t want_numel);
/* y[rows, out] = x[rows, in] W^T + b (b may be NULL), through spk_ref_gemm. */
void spk_test_host_dense(const float *x, size_t rows, size_t in, const float *W, const float *b, size_t out, float *y);

/* Upload host values into parameter i of a network. */
void spk_test_set_param(spk_network *net, size_t i, const float *value);

#endif
