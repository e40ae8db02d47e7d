/* bench_fit: supervised fitting of the feedback model with every input on, on a log of
 * 1M interactions (one epoch), reporting interactions per second. The log is synthetic (the
 * rows' values do not change the cost): 10k users of 100 interactions in sessions of 10,
 * 10k items, 4 signals, 23 user features per row, timestamps. The model: d = 32, L = 20,
 * 1 block, 2 heads, FFN 64, user features, position, elapsed time, a long-term history of
 * 50, 3 dense item features and a topic field of 20 values, the state term; batch 256.
 * Validation on a further 100k rows is timed separately (two prediction passes: the epoch's
 * and the exit tilt's).
 *
 *   bench_fit [--quick] [--threads N]
 */
#include <stdlib.h>
#include <string.h>

#define RECO_LAB_API /* logs and fit are lab API (docs/abi.md) */
#include <reco/reco.h>

#include "bench_common.h"

enum { N_ITEMS = 10000, U = 23, PER_USER = 100, SESSION = 10, H = 50, DI = 3, TOPICS = 20 };

static void die(const char *what)
{
    fprintf(stderr, "bench_fit: %s: %s\n", what, reco_error_message());
    exit(1);
}

/* A log of `n_users` users' rows, from `first_user` on. */
static reco_log *make_log(uint64_t first_user, uint64_t n_users, uint64_t seed)
{
    reco_log_options lo = RECO_LOG_OPTIONS_INIT;
    lo.user_dim = U;
    lo.propensity = 1;
    reco_log *log = NULL;
    if (reco_log_create(&log, &lo) < 0)
        die("reco_log_create");
    const size_t n = (size_t)n_users * PER_USER;
    reco_log_row *rows = malloc(n * sizeof *rows);
    float *feat = malloc(n_users * U * sizeof(float));
    if (rows == NULL || feat == NULL)
        die("out of memory");
    reco_rng rng;
    reco_rng_seed(&rng, seed, 0);
    for (size_t i = 0; i < n_users * U; i++)
        feat[i] = (float)reco_rng_normal(&rng);
    size_t k = 0;
    for (uint64_t u = 0; u < n_users; u++)
        for (uint32_t r = 0; r < PER_USER; r++, k++) {
            reco_log_row *w = &rows[k];
            *w = (reco_log_row)RECO_LOG_ROW_INIT;
            w->user = first_user + u;
            w->session = r / SESSION;
            w->step = r % SESSION;
            w->timestamp = 1700000000 + (int64_t)(r / SESSION) * 86400 + (r % SESSION) * 30;
            w->item = (int32_t)reco_rng_below(&rng, N_ITEMS);
            const uint32_t click = (uint32_t)reco_rng_bernoulli(&rng, 0.3);
            w->feedback = click | (click & (uint32_t)reco_rng_bernoulli(&rng, 0.4)) << 1;
            w->exit = r % SESSION == SESSION - 1 && reco_rng_bernoulli(&rng, 0.9);
            w->user_features = feat + u * U;
            w->propensity = 0.01f;
        }
    if (reco_log_append(log, rows, n) < 0)
        die("reco_log_append");
    free(rows);
    free(feat);
    return log;
}

int main(int argc, char **argv)
{
    int quick = 0;
    uint32_t threads = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = (uint32_t)atoi(argv[++i]);
    }
    const uint64_t n_users = quick ? 500 : 10000, n_valid_users = n_users / 10;
    const double t_log = bench_now_s();
    reco_log *train = make_log(0, n_users, 1), *valid = make_log(n_users, n_valid_users, 2);
    const double log_s = bench_now_s() - t_log;

    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = N_ITEMS;
    o.dim = 32;
    o.lookback = 20;
    o.ffn_dim = 64;
    o.n_signals = 4;
    o.user_dim = U;
    o.max_batch = 256;
    o.max_candidates = 16;
    o.threads = threads;
    o.position = 1;
    o.elapsed = 1;
    o.long_len = H;
    o.item_dense_dim = DI;
    o.item_n_fields = 1;
    o.item_field_sizes[0] = TOPICS;
    reco_model *m = NULL;
    if (reco_model_create(&m, &o) < 0)
        die("reco_model_create");
    float *dense = malloc(sizeof(float) * N_ITEMS * DI);
    int32_t *fields = malloc(sizeof(int32_t) * N_ITEMS);
    for (uint32_t i = 0; i < N_ITEMS; i++) {
        for (uint32_t k = 0; k < DI; k++)
            dense[i * DI + k] = (float)((i * 7 + k * 13) % 100) / 100.0f;
        fields[i] = (int32_t)(i % TOPICS);
    }
    if (reco_model_set_item_features(m, dense, fields, N_ITEMS) < 0)
        die("reco_model_set_item_features");

    /* one epoch of training; then the validation alone: a fit of one batch with the
     * validation log (one prediction pass over it per epoch, one more for the exit tilt) */
    reco_fit_options fo = RECO_FIT_OPTIONS_INIT;
    fo.epochs = 1;
    fo.batch_size = 256;
    reco_fit_report rep = RECO_FIT_REPORT_INIT;
    double t0 = bench_now_s();
    if (reco_fit_model(&rep, m, train, NULL, &fo) < 0)
        die("reco_fit_model");
    const double train_s = bench_now_s() - t0;
    fo.max_examples_per_epoch = 256;
    t0 = bench_now_s();
    if (reco_fit_model(&rep, m, train, valid, &fo) < 0)
        die("reco_fit_model (with validation)");
    const double valid_s = bench_now_s() - t0;
    char setting[200];
    snprintf(setting, sizeof setting, "rows=%zu d=32 L=20 H=50 U=23 items=10k B=256 all inputs",
             reco_log_n_rows(train));
    const double rows = (double)reco_log_n_rows(train);
    bench_figure("fit", "train_epoch", setting, (int)threads, rows / train_s,
                 "interactions/s", 0.0);
    bench_figure("fit", "train_epoch_seconds", setting, (int)threads, train_s, "s", 0.0);
    bench_figure("fit", "validation_seconds", setting, (int)threads, valid_s, "s", 0.0);
    bench_figure("fit", "validation_rows_per_second", setting, (int)threads,
                 2.0 * (double)reco_log_n_rows(valid) / valid_s, "interactions/s", 0.0);
    bench_figure("fit", "build_log_seconds", setting, (int)threads, log_s, "s", 0.0);
    free(dense);
    free(fields);
    reco_model_free(m);
    reco_log_free(train);
    reco_log_free(valid);
    return 0;
}
