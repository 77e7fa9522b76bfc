/* Convolution, pooling, flatten and dropout layers on every device.
 *
 * Each layer is driven directly through its vtable (nn/layer_internal.h),
 * as the network drives it, so that the input gradient (which a network
 * never hands back for its first layer) can be checked too, in guarded
 * buffers, against the direct-loop references of src/ref/conv_ref.c:
 * forward and backward, odd sizes, strides and padding, static input.
 * Then through networks: finite differences of a conv network's loss on
 * the device, shape errors at build, invalid arguments, and dropout's
 * masks (one per sequence, rate, scaling, evaluation mode, reproducible).
 *
 * CLBlast compiles its GEMM kernels in every process that uses one, and
 * Criterion runs each test in its own process: each test loops over its
 * cases. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nn/layer_internal.h"
#include "ref/ref.h"

/* ---- Helpers ------------------------------------------------------- */

static size_t prod(int n, const size_t *s)
{
    size_t p = 1;
    for (int i = 0; i < n; i++)
        p *= s[i];
    return p;
}

/* What spk_network_build does for one layer: infer its output shape, fix
 * its sizes and mode, and let it allocate. */
static void layer_build(spk_context *ctx, spk_layer *l, size_t T, size_t B, int static_in, int in_ndim,
                        const size_t *in, int *out_ndim, size_t *out)
{
    SPK_ASSERT_OK(ctx, l->vt->infer_shape(l, in_ndim, in, out_ndim, out));
    l->in_numel = prod(in_ndim, in);
    l->out_numel = prod(*out_ndim, out);
    l->T = T, l->B = B;
    l->static_input = static_in;
    l->training = 1;
    l->index = 0;
    if (l->vt->prepare)
        SPK_ASSERT_OK(ctx, l->vt->prepare(l, T, B));
}

/* [T, B, shape...] (or [B, shape...] when lead is 1) into dims. */
static int seq_shape(size_t T, size_t B, int with_t, int ndim, const size_t *shape, size_t *dims)
{
    int n = 0;
    if (with_t)
        dims[n++] = T;
    dims[n++] = B;
    for (int i = 0; i < ndim; i++)
        dims[n++] = shape[i];
    return n;
}

static spk_layer *conv_layer(spk_context *ctx, size_t in_ch, size_t out_ch, size_t kh, size_t kw, size_t sh,
                             size_t sw, size_t ph, size_t pw, int bias, uint64_t seed)
{
    spk_conv2d_params p = spk_conv2d_params_default(in_ch, out_ch, kh);
    p.kernel_w = kw;
    p.stride_h = sh, p.stride_w = sw;
    p.pad_h = ph, p.pad_w = pw;
    p.bias = bias;
    p.seed = seed;
    spk_layer *l = NULL;
    SPK_ASSERT_OK(ctx, spk_conv2d_create(ctx, &p, &l));
    return l;
}

static spk_layer *pool_layer(spk_context *ctx, int is_max, size_t kh, size_t kw, size_t sh, size_t sw)
{
    spk_pool_params p = {kh, kw, sh, sw};
    spk_layer *l = NULL;
    if (is_max)
        SPK_ASSERT_OK(ctx, spk_maxpool2d_create(ctx, &p, &l));
    else
        SPK_ASSERT_OK(ctx, spk_avgpool2d_create(ctx, &p, &l));
    return l;
}

static spk_layer *neuron_layer(spk_context *ctx, const spk_lif_params *p)
{
    spk_layer *l = NULL;
    SPK_ASSERT_OK(ctx, spk_neuron_layer_create(ctx, p, &l));
    return l;
}

static spk_layer *flatten_layer(spk_context *ctx)
{
    spk_layer *l = NULL;
    SPK_ASSERT_OK(ctx, spk_flatten_create(ctx, &l));
    return l;
}

static spk_layer *dropout_layer(spk_context *ctx, float p)
{
    spk_layer *l = NULL;
    SPK_ASSERT_OK(ctx, spk_dropout_create(ctx, p, &l));
    return l;
}

/* Fill a guarded tensor's view with NaN: an element an op fails to write
 * then shows up in the comparison. */
static void poison(spk_test_guarded *g)
{
    float *nan = spk_test_alloc(g->numel);
    for (size_t i = 0; i < g->numel; i++)
        nan[i] = NAN;
    spk_test_guarded_upload(g, nan);
    free(nan);
}

static void download(const spk_tensor *t, float *host)
{
    SPK_ASSERT_OK(spk_tensor_context(t), spk_tensor_download(t, host, spk_tensor_bytes(t)));
}

/* ---- (1) Convolution against the reference -------------------------- */

typedef struct conv_case {
    size_t T, B, C, H, W, OC, KH, KW, SH, SW, PH, PW;
    int bias, static_in;
} conv_case;

static const conv_case CONV_CASES[] = {
    /*T  B  C  H  W  OC KH KW SH SW PH PW bias static */
    {3, 2, 1, 7, 9, 4, 3, 3, 1, 1, 0, 0, 1, 0}, /* odd sizes */
    {2, 3, 3, 9, 7, 5, 3, 2, 2, 2, 1, 1, 1, 0}, /* stride 2, padding 1, non-square kernel */
    {2, 2, 2, 8, 9, 3, 5, 4, 2, 1, 1, 2, 0, 0}, /* unequal strides and padding, no bias */
    {1, 3, 4, 5, 5, 2, 1, 1, 1, 1, 0, 0, 1, 0}, /* 1x1 kernel */
    {2, 2, 2, 3, 3, 3, 3, 3, 1, 1, 2, 2, 1, 0}, /* padding larger than half the kernel */
    {4, 3, 2, 6, 5, 3, 3, 3, 2, 2, 1, 1, 1, 1}, /* static input, stride 2, padding 1 */
    {3, 2, 1, 5, 5, 2, 5, 5, 1, 1, 0, 0, 1, 1}, /* static input, kernel = input: 1x1 output */
    {5, 4, 3, 7, 6, 6, 3, 3, 1, 2, 0, 1, 0, 1}, /* static input, no bias */
    /* wide rows at stride 1: eight pixels at a time, then the rest */
    {2, 2, 3, 6, 21, 4, 3, 3, 1, 1, 0, 0, 1, 0}, /* no padding: rows copied whole */
    {2, 2, 2, 5, 20, 3, 3, 3, 1, 1, 1, 1, 1, 0}, /* padding 1 */
};

