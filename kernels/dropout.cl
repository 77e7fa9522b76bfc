/* Dropout with one mask per sequence (src/nn/dropout.c): the mask of
 * element j of [B, F] (BF = B*F elements) is drawn once and applied at every
 * step of [T, B, F]. The loops over time end each step with STEP_END
 * (common.clh). Random bits from Philox4x32-10 (philox.clh), counter
 * (j / 4, salt, call_lo, call_hi), word j % 4; the C reference
 * (spk_ref_dropout_mask in src/ref/conv_ref.c) draws the same bits. */

/* mask[j] = scale if u >= p else 0; y[t, j] = x[t, j] * mask[j]. */
kernel void dropout_forward(int T, uint BF, float p, float scale, uint seed_lo, uint seed_hi, uint salt,
                            uint call_lo, uint call_hi, global const float *x, spk_off_t x_off, global float *y,
                            spk_off_t y_off, global float *mask, spk_off_t m_off)
{
    const uint gid = (uint)get_global_id(0);
    const int valid = gid < BF;
    if (!STEP_SYNC && !valid)
        return;
    const uint j = valid ? gid : BF - 1; /* past the end: compute, store nothing */
    spk_philox4 ctr = {{j >> 2, salt, call_lo, call_hi}};
    const spk_philox4 r = spk_philox4x32_10(ctr, seed_lo, seed_hi);
    const float m = spk_u32_to_unit(r.v[j & 3]) >= p ? scale : 0.0f;
    if (valid)
        mask[m_off + j] = m;
    for (int t = 0; t < T; t++) {
        if (valid)
            y[y_off + (spk_off_t)t * BF + j] = x[x_off + (spk_off_t)t * BF + j] * m;
        STEP_END();
    }
}

/* dx[t, j] = dy[t, j] * mask[j]. */
kernel void dropout_backward(int T, uint BF, global const float *mask, spk_off_t m_off, global const float *dy,
                             spk_off_t dy_off, global float *dx, spk_off_t dx_off)
{
    const uint gid = (uint)get_global_id(0);
    const int valid = gid < BF;
    if (!STEP_SYNC && !valid)
        return;
    const uint j = valid ? gid : BF - 1;
    const float m = mask[m_off + j];
    for (int t = 0; t < T; t++) {
        if (valid)
            dx[dx_off + (spk_off_t)t * BF + j] = dy[dy_off + (spk_off_t)t * BF + j] * m;
        STEP_END();
    }
}
