/* reco_eval: the normal quantile against reference values; means, ratio estimates, intervals
 * and paired lifts against arithmetic written out by hand on a scripted env of 5 sessions;
 * the fixed CRN schedule (same users in the same slots in the same order for every policy);
 * identical results for identical policies in the world and in the simulator; interval
 * coverage over replicated evaluations of an env with a known distribution; the JSON and CSV
 * reports read back; and every error. Internal test: it calls reco__normal_quantile(). */
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stddef.h>

#include "test_common.h"
#include "test_ctx_env.h"
#include "env/budget_env.h"
#include "error_private.h"
#include "eval_private.h"

/* z of a 95% interval: Phi^-1(0.975), from Python's statistics.NormalDist().inv_cdf */
#define Z95 1.9599639845400536

static void assert_rel(double got, double want, double tol)
{
    const double scale = fabs(want) > 1.0 ? fabs(want) : 1.0;
    if (!(fabs(got - want) <= tol * scale))
        fail_msg("got %.17g, want %.17g (tolerance %g)", got, want, tol);
}

/* ---- the normal quantile ------------------------------------------------------------------ */

static void test_eval_normal_quantile(void **state)
{
    (void)state;
    /* the values of the brief, to their 7 digits */
    assert_float_equal(reco__normal_quantile(0.975), 1.959964, 5e-7);
    assert_float_equal(reco__normal_quantile(0.95), 1.644854, 5e-7);
    assert_float_equal(reco__normal_quantile(0.995), 2.575829, 5e-7);
    /* full precision, references from Python 3.11 statistics.NormalDist().inv_cdf (AS241) */
    static const double ref[][2] = {
        {0.975, 1.9599639845400536},   {0.95, 1.6448536269514715},
        {0.995, 2.5758293035489},      {0.5, 0.0},
        {0.9, 1.2815515655446008},     {0.8413447460685429, 1.0},
        {0.02425, -1.9729610513118845}, {0.01, -2.3263478740408408},
        {1e-05, -4.2648907939228256},  {1e-10, -6.361340902404056},
        {0.99999, 4.26489079392384}};
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++)
        assert_rel(reco__normal_quantile(ref[i][0]), ref[i][1], 1e-12);
    /* symmetry */
    for (double p = 0.001; p < 0.5; p += 0.0173)
        assert_rel(reco__normal_quantile(p), -reco__normal_quantile(1.0 - p), 1e-11);
    assert_true(isnan(reco__normal_quantile(0.0)));
    assert_true(isnan(reco__normal_quantile(1.0)));
    assert_true(isnan(reco__normal_quantile(NAN)));
}

/* ---- a scripted env: every session's outcome is written in a table ------------------------ */

/* Candidates at step t are {2 (t mod 2), 2 (t mod 2) + 1}; the first item shown picks the
 * session's arm (item & 1), and the session then follows row [user][arm]: it lasts `depth`
 * steps, the first `lw` steps have a long watch, the first `hides` steps a hide, and the last
 * step carries the whole return. Items 0 and 2 (arm 0) have topics 0 and 2, items 1 and 3
 * (arm 1) topic 1: arm 0 shows 1 topic in a 1-step session and 2 otherwise, arm 1 always 1. */
typedef struct script_row {
    uint32_t depth, lw, hides;
    float ret;
} script_row;

enum { NS = 5 };
static const script_row script[NS][2] = {
    /* arm 0 (policy "A")   arm 1 (policy "B") */
    {{2, 1, 0, 1.0f}, {3, 2, 0, 2.0f}},
    {{5, 3, 1, 2.5f}, {5, 4, 0, 3.0f}},
    {{3, 2, 0, 1.5f}, {1, 0, 1, 0.0f}},
    {{1, 0, 1, -0.5f}, {2, 1, 0, 1.0f}},
    {{4, 2, 2, 0.5f}, {6, 3, 1, 2.5f}},
};
static const uint32_t script_topics[4] = {0, 1, 2, 1};

enum { MAX_LOG = 4096, MAX_SLOTS = 64 };

typedef struct script_env {
    uint32_t slots;
    uint64_t user[MAX_SLOTS];
    uint32_t t[MAX_SLOTS];
    int arm[MAX_SLOTS];
    /* every reset, in order: slot and user */
    uint32_t n_log, log_slot[MAX_LOG];
    uint64_t log_user[MAX_LOG];
} script_env;

static int script_reset(const uint32_t *slots, const uint64_t *users, uint32_t n, void *payload)
{
    script_env *s = payload;
    for (uint32_t i = 0; i < n; i++) {
        assert_true(slots[i] < s->slots && users[i] < NS);
        s->user[slots[i]] = users[i];
        s->t[slots[i]] = 0;
        s->arm[slots[i]] = -1;
        assert_true(s->n_log < MAX_LOG);
        s->log_slot[s->n_log] = slots[i];
        s->log_user[s->n_log++] = users[i];
    }
    return RECO_OK;
}

static int script_observe(int32_t *items, uint32_t *fb, float *feat, const uint32_t *slots,
                          uint32_t n, void *payload)
{
    (void)feat, (void)slots, (void)payload;
    for (uint32_t i = 0; i < n; i++) {
        items[i] = RECO_PAD;
        fb[i] = 0;
    }
    return RECO_OK;
}

static int script_candidates(int32_t *items, uint32_t *count, uint32_t max_candidates,
                             const uint32_t *slots, uint32_t n, void *payload)
{
    script_env *s = payload;
    for (uint32_t i = 0; i < n; i++) {
        const int32_t first = (int32_t)(2 * (s->t[slots[i]] % 2));
        items[(size_t)i * max_candidates] = first;
        items[(size_t)i * max_candidates + 1] = first + 1;
        count[i] = 2;
    }
    return RECO_OK;
}

static int script_step(uint32_t *fb, float *reward, int *done, const uint32_t *slots,
                       const int32_t *items, uint32_t n, void *payload)
{
    script_env *s = payload;
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t sl = slots[i];
        if (s->arm[sl] < 0)
            s->arm[sl] = items[i] & 1;
        const script_row *r = &script[s->user[sl]][s->arm[sl]];
        const uint32_t t = s->t[sl]++;
        fb[i] = (t < r->lw ? 1u << RECO_SIGNAL_LONG_WATCH : 0u) |
                (t < r->hides ? 1u << RECO_SIGNAL_HIDE : 0u);
        reward[i] = t + 1 == r->depth ? r->ret : 0.0f;
        done[i] = t + 1 == r->depth ? RECO_ENV_EXIT : RECO_ENV_CONTINUE;
    }
    return RECO_OK;
}

static void script_env_make(reco_env *env, script_env *s, uint32_t slots)
{
    memset(s, 0, sizeof *s);
    s->slots = slots;
    memset(env, 0, sizeof *env);
    env->version = RECO_ENV_VERSION;
    env->n_items = 4;
    env->n_signals = RECO_N_SIGNALS_DEFAULT;
    env->lookback = 1;
    env->max_sessions = slots;
    env->reset = script_reset;
    env->observe = script_observe;
    env->candidates = script_candidates;
    env->step = script_step;
    env->payload = s;
}

/* A policy that always picks candidate `*(uint32_t *)payload`. */
static int choose_fixed(uint32_t *index_out, const int32_t *items, const uint32_t *feedback,
                        const float *features, const int32_t *candidates,
                        const uint32_t *counts, uint32_t max_candidates, uint32_t n,
                        void *payload)
{
    (void)items, (void)feedback, (void)features, (void)candidates, (void)max_candidates;
    const uint32_t k = *(const uint32_t *)payload;
    for (uint32_t i = 0; i < n; i++)
        index_out[i] = k < counts[i] ? k : counts[i] - 1;
    return RECO_OK;
}

static const uint32_t pick0 = 0, pick1 = 1;

static reco_policy fixed_policy(const char *name, const uint32_t *pick)
{
    reco_policy p;
    memset(&p, 0, sizeof p);
    p.version = RECO_POLICY_VERSION;
    p.name = name;
    p.choose = choose_fixed;
    p.payload = (void *)(uintptr_t)pick;
    return p;
}

static int count_resets(void *payload)
{
    int *n = payload;
    (*n)++;
    return RECO_OK;
}

/* A and B on the script, 2 slots, deep sessions from depth 3, with topics */
static reco_eval *script_eval(script_env *s, uint32_t slots, uint32_t deep_depth,
                              int32_t hide_signal, int *resets)
{
    reco_env env;
    script_env_make(&env, s, slots);
    const reco_policy pols[2] = {fixed_policy("A", &pick0), fixed_policy("B", &pick1)};
    const uint64_t users[NS] = {0, 1, 2, 3, 4};
    reco_eval_options eo;
    assert_int_equal(reco_eval_options_init(&eo, RECO_EVAL_OPTIONS_VERSION), RECO_OK);
    eo.deep_depth = deep_depth;
    eo.hide_signal = hide_signal;
    eo.item_topics = script_topics;
    eo.n_item_topics = 4;
    eo.max_candidates = 4;
    eo.reset_env = count_resets;
    eo.reset_env_payload = resets;
    reco_eval *ev = NULL;
    assert_int_equal(reco_eval_run(&ev, &env, pols, 2, users, NS, &eo), RECO_OK);
    assert_non_null(ev);
    return ev;
}

static void assert_stat(const reco_eval_stat *s, double mean, double var_of_mean, uint64_t n)
{
    assert_rel(s->mean, mean, 1e-9);
    assert_rel(s->lo, mean - Z95 * sqrt(var_of_mean), 1e-9);
    assert_rel(s->hi, mean + Z95 * sqrt(var_of_mean), 1e-9);
    assert_int_equal(s->n, n);
}

