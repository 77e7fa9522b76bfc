/* Host side of kernels/plasticity.cl: rule parameters, argument checks and
 * launches. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ops/ops_internal.h"
#include "spikecl/plasticity.h"

static const char *const RULE_NAMES[SPK_STDP_RULE_COUNT] = {"additive", "multiplicative", "triplet", "mstdp",
                                                             "mstdpet"};

const char *spk_stdp_rule_name(spk_stdp_rule r)
{
    return (unsigned)r < SPK_STDP_RULE_COUNT ? RULE_NAMES[r] : NULL;
}

spk_stdp_params spk_stdp_params_default(spk_stdp_rule rule)
{
    spk_stdp_params p;
    memset(&p, 0, sizeof p);
    p.rule = rule;
    p.dt = 1.0f;
    p.tau_plus = p.tau_minus = 20.0f;
    p.a_plus = 0.01f;
    p.a_minus = 0.0105f;
    p.mu = 1.0f;
    p.w_min = 0.0f;
    p.w_max = 1.0f;
    p.clip = 1;
    p.tau_x = 101.0f;
    p.tau_y = 125.0f;
    p.tau_e = 25.0f;
    if (rule == SPK_STDP_TRIPLET) { /* Pfister & Gerstner 2006, visual cortex, all-to-all */
        p.tau_plus = 16.8f;
        p.tau_minus = 33.7f;
        p.a_plus = 5e-10f;
        p.a_minus = 7e-3f;
        p.a3_plus = 6.2e-3f;
        p.a3_minus = 2.3e-4f;
    }
    return p;
}

#define REQUIRE_TAU(name, v)                                                                \
    if (!((v) > 0.0f) || !isfinite(v))                                                      \
    SPK_REJECT("%s must be a positive, finite time constant (got %g)", name, (double)(v))
#define REQUIRE_AMPLITUDE(name, v)                                                          \
    if (!((v) >= 0.0f) || !isfinite(v))                                                     \
    SPK_REJECT("%s must be finite and >= 0 (got %g)", name, (double)(v))

spk_status spk_stdp_decays(const spk_stdp_params *p, float decay[SPK_STDP_NDECAY], char *msg, size_t msg_size)
{
    if (!p)
        SPK_REJECT("params is NULL");
    if ((unsigned)p->rule >= SPK_STDP_RULE_COUNT)
        SPK_REJECT("rule %d is not a spk_stdp_rule", (int)p->rule);
    if (!(p->dt > 0.0f) || !isfinite(p->dt))
        SPK_REJECT("dt must be positive and finite (got %g)", (double)p->dt);
    REQUIRE_TAU("tau_plus", p->tau_plus);
    REQUIRE_TAU("tau_minus", p->tau_minus);
    REQUIRE_AMPLITUDE("a_plus", p->a_plus);
    REQUIRE_AMPLITUDE("a_minus", p->a_minus);
    REQUIRE_AMPLITUDE("mu", p->mu);
    if (isnan(p->w_min) || isnan(p->w_max) || p->w_min > p->w_max)
        SPK_REJECT("the weight bounds need w_min <= w_max (got w_min %g, w_max %g)", (double)p->w_min,
               (double)p->w_max);
    if (p->rule == SPK_STDP_MULTIPLICATIVE && (!isfinite(p->w_min) || !isfinite(p->w_max)))
        SPK_REJECT("the multiplicative rule needs finite w_min and w_max (got %g, %g)", (double)p->w_min,
               (double)p->w_max);
    if (p->rule == SPK_STDP_TRIPLET) {
        REQUIRE_TAU("tau_x", p->tau_x);
        REQUIRE_TAU("tau_y", p->tau_y);
        REQUIRE_AMPLITUDE("a3_plus", p->a3_plus);
        REQUIRE_AMPLITUDE("a3_minus", p->a3_minus);
    }
    if (p->rule == SPK_STDP_MSTDPET)
        REQUIRE_TAU("tau_e", p->tau_e);
    if (decay) {
        /* Unused time constants may hold anything: their decays are 0. */
        const float taus[SPK_STDP_NDECAY] = {p->tau_plus, p->tau_minus, p->tau_x, p->tau_y, p->tau_e};
        for (int k = 0; k < SPK_STDP_NDECAY; k++)
            decay[k] = taus[k] > 0.0f && isfinite(taus[k]) ? expf(-p->dt / taus[k]) : 0.0f;
    }
    return SPK_OK;
}

