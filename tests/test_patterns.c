/* The literature's firing patterns, driven by the published stimuli on every
 * device, checked qualitatively: spike counts, bursts, the adaptation of
 * inter-spike intervals.
 *
 * Izhikevich, "Simple model of spiking neurons", IEEE TNN 14(6), 2003,
 * Fig. 2: a step of DC current I = 10 (RS, IB, CH, FS, LTS); TC's rebound
 * burst after a hyperpolarizing step (to about -87 mV, as in the figure);
 * RZ's preference for a pulse pair at its resonant interval. Euler with
 * 0.25 ms sub-steps, as Izhikevich's own code for the 2004 features.
 *
 * Naud, Marcille, Clopath, Gerstner, "Firing patterns in the adaptive
 * exponential integrate-and-fire model", Biol. Cybern. 99, 2008, Table 1:
 * each parameter set with its step current, dt = 0.1 ms Euler and V_peak =
 * 0 mV as in Brian2's reproduction of the paper. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define MAX_SPIKES 256

typedef struct train {
    size_t n;
    float t[MAX_SPIKES]; /* spike times, ms */
} train;

/* One neuron driven by x[T] on the device; spike times in ms. */
static void simulate(spk_context *ctx, const spk_model_params *p, const float *x, size_t T, train *out)
{
    size_t shape[3] = {T, 1, 1};
    spk_tensor *tx, *s;
    float *hs = spk_test_alloc(T);
    SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, shape, &tx));
    SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, shape, &s));
    SPK_ASSERT_OK(ctx, spk_tensor_upload(tx, x, T * sizeof(float)));
    spk_model_io io = {.input = tx, .spikes = s};
    SPK_ASSERT_OK(ctx, spk_model_forward(ctx, p, &io));
    SPK_ASSERT_OK(ctx, spk_tensor_download(s, hs, T * sizeof(float)));
    out->n = 0;
    for (size_t t = 0; t < T; t++) {
        cr_assert(hs[t] <= 1.0f, "two spikes within one step at %zu", t);
        if (hs[t] > 0.0f && out->n < MAX_SPIKES)
            out->t[out->n++] = (float)(t + 1) * p->dt; /* the end of the step */
    }
    spk_tensor_free(tx), spk_tensor_free(s);
    free(hs);
}

static float isi(const train *tr, size_t i)
{
    return tr->t[i + 1] - tr->t[i];
}

static void log_train(const char *name, const train *tr)
{
    char buf[1024];
    int len = snprintf(buf, sizeof buf, "%s: %zu spikes, ISIs (ms)", name, tr->n);
    for (size_t i = 0; i + 1 < tr->n && len < (int)sizeof buf - 16; i++)
        len += snprintf(buf + len, sizeof buf - (size_t)len, " %.1f", (double)isi(tr, i));
    cr_log_info("%s", buf);
}

/* Spikes within [t0, t1) ms. */
static size_t count_between(const train *tr, float t0, float t1)
{
    size_t n = 0;
    for (size_t i = 0; i < tr->n; i++)
        n += tr->t[i] >= t0 && tr->t[i] < t1;
    return n;
}

/* Bursts: runs of spikes separated by ISIs below `gap` ms; how many runs of
 * at least 2 spikes, and how many single spikes. */
static void bursts(const train *tr, float gap, size_t *n_bursts, size_t *n_single)
{
    *n_bursts = *n_single = 0;
    for (size_t i = 0; i < tr->n;) {
        size_t j = i;
        while (j + 1 < tr->n && isi(tr, j) < gap)
            j++;
        if (j > i)
            (*n_bursts)++;
        else
            (*n_single)++;
        i = j + 1;
    }
}

/* ---- Izhikevich (2003) -------------------------------------------------- */

enum { IZH_T = 300 };
static const float IZH_ONSET = 20.0f;

static spk_model_params izh_params(spk_izhikevich_class c)
{
    spk_model_params p = spk_model_params_default(SPK_MODEL_IZHIKEVICH);
    cr_assert(spk_izhikevich_preset(c, &p.izhikevich) == SPK_OK);
    p.dt = 1.0f;
    p.substeps = 4;
    return p;
}

/* I = amp from onset (ms) to offset (ms), else 0. */
static void step_current(float *x, size_t T, float dt, float amp, float onset, float offset)
{
    for (size_t t = 0; t < T; t++)
        x[t] = (float)t * dt >= onset && (float)t * dt < offset ? amp : 0.0f;
}

