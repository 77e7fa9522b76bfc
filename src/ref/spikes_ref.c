/* Plain-C reference of kernels/spikes.cl: bit-packed spikes. */
#include "ref/ref.h"

void spk_ref_spikes_pack(const float *s, size_t rows, size_t n, uint32_t *w)
{
    const size_t words = (n + 31) / 32;
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < words; k++) {
            uint32_t bits = 0;
            for (size_t i = 0; i < 32 && 32 * k + i < n; i++)
                bits |= (uint32_t)(s[r * n + 32 * k + i] != 0.0f) << i;
            w[r * words + k] = bits;
        }
}

void spk_ref_spikes_unpack(const uint32_t *w, size_t rows, size_t n, float *s)
{
    const size_t words = (n + 31) / 32;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < n; j++)
            s[r * n + j] = (float)((w[r * words + j / 32] >> (j % 32)) & 1u);
}
