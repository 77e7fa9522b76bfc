/* Plain-C reference of kernels/plasticity.cl: the same loops and order of
 * operations, one weight at a time. */
#include <math.h>
#include <string.h>

#include "ref/ref.h"

/* Geometry of a dense weight as a 1x1 convolution over 1x1 images. */
static spk_stdp_conv as_conv(const spk_stdp_conv *conv, size_t n_pre, size_t n_post)
{
    if (conv)
        return *conv;
    spk_stdp_conv g = {n_pre, 1, 1, n_post, 1, 1, 1, 1, 0, 0};
    return g;
}

spk_status spk_ref_stdp_update(const spk_stdp_params *p, const spk_stdp_conv *conv, size_t T, size_t B,
                               size_t n_pre, size_t n_post, const spk_ref_stdp_io *io)
{
    float d[SPK_STDP_NDECAY];
    spk_status st = spk_stdp_decays(p, d, NULL, 0);
    if (st != SPK_OK)
        return st;
    const spk_stdp_conv g = as_conv(conv, n_pre, n_post);
    const size_t OH = (g.H + 2 * g.PH - g.KH) / g.SH + 1, OW = (g.W + 2 * g.PW - g.KW) / g.SW + 1;
    const size_t ckk = g.C * g.KH * g.KW, n_w = ckk * g.OC, P = OH * OW;
    n_pre = g.C * g.H * g.W, n_post = g.OC * OH * OW;
    const int triplet = p->rule == SPK_STDP_TRIPLET, reward = p->rule >= SPK_STDP_MSTDP;
    const int elig = p->rule == SPK_STDP_MSTDPET;
    const float a3p = triplet ? p->a3_plus : 0.0f, a3m = triplet ? p->a3_minus : 0.0f;
    for (size_t oc = 0; oc < g.OC; oc++)
        for (size_t col = 0; col < ckk; col++) {
            const size_t wi = oc * ckk + col, c = col / (g.KH * g.KW), kh = col / g.KW % g.KH, kw = col % g.KW;
            float f_plus = 1.0f, f_minus = 1.0f;
            if (p->rule == SPK_STDP_MULTIPLICATIVE) {
                f_plus = powf(fmaxf(p->w_max - io->weight[wi], 0.0f), p->mu);
                f_minus = powf(fmaxf(io->weight[wi] - p->w_min, 0.0f), p->mu);
            }
            float acc = 0.0f;
            for (size_t b = 0; b < B; b++) {
                float e_sum = 0.0f;
                for (size_t pos = 0; pos < P; pos++) {
                    const long ih = (long)((pos / OW) * g.SH + kh) - (long)g.PH;
                    const long iw = (long)((pos % OW) * g.SW + kw) - (long)g.PW;
                    const int in = ih >= 0 && ih < (long)g.H && iw >= 0 && iw < (long)g.W;
                    const size_t pj = in ? (c * g.H + (size_t)ih) * g.W + (size_t)iw : 0;
                    const size_t qi = (oc * OH + pos / OW) * OW + pos % OW;
                    float x1 = 0, x2 = 0, y1 = 0, y2 = 0, e = 0;
                    if (in && io->pre_trace_in)
                        x1 = io->pre_trace_in[b * n_pre + pj], x2 = io->pre_trace_in[(B + b) * n_pre + pj];
                    if (io->post_trace_in)
                        y1 = io->post_trace_in[b * n_post + qi], y2 = io->post_trace_in[(B + b) * n_post + qi];
                    for (size_t t = 0; t < T; t++) {
                        const float sp = in ? io->pre[(t * B + b) * n_pre + pj] : 0.0f;
                        const float so = io->post[(t * B + b) * n_post + qi];
                        const float x2b = x2 * d[SPK_STDP_DECAY_X], y2b = y2 * d[SPK_STDP_DECAY_Y];
                        x1 = x1 * d[SPK_STDP_DECAY_PLUS] + sp;
                        y1 = y1 * d[SPK_STDP_DECAY_MINUS] + so;
                        x2 = x2b + sp;
                        y2 = y2b + so;
                        const float ltp = triplet ? so * x1 * (p->a_plus + a3p * y2b) : so * x1 * p->a_plus;
                        const float ltd = triplet ? sp * y1 * (p->a_minus + a3m * x2b) : sp * y1 * p->a_minus;
                        const float xi = f_plus * ltp - f_minus * ltd;
                        if (elig) {
                            e = e * d[SPK_STDP_DECAY_E] + xi;
                            acc += io->reward[t * B + b] * e;
                        } else {
                            acc += reward ? io->reward[t * B + b] * xi : xi;
                        }
                    }
                    e_sum += e;
                }
                if (elig) {
                    const float e_in = io->elig_in ? io->elig_in[b * n_w + wi] : 0.0f;
                    float decay = 1.0f, r_sum = 0.0f;
                    for (size_t t = 0; t < T; t++) {
                        decay *= d[SPK_STDP_DECAY_E];
                        r_sum += io->reward[t * B + b] * decay;
                    }
                    acc += e_in * r_sum;
                    if (io->elig_out)
                        io->elig_out[b * n_w + wi] = e_in * decay + e_sum;
                }
            }
            io->dw[wi] = io->beta == 0.0f ? io->alpha * acc : io->alpha * acc + io->beta * io->dw[wi];
        }
    return SPK_OK;
}

void spk_ref_stdp_traces(size_t T, size_t BN, const float *s, const float *tr_in, float d_fast, float d_slow,
                         float *tr_out)
{
    for (size_t k = 0; k < BN; k++) {
        float fast = tr_in ? tr_in[k] : 0.0f, slow = tr_in ? tr_in[BN + k] : 0.0f;
        for (size_t t = 0; t < T; t++) {
            fast = fast * d_fast + s[t * BN + k];
            slow = slow * d_slow + s[t * BN + k];
        }
        tr_out[k] = fast, tr_out[BN + k] = slow;
    }
}
