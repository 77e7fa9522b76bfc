/* ALIF, Izhikevich and AdEx neurons over a whole sequence [T, B, N]: one
 * work item per (b, n), the time loop inside, state in registers. The
 * updates are the ones documented in include/spikecl/neuron_models.h and
 * docs/neuron_models.md; src/ref/neuron_models_ref.c is the plain-C
 * reference, written separately, with the same expressions in the same
 * order so that both round alike.
 *
 * Structural defines (set by src/ops/neuron_models.c):
 *   MODEL      0 ALIF, 1 Izhikevich, 2 AdEx
 *   SUBSTEPS   Euler sub-steps per time step (Izhikevich, AdEx)
 *   RESET      ALIF: 0 subtract the effective threshold, 1 zero
 *   REFRAC     ALIF: 1 refractory counting compiled in
 *   SURROGATE, SPIKE_T, STEP_SYNC  as in lif.cl
 *
 * The coefficients come in one float16 P, derived on the host:
 *   ALIF        s0 beta, s1 gain, s2 rho, s3 threshold, s4 beta_a, s5 input_gain
 *   Izhikevich  s0 a, s1 b, s2 c, s3 d, s4 v_peak, s5 input_gain, s6 h, s7 v_init
 *   AdEx        s0 h/C, s1 g_L, s2 E_L, s3 V_T, s4 Delta_T, s5 input_gain, s6 V_peak,
 *               s7 V_r, s8 a, s9 h/tau_w, sa b
 */

#ifndef MODEL
#define MODEL 0
#endif
#ifndef SUBSTEPS
#define SUBSTEPS 1
#endif
#ifndef RESET
#define RESET 0
#endif
#ifndef REFRAC
#define REFRAC 0
#endif

#define ADEX_EXP_ARG_MAX 30.0f /* SPK_ADEX_EXP_ARG_MAX */

/* Names of P's components (P is in scope wherever they are used). */
#define IN_GAIN P.s5
#define A_BETA P.s0
#define A_GAIN P.s1
#define A_RHO P.s2
#define A_THETA P.s3
#define A_BETA_A P.s4
#define IZ_A P.s0
#define IZ_B P.s1
#define IZ_C P.s2
#define IZ_D P.s3
#define IZ_VPEAK P.s4
#define IZ_H P.s6
#define IZ_VINIT P.s7
#define AX_HC P.s0
#define AX_GL P.s1
#define AX_EL P.s2
#define AX_VT P.s3
#define AX_DT P.s4
#define AX_VPEAK P.s6
#define AX_VR P.s7
#define AX_A P.s8
#define AX_HW P.s9
#define AX_B P.sa

/* Record the first step t at which this work item saw a non-finite value. */
#define FLAG_NONFINITE(cond, t)                                         \
    if (valid && !flagged && (cond)) {                                  \
        atomic_min(flag, (t));                                          \
        flagged = 1;                                                    \
    }

#if MODEL == 0
/* ALIF's reset R(v, s) with the previous step's threshold A_prev. */
static inline float alif_reset(float v, float s, float A_prev)
{
#if RESET == 0
    return v - A_prev * s;
#else
    return v * (1.0f - s);
#endif
}
#else
/* One Euler sub-step from (v, w) with input I: *vs receives v* (before the
 * reset); v and w are updated (after the reset); returns the spike. */
static inline float substep(float16 P, float I, float *v, float *w, float *vs)
{
    const float v0 = *v, w0 = *w;
#if MODEL == 1
    const float h = IZ_H;
    const float vn = v0 + h * (0.04f * v0 * v0 + 5.0f * v0 + 140.0f - w0 + I);
    const float wn = w0 + h * IZ_A * (IZ_B * vn - w0);
    const float s = vn >= IZ_VPEAK ? 1.0f : 0.0f;
    *v = s > 0.0f ? IZ_C : vn;
    *w = s > 0.0f ? wn + IZ_D : wn;
#else
    const float e = exp(fmin((v0 - AX_VT) / AX_DT, ADEX_EXP_ARG_MAX));
    const float vn = v0 + AX_HC * (-AX_GL * (v0 - AX_EL) + AX_GL * AX_DT * e - w0 + I);
    const float wn = w0 + AX_HW * (AX_A * (v0 - AX_EL) - w0);
    const float s = vn > AX_VPEAK ? 1.0f : 0.0f;
    *v = s > 0.0f ? AX_VR : vn;
    *w = s > 0.0f ? wn + AX_B : wn;
#endif
    *vs = vn;
    return s;
}

