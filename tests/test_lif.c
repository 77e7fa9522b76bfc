/* LIF-family kernels on every device against the C reference, the
 * reference's backward against finite differences, analytic spike trains,
 * sequence chaining, and invalid arguments. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ref/ref.h"

/* One row of the variant table. */
typedef struct lif_case {
    const char *name;
    spk_neuron_kind kind;
    spk_integration integration;
    spk_reset reset;
    spk_reset_timing timing;
    int detach;
    int refractory;
    spk_surrogate surrogate;
    spk_dtype spike_dtype;
    int per_neuron_coef;
} lif_case;

/* spike_dtype of the cases that store the spikes bit-packed (spk_lif_io.spike_bits). */
#define SPIKE_BITS ((spk_dtype)0x100)

static const lif_case CASES[] = {
    {"cuba exact subtract next-step", SPK_NEURON_CUBA_LIF, SPK_INTEGRATE_EXACT, SPK_RESET_SUBTRACT,
     SPK_RESET_NEXT_STEP, 1, 0, SPK_SURROGATE_FAST_SIGMOID, SPK_F32, 0},
    {"cuba euler zero immediate (seed Flux)", SPK_NEURON_CUBA_LIF, SPK_INTEGRATE_EULER, SPK_RESET_ZERO,
     SPK_RESET_IMMEDIATE, 0, 0, SPK_SURROGATE_ARCTAN, SPK_F32, 0},
    {"cuba exact to-value immediate refractory", SPK_NEURON_CUBA_LIF, SPK_INTEGRATE_EXACT, SPK_RESET_TO_VALUE,
     SPK_RESET_IMMEDIATE, 0, 3, SPK_SURROGATE_SIGMOID, SPK_F32, 1},
    {"cuba euler none next-step u8", SPK_NEURON_CUBA_LIF, SPK_INTEGRATE_EULER, SPK_RESET_NONE, SPK_RESET_NEXT_STEP,
     0, 0, SPK_SURROGATE_TRIANGLE, SPK_U8, 0},
    {"cuba exact zero next-step attached", SPK_NEURON_CUBA_LIF, SPK_INTEGRATE_EXACT, SPK_RESET_ZERO,
     SPK_RESET_NEXT_STEP, 0, 0, SPK_SURROGATE_BOXCAR, SPK_F32, 1},
    {"cuba exact subtract immediate attached refractory u8", SPK_NEURON_CUBA_LIF, SPK_INTEGRATE_EXACT,
     SPK_RESET_SUBTRACT, SPK_RESET_IMMEDIATE, 0, 2, SPK_SURROGATE_GAUSSIAN, SPK_U8, 0},
    {"lif exact subtract next-step (snnTorch Leaky)", SPK_NEURON_LIF, SPK_INTEGRATE_EXACT, SPK_RESET_SUBTRACT,
     SPK_RESET_NEXT_STEP, 1, 0, SPK_SURROGATE_ARCTAN, SPK_F32, 0},
    {"lif euler to-value next-step straight-through", SPK_NEURON_LIF, SPK_INTEGRATE_EULER, SPK_RESET_TO_VALUE,
     SPK_RESET_NEXT_STEP, 0, 0, SPK_SURROGATE_STRAIGHT_THROUGH, SPK_F32, 1},
    {"lif exact zero immediate refractory", SPK_NEURON_LIF, SPK_INTEGRATE_EXACT, SPK_RESET_ZERO,
     SPK_RESET_IMMEDIATE, 1, 1, SPK_SURROGATE_FAST_SIGMOID, SPK_F32, 0},
    {"if subtract next-step refractory", SPK_NEURON_IF, SPK_INTEGRATE_EXACT, SPK_RESET_SUBTRACT,
     SPK_RESET_NEXT_STEP, 1, 2, SPK_SURROGATE_FAST_SIGMOID, SPK_F32, 0},
    {"if euler zero immediate attached", SPK_NEURON_IF, SPK_INTEGRATE_EULER, SPK_RESET_ZERO, SPK_RESET_IMMEDIATE, 0,
     0, SPK_SURROGATE_ARCTAN, SPK_F32, 1},
    {"lif exact subtract next-step bit-packed", SPK_NEURON_LIF, SPK_INTEGRATE_EXACT, SPK_RESET_SUBTRACT,
     SPK_RESET_NEXT_STEP, 1, 0, SPK_SURROGATE_ARCTAN, SPIKE_BITS, 0},
    {"cuba exact subtract immediate attached refractory bit-packed", SPK_NEURON_CUBA_LIF, SPK_INTEGRATE_EXACT,
     SPK_RESET_SUBTRACT, SPK_RESET_IMMEDIATE, 0, 2, SPK_SURROGATE_GAUSSIAN, SPIKE_BITS, 1},
    {"if zero next-step attached refractory bit-packed", SPK_NEURON_IF, SPK_INTEGRATE_EXACT, SPK_RESET_ZERO,
     SPK_RESET_NEXT_STEP, 0, 3, SPK_SURROGATE_FAST_SIGMOID, SPIKE_BITS, 0},
    {"li exact", SPK_NEURON_LI, SPK_INTEGRATE_EXACT, SPK_RESET_SUBTRACT, SPK_RESET_NEXT_STEP, 1, 0,
     SPK_SURROGATE_FAST_SIGMOID, SPK_F32, 0},
    {"cuba li euler per-neuron", SPK_NEURON_CUBA_LI, SPK_INTEGRATE_EULER, SPK_RESET_SUBTRACT, SPK_RESET_NEXT_STEP,
     1, 0, SPK_SURROGATE_FAST_SIGMOID, SPK_F32, 1},
};

#define NCASES (sizeof CASES / sizeof CASES[0])

static int spiking(const lif_case *c)
{
    return c->kind == SPK_NEURON_LIF || c->kind == SPK_NEURON_CUBA_LIF || c->kind == SPK_NEURON_IF;
}

static int cuba(const lif_case *c)
{
    return c->kind == SPK_NEURON_CUBA_LIF || c->kind == SPK_NEURON_CUBA_LI;
}

static spk_lif_params params_of(const lif_case *c)
{
    spk_lif_params p = spk_lif_params_default(c->kind);
    p.integration = c->integration;
    p.tau_mem = 8.0f;
    p.tau_syn = 4.0f;
    p.threshold = 0.8f;
    p.v_reset = -0.2f;
    p.reset = c->reset;
    p.reset_timing = c->timing;
    p.detach_reset = c->detach;
    p.refractory_steps = c->refractory;
    p.surrogate = c->surrogate;
    p.surrogate_scale = spk_surrogate_default_scale(c->surrogate);
    return p;
}

