/* The configuration engine: loads YAML (libyaml's document API) into the option structs
 * described by the schema tables (config_schema.c), validates, writes the effective
 * configuration back, and manages the handle.
 *
 * State: every section's options struct lives in one block (`values`), each at a fixed
 * offset. A string member points either to its descriptor's static default or to memory the
 * block owns. Every modifying call builds a scratch block and commits it only on success,
 * which makes it atomic; the scratch may share strings with the committed block (reco_config_set
 * and reco_config_set_<section> copy the block), so freeing a block frees only the strings the
 * other block does not also point to.
 *
 * Memory: the block, its strings, file contents and temporary-file names come from the
 * handle's allocator. libyaml allocates its parser buffers and document nodes with its own
 * malloc; they live only during one call (documented in config.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "alloc_private.h"
#include "config_private.h"
#include "file_private.h"
#include "error_private.h"

/* Where one option's value came from (reco_config_get_origin). `text` points to one of the
 * handle's `sources` (a load's source name, a reco_config_set call's "path=value"), or to
 * the static name of a reco_config_set_<section> function; NULL for a default. */
typedef struct cfg_origin {
    reco_config_origin_kind kind;
    const char *text;
    uint32_t line, column;
} cfg_origin;

struct reco_config {
    reco_allocator alloc;
    unsigned char *values; /* every section's options struct, at section_offset() */
    cfg_origin *origins;   /* one per leaf option, in schema order (leaf_index) */
    char **sources;        /* the texts origins point to, owned; unused ones are freed */
    size_t n_sources;
};

/* Typed access to a member at a byte offset inside an options struct. */
#define MEMBER(base, off, type) (*(type *)(void *)((unsigned char *)(base) + (off)))
#define CMEMBER(base, off, type) \
    (*(const type *)(const void *)((const unsigned char *)(base) + (off)))

/* Sections are laid out one after another, each aligned for any member type. */
#define SECTION_ALIGN 16

/* Files larger than this are not configuration files; refusing them bounds the memory a
 * mistaken path (a log, /dev/zero) can take. */
#define MAX_FILE_BYTES ((size_t)64 << 20)

/* Messages quote at most this many bytes of a user's text. */
#define EXCERPT_BYTES 48

/* ---- layout -------------------------------------------------------------------------- */

static size_t round_up(size_t n)
{
    return (n + SECTION_ALIGN - 1) / SECTION_ALIGN * SECTION_ALIGN;
}

static size_t section_offset(const reco__cfg_section *sec)
{
    size_t off = 0;
    for (size_t i = 0; i < reco__cfg_n_sections; i++) {
        if (reco__cfg_sections[i] == sec)
            return off;
        off += round_up(reco__cfg_sections[i]->size);
    }
    return off; /* not reached: every section comes from the list */
}

static size_t values_size(void)
{
    size_t off = 0;
    for (size_t i = 0; i < reco__cfg_n_sections; i++)
        off += round_up(reco__cfg_sections[i]->size);
    return off;
}

/* Leaf options (every field but a MAP; a LIST is one leaf), numbered in schema order: the
 * index of an option's origin. */
static size_t count_leaves(const reco__cfg_field *fields, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += fields[i].type == RECO__CFG_MAP ? count_leaves(fields[i].sub, fields[i].n_sub) : 1;
    return k;
}

static size_t n_leaves(void)
{
    size_t k = 0;
    for (size_t i = 0; i < reco__cfg_n_sections; i++)
        k += count_leaves(reco__cfg_sections[i]->fields, reco__cfg_sections[i]->n_fields);
    return k;
}

/* Leaf number of the section's first leaf. */
static size_t first_leaf(const reco__cfg_section *sec)
{
    size_t k = 0;
    for (size_t i = 0; i < reco__cfg_n_sections && reco__cfg_sections[i] != sec; i++)
        k += count_leaves(reco__cfg_sections[i]->fields, reco__cfg_sections[i]->n_fields);
    return k;
}

static int find_leaf(const reco__cfg_field *fields, size_t n, const reco__cfg_field *f,
                     size_t *at)
{
    for (size_t i = 0; i < n; i++) {
        if (fields[i].type == RECO__CFG_MAP) {
            if (find_leaf(fields[i].sub, fields[i].n_sub, f, at))
                return 1;
        } else if (&fields[i] == f) {
            return 1;
        } else {
            (*at)++;
        }
    }
    return 0;
}

/* The number of leaf `f` (a pointer into the schema tables); SIZE_MAX if it is not one. */
static size_t leaf_index(const reco__cfg_field *f)
{
    size_t at = 0;
    for (size_t i = 0; i < reco__cfg_n_sections; i++)
        if (find_leaf(reco__cfg_sections[i]->fields, reco__cfg_sections[i]->n_fields, f, &at))
            return at;
    return SIZE_MAX;
}

static size_t scalar_size(reco__cfg_type type)
{
    switch (type) {
    case RECO__CFG_U32: return sizeof(uint32_t);
    case RECO__CFG_U64: return sizeof(uint64_t);
    case RECO__CFG_F64: return sizeof(double);
    case RECO__CFG_F32: return sizeof(float);
    case RECO__CFG_STRING: return sizeof(const char *);
    default: return sizeof(int); /* BOOL, ENUM */
    }
}

/* ---- defaults and string ownership --------------------------------------------------- */

static void store_default(void *s, const reco__cfg_field *f, unsigned int version)
{
    switch (f->type) {
    case RECO__CFG_BOOL:
    case RECO__CFG_ENUM: MEMBER(s, f->offset, int) = (int)f->idef; break;
    case RECO__CFG_U32: MEMBER(s, f->offset, uint32_t) = (uint32_t)f->udef; break;
    case RECO__CFG_U64: MEMBER(s, f->offset, uint64_t) = f->udef; break;
    case RECO__CFG_F64: MEMBER(s, f->offset, double) = f->fdef; break;
    case RECO__CFG_F32: MEMBER(s, f->offset, float) = (float)f->fdef; break;
    case RECO__CFG_STRING: MEMBER(s, f->offset, const char *) = f->sdef; break;
    case RECO__CFG_LIST: {
        size_t esz = scalar_size(f->elem);
        unsigned char *arr = (unsigned char *)s + f->offset;
        memset(arr, 0, esz * f->capacity);
        if (f->n_ldef > 0)
            memcpy(arr, f->ldef, esz * f->n_ldef);
        MEMBER(s, f->count_offset, uint32_t) = f->n_ldef;
        break;
    }
    case RECO__CFG_MAP:
        for (size_t i = 0; i < f->n_sub; i++)
            if (f->sub[i].since <= version)
                store_default(s, &f->sub[i], version);
        break;
    }
}

static void section_defaults(void *s, const reco__cfg_section *sec, unsigned int version)
{
    MEMBER(s, 0, unsigned int) = version;
    for (size_t i = 0; i < sec->n_fields; i++)
        if (sec->fields[i].since <= version)
            store_default(s, &sec->fields[i], version);
}

static void all_defaults(unsigned char *values)
{
    for (size_t i = 0; i < reco__cfg_n_sections; i++) {
        const reco__cfg_section *sec = reco__cfg_sections[i];
        section_defaults(values + section_offset(sec), sec, sec->version);
    }
}

/* A string is owned by a block unless it is the static default or `keep` (the other block of
 * a scratch/committed pair, or NULL) points to it too. */
static void release_field_strings(const reco_allocator *a, unsigned char *s,
                                  const unsigned char *keep, const reco__cfg_field *f)
{
    if (f->type == RECO__CFG_MAP) {
        for (size_t i = 0; i < f->n_sub; i++)
            release_field_strings(a, s, keep, &f->sub[i]);
        return;
    }
    if (f->type != RECO__CFG_STRING)
        return;
    const char *p = MEMBER(s, f->offset, const char *);
    if (p == NULL || p == f->sdef || (keep != NULL && p == CMEMBER(keep, f->offset, const char *)))
        return;
    reco__free(a, (void *)(uintptr_t)p);
}

static void release_strings(const reco_allocator *a, unsigned char *values,
                            const unsigned char *keep)
{
    for (size_t i = 0; i < reco__cfg_n_sections; i++) {
        const reco__cfg_section *sec = reco__cfg_sections[i];
        size_t off = section_offset(sec);
        for (size_t j = 0; j < sec->n_fields; j++)
            release_field_strings(a, values + off, keep ? keep + off : NULL, &sec->fields[j]);
    }
}

/* Makes `scratch` the committed block. */
static void commit(reco_config *cfg, unsigned char *scratch)
{
    release_strings(&cfg->alloc, cfg->values, scratch);
    reco__free(&cfg->alloc, cfg->values);
    cfg->values = scratch;
}

/* Drops a scratch block after a failure; strings shared with the committed block stay. */
static void discard(reco_config *cfg, unsigned char *scratch)
{
    if (scratch == NULL)
        return;
    release_strings(&cfg->alloc, scratch, cfg->values);
    reco__free(&cfg->alloc, scratch);
}

/* ---- text helpers ---------------------------------------------------------------------- */

/* A printable, bounded quotation of user text for messages: control bytes become '?', and a
 * long text is cut (at a UTF-8 boundary) and marked with "...". */
