/* reco_log: the handle, canonical ordering and validation of sessions (reco__log_build),
 * appending, splitting by user, and the binary file format. CSV is in log_csv.c, generation
 * from an env in log_generate.c.
 *
 * Binary format (lib/file.c container, magic "RECOLOG1"), columnar. Format version 1 (0.1):
 *   "signals"   bytes    the signal names joined by '\n'
 *   "s_user"    u64[S]   user of each session, canonical order
 *   "s_session" u64[S]   session id
 *   "s_length"  u32[S]   steps of each session (>= 1); they sum to R
 *   "r_time"    i64[R]   timestamp of each row, canonical order
 *   "r_item"    i32[R]   item
 *   "r_flags"   u32[R]   feedback bits | exit << 31
 * Format version 2 (0.2) adds the optional columns; it is written only for a log that has
 * some, so that 0.1 still reads the others:
 *   "columns"   u32[3]   user_dim U, propensity (0/1), oracle (0/1): always present
 *   "u_names"   bytes    the U user feature names joined by '\n' (when U > 0)
 *   "r_user"    f32[R*U] user features, row-major (when U > 0)
 *   "r_prop"    f32[R]   propensities, NaN = unknown (with propensity)
 *   "r_oracle"  f32[R*(F+1)] oracle probabilities, row-major (with oracle)
 * Format version 3 (0.2) adds the candidates; it is written only for a log that has them:
 *   "columns"   u32[4]   as in version 2, then max_candidates Cmax (>= 1)
 *   "r_ncand"   u32[R]   candidates per row, 0 = unknown
 *   "r_cand"    i32[R*Cmax] the candidates, row-major, RECO_PAD past a row's count
 * Steps are implicit (0..length-1), so a file cannot hold a gap or a duplicate step; the
 * reader still checks everything else (values, exit only on a last step, distinct sessions,
 * canonical order) because a well-checksummed file may still have been written by someone
 * else. About 16 bytes per row and 20 per session, plus 4 per optional value. */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_private.h"
#include "error_private.h"
#include "file_private.h"
#include "log_private.h"

static const char log_magic[8] = {'R', 'E', 'C', 'O', 'L', 'O', 'G', '1'};
#define LOG_FORMAT_VERSION 3u
#define EXIT_FLAG 0x80000000u

static const char *const default_names[RECO_N_SIGNALS_DEFAULT] = {"click", "long_watch", "like",
                                                                  "hide"};
static const char *const fixed_columns[] = {"user", "session", "step", "timestamp", "item",
                                            "exit"};

/* ---- versions of the public structs ------------------------------------------------------ */

/* Version 1 of reco_log_row and reco_log_columns, as 0.1 declared them: the bytes a
 * version-1 caller owns (an array of version-1 rows has this stride). */
typedef struct row_v1 {
    unsigned int version;
    uint64_t user, session;
    uint32_t step;
    int64_t timestamp;
    int32_t item;
    uint32_t feedback;
    int exit;
} row_v1;

_Static_assert(offsetof(reco_log_row, user_features) == sizeof(row_v1),
               "version 2 of reco_log_row starts where version 1 ends");
_Static_assert(offsetof(reco_log_columns, propensity) == 9 * sizeof(void *),
               "version 2 of reco_log_columns starts where version 1 ends");
_Static_assert(offsetof(reco_log_options, user_dim) == 4 * sizeof(void *),
               "version 2 of reco_log_options starts where version 1 ends");

static size_t options_size(unsigned int version)
{
    return version >= 3   ? sizeof(reco_log_options)
           : version >= 2 ? offsetof(reco_log_options, max_candidates)
                          : offsetof(reco_log_options, user_dim);
}

static size_t row_size(unsigned int version)
{
    return version >= 3 ? sizeof(reco_log_row)
           : version >= 2 ? offsetof(reco_log_row, n_candidates) : sizeof(row_v1);
}

/* ---- options --------------------------------------------------------------------------- */

int reco_log_options_init(reco_log_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_log_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_LOG_OPTIONS_VERSION, "reco_log_options");
    if (rc < 0)
        return rc;
    const reco_log_options d = RECO_LOG_OPTIONS_INIT;
    memcpy(opts, &d, options_size(version));
    opts->version = version;
    return RECO_OK;
}

int reco_log_load_options_init(reco_log_load_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_log_load_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_LOG_LOAD_OPTIONS_VERSION,
                                 "reco_log_load_options");
    if (rc < 0)
        return rc;
    const reco_log_load_options d = RECO_LOG_LOAD_OPTIONS_INIT;
    *opts = d;
    opts->version = version;
    return RECO_OK;
}

int reco__log_load_options(reco_log_load_options *o, const reco_log_load_options *in,
                           const char *fn)
{
    const reco_log_load_options d = RECO_LOG_LOAD_OPTIONS_INIT;
    *o = d;
    if (in == NULL)
        return RECO_OK;
    int rc = reco__check_version(in->version, RECO_LOG_LOAD_OPTIONS_VERSION,
                                 "reco_log_load_options");
    if (rc < 0)
        return rc;
    *o = *in; /* version 1 is the whole struct */
    o->lenient = o->lenient != 0;
    if (o->n_items > (uint32_t)INT32_MAX)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "n_items",
                                  "%s: n_items %u exceeds %d", fn, o->n_items, INT32_MAX);
    return RECO_OK;
}

_Static_assert(RECO_LOG_SIGNAL_NAME_MAX == RECO__CSV_NAME_MAX, "one name rule for columns");

/* ---- columns --------------------------------------------------------------------------- */

void reco__log_cols_layout(reco__log_cols *c, const reco_log *log)
{
    c->U = log->user_dim;
    c->has_prop = log->has_prop;
    c->n_oracle = log->has_oracle ? log->n_signals + 1 : 0;
    c->Cmax = log->max_cand;
}

int reco__log_has_extras(const reco_log *log)
{
    return log->user_dim > 0 || log->has_prop || log->has_oracle || log->max_cand > 0;
}

int reco__log_cols_reserve(const reco_allocator *a, reco__log_cols *c, size_t cap)
{
    if (cap <= c->cap)
        return RECO_OK;
    size_t uf_bytes = 0, or_bytes = 0, cd_bytes = 0;
    if (cap > SIZE_MAX / 64 || reco__size_mul(&uf_bytes, cap, (size_t)c->U * sizeof(float)) < 0 ||
        reco__size_mul(&or_bytes, cap, (size_t)c->n_oracle * sizeof(float)) < 0 ||
        reco__size_mul(&cd_bytes, cap, (size_t)c->Cmax * sizeof(int32_t)) < 0)
        return reco__error_set(RECO_ENOMEM, "reco_log: %zu rows do not fit in memory", cap);
    reco__log_cols n = *c;
    n.user = reco__alloc(a, cap * sizeof(uint64_t), 0);
    n.session = reco__alloc(a, cap * sizeof(uint64_t), 0);
    n.step = reco__alloc(a, cap * sizeof(uint32_t), 0);
    n.ts = reco__alloc(a, cap * sizeof(int64_t), 0);
    n.item = reco__alloc(a, cap * sizeof(int32_t), 0);
    n.fb = reco__alloc(a, cap * sizeof(uint32_t), 0);
    n.exit = reco__alloc(a, cap, 0);
    n.prop = c->has_prop ? reco__alloc(a, cap * sizeof(float), 0) : NULL;
    n.uf = c->U > 0 ? reco__alloc(a, uf_bytes, 0) : NULL;
    n.oracle = c->n_oracle > 0 ? reco__alloc(a, or_bytes, 0) : NULL;
    n.ncand = c->Cmax > 0 ? reco__alloc(a, cap * sizeof(uint32_t), 0) : NULL;
    n.cand = c->Cmax > 0 ? reco__alloc(a, cd_bytes, 0) : NULL;
    if (!n.user || !n.session || !n.step || !n.ts || !n.item || !n.fb || !n.exit ||
        (c->has_prop && !n.prop) || (c->U > 0 && !n.uf) || (c->n_oracle > 0 && !n.oracle) ||
        (c->Cmax > 0 && (!n.ncand || !n.cand))) {
        n.cap = 0;
        reco__log_cols_free(a, &n);
        return RECO_ENOMEM;
    }
    n.cap = cap;
    n.n = 0;
    reco__log_cols_copy(&n, 0, c, 0, c->n);
    n.n = c->n;
    reco__log_cols_free(a, c);
    *c = n;
    return RECO_OK;
}

void reco__log_cols_free(const reco_allocator *a, reco__log_cols *c)
{
    reco__free(a, c->user);
    reco__free(a, c->session);
    reco__free(a, c->step);
    reco__free(a, c->ts);
    reco__free(a, c->item);
    reco__free(a, c->fb);
    reco__free(a, c->exit);
    reco__free(a, c->prop);
    reco__free(a, c->uf);
    reco__free(a, c->oracle);
    reco__free(a, c->ncand);
    reco__free(a, c->cand);
    /* the layout stays: it belongs to the log, not to the storage */
    const uint32_t U = c->U, n_oracle = c->n_oracle, Cmax = c->Cmax;
    const int has_prop = c->has_prop;
    memset(c, 0, sizeof *c);
    c->Cmax = Cmax;
    c->U = U;
    c->n_oracle = n_oracle;
    c->has_prop = has_prop;
}

