/* Host side of kernels/lif.cl: parameter checks, structural options and
 * launches. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ops/ops_internal.h"
#include "ops/spikes_internal.h"

static const char *const SURROGATE_NAMES[SPK_SURROGATE_COUNT] = {
    "fast_sigmoid", "arctan", "sigmoid", "triangle", "boxcar", "gaussian", "straight_through"};
static const float SURROGATE_SCALES[SPK_SURROGATE_COUNT] = {25.0f, 2.0f, 25.0f, 1.0f, 0.5f, 0.5f, 1.0f};

const char *spk_surrogate_name(spk_surrogate s)
{
    return (unsigned)s < SPK_SURROGATE_COUNT ? SURROGATE_NAMES[s] : NULL;
}

float spk_surrogate_default_scale(spk_surrogate s)
{
    return (unsigned)s < SPK_SURROGATE_COUNT ? SURROGATE_SCALES[s] : 0.0f;
}

spk_lif_params spk_lif_params_default(spk_neuron_kind kind)
{
    spk_lif_params p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    p.integration = SPK_INTEGRATE_EXACT;
    p.dt = 1.0f;
    p.tau_mem = 20.0f;
    p.tau_syn = 10.0f;
    p.threshold = 1.0f;
    p.v_reset = 0.0f;
    p.reset = SPK_RESET_SUBTRACT;
    p.reset_timing = SPK_RESET_NEXT_STEP;
    p.detach_reset = 1;
    p.refractory_steps = 0;
    p.surrogate = SPK_SURROGATE_FAST_SIGMOID;
    p.surrogate_scale = 25.0f;
    return p;
}

int spk__lif_is_cuba(spk_neuron_kind k)
{
    return k == SPK_NEURON_CUBA_LIF || k == SPK_NEURON_CUBA_LI;
}

int spk__lif_is_spiking(spk_neuron_kind k)
{
    return k == SPK_NEURON_LIF || k == SPK_NEURON_CUBA_LIF || k == SPK_NEURON_IF;
}


/* Decay and gain of one time constant under the integration scheme. */
static void decay_gain(spk_integration scheme, float dt, float tau, float *decay, float *gain)
{
    if (scheme == SPK_INTEGRATE_EXACT) {
        *decay = expf(-dt / tau);
        *gain = 1.0f;
    } else {
        *decay = 1.0f - dt / tau;
        *gain = dt / tau;
    }
}

spk_status spk_lif_coefficients(const spk_lif_params *p, float coef[SPK_LIF_NCOEF], char *msg, size_t msg_size)
{
    if (!p || !coef)
        SPK_REJECT("params or coef is NULL");
    if ((unsigned)p->kind > SPK_NEURON_IF)
        SPK_REJECT("kind %d is not a spk_neuron_kind", (int)p->kind);
    if ((unsigned)p->integration > SPK_INTEGRATE_EULER)
        SPK_REJECT("integration %d is not a spk_integration", (int)p->integration);
    if ((unsigned)p->reset > SPK_RESET_NONE)
        SPK_REJECT("reset %d is not a spk_reset", (int)p->reset);
    if ((unsigned)p->reset_timing > SPK_RESET_IMMEDIATE)
        SPK_REJECT("reset_timing %d is not a spk_reset_timing", (int)p->reset_timing);
    if ((unsigned)p->surrogate >= SPK_SURROGATE_COUNT)
        SPK_REJECT("surrogate %d is not a spk_surrogate", (int)p->surrogate);
    if (!(p->dt > 0.0f) || !isfinite(p->dt))
        SPK_REJECT("dt must be positive and finite (got %g)", (double)p->dt);
    int leaky = p->kind != SPK_NEURON_IF; /* IF has no membrane time constant */
    if (leaky && (!(p->tau_mem > 0.0f) || !isfinite(p->tau_mem)))
        SPK_REJECT("tau_mem must be positive and finite (got %g)", (double)p->tau_mem);
    int cuba = spk__lif_is_cuba(p->kind);
    if (cuba && (!(p->tau_syn > 0.0f) || !isfinite(p->tau_syn)))
        SPK_REJECT("tau_syn must be positive and finite (got %g)", (double)p->tau_syn);
    if (leaky && p->integration == SPK_INTEGRATE_EULER && p->dt > p->tau_mem)
        SPK_REJECT("Euler integration needs dt <= tau_mem for a non-negative decay (dt %g, tau_mem %g); use exact "
               "integration or a smaller dt", (double)p->dt, (double)p->tau_mem);
    if (cuba && p->integration == SPK_INTEGRATE_EULER && p->dt > p->tau_syn)
        SPK_REJECT("Euler integration needs dt <= tau_syn for a non-negative decay (dt %g, tau_syn %g)", (double)p->dt,
               (double)p->tau_syn);
    if (!isfinite(p->threshold) || !isfinite(p->v_reset))
        SPK_REJECT("threshold and v_reset must be finite");
    if (p->refractory_steps < 0)
        SPK_REJECT("refractory_steps must be >= 0 (got %d)", p->refractory_steps);
    if (p->surrogate != SPK_SURROGATE_STRAIGHT_THROUGH && (!(p->surrogate_scale > 0.0f) || !isfinite(p->surrogate_scale)))
        SPK_REJECT("surrogate_scale must be positive and finite (got %g)", (double)p->surrogate_scale);
    float i_decay = 0.0f, i_gain = 1.0f, v_decay, v_gain;
    if (cuba)
        decay_gain(p->integration, p->dt, p->tau_syn, &i_decay, &i_gain);
    decay_gain(p->integration, p->dt, p->tau_mem, &v_decay, &v_gain);
    if (!leaky)
        v_decay = v_gain = 1.0f;
    coef[SPK_COEF_I_DECAY] = i_decay;
    coef[SPK_COEF_I_GAIN] = i_gain;
    coef[SPK_COEF_V_DECAY] = v_decay;
    coef[SPK_COEF_V_GAIN] = v_gain;
    coef[SPK_COEF_THRESHOLD] = p->threshold;
    return SPK_OK;
}

