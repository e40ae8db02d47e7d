/**
 * @file world.h
 * @brief The built-in ground-truth world: a synthetic user population and item catalog
 *        whose behaviour has long-term effects, run as a @ref reco_env.
 * @defgroup reco_world World
 * @ingroup reco_lab
 *
 * A @ref reco_world plays the part of real users. It writes the logs the feedback model is
 * trained on and is where policies are finally evaluated (the offline stand-in for an online
 * A/B test). Its equations, behavioural assumptions and default parameters are in
 * `docs/world.md` (@ref world); in short:
 *
 * - **Catalog.** Each item has a topic (one of K, Zipf-distributed), a quality q in [0, 1]
 *   (how rewarding it is to watch), a clickbait appeal c in [0, 1] (raises clicks now, lowers
 *   satisfaction after) and a popularity prior.
 * - **Users.** A sparse interest vector over topics (Dirichlet), a starting satisfaction and
 *   an activity segment (@ref RECO_WORLD_SEGMENT_LIGHT ...) that sets the base exit rate.
 * - **Session state.** Satisfaction s and a fatigue f_k per topic. Showing item i samples, in
 *   this order, click, long watch (given a click), like (given a long watch) and hide (given
 *   no click) from logistic functions of interest, q, c, fatigue and whether the item was
 *   seen in the window; then s and f move, and the user exits with probability
 *   `sigmoid(exit_base - e_s * s + e_f * f_topic)`. The reward is a weighted sum of the
 *   signals.
 *
 * **Users and sessions.** The users passed to reset() (the @ref reco_env callback) or
 * reco_world_start() are *session keys*: the low 32 bits are the user index (below
 * `n_users`), the high 32 bits the session ordinal of that user
 * (@ref RECO_WORLD_SESSION_KEY). A user's attributes depend only on the world seed and the
 * user index; everything random in a session depends only on the seed and the key. Logging
 * uses ordinals below 2^31; reco_world_eval_users() hands out keys with ordinals from 2^31
 * on, so evaluation sessions never repeat a logged one. Each session starts with zero
 * fatigue and the user's starting satisfaction, and its observed window holds the user's
 * earlier interactions: by default a synthetic history of `history_len` interactions drawn
 * from the user's interests (the world keeps no state between sessions); with
 * `carry_history` (options version 3) the user's real last interactions, from the sessions
 * of that user logged before in this world (see **Carried history** below).
 *
 * **Carried history** (`carry_history`). The world keeps, per user, the last
 * `max(lookback, long_len)` interactions (item, feedback bits) of that user's *logged*
 * sessions (ordinal below 2^31), appended as each step happens. A session starts from them:
 * observe() at step 0 shows the user's last `lookback` interactions (a user's first session
 * starts empty: a new user), and context() gives the `long_len` interactions before the
 * session. Evaluation sessions (ordinal 2^31 and above, reco_world_eval_users()) read the
 * stored history but never write it, so every policy evaluated on a key starts from the
 * same state, whatever order the policies run in. The behaviour equations do not change.
 * A logged session therefore depends on the user's earlier logged sessions as they were run
 * in this world: run a user's sessions one after another (as reco_log_generate() does), and
 * clear the store with reco_world_clear_histories() (reco_world_reset() keeps it).
 *
 * **Session context** (@ref reco_env version 3). context() gives the steps taken, the
 * elapsed seconds (each step lasts `seconds_base`, plus `seconds_click` if clicked,
 * `seconds_long_watch` if watched long, `seconds_like` if liked; time does not change
 * behaviour) and the long-term history; probabilities() is reco_world_signal_probs() for
 * a batch of slots. With `user_features`, observe() also returns per slot the user's
 * segment (one-hot, 3 values) and a noisy estimate of their interests (`n_topics` values,
 * fixed per user): `user_dim` is `3 + n_topics`. reco_world_item_features() gives item
 * features (noisy quality and clickbait, standardised log popularity; the topic as a
 * categorical field) in the layout reco_model_set_item_features() takes.
 *
 * **Common random numbers.** The candidates of step t of a session are a function of
 * (seed, key, t) only, so two policies facing the same key meet the same candidate sets, and
 * calling candidates() twice in a step gives the same list. The uniforms that decide the
 * feedback and the exit at step t are also a function of (seed, key, t) only: two policies
 * whose sessions are in the same state and show the same item at step t get the same
 * feedback and exit decision; in different states the same uniforms are compared with
 * different probabilities (a coupling that reduces the variance of policy comparisons).
 *
 * **Signals.** Feedback bit f is signal f: @ref RECO_SIGNAL_CLICK, @ref RECO_SIGNAL_LONG_WATCH,
 * @ref RECO_SIGNAL_LIKE, @ref RECO_SIGNAL_HIDE. A long watch implies a click, a like implies
 * a long watch, and a hide excludes a click. The exit is not a feedback bit: step() reports
 * it as `done`, and reco_world_get_slot_info() tells an exit from the length limit.
 *
 * @code
 * reco_world *w = NULL;
 * if (reco_world_create(&w, NULL) < 0) {            // defaults: 10k items, 100k users
 *     fprintf(stderr, "%s\n", reco_error_message());
 *     return 1;
 * }
 * reco_env env;
 * reco_world_env(&env, w);
 * uint32_t slot = 0;
 * uint64_t user;
 * reco_world_eval_users(&user, w, 0, 1);            // the first evaluation session
 * env.reset(&slot, &user, 1, env.payload);
 * int done = 0;
 * while (!done) {
 *     int32_t cand[500]; uint32_t nc;
 *     float er[500];
 *     env.candidates(cand, &nc, 500, &slot, 1, env.payload);
 *     reco_world_expected_reward(er, w, slot, cand, nc);   // the oracle's immediate view
 *     uint32_t best = 0;
 *     for (uint32_t j = 1; j < nc; j++)
 *         if (er[j] > er[best]) best = j;
 *     uint32_t fb; float r;
 *     env.step(&fb, &r, &done, &slot, &cand[best], 1, env.payload);
 * }
 * reco_world_free(w);
 * @endcode
 *
 * **Memory.** Everything is allocated by reco_world_create() (the catalog; per slot, the
 * session state and a candidate hash table; with `carry_history`, per user, the stored
 * history: `n_users * (8 + 8 * max(lookback, long_len))` bytes); start, observe,
 * candidates, step, context, probabilities and the accessors never allocate.
 *
 * @par Thread safety
 * The catalog is read-only after creation and every slot's state is its own. Calls that
 * touch disjoint sets of slots may run concurrently from different threads (e.g. each
 * generator thread owns a range of slots), and so may the read-only accessors
 * (reco_world_item_info(), reco_world_item_features(), reco_world_item_field_sizes(),
 * reco_world_user_segment(), reco_world_eval_users(), reco_world_get_options()) with
 * anything but reco_world_free(). Calls on the same slot, reco_world_reset(),
 * reco_world_clear_histories() and reco_world_free() need exclusive access. With
 * `carry_history`, a user's stored history is written by the steps of that user's logged
 * sessions and read when any session of that user starts (and by
 * reco_world_user_history_len()): two sessions of the same user must not run at the same
 * time (in concurrent calls, or interleaved in one thread when one of them is logged).
 * reco_log_generate() never does that: it runs each user's sessions in order in one slot.
 *
 * @par API tier
 * **Lab**: may change in any 0.x release; declared only where `RECO_LAB_API` is defined
 * before the first libreco include (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_WORLD_H
#define RECO_WORLD_H
#ifndef RECO_LAB_API
#error "reco/world.h is lab API, may change in any 0.x: define RECO_LAB_API first (docs/abi.md)"
#endif

#include "reco/common.h"
#include "reco/alloc.h"
#include "reco/env.h"

RECO_BEGIN_DECLS

/**
 * @brief Opaque world handle.
 * @since 0.1
 */
