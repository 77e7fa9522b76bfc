/* spikecl tune: search CLBlast's GEMM parameters for one device, print the
 * default and tuned speed per shape, store the result for later contexts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

typedef struct tune_cli {
    const char *device;
    spk_tune_options opts;
    spk_gemm_shape shapes[SPK_TUNE_MAX_SHAPES];
    int quiet;
} tune_cli;

static void usage(void)
{
    size_t n;
    const spk_gemm_shape *d = spk_tune_default_shapes(&n);
    printf("usage: spikecl tune [--device SEL] [--budget-s S] [--max-candidates N] [--shapes LIST] [--seed S]\n"
           "                    [--dry-run] [--quiet]\n\n"
           "Searches CLBlast's GEMM kernel parameters (Xgemm, XgemmDirect and the size where CLBlast switches\n"
           "between them) on one device, checking every candidate's result against a host reference, then\n"
           "measures CLBlast's own and the tuned parameters A/B on each shape and stores the winners in the\n"
           "cache directory (SPIKECL_CACHE_DIR). Every later context on that device loads them; SPIKECL_TUNE=off\n"
           "turns that off. They matter where CLBlast runs the GEMMs: GPUs, and CPUs with --gemm clblast.\n\n"
           "  --budget-s S         seconds for the search (default %.0f); each candidate compiles CLBlast's GEMM\n"
           "                       program, seconds to tens of seconds on PoCL\n"
           "  --max-candidates N   per kernel (default: as many as the budget allows)\n"
           "  --shapes LIST        comma-separated MxNxK[:OP], OP in NN, NT, TN, TT (op(A), op(B); default NN)\n"
           "  --dry-run            measure, but store nothing\n\n"
           "default shapes (spikecl's layers):",
           spk_tune_options_default().budget_s);
    for (size_t i = 0; i < n; i++)
        printf(" %zux%zux%zu:%c%c", d[i].m, d[i].n, d[i].k, d[i].trans_a ? 'T' : 'N', d[i].trans_b ? 'T' : 'N');
    printf("\n");
}

/* "MxNxK[:OP]" */
static int parse_shape(const char *s, spk_gemm_shape *out)
{
    unsigned long long m, n, k;
    char op[3] = "NN";
    int used = 0;
    if (sscanf(s, "%llux%llux%llu%n", &m, &n, &k, &used) != 3)
        return -1;
    if (s[used] == ':') {
        if (strlen(s + used + 1) != 2)
            return -1;
        memcpy(op, s + used + 1, 2);
    } else if (s[used] != '\0') {
        return -1;
    }
    if ((op[0] != 'N' && op[0] != 'T') || (op[1] != 'N' && op[1] != 'T'))
        return -1;
    *out = (spk_gemm_shape){op[0] == 'T', op[1] == 'T', (size_t)m, (size_t)n, (size_t)k};
    return 0;
}

static int parse_shapes(const char *list, tune_cli *o)
{
    char buf[1024];
    if (strlen(list) >= sizeof buf)
        return -1;
    strcpy(buf, list);
    size_t n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == SPK_TUNE_MAX_SHAPES || parse_shape(tok, &o->shapes[n]) != 0) {
            fprintf(stderr, "spikecl tune: --shapes takes up to %d MxNxK[:OP] items (OP: NN, NT, TN, TT), "
                            "not '%s'\n", SPK_TUNE_MAX_SHAPES, tok);
            return -1;
        }
        n++;
    }
    o->opts.shapes = o->shapes;
    o->opts.n_shapes = n;
    return n ? 0 : -1;
}

