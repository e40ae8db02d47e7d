/**
 * @file log.h
 * @brief Interaction logs: load and save CSV and binary, iterate sessions, split by user,
 *        generate from any @ref reco_env under a logging policy.
 * @defgroup reco_log Interaction logs
 * @ingroup reco_lab
 *
 * A @ref reco_log is a table of interactions, one row per item shown:
 *
 * | column      | type     | meaning                                                        |
 * | ----------- | -------- | -------------------------------------------------------------- |
 * | `user`      | uint64   | user id                                                        |
 * | `session`   | uint64   | session id; a session is identified by the pair (user, session) |
 * | `step`      | uint32   | 0-based position of the row within its session                 |
 * | `timestamp` | int64    | seconds (any epoch; only the order matters to the library)     |
 * | `item`      | int32    | item shown, `>= 0`                                             |
 * | one per signal | 0/1   | feedback signal f (click, long watch, ...): bit f of `feedback` |
 * | `exit`      | 0/1      | the user left after this step                                  |
 * | `propensity` | float  | optional: the logging policy's probability of the item, (0, 1] |
 * | `p_<signal>`, `p_exit` | float | optional oracle: true probability of each signal, exit |
 * | one per user feature | float | optional: U dense features of the user (`u0`, `u1`, ...) |
 *
 * The optional columns are declared when the log is created (@ref reco_log_options version
 * 2: @c user_dim, @c user_feature_names, @c propensity, @c oracle) and every row of the log
 * then has them. An unknown propensity or oracle value is NaN in memory and an empty field
 * in CSV; user features are always known.
 *
 * **Signals.** A log has `n_signals` named signals (1..@ref RECO_LOG_MAX_SIGNALS), fixed at
 * creation; the default is the four of @ref RECO_SIGNAL_CLICK .. @ref RECO_SIGNAL_HIDE named
 * `click`, `long_watch`, `like`, `hide`. The names are the CSV column names.
 *
 * **Sessions.** Every session holds steps `0 .. n-1`, each exactly once, and `exit` may be 1
 * only on its last step. A session whose last step has `exit = 0` is *truncated* (the log
 * ends before the user left, or a maximum length cut it); that is allowed. Sessions may appear
 * in any order in a file and their rows may be interleaved with other sessions' rows.
 *
 * **Canonical order.** A log always keeps its rows sorted: by user (ascending), then the
 * user's sessions by the timestamp of their step 0, then session id, then the steps of a
 * session in order. So the rows of a session are contiguous and in step order, and the rows
 * of a user are contiguous with their history in time order — the i-th session is rows
 * `first_row .. first_row + n_steps - 1` (reco_log_session()).
 *
 * **CSV.** The first line is the header `user,session,step,timestamp,item,<signal names>,exit`
 * (for the defaults: `user,session,step,timestamp,item,click,long_watch,like,hide,exit`),
 * followed by the optional columns the log declares, in this order: `propensity`, then
 * `p_<signal name>` for every signal and `p_exit`, then the user feature names. Every further
 * line is one row of plain decimal numbers separated by commas. See `docs/logs.md` for the
 * exact grammar; in short: LF or CRLF line endings, the last line may lack its newline, no
 * quotes, no whitespace inside a line, no empty lines, signal and exit values `0` or `1`,
 * floats such as `0.25`, `-3`, `1.5e-7` (never `nan` or `inf`), and an empty propensity or
 * oracle field for "unknown".
 * reco_log_load_csv() reports every problem with the file name, 1-based line and column and
 * the column name, e.g. `logs.csv:17:23: item: "abc" is not a non-negative integer`, either
 * failing on the first one (strict, the default) or rejecting the bad rows and keeping a count
 * and the first few messages (lenient): nothing is dropped silently.
 *
 * **Binary.** reco_log_save() writes a compact, checksummed, columnar file (magic `RECOLOG1`,
 * about 16 bytes per row plus 20 per session, plus 4 bytes per optional value) that
 * reco_log_load() reads back exactly.
 *
 * @code
 * reco_log *log = NULL;
 * if (reco_log_create(&log, NULL) < 0) { fprintf(stderr, "%s\n", reco_error_message()); return 1; }
 * reco_log_load_options lo = RECO_LOG_LOAD_OPTIONS_INIT;
 * lo.lenient = 1;                  // reject bad rows, keep the good ones
 * lo.n_items = 10000;              // catalog size: larger item ids are errors
 * if (reco_log_load_csv(log, "logs.csv", &lo) < 0) {
 *     fprintf(stderr, "%s\n", reco_error_message());  // e.g. a wrong header
 *     reco_log_free(log);
 *     return 1;
 * }
 * for (size_t i = 0; i < reco_log_n_rejections(log); i++) {
 *     reco_error_info e = RECO_ERROR_INFO_INIT;
 *     reco_log_rejection(&e, log, i);
 *     fprintf(stderr, "rejected: %s\n", e.message);
 * }
 * for (size_t s = 0; s < reco_log_n_sessions(log); s++) {
 *     size_t first, n;
 *     reco_log_session(&first, &n, log, s);
 *     reco_log_row row = RECO_LOG_ROW_INIT;
 *     reco_log_get_row(&row, log, first + n - 1);   // the session's last step
 * }
 * reco_log *train = NULL, *valid = NULL;
 * reco_log_split(&train, &valid, log, 0.1, 42);     // 10% of the users to validation
 * reco_log_save(train, "train.recolog");
 * reco_log_free(train);
 * reco_log_free(valid);
 * reco_log_free(log);
 * @endcode
 *
 * @par Memory
 * A log stores about 37 bytes per row (its columns), 4 more per optional value (propensity,
 * F + 1 oracle values, U user features) and 12 per session, from the allocator in its
 * options. Loading holds a second copy of the rows while it sorts and validates them.
 *
 * @par Thread safety
 * Calls that take a `const reco_log *` (getters, saving, splitting, generating from a policy)
 * may run concurrently with each other; a call that changes a log (load, append, generate
 * into it, reset) must not run concurrently with any other call on the same log.
 *
 * @par API tier
 * **Lab**: may change in any 0.x release; declared only where `RECO_LAB_API` is defined
 * before the first libreco include (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_LOG_H
#define RECO_LOG_H
#ifndef RECO_LAB_API
#error "reco/log.h is lab API, may change in any 0.x: define RECO_LAB_API first (docs/abi.md)"
#endif

#include "reco/common.h"
#include "reco/alloc.h"
#include "reco/error.h"
#include "reco/env.h"
#include "reco/model.h"

RECO_BEGIN_DECLS

/* The signal bits RECO_SIGNAL_CLICK .. RECO_SIGNAL_HIDE and RECO_N_SIGNALS_DEFAULT are
 * defined in reco/env.h. */
