/* reco_trainer: determinism in lock-step, replay ratio, policy lag, metrics CSV, a learning
 * signal, the divergence stop, two generator threads, bad options.
 * Internal test: the simulator's feedback model has zero head weights, so each head's logit
 * is the item's bias, chosen by the test (as in test_sim.c). */
#include <math.h>
#include <unistd.h>

#include "test_common.h"
#include "model_private.h"

enum { NI = 40, LB = 4, NSIG = 4, BEST = 7, MAXB = 32 };

/* Feedback model: click probability .98 for item BEST and .02 for the others; the other
 * signals never fire; exit probability .1 everywhere. */
static reco_model *feedback_model(void)
{
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = NI;
    o.dim = 8;
    o.lookback = LB;
    o.n_heads = 2;
    o.ffn_dim = 8;
    o.n_signals = NSIG;
    o.max_batch = MAXB;
    o.max_candidates = NI;
    reco_model *m = NULL;
    assert_int_equal(reco_model_create(&m, &o), RECO_OK);
    memset(m->params + m->lay.head_w, 0, m->d * m->H * m->d * sizeof(float));
    for (size_t i = 0; i < NI; i++)
        for (size_t h = 0; h < m->H; h++) {
            float p = 1e-4f;
            if (h == 0)
                p = i == BEST ? 0.98f : 0.02f;
            if (h == NSIG)
                p = 0.1f;
            m->params[m->lay.item_bias + i * m->H + h] = logf(p / (1.0f - p));
        }
    return m;
}

typedef struct fixture {
    reco_model *fb;
    reco_sim *sims[2];
    reco_qnet *q;
    reco_replay *rb;
} fixture;

static int make_env(reco_env *out, uint32_t g, void *payload)
{
    fixture *f = payload;
    return reco_sim_env(out, f->sims[g]);
}

static void fixture_init(fixture *f, float lr, float gamma)
{
    memset(f, 0, sizeof *f);
    f->fb = feedback_model();
    reco_sim_options so = RECO_SIM_OPTIONS_INIT;
    so.max_sessions = 16;
    so.max_session_len = 20;
    so.n_candidates = 10;
    for (int k = 0; k < RECO_SIM_MAX_SIGNALS; k++)
        so.reward[k] = 0.0f;
    so.reward[0] = 1.0f; /* reward = click */
    for (uint32_t g = 0; g < 2; g++) {
        so.seed = 11 + g;
        assert_int_equal(reco_sim_create(&f->sims[g], f->fb, &so), RECO_OK);
    }
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    assert_int_equal(reco_model_get_options(&mo, f->fb), RECO_OK);
    mo.seed = 5;
    mo.lr = lr;
    reco_qnet_options qo = RECO_QNET_OPTIONS_INIT;
    qo.model = &mo;
    qo.gamma = gamma;
    qo.target_period = 50;
    qo.max_abs_q = 100.0f;
    assert_int_equal(reco_qnet_create(&f->q, &qo), RECO_OK);
    reco_replay_options ro = RECO_REPLAY_OPTIONS_INIT;
    ro.capacity = 4096;
    ro.lookback = LB;
    ro.seed = 3;
    assert_int_equal(reco_replay_create(&f->rb, &ro), RECO_OK);
}

static void fixture_free(fixture *f)
{
    reco_replay_free(f->rb);
    reco_qnet_free(f->q);
    reco_sim_free(f->sims[0]);
    reco_sim_free(f->sims[1]);
    reco_model_free(f->fb);
}

static reco_trainer_options base_options(void)
{
    reco_trainer_options o = RECO_TRAINER_OPTIONS_INIT;
    o.n_generators = 1;
    o.sessions_per_generator = 8;
    o.segment_len = 8;
    o.replay_ratio = 0.5;
    o.warmup = 100;
    o.batch_size = 16;
    o.n_candidates = 20;
    o.snapshot_period = 1;
    o.max_staleness = 0;
    o.total_updates = 150;
    o.n_users = 500;
    o.seed = 9;
    o.metrics_interval = 50;
    return o;
}

static reco_explorer_options explorer_options(void)
{
    reco_explorer_options e = RECO_EXPLORER_OPTIONS_INIT;
    e.rule = RECO_EXPLORER_EPSILON_GREEDY;
    e.epsilon.start = e.epsilon.end = 0.5;
    e.max_candidates = NI;
    e.seed = 4;
    return e;
}

