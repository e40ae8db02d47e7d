/* reco_policy: each built-in policy picks what it should on hand-made inputs (popularity
 * argmax, model greedy = argmax of the weighted sigmoid sum computed naively, model head =
 * argmax of reco_model_score), no allocation in choose() or choose_states(), the batched
 * session runner, the whole state (session context) reaching policies through the runner
 * (tests/test_ctx_env.h), version-1 policy structs, and bad inputs. Internal test: the
 * runner's env is a simulator on a model whose heads ignore the state (head weights zeroed,
 * item biases set). */
#include <math.h>

#include <stddef.h>

#include "test_common.h"
#include "test_ctx_env.h"
#include "model_private.h"
#include "reco/eval.h"
#include "reco/policy.h"
#include "reco/sim.h"

enum { NI = 30, LB = 4, NSIG = 4, MAXB = 4, MAXC = 16 };

static size_t allocs;
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
    free(p);
}
static reco_allocator counting = {RECO_ALLOCATOR_VERSION, count_alloc, count_free, NULL};

static reco_model *make_model(uint64_t seed)
{
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = NI;
    o.dim = 8;
    o.lookback = LB;
    o.n_heads = 2;
    o.ffn_dim = 8;
    o.n_signals = NSIG;
    o.max_batch = MAXB;
    o.max_candidates = MAXC;
    o.init_std = 0.5f;
    o.seed = seed;
    reco_model *m = NULL;
    assert_int_equal(reco_model_create(&m, &o), RECO_OK);
    return m;
}

/* Six states (more than max_batch, so choose() works in two chunks) with candidate rows of
 * different lengths. */
static void make_inputs(int32_t *items, uint32_t *fb, int32_t *cand, uint32_t *counts)
{
    for (int i = 0; i < 6; i++) {
        for (int t = 0; t < LB; t++) {
            items[i * LB + t] = t == 0 && i % 2 ? RECO_PAD : (i * 7 + t * 3) % NI;
            fb[i * LB + t] = (uint32_t)((i + t) % 4);
        }
        counts[i] = (uint32_t)(3 + 2 * i);
        for (int j = 0; j < MAXC; j++)
            cand[i * MAXC + j] = j < (int)counts[i] ? (i * 5 + j * 11) % NI : -99;
    }
}

static void test_popularity_argmax(void **state)
{
    (void)state;
    float w[NI];
    for (int i = 0; i < NI; i++)
        w[i] = (float)((i * 13) % 17);
    w[4] = 100.0f;
    w[9] = 100.0f; /* a tie with item 4 */
    float orig[NI];
    memcpy(orig, w, sizeof w);
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    po.kind = RECO_POLICY_POPULARITY;
    po.item_weights = w;
    po.n_item_weights = NI;
    reco_policy_state *ps = NULL;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    w[4] = 0.0f; /* copied: changing the caller's array does not matter */
    reco_policy pol;
    assert_int_equal(reco_policy_get(&pol, ps), RECO_OK);
    assert_string_equal(pol.name, "popularity");
    const int32_t cand[3 * 5] = {1, 2, 3, 0, 0, 9, 4, 5, -7, -7, 7, 8, 10, 11, 12};
    const uint32_t counts[3] = {3, 2, 5};
    uint32_t idx[3];
    assert_int_equal(pol.choose(idx, NULL, NULL, NULL, cand, counts, 5, 3, pol.payload),
                     RECO_OK);
    for (int i = 0; i < 3; i++) {
        uint32_t best = 0;
        for (uint32_t j = 1; j < counts[i]; j++)
            if (orig[cand[i * 5 + j]] > orig[cand[i * 5 + best]])
                best = j;
        assert_int_equal(idx[i], best);
    }
    assert_int_equal(idx[1], 0); /* items 9 and 4 tie at 100: the lower index wins */
    assert_int_equal(idx[2], 2); /* weights 6, 2, 11, 7, 3 */
    /* a candidate without a weight, and an empty row */
    const int32_t bad[2] = {3, NI};
    const uint32_t c2[1] = {2}, c0[1] = {0};
    assert_reco_error(pol.choose(idx, NULL, NULL, NULL, bad, c2, 2, 1, pol.payload),
                      RECO_EINVAL, "weight");
    assert_reco_error(pol.choose(idx, NULL, NULL, NULL, bad, c0, 2, 1, pol.payload),
                      RECO_EINVAL, "candidates");
    reco_policy_free(ps);
}

static void test_random_policy(void **state)
{
    (void)state;
    reco_policy_state *a = NULL, *b = NULL;
    assert_int_equal(reco_policy_create(&a, NULL), RECO_OK);
    assert_int_equal(reco_policy_create(&b, NULL), RECO_OK);
    reco_policy pa, pb;
    reco_policy_get(&pa, a);
    reco_policy_get(&pb, b);
    assert_string_equal(pa.name, "random");
    enum { R = 4000 };
    static int32_t cand[R * 8];
    static uint32_t counts[R], ia[R], ib[R];
    for (int i = 0; i < R; i++) {
        counts[i] = 5;
        for (int j = 0; j < 8; j++)
            cand[i * 8 + j] = j;
    }
    assert_int_equal(pa.choose(ia, NULL, NULL, NULL, cand, counts, 8, R, pa.payload), RECO_OK);
    assert_int_equal(pb.choose(ib, NULL, NULL, NULL, cand, counts, 8, R, pb.payload), RECO_OK);
    assert_memory_equal(ia, ib, sizeof ia); /* same seed, same choices */
    int hist[5] = {0};
    for (int i = 0; i < R; i++) {
        assert_true(ia[i] < 5);
        hist[ia[i]]++;
    }
    for (int j = 0; j < 5; j++) /* 800 expected; sd ~25 */
        assert_true(hist[j] > 700 && hist[j] < 900);
    reco_policy_free(a);
    reco_policy_free(b);
}

static float sigm(float z)
{
    return 1.0f / (1.0f + expf(-z));
}

/* Naive reference: each row scored alone, then the weighted sigmoid sum or the raw head. */
static uint32_t naive_choice(const reco_model *m, const int32_t *items, const uint32_t *fb,
                             const int32_t *cand, uint32_t count, const float *w, int head)
{
    reco_batch b = RECO_BATCH_INIT;
    b.size = 1;
    b.items = items;
    b.feedback = fb;
    b.n_candidates = count;
    b.candidates = cand;
    float sc[NSIG * MAXC];
    uint32_t heads[NSIG] = {0, 1, 2, 3};
    if (head >= 0)
        heads[0] = (uint32_t)head;
    const uint32_t K = head >= 0 ? 1 : NSIG;
    assert_int_equal(reco_model_score(sc, m, NULL, &b, heads, K), RECO_OK);
    uint32_t best = 0;
    double bv = -INFINITY;
    for (uint32_t j = 0; j < count; j++) {
        double v = 0.0;
        if (head >= 0)
            v = sc[j];
        else
            for (uint32_t f = 0; f < NSIG; f++)
                v += (double)w[f] * sigm(sc[f * count + j]);
        if (v > bv) {
            bv = v;
            best = j;
        }
    }
    return best;
}

