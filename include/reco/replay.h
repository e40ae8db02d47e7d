/**
 * @file replay.h
 * @brief Prioritized and uniform experience replay over compactly stored session windows.
 * @defgroup reco_replay Replay buffer
 * @ingroup reco_core
 *
 * A @ref reco_replay holds up to `capacity` transitions (s, a, r, s', done) for the learner
 * and hands them out in the layout of a @ref reco_batch. Two kinds share one handle:
 *
 * - @ref RECO_REPLAY_PROPORTIONAL — proportional prioritized replay (Schaul et al. 2016):
 *   transition i is drawn with probability `P(i) = p_i^alpha / sum_k p_k^alpha`, where
 *   `p_i = priority_i + priority_eps` and `priority_i` is what the learner last reported for
 *   it (new transitions get the largest `priority + priority_eps` reported so far, initially
 *   `initial_priority`). A batch of B is stratified: the total mass is cut into B equal
 *   segments and one draw is made in each. Each draw carries the importance-sampling weight
 *   `w_i = (N P(i))^-beta / max_k (N P(k))^-beta = (p_min^alpha / p_i^alpha)^beta`, normalised
 *   by the largest weight any stored transition could get (the one of the smallest stored
 *   priority, kept in a min-tree), so weights lie in (0, 1] and do not depend on which batch
 *   was drawn. `beta` moves linearly from `beta0` to `beta_final` over `beta_steps` calls of
 *   reco_replay_sample().
 * - @ref RECO_REPLAY_UNIFORM — every stored transition equally likely (independent draws with
 *   replacement); weights are 1 and priority updates are validated but not stored.
 *
 * **Storage.** States are windows of the last L interactions (item id + feedback bits) of a
 * session, so consecutive transitions share all but one interaction. A generator adds a
 * *segment* of a session at once with reco_replay_add_segment(): up to L interactions of
 * history, then n steps (item shown, its feedback bits, reward), and whether the segment
 * ends the session. The buffer stores each interaction once (6 bytes) in a ring of records,
 * and rebuilds both windows of a transition when it is sampled. Transition j of a segment
 * (0-based) has state = the L interactions before step j (history included), action =
 * item j, reward j, next state = the L interactions up to and including step j, and done =
 * (j is the last step and the segment ends the session). Windows never reach before their
 * segment's history: a long session is added as several segments, each carrying the last L
 * interactions before it as history. When the buffer is full, whole segments are evicted,
 * oldest first, so no stored window ever refers to an overwritten interaction. The memory
 * and its bytes per transition are in `docs/replay.md` (about 27 bytes per transition at
 * the defaults, L = 20, sum-tree included) and reported by reco_replay_get_stats().
 *
 * **Session context** (options version 2, `context`, `user_dim`, `long_len`). A model may
 * also read the position in the session, the elapsed seconds and, constant within a
 * session, the user features and the long-term history (@ref reco_batch version 2). A
 * buffer with a context stores, once per segment (version-2 @ref reco_replay_segment), the
 * user features (U floats), the long-term history (H items and feedback), `first_step`
 * (steps of the session before the segment) and the elapsed seconds after its last step,
 * and per transition the elapsed seconds at its state; a sample (version-2
 * @ref reco_replay_batch) returns for transition j of a segment: steps `first_step + j` at
 * s and `first_step + j + 1` at s', the elapsed seconds at s and s', and the segment's user
 * features and long-term history (the same for s and s'). Segment contexts live in a ring
 * of `segment_capacity` entries and are evicted with their segments. Cost at the defaults:
 * 8 bytes per transition plus `(16 + 4 U + 6 H) / 8` bytes per transition for the ring
 * (`docs/replay.md`). A buffer without a context (options version 1, or `context`,
 * `user_dim` and `long_len` all 0) stores none and costs nothing more.
 *
 * **Indices.** Each added transition gets the next 64-bit index (0, 1, 2, ... over the
 * handle's life, never reused, not even after reco_replay_reset()). reco_replay_sample()
 * returns them, and reco_replay_update_priorities() takes them back: an index whose
 * transition has been evicted meanwhile is recognised and skipped.
 *
 * @code
 * reco_replay_options o = RECO_REPLAY_OPTIONS_INIT;
 * o.capacity = 1000000; o.lookback = 20;
 * reco_replay *rb = NULL;
 * if (reco_replay_create(&rb, &o) < 0) { fprintf(stderr, "%s\n", reco_error_message()); return 1; }
 *
 * // generator: one segment of a session (history of h interactions, then n steps)
 * reco_replay_segment seg = RECO_REPLAY_SEGMENT_INIT;
 * seg.history_len = h; seg.history_items = hist_items; seg.history_feedback = hist_fb;
 * seg.n_steps = n; seg.items = items; seg.feedback = fb; seg.rewards = rewards;
 * seg.ends_session = user_exited;
 * reco_replay_add_segment(NULL, rb, &seg);
 *
 * // learner: caller-owned buffers of B rows, reused every step
 * reco_replay_batch b = RECO_REPLAY_BATCH_INIT;
 * b.indices = idx; b.state_items = s_items; b.state_feedback = s_fb; b.actions = act;
 * b.rewards = rew; b.next_items = n_items; b.next_feedback = n_fb; b.done = done;
 * b.weights = w;
 * if (reco_replay_sample(&b, rb, B) == RECO_OK) {
 *     // ... Double DQN update weighted by w, giving |TD error| per row in td ...
 *     reco_replay_update_priorities(NULL, rb, idx, td, B);
 * }
 * reco_replay_save(rb, "replay.reco");
 * reco_replay_free(rb);
 * @endcode
 *
 * @par Thread safety
 * Every function except reco_replay_free() may be called concurrently on one handle from
 * any number of threads: an internal mutex serialises them. The intended use is several
 * generator threads calling reco_replay_add_segment() while a learner thread calls
 * reco_replay_sample() and reco_replay_update_priorities(). Each call holds the mutex for
 * its whole duration (an add copies its segment, a sample of 256 rebuilds 512 windows: tens
 * of microseconds), except reco_replay_save(), which holds it while the file is written,
 * and reco_replay_load(), which reads and checks the file before taking it. Argument checks
 * that need no buffer state run before the mutex is taken.
 * Determinism: the same sequence of calls on one thread gives the same samples; with several
 * adder threads the contents depend on how their calls interleave, so samples do too.
 *
 * @par API tier
 * **Core**: stable for the life of libreco.so.0 (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_REPLAY_H
#define RECO_REPLAY_H

#include "reco/common.h"
#include "reco/alloc.h"
#include "reco/model.h"

RECO_BEGIN_DECLS

/** Opaque replay buffer handle. */
typedef struct reco_replay reco_replay;

