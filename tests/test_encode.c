/* Poisson encoding: Philox4x32-10 known answers (host and device), device
 * against the C reference bit for bit, firing statistics, streams and seeds,
 * reproducibility, invalid arguments. */
#include "harness.h"

#include <CL/cl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "philox.clh"
#include "ref/ref.h"

#ifndef SPK_TEST_KERNEL_DIR
#error "tests/meson.build must define SPK_TEST_KERNEL_DIR (the source kernels/ directory)"
#endif

static const char *dev_name(const spk_context *ctx)
{
    static spk_device_info info;
    if (spk_context_device(ctx, &info) != SPK_OK)
        return "?";
    return info.device_name;
}

/* ------------------------------------------------------------ Philox KATs */

/* Random123's kat_vectors for philox4x32 with 10 rounds:
 * counter (4 words), key (2 words), output (4 words). */
static const spk_u32 KAT[3][10] = {
    {0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c,
     0x9b00dbd8},
    {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e, 0xa20bc7c6,
     0x6d5451fd},
    {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420,
     0x24126ea1},
};

Test(philox, known_answers_host)
{
    for (int v = 0; v < 3; v++) {
        spk_philox4 ctr = {{KAT[v][0], KAT[v][1], KAT[v][2], KAT[v][3]}};
        spk_philox4 r = spk_philox4x32_10(ctr, KAT[v][4], KAT[v][5]);
        for (int j = 0; j < 4; j++)
            cr_assert(r.v[j] == KAT[v][6 + j],
                      "philox4x32-10 vector %d word %d: got 0x%08x, Random123 gives 0x%08x "
                      "(full result %08x %08x %08x %08x)",
                      v, j, r.v[j], KAT[v][6 + j], r.v[0], r.v[1], r.v[2], r.v[3]);
    }
    /* The uniform: top 24 bits, in [0, 1). */
    cr_assert(spk_u32_to_unit(0u) == 0.0f, "u(0) = %g", (double)spk_u32_to_unit(0u));
    cr_assert(spk_u32_to_unit(0xffu) == 0.0f, "u(0xff) = %g: the low 8 bits must be dropped",
              (double)spk_u32_to_unit(0xffu));
    cr_assert(spk_u32_to_unit(0x80000000u) == 0.5f, "u(0x80000000) = %g", (double)spk_u32_to_unit(0x80000000u));
    cr_assert(spk_u32_to_unit(0xffffffffu) == 1.0f - 1.0f / 16777216.0f, "u(0xffffffff) = %.9g, expected 1 - 2^-24",
              (double)spk_u32_to_unit(0xffffffffu));
    cr_assert(spk_u32_to_unit(0x00000100u) == 1.0f / 16777216.0f, "u(0x100) = %.9g, expected 2^-24",
              (double)spk_u32_to_unit(0x100u));
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f != NULL, "cannot open %s", path);
    cr_assert(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    cr_assert(n > 0 && fseek(f, 0, SEEK_SET) == 0);
    char *buf = malloc((size_t)n + 1);
    cr_assert(buf);
    cr_assert(fread(buf, 1, (size_t)n, f) == (size_t)n, "short read of %s", path);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The kernels' copy of philox.clh, compiled for each device by itself. */
Test(philox, known_answers_device)
{
    char *philox = read_text(SPK_TEST_KERNEL_DIR "/philox.clh");
    static const char *kernel = "\nkernel void kat(global const uint *in, global uint *out)\n"
                                "{\n"
                                "    const uint i = (uint)get_global_id(0);\n"
                                "    spk_philox4 c = {{in[6 * i], in[6 * i + 1], in[6 * i + 2], in[6 * i + 3]}};\n"
                                "    spk_philox4 r = spk_philox4x32_10(c, in[6 * i + 4], in[6 * i + 5]);\n"
                                "    for (int j = 0; j < 4; j++)\n"
                                "        out[4 * i + j] = r.v[j];\n"
                                "}\n";
    SPK_FOR_EACH_DEVICE(ctx, 0)
    {
        spk_device_info info;
        SPK_ASSERT_OK(ctx, spk_context_device(ctx, &info));
        cl_platform_id plats[16];
        cl_uint np = 0;
        cr_assert(clGetPlatformIDs(16, plats, &np) == CL_SUCCESS && (cl_uint)info.platform_index < np);
        cl_device_id devs[64];
        cl_uint ndv = 0;
        cr_assert(clGetDeviceIDs(plats[info.platform_index], CL_DEVICE_TYPE_ALL, 64, devs, &ndv) == CL_SUCCESS &&
                  (cl_uint)info.device_index < ndv);
        cl_device_id dev = devs[info.device_index];
        cl_int err = CL_SUCCESS;
        cl_context cl = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
        cr_assert(err == CL_SUCCESS, "clCreateContext: %d", err);
        cl_command_queue q = clCreateCommandQueue(cl, dev, 0, &err);
        cr_assert(err == CL_SUCCESS, "clCreateCommandQueue: %d", err);
        const char *parts[2] = {philox, kernel};
        cl_program prog = clCreateProgramWithSource(cl, 2, parts, NULL, &err);
        cr_assert(err == CL_SUCCESS, "clCreateProgramWithSource: %d", err);
        err = clBuildProgram(prog, 1, &dev, "", NULL, NULL);
        if (err != CL_SUCCESS) {
            char log[4096] = {0};
            clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, NULL);
            cr_assert_fail("building philox.clh for %s failed (%d):\n%s", info.device_name, err, log);
        }
        cl_kernel k = clCreateKernel(prog, "kat", &err);
        cr_assert(err == CL_SUCCESS, "clCreateKernel: %d", err);
        cl_uint in[18], out[12] = {0};
        for (int v = 0; v < 3; v++)
            for (int j = 0; j < 6; j++)
                in[6 * v + j] = KAT[v][j];
        cl_mem bin = clCreateBuffer(cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof in, in, &err);
        cr_assert(err == CL_SUCCESS);
        cl_mem bout = clCreateBuffer(cl, CL_MEM_WRITE_ONLY, sizeof out, NULL, &err);
        cr_assert(err == CL_SUCCESS);
        cr_assert(clSetKernelArg(k, 0, sizeof bin, &bin) == CL_SUCCESS);
        cr_assert(clSetKernelArg(k, 1, sizeof bout, &bout) == CL_SUCCESS);
        size_t global = 3;
        cr_assert(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL) == CL_SUCCESS);
        cr_assert(clEnqueueReadBuffer(q, bout, CL_TRUE, 0, sizeof out, out, 0, NULL, NULL) == CL_SUCCESS);
        for (int v = 0; v < 3; v++)
            for (int j = 0; j < 4; j++)
                cr_assert(out[4 * v + j] == KAT[v][6 + j], "%s: philox4x32-10 vector %d word %d: 0x%08x, expected 0x%08x",
                          info.device_name, v, j, out[4 * v + j], KAT[v][6 + j]);
        clReleaseMemObject(bin);
        clReleaseMemObject(bout);
        clReleaseKernel(k);
        clReleaseProgram(prog);
        clReleaseCommandQueue(q);
        clReleaseContext(cl);
    }
    free(philox);
}

