/* Walker's alias method (Vose's construction): O(1) draws from a discrete distribution over
 * n outcomes, for the world's and the simulator's popularity-weighted candidates. */
#ifndef RECO_ALIAS_PRIVATE_H
#define RECO_ALIAS_PRIVATE_H

#include <stdint.h>

#include "reco/rng.h"

/* Builds prob (n) and alias (n) from p (n, summing to 1); small and large are (n) work
 * lists. */
static inline void reco__alias_build(float *prob, uint32_t *alias, const float *p, uint32_t n,
                                     uint32_t *small, uint32_t *large)
{
    uint32_t ns = 0, nl = 0;
    for (uint32_t i = 0; i < n; i++) {
        prob[i] = (float)((double)p[i] * n);
        alias[i] = i;
        if (prob[i] < 1.0f)
            small[ns++] = i;
        else
            large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
        const uint32_t s = small[--ns], g = large[nl - 1];
        alias[s] = g;
        prob[g] = (prob[g] + prob[s]) - 1.0f;
        if (prob[g] < 1.0f) {
            nl--;
            small[ns++] = g;
        }
    }
    /* Leftovers are 1 up to round-off. */
    while (nl > 0)
        prob[large[--nl]] = 1.0f;
    while (ns > 0)
        prob[small[--ns]] = 1.0f;
}

/* One draw: an outcome uniformly, kept with its probability, else its alias. */
static inline uint32_t reco__alias_draw(reco_rng *r, const float *prob, const uint32_t *alias,
                                        uint32_t n)
{
    const uint32_t i = (uint32_t)reco_rng_below(r, n);
    return reco_rng_uniformf(r) < prob[i] ? i : alias[i];
}

#endif /* RECO_ALIAS_PRIVATE_H */
