/* Firing patterns of the Izhikevich (2003) classes and of the AdEx patterns
 * of Naud et al. (2008), each driven by its published stimulus on an
 * OpenCL device, printed as an ASCII raster and an inter-spike-interval
 * summary.
 *
 *     firing_patterns [device]      (device as SPIKECL_DEVICE: "cpu", "gpu", "0:1", ...)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spikecl/spikecl.h"

#define COLUMNS 100

/* Run one neuron over x[T]; fill spike times (ms). Returns the count or -1. */
static int run(spk_context *ctx, const spk_model_params *p, const float *x, size_t T, float *times, int cap)
{
    size_t shape[3] = {T, 1, 1};
    spk_tensor *tx = NULL, *ts = NULL;
    float *s = malloc(T * sizeof *s);
    int n = -1;
    if (s && spk_tensor_create(ctx, SPK_F32, 3, shape, &tx) == SPK_OK &&
        spk_tensor_create(ctx, SPK_F32, 3, shape, &ts) == SPK_OK &&
        spk_tensor_upload(tx, x, T * sizeof *x) == SPK_OK &&
        spk_model_forward(ctx, p, &(spk_model_io){.input = tx, .spikes = ts}) == SPK_OK &&
        spk_tensor_download(ts, s, T * sizeof *s) == SPK_OK) {
        n = 0;
        for (size_t t = 0; t < T; t++)
            if (s[t] > 0.0f && n < cap)
                times[n++] = (float)(t + 1) * p->dt;
    } else {
        fprintf(stderr, "simulation failed: %s\n", spk_context_last_error(ctx));
    }
    spk_tensor_free(tx), spk_tensor_free(ts);
    free(s);
    return n;
}

/* One line: name, raster over [0, T dt), count, first and last ISI, ISI CV. */
static void print_row(const char *name, const float *times, int n, float duration)
{
    char raster[COLUMNS + 1];
    memset(raster, '.', COLUMNS);
    raster[COLUMNS] = '\0';
    for (int i = 0; i < n; i++) {
        int c = (int)(times[i] / duration * COLUMNS);
        if (c >= 0 && c < COLUMNS)
            raster[c] = raster[c] == '.' ? '|' : '#'; /* '#': several spikes in one column */
    }
    double s = 0.0, s2 = 0.0;
    for (int i = 0; i + 1 < n; i++) {
        double d = times[i + 1] - times[i];
        s += d, s2 += d * d;
    }
    printf("%-24s %s %3d", name, raster, n);
    if (n >= 3) {
        double mean = s / (n - 1), cv = sqrt(fmax(0.0, s2 / (n - 1) - mean * mean)) / mean;
        printf("  %6.1f %6.1f %5.2f", (double)(times[1] - times[0]), (double)(times[n - 1] - times[n - 2]), cv);
    }
    printf("\n");
}

static void header(const char *title, float duration)
{
    printf("\n%s: %.0f ms, one column = %.1f ms\n", title, (double)duration, (double)duration / COLUMNS);
    printf("%-24s %-*s %3s  %6s %6s %5s\n", "pattern", COLUMNS, "raster", "n", "ISI1", "ISIlast", "CV");
}

static void izhikevich(spk_context *ctx)
{
    enum { T = 300 };
    float x[T], times[256];
    spk_model_params p = spk_model_params_default(SPK_MODEL_IZHIKEVICH);
    p.dt = 1.0f, p.substeps = 4; /* 0.25 ms Euler sub-steps, as Izhikevich's code */
    header("Izhikevich (2003), I = 10 from 20 ms (TC: I = -30 from 20 to 220 ms; RZ: 2-ms pulses of 1.25)", T);
    for (int c = 0; c < SPK_IZH_CLASS_COUNT; c++) {
        spk_izhikevich_preset((spk_izhikevich_class)c, &p.izhikevich);
        for (int t = 0; t < T; t++) {
            if (c == SPK_IZH_TC)
                x[t] = t >= 20 && t < 220 ? -30.0f : 0.0f;
            else if (c == SPK_IZH_RZ) /* a pair 45 ms apart at 50 ms, one 27 ms apart at 170 ms */
                x[t] = (t >= 50 && t < 52) || (t >= 95 && t < 97) || (t >= 170 && t < 172) || (t >= 197 && t < 199)
                           ? 1.25f : 0.0f;
            else
                x[t] = t >= 20 ? 10.0f : 0.0f;
        }
        int n = run(ctx, &p, x, T, times, 256);
        if (n >= 0)
            print_row(spk_izhikevich_class_name((spk_izhikevich_class)c), times, n, (float)T);
    }
}

static void adex(spk_context *ctx)
{
    enum { T = 5000 }; /* 500 ms at 0.1 ms */
    float *x = malloc(T * sizeof *x), times[256], amp;
    spk_model_params p = spk_model_params_default(SPK_MODEL_ADEX);
    if (!x)
        return;
    header("AdEx, Naud et al. (2008) Table 1, step current from 20 ms", T * p.dt);
    for (int k = 0; k < SPK_ADEX_PATTERN_COUNT; k++) {
        spk_adex_preset((spk_adex_pattern)k, &p.adex, &amp);
        for (int t = 0; t < T; t++)
            x[t] = t * p.dt >= 20.0f ? amp : 0.0f;
        int n = run(ctx, &p, x, T, times, 256);
        if (n >= 0)
            print_row(spk_adex_pattern_name((spk_adex_pattern)k), times, n, T * p.dt);
    }
    free(x);
}

int main(int argc, char **argv)
{
    spk_context_options o = spk_context_options_default();
    if (argc > 1)
        o.device = argv[1];
    spk_context *ctx;
    if (spk_context_create(&o, &ctx) != SPK_OK) {
        fprintf(stderr, "no device: %s\n", spk_context_last_error(NULL));
        return 1;
    }
    spk_device_info info;
    if (spk_context_device(ctx, &info) == SPK_OK)
        printf("device: %s\n", info.device_name);
    izhikevich(ctx);
    adex(ctx);
    spk_context_free(ctx);
    return 0;
}
