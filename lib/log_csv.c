/* reco_log CSV: a streaming, strict reader with exact error locations, and an atomic writer.
 *
 * Grammar (docs/logs.md):
 *   file    = [BOM] header EOL { row EOL } [row]     EOL = "\n" | "\r\n"; the last line may
 *                                                    lack its EOL
 *   header  = "user,session,step,timestamp,item," names ",exit"
 *   row     = u64 "," u64 "," u32 "," i64 "," i32 { "," bit } "," bit
 *   u64 etc = decimal digits (leading zeros allowed), i64 with an optional '-'; no '+', no
 *             spaces, no quotes; bit = "0" | "1"
 * Empty lines are errors: a row per line, always.
 *
 * The file is read through a fixed 256 KiB buffer (lines up to 64 KiB), so memory grows with
 * the rows kept, not with the file. Each kept row also remembers its line and the columns of
 * its step and exit fields until the load ends, for the session checks' messages. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc_private.h"
#include "error_private.h"
#include "log_private.h"
#include "file_private.h"

#define READ_BUF (256u << 10)
#define MAX_LINE (64u << 10)
#define EXCERPT 40

/* Columns before the signals, and the column after them. */
static const char *const lead_columns[5] = {"user", "session", "step", "timestamp", "item"};
enum { COL_USER, COL_SESSION, COL_STEP, COL_TS, COL_ITEM, N_LEAD };

typedef struct tainted_entry {
    uint64_t user, session, line;
} tainted_entry;

typedef struct csv_ctx {
    const char *path;
    const reco_log *log;
    const reco_allocator *a;
    reco_log_load_options o;
    uint32_t n_fields;
    const char *names[N_LEAD + RECO_LOG_MAX_SIGNALS + 1];
    int fd;
    char *buf;
    size_t len, pos;
    int eof;
    uint64_t line;
    reco__log_cols cols;
    uint64_t *lines;
    uint32_t *col_step, *col_exit;
    size_t loc_cap;
    reco__log_rejects rej;
    tainted_entry *tainted;
    size_t n_tainted, tainted_cap;
} csv_ctx;

static uint32_t line32(uint64_t line)
{
    return line > UINT32_MAX ? UINT32_MAX : (uint32_t)line;
}

/* `"text"` for messages: at most EXCERPT bytes, non-printable bytes as \xNN. */
static const char *excerpt(char *out, size_t cap, const char *s, size_t n)
{
    size_t w = 0;
    out[w++] = '"';
    for (size_t i = 0; i < n && i < EXCERPT && w + 6 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') {
            out[w++] = (char)ch;
        } else {
            int k = snprintf(out + w, cap - w, "\\x%02x", ch);
            w += k > 0 ? (size_t)k : 0;
        }
    }
    if (n > EXCERPT && w + 4 < cap) {
        memcpy(out + w, "...", 3);
        w += 3;
    }
    out[w++] = '"';
    out[w] = '\0';
    return out;
}

static int io_error(const char *path, const char *what, int err)
{
    char msg[256];
    if (strerror_r(err, msg, sizeof msg) != 0)
        snprintf(msg, sizeof msg, "error %d", err);
    return reco__error_set_at(RECO_EIO, path, 0, 0, NULL, "%s: %s", what, msg);
}

static int has_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\v' || s[i] == '\f')
            return 1;
    return 0;
}

/* ---- reading lines --------------------------------------------------------------------- */

