/* reco_ope: every estimator against values computed by hand on a three-row log (a mutant
 * that ignores or misreads the propensity fails there), interval coverage of a known true
 * value over many seeded synthetic logs (a bandit and a three-step session), doubly robust
 * with a perfect direct method beating IPS on variance, a model as the direct method and a
 * model policy as the target, and an error per kind of bad input. */
#include <math.h>

#include <stddef.h>

#include "test_common.h"
#include "reco/ope.h"
#include "reco/rng.h"

enum { C = 4 };

/* The synthetic world: four items, click probability p[item], reward 1 per click. The
 * logging policy draws item j with probability mu[j]; the target is the built-in weighted
 * policy with weights 1..4 (pi = .1, .2, .3, .4), so its value per step is
 * sum_j pi_j p_j = .53 whatever the state. */
static const double p_click[C] = {0.2, 0.5, 0.3, 0.8};
static const double mu[C] = {0.4, 0.3, 0.2, 0.1};
static const float target_w[C] = {1.0f, 2.0f, 3.0f, 4.0f};
static const float reward_w[4] = {1.0f, 0.0f, 0.0f, 0.0f};
#define TRUE_STEP 0.53

static reco_log *new_log(int propensity)
{
    reco_log_options o = RECO_LOG_OPTIONS_INIT;
    o.propensity = propensity;
    reco_log *log = NULL;
    assert_int_equal(reco_log_create(&log, &o), RECO_OK);
    return log;
}

static void append(reco_log *log, uint64_t user, uint32_t step, int32_t item, uint32_t fb,
                   int exit, float prop)
{
    reco_log_row r = RECO_LOG_ROW_INIT;
    r.user = user;
    r.session = user;
    r.step = step;
    r.timestamp = (int64_t)step * 10;
    r.item = item;
    r.feedback = fb;
    r.exit = exit;
    r.propensity = prop;
    assert_int_equal(reco_log_append(log, &r, 1), RECO_OK);
}

static reco_policy_state *weighted_target(reco_policy *pol)
{
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    po.kind = RECO_POLICY_WEIGHTED;
    po.item_weights = target_w;
    po.n_item_weights = C;
    reco_policy_state *ps = NULL;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    assert_int_equal(reco_policy_get(pol, ps), RECO_OK);
    return ps;
}

/* Direct methods: the true expected reward, and a wrong constant one. */
static int perfect_direct(float *out, const reco_batch *states, const uint32_t *counts,
                          void *payload)
{
    (void)payload;
    for (uint32_t i = 0; i < states->size; i++)
        for (uint32_t j = 0; j < counts[i]; j++)
            out[i * states->n_candidates + j] =
                (float)p_click[states->candidates[i * states->n_candidates + j]];
    return RECO_OK;
}

static int constant_direct(float *out, const reco_batch *states, const uint32_t *counts,
                           void *payload)
{
    (void)payload;
    for (uint32_t i = 0; i < states->size; i++)
        for (uint32_t j = 0; j < counts[i]; j++)
            out[i * states->n_candidates + j] = 0.5f;
    return RECO_OK;
}

static void fill_candidates(int32_t *cand, uint32_t *counts, size_t n)
{
    for (size_t r = 0; r < n; r++) {
        counts[r] = C;
        for (int j = 0; j < C; j++)
            cand[r * C + j] = j;
    }
}

/* Two sessions: (item 3, prop .1, click), (item 0, prop .4, no click, exit); and (item 1,
 * prop .3, click, exit). rho = 4, .25, 2/3; rewards 1, 0, 1. */
