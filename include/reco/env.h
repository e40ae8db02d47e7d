/**
 * @file env.h
 * @brief The environment interface: anything that can run recommendation sessions.
 * @defgroup reco_env Environment
 * @ingroup reco_core
 *
 * A @ref reco_env is a versioned struct of callbacks plus a payload, filled by the built-in
 * ground-truth world (reco_world_env()), by the simulator (reco_sim_env()), or by a user who
 * plugs in their own users. Sessions live in numbered slots `0 .. max_sessions-1`, and every
 * callback works on a batch of slots at once, so many sessions step together.
 *
 * A session: reset() a slot for a user, then repeatedly observe() its state (the last
 * `lookback` interactions, newest last, @ref RECO_PAD for empty slots), ask for candidates(),
 * and step() with one item; step() returns the feedback bits (bit f = signal f), the reward
 * and whether the session is over: @ref RECO_ENV_EXIT when the user left, or
 * @ref RECO_ENV_TRUNCATED when the maximum length was reached (not a terminal state of the
 * user's behaviour: a learner should bootstrap through it). A slot
 * whose session is over must be reset() before it is stepped again.
 *
 * @code
 * reco_env env;
 * reco_world_env(&env, world);                 // or reco_sim_env(&env, sim)
 * uint32_t slot = 0;
 * uint64_t user = 17;
 * env.reset(&slot, &user, 1, env.payload);
 * int done = 0;
 * while (!done) {
 *     int32_t cand[500]; uint32_t nc;
 *     env.candidates(cand, &nc, 500, &slot, 1, env.payload);
 *     int32_t item = cand[0];                   // a policy chooses here
 *     uint32_t fb; float r;
 *     env.step(&fb, &r, &done, &slot, &item, 1, env.payload);
 * }
 * @endcode
 *
 * @par Thread safety
 * Set by each implementation; the built-in ones allow concurrent calls on disjoint slots only
 * if their documentation says so (see reco_world_env() and reco_sim_env()).
 *
 * @par API tier
 * **Core**: stable for the life of libreco.so.0 (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_ENV_H
#define RECO_ENV_H

#include "reco/common.h"

RECO_BEGIN_DECLS

/** Signal index (feedback bit) of a click in the built-in world, its logs and simulator.
 *  @since 0.1 */
#define RECO_SIGNAL_CLICK 0
/** Signal index of a long watch, the paper's "> 10 s" (bit 1). */
#define RECO_SIGNAL_LONG_WATCH 1
/** Signal index of a like / save (bit 2). */
#define RECO_SIGNAL_LIKE 2
/** Signal index of a hide / dislike (bit 3). */
#define RECO_SIGNAL_HIDE 3
/** Number of default signals (click, long watch, like, hide). */
#define RECO_N_SIGNALS_DEFAULT 4

/** step() `done` value: the session goes on. @since 0.1 */
#define RECO_ENV_CONTINUE 0
/** step() `done` value: the user exited after this step (a terminal state). @since 0.1 */
#define RECO_ENV_EXIT 1
/** step() `done` value: the session was cut at its maximum length; the user did not choose
 *  to leave, so a learner should bootstrap from the next state rather than treat it as
 *  terminal. @since 0.1 */
#define RECO_ENV_TRUNCATED 2

/** Current version of @ref reco_env (2 added @c save_state and @c load_state; 3 added
 *  @c long_len, @c context and @c probabilities; 4 added the declarations @c signal_names,
 *  @c reward_weights, @c max_candidates and @c max_steps). */
#define RECO_ENV_VERSION 4

/** Longest signal name a version-4 @ref reco_env may declare, in bytes without the NUL.
 *  @since 0.2 */
#define RECO_SIGNAL_NAME_MAX 31

/**
 * @brief A batch-oriented session environment (struct of callbacks + payload).
 *
 * All arrays are row-major and sized by the `n` slots of the call. Every callback returns
 * @ref RECO_OK or a negative status; on error the outputs are unspecified. A failing callback
 * records its message with reco_error_set() (`return reco_error_set(RECO_EIO, "...");`) so
 * that the libreco call that invoked it fails with that status and message; one that records
 * nothing gets a message naming the callback.
 */
