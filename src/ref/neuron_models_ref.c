/* Reference ALIF, Izhikevich and AdEx forward and BPTT. Each neuron's
 * trajectory (the state at the start of every Euler sub-step) is kept in
 * arrays, then the backward walks it in reverse applying the chain rule to
 * each line of the forward. Expressions are written as in the kernel, term
 * by term, so that device and reference round alike. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"

/* Coefficients derived from the params, named. */
typedef struct coefs {
    float in_gain;
    float beta, gain, rho, theta, beta_a; /* ALIF */
    float a, b, c, d, v_peak, h, v_init;  /* Izhikevich (a, b shared with AdEx's a) */
    float hC, gL, EL, VT, DT, Vr, hw, bw; /* AdEx (v_peak is V_peak) */
} coefs;

static coefs coefs_of(const spk_model_params *p)
{
    coefs k;
    memset(&k, 0, sizeof k);
    float h = p->dt / (float)p->substeps;
    k.in_gain = p->input_gain;
    if (p->kind == SPK_MODEL_ALIF) {
        const spk_alif_params *a = &p->alif;
        int exact = a->integration == SPK_INTEGRATE_EXACT;
        k.beta = exact ? expf(-p->dt / a->tau_mem) : 1.0f - p->dt / a->tau_mem;
        k.gain = exact ? 1.0f : p->dt / a->tau_mem;
        k.rho = exact ? expf(-p->dt / a->tau_adapt) : 1.0f - p->dt / a->tau_adapt;
        k.theta = a->threshold;
        k.beta_a = a->beta_a;
    } else if (p->kind == SPK_MODEL_IZHIKEVICH) {
        const spk_izhikevich_params *z = &p->izhikevich;
        k.a = z->a, k.b = z->b, k.c = z->c, k.d = z->d, k.v_peak = z->v_peak, k.h = h, k.v_init = z->v_init;
    } else {
        const spk_adex_params *x = &p->adex;
        k.hC = h / x->C, k.gL = x->g_L, k.EL = x->E_L, k.VT = x->V_T, k.DT = x->Delta_T;
        k.v_peak = x->V_peak, k.Vr = x->V_r, k.a = x->a, k.hw = h / x->tau_w, k.bw = x->b;
    }
    return k;
}

static float smooth_spike(const spk_model_params *p, float u)
{
    return 1.0f / (1.0f + expf(-p->surrogate_scale * u));
}

/* ---- Izhikevich and AdEx: one Euler sub-step ------------------------- */

/* From (v, w) with input I: returns the hard spike; v*, and the state after
 * the reset, through the pointers. */
static float substep(const spk_model_params *p, const coefs *k, float I, float v, float w, float *vs, float *v_out,
                     float *w_out)
{
    float vn, wn, s, reset_v, jump;
    if (p->kind == SPK_MODEL_IZHIKEVICH) {
        /* v* = v + h (0.04 v^2 + 5 v + 140 - u + I); u* = u + h a (b v* - u) */
        vn = v + k->h * (0.04f * v * v + 5.0f * v + 140.0f - w + I);
        wn = w + k->h * k->a * (k->b * vn - w);
        s = vn >= k->v_peak ? 1.0f : 0.0f;
        reset_v = k->c, jump = k->d;
    } else {
        /* V* = V + h/C (-g_L (V - E_L) + g_L Delta_T exp(min(arg, cap)) - w + I) */
        float e = expf(fminf((v - k->VT) / k->DT, SPK_ADEX_EXP_ARG_MAX));
        vn = v + k->hC * (-k->gL * (v - k->EL) + k->gL * k->DT * e - w + I);
        wn = w + k->hw * (k->a * (v - k->EL) - w);
        s = vn > k->v_peak ? 1.0f : 0.0f;
        reset_v = k->Vr, jump = k->bw;
    }
    *vs = vn;
    *v_out = s > 0.0f ? reset_v : vn;
    *w_out = s > 0.0f ? wn + jump : wn;
    return s;
}