static int run_once(reco_trainer_report *rep, fixture *f, const reco_trainer_options *o)
{
    const reco_explorer_options e = explorer_options();
    reco_trainer *t = NULL;
    int rc = reco_trainer_create(&t, f->q, f->rb, &e, make_env, f, o);
    if (rc != RECO_OK)
        fail_msg("reco_trainer_create: %s", reco_error_message());
    rc = reco_trainer_run(rep, t);
    reco_trainer_free(t);
    return rc;
}

static void test_trainer_deterministic(void **state)
{
    (void)state;
    reco_trainer_report r[2];
    float *params[2];
    size_t np = 0;
    for (int k = 0; k < 2; k++) {
        fixture f;
        fixture_init(&f, 1e-2f, 0.5f);
        const reco_trainer_options o = base_options();
        r[k] = (reco_trainer_report)RECO_TRAINER_REPORT_INIT;
        if (run_once(&r[k], &f, &o) != RECO_OK)
            fail_msg("run: %s", reco_error_message());
        const reco_model *on = reco_qnet_online(f.q);
        np = reco_model_n_params(on);
        params[k] = malloc(np * sizeof(float));
        memcpy(params[k], on->params, np * sizeof(float));
        fixture_free(&f);
    }
    assert_int_equal(r[0].updates, 150);
    assert_int_equal(r[0].updates, r[1].updates);
    assert_int_equal(r[0].transitions, r[1].transitions);
    assert_int_equal(r[0].sessions, r[1].sessions);
    assert_true(r[0].last.loss == r[1].last.loss);
    assert_true(r[0].last.mean_q == r[1].last.mean_q);
    assert_true(r[0].last.mean_abs_td == r[1].last.mean_abs_td);
    assert_true(r[0].last.sim_return == r[1].last.sim_return);
    assert_true(r[0].max_policy_lag == 0.0);
    assert_true(r[0].last.policy_lag == 0.0);
    assert_memory_equal(params[0], params[1], np * sizeof(float));
    free(params[0]);
    free(params[1]);
}

static void test_trainer_ratio_lag_csv(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "/tmp/reco_trainer_%ld.csv", (long)getpid());
    fixture f;
    fixture_init(&f, 1e-2f, 0.5f);
    reco_trainer_options o = base_options();
    o.max_staleness = 4;
    o.snapshot_period = 2;
    o.total_updates = 200;
    o.metrics_csv = path;
    reco_trainer_report r = RECO_TRAINER_REPORT_INIT;
    if (run_once(&r, &f, &o) != RECO_OK)
        fail_msg("run: %s", reco_error_message());
    assert_int_equal(r.updates, 200);
    /* updates <= (T - warmup) ratio, and the generator stays within a small backlog */
    assert_true(r.transitions >= 100 + 400);
    assert_true(r.transitions <= 100 + 400 + 10 + 8 * 8 + 8);
    assert_true(r.max_policy_lag <= 4.0);
    assert_true(r.last.policy_lag <= 4.0);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char line[512];
    assert_non_null(fgets(line, sizeof line, fp));
    assert_string_equal(line, "updates,transitions,loss,mean_q,mean_abs_td,sim_return,"
                              "policy_lag,transitions_per_s,updates_per_s\n");
    int rows = 0;
    unsigned long long last_updates = 0;
    while (fgets(line, sizeof line, fp) != NULL) {
        rows++;
        assert_int_equal(sscanf(line, "%llu,", &last_updates), 1);
        double lag = 0;
        int commas = 0;
        const char *p = line;
        while (commas < 6 && (p = strchr(p, ',')) != NULL) {
            p++;
            commas++;
        }
        assert_non_null(p);
        lag = atof(p);
        assert_true(lag <= 4.0);
    }
    fclose(fp);
    unlink(path);
    assert_int_equal(rows, 4); /* at 50, 100, 150 and the last at 200 */
    assert_int_equal(last_updates, 200);
    fixture_free(&f);
}

