/**
 * @file checkpoint.h
 * Checkpoints: a network's parameters in a versioned binary file.
 *
 * Layout (all integers little-endian):
 *
 *     magic        8 bytes "SPKCKPT\0"
 *     version      u32 (1)
 *     arch length  u32, then that many bytes of architecture text (UTF-8,
 *                  e.g. "preset=mlp steps=25 hidden=256"; what a program
 *                  needs to rebuild the network)
 *     count        u32 parameters, then for each:
 *                    name length u32, name bytes,
 *                    ndim u32, ndim extents u64,
 *                    the values as IEEE-754 f32, row-major
 *     crc32        u32 of every byte before it (zlib's crc32)
 *
 * Files are written to a temporary name and renamed, so a crash never
 * leaves a half-written checkpoint behind.
 */
#ifndef SPIKECL_CHECKPOINT_H
#define SPIKECL_CHECKPOINT_H

#include "spikecl/network.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SPK_CHECKPOINT_VERSION 1

/**
 * Write every parameter of a built network and @p arch to @p path, atomically.
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_INVALID_ARGUMENT (network not
 *         built), SPK_ERR_IO (with the path and the system's reason).
 */
SPK_API spk_status spk_checkpoint_save(spk_network *net, const char *path, const char *arch);

/**
 * Read the architecture text of a checkpoint into @p arch (NUL-terminated,
 * at most @p cap bytes), checking the whole file's integrity first.
 * @return SPK_OK, SPK_ERR_IO, SPK_ERR_CORRUPT (bad magic, unknown version,
 *         truncated, checksum mismatch), SPK_ERR_INVALID_ARGUMENT (cap too small).
 */
SPK_API spk_status spk_checkpoint_arch(const char *path, char *arch, size_t cap);

/**
 * Load the parameters of @p path into a built network whose parameters
 * match in number, names and shapes.
 * @return SPK_OK, SPK_ERR_IO, SPK_ERR_CORRUPT, SPK_ERR_SHAPE (a mismatch,
 *         naming the parameter and both shapes).
 */
SPK_API spk_status spk_checkpoint_load(spk_network *net, const char *path);

#ifdef __cplusplus
}
#endif
#endif
