/* A scripted reco_env of version 3 with a context() callback, shared by test_policy.c and
 * test_eval.c: every output is a function of (user, t), t the steps the slot has taken in its
 * session, so a test can build by hand the state a runner should have handed a policy.
 *
 * The context is chosen so that a runner that drops it is caught: the env's `steps` are
 * offset from the runner's own count (by 2 (user mod 3)), the elapsed time is not 0 and the
 * long-term history is not all pads. With `ctx_env_make(..., with_context = 0)` the same env
 * has no context() (the runner then supplies its count, 0 seconds and pads). Every step is
 * logged (user, t, item shown); the slots of the last observe() are kept, so a policy can
 * find each row's (user, t). */
#ifndef RECO_TEST_CTX_ENV_H
#define RECO_TEST_CTX_ENV_H

#include <math.h>

#include "test_common.h"

enum {
    CTX_NI = 30, /* items */
    CTX_L = 4,   /* lookback */
    CTX_U = 2,   /* user features */
    CTX_H = 3,   /* long-term history */
    CTX_F = 4,   /* signals */
    CTX_SLOTS = 3,
    CTX_MAXC = 8, /* most candidates a row has */
    CTX_LOG = 1024
};

typedef struct ctx_env {
    uint64_t user[CTX_SLOTS];
    uint32_t t[CTX_SLOTS];
    uint32_t last_slots[CTX_SLOTS], n_last; /* of the last observe() */
    uint32_t n_context;                     /* context() calls */
    uint32_t n_log;
    uint64_t log_user[CTX_LOG];
    uint32_t log_t[CTX_LOG];
    int32_t log_item[CTX_LOG];
} ctx_env;

/* ---- the script: each output as a function of (user, t) ---------------------------------- */

static inline void ctx_window(int32_t *items, uint32_t *fb, uint64_t user, uint32_t t)
{
    for (uint32_t j = 0; j < CTX_L; j++) {
        const int pad = j + t + (user % 2) < CTX_L - 1; /* early steps: pads in front */
        items[j] = pad ? RECO_PAD : (int32_t)((user * 7 + t * 3 + j * 5) % CTX_NI);
        fb[j] = pad ? 0u : (uint32_t)((user + t + j) % 16);
    }
}

static inline void ctx_features(float *feat, uint64_t user)
{
    for (uint32_t k = 0; k < CTX_U; k++)
        feat[k] = sinf((float)user + 1.7f * (float)k);
}

static inline uint32_t ctx_steps(uint64_t user, uint32_t t)
{
    return t + 2u * (uint32_t)(user % 3);
}

static inline float ctx_elapsed(uint64_t user, uint32_t t)
{
    return 7.5f * (float)t + 30.0f * (float)(user % 5);
}

/* Oldest first; the session's own constant: the user's interactions before it. */
static inline void ctx_long(int32_t *items, uint32_t *fb, uint64_t user)
{
    for (uint32_t j = 0; j < CTX_H; j++) {
        const int pad = j < user % 2;
        items[j] = pad ? RECO_PAD : (int32_t)((user * 11 + j * 13) % CTX_NI);
        fb[j] = pad ? 0u : (uint32_t)((user + 3 * j) % 16);
    }
}

static inline uint32_t ctx_n_candidates(uint64_t user, uint32_t t)
{
    return 3u + (uint32_t)((user + t) % (CTX_MAXC - 2));
}

static inline int32_t ctx_candidate(uint64_t user, uint32_t t, uint32_t j)
{
    return (int32_t)((user * 5 + t * 7 + j * 11) % CTX_NI);
}

static inline uint32_t ctx_depth(uint64_t user)
{
    return 3u + (uint32_t)(user % 4);
}

/* ---- the callbacks ----------------------------------------------------------------------- */

static inline int ctx_reset(const uint32_t *slots, const uint64_t *users, uint32_t n, void *payload)
{
    ctx_env *e = payload;
    for (uint32_t i = 0; i < n; i++) {
        assert_true(slots[i] < CTX_SLOTS);
        e->user[slots[i]] = users[i];
        e->t[slots[i]] = 0;
    }
    return RECO_OK;
}

