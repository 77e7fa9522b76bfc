/* ALIF, Izhikevich and AdEx kernels on every device against the C
 * reference, the reference's backward against finite differences, sequence
 * chaining, divergence reporting, invalid arguments, and the network layer.
 * The literature's firing patterns are in test_patterns.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ref/ref.h"

/* One row of the variant table: the params and a regime of input and
 * initial state that gives both spikes and silence. */
typedef struct model_case {
    const char *name;
    spk_model_params p;
    spk_dtype spike_dtype;
    float x_mean, x_std;             /* input x ~ N(mean, std) */
    float v_lo, v_hi, w_lo, w_hi;    /* initial membrane and adaptation ~ U */
} model_case;

static spk_model_params alif(spk_integration integ, spk_reset reset, int refr, spk_surrogate s)
{
    spk_model_params p = spk_model_params_default(SPK_MODEL_ALIF);
    p.alif.integration = integ;
    p.alif.tau_mem = 8.0f;
    p.alif.tau_adapt = 15.0f;
    p.alif.threshold = 0.8f;
    p.alif.beta_a = 0.5f;
    p.alif.reset = reset;
    p.alif.refractory_steps = refr;
    p.surrogate = s;
    p.surrogate_scale = spk_surrogate_default_scale(s);
    return p;
}

static spk_model_params izh(spk_izhikevich_class c, float dt, int substeps, spk_surrogate s, float scale)
{
    spk_model_params p = spk_model_params_default(SPK_MODEL_IZHIKEVICH);
    cr_assert(spk_izhikevich_preset(c, &p.izhikevich) == SPK_OK);
    p.dt = dt, p.substeps = substeps, p.surrogate = s, p.surrogate_scale = scale;
    return p;
}

static spk_model_params adex(spk_adex_pattern pat, float dt, int substeps, spk_surrogate s, float scale)
{
    spk_model_params p = spk_model_params_default(SPK_MODEL_ADEX);
    cr_assert(spk_adex_preset(pat, &p.adex, NULL) == SPK_OK);
    p.dt = dt, p.substeps = substeps, p.surrogate = s, p.surrogate_scale = scale;
    return p;
}

#define NCASES 7
static model_case CASES[NCASES];

static void cases_init(void)
{
    const model_case c[NCASES] = {
        {"alif exact subtract", alif(SPK_INTEGRATE_EXACT, SPK_RESET_SUBTRACT, 0, SPK_SURROGATE_FAST_SIGMOID), SPK_F32,
         0.15f, 0.4f, -0.5f, 1.0f, 0.0f, 1.5f},
        {"alif euler zero refractory u8", alif(SPK_INTEGRATE_EULER, SPK_RESET_ZERO, 2, SPK_SURROGATE_ARCTAN), SPK_U8,
         1.2f, 1.0f, -0.5f, 1.0f, 0.0f, 1.5f},
        {"alif exact subtract refractory", alif(SPK_INTEGRATE_EXACT, SPK_RESET_SUBTRACT, 3, SPK_SURROGATE_SIGMOID),
         SPK_F32, 0.15f, 0.4f, -0.5f, 1.0f, 0.0f, 1.5f},
        {"izhikevich RS dt 1", izh(SPK_IZH_RS, 1.0f, 1, SPK_SURROGATE_FAST_SIGMOID, 0.2f), SPK_F32, 8.0f, 8.0f, -75.0f,
         -50.0f, -16.0f, -8.0f},
        {"izhikevich CH 4 sub-steps u8", izh(SPK_IZH_CH, 1.0f, 4, SPK_SURROGATE_TRIANGLE, 40.0f), SPK_U8, 8.0f, 8.0f,
         -75.0f, -50.0f, -16.0f, -8.0f},
        {"adex tonic dt 0.5", adex(SPK_ADEX_TONIC, 0.5f, 1, SPK_SURROGATE_FAST_SIGMOID, 0.2f), SPK_F32, 800.0f,
         400.0f, -65.0f, -45.0f, 0.0f, 100.0f},
        {"adex irregular dt 0.5 2 sub-steps", adex(SPK_ADEX_IRREGULAR, 0.5f, 2, SPK_SURROGATE_GAUSSIAN, 20.0f),
         SPK_F32, 300.0f, 300.0f, -60.0f, -45.0f, -20.0f, 40.0f},
    };
    memcpy(CASES, c, sizeof c);
}

/* Host data of one forward + backward problem. */
typedef struct problem {
    size_t T, B, N, seq, st;
    float *x, *state_in, *gS, *gV, *g_state_out;
} problem;

static void problem_make(const model_case *c, size_t T, size_t B, size_t N, uint64_t seed, problem *pb)
{
    spk_test_rng r = {seed};
    const size_t BN = B * N;
    pb->T = T, pb->B = B, pb->N = N, pb->seq = T * BN, pb->st = (size_t)SPK_MODEL_NSTATE * BN;
    pb->x = spk_test_alloc(pb->seq);
    spk_test_fill_normal(&r, pb->x, pb->seq, c->x_mean, c->x_std);
    pb->state_in = spk_test_alloc(pb->st);
    int refr = c->p.kind == SPK_MODEL_ALIF ? c->p.alif.refractory_steps : 0;
    for (size_t i = 0; i < BN; i++) {
        pb->state_in[0 * BN + i] = spk_test_uniform(&r, c->v_lo, c->v_hi);
        pb->state_in[1 * BN + i] = spk_test_uniform(&r, c->w_lo, c->w_hi);
        pb->state_in[2 * BN + i] = spk_test_uniform(&r, 0, 1) < 0.3f ? 1.0f : 0.0f;
        pb->state_in[3 * BN + i] = refr ? floorf(spk_test_uniform(&r, 0, (float)refr + 1)) : 0.0f;
    }
    spk_test_neuron_upstream(&r, pb->seq, pb->st, &pb->gS, &pb->gV, &pb->g_state_out);
}

static void problem_free(problem *pb)
{
    free(pb->x), free(pb->state_in), free(pb->gS), free(pb->gV), free(pb->g_state_out);
}

typedef struct results {
    float *spikes, *mem, *adapt, *state_out, *gx, *g_state_in;
} results;

static void results_alloc(const problem *pb, results *r)
{
    r->spikes = spk_test_alloc(pb->seq), r->mem = spk_test_alloc(pb->seq), r->adapt = spk_test_alloc(pb->seq);
    r->state_out = spk_test_alloc(pb->st), r->gx = spk_test_alloc(pb->seq), r->g_state_in = spk_test_alloc(pb->st);
}

static void results_free(results *r)
{
    free(r->spikes), free(r->mem), free(r->adapt), free(r->state_out), free(r->gx), free(r->g_state_in);
}

static void run_reference(const model_case *c, const problem *pb, results *r)
{
    spk_ref_model_io io = {pb->x, pb->state_in, r->state_out, r->spikes, r->mem, r->adapt};
    cr_assert(spk_ref_model_forward(&c->p, (spk_ref_model_mode){0}, pb->T, pb->B, pb->N, &io) == SPK_OK);
    spk_ref_model_grads g = {pb->gS, pb->gV, pb->g_state_out, r->gx, r->g_state_in};
    cr_assert(spk_ref_model_backward(&c->p, (spk_ref_model_mode){0}, pb->T, pb->B, pb->N, &io, &g) == SPK_OK);
}

