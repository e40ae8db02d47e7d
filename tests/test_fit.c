/* Supervised training of the feedback model on logs (reco_fit_model) and the metrics it
 * reports (reco_metrics_*): hand-computed metric cases, learning a history-dependent click
 * rule that the popularity baseline cannot see, early stopping, the best checkpoint, exact
 * determinism, option and input errors, and the `fit` YAML section. */
#include <math.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test_common.h"
#include "log/fake_env.h"
#include "env/budget_env.h"
#include "model_private.h"

enum { NI = 30, LB = 4 };

/* ---- metrics ---------------------------------------------------------------------------- */

/* O(n^2) reference: P(score_pos > score_neg) + 0.5 P(equal). */
static double auc_pairs(const float *s, const float *y, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (y[i] == 1.0f && y[j] == 0.0f) {
                den += 1.0;
                num += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
            }
    return num / den;
}

static void test_fit_metrics_auc_hand_cases(void **state)
{
    (void)state;
    double auc = 0.0;
    const float p1[4] = {0.9f, 0.2f, 0.6f, 0.4f}, y1[4] = {1, 0, 0, 1};
    assert_int_equal(reco_metrics_auc(&auc, p1, y1, 4), RECO_OK);
    assert_float_equal(auc, 0.75, 1e-12);
    const float perfect[4] = {0.1f, 0.2f, 0.3f, 0.4f}, yp[4] = {0, 0, 1, 1};
    assert_int_equal(reco_metrics_auc(&auc, perfect, yp, 4), RECO_OK);
    assert_float_equal(auc, 1.0, 0.0);
    const float yinv[4] = {1, 1, 0, 0};
    assert_int_equal(reco_metrics_auc(&auc, perfect, yinv, 4), RECO_OK);
    assert_float_equal(auc, 0.0, 0.0);
    /* Ties: a constant predictor gets exactly 0.5; a tie between a positive and a negative
     * counts one half: pairs (0.4>0.1) + (0.4=0.4)/2 + (0.8>0.1) + (0.8>0.4) = 3.5 of 4. */
    const float flat[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    assert_int_equal(reco_metrics_auc(&auc, flat, y1, 4), RECO_OK);
    assert_float_equal(auc, 0.5, 0.0);
    const float tied[4] = {0.1f, 0.4f, 0.4f, 0.8f}, yt[4] = {0, 1, 0, 1};
    assert_int_equal(reco_metrics_auc(&auc, tied, yt, 4), RECO_OK);
    assert_float_equal(auc, 0.875, 1e-12);
    /* Scores need not be probabilities: logits and infinities rank the same. */
    const float logits[4] = {-INFINITY, 3.0f, -1.0f, INFINITY};
    assert_int_equal(reco_metrics_auc(&auc, logits, yt, 4), RECO_OK);
    assert_float_equal(auc, 1.0, 0.0);
    /* Random data with many ties against the O(n^2) definition. */
    enum { N = 2000 };
    static float s[N], y[N];
    reco_rng rng;
    reco_rng_seed(&rng, 3, 0);
    for (size_t i = 0; i < N; i++) {
        s[i] = (float)reco_rng_below(&rng, 20) / 20.0f;
        y[i] = (float)reco_rng_bernoulli(&rng, 0.2 + 0.6 * s[i]);
    }
    assert_int_equal(reco_metrics_auc(&auc, s, y, N), RECO_OK);
    assert_float_equal(auc, auc_pairs(s, y, N), 1e-12);
    /* Undefined with one class: NaN and RECO_EINVAL. */
    const float ones[3] = {1, 1, 1};
    auc = 0.0;
    assert_reco_error(reco_metrics_auc(&auc, p1, ones, 3), RECO_EINVAL,
                      "AUC is undefined: all 3 labels are 1");
    assert_true(isnan(auc));
    const float zeros[3] = {0, 0, 0};
    assert_reco_error(reco_metrics_auc(&auc, p1, zeros, 3), RECO_EINVAL, "all 3 labels are 0");
    const float nan_s[2] = {NAN, 0.5f}, y2[2] = {0, 1};
    assert_reco_error(reco_metrics_auc(&auc, nan_s, y2, 2), RECO_EINVAL, "scores[0] is NaN");
    const float half[2] = {0.5f, 1.0f};
    assert_reco_error(reco_metrics_auc(&auc, p1, half, 2), RECO_EINVAL, "labels[0] = 0.5");
    assert_reco_error(reco_metrics_auc(&auc, p1, y1, 0), RECO_EINVAL, "n is 0");
    assert_reco_error(reco_metrics_auc(NULL, p1, y1, 4), RECO_EINVAL, "NULL");
}

static void test_fit_metrics_log_loss_and_ece_hand_cases(void **state)
{
    (void)state;
    double v = 0.0;
    const float p[2] = {0.8f, 0.3f}, y[2] = {1, 0};
    assert_int_equal(reco_metrics_log_loss(&v, p, y, 2), RECO_OK);
    assert_float_equal(v, -(log(0.8) + log(0.7)) / 2.0, 1e-7);
    /* Clipping: a certain mistake costs ln(1e7), not infinity. */
    const float p0[1] = {0.0f}, y1[1] = {1};
    assert_int_equal(reco_metrics_log_loss(&v, p0, y1, 1), RECO_OK);
    assert_float_equal(v, -log(RECO_METRICS_PROB_EPS), 1e-9);
    /* Soft labels. */
    const float ph[1] = {0.5f}, yh[1] = {0.25f};
    assert_int_equal(reco_metrics_log_loss(&v, ph, yh, 1), RECO_OK);
    assert_float_equal(v, log(2.0), 1e-9);
    const float bad[1] = {1.5f};
    assert_reco_error(reco_metrics_log_loss(&v, bad, y1, 1), RECO_EINVAL, "probs[0] = 1.5");
    assert_reco_error(reco_metrics_log_loss(&v, p, bad, 1), RECO_EINVAL, "labels[0] = 1.5");
    assert_reco_error(reco_metrics_log_loss(&v, p, y, 0), RECO_EINVAL, "n is 0");

    /* ECE, 10 bins: [0, .1): p .05, y 0 -> 1/4 |0 - .05|; [.1, .2): 1/4 |1 - .15|;
     * [.9, 1]: p .95 twice, y {1, 0} -> 2/4 |.5 - .95|. Total .0125 + .2125 + .225 = .45. */
    const float pe[4] = {0.05f, 0.15f, 0.95f, 0.95f}, ye[4] = {0, 1, 1, 0};
    assert_int_equal(reco_metrics_ece(&v, pe, ye, 4, 10), RECO_OK);
    assert_float_equal(v, 0.45, 1e-6);
    /* p = 1 falls in the last bin; one bin is |mean y - mean p|. */
    const float p1[2] = {1.0f, 0.0f}, yy[2] = {1, 1};
    assert_int_equal(reco_metrics_ece(&v, p1, yy, 2, 10), RECO_OK);
    assert_float_equal(v, 0.5, 1e-12);
    assert_int_equal(reco_metrics_ece(&v, p1, yy, 2, 1), RECO_OK);
    assert_float_equal(v, 0.5, 1e-12);
    /* Perfect calibration within bins gives 0. */
    const float pc[4] = {0.25f, 0.25f, 0.25f, 0.25f}, yc[4] = {1, 0, 0, 0};
    assert_int_equal(reco_metrics_ece(&v, pc, yc, 4, 10), RECO_OK);
    assert_float_equal(v, 0.0, 1e-7);
    assert_reco_error(reco_metrics_ece(&v, pe, ye, 4, 0), RECO_EINVAL, "n_bins 0");
    assert_reco_error(reco_metrics_ece(&v, pe, ye, 4, 1001), RECO_EINVAL, "n_bins 1001");
    assert_reco_error(reco_metrics_ece(NULL, pe, ye, 4, 10), RECO_EINVAL, "NULL");
}

/* ---- fixtures --------------------------------------------------------------------------- */

typedef struct fit_data {
    reco_log *train, *valid, *tiny_train, *tiny_valid;
    char dir[64];
} fit_data;

static reco_log *generate(uint64_t n_interactions, uint64_t n_users, uint64_t seed)
{
    fake_env fe;
    reco_env env;
    fake_env_init(&env, &fe, NI, LB, 32, seed);
    reco_log *log = NULL;
    assert_int_equal(reco_log_create(&log, NULL), RECO_OK);
    reco_log_policy pol = RECO_LOG_POLICY_INIT;
    reco_log_generate_options go = RECO_LOG_GENERATE_OPTIONS_INIT;
    go.n_interactions = n_interactions;
    go.n_users = n_users;
    go.seed = seed;
    assert_int_equal(reco_log_generate(log, &env, &pol, &go), RECO_OK);
    return log;
}

static int group_setup(void **state)
{
    fit_data *d = calloc(1, sizeof *d);
    reco_log *all = generate(24000, 400, 5);
    if (reco_log_split(&d->train, &d->valid, all, 0.2, 9) != RECO_OK)
        return -1;
    reco_log_free(all);
    reco_log *small = generate(300, 20, 6);
    if (reco_log_split(&d->tiny_train, &d->tiny_valid, small, 0.3, 9) != RECO_OK)
        return -1;
    reco_log_free(small);
    snprintf(d->dir, sizeof d->dir, "/tmp/reco-fit.XXXXXX");
    if (mkdtemp(d->dir) == NULL)
        return -1;
    *state = d;
    return 0;
}

static int group_teardown(void **state)
{
    fit_data *d = *state;
    reco_log_free(d->train);
    reco_log_free(d->valid);
    reco_log_free(d->tiny_train);
    reco_log_free(d->tiny_valid);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->dir);
    int rc = system(cmd);
    free(d);
    return rc == 0 && reco_live_handles() == 0 ? 0 : -1;
}

