/* Core: status codes, version, device listing and selection, contexts,
 * tensors, the program cache (memory + disk, corruption), kernel build
 * failures, allocation failure injection and the log callback. */
#include "harness.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ref/ref.h"

#ifndef SPK_TEST_KERNEL_DIR
#error "tests/meson.build must define SPK_TEST_KERNEL_DIR (the source kernels/ directory)"
#endif

/* ---------------------------------------------------------------- helpers */

static const char *dev_name(const spk_context *ctx)
{
    static spk_device_info info;
    if (spk_context_device(ctx, &info) != SPK_OK)
        return "?";
    return info.device_name;
}

static void make_tmpdir(char *out, size_t cap, const char *tag)
{
    snprintf(out, cap, "/tmp/spikecl-%s-XXXXXX", tag);
    cr_assert(mkdtemp(out) != NULL, "mkdtemp(%s) failed: %s", out, strerror(errno));
}

/* Paths of the regular files in dir whose name ends with suffix (or all). */
static size_t list_files(const char *dir, const char *suffix, char paths[][512], size_t cap)
{
    DIR *d = opendir(dir);
    cr_assert(d != NULL, "opendir(%s): %s", dir, strerror(errno));
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        size_t ln = strlen(e->d_name), ls = suffix ? strlen(suffix) : 0;
        if (suffix && (ln < ls || strcmp(e->d_name + ln - ls, suffix) != 0))
            continue;
        if (n < cap)
            snprintf(paths[n], 512, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

/* Remove a flat directory (the tests never make subdirectories). */
static void remove_tree(const char *dir)
{
    char paths[64][512];
    size_t n = list_files(dir, NULL, paths, 64);
    for (size_t i = 0; i < n && i < 64; i++)
        unlink(paths[i]);
    rmdir(dir);
}

static long file_size(const char *path)
{
    struct stat sb;
    cr_assert(stat(path, &sb) == 0, "stat(%s): %s", path, strerror(errno));
    return (long)sb.st_size;
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    cr_assert(in != NULL, "cannot open %s: %s", from, strerror(errno));
    FILE *out = fopen(to, "wb");
    cr_assert(out != NULL, "cannot create %s: %s", to, strerror(errno));
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        cr_assert(fwrite(buf, 1, n, out) == n, "short write to %s", to);
    fclose(in);
    cr_assert(fclose(out) == 0, "closing %s", to);
}

/* The value of environment variable name (a copy), or NULL where unset; env_restore puts it back. */
static char *env_save(const char *name)
{
    const char *v = getenv(name);
    return v ? strdup(v) : NULL;
}

/* Set name to saved, or unset it where saved is NULL; frees saved. */
static void env_restore(const char *name, char *saved)
{
    if (saved)
        setenv(name, saved, 1);
    else
        unsetenv(name);
    free(saved);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f != NULL, "cannot create %s: %s", path, strerror(errno));
    fputs(text, f);
    cr_assert(fclose(f) == 0, "closing %s", path);
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t nl = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < nl && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == nl)
            return 1;
    }
    return nl == 0;
}

/* A context with explicit options on device `sel`, asserting success. It
 * writes program binaries wherever the disk cache is on, so the disk cache
 * tests below cover PoCL as well (where AUTO leaves programs to PoCL's own
 * cache: cache.binaries_policy). */
static spk_context *context_with(const char *sel, const char *cache_dir, const char *kernel_dir, uint64_t seed)
{
    spk_context_options o = spk_context_options_default();
    o.device = sel;
    o.cache_dir = cache_dir;
    o.kernel_dir = kernel_dir;
    o.seed = seed;
    o.program_binaries = SPK_BINARIES_WRITE;
    spk_context *ctx = NULL;
    spk_status st = spk_context_create(&o, &ctx);
    cr_assert(st == SPK_OK, "context on %s (cache %s, kernels %s) returned %s: %s", sel,
              cache_dir ? cache_dir : "default", kernel_dir ? kernel_dir : "embedded", spk_status_name(st),
              spk_context_last_error(NULL));
    cr_assert(ctx != NULL, "spk_context_create returned SPK_OK but no context");
    return ctx;
}

static const char *selector_of(const spk_context *ctx, char *buf, size_t cap)
{
    spk_device_info info;
    cr_assert(spk_context_device(ctx, &info) == SPK_OK);
    snprintf(buf, cap, "%d:%d", info.platform_index, info.device_index);
    return buf;
}

/* Poisson-encode on ctx and compare with the C reference, bit for bit. */
static void check_poisson_matches_reference(spk_context *ctx, const char *what)
{
    enum { T = 9, F = 37 };
    float in[F], got[T * F], want[T * F];
    spk_test_rng rng = {1234};
    spk_test_fill_uniform(&rng, in, F, -0.2f, 1.2f);
    size_t sin[1] = {F}, ssp[2] = {T, F};
    spk_tensor *ti = NULL, *ts = NULL;
    SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 1, sin, &ti));
    SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, ssp, &ts));
    SPK_ASSERT_OK(ctx, spk_tensor_upload(ti, in, sizeof in));
    SPK_ASSERT_OK(ctx, spk_encode_poisson(ctx, ti, 0.8f, 5, ts));
    SPK_ASSERT_OK(ctx, spk_tensor_download(ts, got, sizeof got));
    spk_ref_encode_poisson(spk_context_seed(ctx), in, F, T, 0.8f, 5, want);
    for (size_t i = 0; i < (size_t)T * F; i++)
        cr_assert(got[i] == want[i], "%s on %s: spike[t=%zu, i=%zu] = %g, reference %g", what, dev_name(ctx),
                  i / F, i % F, (double)got[i], (double)want[i]);
    spk_tensor_free(ti);
    spk_tensor_free(ts);
}

/* ------------------------------------------------------------ status, version */

Test(status, names_and_strings)
{
    struct {
        spk_status s;
        int value;
        const char *name, *msg;
    } all[] = {
#define ROW_(name, value, msg) {name, value, #name, msg},
        SPK_STATUS_LIST(ROW_)
#undef ROW_
    };
    size_t n = sizeof all / sizeof all[0];
    cr_assert(n >= 16, "SPK_STATUS_LIST has %zu entries, expected at least 16", n);
    cr_assert(SPK_OK == 0, "SPK_OK is %d, not 0", (int)SPK_OK);
    for (size_t i = 0; i < n; i++) {
        cr_assert((int)all[i].s == all[i].value, "%s has value %d, the list says %d", all[i].name, (int)all[i].s,
                  all[i].value);
        cr_assert(i == 0 || all[i].value < 0, "%s = %d: errors must be negative", all[i].name, all[i].value);
        cr_assert(strcmp(spk_status_name(all[i].s), all[i].name) == 0, "spk_status_name(%d) = '%s', expected '%s'",
                  all[i].value, spk_status_name(all[i].s), all[i].name);
        cr_assert(strcmp(spk_status_str(all[i].s), all[i].msg) == 0, "spk_status_str(%s) = '%s', expected '%s'",
                  all[i].name, spk_status_str(all[i].s), all[i].msg);
        cr_assert(strlen(all[i].msg) > 0, "%s has an empty message", all[i].name);
        for (size_t j = 0; j < i; j++) {
            cr_assert(all[i].value != all[j].value, "%s and %s share the value %d", all[i].name, all[j].name,
                      all[i].value);
            cr_assert(strcmp(all[i].msg, all[j].msg) != 0, "%s and %s share the message '%s'", all[i].name,
                      all[j].name, all[i].msg);
        }
    }
    /* Appended values are consecutive: -1, -2, ... */
    for (size_t i = 1; i < n; i++)
        cr_assert(all[i].value == -(int)i, "%s = %d, expected %d (values are only appended)", all[i].name,
                  all[i].value, -(int)i);
    const int unknown[] = {1, 42, -1000, -(int)n, 0x7fffffff};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        spk_status s = (spk_status)unknown[i];
        cr_assert(strcmp(spk_status_name(s), "SPK_UNKNOWN_STATUS") == 0, "spk_status_name(%d) = '%s'", unknown[i],
                  spk_status_name(s));
        cr_assert(spk_status_str(s) != NULL && strcmp(spk_status_str(s), "unknown status") == 0,
                  "spk_status_str(%d) = '%s', expected 'unknown status'", unknown[i], spk_status_str(s));
    }
}

Test(version, string)
{
    const char *v = spk_version_string();
    cr_assert(v != NULL, "spk_version_string() returned NULL");
    cr_assert(strcmp(v, SPK_VERSION_STRING) == 0, "library version '%s' differs from the header's '%s'", v,
              SPK_VERSION_STRING);
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", SPK_VERSION_MAJOR, SPK_VERSION_MINOR, SPK_VERSION_PATCH);
    cr_assert(strcmp(SPK_VERSION_STRING, want) == 0, "SPK_VERSION_STRING '%s' differs from MAJOR.MINOR.PATCH '%s'",
              SPK_VERSION_STRING, want);
}

/* ------------------------------------------------------------ devices */

