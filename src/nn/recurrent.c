/* Recurrent spiking layer (snnTorch RLeaky / RSynaptic): input weights, an
 * optional bias and recurrent weights on the layer's own spikes, followed by
 * LIF-family neurons that spike. Per step t, with S[-1] = 0:
 *
 *   x[t] = W_in u[t] + b + W_rec S[t-1],  then the neuron update of neuron.h
 *
 * It is one layer because it must step in time: x[t] needs S[t-1].
 *
 * Forward: X = U W_in^T + 1 b^T for all steps in one GEMM over T*B rows (as
 * dense.c; once over B rows for a static input, then broadcast), then per
 * step t: X[t] += S[t-1] W_rec^T (one GEMM with beta = 1, none at t = 0)
 * and the LIF kernel on the single step [1, B, N], chained through its state.
 *
 * Backward through time, t = T-1 .. 0: the LIF backward of step t takes
 * dL/dS[t] from the incoming gradient and dL/d(state after t) from step t+1,
 * and gives dX[t] and dL/d(state after t-1). The recurrence's share of
 * dL/dS[t-1], dX[t] W_rec, is added by one GEMM (beta = 1) to the spike row
 * of that state gradient: the LIF backward adds the state's spike row to
 * dL/dS of its last step, so this is exact and needs no copy of the incoming
 * gradient. Then dW_rec = sum_t dX[t]^T S[t-1] (one GEMM over (T-1)*B rows,
 * through views shifted by one step), dW_in = dX^T U, db = dX^T 1 and
 * dU = dX W_in (one GEMM each).
 *
 * Kept for the backward: X [T, B, N] (each step's total input), the
 * membrane V [T, B, N] (also what spk_network_layer_membrane returns) and the
 * state after every step [T, 4, B, N] (the LIF backward of step t needs the
 * state before it; the state before step 0 is zero: state_in NULL). The
 * state after step t holds I[t] in its first row, so the per-step current
 * the LIF backward of a current-based kind reads is a view into it, not a
 * copy. Scratch of the backward: dX [T, B, N] and two state gradients
 * [4, B, N]. Per neuron and step: 4 (X) + 4 (V) + 16 (state) + 4 (dX) =
 * 28 bytes, besides the spikes the network keeps as the layer's output. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/rng.h"
#include "nn/layer_internal.h"
#include "ops/ops_internal.h"

typedef struct recurrent {
    spk_layer base;
    spk_recurrent_params p;
    size_t w, b, rec;     /* parameter indices (b unused without bias) */
    spk_tensor *x;        /* [T, B, N] total input of every step */
    spk_tensor *membrane; /* [T, B, N] V of every step (before reset) */
    spk_tensor *states;   /* [T, 4, B, N] state after every step */
    spk_tensor *dx;       /* [T, B, N] dL/dx */
    spk_tensor *gstate[2];/* [4, B, N] dL/d(state), ping-ponged between steps */
    spk_tensor *ones;     /* [rows, 1] of 1: bias as a rank-1 GEMM */
    spk_tensor *ones_t;   /* [1, T] of 1: sums over time (static input) */
    spk_tensor *x_once;   /* [B, N]: W_in u + b of a static input; dX summed over time */
} recurrent;

spk_recurrent_params spk_recurrent_params_default(size_t in_features, size_t neurons)
{
    spk_recurrent_params p;
    memset(&p, 0, sizeof p);
    p.in_features = in_features;
    p.neurons = neurons;
    p.bias = 1;
    p.init_bound = 0.0f;
    p.rec_init_bound = 0.0f;
    p.seed = 0;
    p.lif = spk_lif_params_default(SPK_NEURON_LIF);
    return p;
}

static spk_status rec_infer(spk_layer *l, int in_ndim, const size_t *in, int *out_ndim, size_t *out)
{
    recurrent *r = (recurrent *)l;
    size_t n = 1;
    for (int i = 0; i < in_ndim; i++)
        n *= in[i];
    if (n != r->p.in_features)
        return spk__error(l->ctx, SPK_ERR_SHAPE, "expects %zu input features per sample, gets %zu",
                          r->p.in_features, n);
    *out_ndim = 1;
    out[0] = r->p.neurons;
    return SPK_OK;
}

