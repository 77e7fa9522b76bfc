/* STDP-family rules: every rule on every device against the C reference
 * (dense and convolutional weights, shapes off the work-group sizes),
 * hand-computed spike pairs and triplets, chunked sequences, rewards,
 * bounds, invalid parameters, and rules attached to network layers (mixed
 * with BPTT layers). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ref/ref.h"

#define TIMEOUT 300

/* Host data of one update: spikes, weights, rewards, incoming state. */
typedef struct problem {
    size_t T, B, n_pre, n_post, n_w;
    float *pre, *post, *w, *r, *pre_tr, *post_tr, *elig, *dw0;
} problem;

/* The weight count and per-sample post size of a geometry (dense if conv is NULL). */
static void sizes(const spk_stdp_conv *conv, size_t n_pre, size_t n_post, size_t *pre_out, size_t *post_out,
                  size_t *n_w)
{
    if (!conv) {
        *pre_out = n_pre, *post_out = n_post, *n_w = n_pre * n_post;
        return;
    }
    size_t OH = (conv->H + 2 * conv->PH - conv->KH) / conv->SH + 1, OW = (conv->W + 2 * conv->PW - conv->KW) / conv->SW + 1;
    *pre_out = conv->C * conv->H * conv->W, *post_out = conv->OC * OH * OW;
    *n_w = conv->OC * conv->C * conv->KH * conv->KW;
}

static float *spikes(spk_test_rng *r, size_t n, float rate)
{
    float *s = spk_test_alloc(n);
    for (size_t i = 0; i < n; i++)
        s[i] = spk_test_uniform(r, 0, 1) < rate ? 1.0f : 0.0f;
    return s;
}

static void problem_make(const spk_stdp_params *p, const spk_stdp_conv *conv, size_t T, size_t B, size_t n_pre,
                         size_t n_post, uint64_t seed, problem *pb)
{
    spk_test_rng r = {seed};
    memset(pb, 0, sizeof *pb);
    pb->T = T, pb->B = B;
    sizes(conv, n_pre, n_post, &pb->n_pre, &pb->n_post, &pb->n_w);
    pb->pre = spikes(&r, T * B * pb->n_pre, 0.2f);
    pb->post = spikes(&r, T * B * pb->n_post, 0.15f);
    pb->w = spk_test_alloc(pb->n_w);
    spk_test_fill_uniform(&r, pb->w, pb->n_w, p->w_min, p->w_max);
    pb->r = spk_test_alloc(T * B);
    spk_test_fill_normal(&r, pb->r, T * B, 0.2f, 1.0f);
    pb->pre_tr = spk_test_alloc(2 * B * pb->n_pre);
    pb->post_tr = spk_test_alloc(2 * B * pb->n_post);
    spk_test_fill_uniform(&r, pb->pre_tr, 2 * B * pb->n_pre, 0, 2);
    spk_test_fill_uniform(&r, pb->post_tr, 2 * B * pb->n_post, 0, 2);
    pb->elig = spk_test_alloc(B * pb->n_w);
    spk_test_fill_normal(&r, pb->elig, B * pb->n_w, 0, 0.05f);
    pb->dw0 = spk_test_alloc(pb->n_w);
    spk_test_fill_normal(&r, pb->dw0, pb->n_w, 0, 0.1f);
}

static void problem_free(problem *pb)
{
    float *all[] = {pb->pre, pb->post, pb->w, pb->r, pb->pre_tr, pb->post_tr, pb->elig, pb->dw0};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
}

static int rewarded(const spk_stdp_params *p)
{
    return p->rule >= SPK_STDP_MSTDP;
}

/* Results of one update: dw, traces after, eligibility after. */
typedef struct result {
    float *dw, *pre_tr, *post_tr, *elig;
} result;

static void result_alloc(const problem *pb, result *res)
{
    res->dw = spk_test_alloc(pb->n_w);
    res->pre_tr = spk_test_alloc(2 * pb->B * pb->n_pre);
    res->post_tr = spk_test_alloc(2 * pb->B * pb->n_post);
    res->elig = spk_test_alloc(pb->B * pb->n_w);
}

static void result_free(result *res)
{
    free(res->dw), free(res->pre_tr), free(res->post_tr), free(res->elig);
}

static void run_reference(const spk_stdp_params *p, const spk_stdp_conv *conv, const problem *pb, int with_state,
                          float alpha, float beta, result *res)
{
    float d[SPK_STDP_NDECAY];
    cr_assert(spk_stdp_decays(p, d, NULL, 0) == SPK_OK);
    memcpy(res->dw, pb->dw0, pb->n_w * sizeof(float));
    int elig = p->rule == SPK_STDP_MSTDPET;
    spk_ref_stdp_io io = {.pre = pb->pre,
                          .post = pb->post,
                          .weight = pb->w,
                          .reward = rewarded(p) ? pb->r : NULL,
                          .pre_trace_in = with_state ? pb->pre_tr : NULL,
                          .post_trace_in = with_state ? pb->post_tr : NULL,
                          .elig_in = with_state && elig ? pb->elig : NULL,
                          .elig_out = elig ? res->elig : NULL,
                          .dw = res->dw,
                          .alpha = alpha,
                          .beta = beta};
    cr_assert(spk_ref_stdp_update(p, conv, pb->T, pb->B, pb->n_pre, pb->n_post, &io) == SPK_OK);
    spk_ref_stdp_traces(pb->T, pb->B * pb->n_pre, pb->pre, io.pre_trace_in, d[0], d[2], res->pre_tr);
    spk_ref_stdp_traces(pb->T, pb->B * pb->n_post, pb->post, io.post_trace_in, d[1], d[3], res->post_tr);
}

static spk_tensor *upload(spk_context *ctx, spk_dtype dtype, int ndim, const size_t *shape, const float *host)
{
    spk_tensor *t = NULL;
    SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, dtype, ndim, shape, &t));
    size_t n = spk_tensor_numel(t);
    if (dtype == SPK_U8) {
        uint8_t *b = malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++)
            b[i] = (uint8_t)host[i];
        SPK_ASSERT_OK(ctx, spk_tensor_upload(t, b, n));
        free(b);
    } else {
        SPK_ASSERT_OK(ctx, spk_tensor_upload(t, host, n * sizeof(float)));
    }
    return t;
}

/* Device tensors of a problem. */
typedef struct dev {
    spk_tensor *pre, *post, *w, *r, *pre_tr, *post_tr, *elig;
    spk_test_guarded dw, pre_tr_out, post_tr_out, elig_out;
} dev;