void reco__log_cols_copy(reco__log_cols *dst, size_t w, const reco__log_cols *src, size_t r,
                         size_t count)
{
    if (count == 0)
        return;
    memcpy(dst->user + w, src->user + r, count * sizeof(uint64_t));
    memcpy(dst->session + w, src->session + r, count * sizeof(uint64_t));
    memcpy(dst->step + w, src->step + r, count * sizeof(uint32_t));
    memcpy(dst->ts + w, src->ts + r, count * sizeof(int64_t));
    memcpy(dst->item + w, src->item + r, count * sizeof(int32_t));
    memcpy(dst->fb + w, src->fb + r, count * sizeof(uint32_t));
    memcpy(dst->exit + w, src->exit + r, count);
    if (src->has_prop)
        memcpy(dst->prop + w, src->prop + r, count * sizeof(float));
    if (src->U > 0)
        memcpy(dst->uf + w * src->U, src->uf + r * src->U, count * src->U * sizeof(float));
    if (src->n_oracle > 0)
        memcpy(dst->oracle + w * src->n_oracle, src->oracle + r * src->n_oracle,
               count * src->n_oracle * sizeof(float));
    if (src->Cmax > 0) {
        memcpy(dst->ncand + w, src->ncand + r, count * sizeof(uint32_t));
        memcpy(dst->cand + w * src->Cmax, src->cand + r * src->Cmax,
               count * src->Cmax * sizeof(int32_t));
    }
}

/* Grows to hold at least `need` rows, doubling. */
static int cols_grow(const reco_allocator *a, reco__log_cols *c, size_t need)
{
    if (need <= c->cap)
        return RECO_OK;
    size_t cap = c->cap < 1024 ? 1024 : c->cap;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    return reco__log_cols_reserve(a, c, cap);
}

/* ---- rejections ------------------------------------------------------------------------ */

void reco__log_set_rejects(reco_log *log, reco__csv_rejects *r, char *source)
{
    reco__csv_rejects_free(&log->alloc, &log->rej);
    reco__free(&log->alloc, log->rej_source);
    if (r != NULL) {
        log->rej = *r;
        memset(r, 0, sizeof *r);
    }
    log->rej_source = source;
}

/* ---- handle ---------------------------------------------------------------------------- */

/* One column name and where it comes from, for the duplicate check. */
typedef struct column_origin {
    const char *name;
    const char *what;  /* "signal_names", "user_feature_names", "" (a column of the log) */
    uint32_t index;
} column_origin;

static int cmp_origin(const void *pa, const void *pb)
{
    const column_origin *a = pa, *b = pb;
    int r = strcmp(a->name, b->name);
    return r != 0 ? r : (a->index > b->index) - (a->index < b->index);
}

static void describe_origin(char *buf, size_t cap, const column_origin *o)
{
    if (o->what[0] == 's' || o->what[0] == 'u')
        snprintf(buf, cap, "%s[%u]", o->what, o->index);
    else
        snprintf(buf, cap, "the %s column", o->name);
}

/* Every column of the log once: fixed, signals, exit, propensity, oracle, user features. */
static int check_columns_distinct(const reco_log *log, const reco_allocator *a)
{
    const size_t n = 6 + log->n_signals + 1 + (log->has_oracle ? log->n_signals + 1 : 0) +
                     log->user_dim + 1;
    column_origin *o = reco__alloc(a, n * sizeof *o, 0);
    if (o == NULL)
        return RECO_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < sizeof fixed_columns / sizeof fixed_columns[0]; i++)
        o[k++] = (column_origin){fixed_columns[i], "", (uint32_t)i};
    for (uint32_t f = 0; f < log->n_signals; f++)
        o[k++] = (column_origin){log->names[f], "signal_names", f};
    if (log->has_prop)
        o[k++] = (column_origin){"propensity", "", 100};
    if (log->max_cand > 0)
        o[k++] = (column_origin){"candidates", "", 150};
    if (log->has_oracle)
        for (uint32_t f = 0; f <= log->n_signals; f++)
            o[k++] = (column_origin){log->oracle_names[f], "", 200 + f};
    for (uint32_t j = 0; j < log->user_dim; j++)
        o[k++] = (column_origin){log->uf_names[j], "user_feature_names", j};
    qsort(o, k, sizeof *o, cmp_origin);
    int rc = RECO_OK;
    for (size_t i = 1; i < k && rc == RECO_OK; i++) {
        if (strcmp(o[i - 1].name, o[i].name) != 0)
            continue;
        /* name the caller's entry: a user feature, else a signal */
        const column_origin *x = &o[i - 1], *y = &o[i];
        if (y->what[0] == 'u' || (y->what[0] == 's' && x->what[0] != 'u')) {
            const column_origin *t = x;
            x = y;
            y = t;
        }
        char dx[96], dy[96];
        describe_origin(dx, sizeof dx, x);
        describe_origin(dy, sizeof dy, y);
        rc = reco__error_set_at(RECO_EINVAL, NULL, 0, 0,
                                x->what[0] != '\0' ? x->what : "signal_names",
                                "reco_log_create: %s \"%s\" is also the name of %s (every "
                                "column needs its own name)", dx, x->name, dy);
    }
    reco__free(a, o);
    return rc;
}

int reco_log_create(reco_log **out, const reco_log_options *opts)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_log_create: out is NULL");
    *out = NULL;
    reco_log_options o = RECO_LOG_OPTIONS_INIT;
    if (opts != NULL) {
        int rc = reco__check_version(opts->version, RECO_LOG_OPTIONS_VERSION, "reco_log_options");
        if (rc < 0)
            return rc;
        /* a version-1 struct ends before the optional columns: they keep their defaults */
        memcpy(&o, opts, options_size(opts->version));
    }
    if (o.n_signals < 1 || o.n_signals > RECO_LOG_MAX_SIGNALS)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "n_signals",
                                  "reco_log_create: n_signals %u is out of range [1, %d]",
                                  o.n_signals, RECO_LOG_MAX_SIGNALS);
    if (o.user_dim > RECO_LOG_MAX_USER_DIM)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "user_dim",
                                  "reco_log_create: user_dim %u is out of range [0, %d]",
                                  o.user_dim, RECO_LOG_MAX_USER_DIM);
    if (o.max_candidates > RECO_LOG_MAX_CANDIDATES)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "max_candidates",
                                  "reco_log_create: max_candidates %u is out of range [0, %d]",
                                  o.max_candidates, RECO_LOG_MAX_CANDIDATES);
    char names[RECO_LOG_MAX_SIGNALS][RECO_LOG_SIGNAL_NAME_MAX + 1];
    for (uint32_t f = 0; f < o.n_signals; f++) {
        const char *nm = NULL;
        if (o.signal_names != NULL) {
            nm = o.signal_names[f];
            if (nm == NULL)
                return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "signal_names",
                                          "reco_log_create: signal_names[%u] is NULL", f);
            if (!reco__csv_name_ok(nm))
                return reco__error_set_at(
                    RECO_EINVAL, NULL, 0, 0, "signal_names",
                    "reco_log_create: signal_names[%u] \"%.80s\" is not a valid name (1..%d "
                    "bytes of [A-Za-z0-9_], not starting with a digit)",
                    f, nm, RECO_LOG_SIGNAL_NAME_MAX);
            snprintf(names[f], sizeof names[f], "%s", nm);
        } else if (f < RECO_N_SIGNALS_DEFAULT) {
            snprintf(names[f], sizeof names[f], "%s", default_names[f]);
        } else {
            snprintf(names[f], sizeof names[f], "signal%u", f);
        }
        for (size_t k = 0; k < sizeof fixed_columns / sizeof fixed_columns[0]; k++)
            if (strcmp(names[f], fixed_columns[k]) == 0)
                return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "signal_names",
                                          "reco_log_create: signal name \"%s\" is a fixed "
                                          "column's name", names[f]);
        for (uint32_t g = 0; g < f; g++)
            if (strcmp(names[f], names[g]) == 0)
                return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "signal_names",
                                          "reco_log_create: signal name \"%s\" appears twice",
                                          names[f]);
    }
    if (o.user_dim > 0 && o.user_feature_names != NULL)
        for (uint32_t j = 0; j < o.user_dim; j++) {
            const char *nm = o.user_feature_names[j];
            if (nm == NULL)
                return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "user_feature_names",
                                          "reco_log_create: user_feature_names[%u] is NULL", j);
            if (!reco__csv_name_ok(nm))
                return reco__error_set_at(
                    RECO_EINVAL, NULL, 0, 0, "user_feature_names",
                    "reco_log_create: user_feature_names[%u] \"%.80s\" is not a valid name "
                    "(1..%d bytes of [A-Za-z0-9_], not starting with a digit)",
                    j, nm, RECO_LOG_SIGNAL_NAME_MAX);
        }
    reco_allocator a;
    int rc = reco__allocator_resolve(&a, o.allocator);
    if (rc < 0)
        return rc;
    reco_log *log = reco__calloc(&a, 1, sizeof *log);
    if (log == NULL)
        return RECO_ENOMEM;
    log->alloc = a;
    log->n_signals = o.n_signals;
    memcpy(log->names, names, sizeof names);
    log->user_dim = o.user_dim;
    log->has_prop = o.propensity != 0;
    log->has_oracle = o.oracle != 0;
    log->max_cand = o.max_candidates;
    for (uint32_t f = 0; f <= o.n_signals; f++) {
        const char *nm = f < o.n_signals ? names[f] : "exit";
        const size_t len = strlen(nm); /* <= RECO_LOG_SIGNAL_NAME_MAX */
        memcpy(log->oracle_names[f], "p_", 2);
        memcpy(log->oracle_names[f] + 2, nm, len + 1);
    }
    if (o.user_dim > 0) {
        log->uf_names = reco__calloc(&a, o.user_dim, sizeof *log->uf_names);
        if (log->uf_names == NULL) {
            reco__free(&a, log);
            return RECO_ENOMEM;
        }
        for (uint32_t j = 0; j < o.user_dim; j++) {
            if (o.user_feature_names != NULL)
                snprintf(log->uf_names[j], sizeof log->uf_names[j], "%s",
                         o.user_feature_names[j]);
            else
                snprintf(log->uf_names[j], sizeof log->uf_names[j], "u%u", j);
        }
    }
    if ((rc = check_columns_distinct(log, &a)) < 0) {
        reco__free(&a, log->uf_names);
        reco__free(&a, log);
        return rc;
    }
    reco__log_cols_layout(&log->rows, log);
    reco__handle_acquire();
    *out = log;
    return RECO_OK;
}

