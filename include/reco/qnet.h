/**
 * @file qnet.h
 * @brief The Q-network: online and target @ref reco_model, warm start, Double DQN updates.
 * @defgroup reco_qnet Q-network
 * @ingroup reco_core
 *
 * A @ref reco_qnet owns two models of one architecture: the **online** network, trained by
 * reco_qnet_update() through its Q head (head `n_signals + 1`), and the **target** network,
 * which only evaluates bootstrap values and follows the online one by a hard copy every
 * `target_period` updates or by Polyak averaging after every update (see `docs/qnet.md`).
 *
 * - reco_qnet_create(): both networks from fresh (random) parameters;
 * - reco_qnet_create_warm(): both networks copied from a trained feedback model, with the Q
 *   head set to the reward-weighted sum of the signal heads (in logit space).
 *
 * One update on a batch of B transitions (s, a, r, s', done), with candidate items for s':
 *
 *     a*_b = argmax_c Q_online(s'_b, c)            over the candidates of s'_b
 *     y_b  = r_b + gamma (1 - [done_b = RECO_ENV_EXIT]) Q_target(s'_b, a*_b)
 *     loss = sum_b w_b Huber_delta(Q_online(s_b, a_b) - y_b) / B
 *
 * With a `conservative_alpha` alpha > 0 (options version 2), the loss gains a CQL-style
 * penalty (Kumar et al. 2020, "Conservative Q-Learning for Offline Reinforcement Learning",
 * the CQL(H) form) over the same rows and weights:
 *
 *     pen_b = log( exp Q_online(s_b, a_b) + sum_c exp Q_online(s_b, c) ) - Q_online(s_b, a_b)
 *     loss += alpha * sum_b w_b pen_b / B
 *
 * where a_b is the batch's action (the data action) and c runs over the batch's candidates
 * (row b's, or the shared list; a candidate equal to a_b counts again). It pushes down the Q
 * of the candidates relative to the data action: an item the data never chose, whatever its
 * Q, is pulled toward the taken ones. With candidates drawn uniformly from the catalog (as
 * the trainer draws them) the sum estimates CQL's log-sum-exp over every item up to a
 * constant. pen_b >= 0, and alpha 0 gives exactly the update above.
 *
 * then one Adam step of the online network; the new priorities are |Q_online(s_b, a_b) - y_b|
 * (+ `priority_eps`). A **divergence guard** refuses an update whose Q values or loss pass the
 * configured thresholds, or whose gradient is not finite: the call returns @ref RECO_ESTATE
 * with a message containing "diverged:" and leaves both networks as they were.
 *
 * @code
 * reco_qnet_options o = RECO_QNET_OPTIONS_INIT;
 * o.gamma = 0.95f;
 * reco_qnet *q = NULL;
 * if (reco_qnet_create_warm(&q, feedback_model, reward_weights, &o) < 0) {
 *     fprintf(stderr, "%s\n", reco_error_message());
 *     return 1;
 * }
 * // B transitions from the replay (reco_replay_sample()), C candidates shared by every s'
 * reco_qnet_batch b = RECO_QNET_BATCH_INIT;
 * b.size = B; b.state_items = s_items; b.state_feedback = s_fb; b.actions = act;
 * b.rewards = rew; b.next_items = n_items; b.next_feedback = n_fb; b.done = done;
 * b.weights = w; b.n_candidates = C; b.candidates = cand; b.shared_candidates = 1;
 * reco_qnet_update_info info = RECO_QNET_UPDATE_INFO_INIT;
 * float td[B];                                     // the new priorities, (B)
 * int rc = reco_qnet_update(&info, td, q, &b);
 * if (rc == RECO_ESTATE)                           // "diverged: ...": nothing was changed;
 *     reco_qnet_set_param(q, RECO_QNET_PARAM_LR, 1e-4);   // e.g. lower the learning rate
 * else if (rc < 0)
 *     fprintf(stderr, "%s\n", reco_error_message());
 * const reco_model *policy = reco_qnet_online(q);  // score with the Q head
 * reco_qnet_free(q);
 * @endcode
 *
 * @par Thread safety
 * One thread at a time per handle (updates use the online model's own workspace). While no
 * update runs, the models returned by reco_qnet_online() and reco_qnet_target() may be read
 * concurrently under the rules of @ref reco_model (each thread its own @ref reco_workspace).
 *
 * @par API tier
 * **Core**: stable for the life of libreco.so.0 (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_QNET_H
#define RECO_QNET_H

#include "reco/common.h"
#include "reco/alloc.h"
#include "reco/model.h"

RECO_BEGIN_DECLS

/** Opaque Q-network handle. */
typedef struct reco_qnet reco_qnet;

