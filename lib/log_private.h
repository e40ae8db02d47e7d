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

#include "csv_private.h"
#include "reco/log.h"

/* Columns of a table of rows; `cap` rows are allocated in each array. The layout (U,
 * has_prop, n_oracle) is set while the table is empty (reco__log_cols_layout) and decides
 * which of the optional arrays exist. */
typedef struct reco__log_cols {
    size_t n, cap;
    uint64_t *user, *session;
    uint32_t *step;
    int64_t *ts;
    int32_t *item;
    uint32_t *fb;
    uint8_t *exit;
    uint32_t U;        /* user features per row */
    uint32_t n_oracle; /* oracle values per row: F + 1, or 0 without the oracle columns */
    int has_prop;      /* a propensity per row */
    float *prop;       /* (cap) or NULL */
    float *uf;         /* (cap, U) or NULL */
    float *oracle;     /* (cap, n_oracle) or NULL */
    uint32_t Cmax;     /* candidates per row at most, or 0 without the candidates column */
    uint32_t *ncand;   /* (cap) candidates per row, 0 = unknown; or NULL */
    int32_t *cand;     /* (cap, Cmax), RECO_PAD past a row's count; or NULL */
} reco__log_cols;

struct reco_log {
    reco_allocator alloc;
    uint32_t n_signals;
    char names[RECO_LOG_MAX_SIGNALS][RECO_LOG_SIGNAL_NAME_MAX + 1];
    uint32_t user_dim;
    int has_prop, has_oracle;
    uint32_t max_cand; /* the candidates column's max_candidates, 0 without it */
    char (*uf_names)[RECO_LOG_SIGNAL_NAME_MAX + 1];                    /* (user_dim) */
    char oracle_names[RECO_LOG_MAX_SIGNALS + 1][RECO_LOG_SIGNAL_NAME_MAX + 3]; /* p_<name> */
    reco__log_cols rows;
    size_t n_sessions, sess_cap;
    uint64_t *sess_first; /* (n_sessions) first row */
    uint32_t *sess_len;   /* (n_sessions) steps */
    size_t n_users;
    reco__csv_rejects rej;
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
                    const reco__log_locator *loc, reco__csv_rejects *rej,
                    const uint64_t *tainted, const uint64_t *tainted_line, size_t n_tainted);

void reco__log_built_free(const reco_allocator *a, reco__log_built *b);

/* Installs `b` as the log's rows (freeing the old ones); `b` is emptied. */
void reco__log_install(reco_log *log, reco__log_built *b);

/* Column storage. reco__log_cols_layout gives the empty `c` the optional columns of `log`. */
void reco__log_cols_layout(reco__log_cols *c, const reco_log *log);
int reco__log_cols_reserve(const reco_allocator *a, reco__log_cols *c, size_t cap);
void reco__log_cols_free(const reco_allocator *a, reco__log_cols *c);

/* Copies rows src[r .. r + count - 1] to dst[w ..] (every column; same layout, capacity
 * reserved). */
void reco__log_cols_copy(reco__log_cols *dst, size_t w, const reco__log_cols *src, size_t r,
                         size_t count);

/* 1 when the log has any column beyond those of version 1 (user features, propensity,
 * oracle, candidates). */
int reco__log_has_extras(const reco_log *log);

/* Copies a validated load-options struct (NULL: defaults). */
int reco__log_load_options(reco_log_load_options *o, const reco_log_load_options *in,
                           const char *fn);

/* Installs rejections and their source after a successful load (takes ownership). */
void reco__log_set_rejects(reco_log *log, reco__csv_rejects *r, char *source);

#endif /* RECO_LOG_PRIVATE_H */