/** Sampling rule of a buffer. Values never change. */
typedef enum reco_replay_kind {
    RECO_REPLAY_UNIFORM = 1,     /**< Every stored transition equally likely. */
    RECO_REPLAY_PROPORTIONAL = 2 /**< Proportional prioritization on a sum-tree. */
} reco_replay_kind;

/** Current version of @ref reco_replay_options (2 added the session context). */
#define RECO_REPLAY_OPTIONS_VERSION 2

/**
 * @brief Capacity, sampling rule and schedule of a replay buffer.
 *
 * All memory is allocated at creation (see reco_replay_memory_size()); adding, sampling and
 * updating never allocate.
 */
typedef struct reco_replay_options {
    unsigned int version;            /**< @ref RECO_REPLAY_OPTIONS_VERSION. */
    const reco_allocator *allocator; /**< NULL: the process default; copied at creation. */
    uint64_t capacity;        /**< Most transitions held, 1..2^31. Default 1000000. */
    /** Interaction records in the ring, each 6 bytes: the steps of the stored segments plus
     *  their history. 0 means 2 * capacity, which holds `capacity` transitions as long as
     *  segments carry no more history than steps. capacity..2^32-1. Default 0. */
    uint64_t record_capacity;
    uint32_t lookback;        /**< Window length L, 1..512. Default 20. */
    uint32_t kind;            /**< A @ref reco_replay_kind. Default proportional. */
    uint64_t seed;            /**< Seed of the sampling generator. Default 1. */
    float alpha;              /**< Prioritization exponent, [0, 1]. Default 0.6. */
    float beta0;              /**< IS exponent at sampling step 0, [0, 1]. Default 0.4. */
    float beta_final;         /**< IS exponent after the schedule, [0, 1]. Default 1. */
    /** Sampling steps over which beta moves linearly from beta0 to beta_final; 0 means
     *  beta_final from the start. 0..2^53. Default 100000. */
    uint64_t beta_steps;
    float priority_eps;       /**< Added to every reported priority, [0, 1e6]. Default 1e-6. */
    /** Priority of the first transitions, before any is reported, (0, 1e30]. Default 1. */
    float initial_priority;
    /* ---- version 2 (0.2): the session context (see "Session context" above) ---- */
    /** Nonzero: store the session context of every segment (the steps of the session before
     *  it, the elapsed seconds at each step and after the last, the user features and the
     *  long-term history) and return it from reco_replay_sample(). Implied by a positive
     *  @c user_dim or @c long_len. Default 0. @since 0.2 */
    int context;
    /** U, user features per segment (constant within a session: stored once per segment),
     *  0..65536. Default 0. @since 0.2 */
    uint32_t user_dim;
    /** H, interactions of the long-term history per segment (the user's last H interactions
     *  before the session; stored once per segment), 0..4096. Default 0. @since 0.2 */
    uint32_t long_len;
    /** Segment contexts held, in a ring of their own (a segment's context is evicted with
     *  it); 0 means `ceil(capacity / 8)`, which holds `capacity` transitions as long as
     *  segments average 8 steps or more. 0..capacity; ignored without a context.
     *  Default 0. @since 0.2 */
    uint64_t segment_capacity;
} reco_replay_options;

