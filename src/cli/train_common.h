#ifndef SPK_CLI_TRAIN_COMMON_H
#define SPK_CLI_TRAIN_COMMON_H
#include <stdint.h>

#include "spikecl/spikecl.h"

enum { SCHEDULE_CONSTANT = 0, SCHEDULE_COSINE = 1, SCHEDULE_STEP = 2 };
enum { ENCODER_DIRECT = 0, ENCODER_POISSON = 1, ENCODER_LATENCY = 2 };
extern const char *const SPK_ENCODER_NAMES[3];

typedef struct spk_train_config {
    const char *preset;
    size_t epochs, batch, steps, hidden;
    size_t channels1, channels2; /* conv presets: 0 for an MLP */
    size_t limit_train, limit_test; /* 0: all */
    float lr;
    int encoder;          /* ENCODER_* below */
    spk_loss_kind loss;   /* membrane losses read out through a leaky integrator */
    int schedule;         /* SCHEDULE_* below */
    float clip;           /* > 0: clip gradients to this global L2 norm */
    uint64_t seed;
    const char *data_dir, *device;
    spk_gemm_backend gemm;  /* SPK_GEMM_AUTO unless --gemm */
    const char *checkpoint; /* train: written after each epoch; eval: read */
} spk_train_config;

/* Fill c with the named preset's defaults; -1 if there is no such preset. */
int spk_train_config_preset(spk_train_config *c, const char *name);

/* Single-state LIF as snnTorch's Leaky(beta=0.95): threshold 1, subtract
 * reset at the next step, detached, arctan surrogate with alpha 2. */
spk_lif_params spk_train_hidden_neurons(void);

/* Compact spike storage for the command's networks: SPIKECL_COMPACT_SPIKES
 * = 0 or 1 when set (to compare the two), else `fallback`. */
int spk_train_compact_spikes(int fallback);

/* The preset's network for rows x cols images and `classes` outputs, built
 * for c->steps and c->batch (train, eval and bench share it). */
spk_status spk_train_build_network(spk_context *ctx, const spk_train_config *c, size_t rows, size_t cols,
                                   size_t classes, spk_network **out);

/* One batch on the device, and the host memory it is assembled in. */
typedef struct spk_batch_io {
    float *host;        /* [B, F] pixels in [0, 1] */
    uint8_t *labels;    /* [B] */
    spk_tensor *pixels; /* [B, F] */
    spk_tensor *input;  /* [T, B, F] encoded; NULL with the direct encoder */
    spk_tensor *grad;   /* [T, B, C] */
    const spk_tensor *net_input; /* pixels (static input) or input */
} spk_batch_io;

/* Copy samples idx[0..n) of d into b (zero padding past n), upload and encode. */
spk_status spk_train_load_batch(spk_context *ctx, const spk_train_config *c, const spk_dataset *d,
                                const size_t *idx, size_t n, uint64_t stream, spk_batch_io *b);

/* Load the data, build the network, train and evaluate, printing progress. */
spk_status spk_train_run(const spk_train_config *c);

/* Evaluate the checkpoint c->checkpoint on the test set. */
spk_status spk_eval_run(const spk_train_config *c);
#endif
