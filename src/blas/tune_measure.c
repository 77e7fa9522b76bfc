/* One tuning shape: inputs, exact reference rows, CLBlast call, check, timing. */
#include <clblast_c.h>
#include <string.h>
#include <time.h>

#include "blas/gemm_internal.h"
#include "blas/tune_measure.h"

/* Written into C before the checked call, so a kernel that skips elements fails. */
#define SENTINEL (-7777.0f)
#define CHECK_ROWS 48

double spk__tune_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Values in -2..2: sums of up to 2^22 products stay exact in float. */
static void fill_small_ints(float *x, size_t n, uint64_t *state)
{
    for (size_t i = 0; i < n; i++) {
        *state = *state * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((int)((*state >> 33) % 5) - 2);
    }
}

static cl_mem upload(spk_context *ctx, const float *host, size_t n, spk_status *st)
{
    cl_int err = CL_SUCCESS;
    cl_mem m = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * sizeof(float), (void *)host, &err);
    if (err != CL_SUCCESS)
        *st = spk__cl_error(ctx, err, "clCreateBuffer (spk_tune)");
    return m;
}

spk_status spk__tune_case_init(spk_context *ctx, const spk_gemm_shape *s, uint64_t seed, spk__tune_case *c)
{
    spk_status st = SPK_OK;
    const size_t m = s->m, n = s->n, k = s->k;
    float *ha = NULL, *hb = NULL, *hc = NULL;
    memset(c, 0, sizeof *c);
    c->s = *s;
    c->n_rows = m < CHECK_ROWS ? m : CHECK_ROWS;
    ha = spk__malloc(m * k * sizeof *ha);
    hb = spk__malloc(k * n * sizeof *hb);
    hc = spk__calloc(m * n, sizeof *hc);
    c->rows = spk__malloc(c->n_rows * sizeof *c->rows);
    c->want = spk__malloc(c->n_rows * n * sizeof *c->want);
    c->got = spk__malloc(c->n_rows * n * sizeof *c->got);
    SPK_CHECK(ctx, ha && hb && hc && c->rows && c->want && c->got, SPK_ERR_OUT_OF_MEMORY,
              "spk_tune: out of host memory for a %zux%zux%zu GEMM", m, n, k);
    uint64_t state = seed ^ (m * 73856093u) ^ (n * 19349663u) ^ (k * 83492791u);
    fill_small_ints(ha, m * k, &state);
    fill_small_ints(hb, k * n, &state);
    /* The first and last rows (edge tiles) and rows spread between them. */
    for (size_t r = 0; r < c->n_rows; r++)
        c->rows[r] = c->n_rows == m ? r : r < 8 ? r : r >= c->n_rows - 8 ? m - (c->n_rows - r) : r * (m / c->n_rows);
    for (size_t r = 0; r < c->n_rows; r++) {
        size_t i = c->rows[r];
        for (size_t j = 0; j < n; j++) {
            long acc = 0;
            for (size_t p = 0; p < k; p++) {
                float av = s->trans_a ? ha[p * m + i] : ha[i * k + p];
                float bv = s->trans_b ? hb[j * k + p] : hb[p * n + j];
                acc += (long)av * (long)bv;
            }
            c->want[r * n + j] = (float)acc;
        }
    }
    c->a = upload(ctx, ha, m * k, &st);
    if (st == SPK_OK)
        c->b = upload(ctx, hb, k * n, &st);
    if (st == SPK_OK)
        c->c = upload(ctx, hc, m * n, &st);
fail:
    spk__free(ha);
    spk__free(hb);
    spk__free(hc);
    return st;
}

void spk__tune_case_free(spk__tune_case *c)
{
    if (c->a)
        clReleaseMemObject(c->a);
    if (c->b)
        clReleaseMemObject(c->b);
    if (c->c)
        clReleaseMemObject(c->c);
    spk__free(c->rows);
    spk__free(c->want);
    spk__free(c->got);
    memset(c, 0, sizeof *c);
}

static CLBlastStatusCode gemm(spk_context *ctx, const spk__tune_case *c)
{
    const spk_gemm_shape *s = &c->s;
    return CLBlastSgemm(CLBlastLayoutRowMajor, s->trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                        s->trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, s->m, s->n, s->k, 1.0f, c->a, 0,
                        s->trans_a ? s->m : s->k, c->b, 0, s->trans_b ? s->k : s->n, 0.0f, c->c, 0, s->n, &ctx->queue,
                        NULL);
}

/* Read back the checked rows and compare exactly. */
static spk_status check(spk_context *ctx, spk__tune_case *c, char *msg, size_t msg_size)
{
    spk_status st = SPK_OK;
    const size_t n = c->s.n;
    for (size_t r = 0; r < c->n_rows; r++)
        CL_TRY(ctx, clEnqueueReadBuffer(ctx->queue, c->c, CL_FALSE, c->rows[r] * n * sizeof(float), n * sizeof(float),
                                        c->got + r * n, 0, NULL, NULL));
    CL_TRY(ctx, clFinish(ctx->queue));
    for (size_t r = 0; r < c->n_rows; r++)
        for (size_t j = 0; j < n; j++)
            if (c->got[r * n + j] != c->want[r * n + j]) {
                snprintf(msg, msg_size, "wrong result: C[%zu][%zu] = %g, expected %g", c->rows[r], j,
                         (double)c->got[r * n + j], (double)c->want[r * n + j]);
                return SPK_ERR_BLAS;
            }
fail:
    return st;
}

spk_status spk__tune_case_run(spk_context *ctx, spk__tune_case *c, double min_s, double *seconds, char *msg,
                              size_t msg_size)
{
    spk_status st = SPK_OK;
    const float sentinel = SENTINEL;
    CL_TRY(ctx, clEnqueueFillBuffer(ctx->queue, c->c, &sentinel, sizeof sentinel, 0, c->s.m * c->s.n * sizeof(float),
                                    0, NULL, NULL));
    CLBlastStatusCode s = gemm(ctx, c);
    if (s != CLBlastSuccess) {
        snprintf(msg, msg_size, "CLBlastSgemm failed: %s (%d)", spk__clblast_status_name(s), (int)s);
        return SPK_ERR_BLAS;
    }
    SPK_TRY(check(ctx, c, msg, msg_size));
    if (min_s <= 0)
        return SPK_OK;
    /* Batches of doubling size, one wait each: back-to-back calls as the
     * layers queue them, not a wait per call. */
    int calls = 0, batch = 1;
    double t0 = spk__tune_now(), elapsed = 0;
    for (;;) {
        for (int i = 0; i < batch; i++) {
            s = gemm(ctx, c);
            if (s != CLBlastSuccess) {
                snprintf(msg, msg_size, "CLBlastSgemm failed: %s (%d)", spk__clblast_status_name(s), (int)s);
                return SPK_ERR_BLAS;
            }
        }
        calls += batch;
        CL_TRY(ctx, clFinish(ctx->queue));
        elapsed = spk__tune_now() - t0;
        if (calls >= 2 && elapsed >= min_s)
            break;
        batch *= 2;
    }
    *seconds = elapsed / calls;
fail:
    return st;
}