typedef struct reco_world reco_world;

/* The signal bits RECO_SIGNAL_CLICK .. RECO_SIGNAL_HIDE are defined in reco/env.h. */
/** @brief Number of feedback signals of the world (its @ref reco_env::n_signals). @since 0.1 */
#define RECO_WORLD_N_SIGNALS 4
/**
 * @brief Columns of reco_world_signal_probs(): the four signals, then the exit.
 * @since 0.1
 */
#define RECO_WORLD_N_PROBS 5

/** @brief Activity segment: users with a high base exit rate. @since 0.1 */
#define RECO_WORLD_SEGMENT_LIGHT 0
/** @brief Activity segment: the bulk of users. @since 0.1 */
#define RECO_WORLD_SEGMENT_REGULAR 1
/** @brief Activity segment: users with a low base exit rate. @since 0.1 */
#define RECO_WORLD_SEGMENT_HEAVY 2
/** @brief Number of user segments. @since 0.1 */
#define RECO_WORLD_N_SEGMENTS 3

/**
 * @brief The session key of session @p ordinal of user @p user (see the group description).
 * @since 0.1
 */
#define RECO_WORLD_SESSION_KEY(user, ordinal)                                                  \
    (((uint64_t)(uint32_t)(ordinal) << 32) | (uint64_t)(uint32_t)(user))

/**
 * @brief Current version of @ref reco_world_options.
 * @since 0.1
 */
#define RECO_WORLD_OPTIONS_VERSION 3

/**
 * @brief Columns of reco_world_item_features()'s dense output: noisy quality, noisy
 *        clickbait, standardised log popularity.
 * @since 0.2
 */
#define RECO_WORLD_ITEM_DENSE 3

/**
 * @brief Categorical item fields of reco_world_item_features(): the topic (cardinality
 *        `n_topics`, see reco_world_item_field_sizes()).
 * @since 0.2
 */
#define RECO_WORLD_ITEM_FIELDS 1

/**
 * @brief Initialiser for @ref reco_world_options of the current version: the defaults, equal
 * to what reco_world_options_init() gives.
 * @since 0.1
 */
#define RECO_WORLD_OPTIONS_INIT                                                                \
    { RECO_WORLD_OPTIONS_VERSION, NULL, 1u, 100000u, 10000u, 20u, 20u, 10u, 500u, 200u, 256u, \
      1.0, 2.0, 2.0, 0.5, 3.0, 1.0, 1.0, 1.5, 0.5,                                            \
      2.0, 0.8, 0.0, 0.3, 0.3, 0.2, -2.2, -2.94, -3.66,                                        \
      -2.94, 4.0, 2.0, 0.5, 3.0,                                                              \
      -1.0, 2.0, 1.0, 0.5, 0.2,                                                                \
      -2.5, 2.5, 1.0, 2.0,                                                                     \
      -3.5, 3.0, 1.5, 0.3,                                                                     \
      0.9, 1.0, 0.5, 0.2, 0.1, 0.5, 0.5, 0.05,                                                   \
      0.75, 1.0, 0.3,                                                                          \
      0.1, 1.0, 0.3, -0.5,                                                                     \
      0,                                                                                       \
      0, 0u, 0, 0.1, 0.1, 5.0, 10.0, 40.0, 3.0 }