static void test_model_policies(void **state)
{
    (void)state;
    reco_model *m = make_model(11);
    int32_t items[6 * LB], cand[6 * MAXC];
    uint32_t fb[6 * LB], counts[6], idx[6];
    make_inputs(items, fb, cand, counts);
    const float w[NSIG] = {0.1f, 1.0f, 0.3f, -0.5f};
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    po.allocator = &counting;
    po.kind = RECO_POLICY_MODEL_GREEDY;
    po.model = m;
    po.signal_weights = w;
    reco_policy_state *ps = NULL;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    reco_policy pol;
    reco_policy_get(&pol, ps);
    assert_string_equal(pol.name, "model-greedy");
    assert_int_equal(pol.lookback, LB);
    const size_t before = allocs;
    assert_int_equal(pol.choose(idx, items, fb, NULL, cand, counts, MAXC, 6, pol.payload),
                     RECO_OK);
    assert_int_equal(allocs, before); /* choose() never allocates */
    int distinct = 0;
    for (int i = 0; i < 6; i++) {
        assert_int_equal(idx[i], naive_choice(m, items + i * LB, fb + i * LB, cand + i * MAXC,
                                              counts[i], w, -1));
        distinct += idx[i] != 0;
    }
    assert_true(distinct > 0); /* not trivially the first candidate everywhere */
    reco_policy_free(ps);

    /* the head policy: the Q head, and the long-watch head */
    const uint32_t n_heads = reco_model_n_heads(m);
    const uint32_t test_heads[2] = {n_heads - 1, RECO_SIGNAL_LONG_WATCH};
    for (int h = 0; h < 2; h++) {
        po.kind = RECO_POLICY_MODEL_HEAD;
        po.signal_weights = NULL;
        po.head = test_heads[h];
        assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
        reco_policy_get(&pol, ps);
        assert_string_equal(pol.name, "model-head");
        assert_int_equal(pol.choose(idx, items, fb, NULL, cand, counts, MAXC, 6, pol.payload),
                         RECO_OK);
        for (int i = 0; i < 6; i++)
            assert_int_equal(idx[i], naive_choice(m, items + i * LB, fb + i * LB,
                                                  cand + i * MAXC, counts[i], NULL,
                                                  (int)test_heads[h]));
        /* more candidates than the model takes */
        int32_t big[MAXC + 1] = {0};
        uint32_t cbig = MAXC + 1;
        assert_reco_error(pol.choose(idx, items, fb, NULL, big, &cbig, MAXC + 1, 1,
                                     pol.payload), RECO_EINVAL, "at most");
        assert_reco_error(pol.choose(idx, NULL, fb, NULL, cand, counts, MAXC, 1, pol.payload),
                          RECO_EINVAL, "NULL");
        reco_policy_free(ps);
    }
    reco_model_free(m);
}

static void test_policy_bad_options(void **state)
{
    (void)state;
    reco_model *m = make_model(3);
    reco_policy_state *ps = (reco_policy_state *)&ps;
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    assert_reco_error(reco_policy_create(NULL, &po), RECO_EINVAL, "out");
    po.version = 99;
    assert_reco_error(reco_policy_create(&ps, &po), RECO_EVERSION, "reco_policy_options");
    assert_null(ps);
    reco_policy_options_init(&po, RECO_POLICY_OPTIONS_VERSION);
    po.kind = (reco_policy_kind)42;
    assert_reco_error(reco_policy_create(&ps, &po), RECO_EINVAL, "unknown");
    po.kind = RECO_POLICY_POPULARITY;
    assert_reco_error(reco_policy_create(&ps, &po), RECO_EINVAL, "item_weights");
    float w[2] = {1.0f, NAN};
    po.item_weights = w;
    po.n_item_weights = 2;
    assert_reco_error(reco_policy_create(&ps, &po), RECO_EINVAL, "not finite");
    po.kind = RECO_POLICY_MODEL_GREEDY;
    assert_reco_error(reco_policy_create(&ps, &po), RECO_EINVAL, "model");
    po.model = m;
    float nanw[8] = {NAN, 0, 0, 0, 0, 0, 0, 0};
    po.signal_weights = nanw;
    assert_reco_error(reco_policy_create(&ps, &po), RECO_EINVAL, "signal weight 0");
    po.signal_weights = NULL;
    po.kind = RECO_POLICY_MODEL_SOFTMAX;
    po.temperature = 0.0f;
    assert_reco_error(reco_policy_create(&ps, &po), RECO_EINVAL, "temperature");
    po.temperature = NAN;
    assert_reco_error(reco_policy_create(&ps, &po), RECO_EINVAL, "temperature");
    po.temperature = 1.0f;
    po.kind = RECO_POLICY_WEIGHTED;
    float negw[2] = {1.0f, -1.0f};
    po.item_weights = negw;
    assert_reco_error(reco_policy_create(&ps, &po), RECO_EINVAL, ">= 0");
    po.item_weights = w;
    po.kind = RECO_POLICY_MODEL_HEAD;
    po.head = reco_model_n_heads(m);
    assert_reco_error(reco_policy_create(&ps, &po), RECO_EINVAL, "head");
    assert_null(ps);
    assert_reco_error(reco_policy_get(NULL, NULL), RECO_EINVAL, "NULL");
    assert_reco_error(reco_policy_options_init(&po, 0), RECO_EVERSION, "reco_policy_options");
    reco_policy_free(NULL);
    reco_model_free(m);
}

/* ---- the runner -------------------------------------------------------------------------- */

static float logit(double p)
{
    return (float)log(p / (1.0 - p));
}

/* State-independent model: click .5, long watch .3, like .1, hide .2, exit .1 (item 0:
 * exit .5). */
static reco_model *fixed_model(void)
{
    reco_model *m = make_model(1);
    memset(m->params + m->lay.head_w, 0, m->d * m->H * m->d * sizeof(float));
    const double p[5] = {0.5, 0.3, 0.1, 0.2, 0.1};
    for (size_t i = 0; i < NI; i++)
        for (size_t h = 0; h < 5; h++)
            m->params[m->lay.item_bias + i * m->H + h] = logit(h == 4 && i == 0 ? 0.5 : p[h]);
    return m;
}

typedef struct observed {
    uint64_t steps, count[NSIG], ends;
    uint32_t depth[64];
} observed;

static void observe_steps(const reco_run_step *s, uint32_t n, void *payload)
{
    observed *o = payload;
    for (uint32_t i = 0; i < n; i++) {
        o->steps++;
        for (int f = 0; f < NSIG; f++)
            o->count[f] += (s[i].feedback >> f) & 1u;
        assert_true(s[i].session < 64);
        assert_int_equal(s[i].step, o->depth[s[i].session]); /* steps come in order */
        o->depth[s[i].session]++;
        o->ends += s[i].done != RECO_ENV_CONTINUE;
    }
}

static int choose_too_far(uint32_t *index_out, const int32_t *items, const uint32_t *feedback,
                          const float *features, const int32_t *candidates,
                          const uint32_t *counts, uint32_t max_candidates, uint32_t n,
                          void *payload)
{
    (void)items, (void)feedback, (void)features, (void)candidates, (void)max_candidates;
    (void)payload;
    for (uint32_t i = 0; i < n; i++)
        index_out[i] = counts[i];
    return RECO_OK;
}

