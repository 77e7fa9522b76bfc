/* LIF-family neurons over a whole sequence [T, B, N]: one work item per
 * (b, n), the time loop inside, state in registers. The update is the one
 * documented in include/spikecl/neuron.h and docs/neurons.md; src/ref/lif_ref.c
 * is its plain-C reference.
 *
 * Structural defines (set by src/ops/lif.c):
 *   CUBA       1: current-based (synaptic current state), 0: I[t] = x[t]
 *   RESET      0 subtract, 1 zero, 2 to v_reset, 3 none
 *   IMMEDIATE  1: reset before the leak, 0: with the next step's update
 *   DETACH     1: no gradient through the spike inside the reset
 *   REFRAC     1: refractory counting compiled in
 *   SURROGATE  0..6 as enum spk_surrogate
 *   SPIKE_T    float, uchar, or uint with SPIKE_BITS 1 (bit-packed, kernels/neuron.clh); SPIKE_F32 1 for float
 *   VW         neurons per vector (kernels/neuron.clh)
 *   CHUNK_MAX  vectors per work item at most (kernels/neuron.clh, TILE_INDEX)
 *   COEF_TABLE 1: the call may have per-neuron coefficients (has_coef)
 *              and the backward sums their gradients (into `partial`);
 *              0: neither, so no table is read and no gradient kept or
 *              computed (the mlp's hidden layer: 0.40-0.47 -> 0.22-0.23 ms
 *              per backward)
 */

#ifndef COEF_TABLE
#define COEF_TABLE 1
#endif

#ifndef RESET
#define RESET 0
#endif

/* R(v, s) and its partial derivatives. */
static inline vf reset_apply(vf v, vf s, vf th, float vr)
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

static inline vf reset_dv(vf s)
{
#if RESET == 1 || RESET == 2
    return 1.0f - s;
#else
    return VONE;
#endif
}

static inline vf reset_ds(vf v, vf th, float vr)
{
#if DETACH || RESET == 3
    return VZERO;
#elif RESET == 0
    return -th;
#elif RESET == 1
    return -v;
#else
    return vr - v;
#endif
}

static inline vf reset_dth(vf s)
{
#if RESET == 0
    return -s;
#else
    return VZERO;
#endif
}

/* Per-neuron coefficients (column n) override the scalars when a table is given. */
#define LOAD_COEFS(n)                                                   \
    vf aI = (vf)(c_aI), bI = (vf)(c_bI), aV = (vf)(c_aV), bV = (vf)(c_bV), th = (vf)(c_th); \
    if (COEF_TABLE && has_coef) {                                       \
        aI = VLOADF(coef, coef_off + 0 * (spk_off_t)N + (n));           \
        bI = VLOADF(coef, coef_off + 1 * (spk_off_t)N + (n));           \
        aV = VLOADF(coef, coef_off + 2 * (spk_off_t)N + (n));           \
        bV = VLOADF(coef, coef_off + 3 * (spk_off_t)N + (n));           \
        th = VLOADF(coef, coef_off + 4 * (spk_off_t)N + (n));           \
    }

/* What one vector of neurons carries from step to step. */
typedef struct fwd_state {
    vf I, V, S, rc;
} fwd_state;

typedef struct bwd_state {
    vf gI, gV, gS;               /* gradients reaching step t from t+1 */
#if COEF_TABLE
    vf daI, dbI, daV, dbV, dth;  /* parameter gradients summed over the steps done */
#endif
} bwd_state;

