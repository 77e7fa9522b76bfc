/* spk_gemm on every backend (CLBlast, and the host BLAS on CPU devices)
 * against spk_ref_gemm: every transpose combination, awkward shapes,
 * alpha/beta, views with offsets, guard checks; every invalid argument; the
 * choice of backend. CLBlast compiles its kernels once per process, so the
 * numerical cases are gathered in few tests. */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"

/* "device (backend)" for messages. */
static const char *dev_name(const spk_context *ctx)
{
    static char name[200];
    spk_device_info info;
    if (spk_context_device(ctx, &info) != SPK_OK)
        return "?";
    snprintf(name, sizeof name, "%s (GEMM %s)", info.device_name,
             spk_gemm_backend_name(spk_context_gemm_backend(ctx)));
    return name;
}

typedef struct gemm_case {
    size_t m, n, k;
} gemm_case;

typedef struct alpha_beta {
    float alpha, beta;
    int poison_c; /* fill C with NaN/Inf first: beta = 0 must ignore it */
} alpha_beta;

/* One C = alpha op(A) op(B) + beta C on guarded views, compared with the
 * reference. */
static void run_case(spk_context *ctx, int ta, int tb, gemm_case g, alpha_beta ab, uint64_t seed)
{
    spk_test_rng rng = {seed};
    size_t a_shape[2] = {ta ? g.k : g.m, ta ? g.m : g.k};
    size_t b_shape[2] = {tb ? g.n : g.k, tb ? g.k : g.n};
    size_t c_shape[2] = {g.m, g.n};
    float *a = spk_test_alloc(g.m * g.k), *b = spk_test_alloc(g.k * g.n);
    float *c0 = spk_test_alloc(g.m * g.n), *want = spk_test_alloc(g.m * g.n), *got = spk_test_alloc(g.m * g.n);
    spk_test_fill_uniform(&rng, a, g.m * g.k, -1.0f, 1.0f);
    spk_test_fill_uniform(&rng, b, g.k * g.n, -1.0f, 1.0f);
    if (ab.poison_c)
        for (size_t i = 0; i < g.m * g.n; i++)
            c0[i] = i % 3 == 0 ? NAN : i % 3 == 1 ? INFINITY : -1e30f;
    else
        spk_test_fill_uniform(&rng, c0, g.m * g.n, -1.0f, 1.0f);
    memcpy(want, c0, g.m * g.n * sizeof(float));
    spk_ref_gemm(ta, tb, g.m, g.n, g.k, ab.alpha, a, b, ab.beta, want);

    spk_test_guarded ga, gb, gc;
    spk_test_guarded_create(ctx, SPK_F32, 2, a_shape, &ga);
    spk_test_guarded_create(ctx, SPK_F32, 2, b_shape, &gb);
    spk_test_guarded_create(ctx, SPK_F32, 2, c_shape, &gc);
    spk_test_guarded_upload(&ga, a);
    spk_test_guarded_upload(&gb, b);
    spk_test_guarded_upload(&gc, c0);
    spk_status st = spk_gemm(ta, tb, ab.alpha, ga.t, gb.t, ab.beta, gc.t);
    cr_assert(st == SPK_OK, "spk_gemm(%c%c, M=%zu N=%zu K=%zu, alpha %g beta %g) on %s returned %s: %s",
              ta ? 'T' : 'N', tb ? 'T' : 'N', g.m, g.n, g.k, (double)ab.alpha, (double)ab.beta, dev_name(ctx),
              spk_status_name(st), spk_context_last_error(ctx));
    char what[400];
    snprintf(what, sizeof what, "gemm %c%c M=%zu N=%zu K=%zu alpha=%g beta=%g%s on %s", ta ? 'T' : 'N', tb ? 'T' : 'N',
             g.m, g.n, g.k, (double)ab.alpha, (double)ab.beta, ab.poison_c ? " (C poisoned)" : "", dev_name(ctx));
    spk_test_guarded_download(&gc, got, what);
    /* A and B must be left alone (guards included). */
    float *a_back = spk_test_alloc(g.m * g.k), *b_back = spk_test_alloc(g.k * g.n);
    spk_test_guarded_download(&ga, a_back, what);
    spk_test_guarded_download(&gb, b_back, what);
    cr_assert(memcmp(a_back, a, g.m * g.k * sizeof(float)) == 0, "%s: A was modified", what);
    cr_assert(memcmp(b_back, b, g.k * g.n * sizeof(float)) == 0, "%s: B was modified", what);
    for (size_t i = 0; i < g.m * g.n; i++)
        cr_assert(isfinite(got[i]), "%s: C[%zu, %zu] = %g (reference %g)%s", what, i / g.n, i % g.n, (double)got[i],
                  (double)want[i], ab.poison_c ? ": beta = 0 must ignore the old C" : "");
    float scale = fabsf(ab.alpha) > 1.0f ? fabsf(ab.alpha) : 1.0f;
    spk_test_compare(what, got, want, g.m * g.n, 1e-4f * sqrtf((float)g.k) * scale, 1e-4f);
    free(a_back);
    free(b_back);
    spk_test_guarded_free(&ga);
    spk_test_guarded_free(&gb);
    spk_test_guarded_free(&gc);
    free(a);
    free(b);
    free(c0);
    free(want);
    free(got);
}

