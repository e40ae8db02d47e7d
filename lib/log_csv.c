/* reco_log CSV: a streaming, strict reader with exact error locations, and an atomic writer.
 * The line reader, header check, number parsing and rejection records are lib/csv.c's,
 * shared with the item table.
 *
 * Grammar (docs/logs.md):
 *   file    = [BOM] header EOL { row EOL } [row]     EOL = "\n" | "\r\n"; the last line may
 *                                                    lack its EOL
 *   header  = "user,session,step,timestamp,item," names ",exit" [",propensity"]
 *             [",candidates"] [ "," oracle names ",p_exit" ] [ "," user feature names ]
 *   row     = u64 "," u64 "," u32 "," i64 "," i32 { "," bit } "," bit
 *             [ "," [prob] ] [ "," [i32 { " " i32 }] ] [ { "," [prob] } "," [prob] ]
 *             { "," float }
 *   (candidates: the items the logging policy chose from, one space between them, the
 *   item shown among them; empty = unknown)
 *   u64 etc = decimal digits (leading zeros allowed), i64 with an optional '-'; no '+', no
 *             spaces, no quotes; bit = "0" | "1"; float as in csv_private.h; prob = a float
 *             in (0, 1] (propensity) or [0, 1] (oracle), empty = unknown
 * Empty lines are errors: a row per line, always.
 *
 * The file is read through a fixed buffer (256 KiB, or twice the longest line allowed), so
 * memory grows with the rows kept, not with the file. Each kept row also remembers its line
 * and the columns of its step and exit fields until the load ends, for the session checks'
 * messages. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_private.h"
#include "csv_private.h"
#include "error_private.h"
#include "log_private.h"

/* Columns before the signals. */
static const char *const lead_columns[5] = {"user", "session", "step", "timestamp", "item"};
enum { COL_USER, COL_SESSION, COL_STEP, COL_TS, COL_ITEM, N_LEAD };

typedef struct tainted_entry {
    uint64_t user, session, line;
} tainted_entry;

typedef struct csv_ctx {
    reco__csv_reader rd;
    const reco_log *log;
    const reco_allocator *a;
    reco_log_load_options o;
    uint32_t n_fields;
    uint32_t col_exit;   /* index of "exit"; the optional columns follow */
    const char **names;  /* (n_fields) */
    size_t *starts, *lens; /* (n_fields + 1) */
    reco__log_cols cols;
    uint64_t *lines;
    uint32_t *col_step, *col_exit_at;
    size_t loc_cap;
    reco__csv_rejects rej;
    tainted_entry *tainted;
    size_t n_tainted, tainted_cap;
} csv_ctx;

/* The log's columns in CSV order into `names` (room for all of them); returns the count. */
static uint32_t column_names(const char **names, const reco_log *log)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < N_LEAD; i++)
        names[n++] = lead_columns[i];
    for (uint32_t f = 0; f < log->n_signals; f++)
        names[n++] = log->names[f];
    names[n++] = "exit";
    if (log->has_prop)
        names[n++] = "propensity";
    if (log->max_cand > 0)
        names[n++] = "candidates";
    if (log->has_oracle)
        for (uint32_t f = 0; f <= log->n_signals; f++)
            names[n++] = log->oracle_names[f];
    for (uint32_t k = 0; k < log->user_dim; k++)
        names[n++] = log->uf_names[k];
    return n;
}

static uint32_t count_columns(const reco_log *log)
{
    return N_LEAD + log->n_signals + 1 + (uint32_t)log->has_prop + (log->max_cand > 0) +
           (log->has_oracle ? log->n_signals + 1 : 0) + log->user_dim;
}

/* ---- rows ------------------------------------------------------------------------------ */