/* Chain rule through substep() from (v, w): (*gv, *gw) from the state after
 * it to (v, w); gS is dL/d(the step's spike count); adds dL/dI to *gI. */
static void substep_backward(const spk_model_params *p, const coefs *k, float I, float v, float w, float gS,
                             float *gv, float *gw, float *gI)
{
    float vs, v1, w1;
    float s = substep(p, k, I, v, w, &vs, &v1, &w1);
    /* Detached reset: v' = v* (1 - s) + c s and w' = w* + d s with s constant. */
    if (p->kind == SPK_MODEL_IZHIKEVICH) {
        const float h = k->h;
        /* with y = v* and z = u*: dv'/dy = 1 - s, dS/dy = g, dz/dy = h a b */
        float gvs = *gv * (1.0f - s) + gS * spk_ref_surrogate(p->surrogate, vs - k->v_peak, p->surrogate_scale) +
                    *gw * (h * k->a * k->b);
        /* dz/du = 1 - h a, dy/du = -h, dy/dv = 1 + h (0.08 v + 5), dy/dI = h */
        *gw = *gw * (1.0f - h * k->a) - gvs * h;
        *gv = gvs * (1.0f + h * (0.08f * v + 5.0f));
        *gI += gvs * h;
    } else {
        float arg = (v - k->VT) / k->DT;
        float de = arg < SPK_ADEX_EXP_ARG_MAX ? expf(arg) : 0.0f; /* past the cap exp() is constant */
        float gvs = *gv * (1.0f - s) + gS * spk_ref_surrogate(p->surrogate, vs - k->v_peak, p->surrogate_scale);
        float gws = *gw;
        /* with y = V* and z = w*: dy/dV = 1 + h/C (g_L e - g_L), dz/dV = h/tau_w a, dy/dw = -h/C,
         * dz/dw = 1 - h/tau_w */
        *gv = gvs * (1.0f + k->hC * (k->gL * de - k->gL)) + gws * (k->hw * k->a);
        *gw = gvs * -k->hC + gws * (1.0f - k->hw);
        *gI += gvs * k->hC;
    }
}

/* ---- One neuron's trajectory ------------------------------------------ */

typedef struct trajectory {
    float *v, *w;     /* Izhikevich/AdEx: state at the start of sub-step j of step t, [T * substeps];
                         ALIF: V[t], a[t] at index t + 1, index 0 the initial state */
    float *S;         /* S[t] at index t + 1 (as output: smooth in smooth mode) */
    float *S_hard;    /* the hard spike, index t + 1 */
    int *refractory;  /* ALIF, per step t */
} trajectory;

static spk_status trajectory_alloc(size_t T, int substeps, trajectory *tr)
{
    size_t n = T * (size_t)substeps + 1;
    tr->v = calloc(n, sizeof(float));
    tr->w = calloc(n, sizeof(float));
    tr->S = calloc(T + 1, sizeof(float));
    tr->S_hard = calloc(T + 1, sizeof(float));
    tr->refractory = calloc(T + 1, sizeof(int));
    return tr->v && tr->w && tr->S && tr->S_hard && tr->refractory ? SPK_OK : SPK_ERR_OUT_OF_MEMORY;
}

static void trajectory_free(trajectory *tr)
{
    free(tr->v), free(tr->w), free(tr->S), free(tr->S_hard), free(tr->refractory);
}

static float alif_reset(const spk_model_params *p, float v, float s, float A_prev)
{
    return p->alif.reset == SPK_RESET_SUBTRACT ? v - A_prev * s : v * (1.0f - s);
}