static reco_model *new_model(uint64_t seed, uint32_t max_batch)
{
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = NI;
    o.dim = 16;
    o.lookback = LB;
    o.n_blocks = 1;
    o.n_heads = 2;
    o.ffn_dim = 32;
    o.n_signals = 4;
    o.max_batch = max_batch;
    o.max_candidates = 16;
    o.seed = seed;
    /* With the default 0.02 this tiny model sits on a plateau for ~20 epochs before it finds
     * the parity interaction (symmetric start); 0.2 breaks the symmetry in 2-3 epochs. */
    o.init_std = 0.2f;
    reco_model *m = NULL;
    assert_int_equal(reco_model_create(&m, &o), RECO_OK);
    return m;
}

static void print_report(const char *title, const reco_fit_report *r)
{
    static const char *names[] = {"click", "long_watch", "like", "hide", "exit"};
    print_message("%s: %u epochs, best %u (valid loss %.4f), stopped early %d\n", title,
                  r->epochs_run, r->best_epoch, r->best_valid_loss, r->stopped_early);
    print_message("  %-10s %6s | %-22s | %-22s | %-22s\n", "output", "rate",
                  "model ll/auc/ece", "global ll/auc/ece", "popularity ll/auc/ece");
    for (uint32_t h = 0; h < r->n_outputs; h++)
        print_message("  %-10s %6.3f | %.4f %.3f %.4f | %.4f %.3f %.4f | %.4f %.3f %.4f\n",
                      names[h], r->valid_rate[h], r->model[h].log_loss, r->model[h].auc,
                      r->model[h].ece, r->global_rate[h].log_loss, r->global_rate[h].auc,
                      r->global_rate[h].ece, r->popularity[h].log_loss, r->popularity[h].auc,
                      r->popularity[h].ece);
}

/* ---- learning --------------------------------------------------------------------------- */

typedef struct progress_log {
    int calls;
    uint32_t last_epoch;
    int stop_at;
    double valid_loss[64];
} progress_log;

static int on_epoch(const reco_fit_epoch *e, void *payload)
{
    progress_log *p = payload;
    p->calls++;
    p->last_epoch = e->epoch;
    if (e->epoch <= 64)
        p->valid_loss[e->epoch - 1] = e->valid_loss;
    assert_int_equal(e->version, RECO_FIT_EPOCH_VERSION);
    assert_int_equal(e->n_outputs, 5);
    assert_true(e->seconds >= 0.0);
    return p->stop_at > 0 && (int)e->epoch >= p->stop_at;
}