/* Host data of one forward + backward problem. */
typedef struct problem {
    size_t T, B, N, seq, st;
    int static_input; /* x the same at every step: the device gets it once, as [1, B, N] */
    float *x, *coef, *state_in, *gS, *gV, *g_state_out;
} problem;

static void problem_make(const lif_case *c, const spk_lif_params *p, size_t T, size_t B, size_t N, uint64_t seed,
                         problem *pb)
{
    spk_test_rng r = {seed};
    pb->T = T, pb->B = B, pb->N = N;
    pb->seq = T * B * N, pb->st = (size_t)SPK_LIF_NSTATE * B * N;
    pb->x = spk_test_alloc(pb->seq);
    /* Drive the neurons into a regime with both spikes and silence: exact
     * integration has unit gains (V settles near x / (1 - decay) per stage),
     * Euler has gains dt/tau (V settles near x). */
    float mean = c->integration == SPK_INTEGRATE_EULER ? 0.9f : cuba(c) ? 0.01f : 0.05f;
    float std = c->integration == SPK_INTEGRATE_EULER ? 1.0f : 0.3f;
    spk_test_fill_normal(&r, pb->x, pb->seq, mean, std);
    for (size_t t = 1; pb->static_input && t < T; t++) /* the reference reads it T times */
        memcpy(pb->x + t * B * N, pb->x, B * N * sizeof *pb->x);
    pb->coef = NULL;
    if (c->per_neuron_coef) {
        float base[SPK_LIF_NCOEF];
        cr_assert(spk_lif_coefficients(p, base, NULL, 0) == SPK_OK);
        pb->coef = spk_test_alloc((size_t)SPK_LIF_NCOEF * N);
        for (int k = 0; k < SPK_LIF_NCOEF; k++)
            for (size_t n = 0; n < N; n++)
                pb->coef[k * N + n] = base[k] * spk_test_uniform(&r, 0.8f, 1.0f);
    }
    pb->state_in = spk_test_alloc(pb->st);
    size_t BN = B * N;
    for (size_t i = 0; i < BN; i++) {
        pb->state_in[0 * BN + i] = cuba(c) ? spk_test_uniform(&r, -0.5f, 0.5f) : 0.0f;
        pb->state_in[1 * BN + i] = spk_test_uniform(&r, -0.5f, 1.0f);
        pb->state_in[2 * BN + i] = spiking(c) && spk_test_uniform(&r, 0, 1) < 0.3f ? 1.0f : 0.0f;
        pb->state_in[3 * BN + i] = c->refractory ? floorf(spk_test_uniform(&r, 0, (float)c->refractory + 1)) : 0;
    }
    spk_test_neuron_upstream(&r, pb->seq, pb->st, &pb->gS, &pb->gV, &pb->g_state_out);
}

static void problem_free(problem *pb)
{
    free(pb->x), free(pb->coef), free(pb->state_in), free(pb->gS), free(pb->gV), free(pb->g_state_out);
}

/* Host results of one forward + backward. */
typedef struct results {
    float *spikes, *mem, *cur, *state_out;
    float *gx, *g_state_in, *g_coef;
    float *gx_sum; /* static input: grad_input summed over the steps, [B, N] */
} results;

static void results_alloc(const problem *pb, results *r)
{
    r->spikes = spk_test_alloc(pb->seq);
    r->mem = spk_test_alloc(pb->seq);
    r->cur = spk_test_alloc(pb->seq);
    r->state_out = spk_test_alloc(pb->st);
    r->gx = spk_test_alloc(pb->seq);
    r->g_state_in = spk_test_alloc(pb->st);
    r->g_coef = spk_test_alloc((size_t)SPK_LIF_NCOEF * pb->N);
    r->gx_sum = spk_test_alloc(pb->B * pb->N);
}

static void results_free(results *r)
{
    free(r->spikes), free(r->mem), free(r->cur), free(r->state_out), free(r->gx), free(r->g_state_in),
        free(r->g_coef), free(r->gx_sum);
}

static void run_reference(const lif_case *c, const spk_lif_params *p, const problem *pb, results *r)
{
    spk_ref_lif_io io = {pb->x, pb->coef, pb->state_in, r->state_out, r->spikes, r->mem, cuba(c) ? r->cur : NULL};
    cr_assert(spk_ref_lif_forward(p, (spk_ref_lif_mode){0}, pb->T, pb->B, pb->N, &io) == SPK_OK);
    spk_ref_lif_grads g = {spiking(c) ? pb->gS : NULL, pb->gV, pb->g_state_out, r->gx, r->g_state_in, r->g_coef, 0};
    cr_assert(spk_ref_lif_backward(p, (spk_ref_lif_mode){0}, pb->T, pb->B, pb->N, &io, &g) == SPK_OK);
    spk_ref_lif_grads summed = {.grad_spikes = g.grad_spikes, .grad_membrane = pb->gV,
                                .grad_state_out = pb->g_state_out, .grad_input = r->gx_sum, .grad_input_summed = 1};
    cr_assert(spk_ref_lif_backward(p, (spk_ref_lif_mode){0}, pb->T, pb->B, pb->N, &io, &summed) == SPK_OK);
}