static void free_index(reco_log *log)
{
    reco__free(&log->alloc, log->sess_first);
    reco__free(&log->alloc, log->sess_len);
    log->sess_first = NULL;
    log->sess_len = NULL;
    log->n_sessions = log->sess_cap = 0;
    log->n_users = 0;
}

void reco_log_reset(reco_log *log)
{
    if (log == NULL)
        return;
    reco__log_cols_free(&log->alloc, &log->rows);
    free_index(log);
    reco__log_set_rejects(log, NULL, NULL);
}

void reco_log_free(reco_log *log)
{
    if (log == NULL)
        return;
    reco_log_reset(log);
    reco_allocator a = log->alloc;
    reco__free(&a, log->uf_names);
    reco__free(&a, log);
    reco__handle_release();
}

/* A new empty log with the columns and allocator of `log`. */
static int create_like(reco_log **out, const reco_log *log)
{
    const char *names[RECO_LOG_MAX_SIGNALS];
    for (uint32_t f = 0; f < log->n_signals; f++)
        names[f] = log->names[f];
    const char **uf = NULL;
    if (log->user_dim > 0) {
        uf = reco__alloc(&log->alloc, log->user_dim * sizeof *uf, 0);
        if (uf == NULL)
            return RECO_ENOMEM;
        for (uint32_t j = 0; j < log->user_dim; j++)
            uf[j] = log->uf_names[j];
    }
    reco_log_options o = RECO_LOG_OPTIONS_INIT;
    o.allocator = &log->alloc;
    o.n_signals = log->n_signals;
    o.signal_names = names;
    o.user_dim = log->user_dim;
    o.user_feature_names = uf;
    o.propensity = log->has_prop;
    o.oracle = log->has_oracle;
    o.max_candidates = log->max_cand;
    int rc = reco_log_create(out, &o);
    reco__free(&log->alloc, uf);
    return rc;
}

/* ---- getters --------------------------------------------------------------------------- */

uint32_t reco_log_n_signals(const reco_log *log)
{
    return log != NULL ? log->n_signals : 0;
}

const char *reco_log_signal_name(const reco_log *log, uint32_t f)
{
    if (log == NULL || f >= log->n_signals)
        return NULL;
    return log->names[f];
}

uint32_t reco_log_user_dim(const reco_log *log)
{
    return log != NULL ? log->user_dim : 0;
}

const char *reco_log_user_feature_name(const reco_log *log, uint32_t k)
{
    if (log == NULL || k >= log->user_dim)
        return NULL;
    return log->uf_names[k];
}

int reco_log_has_propensity(const reco_log *log)
{
    return log != NULL && log->has_prop;
}

int reco_log_has_oracle(const reco_log *log)
{
    return log != NULL && log->has_oracle;
}

size_t reco_log_n_rows(const reco_log *log)
{
    return log != NULL ? log->rows.n : 0;
}

size_t reco_log_n_sessions(const reco_log *log)
{
    return log != NULL ? log->n_sessions : 0;
}

size_t reco_log_n_users(const reco_log *log)
{
    return log != NULL ? log->n_users : 0;
}

int reco_log_session(size_t *first_row_out, size_t *n_steps_out, const reco_log *log, size_t i)
{
    if (log == NULL)
        return reco__error_set(RECO_EINVAL, "reco_log_session: log is NULL");
    if (i >= log->n_sessions)
        return reco__error_set(RECO_EINVAL, "reco_log_session: session %zu is out of range "
                               "(the log has %zu)", i, log->n_sessions);
    if (first_row_out != NULL)
        *first_row_out = (size_t)log->sess_first[i];
    if (n_steps_out != NULL)
        *n_steps_out = log->sess_len[i];
    return RECO_OK;
}

int reco_log_get_row(reco_log_row *out, const reco_log *log, size_t i)
{
    if (out == NULL || log == NULL)
        return reco__error_set(RECO_EINVAL, "reco_log_get_row: out and log must not be NULL");
    int rc = reco__check_version(out->version, RECO_LOG_ROW_VERSION, "reco_log_row");
    if (rc < 0)
        return rc;
    if (i >= log->rows.n)
        return reco__error_set(RECO_EINVAL, "reco_log_get_row: row %zu is out of range (the "
                               "log has %zu)", i, log->rows.n);
    const reco__log_cols *c = &log->rows;
    out->user = c->user[i];
    out->session = c->session[i];
    out->step = c->step[i];
    out->timestamp = c->ts[i];
    out->item = c->item[i];
    out->feedback = c->fb[i];
    out->exit = c->exit[i];
    if (out->version < 2)
        return RECO_OK; /* a version-1 struct ends here */
    out->user_features = c->U > 0 ? c->uf + i * c->U : NULL;
    out->propensity = c->has_prop ? c->prop[i] : NAN;
    for (uint32_t k = 0; k <= RECO_LOG_MAX_SIGNALS; k++)
        out->oracle[k] = k < c->n_oracle ? c->oracle[i * c->n_oracle + k] : NAN;
    if (out->version < 3)
        return RECO_OK;
    out->n_candidates = c->Cmax > 0 ? c->ncand[i] : 0;
    out->candidates = out->n_candidates > 0 ? c->cand + i * c->Cmax : NULL;
    return RECO_OK;
}

int reco_log_get_columns(reco_log_columns *out, const reco_log *log)
{
    if (out == NULL || log == NULL)
        return reco__error_set(RECO_EINVAL, "reco_log_get_columns: out and log must not be NULL");
    int rc = reco__check_version(out->version, RECO_LOG_COLUMNS_VERSION, "reco_log_columns");
    if (rc < 0)
        return rc;
    const reco__log_cols *c = &log->rows;
    out->n_rows = c->n;
    out->users = c->user;
    out->sessions = c->session;
    out->steps = c->step;
    out->timestamps = c->ts;
    out->items = c->item;
    out->feedback = c->fb;
    out->exits = c->exit;
    if (out->version < 2)
        return RECO_OK; /* a version-1 struct ends here */
    out->propensity = c->has_prop ? c->prop : NULL;
    out->user_features = c->U > 0 ? c->uf : NULL;
    out->oracle = c->n_oracle > 0 ? c->oracle : NULL;
    if (out->version < 3)
        return RECO_OK;
    out->max_candidates = c->Cmax;
    out->candidate_counts = c->Cmax > 0 ? c->ncand : NULL;
    out->candidates = c->Cmax > 0 ? c->cand : NULL;
    return RECO_OK;
}

uint64_t reco_log_n_rejected(const reco_log *log)
{
    return log != NULL ? log->rej.n_rows : 0;
}

size_t reco_log_n_rejections(const reco_log *log)
{
    return log != NULL ? log->rej.n : 0;
}

int reco_log_rejection(reco_error_info *out, const reco_log *log, size_t i)
{
    if (out == NULL || log == NULL)
        return reco__error_set(RECO_EINVAL, "reco_log_rejection: out and log must not be NULL");
    return reco__csv_rejection_get(out, &log->rej, log->rej_source, i, "reco_log_rejection");
}

/* ---- sorting --------------------------------------------------------------------------- */

typedef int (*cmp_fn)(const void *ctx, uint64_t a, uint64_t b);

/* Stable bottom-up merge sort of `idx` (n entries) with `tmp` as scratch (n entries). */
static void merge_sort(uint64_t *idx, uint64_t *tmp, size_t n, cmp_fn cmp, const void *ctx)
{
    uint64_t *src = idx, *dst = tmp;
    /* Runs of 16 by insertion sort first: fewer passes. */
    const size_t run = 16;
    for (size_t lo = 0; lo < n; lo += run) {
        size_t hi = lo + run < n ? lo + run : n;
        for (size_t i = lo + 1; i < hi; i++) {
            uint64_t v = src[i];
            size_t j = i;
            while (j > lo && cmp(ctx, src[j - 1], v) > 0) {
                src[j] = src[j - 1];
                j--;
            }
            src[j] = v;
        }
    }
    for (size_t width = run; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = cmp(ctx, src[j], src[i]) < 0 ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != idx)
        memcpy(idx, src, n * sizeof *idx);
}

#define CMP(x, y) ((x) < (y) ? -1 : (x) > (y) ? 1 : 0)

/* (user, session, step) of rows. */
static int cmp_usp(const void *ctx, uint64_t a, uint64_t b)
{
    const reco__log_cols *c = ctx;
    int r = CMP(c->user[a], c->user[b]);
    if (r == 0)
        r = CMP(c->session[a], c->session[b]);
    if (r == 0)
        r = CMP(c->step[a], c->step[b]);
    return r;
}

typedef struct sess_key {
    const reco__log_cols *c;
    const uint64_t *first; /* row of each session's step 0 */
} sess_key;