static void dev_make(spk_context *ctx, const problem *pb, spk_dtype spike_dtype, dev *d)
{
    size_t T = pb->T, B = pb->B;
    d->pre = upload(ctx, spike_dtype, 3, (size_t[3]){T, B, pb->n_pre}, pb->pre);
    d->post = upload(ctx, spike_dtype, 3, (size_t[3]){T, B, pb->n_post}, pb->post);
    d->w = upload(ctx, SPK_F32, 1, (size_t[1]){pb->n_w}, pb->w);
    d->r = upload(ctx, SPK_F32, 2, (size_t[2]){T, B}, pb->r);
    d->pre_tr = upload(ctx, SPK_F32, 3, (size_t[3]){2, B, pb->n_pre}, pb->pre_tr);
    d->post_tr = upload(ctx, SPK_F32, 3, (size_t[3]){2, B, pb->n_post}, pb->post_tr);
    d->elig = upload(ctx, SPK_F32, 2, (size_t[2]){B, pb->n_w}, pb->elig);
    spk_test_guarded_create(ctx, SPK_F32, 1, (size_t[1]){pb->n_w}, &d->dw);
    spk_test_guarded_upload(&d->dw, pb->dw0);
    spk_test_guarded_create(ctx, SPK_F32, 3, (size_t[3]){2, B, pb->n_pre}, &d->pre_tr_out);
    spk_test_guarded_create(ctx, SPK_F32, 3, (size_t[3]){2, B, pb->n_post}, &d->post_tr_out);
    spk_test_guarded_create(ctx, SPK_F32, 2, (size_t[2]){B, pb->n_w}, &d->elig_out);
}

static void dev_free(dev *d)
{
    spk_tensor *all[] = {d->pre, d->post, d->w, d->r, d->pre_tr, d->post_tr, d->elig};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        spk_tensor_free(all[i]);
    spk_test_guarded_free(&d->dw), spk_test_guarded_free(&d->pre_tr_out);
    spk_test_guarded_free(&d->post_tr_out), spk_test_guarded_free(&d->elig_out);
}

static spk_stdp_io dev_io(const spk_stdp_params *p, dev *d, int with_state, float alpha, float beta)
{
    int elig = p->rule == SPK_STDP_MSTDPET;
    return (spk_stdp_io){.pre = d->pre,
                         .post = d->post,
                         .weight = d->w,
                         .reward = rewarded(p) ? d->r : NULL,
                         .pre_trace_in = with_state ? d->pre_tr : NULL,
                         .post_trace_in = with_state ? d->post_tr : NULL,
                         .pre_trace_out = d->pre_tr_out.t,
                         .post_trace_out = d->post_tr_out.t,
                         .elig_in = with_state && elig ? d->elig : NULL,
                         .elig_out = elig ? d->elig_out.t : NULL,
                         .dw = d->dw.t,
                         .alpha = alpha,
                         .beta = beta};
}

static void dev_download(const spk_stdp_params *p, dev *d, result *res)
{
    spk_test_guarded_download(&d->dw, res->dw, "dw");
    spk_test_guarded_download(&d->pre_tr_out, res->pre_tr, "pre_trace_out");
    spk_test_guarded_download(&d->post_tr_out, res->post_tr, "post_trace_out");
    if (p->rule == SPK_STDP_MSTDPET)
        spk_test_guarded_download(&d->elig_out, res->elig, "elig_out");
}

static spk_stdp_params rule_params(spk_stdp_rule rule)
{
    spk_stdp_params p = spk_stdp_params_default(rule);
    p.tau_plus = 7.0f, p.tau_minus = 11.0f, p.tau_e = 9.0f;
    p.a_plus = 0.03f, p.a_minus = 0.025f;
    if (rule == SPK_STDP_TRIPLET)
        p.a_plus = 0.004f, p.a3_plus = 0.02f, p.a3_minus = 0.003f, p.tau_x = 23.0f, p.tau_y = 31.0f;
    if (rule == SPK_STDP_MULTIPLICATIVE)
        p.mu = 0.7f, p.w_min = -0.5f, p.w_max = 1.5f;
    return p;
}

typedef struct shape_case {
    size_t T, B, n_pre, n_post;
    int conv; /* index into CONVS + 1, or 0 for dense */
    spk_dtype dtype;
} shape_case;

static const spk_stdp_conv CONVS[] = {
    {2, 6, 5, 3, 3, 2, 2, 1, 1, 0}, /* padding and stride, non-square */
    {1, 4, 4, 2, 2, 2, 1, 1, 0, 0},
};

static const shape_case SHAPES[] = {
    {7, 3, 5, 4, 0, SPK_F32},   {33, 2, 70, 13, 0, SPK_F32}, {20, 1, 129, 3, 0, SPK_U8},
    {1, 2, 1, 1, 0, SPK_F32},   {9, 2, 0, 0, 1, SPK_F32},    {6, 3, 0, 0, 2, SPK_U8},
};

/* direct: a dense case given as the equivalent 1x1 convolution, which runs
 * the per-weight kernel instead of factor sequences and GEMMs. */
static void check_case(spk_context *ctx, spk_stdp_rule rule, const shape_case *sc, int direct, uint64_t seed)
{
    spk_stdp_params p = rule_params(rule);
    const spk_stdp_conv as_conv = {sc->n_pre, 1, 1, sc->n_post, 1, 1, 1, 1, 0, 0};
    const spk_stdp_conv *conv = sc->conv ? &CONVS[sc->conv - 1] : direct ? &as_conv : NULL;
    problem pb;
    result want, got;
    dev d;
    problem_make(&p, conv, sc->T, sc->B, sc->n_pre, sc->n_post, seed, &pb);
    result_alloc(&pb, &want), result_alloc(&pb, &got);
    run_reference(&p, conv, &pb, 1, -1.5f, 0.5f, &want);
    dev_make(ctx, &pb, sc->dtype, &d);
    spk_stdp_io io = dev_io(&p, &d, 1, -1.5f, 0.5f);
    SPK_ASSERT_OK(ctx, spk_stdp_update(ctx, &p, conv, &io));
    dev_download(&p, &d, &got);
    char what[128];
    snprintf(what, sizeof what, "%s T%zu B%zu pre %zu post %zu%s dw", spk_stdp_rule_name(rule), sc->T, sc->B,
             pb.n_pre, pb.n_post, sc->conv ? " conv" : direct ? " direct" : "");
    spk_test_compare_scaled(what, got.dw, want.dw, pb.n_w, 1e-5f);
    spk_test_compare("pre traces", got.pre_tr, want.pre_tr, 2 * pb.B * pb.n_pre, 1e-6f, 1e-6f);
    spk_test_compare("post traces", got.post_tr, want.post_tr, 2 * pb.B * pb.n_post, 1e-6f, 1e-6f);
    if (rule == SPK_STDP_MSTDPET)
        spk_test_compare_scaled("eligibility", got.elig, want.elig, pb.B * pb.n_w, 1e-5f);
    dev_free(&d);
    result_free(&want), result_free(&got);
    problem_free(&pb);
}

