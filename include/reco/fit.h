/**
 * @file fit.h
 * @brief Supervised training of the feedback model on interaction logs, with validation,
 *        early stopping, a checkpoint of the best epoch and baseline comparisons.
 * @defgroup reco_fit Supervised training
 * @ingroup reco_lab
 *
 * reco_fit_model() trains a @ref reco_model to predict each feedback signal and the exit of
 * every logged interaction (binary cross-entropy, reco_model_train_bce()), the first half of
 * RecoMind: the trained model becomes the simulator and the Q-network's warm start.
 *
 * **Examples.** Every row of the training log is one example. Its state is the user's
 * previous `L` interactions in that log (L = the model's lookback) — across the user's
 * earlier sessions too, in canonical order (see @ref reco_log), newest last, with @ref RECO_PAD
 * in the slots before the user's first interaction; each carries its item and its signal
 * bits. The shown item is the row's item; the labels are its F signal bits and its exit
 * flag. The same definition is used for the validation log (whose users are usually disjoint
 * from the training users, see reco_log_split()).
 *
 * **Session context** (models with the version-2 inputs, @ref reco_model_options): the
 * position is the row's `step`; the elapsed time is its timestamp minus that of its
 * session's step 0 (0 if negative); the long-term history is the user's last H rows before
 * the session's step 0 (H = the model's `long_len`), newest last, padded. User features
 * (models with `user_dim` > 0) are the row's (a log of the same `user_dim`); item features
 * are the model's own (reco_model_set_item_features()).
 *
 * **Step durations.** The report's `step_seconds_base` and `step_seconds` are the least-
 * squares fit of the gap to the next step of the same session, `ts[r+1] - ts[r]`, against
 * the row's signal bits: `gap ~ base + sum_f seconds[f] signal_f` — what a simulator needs
 * to advance its clock (@ref reco_sim_options version 3).
 *
 * **Training.** Each epoch draws a permutation of the training rows from the seeded
 * generator (`seed`, stream = epoch), takes the first `max_examples_per_epoch` of them (all
 * when 0) and runs mini-batches of `batch_size` (the last one may be smaller): loss and
 * gradients, then one optimiser step (reco_model_step()). The learning rate is set on the
 * model with reco_model_set_param() before the first epoch.
 *
 * **Validation.** After each epoch the model predicts every validation row; for each output
 * (the F signals, then exit) the report gives log-loss, AUC and ECE (10 bins), as defined in
 * @ref reco_metrics. The validation loss is the sum of the F + 1 log-losses — the same
 * quantity the training loss averages. It drives early stopping: training stops after
 * `patience` epochs without a validation loss below the best one minus `min_delta`.
 * Whenever an epoch improves on the best, its weights are kept in memory and, with a
 * `checkpoint` path, saved with reco_model_save() (weights only). When training ends the
 * best weights are restored into the model, so the model equals the checkpoint file.
 *
 * **Baselines**, computed once from the training log and reported with the same metrics:
 * - *global rate*: every prediction of output h is its mean in the training log, g_h;
 * - *item popularity rate*: output h of item i is predicted as
 *   `(pos_{i,h} + a g_h) / (n_i + a)`, where n_i is the number of training rows showing i,
 *   pos_{i,h} how many of them had output h, and `a = popularity_prior` (additive smoothing
 *   toward the global rate: a pseudo-observations at rate g_h; items never shown in training
 *   get g_h).
 *
 * **The oracle.** When the validation log carries the true probabilities (its oracle
 * columns, written by a log generator from an env with probabilities(): the built-in world,
 * a test env), the report gives the same metrics of the truth itself: the ceiling a model
 * can reach on these rows (rows whose oracle value is NaN are left out of it).
 *
 * @code
 * reco_log *train = NULL, *valid = NULL;
 * reco_log_split(&train, &valid, log, 0.1, 7);
 * reco_fit_options fo = RECO_FIT_OPTIONS_INIT;
 * fo.epochs = 20; fo.batch_size = 256; fo.lr = 1e-3; fo.patience = 3;
 * fo.checkpoint = "feedback.reco";
 * double train_loss[20], valid_loss[20];
 * reco_fit_report rep = RECO_FIT_REPORT_INIT;
 * rep.history_cap = 20; rep.train_loss = train_loss; rep.valid_loss = valid_loss;
 * if (reco_fit_model(&rep, model, train, valid, &fo) < 0)
 *     fprintf(stderr, "%s\n", reco_error_message());
 * else
 *     printf("click AUC %.3f (popularity %.3f), best epoch %u\n",
 *            rep.model[RECO_SIGNAL_CLICK].auc, rep.popularity[RECO_SIGNAL_CLICK].auc,
 *            rep.best_epoch);
 * reco_log_free(train);
 * reco_log_free(valid);
 * @endcode
 *
 * @par Memory
 * A call allocates once, at the start, from the model's allocator: the per-row history index
 * (4 bytes per training and validation row), the epoch permutation (4 bytes per training row),
 * the validation predictions (4 (F + 1) bytes per row plus 12 per row of metric scratch), the
 * popularity counts (8 (F + 2) bytes per item), one batch, and a copy of the model's weights.
 *
 * @par Thread safety
 * reco_fit_model() trains @p model through its own workspace: nothing else may use the model
 * during the call. The logs are only read (other `const` calls on them may run meanwhile).
 * The progress callback runs on the calling thread.
 *
 * @par API tier
 * **Lab**: may change in any 0.x release; declared only where `RECO_LAB_API` is defined
 * before the first libreco include (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_FIT_H
#define RECO_FIT_H
#ifndef RECO_LAB_API
#error "reco/fit.h is lab API, may change in any 0.x: define RECO_LAB_API first (docs/abi.md)"
#endif

#include "reco/common.h"
#include "reco/config.h"
#include "reco/log.h"
#include "reco/model.h"

RECO_BEGIN_DECLS

/** Most outputs a fit reports: @ref RECO_LOG_MAX_SIGNALS signals plus exit. @since 0.1 */
#define RECO_FIT_MAX_OUTPUTS (RECO_LOG_MAX_SIGNALS + 1)