static int fill(csv_ctx *c)
{
    if (c->pos > 0) {
        memmove(c->buf, c->buf + c->pos, c->len - c->pos);
        c->len -= c->pos;
        c->pos = 0;
    }
    while (c->len < READ_BUF) {
        ssize_t got = read(c->fd, c->buf + c->len, READ_BUF - c->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return io_error(c->path, "cannot read", errno);
        if (got == 0)
            c->eof = 1;
        c->len += (size_t)got;
        return RECO_OK;
    }
    return RECO_OK;
}

/* Next line without its "\n" (and without one "\r" before it). Returns 1 with a line, 0 at
 * the end of the file, or an error. A line longer than MAX_LINE is skipped and reported
 * through `*too_long`. */
static int next_line(csv_ctx *c, const char **line, size_t *len, int *too_long)
{
    *too_long = 0;
    for (;;) {
        char *start = c->buf + c->pos;
        size_t avail = c->len - c->pos;
        char *nl = memchr(start, '\n', avail);
        if (nl != NULL || (c->eof && avail > 0)) {
            size_t n = nl != NULL ? (size_t)(nl - start) : avail;
            c->pos += nl != NULL ? n + 1 : n;
            c->line++;
            if (n > MAX_LINE)
                *too_long = 1;
            if (*too_long) {
                *line = start;
                *len = 0;
                return 1;
            }
            if (n > 0 && start[n - 1] == '\r')
                n--;
            *line = start;
            *len = n;
            return 1;
        }
        if (c->eof) {
            if (*too_long) {
                c->line++;
                *line = start;
                *len = 0;
                return 1;
            }
            return 0;
        }
        if (avail >= MAX_LINE) {
            *too_long = 1;
            c->pos = c->len; /* drop what we have of it; keep reading to its end */
        }
        int rc = fill(c);
        if (rc < 0)
            return rc;
    }
}

/* ---- the header ------------------------------------------------------------------------ */

static int header_error(csv_ctx *c, uint32_t col, const char *field, const char *fmt, ...)
    RECO__PRINTF(4, 5);

static int header_error(csv_ctx *c, uint32_t col, const char *field, const char *fmt, ...)
{
    char expected[1200];
    size_t w = 0;
    expected[0] = '\0';
    for (uint32_t i = 0; i < c->n_fields && w < sizeof expected; i++) {
        int k = snprintf(expected + w, sizeof expected - w, "%s%s", i ? "," : "", c->names[i]);
        w += k > 0 ? (size_t)k : 0;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return reco__error_set_at(RECO_EFORMAT, c->path, 1, col, field, "%s (the header must be "
                              "\"%.600s\")", msg, expected);
}

static int find_name(const csv_ctx *c, const char *s, size_t n)
{
    for (uint32_t i = 0; i < c->n_fields; i++)
        if (strlen(c->names[i]) == n && memcmp(c->names[i], s, n) == 0)
            return (int)i;
    return -1;
}

/* 1 if the header's fields from byte `from` on include `name`. */
static int later_has(const char *line, size_t len, size_t from, const char *name)
{
    const size_t n = strlen(name);
    while (from <= len) {
        const char *comma = memchr(line + from, ',', len - from);
        size_t end = comma != NULL ? (size_t)(comma - line) : len;
        if (end - from == n && memcmp(line + from, name, n) == 0)
            return 1;
        if (comma == NULL)
            break;
        from = end + 1;
    }
    return 0;
}

static int check_header(csv_ctx *c, const char *line, size_t len, uint32_t col0)
{
    const char *q = memchr(line, '"', len);
    if (q != NULL) {
        uint32_t k = 0;
        for (const char *p = line; p < q; p++)
            k += *p == ',';
        return header_error(c, col0 + (uint32_t)(q - line), k < c->n_fields ? c->names[k] : "",
                            "quoted column names are not supported");
    }
    size_t start = 0;
    uint32_t i = 0;
    char ex[EXCERPT * 4 + 8];
    for (;; i++) {
        const char *comma = memchr(line + start, ',', len - start);
        size_t end = comma != NULL ? (size_t)(comma - line) : len;
        const char *s = line + start;
        size_t n = end - start;
        uint32_t col = col0 + (uint32_t)start;
        if (i >= c->n_fields)
            return header_error(c, col, "", "unexpected column %s after \"exit\"",
                                excerpt(ex, sizeof ex, s, n));
        const char *want = c->names[i];
        if (!(strlen(want) == n && memcmp(want, s, n) == 0)) {
            if (n == 0)
                return header_error(c, col, want, "empty column name where \"%s\" belongs",
                                    want);
            if (later_has(line, len, end + 1, want) && find_name(c, s, n) >= 0)
                return header_error(c, col, want, "columns out of order: expected \"%s\" here, "
                                    "found %s", want, excerpt(ex, sizeof ex, s, n));
            if (find_name(c, s, n) >= 0)
                return header_error(c, col, want, "missing column \"%s\" (found %s in its "
                                    "place)", want, excerpt(ex, sizeof ex, s, n));
            return header_error(c, col, want, "unknown column %s where \"%s\" belongs",
                                excerpt(ex, sizeof ex, s, n), want);
        }
        if (comma == NULL)
            break;
        start = end + 1;
    }
    if (i + 1 < c->n_fields)
        return header_error(c, col0 + (uint32_t)len, c->names[i + 1],
                            "missing column \"%s\" at the end of the header", c->names[i + 1]);
    return RECO_OK;
}

/* ---- rows ------------------------------------------------------------------------------ */

static int row_error(csv_ctx *c, uint32_t col, const char *field, const char *fmt, ...)
    RECO__PRINTF(4, 5);

static int row_error(csv_ctx *c, uint32_t col, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return reco__error_set_at(RECO_EFORMAT, c->path, line32(c->line), col, field, "%s", msg);
}

/* Unsigned decimal; returns 0 (ok), 1 (syntax), 2 (above `max`). */
static int parse_u64(uint64_t *out, const char *s, size_t n, uint64_t max)
{
    if (n == 0)
        return 1;
    uint64_t v = 0;
    int over = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned char)s[i] - (unsigned)'0';
        if (d > 9)
            return 1;
        if (v > (max - d) / 10)
            over = 1;
        else
            v = v * 10 + d;
    }
    if (over)
        return 2;
    *out = v;
    return 0;
}