/* Validated view of one update. */
typedef struct stdp_call {
    float d[SPK_STDP_NDECAY];
    spk_stdp_conv g;
    size_t T, B, n_pre, n_post, n_w, OH, OW;
    char options[160];
} stdp_call;

/* The per-sample size of [T, B, ...] spikes. */
static size_t per_sample(const spk_tensor *t)
{
    return spk_tensor_numel(t) / (spk_tensor_dim(t, 0) * spk_tensor_dim(t, 1));
}

static spk_status check_geometry(spk_context *ctx, const spk_stdp_conv *conv, stdp_call *c)
{
    spk_status st = SPK_OK;
    if (!conv) {
        c->g = (spk_stdp_conv){c->n_pre, 1, 1, c->n_post, 1, 1, 1, 1, 0, 0};
        c->OH = c->OW = 1;
        return SPK_OK;
    }
    c->g = *conv;
    const spk_stdp_conv *g = conv;
    SPK_CHECK(ctx, g->C && g->H && g->W && g->OC && g->KH && g->KW && g->SH && g->SW, SPK_ERR_INVALID_ARGUMENT,
              "spk_stdp_update: conv sizes, kernel and stride must be >= 1");
    SPK_CHECK(ctx, g->KH <= g->H + 2 * g->PH && g->KW <= g->W + 2 * g->PW, SPK_ERR_SHAPE,
              "spk_stdp_update: the %zux%zu kernel does not fit the padded %zux%zu image", g->KH, g->KW, g->H, g->W);
    c->OH = (g->H + 2 * g->PH - g->KH) / g->SH + 1;
    c->OW = (g->W + 2 * g->PW - g->KW) / g->SW + 1;
    SPK_CHECK(ctx, c->n_pre == g->C * g->H * g->W && c->n_post == g->OC * c->OH * c->OW, SPK_ERR_SHAPE,
              "spk_stdp_update: the spikes have %zu pre and %zu post values per sample; the convolution needs "
              "[%zu, %zu, %zu] = %zu and [%zu, %zu, %zu] = %zu",
              c->n_pre, c->n_post, g->C, g->H, g->W, g->C * g->H * g->W, g->OC, c->OH, c->OW,
              g->OC * c->OH * c->OW);
fail:
    return st;
}

/* A weight-shaped tensor: f32, of ctx, with n elements (any shape). */
static spk_status check_f32(spk_context *ctx, const spk_tensor *t, const char *what, size_t n)
{
    spk_status st = SPK_OK;
    SPK_CHECK(ctx, spk_tensor_context(t) == ctx, SPK_ERR_CONTEXT, "spk_stdp_update: %s belongs to another context",
              what);
    SPK_CHECK(ctx, spk_tensor_dtype(t) == SPK_F32, SPK_ERR_DTYPE, "spk_stdp_update: %s must be f32", what);
    SPK_CHECK(ctx, spk_tensor_numel(t) == n, SPK_ERR_SHAPE,
              "spk_stdp_update: %s has %zu elements, the weight %zu ([n_post, n_pre] dense, [OC, C, KH, KW] conv)",
              what, spk_tensor_numel(t), n);
fail:
    return st;
}