Test(gemm, matches_reference)
{
    /* Non-multiples of 16 and 64, single rows and columns, K = 1. */
    static const gemm_case shapes[] = {
        {1, 1, 1}, {1, 37, 5}, {29, 1, 13}, {5, 3, 1}, {16, 16, 16}, {17, 65, 33}, {64, 64, 64}, {3, 5, 130},
        {70, 33, 129}, {1, 200, 67},
    };
    static const alpha_beta abs_[] = {
        {1.0f, 0.0f, 1},   /* overwrite: garbage in C is ignored */
        {0.75f, -1.5f, 0}, /* accumulate */
        {-2.0f, 1.0f, 0},  /* accumulate */
        {0.0f, 0.5f, 0},   /* alpha 0: C scaled only */
    };
    SPK_FOR_EACH_DEVICE_AND_GEMM(ctx, 0)
    {
        uint64_t seed = 100;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int t = 0; t < 4; t++)
                for (size_t j = 0; j < sizeof abs_ / sizeof abs_[0]; j++)
                    run_case(ctx, t & 1, t >> 1, shapes[s], abs_[j], seed++);
    }
}

/* Large enough (M N K > 384^3) for CLBlast's indirect kernel with its
 * padding/transposition helpers, besides the direct kernel above. */
Test(gemm, large_matches_reference, .timeout = 600)
{
    static const gemm_case big = {390, 385, 401};
    SPK_FOR_EACH_DEVICE_AND_GEMM(ctx, 0)
    {
        for (int t = 0; t < 4; t++)
            run_case(ctx, t & 1, t >> 1, big, (alpha_beta){0.5f, t == 3 ? 0.0f : 2.0f, t == 3}, 900 + (uint64_t)t);
    }
}

Test(gemm, invalid_arguments)
{
    SPK_FOR_EACH_DEVICE_AND_GEMM(ctx, 0)
    {
        spk_tensor *a = NULL, *b = NULL, *c = NULL, *b56 = NULL, *c35 = NULL, *u8 = NULL, *t3 = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[]){3, 4}, &a));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[]){4, 6}, &b));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[]){3, 6}, &c));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[]){5, 6}, &b56));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[]){3, 5}, &c35));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_U8, 2, (size_t[]){4, 6}, &u8));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[]){3, 4, 1}, &t3));
        float c_init[18];
        for (int i = 0; i < 18; i++)
            c_init[i] = (float)i;
        SPK_ASSERT_OK(ctx, spk_tensor_upload(c, c_init, sizeof c_init));

        SPK_ASSERT_STATUS(ctx, spk_gemm(0, 0, 1.0f, NULL, b, 0.0f, c), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(ctx, spk_gemm(0, 0, 1.0f, a, NULL, 0.0f, c), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(ctx, spk_gemm(0, 0, 1.0f, a, b, 0.0f, NULL), SPK_ERR_NULL_POINTER, "NULL");
        cr_assert(spk_gemm(0, 0, 1.0f, NULL, NULL, 0.0f, NULL) == SPK_ERR_NULL_POINTER, "all NULL");

        /* Inner dimensions differ: the message shows every shape. */
        SPK_ASSERT_STATUS(ctx, spk_gemm(0, 0, 1.0f, a, b56, 0.0f, c), SPK_ERR_SHAPE, "[3, 4]");
        cr_assert(strstr(spk_context_last_error(ctx), "[5, 6]") && strstr(spk_context_last_error(ctx), "[3, 6]"),
                  "shape detail '%s' does not show b [5, 6] and c [3, 6]", spk_context_last_error(ctx));
        /* Output shape wrong. */
        SPK_ASSERT_STATUS(ctx, spk_gemm(0, 0, 1.0f, a, b, 0.0f, c35), SPK_ERR_SHAPE, "[3, 5]");
        /* Shapes fine only without the transposes. */
        SPK_ASSERT_STATUS(ctx, spk_gemm(1, 0, 1.0f, a, b, 0.0f, c), SPK_ERR_SHAPE, "[3, 4]^T");
        SPK_ASSERT_STATUS(ctx, spk_gemm(0, 1, 1.0f, a, b, 0.0f, c), SPK_ERR_SHAPE, "[4, 6]^T");
        /* Wrong dtype, wrong rank. */
        SPK_ASSERT_STATUS(ctx, spk_gemm(0, 0, 1.0f, a, u8, 0.0f, c), SPK_ERR_DTYPE, "f32");
        SPK_ASSERT_STATUS(ctx, spk_gemm(0, 0, 1.0f, t3, b, 0.0f, c), SPK_ERR_SHAPE, "2-D");
        cr_assert(strstr(spk_context_last_error(ctx), "3, 2 and 2"), "rank detail '%s' does not give the ranks",
                  spk_context_last_error(ctx));

        /* Tensors of two contexts (on the same device). */
        spk_device_info info;
        SPK_ASSERT_OK(ctx, spk_context_device(ctx, &info));
        char sel[32];
        snprintf(sel, sizeof sel, "%d:%d", info.platform_index, info.device_index);
        spk_context *other = spk_test_context(sel, 0);
        spk_tensor *fb = NULL, *fc = NULL;
        SPK_ASSERT_OK(other, spk_tensor_create(other, SPK_F32, 2, (size_t[]){4, 6}, &fb));
        SPK_ASSERT_OK(other, spk_tensor_create(other, SPK_F32, 2, (size_t[]){3, 6}, &fc));
        SPK_ASSERT_STATUS(ctx, spk_gemm(0, 0, 1.0f, a, fb, 0.0f, c), SPK_ERR_CONTEXT, "different contexts");
        /* With c foreign, the error lands on c's context. */
        SPK_ASSERT_STATUS(other, spk_gemm(0, 0, 1.0f, a, b, 0.0f, fc), SPK_ERR_CONTEXT, "different contexts");
        spk_tensor_free(fb);
        spk_tensor_free(fc);
        spk_context_free(other);

        /* None of the failed calls touched C. */
        float c_now[18];
        SPK_ASSERT_OK(ctx, spk_tensor_download(c, c_now, sizeof c_now));
        for (int i = 0; i < 18; i++)
            cr_assert(c_now[i] == c_init[i], "C[%d] changed to %g by a rejected call", i, (double)c_now[i]);

        spk_tensor_free(a);
        spk_tensor_free(b);
        spk_tensor_free(c);
        spk_tensor_free(b56);
        spk_tensor_free(c35);
        spk_tensor_free(u8);
        spk_tensor_free(t3);
    }
}