Test(stdp, every_rule_matches_reference, .timeout = TIMEOUT)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        for (int rule = 0; rule < SPK_STDP_RULE_COUNT; rule++)
            for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++)
                for (int direct = 0; direct < 1 + !SHAPES[s].conv; direct++)
                    check_case(ctx, (spk_stdp_rule)rule, &SHAPES[s], direct, 100 + 10 * (uint64_t)rule + s);
    }
}

/* One pre and one post spike: the dense 1x1 weight's dW. */
static float pair_dw(spk_context *ctx, const spk_stdp_params *p, size_t T, size_t t_pre, size_t t_post)
{
    float pre[64] = {0}, post[64] = {0}, dw = 0.0f;
    cr_assert(T <= 64);
    pre[t_pre] = 1.0f, post[t_post] = 1.0f;
    spk_tensor *tp = upload(ctx, SPK_F32, 3, (size_t[3]){T, 1, 1}, pre);
    spk_tensor *tq = upload(ctx, SPK_F32, 3, (size_t[3]){T, 1, 1}, post);
    spk_tensor *w = upload(ctx, SPK_F32, 2, (size_t[2]){1, 1}, (float[1]){0.25f});
    spk_tensor *r = upload(ctx, SPK_F32, 2, (size_t[2]){T, 1}, (float[64]){0});
    spk_tensor *out = NULL;
    SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){1, 1}, &out));
    spk_stdp_io io = {.pre = tp, .post = tq, .weight = w, .dw = out, .alpha = 1.0f};
    SPK_ASSERT_OK(ctx, spk_stdp_update(ctx, p, NULL, &io));
    SPK_ASSERT_OK(ctx, spk_tensor_download(out, &dw, sizeof dw));
    spk_tensor_free(tp), spk_tensor_free(tq), spk_tensor_free(w), spk_tensor_free(r), spk_tensor_free(out);
    return dw;
}

static void assert_close(const char *what, float got, double want)
{
    cr_assert(fabs(got - want) <= 1e-6 * fabs(want) + 1e-12, "%s: %.9g, expected %.9g", what, (double)got, want);
}

Test(stdp, one_pair_gives_the_textbook_window, .timeout = TIMEOUT)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        spk_stdp_params p = spk_stdp_params_default(SPK_STDP_ADDITIVE);
        p.tau_plus = 10.0f, p.tau_minus = 15.0f, p.dt = 0.5f;
        for (size_t lag = 1; lag < 20; lag += 6) {
            /* pre then post: potentiation a_plus exp(-lag dt / tau_plus) */
            assert_close("pre->post", pair_dw(ctx, &p, 30, 3, 3 + lag), p.a_plus * exp(-(double)lag * 0.5 / 10.0));
            /* post then pre: depression a_minus exp(-lag dt / tau_minus) */
            assert_close("post->pre", pair_dw(ctx, &p, 30, 3 + lag, 3), -p.a_minus * exp(-(double)lag * 0.5 / 15.0));
        }
        /* together: both, each with its trace of 1 */
        assert_close("simultaneous", pair_dw(ctx, &p, 8, 4, 4), (double)p.a_plus - (double)p.a_minus);
        /* weight-dependent: f_plus = (w_max - w)^mu with w = 0.25 */
        spk_stdp_params m = spk_stdp_params_default(SPK_STDP_MULTIPLICATIVE);
        m.mu = 2.0f;
        assert_close("multiplicative pre->post", pair_dw(ctx, &m, 10, 1, 3),
                     m.a_plus * 0.75 * 0.75 * exp(-2.0 / 20.0));
        assert_close("multiplicative post->pre", pair_dw(ctx, &m, 10, 3, 1),
                     -m.a_minus * 0.25 * 0.25 * exp(-2.0 / 20.0));
    }
}

Test(stdp, triplet_adds_the_post_pre_post_term, .timeout = TIMEOUT)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        spk_stdp_params p = spk_stdp_params_default(SPK_STDP_TRIPLET);
        p.a_plus = 0.005f, p.a3_plus = 0.01f, p.a_minus = 0.007f, p.a3_minus = 0.002f;
        /* post at 2, pre at 5, post at 9 (T = 12) */
        float pre[12] = {0}, post[12] = {0}, dw = 0;
        pre[5] = 1, post[2] = 1, post[9] = 1;
        spk_tensor *tp = upload(ctx, SPK_F32, 3, (size_t[3]){12, 1, 1}, pre);
        spk_tensor *tq = upload(ctx, SPK_F32, 3, (size_t[3]){12, 1, 1}, post);
        spk_tensor *out = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){1, 1}, &out));
        spk_stdp_io io = {.pre = tp, .post = tq, .dw = out, .alpha = 1.0f};
        SPK_ASSERT_OK(ctx, spk_stdp_update(ctx, &p, NULL, &io));
        SPK_ASSERT_OK(ctx, spk_tensor_download(out, &dw, sizeof dw));
        /* depression at the pre spike (5): post trace from 2, no earlier pre;
         * potentiation at 9: pre trace from 5 times (A2+ + A3+ y2 from 2) */
        double ltd = exp(-3.0 / p.tau_minus) * p.a_minus;
        double ltp = exp(-4.0 / p.tau_plus) * (p.a_plus + p.a3_plus * exp(-7.0 / p.tau_y));
        assert_close("triplet", dw, ltp - ltd);
        spk_tensor_free(tp), spk_tensor_free(tq), spk_tensor_free(out);
    }
}