/** Largest number of signals a log may have (the model's limit). @since 0.1 */
#define RECO_LOG_MAX_SIGNALS 16
/** Longest signal name, in bytes. @since 0.1 */
#define RECO_LOG_SIGNAL_NAME_MAX 63
/** Most user features per row (@ref reco_log_options @c user_dim). @since 0.2 */
#define RECO_LOG_MAX_USER_DIM 4096

/**
 * @def RECO_LOG_UNKNOWN
 * @brief A float NaN usable in initialisers: the value of an unknown propensity or oracle
 *        probability in a @ref reco_log_row. Test for it with `isnan()` (a NaN never compares
 *        equal to anything).
 * @since 0.2
 */
#if defined(__GNUC__) || defined(__clang__)
#  define RECO_LOG_UNKNOWN (__builtin_nanf(""))
#else
#  define RECO_LOG_UNKNOWN ((float)(1e300 * 1e300) * 0.0f)
#endif

/**
 * @brief Opaque log handle.
 * @since 0.1
 */
typedef struct reco_log reco_log;

/** Most candidates per row of the `candidates` column (@ref reco_log_options
 *  @c max_candidates). @since 0.2 */
#define RECO_LOG_MAX_CANDIDATES 4096

/** Current version of @ref reco_log_options (2 added the optional columns: user features,
 *  propensity, oracle; 3 the candidates). @since 0.1 */
#define RECO_LOG_OPTIONS_VERSION 3
/** Initialiser for @ref reco_log_options with the four default signals and no optional
 *  columns. @since 0.1 */
#define RECO_LOG_OPTIONS_INIT { RECO_LOG_OPTIONS_VERSION, NULL, RECO_N_SIGNALS_DEFAULT, NULL, \
                                0, NULL, 0, 0, 0 }

/**
 * @brief Options for reco_log_create().
 * @since 0.1
 */
typedef struct reco_log_options {
    unsigned int version;            /**< @ref RECO_LOG_OPTIONS_VERSION. */
    const reco_allocator *allocator; /**< NULL: the process default; copied at creation. */
    /** Number of feedback signals F, 1..@ref RECO_LOG_MAX_SIGNALS. Default 4. */
    uint32_t n_signals;
    /** F signal names (copied), or NULL for the defaults: `click`, `long_watch`, `like`,
     *  `hide`, then `signal4`, `signal5`, ... A name is 1..@ref RECO_LOG_SIGNAL_NAME_MAX
     *  bytes of `[A-Za-z0-9_]`, starts with a letter or `_`, and differs from the other
     *  names and from `user`, `session`, `step`, `timestamp`, `item` and `exit` (and from
     *  the log's other columns: `propensity`, `p_...`, the user feature names). */
    const char *const *signal_names;
    /* ---- version 2 (0.2): the optional columns, in their CSV order after `exit` ---- */
    /** U, dense user features per row (the last U columns), 0..@ref RECO_LOG_MAX_USER_DIM.
     *  When U > 0 every row must carry them (reco_log_append() refuses rows without).
     *  Default 0. @since 0.2 */
    uint32_t user_dim;
    /** U user feature names (copied), or NULL for `u0`, `u1`, ...; the rules of signal
     *  names, and each differs from every other column of the log. Ignored when U is 0.
     *  @since 0.2 */
    const char *const *user_feature_names;
    /** Nonzero: every row carries the logging policy's probability of the item shown
     *  (column `propensity`, in (0, 1], or unknown), for off-policy estimates. Default 0.
     *  @since 0.2 */
    int propensity;
    /** Nonzero: every row carries the environment's true probability of each signal and of
     *  the exit (columns `p_<signal name>` for each signal, then `p_exit`, each in [0, 1] or
     *  unknown), what @ref reco_env version 3's probabilities() gives, so that a fitted
     *  model can be compared with the truth. Default 0. @since 0.2 */
    int oracle;
    /* ---- version 3 (0.2) ---- */
    /** Nonzero: every row may carry the candidates the logging policy chose from (column
     *  `candidates`, after `propensity`: the items separated by spaces, empty = unknown),
     *  1..max_candidates of them with the shown item among them, for off-policy estimates
     *  (reco_ope_estimate()). At most @ref RECO_LOG_MAX_CANDIDATES. Default 0: no such
     *  column. @since 0.2 */
    uint32_t max_candidates;
} reco_log_options;

