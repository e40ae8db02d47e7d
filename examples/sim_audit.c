/* sim_audit: how far is the learned simulator from the world it was learned from?
 *
 *   1. the built-in world (defaults, but a 1000-item catalog) writes interaction logs under
 *      the popularity logging policy;
 *   2. the feedback model is fitted on them (10 epochs at most, early stopping);
 *   3. a simulator is built on the model, starting each session from the world's state of
 *      the same user;
 *   4. two policies, random and greedy-supervised (argmax of the model's expected immediate
 *      reward), each play the same evaluation sessions in the simulator and in the world,
 *      and the audit tables are printed: per-step rates of each signal and of the exit,
 *      session depth and return, overall, by item popularity quintile and by user segment.
 *
 * usage: sim-audit [--interactions N] [--epochs E] [--items N] [--sessions S] [--help]
 * Uses only the public API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECO_LAB_API /* world, logs, fit and audit are lab API (docs/abi.md) */
#include <reco/reco.h>

static const char *rate_names[] = {"click", "long_watch", "like", "hide", "exit"};
static const char *segment_names[] = {"light", "regular", "heavy"};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int fail(const char *what)
{
    fprintf(stderr, "sim-audit: %s: %s\n", what, reco_error_message());
    return 1;
}

static void usage(FILE *f)
{
    fprintf(f,
        "NAME\n"
        "    sim-audit - how far the learned simulator is from the world it was learned from\n"
        "\n"
        "SYNOPSIS\n"
        "    sim-audit [--interactions N] [--epochs E] [--items N] [--sessions S] [--help]\n"
        "\n"
        "DESCRIPTION\n"
        "    The built-in world (a catalog of N items) writes interaction logs under the\n"
        "    popularity logging policy; the feedback model is fitted on them (early\n"
        "    stopping); a simulator is built on the model, starting each session from the\n"
        "    world's state of the same user. Two policies, random and greedy-supervised\n"
        "    (argmax of the model's expected immediate reward), play the same evaluation\n"
        "    sessions in the simulator and in the world, and the audit tables are printed:\n"
        "    per-step rates of each signal and of the exit, session depth and return,\n"
        "    overall, by item popularity quintile and by user segment.\n"
        "\n"
        "OPTIONS\n"
        "    --interactions N  logged interactions to fit the model on (default 100000)\n"
        "    --epochs E        training epochs, at most (default 10; early stopping)\n"
        "    --items N         catalog size of the world (default 1000)\n"
        "    --sessions S      evaluation sessions per policy and side (default 1000)\n"
        "    --help, -h        this text\n"
        "\n"
        "EXIT STATUS\n"
        "    0 on success, 1 on a library error, 2 on a bad command line.\n");
}

static void rates_header(void)
{
    for (int r = 0; r < 5; r++)
        printf(" %15s", rate_names[r]);
    printf("\n");
}

static void rates_row(const reco_audit_stats *s, const reco_audit_stats *w, uint32_t R)
{
    for (uint32_t r = 0; r < R; r++)
        printf("     %.3f/%.3f", s->rate[r], w->rate[r]);
    printf("\n");
}

/* The audit tables; every cell is "simulator/world". */
static void print_report(const reco_audit_report *a, const char *policy)
{
    const uint32_t R = a->n_signals + 1;
    printf("== policy %s: %u sessions in the simulator and in the world "
           "(cells: sim/world) ==\n", policy, a->n_sessions);
    printf("%-26s", "overall");
    rates_header();
    printf("  steps %6llu/%-6llu     ", (unsigned long long)a->sim.steps,
           (unsigned long long)a->real.steps);
    rates_row(&a->sim, &a->real, R);
    printf("  mean depth %.1f/%.1f, mean return %.2f/%.2f, truncated sessions %llu/%llu\n",
           a->sim.mean_depth, a->real.mean_depth, a->sim.mean_return, a->real.mean_return,
           (unsigned long long)a->sim.truncated, (unsigned long long)a->real.truncated);
    printf("%-26s", "by item popularity bucket");
    rates_header();
    for (uint32_t b = 0; b < a->n_buckets; b++) {
        printf("  q%u (<=%.1e) %5.1f%%/%4.1f%%", b + 1, a->bucket_max_popularity[b],
               a->sim.steps ? 100.0 * (double)a->sim_bucket[b].steps / (double)a->sim.steps : 0,
               a->real.steps ? 100.0 * (double)a->real_bucket[b].steps / (double)a->real.steps
                             : 0);
        rates_row(&a->sim_bucket[b], &a->real_bucket[b], R);
    }
    printf("%-26s", "by user segment");
    rates_header();
    for (uint32_t g = 0; g < a->n_segments; g++) {
        printf("  %-8s %4llu depth %4.1f/%4.1f", g < 3 ? segment_names[g] : "?",
               (unsigned long long)a->real_segment[g].sessions, a->sim_segment[g].mean_depth,
               a->real_segment[g].mean_depth);
        rates_row(&a->sim_segment[g], &a->real_segment[g], R);
    }
    printf("  most wrong (sim - world):");
    for (uint32_t r = 0; r < R; r++)
        printf("%s %s: q%u %+.3f, %s %+.3f", r ? ";" : "", rate_names[r],
               a->worst_bucket[r] + 1, a->worst_bucket_gap[r],
               a->worst_segment[r] < 3 ? segment_names[a->worst_segment[r]] : "?",
               a->worst_segment_gap[r]);
    printf("\n\n");
}