/** Initialiser for @ref reco_replay_options with the defaults of the current version. */
#define RECO_REPLAY_OPTIONS_INIT                                                               \
    { RECO_REPLAY_OPTIONS_VERSION, NULL, 1000000, 0, 20, RECO_REPLAY_PROPORTIONAL, 1, 0.6f,   \
      0.4f, 1.0f, 100000, 1e-6f, 1.0f, 0, 0, 0, 0 }

/** Current version of @ref reco_replay_segment (2 added the session context). */
#define RECO_REPLAY_SEGMENT_VERSION 2

/**
 * @brief A piece of one session, borrowed for one reco_replay_add_segment() call.
 *
 * Item ids are `>= 0`, or @ref RECO_PAD in history slots; feedback values use bits
 * 0..15 (at most 16 signals) and are stored as 0 on a padded history slot.
 */
typedef struct reco_replay_segment {
    unsigned int version;              /**< @ref RECO_REPLAY_SEGMENT_VERSION. */
    uint32_t history_len;              /**< h, interactions before step 0, 0..lookback. */
    /** (h) item ids of the history, newest last (leading pads are not stored). NULL if h = 0. */
    const int32_t *history_items;
    const uint32_t *history_feedback;  /**< (h) their feedback bits. NULL if h = 0. */
    uint32_t n_steps;                  /**< n, steps (transitions), >= 1. */
    const int32_t *items;              /**< (n) the item shown (the action) at each step. */
    const uint32_t *feedback;          /**< (n) the feedback bits observed at each step. */
    const float *rewards;              /**< (n) finite rewards (may be negative). */
    int ends_session;                  /**< Nonzero: the last step is terminal (done = 1). */
    /** (n) finite priorities >= 0 for the new transitions, or NULL for the current maximum
     *  priority (the usual choice). Ignored by the uniform kind. */
    const float *priorities;
    /* ---- version 2 (0.2): the session context, stored by a buffer with a context (and
     *      ignored by one without); a version-1 segment has first_step 0, elapsed 0, zero
     *      user features and an all-pad long-term history ---- */
    /** Steps of the session taken before step 0 (state j has `first_step + j` steps);
     *  `first_step + n` must fit in 32 bits. @since 0.2 */
    uint32_t first_step;
    /** (n + 1) seconds since the session began: `[j]` at the state before step j, `[n]`
     *  after the last step (the last next state's); finite, >= 0. NULL: all 0. @since 0.2 */
    const float *elapsed;
    /** Length of @c user_features: the buffer's user_dim. @since 0.2 */
    uint32_t user_dim;
    /** (user_dim) finite user features of the session; NULL if user_dim is 0. @since 0.2 */
    const float *user_features;
    /** Length of the long-term history: the buffer's long_len. @since 0.2 */
    uint32_t long_len;
    /** (long_len) the user's interactions before the session, newest last, @ref RECO_PAD
     *  (feedback stored as 0) for none; NULL if long_len is 0. @since 0.2 */
    const int32_t *long_items;
    /** (long_len) their feedback bits, < 2^16. @since 0.2 */
    const uint32_t *long_feedback;
} reco_replay_segment;

