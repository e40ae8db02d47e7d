/* recomind: the whole RecoMind pipeline on the built-in world, judged in the world, or on a
 * user's own logs, judged in a held-out simulator.
 *
 * A thin front end over reco_pipeline_run() (include/reco/pipeline.h, docs/pipeline.md),
 * which for each seed of the experiment (in parallel on `experiment.threads` threads):
 *   1. logs: the world writes interaction logs under a logging policy (by default a
 *      supervised recommender in production: a model fitted on popularity-logged data picks
 *      with a softmax of its expected reward);
 *   2. the feedback model is fitted on them; the simulator is that model;
 *   3. the Q-network is warm-started from it (or randomly initialised) and trained with
 *      Double DQN + prioritized replay in the simulator, exploring with the top-K softmax;
 *   4. five policies - random, popular, greedy-supervised (argmax of the model's expected
 *      immediate reward), RecoMind (argmax of the Q head) and warm-start (the Q head before
 *      the first update: the control for what the RL adds) - play the same evaluation
 *      users, with common random numbers, in the simulator and in the world.
 * With --logs FILE.csv there is no world: the logs' users are split in two, RecoMind trains
 * in the simulator of the first part and is judged in the held-out simulator of the second,
 * next to the logged sessions themselves; the trained Q-network is written as a checkpoint
 * that serve-qnet loads.
 * This program parses the command line, prints the tables and draws the plots; results.json,
 * results.csv and learning_curve.csv come from the library's writers. Uses only the public
 * API. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define RECO_LAB_API /* the pipeline, configuration, logs and evaluation are lab API */
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

enum { N_POL = RECO_PIPELINE_N_POLICIES, BASELINE = RECO_PIPELINE_BASELINE,
       RECOMIND = RECO_PIPELINE_RECOMIND, WARM = RECO_PIPELINE_WARM_START };

static const char *const without_names[] = {"user_features", "item_features", "long_history",
                                            "position", "elapsed", "state_bias"};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int quiet;
static double t_start;

/* The pipeline's progress lines (called one at a time, from any seed's thread). */
static void on_line(const char *line, void *payload)
{
    (void)payload;
    if (quiet)
        return;
    printf("[%6.1f s] %s\n", now() - t_start, line);
    fflush(stdout);
}

static void usage(FILE *f)
{
    fprintf(f,
        "NAME\n"
        "    recomind - the RecoMind pipeline on the built-in world, judged in the world,\n"
        "               or on your own logs, judged in a held-out simulator\n"
        "\n"
        "SYNOPSIS\n"
        "    recomind [--config FILE] [--set PATH=VALUE]... [--out DIR] [--seeds LIST]\n"
        "             [--init warm|random] [--ensemble K] [--select-heldout] [--fit-only]\n"
        "             [--without INPUTS] [--eval-heldout]\n"
        "             [--print-config] [--quiet] [--help]\n"
        "    recomind --logs FILE.csv [--items FILE.csv] [--config FILE] [--set PATH=VALUE]...\n"
        "             [--out DIR] [--seeds LIST] [--init warm|random] [--fit-only] [--quiet]\n"
        "\n"
        "DESCRIPTION\n"
        "    For each seed: the world writes interaction logs (by default under a supervised\n"
        "    recommender with softmax exploration, itself fitted on popularity-logged data),\n"
        "    the feedback model is fitted on them and becomes the simulator, and the\n"
        "    RecoMind Q-network, warm-started from it, is trained with Double DQN and\n"
        "    prioritized replay in the simulator, exploring with epsilon-greedy over a\n"
        "    softmax of the top 25%% Q-ranked candidates. Then random, popular,\n"
        "    greedy-supervised, RecoMind and warm-start (the Q-network before its first\n"
        "    update: the control for what the RL adds) play the same evaluation users with\n"
        "    common random numbers in the simulator and in the world. Seeds run in\n"
        "    parallel on experiment.threads threads. The run is reco_pipeline_run().\n"
        "\n"
        "    Prints, per environment, each metric's mean with its interval, the paired\n"
        "    lift of RecoMind over greedy-supervised and over warm-start (the control), per\n"
        "    seed, pooled over seeds and over seeds (t interval of the seeds' lifts).\n"
        "    Writes into experiment.output.dir: results.json (schema libreco.eval/1 with\n"
        "    one environment per seed and side, 'sim (pooled)', 'world (pooled)', 'sim\n"
        "    (over seeds)', 'world (over seeds)', each with control_lifts),\n"
        "    results.csv, learning_curve.csv, and with gnuplot learning_curve.png and\n"
        "    lifts.png. Without --config the built-in defaults are used; they equal\n"
        "    examples/configs/default.yaml.\n"
        "\n"
        "    With --logs there is no world: your logs (CSV, docs/logs.md; the header names\n"
        "    the signals and the optional columns) are split by user (pipeline.heldout_share\n"
        "    to the held-out part), a feedback model is fitted on each part, RecoMind trains\n"
        "    in the first part's simulator, and the five policies are evaluated on held-out\n"
        "    users in both simulators; the held-out simulator's values are the estimate,\n"
        "    printed next to the logged sessions' own return. The environment-independent\n"
        "    settings (candidates, lookback, session cap, reward weights) come from the\n"
        "    pipeline section. Also writes qnet.reco, the trained Q-network, which\n"
        "    serve-qnet --checkpoint loads.\n"
        "\n");
    fprintf(f, /* two strings: each within the length C99 compilers must support */
        "OPTIONS\n"
        "    --config FILE      YAML experiment (sections experiment, world, model, fit,\n"
        "                       sim, qnet, replay, explorer, trainer, pipeline)\n"
        "    --set PATH=VALUE   override one option after the file, e.g.\n"
        "                       --set trainer.total_updates=20000 (repeatable)\n"
        "    --out DIR          same as --set experiment.output.dir=DIR\n"
        "    --seeds LIST       same as --set experiment.seeds=[LIST], e.g. --seeds 1,2\n"
        "    --logs FILE.csv    train from these logs instead of the world\n"
        "    --items FILE.csv   with --logs: item features, header item,<columns>; the\n"
        "                       trailing columns whose values are all non-negative integers\n"
        "                       (or empty) are categorical fields, the others dense\n"
        "    --init warm|random warm start from the feedback model (default) or random\n"
        "    --ensemble K       train in K simulators of K feedback models fitted on the same\n"
        "                       logs with other seeds (1..8, default 1), session slot i in\n"
        "                       simulator i mod K; the evaluation simulator is the first\n"
        "    --select-heldout   also log as many interactions of other users, fit a second\n"
        "                       model on them alone, and keep the Q-network snapshot (of\n"
        "                       those taken every trainer.metrics_interval updates) whose\n"
        "                       greedy policy earns most in that model's simulator; the\n"
        "                       same as --set pipeline.select_snapshot=heldout (with\n"
        "                       pipeline.early_stop_patience, training also stops there)\n"
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
        "    ...), and pipeline options that differ from what the world declares, are\n"
        "    refused when a file or --set gives them, with the file:line:column or the\n"
        "    --set argument and the reason; docs/experiment.md lists them.\n"
        "\n"
        "EXIT STATUS\n"
        "    0 on success, 1 on a library or I/O error, 2 on a bad command line or\n"
        "    configuration.\n");
}