/* Every tensor in guarded buffers, so out-of-bounds writes are caught. */
static void run_device(spk_context *ctx, const model_case *c, const problem *pb, results *r)
{
    size_t seq[3] = {pb->T, pb->B, pb->N}, st[3] = {SPK_MODEL_NSTATE, pb->B, pb->N};
    spk_test_guarded x, sin, sout, spk, mem, ad, gS, gV, gso, gx, gsi;
    spk_test_guarded_create(ctx, SPK_F32, 3, seq, &x);
    spk_test_guarded_upload(&x, pb->x);
    spk_test_guarded_create(ctx, SPK_F32, 3, st, &sin);
    spk_test_guarded_upload(&sin, pb->state_in);
    spk_test_guarded_create(ctx, SPK_F32, 3, st, &sout);
    spk_test_guarded_create(ctx, c->spike_dtype, 3, seq, &spk);
    spk_test_guarded_create(ctx, SPK_F32, 3, seq, &mem);
    spk_test_guarded_create(ctx, SPK_F32, 3, seq, &ad);
    spk_model_io io = {x.t, sin.t, sout.t, spk.t, mem.t, ad.t};
    SPK_ASSERT_OK(ctx, spk_model_forward(ctx, &c->p, &io));
    const float *host[3] = {pb->gS, pb->gV, pb->g_state_out};
    spk_test_guarded *dev[3] = {&gS, &gV, &gso};
    for (int i = 0; i < 3; i++) {
        spk_test_guarded_create(ctx, SPK_F32, 3, i == 2 ? st : seq, dev[i]);
        spk_test_guarded_upload(dev[i], host[i]);
    }
    spk_test_guarded_create(ctx, SPK_F32, 3, seq, &gx);
    spk_test_guarded_create(ctx, SPK_F32, 3, st, &gsi);
    spk_model_grads g = {gS.t, gV.t, gso.t, gx.t, gsi.t};
    SPK_ASSERT_OK(ctx, spk_model_backward(ctx, &c->p, &io, &g));
    spk_test_guarded_download_f32(&spk, r->spikes, "spikes");
    spk_test_guarded_download(&mem, r->mem, "membrane");
    spk_test_guarded_download(&ad, r->adapt, "adaptation");
    spk_test_guarded_download(&sout, r->state_out, "state_out");
    spk_test_guarded_download(&gx, r->gx, "grad_input");
    spk_test_guarded_download(&gsi, r->g_state_in, "grad_state_in");
    spk_test_guarded *all[] = {&x, &sin, &sout, &spk, &mem, &ad, &gS, &gV, &gso, &gx, &gsi};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        spk_test_guarded_free(all[i]);
}

/* Neurons whose spike train differs from the reference's at some step:
 * their values are excluded (set equal) from then on, in every sequence
 * array and in the final state and the initial-state gradient. AdEx's exp()
 * and division may differ by an ulp or two between devices and libm, which
 * can move a crossing by a step; ALIF and Izhikevich use only +, -, * and
 * must match exactly. @return the number of such neurons. */
static size_t mask_diverged(const model_case *c, const problem *pb, const results *dev, results *ref)
{
    const size_t BN = pb->B * pb->N;
    size_t n_div = 0;
    for (size_t i = 0; i < BN; i++) {
        size_t first = pb->T;
        for (size_t t = 0; t < pb->T && first == pb->T; t++)
            if (dev->spikes[t * BN + i] != ref->spikes[t * BN + i])
                first = t;
        if (first == pb->T)
            continue;
        n_div++;
        cr_assert(c->p.kind == SPK_MODEL_ADEX, "%s: neuron %zu spikes differently from the reference at step %zu",
                  c->name, i, first);
        float *seqs[2][5] = {{dev->spikes, dev->mem, dev->adapt, dev->gx, NULL},
                             {ref->spikes, ref->mem, ref->adapt, ref->gx, NULL}};
        for (int k = 0; k < 4; k++)
            for (size_t t = 0; t < pb->T; t++) /* the backward reaches every step of a diverged neuron */
                seqs[1][k][t * BN + i] = seqs[0][k][t * BN + i];
        for (int r = 0; r < SPK_MODEL_NSTATE; r++) {
            ref->state_out[r * BN + i] = dev->state_out[r * BN + i];
            ref->g_state_in[r * BN + i] = dev->g_state_in[r * BN + i];
        }
    }
    return n_div;
}

static void check_case(spk_context *ctx, const model_case *c, size_t T, size_t B, size_t N, uint64_t seed)
{
    problem pb;
    results dev, ref;
    problem_make(c, T, B, N, seed, &pb);
    results_alloc(&pb, &dev), results_alloc(&pb, &ref);
    run_reference(c, &pb, &ref);
    run_device(ctx, c, &pb, &dev);
    if (pb.seq >= 1000) { /* the data must exercise both spikes and silence */
        size_t total = 0;
        for (size_t i = 0; i < pb.seq; i++)
            total += ref.spikes[i] > 0.0f;
        cr_assert(total > pb.seq / 50 && total < pb.seq * 9 / 10, "%s: test data gives %zu spikes in %zu steps",
                  c->name, total, pb.seq);
    }
    size_t n_div = mask_diverged(c, &pb, &dev, &ref);
    cr_assert(n_div * 20 <= pb.B * pb.N, "%s: %zu of %zu neurons diverge from the reference", c->name, n_div,
              pb.B * pb.N);
    char what[256];
    const float *got[] = {dev.spikes, dev.mem, dev.adapt, dev.state_out, dev.gx, dev.g_state_in};
    const float *want[] = {ref.spikes, ref.mem, ref.adapt, ref.state_out, ref.gx, ref.g_state_in};
    const char *names[] = {"spikes", "membrane", "adaptation", "state_out", "grad_input", "grad_state_in"};
    const size_t n[] = {pb.seq, pb.seq, pb.seq, pb.st, pb.seq, pb.st};
    /* AdEx's exp() may differ by ulps; the others round exactly as the reference. */
    const float rel = c->p.kind == SPK_MODEL_ADEX ? 1e-4f : 1e-6f;
    for (int k = 0; k < 6; k++) {
        snprintf(what, sizeof what, "%s: %s", c->name, names[k]);
        spk_test_compare_scaled(what, got[k], want[k], n[k], k < 4 ? rel : 10.0f * rel);
    }
    results_free(&dev), results_free(&ref);
    problem_free(&pb);
}

Test(models, every_variant_matches_reference_on_every_device, .timeout = 600)
{
    cases_init();
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        for (size_t i = 0; i < NCASES; i++) {
            check_case(ctx, &CASES[i], 60, 3, 50, 100 + i); /* B*N = 150: not a multiple of the work-group size */
            check_case(ctx, &CASES[i], 1, 1, 1, 200 + i);   /* a single neuron, a single step */
        }
    }
}

/* Shapes for the vectorised, tiled CPU layout (kernels/neuron.clh): N = 12
 * runs 4-wide vectors, 9 of them; N = 200 runs 8-wide vectors, 225 of
 * them, which split into tiles of several vectors with one left over for
 * the last work item at 2, 4 or 8 compute units. */
