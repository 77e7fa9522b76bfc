/** @file export.h  Symbol visibility: only SPK_API functions are exported. */
#ifndef SPIKECL_EXPORT_H
#define SPIKECL_EXPORT_H
#if defined(SPIKECL_BUILDING) && defined(__GNUC__)
#define SPK_API __attribute__((visibility("default")))
#else
#define SPK_API
#endif
#endif
