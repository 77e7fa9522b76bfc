/* bench_kernel_build: how long spk_context_warmup() takes to build every
 * kernel program, cold (nothing cached anywhere), warm from spikecl's disk
 * cache (a new context on a populated cache directory), and warm in memory (a
 * second warmup on the same context). Also times context creation and the
 * first kernel launches after each kind of warmup (an OpenCL driver may defer
 * code generation to the first launch, which a warmup alone does not show;
 * PoCL does), and a warm start in a new process (this program re-run with
 * --child DIR), which is what a user of the disk cache actually gets: inside
 * one process the driver keeps its own state between contexts.
 *
 * "Cold" needs the driver's own cache out of the way too. For PoCL that is
 * POCL_KERNEL_CACHE=0, read when the platform loads; this program sets it and
 * re-executes itself (/proc/self/exe) before any OpenCL call, unless it is
 * already 0 or --keep-driver-cache is given. It also points POCL_CACHE_DIR at
 * a fresh temporary directory (one per child process too), because PoCL
 * still writes per-program scratch trees there with its cache off, and
 * removes it at the end. Other drivers have their own
 * switches (e.g. CUDA_CACHE_DISABLE=1 for NVIDIA); set them in the
 * environment yourself.
 *
 * usage: bench_kernel_build [--device SEL] [--cold-reps N] [--warm-reps N]
 *                           [--process-reps N] [--warm-dir DIR] [--json FILE]
 *                           [--keep-cache] [--keep-driver-cache]
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"

#define MAX_REPS 1000

typedef struct series {
    const char *name;
    double t[MAX_REPS];
    size_t n;
    spk_cache_stats stats; /* counters attributable to the step, from the first rep */
    int stats_vary;        /* 1 when a later rep's counters differ from the first */
    int has_stats;
} series;

static void series_add(series *s, double t)
{
    if (s->n < MAX_REPS)
        s->t[s->n++] = t;
}

static int stats_equal(const spk_cache_stats *a, const spk_cache_stats *b)
{
    return a->memory_hits == b->memory_hits && a->disk_hits == b->disk_hits && a->compiles == b->compiles &&
           a->disk_rejects == b->disk_rejects;
}

static spk_cache_stats stats_diff(const spk_cache_stats *after, const spk_cache_stats *before)
{
    spk_cache_stats d;
    d.memory_hits = after->memory_hits - before->memory_hits;
    d.disk_hits = after->disk_hits - before->disk_hits;
    d.compiles = after->compiles - before->compiles;
    d.disk_rejects = after->disk_rejects - before->disk_rejects;
    return d;
}

static void series_stats(series *s, const spk_cache_stats *d)
{
    if (!s->has_stats) {
        s->stats = *d;
        s->has_stats = 1;
    } else if (!stats_equal(&s->stats, d)) {
        s->stats_vary = 1;
    }
}

/* rm -r: the cache directories hold files (spikecl) or a small tree (PoCL). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[4096];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            int n = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            if (n <= 0 || (size_t)n >= sizeof path)
                continue;
            struct stat sb;
            if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
                remove_dir(path);
            else
                remove(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

static int count_files(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static int make_temp_dir(char *out, size_t cap)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(out, cap, "%s/spikecl-bench-XXXXXX", base);
    if (!mkdtemp(out)) {
        fprintf(stderr, "error: mkdtemp(%s): %s\n", out, strerror(errno));
        return 0;
    }
    return 1;
}

/* Launch the default program variants the warmup builds (CUBA LIF forward
 * with f32 spikes, Poisson encoding to f32) on tiny tensors and wait. */
static spk_status first_launch(spk_context *ctx, double *seconds)
{
    spk_status st = SPK_OK;
    spk_tensor *x = NULL, *s = NULL, *in = NULL, *es = NULL;
    const size_t T = 4, B = 1, N = 64;
    double t0 = bench_now();
    if ((st = spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, N}, &x)) != SPK_OK ||
        (st = spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, N}, &s)) != SPK_OK ||
        (st = spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){B, N}, &in)) != SPK_OK ||
        (st = spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, N}, &es)) != SPK_OK ||
        (st = spk_tensor_fill_f32(x, 0.5f)) != SPK_OK || (st = spk_tensor_fill_f32(in, 0.5f)) != SPK_OK)
        goto done;
    spk_lif_params p = spk_lif_params_default(SPK_NEURON_CUBA_LIF);
    spk_lif_io io = {.input = x, .spikes = s};
    if ((st = spk_lif_forward(ctx, &p, &io)) != SPK_OK || (st = spk_encode_poisson(ctx, in, 1.0f, 0, es)) != SPK_OK ||
        (st = spk_context_finish(ctx)) != SPK_OK)
        goto done;
    *seconds = bench_now() - t0;