/* Every number below is worked out by hand from the script table (deep: depth >= 3). */
static void test_eval_hand_computed(void **state)
{
    (void)state;
    script_env s;
    int resets = 0;
    reco_eval *ev = script_eval(&s, 2, 3, RECO_SIGNAL_HIDE, &resets);
    assert_int_equal(resets, 2);
    assert_int_equal(reco_eval_n_policies(ev), 2);
    assert_int_equal(reco_eval_n_sessions(ev), NS);
    assert_rel(reco_eval_confidence(ev), 0.95, 0);
    assert_string_equal(reco_eval_policy_name(ev, 1), "B");
    reco_eval_stat st, rel, dif;

    /* A, depth: 2 5 3 1 4. mean 15/5 = 3; deviations -1 2 0 -2 1, squares sum to 10;
     * s^2 = 10/4 = 2.5; var of the mean s^2/n = 0.5 */
    assert_int_equal(reco_eval_stat_get(&st, ev, 0, RECO_EVAL_DEPTH), RECO_OK);
    assert_stat(&st, 3.0, 2.5 / 5.0, 5);
    /* A, long watches: 1 3 2 0 2. mean 8/5 = 1.6; deviations -.6 1.4 .4 -1.6 .4;
     * squares .36 + 1.96 + .16 + 2.56 + .16 = 5.2; s^2 = 1.3 */
    reco_eval_stat_get(&st, ev, 0, RECO_EVAL_LONG_WATCHES);
    assert_stat(&st, 1.6, 1.3 / 5.0, 5);
    /* A, deep share: 0 1 1 0 1. mean .6; squares 2 (.36) + 3 (.16) = 1.2; s^2 = .3 */
    reco_eval_stat_get(&st, ev, 0, RECO_EVAL_DEEP_SHARE);
    assert_stat(&st, 0.6, 0.3 / 5.0, 5);
    /* A, long watches among deep sessions (users 1, 2, 4): x = 0 3 2 0 2, d = 0 1 1 0 1.
     * R = 7/3. Residuals x - R d: 0, 2/3, -1/3, 0, -1/3; squares sum to 6/9 = 2/3.
     * dbar = 3/5. Delta method: var = (2/3) / (n - 1) / n / dbar^2 = (2/3)/4/5 * 25/9 =
     * 5/54. */
    reco_eval_stat_get(&st, ev, 0, RECO_EVAL_LONG_WATCHES_DEEP);
    assert_stat(&st, 7.0 / 3.0, 5.0 / 54.0, 3);
    /* A, depth among deep sessions: 5 3 4, R = 4; residuals 1 -1 0 -> 2;
     * var = 2/4/5 * 25/9 = 5/18 */
    reco_eval_stat_get(&st, ev, 0, RECO_EVAL_DEPTH_DEEP);
    assert_stat(&st, 4.0, 5.0 / 18.0, 3);
    /* A, return: 1 2.5 1.5 -.5 .5. mean 1; deviations 0 1.5 .5 -1.5 -.5 -> 5; s^2 = 1.25 */
    reco_eval_stat_get(&st, ev, 0, RECO_EVAL_RETURN);
    assert_stat(&st, 1.0, 1.25 / 5.0, 5);
    /* A, hides: 0 1 0 1 2. mean .8; deviations -.8 .2 -.8 .2 1.2 -> .64+.04+.64+.04+1.44 =
     * 2.8; s^2 = .7 */
    reco_eval_stat_get(&st, ev, 0, RECO_EVAL_HIDES);
    assert_stat(&st, 0.8, 0.7 / 5.0, 5);
    /* A, topics: 2 2 2 1 2 (the 1-step session shows one topic). mean 1.8; deviations
     * .2 .2 .2 -.8 .2 -> .04 * 4 + .64 = .8; s^2 = .2 */
    reco_eval_stat_get(&st, ev, 0, RECO_EVAL_TOPICS);
    assert_stat(&st, 1.8, 0.2 / 5.0, 5);
    /* B, topics: all 1, no variance: a zero-width interval */
    reco_eval_stat_get(&st, ev, 1, RECO_EVAL_TOPICS);
    assert_stat(&st, 1.0, 0.0, 5);

    /* Lift of B over A on depth. B: 3 5 1 2 6, mean 3.4; deviations -.4 1.6 -2.4 -1.4 2.6,
     * squares .16 + 2.56 + 5.76 + 1.96 + 6.76 = 17.2, s_BB = 4.3. A: s_AA = 2.5. Cross
     * products with A's deviations (-1 2 0 -2 1): .4 + 3.2 + 0 + 2.8 + 2.6 = 9, s_AB = 2.25.
     * Relative: 3.4/3 - 1 = 2/15; var = (1/n) (s_BB/mA^2 - 2 mB s_AB/mA^3 + mB^2 s_AA/mA^4)
     * = (4.3/9 - 2*3.4*2.25/27 + 3.4^2*2.5/81) / 5.
     * Difference: .4; var = (s_BB + s_AA - 2 s_AB) / n = (4.3 + 2.5 - 4.5) / 5 = 2.3/5. */
    assert_int_equal(reco_eval_lift(&rel, &dif, ev, 1, 0, RECO_EVAL_DEPTH), RECO_OK);
    assert_stat(&rel, 2.0 / 15.0,
                (4.3 / 9.0 - 2.0 * 3.4 * 2.25 / 27.0 + 3.4 * 3.4 * 2.5 / 81.0) / 5.0, 5);
    assert_stat(&dif, 0.4, 2.3 / 5.0, 5);

    /* Lift on long watches among deep sessions, from the full 4x4 sample covariance of
     * (x_B, d_B, x_A, d_A) and the gradient of g = (XB/DB) / (XA/DA) at the means:
     *   x_B = 2 4 0 0 3, d_B = 1 1 0 0 1 (B's deep sessions: users 0, 1, 4), R_B = 9/3 = 3
     *   x_A = 0 3 2 0 2, d_A = 0 1 1 0 1,                                    R_A = 7/3
     * g = 3 / (7/3) = 9/7, relative lift 2/7; grad = g (1/XB, -1/DB, -1/XA, 1/DA) with
     * XB = 9/5, DB = 3/5, XA = 7/5, DA = 3/5; var = grad' S grad / n. Difference R_B - R_A
     * = 2/3 with grad (1/DB, -XB/DB^2, -1/DA, XA/DA^2). */
    {
        const double v[4][NS] = {{2, 4, 0, 0, 3}, {1, 1, 0, 0, 1}, {0, 3, 2, 0, 2},
                                 {0, 1, 1, 0, 1}};
        double mean[4], S[4][4];
        for (int a = 0; a < 4; a++)
            mean[a] = (v[a][0] + v[a][1] + v[a][2] + v[a][3] + v[a][4]) / 5.0;
        assert_rel(mean[0], 9.0 / 5.0, 1e-15);
        assert_rel(mean[3], 3.0 / 5.0, 1e-15);
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) {
                double c = 0.0;
                for (int i = 0; i < NS; i++)
                    c += (v[a][i] - mean[a]) * (v[b][i] - mean[b]);
                S[a][b] = c / 4.0;
            }
        const double g = (mean[0] / mean[1]) / (mean[2] / mean[3]);
        assert_rel(g, 9.0 / 7.0, 1e-15);
        const double gr[4] = {g / mean[0], -g / mean[1], -g / mean[2], g / mean[3]};
        const double gd[4] = {1.0 / mean[1], -mean[0] / (mean[1] * mean[1]), -1.0 / mean[3],
                              mean[2] / (mean[3] * mean[3])};
        double var_r = 0.0, var_d = 0.0;
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) {
                var_r += gr[a] * S[a][b] * gr[b];
                var_d += gd[a] * S[a][b] * gd[b];
            }
        assert_int_equal(reco_eval_lift(&rel, &dif, ev, 1, 0, RECO_EVAL_LONG_WATCHES_DEEP),
                         RECO_OK);
        assert_stat(&rel, 2.0 / 7.0, var_r / 5.0, 5);
        assert_stat(&dif, 3.0 - 7.0 / 3.0, var_d / 5.0, 5);
    }
    /* a policy against itself: zero lift, zero width */
    reco_eval_lift(&rel, &dif, ev, 0, 0, RECO_EVAL_RETURN);
    assert_stat(&rel, 0.0, 0.0, 5);
    assert_stat(&dif, 0.0, 0.0, 5);
    /* only one output wanted */
    assert_int_equal(reco_eval_lift(NULL, &dif, ev, 1, 0, RECO_EVAL_DEPTH), RECO_OK);
    assert_rel(dif.mean, 0.4, 1e-12);

    /* per-session values: A's session 0 (depth 2, not deep), B's session 4 (deep) */
    double val[RECO_EVAL_N_METRICS];
    assert_int_equal(reco_eval_session(val, ev, 0, 0), RECO_OK);
    assert_rel(val[RECO_EVAL_DEPTH], 2, 0);
    assert_rel(val[RECO_EVAL_LONG_WATCHES], 1, 0);
    assert_rel(val[RECO_EVAL_DEEP_SHARE], 0, 0);
    assert_true(isnan(val[RECO_EVAL_LONG_WATCHES_DEEP]));
    assert_true(isnan(val[RECO_EVAL_DEPTH_DEEP]));
    assert_rel(val[RECO_EVAL_RETURN], 1.0, 0);
    assert_rel(val[RECO_EVAL_HIDES], 0, 0);
    assert_rel(val[RECO_EVAL_TOPICS], 2, 0);
    reco_eval_session(val, ev, 1, 4);
    const double want4[RECO_EVAL_N_METRICS] = {6, 3, 1, 3, 6, 2.5, 1, 1};
    for (int m = 0; m < RECO_EVAL_N_METRICS; m++)
        assert_rel(val[m], want4[m], 0);
    reco_eval_free(ev);
}

/* Undefined estimates: no deep session, a baseline mean of 0, unmeasured metrics, one
 * session, another confidence level. */
/* reco_eval_concat: sessions pooled in part order; pooling a result with itself keeps every
 * mean and, with 2n sessions of the same values, gives s^2 (2n-1)/... computed here by hand
 * for depth; mismatched parts are refused. */
static void test_eval_concat(void **state)
{
    (void)state;
    script_env s;
    int resets = 0;
    reco_eval *ev = script_eval(&s, 2, 3, RECO_SIGNAL_HIDE, &resets);
    const reco_eval *parts[2] = {ev, ev};
    reco_eval *pooled = NULL;
    assert_int_equal(reco_eval_concat(&pooled, parts, 2), RECO_OK);
    assert_int_equal(reco_eval_n_sessions(pooled), 2 * NS);
    assert_int_equal(reco_eval_n_policies(pooled), 2);
    assert_string_equal(reco_eval_policy_name(pooled, 1), "B");
    for (uint32_t p = 0; p < 2; p++)
        for (uint32_t i = 0; i < 2 * NS; i++) {
            double a[RECO_EVAL_N_METRICS], b[RECO_EVAL_N_METRICS];
            assert_int_equal(reco_eval_session(a, pooled, p, i), RECO_OK);
            assert_int_equal(reco_eval_session(b, ev, p, i % NS), RECO_OK);
            for (int m = 0; m < RECO_EVAL_N_METRICS; m++)
                assert_true((isnan(a[m]) && isnan(b[m])) || a[m] == b[m]);
        }
    /* A, depth: 2 5 3 1 4 twice: mean 3, squares 20 over 2n - 1 = 9: s^2 = 20/9; var of the
     * mean = 20/9/10 = 2/9 */
    reco_eval_stat st;
    assert_int_equal(reco_eval_stat_get(&st, pooled, 0, RECO_EVAL_DEPTH), RECO_OK);
    assert_stat(&st, 3.0, 2.0 / 9.0, 2 * NS);
    reco_eval_free(pooled);
    /* a part with another deep_depth */
    script_env s1;
    reco_eval *one = script_eval(&s1, 2, 4, RECO_SIGNAL_HIDE, &resets);
    const reco_eval *bad[2] = {ev, one};
    pooled = (reco_eval *)&pooled;
    assert_reco_error(reco_eval_concat(&pooled, bad, 2), RECO_EINVAL, "differs from part 0");
    assert_null(pooled);
    assert_reco_error(reco_eval_concat(&pooled, parts, 0), RECO_EINVAL, "n_parts is 0");
    assert_reco_error(reco_eval_concat(NULL, parts, 2), RECO_EINVAL, "NULL out");
    const reco_eval *holes[2] = {ev, NULL};
    assert_reco_error(reco_eval_concat(&pooled, holes, 2), RECO_EINVAL, "part 1 is NULL");
    reco_eval_free(one);
    reco_eval_free(ev);
}

static void test_eval_nan_cases(void **state)
{
    (void)state;
    script_env s;
    int resets = 0;
    /* deep from depth 100: nobody; hides counted on signal 2 (like), never set */
    reco_eval *ev = script_eval(&s, 2, 100, RECO_SIGNAL_LIKE, &resets);
    reco_eval_stat st, rel, dif;
    reco_eval_stat_get(&st, ev, 0, RECO_EVAL_LONG_WATCHES_DEEP);
    assert_true(isnan(st.mean) && isnan(st.lo) && isnan(st.hi));
    assert_int_equal(st.n, 0);
    reco_eval_stat_get(&st, ev, 0, RECO_EVAL_DEEP_SHARE);
    assert_stat(&st, 0.0, 0.0, 5);
    reco_eval_lift(&rel, &dif, ev, 1, 0, RECO_EVAL_DEPTH_DEEP);
    assert_true(isnan(rel.mean) && isnan(dif.mean) && isnan(rel.lo) && isnan(dif.hi));
    /* baseline mean 0: no relative lift, but a difference (0, zero width) */
    reco_eval_lift(&rel, &dif, ev, 1, 0, RECO_EVAL_HIDES);
    assert_true(isnan(rel.mean) && isnan(rel.lo) && isnan(rel.hi));
    assert_stat(&dif, 0.0, 0.0, 5);
    reco_eval_free(ev);

    /* no hide signal, no topics */
    reco_env env;
    script_env_make(&env, &s, 2);
    const reco_policy pols[1] = {fixed_policy(NULL, &pick0)};
    const uint64_t users[NS] = {0, 1, 2, 3, 4};
    reco_eval_options eo = RECO_EVAL_OPTIONS_INIT;
    eo.hide_signal = -1;
    eo.max_candidates = 2;
    assert_int_equal(reco_eval_run(&ev, &env, pols, 1, users, NS, &eo), RECO_OK);
    assert_null(reco_eval_policy_name(ev, 0));
    const reco_eval_metric unmeasured[2] = {RECO_EVAL_HIDES, RECO_EVAL_TOPICS};
    for (int k = 0; k < 2; k++) {
        reco_eval_stat_get(&st, ev, 0, unmeasured[k]);
        assert_true(isnan(st.mean) && isnan(st.lo) && isnan(st.hi));
        assert_int_equal(st.n, 0);
        reco_eval_lift(&rel, &dif, ev, 0, 0, unmeasured[k]);
        assert_true(isnan(rel.mean) && isnan(dif.mean));
    }
    double val[RECO_EVAL_N_METRICS];
    reco_eval_session(val, ev, 0, 1);
    assert_true(isnan(val[RECO_EVAL_HIDES]) && isnan(val[RECO_EVAL_TOPICS]));
    assert_rel(val[RECO_EVAL_DEPTH], 5, 0);
    reco_eval_free(ev);

    /* one session: a mean, no interval */
    assert_int_equal(reco_eval_run(&ev, &env, pols, 1, users + 1, 1, &eo), RECO_OK);
    reco_eval_stat_get(&st, ev, 0, RECO_EVAL_DEPTH);
    assert_rel(st.mean, 5, 0);
    assert_true(isnan(st.lo) && isnan(st.hi));
    assert_int_equal(st.n, 1);
    reco_eval_free(ev);

    /* 90% intervals: z = 1.6448536269514715; A's depth var of the mean 0.5 */
    eo.confidence = 0.9;
    assert_int_equal(reco_eval_run(&ev, &env, pols, 1, users, NS, &eo), RECO_OK);
    reco_eval_stat_get(&st, ev, 0, RECO_EVAL_DEPTH);
    assert_rel(st.hi - st.mean, 1.6448536269514715 * sqrt(0.5), 1e-12);
    reco_eval_free(ev);
}

/* The schedule: slot p plays sessions p, p + P, ... for every policy, whatever the lengths. */
static void test_eval_schedule(void **state)
{
    (void)state;
    for (uint32_t slots = 1; slots <= 3; slots++) {
        script_env s;
        int resets = 0;
        reco_eval *ev = script_eval(&s, slots, 3, RECO_SIGNAL_HIDE, &resets);
        assert_int_equal(s.n_log, 2 * NS); /* one reset per session and policy */
        /* per policy (first NS entries, then the next NS) and slot: the list p, p + P, ... */
        for (int pol = 0; pol < 2; pol++)
            for (uint32_t p = 0; p < slots; p++) {
                uint64_t want = p;
                for (uint32_t j = 0; j < NS; j++) {
                    const uint32_t k = (uint32_t)pol * NS + j;
                    if (s.log_slot[k] != p)
                        continue;
                    assert_int_equal(s.log_user[k], want);
                    want += slots;
                }
                assert_true(want >= NS); /* every session of the slot's list was played */
            }
        /* the values do not depend on the number of slots here (the script ignores slots) */
        reco_eval_stat st;
        reco_eval_stat_get(&st, ev, 1, RECO_EVAL_DEPTH);
        assert_rel(st.mean, 3.4, 1e-12);
        reco_eval_free(ev);
    }
}

