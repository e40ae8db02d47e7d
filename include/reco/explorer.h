/**
 * @file explorer.h
 * @brief Exploration rules that turn Q-values into actions: greedy, epsilon-greedy, RecoMind's
 *        top-K softmax, and Boltzmann, with schedules for epsilon and the temperature.
 * @defgroup reco_explorer Explorer
 * @ingroup reco_core
 *
 * A @ref reco_explorer picks one candidate per state from a (B, C) matrix of Q-values and
 * reports the probability with which its rule picked it (for importance ratios and logging).
 * Write n for the number of *available* candidates of a row (entries that are not
 * `-INFINITY`), a* for its argmax, eps for epsilon and tau for the temperature at the current
 * step. For an available candidate i the rules give (see `docs/explorer.md`):
 *
 * - @ref RECO_EXPLORER_GREEDY : `p(i) = [i = a*]`;
 * - @ref RECO_EXPLORER_EPSILON_GREEDY : `p(i) = (1 - eps) [i = a*] + eps / n`;
 * - @ref RECO_EXPLORER_TOP_K_SOFTMAX (RecoMind): with T the K best-ranked candidates,
 *   `p(i) = (1 - eps) [i = a*] + eps [i in T] exp((q_i - q*) / tau) / sum_{j in T}
 *   exp((q_j - q*) / tau)`;
 * - @ref RECO_EXPLORER_BOLTZMANN : `p(i) = exp((q_i - q*) / tau) / sum_j exp((q_j - q*) / tau)`
 *   over all available j (epsilon is not used).
 *
 * **Ranking and ties.** Candidates are ranked by decreasing Q, ties by increasing column
 * index: a* is the lowest index among the maxima, and T takes tied candidates at its boundary
 * by lower index. (The softmax terms themselves give tied values equal probability.)
 *
 * **K.** With `top_k_count` > 0, `K = min(top_k_count, n)`; otherwise
 * `K = min(n, max(1, ceil(top_k_fraction * n - 1e-6)))` — the 1e-6 absorbs binary round-off
 * such as `0.1 * 30 = 3.0000000000000004`. K = 1 makes the rule greedy; K = n is a softmax
 * over every available candidate under the epsilon branch.
 *
 * **Masking.** `-INFINITY` marks an unavailable candidate: it has probability exactly 0 under
 * every rule (uniform exploration included) and is never chosen. NaN or `+INFINITY`, or a row
 * with no available candidate, is an error.
 *
 * **Steps and schedules.** The explorer counts steps: each successful reco_explorer_select()
 * call (a whole batch) uses the values of epsilon and tau at the current step, then advances
 * the step by one. reco_explorer_probs() uses the same values and does not advance it.
 * reco_explorer_set_step() moves the counter (to resume a run); see @ref
 * reco_explorer_schedule for the schedules.
 *
 * **Randomness.** Each explorer owns a @ref reco_rng seeded with
 * `reco_rng_seed(seed, stream)`: give each generator thread its own stream. Rows are
 * processed in order, and every row consumes a fixed number of uniform draws whatever its
 * values (greedy: 0; Boltzmann: 1; epsilon-greedy and top-K softmax: 2), so the same seed,
 * stream, options and inputs give identical selections.
 *
 * **Memory.** All memory is allocated at creation (workspace for `max_candidates` columns);
 * select and probs never allocate.
 *
 * @code
 * reco_explorer_options o = RECO_EXPLORER_OPTIONS_INIT;   // top-K softmax, K = 25%, eps 0.1
 * o.epsilon.kind = RECO_SCHEDULE_LINEAR;                   // eps: 1.0 -> 0.05 over 1e5 steps
 * o.epsilon.start = 1.0; o.epsilon.end = 0.05; o.epsilon.steps = 100000;
 * o.seed = 42; o.stream = worker_index;                    // one explorer per thread
 * o.max_candidates = 500;
 * reco_explorer *e = NULL;
 * if (reco_explorer_create(&e, &o) < 0) {
 *     fprintf(stderr, "%s\n", reco_error_message());
 *     return 1;
 * }
 * uint32_t action[256];
 * float prob[256];
 * // q: (256, 500) Q-values, row stride 500 floats
 * if (reco_explorer_select(action, prob, e, q, 256, 500, 500) < 0)
 *     fprintf(stderr, "%s\n", reco_error_message());
 * reco_explorer_free(e);
 * @endcode
 *
 * @par Thread safety
 * An explorer is used by one thread at a time (it may move between threads); distinct
 * explorers are independent, so each generator thread owns one. reco_explorer_options_init(),
 * reco_explorer_workspace_size(), reco_explorer_param_bounds() and
 * reco_explorer_schedule_value() are safe from any thread.
 *
 * @par API tier
 * **Core**: stable for the life of libreco.so.0 (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_EXPLORER_H
#define RECO_EXPLORER_H

#include "reco/common.h"
#include "reco/alloc.h"
#include "reco/rng.h"

RECO_BEGIN_DECLS

/**
 * @brief Opaque explorer handle.
 * @since 0.1
 */