Test(models, tiled_vector_shapes_match_reference, .timeout = 600)
{
    cases_init();
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        for (size_t i = 0; i < NCASES; i++) {
            check_case(ctx, &CASES[i], 25, 3, 12, 300 + i);
            check_case(ctx, &CASES[i], 40, 9, 200, 400 + i);
        }
    }
}

/* ALIF without adaptation is the single-state LIF of neuron.h (exact,
 * subtract, next-step, detached): forward and backward equal spk_lif's. */
Test(models, alif_without_adaptation_is_lif, .timeout = 600)
{
    const size_t T = 50, B = 2, N = 40, seq = T * B * N;
    spk_test_rng r = {9};
    float *x = spk_test_alloc(seq), *gs = spk_test_alloc(seq), *out[4];
    spk_test_fill_normal(&r, x, seq, 0.15f, 0.4f);
    spk_test_fill_normal(&r, gs, seq, 0.0f, 1.0f);
    for (int k = 0; k < 4; k++)
        out[k] = spk_test_alloc(seq);
    spk_model_params a = alif(SPK_INTEGRATE_EXACT, SPK_RESET_SUBTRACT, 2, SPK_SURROGATE_FAST_SIGMOID);
    a.alif.beta_a = 0.0f;
    spk_lif_params l = spk_lif_params_default(SPK_NEURON_LIF);
    l.tau_mem = a.alif.tau_mem, l.threshold = a.alif.threshold, l.refractory_steps = 2;
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        spk_tensor *tx, *tg, *s, *v, *w, *gx;
        size_t shape[3] = {T, B, N};
        spk_tensor **all[] = {&tx, &tg, &s, &v, &w, &gx};
        for (size_t k = 0; k < 6; k++)
            SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, shape, all[k]));
        SPK_ASSERT_OK(ctx, spk_tensor_upload(tx, x, seq * 4));
        SPK_ASSERT_OK(ctx, spk_tensor_upload(tg, gs, seq * 4));
        spk_model_io mio = {.input = tx, .spikes = s, .membrane = v, .adaptation = w};
        SPK_ASSERT_OK(ctx, spk_model_forward(ctx, &a, &mio));
        SPK_ASSERT_OK(ctx, spk_model_backward(ctx, &a, &mio, &(spk_model_grads){.grad_spikes = tg, .grad_input = gx}));
        SPK_ASSERT_OK(ctx, spk_tensor_download(v, out[0], seq * 4));
        SPK_ASSERT_OK(ctx, spk_tensor_download(gx, out[1], seq * 4));
        spk_lif_io lio = {.input = tx, .spikes = s, .membrane = v};
        SPK_ASSERT_OK(ctx, spk_lif_forward(ctx, &l, &lio));
        SPK_ASSERT_OK(ctx, spk_lif_backward(ctx, &l, &lio, &(spk_lif_grads){.grad_spikes = tg, .grad_input = gx}));
        SPK_ASSERT_OK(ctx, spk_tensor_download(v, out[2], seq * 4));
        SPK_ASSERT_OK(ctx, spk_tensor_download(gx, out[3], seq * 4));
        spk_test_compare("alif(beta_a 0) membrane vs lif", out[0], out[2], seq, 0.0f, 0.0f);
        spk_test_compare("alif(beta_a 0) grad_input vs lif", out[1], out[3], seq, 0.0f, 0.0f);
        for (size_t k = 0; k < 6; k++)
            spk_tensor_free(*all[k]);
    }
    for (int k = 0; k < 4; k++)
        free(out[k]);
    free(x), free(gs);
}

/* ---- The reference backward against finite differences ---------------- */

/* L = sum gS*S + sum gV*V + sum gso*state_out (rows V, W and, for ALIF, S), in
 * double; `hard` receives the hard spikes (to detect flips). */
static double fd_loss(const spk_model_params *p, spk_ref_model_mode mode, const problem *pb, float *hard)
{
    float *s = spk_test_alloc(pb->seq), *v = spk_test_alloc(pb->seq), *so = spk_test_alloc(pb->st);
    spk_ref_model_io io = {pb->x, pb->state_in, so, s, v, NULL};
    cr_assert(spk_ref_model_forward(p, mode, pb->T, pb->B, pb->N, &io) == SPK_OK);
    double L = 0.0;
    for (size_t i = 0; i < pb->seq; i++)
        L += (double)pb->gS[i] * s[i] + (double)pb->gV[i] * v[i];
    for (size_t i = 0; i < pb->st; i++)
        L += (double)pb->g_state_out[i] * so[i];
    spk_ref_model_io hio = {pb->x, pb->state_in, NULL, hard, NULL, NULL};
    cr_assert(spk_ref_model_forward(p, (spk_ref_model_mode){0}, pb->T, pb->B, pb->N, &hio) == SPK_OK);
    free(s), free(v), free(so);
    return L;
}

static int fd_close(double a, double b)
{
    return fabs(a - b) <= 5e-3 + 2e-2 * fabs(b);
}

/* Central difference of entry v[i] with step eps; NAN when a hard spike flips. */
static double central_difference(const spk_model_params *p, spk_ref_model_mode mode, problem *pb, float *v,
                                 size_t i, float eps, const float *h0, float *h)
{
    const float keep = v[i];
    v[i] = keep + eps;
    double lp = fd_loss(p, mode, pb, h);
    int flip = memcmp(h0, h, pb->seq * sizeof(float)) != 0;
    v[i] = keep - eps;
    double lm = fd_loss(p, mode, pb, h);
    flip |= memcmp(h0, h, pb->seq * sizeof(float)) != 0;
    v[i] = keep;
    return flip ? NAN : (lp - lm) / ((double)(keep + eps) - (double)(keep - eps));
}

/* Central differences over entries of `v` (n of them), compared with `grad`.
 * Entries whose perturbation flips a hard spike are skipped, and so are
 * those where two step sizes disagree: Izhikevich's v^2 and AdEx's exp
 * amplify both the float forward's rounding (small steps) and the curvature
 * (large steps). At least half the entries must be checked. */
static void fd_check(const char *name, const spk_model_params *p, spk_ref_model_mode mode, problem *pb, float *v,
                     size_t n, const float *grad, float rel_step)
{
    float *h0 = spk_test_alloc(pb->seq), *h = spk_test_alloc(pb->seq);
    fd_loss(p, mode, pb, h0);
    size_t checked = 0;
    for (size_t i = 0; i < n; i++) {
        const float eps = rel_step * fmaxf(1.0f, fabsf(v[i]));
        double fd = central_difference(p, mode, pb, v, i, eps, h0, h);
        double fd4 = central_difference(p, mode, pb, v, i, eps / 4.0f, h0, h);
        if (isnan(fd) || isnan(fd4) || !fd_close(fd, fd4))
            continue;
        cr_assert(fd_close(grad[i], fd4), "%s[%zu]: backward %.6g, finite differences %.6g (step %g), %.6g (%g)",
                  name, i, (double)grad[i], fd4, (double)eps / 4, fd, (double)eps);
        checked++;
    }
    cr_assert(checked * 2 >= n, "%s: only %zu of %zu entries could be checked", name, checked, n);
    cr_log_info("%s: %zu of %zu entries checked", name, checked, n);
    free(h0), free(h);
}

