/* STDP-family rules over a whole sequence (include/spikecl/plasticity.h has
 * the math; src/ref/plasticity_ref.c is the plain-C reference, in the same
 * order of operations).
 *
 * stdp_update: one work item per weight, dimension 0 along the contiguous
 * pre-synaptic index (dense: j of W[i, j]; conv: (c, kh, kw)), dimension 1
 * the post-synaptic index (dense: i; conv: oc). A dense weight is the
 * convolution with a 1x1 kernel over 1x1 images (C = n_pre, OC = n_post),
 * so one kernel serves both. Each item loops over samples, the positions
 * its shared weight connects, and time, recomputing the traces of its two
 * neurons in registers: no trace sequences go through memory, and on CPUs
 * (STEP_SYNC) the items of a group read neighbouring spikes at each step.
 *
 * Structural defines (set by src/ops/plasticity.c):
 *   RULE       0 additive, 1 multiplicative, 2 triplet, 3 MSTDP, 4 MSTDPET
 *   PRE_T, POST_T  spike storage types (float or uchar)
 *   STEP_SYNC  1: barrier after every step (CPU devices, see common.clh)
 */

#ifndef RULE
#define RULE 0
#endif
#ifndef PRE_T
#define PRE_T float
#endif
#ifndef POST_T
#define POST_T float
#endif

#define TRIPLET (RULE == 2)
#define REWARD (RULE >= 3)
#define ELIGIBILITY (RULE == 4)

/* The geometry, as spk_stdp_conv (dense: C = n_pre, OC = n_post, the rest 1 or 0). */
typedef struct geom {
    int C, H, W, OC, OH, OW, KH, KW, SH, SW, PH, PW;
} geom;

kernel void stdp_update(int T, int B, geom g,
                        global const PRE_T *pre, spk_off_t pre_off,
                        global const POST_T *post, spk_off_t post_off,
                        global const float *w, spk_off_t w_off,
                        global const float *reward, spk_off_t reward_off,
                        global const float *pre_tr, spk_off_t pre_tr_off, int pre_tr_present,
                        global const float *post_tr, spk_off_t post_tr_off, int post_tr_present,
                        global const float *elig_in, spk_off_t elig_in_off, int elig_in_present,
                        global float *elig_out, spk_off_t elig_out_off, int elig_out_present,
                        global float *dw, spk_off_t dw_off, float alpha, float beta,
                        float d_plus, float d_minus, float d_x, float d_y, float d_e,
                        float a_plus, float a_minus, float a3_plus, float a3_minus,
                        float mu, float w_min, float w_max)
{
    const int ckk = g.C * g.KH * g.KW, n_w = ckk * g.OC;
    const int n_pre = g.C * g.H * g.W, n_post = g.OC * g.OH * g.OW, P = g.OH * g.OW;
    const int col = get_global_id(0), oc = get_global_id(1);
    const int valid = col < ckk && oc < g.OC;
    /* Out-of-range items run the same loops on weight 0 (every item must
     * reach the barriers) and store nothing. */
    const int wi = valid ? oc * ckk + col : 0;
    const int c = valid ? col / (g.KH * g.KW) : 0, kh = valid ? col / g.KW % g.KH : 0, kw = valid ? col % g.KW : 0;
    const int o = valid ? oc : 0;
    pre += pre_off, post += post_off, w += w_off, reward += reward_off;
    pre_tr += pre_tr_off, post_tr += post_tr_off, elig_in += elig_in_off, elig_out += elig_out_off, dw += dw_off;

    float f_plus = 1.0f, f_minus = 1.0f;
#if RULE == 1
    f_plus = pow(fmax(w_max - w[wi], 0.0f), mu);
    f_minus = pow(fmax(w[wi] - w_min, 0.0f), mu);
#endif
    float acc = 0.0f;
    for (int b = 0; b < B; b++) {
#if ELIGIBILITY
        float e_sum = 0.0f;
#endif
        for (int pos = 0; pos < P; pos++) {
            const int oh = pos / g.OW, ow = pos % g.OW;
            const int ih = oh * g.SH + kh - g.PH, iw = ow * g.SW + kw - g.PW;
            const int in = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
            const int pj = in ? (c * g.H + ih) * g.W + iw : 0, qi = (o * g.OH + oh) * g.OW + ow;
            float x1 = 0.0f, x2 = 0.0f, y1 = 0.0f, y2 = 0.0f;
            if (in && pre_tr_present)
                x1 = pre_tr[b * n_pre + pj], x2 = pre_tr[(B + b) * n_pre + pj];
            if (post_tr_present)
                y1 = post_tr[b * n_post + qi], y2 = post_tr[(B + b) * n_post + qi];
#if ELIGIBILITY
            float e = 0.0f;
#endif
            for (int t = 0; t < T; t++) {
                const float sp = in ? (float)pre[((size_t)t * B + b) * n_pre + pj] : 0.0f;
                const float so = (float)post[((size_t)t * B + b) * n_post + qi];
                const float x2b = x2 * d_x, y2b = y2 * d_y;
                x1 = x1 * d_plus + sp;
                y1 = y1 * d_minus + so;
                x2 = x2b + sp;
                y2 = y2b + so;
#if TRIPLET
                const float ltp = so * x1 * (a_plus + a3_plus * y2b);
                const float ltd = sp * y1 * (a_minus + a3_minus * x2b);
#else
                const float ltp = so * x1 * a_plus;
                const float ltd = sp * y1 * a_minus;
#endif
                const float xi = f_plus * ltp - f_minus * ltd;
#if ELIGIBILITY
                e = e * d_e + xi;
                acc += reward[t * B + b] * e;
#elif REWARD
                acc += reward[t * B + b] * xi;
#else
                acc += xi;
#endif
                STEP_END();
            }
#if ELIGIBILITY
            e_sum += e;
#endif
        }
#if ELIGIBILITY
        /* The eligibility carried in decays through the sequence: it adds
         * e_in * sum_t r[t] d_e^(t+1) to dW and e_in d_e^T to the state. */
        const float e_in = elig_in_present ? elig_in[(size_t)b * n_w + wi] : 0.0f;
        float decay = 1.0f, r_sum = 0.0f;
        for (int t = 0; t < T; t++) {
            decay *= d_e;
            r_sum += reward[t * B + b] * decay;
        }
        acc += e_in * r_sum;
        if (valid && elig_out_present)
            elig_out[(size_t)b * n_w + wi] = e_in * decay + e_sum;
#endif
    }
    if (valid)
        dw[wi] = beta == 0.0f ? alpha * acc : alpha * acc + beta * dw[wi];
}