/* Room for one more row (and its locator entries). */
static int grow_rows(csv_ctx *c)
{
    if (c->cols.n < c->cols.cap && c->cols.n < c->loc_cap)
        return RECO_OK;
    size_t cap = c->cols.cap < 4096 ? 4096 : c->cols.cap * 2;
    int rc = reco__log_cols_reserve(c->a, &c->cols, cap);
    if (rc < 0)
        return rc;
    uint64_t *l = reco__alloc(c->a, cap * sizeof(uint64_t), 0);
    uint32_t *cs = reco__alloc(c->a, cap * sizeof(uint32_t), 0);
    uint32_t *ce = reco__alloc(c->a, cap * sizeof(uint32_t), 0);
    if (l == NULL || cs == NULL || ce == NULL) {
        reco__free(c->a, l);
        reco__free(c->a, cs);
        reco__free(c->a, ce);
        return RECO_ENOMEM;
    }
    const size_t n = c->cols.n;
    if (n) {
        memcpy(l, c->lines, n * sizeof(uint64_t));
        memcpy(cs, c->col_step, n * sizeof(uint32_t));
        memcpy(ce, c->col_exit_at, n * sizeof(uint32_t));
    }
    reco__free(c->a, c->lines);
    reco__free(c->a, c->col_step);
    reco__free(c->a, c->col_exit_at);
    c->lines = l;
    c->col_step = cs;
    c->col_exit_at = ce;
    c->loc_cap = cap;
    return RECO_OK;
}

static int taint(csv_ctx *c, uint64_t user, uint64_t session)
{
    if (c->n_tainted == c->tainted_cap) {
        size_t cap = c->tainted_cap ? 2 * c->tainted_cap : 64;
        tainted_entry *t = reco__alloc(c->a, cap * sizeof *t, 0);
        if (t == NULL)
            return RECO_ENOMEM;
        if (c->n_tainted)
            memcpy(t, c->tainted, c->n_tainted * sizeof *t);
        reco__free(c->a, c->tainted);
        c->tainted = t;
        c->tainted_cap = cap;
    }
    tainted_entry *e = &c->tainted[c->n_tainted++];
    e->user = user;
    e->session = session;
    e->line = c->rd.line;
    return RECO_OK;
}

/* A probability field: empty (unknown, NaN) or a float in [lo, 1] (lo excluded when
 * `open_lo`). */
static int parse_prob(csv_ctx *c, float *out, const char *s, size_t n, uint32_t col,
                      const char *name, int open_lo)
{
    if (n == 0) {
        *out = NAN;
        return RECO_OK;
    }
    char ex[RECO__CSV_EXCERPT_CAP];
    float v;
    int r = reco__csv_parse_f32(&v, s, n);
    if (r != 0)
        return reco__csv_error(&c->rd, col, name, "%s %s%s", reco__csv_excerpt(ex, s, n),
                               reco__csv_f32_problem(r),
                               r == 3 ? " (leave the field empty for unknown)"
                                      : reco__csv_space_hint(s, n));
    if (open_lo ? !(v > 0.0f && v <= 1.0f) : !(v >= 0.0f && v <= 1.0f))
        return reco__csv_error(&c->rd, col, name, "%s is not in %s", reco__csv_excerpt(ex, s, n),
                               open_lo ? "(0, 1]" : "[0, 1]");
    *out = v;
    return RECO_OK;
}

/* The candidates field of row w: empty (unknown, count 0) or items separated by single
 * spaces, at most Cmax of them, `item` among them; RECO_PAD past the count. */
