/* Reference LIF forward and BPTT. Each neuron's whole trajectory is kept in
 * arrays, then the backward walks it in reverse applying the chain rule to
 * each line of the forward. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"

float spk_ref_surrogate(spk_surrogate s, float u, float k)
{
    const float pi = 3.14159265358979f;
    switch (s) {
    case SPK_SURROGATE_FAST_SIGMOID:
        return 1.0f / ((1.0f + k * fabsf(u)) * (1.0f + k * fabsf(u)));
    case SPK_SURROGATE_ARCTAN: {
        float z = pi * k * u / 2.0f;
        return (k / 2.0f) / (1.0f + z * z);
    }
    case SPK_SURROGATE_SIGMOID: {
        float sg = 1.0f / (1.0f + expf(-k * u));
        return k * sg * (1.0f - sg);
    }
    case SPK_SURROGATE_TRIANGLE:
        return fmaxf(0.0f, 1.0f - fabsf(u) / k) / k;
    case SPK_SURROGATE_BOXCAR:
        return fabsf(u) < k ? 1.0f / (2.0f * k) : 0.0f;
    case SPK_SURROGATE_GAUSSIAN:
        return expf(-u * u / (2.0f * k * k)) / (k * 2.50662827463100f);
    case SPK_SURROGATE_STRAIGHT_THROUGH:
        return 1.0f;
    }
    return 0.0f;
}

typedef struct neuron_coef {
    float aI, bI, aV, bV, th, vr;
} neuron_coef;

static float reset_apply(const spk_lif_params *p, const neuron_coef *c, float v, float s)
{
    switch (p->reset) {
    case SPK_RESET_SUBTRACT:
        return v - c->th * s;
    case SPK_RESET_ZERO:
        return v * (1.0f - s);
    case SPK_RESET_TO_VALUE:
        return v * (1.0f - s) + c->vr * s;
    case SPK_RESET_NONE:
        break;
    }
    return v;
}

/* Partial derivatives of R(v, s) in v, s and the threshold. */
static void reset_partials(const spk_lif_params *p, const neuron_coef *c, float v, float s, float *dv, float *ds,
                           float *dth)
{
    *dv = (p->reset == SPK_RESET_ZERO || p->reset == SPK_RESET_TO_VALUE) ? 1.0f - s : 1.0f;
    *dth = p->reset == SPK_RESET_SUBTRACT ? -s : 0.0f;
    switch (p->reset) {
    case SPK_RESET_SUBTRACT:
        *ds = -c->th;
        break;
    case SPK_RESET_ZERO:
        *ds = -v;
        break;
    case SPK_RESET_TO_VALUE:
        *ds = c->vr - v;
        break;
    default:
        *ds = 0.0f;
    }
    if (p->detach_reset)
        *ds = 0.0f;
}

/* One neuron's trajectory: index t+1 holds step t, index 0 the initial state. */
typedef struct trajectory {
    float *I, *V, *S;
    int *refractory; /* per step t (index t) */
} trajectory;

static int is_cuba(const spk_lif_params *p)
{
    return p->kind == SPK_NEURON_CUBA_LIF || p->kind == SPK_NEURON_CUBA_LI;
}

static int is_spiking(const spk_lif_params *p)
{
    return p->kind == SPK_NEURON_LIF || p->kind == SPK_NEURON_CUBA_LIF || p->kind == SPK_NEURON_IF;
}

