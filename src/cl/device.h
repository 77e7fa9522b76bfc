#ifndef SPK_CL_DEVICE_H
#define SPK_CL_DEVICE_H
#include "cl/cl_internal.h"

typedef struct spk__device_ref {
    cl_platform_id platform;
    cl_device_id device;
    int platform_index;
    int device_index;
    int is_default; /* set by spk__device_select */
} spk__device_ref;

/* Resolve a selector (NULL or "" for the default); errors go to the
 * context-less error slot. */
spk_status spk__device_select(const char *selector, spk__device_ref *chosen);
#endif
