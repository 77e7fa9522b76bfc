/**
 * @file spikecl.h
 * spikecl: spiking neural networks on OpenCL.
 *
 * Include this umbrella header. A minimal program:
 *
 *     spk_context *ctx;
 *     if (spk_context_create(NULL, &ctx) != SPK_OK) {
 *         fprintf(stderr, "%s\n", spk_context_last_error(NULL));
 *         return 1;
 *     }
 *     size_t shape[3] = {T, B, N};
 *     spk_tensor *x, *s, *v;
 *     spk_tensor_create(ctx, SPK_F32, 3, shape, &x);   // input current
 *     spk_tensor_create(ctx, SPK_F32, 3, shape, &s);   // spikes
 *     spk_tensor_create(ctx, SPK_F32, 3, shape, &v);   // membrane
 *     spk_tensor_upload(x, host_x, T * B * N * sizeof(float));
 *     spk_lif_params p = spk_lif_params_default(SPK_NEURON_CUBA_LIF);
 *     spk_lif_io io = {.input = x, .spikes = s, .membrane = v};
 *     spk_status st = spk_lif_forward(ctx, &p, &io);
 *     ...
 *
 * Every call returns an spk_status; on error spk_context_last_error() tells why.
 */
#ifndef SPIKECL_H
#define SPIKECL_H

#include "spikecl/version.h"
#include "spikecl/status.h"
#include "spikecl/context.h"
#include "spikecl/tensor.h"
#include "spikecl/blas.h"
#include "spikecl/spikes.h"
#include "spikecl/tune.h"
#include "spikecl/neuron.h"
#include "spikecl/neuron_models.h"
#include "spikecl/encode.h"
#include "spikecl/data.h"
#include "spikecl/network.h"
#include "spikecl/learn.h"
#include "spikecl/checkpoint.h"
#include "spikecl/custom_layer.h"
#include "spikecl/plasticity.h"

#endif