static void test_fit_learns_history_dependent_clicks(void **state)
{
    fit_data *d = *state;
    reco_model *m = new_model(1, 128);
    reco_fit_options fo = RECO_FIT_OPTIONS_INIT;
    fo.epochs = 15;
    fo.batch_size = 64;
    fo.lr = 3e-3;
    fo.patience = 3;
    progress_log pl;
    memset(&pl, 0, sizeof pl);
    fo.progress = on_epoch;
    fo.payload = &pl;
    double tl[64], vl[64];
    reco_fit_report rep = RECO_FIT_REPORT_INIT;
    rep.history_cap = 64;
    rep.train_loss = tl;
    rep.valid_loss = vl;
    const clock_t t0 = clock();
    assert_int_equal(reco_fit_model(&rep, m, d->train, d->valid, &fo), RECO_OK);
    print_report("fake env", &rep);
    for (uint32_t e = 0; e < rep.epochs_run; e++)
        print_message("  epoch %u: train %.4f valid %.4f\n", e + 1, tl[e], vl[e]);
    print_message("  (%zu train rows, %zu valid rows, %.1f s CPU)\n", reco_log_n_rows(d->train),
                  reco_log_n_rows(d->valid), (double)(clock() - t0) / CLOCKS_PER_SEC);
    assert_int_equal(rep.n_outputs, 5);
    assert_int_equal(rep.n_train, reco_log_n_rows(d->train));
    assert_int_equal(rep.n_valid, reco_log_n_rows(d->valid));
    assert_int_equal(pl.calls, (int)rep.epochs_run);
    assert_true(rep.best_epoch >= 1 && rep.best_epoch <= rep.epochs_run);
    assert_float_equal(rep.best_valid_loss, vl[rep.best_epoch - 1], 0.0);
    /* Clicks follow the parity of the previous item: the item alone says little. */
    const reco_fit_metrics *mc = &rep.model[RECO_SIGNAL_CLICK];
    const reco_fit_metrics *pc = &rep.popularity[RECO_SIGNAL_CLICK];
    assert_true(pc->auc < 0.65);
    assert_true(mc->auc > pc->auc + 0.15);
    assert_true(mc->log_loss < pc->log_loss - 0.1);
    assert_true(mc->ece < 0.05);
    /* Long watches follow the item (i % 3): popularity is good; the model is at least as good. */
    const reco_fit_metrics *ml = &rep.model[RECO_SIGNAL_LONG_WATCH];
    const reco_fit_metrics *pw = &rep.popularity[RECO_SIGNAL_LONG_WATCH];
    assert_true(pw->auc > 0.6);
    assert_true(ml->auc > pw->auc);
    /* The global rate predicts a constant: AUC exactly 0.5, calibrated up to the shift
     * between training and validation rates. */
    for (uint32_t h = 0; h < 5; h++) {
        assert_float_equal(rep.global_rate[h].auc, 0.5, 0.0);
        assert_float_equal(rep.global_rate[h].ece, fabs(rep.train_rate[h] - rep.valid_rate[h]),
                           1e-6);
        assert_float_equal(rep.global_rate[h].mean_prediction, rep.train_rate[h], 1e-6);
    }
    /* Training loss falls. */
    assert_true(tl[rep.epochs_run - 1] < tl[0]);
    reco_model_free(m);
}

/* ---- the session context -------------------------------------------------------------- */

/* Logs of a population whose behaviour only the context explains. User u has a hidden
 * parity preference p_u; each of its 3 sessions shows uniform items; a click has probability
 * 0.85 when the item's parity is p_u, else 0.1; a step lasts 10 s, 40 s with a click; the
 * user leaves after the step that brings the session's elapsed time to 120 s or more. So the
 * exit is a function of the elapsed time (the position explains part of it), and the click
 * of a preference that the user's earlier sessions reveal (the window of 2 sees little). */
enum { CX_NI = 40, CX_USERS = 500, CX_SESSIONS = 3, CX_L = 2, CX_H = 10 };

static reco_log *context_log(uint64_t seed)
{
    reco_log *log = NULL;
    assert_int_equal(reco_log_create(&log, NULL), RECO_OK);
    reco_rng rng;
    reco_rng_seed(&rng, seed, 0);
    reco_log_row *rows = calloc(CX_USERS * CX_SESSIONS * 40, sizeof *rows);
    size_t n = 0;
    for (uint64_t u = 0; u < CX_USERS; u++) {
        const uint32_t pref = (uint32_t)reco_rng_below(&rng, 2);
        for (uint64_t k = 0; k < CX_SESSIONS; k++) {
            int64_t ts = 1000000 + (int64_t)k * 86400, start = ts;
            for (uint32_t t = 0;; t++) {
                reco_log_row *r = &rows[n++];
                *r = (reco_log_row)RECO_LOG_ROW_INIT; /* propensity and oracle unknown */
                r->user = u;
                r->session = k;
                r->step = t;
                r->timestamp = ts;
                r->item = (int32_t)reco_rng_below(&rng, CX_NI);
                const int click = reco_rng_bernoulli(&rng, (uint32_t)r->item % 2 == pref ? 0.85
                                                                                       : 0.1);
                r->feedback = click ? 1u << RECO_SIGNAL_CLICK : 0u;
                ts += click ? 40 : 10;
                r->exit = ts - start >= 120;
                if (r->exit)
                    break;
            }
        }
    }
    assert_int_equal(reco_log_append(log, rows, n), RECO_OK);
    free(rows);
    return log;
}

static void context_fit(reco_fit_report *rep, const reco_log *train, const reco_log *valid,
                        int position, int elapsed, uint32_t long_len)
{
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = CX_NI;
    o.dim = 16;
    o.lookback = CX_L;
    o.ffn_dim = 32;
    o.n_signals = 4;
    o.max_batch = 128;
    o.max_candidates = 8;
    o.init_std = 0.2f;
    o.seed = 5;
    o.position = position;
    o.elapsed = elapsed;
    o.long_len = long_len;
    reco_model *m = NULL;
    assert_int_equal(reco_model_create(&m, &o), RECO_OK);
    reco_fit_options fo = RECO_FIT_OPTIONS_INIT;
    fo.epochs = 12;
    fo.batch_size = 64;
    fo.lr = 3e-3;
    fo.patience = 2;
    *rep = (reco_fit_report)RECO_FIT_REPORT_INIT;
    assert_int_equal(reco_fit_model(rep, m, train, valid, &fo), RECO_OK);
    reco_model_free(m);
}

/* Each context input carries what only it can: without the elapsed time (and position) the
 * exit is barely predictable, without the long-term history the click much less so. The
 * step durations are recovered from the timestamps exactly (10 s, +30 s per click). */
