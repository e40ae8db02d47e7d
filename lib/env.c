/* What a reco_env declares: reco_env_check() and the signal names (include/reco/env.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "env_private.h"
#include "error_private.h"
#include "reco/env.h"

/* "signal0" .. "signal31": the names of an env that declares none. */
static const char *const default_names[32] = {
    "signal0",  "signal1",  "signal2",  "signal3",  "signal4",  "signal5",  "signal6",
    "signal7",  "signal8",  "signal9",  "signal10", "signal11", "signal12", "signal13",
    "signal14", "signal15", "signal16", "signal17", "signal18", "signal19", "signal20",
    "signal21", "signal22", "signal23", "signal24", "signal25", "signal26", "signal27",
    "signal28", "signal29", "signal30", "signal31"};

const char *reco_env_signal_name(const reco_env *env, uint32_t f)
{
    if (env == NULL || f >= env->n_signals || f >= 32)
        return NULL;
    if (env->version >= 4 && env->signal_names != NULL && env->signal_names[f] != NULL)
        return env->signal_names[f];
    return default_names[f];
}

int reco__env_name_ok(const char *name)
{
    size_t n = 0;
    if (name == NULL || !(name[0] >= 'a' && name[0] <= 'z'))
        return 0;
    for (; name[n] != '\0'; n++) {
        const char c = name[n];
        if (n >= RECO_SIGNAL_NAME_MAX ||
            !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

int reco__env_check(const reco_env *env, const char *fn)
{
    if (env == NULL)
        return reco__error_set(RECO_EINVAL, "%s: env is NULL", fn);
    if (env->version < 1 || env->version > RECO_ENV_VERSION)
        return reco__error_set(RECO_EVERSION, "%s: reco_env version %u is not supported "
                               "(accepted: 1..%d)", fn, env->version, RECO_ENV_VERSION);
    if (env->reset == NULL || env->observe == NULL || env->candidates == NULL ||
        env->step == NULL)
        return reco__error_set(RECO_EINVAL, "%s: the env lacks a session callback (reset, "
                               "observe, candidates and step are required)", fn);
    if (env->max_sessions == 0 || env->lookback == 0 || env->n_items == 0)
        return reco__error_set(RECO_EINVAL, "%s: the env has max_sessions %u, lookback %u and "
                               "n_items %u (each must be >= 1)", fn, env->max_sessions,
                               env->lookback, env->n_items);
    if (env->n_signals < 1 || env->n_signals > 32)
        return reco__error_set(RECO_EINVAL, "%s: the env has %u signals (1..32)", fn,
                               env->n_signals);
    if (env->version < 4)
        return RECO_OK;
    const uint32_t F = env->n_signals;
    if (env->signal_names != NULL)
        for (uint32_t f = 0; f < F; f++) {
            if (!reco__env_name_ok(env->signal_names[f]))
                return reco__error_set(RECO_EINVAL, "%s: the env's signal_names[%u] is not a "
                                       "name (1..%d characters of [a-z0-9_], from a letter)",
                                       fn, f, RECO_SIGNAL_NAME_MAX);
            for (uint32_t g = 0; g < f; g++)
                if (strcmp(env->signal_names[g], env->signal_names[f]) == 0)
                    return reco__error_set(RECO_EINVAL, "%s: the env names signals %u and %u "
                                           "both \"%s\"", fn, g, f, env->signal_names[f]);
        }
    if (env->reward_weights != NULL)
        for (uint32_t f = 0; f < F; f++)
            if (!isfinite(env->reward_weights[f]))
                return reco__error_set(RECO_EINVAL, "%s: the env's reward_weights[%u] is not "
                                       "finite", fn, f);
    return RECO_OK;
}

int reco_env_check(const reco_env *env)
{
    return reco__env_check(env, "reco_env_check");
}

const float *reco__env_reward_weights(const reco_env *env)
{
    return env != NULL && env->version >= 4 ? env->reward_weights : NULL;
}

uint32_t reco__env_max_candidates(const reco_env *env)
{
    return env != NULL && env->version >= 4 ? env->max_candidates : 0;
}

int reco__env_check_weights(const reco_env *env, const float *weights, uint32_t n,
                            const char *fn, const char *who)
{
    const float *w = reco__env_reward_weights(env);
    if (w == NULL || weights == NULL)
        return RECO_OK;
    if (n != env->n_signals)
        return reco__error_set(RECO_EINVAL, "%s: %s has %u signal weights; the env has %u "
                               "signals", fn, who, n, env->n_signals);
    for (uint32_t f = 0; f < n; f++)
        if (weights[f] != w[f])
            return reco__error_set(RECO_EINVAL, "%s: %s weighs signal %u (%s) %g; the env's "
                                   "reward weight is %g", fn, who, f,
                                   reco_env_signal_name(env, f), (double)weights[f],
                                   (double)w[f]);
    return RECO_OK;
}
