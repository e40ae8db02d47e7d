/* reco_items: the item table (dense and categorical features per item), its CSV reader and
 * writer (on lib/csv.c's machinery, shared with the logs) and its binary file.
 *
 * Every call that changes the table builds the new arrays aside and swaps them in only on
 * success, so each public call is atomic.
 *
 * Binary format (lib/file.c container, magic "RECOITM1", format version 1):
 *   "shape"       u32[3]     n_items, n_dense, n_fields
 *   "dense_names" bytes      the dense names joined by '\n'
 *   "field_names" bytes      the field names joined by '\n'
 *   "field_sizes" u32[Kc]    values of each field
 *   "ids"         u32[K]     the known items, increasing
 *   "dense"       f32[K*Kd]  their dense values, row-major
 *   "fields"      i32[K*Kc]  their field values, row-major, -1 = unknown
 * Only known items are stored, so a table describing a few items of a large catalog stays
 * small. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_private.h"
#include "csv_private.h"
#include "error_private.h"
#include "file_private.h"
#include "reco/items.h"

static const char items_magic[8] = {'R', 'E', 'C', 'O', 'I', 'T', 'M', '1'};
#define ITEMS_FORMAT_VERSION 1u
#define NAME_CAP (RECO_ITEMS_NAME_MAX + 1)

_Static_assert(RECO_ITEMS_NAME_MAX == RECO__CSV_NAME_MAX, "one name rule for columns");

/* The values of a table; `known` is 1 for a known item. */
typedef struct items_data {
    float *dense;    /* (n_items, n_dense) or NULL */
    int32_t *fields; /* (n_items, n_fields) or NULL */
    uint8_t *known;  /* (n_items) */
    uint32_t n_known;
} items_data;

struct reco_items {
    reco_allocator alloc;
    uint32_t n_items, n_dense, n_fields;
    char (*dense_names)[NAME_CAP]; /* (n_dense) */
    char field_names[RECO_MODEL_MAX_ITEM_FIELDS][NAME_CAP];
    uint32_t field_sizes[RECO_MODEL_MAX_ITEM_FIELDS];
    items_data d;
    reco__csv_rejects rej;
    char *rej_source; /* file the rejections refer to */
};

/* ---- values ---------------------------------------------------------------------------- */

static void data_free(const reco_allocator *a, items_data *d)
{
    reco__free(a, d->dense);
    reco__free(a, d->fields);
    reco__free(a, d->known);
    memset(d, 0, sizeof *d);
}

/* Arrays for every item, all unknown. */
static int data_alloc(items_data *d, const reco_items *t)
{
    memset(d, 0, sizeof *d);
    const reco_allocator *a = &t->alloc;
    size_t nd = 0, nf = 0;
    if (reco__size_mul(&nd, t->n_items, (size_t)t->n_dense * sizeof(float)) < 0 ||
        reco__size_mul(&nf, t->n_items, (size_t)t->n_fields * sizeof(int32_t)) < 0)
        return RECO_ENOMEM;
    /* one at a time: after a failure, nothing more is asked (or touched) */
    if ((t->n_dense > 0 && (d->dense = reco__calloc(a, 1, nd)) == NULL) ||
        (t->n_fields > 0 && (d->fields = reco__alloc(a, nf, 0)) == NULL) ||
        (d->known = reco__calloc(a, t->n_items, 1)) == NULL) {
        data_free(a, d);
        return RECO_ENOMEM;
    }
    for (size_t i = 0; i < (size_t)t->n_items * t->n_fields; i++)
        d->fields[i] = -1;
    return RECO_OK;
}

/* Item i back to unknown. */
static void data_clear(items_data *d, const reco_items *t, size_t i)
{
    if (t->n_dense > 0)
        memset(d->dense + i * t->n_dense, 0, t->n_dense * sizeof(float));
    for (uint32_t k = 0; k < t->n_fields; k++)
        d->fields[i * t->n_fields + k] = -1;
}

static void install(reco_items *t, items_data *d)
{
    data_free(&t->alloc, &t->d);
    t->d = *d;
    memset(d, 0, sizeof *d);
}

static void set_rejects(reco_items *t, reco__csv_rejects *r, char *source)
{
    reco__csv_rejects_free(&t->alloc, &t->rej);
    reco__free(&t->alloc, t->rej_source);
    if (r != NULL) {
        t->rej = *r;
        memset(r, 0, sizeof *r);
    }
    t->rej_source = source;
}

/* ---- options and handle ---------------------------------------------------------------- */

int reco_items_options_init(reco_items_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_items_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_ITEMS_OPTIONS_VERSION, "reco_items_options");
    if (rc < 0)
        return rc;
    const reco_items_options d = RECO_ITEMS_OPTIONS_INIT;
    *opts = d;
    opts->version = version;
    return RECO_OK;
}