typedef struct reco_explorer reco_explorer;

/**
 * @brief Exploration rules. Values never change.
 * @since 0.1
 */
typedef enum reco_explorer_rule {
    RECO_EXPLORER_GREEDY = 1,         /**< Always the argmax. */
    RECO_EXPLORER_EPSILON_GREEDY = 2, /**< Uniform over the available candidates w.p. eps. */
    RECO_EXPLORER_TOP_K_SOFTMAX = 3,  /**< Softmax(Q/tau) over the top K w.p. eps (RecoMind). */
    RECO_EXPLORER_BOLTZMANN = 4       /**< Softmax(Q/tau) over all available candidates. */
} reco_explorer_rule;

/**
 * @brief Shapes of a schedule. Values never change.
 * @since 0.1
 */
typedef enum reco_schedule_kind {
    RECO_SCHEDULE_CONSTANT = 1,   /**< `v(t) = start`. */
    RECO_SCHEDULE_LINEAR = 2,     /**< `start + (end - start) min(t, steps) / steps`. */
    RECO_SCHEDULE_EXPONENTIAL = 3 /**< `max(end, start * rate^t)`. */
} reco_schedule_kind;

/**
 * @brief A value as a function of the step t (0, 1, 2, ...).
 *
 * - constant: `v(t) = start` (the other fields are ignored);
 * - linear: `v(t) = start + (end - start) * min(t, steps) / steps`, so `v(0) = start` and
 *   `v(t) = end` for every `t >= steps`; `steps = 0` gives `end` at every step; end may be
 *   above or below start;
 * - exponential decay: `v(t) = max(end, start * rate^t)` with `rate` in (0, 1] and
 *   `end <= start` (a half-life of h steps is `rate = 0.5^(1/h)`); `steps` is ignored.
 *
 * For epsilon, start and end must lie in [0, 1]; for tau in [1e-30, 1e30] (positive, finite).
 * The value of a schedule at any step is reco_explorer_schedule_value().
 * @since 0.1
 */
typedef struct reco_explorer_schedule {
    reco_schedule_kind kind; /**< Shape; default @ref RECO_SCHEDULE_CONSTANT. */
    double start;            /**< Value at step 0. */
    double end;              /**< Final value (linear) or floor (exponential). */
    uint64_t steps;          /**< Linear: steps from start to end. */
    double rate;             /**< Exponential: per-step factor in (0, 1]. */
} reco_explorer_schedule;

/**
 * @brief Current version of @ref reco_explorer_options.
 * @since 0.1
 */
#define RECO_EXPLORER_OPTIONS_VERSION 1

/**
 * @brief Initialiser for @ref reco_explorer_options of the current version: the defaults,
 * equal to what reco_explorer_options_init() gives.
 * @since 0.1
 */