Test(conv, conv2d_matches_reference, .timeout = 900)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        for (size_t ci = 0; ci < sizeof CONV_CASES / sizeof CONV_CASES[0]; ci++) {
            const conv_case *c = &CONV_CASES[ci];
            const int st = c->static_in;
            spk_layer *l = conv_layer(ctx, c->C, c->OC, c->KH, c->KW, c->SH, c->SW, c->PH, c->PW, c->bias, 70 + ci);
            const size_t in_shape[3] = {c->C, c->H, c->W};
            int out_ndim = 0;
            size_t out_shape[SPK_MAX_DIMS];
            layer_build(ctx, l, c->T, c->B, st, 3, in_shape, &out_ndim, out_shape);
            spk_ref_conv_shape s = {st ? c->B : c->T * c->B, c->C, c->H, c->W, c->OC, c->KH, c->KW,
                                    c->SH, c->SW, c->PH, c->PW};
            const size_t OH = spk_ref_conv_out_h(&s), OW = spk_ref_conv_out_w(&s);
            cr_assert(out_ndim == 3 && out_shape[0] == c->OC && out_shape[1] == OH && out_shape[2] == OW,
                      "case %zu: output shape [%zu, %zu, %zu], expected [%zu, %zu, %zu]", ci, out_shape[0],
                      out_shape[1], out_shape[2], c->OC, OH, OW);
            cr_assert_eq(l->n_params, c->bias ? 2u : 1u);
            cr_assert_eq(spk_tensor_ndim(l->params[0]), 4);
            const size_t nw = c->OC * c->C * c->KH * c->KW;
            float *w = spk_test_alloc(nw), *b = spk_test_alloc(c->OC);
            download(l->params[0], w);
            if (c->bias)
                download(l->params[1], b);
            const float bound = 1.0f / sqrtf((float)(c->C * c->KH * c->KW));
            cr_assert(spk_test_max_abs(w, nw) <= bound && spk_test_max_abs(w, nw) > 0.3f * bound, "case %zu: initial weights", ci);

            const size_t N = s.N, nx = N * c->C * c->H * c->W, ny_once = N * c->OC * OH * OW;
            const size_t ny = c->T * c->B * c->OC * OH * OW;
            size_t xd[SPK_MAX_DIMS], yd[SPK_MAX_DIMS];
            int xn = seq_shape(c->T, c->B, !st, 3, in_shape, xd), yn = seq_shape(c->T, c->B, 1, 3, out_shape, yd);
            spk_test_guarded gx, gy, ggy, ggx;
            spk_test_guarded_create(ctx, SPK_F32, xn, xd, &gx);
            spk_test_guarded_create(ctx, SPK_F32, yn, yd, &gy);
            spk_test_guarded_create(ctx, SPK_F32, yn, yd, &ggy);
            spk_test_guarded_create(ctx, SPK_F32, xn, xd, &ggx);
            float *x = spk_test_alloc(nx), *once = spk_test_alloc(ny_once), *want = spk_test_alloc(ny);
            float *got = spk_test_alloc(ny), *g = spk_test_alloc(ny), *g_once = spk_test_alloc(ny_once);
            float *dx = spk_test_alloc(nx), *dw = spk_test_alloc(nw), *db = spk_test_alloc(c->OC);
            float *dx_got = spk_test_alloc(nx), *dw_got = spk_test_alloc(nw), *db_got = spk_test_alloc(c->OC);
            spk_test_rng r = {900 + ci};
            char what[160];
            for (int round = 0; round < 2; round++) { /* a second pass reuses every buffer */
                spk_test_fill_uniform(&r, x, nx, -1.0f, 1.0f);
                spk_test_fill_normal(&r, g, ny, 0.0f, 1.0f);
                spk_test_guarded_upload(&gx, x);
                spk_test_guarded_upload(&ggy, g);
                poison(&gy), poison(&ggx);
                SPK_ASSERT_OK(ctx, l->vt->forward(l, gx.t, gy.t));
                spk_ref_conv2d_forward(&s, x, w, c->bias ? b : NULL, once);
                if (st) /* a static input's current is the same at every step */
                    for (size_t t = 0; t < c->T; t++)
                        memcpy(want + t * ny_once, once, ny_once * sizeof(float));
                else
                    memcpy(want, once, ny * sizeof(float));
                spk_test_guarded_download(&gy, got, "conv2d output");
                snprintf(what, sizeof what, "case %zu round %d: output", ci, round);
                spk_test_compare_scaled(what, got, want, ny, 1e-5f);

                SPK_ASSERT_OK(ctx, l->vt->backward(l, gx.t, gy.t, ggy.t, st ? NULL : ggx.t));
                if (st) { /* the gradient of a static input's current is summed over time */
                    memset(g_once, 0, ny_once * sizeof(float));
                    for (size_t t = 0; t < c->T; t++)
                        for (size_t i = 0; i < ny_once; i++)
                            g_once[i] += g[t * ny_once + i];
                } else {
                    memcpy(g_once, g, ny * sizeof(float));
                }
                spk_ref_conv2d_backward(&s, x, w, g_once, dx, dw, db);
                download(l->grads[0], dw_got);
                snprintf(what, sizeof what, "case %zu round %d: d weight", ci, round);
                spk_test_compare_scaled(what, dw_got, dw, nw, 1e-4f);
                if (c->bias) {
                    download(l->grads[1], db_got);
                    snprintf(what, sizeof what, "case %zu round %d: d bias", ci, round);
                    spk_test_compare_scaled(what, db_got, db, c->OC, 1e-4f);
                }
                if (!st) {
                    spk_test_guarded_download(&ggx, dx_got, "conv2d input gradient");
                    snprintf(what, sizeof what, "case %zu round %d: d input", ci, round);
                    spk_test_compare_scaled(what, dx_got, dx, nx, 1e-5f);
                }
                /* A second backward gives the same gradients: overwritten, not accumulated. */
                SPK_ASSERT_OK(ctx, l->vt->backward(l, gx.t, gy.t, ggy.t, st ? NULL : ggx.t));
                float *again = spk_test_alloc(nw);
                download(l->grads[0], again);
                cr_assert(memcmp(again, dw_got, nw * sizeof(float)) == 0, "case %zu: a second backward changed dW",
                          ci);
                free(again);
                /* The input and the output gradient were only read. */
                float *after = spk_test_alloc(nx > ny ? nx : ny);
                spk_test_guarded_download(&gx, after, "conv2d input");
                cr_assert(memcmp(after, x, nx * sizeof(float)) == 0, "case %zu: the layer wrote its input", ci);
                spk_test_guarded_download(&ggy, after, "conv2d output gradient");
                cr_assert(memcmp(after, g, ny * sizeof(float)) == 0, "case %zu: the layer wrote dL/dy", ci);
                free(after);
            }
            spk_test_guarded_free(&gx), spk_test_guarded_free(&gy), spk_test_guarded_free(&ggy),
                spk_test_guarded_free(&ggx);
            free(w), free(b), free(x), free(once), free(want), free(got), free(g), free(g_once);
            free(dx), free(dw), free(db), free(dx_got), free(dw_got), free(db_got);
            spk_layer_free(l);
        }
    }
}

/* ---- (2) Pooling against the reference ------------------------------ */

typedef struct pool_case {
    size_t T, B, C, H, W, KH, KW, SH, SW;
    int ndim;    /* per-sample input [C, H, W] (3) or [H, W] (2, C = 1) */
    int binary;  /* spike-like 0/1 input: ties everywhere */
} pool_case;

static const pool_case POOL_CASES[] = {
    /*T  B  C  H  W  KH KW SH SW ndim binary */
    {2, 3, 3, 7, 9, 2, 2, 2, 2, 3, 0}, /* odd sizes: the last row and column are dropped */
    {2, 2, 2, 8, 7, 3, 3, 2, 2, 3, 0}, /* overlapping windows */
    {1, 3, 1, 5, 6, 3, 2, 1, 1, 3, 0}, /* stride 1, non-square window */
    {3, 2, 1, 6, 6, 2, 2, 2, 2, 2, 1}, /* [H, W] input, binary */
    {2, 3, 4, 9, 8, 3, 2, 2, 3, 3, 1}, /* overlapping rows, binary */
    {2, 2, 2, 4, 4, 4, 4, 1, 1, 3, 0}, /* window = input */
    {2, 2, 3, 10, 13, 2, 3, 3, 4, 3, 1}, /* stride > window: gaps, and rows and columns left over */
    {1, 2, 2, 7, 7, 3, 3, 3, 3, 3, 0},   /* stride = window 3, one row and column left over */
    /* 2x2 stride 2 on wide planes: four windows at a time, then the rest one by one */
    {2, 2, 3, 6, 21, 2, 2, 2, 2, 3, 1},  /* 10 windows a row and a column left over, binary */
    {1, 2, 2, 9, 24, 2, 2, 2, 2, 3, 0},  /* 12 windows a row and a row left over */
};