/**
 * @brief Size, population, catalog, behaviour and reward of a world.
 *
 * Each member gives its YAML path under the `world` section, its range and its default.
 * Behavioural coefficients enter the equations of `docs/world.md` with the signs written
 * there (a positive `click_fatigue` lowers the click probability). Cross-field rules checked
 * by reco_world_create(): `history_len <= lookback`, `n_candidates <= n_items`,
 * `n_topics <= n_items`, `light_share + heavy_share <= 1`.
 * @since 0.1
 */
typedef struct reco_world_options {
    unsigned int version;            /**< @ref RECO_WORLD_OPTIONS_VERSION. */
    const reco_allocator *allocator; /**< NULL: the process default; copied at creation. */
    uint64_t seed;            /**< `world.seed`: catalog, users and sessions; any; default 1. */
    uint32_t n_users;         /**< `world.n_users`: population, 1..2^32-1; default 100000. */
    uint32_t n_items;         /**< `world.n_items`: catalog size, 1..2^26; default 10000. */
    uint32_t n_topics;        /**< `world.n_topics`: K, 1..4096; default 20. */
    uint32_t lookback;        /**< `world.lookback`: L of observe(), 1..512; default 20. */
    /** `world.history_len`: synthetic earlier interactions a session starts with,
     *  0..lookback; default 10. */
    uint32_t history_len;
    /** `world.n_candidates`: C, candidates per step, 1..2^20; default 500. */
    uint32_t n_candidates;
    /** `world.max_session_len`: steps after which a session ends, 1..10^6; default 200. */
    uint32_t max_session_len;
    /** `world.max_sessions`: session slots, 1..2^20; default 256. */
    uint32_t max_sessions;

    /** `world.catalog.topic_zipf`: topic popularity `~ 1 / (k+1)^z`, [0, 10]; default 1. */
    double topic_zipf;
    double quality_alpha;   /**< `world.catalog.quality_alpha`: q ~ Beta, [1e-3, 1e3]; default 2. */
    double quality_beta;    /**< `world.catalog.quality_beta`: [1e-3, 1e3]; default 2. */
    double clickbait_alpha; /**< `world.catalog.clickbait_alpha`: c ~ Beta, [1e-3, 1e3]; 0.5. */
    double clickbait_beta;  /**< `world.catalog.clickbait_beta`: [1e-3, 1e3]; default 3. */
    /** `world.catalog.popularity_sigma`: spread of the log popularity noise, [0, 10];
     *  default 1. */
    double popularity_sigma;
    /** `world.catalog.popularity_quality`: log popularity per unit of q, [-10, 10]; 1. */
    double popularity_quality;
    /** `world.catalog.popularity_clickbait`: log popularity per unit of c, [-10, 10]; 1.5. */
    double popularity_clickbait;
    /** `world.catalog.popular_candidate_share`: share of candidates drawn by popularity (the
     *  rest uniformly), [0, 1]; default 0.5. */
    double popular_candidate_share;

    /** `world.users.interest_concentration`: total Dirichlet concentration of interests
     *  (smaller: fewer topics per user), [1e-3, 1e6]; default 2. */
    double interest_concentration;
    /** `world.users.history_interest_share`: share of synthetic history items drawn from
     *  the user's interests (the rest uniformly), [0, 1]; default 0.8. */
    double history_interest_share;
    double satisfaction_mean; /**< `world.users.satisfaction_mean`: [-10, 10]; default 0. */
    double satisfaction_sd;   /**< `world.users.satisfaction_sd`: [0, 10]; default 0.3. */
    double light_share;       /**< `world.users.light_share`: [0, 1]; default 0.3. */
    double heavy_share;       /**< `world.users.heavy_share`: [0, 1]; default 0.2. */
    double exit_light;        /**< `world.users.exit_light`: base exit logit, [-20, 20]; -2.2. */
    double exit_regular;      /**< `world.users.exit_regular`: [-20, 20]; default -2.94. */
    double exit_heavy;        /**< `world.users.exit_heavy`: [-20, 20]; default -3.66. */

    double click_bias;      /**< `world.click.bias`: [-100, 100]; default -2.94. */
    double click_interest;  /**< `world.click.interest`: [-100, 100]; default 4. */
    double click_clickbait; /**< `world.click.clickbait`: [-100, 100]; default 2. */
    double click_fatigue;   /**< `world.click.fatigue`: [-100, 100]; default 0.5. */
    double click_repeat;    /**< `world.click.repeat`: [-100, 100]; default 3. */

    double watch_bias;      /**< `world.long_watch.bias`: [-100, 100]; default -1. */
    double watch_quality;   /**< `world.long_watch.quality`: [-100, 100]; default 2. */
    double watch_interest;  /**< `world.long_watch.interest`: [-100, 100]; default 1. */
    double watch_clickbait; /**< `world.long_watch.clickbait`: [-100, 100]; default 0.5. */
    double watch_fatigue;   /**< `world.long_watch.fatigue`: [-100, 100]; default 0.2. */

    double like_bias;      /**< `world.like.bias`: [-100, 100]; default -2.5. */
    double like_quality;   /**< `world.like.quality`: [-100, 100]; default 2.5. */
    double like_interest;  /**< `world.like.interest`: [-100, 100]; default 1. */
    double like_clickbait; /**< `world.like.clickbait`: [-100, 100]; default 2. */

    double hide_bias;      /**< `world.hide.bias`: [-100, 100]; default -3.5. */
    double hide_interest;  /**< `world.hide.interest`: [-100, 100]; default 3. */
    double hide_clickbait; /**< `world.hide.clickbait`: [-100, 100]; default 1.5. */
    double hide_fatigue;   /**< `world.hide.fatigue`: [-100, 100]; default 0.3. */

    /** `world.satisfaction.decay`: rho, the share of satisfaction kept per step, [0, 1];
     *  default 0.9. */
    double satisfaction_decay;
    /** `world.satisfaction.watch_quality`: gain of a long watch per unit of q, [-100, 100];
     *  default 1. */
    double satisfaction_watch_quality;
    /** `world.satisfaction.watch_clickbait`: loss of a long watch per unit of c (feeling
     *  deceived), [-100, 100]; default 0.5. */
    double satisfaction_watch_clickbait;
    double satisfaction_like; /**< `world.satisfaction.like`: [-100, 100]; default 0.2. */
    /** `world.satisfaction.bounce`: loss of a click without a long watch, [-100, 100];
     *  default 0.1. */
    double satisfaction_bounce;
    /** `world.satisfaction.bounce_clickbait`: extra loss of a bounce per unit of c,
     *  [-100, 100]; default 0.5. */
    double satisfaction_bounce_clickbait;
    double satisfaction_hide; /**< `world.satisfaction.hide`: loss of a hide, [-100, 100]; 0.5. */
    /** `world.satisfaction.skip`: loss of an impression neither clicked nor hidden (a wasted
     *  swipe), [-100, 100]; default 0.05. */
    double satisfaction_skip;

    /** `world.fatigue.decay`: lambda, the share of topic fatigue kept per step, [0, 1];
     *  default 0.75. */
    double fatigue_decay;
    /** `world.exit.satisfaction`: exit logit per unit of satisfaction (subtracted),
     *  [-100, 100]; default 1. */
    double exit_satisfaction;
    /** `world.exit.fatigue`: exit logit per unit of fatigue of the shown topic, [-100, 100];
     *  default 0.3. */
    double exit_fatigue;

    double reward_click;      /**< `world.reward.click`: [-1e6, 1e6]; default 0.1. */
    double reward_long_watch; /**< `world.reward.long_watch`: [-1e6, 1e6]; default 1. */
    double reward_like;       /**< `world.reward.like`: [-1e6, 1e6]; default 0.3. */
    double reward_hide;       /**< `world.reward.hide`: [-1e6, 1e6]; default -0.5. */

    /* ---- version 2 (0.1) ---- */
    /** `world.exclude_seen`: when nonzero, the retrieval stage leaves out the items of the
     *  observed window (the last `lookback` interactions, the synthetic history included),
     *  as production retrieval filters what the user has just seen; needs
     *  `n_candidates + lookback <= n_items`. Default 0 (version 1 behaviour: a candidate
     *  may repeat a recent item, which the click model then penalises). @since 0.1 */
    int exclude_seen;

    /* ---- version 3 (0.2) ---- */
    /** `world.carry_history`: when nonzero, users return with their real past: the world
     *  keeps each user's last `max(lookback, long_len)` interactions of their logged
     *  sessions (ordinal below 2^31) and starts each session from them instead of the
     *  synthetic `history_len` ones (which are then not drawn; `history_len` is ignored);
     *  evaluation sessions read them but never write them. See the group description.
     *  Costs `n_users * (8 + 8 * max(lookback, long_len))` bytes. Default 0 (version 2
     *  behaviour). @since 0.2 */
    int carry_history;
    /** `world.long_len`: H, the interactions before the session that context() returns
     *  (the env's `long_len`), 0..4096; default 0. With `carry_history` they are the user's
     *  last H logged interactions; without it, the session's synthetic history (the last
     *  `min(H, history_len)` of it; pads before). @since 0.2 */
    uint32_t long_len;
    /** `world.user_features`: when nonzero, the env's `user_dim` is `3 + n_topics` and
     *  observe() returns per slot the user's segment one-hot (3 values, in the order
     *  @ref RECO_WORLD_SEGMENT_LIGHT ...), then a noisy summary of their interests,
     *  `interest_k + N(0, user_feature_noise^2)` per topic k, drawn once per user from the
     *  seed and the user only. Default 0 (`user_dim` 0). @since 0.2 */
    int user_features;
    /** `world.user_feature_noise`: the sd of that noise, [0, 10]; default 0.1. @since 0.2 */
    double user_feature_noise;
    /** `world.item_feature_noise`: the sd of the noise on the quality and clickbait given
     *  by reco_world_item_features(), [0, 10]; default 0.1. @since 0.2 */
    double item_feature_noise;
    /** `world.seconds.base`: seconds every step lasts (the impression), [0, 1e6];
     *  default 5. Time never changes behaviour; context() reports the sum. @since 0.2 */
    double seconds_base;
    /** `world.seconds.click`: seconds added by a click, [0, 1e6]; default 10. @since 0.2 */
    double seconds_click;
    /** `world.seconds.long_watch`: seconds added by a long watch, [0, 1e6]; default 40.
     *  @since 0.2 */
    double seconds_long_watch;
    /** `world.seconds.like`: seconds added by a like, [0, 1e6]; default 3. @since 0.2 */
    double seconds_like;
} reco_world_options;

