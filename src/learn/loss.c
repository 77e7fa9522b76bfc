/* Losses over a whole output sequence [T, B, C]. The output is reduced over
 * time on the host: B*C numbers per batch, far less than one layer's
 * activations, so the transfer is cheap and the math stays readable. */
#include <math.h>
#include <string.h>

#include "tensor/tensor_internal.h"

spk_loss_params spk_loss_params_default(spk_loss_kind kind)
{
    spk_loss_params p = {kind, 0.8f, 0.2f};
    return p;
}

/* Softmax cross-entropy of one row of logits; writes softmax - onehot into d. */
static double softmax_ce(const double *z, size_t C, size_t label, double *d)
{
    double mx = z[0];
    for (size_t c = 1; c < C; c++)
        mx = z[c] > mx ? z[c] : mx;
    double sum = 0.0;
    for (size_t c = 0; c < C; c++)
        sum += exp(z[c] - mx);
    for (size_t c = 0; c < C; c++)
        d[c] = exp(z[c] - mx) / sum - (c == label ? 1.0 : 0.0);
    return -(z[label] - mx - log(sum));
}

static size_t argmax(const double *z, size_t C)
{
    size_t best = 0;
    for (size_t c = 1; c < C; c++)
        if (z[c] > z[best])
            best = c;
    return best;
}

/* Download output [T, B, C] and reduce it over time into z [B, C] (counts,
 * mean or max; arg receives the argmax step for max). */
static spk_status reduce_output(spk_context *ctx, const spk_loss_params *p, const spk_tensor *output, float *y,
                                double *z, size_t *arg)
{
    const size_t T = output->shape[0], BC = output->shape[1] * output->shape[2];
    spk_status st = spk_tensor_download(output, y, T * BC * sizeof *y);
    if (st != SPK_OK)
        return st;
    for (size_t t = 0; t < T; t++)
        for (size_t i = 0; i < BC; i++) {
            double v = y[t * BC + i];
            if (p->kind == SPK_LOSS_CE_MAX_MEMBRANE) {
                if (t == 0 || v > z[i])
                    z[i] = v, arg[i] = t;
            } else {
                z[i] += v;
            }
        }
    if (p->kind == SPK_LOSS_CE_MEAN_MEMBRANE)
        for (size_t i = 0; i < BC; i++)
            z[i] /= (double)T;
    (void)ctx;
    return SPK_OK;
}

static spk_status check_output(spk_context *ctx, const char *fn, const spk_loss_params *p, const spk_tensor *output)
{
    spk_status st = SPK_OK;
    char got[96];
    SPK_CHECK(ctx, ctx && p && output, SPK_ERR_NULL_POINTER, "%s: ctx, params or output is NULL", fn);
    SPK_CHECK(ctx, (unsigned)p->kind <= SPK_LOSS_MSE_COUNT, SPK_ERR_INVALID_ARGUMENT, "%s: unknown kind %d", fn,
              (int)p->kind);
    SPK_CHECK(ctx, output->ctx == ctx, SPK_ERR_CONTEXT, "%s: output belongs to another context", fn);
    SPK_CHECK(ctx, output->ndim == 3 && output->dtype == SPK_F32, SPK_ERR_SHAPE, "%s: output %s must be f32 [T, B, C]",
              fn, spk__shape_str(output, got, sizeof got));
    SPK_CHECK(ctx, output->shape[2] <= 256, SPK_ERR_SHAPE, "%s: at most 256 classes (got %zu)", fn,
              output->shape[2]);
fail:
    return st;
}

spk_status spk_predict(spk_context *ctx, const spk_loss_params *p, const spk_tensor *output, uint8_t *pred)
{
    spk_status st = SPK_OK;
    float *y = NULL;
    double *z = NULL;
    size_t *arg = NULL;
    SPK_TRY(check_output(ctx, "spk_predict", p, output));
    SPK_CHECK(ctx, pred != NULL, SPK_ERR_NULL_POINTER, "spk_predict: pred is NULL");
    const size_t T = output->shape[0], B = output->shape[1], C = output->shape[2];
    y = spk__malloc(T * B * C * sizeof *y);
    z = spk__calloc(B * C, sizeof *z);
    arg = spk__calloc(B * C, sizeof *arg);
    SPK_CHECK(ctx, y && z && arg, SPK_ERR_OUT_OF_MEMORY, "spk_predict: out of host memory");
    SPK_TRY(reduce_output(ctx, p, output, y, z, arg));
    for (size_t b = 0; b < B; b++)
        pred[b] = (uint8_t)argmax(z + b * C, C);
fail:
    spk__free(y), spk__free(z), spk__free(arg);
    return st;
}

