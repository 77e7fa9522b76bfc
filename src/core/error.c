/* Error detail and logging. The detail lives in the context; calls made
 * without one (context creation, device listing) use a per-thread slot. */
#include <stdio.h>
#include <string.h>

#include "cl/cl_internal.h"

static _Thread_local char g_thread_error[SPK_ERROR_DETAIL_MAX];

static char *error_slot(const spk_context *ctx)
{
    /* The detail is a cache of the last failure, not part of the object's
     * logical state, so const objects may record it. */
    return ctx ? (char *)ctx->last_error : g_thread_error;
}

spk_status spk__verror(const spk_context *ctx, spk_status status, const char *fmt, va_list ap)
{
    char *slot = error_slot(ctx);
    int n = snprintf(slot, SPK_ERROR_DETAIL_MAX, "%s: ", spk_status_name(status));
    if (n < 0 || n >= SPK_ERROR_DETAIL_MAX)
        n = 0;
    vsnprintf(slot + n, SPK_ERROR_DETAIL_MAX - (size_t)n, fmt, ap);
    if (ctx && ctx->log && ctx->log_level >= SPK_LOG_ERROR)
        ctx->log(SPK_LOG_ERROR, slot, ctx->log_user);
    return status;
}

spk_status spk__error(const spk_context *ctx, spk_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    spk__verror(ctx, status, fmt, ap);
    va_end(ap);
    return status;
}

void spk__clear_error(const spk_context *ctx)
{
    error_slot(ctx)[0] = '\0';
}

void spk__log(const spk_context *ctx, spk_log_level level, const char *fmt, ...)
{
    if (!ctx || !ctx->log || level > ctx->log_level)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ctx->log(level, buf, ctx->log_user);
}

const char *spk_context_last_error(const spk_context *ctx)
{
    return error_slot(ctx);
}
