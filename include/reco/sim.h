/**
 * @file sim.h
 * @brief The user simulator: a trained feedback model run as a @ref reco_env.
 * @defgroup reco_sim Simulator
 * @ingroup reco_core
 *
 * RecoMind trains its Q-network inside a simulator built from a supervised model of immediate
 * feedback. A @ref reco_sim wraps a trained @ref reco_model (borrowed, never modified) and
 * exposes it through the @ref reco_env interface (reco_sim_env()), so policies, explorers and
 * evaluators run in it exactly as in the ground-truth world.
 *
 * **A step.** For the item shown in each slot the model gives, per signal f, a probability
 * p_f = sigmoid(head_f), and p_exit from the exit head. Signals are drawn in index order,
 * honouring the dependencies set in the options: signal f with parent g and parent value v can
 * be 1 only when signal g came out equal to v, and then with probability
 * min(1, p_f / P(signal g = v)), so that its marginal stays p_f whenever the model's
 * probabilities are consistent (p_f <= P(g = v)). The defaults encode the ground-truth world's
 * rules: a long watch implies a click, a like implies a long watch, a hide excludes a click.
 * Then the user exits with probability p_exit — moved by the step's own signals when the
 * options give an `exit_tilt` (version 3) — or the session ends at `max_session_len` steps.
 * The interaction (item, feedback bits) is appended to the slot's state, and the reward is
 * `sum_f reward[f] * signal_f` (default weights: long watch dominates, hide is negative).
 *
 * **A pessimistic ensemble** (options version 5, the idea of MOPO: Yu et al. 2020,
 * "MOPO: Model-based Offline Policy Optimization"). With `ensemble_size` K >= 2 the simulator
 * scores the shown item with K feedback models (the one given to reco_sim_create() and the
 * K - 1 of `ensemble`, fitted on the same logs with other seeds). Model k gives p^k_f and
 * p^k_exit; the step uses
 *
 *     p_f      = (1/K) sum_k p^k_f                                  (each signal, the mean)
 *     r^k      = sum_f reward[f] p^k_f                 (model k's expected immediate reward)
 *     u_r      = sqrt((1/K) sum_k (r^k - mean_k r^k)^2)      (their disagreement, std over k)
 *     u_exit   = sqrt((1/K) sum_k (p^k_exit - p_exit_mean)^2)
 *     p_exit   = min(1, p_exit_mean + pessimism * u_exit)
 *     reward   = (the reward above) - pessimism * u_r
 *
 * The signals are drawn from the mean probabilities p_f, with the same stream draws as one
 * model (so K identical models give, bit for bit, the single model's sessions), and p_exit is
 * then moved by `exit_tilt` as above; reco_sim_probabilities() reports p_f and this p_exit.
 * Where the models agree (what the logs show well) nothing changes; where they disagree (items
 * or states the logs rarely cover) a step pays for the uncertainty and the session is more
 * likely to end, so a learner does not chase one model's errors.
 *
 * **Start states.** A reset slot starts from an empty history, or — after
 * reco_sim_set_start_env() — from the state that another environment (the world, say) gives
 * the same user, so that both run the same users from the same histories (the audit does):
 * its window, its user features and, from a version-3 source with context(), the long-term
 * history before the session.
 *
 * **Session context.** The simulator is a version-3 env: context() gives each slot's steps
 * taken, its elapsed seconds (each step adds `seconds_base + sum_f seconds[f] * signal_f`)
 * and its long-term history (`long_len` = the model's; fixed for the session), the inputs a
 * model with position, elapsed time or long-term history needs; probabilities() is
 * reco_sim_probabilities().
 *
 * **Candidates** are `n_candidates` distinct items drawn at each step from the slot's own
 * random stream: uniformly from the catalog, or (options version 3) a share of them in
 * proportion to the retrieval stage's weights, as the serving system retrieves.
 *
 * **Randomness.** Each slot draws from its own stream, seeded at reset from the options' seed,
 * the user and the number of resets of that slot; the same seed, users and calls give the same
 * sessions. reco_sim_reset() sets every slot's reset count back to 0, so that a fixed schedule
 * of (slot, user) resets replays the same streams: the evaluator (@ref reco_eval) calls it
 * before each policy to give every policy common random numbers.
 *
 * @code
 * reco_sim_options so = RECO_SIM_OPTIONS_INIT;
 * so.max_sessions = 256;
 * reco_sim *sim = NULL;
 * if (reco_sim_create(&sim, model, &so) < 0)      // model: a trained reco_model
 *     fprintf(stderr, "%s\n", reco_error_message());
 * reco_env env;
 * reco_sim_env(&env, sim);
 * // ... env.reset / env.observe / env.candidates / env.step, as for any reco_env ...
 * reco_sim_free(sim);
 * @endcode
 *
 * @par Thread safety
 * One thread at a time per simulator. Several simulators may share one model from several
 * threads (scoring a frozen model is thread-safe), as long as nobody trains that model
 * meanwhile.
 *
 * @par API tier
 * **Core**: stable for the life of libreco.so.0 (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_SIM_H
#define RECO_SIM_H

#include "reco/common.h"
#include "reco/alloc.h"
#include "reco/env.h"
#include "reco/model.h"

RECO_BEGIN_DECLS

/** Opaque simulator handle. */
typedef struct reco_sim reco_sim;

