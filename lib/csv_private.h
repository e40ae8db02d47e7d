/* The CSV machinery shared by the interaction log (lib/log_csv.c) and the item table
 * (lib/items.c): a streaming line reader with exact error locations, header and field
 * checks, locale-independent number parsing and formatting, an atomic buffered writer, and
 * the record of a lenient load's rejections.
 *
 * The grammar both files follow (docs/logs.md, docs/items.md): an optional UTF-8 byte order
 * mark, a header line that must equal the expected column names, then one row per line;
 * fields separated by ',' with no quotes and no whitespace; LF or CRLF line endings, the last
 * line may lack its own. Every problem is recorded with reco__error_set_at(RECO_EFORMAT,
 * path, line, column, column name, ...), so messages read "file:line:column: field: text".
 *
 * Numbers: unsigned integers are digits only (leading zeros accepted, no '+'); signed ones
 * take an optional '-'. Floats are `[-] digits [. digits] [(e|E) [+|-] digits]` (a digit on
 * at least one side of the point), read to the nearest float whatever the C library's
 * locale; "nan" and "inf" are not numbers here. */
#ifndef RECO_CSV_PRIVATE_H
#define RECO_CSV_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "error_private.h"
#include "file_private.h"
#include "reco/alloc.h"
#include "reco/error.h"

/* Longest column name, in bytes (names are also error fields). */
#define RECO__CSV_NAME_MAX 63
/* Bytes a value excerpt in a message may take (quotes, escapes and "..." included). */
#define RECO__CSV_EXCERPT_CAP 176
/* Longest text of one float field; longer ones are refused. */
#define RECO__CSV_FLOAT_TEXT_MAX 127
/* Most bytes reco__csv_format_f32() writes. */
#define RECO__CSV_F32_MAX 16
/* Lines may be this long, or 64 bytes per column if that is more. */
#define RECO__CSV_MIN_MAX_LINE (64u << 10)

/* A column name: 1..63 bytes of [A-Za-z0-9_], not starting with a digit. */
int reco__csv_name_ok(const char *s);

/* The longest line a file with `n_columns` columns may have. */
size_t reco__csv_max_line(size_t n_columns);

/* ---- reading ----------------------------------------------------------------------------- */

typedef struct reco__csv_reader {
    const char *path;         /* the file, also the source of error details; borrowed */
    const reco_allocator *a;
    int fd;
    char *buf;
    size_t len, pos, cap;     /* the read buffer: bytes held, next unread, size */
    size_t max_line;
    int eof;
    uint64_t line;            /* 1-based number of the line last returned */
    const char *const *names; /* the expected columns (reco__csv_read_header) */
    uint32_t n_columns;
} reco__csv_reader;

/* Opens `path` for reading lines of up to `max_line` bytes. Errors: RECO_EIO ("cannot open:
 * <reason>", "is a directory"), RECO_ENOMEM. On error nothing needs closing. */
int reco__csv_open(reco__csv_reader *r, const reco_allocator *a, const char *path,
                   size_t max_line);

/* Closes the file and frees the buffer; a zeroed reader (fd -1 or 0 with no buffer) is
 * accepted. */
void reco__csv_close(reco__csv_reader *r);

/* Next line without its "\n" (and without one "\r" before it). Returns 1 with a line, 0 at
 * the end of the file, or an error. A line longer than max_line is skipped and reported
 * through `*too_long` (with an empty line). */
int reco__csv_next_line(reco__csv_reader *r, const char **line, size_t *len, int *too_long);

/* Reads line 1 and checks that it is exactly `names` (n columns; kept, borrowed, for the row
 * helpers below) joined by ','. A byte order mark before it is skipped. RECO_EFORMAT names
 * the offending column: empty file, line too long, quotes, a missing, unknown, misordered or
 * extra column; the message shows the expected header. */
int reco__csv_read_header(reco__csv_reader *r, const char *const *names, uint32_t n);

/* Records an error at the current line, column `col` (1-based), for column `field` ("" for
 * none); returns RECO_EFORMAT. */
int reco__csv_error(const reco__csv_reader *r, uint32_t col, const char *field,
                    const char *fmt, ...) RECO__PRINTF(4, 5);

/* Splits a data line into exactly n_columns fields: starts[k] (0-based byte offset) and
 * lens[k], each array with room for n_columns + 1 entries. A line that is empty, holds a
 * quote, or has another number of fields is recorded as an error (RECO_EFORMAT). */