/* The -D options that select the program variant. Whether the neurons
 * spike is a kernel argument, not an option, so that a readout can run in
 * the program of the spiking layer before it (readout_options).
 * coef_table: the call has a coefficient table or asks for its gradient
 * (-DCOEF_TABLE=1); without, the kernels read no table and the backward
 * neither keeps nor computes coefficient gradients. */
static void lif_options(const spk_context *ctx, const spk_lif_params *p, spk_dtype spike_dtype, int bits, int vw,
                        int coef_table, char *buf, size_t cap)
{
    snprintf(buf, cap, "-DCUBA=%d -DRESET=%d -DIMMEDIATE=%d -DDETACH=%d -DREFRAC=%d -DSURROGATE=%d "
             "-DSPIKE_T=%s -DSPIKE_BITS=%d -DSPIKE_F32=%d -DCHUNK_MAX=%d -DVW=%d -DCOEF_TABLE=%d",
             spk__lif_is_cuba(p->kind), (int)p->reset,
             p->reset_timing == SPK_RESET_IMMEDIATE, p->detach_reset != 0, p->refractory_steps > 0,
             (int)p->surrogate, bits ? "uint" : spike_dtype == SPK_U8 ? "uchar" : "float", bits,
             !bits && spike_dtype != SPK_U8, spk__tile_max(ctx), vw, coef_table != 0);
}

/* A readout (no spikes) reads none of the options that only spiking
 * neurons use (reset, surrogate, spike type): it takes the program of a
 * spiking layer already built (or expected) with the same CUBA, VW and tiles
 * and without refractory counting (whose counter a readout keeps too), one
 * program and two kernels fewer to compile. Whether there is one; its
 * options then in buf. */
static int readout_program(const spk_context *ctx, const spk_lif_params *p, int vw, int coef_table, char *buf,
                           size_t cap)
{
    char cuba[16], vws[24], chunk[24], table[24];
    snprintf(cuba, sizeof cuba, "-DCUBA=%d", spk__lif_is_cuba(p->kind));
    snprintf(vws, sizeof vws, "-DVW=%d", vw);
    snprintf(chunk, sizeof chunk, "-DCHUNK_MAX=%d", spk__tile_max(ctx));
    snprintf(table, sizeof table, "-DCOEF_TABLE=%d", coef_table != 0);
    const char *const words[] = {cuba, "-DREFRAC=0", vws, chunk, table};
    const char *found = p->refractory_steps == 0 ? spk__program_options_with(ctx, "lif.cl", words, 5) : NULL;
    if (found)
        spk__copy_str(buf, cap, found);
    return found != NULL;
}