Test(devices, list)
{
    size_t count = 0;
    cr_assert(spk_devices_list(NULL, 0, &count) == SPK_OK, "counting devices: %s", spk_context_last_error(NULL));
    cr_assert(count > 0, "spk_devices_list found no OpenCL device (is pocl-opencl-icd installed?)");
    cr_assert(count <= 64, "implausible device count %zu", count);

    spk_device_info infos[64];
    size_t count2 = 0;
    memset(infos, 0xCC, sizeof infos);
    cr_assert(spk_devices_list(infos, 64, &count2) == SPK_OK, "listing devices: %s", spk_context_last_error(NULL));
    cr_assert(count2 == count, "device count changed from %zu to %zu", count, count2);
    int defaults = 0;
    for (size_t i = 0; i < count; i++) {
        const spk_device_info *d = &infos[i];
        cr_assert(d->is_default == 0 || d->is_default == 1, "device %zu: is_default = %d", i, d->is_default);
        defaults += d->is_default;
        cr_assert(memchr(d->device_name, '\0', sizeof d->device_name) != NULL, "device %zu: name not terminated", i);
        cr_assert(strlen(d->device_name) > 0, "device %zu has an empty name", i);
        cr_assert(strlen(d->platform_name) > 0, "device %zu has an empty platform name", i);
        cr_assert(d->platform_index >= 0 && d->device_index >= 0, "device %zu: indices %d:%d", i, d->platform_index,
                  d->device_index);
        cr_assert(d->max_alloc_bytes > 0 && d->global_mem_bytes >= d->max_alloc_bytes,
                  "device %zu (%s): max_alloc %llu, global_mem %llu", i, d->device_name,
                  (unsigned long long)d->max_alloc_bytes, (unsigned long long)d->global_mem_bytes);
        cr_assert(d->compute_units > 0, "device %zu (%s): 0 compute units", i, d->device_name);
        cr_assert(d->max_work_group_size > 0, "device %zu (%s): max work-group size 0", i, d->device_name);
        for (size_t j = 0; j < i; j++)
            cr_assert(infos[j].platform_index != d->platform_index || infos[j].device_index != d->device_index,
                      "devices %zu and %zu share index %d:%d", j, i, d->platform_index, d->device_index);
    }
    cr_assert(defaults == 1, "%d devices are marked default, expected exactly 1", defaults);

    /* A short array: count still reports the total, only cap entries are written. */
    spk_device_info one[2];
    memset(one, 0xCC, sizeof one);
    size_t count3 = 0;
    cr_assert(spk_devices_list(one, 1, &count3) == SPK_OK);
    cr_assert(count3 == count, "with cap 1 the count is %zu, expected %zu", count3, count);
    cr_assert(strcmp(one[0].device_name, infos[0].device_name) == 0, "first entry differs with cap 1: '%s' vs '%s'",
              one[0].device_name, infos[0].device_name);
    unsigned char cc[sizeof one[1]];
    memset(cc, 0xCC, sizeof cc);
    cr_assert(memcmp(&one[1], cc, sizeof cc) == 0, "spk_devices_list wrote past cap");

    cr_assert(spk_devices_list(infos, 64, NULL) == SPK_ERR_NULL_POINTER, "NULL count must give SPK_ERR_NULL_POINTER");
    cr_assert(strstr(spk_context_last_error(NULL), "count") != NULL, "detail '%s' does not mention count",
              spk_context_last_error(NULL));
    cr_assert(spk_devices_list(NULL, 4, &count3) == SPK_ERR_NULL_POINTER,
              "NULL out with cap 4 must give SPK_ERR_NULL_POINTER");
}

/* ------------------------------------------------------------ contexts */

Test(context, selectors)
{
    unsetenv("SPIKECL_DEVICE");
    spk_device_info infos[64];
    size_t n = 0;
    cr_assert(spk_devices_list(infos, 64, &n) == SPK_OK && n > 0);
    if (n > 64)
        n = 64;
    spk_context *ctx = NULL;
    spk_device_info got;
    size_t idef = 0;
    for (size_t i = 0; i < n; i++)
        if (infos[i].is_default)
            idef = i;

    /* "p:d" picks exactly that device, for every device. */
    for (size_t i = 0; i < n; i++) {
        char sel[32];
        snprintf(sel, sizeof sel, "%d:%d", infos[i].platform_index, infos[i].device_index);
        ctx = context_with(sel, "off", NULL, 0);
        cr_assert(spk_context_device(ctx, &got) == SPK_OK);
        cr_assert(got.platform_index == infos[i].platform_index && got.device_index == infos[i].device_index,
                  "selector %s chose %d:%d", sel, got.platform_index, got.device_index);
        cr_assert(strcmp(got.device_name, infos[i].device_name) == 0, "selector %s chose '%s', listed '%s'", sel,
                  got.device_name, infos[i].device_name);
        spk_context_free(ctx);
    }
    /* "0:0" always exists when there is a device. */
    ctx = context_with("0:0", "off", NULL, 0);
    cr_assert(spk_context_device(ctx, &got) == SPK_OK);
    cr_assert(got.platform_index == 0 && got.device_index == 0, "'0:0' chose %d:%d", got.platform_index,
              got.device_index);
    spk_context_free(ctx);

    /* No selector, empty selector and NULL options: the default device. */
    const char *defaults[] = {NULL, ""};
    for (size_t k = 0; k < 2; k++) {
        ctx = context_with(defaults[k], "off", NULL, 0);
        cr_assert(spk_context_device(ctx, &got) == SPK_OK);
        cr_assert(got.platform_index == infos[idef].platform_index && got.device_index == infos[idef].device_index,
                  "selector %s chose %d:%d, the default is %d:%d", defaults[k] ? "\"\"" : "NULL", got.platform_index,
                  got.device_index, infos[idef].platform_index, infos[idef].device_index);
        spk_context_free(ctx);
    }
    ctx = NULL;
    cr_assert(spk_context_create(NULL, &ctx) == SPK_OK, "NULL options: %s", spk_context_last_error(NULL));
    cr_assert(spk_context_device(ctx, &got) == SPK_OK);
    cr_assert(got.is_default, "NULL options chose %s, not the default device", got.device_name);
    spk_context_free(ctx);

    /* "cpu" / "gpu": the first device of that type, or SPK_ERR_NO_DEVICE. */
    const char *kinds[] = {"cpu", "gpu", "CPU"};
    for (size_t k = 0; k < 3; k++) {
        int want_gpu = kinds[k][0] == 'g';
        size_t first = n;
        for (size_t i = 0; i < n && first == n; i++)
            if (want_gpu ? infos[i].is_gpu : infos[i].is_cpu)
                first = i;
        spk_context_options o = spk_context_options_default();
        o.device = kinds[k];
        o.cache_dir = "off";
        ctx = NULL;
        spk_status st = spk_context_create(&o, &ctx);
        if (first == n) {
            cr_assert(st == SPK_ERR_NO_DEVICE, "selector '%s' with no such device returned %s", kinds[k],
                      spk_status_name(st));
            cr_assert(ctx == NULL, "a failed spk_context_create left *out set");
            cr_assert(strstr(spk_context_last_error(NULL), kinds[k]) != NULL, "detail '%s' does not name '%s'",
                      spk_context_last_error(NULL), kinds[k]);
        } else {
            cr_assert(st == SPK_OK, "selector '%s' returned %s: %s", kinds[k], spk_status_name(st),
                      spk_context_last_error(NULL));
            cr_assert(spk_context_device(ctx, &got) == SPK_OK);
            cr_assert(got.platform_index == infos[first].platform_index &&
                          got.device_index == infos[first].device_index,
                      "selector '%s' chose %d:%d (%s), expected %d:%d (%s)", kinds[k], got.platform_index,
                      got.device_index, got.device_name, infos[first].platform_index, infos[first].device_index,
                      infos[first].device_name);
            spk_context_free(ctx);
        }
    }

    /* A case-changed substring of each device's name selects a device with that name. */
    for (size_t i = 0; i < n; i++) {
        char sub[16] = {0};
        size_t len = strlen(infos[i].device_name);
        size_t start = len > 8 ? 2 : 0, take = len - start < 6 ? len - start : 6;
        for (size_t j = 0; j < take; j++)
            sub[j] = (char)toupper((unsigned char)infos[i].device_name[start + j]);
        ctx = context_with(sub, "off", NULL, 0);
        cr_assert(spk_context_device(ctx, &got) == SPK_OK);
        cr_assert(contains_nocase(got.device_name, sub) || contains_nocase(got.platform_name, sub),
                  "name selector '%s' chose '%s' (%s)", sub, got.device_name, got.platform_name);
        spk_context_free(ctx);
    }

    /* Failures: the detail names the selector; *out is NULL. */
    struct {
        const char *sel;
        spk_status want;
    } bad[] = {
        {"no-such-device-xyz", SPK_ERR_NO_DEVICE}, {"9:9", SPK_ERR_NO_DEVICE}, {"0:63", SPK_ERR_NO_DEVICE},
        {"3x", SPK_ERR_INVALID_ARGUMENT},          {"-1", SPK_ERR_INVALID_ARGUMENT},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        spk_context_options o = spk_context_options_default();
        o.device = bad[k].sel;
        ctx = (spk_context *)&o; /* must be overwritten with NULL */
        spk_status st = spk_context_create(&o, &ctx);
        cr_assert(st == bad[k].want, "selector '%s' returned %s, expected %s (%s)", bad[k].sel, spk_status_name(st),
                  spk_status_name(bad[k].want), spk_context_last_error(NULL));
        cr_assert(ctx == NULL, "selector '%s': *out not cleared on failure", bad[k].sel);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", bad[k].sel);
        cr_assert(strstr(spk_context_last_error(NULL), quoted) != NULL, "selector '%s': detail '%s' does not name it",
                  bad[k].sel, spk_context_last_error(NULL));
        cr_assert(strstr(spk_context_last_error(NULL), spk_status_name(bad[k].want)) != NULL,
                  "selector '%s': detail '%s' does not start with the status name", bad[k].sel,
                  spk_context_last_error(NULL));
    }
    /* A successful create clears the context-less detail. */
    ctx = context_with("0:0", "off", NULL, 0);
    cr_assert(strcmp(spk_context_last_error(NULL), "") == 0, "detail '%s' survived a successful create",
              spk_context_last_error(NULL));
    cr_assert(strcmp(spk_context_last_error(ctx), "") == 0, "fresh context has detail '%s'",
              spk_context_last_error(ctx));
    spk_context_free(ctx);

    cr_assert(spk_context_create(NULL, NULL) == SPK_ERR_NULL_POINTER, "NULL out must give SPK_ERR_NULL_POINTER");
}

Test(context, env_device)
{
    spk_device_info infos[64];
    size_t n = 0;
    cr_assert(spk_devices_list(infos, 64, &n) == SPK_OK && n > 0);
    if (n > 64)
        n = 64;
    spk_device_info got;
    for (size_t i = 0; i < n; i++) {
        char sel[32];
        snprintf(sel, sizeof sel, "%d:%d", infos[i].platform_index, infos[i].device_index);
        cr_assert(setenv("SPIKECL_DEVICE", sel, 1) == 0);
        spk_context *ctx = context_with(NULL, "off", NULL, 0);
        cr_assert(spk_context_device(ctx, &got) == SPK_OK);
        cr_assert(got.platform_index == infos[i].platform_index && got.device_index == infos[i].device_index,
                  "SPIKECL_DEVICE=%s chose %d:%d", sel, got.platform_index, got.device_index);
        spk_context_free(ctx);
    }
    /* The environment is read when options.device is NULL... */
    cr_assert(setenv("SPIKECL_DEVICE", "no-such-device-from-env", 1) == 0);
    spk_context *ctx = NULL;
    spk_status st = spk_context_create(NULL, &ctx);
    cr_assert(st == SPK_ERR_NO_DEVICE, "SPIKECL_DEVICE=no-such-device-from-env returned %s", spk_status_name(st));
    cr_assert(strstr(spk_context_last_error(NULL), "no-such-device-from-env") != NULL,
              "detail '%s' does not name the selector from SPIKECL_DEVICE", spk_context_last_error(NULL));
    cr_assert(setenv("SPIKECL_DEVICE", "7x", 1) == 0);
    st = spk_context_create(NULL, &ctx);
    cr_assert(st == SPK_ERR_INVALID_ARGUMENT, "SPIKECL_DEVICE=7x returned %s", spk_status_name(st));
    /* ...and an explicit option overrides it. */
    ctx = context_with("0:0", "off", NULL, 0);
    cr_assert(spk_context_device(ctx, &got) == SPK_OK);
    cr_assert(got.platform_index == 0 && got.device_index == 0, "option '0:0' under a bad SPIKECL_DEVICE chose %d:%d",
              got.platform_index, got.device_index);
    spk_context_free(ctx);
    unsetenv("SPIKECL_DEVICE");
}

