/* Every host allocation of the library goes through here, so a test can
 * install an allocator that fails on demand. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static void *default_malloc(size_t size, void *user)
{
    (void)user;
    return malloc(size);
}

static void default_free(void *ptr, void *user)
{
    (void)user;
    free(ptr);
}

static spk_allocator g_alloc = {default_malloc, default_free, NULL};

void spk_set_allocator(const spk_allocator *a)
{
    if (a && a->malloc_fn && a->free_fn)
        g_alloc = *a;
    else
        g_alloc = (spk_allocator){default_malloc, default_free, NULL};
}

void *spk__malloc(size_t size)
{
    return g_alloc.malloc_fn(size ? size : 1, g_alloc.user);
}

void *spk__calloc(size_t n, size_t size)
{
    if (size && n > (size_t)-1 / size)
        return NULL;
    void *p = spk__malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *spk__realloc(void *ptr, size_t old_size, size_t new_size)
{
    void *p = spk__malloc(new_size);
    if (!p)
        return NULL;
    if (ptr) {
        memcpy(p, ptr, old_size < new_size ? old_size : new_size);
        spk__free(ptr);
    }
    return p;
}

void spk__free(void *ptr)
{
    if (ptr)
        g_alloc.free_fn(ptr, g_alloc.user);
}

char *spk__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = spk__malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void spk__copy_str(char *dst, size_t cap, const char *src)
{
    if (!cap)
        return;
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}
