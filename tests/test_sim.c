/* reco_sim: sampled rates against the model's probabilities, signal dependencies, rewards,
 * windows, session ends, start states from another env, determinism, errors, no allocation.
 * Internal test: it sets the model's head weights to zero so that each head's logit is the
 * item's bias, a probability chosen by the test. */
#include <math.h>

#include "test_common.h"
#include "env/budget_env.h"
#include "model_private.h"
#include "file_private.h"
#include "reco/policy.h"
#include "reco/sim.h"

enum { NI = 40, LB = 4, NSIG = 4 };

static size_t allocs, frees;
static void *count_alloc(void *o, size_t n, size_t a)
{
    (void)o;
    void *p = NULL;
    if (posix_memalign(&p, a, n) != 0)
        return NULL;
    allocs++;
    return p;
}
static void count_free(void *o, void *p)
{
    (void)o;
    if (p != NULL)
        frees++;
    free(p);
}
static reco_allocator counting = {RECO_ALLOCATOR_VERSION, count_alloc, count_free, NULL};

static float logit(double p)
{
    return (float)log(p / (1.0 - p));
}

/* A model whose heads ignore the state: logit of head h for item i = bias[i][h]. Item 0 gets
 * the probabilities click .6, long watch .3, like .15, hide .2, exit .25; other items
 * click .5, long watch .4, like .1, hide .3, exit .1. */
static reco_model *fixed_model_mc(const reco_allocator *a, uint32_t max_candidates)
{
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.allocator = a;
    o.n_items = NI;
    o.dim = 8;
    o.lookback = LB;
    o.n_heads = 2;
    o.ffn_dim = 8;
    o.n_signals = NSIG;
    o.max_batch = 8;
    o.max_candidates = max_candidates;
    reco_model *m = NULL;
    assert_int_equal(reco_model_create(&m, &o), RECO_OK);
    memset(m->params + m->lay.head_w, 0, m->d * m->H * m->d * sizeof(float));
    const double p0[5] = {0.6, 0.3, 0.15, 0.2, 0.25}, p1[5] = {0.5, 0.4, 0.1, 0.3, 0.1};
    for (size_t i = 0; i < NI; i++)
        for (size_t h = 0; h < 5; h++)
            m->params[m->lay.item_bias + i * m->H + h] = logit(i == 0 ? p0[h] : p1[h]);
    return m;
}

static reco_model *fixed_model(const reco_allocator *a)
{
    return fixed_model_mc(a, 16);
}

static reco_sim *make_sim(const reco_model *m, uint32_t slots, uint32_t max_len)
{
    reco_sim_options so = RECO_SIM_OPTIONS_INIT;
    so.max_sessions = slots;
    so.max_session_len = max_len;
    so.n_candidates = 10;
    so.seed = 3;
    reco_sim *s = NULL;
    assert_int_equal(reco_sim_create(&s, m, &so), RECO_OK);
    return s;
}

static void test_sim_probabilities_are_the_model(void **state)
{
    (void)state;
    reco_model *m = fixed_model(NULL);
    reco_sim *s = make_sim(m, 2, 10);
    reco_env env;
    reco_sim_env(&env, s);
    uint32_t slots[2] = {0, 1};
    uint64_t users[2] = {5, 6};
    assert_int_equal(env.reset(slots, users, 2, env.payload), RECO_OK);
    int32_t items[2] = {0, 7};
    float p[2 * 5];
    assert_int_equal(reco_sim_probabilities(p, s, slots, items, 2), RECO_OK);
    const double p0[5] = {0.6, 0.3, 0.15, 0.2, 0.25}, p1[5] = {0.5, 0.4, 0.1, 0.3, 0.1};
    for (int h = 0; h < 5; h++) {
        assert_float_equal(p[h], p0[h], 1e-5);
        assert_float_equal(p[5 + h], p1[h], 1e-5);
    }
    reco_sim_free(s);
    reco_model_free(m);
}

/* Many one-step sessions from the same (empty) state: every signal's marginal frequency is the
 * model's probability (the defaults' dependencies keep marginals when they are consistent:
 * long watch .3 <= click .6, like .15 <= long watch .3, hide .2 <= 1 - click .4), the
 * dependencies always hold, and the reward is the weighted sum of the bits. */
static void test_sim_sampled_rates(void **state)
{
    (void)state;
    reco_model *m = fixed_model(NULL);
    reco_sim *s = make_sim(m, 8, 1000);
    reco_env env;
    reco_sim_env(&env, s);
    const int n = 40000;
    long count[5] = {0};
    const float w[4] = {0.1f, 1.0f, 0.3f, -0.5f};
    for (int k = 0; k < n / 8; k++) {
        uint32_t slots[8];
        uint64_t users[8];
        int32_t items[8];
        for (uint32_t j = 0; j < 8; j++) {
            slots[j] = j;
            users[j] = (uint64_t)k * 8 + j;
            items[j] = 0;
        }
        assert_int_equal(env.reset(slots, users, 8, env.payload), RECO_OK);
        uint32_t fb[8];
        float r[8];
        int done[8];
        assert_int_equal(env.step(fb, r, done, slots, items, 8, env.payload), RECO_OK);
        for (int j = 0; j < 8; j++) {
            const uint32_t b = fb[j];
            float expect = 0.0f;
            for (int f = 0; f < 4; f++) {
                count[f] += (b >> f) & 1u;
                if ((b >> f) & 1u)
                    expect += w[f];
            }
            assert_true(done[j] == RECO_ENV_CONTINUE || done[j] == RECO_ENV_EXIT);
            count[4] += done[j] == RECO_ENV_EXIT;
            assert_float_equal(r[j], expect, 1e-6);
            if (b & 2u)
                assert_true(b & 1u); /* long watch implies click */
            if (b & 4u)
                assert_true(b & 2u); /* like implies long watch */
            if (b & 8u)
                assert_false(b & 1u); /* hide excludes click */
        }
    }
    const double p[5] = {0.6, 0.3, 0.15, 0.2, 0.25};
    for (int f = 0; f < 5; f++) {
        const double freq = (double)count[f] / n, sd = sqrt(p[f] * (1 - p[f]) / n);
        /* 5 standard errors: a wrong conditional (e.g. p_f instead of p_f / p_parent) moves
         * the long-watch rate from .30 to .18, 50 standard errors away */
        if (fabs(freq - p[f]) > 5 * sd)
            fail_msg("signal %d: frequency %.4f, model %.4f (5 sd = %.4f)", f, freq, p[f],
                     5 * sd);
    }
    reco_sim_free(s);
    reco_model_free(m);
}

