/* recomind: the whole RecoMind pipeline on the built-in world, judged in the world.
 *
 * For each seed of the experiment (in parallel on `experiment.threads` threads):
 *   1. logs: the world writes interaction logs under a logging policy (by default a
 *      supervised recommender in production: a model fitted on popularity-logged data picks
 *      with a softmax of its expected reward);
 *   2. the feedback model is fitted on them; the simulator is that model;
 *   3. the Q-network is warm-started from it (or randomly initialised) and trained with
 *      Double DQN + prioritized replay in the simulator, exploring with the top-K softmax;
 *   4. four policies - random, popular, greedy-supervised (argmax of the model's expected
 *      immediate reward) and RecoMind (argmax of the Q head) - play the same evaluation
 *      users, with common random numbers, in the simulator and in the world.
 * The table gives each metric with its interval and the paired lifts against
 * greedy-supervised, per seed and pooled over the seeds; results.json, results.csv,
 * learning_curve.csv and (with gnuplot) two PNG plots go to `experiment.output.dir`.
 * Run with --help for the options. Uses only the public API. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define RECO_LAB_API /* world, logs, fit, evaluation and configuration are lab API (docs/abi.md) */
#include <reco/reco.h>

/* The built-in defaults: examples/configs/default.yaml holds the same text (a test checks
 * that both give the same effective configuration). */
static const char default_yaml[] =
    "experiment:\n"
    "  name: recomind-default\n"
    "  threads: 2\n"
    "  seeds: [1, 2, 3]\n"
    "  output: {dir: ., formats: [json, csv, png]}\n"
    "  logging: {policy: model, popularity_power: 0.5, bootstrap_interactions: 100000,\n"
    "            interactions: 200000, interactions_per_user: 100, temperature: 0.1}\n"
    "  evaluation: {sessions: 1000, deep_depth: 10, confidence: 0.95}\n"
    "world: {n_items: 1000, exclude_seen: true, carry_history: true, user_features: true,\n"
    "        long_len: 50}\n"
    "model: {dim: 16, n_blocks: 1, n_heads: 2, ffn_dim: 32, init_std: 0.1, lr: 0.0002,\n"
    "        max_batch: 256, max_candidates: 512, position: true, elapsed: true}\n"
    "fit: {epochs: 20, batch_size: 256, lr: 0.001, patience: 3}\n"
    "sim: {max_session_len: 200, n_candidates: 500, exclude_seen: true,\n"
    "      expected_reward: true}\n"
    "qnet: {gamma: 0.8, target_period: 250}\n"
    "explorer: {rule: top_k_softmax, top_k_fraction: 0.25}\n"
    "trainer: {n_generators: 1, sessions_per_generator: 16, segment_len: 32,\n"
    "          replay_ratio: 0.25, warmup: 2000, batch_size: 64, n_candidates: 128,\n"
    "          snapshot_period: 1, max_staleness: 0, total_updates: 60000,\n"
    "          metrics_interval: 6000}\n";

enum { N_POL = 4, BASELINE = 2, MAX_CURVE = 64 };

/* Model inputs --without can leave out. */
enum {
    WITHOUT_USER = 1u << 0,
    WITHOUT_ITEM = 1u << 1,
    WITHOUT_LONG = 1u << 2,
    WITHOUT_POSITION = 1u << 3,
    WITHOUT_ELAPSED = 1u << 4,
    WITHOUT_STATE_BIAS = 1u << 5
};
static const char *const without_names[] = {"user_features", "item_features", "long_history",
                                            "position", "elapsed", "state_bias"};
static const char *const pol_names[N_POL] = {"random", "popular", "greedy-supervised",
                                              "recomind"};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;
static int quiet;
static double t_start;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    if (quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&print_lock);
    printf("[%6.1f s] ", now() - t_start);
    vprintf(fmt, ap);
    fflush(stdout);
    pthread_mutex_unlock(&print_lock);
    va_end(ap);
}

static uint64_t world_key(uint64_t user, uint64_t ordinal, void *payload)
{
    (void)payload;
    return RECO_WORLD_SESSION_KEY(user, ordinal);
}

static void usage(FILE *f)
{
    fprintf(f,
        "NAME\n"
        "    recomind - the RecoMind pipeline on the built-in world, judged in the world\n"
        "\n"
        "SYNOPSIS\n"
        "    recomind [--config FILE] [--set PATH=VALUE]... [--out DIR] [--seeds LIST]\n"
        "             [--init warm|random] [--ensemble K] [--select-heldout] [--fit-only]\n"
        "             [--without INPUTS] [--eval-heldout]\n"
        "             [--print-config] [--quiet] [--help]\n"
        "\n"
        "DESCRIPTION\n"
        "    For each seed: the world writes interaction logs (by default under a supervised\n"
        "    recommender with softmax exploration, itself fitted on popularity-logged data),\n"
        "    the feedback model is fitted on them and becomes the simulator, and the\n"
        "    RecoMind Q-network, warm-started from it, is trained with Double DQN and\n"
        "    prioritized replay in the simulator, exploring with epsilon-greedy over a\n"
        "    softmax of the top 25%% Q-ranked candidates. Then random, popular,\n"
        "    greedy-supervised and RecoMind play the same evaluation users with common\n"
        "    random numbers in the simulator and in the world. Seeds run in parallel on\n"
        "    experiment.threads threads.\n"
        "\n"
        "    Prints, per environment, each metric's mean with its interval and the paired\n"
        "    lift of each policy over greedy-supervised, per seed and pooled over seeds.\n"
        "    Writes into experiment.output.dir: results.json (schema libreco.eval/1 with\n"
        "    one environment per seed and side, plus 'sim (pooled)' and 'world (pooled)'),\n"
        "    results.csv, learning_curve.csv, and with gnuplot learning_curve.png and\n"
        "    lifts.png. Without --config the built-in defaults are used; they equal\n"
        "    examples/configs/default.yaml.\n"
        "\n"
        "OPTIONS\n"
        "    --config FILE      YAML experiment (sections experiment, world, model, fit,\n"
        "                       sim, qnet, replay, explorer, trainer)\n"
        "    --set PATH=VALUE   override one option after the file, e.g.\n"
        "                       --set trainer.total_updates=20000 (repeatable)\n"
        "    --out DIR          same as --set experiment.output.dir=DIR\n"
        "    --seeds LIST       same as --set experiment.seeds=[LIST], e.g. --seeds 1,2\n"
        "    --init warm|random warm start from the feedback model (default) or random\n"
        "    --ensemble K       train in K simulators of K feedback models fitted on the same\n"
        "                       logs with other seeds (1..8, default 1), session slot i in\n"
        "                       simulator i mod K; the evaluation simulator is the first\n"
        "    --select-heldout   also log as many interactions of other users, fit a second\n"
        "                       model on them alone, and keep the Q-network snapshot (of\n"
        "                       those taken every trainer.metrics_interval updates) whose\n"
        "                       greedy policy earns most in that model's simulator\n"
        "    --fit-only         stop after the feedback model: print its fit against the\n"
        "                       world's own probabilities (per seed) and exit; for\n"
        "                       comparing model inputs on held-out logs\n"
        "    --eval-heldout     also log as many interactions of other users, fit a second\n"
        "                       model on them alone, and evaluate in its simulator\n"
        "                       (cross-fitted: the policies were not chosen on its errors)\n"
        "    --without INPUTS   leave inputs out of the feedback model (and the Q-network),\n"
        "                       the world unchanged: a comma list of user_features,\n"
        "                       item_features, long_history, position, elapsed, state_bias\n"
        "                       (for ablations, with --fit-only)\n"
        "    --print-config     print the effective configuration as YAML and exit; the\n"
        "                       options the run derives or does not read are comments\n"
        "                       that say where their values come from\n"
        "    --quiet            no progress lines\n"
        "    --help, -h         this text\n"
        "\n"
        "CONFIGURATION\n"
        "    Options the run derives (model.n_items from world.n_items, replay.lookback\n"
        "    from world.lookback, ...) or never reads (experiment.seed, trainer.metrics_csv,\n"
        "    ...) are refused when a file or --set gives them, with the file:line:column\n"
        "    or the --set argument and the reason; docs/experiment.md lists them.\n"
        "\n"
        "EXIT STATUS\n"
        "    0 on success, 1 on a library or I/O error, 2 on a bad command line or\n"
        "    configuration.\n");
}

/* ---- one seed ---------------------------------------------------------------------------- */

typedef struct curve_point {
    uint64_t updates;
    double eval_return; /* greedy-Q in a fresh simulator, curve sessions */
    double loss, mean_q, explore_return;
} curve_point;

typedef struct seed_job {
    /* inputs */
    const reco_config *cfg;
    uint64_t seed;
    uint32_t index;
    int random_init;
    int heldout; /* select the Q snapshot on a held-out simulator */
    int eval_heldout; /* evaluate in the held-out model's simulator */
    reco_fit_report heldout_fit;
    int fit_only; /* stop after the feedback model */
    unsigned without; /* WITHOUT_* inputs left out of the models */
    uint32_t ensemble; /* feedback models the training simulators use, 1..MAX_ENSEMBLE */
    /* outputs */
    reco_eval *ev[2]; /* sim, world */
    curve_point curve[MAX_CURVE];
    uint32_t n_curve;
    double greedy_sim_return; /* on the curve sessions */
    double fit_auc_click, fit_auc_exit;
    /* the model's and the world's mean probabilities on each policy's own choices (world
     * states); filled with --fit-only for greedy-supervised, else for every policy */
    double cal_model[4][RECO_WORLD_N_SIGNALS + 1], cal_true[4][RECO_WORLD_N_SIGNALS + 1];
    int have_cal;
    reco_fit_report fit; /* the feedback model's fit, against the world's own probabilities */
    int rc;
    char err[512];
} seed_job;

typedef struct curve_ctx {
    seed_job *job;
    const reco_model *feedback;
    reco_sim_options so;
    reco_world *start_world;
    const uint64_t *users;
    uint32_t n_users;
    reco_policy policy;
    int failed;
    /* held-out selection: the snapshot with the best return in a simulator of a model fitted
     * on other logs is kept in `best` */
    const reco_model *heldout;
    const reco_model *online;
    reco_model *best;
    double best_return;
    uint64_t best_updates;
} curve_ctx;

static int reset_world_hook(void *w)
{
    return reco_world_reset(w);
}

typedef struct sim_reset {
    reco_sim *sim;
    reco_world *world;
} sim_reset;

static int reset_sim_hook(void *p)
{
    sim_reset *s = p;
    int rc = reco_world_reset(s->world);
    return rc < 0 ? rc : reco_sim_reset(s->sim);
}

/* Mean return of @p policy on the curve sessions in a fresh simulator. */
static int sim_return(double *out, const curve_ctx *c, const reco_policy *policy)
{
    reco_env wenv, senv;
    reco_sim *sim = NULL;
    reco_world_reset(c->start_world);
    reco_world_env(&wenv, c->start_world);
    int rc = reco_sim_create(&sim, c->feedback, &c->so);
    if (rc == RECO_OK)
        rc = reco_sim_set_start_env(sim, &wenv);
    if (rc == RECO_OK)
        rc = reco_sim_env(&senv, sim);
    reco_run_stats st = RECO_RUN_STATS_INIT;
    reco_run_options ro = RECO_RUN_OPTIONS_INIT;
    ro.max_candidates = c->so.n_candidates;
    if (rc == RECO_OK)
        rc = reco_run_sessions(&st, NULL, NULL, &senv, policy, c->users, c->n_users, &ro);
    reco_sim_free(sim);
    *out = st.sessions ? st.reward / (double)st.sessions : 0.0;
    return rc;
}