/** Initialiser for an empty @ref reco_replay_segment of the current version. */
#define RECO_REPLAY_SEGMENT_INIT                                                               \
    { RECO_REPLAY_SEGMENT_VERSION, 0, NULL, NULL, 0, NULL, NULL, NULL, 0, NULL, 0, NULL, 0,   \
      NULL, 0, NULL, NULL }

/** Current version of @ref reco_replay_batch (2 added the session context). */
#define RECO_REPLAY_BATCH_VERSION 2

/**
 * @brief Caller-owned output buffers of reco_replay_sample(), for B rows.
 *
 * Every array pointer may be NULL, and that output is then not produced. Windows are
 * (B, L) row-major, newest interaction last, with empty slots item @ref RECO_PAD and
 * feedback 0 — the layout of @ref reco_batch's `items` and `feedback`, so `state_items` and
 * `state_feedback` can be passed to the model as they are.
 */
typedef struct reco_replay_batch {
    unsigned int version;     /**< @ref RECO_REPLAY_BATCH_VERSION. */
    uint64_t *indices;        /**< (B) indices, for reco_replay_update_priorities(). */
    int32_t *state_items;     /**< (B, L) item ids of the state window. */
    uint32_t *state_feedback; /**< (B, L) feedback bits of the state window. */
    int32_t *actions;         /**< (B) the item shown. */
    float *rewards;           /**< (B) rewards. */
    int32_t *next_items;      /**< (B, L) the next-state window: the state shifted by one
                                   with the action and its feedback appended. */
    uint32_t *next_feedback;  /**< (B, L) feedback bits of the next-state window. */
    uint8_t *done;            /**< (B) 1 if the session ended at this step, else 0. */
    float *weights;           /**< (B) importance-sampling weights in (0, 1]; 1 if uniform. */
    float *probabilities;     /**< (B) the probability P(i) with which each row was drawn. */
    /* ---- version 2 (0.2): the session context, in the layout of @ref reco_batch version 2
     *      (a buffer without a context writes steps and elapsed times 0) ---- */
    /** (B, user_dim) user features of s and s' (one session: the same). @since 0.2 */
    float *user_features;
    uint32_t *state_steps;    /**< (B) steps of the session before s (`first_step + j`). @since 0.2 */
    uint32_t *next_steps;     /**< (B) steps before s' (`state_steps + 1`). @since 0.2 */
    float *state_elapsed;     /**< (B) seconds since the session began, at s. @since 0.2 */
    float *next_elapsed;      /**< (B) the same at s'. @since 0.2 */
    /** (B, long_len) the long-term history of s and s' (one session: the same). @since 0.2 */
    int32_t *long_items;
    uint32_t *long_feedback;  /**< (B, long_len) its feedback bits. @since 0.2 */
} reco_replay_batch;

/** Initialiser for a @ref reco_replay_batch of the current version with no outputs. */
#define RECO_REPLAY_BATCH_INIT                                                                 \
    { RECO_REPLAY_BATCH_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,  \
      NULL, NULL, NULL, NULL, NULL, NULL, NULL }

/** Current version of @ref reco_replay_stats (2 added the segment contexts). */
#define RECO_REPLAY_STATS_VERSION 2
/** Initialiser for a @ref reco_replay_stats of the current version. */
#define RECO_REPLAY_STATS_INIT { RECO_REPLAY_STATS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0.0, 0.0, \
                                 0.0, 0.0, 0, 0.0, 0, 0 }