/* Through spk_encode_poisson itself: with seed 0, stream 0 and element 0
 * the four uniforms of steps 0..3 come from the first known answer, so an
 * intensity equal to u_t gives no spike (u < p is strict) and the next
 * float above it gives one. */
Test(philox, encoder_uses_known_answer)
{
    SPK_FOR_EACH_DEVICE(ctx, 0)
    {
        spk_tensor *in = NULL, *sp = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 1, (size_t[]){1}, &in));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[]){4, 1}, &sp));
        for (int t = 0; t < 4; t++) {
            float u = spk_u32_to_unit(KAT[0][6 + t]);
            float xs[2] = {u, nextafterf(u, 2.0f)};
            for (int j = 0; j < 2; j++) {
                float got[4];
                SPK_ASSERT_OK(ctx, spk_tensor_upload(in, &xs[j], sizeof xs[j]));
                SPK_ASSERT_OK(ctx, spk_encode_poisson(ctx, in, 1.0f, 0, sp));
                SPK_ASSERT_OK(ctx, spk_tensor_download(sp, got, sizeof got));
                float want = j == 1 ? 1.0f : 0.0f;
                cr_assert(got[t] == want,
                          "%s: step %d with intensity %.9g (u = %.9g from word 0x%08x): spike %g, expected %g",
                          dev_name(ctx), t, (double)xs[j], (double)u, KAT[0][6 + t], (double)got[t], (double)want);
            }
        }
        spk_tensor_free(in);
        spk_tensor_free(sp);
    }
}

/* ------------------------------------------------------------ vs reference */

/* Encode `in` (shape in_shape) over T steps on guarded views and compare
 * with the reference bit for bit. Returns the spikes as floats (caller frees). */
