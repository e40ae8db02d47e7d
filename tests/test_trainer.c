/* reco_trainer: determinism in lock-step, replay ratio, policy lag, metrics CSV, a learning
 * signal, the divergence stop, two generator threads, bad options, checkpoints and an exact
 * resume; and the session context (a version-3 test environment with user features, steps,
 * elapsed seconds and a long-term history, a model that reads them all) from the
 * environment through the replay to the learner, and an exact resume with it.
 * Internal test: the simulator's feedback model has zero head weights, so each head's logit
 * is the item's bias, chosen by the test (as in test_sim.c). */
#include <math.h>
#include <unistd.h>

#include "test_common.h"
#include "file_private.h"
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
    /* a Q-network warm-started with reward weights other than the envs' declared ones */
    float ww[RECO_SIM_MAX_SIGNALS] = {0};
    ww[0] = 0.5f;
    reco_qnet *qw = NULL;
    assert_int_equal(reco_qnet_create_warm(&qw, f.fb, ww, NULL), RECO_OK);
    assert_reco_error(reco_trainer_create(&t, qw, f.rb, &e, make_env, &f, &o), RECO_EINVAL,
                      "the Q-network's warm start weighs signal 0 (signal0) 0.5; the env's "
                      "reward weight is 1");
    assert_null(t);
    reco_qnet_free(qw);
    ww[0] = 1.0f; /* the sims' own: accepted */
    assert_int_equal(reco_qnet_create_warm(&qw, f.fb, ww, NULL), RECO_OK);
    assert_int_equal(reco_trainer_create(&t, qw, f.rb, &e, make_env, &f, &o), RECO_OK);
    reco_trainer_free(t);
    t = NULL;
    reco_qnet_free(qw);
    /* options_init, and a trainer runs once */
    reco_trainer_options d;
    assert_int_equal(reco_trainer_options_init(&d, RECO_TRAINER_OPTIONS_VERSION), RECO_OK);
    assert_int_equal(d.n_generators, 1);
    assert_int_equal(reco_trainer_options_init(&d, RECO_TRAINER_OPTIONS_VERSION + 1),
                     RECO_EVERSION);
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

/* ---- checkpoints and resume ----------------------------------------------------------------- */

/* The CSV's rows without the two throughput columns, joined. */
static char *csv_rows(const char *path, int *n_rows)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char line[512];
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(cap, 1);
    *n_rows = 0;
    assert_non_null(fgets(line, sizeof line, fp)); /* header */
    while (fgets(line, sizeof line, fp) != NULL) {
        char *p = line;
        for (int c = 0; c < 7 && p != NULL; c++)
            p = strchr(p, ',') != NULL ? strchr(p, ',') + 1 : NULL;
        assert_non_null(p);
        const size_t k = (size_t)(p - line);
        assert_true(len + k + 1 < cap);
        memcpy(out + len, line, k);
        len += k;
        out[len++] = '\n';
        (*n_rows)++;
    }
    fclose(fp);
    return out;
}

static int run_resumed(reco_trainer_report *rep, fixture *f, const reco_trainer_options *o,
                       const char *resume_dir)
{
    const reco_explorer_options e = explorer_options();
    reco_trainer *t = NULL;
    int rc = reco_trainer_create(&t, f->q, f->rb, &e, make_env, f, o);
    if (rc != RECO_OK)
        fail_msg("reco_trainer_create: %s", reco_error_message());
    if (resume_dir != NULL && (rc = reco_trainer_resume(t, resume_dir)) != RECO_OK)
        fail_msg("reco_trainer_resume: %s", reco_error_message());
    rc = reco_trainer_run(rep, t);
    reco_trainer_free(t);
    return rc;
}

static void remove_checkpoint(const char *dir)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static float *copy_params(const reco_model *m)
{
    const size_t np = reco_model_n_params(m);
    float *p = malloc(np * sizeof(float));
    memcpy(p, m->params, np * sizeof(float));
    return p;
}

/* U = 150 updates straight, against 75 (a checkpoint at 75, then a stop) + a resume to 150:
 * the same metrics rows and bit-identical online and target parameters. The checkpoint is
 * not on a metrics row (interval 20), so the resumed run must cut the CSV back and carry the
 * open interval. */
