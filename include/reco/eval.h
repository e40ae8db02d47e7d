/**
 * @file eval.h
 * @brief The evaluator: several policies played for the same sessions in any @ref reco_env
 *        with common random numbers, metrics with confidence intervals, paired lifts
 *        against a baseline, JSON and CSV reports.
 * @defgroup reco_eval Evaluator
 * @ingroup reco_lab
 *
 * reco_eval_run() plays one session per entry of a user list with each policy in turn and
 * keeps every session's values; reco_eval_stat_get() and reco_eval_lift() turn them into
 * means and paired lifts with confidence intervals; reco_eval_write_json() and
 * reco_eval_write_csv() write the tables of one or more environments. The formulas, the
 * scheduling and the report schemas are on the page @ref eval.
 *
 * **Common random numbers.** Slot p of the env (p < P, the slots used) plays sessions
 * p, p + P, p + 2P, ... of the list, in that order, whatever the policy: the k-th session of
 * slot p is always the same user. Before each policy the optional `reset_env` hook restores
 * the env's fresh state (reco_world_reset(), reco_sim_reset()). The built-in world draws
 * everything from (seed, session key, step); the simulator seeds each slot from (seed, its
 * reset count, user), which the schedule and reco_sim_reset() make equal for every policy.
 * So the policies meet the same users with the same random numbers, and the paired lifts
 * compare them session by session.
 *
 * **Metrics**, per session, each with a name and an index in the result: the 0.1 metrics
 * (@ref reco_eval_metric, indices 0 .. @ref RECO_EVAL_N_METRICS - 1): depth (steps), long
 * watches, whether the session was deep (depth >= `deep_depth`), long watches and depth
 * among deep sessions, return (sum of rewards), hides, distinct topics shown; then, for an
 * env that names its signals (@ref reco_env::signal_names), the count of each signal per
 * session and per deep session under the signal's name ("click", "click_deep"); then the
 * caller's own per-session metrics (`user_metrics` in @ref reco_eval_options).
 * reco_eval_n_metrics(), reco_eval_metric_label() and reco_eval_metric_index() list them
 * and find them by name. Each is a ratio of sums over the sessions, `sum_i x_i / sum_i d_i`,
 * with d_i = 1 (a plain mean) or d_i = [session i is deep]; intervals are normal intervals
 * with delta-method standard errors.
 *
 * @code
 * reco_eval_options eo = RECO_EVAL_OPTIONS_INIT;
 * eo.reset_env = reset_world;          // int reset_world(void *w) { return reco_world_reset(w); }
 * eo.reset_env_payload = world;
 * reco_policy pols[2] = {greedy, qpolicy};   // e.g. from reco_policy_get()
 * uint64_t users[10000];
 * reco_world_eval_users(users, world, 0, 10000);
 * reco_eval *ev = NULL;
 * if (reco_eval_run(&ev, &env, pols, 2, users, 10000, &eo) < 0)
 *     fprintf(stderr, "%s\n", reco_error_message());
 * reco_eval_stat rel, diff;
 * reco_eval_lift(&rel, &diff, ev, 1, 0, RECO_EVAL_LONG_WATCHES_DEEP);
 * printf("long watches among deep sessions: %+.2f%% [%+.2f, %+.2f]\n",
 *        100 * rel.mean, 100 * rel.lo, 100 * rel.hi);
 * uint32_t clicks;                          // a metric of the env's signal "click"
 * if (reco_eval_metric_index(&clicks, ev, "click") == RECO_OK)
 *     reco_eval_lift(&rel, &diff, ev, 1, 0, (reco_eval_metric)clicks);
 * const char *envs[1] = {"world"};
 * const reco_eval *evs[1] = {ev};
 * reco_eval_write_json(evs, envs, 1, NULL, 0, "eval.json");
 * reco_eval_free(ev);
 * @endcode
 *
 * **Memory.** reco_eval_run() allocates its buffers for the call and the result (per policy
 * and session: the depth, the topics and each signal's count as 4-byte counts, the return
 * and each user metric as 8-byte values). Reading a result never allocates; the writers
 * allocate the text for the call.
 *
 * @par Thread safety
 * reco_eval_run() calls the env, the policies and the hooks from the calling thread only. A
 * result is read-only once made: every function taking a `const reco_eval *` may run
 * concurrently with the others but reco_eval_free().
 *
 * @par API tier
 * **Lab**: may change in any 0.x release; declared only where `RECO_LAB_API` is defined
 * before the first libreco include (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_EVAL_H
#define RECO_EVAL_H
#ifndef RECO_LAB_API
#error "reco/eval.h is lab API, may change in any 0.x: define RECO_LAB_API first (docs/abi.md)"
#endif

#include "reco/common.h"
#include "reco/alloc.h"
#include "reco/env.h"
#include "reco/policy.h"

RECO_BEGIN_DECLS

/**
 * @brief The 0.1 metrics of an evaluation: indices 0 .. @ref RECO_EVAL_N_METRICS - 1 of
 *        every result. Values never change.
 *
 * Each is `sum_i x_i / sum_i d_i` over the sessions i (see @ref eval). A result has more
 * metrics after these (since 0.2: the env's signals by name, the caller's own); the
 * functions taking a @ref reco_eval_metric also take their indices, from
 * reco_eval_metric_index(), cast to @ref reco_eval_metric.
 * @since 0.1
 */
