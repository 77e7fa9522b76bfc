/* Encoders. Random bits from Philox4x32-10 (philox.clh), identical to the
 * C reference in src/ref/encode_ref.c. */

/* One work item per input element i; one Philox call gives the uniforms of
 * four consecutive steps: counter (i, t / 4, stream_lo, stream_hi). With
 * SPIKE_BITS (SPIKE_T uint) the spikes go bit-packed (include/spikecl/spikes.h)
 * into rows of n inputs (F / n samples per step), words zeroed by the host:
 * an item ORs its bit into its word when it spikes. */
kernel void encode_poisson(int T, uint F, uint n, global const float *intensity, spk_off_t in_off, float gain,
                           uint seed_lo, uint seed_hi, uint stream_lo, uint stream_hi,
                           global SPIKE_T *spikes, spk_off_t out_off)
{
    const uint gid = (uint)get_global_id(0);
    const int valid = gid < F;
    if (!STEP_SYNC && !valid)
        return;
    const uint i = valid ? gid : F - 1; /* past the end: compute, store nothing */
    const float p = fmin(fmax(gain * intensity[in_off + i], 0.0f), 1.0f);
    spk_philox4 r;
    for (int t = 0; t < T; t++) {
        if ((t & 3) == 0) {
            spk_philox4 ctr = {{i, (uint)t >> 2, stream_lo, stream_hi}};
            r = spk_philox4x32_10(ctr, seed_lo, seed_hi);
        }
        const float u = spk_u32_to_unit(r.v[t & 3]);
#if SPIKE_BITS
        const uint words = (n + 31) / 32, b = i / n, j = i % n;
        if (valid && u < p)
            atomic_or((volatile global uint *)spikes + out_off + ((spk_off_t)t * (F / n) + b) * words + j / 32,
                      1u << (j % 32));
#else
        (void)n;
        if (valid)
            spikes[out_off + (spk_off_t)t * F + i] = (SPIKE_T)(u < p ? 1 : 0);
#endif
        STEP_END();
    }
}

#if VW == 1
#define TO_FLOATS(x) ((float)(x))
#else
#define TO_FLOATS(x) CAT(convert_float, VW)(x)
#endif

/* Philox4x32-10 on VW counters at once (one a lane): the rounds of
 * spk_philox4x32_10 (philox.clh) on vectors. */
static inline void philox_lanes(vu c[4], uint k0, uint k1)
{
    SPK_PHILOX_ROUNDS(vu, mul_hi, c, k0, k1)
}

/* Two vectors of counters at once, their rounds interleaved: each round is
 * a chain of dependent multiplies, and two chains fill the multipliers
 * (10 % faster than one after the other). The rounds of SPK_PHILOX_ROUNDS
 * written out for both, every product before the first store: a round of
 * one counter after the other's kept more on the stack (62 reloads in
 * PoCL's code against 53) and ran slower. */
static inline void philox_lanes2(vu c[4], vu d[4], uint k0, uint k1)
{
    for (int r = 0; r < 10; r++) {
        const vu hc0 = mul_hi((vu)SPK_PHILOX_M0, c[0]), lc0 = (vu)SPK_PHILOX_M0 * c[0];
        const vu hd0 = mul_hi((vu)SPK_PHILOX_M0, d[0]), ld0 = (vu)SPK_PHILOX_M0 * d[0];
        const vu hc2 = mul_hi((vu)SPK_PHILOX_M1, c[2]), lc2 = (vu)SPK_PHILOX_M1 * c[2];
        const vu hd2 = mul_hi((vu)SPK_PHILOX_M1, d[2]), ld2 = (vu)SPK_PHILOX_M1 * d[2];
        c[0] = hc2 ^ c[1] ^ k0, c[1] = lc2, c[2] = hc0 ^ c[3] ^ k1, c[3] = lc0;
        d[0] = hd2 ^ d[1] ^ k0, d[1] = ld2, d[2] = hd0 ^ d[3] ^ k1, d[3] = ld0;
        k0 += SPK_PHILOX_W0;
        k1 += SPK_PHILOX_W1;
    }
}

/* Whether a vector of probabilities (clamped to [0, 1]) needs random bits:
 * with every lane 0 or 1, u < p has its answer for any u in [0, 1), so the
 * counters may stay unmixed (dark pixels: 28 % of Fashion-MNIST's vectors
 * of 8). */
#if VW == 1
#define NEEDS_DRAW(p) ((p) > 0.0f && (p) < 1.0f)
#else
#define NEEDS_DRAW(p) any(((p) > 0.0f) & ((p) < 1.0f))
#endif

/* encode_poisson on CPU devices, tiled like encode_direct: a work item runs
 * `chunk` vectors of VW consecutive inputs (VW divides n), one Philox call
 * on VW counters gives each vector four steps (two vectors' calls at once,
 * none for a vector whose probabilities are all 0 or 1), and no barrier is
 * needed.
 * The same bits as encode_poisson. Bit-packed (SPIKE_BITS): a tile that
 * owns whole words (n and the tile multiples of 32) gathers each word and
 * stores it once; otherwise each vector ORs its spikes into its word. */