static void test_sim_window_and_session_end(void **state)
{
    (void)state;
    reco_model *m = fixed_model(NULL);
    reco_sim *s = make_sim(m, 1, 3);
    reco_env env;
    reco_sim_env(&env, s);
    uint32_t slot = 0;
    uint64_t user = 1;
    assert_int_equal(env.reset(&slot, &user, 1, env.payload), RECO_OK);
    int32_t it[LB];
    uint32_t fb[LB];
    assert_int_equal(env.observe(it, fb, NULL, &slot, 1, env.payload), RECO_OK);
    for (int t = 0; t < LB; t++)
        assert_int_equal(it[t], RECO_PAD);
    int done = 0;
    int steps = 0;
    int32_t shown[3] = {11, 12, 13};
    uint32_t bits[3];
    while (!done) {
        float r;
        assert_int_equal(env.step(&bits[steps], &r, &done, &slot, &shown[steps], 1, env.payload),
                         RECO_OK);
        steps++;
        assert_int_equal(env.observe(it, fb, NULL, &slot, 1, env.payload), RECO_OK);
        assert_int_equal(it[LB - 1], shown[steps - 1]); /* newest last */
        assert_int_equal(fb[LB - 1], bits[steps - 1]);
        if (steps >= 2)
            assert_int_equal(it[LB - 2], shown[steps - 2]);
    }
    assert_true(steps <= 3); /* max_session_len */
    /* the last step reports why the session ended: cut at 3 steps, or the user left */
    assert_true(done == RECO_ENV_EXIT || (done == RECO_ENV_TRUNCATED && steps == 3));
    uint32_t f1;
    float r1;
    int d1;
    assert_reco_error(env.step(&f1, &r1, &d1, &slot, &shown[0], 1, env.payload), RECO_ESTATE,
                      "reset it first");
    int32_t cand[16];
    uint32_t nc;
    assert_reco_error(env.candidates(cand, &nc, 16, &slot, 1, env.payload), RECO_ESTATE,
                      "no running session");
    reco_sim_free(s);
    reco_model_free(m);
}

static void test_sim_candidates_and_determinism(void **state)
{
    (void)state;
    reco_model *m = fixed_model(NULL);
    uint32_t trace[2][200];
    for (int run = 0; run < 2; run++) {
        reco_sim *s = make_sim(m, 2, 50);
        reco_env env;
        reco_sim_env(&env, s);
        uint32_t slots[2] = {0, 1};
        uint64_t users[2] = {9, 10};
        assert_int_equal(env.reset(slots, users, 2, env.payload), RECO_OK);
        int pos = 0;
        for (int step = 0; step < 20; step++) {
            int32_t cand[2 * 16];
            uint32_t nc[2];
            if (env.candidates(cand, nc, 16, slots, 2, env.payload) != RECO_OK)
                break;
            for (int j = 0; j < 2; j++) {
                assert_int_equal(nc[j], 10);
                for (uint32_t a = 0; a < nc[j]; a++) {
                    assert_true(cand[j * 16 + a] >= 0 && cand[j * 16 + a] < NI);
                    for (uint32_t b = 0; b < a; b++)
                        assert_int_not_equal(cand[j * 16 + a], cand[j * 16 + b]);
                }
            }
            int32_t items[2] = {cand[0], cand[16]};
            uint32_t fb[2];
            float r[2];
            int done[2];
            assert_int_equal(env.step(fb, r, done, slots, items, 2, env.payload), RECO_OK);
            trace[run][pos++] = (uint32_t)items[0] * 16 + fb[0];
            trace[run][pos++] = (uint32_t)items[1] * 16 + fb[1];
            if (done[0] || done[1])
                break;
        }
        while (pos < 200)
            trace[run][pos++] = 0;
        reco_sim_free(s);
    }
    assert_memory_equal(trace[0], trace[1], sizeof trace[0]);
    reco_model_free(m);
}

/* A fake start env: user u's history is items u, u+1, ... (mod NI), feedback 1. */
static int fake_reset(const uint32_t *slots, const uint64_t *users, uint32_t n, void *payload)
{
    uint64_t *last_user = payload;
    for (uint32_t i = 0; i < n; i++)
        last_user[slots[i]] = users[i];
    return RECO_OK;
}
static int fake_observe(int32_t *items, uint32_t *fb, float *feat, const uint32_t *slots,
                        uint32_t n, void *payload)
{
    (void)feat;
    const uint64_t *last_user = payload;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t t = 0; t < LB; t++) {
            items[i * LB + t] = (int32_t)((last_user[slots[i]] + t) % NI);
            fb[i * LB + t] = 1;
        }
    return RECO_OK;
}

/* A start env of version 3: context() gives a long-term history of 5 interactions per
 * user (user u: items u+10 .. u+14, feedback 2), newest last. */
static int fake_context(uint32_t *steps, float *elapsed, int32_t *long_items, uint32_t *long_fb,
                        const uint32_t *slots, uint32_t n, void *payload)
{
    const uint64_t *last_user = payload;
    for (uint32_t i = 0; i < n; i++) {
        if (steps != NULL)
            steps[i] = 0;
        if (elapsed != NULL)
            elapsed[i] = 0.0f;
        for (uint32_t t = 0; t < 5; t++) {
            if (long_items != NULL)
                long_items[i * 5 + t] = (int32_t)((last_user[slots[i]] + 10 + t) % NI);
            if (long_fb != NULL)
                long_fb[i * 5 + t] = 2;
        }
    }
    return RECO_OK;
}

/* The simulator's session context: steps count, elapsed seconds add each step's duration
 * (base + per-signal), the long-term history comes from the start env (its newest H) and is
 * fixed for the session; the probabilities are the model's on exactly that context (checked
 * against reco_model_score on a batch built by hand); the state round-trips with it. */
