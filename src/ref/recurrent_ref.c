/* Reference recurrent spiking layer: the whole layer stepped in time from
 * the GEMM and LIF references, one step at a time with the neuron state
 * chained between steps (forward) and the state gradient chained back
 * (BPTT). Written for clarity: the recurrence's gradient is added to
 * dL/dS[t] directly, not folded into the state gradient as the library
 * does, so the two are independent derivations. */
#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"

/* The forward's trajectory: x [T, B, N], spikes [T, B, N] and the state
 * before every step and after the last [T+1, 4, B, N] (index 0 is zero). */
typedef struct rec_traj {
    float *x, *spikes, *states;
} rec_traj;

static void traj_free(rec_traj *tr)
{
    free(tr->x), free(tr->spikes), free(tr->states);
}

static spk_status run_forward(const spk_ref_recurrent *r, const float *u, rec_traj *tr, float *membrane,
                              float *current)
{
    const size_t T = r->T, B = r->B, N = r->N, BN = B * N, SBN = (size_t)SPK_LIF_NSTATE * BN;
    int cuba = r->lif->kind == SPK_NEURON_CUBA_LIF || r->lif->kind == SPK_NEURON_CUBA_LI;
    tr->x = calloc(T * BN, sizeof(float));
    tr->spikes = calloc(T * BN, sizeof(float));
    tr->states = calloc((T + 1) * SBN, sizeof(float));
    if (!tr->x || !tr->spikes || !tr->states)
        return SPK_ERR_OUT_OF_MEMORY;
    for (size_t t = 0; t < T; t++) {
        float *xt = tr->x + t * BN;
        /* x[t] = u[t] W_in^T + b + S[t-1] W_rec^T */
        spk_ref_gemm(0, 1, B, N, r->in, 1.0f, u + t * B * r->in, r->W_in, 0.0f, xt);
        if (r->bias)
            for (size_t b = 0; b < B; b++)
                for (size_t n = 0; n < N; n++)
                    xt[b * N + n] += r->bias[n];
        if (t > 0)
            spk_ref_gemm(0, 1, B, N, N, 1.0f, tr->spikes + (t - 1) * BN, r->W_rec, 1.0f, xt);
        spk_ref_lif_io io = {.x = xt,
                             .state_in = tr->states + t * SBN,
                             .state_out = tr->states + (t + 1) * SBN,
                             .spikes = tr->spikes + t * BN,
                             .membrane = membrane ? membrane + t * BN : NULL,
                             .current = current && cuba ? current + t * BN : NULL};
        spk_status st = spk_ref_lif_forward(r->lif, r->mode, 1, B, N, &io);
        if (st != SPK_OK)
            return st;
    }
    return SPK_OK;
}

spk_status spk_ref_recurrent_forward(const spk_ref_recurrent *r, const float *u, float *spikes, float *membrane,
                                     float *current, float *x)
{
    rec_traj tr = {0};
    spk_status st = run_forward(r, u, &tr, membrane, current);
    if (st == SPK_OK) {
        size_t n = r->T * r->B * r->N;
        if (spikes)
            memcpy(spikes, tr.spikes, n * sizeof(float));
        if (x)
            memcpy(x, tr.x, n * sizeof(float));
    }
    traj_free(&tr);
    return st;
}

spk_status spk_ref_recurrent_backward(const spk_ref_recurrent *r, const float *u, const float *grad_spikes,
                                      float *du, float *dW_in, float *db, float *dW_rec)
{
    const size_t T = r->T, B = r->B, N = r->N, BN = B * N, SBN = (size_t)SPK_LIF_NSTATE * BN;
    rec_traj tr = {0};
    float *dx = calloc(T * BN, sizeof(float)), *gS = calloc(BN, sizeof(float));
    float *g_next = calloc(SBN, sizeof(float)), *g_prev = calloc(SBN, sizeof(float));
    spk_status st = dx && gS && g_next && g_prev ? SPK_OK : SPK_ERR_OUT_OF_MEMORY;
    if (st == SPK_OK)
        st = run_forward(r, u, &tr, NULL, NULL);
    for (size_t t = T; st == SPK_OK && t-- > 0;) {
        /* dL/dS[t] = incoming + dx[t+1] W_rec (x[t+1] reads S[t]) */
        memcpy(gS, grad_spikes + t * BN, BN * sizeof(float));
        if (t + 1 < T)
            spk_ref_gemm(0, 0, B, N, N, 1.0f, dx + (t + 1) * BN, r->W_rec, 1.0f, gS);
        spk_ref_lif_io io = {.x = tr.x + t * BN, .state_in = tr.states + t * SBN};
        spk_ref_lif_grads g = {.grad_spikes = gS,
                               .grad_state_out = t + 1 < T ? g_next : NULL,
                               .grad_input = dx + t * BN,
                               .grad_state_in = g_prev};
        st = spk_ref_lif_backward(r->lif, r->mode, 1, B, N, &io, &g);
        float *swap = g_next;
        g_next = g_prev, g_prev = swap;
    }
    if (st == SPK_OK) {
        /* dW_rec = sum_{t >= 1} dx[t]^T S[t-1] */
        memset(dW_rec, 0, N * N * sizeof(float));
        if (T > 1)
            spk_ref_gemm(1, 0, N, N, (T - 1) * B, 1.0f, dx + BN, tr.spikes, 0.0f, dW_rec);
        spk_ref_gemm(1, 0, N, r->in, T * B, 1.0f, dx, u, 0.0f, dW_in);
        if (db)
            for (size_t n = 0; n < N; n++) {
                double s = 0.0;
                for (size_t i = 0; i < T * B; i++)
                    s += dx[i * N + n];
                db[n] = (float)s;
            }
        if (du)
            spk_ref_gemm(0, 0, T * B, r->in, N, 1.0f, dx, r->W_in, 0.0f, du);
    }
    free(dx), free(gS), free(g_next), free(g_prev);
    traj_free(&tr);
    return st;
}
