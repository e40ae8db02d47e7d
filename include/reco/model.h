/**
 * @file model.h
 * @brief The network shared by the feedback model and the Q-network.
 * @defgroup reco_model Model
 * @ingroup reco_core
 *
 * A @ref reco_model encodes a user's recent interactions with a small pre-LN transformer and
 * scores items with one head per feedback signal, one for exit, and one Q head (see
 * `docs/model.md` for the equations):
 *
 * - input position t (of L history slots, newest last): item embedding + the sum of the
 *   embeddings of the feedback signals set on that interaction + position embedding; empty
 *   slots (item @ref RECO_PAD) are masked out of attention;
 * - one extra "user slot" after the history (learned token + position + a projection of the
 *   optional dense user features) whose output after the last block and a final LayerNorm is
 *   the user vector u (only this slot is computed in the last block);
 * - head h scores item i as `(u W_h) · e_i + b_{h,i}` (W_h: (d, d)), with e_i the same item
 *   embedding as the input, so scoring C candidates for B states is one matrix product per
 *   head.
 *
 * Heads are numbered 0..F-1 for the feedback signals, F for exit and F+1 for Q, where F is
 * `n_signals`; reco_model_n_heads() returns F+2.
 *
 * Training accumulates gradients (reco_model_train_bce(), reco_model_train_scalar()) and
 * reco_model_step() applies Adam/AdamW with global-norm clipping. Embedding rows (and item
 * biases) are updated sparsely: a step touches only the items that appeared in the batch.
 *
 * @code
 * reco_model_options o = RECO_MODEL_OPTIONS_INIT;     // lookback L = 20
 * o.n_items = 10000; o.n_signals = 4; o.max_batch = 1; o.max_candidates = 500;
 * reco_model *m = NULL;
 * reco_workspace *ws = NULL;                          // one per scoring thread
 * if (reco_model_create(&m, &o) < 0 || reco_workspace_create(&ws, m) < 0) {
 *     fprintf(stderr, "%s\n", reco_error_message());
 *     reco_model_free(m);
 *     return 1;
 * }
 * int32_t hist[20]; uint32_t fb[20];                  // (B, L), newest last
 * for (int t = 0; t < 20; t++) { hist[t] = RECO_PAD; fb[t] = 0; }
 * hist[19] = 42; fb[19] = 1u << RECO_SIGNAL_CLICK;    // one click on item 42
 * int32_t cand[500];
 * for (int c = 0; c < 500; c++) cand[c] = 7 * c;      // the retrieval stage's candidates
 * reco_batch batch = RECO_BATCH_INIT;
 * batch.size = 1; batch.items = hist; batch.feedback = fb;
 * batch.n_candidates = 500; batch.candidates = cand; batch.shared_candidates = 1;
 * uint32_t head = reco_model_n_heads(m) - 1;          // the Q head
 * float scores[500];                                  // (B, 1, C)
 * int32_t best[10];                                   // (B, 10): top 10 of the catalog
 * if (reco_model_score(scores, m, ws, &batch, &head, 1) < 0 ||
 *     reco_model_topn(best, NULL, m, ws, &batch, head, 10) < 0 ||
 *     reco_model_save(m, "model.reco", 0) < 0)       // 0: weights only
 *     fprintf(stderr, "%s\n", reco_error_message());
 * reco_workspace_free(ws);
 * reco_model_free(m);
 * @endcode
 *
 * @par Thread safety
 * Training calls (train, step, zero_grad, set_param, load) use the model's own workspace:
 * one thread at a time. Read-only calls — reco_model_score(), reco_model_user_vectors(),
 * reco_model_topn(), reco_model_save() — may run concurrently from many threads on a model
 * that is not being trained, each thread passing its own @ref reco_workspace.
 *
 * @par API tier
 * **Core**: stable for the life of libreco.so.0 (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_MODEL_H
#define RECO_MODEL_H

#include "reco/common.h"
#include "reco/alloc.h"

RECO_BEGIN_DECLS

/** The item id that marks an empty history slot. */
#define RECO_PAD (-1)

/** Opaque model handle. */
typedef struct reco_model reco_model;

/** Scratch memory for read-only calls on a model from one thread. */
typedef struct reco_workspace reco_workspace;

/** Current version of @ref reco_model_options (2 added the session, long-term history,
 *  item-feature and state-bias inputs; 3 the deterministic products). */