static void fd_case(const model_case *c0, spk_ref_model_mode mode)
{
    model_case c = *c0;
    if (mode.smooth_spikes) { /* the exact derivative of the smooth output */
        c.p.surrogate = SPK_SURROGATE_SIGMOID;
        c.p.surrogate_scale = c.p.kind == SPK_MODEL_ALIF ? 3.0f : 0.3f;
    }
    /* Short sequences: the Izhikevich and AdEx spikes amplify perturbations. */
    problem pb;
    problem_make(&c, c.p.kind == SPK_MODEL_ADEX ? 30 : 12, 2, 3, 77, &pb);
    if (!mode.smooth_spikes) /* hard spikes: only the membrane path is differentiable */
        memset(pb.gS, 0, pb.seq * sizeof(float));
    const size_t BN = pb.B * pb.N;
    for (size_t i = 0; i < BN; i++)
        pb.state_in[3 * BN + i] = 0.0f;
    if (!mode.smooth_spikes) /* nor has the final spike, nor ALIF's adaptation (a function of spikes only) */
        memset(pb.g_state_out + (c.p.kind == SPK_MODEL_ALIF ? 1 : 2) * BN, 0,
               (c.p.kind == SPK_MODEL_ALIF ? 2 : 1) * BN * sizeof(float));
    float *gx = spk_test_alloc(pb.seq), *gsi = spk_test_alloc(pb.st);
    spk_ref_model_io io = {pb.x, pb.state_in, NULL, NULL, NULL, NULL};
    spk_ref_model_grads g = {pb.gS, pb.gV, pb.g_state_out, gx, gsi};
    cr_assert(spk_ref_model_backward(&c.p, mode, pb.T, pb.B, pb.N, &io, &g) == SPK_OK);
    char what[256];
    snprintf(what, sizeof what, "%s (%s spikes): d/dx", c.name, mode.smooth_spikes ? "smooth" : "hard");
    const int alif_kind = c.p.kind == SPK_MODEL_ALIF;
    fd_check(what, &c.p, mode, &pb, pb.x, pb.seq, gx, alif_kind ? 1e-3f : 1e-2f);
    /* Rows V and W of the initial state: the initial spike acts through the
     * (detached) reset, and the refractory counter has no gradient. With
     * hard spikes ALIF's initial a acts only through thresholds (fixed
     * spikes) and the detached subtract reset: row V alone. */
    size_t rows = c.p.kind == SPK_MODEL_ALIF && !mode.smooth_spikes ? 1 : 2;
    snprintf(what, sizeof what, "%s (%s spikes): d/dstate_in", c.name, mode.smooth_spikes ? "smooth" : "hard");
    fd_check(what, &c.p, mode, &pb, pb.state_in, rows * BN, gsi, alif_kind ? 1e-3f : 2e-3f);
    free(gx), free(gsi);
    problem_free(&pb);
}

Test(models_reference, backward_matches_finite_differences)
{
    cases_init();
    for (size_t i = 0; i < NCASES; i++) {
        model_case c = CASES[i];
        if (c.p.kind == SPK_MODEL_ALIF) {
            c.p.alif.refractory_steps = 0;
            /* the adaptation path a <- S with smooth spikes: a zero reset
             * does not see the smooth spike's threshold */
            c.p.alif.reset = SPK_RESET_ZERO;
            fd_case(&c, (spk_ref_model_mode){1});
            c = CASES[i];
            c.p.alif.refractory_steps = 0;
        } else {
            fd_case(&c, (spk_ref_model_mode){1});
        }
        fd_case(&c, (spk_ref_model_mode){0});
    }
}

/* ---- Chaining, divergence, invalid arguments -------------------------- */

/* Two calls chained through the state equal one call over the whole
 * sequence, forward and backward. */
Test(models, chained_sequences_equal_one_sequence, .timeout = 600)
{
    cases_init();
    const size_t T = 40, T1 = 17, B = 2, N = 33, BN = B * N;
    const size_t which[] = {2, 4, 6}; /* ALIF refractory, Izhikevich sub-steps, AdEx */
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        for (size_t ci = 0; ci < 3; ci++) {
            const model_case *c = &CASES[which[ci]];
            problem pb;
            problem_make(c, T, B, N, 5, &pb);
            size_t seq[3] = {T, B, N}, st[3] = {SPK_MODEL_NSTATE, B, N};
            spk_tensor *x, *sin, *mid, *sout, *spk, *mem, *ad, *gS, *gx, *gsi, *gmid, *gsi2;
            spk_tensor **seqs[] = {&x, &spk, &mem, &ad, &gS, &gx}, **sts[] = {&sin, &mid, &sout, &gsi, &gmid, &gsi2};
            for (int k = 0; k < 6; k++) {
                SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, seq, seqs[k]));
                SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, st, sts[k]));
            }
            SPK_ASSERT_OK(ctx, spk_tensor_upload(x, pb.x, pb.seq * 4));
            SPK_ASSERT_OK(ctx, spk_tensor_upload(sin, pb.state_in, pb.st * 4));
            SPK_ASSERT_OK(ctx, spk_tensor_upload(gS, pb.gS, pb.seq * 4));
            float *whole[4], *split[4];
            spk_model_io io = {x, sin, sout, spk, mem, ad};
            SPK_ASSERT_OK(ctx, spk_model_forward(ctx, &c->p, &io));
            spk_model_grads g = {.grad_spikes = gS, .grad_input = gx, .grad_state_in = gsi};
            SPK_ASSERT_OK(ctx, spk_model_backward(ctx, &c->p, &io, &g));
            spk_tensor *src[4] = {mem, gx, sout, gsi};
            for (int k = 0; k < 4; k++) {
                size_t n = k < 2 ? pb.seq : pb.st;
                whole[k] = spk_test_alloc(n), split[k] = spk_test_alloc(n);
                SPK_ASSERT_OK(ctx, spk_tensor_download(src[k], whole[k], n * 4));
            }
            spk_tensor *h[2][6];
            const size_t t0[2] = {0, T1}, len[2] = {T1, T - T1};
            spk_tensor *base[6] = {x, spk, mem, ad, gS, gx};
            for (int k = 0; k < 2; k++)
                for (int j = 0; j < 6; j++)
                    SPK_ASSERT_OK(ctx, spk_tensor_view(base[j], t0[k] * BN, 3, (size_t[3]){len[k], B, N}, &h[k][j]));
            spk_model_io first = {h[0][0], sin, mid, h[0][1], h[0][2], h[0][3]};
            spk_model_io second = {h[1][0], mid, sout, h[1][1], h[1][2], h[1][3]};
            SPK_ASSERT_OK(ctx, spk_model_forward(ctx, &c->p, &first));
            SPK_ASSERT_OK(ctx, spk_model_forward(ctx, &c->p, &second));
            spk_model_grads g2 = {.grad_spikes = h[1][4], .grad_input = h[1][5], .grad_state_in = gmid};
            SPK_ASSERT_OK(ctx, spk_model_backward(ctx, &c->p, &second, &g2));
            spk_model_grads g1 = {.grad_spikes = h[0][4], .grad_state_out = gmid, .grad_input = h[0][5],
                                  .grad_state_in = gsi2};
            SPK_ASSERT_OK(ctx, spk_model_backward(ctx, &c->p, &first, &g1));
            src[3] = gsi2;
            const char *names[4] = {"membrane", "grad_input", "final state", "grad_state_in"};
            for (int k = 0; k < 4; k++) {
                size_t n = k < 2 ? pb.seq : pb.st;
                char what[128];
                SPK_ASSERT_OK(ctx, spk_tensor_download(src[k], split[k], n * 4));
                snprintf(what, sizeof what, "%s: chained %s", c->name, names[k]);
                spk_test_compare(what, split[k], whole[k], n, 0.0f, 0.0f);
                free(whole[k]), free(split[k]);
            }
            for (int k = 0; k < 2; k++)
                for (int j = 0; j < 6; j++)
                    spk_tensor_free(h[k][j]);
            for (int k = 0; k < 6; k++)
                spk_tensor_free(*seqs[k]), spk_tensor_free(*sts[k]);
            problem_free(&pb);
        }
    }
}

