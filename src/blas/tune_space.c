/* Parameter spaces and constraints of the CLBlast kernels spk_tune()
 * searches. The ranges and constraints follow CLBlast's own tuners
 * (src/tuning/kernels/xgemm.hpp, xgemm_direct.hpp: the "random sampling"
 * variations): a set that breaks them fails to compile, or computes garbage. */
#include <stdio.h>
#include <string.h>

#include "blas/tune_space.h"
#include "core/core.h"

enum { GEMMK, KREG, KWG, KWI, MDIMA, MDIMC, MWG, NDIMB, NDIMC, NWG, SA, SB, STRM, STRN, VWM, VWN, N_XGEMM };
static const char *const XGEMM_NAMES[N_XGEMM] = {"GEMMK", "KREG",  "KWG", "KWI", "MDIMA", "MDIMC", "MWG", "NDIMB",
                                                 "NDIMC", "NWG",   "SA",  "SB",  "STRM",  "STRN",  "VWM", "VWN"};

enum { KWID, MDIMAD, MDIMCD, NDIMBD, NDIMCD, PADA, PADB, VWMD, VWND, WGD, N_DIRECT };
static const char *const DIRECT_NAMES[N_DIRECT] = {"KWID", "MDIMAD", "MDIMCD", "NDIMBD", "NDIMCD",
                                                   "PADA", "PADB",   "VWMD",   "VWND",   "WGD"};

static const char *const ROUTINE_NAMES[1] = {"XGEMM_MIN_INDIRECT_SIZE"};
/* Its cube is compared with m*n*k in 64 bits. */
#define MAX_INDIRECT_SIZE (1u << 21)

static const char *const KERNEL_NAMES[SPK__N_TUNE_KERNELS] = {"Xgemm", "XgemmDirect", "GemmRoutine"};

const char *spk__tune_kernel_name(spk__tune_kernel k)
{
    return KERNEL_NAMES[k];
}

int spk__tune_kernel_from_name(const char *name)
{
    for (int k = 0; k < SPK__N_TUNE_KERNELS; k++)
        if (strcmp(name, KERNEL_NAMES[k]) == 0)
            return k;
    return -1;
}

const char *const *spk__tune_param_names(spk__tune_kernel k, size_t *n)
{
    switch (k) {
    case SPK__XGEMM:
        *n = N_XGEMM;
        return XGEMM_NAMES;
    case SPK__XGEMM_DIRECT:
        *n = N_DIRECT;
        return DIRECT_NAMES;
    default:
        *n = 1;
        return ROUTINE_NAMES;
    }
}

