/* spikecl bench, suite "fmnist": training throughput of `spikecl train
 * --preset mlp` (BENCHMARKS.md §3), with the very network, batch assembly
 * and step of train_loop.c, on Fashion-MNIST when it is installed and on
 * synthetic images of the same shape otherwise (the row says which). A
 * step: gather and convert a batch on the host, upload, forward, loss,
 * backward, Adam. Accuracy is `spikecl train`'s business, not timed here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "cli/bench.h"
#include "cli/cli.h"
#include "cli/train_common.h"

typedef struct fmnist_case {
    spk_context *ctx;
    spk_train_config cfg;
    const spk_dataset *data;
    spk_network *net;
    spk_optimizer *opt;
    spk_batch_io b;
    size_t *idx, next;
} fmnist_case;

static spk_status fmnist_step(void *user, double *t)
{
    spk_status st = SPK_OK;
    fmnist_case *c = user;
    spk_loss_params lp = spk_loss_params_default(c->cfg.loss);
    const spk_tensor *out = NULL;
    double t0 = bench_now();
    for (size_t i = 0; i < c->cfg.batch; i++)
        c->idx[i] = (c->next + i) % c->data->n;
    c->next = (c->next + c->cfg.batch) % c->data->n;
    CLI_TRY(spk_train_load_batch(c->ctx, &c->cfg, c->data, c->idx, c->cfg.batch, c->next, &c->b));
    CLI_TRY(spk_network_forward(c->net, c->b.net_input, &out));
    CLI_TRY(spk_loss(c->ctx, &lp, out, c->b.labels, c->b.grad, NULL, NULL));
    CLI_TRY(spk_network_backward(c->net, c->b.grad));
    CLI_TRY(spk_network_step(c->net, c->opt));
    CLI_TRY(spk_context_finish(c->ctx));
    t[0] = bench_now() - t0;
fail:
    return st;
}

/* Random pixels and labels with Fashion-MNIST's shape: the timing does not
 * depend on the values (no event-driven path). */
static spk_dataset *synthetic(uint64_t seed)
{
    spk_dataset *d = calloc(1, sizeof *d);
    const size_t n = 1024;
    if (!d)
        return NULL;
    d->n = n, d->rows = 28, d->cols = 28, d->num_classes = 10;
    d->images = malloc(n * 28 * 28);
    d->labels = malloc(n);
    if (!d->images || !d->labels) {
        free(d->images), free(d->labels), free(d);
        return NULL;
    }
    for (size_t i = 0; i < n * 28 * 28; i++)
        d->images[i] = (uint8_t)(bench_word(seed, BENCH_STREAM_INPUT, i) >> 56);
    for (size_t i = 0; i < n; i++)
        d->labels[i] = (uint8_t)(bench_word(seed, BENCH_STREAM_LABELS, i) % 10);
    return d;
}

static spk_status build(spk_context *ctx, fmnist_case *c)
{
    spk_status st = SPK_OK;
    const spk_train_config *k = &c->cfg;
    size_t F = c->data->rows * c->data->cols, C = 10;
    c->ctx = ctx;
    CLI_TRY(spk_train_build_network(ctx, k, c->data->rows, c->data->cols, C, &c->net));
    spk_optimizer_params op = spk_optimizer_params_default(SPK_OPTIM_ADAM);
    op.lr = k->lr;
    CLI_TRY(spk_optimizer_create(ctx, &op, &c->opt));
    c->b.host = malloc(k->batch * F * sizeof *c->b.host);
    c->b.labels = malloc(k->batch);
    c->idx = malloc(k->batch * sizeof *c->idx);
    if (!c->b.host || !c->b.labels || !c->idx) {
        st = SPK_ERR_OUT_OF_MEMORY;
        goto fail;
    }
    CLI_TRY(spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){k->batch, F}, &c->b.pixels));
    CLI_TRY(spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){k->steps, k->batch, C}, &c->b.grad));
fail:
    return st;
}

static void free_case(fmnist_case *c)
{
    free(c->b.host), free(c->b.labels), free(c->idx);
    spk_tensor_free(c->b.pixels), spk_tensor_free(c->b.grad);
    spk_optimizer_free(c->opt);
    spk_network_free(c->net);
}

spk_status bench_suite_fmnist(spk_context *ctx, const bench_opts *o, bench_table *tab)
{
    static double t[BENCH_MAX_PARTS][BENCH_MAX_RUNS];
    size_t runs = 0;
    fmnist_case c = {0};
    spk_dataset *real = NULL, *fake = NULL;
    double warm;
    spk_train_config_preset(&c.cfg, "mlp");
    c.cfg.seed = o->seed + 1;
    bench_rss_reset();
    spk_status st = spk_dataset_load_fashion_mnist(o->data_dir, "train", &real);
    if (st != SPK_OK) {
        fprintf(stderr, "spikecl bench: no Fashion-MNIST (%s); the fmnist suite uses synthetic images\n",
                spk_context_last_error(NULL));
        if (!(fake = synthetic(o->seed))) {
            st = SPK_ERR_OUT_OF_MEMORY;
            goto fail;
        }
    }
    c.data = real ? real : fake;
    CLI_TRY(build(ctx, &c));
    CLI_TRY(fmnist_step(&c, &warm));
    uint64_t l0 = bench_launches(ctx);
    CLI_TRY(fmnist_step(&c, &warm));
    uint64_t launches = bench_launches(ctx) - l0;
    CLI_TRY(bench_measure(o, fmnist_step, &c, 1, t, &runs));
    char config[64];
    snprintf(config, sizeof config, "mlp H=%zu T=%zu B=%zu", c.cfg.hidden, c.cfg.steps, c.cfg.batch);
    bench_row *r = bench_add_row(tab, ctx, "fmnist", config, "train batch");
    if (r) {
        bench_row_times(r, t[0], runs);
        r->launches = (double)launches;
        r->device_bytes = bench_network_bytes(c.net) +
                          bench_tensor_bytes((const spk_tensor *[2]){c.b.pixels, c.b.grad}, 2);
        r->peak_rss = bench_rss_peak();
        r->value = (double)c.cfg.batch * 1e3 / r->median_ms;
        snprintf(r->unit, sizeof r->unit, "img/s");
        snprintf(r->note, sizeof r->note, "%s", real ? "Fashion-MNIST" : "synthetic images (no Fashion-MNIST)");
    }
    goto done;
fail:
    spk_cli_report(ctx, st, "bench fmnist");
done:
    free_case(&c);
    spk_dataset_free(real);
    if (fake)
        free(fake->images), free(fake->labels), free(fake);
    return st;
}
