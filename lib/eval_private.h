/* Internals of the evaluator (lib/eval.c) that tests reach directly. */
#ifndef RECO_EVAL_PRIVATE_H
#define RECO_EVAL_PRIVATE_H

/* The standard normal quantile Phi^-1(p) for p in (0, 1); NaN outside. Acklam's rational
 * approximation (relative error below 1.15e-9) refined by one Halley step on erfc, which
 * brings it to a few ulps: 0.975 -> 1.959963984540054. */
double reco__normal_quantile(double p);

#endif /* RECO_EVAL_PRIVATE_H */
