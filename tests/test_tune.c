/* Tuned CLBlast parameters (tune.h): the file round trip, every way a file
 * can be unusable (rejected with its reason, the context still created),
 * parameter validation, GEMMs under loaded parameters against the C
 * reference on every device, and a tiny-budget spk_tune() end to end.
 * Each test works in its own temporary cache directory. CLBlast compiles
 * its GEMM program once per parameter set (PoCL caches the result on disk),
 * so the first run of this suite on a machine is the slow one. */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "ref/ref.h"

/* Valid on any device with work-groups of 64 and 16 KiB of local memory,
 * and none of them CLBlast's own on PoCL; GEMMs with m*n*k < 64^3 run XgemmDirect. */
static const spk_tune_param SAMPLE[] = {
    {"Xgemm", "GEMMK", 0},        {"Xgemm", "KREG", 1},         {"Xgemm", "KWG", 16},       {"Xgemm", "KWI", 2},
    {"Xgemm", "MDIMA", 16},       {"Xgemm", "MDIMC", 8},        {"Xgemm", "MWG", 64},       {"Xgemm", "NDIMB", 16},
    {"Xgemm", "NDIMC", 8},        {"Xgemm", "NWG", 64},         {"Xgemm", "SA", 0},         {"Xgemm", "SB", 1},
    {"Xgemm", "STRM", 0},         {"Xgemm", "STRN", 1},         {"Xgemm", "VWM", 2},        {"Xgemm", "VWN", 2},
    {"XgemmDirect", "KWID", 2},   {"XgemmDirect", "MDIMAD", 8}, {"XgemmDirect", "MDIMCD", 8},
    {"XgemmDirect", "NDIMBD", 8}, {"XgemmDirect", "NDIMCD", 8}, {"XgemmDirect", "PADA", 1},
    {"XgemmDirect", "PADB", 0},   {"XgemmDirect", "VWMD", 2},   {"XgemmDirect", "VWND", 2},
    {"XgemmDirect", "WGD", 16},   {"GemmRoutine", "XGEMM_MIN_INDIRECT_SIZE", 64},
};

/* The devices to test, asserting there is one. */
static size_t devices(char sel[][16])
{
    size_t n = spk_test_devices(sel, SPK_TEST_MAX_DEVICES);
    cr_assert(n > 0, "no OpenCL device to test");
    return n;
}

static spk_tune_params sample_params(void)
{
    spk_tune_params p;
    memset(&p, 0, sizeof p);
    p.n = sizeof SAMPLE / sizeof SAMPLE[0];
    memcpy(p.p, SAMPLE, sizeof SAMPLE);
    return p;
}