int reco_items_load_options_init(reco_items_load_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_items_load_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_ITEMS_LOAD_OPTIONS_VERSION,
                                 "reco_items_load_options");
    if (rc < 0)
        return rc;
    const reco_items_load_options d = RECO_ITEMS_LOAD_OPTIONS_INIT;
    *opts = d;
    opts->version = version;
    return RECO_OK;
}

/* Checks names[k] (k < n) of option `what`, NULL meaning `prefix` k; copies into out. */
static int take_names(char (*out)[NAME_CAP], const char *const *names, uint32_t n,
                      const char *prefix, const char *what)
{
    for (uint32_t k = 0; k < n; k++) {
        if (names == NULL) {
            snprintf(out[k], NAME_CAP, "%s%u", prefix, k);
            continue;
        }
        if (names[k] == NULL)
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, what, "reco_items_create: "
                                      "%s[%u] is NULL", what, k);
        if (!reco__csv_name_ok(names[k]))
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, what, "reco_items_create: "
                                      "%s[%u] \"%.80s\" is not a valid name (1..%d bytes of "
                                      "[A-Za-z0-9_], not starting with a digit)", what, k,
                                      names[k], RECO_ITEMS_NAME_MAX);
        memcpy(out[k], names[k], strlen(names[k]) + 1);
    }
    return RECO_OK;
}

typedef struct name_ref {
    const char *name, *what;
    uint32_t k;
} name_ref;

static int cmp_name_ref(const void *pa, const void *pb)
{
    const name_ref *a = pa, *b = pb;
    int r = strcmp(a->name, b->name);
    return r != 0 ? r : (a->k > b->k) - (a->k < b->k);
}

/* `item` and every name once. */
static int check_distinct(const reco_items *t)
{
    const size_t n = 1 + (size_t)t->n_dense + t->n_fields;
    name_ref *r = reco__alloc(&t->alloc, n * sizeof *r, 0);
    if (r == NULL)
        return RECO_ENOMEM;
    size_t w = 0;
    r[w++] = (name_ref){"item", "", 0};
    for (uint32_t k = 0; k < t->n_dense; k++)
        r[w++] = (name_ref){t->dense_names[k], "dense_names", k};
    for (uint32_t k = 0; k < t->n_fields; k++)
        r[w++] = (name_ref){t->field_names[k], "field_names", k};
    qsort(r, w, sizeof *r, cmp_name_ref);
    int rc = RECO_OK;
    for (size_t i = 1; i < w && rc == RECO_OK; i++) {
        if (strcmp(r[i - 1].name, r[i].name) != 0)
            continue;
        /* report the later of the two options (a field after a dense name, k order) */
        const name_ref *x = &r[i], *y = &r[i - 1];
        if (y->what[0] == 'f' && x->what[0] == 'd') {
            x = &r[i - 1];
            y = &r[i];
        }
        char other[64];
        if (y->what[0] == '\0')
            snprintf(other, sizeof other, "the item column");
        else
            snprintf(other, sizeof other, "%s[%u]", y->what, y->k);
        rc = reco__error_set_at(RECO_EINVAL, NULL, 0, 0, x->what, "reco_items_create: %s[%u] "
                                "\"%s\" is also the name of %s (every column needs its own "
                                "name)", x->what, x->k, x->name, other);
    }
    reco__free(&t->alloc, r);
    return rc;
}

void reco_items_free(reco_items *items)
{
    if (items == NULL)
        return;
    reco_allocator a = items->alloc;
    data_free(&a, &items->d);
    set_rejects(items, NULL, NULL);
    reco__free(&a, items->dense_names);
    reco__free(&a, items);
    reco__handle_release();
}