kernel void encode_poisson_tiled(int T, uint F, uint N, int chunk, global const float *intensity, spk_off_t in_off,
                                 float gain, uint seed_lo, uint seed_hi, uint stream_lo, uint stream_hi,
                                 global SPIKE_T *spikes, spk_off_t out_off)
{
    const int first = (int)get_global_id(0) * chunk;
    const int count = min(min(chunk, CHUNK_MAX), (int)(F / VW) - first);
    if (count <= 0)
        return;
    vf p[CHUNK_MAX];
    for (int j = 0; j < count; j++)
        p[j] = fmin(fmax(gain * VLOADF(intensity, in_off + (spk_off_t)(first + j) * VW), 0.0f), 1.0f);
#if SPIKE_BITS
    const uint B = F / N; /* rows of N inputs: the names SPIKE_WORD reads */
    const int own_words = TILE_OWNS_WORDS(N, chunk);
#endif
    for (int t0 = 0; t0 < T; t0 += 4) {
#if SPIKE_BITS
        uint acc[4] = {0, 0, 0, 0};
#endif
        for (int j = 0; j < count; j += 2) { /* vectors j and j + 1 (when there is one) */
            const int two = j + 1 < count;
            const uint i0 = (uint)(first + j) * VW; /* first input of vector j */
            vu c[2][4] = {{(vu)i0 + LANES, (vu)((uint)t0 >> 2), (vu)stream_lo, (vu)stream_hi},
                          {(vu)(i0 + VW) + LANES, (vu)((uint)t0 >> 2), (vu)stream_lo, (vu)stream_hi}};
            const int draw0 = NEEDS_DRAW(p[j]), draw1 = two && NEEDS_DRAW(p[j + 1]);
            if (draw0 && draw1)
                philox_lanes2(c[0], c[1], seed_lo, seed_hi);
            else if (draw0 || draw1)
                philox_lanes(c[draw1], seed_lo, seed_hi);
            for (int h = 0; h <= two; h++) {
                const uint i = i0 + (uint)h * VW;
                for (int q = 0; q < 4 && t0 + q < T; q++) {
                    const vf u = TO_FLOATS(c[h][q] >> 8) * (1.0f / 16777216.0f);
                    const vf s = select(VZERO, VONE, u < p[j + h]);
                    const spk_off_t t = (spk_off_t)(t0 + q);
#if SPIKE_BITS
                    const uint idx = i, n = i % N;
                    SPIKE_STORE_BITS_TILE(s, spikes, out_off, t, own_words, acc[q]);
#else
                    SPK_STORE(s, spikes, out_off + t * F + i);
#endif
                }
            }
        }
    }
}

/* Direct (current) encoding: the same analog input at every step,
 * out[t, i] = gain * in[i]. One work item per `chunk` vectors of VW elements
 * (VW divides F; CHUNK_MAX and the tiles as in kernels/neuron.clh): each
 * step writes one contiguous run per item. */
kernel void encode_direct(int T, uint F, int chunk, int stream, global const float *in, spk_off_t in_off, float gain,
                          global float *out, spk_off_t out_off)
{
    const int first = (int)get_global_id(0) * chunk;
    const int count = min(min(chunk, CHUNK_MAX), (int)(F / VW) - first);
    vf v[CHUNK_MAX];
    for (int j = 0; j < count; j++)
        v[j] = gain * VLOADF(in, in_off + (spk_off_t)(first + j) * VW);
    for (int t = 0; t < T; t++)
        for (int j = 0; j < count; j++)
            VSTREAMF(v[j], out, out_off + (spk_off_t)t * F + (spk_off_t)(first + j) * VW);
}

/* Latency (time-to-first-spike) encoding, linear: one spike at step
 * round((1 - p) (T - 1)), p = clamp(gain * x, 0, 1): the stronger the input,
 * the earlier; p = 0 never fires. */
kernel void encode_latency(int T, uint F, global const float *in, spk_off_t in_off, float gain,
                           global SPIKE_T *spikes, spk_off_t out_off)
{
    const uint gid = (uint)get_global_id(0);
    const int valid = gid < F;
    if (!STEP_SYNC && !valid)
        return;
    const float p = valid ? fmin(fmax(gain * in[in_off + gid], 0.0f), 1.0f) : 0.0f;
    const int fire = p > 0.0f ? (int)rint((1.0f - p) * (float)(T - 1)) : -1;
    for (int t = 0; t < T; t++) {
        if (valid)
            spikes[out_off + (spk_off_t)t * F + gid] = (SPIKE_T)(t == fire ? 1 : 0);
        STEP_END();
    }
}