static int on_progress(const reco_trainer_metrics *m, void *payload)
{
    curve_ctx *c = payload;
    seed_job *j = c->job;
    double r = 0.0;
    if (sim_return(&r, c, &c->policy) < 0) {
        c->failed = 1;
        return 1;
    }
    if (c->heldout != NULL) {
        curve_ctx h = *c;
        h.feedback = c->heldout;
        double rh = 0.0;
        if (sim_return(&rh, &h, &c->policy) < 0 ||
            (rh > c->best_return && reco_model_copy_params(c->best, c->online) < 0)) {
            c->failed = 1;
            return 1;
        }
        if (rh > c->best_return) {
            c->best_return = rh;
            c->best_updates = m->updates;
        }
    }
    if (j->n_curve < MAX_CURVE) {
        curve_point *p = &j->curve[j->n_curve++];
        p->updates = m->updates;
        p->eval_return = r;
        p->loss = m->loss;
        p->mean_q = m->mean_q;
        p->explore_return = m->sim_return;
    }
    say("seed %llu: %7llu updates  sim return of greedy-Q %.3f (greedy-supervised %.3f)  "
        "loss %.4f  mean Q %.3f  %.0f updates/s\n", (unsigned long long)j->seed,
        (unsigned long long)m->updates, r, j->greedy_sim_return, m->loss, m->mean_q,
        m->updates_per_s);
    return 0;
}

/* ---- an ensemble of simulators as one env: slot i plays in simulator i mod K ------------- */

enum { MAX_ENSEMBLE = 8 };

typedef struct mix_env {
    uint32_t K, L, U, C;
    reco_env sims[MAX_ENSEMBLE];
    /* scratch for one call, (max_sessions) rows */
    uint32_t *slots, *rows, *counts, *fb;
    uint64_t *users;
    int32_t *items, *shown;
    uint32_t *hfb;
    float *feat, *reward;
    int *done;
    size_t cap_cand;
    int32_t *cand;
} mix_env;

/* Rows of group k (slots[i] % K == k): their slots in mx->slots, their row indices in
 * mx->rows; returns the count. */
static uint32_t mix_group(mix_env *mx, const uint32_t *slots, uint32_t n, uint32_t k)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++)
        if (slots[i] % mx->K == k) {
            mx->slots[m] = slots[i];
            mx->rows[m++] = i;
        }
    return m;
}

static int mix_reset(const uint32_t *slots, const uint64_t *users, uint32_t n, void *p)
{
    mix_env *mx = p;
    for (uint32_t k = 0; k < mx->K; k++) {
        const uint32_t m = mix_group(mx, slots, n, k);
        for (uint32_t i = 0; i < m; i++)
            mx->users[i] = users[mx->rows[i]];
        int rc = m ? mx->sims[k].reset(mx->slots, mx->users, m, mx->sims[k].payload) : 0;
        if (rc < 0)
            return rc;
    }
    return RECO_OK;
}

static int mix_observe(int32_t *items_out, uint32_t *fb_out, float *feat_out,
                       const uint32_t *slots, uint32_t n, void *p)
{
    mix_env *mx = p;
    for (uint32_t k = 0; k < mx->K; k++) {
        const uint32_t m = mix_group(mx, slots, n, k);
        if (m == 0)
            continue;
        int rc = mx->sims[k].observe(mx->items, mx->hfb, mx->U ? mx->feat : NULL, mx->slots, m,
                                     mx->sims[k].payload);
        if (rc < 0)
            return rc;
        for (uint32_t i = 0; i < m; i++) {
            const size_t r = mx->rows[i];
            memcpy(items_out + r * mx->L, mx->items + (size_t)i * mx->L, mx->L * sizeof(int32_t));
            memcpy(fb_out + r * mx->L, mx->hfb + (size_t)i * mx->L, mx->L * sizeof(uint32_t));
            if (mx->U && feat_out)
                memcpy(feat_out + r * mx->U, mx->feat + (size_t)i * mx->U,
                       mx->U * sizeof(float));
        }
    }
    return RECO_OK;
}

static int mix_candidates(int32_t *items_out, uint32_t *count_out, uint32_t max_candidates,
                          const uint32_t *slots, uint32_t n, void *p)
{
    mix_env *mx = p;
    if ((size_t)max_candidates * n > mx->cap_cand) {
        /* cannot happen in this program (the trainer asks for at most the world's
         * n_candidates per row); an env of our own cannot set the library's error details */
        fprintf(stderr, "recomind: the ensemble env was asked for %u candidates x %u rows, "
                "more than its %zu\n", max_candidates, n, mx->cap_cand);
        return RECO_EINVAL;
    }
    for (uint32_t k = 0; k < mx->K; k++) {
        const uint32_t m = mix_group(mx, slots, n, k);
        if (m == 0)
            continue;
        int rc = mx->sims[k].candidates(mx->cand, mx->counts, max_candidates, mx->slots, m,
                                        mx->sims[k].payload);
        if (rc < 0)
            return rc;
        for (uint32_t i = 0; i < m; i++) {
            const size_t r = mx->rows[i];
            memcpy(items_out + r * max_candidates, mx->cand + (size_t)i * max_candidates,
                   max_candidates * sizeof(int32_t));
            count_out[r] = mx->counts[i];
        }
    }
    return RECO_OK;
}

static int mix_step(uint32_t *fb_out, float *reward_out, int *done_out, const uint32_t *slots,
                    const int32_t *items, uint32_t n, void *p)
{
    mix_env *mx = p;
    for (uint32_t k = 0; k < mx->K; k++) {
        const uint32_t m = mix_group(mx, slots, n, k);
        if (m == 0)
            continue;
        for (uint32_t i = 0; i < m; i++)
            mx->shown[i] = items[mx->rows[i]];
        int rc = mx->sims[k].step(mx->fb, mx->reward, mx->done, mx->slots, mx->shown, m,
                                  mx->sims[k].payload);
        if (rc < 0)
            return rc;
        for (uint32_t i = 0; i < m; i++) {
            fb_out[mx->rows[i]] = mx->fb[i];
            reward_out[mx->rows[i]] = mx->reward[i];
            done_out[mx->rows[i]] = mx->done[i];
        }
    }
    return RECO_OK;
}

static void mix_free(mix_env *mx)
{
    free(mx->slots);
    free(mx->rows);
    free(mx->counts);
    free(mx->fb);
    free(mx->users);
    free(mx->items);
    free(mx->shown);
    free(mx->hfb);
    free(mx->feat);
    free(mx->reward);
    free(mx->done);
    free(mx->cand);
}

/* The env of K simulators (K >= 1) with S slots each, candidates up to C. */
static int mix_init(mix_env *mx, reco_env *out, reco_sim *const *sims, uint32_t K, uint32_t S,
                    uint32_t C)
{
    memset(mx, 0, sizeof *mx);
    mx->K = K;
    for (uint32_t k = 0; k < K; k++) {
        int rc = reco_sim_env(&mx->sims[k], sims[k]);
        if (rc < 0)
            return rc;
    }
    mx->L = mx->sims[0].lookback;
    mx->U = mx->sims[0].user_dim;
    mx->C = C;
    mx->cap_cand = (size_t)S * C;
    mx->slots = calloc(S, sizeof(uint32_t));
    mx->rows = calloc(S, sizeof(uint32_t));
    mx->counts = calloc(S, sizeof(uint32_t));
    mx->fb = calloc(S, sizeof(uint32_t));
    mx->users = calloc(S, sizeof(uint64_t));
    mx->items = calloc((size_t)S * mx->L, sizeof(int32_t));
    mx->shown = calloc(S, sizeof(int32_t));
    mx->hfb = calloc((size_t)S * mx->L, sizeof(uint32_t));
    mx->feat = calloc((size_t)S * mx->U + 1, sizeof(float));
    mx->reward = calloc(S, sizeof(float));
    mx->done = calloc(S, sizeof(int));
    mx->cand = calloc(mx->cap_cand, sizeof(int32_t));
    if (!mx->slots || !mx->rows || !mx->counts || !mx->fb || !mx->users || !mx->items ||
        !mx->shown || !mx->hfb || !mx->feat || !mx->reward || !mx->done || !mx->cand) {
        fprintf(stderr, "recomind: out of memory for the ensemble env\n");
        return RECO_ENOMEM;
    }
    *out = mx->sims[0];
    out->reset = mix_reset;
    out->observe = mix_observe;
    out->candidates = mix_candidates;
    out->step = mix_step;
    out->save_state = NULL; /* no checkpoints of the mixture */
    out->load_state = NULL;
    out->payload = mx;
    return RECO_OK;
}

/* ---- on-policy calibration: the model against the truth where a policy goes ---- */

/* Wraps the world's env: before each step, the feedback model's probabilities of the shown
 * items in the world's states and the world's own are added up (per output), so a run of a
 * policy through it says how wrong the model is on that policy's choices (the simulator's
 * view of them), not only on the logged rows. */
enum { CAL_OUT = RECO_WORLD_N_SIGNALS + 1, CAL_MAX = 256 };
typedef struct calib_env {
    reco_env inner;
    const reco_model *model;
    reco_workspace *ws;
    uint32_t L, U, H;
    double model_sum[CAL_OUT], true_sum[CAL_OUT];
    uint64_t steps;
    /* scratch, CAL_MAX rows */
    int32_t items[CAL_MAX * 64], long_items[CAL_MAX * 64];
    uint32_t fb[CAL_MAX * 64], long_fb[CAL_MAX * 64], steps_of[CAL_MAX];
    float feat[CAL_MAX * 64], elapsed[CAL_MAX], logits[CAL_MAX * CAL_OUT],
        probs[CAL_MAX * CAL_OUT];
} calib_env;

