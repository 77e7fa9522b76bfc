/* Timing one GEMM shape through CLBlast on a context's device, and checking
 * its result against a host reference. The inputs are small integers, so
 * every correct kernel, whatever its summation order, gives exactly the
 * reference's floats; the check compares a sample of rows exactly. */
#ifndef SPK_TUNE_MEASURE_H
#define SPK_TUNE_MEASURE_H

#include "cl/cl_internal.h"

typedef struct spk__tune_case {
    spk_gemm_shape s;
    cl_mem a, b, c;
    size_t n_rows;  /* rows of C checked */
    size_t *rows;   /* their indices */
    float *want;    /* n_rows x n, exact */
    float *got;
} spk__tune_case;

/* Device buffers, inputs and the reference rows of shape s. */
spk_status spk__tune_case_init(spk_context *ctx, const spk_gemm_shape *s, uint64_t seed, spk__tune_case *c);
void spk__tune_case_free(spk__tune_case *c);

/* Run the GEMM once with the parameters in force (compiling them if new)
 * and check it: SPK_OK; SPK_ERR_BLAS when CLBlast fails or the result is
 * wrong, why in msg; another status for OpenCL failures (set on ctx). Then,
 * when min_s > 0, time calls until min_s has passed (at least 2 calls):
 * *seconds receives the mean time of one call. */
spk_status spk__tune_case_run(spk_context *ctx, spk__tune_case *c, double min_s, double *seconds, char *msg,
                              size_t msg_size);

double spk__tune_now(void);
#endif
