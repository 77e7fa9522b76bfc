/* Optimizers on every device against the C reference (several steps,
 * several slots, views with offsets, learning-rate changes, resets), losses
 * against a host computation written here and against finite differences of
 * the loss itself, and every invalid argument. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ref/ref.h"

/* ---- Optimizers ---------------------------------------------------- */

typedef struct optim_case {
    const char *name;
    spk_optimizer_kind kind;
    float lr, momentum, weight_decay;
    float beta1, beta2, eps; /* 0: keep the defaults */
} optim_case;

static const optim_case OPTIM_CASES[] = {
    {"sgd", SPK_OPTIM_SGD, 0.1f, 0.0f, 0.0f, 0, 0, 0},
    {"sgd momentum", SPK_OPTIM_SGD, 0.05f, 0.9f, 0.0f, 0, 0, 0},
    {"sgd weight decay", SPK_OPTIM_SGD, 0.1f, 0.0f, 0.05f, 0, 0, 0},
    {"sgd momentum weight decay", SPK_OPTIM_SGD, 0.03f, 0.5f, 0.2f, 0, 0, 0},
    {"adam", SPK_OPTIM_ADAM, 0.01f, 0.0f, 0.0f, 0, 0, 0},
    {"adam l2", SPK_OPTIM_ADAM, 0.02f, 0.0f, 0.1f, 0, 0, 0},
    {"adamw", SPK_OPTIM_ADAMW, 0.01f, 0.0f, 0.1f, 0, 0, 0},
    {"adamw custom betas", SPK_OPTIM_ADAMW, 0.05f, 0.0f, 0.01f, 0.5f, 0.9f, 1e-4f},
};

#define N_OPTIM_CASES (sizeof OPTIM_CASES / sizeof OPTIM_CASES[0])

static spk_optimizer_params optim_params(const optim_case *c)
{
    spk_optimizer_params p = spk_optimizer_params_default(c->kind);
    p.lr = c->lr;
    p.momentum = c->momentum;
    p.weight_decay = c->weight_decay;
    if (c->beta1 > 0.0f)
        p.beta1 = c->beta1, p.beta2 = c->beta2, p.eps = c->eps;
    return p;
}

/* One optimizer slot: the device tensors (guarded views) and the host mirror. */
typedef struct slot_state {
    size_t slot, n;
    spk_test_guarded x, g;
    float *hx, *hm, *hv, *hg, *got;
    long steps;
} slot_state;

static void slot_init(spk_context *ctx, slot_state *s, size_t slot, size_t n, spk_test_rng *r)
{
    s->slot = slot, s->n = n, s->steps = 0;
    s->hx = spk_test_alloc(n), s->hm = spk_test_alloc(n), s->hv = spk_test_alloc(n);
    s->hg = spk_test_alloc(n), s->got = spk_test_alloc(n);
    spk_test_fill_uniform(r, s->hx, n, -2.0f, 2.0f);
    spk_test_guarded_create(ctx, SPK_F32, 1, &n, &s->x);
    spk_test_guarded_create(ctx, SPK_F32, 2, (size_t[2]){1, n}, &s->g); /* a different shape, same count */
    spk_test_guarded_upload(&s->x, s->hx);
}

static void slot_free(slot_state *s)
{
    spk_test_guarded_free(&s->x), spk_test_guarded_free(&s->g);
    free(s->hx), free(s->hm), free(s->hv), free(s->hg), free(s->got);
}

static void slot_forget(slot_state *s)
{
    memset(s->hm, 0, s->n * sizeof(float));
    memset(s->hv, 0, s->n * sizeof(float));
    s->steps = 0;
}

/* One step on the device and on the host mirror, then compare x. */
static void slot_step(spk_context *ctx, spk_optimizer *opt, const spk_optimizer_params *p, slot_state *s,
                      spk_test_rng *r, const char *name, int step)
{
    spk_test_fill_normal(r, s->hg, s->n, 0.0f, 0.5f);
    for (size_t i = 0; i < s->n; i += 7)
        s->hg[i] = 0.0f; /* zero gradients: Adam's update must stay finite */
    spk_test_guarded_upload(&s->g, s->hg);
    SPK_ASSERT_OK(ctx, spk_optimizer_apply(opt, s->slot, s->x.t, s->g.t));
    s->steps++;
    if (p->kind == SPK_OPTIM_SGD)
        spk_ref_sgd_step(s->n, s->hx, s->hg, s->hm, p->lr, p->momentum, p->weight_decay);
    else
        spk_ref_adam_step(s->n, s->hx, s->hg, s->hm, s->hv, p->lr, p->beta1, p->beta2, p->eps, p->weight_decay,
                          p->kind == SPK_OPTIM_ADAMW, s->steps);
    char what[160];
    snprintf(what, sizeof what, "%s: slot %zu (%zu elements) after step %d", name, s->slot, s->n, step);
    spk_test_guarded_download(&s->x, s->got, what);
    /* sqrt and division may differ from the host by a few ulp */
    spk_test_compare(what, s->got, s->hx, s->n, 2e-6f, 1e-6f);
}

