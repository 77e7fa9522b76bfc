/* The training loop behind `spikecl train`: data, network, epochs,
 * evaluation, progress. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/train_common.h"

const char *const SPK_ENCODER_NAMES[3] = {"direct", "poisson", "latency"};

int spk_train_config_preset(spk_train_config *c, const char *name)
{
    spk_train_config base = {.preset = "mlp", .epochs = 3, .batch = 128, .steps = 25, .hidden = 256,
                             .lr = 2e-3f, .seed = 1, .loss = SPK_LOSS_CE_MEAN_MEMBRANE, .schedule = SCHEDULE_COSINE};
    *c = base;
    if (strcmp(name, "mlp") == 0)
        return 0;
    if (strcmp(name, "mlp-fast") == 0) {
        c->preset = "mlp-fast";
        c->epochs = 1;
        c->steps = 10;
        c->hidden = 128;
        return 0;
    }
    if (strcmp(name, "conv") == 0) {
        c->preset = "conv";
        c->epochs = 8;
        c->steps = 8;
        c->batch = 64;
        c->channels1 = 16;
        c->channels2 = 48;
        return 0;
    }
    return -1;
}

/* The architecture text stored in checkpoints: what eval needs to rebuild
 * the network. */
static void format_arch(const spk_train_config *c, size_t in, size_t classes, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "spikecl-net preset=%s steps=%zu hidden=%zu conv=%zu,%zu inputs=%zu classes=%zu encoder=%s loss=%d",
             c->preset, c->steps, c->hidden, c->channels1, c->channels2, in, classes,
             SPK_ENCODER_NAMES[c->encoder], (int)c->loss);
}

static int parse_arch(const char *text, spk_train_config *c, size_t *in, size_t *classes)
{
    char preset[32], encoder[16];
    int loss = 0;
    if (sscanf(text,
               "spikecl-net preset=%31s steps=%zu hidden=%zu conv=%zu,%zu inputs=%zu classes=%zu encoder=%15s loss=%d",
               preset, &c->steps, &c->hidden, &c->channels1, &c->channels2, in, classes, encoder, &loss) != 9)
        return -1;
    c->encoder = -1;
    for (int k = 0; k < 3; k++)
        if (strcmp(encoder, SPK_ENCODER_NAMES[k]) == 0)
            c->encoder = k;
    if (c->encoder < 0)
        return -1;
    c->loss = (spk_loss_kind)loss;
    return c->steps > 0 && c->hidden > 0 && *in > 0 && *classes > 0 && *classes <= 256 &&
                   (unsigned)loss <= SPK_LOSS_MSE_COUNT
               ? 0
               : -1;
}