static void test_run_sessions(void **state)
{
    (void)state;
    reco_model *m = fixed_model();
    reco_sim_options so = RECO_SIM_OPTIONS_INIT;
    so.max_sessions = 5;
    so.max_session_len = 12;
    so.n_candidates = 8;
    reco_sim *sim = NULL;
    assert_int_equal(reco_sim_create(&sim, m, &so), RECO_OK);
    reco_env env;
    reco_sim_env(&env, sim);
    reco_policy_state *ps = NULL;
    assert_int_equal(reco_policy_create(&ps, NULL), RECO_OK);
    reco_policy pol;
    reco_policy_get(&pol, ps);
    uint64_t users[40];
    for (int i = 0; i < 40; i++)
        users[i] = (uint64_t)(100 + i);
    observed ob;
    memset(&ob, 0, sizeof ob);
    reco_run_options ro = RECO_RUN_OPTIONS_INIT;
    ro.max_candidates = 10;
    ro.on_step = observe_steps;
    ro.on_step_payload = &ob;
    reco_run_stats st = RECO_RUN_STATS_INIT;
    uint32_t depth[40];
    float ret[40];
    assert_int_equal(reco_run_sessions(&st, depth, ret, &env, &pol, users, 40, &ro), RECO_OK);
    assert_int_equal(st.sessions, 40);
    assert_int_equal(st.exits + st.truncated + st.cut, 40);
    assert_int_equal(st.cut, 0);
    assert_int_equal(st.n_signals, NSIG);
    assert_int_equal(ob.steps, st.steps);
    assert_int_equal(ob.ends, 40);
    uint64_t sum = 0;
    double rsum = 0.0;
    for (int k = 0; k < 40; k++) {
        assert_int_equal(depth[k], ob.depth[k]);
        assert_true(depth[k] >= 1 && depth[k] <= 12);
        sum += depth[k];
        rsum += ret[k];
    }
    assert_int_equal(sum, st.steps);
    assert_float_equal(rsum, st.reward, 1e-3);
    for (int f = 0; f < NSIG; f++)
        assert_int_equal(ob.count[f], st.count[f]);
    /* the runner's own cut */
    ro.max_steps = 1;
    ro.on_step = NULL;
    assert_int_equal(reco_run_sessions(&st, NULL, NULL, &env, &pol, users, 7, &ro), RECO_OK);
    assert_int_equal(st.sessions, 7);
    assert_int_equal(st.steps, 7);
    assert_int_equal(st.cut + st.exits, 7);

    /* bad inputs */
    ro = (reco_run_options)RECO_RUN_OPTIONS_INIT;
    assert_reco_error(reco_run_sessions(&st, NULL, NULL, NULL, &pol, users, 3, NULL),
                      RECO_EINVAL, "NULL");
    assert_reco_error(reco_run_sessions(&st, NULL, NULL, &env, &pol, users, 0, NULL),
                      RECO_EINVAL, "n_users");
    ro.max_candidates = 0;
    assert_reco_error(reco_run_sessions(&st, NULL, NULL, &env, &pol, users, 3, &ro),
                      RECO_EINVAL, "max_candidates");
    ro.max_candidates = 10;
    ro.version = 7;
    assert_reco_error(reco_run_sessions(&st, NULL, NULL, &env, &pol, users, 3, &ro),
                      RECO_EVERSION, "reco_run_options");
    st.version = 0;
    assert_reco_error(reco_run_sessions(&st, NULL, NULL, &env, &pol, users, 3, NULL),
                      RECO_EVERSION, "reco_run_stats");
    st.version = RECO_RUN_STATS_VERSION;
    reco_policy odd = pol;
    odd.lookback = LB + 1;
    assert_reco_error(reco_run_sessions(&st, NULL, NULL, &env, &odd, users, 3, NULL),
                      RECO_EINVAL, "lookback");
    odd = pol;
    odd.choose = choose_too_far; /* replacing choose() of a built-in: clear the later entries */
    odd.choose_sessions = NULL;
    odd.choose_states = NULL;
    assert_reco_error(reco_run_sessions(&st, NULL, NULL, &env, &odd, users, 3, NULL),
                      RECO_EINVAL, "chose index");
    odd.choose = NULL;
    assert_reco_error(reco_run_sessions(&st, NULL, NULL, &env, &odd, users, 3, NULL),
                      RECO_EINVAL, "policy");
    reco_env bad = env;
    bad.step = NULL;
    assert_reco_error(reco_run_sessions(&st, NULL, NULL, &bad, &pol, users, 3, NULL),
                      RECO_EINVAL, "env");
    reco_policy_free(ps);
    reco_sim_free(sim);
    reco_model_free(m);
}

/* ---- the session context ----------------------------------------------------------------- */

static reco_policy_state *greedy_state(const reco_model *m, const reco_allocator *alloc)
{
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    po.allocator = alloc;
    po.kind = RECO_POLICY_MODEL_GREEDY;
    po.model = m;
    po.signal_weights = ctx_weights;
    reco_policy_state *ps = NULL;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    return ps;
}

