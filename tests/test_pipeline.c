/* reco_pipeline: the whole experiment (logs -> fit -> simulator -> RecoMind -> evaluation) as
 * one call, on the built-in world and on the tests' second environment
 * (tests/env/budget_env.h: signals "click" and "watch", 20 candidates, its own reward
 * weights, no popularity prior) through the same reco_pipeline_run() call; the refusals of
 * a configuration that disagrees with the environment; a failing environment's own message
 * reaching the caller; determinism. Sizes are cut so that each run takes about a second. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "env/budget_env.h"
#include "reco/reco.h"
#include "test_common.h"

/* Everything but the environment: the same for the world and the budget env. */
static const char common_yaml[] =
    "experiment:\n"
    "  seeds: [1]\n"
    "  threads: 1\n"
    "  logging: {policy: model, bootstrap_interactions: 1500, interactions: 3000,\n"
    "            interactions_per_user: 30, temperature: 0.1}\n"
    "  evaluation: {sessions: 48, deep_depth: 10, confidence: 0.95}\n"
    "model: {dim: 8, n_blocks: 1, n_heads: 2, ffn_dim: 16, init_std: 0.1, max_batch: 64,\n"
    "        max_candidates: 128, position: true, elapsed: true}\n"
    "fit: {epochs: 1, batch_size: 64, lr: 0.002, patience: 3}\n"
    "qnet: {gamma: 0.8, target_period: 50}\n"
    "explorer: {rule: top_k_softmax, top_k_fraction: 0.25}\n"
    "trainer: {n_generators: 1, sessions_per_generator: 8, segment_len: 16,\n"
    "          replay_ratio: 0.5, warmup: 100, batch_size: 32, n_candidates: 16,\n"
    "          snapshot_period: 1, max_staleness: 0, total_updates: 120,\n"
    "          metrics_interval: 60}\n";

static const char world_yaml[] =
    "world: {n_users: 2000, n_items: 200, n_candidates: 50, max_session_len: 30,\n"
    "        max_sessions: 64, exclude_seen: true, carry_history: true,\n"
    "        user_features: true, long_len: 10}\n";

static reco_config *config_of(const char *extra)
{
    reco_config *cfg = NULL;
    assert_int_equal(reco_config_create(&cfg, NULL), RECO_OK);
    char yaml[4096];
    snprintf(yaml, sizeof yaml, "%s%s", common_yaml, extra);
    int rc = reco_config_load_string(cfg, yaml, strlen(yaml), "pipeline-test.yaml");
    if (rc != RECO_OK)
        fail_msg("config: %s", reco_error_message());
    return cfg;
}

/* ---- the second environment as a pipeline source: fresh copies from one seed ---------- */

typedef struct budget_src {
    uint64_t seed;
    int opened, closed;
    int fail_open;     /* open() fails with its own message */
    int fail_at_step;  /* > 0: the copies' step() fails at that call with a message */
    int steps;
    int no_context;    /* the copies give no context() */
} budget_src;

/* A copy whose step() fails at call `fail_at_step` (counted over all copies). */
typedef struct budget_copy {
    budget_env e;
    budget_src *src;
} budget_copy;

static int failing_step(uint32_t *fb, float *reward, int *done, const uint32_t *slots,
                        const int32_t *items, uint32_t n, void *payload)
{
    budget_copy *c = payload;
    if (++c->src->steps == c->src->fail_at_step)
        return reco_error_set(RECO_EIO, "budget: the session store went away");
    return budget_step(fb, reward, done, slots, items, n, &c->e);
}

static int budget_open(reco_env *out, void *payload)
{
    budget_src *s = payload;
    if (s->fail_open)
        return reco_error_set(RECO_EIO, "budget: catalog file missing");
    budget_copy *c = calloc(1, sizeof *c);
    if (c == NULL)
        return reco_error_set(RECO_ENOMEM, "budget: out of memory");
    budget_env_init(out, &c->e, 8, 0, s->seed);
    c->src = s;
    if (s->fail_at_step > 0) {
        out->step = failing_step;
        out->payload = c;
    }
    if (s->no_context)
        out->context = NULL;
    __atomic_fetch_add(&s->opened, 1, __ATOMIC_RELAXED); /* copies open on several threads */
    return RECO_OK;
}

static void budget_close(const reco_env *env, void *payload)
{
    budget_src *s = payload;
    __atomic_fetch_add(&s->closed, 1, __ATOMIC_RELAXED);
    /* the payload is the copy (its budget_env is its first member) */
    free(env->payload);
}

static reco_pipeline_env budget_source(budget_src *s)
{
    reco_pipeline_env pe = RECO_PIPELINE_ENV_INIT;
    pe.name = "budget";
    pe.open = budget_open;
    pe.close = budget_close;
    pe.payload = s;
    return pe;
}

/* Runs the pipeline of `cfg` on `env` (NULL: the built-in world). */
static int run_on(reco_pipeline **out, const reco_config *cfg, const reco_pipeline_env *env)
{
    reco_pipeline_run_options ro = RECO_PIPELINE_RUN_OPTIONS_INIT;
    ro.env = env;
    return reco_pipeline_run(out, cfg, &ro);
}

/* What every finished run must hold, whatever the environment: four policies evaluated on
 * both sides with finite returns, a fit report of the env's outputs, a learning curve. */
static void check_result(const reco_pipeline *p, uint32_t n_signals, const char *real_name)
{
    assert_int_equal(reco_pipeline_n_seeds(p), 1);
    assert_int_equal(reco_pipeline_seed(p, 0), 1);
    assert_string_equal(reco_pipeline_side_name(p, RECO_PIPELINE_SIM), "sim");
    assert_string_equal(reco_pipeline_side_name(p, RECO_PIPELINE_REAL), real_name);
    assert_string_equal(reco_pipeline_policy_name(RECO_PIPELINE_WARM_START), "warm-start");
    assert_null(reco_pipeline_policy_name(RECO_PIPELINE_N_POLICIES));
    for (int side = 0; side < 2; side++) {
        const reco_eval *ev = reco_pipeline_eval(p, 0, (reco_pipeline_side)side);
        assert_non_null(ev);
        assert_int_equal(reco_eval_n_policies(ev), RECO_PIPELINE_N_POLICIES);
        assert_int_equal(reco_eval_n_sessions(ev), 48);
        for (uint32_t k = 0; k < RECO_PIPELINE_N_POLICIES; k++) {
            assert_string_equal(reco_eval_policy_name(ev, k), reco_pipeline_policy_name(k));
            reco_eval_stat st;
            assert_int_equal(reco_eval_stat_get(&st, ev, k, RECO_EVAL_RETURN), RECO_OK);
            assert_true(isfinite(st.mean));
            assert_int_equal(reco_eval_stat_get(&st, ev, k, RECO_EVAL_DEPTH), RECO_OK);
            assert_true(st.mean >= 1.0);
        }
    }
    /* pooled over the one seed */
    assert_non_null(reco_pipeline_eval(p, 1, RECO_PIPELINE_REAL));
    assert_null(reco_pipeline_eval(p, 2, RECO_PIPELINE_REAL));
    reco_fit_report rep = RECO_FIT_REPORT_INIT;
    assert_int_equal(reco_pipeline_fit_report(&rep, p, 0, 0), RECO_OK);
    assert_int_equal(rep.n_outputs, n_signals + 1);
    assert_true(rep.n_train > 0);
    reco_pipeline_point pts[8];
    const uint32_t n = reco_pipeline_curve(pts, 8, p, 0);
    assert_int_equal(n, 3); /* updates 0, 60, 120 */
    assert_int_equal(pts[0].updates, 0);
    assert_int_equal(pts[2].updates, 120);
    assert_string_equal(reco_pipeline_output_name(p, n_signals), "exit");
    assert_null(reco_pipeline_output_name(p, n_signals + 1));
}