static int membrane_loss(spk_loss_kind k)
{
    return k == SPK_LOSS_CE_MEAN_MEMBRANE || k == SPK_LOSS_CE_MAX_MEMBRANE;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Single-state LIF as in snnTorch's Leaky(beta=0.95) with the arctan surrogate. */
int spk_train_compact_spikes(int fallback)
{
    const char *v = getenv("SPIKECL_COMPACT_SPIKES");
    return v && (!strcmp(v, "0") || !strcmp(v, "1")) ? v[0] == '1' : fallback;
}

spk_lif_params spk_train_hidden_neurons(void)
{
    spk_lif_params p = spk_lif_params_default(SPK_NEURON_LIF);
    p.tau_mem = -1.0f / logf(0.95f);
    p.surrogate = SPK_SURROGATE_ARCTAN;
    p.surrogate_scale = 2.0f;
    return p;
}

/* Append the layer just created into *l (read only after the create call
 * has run: argument order is unspecified); the network owns it from then on. */
static spk_status add(spk_network *net, spk_status created, spk_layer *const *l)
{
    return created == SPK_OK ? spk_network_add(net, *l) : created;
}

/* conv preset: conv 5x5 (c1) - LIF - maxpool 2 - conv 5x5 (c2) - LIF - maxpool 2 - flatten. */
static spk_status add_conv_stack(spk_context *ctx, const spk_train_config *c, spk_network *net,
                                 const spk_lif_params *neurons, size_t *features)
{
    spk_status st = SPK_OK;
    spk_layer *l = NULL;
    spk_conv2d_params c1 = spk_conv2d_params_default(1, c->channels1, 5);
    spk_conv2d_params c2 = spk_conv2d_params_default(c->channels1, c->channels2, 5);
    spk_pool_params pool = spk_pool_params_default(2);
    c1.seed = c->seed * 4 + 3;
    c2.seed = c->seed * 4 + 4;
    CLI_TRY(add(net, spk_conv2d_create(ctx, &c1, &l), &l));
    CLI_TRY(add(net, spk_neuron_layer_create(ctx, neurons, &l), &l));
    CLI_TRY(add(net, spk_maxpool2d_create(ctx, &pool, &l), &l));
    CLI_TRY(add(net, spk_conv2d_create(ctx, &c2, &l), &l));
    CLI_TRY(add(net, spk_neuron_layer_create(ctx, neurons, &l), &l));
    CLI_TRY(add(net, spk_maxpool2d_create(ctx, &pool, &l), &l));
    CLI_TRY(add(net, spk_flatten_create(ctx, &l), &l));
    *features = c->channels2 * 4 * 4; /* 28 -> 24 -> 12 -> 8 -> 4 */
fail:
    return st;
}

spk_status spk_train_build_network(spk_context *ctx, const spk_train_config *c, size_t rows, size_t cols,
                                   size_t classes, spk_network **out)
{
    spk_status st = SPK_OK;
    spk_network *net = NULL;
    spk_layer *l = NULL;
    spk_lif_params neurons = spk_train_hidden_neurons(), readout = neurons;
    if (membrane_loss(c->loss))
        readout.kind = SPK_NEURON_LI;
    size_t inputs = rows * cols, features = inputs;
    CLI_TRY(spk_network_create(ctx, &net));
    /* Direct encoding feeds the same pixels at every step: the first layer computes once. */
    CLI_TRY(spk_network_set_static_input(net, c->encoder == ENCODER_DIRECT));
    /* Hidden spikes kept bit-packed for backward, only what backward reads kept: same results, less memory. */
    CLI_TRY(spk_network_set_compact_spikes(net, spk_train_compact_spikes(1)));
    if (c->channels1) {
        CLI_TRY(add_conv_stack(ctx, c, net, &neurons, &features));
    } else {
        spk_dense_params d1 = spk_dense_params_default(features, c->hidden);
        d1.seed = c->seed * 2 + 1;
        CLI_TRY(add(net, spk_dense_create(ctx, &d1, &l), &l));
        CLI_TRY(add(net, spk_neuron_layer_create(ctx, &neurons, &l), &l));
        features = c->hidden;
    }
    spk_dense_params d2 = spk_dense_params_default(features, classes);
    d2.seed = c->seed * 2 + 2;
    CLI_TRY(add(net, spk_dense_create(ctx, &d2, &l), &l));
    CLI_TRY(add(net, spk_neuron_layer_create(ctx, &readout, &l), &l));
    if (c->channels1)
        CLI_TRY(spk_network_build(net, c->steps, c->batch, 2, (size_t[2]){rows, cols}));
    else
        CLI_TRY(spk_network_build(net, c->steps, c->batch, 1, &inputs));
    *out = net;
    return SPK_OK;
fail:
    spk_network_free(net);
    return st;
}

/* Progress on a terminal: one line redrawn; elsewhere a line per 10%. */
static void progress(const char *what, size_t done, size_t total, double t0, int *last_decile)
{
    double el = now() - t0, rate = el > 0 ? (double)done / el : 0.0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0.0;
    if (isatty(STDERR_FILENO)) {
        int width = 30, fill = (int)((double)width * (double)done / (double)total);
        fprintf(stderr, "\r%s [%.*s%*s] %zu/%zu  %.0f img/s  ETA %.0fs ", what, fill,
                "##############################", width - fill, "", done, total, rate, eta);
        if (done == total)
            fprintf(stderr, "\r%*s\r", 90, "");
        fflush(stderr);
    } else {
        int decile = (int)(10 * done / total);
        if (decile > *last_decile && done < total) {
            *last_decile = decile;
            printf("  %s %d%%: %zu/%zu images, %.0f img/s, ETA %.0fs\n", what, decile * 10, done, total, rate, eta);
            fflush(stdout);
        }
    }
}

spk_status spk_train_load_batch(spk_context *ctx, const spk_train_config *c, const spk_dataset *d,
                                const size_t *idx, size_t n, uint64_t stream, spk_batch_io *b)
{
    spk_status st = SPK_OK;
    size_t F = d->rows * d->cols;
    memset(b->host, 0, c->batch * F * sizeof *b->host);
    memset(b->labels, 0, c->batch);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *img = d->images + idx[i] * F;
        for (size_t f = 0; f < F; f++)
            b->host[i * F + f] = (float)img[f] * (1.0f / 255.0f);
        b->labels[i] = d->labels[idx[i]];
    }
    CLI_TRY(spk_tensor_upload(b->pixels, b->host, c->batch * F * sizeof *b->host));
    if (c->encoder == ENCODER_POISSON)
        CLI_TRY(spk_encode_poisson(ctx, b->pixels, 1.0f, stream, b->input));
    else if (c->encoder == ENCODER_LATENCY)
        CLI_TRY(spk_encode_latency(ctx, b->pixels, 1.0f, b->input));
    b->net_input = c->encoder == ENCODER_DIRECT ? b->pixels : b->input;
fail:
    return st;
}