int reco_items_create(reco_items **out, const reco_items_options *opts)
{
    static const char fn[] = "reco_items_create";
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "%s: out is NULL", fn);
    *out = NULL;
    reco_items_options o = RECO_ITEMS_OPTIONS_INIT;
    if (opts != NULL) {
        int rc = reco__check_version(opts->version, RECO_ITEMS_OPTIONS_VERSION,
                                     "reco_items_options");
        if (rc < 0)
            return rc;
        o = *opts; /* version 1 is the whole struct */
    }
    if (o.n_items < 1 || o.n_items > (uint32_t)INT32_MAX)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "n_items", "%s: n_items %u is out "
                                  "of range [1, %d]", fn, o.n_items, INT32_MAX);
    if (o.n_dense > RECO_ITEMS_MAX_DENSE)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "n_dense", "%s: n_dense %u is out "
                                  "of range [0, %d]", fn, o.n_dense, RECO_ITEMS_MAX_DENSE);
    if (o.n_fields > RECO_MODEL_MAX_ITEM_FIELDS)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "n_fields", "%s: n_fields %u is out "
                                  "of range [0, %d]", fn, o.n_fields,
                                  RECO_MODEL_MAX_ITEM_FIELDS);
    if (o.n_fields > 0 && o.field_sizes == NULL)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "field_sizes", "%s: field_sizes is "
                                  "NULL, and there are %u fields", fn, o.n_fields);
    for (uint32_t k = 0; k < o.n_fields; k++)
        if (o.field_sizes[k] < 1 || o.field_sizes[k] > RECO_ITEMS_MAX_FIELD_SIZE)
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "field_sizes", "%s: "
                                      "field_sizes[%u] %u is out of range [1, %u]", fn, k,
                                      o.field_sizes[k], RECO_ITEMS_MAX_FIELD_SIZE);
    reco_allocator a;
    int rc = reco__allocator_resolve(&a, o.allocator);
    if (rc < 0)
        return rc;
    reco_items *t = reco__calloc(&a, 1, sizeof *t);
    if (t == NULL)
        return RECO_ENOMEM;
    t->alloc = a;
    t->n_items = o.n_items;
    t->n_dense = o.n_dense;
    t->n_fields = o.n_fields;
    reco__handle_acquire(); /* from here reco_items_free() undoes everything */
    if (o.n_dense > 0 && (t->dense_names = reco__calloc(&a, o.n_dense, NAME_CAP)) == NULL) {
        reco_items_free(t);
        return RECO_ENOMEM;
    }
    for (uint32_t k = 0; k < o.n_fields; k++)
        t->field_sizes[k] = o.field_sizes[k];
    if ((rc = take_names(t->dense_names, o.dense_names, o.n_dense, "d", "dense_names")) < 0 ||
        (rc = take_names(t->field_names, o.field_names, o.n_fields, "f", "field_names")) < 0 ||
        (rc = check_distinct(t)) < 0 || (rc = data_alloc(&t->d, t)) < 0) {
        reco_items_free(t);
        return rc;
    }
    *out = t;
    return RECO_OK;
}

void reco_items_reset(reco_items *items)
{
    if (items == NULL)
        return;
    items->d.n_known = 0;
    memset(items->d.known, 0, items->n_items);
    if (items->n_dense > 0)
        memset(items->d.dense, 0, (size_t)items->n_items * items->n_dense * sizeof(float));
    for (size_t i = 0; i < (size_t)items->n_items * items->n_fields; i++)
        items->d.fields[i] = -1;
    set_rejects(items, NULL, NULL);
}

/* ---- getters --------------------------------------------------------------------------- */

uint32_t reco_items_n_items(const reco_items *items)
{
    return items != NULL ? items->n_items : 0;
}

uint32_t reco_items_n_dense(const reco_items *items)
{
    return items != NULL ? items->n_dense : 0;
}

uint32_t reco_items_n_fields(const reco_items *items)
{
    return items != NULL ? items->n_fields : 0;
}

const char *reco_items_dense_name(const reco_items *items, uint32_t k)
{
    return items != NULL && k < items->n_dense ? items->dense_names[k] : NULL;
}

const char *reco_items_field_name(const reco_items *items, uint32_t k)
{
    return items != NULL && k < items->n_fields ? items->field_names[k] : NULL;
}

uint32_t reco_items_field_size(const reco_items *items, uint32_t k)
{
    return items != NULL && k < items->n_fields ? items->field_sizes[k] : 0;
}

const float *reco_items_dense(const reco_items *items)
{
    return items != NULL ? items->d.dense : NULL;
}

const int32_t *reco_items_fields(const reco_items *items)
{
    return items != NULL ? items->d.fields : NULL;
}

uint32_t reco_items_n_known(const reco_items *items)
{
    return items != NULL ? items->d.n_known : 0;
}

int reco_items_is_known(const reco_items *items, int32_t item)
{
    return items != NULL && item >= 0 && (uint32_t)item < items->n_items &&
           items->d.known[item] == 1;
}

uint64_t reco_items_n_rejected(const reco_items *items)
{
    return items != NULL ? items->rej.n_rows : 0;
}

size_t reco_items_n_rejections(const reco_items *items)
{
    return items != NULL ? items->rej.n : 0;
}

int reco_items_rejection(reco_error_info *out, const reco_items *items, size_t i)
{
    if (out == NULL || items == NULL)
        return reco__error_set(RECO_EINVAL, "reco_items_rejection: out and items must not be "
                               "NULL");
    return reco__csv_rejection_get(out, &items->rej, items->rej_source, i,
                                   "reco_items_rejection");
}