/* Two chunks with the state carried and dW accumulated equal one sequence. */
static void check_chunks(spk_context *ctx, spk_stdp_rule rule, const spk_stdp_conv *conv)
{
    spk_stdp_params p = rule_params(rule);
    const size_t T = 24, T1 = 10, B = 2;
    problem pb;
    problem_make(&p, conv, T, B, 19, 6, 77 + (uint64_t)rule, &pb);
    result whole;
    result_alloc(&pb, &whole);
    run_reference(&p, conv, &pb, 1, 1.0f, 0.0f, &whole);

    dev d;
    dev_make(ctx, &pb, SPK_F32, &d);
    spk_tensor *pre1, *pre2, *post1, *post2, *r1, *r2, *dw, *st_pre, *st_post, *st_e;
    const size_t np = pb.n_pre * B, nq = pb.n_post * B;
    SPK_ASSERT_OK(ctx, spk_tensor_view(d.pre, 0, 3, (size_t[3]){T1, B, pb.n_pre}, &pre1));
    SPK_ASSERT_OK(ctx, spk_tensor_view(d.pre, T1 * np, 3, (size_t[3]){T - T1, B, pb.n_pre}, &pre2));
    SPK_ASSERT_OK(ctx, spk_tensor_view(d.post, 0, 3, (size_t[3]){T1, B, pb.n_post}, &post1));
    SPK_ASSERT_OK(ctx, spk_tensor_view(d.post, T1 * nq, 3, (size_t[3]){T - T1, B, pb.n_post}, &post2));
    SPK_ASSERT_OK(ctx, spk_tensor_view(d.r, 0, 2, (size_t[2]){T1, B}, &r1));
    SPK_ASSERT_OK(ctx, spk_tensor_view(d.r, T1 * B, 2, (size_t[2]){T - T1, B}, &r2));
    SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 1, (size_t[1]){pb.n_w}, &dw));
    SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){2, B, pb.n_pre}, &st_pre));
    SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){2, B, pb.n_post}, &st_post));
    SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){B, pb.n_w}, &st_e));
    int elig = rule == SPK_STDP_MSTDPET, rw = rewarded(&p);
    spk_stdp_io a = {.pre = pre1, .post = post1, .weight = d.w, .reward = rw ? r1 : NULL,
                     .pre_trace_in = d.pre_tr, .post_trace_in = d.post_tr, .pre_trace_out = st_pre,
                     .post_trace_out = st_post, .elig_in = elig ? d.elig : NULL, .elig_out = elig ? st_e : NULL,
                     .dw = dw, .alpha = 1.0f, .beta = 0.0f};
    SPK_ASSERT_OK(ctx, spk_stdp_update(ctx, &p, conv, &a));
    spk_stdp_io b = {.pre = pre2, .post = post2, .weight = d.w, .reward = rw ? r2 : NULL,
                     .pre_trace_in = st_pre, .post_trace_in = st_post, .pre_trace_out = d.pre_tr_out.t,
                     .post_trace_out = d.post_tr_out.t, .elig_in = elig ? st_e : NULL,
                     .elig_out = elig ? d.elig_out.t : NULL, .dw = dw, .alpha = 1.0f, .beta = 1.0f};
    SPK_ASSERT_OK(ctx, spk_stdp_update(ctx, &p, conv, &b));
    result got;
    result_alloc(&pb, &got);
    dev_download(&p, &d, &got);
    SPK_ASSERT_OK(ctx, spk_tensor_download(dw, got.dw, pb.n_w * sizeof(float)));
    spk_test_compare_scaled(spk_stdp_rule_name(rule), got.dw, whole.dw, pb.n_w, 1e-5f);
    spk_test_compare("chunked pre traces", got.pre_tr, whole.pre_tr, 2 * np, 1e-5f, 1e-5f);
    spk_test_compare("chunked post traces", got.post_tr, whole.post_tr, 2 * nq, 1e-5f, 1e-5f);
    if (elig)
        spk_test_compare_scaled("chunked eligibility", got.elig, whole.elig, B * pb.n_w, 1e-5f);
    spk_tensor *all[] = {pre1, pre2, post1, post2, r1, r2, dw, st_pre, st_post, st_e};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        spk_tensor_free(all[i]);
    dev_free(&d);
    result_free(&whole), result_free(&got);
    problem_free(&pb);
}

Test(stdp, chunked_sequence_equals_one_sequence, .timeout = TIMEOUT)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        for (int rule = 0; rule < SPK_STDP_RULE_COUNT; rule++)
            check_chunks(ctx, (spk_stdp_rule)rule, NULL);
        check_chunks(ctx, SPK_STDP_MSTDPET, &CONVS[1]);
    }
}

Test(stdp, zero_reward_changes_nothing, .timeout = TIMEOUT)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        for (int rule = SPK_STDP_MSTDP; rule <= SPK_STDP_MSTDPET; rule++) {
            spk_stdp_params p = rule_params((spk_stdp_rule)rule);
            problem pb;
            problem_make(&p, NULL, 15, 2, 9, 5, 5, &pb);
            memset(pb.r, 0, 15 * 2 * sizeof(float));
            dev d;
            dev_make(ctx, &pb, SPK_F32, &d);
            spk_stdp_io io = dev_io(&p, &d, 1, 1.0f, 0.0f);
            SPK_ASSERT_OK(ctx, spk_stdp_update(ctx, &p, NULL, &io));
            result got;
            result_alloc(&pb, &got);
            dev_download(&p, &d, &got);
            for (size_t i = 0; i < pb.n_w; i++)
                cr_assert(got.dw[i] == 0.0f, "%s: dw[%zu] = %g with reward 0", spk_stdp_rule_name(p.rule), i,
                          (double)got.dw[i]);
            if (rule == SPK_STDP_MSTDPET) { /* the eligibility still moves */
                float m = spk_test_max_abs(got.elig, pb.B * pb.n_w);
                cr_assert(m > 0.0f, "eligibility stays zero");
            }
            result_free(&got);
            dev_free(&d);
            problem_free(&pb);
        }
    }
}

Test(stdp, clamp_bounds_weights, .timeout = TIMEOUT)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        float w[200], got[200];
        spk_test_rng r = {3};
        spk_test_fill_normal(&r, w, 200, 0.5f, 1.0f);
        spk_test_guarded g;
        spk_test_guarded_create(ctx, SPK_F32, 1, (size_t[1]){200}, &g);
        spk_test_guarded_upload(&g, w);
        SPK_ASSERT_OK(ctx, spk_tensor_clamp(g.t, 0.0f, 1.0f));
        spk_test_guarded_download(&g, got, "clamped");
        for (int i = 0; i < 200; i++)
            cr_assert(got[i] == fminf(fmaxf(w[i], 0.0f), 1.0f), "w[%d] = %g -> %g", i, (double)w[i], (double)got[i]);
        SPK_ASSERT_STATUS(ctx, spk_tensor_clamp(g.t, 1.0f, 0.0f), SPK_ERR_INVALID_ARGUMENT, "lo <= hi");
        spk_test_guarded_free(&g);
    }
}

/* spk_stdp_decays rejects p with a message containing needle. */
static void assert_rejected(spk_stdp_params p, const char *needle)
{
    char msg[256] = "";
    cr_assert(spk_stdp_decays(&p, NULL, msg, sizeof msg) == SPK_ERR_INVALID_ARGUMENT, "accepted (%s)", needle);
    cr_assert(strstr(msg, needle), "message '%s' does not mention '%s'", msg, needle);
}