static void test_pipeline_world(void **state)
{
    (void)state;
    reco_config *cfg = config_of(world_yaml);
    reco_pipeline *p = NULL;
    int rc = run_on(&p, cfg, NULL);
    if (rc != RECO_OK)
        fail_msg("world run: %s", reco_error_message());
    check_result(p, RECO_WORLD_N_SIGNALS, "world");
    assert_string_equal(reco_pipeline_output_name(p, 0), "click");
    assert_string_equal(reco_pipeline_output_name(p, 1), "long_watch");
    /* the world's signals are metrics by name, long watches under the 0.1 name too */
    const reco_eval *ev = reco_pipeline_eval(p, 0, RECO_PIPELINE_REAL);
    uint32_t m;
    assert_int_equal(reco_eval_metric_index(&m, ev, "long_watch"), RECO_OK);
    assert_int_equal(reco_eval_metric_index(&m, ev, "hide"), RECO_OK);
    reco_eval_stat a, b;
    assert_int_equal(reco_eval_stat_get(&a, ev, 3, (reco_eval_metric)m), RECO_OK);
    assert_int_equal(reco_eval_stat_get(&b, ev, 3, RECO_EVAL_HIDES), RECO_OK);
    assert_float_equal(a.mean, b.mean, 1e-12);
    reco_pipeline_free(p);
    reco_config_free(cfg);
}

static void test_pipeline_second_env(void **state)
{
    (void)state;
    reco_config *cfg = config_of("");
    budget_src src = {.seed = 5};
    const reco_pipeline_env pe = budget_source(&src);
    reco_pipeline *p = NULL;
    int rc = run_on(&p, cfg, &pe);
    if (rc != RECO_OK)
        fail_msg("budget run: %s", reco_error_message());
    check_result(p, 2, "budget");
    /* every copy it opened was closed */
    assert_true(src.opened >= 2);
    assert_int_equal(src.opened, src.closed);
    /* the env's signal names everywhere: the model's outputs, the evaluation's metrics */
    assert_string_equal(reco_pipeline_output_name(p, 0), "click");
    assert_string_equal(reco_pipeline_output_name(p, 1), "watch");
    for (int side = 0; side < 2; side++) {
        const reco_eval *ev = reco_pipeline_eval(p, 0, (reco_pipeline_side)side);
        uint32_t click, watch, deep;
        assert_int_equal(reco_eval_metric_index(&click, ev, "click"), RECO_OK);
        assert_int_equal(reco_eval_metric_index(&watch, ev, "watch"), RECO_OK);
        assert_int_equal(reco_eval_metric_index(&deep, ev, "watch_deep"), RECO_OK);
        assert_reco_error(reco_eval_metric_index(&deep, ev, "long_watch"), RECO_EINVAL,
                          "long_watch");
        /* clicks no longer pose as long watches */
        reco_eval_stat lw, cl, wa, ret;
        assert_int_equal(reco_eval_stat_get(&lw, ev, 0, RECO_EVAL_LONG_WATCHES), RECO_OK);
        assert_true(isnan(lw.mean));
        assert_int_equal(reco_eval_stat_get(&cl, ev, 0, (reco_eval_metric)click), RECO_OK);
        assert_int_equal(reco_eval_stat_get(&wa, ev, 0, (reco_eval_metric)watch), RECO_OK);
        assert_int_equal(reco_eval_stat_get(&ret, ev, 0, RECO_EVAL_RETURN), RECO_OK);
        assert_true(cl.mean >= wa.mean); /* a watch needs a click */
        /* the return is the env's reward: 0.2 per click + 1 per watch */
        assert_float_equal(ret.mean, 0.2 * cl.mean + 1.0 * wa.mean, 1e-4);
    }
    /* results.json names the env's sides and its metrics */
    char path[] = "/tmp/reco_pipeline_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(reco_pipeline_write_json(p, path), RECO_OK);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char text[1 << 20];
    const size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    fclose(f);
    remove(path);
    assert_non_null(strstr(text, "\"budget (seed 1)\""));
    assert_non_null(strstr(text, "\"watch_deep\""));
    /* off-policy estimates on the second env (docs/ope.md): every policy, finite, the
     * logging policy's own value beside them; bad arguments refused */
    assert_non_null(strstr(text, "\"off_policy\": [\n    {\"seed\": 1"));
    assert_non_null(strstr(text, "\"env_return\""));
    for (uint32_t pol = 0; pol < RECO_PIPELINE_N_POLICIES; pol++) {
        reco_ope_result r = RECO_OPE_RESULT_INIT;
        if (reco_pipeline_off_policy(&r, p, 0, pol) != RECO_OK)
            fail_msg("off-policy estimates: %s", reco_error_message());
        assert_true(r.steps > 0 && r.sessions > 0 && r.sessions <= r.steps);
        for (int e = 0; e < RECO_OPE_N_ESTIMATORS; e++)
            assert_true(isfinite(r.session[e].value) && isfinite(r.step[e].value) &&
                        r.step[e].lo <= r.step[e].value && r.step[e].value <= r.step[e].hi);
        assert_true(isfinite(r.logged_return));
    }
    reco_ope_result r = RECO_OPE_RESULT_INIT;
    assert_reco_error(reco_pipeline_off_policy(&r, p, 1, 0), RECO_EINVAL, "out of range");
    assert_reco_error(reco_pipeline_off_policy(&r, p, 0, RECO_PIPELINE_N_POLICIES),
                      RECO_EINVAL, "out of range");
    r.version = 9;
    assert_reco_error(reco_pipeline_off_policy(&r, p, 0, 0), RECO_EVERSION, "reco_ope_result");
    reco_pipeline_free(p);
    reco_config_free(cfg);
}

