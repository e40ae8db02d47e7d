/* A second environment, written for the tests, with mechanics unlike the built-in world's:
 * the time-budget world. Users leave when their session has used up a per-user time budget;
 * they click on what their observable feature vector likes, on their hidden favourite topic,
 * and more on topics they clicked recently (a hidden interest that only their history
 * reveals); items have a topic and a quality. It is a version-4 reco_env with the session
 * context (steps, elapsed seconds, the long-term history) and an oracle (probabilities()),
 * that declares its signals ("click", "watch"), reward weights, candidate count and cap,
 * and it gives user features and item features, so it exercises every input of the feedback
 * model. The built-in world never sees these tests; the library must work on both.
 *
 * Catalog: BUDGET_NI items; item i has topic i % BUDGET_K and quality q_i ~ U(0, 1).
 * Users (BUDGET_NU): features z_u ~ N(0, I) in R^BUDGET_D (observe() returns them, user_dim
 * = BUDGET_D), a hidden favourite topic f_u, a hidden budget B_u = 240 exp(0.15 N(0, 1))
 * seconds. Topic vectors w_k ~ N(0, I / D).
 * Two signals: click (bit 0) and watch (bit 1, only after a click).
 *   P(click)          = sigmoid(-2 + 2.5 z_u . w_k + 2 [k = f_u] + 2.5 share_u(k) + (q_i - .5))
 *   P(watch | click)  = sigmoid(-0.5 + 3 (q_i - 0.5))
 * where share_u(k) is the share of topic k among the user's clicks in their last 20
 * interactions (0 without clicks), across sessions.
 * A step takes 4 s, plus 20 s after a click, plus 40 s after a watch. After the step the
 * user exits with probability sigmoid((elapsed - B_u) / 12), elapsed the session's seconds
 * so far including this step; sessions are cut (truncated) at 80 steps.
 * Reward: click 0.2, watch 1.
 *
 * History: every interaction is appended to the user's own history (kept across sessions),
 * so observe() shows the user's last L interactions (reaching into earlier sessions) and
 * context()'s long-term history the H before the session. Candidates: BUDGET_NC uniform
 * distinct items. Randomness: each session draws from a stream seeded by (seed, user, the
 * user's session count). */
#ifndef RECO_TEST_BUDGET_ENV_H
#define RECO_TEST_BUDGET_ENV_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reco/reco.h"

#define BUDGET_NI 120
#define BUDGET_K 8
#define BUDGET_D 6
#define BUDGET_NU 400
#define BUDGET_NC 20
#define BUDGET_SLOTS 64
#define BUDGET_HMAX 256 /* interactions kept per user: more than a session and H */
#define BUDGET_MAX_LEN 80
#define BUDGET_RECENT 20

typedef struct budget_env {
    uint32_t lookback, long_len;
    uint64_t seed;
    float q[BUDGET_NI];
    float w[BUDGET_K][BUDGET_D];
    float z[BUDGET_NU][BUDGET_D];
    uint32_t fav[BUDGET_NU];
    float budget[BUDGET_NU];
    uint32_t sessions[BUDGET_NU];
    /* each user's history, oldest first: the last BUDGET_HMAX interactions */
    int32_t h_item[BUDGET_NU][BUDGET_HMAX];
    uint32_t h_fb[BUDGET_NU][BUDGET_HMAX];
    uint32_t h_len[BUDGET_NU];
    /* slots */
    uint32_t user[BUDGET_SLOTS], steps[BUDGET_SLOTS];
    float elapsed[BUDGET_SLOTS];
    int done[BUDGET_SLOTS];
    reco_rng rng[BUDGET_SLOTS];
} budget_env;

static double budget_sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

static void budget_push(budget_env *e, uint32_t u, int32_t item, uint32_t fb)
{
    if (e->h_len[u] == BUDGET_HMAX) {
        memmove(e->h_item[u], e->h_item[u] + 1, (BUDGET_HMAX - 1) * sizeof(int32_t));
        memmove(e->h_fb[u], e->h_fb[u] + 1, (BUDGET_HMAX - 1) * sizeof(uint32_t));
        e->h_len[u]--;
    }
    e->h_item[u][e->h_len[u]] = item;
    e->h_fb[u][e->h_len[u]] = fb;
    e->h_len[u]++;
}

/* Copies the `w` interactions of user u that end before position `end` of its history into
 * a window, right-aligned, pads in front. */
static void budget_window(int32_t *items, uint32_t *fb, uint32_t w, const budget_env *e,
                          uint32_t u, uint32_t end)
{
    for (uint32_t t = 0; t < w; t++) {
        const int64_t k = (int64_t)end - (int64_t)w + t;
        items[t] = k >= 0 ? e->h_item[u][k] : RECO_PAD;
        fb[t] = k >= 0 ? e->h_fb[u][k] : 0;
    }
}

