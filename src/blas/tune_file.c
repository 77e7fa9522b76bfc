/* Reading and writing the tuned-parameters file (format in tune_file.h). */
#include <clblast_c.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "blas/tune_file.h"
#include "blas/tune_space.h"
#include "cl/disk_cache.h"

#define MAGIC "spikecl-clblast-tuning"
#define MAX_FILE_BYTES 65536
#define STR_(x) #x
#define STR(x) STR_(x)
#define CLBLAST_VERSION STR(CLBLAST_VERSION_MAJOR) "." STR(CLBLAST_VERSION_MINOR) "." STR(CLBLAST_VERSION_PATCH)

typedef struct key_field {
    const char *name;
    const char *value;
} key_field;

enum { N_KEY_FIELDS = 8 };

static void key_fields(const spk_context *ctx, key_field f[N_KEY_FIELDS])
{
    const spk_device_info *d = &ctx->info;
    f[0] = (key_field){"device", d->device_name};
    f[1] = (key_field){"vendor", d->vendor};
    f[2] = (key_field){"device_version", d->device_version};
    f[3] = (key_field){"driver", d->driver_version};
    f[4] = (key_field){"platform", d->platform_name};
    f[5] = (key_field){"platform_version", d->platform_version};
    f[6] = (key_field){"clblast", CLBLAST_VERSION};
    f[7] = (key_field){"precision", "single"};
}

int spk__tune_file_path(const spk_context *ctx, char *path, size_t cap)
{
    key_field f[N_KEY_FIELDS];
    uint64_t h = SPK_FNV_OFFSET;
    if (!ctx->cache_dir)
        return 0;
    key_fields(ctx, f);
    for (int i = 0; i < N_KEY_FIELDS; i++) {
        h = spk__fnv1a(h, f[i].name, strlen(f[i].name) + 1);
        h = spk__fnv1a(h, f[i].value, strlen(f[i].value) + 1);
    }
    int n = snprintf(path, cap, "%s/clblast-tuning-%016llx.txt", ctx->cache_dir, (unsigned long long)h);
    return n > 0 && (size_t)n < cap;
}

int spk__tune_params_check(const spk_context *ctx, const spk_tune_params *p, char *why, size_t cap)
{
    spk__device_limits lim = {ctx->info.max_work_group_size, ctx->info.local_mem_bytes};
    spk__kernel_values v;
    for (size_t i = 0; i < p->n; i++)
        if (spk__tune_kernel_from_name(p->p[i].kernel) < 0) {
            snprintf(why, cap, "unknown kernel '%s' (spikecl tunes Xgemm, XgemmDirect and GemmRoutine)",
                     p->p[i].kernel);
            return 0;
        }
    for (int k = 0; k < SPK__N_TUNE_KERNELS; k++) {
        int got = spk__tune_extract(p, (spk__tune_kernel)k, &v, why, cap);
        if (got < 0 || (got == 1 && !spk__tune_valid((spk__tune_kernel)k, &v, &lim, why, cap)))
            return 0;
    }
    return 1;
}

/* Append printf output to a growing buffer; 0 when it does not fit. */
static int put(char *buf, size_t cap, size_t *used, const char *fmt, ...) SPK_PRINTF(4, 5);
static int put(char *buf, size_t cap, size_t *used, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, cap - *used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *used)
        return 0;
    *used += (size_t)n;
    return 1;
}

spk_status spk__tune_file_write(spk_context *ctx, const char *path, const spk_tune_params *p)
{
    spk_status st = SPK_OK;
    char *buf = spk__malloc(MAX_FILE_BYTES);
    char tmp[1200];
    FILE *f = NULL;
    size_t used = 0;
    key_field kf[N_KEY_FIELDS];
    SPK_CHECK(ctx, buf != NULL, SPK_ERR_OUT_OF_MEMORY, "spk_tune: out of host memory");
    key_fields(ctx, kf);
    int ok = put(buf, MAX_FILE_BYTES, &used, "%s %d\n", MAGIC, SPK_TUNE_FILE_FORMAT);
    for (int i = 0; i < N_KEY_FIELDS && ok; i++)
        ok = put(buf, MAX_FILE_BYTES, &used, "%s %s\n", kf[i].name, kf[i].value);
    for (size_t i = 0; i < p->n && ok; i++)
        ok = put(buf, MAX_FILE_BYTES, &used, "param %s %s %zu\n", p->p[i].kernel, p->p[i].name, p->p[i].value);
    uint32_t crc = (uint32_t)crc32(0L, (const Bytef *)buf, (uInt)used);
    ok = ok && put(buf, MAX_FILE_BYTES, &used, "end %zu %08x\n", p->n, (unsigned)crc);
    SPK_CHECK(ctx, ok, SPK_ERR_INVALID_ARGUMENT, "spk_tune: the parameters do not fit a tuning file");
    const char *slash = strrchr(path, '/');
    if (slash && slash != path) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
        SPK_CHECK(ctx, spk__make_dirs(dir), SPK_ERR_IO, "spk_tune: cannot create directory %s: %s", dir,
                  strerror(errno));
    }
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    f = fopen(tmp, "wb");
    SPK_CHECK(ctx, f != NULL, SPK_ERR_IO, "spk_tune: cannot write %s: %s", tmp, strerror(errno));
    ok = fwrite(buf, 1, used, f) == used;
    ok = fclose(f) == 0 && ok;
    f = NULL;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        SPK_CHECK(ctx, 0, SPK_ERR_IO, "spk_tune: cannot write %s: %s", path, strerror(errno));
    }