static void temp_dir(char *dir, size_t cap)
{
    snprintf(dir, cap, "%s/spikecl-tune-test.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    cr_assert(mkdtemp(dir) != NULL, "mkdtemp %s failed", dir);
}

static void remove_dir(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert(system(cmd) == 0);
}

/* The last warning a context logged. */
static char last_warning[4096];
static void capture_log(spk_log_level level, const char *message, void *user)
{
    (void)user;
    if (level <= SPK_LOG_WARN)
        snprintf(last_warning, sizeof last_warning, "%s", message);
}

static spk_context *context_in(const char *sel, const char *cache_dir, spk_clblast_tuning tuning)
{
    spk_context_options o = spk_context_options_default();
    o.device = sel;
    o.cache_dir = cache_dir;
    o.gemm_backend = SPK_GEMM_CLBLAST;
    o.clblast_tuning = tuning;
    o.log = capture_log;
    spk_context *ctx = NULL;
    spk_status st = spk_context_create(&o, &ctx);
    cr_assert(st == SPK_OK, "context on %s: %s", sel, spk_context_last_error(NULL));
    return ctx;
}

/* Store the sample parameters for device sel in dir; returns the file's path. */
static void store_sample(const char *sel, const char *dir, char *path, size_t cap)
{
    spk_context *ctx = context_in(sel, dir, SPK_TUNING_OFF);
    spk_tune_params p = sample_params();
    SPK_ASSERT_OK(ctx, spk_tune_store(ctx, &p, path, cap));
    cr_assert(access(path, R_OK) == 0, "spk_tune_store reported %s, which does not exist", path);
    cr_assert(strncmp(path, dir, strlen(dir)) == 0, "%s is not in the cache directory %s", path, dir);
    spk_context_free(ctx);
}

static void assert_params_equal(const spk_tune_params *got, const spk_tune_params *want)
{
    cr_assert_eq(got->n, want->n, "%zu parameters loaded, %zu stored", got->n, want->n);
    for (size_t i = 0; i < want->n; i++)
        cr_assert(strcmp(got->p[i].kernel, want->p[i].kernel) == 0 && strcmp(got->p[i].name, want->p[i].name) == 0 &&
                      got->p[i].value == want->p[i].value,
                  "parameter %zu: %s %s %zu loaded, %s %s %zu stored", i, got->p[i].kernel, got->p[i].name,
                  got->p[i].value, want->p[i].kernel, want->p[i].name, want->p[i].value);
}

Test(tune, store_and_load_round_trip)
{
    char sel[SPK_TEST_MAX_DEVICES][16], dir[512], path[1024];
    size_t n = devices(sel);
    for (size_t d = 0; d < n; d++) {
        temp_dir(dir, sizeof dir);
        int loaded = 1;
        spk_context *ctx = context_in(sel[d], dir, SPK_TUNING_LOAD);
        cr_assert(strstr(spk_context_tuning(ctx, &loaded), "none: no file") && !loaded, "empty cache: %s",
                  spk_context_tuning(ctx, NULL));
        spk_context_free(ctx);

        store_sample(sel[d], dir, path, sizeof path);
        ctx = context_in(sel[d], dir, SPK_TUNING_LOAD);
        const char *info = spk_context_tuning(ctx, &loaded);
        cr_assert(loaded && strstr(info, "loaded from") && strstr(info, path), "after storing: %s", info);
        spk_tune_params got, want = sample_params();
        SPK_ASSERT_OK(ctx, spk_context_tuned_params(ctx, &got));
        assert_params_equal(&got, &want);
        spk_context_free(ctx);

        ctx = context_in(sel[d], dir, SPK_TUNING_OFF);
        cr_assert(strstr(spk_context_tuning(ctx, &loaded), "off") && !loaded);
        SPK_ASSERT_OK(ctx, spk_context_tuned_params(ctx, &got));
        cr_assert_eq(got.n, 0);
        spk_context_free(ctx);

        setenv("SPIKECL_TUNE", "off", 1);
        ctx = context_in(sel[d], dir, SPK_TUNING_AUTO);
        cr_assert(strstr(spk_context_tuning(ctx, &loaded), "SPIKECL_TUNE") && !loaded, "%s",
                  spk_context_tuning(ctx, NULL));
        spk_context_free(ctx);
        setenv("SPIKECL_TUNE", "sometimes", 1);
        spk_context_options o = spk_context_options_default();
        o.device = sel[d];
        o.cache_dir = dir;
        ctx = NULL;
        cr_assert_eq(spk_context_create(&o, &ctx), SPK_ERR_INVALID_ARGUMENT);
        cr_assert(ctx == NULL && strstr(spk_context_last_error(NULL), "SPIKECL_TUNE=sometimes"), "%s",
                  spk_context_last_error(NULL));
        unsetenv("SPIKECL_TUNE");
        o.clblast_tuning = (spk_clblast_tuning)7;
        cr_assert_eq(spk_context_create(&o, &ctx), SPK_ERR_INVALID_ARGUMENT);

        ctx = context_in(sel[d], "off", SPK_TUNING_LOAD);
        cr_assert(strstr(spk_context_tuning(ctx, &loaded), "disk cache is off") && !loaded);
        spk_context_free(ctx);
        remove_dir(dir);
    }
    cr_assert(strcmp(spk_context_tuning(NULL, NULL), "") == 0);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    char *buf = calloc(1, 70000);
    cr_assert(buf);
    *len = fread(buf, 1, 69999, f);
    fclose(f);
    return buf;
}

static void write_all(const char *path, const char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f && fwrite(buf, 1, len, f) == len && fclose(f) == 0, "cannot write %s", path);
}