#define RECO_EXPLORER_OPTIONS_INIT                                                            \
    { RECO_EXPLORER_OPTIONS_VERSION, NULL, RECO_EXPLORER_TOP_K_SOFTMAX,                       \
      { RECO_SCHEDULE_CONSTANT, 0.1, 0.1, 0u, 1.0 },                                          \
      { RECO_SCHEDULE_CONSTANT, 1.0, 1.0, 0u, 1.0 }, 0.25, 0u, 1u, 0u, 512u }

/**
 * @brief Rule, schedules, top-K size, random stream and capacity of an explorer.
 * @since 0.1
 */
typedef struct reco_explorer_options {
    unsigned int version;            /**< @ref RECO_EXPLORER_OPTIONS_VERSION. */
    const reco_allocator *allocator; /**< NULL: the process default; copied at creation. */
    reco_explorer_rule rule;         /**< Default @ref RECO_EXPLORER_TOP_K_SOFTMAX. */
    /** Exploration probability; values in [0, 1]; default constant 0.1. Unused by the
     *  greedy and Boltzmann rules (still validated). */
    reco_explorer_schedule epsilon;
    /** Softmax temperature; values in [1e-30, 1e30]; default constant 1.0. Unused by the
     *  greedy and epsilon-greedy rules (still validated). */
    reco_explorer_schedule tau;
    /** K as a fraction of the available candidates, in [1e-9, 1]; default 0.25. */
    double top_k_fraction;
    /** K as a count; 0 (the default) uses @c top_k_fraction. */
    uint32_t top_k_count;
    uint64_t seed;           /**< Seed of the explorer's generator; default 1. */
    uint64_t stream;         /**< Stream number, e.g. the worker index; default 0. */
    uint32_t max_candidates; /**< Largest C of any call, 1..2^24; default 512. */
} reco_explorer_options;

/**
 * @brief Run-time knobs for reco_explorer_set_param(). Values never change.
 * @since 0.1
 */
typedef enum reco_explorer_param {
    /** Epsilon. Setting it replaces the epsilon schedule by this constant until
     *  reco_explorer_reset(); reading it gives the value at the current step. [0, 1]. */
    RECO_EXPLORER_PARAM_EPSILON = 1,
    /** Temperature, as @ref RECO_EXPLORER_PARAM_EPSILON. [1e-30, 1e30]. */
    RECO_EXPLORER_PARAM_TAU = 2,
    /** top_k_fraction; setting it also sets top_k_count to 0. [1e-9, 1]. */
    RECO_EXPLORER_PARAM_TOP_K_FRACTION = 3,
    /** top_k_count (an integer); 0 means "use the fraction". [0, 2^24]. */
    RECO_EXPLORER_PARAM_TOP_K_COUNT = 4,
    /** The rule, a @ref reco_explorer_rule value. [1, 4]. */
    RECO_EXPLORER_PARAM_RULE = 5
} reco_explorer_param;

/**
 * @brief Fill @p opts with the defaults of options version @p version.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_EXPLORER_OPTIONS_VERSION.
 * @return @ref RECO_OK; @ref RECO_EINVAL if @p opts is NULL; @ref RECO_EVERSION if
 *         @p version is not supported (then @p opts is not written).
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_explorer_options_init(reco_explorer_options *opts, unsigned int version);

/**
 * @brief Bytes an explorer created with @p opts allocates (handle and workspace).
 * @param[out] out   receives the size in bytes.
 * @param[in]  opts  options (NULL: defaults).
 * @return @ref RECO_OK, or the error reco_explorer_create() would give for these options.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_explorer_workspace_size(size_t *out, const reco_explorer_options *opts);

/**
 * @brief Create an explorer at step 0.
 * @param[out] out   receives the explorer, owned by the caller (free it with
 *                   reco_explorer_free()); NULL on failure (nothing to free).
 * @param[in]  opts  options, copied (NULL: defaults).
 * @return @ref RECO_OK; @ref RECO_EINVAL for a NULL @p out or a value out of range (the
 *         message names the option, e.g. `explorer.epsilon.start`); @ref RECO_EVERSION;
 *         @ref RECO_ENOMEM.
 * @since 0.1
 */