Test(learn, optimizers_match_reference_on_every_device, .timeout = 600)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        for (size_t c = 0; c < N_OPTIM_CASES; c++) {
            const optim_case *oc = &OPTIM_CASES[c];
            spk_optimizer_params p = optim_params(oc);
            spk_optimizer *opt = NULL;
            SPK_ASSERT_OK(ctx, spk_optimizer_create(ctx, &p, &opt));
            cr_assert_eq(spk_optimizer_lr(opt), p.lr);
            spk_test_rng r = {1000 + c};
            /* Sizes that are not multiples of 64; slot numbers with gaps. */
            slot_state s[3];
            slot_init(ctx, &s[0], 0, 150, &r);
            slot_init(ctx, &s[1], 5, 1031, &r);
            slot_init(ctx, &s[2], 2, 1, &r);
            for (int step = 1; step <= 9; step++) {
                if (step == 4) { /* a schedule: the new rate applies from the next step */
                    SPK_ASSERT_OK(ctx, spk_optimizer_set_lr(opt, p.lr * 0.5f));
                    p.lr *= 0.5f;
                    cr_assert_eq(spk_optimizer_lr(opt), p.lr);
                }
                if (step == 7) { /* forget the moments and restart bias correction */
                    spk_optimizer_reset(opt);
                    for (int k = 0; k < 3; k++)
                        slot_forget(&s[k]);
                }
                slot_step(ctx, opt, &p, &s[0], &r, oc->name, step);
                if (step >= 2) /* joins later: its own step count */
                    slot_step(ctx, opt, &p, &s[1], &r, oc->name, step);
                if (step % 2 == 0)
                    slot_step(ctx, opt, &p, &s[2], &r, oc->name, step);
                if (step == 3) {
                    /* A slot keeps its element count; the refused call changes nothing. */
                    SPK_ASSERT_STATUS(ctx, spk_optimizer_apply(opt, 0, s[1].x.t, s[1].g.t), SPK_ERR_SHAPE,
                                      "slot 0");
                    SPK_ASSERT_STATUS(ctx, spk_optimizer_apply(opt, 5, s[0].x.t, s[0].g.t), SPK_ERR_SHAPE,
                                      "slot 5");
                    spk_test_guarded_download(&s[1].x, s[1].got, "x after a refused step");
                    spk_test_compare("x after a refused step", s[1].got, s[1].hx, s[1].n, 0.0f, 0.0f);
                }
            }
            /* After a reset, a slot may take another element count. */
            spk_optimizer_reset(opt);
            SPK_ASSERT_OK(ctx, spk_optimizer_apply(opt, 0, s[1].x.t, s[1].g.t));
            for (int k = 0; k < 3; k++)
                slot_free(&s[k]);
            spk_optimizer_free(opt);
        }
    }
}

/* Zero learning rate leaves x bit for bit; SGD on a whole tensor equals the
 * same step through two views of its halves. */
Test(learn, optimizer_views_and_zero_rate)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        const size_t n = 203, h = 101;
        spk_test_rng r = {3};
        float *x0 = spk_test_alloc(n), *g = spk_test_alloc(n), *a = spk_test_alloc(n), *b = spk_test_alloc(n);
        spk_test_fill_uniform(&r, x0, n, -1, 1);
        spk_test_fill_normal(&r, g, n, 0, 1);
        spk_tensor *x, *dx, *x1, *x2, *g1, *g2;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 1, &n, &x));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 1, &n, &dx));
        SPK_ASSERT_OK(ctx, spk_tensor_upload(dx, g, n * 4));

        spk_optimizer_params p = spk_optimizer_params_default(SPK_OPTIM_ADAM);
        p.lr = 0.0f;
        spk_optimizer *opt;
        SPK_ASSERT_OK(ctx, spk_optimizer_create(ctx, &p, &opt));
        SPK_ASSERT_OK(ctx, spk_tensor_upload(x, x0, n * 4));
        for (int i = 0; i < 3; i++)
            SPK_ASSERT_OK(ctx, spk_optimizer_apply(opt, 0, x, dx));
        SPK_ASSERT_OK(ctx, spk_tensor_download(x, a, n * 4));
        cr_assert(memcmp(a, x0, n * 4) == 0, "lr 0 changed x");
        spk_optimizer_free(opt);

        p = spk_optimizer_params_default(SPK_OPTIM_SGD);
        p.momentum = 0.9f;
        SPK_ASSERT_OK(ctx, spk_optimizer_create(ctx, &p, &opt));
        SPK_ASSERT_OK(ctx, spk_tensor_upload(x, x0, n * 4));
        for (int i = 0; i < 3; i++)
            SPK_ASSERT_OK(ctx, spk_optimizer_apply(opt, 0, x, dx));
        SPK_ASSERT_OK(ctx, spk_tensor_download(x, a, n * 4));
        spk_optimizer_reset(opt);
        SPK_ASSERT_OK(ctx, spk_tensor_upload(x, x0, n * 4));
        SPK_ASSERT_OK(ctx, spk_tensor_view(x, 0, 1, &h, &x1));
        SPK_ASSERT_OK(ctx, spk_tensor_view(x, h, 1, (size_t[1]){n - h}, &x2));
        SPK_ASSERT_OK(ctx, spk_tensor_view(dx, 0, 1, &h, &g1));
        SPK_ASSERT_OK(ctx, spk_tensor_view(dx, h, 1, (size_t[1]){n - h}, &g2));
        for (int i = 0; i < 3; i++) {
            SPK_ASSERT_OK(ctx, spk_optimizer_apply(opt, 0, x1, g1));
            SPK_ASSERT_OK(ctx, spk_optimizer_apply(opt, 1, x2, g2));
        }
        SPK_ASSERT_OK(ctx, spk_tensor_download(x, b, n * 4));
        cr_assert(memcmp(a, b, n * 4) == 0, "two views do not step like the whole tensor");
        spk_optimizer_free(opt);
        spk_tensor_free(x1), spk_tensor_free(x2), spk_tensor_free(g1), spk_tensor_free(g2);
        spk_tensor_free(x), spk_tensor_free(dx);
        free(x0), free(g), free(a), free(b);
    }
}

