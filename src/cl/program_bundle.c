/* Expected programs, and whether two of them can share a translation unit.
 *
 * Two programs' options meet in one bundle: a macro defined for one file is
 * visible to the other, and to the headers both share. So a macro that only
 * one of them defines must not reach the other's code: neither its name nor
 * any header definition that depends on it (a macro, typedef or function
 * that names it, in its body or in the #if around it, or that names such a
 * definition) may appear in the other's file. The headers are split into
 * definitions by a small scan that knows their style; where it is unsure it
 * counts more as dependent, never less: the cost of a wrong "no" is one
 * more compile, of a wrong "yes" a wrong kernel. */
#include <ctype.h>
#include <string.h>

#include "cl/program_bundle.h"

void spk__program_expected_add(spk_context *ctx, const char *file, const char *options)
{
    spk__program_expected **tail = &ctx->expected;
    for (; *tail; tail = &(*tail)->next)
        if (strcmp((*tail)->file, file) == 0 && strcmp((*tail)->options, options) == 0)
            return;
    spk__program_expected *e = spk__calloc(1, sizeof *e);
    if (!e)
        return;
    e->file = spk__strdup(file);
    e->options = spk__strdup(options);
    if (!e->file || !e->options) {
        spk__free(e->file), spk__free(e->options), spk__free(e);
        return;
    }
    *tail = e;
}

void spk__program_expected_remove(spk_context *ctx, const char *file, const char *options)
{
    for (spk__program_expected **p = &ctx->expected; *p; p = &(*p)->next)
        if (strcmp((*p)->file, file) == 0 && strcmp((*p)->options, options) == 0) {
            spk__program_expected *e = *p;
            *p = e->next;
            spk__free(e->file), spk__free(e->options), spk__free(e);
            return;
        }
}

void spk__program_expected_free(spk_context *ctx)
{
    while (ctx->expected)
        spk__program_expected_remove(ctx, ctx->expected->file, ctx->expected->options);
}

/* ---- words ---- */

static int word_char(char c)
{
    return c == '_' || isalnum((unsigned char)c);
}

/* The next identifier of t[*i .. n) (not a number): its start and length, 0 at the end. */
static size_t next_word(const char *t, size_t n, size_t *i, const char **w)
{
    while (*i < n) {
        if (!word_char(t[*i])) {
            (*i)++;
            continue;
        }
        size_t s = *i;
        while (*i < n && word_char(t[*i]))
            (*i)++;
        if (!isdigit((unsigned char)t[s])) {
            *w = t + s;
            return *i - s;
        }
    }
    return 0;
}

typedef struct word_set {
    const char **w;
    size_t *len, n, cap;
    int oom;
} word_set;

static int set_has(const word_set *s, const char *w, size_t len)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->len[i] == len && memcmp(s->w[i], w, len) == 0)
            return 1;
    return 0;
}

static void set_add(word_set *s, const char *w, size_t len)
{
    if (set_has(s, w, len))
        return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 32;
        const char **nw = spk__realloc(s->w, s->cap * sizeof *nw, cap * sizeof *nw);
        if (nw)
            s->w = nw;
        size_t *nl = nw ? spk__realloc(s->len, s->cap * sizeof *nl, cap * sizeof *nl) : NULL;
        if (!nl) {
            s->oom = 1;
            return;
        }
        s->len = nl, s->cap = cap;
    }
    s->w[s->n] = w, s->len[s->n++] = len;
}

static void set_free(word_set *s)
{
    spk__free(s->w), spk__free(s->len);
}

/* 1 if some identifier of t[0 .. n) is in s. */
static int text_uses(const char *t, size_t n, const word_set *s)
{
    const char *w;
    size_t i = 0, len;
    while ((len = next_word(t, n, &i, &w)) > 0)
        if (set_has(s, w, len))
            return 1;
    return 0;
}

/* A copy of t with its comments turned into spaces (newlines kept). */
static char *strip_comments(const char *t, size_t n)
{
    char *c = spk__malloc(n + 1);
    if (!c)
        return NULL;
    memcpy(c, t, n);
    c[n] = '\0';
    for (size_t i = 0; i + 1 < n; i++) { /* t is read, c written */
        if (t[i] == '/' && t[i + 1] == '/')
            for (; i < n && t[i] != '\n'; i++)
                c[i] = ' ';
        else if (t[i] == '/' && t[i + 1] == '*') {
            size_t j = i;
            for (; j < n && !(j >= i + 3 && t[j - 1] == '*' && t[j] == '/'); j++)
                if (t[j] != '\n')
                    c[j] = ' ';
            if (j < n)
                c[j] = ' ';
            i = j;
        }
    }
    return c;
}