/* Spike trains: f32 or u8, of ctx. */
static spk_status check_spikes(spk_context *ctx, const spk_tensor *t, const char *what)
{
    spk_status st = SPK_OK;
    SPK_CHECK(ctx, spk_tensor_context(t) == ctx, SPK_ERR_CONTEXT, "spk_stdp_update: %s belongs to another context",
              what);
    SPK_CHECK(ctx, spk_tensor_dtype(t) == SPK_F32 || spk_tensor_dtype(t) == SPK_U8, SPK_ERR_DTYPE,
              "spk_stdp_update: %s must be f32 or u8 spikes", what);
fail:
    return st;
}

static spk_status check_update(spk_context *ctx, const spk_stdp_params *p, const spk_stdp_conv *conv,
                               const spk_stdp_io *io, stdp_call *c)
{
    spk_status st = SPK_OK;
    char why[256];
    const char *fn = "spk_stdp_update";
    SPK_CHECK(ctx, ctx && p && io, SPK_ERR_NULL_POINTER, "%s: ctx, params or io is NULL", fn);
    st = spk_stdp_decays(p, c->d, why, sizeof why);
    SPK_CHECK(ctx, st == SPK_OK, st, "%s: %s", fn, why);
    SPK_CHECK(ctx, io->pre && io->post && io->dw, SPK_ERR_NULL_POINTER, "%s: io.pre, io.post and io.dw are required",
              fn);
    SPK_CHECK(ctx, spk_tensor_ndim(io->pre) >= 3 && spk_tensor_ndim(io->post) >= 3, SPK_ERR_SHAPE,
              "%s: io.pre and io.post must be [T, B, ...] spike trains", fn);
    c->T = spk_tensor_dim(io->pre, 0), c->B = spk_tensor_dim(io->pre, 1);
    SPK_CHECK(ctx, spk_tensor_dim(io->post, 0) == c->T && spk_tensor_dim(io->post, 1) == c->B, SPK_ERR_SHAPE,
              "%s: io.pre has T=%zu, B=%zu but io.post T=%zu, B=%zu", fn, c->T, c->B, spk_tensor_dim(io->post, 0),
              spk_tensor_dim(io->post, 1));
    c->n_pre = per_sample(io->pre), c->n_post = per_sample(io->post);
    SPK_TRY(check_geometry(ctx, conv, c));
    c->n_w = c->g.OC * c->g.C * c->g.KH * c->g.KW;
    SPK_CHECK(ctx, c->T * c->B * (c->n_pre > c->n_post ? c->n_pre : c->n_post) <= 0x7fffffffu &&
                       c->B * c->n_w <= 0x7fffffffu,
              SPK_ERR_SHAPE, "%s: the sequence or weight is too large", fn);
    SPK_TRY(check_f32(ctx, io->dw, "io.dw", c->n_w));
    SPK_CHECK(ctx, isfinite(io->alpha) && isfinite(io->beta), SPK_ERR_INVALID_ARGUMENT,
              "%s: alpha and beta must be finite", fn);
    SPK_TRY(check_spikes(ctx, io->pre, "io.pre"));
    SPK_TRY(check_spikes(ctx, io->post, "io.post"));
    if (p->rule == SPK_STDP_MULTIPLICATIVE) {
        SPK_CHECK(ctx, io->weight != NULL, SPK_ERR_NULL_POINTER, "%s: the multiplicative rule needs io.weight", fn);
        SPK_TRY(check_f32(ctx, io->weight, "io.weight", c->n_w));
    }
    int reward = p->rule >= SPK_STDP_MSTDP;
    SPK_CHECK(ctx, !reward || io->reward, SPK_ERR_INVALID_ARGUMENT, "%s: the %s rule needs io.reward [T, B]", fn,
              spk_stdp_rule_name(p->rule));
    SPK_CHECK(ctx, reward || !io->reward, SPK_ERR_INVALID_ARGUMENT,
              "%s: the %s rule takes no reward (io.reward must be NULL)", fn, spk_stdp_rule_name(p->rule));
    if (io->reward)
        SPK_TRY(spk__check_tensor(ctx, io->reward, "io.reward", SPK_F32, 2, (size_t[2]){c->T, c->B}));
    SPK_CHECK(ctx, p->rule == SPK_STDP_MSTDPET || (!io->elig_in && !io->elig_out), SPK_ERR_INVALID_ARGUMENT,
              "%s: only the mstdpet rule has an eligibility trace (io.elig_in and io.elig_out must be NULL)", fn);
    size_t eshape[2] = {c->B, c->n_w}, pre_tr[3] = {SPK_STDP_NTRACE, c->B, c->n_pre};
    size_t post_tr[3] = {SPK_STDP_NTRACE, c->B, c->n_post};
    if (io->elig_in)
        SPK_TRY(spk__check_tensor(ctx, io->elig_in, "io.elig_in", SPK_F32, 2, eshape));
    if (io->elig_out)
        SPK_TRY(spk__check_tensor(ctx, io->elig_out, "io.elig_out", SPK_F32, 2, eshape));
    if (io->pre_trace_in)
        SPK_TRY(spk__check_tensor(ctx, io->pre_trace_in, "io.pre_trace_in", SPK_F32, 3, pre_tr));
    if (io->pre_trace_out)
        SPK_TRY(spk__check_tensor(ctx, io->pre_trace_out, "io.pre_trace_out", SPK_F32, 3, pre_tr));
    if (io->post_trace_in)
        SPK_TRY(spk__check_tensor(ctx, io->post_trace_in, "io.post_trace_in", SPK_F32, 3, post_tr));
    if (io->post_trace_out)
        SPK_TRY(spk__check_tensor(ctx, io->post_trace_out, "io.post_trace_out", SPK_F32, 3, post_tr));
    const spk_tensor *outs[] = {io->dw, io->pre_trace_out, io->post_trace_out, io->elig_out};
    const spk_tensor *ins[] = {io->pre, io->post, io->weight, io->reward, io->pre_trace_in, io->post_trace_in,
                               io->elig_in};
    for (size_t a = 0; a < SPK_ARRAY_LEN(outs); a++)
        for (size_t b = 0; outs[a] && b < SPK_ARRAY_LEN(ins); b++)
            SPK_CHECK(ctx, !ins[b] || outs[a]->buf != ins[b]->buf, SPK_ERR_INVALID_ARGUMENT,
                      "%s: an output shares its buffer with an input (update traces through a second tensor)", fn);
    snprintf(c->options, sizeof c->options, "-DRULE=%d -DPRE_T=%s -DPOST_T=%s -DSTEP_SYNC=%d", (int)p->rule,
             spk_tensor_dtype(io->pre) == SPK_U8 ? "uchar" : "float",
             spk_tensor_dtype(io->post) == SPK_U8 ? "uchar" : "float", spk__step_sync(ctx));
fail:
    return st;
}