/** Current version of @ref reco_log_load_options. @since 0.1 */
#define RECO_LOG_LOAD_OPTIONS_VERSION 1
/** Initialiser for @ref reco_log_load_options (strict, no catalog check, keep 100). @since 0.1 */
#define RECO_LOG_LOAD_OPTIONS_INIT { RECO_LOG_LOAD_OPTIONS_VERSION, 0, 0, 100 }

/**
 * @brief Options for reco_log_load_csv() and reco_log_load().
 * @since 0.1
 */
typedef struct reco_log_load_options {
    unsigned int version; /**< @ref RECO_LOG_LOAD_OPTIONS_VERSION. */
    /** 0 (default): strict, the first bad row fails the load. Nonzero: lenient, bad rows are
     *  rejected and counted (CSV only; a binary file is always all or nothing). */
    int lenient;
    /** Catalog size: item ids must be below it; 0 (default): no check. */
    uint32_t n_items;
    /** Lenient mode: how many rejections keep their details (reco_log_rejection()); the
     *  count (reco_log_n_rejected()) covers all of them. Default 100. */
    uint32_t max_rejections;
} reco_log_load_options;

/** Current version of @ref reco_log_row (2 added the optional columns, 3 the candidates).
 *  @since 0.1 */
#define RECO_LOG_ROW_VERSION 3
/** @cond INTERNAL */
#define RECO_LOG_UNKNOWN_ORACLE_                                                              \
    { RECO_LOG_UNKNOWN, RECO_LOG_UNKNOWN, RECO_LOG_UNKNOWN, RECO_LOG_UNKNOWN, RECO_LOG_UNKNOWN, \
      RECO_LOG_UNKNOWN, RECO_LOG_UNKNOWN, RECO_LOG_UNKNOWN, RECO_LOG_UNKNOWN, RECO_LOG_UNKNOWN, \
      RECO_LOG_UNKNOWN, RECO_LOG_UNKNOWN, RECO_LOG_UNKNOWN, RECO_LOG_UNKNOWN, RECO_LOG_UNKNOWN, \
      RECO_LOG_UNKNOWN, RECO_LOG_UNKNOWN }
/** @endcond */
/** Initialiser for a @ref reco_log_row of the current version: zeros, no user features,
 *  propensity and oracle unknown (@ref RECO_LOG_UNKNOWN). @since 0.1 */
#define RECO_LOG_ROW_INIT { RECO_LOG_ROW_VERSION, 0, 0, 0, 0, 0, 0, 0, NULL, RECO_LOG_UNKNOWN, \
                            RECO_LOG_UNKNOWN_ORACLE_, 0, NULL }

/**
 * @brief One interaction, for reco_log_get_row() and reco_log_append().
 *
 * **Versions.** A caller sets @c version; the library reads and writes only the members of
 * that version, so a version-1 struct (which ends after @c exit) keeps working: reading it
 * fills nothing past @c exit, and appending it gives the row an unknown propensity and
 * oracle, and is refused with @ref RECO_EINVAL when the log has user features (a version-1
 * row has none). An array passed to reco_log_append() holds rows of one version.
 *
 * **Optional columns.** reco_log_get_row() sets the version-2 members whether or not the
 * log has the columns: NULL / @ref RECO_LOG_UNKNOWN where it has not. reco_log_append()
 * refuses a row that carries a value for a column the log does not have (user features
 * that are not NULL, a propensity or oracle value that is not NaN), as it refuses feedback
 * bits at or above F: nothing is dropped silently.
 * @since 0.1
 */
typedef struct reco_log_row {
    unsigned int version; /**< @ref RECO_LOG_ROW_VERSION, set by the caller. */
    uint64_t user;        /**< User id. */
    uint64_t session;     /**< Session id (unique per user). */
    uint32_t step;        /**< 0-based step within the session. */
    int64_t timestamp;    /**< Seconds. */
    int32_t item;         /**< Item shown, `>= 0`. */
    uint32_t feedback;    /**< Signal bits: bit f = signal f; bits at or above F must be 0. */
    int exit;             /**< 1: the user left after this step; else 0. */
    /* ---- version 2 (0.2) ---- */
    /** (U) the user's features at this step, when the log has U > 0; else NULL.
     *  reco_log_get_row(): points into the log (valid until it changes or is freed);
     *  reco_log_append(): read during the call, each value finite. @since 0.2 */
    const float *user_features;
    /** Probability that the logging policy showed @c item, in (0, 1], or NaN (unknown); NaN
     *  when the log has no propensity column. @since 0.2 */
    float propensity;
    /** The oracle: `oracle[f]` the probability of signal f (f < F), `oracle[F]` that of the
     *  exit, each in [0, 1] or NaN (unknown); entries past F are NaN. All NaN when the log
     *  has no oracle columns. @since 0.2 */
    float oracle[RECO_LOG_MAX_SIGNALS + 1];
    /* ---- version 3 (0.2) ---- */
    /** Number of candidates the logging policy chose from, 0 (unknown, and always 0 when
     *  the log has no candidates column) or 1..max_candidates. @since 0.2 */
    uint32_t n_candidates;
    /** (n_candidates) the candidates, the shown @c item among them; NULL when there are
     *  none. reco_log_get_row(): points into the log (valid until it changes or is freed);
     *  reco_log_append(): read during the call. @since 0.2 */
    const int32_t *candidates;
} reco_log_row;

