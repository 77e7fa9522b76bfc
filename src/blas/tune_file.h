/* The tuned-parameters file of one device: a text file in the cache
 * directory, named by a hash of its key (device, vendor, versions of the
 * device, driver, platform and CLBlast, precision):
 *
 *   spikecl-clblast-tuning 1
 *   device <name>            (the key: one line per field, compared on load)
 *   ...
 *   param <kernel> <name> <value>
 *   ...
 *   end <number of params> <crc32 of everything above, hex>
 *
 * Written to a temp file and renamed. On load anything unexpected (magic,
 * format, checksum, a missing end line, another device, parameters CLBlast
 * would reject) is reported with the reason and the file is ignored. */
#ifndef SPK_TUNE_FILE_H
#define SPK_TUNE_FILE_H

#include "cl/cl_internal.h"

#define SPK_TUNE_FILE_FORMAT 1

/* The file of ctx's device in its cache directory; 0 when the disk cache is off. */
int spk__tune_file_path(const spk_context *ctx, char *path, size_t cap);

/* 1 when every kernel in p is complete and valid on ctx's device; else 0 and why. */
int spk__tune_params_check(const spk_context *ctx, const spk_tune_params *p, char *why, size_t cap);

/* Write p (checked by the caller) to path atomically. SPK_ERR_IO with the detail on ctx on failure. */
spk_status spk__tune_file_write(spk_context *ctx, const char *path, const spk_tune_params *p);

/* Read path: SPK_OK, SPK_ERR_IO when it cannot be opened (why says so), or
 * SPK_ERR_CORRUPT with the reason in why. Sets no error on ctx. */
spk_status spk__tune_file_read(const spk_context *ctx, const char *path, spk_tune_params *out, char *why,
                               size_t cap);
#endif