typedef enum reco_eval_metric {
    RECO_EVAL_DEPTH = 0,             /**< Steps per session (x = depth, d = 1). */
    RECO_EVAL_LONG_WATCHES = 1,      /**< Long watches per session (d = 1): the signal of
                                          the option `long_watch_signal`, by default the
                                          env's signal named "long_watch"; NaN without
                                          one. */
    RECO_EVAL_DEEP_SHARE = 2,        /**< Share of deep sessions (x = [depth >= deep_depth]). */
    RECO_EVAL_LONG_WATCHES_DEEP = 3, /**< Long watches per deep session (d = [deep]). */
    RECO_EVAL_DEPTH_DEEP = 4,        /**< Depth of deep sessions (d = [deep]). */
    RECO_EVAL_RETURN = 5,            /**< Sum of the rewards per session (d = 1). */
    RECO_EVAL_HIDES = 6,             /**< Hides per session (d = 1): the signal of the
                                          option `hide_signal`, by default the env's signal
                                          named "hide"; NaN without one. */
    RECO_EVAL_TOPICS = 7             /**< Distinct topics shown per session (d = 1); NaN
                                          without item topics. */
} reco_eval_metric;

/** @brief Number of the 0.1 metrics, @ref reco_eval_metric (a count, not an enumerator);
 *  a result may have more, see reco_eval_n_metrics(). @since 0.1 */
#define RECO_EVAL_N_METRICS 8

/**
 * @brief The stable snake_case name of a 0.1 metric: "depth", "long_watches", "deep_share",
 *        "long_watches_deep", "depth_deep", "return", "hides", "topics".
 *
 * A result labels these indices with the same names (reco_eval_metric_label()).
 * @param[in] metric  the metric.
 * @return a static string, or NULL for an unknown metric.
 * @since 0.1
 */
RECO_API const char *reco_eval_metric_name(reco_eval_metric metric);

/** @brief The value of the options `long_watch_signal` and `hide_signal` that picks the
 *  env's signal by its name ("long_watch", "hide"); from an env without signal names,
 *  signal @ref RECO_SIGNAL_LONG_WATCH or @ref RECO_SIGNAL_HIDE when it has one. The default
 *  from options version 2. @since 0.2 */
#define RECO_EVAL_SIGNAL_BY_NAME 0x7fffffff

/** @brief Most user metrics (`n_user_metrics` of @ref reco_eval_options). @since 0.2 */
#define RECO_EVAL_MAX_USER_METRICS 256