/** Current version of @ref reco_log_columns (2 added the optional columns, 3 the
 *  candidates). @since 0.1 */
#define RECO_LOG_COLUMNS_VERSION 3
/** Initialiser for a @ref reco_log_columns of the current version. @since 0.1 */
#define RECO_LOG_COLUMNS_INIT { RECO_LOG_COLUMNS_VERSION, 0, NULL, NULL, NULL, NULL, NULL, \
                                NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL }

/**
 * @brief Borrowed pointers to a log's columns, for fast read-only access.
 *
 * Each array has @c n_rows entries in canonical order. They stay valid until the next call
 * that changes the log (load, append, generate, reset) or frees it.
 * @since 0.1
 */
typedef struct reco_log_columns {
    unsigned int version;      /**< @ref RECO_LOG_COLUMNS_VERSION, set by the caller. */
    size_t n_rows;             /**< Number of rows. */
    const uint64_t *users;     /**< (n_rows) user ids. */
    const uint64_t *sessions;  /**< (n_rows) session ids. */
    const uint32_t *steps;     /**< (n_rows) steps. */
    const int64_t *timestamps; /**< (n_rows) timestamps. */
    const int32_t *items;      /**< (n_rows) items. */
    const uint32_t *feedback;  /**< (n_rows) signal bits. */
    const uint8_t *exits;      /**< (n_rows) 0 or 1. */
    /* ---- version 2 (0.2); a version-1 struct is filled only up to @c exits ---- */
    /** (n_rows) propensities, in (0, 1] or NaN; NULL when the log has no such column.
     *  @since 0.2 */
    const float *propensity;
    /** (n_rows, U) user features, row-major, row stride U; NULL when U is 0. @since 0.2 */
    const float *user_features;
    /** (n_rows, F + 1) oracle probabilities (signals, then exit), row-major, row stride
     *  F + 1, each in [0, 1] or NaN; NULL when the log has no oracle columns. @since 0.2 */
    const float *oracle;
    /* ---- version 3 (0.2) ---- */
    /** The log's @ref reco_log_options @c max_candidates, 0 when it has no candidates
     *  column. @since 0.2 */
    uint32_t max_candidates;
    /** (n_rows) candidates per row, 0 = unknown; NULL without the column. @since 0.2 */
    const uint32_t *candidate_counts;
    /** (n_rows, max_candidates) the candidates, row-major, row stride max_candidates; the
     *  entries past a row's count are @ref RECO_PAD. NULL without the column. @since 0.2 */
    const int32_t *candidates;
} reco_log_columns;

/**
 * @brief Fill @p opts with the defaults of options version @p version.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_LOG_OPTIONS_VERSION.
 * @return @ref RECO_OK, @ref RECO_EINVAL if @p opts is NULL, @ref RECO_EVERSION otherwise.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_log_options_init(reco_log_options *opts, unsigned int version);

/**
 * @brief Fill @p opts with the defaults of load options version @p version.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_LOG_LOAD_OPTIONS_VERSION.
 * @return @ref RECO_OK, @ref RECO_EINVAL if @p opts is NULL, @ref RECO_EVERSION otherwise.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_log_load_options_init(reco_log_load_options *opts, unsigned int version);

/**
 * @brief Create an empty log.
 * @param[out] out   receives the log, owned by the caller (reco_log_free()); NULL on failure.
 * @param[in]  opts  options (read during the call; names are copied), or NULL for defaults.
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL @p out, bad signal count or name, bad
 *         user_dim or user feature name, two columns with one name: the message names it);
 *         @ref RECO_EVERSION; @ref RECO_ENOMEM.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_log_create(reco_log **out, const reco_log_options *opts);

/**
 * @brief Free a log. NULL is accepted.
 * @param[in] log  the log; any later use is undefined, and borrowed pointers become invalid.
 * @par Thread safety
 * No other call may be using @p log.
 * @since 0.1
 */
RECO_API void reco_log_free(reco_log *log);

/**
 * @brief Remove every row (and the record of rejections); the columns stay.
 * @param[in,out] log  the log; NULL is ignored.
 * @par Thread safety
 * No other call may be using @p log.
 * @since 0.1
 */
RECO_API void reco_log_reset(reco_log *log);

/**
 * @brief Number of signals F.
 * @param[in] log  the log (not NULL).
 * @return F.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.1
 */
RECO_API uint32_t reco_log_n_signals(const reco_log *log);

/**
 * @brief Name of signal @p f (its CSV column).
 * @param[in] log  the log (not NULL).
 * @param[in] f    signal index.
 * @return a string owned by @p log, valid until it is freed; NULL if @p f >= F.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.1
 */
