/**
 * @file policy.h
 * @brief Policies that pick one candidate per session, built-in ones, and a batched runner
 *        that plays whole sessions of a policy in any @ref reco_env.
 * @defgroup reco_policy Policy
 * @ingroup reco_core
 *
 * A @ref reco_policy is a versioned struct of one callback plus a payload, like
 * @ref reco_env. Given a batch of states and their candidate lists it returns the index of
 * the chosen candidate in each row. Users plug in their own; the library provides four
 * built-in ones behind a small handle (@ref reco_policy_state, made by reco_policy_create()):
 *
 * - @ref RECO_POLICY_RANDOM — a uniform candidate, from the handle's seeded stream;
 * - @ref RECO_POLICY_POPULARITY — the candidate with the largest per-item weight (e.g. the
 *   world's popularity prior): deterministic argmax;
 * - @ref RECO_POLICY_MODEL_GREEDY — the "greedy-supervised" policy: the candidate with the
 *   largest `sum_f w_f sigmoid(head_f)` under a feedback model, its expected immediate reward;
 * - @ref RECO_POLICY_MODEL_HEAD — the candidate with the largest raw output of one model
 *   head (e.g. the Q head, reco_model_n_heads() - 1).
 * - @ref RECO_POLICY_WEIGHTED — a candidate drawn in proportion to a per-item weight (the
 *   popularity logging rule of reco_log_generate());
 * - @ref RECO_POLICY_MODEL_SOFTMAX — a candidate drawn from the softmax of the model's
 *   expected immediate reward (the model logging rule);
 * - @ref RECO_POLICY_MODEL_EXPLORE — an explorer (include/reco/explorer.h, e.g. RecoMind's
 *   epsilon-greedy over a softmax of the top-K) over one model head's raw outputs, usually
 *   a Q-network's Q head: the rule the trainer's generators play, as a policy.
 *
 * Built-in policies implement choose_sessions() (version 3) and report the probability of
 * each choice (1 for the argmax ones), which the log generator records as the propensity;
 * they also implement probabilities() (version 4), the whole distribution over a row's
 * candidates (uniform for random; one-hot on the argmax, ties to the lower index, for
 * popularity, greedy and head; the draw's law for weighted, softmax and explore), which
 * off-policy evaluation reads.
 *
 * Every argmax breaks ties by the lower candidate index. reco_run_sessions() plays a list of
 * sessions to their end with a policy, all of the env's slots stepping together.
 *
 * **The whole state.** A model may take more than the window of recent interactions: user
 * features, the position in the session, the elapsed time and a long-term history (the
 * session context, @ref reco_model_options version 2). The runners (reco_run_sessions(),
 * reco_eval_run()) read each state with the env's observe() and, from a version-3 env,
 * context(), and hand it to a version-2 policy's choose_states() as one @ref reco_batch; the
 * model policies implement it and score with every input their model takes. A version-1
 * policy (or one without choose_states()) gets choose(), which has the window and the user
 * features only.
 *
 * @code
 * reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
 * po.kind = RECO_POLICY_MODEL_GREEDY;
 * po.model = model;                       // a trained feedback model
 * po.signal_weights = weights;            // e.g. the reward weights
 * reco_policy_state *ps = NULL;
 * reco_policy pol;
 * if (reco_policy_create(&ps, &po) < 0 || reco_policy_get(&pol, ps) < 0)
 *     fprintf(stderr, "%s\n", reco_error_message());
 * reco_run_stats st = RECO_RUN_STATS_INIT;
 * reco_run_sessions(&st, NULL, NULL, &env, &pol, users, n_users, NULL);
 * printf("mean depth %.1f\n", (double)st.steps / (double)st.sessions);
 * reco_policy_free(ps);
 * @endcode
 *
 * **Memory.** reco_policy_create() allocates everything a built-in policy needs (for model
 * policies a scoring workspace and buffers for the model's max_batch x max_candidates
 * scores); choose() and choose_states() never allocate. reco_run_sessions() allocates its
 * buffers for the call.
 *
 * @par Thread safety
 * One thread at a time per @ref reco_policy_state (the random stream and the scratch are
 * its own). Model policies only score their model, which must not be trained meanwhile;
 * several states may share one model from several threads.
 *
 * @par API tier
 * **Core**: stable for the life of libreco.so.0 (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_POLICY_H
#define RECO_POLICY_H

#include "reco/common.h"
#include "reco/alloc.h"
#include "reco/env.h"
#include "reco/explorer.h"
#include "reco/model.h"

RECO_BEGIN_DECLS

/** @brief Current version of @ref reco_policy (2 added choose_states(), 3
 *  choose_sessions(), 4 probabilities()). @since 0.1 */