static void test_sim_session_context(void **state)
{
    (void)state;
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = NI;
    o.dim = 8;
    o.lookback = LB;
    o.n_heads = 2;
    o.ffn_dim = 8;
    o.n_signals = NSIG;
    o.max_batch = 8;
    o.max_candidates = 16;
    o.init_std = 0.5f;
    o.position = 1;
    o.elapsed = 1;
    o.long_len = 3;
    reco_model *m = NULL;
    assert_int_equal(reco_model_create(&m, &o), RECO_OK);
    reco_sim_options so = RECO_SIM_OPTIONS_INIT;
    so.max_sessions = 2;
    so.max_session_len = 50;
    so.n_candidates = 10;
    so.seed = 9;
    so.seconds_base = 5.0f;
    so.seconds[RECO_SIGNAL_LONG_WATCH] = 40.0f;
    reco_sim *s = NULL;
    assert_int_equal(reco_sim_create(&s, m, &so), RECO_OK);
    uint64_t last_user[4] = {0};
    reco_env src = {RECO_ENV_VERSION, NI, NSIG, LB, 0, 4, fake_reset, fake_observe, NULL, NULL,
                    last_user, NULL, NULL, 5, fake_context, NULL, NULL, NULL, 0, 0};
    reco_env short_src = src;
    short_src.long_len = 2;
    assert_reco_error(reco_sim_set_start_env(s, &short_src), RECO_EINVAL, "long-term history");
    assert_int_equal(reco_sim_set_start_env(s, &src), RECO_OK);
    reco_env env;
    reco_sim_env(&env, s);
    assert_int_equal(env.long_len, 3);
    assert_non_null(env.context);
    assert_non_null(env.probabilities);
    const uint32_t slots[2] = {0, 1};
    const uint64_t users[2] = {4, 21};
    assert_int_equal(env.reset(slots, users, 2, env.payload), RECO_OK);
    float expect_elapsed[2] = {0.0f, 0.0f};
    for (uint32_t t = 0; t < 6; t++) {
        uint32_t steps[2];
        float el[2];
        int32_t li[2 * 3];
        uint32_t lf[2 * 3];
        assert_int_equal(env.context(steps, el, li, lf, slots, 2, env.payload), RECO_OK);
        for (int i = 0; i < 2; i++) {
            assert_int_equal(steps[i], t);
            assert_float_equal(el[i], expect_elapsed[i], 1e-4);
            for (int k = 0; k < 3; k++) { /* the newest 3 of the source's 5 */
                assert_int_equal(li[i * 3 + k], (int32_t)((users[i] + 12 + (uint64_t)k) % NI));
                assert_int_equal(lf[i * 3 + k], 2);
            }
        }
        /* the probabilities are the model's on this context */
        int32_t wi[2 * LB];
        uint32_t wf[2 * LB];
        assert_int_equal(env.observe(wi, wf, NULL, slots, 2, env.payload), RECO_OK);
        const int32_t shown[2] = {(int32_t)(3 * t % NI), (int32_t)((7 + t) % NI)};
        reco_batch b = RECO_BATCH_INIT;
        b.size = 2;
        b.items = wi;
        b.feedback = wf;
        b.steps = steps;
        b.elapsed = el;
        b.long_items = li;
        b.long_feedback = lf;
        b.n_candidates = 1;
        b.candidates = shown;
        const uint32_t heads[5] = {0, 1, 2, 3, 4};
        float z[2 * 5], p[2 * 5];
        assert_int_equal(reco_model_score(z, m, NULL, &b, heads, 5), RECO_OK);
        assert_int_equal(env.probabilities(p, slots, shown, 2, env.payload), RECO_OK);
        for (int k = 0; k < 10; k++)
            assert_float_equal(p[k], 1.0 / (1.0 + exp(-(double)z[k])), 1e-6);
        uint32_t fb[2];
        float r[2];
        int done[2];
        assert_int_equal(env.step(fb, r, done, slots, shown, 2, env.payload), RECO_OK);
        for (int i = 0; i < 2; i++) {
            expect_elapsed[i] += 5.0f + ((fb[i] >> RECO_SIGNAL_LONG_WATCH) & 1u ? 40.0f : 0.0f);
            if (done[i]) { /* start again: a new session has a fresh context */
                assert_int_equal(env.reset(slots + i, users + i, 1, env.payload), RECO_OK);
                expect_elapsed[i] = 0.0f;
            }
        }
        if (done[0] || done[1])
            break;
    }
    /* the state carries elapsed and the long-term history */
    size_t len = 0;
    assert_int_equal(env.save_state(NULL, 0, &len, env.payload), RECO_OK);
    assert_int_equal(len, 40 + 2 * (8 * LB + 57 + 8 * 3) + 4);
    unsigned char *buf = malloc(len);
    assert_int_equal(env.save_state(buf, len, NULL, env.payload), RECO_OK);
    reco_sim *t = NULL;
    assert_int_equal(reco_sim_create(&t, m, &so), RECO_OK);
    reco_env et;
    reco_sim_env(&et, t);
    assert_int_equal(et.load_state(buf, len, et.payload), RECO_OK);
    uint32_t st1[2], st2[2];
    float e1[2], e2[2];
    int32_t l1[6], l2[6];
    uint32_t f1[6], f2[6];
    assert_int_equal(env.context(st1, e1, l1, f1, slots, 2, env.payload), RECO_OK);
    assert_int_equal(et.context(st2, e2, l2, f2, slots, 2, et.payload), RECO_OK);
    assert_memory_equal(st1, st2, sizeof st1);
    assert_memory_equal(e1, e2, sizeof e1);
    assert_memory_equal(l1, l2, sizeof l1);
    assert_memory_equal(f1, f2, sizeof f1);
    /* a corrupted elapsed time is refused (checksum recomputed) */
    const size_t el_off = 40 + 2 * (8 * LB + 8 + 4 + 8 + 32 + 1);
    float bad = -1.0f;
    memcpy(buf + el_off, &bad, 4);
    const uint32_t crc = reco__crc32c(0, buf, len - 4);
    memcpy(buf + len - 4, &crc, 4);
    assert_reco_error(et.load_state(buf, len, et.payload), RECO_EFORMAT, "elapsed");
    free(buf);
    reco_sim_free(t);
    reco_sim_free(s);
    reco_model_free(m);
}

/* Candidates from the retrieval stage's weights: with share 1 and one candidate, each
 * item's frequency is its weight's share (10 items of weights 1..10, the others 0, within 4
 * standard errors over 20000 draws); with share 0.5 of 10 candidates, 5 come from the
 * weighted items and 5 uniformly; lists stay distinct; bad weights are refused. */
static void test_sim_weighted_candidates(void **state)
{
    (void)state;
    reco_model *m = fixed_model_mc(NULL, 16);
    float w[NI];
    for (int i = 0; i < NI; i++)
        w[i] = i < 10 ? (float)(i + 1) : 0.0f;
    reco_sim_options so = RECO_SIM_OPTIONS_INIT;
    so.max_sessions = 4;
    so.max_session_len = 1000;
    so.n_candidates = 1;
    so.seed = 8;
    so.candidate_weights = w;
    so.candidate_weight_share = 1.0f;
    reco_sim *s = NULL;
    assert_int_equal(reco_sim_create(&s, m, &so), RECO_OK);
    reco_env env;
    reco_sim_env(&env, s);
    const uint32_t slots[4] = {0, 1, 2, 3};
    const uint64_t users[4] = {1, 2, 3, 4};
    assert_int_equal(env.reset(slots, users, 4, env.payload), RECO_OK);
    enum { DRAWS = 20000 };
    long count[NI] = {0};
    for (int k = 0; k < DRAWS / 4; k++) {
        int32_t c[4];
        uint32_t nc[4];
        assert_int_equal(env.candidates(c, nc, 1, slots, 4, env.payload), RECO_OK);
        for (int i = 0; i < 4; i++)
            count[c[i]]++;
    }
    for (int i = 0; i < NI; i++) {
        const double p = i < 10 ? (i + 1) / 55.0 : 0.0;
        const double se = sqrt(p * (1 - p) / DRAWS) + 1e-12;
        if (fabs((double)count[i] / DRAWS - p) > 4 * se)
            fail_msg("item %d drawn %ld times, expected %.1f", i, count[i], p * DRAWS);
    }
    reco_sim_free(s);
    /* share 0.5 of 10: at least 5 of each list among the weighted items, all distinct */
    so.n_candidates = 10;
    so.candidate_weight_share = 0.5f;
    assert_int_equal(reco_sim_create(&s, m, &so), RECO_OK);
    reco_sim_env(&env, s);
    assert_int_equal(env.reset(slots, users, 4, env.payload), RECO_OK);
    long in_weighted = 0;
    for (int k = 0; k < 500; k++) {
        int32_t c[4 * 10];
        uint32_t nc[4];
        assert_int_equal(env.candidates(c, nc, 10, slots, 4, env.payload), RECO_OK);
        for (int i = 0; i < 4; i++) {
            int seen[NI] = {0}, weighted = 0;
            assert_int_equal(nc[i], 10);
            for (int j = 0; j < 10; j++) {
                assert_false(seen[c[i * 10 + j]]);
                seen[c[i * 10 + j]] = 1;
                weighted += c[i * 10 + j] < 10;
            }
            assert_true(weighted >= 5);
            in_weighted += weighted;
        }
    }
    /* 5 by weight, and the 5 uniform ones land among the weighted items 10 / 40 of the time
     * (less, as those already drawn are excluded): about 5 + 5 * 5 / 35 */
    const double mean = (double)in_weighted / 2000.0;
    assert_true(mean > 5.3 && mean < 6.5);
    reco_sim_free(s);
    /* bad weights */
    w[3] = NAN;
    assert_reco_error(reco_sim_create(&s, m, &so), RECO_EINVAL, "sim.candidate_weights");
    for (int i = 0; i < NI; i++)
        w[i] = 0.0f;
    assert_reco_error(reco_sim_create(&s, m, &so), RECO_EINVAL, "every weight is 0");
    w[0] = 1.0f;
    so.candidate_weight_share = 1.5f;
    assert_reco_error(reco_sim_create(&s, m, &so), RECO_EINVAL, "sim.candidate_weight_share");
    reco_model_free(m);
}