Test(context, accessors_and_null)
{
    spk_context_free(NULL);
    spk_tensor_free(NULL);
    cr_assert(spk_context_seed(NULL) == 0, "seed of NULL context");
    cr_assert(spk_context_cache_dir(NULL) == NULL, "cache dir of NULL context");
    cr_assert(spk_context_last_error(NULL) != NULL, "spk_context_last_error(NULL) returned NULL");
    spk_device_info info;
    spk_cache_stats stats;
    cr_assert(spk_context_device(NULL, &info) == SPK_ERR_NULL_POINTER);
    cr_assert(spk_context_cache_stats(NULL, &stats) == SPK_ERR_NULL_POINTER);
    cr_assert(spk_context_finish(NULL) == SPK_ERR_NULL_POINTER);
    cr_assert(spk_context_warmup(NULL, NULL) == SPK_ERR_NULL_POINTER);
    cr_assert(spk_context_cache_save(NULL) == SPK_ERR_NULL_POINTER);
    cr_assert(strstr(spk_context_last_error(NULL), "ctx") != NULL, "detail '%s' does not mention ctx",
              spk_context_last_error(NULL));
    cr_assert(spk_tensor_ndim(NULL) == 0 && spk_tensor_numel(NULL) == 0 && spk_tensor_bytes(NULL) == 0 &&
                  spk_tensor_dim(NULL, 0) == 0 && spk_tensor_context(NULL) == NULL,
              "accessors of a NULL tensor must return 0 / NULL");
    cr_assert(spk_dtype_size(SPK_F32) == 4 && spk_dtype_size(SPK_U8) == 1 && spk_dtype_size((spk_dtype)7) == 0,
              "spk_dtype_size: f32 %zu, u8 %zu, invalid %zu", spk_dtype_size(SPK_F32), spk_dtype_size(SPK_U8),
              spk_dtype_size((spk_dtype)7));

    SPK_FOR_EACH_DEVICE(ctx, 0x1234567890abcdefull)
    {
        cr_assert(spk_context_seed(ctx) == 0x1234567890abcdefull, "seed %llx on %s",
                  (unsigned long long)spk_context_seed(ctx), dev_name(ctx));
        cr_assert(spk_context_device(ctx, NULL) == SPK_ERR_NULL_POINTER);
        cr_assert(strstr(spk_context_last_error(ctx), "SPK_ERR_NULL_POINTER") != NULL,
                  "detail on the context after a NULL out: '%s'", spk_context_last_error(ctx));
        cr_assert(spk_context_cache_stats(ctx, NULL) == SPK_ERR_NULL_POINTER);
        SPK_ASSERT_OK(ctx, spk_context_device(ctx, &info));
        cr_assert(strlen(info.device_name) > 0, "empty device name");
        SPK_ASSERT_OK(ctx, spk_context_finish(ctx));
        SPK_ASSERT_OK(ctx, spk_context_cache_stats(ctx, &stats));
        cr_assert(stats.compiles == 0 && stats.disk_hits == 0 && stats.memory_hits == 0 && stats.disk_rejects == 0 &&
                      stats.disk_writes == 0 && stats.disk_skips == 0,
                  "fresh context has non-zero cache counters");
    }
}

/* ------------------------------------------------------------ tensors */

Test(tensor, round_trip)
{
    SPK_FOR_EACH_DEVICE(ctx, 0)
    {
        const size_t shapes[][4] = {{1, 0, 0, 0}, {7, 0, 0, 0}, {3, 5, 0, 0}, {2, 3, 4, 5}};
        const int ndims[] = {1, 1, 2, 4};
        for (size_t s = 0; s < 4; s++) {
            size_t numel = 1;
            for (int i = 0; i < ndims[s]; i++)
                numel *= shapes[s][i];
            for (int dt = 0; dt < 2; dt++) {
                spk_dtype dtype = dt ? SPK_U8 : SPK_F32;
                spk_tensor *t = NULL;
                SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, dtype, ndims[s], shapes[s], &t));
                cr_assert(spk_tensor_dtype(t) == dtype && spk_tensor_ndim(t) == ndims[s] &&
                              spk_tensor_numel(t) == numel && spk_tensor_bytes(t) == numel * spk_dtype_size(dtype) &&
                              spk_tensor_context(t) == ctx,
                          "accessors of shape %zu (dtype %d): ndim %d numel %zu bytes %zu", s, dt, spk_tensor_ndim(t),
                          spk_tensor_numel(t), spk_tensor_bytes(t));
                for (int i = 0; i < ndims[s]; i++)
                    cr_assert(spk_tensor_dim(t, i) == shapes[s][i], "dim %d is %zu, expected %zu", i,
                              spk_tensor_dim(t, i), shapes[s][i]);
                cr_assert(spk_tensor_dim(t, ndims[s]) == 0 && spk_tensor_dim(t, -1) == 0,
                          "out-of-range dims must be 0");
                if (dtype == SPK_F32) {
                    float *in = spk_test_alloc(numel), *out = spk_test_alloc(numel);
                    for (size_t i = 0; i < numel; i++)
                        in[i] = (float)i * 0.5f - 3.25f;
                    in[0] = -0.0f;
                    if (numel > 2) {
                        in[1] = NAN;
                        in[2] = 1e-38f;
                    }
                    SPK_ASSERT_OK(ctx, spk_tensor_upload(t, in, numel * 4));
                    SPK_ASSERT_OK(ctx, spk_tensor_download(t, out, numel * 4));
                    cr_assert(memcmp(in, out, numel * 4) == 0, "f32 round trip of %zu elements changed the bits",
                              numel);
                    free(in);
                    free(out);
                } else {
                    unsigned char *in = malloc(numel), *out = calloc(numel, 1);
                    cr_assert(in && out);
                    for (size_t i = 0; i < numel; i++)
                        in[i] = (unsigned char)(i * 37 + 11);
                    SPK_ASSERT_OK(ctx, spk_tensor_upload(t, in, numel));
                    SPK_ASSERT_OK(ctx, spk_tensor_download(t, out, numel));
                    for (size_t i = 0; i < numel; i++)
                        cr_assert(in[i] == out[i], "u8 round trip: element %zu is %u, uploaded %u", i, out[i], in[i]);
                    free(in);
                    free(out);
                }
                spk_tensor_free(t);
            }
        }
    }
}

Test(tensor, fill_and_copy)
{
    SPK_FOR_EACH_DEVICE(ctx, 0)
    {
        enum { N = 103 };
        size_t shape[1] = {N};
        spk_tensor *a = NULL, *b = NULL, *u = NULL, *u2 = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 1, shape, &a));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 1, shape, &b));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_U8, 1, shape, &u));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_U8, 1, shape, &u2));
        float host[N];
        unsigned char hu[N];

        SPK_ASSERT_OK(ctx, spk_tensor_fill_f32(a, -2.75f));
        SPK_ASSERT_OK(ctx, spk_tensor_download(a, host, sizeof host));
        for (size_t i = 0; i < N; i++)
            cr_assert(host[i] == -2.75f, "fill_f32: element %zu is %g, expected -2.75", i, (double)host[i]);
        SPK_ASSERT_OK(ctx, spk_tensor_fill_u8(u, 0xA7));
        SPK_ASSERT_OK(ctx, spk_tensor_download(u, hu, sizeof hu));
        for (size_t i = 0; i < N; i++)
            cr_assert(hu[i] == 0xA7, "fill_u8: element %zu is %u, expected 167", i, hu[i]);

        /* Fill through a view touches only the view. */
        spk_tensor *v = NULL;
        size_t vshape[2] = {4, 5};
        SPK_ASSERT_OK(ctx, spk_tensor_view(a, 11, 2, vshape, &v));
        SPK_ASSERT_OK(ctx, spk_tensor_fill_f32(v, 9.5f));
        SPK_ASSERT_OK(ctx, spk_tensor_download(a, host, sizeof host));
        for (size_t i = 0; i < N; i++) {
            float want = i >= 11 && i < 31 ? 9.5f : -2.75f;
            cr_assert(host[i] == want, "fill through view [11, 31): base[%zu] = %g, expected %g", i, (double)host[i],
                      (double)want);
        }
        spk_tensor *uv = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_view(u, 100, 1, (size_t[]){3}, &uv));
        SPK_ASSERT_OK(ctx, spk_tensor_fill_u8(uv, 1));
        SPK_ASSERT_OK(ctx, spk_tensor_download(u, hu, sizeof hu));
        for (size_t i = 0; i < N; i++)
            cr_assert(hu[i] == (i >= 100 ? 1 : 0xA7), "fill_u8 through view [100, 103): base[%zu] = %u", i, hu[i]);

        /* Whole-tensor copy. */
        for (size_t i = 0; i < N; i++)
            host[i] = (float)i * 1.5f;
        SPK_ASSERT_OK(ctx, spk_tensor_upload(a, host, sizeof host));
        SPK_ASSERT_OK(ctx, spk_tensor_fill_f32(b, 0.0f));
        SPK_ASSERT_OK(ctx, spk_tensor_copy(b, a));
        float got[N];
        SPK_ASSERT_OK(ctx, spk_tensor_download(b, got, sizeof got));
        for (size_t i = 0; i < N; i++)
            cr_assert(got[i] == host[i], "copy: element %zu is %g, expected %g", i, (double)got[i], (double)host[i]);
        SPK_ASSERT_OK(ctx, spk_tensor_copy(u2, u));
        unsigned char gu[N];
        SPK_ASSERT_OK(ctx, spk_tensor_download(u2, gu, sizeof gu));
        cr_assert(memcmp(gu, hu, N) == 0, "u8 copy differs from its source");

        /* Copy between views: element count matters, shapes need not match. */
        spk_tensor *src = NULL, *dst = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_view(a, 7, 2, (size_t[]){2, 6}, &src));
        SPK_ASSERT_OK(ctx, spk_tensor_view(b, 50, 1, (size_t[]){12}, &dst));
        SPK_ASSERT_OK(ctx, spk_tensor_fill_f32(b, -1.0f));
        SPK_ASSERT_OK(ctx, spk_tensor_copy(dst, src));
        SPK_ASSERT_OK(ctx, spk_tensor_download(b, got, sizeof got));
        for (size_t i = 0; i < N; i++) {
            float want = i >= 50 && i < 62 ? host[i - 50 + 7] : -1.0f;
            cr_assert(got[i] == want, "view copy a[7:19] -> b[50:62]: b[%zu] = %g, expected %g", i, (double)got[i],
                      (double)want);
        }

        /* Copy errors. */
        spk_tensor *short_view = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_view(b, 0, 1, (size_t[]){11}, &short_view));
        SPK_ASSERT_STATUS(ctx, spk_tensor_copy(short_view, src), SPK_ERR_SHAPE, "12 elements into 11");
        SPK_ASSERT_STATUS(ctx, spk_tensor_copy(u, a), SPK_ERR_DTYPE, "dtypes differ");
        SPK_ASSERT_STATUS(ctx, spk_tensor_copy(NULL, a), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(ctx, spk_tensor_copy(a, NULL), SPK_ERR_NULL_POINTER, "NULL");
        char sel[16];
        spk_context *other = context_with(selector_of(ctx, sel, sizeof sel), "off", NULL, 0);
        spk_tensor *foreign = NULL;
        SPK_ASSERT_OK(other, spk_tensor_create(other, SPK_F32, 1, shape, &foreign));
        SPK_ASSERT_STATUS(ctx, spk_tensor_copy(a, foreign), SPK_ERR_CONTEXT, "different contexts");
        spk_tensor_free(foreign);
        spk_context_free(other);

        spk_tensor_free(short_view);
        spk_tensor_free(src);
        spk_tensor_free(dst);
        spk_tensor_free(uv);
        spk_tensor_free(v);
        spk_tensor_free(a);
        spk_tensor_free(b);
        spk_tensor_free(u);
        spk_tensor_free(u2);
    }
}

