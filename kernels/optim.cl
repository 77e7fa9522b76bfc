/* Optimizer rules, one work item per parameter element: apply(state, x, dx).
 * Reference: src/ref/optim_ref.c. */

/* x -= lr * u, with u = dx + wd x, through heavy-ball momentum when
 * momentum > 0 (v = momentum v + u; u = v). */
#define SGD_RULE(x, g, v)                                                  \
    do {                                                                   \
        g = g + wd * x;                                                    \
        if (momentum > 0.0f)                                               \
            g = v = momentum * v + g;                                      \
        x = x - lr * g;                                                    \
    } while (0)

#ifndef OPTIM_VW /* one item per element: devices without the tiled variants below */
kernel void sgd_step(uint n, global float *x, spk_off_t x_off, global const float *g, spk_off_t g_off,
                     global float *v, float lr, float momentum, float wd)
{
    const uint i = (uint)get_global_id(0);
    if (i >= n)
        return;
    float xi = x[x_off + i], gi = g[g_off + i], vel = momentum > 0.0f ? v[i] : 0.0f;
    SGD_RULE(xi, gi, vel);
    if (momentum > 0.0f)
        v[i] = vel;
    x[x_off + i] = xi;
}
#endif

/* Adam (decoupled = 0: L2 weight decay in the gradient) or AdamW
 * (decoupled = 1: x -= lr wd x). bc1, bc2 = 1 - beta^t from the host.
 * ADAM_RULE updates x, m, v of one element or one vector alike. */
#define ADAM_RULE(x, g, m, v)                                              \
    do {                                                                   \
        if (!decoupled)                                                    \
            g = g + wd * x;                                                \
        m = b1 * m + (1.0f - b1) * g;                                      \
        v = b2 * v + (1.0f - b2) * g * g;                                  \
        if (decoupled)                                                     \
            x = x - lr * wd * x;                                           \
        x = x - lr * (m / bc1) / (sqrt(v / bc2) + eps);                    \
    } while (0)

#ifndef OPTIM_VW
kernel void adam_step(uint n, global float *x, spk_off_t x_off, global const float *g, spk_off_t g_off,
                      global float *m, global float *v, float lr, float b1, float b2, float eps, float wd,
                      int decoupled, float bc1, float bc2)
{
    const uint i = (uint)get_global_id(0);
    if (i >= n)
        return;
    float xi = x[x_off + i], gi = g[g_off + i], mi = m[i], sq = v[i];
    ADAM_RULE(xi, gi, mi, sq);
    m[i] = mi;
    v[i] = sq;
    x[x_off + i] = xi;
}
#endif

#ifdef OPTIM_VW
/* The rules on CPU devices (the host defines OPTIM_VW, the native float
 * width): a work item runs `chunk` vectors of OPTIM_VW elements, the item
 * that ends at the last vector also the n % OPTIM_VW left over. One item
 * per element had PoCL vectorize across items with masked stores for the
 * bounds check (vmaskmovps, slow on AMD): Adam took 4x the time of this. */
typedef float vf_u __attribute__((ext_vector_type(OPTIM_VW), aligned(4)));
#define LOADV(p) (*(const global vf_u *)(p))
#define STOREV(p, val) (*(global vf_u *)(p) = (val))
/* TILED(VEC, ONE): VEC(i) for the vectors at element i, ONE(i) for the tail. */
#define TILED(VEC, ONE)                                                                            \
    do {                                                                                           \
        const uint vecs = n / OPTIM_VW, first = (uint)get_global_id(0) * chunk;                    \
        const uint last = min(vecs, first + chunk);                                                \
        for (uint k = first; k < last; k++)                                                        \
            VEC((spk_off_t)k * OPTIM_VW);                                                          \
        if (vecs ? first < vecs && last == vecs : get_global_id(0) == 0)                           \
            SCALAR_LOOP                                                                            \
            for (uint i = vecs * OPTIM_VW; i < n; i++)                                             \
                ONE(i);                                                                            \
    } while (0)

kernel void sgd_step_tiled(uint n, uint chunk, global float *x, spk_off_t x_off, global const float *g,
                           spk_off_t g_off, global float *v, float lr, float momentum, float wd)
{
#define SGD_VEC(i)                                                                                 \
    do {                                                                                           \
        vf_u xi = LOADV(x + x_off + (i)), gi = LOADV(g + g_off + (i));                             \
        vf_u vel = momentum > 0.0f ? LOADV(v + (i)) : (vf_u)(0.0f);                                \
        SGD_RULE(xi, gi, vel);                                                                     \
        if (momentum > 0.0f)                                                                       \
            STOREV(v + (i), vel);                                                                  \
        STOREV(x + x_off + (i), xi);                                                               \
    } while (0)
#define SGD_ONE(i)                                                                                 \
    do {                                                                                           \
        float xi = x[x_off + (i)], gi = g[g_off + (i)], vel = momentum > 0.0f ? v[i] : 0.0f;       \
        SGD_RULE(xi, gi, vel);                                                                     \
        if (momentum > 0.0f)                                                                       \
            v[i] = vel;                                                                            \
        x[x_off + (i)] = xi;                                                                       \
    } while (0)
    TILED(SGD_VEC, SGD_ONE);
}

kernel void adam_step_tiled(uint n, uint chunk, global float *x, spk_off_t x_off, global const float *g,
                            spk_off_t g_off, global float *m, global float *v, float lr, float b1, float b2,
                            float eps, float wd, int decoupled, float bc1, float bc2)
{
#define ADAM_VEC(i)                                                                                \
    do {                                                                                           \
        vf_u xi = LOADV(x + x_off + (i)), gi = LOADV(g + g_off + (i));                             \
        vf_u mi = LOADV(m + (i)), sq = LOADV(v + (i));                                             \
        ADAM_RULE(xi, gi, mi, sq);                                                                 \
        STOREV(m + (i), mi);                                                                       \
        STOREV(v + (i), sq);                                                                       \
        STOREV(x + x_off + (i), xi);                                                               \
    } while (0)
#define ADAM_ONE(i)                                                                                \
    do {                                                                                           \
        float xi = x[x_off + (i)], gi = g[g_off + (i)], mi = m[i], sq = v[i];                      \
        ADAM_RULE(xi, gi, mi, sq);                                                                 \
        m[i] = mi;                                                                                 \
        v[i] = sq;                                                                                 \
        x[x_off + (i)] = xi;                                                                       \
    } while (0)
    TILED(ADAM_VEC, ADAM_ONE);
}
#endif

/* x *= s (gradient clipping, loss scaling). */
kernel void scale_inplace(uint n, global float *x, spk_off_t x_off, float s)
{
    const uint i = (uint)get_global_id(0);
    if (i < n)
        x[x_off + i] *= s;
}