/* A, B and C as views of one buffer (the host backend maps it once), and a
 * GEMM queued between other work: fill -> GEMM -> scale must run in order. */
Test(gemm, views_of_one_buffer_in_queue_order)
{
    enum { M = 7, N = 9, K = 11 };
    SPK_FOR_EACH_DEVICE_AND_GEMM(ctx, 0)
    {
        spk_tensor *all = NULL, *a = NULL, *b = NULL, *c = NULL;
        size_t total = M * K + K * N + M * N + 3;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 1, (size_t[]){total}, &all));
        SPK_ASSERT_OK(ctx, spk_tensor_view(all, 1, 2, (size_t[]){M, K}, &a));
        SPK_ASSERT_OK(ctx, spk_tensor_view(all, 2 + M * K, 2, (size_t[]){K, N}, &b));
        SPK_ASSERT_OK(ctx, spk_tensor_view(all, 3 + M * K + K * N, 2, (size_t[]){M, N}, &c));
        SPK_ASSERT_OK(ctx, spk_tensor_fill_f32(all, 0.5f));
        SPK_ASSERT_OK(ctx, spk_gemm(0, 0, 2.0f, a, b, 1.0f, c)); /* c = 0.5 + 2 * K * 0.25 */
        SPK_ASSERT_OK(ctx, spk_tensor_scale(c, 3.0f));
        float got[M * N];
        SPK_ASSERT_OK(ctx, spk_tensor_download(c, got, sizeof got));
        for (int i = 0; i < M * N; i++)
            cr_assert(fabsf(got[i] - 3.0f * (0.5f + 0.5f * K)) < 1e-4f, "%s: C[%d] = %g, want %g", dev_name(ctx), i,
                      (double)got[i], 3.0 * (0.5 + 0.5 * K));
        float head;
        spk_tensor *first = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_view(all, 0, 1, (size_t[]){1}, &first));
        SPK_ASSERT_OK(ctx, spk_tensor_download(first, &head, sizeof head));
        cr_assert(head == 0.5f, "%s: the element before A changed to %g", dev_name(ctx), (double)head);
        spk_tensor_free(first);
        spk_tensor_free(a);
        spk_tensor_free(b);
        spk_tensor_free(c);
        spk_tensor_free(all);
    }
}

/* The host BLAS is loaded at the first context that may use it (Criterion
 * runs each test in a process of its own, so this one loads it afresh).
 * OpenBLAS starts with OPENBLAS_THREAD_TIMEOUT=4, set only for the time of
 * the load: the environment is left as it was. */
