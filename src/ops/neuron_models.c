/* Host side of kernels/neuron_models.cl: parameter checks, the coefficients
 * the kernels read, structural options, launches and the divergence flag. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ops/ops_internal.h"

static const char *const KIND_NAMES[] = {"alif", "izhikevich", "adex"};

const char *spk_model_kind_name(spk_model_kind kind)
{
    return (unsigned)kind <= SPK_MODEL_ADEX ? KIND_NAMES[kind] : NULL;
}

spk_model_params spk_model_params_default(spk_model_kind kind)
{
    spk_model_params p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    p.dt = 1.0f;
    p.substeps = 1;
    p.input_gain = 1.0f;
    p.surrogate = SPK_SURROGATE_FAST_SIGMOID;
    p.surrogate_scale = kind == SPK_MODEL_ALIF ? 25.0f : 0.2f;
    p.alif = (spk_alif_params){SPK_INTEGRATE_EXACT, 20.0f, 200.0f, 1.0f, 1.8f, SPK_RESET_SUBTRACT, 0};
    p.izhikevich = (spk_izhikevich_params){0.02f, 0.2f, -65.0f, 8.0f, 30.0f, -65.0f};
    spk_adex_preset(SPK_ADEX_TONIC, &p.adex, NULL);
    if (kind == SPK_MODEL_IZHIKEVICH)
        p.substeps = 2;
    if (kind == SPK_MODEL_ADEX)
        p.dt = 0.1f;
    return p;
}


#define REQUIRE(cond, ...)      \
    do {                        \
        if (!(cond))            \
            SPK_REJECT(__VA_ARGS__); \
    } while (0)

#define POSITIVE(x) ((x) > 0.0f && isfinite(x))

static spk_status check_alif(const spk_model_params *p, char *msg, size_t msg_size)
{
    const spk_alif_params *a = &p->alif;
    REQUIRE((unsigned)a->integration <= SPK_INTEGRATE_EULER, "alif.integration %d is not a spk_integration",
            (int)a->integration);
    REQUIRE(POSITIVE(a->tau_mem), "alif.tau_mem must be positive and finite (got %g)", (double)a->tau_mem);
    REQUIRE(POSITIVE(a->tau_adapt), "alif.tau_adapt must be positive and finite (got %g)", (double)a->tau_adapt);
    REQUIRE(isfinite(a->threshold), "alif.threshold must be finite (got %g)", (double)a->threshold);
    REQUIRE(a->beta_a >= 0.0f && isfinite(a->beta_a), "alif.beta_a must be finite and >= 0 (got %g)",
            (double)a->beta_a);
    REQUIRE(a->reset == SPK_RESET_SUBTRACT || a->reset == SPK_RESET_ZERO,
            "alif.reset must be SPK_RESET_SUBTRACT or SPK_RESET_ZERO (got %d)", (int)a->reset);
    REQUIRE(a->refractory_steps >= 0, "alif.refractory_steps must be >= 0 (got %d)", a->refractory_steps);
    REQUIRE(p->substeps == 1, "substeps must be 1 for ALIF (got %d): its update is per time step", p->substeps);
    if (a->integration == SPK_INTEGRATE_EULER) {
        REQUIRE(p->dt <= a->tau_mem, "ALIF Euler integration needs dt <= alif.tau_mem for a non-negative decay "
                "(dt %g, tau_mem %g); use exact integration or a smaller dt", (double)p->dt, (double)a->tau_mem);
        REQUIRE(p->dt <= a->tau_adapt, "ALIF Euler integration needs dt <= alif.tau_adapt (dt %g, tau_adapt %g)",
                (double)p->dt, (double)a->tau_adapt);
    }
    return SPK_OK;
}

static spk_status check_izhikevich(const spk_model_params *p, float h, char *msg, size_t msg_size)
{
    const spk_izhikevich_params *z = &p->izhikevich;
    REQUIRE(POSITIVE(z->a), "izhikevich.a must be positive and finite (got %g)", (double)z->a);
    REQUIRE(isfinite(z->b) && isfinite(z->c) && isfinite(z->d) && isfinite(z->v_peak) && isfinite(z->v_init),
            "izhikevich.b, c, d, v_peak and v_init must be finite");
    REQUIRE(z->c < z->v_peak, "izhikevich.c (reset, %g mV) must be below v_peak (%g mV)", (double)z->c,
            (double)z->v_peak);
    REQUIRE(h <= SPK_IZHIKEVICH_MAX_STEP, "Izhikevich Euler sub-step dt/substeps = %g ms exceeds %g ms: the "
            "quadratic term diverges; raise substeps or lower dt", (double)h, (double)SPK_IZHIKEVICH_MAX_STEP);
    REQUIRE(h * z->a <= 1.0f, "Izhikevich Euler sub-step %g ms times a = %g exceeds 1 (u would overshoot)",
            (double)h, (double)z->a);
    return SPK_OK;
}

static spk_status check_adex(const spk_model_params *p, float h, char *msg, size_t msg_size)
{
    const spk_adex_params *x = &p->adex;
    REQUIRE(POSITIVE(x->C), "adex.C must be positive and finite (got %g)", (double)x->C);
    REQUIRE(POSITIVE(x->g_L), "adex.g_L must be positive and finite (got %g)", (double)x->g_L);
    REQUIRE(POSITIVE(x->Delta_T), "adex.Delta_T must be positive and finite (got %g)", (double)x->Delta_T);
    REQUIRE(POSITIVE(x->tau_w), "adex.tau_w must be positive and finite (got %g)", (double)x->tau_w);
    REQUIRE(isfinite(x->E_L) && isfinite(x->V_T) && isfinite(x->V_peak) && isfinite(x->V_r) && isfinite(x->a) &&
                isfinite(x->b),
            "adex.E_L, V_T, V_peak, V_r, a and b must be finite");
    REQUIRE(x->V_peak > x->V_T && x->V_peak > x->V_r, "adex.V_peak (%g mV) must be above V_T (%g) and V_r (%g)",
            (double)x->V_peak, (double)x->V_T, (double)x->V_r);
    REQUIRE(h <= x->C / x->g_L, "AdEx Euler sub-step dt/substeps = %g ms exceeds the membrane time constant "
            "C/g_L = %g ms; raise substeps or lower dt", (double)h, (double)(x->C / x->g_L));
    REQUIRE(h <= x->tau_w, "AdEx Euler sub-step dt/substeps = %g ms exceeds tau_w = %g ms", (double)h,
            (double)x->tau_w);
    return SPK_OK;
}

spk_status spk_model_check_params(const spk_model_params *p, char *msg, size_t msg_size)
{
    REQUIRE(p != NULL, "params is NULL");
    REQUIRE((unsigned)p->kind <= SPK_MODEL_ADEX, "kind %d is not a spk_model_kind", (int)p->kind);
    REQUIRE(POSITIVE(p->dt), "dt must be positive and finite (got %g)", (double)p->dt);
    REQUIRE(p->substeps >= 1 && p->substeps <= SPK_MODEL_MAX_SUBSTEPS, "substeps must be in 1..%d (got %d)",
            SPK_MODEL_MAX_SUBSTEPS, p->substeps);
    REQUIRE(isfinite(p->input_gain), "input_gain must be finite (got %g)", (double)p->input_gain);
    REQUIRE((unsigned)p->surrogate < SPK_SURROGATE_COUNT, "surrogate %d is not a spk_surrogate", (int)p->surrogate);
    REQUIRE(p->surrogate == SPK_SURROGATE_STRAIGHT_THROUGH || POSITIVE(p->surrogate_scale),
            "surrogate_scale must be positive and finite (got %g)", (double)p->surrogate_scale);
    float h = p->dt / (float)p->substeps;
    if (p->kind == SPK_MODEL_ALIF)
        return check_alif(p, msg, msg_size);
    if (p->kind == SPK_MODEL_IZHIKEVICH)
        return check_izhikevich(p, h, msg, msg_size);
    return check_adex(p, h, msg, msg_size);
}

/* The float16 the kernels read; the layout is in kernels/neuron_models.cl. */
static cl_float16 coefficients(const spk_model_params *p)
{
    cl_float16 c;
    memset(&c, 0, sizeof c);
    float h = p->dt / (float)p->substeps;
    c.s[5] = p->input_gain;
    if (p->kind == SPK_MODEL_ALIF) {
        const spk_alif_params *a = &p->alif;
        int exact = a->integration == SPK_INTEGRATE_EXACT;
        c.s[0] = exact ? expf(-p->dt / a->tau_mem) : 1.0f - p->dt / a->tau_mem;
        c.s[1] = exact ? 1.0f : p->dt / a->tau_mem;
        c.s[2] = exact ? expf(-p->dt / a->tau_adapt) : 1.0f - p->dt / a->tau_adapt;
        c.s[3] = a->threshold;
        c.s[4] = a->beta_a;
    } else if (p->kind == SPK_MODEL_IZHIKEVICH) {
        const spk_izhikevich_params *z = &p->izhikevich;
        float v[] = {z->a, z->b, z->c, z->d, z->v_peak};
        memcpy(c.s, v, sizeof v);
        c.s[6] = h;
        c.s[7] = z->v_init;
    } else {
        const spk_adex_params *x = &p->adex;
        float v[] = {h / x->C, x->g_L, x->E_L, x->V_T, x->Delta_T};
        memcpy(c.s, v, sizeof v);
        float w[] = {x->V_peak, x->V_r, x->a, h / x->tau_w, x->b};
        memcpy(c.s + 6, w, sizeof w);
    }
    return c;
}