/* Options of the programs that hold the per-neuron and elementwise kernels
 * (traces, factors, combine, clamp): only the triplet switch and the spike
 * type matter there, so every pair rule shares one build. */
static void aux_options(const spk_context *ctx, int triplet, spk_dtype spikes, char *buf, size_t cap)
{
    snprintf(buf, cap, "-DRULE=%d -DPRE_T=%s -DSTEP_SYNC=%d", triplet ? (int)SPK_STDP_TRIPLET : 0,
             spikes == SPK_U8 ? "uchar" : "float", spk__step_sync(ctx));
}

/* The trace state of one side after the sequence. */
static spk_status advance_traces(spk_context *ctx, const stdp_call *c, const spk_tensor *s, const spk_tensor *in,
                                 spk_tensor *out, float d_fast, float d_slow)
{
    spk_status st = SPK_OK;
    cl_kernel k;
    char opts[96];
    aux_options(ctx, 0, spk_tensor_dtype(s), opts, sizeof opts);
    SPK_TRY(spk__kernel_get(ctx, "plasticity.cl", opts, "stdp_traces", &k));
    cl_int T = (cl_int)c->T, BN = (cl_int)(spk_tensor_numel(s) / c->T);
    spk__buf bs = spk__buf_of(s), bi = spk__buf_or(in, s), bo = spk__buf_of(out);
    SPK_TRY(SPK_SET_ARGS(ctx, k, SPK_ARG(T), SPK_ARG(BN), SPK_BUF(bs), SPK_BUF(bi), SPK_ARG(bi.present), SPK_BUF(bo),
                         SPK_ARG(d_fast), SPK_ARG(d_slow)));
    SPK_TRY(spk__launch_1d(ctx, k, (size_t)BN));
fail:
    return st;
}