/**
 * @brief Current version of @ref reco_world_slot_info.
 * @since 0.1
 */
#define RECO_WORLD_SLOT_INFO_VERSION 1

/**
 * @brief Initialiser for a @ref reco_world_slot_info of the current version.
 * @since 0.1
 */
#define RECO_WORLD_SLOT_INFO_INIT { RECO_WORLD_SLOT_INFO_VERSION, 0u, 0u, 0, 0, 0u, 0.0, 0.0 }

/**
 * @brief The state of one session slot (reco_world_get_slot_info()).
 * @since 0.1
 */
typedef struct reco_world_slot_info {
    unsigned int version; /**< Set to @ref RECO_WORLD_SLOT_INFO_VERSION by the caller. */
    uint64_t key;         /**< Session key of the current or last session; 0 if none. */
    uint32_t steps;       /**< Steps taken in the session. */
    /** 0: never started; 1: running; 2: over (step() returned done). */
    int status;
    int exited;           /**< 1 if the session ended because the user exited. */
    uint32_t segment;     /**< The user's segment, @ref RECO_WORLD_SEGMENT_LIGHT ... */
    double satisfaction;  /**< Current satisfaction s. */
    double max_fatigue;   /**< Largest topic fatigue, max_k f_k. */
} reco_world_slot_info;