/* The options of a call whose kernel runs rows of kN neurons; returns the
 * vector width, which divides kN except for a flat readout (one row of B*N
 * without coefficients) on CPU devices: that one takes any width up to the
 * native one and kN, so that it can run in the spiking layers' program
 * (vectors of 16 there with AVX-512, where B*N = 100*10 allows only 8; a
 * second program cost 0.4 s of a cold start), and the last vector of each
 * step runs again on its own (tail_shift). */
static int call_options(const spk_context *ctx, const spk_lif_params *p, spk_dtype spike_dtype, int bits, size_t kN,
                        int flat, int coef_table, char *buf, size_t cap)
{
    int vw = spk__vector_width(ctx, kN);
    if (spk__lif_is_spiking(p->kind)) {
        lif_options(ctx, p, spike_dtype, bits, vw, coef_table, buf, cap);
        return vw;
    }
    if (flat && spk__tile_max(ctx) > 1) {
        int widest = 0;
        for (int w = spk__native_vector_width(ctx); w >= 1; w /= 2) {
            if ((size_t)w > kN)
                continue;
            if (!widest)
                widest = w;
            if (readout_program(ctx, p, w, coef_table, buf, cap))
                return w;
        }
        vw = widest;
    } else if (readout_program(ctx, p, vw, coef_table, buf, cap)) {
        return vw;
    }
    lif_options(ctx, p, SPK_F32, 0, vw, coef_table, buf, cap);
    return vw;
}

void spk__lif_expect(spk_context *ctx, const spk_lif_params *p, int bits, size_t B, size_t N, int has_coef)
{
    char opts[256];
    const int flat = !spk__lif_is_spiking(p->kind) && !has_coef;
    call_options(ctx, p, SPK_F32, bits, flat ? B * N : N, flat, has_coef, opts, sizeof opts);
    spk__program_expect(ctx, "lif.cl", opts);
}

spk_status spk__lif_warmup(spk_context *ctx)
{
    spk_lif_params p = spk_lif_params_default(SPK_NEURON_CUBA_LIF);
    char opts[256];
    cl_program prog;
    lif_options(ctx, &p, SPK_F32, 0, spk__vector_width(ctx, 16), 0, opts, sizeof opts);
    return spk__program_get(ctx, "lif.cl", opts, &prog);
}

spk_status spk__check_neuron_input(spk_context *ctx, const char *fn, const spk_tensor *input,
                                   const spk_tensor *state_in, const spk_tensor *state_out, size_t nstate,
                                   size_t seq[3], size_t state[3])
{
    spk_status st = SPK_OK;
    SPK_CHECK(ctx, input != NULL, SPK_ERR_NULL_POINTER, "%s: io.input is NULL", fn);
    SPK_CHECK(ctx, spk_tensor_ndim(input) == 3, SPK_ERR_SHAPE, "%s: io.input must be [T, B, N] (got %d dimensions)",
              fn, spk_tensor_ndim(input));
    for (int d = 0; d < 3; d++)
        seq[d] = spk_tensor_dim(input, d);
    SPK_CHECK(ctx, seq[0] <= 0x7fffffff && seq[1] * seq[2] <= 0x7fffffffu, SPK_ERR_SHAPE,
              "%s: input [%zu, %zu, %zu] is too large", fn, seq[0], seq[1], seq[2]);
    memcpy(state, (size_t[3]){nstate, seq[1], seq[2]}, 3 * sizeof *state);
    SPK_TRY(spk__check_tensor(ctx, input, "io.input", SPK_F32, 3, seq));
    if (state_in)
        SPK_TRY(spk__check_tensor(ctx, state_in, "io.state_in", SPK_F32, 3, state));
    if (state_out) {
        SPK_TRY(spk__check_tensor(ctx, state_out, "io.state_out", SPK_F32, 3, state));
        SPK_CHECK(ctx, state_out != state_in, SPK_ERR_INVALID_ARGUMENT, "%s: io.state_out must not be io.state_in",
                  fn);
    }
fail:
    return st;
}

/* Validated view of a forward call. */
typedef struct lif_call {
    float coef[SPK_LIF_NCOEF];
    size_t T, B, N;
    size_t kB, kN;     /* B and N as the kernel runs them: 1 and B*N for a flat readout */
    int spiking;
    int static_input;  /* io.input is [1, B, N], held for all T steps */
    size_t seq[3], state[3], coef_shape[2];
    spk_dtype spike_dtype;
    int bits;          /* the spikes are bit-packed (io.spike_bits) */
    int vw;            /* neurons per vector */
    spk__tiling tiles; /* over the B*N / VW vectors */
    char options[256];
} lif_call;

