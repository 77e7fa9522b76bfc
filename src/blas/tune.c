/* spk_tune(): search CLBlast's GEMM parameters on the context's device.
 *
 *  1. CLBlast's own Xgemm (all shapes forced through the tiled kernel) and
 *     XgemmDirect (all forced direct) set the baselines;
 *  2. Xgemm candidates, then XgemmDirect candidates, drawn alternately at
 *     random from CLBlast's tuner ranges and as neighbours of the best so far
 *     (one or two parameters redrawn), each timed on every shape after its
 *     result was checked; the score is the geometric mean of the speed-ups over the
 *     baseline; the budget is split in halves between the two kernels;
 *  3. the switch size XGEMM_MIN_INDIRECT_SIZE that sends each shape to the
 *     faster of the two winners;
 *  4. CLBlast's own parameters and the tuned ones, A/B interleaved on every
 *     shape (the report), then the tuned ones stay applied and are stored. */
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "blas/gemm_internal.h"
#include "blas/tune_file.h"
#include "blas/tune_measure.h"
#include "blas/tune_space.h"

#define MIN_TIME_S 0.25 /* per shape and candidate */
#define AB_ROUNDS 5
#define FORCE_INDIRECT 1         /* m*n*k < 1: never direct */
#define FORCE_DIRECT (1u << 21)  /* its cube exceeds any GEMM spikecl runs */

/* Every GEMM of one training step of the mlp preset (784 -> 256 -> 10,
 * batch 128, T = 25, the first layer on static input), and the dense layer
 * of the library comparison network at n = 512 (T*B = 8000 rows). The tiny
 * bias GEMMs count as much as the large ones: they are as many, and a
 * tile tuned for large GEMMs can make them slower. */
static const spk_gemm_shape DEFAULT_SHAPES[] = {
    {0, 1, 128, 256, 784},  /* mlp dense1 forward, once per batch (static input) */
    {0, 0, 128, 256, 1},    /* its bias */
    {0, 0, 1, 32768, 25},   /* its output gradient summed over T */
    {1, 0, 256, 784, 128},  /* its weight gradient */
    {1, 0, 256, 1, 128},    /* its bias gradient */
    {0, 1, 3200, 10, 256},  /* mlp dense2 forward over T*B = 3200 */
    {0, 0, 3200, 10, 1},    /* its bias */
    {1, 0, 10, 256, 3200},  /* its weight gradient */
    {1, 0, 10, 1, 3200},    /* its bias gradient */
    {0, 0, 3200, 256, 10},  /* its input gradient */
    {0, 1, 8000, 512, 512}, /* library comparison n = 512: forward */
    {1, 0, 512, 512, 8000}, /* weight gradient */
    {0, 0, 8000, 512, 512}, /* input gradient */
};

const spk_gemm_shape *spk_tune_default_shapes(size_t *count)
{
    if (count)
        *count = SPK_ARRAY_LEN(DEFAULT_SHAPES);
    return DEFAULT_SHAPES;
}

spk_tune_options spk_tune_options_default(void)
{
    spk_tune_options o;
    memset(&o, 0, sizeof o);
    o.budget_s = 300;
    o.seed = 1;
    return o;
}

typedef struct tuner {
    spk_context *ctx;
    const spk_tune_options *opts;
    spk__tune_case cases[SPK_TUNE_MAX_SHAPES];
    size_t n;
    spk__device_limits lim;
    spk_tune_params defaults;
    spk_tune_params stored; /* the device's tuning file, if valid: tried first */
    double nat[SPK_TUNE_MAX_SHAPES]; /* per shape, CLBlast's own parameters and switch */
    double t0;
    size_t timed, failed;
} tuner;

static void progress(const tuner *t, const char *fmt, ...) SPK_PRINTF(2, 3);
static void progress(const tuner *t, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    if (!t->opts->progress)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    t->opts->progress(line, t->opts->progress_user);
}

static double gflops(const spk_gemm_shape *s, double seconds)
{
    return 2e-9 * (double)s->m * (double)s->n * (double)s->k / seconds;
}

static double mnk(const spk_gemm_shape *s)
{
    return (double)s->m * (double)s->n * (double)s->k;
}

/* Apply a full parameter set; a set CLBlast refuses counts as failed. */
static spk_status apply(tuner *t, const spk_tune_params *p, char *why, size_t cap)
{
    return spk__tune_apply(t->ctx, p, why, cap);
}

/* Time every shape under p (already applied). SPK_ERR_BLAS (why in msg)
 * when CLBlast fails or a result is wrong; stops early, with *pruned set,
 * when a shape is over `prune` times slower than `best` (if given). */
