/* Dense synapse layer: the current of all T steps in one GEMM over T*B rows.
 *   forward   Y[TB, out] = X[TB, in] W^T + 1 b^T
 *   backward  dW = dY^T X,  db = dY^T 1,  dX = dY W
 * With a static input (the same X[B, in] at every step, as direct encoding
 * gives) the product is computed once and broadcast over time, and the
 * backward sums dY over time first: T times less GEMM work.
 * Where the input is sparse 0/1 spikes, the layer gathers the weights of
 * the active inputs instead (ops/sparse_synapse.h, spk_synapse_mode). */
#include <math.h>
#include <stdio.h>

#include "blas/gemm_internal.h"
#include "nn/layer_internal.h"
#include "ops/sparse_synapse.h"

/* Spike density at or below which SPK_SYNAPSE_AUTO gathers instead of
 * running the GEMM (measured with bench_sparse_synapse, bench/RESULTS.md):
 * on CPU devices the gather still wins by 1.3-1.6x at 0.3 and ties at
 * 0.4 (128 -> 128, 256 -> 128, 700 -> 128); elsewhere, not measured on a
 * GPU yet, the more cautious 0.2 of the CPU kernels before. */
#define SPK_SPARSE_THRESHOLD_CPU 0.3f
#define SPK_SPARSE_THRESHOLD_OTHER 0.2f

static float threshold_default(const spk_context *ctx)
{
    return ctx && ctx->info.is_cpu ? SPK_SPARSE_THRESHOLD_CPU : SPK_SPARSE_THRESHOLD_OTHER;
}

typedef struct dense {
    spk_layer base;
    spk_dense_params p;
    spk_tensor *ones;    /* [rows, 1] of 1: bias as a rank-1 GEMM */
    spk_tensor *ones_t;  /* [1, T] of 1: sums over time (static input) */
    spk_tensor *y_once;  /* [B, out]: the product of a static input */
    spk__sparse sparse;  /* event-driven path (ops/sparse_synapse.h) */
    int fwd_sparse;      /* the last forward gathered: backward does too */
    spk_dense_stats stats;
} dense;

enum { W = 0, BIAS = 1 };

spk_dense_params spk_dense_params_default(size_t in_features, size_t out_features)
{
    spk_dense_params p = {in_features, out_features, 1, 0.0f, 0, SPK_SYNAPSE_AUTO, 0.0f};
    return p;
}

static spk_status dense_infer(spk_layer *l, int in_ndim, const size_t *in, int *out_ndim, size_t *out)
{
    dense *d = (dense *)l;
    size_t n = 1;
    for (int i = 0; i < in_ndim; i++)
        n *= in[i];
    if (n != d->p.in_features)
        return spk__error(l->ctx, SPK_ERR_SHAPE, "expects %zu input features per sample, gets %zu", d->p.in_features,
                          n);
    *out_ndim = 1;
    out[0] = d->p.out_features;
    return SPK_OK;
}

static void dense_destroy(spk_layer *l)
{
    dense *d = (dense *)l;
    spk_tensor_free(d->ones), spk_tensor_free(d->ones_t), spk_tensor_free(d->y_once);
    d->ones = d->ones_t = d->y_once = NULL;
    spk__sparse_release(&d->sparse);
    d->fwd_sparse = 0;
}

static spk_status ones(spk_context *ctx, size_t rows, size_t cols, spk_tensor **out)
{
    spk_status st = spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){rows, cols}, out);
    return st == SPK_OK ? spk_tensor_fill_f32(*out, 1.0f) : st;
}

/* Rows of one GEMM: T*B, or B for a static input. */
static size_t gemm_rows(const spk_layer *l)
{
    return l->static_input ? l->B : l->T * l->B;
}

static spk_status dense_prepare(spk_layer *l, size_t T, size_t B)
{
    spk_status st = SPK_OK;
    dense *d = (dense *)l;
    dense_destroy(l);
    if (d->p.synapse != SPK_SYNAPSE_DENSE && !l->static_input) /* choose_path compacts: it needs the program */
        spk__sparse_expect(l->ctx, d->p.out_features);
    if (d->p.bias)
        SPK_TRY(ones(l->ctx, gemm_rows(l), 1, &d->ones));
    if (l->static_input) {
        SPK_TRY(ones(l->ctx, 1, T, &d->ones_t));
        SPK_TRY(spk_tensor_create(l->ctx, SPK_F32, 2, (size_t[2]){B, d->p.out_features}, &d->y_once));
    }
fail:
    return st;
}

/* Gather (fwd_sparse = 1) when the input is binary and, in AUTO mode, no
 * denser than the threshold; the compaction that measures the density is
 * the sparse path's first step, and makes the lists only for input the
 * gather takes. A static input always takes the GEMM. */