static void rec_destroy(spk_layer *l)
{
    recurrent *r = (recurrent *)l;
    spk_tensor *all[] = {r->x,          r->membrane, r->states, r->dx,    r->gstate[0],
                         r->gstate[1], r->ones,     r->ones_t, r->x_once};
    for (size_t i = 0; i < SPK_ARRAY_LEN(all); i++)
        spk_tensor_free(all[i]);
    r->x = r->membrane = r->states = r->dx = r->gstate[0] = r->gstate[1] = r->ones = r->ones_t = r->x_once = NULL;
}

static spk_status ones(spk_context *ctx, size_t rows, size_t cols, spk_tensor **out)
{
    spk_status st = spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){rows, cols}, out);
    return st == SPK_OK ? spk_tensor_fill_f32(*out, 1.0f) : st;
}

/* Rows of the input GEMMs: T*B, or B for a static input. */
static size_t gemm_rows(const spk_layer *l)
{
    return l->static_input ? l->B : l->T * l->B;
}

static spk_status rec_prepare(spk_layer *l, size_t T, size_t B)
{
    spk_status st = SPK_OK;
    recurrent *r = (recurrent *)l;
    const size_t N = r->p.neurons;
    rec_destroy(l);
    SPK_TRY(spk_tensor_create(l->ctx, SPK_F32, 3, (size_t[3]){T, B, N}, &r->x));
    SPK_TRY(spk_tensor_create(l->ctx, SPK_F32, 3, (size_t[3]){T, B, N}, &r->membrane));
    SPK_TRY(spk_tensor_create(l->ctx, SPK_F32, 4, (size_t[4]){T, SPK_LIF_NSTATE, B, N}, &r->states));
    SPK_TRY(spk_tensor_create(l->ctx, SPK_F32, 3, (size_t[3]){T, B, N}, &r->dx));
    for (int k = 0; k < 2; k++)
        SPK_TRY(spk_tensor_create(l->ctx, SPK_F32, 3, (size_t[3]){SPK_LIF_NSTATE, B, N}, &r->gstate[k]));
    if (r->p.bias)
        SPK_TRY(ones(l->ctx, gemm_rows(l), 1, &r->ones));
    if (l->static_input) {
        SPK_TRY(ones(l->ctx, 1, T, &r->ones_t));
        SPK_TRY(spk_tensor_create(l->ctx, SPK_F32, 2, (size_t[2]){B, N}, &r->x_once));
    }
fail:
    return st;
}

/* A view of `rows` x N elements of t starting `offset` elements in: 2-D
 * [rows, N] for GEMMs (seq = 0) or [1, rows, N] for the LIF op (seq = 1). */
static spk_status slice(const spk_tensor *t, size_t offset, size_t rows, size_t N, int seq, spk_tensor **out)
{
    if (seq)
        return spk_tensor_view((spk_tensor *)t, offset, 3, (size_t[3]){1, rows, N}, out);
    return spk_tensor_view((spk_tensor *)t, offset, 2, (size_t[2]){rows, N}, out);
}

/* The forward tensors of step t as the LIF op sees them. */
typedef struct step_io {
    spk_tensor *x, *spikes, *state_in, *state_out, *membrane, *current;
    spk_lif_io io;
} step_io;

static void step_io_free(step_io *s)
{
    spk_tensor_free(s->x), spk_tensor_free(s->spikes), spk_tensor_free(s->state_in);
    spk_tensor_free(s->state_out), spk_tensor_free(s->membrane), spk_tensor_free(s->current);
    memset(s, 0, sizeof *s);
}