static float *encode_and_compare(spk_context *ctx, spk_dtype dtype, size_t T, int in_ndim, const size_t *in_shape,
                                 const float *in, float gain, uint64_t stream)
{
    size_t F = 1, sp_shape[SPK_MAX_DIMS];
    sp_shape[0] = T;
    for (int i = 0; i < in_ndim; i++) {
        F *= in_shape[i];
        sp_shape[i + 1] = in_shape[i];
    }
    spk_test_guarded gi, gs;
    spk_test_guarded_create(ctx, SPK_F32, in_ndim, in_shape, &gi);
    spk_test_guarded_create(ctx, dtype, in_ndim + 1, sp_shape, &gs);
    spk_test_guarded_upload(&gi, in);
    spk_status st = spk_encode_poisson(ctx, gi.t, gain, stream, gs.t);
    cr_assert(st == SPK_OK, "spk_encode_poisson(T=%zu, F=%zu, %s, gain %g, stream %llu) on %s returned %s: %s", T, F,
              dtype == SPK_U8 ? "u8" : "f32", (double)gain, (unsigned long long)stream, dev_name(ctx),
              spk_status_name(st), spk_context_last_error(ctx));
    char what[256];
    snprintf(what, sizeof what, "poisson %s T=%zu F=%zu gain=%g stream=%llu seed=%llu on %s",
             dtype == SPK_U8 ? "u8" : "f32", T, F, (double)gain, (unsigned long long)stream,
             (unsigned long long)spk_context_seed(ctx), dev_name(ctx));
    float *got = spk_test_alloc(T * F), *want = spk_test_alloc(T * F);
    if (dtype == SPK_U8) {
        unsigned char *raw = malloc(T * F);
        cr_assert(raw);
        spk_test_guarded_download(&gs, raw, what);
        for (size_t i = 0; i < T * F; i++) {
            cr_assert(raw[i] <= 1, "%s: spike[t=%zu, i=%zu] = %u, not 0 or 1", what, i / F, i % F, raw[i]);
            got[i] = raw[i];
        }
        free(raw);
    } else {
        spk_test_guarded_download(&gs, got, what);
    }
    float *in_back = spk_test_alloc(F);
    spk_test_guarded_download(&gi, in_back, what);
    cr_assert(memcmp(in_back, in, F * sizeof(float)) == 0, "%s: the intensity was modified", what);
    free(in_back);
    spk_ref_encode_poisson(spk_context_seed(ctx), in, F, T, gain, stream, want);
    for (size_t i = 0; i < T * F; i++) {
        cr_assert(got[i] == 0.0f || got[i] == 1.0f, "%s: spike[t=%zu, i=%zu] = %g, not 0 or 1", what, i / F, i % F,
                  (double)got[i]);
        cr_assert(got[i] == want[i], "%s: spike[t=%zu, i=%zu] = %g, reference %g (intensity %.9g)", what, i / F,
                  i % F, (double)got[i], (double)want[i], (double)in[i % F]);
    }
    /* Whatever the random bits: p = 0 never spikes, p = 1 always does. */
    for (size_t i = 0; i < T * F; i++) {
        float p = gain * in[i % F];
        if (!(p > 0.0f))
            cr_assert(got[i] == 0.0f, "%s: spike at p = %g (t=%zu, i=%zu)", what, (double)p, i / F, i % F);
        if (p >= 1.0f)
            cr_assert(got[i] == 1.0f, "%s: no spike at p = %g (t=%zu, i=%zu)", what, (double)p, i / F, i % F);
    }
    spk_test_guarded_free(&gi);
    spk_test_guarded_free(&gs);
    free(want);
    return got;
}

static void fill_intensities(spk_test_rng *rng, float *x, size_t n)
{
    static const float special[] = {-1.0f, -0.1f, 0.0f, 1e-8f, 0.25f, 0.5f, 0.999f, 1.0f, 1.5f, 3.0f, -0.0f, 0.49f};
    for (size_t i = 0; i < n; i++)
        x[i] = i < sizeof special / sizeof special[0] ? special[i] : spk_test_uniform(rng, -0.5f, 1.5f);
}

Test(poisson, matches_reference)
{
    static const uint64_t seeds[] = {0, 42, 0xdeadbeefcafebabeull};
    static const uint64_t streams[] = {0, 1, 0x100000002ull, 0xffffffffffffffffull};
    static const size_t Ts[] = {1, 3, 4, 7, 13};
    static const size_t shapes[3][3] = {{5, 0, 0}, {3, 7, 0}, {2, 3, 11}};
    static const int ndims[3] = {1, 2, 3};
    static const float gains[] = {1.0f, 0.0f, 2.0f, 0.37f};
    char sels[SPK_TEST_MAX_DEVICES][16];
    size_t nd = spk_test_devices(sels, SPK_TEST_MAX_DEVICES);
    cr_assert(nd > 0, "no OpenCL device to test");
    for (size_t d = 0; d < nd; d++)
        for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
            spk_context *ctx = spk_test_context(sels[d], seeds[s]);
            spk_test_rng rng = {seeds[s] + 1};
            size_t c = 0;
            for (int dt = 0; dt < 2; dt++)
                for (size_t ti = 0; ti < sizeof Ts / sizeof Ts[0]; ti++, c++) {
                    int sh = (int)(c % 3);
                    size_t F = 1;
                    for (int i = 0; i < ndims[sh]; i++)
                        F *= shapes[sh][i];
                    float *in = spk_test_alloc(F);
                    fill_intensities(&rng, in, F);
                    for (size_t g = 0; g < sizeof gains / sizeof gains[0]; g++) {
                        uint64_t stream = streams[(c + g) % 4];
                        float *got = encode_and_compare(ctx, dt ? SPK_U8 : SPK_F32, Ts[ti], ndims[sh], shapes[sh], in,
                                                        gains[g], stream);
                        free(got);
                    }
                    free(in);
                }
            spk_context_free(ctx);
        }
}

/* Many elements (several work-groups, a partial last one) and a long T:
 * F = 1057 is odd (one input per work item), F = 1024 runs tiles of vectors
 * on CPU devices. */