static void test_trainer_resume_exact(void **state)
{
    (void)state;
    char dir_a[96], dir_b[96], csv_a[96], csv_b[96];
    snprintf(dir_a, sizeof dir_a, "/tmp/reco_trainer_ckpt_a_%ld", (long)getpid());
    snprintf(dir_b, sizeof dir_b, "/tmp/reco_trainer_ckpt_b_%ld", (long)getpid());
    snprintf(csv_a, sizeof csv_a, "/tmp/reco_trainer_a_%ld.csv", (long)getpid());
    snprintf(csv_b, sizeof csv_b, "/tmp/reco_trainer_b_%ld.csv", (long)getpid());
    reco_trainer_options o = base_options();
    o.total_updates = 150;
    o.metrics_interval = 20;
    o.checkpoint_every = 75;

    fixture fa;
    fixture_init(&fa, 1e-2f, 0.5f);
    o.checkpoint_dir = dir_a;
    o.metrics_csv = csv_a;
    reco_trainer_report ra = RECO_TRAINER_REPORT_INIT;
    if (run_resumed(&ra, &fa, &o, NULL) != RECO_OK)
        fail_msg("run: %s", reco_error_message());

    fixture fb;
    fixture_init(&fb, 1e-2f, 0.5f);
    o.checkpoint_dir = dir_b;
    o.metrics_csv = csv_b;
    o.total_updates = 75;
    reco_trainer_report rb = RECO_TRAINER_REPORT_INIT;
    if (run_resumed(&rb, &fb, &o, NULL) != RECO_OK)
        fail_msg("run: %s", reco_error_message());
    assert_int_equal(rb.updates, 75);
    fixture_free(&fb);

    fixture fc; /* a fresh process, as it were: new handles from the same settings */
    fixture_init(&fc, 1e-2f, 0.5f);
    o.total_updates = 150;
    reco_trainer_report rc = RECO_TRAINER_REPORT_INIT;
    if (run_resumed(&rc, &fc, &o, dir_b) != RECO_OK)
        fail_msg("resumed run: %s", reco_error_message());

    assert_int_equal(rc.updates, 150);
    assert_int_equal(ra.transitions, rc.transitions);
    assert_int_equal(ra.sessions, rc.sessions);
    assert_true(ra.last.loss == rc.last.loss && ra.last.mean_q == rc.last.mean_q);
    assert_true(ra.last.sim_return == rc.last.sim_return);
    const reco_model *ma = reco_qnet_online(fa.q), *mc = reco_qnet_online(fc.q);
    const size_t np = reco_model_n_params(ma);
    assert_memory_equal(ma->params, mc->params, np * sizeof(float));
    assert_memory_equal(reco_qnet_target(fa.q)->params, reco_qnet_target(fc.q)->params,
                        np * sizeof(float));
    assert_int_equal(reco_replay_size(fa.rb), reco_replay_size(fc.rb));
    int na = 0, nc = 0;
    char *rows_a = csv_rows(csv_a, &na), *rows_c = csv_rows(csv_b, &nc);
    assert_int_equal(na, 8); /* 20, 40, ..., 140 and the last at 150 */
    assert_int_equal(na, nc);
    assert_string_equal(rows_a, rows_c);
    free(rows_a);
    free(rows_c);
    /* the resumed run's checkpoint at 150 replaced the one at 75 */
    char path[160];
    snprintf(path, sizeof path, "%s/qnet-75.bin", dir_b);
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof path, "%s/qnet-150.bin", dir_b);
    assert_int_equal(access(path, F_OK), 0);
    fixture_free(&fa);
    fixture_free(&fc);
    remove_checkpoint(dir_a);
    remove_checkpoint(dir_b);
    unlink(csv_a);
    unlink(csv_b);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *len = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc(*len + 1);
    assert_int_equal(fread(b, 1, *len, fp), *len);
    fclose(fp);
    return b;
}

static void spill(const char *path, const unsigned char *b, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, len, fp), len);
    fclose(fp);
}

/* A damaged, truncated or mismatched checkpoint is refused with RECO_EFORMAT, and the trainer
 * (its Q-network, replay and environments) is left as it was: it still resumes afterwards. */