/* Every tensor in guarded buffers, so out-of-bounds writes are caught. */
static void run_device(spk_context *ctx, const lif_case *c, const spk_lif_params *p, const problem *pb,
                       results *r)
{
    size_t seq[3] = {pb->T, pb->B, pb->N}, st[3] = {SPK_LIF_NSTATE, pb->B, pb->N};
    size_t cs[2] = {SPK_LIF_NCOEF, pb->N}, once[3] = {1, pb->B, pb->N};
    spk_test_guarded x, coef = {0}, sin, sout, spk = {0}, mem, cur = {0};
    spk_test_guarded gS = {0}, gV, gso, gx, gsi, gc;
    spk_test_guarded_create(ctx, SPK_F32, 3, pb->static_input ? once : seq, &x);
    spk_test_guarded_upload(&x, pb->x);
    if (pb->coef) {
        spk_test_guarded_create(ctx, SPK_F32, 2, cs, &coef);
        spk_test_guarded_upload(&coef, pb->coef);
    }
    spk_test_guarded_create(ctx, SPK_F32, 3, st, &sin);
    spk_test_guarded_upload(&sin, pb->state_in);
    spk_test_guarded_create(ctx, SPK_F32, 3, st, &sout);
    const int bits = c->spike_dtype == SPIKE_BITS;
    const size_t row_bytes = spk_spike_row_bytes(pb->N), packed[3] = {pb->T, pb->B, row_bytes};
    if (spiking(c))
        spk_test_guarded_create_at(ctx, bits ? SPK_U8 : c->spike_dtype, 3, bits ? packed : seq,
                                   bits ? 256 : SPK_TEST_GUARD, &spk);
    spk_test_guarded_create(ctx, SPK_F32, 3, seq, &mem);
    if (cuba(c))
        spk_test_guarded_create(ctx, SPK_F32, 3, seq, &cur);
    spk_lif_io io = {x.t, coef.t, sin.t, sout.t, bits ? NULL : spk.t, mem.t, cur.t, bits ? spk.t : NULL};
    SPK_ASSERT_OK(ctx, spk_lif_forward(ctx, p, &io));

    if (spiking(c)) {
        spk_test_guarded_create(ctx, SPK_F32, 3, seq, &gS);
        spk_test_guarded_upload(&gS, pb->gS);
    }
    spk_test_guarded_create(ctx, SPK_F32, 3, seq, &gV);
    spk_test_guarded_upload(&gV, pb->gV);
    spk_test_guarded_create(ctx, SPK_F32, 3, st, &gso);
    spk_test_guarded_upload(&gso, pb->g_state_out);
    spk_test_guarded_create(ctx, SPK_F32, 3, seq, &gx);
    spk_test_guarded_create(ctx, SPK_F32, 3, st, &gsi);
    spk_test_guarded_create(ctx, SPK_F32, 2, cs, &gc);
    spk_lif_grads g = {gS.t, gV.t, gso.t, gx.t, gsi.t, gc.t};
    SPK_ASSERT_OK(ctx, spk_lif_backward(ctx, p, &io, &g));
    { /* the input's gradient summed over the steps, [1, B, N] (what a static input receives) */
        spk_test_guarded gx1;
        spk_test_guarded_create(ctx, SPK_F32, 3, once, &gx1);
        spk_lif_grads g1 = {.grad_spikes = gS.t, .grad_membrane = gV.t, .grad_state_out = gso.t, .grad_input = gx1.t};
        SPK_ASSERT_OK(ctx, spk_lif_backward(ctx, p, &io, &g1));
        spk_test_guarded_download(&gx1, r->gx_sum, "grad_input summed");
        spk_test_guarded_free(&gx1);
    }

    if (spiking(c) && bits) {
        uint32_t *w = malloc(pb->T * pb->B * row_bytes);
        cr_assert(w);
        spk_test_guarded_download(&spk, w, "spike bits");
        spk_ref_spikes_unpack(w, pb->T * pb->B, pb->N, r->spikes);
        free(w);
    } else if (spiking(c)) {
        spk_test_guarded_download_f32(&spk, r->spikes, "spikes");
    }
    spk_test_guarded_download(&mem, r->mem, "membrane");
    if (cuba(c))
        spk_test_guarded_download(&cur, r->cur, "current");
    spk_test_guarded_download(&sout, r->state_out, "state_out");
    spk_test_guarded_download(&gx, r->gx, "grad_input");
    spk_test_guarded_download(&gsi, r->g_state_in, "grad_state_in");
    spk_test_guarded_download(&gc, r->g_coef, "grad_coef");
    spk_test_guarded_free(&x), spk_test_guarded_free(&coef), spk_test_guarded_free(&sin);
    spk_test_guarded_free(&sout), spk_test_guarded_free(&spk), spk_test_guarded_free(&mem);
    spk_test_guarded_free(&cur), spk_test_guarded_free(&gS), spk_test_guarded_free(&gV);
    spk_test_guarded_free(&gso), spk_test_guarded_free(&gx), spk_test_guarded_free(&gsi);
    spk_test_guarded_free(&gc);
}

/* Spikes must agree exactly, except where the reference membrane is within
 * eps of the threshold; from such a step on, that neuron's trajectory may
 * legitimately differ and is excluded (marked in `diverged`). */
static size_t compare_spikes(const char *name, const problem *pb, const float *got, const float *want,
                             const float *ref_mem, float th, unsigned char *diverged)
{
    size_t BN = pb->B * pb->N, n_div = 0;
    for (size_t t = 0; t < pb->T; t++)
        for (size_t i = 0; i < BN; i++) {
            size_t o = t * BN + i;
            if (diverged[i] || got[o] == want[o])
                continue;
            cr_assert(fabsf(ref_mem[o] - th) <= 1e-4f * fmaxf(1.0f, fabsf(th)),
                      "%s: spike[t=%zu, i=%zu] is %g, reference %g, membrane %.9g is not near threshold %g", name,
                      t, i, (double)got[o], (double)want[o], (double)ref_mem[o], (double)th);
            diverged[i] = 1;
            n_div++;
        }
    cr_assert(n_div * 20 <= BN, "%s: %zu of %zu neurons diverged near threshold", name, n_div, BN);
    return n_div;
}

/* Zero the entries of diverged neurons in both arrays of shape [rows, B*N]. */
static void mask_diverged(float *a, float *b, size_t rows, size_t BN, const unsigned char *diverged)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < BN; i++)
            if (diverged[i])
                a[r * BN + i] = b[r * BN + i] = 0.0f;
}