/** @brief Contents, schedule position and memory of a buffer (reco_replay_get_stats()). */
typedef struct reco_replay_stats {
    unsigned int version;        /**< Set to @ref RECO_REPLAY_STATS_VERSION by the caller. */
    uint64_t size;               /**< Transitions stored. */
    uint64_t capacity;           /**< Most transitions held. */
    uint64_t records;            /**< Interaction records in use (steps + history). */
    uint64_t record_capacity;    /**< Records the ring holds. */
    uint64_t oldest_index;       /**< Index of the oldest stored transition. */
    uint64_t next_index;         /**< Index the next added transition will get. */
    uint64_t sample_step;        /**< Successful reco_replay_sample() calls (beta schedule). */
    double beta;                 /**< beta that the next sample will use. */
    double alpha;                /**< Current alpha. */
    /** Sum of `p_i^alpha` over stored transitions (proportional), or their count (uniform). */
    double total_priority;
    double max_priority;         /**< Priority given to new transitions (eps included). */
    size_t bytes;                /**< Memory owned by the handle, in bytes. */
    double bytes_per_transition; /**< bytes / capacity. */
    /** Segment contexts in use (0 without a context). @since 0.2 */
    uint64_t segments;
    /** Segment contexts the ring holds (0 without a context). @since 0.2 */
    uint64_t segment_capacity;
} reco_replay_stats;

/** Run-time knobs for reco_replay_set_param(). Values never change. */
typedef enum reco_replay_param {
    /** alpha; changing it re-weights every stored priority, `p^a -> p^a'` (O(capacity));
     *  while alpha is 0 every stored weight is 1, and stays 1 under a later alpha. */
    RECO_REPLAY_PARAM_ALPHA = 1,
    /** beta: reads the value the next sample will use; setting it pins beta to a constant
     *  (beta0 = beta_final = value). */
    RECO_REPLAY_PARAM_BETA = 2,
    RECO_REPLAY_PARAM_BETA0 = 3,        /**< Start of the beta schedule. */
    RECO_REPLAY_PARAM_BETA_FINAL = 4,   /**< End of the beta schedule. */
    RECO_REPLAY_PARAM_BETA_STEPS = 5,   /**< Length of the schedule, in sampling steps. */
    RECO_REPLAY_PARAM_SAMPLE_STEP = 6,  /**< Position in the schedule (an integer). */
    RECO_REPLAY_PARAM_PRIORITY_EPS = 7, /**< Added to priorities reported from now on. */
    RECO_REPLAY_PARAM_MAX_PRIORITY = 8  /**< Priority (eps included) of new transitions. */
} reco_replay_param;

/**
 * @brief Fill @p opts with the defaults of options version @p version.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_REPLAY_OPTIONS_VERSION.
 * @return @ref RECO_OK, @ref RECO_EINVAL if @p opts is NULL, @ref RECO_EVERSION otherwise.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_replay_options_init(reco_replay_options *opts, unsigned int version);

/**
 * @brief Bytes a buffer created with @p opts allocates (its whole memory; nothing grows).
 * @param[out] out   receives the size in bytes.
 * @param[in]  opts  options (NULL: defaults).
 * @return @ref RECO_OK, or the error reco_replay_create() would give for these options.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_replay_memory_size(size_t *out, const reco_replay_options *opts);

/**
 * @brief Create an empty replay buffer; all its memory is allocated here.
 * @param[out] out   receives the buffer; NULL on failure (nothing to free).
 * @param[in]  opts  options (copied), or NULL for defaults.
 * @return @ref RECO_OK; @ref RECO_EINVAL for a NULL @p out or an option out of range (the
 *         message names it, e.g. `replay.alpha`); @ref RECO_EVERSION; @ref RECO_ENOMEM.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_replay_create(reco_replay **out, const reco_replay_options *opts);

/**
 * @brief Free a buffer. NULL is accepted.
 * @param[in] replay  the buffer; any later use is undefined.
 * @par Thread safety
 * No other call on @p replay may be running or follow.
 * @since 0.1
 */
RECO_API void reco_replay_free(reco_replay *replay);

/**
 * @brief Empty the buffer and restore the state it was created in: parameters from the
 *        creation options, the generator reseeded, sampling step 0, initial max priority.
 *
 * Index numbering continues: indices issued before the reset are stale, never reused.
 * @param[in,out] replay  the buffer.
 * @return @ref RECO_OK, or @ref RECO_EINVAL if @p replay is NULL.
 * @par Thread safety
 * Safe concurrently with every call but reco_replay_free().
 * @since 0.1
 */
RECO_API int reco_replay_reset(reco_replay *replay);