static spk_status choose_path(dense *d, const spk_tensor *x)
{
    spk_status st = SPK_OK;
    spk_layer *l = &d->base;
    d->fwd_sparse = 0;
    if (d->p.synapse == SPK_SYNAPSE_DENSE || l->static_input)
        goto count;
    float threshold = d->p.sparse_threshold > 0.0f ? d->p.sparse_threshold : threshold_default(l->ctx);
    float max_density = d->p.synapse == SPK_SYNAPSE_SPARSE ? 1.0f : threshold;
    if (l->in_packed) /* from the bits: no floats to scan, binary by construction */
        SPK_TRY(spk__sparse_compact_bits(l->ctx, &d->sparse, x, l->T * l->B, d->p.in_features, d->p.out_features,
                                         max_density));
    else
        SPK_TRY(spk__sparse_compact(l->ctx, &d->sparse, x, d->p.out_features, max_density));
    d->stats.density = spk__sparse_density(&d->sparse);
    d->stats.binary = d->sparse.binary;
    d->fwd_sparse = d->sparse.listed;
    if (!d->fwd_sparse) /* the GEMM takes it from here: hold no gather scratch until the next gather */
        spk__sparse_drop_scratch(&d->sparse);
count:
    d->stats.sparse = d->fwd_sparse;
    if (d->fwd_sparse)
        d->stats.sparse_forwards++;
    else
        d->stats.dense_forwards++;
fail:
    return st;
}

static spk_status dense_forward(spk_layer *l, const spk_tensor *in, spk_tensor *out)
{
    spk_status st = SPK_OK;
    dense *d = (dense *)l;
    size_t rows = gemm_rows(l);
    spk_tensor *x = NULL, *y_view = NULL, *y = d->y_once;
    if (!l->in_packed)
        SPK_TRY(spk__view2d(in, rows, d->p.in_features, &x));
    if (!l->static_input || l->out_once) { /* out_once: the product itself is the output, [1, B, out] */
        SPK_TRY(spk__view2d(out, rows, d->p.out_features, &y_view));
        y = y_view;
    }
    SPK_TRY(choose_path(d, l->in_packed ? in : x));
    if (d->fwd_sparse) {
        SPK_TRY(spk__sparse_forward(l->ctx, &d->sparse, l->params[W], d->p.bias ? l->params[BIAS] : NULL, y));
    } else {
        if (l->in_packed)
            SPK_TRY(spk__unpack_input(l, in, rows, d->p.in_features, &x));
        if (d->p.bias)
            SPK_TRY(spk__gemm_bias(0, 1, x, l->params[W], l->params[BIAS], d->ones, y));
        else
            SPK_TRY(spk_gemm(0, 1, 1.0f, x, l->params[W], 0.0f, y));
    }
    if (l->static_input && !l->out_once) /* the same product at every step */
        SPK_TRY(spk_encode_direct(l->ctx, d->y_once, 1.0f, out));
fail:
    spk_tensor_free(x), spk_tensor_free(y_view);
    return st;
}

static spk_status dense_backward(spk_layer *l, const spk_tensor *in, const spk_tensor *out,
                                 const spk_tensor *grad_out, spk_tensor *grad_in)
{
    (void)out;
    spk_status st = SPK_OK;
    dense *d = (dense *)l;
    size_t rows = gemm_rows(l);
    spk_tensor *x = NULL, *dy = NULL, *dx = NULL, *dy_t = NULL;
    if (!l->in_packed)
        SPK_TRY(spk__view2d(in, rows, d->p.in_features, &x));
    else if (!d->fwd_sparse) /* the GEMM of dW needs the spikes as floats again */
        SPK_TRY(spk__unpack_input(l, in, rows, d->p.in_features, &x));
    if (l->grad_once) { /* dY comes summed over time (the next layer's grad_in_once) */
        SPK_TRY(spk__view2d(grad_out, rows, d->p.out_features, &dy));
    } else if (l->static_input) { /* dY summed over time into y_once first (spk__gemm_wgrad) */
        SPK_TRY(spk__view2d(grad_out, l->T, l->B * d->p.out_features, &dy_t));
        SPK_TRY(spk__view2d(d->y_once, rows, d->p.out_features, &dy));
    } else {
        SPK_TRY(spk__view2d(grad_out, rows, d->p.out_features, &dy));
    }
    if (d->fwd_sparse) /* never with a static input (choose_path) */
        SPK_TRY(spk__sparse_weight_grad(l->ctx, &d->sparse, dy, l->grads[W], d->p.bias ? l->grads[BIAS] : NULL));
    else
        SPK_TRY(spk__gemm_wgrad(dy, x, l->grads[W], d->p.bias ? l->grads[BIAS] : NULL, d->ones, dy_t, d->ones_t));
    if (grad_in) {
        SPK_TRY(spk__view2d(grad_in, rows, d->p.in_features, &dx));
        if (d->fwd_sparse && d->p.out_features <= SPK_SPARSE_SMALL_OUT)
            SPK_TRY(spk__sparse_input_grad(l->ctx, dy, l->params[W], dx));
        else
            SPK_TRY(spk_gemm(0, 0, 1.0f, dy, l->params[W], 0.0f, dx));
    }
fail:
    spk_tensor_free(x), spk_tensor_free(dy), spk_tensor_free(dx), spk_tensor_free(dy_t);
    return st;
}