static void run_neuron(const spk_lif_params *p, spk_ref_lif_mode mode, const neuron_coef *c, size_t T, size_t BN,
                       size_t idx, const spk_ref_lif_io *io, trajectory *tr)
{
    float rc = 0.0f;
    tr->I[0] = tr->V[0] = tr->S[0] = 0.0f;
    if (io->state_in) {
        tr->I[0] = io->state_in[0 * BN + idx];
        tr->V[0] = io->state_in[1 * BN + idx];
        tr->S[0] = io->state_in[2 * BN + idx];
        rc = io->state_in[3 * BN + idx];
    }
    for (size_t t = 0; t < T; t++) {
        float x = io->x[t * BN + idx];
        float Ip = tr->I[t], Vp = tr->V[t], Sp = tr->S[t];
        float I = is_cuba(p) ? c->aI * Ip + c->bI * x : x;
        int refr = p->refractory_steps > 0 && rc > 0.0f;
        float V, S = 0.0f;
        if (!is_spiking(p)) {
            V = c->aV * Vp + c->bV * I;
        } else {
            if (refr)
                V = reset_apply(p, c, Vp, Sp);
            else if (p->reset_timing == SPK_RESET_IMMEDIATE)
                V = c->aV * reset_apply(p, c, Vp, Sp) + c->bV * I;
            else
                V = reset_apply(p, c, c->aV * Vp + c->bV * I, Sp);
            if (!refr)
                S = mode.smooth_spikes ? 1.0f / (1.0f + expf(-p->surrogate_scale * (V - c->th)))
                                       : (V >= c->th ? 1.0f : 0.0f);
        }
        if (p->refractory_steps > 0) {
            if (refr)
                rc -= 1.0f;
            if (S > 0.0f)
                rc = (float)p->refractory_steps;
        }
        tr->I[t + 1] = is_cuba(p) ? I : 0.0f;
        tr->V[t + 1] = V;
        tr->S[t + 1] = S;
        tr->refractory[t] = refr;
        if (io->spikes)
            io->spikes[t * BN + idx] = S;
        if (io->membrane)
            io->membrane[t * BN + idx] = V;
        if (io->current)
            io->current[t * BN + idx] = I;
    }
    if (io->state_out) {
        io->state_out[0 * BN + idx] = tr->I[T];
        io->state_out[1 * BN + idx] = tr->V[T];
        io->state_out[2 * BN + idx] = tr->S[T];
        io->state_out[3 * BN + idx] = rc;
    }
}

static neuron_coef coef_of(const float scalar[SPK_LIF_NCOEF], const float *table, size_t N, size_t n, float vr)
{
    const float *src = scalar;
    float col[SPK_LIF_NCOEF];
    if (table) {
        for (int r = 0; r < SPK_LIF_NCOEF; r++)
            col[r] = table[r * N + n];
        src = col;
    }
    return (neuron_coef){src[0], src[1], src[2], src[3], src[4], vr};
}

static spk_status alloc_trajectory(size_t T, trajectory *tr)
{
    tr->I = calloc(T + 1, sizeof(float));
    tr->V = calloc(T + 1, sizeof(float));
    tr->S = calloc(T + 1, sizeof(float));
    tr->refractory = calloc(T + 1, sizeof(int));
    return tr->I && tr->V && tr->S && tr->refractory ? SPK_OK : SPK_ERR_OUT_OF_MEMORY;
}

static void free_trajectory(trajectory *tr)
{
    free(tr->I);
    free(tr->V);
    free(tr->S);
    free(tr->refractory);
}

spk_status spk_ref_lif_forward(const spk_lif_params *p, spk_ref_lif_mode mode, size_t T, size_t B, size_t N,
                               const spk_ref_lif_io *io)
{
    float scalar[SPK_LIF_NCOEF];
    spk_status st = spk_lif_coefficients(p, scalar, NULL, 0);
    if (st != SPK_OK)
        return st;
    trajectory tr;
    st = alloc_trajectory(T, &tr);
    for (size_t idx = 0; st == SPK_OK && idx < B * N; idx++) {
        neuron_coef c = coef_of(scalar, io->coef, N, idx % N, p->v_reset);
        run_neuron(p, mode, &c, T, B * N, idx, io, &tr);
    }
    free_trajectory(&tr);
    return st;
}