static void izh_step(spk_context *ctx, spk_izhikevich_class c, train *tr)
{
    float x[IZH_T];
    step_current(x, IZH_T, 1.0f, 10.0f, IZH_ONSET, 1e9f);
    spk_model_params p = izh_params(c);
    simulate(ctx, &p, x, IZH_T, tr);
    log_train(spk_izhikevich_class_name(c), tr);
    cr_assert(tr->n >= 4, "%s: %zu spikes", spk_izhikevich_class_name(c), tr->n);
    cr_assert(tr->t[0] > IZH_ONSET, "%s fires before the step", spk_izhikevich_class_name(c));
}

Test(patterns, izhikevich_regular_spiking_adapts)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        train tr;
        izh_step(ctx, SPK_IZH_RS, &tr);
        /* Tonic spikes whose intervals lengthen, then settle; no burst. */
        cr_assert(isi(&tr, 0) >= 10.0f, "RS starts with a burst (first ISI %g ms)", (double)isi(&tr, 0));
        for (size_t i = 1; i + 1 < tr.n; i++)
            cr_assert(isi(&tr, i) >= isi(&tr, i - 1) - 1.0f, "RS ISI %zu shortens", i);
        cr_assert(isi(&tr, tr.n - 2) >= 1.5f * isi(&tr, 0), "RS does not adapt: ISIs %g .. %g", (double)isi(&tr, 0),
                  (double)isi(&tr, tr.n - 2));
    }
}

Test(patterns, izhikevich_intrinsically_bursting_bursts_then_spikes)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        train tr;
        izh_step(ctx, SPK_IZH_IB, &tr);
        size_t nb, ns;
        bursts(&tr, 10.0f, &nb, &ns);
        /* One initial burst of at least 3 spikes, then only single spikes. */
        cr_assert(isi(&tr, 0) < 10.0f && isi(&tr, 1) < 10.0f, "IB: no initial burst");
        cr_assert(nb == 1 && ns >= 4, "IB: %zu bursts and %zu single spikes", nb, ns);
        for (size_t i = 3; i + 1 < tr.n; i++)
            cr_assert(isi(&tr, i) > 20.0f, "IB: ISI %zu of %g ms after the burst", i, (double)isi(&tr, i));
    }
}

Test(patterns, izhikevich_chattering_repeats_bursts)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        train tr;
        izh_step(ctx, SPK_IZH_CH, &tr);
        size_t nb, ns;
        bursts(&tr, 10.0f, &nb, &ns);
        /* ISIs bimodal: within bursts < 10 ms, between bursts > 30 ms. */
        cr_assert(nb >= 4 && ns == 0, "CH: %zu bursts and %zu single spikes", nb, ns);
        for (size_t i = 0; i + 1 < tr.n; i++)
            cr_assert(isi(&tr, i) < 10.0f || isi(&tr, i) > 30.0f, "CH: ISI %zu of %g ms is neither", i,
                      (double)isi(&tr, i));
    }
}

Test(patterns, izhikevich_fast_spiking_does_not_adapt)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        train tr, rs;
        izh_step(ctx, SPK_IZH_FS, &tr);
        izh_step(ctx, SPK_IZH_RS, &rs);
        /* High rate, steady intervals (beyond the first two), far above RS. */
        size_t late = count_between(&tr, 100.0f, 300.0f);
        cr_assert(late >= 16, "FS: %zu spikes in 200 ms (< 80 Hz)", late);
        cr_assert(late >= 3 * count_between(&rs, 100.0f, 300.0f), "FS is not much faster than RS");
        float lo = INFINITY, hi = 0.0f;
        for (size_t i = 2; i + 1 < tr.n; i++)
            lo = fminf(lo, isi(&tr, i)), hi = fmaxf(hi, isi(&tr, i));
        cr_assert(hi <= 1.3f * lo, "FS adapts: ISIs from %g to %g ms", (double)lo, (double)hi);
    }
}

Test(patterns, izhikevich_low_threshold_spiking_fast_then_adapting)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        train tr;
        izh_step(ctx, SPK_IZH_LTS, &tr);
        /* High-frequency onset, then intervals lengthen (no bursts later). */
        cr_assert(isi(&tr, 0) <= 6.0f, "LTS: first ISI %g ms", (double)isi(&tr, 0));
        cr_assert(isi(&tr, tr.n - 2) >= 2.5f * isi(&tr, 0), "LTS does not adapt: ISIs %g .. %g", (double)isi(&tr, 0),
                  (double)isi(&tr, tr.n - 2));
        for (size_t i = 1; i + 1 < tr.n; i++)
            cr_assert(isi(&tr, i) >= isi(&tr, i - 1) - 1.0f, "LTS ISI %zu shortens", i);
    }
}