/**
 * @brief Metrics of one predictor on one output (a signal or exit) over the validation log.
 *
 * This struct is frozen: it will never gain members (it is an array element of
 * @ref reco_fit_report and @ref reco_fit_epoch).
 * @since 0.1
 */
typedef struct reco_fit_metrics {
    double log_loss;        /**< Mean BCE in nats (reco_metrics_log_loss()). */
    double auc;             /**< ROC AUC; NaN when the validation labels are all equal. */
    double ece;             /**< Expected calibration error, 10 bins. */
    double mean_prediction; /**< Mean predicted probability. */
} reco_fit_metrics;

/** Version of @ref reco_fit_epoch that this header describes. @since 0.1 */
#define RECO_FIT_EPOCH_VERSION 1

/**
 * @brief What the progress callback receives after each epoch (filled by the library; its
 *        @c version tells which members exist).
 * @since 0.1
 */
typedef struct reco_fit_epoch {
    unsigned int version; /**< @ref RECO_FIT_EPOCH_VERSION of the library that filled it. */
    uint32_t epoch;       /**< 1-based epoch number. */
    uint32_t n_outputs;   /**< F + 1: entries used in @c model. */
    uint64_t n_examples;  /**< Training examples seen in this epoch. */
    double train_loss;    /**< Mean over those examples of the summed BCE of all outputs. */
    double valid_loss;    /**< Sum over outputs of the validation log-loss; NaN without one. */
    int improved;         /**< 1 if this epoch is the best so far (and was checkpointed). */
    double seconds;       /**< Wall-clock seconds of the epoch, validation included. */
    reco_fit_metrics model[RECO_FIT_MAX_OUTPUTS]; /**< Validation metrics, outputs 0..F. */
} reco_fit_epoch;

/**
 * @brief Progress callback: called after every epoch with its results.
 * @param[in] epoch    the epoch's results, valid during the call only.
 * @param[in] payload  the options' @c payload.
 * @return 0 to continue; nonzero to stop training after this epoch (the best weights are
 *         still restored and the call returns @ref RECO_OK with @c cancelled set).
 * @since 0.1
 */
typedef int (*reco_fit_progress_fn)(const reco_fit_epoch *epoch, void *payload);

/** Current version of @ref reco_fit_options. @since 0.1 */
#define RECO_FIT_OPTIONS_VERSION 1

/** Initialiser for @ref reco_fit_options with the defaults (equal to the YAML defaults).
 *  @since 0.1 */
#define RECO_FIT_OPTIONS_INIT \
    { RECO_FIT_OPTIONS_VERSION, 10, 256, 1e-3, 3, 0.0, 1, "", 0, 10.0, NULL, NULL }