#define RECO_MODEL_OPTIONS_VERSION 3

/** Most categorical item fields a model takes. @since 0.2 */
#define RECO_MODEL_MAX_ITEM_FIELDS 8

/**
 * @brief Architecture, optimiser and capacity of a model.
 *
 * Sizes are checked at creation: `dim` must be a multiple of `n_heads`, and the workspace is
 * sized for `max_batch` states and `max_candidates` candidates per call.
 */
typedef struct reco_model_options {
    unsigned int version;             /**< @ref RECO_MODEL_OPTIONS_VERSION. */
    const reco_allocator *allocator;  /**< NULL: the process default; copied at creation. */
    uint32_t n_items;       /**< Catalog size N, 1..2^31-1. Default 1000. */
    uint32_t dim;           /**< Embedding width d, 1..4096. Default 64. */
    uint32_t lookback;      /**< History slots L, 1..512. Default 20. */
    uint32_t n_blocks;      /**< Transformer blocks, 1..16. Default 1. */
    uint32_t n_heads;       /**< Attention heads (divides dim), 1..64. Default 2. */
    uint32_t ffn_dim;       /**< FFN hidden width, 1..16384. Default 256. */
    uint32_t n_signals;     /**< Feedback signals F, 1..16. Default 4. */
    uint32_t user_dim;      /**< Dense user-feature width; 0 = none. Default 0. */
    uint64_t seed;          /**< Initialisation seed. Default 1. */
    float init_std;         /**< Std of the normal initialisation, (0, 1]. Default 0.02. */
    uint32_t max_batch;     /**< Largest B of any call, 1..65536. Default 256. */
    uint32_t max_candidates;/**< Largest C of any call, 1..2^20. Default 512. */
    uint32_t threads;       /**< BLIS threads per product, 1..256. Default 1. */
    float lr;               /**< Adam learning rate, (0, 10]. Default 1e-3. */
    float beta1;            /**< Adam beta1, [0, 1). Default 0.9. */
    float beta2;            /**< Adam beta2, [0, 1). Default 0.999. */
    float adam_eps;         /**< Adam epsilon, (0, 1]. Default 1e-8. */
    float weight_decay;     /**< Decoupled (AdamW) weight decay, [0, 1]. Default 0. */
    float clip_norm;        /**< Global gradient-norm clip; 0 = off. Default 1.0. */
    /* ---- version 2 (0.2): the inputs a production model has; see docs/model.md ---- */
    /** Position in the session: nonzero makes the batch's @c steps an input (a learned
     *  piecewise-linear curve of log2(1 + steps) added to the user slot), and gives the
     *  history slots that precede the session (all but the newest `min(steps, L)`) an
     *  embedding of their own. Default 0. @since 0.2 */
    int position;
    /** Elapsed time in the session: nonzero makes the batch's @c elapsed an input (a learned
     *  curve of log2(1 + seconds / 10) added to the user slot). Default 0. @since 0.2 */
    int elapsed;
    /** H, slots of the long-term history channel: the user's last H interactions before the
     *  session (batch @c long_items), pooled per signal and projected into the user slot;
     *  0..4096, 0 = none. Default 0. @since 0.2 */
    uint32_t long_len;
    /** Dense item features per item (Di), projected and added to every use of an item's
     *  embedding; 0..1024. Default 0. Values: reco_model_set_item_features(). @since 0.2 */
    uint32_t item_dense_dim;
    /** Categorical item fields (Kc, e.g. topic, author), each with an embedding table added
     *  to the item's embedding and a bias per head; 0..@ref RECO_MODEL_MAX_ITEM_FIELDS.
     *  Default 0. @since 0.2 */
    uint32_t item_n_fields;
    /** Cardinality of each categorical field (values `0 .. size-1`), 1..2^24 for the first
     *  @c item_n_fields entries; the rest are ignored. Default all 0. @since 0.2 */
    uint32_t item_field_sizes[RECO_MODEL_MAX_ITEM_FIELDS];
    /** Nonzero: each head adds a term of the state alone, `u . v_h + c_h`, so that what
     *  depends on the user and not on the item (the exit head's session length, a user's
     *  click rate) need not be carried by every item embedding. It does not change any
     *  ranking. Default 1. @since 0.2 */
    int state_bias;
    /* ---- version 3 (0.2) ---- */
    /** Nonzero: every matrix product runs libreco's own kernels, whose sums are taken in an
     *  order fixed by the code, instead of BLIS, whose order depends on the sub-configuration
     *  it picks for the CPU; `threads` is then ignored (one thread). With it, a model's
     *  results are bit-identical on every x86-64 CPU (docs/determinism.md says what is
     *  guaranteed and what it costs). Not stored in checkpoints (a run-time choice, like
     *  `threads`). Default 0. @since 0.2 */
    int deterministic;
} reco_model_options;

