/* What the loops that play a reco_policy in a reco_env share (the session runner of policy.c
 * and the evaluator of eval.c): the check of a policy against the env, and the one call that
 * hands a policy the states read by lib/state.c. */
#ifndef RECO_POLICY_PRIVATE_H
#define RECO_POLICY_PRIVATE_H

#include "reco/policy.h"
#include "state_private.h"

/* RECO_OK if `policy` can be played in `env`: a supported version with choose(), the
 * lookback and user_dim it declares equal to the env's, and, for a built-in model policy,
 * a model that can read the env's states (reco__states_check_model) and a struct of version
 * 2 when the model takes the session context. Else RECO_EINVAL; the message is prefixed by
 * `fn` and names the policy as `who` ("the policy", "policy 2"). */
int reco__policy_check(const reco_policy *policy, const reco_env *env, const char *fn,
                       const char *who);

/* 1 when the policy may read the states it is given: any but the built-in ones that read
 * none (random, popularity, weighted); a runner observes them then. */
int reco__policy_reads_states(const reco_policy *policy);

/* Reseeds a built-in policy's random stream (the log generator's logging rules keep the
 * stream they have always drawn from). */
void reco__policy_set_stream(reco_policy_state *s, uint64_t seed, uint64_t stream);

/* The policy's choice for rows 0 .. n-1 of `s` (filled by reco__states_observe), with the
 * (n, max_candidates) candidates: choose_states() with the whole state when the policy is of
 * version 2 and sets it, else choose() with the window and user features. A version-1 struct
 * is read only up to its own fields. */
static inline int reco__policy_choose(uint32_t *index_out, const reco_policy *policy,
                                      const reco__states *s, const int32_t *candidates,
                                      const uint32_t *counts, uint32_t max_candidates,
                                      uint32_t n)
{
    uint64_t cb_gen = 0; /* reco__error_generation() before each callback */
    if (policy->version >= 2 && policy->choose_states != NULL) {
        reco_batch b = reco__states_batch(s, 0, n);
        b.n_candidates = max_candidates;
        b.candidates = candidates;
        b.shared_candidates = 0;
        return RECO__CALLBACK(cb_gen, "the policy's choose_states()",
                              policy->choose_states(index_out, &b, counts, policy->payload));
    }
    return RECO__CALLBACK(cb_gen, "the policy's choose()",
                          policy->choose(index_out, s->items, s->fb, s->U > 0 ? s->feat : NULL,
                                         candidates, counts, max_candidates, n, policy->payload));
}

#endif /* RECO_POLICY_PRIVATE_H */
