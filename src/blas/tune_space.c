/* Parameter spaces and constraints of the CLBlast kernels spk_tune()
 * searches. The ranges and constraints follow CLBlast's own tuners
 * (src/tuning/kernels/xgemm.hpp, xgemm_direct.hpp: the "random sampling"
 * variations): a set that breaks them fails to compile, or computes garbage. */
#include <stdio.h>
#include <string.h>

#include "blas/tune_space.h"

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

#define PICK(rng, arr) ((arr)[splitmix64(rng) % (sizeof(arr) / sizeof((arr)[0]))])

/* CLBlast's random-sampling ranges (xgemm variation 2, GEMMK=0; xgemm_direct variation 2). */
static void draw_xgemm(uint64_t *rng, size_t *v)
{
    static const size_t wg[] = {16, 32, 64, 128}, kwg[] = {16, 32}, dim[] = {8, 16, 32}, vw[] = {1, 2, 4, 8},
                        flag[] = {0, 1};
    v[GEMMK] = 0, v[KREG] = 1, v[KWI] = 2;
    v[MWG] = PICK(rng, wg), v[NWG] = PICK(rng, wg), v[KWG] = PICK(rng, kwg);
    v[MDIMC] = PICK(rng, dim), v[NDIMC] = PICK(rng, dim), v[MDIMA] = PICK(rng, dim), v[NDIMB] = PICK(rng, dim);
    v[VWM] = PICK(rng, vw), v[VWN] = PICK(rng, vw);
    v[STRM] = PICK(rng, flag), v[STRN] = PICK(rng, flag), v[SA] = PICK(rng, flag), v[SB] = PICK(rng, flag);
}

static void draw_direct(uint64_t *rng, size_t *v)
{
    static const size_t wgd[] = {8, 16, 32, 64}, dim[] = {8, 16, 32}, kwid[] = {2, 8, 16}, vw[] = {1, 2, 4, 8},
                        flag[] = {0, 1};
    v[WGD] = PICK(rng, wgd), v[KWID] = PICK(rng, kwid);
    v[MDIMCD] = PICK(rng, dim), v[NDIMCD] = PICK(rng, dim), v[MDIMAD] = PICK(rng, dim), v[NDIMBD] = PICK(rng, dim);
    v[VWMD] = PICK(rng, vw), v[VWND] = PICK(rng, vw), v[PADA] = PICK(rng, flag), v[PADB] = PICK(rng, flag);
}

int spk__tune_draw(spk__tune_kernel k, uint64_t *rng, const spk__device_limits *lim, spk__kernel_values *out)
{
    /* About 1 in 200 draws meets the constraints; 100000 draws find one almost surely. */
    for (int tries = 0; tries < 100000; tries++) {
        memset(out, 0, sizeof *out);
        if (k == SPK__XGEMM)
            draw_xgemm(rng, out->v);
        else
            draw_direct(rng, out->v);
        if (spk__tune_valid(k, out, lim, NULL, 0))
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