static spk_status time_all(tuner *t, const spk_tune_params *p, const double *best, double prune, double *sec,
                           int *pruned, char *msg, size_t cap)
{
    spk_status st = apply(t, p, msg, cap);
    *pruned = 0;
    for (size_t i = 0; i < t->n && st == SPK_OK && !*pruned; i++) {
        st = spk__tune_case_run(t->ctx, &t->cases[i], MIN_TIME_S, &sec[i], msg, cap);
        if (st == SPK_OK && best && sec[i] > prune * best[i])
            *pruned = 1;
    }
    return st;
}

/* The score of a set of times of one kernel: the geometric mean over the
 * shapes of the speed-up over CLBlast's own parameters, each shape taking
 * the faster of `sec` and `other` (the best times of the other kernel),
 * as the switch size chosen at the end can make it. */
static double speedup(const tuner *t, const double *sec, const double *other)
{
    double log_sum = 0;
    for (size_t i = 0; i < t->n; i++)
        log_sum += log(t->nat[i] / (sec[i] < other[i] ? sec[i] : other[i]));
    return exp(log_sum / (double)t->n);
}

#define MAX_TRIED 512

/* The next candidate: alternately drawn at random (exploring) and a
 * neighbour of the best so far (refining); never one already tried.
 * Returns 0 when none is left, 2 for the stored file's values, else 1. */
static int next_candidate(const tuner *t, spk__tune_kernel k, size_t i, uint64_t *rng, const spk__kernel_values *best,
                          spk__kernel_values *tried, size_t n_tried, spk__kernel_values *out)
{
    /* A file from an earlier run goes first: tuning continues from it. */
    if (i == 1 && spk__tune_extract(&t->stored, k, out, NULL, 0) == 1 && memcmp(out, best, sizeof *out) != 0)
        return 2;
    for (int attempt = 0; attempt < 1000; attempt++) {
        int ok = i % 2 == 0 ? spk__tune_mutate(k, rng, &t->lim, best, out) : spk__tune_draw(k, rng, &t->lim, out);
        if (!ok)
            return 0;
        int seen = memcmp(out, best, sizeof *out) == 0;
        for (size_t j = 0; j < n_tried && !seen; j++)
            seen = memcmp(out, &tried[j], sizeof *out) == 0;
        if (!seen)
            return 1;
    }
    return 0;
}

/* Search kernel k with the routine forced to it (set in *cfg); *cfg and
 * best_sec start as CLBlast's own values and times and end as the
 * winner's; other: the best times of the other kernel. */
static spk_status search(tuner *t, spk__tune_kernel k, spk_tune_params *cfg, const double *other, double *best_sec,
                         double deadline)
{
    spk_status st = SPK_OK;
    const char *name = spk__tune_kernel_name(k);
    uint64_t rng = t->opts->seed * 0x9e3779b97f4a7c15ull + (uint64_t)k;
    spk__kernel_values best, cand;
    spk__kernel_values *tried = spk__malloc(MAX_TRIED * sizeof *tried);
    size_t n_tried = 0;
    double best_score = speedup(t, best_sec, other), sec[SPK_TUNE_MAX_SHAPES];
    char msg[512], desc[512];
    SPK_CHECK(t->ctx, tried != NULL, SPK_ERR_OUT_OF_MEMORY, "spk_tune: out of host memory");
    spk__tune_extract(cfg, k, &best, NULL, 0);
    for (size_t i = 1; t->opts->max_candidates == 0 || i <= t->opts->max_candidates; i++) {
        int got = spk__tune_now() < deadline ? next_candidate(t, k, i, &rng, &best, tried, n_tried, &cand) : 0;
        if (!got)
            break;
        if (n_tried < MAX_TRIED)
            tried[n_tried++] = cand;
        spk_tune_params trial = *cfg;
        spk__tune_put(&trial, k, &cand);
        spk__tune_describe(k, &cand, desc, sizeof desc);
        int pruned = 0;
        double c0 = spk__tune_now();
        st = time_all(t, &trial, best_sec, 3.0, sec, &pruned, msg, sizeof msg);
        t->timed++;
        if (st == SPK_ERR_BLAS) {
            t->failed++;
            progress(t, "%s candidate %zu rejected (%s): %s", name, i, msg, desc);
            st = SPK_OK;
            continue;
        }
        if (st != SPK_OK)
            goto fail;
        if (pruned) {
            progress(t, "%s candidate %zu: over 3x slower than the best on a shape, dropped (%.1f s): %s", name, i,
                     spk__tune_now() - c0, desc);
            continue;
        }
        double score = speedup(t, sec, other);
        progress(t, "%s candidate %zu (%s): %.2fx CLBlast's own (%.1f s)%s: %s", name, i,
                 got == 2 ? "from the stored file" : i % 2 == 0 ? "neighbour of the best" : "random",
                 score, spk__tune_now() - c0, score > best_score ? ", best so far" : "", desc);
        if (score > best_score) {
            best_score = score;
            best = cand;
            memcpy(best_sec, sec, t->n * sizeof *sec);
        }
    }
    spk__tune_put(cfg, k, &best);
fail:
    spk__free(tried);
    return st;
}