/**
 * @brief Add the n transitions of one session segment, evicting the oldest segments as
 *        needed.
 *
 * The call is all or nothing: every input is checked first, and on error nothing is stored
 * or evicted. New transitions get the indices `first .. first + n - 1`.
 * @param[out]    first_index_out  receives the index of the segment's first transition
 *                                 (may be NULL).
 * @param[in,out] replay           the buffer.
 * @param[in]     segment          the segment, borrowed for the call (see
 *                                 @ref reco_replay_segment).
 * A buffer with a context stores the context of a version-2 segment (and, for a
 * version-1 segment, first_step 0, elapsed times 0, zero user features and an all-pad
 * long-term history); a buffer without one ignores the context fields.
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULL pointers, `n_steps` 0 or larger than the
 *         capacity, `h + n` larger than the record capacity, `history_len` > lookback, an
 *         item id < 0 (other than a pad in the history), a feedback value >= 2^16, a NaN
 *         or infinite reward, or a NaN, infinite or negative priority; for a buffer with a
 *         context also a `user_dim` or `long_len` other than the buffer's, NULL context
 *         arrays with a positive length, `first_step + n_steps` >= 2^32, an elapsed time
 *         that is negative or not finite, a user feature that is not finite, or a long-term
 *         item < -1 or feedback >= 2^16 (the message names the first bad element);
 *         @ref RECO_EVERSION for an unknown @c segment->version.
 * @par Thread safety
 * Safe concurrently with every call but reco_replay_free(); this is the generators' call.
 * @since 0.1
 */
RECO_API int reco_replay_add_segment(uint64_t *first_index_out, reco_replay *replay,
                                     const reco_replay_segment *segment);

/**
 * @brief Draw @p n transitions and fill the requested outputs of @p out; advances the beta
 *        schedule by one step.
 *
 * Proportional kind: one draw in each of @p n equal-mass strata of the priority total, so
 * rows come in stratum order (by storage position, roughly oldest first); weights as in
 * the group description, computed with the beta of the current step. Uniform kind: @p n
 * independent uniform draws. Either way the same transition may appear more than once.
 * The context outputs of a version-2 batch are filled from the stored segment contexts
 * (a buffer without a context writes steps and elapsed times 0). Never allocates.
 * @param[out]    out     output buffers, each sized for @p n rows (NULL ones are skipped).
 * @param[in,out] replay  the buffer.
 * @param[in]     n       batch size B, >= 1.
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULL @p out or @p replay, or @p n == 0;
 *         @ref RECO_EVERSION for an unknown @c out->version; @ref RECO_ESTATE when fewer
 *         than @p n transitions are stored (an empty buffer included) or every stored
 *         priority is 0 (only possible with `priority_eps` 0). On error nothing is
 *         written and the schedule does not move.
 * @par Thread safety
 * Safe concurrently with every call but reco_replay_free(); this is the learner's call.
 * @since 0.1
 */
RECO_API int reco_replay_sample(reco_replay_batch *out, reco_replay *replay, uint32_t n);

/**
 * @brief Set the priorities of sampled transitions, by index, after a learning step.
 *
 * Transition i then weighs `(priorities[k] + priority_eps)^alpha`, and the largest
 * `priorities[k] + priority_eps` so far becomes the priority of new transitions. Indices of
 * transitions evicted since they were sampled are skipped (not an error: generators may
 * overwrite them while the learner works); if an index appears twice, the later value wins.
 * The uniform kind checks the arguments the same way and stores nothing.
 * @param[out]    updated_out  receives how many entries referred to stored transitions
 *                             (may be NULL).
 * @param[in,out] replay       the buffer.
 * @param[in]     indices      (n) indices returned by reco_replay_sample().
 * @param[in]     priorities   (n) new priorities, typically |TD error|: finite, >= 0.
 * @param[in]     n            number of entries (0 is a no-op).
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULL pointers with @p n > 0, an index that was
 *         never issued, or a NaN, infinite or negative priority; then nothing is changed.
 * @par Thread safety
 * Safe concurrently with every call but reco_replay_free().
 * @since 0.1
 */
RECO_API int reco_replay_update_priorities(size_t *updated_out, reco_replay *replay,
                                           const uint64_t *indices, const float *priorities,
                                           size_t n);