static void test_ope_exact(void **state)
{
    (void)state;
    reco_log *log = new_log(1);
    append(log, 1, 0, 3, 1, 0, 0.1f);
    append(log, 1, 1, 0, 0, 1, 0.4f);
    append(log, 2, 0, 1, 1, 1, 0.3f);
    int32_t cand[3 * C];
    uint32_t counts[3];
    fill_candidates(cand, counts, 3);
    reco_policy pol;
    reco_policy_state *ps = weighted_target(&pol);
    reco_ope_options oo = RECO_OPE_OPTIONS_INIT;
    oo.reward_weights = reward_w;
    oo.direct = perfect_direct;
    reco_ope_result r = RECO_OPE_RESULT_INIT;
    assert_int_equal(reco_ope_estimate(&r, log, cand, counts, C, &pol, &oo), RECO_OK);
    const double e = 1e-5, rho0 = 4.0, rho1 = 0.25, rho2 = 0.2 / 0.3;
    assert_int_equal(r.sessions, 2);
    assert_int_equal(r.steps, 3);
    assert_float_equal(r.logged_step, 2.0 / 3.0, e);
    assert_float_equal(r.logged_return, 1.0, e);
    /* per decision */
    assert_float_equal(r.step[RECO_OPE_IPS].value, (rho0 + rho2) / 3.0, e);
    assert_float_equal(r.step[RECO_OPE_SNIPS].value, (rho0 + rho2) / (rho0 + rho1 + rho2), e);
    /* DR: v = .53 on every row; q of the logged items .8, .2, .5 */
    const double dr0 = 0.53 + rho0 * (1 - 0.8), dr1 = 0.53 + rho1 * (0 - 0.2);
    const double dr2 = 0.53 + rho2 * (1 - 0.5);
    assert_float_equal(r.step[RECO_OPE_DR].value, (dr0 + dr1 + dr2) / 3.0, e);
    /* per session: cumulative weights 4, 1 and 2/3 */
    const double g1 = 4.0 * 1 + 1.0 * 0, g2 = rho2;
    assert_float_equal(r.session[RECO_OPE_IPS].value, (g1 + g2) / 2.0, e);
    /* WPDIS: step 0: (4 + 2/3) / (4 + 2/3) = 1; step 1: 0 / (1 + 2/3 absorbed) = 0 */
    assert_float_equal(r.session[RECO_OPE_SNIPS].value, 1.0, e);
    const double d1 = (4.0 * (1 - 0.8) + 1.0 * 0.53) + (1.0 * (0 - 0.2) + 4.0 * 0.53);
    const double d2 = rho2 * (1 - 0.5) + 0.53;
    assert_float_equal(r.session[RECO_OPE_DR].value, (d1 + d2) / 2.0, e);
    /* the interval of the per-session IPS: sd of {g1, g2} over sqrt(2), z = 1.95996 */
    const double se = fabs(g1 - g2) / sqrt(2.0) / sqrt(2.0);
    assert_float_equal(r.session[RECO_OPE_IPS].se, se, e);
    assert_float_equal(r.session[RECO_OPE_IPS].lo, (g1 + g2) / 2.0 - 1.959964 * se, 1e-4);
    assert_float_equal(r.session[RECO_OPE_IPS].hi, (g1 + g2) / 2.0 + 1.959964 * se, 1e-4);
    assert_float_equal(r.max_weight, 4.0, e);
    assert_float_equal(r.ess, pow(1.0 + rho2, 2) / (1.0 + rho2 * rho2), e);
    /* discount: the second step counts gamma = .5 */
    oo.gamma = 0.5f;
    assert_int_equal(reco_ope_estimate(&r, log, cand, counts, C, &pol, &oo), RECO_OK);
    assert_float_equal(r.session[RECO_OPE_DR].value,
                       ((4.0 * 0.2 + 0.53) + 0.5 * (-0.2 + 4.0 * 0.53) + d2) / 2.0, e);
    /* clipping at 2: rho0 and the first cumulative weight become 2 */
    oo.gamma = 1.0f;
    oo.clip = 2.0f;
    assert_int_equal(reco_ope_estimate(&r, log, cand, counts, C, &pol, &oo), RECO_OK);
    assert_float_equal(r.step[RECO_OPE_IPS].value, (2.0 + rho2) / 3.0, e);
    assert_float_equal(r.session[RECO_OPE_IPS].value, (2.0 + rho2) / 2.0, e);
    assert_int_equal(r.clipped, 1);
    assert_float_equal(r.max_weight, 2.0, e);
    /* without a direct method the DR values are NaN, the others unchanged */
    oo.clip = 0.0f;
    oo.direct = NULL;
    assert_int_equal(reco_ope_estimate(&r, log, cand, counts, C, &pol, &oo), RECO_OK);
    assert_true(isnan(r.step[RECO_OPE_DR].value) && isnan(r.session[RECO_OPE_DR].value));
    assert_float_equal(r.step[RECO_OPE_IPS].value, (rho0 + rho2) / 3.0, e);
    reco_policy_free(ps);
    reco_log_free(log);
}