Test(poisson, matches_reference_large)
{
    SPK_FOR_EACH_DEVICE(ctx, 2024)
    {
        spk_test_rng rng = {5};
        size_t shape[2] = {7, 151}; /* F = 1057 */
        size_t F = 7 * 151;
        float *in = spk_test_alloc(F);
        fill_intensities(&rng, in, F);
        for (int dt = 0; dt < 2; dt++)
            free(encode_and_compare(ctx, dt ? SPK_U8 : SPK_F32, 50, 2, shape, in, 0.8f, 77 + (uint64_t)dt));
        free(in);
        /* F = 1024: on CPU devices the tiled kernel, 8 inputs a vector. */
        size_t shape2[2] = {8, 128};
        in = spk_test_alloc(1024);
        fill_intensities(&rng, in, 1024);
        for (int dt = 0; dt < 2; dt++)
            free(encode_and_compare(ctx, dt ? SPK_U8 : SPK_F32, 51, 2, shape2, in, 0.9f, 90 + (uint64_t)dt));
        free(in);
        /* F = 168, 21 vectors of 8: tiles of two vectors and a last one alone
         * (the tiled kernel draws for two vectors at once), and whole vectors
         * of probability 0 or 1, for which it draws nothing. */
        size_t shape3[2] = {3, 56};
        in = spk_test_alloc(168);
        fill_intensities(&rng, in, 168);
        for (size_t i = 0; i < 168; i++) {
            size_t v = i / 8;
            if (v % 3 == 0)
                in[i] = v % 2 ? -0.5f : 0.0f;
            else if (v % 3 == 1 && v != 4)
                in[i] = v % 2 ? 1.0f : 2.5f;
        }
        for (int dt = 0; dt < 2; dt++)
            free(encode_and_compare(ctx, dt ? SPK_U8 : SPK_F32, 13, 2, shape3, in, 1.0f, 7 + (uint64_t)dt));
        free(in);
    }
}

/* ------------------------------------------------------------ statistics */

Test(poisson, firing_rates)
{
    static const float ps[] = {0.0f, 0.02f, 0.1f, 0.25f, 0.333f, 0.5f, 0.75f, 0.9f, 0.98f, 1.0f};
    enum { P = sizeof ps / sizeof ps[0], B = 32, T = 400 };
    SPK_FOR_EACH_DEVICE(ctx, 11)
    {
        float in[B * P];
        for (size_t b = 0; b < B; b++)
            for (size_t j = 0; j < P; j++)
                in[b * P + j] = ps[j];
        spk_tensor *ti = NULL, *ts = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[]){B, P}, &ti));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_U8, 3, (size_t[]){T, B, P}, &ts));
        SPK_ASSERT_OK(ctx, spk_tensor_upload(ti, in, sizeof in));
        SPK_ASSERT_OK(ctx, spk_encode_poisson(ctx, ti, 1.0f, 3, ts));
        unsigned char *s = malloc((size_t)T * B * P);
        cr_assert(s);
        SPK_ASSERT_OK(ctx, spk_tensor_download(ts, s, (size_t)T * B * P));
#define S_(t, b, j) s[((size_t)(t) * B + (b)) * P + (j)]
        for (size_t j = 0; j < P; j++) {
            double p = ps[j];
            double n1 = 0, lag1 = 0, lag4 = 0, cross = 0;
            size_t n = (size_t)T * B, n_lag1 = (size_t)(T - 1) * B, n_lag4 = (size_t)(T - 4) * B,
                   n_cross = (size_t)T * (B - 1);
            for (size_t t = 0; t < T; t++)
                for (size_t b = 0; b < B; b++) {
                    n1 += S_(t, b, j);
                    if (t + 1 < T)
                        lag1 += S_(t, b, j) & S_(t + 1, b, j);
                    if (t + 4 < T)
                        lag4 += S_(t, b, j) & S_(t + 4, b, j);
                    if (b + 1 < B)
                        cross += S_(t, b, j) & S_(t, b + 1, j);
                }
            double rate = n1 / (double)n;
            if (p == 0.0 || p == 1.0) {
                cr_assert(rate == p, "%s: rate %g at p = %g must be exact", dev_name(ctx), rate, p);
                continue;
            }
            /* Within 5 standard errors (plus the 2^-24 quantisation of u). */
            double se = sqrt(p * (1 - p) / (double)n);
            cr_assert(fabs(rate - p) <= 5 * se + 1e-6, "%s: firing rate %.5f over %zu trials, p = %g (%.1f standard errors)",
                      dev_name(ctx), rate, n, p, fabs(rate - p) / se);
            /* Independence: joint firing of pairs ~ p^2 (within a Philox block,
             * across blocks, and across elements). */
            double q = p * p, se2 = sqrt(q * (1 - q) / (double)n_lag1);
            struct {
                const char *name;
                double got;
                size_t n;
            } pairs[3] = {{"consecutive steps", lag1 / (double)n_lag1, n_lag1},
                          {"steps 4 apart", lag4 / (double)n_lag4, n_lag4},
                          {"neighbouring elements", cross / (double)n_cross, n_cross}};
            for (int k = 0; k < 3; k++) {
                se2 = sqrt(q * (1 - q) / (double)pairs[k].n);
                cr_assert(fabs(pairs[k].got - q) <= 6 * se2 + 1e-6,
                          "%s: joint firing of %s at p = %g is %.5f, expected %.5f (%.1f standard errors)",
                          dev_name(ctx), pairs[k].name, p, pairs[k].got, q, fabs(pairs[k].got - q) / se2);
            }
        }
        /* Every step, over all elements with p = 0.5: no step is stuck. */
        for (size_t t = 0; t < T; t++) {
            int c = 0;
            for (size_t b = 0; b < B; b++)
                c += S_(t, b, 5);
            cr_assert(c > 0 && c < B, "%s: at step %zu all %d elements with p = 0.5 agree (%d spikes)", dev_name(ctx),
                      t, B, c);
        }
