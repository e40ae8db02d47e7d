/* Internals of reco_explorer shared with tests/test_explorer.c (an internal test). */
#ifndef RECO_EXPLORER_PRIVATE_H
#define RECO_EXPLORER_PRIVATE_H

#include <stddef.h>

#include "reco/explorer.h"

/* Iteration budget of the quickselect before it falls back to heapsort (introselect), for
 * n values: enough for any ordinary input, and O(n log n) in the worst case. */
unsigned reco__explorer_depth_limit(size_t n);

/* The k-th largest value (1 <= k <= n) of a[0..n), n >= 1; *greater_out receives how many
 * values are strictly above it and *equal_out how many equal it. Quickselect with a sampled
 * pivot (median of three below 64 values) and a three-way, branch-free split that rotates
 * through `a`, `tmp1` and `tmp2` (each of capacity n; all are clobbered); after `depth_limit`
 * passes it heapsorts what is left. The values must be ordered by `<` (no NaN). */
float reco__explorer_kth_largest(size_t *greater_out, size_t *equal_out, float *a, float *tmp1,
                                 float *tmp2, size_t n, size_t k, unsigned depth_limit);

/* e^x for x <= 0 as the explorer computes its softmax weights (single precision, relative
 * error below 3e-7; exactly 1 at 0 and exactly 0 below -87). */
float reco__explorer_exp_neg(float x);

#endif /* RECO_EXPLORER_PRIVATE_H */