/* ---- a recording wrapper around any env ---------------------------------------------------- */

typedef struct recorder {
    const reco_env *inner;
    int (*reset_inner)(void *);
    void *reset_payload;
    uint32_t policy; /* advanced by the reset hook */
    /* per policy and slot: the users reset there, in order (up to MAX_PER slots x users) */
    uint32_t n[3][16];
    uint64_t users[3][16][64];
} recorder;

static int rec_reset(const uint32_t *slots, const uint64_t *users, uint32_t n, void *payload)
{
    recorder *r = payload;
    for (uint32_t i = 0; i < n; i++) {
        assert_true(r->policy >= 1 && r->policy <= 3 && slots[i] < 16);
        uint32_t *c = &r->n[r->policy - 1][slots[i]];
        assert_true(*c < 64);
        r->users[r->policy - 1][slots[i]][(*c)++] = users[i];
    }
    return r->inner->reset(slots, users, n, r->inner->payload);
}
static int rec_observe(int32_t *items, uint32_t *fb, float *feat, const uint32_t *slots,
                       uint32_t n, void *payload)
{
    recorder *r = payload;
    return r->inner->observe(items, fb, feat, slots, n, r->inner->payload);
}
static int rec_candidates(int32_t *items, uint32_t *count, uint32_t max_candidates,
                          const uint32_t *slots, uint32_t n, void *payload)
{
    recorder *r = payload;
    return r->inner->candidates(items, count, max_candidates, slots, n, r->inner->payload);
}
static int rec_step(uint32_t *fb, float *reward, int *done, const uint32_t *slots,
                    const int32_t *items, uint32_t n, void *payload)
{
    recorder *r = payload;
    return r->inner->step(fb, reward, done, slots, items, n, r->inner->payload);
}
static int rec_reset_hook(void *payload)
{
    recorder *r = payload;
    r->policy++;
    return r->reset_inner != NULL ? r->reset_inner(r->reset_payload) : RECO_OK;
}
static void recorder_wrap(reco_env *out, recorder *r, const reco_env *inner)
{
    memset(r, 0, sizeof *r);
    r->inner = inner;
    *out = *inner;
    out->reset = rec_reset;
    out->observe = rec_observe;
    out->candidates = rec_candidates;
    out->step = rec_step;
    out->payload = r;
    /* callbacks that are not wrapped would get the recorder as payload */
    out->save_state = NULL;
    out->load_state = NULL;
    out->long_len = 0;
    out->context = NULL;
    out->probabilities = NULL;
}

static void assert_same_sessions(const reco_eval *ev, uint32_t p, uint32_t q)
{
    double a[RECO_EVAL_N_METRICS], b[RECO_EVAL_N_METRICS];
    for (uint32_t i = 0; i < reco_eval_n_sessions(ev); i++) {
        assert_int_equal(reco_eval_session(a, ev, p, i), RECO_OK);
        assert_int_equal(reco_eval_session(b, ev, q, i), RECO_OK);
        for (int m = 0; m < RECO_EVAL_N_METRICS; m++)
            assert_true((isnan(a[m]) && isnan(b[m])) || a[m] == b[m]);
    }
}

static int any_session_differs(const reco_eval *ev, uint32_t p, uint32_t q)
{
    double a[RECO_EVAL_N_METRICS], b[RECO_EVAL_N_METRICS];
    for (uint32_t i = 0; i < reco_eval_n_sessions(ev); i++) {
        reco_eval_session(a, ev, p, i);
        reco_eval_session(b, ev, q, i);
        for (int m = 0; m < RECO_EVAL_N_METRICS; m++)
            if (!((isnan(a[m]) && isnan(b[m])) || a[m] == b[m]))
                return 1;
    }
    return 0;
}

/* Policies 0 and 2 of a run are the same random policy (two states, one seed), policy 1 a
 * different one: 0 and 2 give identical sessions, and all three meet the same users in the
 * same slots in the same order. */
static void check_crn(const reco_env *inner, int (*reset)(void *), void *reset_payload,
                      const reco_policy *other, const uint64_t *users, uint32_t n_users,
                      uint32_t parallel, const uint32_t *topics, uint32_t n_topics)
{
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    po.seed = 7;
    reco_policy_state *r1 = NULL, *r2 = NULL;
    assert_int_equal(reco_policy_create(&r1, &po), RECO_OK);
    assert_int_equal(reco_policy_create(&r2, &po), RECO_OK);
    reco_policy pols[3];
    reco_policy_get(&pols[0], r1);
    pols[1] = *other;
    reco_policy_get(&pols[2], r2);
    recorder rec;
    reco_env env;
    recorder_wrap(&env, &rec, inner);
    rec.reset_inner = reset;
    rec.reset_payload = reset_payload;
    reco_eval_options eo = RECO_EVAL_OPTIONS_INIT;
    eo.parallel = parallel;
    eo.max_candidates = 64;
    eo.deep_depth = 4;
    eo.item_topics = topics;
    eo.n_item_topics = n_topics;
    eo.reset_env = rec_reset_hook;
    eo.reset_env_payload = &rec;
    reco_eval *ev = NULL;
    assert_int_equal(reco_eval_run(&ev, &env, pols, 3, users, n_users, &eo), RECO_OK);
    assert_int_equal(rec.policy, 3);
    assert_same_sessions(ev, 0, 2);
    assert_true(any_session_differs(ev, 0, 1)); /* the other policy does play differently */
    reco_eval_stat rel, dif;
    reco_eval_lift(&rel, &dif, ev, 2, 0, RECO_EVAL_RETURN);
    assert_true(rel.mean == 0.0 && rel.lo == 0.0 && rel.hi == 0.0);
    for (uint32_t p = 0; p < parallel; p++) {
        assert_int_equal(rec.n[0][p], (n_users - p + parallel - 1) / parallel);
        for (int pol = 1; pol < 3; pol++) {
            assert_int_equal(rec.n[pol][p], rec.n[0][p]);
            assert_memory_equal(rec.users[pol][p], rec.users[0][p],
                                rec.n[0][p] * sizeof(uint64_t));
        }
        for (uint32_t j = 0; j < rec.n[0][p]; j++)
            assert_int_equal(rec.users[0][p][j], users[p + j * parallel]);
    }
    reco_eval_free(ev);
    reco_policy_free(r1);
    reco_policy_free(r2);
}

/* Two separate evaluations of the same random policy (fresh states, one seed) give identical
 * sessions: the hook restores the env's fresh state before each. */
static void check_two_runs(const reco_env *env, int (*reset)(void *), void *reset_payload,
                           const uint64_t *users, uint32_t n_users)
{
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    po.seed = 11;
    reco_eval *ev[2] = {NULL, NULL};
    reco_eval_options eo = RECO_EVAL_OPTIONS_INIT;
    eo.max_candidates = 64;
    eo.reset_env = reset;
    eo.reset_env_payload = reset_payload;
    for (int r = 0; r < 2; r++) {
        reco_policy_state *ps = NULL;
        assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
        reco_policy pol;
        reco_policy_get(&pol, ps);
        assert_int_equal(reco_eval_run(&ev[r], env, &pol, 1, users, n_users, &eo), RECO_OK);
        reco_policy_free(ps);
    }
    double a[RECO_EVAL_N_METRICS], b[RECO_EVAL_N_METRICS];
    for (uint32_t i = 0; i < n_users; i++) {
        reco_eval_session(a, ev[0], 0, i);
        reco_eval_session(b, ev[1], 0, i);
        assert_memory_equal(a, b, sizeof a);
    }
    reco_eval_free(ev[0]);
    reco_eval_free(ev[1]);
}

static int world_reset_hook(void *payload)
{
    return reco_world_reset(payload);
}

static void test_eval_crn_world(void **state)
{
    (void)state;
    reco_world_options wo = RECO_WORLD_OPTIONS_INIT;
    wo.n_items = 200;
    wo.n_users = 500;
    wo.n_candidates = 50;
    wo.max_sessions = 8;
    wo.max_session_len = 30;
    reco_world *w = NULL;
    assert_int_equal(reco_world_create(&w, &wo), RECO_OK);
    reco_env env;
    reco_world_env(&env, w);
    int32_t items[200];
    uint32_t topics[200];
    float pop[200];
    for (int i = 0; i < 200; i++)
        items[i] = i;
    assert_int_equal(reco_world_item_info(topics, NULL, NULL, pop, w, items, 200), RECO_OK);
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    po.kind = RECO_POLICY_POPULARITY;
    po.item_weights = pop;
    po.n_item_weights = 200;
    reco_policy_state *ps = NULL;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    reco_policy popular;
    reco_policy_get(&popular, ps);
    uint64_t users[120];
    assert_int_equal(reco_world_eval_users(users, w, 0, 120), RECO_OK);
    check_crn(&env, world_reset_hook, w, &popular, users, 120, 8, topics, 200);
    check_crn(&env, NULL, NULL, &popular, users, 45, 3, topics, 200); /* the world needs none */
    check_two_runs(&env, world_reset_hook, w, users, 120);
    reco_policy_free(ps);
    reco_world_free(w);
}

static int sim_reset_hook(void *payload)
{
    return reco_sim_reset(payload);
}

static reco_model *small_model(void)
{
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    mo.n_items = 60;
    mo.dim = 8;
    mo.lookback = 4;
    mo.n_heads = 2;
    mo.ffn_dim = 8;
    mo.n_signals = RECO_N_SIGNALS_DEFAULT;
    mo.max_batch = 8;
    mo.max_candidates = 16;
    mo.init_std = 0.5f;
    mo.seed = 5;
    reco_model *m = NULL;
    assert_int_equal(reco_model_create(&m, &mo), RECO_OK);
    return m;
}

static void test_eval_crn_sim(void **state)
{
    (void)state;
    reco_model *m = small_model();
    reco_sim_options so = RECO_SIM_OPTIONS_INIT;
    so.max_sessions = 6;
    so.max_session_len = 25;
    so.n_candidates = 12;
    reco_sim *sim = NULL;
    assert_int_equal(reco_sim_create(&sim, m, &so), RECO_OK);
    reco_env env;
    reco_sim_env(&env, sim);
    const float w[RECO_N_SIGNALS_DEFAULT] = {0.1f, 1.0f, 0.3f, -0.5f};
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    po.kind = RECO_POLICY_MODEL_GREEDY;
    po.model = m;
    po.signal_weights = w;
    reco_policy_state *ps = NULL;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    reco_policy greedy;
    reco_policy_get(&greedy, ps);
    uint64_t users[50];
    for (int i = 0; i < 50; i++)
        users[i] = 300 + (uint64_t)i * 11;
    uint32_t topics[60];
    for (int i = 0; i < 60; i++)
        topics[i] = (uint32_t)(i % 7) * 100; /* sparse topic ids */
    check_crn(&env, sim_reset_hook, sim, &greedy, users, 50, 6, topics, 60);
    check_two_runs(&env, sim_reset_hook, sim, users, 50);

    /* without reco_sim_reset the second run of the same policy draws other numbers */
    reco_policy_options ro = RECO_POLICY_OPTIONS_INIT;
    reco_policy_state *r1 = NULL, *r2 = NULL;
    assert_int_equal(reco_policy_create(&r1, &ro), RECO_OK);
    assert_int_equal(reco_policy_create(&r2, &ro), RECO_OK);
    reco_policy pols[2];
    reco_policy_get(&pols[0], r1);
    reco_policy_get(&pols[1], r2);
    reco_eval_options eo = RECO_EVAL_OPTIONS_INIT;
    eo.max_candidates = 16;
    reco_eval *ev = NULL;
    assert_int_equal(reco_eval_run(&ev, &env, pols, 2, users, 50, &eo), RECO_OK);
    assert_true(any_session_differs(ev, 0, 1));
    reco_eval_free(ev);
    reco_policy_free(r1);
    reco_policy_free(r2);
    reco_policy_free(ps);
    reco_sim_free(sim);
    reco_model_free(m);
}

/* ---- coverage on an env of known distribution ----------------------------------------------- */

/* Two candidates; showing item k ends the session with probability q[k] at each step
 * (0.2 and 0.25), reward 1 per step. A slot's uniforms are a stream seeded from the user
 * alone, so both policies meet the same uniforms (common random numbers). Depth is
 * geometric: mean 1/q, P(depth >= 10) = (1-q)^9, and, memoryless, E[depth | depth >= 10] =
 * 9 + 1/q. */
typedef struct geo_env {
    reco_rng rng[64];
} geo_env;

static const double geo_q[2] = {0.2, 0.25};

static int geo_reset(const uint32_t *slots, const uint64_t *users, uint32_t n, void *payload)
{
    geo_env *g = payload;
    for (uint32_t i = 0; i < n; i++)
        reco_rng_seed(&g->rng[slots[i]], 2024, users[i]);
    return RECO_OK;
}
static int geo_candidates(int32_t *items, uint32_t *count, uint32_t max_candidates,
                          const uint32_t *slots, uint32_t n, void *payload)
{
    (void)slots, (void)payload;
    for (uint32_t i = 0; i < n; i++) {
        items[(size_t)i * max_candidates] = 0;
        items[(size_t)i * max_candidates + 1] = 1;
        count[i] = 2;
    }
    return RECO_OK;
}
static int geo_step(uint32_t *fb, float *reward, int *done, const uint32_t *slots,
                    const int32_t *items, uint32_t n, void *payload)
{
    geo_env *g = payload;
    for (uint32_t i = 0; i < n; i++) {
        fb[i] = 0;
        reward[i] = 1.0f;
        done[i] = reco_rng_uniform(&g->rng[slots[i]]) < geo_q[items[i]] ? RECO_ENV_EXIT
                                                                         : RECO_ENV_CONTINUE;
    }
    return RECO_OK;
}