Test(stdp, invalid_parameters_are_rejected_with_a_message, .timeout = TIMEOUT)
{
    spk_stdp_params base = spk_stdp_params_default(SPK_STDP_ADDITIVE), p;
    cr_assert(spk_stdp_decays(&base, NULL, NULL, 0) == SPK_OK);
    for (int r = 0; r < SPK_STDP_RULE_COUNT; r++) {
        p = spk_stdp_params_default((spk_stdp_rule)r);
        cr_assert(spk_stdp_decays(&p, NULL, NULL, 0) == SPK_OK, "defaults of %s", spk_stdp_rule_name(p.rule));
    }
    p = base, p.tau_plus = -5.0f, assert_rejected(p, "tau_plus");
    p = base, p.tau_minus = 0.0f, assert_rejected(p, "tau_minus");
    p = base, p.dt = -1.0f, assert_rejected(p, "dt");
    p = base, p.a_plus = -0.01f, assert_rejected(p, "a_plus");
    p = base, p.a_minus = NAN, assert_rejected(p, "a_minus");
    p = base, p.w_min = 2.0f, p.w_max = 1.0f, assert_rejected(p, "w_min <= w_max");
    p = base, p.w_max = NAN, assert_rejected(p, "w_min <= w_max");
    p = base, p.rule = (spk_stdp_rule)9, assert_rejected(p, "rule 9");
    p = spk_stdp_params_default(SPK_STDP_MULTIPLICATIVE), p.mu = -1.0f, assert_rejected(p, "mu");
    p = spk_stdp_params_default(SPK_STDP_MULTIPLICATIVE), p.w_max = INFINITY, assert_rejected(p, "finite w_min");
    p = spk_stdp_params_default(SPK_STDP_TRIPLET), p.tau_y = -3.0f, assert_rejected(p, "tau_y");
    p = spk_stdp_params_default(SPK_STDP_TRIPLET), p.a3_plus = -1.0f, assert_rejected(p, "a3_plus");
    p = spk_stdp_params_default(SPK_STDP_MSTDPET), p.tau_e = 0.0f, assert_rejected(p, "tau_e");
    /* unused time constants are not checked */
    p = base, p.tau_e = -1.0f, p.tau_x = 0.0f;
    cr_assert(spk_stdp_decays(&p, NULL, NULL, 0) == SPK_OK);
}

Test(stdp, invalid_arguments_return_their_status, .timeout = TIMEOUT)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        spk_stdp_params p = rule_params(SPK_STDP_ADDITIVE);
        problem pb;
        problem_make(&p, NULL, 5, 2, 4, 3, 9, &pb);
        dev d;
        dev_make(ctx, &pb, SPK_F32, &d);
        spk_stdp_io io = dev_io(&p, &d, 1, 1.0f, 0.0f);
        SPK_ASSERT_OK(ctx, spk_stdp_update(ctx, &p, NULL, &io));
        spk_stdp_params bad = p;
        bad.a_plus = -1.0f;
        SPK_ASSERT_STATUS(ctx, spk_stdp_update(ctx, &bad, NULL, &io), SPK_ERR_INVALID_ARGUMENT, "a_plus");
        spk_stdp_io x = io;
        x.reward = d.r;
        SPK_ASSERT_STATUS(ctx, spk_stdp_update(ctx, &p, NULL, &x), SPK_ERR_INVALID_ARGUMENT, "takes no reward");
        spk_stdp_params mp = rule_params(SPK_STDP_MSTDP);
        SPK_ASSERT_STATUS(ctx, spk_stdp_update(ctx, &mp, NULL, &io), SPK_ERR_INVALID_ARGUMENT, "needs io.reward");
        x = io, x.elig_out = d.elig_out.t;
        SPK_ASSERT_STATUS(ctx, spk_stdp_update(ctx, &p, NULL, &x), SPK_ERR_INVALID_ARGUMENT, "eligibility");
        x = io, x.post = d.pre;
        SPK_ASSERT_STATUS(ctx, spk_stdp_update(ctx, &p, NULL, &x), SPK_ERR_SHAPE, "io.dw");
        x = io, x.post_trace_out = d.post_tr;
        SPK_ASSERT_STATUS(ctx, spk_stdp_update(ctx, &p, NULL, &x), SPK_ERR_INVALID_ARGUMENT, "shares its buffer");
        x = io, x.pre_trace_in = d.post_tr;
        SPK_ASSERT_STATUS(ctx, spk_stdp_update(ctx, &p, NULL, &x), SPK_ERR_SHAPE, "io.pre_trace_in");
        x = io, x.dw = NULL;
        SPK_ASSERT_STATUS(ctx, spk_stdp_update(ctx, &p, NULL, &x), SPK_ERR_NULL_POINTER, "io.dw");
        spk_stdp_params mul = rule_params(SPK_STDP_MULTIPLICATIVE);
        x = io, x.weight = NULL;
        SPK_ASSERT_STATUS(ctx, spk_stdp_update(ctx, &mul, NULL, &x), SPK_ERR_NULL_POINTER, "io.weight");
        spk_stdp_conv conv = {1, 2, 2, 1, 3, 3, 1, 1, 0, 0};
        SPK_ASSERT_STATUS(ctx, spk_stdp_update(ctx, &p, &conv, &io), SPK_ERR_SHAPE, "does not fit");
        dev_free(&d);
        problem_free(&pb);
    }
}

/* ---- Rules attached to network layers -------------------------------- */

/* Download tensor t (numel floats) into a new host array. */
static float *fetch(spk_context *ctx, const spk_tensor *t)
{
    size_t n = spk_tensor_numel(t);
    float *h = spk_test_alloc(n);
    SPK_ASSERT_OK(ctx, spk_tensor_download(t, h, n * sizeof(float)));
    return h;
}

static float total(const float *a, size_t n)
{
    float s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i];
    return s;
}

/* Random 0/1 input [T, B, n] as a device tensor. */
static spk_tensor *spike_input(spk_context *ctx, size_t T, size_t B, size_t n, float rate, uint64_t seed)
{
    spk_test_rng r = {seed};
    float *h = spikes(&r, T * B * n, rate);
    spk_tensor *t = upload(ctx, SPK_F32, 3, (size_t[3]){T, B, n}, h);
    free(h);
    return t;
}

static spk_layer *lif_layer(spk_context *ctx, float threshold)
{
    spk_lif_params lp = spk_lif_params_default(SPK_NEURON_LIF);
    lp.threshold = threshold;
    spk_layer *l = NULL;
    SPK_ASSERT_OK(ctx, spk_neuron_layer_create(ctx, &lp, &l));
    return l;
}

static spk_layer *dense_layer(spk_context *ctx, size_t in, size_t out, float bound, uint64_t seed)
{
    spk_dense_params dp = spk_dense_params_default(in, out);
    dp.init_bound = bound, dp.seed = seed;
    spk_layer *l = NULL;
    SPK_ASSERT_OK(ctx, spk_dense_create(ctx, &dp, &l));
    return l;
}

/* dense IN -> OUT (weights ~ U(+-bound)) followed by LIF neurons, built for [T, B, IN]. */
static spk_network *dense_lif_net(spk_context *ctx, size_t T, size_t B, size_t in, size_t out, float bound,
                                  uint64_t seed, float threshold, int static_input)
{
    spk_network *net = NULL;
    SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
    SPK_ASSERT_OK(ctx, spk_network_add(net, dense_layer(ctx, in, out, bound, seed)));
    SPK_ASSERT_OK(ctx, spk_network_add(net, lif_layer(ctx, threshold)));
    SPK_ASSERT_OK(ctx, spk_network_set_static_input(net, static_input));
    SPK_ASSERT_OK(ctx, spk_network_build(net, T, B, 1, (size_t[1]){in}));
    return net;
}

/* The reference -dW of a dense weight from the network's recorded spikes
 * (traces in: tr_pre/tr_post or zero), and the traces after. */
