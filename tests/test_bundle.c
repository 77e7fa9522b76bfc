/* Program bundles (src/cl/program_bundle.c): which programs may share one
 * translation unit, on made-up sources whose dependencies are known, and on
 * the real kernels with the options of the mlp preset's programs. Compiled
 * with the bundle's source itself: its functions are internal. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl/program_bundle.h"

#ifndef SPK_TEST_KERNEL_DIR
#error "tests/meson.build must define SPK_TEST_KERNEL_DIR (the source kernels/ directory)"
#endif

static const char HEADER[] = "/* a header in the style of kernels/neuron.clh; VW in a comment */\n"
                             "#ifndef VW\n#define VW 1\n#endif\n"
                             "#define CAT_(a, b) a##b\n#define CAT(a, b) CAT_(a, b)\n"
                             "#if VW == 1\ntypedef float vf;\n#else\ntypedef CAT(float, VW) vf;\n#endif\n"
                             "typedef ulong off64;\n"
                             "static inline vf twice(vf x)\n{\n    return x + x;\n}\n"
                             "static inline float plain(float x)\n{\n#if 1\n    return x;\n#endif\n}\n"
                             "#ifdef FLAG\n#define HELPER(x) (x)\n#endif\n"
                             "typedef struct { float a[VW]; int (*cb)(int); } boxed;\n";

static const char USES_VF[] = "kernel void a(global float *p) { p[0] = twice((vf)1.0f).s0; }\n";
static const char USES_TWICE_ONLY[] = "kernel void t(global float *p) { p[0] = 2.0f; (void)twice; }\n";
static const char USES_OFF[] = "/* VW and NV named in a comment only */\n"
                               "kernel void b(global ulong *p) { off64 x = 0; p[0] = plain(x); }\n";
static const char USES_HELPER[] = "kernel void c(global float *p) { p[0] = HELPER(1.0f); }\n";
static const char USES_NV[] = "kernel void n(global float *p) { p[0] = NV; }\n";
static const char USES_BOXED[] = "kernel void s(global float *p) { boxed b; p[0] = b.a[0]; }\n";

/* A bundle source of the header and two files (an empty part between them
 * where the loader puts its #undef lines). */
static spk__source_text pair(const char *header, const char *a, const char *b)
{
    spk__source_text s = {0};
    s.parts[0] = header, s.lengths[0] = strlen(header);
    s.parts[1] = a, s.lengths[1] = strlen(a);
    s.parts[2] = "", s.lengths[2] = 0;
    s.parts[3] = b, s.lengths[3] = strlen(b);
    s.n_parts = 4, s.n_headers = 1;
    return s;
}

static int fits(const char *a, const char *oa, const char *b, const char *ob)
{
    spk__source_text s = pair(HEADER, a, b);
    spk__bundle_rules *r = spk__bundle_rules_new(&s);
    cr_assert_not_null(r);
    int ab = spk__bundle_fits(r, 0, oa, 1, ob), ba = spk__bundle_fits(r, 1, ob, 0, oa);
    spk__bundle_rules_free(r);
    cr_assert_eq(ab, ba, "the rule is not symmetric for '%s' / '%s'", oa, ob);
    return ab;
}

Test(bundle, a_macro_reaches_what_depends_on_it_in_the_headers)
{
    /* vf depends on VW (#if around it, CAT(float, VW)); twice on vf */
    cr_assert(!fits(USES_VF, "", USES_OFF, "-DVW=8"), "a file using vf must not see another's VW");
    cr_assert(!fits(USES_TWICE_ONLY, "", USES_OFF, "-DVW=8"), "twice takes a vf: it depends on VW");
    cr_assert(fits(USES_OFF, "", USES_VF, "-DVW=8"), "off64 and plain depend on no option");
    cr_assert(!fits(USES_HELPER, "", USES_OFF, "-DFLAG"), "HELPER exists only under #ifdef FLAG");
    cr_assert(!fits(USES_NV, "", USES_VF, "-DVW=8 -DNV=4"), "a file naming the macro itself");
    cr_assert(fits(USES_OFF, "", USES_VF, "-DVW=8 -DNV=4"), "a macro named in a comment only");
    cr_assert(!fits(USES_BOXED, "", USES_OFF, "-DVW=8"), "a typedef'd struct whose body names VW");
}