typedef struct bad_optim {
    const char *what;
    spk_optimizer_kind kind;
    void (*apply)(spk_optimizer_params *p);
    const char *needle;
} bad_optim;

static void neg_lr(spk_optimizer_params *p) { p->lr = -0.1f; }
static void nan_lr(spk_optimizer_params *p) { p->lr = NAN; }
static void inf_lr(spk_optimizer_params *p) { p->lr = INFINITY; }
static void beta1_one(spk_optimizer_params *p) { p->beta1 = 1.0f; }
static void beta2_big(spk_optimizer_params *p) { p->beta2 = 1.5f; }
static void beta1_neg(spk_optimizer_params *p) { p->beta1 = -0.1f; }
static void eps_zero(spk_optimizer_params *p) { p->eps = 0.0f; }
static void eps_neg(spk_optimizer_params *p) { p->eps = -1e-8f; }
static void momentum_one(spk_optimizer_params *p) { p->momentum = 1.0f; }
static void momentum_neg(spk_optimizer_params *p) { p->momentum = -0.5f; }
static void wd_neg(spk_optimizer_params *p) { p->weight_decay = -0.01f; }
static void wd_nan(spk_optimizer_params *p) { p->weight_decay = NAN; }
static void kind_bad(spk_optimizer_params *p) { p->kind = (spk_optimizer_kind)7; }
static void kind_neg(spk_optimizer_params *p) { p->kind = (spk_optimizer_kind)-1; }

static const bad_optim BAD_OPTIM[] = {
    {"lr < 0", SPK_OPTIM_SGD, neg_lr, "lr"},
    {"lr NaN", SPK_OPTIM_ADAM, nan_lr, "lr"},
    {"lr Inf", SPK_OPTIM_ADAMW, inf_lr, "lr"},
    {"beta1 = 1", SPK_OPTIM_ADAM, beta1_one, "beta1"},
    {"beta2 > 1", SPK_OPTIM_ADAMW, beta2_big, "beta2"},
    {"beta1 < 0", SPK_OPTIM_ADAM, beta1_neg, "beta1"},
    {"eps = 0", SPK_OPTIM_ADAM, eps_zero, "eps"},
    {"eps < 0", SPK_OPTIM_ADAMW, eps_neg, "eps"},
    {"momentum = 1", SPK_OPTIM_SGD, momentum_one, "momentum"},
    {"momentum < 0", SPK_OPTIM_SGD, momentum_neg, "momentum"},
    {"weight_decay < 0", SPK_OPTIM_SGD, wd_neg, "weight_decay"},
    {"weight_decay NaN", SPK_OPTIM_ADAMW, wd_nan, "weight_decay"},
    {"kind 7", SPK_OPTIM_SGD, kind_bad, "kind"},
    {"kind -1", SPK_OPTIM_SGD, kind_neg, "kind"},
};