/* A synthetic log of `n` sessions of `T` steps drawn from the logging policy mu. */
static reco_log *synthetic_log(reco_rng *rng, size_t n, uint32_t T)
{
    reco_log *log = new_log(1);
    for (size_t i = 0; i < n; i++)
        for (uint32_t t = 0; t < T; t++) {
            const double u = reco_rng_uniform(rng);
            int32_t a = 0;
            double acc = mu[0];
            while (a < C - 1 && u >= acc)
                acc += mu[++a];
            const uint32_t fb = (uint32_t)reco_rng_bernoulli(rng, p_click[a]);
            append(log, i, t, a, fb, t + 1 == T, (float)mu[a]);
        }
    return log;
}

/* Over 200 logs the 95% intervals of every estimator cover the true value in 90% to 99%
 * of them (at 95% the count is binomial(200, .95): 90% is 3.2 standard errors below). */
static void test_ope_coverage(void **state)
{
    (void)state;
    enum { REPS = 200, SESSIONS = 300, T = 3 };
    static int32_t cand[SESSIONS * T * C];
    static uint32_t counts[SESSIONS * T];
    fill_candidates(cand, counts, SESSIONS * T);
    reco_policy pol;
    reco_policy_state *ps = weighted_target(&pol);
    reco_ope_options oo = RECO_OPE_OPTIONS_INIT;
    oo.reward_weights = reward_w;
    oo.direct = constant_direct;
    oo.gamma = 0.9f;
    const double true_return = TRUE_STEP * (1.0 + 0.9 + 0.81);
    int cover_step[RECO_OPE_N_ESTIMATORS] = {0}, cover_sess[RECO_OPE_N_ESTIMATORS] = {0};
    int cover_logged = 0;
    reco_rng rng;
    reco_rng_seed(&rng, 2026, 14);
    for (int k = 0; k < REPS; k++) {
        reco_log *log = synthetic_log(&rng, SESSIONS, T);
        reco_ope_result r = RECO_OPE_RESULT_INIT;
        assert_int_equal(reco_ope_estimate(&r, log, cand, counts, C, &pol, &oo), RECO_OK);
        for (int e = 0; e < RECO_OPE_N_ESTIMATORS; e++) {
            cover_step[e] += r.step[e].lo <= TRUE_STEP && TRUE_STEP <= r.step[e].hi;
            cover_sess[e] += r.session[e].lo <= true_return && true_return <= r.session[e].hi;
        }
        /* the logging policy's own value is not the target's (.41 vs .53): an estimator
         * that ignored the weights would not cover */
        cover_logged += fabs(r.logged_step - TRUE_STEP) < 0.02;
        reco_log_free(log);
    }
    for (int e = 0; e < RECO_OPE_N_ESTIMATORS; e++) {
        print_message("estimator %d: per-step coverage %.3f, per-session %.3f\n", e,
                      cover_step[e] / (double)REPS, cover_sess[e] / (double)REPS);
        assert_true(cover_step[e] >= 0.90 * REPS && cover_step[e] <= 0.99 * REPS);
        assert_true(cover_sess[e] >= 0.90 * REPS && cover_sess[e] <= 0.99 * REPS);
    }
    assert_int_equal(cover_logged, 0);
    reco_policy_free(ps);
}

/* With the true expected reward as its direct method, DR's standard errors are smaller than
 * IPS's (per step and per session), on the same log. */
static void test_ope_dr_variance(void **state)
{
    (void)state;
    enum { SESSIONS = 2000, T = 3 };
    static int32_t cand[SESSIONS * T * C];
    static uint32_t counts[SESSIONS * T];
    fill_candidates(cand, counts, SESSIONS * T);
    reco_rng rng;
    reco_rng_seed(&rng, 7, 0);
    reco_log *log = synthetic_log(&rng, SESSIONS, T);
    reco_policy pol;
    reco_policy_state *ps = weighted_target(&pol);
    reco_ope_options oo = RECO_OPE_OPTIONS_INIT;
    oo.reward_weights = reward_w;
    oo.direct = perfect_direct;
    reco_ope_result r = RECO_OPE_RESULT_INIT;
    assert_int_equal(reco_ope_estimate(&r, log, cand, counts, C, &pol, &oo), RECO_OK);
    print_message("se per step: IPS %.4f DR %.4f; per session: IPS %.4f DR %.4f\n",
                  r.step[RECO_OPE_IPS].se, r.step[RECO_OPE_DR].se, r.session[RECO_OPE_IPS].se,
                  r.session[RECO_OPE_DR].se);
    assert_true(r.step[RECO_OPE_DR].se < 0.75 * r.step[RECO_OPE_IPS].se);
    assert_true(r.session[RECO_OPE_DR].se < 0.75 * r.session[RECO_OPE_IPS].se);
    assert_true(fabs(r.step[RECO_OPE_DR].value - TRUE_STEP) < 4 * r.step[RECO_OPE_DR].se);
    reco_policy_free(ps);
    reco_log_free(log);
}