/* Replace the first occurrence of `from` by `to` in the file and, when
 * reseal, recompute the end line's checksum, as a writer would. */
static void edit_file(const char *path, const char *from, const char *to, int reseal)
{
    size_t len;
    char *text = read_all(path, &len), *out = calloc(1, 70000);
    char *at = strstr(text, from);
    cr_assert(at, "'%s' not in %s", from, path);
    size_t pre = (size_t)(at - text);
    memcpy(out, text, pre);
    strcpy(out + pre, to);
    strcpy(out + pre + strlen(to), at + strlen(from));
    len = strlen(out);
    if (reseal) {
        char *end = strstr(out, "\nend ");
        cr_assert(end);
        size_t body = (size_t)(end - out) + 1;
        unsigned long count = strtoul(end + 5, NULL, 10);
        len = body + (size_t)sprintf(out + body, "end %lu %08x\n", count, (unsigned)crc32(0L, (const Bytef *)out, (uInt)body));
    }
    write_all(path, out, len);
    free(text);
    free(out);
}

/* A context on a bad file: created, nothing loaded, the reason reported
 * by spk_context_tuning() and logged as a warning. */
static void expect_ignored(const char *sel, const char *dir, const char *needle)
{
    last_warning[0] = '\0';
    int loaded = 1;
    spk_context *ctx = context_in(sel, dir, SPK_TUNING_LOAD);
    const char *info = spk_context_tuning(ctx, &loaded);
    cr_assert(!loaded && strstr(info, "ignored") && strstr(info, needle) && strstr(info, "CLBlast's own"),
              "expected the file to be ignored because of '%s', got: %s", needle, info);
    cr_assert(strstr(last_warning, needle), "the warning '%s' does not mention '%s'", last_warning, needle);
    spk_tune_params got;
    SPK_ASSERT_OK(ctx, spk_context_tuned_params(ctx, &got));
    cr_assert_eq(got.n, 0);
    spk_context_free(ctx);
}

Test(tune, unusable_files_are_ignored_with_their_reason)
{
    char sel[SPK_TEST_MAX_DEVICES][16], dir[512], path[1024];
    size_t n = devices(sel);
    for (size_t d = 0; d < n; d++) {
        temp_dir(dir, sizeof dir);
        store_sample(sel[d], dir, path, sizeof path);
        size_t len;
        char *good = read_all(path, &len);

        write_all(path, good, len / 2);
        expect_ignored(sel[d], dir, "truncated");
        write_all(path, good, len - 1); /* only the final newline lost */
        expect_ignored(sel[d], dir, "truncated");
        write_all(path, "", 0);
        expect_ignored(sel[d], dir, "not a spikecl tuning file");

        write_all(path, good, len);
        edit_file(path, "MWG 64", "MWG 32", 0); /* a value changed, checksum left as it was */
        expect_ignored(sel[d], dir, "checksum mismatch");

        write_all(path, good, len);
        edit_file(path, "spikecl-clblast-tuning", "something-else", 0);
        expect_ignored(sel[d], dir, "not a spikecl tuning file");

        write_all(path, good, len);
        edit_file(path, "spikecl-clblast-tuning 1", "spikecl-clblast-tuning 9", 1);
        expect_ignored(sel[d], dir, "format 9");

        write_all(path, good, len);
        edit_file(path, "\ndevice ", "\ndevice Some Other GPU ", 1); /* a well-formed file of another device */
        expect_ignored(sel[d], dir, "written for another device");

        write_all(path, good, len);
        edit_file(path, "\nclblast ", "\nclblast 0.", 1);
        expect_ignored(sel[d], dir, "written for another device or version: clblast");

        write_all(path, good, len);
        edit_file(path, "MWG 64", "MWG 48", 1); /* intact file, parameters CLBlast cannot use */
        expect_ignored(sel[d], dir, "MWG=48");

        write_all(path, good, len);
        edit_file(path, "param Xgemm VWN 2\n", "", 1);
        expect_ignored(sel[d], dir, "end line counts");

        write_all(path, good, len);
        edit_file(path, "param Xgemm VWN 2\n", "", 0);
        edit_file(path, "\nend 27 ", "\nend 26 ", 1);
        expect_ignored(sel[d], dir, "parameter VWN is missing");

        write_all(path, good, len);
        edit_file(path, "param Xgemm VWN 2", "param Xgemm VWN two", 1);
        expect_ignored(sel[d], dir, "expected 'param <kernel> <name> <value>'");

        free(good);
        remove_dir(dir);
    }
}

