/**
 * @file metrics.h
 * @brief Binary-prediction metrics: ROC AUC, log-loss, expected calibration error.
 * @defgroup reco_metrics Metrics
 * @ingroup reco_core
 *
 * The three numbers reported for every feedback signal when the feedback model is trained
 * (see @ref reco_fit) and by the evaluator, for n predictions against binary labels:
 *
 * - **AUC** (area under the ROC curve): the probability that a random positive scores above
 *   a random negative, ties counting one half. Computed exactly from ranks in O(n log n):
 *   `AUC = (R+ - P (P + 1) / 2) / (P N)` where R+ is the sum of the ranks (1-based, ascending
 *   score, tied scores sharing their mean rank — "midranks") of the P positives and N is the
 *   number of negatives. A constant predictor gets exactly 0.5. AUC is undefined when all
 *   labels are equal: reco_metrics_auc() then stores NaN and fails with @ref RECO_EINVAL.
 * - **Log-loss**: `-(1/n) sum_i [y_i log p_i + (1 - y_i) log(1 - p_i)]` in nats, with p
 *   clipped to `[RECO_METRICS_PROB_EPS, 1 - RECO_METRICS_PROB_EPS]` so that one confident
 *   mistake costs at most `ln(1e7) ~ 16.1` instead of infinity.
 * - **ECE** (expected calibration error): predictions are put in `n_bins` equal-width bins of
 *   [0, 1] (bin b holds `b/n_bins <= p < (b+1)/n_bins`, p = 1 in the last bin), and
 *   `ECE = sum_b (n_b / n) |mean(y in b) - mean(p in b)|`. The fit reports use 10 bins.
 *
 * @code
 * float p[4] = {0.9f, 0.2f, 0.6f, 0.4f}, y[4] = {1, 0, 0, 1};
 * double auc, ll, ece;
 * if (reco_metrics_auc(&auc, p, y, 4) < 0 ||               // 0.75
 *     reco_metrics_log_loss(&ll, p, y, 4) < 0 ||
 *     reco_metrics_ece(&ece, p, y, 4, 10) < 0)
 *     fprintf(stderr, "%s\n", reco_error_message());
 * @endcode
 *
 * @par Memory
 * reco_metrics_auc() allocates n pairs (8 n bytes) from the process default allocator for
 * the duration of the call; the others allocate nothing.
 *
 * @par Thread safety
 * Every function is safe from any thread.
 *
 * @par API tier
 * **Core**: stable for the life of libreco.so.0 (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_METRICS_H
#define RECO_METRICS_H

#include "reco/common.h"

RECO_BEGIN_DECLS

/** Probabilities are clipped to `[eps, 1 - eps]` in reco_metrics_log_loss(). @since 0.1 */
#define RECO_METRICS_PROB_EPS 1e-7

/**
 * @brief Exact ROC AUC with midranks for ties.
 * @param[out] out     the AUC in [0, 1]; NaN when it is undefined (all labels equal).
 * @param[in]  scores  (n) scores or probabilities; any order-preserving transform gives the
 *                     same AUC; infinities allowed, NaN not.
 * @param[in]  labels  (n) labels, each exactly 0 or 1.
 * @param[in]  n       number of predictions, at least 1.
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULL pointers, n = 0, a NaN score, a label that
 *         is not 0 or 1, or labels that are all equal (then @p out is NaN and the message
 *         says "AUC is undefined"); @ref RECO_ENOMEM.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_metrics_auc(double *out, const float *scores, const float *labels, size_t n);

/**
 * @brief Mean binary cross-entropy (nats) of probabilities against labels.
 * @param[out] out     the log-loss, >= 0.
 * @param[in]  probs   (n) probabilities in [0, 1] (clipped, see @ref RECO_METRICS_PROB_EPS).
 * @param[in]  labels  (n) labels in [0, 1] (soft labels allowed).
 * @param[in]  n       number of predictions, at least 1.
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULL pointers, n = 0, or a probability or label
 *         outside [0, 1] (NaN included).
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_metrics_log_loss(double *out, const float *probs, const float *labels,
                                   size_t n);

/**
 * @brief Expected calibration error over @p n_bins equal-width bins, weighted by bin size.
 * @param[out] out     the ECE in [0, 1].
 * @param[in]  probs   (n) probabilities in [0, 1].
 * @param[in]  labels  (n) labels in [0, 1].
 * @param[in]  n       number of predictions, at least 1.
 * @param[in]  n_bins  number of bins, 1..1000 (10 is customary).
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULL pointers, n = 0, a bad bin count, or a
 *         probability or label outside [0, 1].
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_metrics_ece(double *out, const float *probs, const float *labels, size_t n,
                              uint32_t n_bins);

RECO_END_DECLS

/** @} */
#endif /* RECO_METRICS_H */
