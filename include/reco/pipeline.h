/**
 * @file pipeline.h
 * @brief The whole RecoMind experiment as one call: logs, feedback model, simulator,
 *        RecoMind training and evaluation, on the built-in world, on any @ref reco_env, or
 *        on a user's own logs.
 * @defgroup reco_pipeline Pipeline
 * @ingroup reco_lab
 *
 * reco_pipeline_run() reads a whole experiment from a @ref reco_config and runs, for each
 * seed of `experiment.seeds` (on `experiment.threads` threads):
 *
 * 1. **logs**: the environment writes interaction logs under the logging policy of
 *    `experiment.logging` (by default a supervised recommender in production: a model fitted
 *    on bootstrap logs picks with a softmax of its expected reward);
 * 2. **fit**: the feedback model is fitted on them (`fit`, `model`); it becomes the
 *    simulator (`sim`);
 * 3. **training**: the RecoMind Q-network, warm-started from the model, is trained with
 *    Double DQN and prioritized replay in the simulator (`qnet`, `replay`, `explorer`,
 *    `trainer`), with a learning curve of its greedy policy in the simulator;
 * 4. **evaluation**: random, popular, greedy-supervised (the argmax of the model's expected
 *    immediate reward), RecoMind and warm-start (the Q-network before its first update: the
 *    control for what the RL adds) play the same users, with common random numbers, in the
 *    simulator and in the environment; the result holds both evaluations per seed and pooled
 *    over the seeds, the lifts over seeds, the fit reports, the simulator's fidelity and the
 *    learning curves.
 *
 * **What it runs on** (@ref reco_pipeline_run_options):
 * - the **built-in world** of the configuration's `world` section (the default);
 * - **any environment**, through a @ref reco_pipeline_env that opens fresh copies of it;
 * - a user's **own logs** (@c log, with an optional item table): no environment at all. The
 *   logs' users are split in two; the feedback model fitted on one part is the training
 *   simulator, a second model fitted on the other part is the *held-out simulator* in which
 *   the policies are evaluated (next to the values of the logged sessions themselves).
 *
 * **One source for each fact.** Everything specific to the environment comes from what it
 * declares (@ref reco_env version 4) or from the logs: the catalog, signals and their names,
 * reward weights, candidate count, session cap, lookback, user features and long-term
 * history shape the models, the simulator, the policies and the evaluation. Item popularity
 * (the popular baseline, a popularity bootstrap, the simulator's retrieval) is the world's
 * prior for the built-in world and is computed from the logs otherwise (an item's logged
 * positive reward). The environment-independent settings have their own section, `pipeline`
 * (@ref reco_pipeline_options): with an environment its keys must agree with what the
 * environment declares (a configured value that differs is refused, naming both values),
 * with the logs they are the source.
 *
 * **Refused options.** An option the run derives (`model.n_items`, `replay.lookback`, ...),
 * one whose value the environment overrides, and one the run never reads (the `world`
 * section when the pipeline runs on another environment, ...) are refused when the
 * configuration gives them, with the file:line:column of the key (or the
 * reco_config_set() argument) and the reason; reco_pipeline_keys() lists them, each with
 * where its value comes from, so that a front end can print them all or show them as
 * comments.
 *
 * @code
 * reco_config *cfg = NULL;
 * reco_config_create(&cfg, NULL);
 * reco_config_load_file(cfg, "examples/configs/quick.yaml");
 * reco_pipeline *p = NULL;
 * if (reco_pipeline_run(&p, cfg, NULL) < 0) {         // NULL: the built-in world
 *     fprintf(stderr, "%s\n", reco_error_message());  // e.g. quick.yaml:12:3: model.n_items: ...
 *     return 1;
 * }
 * reco_eval_stat rel, dif;
 * reco_eval_lift(&rel, &dif, reco_pipeline_eval(p, reco_pipeline_n_seeds(p), RECO_PIPELINE_REAL),
 *                RECO_PIPELINE_RECOMIND, RECO_PIPELINE_BASELINE, RECO_EVAL_RETURN);
 * printf("RecoMind over greedy-supervised in the world: %+.1f%%\n", 100 * rel.mean);
 * reco_pipeline_write_json(p, "results.json");
 * reco_pipeline_free(p);
 * reco_config_free(cfg);
 * @endcode
 *
 * **Determinism.** A run is a function of its configuration and seeds (the trainer runs one
 * generator in lock-step, `trainer.n_generators` must be 1), whatever `experiment.threads`.
 *
 * @par Thread safety
 * reco_pipeline_run() starts and joins its own threads (one per seed running at a time);
 * the environment's @c open and @c close and the progress callback may be called from
 * several of them at once (the progress lines one at a time), and each opened copy is used
 * by one thread. A result is read-only: every function taking a `const reco_pipeline *` may
 * run concurrently with the others but reco_pipeline_free().
 *
 * @par API tier
 * **Lab**: may change in any 0.x release; declared only where `RECO_LAB_API` is defined
 * before the first libreco include (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_PIPELINE_H
#define RECO_PIPELINE_H
#ifndef RECO_LAB_API
#error "reco/pipeline.h is lab API, may change in any 0.x: define RECO_LAB_API first (docs/abi.md)"
#endif

#include "reco/common.h"
#include "reco/alloc.h"
#include "reco/env.h"
#include "reco/config.h"
#include "reco/eval.h"
#include "reco/fit.h"
#include "reco/items.h"
#include "reco/log.h"
#include "reco/ope.h"

RECO_BEGIN_DECLS

/* ---- the `pipeline` configuration section ---------------------------------------------- */

/** Most reward weights `pipeline.reward` holds (one per signal). @since 0.2 */
#define RECO_PIPELINE_MAX_SIGNALS 16