static void test_trainer_resume_refuses_damage(void **state)
{
    (void)state;
    char dir[96], path[160];
    snprintf(dir, sizeof dir, "/tmp/reco_trainer_ckpt_d_%ld", (long)getpid());
    reco_trainer_options o = base_options();
    o.total_updates = 40;
    o.checkpoint_every = 40;
    o.checkpoint_dir = dir;
    fixture f;
    fixture_init(&f, 1e-2f, 0.5f);
    reco_trainer_report r = RECO_TRAINER_REPORT_INIT;
    if (run_resumed(&r, &f, &o, NULL) != RECO_OK)
        fail_msg("run: %s", reco_error_message());
    fixture_free(&f);

    fixture g;
    fixture_init(&g, 1e-2f, 0.5f);
    const reco_explorer_options e = explorer_options();
    o.total_updates = 60;
    reco_trainer *t = NULL;
    assert_int_equal(reco_trainer_create(&t, g.q, g.rb, &e, make_env, &g, &o), RECO_OK);
    float *before = copy_params(reco_qnet_online(g.q));
    const size_t np = reco_model_n_params(reco_qnet_online(g.q));
    static const char *const files[3] = {"checkpoint", "qnet-40.bin", "replay-40.bin"};
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[k]);
        size_t len = 0;
        unsigned char *orig = slurp(path, &len);
        /* a flipped bit at a few places, then a truncation */
        for (int w = 0; w < 4; w++) {
            const size_t at = (len - 1) * (size_t)w / 3;
            orig[at] ^= 0x10;
            spill(path, orig, len);
            orig[at] ^= 0x10;
            assert_int_equal(reco_trainer_resume(t, dir), RECO_EFORMAT);
        }
        spill(path, orig, len - 8);
        assert_int_equal(reco_trainer_resume(t, dir), RECO_EFORMAT);
        spill(path, orig, len);
        free(orig);
    }
    assert_memory_equal(before, reco_qnet_online(g.q)->params, np * sizeof(float));
    assert_int_equal(reco_qnet_n_updates(g.q), 0);
    assert_int_equal(reco_replay_size(g.rb), 0);
    assert_reco_error(reco_trainer_resume(t, "/nonexistent/dir"), RECO_EIO, "nonexistent");
    /* intact again: it resumes, and goes on to 60 */
    assert_int_equal(reco_trainer_resume(t, NULL), RECO_OK);
    assert_reco_error(reco_trainer_resume(t, NULL), RECO_ESTATE, "already");
    r = (reco_trainer_report)RECO_TRAINER_REPORT_INIT;
    assert_int_equal(reco_trainer_run(&r, t), RECO_OK);
    assert_int_equal(r.updates, 60);
    assert_int_equal(reco_qnet_n_updates(g.q), 60);
    reco_trainer_free(t);
    free(before);
    fixture_free(&g);

    /* another geometry: the message names it */
    fixture h;
    fixture_init(&h, 1e-2f, 0.5f);
    o.sessions_per_generator = 4;
    assert_int_equal(reco_trainer_create(&t, h.q, h.rb, &e, make_env, &h, &o), RECO_OK);
    assert_reco_error(reco_trainer_resume(t, dir), RECO_EFORMAT, "sessions_per_generator");
    reco_trainer_free(t);
    /* checkpoint_every without a directory, and environments that cannot save */
    o = base_options();
    o.checkpoint_every = 10;
    t = (reco_trainer *)&h;
    assert_reco_error(reco_trainer_create(&t, h.q, h.rb, &e, make_env, &h, &o), RECO_EINVAL,
                      "trainer.checkpoint_dir");
    assert_null(t);
    assert_reco_error(reco_trainer_resume(NULL, dir), RECO_EINVAL, "NULL");
    fixture_free(&h);
    remove_checkpoint(dir);
}

/* Two generators: checkpoints pause both between rounds; a resumed run goes on (not
 * bit-exactly: the interleaving depends on the scheduler). */
static void test_trainer_resume_two_generators(void **state)
{
    (void)state;
    char dir[96];
    snprintf(dir, sizeof dir, "/tmp/reco_trainer_ckpt_m_%ld", (long)getpid());
    reco_trainer_options o = base_options();
    o.n_generators = 2;
    o.max_staleness = 3;
    o.snapshot_period = 2;
    o.total_updates = 100;
    o.checkpoint_every = 25;
    o.checkpoint_dir = dir;
    fixture f;
    fixture_init(&f, 1e-2f, 0.5f);
    reco_trainer_report r = RECO_TRAINER_REPORT_INIT;
    if (run_resumed(&r, &f, &o, NULL) != RECO_OK)
        fail_msg("run: %s", reco_error_message());
    assert_int_equal(r.updates, 100);
    const uint64_t size_at_stop = reco_replay_size(f.rb);
    fixture_free(&f);
    fixture_init(&f, 1e-2f, 0.5f);
    o.total_updates = 160;
    r = (reco_trainer_report)RECO_TRAINER_REPORT_INIT;
    if (run_resumed(&r, &f, &o, dir) != RECO_OK)
        fail_msg("resumed run: %s", reco_error_message());
    assert_int_equal(r.updates, 160);
    assert_int_equal(reco_qnet_n_updates(f.q), 160);
    assert_true(reco_replay_size(f.rb) > size_at_stop);
    assert_true(r.max_policy_lag <= 3.0);
    fixture_free(&f);
    remove_checkpoint(dir);
}