static void test_eval_coverage(void **state)
{
    (void)state;
    geo_env g;
    reco_env env;
    memset(&env, 0, sizeof env);
    env.version = RECO_ENV_VERSION;
    env.n_items = 2;
    env.n_signals = RECO_N_SIGNALS_DEFAULT;
    env.lookback = 1;
    env.max_sessions = 64;
    env.reset = geo_reset;
    env.observe = script_observe;
    env.candidates = geo_candidates;
    env.step = geo_step;
    env.payload = &g;
    const reco_policy pols[2] = {fixed_policy("q.2", &pick0), fixed_policy("q.25", &pick1)};
    enum { REPS = 1000, N = 1000, DEEP = 4 };
    static uint64_t users[N];
    reco_eval_options eo = RECO_EVAL_OPTIONS_INIT;
    eo.max_candidates = 2;
    eo.deep_depth = DEEP;
    const double deep_a = pow(0.8, DEEP - 1), deep_b = pow(0.75, DEEP - 1);
    /* the checks: (policy or lift, metric, true value) */
    enum { K = 7 };
    const struct {
        int lift; /* 0: policy 0's stat; 1: relative lift of 1 over 0; 2: difference */
        reco_eval_metric m;
        double truth;
    } chk[K] = {
        {0, RECO_EVAL_DEPTH, 5.0},
        {0, RECO_EVAL_DEEP_SHARE, deep_a},
        {0, RECO_EVAL_DEPTH_DEEP, DEEP - 1 + 5.0},
        {1, RECO_EVAL_DEPTH, 4.0 / 5.0 - 1.0},
        {2, RECO_EVAL_DEPTH, 4.0 - 5.0},
        {1, RECO_EVAL_DEEP_SHARE, deep_b / deep_a - 1.0},
        {1, RECO_EVAL_DEPTH_DEEP, (DEEP - 1 + 4.0) / (DEEP - 1 + 5.0) - 1.0},
    };
    int covered[K] = {0};
    for (uint32_t r = 0; r < REPS; r++) {
        for (uint32_t i = 0; i < N; i++)
            users[i] = (uint64_t)r * N + i;
        reco_eval *ev = NULL;
        assert_int_equal(reco_eval_run(&ev, &env, pols, 2, users, N, &eo), RECO_OK);
        for (int k = 0; k < K; k++) {
            reco_eval_stat s, rel, dif;
            if (chk[k].lift == 0) {
                reco_eval_stat_get(&s, ev, 0, chk[k].m);
            } else {
                reco_eval_lift(&rel, &dif, ev, 1, 0, chk[k].m);
                s = chk[k].lift == 1 ? rel : dif;
            }
            covered[k] += s.lo <= chk[k].truth && chk[k].truth <= s.hi;
        }
        reco_eval_free(ev);
    }
    /* 95% intervals over 1000 replications: binomial sd 0.7 points; 93..97% is +-2.9 sd.
     * The env's seed and the users are fixed, so the outcome is too (0.943..0.955 now).
     * Sizes matter: these are large-sample intervals of skewed (geometric) quantities. With
     * N = 400 the paired lifts cover about 94% (an independent NumPy simulation of the same
     * estimator agrees: 0.940 for the relative lift of depth), and depth among deep
     * sessions with deep_depth 10 (about 54 deep sessions) 92.5%. */
    for (int k = 0; k < K; k++) {
        const double c = (double)covered[k] / REPS;
        if (getenv("RECO_EVAL_COVERAGE") != NULL)
            printf("coverage %d: %.3f\n", k, c);
        if (c < 0.93 || c > 0.97)
            fail_msg("check %d (metric %s, kind %d): coverage %.3f outside [0.93, 0.97]", k,
                     reco_eval_metric_name(chk[k].m), chk[k].lift, c);
    }
}

/* ---- reports -------------------------------------------------------------------------------- */

/* A minimal JSON reader: validates the whole text and finds a value by a path of keys. */
static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}
static const char *json_skip(const char *p);
static const char *json_string(const char *p)
{
    if (*p != '"')
        return NULL;
    for (p++; *p != '"'; p++) {
        if (*p == '\0' || (unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\')
            p++;
    }
    return p + 1;
}
static const char *json_skip(const char *p)
{
    p = json_ws(p);
    if (*p == '{' || *p == '[') {
        const char close = *p == '{' ? '}' : ']';
        const int obj = *p == '{';
        p = json_ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (obj) {
                if ((p = json_string(json_ws(p))) == NULL)
                    return NULL;
                p = json_ws(p);
                if (*p++ != ':')
                    return NULL;
            }
            if ((p = json_skip(p)) == NULL)
                return NULL;
            p = json_ws(p);
            if (*p == close)
                return p + 1;
            if (*p++ != ',')
                return NULL;
        }
    }
    if (*p == '"')
        return json_string(p);
    if (strncmp(p, "null", 4) == 0)
        return p + 4;
    char *end;
    strtod(p, &end);
    if (end == p || strncmp(p, "nan", 3) == 0 || strncmp(p, "inf", 3) == 0)
        return NULL;
    return end;
}
/* The value at `path` (keys, NULL-terminated), or NULL. */
static const char *json_get(const char *p, const char *const *path)
{
    for (; *path != NULL; path++) {
        p = json_ws(p);
        if (*p != '{')
            return NULL;
        p = json_ws(p + 1);
        const size_t klen = strlen(*path);
        for (;;) {
            const char *k = p;
            const char *after = json_string(k);
            if (after == NULL)
                return NULL;
            const int match = (size_t)(after - k) == klen + 2 && strncmp(k + 1, *path, klen) == 0;
            p = json_ws(after);
            if (*p++ != ':')
                return NULL;
            if (match)
                break;
            if ((p = json_skip(p)) == NULL)
                return NULL;
            p = json_ws(p);
            if (*p++ != ',')
                return NULL;
            p = json_ws(p);
        }
    }
    return json_ws(p);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 17];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static double json_num(const char *doc, const char *const *path)
{
    const char *v = json_get(doc, path);
    if (v == NULL)
        fail_msg("JSON path %s/%s... not found", path[0], path[1]);
    if (strncmp(v, "null", 4) == 0)
        return NAN;
    return strtod(v, NULL);
}

static void assert_same_num(double got, double want)
{
    if (!((isnan(got) && isnan(want)) || got == want))
        fail_msg("read back %.17g, expected %.17g", got, want);
}

/* Splits one CSV line (no quoted fields expected but those of the test) into fields. */
static int csv_fields(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == max)
            return -1;
        if (*p == '"') {
            f[n++] = ++p;
            char *w = p;
            for (;;) {
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            *w = '\0';
        } else {
            f[n++] = p;
            p += strcspn(p, ",");
        }
        if (*p == '\0')
            return n;
        *p++ = '\0';
    }
}

static double csv_num(const char *s)
{
    if (*s == '\0')
        return NAN;
    char *end;
    double v = strtod(s, &end);
    assert_true(*end == '\0');
    return v;
}

static void test_eval_reports(void **state)
{
    (void)state;
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/reco-test-eval-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char jpath[128], cpath[128];
    snprintf(jpath, sizeof jpath, "%s/eval.json", dir);
    snprintf(cpath, sizeof cpath, "%s/eval.csv", dir);
    script_env s1, s2;
    int resets = 0;
    reco_eval *e1 = script_eval(&s1, 2, 3, RECO_SIGNAL_HIDE, &resets);
    reco_eval *e2 = script_eval(&s2, 3, 100, RECO_SIGNAL_HIDE, &resets); /* NaNs */
    const reco_eval *evs[2] = {e1, e2};
    const char *envs[2] = {"script", "no \"deep\", sessions"};

    /* JSON, with the names the policies had */
    assert_int_equal(reco_eval_write_json(evs, envs, 2, NULL, 0, jpath), RECO_OK);
    const char *doc = slurp(jpath);
    const char *end = json_skip(doc);
    assert_non_null(end);
    assert_true(*json_ws(end) == '\0');
    const char *p_schema[] = {"schema", NULL};
    assert_true(strncmp(json_get(doc, p_schema), "\"libreco.eval/1\"", 16) == 0);
    const char *p_base[] = {"baseline", NULL};
    assert_true(strncmp(json_get(doc, p_base), "\"A\"", 3) == 0);
    const char *p_conf[] = {"confidence", NULL};
    assert_same_num(json_num(doc, p_conf), 0.95);
    const char *p_ses[] = {"environments", "script", "sessions", NULL};
    assert_same_num(json_num(doc, p_ses), NS);
    for (int k = 0; k < 2; k++)
        for (uint32_t p = 0; p < 2; p++)
            for (int m = 0; m < RECO_EVAL_N_METRICS; m++) {
                reco_eval_stat st, rel, dif;
                reco_eval_stat_get(&st, evs[k], p, (reco_eval_metric)m);
                const char *mn = reco_eval_metric_name((reco_eval_metric)m);
                const char *pn = p == 0 ? "A" : "B";
                const char *pm[] = {"environments", "", "policies", pn, mn, "mean", NULL};
                const char *ek = k == 0 ? "script" : "no \\\"deep\\\", sessions";
                pm[1] = ek;
                assert_same_num(json_num(doc, pm), st.mean);
                pm[5] = "lo";
                assert_same_num(json_num(doc, pm), st.lo);
                pm[5] = "hi";
                assert_same_num(json_num(doc, pm), st.hi);
                pm[5] = "n";
                assert_same_num(json_num(doc, pm), (double)st.n);
                const char *pl[] = {"environments", ek, "lifts", pn, mn, "relative", "mean",
                                    NULL};
                if (p == 0) {
                    assert_null(json_get(doc, pl)); /* no lift of the baseline */
                    continue;
                }
                reco_eval_lift(&rel, &dif, evs[k], 1, 0, (reco_eval_metric)m);
                assert_same_num(json_num(doc, pl), rel.mean);
                pl[6] = "hi";
                assert_same_num(json_num(doc, pl), rel.hi);
                pl[5] = "difference";
                pl[6] = "lo";
                assert_same_num(json_num(doc, pl), dif.lo);
            }
    /* python's json module agrees, where there is one */
    if (access("/usr/bin/python3", X_OK) == 0) {
        char cmd[512];
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
                 "assert d[\"schema\"]==\"libreco.eval/1\"; "
                 "assert d[\"environments\"][\"script\"][\"lifts\"][\"B\"][\"depth\"]"
                 "[\"relative\"][\"mean\"] > 0' %s", jpath);
        assert_int_equal(system(cmd), 0);
    }

    /* CSV, with given names: read every number back */
    const char *pnames[2] = {"greedy, supervised", "q"};
    assert_int_equal(reco_eval_write_csv(evs, envs, 2, pnames, 0, cpath), RECO_OK);
    char *text = slurp(cpath);
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    assert_string_equal(line, "env,policy,metric,mean,lo,hi,n,lift_rel,lift_rel_lo,"
                              "lift_rel_hi,diff,diff_lo,diff_hi");
    int rows = 0;
    for (int k = 0; k < 2; k++)
        for (uint32_t p = 0; p < 2; p++)
            for (int m = 0; m < RECO_EVAL_N_METRICS; m++) {
                line = strtok_r(NULL, "\n", &save);
                assert_non_null(line);
                char *f[16];
                assert_int_equal(csv_fields(line, f, 16), 13);
                assert_string_equal(f[0], envs[k]);
                assert_string_equal(f[1], pnames[p]);
                assert_string_equal(f[2], reco_eval_metric_name((reco_eval_metric)m));
                reco_eval_stat st, rel, dif;
                reco_eval_stat_get(&st, evs[k], p, (reco_eval_metric)m);
                assert_same_num(csv_num(f[3]), st.mean);
                assert_same_num(csv_num(f[4]), st.lo);
                assert_same_num(csv_num(f[5]), st.hi);
                assert_same_num(csv_num(f[6]), (double)st.n);
                if (p == 0) {
                    for (int j = 7; j < 13; j++)
                        assert_string_equal(f[j], "");
                } else {
                    reco_eval_lift(&rel, &dif, evs[k], 1, 0, (reco_eval_metric)m);
                    const double want[6] = {rel.mean, rel.lo, rel.hi, dif.mean, dif.lo, dif.hi};
                    for (int j = 0; j < 6; j++)
                        assert_same_num(csv_num(f[7 + j]), want[j]);
                }
                rows++;
            }
    assert_int_equal(rows, 2 * 2 * RECO_EVAL_N_METRICS);
    assert_null(strtok_r(NULL, "\n", &save));

    /* failures leave the file as it was */
    char before[1 << 12];
    snprintf(before, sizeof before, "%.4000s", slurp(cpath));
    assert_reco_error(reco_eval_write_csv(evs, envs, 2, pnames, 2, cpath), RECO_EINVAL,
                      "baseline");
    const char *dup[2] = {"x", "x"};
    assert_reco_error(reco_eval_write_csv(evs, dup, 2, pnames, 0, cpath), RECO_EINVAL,
                      "twice");
    assert_reco_error(reco_eval_write_json(evs, envs, 2, dup, 0, cpath), RECO_EINVAL, "twice");
    assert_true(strncmp(before, slurp(cpath), strlen(before)) == 0);
    assert_reco_error(reco_eval_write_json(evs, envs, 0, NULL, 0, jpath), RECO_EINVAL, "n_envs");
    assert_reco_error(reco_eval_write_json(NULL, envs, 1, NULL, 0, jpath), RECO_EINVAL, "NULL");
    assert_reco_error(reco_eval_write_json(evs, envs, 1, NULL, 0, NULL), RECO_EINVAL, "NULL");
    /* the pipeline's extras: control lifts of one policy over another, and text after an
     * entry, in a document that still parses */
    const unsigned char ctl[2] = {1, 0};
    const char *after[2] = {NULL, ",\n    \"extra\": {\"seeds\": 1}"};
    const reco__eval_json_extra x = {ctl, 0, 1, after};
    assert_int_equal(reco__eval_write_json_ext(evs, envs, 2, NULL, 1, &x, jpath), RECO_OK);
    const char *xdoc = slurp(jpath);
    assert_non_null(json_skip(xdoc));
    assert_true(*json_ws(json_skip(xdoc)) == '\0');
    const char *p_ctl[] = {"environments", "script", "control", NULL};
    assert_true(strncmp(json_get(xdoc, p_ctl), "\"B\"", 3) == 0);
    for (int m = 0; m < RECO_EVAL_N_METRICS; m++) {
        reco_eval_stat rel, dif;
        reco_eval_lift(&rel, &dif, e1, 0, 1, (reco_eval_metric)m);
        const char *pc[] = {"environments", "script", "control_lifts", "A",
                            reco_eval_metric_name((reco_eval_metric)m), "relative", "mean",
                            NULL};
        assert_same_num(json_num(xdoc, pc), rel.mean);
        pc[5] = "difference";
        pc[6] = "hi";
        assert_same_num(json_num(xdoc, pc), dif.hi);
    }
    const char *p_noctl[] = {"environments", "no \\\"deep\\\", sessions", "control_lifts", NULL};
    assert_null(json_get(xdoc, p_noctl));
    const char *p_extra[] = {"environments", "extra", "seeds", NULL};
    assert_same_num(json_num(xdoc, p_extra), 1.0);
    const reco__eval_json_extra bad = {ctl, 2, 1, NULL};
    assert_reco_error(reco__eval_write_json_ext(evs, envs, 2, NULL, 1, &bad, jpath),
                      RECO_EINVAL, "control policy 2 or baseline 1 is not below the 2");
    const reco_eval *with_null[2] = {e1, NULL};
    assert_reco_error(reco_eval_write_json(with_null, envs, 2, NULL, 0, jpath), RECO_EINVAL,
                      "NULL");
    const char *null_name[2] = {"a", NULL};
    assert_reco_error(reco_eval_write_json(evs, null_name, 2, NULL, 0, jpath), RECO_EINVAL,
                      "NULL");
    assert_reco_error(reco_eval_write_json(evs, envs, 2, null_name, 0, jpath), RECO_EINVAL,
                      "NULL");
    assert_reco_error(reco_eval_write_json(evs, envs, 1, NULL, 0, "/nonexistent-dir/e.json"),
                      RECO_EIO, "nonexistent-dir");
    /* results that disagree: a one-policy result next to a two-policy one */
    reco_env env;
    script_env s3;
    script_env_make(&env, &s3, 2);
    const reco_policy one[1] = {fixed_policy("A", &pick0)};
    const uint64_t users[2] = {0, 1};
    reco_eval *e3 = NULL;
    assert_int_equal(reco_eval_run(&e3, &env, one, 1, users, 2, NULL), RECO_OK);
    const reco_eval *mixed[2] = {e1, e3};
    assert_reco_error(reco_eval_write_csv(mixed, NULL, 2, NULL, 0, cpath), RECO_EINVAL,
                      "policies");
    /* default names, and a single policy: no lifts */
    assert_int_equal(reco_eval_write_json(mixed + 1, NULL, 1, NULL, 0, jpath), RECO_OK);
    doc = slurp(jpath);
    assert_non_null(json_skip(doc));
    const char *p_e0[] = {"environments", "env0", "policies", "A", "depth", "mean", NULL};
    assert_same_num(json_num(doc, p_e0), 3.5);
    const char *p_l[] = {"environments", "env0", "lifts", NULL};
    assert_true(strncmp(json_get(doc, p_l), "{}", 2) == 0);
    reco_eval_free(e3);
    unlink(jpath);
    unlink(cpath);
    rmdir(dir);
    reco_eval_free(e1);
    reco_eval_free(e2);
}