fail:
    spk__free(buf);
    return st;
}

/* Next line of text[*pos..len) as a NUL-terminated string (the newline is
 * replaced); NULL at the end. */
static char *next_line(char *text, size_t len, size_t *pos)
{
    if (*pos >= len)
        return NULL;
    char *line = text + *pos;
    char *nl = memchr(line, '\n', len - *pos);
    if (!nl)
        return NULL; /* the writer ends every line, the end line too */
    *nl = '\0';
    *pos = (size_t)(nl - text) + 1;
    return line;
}

#define REJECT(...)                           \
    do {                                      \
        snprintf(why, cap, __VA_ARGS__);      \
        st = SPK_ERR_CORRUPT;                 \
        goto done;                            \
    } while (0)

spk_status spk__tune_file_read(const spk_context *ctx, const char *path, spk_tune_params *out, char *why,
                               size_t cap)
{
    spk_status st = SPK_OK;
    char *text = NULL;
    key_field kf[N_KEY_FIELDS];
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno; /* the caller tells a missing file from an unreadable one */
        snprintf(why, cap, "cannot open %s: %s", path, strerror(e));
        errno = e;
        return SPK_ERR_IO;
    }
    text = spk__malloc(MAX_FILE_BYTES + 1);
    if (!text)
        REJECT("out of host memory reading it");
    size_t len = fread(text, 1, MAX_FILE_BYTES + 1, f);
    if (len > MAX_FILE_BYTES)
        REJECT("larger than %d bytes: not a tuning file", MAX_FILE_BYTES);
    text[len] = '\0';
    /* The end line is the last line; everything before it is checksummed. */
    size_t body = len;
    if (len > 0 && text[len - 1] == '\n') {
        body = len - 1;
        while (body > 0 && text[body - 1] != '\n')
            body--;
    }
    size_t magic_len = strlen(MAGIC);
    if (len < magic_len + 1 || memcmp(text, MAGIC, magic_len) != 0 || text[magic_len] != ' ')
        REJECT("not a spikecl tuning file (first line is not '%s %d')", MAGIC, SPK_TUNE_FILE_FORMAT);
    if (atoi(text + magic_len + 1) != SPK_TUNE_FILE_FORMAT)
        REJECT("format %d, this spikecl reads format %d", atoi(text + magic_len + 1), SPK_TUNE_FILE_FORMAT);
    size_t declared = 0;
    unsigned stored_crc = 0;
    char tail;
    if (body == len || sscanf(text + body, "end %zu %8x%c", &declared, &stored_crc, &tail) != 3 || tail != '\n')
        REJECT("truncated: no end line");
    if ((uint32_t)crc32(0L, (const Bytef *)text, (uInt)body) != stored_crc)
        REJECT("checksum mismatch: the file is corrupt");
    size_t pos = 0;
    char *line = next_line(text, body, &pos); /* the magic line, checked above */
    key_fields(ctx, kf);
    for (int i = 0; i < N_KEY_FIELDS; i++) {
        line = next_line(text, body, &pos);
        size_t nl = strlen(kf[i].name);
        if (!line || strncmp(line, kf[i].name, nl) != 0 || line[nl] != ' ')
            REJECT("line %d is not the '%s' field", i + 2, kf[i].name);
        if (strcmp(line + nl + 1, kf[i].value) != 0)
            REJECT("written for another device or version: %s '%s', this one is '%s'", kf[i].name, line + nl + 1,
                   kf[i].value);
    }
    int line_no = N_KEY_FIELDS + 1;
    while ((line = next_line(text, body, &pos)) != NULL) {
        line_no++;
        spk_tune_param p;
        char kernel[64], name[64];
        unsigned long long value;
        int used = 0;
        if (sscanf(line, "param %63s %63s %llu%n", kernel, name, &value, &used) != 3 || line[used] != '\0')
            REJECT("line %d: expected 'param <kernel> <name> <value>', got '%.80s'", line_no, line);
        if (out->n == SPK_TUNE_MAX_PARAMS || strlen(kernel) >= sizeof p.kernel || strlen(name) >= sizeof p.name)
            REJECT("line %d: too many or too long parameters", line_no);
        snprintf(p.kernel, sizeof p.kernel, "%s", kernel);
        snprintf(p.name, sizeof p.name, "%s", name);
        p.value = (size_t)value;
        out->p[out->n++] = p;
    }
    if (declared != out->n)
        REJECT("the end line counts %zu parameters, the file has %zu", declared, out->n);
    char bad[512];
    if (!spk__tune_params_check(ctx, out, bad, sizeof bad))
        REJECT("parameters CLBlast would reject: %s", bad);
done:
    if (st != SPK_OK)
        memset(out, 0, sizeof *out);
    fclose(f);
    spk__free(text);
    return st;
}