/** Current version of @ref reco_qnet_options (2 added the conservative penalty). */
#define RECO_QNET_OPTIONS_VERSION 2

/**
 * @brief Learning settings of a Q-network.
 *
 * The architecture, capacity (max_batch, max_candidates) and optimiser of the two networks
 * come from @c model; see reco_qnet_create_warm() for what it takes from a feedback model.
 */
typedef struct reco_qnet_options {
    unsigned int version;             /**< @ref RECO_QNET_OPTIONS_VERSION. */
    /** Allocator of the handle and of both models (it replaces @c model->allocator); NULL:
     *  the process default. Copied at creation. */
    const reco_allocator *allocator;
    /** Options of the two networks (read at creation only); NULL: the model defaults. */
    const reco_model_options *model;
    /** Discount gamma, [0, 1]. Default 0.99: the objective is the undiscounted return of a
     *  session, and sessions last tens of steps, where 0.99 discounts little. */
    float gamma;
    /** Huber threshold of the TD loss, (0, inf). Default 1. */
    float huber_delta;
    /** Hard sync: copy the online parameters into the target every this many updates
     *  (used when @c tau is 0), 1..2^32-1. Default 500. */
    uint32_t target_period;
    /** Polyak rate: if positive, `target = (1 - tau) target + tau online` after every
     *  update, and @c target_period is ignored; [0, 1]. Default 0 (hard sync). */
    float tau;
    /** Added to every |TD error| written as a new priority, [0, inf). Default 0 (a
     *  @ref reco_replay adds its own `priority_eps`). */
    float priority_eps;
    /** Divergence guard: an update whose online Q(s, a), online Q(s', c) or target
     *  Q(s', a*) has a magnitude above this fails, (0, inf]. Default 1e4. */
    float max_abs_q;
    /** Divergence guard: an update whose loss is above this fails, (0, inf]. Default 1e4. */
    float max_loss;
    /** Nonzero: keep a copy of the online parameters from before the last applied step,
     *  for reco_qnet_restore_last_good() (one more parameter block of memory, one copy per
     *  update). Default 1. */
    int keep_last_good;
    /* ---- version 2 (0.2) ---- */
    /** alpha, the weight of the conservative (CQL) penalty of the group page, finite, >= 0.
     *  Its gradient costs one more score and backward per candidate and row. Default 0 (plain
     *  Double DQN). @since 0.2 */
    float conservative_alpha;
} reco_qnet_options;

/** Initialiser for @ref reco_qnet_options with the defaults of the current version. */
#define RECO_QNET_OPTIONS_INIT \
    { RECO_QNET_OPTIONS_VERSION, NULL, NULL, 0.99f, 1.0f, 500, 0.0f, 0.0f, 1e4f, 1e4f, 1, \
      0.0f }

/** Current version of @ref reco_qnet_batch (2 added the session context). */
#define RECO_QNET_BATCH_VERSION 2

/**
 * @brief A batch of transitions and the candidates of their next states, borrowed for one
 *        call.
 *
 * The windows have the layout of @ref reco_batch (and of @ref reco_replay_batch, whose
 * outputs can be passed as they are): (B, L) row-major, newest last, @ref RECO_PAD in empty
 * slots. A Q-network whose model takes the session context (options version 2:
 * `position`, `elapsed`, `long_len`) needs a version-2 batch with the corresponding
 * arrays; reco_qnet_update() passes them to the online and target networks as the
 * @ref reco_batch version-2 context of s and of s'.
 */