/* ---- setting one item ------------------------------------------------------------------- */

int reco_items_set(reco_items *items, int32_t item, const float *dense, const int32_t *fields)
{
    static const char fn[] = "reco_items_set";
    if (items == NULL)
        return reco__error_set(RECO_EINVAL, "%s: items is NULL", fn);
    if (item < 0 || (uint32_t)item >= items->n_items)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "item", "%s: item %d is out of "
                                  "range [0, %u]", fn, item, items->n_items - 1);
    for (uint32_t k = 0; dense != NULL && k < items->n_dense; k++)
        if (!isfinite(dense[k]))
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, items->dense_names[k], "%s: item "
                                      "%d: dense[%u] is %g, not a finite number", fn, item, k,
                                      (double)dense[k]);
    for (uint32_t k = 0; fields != NULL && k < items->n_fields; k++)
        if (fields[k] < -1 || (fields[k] >= 0 && (uint32_t)fields[k] >= items->field_sizes[k]))
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, items->field_names[k], "%s: item "
                                      "%d: fields[%u] %d is out of range [0, %u] (or -1 for "
                                      "unknown)", fn, item, k, fields[k],
                                      items->field_sizes[k] - 1);
    items_data *d = &items->d;
    const size_t i = (size_t)item;
    data_clear(d, items, i);
    if (dense != NULL && items->n_dense > 0)
        memcpy(d->dense + i * items->n_dense, dense, items->n_dense * sizeof(float));
    if (fields != NULL && items->n_fields > 0)
        memcpy(d->fields + i * items->n_fields, fields, items->n_fields * sizeof(int32_t));
    if (d->known[i] != 1) {
        d->known[i] = 1;
        d->n_known++;
    }
    return RECO_OK;
}

/* ---- CSV ------------------------------------------------------------------------------- */

enum { ABSENT = 0, KNOWN = 1, REJECTED = 2 }; /* states of an item during a load */

typedef struct load_ctx {
    reco__csv_reader rd;
    const reco_items *t;
    reco_items_load_options o;
    uint32_t n_columns;
    const char **names;    /* (n_columns) */
    size_t *starts, *lens; /* (n_columns + 1) */
    items_data d;          /* the new contents; known[] holds the states above */
    uint32_t *line_of;     /* (n_items) first line of each item, 0 = not seen */
    reco__csv_rejects rej;
} load_ctx;

static void load_free(load_ctx *c)
{
    const reco_allocator *a = &c->t->alloc;
    reco__csv_close(&c->rd);
    reco__free(a, c->names);
    reco__free(a, c->starts);
    reco__free(a, c->lens);
    reco__free(a, c->line_of);
    data_free(a, &c->d);
    reco__csv_rejects_free(a, &c->rej);
}

static uint32_t line32(uint64_t line)
{
    return line > UINT32_MAX ? UINT32_MAX : (uint32_t)line;
}

/* Parses one data line. Returns RECO_OK, or an error (recorded) with `*rows` the number of
 * lines it rejects (more than 1 when it makes an item a duplicate). */