/**
 * @brief Fill @p opts with the defaults of options version @p version (only the fields of
 *        that version are written: a version-1 or -2 struct may be shorter than today's).
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_WORLD_OPTIONS_VERSION.
 * @return @ref RECO_OK; @ref RECO_EINVAL if @p opts is NULL; @ref RECO_EVERSION if
 *         @p version is not supported (then @p opts is not written).
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_world_options_init(reco_world_options *opts, unsigned int version);

/**
 * @brief Bytes a world created with @p opts allocates (its whole memory; nothing grows).
 * @param[out] out   receives the size in bytes.
 * @param[in]  opts  options (NULL: defaults).
 * @return @ref RECO_OK, or the error reco_world_create() would give for these options.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_world_memory_size(size_t *out, const reco_world_options *opts);

/**
 * @brief Create a world: draw its catalog and allocate every slot (all idle).
 * @param[out] out   receives the world, owned by the caller (free it with
 *                   reco_world_free()); NULL on failure (nothing to free).
 * @param[in]  opts  options, copied (NULL: defaults).
 * @return @ref RECO_OK; @ref RECO_EINVAL for a NULL @p out or an option out of range (the
 *         message and the error's field name it, e.g. `world.n_topics`);
 *         @ref RECO_EVERSION; @ref RECO_ENOMEM.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_world_create(reco_world **out, const reco_world_options *opts);

/**
 * @brief Free a world. NULL is accepted.
 * @param[in] world  the world; any later use is undefined.
 * @par Thread safety
 * No other call on @p world may be running or follow.
 * @since 0.1
 */
RECO_API void reco_world_free(reco_world *world);

/**
 * @brief Restore the fresh state of the sessions: every slot idle (the catalog does not
 *        change, and with `carry_history` the users' stored histories stay: they are the
 *        users' past, which an evaluator that resets between policies must keep; forget them
 *        with reco_world_clear_histories()).
 * @param[in,out] world  the world.
 * @return @ref RECO_OK, or @ref RECO_EINVAL if @p world is NULL.
 * @par Thread safety
 * Needs exclusive access to @p world.
 * @since 0.1
 */
RECO_API int reco_world_reset(reco_world *world);

/**
 * @brief Copy the options the world was created with (with a NULL allocator).
 * @param[in,out] out    receives the options; its @c version member is read first, and
 *                       fields added after that version are not written.
 * @param[in]     world  the world.
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULL arguments; @ref RECO_EVERSION if
 *         @p out->version is not supported.
 * @par Thread safety
 * Safe concurrently with every call but reco_world_free().
 * @since 0.1
 */
RECO_API int reco_world_get_options(reco_world_options *out, const reco_world *world);

/**
 * @brief Fill @p out with the world's @ref reco_env of the current version (payload
 *        @p world, `n_signals` 4, `user_dim` 0, or `3 + n_topics` with `user_features`,
 *        `long_len` from the options, and the callbacks reco_world_start(),
 *        reco_world_observe(), reco_world_candidates(), reco_world_step(),
 *        reco_world_context(), reco_world_probabilities(); @c save_state and @c load_state
 *        are NULL: the world cannot be checkpointed). Since 0.2 it declares itself (version
 *        4): signal names "click", "long_watch", "like", "hide", the reward weights of its
 *        options, `max_candidates` its candidates per step and `max_steps` its session cap.
 *        The whole struct is written: @p out must be a struct of the current version.
 * @param[out] out    the interface; it borrows @p world, which must outlive its use.
 * @param[in]  world  the world.
 * @return @ref RECO_OK, or @ref RECO_EINVAL for NULL arguments.
 * @par Thread safety
 * Safe concurrently with every call but reco_world_free(); the callbacks follow the rules
 * of the group description (disjoint slots may run concurrently).
 * @since 0.1
 */