static spk_status check_forward(spk_context *ctx, const char *fn, const spk_lif_params *p, const spk_lif_io *io,
                                int for_backward, int grad_coef, lif_call *c)
{
    spk_status st = SPK_OK;
    char why[256];
    SPK_CHECK(ctx, ctx && p && io, SPK_ERR_NULL_POINTER, "%s: ctx, params or io is NULL", fn);
    st = spk_lif_coefficients(p, c->coef, why, sizeof why);
    SPK_CHECK(ctx, st == SPK_OK, st, "%s: %s", fn, why);
    SPK_TRY(spk__check_neuron_input(ctx, fn, io->input, io->state_in, for_backward ? NULL : io->state_out,
                                    SPK_LIF_NSTATE, c->seq, c->state));
    /* An input of one step with longer sequences beside it is a static
     * input: T comes from those (spk_lif_io). */
    const spk_tensor *seq_out = io->membrane ? io->membrane : io->spikes ? io->spikes : io->current;
    c->static_input = c->seq[0] == 1 && seq_out && spk_tensor_ndim(seq_out) == 3 && spk_tensor_dim(seq_out, 0) > 1;
    if (c->static_input) {
        c->seq[0] = spk_tensor_dim(seq_out, 0);
        SPK_CHECK(ctx, c->seq[0] <= 0x7fffffff, SPK_ERR_SHAPE, "%s: %zu steps are too many", fn, c->seq[0]);
    }
    c->T = c->seq[0], c->B = c->seq[1], c->N = c->seq[2];
    memcpy(c->coef_shape, (size_t[2]){SPK_LIF_NCOEF, c->N}, sizeof c->coef_shape);
    if (io->coef)
        SPK_TRY(spk__check_tensor(ctx, io->coef, "io.coef", SPK_F32, 2, c->coef_shape));
    int spiking = spk__lif_is_spiking(p->kind), cuba = spk__lif_is_cuba(p->kind);
    c->spike_dtype = SPK_F32;
    c->bits = io->spike_bits != NULL;
    if (spiking) {
        SPK_CHECK(ctx, (io->spikes != NULL) != c->bits, SPK_ERR_INVALID_ARGUMENT,
                  "%s: spiking neurons need one of io.spikes and io.spike_bits (got %s)", fn,
                  c->bits ? "both" : "neither");
        if (c->bits) {
            char what[64];
            snprintf(what, sizeof what, "%s: io.spike_bits", fn);
            SPK_TRY(spk__check_spike_bits(ctx, io->spike_bits, what, c->T * c->B, c->N));
        } else {
            SPK_TRY(spk__check_tensor_any(ctx, io->spikes, "io.spikes", 3, c->seq));
            c->spike_dtype = spk_tensor_dtype(io->spikes);
        }
    } else {
        SPK_CHECK(ctx, io->spikes == NULL && !c->bits, SPK_ERR_INVALID_ARGUMENT,
                  "%s: a leaky integrator readout has no spikes: io.spikes and io.spike_bits must be NULL", fn);
        SPK_CHECK(ctx, io->membrane != NULL, SPK_ERR_INVALID_ARGUMENT,
                  "%s: a leaky integrator readout needs io.membrane (its output)", fn);
    }
    if (io->membrane)
        SPK_TRY(spk__check_tensor(ctx, io->membrane, "io.membrane", SPK_F32, 3, c->seq));
    if (io->current) {
        SPK_CHECK(ctx, cuba, SPK_ERR_INVALID_ARGUMENT,
                  "%s: io.current is only for current-based kinds; this kind has no synaptic current", fn);
        SPK_TRY(spk__check_tensor(ctx, io->current, "io.current", SPK_F32, 3, c->seq));
    }
    if (for_backward) {
        SPK_CHECK(ctx, io->membrane != NULL, SPK_ERR_INVALID_ARGUMENT,
                  "%s: backward needs the forward's io.membrane", fn);
        SPK_CHECK(ctx, !cuba || io->current != NULL, SPK_ERR_INVALID_ARGUMENT,
                  "%s: backward of a current-based kind needs the forward's io.current", fn);
    }
    /* A readout without per-neuron coefficients (nor their gradient) is the
     * same for every neuron: it runs as one row of B*N, at the vector width
     * of the whole batch (10 classes alone would get 2 lanes). */
    c->spiking = spiking;
    const int flat = !spiking && !io->coef && !grad_coef;
    c->kB = flat ? 1 : c->B, c->kN = flat ? c->B * c->N : c->N;
    /* a table, or the wish for its gradient (a forward with a table: its backward may want it) */
    c->vw = call_options(ctx, p, c->spike_dtype, c->bits, c->kN, flat, io->coef || grad_coef, c->options,
                         sizeof c->options);
    c->tiles = spk__tiling_for(ctx, c->B * c->N / (size_t)c->vw);
fail:
    return st;
}