/* ---- the session context -------------------------------------------------------------------- */

/* A version-3 environment with user features, the position and elapsed time, and a long-term
 * history, every rule a function of a slot's own state (so save_state/load_state are exact):
 *   reset: user u gets features {u % NI, 0.5 (u % 3)} and a long-term history whose newest
 *          item is u % NI and whose oldest is a pad when u % 3 == 0; the window before the
 *          first step is the long-term history (it reaches before the session);
 *   step:  a click with probability .9 on BEST and .1 elsewhere (reward = click), elapsed
 *          += 2 + item % 5 (+ 10 on a click), exit with probability .1, truncation at 20. */
enum { CU = 2, CH = 3, CMAXLEN = 20, CSLOTS = 16 };

typedef struct fslot {
    uint64_t user, rng;
    uint32_t steps, pad_;
    float elapsed, feat[CU];
    int32_t win[LB], lng[CH];
    uint32_t wfb[LB], lfb[CH];
} fslot;

typedef struct fenv {
    uint64_t seed;
    fslot slot[CSLOTS];
} fenv;

static double f_uniform(fslot *x)
{
    x->rng = x->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(x->rng >> 11) * (1.0 / 9007199254740992.0);
}

static int f_reset(const uint32_t *slots, const uint64_t *users, uint32_t n, void *payload)
{
    fenv *f = payload;
    for (uint32_t i = 0; i < n; i++) {
        fslot *x = &f->slot[slots[i]];
        const uint64_t u = users[i];
        memset(x, 0, sizeof *x);
        x->user = u;
        x->rng = f->seed ^ (u * 0x9e3779b97f4a7c15ull);
        x->feat[0] = (float)(u % NI);
        x->feat[1] = 0.5f * (float)(u % 3);
        for (uint32_t q = 0; q < CH; q++) {
            x->lng[q] = q + 1 == CH ? (int32_t)(u % NI) : (int32_t)((u * 7 + q * 3) % NI);
            x->lfb[q] = (uint32_t)((u + q) % 4);
        }
        if (u % 3 == 0) {
            x->lng[0] = RECO_PAD;
            x->lfb[0] = 0;
        }
        for (uint32_t q = 0; q < LB; q++) {
            const int k = (int)q - (LB - CH);
            x->win[q] = k < 0 ? RECO_PAD : x->lng[k];
            x->wfb[q] = k < 0 ? 0 : x->lfb[k];
        }
    }
    return RECO_OK;
}

static int f_observe(int32_t *items, uint32_t *fb, float *feat, const uint32_t *slots,
                     uint32_t n, void *payload)
{
    fenv *f = payload;
    for (uint32_t i = 0; i < n; i++) {
        const fslot *x = &f->slot[slots[i]];
        memcpy(items + i * LB, x->win, sizeof x->win);
        memcpy(fb + i * LB, x->wfb, sizeof x->wfb);
        if (feat != NULL)
            memcpy(feat + i * CU, x->feat, sizeof x->feat);
    }
    return RECO_OK;
}

static int f_candidates(int32_t *items, uint32_t *count, uint32_t max_c, const uint32_t *slots,
                        uint32_t n, void *payload)
{
    fenv *f = payload;
    const uint32_t c = max_c < 10 ? max_c : 10;
    for (uint32_t i = 0; i < n; i++) {
        const fslot *x = &f->slot[slots[i]];
        for (uint32_t k = 0; k < c; k++)
            items[(size_t)i * max_c + k] = (int32_t)((x->steps * 3 + k * 4 + x->user) % NI);
        items[(size_t)i * max_c + c - 1] = BEST;
        count[i] = c;
    }
    return RECO_OK;
}

static int f_step(uint32_t *fb, float *rew, int *done, const uint32_t *slots,
                  const int32_t *items, uint32_t n, void *payload)
{
    fenv *f = payload;
    for (uint32_t i = 0; i < n; i++) {
        fslot *x = &f->slot[slots[i]];
        const int click = f_uniform(x) < (items[i] == BEST ? 0.9 : 0.1);
        fb[i] = (uint32_t)click;
        rew[i] = (float)click;
        x->elapsed += 2.0f + (float)(items[i] % 5) + (click ? 10.0f : 0.0f);
        x->steps++;
        memmove(x->win, x->win + 1, (LB - 1) * sizeof x->win[0]);
        memmove(x->wfb, x->wfb + 1, (LB - 1) * sizeof x->wfb[0]);
        x->win[LB - 1] = items[i];
        x->wfb[LB - 1] = fb[i];
        done[i] = f_uniform(x) < 0.1     ? RECO_ENV_EXIT
                  : x->steps >= CMAXLEN ? RECO_ENV_TRUNCATED
                                        : RECO_ENV_CONTINUE;
    }
    return RECO_OK;
}