/* ---- errors and options ---------------------------------------------------------------------- */

static int failing_reset_hook(void *payload)
{
    (void)payload;
    return reco__error_set(RECO_EIO, "the env cannot be reset");
}

static int choose_out_of_range(uint32_t *index_out, const int32_t *items,
                               const uint32_t *feedback, const float *features,
                               const int32_t *candidates, const uint32_t *counts,
                               uint32_t max_candidates, uint32_t n, void *payload)
{
    (void)items, (void)feedback, (void)features, (void)candidates, (void)max_candidates;
    (void)payload;
    for (uint32_t i = 0; i < n; i++)
        index_out[i] = counts[i];
    return RECO_OK;
}

typedef struct progress_log {
    uint32_t calls, last_policy;
    uint64_t last_done;
} progress_log;

static void on_progress(uint32_t policy, uint64_t done, void *payload)
{
    progress_log *l = payload;
    if (policy == l->last_policy)
        assert_true(done >= l->last_done);
    l->calls++;
    l->last_policy = policy;
    l->last_done = done;
}

static void test_eval_errors_and_options(void **state)
{
    (void)state;
    script_env s;
    reco_env env;
    script_env_make(&env, &s, 2);
    const reco_policy pols[2] = {fixed_policy("A", &pick0), fixed_policy("B", &pick1)};
    const uint64_t users[NS] = {0, 1, 2, 3, 4};
    reco_eval *ev = (reco_eval *)&ev;
    reco_eval_options eo = RECO_EVAL_OPTIONS_INIT, d;

    /* the macro and the function agree */
    assert_int_equal(reco_eval_options_init(&d, RECO_EVAL_OPTIONS_VERSION), RECO_OK);
    assert_memory_equal(&eo, &d, sizeof d);
    assert_reco_error(reco_eval_options_init(NULL, 1), RECO_EINVAL, "NULL");
    assert_reco_error(reco_eval_options_init(&d, 0), RECO_EVERSION, "reco_eval_options");
    assert_reco_error(reco_eval_options_init(&d, RECO_EVAL_OPTIONS_VERSION + 1), RECO_EVERSION,
                      "reco_eval_options");

    /* NULL arguments, zero counts */
    assert_reco_error(reco_eval_run(NULL, &env, pols, 2, users, NS, NULL), RECO_EINVAL, "out");
    assert_reco_error(reco_eval_run(&ev, NULL, pols, 2, users, NS, NULL), RECO_EINVAL, "NULL");
    assert_null(ev);
    assert_reco_error(reco_eval_run(&ev, &env, NULL, 2, users, NS, NULL), RECO_EINVAL, "NULL");
    assert_reco_error(reco_eval_run(&ev, &env, pols, 2, NULL, NS, NULL), RECO_EINVAL, "NULL");
    assert_reco_error(reco_eval_run(&ev, &env, pols, 0, users, NS, NULL), RECO_EINVAL,
                      "n_policies");
    assert_reco_error(reco_eval_run(&ev, &env, pols, 2, users, 0, NULL), RECO_EINVAL,
                      "n_users");

    /* options: each names its field */
#define BAD_OPTION(stmt, fld)                                                             \
    do {                                                                                     \
        reco_eval_options o_ = RECO_EVAL_OPTIONS_INIT;                                       \
        o_.max_candidates = 4;                                                               \
        stmt;                                                                                \
        assert_reco_error(reco_eval_run(&ev, &env, pols, 2, users, NS, &o_), RECO_EINVAL,    \
                          fld);                                                              \
        reco_error_info info_ = RECO_ERROR_INFO_INIT;                                        \
        reco_error_get(&info_);                                                              \
        assert_string_equal(info_.field, fld);                                               \
        assert_null(ev);                                                                     \
    } while (0)
    BAD_OPTION(o_.max_candidates = 0, "eval.max_candidates");
    BAD_OPTION(o_.max_candidates = (1u << 20) + 1, "eval.max_candidates");
    BAD_OPTION(o_.max_steps = 0, "eval.max_steps");
    BAD_OPTION(o_.long_watch_signal = RECO_N_SIGNALS_DEFAULT, "eval.long_watch_signal");
    BAD_OPTION(o_.hide_signal = -2, "eval.hide_signal");
    BAD_OPTION(o_.hide_signal = RECO_N_SIGNALS_DEFAULT, "eval.hide_signal");
    BAD_OPTION(o_.deep_depth = 0, "eval.deep_depth");
    BAD_OPTION(o_.confidence = 0.0, "eval.confidence");
    BAD_OPTION(o_.confidence = 1.0, "eval.confidence");
    BAD_OPTION(o_.confidence = NAN, "eval.confidence");
    BAD_OPTION(o_.item_topics = script_topics, "eval.item_topics");
    BAD_OPTION(o_.n_item_topics = 4, "eval.item_topics");
    BAD_OPTION((o_.item_topics = script_topics, o_.n_item_topics = 3), "eval.n_item_topics");
    {
        static const uint32_t big[4] = {0, 1, 1u << 20, 2};
        BAD_OPTION((o_.item_topics = big, o_.n_item_topics = 4), "eval.item_topics");
    }
#undef BAD_OPTION
    eo.version = 0;
    assert_reco_error(reco_eval_run(&ev, &env, pols, 2, users, NS, &eo), RECO_EVERSION,
                      "reco_eval_options");
    eo = (reco_eval_options)RECO_EVAL_OPTIONS_INIT;
    eo.max_candidates = 4;

    /* env and policies */
    reco_env bad_env = env;
    bad_env.step = NULL;
    assert_reco_error(reco_eval_run(&ev, &bad_env, pols, 2, users, NS, &eo), RECO_EINVAL,
                      "lacks a session callback");
    reco_policy odd[2] = {pols[0], pols[1]};
    odd[1].lookback = 2;
    assert_reco_error(reco_eval_run(&ev, &env, odd, 2, users, NS, &eo), RECO_EINVAL,
                      "policy 1 expects lookback 2");
    odd[1].lookback = 0;
    odd[1].user_dim = 3;
    assert_reco_error(reco_eval_run(&ev, &env, odd, 2, users, NS, &eo), RECO_EINVAL,
                      "user_dim");
    odd[1] = pols[1];
    odd[0].version = 0;
    assert_reco_error(reco_eval_run(&ev, &env, odd, 2, users, NS, &eo), RECO_EINVAL,
                      "policy 0 is not a valid reco_policy");
    odd[0] = pols[0];
    odd[1].choose = choose_out_of_range;
    assert_reco_error(reco_eval_run(&ev, &env, odd, 2, users, NS, &eo), RECO_EINVAL,
                      "policy 1 chose index 2");
    assert_null(ev);

    /* a failing reset hook fails the run with its status */
    eo.reset_env = failing_reset_hook;
    assert_reco_error(reco_eval_run(&ev, &env, pols, 2, users, NS, &eo), RECO_EIO,
                      "cannot be reset");
    assert_null(ev);
    eo.reset_env = NULL;

    /* a shown item without a topic (the env shows item 3; topics cover the catalog the env
     * declares, 3 items here) */
    reco_env small = env;
    small.n_items = 3;
    eo.item_topics = script_topics;
    eo.n_item_topics = 3;
    assert_reco_error(reco_eval_run(&ev, &small, pols, 2, users, NS, &eo), RECO_EINVAL,
                      "no topic");
    eo.item_topics = NULL;
    eo.n_item_topics = 0;

    /* the evaluator's own cut, and progress */
    progress_log pl = {0, 0, 0};
    eo.max_steps = 2;
    eo.progress = on_progress;
    eo.progress_payload = &pl;
    assert_int_equal(reco_eval_run(&ev, &env, pols, 2, users, NS, &eo), RECO_OK);
    assert_true(pl.calls >= 2);
    assert_int_equal(pl.last_policy, 1);
    assert_int_equal(pl.last_done, NS);
    reco_eval_stat st;
    reco_eval_stat_get(&st, ev, 1, RECO_EVAL_DEPTH); /* B: 3 5 1 2 6 cut at 2: 2 2 1 2 2 */
    assert_rel(st.mean, 9.0 / 5.0, 1e-12);

    /* accessors */
    double val[RECO_EVAL_N_METRICS];
    assert_reco_error(reco_eval_stat_get(NULL, ev, 0, RECO_EVAL_DEPTH), RECO_EINVAL, "NULL");
    assert_reco_error(reco_eval_stat_get(&st, NULL, 0, RECO_EVAL_DEPTH), RECO_EINVAL, "NULL");
    assert_reco_error(reco_eval_stat_get(&st, ev, 2, RECO_EVAL_DEPTH), RECO_EINVAL, "policy 2");
    assert_reco_error(reco_eval_stat_get(&st, ev, 0, (reco_eval_metric)RECO_EVAL_N_METRICS),
                      RECO_EINVAL, "metric");
    assert_reco_error(reco_eval_lift(NULL, NULL, NULL, 0, 0, RECO_EVAL_DEPTH), RECO_EINVAL,
                      "NULL");
    assert_reco_error(reco_eval_lift(&st, NULL, ev, 0, 2, RECO_EVAL_DEPTH), RECO_EINVAL,
                      "baseline 2");
    assert_reco_error(reco_eval_lift(&st, NULL, ev, 5, 0, RECO_EVAL_DEPTH), RECO_EINVAL,
                      "policy 5");
    assert_reco_error(reco_eval_lift(&st, NULL, ev, 0, 1, (reco_eval_metric)-1), RECO_EINVAL,
                      "metric");
    assert_reco_error(reco_eval_session(val, ev, 0, NS), RECO_EINVAL, "session 5");
    assert_reco_error(reco_eval_session(val, ev, 2, 0), RECO_EINVAL, "policy 2");
    assert_reco_error(reco_eval_session(NULL, ev, 0, 0), RECO_EINVAL, "NULL");
    assert_int_equal(reco_eval_n_policies(NULL), 0);
    assert_int_equal(reco_eval_n_sessions(NULL), 0);
    assert_true(isnan(reco_eval_confidence(NULL)));
    assert_null(reco_eval_policy_name(NULL, 0));
    assert_null(reco_eval_policy_name(ev, 2));
    reco_eval_free(ev);
    reco_eval_free(NULL);

    /* metric names are stable */
    static const char *const names[RECO_EVAL_N_METRICS] = {
        "depth", "long_watches", "deep_share", "long_watches_deep", "depth_deep", "return",
        "hides", "topics"};
    for (int m = 0; m < RECO_EVAL_N_METRICS; m++)
        assert_string_equal(reco_eval_metric_name((reco_eval_metric)m), names[m]);
    assert_null(reco_eval_metric_name((reco_eval_metric)RECO_EVAL_N_METRICS));
    assert_int_equal(RECO_EVAL_DEPTH, 0);
    assert_int_equal(RECO_EVAL_TOPICS, 7);
}