/* Dynamics that blow up, and NaN input, are reported, not passed on. */
Test(models, divergence_returns_numeric_status, .timeout = 600)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        const size_t T = 20, B = 1, N = 4;
        size_t shape[3] = {T, B, N};
        spk_tensor *x, *s, *v, *w;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, shape, &x));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, shape, &s));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, shape, &v));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, shape, &w));
        spk_model_io io = {.input = x, .spikes = s, .membrane = v, .adaptation = w};
        /* Izhikevich driven down so hard that 0.04 v^2 overflows float at the
         * second sub-step (a huge but finite input passes every check). */
        spk_model_params z = spk_model_params_default(SPK_MODEL_IZHIKEVICH);
        SPK_ASSERT_OK(ctx, spk_tensor_fill_f32(x, -1e30f));
        SPK_ASSERT_STATUS(ctx, spk_model_forward(ctx, &z, &io), SPK_ERR_NUMERIC, "izhikevich state");
        cr_assert(strstr(spk_context_last_error(ctx), "step 0"), "%s", spk_context_last_error(ctx));
        /* A NaN in the input of ALIF, at step 7 only. */
        spk_model_params a = spk_model_params_default(SPK_MODEL_ALIF);
        float hx[20 * 4] = {0};
        hx[7 * N + 2] = NAN;
        SPK_ASSERT_OK(ctx, spk_tensor_upload(x, hx, sizeof hx));
        SPK_ASSERT_STATUS(ctx, spk_model_forward(ctx, &a, &io), SPK_ERR_NUMERIC, "non-finite at step 7");
        /* The same sequence without the NaN is fine; an Inf gradient is reported by backward. */
        hx[7 * N + 2] = 0.0f;
        SPK_ASSERT_OK(ctx, spk_tensor_upload(x, hx, sizeof hx));
        SPK_ASSERT_OK(ctx, spk_model_forward(ctx, &a, &io));
        spk_tensor *gs;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, shape, &gs));
        SPK_ASSERT_OK(ctx, spk_tensor_fill_f32(gs, INFINITY));
        spk_model_grads g = {.grad_membrane = gs, .grad_input = v};
        SPK_ASSERT_STATUS(ctx, spk_model_backward(ctx, &a, &io, &g), SPK_ERR_NUMERIC, "alif gradient");
        spk_tensor_free(gs);
        spk_tensor_free(x), spk_tensor_free(s), spk_tensor_free(v), spk_tensor_free(w);
    }
}

/* In a tiled launch the earliest non-finite step is reported, wherever its
 * neuron lies in its vector and tile: a NaN at step 9 in the last vector
 * (a work item of its own) and one at step 4 in a middle lane of another
 * tile; then a -Inf input alone, at step 12. */
Test(models, tiled_divergence_reports_first_step, .timeout = 600)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        const size_t T = 16, B = 9, N = 200, BN = B * N, seq = T * BN;
        size_t shape[3] = {T, B, N};
        spk_tensor *x, *s, *v, *w;
        spk_tensor **all[] = {&x, &s, &v, &w};
        for (size_t k = 0; k < 4; k++)
            SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, shape, all[k]));
        spk_model_io io = {.input = x, .spikes = s, .membrane = v, .adaptation = w};
        float *hx = spk_test_alloc(seq);
        for (spk_model_kind kind = SPK_MODEL_ALIF; kind <= SPK_MODEL_ADEX; kind++) {
            spk_model_params p = spk_model_params_default(kind);
            memset(hx, 0, seq * sizeof *hx);
            hx[9 * BN + BN - 1] = NAN;
            hx[4 * BN + 1003] = NAN;
            SPK_ASSERT_OK(ctx, spk_tensor_upload(x, hx, seq * 4));
            SPK_ASSERT_STATUS(ctx, spk_model_forward(ctx, &p, &io), SPK_ERR_NUMERIC, "non-finite at step 4");
            hx[9 * BN + BN - 1] = 0.0f;
            hx[4 * BN + 1003] = 0.0f;
            hx[12 * BN + 517] = -INFINITY; /* +Inf would spike, and the reset absorbs it */
            SPK_ASSERT_OK(ctx, spk_tensor_upload(x, hx, seq * 4));
            SPK_ASSERT_STATUS(ctx, spk_model_forward(ctx, &p, &io), SPK_ERR_NUMERIC, "non-finite at step 12");
        }
        free(hx);
        for (size_t k = 0; k < 4; k++)
            spk_tensor_free(*all[k]);
    }
}

typedef struct bad_param {
    const char *field;
    spk_model_kind kind;
    void (*apply)(spk_model_params *p);
    const char *needle;
} bad_param;

static void neg_tau_mem(spk_model_params *p) { p->alif.tau_mem = -20.0f; }
static void zero_tau_adapt(spk_model_params *p) { p->alif.tau_adapt = 0.0f; }
static void neg_beta_a(spk_model_params *p) { p->alif.beta_a = -1.0f; }
static void alif_euler_dt(spk_model_params *p) { p->alif.integration = SPK_INTEGRATE_EULER, p->dt = 25.0f; }
static void alif_reset_value(spk_model_params *p) { p->alif.reset = SPK_RESET_TO_VALUE; }
static void alif_refractory(spk_model_params *p) { p->alif.refractory_steps = -2; }
static void alif_substeps(spk_model_params *p) { p->substeps = 2; }
static void zero_dt(spk_model_params *p) { p->dt = 0.0f; }
static void nan_dt(spk_model_params *p) { p->dt = NAN; }
static void many_substeps(spk_model_params *p) { p->substeps = SPK_MODEL_MAX_SUBSTEPS + 1; }
static void zero_substeps(spk_model_params *p) { p->substeps = 0; }
static void izh_big_step(spk_model_params *p) { p->dt = 4.0f, p->substeps = 2; }
static void izh_neg_a(spk_model_params *p) { p->izhikevich.a = -0.02f; }
static void izh_reset_above_peak(spk_model_params *p) { p->izhikevich.c = 40.0f; }
static void adex_big_step(spk_model_params *p) { p->dt = 30.0f; }
static void adex_neg_C(spk_model_params *p) { p->adex.C = -200.0f; }
static void adex_zero_delta(spk_model_params *p) { p->adex.Delta_T = 0.0f; }
static void adex_neg_tau_w(spk_model_params *p) { p->adex.tau_w = -30.0f; }
static void adex_peak_below(spk_model_params *p) { p->adex.V_peak = -60.0f; }
static void adex_tau_w_step(spk_model_params *p) { p->adex.tau_w = 0.05f; }
static void bad_kind(spk_model_params *p) { p->kind = (spk_model_kind)7; }
static void bad_surrogate(spk_model_params *p) { p->surrogate = (spk_surrogate)SPK_SURROGATE_COUNT; }
static void zero_scale(spk_model_params *p) { p->surrogate_scale = 0.0f; }
static void inf_gain(spk_model_params *p) { p->input_gain = INFINITY; }