static int f_context(uint32_t *steps, float *elapsed, int32_t *long_items, uint32_t *long_fb,
                     const uint32_t *slots, uint32_t n, void *payload)
{
    fenv *f = payload;
    for (uint32_t i = 0; i < n; i++) {
        const fslot *x = &f->slot[slots[i]];
        if (steps != NULL)
            steps[i] = x->steps;
        if (elapsed != NULL)
            elapsed[i] = x->elapsed;
        if (long_items != NULL)
            memcpy(long_items + i * CH, x->lng, sizeof x->lng);
        if (long_fb != NULL)
            memcpy(long_fb + i * CH, x->lfb, sizeof x->lfb);
    }
    return RECO_OK;
}

static int f_save(void *buf, size_t cap, size_t *len, void *payload)
{
    const size_t need = sizeof(fenv);
    if (len != NULL)
        *len = need;
    if (buf == NULL)
        return RECO_OK;
    if (cap < need)
        return RECO_EINVAL;
    memcpy(buf, payload, need);
    return RECO_OK;
}

static int f_load(const void *buf, size_t len, void *payload)
{
    fenv *f = payload;
    if (len != sizeof(fenv) || ((const fenv *)buf)->seed != f->seed)
        return RECO_EFORMAT;
    memcpy(f, buf, len);
    return RECO_OK;
}

typedef struct cfixture {
    fenv envs[2];
    reco_qnet *q;
    reco_replay *rb;
    int no_context; /* make_cenv: no context() */
} cfixture;

static int make_cenv(reco_env *out, uint32_t g, void *payload)
{
    cfixture *c = payload;
    reco_env e;
    memset(&e, 0, sizeof e);
    e.version = 3;
    e.n_items = NI;
    e.n_signals = NSIG;
    e.lookback = LB;
    e.user_dim = CU;
    e.max_sessions = CSLOTS;
    e.reset = f_reset;
    e.observe = f_observe;
    e.candidates = f_candidates;
    e.step = f_step;
    e.payload = &c->envs[g];
    e.save_state = f_save;
    e.load_state = f_load;
    e.long_len = CH;
    e.context = c->no_context ? NULL : f_context;
    *out = e;
    return RECO_OK;
}

static reco_model_options context_model(void)
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
    o.user_dim = CU;
    o.position = 1;
    o.elapsed = 1;
    o.long_len = CH;
    o.seed = 5;
    o.lr = 1e-2f;
    return o;
}

static reco_replay_options context_replay(void)
{
    reco_replay_options ro = RECO_REPLAY_OPTIONS_INIT;
    ro.capacity = 4096;
    ro.lookback = LB;
    ro.seed = 3;
    ro.user_dim = CU;
    ro.long_len = CH;
    return ro;
}

static void cfixture_init(cfixture *c)
{
    memset(c, 0, sizeof *c);
    c->envs[0].seed = 101;
    c->envs[1].seed = 202;
    reco_model_options mo = context_model();
    reco_qnet_options qo = RECO_QNET_OPTIONS_INIT;
    qo.model = &mo;
    qo.gamma = 0.5f;
    qo.target_period = 50;
    qo.max_abs_q = 100.0f;
    assert_int_equal(reco_qnet_create(&c->q, &qo), RECO_OK);
    const reco_replay_options ro = context_replay();
    assert_int_equal(reco_replay_create(&c->rb, &ro), RECO_OK);
}

static void cfixture_free(cfixture *c)
{
    reco_replay_free(c->rb);
    reco_qnet_free(c->q);
}

static int run_context(reco_trainer_report *rep, cfixture *c, const reco_trainer_options *o,
                       const char *resume_dir)
{
    const reco_explorer_options e = explorer_options();
    reco_trainer *t = NULL;
    int rc = reco_trainer_create(&t, c->q, c->rb, &e, make_cenv, c, o);
    if (rc != RECO_OK)
        fail_msg("reco_trainer_create: %s", reco_error_message());
    if (resume_dir != NULL && (rc = reco_trainer_resume(t, resume_dir)) != RECO_OK)
        fail_msg("reco_trainer_resume: %s", reco_error_message());
    rc = reco_trainer_run(rep, t);
    reco_trainer_free(t);
    return rc;
}

/* The context reaches the replay as the environment gave it: every sampled transition obeys
 * the environment's rules (s' one step and the step's seconds after s; the user features of
 * the user whose long-term history it is; at a session's first step the window is the
 * long-term history and no time has passed). In lock-step and with two generator threads
 * (meaningful under -Db_sanitize=thread). */