/* ---- the session context ------------------------------------------------------------------ */

static const uint64_t ctx_users[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

static reco_policy_state *ctx_greedy(const reco_model *m)
{
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    po.kind = RECO_POLICY_MODEL_GREEDY;
    po.model = m;
    po.signal_weights = ctx_weights;
    reco_policy_state *ps = NULL;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    return ps;
}

/* The evaluator hands policies the whole state (tests/test_ctx_env.h): the built-in greedy
 * policy chooses as a direct reco_model_score with the env's context; a version-2 policy's
 * choose_states() receives exactly what the env gave, or the evaluator's step count, 0 s and
 * pads from an env without context(); a version-1 struct is read only up to its fields; a
 * model whose long-term history differs from the env's is refused. */
static void test_eval_context(void **state)
{
    (void)state;
    const uint32_t total = ctx_total_steps(ctx_users, 10);
    reco_eval_options eo = RECO_EVAL_OPTIONS_INIT;
    eo.max_candidates = CTX_MAXC + 1;
    ctx_env e;
    reco_env env;
    reco_eval *ev = NULL;
    reco_eval_stat st;

    reco_model *m = ctx_model(1, 1, CTX_H);
    reco_policy_state *ps = ctx_greedy(m);
    reco_policy greedy;
    reco_policy_get(&greedy, ps);
    ctx_env_make(&env, &e, 1);
    assert_int_equal(reco_eval_run(&ev, &env, &greedy, 1, ctx_users, 10, &eo), RECO_OK);
    ctx_check_log(&e, m, total, 1);
    reco_eval_stat_get(&st, ev, 0, RECO_EVAL_DEPTH);
    assert_rel(st.mean, total / 10.0, 1e-12);
    reco_eval_free(ev);

    /* the recording policy, with and without context() */
    ctx_recorder r = {&e, 1, CTX_H, CTX_MAXC + 1, 0, 0};
    const reco_policy rec = ctx_recorder_policy(&r);
    for (int with_context = 1; with_context >= 0; with_context--) {
        ctx_env_make(&env, &e, with_context);
        r.with_context = with_context;
        r.rows = 0;
        assert_int_equal(reco_eval_run(&ev, &env, &rec, 1, ctx_users, 10, &eo), RECO_OK);
        assert_int_equal(r.rows, total);
        ctx_check_last_shown(&e);
        assert_int_equal(e.n_context > 0, with_context);
        reco_eval_free(ev);
    }
    /* a version-2 env: neither long_len nor context() is read */
    ctx_env_make(&env, &e, 0);
    env.version = 2;
    env.long_len = CTX_H + 5;
    env.context = ctx_context_forbidden;
    r.long_len = 0;
    r.rows = 0;
    assert_int_equal(reco_eval_run(&ev, &env, &rec, 1, ctx_users, 10, &eo), RECO_OK);
    assert_int_equal(r.rows, total);
    reco_eval_free(ev);
    r.long_len = CTX_H;

    /* a long-term history of another length, named with both lengths and the policy */
    ctx_env_make(&env, &e, 1);
    env.long_len = CTX_H + 1;
    const reco_policy two[2] = {rec, greedy};
    ev = (reco_eval *)&ev;
    assert_reco_error(reco_eval_run(&ev, &env, two, 2, ctx_users, 10, &eo), RECO_EINVAL,
                      "policy 1: the model's long-term history has 3 slots, the env's 4");
    assert_null(ev);
    assert_int_equal(e.n_log, 0);
    reco_policy_free(ps);
    reco_model_free(m);

    /* a version-1 struct of a model policy without context inputs (it ends at its last
     * field) chooses as the version-2 one */
    m = ctx_model(0, 0, 0);
    ps = ctx_greedy(m);
    reco_policy_get(&greedy, ps);
    reco_policy full = greedy;
    full.version = 1;
    full.choose_states = ctx_choose_states_forbidden;
    const size_t v1_size = offsetof(reco_policy, choose_states);
    reco_policy *v1 = malloc(v1_size);
    assert_non_null(v1);
    memcpy(v1, &full, v1_size);
    ctx_env_make(&env, &e, 1);
    assert_int_equal(reco_eval_run(&ev, &env, v1, 1, ctx_users, 10, &eo), RECO_OK);
    ctx_check_log(&e, m, total, 0);
    reco_eval_free(ev);
    free(v1);
    reco_policy_free(ps);
    reco_model_free(m);
}

/* ---- metrics by name: the second environment of the tests ---------------------------------- */

/* The time-budget env (tests/env/budget_env.h: signals "click" and "watch") wrapped so that
 * every step is tallied by hand per policy and session (the users are distinct, so a user
 * names its session). The evaluator must report the same numbers under the signals' names
 * and compute the user metrics "seconds" (the env's own clock: 4 s, + 20 after a click,
 * + 40 after a watch) and "first_watch_step" (NaN without a watch) as written here. */
enum { TALLY_N = 60, TALLY_USER0 = 100 };

typedef struct tally {
    const reco_env *inner;
    uint32_t policy;              /* advanced by the reset hook: 1 for the first policy */
    uint64_t user[BUDGET_SLOTS];  /* the user of each slot */
    uint32_t depth[2][TALLY_N], clicks[2][TALLY_N], watches[2][TALLY_N];
    int32_t first_watch[2][TALLY_N];
    double seconds[2][TALLY_N], ret[2][TALLY_N];
} tally;

static int tally_reset(const uint32_t *slots, const uint64_t *users, uint32_t n, void *payload)
{
    tally *t = payload;
    for (uint32_t i = 0; i < n; i++) {
        t->user[slots[i]] = users[i];
        assert_true(users[i] >= TALLY_USER0 && users[i] < TALLY_USER0 + TALLY_N);
        t->first_watch[t->policy - 1][users[i] - TALLY_USER0] = -1;
    }
    return t->inner->reset(slots, users, n, t->inner->payload);
}
static int tally_observe(int32_t *items, uint32_t *fb, float *feat, const uint32_t *slots,
                         uint32_t n, void *payload)
{
    tally *t = payload;
    return t->inner->observe(items, fb, feat, slots, n, t->inner->payload);
}
static int tally_candidates(int32_t *items, uint32_t *count, uint32_t max_candidates,
                            const uint32_t *slots, uint32_t n, void *payload)
{
    tally *t = payload;
    return t->inner->candidates(items, count, max_candidates, slots, n, t->inner->payload);
}
static int tally_step(uint32_t *fb, float *reward, int *done, const uint32_t *slots,
                      const int32_t *items, uint32_t n, void *payload)
{
    tally *t = payload;
    int rc = t->inner->step(fb, reward, done, slots, items, n, t->inner->payload);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t p = t->policy - 1, k = (uint32_t)(t->user[slots[i]] - TALLY_USER0);
        if ((fb[i] & 2u) && t->first_watch[p][k] < 0)
            t->first_watch[p][k] = (int32_t)t->depth[p][k];
        t->depth[p][k]++;
        t->clicks[p][k] += fb[i] & 1u;
        t->watches[p][k] += (fb[i] >> 1) & 1u;
        t->seconds[p][k] += budget_seconds(fb[i]);
        t->ret[p][k] += reward[i];
    }
    return RECO_OK;
}
static int tally_next_policy(void *payload)
{
    ((tally *)payload)->policy++;
    return RECO_OK;
}

static void tally_wrap(reco_env *out, tally *t, const reco_env *inner)
{
    memset(t, 0, sizeof *t);
    t->inner = inner;
    *out = *inner;
    out->reset = tally_reset;
    out->observe = tally_observe;
    out->candidates = tally_candidates;
    out->step = tally_step;
    out->payload = t;
    out->save_state = NULL;
    out->load_state = NULL;
    out->long_len = 0;
    out->context = NULL;
    out->probabilities = NULL;
}

/* "seconds" and "first_watch_step", in place on each row's running values. */
static int budget_metrics(double *values, uint32_t n_metrics, const reco_run_step *steps,
                          uint32_t n, void *payload)
{
    uint32_t *calls = payload;
    (*calls)++;
    assert_int_equal(n_metrics, 2);
    for (uint32_t i = 0; i < n; i++) {
        double *v = values + (size_t)i * n_metrics;
        if (steps[i].step == 0) {
            assert_true(v[0] == 0.0 && v[1] == 0.0); /* a new session starts at 0 */
            v[1] = NAN;
        }
        v[0] += budget_seconds(steps[i].feedback);
        if ((steps[i].feedback & 2u) && isnan(v[1]))
            v[1] = steps[i].step;
    }
    return RECO_OK;
}

static const char *const budget_metric_names[2] = {"seconds", "first_watch_step"};

static reco_eval *budget_eval(reco_env *env, tally *t, const reco_env *inner,
                              const reco_policy *pols, uint32_t *calls)
{
    tally_wrap(env, t, inner);
    uint64_t users[TALLY_N];
    for (uint32_t k = 0; k < TALLY_N; k++)
        users[k] = TALLY_USER0 + k;
    reco_eval_options eo = RECO_EVAL_OPTIONS_INIT;
    eo.max_candidates = BUDGET_NC;
    eo.parallel = 7;
    eo.reset_env = tally_next_policy;
    eo.reset_env_payload = t;
    eo.user_metric_names = budget_metric_names;
    eo.n_user_metrics = 2;
    eo.user_metrics = budget_metrics;
    eo.user_metrics_payload = calls;
    reco_eval *ev = NULL;
    assert_int_equal(reco_eval_run(&ev, env, pols, 2, users, TALLY_N, &eo), RECO_OK);
    return ev;
}

static uint32_t metric_at(const reco_eval *ev, const char *name)
{
    uint32_t m = UINT32_MAX;
    assert_int_equal(reco_eval_metric_index(&m, ev, name), RECO_OK);
    assert_string_equal(reco_eval_metric_label(ev, m), name);
    return m;
}

/* sum_i x_i / sum_i d_i with its delta-method interval (docs/eval.md), from the hand tally */
static void assert_ratio(const reco_eval *ev, uint32_t p, uint32_t m, const double *x,
                         const double *d)
{
    double sx = 0.0, sd = 0.0;
    for (int i = 0; i < TALLY_N; i++) {
        sx += x[i];
        sd += d[i];
    }
    const double R = sx / sd, dbar = sd / TALLY_N;
    double ss = 0.0;
    for (int i = 0; i < TALLY_N; i++)
        ss += ((x[i] - R * d[i]) / dbar) * ((x[i] - R * d[i]) / dbar);
    const double se = sqrt(ss / (TALLY_N - 1) / TALLY_N);
    reco_eval_stat st;
    assert_int_equal(reco_eval_stat_get(&st, ev, p, (reco_eval_metric)m), RECO_OK);
    assert_rel(st.mean, R, 1e-12);
    assert_rel(st.lo, R - Z95 * se, 1e-12);
    assert_rel(st.hi, R + Z95 * se, 1e-12);
    assert_int_equal(st.n, (uint64_t)sd);
}