#define RECO_POLICY_VERSION 4

/** @brief Current version of @ref reco_policy_sessions. @since 0.2 */
#define RECO_POLICY_SESSIONS_VERSION 1

/** @brief Initialiser for @ref reco_policy_sessions. @since 0.2 */
#define RECO_POLICY_SESSIONS_INIT { RECO_POLICY_SESSIONS_VERSION, NULL, NULL, NULL, NULL }

/**
 * @brief Which sessions a policy acts for: the third argument of
 *        @ref reco_policy::choose_sessions (rows as in its batch of states).
 *
 * Every runner of the library (reco_run_sessions(), reco_eval_run(), reco_log_generate(),
 * the trainer's generators) fills it, so a policy that keeps per-user or per-session state
 * (a bandit per user, a session's own memory) finds its rows without relying on call order.
 * @since 0.2
 */
typedef struct reco_policy_sessions {
    unsigned int version;     /**< @ref RECO_POLICY_SESSIONS_VERSION. */
    const uint32_t *slots;    /**< (n) the env slot of each row. */
    const uint64_t *users;    /**< (n) what the env's reset() received for the row's session
                                   (a user id, or a session key such as the world's). */
    /** (n) the row's session number in the run: its index in the `users` list of
     *  reco_run_sessions() and reco_eval_run(), the session id of reco_log_generate(), a
     *  running count in the trainer. */
    const uint64_t *sessions;
    /** (n), or NULL when the caller does not want them: receives the probability with which
     *  the policy chose row i's candidate (1 for a deterministic choice); left NaN, or
     *  not written, means unknown. reco_log_generate() logs it as the propensity. */
    float *propensity_out;
} reco_policy_sessions;

/**
 * @brief A batch-oriented policy (struct of one callback + payload).
 *
 * choose() receives, for n sessions, their states as reco_env's observe() gives them and
 * their candidates as candidates() gives them, and writes in `index_out[i]` the position
 * (below `counts[i]`) of the candidate shown in row i. It returns @ref RECO_OK or a negative
 * status (recording its message with reco_error_set()); on error the outputs are
 * unspecified.
 * @since 0.1
 */