static const char *excerpt(char *buf, size_t cap, const char *text, size_t len)
{
    size_t n = len;
    int cut = 0;
    if (n > EXCERPT_BYTES || n > cap - 4) {
        n = EXCERPT_BYTES < cap - 4 ? EXCERPT_BYTES : cap - 4;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;
        cut = 1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)text[i];
        buf[i] = (ch < 0x20 || ch == 0x7F) ? '?' : (char)ch;
    }
    if (cut) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

static int ascii_ieq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

static int text_eq(const char *a, size_t alen, const char *b)
{
    return strlen(b) == alen && memcmp(a, b, alen) == 0;
}

/* Returns 1 if s[0..len) is well-formed UTF-8 (no overlong forms, surrogates or values past
 * U+10FFFF). The writer relies on it to emit text that libyaml will read back. */
static int utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (len - i <= n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}

/* Optimal-string-alignment distance (edits and adjacent swaps), for "did you mean" hints;
 * returns a large value for texts too long to be a typo of a key. */
static size_t edit_distance(const char *a, size_t alen, const char *b)
{
    enum { MAXLEN = 64 };
    size_t blen = strlen(b);
    if (alen > MAXLEN || blen > MAXLEN)
        return SIZE_MAX;
    size_t prev2[MAXLEN + 1], prev[MAXLEN + 1], cur[MAXLEN + 1];
    for (size_t j = 0; j <= blen; j++)
        prev[j] = j;
    for (size_t i = 1; i <= alen; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= blen; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = prev[j - 1] + cost;
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        memcpy(prev2, prev, sizeof prev);
        memcpy(prev, cur, sizeof cur);
    }
    return prev[blen];
}

/* The decimal point of the C library's current locale: strtod/printf use it, YAML does not. */
static char locale_point(void)
{
    const struct lconv *lc = localeconv();
    if (lc != NULL && lc->decimal_point != NULL && lc->decimal_point[0] != '\0' &&
        lc->decimal_point[1] == '\0')
        return lc->decimal_point[0];
    return '.';
}

/* Parses a number already checked to match the YAML float syntax, independently of locale. */
static double c_strtod(const char *text, size_t len)
{
    char buf[128];
    char point = locale_point();
    if (len >= sizeof buf)
        len = sizeof buf - 1;
    for (size_t i = 0; i < len; i++)
        buf[i] = text[i] == '.' ? point : text[i];
    buf[len] = '\0';
    return strtod(buf, NULL);
}

/* Shortest "%.Ng" text that reads back as exactly `v` (finite), with a '.' decimal point. */
static void format_double(char *buf, size_t cap, double v)
{
    char point = locale_point();
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        for (char *p = buf; *p != '\0'; p++)
            if (*p == point)
                *p = '.';
        if (c_strtod(buf, strlen(buf)) == v)
            break;
    }
    /* An integral value prints as an integer when that is no longer ("10", not "1e+01"; but
     * "1e+09" stays); the loader reads either back as the same double. */
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        char whole[32];
        snprintf(whole, sizeof whole, "%.0f", v);
        if (strlen(whole) <= strlen(buf) && strlen(whole) < cap)
            memcpy(buf, whole, strlen(whole) + 1);
    }
}

/* As format_double() for a float: the fewest digits that read back (as a double rounded to
 * float, the loader's path) to the same float. */
static void format_float(char *buf, size_t cap, float v)
{
    char point = locale_point();
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, cap, "%.*g", prec, (double)v);
        for (char *p = buf; *p != '\0'; p++)
            if (*p == point)
                *p = '.';
        if ((float)c_strtod(buf, strlen(buf)) == v)
            break;
    }
    const double d = (double)v;
    if (d == floor(d) && fabs(d) < 9007199254740992.0) {
        char whole[48];
        snprintf(whole, sizeof whole, "%.0f", d);
        if (strlen(whole) <= strlen(buf) && strlen(whole) < cap)
            memcpy(buf, whole, strlen(whole) + 1);
    }
}

/* ---- context and errors ---------------------------------------------------------------- */

typedef struct cfg_ctx {
    const reco_allocator *alloc;
    /* Error source: a file or source name; NULL when messages carry no location
     * (reco_config_set, reco_config_set_<section>). */
    const char *source;
    yaml_document_t *doc;
    /* The section struct being filled (inside the scratch block), and the same section in
     * the committed block when the scratch shares its strings (else NULL). */
    unsigned char *sec_vals;
    const unsigned char *base_vals;
    char path[256]; /* option path of the node being applied, e.g. experiment.seeds[2] */
    size_t path_len;
    /* Origins being built (a scratch copy; NULL: not recorded), and what an option applied
     * now gets as its origin. */
    cfg_origin *origins;
    reco_config_origin_kind origin_kind;
    const char *origin_text;
} cfg_ctx;

static size_t path_push(cfg_ctx *c, const char *key, size_t len)
{
    size_t saved = c->path_len;
    char tmp[EXCERPT_BYTES + 8];
    excerpt(tmp, sizeof tmp, key, len);
    int n = snprintf(c->path + c->path_len, sizeof c->path - c->path_len, "%s%s",
                     c->path_len > 0 ? "." : "", tmp);
    if (n > 0)
        c->path_len += (size_t)n < sizeof c->path - c->path_len
                           ? (size_t)n : sizeof c->path - c->path_len - 1;
    return saved;
}

static size_t path_push_index(cfg_ctx *c, size_t index)
{
    size_t saved = c->path_len;
    int n = snprintf(c->path + c->path_len, sizeof c->path - c->path_len, "[%zu]", index);
    if (n > 0)
        c->path_len += (size_t)n < sizeof c->path - c->path_len
                           ? (size_t)n : sizeof c->path - c->path_len - 1;
    return saved;
}

static void path_pop(cfg_ctx *c, size_t saved)
{
    c->path_len = saved;
    c->path[saved] = '\0';
}

static uint32_t mark_u32(size_t v)
{
    return v >= UINT32_MAX ? UINT32_MAX : (uint32_t)(v + 1);
}

/* Records an error at `mark` (libyaml's 0-based position; NULL = none) and the current path. */
static int vfail_mark(cfg_ctx *c, const yaml_mark_t *mark, int code, const char *fmt,
                      va_list ap) RECO__PRINTF(4, 0);
static int vfail_mark(cfg_ctx *c, const yaml_mark_t *mark, int code, const char *fmt,
                      va_list ap)
{
    char msg[768];
    vsnprintf(msg, sizeof msg, fmt, ap);
    uint32_t line = 0, column = 0;
    if (mark != NULL && c->source != NULL) {
        line = mark_u32(mark->line);
        column = mark_u32(mark->column);
    }
    return reco__error_set_at(code, c->source, line, column, c->path, "%s", msg);
}

static int fail_mark(cfg_ctx *c, const yaml_mark_t *mark, int code, const char *fmt, ...)
    RECO__PRINTF(4, 5);
static int fail_mark(cfg_ctx *c, const yaml_mark_t *mark, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail_mark(c, mark, code, fmt, ap);
    va_end(ap);
    return rc;
}

/* RECO_ECONFIG at node `n` (NULL: no position). */
static int fail_node(cfg_ctx *c, const yaml_node_t *n, const char *fmt, ...) RECO__PRINTF(3, 4);
static int fail_node(cfg_ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail_mark(c, n != NULL ? &n->start_mark : NULL, RECO_ECONFIG, fmt, ap);
    va_end(ap);
    return rc;
}

static const char *node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE: return "a mapping";
    case YAML_SEQUENCE_NODE: return "a sequence";
    default: return "a scalar";
    }
}

static const char *type_desc(reco__cfg_type t)
{
    switch (t) {
    case RECO__CFG_BOOL: return "a boolean (true or false)";
    case RECO__CFG_U32:
    case RECO__CFG_U64: return "an unsigned integer";
    case RECO__CFG_F64:
    case RECO__CFG_F32: return "a number";
    case RECO__CFG_ENUM: return "a name";
    case RECO__CFG_STRING: return "a string";
    case RECO__CFG_LIST: return "a sequence such as [a, b]";
    default: return "a mapping";
    }
}

/* "quiet, error, warn" for messages. */
static const char *enum_list(char *buf, size_t cap, const reco__cfg_field *f)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < f->n_enums && used < cap; i++) {
        int n = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", f->enums[i].name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

/* Closest known name within edit distance 2, or NULL. */
static const char *closest_field(const char *key, size_t len, const reco__cfg_field *fields,
                                 size_t n)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(key, len, fields[i].key);
        if (d < best_d) {
            best_d = d;
            best = fields[i].key;
        }
    }
    return best;
}

static const char *closest_section(const char *key, size_t len)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < reco__cfg_n_sections; i++) {
        size_t d = edit_distance(key, len, reco__cfg_sections[i]->name);
        if (d < best_d) {
            best_d = d;
            best = reco__cfg_sections[i]->name;
        }
    }
    return best;
}

static const char *field_list(char *buf, size_t cap, const reco__cfg_field *fields, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < cap; i++) {
        int k = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", fields[i].key);
        if (k < 0)
            break;
        used += (size_t)k;
    }
    return buf;
}

static const char *section_list(char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < reco__cfg_n_sections && used < cap; i++) {
        int k = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "",
                         reco__cfg_sections[i]->name);
        if (k < 0)
            break;
        used += (size_t)k;
    }
    return buf;
}

/* Unknown key `key` in the mapping whose fields are `fields` (NULL: the top level, whose keys
 * are sections). The path already ends with the key. */
