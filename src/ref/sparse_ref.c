/* Plain-C reference of kernels/sparse_synapse.cl: event-driven synaptic
 * propagation for binary input spikes. */
#include <stdlib.h>

#include "ref/ref.h"

size_t spk_ref_sparse_compact(const float *x, size_t rows, size_t in, int *count, int *idx, int *binary)
{
    size_t nnz = 0;
    *binary = 1;
    for (size_t r = 0; r < rows; r++) {
        int k = 0;
        for (size_t j = 0; j < in; j++) {
            float v = x[r * in + j];
            if (v == 0.0f)
                continue;
            if (v != 1.0f)
                *binary = 0;
            idx[r * in + (size_t)k++] = (int)j;
        }
        count[r] = k;
        nnz += (size_t)k;
    }
    return nnz;
}

void spk_ref_sparse_forward(const int *count, const int *idx, size_t rows, size_t in, const float *W, const float *b,
                            size_t out, float *y)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t o = 0; o < out; o++) {
            float acc = b ? b[o] : 0.0f; /* the kernel's order: bias, then the list */
            for (int k = 0; k < count[r]; k++)
                acc += W[o * in + (size_t)idx[r * in + (size_t)k]];
            y[r * out + o] = acc;
        }
}

/* Summed in double, rows in order; returns 0 when out of host memory. */
int spk_ref_sparse_weight_grad(const int *count, const int *idx, size_t rows, size_t in, const float *dy, size_t out,
                               float *dW)
{
    double *acc = calloc(out * in, sizeof *acc);
    if (!acc)
        return 0;
    for (size_t r = 0; r < rows; r++)
        for (int k = 0; k < count[r]; k++) {
            size_t j = (size_t)idx[r * in + (size_t)k];
            for (size_t o = 0; o < out; o++)
                acc[o * in + j] += dy[r * out + o];
        }
    for (size_t i = 0; i < out * in; i++)
        dW[i] = (float)acc[i];
    free(acc);
    return 1;
}

void spk_ref_sparse_input_grad(const float *dy, const float *W, size_t rows, size_t in, size_t out, float *dx)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < in; i++) {
            float acc = 0.0f;
            for (size_t o = 0; o < out; o++)
                acc += dy[r * out + o] * W[o * in + i];
            dx[r * in + i] = acc;
        }
}
