/* world_to_model: the first half of RecoMind on the built-in ground-truth world.
 *
 *   1. the world writes interaction logs under a logging policy (popularity by default);
 *   2. the logs are split by user into training and validation;
 *   3. the feedback model is trained on them (BCE per signal and exit, early stopping);
 *      steps 1-3 are the pipeline's first stages, reco_pipeline_logs() and
 *      reco_pipeline_fit();
 *   4. the validation metrics are printed next to the two baselines (global rate and item
 *      popularity rate).
 *
 * usage: world-to-model [n_interactions [policy [epochs [n_items [logs.csv]]]]] (see --help)
 *        defaults: 200000 interactions, the popularity policy (or: uniform), 20 epochs at
 *        most (early stopping), a 1000-item world (the world's default is 10000: see
 *        docs/training.md for why 200k interactions are too few for it); with a CSV path
 *        the logs are also saved. One user per 100 interactions, so that users have several
 *        sessions and their history spans them.
 * Uses only the public API. */
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

static int on_epoch(const reco_fit_epoch *e, void *payload)
{
    (void)payload;
    printf("  epoch %2u  train loss %.4f  valid loss %.4f  click AUC %.3f  long-watch AUC %.3f"
           "  %5.1f s%s\n", e->epoch, e->train_loss, e->valid_loss,
           e->model[RECO_SIGNAL_CLICK].auc, e->model[RECO_SIGNAL_LONG_WATCH].auc, e->seconds,
           e->improved ? "  *" : "");
    fflush(stdout);
    return 0;
}

static int fail(const char *what)
{
    fprintf(stderr, "world-to-model: %s: %s\n", what, reco_error_message());
    return 1;
}

static void usage(FILE *f)
{
    fprintf(f,
        "NAME\n"
        "    world-to-model - world -> interaction logs -> supervised feedback model\n"
        "\n"
        "SYNOPSIS\n"
        "    world-to-model [N_INTERACTIONS [POLICY [EPOCHS [N_ITEMS [LOGS.csv]]]]]\n"
        "    world-to-model --help\n"
        "\n"
        "DESCRIPTION\n"
        "    The first half of RecoMind on the built-in ground-truth world: the world writes\n"
        "    N_INTERACTIONS logged interactions under a logging policy (one user per 100\n"
        "    interactions, so that users have several sessions), the logs are split by user\n"
        "    into training and validation, the feedback model is trained on them (BCE per\n"
        "    signal and exit, early stopping), and the validation metrics (log-loss, AUC,\n"
        "    calibration) are printed next to the global-rate and item-popularity baselines.\n"
        "\n"
        "ARGUMENTS\n"
        "    N_INTERACTIONS  logged interactions (default 200000)\n"
        "    POLICY          popularity (default) or uniform\n"
        "    EPOCHS          training epochs, at most (default 20; early stopping)\n"
        "    N_ITEMS         catalog size (default 1000; the world's default of 10000 needs\n"
        "                    more than 200k interactions, see docs/training.md)\n"
        "    LOGS.csv        also save the logs there\n"
        "\n"
        "OPTIONS\n"
        "    --help, -h      this text\n"
        "\n"
        "EXIT STATUS\n"
        "    0 on success, 1 on a library error, 2 on a bad command line.\n");
}