static void test_fit_uses_the_session_context(void **state)
{
    (void)state;
    reco_log *log = context_log(17), *train = NULL, *valid = NULL;
    assert_int_equal(reco_log_split(&train, &valid, log, 0.25, 3), RECO_OK);
    reco_fit_report all, no_time, no_long;
    context_fit(&all, train, valid, 1, 1, CX_H);
    context_fit(&no_time, train, valid, 0, 0, CX_H);
    context_fit(&no_long, train, valid, 1, 1, 0);
    const size_t E = 4; /* the exit output */
    print_message("context: exit AUC %.3f (without position and elapsed %.3f), click AUC %.3f "
                  "(without the long-term history %.3f, popularity %.3f)\n", all.model[E].auc,
                  no_time.model[E].auc, all.model[RECO_SIGNAL_CLICK].auc,
                  no_long.model[RECO_SIGNAL_CLICK].auc, all.popularity[RECO_SIGNAL_CLICK].auc);
    assert_true(all.model[E].auc > 0.9);
    assert_true(all.model[E].auc > no_time.model[E].auc + 0.1);
    assert_true(all.model[RECO_SIGNAL_CLICK].auc > no_long.model[RECO_SIGNAL_CLICK].auc + 0.03);
    assert_true(all.model[RECO_SIGNAL_CLICK].auc > all.popularity[RECO_SIGNAL_CLICK].auc + 0.1);
    /* step durations: every gap is 10 + 30 click */
    assert_true(all.n_gaps > 1000);
    assert_float_equal(all.step_seconds_base, 10.0, 1e-6);
    assert_float_equal(all.step_seconds[RECO_SIGNAL_CLICK], 30.0, 1e-6);
    assert_float_equal(all.step_seconds[RECO_SIGNAL_HIDE], 0.0, 1e-6); /* never seen */
    /* the exit given the step's signals: a click adds 40 s, so it brings the 120 s closer */
    print_message("exit tilt: click %+.3f, hide %+.3f\n", all.exit_tilt[RECO_SIGNAL_CLICK],
                  all.exit_tilt[RECO_SIGNAL_HIDE]);
    assert_true(all.exit_tilt[RECO_SIGNAL_CLICK] > 1.0);
    assert_true(fabs(all.exit_tilt[RECO_SIGNAL_HIDE]) < 0.1); /* never seen: about 0 */
    /* no oracle in these logs */
    assert_int_equal(all.has_oracle, 0);
    assert_true(isnan(all.oracle[E].auc));
    /* a version-1 report is never written past its end */
    unsigned char raw[sizeof(reco_fit_report)];
    memset(raw, 0xab, sizeof raw);
    reco_fit_report *v1 = (reco_fit_report *)(void *)raw;
    v1->version = 1;
    v1->history_cap = 0;
    v1->train_loss = v1->valid_loss = NULL;
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = CX_NI;
    o.dim = 8;
    o.lookback = CX_L;
    o.ffn_dim = 8;
    o.max_batch = 64;
    reco_model *m = NULL;
    assert_int_equal(reco_model_create(&m, &o), RECO_OK);
    reco_fit_options fo = RECO_FIT_OPTIONS_INIT;
    fo.epochs = 1;
    fo.batch_size = 64;
    assert_int_equal(reco_fit_model(v1, m, train, valid, &fo), RECO_OK);
    for (size_t i = offsetof(reco_fit_report, has_oracle); i < sizeof raw; i++)
        assert_int_equal(raw[i], 0xab);
    assert_int_equal(v1->epochs_run, 1);
    reco_model_free(m);
    reco_log_free(log);
    reco_log_free(train);
    reco_log_free(valid);
}

/* ---- a second environment: the time-budget world (tests/env/budget_env.h) ------------- */

typedef struct budget_logs {
    budget_env *env;
    reco_log *train, *valid;
} budget_logs;

/* The options of a time-budget log: its two signals, the propensity and oracle columns,
 * and the user features when asked. */
static reco_log *budget_new_log(int user_features)
{
    static const char *const names[2] = {"click", "watch"};
    reco_log_options o = RECO_LOG_OPTIONS_INIT;
    o.n_signals = 2;
    o.signal_names = names;
    o.user_dim = user_features ? BUDGET_D : 0;
    o.propensity = 1;
    o.oracle = 1;
    reco_log *log = NULL;
    assert_int_equal(reco_log_create(&log, &o), RECO_OK);
    return log;
}

/* Logs of the time-budget world under a uniform logger, with user features, propensity and
 * the oracle; split by user. */
static void budget_make_logs(budget_logs *bl, uint64_t n_rows)
{
    bl->env = calloc(1, sizeof *bl->env);
    reco_env env;
    budget_env_init(&env, bl->env, 20, 40, 11);
    reco_log *log = budget_new_log(1);
    reco_log_generate_options go = RECO_LOG_GENERATE_OPTIONS_INIT;
    go.n_interactions = n_rows;
    go.n_users = BUDGET_NU;
    go.max_candidates = BUDGET_NC;
    go.max_steps = 200;
    go.seed = 12;
    reco_log_policy pol = RECO_LOG_POLICY_INIT;
    assert_int_equal(reco_log_generate(log, &env, &pol, &go), RECO_OK);
    assert_int_equal(reco_log_split(&bl->train, &bl->valid, log, 0.25, 5), RECO_OK);
    reco_log_free(log);
}

/* A copy of `log` with one mutation: `zero_features` sets every user feature to 0;
 * `shuffle_history` permutes the rows' contents (item, feedback, user features, propensity,
 * oracle) over all rows, keeping every session's shape (users, steps, timestamps, exits):
 * each row keeps its item, its click labels and what was known of its user, but the history
 * before it is now other users' rows. */
static reco_log *budget_mutant(const reco_log *log, int zero_features, int shuffle_history)
{
    reco_log_columns c = RECO_LOG_COLUMNS_INIT;
    assert_int_equal(reco_log_get_columns(&c, log), RECO_OK);
    const size_t n = c.n_rows;
    uint32_t *perm = malloc(n * sizeof(uint32_t));
    float *feat = malloc(n * BUDGET_D * sizeof(float));
    reco_log_row *rows = malloc(n * sizeof *rows);
    reco_rng rng;
    reco_rng_seed(&rng, 99, 0);
    if (shuffle_history)
        assert_int_equal(reco_rng_permutation(perm, &rng, n), RECO_OK);
    for (size_t r = 0; r < n; r++) {
        const size_t src = shuffle_history ? perm[r] : r;
        for (int k = 0; k < BUDGET_D; k++)
            feat[r * BUDGET_D + k] = zero_features ? 0.0f : c.user_features[src * BUDGET_D + k];
        rows[r] = (reco_log_row)RECO_LOG_ROW_INIT;
        rows[r].user = c.users[r];
        rows[r].session = c.sessions[r];
        rows[r].step = c.steps[r];
        rows[r].timestamp = c.timestamps[r];
        rows[r].item = c.items[src];
        rows[r].feedback = c.feedback[src];
        rows[r].exit = c.exits[r];
        rows[r].user_features = feat + r * BUDGET_D;
        rows[r].propensity = c.propensity[src];
        for (int h = 0; h < 3; h++)
            rows[r].oracle[h] = c.oracle[src * 3 + h];
    }
    reco_log *out = budget_new_log(1);
    assert_int_equal(reco_log_append(out, rows, n), RECO_OK);
    free(perm);
    free(feat);
    free(rows);
    return out;
}