/* The exit given the step's signals (exit_tilt): one-step sessions showing item 0 (click .6,
 * exit .25) with a click tilt of -2: the exit frequency is sigmoid(logit(.25) - 2 (1 - .6))
 * = .1303 after a click and sigmoid(logit(.25) + 2 (.6)) = .5253 without (5 standard errors
 * over 40000 sessions); a NaN tilt is refused. */
static void test_sim_exit_given_signals(void **state)
{
    (void)state;
    reco_model *m = fixed_model(NULL);
    reco_sim_options so = RECO_SIM_OPTIONS_INIT;
    so.max_sessions = 8;
    so.max_session_len = 1000;
    so.n_candidates = 10;
    so.seed = 13;
    so.exit_tilt[RECO_SIGNAL_CLICK] = -2.0f;
    reco_sim *s = NULL;
    assert_int_equal(reco_sim_create(&s, m, &so), RECO_OK);
    reco_env env;
    reco_sim_env(&env, s);
    const int n = 40000;
    long clicks = 0, exit_click = 0, exit_none = 0;
    for (int k = 0; k < n / 8; k++) {
        uint32_t slots[8], fb[8];
        uint64_t users[8];
        int32_t items[8] = {0};
        float r[8];
        int done[8];
        for (uint32_t j = 0; j < 8; j++) {
            slots[j] = j;
            users[j] = (uint64_t)k * 8 + j;
        }
        assert_int_equal(env.reset(slots, users, 8, env.payload), RECO_OK);
        assert_int_equal(env.step(fb, r, done, slots, items, 8, env.payload), RECO_OK);
        for (int j = 0; j < 8; j++) {
            const int click = fb[j] & 1u, ex = done[j] == RECO_ENV_EXIT;
            clicks += click;
            exit_click += click && ex;
            exit_none += !click && ex;
        }
    }
    const double pc = 1.0 / (1.0 + exp(-(log(0.25 / 0.75) - 2.0 * 0.4)));
    const double pn = 1.0 / (1.0 + exp(-(log(0.25 / 0.75) + 2.0 * 0.6)));
    const double fc = (double)exit_click / clicks, fn = (double)exit_none / (n - clicks);
    print_message("exit after a click %.4f (want %.4f), without %.4f (want %.4f)\n", fc, pc,
                  fn, pn);
    assert_true(fabs(fc - pc) < 5 * sqrt(pc * (1 - pc) / clicks));
    assert_true(fabs(fn - pn) < 5 * sqrt(pn * (1 - pn) / (n - clicks)));
    reco_sim_free(s);
    so.exit_tilt[2] = NAN;
    assert_reco_error(reco_sim_create(&s, m, &so), RECO_EINVAL, "sim.exit_tilt");
    reco_model_free(m);
}

static void test_sim_start_env(void **state)
{
    (void)state;
    reco_model *m = fixed_model(NULL);
    reco_sim *s = make_sim(m, 2, 5);
    uint64_t last_user[4] = {0};
    reco_env src = {RECO_ENV_VERSION, NI, NSIG, LB, 0, 4, fake_reset, fake_observe, NULL, NULL,
                    last_user, NULL, NULL, 0, NULL, NULL, NULL, NULL, 0, 0};
    assert_int_equal(reco_sim_set_start_env(s, &src), RECO_OK);
    reco_env env;
    reco_sim_env(&env, s);
    uint32_t slots[2] = {1, 0};
    uint64_t users[2] = {3, 30};
    assert_int_equal(env.reset(slots, users, 2, env.payload), RECO_OK);
    int32_t it[2 * LB];
    uint32_t fb[2 * LB];
    assert_int_equal(env.observe(it, fb, NULL, slots, 2, env.payload), RECO_OK);
    for (int t = 0; t < LB; t++) {
        assert_int_equal(it[t], (3 + t) % NI);
        assert_int_equal(it[LB + t], (30 + t) % NI);
        assert_int_equal(fb[t], 1);
    }
    /* incompatible sources are refused */
    reco_env bad = src;
    bad.lookback = LB + 1;
    assert_reco_error(reco_sim_set_start_env(s, &bad), RECO_EINVAL, "lookback");
    bad = src;
    bad.max_sessions = 1;
    assert_reco_error(reco_sim_set_start_env(s, &bad), RECO_EINVAL, "slots");
    bad = src;
    bad.observe = NULL;
    assert_reco_error(reco_sim_set_start_env(s, &bad), RECO_EINVAL, "callbacks");
    assert_int_equal(reco_sim_set_start_env(s, NULL), RECO_OK);
    reco_sim_free(s);
    reco_model_free(m);
}

/* Per-step trace of a run: a hash of every (session, step, item, feedback, reward). */
static void hash_steps(const reco_run_step *st, uint32_t n, void *payload)
{
    uint64_t *h = payload;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t v = ((uint64_t)st[i].session << 40) ^ ((uint64_t)st[i].step << 20) ^
                     ((uint64_t)(uint32_t)st[i].item << 4) ^ st[i].feedback;
        uint32_t rb;
        memcpy(&rb, &st[i].reward, sizeof rb);
        /* order-independent within a batch: the runner lists rows in any order */
        *h += (v * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)rb * 0xC2B2AE3D27D4EB4FULL);
    }
}

static void run_random_c(const reco_env *env, uint32_t *depth, float *ret, uint64_t *hash,
                         uint32_t n, uint32_t max_candidates, uint64_t first_user)
{
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    po.seed = 5;
    reco_policy_state *ps = NULL;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    reco_policy pol;
    reco_policy_get(&pol, ps);
    uint64_t users[64];
    for (uint32_t i = 0; i < n; i++)
        users[i] = first_user + i * 7;
    reco_run_options ro = RECO_RUN_OPTIONS_INIT;
    ro.max_candidates = max_candidates;
    ro.on_step = hash_steps;
    ro.on_step_payload = hash;
    *hash = 0;
    if (reco_run_sessions(NULL, depth, ret, env, &pol, users, n, &ro) != RECO_OK)
        fail_msg("reco_run_sessions: %s", reco_error_message());
    reco_policy_free(ps);
}

static void run_random(const reco_env *env, uint32_t *depth, float *ret, uint64_t *hash,
                       uint32_t n)
{
    run_random_c(env, depth, ret, hash, n, 16, 1000);
}

/* reco_sim_reset(): slots idle, and the same policy replays the same sessions. */
static void test_sim_reset_replays(void **state)
{
    (void)state;
    reco_model *m = fixed_model(NULL);
    reco_sim *s = make_sim(m, 3, 30);
    reco_env env;
    reco_sim_env(&env, s);
    enum { N = 40 };
    uint32_t d1[N], d2[N], d3[N];
    float r1[N], r2[N], r3[N];
    uint64_t h1, h2, h3;
    run_random(&env, d1, r1, &h1, N);
    assert_int_equal(reco_sim_reset(s), RECO_OK);
    /* every slot is idle now */
    uint32_t slot = 0, nc;
    int32_t cand[16];
    assert_reco_error(env.candidates(cand, &nc, 16, &slot, 1, env.payload), RECO_ESTATE,
                      "reset it first");
    run_random(&env, d2, r2, &h2, N);
    assert_memory_equal(d1, d2, sizeof d1);
    assert_memory_equal(r1, r2, sizeof r1);
    assert_true(h1 == h2);
    /* without the reset the slots' reset counts go on and the streams differ */
    run_random(&env, d3, r3, &h3, N);
    assert_true(h3 != h1);
    assert_true(memcmp(d1, d3, sizeof d1) != 0 || memcmp(r1, r3, sizeof r1) != 0);
    assert_reco_error(reco_sim_reset(NULL), RECO_EINVAL, "NULL");
    reco_sim_free(s);
    reco_model_free(m);
}

