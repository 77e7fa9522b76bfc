/* IDX loading: small files written here (plain and gzip) round-trip; every
 * corruption is refused with a message naming the file; headers are
 * checked before they size an allocation; allocation failures are clean;
 * Fashion-MNIST from its Debian package when installed. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"

#define IMG_MAGIC 0x00000803u
#define LAB_MAGIC 0x00000801u

static char g_dir[256];

static void make_dir(void)
{
    snprintf(g_dir, sizeof g_dir, "%s/spikecl-data-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    cr_assert(mkdtemp(g_dir) != NULL, "mkdtemp failed");
}

static void remove_dir(void)
{
    DIR *d = opendir(g_dir);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", g_dir, e->d_name);
        struct stat s;
        if (stat(path, &s) == 0 && S_ISDIR(s.st_mode))
            rmdir(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(g_dir);
}

/* A path inside the test directory; each call gets its own buffer. */
static const char *path_of(const char *name)
{
    static char buf[128][512];
    static int next;
    cr_assert(next < 128, "path_of: out of buffers");
    char *p = buf[next++];
    snprintf(p, 512, "%s/%s", g_dir, name);
    return p;
}

/* A file image in memory. */
typedef struct bytes {
    unsigned char *p;
    size_t n, cap;
} bytes;

static void put(bytes *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        cr_assert(b->p);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put_be32(bytes *b, uint32_t v)
{
    unsigned char c[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                          (unsigned char)v};
    put(b, c, 4);
}

/* An IDX file: magic, dims, payload. */
static bytes idx_bytes(uint32_t magic, int ndim, const uint32_t *dims, const uint8_t *payload, size_t n)
{
    bytes b = {0};
    put_be32(&b, magic);
    for (int i = 0; i < ndim; i++)
        put_be32(&b, dims[i]);
    if (n)
        put(&b, payload, n);
    return b;
}

static void write_file(const char *path, const bytes *b, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        cr_assert(f, "gzopen %s", path);
        if (b->n)
            cr_assert(gzwrite(f, b->p, (unsigned)b->n) == (int)b->n);
        cr_assert(gzclose(f) == Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        cr_assert(f, "fopen %s", path);
        if (b->n)
            cr_assert(fwrite(b->p, 1, b->n, f) == b->n);
        cr_assert(fclose(f) == 0);
    }
}

static bytes read_raw(const char *path)
{
    bytes b = {0};
    FILE *f = fopen(path, "rb");
    cr_assert(f);
    unsigned char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        put(&b, buf, got);
    fclose(f);
    return b;
}

/* n images of rows x cols and their labels, with pixel values covering 0..255. */
typedef struct sample_set {
    uint32_t n, rows, cols;
    uint8_t *pixels, *labels;
} sample_set;

static sample_set make_set(uint32_t n, uint32_t rows, uint32_t cols, uint8_t max_label)
{
    sample_set s = {n, rows, cols, malloc((size_t)n * rows * cols), malloc(n)};
    cr_assert(s.pixels && s.labels);
    for (size_t i = 0; i < (size_t)n * rows * cols; i++)
        s.pixels[i] = (uint8_t)(i * 37 + 11);
    for (uint32_t i = 0; i < n; i++)
        s.labels[i] = (uint8_t)((i * 3) % (max_label + 1u));
    s.labels[n / 2] = max_label;
    return s;
}

static void free_set(sample_set *s)
{
    free(s->pixels), free(s->labels);
}

static void write_images(const char *path, const sample_set *s, int gz)
{
    uint32_t dims[3] = {s->n, s->rows, s->cols};
    bytes b = idx_bytes(IMG_MAGIC, 3, dims, s->pixels, (size_t)s->n * s->rows * s->cols);
    write_file(path, &b, gz);
    free(b.p);
}

static void write_labels(const char *path, const sample_set *s, int gz)
{
    bytes b = idx_bytes(LAB_MAGIC, 1, &s->n, s->labels, s->n);
    write_file(path, &b, gz);
    free(b.p);
}

static void check_set(const spk_dataset *d, const sample_set *s, uint8_t max_label, const char *what)
{
    cr_assert_eq(d->n, s->n, "%s: n", what);
    cr_assert_eq(d->rows, s->rows, "%s: rows", what);
    cr_assert_eq(d->cols, s->cols, "%s: cols", what);
    cr_assert_eq(d->num_classes, max_label + 1u, "%s: %zu classes", what, d->num_classes);
    cr_assert(memcmp(d->images, s->pixels, (size_t)s->n * s->rows * s->cols) == 0, "%s: pixels differ", what);
    cr_assert(memcmp(d->labels, s->labels, s->n) == 0, "%s: labels differ", what);
}

#define ASSERT_LOAD_FAILS(img, lab, want, needle)                                                                \
    do {                                                                                                         \
        spk_dataset *d_ = (spk_dataset *)&g_dir;                                                                 \
        spk_status st_ = spk_dataset_load_idx((img), (lab), &d_);                                                \
        cr_assert(st_ == (want), "load(%s, %s) returned %s, expected %s (%s)", (img), (lab),                    \
                  spk_status_name(st_), spk_status_name(want), spk_context_last_error(NULL));                   \
        cr_assert(d_ == NULL, "load(%s, %s) failed but left out set", (img), (lab));                             \
        cr_assert(strstr(spk_context_last_error(NULL), (needle)) != NULL, "load(%s, %s): '%s' lacks '%s'", (img), \
                  (lab), spk_context_last_error(NULL), (needle));                                                \
    } while (0)

Test(data, idx_round_trip_plain_and_gzip)
{
    make_dir();
    struct {
        uint32_t n, rows, cols;
        uint8_t max_label;
        int gz_images, gz_labels;
    } cases[] = {
        {7, 5, 3, 4, 0, 0},   {7, 5, 3, 4, 1, 1},    {7, 5, 3, 4, 1, 0},   {7, 5, 3, 4, 0, 1},
        {1, 1, 1, 0, 0, 0},   {300, 28, 28, 9, 1, 1}, {20, 2, 9, 255, 0, 1}, {3, 64, 1, 1, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sample_set s = make_set(cases[i].n, cases[i].rows, cases[i].cols, cases[i].max_label);
        const char *img = path_of(cases[i].gz_images ? "img.gz" : "img");
        const char *lab = path_of(cases[i].gz_labels ? "lab.gz" : "lab");
        write_images(img, &s, cases[i].gz_images);
        write_labels(lab, &s, cases[i].gz_labels);
        spk_dataset *d = NULL;
        spk_status st = spk_dataset_load_idx(img, lab, &d);
        cr_assert(st == SPK_OK, "case %zu: %s: %s", i, spk_status_name(st), spk_context_last_error(NULL));
        char what[32];
        snprintf(what, sizeof what, "case %zu", i);
        check_set(d, &s, cases[i].max_label, what);
        spk_dataset_free(d);
        free_set(&s);
        unlink(img), unlink(lab);
    }
    spk_dataset_free(NULL);
    remove_dir();
}

/* gzip files that the whole-file inflate (libdeflate, where built) passes to
 * zlib's stream: two members one after the other (gzip -c a b > ab), and a
 * trailer whose size field is wrong (zlib checks the CRC and the length only
 * at the end; the file is corrupt). Both readers give the same bytes. */
Test(data, idx_gzip_members_and_bad_trailer)
{
    make_dir();
    sample_set s = make_set(40, 6, 5, 7);
    const char *lab = path_of("lab"), *one = path_of("one.gz"), *two = path_of("two.gz");
    write_labels(lab, &s, 0);
    uint32_t dims[3] = {40, 6, 5};
    bytes b = idx_bytes(IMG_MAGIC, 3, dims, s.pixels, 40 * 6 * 5);
    const size_t half = b.n / 2;
    bytes first = {0}, second = {0};
    put(&first, b.p, half);
    put(&second, b.p + half, b.n - half);
    write_file(path_of("m1.gz"), &first, 1);
    write_file(path_of("m2.gz"), &second, 1);
    bytes m1 = read_raw(path_of("m1.gz")), m2 = read_raw(path_of("m2.gz")), both = {0};
    put(&both, m1.p, m1.n);
    put(&both, m2.p, m2.n);
    write_file(two, &both, 0);
    spk_dataset *d = NULL;
    cr_assert(spk_dataset_load_idx(two, lab, &d) == SPK_OK, "two members: %s", spk_context_last_error(NULL));
    check_set(d, &s, 7, "two gzip members");
    spk_dataset_free(d);

    write_file(one, &b, 1);
    bytes raw = read_raw(one);
    raw.p[raw.n - 4] ^= 0x01; /* ISIZE, the length modulo 2^32, one off */
    write_file(one, &raw, 0);
    ASSERT_LOAD_FAILS(one, lab, SPK_ERR_CORRUPT, one);
    free(b.p), free(first.p), free(second.p), free(m1.p), free(m2.p), free(both.p), free(raw.p);
    free_set(&s);
    remove_dir();
}

Test(data, idx_errors_name_the_file)
{
    make_dir();
    sample_set s = make_set(7, 5, 3, 4);
    const size_t npix = 7 * 5 * 3;
    const char *img = path_of("good-images"), *lab = path_of("good-labels");
    const char *img_gz = path_of("good-images.gz");
    write_images(img, &s, 0);
    write_labels(lab, &s, 0);
    write_images(img_gz, &s, 1);
    uint32_t dims[3] = {7, 5, 3};

    /* Missing files: SPK_ERR_IO naming the path. */
    const char *missing = path_of("no-such-file");
    ASSERT_LOAD_FAILS(missing, lab, SPK_ERR_IO, missing);
    ASSERT_LOAD_FAILS(img, missing, SPK_ERR_IO, missing);
    /* A directory is no readable file either. */
    ASSERT_LOAD_FAILS(g_dir, lab, SPK_ERR_IO, g_dir);

    /* Magic numbers: swapped files, garbage. */
    ASSERT_LOAD_FAILS(lab, img, SPK_ERR_CORRUPT, lab);
    ASSERT_LOAD_FAILS(lab, img, SPK_ERR_CORRUPT, "magic");
    ASSERT_LOAD_FAILS(img, img, SPK_ERR_CORRUPT, "magic");
    const char *garbage = path_of("garbage.gz");
    bytes g = idx_bytes(0x1f8b0800u, 3, dims, s.pixels, npix);
    write_file(garbage, &g, 1);
    free(g.p);
    ASSERT_LOAD_FAILS(garbage, lab, SPK_ERR_CORRUPT, garbage);

    /* Empty file, truncated header (plain and gzip). */
    const char *empty = path_of("empty");
    bytes e = {0};
    write_file(empty, &e, 0);
    ASSERT_LOAD_FAILS(empty, lab, SPK_ERR_CORRUPT, empty);
    for (int gz = 0; gz <= 1; gz++) {
        const char *hdr = path_of(gz ? "short-header.gz" : "short-header");
        bytes h = idx_bytes(IMG_MAGIC, 2, dims, NULL, 0); /* the third dimension is missing */
        write_file(hdr, &h, gz);
        free(h.p);
        ASSERT_LOAD_FAILS(hdr, lab, SPK_ERR_CORRUPT, "truncated");
        ASSERT_LOAD_FAILS(hdr, lab, SPK_ERR_CORRUPT, hdr);
        const char *lhdr = path_of(gz ? "short-lheader.gz" : "short-lheader");
        bytes lh = {0};
        put_be32(&lh, LAB_MAGIC);
        put(&lh, "\0\0", 2);
        write_file(lhdr, &lh, gz);
        free(lh.p);
        ASSERT_LOAD_FAILS(img, lhdr, SPK_ERR_CORRUPT, lhdr);
    }

    /* Truncated payloads and trailing bytes, plain and gzip. */
    for (int gz = 0; gz <= 1; gz++) {
        const char *tp = path_of(gz ? "trunc-pixels.gz" : "trunc-pixels");
        bytes b = idx_bytes(IMG_MAGIC, 3, dims, s.pixels, npix - 1);
        write_file(tp, &b, gz);
        free(b.p);
        ASSERT_LOAD_FAILS(tp, lab, SPK_ERR_CORRUPT, "truncated");
        ASSERT_LOAD_FAILS(tp, lab, SPK_ERR_CORRUPT, tp);

        const char *tl = path_of(gz ? "trunc-labels.gz" : "trunc-labels");
        b = idx_bytes(LAB_MAGIC, 1, dims, s.labels, 6);
        write_file(tl, &b, gz);
        free(b.p);
        ASSERT_LOAD_FAILS(img, tl, SPK_ERR_CORRUPT, "truncated");
        ASSERT_LOAD_FAILS(img, tl, SPK_ERR_CORRUPT, tl);

        const char *xp = path_of(gz ? "extra-pixels.gz" : "extra-pixels");
        b = idx_bytes(IMG_MAGIC, 3, dims, s.pixels, npix);
        put(&b, "\x01\x02\x03", 3);
        write_file(xp, &b, gz);
        free(b.p);
        ASSERT_LOAD_FAILS(xp, lab, SPK_ERR_CORRUPT, xp);

        const char *xl = path_of(gz ? "extra-labels.gz" : "extra-labels");
        b = idx_bytes(LAB_MAGIC, 1, dims, s.labels, 7);
        put(&b, "\x00", 1);
        write_file(xl, &b, gz);
        free(b.p);
        ASSERT_LOAD_FAILS(img, xl, SPK_ERR_CORRUPT, xl);
    }

    /* Counts that differ: both files named. */
    sample_set s6 = make_set(6, 5, 3, 4);
    const char *lab6 = path_of("labels6");
    write_labels(lab6, &s6, 0);
    ASSERT_LOAD_FAILS(img, lab6, SPK_ERR_CORRUPT, img);
    ASSERT_LOAD_FAILS(img, lab6, SPK_ERR_CORRUPT, lab6);
    ASSERT_LOAD_FAILS(img_gz, lab6, SPK_ERR_CORRUPT, "7 images");
    free_set(&s6);

    /* A gzip stream with bytes flipped in the middle; one cut short inside
     * its compressed data. (One cut inside its 8-byte trailer alone still
     * loads: zlib's gzread stops at the end of the file without asking
     * inflate for the missing CRC, and reports no error.) */
    sample_set big = make_set(200, 20, 20, 9);
    for (size_t i = 0; i < 200 * 400; i++) /* compressible, but not trivially */
        big.pixels[i] = (uint8_t)((i * i) % 251 < 120 ? (i % 7) * 30 : 0);
    const char *big_img = path_of("big-images.gz"), *big_lab = path_of("big-labels");
    write_images(big_img, &big, 1);
    write_labels(big_lab, &big, 0);
    spk_dataset *d = NULL;
    cr_assert(spk_dataset_load_idx(big_img, big_lab, &d) == SPK_OK, "%s", spk_context_last_error(NULL));
    check_set(d, &big, 9, "big");
    spk_dataset_free(d);
    bytes raw = read_raw(big_img);
    cr_assert(raw.n > 200, "compressed size %zu", raw.n);
    const char *flipped = path_of("flipped.gz");
    for (int variant = 0; variant < 4; variant++) {
        bytes c = {0};
        put(&c, raw.p, raw.n);
        size_t at = raw.n / 5 + (size_t)variant * raw.n / 5;
        for (size_t k = 0; k < 4; k++)
            c.p[at + k] ^= 0x5a;
        write_file(flipped, &c, 0);
        free(c.p);
        ASSERT_LOAD_FAILS(flipped, big_lab, SPK_ERR_CORRUPT, flipped);
    }
    const char *cut = path_of("no-trailer.gz");
    for (size_t drop = 12; drop <= 40; drop += 28) {
        bytes c = {0};
        put(&c, raw.p, raw.n - drop);
        write_file(cut, &c, 0);
        free(c.p);
        ASSERT_LOAD_FAILS(cut, big_lab, SPK_ERR_CORRUPT, cut);
    }
    free(raw.p);
    free_set(&big);

    /* NULL arguments. */
    spk_dataset *out = NULL;
    cr_assert_eq(spk_dataset_load_idx(NULL, lab, &out), SPK_ERR_NULL_POINTER);
    cr_assert(strstr(spk_context_last_error(NULL), "NULL"));
    cr_assert_eq(spk_dataset_load_idx(img, NULL, &out), SPK_ERR_NULL_POINTER);
    cr_assert_eq(spk_dataset_load_idx(img, lab, NULL), SPK_ERR_NULL_POINTER);
    cr_assert(out == NULL);

    /* After all that, the good files still load. */
    cr_assert(spk_dataset_load_idx(img_gz, lab, &out) == SPK_OK, "%s", spk_context_last_error(NULL));
    check_set(out, &s, 4, "good files");
    spk_dataset_free(out);
    free_set(&s);
    remove_dir();
}

/* ---- Allocations --------------------------------------------------- */

static size_t g_max_alloc, g_live, g_calls, g_fail_at = (size_t)-1;

static void *tracking_malloc(size_t size, void *user)
{
    (void)user;
    if (g_calls++ == g_fail_at)
        return NULL;
    if (size > g_max_alloc)
        g_max_alloc = size;
    void *p = malloc(size);
    if (p)
        g_live++;
    return p;
}

static void tracking_free(void *p, void *user)
{
    (void)user;
    if (p)
        g_live--;
    free(p);
}

static void track(void)
{
    static const spk_allocator a = {tracking_malloc, tracking_free, NULL};
    g_max_alloc = g_live = g_calls = 0;
    g_fail_at = (size_t)-1;
    spk_set_allocator(&a);
}

/* Headers with implausible dimensions are refused as corrupt before they
 * size an allocation: zero, beyond the format's limits, or more data than
 * the file could hold even compressed. */
Test(data, implausible_dimensions_refused_before_allocating)
{
    make_dir();
    sample_set s = make_set(7, 5, 3, 4);
    const char *lab = path_of("labels");
    write_labels(lab, &s, 0);
    struct {
        uint32_t n, rows, cols;
        int gz;
    } cases[] = {
        {0, 5, 3, 0},           {7, 0, 3, 0},
        {7, 5, 0, 1},           {7, 5, 0xffffffffu, 0},
        {0x80000000u, 5, 3, 1}, {7, 70000, 70000, 0},
        {7, 65536, 65536, 1},   {100000000u, 65536, 65536, 0},
        {7, 28000, 28000, 1},   {7, 4000, 4000, 0},
    };
    uint8_t small[64] = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *img = path_of(cases[i].gz ? "bad-dims.gz" : "bad-dims");
        uint32_t dims[3] = {cases[i].n, cases[i].rows, cases[i].cols};
        bytes b = idx_bytes(IMG_MAGIC, 3, dims, small, sizeof small);
        write_file(img, &b, cases[i].gz);
        free(b.p);
        track();
        spk_dataset *d = NULL;
        spk_status st = spk_dataset_load_idx(img, lab, &d);
        spk_set_allocator(NULL);
        cr_assert(st == SPK_ERR_CORRUPT, "dims %u x %u x %u: %s (%s)", dims[0], dims[1], dims[2],
                  spk_status_name(st), spk_context_last_error(NULL));
        cr_assert(strstr(spk_context_last_error(NULL), img), "message '%s' does not name the file",
                  spk_context_last_error(NULL));
        cr_assert(g_max_alloc <= 1u << 20, "dims %u x %u x %u: allocated %zu bytes first", dims[0], dims[1],
                  dims[2], g_max_alloc);
        cr_assert_eq(g_live, 0, "dims %u x %u x %u: %zu allocations leaked", dims[0], dims[1], dims[2], g_live);
        unlink(img);
    }
    /* The label count too. */
    const char *img = path_of("images");
    write_images(img, &s, 0);
    const char *big_lab = path_of("huge-labels.gz");
    uint32_t n = 90000000u;
    bytes b = idx_bytes(LAB_MAGIC, 1, &n, s.labels, 7);
    write_file(big_lab, &b, 1);
    free(b.p);
    spk_dataset *d = NULL;
    cr_assert_eq(spk_dataset_load_idx(img, big_lab, &d), SPK_ERR_CORRUPT);
    free_set(&s);
    remove_dir();
}

/* Fail each host allocation in turn: SPK_ERR_OUT_OF_MEMORY, nothing leaked. */
Test(data, allocation_failures_are_clean)
{
    make_dir();
    sample_set s = make_set(9, 4, 4, 3);
    const char *img = path_of("i.gz"), *lab = path_of("l");
    write_images(img, &s, 1);
    write_labels(lab, &s, 0);
    size_t fail_at = 0;
    for (;; fail_at++) {
        track();
        g_fail_at = fail_at;
        spk_dataset *d = NULL;
        spk_status st = spk_dataset_load_idx(img, lab, &d);
        size_t calls = g_calls;
        if (st == SPK_OK) {
            spk_dataset_free(d);
            spk_set_allocator(NULL);
            cr_assert_eq(g_live, 0, "a successful load leaks after free");
            cr_assert(calls <= fail_at, "succeeded although allocation %zu failed", fail_at);
            break;
        }
        spk_set_allocator(NULL);
        cr_assert(st == SPK_ERR_OUT_OF_MEMORY, "allocation %zu failing gives %s: %s", fail_at, spk_status_name(st),
                  spk_context_last_error(NULL));
        cr_assert(d == NULL);
        cr_assert_eq(g_live, 0, "allocation %zu failing leaks %zu blocks", fail_at, g_live);
        cr_assert(fail_at < 100, "no end to the allocations");
    }
    cr_assert(fail_at >= 3, "only %zu allocations", fail_at);
    free_set(&s);
    remove_dir();
}

/* ---- Fashion-MNIST ------------------------------------------------- */

Test(data, fashion_mnist_arguments)
{
    make_dir();
    spk_dataset *d = (spk_dataset *)&g_dir;
    cr_assert_eq(spk_dataset_load_fashion_mnist(NULL, "validation", &d), SPK_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(spk_context_last_error(NULL), "validation"), "%s", spk_context_last_error(NULL));
    cr_assert_eq(spk_dataset_load_fashion_mnist(g_dir, "", &d), SPK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(spk_dataset_load_fashion_mnist(g_dir, "Train", &d), SPK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(spk_dataset_load_fashion_mnist(g_dir, NULL, &d), SPK_ERR_NULL_POINTER);
    cr_assert_eq(spk_dataset_load_fashion_mnist(g_dir, "train", NULL), SPK_ERR_NULL_POINTER);

    /* A directory without the files. */
    spk_status st = spk_dataset_load_fashion_mnist(g_dir, "test", &d);
    cr_assert_eq(st, SPK_ERR_IO, "%s", spk_status_name(st));
    cr_assert(strstr(spk_context_last_error(NULL), g_dir), "%s", spk_context_last_error(NULL));
    cr_assert(strstr(spk_context_last_error(NULL), "t10k-images-idx3-ubyte.gz"), "%s", spk_context_last_error(NULL));
    st = spk_dataset_load_fashion_mnist(path_of("not-there"), "train", &d);
    cr_assert_eq(st, SPK_ERR_IO, "%s", spk_status_name(st));

    /* A directory holding the four files under their usual names. */
    sample_set tr = make_set(12, 28, 28, 9), te = make_set(5, 28, 28, 9);
    write_images(path_of("train-images-idx3-ubyte.gz"), &tr, 1);
    write_labels(path_of("train-labels-idx1-ubyte.gz"), &tr, 1);
    write_images(path_of("t10k-images-idx3-ubyte.gz"), &te, 1);
    write_labels(path_of("t10k-labels-idx1-ubyte.gz"), &te, 1);
    cr_assert(spk_dataset_load_fashion_mnist(g_dir, "train", &d) == SPK_OK, "%s", spk_context_last_error(NULL));
    check_set(d, &tr, 9, "train");
    spk_dataset_free(d);
    cr_assert(spk_dataset_load_fashion_mnist(g_dir, "test", &d) == SPK_OK, "%s", spk_context_last_error(NULL));
    check_set(d, &te, 9, "test");
    spk_dataset_free(d);
    /* Labels missing: the error names them. */
    unlink(path_of("t10k-labels-idx1-ubyte.gz"));
    st = spk_dataset_load_fashion_mnist(g_dir, "test", &d);
    cr_assert_eq(st, SPK_ERR_IO);
    cr_assert(strstr(spk_context_last_error(NULL), "t10k-labels-idx1-ubyte.gz"), "%s", spk_context_last_error(NULL));
    free_set(&tr), free_set(&te);
    remove_dir();
}

Test(data, fashion_mnist_installed_dataset, .timeout = 120)
{
    struct stat sb;
    spk_dataset *d = NULL;
    if (stat(SPK_FASHION_MNIST_DIR "/train-images-idx3-ubyte.gz", &sb) != 0) {
        spk_status st = spk_dataset_load_fashion_mnist(NULL, "train", &d);
        cr_assert_eq(st, SPK_ERR_IO, "%s", spk_status_name(st));
        cr_assert(strstr(spk_context_last_error(NULL), "dataset-fashion-mnist"), "%s",
                  spk_context_last_error(NULL));
        cr_log_warn("Fashion-MNIST is not installed (dataset-fashion-mnist): checked the error only");
        return;
    }
    const struct {
        const char *split;
        size_t n;
    } splits[] = {{"train", 60000}, {"test", 10000}};
    for (size_t i = 0; i < 2; i++) {
        spk_status st = spk_dataset_load_fashion_mnist(NULL, splits[i].split, &d);
        cr_assert(st == SPK_OK, "%s: %s", splits[i].split, spk_context_last_error(NULL));
        cr_assert_eq(d->n, splits[i].n, "%s: %zu images", splits[i].split, d->n);
        cr_assert_eq(d->rows, 28);
        cr_assert_eq(d->cols, 28);
        cr_assert_eq(d->num_classes, 10);
        /* Fashion-MNIST is balanced: every class has n/10 samples. */
        size_t count[10] = {0}, nonzero = 0;
        for (size_t k = 0; k < d->n; k++)
            count[d->labels[k]]++;
        for (int c = 0; c < 10; c++)
            cr_assert_eq(count[c], splits[i].n / 10, "%s: class %d has %zu samples", splits[i].split, c, count[c]);
        for (size_t k = 0; k < 28 * 28 * 100; k++)
            nonzero += d->images[k] != 0;
        cr_assert(nonzero > 28 * 28 * 100 / 5, "%s: images look blank", splits[i].split);
        spk_dataset_free(d);
    }
}