kernel void lif_forward(int T, int B, int N, int chunk, int stream, int spiking,
                        global const float *x, spk_off_t x_off, spk_off_t x_ts,
                        global const float *coef, spk_off_t coef_off, int has_coef,
                        float c_aI, float c_bI, float c_aV, float c_bV, float c_th, float vr, int refrac,
                        global const float *state_in, spk_off_t si_off, int has_state_in,
                        global float *state_out, spk_off_t so_off, int has_state_out,
                        global SPIKE_T *spikes, spk_off_t spk_off, int has_spikes,
                        global float *mem, spk_off_t mem_off, int has_mem,
                        global float *cur, spk_off_t cur_off, int has_cur)
{
    TILE_INDEX();
    fwd_state st[CHUNK_MAX];
    int col[CHUNK_MAX];
    for (int j = 0; j < count; j++) {
        const spk_off_t idx = TILE_IDX(j);
        vf I = VZERO, V = VZERO, S = VZERO, rc = VZERO;
        LOAD_STATE4(has_state_in, state_in, si_off, I, V, S, rc);
        st[j].I = I, st[j].V = V, st[j].S = S, st[j].rc = rc;
        col[j] = (int)(idx % N);
    }
#if SPIKE_BITS
    const int own_words = TILE_OWNS_WORDS(N, chunk);
#endif
    for (int t = 0; t < T; t++) {
#if SPIKE_BITS
    uint acc = 0;
#endif
    for (int j = 0; j < count; j++) {
        const spk_off_t idx = TILE_IDX(j), o = (spk_off_t)t * BN + idx;
        const int n = col[j];
        LOAD_COEFS(n);
        vf I = st[j].I, V = st[j].V, S = st[j].S, rc = st[j].rc;
        const spk_off_t ox = (spk_off_t)t * x_ts + idx; /* x_ts 0: the same input at every step */
        const vf xt = VLOADF(x, x_off + ox);
        if (t + 1 < T)
            VPREFETCH(x, x_off + ox, x_ts);
#if CUBA
        I = aI * I + bI * xt;
#else
        I = xt;
#endif
        vf Vn, Sn;
#if REFRAC
        const vi refractory = rc > 0.0f;
#endif
        if (spiking) {
#if IMMEDIATE
            Vn = aV * reset_apply(V, S, th, vr) + bV * I;
#else
            Vn = reset_apply(aV * V + bV * I, S, th, vr);
#endif
#if REFRAC
            Vn = select(Vn, reset_apply(V, S, th, vr), refractory);
            Sn = select(VZERO, VONE, (!refractory) & (Vn >= th));
#else
            Sn = select(VZERO, VONE, Vn >= th);
#endif
        } else {
            Vn = aV * V + bV * I;
            Sn = VZERO;
        }
#if REFRAC
        rc = select(rc, rc - 1.0f, refractory);
        rc = select(rc, (vf)((float)refrac), Sn > 0.0f);
#endif
        V = Vn;
        S = Sn;
        if (has_spikes) {
#if SPIKE_BITS
            SPIKE_STORE_BITS_TILE(S, spikes, spk_off, t, own_words, acc);
#elif SPIKE_F32
            VSTORE_STEP(S, spikes, spk_off + o);
#else
            SPK_STORE(S, spikes, spk_off + o);
#endif
        }
        if (has_mem) {
            VSTORE_STEP(V, mem, mem_off + o);
        }
#if CUBA
        if (has_cur) {
            VSTORE_STEP(I, cur, cur_off + o);
        }
#endif
        st[j].I = I, st[j].V = V, st[j].S = S, st[j].rc = rc;
    }
    }
    for (int j = 0; has_state_out && j < count; j++) {
        const spk_off_t idx = TILE_IDX(j);
        STORE_STATE4(state_out, so_off, CUBA ? st[j].I : VZERO, st[j].V, st[j].S, st[j].rc);
    }
}

/* Reverse-time loop. Per step t (dS/dV replaced by the surrogate g):
 *   dS    = dL/dS[t] + (gradient reaching S[t] through the reset at t+1)
 *   dV    = dL/dV[t] + (gradient from V[t+1]) + dS * g(V[t] - th)
 * then through V[t] = f(V[t-1], S[t-1], I[t]) and I[t] = aI I[t-1] + bI x[t].
 * Parameter gradients are summed over t per (b, n) into `partial`
 * [5, B, N]; lif_reduce_coef sums them over b. has_gx: 0 no input
 * gradient, 1 per step [T, B, N], 2 summed over the steps [B, N] (a static
 * input's: no [T, B, N] tensor to write and sum again). */