#undef S_
        free(s);
        spk_tensor_free(ti);
        spk_tensor_free(ts);
    }
}

/* ------------------------------------------------------------ streams, seeds */

static void encode_host(spk_context *ctx, const float *in, size_t F, size_t T, float gain, uint64_t stream,
                        spk_dtype dtype, float *out)
{
    spk_tensor *ti = NULL, *ts = NULL;
    SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 1, (size_t[]){F}, &ti));
    SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, dtype, 2, (size_t[]){T, F}, &ts));
    SPK_ASSERT_OK(ctx, spk_tensor_upload(ti, in, F * sizeof(float)));
    SPK_ASSERT_OK(ctx, spk_encode_poisson(ctx, ti, gain, stream, ts));
    if (dtype == SPK_U8) {
        unsigned char *raw = malloc(T * F);
        cr_assert(raw);
        SPK_ASSERT_OK(ctx, spk_tensor_download(ts, raw, T * F));
        for (size_t i = 0; i < T * F; i++)
            out[i] = raw[i];
        free(raw);
    } else {
        SPK_ASSERT_OK(ctx, spk_tensor_download(ts, out, T * F * sizeof(float)));
    }
    spk_tensor_free(ti);
    spk_tensor_free(ts);
}

static double fraction_differing(const float *a, const float *b, size_t n)
{
    size_t d = 0;
    for (size_t i = 0; i < n; i++)
        d += a[i] != b[i];
    return (double)d / (double)n;
}

Test(poisson, streams_and_seeds_differ)
{
    enum { F = 256, T = 32, N = F * T };
    static const uint64_t streams[] = {0, 1, 2, 0x100000000ull, 0x8000000000000000ull, 0xffffffffffffffffull};
    enum { NS = sizeof streams / sizeof streams[0] };
    float in[F];
    for (size_t i = 0; i < F; i++)
        in[i] = 0.5f;
    char sels[SPK_TEST_MAX_DEVICES][16];
    size_t nd = spk_test_devices(sels, SPK_TEST_MAX_DEVICES);
    cr_assert(nd > 0, "no OpenCL device to test");
    for (size_t d = 0; d < nd; d++) {
        spk_context *ctx = spk_test_context(sels[d], 1);
        float *trains = spk_test_alloc((size_t)NS * N), *ref = spk_test_alloc(N);
        for (size_t s = 0; s < NS; s++) {
            encode_host(ctx, in, F, T, 1.0f, streams[s], SPK_F32, trains + s * N);
            spk_ref_encode_poisson(1, in, F, T, 1.0f, streams[s], ref);
            cr_assert(memcmp(trains + s * N, ref, N * sizeof(float)) == 0, "%s: stream %llx differs from the reference",
                      dev_name(ctx), (unsigned long long)streams[s]);
        }
        /* At p = 1/2 two independent trains differ in about half the places. */
        for (size_t s = 0; s < NS; s++)
            for (size_t r = 0; r < s; r++) {
                double f = fraction_differing(trains + s * N, trains + r * N, N);
                cr_assert(f > 0.45 && f < 0.55, "%s: streams %llx and %llx differ in %.3f of places, expected ~0.5",
                          dev_name(ctx), (unsigned long long)streams[r], (unsigned long long)streams[s], f);
            }
        /* Another seed, same stream: different again. */
        spk_context *ctx2 = spk_test_context(sels[d], 2);
        spk_context *ctx3 = spk_test_context(sels[d], 1ull << 32); /* high word of the key */
        float *other = spk_test_alloc(N);
        encode_host(ctx2, in, F, T, 1.0f, 0, SPK_F32, other);
        double f = fraction_differing(trains, other, N);
        cr_assert(f > 0.45 && f < 0.55, "%s: seeds 1 and 2 differ in %.3f of places, expected ~0.5", dev_name(ctx), f);
        encode_host(ctx3, in, F, T, 1.0f, 0, SPK_F32, other);
        f = fraction_differing(trains, other, N);
        cr_assert(f > 0.45 && f < 0.55, "%s: seeds 1 and 2^32 differ in %.3f of places, expected ~0.5",
                  dev_name(ctx), f);
        free(other);
        spk_context_free(ctx3);
        spk_context_free(ctx2);
        free(trains);
        free(ref);
        spk_context_free(ctx);
    }
}