/* P(click), P(watch | click) of item i for user u now. */
static void budget_item_probs(double *pc, double *pw, const budget_env *e, uint32_t u,
                              int32_t i)
{
    const uint32_t k = (uint32_t)i % BUDGET_K;
    double dot = 0.0;
    for (int j = 0; j < BUDGET_D; j++)
        dot += (double)e->z[u][j] * e->w[k][j];
    uint32_t clicks = 0, on_k = 0;
    const uint32_t n = e->h_len[u], from = n > BUDGET_RECENT ? n - BUDGET_RECENT : 0;
    for (uint32_t t = from; t < n; t++)
        if (e->h_fb[u][t] & 1u) {
            clicks++;
            on_k += (uint32_t)e->h_item[u][t] % BUDGET_K == k;
        }
    const double share = clicks > 0 ? (double)on_k / clicks : 0.0;
    *pc = budget_sigmoid(-2.0 + 2.5 * dot + 2.0 * (k == e->fav[u]) + 2.5 * share +
                         (e->q[i] - 0.5));
    *pw = budget_sigmoid(-0.5 + 3.0 * (e->q[i] - 0.5));
}

static double budget_seconds(uint32_t fb)
{
    return 4.0 + 20.0 * (fb & 1u) + 40.0 * ((fb >> 1) & 1u);
}

static double budget_exit_prob(const budget_env *e, uint32_t u, double elapsed)
{
    return budget_sigmoid((elapsed - e->budget[u]) / 12.0);
}

static int budget_reset(const uint32_t *slots, const uint64_t *users, uint32_t n, void *payload)
{
    budget_env *e = payload;
    for (uint32_t i = 0; i < n; i++) {
        if (slots[i] >= BUDGET_SLOTS || users[i] >= BUDGET_NU)
            return RECO_EINVAL;
        const uint32_t s = slots[i], u = (uint32_t)users[i];
        e->user[s] = u;
        e->steps[s] = 0;
        e->elapsed[s] = 0.0f;
        e->done[s] = 0;
        reco_rng_seed(&e->rng[s], e->seed ^ ((uint64_t)e->sessions[u] << 40), u);
        e->sessions[u]++;
    }
    return RECO_OK;
}

static int budget_observe(int32_t *items, uint32_t *fb, float *feat, const uint32_t *slots,
                          uint32_t n, void *payload)
{
    const budget_env *e = payload;
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t u = e->user[slots[i]];
        budget_window(items + (size_t)i * e->lookback, fb + (size_t)i * e->lookback, e->lookback,
                      e, u, e->h_len[u]);
        if (feat != NULL)
            memcpy(feat + (size_t)i * BUDGET_D, e->z[u], BUDGET_D * sizeof(float));
    }
    return RECO_OK;
}

static int budget_context(uint32_t *steps, float *elapsed, int32_t *long_items,
                          uint32_t *long_fb, const uint32_t *slots, uint32_t n, void *payload)
{
    const budget_env *e = payload;
    int32_t it[BUDGET_HMAX];
    uint32_t fb[BUDGET_HMAX];
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t s = slots[i];
        if (steps != NULL)
            steps[i] = e->steps[s];
        if (elapsed != NULL)
            elapsed[i] = e->elapsed[s];
        if (e->long_len > 0) {
            /* the session's own steps are the newest: the long history ends before them */
            const uint32_t u = e->user[s];
            budget_window(it, fb, e->long_len, e, u, e->h_len[u] - e->steps[s]);
            if (long_items != NULL)
                memcpy(long_items + (size_t)i * e->long_len, it, e->long_len * sizeof(int32_t));
            if (long_fb != NULL)
                memcpy(long_fb + (size_t)i * e->long_len, fb, e->long_len * sizeof(uint32_t));
        }
    }
    return RECO_OK;
}

static int budget_candidates(int32_t *items, uint32_t *count, uint32_t max_candidates,
                             const uint32_t *slots, uint32_t n, void *payload)
{
    budget_env *e = payload;
    const uint32_t k = max_candidates < BUDGET_NC ? max_candidates : BUDGET_NC;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t tmp[BUDGET_NC];
        reco_rng_sample(tmp, &e->rng[slots[i]], BUDGET_NI, k);
        for (uint32_t j = 0; j < k; j++)
            items[(size_t)i * max_candidates + j] = (int32_t)tmp[j];
        count[i] = k;
    }
    return RECO_OK;
}