Test(tune, store_rejects_invalid_parameters)
{
    char sel[SPK_TEST_MAX_DEVICES][16], dir[512];
    devices(sel);
    temp_dir(dir, sizeof dir);
    spk_context *ctx = context_in(sel[0], dir, SPK_TUNING_OFF);
    spk_tune_params p = sample_params();
    p.n--; /* XGEMM_MIN_INDIRECT_SIZE dropped: GemmRoutine has no parameter left, valid */
    p.p[3].value = 3; /* KWI = 3 does not divide KWG = 16 */
    SPK_ASSERT_STATUS(ctx, spk_tune_store(ctx, &p, NULL, 0), SPK_ERR_INVALID_ARGUMENT, "KWG=16 is not a multiple of KWI=3");
    p = sample_params();
    p.p[16] = p.p[17]; /* XgemmDirect KWID lost, MDIMAD twice */
    SPK_ASSERT_STATUS(ctx, spk_tune_store(ctx, &p, NULL, 0), SPK_ERR_INVALID_ARGUMENT, "MDIMAD appears twice");
    p = sample_params();
    p.p[16] = p.p[--p.n]; /* XgemmDirect KWID lost */
    SPK_ASSERT_STATUS(ctx, spk_tune_store(ctx, &p, NULL, 0), SPK_ERR_INVALID_ARGUMENT, "KWID is missing");
    p = sample_params();
    snprintf(p.p[0].kernel, sizeof p.p[0].kernel, "Xgemv");
    SPK_ASSERT_STATUS(ctx, spk_tune_store(ctx, &p, NULL, 0), SPK_ERR_INVALID_ARGUMENT, "unknown kernel 'Xgemv'");
    p = sample_params();
    p.p[5].value = 4096; /* MDIMC: a work-group larger than any device's */
    SPK_ASSERT_STATUS(ctx, spk_tune_store(ctx, &p, NULL, 0), SPK_ERR_INVALID_ARGUMENT, "Xgemm");
    p = sample_params();
    p.p[p.n - 1].value = 0;
    SPK_ASSERT_STATUS(ctx, spk_tune_store(ctx, &p, NULL, 0), SPK_ERR_INVALID_ARGUMENT, "XGEMM_MIN_INDIRECT_SIZE=0");
    p.n = SPK_TUNE_MAX_PARAMS + 1;
    SPK_ASSERT_STATUS(ctx, spk_tune_store(ctx, &p, NULL, 0), SPK_ERR_INVALID_ARGUMENT, "at most");
    SPK_ASSERT_STATUS(ctx, spk_tune_store(ctx, NULL, NULL, 0), SPK_ERR_NULL_POINTER, "NULL");
    spk_context_free(ctx);

    ctx = context_in(sel[0], "off", SPK_TUNING_OFF);
    p = sample_params();
    SPK_ASSERT_STATUS(ctx, spk_tune_store(ctx, &p, NULL, 0), SPK_ERR_UNSUPPORTED, "disk cache is off");
    spk_context_free(ctx);
    remove_dir(dir);
}