static const bad_param BAD_PARAMS[] = {
    {"alif tau_mem < 0", SPK_MODEL_ALIF, neg_tau_mem, "alif.tau_mem"},
    {"alif tau_adapt = 0", SPK_MODEL_ALIF, zero_tau_adapt, "alif.tau_adapt"},
    {"alif beta_a < 0", SPK_MODEL_ALIF, neg_beta_a, "alif.beta_a"},
    {"alif Euler dt > tau", SPK_MODEL_ALIF, alif_euler_dt, "dt <= alif.tau_mem"},
    {"alif reset to value", SPK_MODEL_ALIF, alif_reset_value, "alif.reset"},
    {"alif refractory < 0", SPK_MODEL_ALIF, alif_refractory, "refractory_steps"},
    {"alif substeps", SPK_MODEL_ALIF, alif_substeps, "substeps must be 1"},
    {"dt = 0", SPK_MODEL_IZHIKEVICH, zero_dt, "dt must be positive"},
    {"dt NaN", SPK_MODEL_ADEX, nan_dt, "dt must be positive"},
    {"substeps too many", SPK_MODEL_IZHIKEVICH, many_substeps, "substeps"},
    {"substeps 0", SPK_MODEL_ADEX, zero_substeps, "substeps"},
    {"izhikevich sub-step > 1 ms", SPK_MODEL_IZHIKEVICH, izh_big_step, "sub-step dt/substeps = 2 ms"},
    {"izhikevich a < 0", SPK_MODEL_IZHIKEVICH, izh_neg_a, "izhikevich.a"},
    {"izhikevich c above v_peak", SPK_MODEL_IZHIKEVICH, izh_reset_above_peak, "below v_peak"},
    {"adex sub-step > C/g_L", SPK_MODEL_ADEX, adex_big_step, "C/g_L"},
    {"adex C < 0", SPK_MODEL_ADEX, adex_neg_C, "adex.C"},
    {"adex Delta_T = 0", SPK_MODEL_ADEX, adex_zero_delta, "adex.Delta_T"},
    {"adex tau_w < 0", SPK_MODEL_ADEX, adex_neg_tau_w, "adex.tau_w"},
    {"adex V_peak below V_T", SPK_MODEL_ADEX, adex_peak_below, "V_peak"},
    {"adex sub-step > tau_w", SPK_MODEL_ADEX, adex_tau_w_step, "exceeds tau_w"},
    {"kind", SPK_MODEL_ALIF, bad_kind, "spk_model_kind"},
    {"surrogate", SPK_MODEL_IZHIKEVICH, bad_surrogate, "spk_surrogate"},
    {"surrogate scale 0", SPK_MODEL_ADEX, zero_scale, "surrogate_scale"},
    {"input gain inf", SPK_MODEL_ALIF, inf_gain, "input_gain"},
};

