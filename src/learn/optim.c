/* Host side of kernels/optim.cl: the optimizer keeps one state slot per
 * parameter tensor. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ops/ops_internal.h"

typedef struct optim_slot {
    spk_tensor *m, *v; /* moments (Adam) or velocity (SGD, in m) */
    size_t numel;
    long steps;
} optim_slot;

struct spk_optimizer {
    spk_context *ctx;
    spk_optimizer_params p;
    optim_slot *slots;
    size_t n_slots;
};

spk_optimizer_params spk_optimizer_params_default(spk_optimizer_kind kind)
{
    spk_optimizer_params p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    p.lr = kind == SPK_OPTIM_SGD ? 0.01f : 1e-3f;
    p.beta1 = 0.9f;
    p.beta2 = 0.999f;
    p.eps = 1e-8f;
    p.weight_decay = kind == SPK_OPTIM_ADAMW ? 0.01f : 0.0f;
    return p;
}

static spk_status check_params(spk_context *ctx, const spk_optimizer_params *p)
{
    spk_status st = SPK_OK;
    SPK_CHECK(ctx, (unsigned)p->kind <= SPK_OPTIM_ADAMW, SPK_ERR_INVALID_ARGUMENT, "optimizer kind %d is unknown",
              (int)p->kind);
    SPK_CHECK(ctx, p->lr >= 0.0f && isfinite(p->lr), SPK_ERR_INVALID_ARGUMENT,
              "optimizer: lr must be finite and >= 0 (got %g)", (double)p->lr);
    SPK_CHECK(ctx, p->weight_decay >= 0.0f && isfinite(p->weight_decay), SPK_ERR_INVALID_ARGUMENT,
              "optimizer: weight_decay must be finite and >= 0 (got %g)", (double)p->weight_decay);
    SPK_CHECK(ctx, p->momentum >= 0.0f && p->momentum < 1.0f, SPK_ERR_INVALID_ARGUMENT,
              "optimizer: momentum must be in [0, 1) (got %g)", (double)p->momentum);
    if (p->kind != SPK_OPTIM_SGD) {
        SPK_CHECK(ctx, p->beta1 >= 0.0f && p->beta1 < 1.0f && p->beta2 >= 0.0f && p->beta2 < 1.0f,
                  SPK_ERR_INVALID_ARGUMENT, "optimizer: beta1 and beta2 must be in [0, 1) (got %g, %g)",
                  (double)p->beta1, (double)p->beta2);
        SPK_CHECK(ctx, p->eps > 0.0f && isfinite(p->eps), SPK_ERR_INVALID_ARGUMENT,
                  "optimizer: eps must be finite and > 0 (got %g)", (double)p->eps);
    }
fail:
    return st;
}

/* The build options of optim.cl on this device: the tiled variants'
 * vector width on CPU devices (spk__step_sync), none elsewhere. */
static void optim_options(const spk_context *ctx, char *buf, size_t cap)
{
    if (spk__step_sync(ctx))
        snprintf(buf, cap, "-DOPTIM_VW=%d", spk__native_vector_width(ctx));
    else
        snprintf(buf, cap, "%s", "");
}

spk_status spk_optimizer_create(spk_context *ctx, const spk_optimizer_params *p, spk_optimizer **out)
{
    spk_status st = SPK_OK;
    SPK_CHECK(ctx, ctx && p && out, SPK_ERR_NULL_POINTER, "spk_optimizer_create: ctx, params or out is NULL");
    *out = NULL;
    SPK_TRY(check_params(ctx, p));
    spk_optimizer *o = spk__calloc(1, sizeof *o);
    SPK_CHECK(ctx, o != NULL, SPK_ERR_OUT_OF_MEMORY, "spk_optimizer_create: out of host memory");
    o->ctx = ctx;
    o->p = *p;
    char opts[32];
    optim_options(ctx, opts, sizeof opts);
    spk__program_expect(ctx, "optim.cl", opts);
    *out = o;
fail:
    return st;
}

void spk_optimizer_reset(spk_optimizer *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n_slots; i++) {
        spk_tensor_free(o->slots[i].m);
        spk_tensor_free(o->slots[i].v);
    }
    spk__free(o->slots);
    o->slots = NULL;
    o->n_slots = 0;
}