Test(learn, optimizer_invalid_arguments)
{
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        for (size_t i = 0; i < sizeof BAD_OPTIM / sizeof BAD_OPTIM[0]; i++) {
            spk_optimizer_params p = spk_optimizer_params_default(BAD_OPTIM[i].kind);
            BAD_OPTIM[i].apply(&p);
            spk_optimizer *opt = (spk_optimizer *)&p; /* must be overwritten with NULL */
            spk_status st = spk_optimizer_create(ctx, &p, &opt);
            cr_assert(st == SPK_ERR_INVALID_ARGUMENT, "%s: got %s", BAD_OPTIM[i].what, spk_status_name(st));
            cr_assert(strstr(spk_context_last_error(ctx), BAD_OPTIM[i].needle), "%s: message '%s' lacks '%s'",
                      BAD_OPTIM[i].what, spk_context_last_error(ctx), BAD_OPTIM[i].needle);
            cr_assert(opt == NULL, "%s: out not cleared", BAD_OPTIM[i].what);
        }
        /* SGD ignores Adam's fields. */
        spk_optimizer_params p = spk_optimizer_params_default(SPK_OPTIM_SGD);
        p.beta1 = 2.0f, p.eps = 0.0f;
        spk_optimizer *opt = NULL;
        SPK_ASSERT_OK(ctx, spk_optimizer_create(ctx, &p, &opt));
        spk_optimizer_free(opt);

        p = spk_optimizer_params_default(SPK_OPTIM_ADAM);
        SPK_ASSERT_STATUS(NULL, spk_optimizer_create(NULL, &p, &opt), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(ctx, spk_optimizer_create(ctx, NULL, &opt), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(ctx, spk_optimizer_create(ctx, &p, NULL), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_OK(ctx, spk_optimizer_create(ctx, &p, &opt));

        SPK_ASSERT_STATUS(ctx, spk_optimizer_set_lr(opt, -1.0f), SPK_ERR_INVALID_ARGUMENT, "lr");
        SPK_ASSERT_STATUS(ctx, spk_optimizer_set_lr(opt, NAN), SPK_ERR_INVALID_ARGUMENT, "lr");
        SPK_ASSERT_STATUS(ctx, spk_optimizer_set_lr(opt, INFINITY), SPK_ERR_INVALID_ARGUMENT, "lr");
        cr_assert_eq(spk_optimizer_lr(opt), p.lr, "a refused rate was kept");
        SPK_ASSERT_STATUS(NULL, spk_optimizer_set_lr(NULL, 0.1f), SPK_ERR_NULL_POINTER, "NULL");
        cr_assert_eq(spk_optimizer_lr(NULL), 0.0f);

        const size_t n = 10;
        spk_tensor *x, *g, *u8, *short_g;
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 1, &n, &x));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 1, &n, &g));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_U8, 1, &n, &u8));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 1, (size_t[1]){n - 1}, &short_g));
        spk_tensor_fill_f32(x, 1.0f), spk_tensor_fill_f32(g, 1.0f), spk_tensor_fill_u8(u8, 1);
        SPK_ASSERT_STATUS(NULL, spk_optimizer_apply(NULL, 0, x, g), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(ctx, spk_optimizer_apply(opt, 0, NULL, g), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(ctx, spk_optimizer_apply(opt, 0, x, NULL), SPK_ERR_NULL_POINTER, "NULL");
        SPK_ASSERT_STATUS(ctx, spk_optimizer_apply(opt, 0, u8, g), SPK_ERR_DTYPE, "f32");
        SPK_ASSERT_STATUS(ctx, spk_optimizer_apply(opt, 0, x, u8), SPK_ERR_DTYPE, "f32");
        SPK_ASSERT_STATUS(ctx, spk_optimizer_apply(opt, 0, x, short_g), SPK_ERR_SHAPE, "elements");

        spk_context *other = spk_test_context(spk_sel_[spk_d_], 1);
        spk_tensor *foreign;
        SPK_ASSERT_OK(other, spk_tensor_create(other, SPK_F32, 1, &n, &foreign));
        SPK_ASSERT_STATUS(ctx, spk_optimizer_apply(opt, 0, foreign, g), SPK_ERR_CONTEXT, "context");
        spk_tensor_free(foreign);
        spk_context_free(other);

        /* None of the refused calls took the slot: it still accepts any size. */
        SPK_ASSERT_OK(ctx, spk_optimizer_apply(opt, 0, short_g, short_g));
        float hx[10];
        SPK_ASSERT_OK(ctx, spk_tensor_download(x, hx, sizeof hx));
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(hx[i], 1.0f, "a refused step changed x[%zu]", i);

        spk_optimizer_reset(NULL);
        spk_optimizer_free(NULL);
        spk_optimizer_free(opt);
        spk_tensor_free(x), spk_tensor_free(g), spk_tensor_free(u8), spk_tensor_free(short_g);
    }
}

/* ---- Losses -------------------------------------------------------- */

static const char *const LOSS_NAMES[] = {"ce-count", "ce-mean-membrane", "ce-max-membrane", "mse-count"};