/**
 * @brief An estimate with its confidence interval.
 *
 * NaN in @c mean, @c lo and @c hi when the estimate is undefined: no session in the
 * denominator, a baseline mean of 0 (relative lift), a metric that was not measured (hides
 * without a hide signal, topics without item topics); NaN in @c lo and @c hi alone when
 * fewer than 2 sessions give no variance.
 * @since 0.1
 */
typedef struct reco_eval_stat {
    double mean; /**< The estimate. */
    double lo;   /**< Lower end of the interval: mean - z se. */
    double hi;   /**< Upper end: mean + z se. */
    /** Sessions in the denominator (`sum_i d_i`): all sessions for plain means, the deep ones
     *  for the "among deep sessions" metrics, 0 for an unmeasured metric. For a lift, the
     *  paired sessions (all of them). */
    uint64_t n;
} reco_eval_stat;

/** @brief Current version of @ref reco_eval_options (2 added the user metrics and the
 *  default @ref RECO_EVAL_SIGNAL_BY_NAME). @since 0.1 */
#define RECO_EVAL_OPTIONS_VERSION 2

/** @brief Initialiser for @ref reco_eval_options with the defaults of the current version.
 *  @since 0.1 */
#define RECO_EVAL_OPTIONS_INIT                                                                 \
    { RECO_EVAL_OPTIONS_VERSION, NULL, 0, 500, 100000, RECO_EVAL_SIGNAL_BY_NAME,               \
      RECO_EVAL_SIGNAL_BY_NAME, 10, NULL, 0, 0.95, NULL, NULL, NULL, NULL, NULL, 0, NULL,     \
      NULL }

/**
 * @brief How reco_eval_run() plays and measures.
 *
 * An option out of range fails reco_eval_run() with @ref RECO_EINVAL and the option's path
 * (`eval.<name>`) as the error's field.
 * @since 0.1
 */
typedef struct reco_eval_options {
    unsigned int version;            /**< @ref RECO_EVAL_OPTIONS_VERSION. */
    const reco_allocator *allocator; /**< NULL: the process default; for the call's buffers and
                                          the result (kept by it). */
    /** Slots used, `0 .. parallel-1`; 0 (default) or more than the env has: all of them
     *  (never more than the sessions). The schedule depends on it: results are comparable
     *  between evaluations with the same number of slots. */
    uint32_t parallel;
    uint32_t max_candidates; /**< Candidates asked per step, 1..2^20. Default 500. */
    /** Steps after which the evaluator stops a session itself, 1..2^31. Default 100000. */
    uint32_t max_steps;
    /** Feedback bit counted by @ref RECO_EVAL_LONG_WATCHES, below the env's n_signals (and
     *  32), or @ref RECO_EVAL_SIGNAL_BY_NAME (the default; version 1: @ref
     *  RECO_SIGNAL_LONG_WATCH). */
    uint32_t long_watch_signal;
    /** Feedback bit counted by @ref RECO_EVAL_HIDES, below the env's n_signals, -1 for none
     *  (@ref RECO_EVAL_HIDES is then NaN), or @ref RECO_EVAL_SIGNAL_BY_NAME (the default;
     *  version 1: @ref RECO_SIGNAL_HIDE). */
    int32_t hide_signal;
    uint32_t deep_depth; /**< A session is deep when its depth is at least this, >= 1.
                              Default 10. */
    /** (n_item_topics) the topic of each item (e.g. from reco_world_item_info()), each below
     *  2^20; borrowed for the call. NULL (default): @ref RECO_EVAL_TOPICS is NaN. */
    const uint32_t *item_topics;
    /** Entries of @c item_topics: 0 with NULL, else at least the env's n_items. */
    uint32_t n_item_topics;
    /** Coverage of the intervals, in (0, 1). Default 0.95 (z = 1.959964). */
    double confidence;
    /** Called before each policy's run to restore the env's fresh state (a function calling
     *  reco_world_reset() or reco_sim_reset(), say); a negative return fails the run with
     *  that status. NULL (default): not called. */
    int (*reset_env)(void *payload);
    void *reset_env_payload; /**< Passed to @c reset_env; never read by the library. */
    /** Called during each policy's run with the policy's index and its finished sessions:
     *  about every 1% of them and once at the end. May be NULL. */
    void (*progress)(uint32_t policy, uint64_t sessions_done, void *payload);
    void *progress_payload; /**< Passed to @c progress; never read by the library. */
    /* ---- version 2 (0.2) ---- */
    /** Version 2: (n_user_metrics) names of the caller's own per-session metrics, each
     *  1..@ref RECO_SIGNAL_NAME_MAX characters of `[a-z0-9_]` from a letter, all different
     *  and unlike the result's other metrics (a signal's name, "depth", ...); they follow
     *  the others in the result, in this order. Copied at the run. NULL (default): none.
     *  @since 0.2 */
    const char *const *user_metric_names;
    /** Version 2: entries of @c user_metric_names, 0 (default) .. @ref
     *  RECO_EVAL_MAX_USER_METRICS. @since 0.2 */
    uint32_t n_user_metrics;
    /** Version 2: computes the user metrics, called after every batched step with that
     *  step's rows (one per running session, each session's steps in order; @c session is
     *  the index in the `users` list). `values` (n, n_metrics) holds, in row i, the running
     *  values of the session of `steps[i]`: 0 before its first step (`steps[i].step` 0), then
     *  what the callback left; it updates them in place. A session's value is what its row
     *  holds after its last step: x_i, with d_i = 1, or NaN to leave the session out of the
     *  metric (d_i = 0); an infinite value fails the run. A negative return fails the run with
     *  that status (set the message with reco_error_set()). Required when n_user_metrics > 0,
     *  NULL otherwise. Called from the calling thread only; it must not allocate to be cheap,
     *  nothing requires it. @since 0.2 */
    int (*user_metrics)(double *values, uint32_t n_metrics, const reco_run_step *steps,
                        uint32_t n, void *payload);
    void *user_metrics_payload; /**< Passed to @c user_metrics; never read by the library.
                                     @since 0.2 */
} reco_eval_options;