/* ---- your own logs: the schema from the CSV headers ---------------------------------------- */

/* Splits a header line in place into at most `cap` comma-separated names. */
static uint32_t split_header(char *line, char **cols, uint32_t cap)
{
    uint32_t n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < cap;) {
        cols[n++] = p;
        char *c = strchr(p, ',');
        if (c == NULL)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

enum { MAX_COLS = 4200 };

/* Loads a CSV log whose header says its signals and optional columns (docs/logs.md):
 * user,session,step,timestamp,item,<signals>,exit[,propensity][,p_<signal>...,p_exit]
 * [,<user features>]. */
static int load_logs(reco_log **out, const char *path)
{
    static char line[1 << 16];
    static char *cols[MAX_COLS];
    FILE *f = fopen(path, "r");
    if (f == NULL || fgets(line, sizeof line, f) == NULL) {
        fprintf(stderr, "recomind: %s: cannot read its header\n", path);
        if (f)
            fclose(f);
        return 2;
    }
    fclose(f);
    const uint32_t n = split_header(line, cols, MAX_COLS);
    static const char *const fixed[5] = {"user", "session", "step", "timestamp", "item"};
    for (uint32_t i = 0; i < 5; i++)
        if (i >= n || strcmp(cols[i], fixed[i]) != 0) {
            fprintf(stderr, "recomind: %s:1: the header must begin with "
                    "user,session,step,timestamp,item (docs/logs.md)\n", path);
            return 2;
        }
    uint32_t e = 5;
    while (e < n && strcmp(cols[e], "exit") != 0)
        e++;
    if (e == n || e == 5) {
        fprintf(stderr, "recomind: %s:1: the header has no signal columns followed by "
                "exit (docs/logs.md)\n", path);
        return 2;
    }
    reco_log_options lo = RECO_LOG_OPTIONS_INIT;
    lo.n_signals = e - 5;
    lo.signal_names = (const char *const *)(cols + 5);
    uint32_t c = e + 1;
    if (c < n && strcmp(cols[c], "propensity") == 0) {
        lo.propensity = 1;
        c++;
    }
    if (c < n && strncmp(cols[c], "p_", 2) == 0) {
        lo.oracle = 1;
        c += lo.n_signals + 1;
    }
    lo.user_dim = c < n ? n - c : 0;
    lo.user_feature_names = lo.user_dim ? (const char *const *)(cols + c) : NULL;
    reco_log_load_options ll = RECO_LOG_LOAD_OPTIONS_INIT;
    int rc = reco_log_create(out, &lo);
    if (rc == RECO_OK)
        rc = reco_log_load_csv(*out, path, &ll);
    if (rc < 0) {
        fprintf(stderr, "recomind: %s\n", reco_error_message());
        return rc == RECO_EFORMAT || rc == RECO_EINVAL ? 2 : 1;
    }
    return 0;
}

/* 1 when `s` is empty or a non-negative decimal integer below 2^24; its value in *v. */
static int small_uint(const char *s, long *v)
{
    *v = -1;
    if (*s == '\0')
        return 1;
    char *end = NULL;
    const long x = strtol(s, &end, 10);
    if (*end != '\0' || x < 0 || x >= (1L << 24) || s[0] == '+' || s[0] == '-')
        return 0;
    *v = x;
    return 1;
}

/* Loads an item table: the trailing columns whose values are all small non-negative integers
 * (or empty) are its categorical fields (size: largest value + 1), the others its dense
 * features; the catalog is the larger of its ids and the logs'. */
static int load_items(reco_items **out, const char *path, uint32_t log_items)
{
    static char line[1 << 16], head[1 << 16];
    static char *cols[MAX_COLS], *names[MAX_COLS];
    static int is_int[MAX_COLS];
    static long max_v[MAX_COLS];
    FILE *f = fopen(path, "r");
    if (f == NULL || fgets(head, sizeof head, f) == NULL) {
        fprintf(stderr, "recomind: %s: cannot read its header\n", path);
        if (f)
            fclose(f);
        return 2;
    }
    const uint32_t n = split_header(head, names, MAX_COLS);
    if (n < 1 || strcmp(names[0], "item") != 0) {
        fprintf(stderr, "recomind: %s:1: the header must begin with item (docs/items.md)\n",
                path);
        fclose(f);
        return 2;
    }
    for (uint32_t i = 0; i < n; i++) {
        is_int[i] = 1;
        max_v[i] = 0;
    }
    long max_item = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        const uint32_t m = split_header(line, cols, MAX_COLS);
        long v;
        if (m >= 1 && small_uint(cols[0], &v) && v > max_item)
            max_item = v;
        for (uint32_t i = 1; i < m && i < n; i++) {
            if (!small_uint(cols[i], &v))
                is_int[i] = 0;
            else if (v + 1 > max_v[i])
                max_v[i] = v + 1;
        }
    }
    fclose(f);
    uint32_t first_field = n;
    while (first_field > 1 && is_int[first_field - 1])
        first_field--;
    static uint32_t sizes[MAX_COLS];
    for (uint32_t i = first_field; i < n; i++)
        sizes[i - first_field] = max_v[i] > 0 ? (uint32_t)max_v[i] : 1;
    reco_items_options io = RECO_ITEMS_OPTIONS_INIT;
    io.n_items = (uint32_t)(max_item + 1) > log_items ? (uint32_t)(max_item + 1) : log_items;
    io.n_dense = first_field - 1;
    io.dense_names = (const char *const *)(names + 1);
    io.n_fields = n - first_field;
    io.field_names = (const char *const *)(names + first_field);
    io.field_sizes = sizes;
    int rc = reco_items_create(out, &io);
    if (rc == RECO_OK)
        rc = reco_items_load_csv(*out, path, NULL);
    if (rc < 0) {
        fprintf(stderr, "recomind: %s\n", reco_error_message());
        return rc == RECO_EFORMAT || rc == RECO_EINVAL ? 2 : 1;
    }
    return 0;
}