/* The truth: P(click), P(watch) (marginal), P(exit) summed over the outcomes. */
static int budget_probabilities(float *probs, const uint32_t *slots, const int32_t *items,
                                uint32_t n, void *payload)
{
    const budget_env *e = payload;
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t s = slots[i], u = e->user[s];
        double pc, pw;
        budget_item_probs(&pc, &pw, e, u, items[i]);
        const double el = e->elapsed[s];
        const double p_exit = (1.0 - pc) * budget_exit_prob(e, u, el + budget_seconds(0)) +
                              pc * (1.0 - pw) * budget_exit_prob(e, u, el + budget_seconds(1)) +
                              pc * pw * budget_exit_prob(e, u, el + budget_seconds(3));
        probs[i * 3] = (float)pc;
        probs[i * 3 + 1] = (float)(pc * pw);
        probs[i * 3 + 2] = (float)p_exit;
    }
    return RECO_OK;
}

static int budget_step(uint32_t *fb_out, float *reward, int *done, const uint32_t *slots,
                       const int32_t *items, uint32_t n, void *payload)
{
    budget_env *e = payload;
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t s = slots[i], u = e->user[s];
        if (e->done[s] || items[i] < 0 || items[i] >= BUDGET_NI)
            return RECO_EINVAL;
        double pc, pw;
        budget_item_probs(&pc, &pw, e, u, items[i]);
        const int click = reco_rng_bernoulli(&e->rng[s], pc);
        const int watch = click && reco_rng_bernoulli(&e->rng[s], pw);
        const uint32_t fb = (uint32_t)click | (uint32_t)watch << 1;
        e->elapsed[s] += (float)budget_seconds(fb);
        const int ex = reco_rng_bernoulli(&e->rng[s], budget_exit_prob(e, u, e->elapsed[s]));
        budget_push(e, u, items[i], fb);
        e->steps[s]++;
        fb_out[i] = fb;
        reward[i] = 0.2f * (float)click + (float)watch;
        done[i] = ex ? RECO_ENV_EXIT
                     : e->steps[s] >= BUDGET_MAX_LEN ? RECO_ENV_TRUNCATED : RECO_ENV_CONTINUE;
        e->done[s] = done[i] != RECO_ENV_CONTINUE;
    }
    return RECO_OK;
}

/* The item features: quality (dense, 1) and topic (one field of BUDGET_K values). */
static inline void budget_item_features(const budget_env *e, float *dense, int32_t *fields)
{
    for (uint32_t i = 0; i < BUDGET_NI; i++) {
        dense[i] = e->q[i];
        fields[i] = (int32_t)(i % BUDGET_K);
    }
}

/* Draws the catalog and the users from `seed` and fills `env`. `e` is large: allocate it. */
static inline void budget_env_init(reco_env *env, budget_env *e, uint32_t lookback,
                                   uint32_t long_len, uint64_t seed)
{
    memset(e, 0, sizeof *e);
    e->lookback = lookback;
    e->long_len = long_len;
    e->seed = seed;
    reco_rng r;
    reco_rng_seed(&r, seed, 7);
    for (uint32_t i = 0; i < BUDGET_NI; i++)
        e->q[i] = (float)reco_rng_uniform(&r);
    for (uint32_t k = 0; k < BUDGET_K; k++)
        for (int j = 0; j < BUDGET_D; j++)
            e->w[k][j] = (float)(reco_rng_normal(&r) / sqrt((double)BUDGET_D));
    for (uint32_t u = 0; u < BUDGET_NU; u++) {
        for (int j = 0; j < BUDGET_D; j++)
            e->z[u][j] = (float)reco_rng_normal(&r);
        e->fav[u] = (uint32_t)reco_rng_below(&r, BUDGET_K);
        e->budget[u] = (float)(240.0 * exp(0.15 * reco_rng_normal(&r)));
    }
    for (uint32_t s = 0; s < BUDGET_SLOTS; s++)
        e->done[s] = 1;
    memset(env, 0, sizeof *env);
    env->version = RECO_ENV_VERSION;
    env->n_items = BUDGET_NI;
    env->n_signals = 2;
    env->lookback = lookback;
    env->user_dim = BUDGET_D;
    env->max_sessions = BUDGET_SLOTS;
    env->reset = budget_reset;
    env->observe = budget_observe;
    env->candidates = budget_candidates;
    env->step = budget_step;
    env->payload = e;
    env->long_len = long_len;
    env->context = budget_context;
    env->probabilities = budget_probabilities;
    static const char *const names[2] = {"click", "watch"};
    static const float weights[2] = {0.2f, 1.0f};
    env->signal_names = names;
    env->reward_weights = weights;
    env->max_candidates = BUDGET_NC;
    env->max_steps = BUDGET_MAX_LEN;
}

#endif /* RECO_TEST_BUDGET_ENV_H */
