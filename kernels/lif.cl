/* LIF-family neurons over a whole sequence [T, B, N]: one work item per
 * (b, n), the time loop inside, state in registers. The update is the one
 * documented in include/spikecl/neuron.h and docs/neurons.md; src/ref/lif_ref.c
 * is its plain-C reference.
 *
 * Structural defines (set by src/ops/lif.c):
 *   CUBA       1: current-based (synaptic current state), 0: I[t] = x[t]
 *   SPIKING    1: spikes and reset, 0: leaky integrator readout
 *   RESET      0 subtract, 1 zero, 2 to v_reset, 3 none
 *   IMMEDIATE  1: reset before the leak, 0: with the next step's update
 *   DETACH     1: no gradient through the spike inside the reset
 *   REFRAC     1: refractory counting compiled in
 *   SURROGATE  0..6 as enum spk_surrogate
 *   SPIKE_T    float or uchar
 *   STEP_SYNC  1: barrier after every step (CPU devices, see common.clh)
 */

#ifndef RESET
#define RESET 0
#endif

/* R(v, s) and its partial derivatives. */
static inline float reset_apply(float v, float s, float th, float vr)
{
#if RESET == 0
    return v - th * s;
#elif RESET == 1
    return v * (1.0f - s);
#elif RESET == 2
    return v * (1.0f - s) + vr * s;
#else
    return v;
#endif
}

static inline float reset_dv(float s)
{
#if RESET == 1 || RESET == 2
    return 1.0f - s;
#else
    return 1.0f;
#endif
}

static inline float reset_ds(float v, float th, float vr)
{
#if DETACH || RESET == 3
    return 0.0f;
#elif RESET == 0
    return -th;
#elif RESET == 1
    return -v;
#else
    return vr - v;
#endif
}

static inline float reset_dth(float s)
{
#if RESET == 0
    return -s;
#else
    return 0.0f;
#endif
}

/* Per-neuron coefficients override the scalars when a table is given. */
#define LOAD_COEFS()                                                    \
    float aI = c_aI, bI = c_bI, aV = c_aV, bV = c_bV, th = c_th;        \
    if (has_coef) {                                                     \
        aI = coef[coef_off + 0 * (spk_off_t)N + n];                     \
        bI = coef[coef_off + 1 * (spk_off_t)N + n];                     \
        aV = coef[coef_off + 2 * (spk_off_t)N + n];                     \
        bV = coef[coef_off + 3 * (spk_off_t)N + n];                     \
        th = coef[coef_off + 4 * (spk_off_t)N + n];                     \
    }

kernel void lif_forward(int T, int B, int N,
                        global const float *x, spk_off_t x_off,
                        global const float *coef, spk_off_t coef_off, int has_coef,
                        float c_aI, float c_bI, float c_aV, float c_bV, float c_th, float vr, int refrac,
                        global const float *state_in, spk_off_t si_off, int has_state_in,
                        global float *state_out, spk_off_t so_off, int has_state_out,
                        global SPIKE_T *spikes, spk_off_t spk_off, int has_spikes,
                        global float *mem, spk_off_t mem_off, int has_mem,
                        global float *cur, spk_off_t cur_off, int has_cur)
{
    NEURON_INDEX();
    LOAD_COEFS();
    float I = 0.0f, V = 0.0f, S = 0.0f, rc = 0.0f;
    LOAD_STATE4(has_state_in, state_in, si_off, I, V, S, rc);
    for (int t = 0; t < T; t++) {
        const spk_off_t o = (spk_off_t)t * BN + idx;
        const float xt = x[x_off + o];
#if CUBA
        I = aI * I + bI * xt;
#else
        I = xt;
#endif
        float Vn;
        int refractory = 0;
#if REFRAC
        refractory = rc > 0.0f;
#endif
#if SPIKING
        if (refractory)
            Vn = reset_apply(V, S, th, vr);
        else
#if IMMEDIATE
            Vn = aV * reset_apply(V, S, th, vr) + bV * I;
#else
            Vn = reset_apply(aV * V + bV * I, S, th, vr);
#endif
        const float Sn = (!refractory && Vn >= th) ? 1.0f : 0.0f;
#else
        Vn = aV * V + bV * I;
        const float Sn = 0.0f;
#endif
#if REFRAC
        if (refractory)
            rc -= 1.0f;
        if (Sn > 0.0f)
            rc = (float)refrac;
#endif
        V = Vn;
        S = Sn;
        if (valid && has_spikes)
            spikes[spk_off + o] = (SPIKE_T)S;
        if (valid && has_mem)
            mem[mem_off + o] = V;
#if CUBA
        if (valid && has_cur)
            cur[cur_off + o] = I;
#endif
        STEP_END();
    }
    if (valid && has_state_out) {
        state_out[so_off + 0 * BN + idx] = CUBA ? I : 0.0f;
        state_out[so_off + 1 * BN + idx] = V;
        state_out[so_off + 2 * BN + idx] = S;
        state_out[so_off + 3 * BN + idx] = rc;
    }
}

/* Reverse-time loop. Per step t (dS/dV replaced by the surrogate g):
 *   dS    = dL/dS[t] + (gradient reaching S[t] through the reset at t+1)
 *   dV    = dL/dV[t] + (gradient from V[t+1]) + dS * g(V[t] - th)
 * then through V[t] = f(V[t-1], S[t-1], I[t]) and I[t] = aI I[t-1] + bI x[t].
 * Parameter gradients are summed over t per (b, n) into `partial`
 * [5, B, N]; lif_reduce_coef sums them over b. */