Test(tensor, views)
{
    SPK_FOR_EACH_DEVICE(ctx, 0)
    {
        enum { R = 6, C = 7, N = R * C };
        spk_tensor *base = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[]){R, C}, &base));
        float host[N], got[N];
        for (size_t i = 0; i < N; i++)
            host[i] = (float)i;
        SPK_ASSERT_OK(ctx, spk_tensor_upload(base, host, sizeof host));

        /* A [3, 4] view at offset 9 reads base[9 .. 21). */
        spk_tensor *v = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_view(base, 9, 2, (size_t[]){3, 4}, &v));
        cr_assert(spk_tensor_ndim(v) == 2 && spk_tensor_dim(v, 0) == 3 && spk_tensor_dim(v, 1) == 4 &&
                      spk_tensor_numel(v) == 12 && spk_tensor_dtype(v) == SPK_F32 && spk_tensor_context(v) == ctx,
                  "view accessors: ndim %d, dims %zu x %zu, numel %zu", spk_tensor_ndim(v), spk_tensor_dim(v, 0),
                  spk_tensor_dim(v, 1), spk_tensor_numel(v));
        float vg[12];
        SPK_ASSERT_OK(ctx, spk_tensor_download(v, vg, sizeof vg));
        for (size_t i = 0; i < 12; i++)
            cr_assert(vg[i] == (float)(9 + i), "view at 9: element %zu is %g, expected %zu", i, (double)vg[i], 9 + i);

        /* Writes through the view land in the base at offset 9. */
        float w[12];
        for (size_t i = 0; i < 12; i++)
            w[i] = -100.0f - (float)i;
        SPK_ASSERT_OK(ctx, spk_tensor_upload(v, w, sizeof w));
        SPK_ASSERT_OK(ctx, spk_tensor_download(base, got, sizeof got));
        for (size_t i = 0; i < N; i++) {
            float want = i >= 9 && i < 21 ? w[i - 9] : host[i];
            cr_assert(got[i] == want, "after writing view [9, 21): base[%zu] = %g, expected %g", i, (double)got[i],
                      (double)want);
        }

        /* A view of a view: offsets add up. */
        spk_tensor *vv = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_view(v, 5, 1, (size_t[]){4}, &vv));
        float w4[4] = {1.5f, 2.5f, 3.5f, 4.5f}, g4[4];
        SPK_ASSERT_OK(ctx, spk_tensor_upload(vv, w4, sizeof w4));
        SPK_ASSERT_OK(ctx, spk_tensor_download(base, got, sizeof got));
        for (size_t i = 14; i < 18; i++)
            cr_assert(got[i] == w4[i - 14], "view(9) of view(5): base[%zu] = %g, expected %g", i, (double)got[i],
                      (double)w4[i - 14]);
        cr_assert(got[13] == w[4] && got[18] == w[9], "view of view wrote outside [14, 18): base[13] = %g, [18] = %g",
                  (double)got[13], (double)got[18]);
        SPK_ASSERT_OK(ctx, spk_tensor_download(vv, g4, sizeof g4));
        cr_assert(memcmp(g4, w4, sizeof w4) == 0, "view of view read back differs");

        /* The view keeps the buffer alive after the base is freed. */
        spk_tensor_free(base);
        base = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_download(v, vg, sizeof vg));
        cr_assert(vg[0] == w[0] && vg[5] == w4[0], "view after freeing the base reads %g, %g", (double)vg[0],
                  (double)vg[5]);
        spk_tensor_free(vv);
        spk_tensor_free(v);

        /* Bounds: the last fitting view works, one more element fails. */
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_U8, 1, (size_t[]){N}, &base));
        spk_tensor *edge = NULL, *bad = (spk_tensor *)ctx;
        SPK_ASSERT_OK(ctx, spk_tensor_view(base, N - 5, 1, (size_t[]){5}, &edge));
        SPK_ASSERT_OK(ctx, spk_tensor_view(base, 0, 3, (size_t[]){2, 3, 7}, &vv));
        spk_tensor_free(vv);
        SPK_ASSERT_STATUS(ctx, spk_tensor_view(base, N - 5, 1, (size_t[]){6}, &bad), SPK_ERR_SHAPE, "do not fit");
        cr_assert(bad == NULL, "failed view left *out set");
        SPK_ASSERT_STATUS(ctx, spk_tensor_view(base, N + 1, 1, (size_t[]){1}, &bad), SPK_ERR_SHAPE, "offset");
        SPK_ASSERT_STATUS(ctx, spk_tensor_view(base, (size_t)-1, 1, (size_t[]){2}, &bad), SPK_ERR_SHAPE, "do not fit");
        SPK_ASSERT_STATUS(ctx, spk_tensor_view(base, 0, 2, (size_t[]){7, 7}, &bad), SPK_ERR_SHAPE, "49 elements");
        SPK_ASSERT_STATUS(ctx, spk_tensor_view(edge, 1, 1, (size_t[]){5}, &bad), SPK_ERR_SHAPE, "do not fit");
        SPK_ASSERT_STATUS(ctx, spk_tensor_view(base, 0, 0, (size_t[]){1}, &bad), SPK_ERR_INVALID_ARGUMENT, "ndim");
        SPK_ASSERT_STATUS(ctx, spk_tensor_view(base, 0, 2, (size_t[]){0, 1}, &bad), SPK_ERR_INVALID_ARGUMENT,
                          "extent 0");
        SPK_ASSERT_STATUS(ctx, spk_tensor_view(base, 0, 1, NULL, &bad), SPK_ERR_NULL_POINTER, "shape");
        SPK_ASSERT_STATUS(ctx, spk_tensor_view(base, 0, 1, (size_t[]){1}, NULL), SPK_ERR_NULL_POINTER, "NULL");
        cr_assert(spk_tensor_view(NULL, 0, 1, (size_t[]){1}, &bad) == SPK_ERR_NULL_POINTER, "NULL base");
        /* The view's dtype is the base's. */
        unsigned char b5[5] = {1, 2, 3, 4, 5}, g5[5];
        SPK_ASSERT_OK(ctx, spk_tensor_upload(edge, b5, 5));
        SPK_ASSERT_OK(ctx, spk_tensor_download(edge, g5, 5));
        cr_assert(spk_tensor_dtype(edge) == SPK_U8 && memcmp(b5, g5, 5) == 0, "u8 view round trip");
        SPK_ASSERT_STATUS(ctx, spk_tensor_upload(edge, b5, 20), SPK_ERR_SHAPE, "20 bytes given");
        spk_tensor_free(edge);
        spk_tensor_free(base);
    }
}

