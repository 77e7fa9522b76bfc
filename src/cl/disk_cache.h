#ifndef SPK_DISK_CACHE_H
#define SPK_DISK_CACHE_H
#include "cl/kernel_sources.h"

/* Bumped whenever the file layout or the key changes. */
#define SPK_DISK_CACHE_FORMAT 1

/* Load a program binary matching (source, options, device, driver,
 * platform, format). Anything missing, corrupt or mismatched is not an
 * error: it returns non-OK and the caller compiles from source. */
spk_status spk__disk_cache_load(spk_context *ctx, const spk__source_text *src, const char *options,
                                cl_program *out);

/* Write the program's binary atomically (temp file, then rename). */
void spk__disk_cache_store(spk_context *ctx, const spk__source_text *src, const char *options, cl_program prog);
#endif