static void dense_describe(const spk_layer *l, char *buf, size_t cap)
{
    const dense *d = (const dense *)l;
    snprintf(buf, cap, "dense %zu -> %zu%s", d->p.in_features, d->p.out_features, d->p.bias ? " (bias)" : "");
}

static const spk__layer_vtable DENSE = {"dense", dense_infer, dense_prepare, dense_forward, dense_backward, 1,
                                        dense_describe, dense_destroy};

int spk__is_dense_layer(const spk_layer *l)
{
    return l && l->vt == &DENSE;
}

static spk_status check_synapse(spk_context *ctx, const char *fn, spk_synapse_mode mode, float threshold)
{
    spk_status st = SPK_OK;
    SPK_CHECK(ctx, (unsigned)mode <= SPK_SYNAPSE_SPARSE, SPK_ERR_INVALID_ARGUMENT,
              "%s: synapse mode %d is not a spk_synapse_mode (auto, dense, sparse)", fn, (int)mode);
    SPK_CHECK(ctx, threshold >= 0.0f && threshold <= 1.0f, SPK_ERR_INVALID_ARGUMENT,
              "%s: sparse_threshold must be a density in [0, 1] (0: the default %g on this device), got %g", fn,
              (double)threshold_default(ctx), (double)threshold);
fail:
    return st;
}

static spk_status check_dense(const spk_layer *l, const char *fn)
{
    if (!l)
        return spk__error(NULL, SPK_ERR_NULL_POINTER, "%s: layer is NULL", fn);
    if (l->vt != &DENSE)
        return spk__error(l->ctx, SPK_ERR_INVALID_ARGUMENT, "%s: layer is a %s layer, not a dense one", fn, l->vt->type);
    return SPK_OK;
}

spk_status spk_dense_set_synapse(spk_layer *l, spk_synapse_mode mode, float sparse_threshold)
{
    spk_status st = check_dense(l, "spk_dense_set_synapse");
    if (st == SPK_OK)
        st = check_synapse(l->ctx, "spk_dense_set_synapse", mode, sparse_threshold);
    if (st == SPK_OK) {
        dense *d = (dense *)l;
        d->p.synapse = mode;
        d->p.sparse_threshold = sparse_threshold;
    }
    return st;
}

spk_status spk_dense_synapse_stats(const spk_layer *l, spk_dense_stats *out)
{
    spk_status st = check_dense(l, "spk_dense_synapse_stats");
    if (st == SPK_OK && !out)
        st = spk__error(l->ctx, SPK_ERR_NULL_POINTER, "spk_dense_synapse_stats: out is NULL");
    if (st == SPK_OK)
        *out = ((const dense *)l)->stats;
    return st;
}

spk_status spk_dense_create(spk_context *ctx, const spk_dense_params *p, spk_layer **out)
{
    spk_status st = SPK_OK;
    spk_layer *l = NULL;
    SPK_CHECK(ctx, p != NULL, SPK_ERR_NULL_POINTER, "spk_dense_create: params is NULL");
    SPK_CHECK(ctx, p->in_features > 0 && p->out_features > 0, SPK_ERR_INVALID_ARGUMENT,
              "spk_dense_create: in_features and out_features must be > 0 (got %zu, %zu)", p->in_features,
              p->out_features);
    SPK_CHECK(ctx, p->init_bound >= 0.0f && isfinite(p->init_bound), SPK_ERR_INVALID_ARGUMENT,
              "spk_dense_create: init_bound must be finite and >= 0");
    SPK_TRY(check_synapse(ctx, "spk_dense_create", p->synapse, p->sparse_threshold));
    SPK_TRY(spk__layer_alloc(ctx, &DENSE, sizeof(dense), &l));
    dense *d = (dense *)l;
    d->p = *p;
    SPK_TRY(spk__layer_add_param(l, "weight", 2, (size_t[2]){p->out_features, p->in_features}));
    if (p->bias)
        SPK_TRY(spk__layer_add_param(l, "bias", 1, (size_t[1]){p->out_features}));
    float bound = p->init_bound > 0.0f ? p->init_bound : 1.0f / sqrtf((float)p->in_features);
    SPK_TRY(spk__init_params_uniform(l, bound, p->seed));
    *out = l;
    return SPK_OK;
fail:
    spk_layer_free(l);
    return st;
}