RECO_API const char *reco_log_signal_name(const reco_log *log, uint32_t f);

/**
 * @brief Number of user features U per row (0: none).
 * @param[in] log  the log (not NULL).
 * @return U.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.2
 */
RECO_API uint32_t reco_log_user_dim(const reco_log *log);

/**
 * @brief Name of user feature @p k (its CSV column).
 * @param[in] log  the log (not NULL).
 * @param[in] k    feature index.
 * @return a string owned by @p log, valid until it is freed; NULL if @p k >= U.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.2
 */
RECO_API const char *reco_log_user_feature_name(const reco_log *log, uint32_t k);

/**
 * @brief Whether the log has the `propensity` column.
 * @param[in] log  the log (not NULL).
 * @return 1 or 0.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.2
 */
RECO_API int reco_log_has_propensity(const reco_log *log);

/**
 * @brief Whether the log has the oracle columns `p_<signal>` ... `p_exit`.
 * @param[in] log  the log (not NULL).
 * @return 1 or 0.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.2
 */
RECO_API int reco_log_has_oracle(const reco_log *log);

/**
 * @brief Number of rows.
 * @param[in] log  the log (not NULL).
 * @return the row count.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.1
 */
RECO_API size_t reco_log_n_rows(const reco_log *log);

/**
 * @brief Number of sessions (distinct (user, session) pairs).
 * @param[in] log  the log (not NULL).
 * @return the session count.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.1
 */
RECO_API size_t reco_log_n_sessions(const reco_log *log);

/**
 * @brief Number of distinct users.
 * @param[in] log  the log (not NULL).
 * @return the user count.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.1
 */
RECO_API size_t reco_log_n_users(const reco_log *log);

/**
 * @brief The rows of session @p i (in canonical order): `first .. first + n_steps - 1`.
 * @param[out] first_row_out  receives the index of its step 0 (may be NULL).
 * @param[out] n_steps_out    receives its number of steps, at least 1 (may be NULL).
 * @param[in]  log            the log.
 * @param[in]  i              session index, `< reco_log_n_sessions()`.
 * @return @ref RECO_OK, or @ref RECO_EINVAL (NULL @p log, @p i out of range).
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.1
 */
RECO_API int reco_log_session(size_t *first_row_out, size_t *n_steps_out, const reco_log *log,
                              size_t i);

/**
 * @brief Copy row @p i into @p out.
 * @param[out] out  receives the row; its @c version must be set (1..current), and only the
 *                  members of that version are written. Its @c user_features points into
 *                  @p log.
 * @param[in]  log  the log.
 * @param[in]  i    row index, `< reco_log_n_rows()`.
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL argument, @p i out of range);
 *         @ref RECO_EVERSION.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.1
 */
RECO_API int reco_log_get_row(reco_log_row *out, const reco_log *log, size_t i);

/**
 * @brief Borrow the log's columns.
 * @param[out] out  receives pointers owned by @p log (see @ref reco_log_columns for how long
 *                  they stay valid); its @c version must be set (1..current), and only the
 *                  members of that version are written.
 * @param[in]  log  the log.
 * @return @ref RECO_OK, @ref RECO_EINVAL, or @ref RECO_EVERSION.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.1
 */
RECO_API int reco_log_get_columns(reco_log_columns *out, const reco_log *log);

/**
 * @brief Append @p n rows; the log stays valid and in canonical order.
 *
 * The rows may come in any order and may extend sessions already in the log, but afterwards
 * every session must again hold steps `0 .. n-1` exactly once with `exit` only on the last
 * one. The call is atomic: on any error nothing is appended.
 *
 * Cost: rows that extend the log in canonical order — the next step of the last session, or
 * step 0 of a new session that sorts after it (e.g. whole sessions of users in increasing
 * order) — are appended in O(n) (plus a scan of that user's sessions); otherwise the whole
 * log is re-sorted, O(N log N) for N rows in total.
 * @param[in,out] log   the log.
 * @param[in]     rows  @p n rows, all of the version set in `rows[0].version` (the array's
 *                      element size follows from it).
 * @param[in]     n     number of rows; 0 is a no-op.
 * @return @ref RECO_OK; @ref RECO_EINVAL for a NULL argument or a bad row (negative item,
 *         feedback bits at or above F, exit not 0/1, a duplicate or missing step, an exit
 *         before the last step, missing or non-finite user features, a propensity outside
 *         (0, 1], an oracle value outside [0, 1], a value for a column the log does not have,
 *         a version other than rows[0]'s: the message names `rows[i]` and the field);
 *         @ref RECO_EVERSION; @ref RECO_ENOMEM.
 * @par Thread safety
 * No other call may be using @p log.
 * @since 0.1
 */
RECO_API int reco_log_append(reco_log *log, const reco_log_row *rows, size_t n);

