#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"

static int selected(const spk_device_info *d, const char *filter)
{
    if (!filter || !*filter)
        return 1;
    char buf[512], idx[32];
    snprintf(buf, sizeof buf, "%s", filter);
    snprintf(idx, sizeof idx, "%d:%d", d->platform_index, d->device_index);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ","))
        if (strcmp(tok, idx) == 0 || strstr(d->device_name, tok) || strstr(d->platform_name, tok))
            return 1;
    return 0;
}

size_t spk_test_devices(char sel[][16], size_t cap)
{
    spk_device_info infos[SPK_TEST_MAX_DEVICES];
    size_t n = 0, out = 0;
    if (spk_devices_list(infos, SPK_TEST_MAX_DEVICES, &n) != SPK_OK)
        return 0;
    const char *filter = getenv("SPIKECL_TEST_DEVICES");
    for (size_t i = 0; i < n && i < SPK_TEST_MAX_DEVICES && out < cap; i++)
        if (selected(&infos[i], filter))
            snprintf(sel[out++], 16, "%d:%d", infos[i].platform_index, infos[i].device_index);
    return out;
}

spk_context *spk_test_context_gemm(const char *sel, uint64_t seed, spk_gemm_backend backend)
{
    spk_context_options o = spk_context_options_default();
    o.device = sel;
    o.seed = seed;
    o.gemm_backend = backend;
    spk_context *ctx = NULL;
    spk_status st = spk_context_create(&o, &ctx);
    if (st == SPK_ERR_UNSUPPORTED && backend == SPK_GEMM_HOST)
        return NULL;
    cr_assert(st == SPK_OK, "context on %s (GEMM %s): %s", sel, spk_gemm_backend_name(backend),
              spk_context_last_error(NULL));
    cr_assert(backend == SPK_GEMM_AUTO || spk_context_gemm_backend(ctx) == backend);
    return ctx;
}

spk_context *spk_test_context(const char *sel, uint64_t seed)
{
    return spk_test_context_gemm(sel, seed, SPK_GEMM_AUTO);
}

static const unsigned char GUARD_BYTE = 0xA5;

void spk_test_guarded_create(spk_context *ctx, spk_dtype dtype, int ndim, const size_t *shape, spk_test_guarded *g)
{
    spk_test_guarded_create_at(ctx, dtype, ndim, shape, SPK_TEST_GUARD, g);
}

void spk_test_guarded_create_at(spk_context *ctx, spk_dtype dtype, int ndim, const size_t *shape, size_t guard,
                                spk_test_guarded *g)
{
    size_t numel = 1;
    for (int i = 0; i < ndim; i++)
        numel *= shape[i];
    g->guard = guard;
    size_t total = numel + 2 * guard;
    size_t es = spk_dtype_size(dtype);
    unsigned char *fill = malloc(total * es);
    cr_assert(fill);
    memset(fill, GUARD_BYTE, total * es);
    g->numel = numel;
    SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, dtype, 1, &total, &g->base));
    SPK_ASSERT_OK(ctx, spk_tensor_upload(g->base, fill, total * es));
    SPK_ASSERT_OK(ctx, spk_tensor_view(g->base, guard, ndim, shape, &g->t));
    free(fill);
}

void spk_test_guarded_upload(spk_test_guarded *g, const void *host)
{
    spk_context *ctx = spk_tensor_context(g->t);
    SPK_ASSERT_OK(ctx, spk_tensor_upload(g->t, host, spk_tensor_bytes(g->t)));
}

void spk_test_guarded_download(spk_test_guarded *g, void *host, const char *what)
{
    spk_context *ctx = spk_tensor_context(g->base);
    size_t es = spk_dtype_size(spk_tensor_dtype(g->base));
    size_t total = spk_tensor_numel(g->base);
    unsigned char *all = malloc(total * es);
    cr_assert(all);
    SPK_ASSERT_OK(ctx, spk_tensor_download(g->base, all, total * es));
    for (size_t i = 0; i < g->guard * es; i++) {
        cr_assert(all[i] == GUARD_BYTE, "%s: write before the start of the buffer (byte %zu)", what, i);
        cr_assert(all[(g->guard + g->numel) * es + i] == GUARD_BYTE,
                  "%s: write past the end of the buffer (byte %zu after)", what, i);
    }
    memcpy(host, all + g->guard * es, g->numel * es);
    free(all);
}

void spk_test_guarded_download_f32(spk_test_guarded *g, float *host, const char *what)
{
    if (spk_tensor_dtype(g->base) != SPK_U8) {
        spk_test_guarded_download(g, host, what);
        return;
    }
    unsigned char *u = malloc(g->numel);
    cr_assert(u);
    spk_test_guarded_download(g, u, what);
    for (size_t i = 0; i < g->numel; i++)
        host[i] = u[i];
    free(u);
}

