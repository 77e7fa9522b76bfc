/**
 * @file data.h
 * Datasets on the host: images and labels in the IDX format of MNIST and
 * Fashion-MNIST, plain or gzip-compressed.
 */
#ifndef SPIKECL_DATA_H
#define SPIKECL_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "spikecl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Images [n, rows, cols] of bytes and their labels, in host memory. */
typedef struct spk_dataset {
    size_t n;              /**< number of samples */
    size_t rows, cols;     /**< image size */
    size_t num_classes;    /**< 1 + the largest label */
    uint8_t *images;       /**< n * rows * cols bytes, row-major */
    uint8_t *labels;       /**< n bytes */
} spk_dataset;

/**
 * Load an IDX image file (magic 0x00000803) and an IDX label file (magic
 * 0x00000801), each plain or gzip-compressed.
 * @return SPK_OK, SPK_ERR_NULL_POINTER, SPK_ERR_IO (missing or unreadable
 *         file), SPK_ERR_CORRUPT (bad magic, truncated, counts that differ,
 *         gzip errors), SPK_ERR_OUT_OF_MEMORY. The detail is in
 *         spk_context_last_error(NULL).
 */
SPK_API spk_status spk_dataset_load_idx(const char *images_path, const char *labels_path, spk_dataset **out);

/**
 * Load the Fashion-MNIST split "train" or "test" from @p dir (NULL: the
 * directory of Debian's dataset-fashion-mnist package,
 * /usr/share/datasets/fashion-mnist). When the files are absent the message
 * names the package to install.
 */
SPK_API spk_status spk_dataset_load_fashion_mnist(const char *dir, const char *split, spk_dataset **out);

/** Free a dataset. Accepts NULL. */
SPK_API void spk_dataset_free(spk_dataset *d);

#define SPK_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

#ifdef __cplusplus
}
#endif
#endif