static int parse_candidates(csv_ctx *c, reco__log_cols *cols, size_t w, int32_t item,
                            const char *s, size_t n, uint32_t col, const char *name)
{
    char ex[RECO__CSV_EXCERPT_CAP];
    int32_t *out = cols->cand + w * cols->Cmax;
    uint32_t k = 0;
    int seen = n == 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j] != ' ')
            j++;
        uint64_t v = 0;
        const int r = reco__csv_parse_u64(&v, s + i, j - i, (uint64_t)INT32_MAX);
        if (r != 0)
            return reco__csv_error(&c->rd, col + (uint32_t)i, name, "candidate %s is not an "
                                   "item id in [0, %d] (candidates are separated by one space)",
                                   reco__csv_excerpt(ex, s + i, j - i), INT32_MAX);
        if (k == cols->Cmax)
            return reco__csv_error(&c->rd, col, name, "more than max_candidates %u candidates",
                                   cols->Cmax);
        if (c->o.n_items > 0 && v >= c->o.n_items)
            return reco__csv_error(&c->rd, col + (uint32_t)i, name, "candidate %" PRIu64 " is "
                                   "out of range [0, %u] (the catalog has %u items)", v,
                                   c->o.n_items - 1, c->o.n_items);
        out[k++] = (int32_t)v;
        seen |= (int32_t)v == item;
        i = j + 1;
        if (j + 1 == n)
            return reco__csv_error(&c->rd, col, name, "a space ends the candidates");
    }
    if (!seen)
        return reco__csv_error(&c->rd, col, name, "item %d is not among its %u candidates",
                               item, k);
    cols->ncand[w] = k;
    for (uint32_t j = k; j < cols->Cmax; j++)
        out[j] = RECO_PAD;
    return RECO_OK;
}

/* Parses one data line. On a bad row returns RECO_EFORMAT (recorded), and sets `*us_ok` when
 * its user and session were read (into us[0], us[1]). */