Test(gemm, host_blas_load_leaves_environment)
{
    if (!spk_gemm_host_available())
        cr_skip_test("no host BLAS in this build");
    unsetenv("OPENBLAS_THREAD_TIMEOUT");
    setenv("SPIKECL_GEMM", "host", 1);
    spk_context_options o = spk_context_options_default();
    spk_context *ctx = NULL;
    spk_status st = spk_context_create(&o, &ctx);
    unsetenv("SPIKECL_GEMM");
    if (st == SPK_ERR_UNSUPPORTED) /* the default device is no CPU */
        cr_skip_test("%s", spk_context_last_error(NULL));
    SPK_ASSERT_OK(NULL, st);
    cr_assert(spk_context_gemm_backend(ctx) == SPK_GEMM_HOST);
    cr_assert_null(getenv("OPENBLAS_THREAD_TIMEOUT"), "the load left OPENBLAS_THREAD_TIMEOUT=%s",
                   getenv("OPENBLAS_THREAD_TIMEOUT"));
    spk_context_free(ctx);
}

/* A host BLAS that cannot be loaded: auto falls back to CLBlast, a request
 * for the host backend says why it cannot be had. */
Test(gemm, host_blas_missing)
{
    setenv("SPIKECL_OPENBLAS", "/nonexistent/libopenblas.so", 1);
    cr_assert_eq(spk_gemm_host_available(), 0);
    spk_context_options o = spk_context_options_default();
    spk_context *ctx = NULL;
    SPK_ASSERT_OK(NULL, spk_context_create(&o, &ctx));
    cr_assert(spk_context_gemm_backend(ctx) == SPK_GEMM_CLBLAST);
    spk_context_free(ctx);
    o.gemm_backend = SPK_GEMM_HOST;
    cr_assert(spk_context_create(&o, &ctx) == SPK_ERR_UNSUPPORTED);
    const char *msg = spk_context_last_error(NULL);
    cr_assert(strstr(msg, "cannot load OpenBLAS (/nonexistent/libopenblas.so)") || strstr(msg, "without a host BLAS"),
              "%s", msg);
}

/* Which backend a context gets, and the errors of a bad choice. */
Test(gemm, backend_choice)
{
    char sel[SPK_TEST_MAX_DEVICES][16];
    size_t n = spk_test_devices(sel, SPK_TEST_MAX_DEVICES);
    cr_assert(n > 0);
    cr_assert_str_eq(spk_gemm_backend_name(SPK_GEMM_CLBLAST), "clblast");
    cr_assert_null(spk_gemm_backend_name((spk_gemm_backend)9));
    for (size_t d = 0; d < n; d++) {
        spk_context *ctx = spk_test_context(sel[d], 0);
        spk_device_info info;
        SPK_ASSERT_OK(ctx, spk_context_device(ctx, &info));
        spk_gemm_backend want = info.is_cpu && spk_gemm_host_available() ? SPK_GEMM_HOST : SPK_GEMM_CLBLAST;
        cr_assert(spk_context_gemm_backend(ctx) == want, "%s: automatic GEMM backend %s, expected %s",
                  info.device_name, spk_gemm_backend_name(spk_context_gemm_backend(ctx)), spk_gemm_backend_name(want));
        spk_context_free(ctx);

        spk_context_options o = spk_context_options_default();
        o.device = sel[d];
        if (!info.is_cpu) { /* a GPU cannot compute in host memory */
            o.gemm_backend = SPK_GEMM_HOST;
            cr_assert(spk_context_create(&o, &ctx) == SPK_ERR_UNSUPPORTED);
            cr_assert(strstr(spk_context_last_error(NULL), "host memory"), "%s", spk_context_last_error(NULL));
        }
        o.gemm_backend = (spk_gemm_backend)7;
        cr_assert(spk_context_create(&o, &ctx) == SPK_ERR_INVALID_ARGUMENT);
        cr_assert(strstr(spk_context_last_error(NULL), "gemm_backend 7"), "%s", spk_context_last_error(NULL));

        /* The environment decides when the option says auto, and is checked. */
        o.gemm_backend = SPK_GEMM_AUTO;
        setenv("SPIKECL_GEMM", "clblast", 1);
        SPK_ASSERT_OK(NULL, spk_context_create(&o, &ctx));
        cr_assert(spk_context_gemm_backend(ctx) == SPK_GEMM_CLBLAST);
        spk_context_free(ctx);
        setenv("SPIKECL_GEMM", "cublas", 1);
        cr_assert(spk_context_create(&o, &ctx) == SPK_ERR_INVALID_ARGUMENT);
        cr_assert(strstr(spk_context_last_error(NULL), "SPIKECL_GEMM=cublas"), "%s", spk_context_last_error(NULL));
        unsetenv("SPIKECL_GEMM");
    }
}