static void reference_grad(const spk_stdp_params *p, const spk_stdp_conv *conv, size_t T, size_t B, size_t n_pre,
                           size_t n_post, const float *pre, const float *post, const float *w, const float *r,
                           float *tr_pre, float *tr_post, float *grad)
{
    problem pb = {.T = T, .B = B};
    size_t n_w;
    sizes(conv, n_pre, n_post, &pb.n_pre, &pb.n_post, &n_w);
    float *tp = spk_test_alloc(2 * B * pb.n_pre), *tq = spk_test_alloc(2 * B * pb.n_post);
    spk_ref_stdp_io io = {.pre = pre, .post = post, .weight = w, .reward = r, .pre_trace_in = tr_pre,
                          .post_trace_in = tr_post, .dw = grad, .alpha = -1.0f};
    cr_assert(spk_ref_stdp_update(p, conv, T, B, pb.n_pre, pb.n_post, &io) == SPK_OK);
    float d[SPK_STDP_NDECAY];
    spk_stdp_decays(p, d, NULL, 0);
    spk_ref_stdp_traces(T, B * pb.n_pre, pre, tr_pre, d[0], d[2], tp);
    spk_ref_stdp_traces(T, B * pb.n_post, post, tr_post, d[1], d[3], tq);
    memcpy(tr_pre, tp, 2 * B * pb.n_pre * sizeof(float));
    memcpy(tr_post, tq, 2 * B * pb.n_post * sizeof(float));
    free(tp), free(tq);
}

Test(stdp_network, dense_layer_gets_minus_dw_and_steps_within_bounds, .timeout = TIMEOUT)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        enum { T = 16, B = 3, IN = 20, OUT = 12 };
        spk_network *net = dense_lif_net(ctx, T, B, IN, OUT, 0.5f, 4, 0.4f, 0);
        spk_stdp_params p = spk_stdp_params_default(SPK_STDP_ADDITIVE);
        p.w_min = -0.3f, p.w_max = 0.3f, p.a_plus = 0.05f, p.a_minus = 0.04f;
        SPK_ASSERT_OK(ctx, spk_network_set_plasticity(net, 0, &p));
        spk_optimizer_params op = spk_optimizer_params_default(SPK_OPTIM_SGD);
        op.lr = 0.5f;
        spk_optimizer *opt = NULL;
        SPK_ASSERT_OK(ctx, spk_optimizer_create(ctx, &op, &opt));
        float *tr_pre = spk_test_alloc(2 * B * IN), *tr_post = spk_test_alloc(2 * B * OUT);
        float grad_want[IN * OUT], grad[IN * OUT], w0[IN * OUT], w1[IN * OUT], bias_grad[OUT];
        for (int round = 0; round < 3; round++) {
            if (round == 2) { /* reset: the traces start from zero again */
                SPK_ASSERT_OK(ctx, spk_network_plasticity_reset(net));
                memset(tr_pre, 0, 2 * B * IN * sizeof(float)), memset(tr_post, 0, 2 * B * OUT * sizeof(float));
            }
            spk_tensor *x = spike_input(ctx, T, B, IN, 0.3f, 50 + (uint64_t)round);
            SPK_ASSERT_OK(ctx, spk_network_forward(net, x, NULL));
            SPK_ASSERT_OK(ctx, spk_network_plasticity_step(net, NULL));
            float *pre = fetch(ctx, x), *post = fetch(ctx, spk_network_layer_output(net, 1));
            cr_assert(total(post, T * B * OUT) > 0, "no post-synaptic spikes: the test would be vacuous");
            spk_test_get_param(net, 0, w0, grad, "0.weight", IN * OUT);
            spk_test_get_param(net, 1, NULL, bias_grad, "0.bias", OUT);
            reference_grad(&p, NULL, T, B, IN, OUT, pre, post, w0, NULL, tr_pre, tr_post, grad_want);
            spk_test_compare_scaled("grad = -dW", grad, grad_want, IN * OUT, 1e-5f);
            cr_assert(spk_test_max_abs(bias_grad, OUT) == 0.0f, "the bias of a plastic layer gets no gradient");
            SPK_ASSERT_OK(ctx, spk_network_step(net, opt));
            spk_test_get_param(net, 0, w1, NULL, "0.weight", IN * OUT);
            for (size_t i = 0; i < IN * OUT; i++) {
                float want = fminf(fmaxf(w0[i] - 0.5f * grad[i], p.w_min), p.w_max);
                cr_assert(fabsf(w1[i] - want) <= 1e-6f, "w[%zu] = %g after the step, expected %g", i, (double)w1[i],
                          (double)want);
            }
            free(pre), free(post);
            spk_tensor_free(x);
        }
        /* frozen: no gradient written, no step, no clipping */
        SPK_ASSERT_OK(ctx, spk_network_freeze(net, 0, 1));
        float g_before[IN * OUT], w_before[IN * OUT];
        spk_test_get_param(net, 0, w_before, g_before, "0.weight", IN * OUT);
        spk_tensor *x = spike_input(ctx, T, B, IN, 0.3f, 99);
        SPK_ASSERT_OK(ctx, spk_network_forward(net, x, NULL));
        SPK_ASSERT_OK(ctx, spk_network_plasticity_step(net, NULL));
        SPK_ASSERT_OK(ctx, spk_network_step(net, opt));
        spk_test_get_param(net, 0, w1, grad, "0.weight", IN * OUT);
        cr_assert(memcmp(w1, w_before, sizeof w1) == 0 && memcmp(grad, g_before, sizeof grad) == 0,
                  "a frozen plastic weight changed");
        spk_tensor_free(x);
        free(tr_pre), free(tr_post);
        spk_optimizer_free(opt);
        spk_network_free(net);
    }
}

/* dense(STDP) -> LIF -> dense(BPTT) -> LI: the BPTT layers get the same
 * gradients and steps as in the same network without plasticity. */
