#ifndef SPK_CLI_H
#define SPK_CLI_H
#include "spikecl/spikecl.h"

int spk_cmd_devices(int argc, char **argv);
int spk_cmd_demo(int argc, char **argv);

/* Print "spikecl: <status name>: <detail>" for a failed call. */
void spk_cli_report(const spk_context *ctx, spk_status st, const char *what);
#endif