static void test_eval_metrics_by_name(void **state)
{
    (void)state;
    budget_env *be = calloc(1, sizeof *be);
    assert_non_null(be);
    reco_env inner, env;
    budget_env_init(&inner, be, 5, 0, 13);
    tally *t = calloc(1, sizeof *t);
    assert_non_null(t);
    const reco_policy pols[2] = {fixed_policy("first", &pick0), fixed_policy("second", &pick1)};
    uint32_t calls = 0;
    reco_eval *ev = budget_eval(&env, t, &inner, pols, &calls);
    assert_true(calls > 0);

    /* the 0.1 metrics, then each signal by name, then the user metrics */
    static const char *const labels[] = {
        "depth",    "long_watches", "deep_share", "long_watches_deep", "depth_deep",
        "return",   "hides",        "topics",     "click",             "watch",
        "click_deep", "watch_deep", "seconds",    "first_watch_step"};
    const uint32_t M = sizeof labels / sizeof labels[0];
    assert_int_equal(reco_eval_n_metrics(ev), M);
    for (uint32_t m = 0; m < M; m++) {
        assert_string_equal(reco_eval_metric_label(ev, m), labels[m]);
        assert_int_equal(metric_at(ev, labels[m]), m);
    }
    assert_null(reco_eval_metric_label(ev, M));
    assert_null(reco_eval_metric_label(NULL, 0));
    assert_int_equal(reco_eval_n_metrics(NULL), 0);
    uint32_t idx = 0;
    assert_reco_error(reco_eval_metric_index(&idx, ev, "long_watch"), RECO_EINVAL,
                      "no metric named \"long_watch\" (the result has depth, long_watches, ");
    assert_reco_error(reco_eval_metric_index(&idx, ev, "nope"), RECO_EINVAL,
                      "click, watch, click_deep, watch_deep, seconds, first_watch_step)");
    assert_reco_error(reco_eval_metric_index(NULL, ev, "click"), RECO_EINVAL, "NULL");
    assert_reco_error(reco_eval_metric_index(&idx, ev, NULL), RECO_EINVAL, "NULL");
    reco_eval_stat st;
    assert_reco_error(reco_eval_stat_get(&st, ev, 0, (reco_eval_metric)M), RECO_EINVAL,
                      "unknown metric 14 (the result has 14)");
    assert_reco_error(reco_eval_lift(&st, NULL, ev, 1, 0, (reco_eval_metric)M), RECO_EINVAL,
                      "unknown metric 14");

    /* no signal is named "long_watch" or "hide" and no topics were given: not measured */
    const reco_eval_metric unmeasured[4] = {RECO_EVAL_LONG_WATCHES, RECO_EVAL_LONG_WATCHES_DEEP,
                                            RECO_EVAL_HIDES, RECO_EVAL_TOPICS};
    for (int k = 0; k < 4; k++) {
        reco_eval_stat_get(&st, ev, 0, unmeasured[k]);
        assert_true(isnan(st.mean) && st.n == 0);
    }

    /* every session against the hand tally */
    const uint32_t m_click = metric_at(ev, "click"), m_watch = metric_at(ev, "watch");
    const uint32_t m_click_deep = metric_at(ev, "click_deep");
    const uint32_t m_watch_deep = metric_at(ev, "watch_deep");
    const uint32_t m_sec = metric_at(ev, "seconds"), m_first = metric_at(ev, "first_watch_step");
    assert_int_equal(t->policy, 2);
    uint32_t n_deep = 0, n_shallow = 0, n_no_watch = 0;
    for (uint32_t p = 0; p < 2; p++) {
        double x[8][TALLY_N], d[8][TALLY_N];
        for (uint32_t k = 0; k < TALLY_N; k++) {
            double v[14], v01[RECO_EVAL_N_METRICS];
            assert_int_equal(reco_eval_session_values(v, M, ev, p, k), RECO_OK);
            assert_int_equal(reco_eval_session(v01, ev, p, k), RECO_OK);
            assert_memory_equal(v, v01, sizeof v01);
            const int deep = t->depth[p][k] >= 10;
            n_deep += deep;
            n_shallow += !deep;
            n_no_watch += t->first_watch[p][k] < 0;
            assert_rel(v[RECO_EVAL_DEPTH], t->depth[p][k], 0);
            assert_rel(v[RECO_EVAL_RETURN], t->ret[p][k], 0);
            assert_rel(v[m_click], t->clicks[p][k], 0);
            assert_rel(v[m_watch], t->watches[p][k], 0);
            if (deep) {
                assert_rel(v[m_click_deep], t->clicks[p][k], 0);
                assert_rel(v[m_watch_deep], t->watches[p][k], 0);
            } else {
                assert_true(isnan(v[m_click_deep]) && isnan(v[m_watch_deep]));
            }
            assert_rel(v[m_sec], t->seconds[p][k], 0);
            if (t->first_watch[p][k] >= 0)
                assert_rel(v[m_first], t->first_watch[p][k], 0);
            else
                assert_true(isnan(v[m_first]));
            const double xs[8] = {t->clicks[p][k],  t->watches[p][k],
                                  deep ? t->clicks[p][k] : 0.0,
                                  deep ? t->watches[p][k] : 0.0, t->seconds[p][k],
                                  t->first_watch[p][k] >= 0 ? t->first_watch[p][k] : 0.0,
                                  t->depth[p][k], t->ret[p][k]};
            const double ds[8] = {1, 1, deep, deep, 1, t->first_watch[p][k] >= 0, 1, 1};
            for (int j = 0; j < 8; j++) {
                x[j][k] = xs[j];
                d[j][k] = ds[j];
            }
        }
        const uint32_t ms[8] = {m_click, m_watch, m_click_deep, m_watch_deep, m_sec, m_first,
                                RECO_EVAL_DEPTH, RECO_EVAL_RETURN};
        for (int j = 0; j < 8; j++)
            assert_ratio(ev, p, ms[j], x[j], d[j]);
    }
    /* the tally met every case: deep and shallow sessions, sessions with and without a watch */
    assert_true(n_deep > 0 && n_shallow > 0 && n_no_watch > 0 && n_no_watch < 2 * TALLY_N);
    double big[15];
    assert_reco_error(reco_eval_session_values(big, M + 1, ev, 0, 0), RECO_EINVAL,
                      "n_values 15 is more than the result's 14 metrics");
    assert_reco_error(reco_eval_session_values(big, M, ev, 0, TALLY_N), RECO_EINVAL,
                      "out of range");
    assert_reco_error(reco_eval_session_values(NULL, M, ev, 0, 0), RECO_EINVAL, "NULL");
    assert_int_equal(reco_eval_session_values(big, 3, ev, 1, 2), RECO_OK); /* a prefix */

    /* lifts by index */
    reco_eval_stat rel, dif, a, b;
    assert_int_equal(reco_eval_lift(&rel, &dif, ev, 1, 0, (reco_eval_metric)m_watch), RECO_OK);
    reco_eval_stat_get(&a, ev, 1, (reco_eval_metric)m_watch);
    reco_eval_stat_get(&b, ev, 0, (reco_eval_metric)m_watch);
    assert_rel(dif.mean, a.mean - b.mean, 1e-12);
    assert_rel(rel.mean, a.mean / b.mean - 1.0, 1e-12);

    /* the reports, under the names: the measured metrics only */
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/reco-test-eval-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char jpath[128], cpath[128];
    snprintf(jpath, sizeof jpath, "%s/eval.json", dir);
    snprintf(cpath, sizeof cpath, "%s/eval.csv", dir);
    const reco_eval *evs[1] = {ev};
    const char *envs[1] = {"budget"};
    assert_int_equal(reco_eval_write_json(evs, envs, 1, NULL, 0, jpath), RECO_OK);
    const char *doc = slurp(jpath);
    assert_non_null(json_skip(doc));
    static const char *const listed[] = {"depth", "deep_share", "depth_deep", "return", "click",
                                         "watch", "click_deep", "watch_deep", "seconds",
                                         "first_watch_step"};
    const uint32_t n_listed = sizeof listed / sizeof listed[0];
    for (uint32_t j = 0; j < n_listed; j++) {
        const char *pm[] = {"environments", "budget", "policies", "second", listed[j], "mean",
                            NULL};
        reco_eval_stat_get(&st, ev, 1, (reco_eval_metric)metric_at(ev, listed[j]));
        assert_same_num(json_num(doc, pm), st.mean);
        const char *pl[] = {"environments", "budget", "lifts", "second", listed[j],
                            "difference", "mean", NULL};
        reco_eval_lift(&rel, &dif, ev, 1, 0, (reco_eval_metric)metric_at(ev, listed[j]));
        assert_same_num(json_num(doc, pl), dif.mean);
    }
    for (int k = 0; k < 4; k++) {
        const char *pm[] = {"environments", "budget", "policies", "first",
                            reco_eval_metric_name(unmeasured[k]), NULL};
        assert_null(json_get(doc, pm));
    }
    assert_int_equal(reco_eval_write_csv(evs, envs, 1, NULL, 0, cpath), RECO_OK);
    char *text = slurp(cpath);
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    for (uint32_t p = 0; p < 2; p++)
        for (uint32_t j = 0; j < n_listed; j++) {
            line = strtok_r(NULL, "\n", &save);
            assert_non_null(line);
            char *f[16];
            assert_int_equal(csv_fields(line, f, 16), 13);
            assert_string_equal(f[1], p == 0 ? "first" : "second");
            assert_string_equal(f[2], listed[j]);
            reco_eval_stat_get(&st, ev, p, (reco_eval_metric)metric_at(ev, listed[j]));
            assert_same_num(csv_num(f[3]), st.mean);
            assert_same_num(csv_num(f[6]), (double)st.n);
        }
    assert_null(strtok_r(NULL, "\n", &save));
    unlink(jpath);
    unlink(cpath);
    rmdir(dir);

    /* concatenation keeps the metrics; results with other metrics are refused */
    reco_eval *twice = NULL;
    const reco_eval *parts[2] = {ev, ev};
    assert_int_equal(reco_eval_concat(&twice, parts, 2), RECO_OK);
    assert_int_equal(reco_eval_n_metrics(twice), M);
    for (uint32_t m = 0; m < M; m++)
        assert_string_equal(reco_eval_metric_label(twice, m), labels[m]);
    for (uint32_t k = 0; k < TALLY_N; k++) {
        double v1[14], v2[14];
        reco_eval_session_values(v1, M, ev, 1, k);
        reco_eval_session_values(v2, M, twice, 1, k + TALLY_N);
        assert_memory_equal(v1, v2, sizeof v1);
    }
    reco_eval_free(twice);
    script_env s;
    int resets = 0;
    reco_eval *other = script_eval(&s, 2, 3, RECO_SIGNAL_HIDE, &resets);
    parts[1] = other;
    twice = (reco_eval *)&twice;
    assert_reco_error(reco_eval_concat(&twice, parts, 2), RECO_EINVAL, "part 1 differs");
    assert_null(twice);
    reco_eval_free(other);

    /* the signals of the 0.1 metrics: by name by default, or as the options say */
    reco_eval_options eo = RECO_EVAL_OPTIONS_INIT;
    eo.max_candidates = BUDGET_NC;
    eo.long_watch_signal = 0;
    eo.hide_signal = 1;
    uint64_t users[TALLY_N];
    for (uint32_t k = 0; k < TALLY_N; k++)
        users[k] = TALLY_USER0 + k;
    reco_eval *chosen = NULL;
    assert_int_equal(reco_eval_run(&chosen, &inner, pols, 1, users, TALLY_N, &eo), RECO_OK);
    assert_int_equal(reco_eval_n_metrics(chosen), 12);
    reco_eval_stat_get(&a, chosen, 0, RECO_EVAL_LONG_WATCHES);
    reco_eval_stat_get(&b, chosen, 0, (reco_eval_metric)metric_at(chosen, "click"));
    assert_true(a.n == TALLY_N && a.mean == b.mean);
    reco_eval_stat_get(&a, chosen, 0, RECO_EVAL_HIDES);
    reco_eval_stat_get(&b, chosen, 0, (reco_eval_metric)metric_at(chosen, "watch"));
    assert_true(a.n == TALLY_N && a.mean == b.mean);
    reco_eval_free(chosen);

    reco_eval_free(ev);
    free(t);
    free(be);
}

/* Options of version 1: defaults and fields as in 0.1 (signals 1 and 3), the version-2
 * fields neither written by reco_eval_options_init() nor read by reco_eval_run(). */
static void test_eval_options_v1(void **state)
{
    (void)state;
    const size_t v1_size = offsetof(reco_eval_options, user_metric_names);
    unsigned char buf[sizeof(reco_eval_options)];
    memset(buf, 0xab, sizeof buf);
    assert_int_equal(reco_eval_options_init((reco_eval_options *)buf, 1), RECO_OK);
    for (size_t i = v1_size; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0xab);
    reco_eval_options o1;
    memcpy(&o1, buf, v1_size);
    assert_int_equal(o1.version, 1);
    assert_int_equal(o1.long_watch_signal, RECO_SIGNAL_LONG_WATCH);
    assert_int_equal(o1.hide_signal, RECO_SIGNAL_HIDE);
    assert_int_equal(o1.max_candidates, 500);
    reco_eval_options o2;
    assert_int_equal(reco_eval_options_init(&o2, 2), RECO_OK);
    assert_int_equal(o2.long_watch_signal, RECO_EVAL_SIGNAL_BY_NAME);
    assert_int_equal(o2.hide_signal, RECO_EVAL_SIGNAL_BY_NAME);
    assert_null(o2.user_metric_names);
    assert_int_equal(o2.n_user_metrics, 0);
    assert_null(o2.user_metrics);

    /* a version-1 struct that ends at its last field */
    budget_env *be = calloc(1, sizeof *be);
    assert_non_null(be);
    reco_env env;
    budget_env_init(&env, be, 5, 0, 13);
    const reco_policy pol = fixed_policy("first", &pick0);
    uint64_t users[20];
    for (uint32_t k = 0; k < 20; k++)
        users[k] = k;
    reco_eval_options *v1 = malloc(v1_size);
    assert_non_null(v1);
    o1.max_candidates = BUDGET_NC;
    memcpy(v1, &o1, v1_size);
    reco_eval *ev = NULL;
    /* as in 0.1: the hide signal 3 of the built-in world is not one of this env's two */
    assert_reco_error(reco_eval_run(&ev, &env, &pol, 1, users, 20, v1), RECO_EINVAL,
                      "eval.hide_signal: 3 is neither -1");
    o1.hide_signal = -1;
    memcpy(v1, &o1, v1_size);
    assert_int_equal(reco_eval_run(&ev, &env, &pol, 1, users, 20, v1), RECO_OK);
    assert_int_equal(reco_eval_n_metrics(ev), 12); /* no user metric was read */
    reco_eval_stat a, b;
    reco_eval_stat_get(&a, ev, 0, RECO_EVAL_LONG_WATCHES); /* signal 1, "watch" */
    reco_eval_stat_get(&b, ev, 0, (reco_eval_metric)metric_at(ev, "watch"));
    assert_true(a.n == 20 && a.mean == b.mean);
    reco_eval_stat_get(&a, ev, 0, RECO_EVAL_HIDES);
    assert_true(isnan(a.mean) && a.n == 0);
    reco_eval_free(ev);
    free(v1);
    free(be);
}