Test(tensor, invalid_arguments)
{
    SPK_FOR_EACH_DEVICE(ctx, 0)
    {
        spk_tensor *t = (spk_tensor *)ctx;
        size_t s1[1] = {4};
        size_t s7[SPK_MAX_DIMS + 1];
        for (int i = 0; i <= SPK_MAX_DIMS; i++)
            s7[i] = 1;
        SPK_ASSERT_STATUS(ctx, spk_tensor_create(ctx, SPK_F32, 0, s1, &t), SPK_ERR_INVALID_ARGUMENT, "ndim 0");
        cr_assert(t == NULL, "failed create left *out set");
        SPK_ASSERT_STATUS(ctx, spk_tensor_create(ctx, SPK_F32, -1, s1, &t), SPK_ERR_INVALID_ARGUMENT, "ndim -1");
        SPK_ASSERT_STATUS(ctx, spk_tensor_create(ctx, SPK_F32, SPK_MAX_DIMS + 1, s7, &t), SPK_ERR_INVALID_ARGUMENT,
                          "ndim 7");
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, SPK_MAX_DIMS, s7, &t));
        cr_assert(spk_tensor_numel(t) == 1 && spk_tensor_ndim(t) == SPK_MAX_DIMS, "6-D [1,1,1,1,1,1] tensor");
        spk_tensor_free(t);
        SPK_ASSERT_STATUS(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[]){2, 0, 3}, &t), SPK_ERR_INVALID_ARGUMENT,
                          "dimension 1 has extent 0");
        SPK_ASSERT_STATUS(ctx, spk_tensor_create(ctx, (spk_dtype)9, 1, s1, &t), SPK_ERR_INVALID_ARGUMENT,
                          "invalid dtype 9");
        SPK_ASSERT_STATUS(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[]){(size_t)1 << 40, (size_t)1 << 40}, &t),
                          SPK_ERR_INVALID_ARGUMENT, "overflow");
        SPK_ASSERT_STATUS(ctx, spk_tensor_create(ctx, SPK_F32, 1, NULL, &t), SPK_ERR_NULL_POINTER, "shape is NULL");
        SPK_ASSERT_STATUS(ctx, spk_tensor_create(ctx, SPK_F32, 1, s1, NULL), SPK_ERR_NULL_POINTER, "NULL");
        cr_assert(spk_tensor_create(NULL, SPK_F32, 1, s1, &t) == SPK_ERR_NULL_POINTER, "NULL ctx");
        cr_assert(strstr(spk_context_last_error(NULL), "ctx") != NULL, "detail '%s' for a NULL ctx",
                  spk_context_last_error(NULL));

        /* Larger than the device's largest allocation: a clear device OOM, before any OpenCL call. */
        spk_device_info info;
        SPK_ASSERT_OK(ctx, spk_context_device(ctx, &info));
        size_t huge_rows = (size_t)(info.max_alloc_bytes / 4 / 1024) + 1;
        SPK_ASSERT_STATUS(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[]){huge_rows, 1024}, &t),
                          SPK_ERR_DEVICE_OUT_OF_MEMORY, "largest allocation");
        cr_assert(strstr(spk_context_last_error(ctx), info.device_name) != NULL, "OOM detail '%s' does not name %s",
                  spk_context_last_error(ctx), info.device_name);
        char bytes[64];
        snprintf(bytes, sizeof bytes, "%zu bytes", huge_rows * 1024 * 4);
        cr_assert(strstr(spk_context_last_error(ctx), bytes) != NULL, "OOM detail '%s' does not say '%s'",
                  spk_context_last_error(ctx), bytes);
        cr_assert(t == NULL, "failed create left *out set");

        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 1, s1, &t));
        float h[4] = {0};
        unsigned char hb[16] = {0};
        SPK_ASSERT_STATUS(ctx, spk_tensor_upload(t, h, 12), SPK_ERR_SHAPE, "12 bytes given, the tensor holds 16");
        SPK_ASSERT_STATUS(ctx, spk_tensor_upload(t, h, 20), SPK_ERR_SHAPE, "20 bytes given");
        SPK_ASSERT_STATUS(ctx, spk_tensor_download(t, h, 4), SPK_ERR_SHAPE, "4 bytes given");
        SPK_ASSERT_STATUS(ctx, spk_tensor_upload(t, NULL, 16), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(ctx, spk_tensor_download(t, NULL, 16), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(ctx, spk_tensor_fill_u8(t, 1), SPK_ERR_DTYPE, "tensor is f32, not u8");
        spk_tensor *u = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_U8, 1, (size_t[]){16}, &u));
        SPK_ASSERT_STATUS(ctx, spk_tensor_fill_f32(u, 1.0f), SPK_ERR_DTYPE, "tensor is u8, not f32");
        SPK_ASSERT_OK(ctx, spk_tensor_upload(u, hb, 16));
        cr_assert(spk_tensor_upload(NULL, h, 16) == SPK_ERR_NULL_POINTER, "upload to NULL");
        cr_assert(spk_tensor_download(NULL, h, 16) == SPK_ERR_NULL_POINTER, "download from NULL");
        cr_assert(spk_tensor_fill_f32(NULL, 0.0f) == SPK_ERR_NULL_POINTER, "fill_f32 of NULL");
        cr_assert(spk_tensor_fill_u8(NULL, 0) == SPK_ERR_NULL_POINTER, "fill_u8 of NULL");
        cr_assert(spk_tensor_copy(NULL, NULL) == SPK_ERR_NULL_POINTER, "copy of NULLs");
        cr_assert(strstr(spk_context_last_error(NULL), "NULL") != NULL, "detail '%s' for NULL handles",
                  spk_context_last_error(NULL));
        spk_tensor_free(u);
        spk_tensor_free(t);
    }
}

/* ------------------------------------------------------------ program cache */

typedef struct log_capture {
    int n[4];
    char last[4][2048];
    int mentions_corrupt;
} log_capture;

static void capture_log(spk_log_level level, const char *message, void *user)
{
    log_capture *c = user;
    cr_assert(level >= SPK_LOG_ERROR && level <= SPK_LOG_DEBUG, "log level %d out of range", (int)level);
    cr_assert(message != NULL, "log message is NULL");
    c->n[level]++;
    snprintf(c->last[level], sizeof c->last[level], "%s", message);
    if (strstr(message, "corrupt"))
        c->mentions_corrupt++;
}

static spk_cache_stats stats_of(spk_context *ctx)
{
    spk_cache_stats s;
    SPK_ASSERT_OK(ctx, spk_context_cache_stats(ctx, &s));
    return s;
}

#define ASSERT_STATS(ctx, what, mh, dh, co, dr)                                                                    \
    do {                                                                                                           \
        spk_cache_stats s_ = stats_of(ctx);                                                                        \
        cr_assert(s_.memory_hits == (mh) && s_.disk_hits == (dh) && s_.compiles == (co) && s_.disk_rejects == (dr), \
                  "%s: cache stats memory %llu disk %llu compiles %llu rejects %llu, expected %llu %llu %llu %llu", \
                  what, (unsigned long long)s_.memory_hits, (unsigned long long)s_.disk_hits,                      \
                  (unsigned long long)s_.compiles, (unsigned long long)s_.disk_rejects, (unsigned long long)(mh),  \
                  (unsigned long long)(dh), (unsigned long long)(co), (unsigned long long)(dr));                   \
    } while (0)

Test(cache, disk_memory_and_corruption)
{
    char sels[SPK_TEST_MAX_DEVICES][16];
    size_t nd = spk_test_devices(sels, SPK_TEST_MAX_DEVICES);
    cr_assert(nd > 0, "no OpenCL device to test");
    for (size_t d = 0; d < nd; d++) {
        char dir[256];
        make_tmpdir(dir, sizeof dir, "cache");

        /* Cold: everything compiled; written to disk only when saved. */
        spk_context *ctx = context_with(sels[d], dir, NULL, 77);
        cr_assert(spk_context_cache_dir(ctx) != NULL && strcmp(spk_context_cache_dir(ctx), dir) == 0,
                  "cache dir is '%s', expected '%s'", spk_context_cache_dir(ctx) ? spk_context_cache_dir(ctx) : "(off)",
                  dir);
        size_t np = 0;
        SPK_ASSERT_OK(ctx, spk_context_warmup(ctx, &np));
        cr_assert(np > 0, "warmup built %zu programs", np);
        ASSERT_STATS(ctx, "cold warmup", 0, 0, np, 0);
        char files[16][512];
        size_t nf = list_files(dir, ".clbin", files, 16);
        cr_assert(nf == 0 && stats_of(ctx).disk_writes == 0,
                  "%zu cache files in %s (%llu written) before spk_context_cache_save", nf, dir,
                  (unsigned long long)stats_of(ctx).disk_writes);
        SPK_ASSERT_OK(ctx, spk_context_cache_save(ctx));
        nf = list_files(dir, ".clbin", files, 16);
        cr_assert(nf == np && stats_of(ctx).disk_writes == np,
                  "%zu cache files in %s (%llu written) after saving %zu programs", nf, dir,
                  (unsigned long long)stats_of(ctx).disk_writes, np);
        cr_assert(list_files(dir, ".tmp", files, 16) == 0, "temporary files left in %s", dir);
        /* Saved programs are not written again. */
        SPK_ASSERT_OK(ctx, spk_context_cache_save(ctx));
        cr_assert(stats_of(ctx).disk_writes == np, "a second save wrote %llu programs in all, expected %zu",
                  (unsigned long long)stats_of(ctx).disk_writes, np);
        /* Second warmup in the same context: memory hits only. */
        SPK_ASSERT_OK(ctx, spk_context_warmup(ctx, NULL));
        ASSERT_STATS(ctx, "second warmup in one context", np, 0, np, 0);
        spk_context_free(ctx);

        /* Warm: a new context loads every program from disk. */
        ctx = context_with(sels[d], dir, NULL, 77);
        SPK_ASSERT_OK(ctx, spk_context_warmup(ctx, NULL));
        ASSERT_STATS(ctx, "warmup from disk", 0, np, 0, 0);
        check_poisson_matches_reference(ctx, "poisson from a disk-cached program");
        spk_context_free(ctx);

        /* Corrupt every file: truncate the first, flip bytes in the others
         * (payload of the second, magic of any further one). */
        nf = list_files(dir, ".clbin", files, 16);
        cr_assert(nf == np && nf <= 16);
        for (size_t i = 0; i < nf; i++) {
            long size = file_size(files[i]);
            cr_assert(size > 64, "cache file %s is only %ld bytes", files[i], size);
            if (i == 0) {
                cr_assert(truncate(files[i], size / 2) == 0, "truncate(%s): %s", files[i], strerror(errno));
                continue;
            }
            FILE *f = fopen(files[i], "r+b");
            cr_assert(f != NULL, "open %s: %s", files[i], strerror(errno));
            long at = i == 1 ? size - 7 : 2;
            cr_assert(fseek(f, at, SEEK_SET) == 0);
            int c = fgetc(f);
            cr_assert(c != EOF);
            cr_assert(fseek(f, at, SEEK_SET) == 0);
            fputc(c ^ 0x5A, f);
            cr_assert(fclose(f) == 0);
        }
        /* A stray file that is not a cache entry changes nothing. */
        char stray[512];
        snprintf(stray, sizeof stray, "%s/README", dir);
        write_text(stray, "not a cache entry\n");

        log_capture cap;
        memset(&cap, 0, sizeof cap);
        spk_context_options o = spk_context_options_default();
        o.device = sels[d];
        o.cache_dir = dir;
        o.seed = 77;
        o.program_binaries = SPK_BINARIES_WRITE;
        o.log = capture_log;
        o.log_user = &cap;
        o.log_level = SPK_LOG_WARN;
        ctx = NULL;
        cr_assert(spk_context_create(&o, &ctx) == SPK_OK, "%s", spk_context_last_error(NULL));
        SPK_ASSERT_OK(ctx, spk_context_warmup(ctx, NULL));
        ASSERT_STATS(ctx, "warmup over corrupt entries", 0, 0, np, np);
        cr_assert(cap.n[SPK_LOG_WARN] >= (int)np && cap.mentions_corrupt >= (int)np,
                  "expected %zu warnings about corrupt entries, got %d (last: '%s')", np, cap.n[SPK_LOG_WARN],
                  cap.last[SPK_LOG_WARN]);
        cr_assert(strstr(cap.last[SPK_LOG_WARN], dir) != NULL, "warning '%s' does not name the file",
                  cap.last[SPK_LOG_WARN]);
        cr_assert(cap.n[SPK_LOG_ERROR] == 0, "corrupt cache entries must not be errors (got '%s')",
                  cap.last[SPK_LOG_ERROR]);
        check_poisson_matches_reference(ctx, "poisson after rebuilding corrupt entries");
        spk_context_free(ctx);

        /* The rebuilt entries replaced the corrupt ones: spk_context_free
         * saved them (no spk_context_cache_save above). */
        ctx = context_with(sels[d], dir, NULL, 77);
        SPK_ASSERT_OK(ctx, spk_context_warmup(ctx, NULL));
        ASSERT_STATS(ctx, "warmup after the rebuild", 0, np, 0, 0);
        spk_context_free(ctx);
        remove_tree(dir);
    }
}