/* Same seed and configuration: the same numbers. */
static void test_pipeline_deterministic(void **state)
{
    (void)state;
    reco_config *cfg = config_of("");
    double ret[2][RECO_PIPELINE_N_POLICIES];
    for (int r = 0; r < 2; r++) {
        budget_src src = {.seed = 5};
        const reco_pipeline_env pe = budget_source(&src);
        reco_pipeline *p = NULL;
        assert_int_equal(run_on(&p, cfg, &pe), RECO_OK);
        for (uint32_t k = 0; k < RECO_PIPELINE_N_POLICIES; k++) {
            reco_eval_stat st;
            assert_int_equal(reco_eval_stat_get(&st, reco_pipeline_eval(p, 0, RECO_PIPELINE_REAL),
                                                k, RECO_EVAL_RETURN),
                             RECO_OK);
            ret[r][k] = st.mean;
        }
        reco_pipeline_free(p);
    }
    for (uint32_t k = 0; k < RECO_PIPELINE_N_POLICIES; k++)
        assert_true(ret[0][k] == ret[1][k]);
    reco_config_free(cfg);
}

/* Returns of the four policies in the sim and the real env, seed 0, on the budget env with
 * experiment.deterministic = `det` and RECO_FORCE_KERNEL = `force` (NULL: unset). */
static void budget_returns(double out[2][RECO_PIPELINE_N_POLICIES], int det, const char *force)
{
    reco_config *cfg = config_of("");
    assert_int_equal(reco_config_set(cfg, "experiment.deterministic", det ? "true" : "false"),
                     RECO_OK);
    if (force != NULL)
        setenv("RECO_FORCE_KERNEL", force, 1);
    else
        unsetenv("RECO_FORCE_KERNEL");
    budget_src src = {.seed = 5};
    const reco_pipeline_env pe = budget_source(&src);
    reco_pipeline *p = NULL;
    const int rc = run_on(&p, cfg, &pe);
    unsetenv("RECO_FORCE_KERNEL");
    assert_int_equal(rc, RECO_OK);
    for (int side = 0; side < 2; side++)
        for (uint32_t k = 0; k < RECO_PIPELINE_N_POLICIES; k++) {
            reco_eval_stat st;
            assert_int_equal(reco_eval_stat_get(&st, reco_pipeline_eval(p, 0, side ?
                                                     RECO_PIPELINE_REAL : RECO_PIPELINE_SIM),
                                                k, RECO_EVAL_RETURN), RECO_OK);
            out[side][k] = st.mean;
        }
    reco_pipeline_free(p);
    reco_config_free(cfg);
}

/* experiment.deterministic reaches every model of the run: with it, the run equals one whose
 * every product is forced onto the portable kernels (a model left on BLIS would differ);
 * without it, BLIS's products give other numbers (docs/determinism.md). */
static void test_pipeline_deterministic_option(void **state)
{
    (void)state;
    double det[2][RECO_PIPELINE_N_POLICIES], forced[2][RECO_PIPELINE_N_POLICIES],
        blis[2][RECO_PIPELINE_N_POLICIES];
    budget_returns(det, 1, NULL);
    budget_returns(forced, 0, "portable");
    budget_returns(blis, 0, NULL);
    int differs = 0;
    for (int side = 0; side < 2; side++)
        for (uint32_t k = 0; k < RECO_PIPELINE_N_POLICIES; k++) {
            if (det[side][k] != forced[side][k])
                fail_msg("side %d policy %u: deterministic %.17g, all products portable %.17g",
                         side, k, det[side][k], forced[side][k]);
            differs |= det[side][k] != blis[side][k];
        }
    /* the test's own sensitivity: BLIS's order of summation is not the portable one */
    assert_true(differs);
}

/* The offline-RL safeguards (sim.ensemble + sim.pessimism, qnet.conservative_alpha) on the
 * second environment: the run finishes, is a function of its seeds, and differs from the run
 * without them (RecoMind's values move; the fixed policies' do not); the pessimistic
 * ensemble and --ensemble together, and a pessimism without an ensemble, are refused at the
 * key. */
static void test_pipeline_safeguards(void **state)
{
    (void)state;
    double ret[3][RECO_PIPELINE_N_POLICIES];
    for (int r = 0; r < 3; r++) {
        reco_config *cfg = config_of("");
        if (r > 0) {
            assert_int_equal(reco_config_set(cfg, "sim.ensemble", "3"), RECO_OK);
            assert_int_equal(reco_config_set(cfg, "sim.pessimism", "1.0"), RECO_OK);
            assert_int_equal(reco_config_set(cfg, "qnet.conservative_alpha", "0.5"), RECO_OK);
        }
        budget_src src = {.seed = 5};
        const reco_pipeline_env pe = budget_source(&src);
        reco_pipeline *p = NULL;
        if (run_on(&p, cfg, &pe) != RECO_OK)
            fail_msg("run %d: %s", r, reco_error_message());
        check_result(p, 2, "budget");
        for (uint32_t k = 0; k < RECO_PIPELINE_N_POLICIES; k++) {
            reco_eval_stat st;
            assert_int_equal(reco_eval_stat_get(&st, reco_pipeline_eval(p, 0, RECO_PIPELINE_REAL),
                                                k, RECO_EVAL_RETURN),
                             RECO_OK);
            ret[r][k] = st.mean;
        }
        reco_pipeline_free(p);
        reco_config_free(cfg);
    }
    for (uint32_t k = 0; k < RECO_PIPELINE_N_POLICIES; k++)
        assert_true(ret[1][k] == ret[2][k]);
    for (uint32_t k = 0; k < 3; k++) /* random, popular, greedy-supervised */
        assert_true(ret[0][k] == ret[1][k]);
    assert_true(ret[0][3] != ret[1][3]);

    reco_config *cfg = config_of("sim: {ensemble: 2}\n");
    budget_src src = {.seed = 5};
    const reco_pipeline_env pe = budget_source(&src);
    reco_pipeline_run_options ro = RECO_PIPELINE_RUN_OPTIONS_INIT;
    ro.env = &pe;
    ro.ensemble = 2;
    reco_pipeline *p = NULL;
    assert_reco_error(reco_pipeline_run(&p, cfg, &ro), RECO_ECONFIG,
                      "pipeline-test.yaml:16:7: sim.ensemble: 2 (one pessimistic");
    assert_null(p);
    reco_config_free(cfg);
    cfg = config_of("sim: {pessimism: 0.5}\n");
    assert_reco_error(run_on(&p, cfg, &pe), RECO_ECONFIG,
                      "pipeline-test.yaml:16:7: sim.pessimism: 0.5 weighs");
    reco_config_free(cfg);
}