static void test_sim_bad_input(void **state)
{
    (void)state;
    reco_model *m = fixed_model(NULL);
    reco_sim *s = NULL;
    reco_sim_options so = RECO_SIM_OPTIONS_INIT;
    so.n_candidates = 17; /* more than the model's max_candidates (16) */
    assert_reco_error(reco_sim_create(&s, m, &so), RECO_EINVAL, "sim.n_candidates");
    assert_null(s);
    so = (reco_sim_options)RECO_SIM_OPTIONS_INIT;
    so.n_candidates = 10;
    so.parent[2] = 3; /* like depending on a later signal */
    assert_reco_error(reco_sim_create(&s, m, &so), RECO_EINVAL, "not an earlier signal");
    so.parent[2] = 1;
    so.parent_value[2] = 2;
    assert_reco_error(reco_sim_create(&s, m, &so), RECO_EINVAL, "neither 0 nor 1");
    so.parent_value[2] = 1;
    so.reward[1] = NAN;
    assert_reco_error(reco_sim_create(&s, m, &so), RECO_EINVAL, "sim.reward");
    so.reward[1] = 1.0f;
    so.max_sessions = 0;
    assert_reco_error(reco_sim_create(&s, m, &so), RECO_EINVAL, "sim.max_sessions");
    so.max_sessions = 2;
    so.version = 0;
    assert_int_equal(reco_sim_create(&s, m, &so), RECO_EVERSION);
    so.version = RECO_SIM_OPTIONS_VERSION;
    assert_int_equal(reco_sim_create(NULL, m, &so), RECO_EINVAL);
    assert_int_equal(reco_sim_create(&s, NULL, &so), RECO_EINVAL);
    assert_int_equal(reco_sim_options_init(&so, RECO_SIM_OPTIONS_VERSION + 1), RECO_EVERSION);

    s = make_sim(m, 2, 5);
    reco_env env;
    reco_sim_env(&env, s);
    uint32_t slots[2] = {0, 1};
    uint64_t users[2] = {1, 2};
    assert_int_equal(env.reset(slots, users, 2, env.payload), RECO_OK);
    uint32_t fb[2];
    float r[2];
    int done[2];
    int32_t items[2] = {0, NI};
    assert_reco_error(env.step(fb, r, done, slots, items, 2, env.payload), RECO_EINVAL,
                      "is not in [0, 40)");
    items[1] = 1;
    uint32_t dup[2] = {1, 1};
    assert_reco_error(env.step(fb, r, done, dup, items, 2, env.payload), RECO_EINVAL,
                      "appears twice");
    uint32_t far = 2;
    assert_reco_error(env.reset(&far, users, 1, env.payload), RECO_EINVAL, "slot 2");
    assert_reco_error(env.step(NULL, r, done, slots, items, 2, env.payload), RECO_EINVAL, "NULL");
    /* the failed calls changed nothing: the next step is the first of the session */
    int32_t it[2 * LB];
    uint32_t f2[2 * LB];
    env.observe(it, f2, NULL, slots, 2, env.payload);
    assert_int_equal(it[LB - 1], RECO_PAD);
    reco_sim_free(s);
    reco_model_free(m);
}

/* exclude_seen: candidates never repeat the window; expected_reward: the reward is
 * sum_f w_f P(f) of the shown item whatever was sampled; a version-1 options struct ignores
 * both; impossible sizes are refused with the option's name. */
static void test_sim_exclude_seen_and_expected_reward(void **state)
{
    (void)state;
    reco_model *m = fixed_model_mc(NULL, NI);
    reco_sim_options so = RECO_SIM_OPTIONS_INIT;
    so.max_sessions = 1;
    so.max_session_len = 1000;
    so.n_candidates = NI - LB; /* the tightest catalog that allows it */
    so.seed = 5;
    so.exclude_seen = 1;
    so.expected_reward = 1;
    reco_sim *s = NULL;
    assert_int_equal(reco_sim_create(&s, m, &so), RECO_OK);
    reco_env env;
    reco_sim_env(&env, s);
    /* item 0: click .6, long watch .3, like .15, hide .2; others .5, .4, .1, .3 */
    const double r0 = 0.1 * 0.6 + 1.0 * 0.3 + 0.3 * 0.15 - 0.5 * 0.2;
    const double r1 = 0.1 * 0.5 + 1.0 * 0.4 + 0.3 * 0.1 - 0.5 * 0.3;
    uint32_t slot = 0, sessions = 0, steps = 0;
    uint64_t user = 1;
    assert_int_equal(env.reset(&slot, &user, 1, env.payload), RECO_OK);
    for (int t = 0; t < 400; t++) {
        int32_t items[LB], cand[NI];
        uint32_t fb[LB], nc, bits;
        float r;
        int done;
        assert_int_equal(env.observe(items, fb, NULL, &slot, 1, env.payload), RECO_OK);
        assert_int_equal(env.candidates(cand, &nc, NI, &slot, 1, env.payload), RECO_OK);
        assert_int_equal(nc, NI - LB);
        for (uint32_t j = 0; j < nc; j++)
            for (uint32_t k = 0; k < LB; k++)
                assert_int_not_equal(items[k], cand[j]);
        const int32_t shown = cand[t % nc];
        assert_int_equal(env.step(&bits, &r, &done, &slot, &shown, 1, env.payload), RECO_OK);
        assert_float_equal(r, shown == 0 ? r0 : r1, 1e-6);
        steps++;
        if (done) {
            sessions++;
            user++;
            assert_int_equal(env.reset(&slot, &user, 1, env.payload), RECO_OK);
        }
    }
    assert_true(steps == 400 && sessions > 10);
    reco_sim_free(s);
    /* version 1: neither member is read (sampled rewards, candidates may repeat) */
    so.version = 1;
    so.n_candidates = NI; /* would be refused with exclude_seen */
    assert_int_equal(reco_sim_create(&s, m, &so), RECO_OK);
    reco_sim_env(&env, s);
    assert_int_equal(env.reset(&slot, &user, 1, env.payload), RECO_OK);
    int sampled_rewards = 1;
    for (int t = 0; t < 50; t++) {
        int32_t cand[NI];
        uint32_t nc, bits;
        float r;
        int done;
        env.candidates(cand, &nc, NI, &slot, 1, env.payload);
        assert_int_equal(nc, NI);
        assert_int_equal(env.step(&bits, &r, &done, &slot, &cand[0], 1, env.payload), RECO_OK);
        const float want = (bits & 1 ? 0.1f : 0.0f) + (bits & 2 ? 1.0f : 0.0f) +
                           (bits & 4 ? 0.3f : 0.0f) + (bits & 8 ? -0.5f : 0.0f);
        sampled_rewards &= fabsf(r - want) < 1e-6f;
        if (done)
            env.reset(&slot, &user, 1, env.payload);
    }
    assert_true(sampled_rewards);
    reco_sim_free(s);
    /* n_candidates + lookback > n_items with exclude_seen */
    so.version = RECO_SIM_OPTIONS_VERSION;
    so.n_candidates = NI - LB + 1;
    s = (reco_sim *)&s;
    assert_reco_error(reco_sim_create(&s, m, &so), RECO_EINVAL, "sim.exclude_seen");
    assert_null(s);
    reco_model_free(m);
}

/* item_penalty: the reward of a step is lowered by the shown item's penalty (copied at
 * creation: the caller's array may change afterwards); a non-finite penalty is refused. */
