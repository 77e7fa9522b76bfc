#include "core/core.h"

const char *spk_status_name(spk_status s)
{
    switch (s) {
#define SPK_STATUS_NAME_(name, value, msg) \
    case name:                             \
        return #name;
        SPK_STATUS_LIST(SPK_STATUS_NAME_)
#undef SPK_STATUS_NAME_
    }
    return "SPK_UNKNOWN_STATUS";
}

const char *spk_status_str(spk_status s)
{
    switch (s) {
#define SPK_STATUS_STR_(name, value, msg) \
    case name:                            \
        return msg;
        SPK_STATUS_LIST(SPK_STATUS_STR_)
#undef SPK_STATUS_STR_
    }
    return "unknown status";
}

const char *spk_version_string(void)
{
    return SPK_VERSION_STRING;
}
