#include <math.h>
#include "philox.clh"
#include "ref/ref.h"

void spk_ref_encode_poisson(uint64_t seed, const float *intensity, size_t F, size_t T, float gain, uint64_t stream,
                            float *spikes)
{
    for (size_t i = 0; i < F; i++) {
        float p = gain * intensity[i];
        p = p < 0.0f ? 0.0f : p > 1.0f ? 1.0f : p;
        for (size_t t = 0; t < T; t++) {
            spk_philox4 ctr = {{(spk_u32)i, (spk_u32)(t / 4), (spk_u32)stream, (spk_u32)(stream >> 32)}};
            spk_philox4 r = spk_philox4x32_10(ctr, (spk_u32)seed, (spk_u32)(seed >> 32));
            spikes[t * F + i] = spk_u32_to_unit(r.v[t % 4]) < p ? 1.0f : 0.0f;
        }
    }
}

void spk_ref_encode_direct(const float *x, size_t F, size_t T, float gain, float *out)
{
    for (size_t t = 0; t < T; t++)
        for (size_t i = 0; i < F; i++)
            out[t * F + i] = gain * x[i];
}

void spk_ref_encode_latency(const float *x, size_t F, size_t T, float gain, float *spikes)
{
    for (size_t i = 0; i < F; i++) {
        float p = gain * x[i];
        p = p < 0.0f ? 0.0f : p > 1.0f ? 1.0f : p;
        long fire = p > 0.0f ? lrintf((1.0f - p) * (float)(T - 1)) : -1;
        for (size_t t = 0; t < T; t++)
            spikes[t * F + i] = (long)t == fire ? 1.0f : 0.0f;
    }
}

void spk_ref_gemm(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha, const float *A,
                  const float *B, float beta, float *C)
{
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double acc = 0.0;
            for (size_t k = 0; k < K; k++) {
                double a = trans_a ? A[k * M + i] : A[i * K + k];
                double b = trans_b ? B[j * K + k] : B[k * N + j];
                acc += a * b;
            }
            C[i * N + j] = (float)(alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * C[i * N + j]));
        }
}