static int parse_i64(int64_t *out, const char *s, size_t n)
{
    int neg = n > 0 && s[0] == '-';
    uint64_t v;
    int r = parse_u64(&v, s + neg, n - (size_t)neg, neg ? (uint64_t)INT64_MAX + 1u
                                                        : (uint64_t)INT64_MAX);
    if (r != 0)
        return r;
    *out = neg ? (v == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return 0;
}

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
        memcpy(ce, c->col_exit, n * sizeof(uint32_t));
    }
    reco__free(c->a, c->lines);
    reco__free(c->a, c->col_step);
    reco__free(c->a, c->col_exit);
    c->lines = l;
    c->col_step = cs;
    c->col_exit = ce;
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
    e->line = c->line;
    return RECO_OK;
}

/* Parses one data line. On a bad row returns RECO_EFORMAT (recorded), and sets `*us_ok` when
 * its user and session were read (into us[0], us[1]). */
static int parse_row(csv_ctx *c, const char *line, size_t len, uint64_t us[2], int *us_ok)
{
    *us_ok = 0;
    const uint32_t E = c->n_fields;
    char ex[EXCERPT * 4 + 8];
    if (len == 0)
        return row_error(c, 1, "", "empty line (every line after the header must be a row)");
    const char *q = memchr(line, '"', len);
    size_t starts[N_LEAD + RECO_LOG_MAX_SIGNALS + 2], lens[N_LEAD + RECO_LOG_MAX_SIGNALS + 2];
    uint32_t nf = 0;
    size_t start = 0;
    for (;;) {
        const char *comma = memchr(line + start, ',', len - start);
        size_t end = comma != NULL ? (size_t)(comma - line) : len;
        if (nf <= E) {
            starts[nf] = start;
            lens[nf] = end - start;
        }
        nf++;
        if (comma == NULL)
            break;
        start = end + 1;
    }
    if (q != NULL) {
        size_t at = (size_t)(q - line);
        uint32_t k = 0;
        while (k + 1 < nf && k + 1 <= E && starts[k + 1] <= at)
            k++;
        return row_error(c, (uint32_t)at + 1, k < E ? c->names[k] : "",
                         "quoted fields are not supported (values are plain numbers)");
    }
    if (nf < E)
        return row_error(c, (uint32_t)len + 1, c->names[nf], "expected %u fields, found %u", E,
                         nf);
    if (nf > E)
        return row_error(c, (uint32_t)starts[E] + 1, "", "expected %u fields, found %u "
                         "(an extra field after \"exit\")", E, nf);
    uint64_t user = 0, session = 0, v = 0;
    uint32_t step = 0, fb = 0;
    int64_t ts = 0;
    int32_t item = 0;
    uint8_t ex_flag = 0;
    for (uint32_t k = 0; k < E; k++) {
        const char *s = line + starts[k];
        const size_t n = lens[k];
        const uint32_t col = (uint32_t)starts[k] + 1;
        const char *name = c->names[k];
        const char *hint = has_space(s, n) ? " (whitespace is not allowed)" : "";
        int r;
        if (k == COL_TS) {
            r = parse_i64(&ts, s, n);
            if (r == 1)
                return row_error(c, col, name, "%s is not an integer%s",
                                 excerpt(ex, sizeof ex, s, n), hint);
            if (r == 2)
                return row_error(c, col, name, "%s is out of range [%" PRId64 ", %" PRId64 "]",
                                 excerpt(ex, sizeof ex, s, n), INT64_MIN, INT64_MAX);
            continue;
        }
        if (k >= N_LEAD) {
            if (n != 1 || (s[0] != '0' && s[0] != '1'))
                return row_error(c, col, name, "%s is not 0 or 1%s",
                                 excerpt(ex, sizeof ex, s, n), hint);
            if (k == E - 1)
                ex_flag = (uint8_t)(s[0] == '1');
            else if (s[0] == '1')
                fb |= 1u << (k - N_LEAD);
            continue;
        }
        const uint64_t max = k == COL_STEP ? UINT32_MAX : k == COL_ITEM ? (uint64_t)INT32_MAX
                                                                        : UINT64_MAX;
        r = parse_u64(&v, s, n, max);
        if (r == 1)
            return row_error(c, col, name, "%s is not a non-negative integer%s",
                             excerpt(ex, sizeof ex, s, n), hint);
        if (r == 2)
            return row_error(c, col, name, "%s is out of range [0, %" PRIu64 "]",
                             excerpt(ex, sizeof ex, s, n), max);
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
                return row_error(c, col, name, "item %" PRIu64 " is out of range [0, %u] (the "
                                 "catalog has %u items)", v, c->o.n_items - 1, c->o.n_items);
            item = (int32_t)v;
            break;
        }
    }
    int rc = grow_rows(c);
    if (rc < 0)
        return rc;
    const size_t w = c->cols.n++;
    c->cols.user[w] = user;
    c->cols.session[w] = session;
    c->cols.step[w] = step;
    c->cols.ts[w] = ts;
    c->cols.item[w] = item;
    c->cols.fb[w] = fb;
    c->cols.exit[w] = ex_flag;
    c->lines[w] = c->line;
    c->col_step[w] = (uint32_t)starts[COL_STEP] + 1;
    c->col_exit[w] = (uint32_t)starts[E - 1] + 1;
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
    reco__free(c->a, c->buf);
    reco__log_cols_free(c->a, &c->cols);
    reco__free(c->a, c->lines);
    reco__free(c->a, c->col_step);
    reco__free(c->a, c->col_exit);
    reco__free(c->a, c->tainted);
    reco__log_rejects_free(c->a, &c->rej);
    if (c->fd >= 0)
        close(c->fd);
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
    c.fd = -1;
    int rc = reco__log_load_options(&c.o, opts, fn);
    if (rc < 0)
        return rc;
    c.path = path;
    c.log = log;
    c.a = &log->alloc;
    for (uint32_t i = 0; i < N_LEAD; i++)
        c.names[i] = lead_columns[i];
    for (uint32_t f = 0; f < log->n_signals; f++)
        c.names[N_LEAD + f] = log->names[f];
    c.names[N_LEAD + log->n_signals] = "exit";
    c.n_fields = N_LEAD + log->n_signals + 1;
    c.rej.cap = c.o.lenient ? c.o.max_rejections : 0;

    reco__log_built b;
    memset(&b, 0, sizeof b);
    char *source = NULL;
    c.buf = reco__alloc(c.a, READ_BUF, 0);
    if (c.buf == NULL) {
        rc = RECO_ENOMEM;
        goto done;
    }
    c.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (c.fd < 0) {
        rc = io_error(path, "cannot open", errno);
        goto done;
    }
    struct stat st;
    if (fstat(c.fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = reco__error_set_at(RECO_EIO, path, 0, 0, NULL, "is a directory");
        goto done;
    }
    const char *line;
    size_t len;
    int too_long;
    rc = next_line(&c, &line, &len, &too_long);
    if (rc < 0)
        goto done;
    if (rc == 0) {
        rc = header_error(&c, 1, "", "the file is empty");
        goto done;
    }
    if (too_long) {
        rc = header_error(&c, 1, "", "the header line is longer than %u bytes", MAX_LINE);
        goto done;
    }
    uint32_t col0 = 1;
    if (len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) { /* UTF-8 byte order mark */
        line += 3;
        len -= 3;
        col0 = 4;
    }
    if ((rc = check_header(&c, line, len, col0)) < 0)
        goto done;

    for (;;) {
        rc = next_line(&c, &line, &len, &too_long);
        if (rc < 0)
            goto done;
        if (rc == 0)
            break;
        uint64_t us[2];
        int us_ok = 0;
        if (too_long)
            rc = row_error(&c, 1, "", "the line is longer than %u bytes", MAX_LINE);
        else
            rc = parse_row(&c, line, len, us, &us_ok);
        if (rc == RECO_ENOMEM)
            goto done;
        if (rc < 0) {
            if (!c.o.lenient)
                goto done;
            if ((rc = reco__log_reject(c.a, &c.rej, 1)) < 0)
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
    loc.col_exit = c.col_exit;
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

typedef struct text_out {
    int fd;
    char *buf;
    size_t n, cap;
    int err;
} text_out;

static void out_flush(text_out *o)
{
    const char *p = o->buf;
    size_t n = o->n;
    while (n > 0 && o->err == 0) {
        ssize_t w = write(o->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            o->err = errno;
            break;
        }
        p += w;
        n -= (size_t)w;
    }
    o->n = 0;
}

static void out_put(text_out *o, const char *s, size_t n)
{
    if (o->n + n > o->cap)
        out_flush(o);
    memcpy(o->buf + o->n, s, n);
    o->n += n;
}

static size_t fmt_u64(char *p, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

static size_t fmt_i64(char *p, int64_t v)
{
    if (v < 0) {
        p[0] = '-';
        return 1 + fmt_u64(p + 1, (uint64_t)0 - (uint64_t)v);
    }
    return fmt_u64(p, (uint64_t)v);
}

static void render(text_out *o, const reco_log *log)
{
    for (uint32_t i = 0; i < N_LEAD; i++) {
        out_put(o, lead_columns[i], strlen(lead_columns[i]));
        out_put(o, ",", 1);
    }
    for (uint32_t f = 0; f < log->n_signals; f++) {
        out_put(o, log->names[f], strlen(log->names[f]));
        out_put(o, ",", 1);
    }
    out_put(o, "exit\n", 5);
    const reco__log_cols *c = &log->rows;
    char line[256];
    for (size_t r = 0; r < c->n && o->err == 0; r++) {
        size_t w = fmt_u64(line, c->user[r]);
        line[w++] = ',';
        w += fmt_u64(line + w, c->session[r]);
        line[w++] = ',';
        w += fmt_u64(line + w, c->step[r]);
        line[w++] = ',';
        w += fmt_i64(line + w, c->ts[r]);
        line[w++] = ',';
        w += fmt_u64(line + w, (uint64_t)c->item[r]);
        for (uint32_t f = 0; f < log->n_signals; f++) {
            line[w++] = ',';
            line[w++] = (char)('0' + ((c->fb[r] >> f) & 1u));
        }
        line[w++] = ',';
        line[w++] = (char)('0' + c->exit[r]);
        line[w++] = '\n';
        out_put(o, line, w);
    }
    out_flush(o);
}

int reco_log_save_csv(const reco_log *log, const char *path)
{
    static const char fn[] = "reco_log_save_csv";
    if (log == NULL || path == NULL)
        return reco__error_set(RECO_EINVAL, "%s: log and path must not be NULL", fn);
    if (path[0] == '\0')
        return reco__error_set(RECO_EINVAL, "%s: path is empty", fn);
    const reco_allocator *a = &log->alloc;
    text_out o = {-1, NULL, 0, 64u << 10, 0};
    o.buf = reco__alloc(a, o.cap, 0);
    if (o.buf == NULL)
        return RECO_ENOMEM;
    reco__atomic_file f;
    int rc = reco__atomic_open(&f, a, path);
    if (rc == RECO_OK) {
        o.fd = f.fd;
        render(&o, log);
        rc = reco__atomic_commit(&f, o.err, "cannot write the log");
    }
    reco__free(a, o.buf);
    return rc;
}
