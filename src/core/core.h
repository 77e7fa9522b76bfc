/* Internal helpers shared by every part of the library: error reporting,
 * allocation, and the check/try macros of the one-cleanup-path style. */
#ifndef SPK_CORE_H
#define SPK_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "spikecl/spikecl.h"

#if defined(__GNUC__)
#define SPK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SPK_PRINTF(a, b)
#endif

/* Record the detail of an error on ctx (or the thread's context-less slot
 * when ctx is NULL), send it to the log callback, and return status. */
spk_status spk__error(const spk_context *ctx, spk_status status, const char *fmt, ...) SPK_PRINTF(3, 4);
spk_status spk__verror(const spk_context *ctx, spk_status status, const char *fmt, va_list ap);
void spk__clear_error(const spk_context *ctx);
void spk__log(const spk_context *ctx, spk_log_level level, const char *fmt, ...) SPK_PRINTF(3, 4);

void *spk__malloc(size_t size);
void *spk__calloc(size_t n, size_t size);
void *spk__realloc(void *ptr, size_t old_size, size_t new_size);
void spk__free(void *ptr);
char *spk__strdup(const char *s);

/* An on/off environment variable: *on = 1 for "on" or "1", 0 for "off" or
 * "0", -1 when it is unset or empty; any other value is
 * SPK_ERR_INVALID_ARGUMENT with a context-less message naming it. */
spk_status spk__env_switch(const char *name, int *on);

/* snprintf that always terminates and never overflows. */
void spk__copy_str(char *dst, size_t cap, const char *src);

/* Requires `spk_status st` and a `fail:` label in the calling function. */
#define SPK_CHECK(ctx, cond, status, ...)                          \
    do {                                                           \
        if (!(cond)) {                                             \
            st = spk__error((ctx), (status), __VA_ARGS__);         \
            goto fail;                                             \
        }                                                          \
    } while (0)

/* Parameter checkers with (char *msg, size_t msg_size) arguments: say why
 * in msg (when given) and return SPK_ERR_INVALID_ARGUMENT. */
#define SPK_REJECT(...)                                   \
    do {                                                  \
        if (msg && msg_size)                              \
            snprintf(msg, msg_size, __VA_ARGS__);         \
        return SPK_ERR_INVALID_ARGUMENT;                  \
    } while (0)

#define SPK_TRY(expr)             \
    do {                          \
        st = (expr);              \
        if (st != SPK_OK)         \
            goto fail;            \
    } while (0)

#define SPK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