static void test_trainer_context_flows(void **state)
{
    (void)state;
    for (int two = 0; two < 2; two++) { /* lock-step, then two generator threads */
        cfixture c;
        cfixture_init(&c);
        reco_trainer_options o = base_options();
        o.total_updates = 100;
        if (two) {
            o.n_generators = 2;
            o.max_staleness = 3;
            o.snapshot_period = 2;
        }
        reco_trainer_report r = RECO_TRAINER_REPORT_INIT;
        if (run_context(&r, &c, &o, NULL) != RECO_OK)
            fail_msg("run: %s", reco_error_message());
        assert_int_equal(r.updates, 100);
        enum { B = 64 };
        int32_t s_items[B * LB], n_items[B * LB], act[B], li[B * CH];
        uint32_t s_fb[B * LB], n_fb[B * LB], ss[B], ns[B], lf[B * CH];
        float se[B], ne[B], user[B * CU], rew[B];
        reco_replay_batch b = RECO_REPLAY_BATCH_INIT;
        b.state_items = s_items;
        b.state_feedback = s_fb;
        b.next_items = n_items;
        b.next_feedback = n_fb;
        b.actions = act;
        b.rewards = rew;
        b.user_features = user;
        b.state_steps = ss;
        b.next_steps = ns;
        b.state_elapsed = se;
        b.next_elapsed = ne;
        b.long_items = li;
        b.long_feedback = lf;
        int firsts = 0, later = 0;
        for (int it = 0; it < 20; it++) {
            assert_int_equal(reco_replay_sample(&b, c.rb, B), RECO_OK);
            for (int k = 0; k < B; k++) {
                const int click = (int)(n_fb[k * LB + LB - 1] & 1u);
                assert_int_equal(ns[k], ss[k] + 1);
                assert_true(ss[k] < CMAXLEN);
                assert_true(ne[k] - se[k] == 2.0f + (float)(act[k] % 5) + (click ? 10.0f : 0.0f));
                assert_true(rew[k] == (float)click);
                assert_true(user[k * CU] == (float)li[k * CH + CH - 1]);
                assert_int_equal(user[k * CU + 1] == 0.0f, li[k * CH] == RECO_PAD);
                assert_int_equal(ss[k] == 0, se[k] == 0.0f);
                if (ss[k] == 0) {
                    firsts++;
                    assert_int_equal(s_items[k * LB], RECO_PAD);
                    assert_memory_equal(s_items + k * LB + 1, li + k * CH, CH * sizeof(int32_t));
                    assert_memory_equal(s_fb + k * LB + 1, lf + k * CH, CH * sizeof(uint32_t));
                } else {
                    later++;
                }
            }
        }
        assert_true(firsts > 20 && later > 200);
        cfixture_free(&c);
    }
}

/* The exact resume of test_trainer_resume_exact, with the session context: the generators'
 * step counts and segment contexts are in the checkpoint, the replay file carries the
 * context, the environments theirs. */