/* The largest item id of a log plus one. */
static uint32_t items_of(const reco_log *log)
{
    reco_log_columns c = RECO_LOG_COLUMNS_INIT;
    reco_log_get_columns(&c, log);
    int32_t mx = -1;
    for (size_t r = 0; r < c.n_rows; r++)
        if (c.items[r] > mx)
            mx = c.items[r];
    return (uint32_t)(mx + 1);
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
    for (uint32_t p = 0; p < N_POL; p++)
        printf(" %24s", reco_pipeline_policy_name(p));
    printf(" %26s %26s\n", "recomind lift", "over warm-start");
    for (int k = 0; k < N_SHOWN; k++) {
        printf("%-20s", reco_eval_metric_name(shown[k]));
        for (uint32_t p = 0; p < N_POL; p++) {
            reco_eval_stat st;
            reco_eval_stat_get(&st, ev, p, shown[k]);
            char cell[64];
            snprintf(cell, sizeof cell, "%.3f [%.3f, %.3f]", st.mean, st.lo, st.hi);
            printf(" %24s", cell);
        }
        for (int c = 0; c < 2; c++) {
            reco_eval_stat rel, dif;
            reco_eval_lift(&rel, &dif, ev, RECOMIND, c ? WARM : BASELINE, shown[k]);
            char cell[64];
            if (isnan(rel.mean))
                snprintf(cell, sizeof cell, "n/a");
            else
                snprintf(cell, sizeof cell, "%+.1f%% [%+.1f, %+.1f]", 100 * rel.mean,
                         100 * rel.lo, 100 * rel.hi);
            printf(" %26s", cell);
        }
        printf("\n");
    }
}

/* The share of the popularity-to-oracle AUC gap the model closes. */
static double gap_closed(const reco_fit_report *r, uint32_t h)
{
    return (r->model[h].auc - r->popularity[h].auc) / (r->oracle[h].auc - r->popularity[h].auc);
}