static spk_status evaluate(spk_context *ctx, const spk_train_config *c, spk_network *net, const spk_dataset *test,
                           size_t n_test, spk_batch_io *b, double *accuracy)
{
    spk_status st = SPK_OK;
    spk_loss_params lp = spk_loss_params_default(c->loss);
    size_t *idx = malloc(c->batch * sizeof *idx);
    uint8_t *pred = malloc(c->batch);
    size_t correct = 0;
    if (!idx || !pred) {
        st = SPK_ERR_OUT_OF_MEMORY;
        goto fail;
    }
    for (size_t start = 0; start < n_test; start += c->batch) {
        size_t n = n_test - start < c->batch ? n_test - start : c->batch;
        for (size_t i = 0; i < n; i++)
            idx[i] = start + i;
        const spk_tensor *out;
        CLI_TRY(spk_train_load_batch(ctx, c, test, idx, n, (uint64_t)1 << 40 | start, b));
        CLI_TRY(spk_network_forward(net, b->net_input, &out));
        CLI_TRY(spk_predict(ctx, &lp, out, pred));
        for (size_t i = 0; i < n; i++)
            correct += pred[i] == test->labels[start + i];
    }
    *accuracy = (double)correct / (double)n_test;
fail:
    free(idx);
    free(pred);
    return st;
}

/* The library schedule of c->schedule for n_batches per epoch. */
static spk_lr_schedule lr_schedule(const spk_train_config *c, size_t n_batches)
{
    static const spk_lr_schedule_kind KINDS[] = {[SCHEDULE_CONSTANT] = SPK_LR_CONSTANT,
                                                 [SCHEDULE_COSINE] = SPK_LR_COSINE, [SCHEDULE_STEP] = SPK_LR_STEP};
    spk_lr_schedule s = spk_lr_schedule_default(KINDS[c->schedule], c->lr, c->epochs * n_batches);
    s.step_size = n_batches; /* step: halved every epoch */
    return s;
}

static void shuffle(size_t *idx, size_t n, uint64_t *state)
{
    for (size_t i = n; i > 1; i--) {
        uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        size_t j = (size_t)(z % i), tmp = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = tmp;
    }
}

/* Time to the end of the first training step (warm start: kernels from the
 * disk cache), split into the setup (data, context, network, programs) and
 * the step. Then the programs compiled for it go to the disk cache: after
 * the step, so that their binaries hold the code generated at its launches
 * (spk_context_cache_save), unless the driver's own cache keeps them
 * (spk_program_binaries). */
static spk_status report_startup(spk_context *ctx, double t_start, double t_setup)
{
    spk_status st = spk_context_finish(ctx);
    spk_cache_stats cs = {0};
    spk_context_cache_stats(ctx, &cs);
    double t = now();
    printf("first training step done %.2f s after start: setup %.2f s (the data, and meanwhile the OpenCL context, "
           "the network and its programs), then %.2f s for the step (programs: %llu compiled, %llu from the disk "
           "cache)\n",
           t - t_start, t_setup - t_start, t - t_setup, (unsigned long long)cs.compiles,
           (unsigned long long)cs.disk_hits);
    if (st == SPK_OK && cs.compiles > 0 && spk_context_cache_dir(ctx)) {
        st = spk_context_cache_save(ctx);
        spk_context_cache_stats(ctx, &cs);
        if (cs.disk_writes > 0 || cs.disk_skips == 0)
            printf("%llu programs written to the disk cache %s in %.2f s\n", (unsigned long long)cs.disk_writes,
                   spk_context_cache_dir(ctx), now() - t);
        else
            printf("%llu programs left to the OpenCL driver's own kernel cache (SPIKECL_CACHE_BINARIES=on writes "
                   "them to %s too)\n",
                   (unsigned long long)cs.disk_skips, spk_context_cache_dir(ctx));
    }
    return st;
}