spk_status spk_loss(spk_context *ctx, const spk_loss_params *p, const spk_tensor *output, const uint8_t *labels,
                    spk_tensor *grad_output, float *loss_out, size_t *correct_out)
{
    spk_status st = SPK_OK;
    float *y = NULL, *g = NULL;
    double *z = NULL, *d = NULL;
    size_t *arg = NULL;
    SPK_TRY(check_output(ctx, "spk_loss", p, output));
    SPK_CHECK(ctx, labels != NULL, SPK_ERR_NULL_POINTER, "spk_loss: labels is NULL");
    const size_t T = output->shape[0], B = output->shape[1], C = output->shape[2];
    if (grad_output)
        SPK_TRY(spk__check_tensor(ctx, grad_output, "spk_loss: grad_output", SPK_F32, 3, output->shape));
    for (size_t b = 0; b < B; b++)
        SPK_CHECK(ctx, labels[b] < C, SPK_ERR_INVALID_ARGUMENT, "spk_loss: label %u of sample %zu is not below %zu classes",
                  labels[b], b, C);
    const size_t n = T * B * C;
    y = spk__malloc(n * sizeof *y);
    g = spk__calloc(n, sizeof *g);
    z = spk__calloc(B * C, sizeof *z);
    d = spk__calloc(C, sizeof *d);
    arg = spk__calloc(B * C, sizeof *arg);
    SPK_CHECK(ctx, y && g && z && d && arg, SPK_ERR_OUT_OF_MEMORY, "spk_loss: out of host memory");
    SPK_TRY(reduce_output(ctx, p, output, y, z, arg));
    /* The reductions can hide a bad value (the max skips a NaN, softmax
     * turns -Inf into 0): check the output itself. */
    for (size_t i = 0; i < n; i++)
        SPK_CHECK(ctx, isfinite(y[i]), SPK_ERR_NUMERIC,
                  "spk_loss: the output holds %g at [t=%zu, b=%zu, c=%zu] (NaN or Inf)", (double)y[i], i / (B * C),
                  i / C % B, i % C);

    double total = 0.0;
    size_t correct = 0;
    for (size_t b = 0; b < B; b++) {
        double *zb = z + b * C;
        correct += argmax(zb, C) == labels[b];
        if (p->kind == SPK_LOSS_MSE_COUNT) {
            for (size_t c = 0; c < C; c++) {
                double target = (c == labels[b] ? p->correct_rate : p->incorrect_rate) * (double)T;
                double e = zb[c] - target;
                total += e * e / (double)C;
                d[c] = 2.0 * e / (double)C;
            }
        } else {
            total += softmax_ce(zb, C, labels[b], d);
        }
        /* d is dL_b/dz_b; spread it back over the time steps of the reduction. */
        for (size_t c = 0; c < C; c++) {
            double per_step = d[c] / (double)B;
            if (p->kind == SPK_LOSS_CE_MEAN_MEMBRANE)
                per_step /= (double)T;
            for (size_t t = 0; t < T; t++)
                if (p->kind != SPK_LOSS_CE_MAX_MEMBRANE || arg[b * C + c] == t)
                    g[t * B * C + b * C + c] = (float)per_step;
        }
    }
    total /= (double)B;
    SPK_CHECK(ctx, isfinite(total), SPK_ERR_NUMERIC, "spk_loss: the loss is %g (NaN or Inf in the output?)", total);
    if (grad_output)
        SPK_TRY(spk_tensor_upload(grad_output, g, n * sizeof *g));
    if (loss_out)
        *loss_out = (float)total;
    if (correct_out)
        *correct_out = correct;
fail:
    spk__free(y), spk__free(g), spk__free(z), spk__free(d), spk__free(arg);
    return st;
}