static int fail_unknown(cfg_ctx *c, const yaml_node_t *node, const char *key, size_t len,
                        const char *container, const reco__cfg_field *fields, size_t n)
{
    char q[EXCERPT_BYTES + 8], known[512];
    excerpt(q, sizeof q, key, len);
    const char *hint = fields ? closest_field(key, len, fields, n) : closest_section(key, len);
    const char *what = fields ? "key" : "section";
    if (hint != NULL) {
        if (fields)
            return fail_node(c, node, "unknown key \"%s\" in %s; did you mean \"%s\"?", q,
                           container, hint);
        return fail_node(c, node, "unknown section \"%s\"; did you mean \"%s\"?", q, hint);
    }
    if (fields)
        return fail_node(c, node, "unknown %s \"%s\" in %s; known keys: %s", what, q, container,
                       field_list(known, sizeof known, fields, n));
    return fail_node(c, node, "unknown %s \"%s\"; known sections: %s", what, q,
                   section_list(known, sizeof known));
}

/* ---- validation (shared by the YAML loader and reco_config_set_<section>) --------------- */

static int check_uint(cfg_ctx *c, const yaml_node_t *n, const reco__cfg_field *f, uint64_t v)
{
    if (v < f->umin || v > f->umax)
        return fail_node(c, n, "%" PRIu64 " is out of range [%" PRIu64 ", %" PRIu64 "]", v,
                       f->umin, f->umax);
    return RECO_OK;
}

static int check_f64(cfg_ctx *c, const yaml_node_t *n, const reco__cfg_field *f, double v)
{
    if (isnan(v) || isinf(v))
        return fail_node(c, n, "%s is not allowed: NaN and infinity are not valid values",
                         isnan(v) ? "NaN" : v > 0 ? "inf" : "-inf");
    if (v < f->fmin || v > f->fmax) {
        char a[40], lo[40], hi[40];
        format_double(a, sizeof a, v);
        format_double(lo, sizeof lo, f->fmin);
        format_double(hi, sizeof hi, f->fmax);
        return fail_node(c, n, "%s is out of range [%s, %s]", a, lo, hi);
    }
    return RECO_OK;
}

static int check_enum(cfg_ctx *c, const yaml_node_t *n, const reco__cfg_field *f, int v)
{
    for (size_t i = 0; i < f->n_enums; i++)
        if (f->enums[i].value == v)
            return RECO_OK;
    char names[256];
    return fail_node(c, n, "%d is not one of the accepted values (%s)", v,
                   enum_list(names, sizeof names, f));
}

static int check_string(cfg_ctx *c, const yaml_node_t *n, const reco__cfg_field *f,
                        const char *s, size_t len)
{
    if (memchr(s, '\0', len) != NULL)
        return fail_node(c, n, "the string contains a NUL character");
    if (len < f->umin) {
        if (len == 0)
            return fail_node(c, n, "the string must not be empty");
        return fail_node(c, n, "the string is %zu bytes long; at least %" PRIu64 " are required",
                       len, f->umin);
    }
    if (len > f->umax)
        return fail_node(c, n, "the string is %zu bytes long; at most %" PRIu64 " are allowed",
                       len, f->umax);
    if (!utf8_valid((const unsigned char *)s, len))
        return fail_node(c, n, "the string is not valid UTF-8");
    return RECO_OK;
}

static int check_count(cfg_ctx *c, const yaml_node_t *n, const reco__cfg_field *f, size_t count)
{
    if (count > f->capacity)
        return fail_node(c, n, "too many entries: %zu (at most %" PRIu32 ")", count, f->capacity);
    if (count < f->min_count)
        return fail_node(c, n, "too few entries: %zu (at least %" PRIu32 ")", count, f->min_count);
    return RECO_OK;
}

/* Replaces the string at `f` in the section being built with a copy of s[0..len). */
static int store_string(cfg_ctx *c, const reco__cfg_field *f, const char *s, size_t len)
{
    char *copy = reco__alloc(c->alloc, len + 1, 1);
    if (copy == NULL)
        return RECO_ENOMEM;
    memcpy(copy, s, len);
    copy[len] = '\0';
    const char *old = MEMBER(c->sec_vals, f->offset, const char *);
    if (old != NULL && old != f->sdef &&
        (c->base_vals == NULL || old != CMEMBER(c->base_vals, f->offset, const char *)))
        reco__free(c->alloc, (void *)(uintptr_t)old);
    MEMBER(c->sec_vals, f->offset, const char *) = copy;
    return RECO_OK;
}

/* ---- scalar text -> typed value ------------------------------------------------------- */

static int parse_uint(cfg_ctx *c, const yaml_node_t *n, const char *t, size_t len,
                      reco__cfg_type type, uint64_t *out)
{
    char q[EXCERPT_BYTES + 8];
    size_t i = 0;
    int neg = 0;
    if (len > 0 && (t[0] == '+' || t[0] == '-')) {
        neg = t[0] == '-';
        i = 1;
    }
    if (i == len)
        return fail_node(c, n, "\"%s\" is not an integer", excerpt(q, sizeof q, t, len));
    uint64_t v = 0;
    int overflow = 0;
    for (; i < len; i++) {
        if (t[i] < '0' || t[i] > '9')
            return fail_node(c, n, "\"%s\" is not an integer (decimal digits only)",
                           excerpt(q, sizeof q, t, len));
        unsigned d = (unsigned)(t[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            overflow = 1;
        else
            v = v * 10 + d;
    }
    if (neg && (v != 0 || overflow))
        return fail_node(c, n, "%s is negative; an unsigned integer is required",
                       excerpt(q, sizeof q, t, len));
    if (type == RECO__CFG_U32 && (overflow || v > UINT32_MAX))
        return fail_node(c, n, "%s is too large for a 32-bit unsigned integer (maximum %" PRIu32
                       ")", excerpt(q, sizeof q, t, len), UINT32_MAX);
    if (overflow)
        return fail_node(c, n, "%s is too large for a 64-bit unsigned integer (maximum %" PRIu64
                       ")", excerpt(q, sizeof q, t, len), UINT64_MAX);
    *out = v;
    return RECO_OK;
}

/* YAML 1.2 core-schema float syntax, minus the special values:
 * [-+]? ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static int float_syntax(const char *t, size_t len)
{
    size_t i = 0, digits = 0;
    if (i < len && (t[i] == '+' || t[i] == '-'))
        i++;
    while (i < len && t[i] >= '0' && t[i] <= '9') {
        i++;
        digits++;
    }
    if (i < len && t[i] == '.') {
        i++;
        while (i < len && t[i] >= '0' && t[i] <= '9') {
            i++;
            digits++;
        }
    }
    if (digits == 0)
        return 0;
    if (i < len && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        if (i < len && (t[i] == '+' || t[i] == '-'))
            i++;
        size_t exp_digits = 0;
        while (i < len && t[i] >= '0' && t[i] <= '9') {
            i++;
            exp_digits++;
        }
        if (exp_digits == 0)
            return 0;
    }
    return i == len;
}

static int float_special(const char *t, size_t len)
{
    size_t i = (len > 0 && (t[0] == '+' || t[0] == '-')) ? 1 : 0;
    const char *rest = t + i;
    size_t rlen = len - i;
    static const char *const names[] = { ".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN",
                                         "inf", "infinity", "nan" };
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (k < 6 ? text_eq(rest, rlen, names[k]) : ascii_ieq(rest, rlen, names[k]))
            return 1;
    return 0;
}

static int parse_f64(cfg_ctx *c, const yaml_node_t *n, const char *t, size_t len, double *out)
{
    char q[EXCERPT_BYTES + 8];
    if (float_special(t, len))
        return fail_node(c, n, "\"%s\" is not allowed: NaN and infinity are not valid values",
                       excerpt(q, sizeof q, t, len));
    if (!float_syntax(t, len))
        return fail_node(c, n, "\"%s\" is not a number", excerpt(q, sizeof q, t, len));
    if (len >= 100)
        return fail_node(c, n, "\"%s\" is too long for a number (at most 99 characters)",
                       excerpt(q, sizeof q, t, len));
    double v = c_strtod(t, len);
    if (isinf(v))
        return fail_node(c, n, "%s is too large for a double", excerpt(q, sizeof q, t, len));
    *out = v;
    return RECO_OK;
}

/* Parses and validates scalar node `n` as a value of `type` under `f`'s constraints, storing
 * it at `dst`. Strings are handled by the caller (they allocate). */
static int apply_scalar(cfg_ctx *c, const yaml_node_t *n, const reco__cfg_field *f,
                        reco__cfg_type type, void *dst)
{
    const char *t = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    char q[EXCERPT_BYTES + 8];
    int rc = RECO_OK;
    switch (type) {
    case RECO__CFG_BOOL:
        if (ascii_ieq(t, len, "true"))
            *(int *)dst = 1;
        else if (ascii_ieq(t, len, "false"))
            *(int *)dst = 0;
        else
            rc = fail_node(c, n, "\"%s\" is not a boolean; use true or false (yes/no, on/off and "
                         "1/0 are not accepted)", excerpt(q, sizeof q, t, len));
        break;
    case RECO__CFG_U32:
    case RECO__CFG_U64: {
        uint64_t v = 0;
        rc = parse_uint(c, n, t, len, type, &v);
        if (rc == RECO_OK)
            rc = check_uint(c, n, f, v);
        if (rc == RECO_OK && type == RECO__CFG_U32)
            *(uint32_t *)dst = (uint32_t)v;
        else if (rc == RECO_OK)
            *(uint64_t *)dst = v;
        break;
    }
    case RECO__CFG_F64: {
        double v = 0.0;
        rc = parse_f64(c, n, t, len, &v);
        if (rc == RECO_OK)
            rc = check_f64(c, n, f, v);
        if (rc == RECO_OK)
            *(double *)dst = v;
        break;
    }
    case RECO__CFG_F32: {
        double v = 0.0;
        rc = parse_f64(c, n, t, len, &v);
        if (rc == RECO_OK)
            rc = check_f64(c, n, f, (double)(float)v);
        if (rc == RECO_OK)
            *(float *)dst = (float)v;
        break;
    }
    case RECO__CFG_ENUM: {
        char names[256];
        for (size_t i = 0; i < f->n_enums; i++) {
            if (text_eq(t, len, f->enums[i].name)) {
                *(int *)dst = f->enums[i].value;
                return RECO_OK;
            }
        }
        rc = fail_node(c, n, "unknown value \"%s\"; accepted: %s", excerpt(q, sizeof q, t, len),
                     enum_list(names, sizeof names, f));
        break;
    }
    default:
        rc = fail_node(c, n, "internal error: unexpected option type %d", (int)type);
        break;
    }
    return rc;
}

/* ---- YAML nodes -> options ------------------------------------------------------------- */

static int is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE)
        return 0;
    if (n->tag != NULL && strcmp((const char *)n->tag, YAML_NULL_TAG) == 0)
        return 1;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *t = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    return len == 0 || text_eq(t, len, "~") || text_eq(t, len, "null") ||
           text_eq(t, len, "Null") || text_eq(t, len, "NULL");
}