int main(int argc, char **argv)
{
    uint64_t n_interactions = 100000;
    uint32_t epochs = 10, n_items = 1000, n_sessions = 1000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        const int known = strcmp(a, "--interactions") == 0 || strcmp(a, "--epochs") == 0 ||
                          strcmp(a, "--items") == 0 || strcmp(a, "--sessions") == 0;
        if (!known) {
            fprintf(stderr, "sim-audit: unknown argument '%s' (see --help)\n", a);
            return 2;
        }
        char *end = NULL;
        const unsigned long long v = i + 1 < argc ? strtoull(argv[i + 1], &end, 10) : 0;
        if (i + 1 >= argc || end == argv[i + 1] || *end != '\0' || v == 0 || v > 100000000ULL) {
            fprintf(stderr, "sim-audit: %s needs a positive integer\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--interactions") == 0)
            n_interactions = v;
        else if (strcmp(a, "--epochs") == 0)
            epochs = (uint32_t)v;
        else if (strcmp(a, "--items") == 0)
            n_items = (uint32_t)v;
        else
            n_sessions = (uint32_t)v;
    }

    reco_world *world = NULL;
    reco_log *log = NULL;
    reco_model *model = NULL;
    reco_sim *sim = NULL;
    reco_policy_state *random_state = NULL, *greedy_state = NULL;
    float *popularity = NULL;
    int32_t *ids = NULL;
    int rc = 1;
    const double t_start = now();

    /* 1. The world and its logs. */
    reco_world_options wo = RECO_WORLD_OPTIONS_INIT;
    wo.n_items = n_items;
    if (reco_world_create(&world, &wo) < 0) {
        rc = fail("world");
        goto done;
    }
    reco_env world_env;
    reco_world_env(&world_env, world);
    popularity = malloc(sizeof(float) * wo.n_items);
    ids = malloc(sizeof(int32_t) * wo.n_items);
    if (popularity == NULL || ids == NULL) {
        fprintf(stderr, "sim-audit: out of memory\n");
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
    printf("world: %u items, %u topics, %u candidates per step, sessions of at most %u steps\n",
           wo.n_items, wo.n_topics, wo.n_candidates, wo.max_session_len);
    printf("logs: %zu interactions, %zu sessions under the popularity policy (%.1f s)\n",
           reco_log_n_rows(log), reco_log_n_sessions(log), now() - t0);

    /* 2. The feedback model, fitted on 90% of the users (reco_pipeline_fit()). */
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
    fo.epochs = epochs;
    fo.batch_size = 256;
    fo.lr = 2e-3;
    fo.patience = 3;
    reco_fit_report rep = RECO_FIT_REPORT_INIT;
    t0 = now();
    if (reco_pipeline_fit(&model, &rep, log, 0.1, 7, &mo, &fo, NULL, NULL, 0) < 0) {
        rc = fail("training");
        goto done;
    }
    printf("model: %u epochs in %.1f s; validation AUC click %.3f, long watch %.3f, exit %.3f\n",
           rep.epochs_run, now() - t0, rep.model[RECO_SIGNAL_CLICK].auc,
           rep.model[RECO_SIGNAL_LONG_WATCH].auc, rep.model[RECO_WORLD_N_SIGNALS].auc);

    /* 3. The simulator, starting from the world's states; same length limit and candidates. */
    reco_sim_options so = RECO_SIM_OPTIONS_INIT;
    so.max_sessions = wo.max_sessions;
    so.max_session_len = wo.max_session_len;
    so.n_candidates = wo.n_candidates;
    reco_env sim_env;
    if (reco_sim_create(&sim, model, &so) < 0 || reco_sim_set_start_env(sim, &world_env) < 0 ||
        reco_sim_env(&sim_env, sim) < 0) {
        rc = fail("simulator");
        goto done;
    }

    /* 4. Two policies, audited on the same evaluation sessions. */
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
    po.signal_weights = so.reward;
    if (reco_policy_create(&greedy_state, &po) < 0 ||
        reco_policy_get(&greedy_policy, greedy_state) < 0) {
        rc = fail("greedy policy");
        goto done;
    }
    printf("audit: %u evaluation sessions per policy and side; popularity quintiles of the "
           "world's prior\n\n", n_sessions);
    const reco_policy *pols[2] = {&random_policy, &greedy_policy};
    const char *names[2] = {"random", "greedy-supervised"};
    for (int p = 0; p < 2; p++) {
        reco_audit_report ar;
        ar.version = RECO_AUDIT_REPORT_VERSION;
        t0 = now();
        if (reco_audit_world(&ar, &sim_env, world, pols[p], 0, n_sessions, NULL) < 0) {
            rc = fail("audit");
            goto done;
        }
        printf("(%.1f s) ", now() - t0);
        print_report(&ar, names[p]);
    }
    printf("total %.1f s\n", now() - t_start);
    rc = 0;
done:
    reco_policy_free(random_state);
    reco_policy_free(greedy_state);
    reco_sim_free(sim);
    reco_model_free(model);
    reco_log_free(log);
    reco_world_free(world);
    free(popularity);
    free(ids);
    return rc;
}