/* A feedback model as the direct method and a model policy as the target: the states are
 * rebuilt with the model's window; the greedy target is one-hot, so IPS weighs only the
 * rows where the logging policy showed the model's argmax. */
static void test_ope_model(void **state)
{
    (void)state;
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    mo.n_items = C;
    mo.dim = 8;
    mo.lookback = 3;
    mo.n_heads = 2;
    mo.ffn_dim = 8;
    mo.max_batch = 16;
    mo.max_candidates = C;
    mo.seed = 3;
    reco_model *m = NULL;
    assert_int_equal(reco_model_create(&m, &mo), RECO_OK);
    enum { SESSIONS = 100, T = 4 };
    static int32_t cand[SESSIONS * T * C];
    static uint32_t counts[SESSIONS * T];
    fill_candidates(cand, counts, SESSIONS * T);
    reco_rng rng;
    reco_rng_seed(&rng, 8, 0);
    reco_log *log = synthetic_log(&rng, SESSIONS, T);
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    po.kind = RECO_POLICY_MODEL_GREEDY;
    po.model = m;
    po.signal_weights = reward_w;
    reco_policy_state *ps = NULL;
    reco_policy pol;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    assert_int_equal(reco_policy_get(&pol, ps), RECO_OK);
    reco_ope_options oo = RECO_OPE_OPTIONS_INIT;
    oo.reward_weights = reward_w;
    oo.model = m;
    reco_ope_result r = RECO_OPE_RESULT_INIT;
    assert_int_equal(reco_ope_estimate(&r, log, cand, counts, C, &pol, &oo), RECO_OK);
    for (int e = 0; e < RECO_OPE_N_ESTIMATORS; e++) {
        assert_true(isfinite(r.step[e].value) && isfinite(r.step[e].se));
        assert_true(isfinite(r.session[e].value) && r.step[e].lo <= r.step[e].hi);
    }
    /* one-hot target: every weight is 0 or 1 / mu, so the per-step IPS is a sum of those */
    assert_true(r.step[RECO_OPE_IPS].value >= 0.0);
    /* the model's window differs from the states asked for */
    oo.lookback = 2;
    assert_reco_error(reco_ope_estimate(&r, log, cand, counts, C, &pol, &oo), RECO_EINVAL,
                      "lookback");
    oo.lookback = 0;
    oo.long_len = 2;
    assert_reco_error(reco_ope_estimate(&r, log, cand, counts, C, &pol, &oo), RECO_EINVAL,
                      "long_len 0");
    reco_policy_free(ps);
    reco_log_free(log);
    reco_model_free(m);
}

static int bad_probs(float *probs, const reco_batch *states, const uint32_t *counts,
                     const reco_policy_sessions *s, void *payload)
{
    (void)s;
    const float v = *(const float *)payload;
    for (uint32_t i = 0; i < states->size; i++)
        for (uint32_t j = 0; j < counts[i]; j++)
            probs[i * states->n_candidates + j] = v;
    return RECO_OK;
}