/* ---- header definitions ---- */

/* One definition of a header: its name, and the text it depends on (its
 * own text and the conditions of the #if blocks around it). */
typedef struct header_def {
    const char *name;
    size_t name_len;
    char *deps;
    size_t deps_len;
} header_def;

typedef struct header_scan {
    header_def *d;
    size_t n, cap;
    int oom;
    char *cond[32]; /* the open #if conditions */
    size_t ncond;
} header_scan;

/* text then every open condition, in one owned buffer */
static char *with_conditions(const header_scan *h, const char *t, size_t n, size_t *len)
{
    size_t total = n + 1;
    for (size_t i = 0; i < h->ncond; i++)
        total += strlen(h->cond[i]) + 1;
    char *b = spk__malloc(total);
    if (!b)
        return NULL;
    memcpy(b, t, n);
    size_t at = n;
    for (size_t i = 0; i < h->ncond; i++) {
        b[at++] = ' ';
        size_t k = strlen(h->cond[i]);
        memcpy(b + at, h->cond[i], k);
        at += k;
    }
    b[at] = '\0';
    *len = at;
    return b;
}

static void def_add(header_scan *h, const char *name, size_t name_len, const char *t, size_t n)
{
    if (h->oom || name_len == 0)
        return;
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        header_def *d = spk__realloc(h->d, h->cap * sizeof *d, cap * sizeof *d);
        if (!d) {
            h->oom = 1;
            return;
        }
        h->d = d, h->cap = cap;
    }
    header_def *d = &h->d[h->n];
    d->name = name, d->name_len = name_len;
    d->deps = with_conditions(h, t, n, &d->deps_len);
    if (!d->deps)
        h->oom = 1;
    else
        h->n++;
}

/* The name a C statement (not a directive) defines: a function's is the
 * identifier before its first '(' when a body follows; otherwise the last
 * identifier before '=' or the final ';' (a typedef or a variable). */
static void statement_name(const char *t, size_t n, const char **name, size_t *len)
{
    const char *paren = memchr(t, '(', n), *brace = memchr(t, '{', n), *eq = memchr(t, '=', n);
    size_t end = n;
    if (brace && paren && paren < brace)
        end = (size_t)(paren - t);
    else if (eq)
        end = (size_t)(eq - t);
    const char *w;
    size_t i = 0, l;
    *len = 0;
    while ((l = next_word(t, end, &i, &w)) > 0)
        *name = w, *len = l;
}

/* 1 if a statement that reached its closing brace is a function definition
 * (a '(' before its first '{', and not a typedef, struct, union or enum,
 * which go on to their ';'). */
static int is_function(const char *t, size_t n)
{
    const char *paren = memchr(t, '(', n), *brace = memchr(t, '{', n), *w;
    size_t i = 0, l = next_word(t, n, &i, &w);
    static const char *const types[] = {"typedef", "struct", "union", "enum"};
    for (size_t k = 0; k < SPK_ARRAY_LEN(types); k++)
        if (l == strlen(types[k]) && memcmp(w, types[k], l) == 0)
            return 0;
    return paren && brace && paren < brace;
}

static void directive(header_scan *h, const char *t, size_t n, const char *full, size_t full_n)
{
    const char *w;
    size_t i = 0, l = next_word(t, n, &i, &w);
    const char *rest = t + i;
    size_t rest_n = n - i;
    if ((l == 2 && memcmp(w, "if", 2) == 0) || (l == 5 && memcmp(w, "ifdef", 5) == 0) ||
        (l == 6 && memcmp(w, "ifndef", 6) == 0)) {
        if (h->ncond == SPK_ARRAY_LEN(h->cond)) {
            h->oom = 1; /* deeper than any header of ours: refuse to judge */
            return;
        }
        char *c = spk__malloc(rest_n + 1);
        if (!c) {
            h->oom = 1;
            return;
        }
        memcpy(c, rest, rest_n);
        c[rest_n] = '\0';
        h->cond[h->ncond++] = c;
    } else if (l == 4 && memcmp(w, "elif", 4) == 0 && h->ncond) {
        size_t old = strlen(h->cond[h->ncond - 1]);
        char *c = spk__realloc(h->cond[h->ncond - 1], old + 1, old + rest_n + 2);
        if (!c) {
            h->oom = 1;
            return;
        }
        c[old] = ' ';
        memcpy(c + old + 1, rest, rest_n);
        c[old + 1 + rest_n] = '\0';
        h->cond[h->ncond - 1] = c;
    } else if (l == 5 && memcmp(w, "endif", 5) == 0 && h->ncond) {
        spk__free(h->cond[--h->ncond]);
    } else if (l == 6 && memcmp(w, "define", 6) == 0) {
        const char *name;
        size_t j = 0, nl = next_word(rest, rest_n, &j, &name);
        def_add(h, name, nl, full, full_n);
    }
}