/* Only the YAML core-schema tags: libyaml gives untagged nodes !!str, !!seq or !!map. */
static int check_tag(cfg_ctx *c, const yaml_node_t *n)
{
    static const char prefix[] = "tag:yaml.org,2002:";
    static const char *const core[] = { "str", "int", "float", "bool", "null", "seq", "map" };
    const char *tag = (const char *)n->tag;
    if (tag == NULL)
        return RECO_OK;
    if (strncmp(tag, prefix, sizeof prefix - 1) == 0)
        for (size_t i = 0; i < sizeof core / sizeof core[0]; i++)
            if (strcmp(tag + sizeof prefix - 1, core[i]) == 0)
                return RECO_OK;
    char q[EXCERPT_BYTES + 8];
    return fail_node(c, n, "unsupported tag \"%s\"; only the YAML core tags (!!str, !!int, "
                   "!!float, !!bool, !!null, !!seq, !!map) are allowed",
                   excerpt(q, sizeof q, tag, strlen(tag)));
}

static yaml_node_t *doc_node(cfg_ctx *c, int index)
{
    return yaml_document_get_node(c->doc, index);
}

static int apply_mapping(cfg_ctx *c, const yaml_node_t *map, const reco__cfg_field *fields,
                         size_t n_fields);

/* Leaf `f` was just given a value: its origin is the current one, at `key` (the option's
 * key in the text; NULL or a source-less call: no position). */
static void record_origin(cfg_ctx *c, const reco__cfg_field *f, const yaml_node_t *key)
{
    size_t i = leaf_index(f);
    if (c->origins == NULL || i == SIZE_MAX)
        return;
    cfg_origin *o = &c->origins[i];
    o->kind = c->origin_kind;
    o->text = c->origin_text;
    o->line = o->column = 0;
    if (key != NULL && c->source != NULL) {
        o->line = mark_u32(key->start_mark.line);
        o->column = mark_u32(key->start_mark.column);
    }
}

static int apply_field(cfg_ctx *c, const reco__cfg_field *f, const yaml_node_t *n)
{
    int rc = check_tag(c, n);
    if (rc < 0)
        return rc;
    if (is_null(n))
        return fail_node(c, n, "a value is required (%s)", type_desc(f->type));
    if (f->type == RECO__CFG_MAP) {
        if (n->type != YAML_MAPPING_NODE)
            return fail_node(c, n, "expected a mapping, found %s", node_kind(n));
        return apply_mapping(c, n, f->sub, f->n_sub);
    }
    if (f->type == RECO__CFG_LIST) {
        if (n->type != YAML_SEQUENCE_NODE)
            return fail_node(c, n, "expected a sequence such as [a, b], found %s", node_kind(n));
        size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        rc = check_count(c, n, f, count);
        if (rc < 0)
            return rc;
        size_t esz = scalar_size(f->elem);
        unsigned char *arr = c->sec_vals + f->offset;
        memset(arr, 0, esz * f->capacity);
        for (size_t i = 0; i < count && rc == RECO_OK; i++) {
            const yaml_node_t *item = doc_node(c, n->data.sequence.items.start[i]);
            size_t saved = path_push_index(c, i);
            if (item == NULL)
                rc = fail_node(c, n, "internal error: dangling sequence item");
            if (rc == RECO_OK)
                rc = check_tag(c, item);
            if (rc == RECO_OK && is_null(item))
                rc = fail_node(c, item, "a value is required (%s)", type_desc(f->elem));
            if (rc == RECO_OK && item->type != YAML_SCALAR_NODE)
                rc = fail_node(c, item, "expected %s, found %s", type_desc(f->elem),
                             node_kind(item));
            if (rc == RECO_OK)
                rc = apply_scalar(c, item, f, f->elem, arr + i * esz);
            path_pop(c, saved);
        }
        if (rc == RECO_OK)
            MEMBER(c->sec_vals, f->count_offset, uint32_t) = (uint32_t)count;
        return rc;
    }
    if (n->type != YAML_SCALAR_NODE)
        return fail_node(c, n, "expected %s, found %s", type_desc(f->type), node_kind(n));
    if (f->type == RECO__CFG_STRING) {
        const char *t = (const char *)n->data.scalar.value;
        size_t len = n->data.scalar.length;
        rc = check_string(c, n, f, t, len);
        return rc < 0 ? rc : store_string(c, f, t, len);
    }
    return apply_scalar(c, n, f, f->type, c->sec_vals + f->offset);
}

/* Checks key node `key` (pair `index` of `map`): a scalar, with a core tag, not seen before
 * in this mapping. */
static int check_key(cfg_ctx *c, const yaml_node_t *map, const yaml_node_pair_t *pair,
                     const yaml_node_t **key_out)
{
    const yaml_node_t *key = doc_node(c, pair->key);
    if (key == NULL || doc_node(c, pair->value) == NULL)
        return fail_node(c, map, "internal error: dangling mapping entry");
    int rc = check_tag(c, key);
    if (rc < 0)
        return rc;
    if (key->type != YAML_SCALAR_NODE)
        return fail_node(c, key, "mapping keys must be plain names, found %s", node_kind(key));
    const char *t = (const char *)key->data.scalar.value;
    size_t len = key->data.scalar.length;
    /* Earlier keys of this mapping were all known and distinct (else we stopped), so this
     * loop is bounded by the schema, not by the input. */
    for (const yaml_node_pair_t *p = map->data.mapping.pairs.start; p < pair; p++) {
        const yaml_node_t *prev = doc_node(c, p->key);
        if (prev->data.scalar.length == len && memcmp(prev->data.scalar.value, t, len) == 0) {
            char q[EXCERPT_BYTES + 8];
            size_t saved = path_push(c, t, len);
            rc = fail_node(c, key, "duplicate key \"%s\" (first defined at line %" PRIu32 ")",
                         excerpt(q, sizeof q, t, len), mark_u32(prev->start_mark.line));
            path_pop(c, saved);
            return rc;
        }
    }
    *key_out = key;
    return RECO_OK;
}

static const reco__cfg_field *find_field(const reco__cfg_field *fields, size_t n,
                                         const char *key, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (text_eq(key, len, fields[i].key))
            return &fields[i];
    return NULL;
}

static int apply_mapping(cfg_ctx *c, const yaml_node_t *map, const reco__cfg_field *fields,
                         size_t n_fields)
{
    char container[sizeof c->path];
    memcpy(container, c->path, c->path_len + 1);
    for (const yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++) {
        const yaml_node_t *key = NULL;
        int rc = check_key(c, map, pair, &key);
        if (rc < 0)
            return rc;
        const char *t = (const char *)key->data.scalar.value;
        size_t len = key->data.scalar.length;
        const reco__cfg_field *f = find_field(fields, n_fields, t, len);
        size_t saved = path_push(c, t, len);
        if (f == NULL)
            rc = fail_unknown(c, key, t, len, container, fields, n_fields);
        else
            rc = apply_field(c, f, doc_node(c, pair->value));
        if (rc == RECO_OK && f->type != RECO__CFG_MAP)
            record_origin(c, f, key);
        path_pop(c, saved);
        if (rc < 0)
            return rc;
    }
    return RECO_OK;
}

static const reco__cfg_section *find_section(const char *name, size_t len)
{
    for (size_t i = 0; i < reco__cfg_n_sections; i++)
        if (text_eq(name, len, reco__cfg_sections[i]->name))
            return reco__cfg_sections[i];
    return NULL;
}

