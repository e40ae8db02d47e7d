/* A tiny deterministic reco_env for the log and fit tests (tests/test_log.c, test_fit.c):
 * the world proper is tested elsewhere; these tests need an env whose behaviour they know.
 *
 * NI items, 4 signals, `slots` session slots. Candidates: FAKE_NC distinct random items (or
 * all of them when fewer are asked). Feedback of item i after previous item `prev` in the
 * session (none at step 0):
 *   click       p = 0.9 if i and prev differ in parity, 0.1 if they agree;
 *               at step 0: 0.5 for even i, 0.2 for odd i
 *   long_watch  p = 0.7 if i % 3 == 0 else 0.15, only after a click
 *   like        p = 0.5, only after a long watch
 *   hide        p = 0.1, only without a click
 *   exit        p = 0.08 after a click, 0.25 without; always at step FAKE_MAX_LEN - 1
 * So clicks depend strongly on the history (the previous item) and barely on the item
 * alone, long watches on the item alone. All draws come from one generator seeded at
 * creation, so the same calls give the same results. */
#ifndef RECO_TEST_FAKE_ENV_H
#define RECO_TEST_FAKE_ENV_H

#include <stdlib.h>
#include <string.h>

#include "reco/reco.h"

#define FAKE_NC 10
#define FAKE_MAX_LEN 20
#define FAKE_MAX_SLOTS 64
#define FAKE_L_MAX 16

typedef struct fake_env {
    uint32_t n_items, lookback, slots;
    reco_rng rng;
    uint64_t user[FAKE_MAX_SLOTS];
    uint32_t t[FAKE_MAX_SLOTS];
    int done[FAKE_MAX_SLOTS];
    int32_t hist_item[FAKE_MAX_SLOTS][FAKE_L_MAX];
    uint32_t hist_fb[FAKE_MAX_SLOTS][FAKE_L_MAX];
    /* counters the tests look at */
    uint64_t resets, steps, observes;
    int fail_step_at;       /* > 0: step() fails on this call number */
    int bad_feedback;       /* step() returns bit 5 set */
    int no_candidates;      /* candidates() returns a count of 0 */
    int step_calls;
    uint32_t last_batch;    /* n of the last step() */
    uint64_t reset_log[256];/* the first 256 values reset() received */
    size_t n_reset_log;
} fake_env;

static int fake_reset(const uint32_t *slots, const uint64_t *users, uint32_t n, void *payload)
{
    fake_env *e = payload;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t s = slots[i];
        if (s >= e->slots)
            return RECO_EINVAL;
        e->user[s] = users[i];
        if (e->n_reset_log < 256)
            e->reset_log[e->n_reset_log++] = users[i];
        e->t[s] = 0;
        e->done[s] = 0;
        for (uint32_t k = 0; k < FAKE_L_MAX; k++) {
            e->hist_item[s][k] = RECO_PAD;
            e->hist_fb[s][k] = 0;
        }
    }
    e->resets += n;
    return RECO_OK;
}

static int fake_observe(int32_t *items_out, uint32_t *feedback_out, float *features_out,
                        const uint32_t *slots, uint32_t n, void *payload)
{
    fake_env *e = payload;
    (void)features_out;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t s = slots[i];
        memcpy(items_out + (size_t)i * e->lookback, e->hist_item[s] + FAKE_L_MAX - e->lookback,
               e->lookback * sizeof(int32_t));
        memcpy(feedback_out + (size_t)i * e->lookback, e->hist_fb[s] + FAKE_L_MAX - e->lookback,
               e->lookback * sizeof(uint32_t));
    }
    e->observes += n;
    return RECO_OK;
}

static int fake_candidates(int32_t *items_out, uint32_t *count_out, uint32_t max_candidates,
                           const uint32_t *slots, uint32_t n, void *payload)
{
    fake_env *e = payload;
    (void)slots;
    uint32_t nc = max_candidates < FAKE_NC ? max_candidates : FAKE_NC;
    if (nc > e->n_items)
        nc = e->n_items;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t tmp[FAKE_NC];
        reco_rng_sample(tmp, &e->rng, e->n_items, nc);
        for (uint32_t k = 0; k < nc; k++)
            items_out[(size_t)i * max_candidates + k] = (int32_t)tmp[k];
        count_out[i] = e->no_candidates ? 0 : nc;
    }
    return RECO_OK;
}

static int fake_step(uint32_t *feedback_out, float *reward_out, int *done_out,
                     const uint32_t *slots, const int32_t *items, uint32_t n, void *payload)
{
    fake_env *e = payload;
    e->step_calls++;
    e->last_batch = n;
    if (e->fail_step_at > 0 && e->step_calls == e->fail_step_at)
        return RECO_EIO;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t s = slots[i];
        if (e->done[s])
            return RECO_EINVAL; /* stepping a finished session is a caller bug */
        int32_t it = items[i];
        int32_t prev = e->hist_item[s][FAKE_L_MAX - 1];
        double pc;
        if (prev == RECO_PAD)
            pc = it % 2 == 0 ? 0.5 : 0.2;
        else
            pc = (it % 2) != (prev % 2) ? 0.9 : 0.1;
        uint32_t fb = 0;
        int click = reco_rng_bernoulli(&e->rng, pc);
        int lw = click && reco_rng_bernoulli(&e->rng, it % 3 == 0 ? 0.7 : 0.15);
        int like = lw && reco_rng_bernoulli(&e->rng, 0.5);
        int hide = !click && reco_rng_bernoulli(&e->rng, 0.1);
        fb = (uint32_t)click | (uint32_t)lw << 1 | (uint32_t)like << 2 | (uint32_t)hide << 3;
        if (e->bad_feedback)
            fb |= 1u << 5;
        int ex = reco_rng_bernoulli(&e->rng, click ? 0.08 : 0.25);
        if (e->t[s] + 1 >= FAKE_MAX_LEN)
            ex = 1;
        memmove(e->hist_item[s], e->hist_item[s] + 1, (FAKE_L_MAX - 1) * sizeof(int32_t));
        memmove(e->hist_fb[s], e->hist_fb[s] + 1, (FAKE_L_MAX - 1) * sizeof(uint32_t));
        e->hist_item[s][FAKE_L_MAX - 1] = it;
        e->hist_fb[s][FAKE_L_MAX - 1] = fb;
        e->t[s]++;
        e->done[s] = ex;
        feedback_out[i] = fb;
        reward_out[i] = (float)click + 2.0f * (float)lw - (float)hide;
        done_out[i] = ex;
    }
    e->steps += n;
    return RECO_OK;
}

/* Fills `env` with the callbacks of `e`, which is initialised (n_items, lookback <= 16,
 * slots <= 64, seed). */
static inline void fake_env_init(reco_env *env, fake_env *e, uint32_t n_items, uint32_t lookback,
                                 uint32_t slots, uint64_t seed)
{
    memset(e, 0, sizeof *e);
    e->n_items = n_items;
    e->lookback = lookback;
    e->slots = slots;
    reco_rng_seed(&e->rng, seed, 99);
    for (uint32_t s = 0; s < FAKE_MAX_SLOTS; s++)
        e->done[s] = 1;
    memset(env, 0, sizeof *env);
    env->version = RECO_ENV_VERSION;
    env->n_items = n_items;
    env->n_signals = 4;
    env->lookback = lookback;
    env->user_dim = 0;
    env->max_sessions = slots;
    env->reset = fake_reset;
    env->observe = fake_observe;
    env->candidates = fake_candidates;
    env->step = fake_step;
    env->payload = e;
}

#endif /* RECO_TEST_FAKE_ENV_H */