Test(conv, pooling_matches_reference, .timeout = 600)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        for (size_t ci = 0; ci < sizeof POOL_CASES / sizeof POOL_CASES[0]; ci++)
            for (int is_max = 0; is_max <= 1; is_max++) {
                const pool_case *c = &POOL_CASES[ci];
                spk_layer *l = pool_layer(ctx, is_max, c->KH, c->KW, c->SH, c->SW);
                const size_t in3[3] = {c->C, c->H, c->W};
                const size_t *in_shape = c->ndim == 3 ? in3 : in3 + 1;
                int out_ndim = 0;
                size_t out_shape[SPK_MAX_DIMS];
                layer_build(ctx, l, c->T, c->B, 0, c->ndim, in_shape, &out_ndim, out_shape);
                spk_ref_conv_shape s = {c->T * c->B, c->C, c->H, c->W, 0, c->KH, c->KW, c->SH, c->SW, 0, 0};
                const size_t OH = (c->H - c->KH) / c->SH + 1, OW = (c->W - c->KW) / c->SW + 1;
                cr_assert_eq(out_ndim, c->ndim);
                cr_assert(out_shape[out_ndim - 2] == OH && out_shape[out_ndim - 1] == OW, "case %zu: output shape",
                          ci);
                if (c->ndim == 3)
                    cr_assert_eq(out_shape[0], c->C);
                const size_t nx = s.N * c->C * c->H * c->W, ny = s.N * c->C * OH * OW;
                size_t xd[SPK_MAX_DIMS], yd[SPK_MAX_DIMS];
                int xn = seq_shape(c->T, c->B, 1, c->ndim, in_shape, xd);
                int yn = seq_shape(c->T, c->B, 1, out_ndim, out_shape, yd);
                spk_test_guarded gx, gy, ggy, ggx;
                spk_test_guarded_create(ctx, SPK_F32, xn, xd, &gx);
                spk_test_guarded_create(ctx, SPK_F32, yn, yd, &gy);
                spk_test_guarded_create(ctx, SPK_F32, yn, yd, &ggy);
                spk_test_guarded_create(ctx, SPK_F32, xn, xd, &ggx);
                float *x = spk_test_alloc(nx), *y = spk_test_alloc(ny), *want = spk_test_alloc(ny);
                float *g = spk_test_alloc(ny), *dx = spk_test_alloc(nx), *dx_want = spk_test_alloc(nx);
                spk_test_rng r = {300 + ci * 2 + (size_t)is_max};
                spk_test_fill_uniform(&r, x, nx, -1.0f, 1.0f);
                if (c->binary)
                    for (size_t i = 0; i < nx; i++)
                        x[i] = x[i] > 0.4f ? 1.0f : 0.0f;
                spk_test_fill_normal(&r, g, ny, 0.0f, 1.0f);
                spk_test_guarded_upload(&gx, x);
                spk_test_guarded_upload(&ggy, g);
                poison(&gy), poison(&ggx);
                SPK_ASSERT_OK(ctx, l->vt->forward(l, gx.t, gy.t));
                SPK_ASSERT_OK(ctx, l->vt->backward(l, gx.t, gy.t, ggy.t, ggx.t));
                spk_test_guarded_download(&gy, y, "pool output");
                spk_test_guarded_download(&ggx, dx, "pool input gradient");
                char what[96];
                snprintf(what, sizeof what, "%s case %zu: output", is_max ? "max" : "avg", ci);
                if (is_max) {
                    spk_ref_maxpool2d_forward(&s, x, want);
                    spk_ref_maxpool2d_backward(&s, x, g, dx_want);
                    for (size_t i = 0; i < ny; i++)
                        cr_assert_eq(y[i], want[i], "%s[%zu] = %g, reference %g", what, i, (double)y[i],
                                     (double)want[i]);
                } else {
                    spk_ref_avgpool2d_forward(&s, x, want);
                    spk_ref_avgpool2d_backward(&s, g, dx_want);
                    spk_test_compare_scaled(what, y, want, ny, 1e-6f);
                }
                snprintf(what, sizeof what, "%s case %zu: d input", is_max ? "max" : "avg", ci);
                spk_test_compare_scaled(what, dx, dx_want, nx, 1e-5f);
                if (is_max) { /* the gradient went to exactly one place per window */
                    size_t nonzero = 0, want_nonzero = 0;
                    for (size_t i = 0; i < nx; i++)
                        nonzero += dx[i] != 0.0f, want_nonzero += dx_want[i] != 0.0f;
                    cr_assert_eq(nonzero, want_nonzero, "%s: %zu nonzero gradients, reference %zu", what, nonzero,
                                 want_nonzero);
                }
                /* A first layer (no input gradient) is fine. */
                SPK_ASSERT_OK(ctx, l->vt->backward(l, gx.t, gy.t, ggy.t, NULL));
                spk_test_guarded_free(&gx), spk_test_guarded_free(&gy), spk_test_guarded_free(&ggy),
                    spk_test_guarded_free(&ggx);
                free(x), free(y), free(want), free(g), free(dx), free(dx_want);
                spk_layer_free(l);
            }
    }
}

/* Max pooling's tie rule on a hand-made window: the first maximum in
 * row-major order takes the gradient. */
Test(conv, maxpool_ties_go_to_the_first_maximum)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        spk_layer *l = pool_layer(ctx, 1, 2, 2, 2, 2);
        int on = 0;
        size_t os[3];
        layer_build(ctx, l, 1, 1, 0, 2, (size_t[2]){2, 4}, &on, os);
        /* windows [[0 1],[1 1]] and [[1 0],[0 1]] */
        const float x[8] = {0, 1, 1, 0, 1, 1, 0, 1}, g[2] = {2.0f, 3.0f};
        const float want_dx[8] = {0, 2, 3, 0, 0, 0, 0, 0};
        spk_tensor *tx, *ty, *tg, *tdx;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 4, (size_t[4]){1, 1, 2, 4}, &tx));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 4, (size_t[4]){1, 1, 1, 2}, &ty));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 4, (size_t[4]){1, 1, 1, 2}, &tg));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 4, (size_t[4]){1, 1, 2, 4}, &tdx));
        SPK_ASSERT_OK(ctx, spk_tensor_upload(tx, x, sizeof x));
        SPK_ASSERT_OK(ctx, spk_tensor_upload(tg, g, sizeof g));
        SPK_ASSERT_OK(ctx, l->vt->forward(l, tx, ty));
        SPK_ASSERT_OK(ctx, l->vt->backward(l, tx, ty, tg, tdx));
        float y[2], dx[8], ref_dx[8];
        download(ty, y);
        download(tdx, dx);
        cr_assert(y[0] == 1.0f && y[1] == 1.0f);
        spk_ref_conv_shape s = {1, 1, 2, 4, 0, 2, 2, 2, 2, 0, 0};
        spk_ref_maxpool2d_backward(&s, x, g, ref_dx);
        for (int i = 0; i < 8; i++) {
            cr_assert_eq(dx[i], want_dx[i], "dx[%d] = %g, expected %g", i, (double)dx[i], (double)want_dx[i]);
            cr_assert_eq(ref_dx[i], want_dx[i], "reference dx[%d] = %g, expected %g", i, (double)ref_dx[i],
                         (double)want_dx[i]);
        }
        spk_tensor_free(tx), spk_tensor_free(ty), spk_tensor_free(tg), spk_tensor_free(tdx);
        spk_layer_free(l);
    }
}