int spk__tune_param_index(spk__tune_kernel k, const char *name)
{
    size_t n;
    const char *const *names = spk__tune_param_names(k, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return (int)i;
    return -1;
}

#define REQUIRE(cond, ...)                              \
    do {                                                \
        if (!(cond)) {                                  \
            if (msg && msg_size)                        \
                snprintf(msg, msg_size, __VA_ARGS__);   \
            return 0;                                   \
        }                                               \
    } while (0)

static int is_vector_width(size_t w)
{
    return w == 1 || w == 2 || w == 4 || w == 8 || w == 16;
}

/* Every value positive and at most 4096, the flags 0 or 1. */
static int check_ranges(spk__tune_kernel k, const size_t *v, const unsigned char *is_flag, char *msg,
                        size_t msg_size)
{
    size_t n;
    const char *const *names = spk__tune_param_names(k, &n);
    for (size_t i = 0; i < n; i++) {
        if (is_flag[i])
            REQUIRE(v[i] <= 1, "%s %s=%zu: must be 0 or 1", KERNEL_NAMES[k], names[i], v[i]);
        else
            REQUIRE(v[i] >= 1 && v[i] <= 4096, "%s %s=%zu: must be in 1..4096", KERNEL_NAMES[k], names[i], v[i]);
    }
    return 1;
}

static int xgemm_valid(const size_t *v, const spk__device_limits *lim, char *msg, size_t msg_size)
{
    static const unsigned char flags[N_XGEMM] = {[GEMMK] = 1, [SA] = 1, [SB] = 1, [STRM] = 1, [STRN] = 1};
    if (!check_ranges(SPK__XGEMM, v, flags, msg, msg_size))
        return 0;
    REQUIRE(is_vector_width(v[VWM]) && is_vector_width(v[VWN]), "Xgemm VWM=%zu, VWN=%zu: vector widths are 1, 2, 4, 8 or 16",
            v[VWM], v[VWN]);
    REQUIRE(v[KWG] % v[KWI] == 0, "Xgemm KWG=%zu is not a multiple of KWI=%zu", v[KWG], v[KWI]);
    REQUIRE(v[MWG] % (v[MDIMC] * v[VWM]) == 0, "Xgemm MWG=%zu is not a multiple of MDIMC*VWM=%zu", v[MWG],
            v[MDIMC] * v[VWM]);
    REQUIRE(v[NWG] % (v[NDIMC] * v[VWN]) == 0, "Xgemm NWG=%zu is not a multiple of NDIMC*VWN=%zu", v[NWG],
            v[NDIMC] * v[VWN]);
    REQUIRE(v[MWG] % (v[MDIMA] * v[VWM]) == 0, "Xgemm MWG=%zu is not a multiple of MDIMA*VWM=%zu", v[MWG],
            v[MDIMA] * v[VWM]);
    REQUIRE(v[NWG] % (v[NDIMB] * v[VWN]) == 0, "Xgemm NWG=%zu is not a multiple of NDIMB*VWN=%zu", v[NWG],
            v[NDIMB] * v[VWN]);
    size_t threads = v[MDIMC] * v[NDIMC];
    if (v[GEMMK] == 0) {
        REQUIRE(threads % v[MDIMA] == 0 && threads % v[NDIMB] == 0,
                "Xgemm MDIMC*NDIMC=%zu is not a multiple of MDIMA=%zu and NDIMB=%zu", threads, v[MDIMA], v[NDIMB]);
        REQUIRE(v[KWG] % (threads / v[MDIMA]) == 0 && v[KWG] % (threads / v[NDIMB]) == 0,
                "Xgemm KWG=%zu is not a multiple of MDIMC*NDIMC/MDIMA=%zu and MDIMC*NDIMC/NDIMB=%zu", v[KWG],
                threads / v[MDIMA], threads / v[NDIMB]);
    } else {
        REQUIRE(v[KREG] % v[VWN] == 0, "Xgemm (GEMMK=1) KREG=%zu is not a multiple of VWN=%zu", v[KREG], v[VWN]);
        REQUIRE(v[MDIMC] == v[MDIMA] && v[NDIMC] == v[NDIMB], "Xgemm (GEMMK=1) needs MDIMA=MDIMC and NDIMB=NDIMC");
    }
    REQUIRE(threads <= lim->max_work_group, "Xgemm MDIMC*NDIMC=%zu exceeds the device's work-group size %zu", threads,
            lim->max_work_group);
    size_t local = sizeof(float) * (v[SA] * v[KWG] * v[MWG] + v[SB] * v[KWG] * v[NWG]);
    REQUIRE(local <= lim->local_mem_bytes, "Xgemm needs %zu bytes of local memory, the device has %zu", local,
            lim->local_mem_bytes);
    return 1;
}

static int direct_valid(const size_t *v, const spk__device_limits *lim, char *msg, size_t msg_size)
{
    static const unsigned char flags[N_DIRECT] = {[PADA] = 1, [PADB] = 1};
    if (!check_ranges(SPK__XGEMM_DIRECT, v, flags, msg, msg_size))
        return 0;
    REQUIRE(is_vector_width(v[VWMD]) && is_vector_width(v[VWND]),
            "XgemmDirect VWMD=%zu, VWND=%zu: vector widths are 1, 2, 4, 8 or 16", v[VWMD], v[VWND]);
    REQUIRE(v[WGD] % v[KWID] == 0, "XgemmDirect WGD=%zu is not a multiple of KWID=%zu", v[WGD], v[KWID]);
    REQUIRE(v[WGD] % (v[MDIMCD] * v[VWMD]) == 0, "XgemmDirect WGD=%zu is not a multiple of MDIMCD*VWMD=%zu", v[WGD],
            v[MDIMCD] * v[VWMD]);
    REQUIRE(v[WGD] % (v[NDIMCD] * v[VWND]) == 0, "XgemmDirect WGD=%zu is not a multiple of NDIMCD*VWND=%zu", v[WGD],
            v[NDIMCD] * v[VWND]);
    REQUIRE(v[WGD] % (v[MDIMAD] * v[VWMD]) == 0, "XgemmDirect WGD=%zu is not a multiple of MDIMAD*VWMD=%zu", v[WGD],
            v[MDIMAD] * v[VWMD]);
    REQUIRE(v[WGD] % (v[NDIMBD] * v[VWND]) == 0, "XgemmDirect WGD=%zu is not a multiple of NDIMBD*VWND=%zu", v[WGD],
            v[NDIMBD] * v[VWND]);
    size_t threads = v[MDIMCD] * v[NDIMCD];
    REQUIRE(threads % v[MDIMAD] == 0 && threads % v[NDIMBD] == 0,
            "XgemmDirect MDIMCD*NDIMCD=%zu is not a multiple of MDIMAD=%zu and NDIMBD=%zu", threads, v[MDIMAD],
            v[NDIMBD]);
    REQUIRE(v[WGD] % (threads / v[MDIMAD]) == 0 && v[WGD] % (threads / v[NDIMBD]) == 0,
            "XgemmDirect WGD=%zu is not a multiple of MDIMCD*NDIMCD/MDIMAD=%zu and MDIMCD*NDIMCD/NDIMBD=%zu", v[WGD],
            threads / v[MDIMAD], threads / v[NDIMBD]);
    REQUIRE(threads <= lim->max_work_group, "XgemmDirect MDIMCD*NDIMCD=%zu exceeds the device's work-group size %zu",
            threads, lim->max_work_group);
    size_t local = sizeof(float) * (v[WGD] * (v[WGD] + v[PADA]) + v[WGD] * (v[WGD] + v[PADB]));
    REQUIRE(local <= lim->local_mem_bytes, "XgemmDirect needs %zu bytes of local memory, the device has %zu", local,
            lim->local_mem_bytes);
    return 1;
}

int spk__tune_valid(spk__tune_kernel k, const spk__kernel_values *v, const spk__device_limits *lim, char *msg,
                    size_t msg_size)
{
    switch (k) {
    case SPK__XGEMM:
        return xgemm_valid(v->v, lim, msg, msg_size);
    case SPK__XGEMM_DIRECT:
        return direct_valid(v->v, lim, msg, msg_size);
    default:
        REQUIRE(v->v[0] >= 1 && v->v[0] <= MAX_INDIRECT_SIZE, "GemmRoutine XGEMM_MIN_INDIRECT_SIZE=%zu: must be in 1..%u",
                v->v[0], MAX_INDIRECT_SIZE);
        return 1;
    }
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The values the search draws from: CLBlast's random-sampling tuner ranges
 * (xgemm variation 2, GEMMK = 0; xgemm_direct variation 2). */
typedef struct value_range {
    int index;
    size_t n;
    size_t v[6];
} value_range;

static const value_range XGEMM_RANGES[] = {
    {GEMMK, 1, {0}},          {KREG, 1, {1}},         {KWI, 1, {2}},
    {MWG, 4, {16, 32, 64, 128}}, {NWG, 4, {16, 32, 64, 128}}, {KWG, 2, {16, 32}},
    {MDIMC, 3, {8, 16, 32}},  {NDIMC, 3, {8, 16, 32}}, {MDIMA, 3, {8, 16, 32}}, {NDIMB, 3, {8, 16, 32}},
    {VWM, 4, {1, 2, 4, 8}},   {VWN, 4, {1, 2, 4, 8}},  {STRM, 2, {0, 1}},      {STRN, 2, {0, 1}},
    {SA, 2, {0, 1}},          {SB, 2, {0, 1}},
};

static const value_range DIRECT_RANGES[] = {
    {WGD, 4, {8, 16, 32, 64}}, {KWID, 3, {2, 8, 16}},   {MDIMCD, 3, {8, 16, 32}}, {NDIMCD, 3, {8, 16, 32}},
    {MDIMAD, 3, {8, 16, 32}},  {NDIMBD, 3, {8, 16, 32}}, {VWMD, 4, {1, 2, 4, 8}},  {VWND, 4, {1, 2, 4, 8}},
    {PADA, 2, {0, 1}},         {PADB, 2, {0, 1}},
};

static const value_range *ranges(spk__tune_kernel k, size_t *n)
{
    *n = k == SPK__XGEMM ? SPK_ARRAY_LEN(XGEMM_RANGES) : SPK_ARRAY_LEN(DIRECT_RANGES);
    return k == SPK__XGEMM ? XGEMM_RANGES : DIRECT_RANGES;
}

static size_t pick(uint64_t *rng, const value_range *r)
{
    return r->v[splitmix64(rng) % r->n];
}

/* About 1 in 200 random sets meets the constraints; 100000 tries find one almost surely. */
#define MAX_TRIES 100000

int spk__tune_draw(spk__tune_kernel k, uint64_t *rng, const spk__device_limits *lim, spk__kernel_values *out)
{
    size_t n;
    const value_range *r = ranges(k, &n);
    for (int tries = 0; tries < MAX_TRIES; tries++) {
        memset(out, 0, sizeof *out);
        for (size_t i = 0; i < n; i++)
            out->v[r[i].index] = pick(rng, &r[i]);
        if (spk__tune_valid(k, out, lim, NULL, 0))
            return 1;
    }
    return 0;
}

int spk__tune_mutate(spk__tune_kernel k, uint64_t *rng, const spk__device_limits *lim, const spk__kernel_values *from,
                     spk__kernel_values *out)
{
    size_t n;
    const value_range *r = ranges(k, &n);
    for (int tries = 0; tries < MAX_TRIES; tries++) {
        *out = *from;
        /* One or two parameters: some constraints tie pairs (a tile and its vector width). */
        int changes = 1 + (int)(splitmix64(rng) % 2);
        for (int c = 0; c < changes; c++) {
            const value_range *p = &r[splitmix64(rng) % n];
            out->v[p->index] = pick(rng, p);
        }
        if (memcmp(out, from, sizeof *out) != 0 && spk__tune_valid(k, out, lim, NULL, 0))
            return 1;
    }
    return 0;
}

int spk__tune_extract(const spk_tune_params *p, spk__tune_kernel k, spk__kernel_values *out, char *msg,
                      size_t msg_size)
{
    size_t n, found = 0;
    const char *const *names = spk__tune_param_names(k, &n);
    unsigned char seen[SPK__TUNE_MAX_KERNEL_PARAMS] = {0};
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->p[i].kernel, KERNEL_NAMES[k]) != 0)
            continue;
        int idx = spk__tune_param_index(k, p->p[i].name);
        if (idx < 0 || seen[idx]) {
            if (msg && msg_size)
                snprintf(msg, msg_size, idx < 0 ? "%s has no parameter %s" : "%s: parameter %s appears twice",
                         KERNEL_NAMES[k], p->p[i].name);
            return -1;
        }
        seen[idx] = 1;
        out->v[idx] = p->p[i].value;
        found++;
    }
    if (found == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!seen[i]) {
            if (msg && msg_size)
                snprintf(msg, msg_size, "%s: parameter %s is missing", KERNEL_NAMES[k], names[i]);
            return -1;
        }
    return 1;
}

void spk__tune_put(spk_tune_params *p, spk__tune_kernel k, const spk__kernel_values *v)
{
    size_t n, kept = 0;
    const char *const *names = spk__tune_param_names(k, &n);
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->p[i].kernel, KERNEL_NAMES[k]) != 0)
            p->p[kept++] = p->p[i];
    p->n = kept;
    for (size_t i = 0; i < n && p->n < SPK_TUNE_MAX_PARAMS; i++) {
        spk_tune_param *d = &p->p[p->n++];
        snprintf(d->kernel, sizeof d->kernel, "%s", KERNEL_NAMES[k]);
        snprintf(d->name, sizeof d->name, "%s", names[i]);
        d->value = v->v[i];
    }
}

void spk__tune_describe(spk__tune_kernel k, const spk__kernel_values *v, char *buf, size_t cap)
{
    size_t n, used = 0;
    const char *const *names = spk__tune_param_names(k, &n);
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < cap; i++) {
        int w = snprintf(buf + used, cap - used, "%s%s=%zu", i ? " " : "", names[i], v->v[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}
