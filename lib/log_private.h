/* reco_log internals shared by lib/log.c (handle, index, append, split, binary files),
 * lib/log_csv.c (CSV), lib/log_generate.c (generation from an env) and lib/fit.c.
 *
 * Invariant of a reco_log between calls: `rows` is in canonical order (user, start time of
 * the session, session id, step), every session holds steps 0..n-1 exactly once with exit
 * only on its last step, and sess_first/sess_len describe the sessions in that order. Every
 * function that changes rows builds the new columns aside (reco__log_build) and swaps them
 * in only on success, which makes each public call atomic. */
#ifndef RECO_LOG_PRIVATE_H
#define RECO_LOG_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "reco/log.h"

/* Columns of a table of rows; `cap` rows are allocated in each array. */
typedef struct reco__log_cols {
    size_t n, cap;
    uint64_t *user, *session;
    uint32_t *step;
    int64_t *ts;
    int32_t *item;
    uint32_t *fb;
    uint8_t *exit;
} reco__log_cols;

/* A kept rejection of a lenient CSV load. */
typedef struct reco__log_rejection {
    int code;
    uint32_t line, column;
    char field[RECO_LOG_SIGNAL_NAME_MAX + 1];
    char *message;
} reco__log_rejection;

typedef struct reco__log_rejects {
    uint64_t n_rows;             /* rows rejected */
    size_t n, cap;               /* kept entries; cap = max_rejections */
    reco__log_rejection *entries;
} reco__log_rejects;

struct reco_log {
    reco_allocator alloc;
    uint32_t n_signals;
    char names[RECO_LOG_MAX_SIGNALS][RECO_LOG_SIGNAL_NAME_MAX + 1];
    reco__log_cols rows;
    size_t n_sessions, sess_cap;
    uint64_t *sess_first; /* (n_sessions) first row */
    uint32_t *sess_len;   /* (n_sessions) steps */
    size_t n_users;
    reco__log_rejects rej;
    char *rej_source;     /* file the rejections refer to */
};

/* Where a row came from, for messages. File rows: `source` and per-row `line`, `col_step`,
 * `col_exit` (1-based). Otherwise rows >= `call_base` are `rows[i - call_base]` of the
 * public call named `fn`, and rows below it were already in the log. */
typedef struct reco__log_locator {
    const char *source;
    const uint64_t *line;
    const uint32_t *col_step, *col_exit;
    size_t call_base;
    const char *fn;
    int code; /* status of structural errors: RECO_EFORMAT for files, RECO_EINVAL for calls */
} reco__log_locator;

/* Result of reco__log_build: canonical columns and their session index. */
typedef struct reco__log_built {
    reco__log_cols rows;
    size_t n_sessions;
    uint64_t *sess_first;
    uint32_t *sess_len;
    size_t n_users;
    int reordered; /* the input was not already in canonical order */
} reco__log_built;

/* Sorts and validates `in` (which is not modified). In strict mode (`rej` NULL) any
 * structural error fails the call: the one on the lowest line (file) or row (call) is
 * reported. In lenient mode the bad sessions are rejected into `rej` and dropped, and so
 * are the sessions listed in `tainted` (sorted (user, session) pairs, 2 * n_tainted values)
 * together with their reason line `tainted_line`. */
int reco__log_build(reco__log_built *out, const reco_allocator *a, const reco__log_cols *in,
                    const reco__log_locator *loc, reco__log_rejects *rej,
                    const uint64_t *tainted, const uint64_t *tainted_line, size_t n_tainted);

void reco__log_built_free(const reco_allocator *a, reco__log_built *b);

/* Installs `b` as the log's rows (freeing the old ones); `b` is emptied. */
void reco__log_install(reco_log *log, reco__log_built *b);

/* Column storage. */
int reco__log_cols_reserve(const reco_allocator *a, reco__log_cols *c, size_t cap);
void reco__log_cols_free(const reco_allocator *a, reco__log_cols *c);

/* Rejection records. `cap` is how many keep details. reco__log_reject() records the current
 * thread error (as set by reco__error_set_at) as a rejection of `rows` rows. */
int reco__log_reject(const reco_allocator *a, reco__log_rejects *r, uint64_t rows);
void reco__log_rejects_free(const reco_allocator *a, reco__log_rejects *r);

/* Copies a validated load-options struct (NULL: defaults). */
int reco__log_load_options(reco_log_load_options *o, const reco_log_load_options *in,
                           const char *fn);

/* Installs rejections and their source after a successful load (takes ownership). */
void reco__log_set_rejects(reco_log *log, reco__log_rejects *r, char *source);

#endif /* RECO_LOG_PRIVATE_H */