static void print_calibration(const reco_pipeline *p)
{
    const uint32_t n = reco_pipeline_n_seeds(p);
    if (n == 0 || reco_pipeline_n_calibration(p, 0) == 0)
        return;
    reco_fit_report r = RECO_FIT_REPORT_INIT;
    reco_pipeline_fit_report(&r, p, 0, 0);
    const uint32_t n_out = r.n_outputs;
    printf("\nthe feedback model on each policy's own choices in the %s (mean probability "
           "of the shown item: model / truth):\n",
           reco_pipeline_side_name(p, RECO_PIPELINE_REAL));
    printf("%-6s %-18s", "seed", "policy");
    for (uint32_t h = 0; h < n_out; h++)
        printf(" %17s", reco_pipeline_output_name(p, h));
    printf("\n");
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t row = 0; row < reco_pipeline_n_calibration(p, k); row++) {
            double model[RECO_PIPELINE_MAX_SIGNALS + 1], truth[RECO_PIPELINE_MAX_SIGNALS + 1];
            reco_pipeline_calibration(model, truth, p, k, row);
            printf("%-6llu %-18s", (unsigned long long)reco_pipeline_seed(p, k),
                   row < 3 ? reco_pipeline_policy_name(row) : "greedy (held-out)");
            for (uint32_t h = 0; h < n_out; h++) {
                char cell[32];
                snprintf(cell, sizeof cell, "%.4f / %.4f", model[h], truth[h]);
                printf(" %17s", cell);
            }
            printf("\n");
        }
}

static void print_fit(const reco_pipeline *p)
{
    const uint32_t n = reco_pipeline_n_seeds(p);
    reco_fit_report r[RECO_EXPERIMENT_MAX_SEEDS];
    for (uint32_t k = 0; k < n; k++) {
        r[k] = (reco_fit_report)RECO_FIT_REPORT_INIT;
        reco_pipeline_fit_report(&r[k], p, k, 0);
    }
    printf("\nfeedback model: validation loss (sum of the outputs' log-losses, held-out users) "
           "per seed:");
    for (uint32_t k = 0; k < n; k++)
        printf(" %.5f", r[k].best_valid_loss);
    printf("\n");
    for (uint32_t k = 0; k < n; k++) {
        const uint32_t F = r[k].n_outputs - 1;
        printf("seed %llu: step durations %.2f s", (unsigned long long)reco_pipeline_seed(p, k),
               r[k].step_seconds_base);
        for (uint32_t f = 0; f < F; f++)
            printf(" %+.2f %s", r[k].step_seconds[f], reco_pipeline_output_name(p, f));
        printf("; exit tilt");
        for (uint32_t f = 0; f < F; f++)
            printf(" %+.3f %s", r[k].exit_tilt[f], reco_pipeline_output_name(p, f));
        printf("\n");
    }
    printf("\nfeedback model vs the %s (validation rows):\n",
           r[0].has_oracle ? "world's own probabilities" : "item popularity rate");
    printf("%-6s %-11s %7s %7s %7s %7s | %8s %8s | %6s\n", "seed", "output", "AUC", "popul.",
           "oracle", "closed", "logloss", "oracle", "ECE");
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t h = 0; h < r[k].n_outputs; h++)
            printf("%-6llu %-11s %7.3f %7.3f %7.3f %6.0f%% | %8.4f %8.4f | %6.4f\n",
                   (unsigned long long)reco_pipeline_seed(p, k),
                   reco_pipeline_output_name(p, h), r[k].model[h].auc,
                   r[k].popularity[h].auc, r[k].oracle[h].auc, 100.0 * gap_closed(&r[k], h),
                   r[k].model[h].log_loss, r[k].oracle[h].log_loss, r[k].model[h].ece);
}

/* "+1.2% [-0.3, +2.7]", or "+1.2%" without an interval. */
static void lift_cell(char *cell, size_t cap, const reco_eval_stat *rel)
{
    if (isnan(rel->mean))
        snprintf(cell, cap, "n/a");
    else if (isnan(rel->lo))
        snprintf(cell, cap, "%+.1f%%", 100 * rel->mean);
    else
        snprintf(cell, cap, "%+.1f%% [%+.1f, %+.1f]", 100 * rel->mean, 100 * rel->lo,
                 100 * rel->hi);
}

