/**
 * @file ope.h
 * @brief Off-policy evaluation from logs: the value of a target policy estimated from
 *        interactions another (logging) policy chose, with IPS, self-normalised IPS and
 *        doubly robust estimators and their confidence intervals.
 * @defgroup reco_ope Off-policy evaluation
 * @ingroup reco_lab
 *
 * A user with real logs has no world to try a new policy in. reco_ope_estimate() weighs
 * each logged step by how much more (or less) likely the target policy was to show the
 * logged item than the logging policy was: `rho = pi(a | s) / mu(a | s)`, where `mu` is the
 * log's `propensity` column and `pi` comes from the target's
 * @ref reco_policy::probabilities (version 4; every built-in policy has it). Doubly robust
 * estimates also use a direct method: the expected immediate reward
 * `sum_f w_f sigmoid(head_f)` of a feedback model, or a callback of the caller's.
 *
 * It reports two values, each with three estimators (the formulas, their assumptions and
 * references are on the page @ref ope):
 * - **per decision** (`step[]`): the expected immediate reward per step of the target on
 *   the log's states (a contextual bandit value);
 * - **per session** (`session[]`): the expected discounted return of a session, with the
 *   per-decision importance weights multiplied along the session (optionally clipped).
 *
 * Intervals are normal intervals whose standard errors treat the sessions as independent
 * (the steps of a session are not): delta-method standard errors for the ratio estimators.
 *
 * **Candidates.** `pi(a | s)` depends on the candidates the logging policy chose from: the
 * log's `candidates` column (@ref reco_log_options version 3 `max_candidates`, written by
 * reco_log_generate()), or arrays the caller passes, one row per log row in the log's
 * canonical order (that of reco_log_get_row()). Each must contain the logged item.
 *
 * **States.** Each step's state is rebuilt from the log as reco_fit_model() builds it: the
 * user's last `lookback` rows before it (across sessions), the user features of the row,
 * the step in the session, the seconds since the session's first row and the `long_len`
 * rows before the session.
 *
 * @code
 * reco_ope_options oo = RECO_OPE_OPTIONS_INIT;
 * oo.reward_weights = weights;            // the env's reward weights
 * oo.model = feedback_model;              // direct method of the doubly robust estimates
 * oo.lookback = 8;                        // the env's window
 * reco_ope_result r = RECO_OPE_RESULT_INIT;
 * if (reco_ope_estimate(&r, log, NULL, NULL, 0, &target, &oo) < 0)  // the log's candidates
 *     fprintf(stderr, "%s\n", reco_error_message());
 * printf("DR per step %.4f [%.4f, %.4f]\n", r.step[RECO_OPE_DR].value,
 *        r.step[RECO_OPE_DR].lo, r.step[RECO_OPE_DR].hi);
 * @endcode
 *
 * **Memory.** reco_ope_estimate() allocates its buffers for the call (about 12 floats per
 * log row plus the scoring buffers of one block of rows) and frees them before it returns.
 *
 * @par Thread safety
 * Calls with different target policies may run concurrently on one log (it is only read);
 * the target policy is called from the calling thread only.
 *
 * @par API tier
 * **Lab**: may change in any 0.x release; declared only where `RECO_LAB_API` is defined
 * before the first libreco include (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_OPE_H
#define RECO_OPE_H
#ifndef RECO_LAB_API
#error "reco/ope.h is lab API, may change in any 0.x: define RECO_LAB_API first (docs/abi.md)"
#endif

#include "reco/common.h"
#include "reco/alloc.h"
#include "reco/log.h"
#include "reco/model.h"
#include "reco/policy.h"

RECO_BEGIN_DECLS

/**
 * @brief The estimators, indices into @ref reco_ope_result's arrays. Values never change.
 * @since 0.2
 */
typedef enum reco_ope_estimator {
    RECO_OPE_IPS = 0,   /**< Inverse propensity scoring (importance sampling). */
    RECO_OPE_SNIPS = 1, /**< Self-normalised (weighted) importance sampling. */
    RECO_OPE_DR = 2     /**< Doubly robust, with the direct method of the options. */
} reco_ope_estimator;

/** @brief Number of estimators (the length of @ref reco_ope_result's arrays). @since 0.2 */
#define RECO_OPE_N_ESTIMATORS 3

/**
 * @brief One estimate with its standard error and confidence interval.
 * @since 0.2
 */
typedef struct reco_ope_value {
    double value; /**< The estimate; NaN when not computed (DR without a direct method). */
    double se;    /**< Its standard error (over sessions). */
    double lo;    /**< Lower end of the interval, `value - z se`. */
    double hi;    /**< Upper end, `value + z se`. */
} reco_ope_value;

/** @brief Current version of @ref reco_ope_options. @since 0.2 */
#define RECO_OPE_OPTIONS_VERSION 1

/** @brief Initialiser for @ref reco_ope_options (the defaults): no reward weights (they
 *  must be set), no direct method, lookback from the target, gamma 1, no clipping, 95%
 *  intervals. @since 0.2 */
#define RECO_OPE_OPTIONS_INIT \
    { RECO_OPE_OPTIONS_VERSION, NULL, NULL, NULL, NULL, NULL, 0, 0, 1.0f, 0.0f, 0.95 }

/**
 * @brief What reco_ope_estimate() estimates and how.
 * @since 0.2
 */