/**
 * @brief Replace the log's rows with the CSV file at @p path.
 *
 * The header must be exactly `user,session,step,timestamp,item,<the log's signal
 * names>,exit` followed by the log's optional columns (see @ref reco_log). After the rows
 * are read, sessions are checked (steps `0 .. n-1` each once, exit only on the last step) and
 * the rows sorted into canonical order.
 *
 * Strict (default): the first problem fails the load with @ref RECO_EFORMAT; for problems
 * within sessions, "first" means the one on the lowest line. Lenient: a bad row is rejected
 * and counted; a session with a missing or duplicate step or an early exit is rejected
 * whole (one message, all its rows counted), and so is the rest of a session one of whose
 * rows was rejected (when that row's user and session could be read), so no partial session
 * is ever kept. The header, an unreadable file or an allocation failure always fail the
 * load.
 * reco_log_n_rejected(), reco_log_n_rejections() and reco_log_rejection() describe the
 * rejections of the last successful load (none after a strict one).
 *
 * The call is atomic: on failure the log keeps its previous rows and rejections.
 * @param[in,out] log   the log.
 * @param[in]     path  the file; also the source name in error details.
 * @param[in]     opts  load options, or NULL for strict with no catalog check.
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL @p log or @p path, bad options);
 *         @ref RECO_EVERSION; @ref RECO_EIO (cannot open or read); @ref RECO_EFORMAT (header,
 *         or a bad row in strict mode; reco_error_get() gives file, line, column and the
 *         column name as field); @ref RECO_ENOMEM.
 * @par Thread safety
 * No other call may be using @p log.
 * @since 0.1
 */
RECO_API int reco_log_load_csv(reco_log *log, const char *path,
                               const reco_log_load_options *opts);

/**
 * @brief Write the log as CSV (header, then rows in canonical order, LF line endings),
 *        atomically: to a temporary file in the same directory, then renamed over @p path.
 *
 * Floats are written with the fewest significant digits that read back as the same float
 * (`0.25`, `1e-7`), unknown values as empty fields. Loading a CSV file that is already
 * canonical and saving it again gives identical bytes.
 * @param[in] log   the log.
 * @param[in] path  the destination; never left half-written.
 * @return @ref RECO_OK; @ref RECO_EINVAL; @ref RECO_EIO (the message names @p path);
 *         @ref RECO_ENOMEM.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.1
 */
RECO_API int reco_log_save_csv(const reco_log *log, const char *path);

/**
 * @brief Write the log in the binary format (magic `RECOLOG1`, checksummed), atomically.
 *
 * A log without optional columns is written in format version 1, which libreco 0.1 reads;
 * one with them in format version 2.
 * @param[in] log   the log.
 * @param[in] path  the destination; never left half-written.
 * @return @ref RECO_OK; @ref RECO_EINVAL; @ref RECO_EIO; @ref RECO_ENOMEM.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.1
 */
RECO_API int reco_log_save(const reco_log *log, const char *path);

/**
 * @brief Replace the log's rows with a binary file written by reco_log_save().
 *
 * The file is verified whole (checksums, sizes, the signal names and the optional columns,
 * which must equal the log's, every value and the canonical order) before anything changes;
 * a truncated, corrupted or foreign file is refused and the log is untouched. Files of
 * format versions 1 (libreco 0.1) and 2 are read.
 * @param[in,out] log   the log.
 * @param[in]     path  the file.
 * @param[in]     opts  NULL, or options whose @c n_items is checked (@c lenient is ignored).
 * @return @ref RECO_OK; @ref RECO_EINVAL; @ref RECO_EIO; @ref RECO_EFORMAT; @ref RECO_EVERSION;
 *         @ref RECO_ENOMEM.
 * @par Thread safety
 * No other call may be using @p log.
 * @since 0.1
 */
RECO_API int reco_log_load(reco_log *log, const char *path, const reco_log_load_options *opts);

/**
 * @brief Number of rows the last CSV load rejected (lenient mode); 0 otherwise.
 * @param[in] log  the log (not NULL).
 * @return the count.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.1
 */
RECO_API uint64_t reco_log_n_rejected(const reco_log *log);

/**
 * @brief Number of rejections whose details were kept (at most the load's
 *        @c max_rejections). Row errors come first, in file order, then rejected sessions, in
 *        file order.
 * @param[in] log  the log (not NULL).
 * @return the count.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.1
 */
RECO_API size_t reco_log_n_rejections(const reco_log *log);

/**
 * @brief Details of kept rejection @p i: code (@ref RECO_EFORMAT), message, source file,
 *        line, column and column name (`field`), as reco_error_get() would have given them.
 * @param[out] out  receives pointers owned by @p log, valid until its next load, reset or
 *                  free; its @c version must be set.
 * @param[in]  log  the log.
 * @param[in]  i    `< reco_log_n_rejections()`.
 * @return @ref RECO_OK, @ref RECO_EINVAL, or @ref RECO_EVERSION.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.1
 */
RECO_API int reco_log_rejection(reco_error_info *out, const reco_log *log, size_t i);

/**
 * @brief Split by user into two new logs: a user goes to validation when
 *        `hash(user, seed) < valid_fraction * 2^64`, else to training.
 *
 * The hash is SplitMix64's finaliser of `user ^ mix(seed)`, so a user's side depends only on
 * its id, the seed and the fraction — not on the other users or the order of rows — and a
 * user who is in validation at fraction q is also in it at every larger fraction. Rows keep
 * their canonical order; both logs get @p log's columns (signals and optional columns) and
 * allocator.
 * @param[out] train_out  receives the training log (caller frees); NULL on failure.
 * @param[out] valid_out  receives the validation log (caller frees); NULL on failure.
 * @param[in]  log        the log to split.
 * @param[in]  valid_fraction  in [0, 1].
 * @param[in]  seed       any value.
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL argument, fraction NaN or outside [0, 1]);
 *         @ref RECO_ENOMEM.
 * @par Thread safety
 * Safe concurrently with other `const` calls on @p log.
 * @since 0.1
 */