static void check_case_input(spk_context *ctx, const lif_case *c, size_t T, size_t B, size_t N, uint64_t seed,
                             int static_input)
{
    spk_lif_params p = params_of(c);
    problem pb = {.static_input = static_input};
    results dev, ref;
    problem_make(c, &p, T, B, N, seed, &pb);
    results_alloc(&pb, &dev);
    results_alloc(&pb, &ref);
    run_reference(c, &p, &pb, &ref);
    run_device(ctx, c, &p, &pb, &dev);
    if (static_input) { /* the same bits as the same x given for every step */
        results full;
        results_alloc(&pb, &full);
        pb.static_input = 0;
        run_device(ctx, c, &p, &pb, &full);
        pb.static_input = 1;
        const float *a[] = {dev.spikes, dev.mem, dev.cur, dev.gx}, *b[] = {full.spikes, full.mem, full.cur, full.gx};
        for (int k = 0; k < 4; k++)
            cr_assert(memcmp(a[k], b[k], pb.seq * sizeof(float)) == 0, "%s: static input, output %d differs from "
                      "the broadcast input's", c->name, k);
        /* Summed in the kernel: the per-step gradients added from the last step down. */
        float *sum = spk_test_alloc(B * N);
        for (size_t i = 0; i < B * N; i++)
            for (size_t t = T; t-- > 0;)
                sum[i] = t == T - 1 ? full.gx[t * B * N + i] : sum[i] + full.gx[t * B * N + i];
        cr_assert(memcmp(sum, dev.gx_sum, B * N * sizeof *sum) == 0 &&
                      memcmp(full.gx_sum, dev.gx_sum, B * N * sizeof *sum) == 0,
                  "%s: static input, grad_input summed in the kernel differs from the sum of its steps or from the "
                  "broadcast input's", c->name);
        free(sum);
        cr_assert(memcmp(dev.state_out, full.state_out, pb.st * sizeof(float)) == 0 &&
                      memcmp(dev.g_state_in, full.g_state_in, pb.st * sizeof(float)) == 0 &&
                      memcmp(dev.g_coef, full.g_coef, (size_t)SPK_LIF_NCOEF * N * sizeof(float)) == 0,
                  "%s: static input, state or coefficient gradient differs from the broadcast input's", c->name);
        results_free(&full);
    }

    size_t BN = B * N;
    unsigned char *div = calloc(BN, 1);
    cr_assert(div);
    char what[256];
    float th = p.threshold;
    if (c->per_neuron_coef) /* per-neuron thresholds differ: use the smallest margin */
        th = pb.coef[SPK_COEF_THRESHOLD * N];
    size_t n_div = spiking(c) ? compare_spikes(c->name, &pb, dev.spikes, ref.spikes, ref.mem, th, div) : 0;
    if (spiking(c) && pb.seq >= 1000) { /* the data must exercise both spikes and silence */
        size_t total = 0;
        for (size_t i = 0; i < pb.seq; i++)
            total += ref.spikes[i] > 0.0f;
        cr_assert(total > pb.seq / 50 && total < pb.seq * 9 / 10, "%s: test data gives %zu spikes of %zu steps",
                  c->name, total, pb.seq);
    }
    mask_diverged(dev.mem, ref.mem, T, BN, div);
    mask_diverged(dev.cur, ref.cur, T, BN, div);
    mask_diverged(dev.state_out, ref.state_out, SPK_LIF_NSTATE, BN, div);
    mask_diverged(dev.gx, ref.gx, T, BN, div);
    mask_diverged(dev.g_state_in, ref.g_state_in, SPK_LIF_NSTATE, BN, div);
    mask_diverged(dev.gx_sum, ref.gx_sum, 1, BN, div);
    snprintf(what, sizeof what, "%s: membrane", c->name);
    spk_test_compare(what, dev.mem, ref.mem, pb.seq, 1e-5f, 1e-5f);
    snprintf(what, sizeof what, "%s: current", c->name);
    spk_test_compare(what, dev.cur, ref.cur, pb.seq, 1e-5f, 1e-5f);
    snprintf(what, sizeof what, "%s: state_out", c->name);
    spk_test_compare(what, dev.state_out, ref.state_out, pb.st, 1e-5f, 1e-5f);
    snprintf(what, sizeof what, "%s: grad_input", c->name);
    spk_test_compare(what, dev.gx, ref.gx, pb.seq, 1e-5f, 1e-4f);
    snprintf(what, sizeof what, "%s: grad_input summed over the steps", c->name);
    spk_test_compare(what, dev.gx_sum, ref.gx_sum, BN, 1e-4f, 1e-3f); /* sums of T steps: rounding grows with T */
    snprintf(what, sizeof what, "%s: grad_state_in", c->name);
    spk_test_compare(what, dev.g_state_in, ref.g_state_in, pb.st, 1e-5f, 1e-4f);
    if (n_div == 0) { /* coefficient gradients sum over the batch: only comparable without divergence */
        /* A static input drives every step alike: the sums over T * B grow
         * larger (and their rounding with them) than with varying input. */
        const float tol = static_input ? 1e-3f : 1e-4f;
        snprintf(what, sizeof what, "%s: grad_coef", c->name);
        spk_test_compare(what, dev.g_coef, ref.g_coef, (size_t)SPK_LIF_NCOEF * N, tol, tol);
    }
    free(div);
    results_free(&dev);
    results_free(&ref);
    problem_free(&pb);
}

static void check_case(spk_context *ctx, const lif_case *c, size_t T, size_t B, size_t N, uint64_t seed)
{
    check_case_input(ctx, c, T, B, N, seed, 0);
}

Test(lif, every_variant_matches_reference_on_every_device, .timeout = 600)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        for (size_t i = 0; i < NCASES; i++) {
            check_case(ctx, &CASES[i], 37, 3, 50, 100 + i); /* B*N = 150: not a multiple of the work-group size */
            check_case(ctx, &CASES[i], 1, 1, 1, 200 + i);   /* a single neuron, a single step */
            /* N = 48: 16 neurons per work item on CPU devices, 15 items */
            check_case(ctx, &CASES[i], 37, 5, 48, 300 + i);
        }
    }
}

Test(lif, larger_shapes_match_reference, .timeout = 600)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        check_case(ctx, &CASES[0], 200, 16, 300, 7);
        check_case(ctx, &CASES[6], 100, 7, 1000, 8);
        check_case(ctx, &CASES[11], 100, 7, 1000, 9); /* bit-packed: 31 full words and a partial one per row */
    }
}

/* Bit-packed spikes where N is a multiple of 32: on CPU devices a tile that
 * owns whole words writes each word once, without atomics
 * (SPIKE_STORE_BITS_TILE); one whose vectors do not fill its words (N = 32
 * over 3 rows: one vector per work item) still ORs them in. Every
 * bit-packed case, refractory and immediate reset included. */
Test(lif, bit_packed_whole_words_match_reference, .timeout = 600)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        for (size_t i = 0; i < NCASES; i++) {
            if (CASES[i].spike_dtype != SPIKE_BITS)
                continue;
            /* On a 2-unit CPU device with 8-wide vectors: */
            check_case(ctx, &CASES[i], 60, 5, 256, 400 + i); /* 8 tiles of 160 neurons */
            check_case(ctx, &CASES[i], 20, 33, 32, 500 + i); /* tiles of 128 neurons, the last of 32 */
            check_case(ctx, &CASES[i], 45, 13, 96, 600 + i); /* tiles of 152: words shared, atomics */
            check_case(ctx, &CASES[i], 30, 3, 32, 700 + i);  /* one vector per work item: atomics */
        }
    }
}

/* A static input: io.input [1, B, N] beside [T, B, N] outputs is held for
 * all T steps (a dense layer's product of a static image, spk_lif_io),
 * against the reference reading the same x at every step. Every variant,
 * forward and backward (the input gradient stays per step). */
Test(lif, static_input_matches_reference, .timeout = 600)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        for (size_t i = 0; i < NCASES; i++) {
            check_case_input(ctx, &CASES[i], 37, 3, 50, 800 + i, 1);
            check_case_input(ctx, &CASES[i], 25, 4, 256, 900 + i, 1); /* whole tiles on CPU devices */
        }
    }
}

