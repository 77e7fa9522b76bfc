/* Published parameter sets: Izhikevich (2003) Fig. 2 classes and the AdEx
 * firing patterns of Naud et al. (2008) Table 1. */
#include <math.h>

#include "core/core.h"

static const char *const IZH_NAMES[SPK_IZH_CLASS_COUNT] = {"RS", "IB", "CH", "FS", "LTS", "TC", "RZ"};
/* a, b, c, d (Izhikevich 2003, Fig. 2; also his izhikevich.m). */
static const float IZH_ABCD[SPK_IZH_CLASS_COUNT][4] = {
    {0.02f, 0.2f, -65.0f, 8.0f},  /* RS */
    {0.02f, 0.2f, -55.0f, 4.0f},  /* IB */
    {0.02f, 0.2f, -50.0f, 2.0f},  /* CH */
    {0.1f, 0.2f, -65.0f, 2.0f},   /* FS */
    {0.02f, 0.25f, -65.0f, 2.0f}, /* LTS */
    {0.02f, 0.25f, -65.0f, 0.05f}, /* TC */
    {0.1f, 0.26f, -65.0f, 2.0f},  /* RZ */
};

const char *spk_izhikevich_class_name(spk_izhikevich_class c)
{
    return (unsigned)c < SPK_IZH_CLASS_COUNT ? IZH_NAMES[c] : NULL;
}

spk_status spk_izhikevich_preset(spk_izhikevich_class c, spk_izhikevich_params *out)
{
    if (!out)
        return spk__error(NULL, SPK_ERR_NULL_POINTER, "spk_izhikevich_preset: out is NULL");
    if ((unsigned)c >= SPK_IZH_CLASS_COUNT)
        return spk__error(NULL, SPK_ERR_INVALID_ARGUMENT, "spk_izhikevich_preset: %d is not a spk_izhikevich_class",
                          (int)c);
    const float *k = IZH_ABCD[c];
    /* The stable resting potential with I = 0: the lower root of
     * 0.04 v^2 + (5 - b) v + 140 = 0 (u = b v on the u-nullcline). */
    double q = 5.0 - k[1];
    double v_rest = (-q - sqrt(q * q - 4.0 * 0.04 * 140.0)) / (2.0 * 0.04);
    *out = (spk_izhikevich_params){k[0], k[1], k[2], k[3], 30.0f, (float)v_rest};
    return SPK_OK;
}

static const char *const ADEX_NAMES[SPK_ADEX_PATTERN_COUNT] = {
    "tonic", "adapting", "initial burst", "regular bursting", "delayed accelerating", "delayed regular bursting",
    "transient", "irregular"};

/* Naud et al. (2008), Table 1: C (pF), g_L (nS), E_L (mV), V_T, Delta_T (mV),
 * a (nS), tau_w (ms), b (pA), V_r (mV), then the step current I (pA). */
static const float ADEX_TABLE[SPK_ADEX_PATTERN_COUNT][10] = {
    {200, 10, -70, -50, 2, 2, 30, 0, -58, 500},     /* tonic */
    {200, 12, -70, -50, 2, 2, 300, 60, -58, 500},   /* adapting */
    {130, 18, -58, -50, 2, 4, 150, 120, -50, 400},  /* initial burst */
    {200, 10, -58, -50, 2, 2, 120, 100, -46, 210},  /* regular bursting */
    {200, 12, -70, -50, 2, -10, 300, 0, -58, 300},  /* delayed accelerating */
    {100, 10, -65, -50, 2, -10, 90, 30, -47, 110},  /* delayed regular bursting */
    {100, 10, -65, -50, 2, 10, 90, 100, -47, 180},  /* transient */
    {100, 12, -60, -50, 2, -11, 130, 30, -48, 160}, /* irregular */
};

const char *spk_adex_pattern_name(spk_adex_pattern pat)
{
    return (unsigned)pat < SPK_ADEX_PATTERN_COUNT ? ADEX_NAMES[pat] : NULL;
}

spk_status spk_adex_preset(spk_adex_pattern pat, spk_adex_params *out, float *step_current)
{
    if (!out)
        return spk__error(NULL, SPK_ERR_NULL_POINTER, "spk_adex_preset: out is NULL");
    if ((unsigned)pat >= SPK_ADEX_PATTERN_COUNT)
        return spk__error(NULL, SPK_ERR_INVALID_ARGUMENT, "spk_adex_preset: %d is not a spk_adex_pattern", (int)pat);
    const float *r = ADEX_TABLE[pat];
    *out = (spk_adex_params){.C = r[0], .g_L = r[1], .E_L = r[2], .V_T = r[3], .Delta_T = r[4], .V_peak = 0.0f,
                             .V_r = r[8], .a = r[5], .tau_w = r[6], .b = r[7]};
    if (step_current)
        *step_current = r[9];
    return SPK_OK;
}