RECO_API int reco_log_split(reco_log **train_out, reco_log **valid_out, const reco_log *log,
                            double valid_fraction, uint64_t seed);

/* ---- generation ------------------------------------------------------------------------ */

struct reco_policy; /* include/reco/policy.h */

/**
 * @brief Logging policies for reco_log_generate(). Values never change.
 * @since 0.1
 */
typedef enum reco_log_policy_kind {
    RECO_LOG_POLICY_UNIFORM = 1,    /**< Uniform over the candidates. */
    RECO_LOG_POLICY_POPULARITY = 2, /**< Proportional to a per-item weight among candidates. */
    RECO_LOG_POLICY_MODEL = 3       /**< Softmax of a model's expected immediate reward. */
} reco_log_policy_kind;

/** Current version of @ref reco_log_policy. @since 0.1 */
#define RECO_LOG_POLICY_VERSION 1
/** Initialiser for a uniform @ref reco_log_policy. @since 0.1 */
#define RECO_LOG_POLICY_INIT { RECO_LOG_POLICY_VERSION, RECO_LOG_POLICY_UNIFORM, NULL, 0, \
                               NULL, NULL, 1.0f }

/**
 * @brief How the logging policy picks the item shown at each step.
 *
 * - uniform: every candidate equally likely;
 * - popularity: candidate i with probability `w_i / sum_j w_j` over the step's candidates
 *   (uniform when all of them weigh 0);
 * - model: with `r_i = sum_f signal_weights[f] * sigmoid(head_f(state, i))`, the expected
 *   immediate reward under the model, candidate i with probability
 *   `exp(r_i / temperature) / sum_j exp(r_j / temperature)`.
 *
 * Pointers are borrowed for the reco_log_generate() call only.
 * @since 0.1
 */
typedef struct reco_log_policy {
    unsigned int version;        /**< @ref RECO_LOG_POLICY_VERSION. */
    reco_log_policy_kind kind;   /**< Which rule. */
    const float *item_weights;   /**< Popularity: (n_item_weights) finite weights >= 0. */
    uint32_t n_item_weights;     /**< Popularity: entries, at least the env's n_items. */
    const reco_model *model;     /**< Model: lookback, n_signals and user_dim equal to the
                                      env's, n_items at least the env's. Not modified. */
    /** Model: (n_signals) finite weights w_f; NULL (since 0.2): the env's declared reward
     *  weights (@ref reco_env version 4). Weights given must equal the env's when it
     *  declares them (a mismatch is refused, naming both values). */
    const float *signal_weights;
    float temperature;           /**< Model: softmax temperature, positive. Default 1. */
} reco_log_policy;

/** Current version of @ref reco_log_generate_options. @since 0.1 */
#define RECO_LOG_GENERATE_OPTIONS_VERSION 1
/** Initialiser for @ref reco_log_generate_options with the defaults. @since 0.1 */
#define RECO_LOG_GENERATE_OPTIONS_INIT { RECO_LOG_GENERATE_OPTIONS_VERSION, 0, 10000, NULL, \
    1000, 0, 500, 1000, 0, 1, INT64_C(1700000000), 86400, 30, NULL, NULL }

/**
 * @brief What reco_log_generate() runs.
 *
 * **Scheduling.** Session k (k = 0, 1, 2, ...) belongs to user `users[k mod n_users]` in
 * round `r = k div n_users` and has session id k. Slot p of the P slots used runs the users
 * with `j mod P = p`, round by round, so a user never has two sessions at once and each
 * user's sessions run in order. All slots step together (one batched env call per step).
 * Generation stops starting sessions once @c n_sessions sessions were started (when not 0)
 * or once at least @c n_interactions rows were produced (when not 0); sessions already
 * running finish.
 *
 * **Timestamps.** Session k starts at `start_time + r * session_interval`; step t is at
 * `+ t * step_interval`.
 *
 * **Exits.** The env's `done` is logged as `exit = 1`. An env that also ends sessions at a
 * length limit reports that as `done` too (the interface does not tell them apart): set
 * @c max_steps below that limit so that the generator cuts such sessions first, logged with
 * `exit = 0`.
 * @since 0.1
 */