static const uint64_t ctx_users[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

/* choose_states() called directly: each row's choice is a direct reco_model_score of that row
 * with its context, in chunks of max_batch, without allocating; choose() (no context)
 * refuses a model that takes one. */
static void test_policy_choose_states_direct(void **state)
{
    (void)state;
    reco_model *m = ctx_model(1, 1, CTX_H);
    reco_policy_state *ps = greedy_state(m, &counting);
    reco_policy pol;
    assert_int_equal(reco_policy_get(&pol, ps), RECO_OK);
    assert_int_equal(pol.version, RECO_POLICY_VERSION);
    assert_non_null(pol.choose_states);
    enum { R = 5 };
    int32_t items[R * CTX_L], li[R * CTX_H], cand[R * CTX_MAXC], shared[R * CTX_MAXC];
    uint32_t fb[R * CTX_L], lf[R * CTX_H], steps[R], counts[R], idx[R], idx2[R];
    float feat[R * CTX_U], elapsed[R];
    for (uint32_t i = 0; i < R; i++) {
        const uint64_t u = ctx_users[i];
        const uint32_t t = i % 3;
        ctx_window(items + i * CTX_L, fb + i * CTX_L, u, t);
        ctx_features(feat + i * CTX_U, u);
        ctx_long(li + i * CTX_H, lf + i * CTX_H, u);
        steps[i] = ctx_steps(u, t);
        elapsed[i] = ctx_elapsed(u, t);
        counts[i] = ctx_n_candidates(u, t);
        for (uint32_t j = 0; j < CTX_MAXC; j++)
            cand[i * CTX_MAXC + j] = j < counts[i] ? ctx_candidate(u, t, j) : -99;
    }
    reco_batch b = RECO_BATCH_INIT;
    b.size = R;
    b.items = items;
    b.feedback = fb;
    b.user_features = feat;
    b.n_candidates = CTX_MAXC;
    b.candidates = cand;
    b.steps = steps;
    b.elapsed = elapsed;
    b.long_items = li;
    b.long_feedback = lf;
    const size_t before = allocs;
    assert_int_equal(pol.choose_states(idx, &b, counts, pol.payload), RECO_OK);
    assert_int_equal(allocs, before); /* choose_states() never allocates */
    for (uint32_t i = 0; i < R; i++)
        assert_int_equal(idx[i], ctx_expected_choice(m, ctx_users[i], i % 3, 1));
    /* one shared candidate list: the same as that list in every row */
    for (uint32_t i = 0; i < R; i++) {
        counts[i] = ctx_n_candidates(0, 0);
        for (uint32_t j = 0; j < CTX_MAXC; j++)
            shared[i * CTX_MAXC + j] = cand[j];
    }
    b.candidates = shared;
    assert_int_equal(pol.choose_states(idx, &b, counts, pol.payload), RECO_OK);
    b.candidates = cand;
    b.shared_candidates = 1;
    assert_int_equal(pol.choose_states(idx2, &b, counts, pol.payload), RECO_OK);
    assert_memory_equal(idx, idx2, sizeof idx);
    b.shared_candidates = 0;
    /* without the context the model cannot score: a version-1 batch, and choose() */
    reco_batch v1 = b;
    v1.version = 1;
    assert_reco_error(pol.choose_states(idx, &v1, counts, pol.payload), RECO_EINVAL, "steps");
    assert_reco_error(pol.choose(idx, items, fb, feat, cand, counts, CTX_MAXC, R, pol.payload),
                      RECO_EINVAL, "choose_states");
    assert_reco_error(pol.choose_states(idx, NULL, counts, pol.payload), RECO_EINVAL, "NULL");
    b.version = RECO_BATCH_VERSION + 1;
    assert_reco_error(pol.choose_states(idx, &b, counts, pol.payload), RECO_EVERSION,
                      "reco_batch");
    reco_policy_free(ps);
    reco_model_free(m);

    /* random and popularity read no state: choose() only */
    assert_int_equal(reco_policy_create(&ps, NULL), RECO_OK);
    assert_int_equal(reco_policy_get(&pol, ps), RECO_OK);
    assert_null(pol.choose_states);
    reco_policy_free(ps);
}

/* The runner hands the built-in greedy policy the whole state: its choices are those of a
 * direct reco_model_score with the env's context (and differ from those without it). */
static void test_policy_runner_context(void **state)
{
    (void)state;
    reco_model *m = ctx_model(1, 1, CTX_H);
    reco_policy_state *ps = greedy_state(m, NULL);
    reco_policy pol;
    reco_policy_get(&pol, ps);
    ctx_env e, e2;
    reco_env env, env2;
    ctx_env_make(&env, &e, 1);
    reco_run_stats st = RECO_RUN_STATS_INIT;
    const uint32_t total = ctx_total_steps(ctx_users, 10);
    assert_int_equal(reco_run_sessions(&st, NULL, NULL, &env, &pol, ctx_users, 10, NULL),
                     RECO_OK);
    assert_int_equal(st.steps, total);
    assert_true(e.n_context > 0);
    ctx_check_log(&e, m, total, 1);
    /* the same again: the same steps */
    ctx_env_make(&env2, &e2, 1);
    assert_int_equal(reco_run_sessions(&st, NULL, NULL, &env2, &pol, ctx_users, 10, NULL),
                     RECO_OK);
    assert_int_equal(e2.n_log, e.n_log);
    assert_memory_equal(e2.log_item, e.log_item, e.n_log * sizeof(int32_t));
    assert_memory_equal(e2.log_user, e.log_user, e.n_log * sizeof(uint64_t));

    /* the model takes elapsed time and a long history, which an env without context() does
     * not give; and a long history of another length */
    ctx_env_make(&env, &e, 0);
    assert_reco_error(reco_run_sessions(&st, NULL, NULL, &env, &pol, ctx_users, 10, NULL),
                      RECO_EINVAL, "does not give");
    ctx_env_make(&env, &e, 1);
    env.long_len = CTX_H + 1;
    assert_reco_error(reco_run_sessions(&st, NULL, NULL, &env, &pol, ctx_users, 10, NULL),
                      RECO_EINVAL, "long-term history has 3 slots, the env's 4");
    assert_int_equal(e.n_log, 0); /* refused before any step */
    /* a version-1 copy of this policy has only choose(), which gets no context */
    reco_policy v1 = pol;
    v1.version = 1;
    v1.choose_states = ctx_choose_states_forbidden;
    ctx_env_make(&env, &e, 1);
    assert_reco_error(reco_run_sessions(&st, NULL, NULL, &env, &v1, ctx_users, 10, NULL),
                      RECO_EINVAL, "version 1");
    reco_policy_free(ps);
    reco_model_free(m);

    /* a position-only model in an env without context(): steps are the runner's count */
    m = ctx_model(1, 0, 0);
    ps = greedy_state(m, NULL);
    reco_policy_get(&pol, ps);
    ctx_env_make(&env, &e, 0);
    assert_int_equal(reco_run_sessions(&st, NULL, NULL, &env, &pol, ctx_users, 10, NULL),
                     RECO_OK);
    ctx_check_log(&e, m, total, 0);
    reco_policy_free(ps);
    reco_model_free(m);
}

/* A version-2 policy's choose_states() receives exactly what the env gave (or, from an env
 * without context(), the runner's step count, 0 s and pads); choose() is not called. */
static void test_policy_runner_states(void **state)
{
    (void)state;
    ctx_env e;
    reco_env env;
    ctx_recorder r = {&e, 1, CTX_H, 0, 0, 0};
    reco_policy pol = ctx_recorder_policy(&r);
    reco_run_options ro = RECO_RUN_OPTIONS_INIT;
    ro.max_candidates = CTX_MAXC + 2;
    r.max_candidates = ro.max_candidates;
    const uint32_t total = ctx_total_steps(ctx_users, 10);
    for (int with_context = 1; with_context >= 0; with_context--) {
        ctx_env_make(&env, &e, with_context);
        r.with_context = with_context;
        r.calls = r.rows = 0;
        assert_int_equal(reco_run_sessions(NULL, NULL, NULL, &env, &pol, ctx_users, 10, &ro),
                         RECO_OK);
        assert_int_equal(r.rows, total);
        assert_true(r.calls < total); /* rows are batched */
        assert_int_equal(e.n_log, total);
        ctx_check_last_shown(&e);
        assert_int_equal(e.n_context > 0, with_context);
    }
    /* a version-2 env: neither long_len nor context() is read */
    ctx_env_make(&env, &e, 0);
    env.version = 2;
    env.long_len = CTX_H + 5;
    env.context = ctx_context_forbidden;
    r.with_context = 0;
    r.long_len = 0;
    r.rows = 0;
    assert_int_equal(reco_run_sessions(NULL, NULL, NULL, &env, &pol, ctx_users, 10, &ro),
                     RECO_OK);
    assert_int_equal(r.rows, total);
}

/* A version-1 reco_policy keeps working: the runner calls its choose() and reads nothing past
 * its fields (the struct below ends there; ASan sees any read beyond). A model policy whose
 * model takes no context chooses the same through choose() as through choose_states(). A
 * model without user features plays in an env that has them. */
static void test_policy_runner_v1(void **state)
{
    (void)state;
    reco_model *m = ctx_model(0, 0, 0);
    reco_policy_state *ps = greedy_state(m, NULL);
    reco_policy pol;
    reco_policy_get(&pol, ps);
    ctx_env e1, e2;
    reco_env env;
    ctx_env_make(&env, &e1, 1);
    assert_int_equal(reco_run_sessions(NULL, NULL, NULL, &env, &pol, ctx_users, 10, NULL),
                     RECO_OK);
    ctx_check_log(&e1, m, ctx_total_steps(ctx_users, 10), 0);

    const size_t v1_size = offsetof(reco_policy, choose_states);
    reco_policy full = pol;
    full.version = 1;
    full.choose_states = ctx_choose_states_forbidden;
    reco_policy *v1 = malloc(v1_size);
    assert_non_null(v1);
    memcpy(v1, &full, v1_size);
    ctx_env_make(&env, &e2, 1);
    assert_int_equal(reco_run_sessions(NULL, NULL, NULL, &env, v1, ctx_users, 10, NULL),
                     RECO_OK);
    assert_int_equal(e2.n_log, e1.n_log);
    assert_memory_equal(e2.log_item, e1.log_item, e1.n_log * sizeof(int32_t));
    /* the poisoned full-size struct, for builds without ASan */
    ctx_env_make(&env, &e2, 1);
    assert_int_equal(reco_run_sessions(NULL, NULL, NULL, &env, &full, ctx_users, 10, NULL),
                     RECO_OK);
    assert_memory_equal(e2.log_item, e1.log_item, e1.n_log * sizeof(int32_t));
    free(v1);
    reco_policy_free(ps);
    reco_model_free(m);

    /* no user features in the model, two in the env */
    reco_model_options o;
    m = ctx_model(0, 0, 0);
    reco_model_options_init(&o, RECO_MODEL_OPTIONS_VERSION);
    assert_int_equal(reco_model_get_options(&o, m), RECO_OK);
    reco_model_free(m);
    o.user_dim = 0;
    assert_int_equal(reco_model_create(&m, &o), RECO_OK);
    ps = greedy_state(m, NULL);
    reco_policy_get(&pol, ps);
    assert_int_equal(pol.user_dim, 0);
    ctx_env_make(&env, &e1, 1);
    assert_int_equal(reco_run_sessions(NULL, NULL, NULL, &env, &pol, ctx_users, 10, NULL),
                     RECO_OK);
    assert_int_equal(e1.n_log, ctx_total_steps(ctx_users, 10));
    reco_policy_free(ps);
    reco_model_free(m);
}

/* A failing env's message reaches the caller (issue 13's public error setter): an env whose
 * step() fails through reco_error_set() makes reco_run_sessions fail with that status and
 * message; one that fails without recording anything gets a message saying so, not a stale
 * earlier one; both for step() and for candidates(). */
static int fail_mode;
static int failing_step(uint32_t *fb, float *reward, int *done, const uint32_t *slots,
                        const int32_t *items, uint32_t n, void *payload)
{
    if (fail_mode == 1)
        return reco_error_set(RECO_EIO, "user store unreachable");
    if (fail_mode == 2)
        return RECO_EIO; /* no message */
    return ctx_step(fb, reward, done, slots, items, n, payload);
}
static int failing_candidates(int32_t *items, uint32_t *count, uint32_t max_candidates,
                              const uint32_t *slots, uint32_t n, void *payload)
{
    if (fail_mode == 3)
        return reco_error_set(7, NULL); /* not a status: recorded as RECO_ERROR */
    return ctx_candidates(items, count, max_candidates, slots, n, payload);
}

static void test_policy_runner_env_errors(void **state)
{
    (void)state;
    ctx_env e;
    reco_env env;
    ctx_env_make(&env, &e, 1);
    env.step = failing_step;
    env.candidates = failing_candidates;
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    reco_policy_state *ps = NULL;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    reco_policy pol;
    assert_int_equal(reco_policy_get(&pol, ps), RECO_OK);
    const uint64_t users[2] = {1, 2};
    reco_run_options ro = RECO_RUN_OPTIONS_INIT;
    ro.max_candidates = 16;
    reco_run_stats st = RECO_RUN_STATS_INIT;
    fail_mode = 1;
    assert_reco_error(reco_run_sessions(&st, NULL, NULL, &env, &pol, users, 2, &ro), RECO_EIO,
                      "user store unreachable");
    /* a stale message first, then a callback that records none */
    assert_reco_error(reco_policy_create(NULL, &po), RECO_EINVAL, "");
    fail_mode = 2;
    assert_reco_error(reco_run_sessions(&st, NULL, NULL, &env, &pol, users, 2, &ro), RECO_EIO,
                      "the env's step() failed with RECO_EIO and recorded no message");
    fail_mode = 3;
    assert_reco_error(reco_run_sessions(&st, NULL, NULL, &env, &pol, users, 2, &ro),
                      RECO_ERROR, "error"); /* the status's description */
    assert_int_equal(reco_error_code(), RECO_ERROR);
    assert_string_equal(reco_error_message(), reco_status_string(RECO_ERROR));
    fail_mode = 0;
    reco_policy_free(ps);
}


/* ---- version 3: the sessions, the propensities, the logging rules as policies ------------ */

typedef struct session_check {
    const ctx_env *e;
    const uint64_t *users;
    uint32_t n_users, calls;
    uint64_t seen[64]; /* per session number: times it was acted for */
} session_check;

/* A user policy of version 3: every row's slot, key and session number must agree with the
 * env (which knows the user of each slot) and the runner's list; picks the last candidate,
 * with probability 1. */
static int check_sessions(uint32_t *index_out, const reco_batch *states, const uint32_t *counts,
                          const reco_policy_sessions *ss, void *payload)
{
    session_check *c = payload;
    assert_non_null(ss);
    assert_int_equal(ss->version, RECO_POLICY_SESSIONS_VERSION);
    assert_non_null(ss->propensity_out);
    c->calls++;
    for (uint32_t i = 0; i < states->size; i++) {
        assert_true(ss->slots[i] < CTX_SLOTS);
        assert_true(ss->sessions[i] < c->n_users);
        assert_int_equal(ss->users[i], c->users[ss->sessions[i]]);
        assert_int_equal(ss->users[i], c->e->user[ss->slots[i]]);
        /* the state is the session's: its step count is the env's t for that user */
        assert_int_equal(states->steps[i], ctx_steps(ss->users[i], c->e->t[ss->slots[i]]));
        c->seen[ss->sessions[i]]++;
        index_out[i] = counts[i] - 1;
        ss->propensity_out[i] = 1.0f;
    }
    return RECO_OK;
}

static void test_policy_v3_sees_its_sessions(void **state)
{
    (void)state;
    ctx_env e;
    reco_env env;
    ctx_env_make(&env, &e, 1);
    const uint64_t users[7] = {40, 41, 42, 43, 44, 45, 46};
    session_check c;
    memset(&c, 0, sizeof c);
    c.e = &e;
    c.users = users;
    c.n_users = 7;
    reco_policy pol;
    memset(&pol, 0, sizeof pol);
    pol.version = RECO_POLICY_VERSION;
    pol.choose = ctx_choose_forbidden;           /* never called: choose_sessions is set */
    pol.choose_states = ctx_choose_states_forbidden;
    pol.choose_sessions = check_sessions;
    pol.payload = &c;
    uint32_t depth[7];
    reco_run_options ro = RECO_RUN_OPTIONS_INIT;
    ro.max_candidates = CTX_MAXC;
    reco_run_stats st = RECO_RUN_STATS_INIT;
    assert_int_equal(reco_run_sessions(&st, depth, NULL, &env, &pol, users, 7, &ro), RECO_OK);
    assert_true(c.calls > 0);
    for (uint32_t k = 0; k < 7; k++) /* one choice per step of each session */
        assert_int_equal(c.seen[k], depth[k]);
    /* the evaluator hands the same, session numbers being the list's indices */
    memset(c.seen, 0, sizeof c.seen);
    ctx_env_make(&env, &e, 1);
    reco_eval_options eo = RECO_EVAL_OPTIONS_INIT;
    eo.max_candidates = CTX_MAXC;
    reco_eval *ev = NULL;
    assert_int_equal(reco_eval_run(&ev, &env, &pol, 1, users, 7, &eo), RECO_OK);
    for (uint32_t k = 0; k < 7; k++)
        assert_int_equal(c.seen[k], depth[k]);
    reco_eval_free(ev);
}

/* Built-in policies report the probability of their choice; the weighted and softmax rules
 * draw from their distributions (chi-square-like bound on 20000 draws, fixed seed). */
static void test_policy_propensities_and_draws(void **state)
{
    (void)state;
    enum { ROWS = 2000, C = 4, ROUNDS = 10 };
    static int32_t cand[ROWS * C];
    static uint32_t counts[ROWS], idx[ROWS];
    static float prop[ROWS];
    for (uint32_t i = 0; i < ROWS; i++) {
        counts[i] = C;
        for (uint32_t j = 0; j < C; j++)
            cand[i * C + j] = (int32_t)j;
    }
    const float w[C] = {1.0f, 2.0f, 0.0f, 5.0f};
    reco_batch b = RECO_BATCH_INIT;
    b.size = ROWS;
    b.n_candidates = C;
    b.candidates = cand;
    reco_policy_sessions ss = RECO_POLICY_SESSIONS_INIT;
    ss.propensity_out = prop;
    /* random: 1 / count */
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    reco_policy_state *ps = NULL;
    reco_policy pol;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    assert_int_equal(reco_policy_get(&pol, ps), RECO_OK);
    assert_int_equal(pol.choose_sessions(idx, &b, counts, &ss, pol.payload), RECO_OK);
    for (uint32_t i = 0; i < ROWS; i++)
        assert_float_equal(prop[i], 0.25f, 0);
    static float dist[ROWS * C];
    assert_int_equal(pol.version, RECO_POLICY_VERSION);
    assert_int_equal(pol.probabilities(dist, &b, counts, NULL, pol.payload), RECO_OK);
    for (uint32_t i = 0; i < ROWS * C; i++)
        assert_float_equal(dist[i], 0.25f, 0);
    reco_policy_free(ps);
    /* weighted: frequencies w / sum, propensity w_pick / sum, never the 0-weight item */
    po.kind = RECO_POLICY_WEIGHTED;
    po.item_weights = w;
    po.n_item_weights = C;
    po.seed = 9;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    assert_int_equal(reco_policy_get(&pol, ps), RECO_OK);
    assert_string_equal(pol.name, "weighted");
    double freq[C] = {0};
    /* probabilities(): w / sum in every row, the law the draws below must follow */
    assert_int_equal(pol.probabilities(dist, &b, counts, &ss, pol.payload), RECO_OK);
    for (uint32_t i = 0; i < ROWS; i++)
        for (uint32_t j = 0; j < C; j++)
            assert_float_equal(dist[i * C + j], w[j] / 8.0f, 1e-7);
    for (int r = 0; r < ROUNDS; r++) {
        assert_int_equal(pol.choose_sessions(idx, &b, counts, &ss, pol.payload), RECO_OK);
        for (uint32_t i = 0; i < ROWS; i++) {
            assert_true(idx[i] != 2);
            assert_float_equal(prop[i], dist[i * C + idx[i]], 1e-6);
            freq[idx[i]] += 1.0;
        }
    }
    for (uint32_t j = 0; j < C; j++) { /* 4 standard errors of a binomial share */
        const double p = dist[j], n = ROWS * ROUNDS;
        assert_true(fabs(freq[j] / n - p) <= 4.0 * sqrt(p * (1 - p) / n) + 1e-12);
    }
    /* all candidates weigh 0: uniform */
    const float zero[C] = {0, 0, 0, 0};
    reco_policy_free(ps);
    po.item_weights = zero;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    assert_int_equal(reco_policy_get(&pol, ps), RECO_OK);
    assert_int_equal(pol.choose_sessions(idx, &b, counts, &ss, pol.payload), RECO_OK);
    for (uint32_t i = 0; i < ROWS; i++)
        assert_float_equal(prop[i], 0.25f, 0);
    assert_int_equal(pol.probabilities(dist, &b, counts, NULL, pol.payload), RECO_OK);
    for (uint32_t i = 0; i < ROWS * C; i++)
        assert_float_equal(dist[i], 0.25f, 0);
    /* a candidate without a weight, and no output: errors naming them */
    cand[5] = 77;
    assert_reco_error(pol.probabilities(dist, &b, counts, NULL, pol.payload), RECO_EINVAL,
                      "candidate 77 (row 1) has no weight");
    cand[5] = 1;
    assert_reco_error(pol.probabilities(NULL, &b, counts, NULL, pol.payload), RECO_EINVAL,
                      "NULL probs_out");
    reco_policy_free(ps);
}

/* probabilities() of the argmax policies: one-hot on the choice, ties to the lower index
 * (popularity), and, for greedy and head, on the naive argmax; short rows are 0 past their
 * count. */
static void test_policy_probabilities_argmax(void **state)
{
    (void)state;
    enum { C = 5 };
    const float w[6] = {1.0f, 3.0f, 0.5f, 3.0f, 2.0f, 3.0f};
    int32_t pc[2 * C] = {0, 1, 2, 3, 4, 5, 4, 3, 2, 0};
    uint32_t pn[2] = {C, 3};
    float dist[2 * C];
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    po.kind = RECO_POLICY_POPULARITY;
    po.item_weights = w;
    po.n_item_weights = 6;
    reco_policy_state *ps = NULL;
    reco_policy pol;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    assert_int_equal(reco_policy_get(&pol, ps), RECO_OK);
    reco_batch b = RECO_BATCH_INIT;
    b.size = 2;
    b.n_candidates = C;
    b.candidates = pc;
    assert_int_equal(pol.probabilities(dist, &b, pn, NULL, pol.payload), RECO_OK);
    const float want[2 * C] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0}; /* items 1 and 3, 5 tie at 3 */
    for (int k = 0; k < 2 * C; k++)
        assert_float_equal(dist[k], want[k], 0);
    reco_policy_free(ps);

    reco_model *m = make_model(11);
    int32_t items[6 * LB], cand[6 * MAXC];
    uint32_t fb[6 * LB], counts[6];
    float md[6 * MAXC];
    make_inputs(items, fb, cand, counts);
    const float sw[NSIG] = {0.1f, 1.0f, 0.3f, -0.5f};
    reco_batch mb = RECO_BATCH_INIT;
    mb.size = 6;
    mb.items = items;
    mb.feedback = fb;
    mb.n_candidates = MAXC;
    mb.candidates = cand;
    for (int head = -1; head < 1; head++) {
        po = (reco_policy_options)RECO_POLICY_OPTIONS_INIT;
        po.kind = head < 0 ? RECO_POLICY_MODEL_GREEDY : RECO_POLICY_MODEL_HEAD;
        po.model = m;
        po.signal_weights = head < 0 ? sw : NULL;
        po.head = RECO_SIGNAL_LONG_WATCH;
        assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
        assert_int_equal(reco_policy_get(&pol, ps), RECO_OK);
        assert_int_equal(pol.probabilities(md, &mb, counts, NULL, pol.payload), RECO_OK);
        for (uint32_t i = 0; i < 6; i++) {
            const uint32_t best = naive_choice(m, items + i * LB, fb + i * LB, cand + i * MAXC,
                                               counts[i], sw,
                                               head < 0 ? -1 : (int)RECO_SIGNAL_LONG_WATCH);
            for (uint32_t j = 0; j < MAXC; j++)
                assert_float_equal(md[i * MAXC + j], j == best ? 1.0f : 0.0f, 0);
        }
        assert_reco_error(pol.probabilities(md, NULL, counts, NULL, pol.payload), RECO_EINVAL,
                          "NULL states");
        reco_policy_free(ps);
    }
    reco_model_free(m);
}