/* ---- (3) Flatten ---------------------------------------------------- */

Test(conv, flatten_is_a_reshape)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        spk_layer *l = flatten_layer(ctx);
        char buf[64];
        cr_assert_str_eq(spk_layer_describe(l, buf, sizeof buf), "flatten");
        int on = 0;
        size_t os[SPK_MAX_DIMS];
        const size_t T = 3, B = 2, n = 3 * 5 * 7;
        layer_build(ctx, l, T, B, 0, 3, (size_t[3]){3, 5, 7}, &on, os);
        cr_assert(on == 1 && os[0] == n);
        cr_assert_str_eq(spk_layer_describe(l, buf, sizeof buf), "flatten -> 105");
        spk_test_guarded gx, gy, ggy, ggx;
        spk_test_guarded_create(ctx, SPK_F32, 5, (size_t[5]){T, B, 3, 5, 7}, &gx);
        spk_test_guarded_create(ctx, SPK_F32, 3, (size_t[3]){T, B, n}, &gy);
        spk_test_guarded_create(ctx, SPK_F32, 3, (size_t[3]){T, B, n}, &ggy);
        spk_test_guarded_create(ctx, SPK_F32, 5, (size_t[5]){T, B, 3, 5, 7}, &ggx);
        float x[3 * 2 * 105], g[3 * 2 * 105], got[3 * 2 * 105];
        spk_test_rng r = {5};
        spk_test_fill_normal(&r, x, T * B * n, 0.0f, 1.0f);
        spk_test_fill_normal(&r, g, T * B * n, 0.0f, 1.0f);
        spk_test_guarded_upload(&gx, x);
        spk_test_guarded_upload(&ggy, g);
        poison(&gy), poison(&ggx);
        SPK_ASSERT_OK(ctx, l->vt->forward(l, gx.t, gy.t));
        spk_test_guarded_download(&gy, got, "flatten output");
        cr_assert(memcmp(got, x, sizeof x) == 0, "flatten changed the data");
        SPK_ASSERT_OK(ctx, l->vt->backward(l, gx.t, gy.t, ggy.t, ggx.t));
        spk_test_guarded_download(&ggx, got, "flatten input gradient");
        cr_assert(memcmp(got, g, sizeof g) == 0, "flatten changed the gradient");
        SPK_ASSERT_OK(ctx, l->vt->backward(l, gx.t, gy.t, ggy.t, NULL));
        spk_test_guarded_free(&gx), spk_test_guarded_free(&gy), spk_test_guarded_free(&ggy),
            spk_test_guarded_free(&ggx);
        spk_layer_free(l);
    }
}

/* ---- (4) Dropout ---------------------------------------------------- */

/* A network of dropout layers only: [T, B, F] in, the same out. */
static spk_network *dropout_net(spk_context *ctx, size_t n_layers, float p, size_t T, size_t B, size_t F)
{
    spk_network *net = NULL;
    SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
    for (size_t i = 0; i < n_layers; i++)
        SPK_ASSERT_OK(ctx, spk_network_add(net, dropout_layer(ctx, p)));
    SPK_ASSERT_OK(ctx, spk_network_build(net, T, B, 1, &F));
    return net;
}

Test(conv, dropout_masks, .timeout = 600)
{
    const uint64_t seed = 0x5eed;
    const size_t T = 5, B = 4, F = 37, n = B * F;
    SPK_FOR_EACH_DEVICE(ctx, seed)
    {
        const float p = 0.4f, scale = 1.0f / (1.0f - p);
        spk_network *net = dropout_net(ctx, 2, p, T, B, F);
        char buf[96];
        cr_assert_str_eq(spk_layer_describe(spk_network_layer(net, 0), buf, sizeof buf),
                         "dropout 0.4 (one mask per sequence)");
        float *x = spk_test_alloc(T * n), *y0 = spk_test_alloc(T * n), *y1 = spk_test_alloc(T * n);
        float *m0 = spk_test_alloc(n), *m1 = spk_test_alloc(n), *want = spk_test_alloc(T * n);
        float *tmp = spk_test_alloc(T * n), *g = spk_test_alloc(T * n), *first = spk_test_alloc(T * n);
        spk_test_rng r = {77};
        spk_test_fill_uniform(&r, x, T * n, 0.5f, 1.5f);
        spk_tensor *tx, *tg;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, F}, &tx));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, F}, &tg));
        SPK_ASSERT_OK(ctx, spk_tensor_upload(tx, x, T * n * sizeof(float)));
        for (uint64_t call = 0; call < 3; call++) {
            const spk_tensor *out;
            SPK_ASSERT_OK(ctx, spk_network_forward(net, tx, &out));
            download(spk_network_layer_output(net, 0), y0);
            download(out, y1);
            /* Layer i's mask: counter (j / 4, i, call); bit for bit as the reference. */
            spk_ref_dropout_mask(seed, 0, call, n, p, m0);
            spk_ref_dropout_mask(seed, 1, call, n, p, m1);
            spk_ref_dropout_apply(m0, n, T, x, want);
            cr_assert(memcmp(y0, want, T * n * sizeof(float)) == 0, "call %llu: layer 0 differs from the reference",
                      (unsigned long long)call);
            spk_ref_dropout_apply(m1, n, T, want, tmp);
            cr_assert(memcmp(y1, tmp, T * n * sizeof(float)) == 0, "call %llu: layer 1 differs from the reference",
                      (unsigned long long)call);
            /* One mask per sequence: y/x is 0 or the scale, the same at every step. */
            size_t dropped = 0, differ = 0;
            for (size_t j = 0; j < n; j++) {
                dropped += m0[j] == 0.0f;
                differ += (m0[j] == 0.0f) != (m1[j] == 0.0f);
                for (size_t t = 0; t < T; t++) {
                    const float v = y0[t * n + j];
                    cr_assert(v == 0.0f ? m0[j] == 0.0f : v == x[t * n + j] * scale,
                              "call %llu: y[%zu, %zu] = %g, x = %g", (unsigned long long)call, t, j, (double)v,
                              (double)x[t * n + j]);
                    cr_assert_eq(v == 0.0f, y0[j] == 0.0f, "the mask changed over time at element %zu", j);
                }
            }
            cr_assert(dropped > 0 && dropped < n, "call %llu: %zu of %zu dropped", (unsigned long long)call, dropped,
                      n);
            cr_assert(differ > 0, "call %llu: both layers drew the same mask", (unsigned long long)call);
            if (call == 0)
                memcpy(first, y0, T * n * sizeof(float));
            else
                cr_assert(memcmp(first, y0, T * n * sizeof(float)) != 0, "call %llu drew the mask of call 0",
                          (unsigned long long)call);
            /* Backward: the gradient through both masks. */
            spk_test_fill_normal(&r, g, T * n, 0.0f, 1.0f);
            SPK_ASSERT_OK(ctx, spk_tensor_upload(tg, g, T * n * sizeof(float)));
            spk_layer *l1 = spk_network_layer(net, 1);
            spk_tensor *gx;
            SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, F}, &gx));
            SPK_ASSERT_OK(ctx, l1->vt->backward(l1, spk_network_layer_output(net, 0), out, tg, gx));
            download(gx, y1);
            spk_ref_dropout_apply(m1, n, T, g, want);
            cr_assert(memcmp(y1, want, T * n * sizeof(float)) == 0, "call %llu: dropout backward",
                      (unsigned long long)call);
            SPK_ASSERT_OK(ctx, spk_network_backward(net, tg));
            spk_tensor_free(gx);
        }

        /* Evaluation mode: the identity, forward and backward, and no draw. */
        SPK_ASSERT_OK(ctx, spk_network_set_training(net, 0));
        const spk_tensor *out;
        SPK_ASSERT_OK(ctx, spk_network_forward(net, tx, &out));
        download(out, y1);
        cr_assert(memcmp(y1, x, T * n * sizeof(float)) == 0, "evaluation mode changed the input");
        spk_layer *l1 = spk_network_layer(net, 1);
        spk_tensor *gx;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, F}, &gx));
        SPK_ASSERT_OK(ctx, l1->vt->backward(l1, spk_network_layer_output(net, 0), out, tg, gx));
        download(gx, y1);
        download(tg, g);
        cr_assert(memcmp(y1, g, T * n * sizeof(float)) == 0, "evaluation mode changed the gradient");
        /* Back to training: the stream continues at call 3. */
        SPK_ASSERT_OK(ctx, spk_network_set_training(net, 1));
        SPK_ASSERT_OK(ctx, spk_network_forward(net, tx, NULL));
        download(spk_network_layer_output(net, 0), y0);
        spk_ref_dropout_mask(seed, 0, 3, n, p, m0);
        spk_ref_dropout_apply(m0, n, T, x, want);
        cr_assert(memcmp(y0, want, T * n * sizeof(float)) == 0, "call 3 after evaluation");
        spk_tensor_free(gx);
        spk_network_free(net);

        /* Reproducible: a new network on the same seed draws the same masks. */
        net = dropout_net(ctx, 1, p, T, B, F);
        SPK_ASSERT_OK(ctx, spk_network_forward(net, tx, &out));
        download(out, y0);
        cr_assert(memcmp(y0, first, T * n * sizeof(float)) == 0, "a rebuilt network drew other masks");
        spk_network_free(net);
        /* p = 0 in training: the identity. */
        net = dropout_net(ctx, 1, 0.0f, T, B, F);
        SPK_ASSERT_OK(ctx, spk_network_forward(net, tx, &out));
        download(out, y0);
        cr_assert(memcmp(y0, x, T * n * sizeof(float)) == 0, "p = 0 changed the input");
        spk_network_free(net);

        spk_tensor_free(tx), spk_tensor_free(tg);
        free(x), free(y0), free(y1), free(m0), free(m1), free(want), free(tmp), free(g), free(first);
    }
}