/* A context on `sel` writing to `dir` with program binaries `mode`; NULL
 * (and *st set) where creation fails. */
static spk_context *context_binaries(const char *sel, const char *dir, spk_program_binaries mode, spk_status *st)
{
    spk_context_options o = spk_context_options_default();
    o.device = sel;
    o.cache_dir = dir;
    o.program_binaries = mode;
    spk_context *ctx = NULL;
    *st = spk_context_create(&o, &ctx);
    return ctx;
}

/* Remove the cache entries in `dir`. */
static void remove_entries(const char *dir)
{
    char files[16][512];
    size_t nf = list_files(dir, ".clbin", files, 16);
    for (size_t i = 0; i < nf; i++)
        cr_assert(remove(files[i]) == 0, "remove %s: %s", files[i], strerror(errno));
}

/* Warm up a context of `mode` on an empty `dir`, save, and check that its np
 * programs were written (expect_write) or skipped, and the files there. */
static void check_binaries(const char *sel, const char *dir, spk_program_binaries mode, int expect_write,
                           const char *what)
{
    spk_status st;
    spk_context *ctx = context_binaries(sel, dir, mode, &st);
    cr_assert(st == SPK_OK, "%s: %s", what, spk_context_last_error(NULL));
    size_t np = 0;
    SPK_ASSERT_OK(ctx, spk_context_warmup(ctx, &np));
    SPK_ASSERT_OK(ctx, spk_context_cache_save(ctx));
    spk_cache_stats s = stats_of(ctx);
    char files[16][512];
    size_t nf = list_files(dir, ".clbin", files, 16);
    cr_assert(np > 0 && s.disk_writes == (expect_write ? np : 0) && s.disk_skips == (expect_write ? 0 : np) &&
                  nf == s.disk_writes,
              "%s: %zu programs, %llu written, %llu skipped, %zu files; expected them %s", what, np,
              (unsigned long long)s.disk_writes, (unsigned long long)s.disk_skips, nf,
              expect_write ? "written" : "skipped");
    spk_context_free(ctx); /* nothing left to write at free either */
    cr_assert(list_files(dir, ".clbin", files, 16) == nf, "%s: spk_context_free wrote more", what);
    remove_entries(dir);
}

Test(cache, binaries_policy)
{
    char sels[SPK_TEST_MAX_DEVICES][16];
    size_t nd = spk_test_devices(sels, SPK_TEST_MAX_DEVICES);
    cr_assert(nd > 0, "no OpenCL device to test");
    char dir[256];
    make_tmpdir(dir, sizeof dir, "binaries");
    char *old_pocl = env_save("POCL_KERNEL_CACHE");
    unsetenv("POCL_KERNEL_CACHE");
    unsetenv("SPIKECL_CACHE_BINARIES");
    for (size_t d = 0; d < nd; d++) {
        spk_status st;
        spk_context *probe = context_binaries(sels[d], "off", SPK_BINARIES_AUTO, &st);
        cr_assert(st == SPK_OK, "%s", spk_context_last_error(NULL));
        spk_device_info info;
        SPK_ASSERT_OK(probe, spk_context_device(probe, &info));
        spk_context_free(probe);
        const int pocl = strstr(info.platform_name, "Portable Computing Language") != NULL;

        /* AUTO: PoCL keeps its own kernel cache, so nothing is written there; other drivers get binaries. */
        check_binaries(sels[d], dir, SPK_BINARIES_AUTO, !pocl, "AUTO");
        check_binaries(sels[d], dir, SPK_BINARIES_WRITE, 1, "WRITE");
        check_binaries(sels[d], dir, SPK_BINARIES_SKIP, 0, "SKIP");
        /* PoCL with its cache turned off, or where it cannot write it: AUTO writes ours. (PoCL read
         * both variables when it loaded; only our choice reads them again.) */
        cr_assert(setenv("POCL_KERNEL_CACHE", "0", 1) == 0);
        check_binaries(sels[d], dir, SPK_BINARIES_AUTO, 1, "AUTO, POCL_KERNEL_CACHE=0");
        unsetenv("POCL_KERNEL_CACHE");
        char *old_pocl_dir = env_save("POCL_CACHE_DIR");
        char blocker[512], under[600];
        snprintf(blocker, sizeof blocker, "%s/a-file", dir);
        snprintf(under, sizeof under, "%s/kcache", blocker);
        write_text(blocker, "a file where PoCL's cache directory would have to be\n");
        cr_assert(setenv("POCL_CACHE_DIR", under, 1) == 0);
        check_binaries(sels[d], dir, SPK_BINARIES_AUTO, 1, "AUTO, POCL_CACHE_DIR under a file");
        cr_assert(remove(blocker) == 0);
        cr_assert(setenv("POCL_CACHE_DIR", dir, 1) == 0);
        check_binaries(sels[d], dir, SPK_BINARIES_AUTO, !pocl, "AUTO, writable POCL_CACHE_DIR");
        env_restore("POCL_CACHE_DIR", old_pocl_dir);
        /* SPIKECL_CACHE_BINARIES decides AUTO; an explicit option wins over it. */
        cr_assert(setenv("SPIKECL_CACHE_BINARIES", "on", 1) == 0);
        check_binaries(sels[d], dir, SPK_BINARIES_AUTO, 1, "AUTO, SPIKECL_CACHE_BINARIES=on");
        check_binaries(sels[d], dir, SPK_BINARIES_SKIP, 0, "SKIP, SPIKECL_CACHE_BINARIES=on");
        cr_assert(setenv("SPIKECL_CACHE_BINARIES", "0", 1) == 0);
        check_binaries(sels[d], dir, SPK_BINARIES_AUTO, 0, "AUTO, SPIKECL_CACHE_BINARIES=0");
        check_binaries(sels[d], dir, SPK_BINARIES_WRITE, 1, "WRITE, SPIKECL_CACHE_BINARIES=0");
        cr_assert(setenv("SPIKECL_CACHE_BINARIES", "sometimes", 1) == 0);
        spk_context *bad = context_binaries(sels[d], dir, SPK_BINARIES_AUTO, &st);
        cr_assert(st == SPK_ERR_INVALID_ARGUMENT && bad == NULL &&
                      strstr(spk_context_last_error(NULL), "SPIKECL_CACHE_BINARIES=sometimes"),
                  "SPIKECL_CACHE_BINARIES=sometimes: %s '%s'", spk_status_name(st), spk_context_last_error(NULL));
        unsetenv("SPIKECL_CACHE_BINARIES");
        bad = context_binaries(sels[d], dir, (spk_program_binaries)7, &st);
        cr_assert(st == SPK_ERR_INVALID_ARGUMENT && bad == NULL &&
                      strstr(spk_context_last_error(NULL), "program_binaries"),
                  "program_binaries 7: %s '%s'", spk_status_name(st), spk_context_last_error(NULL));

        /* SKIP writes nothing but still loads what is on disk. */
        spk_context *ctx = context_binaries(sels[d], dir, SPK_BINARIES_WRITE, &st);
        size_t np = 0;
        SPK_ASSERT_OK(ctx, spk_context_warmup(ctx, &np));
        spk_context_free(ctx);
        ctx = context_binaries(sels[d], dir, SPK_BINARIES_SKIP, &st);
        cr_assert(st == SPK_OK);
        SPK_ASSERT_OK(ctx, spk_context_warmup(ctx, NULL));
        ASSERT_STATS(ctx, "SKIP over written binaries", 0, np, 0, 0);
        check_poisson_matches_reference(ctx, "poisson from a binary SKIP loaded");
        spk_context_free(ctx);
        remove_entries(dir);
    }
    env_restore("POCL_KERNEL_CACHE", old_pocl);
    remove_tree(dir);
}

Test(cache, off_and_default_location)
{
    char sels[SPK_TEST_MAX_DEVICES][16];
    size_t nd = spk_test_devices(sels, SPK_TEST_MAX_DEVICES);
    cr_assert(nd > 0, "no OpenCL device to test");
    char envdir[256];
    make_tmpdir(envdir, sizeof envdir, "cache-env");
    for (size_t d = 0; d < nd; d++) {
        /* "off" in the options wins over SPIKECL_CACHE_DIR; nothing is written. */
        cr_assert(setenv("SPIKECL_CACHE_DIR", envdir, 1) == 0);
        spk_context *ctx = context_with(sels[d], "off", NULL, 0);
        cr_assert(spk_context_cache_dir(ctx) == NULL, "cache 'off' gives cache dir '%s'", spk_context_cache_dir(ctx));
        size_t np = 0;
        SPK_ASSERT_OK(ctx, spk_context_warmup(ctx, &np));
        ASSERT_STATS(ctx, "warmup with the cache off", 0, 0, np, 0);
        SPK_ASSERT_OK(ctx, spk_context_cache_save(ctx));
        cr_assert(stats_of(ctx).disk_writes == 0, "cache 'off' counted %llu writes",
                  (unsigned long long)stats_of(ctx).disk_writes);
        char files[4][512];
        cr_assert(list_files(envdir, NULL, files, 4) == 0, "cache 'off' wrote %s", files[0]);
        spk_context_free(ctx);

        /* NULL option: SPIKECL_CACHE_DIR is used... */
        ctx = context_with(sels[d], NULL, NULL, 0);
        cr_assert(spk_context_cache_dir(ctx) && strcmp(spk_context_cache_dir(ctx), envdir) == 0,
                  "cache dir '%s', SPIKECL_CACHE_DIR is '%s'", spk_context_cache_dir(ctx), envdir);
        spk_context_free(ctx);
        /* ...and "off" there turns it off, as does "". */
        const char *offs[] = {"off"};
        for (size_t k = 0; k < 1; k++) {
            cr_assert(setenv("SPIKECL_CACHE_DIR", offs[k], 1) == 0);
            ctx = context_with(sels[d], NULL, NULL, 0);
            cr_assert(spk_context_cache_dir(ctx) == NULL, "SPIKECL_CACHE_DIR='%s' gives cache dir '%s'", offs[k],
                      spk_context_cache_dir(ctx));
            spk_context_free(ctx);
        }
        /* Unset: $XDG_CACHE_HOME/spikecl, else $HOME/.cache/spikecl. No
         * warmup here, so nothing is written there. */
        unsetenv("SPIKECL_CACHE_DIR");
        /* PoCL keeps its own cache under these: restore them before building. */
        char *old_home = env_save("HOME"), *old_xdg = env_save("XDG_CACHE_HOME");
        cr_assert(setenv("XDG_CACHE_HOME", "/nonexistent-xdg", 1) == 0);
        ctx = context_with(sels[d], NULL, NULL, 0);
        cr_assert(spk_context_cache_dir(ctx) && strcmp(spk_context_cache_dir(ctx), "/nonexistent-xdg/spikecl") == 0,
                  "with XDG_CACHE_HOME the cache dir is '%s'", spk_context_cache_dir(ctx));
        spk_context_free(ctx);
        unsetenv("XDG_CACHE_HOME");
        cr_assert(setenv("HOME", "/nonexistent-home", 1) == 0);
        ctx = context_with(sels[d], NULL, NULL, 0);
        cr_assert(spk_context_cache_dir(ctx) &&
                      strcmp(spk_context_cache_dir(ctx), "/nonexistent-home/.cache/spikecl") == 0,
                  "with only HOME the cache dir is '%s'", spk_context_cache_dir(ctx));
        spk_context_free(ctx);
        env_restore("HOME", old_home);
        env_restore("XDG_CACHE_HOME", old_xdg);
        /* An unwritable cache directory is not an error: programs still build. */
        ctx = context_with(sels[d], "/proc/spikecl-cannot-write-here", NULL, 0);
        SPK_ASSERT_OK(ctx, spk_context_warmup(ctx, NULL));
        ASSERT_STATS(ctx, "warmup with an unwritable cache", 0, 0, np, 0);
        SPK_ASSERT_OK(ctx, spk_context_cache_save(ctx)); /* a logged warning per program, not an error */
        cr_assert(stats_of(ctx).disk_writes == 0, "an unwritable cache counted %llu writes",
                  (unsigned long long)stats_of(ctx).disk_writes);
        spk_context_free(ctx);
    }
    remove_tree(envdir);
}

