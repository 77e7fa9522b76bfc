/* Bit-packed spikes inside the library (public side: include/spikecl/spikes.h). */
#ifndef SPK_SPIKES_INTERNAL_H
#define SPK_SPIKES_INTERNAL_H
#include "tensor/tensor_internal.h"

/* Check that `bits` (named `what` in messages) is a U8 tensor of ctx holding
 * `rows` packed rows of n spikes, starting on a word. */
spk_status spk__check_spike_bits(spk_context *ctx, const spk_tensor *bits, const char *what, size_t rows, size_t n);
#endif
