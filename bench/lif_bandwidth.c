/* bench_lif_bandwidth: effective memory bandwidth of the LIF kernels
 * (spk_lif_forward, spk_lif_backward) next to a streaming copy of the same
 * number of bytes on the same device.
 *
 * Bytes moved = bytes read + bytes written, counted from the tensors the
 * kernel actually touches (each once; re-reads of the previous step inside the
 * backward loop hit cache and are not counted). The copy moves the same total
 * (half read, half written), by three methods in a context of our own on the
 * same device: a float4 kernel, a float kernel, clEnqueueCopyBuffer; the
 * fastest is the ceiling. LIF and copies run interleaved, A B A B, each rep
 * long enough (--min-rep-s) to swamp the clock and launch overhead, and the
 * medians are compared.
 *
 * usage: bench_lif_bandwidth [--device SEL] [--reps N] [--min-rep-s S]
 *                            [--shapes T:B:N,...] [--only SUBSTR] [--quick]
 *                            [--kernel-dir DIR] [--json FILE]
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CL/cl.h>

#include "bench_common.h"

#define MAX_REPS 200
#define MAX_SHAPES 16

/* ---- the operations timed ---------------------------------------------- */

typedef enum { OP_FWD_TRAIN, OP_FWD_INFER, OP_BWD } op_kind;

typedef struct lif_variant {
    const char *name;
    op_kind op;
    spk_dtype spikes;
    int bits; /* spikes bit-packed (spk_lif_io.spike_bits, 1 bit per neuron-step) */
} lif_variant;

static const lif_variant VARIANTS[] = {
    {"fwd train f32", OP_FWD_TRAIN, SPK_F32, 0}, /* x -> S, V, I */
    {"fwd train u8", OP_FWD_TRAIN, SPK_U8, 0},
    {"fwd train bits", OP_FWD_TRAIN, SPK_U8, 1},
    {"fwd infer f32", OP_FWD_INFER, SPK_F32, 0}, /* x -> S */
    {"fwd infer u8", OP_FWD_INFER, SPK_U8, 0},
    {"fwd infer bits", OP_FWD_INFER, SPK_U8, 1},
    {"bwd f32", OP_BWD, SPK_F32, 0}, /* x, S, V, I, dL/dS -> dL/dx */
    {"bwd u8", OP_BWD, SPK_U8, 0},
    {"bwd bits", OP_BWD, SPK_U8, 1},
};
#define N_VARIANTS (sizeof VARIANTS / sizeof VARIANTS[0])

/* Bytes the kernel reads plus writes over [T, B, N]. */
static size_t variant_bytes(const lif_variant *v, size_t T, size_t B, size_t N)
{
    const size_t numel = T * B * N;
    const size_t s = v->bits ? T * B * spk_spike_row_bytes(N) : spk_dtype_size(v->spikes) * numel;
    switch (v->op) {
    case OP_FWD_TRAIN:
        return 4 * numel /* x */ + s /* S */ + 4 * numel /* V */ + 4 * numel /* I */;
    case OP_FWD_INFER:
        return 4 * numel + s;
    case OP_BWD:
        return 4 * numel /* x */ + s /* S */ + 4 * 4 * numel /* V, I, dL/dS, dL/dx */;
    }
    return 0;
}

typedef struct lif_state {
    spk_context *ctx;
    spk_lif_params p;
    spk_tensor *x, *s32, *s8, *sbits, *v, *i, *gs, *gx;
} lif_state;

static spk_status lif_enqueue(lif_state *L, const lif_variant *var)
{
    spk_tensor *s = var->bits ? NULL : var->spikes == SPK_U8 ? L->s8 : L->s32;
    spk_lif_io io = {.input = L->x, .spikes = s, .spike_bits = var->bits ? L->sbits : NULL};
    if (var->op != OP_FWD_INFER) {
        io.membrane = L->v;
        io.current = L->i;
    }
    if (var->op != OP_BWD)
        return spk_lif_forward(L->ctx, &L->p, &io);
    spk_lif_grads g = {.grad_spikes = L->gs, .grad_input = L->gx};
    return spk_lif_backward(L->ctx, &L->p, &io, &g);
}