/**
 * @brief Number of transitions stored.
 * @param[in] replay  the buffer (NULL gives 0).
 * @return the count, at most the capacity.
 * @par Thread safety
 * Safe concurrently with every call but reco_replay_free().
 * @since 0.1
 */
RECO_API uint64_t reco_replay_size(const reco_replay *replay);

/**
 * @brief Contents, schedule position and memory of a buffer.
 * @param[out] out     receives the figures; its @c version must be set (1..current).
 * @param[in]  replay  the buffer.
 * @return @ref RECO_OK, @ref RECO_EINVAL, or @ref RECO_EVERSION.
 * @par Thread safety
 * Safe concurrently with every call but reco_replay_free().
 * @since 0.1
 */
RECO_API int reco_replay_get_stats(reco_replay_stats *out, const reco_replay *replay);

/**
 * @brief Set a run-time knob.
 * @param[in,out] replay  the buffer.
 * @param[in]     param   which knob.
 * @param[in]     value   new value, within reco_replay_param_bounds().
 * @return @ref RECO_OK, or @ref RECO_EINVAL (unknown knob, NaN, out of bounds, a
 *         non-integer step count, or an alpha under which a stored weight would overflow;
 *         nothing is changed then).
 * @par Thread safety
 * Safe concurrently with every call but reco_replay_free().
 * @since 0.1
 */
RECO_API int reco_replay_set_param(reco_replay *replay, reco_replay_param param, double value);

/**
 * @brief Read a run-time knob.
 * @param[out] out     the value.
 * @param[in]  replay  the buffer.
 * @param[in]  param   which knob.
 * @return @ref RECO_OK or @ref RECO_EINVAL.
 * @par Thread safety
 * Safe concurrently with every call but reco_replay_free().
 * @since 0.1
 */
RECO_API int reco_replay_get_param(double *out, const reco_replay *replay,
                                   reco_replay_param param);

/**
 * @brief Accepted range of a run-time knob.
 * @param[out] min_out  the smallest value.
 * @param[out] max_out  the largest value.
 * @param[in]  param    which knob.
 * @return @ref RECO_OK or @ref RECO_EINVAL.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_replay_param_bounds(double *min_out, double *max_out, reco_replay_param param);

/**
 * @brief Write the buffer — contents, priorities, generator state, schedule position and
 *        parameters — to a temporary file renamed onto @p path (magic `RECORPL1`, with
 *        checksums; format version 2 in `docs/replay.md`).
 * @param[in] replay  the buffer.
 * @param[in] path    destination; never left half-written.
 * @return @ref RECO_OK, @ref RECO_EINVAL, @ref RECO_EIO, or @ref RECO_ENOMEM.
 * @par Thread safety
 * Safe concurrently with every call but reco_replay_free(); holds the mutex while writing.
 * @since 0.1
 */
RECO_API int reco_replay_save(const reco_replay *replay, const char *path);

/**
 * @brief Replace the buffer's state with a file written by reco_replay_save(), so a run
 *        resumes where it was saved: same contents and indices, same future samples.
 *
 * The buffer must have the file's capacity, record capacity, lookback and kind, and its
 * session context (whether it stores one, user_dim, long_len, segment capacity); a file of
 * format version 1 (written before the context existed) loads into a buffer without a
 * context. The parameters (alpha, beta schedule, eps, max priority) come from the file. The file is read
 * into separate memory (as much again as the buffer) and checked in full — checksums, every
 * section, and the consistency of every stored window — before the buffer is touched: on
 * any error the buffer is unchanged.
 * @param[in,out] replay  the buffer.
 * @param[in]     path    a file written by reco_replay_save().
 * @return @ref RECO_OK; @ref RECO_EINVAL; @ref RECO_EIO; @ref RECO_EFORMAT (truncated,
 *         corrupted, not a replay file, inconsistent contents, or a geometry that differs
 *         from @p replay — the message says which); @ref RECO_EVERSION; @ref RECO_ENOMEM.
 * @par Thread safety
 * Safe concurrently with every call but reco_replay_free().
 * @since 0.1
 */
RECO_API int reco_replay_load(reco_replay *replay, const char *path);

RECO_END_DECLS

/** @} */
#endif /* RECO_REPLAY_H */