/* A whole section seen as one nested mapping. */
static reco__cfg_field section_as_field(const reco__cfg_section *sec)
{
    reco__cfg_field f;
    memset(&f, 0, sizeof f);
    f.key = sec->name;
    f.type = RECO__CFG_MAP;
    f.since = 1;
    f.sub = sec->fields;
    f.n_sub = sec->n_fields;
    return f;
}

static void enter_section(cfg_ctx *c, unsigned char *scratch, const unsigned char *base,
                          const reco__cfg_section *sec)
{
    size_t off = section_offset(sec);
    c->sec_vals = scratch + off;
    c->base_vals = base != NULL ? base + off : NULL;
}

/* Applies a document's root node to `scratch`. An absent or null root means all defaults. */
static int apply_document(cfg_ctx *c, const yaml_node_t *root, unsigned char *scratch)
{
    if (root == NULL)
        return RECO_OK;
    int rc = check_tag(c, root);
    if (rc < 0)
        return rc;
    if (is_null(root))
        return RECO_OK;
    if (root->type != YAML_MAPPING_NODE)
        return fail_node(c, root, "the top level must be a mapping of sections (such as "
                       "\"experiment:\"), found %s", node_kind(root));
    for (const yaml_node_pair_t *pair = root->data.mapping.pairs.start;
         pair < root->data.mapping.pairs.top; pair++) {
        const yaml_node_t *key = NULL;
        rc = check_key(c, root, pair, &key);
        if (rc < 0)
            return rc;
        const char *t = (const char *)key->data.scalar.value;
        size_t len = key->data.scalar.length;
        const reco__cfg_section *sec = find_section(t, len);
        size_t saved = path_push(c, t, len);
        if (sec == NULL) {
            rc = fail_unknown(c, key, t, len, "", NULL, 0);
        } else {
            reco__cfg_field f = section_as_field(sec);
            enter_section(c, scratch, NULL, sec);
            rc = apply_field(c, &f, doc_node(c, pair->value));
        }
        path_pop(c, saved);
        if (rc < 0)
            return rc;
    }
    return RECO_OK;
}

/* ---- libyaml parsing ------------------------------------------------------------------ */

typedef struct yaml_input {
    yaml_parser_t parser;
    yaml_document_t doc;
    int parser_live;
    int doc_live;
} yaml_input;

/* 1-based line and column of byte `offset` of the input, for reader errors, which libyaml
 * reports as an offset only. Columns count characters, as libyaml's marks do. */
static yaml_mark_t mark_from_offset(const char *text, size_t len, size_t offset)
{
    yaml_mark_t m = { offset, 0, 0 };
    if (offset > len)
        offset = len;
    for (size_t i = 0; i < offset; i++) {
        if (text[i] == '\n') {
            m.line++;
            m.column = 0;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            m.column++;
        }
    }
    return m;
}

static int yaml_fail(cfg_ctx *c, const yaml_parser_t *p, const char *text, size_t len)
{
    if (p->error == YAML_MEMORY_ERROR)
        return reco__error_set(RECO_ENOMEM, "out of memory while parsing YAML");
    yaml_mark_t mark = p->problem_mark;
    char extra[160] = "";
    if (p->error == YAML_READER_ERROR) {
        mark = mark_from_offset(text, len, p->problem_offset);
        if (p->problem_value != -1)
            snprintf(extra, sizeof extra, " (value 0x%X)", (unsigned)p->problem_value);
    } else if (p->context != NULL) {
        snprintf(extra, sizeof extra, " (%s at line %" PRIu32 ", column %" PRIu32 ")",
                 p->context, mark_u32(p->context_mark.line), mark_u32(p->context_mark.column));
    }
    const char *problem = p->problem != NULL ? p->problem : "unknown error";
    if (c->source == NULL)
        return fail_mark(c, NULL, RECO_EFORMAT, "malformed YAML value: %s%s at line %" PRIu32
                         ", column %" PRIu32, problem, extra, mark_u32(mark.line),
                         mark_u32(mark.column));
    return fail_mark(c, &mark, RECO_EFORMAT, "malformed YAML: %s%s", problem, extra);
}

/* Parses exactly one document (or none) from text[0..len) into in->doc. */
static int yaml_open(cfg_ctx *c, yaml_input *in, const char *text, size_t len)
{
    memset(in, 0, sizeof *in);
    if (!yaml_parser_initialize(&in->parser))
        return reco__error_set(RECO_ENOMEM, "out of memory creating a YAML parser");
    in->parser_live = 1;
    yaml_parser_set_input_string(&in->parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&in->parser, &in->doc))
        return yaml_fail(c, &in->parser, text, len);
    in->doc_live = 1;
    c->doc = &in->doc;

    yaml_document_t second;
    if (!yaml_parser_load(&in->parser, &second))
        return yaml_fail(c, &in->parser, text, len);
    int rc = RECO_OK;
    if (yaml_document_get_root_node(&second) != NULL)
        rc = fail_mark(c, &second.start_mark, RECO_ECONFIG,
                       "a second YAML document starts here; a configuration is one document");
    yaml_document_delete(&second);
    return rc;
}

static void yaml_close(yaml_input *in)
{
    if (in->doc_live)
        yaml_document_delete(&in->doc);
    if (in->parser_live)
        yaml_parser_delete(&in->parser);
}

/* ---- origins --------------------------------------------------------------------------- */

static cfg_origin *origins_new(const reco_allocator *a, const cfg_origin *copy_of)
{
    const size_t n = n_leaves();
    cfg_origin *o = reco__calloc(a, n, sizeof *o);
    if (o != NULL && copy_of != NULL)
        memcpy(o, copy_of, n * sizeof *o);
    return o;
}

/* A source list of the current sources plus `text` (`keep_old` = 0: `text` alone),
 * allocated ahead of a commit so that the commit cannot fail. `text` comes from the
 * handle's allocator and is adopted: freed here on failure (NULL: fails). */
typedef struct new_sources {
    char **list;
    size_t n;
    char *text; /* the new entry: also list[n - 1] */
} new_sources;

static int sources_prepare(new_sources *ns, const reco_config *cfg, char *text, int keep_old)
{
    const size_t old = keep_old ? cfg->n_sources : 0;
    ns->list = text != NULL ? reco__calloc(&cfg->alloc, old + 1, sizeof *ns->list) : NULL;
    ns->text = text;
    if (ns->list == NULL) {
        reco__free(&cfg->alloc, ns->list);
        reco__free(&cfg->alloc, ns->text);
        ns->list = NULL;
        ns->text = NULL;
        return RECO_ENOMEM;
    }
    if (old > 0)
        memcpy(ns->list, cfg->sources, old * sizeof *ns->list);
    ns->list[old] = ns->text;
    ns->n = old + 1;
    return RECO_OK;
}

static void sources_discard(const reco_config *cfg, new_sources *ns)
{
    reco__free(&cfg->alloc, ns->list);
    reco__free(&cfg->alloc, ns->text);
}

/* Frees the source texts no origin points to any more, keeping the list packed; bounds the
 * memory of many reco_config_set calls by the number of options. */
static void sources_collect(reco_config *cfg)
{
    const size_t n = n_leaves();
    size_t kept = 0;
    for (size_t s = 0; s < cfg->n_sources; s++) {
        int used = 0;
        for (size_t i = 0; i < n && !used; i++)
            used = cfg->origins[i].text == cfg->sources[s];
        if (used)
            cfg->sources[kept++] = cfg->sources[s];
        else
            reco__free(&cfg->alloc, cfg->sources[s]);
    }
    cfg->n_sources = kept;
}

/* Makes `origins` (and `ns`'s list, when given) the committed ones. */
static void origins_commit(reco_config *cfg, cfg_origin *origins, new_sources *ns)
{
    reco__free(&cfg->alloc, cfg->origins);
    cfg->origins = origins;
    if (ns != NULL && ns->list != NULL) {
        /* strings of the old list that the new one lacks (a load drops them all) are freed
         * by the collection below, which needs them listed */
        for (size_t s = 0; s < cfg->n_sources; s++) {
            int listed = 0;
            for (size_t k = 0; k < ns->n && !listed; k++)
                listed = ns->list[k] == cfg->sources[s];
            if (!listed)
                reco__free(&cfg->alloc, cfg->sources[s]);
        }
        reco__free(&cfg->alloc, cfg->sources);
        cfg->sources = ns->list;
        cfg->n_sources = ns->n;
        ns->list = NULL;
        ns->text = NULL;
    }
    sources_collect(cfg);
}

static void sources_free_all(reco_config *cfg)
{
    for (size_t s = 0; s < cfg->n_sources; s++)
        reco__free(&cfg->alloc, cfg->sources[s]);
    reco__free(&cfg->alloc, cfg->sources);
    cfg->sources = NULL;
    cfg->n_sources = 0;
}

/* ---- handle ---------------------------------------------------------------------------- */

int reco_config_options_init(reco_config_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_config_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_CONFIG_OPTIONS_VERSION, "reco_config_options");
    if (rc < 0)
        return rc;
    opts->version = version;
    opts->allocator = NULL;
    return RECO_OK;
}

