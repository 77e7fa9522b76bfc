/* ALIF, Izhikevich and AdEx neurons over a whole sequence [T, B, N]: one
 * work item per VW neurons (or, on CPU devices, per tile of CHUNK_MAX
 * vectors of VW: kernels/neuron.clh, TILE_INDEX), the time loop inside,
 * state in registers (private arrays for a tile). The
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
 *   SURROGATE, SPIKE_T, SPIKE_F32, VW, CHUNK_MAX  as in lif.cl
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

/* Initial state without state_in: at rest. */
#if MODEL == 1
#define REST_V IZ_VINIT
#define REST_W (IZ_B * IZ_VINIT)
#elif MODEL == 2
#define REST_V AX_EL
#define REST_W 0.0f
#else
#define REST_V 0.0f
#define REST_W 0.0f
#endif

/* Whether any lane of a comparison is true (scalar comparisons give 1). */
#if VW == 1
#define VANY(c) (c)
#else
#define VANY(c) any(c)
#endif
#define NONFINITE(v) (!isfinite(v))

/* Record step t if this work item saw a non-finite value there (cond: the
 * tile's lanes, OR-ed over its vectors; checked once per step, as a branch
 * per vector slowed the forward up to 1.7x) and none before (the steps run in
 * order, so the first flagged is the item's earliest). */
#define FLAG_NONFINITE(cond, t)                                         \
    if (!flagged && VANY(cond)) {                                       \
        atomic_min(flag, (t));                                          \
        flagged = 1;                                                    \
    }

#if MODEL == 0
/* ALIF's reset R(v, s) with the previous step's threshold A_prev. */
static inline vf alif_reset(vf v, vf s, vf A_prev)
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
static inline vf substep(float16 P, vf I, vf *v, vf *w, vf *vs)
{
    const vf v0 = *v, w0 = *w;
#if MODEL == 1
    const float h = IZ_H;
    const vf vn = v0 + h * (0.04f * v0 * v0 + 5.0f * v0 + 140.0f - w0 + I);
    const vf wn = w0 + h * IZ_A * (IZ_B * vn - w0);
    const vf s = select(VZERO, VONE, vn >= IZ_VPEAK);
    *v = select(vn, (vf)(IZ_C), s > 0.0f);
    *w = select(wn, wn + IZ_D, s > 0.0f);
#else
    const vf e = exp(fmin((v0 - AX_VT) / AX_DT, ADEX_EXP_ARG_MAX));
    const vf vn = v0 + AX_HC * (-AX_GL * (v0 - AX_EL) + AX_GL * AX_DT * e - w0 + I);
    const vf wn = w0 + AX_HW * (AX_A * (v0 - AX_EL) - w0);
    const vf s = select(VZERO, VONE, vn > AX_VPEAK);
    *v = select(vn, (vf)(AX_VR), s > 0.0f);
    *w = select(wn, wn + AX_B, s > 0.0f);
#endif
    *vs = vn;
    return s;
}

/* Reverse of substep() from its start (v, w): gv and gw hold the gradient
 * of the state after it and receive the gradient of (v, w); gS is dL/dS of
 * the step; the input's gradient is added to *gI. The reset is detached. */
static inline void substep_backward(float16 P, vf I, float sscale, vf v, vf w, vf gS, vf *gv, vf *gw, vf *gI)
{
    vf vv = v, ww = w, vs;
    const vf s = substep(P, I, &vv, &ww, &vs);
#if MODEL == 1
    const float h = IZ_H;
    const vf gvs = *gv * (1.0f - s) + gS * surrogate(vs - IZ_VPEAK, sscale) + *gw * (h * IZ_A * IZ_B);
    *gw = *gw * (1.0f - h * IZ_A) - gvs * h;
    *gv = gvs * (1.0f + h * (0.08f * v + 5.0f));
    *gI += gvs * h;
#else
    const vf arg = (v - AX_VT) / AX_DT;
    const vf de = select(VZERO, exp(arg), arg < ADEX_EXP_ARG_MAX); /* d/dV of Delta_T exp(arg); capped: constant */
    const vf gvs = *gv * (1.0f - s) + gS * surrogate(vs - AX_VPEAK, sscale);
    const vf gws = *gw;
    *gv = gvs * (1.0f + AX_HC * (AX_GL * de - AX_GL)) + gws * (AX_HW * AX_A);
    *gw = gvs * -AX_HC + gws * (1.0f - AX_HW);
    *gI += gvs * AX_HC;
#endif
}
#endif

/* What one vector of neurons carries from step to step. */
typedef struct fwd_state {
    vf V, W, S, rc;
} fwd_state;