/* (user, start time, session) of sessions. */
static int cmp_sess(const void *ctx, uint64_t a, uint64_t b)
{
    const sess_key *k = ctx;
    const uint64_t ra = k->first[a], rb = k->first[b];
    int r = CMP(k->c->user[ra], k->c->user[rb]);
    if (r == 0)
        r = CMP(k->c->ts[ra], k->c->ts[rb]);
    if (r == 0)
        r = CMP(k->c->session[ra], k->c->session[rb]);
    return r;
}

/* ---- building the canonical order ------------------------------------------------------ */

enum { BAD_MISSING = 1, BAD_DUP, BAD_EXIT, BAD_TAINTED };

typedef struct bad_session {
    uint64_t key;     /* line (file) or row index: the order of reports */
    uint32_t kind;
    uint32_t k;       /* the missing/duplicate/exit step */
    uint64_t r;       /* the row at fault */
    uint64_t other;   /* first occurrence of a duplicate; the rejected line when tainted */
    uint64_t g;       /* start of the group in perm */
    uint32_t len;     /* rows of the session */
    uint32_t last;    /* last step present */
} bad_session;

static int cmp_bad(const void *ctx, uint64_t a, uint64_t b)
{
    const bad_session *s = ctx;
    return CMP(s[a].key, s[b].key);
}

static uint64_t row_key(const reco__log_locator *loc, uint64_t r)
{
    return loc->line != NULL ? loc->line[r] : r;
}

/* " (also at line 12)" / " (also at rows[3])" / " (also in the log)". */
static void describe_row(char *buf, size_t cap, const reco__log_locator *loc, uint64_t r)
{
    if (loc->line != NULL)
        snprintf(buf, cap, "line %llu", (unsigned long long)loc->line[r]);
    else if (loc->source != NULL)
        snprintf(buf, cap, "row %llu", (unsigned long long)r);
    else if (r >= loc->call_base)
        snprintf(buf, cap, "rows[%llu]", (unsigned long long)(r - loc->call_base));
    else
        snprintf(buf, cap, "a row already in the log");
}

/* Records the error of `b` with its location; returns loc->code. `lenient` adds how many
 * rows go with the session. */
static int bad_error(const reco__log_locator *loc, const reco__log_cols *in, const bad_session *b,
                     int lenient)
{
    const uint64_t r = b->r;
    const char *field = b->kind == BAD_EXIT ? "exit" : b->kind == BAD_TAINTED ? "session" : "step";
    char what[256], other[64], suffix[96] = "";
    switch (b->kind) {
    case BAD_MISSING:
        if (b->k == 0)
            snprintf(what, sizeof what, "step 0 is missing (the session starts at step %u)",
                     in->step[r]);
        else
            snprintf(what, sizeof what, "step %u is missing (the session jumps from step %u to "
                     "step %u)", b->k, b->k - 1, in->step[r]);
        break;
    case BAD_DUP:
        describe_row(other, sizeof other, loc, b->other);
        snprintf(what, sizeof what, "step %u appears twice (also at %s)", b->k, other);
        break;
    case BAD_EXIT:
        snprintf(what, sizeof what, "exit is 1 at step %u, but the session continues to step %u",
                 b->k, b->last);
        break;
    default:
        snprintf(what, sizeof what, "its row on line %llu was rejected",
                 (unsigned long long)b->other);
        break;
    }
    if (lenient)
        snprintf(suffix, sizeof suffix, "; the session's %u row%s rejected", b->len,
                 b->len == 1 ? " is" : "s are");
    const unsigned long long u = (unsigned long long)in->user[r];
    const unsigned long long s = (unsigned long long)in->session[r];
    if (loc->line != NULL) {
        uint32_t col = 0;
        if (b->kind == BAD_EXIT && loc->col_exit != NULL)
            col = loc->col_exit[r];
        else if (b->kind != BAD_TAINTED && loc->col_step != NULL)
            col = loc->col_step[r];
        else
            col = 1;
        uint64_t line = loc->line[r];
        return reco__error_set_at(loc->code, loc->source,
                                  line > UINT32_MAX ? UINT32_MAX : (uint32_t)line, col, field,
                                  "user %llu, session %llu: %s%s", u, s, what, suffix);
    }
    if (loc->source != NULL)
        return reco__error_set_at(loc->code, loc->source, 0, 0, field,
                                  "row %llu: user %llu, session %llu: %s",
                                  (unsigned long long)r, u, s, what);
    char at[64];
    describe_row(at, sizeof at, loc, r);
    return reco__error_set_at(loc->code, NULL, 0, 0, field, "%s: %s: user %llu, session %llu: %s",
                              loc->fn, at, u, s, what);
}

/* Binary search of (user, session) in sorted pairs. */
static int64_t find_pair(const uint64_t *pairs, size_t n, uint64_t user, uint64_t session)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t mu = pairs[2 * mid], ms = pairs[2 * mid + 1];
        if (mu < user || (mu == user && ms < session))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && pairs[2 * lo] == user && pairs[2 * lo + 1] == session)
        return (int64_t)lo;
    return -1;
}

/* The optional columns of row r of `in` into row w of `out` (same layout). */
static void copy_extras(reco__log_cols *out, size_t w, const reco__log_cols *in, size_t r)
{
    if (in->Cmax > 0) {
        out->ncand[w] = in->ncand[r];
        memcpy(out->cand + w * in->Cmax, in->cand + r * in->Cmax, in->Cmax * sizeof(int32_t));
    }
    if (in->has_prop)
        out->prop[w] = in->prop[r];
    if (in->U > 0)
        memcpy(out->uf + w * in->U, in->uf + r * in->U, in->U * sizeof(float));
    if (in->n_oracle > 0)
        memcpy(out->oracle + w * in->n_oracle, in->oracle + r * in->n_oracle,
               in->n_oracle * sizeof(float));
}

void reco__log_built_free(const reco_allocator *a, reco__log_built *b)
{
    reco__log_cols_free(a, &b->rows);
    reco__free(a, b->sess_first);
    reco__free(a, b->sess_len);
    memset(b, 0, sizeof *b);
}