/* A leaky-integrator readout reads none of the spike-only options: it runs
 * in the program of the spiking layer before it (same CUBA, vector width and
 * tiles), as one row of B*N neurons when it has no coefficient table, so it
 * compiles nothing of its own (docs/neurons.md), also where the layer's
 * vector width does not divide B*N (3 x 7 here: on CPU devices the last
 * vector of each step runs again on its own). Its results are checked
 * against the reference in every_variant_matches_reference_on_every_device
 * (B*N = 150 there). */
static void readout_in_spiking_program(size_t B, size_t C)
{
    enum { T = 4, H = 256 };
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        spk_test_rng r = {77};
        float *hx = spk_test_alloc(T * B * H);
        spk_test_fill_normal(&r, hx, T * B * H, 0.3f, 0.5f);
        spk_tensor *x, *s, *v, *y, *gy, *gx;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, H}, &x));
        SPK_ASSERT_OK(ctx, spk_tensor_upload(x, hx, T * B * H * sizeof *hx));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, H}, &s));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, H}, &v));
        spk_lif_params lif = spk_lif_params_default(SPK_NEURON_LIF), li = spk_lif_params_default(SPK_NEURON_LI);
        spk_lif_io io = {.input = x, .spikes = s, .membrane = v};
        SPK_ASSERT_OK(ctx, spk_lif_forward(ctx, &lif, &io));
        spk_cache_stats before, after;
        SPK_ASSERT_OK(ctx, spk_context_cache_stats(ctx, &before));

        spk_tensor *xr;
        SPK_ASSERT_OK(ctx, spk_tensor_view(x, 0, 3, (size_t[3]){T, B, C}, &xr));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, C}, &y));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, C}, &gy));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, C}, &gx));
        SPK_ASSERT_OK(ctx, spk_tensor_fill_f32(gy, 0.25f));
        spk_lif_io ro = {.input = xr, .membrane = y};
        SPK_ASSERT_OK(ctx, spk_lif_forward(ctx, &li, &ro));
        SPK_ASSERT_OK(ctx, spk_lif_backward(ctx, &li, &ro, &(spk_lif_grads){.grad_membrane = gy, .grad_input = gx}));
        SPK_ASSERT_OK(ctx, spk_context_finish(ctx));
        SPK_ASSERT_OK(ctx, spk_context_cache_stats(ctx, &after));
        cr_assert_eq(after.compiles + after.disk_hits, before.compiles + before.disk_hits,
                     "the readout built a program of its own (%llu compiled, %llu from disk before; %llu, %llu after)",
                     (unsigned long long)before.compiles, (unsigned long long)before.disk_hits,
                     (unsigned long long)after.compiles, (unsigned long long)after.disk_hits);
        spk_tensor_free(x), spk_tensor_free(s), spk_tensor_free(v), spk_tensor_free(xr);
        spk_tensor_free(y), spk_tensor_free(gy), spk_tensor_free(gx);
        free(hx);
    }
}

Test(lif, readout_runs_in_the_spiking_layers_program)
{
    for (int shape = 0; shape < 2; shape++) {
        const size_t B = shape ? 3 : 8, C = shape ? 7 : 10;
        readout_in_spiking_program(B, C);
    }
}

/* Sequences larger than a CPU's last-level cache (PoCL reports its L3;
 * 32 MiB here) may be written with streaming stores (spk__streaming): this
 * shape's forward touches 4 x 33.3 MB, its input alone still fits, so it
 * streams its three outputs; the backward streams its one output. Smaller
 * cases cover the prefetched ordinary stores. */
Test(lif, streaming_stores_match_reference, .timeout = 600)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        check_case(ctx, &CASES[0], 400, 16, 1300, 9);
    }
}

/* ---- The reference backward against finite differences ---------------- */

/* L = sum gS*S + sum gV*V + sum gso*state_out, in double. */
static double fd_loss(const spk_lif_params *p, spk_ref_lif_mode mode, const problem *pb, const float *x,
                      const float *coef, const float *state_in, float *spikes)
{
    float *mem = spk_test_alloc(pb->seq), *so = spk_test_alloc(pb->st);
    spk_ref_lif_io io = {x, coef, state_in, so, spikes, mem, NULL};
    cr_assert(spk_ref_lif_forward(p, mode, pb->T, pb->B, pb->N, &io) == SPK_OK);
    double L = 0.0;
    int spk = p->kind == SPK_NEURON_LIF || p->kind == SPK_NEURON_CUBA_LIF || p->kind == SPK_NEURON_IF;
    for (size_t i = 0; i < pb->seq; i++)
        L += (spk ? (double)pb->gS[i] * spikes[i] : 0.0) + (double)pb->gV[i] * mem[i];
    for (size_t i = 0; i < pb->st; i++)
        L += (double)pb->g_state_out[i] * so[i];
    free(mem), free(so);
    return L;
}

/* Central differences over every entry of `v` (n entries), compared with
 * `grad`. Entries whose perturbation flips a hard spike are skipped. */
static void fd_check(const char *name, const spk_lif_params *p, spk_ref_lif_mode mode, problem *pb, float *v,
                     size_t n, const float *grad, size_t state_rows)
{
    float *s0 = spk_test_alloc(pb->seq), *s1 = spk_test_alloc(pb->seq), *s2 = spk_test_alloc(pb->seq);
    fd_loss(p, mode, pb, pb->x, pb->coef, pb->state_in, s0);
    size_t checked = 0;
    for (size_t i = 0; i < n; i++) {
        if (state_rows && i >= state_rows * pb->B * pb->N)
            break; /* rows past these have no gradient by definition */
        const float keep = v[i], eps = 1e-3f * fmaxf(1.0f, fabsf(keep));
        v[i] = keep + eps;
        double lp = fd_loss(p, mode, pb, pb->x, pb->coef, pb->state_in, s1);
        v[i] = keep - eps;
        double lm = fd_loss(p, mode, pb, pb->x, pb->coef, pb->state_in, s2);
        v[i] = keep;
        if (!mode.smooth_spikes && (memcmp(s0, s1, pb->seq * sizeof(float)) || memcmp(s0, s2, pb->seq * sizeof(float))))
            continue;
        double fd = (lp - lm) / (2.0 * eps);
        cr_assert(fabs(fd - grad[i]) <= 5e-3 + 2e-2 * fabs(fd), "%s[%zu]: backward %.6g, finite difference %.6g",
                  name, i, (double)grad[i], fd);
        checked++;
    }
    cr_assert(checked * 2 >= n || n < 4, "%s: only %zu of %zu entries could be checked", name, checked, n);
    free(s0), free(s1), free(s2);
}

