/* ROC AUC, log-loss and expected calibration error (definitions in include/reco/metrics.h).
 *
 * AUC sorts (score, label) pairs once and walks runs of tied scores: every member of a run
 * gets the run's mean rank, so the result does not depend on how the sort orders ties, and
 * a constant predictor gets exactly 0.5. Sums are in double (exact for ranks up to 2^53). */
#include <math.h>
#include <stdlib.h>

#include "alloc_private.h"
#include "detmath_private.h"
#include "error_private.h"
#include "metrics_private.h"

static int cmp_pair(const void *pa, const void *pb)
{
    const float a = ((const reco__auc_pair *)pa)->score, b = ((const reco__auc_pair *)pb)->score;
    return a < b ? -1 : a > b;
}

int reco__metrics_auc(double *out, const float *scores, const float *labels, size_t n,
                      reco__auc_pair *scratch)
{
    static const char fn[] = "reco_metrics_auc";
    if (out == NULL || scores == NULL || labels == NULL)
        return reco__error_set(RECO_EINVAL, "%s: out, scores and labels must not be NULL", fn);
    *out = NAN;
    if (n == 0)
        return reco__error_set(RECO_EINVAL, "%s: n is 0", fn);
    double pos = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(scores[i]))
            return reco__error_set(RECO_EINVAL, "%s: scores[%zu] is NaN", fn, i);
        if (labels[i] != 0.0f && labels[i] != 1.0f)
            return reco__error_set(RECO_EINVAL, "%s: labels[%zu] = %g is not 0 or 1", fn, i,
                                   (double)labels[i]);
        pos += labels[i];
    }
    const double neg = (double)n - pos;
    if (pos == 0.0 || neg == 0.0)
        return reco__error_set(RECO_EINVAL, "%s: AUC is undefined: all %zu labels are %d", fn,
                               n, pos > 0.0);
    for (size_t i = 0; i < n; i++) {
        scratch[i].score = scores[i];
        scratch[i].label = labels[i];
    }
    qsort(scratch, n, sizeof *scratch, cmp_pair);
    double rank_sum = 0.0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        double p = scratch[i].label;
        while (j < n && scratch[j].score == scratch[i].score)
            p += scratch[j++].label;
        /* Ranks i+1 .. j share their mean. */
        rank_sum += p * (0.5 * (double)(i + 1 + j));
        i = j;
    }
    *out = (rank_sum - pos * (pos + 1.0) * 0.5) / (pos * neg);
    return RECO_OK;
}

int reco_metrics_auc(double *out, const float *scores, const float *labels, size_t n)
{
    if (out == NULL || scores == NULL || labels == NULL || n == 0)
        return reco__metrics_auc(out, scores, labels, n, NULL);
    reco_allocator a;
    int rc = reco__allocator_resolve(&a, NULL);
    if (rc < 0)
        return rc;
    reco__auc_pair *scratch = reco__calloc(&a, n, sizeof *scratch);
    if (scratch == NULL) {
        *out = NAN;
        return RECO_ENOMEM;
    }
    rc = reco__metrics_auc(out, scores, labels, n, scratch);
    reco__free(&a, scratch);
    return rc;
}

static int check_probs(const float *probs, const float *labels, size_t n, const char *fn)
{
    if (n == 0)
        return reco__error_set(RECO_EINVAL, "%s: n is 0", fn);
    for (size_t i = 0; i < n; i++) {
        if (!(probs[i] >= 0.0f && probs[i] <= 1.0f))
            return reco__error_set(RECO_EINVAL, "%s: probs[%zu] = %g is not in [0, 1]", fn, i,
                                   (double)probs[i]);
        if (!(labels[i] >= 0.0f && labels[i] <= 1.0f))
            return reco__error_set(RECO_EINVAL, "%s: labels[%zu] = %g is not in [0, 1]", fn, i,
                                   (double)labels[i]);
    }
    return RECO_OK;
}

int reco_metrics_log_loss(double *out, const float *probs, const float *labels, size_t n)
{
    static const char fn[] = "reco_metrics_log_loss";
    if (out == NULL || probs == NULL || labels == NULL)
        return reco__error_set(RECO_EINVAL, "%s: out, probs and labels must not be NULL", fn);
    int rc = check_probs(probs, labels, n, fn);
    if (rc < 0)
        return rc;
    const double lo = RECO_METRICS_PROB_EPS, hi = 1.0 - RECO_METRICS_PROB_EPS;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double p = probs[i], y = labels[i];
        p = p < lo ? lo : p > hi ? hi : p;
        sum -= y * reco__log(p) + (1.0 - y) * log1p(-p);
    }
    *out = sum / (double)n;
    return RECO_OK;
}

int reco_metrics_ece(double *out, const float *probs, const float *labels, size_t n,
                     uint32_t n_bins)
{
    static const char fn[] = "reco_metrics_ece";
    enum { MAX_BINS = 1000 };
    if (out == NULL || probs == NULL || labels == NULL)
        return reco__error_set(RECO_EINVAL, "%s: out, probs and labels must not be NULL", fn);
    if (n_bins < 1 || n_bins > MAX_BINS)
        return reco__error_set(RECO_EINVAL, "%s: n_bins %u is out of range [1, %d]", fn, n_bins,
                               MAX_BINS);
    int rc = check_probs(probs, labels, n, fn);
    if (rc < 0)
        return rc;
    /* Per bin: count, sum of p, sum of y; 24 KiB of stack at most, nothing allocated. */
    double acc[MAX_BINS][3];
    for (uint32_t b = 0; b < n_bins; b++)
        acc[b][0] = acc[b][1] = acc[b][2] = 0.0;
    for (size_t i = 0; i < n; i++) {
        uint32_t b = (uint32_t)((double)probs[i] * n_bins);
        if (b >= n_bins)
            b = n_bins - 1;
        acc[b][0] += 1.0;
        acc[b][1] += probs[i];
        acc[b][2] += labels[i];
    }
    double ece = 0.0;
    for (uint32_t b = 0; b < n_bins; b++)
        if (acc[b][0] > 0.0)
            ece += fabs(acc[b][2] - acc[b][1]) / (double)n; /* (n_b/n) |mean y - mean p| */
    *out = ece;
    return RECO_OK;
}