/* A positive decimal integer, or -1 after a message. */
static int positional(const char *name, const char *s, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    const unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end != '\0' || v == 0 || v > max || s[0] == '-') {
        fprintf(stderr, "world-to-model: %s must be a positive integer up to %llu, not '%s' "
                "(see --help)\n", name, (unsigned long long)max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (argv[i][0] == '-') {
            fprintf(stderr, "world-to-model: unknown option '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (argc > 6) {
        fprintf(stderr, "world-to-model: too many arguments (see --help)\n");
        return 2;
    }
    uint64_t n_interactions = 200000, epochs64 = 20, n_items64 = 1000;
    if ((argc > 1 && positional("N_INTERACTIONS", argv[1], 1000000000ULL, &n_interactions) < 0) ||
        (argc > 3 && positional("EPOCHS", argv[3], 1000000, &epochs64) < 0) ||
        (argc > 4 && positional("N_ITEMS", argv[4], 1ULL << 26, &n_items64) < 0))
        return 2;
    const char *policy_name = argc > 2 ? argv[2] : "popularity";
    const uint32_t epochs = (uint32_t)epochs64;
    const uint32_t n_items = (uint32_t)n_items64;
    const char *csv = argc > 5 ? argv[5] : NULL;
    int uniform = strcmp(policy_name, "uniform") == 0;
    if (!uniform && strcmp(policy_name, "popularity") != 0) {
        fprintf(stderr, "world-to-model: policy must be popularity or uniform\n");
        return 2;
    }

    reco_world *world = NULL;
    reco_log *log = NULL;
    reco_model *model = NULL;
    float *popularity = NULL;
    int32_t *ids = NULL;
    int rc = 1;

    /* 1. The world: defaults (20 topics, 500 candidates, lookback 20) but the catalog size. */
    reco_world_options wo = RECO_WORLD_OPTIONS_INIT;
    wo.n_items = n_items;
    if (reco_world_create(&world, &wo) < 0) {
        rc = fail("world");
        goto done;
    }
    reco_env env;
    reco_world_env(&env, world);
    popularity = malloc(sizeof(float) * wo.n_items);
    ids = malloc(sizeof(int32_t) * wo.n_items);
    for (uint32_t i = 0; i < wo.n_items; i++)
        ids[i] = (int32_t)i;
    reco_world_item_info(NULL, NULL, NULL, popularity, world, ids, wo.n_items);

    reco_log_policy pol = RECO_LOG_POLICY_INIT;
    if (!uniform) {
        pol.kind = RECO_LOG_POLICY_POPULARITY;
        pol.item_weights = popularity;
        pol.n_item_weights = wo.n_items;
    }
    /* the pipeline's logging stage (reco_pipeline_logs): users take turns, each session a
     * new session key of its user, cut one step before the world's limit (exit 0) */
    reco_pipeline_log_options go = RECO_PIPELINE_LOG_OPTIONS_INIT;
    go.interactions = n_interactions;
    go.interactions_per_user = 100; /* ~7 sessions each */
    go.propensity = 0;              /* a plain log: the signals and exit only */
    go.oracle = 0;
    double t0 = now();
    if (reco_pipeline_logs(&log, &env, &pol, &go) < 0) {
        rc = fail("generating logs");
        goto done;
    }
    printf("world: %u items, %u topics, %u candidates per step\n", wo.n_items, wo.n_topics,
           wo.n_candidates);
    printf("logs: %zu interactions, %zu sessions, %zu users under the %s policy (%.1f s)\n",
           reco_log_n_rows(log), reco_log_n_sessions(log), reco_log_n_users(log), policy_name,
           now() - t0);
    if (csv != NULL && reco_log_save_csv(log, csv) < 0) {
        rc = fail("saving the logs");
        goto done;
    }

    /* 2 and 3. Split by user (10% validate) and fit the feedback model (reco_pipeline_fit). */
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
    mo.init_std = 0.1f; /* faster out of the symmetric start than 0.02 (docs/training.md) */
    reco_fit_options fo = RECO_FIT_OPTIONS_INIT;
    fo.epochs = epochs;
    fo.batch_size = 256;
    fo.lr = 2e-3;
    fo.patience = 3;
    fo.progress = on_epoch;
    reco_fit_report rep = RECO_FIT_REPORT_INIT;
    t0 = now();
    if (reco_pipeline_fit(&model, &rep, log, 0.1, 7, &mo, &fo, NULL, NULL, 0) < 0) {
        rc = fail("training");
        goto done;
    }
    printf("split: %llu training rows, %llu validation rows\n",
           (unsigned long long)rep.n_train, (unsigned long long)rep.n_valid);
    printf("trained %u epochs in %.1f s; best epoch %u%s\n\n", rep.epochs_run, now() - t0,
           rep.best_epoch, rep.stopped_early ? " (stopped early)" : "");

    /* 4. The table. */
    static const char *names[] = {"click", "long_watch", "like", "hide", "exit"};
    printf("validation (%llu rows)   rate |        model          |      global rate      |"
           "   item popularity\n", (unsigned long long)rep.n_valid);
    printf("%-22s       | logloss   AUC   ECE   | logloss   AUC   ECE   | logloss   AUC   "
           "ECE\n", "");
    for (uint32_t h = 0; h < rep.n_outputs; h++) {
        const reco_fit_metrics *m = &rep.model[h], *g = &rep.global_rate[h],
                               *p = &rep.popularity[h];
        printf("%-22s %6.3f | %.4f  %.3f  %.4f | %.4f  %.3f  %.4f | %.4f  %.3f  %.4f\n",
               names[h], rep.valid_rate[h], m->log_loss, m->auc, m->ece, g->log_loss, g->auc,
               g->ece, p->log_loss, p->auc, p->ece);
    }
    rc = 0;
done:
    reco_model_free(model);
    reco_log_free(log);
    reco_world_free(world);
    free(popularity);
    free(ids);
    return rc;
}