int reco_config_create(reco_config **out, const reco_config_options *opts)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_config_create: out is NULL");
    *out = NULL;
    if (opts != NULL) {
        int rc = reco__check_version(opts->version, RECO_CONFIG_OPTIONS_VERSION,
                                     "reco_config_options");
        if (rc < 0)
            return rc;
    }
    reco_allocator a;
    int rc = reco__allocator_resolve(&a, opts != NULL ? opts->allocator : NULL);
    if (rc < 0)
        return rc;
    reco_config *cfg = reco__alloc(&a, sizeof *cfg, 0);
    if (cfg == NULL)
        return RECO_ENOMEM;
    cfg->alloc = a;
    cfg->values = reco__alloc(&a, values_size(), 0);
    cfg->origins = origins_new(&a, NULL);
    cfg->sources = NULL;
    cfg->n_sources = 0;
    if (cfg->values == NULL || cfg->origins == NULL) {
        reco__free(&a, cfg->values);
        reco__free(&a, cfg->origins);
        reco__free(&a, cfg);
        return RECO_ENOMEM;
    }
    all_defaults(cfg->values);
    reco__handle_acquire();
    *out = cfg;
    return RECO_OK;
}

void reco_config_free(reco_config *cfg)
{
    if (cfg == NULL)
        return;
    reco_allocator a = cfg->alloc;
    release_strings(&a, cfg->values, NULL);
    reco__free(&a, cfg->values);
    sources_free_all(cfg);
    reco__free(&a, cfg->origins);
    reco__free(&a, cfg);
    reco__handle_release();
}

void reco_config_reset(reco_config *cfg)
{
    if (cfg == NULL)
        return;
    release_strings(&cfg->alloc, cfg->values, NULL);
    all_defaults(cfg->values);
    memset(cfg->origins, 0, n_leaves() * sizeof *cfg->origins);
    sources_free_all(cfg);
}

/* ---- loading ---------------------------------------------------------------------------- */

static int load_text(reco_config *cfg, const char *text, size_t len, const char *source)
{
    cfg_ctx c;
    memset(&c, 0, sizeof c);
    c.alloc = &cfg->alloc;
    c.source = source;
    yaml_input in;
    memset(&in, 0, sizeof in);
    new_sources ns = { NULL, 0, NULL };
    cfg_origin *origins = origins_new(&cfg->alloc, NULL);
    unsigned char *scratch = reco__alloc(&cfg->alloc, values_size(), 0);
    if (scratch != NULL)
        all_defaults(scratch);
    int rc = RECO_ENOMEM;
    if (sources_prepare(&ns, cfg, reco__strdup(&cfg->alloc, source), 0) < 0 ||
        scratch == NULL || origins == NULL)
        goto cleanup;
    c.origins = origins;
    c.origin_kind = RECO_CONFIG_ORIGIN_FILE;
    c.origin_text = ns.text;
    rc = yaml_open(&c, &in, text, len);
    if (rc == RECO_OK)
        rc = apply_document(&c, yaml_document_get_root_node(&in.doc), scratch);
cleanup:
    yaml_close(&in);
    if (rc == RECO_OK) {
        commit(cfg, scratch);
        origins_commit(cfg, origins, &ns);
    } else {
        if (scratch != NULL) {
            /* Nothing in a loaded scratch is shared with the committed block. */
            release_strings(&cfg->alloc, scratch, NULL);
            reco__free(&cfg->alloc, scratch);
        }
        reco__free(&cfg->alloc, origins);
        sources_discard(cfg, &ns);
    }
    return rc;
}

int reco_config_load_string(reco_config *cfg, const char *yaml, size_t len,
                            const char *source_name)
{
    if (cfg == NULL)
        return reco__error_set(RECO_EINVAL, "reco_config_load_string: cfg is NULL");
    if (yaml == NULL)
        return reco__error_set(RECO_EINVAL, "reco_config_load_string: yaml is NULL");
    return load_text(cfg, yaml, len, source_name != NULL ? source_name : "<string>");
}

static int io_error(const char *path, const char *what, int err)
{
    char msg[256];
    if (strerror_r(err, msg, sizeof msg) != 0)
        snprintf(msg, sizeof msg, "error %d", err);
    return reco__error_set_at(RECO_EIO, path, 0, 0, NULL, "%s: %s", what, msg);
}

/* Reads the whole file into memory from the handle's allocator. */
static int read_file(const reco_allocator *a, const char *path, char **buf_out, size_t *len_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return io_error(path, "cannot open the file", errno);
    size_t cap = 4096, len = 0;
    char *buf = reco__alloc(a, cap, 1);
    int rc = buf == NULL ? RECO_ENOMEM : RECO_OK;
    while (rc == RECO_OK) {
        if (len == cap) {
            if (cap >= MAX_FILE_BYTES) {
                rc = reco__error_set_at(RECO_EIO, path, 0, 0, NULL, "the file is larger than "
                                        "%zu MiB; not a configuration file",
                                        MAX_FILE_BYTES >> 20);
                break;
            }
            char *bigger = reco__alloc(a, cap * 2, 1);
            if (bigger == NULL) {
                rc = RECO_ENOMEM;
                break;
            }
            memcpy(bigger, buf, len);
            reco__free(a, buf);
            buf = bigger;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = io_error(path, "cannot read the file", errno);
        else if (n == 0)
            break;
        else
            len += (size_t)n;
    }
    close(fd);
    if (rc < 0) {
        reco__free(a, buf);
        return rc;
    }
    *buf_out = buf;
    *len_out = len;
    return RECO_OK;
}

int reco_config_load_file(reco_config *cfg, const char *path)
{
    if (cfg == NULL)
        return reco__error_set(RECO_EINVAL, "reco_config_load_file: cfg is NULL");
    if (path == NULL)
        return reco__error_set(RECO_EINVAL, "reco_config_load_file: path is NULL");
    if (path[0] == '\0')
        return reco__error_set(RECO_EINVAL, "reco_config_load_file: path is empty");
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(&cfg->alloc, path, &text, &len);
    if (rc < 0)
        return rc;
    rc = load_text(cfg, text, len, path);
    reco__free(&cfg->alloc, text);
    return rc;
}

/* ---- reco_config_set ------------------------------------------------------------------ */

/* Resolves a dotted path to the field it names; a section alone resolves to the section as a
 * mapping (written to *section_field). Leaves the canonical path in c->path. */
static int resolve_path(cfg_ctx *c, const char *path, const reco__cfg_section **sec_out,
                        reco__cfg_field *section_field, const reco__cfg_field **f_out)
{
    const char *p = path;
    const char *dot = strchr(p, '.');
    size_t len = dot ? (size_t)(dot - p) : strlen(p);
    const reco__cfg_section *sec = find_section(p, len);
    path_push(c, p, len);
    if (sec == NULL)
        return fail_unknown(c, NULL, p, len, "", NULL, 0);
    *section_field = section_as_field(sec);
    const reco__cfg_field *f = section_field;
    while (dot != NULL) {
        p = dot + 1;
        dot = strchr(p, '.');
        len = dot ? (size_t)(dot - p) : strlen(p);
        char container[sizeof c->path];
        memcpy(container, c->path, c->path_len + 1);
        path_push(c, p, len);
        if (f->type != RECO__CFG_MAP) {
            char q[EXCERPT_BYTES + 8];
            return fail_node(c, NULL, "unknown key \"%s\": %s is not a mapping",
                           excerpt(q, sizeof q, p, len), container);
        }
        const reco__cfg_field *next = find_field(f->sub, f->n_sub, p, len);
        if (next == NULL)
            return fail_unknown(c, NULL, p, len, container, f->sub, f->n_sub);
        f = next;
    }
    *sec_out = sec;
    *f_out = f;
    return RECO_OK;
}

int reco_config_set(reco_config *cfg, const char *path, const char *value)
{
    if (cfg == NULL)
        return reco__error_set(RECO_EINVAL, "reco_config_set: cfg is NULL");
    if (path == NULL)
        return reco__error_set(RECO_EINVAL, "reco_config_set: path is NULL");
    if (value == NULL)
        return reco__error_set(RECO_EINVAL, "reco_config_set: value is NULL");
    cfg_ctx c;
    memset(&c, 0, sizeof c);
    c.alloc = &cfg->alloc;
    yaml_input in;
    memset(&in, 0, sizeof in);
    unsigned char *scratch = NULL;
    cfg_origin *origins = NULL;
    new_sources ns = { NULL, 0, NULL };
    const reco__cfg_section *sec = NULL;
    reco__cfg_field section_field;
    const reco__cfg_field *f = NULL;
    int rc = resolve_path(&c, path, &sec, &section_field, &f);
    if (rc < 0)
        goto cleanup;
    /* the origin of what this call sets: its own "path=value" */
    const size_t plen = strlen(path), len = strlen(value);
    char *origin_text = reco__alloc(&cfg->alloc, plen + len + 2, 1);
    if (origin_text != NULL) {
        memcpy(origin_text, path, plen);
        origin_text[plen] = '=';
        memcpy(origin_text + plen + 1, value, len + 1);
    }
    scratch = reco__alloc(&cfg->alloc, values_size(), 0);
    if (scratch != NULL) /* shares the committed block's strings (see discard) */
        memcpy(scratch, cfg->values, values_size());
    origins = origins_new(&cfg->alloc, cfg->origins);
    if (sources_prepare(&ns, cfg, origin_text, 1) < 0 || scratch == NULL || origins == NULL) {
        rc = RECO_ENOMEM;
        goto cleanup;
    }
    enter_section(&c, scratch, cfg->values, sec);
    c.origins = origins;
    c.origin_kind = RECO_CONFIG_ORIGIN_SET;
    c.origin_text = ns.text;
    if (f->type == RECO__CFG_STRING) {
        /* Literal: paths and names need no YAML quoting on a command line. */
        rc = check_string(&c, NULL, f, value, len);
        if (rc == RECO_OK)
            rc = store_string(&c, f, value, len);
        if (rc == RECO_OK)
            record_origin(&c, f, NULL);
        goto cleanup;
    }
    rc = yaml_open(&c, &in, value, len);
    if (rc < 0)
        goto cleanup;
    const yaml_node_t *root = yaml_document_get_root_node(&in.doc);
    if (root == NULL)
        rc = fail_node(&c, NULL, "a value is required (%s)", type_desc(f->type));
    else
        rc = apply_field(&c, f, root);
    if (rc == RECO_OK && f->type != RECO__CFG_MAP)
        record_origin(&c, f, NULL);
cleanup:
    yaml_close(&in);
    if (rc == RECO_OK) {
        commit(cfg, scratch);
        origins_commit(cfg, origins, &ns);
    } else {
        discard(cfg, scratch);
        reco__free(&cfg->alloc, origins);
        sources_discard(cfg, &ns);
    }
    return rc;
}

/* ---- origins of options ----------------------------------------------------------------- */

int reco_config_get_origin(reco_config_origin *out, const reco_config *cfg, const char *path)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_config_get_origin: out is NULL");
    if (cfg == NULL)
        return reco__error_set(RECO_EINVAL, "reco_config_get_origin: cfg is NULL");
    if (path == NULL)
        return reco__error_set(RECO_EINVAL, "reco_config_get_origin: path is NULL");
    int rc = reco__check_version(out->version, RECO_CONFIG_ORIGIN_VERSION,
                                 "reco_config_origin");
    if (rc < 0)
        return rc;
    cfg_ctx c;
    memset(&c, 0, sizeof c);
    const reco__cfg_section *sec = NULL;
    reco__cfg_field section_field;
    const reco__cfg_field *f = NULL;
    rc = resolve_path(&c, path, &sec, &section_field, &f);
    if (rc < 0)
        return rc;
    const size_t i = leaf_index(f);
    if (f->type == RECO__CFG_MAP || i == SIZE_MAX) {
        char known[512];
        return fail_node(&c, NULL, "a mapping, not an option; name one of its options (%s)",
                         field_list(known, sizeof known, f->sub, f->n_sub));
    }
    const cfg_origin *o = &cfg->origins[i];
    out->kind = o->kind;
    out->source = o->text != NULL ? o->text : "";
    out->line = o->line;
    out->column = o->column;
    return RECO_OK;
}

