/* train_recomind: RecoMind learning in the simulator, and what the world says about it.
 *
 *   1. the built-in world (defaults, but a 1000-item catalog) writes interaction logs under
 *      the popularity logging policy, and the feedback model is fitted on them;
 *   2. two reference policies, random and greedy-supervised (argmax of the model's expected
 *      immediate reward under the world's reward weights), play the evaluation sessions in a
 *      simulator on that model;
 *   3. for each of two initialisations of the Q-network — warm start from the feedback model
 *      (Q head = reward-weighted sum of the signal heads) and random init with the same
 *      architecture — a trainer (one generator, lock-step: deterministic) trains it in the
 *      simulator; every tenth of the run the greedy-Q policy (argmax of the online network's
 *      Q head) plays the same evaluation sessions in a fresh simulator;
 *   4. the final greedy-Q policies and the greedy-supervised one play the same users in the
 *      world.
 *
 * Every evaluation uses the same users, started from the world's state of that user, and a
 * fresh simulator with the same seed, so the curves differ only by the policy.
 * Run with --help for the options. Uses only the public API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECO_LAB_API /* world, logs and fit are lab API (docs/abi.md) */
#include <reco/reco.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int fail(const char *what)
{
    fprintf(stderr, "train-recomind: %s: %s\n", what, reco_error_message());
    return 1;
}

static void usage(FILE *f)
{
    fprintf(f,
        "NAME\n"
        "    train-recomind - RecoMind learning in the simulator, checked in the world\n"
        "\n"
        "SYNOPSIS\n"
        "    train-recomind [--updates U] [--sessions N] [--interactions N] [--epochs E]\n"
        "                   [--lr X] [--gamma X] [--help]\n"
        "\n"
        "DESCRIPTION\n"
        "    Builds the ground-truth world (1000 items), logs interactions under the\n"
        "    popularity policy, fits the feedback model, and trains the RecoMind Q-network\n"
        "    in the simulator built on that model, twice: warm-started from the feedback\n"
        "    model (Q head = reward-weighted sum of the signal heads) and from a random\n"
        "    initialisation. The trainer runs one generator in lock-step with the learner,\n"
        "    so a run is a function of its seeds. Every U/10 updates the greedy-Q policy\n"
        "    (argmax of the online Q head) plays N evaluation sessions in a fresh simulator;\n"
        "    one line gives the updates, the mean simulator return per session and the mean\n"
        "    session depth, with the trainer's loss, mean Q and the return of its exploring\n"
        "    sessions. The random and greedy-supervised policies are evaluated once on the\n"
        "    same users as references. At the end the final greedy-Q policies and the\n"
        "    greedy-supervised policy play the same users in the world.\n"
        "\n"
        "    All evaluation sessions start from the world's state of the same users\n"
        "    (reco_world_eval_users, first N), with a fresh simulator of the same seed.\n"
        "\n"
        "OPTIONS\n"
        "    --updates U        learner updates per initialisation (default 60000)\n"
        "    --sessions N       evaluation sessions per evaluation (default 1000)\n"
        "    --interactions N   logged interactions to fit the model on (default 100000)\n"
        "    --epochs E         model training epochs, at most (default 10; early stopping)\n"
        "    --lr X             Adam learning rate of the Q-network (default 0.0005)\n"
        "    --gamma X          discount of the Q-learning target, in [0, 1] (default 0.9)\n"
        "    --help, -h         this text\n"
        "\n"
        "SETTINGS NOT ON THE COMMAND LINE\n"
        "    trainer: 1 generator, 16 sessions, segments of 32 steps, replay ratio 0.25,\n"
        "    warm-up 2000 transitions, batch 64, C = 128 candidates for s', snapshot period\n"
        "    1, staleness 0; explorer: the defaults (top-K softmax, K = 25%%, epsilon 0.1);\n"
        "    replay: prioritized, 1000000 transitions; Q-network: Huber 1, hard target sync\n"
        "    every 250 updates. Rewards: the world's (click 0.1, long watch 1, like 0.3,\n"
        "    hide -0.5).\n"
        "\n"
        "EXIT STATUS\n"
        "    0 on success, 1 on a library error, 2 on a bad command line.\n");
}

/* What the progress callback needs to evaluate the online network in-line. */
typedef struct evaluator {
    const reco_model *feedback;   /* the frozen feedback model */
    const reco_sim_options *so;   /* simulator options of the evaluation simulators */
    reco_world *start_world;      /* start states of the evaluation sessions */
    const uint64_t *users;        /* evaluation session keys */
    uint32_t n_users;
    const reco_run_options *ro;
    reco_policy policy;           /* greedy-Q on the online network */
    double last_return;
    uint64_t last_updates;        /* updates at the last evaluation */
    int failed;
} evaluator;