static inline int ctx_observe(int32_t *items, uint32_t *fb, float *feat, const uint32_t *slots,
                              uint32_t n, void *payload)
{
    ctx_env *e = payload;
    assert_non_null(feat);
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t sl = slots[i];
        ctx_window(items + (size_t)i * CTX_L, fb + (size_t)i * CTX_L, e->user[sl], e->t[sl]);
        ctx_features(feat + (size_t)i * CTX_U, e->user[sl]);
        e->last_slots[i] = sl;
    }
    e->n_last = n;
    return RECO_OK;
}

static inline int ctx_context(uint32_t *steps, float *elapsed, int32_t *long_items,
                              uint32_t *long_fb, const uint32_t *slots, uint32_t n, void *payload)
{
    ctx_env *e = payload;
    e->n_context++;
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t sl = slots[i];
        if (steps != NULL)
            steps[i] = ctx_steps(e->user[sl], e->t[sl]);
        if (elapsed != NULL)
            elapsed[i] = ctx_elapsed(e->user[sl], e->t[sl]);
        int32_t li[CTX_H];
        uint32_t lf[CTX_H];
        ctx_long(li, lf, e->user[sl]);
        if (long_items != NULL)
            memcpy(long_items + (size_t)i * CTX_H, li, sizeof li);
        if (long_fb != NULL)
            memcpy(long_fb + (size_t)i * CTX_H, lf, sizeof lf);
    }
    return RECO_OK;
}

static inline int ctx_candidates(int32_t *items, uint32_t *count, uint32_t max_candidates,
                                 const uint32_t *slots, uint32_t n, void *payload)
{
    ctx_env *e = payload;
    for (uint32_t i = 0; i < n; i++) {
        const uint64_t u = e->user[slots[i]];
        const uint32_t t = e->t[slots[i]];
        count[i] = ctx_n_candidates(u, t);
        assert_true(count[i] <= max_candidates);
        for (uint32_t j = 0; j < count[i]; j++)
            items[(size_t)i * max_candidates + j] = ctx_candidate(u, t, j);
    }
    return RECO_OK;
}

static inline int ctx_step(uint32_t *fb, float *reward, int *done, const uint32_t *slots,
                           const int32_t *items, uint32_t n, void *payload)
{
    ctx_env *e = payload;
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t sl = slots[i];
        assert_true(e->n_log < CTX_LOG);
        e->log_user[e->n_log] = e->user[sl];
        e->log_t[e->n_log] = e->t[sl];
        e->log_item[e->n_log++] = items[i];
        const uint32_t t = e->t[sl]++;
        fb[i] = (uint32_t)((e->user[sl] + t) % 16);
        reward[i] = 1.0f;
        done[i] = e->t[sl] >= ctx_depth(e->user[sl]) ? RECO_ENV_EXIT : RECO_ENV_CONTINUE;
    }
    return RECO_OK;
}

/* A version-3 env with long_len CTX_H, with or without context(). */
static inline void ctx_env_make(reco_env *env, ctx_env *e, int with_context)
{
    memset(e, 0, sizeof *e);
    memset(env, 0, sizeof *env);
    env->version = 3;
    env->n_items = CTX_NI;
    env->n_signals = CTX_F;
    env->lookback = CTX_L;
    env->user_dim = CTX_U;
    env->max_sessions = CTX_SLOTS;
    env->reset = ctx_reset;
    env->observe = ctx_observe;
    env->candidates = ctx_candidates;
    env->step = ctx_step;
    env->payload = e;
    env->long_len = CTX_H;
    env->context = with_context ? ctx_context : NULL;
}

/* A model of the env's items, lookback and user features that takes the position, the
 * elapsed time and `long_len` slots of long-term history as asked; max_batch 2, below the
 * env's 3 slots, so a policy scores in chunks. */
static inline reco_model *ctx_model(int position, int elapsed, uint32_t long_len)
{
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = CTX_NI;
    o.dim = 8;
    o.lookback = CTX_L;
    o.n_heads = 2;
    o.ffn_dim = 8;
    o.n_signals = CTX_F;
    o.user_dim = CTX_U;
    o.position = position;
    o.elapsed = elapsed;
    o.long_len = long_len;
    o.max_batch = 2;
    o.max_candidates = CTX_MAXC;
    o.init_std = 0.5f;
    o.seed = 23;
    reco_model *m = NULL;
    assert_int_equal(reco_model_create(&m, &o), RECO_OK);
    return m;
}

static const float ctx_weights[CTX_F] = {0.1f, 1.0f, 0.3f, -0.5f};