/**
 * @brief Options of reco_fit_model(); also the `fit` section of a YAML configuration (each
 *        member names its key, default and range; the callback and payload are not in YAML).
 * @since 0.1
 */
typedef struct reco_fit_options {
    unsigned int version;    /**< @ref RECO_FIT_OPTIONS_VERSION. */
    uint32_t epochs;         /**< `fit.epochs`: most epochs; 1..1000000; default 10. */
    uint32_t batch_size;     /**< `fit.batch_size`: 1..65536 and at most the model's
                                  max_batch; default 256. */
    double lr;               /**< `fit.lr`: learning rate set on the model; 1e-12..10;
                                  default 0.001. */
    uint32_t patience;       /**< `fit.patience`: epochs without improvement before
                                  stopping; 0 = never stop early; 0..1000000; default 3. */
    double min_delta;        /**< `fit.min_delta`: improvement of the validation loss that
                                  counts; 0..1e9; default 0. */
    uint64_t seed;           /**< `fit.seed`: seed of the shuffles; default 1. */
    const char *checkpoint;  /**< `fit.checkpoint`: file for the best weights; "" (default)
                                  or NULL = none; at most 4095 bytes. Borrowed for the call. */
    uint64_t max_examples_per_epoch; /**< `fit.max_examples_per_epoch`: 0 (default) = all. */
    double popularity_prior; /**< `fit.popularity_prior`: pseudo-count a of the popularity
                                  baseline's smoothing; 0..1e9; default 10. */
    reco_fit_progress_fn progress; /**< Called after each epoch; NULL = none. Never called
                                        when the options or inputs are rejected. */
    void *payload;           /**< Passed to @c progress; never read by the library. */
} reco_fit_options;

/** Current version of @ref reco_fit_report (2 added the oracle and the step durations).
 *  @since 0.1 */
#define RECO_FIT_REPORT_VERSION 2

/** Initialiser for an empty @ref reco_fit_report of the current version, no history
 *  arrays. @since 0.1 */
#define RECO_FIT_REPORT_INIT \
    { RECO_FIT_REPORT_VERSION, 0, 0, 0, 0, 0, 0, 0, 0.0, {0}, {0}, {{0, 0, 0, 0}}, \
      {{0, 0, 0, 0}}, {{0, 0, 0, 0}}, 0, NULL, NULL, 0, {{0, 0, 0, 0}}, 0, 0.0, {0}, {0} }

/**
 * @brief Results of reco_fit_model(). The caller sets @c version and, optionally, the
 *        history arrays; the library fills the rest.
 *
 * Output h indexes the arrays: 0..F-1 the signals, F the exit; entries past @c n_outputs
 * are 0.
 * @since 0.1
 */
typedef struct reco_fit_report {
    unsigned int version;  /**< @ref RECO_FIT_REPORT_VERSION, set by the caller. */
    uint32_t n_outputs;    /**< F + 1. */
    uint32_t epochs_run;   /**< Epochs trained. */
    uint32_t best_epoch;   /**< 1-based epoch whose weights the model holds at the end. */
    int stopped_early;     /**< 1 if early stopping ended training before @c epochs. */
    int cancelled;         /**< 1 if the progress callback asked to stop. */
    uint64_t n_train;      /**< Training rows. */
    uint64_t n_valid;      /**< Validation rows (0 without a validation log). */
    double best_valid_loss; /**< Validation loss of @c best_epoch; NaN without validation. */
    double train_rate[RECO_FIT_MAX_OUTPUTS]; /**< Mean of each output in the training log. */
    double valid_rate[RECO_FIT_MAX_OUTPUTS]; /**< Mean of each output in the validation log. */
    reco_fit_metrics model[RECO_FIT_MAX_OUTPUTS];       /**< The model at @c best_epoch. */
    reco_fit_metrics global_rate[RECO_FIT_MAX_OUTPUTS]; /**< Global-rate baseline. */
    reco_fit_metrics popularity[RECO_FIT_MAX_OUTPUTS];  /**< Item-popularity baseline. */
    uint32_t history_cap;  /**< Caller: entries in @c train_loss / @c valid_loss. */
    double *train_loss;    /**< Caller's array (or NULL): training loss of epoch e at [e-1],
                                for the first @c history_cap epochs. */
    double *valid_loss;    /**< Caller's array (or NULL): validation loss per epoch. */
    /* ---- version 2 (0.2) ---- */
    /** 1 if the validation log carries the oracle (true probabilities): @c oracle is set.
     *  @since 0.2 */
    int has_oracle;
    /** The truth's metrics on the validation rows (NaN entries when @c has_oracle is 0).
     *  @since 0.2 */
    reco_fit_metrics oracle[RECO_FIT_MAX_OUTPUTS];
    /** Gaps to the next step of the same session in the training log that the step
     *  durations are fitted on (0: none, and the durations are 0). @since 0.2 */
    uint64_t n_gaps;
    /** Seconds of a step with no signal: the fitted intercept. @since 0.2 */
    double step_seconds_base;
    /** Extra seconds of a step per signal f that is 1 (0 for signals never seen). @since 0.2 */
    double step_seconds[RECO_LOG_MAX_SIGNALS];
    /** How the step's own signals move the exit: the logistic regression, on the validation
     *  rows with the best weights, of the exit label on the model's exit logit (an offset)
     *  and each signal's surprise, `exit ~ sigmoid(z_exit + sum_f exit_tilt[f] (bit_f -
     *  p_f))` (a small ridge; all 0 without a validation log). A simulator that draws the
     *  exit after the signals uses it (@ref reco_sim_options version 3). @since 0.2 */
    double exit_tilt[RECO_LOG_MAX_SIGNALS];
} reco_fit_report;