/* Run neuron idx; returns 1 if a state became non-finite. */
static int run_neuron(const spk_model_params *p, spk_ref_model_mode mode, const coefs *k, size_t T, size_t BN,
                      size_t idx, const spk_ref_model_io *io, trajectory *tr)
{
    const int K = p->substeps;
    float V = 0.0f, W = 0.0f, S = 0.0f, S_hard = 0.0f, rc = 0.0f;
    if (p->kind == SPK_MODEL_IZHIKEVICH)
        V = k->v_init, W = k->b * k->v_init;
    else if (p->kind == SPK_MODEL_ADEX)
        V = k->EL;
    if (io->state_in) {
        V = io->state_in[0 * BN + idx];
        W = io->state_in[1 * BN + idx];
        S = S_hard = io->state_in[2 * BN + idx];
        rc = io->state_in[3 * BN + idx];
    }
    int bad = 0;
    tr->S[0] = S, tr->S_hard[0] = S_hard;
    if (p->kind == SPK_MODEL_ALIF)
        tr->v[0] = V, tr->w[0] = W;
    for (size_t t = 0; t < T; t++) {
        const float I = k->in_gain * io->x[t * BN + idx];
        if (p->kind == SPK_MODEL_ALIF) {
            /* a[t] = rho a[t-1] + S[t-1]; A = theta + beta_a a; the reset uses the hard spike */
            const float A_prev = k->theta + k->beta_a * W;
            W = k->rho * W + S;
            const float A = k->theta + k->beta_a * W;
            int refr = p->alif.refractory_steps > 0 && rc > 0.0f;
            V = refr ? alif_reset(p, V, S_hard, A_prev) : alif_reset(p, k->beta * V + k->gain * I, S_hard, A_prev);
            S_hard = !refr && V >= A ? 1.0f : 0.0f;
            S = refr ? 0.0f : mode.smooth_spikes ? smooth_spike(p, V - A) : S_hard;
            if (refr)
                rc -= 1.0f;
            if (S_hard > 0.0f)
                rc = (float)p->alif.refractory_steps;
            tr->refractory[t] = refr;
            tr->v[t + 1] = V, tr->w[t + 1] = W;
        } else {
            S = S_hard = 0.0f;
            for (int j = 0; j < K; j++) {
                float vs;
                tr->v[t * K + j] = V, tr->w[t * K + j] = W;
                float s = substep(p, k, I, V, W, &vs, &V, &W);
                S_hard += s;
                S += mode.smooth_spikes ? smooth_spike(p, vs - k->v_peak) : s;
            }
        }
        bad |= !isfinite(V) || !isfinite(W);
        tr->S[t + 1] = S, tr->S_hard[t + 1] = S_hard;
        if (io->spikes)
            io->spikes[t * BN + idx] = S;
        if (io->membrane)
            io->membrane[t * BN + idx] = V;
        if (io->adaptation)
            io->adaptation[t * BN + idx] = W;
    }
    if (io->state_out) {
        float st[SPK_MODEL_NSTATE] = {V, W, S, rc};
        for (int r = 0; r < SPK_MODEL_NSTATE; r++)
            io->state_out[r * BN + idx] = st[r];
    }
    return bad;
}

spk_status spk_ref_model_forward(const spk_model_params *p, spk_ref_model_mode mode, size_t T, size_t B, size_t N,
                                 const spk_ref_model_io *io)
{
    spk_status st = spk_model_check_params(p, NULL, 0);
    if (st != SPK_OK)
        return st;
    coefs k = coefs_of(p);
    trajectory tr;
    int bad = 0;
    st = trajectory_alloc(T, p->substeps, &tr);
    for (size_t idx = 0; st == SPK_OK && idx < B * N; idx++)
        bad |= run_neuron(p, mode, &k, T, B * N, idx, io, &tr);
    trajectory_free(&tr);
    return st == SPK_OK && bad ? SPK_ERR_NUMERIC : st;
}