/* The greedy choice for (user, t) by a direct reco_model_score of one hand-built row: with
 * the env's context (`with_context`), or with what a runner has without one (steps t, 0 s,
 * pads). The sum is the policy's: in float, signals in order, the first maximum wins. */
static inline uint32_t ctx_expected_choice(const reco_model *m, uint64_t user, uint32_t t,
                                           int with_context)
{
    int32_t items[CTX_L], cand[CTX_MAXC], long_items[CTX_H];
    uint32_t fb[CTX_L], long_fb[CTX_H], steps = t;
    float feat[CTX_U], elapsed = 0.0f;
    ctx_window(items, fb, user, t);
    ctx_features(feat, user);
    for (uint32_t j = 0; j < CTX_H; j++) {
        long_items[j] = RECO_PAD;
        long_fb[j] = 0;
    }
    if (with_context) {
        steps = ctx_steps(user, t);
        elapsed = ctx_elapsed(user, t);
        ctx_long(long_items, long_fb, user);
    }
    const uint32_t nc = ctx_n_candidates(user, t);
    for (uint32_t j = 0; j < nc; j++)
        cand[j] = ctx_candidate(user, t, j);
    reco_batch b = RECO_BATCH_INIT;
    b.size = 1;
    b.items = items;
    b.feedback = fb;
    b.user_features = feat;
    b.n_candidates = nc;
    b.candidates = cand;
    b.steps = &steps;
    b.elapsed = &elapsed;
    b.long_items = long_items;
    b.long_feedback = long_fb;
    const uint32_t heads[CTX_F] = {0, 1, 2, 3};
    float sc[CTX_F * CTX_MAXC];
    assert_int_equal(reco_model_score(sc, m, NULL, &b, heads, CTX_F), RECO_OK);
    uint32_t best = 0;
    float bv = -INFINITY;
    for (uint32_t j = 0; j < nc; j++) {
        float v = 0.0f;
        for (uint32_t f = 0; f < CTX_F; f++)
            v += ctx_weights[f] * (1.0f / (1.0f + expf(-sc[f * nc + j])));
        if (j == 0 || v > bv) {
            bv = v;
            best = j;
        }
    }
    return best;
}

/* Every logged step of `e` shows the item of ctx_expected_choice(); with the context, the
 * context also mattered: on some step the choice without it differs (so the check can
 * fail). */
static inline void ctx_check_log(const ctx_env *e, const reco_model *m, uint32_t want_steps,
                                 int with_context)
{
    assert_int_equal(e->n_log, want_steps);
    uint32_t differs = 0;
    for (uint32_t k = 0; k < e->n_log; k++) {
        const uint64_t u = e->log_user[k];
        const uint32_t t = e->log_t[k];
        const uint32_t j = ctx_expected_choice(m, u, t, with_context);
        if (e->log_item[k] != ctx_candidate(u, t, j))
            fail_msg("step %u (user %llu, t %u): shown item %d, the greedy choice is %d", k,
                     (unsigned long long)u, t, e->log_item[k], ctx_candidate(u, t, j));
        differs += ctx_expected_choice(m, u, t, !with_context) != j;
    }
    if (with_context)
        assert_true(differs > 0);
}

/* ---- a version-2 policy that checks the states it receives ---------------------------------- */

typedef struct ctx_recorder {
    const ctx_env *env;
    int with_context;  /* what the env gives */
    uint32_t long_len; /* the env's long_len as the runner reads it (0 for a version-2 env) */
    uint32_t max_candidates;
    uint32_t calls, rows;
} ctx_recorder;

/* Checks every row against the script at the slot the runner observed, and picks the last
 * candidate. */