static int cal_reset(const uint32_t *slots, const uint64_t *users, uint32_t n, void *p)
{
    calib_env *c = p;
    return c->inner.reset(slots, users, n, c->inner.payload);
}
static int cal_observe(int32_t *items, uint32_t *fb, float *feat, const uint32_t *slots,
                       uint32_t n, void *p)
{
    calib_env *c = p;
    return c->inner.observe(items, fb, feat, slots, n, c->inner.payload);
}
static int cal_context(uint32_t *steps, float *elapsed, int32_t *li, uint32_t *lf,
                       const uint32_t *slots, uint32_t n, void *p)
{
    calib_env *c = p;
    return c->inner.context(steps, elapsed, li, lf, slots, n, c->inner.payload);
}
static int cal_candidates(int32_t *items, uint32_t *count, uint32_t max_c, const uint32_t *slots,
                          uint32_t n, void *p)
{
    calib_env *c = p;
    return c->inner.candidates(items, count, max_c, slots, n, c->inner.payload);
}
static int cal_step(uint32_t *fb_out, float *reward, int *done, const uint32_t *slots,
                    const int32_t *shown, uint32_t n, void *p)
{
    calib_env *c = p;
    static const uint32_t heads[CAL_OUT] = {0, 1, 2, 3, 4};
    for (uint32_t i0 = 0; i0 < n; i0 += CAL_MAX) {
        const uint32_t k = n - i0 < CAL_MAX ? n - i0 : CAL_MAX;
        int rc = c->inner.observe(c->items, c->fb, c->U > 0 ? c->feat : NULL, slots + i0, k,
                                  c->inner.payload);
        if (rc == RECO_OK)
            rc = c->inner.context(c->steps_of, c->elapsed, c->long_items, c->long_fb,
                                  slots + i0, k, c->inner.payload);
        reco_batch b = RECO_BATCH_INIT;
        b.size = k;
        b.items = c->items;
        b.feedback = c->fb;
        b.user_features = c->U > 0 ? c->feat : NULL;
        b.steps = c->steps_of;
        b.elapsed = c->elapsed;
        b.long_items = c->H > 0 ? c->long_items : NULL;
        b.long_feedback = c->H > 0 ? c->long_fb : NULL;
        b.n_candidates = 1;
        b.candidates = shown + i0;
        if (rc == RECO_OK)
            rc = reco_model_score(c->logits, c->model, c->ws, &b, heads, CAL_OUT);
        if (rc == RECO_OK)
            rc = c->inner.probabilities(c->probs, slots + i0, shown + i0, k, c->inner.payload);
        if (rc < 0)
            return rc;
        for (uint32_t i = 0; i < k * CAL_OUT; i++) {
            c->model_sum[i % CAL_OUT] += 1.0 / (1.0 + exp(-(double)c->logits[i]));
            c->true_sum[i % CAL_OUT] += c->probs[i];
        }
        c->steps += k;
    }
    return c->inner.step(fb_out, reward, done, slots, shown, n, c->inner.payload);
}

/* The model's mean probability and the world's on `policy`'s own choices, over `n` sessions
 * of `users` in `world` (reset first). */
static int on_policy_calibration(double model_mean[CAL_OUT], double true_mean[CAL_OUT],
                                 reco_world *world, const reco_model *model,
                                 const reco_policy *policy, const uint64_t *users, uint32_t n,
                                 uint32_t n_candidates)
{
    calib_env *c = calloc(1, sizeof *c);
    if (c == NULL)
        return RECO_ENOMEM;
    reco_world_reset(world);
    reco_world_env(&c->inner, world);
    c->model = model;
    c->L = c->inner.lookback;
    c->U = c->inner.user_dim;
    c->H = c->inner.long_len;
    int rc = c->L > 64 || c->U > 64 || c->H > 64 ? RECO_EINVAL
                                                  : reco_workspace_create(&c->ws, model);
    reco_env env = c->inner;
    env.reset = cal_reset;
    env.observe = cal_observe;
    env.context = cal_context;
    env.candidates = cal_candidates;
    env.step = cal_step;
    env.probabilities = NULL;
    env.payload = c;
    reco_run_stats st = RECO_RUN_STATS_INIT;
    reco_run_options ro = RECO_RUN_OPTIONS_INIT;
    ro.max_candidates = n_candidates;
    if (rc == RECO_OK)
        rc = reco_run_sessions(&st, NULL, NULL, &env, policy, users, n, &ro);
    for (int h = 0; h < CAL_OUT; h++) {
        model_mean[h] = c->steps ? c->model_sum[h] / (double)c->steps : NAN;
        true_mean[h] = c->steps ? c->true_sum[h] / (double)c->steps : NAN;
    }
    reco_workspace_free(c->ws);
    free(c);
    reco_world_reset(world);
    return rc;
}

static int make_env(reco_env *out, uint32_t generator, void *payload)
{
    (void)generator;
    *out = *(const reco_env *)payload;
    return RECO_OK;
}

#define CHECK(what, call)                                                                      \
    do {                                                                                      \
        if ((call) < 0) {                                                                     \
            snprintf(j->err, sizeof j->err, "seed %llu: %s: %s", (unsigned long long)j->seed, \
                     what, reco_error_message());                                             \
            goto done;                                                                        \
        }                                                                                     \
    } while (0)

/* Logs `n` interactions of users [first, first + n / per_user) under `lp`. */
static int gen_logs(reco_log **out, reco_env *env, const reco_log_policy *lp, uint64_t n,
                    uint32_t per_user, uint64_t first, uint32_t n_candidates,
                    uint32_t max_len, uint64_t seed)
{
    /* what a production log holds: the user features the service knew, the logging
     * policy's propensity, and (a synthetic world knows it) the true probabilities */
    reco_log_options lo = RECO_LOG_OPTIONS_INIT;
    lo.user_dim = env->user_dim;
    lo.propensity = 1;
    lo.oracle = 1;
    reco_log_generate_options go = RECO_LOG_GENERATE_OPTIONS_INIT;
    go.n_interactions = n;
    go.n_users = n / per_user > 0 ? n / per_user : 1;
    go.first_user = first;
    go.max_candidates = n_candidates;
    go.max_steps = max_len > 1 ? max_len - 1 : 1;
    go.session_key = world_key;
    go.seed = seed;
    int rc = reco_log_create(out, &lo);
    return rc < 0 ? rc : reco_log_generate(*out, env, lp, &go);
}

/* The world's item features, which every feedback model takes. */
typedef struct item_features {
    float *dense;    /* (N, RECO_WORLD_ITEM_DENSE) */
    int32_t *fields; /* (N, RECO_WORLD_ITEM_FIELDS) */
    uint32_t n;
} item_features;

static int fit(reco_model **out, reco_fit_report *rep, const reco_model_options *mo,
               const item_features *items, const reco_log *log, const reco_fit_options *fo,
               uint64_t seed)
{
    reco_log *train = NULL, *valid = NULL;
    reco_model_options o = *mo;
    o.seed = mo->seed + seed;
    int rc = reco_log_split(&train, &valid, log, 0.1, seed);
    if (rc == RECO_OK)
        rc = reco_model_create(out, &o);
    if (rc == RECO_OK && (o.item_dense_dim > 0 || o.item_n_fields > 0))
        rc = reco_model_set_item_features(*out, items->dense, items->fields, items->n);
    reco_fit_options f = *fo;
    f.seed = fo->seed + seed;
    if (rc == RECO_OK)
        rc = reco_fit_model(rep, *out, train, valid, &f);
    reco_log_free(train);
    reco_log_free(valid);
    return rc;
}