static int parse_line(load_ctx *c, const char *line, size_t len, uint64_t *rows)
{
    const reco_items *t = c->t;
    *rows = 1;
    char ex[RECO__CSV_EXCERPT_CAP];
    int rc = reco__csv_split(&c->rd, line, len, c->starts, c->lens);
    if (rc < 0)
        return rc;
    const size_t *starts = c->starts, *lens = c->lens;
    uint64_t id;
    int r = reco__csv_parse_u64(&id, line, lens[0], (uint64_t)INT32_MAX);
    if (r == 1)
        return reco__csv_error(&c->rd, 1, "item", "%s is not a non-negative integer%s",
                               reco__csv_excerpt(ex, line, lens[0]),
                               reco__csv_space_hint(line, lens[0]));
    if (r == 2)
        return reco__csv_error(&c->rd, 1, "item", "%s is out of range [0, %d]",
                               reco__csv_excerpt(ex, line, lens[0]), INT32_MAX);
    if (id >= t->n_items)
        return reco__csv_error(&c->rd, 1, "item", "item %" PRIu64 " is out of range [0, %u] "
                               "(the table has %u items)", id, t->n_items - 1, t->n_items);
    const size_t i = (size_t)id;
    items_data *d = &c->d;
    if (c->line_of[i] != 0) {
        /* Which of the lines is right cannot be told: none is kept. */
        const int first_kept = d->known[i] == KNOWN;
        if (first_kept) {
            data_clear(d, t, i);
            d->known[i] = REJECTED;
            d->n_known--;
        }
        *rows = first_kept ? 2 : 1;
        return reco__csv_error(&c->rd, 1, "item", "item %" PRIu64 " appears twice (also at "
                               "line %u)%s", id, c->line_of[i],
                               c->o.lenient ? "; every line of the item is rejected" : "");
    }
    c->line_of[i] = line32(c->rd.line);
    d->known[i] = REJECTED; /* until the whole line is read */
    float *dense = t->n_dense > 0 ? d->dense + i * t->n_dense : NULL;
    int32_t *fields = t->n_fields > 0 ? d->fields + i * t->n_fields : NULL;
    uint32_t k = 1;
    for (uint32_t j = 0; j < t->n_dense; j++, k++) {
        const char *s = line + starts[k];
        const size_t n = lens[k];
        r = reco__csv_parse_f32(&dense[j], s, n);
        if (r != 0) {
            data_clear(d, t, i);
            return reco__csv_error(&c->rd, (uint32_t)starts[k] + 1, c->names[k], "%s %s%s",
                                   reco__csv_excerpt(ex, s, n), reco__csv_f32_problem(r),
                                   n == 0 ? " (dense features cannot be unknown)"
                                          : reco__csv_space_hint(s, n));
        }
    }
    for (uint32_t j = 0; j < t->n_fields; j++, k++) {
        const char *s = line + starts[k];
        const size_t n = lens[k];
        uint64_t v;
        if (n == 0) {
            fields[j] = -1;
            continue;
        }
        r = reco__csv_parse_u64(&v, s, n, UINT32_MAX);
        if (r == 0 && v >= t->field_sizes[j])
            r = 2;
        if (r != 0) {
            data_clear(d, t, i);
            if (r == 1) {
                const char *hint = reco__csv_space_hint(s, n);
                return reco__csv_error(&c->rd, (uint32_t)starts[k] + 1, c->names[k],
                                       "%s is not a non-negative integer%s",
                                       reco__csv_excerpt(ex, s, n),
                                       hint[0] != '\0' ? hint
                                                        : " (leave the field empty for unknown)");
            }
            return reco__csv_error(&c->rd, (uint32_t)starts[k] + 1, c->names[k],
                                   "value %s is out of range [0, %u] (the field has %u values)",
                                   reco__csv_excerpt(ex, s, n), t->field_sizes[j] - 1,
                                   t->field_sizes[j]);
        }
        fields[j] = (int32_t)v;
    }
    d->known[i] = KNOWN;
    d->n_known++;
    return RECO_OK;
}

int reco_items_load_csv(reco_items *items, const char *path, const reco_items_load_options *opts)
{
    static const char fn[] = "reco_items_load_csv";
    if (items == NULL || path == NULL)
        return reco__error_set(RECO_EINVAL, "%s: items and path must not be NULL", fn);
    if (path[0] == '\0')
        return reco__error_set(RECO_EINVAL, "%s: path is empty", fn);
    load_ctx c;
    memset(&c, 0, sizeof c);
    c.rd.fd = -1;
    c.t = items;
    const reco_items_load_options dflt = RECO_ITEMS_LOAD_OPTIONS_INIT;
    c.o = dflt;
    if (opts != NULL) {
        int rc = reco__check_version(opts->version, RECO_ITEMS_LOAD_OPTIONS_VERSION,
                                     "reco_items_load_options");
        if (rc < 0)
            return rc;
        c.o = *opts; /* version 1 is the whole struct */
    }
    const reco_allocator *a = &items->alloc;
    c.rej.cap = c.o.lenient ? c.o.max_rejections : 0;
    c.n_columns = 1 + items->n_dense + items->n_fields;
    char *source = NULL;
    int rc = RECO_ENOMEM;
    c.names = reco__alloc(a, c.n_columns * sizeof *c.names, 0);
    c.starts = reco__alloc(a, (c.n_columns + 1) * sizeof *c.starts, 0);
    c.lens = reco__alloc(a, (c.n_columns + 1) * sizeof *c.lens, 0);
    c.line_of = reco__calloc(a, items->n_items, sizeof *c.line_of);
    if (c.names == NULL || c.starts == NULL || c.lens == NULL || c.line_of == NULL ||
        (rc = data_alloc(&c.d, items)) < 0)
        goto done;
    c.names[0] = "item";
    for (uint32_t k = 0; k < items->n_dense; k++)
        c.names[1 + k] = items->dense_names[k];
    for (uint32_t k = 0; k < items->n_fields; k++)
        c.names[1 + items->n_dense + k] = items->field_names[k];
    if ((rc = reco__csv_open(&c.rd, a, path, reco__csv_max_line(c.n_columns))) < 0 ||
        (rc = reco__csv_read_header(&c.rd, c.names, c.n_columns)) < 0)
        goto done;
    for (;;) {
        const char *line;
        size_t len;
        int too_long;
        rc = reco__csv_next_line(&c.rd, &line, &len, &too_long);
        if (rc < 0)
            goto done;
        if (rc == 0)
            break;
        uint64_t rows = 1;
        if (too_long)
            rc = reco__csv_error(&c.rd, 1, "", "the line is longer than %zu bytes",
                                 c.rd.max_line);
        else
            rc = parse_line(&c, line, len, &rows);
        if (rc == RECO_ENOMEM)
            goto done;
        if (rc < 0) {
            if (!c.o.lenient)
                goto done;
            if ((rc = reco__csv_reject(a, &c.rej, rows)) < 0)
                goto done;
        }
    }
    for (uint32_t i = 0; i < items->n_items; i++)
        if (c.d.known[i] != KNOWN)
            c.d.known[i] = ABSENT;
    if (c.o.lenient && (source = reco__strdup(a, path)) == NULL) {
        rc = RECO_ENOMEM;
        goto done;
    }
    install(items, &c.d);
    set_rejects(items, &c.rej, source);
    reco_error_clear();
    rc = RECO_OK;
done:
    load_free(&c);
    return rc;
}