/* ---- writing --------------------------------------------------------------------------- */

/* Counts everything and stores what fits, so one routine both sizes and fills. */
typedef struct sink {
    char *buf;
    size_t cap;
    size_t len;
} sink;

static void put(sink *s, const char *p, size_t n)
{
    if (s->buf != NULL && s->len + n <= s->cap)
        memcpy(s->buf + s->len, p, n);
    s->len += n;
}

static void puts_(sink *s, const char *p)
{
    put(s, p, strlen(p));
}

static void put_indent(sink *s, unsigned indent)
{
    for (unsigned i = 0; i < indent; i++)
        put(s, " ", 1);
}

/* Double-quoted YAML string. Escapes every character libyaml would not read back verbatim
 * from a double-quoted scalar: controls, line breaks (which it would fold), the BOM and
 * non-characters. Input is valid UTF-8 (checked on the way in). */
static void put_quoted(sink *s, const char *str)
{
    const unsigned char *p = (const unsigned char *)str;
    put(s, "\"", 1);
    while (*p != '\0') {
        unsigned char ch = *p;
        size_t n = ch < 0x80 ? 1 : ch < 0xE0 ? 2 : ch < 0xF0 ? 3 : 4;
        uint32_t cp = n == 1 ? ch : n == 2 ? (ch & 0x1Fu) : n == 3 ? (ch & 0x0Fu) : (ch & 0x07u);
        for (size_t k = 1; k < n; k++)
            cp = (cp << 6) | (p[k] & 0x3Fu);
        char esc[16];
        if (cp == '"')
            puts_(s, "\\\"");
        else if (cp == '\\')
            puts_(s, "\\\\");
        else if (cp == '\t')
            puts_(s, "\\t");
        else if (cp == '\n')
            puts_(s, "\\n");
        else if (cp == '\r')
            puts_(s, "\\r");
        else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
            snprintf(esc, sizeof esc, "\\x%02X", (unsigned)cp);
            puts_(s, esc);
        } else if (cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF) {
            snprintf(esc, sizeof esc, "\\u%04X", (unsigned)cp);
            puts_(s, esc);
        } else {
            put(s, (const char *)p, n);
        }
        p += n;
    }
    put(s, "\"", 1);
}

static void put_scalar(sink *s, const reco__cfg_field *f, reco__cfg_type type, const void *v)
{
    char tmp[64];
    switch (type) {
    case RECO__CFG_BOOL: puts_(s, *(const int *)v ? "true" : "false"); break;
    case RECO__CFG_U32:
        snprintf(tmp, sizeof tmp, "%" PRIu32, *(const uint32_t *)v);
        puts_(s, tmp);
        break;
    case RECO__CFG_U64:
        snprintf(tmp, sizeof tmp, "%" PRIu64, *(const uint64_t *)v);
        puts_(s, tmp);
        break;
    case RECO__CFG_F64:
        format_double(tmp, sizeof tmp, *(const double *)v);
        puts_(s, tmp);
        break;
    case RECO__CFG_F32:
        format_float(tmp, sizeof tmp, *(const float *)v);
        puts_(s, tmp);
        break;
    case RECO__CFG_ENUM: {
        int e = *(const int *)v;
        for (size_t i = 0; i < f->n_enums; i++) {
            if (f->enums[i].value == e) {
                puts_(s, f->enums[i].name);
                return;
            }
        }
        snprintf(tmp, sizeof tmp, "%d", e); /* not reached: values are validated */
        puts_(s, tmp);
        break;
    }
    case RECO__CFG_STRING: put_quoted(s, *(const char *const *)v); break;
    default: break;
    }
}

static void put_fields(sink *s, const unsigned char *vals, const reco__cfg_field *fields,
                       size_t n, unsigned indent)
{
    for (size_t i = 0; i < n; i++) {
        const reco__cfg_field *f = &fields[i];
        put_indent(s, indent);
        puts_(s, f->key);
        if (f->type == RECO__CFG_MAP) {
            puts_(s, ":\n");
            put_fields(s, vals, f->sub, f->n_sub, indent + 2);
            continue;
        }
        puts_(s, ": ");
        if (f->type == RECO__CFG_LIST) {
            uint32_t count = CMEMBER(vals, f->count_offset, uint32_t);
            size_t esz = scalar_size(f->elem);
            put(s, "[", 1);
            for (uint32_t k = 0; k < count; k++) {
                if (k > 0)
                    puts_(s, ", ");
                put_scalar(s, f, f->elem, vals + f->offset + k * esz);
            }
            put(s, "]", 1);
        } else {
            put_scalar(s, f, f->type, vals + f->offset);
        }
        put(s, "\n", 1);
    }
}

static void render(const reco_config *cfg, sink *s)
{
    for (size_t i = 0; i < reco__cfg_n_sections; i++) {
        const reco__cfg_section *sec = reco__cfg_sections[i];
        puts_(s, sec->name);
        puts_(s, ":\n");
        put_fields(s, cfg->values + section_offset(sec), sec->fields, sec->n_fields, 2);
    }
}

int reco_config_write_string(const reco_config *cfg, char *buf, size_t cap, size_t *len_out)
{
    if (cfg == NULL)
        return reco__error_set(RECO_EINVAL, "reco_config_write_string: cfg is NULL");
    if (buf == NULL && cap != 0)
        return reco__error_set(RECO_EINVAL, "reco_config_write_string: buf is NULL but cap "
                               "is %zu", cap);
    sink count = { NULL, 0, 0 };
    render(cfg, &count);
    if (len_out != NULL)
        *len_out = count.len;
    if (cap < count.len + 1)
        return reco__error_set(RECO_EINVAL, "reco_config_write_string: the buffer holds %zu "
                               "bytes; the configuration needs %zu (with the NUL)", cap,
                               count.len + 1);
    sink out = { buf, cap, 0 };
    render(cfg, &out);
    buf[out.len] = '\0';
    return RECO_OK;
}

int reco_config_write_file(const reco_config *cfg, const char *path)
{
    if (cfg == NULL)
        return reco__error_set(RECO_EINVAL, "reco_config_write_file: cfg is NULL");
    if (path == NULL)
        return reco__error_set(RECO_EINVAL, "reco_config_write_file: path is NULL");
    if (path[0] == '\0')
        return reco__error_set(RECO_EINVAL, "reco_config_write_file: path is empty");
    const reco_allocator *a = &cfg->alloc;
    sink count = { NULL, 0, 0 };
    render(cfg, &count);
    char *text = reco__alloc(a, count.len + 1, 1);
    if (text == NULL)
        return RECO_ENOMEM;
    sink out = { text, count.len + 1, 0 };
    render(cfg, &out);
    reco__atomic_file f;
    int rc = reco__atomic_open(&f, a, path);
    if (rc == RECO_OK)
        rc = reco__atomic_commit(&f, reco__write_all(f.fd, text, out.len),
                                 "cannot write the configuration");
    reco__free(a, text);
    return rc;
}