/**
 * @brief Whose sessions are evaluated (`pipeline.eval_users`). YAML names: `auto`, `logged`,
 *        `new`. Values never change.
 * @since 0.2
 */
typedef enum reco_pipeline_eval_users {
    /** The built-in world: `logged` with `world.carry_history`, else `new`; any other
     *  environment: `logged`. */
    RECO_PIPELINE_EVAL_USERS_AUTO = 0,
    /** New sessions of the logged users (the world: from their logged past). */
    RECO_PIPELINE_EVAL_USERS_LOGGED = 1,
    /** Users the logs never saw (the world: its evaluation keys, reco_world_eval_users()). */
    RECO_PIPELINE_EVAL_USERS_NEW = 2
} reco_pipeline_eval_users;

/**
 * @brief Who writes the bootstrap logs that the logging model is fitted on
 *        (`pipeline.bootstrap`, read with `experiment.logging.policy: model`). YAML names:
 *        `auto`, `popularity`, `uniform`. Values never change.
 * @since 0.2
 */
typedef enum reco_pipeline_bootstrap {
    /** `popularity` where the environment has a popularity prior (the built-in world),
     *  `uniform` otherwise. */
    RECO_PIPELINE_BOOTSTRAP_AUTO = 0,
    /** A candidate drawn with weight `popularity^experiment.logging.popularity_power`. */
    RECO_PIPELINE_BOOTSTRAP_POPULARITY = 1,
    /** A uniformly random candidate. */
    RECO_PIPELINE_BOOTSTRAP_UNIFORM = 2
} reco_pipeline_bootstrap;

/**
 * @brief Which Q-network snapshot is RecoMind (`pipeline.select_snapshot`). YAML names:
 *        `last`, `heldout`. Values never change.
 * @since 0.2
 */
typedef enum reco_pipeline_select {
    /** The network at the end of training. */
    RECO_PIPELINE_SELECT_LAST = 0,
    /** The snapshot (the warm start, then one every `trainer.metrics_interval` updates)
     *  whose greedy policy earns the most in a *held-out simulator*: a feedback model fitted
     *  on as many logs again of other users, which the learner never trained on. Not with
     *  the logs alone (their held-out simulator is the evaluation). */
    RECO_PIPELINE_SELECT_HELDOUT = 1
} reco_pipeline_select;

/** Current version of @ref reco_pipeline_options. @since 0.2 */
#define RECO_PIPELINE_OPTIONS_VERSION 2

/** Initialiser for @ref reco_pipeline_options with the defaults. @since 0.2 */
#define RECO_PIPELINE_OPTIONS_INIT                                                             \
    { RECO_PIPELINE_OPTIONS_VERSION, 100u, 20u, 200u, 0u, {0}, RECO_PIPELINE_EVAL_USERS_AUTO,   \
      RECO_PIPELINE_BOOTSTRAP_AUTO, 0.5, RECO_PIPELINE_SELECT_LAST, 0u }

/**
 * @brief The `pipeline` section: the settings of an experiment that do not depend on the
 *        environment. Each member names its YAML path, default and range.
 *
 * With an environment (the world or another one), @c candidates, @c lookback,
 * @c session_cap and @c reward are what the environment declares (the world: its
 * `n_candidates`, `lookback`, `max_session_len` and `reward`): a value given in the
 * configuration must equal it, and is refused otherwise with both values in the message.
 * An environment that does not declare its candidate count, session cap or reward weights
 * (@ref reco_env version 4 fields left 0 or NULL) takes them from here. With the logs alone
 * every member is the source.
 * @since 0.2
 */
typedef struct reco_pipeline_options {
    unsigned int version; /**< @ref RECO_PIPELINE_OPTIONS_VERSION. */
    /** `pipeline.candidates`: candidates per step; 1..2^20; default 100. */
    uint32_t candidates;
    /** `pipeline.lookback`: interactions of the state's window; 1..512; default 20. */
    uint32_t lookback;
    /** `pipeline.session_cap`: steps after which a session is cut; 1..10^6; default 200. */
    uint32_t session_cap;
    /** `pipeline.reward`: entries used in @c reward; 0..@ref RECO_PIPELINE_MAX_SIGNALS;
     *  default 0. */
    uint32_t n_reward;
    /** `pipeline.reward`: the reward weight of each signal, finite, in [-10^6, 10^6];
     *  default `[]`: the environment's, or for logs with the four default signals (click,
     *  long_watch, like, hide) the world's defaults `[0.1, 1, 0.3, -0.5]`. */
    double reward[RECO_PIPELINE_MAX_SIGNALS];
    /** `pipeline.eval_users`: default @ref RECO_PIPELINE_EVAL_USERS_AUTO. */
    reco_pipeline_eval_users eval_users;
    /** `pipeline.bootstrap`: default @ref RECO_PIPELINE_BOOTSTRAP_AUTO. */
    reco_pipeline_bootstrap bootstrap;
    /** `pipeline.heldout_share`: with the logs alone, the share of their users whose logs
     *  make the held-out simulator; [0.05, 0.95]; default 0.5. */
    double heldout_share;
    /** `pipeline.select_snapshot`: which snapshot is RecoMind; default
     *  @ref RECO_PIPELINE_SELECT_LAST (docs/experiment.md says by which rule the default was
     *  chosen). @ref RECO_PIPELINE_SELECT_HELDOUT is what
     *  reco_pipeline_run_options::select_heldout asks for; refused with the logs alone.
     *  @since 0.2 (version 2) */
    reco_pipeline_select select_snapshot;
    /** `pipeline.early_stop_patience`: stop training when the held-out simulator's return of
     *  the greedy Q policy (measured every `trainer.metrics_interval` updates, as for
     *  @ref RECO_PIPELINE_SELECT_HELDOUT) has not improved on its best for this many
     *  measurements in a row; 0 (default): train for `trainer.total_updates`. Needs the
     *  held-out simulator (fitted as for @c select_snapshot); refused with the logs alone.
     *  0..10^6. @since 0.2 (version 2) */
    uint32_t early_stop_patience;
} reco_pipeline_options;