/* ---- our own OpenCL context for the copies ------------------------------ */

static const char *COPY_SRC =
    "kernel void copy_f4(global const float4 *src, global float4 *dst) {\n"
    "    size_t i = get_global_id(0);\n"
    "    dst[i] = src[i];\n"
    "}\n"
    "kernel void copy_f1(global const float *src, global float *dst) {\n"
    "    size_t i = get_global_id(0);\n"
    "    dst[i] = src[i];\n"
    "}\n";

typedef struct copier {
    cl_context cl;
    cl_command_queue q;
    cl_program prog;
    cl_kernel k4, k1;
    cl_mem src, dst;
    size_t cap; /* bytes of src and of dst */
} copier;

typedef enum { COPY_F4 = 0, COPY_F1 = 1, COPY_BUFFER = 2, N_COPY = 3 } copy_kind;
static const char *const COPY_NAMES[N_COPY] = {"copy kernel float4", "copy kernel float", "clEnqueueCopyBuffer"};
static const char *const COPY_KEYS[N_COPY] = {"copy_float4", "copy_float", "copy_buffer"};

#define CL_OK(call, what)                                                        \
    do {                                                                         \
        cl_int e_ = (call);                                                      \
        if (e_ != CL_SUCCESS) {                                                  \
            fprintf(stderr, "error: %s failed: OpenCL error %d\n", what, (int)e_); \
            return 0;                                                            \
        }                                                                        \
    } while (0)

static int copier_init(copier *c, const spk_device_info *info)
{
    cl_uint np = 0;
    cl_platform_id plats[32];
    CL_OK(clGetPlatformIDs(32, plats, &np), "clGetPlatformIDs");
    if (info->platform_index < 0 || (cl_uint)info->platform_index >= np) {
        fprintf(stderr, "error: platform %d of the spikecl context not found\n", info->platform_index);
        return 0;
    }
    cl_platform_id plat = plats[info->platform_index];
    cl_uint nd = 0;
    cl_device_id devs[64];
    CL_OK(clGetDeviceIDs(plat, CL_DEVICE_TYPE_ALL, 64, devs, &nd), "clGetDeviceIDs");
    if (info->device_index < 0 || (cl_uint)info->device_index >= nd) {
        fprintf(stderr, "error: device %d:%d not found\n", info->platform_index, info->device_index);
        return 0;
    }
    cl_device_id dev = devs[info->device_index];
    char name[256] = "";
    CL_OK(clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof name - 1, name, NULL), "clGetDeviceInfo");
    if (strncmp(name, info->device_name, sizeof info->device_name - 1) != 0) {
        fprintf(stderr, "error: device %d:%d is '%s', the spikecl context has '%s'\n", info->platform_index,
                info->device_index, name, info->device_name);
        return 0;
    }
    cl_int err = CL_SUCCESS;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)plat, 0};
    c->cl = clCreateContext(props, 1, &dev, NULL, NULL, &err);
    CL_OK(err, "clCreateContext");
    c->q = clCreateCommandQueue(c->cl, dev, 0, &err);
    CL_OK(err, "clCreateCommandQueue");
    c->prog = clCreateProgramWithSource(c->cl, 1, &COPY_SRC, NULL, &err);
    CL_OK(err, "clCreateProgramWithSource");
    err = clBuildProgram(c->prog, 1, &dev, "", NULL, NULL);
    if (err != CL_SUCCESS) {
        char log[4096] = "";
        clGetProgramBuildInfo(c->prog, dev, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, NULL);
        fprintf(stderr, "error: building the copy kernels failed (%d):\n%s\n", (int)err, log);
        return 0;
    }
    c->k4 = clCreateKernel(c->prog, "copy_f4", &err);
    CL_OK(err, "clCreateKernel(copy_f4)");
    c->k1 = clCreateKernel(c->prog, "copy_f1", &err);
    CL_OK(err, "clCreateKernel(copy_f1)");
    return 1;
}

static void copier_free_buffers(copier *c)
{
    if (c->src)
        clReleaseMemObject(c->src);
    if (c->dst)
        clReleaseMemObject(c->dst);
    c->src = c->dst = NULL;
    c->cap = 0;
}