RECO_API int reco_world_env(reco_env *out, reco_world *world);

/**
 * @brief Start a session in each of @p n slots (the env's reset()).
 *
 * A slot may be restarted at any time, whatever its status. The call is all or nothing:
 * every argument is checked before any slot changes. With `carry_history` the session
 * starts from the user's stored history (see the group description), otherwise from a
 * synthetic one.
 * @param[in]     slots  (n) distinct slots, each below `max_sessions`.
 * @param[in]     users  (n) session keys; the user index (low 32 bits) below `n_users`.
 * @param[in]     n      number of sessions.
 * @param[in,out] world  the world (as `void *`, so that it is the env callback).
 * @return @ref RECO_OK; @ref RECO_EINVAL for a NULL pointer (@p slots and @p users may be
 *         NULL when @p n is 0), a slot out of range or repeated, or a user out of range.
 * @par Thread safety
 * Concurrent calls must touch disjoint slots.
 * @since 0.1
 */
RECO_API int reco_world_start(const uint32_t *slots, const uint64_t *users, uint32_t n,
                              void *world);

/**
 * @brief The observed state of @p n slots (the env's observe()).
 *
 * Row r holds slot `slots[r]`'s last `lookback` interactions, oldest first and newest last:
 * the synthetic or carried history, then the steps of the session; missing interactions at
 * the front are item @ref RECO_PAD with feedback 0. Works on running and finished sessions.
 * @param[out]    items_out     (n, lookback) item ids, row-major.
 * @param[out]    feedback_out  (n, lookback) feedback bits.
 * @param[out]    features_out  (n, user_dim) user features with `user_features` (segment
 *                              one-hot, then the noisy interests; see
 *                              @ref reco_world_options::user_features), row-major; NULL:
 *                              not wanted. Not written when `user_dim` is 0.
 * @param[in]     slots         (n) slots.
 * @param[in]     n             number of rows.
 * @param[in]     world         the world.
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULL arrays or a slot out of range;
 *         @ref RECO_ESTATE for a slot that was never started.
 * @par Thread safety
 * Concurrent calls must not touch a slot another call is changing.
 * @since 0.1
 */
RECO_API int reco_world_observe(int32_t *items_out, uint32_t *feedback_out, float *features_out,
                                const uint32_t *slots, uint32_t n, void *world);

/**
 * @brief The candidates of the current step of @p n running sessions (the env's
 *        candidates()).
 *
 * The step's C = `n_candidates` distinct items: `round(C * popular_candidate_share)` drawn
 * by popularity prior, the rest uniformly, in shuffled order; a function of the seed, the
 * session key and the step only (see the group description). Row r receives the first
 * `min(C, max_candidates)` of them and `count_out[r]` that number.
 * @param[out] items_out       (n, max_candidates) item ids; entries past the count are not
 *                             written.
 * @param[out] count_out       (n) candidates written per row.
 * @param[in]  max_candidates  row stride of @p items_out, >= 1.
 * @param[in]  slots           (n) slots.
 * @param[in]  n               number of rows.
 * @param[in]  world           the world.
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULL arrays, @p max_candidates 0 or a slot out
 *         of range; @ref RECO_ESTATE for a slot that is not running.
 * @par Thread safety
 * Concurrent calls must touch disjoint slots.
 * @since 0.1
 */
RECO_API int reco_world_candidates(int32_t *items_out, uint32_t *count_out,
                                   uint32_t max_candidates, const uint32_t *slots, uint32_t n,
                                   void *world);

/**
 * @brief Show `items[r]` in `slots[r]`: sample the feedback and the exit, update the
 *        session, and return the feedback bits, reward and done (the env's step()).
 *
 * Any catalog item may be shown (it need not be a candidate). `done` is 1 when the user
 * exited or the session reached `max_session_len` steps; the slot must then be restarted.
 * The call is all or nothing: every argument is checked before any slot changes. With
 * `carry_history`, the step of a logged session (ordinal below 2^31) is appended to the
 * user's stored history.
 * @param[out] feedback_out  (n) feedback bits.
 * @param[out] reward_out    (n) rewards `sum_f w_f signal_f`.
 * @param[out] done_out      (n) 1 if the session is over, else 0.
 * @param[in]  slots         (n) distinct slots.
 * @param[in]  items         (n) items in `[0, n_items)`.
 * @param[in]  n             number of sessions.
 * @param[in]  world         the world.
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULL arrays, a slot out of range or repeated,
 *         or an item out of range; @ref RECO_ESTATE for a slot that is not running (never
 *         started, or over).
 * @par Thread safety
 * Concurrent calls must touch disjoint slots.
 * @since 0.1
 */
RECO_API int reco_world_step(uint32_t *feedback_out, float *reward_out, int *done_out,
                             const uint32_t *slots, const int32_t *items, uint32_t n,
                             void *world);