int reco__log_build(reco__log_built *out, const reco_allocator *a, const reco__log_cols *in,
                    const reco__log_locator *loc, reco__csv_rejects *rej,
                    const uint64_t *tainted, const uint64_t *tainted_line, size_t n_tainted)
{
    memset(out, 0, sizeof *out);
    const size_t n = in->n;
    uint64_t *perm = reco__alloc(a, (n + 1) * sizeof(uint64_t), 0);
    uint64_t *tmp = reco__alloc(a, (n + 1) * sizeof(uint64_t), 0);
    uint64_t *g_start = reco__alloc(a, (n + 1) * sizeof(uint64_t), 0);
    uint32_t *g_len = reco__alloc(a, (n + 1) * sizeof(uint32_t), 0);
    uint64_t *s_first = reco__alloc(a, (n + 1) * sizeof(uint64_t), 0);
    bad_session *bad = NULL;
    size_t n_bad = 0, bad_cap = 0;
    int rc = RECO_ENOMEM;
    if (!perm || !tmp || !g_start || !g_len || !s_first)
        goto done;

    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    int sorted = 1;
    for (size_t i = 1; i < n && sorted; i++)
        sorted = cmp_usp(in, i - 1, i) < 0;
    if (!sorted)
        merge_sort(perm, tmp, n, cmp_usp, in);

    /* Groups of equal (user, session); the good ones become sessions. */
    size_t n_good = 0;
    for (size_t g = 0; g < n;) {
        const uint64_t r0 = perm[g];
        size_t e = g + 1;
        while (e < n && in->user[perm[e]] == in->user[r0] && in->session[perm[e]] == in->session[r0])
            e++;
        const size_t len = e - g;
        bad_session b;
        memset(&b, 0, sizeof b);
        b.g = g;
        b.len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
        b.last = in->step[perm[e - 1]];
        int64_t t = n_tainted > 0 ? find_pair(tainted, n_tainted, in->user[r0], in->session[r0])
                                  : -1;
        if (t >= 0) {
            b.kind = BAD_TAINTED;
            b.other = tainted_line[t];
            b.key = tainted_line[t];
            b.r = r0;
            for (size_t k = g; k < e; k++) /* the session's first line */
                if (row_key(loc, perm[k]) < row_key(loc, b.r))
                    b.r = perm[k];
        }
        for (size_t k = 0; k < len && b.kind == 0; k++) {
            const uint64_t r = perm[g + k];
            if (in->step[r] == k)
                continue;
            if (in->step[r] < k) {
                b.kind = BAD_DUP;
                b.other = perm[g + k - 1];
            } else {
                b.kind = BAD_MISSING;
            }
            b.k = (uint32_t)k - (b.kind == BAD_DUP);
            b.r = r;
            b.key = row_key(loc, r);
        }
        for (size_t k = 0; k + 1 < len && b.kind == 0; k++) {
            const uint64_t r = perm[g + k];
            if (in->exit[r]) {
                b.kind = BAD_EXIT;
                b.k = (uint32_t)k;
                b.r = r;
                b.key = row_key(loc, r);
            }
        }
        if (b.kind != 0) {
            if (n_bad == bad_cap) {
                size_t cap = bad_cap ? 2 * bad_cap : 16;
                bad_session *nb = reco__alloc(a, cap * sizeof *nb, 0);
                if (nb == NULL)
                    goto done;
                if (n_bad)
                    memcpy(nb, bad, n_bad * sizeof *nb);
                reco__free(a, bad);
                bad = nb;
                bad_cap = cap;
            }
            bad[n_bad++] = b;
        } else {
            g_start[n_good] = g;
            g_len[n_good] = (uint32_t)len;
            s_first[n_good] = r0;
            n_good++;
        }
        g = e;
    }

    if (n_bad > 0) {
        /* Report in file (or row) order: tmp and perm-sized scratch are free to reuse only for
         * the indices of the bad sessions, which are fewer than n. */
        uint64_t *order = reco__alloc(a, n_bad * 2 * sizeof(uint64_t), 0);
        if (order == NULL)
            goto done;
        for (size_t i = 0; i < n_bad; i++)
            order[i] = i;
        merge_sort(order, order + n_bad, n_bad, cmp_bad, bad);
        if (rej == NULL) {
            rc = bad_error(loc, in, &bad[order[0]], 0);
            reco__free(a, order);
            goto done;
        }
        for (size_t i = 0; i < n_bad; i++) {
            bad_error(loc, in, &bad[order[i]], 1);
            if ((rc = reco__csv_reject(a, rej, bad[order[i]].len)) < 0) {
                reco__free(a, order);
                goto done;
            }
        }
        reco__free(a, order);
    }

    /* Sessions into canonical order. */
    uint64_t *sorder = tmp; /* n_good <= n entries; perm keeps the groups */
    uint64_t *sscratch = reco__alloc(a, (n_good + 1) * sizeof(uint64_t), 0);
    if (sscratch == NULL) {
        rc = RECO_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n_good; i++)
        sorder[i] = i;
    sess_key sk = {in, s_first};
    int s_sorted = 1;
    for (size_t i = 1; i < n_good && s_sorted; i++)
        s_sorted = cmp_sess(&sk, i - 1, i) < 0;
    if (!s_sorted)
        merge_sort(sorder, sscratch, n_good, cmp_sess, &sk);
    reco__free(a, sscratch);

    size_t m = 0;
    for (size_t i = 0; i < n_good; i++)
        m += g_len[i];
    reco__log_built *b = out;
    b->rows.U = in->U;
    b->rows.has_prop = in->has_prop;
    b->rows.n_oracle = in->n_oracle;
    b->rows.Cmax = in->Cmax;
    if ((rc = reco__log_cols_reserve(a, &b->rows, m + 1)) < 0)
        goto done;
    b->sess_first = reco__alloc(a, (n_good + 1) * sizeof(uint64_t), 0);
    b->sess_len = reco__alloc(a, (n_good + 1) * sizeof(uint32_t), 0);
    if (b->sess_first == NULL || b->sess_len == NULL) {
        rc = RECO_ENOMEM;
        goto done;
    }
    size_t w = 0;
    int reordered = 0;
    const int extras = in->U > 0 || in->has_prop || in->n_oracle > 0 || in->Cmax > 0;
    for (size_t i = 0; i < n_good; i++) {
        const uint64_t s = sorder[i];
        if (i == 0 || in->user[s_first[s]] != in->user[s_first[sorder[i - 1]]])
            b->n_users++;
        b->sess_first[i] = w;
        b->sess_len[i] = g_len[s];
        for (uint32_t k = 0; k < g_len[s]; k++, w++) {
            const uint64_t r = perm[g_start[s] + k];
            reordered |= r != w;
            b->rows.user[w] = in->user[r];
            b->rows.session[w] = in->session[r];
            b->rows.step[w] = in->step[r];
            b->rows.ts[w] = in->ts[r];
            b->rows.item[w] = in->item[r];
            b->rows.fb[w] = in->fb[r];
            b->rows.exit[w] = in->exit[r];
            if (extras)
                copy_extras(&b->rows, w, in, r);
        }
    }
    b->rows.n = m;
    b->n_sessions = n_good;
    b->reordered = reordered || m != n;
    rc = RECO_OK;
done:
    if (rc < 0)
        reco__log_built_free(a, out);
    reco__free(a, perm);
    reco__free(a, tmp);
    reco__free(a, g_start);
    reco__free(a, g_len);
    reco__free(a, s_first);
    reco__free(a, bad);
    return rc;
}

void reco__log_install(reco_log *log, reco__log_built *b)
{
    assert(b->rows.U == log->user_dim && b->rows.has_prop == log->has_prop &&
           b->rows.n_oracle == (log->has_oracle ? log->n_signals + 1 : 0));
    reco__log_cols_free(&log->alloc, &log->rows);
    free_index(log);
    log->rows = b->rows;
    log->n_sessions = b->n_sessions;
    log->sess_cap = b->n_sessions + 1;
    log->sess_first = b->sess_first;
    log->sess_len = b->sess_len;
    log->n_users = b->n_users;
    memset(b, 0, sizeof *b);
}

/* ---- appending ------------------------------------------------------------------------- */

/* Row i of an array whose elements are `stride` bytes (the size of rows[0]'s version). */
static const reco_log_row *row_at(const reco_log_row *rows, size_t stride, size_t i)
{
    return (const reco_log_row *)(const void *)((const char *)rows + i * stride);
}

static int check_row(const reco_log *log, const reco_log_row *row, size_t i, unsigned int v0)
{
    static const char fn[] = "reco_log_append";
    int rc = reco__check_version(row->version, RECO_LOG_ROW_VERSION, "reco_log_row");
    if (rc < 0)
        return rc;
    if (row->version != v0)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "version", "%s: rows[%zu]: version "
                                  "%u differs from rows[0]'s version %u (an array holds rows of "
                                  "one version)", fn, i, row->version, v0);
    if (row->item < 0)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "item", "%s: rows[%zu]: item %d is "
                                  "negative", fn, i, row->item);
    if (log->n_signals < 32 && (row->feedback >> log->n_signals) != 0)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "feedback", "%s: rows[%zu]: "
                                  "feedback 0x%x has bits at or above n_signals %u", fn, i,
                                  row->feedback, log->n_signals);
    if (row->exit != 0 && row->exit != 1)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "exit", "%s: rows[%zu]: exit %d is "
                                  "not 0 or 1", fn, i, row->exit);
    const uint32_t U = log->user_dim;
    if (row->version < 2) {
        if (U > 0)
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "user_features", "%s: rows[%zu] "
                                      "is a version-1 reco_log_row, which has no user features, "
                                      "and the log has %u (user_dim)", fn, i, U);
        return RECO_OK;
    }
    if (U > 0 && row->user_features == NULL)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "user_features", "%s: rows[%zu]: "
                                  "user_features is NULL, and the log has %u user features", fn,
                                  i, U);
    if (U == 0 && row->user_features != NULL)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "user_features", "%s: rows[%zu]: "
                                  "user_features given, but the log has none (user_dim 0)", fn,
                                  i);
    for (uint32_t k = 0; k < U; k++)
        if (!isfinite(row->user_features[k]))
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "user_features", "%s: rows[%zu]: "
                                      "user_features[%u] (\"%s\") is %g, not a finite number",
                                      fn, i, k, log->uf_names[k], (double)row->user_features[k]);
    const float p = row->propensity;
    if (!log->has_prop && !isnan(p))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "propensity", "%s: rows[%zu]: "
                                  "propensity %g given, but the log has no propensity column "
                                  "(leave it NaN)", fn, i, (double)p);
    if (log->has_prop && !isnan(p) && !(p > 0.0f && p <= 1.0f))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "propensity", "%s: rows[%zu]: "
                                  "propensity %g is not in (0, 1] (NaN: unknown)", fn, i,
                                  (double)p);
    const uint32_t n_or = log->has_oracle ? log->n_signals + 1 : 0;
    for (uint32_t k = 0; k <= RECO_LOG_MAX_SIGNALS; k++) {
        const float q = row->oracle[k];
        if (isnan(q))
            continue;
        if (k >= n_or)
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "oracle", "%s: rows[%zu]: "
                                      "oracle[%u] is %g, but %s (leave it NaN)", fn, i, k,
                                      (double)q, n_or == 0 ? "the log has no oracle columns"
                                      : "the log's oracle ends at oracle[F], the exit");
        if (!(q >= 0.0f && q <= 1.0f))
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "oracle", "%s: rows[%zu]: "
                                      "oracle[%u] (\"%s\") %g is not in [0, 1] (NaN: unknown)",
                                      fn, i, k, log->oracle_names[k], (double)q);
    }
    if (row->version < 3)
        return RECO_OK;
    const uint32_t nc = row->n_candidates;
    if (nc > 0 && log->max_cand == 0)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "candidates", "%s: rows[%zu]: %u "
                                  "candidates given, but the log has no candidates column "
                                  "(max_candidates 0)", fn, i, nc);
    if (nc > log->max_cand)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "candidates", "%s: rows[%zu]: %u "
                                  "candidates exceed the log's max_candidates %u", fn, i, nc,
                                  log->max_cand);
    if (nc > 0 && row->candidates == NULL)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "candidates", "%s: rows[%zu]: "
                                  "n_candidates is %u, but candidates is NULL", fn, i, nc);
    int seen = nc == 0;
    for (uint32_t j = 0; j < nc; j++) {
        if (row->candidates[j] < 0)
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "candidates", "%s: rows[%zu]: "
                                      "candidate %u is %d, negative", fn, i, j,
                                      row->candidates[j]);
        seen |= row->candidates[j] == row->item;
    }
    if (!seen)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "candidates", "%s: rows[%zu]: item "
                                  "%d is not among its %u candidates", fn, i, row->item, nc);
    return RECO_OK;
}