/* ------------------------------------------------------------ build failures */

/* A context on device sel with kernels from dir, no disk cache, and its
 * errors counted in *cap. */
static spk_context *context_logging_errors(const char *sel, const char *dir, log_capture *cap)
{
    memset(cap, 0, sizeof *cap);
    spk_context_options o = spk_context_options_default();
    o.device = sel;
    o.cache_dir = "off";
    o.kernel_dir = dir;
    o.log = capture_log;
    o.log_user = cap;
    o.log_level = SPK_LOG_ERROR;
    spk_context *ctx = NULL;
    cr_assert(spk_context_create(&o, &ctx) == SPK_OK, "%s", spk_context_last_error(NULL));
    return ctx;
}

/* A new temporary directory holding copies of the kernel sources. */
static void copy_kernels(char *dir, size_t cap)
{
    make_tmpdir(dir, cap, "kernels");
    char srcs[32][512];
    size_t ns = list_files(SPK_TEST_KERNEL_DIR, NULL, srcs, 32);
    cr_assert(ns > 0 && ns <= 32, "%zu files in %s", ns, SPK_TEST_KERNEL_DIR);
    size_t copied = 0;
    for (size_t i = 0; i < ns; i++) {
        const char *name = strrchr(srcs[i], '/') + 1;
        size_t ln = strlen(name);
        int is_cl = ln > 3 && strcmp(name + ln - 3, ".cl") == 0;
        int is_clh = ln > 4 && strcmp(name + ln - 4, ".clh") == 0;
        if (!is_cl && !is_clh)
            continue;
        char to[768];
        snprintf(to, sizeof to, "%s/%s", dir, name);
        copy_file(srcs[i], to);
        copied++;
    }
    cr_assert(copied >= 3, "only %zu kernel sources copied from %s", copied, SPK_TEST_KERNEL_DIR);
}

Test(build, syntax_error_reports_log)
{
    char sels[SPK_TEST_MAX_DEVICES][16];
    size_t nd = spk_test_devices(sels, SPK_TEST_MAX_DEVICES);
    cr_assert(nd > 0, "no OpenCL device to test");
    char dir[256];
    copy_kernels(dir, sizeof dir); /* copies of the sources, with encode.cl broken */
    char broken[768];
    snprintf(broken, sizeof broken, "%s/encode.cl", dir);
    write_text(broken, "/* deliberately broken */\n"
                       "kernel void encode_poisson(global float *x)\n"
                       "{\n"
                       "    x[0] = this_identifier_does_not_exist + ;\n"
                       "}\n");

    for (size_t d = 0; d < nd; d++) {
        log_capture cap;
        spk_context *ctx = context_logging_errors(sels[d], dir, &cap);
        size_t sin[1] = {8}, ssp[2] = {3, 8};
        spk_tensor *ti = NULL, *ts = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 1, sin, &ti));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, ssp, &ts));
        SPK_ASSERT_OK(ctx, spk_tensor_fill_f32(ti, 0.5f));
        for (int attempt = 0; attempt < 2; attempt++) {
            SPK_ASSERT_STATUS(ctx, spk_encode_poisson(ctx, ti, 1.0f, 0, ts), SPK_ERR_BUILD, "encode.cl");
            const char *e = spk_context_last_error(ctx);
            cr_assert(strstr(e, "SPK_ERR_BUILD") != NULL, "attempt %d: detail does not start with the status: '%s'",
                      attempt, e);
            cr_assert(strstr(e, "error") != NULL, "attempt %d: detail has no compiler error: '%s'", attempt, e);
            cr_assert(strstr(e, "this_identifier_does_not_exist") != NULL || strstr(e, "expected") != NULL,
                      "attempt %d: detail does not contain the build log: '%s'", attempt, e);
            cr_assert(strstr(e, "Build log") != NULL, "attempt %d: no build log section in '%s'", attempt, e);
        }
        cr_assert(cap.n[SPK_LOG_ERROR] == 2, "log callback got %d errors, expected 2", cap.n[SPK_LOG_ERROR]);
        cr_assert(strstr(cap.last[SPK_LOG_ERROR], "encode.cl") != NULL, "logged error '%s' does not name encode.cl",
                  cap.last[SPK_LOG_ERROR]);
        SPK_ASSERT_STATUS(ctx, spk_context_warmup(ctx, NULL), SPK_ERR_BUILD, "encode.cl");
        spk_cache_stats s = stats_of(ctx);
        cr_assert(s.memory_hits == 0 && s.disk_hits == 0, "a failed build was cached (memory %llu, disk %llu hits)",
                  (unsigned long long)s.memory_hits, (unsigned long long)s.disk_hits);
        /* A failed build is not remembered: with the source repaired, the
         * same context builds it and encodes correctly. */
        char good[512];
        snprintf(good, sizeof good, "%s/encode.cl", SPK_TEST_KERNEL_DIR);
        copy_file(good, broken);
        SPK_ASSERT_OK(ctx, spk_encode_poisson(ctx, ti, 1.0f, 0, ts));
        float spikes[24];
        SPK_ASSERT_OK(ctx, spk_tensor_download(ts, spikes, sizeof spikes));
        for (int i = 0; i < 24; i++)
            cr_assert(spikes[i] == 0.0f || spikes[i] == 1.0f, "spike %d = %g after the repaired build", i,
                      (double)spikes[i]);
        check_poisson_matches_reference(ctx, "poisson from the repaired kernel directory");
        SPK_ASSERT_OK(ctx, spk_context_warmup(ctx, NULL));
        write_text(broken, "kernel void encode_poisson(global float *x)\n"
                           "{ x[0] = this_identifier_does_not_exist + ; }\n"); /* broken again for the next device */
        spk_tensor_free(ti);
        spk_tensor_free(ts);
        spk_context_free(ctx);

        /* A kernel directory without the file: SPK_ERR_IO naming the path. */
        ctx = context_with(sels[d], "off", "/nonexistent-spikecl-kernels", 0);
        SPK_ASSERT_STATUS(ctx, spk_context_warmup(ctx, NULL), SPK_ERR_IO, "/nonexistent-spikecl-kernels/");
        spk_context_free(ctx);
    }
    remove_tree(dir);
}

/* Programs expected together that do not compile as one (here lif.cl and
 * optim.cl both define the same function) are built one by one: the step
 * runs, two programs are compiled, and nothing is reported as an error. */
Test(build, a_bundle_that_fails_falls_back_to_its_files, .timeout = 600)
{
    char sels[SPK_TEST_MAX_DEVICES][16];
    size_t nd = spk_test_devices(sels, SPK_TEST_MAX_DEVICES);
    cr_assert(nd > 0, "no OpenCL device to test");
    char dir[256];
    copy_kernels(dir, sizeof dir);
    static const char *const clash[] = {"lif.cl", "optim.cl"};
    for (size_t f = 0; f < 2; f++) {
        char path[768], from[768];
        snprintf(from, sizeof from, "%s/%s", SPK_TEST_KERNEL_DIR, clash[f]);
        snprintf(path, sizeof path, "%s/%s", dir, clash[f]);
        FILE *in = fopen(from, "rb"), *out = fopen(path, "wb");
        cr_assert(in && out);
        for (int c; (c = fgetc(in)) != EOF;)
            fputc(c, out);
        fputs("\nfloat bundle_test_twice(float x) { return x + x; }\n", out);
        fclose(in), fclose(out);
    }
    for (size_t d = 0; d < nd; d++) {
        log_capture cap;
        spk_context *ctx = context_logging_errors(sels[d], dir, &cap);
        enum { T = 3, B = 8, IN = 6, HID = 16, OUT = 4 };
        spk_network *net;
        SPK_ASSERT_OK(ctx, spk_network_create(ctx, &net));
        spk_lif_params lif = spk_lif_params_default(SPK_NEURON_LIF), li = spk_lif_params_default(SPK_NEURON_LI);
        spk_layer *l;
        spk_dense_params dp = spk_dense_params_default(IN, HID);
        dp.synapse = SPK_SYNAPSE_DENSE; /* no gather program: lif.cl and optim.cl alone */
        SPK_ASSERT_OK(ctx, spk_dense_create(ctx, &dp, &l));
        SPK_ASSERT_OK(ctx, spk_network_add(net, l));
        SPK_ASSERT_OK(ctx, spk_neuron_layer_create(ctx, &lif, &l));
        SPK_ASSERT_OK(ctx, spk_network_add(net, l));
        dp = spk_dense_params_default(HID, OUT);
        dp.synapse = SPK_SYNAPSE_DENSE;
        SPK_ASSERT_OK(ctx, spk_dense_create(ctx, &dp, &l));
        SPK_ASSERT_OK(ctx, spk_network_add(net, l));
        SPK_ASSERT_OK(ctx, spk_neuron_layer_create(ctx, &li, &l));
        SPK_ASSERT_OK(ctx, spk_network_add(net, l));
        SPK_ASSERT_OK(ctx, spk_network_build(net, T, B, 1, (size_t[1]){IN}));
        spk_optimizer_params op = spk_optimizer_params_default(SPK_OPTIM_ADAM);
        spk_optimizer *opt;
        SPK_ASSERT_OK(ctx, spk_optimizer_create(ctx, &op, &opt));
        spk_tensor *x, *g;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, IN}, &x));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, B, OUT}, &g));
        SPK_ASSERT_OK(ctx, spk_tensor_fill_f32(x, 0.7f));
        uint8_t labels[B] = {0, 1, 2, 3, 0, 1, 2, 3};
        spk_loss_params lp = spk_loss_params_default(SPK_LOSS_CE_MEAN_MEMBRANE);
        const spk_tensor *y;
        SPK_ASSERT_OK(ctx, spk_network_forward(net, x, &y));
        SPK_ASSERT_OK(ctx, spk_loss(ctx, &lp, y, labels, g, NULL, NULL));
        SPK_ASSERT_OK(ctx, spk_network_backward(net, g));
        SPK_ASSERT_OK(ctx, spk_network_step(net, opt));
        SPK_ASSERT_OK(ctx, spk_context_finish(ctx));
        spk_cache_stats s = stats_of(ctx);
        cr_assert_eq(s.compiles, 2, "%s: %llu programs compiled, expected lif.cl and optim.cl one by one", sels[d],
                     (unsigned long long)s.compiles);
        cr_assert_eq(cap.n[SPK_LOG_ERROR], 0, "%s: a fallen-back bundle logged an error: %s", sels[d],
                     cap.last[SPK_LOG_ERROR]);
        spk_optimizer_free(opt);
        spk_tensor_free(x), spk_tensor_free(g);
        spk_network_free(net);
        spk_context_free(ctx);
    }
    remove_tree(dir);
}