/* A copy of `log` without its user features (for a model that takes none). */
static reco_log *budget_strip_features(const reco_log *log)
{
    reco_log_columns c = RECO_LOG_COLUMNS_INIT;
    assert_int_equal(reco_log_get_columns(&c, log), RECO_OK);
    reco_log_row *rows = malloc(c.n_rows * sizeof *rows);
    for (size_t r = 0; r < c.n_rows; r++) {
        rows[r] = (reco_log_row)RECO_LOG_ROW_INIT;
        rows[r].user = c.users[r];
        rows[r].session = c.sessions[r];
        rows[r].step = c.steps[r];
        rows[r].timestamp = c.timestamps[r];
        rows[r].item = c.items[r];
        rows[r].feedback = c.feedback[r];
        rows[r].exit = c.exits[r];
        rows[r].propensity = c.propensity[r];
        for (int h = 0; h < 3; h++)
            rows[r].oracle[h] = c.oracle[r * 3 + h];
    }
    reco_log *out = budget_new_log(0);
    assert_int_equal(reco_log_append(out, rows, c.n_rows), RECO_OK);
    free(rows);
    return out;
}

/* Fits a model on the time-budget logs with the inputs asked for, item features always. */
static void budget_fit(reco_fit_report *rep, const budget_logs *bl, const reco_log *train,
                       const reco_log *valid, uint32_t lookback, int user_features, int position,
                       uint32_t long_len)
{
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = BUDGET_NI;
    o.dim = 32;
    o.lookback = lookback;
    o.ffn_dim = 64;
    o.n_signals = 2;
    o.user_dim = user_features ? BUDGET_D : 0;
    o.max_batch = 128;
    o.max_candidates = 8;
    o.init_std = 0.1f;
    o.seed = 3;
    o.position = position;
    o.elapsed = position;
    o.long_len = long_len;
    o.item_dense_dim = 1;
    o.item_n_fields = 1;
    o.item_field_sizes[0] = BUDGET_K;
    reco_model *m = NULL;
    assert_int_equal(reco_model_create(&m, &o), RECO_OK);
    float dense[BUDGET_NI];
    int32_t fields[BUDGET_NI];
    budget_item_features(bl->env, dense, fields);
    assert_int_equal(reco_model_set_item_features(m, dense, fields, BUDGET_NI), RECO_OK);
    reco_fit_options fo = RECO_FIT_OPTIONS_INIT;
    fo.epochs = 15;
    fo.batch_size = 128;
    fo.lr = 3e-3;
    fo.patience = 2;
    *rep = (reco_fit_report)RECO_FIT_REPORT_INIT;
    if (user_features == 0) {
        /* a model without user features reads logs without them */
        reco_log *t2 = budget_strip_features(train), *v2 = budget_strip_features(valid);
        assert_int_equal(reco_fit_model(rep, m, t2, v2, &fo), RECO_OK);
        reco_log_free(t2);
        reco_log_free(v2);
    } else {
        assert_int_equal(reco_fit_model(rep, m, train, valid, &fo), RECO_OK);
    }
    reco_model_free(m);
}

static double gap_closed(const reco_fit_report *r, size_t h)
{
    return (r->model[h].auc - r->popularity[h].auc) / (r->oracle[h].auc - r->popularity[h].auc);
}

/* The feedback model on an environment with other mechanics, input by input, each against
 * the mutant that removes what the input carries (so each assertion is shown to be able to
 * fail):
 * - exit, driven by the elapsed time against a per-user budget: the truth allows an AUC of
 *   0.9 or more; the model with the position and elapsed time reaches 0.85 — without them
 *   it does not;
 * - clicks from the observable user features: on logs whose history is shuffled across users
 *   (it reveals nothing), the features lift the click AUC 0.05 or more over popularity —
 *   with the features zeroed they do not;
 * - clicks from the hidden interest that only the history reveals: without user features,
 *   the history (window of 20 and 40 earlier interactions) closes 60% or more of the gap
 *   from popularity to the truth — with the history shuffled across users it does not. */
static void test_fit_second_environment(void **state)
{
    (void)state;
    budget_logs bl;
    budget_make_logs(&bl, 40000);
    const size_t CLICK = 0, EXIT = 2;
    reco_fit_report full, no_pos, feat, feat0, hist, hist_shuf;
    budget_fit(&full, &bl, bl.train, bl.valid, 20, 1, 1, 40);
    budget_fit(&no_pos, &bl, bl.train, bl.valid, 20, 1, 0, 40);
    /* the features alone: on logs whose history is shuffled (it says nothing), the same
     * model with the features, and with them zeroed */
    reco_log *ts = budget_mutant(bl.train, 0, 1), *vs = budget_mutant(bl.valid, 0, 1);
    reco_log *t0 = budget_mutant(bl.train, 1, 1), *v0 = budget_mutant(bl.valid, 1, 1);
    budget_fit(&feat, &bl, ts, vs, 1, 1, 1, 0);
    budget_fit(&feat0, &bl, t0, v0, 1, 1, 1, 0);
    budget_fit(&hist, &bl, bl.train, bl.valid, 20, 0, 1, 40);
    budget_fit(&hist_shuf, &bl, ts, vs, 20, 0, 1, 40);
    assert_int_equal(full.has_oracle, 1);
    print_message("time-budget world (%llu train rows): exit AUC %.3f (oracle %.3f, popularity "
                  "%.3f; without position and elapsed %.3f)\n",
                  (unsigned long long)full.n_train, full.model[EXIT].auc, full.oracle[EXIT].auc,
                  full.popularity[EXIT].auc, no_pos.model[EXIT].auc);
    print_message("  click AUC: oracle %.3f, popularity %.3f; all inputs %.3f; features only "
                  "%.3f (zeroed %.3f); history only %.3f = %.0f%% of the gap (shuffled %.3f = "
                  "%.0f%%)\n", full.oracle[CLICK].auc, full.popularity[CLICK].auc,
                  full.model[CLICK].auc, feat.model[CLICK].auc, feat0.model[CLICK].auc,
                  hist.model[CLICK].auc, 100.0 * gap_closed(&hist, CLICK),
                  hist_shuf.model[CLICK].auc, 100.0 * gap_closed(&hist_shuf, CLICK));
    /* exit */
    assert_true(full.oracle[EXIT].auc >= 0.9);
    assert_true(full.model[EXIT].auc >= 0.85);
    assert_false(no_pos.model[EXIT].auc >= 0.85);
    /* user features */
    assert_true(feat.model[CLICK].auc >= feat.popularity[CLICK].auc + 0.05);
    assert_false(feat0.model[CLICK].auc >= feat0.popularity[CLICK].auc + 0.05);
    /* the history */
    assert_true(gap_closed(&hist, CLICK) >= 0.6);
    assert_false(gap_closed(&hist_shuf, CLICK) >= 0.6);
    reco_log_free(t0);
    reco_log_free(v0);
    reco_log_free(ts);
    reco_log_free(vs);
    reco_log_free(bl.train);
    reco_log_free(bl.valid);
    free(bl.env);
}