static spk_status step_io_make(recurrent *r, const spk_tensor *spikes, size_t t, step_io *s)
{
    spk_status st = SPK_OK;
    const size_t B = r->base.B, N = r->p.neurons, BN = B * N, SBN = SPK_LIF_NSTATE * BN;
    memset(s, 0, sizeof *s);
    SPK_TRY(slice(r->x, t * BN, B, N, 1, &s->x));
    SPK_TRY(slice(spikes, t * BN, B, N, 1, &s->spikes));
    SPK_TRY(spk_tensor_view(r->states, t * SBN, 3, (size_t[3]){SPK_LIF_NSTATE, B, N}, &s->state_out));
    if (t > 0)
        SPK_TRY(spk_tensor_view(r->states, (t - 1) * SBN, 3, (size_t[3]){SPK_LIF_NSTATE, B, N}, &s->state_in));
    SPK_TRY(slice(r->membrane, t * BN, B, N, 1, &s->membrane));
    /* I[t] is a row of the state after step t. */
    if (spk__lif_is_cuba(r->p.lif.kind))
        SPK_TRY(slice(r->states, t * SBN + SPK_STATE_I * BN, B, N, 1, &s->current));
    s->io = (spk_lif_io){.input = s->x,
                         .state_in = s->state_in,
                         .state_out = s->state_out,
                         .spikes = s->spikes,
                         .membrane = s->membrane,
                         .current = s->current};
    return SPK_OK;
fail:
    step_io_free(s);
    return st;
}

static spk_status rec_forward(spk_layer *l, const spk_tensor *in, spk_tensor *out)
{
    spk_status st = SPK_OK;
    recurrent *r = (recurrent *)l;
    const size_t T = l->T, B = l->B, N = r->p.neurons, BN = B * N, rows = gemm_rows(l);
    spk_tensor *u = NULL, *x_all = NULL, *b = NULL, *xt = NULL, *sp = NULL;
    step_io s = {0};
    SPK_TRY(spk__view2d(in, rows, r->p.in_features, &u));
    spk_tensor *y = r->x_once;
    if (!l->static_input) {
        SPK_TRY(spk__view2d(r->x, rows, N, &x_all));
        y = x_all;
    }
    SPK_TRY(spk_gemm(0, 1, 1.0f, u, l->params[r->w], 0.0f, y));
    if (r->p.bias) {
        SPK_TRY(spk__view2d(l->params[r->b], 1, N, &b));
        SPK_TRY(spk_gemm(0, 0, 1.0f, r->ones, b, 1.0f, y));
    }
    if (l->static_input)
        SPK_TRY(spk_encode_direct(l->ctx, r->x_once, 1.0f, r->x));
    for (size_t t = 0; t < T; t++) {
        if (t > 0) { /* x[t] += S[t-1] W_rec^T */
            SPK_TRY(slice(r->x, t * BN, B, N, 0, &xt));
            SPK_TRY(slice(out, (t - 1) * BN, B, N, 0, &sp));
            SPK_TRY(spk_gemm(0, 1, 1.0f, sp, l->params[r->rec], 1.0f, xt));
            spk_tensor_free(xt), spk_tensor_free(sp);
            xt = sp = NULL;
        }
        SPK_TRY(step_io_make(r, out, t, &s));
        SPK_TRY(spk_lif_forward(l->ctx, &r->p.lif, &s.io));
        step_io_free(&s);
    }
fail:
    step_io_free(&s);
    spk_tensor_free(u), spk_tensor_free(x_all), spk_tensor_free(b), spk_tensor_free(xt), spk_tensor_free(sp);
    return st;
}

