/* IDX files (MNIST format) through zlib, which reads plain and gzip files
 * alike. Every header field is checked before it sizes an allocation. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "core/core.h"

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_MAX_ITEMS 100000000u
#define IDX_MAX_SIDE 65536u
#define IDX_MAX_RATIO 1032u /* deflate's largest expansion */

/* Read exactly n bytes; SPK_ERR_CORRUPT on a short read or a gzip error. */
static spk_status read_exact(gzFile f, const char *path, void *dst, size_t n, const char *what)
{
    unsigned char *p = dst;
    while (n > 0) {
        unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        int got = gzread(f, p, chunk);
        if (got <= 0) {
            int zerr = 0;
            const char *msg = gzerror(f, &zerr);
            if (zerr == Z_ERRNO) /* a read error (e.g. a directory), not bad data */
                return spk__error(NULL, SPK_ERR_IO, "cannot read %s (the %s)", msg, what);
            if (zerr != Z_OK && zerr != Z_BUF_ERROR)
                return spk__error(NULL, SPK_ERR_CORRUPT, "%s: %s while reading %s", path, msg, what);
            return spk__error(NULL, SPK_ERR_CORRUPT, "%s: file is truncated (ends inside the %s)", path, what);
        }
        p += got;
        n -= (size_t)got;
    }
    return SPK_OK;
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Open, check the magic and read the dimensions (ndim of them); file_size
 * receives the size on disk. */
static spk_status open_idx(const char *path, uint32_t magic, int ndim, uint32_t *dims, gzFile *out,
                           uint64_t *file_size)
{
    spk_status st = SPK_OK;
    unsigned char hdr[4 * 4];
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return spk__error(NULL, SPK_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    long size = fseek(probe, 0, SEEK_END) == 0 ? ftell(probe) : -1;
    *file_size = size >= 0 ? (uint64_t)size : UINT64_MAX / IDX_MAX_RATIO; /* unknown (a pipe): no bound */
    fclose(probe);
    gzFile f = gzopen(path, "rb");
    SPK_CHECK(NULL, f != NULL, SPK_ERR_IO, "cannot open %s", path);
    SPK_TRY(read_exact(f, path, hdr, 4, "IDX header"));
    SPK_CHECK(NULL, be32(hdr) == magic, SPK_ERR_CORRUPT,
              "%s: not an IDX %s file (magic 0x%08x, expected 0x%08x)", path,
              magic == IDX_MAGIC_IMAGES ? "image" : "label", be32(hdr), magic);
    SPK_TRY(read_exact(f, path, hdr + 4, 4 * (size_t)ndim, "IDX header"));
    for (int i = 0; i < ndim; i++) {
        dims[i] = be32(hdr + 4 + 4 * i);
        SPK_CHECK(NULL, dims[i] > 0 && dims[i] <= (i == 0 ? IDX_MAX_ITEMS : IDX_MAX_SIDE), SPK_ERR_CORRUPT,
                  "%s: implausible dimension %d of the IDX header: %u", path, i, dims[i]);
    }
    *out = f;
    return SPK_OK;
fail:
    if (f)
        gzclose(f);
    return st;
}

/* After the payload the file must end: trailing bytes mean a mismatch. */
static spk_status expect_end(gzFile f, const char *path)
{
    unsigned char extra;
    int got = gzread(f, &extra, 1);
    if (got > 0)
        return spk__error(NULL, SPK_ERR_CORRUPT, "%s: data continues past the size its header gives", path);
    int zerr = 0;
    const char *msg = gzerror(f, &zerr);
    if (zerr != Z_OK && zerr != Z_BUF_ERROR)
        return spk__error(NULL, SPK_ERR_CORRUPT, "%s: %s", path, msg);
    return SPK_OK;
}

spk_status spk_dataset_load_idx(const char *images_path, const char *labels_path, spk_dataset **out)
{
    spk_status st = SPK_OK;
    spk_dataset *d = NULL;
    gzFile fi = NULL, fl = NULL;
    uint32_t di[3] = {0}, dl[1] = {0}; /* zeroed: GCC -O2 cannot see that open_idx sets them on success */
    uint64_t size_i = 0, size_l = 0;
    spk__clear_error(NULL);
    SPK_CHECK(NULL, images_path && labels_path && out, SPK_ERR_NULL_POINTER,
              "spk_dataset_load_idx: a path or out is NULL");
    *out = NULL;
    SPK_TRY(open_idx(images_path, IDX_MAGIC_IMAGES, 3, di, &fi, &size_i));
    SPK_TRY(open_idx(labels_path, IDX_MAGIC_LABELS, 1, dl, &fl, &size_l));
    SPK_CHECK(NULL, di[0] == dl[0], SPK_ERR_CORRUPT, "%s holds %u images but %s holds %u labels", images_path, di[0],
              labels_path, dl[0]);
    /* Deflate expands at most 1032:1, so no file of this size holds more:
     * a header that promises more is corrupt, and must not size an allocation. */
    uint64_t pixels = (uint64_t)di[0] * di[1] * di[2];
    SPK_CHECK(NULL, pixels <= size_i * IDX_MAX_RATIO, SPK_ERR_CORRUPT,
              "%s: the header announces %u images of %ux%u, more than a file of %llu bytes can hold", images_path,
              di[0], di[1], di[2], (unsigned long long)size_i);
    SPK_CHECK(NULL, dl[0] <= size_l * IDX_MAX_RATIO, SPK_ERR_CORRUPT,
              "%s: the header announces %u labels, more than a file of %llu bytes can hold", labels_path, dl[0],
              (unsigned long long)size_l);
    d = spk__calloc(1, sizeof *d);
    SPK_CHECK(NULL, d != NULL, SPK_ERR_OUT_OF_MEMORY, "out of host memory loading %s", images_path);
    d->n = di[0], d->rows = di[1], d->cols = di[2];
    d->images = spk__malloc(d->n * d->rows * d->cols);
    d->labels = spk__malloc(d->n);
    SPK_CHECK(NULL, d->images && d->labels, SPK_ERR_OUT_OF_MEMORY, "out of host memory for %zu images of %zux%zu",
              d->n, d->rows, d->cols);
    SPK_TRY(read_exact(fi, images_path, d->images, d->n * d->rows * d->cols, "pixel data"));
    SPK_TRY(expect_end(fi, images_path));
    SPK_TRY(read_exact(fl, labels_path, d->labels, d->n, "labels"));
    SPK_TRY(expect_end(fl, labels_path));
    for (size_t i = 0; i < d->n; i++)
        if (d->labels[i] + 1u > d->num_classes)
            d->num_classes = d->labels[i] + 1u;
    *out = d;
    d = NULL;
fail:
    if (fi)
        gzclose(fi);
    if (fl)
        gzclose(fl);
    spk_dataset_free(d);
    return st;
}

spk_status spk_dataset_load_fashion_mnist(const char *dir, const char *split, spk_dataset **out)
{
    spk_status st = SPK_OK;
    char img[4096], lab[4096];
    SPK_CHECK(NULL, split && out, SPK_ERR_NULL_POINTER, "spk_dataset_load_fashion_mnist: split or out is NULL");
    SPK_CHECK(NULL, strcmp(split, "train") == 0 || strcmp(split, "test") == 0, SPK_ERR_INVALID_ARGUMENT,
              "Fashion-MNIST split must be \"train\" or \"test\", not \"%s\"", split);
    const char *base = dir ? dir : SPK_FASHION_MNIST_DIR;
    const char *prefix = strcmp(split, "train") == 0 ? "train" : "t10k";
    snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte.gz", base, prefix);
    snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte.gz", base, prefix);
    FILE *probe = fopen(img, "rb");
    if (!probe && !dir)
        return spk__error(NULL, SPK_ERR_IO,
                          "Fashion-MNIST not found (%s is missing): install it with 'apt-get install "
                          "dataset-fashion-mnist', or give the directory holding the IDX files", img);
    if (probe)
        fclose(probe);
    st = spk_dataset_load_idx(img, lab, out);
fail:
    return st;
}

void spk_dataset_free(spk_dataset *d)
{
    if (!d)
        return;
    spk__free(d->images);
    spk__free(d->labels);
    spk__free(d);
}