/* One side's trace and factor sequences [T*B, n] (see stdp_factors) and its trace state. */
static spk_status side_factors(spk_context *ctx, const stdp_call *c, const spk_stdp_params *p, const spk_tensor *s,
                               const spk_tensor *m, const spk_tensor *tr_in, spk_tensor *tr_out, int post,
                               spk_tensor *trace, spk_tensor *factor)
{
    spk_status st = SPK_OK;
    cl_kernel k;
    char opts[96];
    aux_options(ctx, p->rule == SPK_STDP_TRIPLET, spk_tensor_dtype(s), opts, sizeof opts);
    SPK_TRY(spk__kernel_get(ctx, "plasticity.cl", opts, "stdp_factors", &k));
    const int triplet = p->rule == SPK_STDP_TRIPLET;
    cl_int T = (cl_int)c->T, B = (cl_int)c->B, N = (cl_int)(post ? c->n_post : c->n_pre);
    cl_float d_fast = c->d[post ? SPK_STDP_DECAY_MINUS : SPK_STDP_DECAY_PLUS];
    cl_float d_slow = c->d[post ? SPK_STDP_DECAY_Y : SPK_STDP_DECAY_X];
    cl_float amp = post ? p->a_plus : p->a_minus;
    cl_float amp3 = triplet ? (post ? p->a3_plus : p->a3_minus) : 0.0f;
    spk__buf bs = spk__buf_of(s), bm = spk__buf_or(m, s), bi = spk__buf_or(tr_in, s), bo = spk__buf_or(tr_out, s);
    SPK_TRY(SPK_SET_ARGS(ctx, k, SPK_ARG(T), SPK_ARG(B), SPK_ARG(N), SPK_BUF(bs), SPK_BUF(bm), SPK_ARG(bm.present),
                         SPK_BUF(bi), SPK_ARG(bi.present), SPK_ARG(trace->buf), SPK_ARG(factor->buf), SPK_BUF(bo),
                         SPK_ARG(bo.present), SPK_ARG(d_fast), SPK_ARG(d_slow), SPK_ARG(amp), SPK_ARG(amp3)));
    SPK_TRY(spk__launch_1d(ctx, k, c->B * (size_t)N));
fail:
    return st;
}

/* dw = alpha (f_plus o ltp - f_minus o ltd) + beta dw, weight-dependent f. */
static spk_status combine(spk_context *ctx, const spk_stdp_params *p, const spk_stdp_io *io, size_t n,
                          const spk_tensor *ltp, const spk_tensor *ltd)
{
    spk_status st = SPK_OK;
    cl_kernel k;
    char opts[96];
    aux_options(ctx, 0, SPK_F32, opts, sizeof opts);
    SPK_TRY(spk__kernel_get(ctx, "plasticity.cl", opts, "stdp_combine", &k));
    cl_int nn = (cl_int)n;
    spk__buf w = spk__buf_of(io->weight), dw = spk__buf_of(io->dw);
    SPK_TRY(SPK_SET_ARGS(ctx, k, SPK_ARG(nn), SPK_ARG(ltp->buf), SPK_ARG(ltd->buf), SPK_BUF(w), SPK_BUF(dw),
                         SPK_ARG(io->alpha), SPK_ARG(io->beta), SPK_ARG(p->mu), SPK_ARG(p->w_min),
                         SPK_ARG(p->w_max)));
    SPK_TRY(spk__launch_1d(ctx, k, n));
fail:
    return st;
}