/* Plays the evaluation sessions with @p policy in a fresh simulator. */
static int eval_sim(reco_run_stats *st, const evaluator *ev, const reco_policy *policy)
{
    reco_env world_env, sim_env;
    reco_sim *sim = NULL;
    reco_world_env(&world_env, ev->start_world);
    int rc = reco_sim_create(&sim, ev->feedback, ev->so);
    if (rc == RECO_OK)
        rc = reco_sim_set_start_env(sim, &world_env);
    if (rc == RECO_OK)
        rc = reco_sim_env(&sim_env, sim);
    if (rc == RECO_OK) {
        *st = (reco_run_stats)RECO_RUN_STATS_INIT;
        rc = reco_run_sessions(st, NULL, NULL, &sim_env, policy, ev->users, ev->n_users, ev->ro);
    }
    reco_sim_free(sim);
    return rc;
}

static double mean_return(const reco_run_stats *st)
{
    return st->sessions ? st->reward / (double)st->sessions : 0.0;
}

static double mean_depth(const reco_run_stats *st)
{
    return st->sessions ? (double)st->steps / (double)st->sessions : 0.0;
}

/* Called on the learner's thread, between updates: the online network is not being changed,
 * and the generator uses its own snapshot, so scoring the online network here is safe. */
static int on_progress(const reco_trainer_metrics *m, void *payload)
{
    evaluator *ev = payload;
    reco_run_stats st;
    const double t0 = now();
    if (eval_sim(&st, ev, &ev->policy) < 0) {
        fprintf(stderr, "train-recomind: evaluation: %s\n", reco_error_message());
        ev->failed = 1;
        return 1;
    }
    ev->last_return = mean_return(&st);
    ev->last_updates = m->updates;
    printf("  %7llu  %11.3f  %6.1f  %9.4f  %7.3f  %11.3f  %8.1f s\n",
           (unsigned long long)m->updates, mean_return(&st), mean_depth(&st), m->loss, m->mean_q,
           m->sim_return, m->elapsed_s + (now() - t0));
    fflush(stdout);
    return 0;
}

/* One simulator per generator over the shared frozen feedback model; one generator here. */
static int make_env(reco_env *out, uint32_t generator, void *payload)
{
    (void)generator;
    return reco_sim_env(out, payload);
}