/* The training set inflates on a second thread while the first loads the
 * test set and creates the OpenCL context: a warm start then waits for the
 * longer of the two, not their sum. (Not the other way round: PoCL's LLVM
 * gives the thread that first compiles an alternate signal stack, which
 * AddressSanitizer cannot unmap when that thread ends.) */
typedef struct set_loader {
    const char *dir, *split;
    spk_dataset *set;
    spk_status st;
    char error[1024]; /* the library keeps the detail per thread (no context) */
} set_loader;

static void *set_loader_run(void *arg)
{
    set_loader *s = arg;
    s->st = spk_dataset_load_fashion_mnist(s->dir, s->split, &s->set);
    snprintf(s->error, sizeof s->error, "%s", s->st != SPK_OK ? spk_context_last_error(NULL) : "");
    return NULL;
}

spk_status spk_train_run(const spk_train_config *c)
{
    spk_status st = SPK_OK;
    spk_dataset *train = NULL, *test = NULL;
    spk_context *ctx = NULL;
    spk_network *net = NULL;
    spk_optimizer *opt = NULL;
    spk_batch_io b = {0};
    size_t *order = NULL;
    const char *stage = "loading the training set";
    const double t_start = now();
    set_loader train_load = {c->data_dir, "train", NULL, SPK_OK, ""};
    pthread_t loader;
    int loader_started = pthread_create(&loader, NULL, set_loader_run, &train_load) == 0;
    if (!loader_started) /* no second thread: one after the other */
        set_loader_run(&train_load);
    spk_optimizer_params op = spk_optimizer_params_default(SPK_OPTIM_ADAM);
    op.lr = c->lr;
    stage = "loading the test set";
    if ((st = spk_dataset_load_fashion_mnist(c->data_dir, "test", &test)) == SPK_OK) {
        stage = "creating the OpenCL context";
        spk_context_options o = spk_context_options_default();
        o.device = c->device;
        o.seed = c->seed;
        o.gemm_backend = c->gemm;
        st = spk_context_create(&o, &ctx);
    }
    /* The network and the optimizer need only the test set's shapes: they
     * are made, and their programs compiled, while the training set
     * inflates (a cold start's compile hides it). */
    if (st == SPK_OK) {
        stage = "building the network";
        st = spk_train_build_network(ctx, c, test->rows, test->cols, test->num_classes, &net);
    }
    if (st == SPK_OK) {
        stage = "creating the optimizer";
        st = spk_optimizer_create(ctx, &op, &opt);
    }
    if (st == SPK_OK) {
        stage = "compiling the kernels";
        st = spk_context_compile_pending(ctx, NULL);
    }
    if (loader_started)
        pthread_join(loader, NULL);
    train = train_load.set;
    const double t_setup = now();
    if (st == SPK_OK && (st = train_load.st) != SPK_OK) {
        fprintf(stderr, "spikecl: loading the training set failed: %s\n",
                *train_load.error ? train_load.error : spk_status_str(st));
        goto done;
    }
    if (st != SPK_OK)
        goto fail;
    if (train->rows != test->rows || train->cols != test->cols) {
        fprintf(stderr, "spikecl train: the training images are %zux%zu, the test images %zux%zu\n", train->rows,
                train->cols, test->rows, test->cols);
        st = SPK_ERR_SHAPE;
        goto done;
    }
    size_t C = train->num_classes > test->num_classes ? train->num_classes : test->num_classes;
    if (C > test->num_classes) { /* labels the test set lacks: a wider readout */
        spk_network_free(net);
        net = NULL;
        stage = "building the network";
        if ((st = spk_train_build_network(ctx, c, train->rows, train->cols, C, &net)) != SPK_OK)
            goto fail;
    }
    size_t n_train = c->limit_train && c->limit_train < train->n ? c->limit_train : train->n;
    size_t n_test = c->limit_test && c->limit_test < test->n ? c->limit_test : test->n;
    size_t F = train->rows * train->cols;
    if (n_train < c->batch) {
        fprintf(stderr, "spikecl train: %zu training images are fewer than one batch of %zu\n", n_train, c->batch);
        st = SPK_ERR_INVALID_ARGUMENT;
        goto done;
    }
    spk_device_info info;
    spk_context_device(ctx, &info);
    printf("device %d:%d %s (%s), GEMM %s\n", info.platform_index, info.device_index, info.device_name,
           info.platform_name, spk_gemm_backend_name(spk_context_gemm_backend(ctx)));
    if (spk_context_gemm_backend(ctx) == SPK_GEMM_CLBLAST)
        printf("tuned CLBlast parameters: %s\n", spk_context_tuning(ctx, NULL));
    static const char *const LOSSES[] = {"ce-count", "ce-mean-membrane", "ce-max-membrane", "mse-count"};
    printf("preset %s: T=%zu, batch %zu, %s encoding, loss %s, Adam lr %g%s, %zu epochs, %zu training / %zu test "
           "images\n",
           c->preset, c->steps, c->batch, SPK_ENCODER_NAMES[c->encoder], LOSSES[c->loss], (double)c->lr,
           c->schedule == SCHEDULE_COSINE ? " (cosine decay)" : c->schedule == SCHEDULE_STEP ? " (halved every epoch)" : "",
           c->epochs, n_train, n_test);
    for (size_t i = 0; i < spk_network_layer_count(net); i++) {
        char desc[200];
        printf("  layer %zu: %s\n", i, spk_layer_describe(spk_network_layer(net, i), desc, sizeof desc));
    }
    stage = "allocating the batch";
    b.host = malloc(c->batch * F * sizeof *b.host);
    b.labels = malloc(c->batch);
    order = malloc(n_train * sizeof *order);
    if (!b.host || !b.labels || !order) {
        st = SPK_ERR_OUT_OF_MEMORY;
        fprintf(stderr, "spikecl train: out of host memory\n");
        goto done;
    }
    if ((st = spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){c->batch, F}, &b.pixels)) ||
        (c->encoder != ENCODER_DIRECT &&
         (st = spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){c->steps, c->batch, F}, &b.input))) ||
        (st = spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){c->steps, c->batch, C}, &b.grad)))
        goto fail;
    for (size_t i = 0; i < n_train; i++)
        order[i] = i;
    uint64_t shuffle_state = c->seed;
    spk_loss_params lp = spk_loss_params_default(c->loss);
    size_t n_batches = n_train / c->batch; /* the last partial batch is dropped */
    const spk_lr_schedule schedule = lr_schedule(c, n_batches);
    double t_train = now();
    for (size_t epoch = 0; epoch < c->epochs; epoch++) {
        shuffle(order, n_train, &shuffle_state);
        double t0 = now(), loss_sum = 0.0;
        size_t correct = 0;
        int decile = 0;
        char what[64];
        snprintf(what, sizeof what, "epoch %zu/%zu", epoch + 1, c->epochs);
        for (size_t bi = 0; bi < n_batches; bi++) {
            const spk_tensor *out;
            float loss = 0.0f;
            size_t ok = 0;
            stage = "training";
            float lr = c->lr;
            if ((st = spk_lr_schedule_at(&schedule, epoch * n_batches + bi, &lr, NULL, 0)) != SPK_OK ||
                (st = spk_optimizer_set_lr(opt, lr)) != SPK_OK)
                goto fail;
            if ((st = spk_train_load_batch(ctx, c, train, order + bi * c->batch, c->batch, epoch * n_batches + bi,
                                           &b)) ||
                (st = spk_network_forward(net, b.net_input, &out)))
                goto fail;
            if ((st = spk_loss(ctx, &lp, out, b.labels, b.grad, &loss, &ok)) != SPK_OK) {
                stage = st == SPK_ERR_NUMERIC ? "training (the loss diverged; lower --lr)" : "computing the loss";
                goto fail;
            }
            if ((st = spk_network_backward(net, b.grad)))
                goto fail;
            if (c->clip > 0.0f && (st = spk_network_clip_grad_norm(net, c->clip, NULL)) != SPK_OK) {
                stage = "clipping gradients (a gradient is NaN or Inf; lower --lr)";
                goto fail;
            }
            if ((st = spk_network_step(net, opt)))
                goto fail;
            if (epoch == 0 && bi == 0 && (st = report_startup(ctx, t_start, t_setup)) != SPK_OK)
                goto fail;
            loss_sum += loss;
            correct += ok;
            progress(what, (bi + 1) * c->batch, n_batches * c->batch, t0, &decile);
        }
        double t_epoch = now() - t0, acc = 0.0;
        stage = "evaluating";
        if ((st = evaluate(ctx, c, net, test, n_test, &b, &acc)) != SPK_OK)
            goto fail;
        printf("epoch %zu/%zu: loss %.4f, train accuracy %.2f%%, test accuracy %.2f%%, %.1f s (%.0f img/s)\n",
               epoch + 1, c->epochs, loss_sum / (double)n_batches,
               100.0 * (double)correct / (double)(n_batches * c->batch), 100.0 * acc, t_epoch,
               (double)(n_batches * c->batch) / t_epoch);
        fflush(stdout);
        if (c->checkpoint) {
            char arch[256];
            format_arch(c, F, C, arch, sizeof arch);
            stage = "writing the checkpoint";
            if ((st = spk_checkpoint_save(net, c->checkpoint, arch)) != SPK_OK)
                goto fail;
            printf("checkpoint written to %s\n", c->checkpoint);
        }
    }
    printf("training took %.1f s\n", now() - t_train);
    goto done;