/* Seeds run in parallel on experiment.threads threads: the result does not depend on it. */
static void test_pipeline_threads(void **state)
{
    (void)state;
    double ret[2][2][RECO_PIPELINE_N_POLICIES];
    for (int t = 0; t < 2; t++) {
        reco_config *cfg = config_of("");
        assert_int_equal(reco_config_set(cfg, "experiment.seeds", "[1, 2]"), RECO_OK);
        assert_int_equal(reco_config_set(cfg, "experiment.threads", t ? "2" : "1"), RECO_OK);
        budget_src src = {.seed = 5};
        const reco_pipeline_env pe = budget_source(&src);
        reco_pipeline *p = NULL;
        int rc = run_on(&p, cfg, &pe);
        if (rc != RECO_OK)
            fail_msg("threads %d: %s", t + 1, reco_error_message());
        assert_int_equal(reco_pipeline_n_seeds(p), 2);
        assert_int_equal(reco_pipeline_seed(p, 1), 2);
        for (uint32_t k = 0; k < 2; k++)
            for (uint32_t i = 0; i < RECO_PIPELINE_N_POLICIES; i++) {
                reco_eval_stat st;
                assert_int_equal(reco_eval_stat_get(&st, reco_pipeline_eval(p, k,
                                                                            RECO_PIPELINE_REAL),
                                                    i, RECO_EVAL_RETURN),
                                 RECO_OK);
                ret[t][k][i] = st.mean;
            }
        /* pooled over both seeds: twice the sessions */
        assert_int_equal(reco_eval_n_sessions(reco_pipeline_eval(p, 2, RECO_PIPELINE_REAL)), 96);
        assert_int_equal(src.opened, src.closed);
        reco_pipeline_free(p);
        reco_config_free(cfg);
    }
    assert_memory_equal(ret[0], ret[1], sizeof ret[0]);
    /* and the two seeds are two different runs */
    assert_true(memcmp(ret[0][0], ret[0][1], sizeof ret[0][0]) != 0);
}

/* A configured value that disagrees with what the env declares is refused, naming both. */
static void test_pipeline_refuses_mismatch(void **state)
{
    (void)state;
    budget_src src = {.seed = 5};
    const reco_pipeline_env pe = budget_source(&src);
    reco_pipeline *p = NULL;

    reco_config *cfg = config_of("pipeline: {reward: [0.2, 3]}\n");
    assert_reco_error(run_on(&p, cfg, &pe), RECO_ECONFIG, "pipeline.reward");
    assert_non_null(strstr(reco_error_message(), "[0.2, 3] differs from the environment's "
                                                 "reward_weights = [0.2, 1]"));
    assert_non_null(strstr(reco_error_message(), "pipeline-test.yaml:"));
    assert_null(p);
    reco_config_free(cfg);

    cfg = config_of("pipeline: {candidates: 30}\n");
    assert_reco_error(run_on(&p, cfg, &pe), RECO_ECONFIG,
                      "30 differs from the environment's max_candidates = 20");
    /* the key's place once, then the reason */
    assert_non_null(strstr(reco_error_message(), "pipeline-test.yaml:16:12: pipeline.candidates: "
                                                 "30 differs"));
    reco_error_info info = RECO_ERROR_INFO_INIT;
    assert_int_equal(reco_error_get(&info), RECO_OK);
    assert_int_equal(info.line, 16);
    assert_int_equal(info.column, 12);
    assert_string_equal(info.field, "pipeline.candidates");
    reco_config_free(cfg);

    cfg = config_of("sim: {n_candidates: 500}\n");
    assert_reco_error(run_on(&p, cfg, &pe), RECO_ECONFIG,
                      "500 differs from the environment's max_candidates = 20");
    reco_config_free(cfg);

    /* with the world: its own section is the source */
    cfg = config_of("pipeline: {candidates: 40}\n");
    reco_config_reset(cfg);
    char yaml[4096];
    snprintf(yaml, sizeof yaml, "%s%spipeline: {candidates: 40}\n", common_yaml, world_yaml);
    assert_int_equal(reco_config_load_string(cfg, yaml, strlen(yaml), "w.yaml"), RECO_OK);
    assert_reco_error(run_on(&p, cfg, NULL), RECO_ECONFIG,
                      "40 differs from world.n_candidates = 50");
    reco_config_free(cfg);

    /* a derived key, and a section the run never reads */
    cfg = config_of("");
    assert_int_equal(reco_config_set(cfg, "model.n_items", "5"), RECO_OK);
    assert_reco_error(run_on(&p, cfg, &pe), RECO_ECONFIG, "model.n_items");
    assert_non_null(strstr(reco_error_message(), "derived from the environment's n_items = "
                                                 "120"));
    reco_config_free(cfg);
    cfg = config_of(world_yaml);
    assert_reco_error(run_on(&p, cfg, &pe), RECO_ECONFIG, "not read: the pipeline runs on "
                                                          "another environment");
    reco_config_free(cfg);
    /* the elapsed time needs the env's context(): refused up front, before any stage */
    budget_src nc = {.seed = 5, .no_context = 1};
    reco_pipeline_env pnc = budget_source(&nc);
    cfg = config_of("");
    assert_int_equal(reco_config_set(cfg, "model.elapsed", "true"), RECO_OK);
    assert_reco_error(run_on(&p, cfg, &pnc), RECO_ECONFIG,
                      "model.elapsed: true needs the session context, which the environment "
                      "does not give");
    assert_null(strstr(reco_error_message(), "seed ")); /* no stage ran */
    assert_int_equal(nc.opened, nc.closed);
    reco_config_free(cfg);
    /* popularity needs a prior the env has not */
    cfg = config_of("pipeline: {bootstrap: popularity}\n");
    assert_reco_error(run_on(&p, cfg, &pe), RECO_ECONFIG, "pipeline.bootstrap");
    reco_config_free(cfg);
    assert_null(p);
}

/* reco_pipeline_keys() lists them all, with where the values come from. */
static void test_pipeline_keys(void **state)
{
    (void)state;
    budget_src src = {.seed = 5};
    const reco_pipeline_env pe = budget_source(&src);
    reco_pipeline_run_options ro = RECO_PIPELINE_RUN_OPTIONS_INIT;
    ro.env = &pe;
    reco_config *cfg = config_of("pipeline: {candidates: 30}\n");
    assert_int_equal(reco_config_set(cfg, "model.n_items", "5"), RECO_OK);
    uint32_t n = 0, refused = 0;
    assert_int_equal(reco_pipeline_keys(NULL, 0, &n, &refused, cfg, &ro), RECO_OK);
    assert_int_equal(refused, 2);
    reco_pipeline_key *keys = calloc(n, sizeof *keys);
    assert_non_null(keys);
    uint32_t n2 = 0;
    assert_int_equal(reco_pipeline_keys(keys, n, &n2, NULL, cfg, &ro), RECO_OK);
    assert_int_equal(n2, n);
    int seen = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(keys[i].path, "model.n_items") == 0) {
            assert_true(keys[i].refused);
            assert_int_equal(keys[i].origin.kind, RECO_CONFIG_ORIGIN_SET);
            seen++;
        }
        if (strcmp(keys[i].path, "pipeline.candidates") == 0) {
            assert_true(keys[i].refused);
            assert_int_equal(keys[i].origin.kind, RECO_CONFIG_ORIGIN_FILE);
            assert_int_equal(keys[i].origin.line, 16);
            seen++;
        }
        if (strcmp(keys[i].path, "pipeline.reward") == 0) {
            assert_false(keys[i].refused);
            assert_non_null(strstr(keys[i].why, "[0.2, 1]"));
            seen++;
        }
    }
    assert_int_equal(seen, 3);
    free(keys);
    assert_int_equal(src.opened, src.closed);
    reco_config_free(cfg);
}