typedef struct reco_policy {
    unsigned int version; /**< @ref RECO_POLICY_VERSION. */
    const char *name;     /**< A short name for reports; may be NULL. */
    /** The lookback L the policy expects of the states, or 0 if it reads any (or none). */
    uint32_t lookback;
    /** The user-feature width it expects, or 0 if it reads none. */
    uint32_t user_dim;
    /**
     * Pick a candidate for each of @p n rows.
     * @param[out] index_out       (n) chosen positions, `index_out[i] < counts[i]`.
     * @param[in]  items           (n, L) history items, newest last, @ref RECO_PAD for none.
     * @param[in]  feedback        (n, L) feedback bits.
     * @param[in]  features        (n, user_dim) user features, or NULL when there are none.
     * @param[in]  candidates      (n, max_candidates) candidate items; row i has counts[i].
     * @param[in]  counts          (n) candidates per row, each >= 1.
     * @param[in]  max_candidates  row stride of @p candidates.
     * @param[in]  n               rows.
     * @param[in]  payload         @ref reco_policy::payload.
     */
    int (*choose)(uint32_t *index_out, const int32_t *items, const uint32_t *feedback,
                  const float *features, const int32_t *candidates, const uint32_t *counts,
                  uint32_t max_candidates, uint32_t n, void *payload);
    void *payload; /**< Passed back to choose(); never read by the library. */
    /**
     * Version 2; may be NULL. The same choice with the whole state: when set, runners call
     * it instead of choose() (they read it only from a struct of version >= 2; a copy of a
     * built-in policy whose choose() is replaced must clear it too). `states` holds the n
     * rows (its `size`) with everything the env gives — the window, user features and, from
     * a version-3 env, the session context (steps, elapsed time, long-term history of the
     * env's `long_len` slots; from an env without context(), steps are the runner's count,
     * elapsed 0 and the long-term history pads; from an env of version < 3, long_items and
     * long_feedback are NULL) — and as candidates the (n, max_candidates) matrix
     * (`n_candidates` = max_candidates, not shared); row i has counts[i] valid entries. The
     * batch and its arrays are borrowed for the call. Returns as choose().
     * @since 0.2
     */
    int (*choose_states)(uint32_t *index_out, const reco_batch *states, const uint32_t *counts,
                         void *payload);
    /**
     * Version 3; may be NULL. The choice with the whole state and the sessions it is for:
     * when set, runners call it instead of choose_states() and choose(). `states` and
     * `counts` are as for choose_states(); `sessions` gives each row's slot, session key and
     * session number, and a propensity output (see @ref reco_policy_sessions). Returns as
     * choose().
     * @since 0.2
     */
    int (*choose_sessions)(uint32_t *index_out, const reco_batch *states,
                           const uint32_t *counts, const reco_policy_sessions *sessions,
                           void *payload);
    /**
     * Version 4; may be NULL. The policy's whole action distribution: for each of the n
     * rows of `states` (as for choose_sessions()), the probability with which it would
     * choose each of the row's candidates, written to `probs_out`, (n, n_candidates)
     * row-major with row stride `states->n_candidates`: entries `j < counts[i]` are in
     * [0, 1] and sum to 1 (within float rounding), entries past `counts[i]` are 0. It
     * draws nothing and changes no state of the policy (an explorer's step does not
     * advance), so it gives the distribution the next choose_sessions() call would draw
     * from. Off-policy evaluation (reco_ope, include/reco/ope.h) reads it to weigh a
     * logged action by the target policy's probability of it. `sessions` may be NULL
     * (its propensity_out is not written). Returns as choose().
     * @since 0.2
     */
    int (*probabilities)(float *probs_out, const reco_batch *states, const uint32_t *counts,
                         const reco_policy_sessions *sessions, void *payload);
} reco_policy;

/**
 * @brief The built-in policies. Values never change.
 * @since 0.1
 */
typedef enum reco_policy_kind {
    RECO_POLICY_RANDOM = 1,       /**< Uniform over the candidates (seeded). */
    RECO_POLICY_POPULARITY = 2,   /**< Argmax of a per-item weight. */
    RECO_POLICY_MODEL_GREEDY = 3, /**< Argmax of `sum_f w_f sigmoid(head_f)` of a model. */
    RECO_POLICY_MODEL_HEAD = 4,   /**< Argmax of one head's raw output. */
    /** A candidate drawn with probability proportional to its per-item weight (uniform when
     *  all of the row's candidates weigh 0): the popularity logging rule. @since 0.2 */
    RECO_POLICY_WEIGHTED = 5,
    /** A candidate drawn from the softmax of the model's expected immediate reward
     *  `sum_f w_f sigmoid(head_f)` at a temperature: the model logging rule. @since 0.2 */
    RECO_POLICY_MODEL_SOFTMAX = 6,
    /** A candidate chosen by an explorer (@ref reco_policy_options::explorer) over one
     *  model head's raw outputs (@ref reco_policy_options::head, e.g. the Q head): the
     *  exploring policy of RecoMind's generators. @since 0.2 */
    RECO_POLICY_MODEL_EXPLORE = 7
} reco_policy_kind;

