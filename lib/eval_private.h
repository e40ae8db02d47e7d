/* Internals of the evaluator (lib/eval.c) that tests reach directly. */
#ifndef RECO_EVAL_PRIVATE_H
#define RECO_EVAL_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "reco/eval.h"

/* The standard normal quantile Phi^-1(p) for p in (0, 1); NaN outside. Acklam's rational
 * approximation (relative error below 1.15e-9) refined by one Halley step on erfc, which
 * brings it to a few ulps: 0.975 -> 1.959963984540054. */
double reco__normal_quantile(double p);

/* What reco__eval_write_json_ext() adds to reco_eval_write_json()'s report. */
typedef struct reco__eval_json_extra {
    /* (n_envs) nonzero: env k gets `"control": "<baseline's name>"` and a `"control_lifts"`
     * object of the shape of "lifts" with the one policy `control_policy` over
     * `control_baseline`; NULL: none */
    const unsigned char *control;
    uint32_t control_policy, control_baseline;
    /* (n_envs) text written after env k's entry, inside "environments" (another entry, from
     * its leading comma), or NULL entries; NULL: none */
    const char *const *after;
} reco__eval_json_extra;

/* reco_eval_write_json() with the extras of `x` (NULL: none). */
int reco__eval_write_json_ext(const reco_eval *const *evals, const char *const *env_names,
                              uint32_t n_envs, const char *const *policy_names,
                              uint32_t baseline, const reco__eval_json_extra *x,
                              const char *path);

/* A number as the reports write it: the shortest text that reads back exactly, "null" for a
 * non-finite one. `cap` >= 40. */
void reco__eval_format_num(char *buf, size_t cap, double v);

/* Whether the reports list metric `metric` of `eval`. */
int reco__eval_metric_listed(const reco_eval *eval, uint32_t metric);

#endif /* RECO_EVAL_PRIVATE_H */
