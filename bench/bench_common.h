/* Small helpers shared by the benchmark programs: monotonic clock, medians,
 * error reporting, JSON string output. Header-only (static inline) so each
 * benchmark stays a single translation unit. */
#ifndef SPK_BENCH_COMMON_H
#define SPK_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spikecl/spikecl.h"

/* Seconds on CLOCK_MONOTONIC. */
static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of n values (n >= 1); the input is left as it was. */
static inline double bench_median(const double *v, size_t n)
{
    if (n == 0)
        return 0.0;
    double *c = malloc(n * sizeof *c);
    if (!c)
        return v[0];
    memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, bench_cmp_double);
    double m = n % 2 ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
    free(c);
    return m;
}

static inline double bench_min(const double *v, size_t n)
{
    double m = n ? v[0] : 0.0;
    for (size_t i = 1; i < n; i++)
        if (v[i] < m)
            m = v[i];
    return m;
}

static inline double bench_max(const double *v, size_t n)
{
    double m = n ? v[0] : 0.0;
    for (size_t i = 1; i < n; i++)
        if (v[i] > m)
            m = v[i];
    return m;
}

/* Print a failed spikecl call with its status name and the context's detail. */
static inline void bench_report(const spk_context *ctx, spk_status st, const char *what)
{
    const char *detail = spk_context_last_error(ctx);
    fprintf(stderr, "error: %s: %s (%s)%s%s\n", what, spk_status_name(st), spk_status_str(st),
            detail && *detail ? ": " : "", detail ? detail : "");
}

/* A context with options o, its device in *info; NULL (reported) on failure. */
static inline spk_context *bench_context(const spk_context_options *o, spk_device_info *info)
{
    spk_context *ctx = NULL;
    spk_status st = spk_context_create(o, &ctx);
    if (st != SPK_OK) {
        bench_report(NULL, st, "spk_context_create");
        return NULL;
    }
    spk_context_device(ctx, info);
    return ctx;
}

/* Write s as a JSON string literal. */
static inline void bench_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* The 1, 5 and 15 minute load averages from /proc/loadavg ("?" elsewhere):
 * the numbers are only as quiet as the machine. */
static inline const char *bench_loadavg(char *buf, size_t cap)
{
    double a = 0, b = 0, c = 0;
    FILE *f = fopen("/proc/loadavg", "r");
    int ok = f && fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3;
    if (f)
        fclose(f);
    if (ok)
        snprintf(buf, cap, "%.2f %.2f %.2f", a, b, c);
    else
        snprintf(buf, cap, "?");
    return buf;
}

/* Parse a positive integer option value; returns 0 on error. */
static inline int bench_parse_pos_int(const char *s, int *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!s[0] || *end || v <= 0 || v > 1000000)
        return 0;
    *out = (int)v;
    return 1;
}

/* A sequence shape [T, B, N]. */
typedef struct bench_seq_shape {
    size_t T, B, N;
} bench_seq_shape;

/* Parse "T:B:N[,T:B:N...]" (at most max, all >= 1) into out; returns 0 on error. */
static inline int bench_parse_seq_shapes(const char *s, bench_seq_shape *out, size_t max, size_t *n)
{
    *n = 0;
    while (*s) {
        unsigned long long t, b, nn;
        int used = 0;
        if (sscanf(s, "%llu:%llu:%llu%n", &t, &b, &nn, &used) != 3 || t == 0 || b == 0 || nn == 0 || *n >= max)
            return 0;
        out[(*n)++] = (bench_seq_shape){(size_t)t, (size_t)b, (size_t)nn};
        s += used;
        if (*s == ',')
            s++;
        else if (*s)
            return 0;
    }
    return *n > 0;
}

#endif
