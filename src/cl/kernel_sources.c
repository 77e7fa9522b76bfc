#include <stdio.h>
#include <string.h>

#include "cl/kernel_sources.h"

static int is_header(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".clh") == 0;
}

static const spk__embedded_file *find_embedded(const char *name)
{
    for (size_t i = 0; i < spk__embedded_file_count; i++)
        if (strcmp(spk__embedded_files[i].name, name) == 0)
            return &spk__embedded_files[i];
    return NULL;
}

static spk_status read_file(spk_context *ctx, const char *dir, const char *name, char **data, size_t *size)
{
    spk_status st = SPK_OK;
    char path[4096];
    char *buf = NULL;
    FILE *f = NULL;
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    SPK_CHECK(ctx, n > 0 && (size_t)n < sizeof path, SPK_ERR_INVALID_ARGUMENT, "kernel path too long: %s", dir);
    f = fopen(path, "rb");
    SPK_CHECK(ctx, f != NULL, SPK_ERR_IO, "cannot open kernel source %s (kernel directory from "
              "SPIKECL_KERNEL_DIR or the kernel_dir option)", path);
    SPK_CHECK(ctx, fseek(f, 0, SEEK_END) == 0, SPK_ERR_IO, "cannot read %s", path);
    long len = ftell(f);
    SPK_CHECK(ctx, len >= 0 && fseek(f, 0, SEEK_SET) == 0, SPK_ERR_IO, "cannot read %s", path);
    buf = spk__malloc((size_t)len + 1);
    SPK_CHECK(ctx, buf != NULL, SPK_ERR_OUT_OF_MEMORY, "out of host memory reading %s", path);
    SPK_CHECK(ctx, fread(buf, 1, (size_t)len, f) == (size_t)len, SPK_ERR_IO, "cannot read %s", path);
    buf[len] = '\0';
    *data = buf;
    *size = (size_t)len;
    buf = NULL;
fail:
    spk__free(buf);
    if (f)
        fclose(f);
    return st;
}

static spk_status add_part(spk_context *ctx, spk__source_text *out, const char *name)
{
    spk_status st = SPK_OK;
    SPK_CHECK(ctx, out->n_parts < SPK_MAX_SOURCE_PARTS, SPK_ERR_INVALID_ARGUMENT, "too many kernel source parts");
    size_t i = out->n_parts;
    if (ctx->kernel_dir) {
        SPK_TRY(read_file(ctx, ctx->kernel_dir, name, &out->owned[i], &out->lengths[i]));
        out->parts[i] = out->owned[i];
    } else {
        const spk__embedded_file *f = find_embedded(name);
        SPK_CHECK(ctx, f != NULL, SPK_ERR_INVALID_ARGUMENT, "no kernel source named %s in this build", name);
        out->parts[i] = (const char *)f->data;
        out->lengths[i] = f->size;
    }
    out->n_parts++;
fail:
    return st;
}

/* "#undef NAME\n" for every `#define NAME` line of text[0 .. n), as an owned part. */
static spk_status add_undefs(spk_context *ctx, spk__source_text *out, const char *text, size_t n)
{
    spk_status st = SPK_OK;
    SPK_CHECK(ctx, out->n_parts < SPK_MAX_SOURCE_PARTS, SPK_ERR_INVALID_ARGUMENT, "too many kernel source parts");
    size_t cap = 1, len = 0;
    for (size_t i = 0; i < n; i++)
        cap += text[i] == '#' ? 8 : 1; /* "#undef " per '#' and the name's own bytes: enough */
    char *buf = spk__malloc(cap);
    SPK_CHECK(ctx, buf != NULL, SPK_ERR_OUT_OF_MEMORY, "out of host memory loading kernel sources");
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && (text[j] == ' ' || text[j] == '\t'))
            j++;
        if (n - j > 7 && memcmp(text + j, "#define", 7) == 0 && (text[j + 7] == ' ' || text[j + 7] == '\t')) {
            j += 7;
            while (j < n && (text[j] == ' ' || text[j] == '\t'))
                j++;
            size_t k = j;
            while (k < n && (text[k] == '_' || (text[k] >= '0' && text[k] <= '9') || ((text[k] | 32) >= 'a' && (text[k] | 32) <= 'z')))
                k++;
            if (k > j) {
                len += (size_t)sprintf(buf + len, "#undef %.*s\n", (int)(k - j), text + j);
            }
        }
        while (i < n && text[i] != '\n')
            i++;
        i++;
    }
    buf[len] = '\0';
    out->owned[out->n_parts] = buf;
    out->parts[out->n_parts] = buf;
    out->lengths[out->n_parts++] = len;
fail:
    return st;
}

spk_status spk__source_load_files(spk_context *ctx, const char *const *files, size_t n, spk__source_text *out)
{
    spk_status st = SPK_OK;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < spk__embedded_file_count; i++)
        if (is_header(spk__embedded_files[i].name))
            SPK_TRY(add_part(ctx, out, spk__embedded_files[i].name));
    out->n_headers = out->n_parts;
    for (size_t f = 0; f < n; f++) {
        SPK_TRY(add_part(ctx, out, files[f]));
        if (f + 1 < n)
            SPK_TRY(add_undefs(ctx, out, out->parts[out->n_parts - 1], out->lengths[out->n_parts - 1]));
    }
    return SPK_OK;
fail:
    spk__source_free(out);
    return st;
}

spk_status spk__source_load(spk_context *ctx, const char *file, spk__source_text *out)
{
    return spk__source_load_files(ctx, &file, 1, out);
}

void spk__source_free(spk__source_text *src)
{
    for (size_t i = 0; i < SPK_MAX_SOURCE_PARTS; i++)
        spk__free(src->owned[i]);
    memset(src, 0, sizeof *src);
}

size_t spk__source_files_max(void)
{
    size_t headers = 0;
    for (size_t i = 0; i < spk__embedded_file_count; i++)
        headers += is_header(spk__embedded_files[i].name);
    return headers < SPK_MAX_SOURCE_PARTS ? (SPK_MAX_SOURCE_PARTS - headers + 1) / 2 : 0;
}

size_t spk__program_names(const char **names, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < spk__embedded_file_count; i++)
        if (!is_header(spk__embedded_files[i].name)) {
            if (n < cap)
                names[n] = spk__embedded_files[i].name;
            n++;
        }
    return n;
}