/* ------------------------------------------------------------ allocation failures */

typedef struct failing_alloc {
    long budget;   /* successful allocations left; -1: unlimited */
    long live;     /* outstanding allocations */
    long failures; /* allocations refused */
    long total;
} failing_alloc;

static void *failing_malloc(size_t size, void *user)
{
    failing_alloc *f = user;
    if (f->budget == 0) {
        f->failures++;
        return NULL;
    }
    if (f->budget > 0)
        f->budget--;
    void *p = malloc(size);
    if (p) {
        f->live++;
        f->total++;
    }
    return p;
}

static void failing_free(void *ptr, void *user)
{
    failing_alloc *f = user;
    f->live--;
    free(ptr);
}

/* Each step either succeeds or fails cleanly with SPK_ERR_OUT_OF_MEMORY. */
#define OOM_STEP(k, ctxv, expr)                                                                                  \
    do {                                                                                                         \
        spk_status s_ = (expr);                                                                                  \
        if (s_ != SPK_OK) {                                                                                      \
            cr_assert(s_ == SPK_ERR_OUT_OF_MEMORY, "k=%d: %s returned %s, expected SPK_ERR_OUT_OF_MEMORY (%s)", \
                      k, #expr, spk_status_name(s_), spk_context_last_error(ctxv));                              \
            cr_assert(strstr(spk_context_last_error(ctxv), "out of host memory") != NULL,                       \
                      "k=%d: %s: detail '%s' does not say out of host memory", k, #expr,                        \
                      spk_context_last_error(ctxv));                                                             \
            goto cleanup;                                                                                        \
        }                                                                                                        \
    } while (0)

Test(alloc, failure_injection)
{
    char sels[SPK_TEST_MAX_DEVICES][16];
    size_t nd = spk_test_devices(sels, SPK_TEST_MAX_DEVICES);
    cr_assert(nd > 0, "no OpenCL device to test");
    char dir[256];
    make_tmpdir(dir, sizeof dir, "alloc");
    for (size_t d = 0; d < nd; d++) {
        /* Warm the disk cache first, with the normal allocator. */
        spk_context *warm = context_with(sels[d], dir, NULL, 3);
        SPK_ASSERT_OK(warm, spk_context_warmup(warm, NULL));
        spk_context_free(warm);

        int done = 0, k;
        for (k = 0; k < 400 && !done; k++) {
            failing_alloc fa = {.budget = k};
            spk_allocator a = {failing_malloc, failing_free, &fa};
            spk_context *ctx = NULL;
            spk_tensor *t = NULL, *v = NULL, *in = NULL;
            int reached_end = 0;
            spk_set_allocator(&a);
            spk_context_options o = spk_context_options_default();
            o.device = sels[d];
            o.cache_dir = dir;
            o.seed = 3;
            o.program_binaries = SPK_BINARIES_WRITE; /* as the warm-up above: every program from disk */
            spk_status st = spk_context_create(&o, &ctx);
            if (st != SPK_OK) {
                cr_assert(ctx == NULL, "k=%d: failed create left *out set", k);
                OOM_STEP(k, NULL, st);
            }
            OOM_STEP(k, ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[]){5, 16}, &t));
            OOM_STEP(k, ctx, spk_tensor_view(t, 16, 2, (size_t[]){2, 16}, &v));
            OOM_STEP(k, ctx, spk_tensor_create(ctx, SPK_F32, 1, (size_t[]){16}, &in));
            OOM_STEP(k, ctx, spk_context_warmup(ctx, NULL));
            OOM_STEP(k, ctx, spk_tensor_fill_f32(in, 0.5f));
            OOM_STEP(k, ctx, spk_encode_poisson(ctx, in, 1.0f, 0, v));
            SPK_ASSERT_OK(ctx, spk_context_finish(ctx));
            reached_end = 1;
        cleanup:
            spk_tensor_free(v);
            spk_tensor_free(in);
            spk_tensor_free(t);
            spk_context_free(ctx);
            cr_assert(fa.live == 0, "k=%d: %ld of %ld allocations leaked", k, fa.live, fa.total);
            spk_set_allocator(NULL);
            cr_assert(reached_end || fa.failures > 0, "k=%d: a step failed without an allocation failure", k);
            /* Done when the whole sequence ran without a single refusal. */
            done = reached_end && fa.failures == 0;
        }
        cr_assert(done, "the sequence still ran out of memory with %d allocations allowed", k - 1);
        cr_log_info("device %s: the sequence makes %d host allocations; every prefix failed cleanly", sels[d], k - 1);
        cr_assert(k > 4, "the sequence needed only %d allocations: is the allocator hook used?", k - 1);

        /* The default allocator is back: a normal context works. */
        spk_context *ctx = context_with(sels[d], dir, NULL, 3);
        check_poisson_matches_reference(ctx, "poisson after restoring the allocator");
        spk_context_free(ctx);
    }
    remove_tree(dir);
}

/* ------------------------------------------------------------ log callback */

Test(log, callback_levels)
{
    char sels[SPK_TEST_MAX_DEVICES][16];
    size_t nd = spk_test_devices(sels, SPK_TEST_MAX_DEVICES);
    cr_assert(nd > 0, "no OpenCL device to test");
    for (size_t d = 0; d < nd; d++) {
        log_capture cap;
        memset(&cap, 0, sizeof cap);
        spk_context_options o = spk_context_options_default();
        cr_assert(o.log == NULL && o.log_level == SPK_LOG_WARN && o.seed == 0 && o.device == NULL &&
                      o.cache_dir == NULL && o.kernel_dir == NULL,
                  "unexpected defaults in spk_context_options_default()");
        o.device = sels[d];
        o.cache_dir = "off";
        o.log = capture_log;
        o.log_user = &cap;
        o.log_level = SPK_LOG_INFO;
        spk_context *ctx = NULL;
        cr_assert(spk_context_create(&o, &ctx) == SPK_OK, "%s", spk_context_last_error(NULL));
        cr_assert(cap.n[SPK_LOG_INFO] >= 1, "no INFO message at context creation with log_level INFO");
        cr_assert(strstr(cap.last[SPK_LOG_INFO], dev_name(ctx)) != NULL, "INFO message '%s' does not name the device",
                  cap.last[SPK_LOG_INFO]);
        cr_assert(cap.n[SPK_LOG_DEBUG] == 0, "DEBUG messages above log_level INFO");
        spk_tensor *t = NULL;
        spk_status st = spk_tensor_create(ctx, SPK_F32, 0, (size_t[]){1}, &t);
        cr_assert(st == SPK_ERR_INVALID_ARGUMENT);
        cr_assert(cap.n[SPK_LOG_ERROR] == 1, "error count %d after one failed call", cap.n[SPK_LOG_ERROR]);
        cr_assert(strcmp(cap.last[SPK_LOG_ERROR], spk_context_last_error(ctx)) == 0,
                  "logged '%s' differs from the detail '%s'", cap.last[SPK_LOG_ERROR], spk_context_last_error(ctx));
        spk_context_free(ctx);

        /* At level ERROR: no INFO message, errors still arrive. */
        memset(&cap, 0, sizeof cap);
        o.log_level = SPK_LOG_ERROR;
        cr_assert(spk_context_create(&o, &ctx) == SPK_OK, "%s", spk_context_last_error(NULL));
        cr_assert(cap.n[SPK_LOG_INFO] == 0 && cap.n[SPK_LOG_WARN] == 0, "INFO/WARN messages at log_level ERROR: '%s'",
                  cap.last[SPK_LOG_INFO]);
        cr_assert(spk_tensor_fill_u8(NULL, 0) == SPK_ERR_NULL_POINTER);
        cr_assert(cap.n[SPK_LOG_ERROR] == 0, "a context-less error reached the context's callback");
        spk_tensor *f = NULL;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 1, (size_t[]){4}, &f));
        cr_assert(spk_tensor_fill_u8(f, 0) == SPK_ERR_DTYPE);
        cr_assert(cap.n[SPK_LOG_ERROR] == 1 && strstr(cap.last[SPK_LOG_ERROR], "SPK_ERR_DTYPE") != NULL,
                  "error log after a dtype error: %d messages, last '%s'", cap.n[SPK_LOG_ERROR],
                  cap.last[SPK_LOG_ERROR]);
        spk_tensor_free(f);
        spk_context_free(ctx);

        /* Without a callback nothing is called (and nothing crashes). */
        o.log = NULL;
        cr_assert(spk_context_create(&o, &ctx) == SPK_OK);
        cr_assert(spk_tensor_create(ctx, SPK_F32, 0, (size_t[]){1}, &f) == SPK_ERR_INVALID_ARGUMENT);
        spk_context_free(ctx);
    }
}