fail:
    spk_cli_report(ctx, st, stage);
done:
    free(b.host), free(b.labels), free(order);
    spk_tensor_free(b.pixels), spk_tensor_free(b.input), spk_tensor_free(b.grad);
    spk_optimizer_free(opt);
    spk_network_free(net);
    spk_context_free(ctx);
    spk_dataset_free(train);
    spk_dataset_free(test);
    return st;
}

spk_status spk_eval_run(const spk_train_config *cfg)
{
    spk_status st = SPK_OK;
    spk_train_config c = *cfg;
    spk_dataset *test = NULL;
    spk_context *ctx = NULL;
    spk_network *net = NULL;
    spk_batch_io b = {0};
    char arch[256];
    size_t F = 0, C = 0;
    const char *stage = "reading the checkpoint";
    if ((st = spk_checkpoint_arch(c.checkpoint, arch, sizeof arch)) != SPK_OK)
        goto fail;
    if (parse_arch(arch, &c, &F, &C) != 0) {
        fprintf(stderr, "spikecl eval: %s describes an architecture this version cannot build: '%s'\n", c.checkpoint,
                arch);
        st = SPK_ERR_CORRUPT;
        goto done;
    }
    stage = "loading the test set";
    if ((st = spk_dataset_load_fashion_mnist(c.data_dir, "test", &test)) != SPK_OK)
        goto fail;
    if (test->rows * test->cols != F) {
        fprintf(stderr, "spikecl eval: the checkpoint expects %zu inputs, the data has %zux%zu\n", F, test->rows,
                test->cols);
        st = SPK_ERR_SHAPE;
        goto done;
    }
    stage = "creating the OpenCL context";
    spk_context_options o = spk_context_options_default();
    o.device = c.device;
    o.seed = c.seed;
    o.gemm_backend = c.gemm;
    if ((st = spk_context_create(&o, &ctx)) != SPK_OK)
        goto fail;
    stage = "building the network";
    if ((st = spk_train_build_network(ctx, &c, test->rows, test->cols, C, &net)) != SPK_OK)
        goto fail;
    stage = "loading the checkpoint";
    if ((st = spk_checkpoint_load(net, c.checkpoint)) != SPK_OK)
        goto fail;
    b.host = malloc(c.batch * F * sizeof *b.host);
    b.labels = malloc(c.batch);
    if (!b.host || !b.labels) {
        st = SPK_ERR_OUT_OF_MEMORY;
        fprintf(stderr, "spikecl eval: out of host memory\n");
        goto done;
    }
    stage = "allocating the batch";
    if ((st = spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){c.batch, F}, &b.pixels)) ||
        (c.encoder != ENCODER_DIRECT &&
         (st = spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){c.steps, c.batch, F}, &b.input))))
        goto fail;
    size_t n_test = c.limit_test && c.limit_test < test->n ? c.limit_test : test->n;
    double acc = 0.0, t0 = now();
    stage = "evaluating";
    if ((st = evaluate(ctx, &c, net, test, n_test, &b, &acc)) != SPK_OK)
        goto fail;
    printf("%s (%s): test accuracy %.2f%% on %zu images, %.1f s\n", c.checkpoint, arch, 100.0 * acc, n_test,
           now() - t0);
    goto done;
fail:
    spk_cli_report(ctx, st, stage);
done:
    free(b.host), free(b.labels);
    spk_tensor_free(b.pixels), spk_tensor_free(b.input);
    spk_network_free(net);
    spk_context_free(ctx);
    spk_dataset_free(test);
    return st;
}