/** @brief Opaque handle of a built-in policy. @since 0.1 */
typedef struct reco_policy_state reco_policy_state;

/** @brief Current version of @ref reco_policy_options. @since 0.1 */
#define RECO_POLICY_OPTIONS_VERSION 3

/** @brief Initialiser for @ref reco_policy_options (the defaults: a random policy, seed 1).
 *  @since 0.1 */
#define RECO_POLICY_OPTIONS_INIT \
    { RECO_POLICY_OPTIONS_VERSION, NULL, RECO_POLICY_RANDOM, 1, NULL, 0, NULL, NULL, 0, 1.0f, NULL }

/**
 * @brief Which built-in policy to create and its inputs.
 * @since 0.1
 */
typedef struct reco_policy_options {
    unsigned int version;            /**< @ref RECO_POLICY_OPTIONS_VERSION. */
    const reco_allocator *allocator; /**< NULL: the process default; copied. */
    reco_policy_kind kind;           /**< Which policy. Default @ref RECO_POLICY_RANDOM. */
    uint64_t seed;                   /**< Random: seed of its stream. Default 1. */
    /** Popularity: (n_item_weights) finite weights, copied; candidates must be below
     *  n_item_weights. */
    const float *item_weights;
    uint32_t n_item_weights;         /**< Popularity: number of weights, >= 1. */
    /** Model policies: the model; borrowed: it must outlive the state and not be trained
     *  while the policy is used. */
    const reco_model *model;
    /** Model greedy and softmax: (the model's n_signals) finite weights w_f, copied; or
     *  NULL (since 0.2): the reward weights the env declares (@ref reco_env version 4),
     *  taken by the runner that plays the policy. Weights given here must equal the env's
     *  when it declares them (a runner refuses a mismatch, naming both values). */
    const float *signal_weights;
    /** Model head and explore: the head ranked, below reco_model_n_heads() (signals, exit,
     *  Q). */
    uint32_t head;
    /* ---- version 2 (0.2) ---- */
    /** Model softmax: the temperature, finite and > 0. Default 1. @since 0.2 */
    float temperature;
    /* ---- version 3 (0.2) ---- */
    /** Model explore: the explorer's options, copied (NULL: the defaults, RecoMind's
     *  epsilon-greedy over a softmax of the top 25%). Its `max_candidates` is replaced by
     *  the model's and its allocator by the policy's; its `seed` and `stream` are the
     *  explorer's own (a runner that gives the policy a stream of its own reseeds both).
     *  The explorer's step advances once per select, i.e. once per chunk of up to the
     *  model's max_batch rows of a call. @since 0.2 */
    const reco_explorer_options *explorer;
} reco_policy_options;

/**
 * @brief Fill @p opts with the defaults of options version @p version.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_POLICY_OPTIONS_VERSION.
 * @return @ref RECO_OK, @ref RECO_EINVAL if @p opts is NULL, @ref RECO_EVERSION otherwise.
 * @since 0.1
 */
RECO_API int reco_policy_options_init(reco_policy_options *opts, unsigned int version);

/**
 * @brief Create a built-in policy.
 * @param[out] out   receives the state; NULL on failure.
 * @param[in]  opts  which policy (NULL: random, seed 1).
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL @p out, unknown kind, missing or non-finite
 *         weights, missing model, head out of range); @ref RECO_EVERSION; @ref RECO_ENOMEM.
 * @since 0.1
 */
RECO_API int reco_policy_create(reco_policy_state **out, const reco_policy_options *opts);

/**
 * @brief Free a built-in policy. NULL is accepted.
 * @param[in] state  the state.
 * @since 0.1
 */
