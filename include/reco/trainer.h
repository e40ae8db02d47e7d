/**
 * @file trainer.h
 * @brief The RecoMind trainer: generator threads feeding a replay buffer, one learner.
 * @defgroup reco_trainer Trainer
 * @ingroup reco_core
 *
 * A @ref reco_trainer runs the generator/learner loop of RecoMind in one process:
 *
 * - **Generators** (`n_generators` threads). Generator g owns an environment made by the
 *   caller's @ref reco_trainer_env_fn (typically a @ref reco_sim over the shared, frozen
 *   feedback model), a **policy snapshot** (its own @ref reco_model copy of the online
 *   network), a @ref reco_explorer (the given explorer options with `stream = g`) and a
 *   random stream of users over `[0, n_users)`. It steps `sessions_per_generator` sessions
 *   together: observe (the window, the user features and, from a version-3 environment with
 *   `context()`, the steps, elapsed seconds and long-term history; otherwise the steps are
 *   the generator's own counts), candidates, score the candidates with the snapshot's Q
 *   head, select with the explorer, step. Each session's interactions are added to the
 *   @ref reco_replay as segments of at most `segment_len` steps (with the window before the
 *   segment as history; with a replay that stores the session context, also the segment's
 *   first step, the elapsed time at each state and after the last step, the user features
 *   and the long-term history); a segment ends the session in the replay only when the user
 *   exited (@ref RECO_ENV_EXIT), never on truncation.
 * - **The learner** (the thread calling reco_trainer_run()). Once `warmup` transitions are
 *   stored it repeatedly samples `batch_size` transitions (with their session context when
 *   the replay stores it), draws `n_candidates` distinct random items as the shared
 *   candidates of every s' (its own random stream), calls reco_qnet_update(), writes the new
 *   priorities back, and every `snapshot_period` updates publishes the online parameters as
 *   a new snapshot.
 *
 * **The session context.** A model that reads user features, the position, the elapsed
 * time or a long-term history (@ref reco_model_options version 2) needs a replay created
 * with the context (@ref reco_replay_options version 2: `user_dim` and `long_len` equal to
 * the model's) and environments that give what it reads (same lookback and user_dim, a
 * `context()` callback for the elapsed time or the long-term history, whose `long_len` is
 * the model's); reco_trainer_create() checks all of it.
 *
 * **Replay ratio.** Update u (1-based) may run only once the inserted transitions T satisfy
 * `(T - warmup) * replay_ratio >= u` and at least `max(warmup, batch_size)` transitions were
 * inserted; otherwise the learner waits for the generators.
 *
 * **Bounded staleness.** A generator starts a round of steps only when its snapshot lags the
 * learner by at most `max_staleness` updates (it pulls a newer snapshot when one is
 * published, and waits otherwise). The lag of every transition — learner updates minus the
 * snapshot's updates, when its round began — is recorded (metric `policy_lag`). Because
 * snapshots are published every `snapshot_period` updates, `snapshot_period` must be at most
 * `max_staleness + 1`.
 *
 * **Determinism.** With `n_generators = 1` and `max_staleness = 0` (so `snapshot_period =
 * 1`) the generator and the learner run in lock-step: the generator steps rounds until the
 * ratio allows an update, then hands over; the learner makes every update the ratio allows,
 * publishes, and hands back. The run is then a function of the seeds: the same inputs give
 * identical metrics (throughput aside) and bit-identical parameters. With several
 * generators, or a positive staleness, the threads' interleaving decides the order of
 * replay insertions and samples, so runs differ.
 *
 * @code
 * static int make_env(reco_env *out, uint32_t g, void *payload)
 * {
 *     struct app *app = payload;            // one reco_sim per generator, same frozen model
 *     return reco_sim_env(out, app->sims[g]);
 * }
 * ...
 * reco_trainer_options to = RECO_TRAINER_OPTIONS_INIT;
 * to.n_users = 10000; to.total_updates = 20000; to.metrics_csv = "train.csv";
 * reco_explorer_options eo = RECO_EXPLORER_OPTIONS_INIT;
 * reco_trainer *t = NULL;
 * reco_trainer_report report = RECO_TRAINER_REPORT_INIT;
 * if (reco_trainer_create(&t, qnet, replay, &eo, make_env, &app, &to) < 0 ||
 *     reco_trainer_run(&report, t) < 0)
 *     fprintf(stderr, "%s\n", reco_error_message());
 * else
 *     printf("%llu updates, %llu transitions\n", (unsigned long long)report.updates,
 *            (unsigned long long)report.transitions);
 * reco_trainer_free(t);                    // then free the sims, replay and Q-network
 * @endcode
 *
 * @par Thread safety
 * One thread at a time per trainer; reco_trainer_run() starts and joins its generator
 * threads itself. While it runs, the Q-network and the replay buffer belong to the trainer
 * (no other call on them), the environments are used by their generator's thread only, and
 * the progress callback is called on the learner's thread.
 *
 * @par API tier
 * **Core**: stable for the life of libreco.so.0 (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_TRAINER_H
#define RECO_TRAINER_H

#include "reco/common.h"
#include "reco/alloc.h"
#include "reco/env.h"
#include "reco/explorer.h"
#include "reco/qnet.h"
#include "reco/replay.h"

RECO_BEGIN_DECLS

/** Opaque trainer handle. */
typedef struct reco_trainer reco_trainer;

