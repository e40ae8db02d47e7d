/* Metric kernels shared by lib/metrics.c (the public functions) and lib/fit.c, which passes
 * its own scratch so that a training run allocates once. */
#ifndef RECO_METRICS_PRIVATE_H
#define RECO_METRICS_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "reco/metrics.h"

/* One (score, label) pair of the AUC sort. */
typedef struct reco__auc_pair {
    float score, label;
} reco__auc_pair;

/* As reco_metrics_auc(), with `scratch` holding n pairs. */
int reco__metrics_auc(double *out, const float *scores, const float *labels, size_t n,
                      reco__auc_pair *scratch);

#endif /* RECO_METRICS_PRIVATE_H */