typedef struct reco_ope_options {
    unsigned int version;            /**< @ref RECO_OPE_OPTIONS_VERSION. */
    const reco_allocator *allocator; /**< NULL: the process default; for the call's buffers. */
    /** (the log's F) reward weights w_f: a step's reward is `sum_f w_f bit_f`; read during
     *  the call. Required. */
    const float *reward_weights;
    /** Direct method of the doubly robust estimates: a feedback model, whose expected
     *  immediate reward `sum_f w_f sigmoid(head_f)` of each candidate is used; borrowed for
     *  the call, with the log's F signals and the states' widths. NULL: @c direct, or none
     *  (then the DR values are NaN). */
    const reco_model *model;
    /** Direct method given by the caller, used when @c model is NULL: writes in
     *  `reward_out` (n, states->n_candidates), row stride `states->n_candidates`, the
     *  expected immediate reward of each of row i's `counts[i]` candidates. Returns
     *  @ref RECO_OK or a negative status. May be NULL. */
    int (*direct)(float *reward_out, const reco_batch *states, const uint32_t *counts,
                  void *payload);
    void *direct_payload; /**< Passed to @c direct; never read by the library. */
    /** The window L of the rebuilt states; 0 (default): the target's
     *  @ref reco_policy::lookback, else the model's, else 1. A target or model that declares
     *  another lookback is refused. */
    uint32_t lookback;
    /** Long-term history slots of the rebuilt states (the env's `long_len`); default 0. A
     *  model that takes another number is refused. */
    uint32_t long_len;
    /** Discount of the per-session return, in [0, 1]. Default 1. */
    float gamma;
    /** Largest importance weight, per decision and cumulative along a session: 0 (default)
     *  for none, else finite and >= 1. Clipping trades bias for variance. */
    float clip;
    /** Confidence level of the intervals, in (0, 1). Default 0.95. */
    double confidence;
} reco_ope_options;

/** @brief Current version of @ref reco_ope_result. @since 0.2 */
#define RECO_OPE_RESULT_VERSION 1

/** @brief Initialiser for @ref reco_ope_result. @since 0.2 */
#define RECO_OPE_RESULT_INIT { RECO_OPE_RESULT_VERSION, 0, 0, 0.0, 0.0, \
                               {{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}}, \
                               {{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}}, 0.0, 0.0, 0 }

/**
 * @brief The estimates of one target policy on one log.
 * @since 0.2
 */
typedef struct reco_ope_result {
    unsigned int version;  /**< Set by the caller: @ref RECO_OPE_RESULT_VERSION. */
    uint64_t sessions;     /**< Sessions of the log. */
    uint64_t steps;        /**< Rows of the log. */
    double logged_step;    /**< The logging policy's own mean reward per step. */
    double logged_return;  /**< The logging policy's own mean discounted return. */
    /** Per-decision values (mean immediate reward per step), by @ref reco_ope_estimator. */
    reco_ope_value step[RECO_OPE_N_ESTIMATORS];
    /** Per-session values (mean discounted return), by @ref reco_ope_estimator. */
    reco_ope_value session[RECO_OPE_N_ESTIMATORS];
    /** Effective sample size `(sum_i W_i)^2 / sum_i W_i^2` of the sessions' final
     *  cumulative weights W_i: near the number of sessions when the target resembles the
     *  logging policy, near 1 when a few sessions carry the estimate. */
    double ess;
    double max_weight;     /**< Largest cumulative weight (after clipping). */
    uint64_t clipped;      /**< Steps whose weight (per decision or cumulative) was clipped. */
} reco_ope_result;

/**
 * @brief Fill @p opts with the defaults of options version @p version.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_OPE_OPTIONS_VERSION.
 * @return @ref RECO_OK, @ref RECO_EINVAL if @p opts is NULL, @ref RECO_EVERSION otherwise.
 * @since 0.2
 */
RECO_API int reco_ope_options_init(reco_ope_options *opts, unsigned int version);

/**
 * @brief Estimate the value of @p target from @p log.
 * @param[in,out] out             its @c version set (@ref RECO_OPE_RESULT_INIT); receives
 *                                the estimates.
 * @param[in]     log             the log, with the `propensity` column and a known
 *                                propensity on every row.
 * @param[in]     candidates      (n_rows, max_candidates) the candidates the logging policy
 *                                chose from at each row, in the log's row order; row r
 *                                holds counts[r] items, the logged one among them. NULL
 *                                (with @p counts NULL): the log's candidates column.
 * @param[in]     counts          (n_rows) candidates per row, 1..max_candidates.
 * @param[in]     max_candidates  row stride of @p candidates, >= 1 (ignored for the log's).
 * @param[in]     target          the policy evaluated: a struct of version 4 with
 *                                probabilities(); called with blocks of rows.
 * @param[in]     opts            options; the reward weights are required.
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL arguments, an empty log, no propensity
 *         column, no candidates, a row with an unknown propensity or unknown candidates or
 *         whose item is not among its candidates — the message names the row, its user,
 *         session and step —, bad counts,
 *         a target without probabilities() or whose probabilities are not a distribution,
 *         widths that do not match, bad options naming the field); @ref RECO_EVERSION;
 *         @ref RECO_ENOMEM; or an error of a callback. On error @p out is unspecified.
 * @since 0.2
 */
RECO_API int reco_ope_estimate(reco_ope_result *out, const reco_log *log,
                               const int32_t *candidates, const uint32_t *counts,
                               uint32_t max_candidates, const reco_policy *target,
                               const reco_ope_options *opts);

RECO_END_DECLS

/** @} */
#endif /* RECO_OPE_H */