/** Initialiser for @ref reco_model_options with the defaults of the current version. */
#define RECO_MODEL_OPTIONS_INIT \
    { RECO_MODEL_OPTIONS_VERSION, NULL, 1000, 64, 20, 1, 2, 256, 4, 0, 1, 0.02f, 256, 512, 1, \
      1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, 1.0f, 0, 0, 0, 0, 0, {0, 0, 0, 0, 0, 0, 0, 0}, 1, 0 }

/** Current version of @ref reco_batch (2 added the session context). */
#define RECO_BATCH_VERSION 2

/**
 * @brief A batch of states and their candidates, borrowed for one call.
 *
 * All arrays are row-major and contiguous. Item ids are in `[0, n_items)` or @ref RECO_PAD in
 * history slots; a pad may appear anywhere (it is masked), and a row may be all pads (the user
 * slot still gives a user vector).
 */
typedef struct reco_batch {
    unsigned int version;          /**< @ref RECO_BATCH_VERSION. */
    uint32_t size;                 /**< B, number of states, 1..max_batch. */
    const int32_t *items;          /**< (B, L) item ids of the history, newest last. */
    const uint32_t *feedback;      /**< (B, L) feedback bits: bit f = signal f; ignored on pads. */
    const float *user_features;    /**< (B, user_dim); NULL when user_dim is 0. */
    uint32_t n_candidates;         /**< C, candidates per state, 1..max_candidates. */
    const int32_t *candidates;     /**< (C) if @c shared_candidates, else (B, C). */
    int shared_candidates;         /**< Nonzero: one candidate list for all rows. */
    /* ---- version 2 (0.2): the session context (@ref reco_env's context()) ---- */
    /** (B) steps already taken in each state's session (0 at its first step). Needed by a
     *  model with @c position; else ignored and may be NULL. @since 0.2 */
    const uint32_t *steps;
    /** (B) seconds since each state's session began, finite and >= 0. Needed by a model
     *  with @c elapsed; else ignored and may be NULL. @since 0.2 */
    const float *elapsed;
    /** (B, long_len) the user's interactions before the session, newest last,
     *  @ref RECO_PAD for none. Needed by a model with @c long_len > 0; else ignored.
     *  @since 0.2 */
    const int32_t *long_items;
    /** (B, long_len) their feedback bits (ignored on pads). @since 0.2 */
    const uint32_t *long_feedback;
} reco_batch;

/** Initialiser for an empty @ref reco_batch of the current version. */
#define RECO_BATCH_INIT { RECO_BATCH_VERSION, 0, NULL, NULL, NULL, 0, NULL, 0, NULL, NULL, NULL, \
                          NULL }

/** Run-time knobs for reco_model_set_param(). Values never change. */
typedef enum reco_model_param {
    RECO_MODEL_PARAM_LR = 1,           /**< Learning rate. */
    RECO_MODEL_PARAM_WEIGHT_DECAY = 2, /**< Decoupled weight decay. */
    RECO_MODEL_PARAM_CLIP_NORM = 3,    /**< Global-norm clip (0 = off). */
    RECO_MODEL_PARAM_THREADS = 4       /**< BLIS threads per product. */
} reco_model_param;

/** Flags for reco_model_save(). */
#define RECO_MODEL_SAVE_OPTIMIZER 1u

/**
 * @brief Fill @p opts with the defaults of options version @p version.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_MODEL_OPTIONS_VERSION.
 * @return @ref RECO_OK, @ref RECO_EINVAL if @p opts is NULL, @ref RECO_EVERSION otherwise.
 * @since 0.1
 */
RECO_API int reco_model_options_init(reco_model_options *opts, unsigned int version);