/**
 * @brief Fill @p opts with the defaults of version @p version.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_PIPELINE_OPTIONS_VERSION.
 * @return @ref RECO_OK, @ref RECO_EINVAL if @p opts is NULL, @ref RECO_EVERSION otherwise.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.2
 */
RECO_API int reco_pipeline_options_init(reco_pipeline_options *opts, unsigned int version);

/**
 * @brief Copy the `pipeline` section of @p cfg into @p out.
 * @param[in,out] out  receives the values; its @c version member is read.
 * @param[in]     cfg  the configuration.
 * @return @ref RECO_OK, @ref RECO_EINVAL, or @ref RECO_EVERSION.
 * @par Thread safety
 * May run concurrently with other calls taking a `const` configuration.
 * @since 0.2
 */
RECO_API int reco_config_get_pipeline(reco_pipeline_options *out, const reco_config *cfg);

/**
 * @brief Replace the `pipeline` section of @p cfg with @p in (validated as a file would be).
 * @param[in,out] cfg  the configuration; unchanged on failure.
 * @param[in]     in   the values; members past its @c version take their defaults.
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL argument); @ref RECO_EVERSION;
 *         @ref RECO_ECONFIG (a value out of range: the message names `pipeline.<key>`);
 *         @ref RECO_ENOMEM.
 * @par Thread safety
 * One thread at a time per configuration.
 * @since 0.2
 */
RECO_API int reco_config_set_pipeline(reco_config *cfg, const reco_pipeline_options *in);

/* ---- what the pipeline runs on ----------------------------------------------------------- */

/** Current version of @ref reco_pipeline_env. @since 0.2 */
#define RECO_PIPELINE_ENV_VERSION 1

/** Initialiser for @ref reco_pipeline_env (no callbacks). @since 0.2 */
#define RECO_PIPELINE_ENV_INIT { RECO_PIPELINE_ENV_VERSION, NULL, NULL, NULL, NULL }

/**
 * @brief A factory of copies of one environment, for reco_pipeline_run().
 *
 * The pipeline needs several copies of the environment per seed: one that writes the logs
 * and then starts the training simulator's sessions from its users' states, and one for the
 * evaluation. Every copy that @c open makes must start in the same initial state (the same
 * users, catalog and seed), so that two fresh copies behave identically for the same calls:
 * before each evaluated policy the evaluation copy is closed and opened again (or restored
 * with the environment's own @c load_state to the state the logging copy had after the logs,
 * when the environment has @c save_state and @c load_state), which gives every policy the
 * same users and random numbers. The environment must be a version-4 @ref reco_env with a
 * @c context callback or without one, as the models need (see reco_run_sessions()).
 * @since 0.2
 */
typedef struct reco_pipeline_env {
    unsigned int version; /**< @ref RECO_PIPELINE_ENV_VERSION. */
    /** The environment's name in the reports (results.json's environments are `"sim (seed
     *  1)"` and `"<name> (seed 1)"`); NULL: `"env"`. At most 32 bytes of `[a-z0-9_-]`. */
    const char *name;
    /** Fill @p out with a fresh copy of the environment; returns @ref RECO_OK or a negative
     *  status (recording its message with reco_error_set()). */
    int (*open)(reco_env *out, void *payload);
    /** Free a copy made by @c open (its @p env as @c open filled it); may be NULL. */
    void (*close)(const reco_env *env, void *payload);
    void *payload; /**< Passed to @c open and @c close; never read by the library. */
} reco_pipeline_env;

/** reco_pipeline_run_options::without: leave the user features out of the models. @since 0.2 */
#define RECO_PIPELINE_WITHOUT_USER (1u << 0)
/** ... the item features. @since 0.2 */
#define RECO_PIPELINE_WITHOUT_ITEM (1u << 1)
/** ... the long-term history. @since 0.2 */
#define RECO_PIPELINE_WITHOUT_LONG (1u << 2)
/** ... the position in the session. @since 0.2 */
#define RECO_PIPELINE_WITHOUT_POSITION (1u << 3)
/** ... the elapsed time. @since 0.2 */
#define RECO_PIPELINE_WITHOUT_ELAPSED (1u << 4)
/** ... the per-state bias. @since 0.2 */
#define RECO_PIPELINE_WITHOUT_STATE_BIAS (1u << 5)

/** Most feedback models of an ensemble (reco_pipeline_run_options::ensemble). @since 0.2 */
#define RECO_PIPELINE_MAX_ENSEMBLE 8

/** Current version of @ref reco_pipeline_run_options. @since 0.2 */
#define RECO_PIPELINE_RUN_OPTIONS_VERSION 1

/** Initialiser for @ref reco_pipeline_run_options (the built-in world, warm start, no
 *  variant). @since 0.2 */
#define RECO_PIPELINE_RUN_OPTIONS_INIT                                                         \
    { RECO_PIPELINE_RUN_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 0, 1u, 0, 0, 0, 0u, NULL, NULL }

/**
 * @brief What reco_pipeline_run() runs on and how (the options that are not part of the
 *        configuration).
 * @since 0.2
 */
