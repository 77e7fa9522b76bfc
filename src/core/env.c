/* On/off switches read from the environment. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

spk_status spk__env_switch(const char *name, int *on)
{
    spk_status st = SPK_OK;
    const char *v = getenv(name);
    *on = -1;
    if (!v || !*v)
        return SPK_OK;
    if (strcmp(v, "on") == 0 || strcmp(v, "1") == 0) {
        *on = 1;
        return SPK_OK;
    }
    SPK_CHECK(NULL, strcmp(v, "off") == 0 || strcmp(v, "0") == 0, SPK_ERR_INVALID_ARGUMENT,
              "%s=%s: expected \"on\" or \"off\"", name, v);
    *on = 0;
fail:
    return st;
}