/* ---- generic per-section accessors (called from config_schema.c) ----------------------- */

int reco__config_options_init(void *opts, unsigned int version, const reco__cfg_section *sec,
                              const char *what)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "%s: opts is NULL", what);
    int rc = reco__check_version(version, sec->version, what);
    if (rc < 0)
        return rc;
    section_defaults(opts, sec, version);
    return RECO_OK;
}

static void copy_out(void *out, const unsigned char *src, const reco__cfg_field *f,
                     unsigned int version)
{
    if (f->since > version)
        return;
    switch (f->type) {
    case RECO__CFG_MAP:
        for (size_t i = 0; i < f->n_sub; i++)
            copy_out(out, src, &f->sub[i], version);
        break;
    case RECO__CFG_LIST:
        MEMBER(out, f->count_offset, uint32_t) = CMEMBER(src, f->count_offset, uint32_t);
        memcpy((unsigned char *)out + f->offset, src + f->offset,
               scalar_size(f->elem) * f->capacity);
        break;
    default:
        memcpy((unsigned char *)out + f->offset, src + f->offset, scalar_size(f->type));
        break;
    }
}

int reco__config_get_section(void *out, const reco_config *cfg, const reco__cfg_section *sec,
                             const char *what)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "%s: out is NULL", what);
    if (cfg == NULL)
        return reco__error_set(RECO_EINVAL, "%s: cfg is NULL", what);
    unsigned int version = CMEMBER(out, 0, unsigned int);
    int rc = reco__check_version(version, sec->version, what);
    if (rc < 0)
        return rc;
    const unsigned char *src = cfg->values + section_offset(sec);
    for (size_t i = 0; i < sec->n_fields; i++)
        copy_out(out, src, &sec->fields[i], version);
    return RECO_OK;
}

/* Validates one value of kind `type` read from a caller's struct and stores it at `dst`. */
static int import_value(cfg_ctx *c, const reco__cfg_field *f, reco__cfg_type type,
                        const void *src, void *dst)
{
    int rc = RECO_OK;
    switch (type) {
    case RECO__CFG_BOOL:
        /* C callers may pass any truth value; stored as 0/1 like a loaded boolean. */
        *(int *)dst = *(const int *)src != 0;
        break;
    case RECO__CFG_U32:
        rc = check_uint(c, NULL, f, *(const uint32_t *)src);
        if (rc == RECO_OK)
            *(uint32_t *)dst = *(const uint32_t *)src;
        break;
    case RECO__CFG_U64:
        rc = check_uint(c, NULL, f, *(const uint64_t *)src);
        if (rc == RECO_OK)
            *(uint64_t *)dst = *(const uint64_t *)src;
        break;
    case RECO__CFG_F64:
        rc = check_f64(c, NULL, f, *(const double *)src);
        if (rc == RECO_OK)
            *(double *)dst = *(const double *)src;
        break;
    case RECO__CFG_F32:
        rc = check_f64(c, NULL, f, (double)*(const float *)src);
        if (rc == RECO_OK)
            *(float *)dst = *(const float *)src;
        break;
    case RECO__CFG_ENUM:
        rc = check_enum(c, NULL, f, *(const int *)src);
        if (rc == RECO_OK)
            *(int *)dst = *(const int *)src;
        break;
    default:
        rc = fail_node(c, NULL, "internal error: unexpected option type %d", (int)type);
        break;
    }
    return rc;
}

/* Validates and stores one field of a caller's struct `in` (of options version `version`)
 * into the section being built, with the loader's checks and messages. Fields newer than the
 * caller's struct are not read and take their defaults. */
static int import_field(cfg_ctx *c, const void *in, const reco__cfg_field *f,
                        unsigned int version)
{
    if (f->since > version) {
        store_default(c->sec_vals, f, UINT_MAX);
        return RECO_OK;
    }
    size_t saved = path_push(c, f->key, strlen(f->key));
    int rc = RECO_OK;
    const unsigned char *src = (const unsigned char *)in + f->offset;
    unsigned char *dst = c->sec_vals + f->offset;
    if (f->type == RECO__CFG_MAP) {
        for (size_t i = 0; i < f->n_sub && rc == RECO_OK; i++)
            rc = import_field(c, in, &f->sub[i], version);
    } else if (f->type == RECO__CFG_LIST) {
        uint32_t count = CMEMBER(in, f->count_offset, uint32_t);
        size_t esz = scalar_size(f->elem);
        rc = check_count(c, NULL, f, count);
        if (rc == RECO_OK)
            memset(dst, 0, esz * f->capacity);
        for (uint32_t i = 0; i < count && rc == RECO_OK; i++) {
            size_t at = path_push_index(c, i);
            rc = import_value(c, f, f->elem, src + i * esz, dst + i * esz);
            path_pop(c, at);
        }
        if (rc == RECO_OK)
            MEMBER(c->sec_vals, f->count_offset, uint32_t) = count;
    } else if (f->type == RECO__CFG_STRING) {
        const char *str = CMEMBER(in, f->offset, const char *);
        if (str == NULL)
            rc = fail_node(c, NULL, "a value is required (a string, not NULL)");
        if (rc == RECO_OK)
            rc = check_string(c, NULL, f, str, strlen(str));
        if (rc == RECO_OK)
            rc = store_string(c, f, str, strlen(str));
    } else {
        rc = import_value(c, f, f->type, src, dst);
    }
    path_pop(c, saved);
    return rc;
}

/* Whether leaf `f` has the same value in the section values `a` and `b`. */
static int same_value(const reco__cfg_field *f, const unsigned char *a, const unsigned char *b)
{
    if (f->type == RECO__CFG_STRING) {
        const char *x = CMEMBER(a, f->offset, const char *);
        const char *y = CMEMBER(b, f->offset, const char *);
        return x == y || (x != NULL && y != NULL && strcmp(x, y) == 0);
    }
    if (f->type == RECO__CFG_LIST) {
        const uint32_t n = CMEMBER(a, f->count_offset, uint32_t);
        return n == CMEMBER(b, f->count_offset, uint32_t) &&
               memcmp(a + f->offset, b + f->offset, n * scalar_size(f->elem)) == 0;
    }
    return memcmp(a + f->offset, b + f->offset, scalar_size(f->type)) == 0;
}

/* Gives the leaves of `fields` (numbered from *at) whose value the struct setter `what`
 * changed (`now` against `before`, the section's values) its origin; a leaf it left as it
 * was keeps its origin, so that setting back what reco_config_get_<section>() gave marks
 * nothing as given. */
static void mark_given(cfg_origin *origins, size_t *at, const reco__cfg_field *fields,
                       size_t n, unsigned int version, const char *what,
                       const unsigned char *now, const unsigned char *before)
{
    for (size_t i = 0; i < n; i++) {
        const reco__cfg_field *f = &fields[i];
        if (f->type == RECO__CFG_MAP) {
            mark_given(origins, at, f->sub, f->n_sub, version, what, now, before);
            continue;
        }
        cfg_origin *o = &origins[(*at)++];
        if (same_value(f, now, before))
            continue;
        const int given = f->since <= version;
        o->kind = given ? RECO_CONFIG_ORIGIN_STRUCT : RECO_CONFIG_ORIGIN_DEFAULT;
        o->text = given ? what : NULL;
        o->line = o->column = 0;
    }
}

int reco__config_set_section(reco_config *cfg, const void *in, const reco__cfg_section *sec,
                             const char *what)
{
    if (cfg == NULL)
        return reco__error_set(RECO_EINVAL, "%s: cfg is NULL", what);
    if (in == NULL)
        return reco__error_set(RECO_EINVAL, "%s: in is NULL", what);
    unsigned int version = CMEMBER(in, 0, unsigned int);
    int rc = reco__check_version(version, sec->version, what);
    if (rc < 0)
        return rc;
    unsigned char *scratch = reco__alloc(&cfg->alloc, values_size(), 0);
    cfg_origin *origins = origins_new(&cfg->alloc, cfg->origins);
    if (scratch == NULL || origins == NULL) {
        reco__free(&cfg->alloc, scratch);
        reco__free(&cfg->alloc, origins);
        return RECO_ENOMEM;
    }
    memcpy(scratch, cfg->values, values_size());
    cfg_ctx c;
    memset(&c, 0, sizeof c);
    c.alloc = &cfg->alloc;
    enter_section(&c, scratch, cfg->values, sec);
    path_push(&c, sec->name, strlen(sec->name));
    for (size_t i = 0; i < sec->n_fields && rc == RECO_OK; i++)
        rc = import_field(&c, in, &sec->fields[i], version);
    if (rc == RECO_OK) {
        /* the values changed were given; fields past the caller's version took defaults */
        size_t at = first_leaf(sec);
        mark_given(origins, &at, sec->fields, sec->n_fields, version, what, c.sec_vals,
                   c.base_vals);
        commit(cfg, scratch);
        origins_commit(cfg, origins, NULL);
    } else {
        discard(cfg, scratch);
        reco__free(&cfg->alloc, origins);
    }
    return rc;
}