static spk_status rec_backward(spk_layer *l, const spk_tensor *in, const spk_tensor *out,
                               const spk_tensor *grad_out, spk_tensor *grad_in)
{
    spk_status st = SPK_OK;
    recurrent *r = (recurrent *)l;
    const size_t T = l->T, B = l->B, N = r->p.neurons, BN = B * N, rows = gemm_rows(l);
    const size_t in_f = r->p.in_features;
    spk_tensor *gy = NULL, *dxt = NULL, *gs_row = NULL, *dx_shift = NULL, *s_prev = NULL;
    spk_tensor *u = NULL, *dx = NULL, *db = NULL, *du = NULL, *dx_t = NULL, *dx_sum = NULL;
    step_io s = {0};

    /* Through time. */
    for (size_t t = T; t-- > 0;) {
        SPK_TRY(step_io_make(r, out, t, &s));
        SPK_TRY(slice(grad_out, t * BN, B, N, 1, &gy));
        SPK_TRY(slice(r->dx, t * BN, B, N, 1, &dxt));
        spk_lif_grads g = {.grad_spikes = gy,
                           .grad_state_out = t + 1 < T ? r->gstate[(t + 1) & 1] : NULL,
                           .grad_input = dxt,
                           .grad_state_in = t > 0 ? r->gstate[t & 1] : NULL};
        SPK_TRY(spk_lif_backward(l->ctx, &r->p.lif, &s.io, &g));
        if (t > 0) { /* dL/dS[t-1] += dx[t] W_rec, into the spike row of the state gradient */
            spk_tensor_free(dxt);
            dxt = NULL;
            SPK_TRY(slice(r->dx, t * BN, B, N, 0, &dxt));
            SPK_TRY(slice(r->gstate[t & 1], SPK_STATE_S * BN, B, N, 0, &gs_row));
            SPK_TRY(spk_gemm(0, 0, 1.0f, dxt, l->params[r->rec], 1.0f, gs_row));
        }
        step_io_free(&s);
        spk_tensor_free(gy), spk_tensor_free(dxt), spk_tensor_free(gs_row);
        gy = dxt = gs_row = NULL;
    }

    /* dW_rec = sum_{t >= 1} dx[t]^T S[t-1] */
    if (T > 1) {
        SPK_TRY(slice(r->dx, BN, (T - 1) * B, N, 0, &dx_shift));
        SPK_TRY(slice(out, 0, (T - 1) * B, N, 0, &s_prev));
        SPK_TRY(spk_gemm(1, 0, 1.0f, dx_shift, s_prev, 0.0f, l->grads[r->rec]));
    } else {
        SPK_TRY(spk_tensor_fill_f32(l->grads[r->rec], 0.0f));
    }

    /* The input weights, as dense.c with dY = dx. */
    SPK_TRY(spk__view2d(in, rows, in_f, &u));
    if (l->static_input) {
        /* dx summed over time: [1, T] x [T, B*N] -> [1, B*N], into x_once */
        SPK_TRY(spk__view2d(r->dx, T, BN, &dx_t));
        SPK_TRY(spk__view2d(r->x_once, 1, BN, &dx_sum));
        SPK_TRY(spk_gemm(0, 0, 1.0f, r->ones_t, dx_t, 0.0f, dx_sum));
        SPK_TRY(spk__view2d(r->x_once, rows, N, &dx));
    } else {
        SPK_TRY(spk__view2d(r->dx, rows, N, &dx));
    }
    SPK_TRY(spk_gemm(1, 0, 1.0f, dx, u, 0.0f, l->grads[r->w]));
    if (r->p.bias) {
        SPK_TRY(spk__view2d(l->grads[r->b], N, 1, &db));
        SPK_TRY(spk_gemm(1, 0, 1.0f, dx, r->ones, 0.0f, db));
    }
    if (grad_in) {
        SPK_TRY(spk__view2d(grad_in, rows, in_f, &du));
        SPK_TRY(spk_gemm(0, 0, 1.0f, dx, l->params[r->w], 0.0f, du));
    }
fail:
    step_io_free(&s);
    spk_tensor *all[] = {gy, dxt, gs_row, dx_shift, s_prev, u, dx, db, du, dx_t, dx_sum};
    for (size_t i = 0; i < SPK_ARRAY_LEN(all); i++)
        spk_tensor_free(all[i]);
    return st;
}

static void rec_describe(const spk_layer *l, char *buf, size_t cap)
{
    const recurrent *r = (const recurrent *)l;
    const spk_lif_params *p = &r->p.lif;
    static const char *const KINDS[] = {"lif", "cuba-lif", "li", "cuba-li"};
    static const char *const RESETS[] = {"subtract", "zero", "to-value", "none"};
    char tau_syn[48] = "";
    if (spk__lif_is_cuba(p->kind))
        snprintf(tau_syn, sizeof tau_syn, ", tau_syn %g", (double)p->tau_syn);
    snprintf(buf, cap, "recurrent %zu -> %zu (%s, %s, tau_mem %g%s, threshold %g, reset %s, surrogate %s%s)",
             r->p.in_features, r->p.neurons, KINDS[p->kind], p->integration == SPK_INTEGRATE_EXACT ? "exact" : "euler",
             (double)p->tau_mem, tau_syn, (double)p->threshold, RESETS[p->reset], spk_surrogate_name(p->surrogate),
             r->p.bias ? ", bias" : "");
}