/* The program options of a call with spikes of U8 (u8) or F32, vw neurons per vector. */
static void model_options(const spk_context *ctx, const spk_model_params *p, int u8, int vw, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "-DMODEL=%d -DSUBSTEPS=%d -DRESET=%d -DREFRAC=%d -DSURROGATE=%d -DSPIKE_T=%s -DSPIKE_F32=%d "
             "-DCHUNK_MAX=%d -DVW=%d",
             (int)p->kind, p->substeps, p->kind == SPK_MODEL_ALIF && p->alif.reset == SPK_RESET_ZERO,
             p->kind == SPK_MODEL_ALIF && p->alif.refractory_steps > 0, (int)p->surrogate, u8 ? "uchar" : "float",
             !u8, spk__tile_max(ctx), vw);
}

void spk__model_expect(spk_context *ctx, const spk_model_params *p, size_t N)
{
    char opts[256];
    model_options(ctx, p, 0, spk__vector_width(ctx, N), opts, sizeof opts);
    spk__program_expect(ctx, "neuron_models.cl", opts);
}

/* Validated view of a call. */
typedef struct model_call {
    cl_float16 coef;
    size_t T, B, N;
    size_t seq[3], state[3];
    int vw;            /* neurons per vector */
    spk__tiling tiles; /* over the B*N / VW vectors */
    char options[256];
} model_call;