/* Reverse of substep() from its start (v, w): gv and gw hold the gradient
 * of the state after it and receive the gradient of (v, w); gS is dL/dS of
 * the step; the input's gradient is added to *gI. The reset is detached. */
static inline void substep_backward(float16 P, float I, float sscale, float v, float w, float gS, float *gv,
                                    float *gw, float *gI)
{
    float vv = v, ww = w, vs;
    const float s = substep(P, I, &vv, &ww, &vs);
#if MODEL == 1
    const float h = IZ_H;
    const float gvs = *gv * (1.0f - s) + gS * surrogate(vs - IZ_VPEAK, sscale) + *gw * (h * IZ_A * IZ_B);
    *gw = *gw * (1.0f - h * IZ_A) - gvs * h;
    *gv = gvs * (1.0f + h * (0.08f * v + 5.0f));
    *gI += gvs * h;
#else
    const float arg = (v - AX_VT) / AX_DT;
    const float de = arg < ADEX_EXP_ARG_MAX ? exp(arg) : 0.0f; /* d/dV of Delta_T exp(arg); capped: constant */
    const float gvs = *gv * (1.0f - s) + gS * surrogate(vs - AX_VPEAK, sscale);
    const float gws = *gw;
    *gv = gvs * (1.0f + AX_HC * (AX_GL * de - AX_GL)) + gws * (AX_HW * AX_A);
    *gw = gvs * -AX_HC + gws * (1.0f - AX_HW);
    *gI += gvs * AX_HC;
#endif
}
#endif

kernel void model_forward(int T, int B, int N, float16 P, int refrac,
                          global const float *x, spk_off_t x_off,
                          global const float *state_in, spk_off_t si_off, int has_state_in,
                          global float *state_out, spk_off_t so_off, int has_state_out,
                          global SPIKE_T *spikes, spk_off_t spk_off,
                          global float *mem, spk_off_t mem_off, int has_mem,
                          global float *adapt, spk_off_t ad_off, int has_adapt,
                          global int *flag)
{
    NEURON_INDEX();
    (void)n;
    float V = 0.0f, W = 0.0f, S = 0.0f, rc = 0.0f;
#if MODEL == 1
    V = IZ_VINIT, W = IZ_B * IZ_VINIT;
#elif MODEL == 2
    V = AX_EL;
#endif
    LOAD_STATE4(has_state_in, state_in, si_off, V, W, S, rc);
    int flagged = 0;
    for (int t = 0; t < T; t++) {
        const spk_off_t o = (spk_off_t)t * BN + idx;
        const float I = IN_GAIN * x[x_off + o];
#if MODEL == 0
        const float A_prev = A_THETA + A_BETA_A * W;
        W = A_RHO * W + S;
        const float A = A_THETA + A_BETA_A * W;
        int refractory = 0;
#if REFRAC
        refractory = rc > 0.0f;
#endif
        if (refractory)
            V = alif_reset(V, S, A_prev);
        else
            V = alif_reset(A_BETA * V + A_GAIN * I, S, A_prev);
        S = (!refractory && V >= A) ? 1.0f : 0.0f;
#if REFRAC
        if (refractory)
            rc -= 1.0f;
        if (S > 0.0f)
            rc = (float)refrac;
#endif
#else
        float vs;
        S = 0.0f;
        for (int k = 0; k < SUBSTEPS; k++)
            S += substep(P, I, &V, &W, &vs);
#endif
        FLAG_NONFINITE(!isfinite(V) || !isfinite(W), t);
        if (valid) {
            spikes[spk_off + o] = (SPIKE_T)S;
            if (has_mem)
                mem[mem_off + o] = V;
            if (has_adapt)
                adapt[ad_off + o] = W;
        }
        STEP_END();
    }
    if (valid && has_state_out) {
        state_out[so_off + 0 * BN + idx] = V;
        state_out[so_off + 1 * BN + idx] = W;
        state_out[so_off + 2 * BN + idx] = S;
        state_out[so_off + 3 * BN + idx] = rc;
    }
}

/* Reverse-time loop. ALIF per step t (dS/dV replaced by g):
 *   dS = dL/dS[t] + (gradient reaching S[t] through a[t+1])
 *   dV = dL/dV[t] + (gradient from V[t+1]) + dS g(V[t] - A[t])
 *   da = (gradient from a[t+1]) - beta_a dS g(V[t] - A[t])
 * then through a[t] = rho a[t-1] + S[t-1] and V[t] = R(beta V[t-1] + gain I[t]).
 * Izhikevich and AdEx recompute the step's sub-steps from the recorded state
 * of step t-1 and walk them backwards. */