static void test_fit_stops_early_and_restores_the_best_checkpoint(void **state)
{
    fit_data *d = *state;
    char ckpt[128];
    snprintf(ckpt, sizeof ckpt, "%s/best.reco", d->dir);
    /* 200 training rows and a large learning rate: the validation loss soon rises. */
    reco_model *m = new_model(2, 64);
    reco_fit_options fo = RECO_FIT_OPTIONS_INIT;
    fo.epochs = 60;
    fo.batch_size = 16;
    fo.lr = 2e-2;
    fo.patience = 3;
    fo.checkpoint = ckpt;
    progress_log pl;
    memset(&pl, 0, sizeof pl);
    fo.progress = on_epoch;
    fo.payload = &pl;
    reco_fit_report rep = RECO_FIT_REPORT_INIT;
    assert_int_equal(reco_fit_model(&rep, m, d->tiny_train, d->tiny_valid, &fo), RECO_OK);
    print_message("tiny data: %u epochs, best %u, valid loss %.4f -> %.4f\n", rep.epochs_run,
                  rep.best_epoch, pl.valid_loss[0], pl.valid_loss[rep.epochs_run - 1]);
    assert_int_equal(rep.stopped_early, 1);
    assert_true(rep.epochs_run < 60);
    assert_int_equal(rep.epochs_run, rep.best_epoch + 3);
    for (uint32_t e = rep.best_epoch + 1; e <= rep.epochs_run; e++)
        assert_true(pl.valid_loss[e - 1] >= rep.best_valid_loss);
    assert_float_equal(pl.valid_loss[rep.best_epoch - 1], rep.best_valid_loss, 0.0);
    /* The model holds exactly the checkpoint's weights. */
    reco_model *saved = NULL;
    assert_int_equal(reco_model_open(&saved, ckpt, NULL), RECO_OK);
    assert_int_equal(reco_model_n_params(saved), reco_model_n_params(m));
    assert_memory_equal(saved->params, m->params, reco_model_n_params(m) * sizeof(float));
    reco_model_free(saved);
    reco_model_free(m);
}

static void test_fit_is_deterministic(void **state)
{
    fit_data *d = *state;
    reco_fit_options fo = RECO_FIT_OPTIONS_INIT;
    fo.epochs = 2;
    fo.batch_size = 32;
    fo.max_examples_per_epoch = 3000;
    fo.seed = 77;
    reco_fit_report a = RECO_FIT_REPORT_INIT, b = RECO_FIT_REPORT_INIT;
    double ta[2], tb[2];
    a.history_cap = b.history_cap = 2;
    a.train_loss = ta;
    b.train_loss = tb;
    reco_model *m1 = new_model(3, 64), *m2 = new_model(3, 64);
    assert_int_equal(reco_fit_model(&a, m1, d->train, d->valid, &fo), RECO_OK);
    assert_int_equal(reco_fit_model(&b, m2, d->train, d->valid, &fo), RECO_OK);
    assert_memory_equal(ta, tb, sizeof ta);
    assert_int_equal(a.best_epoch, b.best_epoch);
    assert_memory_equal(a.model, b.model, sizeof a.model);
    assert_memory_equal(a.popularity, b.popularity, sizeof a.popularity);
    assert_memory_equal(a.global_rate, b.global_rate, sizeof a.global_rate);
    assert_memory_equal(&a.best_valid_loss, &b.best_valid_loss, sizeof(double));
    assert_memory_equal(m1->params, m2->params, reco_model_n_params(m1) * sizeof(float));
    /* Only max_examples_per_epoch examples per epoch were used. */
    assert_int_equal(a.n_train, reco_log_n_rows(d->train));
    /* Another seed shuffles differently. */
    reco_model *m3 = new_model(3, 64);
    fo.seed = 78;
    assert_int_equal(reco_fit_model(&b, m3, d->train, d->valid, &fo), RECO_OK);
    assert_true(memcmp(ta, tb, sizeof ta) != 0);
    reco_model_free(m1);
    reco_model_free(m2);
    reco_model_free(m3);
}

static void test_fit_callback_can_stop_and_validation_is_optional(void **state)
{
    fit_data *d = *state;
    reco_model *m = new_model(4, 64);
    reco_fit_options fo = RECO_FIT_OPTIONS_INIT;
    fo.epochs = 5;
    fo.batch_size = 64;
    fo.max_examples_per_epoch = 1000;
    progress_log pl;
    memset(&pl, 0, sizeof pl);
    pl.stop_at = 2;
    fo.progress = on_epoch;
    fo.payload = &pl;
    reco_fit_report rep = RECO_FIT_REPORT_INIT;
    assert_int_equal(reco_fit_model(&rep, m, d->train, d->valid, &fo), RECO_OK);
    assert_int_equal(rep.cancelled, 1);
    assert_int_equal(rep.epochs_run, 2);
    assert_int_equal(pl.calls, 2);
    /* Without validation: every epoch counts as the best, no early stopping, NaN losses. */
    char ckpt[128];
    snprintf(ckpt, sizeof ckpt, "%s/last.reco", d->dir);
    pl.stop_at = 0;
    pl.calls = 0;
    fo.epochs = 3;
    fo.checkpoint = ckpt;
    reco_fit_report r2 = RECO_FIT_REPORT_INIT;
    assert_int_equal(reco_fit_model(&r2, m, d->train, NULL, &fo), RECO_OK);
    assert_int_equal(r2.epochs_run, 3);
    assert_int_equal(r2.best_epoch, 3);
    assert_int_equal(r2.n_valid, 0);
    assert_true(isnan(r2.best_valid_loss));
    assert_true(isnan(pl.valid_loss[0]));
    struct stat st;
    assert_int_equal(stat(ckpt, &st), 0);
    /* A NULL report is fine. */
    fo.epochs = 1;
    fo.progress = NULL;
    assert_int_equal(reco_fit_model(NULL, m, d->train, d->valid, &fo), RECO_OK);
    reco_model_free(m);
}