/** Current version of @ref reco_trainer_metrics. */
#define RECO_TRAINER_METRICS_VERSION 1

/**
 * @brief Training metrics over one interval (the columns of the metrics CSV).
 *
 * Means are over the interval since the previous row (updates, inserted transitions or
 * finished sessions); a mean over nothing is 0.
 */
typedef struct reco_trainer_metrics {
    unsigned int version;      /**< @ref RECO_TRAINER_METRICS_VERSION. */
    uint64_t updates;          /**< Updates applied so far. */
    uint64_t transitions;      /**< Transitions inserted into the replay so far. */
    uint64_t sessions;         /**< Sessions finished so far (exit or truncation). */
    double loss;               /**< Mean update loss. */
    double mean_q;             /**< Mean of the updates' mean Q(s, a). */
    double mean_abs_td;        /**< Mean of the updates' mean |TD error|. */
    double sim_return;         /**< Mean return of the sessions finished in the interval. */
    double policy_lag;         /**< Mean snapshot age, in updates, of the inserted transitions. */
    double transitions_per_s;  /**< Inserted transitions per second of wall time. */
    double updates_per_s;      /**< Updates per second of wall time. */
    double elapsed_s;          /**< Wall time since the run started. */
} reco_trainer_metrics;

/**
 * @brief Progress callback, called on the learner's thread after each metrics interval.
 * @param[in] metrics  the interval's metrics (borrowed for the call).
 * @param[in] payload  the options' @c progress_payload.
 * @return 0 to go on; nonzero to stop the run (reco_trainer_run() then returns
 *         @ref RECO_OK with `stopped = 1` in its report).
 */
typedef int (*reco_trainer_progress_fn)(const reco_trainer_metrics *metrics, void *payload);

/**
 * @brief Environment factory: fill @p out with the environment of generator @p generator.
 *
 * Called once per generator by reco_trainer_create(), in generator order. The environment
 * (and whatever its payload points to) stays owned by the caller and must live until
 * reco_trainer_free(); it is used by that generator's thread only. Its catalog, lookback and
 * user features must be the Q-network's, it must give the session context the model reads
 * (see the group page), and it must have at least `sessions_per_generator` slots.
 * @param[out] out        the environment.
 * @param[in]  generator  0..n_generators-1.
 * @param[in]  payload    the @c env_payload given to reco_trainer_create().
 * @return 0 on success; a negative @ref reco_status fails the creation with that status.
 */
typedef int (*reco_trainer_env_fn)(reco_env *out, uint32_t generator, void *payload);

/** Current version of @ref reco_trainer_options (2 added the checkpoint fields). */
#define RECO_TRAINER_OPTIONS_VERSION 2