/**
 * @brief Fill @p opts with the defaults of options version @p version.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_EVAL_OPTIONS_VERSION.
 * @return @ref RECO_OK, @ref RECO_EINVAL if @p opts is NULL, @ref RECO_EVERSION otherwise.
 * @since 0.1
 */
RECO_API int reco_eval_options_init(reco_eval_options *opts, unsigned int version);

/** @brief Opaque result of an evaluation: every session's values for every policy.
 *  @since 0.1 */
typedef struct reco_eval reco_eval;

/**
 * @brief Play one session per entry of @p users with each policy in turn, with common
 *        random numbers, and keep every session's metrics.
 *
 * For each policy: `reset_env` (if set), then slot p (p < P) plays sessions p, p + P, ...
 * in order, all running slots stepping together (observe, candidates, the policy's choice
 * and step, each one batched call per step), a slot starting its next session as soon as its
 * own ends. A session ends when step() reports done or after `max_steps` steps.
 *
 * Policies see the states as in reco_run_sessions() (since 0.2): observe() and, from a
 * version-3 env, context() are read, and a version-2 policy with choose_states() receives
 * the whole state (window, user features, steps, elapsed time, long-term history; from an
 * env without context(), the evaluator's step count, 0 s and pads), other policies choose().
 * A built-in model policy's model is checked against the env as there, before any policy
 * runs. context() is called exactly where observe() is, whatever the policy (also for one
 * that reads only choose()'s inputs), so it does not change the schedule of the common
 * random numbers.
 * @param[out] out         receives the result; NULL on failure.
 * @param[in]  env         the environment; its slots `0 .. P-1` are used.
 * @param[in]  policies    (n_policies) the policies, borrowed for the call; each one's
 *                         lookback and user_dim, when not 0, must equal the env's; each is
 *                         read up to the fields of its version. Their names are copied into
 *                         the result.
 * @param[in]  n_policies  number of policies, >= 1.
 * @param[in]  users       (n_users) what reset() receives for each session.
 * @param[in]  n_users     number of sessions per policy, >= 1.
 * @param[in]  opts        options, or NULL for the defaults.
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL arguments, zero policies or users, an invalid
 *         env or policy, mismatched sizes, a model policy whose model cannot read the env's
 *         states (the message names the policy and both sides), an option out of range, a
 *         bad or repeated metric name (a user metric's, or a signal's that clashes with a
 *         built-in metric), an env row with no candidates or more than asked, a chosen index
 *         out of range, a shown item without a topic, an infinite user metric);
 *         @ref RECO_EVERSION; @ref RECO_ENOMEM; or any error of a callback (env, policies,
 *         `user_metrics`) or of `reset_env`. Arguments are checked before any callback runs; on a
 *         later error the env's slots may be mid-session.
 * @since 0.1
 */