static void test_fit_rejects_bad_options_and_inputs(void **state)
{
    fit_data *d = *state;
    reco_model *m = new_model(5, 64);
    reco_model *before = new_model(5, 64);
    progress_log pl;
    memset(&pl, 0, sizeof pl);
    reco_fit_options fo = RECO_FIT_OPTIONS_INIT;
    fo.batch_size = 32;
    fo.progress = on_epoch;
    fo.payload = &pl;
    reco_fit_options b;
    reco_fit_report rep = RECO_FIT_REPORT_INIT;
    reco_error_info info = RECO_ERROR_INFO_INIT;

    b = fo;
    b.epochs = 0;
    assert_reco_error(reco_fit_model(&rep, m, d->train, d->valid, &b), RECO_EINVAL,
                      "epochs 0 is out of range");
    reco_error_get(&info);
    assert_string_equal(info.field, "fit.epochs");
    b = fo;
    b.batch_size = 65;
    assert_reco_error(reco_fit_model(&rep, m, d->train, d->valid, &b), RECO_EINVAL,
                      "batch_size 65 is out of range [1, 64]");
    b = fo;
    b.lr = 0.0;
    assert_reco_error(reco_fit_model(&rep, m, d->train, d->valid, &b), RECO_EINVAL, "lr 0");
    b.lr = NAN;
    assert_reco_error(reco_fit_model(&rep, m, d->train, d->valid, &b), RECO_EINVAL, "lr nan");
    b = fo;
    b.min_delta = -1.0;
    assert_reco_error(reco_fit_model(&rep, m, d->train, d->valid, &b), RECO_EINVAL, "min_delta");
    b = fo;
    b.popularity_prior = -1.0;
    assert_reco_error(reco_fit_model(&rep, m, d->train, d->valid, &b), RECO_EINVAL,
                      "popularity_prior");
    b = fo;
    b.version = 2;
    assert_reco_error(reco_fit_model(&rep, m, d->train, d->valid, &b), RECO_EVERSION,
                      "reco_fit_options");
    reco_fit_report badrep = RECO_FIT_REPORT_INIT;
    badrep.version = 0;
    assert_reco_error(reco_fit_model(&badrep, m, d->train, d->valid, &fo), RECO_EVERSION,
                      "reco_fit_report");
    badrep.version = RECO_FIT_REPORT_VERSION;
    badrep.history_cap = 3;
    assert_reco_error(reco_fit_model(&badrep, m, d->train, d->valid, &fo), RECO_EINVAL,
                      "history arrays are NULL");
    assert_reco_error(reco_fit_model(&rep, NULL, d->train, d->valid, &fo), RECO_EINVAL, "NULL");
    assert_reco_error(reco_fit_model(&rep, m, NULL, d->valid, &fo), RECO_EINVAL, "NULL");
    reco_log *empty = NULL;
    reco_log_create(&empty, NULL);
    assert_reco_error(reco_fit_model(&rep, m, empty, d->valid, &fo), RECO_EINVAL,
                      "the training log is empty");
    assert_reco_error(reco_fit_model(&rep, m, d->train, empty, &fo), RECO_EINVAL,
                      "the validation log is empty");
    /* Signals and items must fit the model. */
    reco_log_options lo = RECO_LOG_OPTIONS_INIT;
    lo.n_signals = 3;
    reco_log *three = NULL;
    reco_log_create(&three, &lo);
    reco_log_row r = RECO_LOG_ROW_INIT;
    assert_int_equal(reco_log_append(three, &r, 1), RECO_OK);
    assert_reco_error(reco_fit_model(&rep, m, three, NULL, &fo), RECO_EINVAL,
                      "the training log has 3 signals, the model 4");
    r.item = NI;
    assert_int_equal(reco_log_append(empty, &r, 1), RECO_OK);
    assert_reco_error(reco_fit_model(&rep, m, empty, NULL, &fo), RECO_EINVAL,
                      "shows item 30, but the model has 30 items");
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    mo.n_items = NI;
    mo.dim = 8;
    mo.lookback = LB;
    mo.n_heads = 2;
    mo.user_dim = 3;
    mo.max_batch = 256;
    reco_model *feat = NULL;
    assert_int_equal(reco_model_create(&feat, &mo), RECO_OK);
    assert_reco_error(reco_fit_model(&rep, feat, d->train, NULL, &fo), RECO_EINVAL,
                      "user features");
    /* A checkpoint that cannot be written: the error comes after training started, and the
     * model then holds the best weights so far. */
    b = fo;
    b.epochs = 1;
    b.max_examples_per_epoch = 64;
    b.checkpoint = "/nonexistent-dir/x.reco";
    b.progress = NULL;
    assert_reco_error(reco_fit_model(&rep, m, d->train, d->valid, &b), RECO_EIO, "x.reco");
    /* No failed call ran the callback. */
    assert_int_equal(pl.calls, 0);
    /* Options init. */
    reco_fit_options oi, om = RECO_FIT_OPTIONS_INIT;
    assert_int_equal(reco_fit_options_init(&oi, RECO_FIT_OPTIONS_VERSION), RECO_OK);
    assert_int_equal(oi.epochs, om.epochs);
    assert_int_equal(oi.batch_size, om.batch_size);
    assert_float_equal(oi.lr, om.lr, 0.0);
    assert_int_equal(oi.patience, om.patience);
    assert_float_equal(oi.min_delta, om.min_delta, 0.0);
    assert_int_equal(oi.seed, om.seed);
    assert_string_equal(oi.checkpoint, "");
    assert_int_equal(oi.max_examples_per_epoch, om.max_examples_per_epoch);
    assert_float_equal(oi.popularity_prior, om.popularity_prior, 0.0);
    assert_null(oi.progress);
    assert_null(oi.payload);
    assert_reco_error(reco_fit_options_init(&oi, 0), RECO_EVERSION, "version 0");
    assert_reco_error(reco_fit_options_init(NULL, 1), RECO_EINVAL, "NULL");
    reco_model_free(feat);
    reco_log_free(three);
    reco_log_free(empty);
    reco_model_free(m);
    reco_model_free(before);
}

static uint64_t world_key(uint64_t user, uint64_t ordinal, void *payload)
{
    (void)payload;
    return RECO_WORLD_SESSION_KEY(user, ordinal);
}

/* The acceptance check on the ground-truth world: a 1000-item world (the default
 * catalog needs more than this test's data, see docs/training.md), 100k interactions under
 * the popularity policy, ~7 sessions per user. */