/* A dense weight without eligibility: factor sequences, then two GEMMs over
 * T*B rows (dW = Q^T X1 - Y1^T R), the weight dependence applied after.
 * On PoCL this ran 300x faster than the direct kernel for 784 x 100 weights
 * (bench/RESULTS.md, "STDP"). */
static spk_status update_gemm(spk_context *ctx, const spk_stdp_params *p, const spk_stdp_io *io,
                              const stdp_call *c)
{
    spk_status st = SPK_OK;
    const size_t rows = c->T * c->B;
    spk_tensor *x1 = NULL, *rf = NULL, *y1 = NULL, *q = NULL, *dw = NULL, *ltp = NULL, *ltd = NULL;
    const spk_tensor *m = p->rule == SPK_STDP_MSTDP ? io->reward : NULL;
    SPK_TRY(spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){rows, c->n_pre}, &x1));
    SPK_TRY(spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){rows, c->n_pre}, &rf));
    SPK_TRY(spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){rows, c->n_post}, &y1));
    SPK_TRY(spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){rows, c->n_post}, &q));
    SPK_TRY(side_factors(ctx, c, p, io->pre, m, io->pre_trace_in, io->pre_trace_out, 0, x1, rf));
    SPK_TRY(side_factors(ctx, c, p, io->post, m, io->post_trace_in, io->post_trace_out, 1, y1, q));
    if (p->rule == SPK_STDP_MULTIPLICATIVE) {
        SPK_TRY(spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){c->n_post, c->n_pre}, &ltp));
        SPK_TRY(spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){c->n_post, c->n_pre}, &ltd));
        SPK_TRY(spk_gemm(1, 0, 1.0f, q, x1, 0.0f, ltp));
        SPK_TRY(spk_gemm(1, 0, 1.0f, y1, rf, 0.0f, ltd));
        SPK_TRY(combine(ctx, p, io, c->n_w, ltp, ltd));
    } else {
        SPK_TRY(spk_tensor_view(io->dw, 0, 2, (size_t[2]){c->n_post, c->n_pre}, &dw));
        if (io->beta == 0.0f) /* not read, as documented, even if it holds NaN */
            SPK_TRY(spk_tensor_fill_f32(dw, 0.0f));
        SPK_TRY(spk_gemm(1, 0, io->alpha, q, x1, io->beta, dw));
        SPK_TRY(spk_gemm(1, 0, -io->alpha, y1, rf, 1.0f, dw));
    }
fail:
    spk_tensor *all[] = {x1, rf, y1, q, dw, ltp, ltd};
    for (size_t i = 0; i < SPK_ARRAY_LEN(all); i++)
        spk_tensor_free(all[i]);
    return st;
}