int reco_items_save_csv(const reco_items *items, const char *path)
{
    static const char fn[] = "reco_items_save_csv";
    if (items == NULL || path == NULL)
        return reco__error_set(RECO_EINVAL, "%s: items and path must not be NULL", fn);
    if (path[0] == '\0')
        return reco__error_set(RECO_EINVAL, "%s: path is empty", fn);
    reco__csv_writer o;
    int rc = reco__csv_writer_open(&o, &items->alloc, path);
    if (rc < 0)
        return rc;
    reco__csv_put(&o, "item", 4);
    for (uint32_t k = 0; k < items->n_dense; k++) {
        reco__csv_put(&o, ",", 1);
        reco__csv_put(&o, items->dense_names[k], strlen(items->dense_names[k]));
    }
    for (uint32_t k = 0; k < items->n_fields; k++) {
        reco__csv_put(&o, ",", 1);
        reco__csv_put(&o, items->field_names[k], strlen(items->field_names[k]));
    }
    reco__csv_put(&o, "\n", 1);
    const items_data *d = &items->d;
    for (size_t i = 0; i < items->n_items && o.err == 0; i++) {
        if (d->known[i] != KNOWN)
            continue;
        char *p = reco__csv_room(&o, 24);
        o.n += reco__csv_format_u64(p, i);
        for (uint32_t k = 0; k < items->n_dense; k++) {
            p = reco__csv_room(&o, RECO__CSV_F32_MAX + 1);
            p[0] = ',';
            o.n += 1 + reco__csv_format_f32(p + 1, d->dense[i * items->n_dense + k]);
        }
        for (uint32_t k = 0; k < items->n_fields; k++) {
            const int32_t v = d->fields[i * items->n_fields + k];
            p = reco__csv_room(&o, 16);
            p[0] = ',';
            o.n += 1 + (v >= 0 ? reco__csv_format_u64(p + 1, (uint64_t)v) : 0);
        }
        reco__csv_room(&o, 1)[0] = '\n';
        o.n++;
    }
    return reco__csv_writer_commit(&o, "cannot write the item table");
}

/* ---- binary files ---------------------------------------------------------------------- */

/* `n` names joined by '\n' into `buf` (room for n * NAME_CAP + 1); returns the length. */
static size_t join_names(char *buf, const char (*names)[NAME_CAP], uint32_t n)
{
    size_t w = 0;
    for (uint32_t k = 0; k < n; k++) {
        const size_t len = strlen(names[k]);
        if (k > 0)
            buf[w++] = '\n';
        memcpy(buf + w, names[k], len);
        w += len;
    }
    buf[w] = '\0';
    return w;
}