typedef struct reco_pipeline_run_options {
    unsigned int version;            /**< @ref RECO_PIPELINE_RUN_OPTIONS_VERSION. */
    const reco_allocator *allocator; /**< NULL: the process default; for the result and the
                                          run's own buffers. */
    /** Another environment than the built-in world, or NULL; borrowed for the call. */
    const reco_pipeline_env *env;
    /** A user's own logs (no environment), or NULL; borrowed for the call. At most one of
     *  @c env and @c log. */
    const reco_log *log;
    /** Item features for the models (an environment's or the logs' items), or NULL: none.
     *  With the logs, its n_items is the catalog. Not with the built-in world, whose own
     *  item features are used. Borrowed for the call. */
    const reco_items *items;
    /** Train a randomly initialised Q-network instead of the warm start. Default 0. */
    int random_init;
    /** Train in an ensemble of this many simulators (feedback models fitted on the same logs
     *  with other seeds; session slot i plays in simulator i mod K), 1..@ref
     *  RECO_PIPELINE_MAX_ENSEMBLE; the evaluation simulator is the first. Default 1. */
    uint32_t ensemble;
    /** Log as many interactions of other users, fit a second model on them, and keep the
     *  Q-network snapshot (of those taken every `trainer.metrics_interval` updates) whose
     *  greedy policy earns most in that model's simulator. Not with the logs. Default 0. */
    int select_heldout;
    /** Log as many interactions of other users, fit a second model on them, and evaluate in
     *  its simulator (cross-fitting). Not with the logs (which always do). Default 0. */
    int eval_heldout;
    /** Stop after the feedback model: the result has the fit reports and, where the
     *  environment has probabilities(), the model against the truth on each fixed policy's
     *  choices (reco_pipeline_calibration()); no evaluation. Default 0. */
    int fit_only;
    /** RECO_PIPELINE_WITHOUT_* inputs left out of the models fitted on the logs (the
     *  logging model keeps them all); @ref RECO_PIPELINE_WITHOUT_USER only with
     *  @c fit_only (the simulator starts from the environment's states, user features
     *  included). Default 0. */
    uint32_t without;
    /** Called with a line of progress (no newline at the end), or NULL. */
    void (*progress)(const char *line, void *payload);
    void *progress_payload; /**< Passed to @c progress; never read by the library. */
} reco_pipeline_run_options;

/**
 * @brief Fill @p opts with the defaults of version @p version.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_PIPELINE_RUN_OPTIONS_VERSION.
 * @return @ref RECO_OK, @ref RECO_EINVAL if @p opts is NULL, @ref RECO_EVERSION otherwise.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.2
 */
RECO_API int reco_pipeline_run_options_init(reco_pipeline_run_options *opts,
                                            unsigned int version);

/* ---- the options the run derives or does not read ----------------------------------------- */

/** Longest reason in a @ref reco_pipeline_key, with its NUL. @since 0.2 */
#define RECO_PIPELINE_KEY_WHY_MAX 200

/**
 * @brief One option that a run takes from elsewhere or does not read, or one whose
 *        configured value must agree with the environment (filled by reco_pipeline_keys();
 *        a frozen struct).
 * @since 0.2
 */
typedef struct reco_pipeline_key {
    /** The option's path, e.g. `"model.n_items"` (a static string). */
    const char *path;
    /** Where its value comes from, e.g. `"derived from world.n_items = 300"`, or why the
     *  given value is refused, e.g. `"20 differs from the environment's max_candidates =
     *  30"`. */
    char why[RECO_PIPELINE_KEY_WHY_MAX];
    /** 1 when the configuration gives the option and the run refuses it. */
    int refused;
    /** Where the configuration gives it (reco_config_get_origin()); its strings are
     *  borrowed from the configuration. */
    reco_config_origin origin;
} reco_pipeline_key;

/**
 * @brief The options a run of @p cfg on @p opts's source derives, overrides or does not
 *        read, each with the reason and whether the configuration gives it (and is refused).
 *
 * reco_pipeline_run() refuses the configuration when any of them is refused; a front end
 * calls this first to report every refused option at once and to show the others as
 * comments of the effective configuration. With another environment its copy is opened
 * (and closed) to read its declarations.
 * @param[out] out    (cap) entries; may be NULL with @p cap 0 (a count query).
 * @param[in]  cap    entries of @p out.
 * @param[out] n_out  receives the number of options (all of them, also past @p cap).
 * @param[out] n_refused_out  receives how many are refused; may be NULL.
 * @param[in]  cfg    the configuration.
 * @param[in]  opts   what the run is on (NULL: the built-in world).
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL argument, both an env and logs); @ref
 *         RECO_EVERSION; or the error of the environment's @c open.
 * @par Thread safety
 * As a `const` call on @p cfg.
 * @since 0.2
 */
RECO_API int reco_pipeline_keys(reco_pipeline_key *out, uint32_t cap, uint32_t *n_out,
                                uint32_t *n_refused_out, const reco_config *cfg,
                                const reco_pipeline_run_options *opts);

/* ---- running ------------------------------------------------------------------------------ */

/** @brief Opaque result of a pipeline run. @since 0.2 */
typedef struct reco_pipeline reco_pipeline;

/** The five policies of the result, in this order. @since 0.2 */
#define RECO_PIPELINE_N_POLICIES 5
/** Index of random. @since 0.2 */
#define RECO_PIPELINE_RANDOM 0
/** Index of popular (argmax of the item popularity). @since 0.2 */
#define RECO_PIPELINE_POPULAR 1
/** Index of greedy-supervised, the baseline of the lifts. @since 0.2 */
#define RECO_PIPELINE_BASELINE 2
/** Index of RecoMind (argmax of the trained Q head). @since 0.2 */
#define RECO_PIPELINE_RECOMIND 3
/** Index of warm-start: argmax of the Q head of the Q-network as it was before the first
 *  update (reco_qnet_create_warm(), or the random initialisation with `random_init`): the
 *  control that separates what the RL adds from what the warm start's ranking rule gives.
 *  @since 0.2 */