RECO_API int reco_explorer_create(reco_explorer **out, const reco_explorer_options *opts);

/**
 * @brief Free an explorer. NULL is accepted.
 * @param[in] explorer  the explorer; any later use is undefined.
 * @since 0.1
 */
RECO_API void reco_explorer_free(reco_explorer *explorer);

/**
 * @brief Restore the fresh state: step 0, the generator reseeded from the options' seed and
 *        stream, and every knob changed by reco_explorer_set_param() back to its option.
 * @param[in,out] explorer  the explorer.
 * @return @ref RECO_OK, or @ref RECO_EINVAL if @p explorer is NULL.
 * @since 0.1
 */
RECO_API int reco_explorer_reset(reco_explorer *explorer);

/**
 * @brief Choose one candidate per row of a Q matrix, and the probability of that choice.
 *
 * All rows use epsilon and tau at the current step; on success the step advances by one.
 * The whole matrix is validated before anything is drawn or written: on error neither the
 * outputs, nor the generator, nor the step change.
 * @param[out]    index_out  (rows) chosen column per row, each an available candidate.
 * @param[out]    prob_out   (rows) probability with which the rule chose it — the full
 *                           mixture probability, equal to reco_explorer_probs() at that entry;
 *                           may be NULL.
 * @param[in,out] explorer   the explorer (its generator and step advance).
 * @param[in]     q          (rows, cols) Q-values, row stride @p row_stride floats;
 *                           `-INFINITY` marks an unavailable candidate; borrowed for the call.
 * @param[in]     rows       B, at least 1.
 * @param[in]     cols       C, 1..max_candidates.
 * @param[in]     row_stride elements between row starts, at least @p cols.
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULL pointers, zero or too large sizes, a stride
 *         below @p cols, a NaN or `+INFINITY` entry (the message names row and column), or a
 *         row without an available candidate.
 * @since 0.1
 */
RECO_API int reco_explorer_select(uint32_t *index_out, float *prob_out, reco_explorer *explorer,
                                  const float *q, size_t rows, size_t cols, size_t row_stride);

/**
 * @brief The rule's full action distribution for each row, at the current step.
 *
 * Each row of @p probs_out sums to 1 (within float rounding); unavailable candidates get
 * exactly 0. Draws nothing and does not advance the step.
 * @param[out]    probs_out  (rows, cols) probabilities, contiguous (row stride @p cols).
 * @param[in,out] explorer   the explorer (its workspace is used).
 * @param[in]     q          (rows, cols) Q-values, row stride @p row_stride floats.
 * @param[in]     rows       B, at least 1.
 * @param[in]     cols       C, 1..max_candidates.
 * @param[in]     row_stride elements between row starts, at least @p cols.
 * @return as reco_explorer_select(); on error nothing is written.
 * @since 0.1
 */
RECO_API int reco_explorer_probs(float *probs_out, reco_explorer *explorer, const float *q,
                                 size_t rows, size_t cols, size_t row_stride);

/**
 * @brief K for a row with @p n_available available candidates, under the current settings.
 * @param[out] out          receives K, in 1..@p n_available.
 * @param[in]  explorer     the explorer.
 * @param[in]  n_available  number of available candidates, at least 1.
 * @return @ref RECO_OK, or @ref RECO_EINVAL for NULL pointers or @p n_available 0 or above
 *         2^24.
 * @since 0.1
 */
RECO_API int reco_explorer_top_k(uint32_t *out, const reco_explorer *explorer,
                                 size_t n_available);

