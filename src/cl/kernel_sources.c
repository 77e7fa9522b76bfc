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

spk_status spk__source_load(spk_context *ctx, const char *file, spk__source_text *out)
{
    spk_status st = SPK_OK;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < spk__embedded_file_count; i++)
        if (is_header(spk__embedded_files[i].name))
            SPK_TRY(add_part(ctx, out, spk__embedded_files[i].name));
    SPK_TRY(add_part(ctx, out, file));
    return SPK_OK;
fail:
    spk__source_free(out);
    return st;
}

void spk__source_free(spk__source_text *src)
{
    for (size_t i = 0; i < SPK_MAX_SOURCE_PARTS; i++)
        spk__free(src->owned[i]);
    memset(src, 0, sizeof *src);
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