RECO_API int reco_eval_run(reco_eval **out, const reco_env *env, const reco_policy *policies,
                           uint32_t n_policies, const uint64_t *users, uint32_t n_users,
                           const reco_eval_options *opts);

/**
 * @brief Free a result. NULL is accepted.
 * @param[in] eval  the result.
 * @since 0.1
 */
RECO_API void reco_eval_free(reco_eval *eval);

/**
 * @brief Number of policies of a result.
 * @param[in] eval  the result.
 * @return the count, or 0 for NULL.
 * @since 0.1
 */
RECO_API uint32_t reco_eval_n_policies(const reco_eval *eval);

/**
 * @brief Number of sessions per policy of a result (the `n_users` of the run).
 * @param[in] eval  the result.
 * @return the count, or 0 for NULL.
 * @since 0.1
 */
RECO_API uint32_t reco_eval_n_sessions(const reco_eval *eval);

/**
 * @brief The confidence level of a result's intervals (the run's `confidence`).
 * @param[in] eval  the result.
 * @return the level, or NaN for NULL.
 * @since 0.1
 */
RECO_API double reco_eval_confidence(const reco_eval *eval);

/**
 * @brief The name of a policy, as @ref reco_policy::name gave it (copied at the run).
 * @param[in] eval    the result.
 * @param[in] policy  the policy's index.
 * @return a string borrowed from @p eval (valid until reco_eval_free()), or NULL when the
 *         policy had no name or the arguments are out of range.
 * @since 0.1
 */
RECO_API const char *reco_eval_policy_name(const reco_eval *eval, uint32_t policy);

/**
 * @brief Number of metrics of a result: @ref RECO_EVAL_N_METRICS, plus two per signal of an
 *        env that names its signals, plus the user metrics.
 *
 * Indices `0 .. n-1`, in this order: the 0.1 metrics (@ref reco_eval_metric); for an env
 * with @ref reco_env::signal_names, the count of each signal per session (labelled with the
 * signal's name), then its count per deep session (the name and `_deep`: x = the count if
 * deep, d = [deep]); then the `user_metrics` of the options, in their order.
 * @param[in] eval  the result.
 * @return the count, or 0 for NULL.
 * @since 0.2
 */
RECO_API uint32_t reco_eval_n_metrics(const reco_eval *eval);

/**
 * @brief The name of metric @p metric of a result, as the reports write it.
 *
 * The 0.1 metrics have their reco_eval_metric_name(); a signal's metrics the signal's
 * name ("click") and the name with "_deep" ("click_deep"); a user metric its own name.
 * @param[in] eval    the result.
 * @param[in] metric  an index below reco_eval_n_metrics().
 * @return a string borrowed from @p eval (valid until reco_eval_free()), or NULL when the
 *         arguments are out of range.
 * @since 0.2
 */
RECO_API const char *reco_eval_metric_label(const reco_eval *eval, uint32_t metric);

/**
 * @brief Find a metric of a result by its name (reco_eval_metric_label()).
 * @param[out] out   the metric's index, to pass (cast to @ref reco_eval_metric) to
 *                   reco_eval_stat_get() and reco_eval_lift().
 * @param[in]  eval  the result.
 * @param[in]  name  the name, e.g. "click", "click_deep", "depth".
 * @return @ref RECO_OK, or @ref RECO_EINVAL (NULL arguments; no metric of that name, the
 *         message listing the result's metrics).
 * @since 0.2
 */