int reco__csv_split(const reco__csv_reader *r, const char *line, size_t len, size_t *starts,
                    size_t *lens);

/* `"text"` for messages: at most 40 bytes of `s`, non-printable bytes as \xNN; `out` has
 * RECO__CSV_EXCERPT_CAP bytes. Returns `out`. */
const char *reco__csv_excerpt(char *out, const char *s, size_t n);

/* " (whitespace is not allowed)" when `s` holds whitespace, else "". */
const char *reco__csv_space_hint(const char *s, size_t n);

/* Unsigned decimal: returns 0 (ok), 1 (syntax) or 2 (above `max`). */
int reco__csv_parse_u64(uint64_t *out, const char *s, size_t n, uint64_t max);

/* Signed decimal in int64 range: 0, 1 or 2 as above. */
int reco__csv_parse_i64(int64_t *out, const char *s, size_t n);

/* A float, rounded to nearest: returns 0 (ok; tiny values may round to a subnormal or 0),
 * 1 (syntax), 2 (beyond the float range), 3 ("nan", "inf", "infinity" in any case, with an
 * optional '-': not a finite number), 4 (longer than RECO__CSV_FLOAT_TEXT_MAX bytes). */
int reco__csv_parse_f32(float *out, const char *s, size_t n);

/* The message fragment for a parse_f32 result r != 0 ("is not a number", ...). */
const char *reco__csv_f32_problem(int r);

/* ---- writing ----------------------------------------------------------------------------- */

/* Decimal text of a value into `p` (no NUL); returns the length. */
size_t reco__csv_format_u64(char *p, uint64_t v);
size_t reco__csv_format_i64(char *p, int64_t v);

/* The shortest text (at most RECO__CSV_F32_MAX bytes, no NUL) that reco__csv_parse_f32()
 * reads back as exactly `v`, which must be finite: "0", "-0", "0.5", "1e-07" style without
 * '+' or leading exponent zeros ("1e-7"), positional for exponents -5..8. */
size_t reco__csv_format_f32(char *p, float v);

/* A text file written atomically through a 64 KiB buffer (lib/file_private.h's
 * reco__atomic_file). Writes never fail on their own: the first error is kept and reported
 * by reco__csv_writer_commit(). */
typedef struct reco__csv_writer {
    reco__atomic_file f;
    const reco_allocator *a;
    char *buf;
    size_t n, cap;
    int err;
} reco__csv_writer;

/* Errors: RECO_EINVAL (empty path), RECO_EIO, RECO_ENOMEM; on error nothing is left. */
int reco__csv_writer_open(reco__csv_writer *w, const reco_allocator *a, const char *path);

void reco__csv_flush(reco__csv_writer *w);

/* Room for `need` (<= 4096) bytes at the end of the buffer; the caller writes there and
 * advances w->n. */
static inline char *reco__csv_room(reco__csv_writer *w, size_t need)
{
    if (w->cap - w->n < need)
        reco__csv_flush(w);
    return w->buf + w->n;
}

void reco__csv_put(reco__csv_writer *w, const char *s, size_t n);

/* Flushes, makes durable and renames over the target; frees the writer in every case.
 * RECO_EIO "path: <what>: <reason>" on failure, the target untouched. */
int reco__csv_writer_commit(reco__csv_writer *w, const char *what);

/* ---- rejections of a lenient load --------------------------------------------------------- */

typedef struct reco__csv_rejection {
    int code;
    uint32_t line, column;
    char field[RECO__CSV_NAME_MAX + 9]; /* a name, or "p_" and a name */
    char *message;
} reco__csv_rejection;

typedef struct reco__csv_rejects {
    uint64_t n_rows;             /* rows (lines) rejected */
    size_t n, cap;               /* kept entries; cap = max_rejections */
    reco__csv_rejection *entries;
} reco__csv_rejects;

/* Records the current thread error (as set by reco__error_set_at) as a rejection of `rows`
 * rows; only the first `cap` keep their details. */
int reco__csv_reject(const reco_allocator *a, reco__csv_rejects *r, uint64_t rows);

void reco__csv_rejects_free(const reco_allocator *a, reco__csv_rejects *r);

/* Rejection i as a reco_error_info whose strings are owned by `r` / `source`. `fn` names the
 * public call in errors (RECO_EINVAL, RECO_EVERSION). */
int reco__csv_rejection_get(reco_error_info *out, const reco__csv_rejects *r,
                            const char *source, size_t i, const char *fn);

#endif /* RECO_CSV_PRIVATE_H */