/* The loss as the documentation states it, computed plainly in double. */
static void host_loss(const spk_loss_params *p, const float *y, size_t T, size_t B, size_t C, const uint8_t *labels,
                      double *loss, float *grad, size_t *correct, uint8_t *pred)
{
    double total = 0.0;
    size_t ok = 0;
    double z[256], d[256];
    size_t at[256];
    memset(grad, 0, T * B * C * sizeof *grad);
    for (size_t b = 0; b < B; b++) {
        for (size_t c = 0; c < C; c++) {
            double acc = 0.0, mx = -INFINITY;
            size_t arg = 0;
            for (size_t t = 0; t < T; t++) {
                double v = y[(t * B + b) * C + c];
                acc += v;
                if (v > mx)
                    mx = v, arg = t;
            }
            z[c] = p->kind == SPK_LOSS_CE_MAX_MEMBRANE ? mx : p->kind == SPK_LOSS_CE_MEAN_MEMBRANE ? acc / T : acc;
            at[c] = arg;
        }
        size_t best = 0;
        for (size_t c = 1; c < C; c++)
            if (z[c] > z[best])
                best = c;
        pred[b] = (uint8_t)best;
        ok += best == labels[b];
        if (p->kind == SPK_LOSS_MSE_COUNT) {
            /* mean over classes of (count - rate*T)^2 */
            for (size_t c = 0; c < C; c++) {
                double target = (c == labels[b] ? p->correct_rate : p->incorrect_rate) * (double)T;
                total += (z[c] - target) * (z[c] - target) / C;
                d[c] = 2.0 * (z[c] - target) / C;
            }
        } else {
            /* -log softmax(z)[label] */
            double sum = 0.0;
            for (size_t c = 0; c < C; c++)
                sum += exp(z[c]);
            total += log(sum) - z[labels[b]];
            for (size_t c = 0; c < C; c++)
                d[c] = exp(z[c]) / sum - (c == labels[b]);
        }
        for (size_t c = 0; c < C; c++)
            for (size_t t = 0; t < T; t++) {
                double dz_dy = p->kind == SPK_LOSS_CE_MAX_MEMBRANE   ? (t == at[c])
                               : p->kind == SPK_LOSS_CE_MEAN_MEMBRANE ? 1.0 / T
                                                                      : 1.0;
                grad[(t * B + b) * C + c] = (float)(d[c] * dz_dy / B);
            }
    }
    *loss = total / B;
    *correct = ok;
}

/* Output data for a loss kind: spikes for the count kinds, membranes for
 * the others, with deliberate ties (all-equal rows, two classes equal at
 * the top) that must go to the lowest class. */
static void loss_data(spk_loss_kind kind, size_t T, size_t B, size_t C, uint64_t seed, float *y, uint8_t *labels)
{
    spk_test_rng r = {seed};
    int counts = kind == SPK_LOSS_CE_COUNT || kind == SPK_LOSS_MSE_COUNT;
    for (size_t i = 0; i < T * B * C; i++)
        y[i] = counts ? (spk_test_uniform(&r, 0, 1) < 0.3f ? 1.0f : 0.0f) : spk_test_normal(&r);
    for (size_t b = 0; b < B; b++)
        labels[b] = (uint8_t)(spk_test_uniform(&r, 0, (float)C) * 0.999f);
    /* sample 0: all equal -> class 0 */
    for (size_t t = 0; t < T; t++)
        for (size_t c = 0; c < C; c++)
            y[(t * B + 0) * C + c] = counts ? 0.0f : 0.25f;
    /* sample 1: classes 1 and 3 tie at the top -> class 1 */
    for (size_t t = 0; t < T; t++)
        for (size_t c = 0; c < C; c++) {
            float v = counts ? (c == 1 || c == 3 ? 1.0f : t % 2 == 0 ? 1.0f : 0.0f)
                             : (c == 1 || c == 3 ? 3.0f + 0.1f * (float)t : -1.0f);
            y[(t * B + 1) * C + c] = v;
        }
    labels[0] = 0, labels[1] = 3;
}

static void upload(spk_context *ctx, spk_tensor *t, const float *h)
{
    SPK_ASSERT_OK(ctx, spk_tensor_upload(t, h, spk_tensor_bytes(t)));
}

Test(learn, losses_match_host_computation, .timeout = 300)
{
    const size_t T = 9, B = 6, C = 5, n = T * B * C;
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        float *y = spk_test_alloc(n), *want = spk_test_alloc(n), *got = spk_test_alloc(n);
        uint8_t labels[6], pred_want[6], pred_got[6];
        spk_tensor *out;
        spk_test_guarded grad;
        size_t shape[3] = {T, B, C};
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, shape, &out));
        spk_test_guarded_create(ctx, SPK_F32, 3, shape, &grad);
        for (int k = 0; k <= SPK_LOSS_MSE_COUNT; k++)
            for (int variant = 0; variant < 2; variant++) {
                spk_loss_params p = spk_loss_params_default((spk_loss_kind)k);
                cr_assert_eq(p.correct_rate, 0.8f);
                cr_assert_eq(p.incorrect_rate, 0.2f);
                if (variant == 1)
                    p.correct_rate = 0.6f, p.incorrect_rate = 0.05f; /* only MSE reads them */
                loss_data(p.kind, T, B, C, 50 + k * 2 + variant, y, labels);
                double want_loss;
                size_t want_correct, got_correct = 999;
                float got_loss = NAN;
                host_loss(&p, y, T, B, C, labels, &want_loss, want, &want_correct, pred_want);
                cr_assert_eq(pred_want[0], 0);
                cr_assert_eq(pred_want[1], 1);
                upload(ctx, out, y);
                SPK_ASSERT_OK(ctx, spk_loss(ctx, &p, out, labels, grad.t, &got_loss, &got_correct));
                char what[96];
                snprintf(what, sizeof what, "%s (variant %d): grad_output", LOSS_NAMES[k], variant);
                spk_test_guarded_download(&grad, got, what);
                spk_test_compare(what, got, want, n, 1e-7f, 1e-5f);
                cr_assert(fabs(got_loss - want_loss) <= 1e-6 * fabs(want_loss) + 1e-7, "%s: loss %.9g, host %.9g",
                          LOSS_NAMES[k], (double)got_loss, want_loss);
                cr_assert_eq(got_correct, want_correct, "%s: %zu correct, host %zu", LOSS_NAMES[k], got_correct,
                             want_correct);
                SPK_ASSERT_OK(ctx, spk_predict(ctx, &p, out, pred_got));
                for (size_t b = 0; b < B; b++)
                    cr_assert_eq(pred_got[b], pred_want[b], "%s: prediction of sample %zu is %u, host %u",
                                 LOSS_NAMES[k], b, pred_got[b], pred_want[b]);
                /* Every output pointer is optional. */
                SPK_ASSERT_OK(ctx, spk_loss(ctx, &p, out, labels, NULL, NULL, NULL));
                float l2;
                SPK_ASSERT_OK(ctx, spk_loss(ctx, &p, out, labels, NULL, &l2, NULL));
                cr_assert_eq(l2, got_loss, "%s: loss differs between calls", LOSS_NAMES[k]);
            }
        spk_tensor_free(out);
        spk_test_guarded_free(&grad);
        free(y), free(want), free(got);
    }
}

