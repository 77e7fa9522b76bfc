/* Checkpoint files: see include/spikecl/checkpoint.h for the layout. The
 * whole file is read into memory and its checksum verified before any
 * field is trusted. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "tensor/tensor_internal.h"

static const char MAGIC[8] = {'S', 'P', 'K', 'C', 'K', 'P', 'T', '\0'};

/* ---- Writing: a growing byte buffer ---------------------------------- */

typedef struct buf {
    unsigned char *p;
    size_t len, cap;
    int oom;
} buf;

static void put(buf *b, const void *src, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *p = spk__realloc(b->p, b->len, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_u32(buf *b, uint32_t v)
{
    unsigned char le[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 24)};
    put(b, le, 4);
}

static void put_u64(buf *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static spk_status write_atomically(spk_context *ctx, const char *path, const buf *b)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp)
        return spk__error(ctx, SPK_ERR_IO, "checkpoint path too long: %s", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return spk__error(ctx, SPK_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    int ok = fwrite(b->p, 1, b->len, f) == b->len;
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return spk__error(ctx, SPK_ERR_IO, "cannot write %s: %s", path, strerror(e));
    }
    return SPK_OK;
}

spk_status spk_checkpoint_save(spk_network *net, const char *path, const char *arch)
{
    spk_status st = SPK_OK;
    spk_context *ctx = NULL;
    buf b = {0};
    float *host = NULL;
    SPK_CHECK(NULL, net && path && arch, SPK_ERR_NULL_POINTER, "spk_checkpoint_save: net, path or arch is NULL");
    size_t n = spk_network_param_count(net);
    spk_param p0;
    SPK_CHECK(NULL, n > 0 && spk_network_param(net, 0, &p0) == SPK_OK, SPK_ERR_INVALID_ARGUMENT,
              "spk_checkpoint_save: the network has no parameters");
    ctx = spk_tensor_context(p0.value);
    put(&b, MAGIC, 8);
    put_u32(&b, SPK_CHECKPOINT_VERSION);
    put_u32(&b, (uint32_t)strlen(arch));
    put(&b, arch, strlen(arch));
    put_u32(&b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        spk_param p;
        SPK_TRY(spk_network_param(net, i, &p));
        put_u32(&b, (uint32_t)strlen(p.name));
        put(&b, p.name, strlen(p.name));
        put_u32(&b, (uint32_t)p.value->ndim);
        for (int d = 0; d < p.value->ndim; d++)
            put_u64(&b, p.value->shape[d]);
        host = spk__malloc(p.value->numel * sizeof *host);
        SPK_CHECK(ctx, host != NULL, SPK_ERR_OUT_OF_MEMORY, "spk_checkpoint_save: out of host memory");
        SPK_TRY(spk_tensor_download(p.value, host, p.value->numel * sizeof *host));
        for (size_t k = 0; k < p.value->numel; k++) {
            uint32_t bits;
            memcpy(&bits, &host[k], 4);
            put_u32(&b, bits);
        }
        spk__free(host);
        host = NULL;
    }
    SPK_CHECK(ctx, !b.oom, SPK_ERR_OUT_OF_MEMORY, "spk_checkpoint_save: out of host memory");
    put_u32(&b, (uint32_t)crc32(0L, b.p, (uInt)b.len));
    SPK_CHECK(ctx, !b.oom, SPK_ERR_OUT_OF_MEMORY, "spk_checkpoint_save: out of host memory");
    SPK_TRY(write_atomically(ctx, path, &b));
fail:
    spk__free(host);
    spk__free(b.p);
    return st;
}

/* ---- Reading: a cursor over the verified file ------------------------ */

typedef struct cursor {
    const unsigned char *p;
    size_t len, pos;
    const char *path;
} cursor;

static spk_status take(spk_context *ctx, cursor *c, void *dst, size_t n, const char *what)
{
    if (n > c->len - c->pos)
        return spk__error(ctx, SPK_ERR_CORRUPT, "%s: truncated inside the %s", c->path, what);
    if (dst)
        memcpy(dst, c->p + c->pos, n);
    c->pos += n;
    return SPK_OK;
}

static spk_status take_u32(spk_context *ctx, cursor *c, uint32_t *v, const char *what)
{
    unsigned char le[4] = {0, 0, 0, 0};
    spk_status st = take(ctx, c, le, 4, what);
    *v = (uint32_t)le[0] | (uint32_t)le[1] << 8 | (uint32_t)le[2] << 16 | (uint32_t)le[3] << 24;
    return st;
}

static spk_status take_u64(spk_context *ctx, cursor *c, uint64_t *v, const char *what)
{
    uint32_t lo = 0, hi = 0;
    spk_status st = take_u32(ctx, c, &lo, what);
    if (st == SPK_OK)
        st = take_u32(ctx, c, &hi, what);
    *v = (uint64_t)hi << 32 | lo;
    return st;
}

/* Read the whole file, check magic, version and checksum; position the
 * cursor after the version. */
static spk_status open_checked(spk_context *ctx, const char *path, unsigned char **data, cursor *c)
{
    spk_status st = SPK_OK;
    unsigned char *p = NULL;
    FILE *f = fopen(path, "rb");
    SPK_CHECK(ctx, f != NULL, SPK_ERR_IO, "cannot open checkpoint %s: %s", path, strerror(errno));
    SPK_CHECK(ctx, fseek(f, 0, SEEK_END) == 0, SPK_ERR_IO, "cannot read %s", path);
    long len = ftell(f);
    SPK_CHECK(ctx, len >= 0 && fseek(f, 0, SEEK_SET) == 0, SPK_ERR_IO, "cannot read %s", path);
    SPK_CHECK(ctx, len >= 8 + 4 + 4, SPK_ERR_CORRUPT, "%s: too short to be a spikecl checkpoint (%ld bytes)", path, len);
    p = spk__malloc((size_t)len);
    SPK_CHECK(ctx, p != NULL, SPK_ERR_OUT_OF_MEMORY, "out of host memory reading %s", path);
    SPK_CHECK(ctx, fread(p, 1, (size_t)len, f) == (size_t)len, SPK_ERR_IO, "cannot read %s", path);
    SPK_CHECK(ctx, memcmp(p, MAGIC, 8) == 0, SPK_ERR_CORRUPT, "%s is not a spikecl checkpoint (bad magic)", path);
    *c = (cursor){p, (size_t)len - 4, 8, path};
    uint32_t version = 0, crc = 0;
    SPK_TRY(take_u32(ctx, c, &version, "header"));
    SPK_CHECK(ctx, version == SPK_CHECKPOINT_VERSION, SPK_ERR_CORRUPT,
              "%s: checkpoint version %u, this build reads version %d", path, version, SPK_CHECKPOINT_VERSION);
    cursor tail = {p, (size_t)len, (size_t)len - 4, path};
    SPK_TRY(take_u32(ctx, &tail, &crc, "checksum"));
    SPK_CHECK(ctx, (uint32_t)crc32(0L, p, (uInt)(len - 4)) == crc, SPK_ERR_CORRUPT,
              "%s: checksum mismatch: the file is corrupt or truncated", path);
    *data = p;
    p = NULL;
fail:
    spk__free(p);
    if (f)
        fclose(f);
    return st;
}

static spk_status read_arch(spk_context *ctx, cursor *c, char *arch, size_t cap)
{
    spk_status st = SPK_OK;
    uint32_t n = 0;
    SPK_TRY(take_u32(ctx, c, &n, "architecture"));
    SPK_CHECK(ctx, n <= c->len - c->pos, SPK_ERR_CORRUPT, "%s: truncated inside the architecture", c->path);
    if (arch) {
        SPK_CHECK(ctx, n < cap, SPK_ERR_INVALID_ARGUMENT, "%s: the architecture text needs %u bytes, given %zu",
                  c->path, n + 1, cap);
        memcpy(arch, c->p + c->pos, n);
        arch[n] = '\0';
    }
    c->pos += n;
fail:
    return st;
}

spk_status spk_checkpoint_arch(const char *path, char *arch, size_t cap)
{
    spk_status st = SPK_OK;
    unsigned char *data = NULL;
    cursor c;
    spk__clear_error(NULL);
    SPK_CHECK(NULL, path && arch, SPK_ERR_NULL_POINTER, "spk_checkpoint_arch: path or arch is NULL");
    SPK_TRY(open_checked(NULL, path, &data, &c));
    SPK_TRY(read_arch(NULL, &c, arch, cap));
fail:
    spk__free(data);
    return st;
}

spk_status spk_checkpoint_load(spk_network *net, const char *path)
{
    spk_status st = SPK_OK;
    unsigned char *data = NULL;
    float *host = NULL;
    spk_context *ctx = NULL;
    cursor c;
    SPK_CHECK(NULL, net && path, SPK_ERR_NULL_POINTER, "spk_checkpoint_load: net or path is NULL");
    size_t n = spk_network_param_count(net);
    spk_param p0;
    SPK_CHECK(NULL, n > 0 && spk_network_param(net, 0, &p0) == SPK_OK, SPK_ERR_INVALID_ARGUMENT,
              "spk_checkpoint_load: the network has no parameters");
    ctx = spk_tensor_context(p0.value);
    SPK_TRY(open_checked(ctx, path, &data, &c));
    SPK_TRY(read_arch(ctx, &c, NULL, 0));
    uint32_t count = 0;
    SPK_TRY(take_u32(ctx, &c, &count, "parameter count"));
    SPK_CHECK(ctx, count == n, SPK_ERR_SHAPE, "%s holds %u parameters, the network has %zu", path, count, n);
    for (size_t i = 0; i < n; i++) {
        spk_param p;
        char name[64];
        uint32_t name_len = 0, ndim = 0;
        SPK_TRY(spk_network_param(net, i, &p));
        SPK_TRY(take_u32(ctx, &c, &name_len, "parameter name"));
        SPK_CHECK(ctx, name_len < sizeof name, SPK_ERR_CORRUPT, "%s: parameter %zu has a %u-byte name", path, i,
                  name_len);
        SPK_TRY(take(ctx, &c, name, name_len, "parameter name"));
        name[name_len] = '\0';
        SPK_CHECK(ctx, strcmp(name, p.name) == 0, SPK_ERR_SHAPE, "%s: parameter %zu is '%s', the network's is '%s'",
                  path, i, name, p.name);
        SPK_TRY(take_u32(ctx, &c, &ndim, "parameter shape"));
        SPK_CHECK(ctx, ndim >= 1 && ndim <= SPK_MAX_DIMS, SPK_ERR_CORRUPT, "%s: parameter '%s' has %u dimensions", path,
                  name, ndim);
        char want[96], got[96] = "[";
        int same = (int)ndim == p.value->ndim;
        for (uint32_t d = 0; d < ndim; d++) {
            uint64_t e = 0;
            SPK_TRY(take_u64(ctx, &c, &e, "parameter shape"));
            same = same && e == p.value->shape[d];
            snprintf(got + strlen(got), sizeof got - strlen(got), d ? ", %llu" : "%llu", (unsigned long long)e);
        }
        snprintf(got + strlen(got), sizeof got - strlen(got), "]");
        SPK_CHECK(ctx, same, SPK_ERR_SHAPE, "%s: parameter '%s' has shape %s, the network's is %s", path, name, got,
                  spk__shape_str(p.value, want, sizeof want));
        host = spk__malloc(p.value->numel * sizeof *host);
        SPK_CHECK(ctx, host != NULL, SPK_ERR_OUT_OF_MEMORY, "out of host memory reading %s", path);
        for (size_t k = 0; k < p.value->numel; k++) {
            uint32_t bits = 0;
            SPK_TRY(take_u32(ctx, &c, &bits, "parameter values"));
            memcpy(&host[k], &bits, 4);
        }
        SPK_TRY(spk_tensor_upload(p.value, host, p.value->numel * sizeof *host));
        spk__free(host);
        host = NULL;
    }
    SPK_CHECK(ctx, c.pos == c.len, SPK_ERR_CORRUPT, "%s: %zu unexpected bytes after the parameters", path,
              c.len - c.pos);
fail:
    spk__free(host);
    spk__free(data);
    return st;
}
