/* Bit-packed spikes (include/spikecl/spikes.h): rows of n spikes as
 * ceil(n / 32) words, spike j at bit j % 32 of word j / 32. One work item
 * per word. src/ops/spikes.c is the host side, src/ref/spikes_ref.c the
 * reference. SPIKE_T: the unpacked type read by spikes_pack. */

/* This item's word gid: its row's first element *e (a multiple of 32
 * into the row) and the spikes it holds, *m (0: no word left). */
static inline int word_span(int rows, int n, spk_off_t gid, spk_off_t *e)
{
    const int words = (n + 31) / 32;
    if (gid >= (spk_off_t)rows * words)
        return 0;
    const int j0 = (int)(gid % words) * 32;
    *e = gid / words * n + j0;
    return min(32, n - j0);
}

kernel void spikes_pack(int rows, int n, global const SPIKE_T *s, spk_off_t s_off, global uint *w, spk_off_t w_off)
{
    const spk_off_t gid = get_global_id(0);
    spk_off_t e = 0;
    const int m = word_span(rows, n, gid, &e);
    uint bits = 0;
    for (int i = 0; i < m; i++)
        bits |= (uint)(s[s_off + e + i] != 0) << i;
    if (m)
        w[w_off + gid] = bits;
}

kernel void spikes_unpack(int rows, int n, global const uint *w, spk_off_t w_off, global float *s, spk_off_t s_off)
{
    const spk_off_t gid = get_global_id(0);
    spk_off_t e = 0;
    const int m = word_span(rows, n, gid, &e);
    const uint bits = m ? w[w_off + gid] : 0u;
    for (int i = 0; i < m; i++)
        s[s_off + e + i] = (float)((bits >> i) & 1u);
}