Test(patterns, izhikevich_thalamocortical_rebound_burst)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        float x[IZH_T];
        train tr, rest;
        spk_model_params p = izh_params(SPK_IZH_TC);
        /* I = -30 from 20 to 220 ms (v settles near -87 mV), then 0. */
        step_current(x, IZH_T, 1.0f, -30.0f, IZH_ONSET, 220.0f);
        simulate(ctx, &p, x, IZH_T, &tr);
        log_train("TC rebound", &tr);
        cr_assert(count_between(&tr, 0.0f, 220.0f) == 0, "TC fires while hyperpolarized");
        cr_assert(count_between(&tr, 220.0f, 260.0f) >= 3 && isi(&tr, 0) <= 8.0f,
                  "TC: no rebound burst on release (%zu spikes)", tr.n);
        cr_assert(count_between(&tr, 280.0f, 300.0f) == 0, "TC keeps firing after the rebound");
        /* The control: without the hyperpolarization there is no spike. */
        step_current(x, IZH_T, 1.0f, 0.0f, 0.0f, 0.0f);
        simulate(ctx, &p, x, IZH_T, &rest);
        cr_assert(rest.n == 0, "TC fires at rest");
    }
}

Test(patterns, izhikevich_resonator_prefers_its_resonant_interval)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        /* Pulses of 2 ms, I = 1.25, the second `gap` ms after the first
         * (0: a single pulse). Its subthreshold oscillation (period near
         * 45 ms at rest) makes a pair 45 ms apart fire while a pair 27 ms
         * apart, in antiphase, does not, and neither does one pulse. */
        spk_model_params p = izh_params(SPK_IZH_RZ);
        const int gaps[3] = {0, 27, 45};
        size_t n[3];
        for (int g = 0; g < 3; g++) {
            float x[IZH_T] = {0};
            for (int w = 0; w < 2; w++) {
                x[50 + w] = 1.25f;
                if (gaps[g])
                    x[50 + gaps[g] + w] = 1.25f;
            }
            train tr;
            simulate(ctx, &p, x, IZH_T, &tr);
            n[g] = tr.n;
        }
        cr_log_info("RZ: %zu spikes for one pulse, %zu for a 27 ms pair, %zu for a 45 ms pair", n[0], n[1], n[2]);
        cr_assert(n[0] == 0 && n[1] == 0 && n[2] >= 1, "RZ: %zu / %zu / %zu spikes", n[0], n[1], n[2]);
    }
}

/* ---- AdEx (Naud et al. 2008) --------------------------------------------- */

enum { ADEX_T = 5000 }; /* 500 ms at 0.1 ms */
static const float ADEX_ONSET = 20.0f;

static void adex_run(spk_context *ctx, spk_adex_pattern pat, train *tr)
{
    spk_model_params p = spk_model_params_default(SPK_MODEL_ADEX);
    float amp;
    cr_assert(spk_adex_preset(pat, &p.adex, &amp) == SPK_OK);
    cr_assert(p.dt == 0.1f && p.substeps == 1);
    float *x = spk_test_alloc(ADEX_T);
    step_current(x, ADEX_T, p.dt, amp, ADEX_ONSET, 1e9f);
    simulate(ctx, &p, x, ADEX_T, tr);
    free(x);
    log_train(spk_adex_pattern_name(pat), tr);
    cr_assert(tr->n >= 1 && tr->t[0] > ADEX_ONSET, "%s: %zu spikes", spk_adex_pattern_name(pat), tr->n);
}

Test(patterns, adex_tonic_spiking_is_regular)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        train tr;
        adex_run(ctx, SPK_ADEX_TONIC, &tr);
        cr_assert(tr.n >= 20, "tonic: %zu spikes", tr.n);
        for (size_t i = 0; i + 1 < tr.n; i++)
            cr_assert(fabsf(isi(&tr, i) - isi(&tr, tr.n - 2)) <= 0.1f * isi(&tr, tr.n - 2), "tonic: ISI %zu %g vs %g",
                      i, (double)isi(&tr, i), (double)isi(&tr, tr.n - 2));
    }
}

Test(patterns, adex_adapting_lengthens_intervals)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        train tr;
        adex_run(ctx, SPK_ADEX_ADAPTING, &tr);
        cr_assert(tr.n >= 5, "adapting: %zu spikes", tr.n);
        cr_assert(isi(&tr, 0) > 8.0f, "adapting starts with a burst");
        for (size_t i = 1; i + 1 < tr.n; i++)
            cr_assert(isi(&tr, i) >= isi(&tr, i - 1) - 0.5f, "adapting: ISI %zu shortens", i);
        cr_assert(isi(&tr, tr.n - 2) >= 3.0f * isi(&tr, 0), "adapting: ISIs %g .. %g", (double)isi(&tr, 0),
                  (double)isi(&tr, tr.n - 2));
    }
}