RECO_API void reco_policy_free(reco_policy_state *state);

/**
 * @brief Fill @p out with the @ref reco_policy callbacks of a built-in policy.
 *
 * Its name is "random", "popularity", "weighted", "model-greedy", "model-head",
 * "model-softmax" or "model-explore"; model policies set
 * @ref reco_policy::lookback and @ref reco_policy::user_dim to the model's. @p out is a
 * struct of the current version (all of it is written).
 *
 * Model policies set both callbacks (since 0.2). choose_states() scores the candidates with
 * every input the model takes: the window, the user features and the session context of
 * the batch (`steps`, `elapsed`, `long_items` / `long_feedback` of the model's `long_len`
 * slots; a version-1 batch has none). The batch's rows must have the model's widths;
 * candidates may also be one shared list. choose() has no session context: when the model
 * takes the position, the elapsed time or a long-term history it fails with
 * @ref RECO_EINVAL (rather than guess a step count of 0, which would read every history slot
 * as the current session's) and the caller must use choose_states(); for other models both
 * give the same choices. The runners check a model policy's model against the env before
 * playing (see reco_run_sessions()). Random and popularity read no state and leave
 * choose_states() NULL.
 * @param[out] out    the policy; its payload is @p state, which must outlive its use.
 * @param[in]  state  the state.
 * @return @ref RECO_OK or @ref RECO_EINVAL.
 * @since 0.1
 */
RECO_API int reco_policy_get(reco_policy *out, reco_policy_state *state);

/**
 * @brief One step of one session, as reco_run_sessions() reports it to an observer.
 * @since 0.1
 */
typedef struct reco_run_step {
    uint32_t session;  /**< Index of the session in the `users` list. */
    uint32_t step;     /**< Step within the session, from 0. */
    int32_t item;      /**< The item shown. */
    uint32_t feedback; /**< Feedback bits. */
    float reward;      /**< Reward. */
    int done;          /**< The env's done (@ref RECO_ENV_CONTINUE ...). */
} reco_run_step;

/** @brief Largest number of signals whose counts @ref reco_run_stats keeps. @since 0.1 */
#define RECO_RUN_MAX_SIGNALS 16

/** @brief Current version of @ref reco_run_stats. @since 0.1 */
#define RECO_RUN_STATS_VERSION 1

/** @brief Initialiser for @ref reco_run_stats of the current version. @since 0.1 */
#define RECO_RUN_STATS_INIT { RECO_RUN_STATS_VERSION, 0, 0, 0, 0, 0, 0, {0}, 0.0 }

/**
 * @brief Totals of a reco_run_sessions() call.
 * @since 0.1
 */
typedef struct reco_run_stats {
    unsigned int version; /**< Set by the caller: @ref RECO_RUN_STATS_VERSION. */
    uint32_t n_signals;   /**< The env's signals (counts past @ref RECO_RUN_MAX_SIGNALS are
                               not kept). */
    uint64_t sessions;    /**< Sessions played (all of them). */
    uint64_t steps;       /**< Steps over all sessions. */
    uint64_t exits;       /**< Sessions that ended with @ref RECO_ENV_EXIT. */
    uint64_t truncated;   /**< Sessions that ended with @ref RECO_ENV_TRUNCATED. */
    uint64_t cut;         /**< Sessions stopped by the runner's `max_steps`. */
    uint64_t count[RECO_RUN_MAX_SIGNALS]; /**< Steps on which signal f was 1. */
    double reward;        /**< Sum of the rewards. */
} reco_run_stats;

/** @brief Current version of @ref reco_run_options. @since 0.1 */
#define RECO_RUN_OPTIONS_VERSION 1

/** @brief Initialiser for @ref reco_run_options with the defaults. @since 0.1 */
#define RECO_RUN_OPTIONS_INIT { RECO_RUN_OPTIONS_VERSION, NULL, 0, 500, 100000, NULL, NULL }