/* Split a header (comments removed) into definitions. */
static void scan_header(header_scan *h, const char *t, size_t n)
{
    size_t stmt = 0, depth = 0; /* stmt: start of the statement being read (== i: none) */
    int in_stmt = 0;
    for (size_t i = 0; i < n && !h->oom;) {
        size_t e = i;
        while (e < n && t[e] != '\n')
            e++;
        while (e < n && e > i && t[e - 1] == '\\') /* a directive continued on the next line */
            for (e++; e < n && t[e] != '\n'; e++)
                ;
        size_t j = i;
        while (j < e && isspace((unsigned char)t[j]))
            j++;
        if (j < e && t[j] == '#') {
            /* inside a statement the directive is part of its text (stmt keeps it) */
            directive(h, t + j + 1, e - j - 1, t + j + 1, e - j - 1);
            i = e + 1;
            continue;
        }
        for (size_t k = i; k < e; k++) {
            const char c = t[k];
            if (!in_stmt && !isspace((unsigned char)c))
                in_stmt = 1, stmt = k;
            if (c == '{')
                depth++;
            else if (c == '}' && depth > 0)
                depth--;
            const int function_end = c == '}' && depth == 0 && is_function(t + stmt, k - stmt);
            if (in_stmt && depth == 0 && (c == ';' || function_end)) {
                const char *name = NULL;
                size_t len = 0;
                statement_name(t + stmt, k + 1 - stmt, &name, &len);
                def_add(h, name, len, t + stmt, k + 1 - stmt);
                in_stmt = 0;
            }
        }
        i = e + 1;
    }
    while (h->ncond)
        spk__free(h->cond[--h->ncond]);
}

static void scan_free(header_scan *h)
{
    for (size_t i = 0; i < h->n; i++)
        spk__free(h->d[i].deps);
    spk__free(h->d);
    while (h->ncond)
        spk__free(h->cond[--h->ncond]);
}

/* Macro m and the header definitions that depend on it, transitively, in *s. */
static void closure(const header_scan *h, const char *m, size_t m_len, word_set *s)
{
    set_add(s, m, m_len);
    for (int grew = 1; grew && !s->oom;) {
        grew = 0;
        for (size_t i = 0; i < h->n; i++)
            if (!set_has(s, h->d[i].name, h->d[i].name_len) && text_uses(h->d[i].deps, h->d[i].deps_len, s)) {
                set_add(s, h->d[i].name, h->d[i].name_len);
                grew = 1;
            }
    }
}

enum { CLOSURES_KEPT = 64 };

struct spk__bundle_rules {
    header_scan headers;
    char *text[SPK_MAX_SOURCE_PARTS]; /* every part without comments: the definitions point into the headers' */
    size_t len[SPK_MAX_SOURCE_PARTS];
    size_t n_headers;
    /* closures computed so far, each once for all pairs (its first word is the macro) */
    word_set closures[CLOSURES_KEPT];
    size_t n_closures;
};

/* 1 if `file` (comments removed) may be compiled with macro m defined
 * although its own options leave m out: it names neither m nor a header
 * definition that depends on m. */
static int unaffected_by(spk__bundle_rules *r, const char *m, size_t m_len, const char *file, size_t file_n)
{
    for (size_t i = 0; i < r->n_closures; i++) {
        const word_set *c = &r->closures[i];
        if (c->len[0] == m_len && memcmp(c->w[0], m, m_len) == 0)
            return !text_uses(file, file_n, c);
    }
    word_set fresh = {0}, *s = r->n_closures < CLOSURES_KEPT ? &r->closures[r->n_closures] : &fresh;
    closure(&r->headers, m, m_len, s);
    const int ok = !s->oom && !text_uses(file, file_n, s);
    if (s == &fresh || s->oom)
        set_free(s), memset(s, 0, sizeof *s);
    else
        r->n_closures++;
    return ok;
}

/* ---- options ---- */

/* The next option of o (space separated) at *i: its start and length, 0 at the end. */
static size_t next_option(const char *o, size_t *i, const char **tok)
{
    while (o[*i] == ' ')
        (*i)++;
    size_t s = *i;
    while (o[*i] && o[*i] != ' ')
        (*i)++;
    *tok = o + s;
    return *i - s;
}