Test(patterns, adex_initial_burst_then_tonic)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        train tr;
        adex_run(ctx, SPK_ADEX_INITIAL_BURST, &tr);
        size_t nb, ns;
        bursts(&tr, 10.0f, &nb, &ns);
        cr_assert(isi(&tr, 0) < 10.0f && nb == 1 && ns >= 4, "initial burst: %zu bursts, %zu single spikes", nb, ns);
        /* after the burst: regular spikes */
        float last = isi(&tr, tr.n - 2);
        for (size_t i = 3; i + 1 < tr.n; i++)
            cr_assert(isi(&tr, i) > 30.0f && fabsf(isi(&tr, i) - last) <= 0.2f * last, "initial burst: ISI %zu %g", i,
                      (double)isi(&tr, i));
    }
}

static void assert_regular_bursts(const char *name, const train *tr, size_t min_bursts)
{
    size_t nb, ns;
    bursts(tr, 15.0f, &nb, &ns);
    cr_assert(nb >= min_bursts && ns <= 1, "%s: %zu bursts and %zu single spikes", name, nb, ns);
    for (size_t i = 0; i + 1 < tr->n; i++)
        cr_assert(isi(tr, i) < 15.0f || isi(tr, i) > 40.0f, "%s: ISI %zu of %g ms is neither in nor between bursts",
                  name, i, (double)isi(tr, i));
}

Test(patterns, adex_regular_bursting)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        train tr;
        adex_run(ctx, SPK_ADEX_REGULAR_BURSTING, &tr);
        assert_regular_bursts("regular bursting", &tr, 3);
    }
}

Test(patterns, adex_delayed_accelerating)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        train tr, tonic;
        adex_run(ctx, SPK_ADEX_DELAYED_ACCELERATING, &tr);
        adex_run(ctx, SPK_ADEX_TONIC, &tonic);
        /* A first spike later than the tonic cell's, then shortening ISIs. */
        cr_assert(tr.t[0] - ADEX_ONSET > 25.0f && tr.t[0] > 2.0f * tonic.t[0] - ADEX_ONSET,
                  "delayed: first spike %g ms after onset", (double)(tr.t[0] - ADEX_ONSET));
        for (size_t i = 1; i + 1 < tr.n; i++)
            cr_assert(isi(&tr, i) <= isi(&tr, i - 1) + 0.2f, "accelerating: ISI %zu lengthens", i);
        cr_assert(isi(&tr, tr.n - 2) < 0.7f * isi(&tr, 0), "not accelerating: ISIs %g .. %g", (double)isi(&tr, 0),
                  (double)isi(&tr, tr.n - 2));
    }
}

Test(patterns, adex_delayed_regular_bursting)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        train tr;
        adex_run(ctx, SPK_ADEX_DELAYED_REGULAR_BURSTING, &tr);
        cr_assert(tr.t[0] - ADEX_ONSET > 40.0f, "delayed bursting: first spike %g ms after onset",
                  (double)(tr.t[0] - ADEX_ONSET));
        assert_regular_bursts("delayed regular bursting", &tr, 4);
    }
}

Test(patterns, adex_transient_spiking_stops)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        train tr;
        adex_run(ctx, SPK_ADEX_TRANSIENT, &tr);
        /* Spikes at the onset only, then silence under the same current. */
        cr_assert(count_between(&tr, ADEX_ONSET, ADEX_ONSET + 100.0f) == tr.n && tr.n <= 3, "transient: %zu spikes",
                  tr.n);
    }
}

Test(patterns, adex_irregular_spiking)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        train tr;
        adex_run(ctx, SPK_ADEX_IRREGULAR, &tr);
        /* Deterministic chaos: after the first 100 ms the intervals vary
         * widely (coefficient of variation > 0.3) and repeat with no period
         * of up to 4 intervals. The exact sequence is sensitive to rounding;
         * these features are not. */
        double s = 0.0, s2 = 0.0;
        size_t n = 0, first = 0;
        while (first < tr.n && tr.t[first] < 100.0f)
            first++;
        for (size_t i = first; i + 1 < tr.n; i++, n++)
            s += isi(&tr, i), s2 += (double)isi(&tr, i) * isi(&tr, i);
        cr_assert(n >= 10, "irregular: %zu intervals", n);
        double mean = s / (double)n, cv = sqrt(s2 / (double)n - mean * mean) / mean;
        cr_assert(cv > 0.3, "irregular: CV %g", cv);
        for (size_t lag = 1; lag <= 4; lag++) {
            float worst = 0.0f;
            for (size_t i = first; i + lag + 1 < tr.n; i++)
                worst = fmaxf(worst, fabsf(isi(&tr, i) - isi(&tr, i + lag)));
            cr_assert(worst > 2.0f, "irregular: the intervals repeat with period %zu", lag);
        }
    }
}