void spk_optimizer_free(spk_optimizer *o)
{
    spk_optimizer_reset(o);
    spk__free(o);
}

spk_status spk_optimizer_set_lr(spk_optimizer *o, float lr)
{
    spk_status st = SPK_OK;
    SPK_CHECK(o ? o->ctx : NULL, o != NULL, SPK_ERR_NULL_POINTER, "spk_optimizer_set_lr: optimizer is NULL");
    SPK_CHECK(o->ctx, lr >= 0.0f && isfinite(lr), SPK_ERR_INVALID_ARGUMENT,
              "spk_optimizer_set_lr: lr must be finite and >= 0 (got %g)", (double)lr);
    o->p.lr = lr;
fail:
    return st;
}

float spk_optimizer_lr(const spk_optimizer *o)
{
    return o ? o->p.lr : 0.0f;
}

/* The slot's state, created zeroed on first use. */
static spk_status get_slot(spk_optimizer *o, size_t slot, size_t numel, optim_slot **out)
{
    spk_status st = SPK_OK;
    if (slot >= o->n_slots) {
        optim_slot *grown = spk__realloc(o->slots, o->n_slots * sizeof *grown, (slot + 1) * sizeof *grown);
        SPK_CHECK(o->ctx, grown != NULL, SPK_ERR_OUT_OF_MEMORY, "optimizer: out of host memory");
        memset(grown + o->n_slots, 0, (slot + 1 - o->n_slots) * sizeof *grown);
        o->slots = grown;
        o->n_slots = slot + 1;
    }
    optim_slot *s = &o->slots[slot];
    if (!s->m) {
        SPK_TRY(spk_tensor_create(o->ctx, SPK_F32, 1, &numel, &s->m));
        SPK_TRY(spk_tensor_fill_f32(s->m, 0.0f));
        if (o->p.kind != SPK_OPTIM_SGD) {
            SPK_TRY(spk_tensor_create(o->ctx, SPK_F32, 1, &numel, &s->v));
            SPK_TRY(spk_tensor_fill_f32(s->v, 0.0f));
        }
        s->numel = numel;
    }
    SPK_CHECK(o->ctx, s->numel == numel, SPK_ERR_SHAPE, "optimizer slot %zu holds %zu elements, given %zu", slot,
              s->numel, numel);
    *out = s;
    return SPK_OK;
fail:
    if (slot < o->n_slots && !o->slots[slot].numel) {
        spk_tensor_free(o->slots[slot].m);
        spk_tensor_free(o->slots[slot].v);
        o->slots[slot].m = o->slots[slot].v = NULL;
    }
    return st;
}

/* The kernel `name` of the rules, and how to launch it: on CPU devices the
 * tiled variant (name_tiled, whose second argument is the chunk), each work
 * item a run of native-width vectors; elsewhere one item per element. */
typedef struct optim_launch {
    cl_kernel k;
    cl_uint chunk;
    size_t items, local;
    int arg; /* the next argument's index */
} optim_launch;

static spk_status optim_kernel(spk_context *ctx, const char *name, cl_uint n, optim_launch *l)
{
    spk_status st = SPK_OK;
    char opts[32], tiled[64];
    optim_options(ctx, opts, sizeof opts);
    if (!spk__step_sync(ctx)) {
        SPK_TRY(spk__kernel_get(ctx, "optim.cl", opts, name, &l->k));
        *l = (optim_launch){l->k, 0, n, 64, 1};
        return SPK_SET_ARGS(ctx, l->k, SPK_ARG(n));
    }
    snprintf(tiled, sizeof tiled, "%s_tiled", name);
    SPK_TRY(spk__kernel_get(ctx, "optim.cl", opts, tiled, &l->k));
    const spk__tiling tiles = spk__tiling_for(ctx, n / (cl_uint)spk__native_vector_width(ctx));
    /* fewer elements than a vector: one item, for the tail */
    *l = (optim_launch){l->k, (cl_uint)tiles.chunk, tiles.items ? tiles.items : 1, tiles.local, 2};
    SPK_TRY(SPK_SET_ARGS(ctx, l->k, SPK_ARG(n), SPK_ARG(l->chunk)));
fail:
    return st;
}