static spk_status check_io(spk_context *ctx, const char *fn, const spk_model_params *p, const spk_model_io *io,
                           int for_backward, model_call *c)
{
    spk_status st = SPK_OK;
    char why[256];
    SPK_CHECK(ctx, ctx && p && io, SPK_ERR_NULL_POINTER, "%s: ctx, params or io is NULL", fn);
    st = spk_model_check_params(p, why, sizeof why);
    SPK_CHECK(ctx, st == SPK_OK, st, "%s: %s", fn, why);
    SPK_TRY(spk__check_neuron_input(ctx, fn, io->input, io->state_in, for_backward ? NULL : io->state_out,
                                    SPK_MODEL_NSTATE, c->seq, c->state));
    c->T = c->seq[0], c->B = c->seq[1], c->N = c->seq[2];
    SPK_CHECK(ctx, io->spikes != NULL, SPK_ERR_INVALID_ARGUMENT, "%s: io.spikes is required", fn);
    SPK_TRY(spk__check_tensor_any(ctx, io->spikes, "io.spikes", 3, c->seq));
    if (io->membrane)
        SPK_TRY(spk__check_tensor(ctx, io->membrane, "io.membrane", SPK_F32, 3, c->seq));
    if (io->adaptation)
        SPK_TRY(spk__check_tensor(ctx, io->adaptation, "io.adaptation", SPK_F32, 3, c->seq));
    if (for_backward)
        SPK_CHECK(ctx, io->membrane && io->adaptation, SPK_ERR_INVALID_ARGUMENT,
                  "%s: backward needs the forward's io.membrane and io.adaptation", fn);
    c->coef = coefficients(p);
    c->vw = spk__vector_width(ctx, c->N);
    c->tiles = spk__tiling_for(ctx, c->B * c->N / (size_t)c->vw);
    model_options(ctx, p, spk_tensor_dtype(io->spikes) == SPK_U8, c->vw, c->options, sizeof c->options);
fail:
    return st;
}

