/* What a reco_env declares (lib/env.c), and the checks shared by the callers that play
 * sessions in any reco_env. */
#ifndef RECO_ENV_PRIVATE_H
#define RECO_ENV_PRIVATE_H

#include "error_private.h"
#include "reco/env.h"

/* 1 if `name` is 1..RECO_SIGNAL_NAME_MAX characters of [a-z0-9_] starting with a letter (a
 * signal's name, or an evaluation metric's), else 0. */
int reco__env_name_ok(const char *name);

/* reco_env_check() with the message prefixed by `fn`. */
int reco__env_check(const reco_env *env, const char *fn);

/* The env's declared reward weights (version 4), or NULL. */
const float *reco__env_reward_weights(const reco_env *env);

/* The env's declared max_candidates (version 4), or 0. */
uint32_t reco__env_max_candidates(const reco_env *env);

/* RECO_OK when the env declares no reward weights, `weights` is NULL, or the n weights equal
 * the env's exactly; otherwise RECO_EINVAL naming `who`, the signal and both values. */
int reco__env_check_weights(const reco_env *env, const float *weights, uint32_t n,
                            const char *fn, const char *who);

/* RECO_OK if `env` is a usable reco_env for playing sessions (reco_env_check()); otherwise
 * its status, the message prefixed by `fn`. */
static inline int reco__check_session_env(const reco_env *env, const char *fn)
{
    return reco__env_check(env, fn);
}

#endif /* RECO_ENV_PRIVATE_H */