spk_status spk_optimizer_apply(spk_optimizer *o, size_t slot, spk_tensor *x, const spk_tensor *dx)
{
    spk_status st = SPK_OK;
    spk_context *ctx = o ? o->ctx : NULL;
    optim_slot *s = NULL;
    SPK_CHECK(ctx, o && x && dx, SPK_ERR_NULL_POINTER, "spk_optimizer_apply: optimizer, x or dx is NULL");
    SPK_CHECK(ctx, x->ctx == ctx && dx->ctx == ctx, SPK_ERR_CONTEXT,
              "spk_optimizer_apply: tensors belong to another context");
    SPK_CHECK(ctx, x->dtype == SPK_F32 && dx->dtype == SPK_F32, SPK_ERR_DTYPE, "spk_optimizer_apply: x and dx must be f32");
    SPK_CHECK(ctx, x->numel == dx->numel, SPK_ERR_SHAPE, "spk_optimizer_apply: x has %zu elements, dx %zu", x->numel,
              dx->numel);
    SPK_CHECK(ctx, x->numel <= 0xffffffffu, SPK_ERR_SHAPE, "spk_optimizer_apply: tensor too large");
    SPK_TRY(get_slot(o, slot, x->numel, &s));
    s->steps++;
    cl_uint n = (cl_uint)x->numel;
    spk__buf bx = spk__buf_of(x), bg = spk__buf_of(dx);
    const spk_optimizer_params *p = &o->p;
    optim_launch l;
    if (p->kind == SPK_OPTIM_SGD) {
        SPK_TRY(optim_kernel(ctx, "sgd_step", n, &l));
        SPK_TRY(SPK_SET_ARGS_FROM(ctx, l.k, (size_t)l.arg, SPK_BUF(bx), SPK_BUF(bg), SPK_ARG(s->m->buf),
                                  SPK_ARG(p->lr), SPK_ARG(p->momentum), SPK_ARG(p->weight_decay)));
    } else {
        cl_int decoupled = p->kind == SPK_OPTIM_ADAMW;
        cl_float bc1 = (cl_float)(1.0 - pow(p->beta1, (double)s->steps));
        cl_float bc2 = (cl_float)(1.0 - pow(p->beta2, (double)s->steps));
        SPK_TRY(optim_kernel(ctx, "adam_step", n, &l));
        SPK_TRY(SPK_SET_ARGS_FROM(ctx, l.k, (size_t)l.arg, SPK_BUF(bx), SPK_BUF(bg), SPK_ARG(s->m->buf),
                                  SPK_ARG(s->v->buf), SPK_ARG(p->lr), SPK_ARG(p->beta1), SPK_ARG(p->beta2),
                                  SPK_ARG(p->eps), SPK_ARG(p->weight_decay), SPK_ARG(decoupled), SPK_ARG(bc1),
                                  SPK_ARG(bc2)));
    }
    SPK_TRY(spk__launch_1d_groups(ctx, l.k, l.items, l.local));
fail:
    return st;
}

spk_status spk__optim_warmup(spk_context *ctx)
{
    cl_program prog;
    char opts[32];
    optim_options(ctx, opts, sizeof opts);
    return spk__program_get(ctx, "optim.cl", opts, &prog);
}

spk_status spk_tensor_scale(spk_tensor *t, float s)
{
    spk_status st = SPK_OK;
    spk_context *ctx = t ? t->ctx : NULL;
    cl_kernel k;
    SPK_CHECK(ctx, t != NULL, SPK_ERR_NULL_POINTER, "spk_tensor_scale: tensor is NULL");
    SPK_CHECK(ctx, t->dtype == SPK_F32, SPK_ERR_DTYPE, "spk_tensor_scale: tensor must be f32");
    SPK_CHECK(ctx, t->numel <= 0xffffffffu, SPK_ERR_SHAPE, "spk_tensor_scale: tensor too large");
    SPK_TRY(spk__kernel_get(ctx, "optim.cl", "", "scale_inplace", &k));
    cl_uint n = (cl_uint)t->numel;
    spk__buf b = spk__buf_of(t);
    SPK_TRY(SPK_SET_ARGS(ctx, k, SPK_ARG(n), SPK_BUF(b), SPK_ARG(s)));
    SPK_TRY(spk__launch_1d(ctx, k, n));
fail:
    return st;
}
