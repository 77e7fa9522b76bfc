/* A program built outside the tree against an installed spikecl, the way a
 * user builds one: cc consumer.c $(pkg-config --cflags --libs spikecl).
 * Run by tests/install/run.sh, which checks what it prints. */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <spikecl/spikecl.h>

#define CHECK(cond, ...)                                                                                         \
    do {                                                                                                         \
        if (!(cond)) {                                                                                           \
            fprintf(stderr, "consumer: FAIL at line %d: ", __LINE__);                                          \
            fprintf(stderr, __VA_ARGS__);                                                                        \
            fprintf(stderr, "\n");                                                                               \
            return 1;                                                                                            \
        }                                                                                                        \
    } while (0)

static int run(void)
{
    /* The library actually loaded, and that its version matches the headers. */
    Dl_info dl;
    CHECK(dladdr((void *)spk_version_string, &dl) && dl.dli_fname, "dladdr failed");
    printf("library %s\n", dl.dli_fname);
    printf("version %s\n", spk_version_string());
    CHECK(strcmp(spk_version_string(), SPK_VERSION_STRING) == 0, "library %s, headers %s", spk_version_string(),
          SPK_VERSION_STRING);

    spk_device_info infos[16];
    size_t n = 0;
    spk_status st = spk_devices_list(infos, 16, &n);
    CHECK(st == SPK_OK, "spk_devices_list: %s: %s", spk_status_name(st), spk_context_last_error(NULL));
    CHECK(n > 0, "no OpenCL device");
    for (size_t i = 0; i < n && i < 16; i++)
        printf("device %d:%d %s%s\n", infos[i].platform_index, infos[i].device_index, infos[i].device_name,
               infos[i].is_default ? " (default)" : "");

    spk_context *ctx = NULL;
    st = spk_context_create(NULL, &ctx);
    CHECK(st == SPK_OK, "spk_context_create: %s: %s", spk_status_name(st), spk_context_last_error(NULL));

    enum { R = 3, C = 5 };
    size_t shape[2] = {R, C};
    float host[R * C], back[R * C];
    for (int i = 0; i < R * C; i++) {
        host[i] = 0.5f * (float)i - 3.0f;
        back[i] = -1.0f;
    }
    spk_tensor *t = NULL;
    int rc = 1;
    st = spk_tensor_create(ctx, SPK_F32, 2, shape, &t);
    if (st == SPK_OK)
        st = spk_tensor_upload(t, host, sizeof host);
    if (st == SPK_OK)
        st = spk_tensor_download(t, back, sizeof back);
    if (st != SPK_OK) {
        fprintf(stderr, "consumer: FAIL: tensor round trip: %s: %s\n", spk_status_name(st),
                spk_context_last_error(ctx));
        goto done;
    }
    for (int i = 0; i < R * C; i++)
        if (back[i] != host[i]) {
            fprintf(stderr, "consumer: FAIL: element %d is %g after the round trip, expected %g\n", i,
                    (double)back[i], (double)host[i]);
            goto done;
        }
    printf("tensor round trip of %d floats ok\n", R * C);

    /* An invalid argument returns its status and leaves a detail. */
    spk_tensor *bad = NULL;
    st = spk_tensor_create(ctx, SPK_F32, 0, shape, &bad);
    if (st != SPK_ERR_INVALID_ARGUMENT || bad != NULL || !*spk_context_last_error(ctx)) {
        fprintf(stderr, "consumer: FAIL: ndim 0 returned %s, detail '%s'\n", spk_status_name(st),
                spk_context_last_error(ctx));
        goto done;
    }
    printf("invalid argument reported: %s\n", spk_context_last_error(ctx));
    rc = 0;
done:
    spk_tensor_free(t);
    spk_context_free(ctx);
    return rc;
}

int main(void)
{
    int rc = run();
    printf("consumer: %s\n", rc == 0 ? "OK" : "FAILED");
    return rc;
}