/* The GEMM form of the rules without eligibility (dense weights): with
 * trace sequences X1 [T*B, n_pre], Y1 [T*B, n_post] and factor sequences
 *   Q[t, b, i] = m[t, b] S_post[t, b, i] (a_plus  + a3_plus  d_y y2_i[t-1])
 *   R[t, b, j] = m[t, b] S_pre[t, b, j]  (a_minus + a3_minus d_x x2_j[t-1])
 * (m the reward, or 1), dW = f_plus o (Q^T X1) - f_minus o (Y1^T R): two
 * GEMMs over T*B rows. stdp_factors writes one side's trace and factor
 * sequences (one item per (b, n), time inside) and its trace state. */
kernel void stdp_factors(int T, int B, int N, global const PRE_T *s, spk_off_t s_off,
                         global const float *m, spk_off_t m_off, int m_present,
                         global const float *tr_in, spk_off_t tr_in_off, int tr_in_present,
                         global float *trace, global float *factor,
                         global float *tr_out, spk_off_t tr_out_off, int tr_out_present,
                         float d_fast, float d_slow, float amp, float amp3)
{
    const int BN = B * N, k = get_global_id(0), valid = k < BN, kk = valid ? k : 0, b = kk / N;
    s += s_off, m += m_off, tr_in += tr_in_off, tr_out += tr_out_off;
    float fast = tr_in_present ? tr_in[kk] : 0.0f, slow = tr_in_present ? tr_in[BN + kk] : 0.0f;
    for (int t = 0; t < T; t++) {
        const size_t at = (size_t)t * BN + kk;
        const float sp = (float)s[at];
        const float slow_b = slow * d_slow;
        fast = fast * d_fast + sp;
        slow = slow_b + sp;
#if TRIPLET
        float f = sp * (amp + amp3 * slow_b);
#else
        float f = sp * amp;
#endif
        if (m_present)
            f = m[t * B + b] * f;
        if (valid)
            trace[at] = fast, factor[at] = f;
        STEP_END();
    }
    if (valid && tr_out_present)
        tr_out[k] = fast, tr_out[BN + k] = slow;
}

/* Weight-dependent combination: dw = alpha (f_plus(w) ltp - f_minus(w) ltd) + beta dw. */
kernel void stdp_combine(int n, global const float *ltp, global const float *ltd, global const float *w,
                         spk_off_t w_off, global float *dw, spk_off_t dw_off, float alpha, float beta, float mu,
                         float w_min, float w_max)
{
    const int k = get_global_id(0);
    if (k >= n)
        return;
    const float wk = w[w_off + k];
    const float f_plus = pow(fmax(w_max - wk, 0.0f), mu), f_minus = pow(fmax(wk - w_min, 0.0f), mu);
    const float v = alpha * (f_plus * ltp[k] - f_minus * ltd[k]);
    dw[dw_off + k] = beta == 0.0f ? v : v + beta * dw[dw_off + k];
}

/* The trace state of one side after the sequence: one item per (b, n),
 * rows [2, B, N] as in the update. */
kernel void stdp_traces(int T, int BN, global const PRE_T *s, spk_off_t s_off,
                        global const float *tr_in, spk_off_t tr_in_off, int tr_in_present,
                        global float *tr_out, spk_off_t tr_out_off, float d_fast, float d_slow)
{
    const int k = get_global_id(0), valid = k < BN, kk = valid ? k : 0;
    s += s_off, tr_in += tr_in_off, tr_out += tr_out_off;
    float fast = tr_in_present ? tr_in[kk] : 0.0f, slow = tr_in_present ? tr_in[BN + kk] : 0.0f;
    for (int t = 0; t < T; t++) {
        const float sp = (float)s[(size_t)t * BN + kk];
        fast = fast * d_fast + sp;
        slow = slow * d_slow + sp;
        STEP_END();
    }
    if (valid)
        tr_out[k] = fast, tr_out[BN + k] = slow;
}

/* w = min(max(w, lo), hi) in place. */
kernel void stdp_clamp(int n, global float *w, spk_off_t w_off, float lo, float hi)
{
    const int k = get_global_id(0);
    if (k < n)
        w[w_off + k] = fmin(fmax(w[w_off + k], lo), hi);
}
