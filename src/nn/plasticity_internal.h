/* Plasticity inside a network (nn/plasticity_net.c): the hooks that
 * network.c and conv2d.c call. */
#ifndef SPK_PLASTICITY_INTERNAL_H
#define SPK_PLASTICITY_INTERNAL_H

#include "nn/layer_internal.h"
#include "spikecl/plasticity.h"

/* The rules and trace state of a network's plastic layers. */
typedef struct spk__net_plasticity spk__net_plasticity;

void spk__net_plasticity_free(spk__net_plasticity *np);
/* Clip the plastic, unfrozen weights whose rule asks for it (after an optimizer step). */
spk_status spk__net_plasticity_clip(spk_network *net);

/* From network.c: the slot that holds a network's plasticity, and the
 * input of its last forward (NULL before any), and whether it is static. */
spk__net_plasticity **spk__network_plasticity(spk_network *net);
const spk_tensor *spk__network_input(const spk_network *net, int *static_input);

/* From conv2d.c: the weight geometry of a built conv2d layer; 0 if l is not one. */
int spk__conv2d_stdp_geometry(const spk_layer *l, spk_stdp_conv *g);
#endif