static void fd_case(const lif_case *c, spk_ref_lif_mode mode)
{
    spk_lif_params p = params_of(c);
    if (mode.smooth_spikes) {
        p.surrogate = SPK_SURROGATE_SIGMOID; /* the exact derivative of the smooth forward */
        p.surrogate_scale = 3.0f;
    }
    problem pb;
    problem_make(c, &p, 9, 2, 3, 77, &pb);
    if (!pb.coef) { /* per-neuron coefficients, so that each one can be perturbed */
        float base[SPK_LIF_NCOEF];
        cr_assert(spk_lif_coefficients(&p, base, NULL, 0) == SPK_OK);
        pb.coef = spk_test_alloc((size_t)SPK_LIF_NCOEF * pb.N);
        for (int k = 0; k < SPK_LIF_NCOEF; k++)
            for (size_t n = 0; n < pb.N; n++)
                pb.coef[k * pb.N + n] = base[k];
    }
    if (!mode.smooth_spikes) /* hard spikes: only the membrane path is differentiable */
        memset(pb.gS, 0, pb.seq * sizeof(float));
    size_t BN = pb.B * pb.N;
    for (size_t i = 0; i < BN; i++) {
        pb.state_in[3 * BN + i] = 0.0f;
        if (!mode.smooth_spikes)
            pb.g_state_out[2 * BN + i] = 0.0f;
    }
    float *gx = spk_test_alloc(pb.seq), *gsi = spk_test_alloc(pb.st), *gc = spk_test_alloc(SPK_LIF_NCOEF * pb.N);
    spk_ref_lif_io io = {pb.x, pb.coef, pb.state_in, NULL, NULL, NULL, NULL};
    spk_ref_lif_grads g = {spiking(c) ? pb.gS : NULL, pb.gV, pb.g_state_out, gx, gsi, gc, 0};
    cr_assert(spk_ref_lif_backward(&p, mode, pb.T, pb.B, pb.N, &io, &g) == SPK_OK);
    char what[256];
    snprintf(what, sizeof what, "%s: d/dx", c->name);
    fd_check(what, &p, mode, &pb, pb.x, pb.seq, gx, 0);
    snprintf(what, sizeof what, "%s: d/dstate_in", c->name);
    /* The refractory counter has no gradient; nor has the initial spike when
     * the reset is detached (by definition, though it changes the forward). */
    fd_check(what, &p, mode, &pb, pb.state_in, pb.st, gsi, c->detach && spiking(c) ? 2 : 3);
    /* i_gain/i_decay have no effect without a synaptic current; threshold none without spikes. */
    size_t first = cuba(c) ? 0 : SPK_COEF_V_DECAY, last = spiking(c) ? SPK_LIF_NCOEF : SPK_COEF_THRESHOLD;
    snprintf(what, sizeof what, "%s: d/dcoef", c->name);
    fd_check(what, &p, mode, &pb, pb.coef + first * pb.N, (last - first) * pb.N, gc + first * pb.N, 0);
    free(gx), free(gsi), free(gc);
    problem_free(&pb);
}

Test(lif_reference, backward_matches_finite_differences_with_smooth_spikes)
{
    /* Every reset mode and timing, reset gradient attached, both kinds. */
    for (size_t i = 0; i < NCASES; i++) {
        lif_case c = CASES[i];
        if (!spiking(&c))
            continue;
        c.detach = 0;
        c.refractory = 0;
        fd_case(&c, (spk_ref_lif_mode){1});
    }
}

Test(lif_reference, backward_matches_finite_differences_with_hard_spikes)
{
    /* Readouts are smooth; spiking neurons with a detached reset and a
     * membrane-only loss are differentiable wherever no spike flips. */
    for (size_t i = 0; i < NCASES; i++) {
        lif_case c = CASES[i];
        if (spiking(&c) && !c.detach)
            continue;
        c.refractory = 0;
        fd_case(&c, (spk_ref_lif_mode){0});
    }
}

/* ---- Semantics ------------------------------------------------------ */

/* A neuron without leak driven by 0.25 per step first reaches the
 * threshold 1 at step 3, then every 4 steps; with 2 refractory steps
 * (membrane held at the reset value) every 6. */
Test(lif, analytic_spike_trains)
{
    const size_t T = 48;
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        for (int refr = 0; refr <= 2; refr += 2)
        for (int kind_if = 0; kind_if <= 1; kind_if++) { /* LIF without leak, then the IF kind */
            spk_lif_params p = spk_lif_params_default(kind_if ? SPK_NEURON_IF : SPK_NEURON_LIF);
            p.tau_mem = kind_if ? -1.0f : 1e30f; /* decay exp(-1e-30) is exactly 1 in float; IF ignores tau_mem */
            p.refractory_steps = refr;
            spk_tensor *x, *s, *v;
            size_t shape[3] = {T, 1, 1};
            float hx[48], hs[48];
            for (size_t t = 0; t < T; t++)
                hx[t] = 0.25f;
            SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, shape, &x));
            SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, shape, &s));
            SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, shape, &v));
            SPK_ASSERT_OK(ctx, spk_tensor_upload(x, hx, sizeof hx));
            spk_lif_io io = {.input = x, .spikes = s, .membrane = v};
            SPK_ASSERT_OK(ctx, spk_lif_forward(ctx, &p, &io));
            SPK_ASSERT_OK(ctx, spk_tensor_download(s, hs, sizeof hs));
            size_t period = refr ? 6 : 4;
            for (size_t t = 0; t < T; t++)
                cr_assert(hs[t] == (t >= 3 && (t - 3) % period == 0 ? 1.0f : 0.0f), "refractory %d: spike[%zu] = %g", refr,
                          t, (double)hs[t]);
            spk_tensor_free(x), spk_tensor_free(s), spk_tensor_free(v);
        }
    }
}

/* Two calls chained through the state equal one call over the whole
 * sequence, forward and backward (truncated BPTT joins exactly). */