RECO_API int reco_eval_metric_index(uint32_t *out, const reco_eval *eval, const char *name);

/**
 * @brief The mean of a metric for one policy, with its confidence interval.
 *
 * `mean = sum_i x_i / sum_i d_i`, `se = sqrt(sum_i (x_i - mean d_i)^2 / (N - 1) / N) / dbar`
 * with `dbar = sum_i d_i / N` over the N sessions: for d = 1 the usual `sd / sqrt(N)`, for
 * ratios the delta method (see @ref eval). Never allocates.
 * @param[out] out     the estimate, interval and n.
 * @param[in]  eval    the result.
 * @param[in]  policy  the policy's index.
 * @param[in]  metric  the metric: a @ref reco_eval_metric or (since 0.2) any index below
 *                     reco_eval_n_metrics().
 * @return @ref RECO_OK, or @ref RECO_EINVAL (NULL arguments, policy or metric out of range).
 * @since 0.1
 */
RECO_API int reco_eval_stat_get(reco_eval_stat *out, const reco_eval *eval, uint32_t policy,
                                reco_eval_metric metric);

/**
 * @brief The paired lift of a policy over a baseline on a metric, with confidence intervals.
 *
 * Relative lift `m_p / m_b - 1` as a fraction (0.05 is +5%), and difference `m_p - m_b`,
 * each with a delta-method interval from the paired per-session vectors
 * (x_p, d_p, x_b, d_b) of the same sessions with their full sample covariance (see
 * @ref eval). NaN when a denominator is 0 (no deep session) or, for the relative lift, the
 * baseline mean is 0. Never allocates.
 * @param[out] relative_out    the relative lift (fraction), or NULL.
 * @param[out] difference_out  the difference, or NULL.
 * @param[in]  eval            the result.
 * @param[in]  policy          the policy's index.
 * @param[in]  baseline        the baseline's index (e.g. the greedy-supervised policy).
 * @param[in]  metric          the metric: a @ref reco_eval_metric or (since 0.2) any index
 *                             below reco_eval_n_metrics().
 * @return @ref RECO_OK, or @ref RECO_EINVAL (NULL @p eval, policy, baseline or metric out of
 *         range).
 * @since 0.1
 */
RECO_API int reco_eval_lift(reco_eval_stat *relative_out, reco_eval_stat *difference_out,
                            const reco_eval *eval, uint32_t policy, uint32_t baseline,
                            reco_eval_metric metric);

/**
 * @brief The 0.1 metrics of one session of one policy (reco_eval_session_values() gives
 *        them all).
 *
 * Entry m is metric m's value for the session: its x_i when d_i = 1; NaN for the "among
 * deep sessions" metrics of a session that is not deep, and for unmeasured metrics.
 * @param[out] values_out  (@ref RECO_EVAL_N_METRICS) the values, indexed by
 *                         @ref reco_eval_metric.
 * @param[in]  eval        the result.
 * @param[in]  policy      the policy's index.
 * @param[in]  session     the session's index in the `users` list of the run.
 * @return @ref RECO_OK, or @ref RECO_EINVAL (NULL arguments, policy or session out of range).
 * @since 0.1
 */
RECO_API int reco_eval_session(double *values_out, const reco_eval *eval, uint32_t policy,
                               uint32_t session);

/**
 * @brief Every metric of one session of one policy (reco_eval_session() gives the first
 *        @ref RECO_EVAL_N_METRICS).
 *
 * Entry m is metric m's x_i / d_i for the session: NaN where d_i = 0 (the "per deep session"
 * metrics of a session that is not deep, a user metric the session left out) and for
 * unmeasured metrics.
 * @param[out] values_out  (n_values) the values of metrics `0 .. n_values-1`.
 * @param[in]  n_values    entries of @p values_out, at most reco_eval_n_metrics().
 * @param[in]  eval        the result.
 * @param[in]  policy      the policy's index.
 * @param[in]  session     the session's index in the `users` list of the run.
 * @return @ref RECO_OK, or @ref RECO_EINVAL (NULL arguments, @p n_values, policy or session
 *         out of range).
 * @since 0.2
 */