spk_status spk_ref_lif_backward(const spk_lif_params *p, spk_ref_lif_mode mode, size_t T, size_t B, size_t N,
                                const spk_ref_lif_io *io_in, const spk_ref_lif_grads *g)
{
    float scalar[SPK_LIF_NCOEF];
    spk_status st = spk_lif_coefficients(p, scalar, NULL, 0);
    if (st != SPK_OK)
        return st;
    const size_t BN = B * N;
    /* Recompute the forward; only the trajectory is needed. */
    spk_ref_lif_io io = {io_in->x, io_in->coef, io_in->state_in, NULL, NULL, NULL, NULL};
    trajectory tr;
    float *partial = calloc((size_t)SPK_LIF_NCOEF * BN, sizeof(float));
    st = alloc_trajectory(T, &tr);
    if (!partial)
        st = SPK_ERR_OUT_OF_MEMORY;
    for (size_t idx = 0; st == SPK_OK && idx < BN; idx++) {
        neuron_coef c = coef_of(scalar, io.coef, N, idx % N, p->v_reset);
        run_neuron(p, mode, &c, T, BN, idx, &io, &tr);
        /* gX_next: gradient w.r.t. state X at step t arriving from step t+1. */
        float gI_next = 0.0f, gV_next = 0.0f, gS_next = 0.0f;
        if (g->grad_state_out) {
            gI_next = is_cuba(p) ? g->grad_state_out[0 * BN + idx] : 0.0f;
            gV_next = g->grad_state_out[1 * BN + idx];
            gS_next = is_spiking(p) ? g->grad_state_out[2 * BN + idx] : 0.0f;
        }
        float d_aI = 0.0f, d_bI = 0.0f, d_aV = 0.0f, d_bV = 0.0f, d_th = 0.0f, gx_sum = 0.0f;
        for (size_t tt = T; tt-- > 0;) {
            const float x = io.x[tt * BN + idx];
            const float I = is_cuba(p) ? tr.I[tt + 1] : x, Ip = tr.I[tt];
            const float V = tr.V[tt + 1], Vp = tr.V[tt], Sp = tr.S[tt];
            float dS = gS_next + (g->grad_spikes ? g->grad_spikes[tt * BN + idx] : 0.0f);
            float dV = gV_next + (g->grad_membrane ? g->grad_membrane[tt * BN + idx] : 0.0f);
            float dI = gI_next;
            float rdv, rds, rdth;
            if (!is_spiking(p)) {
                /* V = aV Vp + bV I */
                gS_next = 0.0f;
                d_aV += dV * Vp;
                d_bV += dV * I;
                gV_next = dV * c.aV;
                dI += dV * c.bV;
            } else if (tr.refractory[tt]) {
                /* S = 0 (constant), V = R(Vp, Sp) */
                reset_partials(p, &c, Vp, Sp, &rdv, &rds, &rdth);
                gV_next = dV * rdv;
                gS_next = dV * rds;
                d_th += dV * rdth;
            } else {
                /* S = H(V - th) with dS/dV replaced by g */
                float gsur = spk_ref_surrogate(p->surrogate, V - c.th, p->surrogate_scale);
                dV += dS * gsur;
                d_th -= dS * gsur;
                if (p->reset_timing == SPK_RESET_IMMEDIATE) {
                    /* V = aV R(Vp, Sp) + bV I */
                    float P = reset_apply(p, &c, Vp, Sp);
                    reset_partials(p, &c, Vp, Sp, &rdv, &rds, &rdth);
                    d_aV += dV * P;
                    d_bV += dV * I;
                    float dP = dV * c.aV;
                    gV_next = dP * rdv;
                    gS_next = dP * rds;
                    d_th += dP * rdth;
                    dI += dV * c.bV;
                } else {
                    /* V = R(Q, Sp), Q = aV Vp + bV I */
                    float Q = c.aV * Vp + c.bV * I;
                    reset_partials(p, &c, Q, Sp, &rdv, &rds, &rdth);
                    float dQ = dV * rdv;
                    gS_next = dV * rds;
                    d_th += dV * rdth;
                    d_aV += dQ * Vp;
                    d_bV += dQ * I;
                    gV_next = dQ * c.aV;
                    dI += dQ * c.bV;
                }
            }
            if (is_cuba(p)) {
                /* I = aI Ip + bI x */
                d_aI += dI * Ip;
                d_bI += dI * x;
                gI_next = dI * c.aI;
            }
            const float gx = is_cuba(p) ? dI * c.bI : dI;
            if (g->grad_input && g->grad_input_summed)
                gx_sum += gx;
            else if (g->grad_input)
                g->grad_input[tt * BN + idx] = gx;
        }
        if (g->grad_input && g->grad_input_summed)
            g->grad_input[idx] = gx_sum;
        if (g->grad_state_in) {
            g->grad_state_in[0 * BN + idx] = is_cuba(p) ? gI_next : 0.0f;
            g->grad_state_in[1 * BN + idx] = gV_next;
            g->grad_state_in[2 * BN + idx] = gS_next;
            g->grad_state_in[3 * BN + idx] = 0.0f;
        }
        float d[SPK_LIF_NCOEF] = {d_aI, d_bI, d_aV, d_bV, d_th};
        for (int r = 0; r < SPK_LIF_NCOEF; r++)
            partial[r * BN + idx] = d[r];
    }
    if (st == SPK_OK && g->grad_coef)
        for (int r = 0; r < SPK_LIF_NCOEF; r++)
            for (size_t n = 0; n < N; n++) {
                float s = 0.0f;
                for (size_t b = 0; b < B; b++)
                    s += partial[r * BN + b * N + n];
                g->grad_coef[r * N + n] = s;
            }
    free(partial);
    free_trajectory(&tr);
    return st;
}