static void test_ope_errors(void **state)
{
    (void)state;
    reco_log *log = new_log(1);
    append(log, 1, 0, 3, 1, 0, 0.1f);
    append(log, 1, 1, 0, 0, 1, 0.4f);
    int32_t cand[2 * C];
    uint32_t counts[2];
    fill_candidates(cand, counts, 2);
    reco_policy pol;
    reco_policy_state *ps = weighted_target(&pol);
    reco_ope_options oo = RECO_OPE_OPTIONS_INIT;
    oo.reward_weights = reward_w;
    reco_ope_result r = RECO_OPE_RESULT_INIT;
    assert_reco_error(reco_ope_estimate(NULL, log, cand, counts, C, &pol, &oo), RECO_EINVAL,
                      "NULL");
    assert_reco_error(reco_ope_estimate(&r, log, cand, counts, C, NULL, &oo), RECO_EINVAL,
                      "NULL");
    assert_reco_error(reco_ope_estimate(&r, log, cand, counts, C, &pol, NULL), RECO_EINVAL,
                      "reward weights are required");
    r.version = 9;
    assert_reco_error(reco_ope_estimate(&r, log, cand, counts, C, &pol, &oo), RECO_EVERSION,
                      "reco_ope_result");
    r.version = RECO_OPE_RESULT_VERSION;
    /* options, each naming its field */
    reco_ope_options bad = oo;
    bad.reward_weights = NULL;
    assert_reco_error(reco_ope_estimate(&r, log, cand, counts, C, &pol, &bad), RECO_EINVAL,
                      "reward_weights");
    bad = oo;
    bad.gamma = 1.5f;
    assert_reco_error(reco_ope_estimate(&r, log, cand, counts, C, &pol, &bad), RECO_EINVAL,
                      "gamma 1.5 is not in [0, 1]");
    bad = oo;
    bad.clip = 0.5f;
    assert_reco_error(reco_ope_estimate(&r, log, cand, counts, C, &pol, &bad), RECO_EINVAL,
                      "clip 0.5");
    bad = oo;
    bad.confidence = 1.0;
    assert_reco_error(reco_ope_estimate(&r, log, cand, counts, C, &pol, &bad), RECO_EINVAL,
                      "confidence 1");
    bad = oo;
    bad.version = 7;
    assert_reco_error(reco_ope_estimate(&r, log, cand, counts, C, &pol, &bad), RECO_EVERSION,
                      "reco_ope_options");
    const float nan_w[4] = {NAN, 0, 0, 0};
    bad = oo;
    bad.reward_weights = nan_w;
    assert_reco_error(reco_ope_estimate(&r, log, cand, counts, C, &pol, &bad), RECO_EINVAL,
                      "reward weight 0 is not finite");
    /* candidates: missing, bad count, the logged item not among them */
    assert_reco_error(reco_ope_estimate(&r, log, NULL, counts, C, &pol, &oo), RECO_EINVAL,
                      "the log has no candidates column");
    counts[1] = 0;
    assert_reco_error(reco_ope_estimate(&r, log, cand, counts, C, &pol, &oo), RECO_EINVAL,
                      "row 1 (user 1, session 1, step 1) has 0 candidates");
    counts[1] = C;
    cand[3] = 2;
    assert_reco_error(reco_ope_estimate(&r, log, cand, counts, C, &pol, &oo), RECO_EINVAL,
                      "row 0 (user 1, session 1, step 0) shows item 3, which is not among");
    cand[3] = 3;
    /* the target: a version-3 struct, probabilities that are no distribution */
    reco_policy v3 = pol;
    v3.version = 3;
    assert_reco_error(reco_ope_estimate(&r, log, cand, counts, C, &v3, &oo), RECO_EINVAL,
                      "has no probabilities()");
    float val = 0.5f;
    reco_policy odd = pol;
    odd.probabilities = bad_probs;
    odd.payload = &val;
    assert_reco_error(reco_ope_estimate(&r, log, cand, counts, C, &odd, &oo), RECO_EINVAL,
                      "sum to 2");
    val = -1.0f;
    assert_reco_error(reco_ope_estimate(&r, log, cand, counts, C, &odd, &oo), RECO_EINVAL,
                      "is -1, not in [0, 1]");
    /* a direct method that gives NaN */
    val = 0.25f;
    bad = oo;
    bad.direct = constant_direct;
    assert_int_equal(reco_ope_estimate(&r, log, cand, counts, C, &odd, &bad), RECO_OK);
    reco_policy_free(ps);
    reco_log_free(log);
    /* logs: empty, without propensities, with an unknown one (the row named) */
    log = new_log(1);
    assert_reco_error(reco_ope_estimate(&r, log, cand, counts, C, &pol, &oo), RECO_EINVAL,
                      "the log is empty");
    append(log, 5, 0, 1, 0, 0, 0.5f);
    append(log, 5, 1, 2, 0, 1, NAN);
    ps = weighted_target(&pol);
    assert_reco_error(reco_ope_estimate(&r, log, cand, counts, C, &pol, &oo), RECO_EINVAL,
                      "row 1 (user 5, session 5, step 1) has an unknown propensity");
    reco_log_free(log);
    log = new_log(0);
    append(log, 5, 0, 1, 0, 1, NAN);
    assert_reco_error(reco_ope_estimate(&r, log, cand, counts, C, &pol, &oo), RECO_EINVAL,
                      "no propensity column");
    reco_log_free(log);
    reco_policy_free(ps);
    /* options init */
    reco_ope_options io;
    assert_int_equal(reco_ope_options_init(&io, RECO_OPE_OPTIONS_VERSION), RECO_OK);
    assert_float_equal(io.gamma, 1.0f, 0);
    assert_float_equal(io.confidence, 0.95, 0);
    assert_reco_error(reco_ope_options_init(&io, 2), RECO_EVERSION, "reco_ope_options");
    assert_reco_error(reco_ope_options_init(NULL, 1), RECO_EINVAL, "NULL");
}