#define RECO_PIPELINE_WARM_START 4

/**
 * @brief The two places where the policies are evaluated. Values never change.
 * @since 0.2
 */
typedef enum reco_pipeline_side {
    /** The simulator of the feedback model (the one RecoMind trained in). */
    RECO_PIPELINE_SIM = 0,
    /** The environment (the world, the user's env), or with logs the held-out simulator. */
    RECO_PIPELINE_REAL = 1
} reco_pipeline_side;

/**
 * @brief Run the experiment of @p cfg.
 *
 * The configuration is checked first (reco_pipeline_keys(): the first refused option fails
 * the call with @ref RECO_ECONFIG, its file, line and column and the reason), then each seed
 * runs. Seeds run in waves of `experiment.threads`, each with its own objects; the result
 * does not depend on the number of threads.
 * @param[out] out   receives the result (free it with reco_pipeline_free()); NULL on failure.
 * @param[in]  cfg   the experiment; read during the call only.
 * @param[in]  opts  what it runs on and how, or NULL (the built-in world, warm start).
 * @return @ref RECO_OK; @ref RECO_ECONFIG (a refused option, or an inconsistent
 *         configuration: the message names the option); @ref RECO_EINVAL (bad options, an
 *         environment that does not declare what the run needs, logs without sessions);
 *         @ref RECO_EVERSION; @ref RECO_ENOMEM; or the error of a stage, prefixed with the
 *         seed and the stage (`seed 2: training: ...`), a callback's own message included.
 * @par Thread safety
 * See the group's description.
 * @since 0.2
 */
RECO_API int reco_pipeline_run(reco_pipeline **out, const reco_config *cfg,
                               const reco_pipeline_run_options *opts);

/**
 * @brief Free a result. NULL is accepted.
 * @param[in] p  the result.
 * @since 0.2
 */
RECO_API void reco_pipeline_free(reco_pipeline *p);

/**
 * @brief The number of seeds of the run.
 * @param[in] p  the result.
 * @return the count (0 for NULL).
 * @since 0.2
 */
RECO_API uint32_t reco_pipeline_n_seeds(const reco_pipeline *p);

/**
 * @brief The seed value of run @p k (`experiment.seeds[k]`).
 * @param[in] p  the result.
 * @param[in] k  the seed's index, below reco_pipeline_n_seeds().
 * @return the seed, or 0 for a NULL result or an index out of range.
 * @since 0.2
 */
RECO_API uint64_t reco_pipeline_seed(const reco_pipeline *p, uint32_t k);

/**
 * @brief The name of the policy @p policy in the reports: "random", "popular",
 *        "greedy-supervised", "recomind", "warm-start".
 * @param[in] policy  below @ref RECO_PIPELINE_N_POLICIES.
 * @return a static string, or NULL out of range.
 * @since 0.2
 */
RECO_API const char *reco_pipeline_policy_name(uint32_t policy);

/**
 * @brief The name of a side in the reports: "sim" for @ref RECO_PIPELINE_SIM; "world", the
 *        environment's name or "held-out sim" for @ref RECO_PIPELINE_REAL.
 * @param[in] p     the result.
 * @param[in] side  the side.
 * @return a string owned by @p p, or NULL for a bad argument.
 * @since 0.2
 */
RECO_API const char *reco_pipeline_side_name(const reco_pipeline *p, reco_pipeline_side side);

/**
 * @brief The name of output @p h of the feedback model: the signal names, then "exit".
 * @param[in] p  the result.
 * @param[in] h  below the number of signals plus one.
 * @return a string owned by @p p, or NULL out of range.
 * @since 0.2
 */
RECO_API const char *reco_pipeline_output_name(const reco_pipeline *p, uint32_t h);

/**
 * @brief The evaluation of the five policies of seed @p k on @p side, or pooled over the
 *        seeds when @p k is reco_pipeline_n_seeds().
 * @param[in] p     the result.
 * @param[in] k     the seed's index, or the number of seeds for the pooled evaluation.
 * @param[in] side  where.
 * @return the evaluation, owned by @p p; NULL for a bad argument or a fit-only run.
 * @since 0.2
 */
RECO_API const reco_eval *reco_pipeline_eval(const reco_pipeline *p, uint32_t k,
                                             reco_pipeline_side side);

/**
 * @brief A policy's lift over a baseline **over seeds**: the mean of the seeds' lifts
 *        (reco_eval_lift() of each seed's evaluation on @p side) with a Student t interval
 *        at the evaluation's confidence, the seeds' lifts as the sample (n - 1 degrees of
 *        freedom).
 *
 * The pooled evaluation (reco_pipeline_eval() with k = the number of seeds) holds each seed's
 * trained policies fixed and varies the users only; this interval includes the variation of
 * the whole pipeline (logs, model, training) and is the one to quote for "does the policy
 * beat the baseline". With one seed the mean is that seed's lift and @c lo and @c hi are NaN
 * (no spread can be estimated; results.json writes null).
 * @param[out] relative_out    receives the relative lift (`policy / baseline - 1`), its @c n
 *                             the number of seeds with a finite lift; may be NULL.
 * @param[out] difference_out  receives the difference (`policy - baseline`); may be NULL.
 * @param[in]  p         the result (not fit-only).
 * @param[in]  side      where.
 * @param[in]  policy    below @ref RECO_PIPELINE_N_POLICIES.
 * @param[in]  baseline  below @ref RECO_PIPELINE_N_POLICIES.
 * @param[in]  metric    a metric of the evaluations (a @ref reco_eval_metric or an index from
 *                       reco_eval_metric_index()).
 * @return @ref RECO_OK or @ref RECO_EINVAL (a bad argument, a fit-only run).
 * @par Thread safety
 * See the group's description.
 * @since 0.2
 */