/* The dropped fraction is p within 5 standard deviations, the kept values
 * are scaled by exactly 1/(1-p), and the mean is preserved. */
Test(conv, dropout_rate_and_scaling, .timeout = 600)
{
    const size_t T = 2, B = 64, F = 1000, n = B * F;
    SPK_FOR_EACH_DEVICE(ctx, 3)
    {
        const float rates[] = {0.1f, 0.5f, 0.8f};
        float *x = spk_test_alloc(T * n), *y = spk_test_alloc(T * n);
        for (size_t i = 0; i < T * n; i++)
            x[i] = 1.0f + (float)(i % 7);
        spk_tensor *tx;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, F}, &tx));
        SPK_ASSERT_OK(ctx, spk_tensor_upload(tx, x, T * n * sizeof(float)));
        for (size_t k = 0; k < sizeof rates / sizeof rates[0]; k++) {
            const float p = rates[k], scale = 1.0f / (1.0f - p);
            spk_network *net = dropout_net(ctx, 1, p, T, B, F);
            const spk_tensor *out;
            SPK_ASSERT_OK(ctx, spk_network_forward(net, tx, &out));
            download(out, y);
            size_t dropped = 0;
            double sum_x = 0.0, sum_y = 0.0;
            for (size_t j = 0; j < n; j++) {
                if (y[j] == 0.0f)
                    dropped++;
                else
                    cr_assert_eq(y[j], x[j] * scale, "p %g: kept y[%zu] = %g, x = %g", (double)p, j, (double)y[j],
                                 (double)x[j]);
                sum_x += x[j], sum_y += y[j];
            }
            const double rate = (double)dropped / (double)n, sd = sqrt(p * (1.0 - p) / (double)n);
            cr_assert(fabs(rate - p) <= 5.0 * sd, "p %g: dropped fraction %.5f (sd %.5f)", (double)p, rate, sd);
            cr_assert(fabs(sum_y / sum_x - 1.0) <= 5.0 * sqrt(p / (1.0 - p) / (double)n) * 2.0,
                      "p %g: mean ratio %.5f", (double)p, sum_y / sum_x);
            spk_network_free(net);
        }
        spk_tensor_free(tx);
        free(x), free(y);
    }
}

/* ---- (5) Finite differences through a conv network on the device ------ */

/* Mean CE of the time-mean membrane: smooth in every weight. */
static float device_loss(spk_context *ctx, spk_network *net, const spk_tensor *x, const uint8_t *labels,
                         spk_tensor *grad)
{
    const spk_tensor *y;
    spk_loss_params lp = spk_loss_params_default(SPK_LOSS_CE_MEAN_MEMBRANE);
    float loss = NAN;
    SPK_ASSERT_OK(ctx, spk_network_forward(net, x, &y));
    SPK_ASSERT_OK(ctx, spk_loss(ctx, &lp, y, labels, grad, &loss, NULL));
    return loss;
}