Test(bundle, options_must_agree)
{
    cr_assert(fits(USES_VF, "-DVW=8", USES_OFF, "-DVW=8"), "the same value of a shared macro");
    cr_assert(!fits(USES_VF, "-DVW=8", USES_OFF, "-DVW=4"), "two values of one macro");
    cr_assert(!fits(USES_OFF, "-DX=1 -cl-fast-relaxed-math", USES_VF, "-DY=1"), "other options differ");
    cr_assert(fits(USES_OFF, "-cl-mad-enable -DX=1", USES_OFF, "-DY=1 -cl-mad-enable"), "same other options");
}

Test(bundle, options_are_merged_once_in_order)
{
    const char *opts[] = {"-DVW=8 -DA=1", "-DVW=8 -DB=2", "", "-DA=1 -DC"};
    char *m = spk__bundle_options(opts, 4);
    cr_assert_not_null(m);
    cr_assert_str_eq(m, "-DVW=8 -DA=1 -DB=2 -DC");
    free(m);
}

static char *read_kernel(const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", SPK_TEST_KERNEL_DIR, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    cr_assert(b && fread(b, 1, (size_t)n, f) == (size_t)n);
    b[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* The mlp preset's three programs (options as spikecl train builds them on
 * a CPU device with 8-float vectors) fit in one; and the real headers do
 * keep a program from taking options its code depends on. */
Test(bundle, the_mlp_programs_fit_together)
{
    static const char *const headers[] = {"common.clh", "neuron.clh", "philox.clh"};
    static const char *const files[] = {"lif.cl", "sparse_synapse.cl", "optim.cl"};
    static const char *const opts[] = {"-DCUBA=0 -DRESET=0 -DIMMEDIATE=0 -DDETACH=1 -DREFRAC=0 -DSURROGATE=1 "
                                       "-DSPIKE_T=uint -DSPIKE_BITS=1 -DSPIKE_F32=0 -DCHUNK_MAX=64 -DVW=8",
                                       "-DVW=8 -DNV=1 -DROWS_DIM=0", "-DOPTIM_VW=8"};
    spk__source_text s = {0};
    char *owned[6];
    for (size_t i = 0; i < 3; i++) {
        owned[i] = read_kernel(headers[i], &s.lengths[i]);
        s.parts[i] = owned[i];
    }
    s.n_headers = 3;
    for (size_t f = 0; f < 3; f++) {
        owned[3 + f] = read_kernel(files[f], &s.lengths[3 + 2 * f]);
        s.parts[3 + 2 * f] = owned[3 + f];
        s.parts[4 + 2 * f] = "", s.lengths[4 + 2 * f] = 0;
    }
    s.n_parts = 8;
    spk__bundle_rules *r = spk__bundle_rules_new(&s);
    cr_assert_not_null(r);
    for (size_t a = 0; a < 3; a++)
        for (size_t b = 0; b < 3; b++)
            if (a != b)
                cr_assert(spk__bundle_fits(r, a, opts[a], b, opts[b]), "%s and %s should fit", files[a],
                          files[b]);
    /* lif.cl reads the tiles' CHUNK_MAX and the spike macros: a sparse
     * program may not hand it other values, nor leave them to lif's own */
    cr_assert(!spk__bundle_fits(r, 0, opts[0], 1, "-DVW=8 -DNV=1 -DROWS_DIM=0 -DCHUNK_MAX=1"));
    cr_assert(!spk__bundle_fits(r, 1, "-DVW=8 -DNV=1 -DROWS_DIM=0 -DSPIKE_BITS=1", 0,
                                      "-DCUBA=0 -DRESET=0 -DVW=8"));
    spk__bundle_rules_free(r);
    for (size_t i = 0; i < 6; i++)
        free(owned[i]);
}

Test(bundle, expectations_are_kept_once_and_removed)
{
    spk_context ctx;
    memset(&ctx, 0, sizeof ctx);
    spk__program_expected_add(&ctx, "lif.cl", "-DVW=8");
    spk__program_expected_add(&ctx, "optim.cl", "");
    spk__program_expected_add(&ctx, "lif.cl", "-DVW=8");
    size_t n = 0;
    for (const spk__program_expected *x = ctx.expected; x; x = x->next)
        n++;
    cr_assert_eq(n, 2);
    spk__program_expected_remove(&ctx, "lif.cl", "-DVW=8");
    cr_assert_str_eq(ctx.expected->file, "optim.cl");
    spk__program_expected_free(&ctx);
    cr_assert_null(ctx.expected);
}