typedef struct reco_log_generate_options {
    unsigned int version;      /**< @ref RECO_LOG_GENERATE_OPTIONS_VERSION. */
    uint64_t n_sessions;       /**< Sessions to run; 0: no limit. Default 0. */
    uint64_t n_interactions;   /**< Rows after which no session starts; 0: no limit.
                                    Default 10000. At least one limit must be set. */
    const uint64_t *users;     /**< (n_users) user ids, borrowed; NULL: `first_user + j`. */
    uint64_t n_users;          /**< Number of users, at least 1. Default 1000. */
    uint64_t first_user;       /**< First id when @c users is NULL. Default 0. */
    uint32_t max_candidates;   /**< Candidates asked of the env per step, 1..2^20. Default 500. */
    uint32_t max_steps;        /**< Steps after which a session is cut (logged with exit 0),
                                    1..2^31; default 1000. */
    uint32_t parallel;         /**< Slots used (P); 0: the env's max_sessions. Default 0. */
    uint64_t seed;             /**< Seed of the policy's draws. Default 1. */
    int64_t start_time;        /**< Timestamp of round 0. Default 1700000000. */
    int64_t session_interval;  /**< Seconds between rounds, >= 0. Default 86400. */
    int64_t step_interval;     /**< Seconds between steps, >= 0. Default 30. */
    /** What reset() receives for session round r of user u (r = its session ordinal, 0, 1,
     *  ...); NULL (default): u itself. The log records u. For the world, whose reset()
     *  takes session keys, pass a function returning `RECO_WORLD_SESSION_KEY(u, r)`, so that
     *  every session of a user is a new one. Called on the calling thread. */
    uint64_t (*session_key)(uint64_t user, uint64_t ordinal, void *payload);
    void *session_key_payload; /**< Passed to @c session_key; never read by the library. */
} reco_log_generate_options;

/**
 * @brief Fill @p opts with the defaults of version @p version.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_LOG_GENERATE_OPTIONS_VERSION.
 * @return @ref RECO_OK, @ref RECO_EINVAL, or @ref RECO_EVERSION.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_log_generate_options_init(reco_log_generate_options *opts,
                                            unsigned int version);

/**
 * @brief Run sessions in @p env under a logging policy and replace @p out's rows with them.
 *
 * Each step of each running session: observe() (and, from a version-3 env, context()) the
 * states when the model policy scores them, the log records user features or the env keeps
 * time; candidates() (at most @c max_candidates); the policy picks one; probabilities() when
 * the log has the oracle columns and the env has them (else they stay unknown); step()
 * returns the feedback bits and done.
 *
 * **Optional columns.** A log created with user features (of the env's `user_dim`) records
 * what observe() gave for the row's state; with `propensity`, the logging policy's
 * probability of the shown candidate (1 / count for uniform, `w_i / sum_j w_j` for
 * popularity, the softmax probability for the model policy); with `oracle`, the env's true
 * probabilities of each signal and the exit for the shown item at that moment (NaN when the
 * env has no probabilities()). From an env with context(), timestamps are the session's
 * start plus the env's elapsed seconds (rounded), instead of `step_interval` per step. The row logs the item, the feedback and `exit = done` (see "Exits" at
 * @ref reco_log_generate_options). One seeded
 * @ref reco_rng makes every draw, slot by slot in slot order, so the same env behaviour,
 * policy, options and seed give the same log.
 *
 * Memory for the call (candidate buffers for P slots, the rows produced) comes from @p out's
 * allocator, and the model policy's scoring workspace from the model's. The call is atomic:
 * on error
 * @p out keeps its previous rows (the env may have advanced).
 * @param[in,out] out     the log to fill; its n_signals must equal the env's, and its user
 *                        features (if any) as many as the env's user_dim.
 * @param[in]     env     any environment; slots `0 .. P-1` are used.
 * @param[in]     policy  the logging policy.
 * @param[in]     opts    options, or NULL for the defaults.
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL, inconsistent sizes, a log with optional
 *         columns, bad options or policy, an env that returns no candidates, an item out of
 *         range or feedback bits at or above F); @ref RECO_EVERSION; @ref RECO_ENOMEM; any
 *         error an env callback returns.
 * @par Thread safety
 * No other call may be using @p out; @p env is called from the calling thread only; the
 * policy's model must not be trained meanwhile (it is only scored, with a private
 * workspace).
 * @since 0.1
 */
RECO_API int reco_log_generate(reco_log *out, const reco_env *env, const reco_log_policy *policy,
                               const reco_log_generate_options *opts);

/**
 * @brief reco_log_generate() with any @ref reco_policy as the logging policy.
 *
 * The same loop, schedule, options and columns as reco_log_generate(), with the built-in or
 * user policy @p policy choosing (the logging rules of @ref reco_log_policy are the built-in
 * policies @ref RECO_POLICY_RANDOM, @ref RECO_POLICY_WEIGHTED and
 * @ref RECO_POLICY_MODEL_SOFTMAX). The propensity column records what a version-3 policy's
 * choose_sessions() reports (@ref reco_policy_sessions::propensity_out), NaN (unknown) for
 * other policies; the policy's draws are its own (its seed), not @c opts->seed.
 * @param[in,out] out     the log to fill (as for reco_log_generate()).
 * @param[in]     env     any environment; slots `0 .. P-1` are used.
 * @param[in]     policy  the logging policy; its lookback and user_dim, when not 0, must be
 *                        the env's.
 * @param[in]     opts    options, or NULL for the defaults.
 * @return as reco_log_generate(), and any error of the policy's callback (its own message).
 * @par Thread safety
 * As reco_log_generate(); the policy is called from the calling thread only.
 * @since 0.2
 */
RECO_API int reco_log_generate_with(reco_log *out, const reco_env *env,
                                    const struct reco_policy *policy,
                                    const reco_log_generate_options *opts);

RECO_END_DECLS

/** @} */
#endif /* RECO_LOG_H */
