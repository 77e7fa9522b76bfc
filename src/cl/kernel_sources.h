/* The kernel sources: embedded at build time (tools/embed_kernels.py), or
 * read from a directory when SPIKECL_KERNEL_DIR / the kernel_dir option is
 * set. A program's source is every header (*.clh) followed by its file, or
 * by several files (a bundle, cl/program_bundle.h), each but the last
 * followed by #undef lines for the macros it defines. */
#ifndef SPK_KERNEL_SOURCES_H
#define SPK_KERNEL_SOURCES_H
#include <stddef.h>

#include "cl/cl_internal.h"

typedef struct spk__embedded_file {
    const char *name;
    const unsigned char *data;
    size_t size;
} spk__embedded_file;

/* Generated: every file of kernels/, headers first, in name order. */
extern const spk__embedded_file spk__embedded_files[];
extern const size_t spk__embedded_file_count;

#define SPK_MAX_SOURCE_PARTS 16

typedef struct spk__source_text {
    size_t n_parts;
    size_t n_headers; /* parts[0 .. n_headers) are the headers; file i is parts[n_headers + 2 i] */
    const char *parts[SPK_MAX_SOURCE_PARTS];
    size_t lengths[SPK_MAX_SOURCE_PARTS];
    char *owned[SPK_MAX_SOURCE_PARTS]; /* buffers read from a directory */
} spk__source_text;

spk_status spk__source_load(spk_context *ctx, const char *file, spk__source_text *out);
/* The headers, then files[0 .. n), each but the last followed by a part
 * that #undefs the macros it #defines (so none leaks into the next). */
spk_status spk__source_load_files(spk_context *ctx, const char *const *files, size_t n, spk__source_text *out);
void spk__source_free(spk__source_text *src);

/* How many files spk__source_load_files can take: headers, files and the
 * #undef parts between them within SPK_MAX_SOURCE_PARTS. */
size_t spk__source_files_max(void);

/* Names of the programs (*.cl, not headers), for warm-up and listings. */
size_t spk__program_names(const char **names, size_t cap);
#endif