done:
    spk_tensor_free(x);
    spk_tensor_free(s);
    spk_tensor_free(in);
    spk_tensor_free(es);
    return st;
}

extern char **environ;

static void ensure_driver_cache_off(char **argv)
{
    const char *v = getenv("POCL_KERNEL_CACHE");
    if (v && strcmp(v, "0") == 0)
        return;
    if (setenv("POCL_KERNEL_CACHE", "0", 1) != 0) {
        fprintf(stderr, "warning: setenv(POCL_KERNEL_CACHE): %s\n", strerror(errno));
        return;
    }
    fflush(NULL);
    execv("/proc/self/exe", argv);
    /* Still fine: no OpenCL call has been made yet, so the platform will read
     * the variable set above when it loads. */
    fprintf(stderr, "note: re-exec failed (%s); POCL_KERNEL_CACHE=0 set in-process before OpenCL loads\n",
            strerror(errno));
}

/* --child DIR: one warm start in this fresh process (context creation with
 * platform initialisation, warmup from the disk cache, first launch); prints
 * one line for the parent. */
static int child_main(const char *device, const char *dir)
{
    spk_context *ctx = NULL;
    spk_context_options opts = spk_context_options_default();
    opts.device = device;
    opts.cache_dir = dir;
    opts.program_binaries = SPK_BINARIES_WRITE; /* this bench times spikecl's own disk cache */
    double t0 = bench_now();
    spk_status st = spk_context_create(&opts, &ctx);
    if (st != SPK_OK) {
        bench_report(NULL, st, "spk_context_create (child)");
        return 1;
    }
    double t1 = bench_now();
    spk_cache_stats s;
    if ((st = spk_context_warmup(ctx, NULL)) != SPK_OK) {
        bench_report(ctx, st, "spk_context_warmup (child)");
        spk_context_free(ctx);
        return 1;
    }
    double t2 = bench_now();
    spk_context_cache_stats(ctx, &s);
    double tl = 0.0;
    if ((st = first_launch(ctx, &tl)) != SPK_OK) {
        bench_report(ctx, st, "first launch (child)");
        spk_context_free(ctx);
        return 1;
    }
    printf("SPKBENCH_CHILD %.9f %.9f %.9f %llu %llu %llu %llu\n", t1 - t0, t2 - t1, tl,
           (unsigned long long)s.compiles, (unsigned long long)s.disk_hits, (unsigned long long)s.memory_hits,
           (unsigned long long)s.disk_rejects);
    spk_context_free(ctx);
    return 0;
}