/** Largest number of signals a simulator handles (the model's limit). */
#define RECO_SIM_MAX_SIGNALS 16

/** Most feedback models of a pessimistic ensemble (@ref reco_sim_options version 5). */
#define RECO_SIM_MAX_ENSEMBLE 8

/** Current version of @ref reco_sim_options (3 added the step durations, 4 the imitated
 *  env, 5 the pessimistic ensemble). */
#define RECO_SIM_OPTIONS_VERSION 5

/** Options of a simulator. */
typedef struct reco_sim_options {
    unsigned int version;            /**< @ref RECO_SIM_OPTIONS_VERSION. */
    const reco_allocator *allocator; /**< NULL: the process default; copied. */
    uint64_t seed;                   /**< Seed of the slots' streams. Default 1. */
    uint32_t max_sessions;           /**< Session slots, 1..65536. Default 256. */
    uint32_t max_session_len;        /**< Steps before a session is cut, 1..100000. Default 100. */
    uint32_t n_candidates;           /**< Candidates per step, 1..min(n_items, the model's
                                          max_candidates). Default 500. */
    /** Reward weight of each signal; entries past the model's n_signals are ignored.
     *  Default: click 0.1, long watch 1.0, like 0.3, hide -0.5, others 0. */
    float reward[RECO_SIM_MAX_SIGNALS];
    /** Dependency of each signal: -1 for none, or the index g < f of the signal it depends
     *  on. Default: long watch on click, like on long watch, hide on click, others -1. */
    int32_t parent[RECO_SIM_MAX_SIGNALS];
    /** The value (0 or 1) the parent must have: 1 for "implies", 0 for "excludes".
     *  Default: 1, 1 and 0 for long watch, like and hide. */
    int32_t parent_value[RECO_SIM_MAX_SIGNALS];
    /* ---- version 2 (0.1) ---- */
    /** When nonzero, the candidates of a step leave out the items of the slot's window (its
     *  last `lookback` interactions), as the built-in world does with its `exclude_seen`;
     *  needs `n_candidates + lookback <= n_items`. Default 0. @since 0.1 */
    int exclude_seen;
    /** When nonzero, step() returns as reward the model's *expected* reward of the shown
     *  item, `sum_f reward[f] * P(signal f)` with the marginal probabilities, instead of
     *  the reward of the sampled signals; the sampled signals still make the feedback bits,
     *  the next state and the exit. Same mean, less variance for a learner. Default 0.
     *  @since 0.1 */
    int expected_reward;
    /** (n_items) finite per-item amounts subtracted from the reward of every step that shows
     *  the item, or NULL (default) for none; copied at creation. Meant for pessimism where
     *  the simulator knows little, e.g. `lambda / sqrt(1 + n_i)` with n_i the item's logged
     *  impressions, so that a learner does not chase the model's errors on rarely logged
     *  items; it changes the reward only, not the feedback bits or the exit. @since 0.1 */
    const float *item_penalty;
    /* ---- version 3 (0.2) ---- */
    /** Seconds a step takes, for the elapsed time of the session context (the model's
     *  `elapsed` input, and context()): `seconds_base + sum_f seconds[f] * signal_f` of the
     *  step's sampled signals. Default 30 (the log generator's default step interval);
     *  reco_fit_model() estimates both from the logs' timestamps (@ref reco_fit_report
     *  version 2: `step_seconds_base`, `step_seconds`). Finite, >= 0 per step. @since 0.2 */
    float seconds_base;
    /** Extra seconds of a step per signal that came out 1 (a long watch takes longer);
     *  entries past the model's n_signals are ignored. Default 0. @since 0.2 */
    float seconds[RECO_SIM_MAX_SIGNALS];
    /** The retrieval stage: (n_items) finite weights >= 0 (not all 0), or NULL (default) for
     *  uniform candidates; copied at creation. With weights, `round(n_candidates *
     *  candidate_weight_share)` candidates of each step are drawn with probability
     *  proportional to the weights (Walker's alias method; a draw that repeats an item is
     *  redrawn, after 32 repeats uniformly), the rest uniformly, all distinct (and outside
     *  the window with `exclude_seen`), then shuffled. A simulator should retrieve as the
     *  serving system does: pass the retrieval's own weights (the built-in world's are its
     *  popularity prior and `popular_candidate_share`). @since 0.2 */
    const float *candidate_weights;
    /** Share of the candidates drawn by weight, [0, 1]. Default 0. @since 0.2 */
    float candidate_weight_share;
    /** How the step's sampled signals move its exit: the user exits with probability
     *  `sigmoid(logit(p_exit) + sum_f exit_tilt[f] (signal_f - p_f))` instead of p_exit (so a
     *  long watch can keep a user, a bounce lose one, and the exit's mean stays about the
     *  model's); finite; entries past the model's n_signals are ignored. Default all 0 (the
     *  exit drawn independently of the step's signals); reco_fit_model() estimates it
     *  (@ref reco_fit_report version 2: `exit_tilt`). @since 0.2 */
    float exit_tilt[RECO_SIM_MAX_SIGNALS];
    /* ---- version 4 (0.2) ---- */
    /** The environment the simulator stands in for, or NULL (default); read at creation
     *  only. Its signal names become the simulator env's (copied), and what it declares
     *  (@ref reco_env version 4) must agree with the options: `n_candidates` with its
     *  `max_candidates`, `max_session_len` with its `max_steps`, `reward[f]` with its
     *  `reward_weights[f]` (each checked when declared; a mismatch is refused, naming both
     *  values), and its n_signals and n_items with the model's. reco_sim_options_imitate()
     *  fills those options from the env. @since 0.2 */
    const reco_env *imitate;
    /* ---- version 5 (0.2) ---- */
    /** The other K - 1 feedback models of a pessimistic ensemble (see the group page), or
     *  NULL (default) when `ensemble_size` is 1: an array of `ensemble_size - 1` models,
     *  each with the simulator model's catalog, signals, lookback, user_dim and long_len.
     *  Borrowed: the array is read at creation, the models must outlive the simulator and
     *  must not be trained while it runs. @since 0.2 */
    const reco_model *const *ensemble;
    /** K, the feedback models of the simulator (its own included), 1..@ref
     *  RECO_SIM_MAX_ENSEMBLE. Default 1 (no ensemble). @since 0.2 */
    uint32_t ensemble_size;
    /** lambda, the weight of the models' disagreement in the reward and exit penalties
     *  (MOPO), finite, >= 0; above 0 it needs `ensemble_size` >= 2. Default 0 (the ensemble's
     *  mean, unpenalised). @since 0.2 */
    float pessimism;
} reco_sim_options;