static void *run_seed(void *arg)
{
    seed_job *j = arg;
    const reco_config *cfg = j->cfg;
    j->rc = 1;
    reco_world *world = NULL, *eval_world = NULL;
    reco_log *boot = NULL, *log = NULL;
    reco_model *logger = NULL, *model = NULL, *heldout_model = NULL, *best = NULL;
    reco_policy_state *best_state = NULL;
    reco_sim *train_sim = NULL, *eval_sim = NULL;
    reco_model *extra[MAX_ENSEMBLE] = {NULL};
    reco_sim *extra_sim[MAX_ENSEMBLE] = {NULL};
    mix_env mix;
    memset(&mix, 0, sizeof mix);
    reco_qnet *qnet = NULL;
    reco_replay *replay = NULL;
    reco_trainer *trainer = NULL;
    reco_policy_state *ps[N_POL] = {NULL, NULL, NULL, NULL};
    float *popularity = NULL, *weights = NULL;
    int32_t *ids = NULL;
    uint32_t *topics = NULL;
    uint64_t *users = NULL;
    item_features itf = {NULL, NULL, 0};

    reco_experiment_options ex = RECO_EXPERIMENT_OPTIONS_INIT;
    reco_world_options wo = RECO_WORLD_OPTIONS_INIT;
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    reco_fit_options fo = RECO_FIT_OPTIONS_INIT;
    reco_sim_options so = RECO_SIM_OPTIONS_INIT;
    reco_qnet_options qo = RECO_QNET_OPTIONS_INIT;
    reco_replay_options rpo = RECO_REPLAY_OPTIONS_INIT;
    reco_explorer_options eo = RECO_EXPLORER_OPTIONS_INIT;
    reco_trainer_options to = RECO_TRAINER_OPTIONS_INIT;
    CHECK("configuration",
          reco_config_get_experiment(&ex, cfg) | reco_config_get_world(&wo, cfg) |
              reco_config_get_model(&mo, cfg) | reco_config_get_fit(&fo, cfg) |
              reco_config_get_sim(&so, cfg) | reco_config_get_qnet(&qo, cfg) |
              reco_config_get_replay(&rpo, cfg) | reco_config_get_explorer(&eo, cfg) |
              reco_config_get_trainer(&to, cfg));
    fo.checkpoint = NULL;
    to.metrics_csv = NULL;
    const uint64_t s = j->seed;

    /* 1. the world (the same catalog and users for every seed) and its logs */
    CHECK("world", reco_world_create(&world, &wo));
    CHECK("world", reco_world_create(&eval_world, &wo));
    reco_env wenv, eval_wenv;
    reco_world_env(&wenv, world);
    reco_world_env(&eval_wenv, eval_world);
    const uint32_t N = wo.n_items;
    popularity = malloc(sizeof(float) * N);
    weights = malloc(sizeof(float) * N);
    ids = malloc(sizeof(int32_t) * N);
    topics = malloc(sizeof(uint32_t) * N);
    users = malloc(sizeof(uint64_t) * ex.eval_sessions);
    if (!popularity || !weights || !ids || !topics || !users) {
        snprintf(j->err, sizeof j->err, "seed %llu: out of memory", (unsigned long long)s);
        goto done;
    }
    for (uint32_t i = 0; i < N; i++)
        ids[i] = (int32_t)i;
    CHECK("items", reco_world_item_info(topics, NULL, NULL, popularity, world, ids, N));
    for (uint32_t i = 0; i < N; i++)
        weights[i] = powf(popularity[i], (float)ex.logging_popularity_power);
    /* what a service knows of its items: the world's item features (noisy quality and
     * clickbait, log popularity; the topic) */
    itf.n = N;
    itf.dense = malloc(sizeof(float) * N * RECO_WORLD_ITEM_DENSE);
    itf.fields = malloc(sizeof(int32_t) * N * RECO_WORLD_ITEM_FIELDS);
    if (!itf.dense || !itf.fields) {
        snprintf(j->err, sizeof j->err, "seed %llu: out of memory", (unsigned long long)s);
        goto done;
    }
    CHECK("item features", reco_world_item_features(itf.dense, itf.fields, world));
    float reward[RECO_WORLD_N_SIGNALS];
    reward[RECO_SIGNAL_CLICK] = (float)wo.reward_click;
    reward[RECO_SIGNAL_LONG_WATCH] = (float)wo.reward_long_watch;
    reward[RECO_SIGNAL_LIKE] = (float)wo.reward_like;
    reward[RECO_SIGNAL_HIDE] = (float)wo.reward_hide;
    /* the model reads what the world gives: its catalog, window, user features, long-term
     * history and item features (the world's section decides them, the model's position and
     * elapsed keys whether the model uses the session context) */
    mo.n_items = N;
    mo.n_signals = RECO_WORLD_N_SIGNALS;
    mo.lookback = wo.lookback;
    mo.user_dim = wenv.user_dim;
    mo.long_len = wenv.long_len;
    mo.item_dense_dim = RECO_WORLD_ITEM_DENSE;
    mo.item_n_fields = RECO_WORLD_ITEM_FIELDS;
    CHECK("item features", reco_world_item_field_sizes(mo.item_field_sizes, world));
    /* the logging recommender always has every input: --without changes the models fitted
     * on the logs, never the logs */
    if (mo.max_candidates < wo.n_candidates)
        mo.max_candidates = wo.n_candidates;
    const reco_model_options mo_logger = mo;
    if (j->without & WITHOUT_USER)
        mo.user_dim = 0;
    if (j->without & WITHOUT_ITEM)
        mo.item_dense_dim = mo.item_n_fields = 0;
    if (j->without & WITHOUT_LONG)
        mo.long_len = 0;
    if (j->without & WITHOUT_POSITION)
        mo.position = 0;
    if (j->without & WITHOUT_ELAPSED)
        mo.elapsed = 0;
    if (j->without & WITHOUT_STATE_BIAS)
        mo.state_bias = 0;
    if (mo.max_candidates < wo.n_candidates)
        mo.max_candidates = wo.n_candidates;
    /* with carried histories the users of the main logs are the ones evaluated and trained
     * on (a returning user is not a stranger): they come first, the bootstrap users after */
    const uint64_t n_logged = ex.logging_interactions / ex.logging_interactions_per_user > 0
                                  ? ex.logging_interactions / ex.logging_interactions_per_user
                                  : 1;

    reco_log_policy lp = RECO_LOG_POLICY_INIT;
    lp.kind = ex.logging_policy == RECO_EXPERIMENT_LOGGING_UNIFORM ? RECO_LOG_POLICY_UNIFORM
                                                                    : RECO_LOG_POLICY_POPULARITY;
    lp.item_weights = weights;
    lp.n_item_weights = N;
    const uint32_t per_user = ex.logging_interactions_per_user;
    const uint64_t first_user = 0, boot_user = n_logged + 1;
    double t0 = now();
    reco_fit_report rep = RECO_FIT_REPORT_INIT;
    if (ex.logging_policy == RECO_EXPERIMENT_LOGGING_MODEL) {
        CHECK("bootstrap logs", gen_logs(&boot, &wenv, &lp, ex.logging_bootstrap_interactions,
                                         per_user, boot_user, wo.n_candidates,
                                         wo.max_session_len, 1000 * s + 1));
        CHECK("logging model", fit(&logger, &rep, &mo_logger, &itf, boot, &fo, 1000 * s + 2));
        say("seed %llu: %zu bootstrap interactions under popularity^%.2f; logging model "
            "fitted (AUC click %.3f)\n", (unsigned long long)s, reco_log_n_rows(boot),
            ex.logging_popularity_power, rep.model[RECO_SIGNAL_CLICK].auc);
        lp.kind = RECO_LOG_POLICY_MODEL;
        lp.model = logger;
        lp.signal_weights = reward;
        lp.temperature = (float)ex.logging_temperature;
    }
    reco_world_reset(world);
    CHECK("logs", gen_logs(&log, &wenv, &lp, ex.logging_interactions, per_user, first_user,
                           wo.n_candidates, wo.max_session_len, 1000 * s + 3));
    if (wo.carry_history) /* the evaluation world starts from the same users' past */
        CHECK("evaluation world", reco_world_copy_histories(eval_world, world));
    rep = (reco_fit_report)RECO_FIT_REPORT_INIT;
    CHECK("feedback model", fit(&model, &rep, &mo, &itf, log, &fo, 1000 * s + 4));
    j->fit_auc_click = rep.model[RECO_SIGNAL_CLICK].auc;
    j->fit_auc_exit = rep.model[RECO_WORLD_N_SIGNALS].auc;
    j->fit = rep;
    j->fit.train_loss = j->fit.valid_loss = NULL;
    j->fit.history_cap = 0;

    /* the simulator retrieves as the serving system does: the world's retrieval stage draws
     * a share of the candidates by its popularity prior (the system's own component, not the
     * users' behaviour) */
    so.candidate_weights = popularity;
    so.candidate_weight_share = (float)wo.popular_candidate_share;
    /* the simulator's clock: the step durations the logs' timestamps show */
    so.seconds_base = (float)(rep.n_gaps > 0 ? fmax(rep.step_seconds_base, 0.0) : 30.0);
    for (uint32_t f = 0; f < RECO_WORLD_N_SIGNALS; f++) {
        so.seconds[f] = (float)rep.step_seconds[f];
        so.exit_tilt[f] = (float)rep.exit_tilt[f]; /* the exit after the step's signals */
    }
    say("seed %llu: %zu logged interactions; feedback model: %u epochs, validation AUC "
        "click %.3f, long watch %.3f, exit %.3f (%.1f s)\n", (unsigned long long)s,
        reco_log_n_rows(log), rep.epochs_run, rep.model[RECO_SIGNAL_CLICK].auc,
        rep.model[RECO_SIGNAL_LONG_WATCH].auc, rep.model[RECO_WORLD_N_SIGNALS].auc,
        now() - t0);
    if (j->heldout || j->eval_heldout) {
        /* more logs of other users, and a second model fitted on them alone: its simulator
         * picks the Q-network snapshot to keep (selection on data the learner never saw), or
         * is the evaluation simulator (cross-fitting: the policies' choices are not selected
         * on its errors) */
        reco_log *hlog = NULL;
        reco_world_reset(world);
        const uint64_t first = boot_user + ex.logging_bootstrap_interactions / per_user + 1;
        int hrc = gen_logs(&hlog, &wenv, &lp, ex.logging_interactions, per_user, first,
                           wo.n_candidates, wo.max_session_len, 1000 * s + 5);
        reco_fit_report hrep = RECO_FIT_REPORT_INIT;
        if (hrc == RECO_OK)
            hrc = fit(&heldout_model, &hrep, &mo, &itf, hlog, &fo, 1000 * s + 6);
        reco_log_free(hlog);
        CHECK("held-out model", hrc);
        j->heldout_fit = hrep;
        say("seed %llu: held-out model fitted on %llu other interactions (AUC click %.3f)\n",
            (unsigned long long)s, (unsigned long long)ex.logging_interactions,
            hrep.model[RECO_SIGNAL_CLICK].auc);
    }
    reco_log_free(boot);
    boot = NULL;
    reco_model_free(logger);
    logger = NULL;

    /* 2. the four policies */
    reco_policy pols[N_POL];
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    po.seed = 5 + s;
    CHECK("random policy", reco_policy_create(&ps[0], &po));
    po.kind = RECO_POLICY_POPULARITY;
    po.item_weights = popularity;
    po.n_item_weights = N;
    CHECK("popular policy", reco_policy_create(&ps[1], &po));
    po.kind = RECO_POLICY_MODEL_GREEDY;
    po.model = model;
    po.signal_weights = reward;
    CHECK("greedy-supervised policy", reco_policy_create(&ps[2], &po));
    if (j->fit_only) {
        /* where the simulator will be wrong: the model against the truth on each fixed
         * policy's own choices, in the evaluation world */
        uint32_t n_cal = ex.eval_sessions < 300 ? ex.eval_sessions : 300;
        uint64_t *cal_users = malloc(sizeof(uint64_t) * n_cal);
        if (cal_users == NULL) {
            snprintf(j->err, sizeof j->err, "seed %llu: out of memory", (unsigned long long)s);
            goto done;
        }
        for (uint32_t i = 0; i < n_cal; i++) { /* the evaluation users of this seed */
            const uint64_t k = (uint64_t)j->index * ex.eval_sessions + i;
            cal_users[i] = wo.carry_history
                               ? RECO_WORLD_SESSION_KEY(first_user + k % n_logged, 0x80000000u)
                               : k;
        }
        int crc = RECO_OK;
        for (int p = 0; p < 3 && crc == RECO_OK; p++) {
            reco_policy pol;
            crc = reco_policy_get(&pol, ps[p]);
            if (crc == RECO_OK)
                crc = on_policy_calibration(j->cal_model[p], j->cal_true[p], eval_world, model,
                                            &pol, cal_users, n_cal, wo.n_candidates);
        }
        j->have_cal = 3;
        if (crc == RECO_OK && heldout_model != NULL) {
            /* the same choices of greedy-supervised, seen by the model fitted on other users'
             * logs: is the error the noise of one fit, or shared by every fit? */
            reco_policy pol;
            crc = reco_policy_get(&pol, ps[2]);
            if (crc == RECO_OK)
                crc = on_policy_calibration(j->cal_model[3], j->cal_true[3], eval_world,
                                            heldout_model, &pol, cal_users, n_cal,
                                            wo.n_candidates);
            j->have_cal = 4;
        }
        free(cal_users);
        CHECK("on-policy calibration", crc);
        j->rc = 0;
        goto done;
    }

    /* 3. RecoMind in the simulator */
    for (uint32_t f = 0; f < RECO_WORLD_N_SIGNALS; f++)
        so.reward[f] = reward[f];
    if (so.max_session_len > wo.max_session_len)
        so.max_session_len = wo.max_session_len;
    reco_model_options qmo = mo;
    qmo.seed = mo.seed + 100 * s + 17;
    qo.model = &qmo;
    CHECK("Q-network", j->random_init ? reco_qnet_create(&qnet, &qo)
                                      : reco_qnet_create_warm(&qnet, model, reward, &qo));
    po.kind = RECO_POLICY_MODEL_HEAD;
    po.model = reco_qnet_online(qnet);
    po.head = reco_qnet_q_head(qnet);
    CHECK("RecoMind policy", reco_policy_create(&ps[3], &po));
    for (int p = 0; p < N_POL; p++) {
        CHECK("policy", reco_policy_get(&pols[p], ps[p]));
        pols[p].name = pol_names[p];
    }
    rpo.lookback = wo.lookback;
    rpo.seed = rpo.seed + s;
    /* the replay keeps what the Q-network reads: the session context, user features and the
     * long-term history */
    rpo.context = mo.position || mo.elapsed || mo.long_len > 0 || mo.user_dim > 0;
    rpo.user_dim = mo.user_dim;
    rpo.long_len = mo.long_len;
    reco_sim_options tso = so;
    tso.seed = so.seed + 1000 * s + 11;
    tso.max_sessions = to.n_generators * to.sessions_per_generator;
    reco_env tenv;
    CHECK("replay", reco_replay_create(&replay, &rpo));
    CHECK("training simulator", reco_sim_create(&train_sim, model, &tso));
    CHECK("training simulator", reco_sim_set_start_env(train_sim, &wenv));
    if (j->ensemble > 1) {
        /* more feedback models on the same logs (other initial and split seeds); slot i of
         * the training env plays in the simulator of model i mod K */
        reco_sim *all[MAX_ENSEMBLE] = {train_sim};
        for (uint32_t k = 1; k < j->ensemble; k++) {
            reco_fit_report r2 = RECO_FIT_REPORT_INIT;
            CHECK("ensemble model",
                  fit(&extra[k], &r2, &mo, &itf, log, &fo, 1000 * s + 4 + 17 * k));
            reco_sim_options xso = tso;
            xso.seed = tso.seed + k;
            CHECK("ensemble simulator", reco_sim_create(&extra_sim[k], extra[k], &xso));
            CHECK("ensemble simulator", reco_sim_set_start_env(extra_sim[k], &wenv));
            all[k] = extra_sim[k];
        }
        CHECK("ensemble env", mix_init(&mix, &tenv, all, j->ensemble, tso.max_sessions,
                                       wo.n_candidates));
        say("seed %llu: training in %u simulators (an ensemble of feedback models)\n",
            (unsigned long long)s, j->ensemble);
    } else {
        CHECK("training simulator", reco_sim_env(&tenv, train_sim));
    }
    reco_log_free(log);
    log = NULL;
    if (to.n_generators != 1) {
        snprintf(j->err, sizeof j->err, "seed %llu: the example runs one generator (trainer."
                 "n_generators: 1) so that a run is a function of its seeds",
                 (unsigned long long)s);
        goto done;
    }
    /* evaluation users: a different block of the world's evaluation keys for each seed;
     * with carried histories, evaluation sessions of the logged users (ordinals from 2^31:
     * they read the users' past and never write it) */
    if (wo.carry_history) {
        const uint64_t n_u = n_logged < wo.n_users ? n_logged : wo.n_users;
        for (uint32_t i = 0; i < ex.eval_sessions; i++) {
            const uint64_t k = (uint64_t)j->index * ex.eval_sessions + i;
            users[i] = RECO_WORLD_SESSION_KEY(first_user + k % n_u,
                                              0x80000000u + (uint32_t)(k / n_u));
        }
    } else {
        CHECK("evaluation users", reco_world_eval_users(users, world,
                                                        (uint64_t)j->index * ex.eval_sessions,
                                                        ex.eval_sessions));
    }
    curve_ctx cc;
    memset(&cc, 0, sizeof cc);
    cc.job = j;
    cc.feedback = model;
    cc.so = so;
    cc.so.seed = so.seed + 1000 * s + 101;
    cc.so.max_sessions = wo.max_sessions;
    cc.start_world = eval_world;
    cc.users = users;
    cc.n_users = ex.eval_sessions < 300 ? ex.eval_sessions : 300;
    cc.policy = pols[3];
    if (j->heldout) {
        cc.heldout = heldout_model;
        cc.online = reco_qnet_online(qnet);
        CHECK("best snapshot", reco_model_create(&best, &qmo));
        CHECK("best snapshot", reco_model_copy_params(best, cc.online));
        cc.best = best;
        curve_ctx h = cc;
        h.feedback = heldout_model;
        CHECK("held-out simulator", sim_return(&cc.best_return, &h, &pols[3]));
    }
    CHECK("greedy-supervised in the simulator",
          sim_return(&j->greedy_sim_return, &cc, &pols[BASELINE]));
    double r0 = 0.0;
    CHECK("RecoMind in the simulator", sim_return(&r0, &cc, &pols[3]));
    j->curve[0] = (curve_point){0, r0, NAN, NAN, NAN};
    j->n_curve = 1;
    eo.max_candidates = wo.n_candidates;
    eo.seed = eo.seed + 1000 * s + 23;
    to.seed = to.seed + 1000 * s + 9;
    /* the training simulator starts sessions of the logged users (their histories, from the
     * world) when the world carries them */
    to.n_users = wo.carry_history && n_logged < wo.n_users ? n_logged : wo.n_users;
    to.progress = on_progress;
    to.progress_payload = &cc;
    say("seed %llu: training RecoMind (%s), %llu updates\n", (unsigned long long)s,
        j->random_init ? "random init" : "warm start", (unsigned long long)to.total_updates);
    CHECK("trainer", reco_trainer_create(&trainer, qnet, replay, &eo, make_env, &tenv, &to));
    reco_trainer_report tr = RECO_TRAINER_REPORT_INIT;
    const int trc = reco_trainer_run(&tr, trainer);
    if (cc.failed)
        CHECK("evaluation during training", -1);
    CHECK("training", trc);
    if (j->n_curve == 0 || j->curve[j->n_curve - 1].updates != tr.updates)
        on_progress(&tr.last, &cc);

    if (j->heldout) {
        /* RecoMind is the snapshot the held-out simulator liked best */
        reco_policy_options bpo = RECO_POLICY_OPTIONS_INIT;
        bpo.kind = RECO_POLICY_MODEL_HEAD;
        bpo.model = best;
        bpo.head = reco_qnet_q_head(qnet);
        CHECK("best policy", reco_policy_create(&best_state, &bpo));
        CHECK("best policy", reco_policy_get(&pols[3], best_state));
        pols[3].name = pol_names[3];
        say("seed %llu: kept the snapshot of %llu updates (held-out simulator return %.3f)\n",
            (unsigned long long)s, (unsigned long long)cc.best_updates, cc.best_return);
    }

    /* 4. evaluation in the simulator and in the world, common random numbers */
    reco_eval_options evo = RECO_EVAL_OPTIONS_INIT;
    evo.max_candidates = wo.n_candidates;
    evo.deep_depth = ex.eval_deep_depth;
    evo.confidence = ex.eval_confidence;
    evo.item_topics = topics;
    evo.n_item_topics = N;
    reco_sim_options eso = so;
    eso.seed = so.seed + 1000 * s + 202;
    eso.max_sessions = wo.max_sessions;
    /* the evaluation counts realised rewards, as the world does: the expected reward (less
     * variance for the learner) would drop the link between a step's reward and whether the
     * user stays (exit_tilt) */
    eso.expected_reward = 0;
    reco_env eval_senv;
    if (j->eval_heldout) { /* the held-out model's simulator, with its own clock and tilt */
        eso.seconds_base = (float)fmax(j->heldout_fit.step_seconds_base, 0.0);
        for (uint32_t f = 0; f < RECO_WORLD_N_SIGNALS; f++) {
            eso.seconds[f] = (float)j->heldout_fit.step_seconds[f];
            eso.exit_tilt[f] = (float)j->heldout_fit.exit_tilt[f];
        }
    }
    CHECK("evaluation simulator",
          reco_sim_create(&eval_sim, j->eval_heldout ? heldout_model : model, &eso));
    CHECK("evaluation simulator", reco_sim_set_start_env(eval_sim, &eval_wenv));
    CHECK("evaluation simulator", reco_sim_env(&eval_senv, eval_sim));
    sim_reset sr = {eval_sim, eval_world};
    evo.reset_env = reset_sim_hook;
    evo.reset_env_payload = &sr;
    t0 = now();
    CHECK("evaluation in the simulator",
          reco_eval_run(&j->ev[0], &eval_senv, pols, N_POL, users, ex.eval_sessions, &evo));
    evo.reset_env = reset_world_hook;
    evo.reset_env_payload = eval_world;
    CHECK("evaluation in the world",
          reco_eval_run(&j->ev[1], &eval_wenv, pols, N_POL, users, ex.eval_sessions, &evo));
    say("seed %llu: evaluated %u sessions per policy in the simulator and the world (%.1f s)\n",
        (unsigned long long)s, ex.eval_sessions, now() - t0);
    j->rc = 0;
done:
    reco_trainer_free(trainer);
    for (int p = 0; p < N_POL; p++)
        reco_policy_free(ps[p]);
    reco_qnet_free(qnet);
    reco_replay_free(replay);
    reco_sim_free(train_sim);
    for (uint32_t k = 0; k < MAX_ENSEMBLE; k++) {
        reco_sim_free(extra_sim[k]);
        reco_model_free(extra[k]);
    }
    mix_free(&mix);
    reco_sim_free(eval_sim);
    reco_policy_free(best_state);
    reco_model_free(best);
    reco_model_free(heldout_model);
    reco_model_free(model);
    reco_model_free(logger);
    reco_log_free(log);
    reco_log_free(boot);
    reco_world_free(world);
    reco_world_free(eval_world);
    free(popularity);
    free(weights);
    free(ids);
    free(topics);
    free(users);
    free(itf.dense);
    free(itf.fields);
    return NULL;
}