/* Row `r` (checked) into row w of `c`, the log's layout. */
static void put_row(reco__log_cols *c, size_t w, const reco_log_row *r)
{
    c->user[w] = r->user;
    c->session[w] = r->session;
    c->step[w] = r->step;
    c->ts[w] = r->timestamp;
    c->item[w] = r->item;
    c->fb[w] = r->feedback;
    c->exit[w] = (uint8_t)r->exit;
    const int v2 = r->version >= 2;
    if (c->has_prop)
        c->prop[w] = v2 ? r->propensity : NAN;
    if (c->U > 0) /* checked: only version-2 rows reach a log with user features */
        memcpy(c->uf + w * c->U, r->user_features, c->U * sizeof(float));
    for (uint32_t k = 0; k < c->n_oracle; k++)
        c->oracle[w * c->n_oracle + k] = v2 ? r->oracle[k] : NAN;
    if (c->Cmax > 0) {
        const uint32_t nc = r->version >= 3 ? r->n_candidates : 0; /* checked: <= Cmax */
        c->ncand[w] = nc;
        for (uint32_t j = 0; j < c->Cmax; j++)
            c->cand[w * c->Cmax + j] = j < nc ? r->candidates[j] : RECO_PAD;
    }
}

static int sess_grow(reco_log *log, size_t need)
{
    if (need <= log->sess_cap)
        return RECO_OK;
    size_t cap = log->sess_cap < 256 ? 256 : log->sess_cap;
    while (cap < need)
        cap *= 2;
    uint64_t *f = reco__alloc(&log->alloc, cap * sizeof(uint64_t), 0);
    uint32_t *l = reco__alloc(&log->alloc, cap * sizeof(uint32_t), 0);
    if (f == NULL || l == NULL) {
        reco__free(&log->alloc, f);
        reco__free(&log->alloc, l);
        return RECO_ENOMEM;
    }
    if (log->n_sessions) {
        memcpy(f, log->sess_first, log->n_sessions * sizeof(uint64_t));
        memcpy(l, log->sess_len, log->n_sessions * sizeof(uint32_t));
    }
    reco__free(&log->alloc, log->sess_first);
    reco__free(&log->alloc, log->sess_len);
    log->sess_first = f;
    log->sess_len = l;
    log->sess_cap = cap;
    return RECO_OK;
}

/* Appends in place when every row continues the canonical order; returns 1 when it did, 0
 * when the log is unchanged and the rows need a rebuild. Capacity must be reserved. */
static int append_fast(reco_log *log, const reco_log_row *rows, size_t stride, size_t n)
{
    reco__log_cols *c = &log->rows;
    const size_t n0 = c->n, s0 = log->n_sessions, u0 = log->n_users;
    const uint32_t len0 = s0 > 0 ? log->sess_len[s0 - 1] : 0;
    size_t user_first = s0; /* first session of the last row's user */
    while (user_first > 0 && c->user[log->sess_first[user_first - 1]] == c->user[n0 - 1])
        user_first--;
    for (size_t i = 0; i < n; i++) {
        const reco_log_row *r = row_at(rows, stride, i);
        const size_t last = c->n - 1;
        int ok;
        if (c->n > 0 && r->user == c->user[last] && r->session == c->session[last]) {
            ok = r->step == c->step[last] + 1 && c->exit[last] == 0;
            if (ok)
                log->sess_len[log->n_sessions - 1]++;
        } else {
            ok = r->step == 0;
            if (ok && c->n > 0) {
                const uint64_t f = log->sess_first[log->n_sessions - 1];
                const uint64_t lu = c->user[f];
                ok = r->user > lu ||
                     (r->user == lu && (r->timestamp > c->ts[f] ||
                                        (r->timestamp == c->ts[f] && r->session > c->session[f])));
                if (ok && r->user == lu) {
                    for (size_t s = user_first; s < log->n_sessions && ok; s++)
                        ok = c->session[log->sess_first[s]] != r->session;
                } else if (ok) {
                    user_first = log->n_sessions;
                }
            }
            if (ok) {
                if (c->n == 0 || r->user != c->user[last])
                    log->n_users++;
                log->sess_first[log->n_sessions] = c->n;
                log->sess_len[log->n_sessions] = 1;
                log->n_sessions++;
            }
        }
        if (!ok) {
            c->n = n0;
            log->n_sessions = s0;
            log->n_users = u0;
            if (s0 > 0)
                log->sess_len[s0 - 1] = len0;
            return 0;
        }
        put_row(c, c->n++, r);
    }
    return 1;
}

int reco_log_append(reco_log *log, const reco_log_row *rows, size_t n)
{
    static const char fn[] = "reco_log_append";
    if (log == NULL)
        return reco__error_set(RECO_EINVAL, "%s: log is NULL", fn);
    if (n == 0)
        return RECO_OK;
    if (rows == NULL)
        return reco__error_set(RECO_EINVAL, "%s: rows is NULL", fn);
    int rc = reco__check_version(rows[0].version, RECO_LOG_ROW_VERSION, "reco_log_row");
    if (rc < 0)
        return rc;
    const unsigned int v0 = rows[0].version;
    const size_t stride = row_size(v0);
    for (size_t i = 0; i < n; i++)
        if ((rc = check_row(log, row_at(rows, stride, i), i, v0)) < 0)
            return rc;
    const size_t n0 = log->rows.n;
    if (n > SIZE_MAX / 64 - n0)
        return reco__error_set(RECO_ENOMEM, "%s: too many rows", fn);
    if ((rc = cols_grow(&log->alloc, &log->rows, n0 + n)) < 0 ||
        (rc = sess_grow(log, log->n_sessions + n + 1)) < 0)
        return rc;
    if (append_fast(log, rows, stride, n))
        return RECO_OK;

    /* Rebuild: the old rows and the new ones, sorted and validated together. */
    reco__log_cols all;
    memset(&all, 0, sizeof all);
    reco__log_cols_layout(&all, log);
    if ((rc = reco__log_cols_reserve(&log->alloc, &all, n0 + n)) < 0)
        return rc;
    reco__log_cols_copy(&all, 0, &log->rows, 0, n0);
    for (size_t i = 0; i < n; i++)
        put_row(&all, n0 + i, row_at(rows, stride, i));
    all.n = n0 + n;
    reco__log_locator loc;
    memset(&loc, 0, sizeof loc);
    loc.call_base = n0;
    loc.fn = fn;
    loc.code = RECO_EINVAL;
    reco__log_built b;
    rc = reco__log_build(&b, &log->alloc, &all, &loc, NULL, NULL, NULL, 0);
    reco__log_cols_free(&log->alloc, &all);
    if (rc < 0)
        return rc;
    reco__log_install(log, &b);
    return RECO_OK;
}

/* ---- splitting ------------------------------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Copies the sessions of `src` whose side is `side` into the empty `dst`. */
static int copy_side(reco_log *dst, const reco_log *src, const uint8_t *side_of, uint8_t side)
{
    size_t rows = 0, sessions = 0;
    for (size_t s = 0; s < src->n_sessions; s++)
        if (side_of[s] == side) {
            rows += src->sess_len[s];
            sessions++;
        }
    int rc;
    if ((rc = reco__log_cols_reserve(&dst->alloc, &dst->rows, rows + 1)) < 0 ||
        (rc = sess_grow(dst, sessions + 1)) < 0)
        return rc;
    const reco__log_cols *c = &src->rows;
    reco__log_cols *d = &dst->rows;
    for (size_t s = 0; s < src->n_sessions; s++) {
        if (side_of[s] != side)
            continue;
        const size_t f = (size_t)src->sess_first[s], len = src->sess_len[s], w = d->n;
        if (dst->n_sessions == 0 || d->user[w - 1] != c->user[f])
            dst->n_users++;
        dst->sess_first[dst->n_sessions] = w;
        dst->sess_len[dst->n_sessions] = (uint32_t)len;
        dst->n_sessions++;
        reco__log_cols_copy(d, w, c, f, len);
        d->n += len;
    }
    return RECO_OK;
}

int reco_log_split(reco_log **train_out, reco_log **valid_out, const reco_log *log,
                   double valid_fraction, uint64_t seed)
{
    static const char fn[] = "reco_log_split";
    if (train_out != NULL)
        *train_out = NULL;
    if (valid_out != NULL)
        *valid_out = NULL;
    if (train_out == NULL || valid_out == NULL || log == NULL)
        return reco__error_set(RECO_EINVAL, "%s: train_out, valid_out and log must not be NULL",
                               fn);
    if (train_out == valid_out)
        return reco__error_set(RECO_EINVAL, "%s: train_out and valid_out are the same", fn);
    if (!(valid_fraction >= 0.0 && valid_fraction <= 1.0))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "valid_fraction",
                                  "%s: valid_fraction %g is not in [0, 1]", fn, valid_fraction);
    /* threshold = fraction * 2^64, saturating: fraction 1 sends every user to validation. */
    const double scaled = ldexp(valid_fraction, 64);
    const int all = valid_fraction >= 1.0;
    const uint64_t threshold = all ? UINT64_MAX : (uint64_t)scaled;
    const uint64_t salt = mix64(seed ^ UINT64_C(0x9e3779b97f4a7c15));
    reco_log *t = NULL, *v = NULL;
    uint8_t *side = reco__alloc(&log->alloc, log->n_sessions + 1, 1);
    int rc = side == NULL ? RECO_ENOMEM : RECO_OK;
    if (rc == RECO_OK) {
        for (size_t s = 0; s < log->n_sessions; s++) {
            uint64_t h = mix64(log->rows.user[log->sess_first[s]] ^ salt);
            side[s] = all || h < threshold;
        }
        if ((rc = create_like(&t, log)) == RECO_OK && (rc = create_like(&v, log)) == RECO_OK &&
            (rc = copy_side(t, log, side, 0)) == RECO_OK)
            rc = copy_side(v, log, side, 1);
    }
    reco__free(&log->alloc, side);
    if (rc < 0) {
        reco_log_free(t);
        reco_log_free(v);
        return rc;
    }
    *train_out = t;
    *valid_out = v;
    return RECO_OK;
}