/**
 * @brief The session context of @p n started slots (the env's context(), @ref reco_env
 *        version 3).
 *
 * Each output may be NULL (not wanted). Works on running and finished sessions.
 * @param[out] steps_out          (n) steps taken in the session.
 * @param[out] elapsed_out        (n) seconds since the session began: the sum over its steps
 *                                of `seconds_base + seconds_click [click] +
 *                                seconds_long_watch [long watch] + seconds_like [like]`.
 * @param[out] long_items_out     (n, long_len) the user's last `long_len` interactions
 *                                before the session, oldest first, newest last,
 *                                @ref RECO_PAD in front when fewer (see
 *                                @ref reco_world_options::long_len); unused when `long_len`
 *                                is 0.
 * @param[out] long_feedback_out  (n, long_len) their feedback bits (0 for pads).
 * @param[in]  slots              (n) slots.
 * @param[in]  n                  number of rows.
 * @param[in]  world              the world.
 * @return @ref RECO_OK; @ref RECO_EINVAL for a NULL @p world or @p slots (with n > 0) or a
 *         slot out of range; @ref RECO_ESTATE for a slot that was never started.
 * @par Thread safety
 * Concurrent calls must not touch a slot another call is changing.
 * @since 0.2
 */
RECO_API int reco_world_context(uint32_t *steps_out, float *elapsed_out,
                                int32_t *long_items_out, uint32_t *long_feedback_out,
                                const uint32_t *slots, uint32_t n, void *world);

/**
 * @brief The true probabilities of showing `items[r]` now in `slots[r]`, for @p n running
 *        slots (the env's probabilities(), @ref reco_env version 3): row r is
 *        reco_world_signal_probs() of that slot and item. Nothing changes; no random draw
 *        is consumed.
 * @param[out] probs_out  (n, @ref RECO_WORLD_N_PROBS) P(click), P(long watch), P(like),
 *                        P(hide), P(exit after the step), row-major.
 * @param[in]  slots      (n) running slots (a slot may appear more than once).
 * @param[in]  items      (n) items in `[0, n_items)`.
 * @param[in]  n          number of rows.
 * @param[in]  world      the world.
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULL arrays (with n > 0), a slot or item out
 *         of range; @ref RECO_ESTATE for a slot that is not running.
 * @par Thread safety
 * Concurrent calls must not touch a slot another call is changing.
 * @since 0.2
 */
RECO_API int reco_world_probabilities(float *probs_out, const uint32_t *slots,
                                      const int32_t *items, uint32_t n, void *world);

/**
 * @brief The true probabilities of each signal and of the exit if item `items[j]` were shown
 *        now in @p slot (the state does not change).
 *
 * Row j holds the marginal probabilities P(click), P(long watch), P(like), P(hide) and
 * P(exit after this step) (@ref RECO_WORLD_N_PROBS columns, in the order of the signal
 * bits). P(exit) excludes the end by `max_session_len`.
 * @param[out] out    (n, 5) probabilities, row-major.
 * @param[in]  world  the world.
 * @param[in]  slot   a running slot.
 * @param[in]  items  (n) items in `[0, n_items)`.
 * @param[in]  n      number of items.
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULL arrays, a slot or item out of range;
 *         @ref RECO_ESTATE if @p slot is not running.
 * @par Thread safety
 * Concurrent calls must not touch a slot another call is changing.
 * @since 0.1
 */
RECO_API int reco_world_signal_probs(float *out, const reco_world *world, uint32_t slot,
                                     const int32_t *items, uint32_t n);

/**
 * @brief The true expected immediate reward of showing each of @p items now in @p slot:
 *        `sum_f w_f P(signal f)` (what a myopic oracle maximises).
 * @param[out] out    (n) expected rewards.
 * @param[in]  world  the world.
 * @param[in]  slot   a running slot.
 * @param[in]  items  (n) items in `[0, n_items)`.
 * @param[in]  n      number of items.
 * @return as reco_world_signal_probs().
 * @par Thread safety
 * Concurrent calls must not touch a slot another call is changing.
 * @since 0.1
 */
RECO_API int reco_world_expected_reward(float *out, const reco_world *world, uint32_t slot,
                                        const int32_t *items, uint32_t n);

/**
 * @brief Attributes of catalog items. Each output may be NULL (not written).
 * @param[out] topic_out       (n) topics in `[0, n_topics)`.
 * @param[out] quality_out     (n) quality q in [0, 1].
 * @param[out] clickbait_out   (n) clickbait appeal c in [0, 1].
 * @param[out] popularity_out  (n) popularity prior (the probability of the item in a
 *                             popularity draw; sums to 1 over the catalog).
 * @param[in]  world           the world.
 * @param[in]  items           (n) items in `[0, n_items)`.
 * @param[in]  n               number of items.
 * @return @ref RECO_OK; @ref RECO_EINVAL for a NULL @p world or @p items (with n > 0) or an
 *         item out of range.
 * @par Thread safety
 * Safe concurrently with every call but reco_world_free().
 * @since 0.1
 */
RECO_API int reco_world_item_info(uint32_t *topic_out, float *quality_out, float *clickbait_out,
                                  float *popularity_out, const reco_world *world,
                                  const int32_t *items, uint32_t n);

/**
 * @brief Item features of the whole catalog, as a service would know them, in the layout
 *        reco_model_set_item_features() takes.
 *
 * Dense row i: item i's quality `q_i + N(0, item_feature_noise^2)`, its clickbait appeal
 * `c_i + N(0, item_feature_noise^2)` (both noises drawn from the world seed and the item
 * only: every call gives the same values), and the log of its popularity prior standardised
 * over the catalog (mean 0, sd 1; 0 when all items are equally popular). Field row i: its
 * topic, in `[0, n_topics)` (reco_world_item_field_sizes()).
 * @param[out] dense_out   (n_items, @ref RECO_WORLD_ITEM_DENSE) row-major; NULL: not wanted.
 * @param[out] fields_out  (n_items, @ref RECO_WORLD_ITEM_FIELDS) row-major; NULL: not wanted.
 * @param[in]  world       the world.
 * @return @ref RECO_OK, or @ref RECO_EINVAL if @p world is NULL.
 * @par Thread safety
 * Safe concurrently with every call but reco_world_free().
 * @since 0.2
 */