/* Central differences of spk_loss's own loss with respect to each output
 * value against its grad_output. The loss comes back as a float, so the
 * step is large enough that rounding (~1e-7 relative) stays small. */
Test(learn, loss_gradients_match_finite_differences, .timeout = 300)
{
    const size_t T = 7, B = 4, C = 3, n = T * B * C;
    const float eps = 1e-2f;
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        float *y = spk_test_alloc(n), *g = spk_test_alloc(n);
        uint8_t labels[4] = {0, 2, 1, 2};
        spk_tensor *out, *grad;
        size_t shape[3] = {T, B, C};
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, shape, &out));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, shape, &grad));
        for (int k = 0; k <= SPK_LOSS_MSE_COUNT; k++) {
            spk_loss_params p = spk_loss_params_default((spk_loss_kind)k);
            spk_test_rng r = {70 + k};
            /* Continuous values: the losses are smooth in them (counts are sums). */
            spk_test_fill_uniform(&r, y, n, k == SPK_LOSS_CE_COUNT ? 0.0f : -1.0f, 1.0f);
            upload(ctx, out, y);
            float l0;
            SPK_ASSERT_OK(ctx, spk_loss(ctx, &p, out, labels, grad, &l0, NULL));
            SPK_ASSERT_OK(ctx, spk_tensor_download(grad, g, n * 4));
            size_t checked = 0, nonzero = 0;
            for (size_t i = 0; i < n; i++) {
                size_t b = (i / C) % B, c = i % C;
                if (k == SPK_LOSS_CE_MAX_MEMBRANE) {
                    /* The max over time is smooth only away from ties: skip
                     * (sample, class) series whose two largest values are
                     * within a few steps of each other. */
                    float m1 = -INFINITY, m2 = -INFINITY;
                    for (size_t t = 0; t < T; t++) {
                        float v = y[(t * B + b) * C + c];
                        if (v > m1)
                            m2 = m1, m1 = v;
                        else if (v > m2)
                            m2 = v;
                    }
                    if (m1 - m2 < 4 * eps)
                        continue;
                }
                const float keep = y[i];
                float lp, lm;
                y[i] = keep + eps;
                upload(ctx, out, y);
                SPK_ASSERT_OK(ctx, spk_loss(ctx, &p, out, labels, NULL, &lp, NULL));
                y[i] = keep - eps;
                upload(ctx, out, y);
                SPK_ASSERT_OK(ctx, spk_loss(ctx, &p, out, labels, NULL, &lm, NULL));
                y[i] = keep;
                double fd = ((double)lp - (double)lm) / (2.0 * eps);
                cr_assert(fabs(fd - g[i]) <= 5e-5 + 1e-2 * fabs(fd), "%s: grad_output[%zu] = %.6g, finite difference %.6g",
                          LOSS_NAMES[k], i, (double)g[i], fd);
                checked++;
                nonzero += fabs(g[i]) > 1e-4;
            }
            cr_assert(checked * 4 >= n * 3, "%s: only %zu of %zu entries checked", LOSS_NAMES[k], checked, n);
            /* the max passes its gradient to one step of each series */
            cr_assert(nonzero * (k == SPK_LOSS_CE_MAX_MEMBRANE ? 2 * T : 4) >= checked, "%s: only %zu of %zu gradients are nonzero", LOSS_NAMES[k], nonzero,
                      checked);
            upload(ctx, out, y);
        }
        spk_tensor_free(out), spk_tensor_free(grad);
        free(y), free(g);
    }
}

