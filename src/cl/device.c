/* Device discovery and the selector grammar of SPIKECL_DEVICE:
 * "p:d" (indices), "gpu", "cpu", or a case-insensitive name substring. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl/cl_internal.h"
#include "cl/device.h"

#define MAX_PLATFORMS 16
#define MAX_DEVICES 64

static void info_str(cl_device_id d, cl_device_info what, char *dst, size_t cap)
{
    if (clGetDeviceInfo(d, what, cap, dst, NULL) != CL_SUCCESS)
        spk__copy_str(dst, cap, "?");
    dst[cap - 1] = '\0';
}

void spk__device_describe(cl_platform_id platform, cl_device_id device, int platform_index, int device_index,
                          spk_device_info *out)
{
    memset(out, 0, sizeof *out);
    out->platform_index = platform_index;
    out->device_index = device_index;
    if (clGetPlatformInfo(platform, CL_PLATFORM_NAME, sizeof out->platform_name, out->platform_name, NULL))
        spk__copy_str(out->platform_name, sizeof out->platform_name, "?");
    if (clGetPlatformInfo(platform, CL_PLATFORM_VERSION, sizeof out->platform_version, out->platform_version, NULL))
        spk__copy_str(out->platform_version, sizeof out->platform_version, "?");
    out->platform_name[sizeof out->platform_name - 1] = '\0';
    out->platform_version[sizeof out->platform_version - 1] = '\0';
    info_str(device, CL_DEVICE_NAME, out->device_name, sizeof out->device_name);
    info_str(device, CL_DEVICE_VENDOR, out->vendor, sizeof out->vendor);
    info_str(device, CL_DEVICE_VERSION, out->device_version, sizeof out->device_version);
    info_str(device, CL_DRIVER_VERSION, out->driver_version, sizeof out->driver_version);
    cl_device_type type = 0;
    cl_uint u = 0;
    cl_ulong ul = 0;
    size_t sz = 0;
    clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    out->is_gpu = (type & CL_DEVICE_TYPE_GPU) != 0;
    out->is_cpu = (type & CL_DEVICE_TYPE_CPU) != 0;
    if (clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof u, &u, NULL) == CL_SUCCESS)
        out->compute_units = u;
    if (clGetDeviceInfo(device, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof u, &u, NULL) == CL_SUCCESS)
        out->max_clock_mhz = u;
    if (clGetDeviceInfo(device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof ul, &ul, NULL) == CL_SUCCESS)
        out->global_mem_bytes = ul;
    if (clGetDeviceInfo(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof ul, &ul, NULL) == CL_SUCCESS)
        out->max_alloc_bytes = ul;
    if (clGetDeviceInfo(device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof ul, &ul, NULL) == CL_SUCCESS)
        out->local_mem_bytes = ul;
    if (clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof sz, &sz, NULL) == CL_SUCCESS)
        out->max_work_group_size = sz;
}

/* Enumerate (platform, device) pairs in a stable order. A missing ICD or a
 * platform with no device is not an error: it just contributes nothing. */
static size_t enumerate(spk__device_ref *refs, size_t cap)
{
    cl_platform_id plats[MAX_PLATFORMS];
    cl_uint np = 0;
    if (clGetPlatformIDs(MAX_PLATFORMS, plats, &np) != CL_SUCCESS)
        return 0;
    size_t n = 0;
    for (cl_uint p = 0; p < np && p < MAX_PLATFORMS; p++) {
        cl_device_id devs[MAX_DEVICES];
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES, devs, &nd) != CL_SUCCESS)
            continue;
        for (cl_uint d = 0; d < nd && d < MAX_DEVICES; d++) {
            if (n < cap)
                refs[n] = (spk__device_ref){plats[p], devs[d], (int)p, (int)d, 0};
            n++;
        }
    }
    return n < cap ? n : cap;
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t nl = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < nl && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == nl)
            return 1;
    }
    return nl == 0;
}

/* Default: the first GPU, else the first CPU, else the first device. */
static size_t default_index(const spk_device_info *infos, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (infos[i].is_gpu)
            return i;
    for (size_t i = 0; i < n; i++)
        if (infos[i].is_cpu)
            return i;
    return 0;
}

spk_status spk_devices_list(spk_device_info *out, size_t cap, size_t *count)
{
    if (!count || (cap && !out))
        return spk__error(NULL, SPK_ERR_NULL_POINTER, "spk_devices_list: count or out is NULL");
    spk__device_ref refs[MAX_DEVICES];
    spk_device_info infos[MAX_DEVICES];
    size_t n = enumerate(refs, MAX_DEVICES);
    for (size_t i = 0; i < n; i++)
        spk__device_describe(refs[i].platform, refs[i].device, refs[i].platform_index, refs[i].device_index,
                             &infos[i]);
    if (n)
        infos[default_index(infos, n)].is_default = 1;
    for (size_t i = 0; i < n && i < cap; i++)
        out[i] = infos[i];
    *count = n;
    return SPK_OK;
}

spk_status spk__device_select(const char *selector, spk__device_ref *chosen)
{
    spk__device_ref refs[MAX_DEVICES];
    spk_device_info infos[MAX_DEVICES];
    size_t n = enumerate(refs, MAX_DEVICES);
    if (n == 0)
        return spk__error(NULL, SPK_ERR_NO_DEVICE,
                          "no OpenCL device found: install an OpenCL driver (for the CPU: apt-get install "
                          "pocl-opencl-icd) and check that its ICD file is in /etc/OpenCL/vendors");
    for (size_t i = 0; i < n; i++)
        spk__device_describe(refs[i].platform, refs[i].device, refs[i].platform_index, refs[i].device_index,
                             &infos[i]);
    size_t def = default_index(infos, n);
    if (!selector || !*selector) {
        *chosen = refs[def];
        chosen->is_default = 1;
        return SPK_OK;
    }
    int p = -1, d = -1;
    char tail = 0;
    if (sscanf(selector, "%d:%d%c", &p, &d, &tail) == 2) {
        for (size_t i = 0; i < n; i++)
            if (refs[i].platform_index == p && refs[i].device_index == d) {
                *chosen = refs[i];
                chosen->is_default = i == def;
                return SPK_OK;
            }
        return spk__error(NULL, SPK_ERR_NO_DEVICE, "device selector '%s': there is no device %d on platform %d "
                          "(run 'spikecl devices' to list them)", selector, d, p);
    }
    if (isdigit((unsigned char)selector[0]) || selector[0] == '-')
        return spk__error(NULL, SPK_ERR_INVALID_ARGUMENT,
                          "device selector '%s' is malformed: use 'p:d', 'gpu', 'cpu' or a name substring", selector);
    int want_gpu = strcmp(selector, "gpu") == 0 || strcmp(selector, "GPU") == 0;
    int want_cpu = strcmp(selector, "cpu") == 0 || strcmp(selector, "CPU") == 0;
    for (size_t i = 0; i < n; i++) {
        int match = want_gpu ? infos[i].is_gpu
                    : want_cpu ? infos[i].is_cpu
                               : contains_nocase(infos[i].device_name, selector) ||
                                     contains_nocase(infos[i].platform_name, selector);
        if (match) {
            *chosen = refs[i];
            chosen->is_default = i == def;
            return SPK_OK;
        }
    }
    return spk__error(NULL, SPK_ERR_NO_DEVICE, "no OpenCL device matches '%s' (run 'spikecl devices' to list them)",
                      selector);
}