/* The spikes as kernel arguments: F32/U8 in elements, bit-packed in words. */
static spk__buf spike_buf(const spk_lif_io *io)
{
    return io->spike_bits ? spk__buf_words(io->spike_bits) : spk__buf_or(io->spikes, io->input);
}

/* b moved on by `shift` elements, where present. */
static spk__buf shifted(spk__buf b, cl_ulong shift)
{
    if (b.present)
        b.offset += shift;
    return b;
}

/* The tail of a flat readout whose B*N the vector width does not divide:
 * after the tiles of whole vectors, the last VW neurons of each step run
 * again in one work item, every tensor offset moved on by B*N - VW (they all
 * index the same B*N neurons per step and per state row), without streaming
 * stores (those rows start off the vector grid). The neurons that both
 * launches run get the same values twice: the kernels only store (no output
 * is read or added to) and state_in is not state_out. 0: no tail. */
static cl_ulong tail_shift(const lif_call *c)
{
    return c->kN % (size_t)c->vw ? (cl_ulong)(c->kN - (size_t)c->vw) : 0;
}

/* The forward's kernel arguments, the buffers moved on by `shift`. */
typedef struct fwd_args {
    cl_int T, B, N, refrac, spiking;
    cl_float vr;
    cl_ulong x_ts;
    spk__buf x, coef, si, so, sp, mem, cur;
} fwd_args;

static spk_status set_forward_args(spk_context *ctx, cl_kernel k, const lif_call *c, const fwd_args *a,
                                   cl_ulong shift, cl_int chunk, cl_int stream)
{
    spk__buf x = shifted(a->x, shift), coef = shifted(a->coef, shift), si = shifted(a->si, shift);
    spk__buf so = shifted(a->so, shift), sp = shifted(a->sp, shift), mem = shifted(a->mem, shift);
    spk__buf cur = shifted(a->cur, shift);
    return SPK_SET_ARGS(ctx, k, SPK_ARG(a->T), SPK_ARG(a->B), SPK_ARG(a->N), SPK_ARG(chunk), SPK_ARG(stream),
                        SPK_ARG(a->spiking), SPK_BUF(x), SPK_ARG(a->x_ts), SPK_BUF(coef), SPK_ARG(coef.present),
                        SPK_ARG(c->coef[0]), SPK_ARG(c->coef[1]), SPK_ARG(c->coef[2]), SPK_ARG(c->coef[3]),
                        SPK_ARG(c->coef[4]), SPK_ARG(a->vr), SPK_ARG(a->refrac), SPK_BUF(si), SPK_ARG(si.present),
                        SPK_BUF(so), SPK_ARG(so.present), SPK_BUF(sp), SPK_ARG(sp.present), SPK_BUF(mem),
                        SPK_ARG(mem.present), SPK_BUF(cur), SPK_ARG(cur.present));
}