/* C = alpha op(A) op(B) + beta C through spk_gemm against spk_ref_gemm. */
static void check_gemm(spk_context *ctx, int ta, int tb, size_t m, size_t nn, size_t k, uint64_t seed)
{
    spk_test_rng rng = {seed};
    const float alpha = 0.75f, beta = -1.5f;
    size_t as[2] = {ta ? k : m, ta ? m : k}, bs[2] = {tb ? nn : k, tb ? k : nn}, cs[2] = {m, nn};
    float *a = spk_test_alloc(m * k), *b = spk_test_alloc(k * nn), *want = spk_test_alloc(m * nn),
          *got = spk_test_alloc(m * nn);
    spk_test_fill_uniform(&rng, a, m * k, -1, 1);
    spk_test_fill_uniform(&rng, b, k * nn, -1, 1);
    spk_test_fill_uniform(&rng, want, m * nn, -1, 1);
    spk_test_guarded ga, gb, gc;
    spk_test_guarded_create(ctx, SPK_F32, 2, as, &ga);
    spk_test_guarded_create(ctx, SPK_F32, 2, bs, &gb);
    spk_test_guarded_create(ctx, SPK_F32, 2, cs, &gc);
    spk_test_guarded_upload(&ga, a);
    spk_test_guarded_upload(&gb, b);
    spk_test_guarded_upload(&gc, want);
    SPK_ASSERT_OK(ctx, spk_gemm(ta, tb, alpha, ga.t, gb.t, beta, gc.t));
    spk_ref_gemm(ta, tb, m, nn, k, alpha, a, b, beta, want);
    char what[160];
    snprintf(what, sizeof what, "gemm %c%c %zux%zux%zu under tuned parameters (%s)", ta ? 'T' : 'N', tb ? 'T' : 'N',
             m, nn, k, m * nn * k < 64 * 64 * 64 ? "XgemmDirect" : "Xgemm");
    spk_test_guarded_download(&gc, got, what);
    spk_test_compare(what, got, want, m * nn, 1e-4f * sqrtf((float)k), 1e-4f);
    spk_test_guarded_free(&ga);
    spk_test_guarded_free(&gb);
    spk_test_guarded_free(&gc);
    free(a);
    free(b);
    free(want);
    free(got);
}

Test(tune, gemm_under_loaded_parameters_matches_reference)
{
    char sel[SPK_TEST_MAX_DEVICES][16], dir[512], path[1024];
    size_t n = devices(sel);
    for (size_t d = 0; d < n; d++) {
        temp_dir(dir, sizeof dir);
        store_sample(sel[d], dir, path, sizeof path);
        spk_context *ctx = context_in(sel[d], dir, SPK_TUNING_LOAD);
        int loaded = 0;
        spk_context_tuning(ctx, &loaded);
        cr_assert(loaded, "%s", spk_context_tuning(ctx, NULL));
        /* Below 64^3 XgemmDirect, above it Xgemm with its helper kernels;
         * sizes off the tile multiples, every transpose. */
        for (int t = 0; t < 4; t++) {
            check_gemm(ctx, t & 1, t >> 1, 20, 13, 9, 10 + (uint64_t)t);
            check_gemm(ctx, t & 1, t >> 1, 130, 70, 90, 20 + (uint64_t)t);
        }
        check_gemm(ctx, 0, 1, 128, 64, 256, 30);
        spk_context_free(ctx);
        remove_dir(dir);
    }
}

static int progress_lines;
static void count_progress(const char *line, void *user)
{
    (void)user;
    cr_assert(line && *line);
    progress_lines++;
}