static void test_sim_item_penalty(void **state)
{
    (void)state;
    reco_model *m = fixed_model(NULL);
    float pen[NI];
    for (int i = 0; i < NI; i++)
        pen[i] = 0.01f * (float)i;
    reco_sim_options so = RECO_SIM_OPTIONS_INIT;
    so.max_sessions = 1;
    so.max_session_len = 1000;
    so.n_candidates = 10;
    so.expected_reward = 1;
    so.item_penalty = pen;
    reco_sim *s = NULL;
    assert_int_equal(reco_sim_create(&s, m, &so), RECO_OK);
    pen[3] = 100.0f; /* not seen by the simulator: it copied the array */
    reco_env env;
    reco_sim_env(&env, s);
    const double r0 = 0.1 * 0.6 + 1.0 * 0.3 + 0.3 * 0.15 - 0.5 * 0.2;
    const double r1 = 0.1 * 0.5 + 1.0 * 0.4 + 0.3 * 0.1 - 0.5 * 0.3;
    uint32_t slot = 0;
    uint64_t user = 1;
    assert_int_equal(env.reset(&slot, &user, 1, env.payload), RECO_OK);
    for (int t = 0; t < 60; t++) {
        const int32_t item = t % NI;
        uint32_t bits;
        float r;
        int done;
        assert_int_equal(env.step(&bits, &r, &done, &slot, &item, 1, env.payload), RECO_OK);
        assert_float_equal(r, (item == 0 ? r0 : r1) - 0.01 * item, 1e-5);
        if (done)
            assert_int_equal(env.reset(&slot, &user, 1, env.payload), RECO_OK);
    }
    reco_sim_free(s);
    pen[5] = NAN;
    s = (reco_sim *)&s;
    assert_reco_error(reco_sim_create(&s, m, &so), RECO_EINVAL, "sim.item_penalty");
    assert_null(s);
    reco_model_free(m);
}

static void test_sim_no_allocation_in_steps(void **state)
{
    (void)state;
    allocs = frees = 0;
    reco_model *m = fixed_model(&counting);
    reco_sim_options so = RECO_SIM_OPTIONS_INIT;
    so.allocator = &counting;
    so.max_sessions = 4;
    so.n_candidates = 10;
    reco_sim *s = NULL;
    assert_int_equal(reco_sim_create(&s, m, &so), RECO_OK);
    const size_t before = allocs;
    reco_env env;
    reco_sim_env(&env, s);
    uint32_t slots[4] = {0, 1, 2, 3};
    uint64_t users[4] = {1, 2, 3, 4};
    for (int k = 0; k < 20; k++) {
        env.reset(slots, users, 4, env.payload);
        int32_t cand[4 * 16];
        uint32_t nc[4];
        env.candidates(cand, nc, 16, slots, 4, env.payload);
        int32_t items[4] = {cand[0], cand[16], cand[32], cand[48]};
        uint32_t fb[4];
        float r[4];
        int done[4];
        env.step(fb, r, done, slots, items, 4, env.payload);
    }
    assert_int_equal(allocs, before);
    reco_sim_free(s);
    reco_model_free(m);
    assert_int_equal(allocs, frees);
}

/* Steps every slot k times (resetting ended ones), recording feedback, rewards and done. */
static void step_all(reco_env *env, uint32_t S, int k, uint32_t *fb_log, float *rew_log,
                     int *done_log)
{
    uint32_t slots[4] = {0, 1, 2, 3};
    for (int r = 0; r < k; r++) {
        int32_t cand[4 * 10], act[4];
        uint32_t cnt[4], fb[4];
        float rew[4];
        int done[4];
        assert_int_equal(env->candidates(cand, cnt, 10, slots, S, env->payload), RECO_OK);
        for (uint32_t i = 0; i < S; i++)
            act[i] = cand[i * 10 + (uint32_t)r % cnt[i]];
        assert_int_equal(env->step(fb, rew, done, slots, act, S, env->payload), RECO_OK);
        for (uint32_t i = 0; i < S; i++) {
            fb_log[r * S + i] = fb[i];
            rew_log[r * S + i] = rew[i];
            done_log[r * S + i] = done[i];
            if (done[i]) {
                const uint64_t u = 100 + (uint64_t)r * S + i;
                assert_int_equal(env->reset(&slots[i], &u, 1, env->payload), RECO_OK);
            }
        }
    }
}

