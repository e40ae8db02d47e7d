/* Checks shared by the callers that play sessions in any reco_env (the session runner of
 * policy.c and the evaluator of eval.c). */
#ifndef RECO_ENV_PRIVATE_H
#define RECO_ENV_PRIVATE_H

#include "error_private.h"
#include "reco/env.h"

/* RECO_OK if `env` is a usable reco_env for playing sessions: a supported version, the four
 * session callbacks, at least one slot and a lookback; otherwise RECO_EINVAL, the message
 * prefixed by `fn`. */
static inline int reco__check_session_env(const reco_env *env, const char *fn)
{
    if (env->version < 1 || env->version > RECO_ENV_VERSION || env->reset == NULL ||
        env->observe == NULL || env->candidates == NULL || env->step == NULL ||
        env->max_sessions == 0 || env->lookback == 0)
        return reco__error_set(RECO_EINVAL, "%s: the env is not a valid reco_env (version, "
                               "callbacks, slots or lookback)", fn);
    return RECO_OK;
}

#endif /* RECO_ENV_PRIVATE_H */