kernel void lif_backward(int T, int B, int N, int chunk, int stream, int spiking,
                         global const float *x, spk_off_t x_off, spk_off_t x_ts,
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
    TILE_INDEX();
    bwd_state st[CHUNK_MAX];
    /* has_gx 2: the input's gradient summed over the steps done (apart from
     * st: in it, the backward ran 10-15 % slower on the CPU even without) */
    vf gx_sum[CHUNK_MAX];
    int col[CHUNK_MAX];
#if REFRAC
    vi win[CHUNK_MAX];
    vf rc0s[CHUNK_MAX]; /* the initial refractory counters, read at every step */
#endif
    for (int j = 0; j < count; j++) {
        const spk_off_t idx = TILE_IDX(j);
        const int n = col[j] = (int)(idx % N);
        (void)n; /* read by the refractory window */
        /* Gradients flowing back into step t from step t+1. */
        vf gI_next = VZERO, gV_next = VZERO, gS_next = VZERO;
        if (has_gso) {
            gI_next = CUBA ? VLOADF(g_state_out, gso_off + 0 * BN + idx) : VZERO;
            gV_next = VLOADF(g_state_out, gso_off + 1 * BN + idx);
            gS_next = VLOADF(g_state_out, gso_off + 2 * BN + idx);
        }
        st[j].gI = gI_next, st[j].gV = gV_next, st[j].gS = gS_next;
        gx_sum[j] = VZERO;
#if COEF_TABLE
        st[j].daI = st[j].dbI = st[j].daV = st[j].dbV = st[j].dth = VZERO;
#endif
#if REFRAC
        vf I0 = VZERO, V0 = VZERO, S0 = VZERO, rc0 = VZERO;
        LOAD_STATE4(has_state_in, state_in, si_off, I0, V0, S0, rc0);
        rc0s[j] = rc0;
        vi window = 0;
        if (spiking) /* a readout has no spikes to count */
            REFRAC_WINDOW_COUNT(window);
        win[j] = window;
#endif
    }
    for (int t = T - 1; t >= 0; t--)
    for (int j = 0; j < count; j++) {
        const spk_off_t idx = TILE_IDX(j), o = (spk_off_t)t * BN + idx;
        const spk_off_t op = o - BN; /* step t-1, valid when t > 0 */
        const spk_off_t ox = (spk_off_t)t * x_ts + idx; /* x_ts 0: the same input at every step */
        const int n = col[j];
        LOAD_COEFS(n);
        /* The initial state stands in for step t-1 at t = 0. */
        vf I0 = VZERO, V0 = VZERO, S0 = VZERO, rc0 = VZERO;
        if (t == 0)
            LOAD_STATE4(has_state_in, state_in, si_off, I0, V0, S0, rc0);
#if REFRAC
        rc0 = rc0s[j];
#endif
        vf gI_next = st[j].gI, gV_next = st[j].gV, gS_next = st[j].gS;
#if COEF_TABLE
        vf d_aI = st[j].daI, d_bI = st[j].dbI, d_aV = st[j].daV, d_bV = st[j].dbV, d_th = st[j].dth;
#else
        vf d_aI = VZERO, d_bI = VZERO, d_aV = VZERO, d_bV = VZERO, d_th = VZERO; /* unused: compiled away */
#endif
#if REFRAC
        vi window = win[j];
#endif
        const vf V = VLOADF(mem, mem_off + o);
        const vf Vp = t > 0 ? VLOADF(mem, mem_off + op) : V0;
        const vf Sp = spiking && t > 0 ? SPIKE_LOAD(spikes, spk_off, t - 1, op) : S0;
#if CUBA
        const vf I = VLOADF(cur, cur_off + o);
        const vf Ip = t > 0 ? VLOADF(cur, cur_off + op) : I0;
#else
        const vf I = VLOADF(x, x_off + ox);
#endif
        vf dS = gS_next + (has_gS ? VLOADF(gS, gS_off + o) : VZERO);
        vf dV = gV_next + (has_gV ? VLOADF(gV, gV_off + o) : VZERO);
        vf dI = gI_next;
        if (spiking) {
#if REFRAC
            const vi refractory = (window > 0) | ((float)t < rc0);
#endif
            const vf g = surrogate(V - th, sscale);
            vf nr_dV = dV + dS * g, nr_dth = d_th - dS * g;
#if REFRAC
            dV = select(nr_dV, dV, refractory);
            d_th = select(nr_dth, d_th, refractory);
#else
            dV = nr_dV;
            d_th = nr_dth;
#endif
            /* Not refractory: back through the integration and the reset. */
            vf nr_gV, nr_gS, nr_daV, nr_dbV, nr_dI;
#if IMMEDIATE
            const vf P = reset_apply(Vp, Sp, th, vr);
            nr_daV = d_aV + dV * P;
            nr_dbV = d_bV + dV * I;
            const vf dP = dV * aV;
            nr_gV = dP * reset_dv(Sp);
            nr_gS = dP * reset_ds(Vp, th, vr);
            nr_dth = d_th + dP * reset_dth(Sp);
            nr_dI = dI + dV * bV;
#else
            const vf Q = aV * Vp + bV * I;
            const vf dQ = dV * reset_dv(Sp);
            nr_gS = dV * reset_ds(Q, th, vr);
            nr_dth = d_th + dV * reset_dth(Sp);
            nr_daV = d_aV + dQ * Vp;
            nr_dbV = d_bV + dQ * I;
            nr_gV = dQ * aV;
            nr_dI = dI + dQ * bV;
#endif
#if REFRAC
            /* Refractory: V[t] = R(V[t-1], S[t-1]) only. */
            gV_next = select(nr_gV, dV * reset_dv(Sp), refractory);
            gS_next = select(nr_gS, dV * reset_ds(Vp, th, vr), refractory);
            d_th = select(nr_dth, d_th + dV * reset_dth(Sp), refractory);
            d_aV = select(nr_daV, d_aV, refractory);
            d_bV = select(nr_dbV, d_bV, refractory);
            dI = select(nr_dI, dI, refractory);
#else
            gV_next = nr_gV;
            gS_next = nr_gS;
            d_th = nr_dth;
            d_aV = nr_daV;
            d_bV = nr_dbV;
            dI = nr_dI;
#endif
        } else {
            gS_next = VZERO; /* a readout's output does not depend on S */
            d_aV += dV * Vp;
            d_bV += dV * I;
            gV_next = dV * aV;
            dI += dV * bV;
        }
#if CUBA
        const vf xt = VLOADF(x, x_off + ox);
        d_aI += dI * Ip;
        d_bI += dI * xt;
        gI_next = dI * aI;
        const vf gxt = dI * bI;
#else
        const vf gxt = dI;
#endif
        if (has_gx == 1)
            VSTREAMF(gxt, gx, gx_off + o);
        else if (has_gx == 2) /* from the last step down, as the reference sums */
            gx_sum[j] += gxt;
#if REFRAC
        if (spiking)
            REFRAC_WINDOW_SLIDE(window, t);
        win[j] = window;
#endif
        st[j].gI = gI_next, st[j].gV = gV_next, st[j].gS = gS_next;
#if COEF_TABLE
        st[j].daI = d_aI, st[j].dbI = d_bI, st[j].daV = d_aV, st[j].dbV = d_bV, st[j].dth = d_th;
#endif
    }
    for (int j = 0; j < count; j++) {
        const spk_off_t idx = TILE_IDX(j);
        if (has_gx == 2)
            VSTOREF(gx_sum[j], gx, gx_off + idx);
        if (has_gsi)
            STORE_STATE4(g_state_in, gsi_off, CUBA ? st[j].gI : VZERO, st[j].gV, st[j].gS, VZERO);
#if COEF_TABLE
        if (has_partial) {
            VSTOREF(st[j].daI, partial, 0 * BN + idx);
            VSTOREF(st[j].dbI, partial, 1 * BN + idx);
            VSTOREF(st[j].daV, partial, 2 * BN + idx);
            VSTOREF(st[j].dbV, partial, 3 * BN + idx);
            VSTOREF(st[j].dth, partial, 4 * BN + idx);
        }
#endif
    }
}

#if COEF_TABLE /* launched only by calls with coefficient gradients, built with it */
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
#endif