/* A one-int device flag holding the first step with a non-finite value (INT_MAX: none). */
static spk_status flag_create(spk_context *ctx, cl_mem *flag)
{
    spk_status st = SPK_OK;
    cl_int err, none = INT_MAX;
    *flag = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof none, &none, &err);
    CL_TRY(ctx, err);
fail:
    return st;
}

/* Wait for the launch and turn a raised flag into SPK_ERR_NUMERIC. */
static spk_status flag_check(spk_context *ctx, cl_mem flag, const char *fn, const spk_model_params *p,
                             const char *what)
{
    spk_status st = SPK_OK;
    cl_int first = INT_MAX;
    CL_TRY(ctx, clEnqueueReadBuffer(ctx->queue, flag, CL_TRUE, 0, sizeof first, &first, 0, NULL, NULL));
    SPK_CHECK(ctx, first == INT_MAX, SPK_ERR_NUMERIC,
              "%s: the %s %s became non-finite at step %d (diverging dynamics or a NaN/Inf input; check dt, "
              "substeps and the input's scale)", fn, spk_model_kind_name(p->kind), what, (int)first);
fail:
    return st;
}

spk_status spk_model_forward(spk_context *ctx, const spk_model_params *p, const spk_model_io *io)
{
    static const char *const FN = "spk_model_forward";
    spk_status st = SPK_OK;
    model_call c;
    cl_kernel k;
    cl_mem flag = NULL;
    SPK_TRY(check_io(ctx, FN, p, io, 0, &c));
    SPK_TRY(spk__kernel_get(ctx, "neuron_models.cl", c.options, "model_forward", &k));
    SPK_TRY(flag_create(ctx, &flag));
    const spk_tensor *any = io->input;
    spk__buf x = spk__buf_of(io->input), si = spk__buf_or(io->state_in, any), so = spk__buf_or(io->state_out, any);
    spk__buf sp = spk__buf_of(io->spikes), mem = spk__buf_or(io->membrane, any);
    spk__buf ad = spk__buf_or(io->adaptation, any);
    cl_int T = (cl_int)c.T, B = (cl_int)c.B, N = (cl_int)c.N;
    cl_int refrac = p->kind == SPK_MODEL_ALIF ? p->alif.refractory_steps : 0;
    const spk_tensor *outs[] = {io->spikes, io->membrane, io->adaptation};
    const spk_tensor *seqs[] = {io->input, io->spikes, io->membrane, io->adaptation};
    cl_int stream = spk__streaming_seqs(ctx, seqs, 4, outs, 3, c.vw);
    SPK_TRY(SPK_SET_ARGS(ctx, k, SPK_ARG(T), SPK_ARG(B), SPK_ARG(N), SPK_ARG(c.tiles.chunk), SPK_ARG(stream),
                          SPK_ARG(c.coef), SPK_ARG(refrac), SPK_BUF(x),
                          SPK_BUF(si), SPK_ARG(si.present), SPK_BUF(so), SPK_ARG(so.present), SPK_BUF(sp),
                          SPK_BUF(mem), SPK_ARG(mem.present), SPK_BUF(ad), SPK_ARG(ad.present), SPK_ARG(flag)));
    SPK_TRY(spk__launch_1d_groups(ctx, k, c.tiles.items, c.tiles.local));
    SPK_TRY(flag_check(ctx, flag, FN, p, "state"));
fail:
    if (flag)
        clReleaseMemObject(flag);
    return st;
}