static int parse_row(csv_ctx *c, const char *line, size_t len, uint64_t us[2], int *us_ok)
{
    *us_ok = 0;
    const uint32_t X = c->col_exit;
    char ex[RECO__CSV_EXCERPT_CAP];
    const size_t *starts = c->starts, *lens = c->lens;
    int rc = reco__csv_split(&c->rd, line, len, c->starts, c->lens);
    if (rc < 0)
        return rc;
    if ((rc = grow_rows(c)) < 0)
        return rc;
    reco__log_cols *cols = &c->cols;
    const size_t w = cols->n; /* the optional columns go straight into row w */
    uint64_t user = 0, session = 0, v = 0;
    uint32_t step = 0, fb = 0;
    int64_t ts = 0;
    int32_t item = 0;
    uint8_t ex_flag = 0;
    for (uint32_t k = 0; k <= X; k++) {
        const char *s = line + starts[k];
        const size_t n = lens[k];
        const uint32_t col = (uint32_t)starts[k] + 1;
        const char *name = c->names[k];
        int r;
        if (k == COL_TS) {
            r = reco__csv_parse_i64(&ts, s, n);
            if (r == 1)
                return reco__csv_error(&c->rd, col, name, "%s is not an integer%s",
                                       reco__csv_excerpt(ex, s, n), reco__csv_space_hint(s, n));
            if (r == 2)
                return reco__csv_error(&c->rd, col, name, "%s is out of range [%" PRId64 ", %"
                                       PRId64 "]", reco__csv_excerpt(ex, s, n), INT64_MIN,
                                       INT64_MAX);
            continue;
        }
        if (k >= N_LEAD) {
            if (n != 1 || (s[0] != '0' && s[0] != '1'))
                return reco__csv_error(&c->rd, col, name, "%s is not 0 or 1%s",
                                       reco__csv_excerpt(ex, s, n), reco__csv_space_hint(s, n));
            if (k == X)
                ex_flag = (uint8_t)(s[0] == '1');
            else if (s[0] == '1')
                fb |= 1u << (k - N_LEAD);
            continue;
        }
        const uint64_t max = k == COL_STEP ? UINT32_MAX : k == COL_ITEM ? (uint64_t)INT32_MAX
                                                                        : UINT64_MAX;
        r = reco__csv_parse_u64(&v, s, n, max);
        if (r == 1)
            return reco__csv_error(&c->rd, col, name, "%s is not a non-negative integer%s",
                                   reco__csv_excerpt(ex, s, n), reco__csv_space_hint(s, n));
        if (r == 2)
            return reco__csv_error(&c->rd, col, name, "%s is out of range [0, %" PRIu64 "]",
                                   reco__csv_excerpt(ex, s, n), max);
        switch (k) {
        case COL_USER: user = v; break;
        case COL_SESSION:
            session = v;
            us[0] = user;
            us[1] = session;
            *us_ok = 1;
            break;
        case COL_STEP: step = (uint32_t)v; break;
        default:
            if (c->o.n_items > 0 && v >= c->o.n_items)
                return reco__csv_error(&c->rd, col, name, "item %" PRIu64 " is out of range "
                                       "[0, %u] (the catalog has %u items)", v,
                                       c->o.n_items - 1, c->o.n_items);
            item = (int32_t)v;
            break;
        }
    }
    uint32_t k = X + 1;
    if (cols->has_prop) {
        if ((rc = parse_prob(c, &cols->prop[w], line + starts[k], lens[k],
                             (uint32_t)starts[k] + 1, c->names[k], 1)) < 0)
            return rc;
        k++;
    }
    if (cols->Cmax > 0) {
        if ((rc = parse_candidates(c, cols, w, item, line + starts[k], lens[k],
                                   (uint32_t)starts[k] + 1, c->names[k])) < 0)
            return rc;
        k++;
    }
    for (uint32_t j = 0; j < cols->n_oracle; j++, k++)
        if ((rc = parse_prob(c, &cols->oracle[w * cols->n_oracle + j], line + starts[k],
                             lens[k], (uint32_t)starts[k] + 1, c->names[k], 0)) < 0)
            return rc;
    for (uint32_t j = 0; j < cols->U; j++, k++) {
        const char *s = line + starts[k];
        const size_t n = lens[k];
        const int r = reco__csv_parse_f32(&cols->uf[w * cols->U + j], s, n);
        if (r != 0)
            return reco__csv_error(&c->rd, (uint32_t)starts[k] + 1, c->names[k], "%s %s%s",
                                   reco__csv_excerpt(ex, s, n), reco__csv_f32_problem(r),
                                   n == 0 ? " (user features cannot be unknown)"
                                          : reco__csv_space_hint(s, n));
    }
    cols->user[w] = user;
    cols->session[w] = session;
    cols->step[w] = step;
    cols->ts[w] = ts;
    cols->item[w] = item;
    cols->fb[w] = fb;
    cols->exit[w] = ex_flag;
    c->lines[w] = c->rd.line;
    c->col_step[w] = (uint32_t)starts[COL_STEP] + 1;
    c->col_exit_at[w] = (uint32_t)starts[X] + 1;
    cols->n++;
    return RECO_OK;
}

static int cmp_tainted(const void *pa, const void *pb)
{
    const tainted_entry *a = pa, *b = pb;
    if (a->user != b->user)
        return a->user < b->user ? -1 : 1;
    if (a->session != b->session)
        return a->session < b->session ? -1 : 1;
    return a->line < b->line ? -1 : a->line > b->line;
}

static void ctx_free(csv_ctx *c)
{
    reco__csv_close(&c->rd);
    reco__log_cols_free(c->a, &c->cols);
    reco__free(c->a, c->names);
    reco__free(c->a, c->starts);
    reco__free(c->a, c->lens);
    reco__free(c->a, c->lines);
    reco__free(c->a, c->col_step);
    reco__free(c->a, c->col_exit_at);
    reco__free(c->a, c->tainted);
    reco__csv_rejects_free(c->a, &c->rej);
}