typedef struct reco_qnet_batch {
    unsigned int version;             /**< @ref RECO_QNET_BATCH_VERSION. */
    uint32_t size;                    /**< B, 1..max_batch of the model. */
    const int32_t *state_items;       /**< (B, L) item ids of s. */
    const uint32_t *state_feedback;   /**< (B, L) feedback bits of s. */
    const int32_t *actions;           /**< (B) item shown at s, in [0, n_items). */
    const float *rewards;             /**< (B) finite rewards. */
    const int32_t *next_items;        /**< (B, L) item ids of s'. */
    const uint32_t *next_feedback;    /**< (B, L) feedback bits of s'. */
    /** (B) how the transition ended: @ref RECO_ENV_CONTINUE (0), @ref RECO_ENV_EXIT (1,
     *  terminal: no bootstrap) or @ref RECO_ENV_TRUNCATED (2, not terminal: bootstrap). */
    const uint8_t *done;
    const float *weights;             /**< (B) finite importance weights >= 0, or NULL for 1. */
    const float *state_user_features; /**< (B, user_dim) of s; NULL when user_dim is 0. */
    const float *next_user_features;  /**< (B, user_dim) of s'; NULL when user_dim is 0. */
    uint32_t n_candidates;            /**< C, candidates of s', 1..max_candidates. */
    const int32_t *candidates;        /**< (C) if @c shared_candidates, else (B, C). */
    int shared_candidates;            /**< Nonzero: one candidate list for all rows. */
    /* ---- version 2 (0.2): the session context (@ref reco_replay_batch version 2 gives it) */
    /** (B) steps of the session before s. Needed by a model with @c position; else ignored
     *  and may be NULL. @since 0.2 */
    const uint32_t *state_steps;
    /** (B) steps before s' (`state_steps + 1` within a session). Needed with @c position.
     *  @since 0.2 */
    const uint32_t *next_steps;
    /** (B) seconds since the session began, at s; finite, >= 0. Needed by a model with
     *  @c elapsed. @since 0.2 */
    const float *state_elapsed;
    /** (B) the same at s'. Needed with @c elapsed. @since 0.2 */
    const float *next_elapsed;
    /** (B, long_len) the long-term history of s and of s' (the same session: shared).
     *  Needed by a model with @c long_len > 0. @since 0.2 */
    const int32_t *long_items;
    /** (B, long_len) its feedback bits. @since 0.2 */
    const uint32_t *long_feedback;
} reco_qnet_batch;

/** Initialiser for an empty @ref reco_qnet_batch of the current version. */
#define RECO_QNET_BATCH_INIT \
    { RECO_QNET_BATCH_VERSION, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
      0, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL }

/** Current version of @ref reco_qnet_update_info. */
#define RECO_QNET_UPDATE_INFO_VERSION 1

/** @brief Statistics of one update (reco_qnet_update()). */
typedef struct reco_qnet_update_info {
    unsigned int version;   /**< Set to @ref RECO_QNET_UPDATE_INFO_VERSION by the caller. */
    double loss;            /**< The weighted Huber loss, plus the conservative penalty
                                 (alpha sum_b w_b pen_b) when alpha > 0, divided by B. */
    double mean_q;          /**< Mean of the online Q(s_b, a_b) before the step. */
    double mean_target;     /**< Mean of the targets y_b. */
    double mean_abs_td;     /**< Mean of |Q(s_b, a_b) - y_b| (without priority_eps). */
    double max_abs_q;       /**< Largest |Q| the guard saw (online and target values). */
    double grad_norm;       /**< Global gradient norm before clipping (0 if not stepped). */
    uint64_t n_updates;     /**< Updates applied so far, this one included. */
    int target_synced;      /**< Nonzero if the target was hard-synced after this update. */
} reco_qnet_update_info;

/** Initialiser for a @ref reco_qnet_update_info of the current version. */
#define RECO_QNET_UPDATE_INFO_INIT \
    { RECO_QNET_UPDATE_INFO_VERSION, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0 }

/** Run-time knobs for reco_qnet_set_param(). Values never change. */
typedef enum reco_qnet_param {
    RECO_QNET_PARAM_GAMMA = 1,       /**< Discount, [0, 1]. */
    RECO_QNET_PARAM_LR = 2,          /**< Learning rate of the online model. */
    RECO_QNET_PARAM_TAU = 3,         /**< Polyak rate, [0, 1] (0: hard sync). */
    RECO_QNET_PARAM_HUBER_DELTA = 4  /**< Huber threshold. */
} reco_qnet_param;

/**
 * @brief Fill @p opts with the defaults of options version @p version.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_QNET_OPTIONS_VERSION.
 * @return @ref RECO_OK, @ref RECO_EINVAL if @p opts is NULL, @ref RECO_EVERSION otherwise.
 * @since 0.1
 */
RECO_API int reco_qnet_options_init(reco_qnet_options *opts, unsigned int version);

/**
 * @brief Create a Q-network with freshly initialised parameters (random init).
 *
 * Both networks are created from `opts->model` (its seed decides the initialisation) and the
 * target starts as an exact copy of the online network.
 * @param[out] out   receives the handle; NULL on failure (nothing to free).
 * @param[in]  opts  options (copied), or NULL for defaults.
 * @return @ref RECO_OK; @ref RECO_EINVAL (the message names the option); @ref RECO_EVERSION;
 *         @ref RECO_ENOMEM.
 * @since 0.1
 */