Test(poisson, reproducible)
{
    enum { F = 300, T = 21, N = F * T };
    spk_test_rng rng = {9};
    float in[F];
    spk_test_fill_uniform(&rng, in, F, 0.0f, 1.0f);
    char sels[SPK_TEST_MAX_DEVICES][16];
    size_t nd = spk_test_devices(sels, SPK_TEST_MAX_DEVICES);
    cr_assert(nd > 0, "no OpenCL device to test");
    float *first = spk_test_alloc(N), *again = spk_test_alloc(N);
    for (size_t d = 0; d < nd; d++) {
        spk_context *a = spk_test_context(sels[d], 0x5eed);
        spk_context *b = spk_test_context(sels[d], 0x5eed);
        encode_host(a, in, F, T, 1.0f, 12, SPK_F32, first);
        encode_host(a, in, F, T, 1.0f, 12, SPK_F32, again);
        cr_assert(memcmp(first, again, N * sizeof(float)) == 0, "%s: a second call in one context differs",
                  dev_name(a));
        encode_host(b, in, F, T, 1.0f, 12, SPK_F32, again);
        cr_assert(memcmp(first, again, N * sizeof(float)) == 0, "%s: same seed and stream in another context differs",
                  dev_name(b));
        encode_host(b, in, F, T, 1.0f, 12, SPK_U8, again);
        cr_assert(memcmp(first, again, N * sizeof(float)) == 0, "%s: u8 spikes differ from f32 spikes",
                  dev_name(b));
        /* Across devices too: the first device's train is the reference for all. */
        if (d > 0) {
            spk_context *c0 = spk_test_context(sels[0], 0x5eed);
            encode_host(c0, in, F, T, 1.0f, 12, SPK_F32, again);
            cr_assert(memcmp(first, again, N * sizeof(float)) == 0, "devices %s and %s disagree", sels[0], sels[d]);
            spk_context_free(c0);
        }
        spk_context_free(a);
        spk_context_free(b);
    }
    free(first);
    free(again);
}

/* ------------------------------------------------------------ invalid arguments */

Test(poisson, invalid_arguments)
{
    SPK_FOR_EACH_DEVICE(ctx, 0)
    {
        spk_tensor *in = NULL, *sp = NULL, *bad_t = NULL, *flat = NULL, *no_t = NULL, *in_u8 = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[]){4, 5}, &in));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[]){3, 4, 5}, &sp));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[]){3, 4, 6}, &bad_t));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[]){3, 20}, &flat));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[]){4, 5}, &no_t));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_U8, 2, (size_t[]){4, 5}, &in_u8));
        SPK_ASSERT_OK(ctx, spk_tensor_fill_f32(in, 0.5f));
        SPK_ASSERT_OK(ctx, spk_tensor_fill_f32(sp, 7.0f));

        cr_assert(spk_encode_poisson(NULL, in, 1.0f, 0, sp) == SPK_ERR_NULL_POINTER, "NULL ctx");
        cr_assert(strstr(spk_context_last_error(NULL), "NULL"), "detail '%s' for a NULL ctx",
                  spk_context_last_error(NULL));
        SPK_ASSERT_STATUS(ctx, spk_encode_poisson(ctx, NULL, 1.0f, 0, sp), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(ctx, spk_encode_poisson(ctx, in, 1.0f, 0, NULL), SPK_ERR_NULL_POINTER, "NULL");

        SPK_ASSERT_STATUS(ctx, spk_encode_poisson(ctx, in, 1.0f, 0, bad_t), SPK_ERR_SHAPE, "[3, 4, 6]");
        SPK_ASSERT_STATUS(ctx, spk_encode_poisson(ctx, in, 1.0f, 0, flat), SPK_ERR_SHAPE, "[3, 20]");
        SPK_ASSERT_STATUS(ctx, spk_encode_poisson(ctx, in, 1.0f, 0, no_t), SPK_ERR_SHAPE, "[4, 5]");
        SPK_ASSERT_STATUS(ctx, spk_encode_poisson(ctx, in_u8, 1.0f, 0, sp), SPK_ERR_DTYPE, "f32");

        const float bad_gains[] = {-1.0f, -1e-30f, NAN, INFINITY, -INFINITY};
        for (size_t i = 0; i < sizeof bad_gains / sizeof bad_gains[0]; i++) {
            spk_status st = spk_encode_poisson(ctx, in, bad_gains[i], 0, sp);
            cr_assert(st == SPK_ERR_INVALID_ARGUMENT, "gain %g returned %s, expected SPK_ERR_INVALID_ARGUMENT",
                      (double)bad_gains[i], spk_status_name(st));
            cr_assert(strstr(spk_context_last_error(ctx), "gain"), "gain %g: detail '%s' does not mention gain",
                      (double)bad_gains[i], spk_context_last_error(ctx));
        }

        spk_device_info info;
        SPK_ASSERT_OK(ctx, spk_context_device(ctx, &info));
        char sel[32];
        snprintf(sel, sizeof sel, "%d:%d", info.platform_index, info.device_index);
        spk_context *other = spk_test_context(sel, 0);
        spk_tensor *foreign = NULL;
        SPK_ASSERT_OK(other, spk_tensor_create(other, SPK_F32, 3, (size_t[]){3, 4, 5}, &foreign));
        SPK_ASSERT_STATUS(ctx, spk_encode_poisson(ctx, in, 1.0f, 0, foreign), SPK_ERR_CONTEXT, "context");
        SPK_ASSERT_STATUS(other, spk_encode_poisson(other, in, 1.0f, 0, foreign), SPK_ERR_CONTEXT, "context");
        spk_tensor_free(foreign);
        spk_context_free(other);

        /* None of the rejected calls wrote the spikes. */
        float got[60];
        SPK_ASSERT_OK(ctx, spk_tensor_download(sp, got, sizeof got));
        for (int i = 0; i < 60; i++)
            cr_assert(got[i] == 7.0f, "spikes[%d] = %g after rejected calls, expected the fill value 7", i,
                      (double)got[i]);
        /* -0 is a valid gain (no spikes). */
        SPK_ASSERT_OK(ctx, spk_encode_poisson(ctx, in, -0.0f, 0, sp));
        SPK_ASSERT_OK(ctx, spk_tensor_download(sp, got, sizeof got));
        for (int i = 0; i < 60; i++)
            cr_assert(got[i] == 0.0f, "gain -0: spikes[%d] = %g", i, (double)got[i]);

        spk_tensor_free(in);
        spk_tensor_free(sp);
        spk_tensor_free(bad_t);
        spk_tensor_free(flat);
        spk_tensor_free(no_t);
        spk_tensor_free(in_u8);
    }
}