Test(conv, conv_network_backward_matches_finite_differences, .timeout = 900)
{
    const size_t T = 6, B = 3, C = 2, H = 5, W = 5, OUT = 4;
    const uint8_t labels[3] = {0, 3, 1};
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        for (int mode = 0; mode <= 2; mode++) {
            /* conv (stride 2, padding 1) -> leaky integrator -> avgpool
             * (overlapping) -> flatten -> dense -> current-based readout:
             * no spikes, so the loss is smooth. Mode 0: an input per step;
             * 1: a static input (the conv's gradient comes summed over
             * time); 2: and compact storage (its output is kept once). */
            const int st = mode > 0;
            spk_lif_params li = spk_lif_params_default(SPK_NEURON_LI);
            li.integration = SPK_INTEGRATE_EULER;
            li.tau_mem = 3.0f;
            spk_lif_params cli = spk_lif_params_default(SPK_NEURON_CUBA_LI);
            cli.integration = SPK_INTEGRATE_EULER;
            cli.tau_syn = 2.0f;
            cli.tau_mem = 3.0f;
            spk_network *net;
            SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
            SPK_ASSERT_OK(ctx, spk_network_add(net, conv_layer(ctx, C, 3, 3, 3, 2, 2, 1, 1, 1, 21)));
            SPK_ASSERT_OK(ctx, spk_network_add(net, neuron_layer(ctx, &li)));
            SPK_ASSERT_OK(ctx, spk_network_add(net, pool_layer(ctx, 0, 2, 2, 1, 1)));
            SPK_ASSERT_OK(ctx, spk_network_add(net, flatten_layer(ctx)));
            spk_dense_params dp = spk_dense_params_default(12, OUT);
            dp.seed = 22;
            spk_layer *d;
            SPK_ASSERT_OK(ctx, spk_dense_create(ctx, &dp, &d));
            SPK_ASSERT_OK(ctx, spk_network_add(net, d));
            SPK_ASSERT_OK(ctx, spk_network_add(net, neuron_layer(ctx, &cli)));
            SPK_ASSERT_OK(ctx, spk_network_set_static_input(net, st));
            SPK_ASSERT_OK(ctx, spk_network_set_compact_spikes(net, mode == 2));
            SPK_ASSERT_OK(ctx, spk_network_build(net, T, B, 3, (size_t[3]){C, H, W}));
            cr_assert_eq(spk_network_param_count(net), 4u);

            const size_t rows = st ? B : T * B, nx = rows * C * H * W;
            float *hx = spk_test_alloc(nx);
            spk_test_rng r = {41 + (size_t)st};
            spk_test_fill_uniform(&r, hx, nx, -2.0f, 2.0f);
            spk_tensor *x, *grad;
            if (st)
                SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 4, (size_t[4]){B, C, H, W}, &x));
            else
                SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 5, (size_t[5]){T, B, C, H, W}, &x));
            SPK_ASSERT_OK(ctx, spk_tensor_upload(x, hx, nx * sizeof(float)));
            SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, OUT}, &grad));

            float l0 = device_loss(ctx, net, x, labels, grad);
            cr_assert(l0 > 0.3f && l0 < 5.0f, "initial loss %g", (double)l0);
            SPK_ASSERT_OK(ctx, spk_network_backward(net, grad));

            const char *names[4] = {"0.weight", "0.bias", "4.weight", "4.bias"};
            const size_t sizes[4] = {3 * C * 9, 3, OUT * 12, OUT};
            const float eps = 1e-2f;
            for (size_t pi = 0; pi < 4; pi++) {
                spk_param prm;
                SPK_ASSERT_OK(ctx, spk_network_param(net, pi, &prm));
                cr_assert_str_eq(prm.name, names[pi]);
                cr_assert_eq(spk_tensor_numel(prm.value), sizes[pi]);
                float *v = spk_test_alloc(sizes[pi]), *g = spk_test_alloc(sizes[pi]);
                download(prm.value, v);
                download(prm.grad, g);
                double norm = 0.0;
                for (size_t i = 0; i < sizes[pi]; i++) {
                    const float keep = v[i];
                    v[i] = keep + eps;
                    SPK_ASSERT_OK(ctx, spk_tensor_upload(prm.value, v, sizes[pi] * sizeof(float)));
                    float lp = device_loss(ctx, net, x, labels, NULL);
                    v[i] = keep - eps;
                    SPK_ASSERT_OK(ctx, spk_tensor_upload(prm.value, v, sizes[pi] * sizeof(float)));
                    float lm = device_loss(ctx, net, x, labels, NULL);
                    v[i] = keep;
                    SPK_ASSERT_OK(ctx, spk_tensor_upload(prm.value, v, sizes[pi] * sizeof(float)));
                    double fd = ((double)lp - (double)lm) / (2.0 * eps);
                    cr_assert(fabs(fd - g[i]) <= 2e-5 + 5e-3 * fabs(fd),
                              "mode %d: d %s[%zu]: backward %.6g, finite difference %.6g", mode, names[pi], i,
                              (double)g[i], fd);
                    norm += fabs(g[i]);
                }
                cr_assert(norm > 1e-3, "mode %d: %s has a zero gradient", mode, names[pi]);
                free(v), free(g);
            }
            cr_assert_eq(device_loss(ctx, net, x, labels, NULL), l0);
            spk_tensor_free(x), spk_tensor_free(grad);
            free(hx);
            spk_network_free(net);
        }
    }
}

/* ---- (6) A spiking CNN runs end to end ------------------------------- */

/* conv -> LIF -> maxpool -> conv -> LIF -> maxpool -> flatten -> dropout ->
 * dense -> LI on a static input: shapes chain, training steps are
 * deterministic for a seed, and the loss goes down on a fixed batch. */