void spk_test_guarded_free(spk_test_guarded *g)
{
    spk_tensor_free(g->t);
    spk_tensor_free(g->base);
    g->t = g->base = NULL;
}

void spk_test_compare(const char *what, const float *got, const float *want, size_t n, float atol, float rtol)
{
    double diff2 = 0.0, ref2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(want[i]))
            continue;
        cr_assert(isfinite(got[i]), "%s[%zu] is %g, reference %g", what, i, (double)got[i], (double)want[i]);
        double d = (double)got[i] - (double)want[i];
        cr_assert(fabs(d) <= atol + rtol * fabs(want[i]), "%s[%zu] = %.9g, reference %.9g (|diff| %.3g > %.3g)",
                  what, i, (double)got[i], (double)want[i], fabs(d), (double)(atol + rtol * fabsf(want[i])));
        diff2 += d * d;
        ref2 += (double)want[i] * want[i];
    }
    if (ref2 > 0.0)
        cr_assert(sqrt(diff2 / ref2) <= rtol, "%s: normalized error %.3g > %.3g", what, sqrt(diff2 / ref2),
                  (double)rtol);
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

float spk_test_uniform(spk_test_rng *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)((splitmix64(&r->s) >> 40) * (1.0 / 16777216.0));
}

float spk_test_normal(spk_test_rng *r)
{
    double u1 = ((splitmix64(&r->s) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    double u2 = (splitmix64(&r->s) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void spk_test_fill_uniform(spk_test_rng *r, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = spk_test_uniform(r, lo, hi);
}

void spk_test_fill_normal(spk_test_rng *r, float *x, size_t n, float mean, float std)
{
    for (size_t i = 0; i < n; i++)
        x[i] = mean + std * spk_test_normal(r);
}

float *spk_test_alloc(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    cr_assert(p, "out of host memory");
    return p;
}

float spk_test_max_abs(const float *a, size_t n)
{
    float m = 0.0f;
    for (size_t i = 0; i < n; i++)
        m = fmaxf(m, fabsf(a[i]));
    return m;
}

void spk_test_compare_scaled(const char *what, const float *got, const float *want, size_t n, float rel)
{
    spk_test_compare(what, got, want, n, rel * fmaxf(1e-3f, spk_test_max_abs(want, n)), rel);
}

void spk_test_get_param(spk_network *net, size_t i, float *value, float *grad, const char *want_name,
                        size_t want_numel)
{
    spk_param p;
    cr_assert(spk_network_param(net, i, &p) == SPK_OK, "param %zu", i);
    spk_context *ctx = spk_tensor_context(p.value);
    cr_assert_str_eq(p.name, want_name);
    cr_assert_eq(spk_tensor_numel(p.value), want_numel, "%s has %zu elements", p.name, spk_tensor_numel(p.value));
    cr_assert_eq(spk_tensor_numel(p.grad), want_numel);
    if (value)
        SPK_ASSERT_OK(ctx, spk_tensor_download(p.value, value, want_numel * sizeof(float)));
    if (grad)
        SPK_ASSERT_OK(ctx, spk_tensor_download(p.grad, grad, want_numel * sizeof(float)));
}

void spk_test_set_param(spk_network *net, size_t i, const float *value)
{
    spk_param p;
    cr_assert(spk_network_param(net, i, &p) == SPK_OK);
    SPK_ASSERT_OK(spk_tensor_context(p.value), spk_tensor_upload(p.value, value, spk_tensor_bytes(p.value)));
}

void spk_test_host_dense(const float *x, size_t rows, size_t in, const float *W, const float *b, size_t out, float *y)
{
    spk_ref_gemm(0, 1, rows, out, in, 1.0f, x, W, 0.0f, y);
    if (b)
        for (size_t r = 0; r < rows; r++)
            for (size_t o = 0; o < out; o++)
                y[r * out + o] += b[o];
}

void spk_test_neuron_upstream(spk_test_rng *r, size_t seq, size_t st, float **gS, float **gV, float **g_state_out)
{
    *gS = spk_test_alloc(seq);
    *gV = spk_test_alloc(seq);
    *g_state_out = spk_test_alloc(st);
    spk_test_fill_normal(r, *gS, seq, 0, 1);
    spk_test_fill_normal(r, *gV, seq, 0, 0.1f);
    spk_test_fill_normal(r, *g_state_out, st, 0, 0.5f);
}