typedef struct bwd_state {
    vf gV, gW, gS; /* gradients reaching step t from t+1 */
} bwd_state;

kernel void model_forward(int T, int B, int N, int chunk, int stream, float16 P, int refrac,
                          global const float *x, spk_off_t x_off,
                          global const float *state_in, spk_off_t si_off, int has_state_in,
                          global float *state_out, spk_off_t so_off, int has_state_out,
                          global SPIKE_T *spikes, spk_off_t spk_off,
                          global float *mem, spk_off_t mem_off, int has_mem,
                          global float *adapt, spk_off_t ad_off, int has_adapt,
                          global int *flag)
{
    TILE_INDEX();
    fwd_state st[CHUNK_MAX];
    for (int j = 0; j < count; j++) {
        const spk_off_t idx = TILE_IDX(j);
        vf V = (vf)(REST_V), W = (vf)(REST_W), S = VZERO, rc = VZERO;
        LOAD_STATE4(has_state_in, state_in, si_off, V, W, S, rc);
        st[j].V = V, st[j].W = W, st[j].S = S, st[j].rc = rc;
    }
    int flagged = 0;
    for (int t = 0; t < T; t++) {
        vi bad = 0; /* lanes of the tile that went non-finite at step t */
        for (int j = 0; j < count; j++) {
            const spk_off_t idx = TILE_IDX(j), o = (spk_off_t)t * BN + idx;
            vf V = st[j].V, W = st[j].W, S = st[j].S, rc = st[j].rc;
            const vf I = IN_GAIN * VLOADF(x, x_off + o);
            if (t + 1 < T)
                VPREFETCH(x, x_off + o, BN);
#if MODEL == 0
            const vf A_prev = A_THETA + A_BETA_A * W;
            W = A_RHO * W + S;
            const vf A = A_THETA + A_BETA_A * W;
            const vf Vi = alif_reset(A_BETA * V + A_GAIN * I, S, A_prev);
#if REFRAC
            const vi refractory = rc > 0.0f;
            V = select(Vi, alif_reset(V, S, A_prev), refractory);
            S = select(VZERO, VONE, (!refractory) & (V >= A));
            rc = select(rc, rc - 1.0f, refractory);
            rc = select(rc, (vf)((float)refrac), S > 0.0f);
#else
            V = Vi;
            S = select(VZERO, VONE, V >= A);
#endif
#else
            vf vs;
            S = VZERO;
            for (int k = 0; k < SUBSTEPS; k++)
                S += substep(P, I, &V, &W, &vs);
#endif
            bad |= NONFINITE(V) | NONFINITE(W);
#if SPIKE_F32
            VSTORE_STEP(S, spikes, spk_off + o);
#else
            SPK_STORE(S, spikes, spk_off + o);
#endif
            if (has_mem)
                VSTORE_STEP(V, mem, mem_off + o);
            if (has_adapt)
                VSTORE_STEP(W, adapt, ad_off + o);
            st[j].V = V, st[j].W = W, st[j].S = S, st[j].rc = rc;
        }
        FLAG_NONFINITE(bad, t);
    }
    for (int j = 0; has_state_out && j < count; j++) {
        const spk_off_t idx = TILE_IDX(j);
        STORE_STATE4(state_out, so_off, st[j].V, st[j].W, st[j].S, st[j].rc);
    }
}

/* Reverse-time loop. ALIF per step t (dS/dV replaced by g):
 *   dS = dL/dS[t] + (gradient reaching S[t] through a[t+1])
 *   dV = dL/dV[t] + (gradient from V[t+1]) + dS g(V[t] - A[t])
 *   da = (gradient from a[t+1]) - beta_a dS g(V[t] - A[t])
 * then through a[t] = rho a[t-1] + S[t-1] and V[t] = R(beta V[t-1] + gain I[t]).
 * Izhikevich and AdEx recompute the step's sub-steps from the recorded state
 * of step t-1 and walk them backwards. */