Test(models, invalid_arguments_return_their_status, .timeout = 600)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        const size_t T = 5, B = 2, N = 3;
        size_t seq[3] = {T, B, N}, st[3] = {SPK_MODEL_NSTATE, B, N}, wrong[3] = {T, B, N + 1}, flat[2] = {T, B * N};
        spk_tensor *x, *s, *v, *w, *sin, *bad, *flat_x, *u8;
        spk_tensor **all[] = {&x, &s, &v, &w, &sin, &bad, &flat_x, &u8};
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, seq, &x));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, seq, &s));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, seq, &v));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, seq, &w));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, st, &sin));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, wrong, &bad));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, flat, &flat_x));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_U8, 3, seq, &u8));
        SPK_ASSERT_OK(ctx, spk_tensor_fill_f32(x, 0.5f));
        spk_model_params p = spk_model_params_default(SPK_MODEL_ALIF);
        spk_model_io ok = {.input = x, .spikes = s, .membrane = v, .adaptation = w};
        SPK_ASSERT_OK(ctx, spk_model_forward(ctx, &p, &ok));

        SPK_ASSERT_STATUS(NULL, spk_model_forward(NULL, &p, &ok), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(ctx, spk_model_forward(ctx, NULL, &ok), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(ctx, spk_model_forward(ctx, &p, NULL), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(ctx, spk_model_backward(ctx, &p, &ok, NULL), SPK_ERR_NULL_POINTER, "grads");
        spk_model_io io = ok;
        io.input = NULL;
        SPK_ASSERT_STATUS(ctx, spk_model_forward(ctx, &p, &io), SPK_ERR_NULL_POINTER, "io.input");
        io = ok, io.spikes = NULL;
        SPK_ASSERT_STATUS(ctx, spk_model_forward(ctx, &p, &io), SPK_ERR_INVALID_ARGUMENT, "io.spikes");
        io = ok, io.spikes = bad;
        SPK_ASSERT_STATUS(ctx, spk_model_forward(ctx, &p, &io), SPK_ERR_SHAPE, "io.spikes has shape [5, 2, 4]");
        io = ok, io.input = flat_x;
        SPK_ASSERT_STATUS(ctx, spk_model_forward(ctx, &p, &io), SPK_ERR_SHAPE, "[T, B, N]");
        io = ok, io.state_in = x;
        SPK_ASSERT_STATUS(ctx, spk_model_forward(ctx, &p, &io), SPK_ERR_SHAPE, "io.state_in");
        io = ok, io.adaptation = u8;
        SPK_ASSERT_STATUS(ctx, spk_model_forward(ctx, &p, &io), SPK_ERR_DTYPE, "io.adaptation");
        io = ok, io.state_in = sin, io.state_out = sin;
        SPK_ASSERT_STATUS(ctx, spk_model_forward(ctx, &p, &io), SPK_ERR_INVALID_ARGUMENT, "state_out");
        spk_model_grads g = {.grad_spikes = x, .grad_input = v};
        io = ok, io.adaptation = NULL;
        SPK_ASSERT_STATUS(ctx, spk_model_backward(ctx, &p, &io, &g), SPK_ERR_INVALID_ARGUMENT, "io.adaptation");
        g.grad_spikes = u8;
        SPK_ASSERT_STATUS(ctx, spk_model_backward(ctx, &p, &ok, &g), SPK_ERR_DTYPE, "grads.grad_spikes");
        g.grad_spikes = NULL, g.grad_state_in = bad;
        SPK_ASSERT_STATUS(ctx, spk_model_backward(ctx, &p, &ok, &g), SPK_ERR_SHAPE, "grads.grad_state_in");

        for (size_t i = 0; i < sizeof BAD_PARAMS / sizeof BAD_PARAMS[0]; i++) {
            spk_model_params q = spk_model_params_default(BAD_PARAMS[i].kind);
            BAD_PARAMS[i].apply(&q);
            spk_status r = spk_model_forward(ctx, &q, &ok);
            cr_assert(r == SPK_ERR_INVALID_ARGUMENT, "%s: got %s", BAD_PARAMS[i].field, spk_status_name(r));
            cr_assert(strstr(spk_context_last_error(ctx), BAD_PARAMS[i].needle), "%s: message '%s'",
                      BAD_PARAMS[i].field, spk_context_last_error(ctx));
            r = spk_model_backward(ctx, &q, &ok, &(spk_model_grads){.grad_input = v});
            cr_assert(r == SPK_ERR_INVALID_ARGUMENT, "%s (backward): got %s", BAD_PARAMS[i].field,
                      spk_status_name(r));
            spk_layer *l = NULL;
            SPK_ASSERT_STATUS(ctx, spk_model_layer_create(ctx, &q, &l), SPK_ERR_INVALID_ARGUMENT,
                              BAD_PARAMS[i].needle);
            cr_assert(l == NULL);
        }
        /* Every default is valid; presets reject unknown names. */
        for (int k = 0; k <= SPK_MODEL_ADEX; k++) {
            spk_model_params d = spk_model_params_default((spk_model_kind)k);
            cr_assert(spk_model_check_params(&d, NULL, 0) == SPK_OK, "default %s", spk_model_kind_name(k));
        }
        spk_izhikevich_params zp;
        spk_adex_params ap;
        cr_assert(spk_izhikevich_preset(SPK_IZH_CLASS_COUNT, &zp) == SPK_ERR_INVALID_ARGUMENT);
        cr_assert(spk_adex_preset((spk_adex_pattern)-1, &ap, NULL) == SPK_ERR_INVALID_ARGUMENT);
        cr_assert(spk_adex_preset(SPK_ADEX_TONIC, NULL, NULL) == SPK_ERR_NULL_POINTER);
        cr_assert(spk_model_check_params(NULL, NULL, 0) == SPK_ERR_INVALID_ARGUMENT);

        spk_context *other = spk_test_context(spk_sel_[spk_d_], 1);
        spk_tensor *foreign;
        SPK_ASSERT_OK(other, spk_tensor_create(other, SPK_F32, 3, seq, &foreign));
        io = ok, io.membrane = foreign;
        SPK_ASSERT_STATUS(ctx, spk_model_forward(ctx, &p, &io), SPK_ERR_CONTEXT, "io.membrane");
        spk_tensor_free(foreign);
        spk_context_free(other);
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            spk_tensor_free(*all[i]);
    }
}

/* ---- In a network ------------------------------------------------------ */

enum { NET_T = 30, NET_B = 4, NET_IN = 6, NET_HID = 12, NET_OUT = 3 };

/* Hidden neurons for the network tests, scaled so that a dense layer's
 * output of order 1 drives them. */
static spk_model_params net_params(spk_model_kind k)
{
    spk_model_params p = spk_model_params_default(k);
    if (k == SPK_MODEL_ALIF) {
        p.alif.tau_adapt = 30.0f, p.alif.beta_a = 0.3f, p.alif.threshold = 0.5f;
    } else if (k == SPK_MODEL_IZHIKEVICH) {
        p.input_gain = 20.0f; /* I around 10: the published drive */
    } else {
        p.dt = 0.5f, p.input_gain = 1500.0f; /* pA */
    }
    return p;
}

static spk_layer *dense_layer(spk_context *ctx, size_t in, size_t out, uint64_t seed)
{
    spk_dense_params d = spk_dense_params_default(in, out);
    d.seed = seed;
    d.init_bound = 1.0f;
    spk_layer *l;
    SPK_ASSERT_OK(ctx, spk_dense_create(ctx, &d, &l));
    return l;
}

/* dense -> model -> dense -> current-based LI readout. */
static spk_network *model_network(spk_context *ctx, const spk_model_params *p)
{
    spk_network *net;
    spk_layer *m, *li;
    spk_lif_params readout = spk_lif_params_default(SPK_NEURON_CUBA_LI);
    SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
    SPK_ASSERT_OK(ctx, spk_network_add(net, dense_layer(ctx, NET_IN, NET_HID, 11)));
    SPK_ASSERT_OK(ctx, spk_model_layer_create(ctx, p, &m));
    SPK_ASSERT_OK(ctx, spk_network_add(net, m));
    SPK_ASSERT_OK(ctx, spk_network_add(net, dense_layer(ctx, NET_HID, NET_OUT, 12)));
    SPK_ASSERT_OK(ctx, spk_neuron_layer_create(ctx, &readout, &li));
    SPK_ASSERT_OK(ctx, spk_network_add(net, li));
    SPK_ASSERT_OK(ctx, spk_network_build(net, NET_T, NET_B, 1, (size_t[1]){NET_IN}));
    return net;
}

/* The network's readout and first-layer weight gradient equal the
 * composition of the references (dense on the host, model and LI refs). */
Test(models, network_layer_matches_reference_composition, .timeout = 600)
{
    const size_t TB = NET_T * NET_B, nx = TB * NET_IN, nh = TB * NET_HID, no = TB * NET_OUT;
    spk_test_rng r = {31};
    float *x = spk_test_alloc(nx), *gy = spk_test_alloc(no);
    spk_test_fill_uniform(&r, x, nx, 0.0f, 1.0f);
    spk_test_fill_normal(&r, gy, no, 0.0f, 1.0f);
    float W1[NET_HID * NET_IN], b1[NET_HID], W2[NET_OUT * NET_HID], b2[NET_OUT];
    float *I1 = spk_test_alloc(nh), *S1 = spk_test_alloc(nh), *I2 = spk_test_alloc(no), *V2 = spk_test_alloc(no);
    float *cur = spk_test_alloc(no), *gI2 = spk_test_alloc(no), *gS1 = spk_test_alloc(nh), *gI1 = spk_test_alloc(nh);
    float *got = spk_test_alloc(no), dW1[NET_HID * NET_IN], dW1_dev[NET_HID * NET_IN];
    spk_lif_params li = spk_lif_params_default(SPK_NEURON_CUBA_LI);
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        for (int k = 0; k <= SPK_MODEL_ADEX; k++) {
            spk_model_params p = net_params((spk_model_kind)k);
            spk_network *net = model_network(ctx, &p);
            char desc[160];
            cr_assert(strstr(spk_layer_describe(spk_network_layer(net, 1), desc, sizeof desc),
                             spk_model_kind_name(p.kind)), "%s", desc);
            spk_tensor *tx, *tg;
            SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){NET_T, NET_B, NET_IN}, &tx));
            SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){NET_T, NET_B, NET_OUT}, &tg));
            SPK_ASSERT_OK(ctx, spk_tensor_upload(tx, x, nx * 4));
            SPK_ASSERT_OK(ctx, spk_tensor_upload(tg, gy, no * 4));
            const spk_tensor *y;
            SPK_ASSERT_OK(ctx, spk_network_forward(net, tx, &y));
            SPK_ASSERT_OK(ctx, spk_network_backward(net, tg));
            SPK_ASSERT_OK(ctx, spk_tensor_download(y, got, no * 4));
            spk_test_get_param(net, 0, W1, dW1_dev, "0.weight", NET_HID * NET_IN);
            spk_test_get_param(net, 1, b1, NULL, "0.bias", NET_HID);
            spk_test_get_param(net, 2, W2, NULL, "2.weight", NET_OUT * NET_HID);
            spk_test_get_param(net, 3, b2, NULL, "2.bias", NET_OUT);

            spk_test_host_dense(x, TB, NET_IN, W1, b1, NET_HID, I1);
            spk_ref_model_io io1 = {.x = I1, .spikes = S1};
            cr_assert(spk_ref_model_forward(&p, (spk_ref_model_mode){0}, NET_T, NET_B, NET_HID, &io1) == SPK_OK);
            size_t n_spikes = 0;
            for (size_t i = 0; i < nh; i++)
                n_spikes += S1[i] > 0.0f;
            cr_assert(n_spikes > nh / 50 && n_spikes < nh * 9 / 10, "%s layer: %zu spikes of %zu",
                      spk_model_kind_name(p.kind), n_spikes, nh);
            spk_test_host_dense(S1, TB, NET_HID, W2, b2, NET_OUT, I2);
            spk_ref_lif_io io2 = {.x = I2, .membrane = V2, .current = cur};
            cr_assert(spk_ref_lif_forward(&li, (spk_ref_lif_mode){0}, NET_T, NET_B, NET_OUT, &io2) == SPK_OK);
            /* The host dense sums in double, the device in float: a hidden
             * spike may flip where its input sits on the threshold; the data
             * is chosen so that none does, so the comparison is strict. */
            spk_test_compare_scaled("readout membrane", got, V2, no, 1e-4f);
            spk_ref_lif_grads g2 = {.grad_membrane = gy, .grad_input = gI2};
            cr_assert(spk_ref_lif_backward(&li, (spk_ref_lif_mode){0}, NET_T, NET_B, NET_OUT, &io2, &g2) == SPK_OK);
            spk_ref_gemm(0, 0, TB, NET_HID, NET_OUT, 1.0f, gI2, W2, 0.0f, gS1);
            spk_ref_model_grads g1 = {.grad_spikes = gS1, .grad_input = gI1};
            cr_assert(spk_ref_model_backward(&p, (spk_ref_model_mode){0}, NET_T, NET_B, NET_HID, &io1, &g1) == SPK_OK);
            spk_ref_gemm(1, 0, NET_HID, NET_IN, TB, 1.0f, gI1, x, 0.0f, dW1);
            cr_assert(spk_test_max_abs(dW1, NET_HID * NET_IN) > 0.0f, "%s: no gradient reaches the first layer",
                      spk_model_kind_name(p.kind));
            spk_test_compare_scaled("first-layer weight gradient", dW1_dev, dW1, NET_HID * NET_IN, 1e-3f);
            spk_tensor_free(tx), spk_tensor_free(tg);
            spk_network_free(net);
        }
    }
    free(x), free(gy), free(I1), free(S1), free(I2), free(V2), free(cur), free(gI2), free(gS1), free(gI1), free(got);
}

