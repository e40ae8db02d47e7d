/* The observed states of a batch of session slots: what reco_env's observe() and context()
 * give, in the layout a reco_batch takes. Shared by every loop that plays sessions (the
 * session runner, the evaluator, the log generator, the trainer's generators) so that each
 * passes a model the same inputs: the window, the user features and the session context. */
#ifndef RECO_STATE_PRIVATE_H
#define RECO_STATE_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "reco/alloc.h"
#include "reco/env.h"
#include "reco/model.h"

/* The env's long-term history length: 0 before version 3. */
static inline uint32_t reco__env_long_len(const reco_env *env)
{
    return env->version >= 3 ? env->long_len : 0;
}

/* 1 when the env gives the session context (version 3 with a context() callback). */
static inline int reco__env_has_context(const reco_env *env)
{
    return env->version >= 3 && env->context != NULL;
}

/* Rows 0 .. cap-1 of states; (cap, L), (cap, U), (cap), (cap, H) arrays. */
typedef struct reco__states {
    reco_allocator alloc;
    size_t cap, L, U, H;
    int32_t *items;
    uint32_t *fb;
    float *feat;     /* NULL when U is 0 */
    uint32_t *steps;
    float *elapsed;
    int32_t *long_items; /* NULL when H is 0 */
    uint32_t *long_fb;
} reco__states;

/* Buffers for `cap` rows of `env`'s states, from `a`. RECO_ENOMEM on failure (nothing to
 * free). */
int reco__states_init(reco__states *s, const reco_allocator *a, const reco_env *env,
                      size_t cap);
void reco__states_free(reco__states *s);

/* observe() and, when the env has it, context() of `n` slots into rows 0 .. n-1. Without
 * context(), steps come from `known_steps` (n values, or NULL for 0), the elapsed time is 0
 * and the long-term history all pads. Returns the env's status. */
int reco__states_observe(reco__states *s, const reco_env *env, const uint32_t *slots,
                         uint32_t n, const uint32_t *known_steps);

/* A reco_batch (current version) over rows row0 .. row0 + n - 1 with every state input set;
 * the candidates are the caller's. */
reco_batch reco__states_batch(const reco__states *s, size_t row0, size_t n);

/* RECO_OK if a model with options `mo` can read `env`'s states (same lookback and user
 * features, a long-term history of exactly the env's length, and a context() when the model
 * takes the elapsed time or a long-term history; a model with the position only may play in
 * an env without context(): the runners give it their own step counts); else RECO_EINVAL
 * naming the mismatch, the message prefixed by `fn`. */
int reco__states_check_model(const reco_env *env, const reco_model_options *mo, const char *fn);

#endif /* RECO_STATE_PRIVATE_H */