typedef struct reco_env {
    unsigned int version;  /**< @ref RECO_ENV_VERSION. */
    uint32_t n_items;      /**< Catalog size: items are `0 .. n_items-1`. */
    uint32_t n_signals;    /**< Feedback signals per step (bits of the feedback). */
    uint32_t lookback;     /**< L: interactions returned by observe(). */
    uint32_t user_dim;     /**< Width of the user features; 0 when there are none. */
    uint32_t max_sessions; /**< Number of session slots. */
    /** Start a new session for `users[i]` in `slots[i]`, i < n. */
    int (*reset)(const uint32_t *slots, const uint64_t *users, uint32_t n, void *payload);
    /** The state of each slot: items (n, L), feedback bits (n, L), user features (n, user_dim)
     *  (`features_out` may be NULL when user_dim is 0). */
    int (*observe)(int32_t *items_out, uint32_t *feedback_out, float *features_out,
                   const uint32_t *slots, uint32_t n, void *payload);
    /** Candidate items for each slot: `items_out` (n, max_candidates), `count_out` (n). */
    int (*candidates)(int32_t *items_out, uint32_t *count_out, uint32_t max_candidates,
                      const uint32_t *slots, uint32_t n, void *payload);
    /** Show `items[i]` in `slots[i]`: feedback bits, reward and done for each, (n) each.
     *  done is @ref RECO_ENV_CONTINUE, @ref RECO_ENV_EXIT (the user left) or
     *  @ref RECO_ENV_TRUNCATED (cut at the maximum length); nonzero means the session is
     *  over. */
    int (*step)(uint32_t *feedback_out, float *reward_out, int *done_out, const uint32_t *slots,
                const int32_t *items, uint32_t n, void *payload);
    void *payload;         /**< Passed back to every callback; never read by the library. */
    /** Version 2; may be NULL (the environment cannot be checkpointed). Serialise the whole
     *  state of every slot (windows, step counts, random streams) into `buf`,
     *  `snprintf`-like: the length is stored in `*len_out` whenever it can be computed,
     *  nothing is written unless `cap` suffices (@ref RECO_EINVAL otherwise), and `buf` NULL
     *  asks for the length only. The bytes are the implementation's own, self-checking
     *  format. */
    int (*save_state)(void *buf, size_t cap, size_t *len_out, void *payload);
    /** Version 2; NULL exactly when @c save_state is. Replace the state of every slot with
     *  bytes from @c save_state of an environment of the same kind and geometry, so that its
     *  sessions continue exactly as the saved ones would have. Everything is validated first:
     *  on error (@ref RECO_EFORMAT for damaged bytes or another geometry) nothing changed. */
    int (*load_state)(const void *buf, size_t len, void *payload);
    /* ---- version 3 (0.2) ---- */
    /** Version 3: H, the number of interactions *before the current session* that
     *  @c context returns per slot (the long-term history); 0 when it returns none.
     *  @since 0.2 */
    uint32_t long_len;
    /** Version 3; may be NULL (the env knows no session context). The context of each
     *  slot's current session, each output (n) or (n, H) and each may be NULL (not wanted):
     *  `steps_out`: steps already taken in the session (0 before its first step);
     *  `elapsed_out`: seconds since the session began (0 before its first step; finite,
     *  >= 0); `long_items_out` / `long_feedback_out`: the user's last H interactions before
     *  the session began, oldest first, newest last, @ref RECO_PAD (feedback 0) in front when
     *  there are fewer. Like observe(), it works on finished sessions (the terminal state).
     *  The short window of observe() may reach back before the session too: its newest
     *  `min(steps, lookback)` entries are this session's. @since 0.2 */
    int (*context)(uint32_t *steps_out, float *elapsed_out, int32_t *long_items_out,
                   uint32_t *long_feedback_out, const uint32_t *slots, uint32_t n,
                   void *payload);
    /** Version 3; may be NULL. An oracle: `probs_out` (n, n_signals + 1) receives, for
     *  showing `items[i]` in `slots[i]` now, the probability that each signal comes out 1,
     *  then the probability that the user exits after the step; nothing changes (no random
     *  draw is consumed). The built-in world gives its true probabilities and the simulator
     *  its model's; a log generator records them next to each row so that a fitted model can
     *  be compared with the truth. @since 0.2 */
    int (*probabilities)(float *probs_out, const uint32_t *slots, const int32_t *items,
                         uint32_t n, void *payload);
    /* ---- version 4 (0.2): the environment declares itself ---- */
    /** Version 4; may be NULL. (n_signals) names of the feedback signals, bit f first
     *  (e.g. "click"): 1..@ref RECO_SIGNAL_NAME_MAX characters of `[a-z0-9_]`, starting with
     *  a letter, all different. Evaluation reports its per-signal metrics under them; NULL
     *  names them "signal0", "signal1", .... Borrowed: valid while the env is. @since 0.2 */
    const char *const *signal_names;
    /** Version 4; may be NULL (the reward is not declared). (n_signals) finite weights w_f
     *  such that step() returns the reward `sum_f w_f signal_f` (or its expectation, as the
     *  simulator's `expected_reward` does). The simulator, the greedy
     *  and logging policies and the Q-network's warm start take their weights from here; one
     *  given its own weights that differ is refused. Borrowed. @since 0.2 */
    const float *reward_weights;
    /** Version 4: the most candidates candidates() gives a slot (each call returns
     *  `min(max_candidates, asked)`), or 0 (undeclared: the caller's own count is used).
     *  @since 0.2 */
    uint32_t max_candidates;
    /** Version 4: the session cap, the step at which step() reports
     *  @ref RECO_ENV_TRUNCATED at the latest, or 0 (undeclared: no cap is known). @since 0.2 */
    uint32_t max_steps;
} reco_env;

/**
 * @brief Check what a @ref reco_env declares: its version, callbacks and sizes, and from
 *        version 4 its signal names and reward weights.
 * @param[in] env  the environment.
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL, a missing session callback, no slot, no
 *         lookback, no item or signal, more than 32 signals, a bad or repeated signal name, a
 *         non-finite reward weight), the message naming the field; @ref RECO_EVERSION (a
 *         version outside 1..@ref RECO_ENV_VERSION).
 * @since 0.2
 */
RECO_API int reco_env_check(const reco_env *env);

/**
 * @brief The name of signal @p f of @p env: its declared name (version 4) or "signal<f>".
 * @param[in] env  the environment.
 * @param[in] f    the signal, below `env->n_signals`.
 * @return the name (the env's own string, or a static one of the library, valid for the
 *         program's life), or NULL if @p env is NULL or @p f is out of range.
 * @since 0.2
 */
RECO_API const char *reco_env_signal_name(const reco_env *env, uint32_t f);

RECO_END_DECLS

/** @} */
#endif /* RECO_ENV_H */