/* Training through the layer lowers the loss: each model learns to make
 * readout unit 0 or 1 win by the class of a two-blob input. */
Test(models, network_learns_through_each_model, .timeout = 600)
{
    enum { B = 32, F = 6, STEPS = 40 };
    spk_test_rng r = {77};
    float x[NET_T * B * F];
    uint8_t labels[B];
    for (size_t b = 0; b < B; b++)
        labels[b] = (uint8_t)(b % 2);
    for (size_t t = 0; t < NET_T; t++)
        for (size_t b = 0; b < B; b++)
            for (size_t f = 0; f < F; f++)
                x[(t * B + b) * F + f] = (f % 2 == labels[b] ? 0.8f : 0.2f) + 0.2f * spk_test_normal(&r);
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        for (int k = 0; k <= SPK_MODEL_ADEX; k++) {
            spk_model_params p = net_params((spk_model_kind)k);
            spk_network *net;
            spk_layer *m, *li;
            spk_lif_params readout = spk_lif_params_default(SPK_NEURON_LI);
            SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
            SPK_ASSERT_OK(ctx, spk_network_add(net, dense_layer(ctx, F, NET_HID, 21)));
            SPK_ASSERT_OK(ctx, spk_model_layer_create(ctx, &p, &m));
            SPK_ASSERT_OK(ctx, spk_network_add(net, m));
            SPK_ASSERT_OK(ctx, spk_network_add(net, dense_layer(ctx, NET_HID, 2, 22)));
            SPK_ASSERT_OK(ctx, spk_neuron_layer_create(ctx, &readout, &li));
            SPK_ASSERT_OK(ctx, spk_network_add(net, li));
            SPK_ASSERT_OK(ctx, spk_network_build(net, NET_T, B, 1, (size_t[1]){F}));
            spk_tensor *tx, *grad;
            SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){NET_T, B, F}, &tx));
            SPK_ASSERT_OK(ctx, spk_tensor_upload(tx, x, sizeof x));
            SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){NET_T, B, 2}, &grad));
            spk_optimizer_params op = spk_optimizer_params_default(SPK_OPTIM_ADAM);
            op.lr = 0.01f;
            spk_optimizer *opt;
            SPK_ASSERT_OK(ctx, spk_optimizer_create(ctx, &op, &opt));
            spk_loss_params lp = spk_loss_params_default(SPK_LOSS_CE_MEAN_MEMBRANE);
            float first = 0.0f, loss = 0.0f;
            size_t correct = 0;
            for (int step = 0; step <= STEPS; step++) {
                const spk_tensor *y;
                SPK_ASSERT_OK(ctx, spk_network_forward(net, tx, &y));
                SPK_ASSERT_OK(ctx, spk_loss(ctx, &lp, y, labels, grad, &loss, &correct));
                if (step == 0)
                    first = loss;
                if (step == STEPS)
                    break;
                SPK_ASSERT_OK(ctx, spk_network_backward(net, grad));
                SPK_ASSERT_OK(ctx, spk_network_step(net, opt));
            }
            cr_log_info("%s: loss %.4f -> %.4f, %zu of %d right", spk_model_kind_name(p.kind), (double)first,
                        (double)loss, correct, B);
            cr_assert(loss < 0.5f * first, "%s: loss %g -> %g: not learning", spk_model_kind_name(p.kind),
                      (double)first, (double)loss);
            cr_assert(correct * 10 >= B * 9, "%s: only %zu of %d right", spk_model_kind_name(p.kind), correct, B);
            spk_optimizer_free(opt);
            spk_tensor_free(tx), spk_tensor_free(grad);
            spk_network_free(net);
            if (k == 0) {
                /* four program files (the model's, the gathers', the readout's, Adam's) in at
                 * most two programs (src/cl/program_bundle.c): on CPU devices the model's
                 * 12 neurons take 4-float vectors, the others 8, and a bundle has one width */
                spk_cache_stats cs;
                SPK_ASSERT_OK(ctx, spk_context_cache_stats(ctx, &cs));
                cr_assert_leq(cs.compiles + cs.disk_hits, 2, "%llu programs built, %llu loaded",
                              (unsigned long long)cs.compiles, (unsigned long long)cs.disk_hits);
            }
        }
    }
}