spk_status spk_lif_forward(spk_context *ctx, const spk_lif_params *p, const spk_lif_io *io)
{
    spk_status st = SPK_OK;
    lif_call c;
    cl_kernel k;
    SPK_TRY(check_forward(ctx, "spk_lif_forward", p, io, 0, 0, &c));
    SPK_TRY(spk__kernel_get(ctx, "lif.cl", c.options, "lif_forward", &k));
    const fwd_args a = {
        .T = (cl_int)c.T, .B = (cl_int)c.kB, .N = (cl_int)c.kN, .refrac = p->refractory_steps,
        .spiking = c.spiking, .vr = p->v_reset, .x_ts = c.static_input ? 0 : (cl_ulong)c.B * c.N,
        .x = spk__buf_of(io->input), .coef = spk__buf_or(io->coef, io->input),
        .si = spk__buf_or(io->state_in, io->input), .so = spk__buf_or(io->state_out, io->input),
        .sp = spike_buf(io), .mem = spk__buf_or(io->membrane, io->input), .cur = spk__buf_or(io->current, io->input),
    };
    const spk_tensor *outs[] = {io->spikes, io->membrane, io->current};
    const spk_tensor *seqs[] = {io->input, io->spikes, io->spike_bits, io->membrane, io->current};
    const cl_ulong tail = tail_shift(&c);
    const cl_int stream = !tail && spk__streaming_seqs(ctx, seqs, 5, outs, 3, c.vw);
    if (c.bits) /* the kernel sets the bits of the spikes only */
        SPK_TRY(spk_tensor_fill_u8(io->spike_bits, 0));
    SPK_TRY(set_forward_args(ctx, k, &c, &a, 0, c.tiles.chunk, stream));
    SPK_TRY(spk__launch_1d_groups(ctx, k, c.tiles.items, c.tiles.local));
    if (tail) {
        SPK_TRY(set_forward_args(ctx, k, &c, &a, tail, 1, 0));
        SPK_TRY(spk__launch_1d_groups(ctx, k, 1, 1));
    }
fail:
    return st;
}

/* The backward's kernel arguments, the buffers moved on by `shift` (the
 * coefficient partial is written by absolute index: never moved). */
typedef struct bwd_args {
    cl_int T, B, N, refrac, spiking;
    cl_float vr, sscale;
    cl_ulong x_ts;
    spk__buf x, coef, si, sp, mem, cur, gs, gv, gso, gx, gsi, part;
} bwd_args;

static spk_status set_backward_args(spk_context *ctx, cl_kernel k, const lif_call *c, const bwd_args *a,
                                    cl_ulong shift, cl_int chunk, cl_int stream)
{
    spk__buf x = shifted(a->x, shift), coef = shifted(a->coef, shift), si = shifted(a->si, shift);
    spk__buf sp = shifted(a->sp, shift), mem = shifted(a->mem, shift), cur = shifted(a->cur, shift);
    spk__buf gs = shifted(a->gs, shift), gv = shifted(a->gv, shift), gso = shifted(a->gso, shift);
    spk__buf gx = shifted(a->gx, shift), gsi = shifted(a->gsi, shift);
    return SPK_SET_ARGS(ctx, k, SPK_ARG(a->T), SPK_ARG(a->B), SPK_ARG(a->N), SPK_ARG(chunk), SPK_ARG(stream),
                        SPK_ARG(a->spiking), SPK_BUF(x), SPK_ARG(a->x_ts), SPK_BUF(coef), SPK_ARG(coef.present),
                        SPK_ARG(c->coef[0]), SPK_ARG(c->coef[1]), SPK_ARG(c->coef[2]), SPK_ARG(c->coef[3]),
                        SPK_ARG(c->coef[4]), SPK_ARG(a->vr), SPK_ARG(a->refrac), SPK_ARG(a->sscale), SPK_BUF(si),
                        SPK_ARG(si.present), SPK_BUF(sp), SPK_BUF(mem), SPK_BUF(cur), SPK_BUF(gs),
                        SPK_ARG(gs.present), SPK_BUF(gv), SPK_ARG(gv.present), SPK_BUF(gso), SPK_ARG(gso.present),
                        SPK_BUF(gx), SPK_ARG(gx.present), SPK_BUF(gsi), SPK_ARG(gsi.present), SPK_ARG(a->part.mem),
                        SPK_ARG(a->part.present));
}