RECO_API int reco_pipeline_lift_over_seeds(reco_eval_stat *relative_out,
                                           reco_eval_stat *difference_out,
                                           const reco_pipeline *p, reco_pipeline_side side,
                                           uint32_t policy, uint32_t baseline, uint32_t metric);

/**
 * @brief A policy's metric **over seeds**: the mean of the seeds' means on @p side with a
 *        Student t interval (n - 1 degrees of freedom) at the evaluation's confidence; with
 *        one seed, that seed's mean and NaN ends.
 * @param[out] out     receives the value; its @c n is the number of seeds with a finite mean.
 * @param[in]  p       the result (not fit-only).
 * @param[in]  side    where.
 * @param[in]  policy  below @ref RECO_PIPELINE_N_POLICIES.
 * @param[in]  metric  a metric of the evaluations.
 * @return @ref RECO_OK or @ref RECO_EINVAL.
 * @since 0.2
 */
RECO_API int reco_pipeline_stat_over_seeds(reco_eval_stat *out, const reco_pipeline *p,
                                           reco_pipeline_side side, uint32_t policy,
                                           uint32_t metric);

/**
 * @brief The two-sided Student t quantile that the over-seeds intervals use: the @p t with
 *        P(|T| <= t) = @p confidence for @p df degrees of freedom (e.g. 2.262 for 0.95 and 9).
 * @param[in] confidence  in (0, 1).
 * @param[in] df          degrees of freedom, >= 1.
 * @return the quantile, or NaN for an argument out of range.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.2
 */
RECO_API double reco_pipeline_t_quantile(double confidence, uint32_t df);

/**
 * @brief How seed @p k's training ended: the updates it ran (fewer than
 *        `trainer.total_updates` when `pipeline.early_stop_patience` stopped it) and the
 *        updates of the snapshot that is RecoMind (the last one, or with
 *        `pipeline.select_snapshot: heldout` the one the held-out simulator chose).
 * @param[out] trained_out  receives the updates run; may be NULL.
 * @param[out] kept_out     receives the kept snapshot's updates; may be NULL.
 * @param[in]  p            the result (not fit-only).
 * @param[in]  k            the seed's index.
 * @return @ref RECO_OK or @ref RECO_EINVAL.
 * @since 0.2
 */
RECO_API int reco_pipeline_training(uint64_t *trained_out, uint64_t *kept_out,
                                    const reco_pipeline *p, uint32_t k);

/**
 * @brief The held-out simulator's mean return of the greedy Q policy at each point of seed
 *        @p k's learning curve (reco_pipeline_curve()): what `select_snapshot: heldout` and
 *        `early_stop_patience` decide on. NaN at every point without a held-out simulator.
 * @param[out] out  (cap) values; may be NULL with @p cap 0.
 * @param[in]  cap  entries of @p out.
 * @param[in]  p    the result.
 * @param[in]  k    the seed's index.
 * @return the number of points (as reco_pipeline_curve()); 0 for a bad argument.
 * @since 0.2
 */
RECO_API uint32_t reco_pipeline_heldout_curve(double *out, uint32_t cap, const reco_pipeline *p,
                                              uint32_t k);

/**
 * @brief The fit report of seed @p k's feedback model (@p heldout 0), or of its held-out
 *        model (@p heldout 1: with `select_heldout`, `eval_heldout`,
 *        `pipeline.select_snapshot: heldout`, `pipeline.early_stop_patience` or the logs;
 *        otherwise its @c n_outputs is 0).
 * @param[in,out] out      its @c version must be set; receives the report up to that
 *                         version, without the loss histories (NULL arrays).
 * @param[in]     p        the result.
 * @param[in]     k        the seed's index.
 * @param[in]     heldout  0 or 1.
 * @return @ref RECO_OK, @ref RECO_EINVAL, or @ref RECO_EVERSION.
 * @since 0.2
 */
RECO_API int reco_pipeline_fit_report(reco_fit_report *out, const reco_pipeline *p, uint32_t k,
                                      int heldout);

/**
 * @brief One point of a learning curve (a frozen struct).
 * @since 0.2
 */
typedef struct reco_pipeline_point {
    uint64_t updates;       /**< Q-network updates so far. */
    double greedy_q_return; /**< Mean return of RecoMind's greedy policy in a fresh
                                 simulator on the curve sessions. */
    double baseline_return; /**< greedy-supervised's on the same sessions (the same at every
                                 point). */
    double loss;            /**< The learner's mean loss (NaN at update 0). */
    double mean_q;          /**< The learner's mean Q (NaN at update 0). */
    double explore_return;  /**< Mean return of the exploring generator's sessions (NaN at
                                 update 0). */
} reco_pipeline_point;

/**
 * @brief The learning curve of seed @p k: a point at update 0, then one every
 *        `trainer.metrics_interval` updates and one at the end.
 * @param[out] out  (cap) points; may be NULL with @p cap 0.
 * @param[in]  cap  entries of @p out.
 * @param[in]  p    the result.
 * @param[in]  k    the seed's index.
 * @return the number of points (all of them, also past @p cap); 0 for a bad argument.
 * @since 0.2
 */
RECO_API uint32_t reco_pipeline_curve(reco_pipeline_point *out, uint32_t cap,
                                      const reco_pipeline *p, uint32_t k);

/**
 * @brief How far the simulator is from the real side for one policy (a frozen struct).
 * @since 0.2
 */
typedef struct reco_pipeline_fidelity {
    double sim;  /**< Mean return per session in the simulator. */
    double real; /**< In the environment (or the held-out simulator). */
    double rel;  /**< The relative error `sim / real - 1`. */
    double lo;   /**< Lower end of its interval (delta method, the runs independent). */
    double hi;   /**< Upper end. */
} reco_pipeline_fidelity;