/**
 * @brief Fill @p opts with the defaults of version @p version.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_FIT_OPTIONS_VERSION.
 * @return @ref RECO_OK, @ref RECO_EINVAL if @p opts is NULL, @ref RECO_EVERSION otherwise.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_fit_options_init(reco_fit_options *opts, unsigned int version);

/**
 * @brief Train @p model on @p train, validating on @p valid after every epoch.
 *
 * Inputs are checked before anything changes: the logs' signal count must equal the model's
 * n_signals, every item must be below its n_items, the logs' user features must be as wide
 * as the model's `user_dim` when it has any (a model without them ignores a log's), and
 * `batch_size` must not exceed its max_batch.
 *
 * On success the model holds the weights of the best epoch (the last epoch when @p valid is
 * NULL; then there is no early stopping and the checkpoint, if any, is written after every
 * epoch). Its optimiser state is that of the last step taken. If a step or the checkpoint
 * fails after training started, the best weights so far are restored before the error is
 * returned.
 * @param[in,out] report  results (may be NULL); its @c version must be set.
 * @param[in,out] model   the feedback model to train.
 * @param[in]     train   training log, at least one row.
 * @param[in]     valid   validation log, or NULL; if not NULL, at least one row.
 * @param[in]     opts    options, or NULL for the defaults.
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL or empty log, mismatched sizes, bad options:
 *         the message names the option); @ref RECO_EVERSION; @ref RECO_ENOMEM; @ref RECO_EIO
 *         (checkpoint); any error of reco_model_step() (e.g. a gradient that is not finite).
 * @par Thread safety
 * See the group's description: the model is used exclusively during the call.
 * @since 0.1
 */
RECO_API int reco_fit_model(reco_fit_report *report, reco_model *model, const reco_log *train,
                            const reco_log *valid, const reco_fit_options *opts);

/**
 * @brief Copy the `fit` section of @p cfg into @p out (the YAML keys are listed at
 *        @ref reco_fit_options).
 *
 * Only the YAML members are written: @c progress and @c payload keep the caller's values.
 * @c checkpoint points into @p cfg and stays valid until @p cfg is changed or freed.
 * @param[in,out] out  receives the options; its @c version must be set.
 * @param[in]     cfg  the configuration.
 * @return @ref RECO_OK, @ref RECO_EINVAL, or @ref RECO_EVERSION.
 * @par Thread safety
 * As reco_config_get_experiment().
 * @since 0.1
 */
RECO_API int reco_config_get_fit(reco_fit_options *out, const reco_config *cfg);

/**
 * @brief Replace the `fit` section of @p cfg with the YAML members of @p in (validated as a
 *        file would be; a NULL @c checkpoint is stored as "").
 * @param[in,out] cfg  the configuration; unchanged on failure.
 * @param[in]     in   the options; members past its @c version take their defaults.
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL argument); @ref RECO_EVERSION;
 *         @ref RECO_ECONFIG (a value out of range: the message names `fit.<key>`);
 *         @ref RECO_ENOMEM.
 * @par Thread safety
 * One thread at a time per configuration.
 * @since 0.1
 */
RECO_API int reco_config_set_fit(reco_config *cfg, const reco_fit_options *in);

RECO_END_DECLS

/** @} */
#endif /* RECO_FIT_H */