static void test_trainer_resume_exact_context(void **state)
{
    (void)state;
    char dir_a[96], dir_b[96], csv_a[96], csv_b[96];
    snprintf(dir_a, sizeof dir_a, "/tmp/reco_trainer_cctx_a_%ld", (long)getpid());
    snprintf(dir_b, sizeof dir_b, "/tmp/reco_trainer_cctx_b_%ld", (long)getpid());
    snprintf(csv_a, sizeof csv_a, "/tmp/reco_trainer_cctx_a_%ld.csv", (long)getpid());
    snprintf(csv_b, sizeof csv_b, "/tmp/reco_trainer_cctx_b_%ld.csv", (long)getpid());
    reco_trainer_options o = base_options();
    o.total_updates = 150;
    o.metrics_interval = 20;
    o.checkpoint_every = 75;

    cfixture fa;
    cfixture_init(&fa);
    o.checkpoint_dir = dir_a;
    o.metrics_csv = csv_a;
    reco_trainer_report ra = RECO_TRAINER_REPORT_INIT;
    if (run_context(&ra, &fa, &o, NULL) != RECO_OK)
        fail_msg("run: %s", reco_error_message());

    cfixture fb;
    cfixture_init(&fb);
    o.checkpoint_dir = dir_b;
    o.metrics_csv = csv_b;
    o.total_updates = 75;
    reco_trainer_report rb = RECO_TRAINER_REPORT_INIT;
    if (run_context(&rb, &fb, &o, NULL) != RECO_OK)
        fail_msg("run: %s", reco_error_message());
    assert_int_equal(rb.updates, 75);
    cfixture_free(&fb);

    cfixture fc;
    cfixture_init(&fc);
    o.total_updates = 150;
    reco_trainer_report rc = RECO_TRAINER_REPORT_INIT;
    if (run_context(&rc, &fc, &o, dir_b) != RECO_OK)
        fail_msg("resumed run: %s", reco_error_message());

    assert_int_equal(rc.updates, 150);
    assert_int_equal(ra.transitions, rc.transitions);
    assert_int_equal(ra.sessions, rc.sessions);
    assert_true(ra.last.loss == rc.last.loss && ra.last.mean_q == rc.last.mean_q);
    assert_true(ra.last.sim_return == rc.last.sim_return);
    const reco_model *ma = reco_qnet_online(fa.q), *mc = reco_qnet_online(fc.q);
    const size_t np = reco_model_n_params(ma);
    assert_memory_equal(ma->params, mc->params, np * sizeof(float));
    assert_memory_equal(reco_qnet_target(fa.q)->params, reco_qnet_target(fc.q)->params,
                        np * sizeof(float));
    assert_int_equal(reco_replay_size(fa.rb), reco_replay_size(fc.rb));
    /* the replays are the same, contexts included: same bytes saved */
    char pa[160], pc[160];
    snprintf(pa, sizeof pa, "%s/replay_a.bin", dir_a);
    snprintf(pc, sizeof pc, "%s/replay_c.bin", dir_a);
    assert_int_equal(reco_replay_save(fa.rb, pa), RECO_OK);
    assert_int_equal(reco_replay_save(fc.rb, pc), RECO_OK);
    size_t la = 0, lc = 0;
    unsigned char *ba = slurp(pa, &la), *bc = slurp(pc, &lc);
    assert_int_equal(la, lc);
    assert_memory_equal(ba, bc, la);
    free(ba);
    free(bc);
    int na = 0, nc = 0;
    char *rows_a = csv_rows(csv_a, &na), *rows_c = csv_rows(csv_b, &nc);
    assert_int_equal(na, 8);
    assert_int_equal(na, nc);
    assert_string_equal(rows_a, rows_c);
    free(rows_a);
    free(rows_c);
    cfixture_free(&fa);
    cfixture_free(&fc);
    remove_checkpoint(dir_a);
    remove_checkpoint(dir_b);
    unlink(csv_a);
    unlink(csv_b);
}

/* What the model reads must come from the environment and back out of the replay. */
static void test_trainer_context_refusals(void **state)
{
    (void)state;
    cfixture c;
    cfixture_init(&c);
    const reco_explorer_options e = explorer_options();
    reco_trainer_options o = base_options();
    reco_trainer *t = (reco_trainer *)&c;
    /* a replay without the context */
    reco_replay_options ro = RECO_REPLAY_OPTIONS_INIT;
    ro.capacity = 256;
    ro.lookback = LB;
    reco_replay *plain = NULL;
    assert_int_equal(reco_replay_create(&plain, &ro), RECO_OK);
    assert_reco_error(reco_trainer_create(&t, c.q, plain, &e, make_cenv, &c, &o), RECO_EINVAL,
                      "replay stores no context");
    assert_null(t);
    reco_replay_free(plain);
    /* a replay with other user features or long-term history */
    for (int k = 0; k < 2; k++) {
        ro = context_replay();
        if (k == 0)
            ro.user_dim = CU + 1;
        else
            ro.long_len = CH - 1;
        reco_replay *other = NULL;
        assert_int_equal(reco_replay_create(&other, &ro), RECO_OK);
        assert_reco_error(reco_trainer_create(&t, c.q, other, &e, make_cenv, &c, &o),
                          RECO_EINVAL, "the model takes");
        reco_replay_free(other);
    }
    /* an environment without context() for a model that takes the elapsed time */
    c.no_context = 1;
    assert_reco_error(reco_trainer_create(&t, c.q, c.rb, &e, make_cenv, &c, &o), RECO_EINVAL,
                      "does not give");
    c.no_context = 0;
    /* the simulator has no user features: the model's user_dim does not fit it */
    fixture f;
    fixture_init(&f, 1e-2f, 0.5f);
    assert_reco_error(reco_trainer_create(&t, c.q, c.rb, &e, make_env, &f, &o), RECO_EINVAL,
                      "user_dim");
    assert_null(t);
    fixture_free(&f);
    cfixture_free(&c);
}

/* Rewrites the manifest of `dir` as a version-1 one (before the session context): 10
 * geometry entries, no step counts or segment contexts. */
