/* The layer vtable: every layer type fills one. Optional members are NULL. */
#ifndef SPK_LAYER_INTERNAL_H
#define SPK_LAYER_INTERNAL_H

#include "tensor/tensor_internal.h"

#define SPK_LAYER_MAX_PARAMS 4

typedef struct spk__layer_vtable {
    const char *type;
    /* Per-sample output shape for a per-sample input shape; the message
     * says what the layer expected. */
    spk_status (*infer_shape)(spk_layer *l, int in_ndim, const size_t *in, int *out_ndim, size_t *out);
    /* Allocate what forward keeps for backward, for T steps of B samples. */
    spk_status (*prepare)(spk_layer *l, size_t T, size_t B);
    spk_status (*forward)(spk_layer *l, const spk_tensor *in, spk_tensor *out);
    /* grad_in may be NULL (first layer): skip the input gradient. */
    spk_status (*backward)(spk_layer *l, const spk_tensor *in, const spk_tensor *out, const spk_tensor *grad_out,
                           spk_tensor *grad_in);
    /* 1 if the layer accepts a time-invariant input [B, ...] (see static_input). */
    int accepts_static_input;
    void (*describe)(const spk_layer *l, char *buf, size_t cap);
    void (*destroy)(spk_layer *l); /* free the type's own members, not the base */
} spk__layer_vtable;

struct spk_layer {
    const spk__layer_vtable *vt;
    spk_context *ctx;
    size_t n_params;
    spk_tensor *params[SPK_LAYER_MAX_PARAMS];
    spk_tensor *grads[SPK_LAYER_MAX_PARAMS];
    const char *param_names[SPK_LAYER_MAX_PARAMS];
    int frozen[SPK_LAYER_MAX_PARAMS];
    size_t in_numel, out_numel; /* per sample, known after build */
    size_t T, B;
    int static_input; /* first layer of a network fed one input for all steps: in is [B, ...] */
    int training;     /* set by the network before every forward (spk_network_set_training) */
    size_t index;     /* position in the network, set at build (keys dropout's random stream) */
    /* Compact spike storage (spk_network_set_compact_spikes), set at build:
     * the input or output sequence is bit-packed spikes, U8
     * [T, B, spk_spike_row_bytes(numel)] (include/spikecl/spikes.h). A
     * layer with a packed input unpacks it, where it needs floats, into
     * unpack_scratch: one f32 tensor of the network shared by all its layers
     * (borrowed), valid only until the next layer uses it. */
    int in_packed, out_packed;
    spk_tensor *unpack_scratch;
    /* Compact storage too: a dense or conv2d layer fed a static input hands
     * its product to a LIF-family layer once, as [1, B, N] (out_once), and
     * that layer reads it at every step (in_once): no copy of it per step. */
    int in_once, out_once;
    /* Any storage: such a layer gets its output's gradient summed over the
     * steps, [1, B, N] (grad_once), which the LIF-family layer's backward
     * kernel sums as it goes (grad_in_once): no [T, B, N] gradient to write
     * and read again. */
    int grad_in_once, grad_once;
};

/* Allocate a zeroed layer of `size` bytes (a struct starting with spk_layer). */
spk_status spk__layer_alloc(spk_context *ctx, const spk__layer_vtable *vt, size_t size, spk_layer **out);

/* Register a parameter of the given shape with a gradient of the same shape. */
spk_status spk__layer_add_param(spk_layer *l, const char *name, int ndim, const size_t *shape);

/* 1 if l is a LIF-family neuron layer: its backward reads each element of
 * its input before it writes the same element of the input gradient, and
 * nothing else of the input, so the two may share one buffer. */
int spk__is_neuron_layer(const spk_layer *l);
/* 1 if l is a neuron layer of a spiking kind (its output can be packed). */
int spk__neuron_layer_spiking(const spk_layer *l);
/* 1 if l is a dense layer (it reads a packed input). */
int spk__is_dense_layer(const spk_layer *l);
int spk__is_conv2d_layer(const spk_layer *l);
/* The packed input `in` of l unpacked into [rows, cols] F32 floats: a view
 * of l->unpack_scratch (free it). */
spk_status spk__unpack_input(spk_layer *l, const spk_tensor *in, size_t rows, size_t cols, spk_tensor **out);

/* The membrane of a neuron layer's last forward, NULL for other layers. */
const spk_tensor *spk__neuron_layer_membrane(const spk_layer *l);
/* The membrane of a recurrent layer's last forward, NULL for other layers. */
const spk_tensor *spk__recurrent_layer_membrane(const spk_layer *l);

/* Fill t with U(-bound, bound) drawn on the host from rng (initial weights). */
struct spk__rng;
spk_status spk__init_uniform(spk_tensor *t, float bound, struct spk__rng *rng);
/* Every parameter of l, in order, from one stream seeded with `seed`. */
spk_status spk__init_params_uniform(spk_layer *l, float bound, uint64_t seed);

/* A [rows, cols] view of t (whose element count must be rows * cols). */
spk_status spk__view2d(const spk_tensor *t, size_t rows, size_t cols, spk_tensor **out);
/* A [T, B, n] view of t. */
spk_status spk__view3d(const spk_tensor *t, size_t T, size_t B, size_t n, spk_tensor **out);
#endif