RECO_API int reco_world_item_features(float *dense_out, int32_t *fields_out,
                                      const reco_world *world);

/**
 * @brief The cardinality of each categorical field of reco_world_item_features() (what
 *        @ref reco_model_options::item_field_sizes takes): `n_topics` for the topic.
 * @param[out] out    (@ref RECO_WORLD_ITEM_FIELDS) sizes.
 * @param[in]  world  the world.
 * @return @ref RECO_OK, or @ref RECO_EINVAL for NULL arguments.
 * @par Thread safety
 * Safe concurrently with every call but reco_world_free().
 * @since 0.2
 */
RECO_API int reco_world_item_field_sizes(uint32_t *out, const reco_world *world);

/**
 * @brief Forget every user's stored history (`carry_history`): each user's next session
 *        starts as a new user's. Slots are not changed. Without `carry_history`, nothing to
 *        do.
 * @param[in,out] world  the world.
 * @return @ref RECO_OK, or @ref RECO_EINVAL if @p world is NULL.
 * @par Thread safety
 * Needs exclusive access to @p world.
 * @since 0.2
 */
RECO_API int reco_world_clear_histories(reco_world *world);

/**
 * @brief Copy every user's stored history (carry_history) from @p src into @p dst.
 *
 * For a second world of the same options that must start sessions from the histories the
 * first one logged: an evaluation world beside the one a trainer's simulator reads, say
 * (the two are used from different threads on the same slot numbers).
 * @param[in,out] dst  a world with carry_history, the same n_users and stored length.
 * @param[in]     src  the world whose histories are copied (not changed).
 * @return @ref RECO_OK, or @ref RECO_EINVAL (NULL, no carry_history, other sizes).
 * @par Thread safety
 * No call may be using @p dst; read-only calls on @p src may run meanwhile, but no session
 * of @p src may write its histories.
 * @since 0.2
 */
RECO_API int reco_world_copy_histories(reco_world *dst, const reco_world *src);

/**
 * @brief How many interactions of each user's logged sessions the world has stored since
 *        creation or the last reco_world_clear_histories() (always 0
 *        without `carry_history`). The world keeps the last `max(lookback, long_len)` of
 *        them.
 * @param[out] out    (n) counts.
 * @param[in]  world  the world.
 * @param[in]  users  (n) user indices or session keys (only the low 32 bits are used), each
 *                    user below `n_users`.
 * @param[in]  n      number of users.
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULL arrays (with n > 0) or a user out of range.
 * @par Thread safety
 * Not concurrently with a step of a logged session of one of these users.
 * @since 0.2
 */
RECO_API int reco_world_user_history_len(uint64_t *out, const reco_world *world,
                                         const uint64_t *users, uint32_t n);

/**
 * @brief The activity segment of each user (@ref RECO_WORLD_SEGMENT_LIGHT ...).
 * @param[out] out    (n) segments.
 * @param[in]  world  the world.
 * @param[in]  users  (n) user indices or session keys (only the low 32 bits are used), each
 *                    user below `n_users`.
 * @param[in]  n      number of users.
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULL arrays (with n > 0) or a user out of range.
 * @par Thread safety
 * Safe concurrently with every call but reco_world_free().
 * @since 0.1
 */
RECO_API int reco_world_user_segment(uint32_t *out, const reco_world *world,
                                     const uint64_t *users, uint32_t n);

/**
 * @brief Session keys of evaluation sessions `first .. first + n - 1`.
 *
 * Evaluation session i is user `i mod n_users`, ordinal `2^31 + floor(i / n_users)`
 * (modulo 2^31): deterministic, the same for every policy, and disjoint from logged
 * sessions (ordinals below 2^31).
 * @param[out] out    (n) session keys.
 * @param[in]  world  the world.
 * @param[in]  first  index of the first evaluation session.
 * @param[in]  n      number of keys.
 * @return @ref RECO_OK, or @ref RECO_EINVAL for NULL arguments (@p out may be NULL when
 *         @p n is 0).
 * @par Thread safety
 * Safe concurrently with every call but reco_world_free().
 * @since 0.1
 */
RECO_API int reco_world_eval_users(uint64_t *out, const reco_world *world, uint64_t first,
                                   uint32_t n);

/**
 * @brief The state of one slot: key, steps, status, how it ended, satisfaction, fatigue.
 * @param[in,out] out    its @c version member must be set (e.g. by
 *                       @ref RECO_WORLD_SLOT_INFO_INIT); receives the state.
 * @param[in]     world  the world.
 * @param[in]     slot   a slot below `max_sessions` (any status).
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULL arguments or a slot out of range;
 *         @ref RECO_EVERSION for an unknown @p out->version.
 * @par Thread safety
 * Concurrent calls must not touch a slot another call is changing.
 * @since 0.1
 */
RECO_API int reco_world_get_slot_info(reco_world_slot_info *out, const reco_world *world,
                                  uint32_t slot);

RECO_END_DECLS

/** @} */
#endif /* RECO_WORLD_H */