Test(learn, loss_invalid_arguments)
{
    const size_t T = 4, B = 3, C = 3, n = T * B * C;
    SPK_FOR_EACH_DEVICE(ctx, 1)
    {
        float *y = spk_test_alloc(n);
        uint8_t labels[3] = {0, 1, 2}, pred[3];
        spk_tensor *out, *grad, *bad_grad, *flat, *u8, *grad_u8;
        size_t shape[3] = {T, B, C};
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, shape, &out));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, shape, &grad));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 3, (size_t[3]){T, C, B + 1}, &bad_grad));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_F32, 2, (size_t[2]){T * B, C}, &flat));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_U8, 3, shape, &u8));
        SPK_ASSERT_OK(ctx, spk_tensor_create(ctx, SPK_U8, 3, shape, &grad_u8));
        spk_tensor_fill_f32(flat, 0.0f), spk_tensor_fill_u8(u8, 0);

        for (int k = 0; k <= SPK_LOSS_MSE_COUNT; k++) {
            spk_loss_params p = spk_loss_params_default((spk_loss_kind)k);
            const char *name = LOSS_NAMES[k];
            spk_test_rng r = {90 + k};
            spk_test_fill_uniform(&r, y, n, 0, 1);
            upload(ctx, out, y);
            float loss = 123.0f;
            size_t correct = 77;
            SPK_ASSERT_OK(ctx, spk_loss(ctx, &p, out, labels, grad, &loss, &correct));

            /* NaN and +-Inf anywhere in the output, not only at the first step. */
            const float poison[3] = {NAN, INFINITY, -INFINITY};
            const size_t where[3] = {(T - 1) * B * C + 1 * C + 2, 0, 2 * B * C + 2 * C + 0};
            for (int q = 0; q < 3; q++)
                for (int w = 0; w < 3; w++) {
                    float keep = y[where[w]];
                    y[where[w]] = poison[q];
                    upload(ctx, out, y);
                    float l = 5.0f;
                    spk_status st = spk_loss(ctx, &p, out, labels, grad, &l, NULL);
                    cr_assert(st == SPK_ERR_NUMERIC, "%s: %g at element %zu gives %s (loss %g)", name,
                              (double)poison[q], where[w], spk_status_name(st), (double)l);
                    cr_assert(strstr(spk_context_last_error(ctx), "NaN"), "%s: message '%s'", name,
                              spk_context_last_error(ctx));
                    cr_assert_eq(l, 5.0f, "%s: loss written despite the error", name);
                    y[where[w]] = keep;
                }
            upload(ctx, out, y);

            uint8_t bad_labels[3] = {0, (uint8_t)C, 1};
            SPK_ASSERT_STATUS(ctx, spk_loss(ctx, &p, out, bad_labels, grad, &loss, NULL), SPK_ERR_INVALID_ARGUMENT,
                              "label 3");
            bad_labels[1] = 255;
            SPK_ASSERT_STATUS(ctx, spk_loss(ctx, &p, out, bad_labels, grad, &loss, NULL), SPK_ERR_INVALID_ARGUMENT,
                              "label");
            SPK_ASSERT_STATUS(ctx, spk_loss(ctx, &p, out, labels, bad_grad, &loss, NULL), SPK_ERR_SHAPE,
                              "grad_output");
            SPK_ASSERT_STATUS(ctx, spk_loss(ctx, &p, out, labels, grad_u8, &loss, NULL), SPK_ERR_DTYPE,
                              "grad_output");
            SPK_ASSERT_STATUS(ctx, spk_loss(ctx, &p, flat, labels, NULL, &loss, NULL), SPK_ERR_SHAPE, "[T, B, C]");
            SPK_ASSERT_STATUS(ctx, spk_loss(ctx, &p, u8, labels, NULL, &loss, NULL), SPK_ERR_SHAPE, "f32");
            SPK_ASSERT_STATUS(ctx, spk_predict(ctx, &p, flat, pred), SPK_ERR_SHAPE, "[T, B, C]");
            SPK_ASSERT_STATUS(ctx, spk_loss(ctx, &p, out, NULL, grad, &loss, NULL), SPK_ERR_NULL_POINTER, "labels");
            SPK_ASSERT_STATUS(ctx, spk_loss(ctx, NULL, out, labels, grad, &loss, NULL), SPK_ERR_NULL_POINTER, "NULL");
            SPK_ASSERT_STATUS(ctx, spk_loss(ctx, &p, NULL, labels, grad, &loss, NULL), SPK_ERR_NULL_POINTER, "NULL");
            SPK_ASSERT_STATUS(NULL, spk_loss(NULL, &p, out, labels, grad, &loss, NULL), SPK_ERR_NULL_POINTER, "NULL");
            SPK_ASSERT_STATUS(ctx, spk_predict(ctx, &p, out, NULL), SPK_ERR_NULL_POINTER, "pred");
            SPK_ASSERT_STATUS(ctx, spk_predict(ctx, NULL, out, pred), SPK_ERR_NULL_POINTER, "NULL");
            cr_assert_eq(loss, loss, "loss became NaN");
        }
        spk_loss_params p = spk_loss_params_default((spk_loss_kind)4);
        SPK_ASSERT_STATUS(ctx, spk_loss(ctx, &p, out, labels, grad, NULL, NULL), SPK_ERR_INVALID_ARGUMENT, "kind");
        SPK_ASSERT_STATUS(ctx, spk_predict(ctx, &p, out, pred), SPK_ERR_INVALID_ARGUMENT, "kind");

        /* An output of another context. */
        spk_context *other = spk_test_context(spk_sel_[spk_d_], 1);
        spk_tensor *foreign;
        SPK_ASSERT_OK(other, spk_tensor_create(other, SPK_F32, 3, shape, &foreign));
        p = spk_loss_params_default(SPK_LOSS_CE_COUNT);
        SPK_ASSERT_STATUS(ctx, spk_loss(ctx, &p, foreign, labels, NULL, NULL, NULL), SPK_ERR_CONTEXT, "context");
        spk_tensor_free(foreign);
        spk_context_free(other);

        spk_tensor_free(out), spk_tensor_free(grad), spk_tensor_free(bad_grad), spk_tensor_free(flat);
        spk_tensor_free(u8), spk_tensor_free(grad_u8);
        free(y);
    }
}