/* ---- reporting --------------------------------------------------------------------------- */

static const reco_eval_metric shown[] = {RECO_EVAL_LONG_WATCHES, RECO_EVAL_DEPTH,
                                         RECO_EVAL_DEEP_SHARE, RECO_EVAL_LONG_WATCHES_DEEP,
                                         RECO_EVAL_DEPTH_DEEP, RECO_EVAL_RETURN, RECO_EVAL_HIDES,
                                         RECO_EVAL_TOPICS};
enum { N_SHOWN = sizeof shown / sizeof shown[0] };

static void print_table(const reco_eval *ev, const char *title)
{
    printf("\n== %s: %u sessions per policy; mean [%g%% interval]; lift over "
           "greedy-supervised [interval]\n", title, reco_eval_n_sessions(ev),
           100.0 * reco_eval_confidence(ev));
    printf("%-20s", "metric");
    for (int p = 0; p < N_POL; p++)
        printf(" %24s", pol_names[p]);
    printf(" %26s\n", "recomind lift");
    for (int k = 0; k < N_SHOWN; k++) {
        printf("%-20s", reco_eval_metric_name(shown[k]));
        for (int p = 0; p < N_POL; p++) {
            reco_eval_stat st;
            reco_eval_stat_get(&st, ev, (uint32_t)p, shown[k]);
            char cell[64];
            snprintf(cell, sizeof cell, "%.3f [%.3f, %.3f]", st.mean, st.lo, st.hi);
            printf(" %24s", cell);
        }
        reco_eval_stat rel, dif;
        reco_eval_lift(&rel, &dif, ev, 3, BASELINE, shown[k]);
        char cell[64];
        if (isnan(rel.mean))
            snprintf(cell, sizeof cell, "n/a");
        else
            snprintf(cell, sizeof cell, "%+.1f%% [%+.1f, %+.1f]", 100 * rel.mean,
                     100 * rel.lo, 100 * rel.hi);
        printf(" %26s\n", cell);
    }
}

/* ---- the feedback model against the truth, and the simulator against the world ---- */

static const char *const output_names[RECO_WORLD_N_SIGNALS + 1] = {"click", "long_watch",
                                                                    "like", "hide", "exit"};

/* The two-sided normal quantile of a confidence level (0.90, 0.95, 0.99 exactly; others by
 * bisection of erf). */
