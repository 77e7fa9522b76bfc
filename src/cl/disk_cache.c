/* On-disk program cache. One file per program, named by a hash of its key:
 *
 *   "SPKCACHE" | u32 format | u32 key length | key | u64 binary size |
 *   u32 crc32(binary) | binary
 *
 * The key text holds the source hash, the build options and the device,
 * driver and platform versions, and is compared whole on load, so a hash
 * collision or a driver update can only cause a rebuild. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cl/disk_cache.h"

static const char MAGIC[8] = {'S', 'P', 'K', 'C', 'A', 'C', 'H', 'E'};

uint64_t spk__fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

char *spk__disk_cache_key(const spk_context *ctx, const spk__source_text *src, const char *options)
{
    uint64_t h1 = SPK_FNV_OFFSET, h2 = 0x9e3779b97f4a7c15ull;
    size_t total = 0;
    for (size_t i = 0; i < src->n_parts; i++) {
        h1 = spk__fnv1a(h1, src->parts[i], src->lengths[i]);
        h2 = spk__fnv1a(h2, src->parts[i], src->lengths[i]);
        total += src->lengths[i];
    }
    const spk_device_info *d = &ctx->info;
    const char *fmt = "format=%d\nsource=%016llx%016llx:%zu\noptions=%s\ndevice=%s\nvendor=%s\ndevice_version=%s\n"
                      "driver=%s\nplatform=%s\nplatform_version=%s\n";
    int n = snprintf(NULL, 0, fmt, SPK_DISK_CACHE_FORMAT, (unsigned long long)h1, (unsigned long long)h2, total,
                     options, d->device_name, d->vendor, d->device_version, d->driver_version, d->platform_name,
                     d->platform_version);
    char *key = n > 0 ? spk__malloc((size_t)n + 1) : NULL;
    if (key)
        snprintf(key, (size_t)n + 1, fmt, SPK_DISK_CACHE_FORMAT, (unsigned long long)h1, (unsigned long long)h2,
                 total, options, d->device_name, d->vendor, d->device_version, d->driver_version, d->platform_name,
                 d->platform_version);
    return key;
}

static int entry_path(const spk_context *ctx, const char *key, char *path, size_t cap)
{
    uint64_t h = spk__fnv1a(SPK_FNV_OFFSET, key, strlen(key));
    int n = snprintf(path, cap, "%s/%016llx.clbin", ctx->cache_dir, (unsigned long long)h);
    return n > 0 && (size_t)n < cap;
}

static int read_exact(FILE *f, void *dst, size_t n)
{
    return fread(dst, 1, n, f) == n;
}

spk_status spk__disk_cache_load(spk_context *ctx, const char *key, const char *options, cl_program *out)
{
    char path[4096];
    char *stored_key = NULL;
    unsigned char *bin = NULL;
    FILE *f = NULL;
    spk_status st = SPK_ERR_CORRUPT;
    int reject = 0; /* the file exists but is unusable */
    if (!entry_path(ctx, key, path, sizeof path))
        goto done;
    f = fopen(path, "rb");
    if (!f)
        goto done;
    reject = 1;
    char magic[8];
    uint32_t format = 0, key_len = 0, crc = 0;
    uint64_t bin_size = 0;
    if (!read_exact(f, magic, 8) || memcmp(magic, MAGIC, 8) != 0 || !read_exact(f, &format, 4) ||
        format != SPK_DISK_CACHE_FORMAT || !read_exact(f, &key_len, 4) || key_len != strlen(key))
        goto done;
    stored_key = spk__malloc(key_len + 1);
    if (!stored_key || !read_exact(f, stored_key, key_len) || memcmp(stored_key, key, key_len) != 0)
        goto done;
    if (!read_exact(f, &bin_size, 8) || !read_exact(f, &crc, 4) || bin_size == 0 || bin_size > (1ull << 31))
        goto done;
    bin = spk__malloc((size_t)bin_size);
    if (!bin || !read_exact(f, bin, (size_t)bin_size) || fgetc(f) != EOF)
        goto done;
    if ((uint32_t)crc32(0L, bin, (uInt)bin_size) != crc)
        goto done;
    cl_int err = CL_SUCCESS, bin_status = CL_SUCCESS;
    size_t len = (size_t)bin_size;
    const unsigned char *bins[1] = {bin};
    cl_program prog = clCreateProgramWithBinary(ctx->cl, 1, &ctx->device, &len, bins, &bin_status, &err);
    if (err != CL_SUCCESS || bin_status != CL_SUCCESS) {
        if (prog)
            clReleaseProgram(prog);
        goto done;
    }
    if (clBuildProgram(prog, 1, &ctx->device, options, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(prog);
        goto done;
    }
    *out = prog;
    st = SPK_OK;
    reject = 0;
done:
    if (reject) {
        ctx->cache_stats.disk_rejects++;
        spk__log(ctx, SPK_LOG_WARN, "spikecl: ignoring corrupt or stale cache entry %s; rebuilding", path);
    }
    if (f)
        fclose(f);
    spk__free(bin);
    spk__free(stored_key);
    return st;
}

int spk__make_dirs(const char *dir)
{
    char tmp[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof tmp)
        return 0;
    memcpy(tmp, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return 0;
            tmp[i] = c;
        }
    }
    return 1;
}

int spk__disk_cache_store(spk_context *ctx, const char *key, cl_program prog)
{
    char path[4096], tmp_path[4200];
    unsigned char *bin = NULL;
    FILE *f = NULL;
    size_t bin_size = 0;
    int written = 0;
    if (!entry_path(ctx, key, path, sizeof path) || !spk__make_dirs(ctx->cache_dir))
        goto done;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof bin_size, &bin_size, NULL) != CL_SUCCESS ||
        bin_size == 0)
        goto done;
    bin = spk__malloc(bin_size);
    unsigned char *bins[1] = {bin};
    if (!bin || clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) != CL_SUCCESS)
        goto done;
    snprintf(tmp_path, sizeof tmp_path, "%s.%ld.tmp", path, (long)getpid());
    f = fopen(tmp_path, "wb");
    if (!f)
        goto done;
    uint32_t format = SPK_DISK_CACHE_FORMAT, key_len = (uint32_t)strlen(key);
    uint32_t crc = (uint32_t)crc32(0L, bin, (uInt)bin_size);
    uint64_t size64 = bin_size;
    int ok = fwrite(MAGIC, 1, 8, f) == 8 && fwrite(&format, 4, 1, f) == 1 && fwrite(&key_len, 4, 1, f) == 1 &&
             fwrite(key, 1, key_len, f) == key_len && fwrite(&size64, 8, 1, f) == 1 && fwrite(&crc, 4, 1, f) == 1 &&
             fwrite(bin, 1, bin_size, f) == bin_size;
    ok = fclose(f) == 0 && ok;
    f = NULL;
    if (!ok || rename(tmp_path, path) != 0) {
        remove(tmp_path);
        spk__log(ctx, SPK_LOG_WARN, "spikecl: could not write cache entry %s", path);
    } else {
        written = 1;
    }
done:
    spk__free(bin);
    return written;
}