kernel void model_backward(int T, int B, int N, float16 P, int refrac, float sscale,
                           global const float *x, spk_off_t x_off,
                           global const float *state_in, spk_off_t si_off, int has_state_in,
                           global const SPIKE_T *spikes, spk_off_t spk_off,
                           global const float *mem, spk_off_t mem_off,
                           global const float *adapt, spk_off_t ad_off,
                           global const float *gS, spk_off_t gS_off, int has_gS,
                           global const float *gV, spk_off_t gV_off, int has_gV,
                           global const float *g_state_out, spk_off_t gso_off, int has_gso,
                           global float *gx, spk_off_t gx_off, int has_gx,
                           global float *g_state_in, spk_off_t gsi_off, int has_gsi,
                           global int *flag)
{
    NEURON_INDEX();
    (void)n;
    float V0 = 0.0f, W0 = 0.0f, S0 = 0.0f, rc0 = 0.0f;
#if MODEL == 1
    V0 = IZ_VINIT, W0 = IZ_B * IZ_VINIT;
#elif MODEL == 2
    V0 = AX_EL;
#endif
    LOAD_STATE4(has_state_in, state_in, si_off, V0, W0, S0, rc0);
    /* Gradients flowing back into step t from step t+1. */
    float gV_next = 0.0f, gW_next = 0.0f, gS_next = 0.0f;
    if (has_gso) {
        gV_next = g_state_out[gso_off + 0 * BN + idx];
        gW_next = g_state_out[gso_off + 1 * BN + idx];
        gS_next = g_state_out[gso_off + 2 * BN + idx];
    }
#if MODEL == 0 && REFRAC
    REFRAC_WINDOW_INIT(window);
#endif
    int flagged = 0;
    for (int t = T - 1; t >= 0; t--) {
        const spk_off_t o = (spk_off_t)t * BN + idx;
        const spk_off_t op = o - BN; /* step t-1, valid when t > 0 */
        const float dSt = has_gS ? gS[gS_off + o] : 0.0f;
        const float dVt = has_gV ? gV[gV_off + o] : 0.0f;
        float g_in;
#if MODEL == 0
        const float V = mem[mem_off + o], a = adapt[ad_off + o];
        const float Sp = t > 0 ? (float)spikes[spk_off + op] : S0;
        int refractory = 0;
#if REFRAC
        refractory = window > 0 || (float)t < rc0;
#endif
        const float A = A_THETA + A_BETA_A * a;
        const float dS = gS_next + dSt;
        float dV = gV_next + dVt, da = gW_next;
        if (!refractory) {
            const float g = surrogate(V - A, sscale);
            dV += dS * g;
            da -= A_BETA_A * (dS * g);
        }
        gS_next = da;
        gW_next = da * A_RHO;
        const float dq = RESET == 1 ? dV * (1.0f - Sp) : dV;
        gV_next = refractory ? dq : dq * A_BETA;
        g_in = refractory ? 0.0f : dq * A_GAIN * IN_GAIN;
#if REFRAC
        REFRAC_WINDOW_SLIDE(window, t);
#endif
#else
        (void)spikes, (void)rc0, (void)S0, (void)refrac;
        const float I = IN_GAIN * x[x_off + o];
        float vk[SUBSTEPS], wk[SUBSTEPS], vs;
        vk[0] = t > 0 ? mem[mem_off + op] : V0;
        wk[0] = t > 0 ? adapt[ad_off + op] : W0;
        for (int k = 1; k < SUBSTEPS; k++) {
            vk[k] = vk[k - 1], wk[k] = wk[k - 1];
            substep(P, I, &vk[k], &wk[k], &vs);
        }
        /* The final state's S is the last step's count; S[t-1] does not act on step t. */
        const float dS = dSt + gS_next;
        float gv = gV_next + dVt, gw = gW_next, gI = 0.0f;
        gS_next = 0.0f;
        for (int k = SUBSTEPS - 1; k >= 0; k--)
            substep_backward(P, I, sscale, vk[k], wk[k], dS, &gv, &gw, &gI);
        gV_next = gv, gW_next = gw;
        g_in = gI * IN_GAIN;
#endif
        FLAG_NONFINITE(!isfinite(gV_next) || !isfinite(gW_next) || !isfinite(g_in), t);
        if (valid && has_gx)
            gx[gx_off + o] = g_in;
        STEP_END();
    }
    if (valid && has_gsi) {
        g_state_in[gsi_off + 0 * BN + idx] = gV_next;
        g_state_in[gsi_off + 1 * BN + idx] = gW_next;
        g_state_in[gsi_off + 2 * BN + idx] = gS_next;
        g_state_in[gsi_off + 3 * BN + idx] = 0.0f;
    }
}