/**
 * @brief Create a model with freshly initialised parameters.
 * @param[out] out   receives the model; NULL on failure (nothing to free).
 * @param[in]  opts  options (copied), or NULL for defaults.
 * @return @ref RECO_OK; @ref RECO_EINVAL for a NULL @p out or an impossible size (the message
 *         names the option); @ref RECO_EVERSION; @ref RECO_ENOMEM.
 * @since 0.1
 */
RECO_API int reco_model_create(reco_model **out, const reco_model_options *opts);

/**
 * @brief Free a model. NULL is accepted.
 * @param[in] model  the model; any later use is undefined.
 * @since 0.1
 */
RECO_API void reco_model_free(reco_model *model);

/**
 * @brief Copy the model's options (as created) into @p out.
 * @param[out] out    receives the options; its @c version must be set (1..current).
 * @param[in]  model  the model.
 * @return @ref RECO_OK, @ref RECO_EINVAL, or @ref RECO_EVERSION.
 * @since 0.1
 */
RECO_API int reco_model_get_options(reco_model_options *out, const reco_model *model);

/**
 * @brief Number of heads: n_signals + 2 (signals, exit, Q).
 * @param[in] model  the model (not NULL).
 * @return the head count.
 * @since 0.1
 */
RECO_API uint32_t reco_model_n_heads(const reco_model *model);

/**
 * @brief Number of float parameters.
 * @param[in] model  the model (not NULL).
 * @return the parameter count.
 * @since 0.1
 */
RECO_API size_t reco_model_n_params(const reco_model *model);

/**
 * @brief Bytes of scratch memory a @ref reco_workspace (and the model's own) needs.
 * @param[out] out   receives the size in bytes.
 * @param[in]  opts  the options a model would be created with (NULL: defaults).
 * @return @ref RECO_OK, or the error reco_model_create() would give for these options.
 * @since 0.1
 */
RECO_API int reco_model_workspace_size(size_t *out, const reco_model_options *opts);

/**
 * @brief Create scratch memory for read-only calls on @p model from one thread.
 * @param[out] out    receives the workspace; NULL on failure.
 * @param[in]  model  the model it will be used with (sizes only; it may be freed first).
 * @return @ref RECO_OK, @ref RECO_EINVAL, or @ref RECO_ENOMEM.
 * @since 0.1
 */
RECO_API int reco_workspace_create(reco_workspace **out, const reco_model *model);

/**
 * @brief Free a workspace. NULL is accepted.
 * @param[in] ws  the workspace.
 * @since 0.1
 */
RECO_API void reco_workspace_free(reco_workspace *ws);

/**
 * @brief Score candidates: `out[b][j][c]` = head `heads[j]` on candidate c of state b.
 * @param[out]    out      (B, n_sel, C) scores (logits for signal and exit heads).
 * @param[in]     model    the model.
 * @param[in,out] ws       a workspace from reco_workspace_create(), or NULL to use the
 *                         model's own (then not thread-safe).
 * @param[in]     batch    states and candidates.
 * @param[in]     heads    @p n_sel head indices.
 * @param[in]     n_sel    number of heads to score, 1..reco_model_n_heads().
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULLs, sizes over the maxima, ids out of range,
 *         a bad head index or a NaN user feature (nothing is written to @p out).
 * @since 0.1
 */
RECO_API int reco_model_score(float *out, const reco_model *model, reco_workspace *ws,
                              const reco_batch *batch, const uint32_t *heads, uint32_t n_sel);

/**
 * @brief The user vectors u (after the final LayerNorm) of a batch of states.
 * @param[out]    out    (B, dim).
 * @param[in]     model  the model.
 * @param[in,out] ws     a workspace, or NULL to use the model's own.
 * @param[in]     batch  states (candidates are ignored and may be NULL).
 * @return as reco_model_score().
 * @since 0.1
 */
RECO_API int reco_model_user_vectors(float *out, const reco_model *model, reco_workspace *ws,
                                     const reco_batch *batch);

/**
 * @brief Retrieval: the @p n highest-scoring items of the whole catalog under one head.
 *
 * Returns exactly what a full sort of all N scores would (ties broken by the lower id),
 * sorted by decreasing score.
 * @param[out]    ids_out     (B, n) item ids.
 * @param[out]    scores_out  (B, n) their scores; may be NULL.
 * @param[in]     model       the model.
 * @param[in,out] ws          a workspace, or NULL to use the model's own.
 * @param[in]     batch       states (candidates are ignored).
 * @param[in]     head        the head to rank by.
 * @param[in]     n           1..min(n_items, max_candidates).
 * @return as reco_model_score().
 * @since 0.1
 */