static void print_lifts(const reco_pipeline *p)
{
    const uint32_t n_seeds = reco_pipeline_n_seeds(p);
    const char *real = reco_pipeline_side_name(p, RECO_PIPELINE_REAL);
    static const reco_eval_metric ms[3] = {RECO_EVAL_LONG_WATCHES, RECO_EVAL_DEPTH,
                                           RECO_EVAL_RETURN};
    for (int c = 0; c < 2; c++) {
        const uint32_t base = c ? WARM : BASELINE;
        printf("\n%s: RecoMind's lift over %s [interval]\n",
               c ? "the control (what the RL adds)" : "per seed",
               reco_pipeline_policy_name(base));
        printf("%-6s %-12s %24s %24s %24s\n", "seed", "env", "long_watches", "depth", "return");
        for (uint32_t k = 0; k <= n_seeds; k++)
            for (int e = 0; e < 2; e++) {
                if (k == n_seeds)
                    printf("%-6s %-12s", "seeds", e ? real : "simulator");
                else
                    printf("%-6llu %-12s", (unsigned long long)reco_pipeline_seed(p, k),
                           e ? real : "simulator");
                for (int m = 0; m < 3; m++) {
                    reco_eval_stat rel, dif;
                    /* the last rows: the spread between seeds (training included), a t
                     * interval of the seeds' lifts; the pooled tables hold the trained
                     * policies fixed */
                    if (k == n_seeds)
                        reco_pipeline_lift_over_seeds(&rel, &dif, p, (reco_pipeline_side)e,
                                                      RECOMIND, base, ms[m]);
                    else
                        reco_eval_lift(&rel, &dif,
                                       reco_pipeline_eval(p, k, (reco_pipeline_side)e),
                                       RECOMIND, base, ms[m]);
                    char cell[64];
                    lift_cell(cell, sizeof cell, &rel);
                    printf(" %24s", cell);
                }
                printf("\n");
            }
    }
    printf("(seeds: the mean of the seeds' lifts with a %g%% t interval over seeds, "
           "which includes the variation of training; none with one seed)\n",
           100.0 * reco_eval_confidence(reco_pipeline_eval(p, n_seeds, RECO_PIPELINE_REAL)));
    for (uint32_t k = 0; k < n_seeds; k++) {
        uint64_t trained = 0, kept = 0;
        reco_pipeline_training(&trained, &kept, p, k);
        printf("seed %llu: %llu updates, RecoMind is the snapshot of %llu updates\n",
               (unsigned long long)reco_pipeline_seed(p, k), (unsigned long long)trained,
               (unsigned long long)kept);
    }
}

static void print_fidelity(const reco_pipeline *p)
{
    const uint32_t n_seeds = reco_pipeline_n_seeds(p);
    const reco_eval *pooled = reco_pipeline_eval(p, n_seeds, RECO_PIPELINE_REAL);
    const char *real = reco_pipeline_side_name(p, RECO_PIPELINE_REAL);
    printf("\nsimulator fidelity: mean return per session, relative error (sim - %s) / %s "
           "[%g%% interval]\n", real, real, 100.0 * reco_eval_confidence(pooled));
    for (uint32_t k = 0; k <= n_seeds; k++) {
        char who[32];
        if (k < n_seeds)
            snprintf(who, sizeof who, "seed %llu", (unsigned long long)reco_pipeline_seed(p, k));
        else
            snprintf(who, sizeof who, "pooled");
        for (uint32_t pol = 0; pol < N_POL; pol++) {
            reco_pipeline_fidelity x;
            reco_pipeline_fidelity_get(&x, p, k, pol);
            printf("  %-8s %-18s simulator %.3f  %s %.3f  error %+6.1f%% [%+.1f, %+.1f]\n",
                   who, reco_pipeline_policy_name(pol), x.sim, real, x.real, 100 * x.rel,
                   100 * x.lo, 100 * x.hi);
        }
    }
}

/* Off-policy estimates (docs/ope.md) of each policy from a log of the logging policy,
 * beside its real mean return: per session, doubly robust with its interval. */
static void print_off_policy(const reco_pipeline *p)
{
    const uint32_t n_seeds = reco_pipeline_n_seeds(p);
    const char *real = reco_pipeline_side_name(p, RECO_PIPELINE_REAL);
    printf("\noff-policy estimates from a log of the logging policy: mean return per session, "
           "doubly robust [interval], IPS, effective sample size\n");
    for (uint32_t k = 0; k < n_seeds; k++)
        for (uint32_t pol = 0; pol < N_POL; pol++) {
            reco_ope_result r = RECO_OPE_RESULT_INIT;
            if (reco_pipeline_off_policy(&r, p, k, pol) < 0) {
                printf("  seed %-4llu none: %s\n", (unsigned long long)reco_pipeline_seed(p, k),
                       reco_error_message());
                break;
            }
            reco_eval_stat st;
            reco_eval_stat_get(&st, reco_pipeline_eval(p, k, RECO_PIPELINE_REAL), pol,
                               RECO_EVAL_RETURN);
            const reco_ope_value *dr = &r.session[RECO_OPE_DR];
            printf("  seed %-4llu %-18s %s %.3f  DR %.3f [%.3f, %.3f]%s  IPS %.3f  ESS %.0f\n",
                   (unsigned long long)reco_pipeline_seed(p, k),
                   reco_pipeline_policy_name(pol), real, st.mean, dr->value, dr->lo, dr->hi,
                   dr->lo <= st.mean && st.mean <= dr->hi ? " covers" : "       ",
                   r.session[RECO_OPE_IPS].value, r.ess);
        }
}

/* With --logs: what the logged sessions earned, next to the held-out simulator's values. */
static void print_logged(const reco_pipeline *p)
{
    const uint32_t n_seeds = reco_pipeline_n_seeds(p);
    printf("\nthe logged sessions of the held-out users, as the logging policy played them "
           "(return and depth per session [interval]):\n");
    for (uint32_t k = 0; k < n_seeds; k++) {
        reco_eval_stat r, d;
        reco_pipeline_logged(&r, &d, p, k);
        printf("  seed %-4llu logged %7llu sessions  return %.3f [%.3f, %.3f]  depth %.2f "
               "[%.2f, %.2f]\n", (unsigned long long)reco_pipeline_seed(p, k),
               (unsigned long long)r.n, r.mean, r.lo, r.hi, d.mean, d.lo, d.hi);
        const reco_eval *ev = reco_pipeline_eval(p, k, RECO_PIPELINE_REAL);
        for (uint32_t pol = 0; pol < N_POL; pol++) {
            reco_eval_stat st;
            reco_eval_stat_get(&st, ev, pol, RECO_EVAL_RETURN);
            printf("            %-18s in the held-out simulator: return %.3f [%.3f, %.3f]\n",
                   reco_pipeline_policy_name(pol), st.mean, st.lo, st.hi);
        }
    }
    printf("  off-policy estimate against the logging policy: not available yet (results.json "
           "\"off_policy\": null)\n");
}