static void copier_free(copier *c)
{
    if (c->q)
        clFinish(c->q);
    copier_free_buffers(c);
    if (c->k4)
        clReleaseKernel(c->k4);
    if (c->k1)
        clReleaseKernel(c->k1);
    if (c->prog)
        clReleaseProgram(c->prog);
    if (c->q)
        clReleaseCommandQueue(c->q);
    if (c->cl)
        clReleaseContext(c->cl);
}

/* Buffers of @p bytes each, filled so that every page is touched. */
static int copier_buffers(copier *c, size_t bytes)
{
    cl_int err = CL_SUCCESS;
    copier_free_buffers(c);
    c->src = clCreateBuffer(c->cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
    CL_OK(err, "clCreateBuffer(copy src)");
    c->dst = clCreateBuffer(c->cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
    CL_OK(err, "clCreateBuffer(copy dst)");
    float one = 1.0f, zero = 0.0f;
    CL_OK(clEnqueueFillBuffer(c->q, c->src, &one, sizeof one, 0, bytes, 0, NULL, NULL), "clEnqueueFillBuffer");
    CL_OK(clEnqueueFillBuffer(c->q, c->dst, &zero, sizeof zero, 0, bytes, 0, NULL, NULL), "clEnqueueFillBuffer");
    CL_OK(clFinish(c->q), "clFinish");
    c->cap = bytes;
    return 1;
}

/* Copy @p bytes (a multiple of 16) from src to dst. */
static int copier_enqueue(copier *c, copy_kind kind, size_t bytes)
{
    if (kind == COPY_BUFFER) {
        CL_OK(clEnqueueCopyBuffer(c->q, c->src, c->dst, 0, 0, bytes, 0, NULL, NULL), "clEnqueueCopyBuffer");
        return 1;
    }
    cl_kernel k = kind == COPY_F4 ? c->k4 : c->k1;
    size_t global = kind == COPY_F4 ? bytes / 16 : bytes / 4;
    CL_OK(clSetKernelArg(k, 0, sizeof(cl_mem), &c->src), "clSetKernelArg");
    CL_OK(clSetKernelArg(k, 1, sizeof(cl_mem), &c->dst), "clSetKernelArg");
    CL_OK(clEnqueueNDRangeKernel(c->q, k, 1, NULL, &global, NULL, 0, NULL, NULL), "clEnqueueNDRangeKernel(copy)");
    return 1;
}

/* ---- timing --------------------------------------------------------------- */

/* One timed thing: either a LIF variant or a copy. */
typedef struct timed {
    int is_copy;
    const lif_variant *var;
    lif_state *L;
    copy_kind ck;
    copier *C;
    size_t copy_bytes;
    int launches; /* per rep, from calibration */
    double t[MAX_REPS]; /* seconds per launch */
    size_t n;
} timed;

/* Enqueue @p k launches and wait; seconds per launch in *out. 0 on error. */
static int run_launches(timed *m, int k, double *out)
{
    double t0 = bench_now();
    for (int j = 0; j < k; j++) {
        if (m->is_copy) {
            if (!copier_enqueue(m->C, m->ck, m->copy_bytes))
                return 0;
        } else {
            spk_status st = lif_enqueue(m->L, m->var);
            if (st != SPK_OK) {
                bench_report(m->L->ctx, st, m->var->op == OP_BWD ? "spk_lif_backward" : "spk_lif_forward");
                return 0;
            }
        }
    }
    if (m->is_copy) {
        CL_OK(clFinish(m->C->q), "clFinish");
    } else {
        spk_status st = spk_context_finish(m->L->ctx);
        if (st != SPK_OK) {
            bench_report(m->L->ctx, st, "spk_context_finish");
            return 0;
        }
    }
    *out = (bench_now() - t0) / k;
    return 1;
}

/* Warm up (compile, first touch) and choose launches per rep. */
static int calibrate(timed *m, double min_rep_s)
{
    double t = 0.0;
    if (!run_launches(m, 1, &t) || !run_launches(m, 1, &t))
        return 0;
    double k = t > 0 ? ceil(min_rep_s / t) : 1000.0;
    m->launches = k < 1 ? 1 : k > 100000 ? 100000 : (int)k;
    return 1;
}

/* ---- host data --------------------------------------------------------- */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---- results ------------------------------------------------------------ */

typedef struct result {
    size_t T, B, N;
    const char *variant;
    size_t bytes;        /* per LIF call */
    size_t copy_bytes;   /* read + write by one copy */
    double lif_s;        /* median per call */
    double copy_s[N_COPY];
    double lif_gbs, copy_gbs[N_COPY], best_copy_gbs, ratio;
    int best_copy;
    int lif_launches, reps;
} result;

typedef bench_seq_shape shape;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_lif_bandwidth [--device SEL] [--reps N] [--min-rep-s S] [--shapes T:B:N,...]\n"
            "                           [--only SUBSTR] [--quick] [--kernel-dir DIR] [--json FILE]\n"
            "  --reps N          interleaved repetitions of each measurement (default 7, at least 5 advised)\n"
            "  --min-rep-s S     launches per rep are chosen so one rep lasts at least S seconds (default 0.25)\n"
            "  --shapes LIST     comma-separated T:B:N (default 100:16:256,500:16:4096,100:128:2048,500:64:1024)\n"
            "  --only SUBSTR     only the variants whose name contains SUBSTR (e.g. 'fwd', 'bwd', 'u8')\n"
            "  --quick           3 reps of 0.1 s, for a smoke run\n"
            "  --kernel-dir DIR  load kernel sources from DIR (spk_context_options.kernel_dir)\n"
            "  --json FILE       also write the results as JSON\n");
}