/* An environment's own failure reaches the caller with its message. */
static void test_pipeline_env_errors(void **state)
{
    (void)state;
    reco_config *cfg = config_of("");
    reco_pipeline *p = NULL;
    budget_src src = {.seed = 5, .fail_open = 1};
    reco_pipeline_env pe = budget_source(&src);
    assert_reco_error(run_on(&p, cfg, &pe), RECO_EIO, "budget: catalog file missing");
    assert_null(p);

    budget_src src2 = {.seed = 5, .fail_at_step = 40};
    pe = budget_source(&src2);
    assert_reco_error(run_on(&p, cfg, &pe), RECO_EIO, "budget: the session store went away");
    assert_non_null(strstr(reco_error_message(), "seed 1: bootstrap logs: budget: "));
    assert_null(p);
    assert_int_equal(src2.opened, src2.closed);

    /* bad run options */
    pe = budget_source(&src);
    pe.name = "Budget Env";
    assert_reco_error(run_on(&p, cfg, &pe), RECO_EINVAL, "\"Budget Env\"");
    pe = budget_source(&src);
    pe.open = NULL;
    assert_reco_error(run_on(&p, cfg, &pe), RECO_EINVAL, "open is NULL");
    reco_pipeline_run_options ro = RECO_PIPELINE_RUN_OPTIONS_INIT;
    ro.without = RECO_PIPELINE_WITHOUT_USER;
    assert_reco_error(reco_pipeline_run(&p, cfg, &ro), RECO_EINVAL, "goes with fit_only");
    ro.without = 1u << 6;
    assert_reco_error(reco_pipeline_run(&p, cfg, &ro), RECO_EINVAL, "unknown bits 0x40");
    ro = (reco_pipeline_run_options)RECO_PIPELINE_RUN_OPTIONS_INIT;
    ro.ensemble = 9;
    assert_reco_error(reco_pipeline_run(&p, cfg, &ro), RECO_EINVAL, "ensemble 9");
    ro = (reco_pipeline_run_options)RECO_PIPELINE_RUN_OPTIONS_INIT;
    ro.version = 99;
    assert_reco_error(reco_pipeline_run(&p, cfg, &ro), RECO_EVERSION, "reco_pipeline_run_options");
    assert_reco_error(reco_pipeline_run(NULL, cfg, NULL), RECO_EINVAL, "reco_pipeline_run");
    reco_config_free(cfg);
}

static void test_pipeline_options(void **state)
{
    (void)state;
    reco_pipeline_options o;
    assert_int_equal(reco_pipeline_options_init(&o, RECO_PIPELINE_OPTIONS_VERSION), RECO_OK);
    const reco_pipeline_options m = RECO_PIPELINE_OPTIONS_INIT;
    assert_int_equal(o.version, m.version);
    assert_int_equal(o.candidates, m.candidates);
    assert_int_equal(o.lookback, m.lookback);
    assert_int_equal(o.session_cap, m.session_cap);
    assert_int_equal(o.n_reward, 0);
    assert_int_equal(o.eval_users, m.eval_users);
    assert_int_equal(o.bootstrap, m.bootstrap);
    assert_float_equal(o.heldout_share, m.heldout_share, 0.0);
    assert_int_equal(o.select_snapshot, RECO_PIPELINE_SELECT_LAST);
    assert_int_equal(o.early_stop_patience, 0);
    assert_int_equal(m.select_snapshot, o.select_snapshot);
    assert_int_equal(m.early_stop_patience, o.early_stop_patience);
    assert_reco_error(reco_pipeline_options_init(&o, 3), RECO_EVERSION, "");
    reco_pipeline_run_options r;
    assert_int_equal(reco_pipeline_run_options_init(&r, RECO_PIPELINE_RUN_OPTIONS_VERSION),
                     RECO_OK);
    const reco_pipeline_run_options rm = RECO_PIPELINE_RUN_OPTIONS_INIT;
    assert_int_equal(r.version, rm.version);
    assert_null(r.env);
    assert_null(r.log);
    assert_int_equal(r.ensemble, rm.ensemble);
    assert_int_equal(r.ensemble, 1);
    assert_int_equal(r.random_init, 0);
    reco_pipeline_log_options lo;
    const reco_pipeline_log_options lm = RECO_PIPELINE_LOG_OPTIONS_INIT;
    assert_int_equal(reco_pipeline_log_options_init(&lo, RECO_PIPELINE_LOG_OPTIONS_VERSION),
                     RECO_OK);
    assert_true(lo.version == lm.version && lo.interactions == lm.interactions &&
                lo.interactions_per_user == lm.interactions_per_user &&
                lo.first_user == lm.first_user && lo.candidates == lm.candidates &&
                lo.session_cap == lm.session_cap && lo.seed == lm.seed &&
                lo.propensity == lm.propensity && lo.oracle == lm.oracle);
    assert_true(lo.interactions == 10000 && lo.interactions_per_user == 100 && lo.seed == 1 &&
                lo.propensity == 1 && lo.oracle == 1 && lo.candidates == 0);
    assert_reco_error(reco_pipeline_log_options_init(&lo, 0), RECO_EVERSION,
                      "reco_pipeline_log_options");
    assert_reco_error(reco_pipeline_log_options_init(NULL, 1), RECO_EINVAL, "opts is NULL");
    /* the section round-trips through a configuration, and bad values are refused */
    reco_config *cfg = NULL;
    assert_int_equal(reco_config_create(&cfg, NULL), RECO_OK);
    o.candidates = 20;
    o.n_reward = 2;
    o.reward[0] = 0.2;
    o.reward[1] = 1.0;
    o.bootstrap = RECO_PIPELINE_BOOTSTRAP_UNIFORM;
    assert_int_equal(reco_config_set_pipeline(cfg, &o), RECO_OK);
    reco_pipeline_options back = RECO_PIPELINE_OPTIONS_INIT;
    assert_int_equal(reco_config_get_pipeline(&back, cfg), RECO_OK);
    assert_int_equal(back.candidates, 20);
    assert_int_equal(back.n_reward, 2);
    assert_int_equal(back.bootstrap, RECO_PIPELINE_BOOTSTRAP_UNIFORM);
    const char bad[] = "pipeline:\n  bootstrap: sometimes\n";
    assert_reco_error(reco_config_load_string(cfg, bad, strlen(bad), "b.yaml"), RECO_ECONFIG,
                      "b.yaml:2:");
    assert_non_null(strstr(reco_error_message(), "pipeline.bootstrap"));
    o.heldout_share = 2.0;
    assert_reco_error(reco_config_set_pipeline(cfg, &o), RECO_ECONFIG,
                      "pipeline.heldout_share");
    reco_config_free(cfg);
}

