#include "ops/ops_internal.h"

spk_status spk_context_warmup(spk_context *ctx, size_t *n_programs)
{
    spk_status st = SPK_OK;
    SPK_CHECK(ctx, ctx != NULL, SPK_ERR_NULL_POINTER, "spk_context_warmup: ctx is NULL");
    SPK_TRY(spk__lif_warmup(ctx));
    SPK_TRY(spk__encode_warmup(ctx));
    SPK_TRY(spk__optim_warmup(ctx));
    SPK_TRY(spk__conv_warmup(ctx));
    SPK_TRY(spk__pool_warmup(ctx));
    SPK_TRY(spk__dropout_warmup(ctx));
    if (n_programs)
        *n_programs = 7; /* encode.cl twice: see spk__encode_warmup */
fail:
    return st;
}