Test(lif, chained_sequences_equal_one_sequence)
{
    const lif_case *c = &CASES[2]; /* current-based, refractory, per-neuron coefficients */
    spk_lif_params p = params_of(c);
    const size_t T = 40, T1 = 17, B = 2, N = 33, BN = B * N;
    problem pb;
    problem_make(c, &p, T, B, N, 5, &pb);
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        size_t seq[3] = {T, B, N}, st[3] = {SPK_LIF_NSTATE, B, N}, cs[2] = {SPK_LIF_NCOEF, N};
        spk_tensor *x, *coef, *sin, *mid, *sout, *spk, *mem, *cur, *gS, *gx, *gsi, *gmid, *gsi2;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, seq, &x));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, cs, &coef));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, st, &sin));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, st, &mid));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, st, &sout));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, seq, &spk));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, seq, &mem));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, seq, &cur));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, seq, &gS));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, seq, &gx));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, st, &gsi));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, st, &gmid));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, st, &gsi2));
        SPK_ASSERT_OK(ctx, spk_tensor_upload(x, pb.x, pb.seq * 4));
        SPK_ASSERT_OK(ctx, spk_tensor_upload(coef, pb.coef, SPK_LIF_NCOEF * N * 4));
        SPK_ASSERT_OK(ctx, spk_tensor_upload(sin, pb.state_in, pb.st * 4));
        SPK_ASSERT_OK(ctx, spk_tensor_upload(gS, pb.gS, pb.seq * 4));

        /* Whole sequence. */
        spk_lif_io whole = {x, coef, sin, sout, spk, mem, cur, NULL};
        SPK_ASSERT_OK(ctx, spk_lif_forward(ctx, &p, &whole));
        spk_lif_grads gw = {.grad_spikes = gS, .grad_input = gx, .grad_state_in = gsi};
        SPK_ASSERT_OK(ctx, spk_lif_backward(ctx, &p, &whole, &gw));
        float *v_whole = spk_test_alloc(pb.seq), *gx_whole = spk_test_alloc(pb.seq);
        float *so_whole = spk_test_alloc(pb.st), *gsi_whole = spk_test_alloc(pb.st);
        SPK_ASSERT_OK(ctx, spk_tensor_download(mem, v_whole, pb.seq * 4));
        SPK_ASSERT_OK(ctx, spk_tensor_download(gx, gx_whole, pb.seq * 4));
        SPK_ASSERT_OK(ctx, spk_tensor_download(sout, so_whole, pb.st * 4));
        SPK_ASSERT_OK(ctx, spk_tensor_download(gsi, gsi_whole, pb.st * 4));

        /* The same in two pieces, through views along time. */
        spk_tensor *h[2][6];
        const size_t t0[2] = {0, T1}, len[2] = {T1, T - T1};
        spk_tensor *src[6] = {x, spk, mem, cur, gS, gx};
        for (int k = 0; k < 2; k++)
            for (int j = 0; j < 6; j++)
                SPK_ASSERT_OK(ctx, spk_tensor_view(src[j], t0[k] * BN, 3, (size_t[3]){len[k], B, N}, &h[k][j]));
        spk_lif_io first = {h[0][0], coef, sin, mid, h[0][1], h[0][2], h[0][3], NULL};
        spk_lif_io second = {h[1][0], coef, mid, sout, h[1][1], h[1][2], h[1][3], NULL};
        SPK_ASSERT_OK(ctx, spk_lif_forward(ctx, &p, &first));
        SPK_ASSERT_OK(ctx, spk_lif_forward(ctx, &p, &second));
        spk_lif_grads g2 = {.grad_spikes = h[1][4], .grad_input = h[1][5], .grad_state_in = gmid};
        SPK_ASSERT_OK(ctx, spk_lif_backward(ctx, &p, &second, &g2));
        spk_lif_grads g1 = {.grad_spikes = h[0][4], .grad_state_out = gmid, .grad_input = h[0][5],
                            .grad_state_in = gsi2};
        SPK_ASSERT_OK(ctx, spk_lif_backward(ctx, &p, &first, &g1));
        float *v_split = spk_test_alloc(pb.seq), *gx_split = spk_test_alloc(pb.seq);
        float *so_split = spk_test_alloc(pb.st), *gsi_split = spk_test_alloc(pb.st);
        SPK_ASSERT_OK(ctx, spk_tensor_download(mem, v_split, pb.seq * 4));
        SPK_ASSERT_OK(ctx, spk_tensor_download(gx, gx_split, pb.seq * 4));
        SPK_ASSERT_OK(ctx, spk_tensor_download(sout, so_split, pb.st * 4));
        SPK_ASSERT_OK(ctx, spk_tensor_download(gsi2, gsi_split, pb.st * 4));
        spk_test_compare("chained membrane", v_split, v_whole, pb.seq, 0.0f, 0.0f);
        spk_test_compare("chained final state", so_split, so_whole, pb.st, 0.0f, 0.0f);
        spk_test_compare("chained grad_input", gx_split, gx_whole, pb.seq, 0.0f, 0.0f);
        spk_test_compare("chained grad_state_in", gsi_split, gsi_whole, pb.st, 0.0f, 0.0f);
        for (int k = 0; k < 2; k++)
            for (int j = 0; j < 6; j++)
                spk_tensor_free(h[k][j]);
        spk_tensor *all[] = {x, coef, sin, mid, sout, spk, mem, cur, gS, gx, gsi, gmid, gsi2};
        for (size_t j = 0; j < sizeof all / sizeof all[0]; j++)
            spk_tensor_free(all[j]);
        free(v_whole), free(gx_whole), free(so_whole), free(gsi_whole);
        free(v_split), free(gx_split), free(so_split), free(gsi_split);
    }
    problem_free(&pb);
}

/* ---- Invalid arguments ------------------------------------------------ */

typedef struct bad_param {
    const char *field;
    void (*apply)(spk_lif_params *p);
    const char *needle;
} bad_param;

static void neg_tau_mem(spk_lif_params *p) { p->tau_mem = -5.0f; }
static void zero_tau_syn(spk_lif_params *p) { p->tau_syn = 0.0f; }
static void zero_dt(spk_lif_params *p) { p->dt = 0.0f; }
static void neg_dt(spk_lif_params *p) { p->dt = -1.0f; }
static void nan_dt(spk_lif_params *p) { p->dt = NAN; }
static void euler_unstable(spk_lif_params *p) { p->integration = SPK_INTEGRATE_EULER, p->dt = 30.0f; }
static void neg_refractory(spk_lif_params *p) { p->refractory_steps = -1; }
static void zero_scale(spk_lif_params *p) { p->surrogate_scale = 0.0f; }
static void bad_reset(spk_lif_params *p) { p->reset = (spk_reset)9; }
static void bad_surrogate(spk_lif_params *p) { p->surrogate = (spk_surrogate)SPK_SURROGATE_COUNT; }
static void inf_threshold(spk_lif_params *p) { p->threshold = INFINITY; }

static const bad_param BAD_PARAMS[] = {
    {"tau_mem < 0", neg_tau_mem, "tau_mem"}, {"tau_syn = 0", zero_tau_syn, "tau_syn"},
    {"dt = 0", zero_dt, "dt"},               {"dt < 0", neg_dt, "dt"},
    {"dt NaN", nan_dt, "dt"},                {"Euler dt > tau", euler_unstable, "Euler"},
    {"refractory < 0", neg_refractory, "refractory_steps"}, {"surrogate scale 0", zero_scale, "surrogate_scale"},
    {"reset enum", bad_reset, "reset"},      {"surrogate enum", bad_surrogate, "surrogate"},
    {"threshold inf", inf_threshold, "threshold"},
};