static double fidelity_z(double confidence)
{
    double lo = 0.0, hi = 10.0;
    for (int i = 0; i < 100; i++) {
        const double mid = 0.5 * (lo + hi);
        if (erf(mid / sqrt(2.0)) < confidence)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* The share of the popularity-to-oracle AUC gap the model closes. */
static double gap_closed(const reco_fit_report *r, uint32_t h)
{
    return (r->model[h].auc - r->popularity[h].auc) / (r->oracle[h].auc - r->popularity[h].auc);
}

static void print_calibration(const seed_job *jobs, uint32_t n)
{
    if (n == 0 || jobs[0].have_cal == 0)
        return;
    printf("\nthe feedback model on each policy's own choices in the world (mean probability "
           "of the shown item: model / truth):\n");
    printf("%-6s %-18s", "seed", "policy");
    for (int h = 0; h <= RECO_WORLD_N_SIGNALS; h++)
        printf(" %17s", output_names[h]);
    printf("\n");
    for (uint32_t k = 0; k < n; k++)
        for (int p = 0; p < jobs[k].have_cal; p++) {
            printf("%-6llu %-18s", (unsigned long long)jobs[k].seed,
                   p < 3 ? pol_names[p] : "greedy (held-out)");
            for (int h = 0; h <= RECO_WORLD_N_SIGNALS; h++) {
                char cell[32];
                snprintf(cell, sizeof cell, "%.4f / %.4f", jobs[k].cal_model[p][h],
                         jobs[k].cal_true[p][h]);
                printf(" %17s", cell);
            }
            printf("\n");
        }
}

static void print_fit(const seed_job *jobs, uint32_t n)
{
    printf("\nfeedback model: validation loss (sum of the outputs' log-losses, held-out users) "
           "per seed:");
    for (uint32_t k = 0; k < n; k++)
        printf(" %.5f", jobs[k].fit.best_valid_loss);
    printf("\n");
    for (uint32_t k = 0; k < n; k++) {
        const reco_fit_report *r = &jobs[k].fit;
        printf("seed %llu: step durations %.2f s", (unsigned long long)jobs[k].seed,
               r->step_seconds_base);
        for (uint32_t f = 0; f < RECO_WORLD_N_SIGNALS; f++)
            printf(" %+.2f %s", r->step_seconds[f], output_names[f]);
        printf("; exit tilt");
        for (uint32_t f = 0; f < RECO_WORLD_N_SIGNALS; f++)
            printf(" %+.3f %s", r->exit_tilt[f], output_names[f]);
        printf("\n");
    }
    printf("\nfeedback model vs the world's own probabilities (validation rows):\n");
    printf("%-6s %-11s %7s %7s %7s %7s | %8s %8s | %6s\n", "seed", "output", "AUC", "popul.",
           "oracle", "closed", "logloss", "oracle", "ECE");
    for (uint32_t k = 0; k < n; k++) {
        const reco_fit_report *r = &jobs[k].fit;
        for (uint32_t h = 0; h < r->n_outputs; h++)
            printf("%-6llu %-11s %7.3f %7.3f %7.3f %6.0f%% | %8.4f %8.4f | %6.4f\n",
                   (unsigned long long)jobs[k].seed, output_names[h], r->model[h].auc,
                   r->popularity[h].auc, r->oracle[h].auc, 100.0 * gap_closed(r, h),
                   r->model[h].log_loss, r->oracle[h].log_loss, r->model[h].ece);
    }
}

/* The simulator's relative error on a policy's mean return, (sim - world) / world, with a
 * delta-method interval (the two environments' sessions are independent). */
typedef struct fidelity {
    double sim, world, rel, lo, hi;
} fidelity;

static fidelity fidelity_of(const reco_eval *sim, const reco_eval *world, uint32_t policy,
                            double z)
{
    reco_eval_stat a, b;
    reco_eval_stat_get(&a, sim, policy, RECO_EVAL_RETURN);
    reco_eval_stat_get(&b, world, policy, RECO_EVAL_RETURN);
    fidelity f;
    f.sim = a.mean;
    f.world = b.mean;
    f.rel = a.mean / b.mean - 1.0;
    /* var(s / w) ~ var(s) / w^2 + s^2 var(w) / w^4, the standard errors from the intervals */
    const double se_a = (a.hi - a.lo) / (2.0 * z), se_b = (b.hi - b.lo) / (2.0 * z);
    const double se = sqrt(se_a * se_a / (b.mean * b.mean) +
                           a.mean * a.mean * se_b * se_b / (b.mean * b.mean * b.mean * b.mean));
    f.lo = f.rel - z * se;
    f.hi = f.rel + z * se;
    return f;
}

static void json_fit(FILE *f, const reco_fit_report *r)
{
    fprintf(f, "[");
    for (uint32_t h = 0; h < r->n_outputs; h++)
        fprintf(f, "%s\n        {\"signal\": \"%s\", \"auc\": %.6g, \"auc_popularity\": %.6g, "
                   "\"auc_oracle\": %.6g, \"logloss\": %.6g, \"logloss_oracle\": %.6g, "
                   "\"ece\": %.6g}", h ? "," : "", output_names[h], r->model[h].auc,
                r->popularity[h].auc, r->oracle[h].auc, r->model[h].log_loss,
                r->oracle[h].log_loss, r->model[h].ece);
    fprintf(f, "]");
}

static void json_fidelity(FILE *f, const reco_eval *sim, const reco_eval *world, double z)
{
    fprintf(f, "[");
    for (uint32_t p = 0; p < N_POL; p++) {
        const fidelity x = fidelity_of(sim, world, p, z);
        fprintf(f, "%s\n        {\"policy\": \"%s\", \"sim_return\": %.6g, "
                   "\"world_return\": %.6g, \"rel_error\": %.6g, \"rel_error_lo\": %.6g, "
                   "\"rel_error_hi\": %.6g}", p ? "," : "", pol_names[p], x.sim, x.world,
                x.rel, x.lo, x.hi);
    }
    fprintf(f, "]");
}

/* Appends the experiment's own sections to results.json (the evaluator's report, schema
 * libreco.eval/1): "seeds", each with the fit against the oracle and the simulator's
 * fidelity, and "fidelity" pooled over the seeds. Rewritten through a temporary file. */
static int json_append_experiment(const char *path, const seed_job *jobs, uint32_t n,
                                  const reco_eval *const pooled[2], double z)
{
    FILE *in = fopen(path, "rb");
    if (in == NULL)
        return -1;
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap ? 2 * cap : 65536;
            char *t = realloc(text, cap);
            if (t == NULL) {
                free(text);
                fclose(in);
                return -1;
            }
            text = t;
        }
        const size_t got = fread(text + len, 1, cap - len, in);
        len += got;
        if (got == 0)
            break;
    }
    fclose(in);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
        len--;
    if (len == 0 || text[len - 1] != '}') {
        free(text);
        return -1;
    }
    len--; /* the closing brace: the object goes on */
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (f == NULL) {
        free(text);
        return -1;
    }
    fwrite(text, 1, len, f);
    free(text);
    fprintf(f, ",\n  \"seeds\": [");
    for (uint32_t k = 0; k < n; k++) {
        fprintf(f, "%s\n    {\"seed\": %llu,\n      \"fit\": ", k ? "," : "",
                (unsigned long long)jobs[k].seed);
        json_fit(f, &jobs[k].fit);
        fprintf(f, ",\n      \"fidelity\": ");
        json_fidelity(f, jobs[k].ev[0], jobs[k].ev[1], z);
        fprintf(f, "}");
    }
    fprintf(f, "],\n  \"fidelity\": ");
    json_fidelity(f, pooled[0], pooled[1], z);
    fprintf(f, "\n}\n");
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        remove(tmp);
        return -1;
    }
    return 0;
}

static int write_curve(const seed_job *jobs, uint32_t n, const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/learning_curve.csv", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "seed,updates,greedy_q_sim_return,greedy_supervised_sim_return,loss,mean_q,"
               "explore_return\n");
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t i = 0; i < jobs[k].n_curve; i++) {
            const curve_point *p = &jobs[k].curve[i];
            fprintf(f, "%llu,%llu,%.6f,%.6f,%.6g,%.6g,%.6g\n",
                    (unsigned long long)jobs[k].seed, (unsigned long long)p->updates,
                    p->eval_return, jobs[k].greedy_sim_return, p->loss, p->mean_q,
                    p->explore_return);
        }
    return fclose(f) == 0 ? 0 : -1;
}

/* Two-sided Student t quantile for a 95% interval with `df` degrees of freedom (a table to
 * 30, then the normal quantile's 1.96 plus the first Cornish-Fisher term). */
static double t95(uint32_t df)
{
    static const double t[31] = {0,      12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365,
                                 2.306, 2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
                                 2.120, 2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069,
                                 2.064, 2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
    if (df <= 30)
        return t[df];
    const double z = 1.959964;
    return z + (z * z * z + z) / (4.0 * df);
}

/* Two PNG plots with gnuplot, if it is installed: the learning curves and the pooled lifts. */
static void plots(const reco_eval *pooled[2], uint32_t n_seeds, const seed_job *jobs,
                  const char *dir)
{
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        printf("gnuplot not found: no PNG plots (apt-get install gnuplot-nox)\n");
        return;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/lifts.dat", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return;
    for (int k = 0; k < N_SHOWN; k++) {
        if (shown[k] == RECO_EVAL_DEEP_SHARE || shown[k] == RECO_EVAL_DEPTH_DEEP)
            continue;
        fprintf(f, "\"%s\"", reco_eval_metric_name(shown[k]));
        for (int e = 0; e < 2; e++) {
            reco_eval_stat rel, dif;
            reco_eval_lift(&rel, &dif, pooled[e], 3, BASELINE, shown[k]);
            fprintf(f, " %.4f %.4f %.4f", 100 * rel.mean, 100 * rel.lo, 100 * rel.hi);
        }
        fprintf(f, "\n");
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/plots.gp", dir);
    f = fopen(path, "w");
    if (f == NULL)
        return;
    fprintf(f, "set terminal pngcairo size 900,520 noenhanced\nset datafile separator ','\n"
               "set output '%s/learning_curve.png'\nset key bottom right\n"
               "set title 'RecoMind in the simulator: greedy-Q return per session'\n"
               "set xlabel 'updates'\nset ylabel 'simulator return per session'\nplot ", dir);
    for (uint32_t k = 0; k < n_seeds; k++)
        fprintf(f, "%s'%s/learning_curve.csv' using ($1==%llu?$2:1/0):3 with linespoints "
                   "lc %u title 'RecoMind, seed %llu', '' using ($1==%llu?$2:1/0):4 with lines "
                   "dt 2 lc %u title 'greedy-supervised, seed %llu'", k ? ", " : "", dir,
                (unsigned long long)jobs[k].seed, k + 1, (unsigned long long)jobs[k].seed,
                (unsigned long long)jobs[k].seed, k + 1, (unsigned long long)jobs[k].seed);
    fprintf(f, "\nset datafile separator whitespace\nset output '%s/lifts.png'\n"
               "set title 'RecoMind vs greedy-supervised, pooled over %u seeds "
               "(lift %%, 95%% interval)'\nset style data histogram\n"
               "set style histogram errorbars gap 2 lw 1\nset style fill solid 0.6\n"
               "set ylabel 'lift over greedy-supervised (%%)'\nset xlabel ''\nset key top left\n"
               "set xtics rotate by -20\nset xzeroaxis lt -1\nunset xrange\n"
               "plot '%s/lifts.dat' using 2:3:4:xtic(1) title 'simulator', "
               "'' using 5:6:7 title 'world'\n", dir, n_seeds, dir);
    fclose(f);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "gnuplot '%s/plots.gp'", dir);
    if (system(cmd) != 0)
        printf("gnuplot failed: no PNG plots\n");
    else
        printf("plots: %s/learning_curve.png, %s/lifts.png\n", dir, dir);
}

static int bad_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "recomind: %s%s%s (try --help)\n", msg, arg ? " " : "", arg ? arg : "");
    return 2;
}

/* ---- options the run derives or does not read ------------------------------------------- */

/* An option whose value the run takes from elsewhere (the world, the logs, other options) or
 * never reads: giving it is refused (check_keys, before any work), and --print-config shows
 * it as a comment saying why (print_config). run_seed() is the truth; this list follows it. */
typedef struct fixed_key {
    const char *path;
    char why[200];
} fixed_key;