static const spk__layer_vtable RECURRENT = {.type = "recurrent",
                                            .infer_shape = rec_infer,
                                            .prepare = rec_prepare,
                                            .forward = rec_forward,
                                            .backward = rec_backward,
                                            .accepts_static_input = 1,
                                            .describe = rec_describe,
                                            .destroy = rec_destroy};

const spk_tensor *spk__recurrent_layer_membrane(const spk_layer *l)
{
    if (!l || l->vt != &RECURRENT)
        return NULL;
    return ((const recurrent *)l)->membrane;
}

spk_status spk_recurrent_create(spk_context *ctx, const spk_recurrent_params *p, spk_layer **out)
{
    spk_status st = SPK_OK;
    spk_layer *l = NULL;
    float coef[SPK_LIF_NCOEF];
    char why[256];
    SPK_CHECK(ctx, ctx && p && out, SPK_ERR_NULL_POINTER, "spk_recurrent_create: ctx, params or out is NULL");
    *out = NULL;
    SPK_CHECK(ctx, p->in_features > 0 && p->neurons > 0, SPK_ERR_INVALID_ARGUMENT,
              "spk_recurrent_create: in_features and neurons must be > 0 (got %zu, %zu)", p->in_features,
              p->neurons);
    SPK_CHECK(ctx, p->init_bound >= 0.0f && isfinite(p->init_bound), SPK_ERR_INVALID_ARGUMENT,
              "spk_recurrent_create: init_bound must be finite and >= 0 (got %g)", (double)p->init_bound);
    SPK_CHECK(ctx, p->rec_init_bound >= 0.0f && isfinite(p->rec_init_bound), SPK_ERR_INVALID_ARGUMENT,
              "spk_recurrent_create: rec_init_bound must be finite and >= 0 (got %g)", (double)p->rec_init_bound);
    st = spk_lif_coefficients(&p->lif, coef, why, sizeof why);
    SPK_CHECK(ctx, st == SPK_OK, st, "spk_recurrent_create: lif: %s", why);
    SPK_CHECK(ctx, spk__lif_is_spiking(p->lif.kind), SPK_ERR_INVALID_ARGUMENT,
              "spk_recurrent_create: lif.kind %s does not spike: a recurrent layer needs a spiking kind "
              "(SPK_NEURON_LIF or SPK_NEURON_CUBA_LIF)",
              p->lif.kind == SPK_NEURON_LI ? "SPK_NEURON_LI" : "SPK_NEURON_CUBA_LI");
    SPK_TRY(spk__layer_alloc(ctx, &RECURRENT, sizeof(recurrent), &l));
    recurrent *r = (recurrent *)l;
    r->p = *p;
    r->p.bias = p->bias != 0;
    r->w = l->n_params;
    SPK_TRY(spk__layer_add_param(l, "weight", 2, (size_t[2]){p->neurons, p->in_features}));
    if (r->p.bias) {
        r->b = l->n_params;
        SPK_TRY(spk__layer_add_param(l, "bias", 1, (size_t[1]){p->neurons}));
    }
    r->rec = l->n_params;
    SPK_TRY(spk__layer_add_param(l, "recurrent_weight", 2, (size_t[2]){p->neurons, p->neurons}));
    /* PyTorch's defaults: weight and bias ~ U(+-1/sqrt(in)); the recurrent
     * weights ~ U(+-1/sqrt(N)). Drawn in parameter order from one stream. */
    float bound = p->init_bound > 0.0f ? p->init_bound : 1.0f / sqrtf((float)p->in_features);
    float rec_bound = p->rec_init_bound > 0.0f ? p->rec_init_bound : 1.0f / sqrtf((float)p->neurons);
    spk__rng rng = spk__rng_seed(p->seed);
    for (size_t i = 0; i < l->n_params; i++)
        SPK_TRY(spk__init_uniform(l->params[i], i == r->rec ? rec_bound : bound, &rng));
    *out = l;
    return SPK_OK;
fail:
    spk_layer_free(l);
    return st;
}
