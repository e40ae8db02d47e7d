/**
 * @file audit.h
 * @brief Simulator audit: the same policy, the same users, in the simulator and in the
 *        real (reference) environment; rates per signal, session depth, and where they differ.
 * @defgroup reco_audit Audit
 * @ingroup reco_lab
 *
 * RecoMind trains in a simulator learned from logs; how far its sessions are from real ones
 * (the "sim-to-real gap") decides how much of what is learned there transfers. The audit
 * makes that gap measurable: it plays one session per user with the same @ref reco_policy
 * in a simulator env and in a reference env (the built-in world, or any other), with
 * reco_run_sessions(), and reports for each side
 *
 * - per signal f and for the exit, the **rate per step** (steps on which f was 1, or the
 *   user left, over all steps), the mean session depth and the mean return;
 * - the same rates **by item popularity bucket**: items are cut into `n_buckets` groups of
 *   (nearly) equal size by their popularity (quantiles, least popular first), and a step
 *   counts in the bucket of the item it showed (an exit in the bucket of the last item);
 * - the same rates, depth and return **by user segment**;
 * - for each rate, the bucket and the segment where the simulator is most wrong (largest
 *   absolute difference of the rates, among groups with steps on both sides).
 *
 * For a fair comparison both sides must start from the same states: with the simulator,
 * call reco_sim_set_start_env() with the reference env first (reco_audit_world() needs the
 * caller to have done so with the world's env). Rates also differ by sampling noise: a rate
 * p over n steps has a standard error of sqrt(p (1 - p) / n).
 *
 * @code
 * reco_env world_env, sim_env;
 * reco_world_env(&world_env, world);
 * reco_sim_set_start_env(sim, &world_env);
 * reco_sim_env(&sim_env, sim);
 * reco_audit_report rep;
 * rep.version = RECO_AUDIT_REPORT_VERSION;
 * if (reco_audit_world(&rep, &sim_env, world, &policy, 0, 1000, NULL) < 0)
 *     fprintf(stderr, "%s\n", reco_error_message());
 * printf("click: sim %.3f, world %.3f\n", rep.sim.rate[RECO_SIGNAL_CLICK],
 *        rep.real.rate[RECO_SIGNAL_CLICK]);
 * @endcode
 *
 * The library never prints: `examples/sim_audit.c` has a table printer.
 *
 * @par Thread safety
 * An audit calls both envs and the policy from the calling thread; nothing else may use them
 * meanwhile.
 *
 * @par API tier
 * **Lab**: may change in any 0.x release; declared only where `RECO_LAB_API` is defined
 * before the first libreco include (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_AUDIT_H
#define RECO_AUDIT_H
#ifndef RECO_LAB_API
#error "reco/audit.h is lab API, may change in any 0.x: define RECO_LAB_API first (docs/abi.md)"
#endif

#include "reco/common.h"
#include "reco/alloc.h"
#include "reco/env.h"
#include "reco/policy.h"
#include "reco/world.h"

RECO_BEGIN_DECLS

/** @brief Most signals an audit handles. @since 0.1 */
#define RECO_AUDIT_MAX_SIGNALS 16
/** @brief Entries of @ref reco_audit_stats::rate (the signals, then the exit). @since 0.1 */
#define RECO_AUDIT_MAX_RATES (RECO_AUDIT_MAX_SIGNALS + 1)
/** @brief Most popularity buckets. @since 0.1 */
#define RECO_AUDIT_MAX_BUCKETS 10
/** @brief Most user segments. @since 0.1 */
#define RECO_AUDIT_MAX_SEGMENTS 8

/**
 * @brief What one side (simulator or reference) did, overall or in one group.
 *
 * In a popularity bucket only the per-step members are meaningful: `sessions`,
 * `mean_depth` and `mean_return` are 0 there.
 * @since 0.1
 */
typedef struct reco_audit_stats {
    uint64_t sessions;  /**< Sessions (overall or of the segment). */
    uint64_t steps;     /**< Steps. */
    uint64_t exits;     /**< Steps after which the user left (@ref RECO_ENV_EXIT). */
    uint64_t truncated; /**< Sessions cut at the env's maximum length (or the runner's). */
    uint64_t count[RECO_AUDIT_MAX_SIGNALS]; /**< Steps on which signal f was 1. */
    /** Rates per step: `count[f] / steps` for f < n_signals, then `exits / steps` at index
     *  n_signals; 0 when there are no steps. */
    double rate[RECO_AUDIT_MAX_RATES];
    double mean_depth;  /**< `steps / sessions`. */
    double mean_return; /**< Mean sum of rewards per session. */
} reco_audit_stats;

/** @brief Current version of @ref reco_audit_report. @since 0.1 */
#define RECO_AUDIT_REPORT_VERSION 1

/**
 * @brief The result of an audit. Set @c version before the call; the rest is written.
 * @since 0.1
 */