/* Scores all items for a few states with the online Q head. */
static void assert_best_first(const reco_qnet *q)
{
    const reco_model *m = reco_qnet_online(q);
    int32_t items[4 * LB];
    uint32_t fb[4 * LB];
    for (int b = 0; b < 4; b++)
        for (int l = 0; l < LB; l++) {
            items[b * LB + l] = l < b ? RECO_PAD : (int32_t)((b * 5 + l * 3) % NI);
            fb[b * LB + l] = (uint32_t)(l & 1);
        }
    int32_t cand[NI];
    for (int i = 0; i < NI; i++)
        cand[i] = i;
    reco_batch b = RECO_BATCH_INIT;
    b.size = 4;
    b.items = items;
    b.feedback = fb;
    b.n_candidates = NI;
    b.candidates = cand;
    b.shared_candidates = 1;
    float s[4 * NI];
    const uint32_t head = reco_qnet_q_head(q);
    assert_int_equal(reco_model_score(s, m, NULL, &b, &head, 1), RECO_OK);
    for (int r = 0; r < 4; r++)
        for (int i = 0; i < NI; i++)
            if (i != BEST && !(s[r * NI + BEST] > s[r * NI + i]))
                fail_msg("state %d: Q(best) %g <= Q(%d) %g", r, s[r * NI + BEST], i,
                         s[r * NI + i]);
}

static void test_trainer_learns(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 1e-2f, 0.5f);
    reco_trainer_options o = base_options();
    o.total_updates = 600;
    o.n_candidates = NI;
    o.replay_ratio = 1.0;
    reco_trainer_report r = RECO_TRAINER_REPORT_INIT;
    if (run_once(&r, &f, &o) != RECO_OK)
        fail_msg("run: %s", reco_error_message());
    assert_int_equal(r.updates, 600);
    assert_best_first(f.q);
    fixture_free(&f);
}

static void test_trainer_divergence(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 10.0f, 0.99f);
    reco_model *on = (reco_model *)reco_qnet_online(f.q);
    assert_int_equal(reco_model_set_param(on, RECO_MODEL_PARAM_CLIP_NORM, 0.0), RECO_OK);
    reco_trainer_options o = base_options();
    o.total_updates = 2000;
    reco_trainer_report r = RECO_TRAINER_REPORT_INIT;
    assert_reco_error(run_once(&r, &f, &o), RECO_ESTATE, "diverged:");
    assert_true(r.updates < 2000);
    const size_t np = reco_model_n_params(on);
    for (size_t i = 0; i < np; i++)
        assert_true(isfinite(on->params[i]));
    fixture_free(&f);
}

static void test_trainer_two_generators(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 1e-2f, 0.5f);
    reco_trainer_options o = base_options();
    o.n_generators = 2;
    o.max_staleness = 3;
    o.snapshot_period = 2;
    o.total_updates = 300;
    reco_trainer_report r = RECO_TRAINER_REPORT_INIT;
    if (run_once(&r, &f, &o) != RECO_OK)
        fail_msg("run: %s", reco_error_message());
    assert_int_equal(r.updates, 300);
    assert_true(r.transitions >= 100 + 600);
    assert_true(r.max_policy_lag <= 3.0);
    assert_true(r.sessions > 0);
    fixture_free(&f);

    /* a stop on transitions, with staleness 0 and two threads */
    fixture_init(&f, 1e-2f, 0.5f);
    o.max_staleness = 0;
    o.snapshot_period = 1;
    o.total_updates = 0;
    o.total_transitions = 600;
    r = (reco_trainer_report)RECO_TRAINER_REPORT_INIT;
    if (run_once(&r, &f, &o) != RECO_OK)
        fail_msg("run: %s", reco_error_message());
    assert_true(r.transitions >= 600);
    assert_int_equal(r.updates, (uint64_t)floor((double)(r.transitions - 100) * 0.5));
    fixture_free(&f);
}

static int stop_at_first(const reco_trainer_metrics *m, void *payload)
{
    int *calls = payload;
    (*calls)++;
    assert_int_equal(m->version, RECO_TRAINER_METRICS_VERSION);
    return 1;
}

static void test_trainer_progress_stop(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 1e-2f, 0.5f);
    reco_trainer_options o = base_options();
    int calls = 0;
    o.progress = stop_at_first;
    o.progress_payload = &calls;
    reco_trainer_report r = RECO_TRAINER_REPORT_INIT;
    assert_int_equal(run_once(&r, &f, &o), RECO_OK);
    assert_int_equal(calls, 1);
    assert_int_equal(r.stopped, 1);
    assert_int_equal(r.updates, 50);
    fixture_free(&f);
}

static int failing_env(reco_env *out, uint32_t g, void *payload)
{
    (void)out;
    (void)g;
    (void)payload;
    return RECO_EIO;
}

