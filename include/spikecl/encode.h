/**
 * @file encode.h
 * Encoders: turn analog inputs into spike trains.
 */
#ifndef SPIKECL_ENCODE_H
#define SPIKECL_ENCODE_H

#include <stdint.h>

#include "spikecl/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Poisson (Bernoulli per step) rate encoding: spikes[t, i] = 1 with
 * probability p = clamp(gain * intensity[i], 0, 1), independently per step.
 * Random bits come from Philox4x32-10 keyed by the context seed, with the
 * counter (i, t / 4, stream low, stream high); the same bits are produced by
 * every device and by the C reference. Use a different @p stream per batch.
 * @param intensity  [B, F...] F32
 * @param spikes     [T, B, F...] F32 or U8, same trailing shape as intensity
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_SHAPE, SPK_ERR_DTYPE,
 *         SPK_ERR_INVALID_ARGUMENT (gain negative or not finite), SPK_ERR_OPENCL.
 */
SPK_API spk_status spk_encode_poisson(spk_context *ctx, const spk_tensor *intensity, float gain, uint64_t stream,
                                      spk_tensor *spikes);

/**
 * spk_encode_poisson() with the spikes bit-packed (spikes.h): the same spike
 * trains from the same random bits, 1 bit per input-step, ready for a
 * network with spk_network_set_packed_input().
 * @param intensity  [B, F...] F32
 * @param bits       U8 [T, B, spk_spike_row_bytes(F)], F the inputs per sample (their product)
 * @return as spk_encode_poisson().
 */
SPK_API spk_status spk_encode_poisson_bits(spk_context *ctx, const spk_tensor *intensity, float gain,
                                           uint64_t stream, spk_tensor *bits);

/**
 * Direct (current) encoding: out[t, i] = gain * x[i] at every step t, the
 * analog input fed as a current.
 * @param x    [B, F...] F32
 * @param out  [T, B, F...] F32
 */
SPK_API spk_status spk_encode_direct(spk_context *ctx, const spk_tensor *x, float gain, spk_tensor *out);

/**
 * Latency (time-to-first-spike) encoding, linear: each input fires exactly
 * once, at step round((1 - p) * (T - 1)) with p = clamp(gain * x[i], 0, 1)
 * (rounding half to even); inputs with p = 0 never fire.
 * @param x       [B, F...] F32
 * @param spikes  [T, B, F...] F32 or U8
 */
SPK_API spk_status spk_encode_latency(spk_context *ctx, const spk_tensor *x, float gain, spk_tensor *spikes);

#ifdef __cplusplus
}
#endif
#endif