/* ---- binary files ---------------------------------------------------------------------- */

/* `n` names of `stride` bytes each joined by '\n' into `buf` (room for n * stride + 1);
 * returns the length. */
static size_t join_names(char *buf, const char *names, size_t stride, uint32_t n)
{
    size_t w = 0;
    for (uint32_t f = 0; f < n; f++) {
        const char *nm = names + f * stride;
        size_t len = strlen(nm);
        if (f > 0)
            buf[w++] = '\n';
        memcpy(buf + w, nm, len);
        w += len;
    }
    buf[w] = '\0';
    return w;
}

#define NAME_STRIDE (RECO_LOG_SIGNAL_NAME_MAX + 1)
#define NAMES_CAP (RECO_LOG_MAX_SIGNALS * NAME_STRIDE + 1)

int reco_log_save(const reco_log *log, const char *path)
{
    static const char fn[] = "reco_log_save";
    if (log == NULL || path == NULL)
        return reco__error_set(RECO_EINVAL, "%s: log and path must not be NULL", fn);
    const reco_allocator *a = &log->alloc;
    const reco__log_cols *c = &log->rows;
    const size_t S = log->n_sessions, R = c->n;
    const int v2 = reco__log_has_extras(log);
    char names[NAMES_CAP];
    size_t names_len = join_names(names, &log->names[0][0], NAME_STRIDE, log->n_signals);
    uint64_t *su = reco__alloc(a, (S + 1) * sizeof(uint64_t), 0);
    uint64_t *ss = reco__alloc(a, (S + 1) * sizeof(uint64_t), 0);
    uint32_t *flags = reco__alloc(a, (R + 1) * sizeof(uint32_t), 0);
    char *uf_names = reco__alloc(a, (size_t)log->user_dim * NAME_STRIDE + 1, 1);
    int rc = RECO_ENOMEM;
    reco__writer *w = NULL;
    if (su == NULL || ss == NULL || flags == NULL || uf_names == NULL)
        goto done;
    const size_t uf_len = log->user_dim > 0 ? join_names(uf_names, &log->uf_names[0][0],
                                                         NAME_STRIDE, log->user_dim)
                                            : 0;
    for (size_t s = 0; s < S; s++) {
        su[s] = c->user[log->sess_first[s]];
        ss[s] = c->session[log->sess_first[s]];
    }
    for (size_t r = 0; r < R; r++)
        flags[r] = c->fb[r] | (c->exit[r] ? EXIT_FLAG : 0u);
    /* Without optional columns, format version 1: the files libreco 0.1 reads. */
    if ((rc = reco__writer_open(&w, a, path, log_magic,
                                log->max_cand > 0 ? 3u : v2 ? 2u : 1u)) < 0)
        goto done;
    if ((rc = reco__writer_section(w, "signals", RECO__FILE_BYTES, names, names_len)) < 0 ||
        (rc = reco__writer_section(w, "s_user", RECO__FILE_U64, su, S)) < 0 ||
        (rc = reco__writer_section(w, "s_session", RECO__FILE_U64, ss, S)) < 0 ||
        (rc = reco__writer_section(w, "s_length", RECO__FILE_U32, log->sess_len, S)) < 0 ||
        (rc = reco__writer_section(w, "r_time", RECO__FILE_I64, c->ts, R)) < 0 ||
        (rc = reco__writer_section(w, "r_item", RECO__FILE_I32, c->item, R)) < 0 ||
        (rc = reco__writer_section(w, "r_flags", RECO__FILE_U32, flags, R)) < 0)
        goto abort;
    if (v2) {
        const uint32_t columns[4] = {log->user_dim, (uint32_t)log->has_prop,
                                     (uint32_t)log->has_oracle, log->max_cand};
        if ((rc = reco__writer_section(w, "columns", RECO__FILE_U32, columns,
                                       log->max_cand > 0 ? 4 : 3)) < 0)
            goto abort;
        if (log->max_cand > 0 &&
            ((rc = reco__writer_section(w, "r_ncand", RECO__FILE_U32, c->ncand, R)) < 0 ||
             (rc = reco__writer_section(w, "r_cand", RECO__FILE_I32, c->cand,
                                        (uint64_t)R * log->max_cand)) < 0))
            goto abort;
        if (log->user_dim > 0 &&
            ((rc = reco__writer_section(w, "u_names", RECO__FILE_BYTES, uf_names, uf_len)) < 0 ||
             (rc = reco__writer_section(w, "r_user", RECO__FILE_F32, c->uf,
                                        (uint64_t)R * log->user_dim)) < 0))
            goto abort;
        if (log->has_prop &&
            (rc = reco__writer_section(w, "r_prop", RECO__FILE_F32, c->prop, R)) < 0)
            goto abort;
        if (log->has_oracle &&
            (rc = reco__writer_section(w, "r_oracle", RECO__FILE_F32, c->oracle,
                                       (uint64_t)R * c->n_oracle)) < 0)
            goto abort;
    }
    rc = reco__writer_commit(w);
    goto done;
abort:
    reco__writer_abort(w);
done:
    reco__free(a, su);
    reco__free(a, ss);
    reco__free(a, flags);
    reco__free(a, uf_names);
    return rc;
}


/* The optional columns of a file (format version 2) against the log's. */
static int check_file_columns(uint32_t columns[4], reco__reader *rd, const char *path,
                              uint32_t version, const reco_log *log)
{
    columns[0] = columns[1] = columns[2] = columns[3] = 0;
    if (version >= 2) {
        uint64_t n;
        const uint64_t want = version >= 3 ? 4 : 3;
        int rc = reco__reader_section_count(&n, rd, path, "columns", RECO__FILE_U32);
        if (rc < 0)
            return rc;
        if (n != want)
            return reco__error_set_at(RECO_EFORMAT, path, 0, 0, NULL, "section \"columns\" has "
                                      "%llu values, expected %llu", (unsigned long long)n,
                                      (unsigned long long)want);
        if ((rc = reco__reader_section(rd, "columns", RECO__FILE_U32, columns, want)) < 0)
            return rc;
        if (columns[3] > RECO_LOG_MAX_CANDIDATES)
            return reco__error_set_at(RECO_EFORMAT, path, 0, 0, NULL, "section \"columns\" "
                                      "gives max_candidates %u, above %d", columns[3],
                                      RECO_LOG_MAX_CANDIDATES);
        if (columns[0] > RECO_LOG_MAX_USER_DIM || columns[1] > 1 || columns[2] > 1)
            return reco__error_set_at(RECO_EFORMAT, path, 0, 0, NULL, "section \"columns\" "
                                      "holds %u, %u, %u: not a user_dim of at most %d and two "
                                      "flags", columns[0], columns[1], columns[2],
                                      RECO_LOG_MAX_USER_DIM);
    }
    if (columns[0] != log->user_dim)
        return reco__error_set_at(RECO_EFORMAT, path, 0, 0, "user_dim", "the file has %u user "
                                  "features per row, the log has %u (user_dim)", columns[0],
                                  log->user_dim);
    if ((int)columns[1] != log->has_prop)
        return reco__error_set_at(RECO_EFORMAT, path, 0, 0, "propensity", "the file has %s "
                                  "propensity column, the log %s", columns[1] ? "a" : "no",
                                  log->has_prop ? "has one" : "has none");
    if ((int)columns[2] != log->has_oracle)
        return reco__error_set_at(RECO_EFORMAT, path, 0, 0, "oracle", "the file %s oracle "
                                  "columns, the log %s", columns[2] ? "has" : "has no",
                                  log->has_oracle ? "has them" : "has none");
    if (columns[3] != log->max_cand)
        return reco__error_set_at(RECO_EFORMAT, path, 0, 0, "max_candidates", "the file has "
                                  "%u candidates per row at most, the log %u (max_candidates)",
                                  columns[3], log->max_cand);
    return RECO_OK;
}