int reco_items_save(const reco_items *items, const char *path)
{
    static const char fn[] = "reco_items_save";
    if (items == NULL || path == NULL)
        return reco__error_set(RECO_EINVAL, "%s: items and path must not be NULL", fn);
    const reco_allocator *a = &items->alloc;
    const items_data *d = &items->d;
    const uint32_t K = d->n_known, Kd = items->n_dense, Kc = items->n_fields;
    uint32_t *ids = reco__alloc(a, ((size_t)K + 1) * sizeof *ids, 0);
    char *dn = reco__alloc(a, (size_t)Kd * NAME_CAP + 1, 1);
    char fnames[RECO_MODEL_MAX_ITEM_FIELDS * NAME_CAP + 1];
    reco__writer *w = NULL;
    int rc = RECO_ENOMEM;
    if (ids == NULL || dn == NULL)
        goto done;
    uint32_t k = 0;
    for (uint32_t i = 0; i < items->n_items; i++)
        if (d->known[i] == KNOWN)
            ids[k++] = i;
    const size_t dn_len = Kd > 0 ? join_names(dn, (const char (*)[NAME_CAP])items->dense_names,
                                              Kd)
                                 : 0;
    const size_t fn_len = join_names(fnames, (const char (*)[NAME_CAP])items->field_names, Kc);
    const uint32_t shape[3] = {items->n_items, Kd, Kc};
    if ((rc = reco__writer_open(&w, a, path, items_magic, ITEMS_FORMAT_VERSION)) < 0)
        goto done;
    if ((rc = reco__writer_section(w, "shape", RECO__FILE_U32, shape, 3)) < 0 ||
        (rc = reco__writer_section(w, "dense_names", RECO__FILE_BYTES, dn, dn_len)) < 0 ||
        (rc = reco__writer_section(w, "field_names", RECO__FILE_BYTES, fnames, fn_len)) < 0 ||
        (rc = reco__writer_section(w, "field_sizes", RECO__FILE_U32, items->field_sizes, Kc)) <
            0 ||
        (rc = reco__writer_section(w, "ids", RECO__FILE_U32, ids, K)) < 0)
        goto abort;
    /* the known items' rows, in pieces: they are not contiguous in the table */
    if ((rc = reco__writer_section_begin(w, "dense", RECO__FILE_F32, (uint64_t)K * Kd)) < 0)
        goto abort;
    for (uint32_t j = 0; j < K && Kd > 0; j++)
        if ((rc = reco__writer_section_append(w, d->dense + (size_t)ids[j] * Kd, Kd)) < 0)
            goto abort;
    if ((rc = reco__writer_section_end(w)) < 0 ||
        (rc = reco__writer_section_begin(w, "fields", RECO__FILE_I32, (uint64_t)K * Kc)) < 0)
        goto abort;
    for (uint32_t j = 0; j < K && Kc > 0; j++)
        if ((rc = reco__writer_section_append(w, d->fields + (size_t)ids[j] * Kc, Kc)) < 0)
            goto abort;
    if ((rc = reco__writer_section_end(w)) < 0)
        goto abort;
    rc = reco__writer_commit(w);
    goto done;
abort:
    reco__writer_abort(w);
done:
    reco__free(a, ids);
    reco__free(a, dn);
    return rc;
}