Test(lif, invalid_arguments_return_their_status)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        const size_t T = 5, B = 2, N = 3;
        size_t seq[3] = {T, B, N}, st[3] = {SPK_LIF_NSTATE, B, N}, wrong[3] = {T, B, N + 1}, flat[2] = {T, B * N};
        spk_tensor *x, *s, *v, *c, *sin, *bad, *flat_x, *u8;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, seq, &x));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, seq, &s));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, seq, &v));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, seq, &c));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, st, &sin));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, wrong, &bad));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, flat, &flat_x));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_U8, 3, seq, &u8));
        spk_tensor_fill_f32(x, 0.5f);
        spk_lif_params p = spk_lif_params_default(SPK_NEURON_CUBA_LIF);
        spk_lif_params li = spk_lif_params_default(SPK_NEURON_LI);
        spk_lif_io ok = {.input = x, .spikes = s, .membrane = v, .current = c};
        SPK_ASSERT_OK(ctx, spk_lif_forward(ctx, &p, &ok));

        /* Null handles. */
        SPK_ASSERT_STATUS(NULL, spk_lif_forward(NULL, &p, &ok), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(ctx, spk_lif_forward(ctx, NULL, &ok), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(ctx, spk_lif_forward(ctx, &p, NULL), SPK_ERR_NULL_POINTER, "NULL");
        spk_lif_io io = ok;
        io.input = NULL;
        SPK_ASSERT_STATUS(ctx, spk_lif_forward(ctx, &p, &io), SPK_ERR_NULL_POINTER, "io.input");
        SPK_ASSERT_STATUS(ctx, spk_lif_backward(ctx, &p, &ok, NULL), SPK_ERR_NULL_POINTER, "grads");

        /* Shapes and data types. */
        io = ok, io.spikes = bad;
        SPK_ASSERT_STATUS(ctx, spk_lif_forward(ctx, &p, &io), SPK_ERR_SHAPE, "io.spikes has shape [5, 2, 4]");
        io = ok, io.input = flat_x;
        SPK_ASSERT_STATUS(ctx, spk_lif_forward(ctx, &p, &io), SPK_ERR_SHAPE, "[T, B, N]");
        io = ok, io.state_in = x;
        SPK_ASSERT_STATUS(ctx, spk_lif_forward(ctx, &p, &io), SPK_ERR_SHAPE, "io.state_in");
        io = ok, io.coef = x;
        SPK_ASSERT_STATUS(ctx, spk_lif_forward(ctx, &p, &io), SPK_ERR_SHAPE, "io.coef");
        io = ok, io.membrane = u8;
        SPK_ASSERT_STATUS(ctx, spk_lif_forward(ctx, &p, &io), SPK_ERR_DTYPE, "io.membrane");
        io = ok, io.state_in = sin, io.state_out = sin;
        SPK_ASSERT_STATUS(ctx, spk_lif_forward(ctx, &p, &io), SPK_ERR_INVALID_ARGUMENT, "state_out");

        /* Outputs that the kind requires or forbids. */
        io = ok, io.spikes = NULL;
        SPK_ASSERT_STATUS(ctx, spk_lif_forward(ctx, &p, &io), SPK_ERR_INVALID_ARGUMENT, "io.spikes");
        io = ok, io.current = NULL;
        SPK_ASSERT_STATUS(ctx, spk_lif_forward(ctx, &li, &io), SPK_ERR_INVALID_ARGUMENT, "no spikes");
        io.spikes = NULL, io.current = c;
        SPK_ASSERT_STATUS(ctx, spk_lif_forward(ctx, &li, &io), SPK_ERR_INVALID_ARGUMENT, "io.current");
        io.current = NULL, io.membrane = NULL;
        SPK_ASSERT_STATUS(ctx, spk_lif_forward(ctx, &li, &io), SPK_ERR_INVALID_ARGUMENT, "io.membrane");

        /* Backward needs what the forward saved. */
        spk_lif_grads g = {.grad_spikes = x, .grad_input = v};
        io = ok, io.membrane = NULL;
        SPK_ASSERT_STATUS(ctx, spk_lif_backward(ctx, &p, &io, &g), SPK_ERR_INVALID_ARGUMENT, "membrane");
        io = ok, io.current = NULL;
        SPK_ASSERT_STATUS(ctx, spk_lif_backward(ctx, &p, &io, &g), SPK_ERR_INVALID_ARGUMENT, "io.current");
        g.grad_spikes = u8;
        SPK_ASSERT_STATUS(ctx, spk_lif_backward(ctx, &p, &ok, &g), SPK_ERR_DTYPE, "grads.grad_spikes");
        g.grad_spikes = NULL, g.grad_input = bad;
        SPK_ASSERT_STATUS(ctx, spk_lif_backward(ctx, &p, &ok, &g), SPK_ERR_SHAPE, "grads.grad_input");

        /* Parameters. */
        for (size_t i = 0; i < sizeof BAD_PARAMS / sizeof BAD_PARAMS[0]; i++) {
            spk_lif_params q = p;
            BAD_PARAMS[i].apply(&q);
            spk_status r = spk_lif_forward(ctx, &q, &ok);
            cr_assert(r == SPK_ERR_INVALID_ARGUMENT, "%s: got %s", BAD_PARAMS[i].field, spk_status_name(r));
            cr_assert(strstr(spk_context_last_error(ctx), BAD_PARAMS[i].needle), "%s: message '%s'",
                      BAD_PARAMS[i].field, spk_context_last_error(ctx));
            r = spk_lif_backward(ctx, &q, &ok, &(spk_lif_grads){.grad_input = v});
            cr_assert(r == SPK_ERR_INVALID_ARGUMENT, "%s (backward): got %s", BAD_PARAMS[i].field,
                      spk_status_name(r));
        }

        /* T = 0 cannot even be expressed: a tensor extent of 0 is refused. */
        spk_tensor *empty = NULL;
        SPK_ASSERT_STATUS(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){0, B, N}, &empty),
                          SPK_ERR_INVALID_ARGUMENT, "extent 0");
        cr_assert(empty == NULL);

        /* Tensors of another context. */
        spk_context *other = spk_test_context(spk_sel_[spk_d_], 1);
        spk_tensor *foreign;
        SPK_ASSERT_OK(other, spk_tensor_create(other, SPK_F32, 3, seq, &foreign));
        io = ok, io.membrane = foreign;
        SPK_ASSERT_STATUS(ctx, spk_lif_forward(ctx, &p, &io), SPK_ERR_CONTEXT, "io.membrane");
        spk_tensor_free(foreign);
        spk_context_free(other);

        spk_tensor *all[] = {x, s, v, c, sin, bad, flat_x, u8};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            spk_tensor_free(all[i]);
    }
}