static int parse_u64(const char *flag, const char *s, uint64_t *out)
{
    char *end = NULL;
    const unsigned long long v = s ? strtoull(s, &end, 10) : 0;
    if (s == NULL || end == s || *end != '\0' || v == 0 || v > 100000000ULL) {
        fprintf(stderr, "train-recomind: %s needs a positive integer\n", flag);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_double(const char *flag, const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    const double v = s ? strtod(s, &end) : 0.0;
    if (s == NULL || end == s || *end != '\0' || !(v >= lo && v <= hi)) {
        fprintf(stderr, "train-recomind: %s needs a number in [%g, %g]\n", flag, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t n_updates = 60000, n_sessions = 1000, n_interactions = 100000, epochs = 10;
    double lr = 5e-4, gamma = 0.9;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--updates") == 0) {
            bad = parse_u64(a, v, &n_updates);
        } else if (strcmp(a, "--sessions") == 0) {
            bad = parse_u64(a, v, &n_sessions);
        } else if (strcmp(a, "--interactions") == 0) {
            bad = parse_u64(a, v, &n_interactions);
        } else if (strcmp(a, "--epochs") == 0) {
            bad = parse_u64(a, v, &epochs);
        } else if (strcmp(a, "--lr") == 0) {
            bad = parse_double(a, v, 1e-7, 1.0, &lr);
        } else if (strcmp(a, "--gamma") == 0) {
            bad = parse_double(a, v, 0.0, 1.0, &gamma);
        } else {
            fprintf(stderr, "train-recomind: unknown argument '%s' (try --help)\n", a);
            return 2;
        }
        if (bad)
            return 2;
        i++;
    }
    if (n_sessions > 1000000) {
        fprintf(stderr, "train-recomind: --sessions is at most 1000000\n");
        return 2;
    }

    reco_world *world = NULL, *eval_world = NULL;
    reco_log *log = NULL;
    reco_model *model = NULL;
    reco_sim *train_sim = NULL;
    reco_qnet *qnets[2] = {NULL, NULL};
    reco_replay *replay = NULL;
    reco_trainer *trainer = NULL;
    reco_policy_state *random_state = NULL, *greedy_state = NULL, *q_states[2] = {NULL, NULL};
    float *popularity = NULL;
    int32_t *ids = NULL;
    uint64_t *users = NULL;
    int rc = 1;
    const double t_start = now();

    /* 1. The world, its logs and the feedback model (as in world-to-model and sim-audit). */
    reco_world_options wo = RECO_WORLD_OPTIONS_INIT;
    wo.n_items = 1000;
    if (reco_world_create(&world, &wo) < 0 || reco_world_create(&eval_world, &wo) < 0) {
        rc = fail("world");
        goto done;
    }
    reco_env world_env, eval_world_env;
    reco_world_env(&world_env, world);
    reco_world_env(&eval_world_env, eval_world);
    popularity = malloc(sizeof(float) * wo.n_items);
    ids = malloc(sizeof(int32_t) * wo.n_items);
    users = malloc(sizeof(uint64_t) * n_sessions);
    if (popularity == NULL || ids == NULL || users == NULL) {
        fprintf(stderr, "train-recomind: out of memory\n");
        goto done;
    }
    for (uint32_t i = 0; i < wo.n_items; i++)
        ids[i] = (int32_t)i;
    reco_world_item_info(NULL, NULL, NULL, popularity, world, ids, wo.n_items);
    reco_log_policy lp = RECO_LOG_POLICY_INIT;
    lp.kind = RECO_LOG_POLICY_POPULARITY;
    lp.item_weights = popularity;
    lp.n_item_weights = wo.n_items;
    reco_pipeline_log_options go = RECO_PIPELINE_LOG_OPTIONS_INIT; /* reco_pipeline_logs() */
    go.interactions = n_interactions;
    go.interactions_per_user = 100;
    go.propensity = 0;
    go.oracle = 0;
    double t0 = now();
    if (reco_pipeline_logs(&log, &world_env, &lp, &go) < 0) {
        rc = fail("generating logs");
        goto done;
    }
    printf("world: %u items, %u candidates per step, sessions of at most %u steps; "
           "reward: click %.1f, long watch %.1f, like %.1f, hide %.1f\n",
           wo.n_items, wo.n_candidates, wo.max_session_len, wo.reward_click,
           wo.reward_long_watch, wo.reward_like, wo.reward_hide);
    printf("logs: %zu interactions, %zu sessions under the popularity policy (%.1f s)\n",
           reco_log_n_rows(log), reco_log_n_sessions(log), now() - t0);
    /* the feedback model, fitted on 90% of the users (reco_pipeline_fit()) */
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    mo.n_items = wo.n_items;
    mo.n_signals = RECO_WORLD_N_SIGNALS;
    mo.lookback = wo.lookback;
    mo.dim = 16;
    mo.n_blocks = 1;
    mo.n_heads = 2;
    mo.ffn_dim = 32;
    mo.max_batch = 256;
    mo.max_candidates = 512;
    mo.init_std = 0.1f;
    reco_fit_options fo = RECO_FIT_OPTIONS_INIT;
    fo.epochs = (uint32_t)epochs;
    fo.batch_size = 256;
    fo.lr = 2e-3;
    fo.patience = 3;
    reco_fit_report rep = RECO_FIT_REPORT_INIT;
    t0 = now();
    if (reco_pipeline_fit(&model, &rep, log, 0.1, 7, &mo, &fo, NULL, NULL, 0) < 0) {
        rc = fail("training the feedback model");
        goto done;
    }
    printf("feedback model: %u epochs in %.1f s; validation AUC click %.3f, long watch %.3f, "
           "exit %.3f\n", rep.epochs_run, now() - t0, rep.model[RECO_SIGNAL_CLICK].auc,
           rep.model[RECO_SIGNAL_LONG_WATCH].auc, rep.model[RECO_WORLD_N_SIGNALS].auc);

    /* The world's reward weights, used by the simulators, greedy-supervised and warm start. */
    float reward[RECO_WORLD_N_SIGNALS];
    reward[RECO_SIGNAL_CLICK] = (float)wo.reward_click;
    reward[RECO_SIGNAL_LONG_WATCH] = (float)wo.reward_long_watch;
    reward[RECO_SIGNAL_LIKE] = (float)wo.reward_like;
    reward[RECO_SIGNAL_HIDE] = (float)wo.reward_hide;

    /* 2. Evaluation: the same users, from the world's states, in fresh simulators. */
    reco_sim_options eso = RECO_SIM_OPTIONS_INIT;
    eso.seed = 101;
    eso.max_sessions = wo.max_sessions;
    eso.max_session_len = wo.max_session_len;
    eso.n_candidates = wo.n_candidates;
    for (uint32_t f = 0; f < RECO_WORLD_N_SIGNALS; f++)
        eso.reward[f] = reward[f];
    if (reco_world_eval_users(users, world, 0, (uint32_t)n_sessions) < 0) {
        rc = fail("evaluation users");
        goto done;
    }
    reco_run_options ro = RECO_RUN_OPTIONS_INIT;
    ro.max_candidates = wo.n_candidates;
    evaluator ev;
    memset(&ev, 0, sizeof ev);
    ev.feedback = model;
    ev.so = &eso;
    ev.start_world = eval_world;
    ev.users = users;
    ev.n_users = (uint32_t)n_sessions;
    ev.ro = &ro;

    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    po.seed = 5;
    reco_policy random_policy, greedy_policy;
    if (reco_policy_create(&random_state, &po) < 0 ||
        reco_policy_get(&random_policy, random_state) < 0) {
        rc = fail("random policy");
        goto done;
    }
    po.kind = RECO_POLICY_MODEL_GREEDY;
    po.model = model;
    po.signal_weights = reward;
    if (reco_policy_create(&greedy_state, &po) < 0 ||
        reco_policy_get(&greedy_policy, greedy_state) < 0) {
        rc = fail("greedy-supervised policy");
        goto done;
    }
    reco_run_stats st_random, st_greedy;
    t0 = now();
    if (eval_sim(&st_random, &ev, &random_policy) < 0 ||
        eval_sim(&st_greedy, &ev, &greedy_policy) < 0) {
        rc = fail("reference evaluation");
        goto done;
    }
    printf("\nsimulator references, %llu evaluation sessions (%.1f s):\n",
           (unsigned long long)n_sessions, now() - t0);
    printf("  %-18s  return %7.3f  depth %5.1f\n", "random", mean_return(&st_random),
           mean_depth(&st_random));
    printf("  %-18s  return %7.3f  depth %5.1f\n", "greedy-supervised", mean_return(&st_greedy),
           mean_depth(&st_greedy));

    /* 3. RecoMind, warm start and random init. */
    static const char *init_names[2] = {"warm start", "random init"};
    reco_policy q_policies[2];
    for (int k = 0; k < 2; k++) {
        reco_model_options qmo = RECO_MODEL_OPTIONS_INIT;
        if (reco_model_get_options(&qmo, model) < 0) {
            rc = fail("model options");
            goto done;
        }
        qmo.seed = 17;
        qmo.lr = (float)lr;
        reco_qnet_options qo = RECO_QNET_OPTIONS_INIT;
        qo.model = &qmo;
        qo.gamma = (float)gamma;
        qo.target_period = 250;
        if ((k == 0 ? reco_qnet_create_warm(&qnets[k], model, reward, &qo)
                    : reco_qnet_create(&qnets[k], &qo)) < 0) {
            rc = fail("Q-network");
            goto done;
        }
        reco_replay_options rpo = RECO_REPLAY_OPTIONS_INIT;
        rpo.lookback = wo.lookback;
        rpo.seed = 3;
        reco_sim_options tso = eso;
        tso.seed = 11;
        tso.max_sessions = 16;
        reco_env train_env;
        if (reco_replay_create(&replay, &rpo) < 0 ||
            reco_sim_create(&train_sim, model, &tso) < 0 ||
            reco_sim_set_start_env(train_sim, &world_env) < 0 ||
            reco_sim_env(&train_env, train_sim) < 0) {
            rc = fail("replay or training simulator");
            goto done;
        }
        reco_policy_options qpo = RECO_POLICY_OPTIONS_INIT;
        qpo.kind = RECO_POLICY_MODEL_HEAD;
        qpo.model = reco_qnet_online(qnets[k]);
        qpo.head = reco_qnet_q_head(qnets[k]);
        if (reco_policy_create(&q_states[k], &qpo) < 0 ||
            reco_policy_get(&q_policies[k], q_states[k]) < 0) {
            rc = fail("greedy-Q policy");
            goto done;
        }
        ev.policy = q_policies[k];
        ev.failed = 0;
        ev.last_updates = 0;

        reco_explorer_options eo = RECO_EXPLORER_OPTIONS_INIT;
        eo.max_candidates = wo.n_candidates;
        eo.seed = 23;
        reco_trainer_options to = RECO_TRAINER_OPTIONS_INIT;
        to.n_generators = 1;
        to.sessions_per_generator = 16;
        to.segment_len = 32;
        to.replay_ratio = 0.25;
        to.warmup = 2000;
        to.batch_size = 64;
        to.n_candidates = 128;
        to.snapshot_period = 1;
        to.max_staleness = 0;
        to.total_updates = n_updates;
        to.n_users = wo.n_users;
        to.seed = 9;
        to.metrics_interval = n_updates >= 10 ? n_updates / 10 : 1;
        to.progress = on_progress;
        to.progress_payload = &ev;
        printf("\nRecoMind, %s: %llu updates, lr %g, gamma %g\n", init_names[k],
               (unsigned long long)n_updates, lr, gamma);
        printf("  %7s  %11s  %6s  %9s  %7s  %11s  %10s\n", "updates", "sim return", "depth",
               "loss", "mean Q", "explore ret", "time");
        reco_run_stats st0;
        if (eval_sim(&st0, &ev, &q_policies[k]) < 0) {
            rc = fail("evaluation");
            goto done;
        }
        printf("  %7d  %11.3f  %6.1f  %9s  %7s  %11s  %8.1f s\n", 0, mean_return(&st0),
               mean_depth(&st0), "-", "-", "-", 0.0);
        ev.last_return = mean_return(&st0);
        reco_trainer_report tr = RECO_TRAINER_REPORT_INIT;
        if (reco_trainer_create(&trainer, qnets[k], replay, &eo, make_env, train_sim, &to) < 0) {
            rc = fail("trainer");
            goto done;
        }
        const int trc = reco_trainer_run(&tr, trainer);
        if (ev.failed)
            goto done;
        if (trc < 0) {
            rc = fail("training");
            goto done;
        }
        /* the last interval of a run is not passed to the progress callback: evaluate it */
        if (ev.last_updates != tr.updates && on_progress(&tr.last, &ev) != 0)
            goto done;
        printf("  %s: %llu transitions, %llu sessions, %.1f s\n", init_names[k],
               (unsigned long long)tr.transitions, (unsigned long long)tr.sessions, tr.wall_s);
        reco_trainer_free(trainer);
        trainer = NULL;
        reco_replay_free(replay);
        replay = NULL;
        reco_sim_free(train_sim);
        train_sim = NULL;
    }

    /* 4. The honest check: the same users in the world. */
    printf("\nsimulator vs world, the same %llu users (mean return per session, mean depth):\n",
           (unsigned long long)n_sessions);
    printf("  %-24s  %11s  %11s  %11s  %11s\n", "policy", "sim return", "world return",
           "sim depth", "world depth");
    const reco_policy *final_pols[4] = {&random_policy, &greedy_policy, &q_policies[0],
                                        &q_policies[1]};
    const reco_run_stats *final_sims[2] = {&st_random, &st_greedy};
    const char *final_names[4] = {"random", "greedy-supervised", "greedy-Q (warm start)",
                                  "greedy-Q (random init)"};
    t0 = now();
    for (int p = 0; p < 4; p++) {
        reco_run_stats ss, ws = RECO_RUN_STATS_INIT;
        if (p < 2)
            ss = *final_sims[p];
        else if (eval_sim(&ss, &ev, final_pols[p]) < 0) {
            rc = fail("final simulator evaluation");
            goto done;
        }
        if (reco_run_sessions(&ws, NULL, NULL, &eval_world_env, final_pols[p], users,
                              (uint32_t)n_sessions, &ro) < 0) {
            rc = fail("world evaluation");
            goto done;
        }
        printf("  %-24s  %11.3f  %11.3f  %11.1f  %11.1f\n", final_names[p], mean_return(&ss),
               mean_return(&ws), mean_depth(&ss), mean_depth(&ws));
    }
    printf("(world evaluation %.1f s)\ntotal %.1f s\n", now() - t0, now() - t_start);
    rc = 0;
done:
    reco_trainer_free(trainer);
    for (int k = 0; k < 2; k++) {
        reco_policy_free(q_states[k]);
        reco_qnet_free(qnets[k]);
    }
    reco_replay_free(replay);
    reco_sim_free(train_sim);
    reco_policy_free(random_state);
    reco_policy_free(greedy_state);
    reco_model_free(model);
    reco_log_free(log);
    reco_world_free(world);
    reco_world_free(eval_world);
    free(popularity);
    free(ids);
    free(users);
    return rc;
}