enum { MAX_FIXED = 32 };

/* The options fixed in this configuration, with the reason for each. */
static uint32_t fixed_keys(fixed_key *k, const reco_config *cfg)
{
    reco_experiment_options ex = RECO_EXPERIMENT_OPTIONS_INIT;
    reco_world_options wo = RECO_WORLD_OPTIONS_INIT;
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    reco_sim_options so = RECO_SIM_OPTIONS_INIT;
    reco_trainer_options to = RECO_TRAINER_OPTIONS_INIT;
    reco_config_get_experiment(&ex, cfg);
    reco_config_get_world(&wo, cfg);
    reco_config_get_model(&mo, cfg);
    reco_config_get_sim(&so, cfg);
    reco_config_get_trainer(&to, cfg);
    const char *uf = wo.user_features ? "true" : "false";
    const uint64_t per = ex.logging_interactions / ex.logging_interactions_per_user;
    const uint64_t n_logged = per > 0 ? per : 1;
    uint32_t n = 0;
#define FIX(key, ...) (k[n].path = (key), snprintf(k[n].why, sizeof k[n].why, __VA_ARGS__), n++)
    /* what the world gives the models */
    FIX("model.n_items", "derived from world.n_items = %u", wo.n_items);
    FIX("model.n_signals", "derived from the world's %u signals", RECO_WORLD_N_SIGNALS);
    FIX("model.lookback", "derived from world.lookback = %u", wo.lookback);
    FIX("model.user_dim", "derived from world.user_features = %s", uf);
    FIX("model.long_len", "derived from world.long_len = %u", wo.long_len);
    if (mo.max_candidates < wo.n_candidates)
        FIX("model.max_candidates", "%u is raised to world.n_candidates = %u",
            mo.max_candidates, wo.n_candidates);
    FIX("replay.lookback", "derived from world.lookback = %u", wo.lookback);
    FIX("replay.context", "derived from the model's inputs (model.position, model.elapsed, "
        "world.long_len, world.user_features)");
    FIX("replay.user_dim", "derived from world.user_features = %s", uf);
    FIX("replay.long_len", "derived from world.long_len = %u", wo.long_len);
    FIX("explorer.max_candidates", "derived from world.n_candidates = %u", wo.n_candidates);
    FIX("explorer.stream", "not read: the trainer gives each generator its own stream");
    FIX("sim.max_sessions", "derived from trainer.n_generators x sessions_per_generator = %u "
        "(training) and world.max_sessions = %u (evaluation)",
        to.n_generators * to.sessions_per_generator, wo.max_sessions);
    if (so.max_session_len > wo.max_session_len)
        FIX("sim.max_session_len", "%u is cut to world.max_session_len = %u",
            so.max_session_len, wo.max_session_len);
    FIX("sim.seconds_base", "derived from the logs (the step durations the fit measures)");
    if (wo.carry_history && n_logged < wo.n_users)
        FIX("trainer.n_users", "derived from the logs: their %llu users (experiment.logging."
            "interactions / interactions_per_user)", (unsigned long long)n_logged);
    else
        FIX("trainer.n_users", "derived from world.n_users = %u", wo.n_users);
    /* what recomind never reads */
    FIX("trainer.metrics_csv", "not read: the learning curve goes to "
        "experiment.output.dir/learning_curve.csv");
    FIX("fit.checkpoint", "not read: recomind keeps no checkpoint of the feedback model");
    FIX("experiment.seed", "not read: a run has one seed per entry of experiment.seeds");
    FIX("experiment.time_limit_s", "not read: recomind runs without a time limit");
    FIX("experiment.deterministic", "not read: a recomind run is always a function of its "
        "seeds");
    FIX("experiment.verbosity", "not read: use --quiet");
#undef FIX
    return n;
}

/* Refuses every fixed option the configuration gives, at its file:line:column or --set;
 * returns the number refused (each printed), or -1 after an error. */
static int check_keys(const reco_config *cfg)
{
    fixed_key k[MAX_FIXED];
    const uint32_t n = fixed_keys(k, cfg);
    int refused = 0;
    for (uint32_t i = 0; i < n; i++) {
        reco_config_origin o = RECO_CONFIG_ORIGIN_INIT;
        if (reco_config_get_origin(&o, cfg, k[i].path) < 0) {
            fprintf(stderr, "recomind: %s\n", reco_error_message());
            return -1;
        }
        if (o.kind == RECO_CONFIG_ORIGIN_FILE)
            fprintf(stderr, "recomind: %s:%u:%u: %s: %s\n", o.source, o.line, o.column,
                    k[i].path, k[i].why);
        else if (o.kind == RECO_CONFIG_ORIGIN_SET)
            fprintf(stderr, "recomind: --set %s: %s: %s\n", o.source, k[i].path, k[i].why);
        else if (o.kind != RECO_CONFIG_ORIGIN_DEFAULT)
            fprintf(stderr, "recomind: %s: %s: %s\n", o.source, k[i].path, k[i].why);
        refused += o.kind != RECO_CONFIG_ORIGIN_DEFAULT;
    }
    return refused;
}

/* --print-config: the effective configuration, with each fixed option as a comment saying
 * where its value comes from (no line shows a value the run would not use); the text loads
 * back as a configuration recomind accepts. */
static int print_config(const reco_config *cfg)
{
    fixed_key k[MAX_FIXED];
    const uint32_t n = fixed_keys(k, cfg);
    size_t len = 0;
    reco_config_write_string(cfg, NULL, 0, &len); /* the size query */
    char *text = malloc(len + 1);
    if (text == NULL || reco_config_write_string(cfg, text, len + 1, NULL) < 0) {
        fprintf(stderr, "recomind: %s\n", text ? reco_error_message() : "out of memory");
        free(text);
        return 1;
    }
    /* the writer's layout: one option or mapping per line, two spaces per level */
    char path[256] = "";
    size_t at[16] = {0}; /* length of the path above each level */
    for (char *line = text, *end; *line != '\0'; line = end + 1) {
        end = strchr(line, '\n');
        if (end == NULL)
            end = line + strlen(line);
        const size_t indent = strspn(line, " "), depth = indent / 2;
        const size_t key_len = strcspn(line + indent, ":\n");
        int fixed = -1;
        if (depth < 16 && at[depth] + key_len + 1 < sizeof path) {
            snprintf(path + at[depth], sizeof path - at[depth], "%s%.*s", depth ? "." : "",
                     (int)key_len, line + indent);
            if (depth + 1 < 16)
                at[depth + 1] = strlen(path);
            for (uint32_t i = 0; i < n && fixed < 0; i++)
                if (strcmp(path, k[i].path) == 0)
                    fixed = (int)i;
        }
        if (fixed >= 0)
            printf("%*s# %.*s: %s\n", (int)indent, "", (int)key_len, line + indent,
                   k[fixed].why);
        else
            printf("%.*s\n", (int)(end - line), line);
        if (*end == '\0')
            break;
    }
    free(text);
    return 0;
}