Test(conv, spiking_cnn_trains, .timeout = 900)
{
    const size_t T = 8, B = 8, H = 12, W = 12, CLASSES = 3;
    SPK_FOR_EACH_DEVICE(ctx, 7)
    {
        float losses[2][2];
        float *x = spk_test_alloc(B * H * W);
        uint8_t labels[8];
        spk_test_rng r = {12};
        for (size_t b = 0; b < B; b++) { /* class k: a bright horizontal band at rows 4k..4k+3 */
            labels[b] = (uint8_t)(b % CLASSES);
            for (size_t i = 0; i < H * W; i++) {
                size_t row = i / W;
                x[b * H * W + i] = (row / 4 == labels[b] ? 1.0f : 0.0f) + 0.2f * spk_test_uniform(&r, 0.0f, 1.0f);
            }
        }
        for (int run = 0; run < 2; run++) {
            spk_lif_params lif = spk_lif_params_default(SPK_NEURON_LIF);
            lif.tau_mem = 5.0f;
            lif.threshold = 0.5f;
            spk_lif_params li = spk_lif_params_default(SPK_NEURON_LI);
            spk_network *net;
            SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
            SPK_ASSERT_OK(ctx, spk_network_add(net, conv_layer(ctx, 1, 4, 3, 3, 1, 1, 1, 1, 1, 1)));
            SPK_ASSERT_OK(ctx, spk_network_add(net, neuron_layer(ctx, &lif)));
            SPK_ASSERT_OK(ctx, spk_network_add(net, pool_layer(ctx, 1, 2, 2, 2, 2)));
            SPK_ASSERT_OK(ctx, spk_network_add(net, conv_layer(ctx, 4, 6, 3, 3, 1, 1, 0, 0, 1, 2)));
            SPK_ASSERT_OK(ctx, spk_network_add(net, neuron_layer(ctx, &lif)));
            SPK_ASSERT_OK(ctx, spk_network_add(net, pool_layer(ctx, 1, 2, 2, 2, 2)));
            SPK_ASSERT_OK(ctx, spk_network_add(net, flatten_layer(ctx)));
            SPK_ASSERT_OK(ctx, spk_network_add(net, dropout_layer(ctx, 0.2f)));
            spk_dense_params dp = spk_dense_params_default(6 * 2 * 2, CLASSES);
            dp.seed = 3;
            spk_layer *d;
            SPK_ASSERT_OK(ctx, spk_dense_create(ctx, &dp, &d));
            SPK_ASSERT_OK(ctx, spk_network_add(net, d));
            SPK_ASSERT_OK(ctx, spk_network_add(net, neuron_layer(ctx, &li)));
            SPK_ASSERT_OK(ctx, spk_network_set_static_input(net, 1));
            /* [H, W] input to a one-channel convolution */
            SPK_ASSERT_OK(ctx, spk_network_build(net, T, B, 2, (size_t[2]){H, W}));
            const spk_tensor *o3 = spk_network_layer_output(net, 3);
            cr_assert(spk_tensor_ndim(o3) == 5 && spk_tensor_dim(o3, 2) == 6 && spk_tensor_dim(o3, 3) == 4 &&
                      spk_tensor_dim(o3, 4) == 4);
            spk_tensor *xin, *grad;
            SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){B, H, W}, &xin));
            SPK_ASSERT_OK(ctx, spk_tensor_upload(xin, x, B * H * W * sizeof(float)));
            SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, CLASSES}, &grad));
            spk_optimizer_params op = spk_optimizer_params_default(SPK_OPTIM_ADAM);
            op.lr = 0.02f;
            spk_optimizer *opt;
            SPK_ASSERT_OK(ctx, spk_optimizer_create(ctx, &op, &opt));
            spk_loss_params lp = spk_loss_params_default(SPK_LOSS_CE_MEAN_MEMBRANE);
            const int steps = 30;
            for (int step = 0; step <= steps; step++) {
                const spk_tensor *y;
                float loss;
                SPK_ASSERT_OK(ctx, spk_network_set_training(net, 0));
                SPK_ASSERT_OK(ctx, spk_network_forward(net, xin, &y));
                SPK_ASSERT_OK(ctx, spk_loss(ctx, &lp, y, labels, NULL, &loss, NULL));
                if (step == 0)
                    losses[run][0] = loss;
                losses[run][1] = loss;
                if (step == steps)
                    break;
                SPK_ASSERT_OK(ctx, spk_network_set_training(net, 1));
                SPK_ASSERT_OK(ctx, spk_network_forward(net, xin, &y));
                SPK_ASSERT_OK(ctx, spk_loss(ctx, &lp, y, labels, grad, NULL, NULL));
                SPK_ASSERT_OK(ctx, spk_network_backward(net, grad));
                SPK_ASSERT_OK(ctx, spk_network_step(net, opt));
            }
            spk_optimizer_free(opt);
            spk_tensor_free(xin), spk_tensor_free(grad);
            spk_network_free(net);
            /* its six program files (conv, LIF, pool, dropout, gather, Adam) build as one
             * (src/cl/program_bundle.c); the second run finds it in memory. The readout's
             * 8 x 3 = 24 floats a step run in vectors of the other layers' width, 16 on
             * AVX-512 devices, the last vector again on its own (src/ops/lif.c). */
            spk_cache_stats cs;
            SPK_ASSERT_OK(ctx, spk_context_cache_stats(ctx, &cs));
            cr_assert_eq(cs.compiles + cs.disk_hits, 1, "%llu programs built, %llu loaded: expected one in all",
                         (unsigned long long)cs.compiles, (unsigned long long)cs.disk_hits);
        }
        cr_log_info("spiking cnn: loss %.4f -> %.4f", (double)losses[0][0], (double)losses[0][1]);
        cr_assert(losses[0][1] < 0.7f * losses[0][0], "loss %g -> %g: not learning", (double)losses[0][0],
                  (double)losses[0][1]);
        cr_assert(memcmp(losses[0], losses[1], sizeof losses[0]) == 0, "two runs differ: %.9g then %.9g",
                  (double)losses[0][1], (double)losses[1][1]);
        free(x);
    }
}

/* ---- (7) Errors ------------------------------------------------------ */

Test(conv, shape_errors_at_build)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        spk_network *net;
        /* A kernel larger than the (padded) input: the message names the layer and both shapes. */
        SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
        SPK_ASSERT_OK(ctx, spk_network_add(net, conv_layer(ctx, 1, 2, 5, 5, 1, 1, 0, 0, 1, 1)));
        SPK_ASSERT_STATUS(ctx, spk_network_build(net, 4, 2, 3, (size_t[3]){1, 3, 3}), SPK_ERR_SHAPE, "layer 0");
        const char *needles[] = {"conv2d 1 -> 2, 5x5", "network input", "5x5 kernel", "[1, 3, 3]", "3x3"};
        for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++)
            cr_assert(strstr(spk_context_last_error(ctx), needles[i]), "'%s' lacks '%s'", spk_context_last_error(ctx),
                      needles[i]);
        /* Channels that differ, and a rank the layer does not take. */
        SPK_ASSERT_STATUS(ctx, spk_network_build(net, 4, 2, 3, (size_t[3]){2, 8, 8}), SPK_ERR_SHAPE,
                          "1 input channels");
        SPK_ASSERT_STATUS(ctx, spk_network_build(net, 4, 2, 1, (size_t[1]){64}), SPK_ERR_SHAPE, "[C=1, H, W]");
        /* Padding makes it fit. */
        spk_network_free(net);
        SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
        SPK_ASSERT_OK(ctx, spk_network_add(net, conv_layer(ctx, 1, 2, 5, 5, 1, 1, 1, 1, 1, 1)));
        SPK_ASSERT_OK(ctx, spk_network_build(net, 4, 2, 3, (size_t[3]){1, 3, 3}));
        cr_assert_eq(spk_tensor_dim(spk_network_layer_output(net, 0), 3), 1u);
        spk_network_free(net);

        /* A pooling window larger than its input, after a convolution. */
        SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
        SPK_ASSERT_OK(ctx, spk_network_add(net, conv_layer(ctx, 3, 2, 3, 3, 1, 1, 0, 0, 1, 1)));
        SPK_ASSERT_OK(ctx, spk_network_add(net, pool_layer(ctx, 1, 3, 3, 3, 3)));
        SPK_ASSERT_STATUS(ctx, spk_network_build(net, 4, 2, 3, (size_t[3]){3, 4, 4}), SPK_ERR_SHAPE, "layer 1");
        const char *pool_needles[] = {"maxpool2d 3x3", "layer 0", "conv2d 3 -> 2", "3x3 window", "[2, 2, 2]"};
        for (size_t i = 0; i < sizeof pool_needles / sizeof pool_needles[0]; i++)
            cr_assert(strstr(spk_context_last_error(ctx), pool_needles[i]), "'%s' lacks '%s'",
                      spk_context_last_error(ctx), pool_needles[i]);
        SPK_ASSERT_OK(ctx, spk_network_build(net, 4, 2, 3, (size_t[3]){3, 5, 5}));
        spk_network_free(net);

        /* Flat features into pooling or convolution; a static input needs a synapse layer first. */
        SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
        SPK_ASSERT_OK(ctx, spk_network_add(net, flatten_layer(ctx)));
        SPK_ASSERT_OK(ctx, spk_network_add(net, pool_layer(ctx, 0, 2, 2, 2, 2)));
        SPK_ASSERT_STATUS(ctx, spk_network_build(net, 4, 2, 3, (size_t[3]){1, 4, 4}), SPK_ERR_SHAPE, "[C, H, W]");
        spk_network_free(net);
        SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
        SPK_ASSERT_OK(ctx, spk_network_add(net, pool_layer(ctx, 0, 2, 2, 2, 2)));
        SPK_ASSERT_OK(ctx, spk_network_set_static_input(net, 1));
        SPK_ASSERT_STATUS(ctx, spk_network_build(net, 4, 2, 2, (size_t[2]){4, 4}), SPK_ERR_INVALID_ARGUMENT,
                          "static input");
        spk_network_free(net);
        /* A convolution after flatten. */
        SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
        SPK_ASSERT_OK(ctx, spk_network_add(net, flatten_layer(ctx)));
        SPK_ASSERT_OK(ctx, spk_network_add(net, conv_layer(ctx, 2, 2, 1, 1, 1, 1, 0, 0, 0, 1)));
        SPK_ASSERT_STATUS(ctx, spk_network_build(net, 4, 2, 3, (size_t[3]){2, 4, 4}), SPK_ERR_SHAPE, "gets [32]");
        cr_assert(strstr(spk_context_last_error(ctx), "flatten"), "%s", spk_context_last_error(ctx));
        spk_network_free(net);
    }
}