/* The log's own candidates column gives the same estimates as the arrays; a row whose
 * candidates are unknown is refused, named. */
static void test_ope_log_candidates(void **state)
{
    (void)state;
    reco_log_options o = RECO_LOG_OPTIONS_INIT;
    o.propensity = 1;
    o.max_candidates = 6;
    reco_log *log = NULL;
    assert_int_equal(reco_log_create(&log, &o), RECO_OK);
    enum { N = 50 };
    int32_t cand[N * C];
    uint32_t counts[N];
    reco_rng rng;
    reco_rng_seed(&rng, 5, 0);
    for (uint32_t i = 0; i < N; i++) {
        /* rows of 2..4 candidates in shuffled orders */
        counts[i] = 2 + i % 3;
        for (uint32_t j = 0; j < counts[i]; j++)
            cand[i * C + j] = (int32_t)((j + i) % C);
        for (uint32_t j = counts[i]; j < C; j++)
            cand[i * C + j] = -1;
        const uint32_t pick = (uint32_t)reco_rng_below(&rng, counts[i]);
        reco_log_row r = RECO_LOG_ROW_INIT;
        r.user = i / 2;
        r.session = 0;
        r.step = i % 2;
        r.timestamp = r.step;
        r.item = cand[i * C + pick];
        r.feedback = (uint32_t)reco_rng_bernoulli(&rng, p_click[r.item]);
        r.exit = i % 2;
        r.propensity = 1.0f / (float)counts[i];
        r.n_candidates = counts[i];
        r.candidates = cand + i * C;
        assert_int_equal(reco_log_append(log, &r, 1), RECO_OK);
    }
    reco_policy pol;
    reco_policy_state *ps = weighted_target(&pol);
    reco_ope_options oo = RECO_OPE_OPTIONS_INIT;
    oo.reward_weights = reward_w;
    oo.direct = perfect_direct;
    reco_ope_result a = RECO_OPE_RESULT_INIT, b = RECO_OPE_RESULT_INIT;
    assert_int_equal(reco_ope_estimate(&a, log, cand, counts, C, &pol, &oo), RECO_OK);
    assert_int_equal(reco_ope_estimate(&b, log, NULL, NULL, 0, &pol, &oo), RECO_OK);
    for (int e = 0; e < RECO_OPE_N_ESTIMATORS; e++) {
        assert_true(a.step[e].value == b.step[e].value && a.step[e].se == b.step[e].se);
        assert_true(a.session[e].value == b.session[e].value);
    }
    /* a row without its candidates */
    reco_log_row r = RECO_LOG_ROW_INIT;
    r.user = 999;
    r.item = 1;
    r.exit = 1;
    r.propensity = 0.5f;
    assert_int_equal(reco_log_append(log, &r, 1), RECO_OK);
    assert_reco_error(reco_ope_estimate(&b, log, NULL, NULL, 0, &pol, &oo), RECO_EINVAL,
                      "row 50 (user 999, session 0, step 0) has 0 candidates (need 1..6; 0: "
                      "unknown)");
    reco_policy_free(ps);
    reco_log_free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ope_exact),
        cmocka_unit_test(test_ope_coverage),
        cmocka_unit_test(test_ope_dr_variance),
        cmocka_unit_test(test_ope_model),
        cmocka_unit_test(test_ope_errors),
        cmocka_unit_test(test_ope_log_candidates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