int main(int argc, char **argv)
{
    t_start = now();
    const char *config_path = NULL;
    int want_print_config = 0, random_init = 0;
    uint32_t ensemble = 1;
    int heldout = 0, fit_only = 0, eval_heldout = 0;
    unsigned without = 0;
    reco_config *cfg = NULL;
    if (reco_config_create(&cfg, NULL) < 0)
        return 1;
    /* first pass: the file; second pass: overrides, in order */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            reco_config_free(cfg);
            return 0;
        }
        if (strcmp(a, "--config") == 0) {
            if (i + 1 >= argc)
                return bad_usage("--config needs a file", NULL);
            config_path = argv[++i];
        } else if (strcmp(a, "--without") == 0) {
            if (i + 1 >= argc)
                return bad_usage("missing value after", a);
            char list[256];
            snprintf(list, sizeof list, "%s", argv[++i]);
            for (char *save = NULL, *t = strtok_r(list, ",", &save); t != NULL;
                 t = strtok_r(NULL, ",", &save)) {
                unsigned k = 0;
                while (k < 6 && strcmp(t, without_names[k]) != 0)
                    k++;
                if (k == 6)
                    return bad_usage("--without: unknown input", t);
                without |= 1u << k;
            }
        } else if (strcmp(a, "--set") == 0 || strcmp(a, "--out") == 0 ||
                   strcmp(a, "--seeds") == 0 || strcmp(a, "--init") == 0 ||
                   strcmp(a, "--ensemble") == 0) {
            if (i + 1 >= argc)
                return bad_usage("missing value after", a);
            i++;
        } else if (strcmp(a, "--print-config") == 0) {
            want_print_config = 1;
        } else if (strcmp(a, "--select-heldout") == 0) {
            heldout = 1;
        } else if (strcmp(a, "--fit-only") == 0) {
            fit_only = 1;
        } else if (strcmp(a, "--eval-heldout") == 0) {
            eval_heldout = 1;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else {
            return bad_usage("unknown argument", a);
        }
    }
    int rc = config_path ? reco_config_load_file(cfg, config_path)
                         : reco_config_load_string(cfg, default_yaml, strlen(default_yaml),
                                                   "recomind defaults");
    if (rc < 0) {
        fprintf(stderr, "recomind: %s\n", reco_error_message());
        reco_config_free(cfg);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        char path[256], value[1024];
        if (strcmp(a, "--config") == 0 || strcmp(a, "--without") == 0) {
            i++;
            continue;
        }
        if (strcmp(a, "--ensemble") == 0) {
            i++;
            char *end = NULL;
            const unsigned long k = strtoul(v, &end, 10);
            if (end == v || *end != '\0' || k < 1 || k > MAX_ENSEMBLE)
                return bad_usage("--ensemble takes 1..8, not", v);
            ensemble = (uint32_t)k;
            continue;
        }
        if (strcmp(a, "--init") == 0) {
            i++;
            if (strcmp(v, "warm") == 0)
                random_init = 0;
            else if (strcmp(v, "random") == 0)
                random_init = 1;
            else
                return bad_usage("--init takes warm or random, not", v);
            continue;
        }
        if (strcmp(a, "--set") == 0) {
            const char *eq = strchr(v, '=');
            if (eq == NULL || eq == v || (size_t)(eq - v) >= sizeof path)
                return bad_usage("--set needs PATH=VALUE, not", v);
            memcpy(path, v, (size_t)(eq - v));
            path[eq - v] = '\0';
            snprintf(value, sizeof value, "%s", eq + 1);
        } else if (strcmp(a, "--out") == 0) {
            snprintf(path, sizeof path, "experiment.output.dir");
            snprintf(value, sizeof value, "%s", v);
        } else if (strcmp(a, "--seeds") == 0) {
            snprintf(path, sizeof path, "experiment.seeds");
            snprintf(value, sizeof value, "[%s]", v);
        } else {
            continue;
        }
        i++;
        if (reco_config_set(cfg, path, value) < 0) {
            fprintf(stderr, "recomind: %s\n", reco_error_message());
            reco_config_free(cfg);
            return 2;
        }
    }
    /* before any work: the options the run would not use are refused */
    const int refused = check_keys(cfg);
    if (refused != 0) {
        if (refused > 0)
            fprintf(stderr, "recomind: %d option%s given that the run derives or does not "
                    "read; leave %s out (--print-config shows the values used)\n", refused,
                    refused > 1 ? "s" : "", refused > 1 ? "them" : "it");
        reco_config_free(cfg);
        return refused > 0 ? 2 : 1;
    }
    if (want_print_config) {
        const int status = print_config(cfg);
        reco_config_free(cfg);
        return status;
    }
    reco_experiment_options ex = RECO_EXPERIMENT_OPTIONS_INIT;
    reco_world_options wo = RECO_WORLD_OPTIONS_INIT;
    reco_config_get_experiment(&ex, cfg);
    reco_config_get_world(&wo, cfg);
    const uint32_t n_seeds = ex.n_seeds;
    seed_job *jobs = calloc(n_seeds, sizeof *jobs);
    pthread_t *threads = calloc(n_seeds, sizeof *threads);
    if (jobs == NULL || threads == NULL) {
        fprintf(stderr, "recomind: out of memory\n");
        return 1;
    }
    printf("recomind: %s: %u seeds on %u threads; world: %u items, %u candidates per step, "
           "exclude_seen %d; logs: %llu interactions (%s); evaluation: %u sessions per policy "
           "and environment\n", ex.name, n_seeds, ex.threads, wo.n_items, wo.n_candidates,
           wo.exclude_seen, (unsigned long long)ex.logging_interactions,
           ex.logging_policy == RECO_EXPERIMENT_LOGGING_MODEL      ? "supervised recommender"
           : ex.logging_policy == RECO_EXPERIMENT_LOGGING_UNIFORM ? "uniform"
                                                                   : "popularity",
           ex.eval_sessions);
    fflush(stdout);
    for (uint32_t k = 0; k < n_seeds; k++) {
        jobs[k].cfg = cfg;
        jobs[k].seed = ex.seeds[k];
        jobs[k].index = k;
        jobs[k].random_init = random_init;
        jobs[k].ensemble = ensemble;
        jobs[k].heldout = heldout;
        jobs[k].fit_only = fit_only;
        jobs[k].eval_heldout = eval_heldout;
        jobs[k].without = without;
    }
    /* seeds run in waves of `threads`; each seed's objects are its own */
    for (uint32_t k0 = 0; k0 < n_seeds; k0 += ex.threads) {
        const uint32_t k1 = k0 + ex.threads < n_seeds ? k0 + ex.threads : n_seeds;
        for (uint32_t k = k0; k < k1; k++)
            if (pthread_create(&threads[k], NULL, run_seed, &jobs[k]) != 0) {
                jobs[k].rc = 1;
                snprintf(jobs[k].err, sizeof jobs[k].err, "cannot start a thread");
                threads[k] = 0;
            }
        for (uint32_t k = k0; k < k1; k++)
            if (threads[k])
                pthread_join(threads[k], NULL);
    }
    int status = 0;
    for (uint32_t k = 0; k < n_seeds; k++)
        if (jobs[k].rc != 0) {
            fprintf(stderr, "recomind: %s\n", jobs[k].err);
            status = 1;
        }
    if (fit_only) {
        if (status == 0) {
            print_fit(jobs, n_seeds);
            print_calibration(jobs, n_seeds);
        }
        printf("total %.1f s\n", now() - t_start);
        free(jobs);
        free(threads);
        reco_config_free(cfg);
        return status;
    }
    reco_eval *pooled[2] = {NULL, NULL};
    const reco_eval **all = calloc(2 * (size_t)n_seeds + 2, sizeof *all);
    char **env_names = calloc(2 * (size_t)n_seeds + 2, sizeof *env_names);
    if (status == 0 && (all == NULL || env_names == NULL))
        status = 1;
    if (status == 0) {
        for (int e = 0; e < 2; e++) {
            const reco_eval **parts = all + (size_t)e * n_seeds;
            for (uint32_t k = 0; k < n_seeds; k++)
                parts[k] = jobs[k].ev[e];
            if (reco_eval_concat(&pooled[e], parts, n_seeds) < 0) {
                fprintf(stderr, "recomind: %s\n", reco_error_message());
                status = 1;
            }
        }
    }
    if (status == 0) {
        printf("\nper seed: RecoMind's lift over greedy-supervised [interval]\n");
        printf("%-6s %-10s %24s %24s %24s\n", "seed", "env", "long_watches", "depth",
               "return");
        for (uint32_t k = 0; k < n_seeds; k++)
            for (int e = 0; e < 2; e++) {
                printf("%-6llu %-10s", (unsigned long long)jobs[k].seed,
                       e ? "world" : "simulator");
                const reco_eval_metric ms[3] = {RECO_EVAL_LONG_WATCHES, RECO_EVAL_DEPTH,
                                                RECO_EVAL_RETURN};
                for (int m = 0; m < 3; m++) {
                    reco_eval_stat rel, dif;
                    reco_eval_lift(&rel, &dif, jobs[k].ev[e], 3, BASELINE, ms[m]);
                    char cell[64];
                    snprintf(cell, sizeof cell, "%+.1f%% [%+.1f, %+.1f]", 100 * rel.mean,
                             100 * rel.lo, 100 * rel.hi);
                    printf(" %24s", cell);
                }
                printf("\n");
            }
        if (n_seeds >= 2) {
            /* the spread between seeds (training included): a t interval of the seeds'
             * lifts; the pooled intervals below hold the trained policies fixed */
            for (int e = 0; e < 2; e++) {
                printf("%-6s %-10s", "seeds", e ? "world" : "simulator");
                const reco_eval_metric ms[3] = {RECO_EVAL_LONG_WATCHES, RECO_EVAL_DEPTH,
                                                RECO_EVAL_RETURN};
                for (int m = 0; m < 3; m++) {
                    double sum = 0.0, sq = 0.0;
                    for (uint32_t k = 0; k < n_seeds; k++) {
                        reco_eval_stat rel, dif;
                        reco_eval_lift(&rel, &dif, jobs[k].ev[e], 3, BASELINE, ms[m]);
                        sum += rel.mean;
                        sq += rel.mean * rel.mean;
                    }
                    const double mean = sum / n_seeds;
                    const double var = (sq - n_seeds * mean * mean) / (n_seeds - 1);
                    const double half = t95(n_seeds - 1) * sqrt(var > 0 ? var : 0) /
                                        sqrt((double)n_seeds);
                    char cell[64];
                    snprintf(cell, sizeof cell, "%+.1f%% [%+.1f, %+.1f]", 100 * mean,
                             100 * (mean - half), 100 * (mean + half));
                    printf(" %24s", cell);
                }
                printf("\n");
            }
            printf("(seeds: the mean of the seeds' lifts with a 95%% t interval over seeds, "
                   "which includes the variation of training)\n");
        }
        char title[96];
        snprintf(title, sizeof title, "simulator, pooled over %u seeds", n_seeds);
        print_table(pooled[0], title);
        snprintf(title, sizeof title, "world, pooled over %u seeds", n_seeds);
        print_table(pooled[1], title);
        print_fit(jobs, n_seeds);
        /* z of the intervals, from a normal interval's half width */
        const double zq = fidelity_z(reco_eval_confidence(pooled[1]));
        printf("\nsimulator fidelity: mean return per session, relative error (sim - world) / "
               "world [%g%% interval]\n", 100.0 * reco_eval_confidence(pooled[1]));
        for (uint32_t k = 0; k <= n_seeds; k++) {
            const reco_eval *se = k < n_seeds ? jobs[k].ev[0] : pooled[0];
            const reco_eval *we = k < n_seeds ? jobs[k].ev[1] : pooled[1];
            char who[32];
            if (k < n_seeds)
                snprintf(who, sizeof who, "seed %llu", (unsigned long long)jobs[k].seed);
            else
                snprintf(who, sizeof who, "pooled");
            for (uint32_t p = 0; p < N_POL; p++) {
                const fidelity x = fidelity_of(se, we, p, zq);
                printf("  %-8s %-18s simulator %.3f  world %.3f  error %+6.1f%% [%+.1f, %+.1f]\n",
                       who, pol_names[p], x.sim, x.world, 100 * x.rel, 100 * x.lo, 100 * x.hi);
            }
        }
        /* files: one environment per (side, seed), then the pooled ones */
        uint32_t n_env = 0;
        const reco_eval **evs = all;
        for (int e = 0; e < 2; e++) {
            for (uint32_t k = 0; k < n_seeds; k++) {
                evs[n_env] = jobs[k].ev[e];
                env_names[n_env] = malloc(64);
                if (env_names[n_env])
                    snprintf(env_names[n_env], 64, "%s (seed %llu)", e ? "world" : "sim",
                             (unsigned long long)jobs[k].seed);
                n_env++;
            }
            evs[n_env] = pooled[e];
            env_names[n_env] = malloc(64);
            if (env_names[n_env])
                snprintf(env_names[n_env], 64, "%s (pooled)", e ? "world" : "sim");
            n_env++;
        }
        mkdir(ex.output_dir, 0777);
        char path[4200];
        int want_json = 0, want_csv = 0, want_png = 0;
        for (uint32_t i = 0; i < ex.n_formats; i++) {
            want_json |= ex.formats[i] == RECO_OUTPUT_JSON;
            want_csv |= ex.formats[i] == RECO_OUTPUT_CSV;
            want_png |= ex.formats[i] == RECO_OUTPUT_PNG;
        }
        printf("\n");
        if (want_json) {
            snprintf(path, sizeof path, "%s/results.json", ex.output_dir);
            if (reco_eval_write_json(evs, (const char *const *)env_names, n_env, pol_names,
                                     BASELINE, path) < 0) {
                fprintf(stderr, "recomind: %s\n", reco_error_message());
                status = 1;
            } else if (json_append_experiment(path, jobs, n_seeds,
                                              (const reco_eval *const *)pooled,
                                              fidelity_z(reco_eval_confidence(pooled[1]))) < 0) {
                fprintf(stderr, "recomind: cannot add the fit and fidelity to %s\n", path);
                status = 1;
            } else {
                printf("results: %s\n", path);
            }
        }
        if (want_csv) {
            snprintf(path, sizeof path, "%s/results.csv", ex.output_dir);
            if (reco_eval_write_csv(evs, (const char *const *)env_names, n_env, pol_names,
                                    BASELINE, path) < 0) {
                fprintf(stderr, "recomind: %s\n", reco_error_message());
                status = 1;
            } else {
                printf("results: %s\n", path);
            }
        }
        if (write_curve(jobs, n_seeds, ex.output_dir) < 0) {
            fprintf(stderr, "recomind: cannot write %s/learning_curve.csv\n", ex.output_dir);
            status = 1;
        } else {
            printf("learning curve: %s/learning_curve.csv\n", ex.output_dir);
        }
        if (want_png && status == 0)
            plots((const reco_eval **)pooled, n_seeds, jobs, ex.output_dir);
        for (uint32_t i = 0; i < n_env; i++)
            free(env_names[i]);
    }
    printf("total %.1f s\n", now() - t_start);
    for (uint32_t k = 0; k < n_seeds; k++) {
        reco_eval_free(jobs[k].ev[0]);
        reco_eval_free(jobs[k].ev[1]);
    }
    reco_eval_free(pooled[0]);
    reco_eval_free(pooled[1]);
    free(all);
    free(env_names);
    free(jobs);
    free(threads);
    reco_config_free(cfg);
    return status;
}