/* Run this program again as `--child DIR` and read its line. 1 on success. */
static int run_child(const char *device, const char *dir, int keep_driver_cache, double t[3], spk_cache_stats *s)
{
    /* The child gets a PoCL cache directory of its own, so that nothing the
     * driver left behind in this process can make its first launch warm. */
    char pocl_dir[512] = "", pocl_env[600];
    char **envp = environ;
    char **own_env = NULL;
    if (!keep_driver_cache) {
        if (!make_temp_dir(pocl_dir, sizeof pocl_dir))
            return 0;
        size_t n = 0;
        while (environ[n])
            n++;
        own_env = malloc((n + 2) * sizeof *own_env);
        if (!own_env) {
            remove_dir(pocl_dir);
            return 0;
        }
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (strncmp(environ[i], "POCL_CACHE_DIR=", 15) != 0)
                own_env[k++] = environ[i];
        snprintf(pocl_env, sizeof pocl_env, "POCL_CACHE_DIR=%s", pocl_dir);
        own_env[k++] = pocl_env;
        own_env[k] = NULL;
        envp = own_env;
    }
    int ok = 0;
    char *args[8];
    int na = 0;
    args[na++] = "bench_kernel_build";
    args[na++] = "--child";
    args[na++] = (char *)dir;
    if (device) {
        args[na++] = "--device";
        args[na++] = (char *)device;
    }
    if (keep_driver_cache)
        args[na++] = "--keep-driver-cache";
    args[na] = NULL;
    int fds[2];
    if (pipe(fds) != 0) {
        fprintf(stderr, "error: pipe: %s\n", strerror(errno));
        goto done;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "error: fork: %s\n", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        goto done;
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execve("/proc/self/exe", args, envp);
        _exit(127);
    }
    close(fds[1]);
    char buf[1024];
    size_t len = 0;
    ssize_t r;
    while ((r = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)r;
    buf[len] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    unsigned long long c, d, m, rj;
    const char *line = strstr(buf, "SPKBENCH_CHILD ");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !line ||
        sscanf(line, "SPKBENCH_CHILD %lf %lf %lf %llu %llu %llu %llu", &t[0], &t[1], &t[2], &c, &d, &m, &rj) != 7) {
        fprintf(stderr, "error: the warm-start child process failed (status %d)\n", status);
        goto done;
    }
    s->compiles = c;
    s->disk_hits = d;
    s->memory_hits = m;
    s->disk_rejects = rj;
    ok = 1;
done:
    free(own_env);
    if (pocl_dir[0])
        remove_dir(pocl_dir);
    return ok;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_kernel_build [--device SEL] [--cold-reps N] [--warm-reps N] [--process-reps N]\n"
            "                          [--warm-dir DIR] [--json FILE] [--keep-cache] [--keep-driver-cache]\n"
            "  --device SEL         spikecl device selector (p:d, gpu, cpu, name substring)\n"
            "  --cold-reps N        cold warmups, each on a fresh cache directory (default 3)\n"
            "  --warm-reps N        warm warmups and context creations (default 15)\n"
            "  --process-reps N     warm starts in a new process each (default 10)\n"
            "  --warm-dir DIR       skip the cold runs; warm runs use this populated cache directory\n"
            "  --json FILE          also write the results as JSON\n"
            "  --keep-cache         do not delete the temporary cache directories\n"
            "  --keep-driver-cache  leave POCL_KERNEL_CACHE as it is (cold is then not cold)\n");
}

static void print_row(const series *s, int show_stats)
{
    printf("%-34s %10.3f %10.3f %10.3f %5zu", s->name, 1e3 * bench_median(s->t, s->n), 1e3 * bench_min(s->t, s->n),
           1e3 * bench_max(s->t, s->n), s->n);
    if (show_stats && s->has_stats)
        printf("  %8llu %9llu %8llu %7llu%s", (unsigned long long)s->stats.compiles,
               (unsigned long long)s->stats.disk_hits, (unsigned long long)s->stats.memory_hits,
               (unsigned long long)s->stats.disk_rejects, s->stats_vary ? "  (varies between reps)" : "");
    printf("\n");
}

static void json_series(FILE *f, const series *s, const char *key, int last)
{
    fprintf(f, "    ");
    bench_json_str(f, key);
    fprintf(f, ": {\"median_s\": %.6g, \"min_s\": %.6g, \"max_s\": %.6g, \"reps\": %zu, \"times_s\": [",
            bench_median(s->t, s->n), bench_min(s->t, s->n), bench_max(s->t, s->n), s->n);
    for (size_t i = 0; i < s->n; i++)
        fprintf(f, "%s%.6g", i ? ", " : "", s->t[i]);
    fprintf(f, "]");
    if (s->has_stats)
        fprintf(f,
                ", \"cache_stats\": {\"compiles\": %llu, \"disk_hits\": %llu, \"memory_hits\": %llu, "
                "\"disk_rejects\": %llu, \"varies\": %s}",
                (unsigned long long)s->stats.compiles, (unsigned long long)s->stats.disk_hits,
                (unsigned long long)s->stats.memory_hits, (unsigned long long)s->stats.disk_rejects,
                s->stats_vary ? "true" : "false");
    fprintf(f, "}%s\n", last ? "" : ",");
}