spk_status spk_lif_backward(spk_context *ctx, const spk_lif_params *p, const spk_lif_io *fwd,
                            const spk_lif_grads *g)
{
    spk_status st = SPK_OK;
    lif_call c;
    cl_kernel k, kr;
    spk_tensor *partial = NULL;
    SPK_TRY(check_forward(ctx, "spk_lif_backward", p, fwd, 1, g && g->grad_coef, &c));
    SPK_CHECK(ctx, g != NULL, SPK_ERR_NULL_POINTER, "spk_lif_backward: grads is NULL");
    if (g->grad_spikes) {
        SPK_CHECK(ctx, spk__lif_is_spiking(p->kind), SPK_ERR_INVALID_ARGUMENT,
                  "spk_lif_backward: a leaky integrator readout has no spikes: grad_spikes must be NULL");
        SPK_TRY(spk__check_tensor(ctx, g->grad_spikes, "grads.grad_spikes", SPK_F32, 3, c.seq));
    }
    if (g->grad_membrane)
        SPK_TRY(spk__check_tensor(ctx, g->grad_membrane, "grads.grad_membrane", SPK_F32, 3, c.seq));
    if (g->grad_state_out)
        SPK_TRY(spk__check_tensor(ctx, g->grad_state_out, "grads.grad_state_out", SPK_F32, 3, c.state));
    /* The input's gradient may come summed over the steps, [1, B, N] (what a static input receives). */
    const size_t once[3] = {1, c.B, c.N};
    const int gx_once = g->grad_input && c.T > 1 && spk_tensor_dim(g->grad_input, 0) == 1;
    if (g->grad_input)
        SPK_TRY(spk__check_tensor(ctx, g->grad_input, "grads.grad_input", SPK_F32, 3, gx_once ? once : c.seq));
    if (g->grad_state_in)
        SPK_TRY(spk__check_tensor(ctx, g->grad_state_in, "grads.grad_state_in", SPK_F32, 3, c.state));
    if (g->grad_coef) {
        SPK_TRY(spk__check_tensor(ctx, g->grad_coef, "grads.grad_coef", SPK_F32, 2, c.coef_shape));
        SPK_TRY(spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){SPK_LIF_NCOEF, c.B, c.N}, &partial));
    }
    SPK_TRY(spk__kernel_get(ctx, "lif.cl", c.options, "lif_backward", &k));
    const spk_tensor *any = fwd->input;
    bwd_args a = {
        .T = (cl_int)c.T, .B = (cl_int)c.kB, .N = (cl_int)c.kN, .refrac = p->refractory_steps,
        .spiking = c.spiking, .vr = p->v_reset, .sscale = p->surrogate_scale,
        .x_ts = c.static_input ? 0 : (cl_ulong)c.B * c.N,
        .x = spk__buf_of(fwd->input), .coef = spk__buf_or(fwd->coef, any), .si = spk__buf_or(fwd->state_in, any),
        .sp = spike_buf(fwd), .mem = spk__buf_of(fwd->membrane), .cur = spk__buf_or(fwd->current, any),
        .gs = spk__buf_or(g->grad_spikes, any), .gv = spk__buf_or(g->grad_membrane, any),
        .gso = spk__buf_or(g->grad_state_out, any), .gx = spk__buf_or(g->grad_input, any),
        .gsi = spk__buf_or(g->grad_state_in, any), .part = spk__buf_or(partial, any),
    };
    a.gx.present = a.gx.present ? 1 + gx_once : 0; /* the kernel's has_gx: 1 per step, 2 summed */
    const spk_tensor *outs[] = {gx_once ? NULL : g->grad_input};
    const spk_tensor *seqs[] = {fwd->input, fwd->spikes, fwd->membrane, fwd->current, g->grad_spikes,
                                g->grad_membrane, g->grad_input};
    const cl_ulong tail = tail_shift(&c); /* flat: no coefficients, so no partial to move */
    const cl_int stream = !tail && spk__streaming_seqs(ctx, seqs, 7, outs, 1, c.vw);
    SPK_TRY(set_backward_args(ctx, k, &c, &a, 0, c.tiles.chunk, stream));
    SPK_TRY(spk__launch_1d_groups(ctx, k, c.tiles.items, c.tiles.local));
    if (tail) {
        SPK_TRY(set_backward_args(ctx, k, &c, &a, tail, 1, 0));
        SPK_TRY(spk__launch_1d_groups(ctx, k, 1, 1));
    }
    if (partial) {
        SPK_TRY(spk__kernel_get(ctx, "lif.cl", c.options, "lif_reduce_coef", &kr));
        spk__buf gc = spk__buf_of(g->grad_coef);
        SPK_TRY(SPK_SET_ARGS(ctx, kr, SPK_ARG(a.B), SPK_ARG(a.N), SPK_ARG(a.part.mem), SPK_BUF(gc)));
        SPK_TRY(spk__launch_1d(ctx, kr, (size_t)SPK_LIF_NCOEF * c.N));
    }
fail:
    /* Releasing the scratch buffer is safe with work still queued: OpenCL
     * keeps it alive until the kernels that use it have run. */
    spk_tensor_free(partial);
    return st;
}