static void manifest_to_v1(const char *dir)
{
    static const char *const names[] = {
        "geometry", "counters", "sums", "learner_rng", "published", "files", "file_crc",
        "file_size", "env_len", "env_state", "gen_users", "gen_ex_rng", "gen_ex_step",
        "hist_items", "hist_fb", "hist_len", "seg_items", "seg_fb", "seg_rew", "seg_n",
        "seg_lag", "ret"};
    char path[160], out[170];
    snprintf(path, sizeof path, "%s/checkpoint", dir);
    snprintf(out, sizeof out, "%s/checkpoint.v1", dir);
    reco_allocator a;
    reco_get_default_allocator(&a);
    reco__reader *rd = NULL;
    uint32_t version = 0;
    assert_int_equal(reco__reader_open(&rd, &a, path, "RECOTRN1", 1, 2, &version), RECO_OK);
    assert_int_equal(version, 2);
    reco__writer *w = NULL;
    assert_int_equal(reco__writer_open(&w, &a, out, "RECOTRN1", 1), RECO_OK);
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        uint32_t type = 0;
        uint64_t count = 0;
        assert_int_equal(reco__reader_section_info(rd, names[k], &type, &count), RECO_OK);
        unsigned char *v = calloc(count * reco__file_type_size(type) + 8, 1);
        assert_int_equal(reco__reader_section(rd, names[k], type, v, count), RECO_OK);
        if (k == 0) {
            assert_int_equal(count, 13);
            count = 10;
        }
        assert_int_equal(reco__writer_section(w, names[k], type, v, count), RECO_OK);
        free(v);
    }
    assert_int_equal(reco__writer_commit(w), RECO_OK);
    reco__reader_close(rd);
    assert_int_equal(rename(out, path), 0);
}

/* A checkpoint written before the session context (manifest version 1) still resumes a
 * trainer without one, exactly as the version-2 checkpoint does; one with a context refuses
 * it. */
static void test_trainer_resume_manifest_v1(void **state)
{
    (void)state;
    char dir[2][96], cmd[256];
    snprintf(dir[0], sizeof dir[0], "/tmp/reco_trainer_v1_a_%ld", (long)getpid());
    snprintf(dir[1], sizeof dir[1], "/tmp/reco_trainer_v1_b_%ld", (long)getpid());
    reco_trainer_options o = base_options();
    o.total_updates = 40;
    o.checkpoint_every = 40;
    o.checkpoint_dir = dir[0];
    fixture f;
    fixture_init(&f, 1e-2f, 0.5f);
    reco_trainer_report r = RECO_TRAINER_REPORT_INIT;
    if (run_resumed(&r, &f, &o, NULL) != RECO_OK)
        fail_msg("run: %s", reco_error_message());
    fixture_free(&f);
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", dir[0], dir[1]);
    assert_int_equal(system(cmd), 0);
    manifest_to_v1(dir[1]);
    float *params[2];
    size_t np = 0;
    o.total_updates = 70;
    o.checkpoint_every = 0;
    o.checkpoint_dir = NULL;
    for (int k = 0; k < 2; k++) {
        fixture_init(&f, 1e-2f, 0.5f);
        r = (reco_trainer_report)RECO_TRAINER_REPORT_INIT;
        if (run_resumed(&r, &f, &o, dir[k]) != RECO_OK)
            fail_msg("resumed run %d: %s", k, reco_error_message());
        assert_int_equal(r.updates, 70);
        np = reco_model_n_params(reco_qnet_online(f.q));
        params[k] = copy_params(reco_qnet_online(f.q));
        fixture_free(&f);
    }
    assert_memory_equal(params[0], params[1], np * sizeof(float));
    free(params[0]);
    free(params[1]);
    /* a trainer with the context cannot take it */
    cfixture c;
    cfixture_init(&c);
    const reco_explorer_options e = explorer_options();
    reco_trainer *t = NULL;
    assert_int_equal(reco_trainer_create(&t, c.q, c.rb, &e, make_cenv, &c, &o), RECO_OK);
    assert_reco_error(reco_trainer_resume(t, dir[1]), RECO_EFORMAT, "version 1");
    reco_trainer_free(t);
    cfixture_free(&c);
    remove_checkpoint(dir[0]);
    remove_checkpoint(dir[1]);
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
        cmocka_unit_test(test_trainer_resume_exact),
        cmocka_unit_test(test_trainer_resume_refuses_damage),
        cmocka_unit_test(test_trainer_resume_two_generators),
        cmocka_unit_test(test_trainer_context_flows),
        cmocka_unit_test(test_trainer_resume_exact_context),
        cmocka_unit_test(test_trainer_context_refusals),
        cmocka_unit_test(test_trainer_resume_manifest_v1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