Test(conv, invalid_arguments)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        spk_layer *l = NULL;
        char buf[160];
        spk_conv2d_params cp = spk_conv2d_params_default(3, 8, 5);
        cr_assert(cp.kernel_h == 5 && cp.kernel_w == 5 && cp.stride_h == 1 && cp.stride_w == 1 && cp.pad_h == 0 &&
                  cp.pad_w == 0 && cp.bias == 1 && cp.init_bound == 0.0f);
        SPK_ASSERT_OK(ctx, spk_conv2d_create(ctx, &cp, &l));
        cr_assert_str_eq(spk_layer_describe(l, buf, sizeof buf), "conv2d 3 -> 8, 5x5 (stride 1x1, pad 0x0, bias)");
        spk_layer_free(l);
        cp.bias = 0, cp.stride_h = 2, cp.pad_w = 1;
        SPK_ASSERT_OK(ctx, spk_conv2d_create(ctx, &cp, &l));
        cr_assert_str_eq(spk_layer_describe(l, buf, sizeof buf), "conv2d 3 -> 8, 5x5 (stride 2x1, pad 0x1)");
        spk_layer_free(l);
        const struct {
            size_t field_offset;
            const char *needle;
        } zeros[] = {
            {offsetof(spk_conv2d_params, in_channels), "in_channels"},
            {offsetof(spk_conv2d_params, out_channels), "out_channels"},
            {offsetof(spk_conv2d_params, kernel_h), "kernel size"},
            {offsetof(spk_conv2d_params, kernel_w), "kernel size"},
            {offsetof(spk_conv2d_params, stride_h), "stride"},
            {offsetof(spk_conv2d_params, stride_w), "stride"},
        };
        for (size_t i = 0; i < sizeof zeros / sizeof zeros[0]; i++) {
            cp = spk_conv2d_params_default(3, 8, 5);
            *(size_t *)((char *)&cp + zeros[i].field_offset) = 0;
            SPK_ASSERT_STATUS(ctx, spk_conv2d_create(ctx, &cp, &l), SPK_ERR_INVALID_ARGUMENT, zeros[i].needle);
        }
        cp = spk_conv2d_params_default(3, 8, 5);
        cp.init_bound = -1.0f;
        SPK_ASSERT_STATUS(ctx, spk_conv2d_create(ctx, &cp, &l), SPK_ERR_INVALID_ARGUMENT, "init_bound");
        cp.init_bound = INFINITY;
        SPK_ASSERT_STATUS(ctx, spk_conv2d_create(ctx, &cp, &l), SPK_ERR_INVALID_ARGUMENT, "init_bound");
        cp = spk_conv2d_params_default(3, 8, 5);
        cp.pad_h = 70000;
        SPK_ASSERT_STATUS(ctx, spk_conv2d_create(ctx, &cp, &l), SPK_ERR_INVALID_ARGUMENT, "65536");
        cp = spk_conv2d_params_default(3, 8, 5);
        SPK_ASSERT_STATUS(ctx, spk_conv2d_create(ctx, NULL, &l), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(ctx, spk_conv2d_create(ctx, &cp, NULL), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(NULL, spk_conv2d_create(NULL, &cp, &l), SPK_ERR_NULL_POINTER, "NULL");

        /* A conv layer's parameters: weight [out, in, kh, kw] and bias, PyTorch's init bound. */
        cp = spk_conv2d_params_default(2, 4, 3);
        cp.kernel_w = 2;
        SPK_ASSERT_OK(ctx, spk_conv2d_create(ctx, &cp, &l));
        cr_assert(spk_tensor_dim(l->params[0], 0) == 4 && spk_tensor_dim(l->params[0], 1) == 2 &&
                  spk_tensor_dim(l->params[0], 2) == 3 && spk_tensor_dim(l->params[0], 3) == 2);
        cr_assert(spk_tensor_ndim(l->params[1]) == 1 && spk_tensor_dim(l->params[1], 0) == 4);
        spk_layer_free(l);

        spk_pool_params pp = spk_pool_params_default(3);
        cr_assert(pp.kernel_h == 3 && pp.kernel_w == 3 && pp.stride_h == 3 && pp.stride_w == 3);
        SPK_ASSERT_OK(ctx, spk_maxpool2d_create(ctx, &pp, &l));
        cr_assert_str_eq(spk_layer_describe(l, buf, sizeof buf), "maxpool2d 3x3 (stride 3x3)");
        spk_layer_free(l);
        pp.stride_w = 1;
        SPK_ASSERT_OK(ctx, spk_avgpool2d_create(ctx, &pp, &l));
        cr_assert_str_eq(spk_layer_describe(l, buf, sizeof buf), "avgpool2d 3x3 (stride 3x1)");
        spk_layer_free(l);
        for (int is_max = 0; is_max <= 1; is_max++) {
            spk_status (*create)(spk_context *, const spk_pool_params *, spk_layer **) =
                is_max ? spk_maxpool2d_create : spk_avgpool2d_create;
            const char *fn = is_max ? "spk_maxpool2d_create" : "spk_avgpool2d_create";
            pp = spk_pool_params_default(2);
            pp.kernel_w = 0;
            SPK_ASSERT_STATUS(ctx, create(ctx, &pp, &l), SPK_ERR_INVALID_ARGUMENT, "kernel size");
            cr_assert(strstr(spk_context_last_error(ctx), fn));
            pp = spk_pool_params_default(2);
            pp.stride_h = 0;
            SPK_ASSERT_STATUS(ctx, create(ctx, &pp, &l), SPK_ERR_INVALID_ARGUMENT, "stride");
            SPK_ASSERT_STATUS(ctx, create(ctx, NULL, &l), SPK_ERR_NULL_POINTER, "NULL");
            SPK_ASSERT_STATUS(ctx, create(ctx, &pp, NULL), SPK_ERR_NULL_POINTER, "NULL");
        }

        const float bad_p[] = {-0.1f, 1.0f, 1.5f, NAN, INFINITY};
        for (size_t i = 0; i < sizeof bad_p / sizeof bad_p[0]; i++)
            SPK_ASSERT_STATUS(ctx, spk_dropout_create(ctx, bad_p[i], &l), SPK_ERR_INVALID_ARGUMENT, "[0, 1)");
        SPK_ASSERT_STATUS(ctx, spk_dropout_create(ctx, 0.5f, NULL), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(NULL, spk_dropout_create(NULL, 0.5f, &l), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(ctx, spk_flatten_create(ctx, NULL), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(NULL, spk_flatten_create(NULL, &l), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(NULL, spk_network_set_training(NULL, 1), SPK_ERR_NULL_POINTER, "NULL");
    }
}