Test(stdp_network, stdp_layer_mixes_with_bptt_layers, .timeout = TIMEOUT)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        enum { T = 12, B = 4, IN = 16, H = 10, C = 3 };
        spk_network *net[2] = {NULL, NULL};
        spk_tensor *x = spike_input(ctx, T, B, IN, 0.3f, 7), *gy = NULL;
        spk_lif_params li = spk_lif_params_default(SPK_NEURON_LI);
        spk_stdp_params p = spk_stdp_params_default(SPK_STDP_MULTIPLICATIVE);
        p.w_min = -1.0f;
        spk_optimizer_params op = spk_optimizer_params_default(SPK_OPTIM_SGD);
        op.lr = 0.1f;
        spk_optimizer *opt[2];
        uint8_t labels[4] = {0, 1, 2, 1};
        spk_loss_params lp = spk_loss_params_default(SPK_LOSS_CE_MEAN_MEMBRANE);
        for (int k = 0; k < 2; k++) {
            spk_layer *readout = NULL;
            SPK_ASSERT_OK(ctx, spk_neuron_layer_create(ctx, &li, &readout));
            SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net[k]));
            SPK_ASSERT_OK(ctx, spk_network_add(net[k], dense_layer(ctx, IN, H, 0.5f, 1)));
            SPK_ASSERT_OK(ctx, spk_network_add(net[k], lif_layer(ctx, 0.4f)));
            SPK_ASSERT_OK(ctx, spk_network_add(net[k], dense_layer(ctx, H, C, 0.5f, 2)));
            SPK_ASSERT_OK(ctx, spk_network_add(net[k], readout));
            SPK_ASSERT_OK(ctx, spk_network_build(net[k], T, B, 1, (size_t[1]){IN}));
            if (k == 0)
                SPK_ASSERT_OK(ctx, spk_network_set_plasticity(net[k], 0, &p));
            SPK_ASSERT_OK(ctx, spk_optimizer_create(ctx, &op, &opt[k]));
        }
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, C}, &gy));
        for (int k = 0; k < 2; k++) {
            const spk_tensor *y = NULL;
            SPK_ASSERT_OK(ctx, spk_network_forward(net[k], x, &y));
            SPK_ASSERT_OK(ctx, spk_loss(ctx, &lp, y, labels, gy, NULL, NULL));
            SPK_ASSERT_OK(ctx, spk_network_backward(net[k], gy));
            if (k == 0)
                SPK_ASSERT_OK(ctx, spk_network_plasticity_step(net[k], NULL));
        }
        float g[2][IN * H], w[IN * H], want[IN * H], tr_pre[2 * B * IN] = {0}, tr_post[2 * B * H] = {0};
        float *pre = fetch(ctx, x), *post = fetch(ctx, spk_network_layer_output(net[0], 1));
        spk_test_get_param(net[0], 0, w, g[0], "0.weight", IN * H);
        spk_test_get_param(net[1], 0, NULL, g[1], "0.weight", IN * H);
        reference_grad(&p, NULL, T, B, IN, H, pre, post, w, NULL, tr_pre, tr_post, want);
        spk_test_compare_scaled("STDP layer's pseudo-gradient", g[0], want, IN * H, 1e-5f);
        cr_assert(memcmp(g[0], g[1], sizeof g[0]) != 0, "the STDP layer kept its BPTT gradient");
        float a[H * C], b[H * C];
        spk_test_get_param(net[0], 2, NULL, a, "2.weight", H * C);
        spk_test_get_param(net[1], 2, NULL, b, "2.weight", H * C);
        cr_assert(memcmp(a, b, sizeof a) == 0, "the BPTT layer's gradient differs with an STDP layer before it");
        cr_assert(spk_test_max_abs(a, H * C) > 0, "no BPTT gradient");
        for (int k = 0; k < 2; k++)
            SPK_ASSERT_OK(ctx, spk_network_step(net[k], opt[k]));
        spk_test_get_param(net[0], 2, a, NULL, "2.weight", H * C);
        spk_test_get_param(net[1], 2, b, NULL, "2.weight", H * C);
        cr_assert(memcmp(a, b, sizeof a) == 0, "the BPTT layer stepped differently");
        free(pre), free(post);
        spk_tensor_free(x), spk_tensor_free(gy);
        for (int k = 0; k < 2; k++)
            spk_optimizer_free(opt[k]), spk_network_free(net[k]);
    }
}

Test(stdp_network, recurrent_and_conv2d_layers, .timeout = TIMEOUT)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        /* recurrent with MSTDPET: input weights (pre = input) and recurrent weights (pre = own spikes) */
        enum { T = 14, B = 2, IN = 9, N = 7 };
        spk_recurrent_params rp = spk_recurrent_params_default(IN, N);
        rp.init_bound = 0.6f, rp.lif.threshold = 0.4f, rp.seed = 3;
        spk_layer *rl = NULL;
        spk_network *net = NULL;
        SPK_ASSERT_OK(ctx, spk_recurrent_create(ctx, &rp, &rl));
        SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
        SPK_ASSERT_OK(ctx, spk_network_add(net, rl));
        SPK_ASSERT_OK(ctx, spk_network_build(net, T, B, 1, (size_t[1]){IN}));
        spk_stdp_params p = rule_params(SPK_STDP_MSTDPET);
        SPK_ASSERT_OK(ctx, spk_network_set_plasticity(net, 0, &p));
        spk_tensor *x = spike_input(ctx, T, B, IN, 0.4f, 21);
        SPK_ASSERT_OK(ctx, spk_network_forward(net, x, NULL));
        SPK_ASSERT_STATUS(ctx, spk_network_plasticity_step(net, NULL), SPK_ERR_INVALID_ARGUMENT, "needs a reward");
        float rh[T * B];
        spk_test_rng rr = {8};
        spk_test_fill_normal(&rr, rh, T * B, 0, 1);
        spk_tensor *r = upload(ctx, SPK_F32, 2, (size_t[2]){T, B}, rh);
        SPK_ASSERT_OK(ctx, spk_network_plasticity_step(net, r));
        float *pre = fetch(ctx, x), *out = fetch(ctx, spk_network_layer_output(net, 0));
        cr_assert(total(out, T * B * N) > 0, "no spikes");
        float g_in[N * IN], g_rec[N * N], want_in[N * IN], want_rec[N * N], w_in[N * IN], w_rec[N * N];
        float tp[2 * B * IN] = {0}, tq[2 * B * N] = {0}, tp2[2 * B * N] = {0}, tq2[2 * B * N] = {0};
        spk_test_get_param(net, 0, w_in, g_in, "0.weight", N * IN);
        spk_test_get_param(net, 2, w_rec, g_rec, "0.recurrent_weight", N * N);
        reference_grad(&p, NULL, T, B, IN, N, pre, out, w_in, rh, tp, tq, want_in);
        reference_grad(&p, NULL, T, B, N, N, out, out, w_rec, rh, tp2, tq2, want_rec);
        spk_test_compare_scaled("recurrent input weights", g_in, want_in, N * IN, 1e-5f);
        spk_test_compare_scaled("recurrent weights", g_rec, want_rec, N * N, 1e-5f);
        free(pre), free(out);
        spk_tensor_free(x), spk_tensor_free(r);
        spk_network_free(net);

        /* conv2d (padding 1) followed by LIF: shared weights sum over positions */
        spk_conv2d_params cp = spk_conv2d_params_default(2, 3, 3);
        cp.pad_h = cp.pad_w = 1, cp.init_bound = 0.5f, cp.seed = 5;
        spk_layer *cl = NULL;
        SPK_ASSERT_OK(ctx, spk_conv2d_create(ctx, &cp, &cl));
        SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
        SPK_ASSERT_OK(ctx, spk_network_add(net, cl));
        SPK_ASSERT_OK(ctx, spk_network_add(net, lif_layer(ctx, 0.3f)));
        SPK_ASSERT_OK(ctx, spk_network_build(net, 10, 2, 3, (size_t[3]){2, 5, 6}));
        spk_stdp_params tp3 = rule_params(SPK_STDP_TRIPLET);
        SPK_ASSERT_OK(ctx, spk_network_set_plasticity(net, 0, &tp3));
        spk_tensor *xi = spike_input(ctx, 10, 2, 60, 0.3f, 31), *xc = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_view(xi, 0, 5, (size_t[5]){10, 2, 2, 5, 6}, &xc));
        SPK_ASSERT_OK(ctx, spk_network_forward(net, xc, NULL));
        SPK_ASSERT_OK(ctx, spk_network_plasticity_step(net, NULL));
        pre = fetch(ctx, xi), out = fetch(ctx, spk_network_layer_output(net, 1));
        cr_assert(total(out, 10 * 2 * 90) > 0, "no spikes");
        spk_stdp_conv g = {2, 5, 6, 3, 3, 3, 1, 1, 1, 1};
        float gw[54], want[54], cw[54], cpre[2 * 2 * 60] = {0}, cpost[2 * 2 * 90] = {0};
        spk_test_get_param(net, 0, cw, gw, "0.weight", 54);
        reference_grad(&tp3, &g, 10, 2, 0, 0, pre, out, cw, NULL, cpre, cpost, want);
        spk_test_compare_scaled("conv2d weights", gw, want, 54, 1e-5f);
        free(pre), free(out);
        spk_tensor_free(xc), spk_tensor_free(xi);
        spk_network_free(net);
    }
}