static void test_policy_model_softmax_draws(void **state)
{
    (void)state;
    /* the fixed model: every item click .5, long watch .3, like .1, hide .2; with weights
     * picking one signal per candidate set, the expected reward differs by item only through
     * item biases — use item biases set per item instead */
    reco_model *m = make_model(1);
    memset(m->params + m->lay.head_w, 0, m->d * m->H * m->d * sizeof(float));
    for (size_t i = 0; i < NI; i++)
        for (size_t h = 0; h < 5; h++)
            m->params[m->lay.item_bias + i * m->H + h] = h == 0 ? logit(0.1 + 0.02 * (double)i)
                                                                : logit(0.5);
    enum { ROWS = 512, C = 5, ROUNDS = 20 };
    static int32_t items[ROWS * LB], cand[ROWS * C];
    static uint32_t fb[ROWS * LB], counts[ROWS], idx[ROWS];
    static float prop[ROWS];
    for (uint32_t i = 0; i < ROWS; i++) {
        counts[i] = C;
        for (uint32_t j = 0; j < LB; j++) {
            items[i * LB + j] = RECO_PAD;
            fb[i * LB + j] = 0;
        }
        for (uint32_t j = 0; j < C; j++)
            cand[i * C + j] = (int32_t)(j * 6); /* click p = .1, .22, .34, .46, .58 */
    }
    const float sw[NSIG] = {1.0f, 0.0f, 0.0f, 0.0f};
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    po.kind = RECO_POLICY_MODEL_SOFTMAX;
    po.model = m;
    po.signal_weights = sw;
    po.temperature = 0.2f;
    po.seed = 4;
    reco_policy_state *ps = NULL;
    reco_policy pol;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    assert_int_equal(reco_policy_get(&pol, ps), RECO_OK);
    assert_string_equal(pol.name, "model-softmax");
    reco_batch b = RECO_BATCH_INIT;
    b.size = ROWS;
    b.items = items;
    b.feedback = fb;
    b.n_candidates = C;
    b.candidates = cand;
    reco_policy_sessions ss = RECO_POLICY_SESSIONS_INIT;
    ss.propensity_out = prop;
    double want[C], z = 0.0, freq[C] = {0};
    for (uint32_t j = 0; j < C; j++)
        z += (want[j] = exp((0.1 + 0.12 * j) / 0.2));
    for (uint32_t j = 0; j < C; j++)
        want[j] /= z;
    static float dist[ROWS * C];
    assert_int_equal(pol.probabilities(dist, &b, counts, NULL, pol.payload), RECO_OK);
    for (uint32_t i = 0; i < ROWS; i++)
        for (uint32_t j = 0; j < C; j++)
            assert_float_equal(dist[i * C + j], want[j], 1e-4);
    for (int r = 0; r < ROUNDS; r++) {
        assert_int_equal(pol.choose_sessions(idx, &b, counts, &ss, pol.payload), RECO_OK);
        for (uint32_t i = 0; i < ROWS; i++) {
            assert_float_equal(prop[i], want[idx[i]], 1e-4);
            assert_float_equal(prop[i], dist[i * C + idx[i]], 1e-6);
            freq[idx[i]] += 1.0;
        }
    }
    for (uint32_t j = 0; j < C; j++) {
        const double n = ROWS * ROUNDS;
        assert_true(fabs(freq[j] / n - want[j]) <= 4.0 * sqrt(want[j] * (1 - want[j]) / n));
    }
    reco_policy_free(ps);
    reco_model_free(m);
}

