/* An ensemble of simulators as one env (lib/env_mix.c), for the pipeline's training in K
 * simulators of K feedback models: slot i plays in simulator i mod K. It is an env, not a
 * session loop: each of its callbacks forwards the rows of group k to simulator k's own
 * callback, and the runner (lib/runner.c) plays the sessions in it like in any env. */
#ifndef RECO_ENV_MIX_PRIVATE_H
#define RECO_ENV_MIX_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "reco/alloc.h"
#include "reco/env.h"
#include "reco/sim.h"

#define RECO__ENV_MIX_MAX 8

typedef struct reco__env_mix {
    const reco_allocator *a;
    uint32_t K, L, U, C, H;
    reco_env sims[RECO__ENV_MIX_MAX];
    /* scratch for one call, (max_sessions) rows */
    uint32_t *slots, *rows, *counts, *fb;
    uint64_t *users;
    int32_t *items, *shown;
    uint32_t *hfb;
    float *feat, *reward;
    int *done;
    size_t cap_cand;
    int32_t *cand;
    uint32_t *steps, *long_fb;
    float *elapsed;
    int32_t *long_items;
} reco__env_mix;

/* Fills `out` with the env of the K (1..RECO__ENV_MIX_MAX) simulators `sims` (borrowed; they
 * must outlive it), S slots each, candidates up to C. RECO_ENOMEM, or the error of
 * reco_sim_env(); free with reco__env_mix_free() also on failure. */
int reco__env_mix_init(reco__env_mix *mx, reco_env *out, reco_sim *const *sims, uint32_t K,
                       uint32_t S, uint32_t C, const reco_allocator *a);

/* Frees the scratch of `mx` (zeroed or initialised). */
void reco__env_mix_free(reco__env_mix *mx);

#endif /* RECO_ENV_MIX_PRIVATE_H */