typedef struct reco_audit_report {
    unsigned int version; /**< Set by the caller: @ref RECO_AUDIT_REPORT_VERSION. */
    uint32_t n_signals;   /**< Signals of the envs; rate index n_signals is the exit. */
    uint32_t n_sessions;  /**< Sessions played on each side. */
    uint32_t n_buckets;   /**< Popularity buckets used, 1..@ref RECO_AUDIT_MAX_BUCKETS. */
    uint32_t n_segments;  /**< User segments used, 1..@ref RECO_AUDIT_MAX_SEGMENTS. */
    reco_audit_stats sim;  /**< The simulator, overall. */
    reco_audit_stats real; /**< The reference env, overall. */
    reco_audit_stats sim_bucket[RECO_AUDIT_MAX_BUCKETS];  /**< The simulator by bucket. */
    reco_audit_stats real_bucket[RECO_AUDIT_MAX_BUCKETS]; /**< The reference by bucket. */
    /** Largest popularity of the items in each bucket (buckets go up in popularity). */
    float bucket_max_popularity[RECO_AUDIT_MAX_BUCKETS];
    uint32_t bucket_items[RECO_AUDIT_MAX_BUCKETS]; /**< Items in each bucket. */
    reco_audit_stats sim_segment[RECO_AUDIT_MAX_SEGMENTS];  /**< The simulator by segment. */
    reco_audit_stats real_segment[RECO_AUDIT_MAX_SEGMENTS]; /**< The reference by segment. */
    /** For each rate (signals, then exit): the bucket with the largest |sim - real| rate
     *  among buckets with steps on both sides (0 if none). */
    uint32_t worst_bucket[RECO_AUDIT_MAX_RATES];
    /** That bucket's difference, sim rate - real rate. */
    double worst_bucket_gap[RECO_AUDIT_MAX_RATES];
    /** For each rate: the segment with the largest |sim - real| rate (0 if none). */
    uint32_t worst_segment[RECO_AUDIT_MAX_RATES];
    /** That segment's difference, sim rate - real rate. */
    double worst_segment_gap[RECO_AUDIT_MAX_RATES];
} reco_audit_report;

/** @brief Current version of @ref reco_audit_options. @since 0.1 */
#define RECO_AUDIT_OPTIONS_VERSION 1

/** @brief Initialiser for @ref reco_audit_options with the defaults. @since 0.1 */
#define RECO_AUDIT_OPTIONS_INIT \
    { RECO_AUDIT_OPTIONS_VERSION, NULL, 5, NULL, NULL, 1, 0, 500, 100000 }

/**
 * @brief How an audit groups and runs its sessions.
 * @since 0.1
 */
typedef struct reco_audit_options {
    unsigned int version;            /**< @ref RECO_AUDIT_OPTIONS_VERSION. */
    const reco_allocator *allocator; /**< NULL: the process default; for the call's buffers. */
    /** Popularity buckets, 1..@ref RECO_AUDIT_MAX_BUCKETS (at most n_items). Default 5. */
    uint32_t n_buckets;
    /** (env n_items) finite popularity of each item, borrowed for the call; NULL: one
     *  bucket. reco_audit_world() uses the world's popularity prior instead. */
    const float *item_popularity;
    /** (n_users) segment of each session's user, each below @c n_segments, borrowed for the
     *  call; NULL: all in segment 0. reco_audit_world() uses the world's segments instead. */
    const uint32_t *user_segment;
    /** Segments, 1..@ref RECO_AUDIT_MAX_SEGMENTS. Default 1. */
    uint32_t n_segments;
    uint32_t parallel;       /**< As @ref reco_run_options::parallel. Default 0 (all slots). */
    uint32_t max_candidates; /**< As @ref reco_run_options::max_candidates. Default 500. */
    uint32_t max_steps;      /**< As @ref reco_run_options::max_steps. Default 100000. */
} reco_audit_options;

/**
 * @brief Fill @p opts with the defaults of options version @p version.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_AUDIT_OPTIONS_VERSION.
 * @return @ref RECO_OK, @ref RECO_EINVAL if @p opts is NULL, @ref RECO_EVERSION otherwise.
 * @since 0.1
 */
RECO_API int reco_audit_options_init(reco_audit_options *opts, unsigned int version);

/**
 * @brief Play one session per user with @p policy in @p sim and then in @p real, and compare.
 * @param[in,out] out      its @c version must be set; receives the report.
 * @param[in]     sim      the simulator env (any @ref reco_env).
 * @param[in]     real     the reference env: same n_items, n_signals (at most
 *                         @ref RECO_AUDIT_MAX_SIGNALS), lookback and user_dim.
 * @param[in]     policy   the policy, used on both sides (a stateful one, like the random
 *                         policy, continues its stream from one side to the other).
 * @param[in]     users    (n_users) what both envs' reset() receive.
 * @param[in]     n_users  sessions per side, >= 1.
 * @param[in]     opts     options, or NULL for the defaults.
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL arguments, mismatched envs, bad options,
 *         a segment out of range, a non-finite popularity, or any reco_run_sessions() error);
 *         @ref RECO_EVERSION; @ref RECO_ENOMEM; or an error of a callback.
 * @since 0.1
 */
RECO_API int reco_audit_run(reco_audit_report *out, const reco_env *sim, const reco_env *real,
                            const reco_policy *policy, const uint64_t *users, uint32_t n_users,
                            const reco_audit_options *opts);

/**
 * @brief Audit against the built-in world: evaluation sessions `first .. first + n - 1`
 *        (reco_world_eval_users()), popularity buckets of the world's popularity prior and
 *        the world's user segments (@ref RECO_WORLD_N_SEGMENTS).
 *
 * The reference env is reco_world_env() of @p world. @p opts's item_popularity,
 * user_segment and n_segments must be left at their defaults (NULL, NULL, 1).
 * @param[in,out] out      its @c version must be set; receives the report.
 * @param[in]     sim      the simulator env, normally a reco_sim started from the world's
 *                         states (reco_sim_set_start_env()).
 * @param[in,out] world    the world (its slots are used).
 * @param[in]     policy   the policy.
 * @param[in]     first    index of the first evaluation session.
 * @param[in]     n        sessions per side, >= 1.
 * @param[in]     opts     options, or NULL for the defaults.
 * @return as reco_audit_run().
 * @since 0.1
 */
RECO_API int reco_audit_world(reco_audit_report *out, const reco_env *sim, reco_world *world,
                              const reco_policy *policy, uint64_t first, uint32_t n,
                              const reco_audit_options *opts);

RECO_END_DECLS

/** @} */
#endif /* RECO_AUDIT_H */