static void test_trainer_bad_options(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 1e-2f, 0.5f);
    const reco_explorer_options e = explorer_options();
    reco_trainer *t = (reco_trainer *)&f; /* must be reset to NULL on failure */
    reco_trainer_options o = base_options();
    assert_reco_error(reco_trainer_create(NULL, f.q, f.rb, &e, make_env, &f, &o), RECO_EINVAL,
                      "out");
    assert_reco_error(reco_trainer_create(&t, NULL, f.rb, &e, make_env, &f, &o), RECO_EINVAL,
                      "NULL");
    assert_null(t);
    assert_reco_error(reco_trainer_create(&t, f.q, f.rb, &e, NULL, &f, &o), RECO_EINVAL, "NULL");
    o.n_generators = 0;
    assert_reco_error(reco_trainer_create(&t, f.q, f.rb, &e, make_env, &f, &o), RECO_EINVAL,
                      "trainer.n_generators");
    o = base_options();
    o.snapshot_period = 3; /* > max_staleness + 1 */
    assert_reco_error(reco_trainer_create(&t, f.q, f.rb, &e, make_env, &f, &o), RECO_EINVAL,
                      "trainer.snapshot_period");
    o = base_options();
    o.batch_size = MAXB + 1;
    assert_reco_error(reco_trainer_create(&t, f.q, f.rb, &e, make_env, &f, &o), RECO_EINVAL,
                      "trainer.batch_size");
    o = base_options();
    o.sessions_per_generator = 17; /* more than the simulator's slots */
    assert_reco_error(reco_trainer_create(&t, f.q, f.rb, &e, make_env, &f, &o), RECO_EINVAL,
                      "max_sessions");
    o = base_options();
    o.n_candidates = NI + 1;
    assert_reco_error(reco_trainer_create(&t, f.q, f.rb, &e, make_env, &f, &o), RECO_EINVAL,
                      "trainer.n_candidates");
    o = base_options();
    o.replay_ratio = 0.0;
    assert_reco_error(reco_trainer_create(&t, f.q, f.rb, &e, make_env, &f, &o), RECO_EINVAL,
                      "trainer.replay_ratio");
    o = base_options();
    o.total_updates = 0;
    assert_reco_error(reco_trainer_create(&t, f.q, f.rb, &e, make_env, &f, &o), RECO_EINVAL,
                      "trainer.total_updates");
    o = base_options();
    o.version = 99;
    assert_int_equal(reco_trainer_create(&t, f.q, f.rb, &e, make_env, &f, &o), RECO_EVERSION);
    o = base_options();
    assert_int_equal(reco_trainer_create(&t, f.q, f.rb, &e, failing_env, &f, &o), RECO_EIO);
    assert_null(t);
    /* a replay whose lookback is not the model's */
    reco_replay_options ro = RECO_REPLAY_OPTIONS_INIT;
    ro.capacity = 64;
    ro.lookback = LB + 1;
    reco_replay *rb2 = NULL;
    assert_int_equal(reco_replay_create(&rb2, &ro), RECO_OK);
    assert_reco_error(reco_trainer_create(&t, f.q, rb2, &e, make_env, &f, &o), RECO_EINVAL,
                      "lookback");
    reco_replay_free(rb2);
    /* options_init, and a trainer runs once */
    reco_trainer_options d;
    assert_int_equal(reco_trainer_options_init(&d, RECO_TRAINER_OPTIONS_VERSION), RECO_OK);
    assert_int_equal(d.n_generators, 1);
    assert_int_equal(reco_trainer_options_init(&d, 2), RECO_EVERSION);
    assert_int_equal(reco_trainer_options_init(NULL, 1), RECO_EINVAL);
    o.total_updates = 5;
    assert_int_equal(reco_trainer_create(&t, f.q, f.rb, &e, make_env, &f, &o), RECO_OK);
    reco_trainer_report bad = RECO_TRAINER_REPORT_INIT;
    bad.version = 0;
    assert_int_equal(reco_trainer_run(&bad, t), RECO_EVERSION);
    assert_int_equal(reco_trainer_run(NULL, t), RECO_OK);
    assert_reco_error(reco_trainer_run(NULL, t), RECO_ESTATE, "once");
    reco_trainer_free(t);
    reco_trainer_free(NULL);
    assert_int_equal(reco_trainer_run(NULL, NULL), RECO_EINVAL);
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trainer_deterministic),
        cmocka_unit_test(test_trainer_ratio_lag_csv),
        cmocka_unit_test(test_trainer_learns),
        cmocka_unit_test(test_trainer_divergence),
        cmocka_unit_test(test_trainer_two_generators),
        cmocka_unit_test(test_trainer_progress_stop),
        cmocka_unit_test(test_trainer_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