/* ---- Direct and latency encoders -------------------------------------- */

/* Inputs that exercise clamping, zero, exact halves of a step and odd sizes. */
static void encoder_inputs(float *x, size_t n)
{
    spk_test_rng r = {11};
    for (size_t i = 0; i < n; i++)
        x[i] = spk_test_uniform(&r, -0.2f, 1.3f);
    x[0] = 0.0f, x[1] = 1.0f, x[2] = -1.0f, x[3] = 0.5f, x[4] = 2.0f;
}

Test(encoders, direct_and_latency_match_reference)
{
    const size_t B = 3, F = 67, n = B * F;
    const size_t steps[] = {1, 2, 7, 16};
    float x[3 * 67];
    encoder_inputs(x, n);
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        spk_test_guarded in;
        spk_test_guarded_create(ctx, SPK_F32, 2, (size_t[2]){B, F}, &in);
        spk_test_guarded_upload(&in, x);
        for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
            const size_t T = steps[k];
            const float gains[] = {1.0f, 0.5f, 0.0f};
            for (size_t gi = 0; gi < 3; gi++) {
                float *want = spk_test_alloc(T * n), *got = spk_test_alloc(T * n);
                unsigned char *got8 = malloc(T * n);
                cr_assert(got8);
                spk_test_guarded out, out8;
                spk_test_guarded_create(ctx, SPK_F32, 3, (size_t[3]){T, B, F}, &out);
                spk_test_guarded_create(ctx, SPK_U8, 3, (size_t[3]){T, B, F}, &out8);

                SPK_ASSERT_OK(ctx, spk_encode_direct(ctx, in.t, gains[gi], out.t));
                spk_test_guarded_download(&out, got, "direct");
                spk_ref_encode_direct(x, n, T, gains[gi], want);
                cr_assert(memcmp(got, want, T * n * sizeof(float)) == 0, "direct T=%zu gain %g differs", T,
                          (double)gains[gi]);

                SPK_ASSERT_OK(ctx, spk_encode_latency(ctx, in.t, gains[gi], out.t));
                SPK_ASSERT_OK(ctx, spk_encode_latency(ctx, in.t, gains[gi], out8.t));
                spk_test_guarded_download(&out, got, "latency f32");
                spk_test_guarded_download(&out8, got8, "latency u8");
                spk_ref_encode_latency(x, n, T, gains[gi], want);
                for (size_t i = 0; i < T * n; i++) {
                    cr_assert(got[i] == want[i], "latency T=%zu gain %g: [t=%zu, i=%zu] = %g, reference %g", T,
                              (double)gains[gi], i / n, i % n, (double)got[i], (double)want[i]);
                    cr_assert(got8[i] == (unsigned char)want[i], "latency u8 [%zu]", i);
                }
                /* Each input fires at most once; the brightest first. */
                for (size_t i = 0; i < n; i++) {
                    int count = 0;
                    for (size_t t = 0; t < T; t++)
                        count += want[t * n + i] > 0.0f;
                    float p = fminf(fmaxf(gains[gi] * x[i], 0.0f), 1.0f);
                    cr_assert(count == (p > 0.0f), "input %zu (p %g) fires %d times", i, (double)p, count);
                    if (p >= 1.0f)
                        cr_assert(want[i] == 1.0f, "a saturated input fires at step 0");
                }
                spk_test_guarded_free(&out), spk_test_guarded_free(&out8);
                free(want), free(got), free(got8);
            }
        }
        /* Invalid arguments. */
        spk_tensor *bad, *u8in;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){4, B, F + 1}, &bad));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_U8, 2, (size_t[2]){B, F}, &u8in));
        SPK_ASSERT_STATUS(ctx, spk_encode_latency(ctx, in.t, 1.0f, bad), SPK_ERR_SHAPE, "spk_encode_latency");
        SPK_ASSERT_STATUS(ctx, spk_encode_direct(ctx, in.t, 1.0f, bad), SPK_ERR_SHAPE, "spk_encode_direct");
        SPK_ASSERT_STATUS(ctx, spk_encode_latency(ctx, u8in, 1.0f, bad), SPK_ERR_DTYPE, "f32");
        SPK_ASSERT_STATUS(ctx, spk_encode_latency(ctx, in.t, NAN, bad), SPK_ERR_INVALID_ARGUMENT, "gain");
        SPK_ASSERT_STATUS(ctx, spk_encode_direct(ctx, in.t, -1.0f, bad), SPK_ERR_INVALID_ARGUMENT, "gain");
        SPK_ASSERT_STATUS(ctx, spk_encode_latency(ctx, NULL, 1.0f, bad), SPK_ERR_NULL_POINTER, "NULL");
        spk_tensor_free(bad), spk_tensor_free(u8in);
        spk_test_guarded_free(&in);
    }
}