RECO_API int reco_model_topn(int32_t *ids_out, float *scores_out, const reco_model *model,
                             reco_workspace *ws, const reco_batch *batch, uint32_t head,
                             uint32_t n);

/**
 * @brief Zero the accumulated gradients.
 * @param[in,out] model  the model.
 * @return @ref RECO_OK, or @ref RECO_EINVAL if @p model is NULL.
 * @since 0.1
 */
RECO_API int reco_model_zero_grad(reco_model *model);

/**
 * @brief Supervised loss: binary cross-entropy of every signal head and the exit head on the
 *        item shown to each state; accumulates gradients.
 *
 * Loss = sum over rows b and heads h of `w_b * BCE(score_h(b, shown_b), labels[b][h])`,
 * divided by B. Candidates in @p batch are ignored.
 * @param[out]    loss_out     the loss (may be NULL).
 * @param[in,out] model        the model.
 * @param[in]     batch        B states.
 * @param[in]     shown        (B) item shown at each state.
 * @param[in]     labels       (B, n_signals + 1) targets in [0, 1]: the signals, then exit.
 * @param[in]     row_weights  (B) non-negative weights, or NULL for 1.
 * @return @ref RECO_OK; @ref RECO_EINVAL for bad sizes, ids, labels or weights (NaN
 *         included); gradients are untouched on error.
 * @since 0.1
 */
RECO_API int reco_model_train_bce(double *loss_out, reco_model *model, const reco_batch *batch,
                                  const int32_t *shown, const float *labels,
                                  const float *row_weights);

/**
 * @brief Scalar regression on one item's head output (TD learning); accumulates gradients.
 *
 * pred_b = score_head(b, items_b); loss = sum_b w_b * Huber_delta(pred_b - targets_b) / B.
 * @param[out]    loss_out    the loss (may be NULL).
 * @param[out]    pred_out    (B) the predictions before the update (may be NULL).
 * @param[in,out] model       the model.
 * @param[in]     batch       B states.
 * @param[in]     items       (B) the chosen item of each state.
 * @param[in]     head        the head to regress (usually the Q head).
 * @param[in]     targets     (B) finite targets.
 * @param[in]     weights     (B) non-negative importance weights, or NULL for 1.
 * @param[in]     huber_delta positive threshold of the Huber loss (use a huge value for MSE).
 * @return as reco_model_train_bce().
 * @since 0.1
 */
RECO_API int reco_model_train_scalar(double *loss_out, float *pred_out, reco_model *model,
                                     const reco_batch *batch, const int32_t *items, uint32_t head,
                                     const float *targets, const float *weights,
                                     float huber_delta);

/**
 * @brief Apply one Adam/AdamW step with the accumulated gradients, then zero them.
 *
 * Gradients are clipped to a global L2 norm of `clip_norm`. Dense parameters follow Adam
 * exactly. Embedding and item-bias rows follow Adam on the steps where they had a gradient
 * (in the batch); their moments are decayed exactly for the steps they missed, but no update
 * is applied on those steps (as PyTorch's SparseAdam / TF's LazyAdam): see `docs/model.md`.
 * @param[out]    grad_norm_out  the global gradient norm before clipping (may be NULL).
 * @param[in,out] model          the model.
 * @return @ref RECO_OK; @ref RECO_EINVAL if a gradient is not finite (nothing is updated).
 * @since 0.1
 */
RECO_API int reco_model_step(double *grad_norm_out, reco_model *model);

/**
 * @brief Set a run-time knob.
 * @param[in,out] model  the model.
 * @param[in]     param  which knob.
 * @param[in]     value  new value, within reco_model_param_bounds().
 * @return @ref RECO_OK, or @ref RECO_EINVAL (unknown knob, NaN or out of bounds).
 * @since 0.1
 */
RECO_API int reco_model_set_param(reco_model *model, reco_model_param param, double value);

/**
 * @brief Read a run-time knob.
 * @param[out] out    the value.
 * @param[in]  model  the model.
 * @param[in]  param  which knob.
 * @return @ref RECO_OK or @ref RECO_EINVAL.
 * @since 0.1
 */