kernel void lif_backward(int T, int B, int N,
                         global const float *x, spk_off_t x_off,
                         global const float *coef, spk_off_t coef_off, int has_coef,
                         float c_aI, float c_bI, float c_aV, float c_bV, float c_th, float vr, int refrac,
                         float sscale,
                         global const float *state_in, spk_off_t si_off, int has_state_in,
                         global const SPIKE_T *spikes, spk_off_t spk_off,
                         global const float *mem, spk_off_t mem_off,
                         global const float *cur, spk_off_t cur_off,
                         global const float *gS, spk_off_t gS_off, int has_gS,
                         global const float *gV, spk_off_t gV_off, int has_gV,
                         global const float *g_state_out, spk_off_t gso_off, int has_gso,
                         global float *gx, spk_off_t gx_off, int has_gx,
                         global float *g_state_in, spk_off_t gsi_off, int has_gsi,
                         global float *partial, int has_partial)
{
    NEURON_INDEX();
    LOAD_COEFS();
    float I0 = 0.0f, V0 = 0.0f, S0 = 0.0f, rc0 = 0.0f;
    LOAD_STATE4(has_state_in, state_in, si_off, I0, V0, S0, rc0);
    /* Gradients flowing back into step t from step t+1. */
    float gI_next = 0.0f, gV_next = 0.0f, gS_next = 0.0f;
    if (has_gso) {
        gI_next = CUBA ? g_state_out[gso_off + 0 * BN + idx] : 0.0f;
        gV_next = g_state_out[gso_off + 1 * BN + idx];
        gS_next = g_state_out[gso_off + 2 * BN + idx];
    }
    float d_aI = 0.0f, d_bI = 0.0f, d_aV = 0.0f, d_bV = 0.0f, d_th = 0.0f;
#if REFRAC
    REFRAC_WINDOW_INIT(window);
#endif
    for (int t = T - 1; t >= 0; t--) {
        const spk_off_t o = (spk_off_t)t * BN + idx;
        const spk_off_t op = o - BN; /* step t-1, valid when t > 0 */
        const float V = mem[mem_off + o];
        const float Vp = t > 0 ? mem[mem_off + op] : V0;
        const float Sp = t > 0 ? (float)spikes[spk_off + op] : S0;
#if CUBA
        const float I = cur[cur_off + o];
        const float Ip = t > 0 ? cur[cur_off + op] : I0;
#else
        const float I = x[x_off + o];
#endif
        int refractory = 0;
#if REFRAC
        refractory = window > 0 || (float)t < rc0;
#endif
        float dS = gS_next + (has_gS ? gS[gS_off + o] : 0.0f);
        float dV = gV_next + (has_gV ? gV[gV_off + o] : 0.0f);
        float dI = gI_next;
#if SPIKING
        if (!refractory) {
            const float g = surrogate(V - th, sscale);
            dV += dS * g;
            d_th -= dS * g;
        }
        if (refractory) {
            gV_next = dV * reset_dv(Sp);
            gS_next = dV * reset_ds(Vp, th, vr);
            d_th += dV * reset_dth(Sp);
        } else {
#if IMMEDIATE
            const float P = reset_apply(Vp, Sp, th, vr);
            d_aV += dV * P;
            d_bV += dV * I;
            const float dP = dV * aV;
            gV_next = dP * reset_dv(Sp);
            gS_next = dP * reset_ds(Vp, th, vr);
            d_th += dP * reset_dth(Sp);
            dI += dV * bV;
#else
            const float Q = aV * Vp + bV * I;
            const float dQ = dV * reset_dv(Sp);
            gS_next = dV * reset_ds(Q, th, vr);
            d_th += dV * reset_dth(Sp);
            d_aV += dQ * Vp;
            d_bV += dQ * I;
            gV_next = dQ * aV;
            dI += dQ * bV;
#endif
        }
#else
        gS_next = 0.0f; /* a readout's output does not depend on S */
        d_aV += dV * Vp;
        d_bV += dV * I;
        gV_next = dV * aV;
        dI += dV * bV;
#endif
        const float xt = x[x_off + o];
#if CUBA
        d_aI += dI * Ip;
        d_bI += dI * xt;
        gI_next = dI * aI;
        if (valid && has_gx)
            gx[gx_off + o] = dI * bI;
#else
        if (valid && has_gx)
            gx[gx_off + o] = dI;
#endif
#if REFRAC
        REFRAC_WINDOW_SLIDE(window, t);
#endif
        STEP_END();
    }
    if (valid && has_gsi) {
        g_state_in[gsi_off + 0 * BN + idx] = CUBA ? gI_next : 0.0f;
        g_state_in[gsi_off + 1 * BN + idx] = gV_next;
        g_state_in[gsi_off + 2 * BN + idx] = gS_next;
        g_state_in[gsi_off + 3 * BN + idx] = 0.0f;
    }
    if (valid && has_partial) {
        partial[0 * BN + idx] = d_aI;
        partial[1 * BN + idx] = d_bI;
        partial[2 * BN + idx] = d_aV;
        partial[3 * BN + idx] = d_bV;
        partial[4 * BN + idx] = d_th;
    }
}

/* grad_coef[r, n] = sum over b of partial[r, b, n], in b order. */
kernel void lif_reduce_coef(int B, int N, global const float *partial, global float *gcoef, spk_off_t gc_off)
{
    const spk_off_t i = get_global_id(0);
    if (i >= (spk_off_t)5 * N)
        return;
    const spk_off_t r = i / N, n = i % N;
    const spk_off_t BN = (spk_off_t)B * N;
    float s = 0.0f;
    for (int b = 0; b < B; b++)
        s += partial[r * BN + (spk_off_t)b * N + n];
    gcoef[gc_off + i] = s;
}
