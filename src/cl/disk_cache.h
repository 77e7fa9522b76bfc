#ifndef SPK_DISK_CACHE_H
#define SPK_DISK_CACHE_H
#include "cl/kernel_sources.h"

/* FNV-1a over n bytes, continuing from h (start with SPK_FNV_OFFSET). */
#define SPK_FNV_OFFSET 14695981039346656037ull
uint64_t spk__fnv1a(uint64_t h, const void *data, size_t n);

/* mkdir -p; returns 1 on success. */
int spk__make_dirs(const char *dir);

/* Bumped whenever the file layout or the key changes. */
#define SPK_DISK_CACHE_FORMAT 1

/* The key of a program: source hash, build options, device, driver,
 * platform and format, as text. NULL when out of host memory. */
char *spk__disk_cache_key(const spk_context *ctx, const spk__source_text *src, const char *options);

/* Load the program binary stored under `key`. Anything missing, corrupt or
 * mismatched is not an error: it returns non-OK and the caller compiles
 * from source. */
spk_status spk__disk_cache_load(spk_context *ctx, const char *key, const char *options, cl_program *out);

/* Write the program's binary atomically (temp file, then rename). Best
 * effort: returns 1 when written, 0 (with a logged warning) otherwise. */
int spk__disk_cache_store(spk_context *ctx, const char *key, cl_program prog);
#endif