/* The explorer as a policy: RecoMind's rule over one head's raw scores. The head-0 scores of
 * the five candidates are logit(.1 + .12 j) (item biases, no state term); with epsilon .5,
 * K = 2 and tau 1 the rule gives p(a*) = .5 + .5 s(a*), p(second) = .5 s(second) with s the
 * softmax over the top two, and 0 elsewhere. Reported propensities must be these exactly,
 * and the draws must follow them (4 standard errors). */
static void test_policy_model_explore(void **state)
{
    (void)state;
    reco_model *m = make_model(1);
    memset(m->params + m->lay.head_w, 0, m->d * m->H * m->d * sizeof(float));
    for (size_t i = 0; i < NI; i++)
        for (size_t h = 0; h < 5; h++)
            m->params[m->lay.item_bias + i * m->H + h] = h == 0 ? logit(0.1 + 0.02 * (double)i)
                                                                : logit(0.5);
    enum { ROWS = 512, C = 5, ROUNDS = 20 };
    static int32_t items[ROWS * LB], cand[ROWS * C];
    static uint32_t fb[ROWS * LB], counts[ROWS], idx[ROWS];
    static float prop[ROWS];
    for (uint32_t i = 0; i < ROWS; i++) {
        counts[i] = C;
        for (uint32_t j = 0; j < LB; j++) {
            items[i * LB + j] = RECO_PAD;
            fb[i * LB + j] = 0;
        }
        for (uint32_t j = 0; j < C; j++)
            cand[i * C + j] = (int32_t)(j * 6);
    }
    reco_explorer_options eo = RECO_EXPLORER_OPTIONS_INIT;
    eo.epsilon.start = eo.epsilon.end = 0.5;
    eo.top_k_count = 2;
    eo.seed = 9;
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    po.kind = RECO_POLICY_MODEL_EXPLORE;
    po.model = m;
    po.head = 0;
    po.explorer = &eo;
    reco_policy_state *ps = NULL;
    reco_policy pol;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    assert_int_equal(reco_policy_get(&pol, ps), RECO_OK);
    assert_string_equal(pol.name, "model-explore");
    reco_batch b = RECO_BATCH_INIT;
    b.size = ROWS;
    b.items = items;
    b.feedback = fb;
    b.n_candidates = C;
    b.candidates = cand;
    reco_policy_sessions ss = RECO_POLICY_SESSIONS_INIT;
    ss.propensity_out = prop;
    const double q3 = (double)logit(0.1 + 0.12 * 3), q4 = (double)logit(0.1 + 0.12 * 4);
    const double s4 = 1.0 / (1.0 + exp(q3 - q4));
    const double want[C] = {0.0, 0.0, 0.0, 0.5 * (1.0 - s4), 0.5 + 0.5 * s4};
    double freq[C] = {0};
    /* probabilities(): the explorer's top-K softmax mixture, and it draws nothing: the
     * draws below are those of a policy whose probabilities() was never called */
    static float dist[ROWS * C];
    static uint32_t idx2[ROWS];
    reco_policy_state *twin = NULL;
    reco_policy tpol;
    assert_int_equal(reco_policy_create(&twin, &po), RECO_OK);
    assert_int_equal(reco_policy_get(&tpol, twin), RECO_OK);
    assert_int_equal(pol.probabilities(dist, &b, counts, NULL, pol.payload), RECO_OK);
    for (uint32_t i = 0; i < ROWS; i++)
        for (uint32_t j = 0; j < C; j++)
            assert_float_equal(dist[i * C + j], want[j], 1e-5);
    for (int r = 0; r < ROUNDS; r++) {
        assert_int_equal(pol.choose_sessions(idx, &b, counts, &ss, pol.payload), RECO_OK);
        assert_int_equal(tpol.choose_sessions(idx2, &b, counts, NULL, tpol.payload), RECO_OK);
        assert_memory_equal(idx, idx2, sizeof idx);
        for (uint32_t i = 0; i < ROWS; i++) {
            assert_true(idx[i] < C);
            assert_float_equal(prop[i], want[idx[i]], 1e-5);
            freq[idx[i]] += 1.0;
        }
    }
    reco_policy_free(twin);
    for (uint32_t j = 0; j < C; j++) {
        const double n = ROWS * ROUNDS;
        assert_true(fabs(freq[j] / n - want[j]) <= 4.0 * sqrt(want[j] * (1 - want[j]) / n) +
                                                     1e-12);
    }
    /* short rows: the padding is never chosen; greedy explorer = the model-head policy */
    reco_policy_free(ps);
    eo.rule = RECO_EXPLORER_GREEDY;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    assert_int_equal(reco_policy_get(&pol, ps), RECO_OK);
    for (uint32_t i = 0; i < ROWS; i++)
        counts[i] = 1 + i % C;
    assert_int_equal(pol.choose_sessions(idx, &b, counts, &ss, pol.payload), RECO_OK);
    for (uint32_t i = 0; i < ROWS; i++) {
        assert_int_equal(idx[i], counts[i] - 1);
        assert_float_equal(prop[i], 1.0f, 0.0f);
    }
    assert_int_equal(pol.probabilities(dist, &b, counts, NULL, pol.payload), RECO_OK);
    for (uint32_t i = 0; i < ROWS; i++)
        for (uint32_t j = 0; j < C; j++)
            assert_float_equal(dist[i * C + j], j == counts[i] - 1 ? 1.0f : 0.0f, 0.0f);
    reco_policy_free(ps);
    /* bad explorer options are refused at creation, naming the option */
    eo.epsilon.start = 2.0;
    assert_reco_error(reco_policy_create(&ps, &po), RECO_EINVAL, "epsilon");
    assert_null(ps);
    eo.epsilon.start = 0.5;
    eo.version = 99;
    assert_reco_error(reco_policy_create(&ps, &po), RECO_EVERSION, "reco_explorer_options");
    eo.version = RECO_EXPLORER_OPTIONS_VERSION;
    po.head = reco_model_n_heads(m);
    assert_reco_error(reco_policy_create(&ps, &po), RECO_EINVAL, "head");
    /* a version-2 options struct (no explorer field) is read up to its own fields */
    reco_policy_options v2;
    assert_int_equal(reco_policy_options_init(&v2, 2), RECO_OK);
    v2.kind = RECO_POLICY_MODEL_SOFTMAX;
    v2.model = m;
    v2.temperature = 0.5f;
    assert_int_equal(reco_policy_create(&ps, &v2), RECO_OK);
    reco_policy_free(ps);
    reco_model_free(m);
}

