/**
 * @file spikes.h
 * Bit-packed spikes: 1 bit per neuron-step instead of a 4-byte float.
 *
 * A packed tensor of spikes [..., N] is a U8 tensor [..., spk_spike_row_bytes(N)]:
 * each row of N spikes (e.g. one (t, b) of a sequence [T, B, N]) is
 * ceil(N / 32) 32-bit words in the device's byte order, spike n at bit
 * n % 32 of word n / 32, the bits past N zero. spk_lif_forward() writes it
 * directly (spk_lif_io.spike_bits), event-driven dense layers read it
 * without scanning floats, and a network can keep its hidden spikes in it
 * for backpropagation (spk_network_set_compact_spikes()).
 */
#ifndef SPIKECL_SPIKES_H
#define SPIKECL_SPIKES_H

#include "spikecl/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @return the bytes of one packed row of @p n spikes: 4 * ceil(n / 32). */
SPK_API size_t spk_spike_row_bytes(size_t n);

/**
 * Pack @p spikes (F32 or U8, [..., N]; nonzero is a spike) into @p bits
 * (U8 with the same leading dimensions and a last dimension of
 * spk_spike_row_bytes(N), its offset a multiple of 4 bytes). Queued.
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_CONTEXT, SPK_ERR_DTYPE,
 *         SPK_ERR_SHAPE, SPK_ERR_BUILD, SPK_ERR_OPENCL.
 */
SPK_API spk_status spk_spikes_pack(spk_context *ctx, const spk_tensor *spikes, spk_tensor *bits);

/** The inverse: @p spikes (F32 [..., N]) = 0 or 1 from @p bits, shapes as in spk_spikes_pack(). Queued. */
SPK_API spk_status spk_spikes_unpack(spk_context *ctx, const spk_tensor *bits, spk_tensor *spikes);

#ifdef __cplusplus
}
#endif
#endif
