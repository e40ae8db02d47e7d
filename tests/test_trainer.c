/* reco_trainer: determinism in lock-step, replay ratio, policy lag, metrics CSV, a learning
 * signal, the divergence stop, two generator threads, bad options, checkpoints and an exact
 * resume.
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