/* Two PNG plots with gnuplot, if it is installed: the learning curves and the pooled lifts. */
static void plots(const reco_pipeline *p, const char *dir)
{
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        printf("gnuplot not found: no PNG plots (apt-get install gnuplot-nox)\n");
        return;
    }
    const uint32_t n_seeds = reco_pipeline_n_seeds(p);
    char path[4200];
    snprintf(path, sizeof path, "%s/lifts.dat", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return;
    for (int k = 0; k < N_SHOWN; k++) {
        if (shown[k] == RECO_EVAL_DEEP_SHARE || shown[k] == RECO_EVAL_DEPTH_DEEP)
            continue;
        fprintf(f, "\"%s\"", reco_eval_metric_name(shown[k]));
        /* over greedy-supervised, then over warm-start (the control), each side */
        for (int c = 0; c < 2; c++)
            for (int e = 0; e < 2; e++) {
                reco_eval_stat rel, dif;
                reco_eval_lift(&rel, &dif,
                               reco_pipeline_eval(p, n_seeds, (reco_pipeline_side)e), RECOMIND,
                               c ? WARM : BASELINE, shown[k]);
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
    for (uint32_t k = 0; k < n_seeds; k++) {
        const unsigned long long s = (unsigned long long)reco_pipeline_seed(p, k);
        fprintf(f, "%s'%s/learning_curve.csv' using ($1==%llu?$2:1/0):3 with linespoints "
                   "lc %u title 'RecoMind, seed %llu', '' using ($1==%llu?$2:1/0):4 with lines "
                   "dt 2 lc %u title 'greedy-supervised, seed %llu'", k ? ", " : "", dir, s,
                k + 1, s, s, k + 1, s);
    }
    fprintf(f, "\nset datafile separator whitespace\nset output '%s/lifts.png'\n"
               "set title 'RecoMind vs greedy-supervised and vs warm-start (the control), "
               "pooled over %u seeds (lift %%, 95%% interval)'\nset style data histogram\n"
               "set style histogram errorbars gap 2 lw 1\nset style fill solid 0.6\n"
               "set ylabel 'lift of RecoMind (%%)'\nset xlabel ''\nset key top left\n"
               "set xtics rotate by -20\nset xzeroaxis lt -1\nunset xrange\n"
               "plot '%s/lifts.dat' using 2:3:4:xtic(1) title 'simulator, over greedy-sup.', "
               "'' using 5:6:7 title '%s, over greedy-sup.', "
               "'' using 8:9:10 title 'simulator, over warm-start', "
               "'' using 11:12:13 title '%s, over warm-start'\n", dir, n_seeds, dir,
               reco_pipeline_side_name(p, RECO_PIPELINE_REAL),
               reco_pipeline_side_name(p, RECO_PIPELINE_REAL));
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

/* bad_usage() once the configuration exists: frees it too. */
static int config_usage(reco_config *cfg, const char *msg, const char *arg)
{
    reco_config_free(cfg);
    return bad_usage(msg, arg);
}

/* ---- options the run derives or does not read ------------------------------------------- */

/* The library's list (reco_pipeline_keys()) for this configuration: *out, freed by the
 * caller; returns the count, or -1 after an error (printed). */
static int get_keys(reco_pipeline_key **out, uint32_t *n_refused, const reco_config *cfg,
                    const reco_pipeline_run_options *ro)
{
    uint32_t n = 0;
    *out = NULL;
    if (reco_pipeline_keys(NULL, 0, &n, n_refused, cfg, ro) < 0) {
        fprintf(stderr, "recomind: %s\n", reco_error_message());
        return -1;
    }
    *out = calloc(n + 1, sizeof **out);
    if (*out == NULL || reco_pipeline_keys(*out, n, &n, n_refused, cfg, ro) < 0) {
        fprintf(stderr, "recomind: %s\n", *out ? reco_error_message() : "out of memory");
        free(*out);
        *out = NULL;
        return -1;
    }
    return (int)n;
}

/* Refuses every option the configuration gives that the run derives or does not read, at
 * its file:line:column or --set; returns the number refused (each printed), or -1 after an
 * error. */
static int check_keys(const reco_config *cfg, const reco_pipeline_run_options *ro)
{
    reco_pipeline_key *k = NULL;
    uint32_t n_refused = 0;
    const int n = get_keys(&k, &n_refused, cfg, ro);
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        const reco_config_origin *o = &k[i].origin;
        if (!k[i].refused)
            continue;
        if (o->kind == RECO_CONFIG_ORIGIN_FILE)
            fprintf(stderr, "recomind: %s:%u:%u: %s: %s\n", o->source, o->line, o->column,
                    k[i].path, k[i].why);
        else if (o->kind == RECO_CONFIG_ORIGIN_SET)
            fprintf(stderr, "recomind: --set %s: %s: %s\n", o->source, k[i].path, k[i].why);
        else
            fprintf(stderr, "recomind: %s: %s: %s\n", o->source, k[i].path, k[i].why);
    }
    free(k);
    return (int)n_refused;
}

/* --print-config: the effective configuration, with each option the run derives or does not
 * read as a comment saying where its value comes from (no line shows a value the run would
 * not use); the text loads back as a configuration recomind accepts. */
static int print_config(const reco_config *cfg, const reco_pipeline_run_options *ro)
{
    reco_pipeline_key *k = NULL;
    uint32_t n_refused = 0;
    const int n = get_keys(&k, &n_refused, cfg, ro);
    if (n < 0)
        return 1;
    size_t len = 0;
    reco_config_write_string(cfg, NULL, 0, &len); /* the size query */
    char *text = malloc(len + 1);
    if (text == NULL || reco_config_write_string(cfg, text, len + 1, NULL) < 0) {
        fprintf(stderr, "recomind: %s\n", text ? reco_error_message() : "out of memory");
        free(text);
        free(k);
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
            for (int i = 0; i < n && fixed < 0; i++)
                if (strcmp(path, k[i].path) == 0)
                    fixed = i;
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
    free(k);
    return 0;
}

/* Writes the result files into the output directory; returns 0 or 1. */
static int write_results(const reco_pipeline *p, const reco_experiment_options *ex, int logs)
{
    int status = 0, want_json = 0, want_csv = 0, want_png = 0;
    for (uint32_t i = 0; i < ex->n_formats; i++) {
        want_json |= ex->formats[i] == RECO_OUTPUT_JSON;
        want_csv |= ex->formats[i] == RECO_OUTPUT_CSV;
        want_png |= ex->formats[i] == RECO_OUTPUT_PNG;
    }
    mkdir(ex->output_dir, 0777);
    char path[4200];
    printf("\n");
    if (want_json) {
        snprintf(path, sizeof path, "%s/results.json", ex->output_dir);
        if (reco_pipeline_write_json(p, path) < 0) {
            fprintf(stderr, "recomind: %s\n", reco_error_message());
            status = 1;
        } else {
            printf("results: %s\n", path);
        }
    }
    if (want_csv) {
        snprintf(path, sizeof path, "%s/results.csv", ex->output_dir);
        if (reco_pipeline_write_csv(p, path) < 0) {
            fprintf(stderr, "recomind: %s\n", reco_error_message());
            status = 1;
        } else {
            printf("results: %s\n", path);
        }
    }
    snprintf(path, sizeof path, "%s/learning_curve.csv", ex->output_dir);
    if (reco_pipeline_write_curve(p, path) < 0) {
        fprintf(stderr, "recomind: %s\n", reco_error_message());
        status = 1;
    } else {
        printf("learning curve: %s\n", path);
    }
    if (logs) {
        snprintf(path, sizeof path, "%s/qnet.reco", ex->output_dir);
        if (reco_pipeline_save_qnet(p, 0, path) < 0) {
            fprintf(stderr, "recomind: %s\n", reco_error_message());
            status = 1;
        } else {
            printf("Q-network (seed %llu): %s (serve-qnet --checkpoint %s)\n",
                   (unsigned long long)reco_pipeline_seed(p, 0), path, path);
        }
    }
    if (want_png && status == 0)
        plots(p, ex->output_dir);
    return status;
}

int main(int argc, char **argv)
{
    t_start = now();
    const char *config_path = NULL, *logs_path = NULL, *items_path = NULL;
    int want_print_config = 0;
    reco_pipeline_run_options ro = RECO_PIPELINE_RUN_OPTIONS_INIT;
    reco_config *cfg = NULL;
    reco_log *log = NULL;
    reco_items *items = NULL;
    /* first pass: the file and the flags; second pass: overrides, in order */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--config") == 0 || strcmp(a, "--logs") == 0 ||
            strcmp(a, "--items") == 0) {
            if (i + 1 >= argc)
                return bad_usage(strcmp(a, "--config") == 0 ? "--config needs a file"
                                                             : "missing file after", 
                                 strcmp(a, "--config") == 0 ? NULL : a);
            if (strcmp(a, "--config") == 0)
                config_path = argv[++i];
            else if (strcmp(a, "--logs") == 0)
                logs_path = argv[++i];
            else
                items_path = argv[++i];
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
                ro.without |= 1u << k;
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
            ro.select_heldout = 1;
        } else if (strcmp(a, "--fit-only") == 0) {
            ro.fit_only = 1;
        } else if (strcmp(a, "--eval-heldout") == 0) {
            ro.eval_heldout = 1;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else {
            return bad_usage("unknown argument", a);
        }
    }
    if (items_path != NULL && logs_path == NULL)
        return bad_usage("--items needs --logs", NULL);
    if (logs_path != NULL && (ro.select_heldout || ro.eval_heldout))
        return bad_usage("--logs always evaluates in a held-out simulator; leave out",
                         ro.select_heldout ? "--select-heldout" : "--eval-heldout");
    if (reco_config_create(&cfg, NULL) < 0) {
        fprintf(stderr, "recomind: %s\n", reco_error_message());
        return 1;
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
        if (strcmp(a, "--config") == 0 || strcmp(a, "--without") == 0 ||
            strcmp(a, "--logs") == 0 || strcmp(a, "--items") == 0) {
            i++;
            continue;
        }
        if (strcmp(a, "--ensemble") == 0) {
            i++;
            char *end = NULL;
            const unsigned long k = strtoul(v, &end, 10);
            if (end == v || *end != '\0' || k < 1 || k > RECO_PIPELINE_MAX_ENSEMBLE)
                return config_usage(cfg, "--ensemble takes 1..8, not", v);
            ro.ensemble = (uint32_t)k;
            continue;
        }
        if (strcmp(a, "--init") == 0) {
            i++;
            if (strcmp(v, "warm") == 0)
                ro.random_init = 0;
            else if (strcmp(v, "random") == 0)
                ro.random_init = 1;
            else
                return config_usage(cfg, "--init takes warm or random, not", v);
            continue;
        }
        if (strcmp(a, "--set") == 0) {
            const char *eq = strchr(v, '=');
            if (eq == NULL || eq == v || (size_t)(eq - v) >= sizeof path)
                return config_usage(cfg, "--set needs PATH=VALUE, not", v);
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
    int status = 0;
    if (logs_path != NULL) {
        status = load_logs(&log, logs_path);
        if (status == 0 && items_path != NULL)
            status = load_items(&items, items_path, items_of(log));
        if (status != 0)
            goto out;
        ro.log = log;
        ro.items = items;
    }
    /* before any work: the options the run would not use are refused */
    const int refused = check_keys(cfg, &ro);
    if (refused != 0) {
        if (refused > 0)
            fprintf(stderr, "recomind: %d option%s given that the run derives or does not "
                    "read; leave %s out (--print-config shows the values used)\n", refused,
                    refused > 1 ? "s" : "", refused > 1 ? "them" : "it");
        status = refused > 0 ? 2 : 1;
        goto out;
    }
    if (want_print_config) {
        status = print_config(cfg, &ro);
        goto out;
    }
    reco_experiment_options ex = RECO_EXPERIMENT_OPTIONS_INIT;
    reco_world_options wo = RECO_WORLD_OPTIONS_INIT;
    reco_pipeline_options pl = RECO_PIPELINE_OPTIONS_INIT;
    reco_config_get_experiment(&ex, cfg);
    reco_config_get_world(&wo, cfg);
    reco_config_get_pipeline(&pl, cfg);
    if (log != NULL)
        printf("recomind: %s: %u seeds on %u threads; logs: %s, %zu interactions of %zu users "
               "(%.0f%% of the users held out), %u candidates per step; evaluation: %u "
               "sessions per policy and simulator\n", ex.name, ex.n_seeds, ex.threads,
               logs_path, reco_log_n_rows(log), reco_log_n_users(log),
               100.0 * pl.heldout_share, pl.candidates, ex.eval_sessions);
    else
        printf("recomind: %s: %u seeds on %u threads; world: %u items, %u candidates per step, "
               "exclude_seen %d; logs: %llu interactions (%s); evaluation: %u sessions per "
               "policy and environment\n", ex.name, ex.n_seeds, ex.threads, wo.n_items,
               wo.n_candidates, wo.exclude_seen, (unsigned long long)ex.logging_interactions,
               ex.logging_policy == RECO_EXPERIMENT_LOGGING_MODEL      ? "supervised recommender"
               : ex.logging_policy == RECO_EXPERIMENT_LOGGING_UNIFORM ? "uniform"
                                                                       : "popularity",
               ex.eval_sessions);
    fflush(stdout);
    ro.progress = on_line;
    reco_pipeline *p = NULL;
    if (reco_pipeline_run(&p, cfg, &ro) < 0) {
        fprintf(stderr, "recomind: %s\n", reco_error_message());
        status = reco_error_code() == RECO_ECONFIG ? 2 : 1;
        goto out;
    }
    const uint32_t n_seeds = reco_pipeline_n_seeds(p);
    if (ro.fit_only) {
        print_fit(p);
        print_calibration(p);
    } else {
        print_lifts(p);
        char title[96];
        snprintf(title, sizeof title, "simulator, pooled over %u seeds", n_seeds);
        print_table(reco_pipeline_eval(p, n_seeds, RECO_PIPELINE_SIM), title);
        snprintf(title, sizeof title, "%s, pooled over %u seeds",
                 reco_pipeline_side_name(p, RECO_PIPELINE_REAL), n_seeds);
        print_table(reco_pipeline_eval(p, n_seeds, RECO_PIPELINE_REAL), title);
        print_fit(p);
        print_fidelity(p);
        if (log != NULL)
            print_logged(p);
        else
            print_off_policy(p);
        status = write_results(p, &ex, log != NULL);
    }
    reco_pipeline_free(p);
    printf("total %.1f s\n", now() - t_start);
out:
    reco_log_free(log);
    reco_items_free(items);
    reco_config_free(cfg);
    return status;
}