Test(tune, tiny_budget_end_to_end)
{
    char sel[SPK_TEST_MAX_DEVICES][16], dir[512];
    devices(sel);
    temp_dir(dir, sizeof dir);
    spk_context *ctx = context_in(sel[0], dir, SPK_TUNING_OFF);
    static const spk_gemm_shape shapes[] = {{0, 1, 96, 40, 72}, {1, 0, 16, 24, 40}};
    spk_tune_options o = spk_tune_options_default();
    o.shapes = shapes;
    o.n_shapes = 2;
    o.max_candidates = 1;
    o.budget_s = 600;
    o.progress = count_progress;
    spk_tune_report r;
    SPK_ASSERT_OK(ctx, spk_tune(ctx, &o, &r));
    cr_assert_eq(r.n_shapes, 2);
    for (size_t i = 0; i < 2; i++) {
        cr_assert(r.shapes[i].shape.m == shapes[i].m && r.shapes[i].shape.trans_a == shapes[i].trans_a);
        cr_assert(r.shapes[i].default_gflops > 0 && r.shapes[i].tuned_gflops > 0);
    }
    /* Two baselines and one candidate per kernel (a refused candidate counts as failed). */
    cr_assert_eq(r.candidates_timed, 4, "%zu timed", r.candidates_timed);
    cr_assert(r.candidates_failed <= 2);
    cr_assert(progress_lines >= 5, "%d progress lines", progress_lines);
    cr_assert(r.defaults.n >= 27, "CLBlast's own parameters: %zu", r.defaults.n);
    cr_assert(r.stored && access(r.path, R_OK) == 0, "stored %d at %s", r.stored, r.path);
    spk_context_free(ctx);

    ctx = context_in(sel[0], dir, SPK_TUNING_LOAD);
    int loaded = 0;
    spk_context_tuning(ctx, &loaded);
    cr_assert(loaded, "%s", spk_context_tuning(ctx, NULL));
    spk_tune_params got;
    SPK_ASSERT_OK(ctx, spk_context_tuned_params(ctx, &got));
    assert_params_equal(&got, &r.tuned);
    check_gemm(ctx, 0, 1, 96, 40, 72, 40);
    spk_context_free(ctx);
    remove_dir(dir);
}

Test(tune, invalid_options)
{
    char sel[SPK_TEST_MAX_DEVICES][16];
    devices(sel);
    spk_context *ctx = context_in(sel[0], "off", SPK_TUNING_OFF);
    spk_tune_report r;
    spk_tune_options o = spk_tune_options_default();
    SPK_ASSERT_STATUS(ctx, spk_tune(ctx, &o, &r), SPK_ERR_UNSUPPORTED, "disk cache is off");
    o.dry_run = 1;
    static const spk_gemm_shape bad[] = {{0, 0, 0, 4, 4}, {2, 0, 4, 4, 4}};
    o.shapes = bad;
    o.n_shapes = 0;
    SPK_ASSERT_STATUS(ctx, spk_tune(ctx, &o, &r), SPK_ERR_INVALID_ARGUMENT, "0 shapes");
    o.n_shapes = 1;
    SPK_ASSERT_STATUS(ctx, spk_tune(ctx, &o, &r), SPK_ERR_INVALID_ARGUMENT, "m, n, k must be in");
    o.shapes = bad + 1;
    SPK_ASSERT_STATUS(ctx, spk_tune(ctx, &o, &r), SPK_ERR_INVALID_ARGUMENT, "trans_a and trans_b");
    o.shapes = NULL;
    o.budget_s = -1;
    SPK_ASSERT_STATUS(ctx, spk_tune(ctx, &o, &r), SPK_ERR_INVALID_ARGUMENT, "budget_s");
    SPK_ASSERT_STATUS(ctx, spk_tune(ctx, NULL, NULL), SPK_ERR_NULL_POINTER, "NULL");
    size_t count = 0;
    cr_assert(spk_tune_default_shapes(&count) != NULL && count >= 4);
    spk_context_free(ctx);
}