spk_status spk_model_backward(spk_context *ctx, const spk_model_params *p, const spk_model_io *fwd,
                              const spk_model_grads *g)
{
    static const char *const FN = "spk_model_backward";
    spk_status st = SPK_OK;
    model_call c;
    cl_kernel k;
    cl_mem flag = NULL;
    SPK_TRY(check_io(ctx, FN, p, fwd, 1, &c));
    SPK_CHECK(ctx, g != NULL, SPK_ERR_NULL_POINTER, "%s: grads is NULL", FN);
    const struct {
        const spk_tensor *t;
        const char *name;
        const size_t *shape;
    } args[] = {{g->grad_spikes, "grads.grad_spikes", c.seq},       {g->grad_membrane, "grads.grad_membrane", c.seq},
                {g->grad_state_out, "grads.grad_state_out", c.state}, {g->grad_input, "grads.grad_input", c.seq},
                {g->grad_state_in, "grads.grad_state_in", c.state}};
    for (size_t i = 0; i < SPK_ARRAY_LEN(args); i++)
        if (args[i].t)
            SPK_TRY(spk__check_tensor(ctx, args[i].t, args[i].name, SPK_F32, 3, args[i].shape));
    SPK_TRY(spk__kernel_get(ctx, "neuron_models.cl", c.options, "model_backward", &k));
    SPK_TRY(flag_create(ctx, &flag));
    const spk_tensor *any = fwd->input;
    spk__buf x = spk__buf_of(fwd->input), si = spk__buf_or(fwd->state_in, any), sp = spk__buf_of(fwd->spikes);
    spk__buf mem = spk__buf_of(fwd->membrane), ad = spk__buf_of(fwd->adaptation);
    spk__buf gs = spk__buf_or(g->grad_spikes, any), gv = spk__buf_or(g->grad_membrane, any);
    spk__buf gso = spk__buf_or(g->grad_state_out, any), gx = spk__buf_or(g->grad_input, any);
    spk__buf gsi = spk__buf_or(g->grad_state_in, any);
    cl_int T = (cl_int)c.T, B = (cl_int)c.B, N = (cl_int)c.N;
    cl_int refrac = p->kind == SPK_MODEL_ALIF ? p->alif.refractory_steps : 0;
    cl_float sscale = p->surrogate_scale;
    /* ALIF's backward does not read the input (its step needs V, a and S). */
    const spk_tensor *outs[] = {g->grad_input};
    const spk_tensor *seqs[] = {p->kind == SPK_MODEL_ALIF ? NULL : fwd->input, fwd->spikes, fwd->membrane,
                                fwd->adaptation, g->grad_spikes, g->grad_membrane, g->grad_input};
    cl_int stream = spk__streaming_seqs(ctx, seqs, 7, outs, 1, c.vw);
    SPK_TRY(SPK_SET_ARGS(ctx, k, SPK_ARG(T), SPK_ARG(B), SPK_ARG(N), SPK_ARG(c.tiles.chunk), SPK_ARG(stream),
                          SPK_ARG(c.coef), SPK_ARG(refrac), SPK_ARG(sscale), SPK_BUF(x), SPK_BUF(si),
                          SPK_ARG(si.present), SPK_BUF(sp), SPK_BUF(mem), SPK_BUF(ad), SPK_BUF(gs), SPK_ARG(gs.present), SPK_BUF(gv), SPK_ARG(gv.present),
                          SPK_BUF(gso), SPK_ARG(gso.present), SPK_BUF(gx), SPK_ARG(gx.present), SPK_BUF(gsi),
                          SPK_ARG(gsi.present), SPK_ARG(flag)));
    SPK_TRY(spk__launch_1d_groups(ctx, k, c.tiles.items, c.tiles.local));
    SPK_TRY(flag_check(ctx, flag, FN, p, "gradient"));
fail:
    if (flag)
        clReleaseMemObject(flag);
    return st;
}