static void set_routine(spk_tune_params *p, size_t value)
{
    spk__kernel_values v = {{value}};
    spk__tune_put(p, SPK__GEMM_ROUTINE, &v);
}

/* The XGEMM_MIN_INDIRECT_SIZE sending each shape to its faster kernel:
 * shapes sorted by m*n*k, the best split point, and a size between the
 * two shapes around it (CLBlast's own when it lies there). */
static size_t choose_switch(const tuner *t, const double *direct, const double *indirect, size_t own)
{
    size_t order[SPK_TUNE_MAX_SHAPES];
    for (size_t i = 0; i < t->n; i++) {
        size_t j = i;
        for (; j > 0 && mnk(&t->cases[order[j - 1]].s) > mnk(&t->cases[i].s); j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    size_t best_split = 0;
    double best_cost = INFINITY;
    for (size_t split = 0; split <= t->n; split++) {
        if (split > 0 && split < t->n && mnk(&t->cases[order[split - 1]].s) == mnk(&t->cases[order[split]].s))
            continue; /* equal sizes take the same kernel */
        double cost = 0;
        for (size_t r = 0; r < t->n; r++)
            cost += log(r < split ? direct[order[r]] : indirect[order[r]]);
        if (cost < best_cost - 1e-9) {
            best_cost = cost;
            best_split = split;
        }
    }
    /* Direct below the split: last direct m*n*k < size^3 <= first indirect m*n*k. */
    const double lo = best_split > 0 ? mnk(&t->cases[order[best_split - 1]].s) : 0;
    const double hi = best_split < t->n ? mnk(&t->cases[order[best_split]].s) : INFINITY;
    double size = (double)own;
    if (!(size * size * size > lo && size * size * size <= hi))
        size = floor(best_split == 0 ? cbrt(hi) : best_split == t->n ? cbrt(lo) + 1 : sqrt(cbrt(lo) * cbrt(hi)) + 0.5);
    while (size * size * size <= lo && size < FORCE_DIRECT)
        size++;
    while (size > 1 && size * size * size > hi)
        size--; /* no integer between the two: the last direct shape goes indirect */
    return (size_t)(size < 1 ? 1 : size);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* CLBlast's own parameters vs the tuned ones, alternating, AB_ROUNDS rounds. */
static spk_status final_ab(tuner *t, const spk_tune_params *tuned, spk_tune_report *out)
{
    spk_status st = SPK_OK;
    double sec[2][AB_ROUNDS][SPK_TUNE_MAX_SHAPES];
    char msg[512];
    for (int r = 0; r < AB_ROUNDS; r++)
        for (int way = 0; way < 2; way++) {
            const spk_tune_params *p = way == 0 ? &t->defaults : tuned;
            int pruned;
            st = time_all(t, p, NULL, 0, sec[way][r], &pruned, msg, sizeof msg);
            SPK_CHECK(t->ctx, st != SPK_ERR_BLAS, st, "spk_tune: %s parameters: %s",
                      way == 0 ? "CLBlast's own" : "the tuned", msg);
            SPK_TRY(st);
        }
    spk__kernel_values v;
    spk__tune_extract(tuned, SPK__GEMM_ROUTINE, &v, NULL, 0);
    const double sw = (double)v.v[0];
    for (size_t i = 0; i < t->n; i++) {
        double med[2];
        for (int way = 0; way < 2; way++) {
            double x[AB_ROUNDS];
            for (int r = 0; r < AB_ROUNDS; r++)
                x[r] = sec[way][r][i];
            qsort(x, AB_ROUNDS, sizeof x[0], cmp_double);
            med[way] = x[AB_ROUNDS / 2];
        }
        spk_tune_shape_result *res = &out->shapes[i];
        res->shape = t->cases[i].s;
        res->default_gflops = gflops(&res->shape, med[0]);
        res->tuned_gflops = gflops(&res->shape, med[1]);
        res->tuned_direct = mnk(&res->shape) < sw * sw * sw;
    }
    out->n_shapes = t->n;
fail:
    return st;
}

static spk_status check_options(spk_context *ctx, const spk_tune_options *o, const spk_gemm_shape **shapes,
                                size_t *n)
{
    spk_status st = SPK_OK;
    *shapes = o->shapes ? o->shapes : spk_tune_default_shapes(n);
    if (o->shapes)
        *n = o->n_shapes;
    SPK_CHECK(ctx, *n >= 1 && *n <= SPK_TUNE_MAX_SHAPES, SPK_ERR_INVALID_ARGUMENT,
              "spk_tune: %zu shapes, expected 1..%d", *n, SPK_TUNE_MAX_SHAPES);
    SPK_CHECK(ctx, o->budget_s >= 0 && o->budget_s < 1e7, SPK_ERR_INVALID_ARGUMENT,
              "spk_tune: budget_s = %g, expected 0..1e7 seconds", o->budget_s);
    for (size_t i = 0; i < *n; i++) {
        const spk_gemm_shape *s = &(*shapes)[i];
        SPK_CHECK(ctx, (s->trans_a == 0 || s->trans_a == 1) && (s->trans_b == 0 || s->trans_b == 1),
                  SPK_ERR_INVALID_ARGUMENT, "spk_tune: shape %zu: trans_a and trans_b are 0 or 1", i);
        /* Exact reference sums need k * 4 < 2^24; 2^16 keeps every buffer modest. */
        SPK_CHECK(ctx, s->m >= 1 && s->n >= 1 && s->k >= 1 && s->m <= 65536 && s->n <= 65536 && s->k <= 65536 &&
                           mnk(s) <= 1e12,
                  SPK_ERR_INVALID_ARGUMENT, "spk_tune: shape %zu (%zux%zux%zu): m, n, k must be in 1..65536", i,
                  s->m, s->n, s->k);
    }
fail:
    return st;
}

/* The kernels of `tuned` whose values differ from CLBlast's own. */
static void changed_only(const spk_tune_params *tuned, const spk_tune_params *own, spk_tune_params *out)
{
    memset(out, 0, sizeof *out);
    for (int k = 0; k < SPK__N_TUNE_KERNELS; k++) {
        spk__kernel_values a, b;
        spk__tune_extract(tuned, (spk__tune_kernel)k, &a, NULL, 0);
        spk__tune_extract(own, (spk__tune_kernel)k, &b, NULL, 0);
        if (memcmp(&a, &b, sizeof a) != 0)
            spk__tune_put(out, (spk__tune_kernel)k, &a);
    }
}

static void report_baseline(const tuner *t, const char *what, const double *sec)
{
    char line[1024];
    size_t used = 0;
    for (size_t i = 0; i < t->n && used < sizeof line; i++) {
        const spk_gemm_shape *s = &t->cases[i].s;
        int w = snprintf(line + used, sizeof line - used, "%s %zux%zux%zu: %.1f", i ? "," : "", s->m, s->n, s->k,
                         gflops(s, sec[i]));
        used += w > 0 ? (size_t)w : 0;
    }
    progress(t, "%s (GFLOP/s):%s", what, line);
}

/* CLBlast's own parameters with every shape forced through kernel k
 * (routine set to `force`): the baseline times. */
static spk_status baseline(tuner *t, spk__tune_kernel k, size_t force, double *sec)
{
    char why[1024], what[64];
    int pruned;
    spk_tune_params cfg = t->defaults;
    set_routine(&cfg, force);
    spk_status st = time_all(t, &cfg, NULL, 0, sec, &pruned, why, sizeof why);
    SPK_CHECK(t->ctx, st != SPK_ERR_BLAS, st, "spk_tune: CLBlast's own %s parameters: %s", spk__tune_kernel_name(k),
              why);
    SPK_TRY(st);
    t->timed++;
    snprintf(what, sizeof what, "CLBlast's own %s", spk__tune_kernel_name(k));
    report_baseline(t, what, sec);
fail:
    return st;
}

spk_status spk_tune(spk_context *ctx, const spk_tune_options *opts_in, spk_tune_report *out)
{
    spk_status st = SPK_OK;
    tuner *t = NULL;
    char why[1024];
    const spk_gemm_shape *shapes;
    size_t n_shapes;
    double base_ind[SPK_TUNE_MAX_SHAPES], best_ind[SPK_TUNE_MAX_SHAPES];
    double base_dir[SPK_TUNE_MAX_SHAPES], best_dir[SPK_TUNE_MAX_SHAPES];
    SPK_CHECK(ctx, ctx && out, SPK_ERR_NULL_POINTER, "spk_tune: ctx or out is NULL");
    spk_tune_options opts = opts_in ? *opts_in : spk_tune_options_default();
    memset(out, 0, sizeof *out);
    SPK_TRY(check_options(ctx, &opts, &shapes, &n_shapes));
    int have_path = spk__tune_file_path(ctx, out->path, sizeof out->path);
    SPK_CHECK(ctx, have_path || opts.dry_run, SPK_ERR_UNSUPPORTED,
              "spk_tune: the context's disk cache is off: nowhere to store the result (use a dry run)");
    t = spk__calloc(1, sizeof *t);
    SPK_CHECK(ctx, t != NULL, SPK_ERR_OUT_OF_MEMORY, "spk_tune: out of host memory");
    t->ctx = ctx;
    t->opts = &opts;
    t->lim = (spk__device_limits){ctx->info.max_work_group_size, ctx->info.local_mem_bytes};
    t->t0 = spk__tune_now();
    st = spk__tune_defaults(ctx, &t->defaults, why, sizeof why);
    SPK_CHECK(ctx, st == SPK_OK, st, "spk_tune: %s", why);
    out->defaults = t->defaults;
    if (have_path && spk__tune_file_read(ctx, out->path, &t->stored, why, sizeof why) == SPK_OK)
        progress(t, "continuing from %s (%zu parameters)", out->path, t->stored.n);
    for (; t->n < n_shapes; t->n++)
        SPK_TRY(spk__tune_case_init(ctx, &shapes[t->n], opts.seed, &t->cases[t->n]));
    spk__kernel_values own_switch;
    spk__tune_extract(&t->defaults, SPK__GEMM_ROUTINE, &own_switch, NULL, 0);

    SPK_TRY(baseline(t, SPK__XGEMM, FORCE_INDIRECT, base_ind));
    SPK_TRY(baseline(t, SPK__XGEMM_DIRECT, FORCE_DIRECT, base_dir));
    for (size_t i = 0; i < t->n; i++) {
        double cube = (double)own_switch.v[0] * (double)own_switch.v[0] * (double)own_switch.v[0];
        t->nat[i] = mnk(&t->cases[i].s) < cube ? base_dir[i] : base_ind[i];
    }
    memcpy(best_ind, base_ind, sizeof best_ind);
    memcpy(best_dir, base_dir, sizeof best_dir);
    spk_tune_params cfg = t->defaults;
    set_routine(&cfg, FORCE_INDIRECT);
    SPK_TRY(search(t, SPK__XGEMM, &cfg, best_dir, best_ind, t->t0 + opts.budget_s / 2));
    set_routine(&cfg, FORCE_DIRECT);
    SPK_TRY(search(t, SPK__XGEMM_DIRECT, &cfg, best_ind, best_dir, t->t0 + opts.budget_s));

    size_t sw = choose_switch(t, best_dir, best_ind, own_switch.v[0]);
    set_routine(&cfg, sw);
    progress(t, "switch to XgemmDirect below m*n*k = %zu^3 (CLBlast's own: %zu^3); A/B against CLBlast's own", sw,
             own_switch.v[0]);
    SPK_TRY(final_ab(t, &cfg, out));
    changed_only(&cfg, &t->defaults, &out->tuned);
    /* Never keep a set that lost the A/B: noise can crown a loser on a busy machine. */
    double log_sum = 0;
    for (size_t i = 0; i < out->n_shapes; i++)
        log_sum += log(out->shapes[i].tuned_gflops / out->shapes[i].default_gflops);
    out->speedup = exp(log_sum / (double)out->n_shapes);
    if (out->speedup < 1.0) {
        progress(t, "the tuned parameters lost the A/B (%.2fx): keeping CLBlast's own", out->speedup);
        memset(&out->tuned, 0, sizeof out->tuned);
        out->kept_own = 1;
    }
    /* Leave the tuned parameters in force, as a context loading them would. */
    st = spk__tune_apply(ctx, &t->defaults, why, sizeof why);
    if (st == SPK_OK)
        st = spk__tune_apply(ctx, &out->tuned, why, sizeof why);
    SPK_CHECK(ctx, st == SPK_OK, st, "spk_tune: %s", why);
    if (!opts.dry_run) {
        SPK_TRY(spk__tune_file_write(ctx, out->path, &out->tuned));
        out->stored = 1;
    }
fail:
    if (t) {
        out->candidates_timed = t->timed;
        out->candidates_failed = t->failed;
        out->seconds = spk__tune_now() - t->t0;
        for (size_t i = 0; i < t->n; i++)
            spk__tune_case_free(&t->cases[i]);
    }
    spk__free(t);
    return st;
}