Test(stdp_network, zero_reward_leaves_weights_unchanged, .timeout = TIMEOUT)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        enum { T = 10, B = 2, IN = 8, OUT = 5 };
        spk_network *net = dense_lif_net(ctx, T, B, IN, OUT, 0.6f, 9, 0.3f, 0);
        spk_stdp_params p = spk_stdp_params_default(SPK_STDP_MSTDPET);
        p.w_min = -1.0f;
        SPK_ASSERT_OK(ctx, spk_network_set_plasticity(net, 0, &p));
        spk_optimizer_params op = spk_optimizer_params_default(SPK_OPTIM_SGD);
        op.lr = 1.0f;
        spk_optimizer *opt = NULL;
        SPK_ASSERT_OK(ctx, spk_optimizer_create(ctx, &op, &opt));
        spk_tensor *x = spike_input(ctx, T, B, IN, 0.4f, 4), *r = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){T, B}, &r));
        SPK_ASSERT_OK(ctx, spk_tensor_fill_f32(r, 0.0f));
        float w0[IN * OUT], w1[IN * OUT];
        spk_test_get_param(net, 0, w0, NULL, "0.weight", IN * OUT);
        for (int k = 0; k < 3; k++) {
            SPK_ASSERT_OK(ctx, spk_network_forward(net, x, NULL));
            SPK_ASSERT_OK(ctx, spk_network_plasticity_step(net, r));
            SPK_ASSERT_OK(ctx, spk_network_step(net, opt));
        }
        spk_test_get_param(net, 0, w1, NULL, "0.weight", IN * OUT);
        cr_assert(memcmp(w0, w1, sizeof w0) == 0, "reward 0 changed the weights");
        spk_tensor_free(x), spk_tensor_free(r);
        spk_optimizer_free(opt);
        spk_network_free(net);
    }
}

Test(stdp_network, invalid_attachments_are_rejected, .timeout = TIMEOUT)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        spk_lif_params li = spk_lif_params_default(SPK_NEURON_LI);
        spk_layer *readout = NULL;
        spk_network *net = NULL;
        SPK_ASSERT_OK(ctx, spk_neuron_layer_create(ctx, &li, &readout));
        SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
        SPK_ASSERT_OK(ctx, spk_network_add(net, dense_layer(ctx, 6, 4, 0.5f, 1)));
        SPK_ASSERT_OK(ctx, spk_network_add(net, readout));
        SPK_ASSERT_OK(ctx, spk_network_add(net, dense_layer(ctx, 4, 3, 0.5f, 1)));
        SPK_ASSERT_OK(ctx, spk_network_build(net, 5, 2, 1, (size_t[1]){6}));
        spk_stdp_params p = spk_stdp_params_default(SPK_STDP_ADDITIVE);
        SPK_ASSERT_STATUS(ctx, spk_network_set_plasticity(net, 1, &p), SPK_ERR_INVALID_ARGUMENT, "needs synapses");
        SPK_ASSERT_STATUS(ctx, spk_network_set_plasticity(net, 2, &p), SPK_ERR_INVALID_ARGUMENT, "last layer");
        SPK_ASSERT_STATUS(ctx, spk_network_set_plasticity(net, 3, &p), SPK_ERR_INVALID_ARGUMENT, "layer 3");
        spk_stdp_params bad = p;
        bad.tau_minus = -20.0f;
        SPK_ASSERT_STATUS(ctx, spk_network_set_plasticity(net, 0, &bad), SPK_ERR_INVALID_ARGUMENT, "tau_minus");
        bad = p, bad.w_min = 1.0f, bad.w_max = 0.0f;
        SPK_ASSERT_STATUS(ctx, spk_network_set_plasticity(net, 0, &bad), SPK_ERR_INVALID_ARGUMENT, "w_min <= w_max");
        SPK_ASSERT_OK(ctx, spk_network_set_plasticity(net, 0, &p));
        SPK_ASSERT_STATUS(ctx, spk_network_plasticity_step(net, NULL), SPK_ERR_INVALID_ARGUMENT,
                          "no forward");
        spk_tensor *x = spike_input(ctx, 5, 2, 6, 0.5f, 1);
        SPK_ASSERT_OK(ctx, spk_network_forward(net, x, NULL));
        SPK_ASSERT_STATUS(ctx, spk_network_plasticity_step(net, NULL), SPK_ERR_INVALID_ARGUMENT, "does not spike");
        SPK_ASSERT_OK(ctx, spk_network_set_plasticity(net, 0, NULL));
        SPK_ASSERT_OK(ctx, spk_network_plasticity_step(net, NULL));
        spk_tensor_free(x);
        spk_network_free(net);

        /* a static input is not a spike train */
        net = dense_lif_net(ctx, 5, 2, 6, 4, 0.5f, 1, 0.5f, 1);
        SPK_ASSERT_OK(ctx, spk_network_set_plasticity(net, 0, &p));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){2, 6}, &x));
        SPK_ASSERT_OK(ctx, spk_tensor_fill_f32(x, 1.0f));
        SPK_ASSERT_OK(ctx, spk_network_forward(net, x, NULL));
        SPK_ASSERT_STATUS(ctx, spk_network_plasticity_step(net, NULL), SPK_ERR_INVALID_ARGUMENT, "static input");
        spk_tensor_free(x);
        spk_network_free(net);
    }
}