/* Greedy and softmax policies take the env's declared reward weights when given none, and
 * refuse weights of their own that differ. */
static void test_policy_weights_from_the_env(void **state)
{
    (void)state;
    reco_model *m = fixed_model();
    ctx_env e;
    reco_env env;
    ctx_env_make(&env, &e, 1);
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    reco_model_get_options(&mo, m);
    /* a model-free check first: the env declares nothing → a policy without weights is
     * refused at run time */
    reco_sim_options so = RECO_SIM_OPTIONS_INIT;
    so.max_sessions = 4;
    so.max_session_len = 6;
    so.n_candidates = 8;
    so.reward[0] = 0.0f;
    so.reward[1] = 1.0f;
    so.reward[2] = 0.5f;
    so.reward[3] = -1.0f;
    reco_sim *sim = NULL;
    assert_int_equal(reco_sim_create(&sim, m, &so), RECO_OK);
    reco_env senv;
    assert_int_equal(reco_sim_env(&senv, sim), RECO_OK); /* declares so.reward */
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    po.kind = RECO_POLICY_MODEL_GREEDY;
    po.model = m;
    reco_policy_state *ps = NULL;
    reco_policy pol;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    assert_int_equal(reco_policy_get(&pol, ps), RECO_OK);
    const uint64_t users[4] = {1, 2, 3, 4};
    reco_run_options ro = RECO_RUN_OPTIONS_INIT;
    ro.max_candidates = 8;
    float ret_env[4], ret_own[4];
    assert_int_equal(reco_run_sessions(NULL, NULL, ret_env, &senv, &pol, users, 4, &ro),
                     RECO_OK);
    reco_policy_free(ps);
    /* the same weights given explicitly: the same sessions */
    po.signal_weights = so.reward;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    assert_int_equal(reco_policy_get(&pol, ps), RECO_OK);
    assert_int_equal(reco_sim_reset(sim), RECO_OK);
    assert_int_equal(reco_run_sessions(NULL, NULL, ret_own, &senv, &pol, users, 4, &ro),
                     RECO_OK);
    assert_memory_equal(ret_env, ret_own, sizeof ret_env);
    reco_policy_free(ps);
    /* other weights: refused, naming the signal and both values */
    const float other[NSIG] = {0.0f, 2.0f, 0.5f, -1.0f};
    po.signal_weights = other;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    assert_int_equal(reco_policy_get(&pol, ps), RECO_OK);
    assert_reco_error(reco_run_sessions(NULL, NULL, NULL, &senv, &pol, users, 4, &ro),
                      RECO_EINVAL, "weighs signal 1 (signal1) 2; the env's reward weight is 1");
    reco_policy_free(ps);
    /* no weights, and an env that declares none (version 3): refused */
    po.signal_weights = NULL;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    assert_int_equal(reco_policy_get(&pol, ps), RECO_OK);
    reco_env v3 = senv;
    v3.version = 3;
    assert_reco_error(reco_run_sessions(NULL, NULL, NULL, &v3, &pol, users, 4, &ro),
                      RECO_EINVAL, "declares no reward weights");
    /* nor can it be called directly before a runner bound the weights */
    reco_policy_free(ps);
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    assert_int_equal(reco_policy_get(&pol, ps), RECO_OK);
    int32_t items[LB] = {RECO_PAD, RECO_PAD, RECO_PAD, RECO_PAD}, cand[2] = {1, 2};
    uint32_t fb[LB] = {0}, cnt = 2, idx = 0;
    assert_reco_error(pol.choose(&idx, items, fb, NULL, cand, &cnt, 2, 1, pol.payload),
                      RECO_EINVAL, "without signal weights");
    reco_policy_free(ps);
    reco_sim_free(sim);
    reco_model_free(m);
    (void)env;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_popularity_argmax),
        cmocka_unit_test(test_random_policy),
        cmocka_unit_test(test_model_policies),
        cmocka_unit_test(test_policy_bad_options),
        cmocka_unit_test(test_run_sessions),
        cmocka_unit_test(test_policy_choose_states_direct),
        cmocka_unit_test(test_policy_runner_context),
        cmocka_unit_test(test_policy_runner_states),
        cmocka_unit_test(test_policy_runner_v1),
        cmocka_unit_test(test_policy_runner_env_errors),
        cmocka_unit_test(test_policy_v3_sees_its_sessions),
        cmocka_unit_test(test_policy_propensities_and_draws),
        cmocka_unit_test(test_policy_probabilities_argmax),
        cmocka_unit_test(test_policy_model_softmax_draws),
        cmocka_unit_test(test_policy_model_explore),
        cmocka_unit_test(test_policy_weights_from_the_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