/**
 * @brief How reco_run_sessions() runs.
 * @since 0.1
 */
typedef struct reco_run_options {
    unsigned int version;            /**< @ref RECO_RUN_OPTIONS_VERSION. */
    const reco_allocator *allocator; /**< NULL: the process default; for the call's buffers. */
    uint32_t parallel;        /**< Slots used, `0 .. parallel-1`; 0 (default): all of them. */
    uint32_t max_candidates;  /**< Candidates asked per step, 1..2^20. Default 500. */
    /** Steps after which the runner stops a session itself (counted in
     *  @ref reco_run_stats::cut; its slot is then reset for the next session), 1..2^31.
     *  Default 100000: a guard against envs that never end. */
    uint32_t max_steps;
    /** Called after every batched step with that step's rows (any order); may be NULL. */
    void (*on_step)(const reco_run_step *steps, uint32_t n, void *payload);
    void *on_step_payload;    /**< Passed to @c on_step; never read by the library. */
} reco_run_options;

/**
 * @brief Fill @p opts with the defaults of options version @p version.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_RUN_OPTIONS_VERSION.
 * @return @ref RECO_OK, @ref RECO_EINVAL if @p opts is NULL, @ref RECO_EVERSION otherwise.
 * @since 0.1
 */
RECO_API int reco_run_options_init(reco_run_options *opts, unsigned int version);

/**
 * @brief Play one session for each of @p users with @p policy in @p env, to its end.
 *
 * Sessions are started in list order in the slots used, a slot taking the next session as
 * soon as its own ends; every step observes, asks for candidates, lets the policy choose and
 * steps all running slots at once (one batched call of each). A session ends when step()
 * reports done (exit or truncation) or after `max_steps` steps.
 *
 * The states are read with observe() and, when the env has it (version 3), context(), and a
 * version-2 policy with choose_states() receives them whole (see
 * @ref reco_policy::choose_states; since 0.2); other policies get choose(). A built-in model
 * policy's model is checked against the env first: the same lookback, the same user
 * features (or none), a long-term history of the env's `long_len` slots, and a context()
 * callback when the model takes the elapsed time or a long-term history (a model that takes
 * only the position gets the runner's step counts from an env without one); and its struct
 * must be of version 2 when the model takes any session context.
 * @param[in,out] out         its @c version must be set (@ref RECO_RUN_STATS_INIT); receives
 *                            the totals; may be NULL.
 * @param[out]    depth_out   (n_users) steps of each session, or NULL.
 * @param[out]    return_out  (n_users) sum of each session's rewards, or NULL.
 * @param[in]     env         the environment; its slots `0 .. parallel-1` are used.
 * @param[in]     policy      the policy; its lookback and user_dim, when not 0, must equal
 *                            the env's; read up to the fields of its version.
 * @param[in]     users       (n_users) what reset() receives for each session.
 * @param[in]     n_users     number of sessions, >= 1.
 * @param[in]     opts        options, or NULL for the defaults.
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL arguments, bad versions of the env or policy,
 *         mismatched sizes, a model policy whose model cannot read the env's states — the
 *         message names both sides, e.g. both long-term history lengths —, bad options, an env
 *         row with no candidates or more than asked, a chosen index out of range);
 *         @ref RECO_EVERSION; @ref RECO_ENOMEM; or any error of a callback. On error the
 *         outputs are unspecified and the env's slots may be mid-session.
 * @par Thread safety
 * The env and the policy are called from the calling thread only.
 * @since 0.1
 */
RECO_API int reco_run_sessions(reco_run_stats *out, uint32_t *depth_out, float *return_out,
                               const reco_env *env, const reco_policy *policy,
                               const uint64_t *users, uint32_t n_users,
                               const reco_run_options *opts);

RECO_END_DECLS

/** @} */
#endif /* RECO_POLICY_H */