/* The built-in world names its signals: RECO_EVAL_LONG_WATCHES and RECO_EVAL_HIDES are its
 * signals "long_watch" and "hide" under the defaults of either version. */
static void test_eval_world_names(void **state)
{
    (void)state;
    reco_world_options wo = RECO_WORLD_OPTIONS_INIT;
    wo.n_items = 200;
    wo.n_users = 500;
    wo.n_candidates = 50;
    wo.max_sessions = 8;
    wo.max_session_len = 30;
    reco_world *w = NULL;
    assert_int_equal(reco_world_create(&w, &wo), RECO_OK);
    reco_env env;
    reco_world_env(&env, w);
    const reco_policy pol = fixed_policy("first", &pick0);
    uint64_t users[60];
    assert_int_equal(reco_world_eval_users(users, w, 0, 60), RECO_OK);
    reco_eval *ev[2] = {NULL, NULL};
    for (unsigned int v = 1; v <= 2; v++) {
        reco_eval_options eo;
        reco_eval_options_init(&eo, v);
        eo.max_candidates = 50;
        eo.reset_env = world_reset_hook;
        eo.reset_env_payload = w;
        assert_int_equal(reco_eval_run(&ev[v - 1], &env, &pol, 1, users, 60, &eo), RECO_OK);
    }
    static const char *const named[8] = {"click",      "long_watch",      "like",
                                          "hide",       "click_deep",      "long_watch_deep",
                                          "like_deep",  "hide_deep"};
    for (int v = 0; v < 2; v++) {
        assert_int_equal(reco_eval_n_metrics(ev[v]), 16);
        for (uint32_t j = 0; j < 8; j++)
            assert_string_equal(reco_eval_metric_label(ev[v], RECO_EVAL_N_METRICS + j),
                                named[j]);
        const reco_eval_metric old[3] = {RECO_EVAL_LONG_WATCHES, RECO_EVAL_LONG_WATCHES_DEEP,
                                         RECO_EVAL_HIDES};
        const char *now[3] = {"long_watch", "long_watch_deep", "hide"};
        for (int j = 0; j < 3; j++) {
            reco_eval_stat a, b, c;
            reco_eval_stat_get(&a, ev[v], 0, old[j]);
            reco_eval_stat_get(&b, ev[v], 0, (reco_eval_metric)metric_at(ev[v], now[j]));
            reco_eval_stat_get(&c, ev[0], 0, old[j]);
            assert_true(a.n > 0 && a.n == b.n && a.n == c.n);
            assert_true(a.mean == b.mean && a.lo == b.lo && a.mean == c.mean);
        }
    }
    reco_eval_free(ev[0]);
    reco_eval_free(ev[1]);
    reco_world_free(w);
}

/* ---- bad metric names and failing user metrics ---------------------------------------------- */

static int metric_counts_steps(double *values, uint32_t n_metrics, const reco_run_step *steps,
                               uint32_t n, void *payload)
{
    (void)steps, (void)payload;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < n_metrics; j++)
            values[(size_t)i * n_metrics + j] += 1.0;
    return RECO_OK;
}

static int metric_fails(double *values, uint32_t n_metrics, const reco_run_step *steps,
                        uint32_t n, void *payload)
{
    (void)values, (void)n_metrics, (void)steps, (void)n;
    if (payload != NULL)
        return reco_error_set(RECO_EIO, "the stopwatch is broken");
    return RECO_ERROR; /* and records nothing */
}

static int metric_infinite(double *values, uint32_t n_metrics, const reco_run_step *steps,
                           uint32_t n, void *payload)
{
    (void)payload;
    for (uint32_t i = 0; i < n; i++)
        if (steps[i].step == 1)
            values[(size_t)i * n_metrics] = INFINITY;
    return RECO_OK;
}

static void test_eval_metric_names_refused(void **state)
{
    (void)state;
    budget_env *be = calloc(1, sizeof *be);
    assert_non_null(be);
    reco_env env;
    budget_env_init(&env, be, 5, 0, 13);
    const reco_policy pol = fixed_policy("first", &pick0);
    uint64_t users[10];
    for (uint32_t k = 0; k < 10; k++)
        users[k] = k;
    reco_eval *ev = (reco_eval *)&ev;
    uint32_t calls = 0;

#define BAD_METRICS(stmt, fld, needle)                                                    \
    do {                                                                                     \
        reco_eval_options o_ = RECO_EVAL_OPTIONS_INIT;                                       \
        o_.max_candidates = BUDGET_NC;                                                       \
        o_.user_metrics = metric_counts_steps;                                               \
        stmt;                                                                                \
        calls = be->sessions[0];                                                             \
        assert_reco_error(reco_eval_run(&ev, &env, &pol, 1, users, 10, &o_), RECO_EINVAL,    \
                          needle);                                                           \
        reco_error_info info_ = RECO_ERROR_INFO_INIT;                                        \
        reco_error_get(&info_);                                                              \
        assert_string_equal(info_.field, fld);                                               \
        assert_null(ev);                                                                     \
        assert_int_equal(be->sessions[0], calls); /* refused before any session */           \
    } while (0)
    {
        const char *dup[3] = {"seconds", "clicks_1", "seconds"};
        BAD_METRICS((o_.user_metric_names = dup, o_.n_user_metrics = 3),
                    "eval.user_metric_names",
                    "reco_eval_run: user metric 2 is named \"seconds\" like user metric 0");
        const char *signal[1] = {"click"};
        BAD_METRICS((o_.user_metric_names = signal, o_.n_user_metrics = 1),
                    "eval.user_metric_names",
                    "user metric 0 is named \"click\" like the count of the env's signal 0");
        const char *deep[2] = {"seconds", "watch_deep"};
        BAD_METRICS((o_.user_metric_names = deep, o_.n_user_metrics = 2),
                    "eval.user_metric_names",
                    "user metric 1 is named \"watch_deep\" like the count per deep session of "
                    "the env's signal 1");
        const char *builtin[1] = {"depth"};
        BAD_METRICS((o_.user_metric_names = builtin, o_.n_user_metrics = 1),
                    "eval.user_metric_names",
                    "user metric 0 is named \"depth\" like a metric of the evaluator");
        const char *old[1] = {"hides"}; /* not measured here, but still the 0.1 metric's name */
        BAD_METRICS((o_.user_metric_names = old, o_.n_user_metrics = 1),
                    "eval.user_metric_names", "named \"hides\" like a metric of the evaluator");
        const char *empty[2] = {"seconds", ""};
        BAD_METRICS((o_.user_metric_names = empty, o_.n_user_metrics = 2),
                    "eval.user_metric_names",
                    "eval.user_metric_names: name 1 \"\" is not a name (1..31 characters of "
                    "[a-z0-9_], from a letter)");
        const char *upper[1] = {"Seconds"};
        BAD_METRICS((o_.user_metric_names = upper, o_.n_user_metrics = 1),
                    "eval.user_metric_names", "name 0 \"Seconds\" is not a name");
        const char *digit[1] = {"2nd_click"};
        BAD_METRICS((o_.user_metric_names = digit, o_.n_user_metrics = 1),
                    "eval.user_metric_names", "name 0 \"2nd_click\" is not a name");
        const char *longer[1] = {"a_name_of_thirty_two_characters_"};
        assert_int_equal(strlen(longer[0]), 32);
        BAD_METRICS((o_.user_metric_names = longer, o_.n_user_metrics = 1),
                    "eval.user_metric_names", "is not a name");
        const char *null_name[2] = {"seconds", NULL};
        BAD_METRICS((o_.user_metric_names = null_name, o_.n_user_metrics = 2),
                    "eval.user_metric_names", "name 1 is NULL");
        BAD_METRICS((o_.user_metric_names = signal, o_.n_user_metrics = 0),
                    "eval.user_metric_names",
                    "user_metric_names and n_user_metrics (0) must be both set or both unset");
        BAD_METRICS(o_.n_user_metrics = 1, "eval.user_metric_names",
                    "user_metric_names and n_user_metrics (1) must be both set");
        const char *fine[1] = {"seconds"};
        BAD_METRICS((o_.user_metric_names = fine, o_.n_user_metrics = 1,
                     o_.user_metrics = NULL),
                    "eval.user_metrics", "the callback is NULL with 1 user metrics");
        BAD_METRICS((void)0, "eval.user_metrics", "the callback is set with 0 user metrics");
        BAD_METRICS((o_.user_metric_names = fine, o_.n_user_metrics = 257),
                    "eval.n_user_metrics", "257 is out of range [0, 256]");
    }
#undef BAD_METRICS

    /* an env whose signal names clash with a metric of the evaluator or with each other */
    reco_env named = env;
    const char *ret_name[2] = {"click", "return"};
    named.signal_names = ret_name;
    assert_reco_error(reco_eval_run(&ev, &named, &pol, 1, users, 10, NULL), RECO_EINVAL,
                      "reco_eval_run: the env's signal 1 \"return\" gives a metric named "
                      "\"return\" like a metric of the evaluator");
    const char *deep_name[2] = {"click", "click_deep"};
    named.signal_names = deep_name;
    assert_reco_error(reco_eval_run(&ev, &named, &pol, 1, users, 10, NULL), RECO_EINVAL,
                      "the env's signal 0 \"click\" gives a metric named \"click_deep\" like "
                      "the count of the env's signal 1");
    assert_null(ev);

    /* a user metric that fails: its status and message reach the caller */
    reco_eval_options eo = RECO_EVAL_OPTIONS_INIT;
    const char *one[1] = {"seconds"};
    eo.max_candidates = BUDGET_NC;
    eo.user_metric_names = one;
    eo.n_user_metrics = 1;
    eo.user_metrics = metric_fails;
    eo.user_metrics_payload = &calls;
    assert_reco_error(reco_eval_run(&ev, &env, &pol, 1, users, 10, &eo), RECO_EIO,
                      "the stopwatch is broken");
    assert_null(ev);
    eo.user_metrics_payload = NULL;
    assert_reco_error(reco_eval_run(&ev, &env, &pol, 1, users, 10, &eo), RECO_ERROR,
                      "the evaluation's user_metrics()");
    eo.user_metrics = metric_infinite;
    assert_reco_error(reco_eval_run(&ev, &env, &pol, 1, users, 10, &eo), RECO_EINVAL,
                      "user metric \"seconds\" is inf for session ");
    assert_null(ev);

    /* a user metric after the 0.1 metrics of an env without signal names */
    script_env s;
    reco_env plain;
    script_env_make(&plain, &s, 2);
    eo.user_metrics = metric_counts_steps;
    eo.max_candidates = 4;
    const uint64_t five[NS] = {0, 1, 2, 3, 4};
    assert_int_equal(reco_eval_run(&ev, &plain, &pol, 1, five, NS, &eo), RECO_OK);
    assert_int_equal(reco_eval_n_metrics(ev), RECO_EVAL_N_METRICS + 1);
    assert_string_equal(reco_eval_metric_label(ev, RECO_EVAL_N_METRICS), "seconds");
    for (uint32_t k = 0; k < NS; k++) {
        double v[RECO_EVAL_N_METRICS + 1];
        reco_eval_session_values(v, RECO_EVAL_N_METRICS + 1, ev, 0, k);
        assert_rel(v[RECO_EVAL_N_METRICS], v[RECO_EVAL_DEPTH], 0);
        assert_rel(v[RECO_EVAL_DEPTH], script[k][0].depth, 0);
    }
    reco_eval_free(ev);
    free(be);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval_normal_quantile),
        cmocka_unit_test(test_eval_hand_computed),
        cmocka_unit_test(test_eval_concat),
        cmocka_unit_test(test_eval_nan_cases),
        cmocka_unit_test(test_eval_schedule),
        cmocka_unit_test(test_eval_crn_world),
        cmocka_unit_test(test_eval_crn_sim),
        cmocka_unit_test(test_eval_coverage),
        cmocka_unit_test(test_eval_reports),
        cmocka_unit_test(test_eval_errors_and_options),
        cmocka_unit_test(test_eval_context),
        cmocka_unit_test(test_eval_metrics_by_name),
        cmocka_unit_test(test_eval_options_v1),
        cmocka_unit_test(test_eval_world_names),
        cmocka_unit_test(test_eval_metric_names_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