/* Reads a whole file written by the library. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char text[1 << 21];
    const size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    fclose(f);
    return text;
}

/* The number after `"key": ` following each of the needles in turn, from `from`. */
static double json_after(const char *from, const char *const *needles, int n)
{
    const char *q = from;
    for (int i = 0; i < n; i++) {
        q = strstr(q, needles[i]);
        if (q == NULL)
            fail_msg("results.json lacks %s (needle %d)", needles[i], i);
        q += strlen(needles[i]);
    }
    if (strncmp(q, "null", 4) == 0)
        return NAN;
    return strtod(q, NULL);
}

/* The two-sided t quantile against a printed table (95%: 12.706, 4.303, 2.262; 90% df 4:
 * 2.132; 99% df 9: 3.250). */
static void test_pipeline_t_quantile(void **state)
{
    (void)state;
    assert_float_equal(reco_pipeline_t_quantile(0.95, 1), 12.706, 1e-3);
    assert_float_equal(reco_pipeline_t_quantile(0.95, 2), 4.303, 1e-3);
    assert_float_equal(reco_pipeline_t_quantile(0.95, 9), 2.262, 1e-3);
    assert_float_equal(reco_pipeline_t_quantile(0.90, 4), 2.132, 1e-3);
    assert_float_equal(reco_pipeline_t_quantile(0.99, 9), 3.250, 1e-3);
    /* many degrees of freedom: the normal quantile */
    assert_float_equal(reco_pipeline_t_quantile(0.95, 100000), 1.95996, 1e-4);
    assert_true(isnan(reco_pipeline_t_quantile(0.95, 0)));
    assert_true(isnan(reco_pipeline_t_quantile(1.0, 3)));
}

/* The control (warm-start) and the intervals over seeds, against a hand computation from the
 * per-seed values the result exposes; results.json holds them. */