spk_status spk_stdp_update(spk_context *ctx, const spk_stdp_params *p, const spk_stdp_conv *conv,
                           const spk_stdp_io *io)
{
    spk_status st = SPK_OK;
    stdp_call c;
    cl_kernel k;
    SPK_TRY(check_update(ctx, p, conv, io, &c));
    if (!conv && p->rule != SPK_STDP_MSTDPET)
        return update_gemm(ctx, p, io, &c);
    SPK_TRY(spk__kernel_get(ctx, "plasticity.cl", c.options, "stdp_update", &k));
    const spk_tensor *any = io->pre;
    spk__buf pre = spk__buf_of(io->pre), post = spk__buf_of(io->post), w = spk__buf_or(io->weight, any);
    spk__buf r = spk__buf_or(io->reward, any), pti = spk__buf_or(io->pre_trace_in, any);
    spk__buf qti = spk__buf_or(io->post_trace_in, any), ei = spk__buf_or(io->elig_in, any);
    spk__buf eo = spk__buf_or(io->elig_out, any), dw = spk__buf_of(io->dw);
    const spk_stdp_conv *g = &c.g;
    cl_int geom[12] = {(cl_int)g->C,  (cl_int)g->H,  (cl_int)g->W,  (cl_int)g->OC, (cl_int)c.OH, (cl_int)c.OW,
                       (cl_int)g->KH, (cl_int)g->KW, (cl_int)g->SH, (cl_int)g->SW, (cl_int)g->PH, (cl_int)g->PW};
    cl_int T = (cl_int)c.T, B = (cl_int)c.B;
    const int triplet = p->rule == SPK_STDP_TRIPLET;
    cl_float a3p = triplet ? p->a3_plus : 0.0f, a3m = triplet ? p->a3_minus : 0.0f;
    SPK_TRY(SPK_SET_ARGS(ctx, k, SPK_ARG(T), SPK_ARG(B), SPK_ARG(geom), SPK_BUF(pre), SPK_BUF(post), SPK_BUF(w),
                         SPK_BUF(r), SPK_BUF(pti), SPK_ARG(pti.present), SPK_BUF(qti), SPK_ARG(qti.present),
                         SPK_BUF(ei), SPK_ARG(ei.present), SPK_BUF(eo), SPK_ARG(eo.present), SPK_BUF(dw),
                         SPK_ARG(io->alpha), SPK_ARG(io->beta), SPK_ARG(c.d[0]), SPK_ARG(c.d[1]), SPK_ARG(c.d[2]),
                         SPK_ARG(c.d[3]), SPK_ARG(c.d[4]), SPK_ARG(p->a_plus), SPK_ARG(p->a_minus), SPK_ARG(a3p),
                         SPK_ARG(a3m), SPK_ARG(p->mu), SPK_ARG(p->w_min), SPK_ARG(p->w_max)));
    SPK_TRY(spk__launch_nd(ctx, k, 2, (size_t[2]){g->C * g->KH * g->KW, g->OC}));
    if (io->pre_trace_out)
        SPK_TRY(advance_traces(ctx, &c, io->pre, io->pre_trace_in, io->pre_trace_out, c.d[SPK_STDP_DECAY_PLUS],
                               c.d[SPK_STDP_DECAY_X]));
    if (io->post_trace_out)
        SPK_TRY(advance_traces(ctx, &c, io->post, io->post_trace_in, io->post_trace_out,
                               c.d[SPK_STDP_DECAY_MINUS], c.d[SPK_STDP_DECAY_Y]));
fail:
    return st;
}

spk_status spk_tensor_clamp(spk_tensor *w, float lo, float hi)
{
    spk_status st = SPK_OK;
    spk_context *ctx = w ? w->ctx : NULL;
    cl_kernel k;
    SPK_CHECK(ctx, w != NULL, SPK_ERR_NULL_POINTER, "spk_tensor_clamp: tensor is NULL");
    SPK_CHECK(ctx, w->dtype == SPK_F32, SPK_ERR_DTYPE, "spk_tensor_clamp: tensor must be f32");
    SPK_CHECK(ctx, !isnan(lo) && !isnan(hi) && lo <= hi, SPK_ERR_INVALID_ARGUMENT,
              "spk_tensor_clamp: the bounds need lo <= hi (got %g, %g)", (double)lo, (double)hi);
    SPK_CHECK(ctx, w->numel <= 0x7fffffffu, SPK_ERR_SHAPE, "spk_tensor_clamp: tensor too large");
    char opts[96];
    aux_options(ctx, 0, SPK_F32, opts, sizeof opts);
    SPK_TRY(spk__kernel_get(ctx, "plasticity.cl", opts, "stdp_clamp", &k));
    cl_int n = (cl_int)w->numel;
    cl_ulong off = (cl_ulong)w->offset;
    SPK_TRY(SPK_SET_ARGS(ctx, k, SPK_ARG(n), SPK_ARG(w->buf), SPK_ARG(off), SPK_ARG(lo), SPK_ARG(hi)));
    SPK_TRY(spk__launch_1d(ctx, k, w->numel));
fail:
    return st;
}
