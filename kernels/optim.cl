/* Optimizer rules, one work item per parameter element: apply(state, x, dx).
 * Reference: src/ref/optim_ref.c. */

/* x -= lr * u, with u = dx + wd x, through heavy-ball momentum when
 * momentum > 0 (v = momentum v + u; u = v). */
kernel void sgd_step(uint n, global float *x, spk_off_t x_off, global const float *g, spk_off_t g_off,
                     global float *v, float lr, float momentum, float wd)
{
    const uint i = (uint)get_global_id(0);
    if (i >= n)
        return;
    const float xi = x[x_off + i];
    float u = g[g_off + i] + wd * xi;
    if (momentum > 0.0f) {
        u = momentum * v[i] + u;
        v[i] = u;
    }
    x[x_off + i] = xi - lr * u;
}

/* Adam (decoupled = 0: L2 weight decay in the gradient) or AdamW
 * (decoupled = 1: x -= lr wd x). bc1, bc2 = 1 - beta^t from the host. */
kernel void adam_step(uint n, global float *x, spk_off_t x_off, global const float *g, spk_off_t g_off,
                      global float *m, global float *v, float lr, float b1, float b2, float eps, float wd,
                      int decoupled, float bc1, float bc2)
{
    const uint i = (uint)get_global_id(0);
    if (i >= n)
        return;
    float xi = x[x_off + i];
    float gi = g[g_off + i];
    if (!decoupled)
        gi = gi + wd * xi;
    const float mi = b1 * m[i] + (1.0f - b1) * gi;
    const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    if (decoupled)
        xi = xi - lr * wd * xi;
    x[x_off + i] = xi - lr * (mi / bc1) / (sqrt(vi / bc2) + eps);
}

/* x *= s (gradient clipping, loss scaling). */
kernel void scale_inplace(uint n, global float *x, spk_off_t x_off, float s)
{
    const uint i = (uint)get_global_id(0);
    if (i < n)
        x[x_off + i] *= s;
}