/**
 * @brief The simulator's relative error on @p policy's mean return, for seed @p k or pooled
 *        (@p k = the number of seeds), at the evaluation's confidence.
 * @param[out] out     receives the values.
 * @param[in]  p       the result.
 * @param[in]  k       the seed's index, or the number of seeds.
 * @param[in]  policy  below @ref RECO_PIPELINE_N_POLICIES.
 * @return @ref RECO_OK or @ref RECO_EINVAL (also for a fit-only run).
 * @since 0.2
 */
RECO_API int reco_pipeline_fidelity_get(reco_pipeline_fidelity *out, const reco_pipeline *p,
                                        uint32_t k, uint32_t policy);

/**
 * @brief Seed @p k's off-policy estimates of @p policy (docs/ope.md, @ref ope): from the
 *        log of the logging policy that the run on an environment writes per seed, the
 *        seed's feedback model as the direct method.
 * @param[in,out] out     its @c version set (@ref RECO_OPE_RESULT_INIT); receives them.
 * @param[in]     p       the result.
 * @param[in]     k       the seed's index, below reco_pipeline_n_seeds().
 * @param[in]     policy  below @ref RECO_PIPELINE_N_POLICIES.
 * @return @ref RECO_OK; @ref RECO_EINVAL for bad arguments, a fit-only run, the logs-only
 *         path or a seed whose off-policy log or estimates failed (reported on the
 *         progress output); @ref RECO_EVERSION.
 * @since 0.2
 */
RECO_API int reco_pipeline_off_policy(reco_ope_result *out, const reco_pipeline *p, uint32_t k,
                                      uint32_t policy);

/**
 * @brief With the logs: the logged sessions of the held-out users themselves, as the
 *        logging policy played them: mean return (the reward weights over each session's
 *        signals) and depth per session, with normal intervals at the evaluation's
 *        confidence.
 * @param[out] return_out  receives the mean return; may be NULL.
 * @param[out] depth_out   receives the mean depth; may be NULL.
 * @param[in]  p           the result.
 * @param[in]  k           the seed's index.
 * @return @ref RECO_OK, or @ref RECO_EINVAL (a bad argument, a run that is not on logs).
 * @since 0.2
 */
RECO_API int reco_pipeline_logged(reco_eval_stat *return_out, reco_eval_stat *depth_out,
                                  const reco_pipeline *p, uint32_t k);

/**
 * @brief With `fit_only`: rows of the feedback model against the truth on each fixed
 *        policy's own choices (random, popular, greedy-supervised; then greedy-supervised's
 *        choices seen by the held-out model when there is one), in the environment.
 * @param[in] p  the result.
 * @param[in] k  the seed's index.
 * @return the number of rows (0 without them).
 * @since 0.2
 */
RECO_API uint32_t reco_pipeline_n_calibration(const reco_pipeline *p, uint32_t k);

/**
 * @brief One row of the calibration: the model's and the truth's mean probability of each
 *        output (the signals, then exit) on the shown items.
 * @param[out] model_out  (number of signals + 1) the model's means.
 * @param[out] truth_out  (number of signals + 1) the environment's.
 * @param[in]  p          the result.
 * @param[in]  k          the seed's index.
 * @param[in]  row        below reco_pipeline_n_calibration().
 * @return @ref RECO_OK or @ref RECO_EINVAL.
 * @since 0.2
 */
RECO_API int reco_pipeline_calibration(double *model_out, double *truth_out,
                                       const reco_pipeline *p, uint32_t k, uint32_t row);

/**
 * @brief Write results.json: the evaluator's report (schema `libreco.eval/1`, reco_eval_write_json())
 *        with one environment per seed and side and the pooled ones, baseline
 *        greedy-supervised; each entry also has `"control": "warm-start"` and
 *        `"control_lifts"` (RecoMind over warm-start, the shape of `"lifts"`), and each side's
 *        pooled entry is followed by `"<side> (over seeds)"` (`"seeds"`, `"interval": "t over
 *        seeds"`, `"policies"`, `"lifts"`, `"control_lifts"`: reco_pipeline_stat_over_seeds()
 *        and reco_pipeline_lift_over_seeds()); then the experiment's sections: `"seeds"` (per
 *        seed, the fit against the oracle, `trained_updates`, `kept_updates` and the
 *        simulator's fidelity), `"fidelity"` (pooled), `"off_policy"` (on an environment: per
 *        seed, each policy's off-policy estimates from a log of the logging policy beside its
 *        real return, see @ref ope; with the logs alone: null) and, with the logs,
 *        `"logged"`. Written through a temporary file.
 * @param[in] p     the result (not fit-only).
 * @param[in] path  the file.
 * @return @ref RECO_OK, @ref RECO_EINVAL, @ref RECO_EIO, or @ref RECO_ENOMEM.
 * @since 0.2
 */
RECO_API int reco_pipeline_write_json(const reco_pipeline *p, const char *path);

/**
 * @brief Write results.csv (reco_eval_write_csv() of the same environments as the JSON).
 * @param[in] p     the result (not fit-only).
 * @param[in] path  the file.
 * @return @ref RECO_OK, @ref RECO_EINVAL, @ref RECO_EIO, or @ref RECO_ENOMEM.
 * @since 0.2
 */
RECO_API int reco_pipeline_write_csv(const reco_pipeline *p, const char *path);

/**
 * @brief Write learning_curve.csv: `seed,updates,greedy_q_sim_return,
 *        greedy_supervised_sim_return,loss,mean_q,explore_return`, one row per point.
 * @param[in] p     the result.
 * @param[in] path  the file.
 * @return @ref RECO_OK, @ref RECO_EINVAL, or @ref RECO_EIO.
 * @since 0.2
 */