RECO_API int reco_qnet_create(reco_qnet **out, const reco_qnet_options *opts);

/**
 * @brief Create a Q-network warm-started from a trained feedback model.
 *
 * Both networks get every parameter of @p feedback (encoder, item embeddings, signal and exit
 * heads, item biases), so their user vectors are bit-identical to the feedback model's. The
 * Q head is then set to the reward-weighted sum of the signal heads, `W_Q = sum_f w_f W_f`
 * and `b_{Q,i} = sum_f w_f b_{f,i}`, so that `Q(s, i) = sum_f w_f logit_f(s, i)`: it ranks
 * items like the reward-weighted logits, but its scale is not the expected reward (see
 * `docs/qnet.md`). The optimiser starts fresh (zero moments, step 0).
 *
 * The architecture comes from @p feedback. If `opts->model` is not NULL, its capacity and
 * optimiser fields (max_batch, max_candidates, threads, deterministic, lr, beta1, beta2,
 * adam_eps, weight_decay, clip_norm) replace the feedback model's; its other fields are ignored.
 * @param[out] out             receives the handle; NULL on failure (nothing to free).
 * @param[in]  feedback        the trained model (borrowed for the call; not modified).
 * @param[in]  reward_weights  (n_signals) finite weight w_f of each feedback signal.
 * @param[in]  opts            options (copied), or NULL for defaults.
 * @return as reco_qnet_create().
 * @since 0.1
 */
RECO_API int reco_qnet_create_warm(reco_qnet **out, const reco_model *feedback,
                                   const float *reward_weights, const reco_qnet_options *opts);

/**
 * @brief Free a Q-network and its two models. NULL is accepted.
 * @param[in] q  the handle; any later use (also of models borrowed from it) is undefined.
 * @since 0.1
 */
RECO_API void reco_qnet_free(reco_qnet *q);

/**
 * @brief One Double DQN update of the online network on a batch (see the group page).
 *
 * Nothing is allocated. On any error both networks, the optimiser state, the update count
 * and @p priorities_out are left as they were.
 * @param[out]    info_out        statistics (may be NULL); its @c version must be set.
 * @param[out]    priorities_out  (B) new priorities |TD error| + priority_eps (may be NULL).
 * @param[in,out] q               the Q-network.
 * @param[in]     batch           the transitions and the candidates of their next states.
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULLs, sizes over the model's maxima, ids out of
 *         range, a done value other than 0, 1 or 2, non-finite rewards, NaN or negative
 *         weights, a version-1 batch for a model that takes the session context, or a
 *         version-2 batch without the context arrays the model needs (the message names
 *         them); @ref RECO_EVERSION; @ref RECO_ESTATE when the divergence guard fires (the
 *         message contains "diverged:" and names the quantity and its threshold).
 * @since 0.1
 */
RECO_API int reco_qnet_update(reco_qnet_update_info *info_out, float *priorities_out,
                              reco_qnet *q, const reco_qnet_batch *batch);

/**
 * @brief Copy the online parameters into the target now.
 * @param[in,out] q  the Q-network.
 * @return @ref RECO_OK or @ref RECO_EINVAL.
 * @since 0.1
 */
RECO_API int reco_qnet_sync_target(reco_qnet *q);

/**
 * @brief Put back the online parameters from before the last applied step (into both the
 *        online and the target network).
 *
 * Meant for after a divergence: the step that produced the bad parameters is undone. The
 * optimiser moments are not rolled back, so lower the learning rate before going on.
 * @param[in,out] q  the Q-network.
 * @return @ref RECO_OK; @ref RECO_EINVAL; @ref RECO_ESTATE if `keep_last_good` is off or no
 *         update was applied yet.
 * @since 0.1
 */
RECO_API int reco_qnet_restore_last_good(reco_qnet *q);

/**
 * @brief The online network, for scoring with the Q head and for checkpoints.
 * @param[in] q  the Q-network (not NULL).
 * @return a model borrowed from @p q, valid until reco_qnet_free().
 * @since 0.1
 */
RECO_API const reco_model *reco_qnet_online(const reco_qnet *q);

/**
 * @brief The target network.
 * @param[in] q  the Q-network (not NULL).
 * @return a model borrowed from @p q, valid until reco_qnet_free().
 * @since 0.1
 */
RECO_API const reco_model *reco_qnet_target(const reco_qnet *q);

/**
 * @brief Index of the Q head (n_signals + 1).
 * @param[in] q  the Q-network (not NULL).
 * @return the head index to pass to reco_model_score().
 * @since 0.1
 */