static int parse(int argc, char **argv, tune_cli *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        size_t x;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 1;
        }
        if (strcmp(a, "--dry-run") == 0 || strcmp(a, "--quiet") == 0) {
            *(a[2] == 'd' ? &o->opts.dry_run : &o->quiet) = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "spikecl tune: unknown option %s, or it needs a value\n", a);
            return -1;
        }
        i++;
        if (strcmp(a, "--device") == 0) {
            o->device = v;
        } else if (strcmp(a, "--budget-s") == 0) {
            if (spk_cli_parse_size(a, v, 0, 10000000, &x))
                return -1;
            o->opts.budget_s = (double)x;
        } else if (strcmp(a, "--max-candidates") == 0) {
            if (spk_cli_parse_size(a, v, 0, 1000000, &x))
                return -1;
            o->opts.max_candidates = x;
        } else if (strcmp(a, "--seed") == 0) {
            if (spk_cli_parse_size(a, v, 0, (size_t)-1, &x))
                return -1;
            o->opts.seed = x;
        } else if (strcmp(a, "--shapes") == 0) {
            if (parse_shapes(v, o))
                return -1;
        } else {
            fprintf(stderr, "spikecl tune: unknown option %s\n", a);
            return -1;
        }
    }
    return 0;
}

static void print_progress(const char *line, void *user)
{
    (void)user;
    printf("  %s\n", line);
    fflush(stdout);
}

static void print_params(const char *title, const spk_tune_params *p)
{
    printf("%s:", title);
    if (p->n == 0)
        printf(" none (CLBlast's own won)");
    for (size_t i = 0; i < p->n; i++) {
        if (i == 0 || strcmp(p->p[i].kernel, p->p[i - 1].kernel) != 0)
            printf("%s %s", i ? ";" : "", p->p[i].kernel);
        printf(" %s=%zu", p->p[i].name, p->p[i].value);
    }
    printf("\n");
}

static void print_report(const spk_tune_report *r)
{
    printf("\n%-22s %12s %12s %7s  %s\n", "shape (MxNxK:op)", "own GFLOP/s", "tuned", "ratio", "tuned kernel");
    for (size_t i = 0; i < r->n_shapes; i++) {
        const spk_tune_shape_result *s = &r->shapes[i];
        char name[64];
        snprintf(name, sizeof name, "%zux%zux%zu:%c%c", s->shape.m, s->shape.n, s->shape.k,
                 s->shape.trans_a ? 'T' : 'N', s->shape.trans_b ? 'T' : 'N');
        double ratio = s->tuned_gflops / s->default_gflops;
        printf("%-22s %12.1f %12.1f %6.2fx  %s\n", name, s->default_gflops, s->tuned_gflops, ratio,
               s->tuned_direct ? "XgemmDirect" : "Xgemm");
    }
    printf("geometric mean: %.2fx (medians of interleaved A/B rounds)%s\n", r->speedup,
           r->kept_own ? ": below 1, so CLBlast's own parameters are kept" : "");
    printf("%zu candidates timed (CLBlast's own included), %zu rejected, %.0f s\n", r->candidates_timed,
           r->candidates_failed, r->seconds);
    print_params("tuned parameters", &r->tuned);
}

int spk_cmd_tune(int argc, char **argv)
{
    tune_cli o;
    memset(&o, 0, sizeof o);
    o.opts = spk_tune_options_default();
    int pr = parse(argc, argv, &o);
    if (pr)
        return pr > 0 ? 0 : 2;
    spk_context *ctx = NULL;
    spk_context_options copts = spk_context_options_default();
    copts.device = o.device;
    copts.clblast_tuning = SPK_TUNING_OFF; /* measure from CLBlast's own parameters */
    spk_status st = spk_context_create(&copts, &ctx);
    if (st != SPK_OK) {
        spk_cli_report(NULL, st, "creating the OpenCL context");
        return 1;
    }
    spk_device_info info;
    spk_context_device(ctx, &info);
    printf("spikecl tune: device %d:%d %s (driver %s), budget %.0f s%s\n", info.platform_index, info.device_index,
           info.device_name, info.driver_version, o.opts.budget_s, o.opts.dry_run ? ", dry run" : "");
    if (!o.quiet)
        o.opts.progress = print_progress;
    spk_tune_report r;
    st = spk_tune(ctx, &o.opts, &r);
    int rc = 1;
    if (st != SPK_OK) {
        spk_cli_report(ctx, st, "tuning");
        goto done;
    }
    print_report(&r);
    if (r.stored)
        printf("stored in %s\n(every new context on this device loads it; SPIKECL_TUNE=off skips it)\n", r.path);
    else
        printf("dry run: nothing stored%s%s\n", *r.path ? "; would store in " : "", r.path);
    rc = 0;
done:
    spk_context_free(ctx);
    return rc;
}