RECO_API int reco_pipeline_write_curve(const reco_pipeline *p, const char *path);

/**
 * @brief Save seed @p k's trained Q-network (reco_qnet_save()), a checkpoint that
 *        reco_qnet_open() and `serve-qnet` load; with `select_heldout` (or
 *        `pipeline.select_snapshot: heldout`), the kept snapshot as
 *        a model checkpoint (reco_model_save(), ranked by its last head, the Q head), which
 *        `serve-qnet` loads too. With item features the checkpoint carries them.
 * @param[in] p     the result (not fit-only).
 * @param[in] k     the seed's index.
 * @param[in] path  the file.
 * @return @ref RECO_OK, @ref RECO_EINVAL, or the error of reco_qnet_save().
 * @since 0.2
 */
RECO_API int reco_pipeline_save_qnet(const reco_pipeline *p, uint32_t k, const char *path);

/* ---- pieces: the first stage, for programs that need only part of the pipeline ------------ */

/** Current version of @ref reco_pipeline_log_options. @since 0.2 */
#define RECO_PIPELINE_LOG_OPTIONS_VERSION 1

/** Initialiser for @ref reco_pipeline_log_options with the defaults. @since 0.2 */
#define RECO_PIPELINE_LOG_OPTIONS_INIT                                                         \
    { RECO_PIPELINE_LOG_OPTIONS_VERSION, 10000u, 100u, 0u, 0u, 0u, 1u, 1, 1 }

/**
 * @brief How reco_pipeline_logs() logs.
 * @since 0.2
 */
typedef struct reco_pipeline_log_options {
    unsigned int version;            /**< @ref RECO_PIPELINE_LOG_OPTIONS_VERSION. */
    uint64_t interactions;           /**< Rows to log, >= 1. Default 10000. */
    uint32_t interactions_per_user;  /**< About this many rows per user: the logged users are
                                          `max(1, interactions / interactions_per_user)`,
                                          >= 1. Default 100. */
    uint64_t first_user;             /**< Id of the first logged user. Default 0. */
    /** Candidates asked per step; 0 (default): the env's declared count. */
    uint32_t candidates;
    /** The session cap: sessions are cut (exit 0) one step before it; 0 (default): the
     *  env's declared `max_steps`, else 1000. */
    uint32_t session_cap;
    uint64_t seed;                   /**< Seed of the logging policy's draws. Default 1. */
    int propensity;                  /**< Log the propensity column. Default 1. */
    int oracle;                      /**< Log the oracle columns. Default 1. */
} reco_pipeline_log_options;

/**
 * @brief Fill @p opts with the defaults of version @p version.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_PIPELINE_LOG_OPTIONS_VERSION.
 * @return @ref RECO_OK, @ref RECO_EINVAL if @p opts is NULL, @ref RECO_EVERSION otherwise.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.2
 */
RECO_API int reco_pipeline_log_options_init(reco_pipeline_log_options *opts,
                                            unsigned int version);

/**
 * @brief Log interactions of @p env under a logging rule, as the pipeline does: the log has
 *        the env's signals (and names) and user features, and by default the propensity and
 *        oracle columns.
 *
 * Users `first_user ..` take turns (reco_log_generate()); for the built-in world (an env from
 * reco_world_env()) each session is a new session key of the user
 * (`RECO_WORLD_SESSION_KEY(user, ordinal)`), so that users return with their past.
 * @param[out] out     receives the new log (free it with reco_log_free()); NULL on failure.
 * @param[in]  env     the environment.
 * @param[in]  policy  the logging rule (signal weights NULL: the env's).
 * @param[in]  opts    options, or NULL for the defaults.
 * @return @ref RECO_OK or the error of reco_log_create() / reco_log_generate().
 * @since 0.2
 */
RECO_API int reco_pipeline_logs(reco_log **out, const reco_env *env,
                                const reco_log_policy *policy,
                                const reco_pipeline_log_options *opts);

/**
 * @brief Fit a feedback model on @p log, as the pipeline does: the log is split by user
 *        (reco_log_split(), @p valid_fraction to validation, seed @p split_seed), a model of
 *        @p mo is created, given the item features when it takes them, and fitted with
 *        @p fo (validating on the held-out users; with @p valid_fraction 0, without
 *        validation).
 * @param[out] out             receives the model (free it with reco_model_free()); NULL on
 *                             failure.
 * @param[out] report          the fit report (its @c version set), or NULL.
 * @param[in]  log             the logs.
 * @param[in]  valid_fraction  share of the users for validation, [0, 1).
 * @param[in]  split_seed      the split's seed.
 * @param[in]  mo              the model's options.
 * @param[in]  fo              the fit's options, or NULL for the defaults.
 * @param[in]  item_dense      (n_item_rows, the model's item_dense_dim) dense item features,
 *                             or NULL when the model takes none (e.g. reco_items_dense()).
 * @param[in]  item_fields     (n_item_rows, item_n_fields) categorical item fields, or NULL
 *                             when the model takes none (e.g. reco_items_fields()).
 * @param[in]  n_item_rows     rows of the item arrays: the model's n_items.
 * @return @ref RECO_OK; @ref RECO_EINVAL (a model that takes item features without them);
 *         or the error of a step.
 * @since 0.2
 */
RECO_API int reco_pipeline_fit(reco_model **out, reco_fit_report *report, const reco_log *log,
                               double valid_fraction, uint64_t split_seed,
                               const reco_model_options *mo, const reco_fit_options *fo,
                               const float *item_dense, const int32_t *item_fields,
                               uint32_t n_item_rows);

RECO_END_DECLS

/** @} */
#endif /* RECO_PIPELINE_H */