static void test_pipeline_control_over_seeds(void **state)
{
    (void)state;
    reco_config *cfg = config_of("");
    assert_int_equal(reco_config_set(cfg, "experiment.seeds", "[1, 2, 3]"), RECO_OK);
    budget_src src = {.seed = 5};
    const reco_pipeline_env pe = budget_source(&src);
    reco_pipeline *p = NULL;
    int rc = run_on(&p, cfg, &pe);
    if (rc != RECO_OK)
        fail_msg("budget run: %s", reco_error_message());
    const uint32_t n = reco_pipeline_n_seeds(p);
    assert_int_equal(n, 3);
    uint32_t watch;
    assert_int_equal(reco_eval_metric_index(&watch, reco_pipeline_eval(p, 0, RECO_PIPELINE_REAL),
                                            "watch"),
                     RECO_OK);
    const uint32_t metrics[2] = {RECO_EVAL_RETURN, watch};
    const double t2 = 4.303; /* t table, 95%, 2 degrees of freedom */
    for (int side = 0; side < 2; side++)
        for (int mi = 0; mi < 2; mi++) {
            const uint32_t m = metrics[mi];
            double lift[3], ctrl[3], mean[3], s = 0.0, sc = 0.0, sm = 0.0;
            for (uint32_t k = 0; k < n; k++) {
                const reco_eval *ev = reco_pipeline_eval(p, k, (reco_pipeline_side)side);
                assert_string_equal(reco_eval_policy_name(ev, RECO_PIPELINE_WARM_START),
                                    "warm-start");
                reco_eval_stat r, st;
                assert_int_equal(reco_eval_lift(&r, NULL, ev, RECO_PIPELINE_RECOMIND,
                                                RECO_PIPELINE_BASELINE, (reco_eval_metric)m),
                                 RECO_OK);
                lift[k] = r.mean;
                assert_int_equal(reco_eval_lift(&r, NULL, ev, RECO_PIPELINE_RECOMIND,
                                                RECO_PIPELINE_WARM_START, (reco_eval_metric)m),
                                 RECO_OK);
                ctrl[k] = r.mean;
                assert_int_equal(reco_eval_stat_get(&st, ev, RECO_PIPELINE_WARM_START,
                                                    (reco_eval_metric)m),
                                 RECO_OK);
                mean[k] = st.mean;
                s += lift[k];
                sc += ctrl[k];
                sm += mean[k];
            }
            const double want[3] = {s / 3, sc / 3, sm / 3};
            const double *xs[3] = {lift, ctrl, mean};
            reco_eval_stat got[3];
            assert_int_equal(reco_pipeline_lift_over_seeds(&got[0], NULL, p,
                                                           (reco_pipeline_side)side,
                                                           RECO_PIPELINE_RECOMIND,
                                                           RECO_PIPELINE_BASELINE, m),
                             RECO_OK);
            assert_int_equal(reco_pipeline_lift_over_seeds(&got[1], NULL, p,
                                                           (reco_pipeline_side)side,
                                                           RECO_PIPELINE_RECOMIND,
                                                           RECO_PIPELINE_WARM_START, m),
                             RECO_OK);
            assert_int_equal(reco_pipeline_stat_over_seeds(&got[2], p, (reco_pipeline_side)side,
                                                           RECO_PIPELINE_WARM_START, m),
                             RECO_OK);
            for (int i = 0; i < 3; i++) {
                double ss = 0.0;
                for (int k = 0; k < 3; k++)
                    ss += (xs[i][k] - want[i]) * (xs[i][k] - want[i]);
                const double half = t2 * sqrt(ss / 2.0 / 3.0);
                assert_int_equal(got[i].n, 3);
                assert_float_equal(got[i].mean, want[i], 1e-12);
                assert_float_equal(got[i].lo, want[i] - half, 1e-3 * half + 1e-12);
                assert_float_equal(got[i].hi, want[i] + half, 1e-3 * half + 1e-12);
            }
        }
    /* results.json: the control lifts in every entry, and an entry over seeds per side whose
     * numbers are the ones above */
    char path[] = "/tmp/reco_pipeline_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(reco_pipeline_write_json(p, path), RECO_OK);
    const char *text = slurp(path);
    remove(path);
    const char *names[] = {"\"sim (seed 1)\"", "\"budget (seed 2)\"", "\"budget (pooled)\"",
                           "\"sim (over seeds)\"", "\"budget (over seeds)\""};
    for (int i = 0; i < 5; i++) {
        const char *e = strstr(text, names[i]);
        if (e == NULL)
            fail_msg("results.json lacks %s", names[i]);
        const char *next = strstr(e + strlen(names[i]), "(seed ");
        const char *c = strstr(e, "\"control_lifts\": {\n        \"recomind\"");
        if (c == NULL || (next != NULL && c > next && i < 3))
            fail_msg("%s has no control lifts", names[i]);
    }
    assert_non_null(strstr(text, "\"control\": \"warm-start\""));
    assert_non_null(strstr(text, "\"interval\": \"t over seeds\""));
    assert_non_null(strstr(text, "\"kept_updates\": 120"));
    reco_eval_stat rel, ctl, ws;
    reco_pipeline_lift_over_seeds(&rel, NULL, p, RECO_PIPELINE_REAL, RECO_PIPELINE_RECOMIND,
                                  RECO_PIPELINE_BASELINE, RECO_EVAL_RETURN);
    reco_pipeline_lift_over_seeds(&ctl, NULL, p, RECO_PIPELINE_REAL, RECO_PIPELINE_RECOMIND,
                                  RECO_PIPELINE_WARM_START, RECO_EVAL_RETURN);
    reco_pipeline_stat_over_seeds(&ws, p, RECO_PIPELINE_REAL, RECO_PIPELINE_WARM_START,
                                  RECO_EVAL_RETURN);
    const char *over = strstr(text, "\"budget (over seeds)\"");
    const char *n1[] = {"\"lifts\"", "\"recomind\"", "\"return\"", "\"relative\": {\"mean\": "};
    assert_true(json_after(over, n1, 4) == rel.mean);
    const char *n2[] = {"\"lifts\"", "\"recomind\"", "\"return\"", "\"hi\": "};
    assert_true(json_after(over, n2, 4) == rel.hi);
    const char *n3[] = {"\"control_lifts\"", "\"recomind\"", "\"return\"",
                        "\"relative\": {\"mean\": "};
    assert_true(json_after(over, n3, 4) == ctl.mean);
    const char *n4[] = {"\"policies\"", "\"warm-start\"", "\"return\": {\"mean\": "};
    assert_true(json_after(over, n4, 3) == ws.mean);
    /* a seed's control lifts are reco_eval_lift over warm-start */
    reco_eval_lift(&rel, NULL, reco_pipeline_eval(p, 1, RECO_PIPELINE_REAL),
                   RECO_PIPELINE_RECOMIND, RECO_PIPELINE_WARM_START, RECO_EVAL_RETURN);
    const char *n5[] = {"\"budget (seed 2)\"", "\"control_lifts\"", "\"recomind\"",
                        "\"return\"", "\"relative\": {\"mean\": "};
    assert_true(json_after(text, n5, 5) == rel.mean);
    /* bad arguments */
    assert_reco_error(reco_pipeline_lift_over_seeds(&rel, NULL, p, RECO_PIPELINE_REAL, 5, 2,
                                                    RECO_EVAL_RETURN),
                      RECO_EINVAL, "policy 5 or baseline 2 is not below 5");
    assert_reco_error(reco_pipeline_lift_over_seeds(&rel, NULL, p, (reco_pipeline_side)2, 3, 2,
                                                    RECO_EVAL_RETURN),
                      RECO_EINVAL, "side 2 is not a side");
    assert_reco_error(reco_pipeline_stat_over_seeds(&rel, p, RECO_PIPELINE_SIM, 3, 999),
                      RECO_EINVAL, "unknown metric 999");
    assert_reco_error(reco_pipeline_stat_over_seeds(NULL, p, RECO_PIPELINE_SIM, 3, 0),
                      RECO_EINVAL, "out is NULL");
    assert_reco_error(reco_pipeline_lift_over_seeds(&rel, NULL, NULL, RECO_PIPELINE_SIM, 3, 2,
                                                    0),
                      RECO_EINVAL, "NULL result");
    reco_pipeline_free(p);

    /* one seed: the seed's lift, no interval (null in results.json) */
    assert_int_equal(reco_config_set(cfg, "experiment.seeds", "[2]"), RECO_OK);
    assert_int_equal(run_on(&p, cfg, &pe), RECO_OK);
    reco_pipeline_lift_over_seeds(&rel, NULL, p, RECO_PIPELINE_REAL, RECO_PIPELINE_RECOMIND,
                                  RECO_PIPELINE_WARM_START, RECO_EVAL_RETURN);
    reco_eval_stat one;
    reco_eval_lift(&one, NULL, reco_pipeline_eval(p, 0, RECO_PIPELINE_REAL),
                   RECO_PIPELINE_RECOMIND, RECO_PIPELINE_WARM_START, RECO_EVAL_RETURN);
    assert_true(rel.mean == one.mean);
    assert_true(isnan(rel.lo) && isnan(rel.hi));
    assert_int_equal(rel.n, 1);
    snprintf(path, sizeof path, "/tmp/reco_pipeline_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(reco_pipeline_write_json(p, path), RECO_OK);
    text = slurp(path);
    remove(path);
    over = strstr(text, "\"budget (over seeds)\"");
    assert_non_null(over);
    const char *n6[] = {"\"control_lifts\"", "\"recomind\"", "\"return\"", "\"lo\": "};
    assert_true(isnan(json_after(over, n6, 4)));
    assert_non_null(strstr(over, "\"seeds\": 1"));
    reco_pipeline_free(p);
    reco_config_free(cfg);
}

/* warm-start is the network before training: its sessions do not change when training is
 * longer, RecoMind's do. */
static void test_pipeline_warm_start_is_untrained(void **state)
{
    (void)state;
    double v[2][2][RECO_EVAL_N_METRICS];
    for (int r = 0; r < 2; r++) {
        reco_config *cfg = config_of("");
        assert_int_equal(reco_config_set(cfg, "trainer.total_updates", r ? "240" : "120"),
                         RECO_OK);
        budget_src src = {.seed = 5};
        const reco_pipeline_env pe = budget_source(&src);
        reco_pipeline *p = NULL;
        assert_int_equal(run_on(&p, cfg, &pe), RECO_OK);
        const reco_eval *ev = reco_pipeline_eval(p, 0, RECO_PIPELINE_REAL);
        double sum[2][RECO_EVAL_N_METRICS] = {{0}};
        for (uint32_t i = 0; i < reco_eval_n_sessions(ev); i++)
            for (int w = 0; w < 2; w++) {
                double row[RECO_EVAL_N_METRICS];
                assert_int_equal(reco_eval_session(row, ev, w ? RECO_PIPELINE_WARM_START
                                                              : RECO_PIPELINE_RECOMIND, i),
                                 RECO_OK);
                for (int m = 0; m < RECO_EVAL_N_METRICS; m++)
                    sum[w][m] += isnan(row[m]) ? 0.0 : row[m] * (i + 1);
            }
        memcpy(v[r], sum, sizeof sum);
        reco_pipeline_free(p);
        reco_config_free(cfg);
    }
    assert_memory_equal(v[0][1], v[1][1], sizeof v[0][1]);        /* warm-start: the same */
    assert_true(memcmp(v[0][0], v[1][0], sizeof v[0][0]) != 0);  /* RecoMind: trained more */
}

/* pipeline.select_snapshot and pipeline.early_stop_patience: training stops where the
 * held-out criterion says, the kept snapshot is the held-out simulator's best. */
static void test_pipeline_select_early_stop(void **state)
{
    (void)state;
    reco_config *cfg = config_of("pipeline: {select_snapshot: heldout, early_stop_patience: 2}\n");
    assert_int_equal(reco_config_set(cfg, "trainer.total_updates", "1200"), RECO_OK);
    budget_src src = {.seed = 5};
    const reco_pipeline_env pe = budget_source(&src);
    reco_pipeline *p = NULL;
    int rc = run_on(&p, cfg, &pe);
    if (rc != RECO_OK)
        fail_msg("budget run: %s", reco_error_message());
    reco_pipeline_point pts[32];
    double h[32];
    const uint32_t np = reco_pipeline_curve(pts, 32, p, 0);
    assert_int_equal(reco_pipeline_heldout_curve(h, 32, p, 0), np);
    /* the rule by hand: stop at the measurement that makes `patience` in a row without a new
     * best; keep the best */
    double best = h[0];
    uint32_t since = 0, stop_at = np - 1;
    uint64_t best_updates = 0;
    for (uint32_t i = 1; i < np; i++) {
        assert_true(isfinite(h[i]));
        if (h[i] > best) {
            best = h[i];
            best_updates = pts[i].updates;
            since = 0;
        } else if (++since >= 2) {
            stop_at = i;
            break;
        }
    }
    assert_int_equal(stop_at, np - 1); /* no point after the stop */
    uint64_t trained = 0, kept = 0;
    assert_int_equal(reco_pipeline_training(&trained, &kept, p, 0), RECO_OK);
    assert_int_equal(trained, pts[np - 1].updates);
    assert_true(trained < 1200); /* it did stop early */
    assert_int_equal(kept, best_updates);
    reco_pipeline_free(p);

    /* without early stopping: all the updates, the last snapshot, no held-out curve */
    reco_config_free(cfg);
    cfg = config_of("");
    assert_int_equal(reco_config_set(cfg, "trainer.total_updates", "1200"), RECO_OK);
    assert_int_equal(run_on(&p, cfg, &pe), RECO_OK);
    assert_int_equal(reco_pipeline_training(&trained, &kept, p, 0), RECO_OK);
    assert_int_equal(trained, 1200);
    assert_int_equal(kept, 1200);
    assert_int_equal(reco_pipeline_heldout_curve(h, 32, p, 0), 21);
    assert_true(isnan(h[0]) && isnan(h[20]));
    assert_reco_error(reco_pipeline_training(&trained, &kept, p, 1), RECO_EINVAL,
                      "seed index 1 out of range");
    reco_pipeline_free(p);
    reco_config_free(cfg);

    /* bad values, with the key's place */
    cfg = NULL;
    assert_int_equal(reco_config_create(&cfg, NULL), RECO_OK);
    const char bad[] = "pipeline:\n  select_snapshot: best\n";
    assert_reco_error(reco_config_load_string(cfg, bad, strlen(bad), "s.yaml"), RECO_ECONFIG,
                      "s.yaml:2:");
    assert_non_null(strstr(reco_error_message(), "pipeline.select_snapshot"));
    const char bad2[] = "pipeline:\n  early_stop_patience: -1\n";
    assert_reco_error(reco_config_load_string(cfg, bad2, strlen(bad2), "e.yaml"), RECO_ECONFIG,
                      "e.yaml:2:");
    assert_non_null(strstr(reco_error_message(), "pipeline.early_stop_patience"));
    reco_config_free(cfg);

    /* refused on logs alone, where the held-out simulator is the evaluation */
    reco_env env;
    budget_env be;
    budget_env_init(&env, &be, 8, 0, 5);
    reco_log *log = NULL;
    reco_log_policy lp = RECO_LOG_POLICY_INIT;
    reco_pipeline_log_options lo = RECO_PIPELINE_LOG_OPTIONS_INIT;
    lo.interactions = 600;
    lo.interactions_per_user = 30;
    assert_int_equal(reco_pipeline_logs(&log, &env, &lp, &lo), RECO_OK);
    reco_pipeline_run_options ro = RECO_PIPELINE_RUN_OPTIONS_INIT;
    ro.log = log;
    cfg = NULL;
    assert_int_equal(reco_config_create(&cfg, NULL), RECO_OK);
    const char logs_yaml[] = "pipeline:\n  reward: [0.2, 1]\n  candidates: 20\n"
                             "  select_snapshot: heldout\n  early_stop_patience: 3\n";
    assert_int_equal(reco_config_load_string(cfg, logs_yaml, strlen(logs_yaml), "l.yaml"),
                     RECO_OK);
    assert_reco_error(reco_pipeline_run(&p, cfg, &ro), RECO_ECONFIG,
                      "l.yaml:4:3: pipeline.select_snapshot: heldout does not apply to a run "
                      "on logs");
    assert_null(p);
    assert_int_equal(reco_config_set(cfg, "pipeline.select_snapshot", "last"), RECO_OK);
    assert_reco_error(reco_pipeline_run(&p, cfg, &ro), RECO_ECONFIG,
                      "l.yaml:5:3: pipeline.early_stop_patience: 3 does not apply");
    reco_config_free(cfg);
    reco_log_free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline_options),
        cmocka_unit_test(test_pipeline_world),
        cmocka_unit_test(test_pipeline_second_env),
        cmocka_unit_test(test_pipeline_deterministic),
        cmocka_unit_test(test_pipeline_deterministic_option),
        cmocka_unit_test(test_pipeline_threads),
        cmocka_unit_test(test_pipeline_safeguards),
        cmocka_unit_test(test_pipeline_refuses_mismatch),
        cmocka_unit_test(test_pipeline_keys),
        cmocka_unit_test(test_pipeline_env_errors),
        cmocka_unit_test(test_pipeline_t_quantile),
        cmocka_unit_test(test_pipeline_control_over_seeds),
        cmocka_unit_test(test_pipeline_warm_start_is_untrained),
        cmocka_unit_test(test_pipeline_select_early_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
