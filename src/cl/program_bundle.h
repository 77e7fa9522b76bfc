/* Programs compiled together. Every program build pays a fixed cost before
 * its own code (PoCL: about 0.25 s for the front end and the kernel library
 * link, bench/RESULTS.md), so the programs a context expects to need (its
 * layers and optimizer say so when they are set up) are compiled as one
 * program, a bundle, at the first build of any of them, as long as their
 * build options cannot change each other's code (spk__bundle_fits). */
#ifndef SPK_PROGRAM_BUNDLE_H
#define SPK_PROGRAM_BUNDLE_H

#include "cl/kernel_sources.h"

/* At most this many files in one bundle. */
#define SPK_BUNDLE_MAX 6 /* and as many as the source parts hold (spk__source_files_max) */

typedef struct spk__program_expected {
    char *file, *options;
    struct spk__program_expected *next;
} spk__program_expected;

/* Add an expectation (spk__program_expect, which skips programs built already). */
void spk__program_expected_add(spk_context *ctx, const char *file, const char *options);
/* Forget one expectation (it was built) or all of them. */
void spk__program_expected_remove(spk_context *ctx, const char *file, const char *options);
void spk__program_expected_free(spk_context *ctx);

/* What the rule reads of a bundle's source: the headers split into
 * definitions and every file without its comments, scanned once for all
 * the pairs a bundle plan checks (and each macro's dependents, found once).
 * NULL when out of memory. */
typedef struct spk__bundle_rules spk__bundle_rules;
spk__bundle_rules *spk__bundle_rules_new(const spk__source_text *src);
void spk__bundle_rules_free(spk__bundle_rules *r);

/* 1 if files a and b of the source (indices into its files), built with
 * options oa and ob, may share one program: the same non-define options,
 * the same value for a macro both define, and a macro that only one defines
 * named neither in the other's file nor in anything of the headers that the
 * other's file uses and that depends on it. */
int spk__bundle_fits(spk__bundle_rules *r, size_t a, const char *oa, size_t b, const char *ob);

/* 1 if the option tok[0 .. len) is one of the space-separated options o. */
int spk__options_have(const char *o, const char *tok, size_t len);

/* The options of a bundle: every option of opts[0 .. n), once, in order
 * (NULL when out of memory). */
char *spk__bundle_options(const char *const *opts, size_t n);
#endif