/* Element counts that CPU devices split into SIMD vectors (VW = 8, 4, 2)
 * give the reference's bits too. */
Test(encode, direct_vector_widths)
{
    const size_t sizes[] = {64, 36, 2 * 23};
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            const size_t n = sizes[s], T = 5;
            float x[64], *want = spk_test_alloc(T * n), *got = spk_test_alloc(T * n);
            encoder_inputs(x, n);
            spk_test_guarded in, out;
            spk_test_guarded_create(ctx, SPK_F32, 2, (size_t[2]){2, n / 2}, &in);
            spk_test_guarded_create(ctx, SPK_F32, 3, (size_t[3]){T, 2, n / 2}, &out);
            spk_test_guarded_upload(&in, x);
            SPK_ASSERT_OK(ctx, spk_encode_direct(ctx, in.t, 0.75f, out.t));
            spk_test_guarded_download(&out, got, "direct");
            spk_ref_encode_direct(x, n, T, 0.75f, want);
            cr_assert(memcmp(got, want, T * n * sizeof(float)) == 0, "direct of %zu elements differs", n);
            spk_test_guarded_free(&in);
            spk_test_guarded_free(&out);
            free(want);
            free(got);
        }
    }
}

/* Bit-packed output: the same spike trains as the reference, packed. */
Test(poisson, bits_match_reference_packed)
{
    /* On CPU devices {2, 64} runs tiles whose words are shared (atomics),
     * {16, 256} and {33, 32} tiles that own whole words (the latter with a
     * partial last tile); odd rows take the one-input-per-item kernel. */
    static const size_t shapes[][2] = {{1, 1}, {3, 37}, {2, 64}, {7, 151}, {16, 256}, {33, 32}};
    static const size_t Ts[] = {1, 7, 7, 50, 50, 9};
    SPK_FOR_EACH_DEVICE(ctx, 99)
    {
        spk_test_rng rng = {8};
        for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
            const size_t B = shapes[c][0], n = shapes[c][1], F = B * n, T = Ts[c], rows = T * B;
            const size_t row_bytes = spk_spike_row_bytes(n), words = row_bytes / 4;
            float *in = spk_test_alloc(F), *want = spk_test_alloc(T * F);
            uint32_t *packed = calloc(rows * words, 4), *got = calloc(rows * words, 4);
            cr_assert(packed && got);
            fill_intensities(&rng, in, F);
            spk_test_guarded gi, gb;
            spk_test_guarded_create(ctx, SPK_F32, 2, (size_t[2]){B, n}, &gi);
            spk_test_guarded_upload(&gi, in);
            spk_test_guarded_create_at(ctx, SPK_U8, 3, (size_t[3]){T, B, row_bytes}, 256, &gb);
            SPK_ASSERT_OK(ctx, spk_encode_poisson_bits(ctx, gi.t, 0.9f, 5 + c, gb.t));
            spk_test_guarded_download(&gb, got, "bits");
            spk_ref_encode_poisson(spk_context_seed(ctx), in, F, T, 0.9f, 5 + c, want);
            spk_ref_spikes_pack(want, rows, n, packed);
            cr_assert(memcmp(got, packed, rows * row_bytes) == 0, "B=%zu n=%zu T=%zu: packed Poisson spikes differ", B,
                      n, T);
            spk_test_guarded_free(&gi), spk_test_guarded_free(&gb);
            free(in), free(want), free(packed), free(got);
        }
        spk_tensor *x = NULL, *bad = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){3, 40}, &x));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_U8, 3, (size_t[3]){4, 3, 4}, &bad));
        SPK_ASSERT_STATUS(ctx, spk_encode_poisson_bits(ctx, x, 1.0f, 0, bad), SPK_ERR_SHAPE, "8 bytes each");
        SPK_ASSERT_STATUS(ctx, spk_encode_poisson_bits(ctx, x, -1.0f, 0, bad), SPK_ERR_INVALID_ARGUMENT, "gain");
        SPK_ASSERT_STATUS(ctx, spk_encode_poisson_bits(ctx, x, 1.0f, 0, NULL), SPK_ERR_NULL_POINTER, "NULL");
        spk_tensor_free(x), spk_tensor_free(bad);
    }
}