/** Initialiser for @ref reco_sim_options with the defaults of the current version. */
#define RECO_SIM_OPTIONS_INIT                                                                  \
    { RECO_SIM_OPTIONS_VERSION, NULL, 1, 256, 100, 500,                                        \
      {0.1f, 1.0f, 0.3f, -0.5f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},                           \
      {-1, 0, 1, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1},                           \
      {0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, 0, NULL, 30.0f,                     \
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, NULL, 0.0f,                           \
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, NULL, NULL, 1, 0.0f }

/**
 * @brief Fill @p opts with the defaults of options version @p version.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_SIM_OPTIONS_VERSION.
 * @return @ref RECO_OK, @ref RECO_EINVAL if @p opts is NULL, @ref RECO_EVERSION otherwise.
 * @since 0.1
 */
RECO_API int reco_sim_options_init(reco_sim_options *opts, unsigned int version);

/**
 * @brief Make @p opts stand in for @p env: set @c imitate, and take the candidate count,
 *        the session cap and the reward weights from what @p env declares.
 *
 * Each of `n_candidates`, `max_session_len` and `reward` is replaced by the env's
 * `max_candidates`, `max_steps` and `reward_weights` when the env declares it (@ref reco_env
 * version 4) and left as it is otherwise; the other options are untouched.
 * @param[in,out] opts  options (any version; set to the current version).
 * @param[in]     env   the environment, checked with reco_env_check(); it must outlive the
 *                      reco_sim_create() call that reads @p opts.
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL, a bad env, more than
 *         @ref RECO_SIM_MAX_SIGNALS signals); @ref RECO_EVERSION (the env's version).
 * @since 0.2
 */
RECO_API int reco_sim_options_imitate(reco_sim_options *opts, const reco_env *env);

/**
 * @brief Create a simulator around a trained feedback model.
 * @param[out] out    receives the simulator; NULL on failure.
 * @param[in]  model  the feedback model; borrowed: it must outlive the simulator and must not
 *                    be trained while the simulator runs.
 * @param[in]  opts   options (copied), or NULL for defaults.
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL arguments, an option out of range — the message
 *         names it —, dependencies that do not point to an earlier signal, a model with more
 *         than @ref RECO_SIM_MAX_SIGNALS signals, an ensemble model that does not fit the
 *         simulator's model); @ref RECO_EVERSION; @ref RECO_ENOMEM.
 * @since 0.1
 */
RECO_API int reco_sim_create(reco_sim **out, const reco_model *model,
                             const reco_sim_options *opts);

/**
 * @brief Free a simulator. NULL is accepted.
 * @param[in] sim  the simulator.
 * @since 0.1
 */
RECO_API void reco_sim_free(reco_sim *sim);

/**
 * @brief Restore the fresh state: every slot idle, with an empty history, and every slot's
 *        reset count back to 0.
 *
 * After it, the same sequence of reset() calls (the same users in the same slots, in the
 * same order) seeds the same random streams as after reco_sim_create(), so the same policy
 * meets the same candidates and draws: two runs of a deterministic policy give identical
 * sessions, and different policies get common random numbers. The options, the model and the
 * start env (reco_sim_set_start_env()) are kept. Never allocates.
 * @param[in,out] sim  the simulator.
 * @return @ref RECO_OK, or @ref RECO_EINVAL for a NULL @p sim.
 * @since 0.1
 */
RECO_API int reco_sim_reset(reco_sim *sim);

/**
 * @brief Fill @p out with the @ref reco_env callbacks of @p sim.
 *
 * The environment has @c save_state and @c load_state (a trainer checkpoints through them):
 * the state is every slot's window, user features, user id, step count, reset count and
 * random stream, elapsed time and long-term history, `40 + S (8 L + 4 U + 57 + 8 H) + 4` bytes
 * for S slots (H the model's long_len), checked by a CRC-32C; it
 * loads only into a simulator with the same slots, lookback, user_dim, signals, items,
 * max_session_len and seed. A start environment (reco_sim_set_start_env()) is not part of
 * the state: its own state matters at the next reset, and is not restored.
 * @param[out] out  the environment; its payload is @p sim, which must outlive its use.
 * @param[in]  sim  the simulator.
 * @return @ref RECO_OK or @ref RECO_EINVAL.
 * @since 0.1
 */
RECO_API int reco_sim_env(reco_env *out, reco_sim *sim);

/**
 * @brief Start future sessions from the states that @p source gives the same users.
 *
 * On every reset the simulator resets the same slots in @p source and copies their observed
 * states (and user features) as the starting histories. @p source must have at least as many
 * slots, the same catalog size, lookback and user-feature width; it is borrowed until this
 * function is called again with NULL or the simulator is freed.
 * @param[in,out] sim     the simulator.
 * @param[in]     source  an environment, or NULL to start from empty histories again.
 * @return @ref RECO_OK, or @ref RECO_EINVAL for a NULL @p sim or an incompatible source.
 * @since 0.1
 */
RECO_API int reco_sim_set_start_env(reco_sim *sim, const reco_env *source);

/**
 * @brief The model's probabilities for showing `items[i]` in `slots[i]` now, without stepping.
 * @param[out]    probs_out  (n, n_signals + 1): each signal's marginal probability, then exit;
 *                           with an ensemble (options version 5), the models' mean of each
 *                           signal and the pessimistic exit of the group page (before the
 *                           exit tilt, as for one model).
 * @param[in,out] sim        the simulator.
 * @param[in]     slots      (n) active slots.
 * @param[in]     items      (n) items.
 * @param[in]     n          number of slots, 1..max_sessions.
 * @return @ref RECO_OK, or @ref RECO_EINVAL / @ref RECO_ESTATE as for a step.
 * @since 0.1
 */
RECO_API int reco_sim_probabilities(float *probs_out, reco_sim *sim, const uint32_t *slots,
                                    const int32_t *items, uint32_t n);

RECO_END_DECLS

/** @} */
#endif /* RECO_SIM_H */