/* ---- Learning-rate schedules ------------------------------------------- */

static float lr_at(const spk_lr_schedule *s, size_t step)
{
    float lr = -1.0f;
    char msg[128] = "";
    spk_status st = spk_lr_schedule_at(s, step, &lr, msg, sizeof msg);
    cr_assert(st == SPK_OK, "schedule kind %d at step %zu: %s (%s)", (int)s->kind, step, spk_status_name(st), msg);
    return lr;
}

Test(schedule, values_at_known_steps)
{
    spk_lr_schedule c = spk_lr_schedule_default(SPK_LR_CONSTANT, 0.01f, 100);
    cr_assert(lr_at(&c, 0) == 0.01f && lr_at(&c, 12345) == 0.01f);

    spk_lr_schedule st = spk_lr_schedule_default(SPK_LR_STEP, 0.08f, 10);
    cr_assert(lr_at(&st, 0) == 0.08f && lr_at(&st, 9) == 0.08f, "no decay within the first 10 steps");
    cr_assert(lr_at(&st, 10) == 0.04f && lr_at(&st, 29) == 0.02f, "halved every 10 steps");
    st.gamma = 0.1f;
    cr_assert(fabsf(lr_at(&st, 25) - 0.0008f) < 1e-9f);

    spk_lr_schedule cs = spk_lr_schedule_default(SPK_LR_COSINE, 0.002f, 100);
    cr_assert(lr_at(&cs, 0) == 0.002f);
    cr_assert(fabsf(lr_at(&cs, 50) - 0.001f) < 1e-9f, "half way: half the rate");
    cr_assert(fabsf(lr_at(&cs, 25) - 0.002f * 0.5f * (1.0f + sqrtf(0.5f))) < 1e-8f);
    cr_assert(lr_at(&cs, 100) == 0.0f && lr_at(&cs, 1000) == 0.0f, "the floor after the decay");
    float prev = 1.0f;
    for (size_t k = 0; k <= 100; k++) { /* monotone */
        float lr = lr_at(&cs, k);
        cr_assert(lr <= prev, "cosine rate rose at step %zu", k);
        prev = lr;
    }
    cs.min_lr = 0.0005f;
    cr_assert(fabsf(lr_at(&cs, 50) - 0.00125f) < 1e-9f && lr_at(&cs, 100) == 0.0005f);
}

Test(schedule, invalid_parameters)
{
    float lr = 0.0f;
    char msg[128];
    cr_assert(spk_lr_schedule_at(NULL, 0, &lr, msg, sizeof msg) == SPK_ERR_NULL_POINTER);
    struct {
        spk_lr_schedule s;
        const char *needle;
    } bad[] = {
        {{SPK_LR_CONSTANT, -1.0f, 1, 0.5f, 1, 0.0f}, "base_lr"},
        {{SPK_LR_CONSTANT, INFINITY, 1, 0.5f, 1, 0.0f}, "base_lr"},
        {{SPK_LR_STEP, 0.1f, 0, 0.5f, 1, 0.0f}, "step_size"},
        {{SPK_LR_STEP, 0.1f, 5, 1.5f, 1, 0.0f}, "gamma"},
        {{SPK_LR_STEP, 0.1f, 5, 0.0f, 1, 0.0f}, "gamma"},
        {{SPK_LR_COSINE, 0.1f, 1, 0.5f, 0, 0.0f}, "total_steps"},
        {{SPK_LR_COSINE, 0.1f, 1, 0.5f, 10, 0.2f}, "min_lr"},
        {{(spk_lr_schedule_kind)9, 0.1f, 1, 0.5f, 10, 0.0f}, "kind 9"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg[0] = '\0';
        cr_assert(spk_lr_schedule_at(&bad[i].s, 3, &lr, msg, sizeof msg) == SPK_ERR_INVALID_ARGUMENT, "case %zu", i);
        cr_assert(strstr(msg, bad[i].needle), "case %zu: message '%s' does not name %s", i, msg, bad[i].needle);
    }
}