kernel void model_backward(int T, int B, int N, int chunk, int stream, float16 P, int refrac, float sscale,
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
    TILE_INDEX();
    bwd_state st[CHUNK_MAX];
#if MODEL == 0 && REFRAC
    vi win[CHUNK_MAX];
    vf rc0s[CHUNK_MAX]; /* the initial refractory counters, read at every step */
#endif
    for (int j = 0; j < count; j++) {
        const spk_off_t idx = TILE_IDX(j);
        /* Gradients flowing back into step t from step t+1. */
        vf gV_next = VZERO, gW_next = VZERO, gS_next = VZERO;
        if (has_gso) {
            gV_next = VLOADF(g_state_out, gso_off + 0 * BN + idx);
            gW_next = VLOADF(g_state_out, gso_off + 1 * BN + idx);
            gS_next = VLOADF(g_state_out, gso_off + 2 * BN + idx);
        }
        st[j].gV = gV_next, st[j].gW = gW_next, st[j].gS = gS_next;
#if MODEL == 0 && REFRAC
        vf V0 = VZERO, W0 = VZERO, S0 = VZERO, rc0 = VZERO;
        LOAD_STATE4(has_state_in, state_in, si_off, V0, W0, S0, rc0);
        rc0s[j] = rc0;
        REFRAC_WINDOW_INIT(window);
        win[j] = window;
#endif
    }
    int flagged = 0;
    for (int t = T - 1; t >= 0; t--) {
        vi bad = 0; /* lanes of the tile whose gradients went non-finite at step t */
        for (int j = 0; j < count; j++) {
            const spk_off_t idx = TILE_IDX(j), o = (spk_off_t)t * BN + idx;
            const spk_off_t op = o - BN; /* step t-1, valid when t > 0 */
            /* The initial state stands in for step t-1 at t = 0. */
            vf V0 = (vf)(REST_V), W0 = (vf)(REST_W), S0 = VZERO, rc0 = VZERO;
            if (t == 0)
                LOAD_STATE4(has_state_in, state_in, si_off, V0, W0, S0, rc0);
            vf gV_next = st[j].gV, gW_next = st[j].gW, gS_next = st[j].gS;
            const vf dSt = has_gS ? VLOADF(gS, gS_off + o) : VZERO;
            const vf dVt = has_gV ? VLOADF(gV, gV_off + o) : VZERO;
            vf g_in;
#if MODEL == 0
            (void)W0, (void)rc0, (void)x; /* of the initial state ALIF reads S0 here (rc0s: REFRAC) */
            const vf V = VLOADF(mem, mem_off + o), a = VLOADF(adapt, ad_off + o);
            const vf Sp = t > 0 ? SPK_LOAD(spikes, spk_off + op) : S0;
#if REFRAC
            vi window = win[j];
            const vi refractory = (window > 0) | ((float)t < rc0s[j]);
#else
            const vi refractory = 0;
#endif
            const vf A = A_THETA + A_BETA_A * a;
            const vf dS = gS_next + dSt;
            vf dV = gV_next + dVt, da = gW_next;
            const vf g = surrogate(V - A, sscale); /* not refractory: through the spike */
            dV = select(dV + dS * g, dV, refractory);
            da = select(da - A_BETA_A * (dS * g), da, refractory);
            gS_next = da;
            gW_next = da * A_RHO;
            const vf dq = RESET == 1 ? dV * (1.0f - Sp) : dV;
            gV_next = select(dq * A_BETA, dq, refractory);
            g_in = select(dq * A_GAIN * IN_GAIN, VZERO, refractory);
#if REFRAC
            REFRAC_WINDOW_SLIDE(window, t);
            win[j] = window;
#endif
#else
            (void)spikes, (void)rc0, (void)S0, (void)refrac;
            const vf I = IN_GAIN * VLOADF(x, x_off + o);
            vf vk[SUBSTEPS], wk[SUBSTEPS], vs;
            vk[0] = t > 0 ? VLOADF(mem, mem_off + op) : V0;
            wk[0] = t > 0 ? VLOADF(adapt, ad_off + op) : W0;
            for (int k = 1; k < SUBSTEPS; k++) {
                vk[k] = vk[k - 1], wk[k] = wk[k - 1];
                substep(P, I, &vk[k], &wk[k], &vs);
            }
            /* The final state's S is the last step's count; S[t-1] does not act on step t. */
            const vf dS = dSt + gS_next;
            vf gv = gV_next + dVt, gw = gW_next, gI = VZERO;
            gS_next = VZERO;
            for (int k = SUBSTEPS - 1; k >= 0; k--)
                substep_backward(P, I, sscale, vk[k], wk[k], dS, &gv, &gw, &gI);
            gV_next = gv, gW_next = gw;
            g_in = gI * IN_GAIN;
#endif
            bad |= NONFINITE(gV_next) | NONFINITE(gW_next) | NONFINITE(g_in);
            if (has_gx)
                VSTREAMF(g_in, gx, gx_off + o);
            st[j].gV = gV_next, st[j].gW = gW_next, st[j].gS = gS_next;
        }
        FLAG_NONFINITE(bad, t);
    }
    for (int j = 0; has_gsi && j < count; j++) {
        const spk_off_t idx = TILE_IDX(j);
        STORE_STATE4(g_state_in, gsi_off, st[j].gV, st[j].gW, st[j].gS, VZERO);
    }
}
