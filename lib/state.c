/* Observed states of session slots (lib/state_private.h). */
#include <string.h>

#include "alloc_private.h"
#include "error_private.h"
#include "state_private.h"

int reco__states_init(reco__states *s, const reco_allocator *a, const reco_env *env,
                      size_t cap)
{
    memset(s, 0, sizeof *s);
    s->alloc = *a;
    s->cap = cap;
    s->L = env->lookback;
    s->U = env->user_dim;
    s->H = reco__env_long_len(env);
    s->items = reco__calloc(a, cap * s->L + 1, sizeof(int32_t));
    s->fb = reco__calloc(a, cap * s->L + 1, sizeof(uint32_t));
    s->feat = s->U > 0 ? reco__calloc(a, cap * s->U, sizeof(float)) : NULL;
    s->steps = reco__calloc(a, cap + 1, sizeof(uint32_t));
    s->elapsed = reco__calloc(a, cap + 1, sizeof(float));
    s->long_items = s->H > 0 ? reco__calloc(a, cap * s->H, sizeof(int32_t)) : NULL;
    s->long_fb = s->H > 0 ? reco__calloc(a, cap * s->H, sizeof(uint32_t)) : NULL;
    if (s->items == NULL || s->fb == NULL || (s->U > 0 && s->feat == NULL) ||
        s->steps == NULL || s->elapsed == NULL ||
        (s->H > 0 && (s->long_items == NULL || s->long_fb == NULL))) {
        reco__states_free(s);
        return RECO_ENOMEM;
    }
    for (size_t i = 0; i < cap * s->H; i++)
        s->long_items[i] = RECO_PAD;
    return RECO_OK;
}

void reco__states_free(reco__states *s)
{
    reco__free(&s->alloc, s->items);
    reco__free(&s->alloc, s->fb);
    reco__free(&s->alloc, s->feat);
    reco__free(&s->alloc, s->steps);
    reco__free(&s->alloc, s->elapsed);
    reco__free(&s->alloc, s->long_items);
    reco__free(&s->alloc, s->long_fb);
    memset(s, 0, sizeof *s);
}

int reco__states_observe(reco__states *s, const reco_env *env, const uint32_t *slots,
                         uint32_t n, const uint32_t *known_steps)
{
    uint64_t cb_gen = 0; /* reco__error_generation() before each callback */
    int rc = RECO__CALLBACK(
        cb_gen, "the env's observe()",
        env->observe(s->items, s->fb, s->U > 0 ? s->feat : NULL, slots, n, env->payload));
    if (rc < 0)
        return rc;
    if (reco__env_has_context(env))
        return RECO__CALLBACK(
            cb_gen, "the env's context()",
            env->context(s->steps, s->elapsed, s->long_items, s->long_fb, slots, n, env->payload));
    for (uint32_t i = 0; i < n; i++) {
        s->steps[i] = known_steps != NULL ? known_steps[i] : 0;
        s->elapsed[i] = 0.0f;
    }
    return RECO_OK;
}

reco_batch reco__states_batch(const reco__states *s, size_t row0, size_t n)
{
    reco_batch b = RECO_BATCH_INIT;
    b.size = (uint32_t)n;
    b.items = s->items + row0 * s->L;
    b.feedback = s->fb + row0 * s->L;
    b.user_features = s->U > 0 ? s->feat + row0 * s->U : NULL;
    b.steps = s->steps + row0;
    b.elapsed = s->elapsed + row0;
    b.long_items = s->H > 0 ? s->long_items + row0 * s->H : NULL;
    b.long_feedback = s->H > 0 ? s->long_fb + row0 * s->H : NULL;
    return b;
}

int reco__states_check_model(const reco_env *env, const reco_model_options *mo, const char *fn)
{
    const uint32_t H = reco__env_long_len(env);
    if (mo->lookback != env->lookback || mo->user_dim != env->user_dim)
        return reco__error_set(RECO_EINVAL, "%s: the model has lookback %u and user_dim %u, "
                               "the env %u and %u", fn, mo->lookback, mo->user_dim,
                               env->lookback, env->user_dim);
    if (mo->long_len != 0 && mo->long_len != H)
        return reco__error_set(RECO_EINVAL, "%s: the model's long-term history has %u slots, "
                               "the env's %u", fn, mo->long_len, H);
    if ((mo->elapsed || mo->long_len > 0) && !reco__env_has_context(env))
        return reco__error_set(RECO_EINVAL, "%s: the model takes the session context "
                               "(elapsed time or long-term history), which the env does not "
                               "give (no context() callback)", fn);
    return RECO_OK;
}