static void test_sim_state_save_load(void **state)
{
    (void)state;
    enum { S = 4, K = 30 };
    reco_model *m = fixed_model(NULL);
    reco_sim *a = make_sim(m, S, 7), *b = make_sim(m, S, 7);
    reco_env ea, eb;
    reco_sim_env(&ea, a);
    reco_sim_env(&eb, b);
    assert_int_equal(ea.version, RECO_ENV_VERSION);
    assert_non_null(ea.save_state);
    const uint32_t slots[S] = {0, 1, 2, 3};
    const uint64_t users[S] = {5, 6, 7, 8};
    assert_int_equal(ea.reset(slots, users, S, ea.payload), RECO_OK);
    uint32_t fb0[K * S], fb1[K * S];
    float r0[K * S], r1[K * S];
    int d0[K * S], d1[K * S];
    step_all(&ea, S, 5, fb0, r0, d0); /* sessions in flight */
    size_t len = 0;
    assert_int_equal(ea.save_state(NULL, 0, &len, ea.payload), RECO_OK);
    assert_int_equal(len, 40 + S * (8 * LB + 53 + 4) + 4); /* format 2: + elapsed, H = 0 */
    unsigned char *buf = malloc(len);
    assert_reco_error(ea.save_state(buf, len - 1, &len, ea.payload), RECO_EINVAL, "needs");
    assert_int_equal(ea.save_state(buf, len, NULL, ea.payload), RECO_OK);
    step_all(&ea, S, K, fb0, r0, d0);
    /* damaged bytes are refused and change nothing; intact ones continue exactly */
    for (size_t bit = 0; bit < len * 8; bit += 37) {
        buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        assert_int_equal(eb.load_state(buf, len, eb.payload), RECO_EFORMAT);
        buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    assert_int_equal(eb.load_state(buf, len - 4, eb.payload), RECO_EFORMAT);
    assert_reco_error(eb.candidates((int32_t[10]){0}, (uint32_t[1]){0}, 10, slots, 1,
                                    eb.payload), RECO_ESTATE, "no running session");
    assert_int_equal(eb.load_state(buf, len, eb.payload), RECO_OK);
    step_all(&eb, S, K, fb1, r1, d1);
    assert_memory_equal(fb0, fb1, sizeof fb0);
    assert_memory_equal(r0, r1, sizeof r0);
    assert_memory_equal(d0, d1, sizeof d0);
    /* another geometry */
    reco_sim *c = make_sim(m, S + 1, 7);
    reco_env ec;
    reco_sim_env(&ec, c);
    assert_reco_error(ec.load_state(buf, len, ec.payload), RECO_EFORMAT, "max_sessions");
    free(buf);
    reco_sim_free(c);
    reco_sim_free(a);
    reco_sim_free(b);
    reco_model_free(m);
}


/* A simulator that stands in for an env takes what the env declares, and refuses options
 * that disagree with it (the tests' time-budget env: 2 signals, 20 candidates, 80 steps). */
static void test_sim_imitates_an_env(void **state)
{
    (void)state;
    budget_env *be = calloc(1, sizeof *be);
    assert_non_null(be);
    reco_env benv;
    budget_env_init(&benv, be, 5, 0, 3);
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    mo.n_items = BUDGET_NI;
    mo.dim = 8;
    mo.lookback = 5;
    mo.n_heads = 2;
    mo.ffn_dim = 8;
    mo.n_signals = 2;
    mo.max_batch = 8;
    mo.max_candidates = 32;
    reco_model *m = NULL;
    assert_int_equal(reco_model_create(&m, &mo), RECO_OK);

    reco_sim_options so = RECO_SIM_OPTIONS_INIT;
    so.max_sessions = 4;
    assert_int_equal(reco_sim_options_imitate(&so, &benv), RECO_OK);
    assert_ptr_equal(so.imitate, &benv);
    assert_int_equal(so.n_candidates, BUDGET_NC);
    assert_int_equal(so.max_session_len, BUDGET_MAX_LEN);
    assert_float_equal(so.reward[0], 0.2f, 0);
    assert_float_equal(so.reward[1], 1.0f, 0);
    assert_float_equal(so.reward[2], 0.3f, 0); /* past the env's signals: untouched */
    reco_sim *s = NULL;
    assert_int_equal(reco_sim_create(&s, m, &so), RECO_OK);
    reco_env env;
    assert_int_equal(reco_sim_env(&env, s), RECO_OK);
    assert_int_equal(reco_env_check(&env), RECO_OK);
    assert_string_equal(reco_env_signal_name(&env, 0), "click");
    assert_string_equal(reco_env_signal_name(&env, 1), "watch");
    assert_int_equal(env.max_candidates, BUDGET_NC);
    assert_int_equal(env.max_steps, BUDGET_MAX_LEN);
    assert_float_equal(env.reward_weights[0], 0.2f, 0);
    assert_float_equal(env.reward_weights[1], 1.0f, 0);
    /* the step's reward is the declared weighting of its signals */
    uint32_t slot = 0;
    uint64_t user = 1;
    assert_int_equal(env.reset(&slot, &user, 1, env.payload), RECO_OK);
    for (int t = 0; t < 20; t++) {
        int32_t cand[BUDGET_NC];
        uint32_t cnt, fb;
        float rew;
        int done;
        assert_int_equal(env.candidates(cand, &cnt, BUDGET_NC, &slot, 1, env.payload), RECO_OK);
        assert_int_equal(cnt, BUDGET_NC);
        assert_int_equal(env.step(&fb, &rew, &done, &slot, &cand[0], 1, env.payload), RECO_OK);
        assert_float_equal(rew, 0.2f * (float)(fb & 1u) + (float)((fb >> 1) & 1u), 1e-6);
        if (done != RECO_ENV_CONTINUE)
            assert_int_equal(env.reset(&slot, &user, 1, env.payload), RECO_OK);
    }
    reco_sim_free(s);
    s = (reco_sim *)&s;

    /* every disagreement is refused, naming both values */
    reco_sim_options bad = so;
    bad.n_candidates = 21;
    assert_reco_error(reco_sim_create(&s, m, &bad), RECO_EINVAL, "21, but the env it imitates "
                      "gives 20 candidates");
    assert_null(s);
    bad = so;
    bad.max_session_len = 100;
    assert_reco_error(reco_sim_create(&s, m, &bad), RECO_EINVAL, "cuts sessions at 80 steps");
    bad = so;
    bad.reward[1] = 2.0f;
    assert_reco_error(reco_sim_create(&s, m, &bad), RECO_EINVAL,
                      "signal 1 (watch) weighs 2, but the env it imitates declares 1");
    reco_env other = benv;
    other.n_signals = 3;
    static const char *const three[3] = {"click", "watch", "like"};
    static const float w3[3] = {0.2f, 1.0f, 0.0f};
    other.signal_names = three;
    other.reward_weights = w3;
    bad = so;
    bad.imitate = &other;
    assert_reco_error(reco_sim_create(&s, m, &bad), RECO_EINVAL, "the env it imitates 3");
    other = benv;
    other.version = 99;
    assert_reco_error(reco_sim_options_imitate(&bad, &other), RECO_EVERSION, "version 99");
    assert_reco_error(reco_sim_options_imitate(NULL, &benv), RECO_EINVAL, "opts");
    /* a version-3 struct gets the new fields' defaults first */
    reco_sim_options old;
    assert_int_equal(reco_sim_options_init(&old, 3), RECO_OK);
    old.max_sessions = 2;
    assert_int_equal(reco_sim_options_imitate(&old, &benv), RECO_OK);
    assert_int_equal(old.version, RECO_SIM_OPTIONS_VERSION);
    assert_int_equal(old.n_candidates, BUDGET_NC);
    assert_int_equal(old.max_sessions, 2);
    reco_model_free(m);
    free(be);
}

/* ---- the pessimistic ensemble (options version 5) ------------------------------------- */

/* fixed_model with item 0's probabilities replaced by q0 (signals, then exit). */
static reco_model *fixed_model_item0(const double q0[5])
{
    reco_model *m = fixed_model(NULL);
    for (size_t h = 0; h < 5; h++)
        m->params[m->lay.item_bias + h] = logit(q0[h]);
    return m;
}

/* Two models that disagree on item 0 only: the step's probabilities, reward and exit are the
 * formulas of sim.h (mean signals, reward - lambda std of the models' expected rewards, exit
 * + lambda std of their exits); item 7, where they agree, is the one model's, bit for bit;
 * lambda 0 leaves the mean unpenalised. */
static void test_sim_ensemble_pessimism_formula(void **state)
{
    (void)state;
    static const double pa[5] = {0.6, 0.3, 0.15, 0.2, 0.25}, pb[5] = {0.4, 0.5, 0.15, 0.1, 0.45};
    static const double w[4] = {0.1, 1.0, 0.3, -0.5};
    reco_model *ma = fixed_model(NULL), *mb = fixed_model_item0(pb);
    const reco_model *others[1] = {mb};
    for (int run = 0; run < 2; run++) {
        const double lambda = run == 0 ? 0.5 : 0.0;
        reco_sim_options so = RECO_SIM_OPTIONS_INIT;
        so.max_sessions = 1;
        so.max_session_len = 1000;
        so.n_candidates = 10;
        so.expected_reward = 1;
        so.ensemble = others;
        so.ensemble_size = 2;
        so.pessimism = (float)lambda;
        reco_sim *s = NULL, *one = make_sim(ma, 1, 1000);
        assert_int_equal(reco_sim_create(&s, ma, &so), RECO_OK);
        reco_env env, env1;
        reco_sim_env(&env, s);
        reco_sim_env(&env1, one);
        uint32_t slot = 0;
        uint64_t user = 1;
        assert_int_equal(env.reset(&slot, &user, 1, env.payload), RECO_OK);
        assert_int_equal(env1.reset(&slot, &user, 1, env1.payload), RECO_OK);
        double ra = 0.0, rb = 0.0;
        for (int f = 0; f < 4; f++) {
            ra += w[f] * pa[f];
            rb += w[f] * pb[f];
        }
        const double want_r = 0.5 * (ra + rb) - lambda * 0.5 * fabs(ra - rb);
        const double want_exit = 0.5 * (pa[4] + pb[4]) + lambda * 0.5 * fabs(pa[4] - pb[4]);
        float p[5], p1[5];
        const int32_t i0 = 0, i7 = 7;
        assert_int_equal(reco_sim_probabilities(p, s, &slot, &i0, 1), RECO_OK);
        for (int f = 0; f < 4; f++)
            assert_float_equal(p[f], 0.5 * (pa[f] + pb[f]), 1e-6);
        assert_float_equal(p[4], want_exit, 1e-6);
        assert_int_equal(reco_sim_probabilities(p, s, &slot, &i7, 1), RECO_OK);
        assert_int_equal(reco_sim_probabilities(p1, one, &slot, &i7, 1), RECO_OK);
        assert_memory_equal(p, p1, sizeof p);
        /* the steps: the expected reward, penalised, and the exit's frequency */
        uint32_t exits = 0;
        enum { TRIES = 8000 };
        for (int t = 0; t < TRIES; t++) {
            uint32_t bits;
            float r;
            int done;
            assert_int_equal(env.step(&bits, &r, &done, &slot, &i0, 1, env.payload), RECO_OK);
            assert_float_equal(r, want_r, 1e-6);
            exits += done == RECO_ENV_EXIT;
            assert_int_equal(env.reset(&slot, &user, 1, env.payload), RECO_OK);
        }
        const double sd = sqrt(want_exit * (1.0 - want_exit) / TRIES);
        if (!(fabs((double)exits / TRIES - want_exit) < 4.0 * sd))
            fail_msg("lambda %g: exit rate %g, formula %g", lambda, (double)exits / TRIES,
                     want_exit);
        reco_sim_free(s);
        reco_sim_free(one);
    }
    reco_model_free(mb);
    reco_model_free(ma);
}

/* The tests' time-budget env as the start states and the env imitated, random-init models (the
 * state matters): K identical models give the single model's sessions bit for bit, however
 * pessimistic, and allocate nothing in the steps; one model that differs changes them. */
static void test_sim_ensemble_identical_is_one_model(void **state)
{
    (void)state;
    budget_env *be = calloc(1, sizeof *be);
    assert_non_null(be);
    reco_env benv;
    budget_env_init(&benv, be, 5, 0, 3);
    reco_model *m[4] = {NULL, NULL, NULL, NULL};
    for (int k = 0; k < 4; k++) {
        reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
        mo.n_items = BUDGET_NI;
        mo.n_signals = 2;
        mo.lookback = 5;
        mo.user_dim = BUDGET_D;
        mo.dim = 8;
        mo.n_heads = 2;
        mo.ffn_dim = 8;
        mo.max_batch = k == 2 ? 4 : 16; /* the simulator scores in chunks that fit all */
        mo.max_candidates = BUDGET_NC;
        mo.init_std = 0.5f;
        mo.seed = k < 3 ? 11 : 12;
        assert_int_equal(reco_model_create(&m[k], &mo), RECO_OK);
    }
    uint32_t depth[3][40];
    float ret[3][40];
    uint64_t hash[3];
    for (int run = 0; run < 3; run++) {
        reco_sim_options so = RECO_SIM_OPTIONS_INIT;
        assert_int_equal(reco_sim_options_imitate(&so, &benv), RECO_OK);
        so.allocator = &counting;
        so.max_sessions = 16;
        so.seed = 3;
        const reco_model *others[2] = {m[1], run == 2 ? m[3] : m[2]};
        if (run > 0) {
            so.ensemble = others;
            so.ensemble_size = 3;
            so.pessimism = 0.8f;
        }
        reco_sim *s = NULL;
        assert_int_equal(reco_sim_create(&s, m[0], &so), RECO_OK);
        assert_int_equal(reco_sim_set_start_env(s, &benv), RECO_OK);
        reco_env env;
        reco_sim_env(&env, s);
        const size_t before = allocs;
        run_random_c(&env, depth[run], ret[run], &hash[run], 40, BUDGET_NC, 1);
        assert_int_equal(allocs, before);
        reco_sim_free(s);
    }
    for (int i = 0; i < 40; i++)
        if (ret[0][i] != ret[1][i] || depth[0][i] != depth[1][i])
            print_message("session %d: depth %u %u return %.9g %.9g\n", i, depth[0][i],
                          depth[1][i], (double)ret[0][i], (double)ret[1][i]);
    assert_memory_equal(depth[0], depth[1], sizeof depth[0]);
    assert_memory_equal(ret[0], ret[1], sizeof ret[0]);
    assert_true(hash[0] == hash[1]);
    assert_true(hash[2] != hash[0]);
    for (int k = 0; k < 4; k++)
        reco_model_free(m[k]);
    free(be);
}

static void test_sim_ensemble_bad_options(void **state)
{
    (void)state;
    reco_model *m = fixed_model(NULL), *other = fixed_model(NULL);
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    mo.n_items = NI + 1;
    mo.n_signals = NSIG;
    mo.lookback = LB;
    mo.dim = 8;
    mo.n_heads = 2;
    mo.ffn_dim = 8;
    mo.max_candidates = 16;
    reco_model *wide = NULL;
    assert_int_equal(reco_model_create(&wide, &mo), RECO_OK);
    const reco_model *others[2] = {other, NULL};
    reco_sim *s = NULL;
    reco_sim_options so = RECO_SIM_OPTIONS_INIT;
    so.n_candidates = 10;
    so.ensemble = others;
    so.ensemble_size = 0;
    assert_reco_error(reco_sim_create(&s, m, &so), RECO_EINVAL, "sim.ensemble");
    so.ensemble_size = RECO_SIM_MAX_ENSEMBLE + 1;
    assert_reco_error(reco_sim_create(&s, m, &so), RECO_EINVAL, "out of range [1, 8]");
    so.ensemble_size = 3; /* the second of the other models is NULL */
    assert_reco_error(reco_sim_create(&s, m, &so), RECO_EINVAL, "ensemble model 2 is NULL");
    so.ensemble = NULL;
    so.ensemble_size = 2;
    assert_reco_error(reco_sim_create(&s, m, &so), RECO_EINVAL, "are NULL");
    others[0] = wide;
    so.ensemble = others;
    assert_reco_error(reco_sim_create(&s, m, &so), RECO_EINVAL, "41 items");
    others[0] = other;
    so.pessimism = -1.0f;
    assert_reco_error(reco_sim_create(&s, m, &so), RECO_EINVAL, "sim.pessimism");
    so.pessimism = NAN;
    assert_reco_error(reco_sim_create(&s, m, &so), RECO_EINVAL, "sim.pessimism");
    so.ensemble_size = 1;
    so.pessimism = 0.5f;
    assert_reco_error(reco_sim_create(&s, m, &so), RECO_EINVAL, "set sim.ensemble to 2");
    assert_null(s);
    /* a version-4 struct ends before the ensemble: whatever lies there is not read */
    so.version = 4;
    so.ensemble_size = 0;
    so.pessimism = NAN;
    assert_int_equal(reco_sim_create(&s, m, &so), RECO_OK);
    reco_sim_free(s);
    reco_model_free(wide);
    reco_model_free(other);
    reco_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_probabilities_are_the_model),
        cmocka_unit_test(test_sim_sampled_rates),
        cmocka_unit_test(test_sim_window_and_session_end),
        cmocka_unit_test(test_sim_candidates_and_determinism),
        cmocka_unit_test(test_sim_session_context),
        cmocka_unit_test(test_sim_weighted_candidates),
        cmocka_unit_test(test_sim_exit_given_signals),
        cmocka_unit_test(test_sim_start_env),
        cmocka_unit_test(test_sim_reset_replays),
        cmocka_unit_test(test_sim_bad_input),
        cmocka_unit_test(test_sim_exclude_seen_and_expected_reward),
        cmocka_unit_test(test_sim_item_penalty),
        cmocka_unit_test(test_sim_no_allocation_in_steps),
        cmocka_unit_test(test_sim_state_save_load),
        cmocka_unit_test(test_sim_imitates_an_env),
        cmocka_unit_test(test_sim_ensemble_pessimism_formula),
        cmocka_unit_test(test_sim_ensemble_identical_is_one_model),
        cmocka_unit_test(test_sim_ensemble_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