int main(int argc, char **argv)
{
    const char *device = NULL, *json = NULL, *warm_dir_opt = NULL, *child_dir = NULL;
    int cold_reps = 3, warm_reps = 15, process_reps = 10, keep_cache = 0, keep_driver_cache = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--device") == 0 && has_val) {
            device = argv[++i];
        } else if (strcmp(a, "--json") == 0 && has_val) {
            json = argv[++i];
        } else if (strcmp(a, "--cold-reps") == 0 && has_val) {
            if (!bench_parse_pos_int(argv[++i], &cold_reps) || cold_reps > MAX_REPS) {
                fprintf(stderr, "error: --cold-reps needs an integer in 1..%d\n", MAX_REPS);
                return 2;
            }
        } else if (strcmp(a, "--warm-reps") == 0 && has_val) {
            if (!bench_parse_pos_int(argv[++i], &warm_reps) || warm_reps > MAX_REPS) {
                fprintf(stderr, "error: --warm-reps needs an integer in 1..%d\n", MAX_REPS);
                return 2;
            }
        } else if (strcmp(a, "--warm-dir") == 0 && has_val) {
            warm_dir_opt = argv[++i];
        } else if (strcmp(a, "--child") == 0 && has_val) {
            child_dir = argv[++i];
        } else if (strcmp(a, "--process-reps") == 0 && has_val) {
            if (!bench_parse_pos_int(argv[++i], &process_reps) || process_reps > MAX_REPS) {
                fprintf(stderr, "error: --process-reps needs an integer in 1..%d\n", MAX_REPS);
                return 2;
            }
        } else if (strcmp(a, "--keep-cache") == 0) {
            keep_cache = 1;
        } else if (strcmp(a, "--keep-driver-cache") == 0) {
            keep_driver_cache = 1;
        } else {
            fprintf(stderr, "error: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!keep_driver_cache)
        ensure_driver_cache_off(argv);
    if (child_dir)
        return child_main(device, child_dir);
    /* PoCL writes even with its kernel cache off (per-program scratch trees
     * under POCL_CACHE_DIR); give it a fresh directory of our own, set before
     * any OpenCL call, and delete it at the end. */
    static char pocl_dir[512] = "";
    if (!keep_driver_cache) {
        if (!make_temp_dir(pocl_dir, sizeof pocl_dir) || setenv("POCL_CACHE_DIR", pocl_dir, 1) != 0)
            return 1;
    }
    const char *pocl_cache = getenv("POCL_KERNEL_CACHE");

    static series ctx_first = {.name = "context create (first, +ICD init)"};
    static series ctx_create = {.name = "context create"};
    static series cold = {.name = "warmup cold (compile)"};
    static series warm_disk = {.name = "warmup warm (disk, same process)"};
    static series warm_mem = {.name = "warmup warm (in-memory)"};
    static series launch_cold = {.name = "first launch after cold warmup"};
    static series save_cold = {.name = "cache save after that launch"};
    static series launch_warm = {.name = "first launch after disk (same pr.)"};
    static series proc_ctx = {.name = "new process: context create"};
    static series proc_warm = {.name = "new process: warmup (disk)"};
    static series proc_launch = {.name = "new process: first launch"};
    static series launch_again = {.name = "second launch (steady state)"};

    int rc = 1;
    spk_context *ctx = NULL;
    spk_status st;
    static char dirs[MAX_REPS][512];
    int n_dirs = 0;
    size_t n_programs = 0;
    int cache_files = -1;
    spk_device_info info;
    memset(&info, 0, sizeof info);
    spk_context_options opts = spk_context_options_default();
    opts.device = device;
    opts.program_binaries = SPK_BINARIES_WRITE; /* this bench times spikecl's own disk cache */

    /* Context creation: the very first one in the process includes loading
     * the ICD and initialising the platform. */
    if (!make_temp_dir(dirs[n_dirs], sizeof dirs[0]))
        goto out;
    opts.cache_dir = dirs[n_dirs++];
    double t0 = bench_now();
    if ((st = spk_context_create(&opts, &ctx)) != SPK_OK) {
        bench_report(NULL, st, "spk_context_create");
        goto out;
    }
    series_add(&ctx_first, bench_now() - t0);
    spk_context_device(ctx, &info);
    spk_context_free(ctx);
    ctx = NULL;
    for (int r = 0; r < warm_reps; r++) {
        t0 = bench_now();
        if ((st = spk_context_create(&opts, &ctx)) != SPK_OK) {
            bench_report(NULL, st, "spk_context_create");
            goto out;
        }
        series_add(&ctx_create, bench_now() - t0);
        spk_context_free(ctx);
        ctx = NULL;
    }

    /* Cold: a fresh, empty cache directory per rep. */
    for (int r = 0; r < (warm_dir_opt ? 0 : cold_reps); r++) {
        if (r > 0) {
            if (!make_temp_dir(dirs[n_dirs], sizeof dirs[0]))
                goto out;
            n_dirs++;
        }
        opts.cache_dir = dirs[n_dirs - 1];
        if ((st = spk_context_create(&opts, &ctx)) != SPK_OK) {
            bench_report(NULL, st, "spk_context_create");
            goto out;
        }
        spk_cache_stats s0, s1;
        spk_context_cache_stats(ctx, &s0);
        t0 = bench_now();
        if ((st = spk_context_warmup(ctx, &n_programs)) != SPK_OK) {
            bench_report(ctx, st, "spk_context_warmup (cold)");
            goto out;
        }
        series_add(&cold, bench_now() - t0);
        spk_context_cache_stats(ctx, &s1);
        spk_cache_stats d = stats_diff(&s1, &s0);
        series_stats(&cold, &d);
        double tl = 0.0;
        if ((st = first_launch(ctx, &tl)) != SPK_OK) {
            bench_report(ctx, st, "first launch after cold warmup");
            goto out;
        }
        series_add(&launch_cold, tl);
        t0 = bench_now();
        if ((st = spk_context_cache_save(ctx)) != SPK_OK) {
            bench_report(ctx, st, "spk_context_cache_save");
            goto out;
        }
        series_add(&save_cold, bench_now() - t0);
        spk_context_free(ctx);
        ctx = NULL;
    }
    const char *warm_dir = warm_dir_opt ? warm_dir_opt : dirs[n_dirs - 1];
    cache_files = count_files(warm_dir);

    /* Warm: new contexts on the populated directory, then a second warmup on
     * the same context (in-memory hits). */
    opts.cache_dir = warm_dir;
    for (int r = 0; r < warm_reps; r++) {
        if ((st = spk_context_create(&opts, &ctx)) != SPK_OK) {
            bench_report(NULL, st, "spk_context_create");
            goto out;
        }
        spk_cache_stats s0, s1, s2;
        spk_context_cache_stats(ctx, &s0);
        t0 = bench_now();
        if ((st = spk_context_warmup(ctx, NULL)) != SPK_OK) {
            bench_report(ctx, st, "spk_context_warmup (warm, disk)");
            goto out;
        }
        double t1 = bench_now();
        spk_context_cache_stats(ctx, &s1);
        if ((st = spk_context_warmup(ctx, NULL)) != SPK_OK) {
            bench_report(ctx, st, "spk_context_warmup (warm, in-memory)");
            goto out;
        }
        double t2 = bench_now();
        spk_context_cache_stats(ctx, &s2);
        series_add(&warm_disk, t1 - t0);
        series_add(&warm_mem, t2 - t1);
        spk_cache_stats d1 = stats_diff(&s1, &s0), d2 = stats_diff(&s2, &s1);
        series_stats(&warm_disk, &d1);
        series_stats(&warm_mem, &d2);
        double tl = 0.0;
        if ((st = first_launch(ctx, &tl)) != SPK_OK) {
            bench_report(ctx, st, "first launch after disk warmup");
            goto out;
        }
        series_add(&launch_warm, tl);
        if ((st = first_launch(ctx, &tl)) != SPK_OK) {
            bench_report(ctx, st, "second launch");
            goto out;
        }
        series_add(&launch_again, tl);
        spk_context_free(ctx);
        ctx = NULL;
    }

    /* Warm start of a new process: what a user of the disk cache sees. */
    for (int r = 0; r < process_reps; r++) {
        double t[3];
        spk_cache_stats d;
        if (!run_child(device, warm_dir, keep_driver_cache, t, &d))
            goto out;
        series_add(&proc_ctx, t[0]);
        series_add(&proc_warm, t[1]);
        series_add(&proc_launch, t[2]);
        series_stats(&proc_warm, &d);
    }

    printf("device: %s [%s], driver %s, %s\n", info.device_name, info.platform_name, info.driver_version,
           info.device_version);
    printf("driver kernel cache: POCL_KERNEL_CACHE=%s%s\n", pocl_cache ? pocl_cache : "(unset)",
           keep_driver_cache ? " (--keep-driver-cache: cold may hit the driver's cache)" : "");
    printf("programs per warmup: %zu; cache files after a cold warmup: %d\n", n_programs, cache_files);
    char load[64];
    printf("load average at the end: %s\n", bench_loadavg(load, sizeof load));
    printf("times in ms; cache counters are the increase during that step (first rep); a launch is\n"
           "spk_lif_forward + spk_encode_poisson on tiny tensors, then spk_context_finish\n\n");
    printf("%-34s %10s %10s %10s %5s  %8s %9s %8s %7s\n", "step", "median", "min", "max", "reps", "compiles",
           "disk_hits", "mem_hits", "rejects");
    print_row(&ctx_first, 0);
    print_row(&ctx_create, 0);
    print_row(&cold, 1);
    print_row(&warm_disk, 1);
    print_row(&warm_mem, 1);
    print_row(&launch_cold, 0);
    print_row(&save_cold, 0);
    print_row(&launch_warm, 0);
    print_row(&launch_again, 0);
    print_row(&proc_ctx, 0);
    print_row(&proc_warm, 1);
    print_row(&proc_launch, 0);
    double mc = bench_median(cold.t, cold.n), md = bench_median(warm_disk.t, warm_disk.n);
    double mm = bench_median(warm_mem.t, warm_mem.n);
    printf("\ncold / warm(disk) = %.1fx, cold / warm(in-memory) = %.0fx\n", md > 0 ? mc / md : 0.0,
           mm > 0 ? mc / mm : 0.0);

    if (json) {
        FILE *f = fopen(json, "w");
        if (!f) {
            fprintf(stderr, "error: cannot write %s: %s\n", json, strerror(errno));
            goto out;
        }
        fprintf(f, "{\n  \"benchmark\": \"kernel_build\",\n  \"device\": ");
        bench_json_str(f, info.device_name);
        fprintf(f, ",\n  \"platform\": ");
        bench_json_str(f, info.platform_name);
        fprintf(f, ",\n  \"driver\": ");
        bench_json_str(f, info.driver_version);
        fprintf(f, ",\n  \"device_version\": ");
        bench_json_str(f, info.device_version);
        fprintf(f, ",\n  \"pocl_kernel_cache\": ");
        bench_json_str(f, pocl_cache ? pocl_cache : "");
        fprintf(f, ",\n  \"loadavg_end\": ");
        bench_json_str(f, load);
        fprintf(f, ",\n  \"programs\": %zu,\n  \"cache_files\": %d,\n  \"results\": {\n", n_programs, cache_files);
        json_series(f, &ctx_first, "context_create_first", 0);
        json_series(f, &ctx_create, "context_create", 0);
        json_series(f, &cold, "warmup_cold", 0);
        json_series(f, &warm_disk, "warmup_warm_disk", 0);
        json_series(f, &warm_mem, "warmup_warm_memory", 0);
        json_series(f, &launch_cold, "first_launch_after_cold", 0);
        json_series(f, &save_cold, "cache_save_after_cold_launch", 0);
        json_series(f, &launch_warm, "first_launch_after_disk", 0);
        json_series(f, &launch_again, "second_launch", 0);
        json_series(f, &proc_ctx, "new_process_context_create", 0);
        json_series(f, &proc_warm, "new_process_warmup_disk", 0);
        json_series(f, &proc_launch, "new_process_first_launch", 1);
        fprintf(f, "  }\n}\n");
        if (fclose(f) != 0) {
            fprintf(stderr, "error: writing %s failed\n", json);
            goto out;
        }
    }
    rc = 0;
out:
    spk_context_free(ctx);
    for (int i = 0; i < n_dirs; i++) {
        if (keep_cache)
            fprintf(stderr, "kept cache directory %s\n", dirs[i]);
        else
            remove_dir(dirs[i]);
    }
    if (pocl_dir[0])
        remove_dir(pocl_dir);
    return rc;
}