RECO_API int reco_model_get_param(double *out, const reco_model *model, reco_model_param param);

/**
 * @brief Accepted range of a run-time knob.
 * @param[out] min_out  the smallest value.
 * @param[out] max_out  the largest value.
 * @param[in]  param    which knob.
 * @return @ref RECO_OK or @ref RECO_EINVAL.
 * @since 0.1
 */
RECO_API int reco_model_param_bounds(double *min_out, double *max_out, reco_model_param param);

/**
 * @brief Write a checkpoint: options, parameters and (with @ref RECO_MODEL_SAVE_OPTIMIZER)
 *        the optimiser state, with a checksum, to a temporary file renamed onto @p path.
 * @param[in] model  the model.
 * @param[in] path   destination; never left half-written.
 * @param[in] flags  0 or @ref RECO_MODEL_SAVE_OPTIMIZER.
 * @return @ref RECO_OK, @ref RECO_EINVAL, @ref RECO_EIO, or @ref RECO_ENOMEM.
 * @since 0.1
 */
RECO_API int reco_model_save(const reco_model *model, const char *path, uint32_t flags);

/**
 * @brief Load a checkpoint into an existing model of the same architecture.
 *
 * The file is fully validated (magic, version, checksum, every shape) before anything is
 * copied: on any error the model is untouched.
 * @param[in,out] model  the model.
 * @param[in]     path   a file written by reco_model_save().
 * @return @ref RECO_OK; @ref RECO_EIO; @ref RECO_EFORMAT (truncated, corrupted, not a model
 *         file, or a shape that differs from @p model — the message names it);
 *         @ref RECO_EVERSION.
 * @since 0.1
 */
RECO_API int reco_model_load(reco_model *model, const char *path);

/**
 * @brief Create a model from a checkpoint, with the architecture stored in it.
 * @param[out] out      receives the model; NULL on failure.
 * @param[in]  path     a file written by reco_model_save().
 * @param[in]  runtime  NULL, or options whose allocator, max_batch, max_candidates,
 *                      threads and (version 3) deterministic replace the stored ones (other
 *                      fields are ignored).
 * @return as reco_model_load(), plus @ref RECO_ENOMEM.
 * @since 0.1
 */
RECO_API int reco_model_open(reco_model **out, const char *path,
                             const reco_model_options *runtime);

/**
 * @brief Set the item features of every item (copied into the model, and saved with it).
 *
 * Until it is called, every item has dense features 0 and every field the value "unknown"
 * (-1), which adds nothing. Values are data, not parameters: training does not change them,
 * reco_model_copy_params() copies them too, and checkpoints store them.
 * @param[in,out] model      a model with @c item_dense_dim or @c item_n_fields > 0.
 * @param[in]     dense      (n_items, item_dense_dim) finite values, row-major; NULL when
 *                           item_dense_dim is 0 (or to leave them as they are).
 * @param[in]     fields     (n_items, item_n_fields) values in `[0, item_field_sizes[k])`, or
 *                           -1 for unknown; NULL when item_n_fields is 0 (or to leave them).
 * @param[in]     n_items    the model's n_items (checked).
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL model, a wrong count, a NaN, a value out of
 *         its field's range: the message names item and column; nothing is changed).
 * @par Thread safety
 * As a training call: nothing else may use the model meanwhile.
 * @since 0.2
 */
RECO_API int reco_model_set_item_features(reco_model *model, const float *dense,
                                          const int32_t *fields, uint32_t n_items);

/**
 * @brief Copy all parameters of @p src into @p dst (same architecture): target-network sync.
 * @param[in,out] dst  destination model.
 * @param[in]     src  source model.
 * @return @ref RECO_OK, or @ref RECO_EINVAL if the architectures differ.
 * @since 0.1
 */
RECO_API int reco_model_copy_params(reco_model *dst, const reco_model *src);

/**
 * @brief Polyak averaging: `dst = (1 - tau) * dst + tau * src` over all parameters.
 * @param[in,out] dst  destination model.
 * @param[in]     src  source model.
 * @param[in]     tau  in [0, 1].
 * @return @ref RECO_OK, or @ref RECO_EINVAL.
 * @since 0.1
 */
RECO_API int reco_model_blend_params(reco_model *dst, const reco_model *src, float tau);

RECO_END_DECLS

/** @} */
#endif /* RECO_MODEL_H */