RECO_API uint32_t reco_qnet_q_head(const reco_qnet *q);

/**
 * @brief Number of updates applied (failed updates do not count).
 * @param[in] q  the Q-network (not NULL).
 * @return the count.
 * @since 0.1
 */
RECO_API uint64_t reco_qnet_n_updates(const reco_qnet *q);

/**
 * @brief Set a run-time knob.
 * @param[in,out] q      the Q-network.
 * @param[in]     param  which knob.
 * @param[in]     value  new value, within reco_qnet_param_bounds().
 * @return @ref RECO_OK, or @ref RECO_EINVAL (unknown knob, NaN or out of bounds).
 * @since 0.1
 */
RECO_API int reco_qnet_set_param(reco_qnet *q, reco_qnet_param param, double value);

/**
 * @brief Read a run-time knob.
 * @param[out] out    the value.
 * @param[in]  q      the Q-network.
 * @param[in]  param  which knob.
 * @return @ref RECO_OK or @ref RECO_EINVAL.
 * @since 0.1
 */
RECO_API int reco_qnet_get_param(double *out, const reco_qnet *q, reco_qnet_param param);

/**
 * @brief Accepted range of a run-time knob.
 * @param[out] min_out  the smallest value.
 * @param[out] max_out  the largest value.
 * @param[in]  param    which knob.
 * @return @ref RECO_OK or @ref RECO_EINVAL.
 * @since 0.1
 */
RECO_API int reco_qnet_param_bounds(double *min_out, double *max_out, reco_qnet_param param);

/**
 * @brief Save the whole Q-learner to @p path (a checkpoint; format in `docs/qnet.md`).
 *
 * The file holds the architecture, the capacity (max_batch, max_candidates, threads), the
 * online and target parameters, the online optimiser state (Adam moments, step, per-item row
 * steps, the optimiser settings including the current learning rate), the update count and
 * the Q-learning options (gamma, huber_delta, target_period, tau, priority_eps, max_abs_q,
 * max_loss, keep_last_good, conservative_alpha). The last-good copy of reco_qnet_restore_last_good() is not
 * saved. The file is written to a temporary file next to @p path and renamed over it, so
 * @p path holds either its old content or the complete checkpoint.
 * @param[in] q     the Q-network.
 * @param[in] path  the file to write.
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULLs; @ref RECO_ENOMEM; @ref RECO_EIO.
 * @since 0.1
 */
RECO_API int reco_qnet_save(const reco_qnet *q, const char *path);

/**
 * @brief Load a checkpoint written by reco_qnet_save() into an existing Q-network of the
 *        same architecture.
 *
 * Everything reco_qnet_save() stores replaces the handle's state, except the capacity and
 * @c keep_last_good, which stay the handle's; the last-good copy is dropped (until the next
 * update). An update after the load continues bit-exactly where the saved handle would have.
 *
 * The whole file is validated before anything changes (container checksums, section types and
 * sizes, the architecture, the stored options), and the bulk data is read into scratch memory
 * (about four parameter blocks) first: on any error @p q is left exactly as it was.
 * @param[in,out] q     the Q-network.
 * @param[in]     path  the checkpoint.
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULLs; @ref RECO_EIO (cannot read);
 *         @ref RECO_EFORMAT (not a Q-network checkpoint, truncated, corrupted, another
 *         architecture: the message names the file and what is wrong); @ref RECO_EVERSION (an
 *         intact file of another format version); @ref RECO_ENOMEM.
 * @since 0.1
 */
RECO_API int reco_qnet_load(reco_qnet *q, const char *path);

/**
 * @brief Create a Q-network from a checkpoint written by reco_qnet_save().
 *
 * The architecture, optimiser settings and Q-learning options come from the file. From
 * @p runtime only the allocator and, when `runtime->model` is not NULL, its max_batch,
 * max_candidates and threads are used (otherwise the stored capacity); its other fields are
 * ignored.
 * @param[out] out      receives the handle; NULL on failure (nothing to free).
 * @param[in]  path     the checkpoint.
 * @param[in]  runtime  run-time settings, or NULL.
 * @return as reco_qnet_load(), plus @ref RECO_EVERSION for a bad options version and
 *         @ref RECO_EINVAL for an invalid run-time capacity.
 * @since 0.1
 */
RECO_API int reco_qnet_open(reco_qnet **out, const char *path, const reco_qnet_options *runtime);

RECO_END_DECLS

/** @} */
#endif /* RECO_QNET_H */
