/* Learning-rate schedules: pure functions of the step, so a run resumed at
 * step k gets the same rates as one that never stopped. */
#include <math.h>
#include <stdio.h>

#include "core/core.h"

spk_lr_schedule spk_lr_schedule_default(spk_lr_schedule_kind kind, float base_lr, size_t steps)
{
    spk_lr_schedule s = {kind, base_lr, steps, 0.5f, steps, 0.0f};
    return s;
}


spk_status spk_lr_schedule_at(const spk_lr_schedule *s, size_t step, float *lr, char *msg, size_t msg_size)
{
    if (!s || !lr)
        return spk__error(NULL, SPK_ERR_NULL_POINTER, "spk_lr_schedule_at: schedule or lr is NULL");
    if (!(s->base_lr >= 0.0f) || !isfinite(s->base_lr))
        SPK_REJECT("base_lr must be finite and >= 0 (got %g)", (double)s->base_lr);
    double base = s->base_lr, rate = base;
    switch (s->kind) {
    case SPK_LR_CONSTANT:
        break;
    case SPK_LR_STEP:
        if (s->step_size < 1)
            SPK_REJECT("a step schedule needs step_size >= 1");
        if (!(s->gamma > 0.0f && s->gamma <= 1.0f))
            SPK_REJECT("gamma must be in (0, 1] (got %g)", (double)s->gamma);
        rate = base * pow((double)s->gamma, (double)(step / s->step_size));
        break;
    case SPK_LR_COSINE:
        if (s->total_steps < 1)
            SPK_REJECT("a cosine schedule needs total_steps >= 1");
        if (!(s->min_lr >= 0.0f && s->min_lr <= s->base_lr))
            SPK_REJECT("min_lr must be in [0, base_lr] (got %g, base_lr %g)", (double)s->min_lr, (double)s->base_lr);
        if (step >= s->total_steps) {
            rate = s->min_lr;
        } else {
            double done = (double)step / (double)s->total_steps, lo = s->min_lr;
            rate = lo + 0.5 * (base - lo) * (1.0 + cos(3.14159265358979 * done));
        }
        break;
    default:
        SPK_REJECT("kind %d is not a spk_lr_schedule_kind", (int)s->kind);
    }
    *lr = (float)rate;
    return SPK_OK;
}