RECO_API int reco_eval_session_values(double *values_out, uint32_t n_values,
                                      const reco_eval *eval, uint32_t policy,
                                      uint32_t session);

/**
 * @brief Write the results of one or more environments as JSON (schema "libreco.eval/1",
 *        see @ref eval), atomically: @p path gets the whole file or keeps what it had.
 *
 * The metrics of every policy under their names (reco_eval_metric_label()), and the lifts of
 * every other policy over @p baseline; non-finite numbers are written as `null`. A result
 * lists all its metrics, except that the result of an env that names its signals leaves out
 * the 0.1 metrics it did not measure (@ref RECO_EVAL_HIDES without a hide signal, say).
 * Results may have different metrics (since 0.2).
 * @param[in] evals         (n_envs) results, each with the same number of policies and
 *                          the same confidence.
 * @param[in] env_names     (n_envs) distinct names of the environments, or NULL for
 *                          "env0", "env1", ...
 * @param[in] n_envs        number of environments, >= 1.
 * @param[in] policy_names  (the number of policies) distinct names, or NULL for the names
 *                          the policies had at the run (`policy<i>` where they had none).
 * @param[in] baseline      the baseline's index.
 * @param[in] path          the file to write.
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL arguments, zero environments, results that
 *         disagree, duplicate names, baseline out of range); @ref RECO_ENOMEM;
 *         @ref RECO_EIO naming @p path.
 * @since 0.1
 */
RECO_API int reco_eval_write_json(const reco_eval *const *evals, const char *const *env_names,
                                  uint32_t n_envs, const char *const *policy_names,
                                  uint32_t baseline, const char *path);

/**
 * @brief Write the results of one or more environments as CSV, atomically.
 *
 * A header line, then one row per (environment, policy, metric), the metrics as in
 * reco_eval_write_json():
 * `env,policy,metric,mean,lo,hi,n,lift_rel,lift_rel_lo,lift_rel_hi,diff,diff_lo,diff_hi`,
 * the lifts against @p baseline (empty on the baseline's own rows). Non-finite numbers are
 * empty fields; names with a comma, quote or line break are quoted (RFC 4180).
 * @param[in] evals         (n_envs) results, as for reco_eval_write_json().
 * @param[in] env_names     (n_envs) names, or NULL.
 * @param[in] n_envs        number of environments, >= 1.
 * @param[in] policy_names  names, or NULL.
 * @param[in] baseline      the baseline's index.
 * @param[in] path          the file to write.
 * @return as reco_eval_write_json().
 * @since 0.1
 */
RECO_API int reco_eval_write_csv(const reco_eval *const *evals, const char *const *env_names,
                                 uint32_t n_envs, const char *const *policy_names,
                                 uint32_t baseline, const char *path);

/**
 * @brief Pool the sessions of several results into one, policy by policy, in part order.
 *
 * For results of independent replications (e.g. one per seed, each with its own trained
 * policies) the pooled intervals and paired lifts treat every session as one draw of the
 * pooled population; they describe the policies as trained, not the spread between
 * replications (compare the parts for that).
 * @param[out] out      receives the pooled result (free with reco_eval_free()); NULL on error.
 * @param[in]  parts    (n_parts) results with the same number of policies, confidence,
 *                      deep depth and metrics (names, signals, measured or not); the
 *                      policies' names are those of part 0.
 * @param[in]  n_parts  number of parts, >= 1.
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULL arguments, no parts, mismatched parts or
 *         more than 2^32-1 sessions; @ref RECO_ENOMEM.
 * @par Thread safety
 * Safe concurrently with any call taking a `const reco_eval *`.
 * @since 0.1
 */
RECO_API int reco_eval_concat(reco_eval **out, const reco_eval *const *parts, uint32_t n_parts);

RECO_END_DECLS

/** @} */
#endif /* RECO_EVAL_H */