/* Every optional value of the R rows read into `c` is in its range. */
static int check_file_values(const reco__log_cols *c, uint64_t R, const char *path,
                             const reco_log *log)
{
    for (uint64_t r = 0; r < R; r++) {
        for (uint32_t k = 0; k < c->U; k++)
            if (!isfinite(c->uf[r * c->U + k]))
                return reco__error_set_at(RECO_EFORMAT, path, 0, 0, log->uf_names[k], "row %llu: "
                                          "user feature %g is not a finite number",
                                          (unsigned long long)r, (double)c->uf[r * c->U + k]);
        if (c->has_prop) {
            const float p = c->prop[r];
            if (!isnan(p) && !(p > 0.0f && p <= 1.0f))
                return reco__error_set_at(RECO_EFORMAT, path, 0, 0, "propensity", "row %llu: "
                                          "propensity %g is not in (0, 1]",
                                          (unsigned long long)r, (double)p);
        }
        for (uint32_t k = 0; k < c->n_oracle; k++) {
            const float q = c->oracle[r * c->n_oracle + k];
            if (!isnan(q) && !(q >= 0.0f && q <= 1.0f))
                return reco__error_set_at(RECO_EFORMAT, path, 0, 0, log->oracle_names[k],
                                          "row %llu: probability %g is not in [0, 1]",
                                          (unsigned long long)r, (double)q);
        }
        if (c->Cmax > 0) {
            const uint32_t nc = c->ncand[r];
            int seen = nc == 0;
            if (nc > c->Cmax)
                return reco__error_set_at(RECO_EFORMAT, path, 0, 0, "candidates", "row %llu: "
                                          "%u candidates, above max_candidates %u",
                                          (unsigned long long)r, nc, c->Cmax);
            for (uint32_t j = 0; j < c->Cmax; j++) {
                const int32_t x = c->cand[r * c->Cmax + j];
                if (j < nc ? x < 0 : x != RECO_PAD)
                    return reco__error_set_at(RECO_EFORMAT, path, 0, 0, "candidates", "row "
                                              "%llu: candidate %u is %d", (unsigned long long)r,
                                              j, x);
                seen |= j < nc && x == c->item[r];
            }
            if (!seen)
                return reco__error_set_at(RECO_EFORMAT, path, 0, 0, "candidates", "row %llu: "
                                          "item %d is not among its candidates",
                                          (unsigned long long)r, c->item[r]);
        }
    }
    return RECO_OK;
}

int reco_log_load(reco_log *log, const char *path, const reco_log_load_options *opts)
{
    static const char fn[] = "reco_log_load";
    if (log == NULL || path == NULL)
        return reco__error_set(RECO_EINVAL, "%s: log and path must not be NULL", fn);
    reco_log_load_options o;
    int rc = reco__log_load_options(&o, opts, fn);
    if (rc < 0)
        return rc;
    const reco_allocator *a = &log->alloc;
    reco__reader *rd = NULL;
    uint32_t version = 0;
    if ((rc = reco__reader_open(&rd, a, path, log_magic, 1, LOG_FORMAT_VERSION, &version)) < 0)
        return rc;
    uint64_t *su = NULL, *ss = NULL;
    uint32_t *sl = NULL, *flags = NULL;
    char *uf_buf = NULL, *uf_expected = NULL;
    reco__log_cols cols;
    memset(&cols, 0, sizeof cols);
    reco__log_cols_layout(&cols, log);
    reco__log_built b;
    memset(&b, 0, sizeof b);
    uint64_t S, S2, S3, R, R2, R3;
    char names[NAMES_CAP], expected[NAMES_CAP];
    uint32_t columns[4];
    join_names(expected, &log->names[0][0], NAME_STRIDE, log->n_signals);
    if ((rc = reco__reader_check_names(rd, path, "signals", names, sizeof names, expected,
                                       "signals", "log", NULL)) < 0 ||
        (rc = check_file_columns(columns, rd, path, version, log)) < 0)
        goto done;
    if (log->user_dim > 0) {
        const size_t cap = (size_t)log->user_dim * NAME_STRIDE + 1;
        uf_buf = reco__alloc(a, cap, 1);
        uf_expected = reco__alloc(a, cap, 1);
        if (uf_buf == NULL || uf_expected == NULL) {
            rc = RECO_ENOMEM;
            goto done;
        }
        join_names(uf_expected, &log->uf_names[0][0], NAME_STRIDE, log->user_dim);
        if ((rc = reco__reader_check_names(rd, path, "u_names", uf_buf, cap, uf_expected,
                                           "user features", "log", "user_feature_names")) < 0)
            goto done;
    }
    if ((rc = reco__reader_section_count(&S, rd, path, "s_user", RECO__FILE_U64)) < 0 ||
        (rc = reco__reader_section_count(&S2, rd, path, "s_session", RECO__FILE_U64)) < 0 ||
        (rc = reco__reader_section_count(&S3, rd, path, "s_length", RECO__FILE_U32)) < 0 ||
        (rc = reco__reader_section_count(&R, rd, path, "r_time", RECO__FILE_I64)) < 0 ||
        (rc = reco__reader_section_count(&R2, rd, path, "r_item", RECO__FILE_I32)) < 0 ||
        (rc = reco__reader_section_count(&R3, rd, path, "r_flags", RECO__FILE_U32)) < 0)
        goto done;
    if (S2 != S || S3 != S || R2 != R || R3 != R) {
        rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, NULL, "section sizes disagree: "
                                "%llu/%llu/%llu sessions, %llu/%llu/%llu rows",
                                (unsigned long long)S, (unsigned long long)S2,
                                (unsigned long long)S3, (unsigned long long)R,
                                (unsigned long long)R2, (unsigned long long)R3);
        goto done;
    }
    if (S > R || R > SIZE_MAX / 64) {
        rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, NULL, "%llu sessions for %llu rows",
                                (unsigned long long)S, (unsigned long long)R);
        goto done;
    }
    su = reco__alloc(a, (S + 1) * sizeof(uint64_t), 0);
    ss = reco__alloc(a, (S + 1) * sizeof(uint64_t), 0);
    sl = reco__alloc(a, (S + 1) * sizeof(uint32_t), 0);
    if (su == NULL || ss == NULL || sl == NULL || (rc = reco__log_cols_reserve(a, &cols, R + 1)) < 0) {
        rc = RECO_ENOMEM;
        goto done;
    }
    flags = cols.fb;
    if ((rc = reco__reader_section(rd, "s_user", RECO__FILE_U64, su, S)) < 0 ||
        (rc = reco__reader_section(rd, "s_session", RECO__FILE_U64, ss, S)) < 0 ||
        (rc = reco__reader_section(rd, "s_length", RECO__FILE_U32, sl, S)) < 0 ||
        (rc = reco__reader_section(rd, "r_time", RECO__FILE_I64, cols.ts, R)) < 0 ||
        (rc = reco__reader_section(rd, "r_item", RECO__FILE_I32, cols.item, R)) < 0 ||
        (rc = reco__reader_section(rd, "r_flags", RECO__FILE_U32, flags, R)) < 0)
        goto done;
    if ((cols.U > 0 &&
         (rc = reco__reader_section(rd, "r_user", RECO__FILE_F32, cols.uf, R * cols.U)) < 0) ||
        (cols.has_prop &&
         (rc = reco__reader_section(rd, "r_prop", RECO__FILE_F32, cols.prop, R)) < 0) ||
        (cols.n_oracle > 0 && (rc = reco__reader_section(rd, "r_oracle", RECO__FILE_F32,
                                                         cols.oracle, R * cols.n_oracle)) < 0) ||
        (cols.Cmax > 0 &&
         ((rc = reco__reader_section(rd, "r_ncand", RECO__FILE_U32, cols.ncand, R)) < 0 ||
          (rc = reco__reader_section(rd, "r_cand", RECO__FILE_I32, cols.cand,
                                     R * cols.Cmax)) < 0)))
        goto done;
    uint64_t w = 0;
    for (uint64_t s = 0; s < S; s++) {
        if (sl[s] == 0 || sl[s] > R - w) {
            rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, NULL, "session %llu has length "
                                    "%u, which does not fit the %llu rows",
                                    (unsigned long long)s, sl[s], (unsigned long long)R);
            goto done;
        }
        for (uint32_t k = 0; k < sl[s]; k++, w++) {
            cols.user[w] = su[s];
            cols.session[w] = ss[s];
            cols.step[w] = k;
        }
    }
    if (w != R) {
        rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, NULL, "session lengths sum to %llu, "
                                "the file has %llu rows", (unsigned long long)w,
                                (unsigned long long)R);
        goto done;
    }
    const uint32_t fb_mask = log->n_signals >= 31 ? 0x7fffffffu : (1u << log->n_signals) - 1u;
    for (uint64_t r = 0; r < R; r++) {
        uint32_t fl = flags[r];
        cols.exit[r] = (fl & EXIT_FLAG) != 0;
        cols.fb[r] = fl & ~EXIT_FLAG;
        if ((cols.fb[r] & ~fb_mask) != 0) {
            rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, "feedback", "row %llu: feedback "
                                    "0x%x has bits at or above n_signals %u",
                                    (unsigned long long)r, cols.fb[r], log->n_signals);
            goto done;
        }
        if (cols.item[r] < 0 || (o.n_items > 0 && (uint32_t)cols.item[r] >= o.n_items)) {
            rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, "item", "row %llu: item %d is "
                                    "out of range [0, %u)", (unsigned long long)r, cols.item[r],
                                    o.n_items > 0 ? o.n_items : (uint32_t)INT32_MAX);
            goto done;
        }
    }
    if ((rc = check_file_values(&cols, R, path, log)) < 0)
        goto done;
    cols.n = R;
    reco__log_locator loc;
    memset(&loc, 0, sizeof loc);
    loc.source = path;
    loc.fn = fn;
    loc.code = RECO_EFORMAT;
    if ((rc = reco__log_build(&b, a, &cols, &loc, NULL, NULL, NULL, 0)) < 0)
        goto done;
    if (b.reordered) {
        rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, NULL, "rows are not in canonical "
                                "order (user, session start time, session, step)");
        goto done;
    }
    reco__log_install(log, &b);
    reco__log_set_rejects(log, NULL, NULL);
    rc = RECO_OK;
done:
    reco__reader_close(rd);
    reco__log_built_free(a, &b);
    reco__log_cols_free(a, &cols);
    reco__free(a, su);
    reco__free(a, ss);
    reco__free(a, sl);
    reco__free(a, uf_buf);
    reco__free(a, uf_expected);
    return rc;
}