static int is_define(const char *tok, size_t len)
{
    return len > 2 && tok[0] == '-' && tok[1] == 'D';
}

/* The macro name of a -D option: its length after "-D". */
static size_t define_name_len(const char *tok, size_t len)
{
    size_t k = 2;
    while (k < len && tok[k] != '=')
        k++;
    return k - 2;
}

/* The option of o that defines the macro name[0 .. len), or NULL. */
static const char *find_define(const char *o, const char *name, size_t len, size_t *tok_len)
{
    const char *tok;
    size_t i = 0, l;
    while ((l = next_option(o, &i, &tok)) > 0)
        if (is_define(tok, l) && define_name_len(tok, l) == len && memcmp(tok + 2, name, len) == 0) {
            *tok_len = l;
            return tok;
        }
    return NULL;
}

/* Every option of o that is not a -D, in order, and the same for p. */
static int same_other_options(const char *o, const char *p)
{
    const char *a, *b;
    size_t i = 0, j = 0, la, lb;
    for (;;) {
        while ((la = next_option(o, &i, &a)) > 0 && is_define(a, la))
            ;
        while ((lb = next_option(p, &j, &b)) > 0 && is_define(b, lb))
            ;
        if (la != lb || (la && memcmp(a, b, la) != 0))
            return 0;
        if (!la)
            return 1;
    }
}

/* Every macro that o defines and p does not leaves file (p's) unaffected;
 * those both define agree. */
static int defines_fit(spk__bundle_rules *r, const char *o, const char *p, const char *file, size_t file_n)
{
    const char *tok;
    size_t i = 0, l;
    while ((l = next_option(o, &i, &tok)) > 0) {
        if (!is_define(tok, l))
            continue;
        size_t nl = define_name_len(tok, l), pl = 0;
        const char *other = find_define(p, tok + 2, nl, &pl);
        if (other ? pl != l || memcmp(other, tok, l) != 0 : !unaffected_by(r, tok + 2, nl, file, file_n))
            return 0;
    }
    return 1;
}


void spk__bundle_rules_free(spk__bundle_rules *r)
{
    if (!r)
        return;
    scan_free(&r->headers);
    for (size_t i = 0; i < SPK_MAX_SOURCE_PARTS; i++)
        spk__free(r->text[i]);
    for (size_t i = 0; i < r->n_closures; i++)
        set_free(&r->closures[i]);
    spk__free(r);
}

spk__bundle_rules *spk__bundle_rules_new(const spk__source_text *src)
{
    spk__bundle_rules *r = spk__calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->n_headers = src->n_headers;
    for (size_t i = 0; i < src->n_parts; i++) {
        r->text[i] = strip_comments(src->parts[i], src->lengths[i]);
        r->len[i] = src->lengths[i];
        if (!r->text[i]) {
            spk__bundle_rules_free(r);
            return NULL;
        }
        if (i < src->n_headers)
            scan_header(&r->headers, r->text[i], r->len[i]);
    }
    if (r->headers.oom) {
        spk__bundle_rules_free(r);
        return NULL;
    }
    return r;
}

int spk__bundle_fits(spk__bundle_rules *r, size_t a, const char *oa, size_t b, const char *ob)
{
    const size_t ia = r->n_headers + 2 * a, ib = r->n_headers + 2 * b;
    return same_other_options(oa, ob) && defines_fit(r, oa, ob, r->text[ib], r->len[ib]) &&
           defines_fit(r, ob, oa, r->text[ia], r->len[ia]);
}

int spk__options_have(const char *o, const char *tok, size_t len)
{
    const char *u;
    size_t i = 0, l;
    while ((l = next_option(o, &i, &u)) > 0)
        if (l == len && memcmp(u, tok, len) == 0)
            return 1;
    return 0;
}

char *spk__bundle_options(const char *const *opts, size_t n)
{
    size_t cap = 1, len = 0;
    for (size_t f = 0; f < n; f++)
        cap += strlen(opts[f]) + 1;
    char *out = spk__malloc(cap);
    if (!out)
        return NULL;
    out[0] = '\0';
    for (size_t f = 0; f < n; f++) {
        const char *tok;
        size_t i = 0, l;
        while ((l = next_option(opts[f], &i, &tok)) > 0)
            if (!spk__options_have(out, tok, l)) {
                if (len)
                    out[len++] = ' ';
                memcpy(out + len, tok, l);
                out[len += l] = '\0';
            }
    }
    return out;
}
