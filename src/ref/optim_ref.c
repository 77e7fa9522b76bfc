#include <math.h>

#include "ref/ref.h"

void spk_ref_sgd_step(size_t n, float *x, const float *g, float *v, float lr, float momentum, float wd)
{
    for (size_t i = 0; i < n; i++) {
        float u = g[i] + wd * x[i];
        if (momentum > 0.0f) {
            u = momentum * v[i] + u;
            v[i] = u;
        }
        x[i] = x[i] - lr * u;
    }
}

void spk_ref_adam_step(size_t n, float *x, const float *g, float *m, float *v, float lr, float b1, float b2,
                       float eps, float wd, int decoupled, long step)
{
    float bc1 = (float)(1.0 - pow(b1, (double)step)), bc2 = (float)(1.0 - pow(b2, (double)step));
    for (size_t i = 0; i < n; i++) {
        float gi = decoupled ? g[i] : g[i] + wd * x[i];
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        float xi = decoupled ? x[i] - lr * wd * x[i] : x[i];
        x[i] = xi - lr * (m[i] / bc1) / (sqrtf(v[i] / bc2) + eps);
    }
}