static inline int ctx_record_states(uint32_t *index_out, const reco_batch *s,
                                    const uint32_t *counts, void *payload)
{
    ctx_recorder *r = payload;
    const ctx_env *e = r->env;
    assert_int_equal(s->version, RECO_BATCH_VERSION);
    assert_int_equal(s->size, e->n_last);
    assert_int_equal(s->n_candidates, r->max_candidates);
    assert_int_equal(s->shared_candidates, 0);
    assert_non_null(s->user_features);
    assert_non_null(s->steps);
    assert_non_null(s->elapsed);
    if (r->long_len == 0) {
        assert_null(s->long_items);
        assert_null(s->long_feedback);
    }
    for (uint32_t i = 0; i < s->size; i++) {
        const uint32_t sl = e->last_slots[i];
        const uint64_t u = e->user[sl];
        const uint32_t t = e->t[sl];
        int32_t items[CTX_L], li[CTX_H];
        uint32_t fb[CTX_L], lf[CTX_H];
        float feat[CTX_U];
        ctx_window(items, fb, u, t);
        ctx_features(feat, u);
        assert_memory_equal(s->items + (size_t)i * CTX_L, items, sizeof items);
        assert_memory_equal(s->feedback + (size_t)i * CTX_L, fb, sizeof fb);
        assert_memory_equal(s->user_features + (size_t)i * CTX_U, feat, sizeof feat);
        if (r->with_context) {
            assert_int_equal(s->steps[i], ctx_steps(u, t));
            assert_true(s->elapsed[i] == ctx_elapsed(u, t));
            ctx_long(li, lf, u);
        } else {
            assert_int_equal(s->steps[i], t); /* the runner's count */
            assert_true(s->elapsed[i] == 0.0f);
            for (uint32_t j = 0; j < CTX_H; j++) {
                li[j] = RECO_PAD;
                lf[j] = 0;
            }
        }
        if (r->long_len > 0) {
            assert_memory_equal(s->long_items + (size_t)i * CTX_H, li, sizeof li);
            assert_memory_equal(s->long_feedback + (size_t)i * CTX_H, lf, sizeof lf);
        }
        assert_int_equal(counts[i], ctx_n_candidates(u, t));
        for (uint32_t j = 0; j < counts[i]; j++)
            assert_int_equal(s->candidates[(size_t)i * s->n_candidates + j],
                             ctx_candidate(u, t, j));
        index_out[i] = counts[i] - 1;
    }
    r->calls++;
    r->rows += s->size;
    return RECO_OK;
}

/* choose() of the recording policy: a runner must not call it when choose_states() is set. */
static inline int ctx_choose_forbidden(uint32_t *index_out, const int32_t *items,
                                       const uint32_t *feedback, const float *features,
                                       const int32_t *candidates, const uint32_t *counts,
                                       uint32_t max_candidates, uint32_t n, void *payload)
{
    (void)index_out, (void)items, (void)feedback, (void)features, (void)candidates;
    (void)counts, (void)max_candidates, (void)n, (void)payload;
    fail_msg("choose() called on a version-2 policy that sets choose_states()");
    return RECO_ERROR;
}

/* A choose_states() a runner must not read: put in a version-1 struct. */
static inline int ctx_choose_states_forbidden(uint32_t *index_out, const reco_batch *states,
                                              const uint32_t *counts, void *payload)
{
    (void)index_out, (void)states, (void)counts, (void)payload;
    fail_msg("choose_states() read from a version-1 reco_policy");
    return RECO_ERROR;
}

/* A context() a runner must not read: put in a version-2 env. */
static inline int ctx_context_forbidden(uint32_t *steps, float *elapsed, int32_t *long_items,
                                        uint32_t *long_fb, const uint32_t *slots, uint32_t n,
                                        void *payload)
{
    (void)steps, (void)elapsed, (void)long_items, (void)long_fb, (void)slots, (void)n;
    (void)payload;
    fail_msg("context() read from a version-2 reco_env");
    return RECO_ERROR;
}

static inline reco_policy ctx_recorder_policy(ctx_recorder *r)
{
    reco_policy p;
    memset(&p, 0, sizeof p);
    p.version = 2;
    p.name = "recorder";
    p.lookback = CTX_L;
    p.user_dim = CTX_U;
    p.choose = ctx_choose_forbidden;
    p.choose_states = ctx_record_states;
    p.payload = r;
    return p;
}

/* Every logged step shows the last candidate (the recorder's choice). */
static inline void ctx_check_last_shown(const ctx_env *e)
{
    for (uint32_t k = 0; k < e->n_log; k++) {
        const uint64_t u = e->log_user[k];
        const uint32_t t = e->log_t[k];
        assert_int_equal(e->log_item[k], ctx_candidate(u, t, ctx_n_candidates(u, t) - 1));
    }
}

/* The steps of one session of each of `users` (the script's depths). */
static inline uint32_t ctx_total_steps(const uint64_t *users, uint32_t n)
{
    uint32_t s = 0;
    for (uint32_t k = 0; k < n; k++)
        s += ctx_depth(users[k]);
    return s;
}

#endif /* RECO_TEST_CTX_ENV_H */