/**
 * @brief The current step (the number of successful selects since creation or reset, unless
 *        moved with reco_explorer_set_step()).
 * @param[out] out       receives the step.
 * @param[in]  explorer  the explorer.
 * @return @ref RECO_OK, or @ref RECO_EINVAL for NULL pointers.
 * @since 0.1
 */
RECO_API int reco_explorer_get_step(uint64_t *out, const reco_explorer *explorer);

/**
 * @brief Move the step counter, e.g. to resume a run; the schedules continue from there.
 *
 * The generator is not touched: for a bit-exact resume also restore it with
 * reco_explorer_set_rng().
 * @param[in,out] explorer  the explorer.
 * @param[in]     step      the new step.
 * @return @ref RECO_OK, or @ref RECO_EINVAL if @p explorer is NULL.
 * @since 0.1
 */
RECO_API int reco_explorer_set_step(reco_explorer *explorer, uint64_t step);

/**
 * @brief Copy the explorer's generator state (to checkpoint it).
 * @param[out] out       receives the state.
 * @param[in]  explorer  the explorer.
 * @return @ref RECO_OK, or @ref RECO_EINVAL for NULL pointers.
 * @since 0.1
 */
RECO_API int reco_explorer_get_rng(reco_rng *out, const reco_explorer *explorer);

/**
 * @brief Replace the explorer's generator state (from reco_explorer_get_rng() or
 *        reco_rng_seed()).
 * @param[in,out] explorer  the explorer.
 * @param[in]     rng       the state, copied; must not be all zero.
 * @return @ref RECO_OK, or @ref RECO_EINVAL for NULL pointers or an all-zero state.
 * @since 0.1
 */
RECO_API int reco_explorer_set_rng(reco_explorer *explorer, const reco_rng *rng);

/**
 * @brief Set a run-time knob.
 * @param[in,out] explorer  the explorer.
 * @param[in]     param     which knob.
 * @param[in]     value     new value, within reco_explorer_param_bounds() (an integer for
 *                          @ref RECO_EXPLORER_PARAM_TOP_K_COUNT and
 *                          @ref RECO_EXPLORER_PARAM_RULE).
 * @return @ref RECO_OK, or @ref RECO_EINVAL (NULL explorer, unknown knob, NaN, out of bounds,
 *         or not an integer where one is needed); nothing changes on error.
 * @since 0.1
 */
RECO_API int reco_explorer_set_param(reco_explorer *explorer, reco_explorer_param param,
                                     double value);

/**
 * @brief Read a run-time knob (epsilon and tau: their values at the current step).
 * @param[out] out       receives the value.
 * @param[in]  explorer  the explorer.
 * @param[in]  param     which knob.
 * @return @ref RECO_OK, or @ref RECO_EINVAL for NULL pointers or an unknown knob.
 * @since 0.1
 */
RECO_API int reco_explorer_get_param(double *out, const reco_explorer *explorer,
                                     reco_explorer_param param);

/**
 * @brief Accepted range of a run-time knob (both ends included).
 * @param[out] min_out  receives the smallest value.
 * @param[out] max_out  receives the largest value.
 * @param[in]  param    which knob.
 * @return @ref RECO_OK, or @ref RECO_EINVAL for NULL pointers or an unknown knob.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_explorer_param_bounds(double *min_out, double *max_out,
                                        reco_explorer_param param);

/**
 * @brief Value of a schedule at step @p step (the formulas of @ref reco_explorer_schedule).
 *
 * Checks only the schedule's shape (kind known; rate in (0, 1] and end <= start for an
 * exponential decay; finite values), not the range of a particular knob.
 * @param[out] out       receives the value.
 * @param[in]  schedule  the schedule.
 * @param[in]  step      the step.
 * @return @ref RECO_OK, or @ref RECO_EINVAL for NULL pointers or a malformed schedule.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_explorer_schedule_value(double *out, const reco_explorer_schedule *schedule,
                                          uint64_t step);

RECO_END_DECLS

/** @} */
#endif /* RECO_EXPLORER_H */