int reco_log_load_csv(reco_log *log, const char *path, const reco_log_load_options *opts)
{
    static const char fn[] = "reco_log_load_csv";
    if (log == NULL || path == NULL)
        return reco__error_set(RECO_EINVAL, "%s: log and path must not be NULL", fn);
    if (path[0] == '\0')
        return reco__error_set(RECO_EINVAL, "%s: path is empty", fn);
    csv_ctx c;
    memset(&c, 0, sizeof c);
    c.rd.fd = -1;
    int rc = reco__log_load_options(&c.o, opts, fn);
    if (rc < 0)
        return rc;
    c.log = log;
    c.a = &log->alloc;
    c.n_fields = count_columns(log);
    c.col_exit = N_LEAD + log->n_signals;
    reco__log_cols_layout(&c.cols, log);
    c.rej.cap = c.o.lenient ? c.o.max_rejections : 0;

    reco__log_built b;
    memset(&b, 0, sizeof b);
    char *source = NULL;
    c.names = reco__alloc(c.a, c.n_fields * sizeof *c.names, 0);
    c.starts = reco__alloc(c.a, (c.n_fields + 1) * sizeof *c.starts, 0);
    c.lens = reco__alloc(c.a, (c.n_fields + 1) * sizeof *c.lens, 0);
    if (c.names == NULL || c.starts == NULL || c.lens == NULL) {
        rc = RECO_ENOMEM;
        goto done;
    }
    column_names(c.names, log);
    if ((rc = reco__csv_open(&c.rd, c.a, path, reco__csv_max_line(c.n_fields + (log->max_cand + 3) / 4))) < 0 ||
        (rc = reco__csv_read_header(&c.rd, c.names, c.n_fields)) < 0)
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
        uint64_t us[2];
        int us_ok = 0;
        if (too_long)
            rc = reco__csv_error(&c.rd, 1, "", "the line is longer than %zu bytes",
                                 c.rd.max_line);
        else
            rc = parse_row(&c, line, len, us, &us_ok);
        if (rc == RECO_ENOMEM)
            goto done;
        if (rc < 0) {
            if (!c.o.lenient)
                goto done;
            if ((rc = reco__csv_reject(c.a, &c.rej, 1)) < 0)
                goto done;
            if (us_ok && (rc = taint(&c, us[0], us[1])) < 0)
                goto done;
        }
    }

    /* Sessions with a rejected row: sorted, one entry per session (its first rejected line). */
    uint64_t *pairs = NULL, *pair_line = NULL;
    size_t n_pairs = 0;
    if (c.n_tainted > 0) {
        qsort(c.tainted, c.n_tainted, sizeof *c.tainted, cmp_tainted);
        pairs = reco__alloc(c.a, c.n_tainted * 2 * sizeof(uint64_t), 0);
        pair_line = reco__alloc(c.a, c.n_tainted * sizeof(uint64_t), 0);
        if (pairs == NULL || pair_line == NULL) {
            reco__free(c.a, pairs);
            reco__free(c.a, pair_line);
            rc = RECO_ENOMEM;
            goto done;
        }
        for (size_t i = 0; i < c.n_tainted; i++) {
            if (n_pairs > 0 && pairs[2 * (n_pairs - 1)] == c.tainted[i].user &&
                pairs[2 * (n_pairs - 1) + 1] == c.tainted[i].session)
                continue;
            pairs[2 * n_pairs] = c.tainted[i].user;
            pairs[2 * n_pairs + 1] = c.tainted[i].session;
            pair_line[n_pairs++] = c.tainted[i].line;
        }
    }
    reco__log_locator loc;
    memset(&loc, 0, sizeof loc);
    loc.source = path;
    loc.line = c.lines;
    loc.col_step = c.col_step;
    loc.col_exit = c.col_exit_at;
    loc.fn = fn;
    loc.code = RECO_EFORMAT;
    rc = reco__log_build(&b, c.a, &c.cols, &loc, c.o.lenient ? &c.rej : NULL, pairs, pair_line,
                         n_pairs);
    reco__free(c.a, pairs);
    reco__free(c.a, pair_line);
    if (rc < 0)
        goto done;
    if (c.o.lenient && (source = reco__strdup(c.a, path)) == NULL) {
        rc = RECO_ENOMEM;
        goto done;
    }
    reco__log_install(log, &b);
    reco__log_set_rejects(log, &c.rej, source);
    reco_error_clear();
    rc = RECO_OK;