int reco_items_load(reco_items *items, const char *path)
{
    static const char fn[] = "reco_items_load";
    if (items == NULL || path == NULL)
        return reco__error_set(RECO_EINVAL, "%s: items and path must not be NULL", fn);
    const reco_allocator *a = &items->alloc;
    const uint32_t Kd = items->n_dense, Kc = items->n_fields;
    reco__reader *rd = NULL;
    int rc = reco__reader_open(&rd, a, path, items_magic, 1, ITEMS_FORMAT_VERSION, NULL);
    if (rc < 0)
        return rc;
    const size_t dn_cap = (size_t)Kd * NAME_CAP + 1;
    char *dn = reco__alloc(a, dn_cap, 1), *dn_want = reco__alloc(a, dn_cap, 1);
    char fnames[RECO_MODEL_MAX_ITEM_FIELDS * NAME_CAP + 1];
    char fn_want[RECO_MODEL_MAX_ITEM_FIELDS * NAME_CAP + 1];
    uint32_t *ids = NULL;
    float *dense = NULL;
    int32_t *fields = NULL;
    items_data d;
    memset(&d, 0, sizeof d);
    uint32_t shape[3], sizes[RECO_MODEL_MAX_ITEM_FIELDS];
    uint64_t n;
    if (dn == NULL || dn_want == NULL) {
        rc = RECO_ENOMEM;
        goto done;
    }
    if ((rc = reco__reader_section_count(&n, rd, path, "shape", RECO__FILE_U32)) < 0)
        goto done;
    if (n != 3) {
        rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, NULL, "section \"shape\" has %llu "
                                "values, expected 3", (unsigned long long)n);
        goto done;
    }
    if ((rc = reco__reader_section(rd, "shape", RECO__FILE_U32, shape, 3)) < 0)
        goto done;
    static const char *const shape_names[3] = {"n_items", "n_dense", "n_fields"};
    const uint32_t want[3] = {items->n_items, Kd, Kc};
    for (int k = 0; k < 3; k++)
        if (shape[k] != want[k]) {
            rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, shape_names[k], "the file's %s "
                                    "is %u, the table's is %u", shape_names[k], shape[k],
                                    want[k]);
            goto done;
        }
    if (Kd > 0)
        join_names(dn_want, (const char (*)[NAME_CAP])items->dense_names, Kd);
    else
        dn_want[0] = '\0';
    join_names(fn_want, (const char (*)[NAME_CAP])items->field_names, Kc);
    if ((rc = reco__reader_check_names(rd, path, "dense_names", dn, dn_cap, dn_want,
                                       "dense_names", "table", "dense_names")) < 0 ||
        (rc = reco__reader_check_names(rd, path, "field_names", fnames, sizeof fnames, fn_want,
                                       "field_names", "table", "field_names")) < 0)
        goto done;
    if ((rc = reco__reader_section_count(&n, rd, path, "field_sizes", RECO__FILE_U32)) < 0)
        goto done;
    if (n != Kc) {
        rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, "field_sizes", "section "
                                "\"field_sizes\" has %llu values, expected %u",
                                (unsigned long long)n, Kc);
        goto done;
    }
    if ((rc = reco__reader_section(rd, "field_sizes", RECO__FILE_U32, sizes, Kc)) < 0)
        goto done;
    for (uint32_t k = 0; k < Kc; k++)
        if (sizes[k] != items->field_sizes[k]) {
            rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, "field_sizes", "the file's field "
                                    "\"%s\" has %u values, the table's has %u",
                                    items->field_names[k], sizes[k], items->field_sizes[k]);
            goto done;
        }
    uint64_t K, nd, nf;
    if ((rc = reco__reader_section_count(&K, rd, path, "ids", RECO__FILE_U32)) < 0 ||
        (rc = reco__reader_section_count(&nd, rd, path, "dense", RECO__FILE_F32)) < 0 ||
        (rc = reco__reader_section_count(&nf, rd, path, "fields", RECO__FILE_I32)) < 0)
        goto done;
    if (K > items->n_items || nd != K * Kd || nf != K * Kc) {
        rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, NULL, "section sizes disagree: %llu "
                                "items, %llu dense values, %llu field values",
                                (unsigned long long)K, (unsigned long long)nd,
                                (unsigned long long)nf);
        goto done;
    }
    ids = reco__alloc(a, (K + 1) * sizeof *ids, 0);
    dense = reco__alloc(a, (nd + 1) * sizeof *dense, 0);
    fields = reco__alloc(a, (nf + 1) * sizeof *fields, 0);
    if (ids == NULL || dense == NULL || fields == NULL || (rc = data_alloc(&d, items)) < 0) {
        rc = RECO_ENOMEM;
        goto done;
    }
    if ((rc = reco__reader_section(rd, "ids", RECO__FILE_U32, ids, K)) < 0 ||
        (rc = reco__reader_section(rd, "dense", RECO__FILE_F32, dense, nd)) < 0 ||
        (rc = reco__reader_section(rd, "fields", RECO__FILE_I32, fields, nf)) < 0)
        goto done;
    for (uint64_t j = 0; j < K; j++) {
        const uint32_t id = ids[j];
        if (id >= items->n_items || (j > 0 && id <= ids[j - 1])) {
            rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, "item", "entry %llu: item %u is "
                                    "out of range or out of order", (unsigned long long)j, id);
            goto done;
        }
        for (uint32_t k = 0; k < Kd; k++)
            if (!isfinite(dense[j * Kd + k])) {
                rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, items->dense_names[k], "item "
                                        "%u: %g is not a finite number", id,
                                        (double)dense[j * Kd + k]);
                goto done;
            }
        for (uint32_t k = 0; k < Kc; k++) {
            const int32_t v = fields[j * Kc + k];
            if (v < -1 || (v >= 0 && (uint32_t)v >= items->field_sizes[k])) {
                rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, items->field_names[k], "item "
                                        "%u: value %d is out of range [0, %u] (or -1)", id, v,
                                        items->field_sizes[k] - 1);
                goto done;
            }
        }
        if (Kd > 0)
            memcpy(d.dense + (size_t)id * Kd, dense + j * Kd, Kd * sizeof(float));
        if (Kc > 0)
            memcpy(d.fields + (size_t)id * Kc, fields + j * Kc, Kc * sizeof(int32_t));
        d.known[id] = KNOWN;
    }
    d.n_known = (uint32_t)K;
    install(items, &d);
    set_rejects(items, NULL, NULL);
    rc = RECO_OK;
done:
    reco__reader_close(rd);
    data_free(a, &d);
    reco__free(a, dn);
    reco__free(a, dn_want);
    reco__free(a, ids);
    reco__free(a, dense);
    reco__free(a, fields);
    return rc;
}