/** @brief Settings of a trainer (copied at creation; @c metrics_csv is copied too). */
typedef struct reco_trainer_options {
    unsigned int version;             /**< @ref RECO_TRAINER_OPTIONS_VERSION. */
    const reco_allocator *allocator;  /**< NULL: the process default; copied at creation. */
    uint32_t n_generators;            /**< Generator threads, 1..256. Default 1. */
    /** Session slots each generator steps together, 1..the model's max_batch. Default 16. */
    uint32_t sessions_per_generator;
    /** Longest segment added to the replay, in steps, 1..65536. Default 32. */
    uint32_t segment_len;
    /** Updates per inserted transition (after warm-up), (0, 1e6]. Default 0.25. */
    double replay_ratio;
    /** Transitions inserted before learning starts (at least batch_size are waited for in
     *  any case). Default 1000. */
    uint64_t warmup;
    /** Transitions per update B, 1..the model's max_batch. Default 32. */
    uint32_t batch_size;
    /** C, random distinct items shared as the candidates of every s' in an update,
     *  1..min(n_items, the model's max_candidates). Default 64. */
    uint32_t n_candidates;
    /** Publish the online parameters to the generators every this many updates,
     *  1..max_staleness + 1. Default 10. */
    uint32_t snapshot_period;
    /** Largest lag, in updates, of a generator's snapshot when it starts a round of steps.
     *  Default 100. */
    uint32_t max_staleness;
    /** Stop after this many updates; 0: no limit (then @c total_transitions must be set).
     *  Default 10000. */
    uint64_t total_updates;
    /** Stop generating after this many inserted transitions (the learner then makes the
     *  updates the ratio still allows); 0: no limit. Default 0. */
    uint64_t total_transitions;
    /** Users are drawn uniformly from `[0, n_users)`, 1..2^63. Default 1000. */
    uint64_t n_users;
    /** Seed of the users' and the learner's candidate streams (the explorer, the replay
     *  and the environments have their own seeds). Default 1. */
    uint64_t seed;
    /** Updates per metrics row, 1..2^63. Default 100. */
    uint64_t metrics_interval;
    /** Path of a CSV file of metrics (one row per interval and a last row at the end,
     *  header `updates,transitions,loss,mean_q,mean_abs_td,sim_return,policy_lag,`
     *  `transitions_per_s,updates_per_s`); NULL: none. Default NULL. */
    const char *metrics_csv;
    reco_trainer_progress_fn progress; /**< Called after each metrics row; NULL: none. */
    void *progress_payload;            /**< Passed back to @c progress. */
    /** Version 2. Write a checkpoint every this many updates (after the update's metrics
     *  row); 0: never. Needs @c checkpoint_dir and environments with @c save_state and
     *  @c load_state (reco_env version 2). Default 0. */
    uint64_t checkpoint_every;
    /** Version 2. Directory of the checkpoints (created if missing; its parent must exist),
     *  copied at creation; NULL: none. Holds `checkpoint` (the manifest) and the files it
     *  names. Default NULL. */
    const char *checkpoint_dir;
} reco_trainer_options;

/** Initialiser for @ref reco_trainer_options with the defaults of the current version. */
#define RECO_TRAINER_OPTIONS_INIT                                                              \
    { RECO_TRAINER_OPTIONS_VERSION, NULL, 1, 16, 32, 0.25, 1000, 32, 64, 10, 100, 10000, 0,    \
      1000, 1, 100, NULL, NULL, NULL, 0, NULL }

/** Current version of @ref reco_trainer_report. */
#define RECO_TRAINER_REPORT_VERSION 1

/** @brief Outcome of reco_trainer_run(). */
typedef struct reco_trainer_report {
    unsigned int version;          /**< Set to @ref RECO_TRAINER_REPORT_VERSION by the caller. */
    uint64_t updates;              /**< Updates applied. */
    uint64_t transitions;          /**< Transitions inserted into the replay. */
    uint64_t sessions;             /**< Sessions finished. */
    double max_policy_lag;         /**< Largest lag recorded for any inserted transition. */
    double wall_s;                 /**< Wall time of the run, in seconds. */
    int stopped;                   /**< Nonzero if the progress callback stopped the run. */
    reco_trainer_metrics last;     /**< The metrics of the last interval (the last CSV row). */
} reco_trainer_report;

/** Initialiser for a @ref reco_trainer_report of the current version. */
#define RECO_TRAINER_REPORT_INIT                                                               \
    { RECO_TRAINER_REPORT_VERSION, 0, 0, 0, 0.0, 0.0, 0,                                      \
      { RECO_TRAINER_METRICS_VERSION, 0, 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0 } }

/**
 * @brief Fill @p opts with the defaults of options version @p version.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_TRAINER_OPTIONS_VERSION.
 * @return @ref RECO_OK, @ref RECO_EINVAL if @p opts is NULL, @ref RECO_EVERSION otherwise.
 * @since 0.1
 */
RECO_API int reco_trainer_options_init(reco_trainer_options *opts, unsigned int version);

/**
 * @brief Create a trainer: check the options against the Q-network, the replay and the
 *        explorer options, make one environment per generator, and allocate every
 *        generator's snapshot model, workspace, explorer and buffers.
 * @param[out] out          receives the handle; NULL on failure (nothing to free).
 * @param[in]  qnet         the Q-network to train (borrowed until reco_trainer_free()).
 * @param[in]  replay       the replay buffer (borrowed); its lookback must be the model's,
 *                          and it must store the session context the model reads (its
 *                          user_dim and long_len the model's).
 * @param[in]  explorer     explorer options for the generators (copied; @c stream is set
 *                          to the generator index), or NULL for the defaults.
 * @param[in]  make_env     the environment factory (see @ref reco_trainer_env_fn).
 * @param[in]  env_payload  passed to @p make_env.
 * @param[in]  opts         options (copied), or NULL for defaults.
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL arguments, an option out of range — the
 *         message names it — a replay or an environment that does not fit the model: the
 *         message names the mismatch); @ref RECO_EVERSION;
 *         @ref RECO_ENOMEM; or the status @p make_env returned.
 * @since 0.1
 */