done:
    reco__log_built_free(c.a, &b);
    ctx_free(&c);
    return rc;
}

/* ---- writing --------------------------------------------------------------------------- */

static void render(reco__csv_writer *o, const reco_log *log, const char **names, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0)
            reco__csv_put(o, ",", 1);
        reco__csv_put(o, names[i], strlen(names[i]));
    }
    reco__csv_put(o, "\n", 1);
    const reco__log_cols *c = &log->rows;
    for (size_t r = 0; r < c->n && o->err == 0; r++) {
        char *line = reco__csv_room(o, 128 + 2 * RECO_LOG_MAX_SIGNALS);
        size_t w = reco__csv_format_u64(line, c->user[r]);
        line[w++] = ',';
        w += reco__csv_format_u64(line + w, c->session[r]);
        line[w++] = ',';
        w += reco__csv_format_u64(line + w, c->step[r]);
        line[w++] = ',';
        w += reco__csv_format_i64(line + w, c->ts[r]);
        line[w++] = ',';
        w += reco__csv_format_u64(line + w, (uint64_t)c->item[r]);
        for (uint32_t f = 0; f < log->n_signals; f++) {
            line[w++] = ',';
            line[w++] = (char)('0' + ((c->fb[r] >> f) & 1u));
        }
        line[w++] = ',';
        line[w++] = (char)('0' + c->exit[r]);
        o->n += w;
        /* the optional values in CSV order: propensity, candidates, oracle, user features */
        const size_t n_values = (size_t)c->has_prop + c->n_oracle + c->U;
        for (size_t k = 0; k <= n_values; k++) {
            if (k == (size_t)c->has_prop && c->Cmax > 0) {
                reco__csv_room(o, 1)[0] = ',';
                o->n++;
                for (uint32_t j = 0; j < c->ncand[r]; j++) {
                    char *p = reco__csv_room(o, 24);
                    size_t m = 0;
                    if (j > 0)
                        p[m++] = ' ';
                    m += reco__csv_format_u64(p + m, (uint64_t)c->cand[r * c->Cmax + j]);
                    o->n += m;
                }
            }
            if (k == n_values)
                break;
            float v;
            if (k < (size_t)c->has_prop)
                v = c->prop[r];
            else if (k < (size_t)c->has_prop + c->n_oracle)
                v = c->oracle[r * c->n_oracle + (k - (size_t)c->has_prop)];
            else
                v = c->uf[r * c->U + (k - (size_t)c->has_prop - c->n_oracle)];
            char *p = reco__csv_room(o, RECO__CSV_F32_MAX + 1);
            p[0] = ',';
            o->n += 1 + (isnan(v) ? 0 : reco__csv_format_f32(p + 1, v));
        }
        reco__csv_room(o, 1)[0] = '\n';
        o->n++;
    }
}

int reco_log_save_csv(const reco_log *log, const char *path)
{
    static const char fn[] = "reco_log_save_csv";
    if (log == NULL || path == NULL)
        return reco__error_set(RECO_EINVAL, "%s: log and path must not be NULL", fn);
    if (path[0] == '\0')
        return reco__error_set(RECO_EINVAL, "%s: path is empty", fn);
    const reco_allocator *a = &log->alloc;
    const uint32_t n = count_columns(log);
    const char **names = reco__alloc(a, n * sizeof *names, 0);
    if (names == NULL)
        return RECO_ENOMEM;
    column_names(names, log);
    reco__csv_writer o;
    int rc = reco__csv_writer_open(&o, a, path);
    if (rc == RECO_OK) {
        render(&o, log, names, n);
        rc = reco__csv_writer_commit(&o, "cannot write the log");
    }
    reco__free(a, names);
    return rc;
}