static void test_fit_world_logs_beat_the_popularity_baseline(void **state)
{
    (void)state;
    reco_world_options wo = RECO_WORLD_OPTIONS_INIT;
    wo.n_items = 1000;
    wo.n_users = 1000;
    wo.max_sessions = 256;
    reco_world *w = NULL;
    assert_int_equal(reco_world_create(&w, &wo), RECO_OK);
    reco_env env;
    assert_int_equal(reco_world_env(&env, w), RECO_OK);
    float pop[1000];
    int32_t ids[1000];
    for (int32_t i = 0; i < 1000; i++)
        ids[i] = i;
    assert_int_equal(reco_world_item_info(NULL, NULL, NULL, pop, w, ids, 1000), RECO_OK);
    reco_log_policy pol = RECO_LOG_POLICY_INIT;
    pol.kind = RECO_LOG_POLICY_POPULARITY;
    pol.item_weights = pop;
    pol.n_item_weights = 1000;
    reco_log_generate_options go = RECO_LOG_GENERATE_OPTIONS_INIT;
    go.n_interactions = 100000;
    go.n_users = 1000;
    go.max_candidates = wo.n_candidates;
    go.max_steps = wo.max_session_len - 1;
    go.session_key = world_key;
    reco_log *log = NULL, *train = NULL, *valid = NULL;
    assert_int_equal(reco_log_create(&log, NULL), RECO_OK);
    assert_int_equal(reco_log_generate(log, &env, &pol, &go), RECO_OK);
    assert_int_equal(reco_log_split(&train, &valid, log, 0.15, 7), RECO_OK);
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    mo.n_items = 1000;
    mo.n_signals = 4;
    mo.lookback = wo.lookback;
    mo.dim = 16;
    mo.n_heads = 2;
    mo.ffn_dim = 32;
    mo.max_batch = 256;
    mo.init_std = 0.1f;
    reco_model *m = NULL;
    assert_int_equal(reco_model_create(&m, &mo), RECO_OK);
    reco_fit_options fo = RECO_FIT_OPTIONS_INIT;
    fo.epochs = 12;
    fo.batch_size = 256;
    fo.lr = 3e-3;
    fo.patience = 3;
    reco_fit_report rep = RECO_FIT_REPORT_INIT;
    assert_int_equal(reco_fit_model(&rep, m, train, valid, &fo), RECO_OK);
    print_report("world (1000 items), 100k interactions, popularity logging", &rep);
    for (uint32_t s = RECO_SIGNAL_CLICK; s <= RECO_SIGNAL_LONG_WATCH; s++) {
        assert_true(rep.model[s].auc > rep.popularity[s].auc + 0.02);
        assert_true(rep.model[s].log_loss < rep.popularity[s].log_loss);
        assert_true(rep.model[s].ece < 0.03);
    }
    reco_model_free(m);
    reco_log_free(train);
    reco_log_free(valid);
    reco_log_free(log);
    reco_world_free(w);
}

/* ---- configuration ---------------------------------------------------------------------- */

static void test_fit_yaml_section(void **state)
{
    (void)state;
    reco_config *cfg = NULL;
    assert_int_equal(reco_config_create(&cfg, NULL), RECO_OK);
    /* Defaults equal RECO_FIT_OPTIONS_INIT. */
    reco_fit_options d = RECO_FIT_OPTIONS_INIT, got = RECO_FIT_OPTIONS_INIT;
    got.epochs = 0;
    got.lr = 0.0;
    got.checkpoint = NULL;
    got.payload = &d; /* not a YAML member: left alone */
    assert_int_equal(reco_config_get_fit(&got, cfg), RECO_OK);
    assert_int_equal(got.epochs, d.epochs);
    assert_int_equal(got.batch_size, d.batch_size);
    assert_float_equal(got.lr, d.lr, 0.0);
    assert_int_equal(got.patience, d.patience);
    assert_float_equal(got.min_delta, d.min_delta, 0.0);
    assert_int_equal(got.seed, d.seed);
    assert_string_equal(got.checkpoint, "");
    assert_int_equal(got.max_examples_per_epoch, d.max_examples_per_epoch);
    assert_float_equal(got.popularity_prior, d.popularity_prior, 0.0);
    assert_ptr_equal(got.payload, &d);
    const char *yaml = "fit:\n  epochs: 40\n  batch_size: 512\n  lr: 3e-4\n  patience: 5\n"
                       "  checkpoint: runs/best.reco\n  popularity_prior: 2.5\n";
    assert_int_equal(reco_config_load_string(cfg, yaml, strlen(yaml), "exp.yaml"), RECO_OK);
    assert_int_equal(reco_config_get_fit(&got, cfg), RECO_OK);
    assert_int_equal(got.epochs, 40);
    assert_int_equal(got.batch_size, 512);
    assert_float_equal(got.lr, 3e-4, 0.0);
    assert_int_equal(got.patience, 5);
    assert_string_equal(got.checkpoint, "runs/best.reco");
    assert_float_equal(got.popularity_prior, 2.5, 0.0);
    /* Errors name the option. */
    const char *bad = "fit:\n  lr: 0\n";
    reco_error_info info = RECO_ERROR_INFO_INIT;
    assert_int_equal(reco_config_load_string(cfg, bad, strlen(bad), "exp.yaml"), RECO_ECONFIG);
    reco_error_get(&info);
    assert_string_equal(info.field, "fit.lr");
    assert_int_equal(info.line, 2);
    assert_int_equal(reco_config_set(cfg, "fit.epochs", "7"), RECO_OK);
    assert_int_equal(reco_config_get_fit(&got, cfg), RECO_OK);
    assert_int_equal(got.epochs, 7);
    /* set_fit: a NULL checkpoint is stored as "", ranges are checked. */
    reco_fit_options in = RECO_FIT_OPTIONS_INIT;
    in.checkpoint = NULL;
    in.seed = 99;
    assert_int_equal(reco_config_set_fit(cfg, &in), RECO_OK);
    assert_int_equal(reco_config_get_fit(&got, cfg), RECO_OK);
    assert_int_equal(got.seed, 99);
    assert_string_equal(got.checkpoint, "");
    in.batch_size = 0;
    assert_reco_error(reco_config_set_fit(cfg, &in), RECO_ECONFIG, "fit.batch_size");
    /* Written YAML loads back to the same values. */
    char text[8192];
    size_t len = 0;
    assert_int_equal(reco_config_write_string(cfg, text, sizeof text, &len), RECO_OK);
    assert_non_null(strstr(text, "fit:\n"));
    reco_config *again = NULL;
    assert_int_equal(reco_config_create(&again, NULL), RECO_OK);
    assert_int_equal(reco_config_load_string(again, text, len, "written"), RECO_OK);
    reco_fit_options back = RECO_FIT_OPTIONS_INIT;
    assert_int_equal(reco_config_get_fit(&back, again), RECO_OK);
    assert_int_equal(back.seed, 99);
    assert_int_equal(back.epochs, d.epochs);
    reco_config_free(again);
    reco_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_metrics_auc_hand_cases),
        cmocka_unit_test(test_fit_metrics_log_loss_and_ece_hand_cases),
        cmocka_unit_test(test_fit_learns_history_dependent_clicks),
        cmocka_unit_test(test_fit_uses_the_session_context),
        cmocka_unit_test(test_fit_second_environment),
        cmocka_unit_test(test_fit_stops_early_and_restores_the_best_checkpoint),
        cmocka_unit_test(test_fit_is_deterministic),
        cmocka_unit_test(test_fit_callback_can_stop_and_validation_is_optional),
        cmocka_unit_test(test_fit_rejects_bad_options_and_inputs),
        cmocka_unit_test(test_fit_world_logs_beat_the_popularity_baseline),
        cmocka_unit_test(test_fit_yaml_section),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