#define SPK_OK_OR(call, what)                 \
    do {                                      \
        spk_status st_ = (call);              \
        if (st_ != SPK_OK) {                  \
            bench_report(ctx, st_, what);     \
            goto shape_fail;                  \
        }                                     \
    } while (0)

int main(int argc, char **argv)
{
    const char *device = NULL, *json = NULL, *only = NULL, *kernel_dir = NULL;
    int reps = 7;
    double min_rep_s = 0.25;
    shape shapes[MAX_SHAPES] = {{100, 16, 256}, {500, 16, 4096}, {100, 128, 2048}, {500, 64, 1024}};
    size_t n_shapes = 4;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--device") == 0 && has_val) {
            device = argv[++i];
        } else if (strcmp(a, "--json") == 0 && has_val) {
            json = argv[++i];
        } else if (strcmp(a, "--only") == 0 && has_val) {
            only = argv[++i];
        } else if (strcmp(a, "--kernel-dir") == 0 && has_val) {
            kernel_dir = argv[++i];
        } else if (strcmp(a, "--reps") == 0 && has_val) {
            if (!bench_parse_pos_int(argv[++i], &reps) || reps > MAX_REPS) {
                fprintf(stderr, "error: --reps needs an integer in 1..%d\n", MAX_REPS);
                return 2;
            }
        } else if (strcmp(a, "--min-rep-s") == 0 && has_val) {
            char *end = NULL;
            min_rep_s = strtod(argv[++i], &end);
            if (*end || !(min_rep_s >= 0.0) || min_rep_s > 60.0) {
                fprintf(stderr, "error: --min-rep-s needs a number of seconds in 0..60\n");
                return 2;
            }
        } else if (strcmp(a, "--shapes") == 0 && has_val) {
            if (!bench_parse_seq_shapes(argv[++i], shapes, MAX_SHAPES, &n_shapes)) {
                fprintf(stderr, "error: --shapes needs T:B:N[,T:B:N...] (at most %d, all >= 1)\n", MAX_SHAPES);
                return 2;
            }
        } else if (strcmp(a, "--quick") == 0) {
            reps = 3;
            min_rep_s = 0.1;
        } else {
            fprintf(stderr, "error: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }

    int rc = 1;
    spk_context *ctx = NULL;
    copier C;
    memset(&C, 0, sizeof C);
    static result results[MAX_SHAPES * N_VARIANTS];
    size_t n_results = 0;
    float *host = NULL;
    unsigned char *host8 = NULL;
    double spike_rate[MAX_SHAPES];

    spk_context_options opts = spk_context_options_default();
    opts.device = device;
    opts.kernel_dir = kernel_dir;
    spk_status st = spk_context_create(&opts, &ctx);
    if (st != SPK_OK) {
        bench_report(NULL, st, "spk_context_create");
        return 1;
    }
    spk_device_info info;
    spk_context_device(ctx, &info);
    if (!copier_init(&C, &info))
        goto out;
    printf("device: %d:%d %s [%s], driver %s, %s, %u compute units\n", info.platform_index, info.device_index,
           info.device_name, info.platform_name, info.driver_version, info.device_version, info.compute_units);
    printf("kernel: CUBA LIF (spk_lif_params_default), x ~ U(-0.29, 0.31); reps %d interleaved, >= %.2f s each%s%s\n",
           reps, min_rep_s, kernel_dir ? "; kernel sources from " : "", kernel_dir ? kernel_dir : "");
    char load0[64], load1[64];
    printf("GB/s = (bytes read + written) / time / 1e9; copy = same total bytes, best of 3 methods\n");
    printf("load average at the start: %s\n\n", bench_loadavg(load0, sizeof load0));
    printf("%-16s %-14s %9s %10s %9s %9s %9s %9s %7s\n", "T:B:N", "variant", "MB/call", "ms/call", "LIF GB/s",
           "cpy4 GB/s", "cpy1 GB/s", "cpyB GB/s", "LIF/cpy");
    fflush(stdout);

    for (size_t si = 0; si < n_shapes; si++) {
        const shape sh = shapes[si];
        lif_state L;
        memset(&L, 0, sizeof L);
        L.ctx = ctx;
        L.p = spk_lif_params_default(SPK_NEURON_CUBA_LIF);
        spike_rate[si] = -1.0;
        size_t dims[3] = {sh.T, sh.B, sh.N};
        size_t numel = sh.T * sh.B * sh.N;
        size_t max_copy = 0;
        for (size_t v = 0; v < N_VARIANTS; v++)
            if (!only || strstr(VARIANTS[v].name, only))
                if (variant_bytes(&VARIANTS[v], sh.T, sh.B, sh.N) / 2 > max_copy)
                    max_copy = variant_bytes(&VARIANTS[v], sh.T, sh.B, sh.N) / 2;
        max_copy = (max_copy + 15) / 16 * 16;
        if (numel * 4 > info.max_alloc_bytes || max_copy > info.max_alloc_bytes) {
            fprintf(stderr, "skipping %zu:%zu:%zu: a buffer would exceed the device's largest allocation (%llu B)\n",
                    sh.T, sh.B, sh.N, (unsigned long long)info.max_alloc_bytes);
            continue;
        }
        SPK_OK_OR(spk_tensor_create(ctx, SPK_F32, 3, dims, &L.x), "spk_tensor_create(x)");
        SPK_OK_OR(spk_tensor_create(ctx, SPK_F32, 3, dims, &L.s32), "spk_tensor_create(spikes f32)");
        SPK_OK_OR(spk_tensor_create(ctx, SPK_U8, 3, dims, &L.s8), "spk_tensor_create(spikes u8)");
        const size_t bits_dims[3] = {sh.T, sh.B, spk_spike_row_bytes(sh.N)};
        SPK_OK_OR(spk_tensor_create(ctx, SPK_U8, 3, bits_dims, &L.sbits), "spk_tensor_create(spike bits)");
        SPK_OK_OR(spk_tensor_create(ctx, SPK_F32, 3, dims, &L.v), "spk_tensor_create(membrane)");
        SPK_OK_OR(spk_tensor_create(ctx, SPK_F32, 3, dims, &L.i), "spk_tensor_create(current)");
        SPK_OK_OR(spk_tensor_create(ctx, SPK_F32, 3, dims, &L.gs), "spk_tensor_create(grad_spikes)");
        SPK_OK_OR(spk_tensor_create(ctx, SPK_F32, 3, dims, &L.gx), "spk_tensor_create(grad_input)");
        host = malloc(numel * sizeof *host);
        if (!host) {
            fprintf(stderr, "error: out of host memory for %zu floats\n", numel);
            goto shape_fail;
        }
        uint64_t seed = 12345;
        for (size_t k = 0; k < numel; k++)
            host[k] = 0.6f * (float)((double)(splitmix(&seed) >> 40) / 16777216.0) - 0.29f;
        SPK_OK_OR(spk_tensor_upload(L.x, host, numel * sizeof *host), "spk_tensor_upload(x)");
        free(host);
        host = NULL;
        SPK_OK_OR(spk_tensor_fill_f32(L.s32, 0.0f), "spk_tensor_fill_f32");
        SPK_OK_OR(spk_tensor_fill_u8(L.s8, 0), "spk_tensor_fill_u8");
        SPK_OK_OR(spk_tensor_fill_f32(L.v, 0.0f), "spk_tensor_fill_f32");
        SPK_OK_OR(spk_tensor_fill_f32(L.i, 0.0f), "spk_tensor_fill_f32");
        SPK_OK_OR(spk_tensor_fill_f32(L.gs, 1.0f), "spk_tensor_fill_f32"); /* loss = sum of spikes */
        SPK_OK_OR(spk_tensor_fill_f32(L.gx, 0.0f), "spk_tensor_fill_f32");
        /* The backward needs the forward's S, V, I: run the training forward
         * for both spike types once before anything is timed. */
        SPK_OK_OR(lif_enqueue(&L, &VARIANTS[0]), "spk_lif_forward");
        SPK_OK_OR(lif_enqueue(&L, &VARIANTS[1]), "spk_lif_forward");
        SPK_OK_OR(lif_enqueue(&L, &VARIANTS[2]), "spk_lif_forward");
        SPK_OK_OR(spk_context_finish(ctx), "spk_context_finish");
        host8 = malloc(numel);
        if (host8) {
            SPK_OK_OR(spk_tensor_download(L.s8, host8, numel), "spk_tensor_download(spikes)");
            size_t ones = 0;
            for (size_t k = 0; k < numel; k++)
                ones += host8[k] != 0;
            spike_rate[si] = (double)ones / (double)numel;
            free(host8);
            host8 = NULL;
        }
        if (!copier_buffers(&C, max_copy))
            goto shape_fail;

        for (size_t vi = 0; vi < N_VARIANTS; vi++) {
            const lif_variant *var = &VARIANTS[vi];
            if (only && !strstr(var->name, only))
                continue;
            size_t bytes = variant_bytes(var, sh.T, sh.B, sh.N);
            size_t half = bytes / 2 / 16 * 16;
            if (half == 0)
                half = 16;
            static timed m[1 + N_COPY];
            memset(m, 0, sizeof m);
            m[0].var = var;
            m[0].L = &L;
            for (int c = 0; c < N_COPY; c++) {
                m[1 + c].is_copy = 1;
                m[1 + c].ck = (copy_kind)c;
                m[1 + c].C = &C;
                m[1 + c].copy_bytes = half;
            }
            for (int j = 0; j < 1 + N_COPY; j++)
                if (!calibrate(&m[j], min_rep_s))
                    goto shape_fail;
            for (int r = 0; r < reps; r++)
                for (int j = 0; j < 1 + N_COPY; j++) {
                    double t = 0.0;
                    if (!run_launches(&m[j], m[j].launches, &t))
                        goto shape_fail;
                    m[j].t[m[j].n++] = t;
                }
            result *R = &results[n_results++];
            memset(R, 0, sizeof *R);
            R->T = sh.T;
            R->B = sh.B;
            R->N = sh.N;
            R->variant = var->name;
            R->bytes = bytes;
            R->copy_bytes = 2 * half;
            R->lif_s = bench_median(m[0].t, m[0].n);
            R->lif_gbs = (double)bytes / R->lif_s / 1e9;
            R->best_copy = 0;
            for (int c = 0; c < N_COPY; c++) {
                R->copy_s[c] = bench_median(m[1 + c].t, m[1 + c].n);
                R->copy_gbs[c] = (double)R->copy_bytes / R->copy_s[c] / 1e9;
                if (R->copy_gbs[c] > R->copy_gbs[R->best_copy])
                    R->best_copy = c;
            }
            R->best_copy_gbs = R->copy_gbs[R->best_copy];
            R->ratio = R->lif_gbs / R->best_copy_gbs;
            R->lif_launches = m[0].launches;
            R->reps = reps;
            char sh_txt[48];
            snprintf(sh_txt, sizeof sh_txt, "%zu:%zu:%zu", sh.T, sh.B, sh.N);
            printf("%-16s %-14s %9.1f %10.3f %9.2f %9.2f %9.2f %9.2f %7.2f\n", sh_txt, var->name, bytes / 1e6,
                   1e3 * R->lif_s, R->lif_gbs, R->copy_gbs[0], R->copy_gbs[1], R->copy_gbs[2], R->ratio);
            fflush(stdout);
        }
        if (spike_rate[si] >= 0)
            printf("%-16s (spike rate %.3f per neuron-step; %.1f MB per f32 tensor)\n", "", spike_rate[si],
                   numel * 4 / 1e6);
        fflush(stdout);
        spk_tensor_free(L.x);
        spk_tensor_free(L.s32);
        spk_tensor_free(L.s8);
        spk_tensor_free(L.sbits);
        spk_tensor_free(L.v);
        spk_tensor_free(L.i);
        spk_tensor_free(L.gs);
        spk_tensor_free(L.gx);
        copier_free_buffers(&C);
        continue;
    shape_fail:
        spk_tensor_free(L.x);
        spk_tensor_free(L.s32);
        spk_tensor_free(L.s8);
        spk_tensor_free(L.sbits);
        spk_tensor_free(L.v);
        spk_tensor_free(L.i);
        spk_tensor_free(L.gs);
        spk_tensor_free(L.gx);
        goto out;
    }

    bench_loadavg(load1, sizeof load1);
    printf("\nload average at the end: %s\n", load1);
    if (json) {
        FILE *f = fopen(json, "w");
        if (!f) {
            fprintf(stderr, "error: cannot write %s: %s\n", json, strerror(errno));
            goto out;
        }
        fprintf(f, "{\n  \"benchmark\": \"lif_bandwidth\",\n  \"device\": ");
        bench_json_str(f, info.device_name);
        fprintf(f, ",\n  \"platform\": ");
        bench_json_str(f, info.platform_name);
        fprintf(f, ",\n  \"driver\": ");
        bench_json_str(f, info.driver_version);
        fprintf(f, ",\n  \"device_version\": ");
        bench_json_str(f, info.device_version);
        fprintf(f, ",\n  \"loadavg_start\": ");
        bench_json_str(f, load0);
        fprintf(f, ",\n  \"loadavg_end\": ");
        bench_json_str(f, load1);
        fprintf(f, ",\n  \"compute_units\": %u,\n  \"reps\": %d,\n  \"min_rep_s\": %g,\n  \"results\": [\n",
                info.compute_units, reps, min_rep_s);
        for (size_t k = 0; k < n_results; k++) {
            const result *R = &results[k];
            fprintf(f, "    {\"T\": %zu, \"B\": %zu, \"N\": %zu, \"variant\": ", R->T, R->B, R->N);
            bench_json_str(f, R->variant);
            fprintf(f,
                    ", \"bytes\": %zu, \"median_s\": %.6g, \"gbs\": %.4g, \"launches_per_rep\": %d, "
                    "\"copy_bytes\": %zu",
                    R->bytes, R->lif_s, R->lif_gbs, R->lif_launches, R->copy_bytes);
            for (int c = 0; c < N_COPY; c++)
                fprintf(f, ", \"%s_gbs\": %.4g", COPY_KEYS[c], R->copy_gbs[c]);
            fprintf(f, ", \"best_copy\": ");
            bench_json_str(f, COPY_KEYS[R->best_copy]);
            fprintf(f, ", \"best_copy_gbs\": %.4g, \"ratio\": %.4g}%s\n", R->best_copy_gbs, R->ratio,
                    k + 1 < n_results ? "," : "");
        }
        fprintf(f, "  ]\n}\n");
        if (fclose(f) != 0) {
            fprintf(stderr, "error: writing %s failed\n", json);
            goto out;
        }
    }
    printf("copy methods: cpy4 = %s, cpy1 = %s, cpyB = %s\n", COPY_NAMES[0], COPY_NAMES[1], COPY_NAMES[2]);
    rc = 0;
out:
    free(host);
    free(host8);
    copier_free(&C);
    spk_context_free(ctx);
    return rc;
}