RECO_API int reco_trainer_create(reco_trainer **out, reco_qnet *qnet, reco_replay *replay,
                                 const reco_explorer_options *explorer,
                                 reco_trainer_env_fn make_env, void *env_payload,
                                 const reco_trainer_options *opts);

/**
 * @brief Free a trainer (not the Q-network, the replay or the environments). NULL is
 *        accepted.
 * @param[in] trainer  the handle.
 * @since 0.1
 */
RECO_API void reco_trainer_free(reco_trainer *trainer);

/**
 * @brief Load the last checkpoint of a directory into a trainer that has not run yet, so
 *        that reco_trainer_run() continues the checkpointed run.
 *
 * The trainer must have been created like the checkpointed one: same Q-network architecture,
 * replay geometry, generators, sessions per generator, segment length, explorer candidates,
 * and environments of the same geometry with @c load_state. The stop conditions, the
 * metrics CSV, the progress callback and the checkpoint settings may differ (a resumed run is
 * typically given a larger @c total_updates). A checkpoint written before the session
 * context (manifest version 1) resumes a trainer whose model reads no position and whose
 * replay stores no context (@ref RECO_EFORMAT otherwise). The manifest and every file it names are
 * verified (checksums, sizes, geometry) before anything changes; then the Q-network
 * (reco_qnet_load()), the replay buffer (reco_replay_load()), the environments' states, the
 * explorers, the random streams, the sessions in flight, the published snapshot, the counters
 * and the metrics interval are replaced. When reco_trainer_run() then opens the metrics CSV,
 * it cuts the file back to the rows written before the checkpoint and appends (a missing or
 * shorter file is started afresh with a header).
 *
 * **Exactness.** In lock-step (`n_generators = 1`, `max_staleness = 0`) a resumed run is
 * bit-identical to the uninterrupted one: same metrics rows (throughput aside), same
 * parameters. With several generators a checkpoint is still consistent (every generator is
 * paused between rounds, its sessions in flight are saved), but, as in any such run, the
 * continuation depends on thread scheduling. The Q-network's last-good copy
 * (reco_qnet_restore_last_good()) is not saved.
 * @param[in,out] trainer         the trainer (created, not yet run).
 * @param[in]     checkpoint_dir  the directory, or NULL for the options' @c checkpoint_dir.
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL trainer, no directory, an environment without
 *         @c load_state); @ref RECO_ESTATE (the trainer has run); @ref RECO_EIO (a file
 *         cannot be read); @ref RECO_EFORMAT (a damaged, truncated or mismatched manifest or
 *         component, or another geometry: the message names the file and the problem; the
 *         trainer, its Q-network, replay and environments are then unchanged);
 *         @ref RECO_EVERSION; @ref RECO_ENOMEM. Should a component fail to load after an
 *         earlier one was loaded (only possible for an I/O or memory failure, or an
 *         environment whose geometry matched but whose @c load_state refused), the trainer
 *         refuses to run (@ref RECO_ESTATE) and the message says so.
 * @par Thread safety
 * As every trainer call: one thread at a time; not while reco_trainer_run() runs.
 * @since 0.1
 */
RECO_API int reco_trainer_resume(reco_trainer *trainer, const char *checkpoint_dir);

/**
 * @brief Run the training loop until the stop condition, on the calling thread (the
 *        learner) and `n_generators` threads it starts and joins.
 *
 * A trainer runs once; a second call fails with @ref RECO_ESTATE.
 * @param[out]    report_out  the outcome (may be NULL); its @c version must be set.
 * @param[in,out] trainer     the trainer.
 * @return @ref RECO_OK (also when the progress callback stopped the run);
 *         @ref RECO_ESTATE when the Q-network diverged (the message is reco_qnet_update()'s,
 *         containing "diverged:"; the online and target networks are put back to the last
 *         good parameters with reco_qnet_restore_last_good()) or on a second call;
 *         @ref RECO_EIO if the metrics CSV cannot be written; @ref RECO_EINVAL or
 *         @ref RECO_EVERSION for a bad @p report_out; or the error of a failing
 *         environment, replay or model call (the run stops, the report says how far it got).
 * @since 0.1
 */
RECO_API int reco_trainer_run(reco_trainer_report *report_out, reco_trainer *trainer);

RECO_END_DECLS

/** @} */
#endif /* RECO_TRAINER_H */
