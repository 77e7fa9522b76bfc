/* Host side of kernels/spikes.cl: bit-packed spikes (include/spikecl/spikes.h). */
#include <stdio.h>

#include "ops/ops_internal.h"
#include "ops/spikes_internal.h"

size_t spk_spike_row_bytes(size_t n)
{
    return 4 * ((n + 31) / 32);
}

spk_status spk__check_spike_bits(spk_context *ctx, const spk_tensor *bits, const char *what, size_t rows, size_t n)
{
    spk_status st = SPK_OK;
    char got[96];
    SPK_CHECK(ctx, bits != NULL, SPK_ERR_NULL_POINTER, "%s is NULL", what);
    SPK_CHECK(ctx, spk_tensor_context(bits) == ctx, SPK_ERR_CONTEXT, "%s belongs to another context", what);
    SPK_CHECK(ctx, spk_tensor_dtype(bits) == SPK_U8, SPK_ERR_DTYPE, "%s (bit-packed spikes) must be u8", what);
    int nd = spk_tensor_ndim(bits);
    size_t last = spk_tensor_dim(bits, nd - 1);
    SPK_CHECK(ctx, last == spk_spike_row_bytes(n) && spk_tensor_numel(bits) == rows * last, SPK_ERR_SHAPE,
              "%s %s does not hold %zu packed rows of %zu spikes (%zu bytes each)", what,
              spk__shape_str(bits, got, sizeof got), rows, n, spk_spike_row_bytes(n));
    SPK_CHECK(ctx, bits->offset % 4 == 0, SPK_ERR_SHAPE, "%s starts %zu bytes into its buffer, not on a 4-byte word",
              what, bits->offset);
    SPK_CHECK(ctx, rows * ((n + 31) / 32) <= 0x7fffffffu, SPK_ERR_SHAPE, "%s: %zu rows of %zu spikes is too large",
              what, rows, n);
fail:
    return st;
}

/* Rows and row length of an unpacked tensor, and the packed one's check. */
static spk_status check_pair(spk_context *ctx, const char *fn, const spk_tensor *spikes, const spk_tensor *bits,
                             size_t *rows, size_t *n)
{
    spk_status st = SPK_OK;
    char what[64];
    SPK_CHECK(ctx, ctx && spikes && bits, SPK_ERR_NULL_POINTER, "%s: ctx, spikes or bits is NULL", fn);
    SPK_CHECK(ctx, spk_tensor_context(spikes) == ctx, SPK_ERR_CONTEXT, "%s: spikes belongs to another context", fn);
    *n = spk_tensor_dim(spikes, spk_tensor_ndim(spikes) - 1);
    *rows = spk_tensor_numel(spikes) / *n;
    snprintf(what, sizeof what, "%s: bits", fn);
    SPK_TRY(spk__check_spike_bits(ctx, bits, what, *rows, *n));
    SPK_CHECK(ctx, *n <= 0x7fffffffu && *rows <= 0x7fffffffu, SPK_ERR_SHAPE, "%s: spikes too large", fn);
fail:
    return st;
}

static spk_status launch(spk_context *ctx, const char *options, const char *name, size_t rows, size_t n, spk__buf s,
                         spk__buf d)
{
    spk_status st = SPK_OK;
    cl_kernel k;
    SPK_TRY(spk__kernel_get(ctx, "spikes.cl", options, name, &k));
    cl_int r = (cl_int)rows, cn = (cl_int)n;
    SPK_TRY(SPK_SET_ARGS(ctx, k, SPK_ARG(r), SPK_ARG(cn), SPK_BUF(s), SPK_BUF(d)));
    SPK_TRY(spk__launch_1d(ctx, k, rows * ((n + 31) / 32)));
fail:
    return st;
}

spk_status spk_spikes_pack(spk_context *ctx, const spk_tensor *spikes, spk_tensor *bits)
{
    spk_status st = SPK_OK;
    size_t rows = 0, n = 0;
    SPK_TRY(check_pair(ctx, "spk_spikes_pack", spikes, bits, &rows, &n));
    const int u8 = spk_tensor_dtype(spikes) == SPK_U8;
    SPK_TRY(launch(ctx, u8 ? "-DSPIKE_T=uchar" : "-DSPIKE_T=float", "spikes_pack", rows, n, spk__buf_of(spikes),
                   spk__buf_words(bits)));
fail:
    return st;
}

spk_status spk_spikes_unpack(spk_context *ctx, const spk_tensor *bits, spk_tensor *spikes)
{
    spk_status st = SPK_OK;
    size_t rows = 0, n = 0;
    SPK_TRY(check_pair(ctx, "spk_spikes_unpack", spikes, bits, &rows, &n));
    SPK_CHECK(ctx, spk_tensor_dtype(spikes) == SPK_F32, SPK_ERR_DTYPE, "spk_spikes_unpack: spikes must be f32");
    SPK_TRY(launch(ctx, "-DSPIKE_T=float", "spikes_unpack", rows, n, spk__buf_words(bits),
                   spk__buf_of(spikes)));
fail:
    return st;
}