/* ALIF step t in reverse; *g = {gV, ga, gS} from step t+1, updated to step t-1. */
static float alif_step_backward(const spk_model_params *p, const coefs *k, const trajectory *tr, size_t t, float dSt,
                                float dVt, float g[3])
{
    const float V = tr->v[t + 1], a = tr->w[t + 1], Sp_hard = tr->S_hard[t];
    const int refr = tr->refractory[t];
    const float A = k->theta + k->beta_a * a;
    const float dS = g[2] + dSt;
    float dV = g[0] + dVt, da = g[1];
    if (!refr) { /* S = H(V - A), A = theta + beta_a a */
        const float gs = spk_ref_surrogate(p->surrogate, V - A, p->surrogate_scale);
        dV += dS * gs;
        da -= k->beta_a * (dS * gs);
    }
    g[2] = da;          /* a[t] = rho a[t-1] + S[t-1] */
    g[1] = da * k->rho;
    /* V = R(q, S[t-1]) with the reset detached: dR/dq = 1 (subtract) or 1 - S (zero) */
    const float dq = p->alif.reset == SPK_RESET_ZERO ? dV * (1.0f - Sp_hard) : dV;
    g[0] = refr ? dq : dq * k->beta; /* q = V[t-1] (refractory) or beta V[t-1] + gain I */
    return refr ? 0.0f : dq * k->gain * k->in_gain;
}

spk_status spk_ref_model_backward(const spk_model_params *p, spk_ref_model_mode mode, size_t T, size_t B, size_t N,
                                  const spk_ref_model_io *io_in, const spk_ref_model_grads *g)
{
    spk_status st = spk_model_check_params(p, NULL, 0);
    if (st != SPK_OK)
        return st;
    const size_t BN = B * N;
    const int K = p->substeps;
    coefs k = coefs_of(p);
    spk_ref_model_io io = {io_in->x, io_in->state_in, NULL, NULL, NULL, NULL};
    trajectory tr;
    int bad = 0;
    st = trajectory_alloc(T, K, &tr);
    for (size_t idx = 0; st == SPK_OK && idx < BN; idx++) {
        run_neuron(p, mode, &k, T, BN, idx, &io, &tr);
        float gr[3] = {0.0f, 0.0f, 0.0f}; /* dL/d(V, W, S) of the state after step t */
        if (g->grad_state_out) {
            gr[0] = g->grad_state_out[0 * BN + idx];
            gr[1] = g->grad_state_out[1 * BN + idx];
            gr[2] = g->grad_state_out[2 * BN + idx];
        }
        for (size_t t = T; t-- > 0;) {
            const size_t o = t * BN + idx;
            const float dSt = g->grad_spikes ? g->grad_spikes[o] : 0.0f;
            const float dVt = g->grad_membrane ? g->grad_membrane[o] : 0.0f;
            float gx;
            if (p->kind == SPK_MODEL_ALIF) {
                gx = alif_step_backward(p, &k, &tr, t, dSt, dVt, gr);
            } else {
                const float I = k.in_gain * io.x[o];
                /* state_out's S is the last step's count; S[t-1] does not act on step t */
                const float dS = dSt + gr[2];
                float gv = gr[0] + dVt, gw = gr[1], gI = 0.0f;
                for (int j = K; j-- > 0;)
                    substep_backward(p, &k, I, tr.v[t * K + j], tr.w[t * K + j], dS, &gv, &gw, &gI);
                gr[0] = gv, gr[1] = gw, gr[2] = 0.0f;
                gx = gI * k.in_gain;
            }
            bad |= !isfinite(gr[0]) || !isfinite(gr[1]) || !isfinite(gx);
            if (g->grad_input)
                g->grad_input[o] = gx;
        }
        if (g->grad_state_in) {
            float gs[SPK_MODEL_NSTATE] = {gr[0], gr[1], gr[2], 0.0f};
            for (int r = 0; r < SPK_MODEL_NSTATE; r++)
                g->grad_state_in[r * BN + idx] = gs[r];
        }
    }
    trajectory_free(&tr);
    return st == SPK_OK && bad ? SPK_ERR_NUMERIC : st;
}
