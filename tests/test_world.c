/* Tests of reco_world (lib/world.c), the ground-truth world of docs/world.md.
 *
 * Rates. The world's stated probabilities (reco_world_signal_probs(), equations in
 * docs/world.md) are compared with sampled frequencies: (1) from one fixed state, 200k
 * draws of the step's own sampling code through the internal hook reco__world_sample();
 * (2) through reco_world_step() itself, over many sessions' steps, comparing the count of
 * each signal with the sum of its probabilities. Tolerance: 5 binomial standard deviations
 * (plus 1e-6 for the float probabilities), i.e. a false alarm below 1e-6 per comparison.
 *
 * Long-term effects, determinism and common random numbers, the env contract, options and
 * the YAML `world` section, zero allocation in the session path, concurrent use of
 * disjoint slots, and the headroom (greedy-immediate vs a look-ahead policy) are each
 * tested below; so is what options version 3 exposes: the carried history (each session of
 * a user starts from exactly the last interactions this test recorded of the user's logged
 * sessions; evaluation sessions never write), the session context (steps, dwell time, long
 * history), the oracle (equal to reco_world_signal_probs, changing nothing), user and item
 * features (layout, fixed per user/item, noise sd within stated tolerances), older option
 * structs never written past their end, and zero allocation with all of it on. Fixed seeds
 * throughout. Links the library's objects (internal test). */
#include <math.h>
#include <pthread.h>

#include "test_common.h"
#include "world_private.h"

#define MAX_TRACKED 16
static reco_world *tracked[MAX_TRACKED];
static size_t n_tracked;

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_tracked; i++)
        reco_world_free(tracked[i]);
    n_tracked = 0;
    return 0;
}

static reco_world *make(const reco_world_options *o)
{
    reco_world *w = NULL;
    int rc = reco_world_create(&w, o);
    if (rc != RECO_OK)
        fail_msg("reco_world_create: %s", reco_error_message());
    assert_true(n_tracked < MAX_TRACKED);
    tracked[n_tracked++] = w;
    return w;
}

/* A small world for fast tests. */
static reco_world_options small_opts(void)
{
    reco_world_options o = RECO_WORLD_OPTIONS_INIT;
    o.seed = 7;
    o.n_users = 5000;
    o.n_items = 2000;
    o.n_candidates = 100;
    o.max_sessions = 64;
    return o;
}

static double sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

static uint32_t start1(reco_world *w, uint32_t slot, uint64_t key)
{
    int rc = reco_world_start(&slot, &key, 1, w);
    if (rc != RECO_OK)
        fail_msg("reco_world_start: %s", reco_error_message());
    return slot;
}

static void step1(uint32_t *fb, float *r, int *done, reco_world *w, uint32_t slot, int32_t item)
{
    int rc = reco_world_step(fb, r, done, &slot, &item, 1, w);
    if (rc != RECO_OK)
        fail_msg("reco_world_step: %s", reco_error_message());
}

static uint32_t cands(int32_t *out, reco_world *w, uint32_t slot, uint32_t cap)
{
    uint32_t n = 0;
    int rc = reco_world_candidates(out, &n, cap, &slot, 1, w);
    if (rc != RECO_OK)
        fail_msg("reco_world_candidates: %s", reco_error_message());
    return n;
}

static reco_world_slot_info info(const reco_world *w, uint32_t slot)
{
    reco_world_slot_info s = RECO_WORLD_SLOT_INFO_INIT;
    assert_int_equal(reco_world_get_slot_info(&s, w, slot), RECO_OK);
    return s;
}

static void probs(double p[RECO_WORLD_N_PROBS], const reco_world *w, uint32_t slot,
                  int32_t item)
{
    float f[RECO_WORLD_N_PROBS];
    int rc = reco_world_signal_probs(f, w, slot, &item, 1);
    if (rc != RECO_OK)
        fail_msg("reco_world_signal_probs: %s", reco_error_message());
    for (int j = 0; j < RECO_WORLD_N_PROBS; j++)
        p[j] = f[j];
}

/* |observed rate - p| within 5 sd of a binomial with n trials (+1e-6 for float p). */
static void assert_rate(uint64_t count, uint64_t n, double p, const char *what)
{
    const double rate = (double)count / (double)n;
    const double tol = 5.0 * sqrt(p * (1.0 - p) / (double)n) + 1e-6;
    if (!(fabs(rate - p) <= tol))
        fail_msg("%s: rate %.6f over %llu draws, stated %.6f (tolerance %.6f)", what, rate,
                 (unsigned long long)n, p, tol);
}

/* ---- options ---------------------------------------------------------------------------- */

static void assert_options_equal(const reco_world_options *a, const reco_world_options *b)
{
    /* every member but the allocator pointer is a number: compare the bytes after it */
    const size_t off = offsetof(reco_world_options, seed);
    const size_t end = offsetof(reco_world_options, seconds_like) + sizeof a->seconds_like;
    assert_memory_equal((const char *)a + off, (const char *)b + off, end - off); /* no tail padding */
    assert_int_equal(a->version, b->version);
}

static void test_world_options_defaults(void **state)
{
    (void)state;
    reco_world_options macro = RECO_WORLD_OPTIONS_INIT, fn;
    memset(&fn, 0xab, sizeof fn);
    assert_int_equal(reco_world_options_init(&fn, RECO_WORLD_OPTIONS_VERSION), RECO_OK);
    assert_null(fn.allocator);
    assert_options_equal(&macro, &fn);
    /* the YAML schema's defaults are the same */
    reco_config *cfg = NULL;
    assert_int_equal(reco_config_create(&cfg, NULL), RECO_OK);
    reco_world_options got;
    memset(&got, 0xcd, sizeof got);
    got.version = RECO_WORLD_OPTIONS_VERSION;
    got.allocator = NULL;
    assert_int_equal(reco_config_get_world(&got, cfg), RECO_OK);
    assert_options_equal(&macro, &got);
    reco_config_free(cfg);
    /* a created world reports what it was given */
    reco_world_options o = small_opts();
    reco_world *w = make(&o);
    reco_world_options back = RECO_WORLD_OPTIONS_INIT;
    assert_int_equal(reco_world_get_options(&back, w), RECO_OK);
    assert_options_equal(&o, &back);
    /* versions */
    assert_reco_error(reco_world_options_init(&fn, 0), RECO_EVERSION, "version 0");
    assert_reco_error(reco_world_options_init(&fn, RECO_WORLD_OPTIONS_VERSION + 1),
                      RECO_EVERSION, "not supported");
    assert_reco_error(reco_world_options_init(NULL, 1), RECO_EINVAL, "opts is NULL");
    back.version = 0;
    assert_reco_error(reco_world_get_options(&back, w), RECO_EVERSION, "version 0");
    /* the env view */
    reco_env env;
    assert_int_equal(reco_world_env(&env, w), RECO_OK);
    assert_int_equal(env.version, RECO_ENV_VERSION);
    assert_int_equal(env.n_items, o.n_items);
    assert_int_equal(env.n_signals, RECO_WORLD_N_SIGNALS);
    assert_int_equal(env.lookback, o.lookback);
    assert_int_equal(env.user_dim, 0);
    assert_int_equal(env.max_sessions, o.max_sessions);
    assert_ptr_equal(env.payload, w);
    assert_int_equal(env.long_len, 0);
    assert_ptr_equal(env.context, reco_world_context);
    assert_ptr_equal(env.probabilities, reco_world_probabilities);
    assert_null(env.save_state);
    assert_null(env.load_state);
    /* the version-3 defaults, spelled out */
    assert_int_equal(macro.carry_history, 0);
    assert_int_equal(macro.long_len, 0);
    assert_int_equal(macro.user_features, 0);
    assert_true(macro.user_feature_noise == 0.1 && macro.item_feature_noise == 0.1);
    assert_true(macro.seconds_base == 5.0 && macro.seconds_click == 10.0 &&
                macro.seconds_long_watch == 40.0 && macro.seconds_like == 3.0);
    assert_reco_error(reco_world_env(NULL, w), RECO_EINVAL, "out is NULL");
    assert_reco_error(reco_world_env(&env, NULL), RECO_EINVAL, "world is NULL");
}

/* Creating with `o` fails with EINVAL naming `field`. */
static void assert_bad_option(const reco_world_options *o, const char *field, const char *msg)
{
    reco_world *w = (reco_world *)&w;
    assert_reco_error(reco_world_create(&w, o), RECO_EINVAL, msg);
    assert_null(w);
    reco_error_info e = RECO_ERROR_INFO_INIT;
    assert_int_equal(reco_error_get(&e), RECO_OK);
    assert_string_equal(e.field, field);
    assert_non_null(strstr(e.message, field));
    size_t sz;
    assert_int_equal(reco_world_memory_size(&sz, o), RECO_EINVAL);
}

static void test_world_options_validation(void **state)
{
    (void)state;
    const size_t live = reco_live_handles();
    reco_world_options o;
#define BAD(assign, field, msg)                                                                \
    do {                                                                                      \
        o = small_opts();                                                                     \
        assign;                                                                               \
        assert_bad_option(&o, field, msg);                                                    \
    } while (0)
    BAD(o.n_topics = 0, "world.n_topics", "0 is out of range [1, 4096]");
    BAD(o.n_topics = 5000, "world.n_topics", "out of range");
    BAD(o.n_users = 0, "world.n_users", "out of range");
    BAD(o.n_items = 0, "world.n_items", "out of range");
    BAD(o.lookback = 0, "world.lookback", "out of range");
    BAD(o.lookback = 513, "world.lookback", "out of range");
    BAD(o.max_sessions = 0, "world.max_sessions", "out of range");
    BAD(o.max_session_len = 0, "world.max_session_len", "out of range");
    BAD(o.n_candidates = 0, "world.n_candidates", "out of range");
    BAD(o.quality_alpha = 0.0, "world.catalog.quality_alpha", "out of range");
    BAD(o.topic_zipf = NAN, "world.catalog.topic_zipf", "out of range");
    BAD(o.popular_candidate_share = 1.5, "world.catalog.popular_candidate_share",
        "out of range");
    BAD(o.satisfaction_sd = -1.0, "world.users.satisfaction_sd", "out of range");
    BAD(o.click_interest = INFINITY, "world.click.interest", "out of range");
    BAD(o.watch_clickbait = 1e3, "world.long_watch.clickbait", "out of range");
    BAD(o.satisfaction_decay = 1.01, "world.satisfaction.decay", "out of range");
    BAD(o.fatigue_decay = -0.1, "world.fatigue.decay", "out of range");
    BAD(o.exit_fatigue = NAN, "world.exit.fatigue", "out of range");
    BAD(o.reward_hide = -2e6, "world.reward.hide", "out of range");
    BAD(o.long_len = 4097, "world.long_len", "4097 is out of range [0, 4096]");
    BAD(o.user_feature_noise = -0.5, "world.user_feature_noise", "out of range [0, 10]");
    BAD(o.item_feature_noise = NAN, "world.item_feature_noise", "out of range");
    BAD(o.item_feature_noise = 10.5, "world.item_feature_noise", "out of range");
    BAD(o.seconds_base = -1.0, "world.seconds.base", "out of range [0, 1e+06]");
    BAD(o.seconds_click = 2e6, "world.seconds.click", "out of range");
    BAD(o.seconds_long_watch = INFINITY, "world.seconds.long_watch", "out of range");
    BAD(o.seconds_like = NAN, "world.seconds.like", "out of range");
    /* cross-field rules */
    BAD(o.history_len = 21, "world.history_len", "exceeds lookback");
    BAD(o.n_candidates = 2001, "world.n_candidates", "exceeds n_items");
    BAD((o.n_items = 10, o.n_candidates = 5, o.n_topics = 11), "world.n_topics",
        "exceeds n_items");
    BAD((o.light_share = 0.6, o.heavy_share = 0.5), "world.users.heavy_share", "exceeds 1");
#undef BAD
    o = small_opts();
    o.version = 0;
    reco_world *w = NULL;
    assert_reco_error(reco_world_create(&w, &o), RECO_EVERSION, "version 0");
    o.version = RECO_WORLD_OPTIONS_VERSION + 1;
    assert_reco_error(reco_world_create(&w, &o), RECO_EVERSION, "not supported");
    assert_reco_error(reco_world_create(NULL, NULL), RECO_EINVAL, "out is NULL");
    o = small_opts();
    reco_allocator bad = { 99, NULL, NULL, NULL };
    o.allocator = &bad;
    assert_int_equal(reco_world_create(&w, &o), RECO_EVERSION);
    assert_null(w);
    assert_int_equal(reco_live_handles(), live);
    /* edge values that are valid: a one-item, one-topic world with no history */
    o = small_opts();
    o.n_items = 1;
    o.n_topics = 1;
    o.n_candidates = 1;
    o.history_len = 0;
    o.lookback = 1;
    reco_world *tiny = make(&o);
    uint32_t slot = start1(tiny, 0, 3);
    int32_t c[4];
    assert_int_equal(cands(c, tiny, slot, 4), 1);
    assert_int_equal(c[0], 0);
    uint32_t fb;
    float r;
    int done;
    step1(&fb, &r, &done, tiny, slot, 0);
    assert_true(reco_live_handles() == live + 1);
}

/* ---- the YAML `world` section -------------------------------------------------------------- */

static const char good_yaml[] =
    "world:\n"
    "  seed: 99\n"
    "  n_items: 3000\n"
    "  n_topics: 12\n"
    "  lookback: 16\n"
    "  history_len: 4\n"
    "  catalog: {topic_zipf: 0.8, clickbait_beta: 4}\n"
    "  users:\n"
    "    exit_heavy: -4.5\n"
    "  click: {bias: -3, fatigue: 0.75}\n"
    "  long_watch: {clickbait: 0.25}\n"
    "  satisfaction: {decay: 0.8, skip: 0}\n"
    "  fatigue: {decay: 0.5}\n"
    "  exit: {satisfaction: 1.5}\n"
    "  reward: {click: 0, hide: -1}\n";

static void test_world_config_good(void **state)
{
    (void)state;
    reco_config *cfg = NULL;
    assert_int_equal(reco_config_create(&cfg, NULL), RECO_OK);
    assert_int_equal(reco_config_load_string(cfg, good_yaml, strlen(good_yaml), "good.yaml"),
                     RECO_OK);
    reco_world_options o = RECO_WORLD_OPTIONS_INIT, want = RECO_WORLD_OPTIONS_INIT;
    assert_int_equal(reco_config_get_world(&o, cfg), RECO_OK);
    want.seed = 99;
    want.n_items = 3000;
    want.n_topics = 12;
    want.lookback = 16;
    want.history_len = 4;
    want.topic_zipf = 0.8;
    want.clickbait_beta = 4;
    want.exit_heavy = -4.5;
    want.click_bias = -3;
    want.click_fatigue = 0.75;
    want.watch_clickbait = 0.25;
    want.satisfaction_decay = 0.8;
    want.satisfaction_skip = 0;
    want.fatigue_decay = 0.5;
    want.exit_satisfaction = 1.5;
    want.reward_click = 0;
    want.reward_hide = -1;
    assert_options_equal(&o, &want);
    /* the options make a world */
    o.max_sessions = 4;
    reco_world *w = make(&o);
    (void)w;
    /* written YAML holds the section and loads back to the same values */
    size_t len = 0;
    assert_int_equal(reco_config_write_string(cfg, NULL, 0, &len), RECO_EINVAL);
    char *text = malloc(len + 1);
    assert_non_null(text);
    assert_int_equal(reco_config_write_string(cfg, text, len + 1, NULL), RECO_OK);
    assert_non_null(strstr(text, "\nworld:\n  seed: 99\n"));
    assert_non_null(strstr(text, "  satisfaction:\n    decay: 0.8\n"));
    assert_non_null(strstr(text, "  reward:\n    click: 0\n"));
    reco_config *again = NULL;
    assert_int_equal(reco_config_create(&again, NULL), RECO_OK);
    assert_int_equal(reco_config_load_string(again, text, len, "written"), RECO_OK);
    reco_world_options o2 = RECO_WORLD_OPTIONS_INIT;
    assert_int_equal(reco_config_get_world(&o2, again), RECO_OK);
    assert_options_equal(&o2, &want);
    /* set_world puts a struct back, and reco_config_set changes one value */
    reco_world_options in = RECO_WORLD_OPTIONS_INIT;
    in.n_topics = 33;
    in.reward_like = 2.5;
    assert_int_equal(reco_config_set_world(again, &in), RECO_OK);
    assert_int_equal(reco_config_set(again, "world.exit.fatigue", "0.125"), RECO_OK);
    assert_int_equal(reco_config_get_world(&o2, again), RECO_OK);
    in.exit_fatigue = 0.125;
    assert_options_equal(&o2, &in);
    free(text);
    reco_config_free(again);
    reco_config_free(cfg);
}

static void test_world_config_bad(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        int code;
        uint32_t line, column;
        const char *field, *msg;
    } cases[] = {
        { "world:\n  n_topics: 0\n", RECO_ECONFIG, 2, 13, "world.n_topics",
          "0 is out of range [1, 4096]" },
        { "world:\n  seed: 1\n  n_items: -5\n", RECO_ECONFIG, 3, 12, "world.n_items",
          "unsigned integer" },
        { "world:\n  catalog:\n    topic_zipf: 11\n", RECO_ECONFIG, 3, 17,
          "world.catalog.topic_zipf", "11 is out of range" },
        { "world:\n  click: {bias: .nan}\n", RECO_ECONFIG, 2, 17, "world.click.bias", "NaN" },
        { "world:\n  click: {biass: 1}\n", RECO_ECONFIG, 2, 11, "world.click.biass",
          "did you mean \"bias\"?" },
        { "world:\n  satisfaction:\n    decay: 2\n", RECO_ECONFIG, 3, 12,
          "world.satisfaction.decay", "out of range [0, 1]" },
        { "world:\n  reward: [1, 2]\n", RECO_ECONFIG, 2, 11, "world.reward",
          "expected a mapping" },
        { "world:\n  lookback: 20\n  lookback: 30\n", RECO_ECONFIG, 3, 3, "world.lookback",
          "duplicate key" },
        { "wrld:\n  seed: 1\n", RECO_ECONFIG, 1, 1, "wrld", "did you mean \"world\"?" },
        { "world:\n  exit: {fatigue: abc}\n", RECO_ECONFIG, 2, 19, "world.exit.fatigue",
          "number" },
    };
    reco_config *cfg = NULL;
    assert_int_equal(reco_config_create(&cfg, NULL), RECO_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = reco_config_load_string(cfg, cases[i].yaml, strlen(cases[i].yaml), "bad.yaml");
        reco_error_info e = RECO_ERROR_INFO_INIT;
        assert_int_equal(reco_error_get(&e), RECO_OK);
        if (rc != cases[i].code || e.line != cases[i].line || e.column != cases[i].column ||
            strcmp(e.field, cases[i].field) != 0 || strstr(e.message, cases[i].msg) == NULL ||
            strcmp(e.source, "bad.yaml") != 0)
            fail_msg("case %zu: got %s %u:%u field \"%s\": %s", i, reco_status_name(rc), e.line,
                     e.column, e.field, e.message);
    }
    /* set_world validates the same way, names the option, and changes nothing on failure */
    reco_world_options in = RECO_WORLD_OPTIONS_INIT;
    in.fatigue_decay = 1.5;
    assert_reco_error(reco_config_set_world(cfg, &in), RECO_ECONFIG, "world.fatigue.decay");
    reco_world_options now = RECO_WORLD_OPTIONS_INIT, def = RECO_WORLD_OPTIONS_INIT;
    assert_int_equal(reco_config_get_world(&now, cfg), RECO_OK);
    assert_options_equal(&now, &def);
    assert_reco_error(reco_config_set(cfg, "world.n_topics", "9999"), RECO_ECONFIG,
                      "out of range");
    assert_reco_error(reco_config_get_world(NULL, cfg), RECO_EINVAL, "NULL");
    in.version = 9;
    assert_reco_error(reco_config_set_world(cfg, &in), RECO_EVERSION, "version 9");
    reco_config_free(cfg);
}

/* ---- catalog, users ------------------------------------------------------------------------ */

static void test_world_catalog_and_users(void **state)
{
    (void)state;
    reco_world_options o = small_opts();
    reco_world *w = make(&o);
    const uint32_t n = o.n_items;
    int32_t *items = malloc(sizeof(int32_t) * n);
    uint32_t *topic = malloc(sizeof(uint32_t) * n);
    float *q = malloc(sizeof(float) * n), *c = malloc(sizeof(float) * n);
    float *pop = malloc(sizeof(float) * n);
    for (uint32_t i = 0; i < n; i++)
        items[i] = (int32_t)i;
    assert_int_equal(reco_world_item_info(topic, q, c, pop, w, items, n), RECO_OK);
    double psum = 0, qsum = 0, csum = 0;
    uint32_t per_topic[64] = { 0 };
    for (uint32_t i = 0; i < n; i++) {
        assert_true(topic[i] < o.n_topics);
        assert_true(q[i] >= 0 && q[i] <= 1 && c[i] >= 0 && c[i] <= 1 && pop[i] > 0);
        psum += pop[i];
        qsum += q[i];
        csum += c[i];
        per_topic[topic[i]]++;
    }
    assert_true(fabs(psum - 1.0) < 1e-4);
    /* Beta(2, 2) has mean 0.5 and sd 0.224; Beta(0.5, 3) mean 1/7 and sd 0.167 */
    assert_true(fabs(qsum / n - 0.5) < 5 * 0.224 / sqrt(n));
    assert_true(fabs(csum / n - 1.0 / 7.0) < 5 * 0.167 / sqrt(n));
    /* Zipf(1) over 20 topics: topic 0 holds 1/H_20 = 27.8% of the items, topic 1 half that */
    const double h20 = 3.597739657143682;
    assert_rate(per_topic[0], n, 1.0 / h20, "topic 0 share");
    assert_rate(per_topic[1], n, 0.5 / h20, "topic 1 share");
    /* item_info: NULL outputs are skipped; bad items rejected */
    assert_int_equal(reco_world_item_info(NULL, NULL, NULL, NULL, w, items, n), RECO_OK);
    int32_t bad = (int32_t)n;
    assert_reco_error(reco_world_item_info(topic, NULL, NULL, NULL, w, &bad, 1), RECO_EINVAL,
                      "items[0] = 2000 is out of range");
    bad = -1;
    assert_reco_error(reco_world_item_info(topic, NULL, NULL, NULL, w, &bad, 1), RECO_EINVAL,
                      "out of range");
    assert_reco_error(reco_world_item_info(topic, NULL, NULL, NULL, NULL, items, 1), RECO_EINVAL,
                      "world is NULL");

    /* candidates lean towards popular items: half of them are popularity draws */
    uint32_t slot = start1(w, 0, 11);
    int32_t cand[100];
    double cand_pop = 0;
    for (int s = 0; s < 20; s++) {
        uint32_t m = cands(cand, w, slot, 100);
        float p[100];
        assert_int_equal(reco_world_item_info(NULL, NULL, NULL, p, w, cand, m), RECO_OK);
        for (uint32_t j = 0; j < m; j++)
            cand_pop += p[j];
        uint32_t fb;
        float r;
        int done;
        step1(&fb, &r, &done, w, slot, cand[0]);
        if (done)
            slot = start1(w, 0, 12 + (uint64_t)s);
    }
    assert_true(cand_pop / 2000 > 1.5 / n); /* uniform draws average 1/n */

    /* segments: shares 0.3 / 0.5 / 0.2; the same answer for any ordinal */
    enum { NU = 5000 };
    uint64_t *users = malloc(sizeof(uint64_t) * NU);
    uint32_t *seg = malloc(sizeof(uint32_t) * NU), *seg2 = malloc(sizeof(uint32_t) * NU);
    uint64_t count[RECO_WORLD_N_SEGMENTS] = { 0 };
    for (uint32_t u = 0; u < NU; u++)
        users[u] = u;
    assert_int_equal(reco_world_user_segment(seg, w, users, NU), RECO_OK);
    for (uint32_t u = 0; u < NU; u++) {
        assert_true(seg[u] < RECO_WORLD_N_SEGMENTS);
        count[seg[u]]++;
        users[u] = RECO_WORLD_SESSION_KEY(u, 77 + u);
    }
    assert_int_equal(reco_world_user_segment(seg2, w, users, NU), RECO_OK);
    assert_memory_equal(seg, seg2, sizeof(uint32_t) * NU);
    assert_rate(count[RECO_WORLD_SEGMENT_LIGHT], NU, 0.3, "light share");
    assert_rate(count[RECO_WORLD_SEGMENT_REGULAR], NU, 0.5, "regular share");
    assert_rate(count[RECO_WORLD_SEGMENT_HEAVY], NU, 0.2, "heavy share");
    /* a started slot reports the user's segment; interests sum to 1 */
    slot = start1(w, 3, RECO_WORLD_SESSION_KEY(42, 5));
    assert_int_equal(info(w, slot).segment, seg[42]);
    double isum = 0;
    for (uint32_t k = 0; k < o.n_topics; k++)
        isum += reco__world_interest(w, slot, k);
    assert_true(fabs(isum - 1.0) < 1e-12);
    users[0] = o.n_users;
    assert_reco_error(reco_world_user_segment(seg, w, users, 1), RECO_EINVAL, "out of range");

    /* evaluation keys: user i mod n_users, ordinals from 2^31 */
    uint64_t keys[3];
    assert_int_equal(reco_world_eval_users(keys, w, o.n_users - 1, 3), RECO_OK);
    assert_true(keys[0] == RECO_WORLD_SESSION_KEY(o.n_users - 1, 0x80000000u));
    assert_true(keys[1] == RECO_WORLD_SESSION_KEY(0, 0x80000001u));
    assert_true(keys[2] == RECO_WORLD_SESSION_KEY(1, 0x80000001u));
    assert_reco_error(reco_world_eval_users(NULL, w, 0, 1), RECO_EINVAL, "out is NULL");
    free(items);
    free(topic);
    free(q);
    free(c);
    free(pop);
    free(users);
    free(seg);
    free(seg2);
}

/* ---- rates ---------------------------------------------------------------------------------- */

/* The closed forms of docs/world.md, recomputed here from the item attributes and the
 * internal state, against reco_world_signal_probs(). */
static void check_closed_form(const reco_world *w, const reco_world_options *o, uint32_t slot,
                              int32_t item, int seen)
{
    uint32_t k;
    float q, c;
    assert_int_equal(reco_world_item_info(&k, &q, &c, NULL, w, &item, 1), RECO_OK);
    const double u = reco__world_interest(w, slot, k), phi = reco__world_fatigue(w, slot, k);
    const double s = info(w, slot).satisfaction;
    const double pc = sigmoid(o->click_bias + o->click_interest * u + o->click_clickbait * c -
                              o->click_fatigue * phi - o->click_repeat * seen);
    const double pw = sigmoid(o->watch_bias + o->watch_quality * q + o->watch_interest * u -
                              o->watch_clickbait * c - o->watch_fatigue * phi);
    const double pl = sigmoid(o->like_bias + o->like_quality * q + o->like_interest * u -
                              o->like_clickbait * c);
    const double ph = sigmoid(o->hide_bias - o->hide_interest * u + o->hide_clickbait * c +
                              o->hide_fatigue * phi);
    const double rho = o->satisfaction_decay;
    const double s_lw = rho * s + o->satisfaction_watch_quality * q -
                        o->satisfaction_watch_clickbait * c;
    const double s_case[5] = {
        s_lw + o->satisfaction_like,                                         /* like */
        s_lw,                                                                /* watch */
        rho * s - o->satisfaction_bounce - o->satisfaction_bounce_clickbait * c, /* bounce */
        rho * s - o->satisfaction_hide,                                      /* hide */
        rho * s - o->satisfaction_skip,                                      /* skip */
    };
    const double p_case[5] = { pc * pw * pl, pc * pw * (1 - pl), pc * (1 - pw), (1 - pc) * ph,
                               (1 - pc) * (1 - ph) };
    const double e0 = info(w, slot).segment == RECO_WORLD_SEGMENT_LIGHT   ? o->exit_light
                      : info(w, slot).segment == RECO_WORLD_SEGMENT_HEAVY ? o->exit_heavy
                                                                            : o->exit_regular;
    double pe = 0;
    for (int j = 0; j < 5; j++)
        pe += p_case[j] * sigmoid(e0 - o->exit_satisfaction * s_case[j] + o->exit_fatigue * phi);
    double p[RECO_WORLD_N_PROBS];
    probs(p, w, slot, item);
    assert_float_equal(p[RECO_SIGNAL_CLICK], pc, 1e-6);
    assert_float_equal(p[RECO_SIGNAL_LONG_WATCH], pc * pw, 1e-6);
    assert_float_equal(p[RECO_SIGNAL_LIKE], pc * pw * pl, 1e-6);
    assert_float_equal(p[RECO_SIGNAL_HIDE], (1 - pc) * ph, 1e-6);
    assert_float_equal(p[4], pe, 1e-6);
    float er;
    assert_int_equal(reco_world_expected_reward(&er, w, slot, &item, 1), RECO_OK);
    const double want = o->reward_click * pc + o->reward_long_watch * pc * pw +
                        o->reward_like * pc * pw * pl + o->reward_hide * (1 - pc) * ph;
    assert_float_equal(er, want, 1e-6);
}

static void test_world_sampled_rates_fixed_state(void **state)
{
    (void)state;
    reco_world_options o = small_opts();
    reco_world *w = make(&o);
    uint32_t slot = start1(w, 5, RECO_WORLD_SESSION_KEY(17, 3));
    /* put the session in a non-trivial state: a few steps, then a chosen satisfaction */
    int32_t cand[100];
    uint32_t fb;
    float r;
    int done = 0;
    for (int s = 0; s < 3 && !done; s++) {
        cands(cand, w, slot, 100);
        step1(&fb, &r, &done, w, slot, cand[s]);
    }
    assert_false(done);
    reco__world_set_satisfaction(w, slot, -0.4);
    /* probes: candidates, an item of the user's top topic, and one in the window (repeat) */
    uint32_t m = cands(cand, w, slot, 100);
    int32_t window[20];
    uint32_t wfb[20];
    assert_int_equal(reco_world_observe(window, wfb, NULL, &slot, 1, w), RECO_OK);
    int32_t probe[8];
    int seen[8] = { 0 };
    for (int j = 0; j < 6; j++)
        probe[j] = cand[j * (m / 6)];
    uint32_t top = 0;
    for (uint32_t k = 1; k < o.n_topics; k++)
        if (reco__world_interest(w, slot, k) > reco__world_interest(w, slot, top))
            top = k;
    probe[6] = -1;
    for (int32_t i = 0; i < (int32_t)o.n_items && probe[6] < 0; i++) {
        uint32_t k;
        assert_int_equal(reco_world_item_info(&k, NULL, NULL, NULL, w, &i, 1), RECO_OK);
        int in_window = 0;
        for (int t = 0; t < 20; t++)
            in_window |= window[t] == i;
        if (k == top && !in_window)
            probe[6] = i;
    }
    probe[7] = window[19];
    seen[7] = 1;
    for (int j = 0; j < 8; j++) {
        for (int t = 0; t < 20 && j < 7; t++)
            if (window[t] == probe[j])
                seen[j] = 1;
        check_closed_form(w, &o, slot, probe[j], seen[j]);
        double p[RECO_WORLD_N_PROBS];
        probs(p, w, slot, probe[j]);
        enum { N = 200000 };
        uint64_t cnt[RECO_WORLD_N_PROBS] = { 0 };
        reco_rng rng;
        reco_rng_seed(&rng, 2024, (uint64_t)j);
        for (int d = 0; d < N; d++) {
            uint32_t bits;
            int ex;
            reco__world_sample(&bits, &ex, w, slot, probe[j], &rng);
            /* the implications between signals always hold */
            if (bits & (1u << RECO_SIGNAL_LONG_WATCH))
                assert_true(bits & (1u << RECO_SIGNAL_CLICK));
            if (bits & (1u << RECO_SIGNAL_LIKE))
                assert_true(bits & (1u << RECO_SIGNAL_LONG_WATCH));
            if (bits & (1u << RECO_SIGNAL_HIDE))
                assert_false(bits & (1u << RECO_SIGNAL_CLICK));
            for (int f = 0; f < RECO_WORLD_N_SIGNALS; f++)
                cnt[f] += (bits >> f) & 1u;
            cnt[4] += (uint64_t)ex;
        }
        static const char *const names[] = { "click", "long watch", "like", "hide", "exit" };
        for (int f = 0; f < RECO_WORLD_N_PROBS; f++) {
            char what[64];
            snprintf(what, sizeof what, "probe %d %s", j, names[f]);
            assert_rate(cnt[f], N, p[f], what);
        }
    }
    /* sampling did not change the state */
    assert_float_equal(info(w, slot).satisfaction, -0.4, 0.0);
}

/* The same comparison through reco_world_step(), over the steps of many sessions: the count
 * of each signal against the sum of its stated probabilities (mean sum p, variance
 * sum p (1 - p)). */
static void test_world_sampled_rates_step(void **state)
{
    (void)state;
    reco_world_options o = small_opts();
    reco_world *w = make(&o);
    double sum_p[RECO_WORLD_N_PROBS] = { 0 }, var_p[RECO_WORLD_N_PROBS] = { 0 };
    uint64_t cnt[RECO_WORLD_N_PROBS] = { 0 };
    uint64_t steps = 0;
    int32_t cand[100];
    for (uint64_t sess = 0; steps < 60000; sess++) {
        uint32_t slot = start1(w, (uint32_t)(sess % o.max_sessions),
                               RECO_WORLD_SESSION_KEY(sess % o.n_users, sess / o.n_users));
        int done = 0;
        while (!done) {
            uint32_t m = cands(cand, w, slot, 100);
            const int32_t item = cand[(steps * 7) % m];
            double p[RECO_WORLD_N_PROBS];
            probs(p, w, slot, item);
            uint32_t fb;
            float r;
            step1(&fb, &r, &done, w, slot, item);
            const reco_world_slot_info si = info(w, slot);
            const int exited = done && si.exited;
            for (int f = 0; f < RECO_WORLD_N_PROBS; f++) {
                const int x = f < RECO_WORLD_N_SIGNALS ? (int)((fb >> f) & 1u) : exited;
                cnt[f] += (uint64_t)x;
                sum_p[f] += p[f];
                var_p[f] += p[f] * (1 - p[f]);
            }
            /* the reward is the weighted sum of the bits */
            const double want = o.reward_click * (fb & 1) + o.reward_long_watch * ((fb >> 1) & 1) +
                                o.reward_like * ((fb >> 2) & 1) + o.reward_hide * ((fb >> 3) & 1);
            assert_float_equal(r, want, 1e-6);
            steps++;
        }
    }
    for (int f = 0; f < RECO_WORLD_N_PROBS; f++)
        if (!(fabs((double)cnt[f] - sum_p[f]) <= 5 * sqrt(var_p[f]) + 1e-6 * (double)steps))
            fail_msg("signal %d: %llu events over %llu steps, stated %.1f +- %.1f", f,
                     (unsigned long long)cnt[f], (unsigned long long)steps, sum_p[f],
                     5 * sqrt(var_p[f]));
}

/* ---- long-term effects ------------------------------------------------------------------- */

static void test_world_satisfaction_and_fatigue_updates(void **state)
{
    (void)state;
    reco_world_options o = small_opts();
    reco_world *w = make(&o);
    uint32_t slot = start1(w, 0, RECO_WORLD_SESSION_KEY(5, 0));
    int32_t cand[100];
    double fat[64];
    int done = 0;
    for (int s = 0; s < 40 && !done; s++) {
        const double s0 = info(w, slot).satisfaction;
        for (uint32_t k = 0; k < o.n_topics; k++)
            fat[k] = reco__world_fatigue(w, slot, k);
        uint32_t m = cands(cand, w, slot, 100);
        const int32_t item = cand[(uint32_t)s % m];
        uint32_t topic;
        float q, c;
        assert_int_equal(reco_world_item_info(&topic, &q, &c, NULL, w, &item, 1), RECO_OK);
        uint32_t fb;
        float r;
        step1(&fb, &r, &done, w, slot, item);
        double d = 0;
        if (fb & 2u)
            d += o.satisfaction_watch_quality * q - o.satisfaction_watch_clickbait * c;
        else if (fb & 1u)
            d -= o.satisfaction_bounce + o.satisfaction_bounce_clickbait * c;
        if (fb & 4u)
            d += o.satisfaction_like;
        if (fb & 8u)
            d -= o.satisfaction_hide;
        if (fb == 0)
            d -= o.satisfaction_skip;
        assert_float_equal(info(w, slot).satisfaction, o.satisfaction_decay * s0 + d, 1e-12);
        for (uint32_t k = 0; k < o.n_topics; k++)
            assert_float_equal(reco__world_fatigue(w, slot, k),
                               o.fatigue_decay * fat[k] + (k == topic ? 1.0 : 0.0), 1e-12);
        if (done) /* a new session; the checks above hold within any session */
            slot = start1(w, 0, RECO_WORLD_SESSION_KEY(6 + (uint64_t)s, 0));
        done = 0;
    }
}

/* Items of topic k not in `avoid` (n of them at most). */
static uint32_t items_of_topic(int32_t *out, uint32_t cap, const reco_world *w, uint32_t n_items,
                               uint32_t k, int32_t avoid)
{
    uint32_t n = 0;
    for (int32_t i = 0; i < (int32_t)n_items && n < cap; i++) {
        uint32_t t;
        assert_int_equal(reco_world_item_info(&t, NULL, NULL, NULL, w, &i, 1), RECO_OK);
        if (t == k && i != avoid)
            out[n++] = i;
    }
    return n;
}

static void test_world_fatigue_lowers_clicks(void **state)
{
    (void)state;
    reco_world_options o = small_opts();
    o.history_len = 0; /* so that no probe is a repeat */
    reco_world *w = make(&o);
    uint32_t slot = 0;
    uint64_t key = RECO_WORLD_SESSION_KEY(8, 0);
    /* a session that survives 10 steps (exits are random: try keys until one does) */
    for (int attempt = 0;; attempt++) {
        assert_true(attempt < 200);
        key = RECO_WORLD_SESSION_KEY(8 + (uint64_t)attempt, 0);
        start1(w, slot, key);
        uint32_t top = 0;
        for (uint32_t k = 1; k < o.n_topics; k++)
            if (reco__world_interest(w, slot, k) > reco__world_interest(w, slot, top))
                top = k;
        int32_t same[8], other[8];
        /* probe: the first item of the top topic; shown: 5 more of that topic, then 5 of
         * another topic */
        int32_t all[16];
        assert_true(items_of_topic(all, 16, w, o.n_items, top, -1) >= 12);
        const int32_t p_item = all[0];
        for (int j = 0; j < 5; j++)
            same[j] = all[1 + j];
        const uint32_t other_topic = top == 0 ? 1 : 0;
        assert_true(items_of_topic(other, 8, w, o.n_items, other_topic, -1) >= 5);
        double last_click = 2.0, last_exit = -1.0, f_expect = 0.0;
        int done = 0, survived = 1;
        for (int j = 0; j < 5 && survived; j++) {
            reco__world_set_satisfaction(w, slot, 0.0);
            double p[RECO_WORLD_N_PROBS];
            probs(p, w, slot, p_item);
            assert_true(p[RECO_SIGNAL_CLICK] < last_click);
            assert_true(p[4] > last_exit);
            last_click = p[RECO_SIGNAL_CLICK];
            last_exit = p[4];
            uint32_t fb;
            float r;
            step1(&fb, &r, &done, w, slot, same[j]);
            f_expect = o.fatigue_decay * f_expect + 1.0;
            assert_float_equal(reco__world_fatigue(w, slot, top), f_expect, 1e-12);
            survived = !done;
        }
        if (!survived)
            continue;
        /* fatigue decays while other topics are shown, and clicks recover */
        for (int j = 0; j < 5 && survived; j++) {
            uint32_t fb;
            float r;
            step1(&fb, &r, &done, w, slot, other[j]);
            f_expect *= o.fatigue_decay;
            assert_float_equal(reco__world_fatigue(w, slot, top), f_expect, 1e-12);
            survived = !done;
            if (survived) {
                double p[RECO_WORLD_N_PROBS];
                probs(p, w, slot, p_item);
                assert_true(p[RECO_SIGNAL_CLICK] > last_click);
                last_click = p[RECO_SIGNAL_CLICK];
            }
        }
        if (survived)
            break;
    }
}

/* Runs `n` sessions in which a policy picks, among the candidates of the user's top topics
 * (interest >= 0.1; all candidates when none), the one with the highest `sign * attribute`
 * (attribute 0: clickbait, 1: quality), restricted to honest items (c < 0.2) for quality.
 * With `no_exit`, exits are impossible and the mean satisfaction after `len` steps is
 * returned; else the mean session depth. */
static double run_attribute_policy(reco_world_options o, int attribute, double sign, int n,
                                   int len, int no_exit, double *sd_out)
{
    if (no_exit) {
        o.exit_light = o.exit_regular = o.exit_heavy = -20.0;
        o.exit_satisfaction = 0.0;
        o.exit_fatigue = 0.0;
        o.max_session_len = (uint32_t)len;
    }
    reco_world *w = make(&o);
    double sum = 0, sum2 = 0;
    int32_t cand[100];
    uint32_t topic[100];
    float q[100], c[100];
    for (int sess = 0; sess < n; sess++) {
        uint32_t slot = start1(w, 0, RECO_WORLD_SESSION_KEY((uint64_t)sess, 1));
        int done = 0;
        double depth = 0;
        while (!done) {
            uint32_t m = cands(cand, w, slot, 100);
            assert_int_equal(reco_world_item_info(topic, q, c, NULL, w, cand, m), RECO_OK);
            int best = -1;
            double bv = -INFINITY;
            for (int pass = 0; pass < 2 && best < 0; pass++)
                for (uint32_t j = 0; j < m; j++) {
                    if (pass == 0 && reco__world_interest(w, slot, topic[j]) < 0.1)
                        continue;
                    if (attribute == 1 && c[j] >= 0.2)
                        continue;
                    const double v = sign * (attribute == 0 ? c[j] : q[j]);
                    if (v > bv) {
                        bv = v;
                        best = (int)j;
                    }
                }
            if (best < 0)
                best = 0;
            uint32_t fb;
            float r;
            step1(&fb, &r, &done, w, slot, cand[best]);
            depth += 1;
        }
        const double x = no_exit ? info(w, slot).satisfaction : depth;
        sum += x;
        sum2 += x * x;
    }
    const double mean = sum / n;
    *sd_out = sqrt((sum2 / n - mean * mean) / n);
    return mean;
}

static void test_world_clickbait_and_quality_long_term(void **state)
{
    (void)state;
    reco_world_options o = small_opts();
    double se1, se2;
    /* clickbait: more clicks now ... */
    reco_world *w = make(&o);
    uint32_t slot = start1(w, 0, 99);
    int32_t cand[100], window[20];
    uint32_t wfb[20], topic[100];
    uint32_t m = cands(cand, w, slot, 100);
    float c[100];
    assert_int_equal(reco_world_item_info(topic, NULL, c, NULL, w, cand, m), RECO_OK);
    assert_int_equal(reco_world_observe(window, wfb, NULL, &slot, 1, w), RECO_OK);
    int in_window[100] = { 0 }, pairs = 0;
    for (uint32_t a = 0; a < m; a++)
        for (int t = 0; t < 20; t++)
            in_window[a] |= window[t] == cand[a];
    for (uint32_t a = 0; a < m; a++)
        for (uint32_t b = 0; b < m; b++) {
            if (topic[a] != topic[b] || c[a] <= c[b] || in_window[a] || in_window[b])
                continue;
            pairs++;
            /* same topic, same state: more clickbait, more clicks (fatigue and interest are
             * the topic's; repeats aside) */
            double pa[5], pb[5];
            probs(pa, w, slot, cand[a]);
            probs(pb, w, slot, cand[b]);
            assert_true(pa[RECO_SIGNAL_CLICK] > pb[RECO_SIGNAL_CLICK]);
        }
    assert_true(pairs > 100);
    /* ... lower satisfaction after (exits disabled: the same 8 steps for everyone) ... */
    const double s_bait = run_attribute_policy(o, 0, +1.0, 400, 8, 1, &se1);
    const double s_honest = run_attribute_policy(o, 0, -1.0, 400, 8, 1, &se2);
    if (!(s_bait + 4 * sqrt(se1 * se1 + se2 * se2) < s_honest))
        fail_msg("satisfaction after 8 steps: clickbait %.3f +- %.3f, honest %.3f +- %.3f",
                 s_bait, se1, s_honest, se2);
    /* ... and shorter sessions (exits on) */
    const double d_bait = run_attribute_policy(o, 0, +1.0, 600, 0, 0, &se1);
    const double d_honest = run_attribute_policy(o, 0, -1.0, 600, 0, 0, &se2);
    if (!(d_bait + 3 * sqrt(se1 * se1 + se2 * se2) < d_honest))
        fail_msg("depth: clickbait %.3f +- %.3f, honest %.3f +- %.3f", d_bait, se1, d_honest,
                 se2);
    /* quality raises satisfaction (among honest items) */
    const double s_good = run_attribute_policy(o, 1, +1.0, 400, 8, 1, &se1);
    const double s_poor = run_attribute_policy(o, 1, -1.0, 400, 8, 1, &se2);
    if (!(s_poor + 4 * sqrt(se1 * se1 + se2 * se2) < s_good))
        fail_msg("satisfaction after 8 steps: quality %.3f +- %.3f, poor %.3f +- %.3f", s_good,
                 se1, s_poor, se2);
    /* lower satisfaction means a higher exit probability, whatever the item */
    double p_low[5], p_high[5];
    reco__world_set_satisfaction(w, slot, -1.0);
    probs(p_low, w, slot, cand[0]);
    reco__world_set_satisfaction(w, slot, 1.0);
    probs(p_high, w, slot, cand[0]);
    assert_true(p_low[4] > p_high[4]);
}

/* ---- determinism and common random numbers ---------------------------------------------- */

typedef struct trace {
    int32_t items[64];
    uint32_t fb[64];
    float r[64];
    int n;
} trace;

/* One session under "candidate index (step * mult) mod count"; records the trace. */
static void run_trace(trace *t, reco_world *w, uint32_t slot, uint64_t key, uint32_t mult)
{
    start1(w, slot, key);
    int done = 0;
    int32_t cand[100];
    t->n = 0;
    while (!done && t->n < 64) {
        uint32_t m = cands(cand, w, slot, 100);
        const int32_t item = cand[((uint32_t)t->n * mult) % m];
        step1(&t->fb[t->n], &t->r[t->n], &done, w, slot, item);
        t->items[t->n++] = item;
    }
}

static void test_world_determinism(void **state)
{
    (void)state;
    reco_world_options o = small_opts();
    reco_world *a = make(&o), *b = make(&o);
    o.seed = 8;
    reco_world *c = make(&o);
    int differ = 0;
    for (uint64_t u = 0; u < 20; u++) {
        trace ta, tb, tc;
        const uint64_t key = RECO_WORLD_SESSION_KEY(u * 13, u);
        run_trace(&ta, a, 1, key, 3);
        run_trace(&tb, b, 7, key, 3); /* another world, another slot: same trajectory */
        assert_int_equal(ta.n, tb.n);
        assert_memory_equal(ta.items, tb.items, sizeof(int32_t) * (size_t)ta.n);
        assert_memory_equal(ta.fb, tb.fb, sizeof(uint32_t) * (size_t)ta.n);
        assert_memory_equal(ta.r, tb.r, sizeof(float) * (size_t)ta.n);
        run_trace(&tc, c, 1, key, 3);
        differ |= tc.n != ta.n || memcmp(tc.items, ta.items, sizeof(int32_t) * (size_t)ta.n);
        /* replaying the key in the same world gives the same session again */
        run_trace(&tb, a, 2, key, 3);
        assert_int_equal(ta.n, tb.n);
        assert_memory_equal(ta.fb, tb.fb, sizeof(uint32_t) * (size_t)ta.n);
    }
    assert_true(differ); /* another seed, another world */
    /* the catalog too */
    int32_t items[50];
    float qa[50], qb[50];
    for (int i = 0; i < 50; i++)
        items[i] = i * 37;
    assert_int_equal(reco_world_item_info(NULL, qa, NULL, NULL, a, items, 50), RECO_OK);
    assert_int_equal(reco_world_item_info(NULL, qb, NULL, NULL, b, items, 50), RECO_OK);
    assert_memory_equal(qa, qb, sizeof qa);
    /* the observed start (synthetic history) depends only on the key */
    const uint64_t key = RECO_WORLD_SESSION_KEY(3, 9);
    uint32_t s1 = start1(a, 4, key), s2 = start1(b, 9, key);
    int32_t w1[20], w2[20];
    uint32_t f1[20], f2[20];
    assert_int_equal(reco_world_observe(w1, f1, NULL, &s1, 1, a), RECO_OK);
    assert_int_equal(reco_world_observe(w2, f2, NULL, &s2, 1, b), RECO_OK);
    assert_memory_equal(w1, w2, sizeof w1);
    assert_memory_equal(f1, f2, sizeof f1);
}

static void test_world_common_random_numbers(void **state)
{
    (void)state;
    reco_world_options o = small_opts();
    reco_world *w = make(&o);
    int coupled = 0;
    for (uint64_t u = 0; u < 200; u++) {
        const uint64_t key = RECO_WORLD_SESSION_KEY(u, 0x80000000u);
        uint32_t sa = start1(w, 0, key), sb = start1(w, 1, key);
        int32_t ca[100], cb[100], again[100];
        /* step 1: both policies meet the same candidates (and asking twice changes
         * nothing) */
        uint32_t ma = cands(ca, w, sa, 100), mb = cands(cb, w, sb, 100);
        assert_int_equal(ma, mb);
        assert_memory_equal(ca, cb, sizeof(int32_t) * ma);
        assert_int_equal(cands(again, w, sa, 100), ma);
        assert_memory_equal(ca, again, sizeof(int32_t) * ma);
        /* policies that choose the same item get the same feedback, reward and done */
        uint32_t fa, fb;
        float ra, rb;
        int da, db;
        step1(&fa, &ra, &da, w, sa, ca[5]);
        step1(&fb, &rb, &db, w, sb, cb[5]);
        assert_int_equal(fa, fb);
        assert_float_equal(ra, rb, 0.0);
        assert_int_equal(da, db);
        if (da)
            continue;
        /* step 2: different choices now, yet the candidate sets stay the same */
        ma = cands(ca, w, sa, 100);
        mb = cands(cb, w, sb, 100);
        assert_memory_equal(ca, cb, sizeof(int32_t) * ma);
        step1(&fa, &ra, &da, w, sa, ca[0]);
        step1(&fb, &rb, &db, w, sb, cb[1]);
        if (da || db)
            continue;
        /* step 3: states differ (one interaction apart), candidates do not */
        ma = cands(ca, w, sa, 100);
        mb = cands(cb, w, sb, 100);
        assert_memory_equal(ca, cb, sizeof(int32_t) * ma);
        coupled++;
    }
    assert_true(coupled > 100);
    /* candidates differ across sessions of one user and across users */
    uint32_t s0 = start1(w, 0, RECO_WORLD_SESSION_KEY(1, 0));
    uint32_t s1 = start1(w, 1, RECO_WORLD_SESSION_KEY(1, 1));
    uint32_t s2 = start1(w, 2, RECO_WORLD_SESSION_KEY(2, 0));
    int32_t c0[100], c1[100], c2[100];
    cands(c0, w, s0, 100);
    cands(c1, w, s1, 100);
    cands(c2, w, s2, 100);
    assert_true(memcmp(c0, c1, sizeof c0) != 0);
    assert_true(memcmp(c0, c2, sizeof c0) != 0);
}

/* ---- env contract --------------------------------------------------------------------------- */

static void test_world_env_contract(void **state)
{
    (void)state;
    reco_world_options o = small_opts();
    reco_world *w = make(&o);
    reco_env env;
    assert_int_equal(reco_world_env(&env, w), RECO_OK);
    const uint32_t L = o.lookback;
    uint32_t slots[2] = { 3, 9 };
    uint64_t users[2] = { RECO_WORLD_SESSION_KEY(10, 0), RECO_WORLD_SESSION_KEY(11, 0) };
    assert_int_equal(env.reset(slots, users, 2, env.payload), RECO_OK);
    /* observe: history_len synthetic interactions at the end, pads before, newest last */
    int32_t items[2 * 20];
    uint32_t fbw[2 * 20];
    assert_int_equal(env.observe(items, fbw, NULL, slots, 2, env.payload), RECO_OK);
    for (uint32_t r = 0; r < 2; r++)
        for (uint32_t t = 0; t < L; t++) {
            if (t < L - o.history_len) {
                assert_int_equal(items[r * L + t], RECO_PAD);
                assert_int_equal(fbw[r * L + t], 0);
            } else {
                assert_true(items[r * L + t] >= 0 && items[r * L + t] < (int32_t)o.n_items);
                assert_true(fbw[r * L + t] < 16);
            }
        }
    /* candidates: distinct, in range; a smaller max_candidates gives a prefix */
    int32_t cand[2 * 100];
    uint32_t count[2];
    assert_int_equal(env.candidates(cand, count, 100, slots, 2, env.payload), RECO_OK);
    for (uint32_t r = 0; r < 2; r++) {
        assert_int_equal(count[r], o.n_candidates);
        for (uint32_t a = 0; a < count[r]; a++) {
            assert_true(cand[r * 100 + a] >= 0 && cand[r * 100 + a] < (int32_t)o.n_items);
            for (uint32_t b = 0; b < a; b++)
                assert_int_not_equal(cand[r * 100 + a], cand[r * 100 + b]);
        }
    }
    int32_t few[2 * 7];
    assert_int_equal(env.candidates(few, count, 7, slots, 2, env.payload), RECO_OK);
    assert_int_equal(count[0], 7);
    assert_memory_equal(few, cand, 7 * sizeof(int32_t));
    assert_memory_equal(few + 7, cand + 100, 7 * sizeof(int32_t));
    /* step: the shown item and its feedback become the newest interaction */
    int32_t show[2] = { cand[0], cand[100 + 1] };
    uint32_t fb[2];
    float rw[2];
    int done[2];
    assert_int_equal(env.step(fb, rw, done, slots, show, 2, env.payload), RECO_OK);
    int32_t after[2 * 20];
    uint32_t fba[2 * 20];
    assert_int_equal(env.observe(after, fba, NULL, slots, 2, env.payload), RECO_OK);
    for (uint32_t r = 0; r < 2; r++) {
        assert_int_equal(after[r * L + L - 1], show[r]);
        assert_int_equal(fba[r * L + L - 1], fb[r]);
        assert_memory_equal(after + r * L, items + r * L + 1, (L - 1) * sizeof(int32_t));
    }
    assert_int_equal(info(w, 3).steps, 1);

    /* errors: each names the problem, and a failed call changes nothing */
    const reco_world_slot_info before = info(w, 3);
    uint32_t bad_slot = o.max_sessions;
    assert_reco_error(env.step(fb, rw, done, &bad_slot, show, 1, env.payload), RECO_EINVAL,
                      "slots[0] = 64 is out of range");
    uint32_t dup[2] = { 3, 3 };
    assert_reco_error(env.step(fb, rw, done, dup, show, 2, env.payload), RECO_EINVAL,
                      "slot 3 appears twice");
    int32_t bad_items[2] = { show[0], (int32_t)o.n_items };
    assert_reco_error(env.step(fb, rw, done, slots, bad_items, 2, env.payload), RECO_EINVAL,
                      "items[1] = 2000 is out of range");
    bad_items[1] = -3;
    assert_reco_error(env.step(fb, rw, done, slots, bad_items, 2, env.payload), RECO_EINVAL,
                      "items[1] = -3");
    assert_reco_error(env.step(NULL, rw, done, slots, show, 2, env.payload), RECO_EINVAL,
                      "feedback_out is NULL");
    assert_reco_error(env.step(fb, NULL, done, slots, show, 2, env.payload), RECO_EINVAL,
                      "reward_out is NULL");
    assert_reco_error(env.step(fb, rw, NULL, slots, show, 2, env.payload), RECO_EINVAL,
                      "done_out is NULL");
    assert_reco_error(env.step(fb, rw, done, slots, show, 2, NULL), RECO_EINVAL,
                      "world is NULL");
    uint32_t idle = 20;
    assert_reco_error(env.step(fb, rw, done, &idle, show, 1, env.payload), RECO_ESTATE,
                      "slot 20 has no session");
    assert_reco_error(env.observe(after, fba, NULL, &idle, 1, env.payload), RECO_ESTATE,
                      "no session");
    assert_reco_error(env.candidates(cand, count, 100, &idle, 1, env.payload), RECO_ESTATE,
                      "no session");
    assert_reco_error(env.candidates(cand, count, 0, slots, 1, env.payload), RECO_EINVAL,
                      "max_candidates is 0");
    assert_reco_error(env.observe(NULL, fba, NULL, slots, 1, env.payload), RECO_EINVAL,
                      "items_out is NULL");
    assert_reco_error(env.candidates(cand, NULL, 100, slots, 1, env.payload), RECO_EINVAL,
                      "count_out is NULL");
    assert_reco_error(env.reset(dup, users, 2, env.payload), RECO_EINVAL, "appears twice");
    uint64_t bad_user = RECO_WORLD_SESSION_KEY(o.n_users, 0);
    assert_reco_error(env.reset(slots, &bad_user, 1, env.payload), RECO_EINVAL,
                      "user 5000 is out of range");
    assert_reco_error(env.reset(NULL, users, 1, env.payload), RECO_EINVAL, "slots is NULL");
    const reco_world_slot_info after_errors = info(w, 3);
    assert_true(after_errors.key == before.key);
    assert_int_equal(after_errors.steps, before.steps);
    assert_int_equal(after_errors.status, before.status);
    assert_float_equal(after_errors.satisfaction, before.satisfaction, 0.0);
    assert_float_equal(after_errors.max_fatigue, before.max_fatigue, 0.0);
    /* n = 0 is a no-op, with NULL arrays */
    assert_int_equal(env.step(NULL, NULL, NULL, NULL, NULL, 0, env.payload), RECO_OK);
    assert_int_equal(env.reset(NULL, NULL, 0, env.payload), RECO_OK);
    /* probabilities and expected rewards need a running slot and valid items */
    float pr[5];
    assert_reco_error(reco_world_signal_probs(pr, w, idle, show, 1), RECO_ESTATE,
                      "not running");
    assert_reco_error(reco_world_expected_reward(pr, w, 3, bad_items, 2), RECO_EINVAL,
                      "items[1]");
    assert_reco_error(reco_world_expected_reward(pr, w, 999, show, 1), RECO_EINVAL,
                      "out of range");
    assert_reco_error(reco_world_signal_probs(NULL, w, 3, show, 1), RECO_EINVAL, "out is NULL");
    reco_world_slot_info si = RECO_WORLD_SLOT_INFO_INIT;
    si.version = 2;
    assert_reco_error(reco_world_get_slot_info(&si, w, 3), RECO_EVERSION, "version 2");
    si.version = 1;
    assert_reco_error(reco_world_get_slot_info(&si, w, 64), RECO_EINVAL, "out of range");
    assert_int_equal(info(w, idle).status, 0);

    /* done at max_session_len with exits disabled; a finished slot refuses to step */
    o.max_session_len = 5;
    o.exit_light = o.exit_regular = o.exit_heavy = -20.0;
    o.exit_satisfaction = o.exit_fatigue = 0.0;
    reco_world *w5 = make(&o);
    uint32_t s = start1(w5, 2, 77);
    for (int t = 0; t < 5; t++) {
        uint32_t f;
        float r;
        int d;
        step1(&f, &r, &d, w5, s, (int32_t)t);
        /* cut at the length limit: reported as truncated, not as an exit */
        assert_int_equal(d, t == 4 ? RECO_ENV_TRUNCATED : RECO_ENV_CONTINUE);
    }
    const reco_world_slot_info fin = info(w5, s);
    assert_int_equal(fin.status, 2);
    assert_int_equal(fin.exited, 0);
    assert_int_equal(fin.steps, 5);
    int32_t one = 1;
    assert_reco_error(reco_world_step(fb, rw, done, &s, &one, 1, w5), RECO_ESTATE,
                      "has finished its session");
    assert_reco_error(reco_world_candidates(cand, count, 100, &s, 1, w5), RECO_ESTATE,
                      "finished");
    assert_int_equal(reco_world_observe(after, fba, NULL, &s, 1, w5), RECO_OK);
    assert_int_equal(after[L - 1], 4);
    /* an exit is reported as such */
    o = small_opts();
    o.exit_light = o.exit_regular = o.exit_heavy = 20.0;
    reco_world *wx = make(&o);
    s = start1(wx, 0, 5);
    uint32_t f;
    float r;
    int d;
    step1(&f, &r, &d, wx, s, 0);
    assert_int_equal(d, RECO_ENV_EXIT);
    assert_int_equal(info(wx, s).exited, 1);
    /* reset: every slot idle again; a restarted slot runs */
    assert_int_equal(reco_world_reset(w5), RECO_OK);
    assert_int_equal(info(w5, s).status, 0);
    assert_reco_error(reco_world_reset(NULL), RECO_EINVAL, "NULL");
    start1(w5, s, 78);
    assert_int_equal(info(w5, s).status, 1);
}

/* ---- memory ---------------------------------------------------------------------------------- */

typedef struct counting {
    size_t allocs, frees, bytes, largest, attempts, fail_at;
} counting;

static void *counting_alloc(void *opaque, size_t size, size_t align)
{
    counting *c = opaque;
    c->attempts++;
    if (c->fail_at != 0 && c->attempts == c->fail_at)
        return NULL;
    void *p = NULL;
    if (posix_memalign(&p, align, size) != 0)
        return NULL;
    c->allocs++;
    c->bytes += size;
    if (size > c->largest)
        c->largest = size;
    return p;
}

static void counting_free(void *opaque, void *ptr)
{
    counting *c = opaque;
    if (ptr != NULL) {
        c->frees++;
        free(ptr);
    }
}

static void test_world_zero_allocation(void **state)
{
    (void)state;
    counting c = { 0 };
    reco_allocator a = { RECO_ALLOCATOR_VERSION, counting_alloc, counting_free, &c };
    reco_world_options o = small_opts();
    o.allocator = &a;
    const size_t live = reco_live_handles();
    reco_world *w = NULL;
    assert_int_equal(reco_world_create(&w, &o), RECO_OK);
    size_t bytes = 0;
    assert_int_equal(reco_world_memory_size(&bytes, &o), RECO_OK);
    assert_int_equal(c.largest, bytes); /* the block; the other is creation scratch */
    assert_int_equal(c.allocs, 2);
    assert_int_equal(c.frees, 1);
    const size_t after_create = c.attempts;
    reco_env env;
    reco_world_env(&env, w);
    uint32_t slots[8];
    uint64_t users[8];
    for (uint32_t i = 0; i < 8; i++)
        slots[i] = i * 3;
    assert_int_equal(reco_world_eval_users(users, w, 0, 8), RECO_OK);
    assert_int_equal(env.reset(slots, users, 8, env.payload), RECO_OK);
    int32_t cand[8 * 100], items[8 * 20], pick[8];
    uint32_t count[8], fbw[8 * 20], fb[8], seg[8];
    float rw[8], er[100], pr[500];
    int done[8] = { 0 };
    for (int t = 0; t < 30; t++) {
        uint32_t n = 0, live_slots[8];
        for (uint32_t i = 0; i < 8; i++)
            if (info(w, slots[i]).status == 1)
                live_slots[n++] = slots[i];
        if (n == 0)
            break;
        assert_int_equal(env.observe(items, fbw, NULL, live_slots, n, env.payload), RECO_OK);
        assert_int_equal(env.candidates(cand, count, 100, live_slots, n, env.payload), RECO_OK);
        for (uint32_t i = 0; i < n; i++) {
            assert_int_equal(reco_world_expected_reward(er, w, live_slots[i], cand + i * 100,
                                                        count[i]), RECO_OK);
            assert_int_equal(reco_world_signal_probs(pr, w, live_slots[i], cand + i * 100, 100),
                             RECO_OK);
            pick[i] = cand[i * 100 + (uint32_t)t % count[i]];
        }
        assert_int_equal(reco_world_item_info(seg, rw, rw, rw, w, pick, n), RECO_OK);
        assert_int_equal(env.step(fb, rw, done, live_slots, pick, n, env.payload), RECO_OK);
    }
    assert_int_equal(reco_world_user_segment(seg, w, users, 8), RECO_OK);
    assert_int_equal(reco_world_reset(w), RECO_OK);
    assert_int_equal(c.attempts, after_create);
    reco_world_free(w);
    assert_int_equal(c.frees, c.allocs);
    assert_int_equal(reco_live_handles(), live);
    /* a failing allocator at either allocation: ENOMEM, nothing leaked */
    for (size_t k = 1; k <= 2; k++) {
        counting f = { 0 };
        f.fail_at = k;
        reco_allocator fa = { RECO_ALLOCATOR_VERSION, counting_alloc, counting_free, &f };
        o.allocator = &fa;
        w = (reco_world *)&w;
        assert_int_equal(reco_world_create(&w, &o), RECO_ENOMEM);
        assert_null(w);
        assert_int_equal(f.allocs, f.frees);
        assert_int_equal(reco_live_handles(), live);
    }
}

/* ---- threads: disjoint slots from two threads give what one thread gives ------------------- */

typedef struct thread_job {
    reco_world *w;
    uint32_t first_slot;
    uint64_t first_session;
    uint32_t fb_hash;
    int rc;
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *j = arg;
    uint32_t h = 2166136261u;
    int32_t cand[100];
    for (uint64_t s = 0; s < 40 && j->rc == RECO_OK; s++) {
        uint32_t slot = j->first_slot + (uint32_t)(s % 8);
        uint64_t key;
        reco_world_eval_users(&key, j->w, j->first_session + s, 1);
        j->rc = reco_world_start(&slot, &key, 1, j->w);
        int done = 0;
        while (!done && j->rc == RECO_OK) {
            uint32_t n;
            float er[100];
            j->rc = reco_world_candidates(cand, &n, 100, &slot, 1, j->w);
            if (j->rc == RECO_OK)
                j->rc = reco_world_expected_reward(er, j->w, slot, cand, n);
            uint32_t best = 0;
            for (uint32_t k = 1; k < n; k++)
                if (er[k] > er[best])
                    best = k;
            uint32_t fb;
            float r;
            if (j->rc == RECO_OK)
                j->rc = reco_world_step(&fb, &r, &done, &slot, &cand[best], 1, j->w);
            h = (h ^ fb ^ (uint32_t)cand[best]) * 16777619u;
        }
    }
    j->fb_hash = h;
    return NULL;
}

static void test_world_threads_disjoint_slots(void **state)
{
    (void)state;
    reco_world_options o = small_opts();
    reco_world *w = make(&o);
    thread_job seq[2] = { { w, 0, 0, 0, 0 }, { w, 8, 1000, 0, 0 } };
    thread_main(&seq[0]);
    thread_main(&seq[1]);
    thread_job par[2] = { { w, 16, 0, 0, 0 }, { w, 24, 1000, 0, 0 } };
    pthread_t t0, t1;
    assert_int_equal(pthread_create(&t0, NULL, thread_main, &par[0]), 0);
    assert_int_equal(pthread_create(&t1, NULL, thread_main, &par[1]), 0);
    pthread_join(t0, NULL);
    pthread_join(t1, NULL);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(seq[i].rc, RECO_OK);
        assert_int_equal(par[i].rc, RECO_OK);
        assert_int_equal(seq[i].fb_hash, par[i].fb_hash);
    }
}

/* ---- headroom ------------------------------------------------------------------------------ */

enum { P_RANDOM, P_POPULAR, P_GREEDY, P_LOOKAHEAD, N_P };

/* The four policies of examples/world_headroom.c, compactly. `recent` (K) is the session's
 * recency-weighted topic count. Returns the index of the chosen candidate. */
static uint32_t policy_pick(int p, reco_world *w, uint32_t slot, const int32_t *cand,
                            uint32_t n, const double *recent, reco_rng *rng)
{
    if (p == P_RANDOM)
        return (uint32_t)reco_rng_below(rng, n);
    float er[100], q[100], c[100], pop[100];
    uint32_t topic[100];
    int32_t window[20];
    uint32_t wfb[20];
    assert_int_equal(reco_world_item_info(topic, q, c, pop, w, cand, n), RECO_OK);
    assert_int_equal(reco_world_expected_reward(er, w, slot, cand, n), RECO_OK);
    assert_int_equal(reco_world_observe(window, wfb, NULL, &slot, 1, w), RECO_OK);
    uint32_t best = 0;
    double bv = -INFINITY;
    for (uint32_t j = 0; j < n; j++) {
        double v;
        if (p == P_POPULAR) {
            v = pop[j];
            for (int t = 0; t < 20; t++)
                if (window[t] == cand[j])
                    v = -1;
        } else if (p == P_GREEDY) {
            v = er[j];
        } else {
            v = er[j] + 0.3 * q[j] - 0.3 * c[j] - 0.2 * recent[topic[j]];
        }
        if (v > bv) {
            bv = v;
            best = j;
        }
    }
    return best;
}

/* exclude_seen: no candidate is in the observed window, every step; a version-1 options
 * struct keeps the version-1 behaviour (repeats possible); impossible sizes are refused. */
static void test_world_exclude_seen(void **state)
{
    (void)state;
    reco_world_options o = small_opts();
    o.n_items = 120; /* C + L = 120: the tightest catalog that allows it */
    o.n_topics = 5;
    o.exclude_seen = 1;
    reco_world *w = make(&o);
    reco_env env;
    assert_int_equal(reco_world_env(&env, w), RECO_OK);
    const uint32_t L = o.lookback, C = o.n_candidates;
    uint64_t checked = 0;
    for (uint32_t u = 0; u < 20; u++) {
        uint32_t slot = u % 4;
        uint64_t key = RECO_WORLD_SESSION_KEY(u, 0);
        assert_int_equal(env.reset(&slot, &key, 1, env.payload), RECO_OK);
        for (int step = 0; step < 200; step++) {
            int32_t items[20], cand[100];
            uint32_t fb[20], nc;
            assert_int_equal(env.observe(items, fb, NULL, &slot, 1, env.payload), RECO_OK);
            assert_int_equal(env.candidates(cand, &nc, C, &slot, 1, env.payload), RECO_OK);
            assert_int_equal(nc, C);
            for (uint32_t j = 0; j < nc; j++)
                for (uint32_t t = 0; t < L; t++)
                    if (items[t] == cand[j])
                        fail_msg("step %d: candidate %d is in the window", step, cand[j]);
            checked += nc;
            /* show the first candidate: the window fills with shown items */
            uint32_t bits;
            float r;
            int done;
            assert_int_equal(env.step(&bits, &r, &done, &slot, &cand[0], 1, env.payload),
                             RECO_OK);
            if (done)
                break;
        }
    }
    assert_true(checked > 1000);
    /* a version-1 struct: its exclude_seen is not read, and repeats do occur */
    reco_world_options v1 = small_opts();
    v1.n_items = 120;
    v1.n_topics = 5;
    v1.version = 1;
    v1.exclude_seen = 1; /* past the end of a version-1 struct: ignored */
    reco_world *w1 = make(&v1);
    reco_world_options back;
    back.version = RECO_WORLD_OPTIONS_VERSION;
    assert_int_equal(reco_world_get_options(&back, w1), RECO_OK);
    assert_int_equal(back.exclude_seen, 0);
    /* ... and reco_world_get_options() does not write past the end of a version-1 struct */
    reco_world_options v1back;
    memset(&v1back, 0x5a, sizeof v1back);
    v1back.version = 1;
    assert_int_equal(reco_world_get_options(&v1back, w), RECO_OK);
    assert_int_equal(v1back.n_items, 120);
    const unsigned char *tail = (const unsigned char *)&v1back.exclude_seen;
    for (size_t i = 0; i < sizeof v1back.exclude_seen; i++)
        assert_int_equal(tail[i], 0x5a);
    reco_world_env(&env, w1);
    uint32_t slot = 0, repeats = 0;
    uint64_t key = RECO_WORLD_SESSION_KEY(1, 0);
    assert_int_equal(env.reset(&slot, &key, 1, env.payload), RECO_OK);
    for (int step = 0; step < 30; step++) {
        int32_t items[20], cand[100];
        uint32_t fb[20], nc, bits;
        float r;
        int done;
        env.observe(items, fb, NULL, &slot, 1, env.payload);
        env.candidates(cand, &nc, 100, &slot, 1, env.payload);
        for (uint32_t j = 0; j < nc; j++)
            for (uint32_t t = 0; t < L; t++)
                repeats += items[t] == cand[j];
        env.step(&bits, &r, &done, &slot, &cand[0], 1, env.payload);
        if (done)
            assert_int_equal(env.reset(&slot, &key, 1, env.payload), RECO_OK);
    }
    assert_true(repeats > 0);
    /* C + L > n_items is refused, naming the option */
    o.n_items = 119;
    assert_bad_option(&o, "world.exclude_seen", "n_candidates + lookback");
}

static void test_world_headroom(void **state)
{
    (void)state;
    reco_world_options o = small_opts();
    reco_world *w = make(&o);
    enum { N = 300 };
    double step1_er[N_P] = { 0 }, step1_r[N_P] = { 0 }, depth[N_P] = { 0 },
           depth2[N_P] = { 0 }, watches[N_P] = { 0 };
    for (int p = 0; p < N_P; p++) {
        reco_rng rng;
        reco_rng_seed(&rng, 5, (uint64_t)p);
        for (uint64_t s = 0; s < N; s++) {
            uint64_t key;
            reco_world_eval_users(&key, w, s, 1);
            uint32_t slot = start1(w, 0, key);
            double recent[20] = { 0 };
            int32_t cand[100];
            int done = 0, t = 0;
            while (!done) {
                uint32_t m = cands(cand, w, slot, 100);
                uint32_t j = policy_pick(p, w, slot, cand, m, recent, &rng);
                if (t == 0) {
                    float er;
                    assert_int_equal(reco_world_expected_reward(&er, w, slot, &cand[j], 1), 0);
                    step1_er[p] += er;
                }
                uint32_t fb, topic;
                float r;
                step1(&fb, &r, &done, w, slot, cand[j]);
                assert_int_equal(reco_world_item_info(&topic, NULL, NULL, NULL, w, &cand[j], 1),
                                 RECO_OK);
                for (int k = 0; k < 20; k++)
                    recent[k] *= 0.7;
                recent[topic] += 1;
                if (t == 0)
                    step1_r[p] += r;
                watches[p] += (fb >> RECO_SIGNAL_LONG_WATCH) & 1u;
                t++;
            }
            depth[p] += t;
            depth2[p] += (double)t * t;
        }
    }
    /* Step 1: greedy-immediate is myopically optimal — the highest expected (exactly) and,
     * with common random numbers, realised reward. */
    for (int p = 0; p < N_P; p++) {
        if (p != P_GREEDY) {
            assert_true(step1_er[P_GREEDY] > step1_er[p]);
            assert_true(step1_r[P_GREEDY] > step1_r[p]);
        }
    }
    /* Over whole sessions the look-ahead policy is deeper and has more long watches. */
    const double mg = depth[P_GREEDY] / N, ml = depth[P_LOOKAHEAD] / N;
    const double se = sqrt((depth2[P_GREEDY] / N - mg * mg) / N +
                           (depth2[P_LOOKAHEAD] / N - ml * ml) / N);
    if (!(ml > mg + 3 * se && ml > 1.5 * mg))
        fail_msg("depth: lookahead %.2f, greedy %.2f (se of the difference %.2f)", ml, mg, se);
    if (!(watches[P_LOOKAHEAD] > 1.15 * watches[P_GREEDY]))
        fail_msg("long watches per session: lookahead %.3f, greedy %.3f",
                 watches[P_LOOKAHEAD] / N, watches[P_GREEDY] / N);
}

/* ---- options version 3: old structs, the example YAML ------------------------------------ */

/* A version-1 or -2 options struct is read and written only up to its end: init, get and
 * create leave the bytes after it alone (and ignore them). */
static void test_world_options_old_versions(void **state)
{
    (void)state;
    static const struct {
        unsigned int version;
        size_t end;
    } v[] = { { 1, offsetof(reco_world_options, exclude_seen) },
              { 2, offsetof(reco_world_options, carry_history) } };
    reco_world_options o = small_opts();
    o.carry_history = 1;
    o.long_len = 9;
    o.user_features = 1;
    reco_world *w = make(&o);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        reco_world_options b;
        const unsigned char *tail = (const unsigned char *)&b + v[i].end;
        /* init */
        memset(&b, 0x5a, sizeof b);
        assert_int_equal(reco_world_options_init(&b, v[i].version), RECO_OK);
        assert_int_equal(b.version, v[i].version);
        assert_int_equal(b.n_items, 10000);
        for (size_t j = 0; j < sizeof b - v[i].end; j++)
            if (tail[j] != 0x5a)
                fail_msg("options_init(version %u) wrote byte %zu past the struct's end",
                         v[i].version, j);
        /* get */
        memset(&b, 0x5a, sizeof b);
        b.version = v[i].version;
        assert_int_equal(reco_world_get_options(&b, w), RECO_OK);
        assert_int_equal(b.n_items, o.n_items);
        for (size_t j = 0; j < sizeof b - v[i].end; j++)
            if (tail[j] != 0x5a)
                fail_msg("get_options(version %u) wrote byte %zu past the struct's end",
                         v[i].version, j);
        /* create: the bytes past the end (here out-of-range values) are not read */
        reco_world_options in = small_opts();
        memset((unsigned char *)&in + v[i].end, 0x5a, sizeof in - v[i].end);
        in.version = v[i].version;
        reco_world *wv = make(&in);
        reco_world_options back = RECO_WORLD_OPTIONS_INIT;
        assert_int_equal(reco_world_get_options(&back, wv), RECO_OK);
        assert_int_equal(back.carry_history, 0);
        assert_int_equal(back.long_len, 0);
        assert_int_equal(back.user_features, 0);
        assert_true(back.seconds_base == 5.0 && back.seconds_like == 3.0);
        reco_env env;
        assert_int_equal(reco_world_env(&env, wv), RECO_OK);
        assert_int_equal(env.user_dim, 0);
        assert_int_equal(env.long_len, 0);
        size_t a = 0, d = 0;
        assert_int_equal(reco_world_memory_size(&a, &in), RECO_OK);
        assert_int_equal(reco_world_memory_size(&d, NULL), RECO_OK);
        reco_world_options dflt = small_opts();
        assert_int_equal(reco_world_memory_size(&d, &dflt), RECO_OK);
        assert_int_equal(a, d);
    }
}

/* examples/configs/world.yaml writes out the whole section with the defaults. */
static void test_world_example_yaml_is_the_defaults(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/../examples/configs/world.yaml", test_data_dir());
    reco_config *cfg = NULL;
    assert_int_equal(reco_config_create(&cfg, NULL), RECO_OK);
    if (reco_config_load_file(cfg, path) != RECO_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", reco_error_message());
        reco_config_free(cfg);
        fail_msg("%s: %s", path, msg);
    }
    reco_world_options got = RECO_WORLD_OPTIONS_INIT, want = RECO_WORLD_OPTIONS_INIT;
    got.seed = 12345;
    got.seconds_like = -1;
    assert_int_equal(reco_config_get_world(&got, cfg), RECO_OK);
    assert_options_equal(&got, &want);
    reco_config_free(cfg);
    /* every key of the section is written in the file (a changed default shows up) */
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char text[8192];
    const size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    static const char *const keys[] = { "exclude_seen:", "carry_history:", "long_len:",
                                        "user_features:", "user_feature_noise:",
                                        "item_feature_noise:", "seconds:" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strstr(text, keys[i]) == NULL)
            fail_msg("%s does not write out %s", path, keys[i]);
}

/* ---- carried history, session context --------------------------------------------------- */

enum { MAX_REC = 4096 };

/* What a test saw of one user's logged sessions: every (item, feedback), in order. */
typedef struct user_record {
    int32_t items[MAX_REC];
    uint32_t fb[MAX_REC];
    uint32_t n;
} user_record;

/* The last `len` entries of `rec` right-aligned after pads, as the world should show them. */
static void record_tail(int32_t *items, uint32_t *fb, const user_record *rec, uint32_t len)
{
    const uint32_t m = rec->n < len ? rec->n : len;
    for (uint32_t t = 0; t < len; t++) {
        items[t] = t < len - m ? RECO_PAD : rec->items[rec->n - len + t];
        fb[t] = t < len - m ? 0 : rec->fb[rec->n - len + t];
    }
}

static double dwell(const reco_world_options *o, uint32_t fb)
{
    return o->seconds_base + ((fb >> RECO_SIGNAL_CLICK) & 1u) * o->seconds_click +
           ((fb >> RECO_SIGNAL_LONG_WATCH) & 1u) * o->seconds_long_watch +
           ((fb >> RECO_SIGNAL_LIKE) & 1u) * o->seconds_like;
}

/* Checks slot `slot`'s state at the start of a session against the record: the window is
 * the last L recorded interactions, the long history the last H, steps and elapsed 0. */
static void check_start(const reco_env *env, uint32_t slot, const user_record *rec)
{
    const uint32_t L = env->lookback, H = env->long_len;
    int32_t items[64], want_items[64], long_items[64];
    uint32_t fb[64], want_fb[64], long_fb[64], steps;
    float elapsed;
    assert_true(L <= 64 && H <= 64);
    assert_int_equal(env->observe(items, fb, NULL, &slot, 1, env->payload), RECO_OK);
    record_tail(want_items, want_fb, rec, L);
    assert_memory_equal(items, want_items, L * sizeof(int32_t));
    assert_memory_equal(fb, want_fb, L * sizeof(uint32_t));
    assert_int_equal(env->context(&steps, &elapsed, long_items, long_fb, &slot, 1, env->payload),
                     RECO_OK);
    assert_int_equal(steps, 0);
    assert_float_equal(elapsed, 0.0, 0.0);
    record_tail(want_items, want_fb, rec, H);
    assert_memory_equal(long_items, want_items, H * sizeof(int32_t));
    assert_memory_equal(long_fb, want_fb, H * sizeof(uint32_t));
}

/* Runs one session of `key` in `slot` under "candidate (t * 3 + salt) mod count" to its end,
 * checking steps and elapsed after every step and that the long history does not move;
 * appends what happened to `rec` when given. Returns the steps. */
static uint32_t run_carried(const reco_env *env, const reco_world_options *o, uint32_t slot,
                            uint64_t key, uint32_t salt, user_record *rec, uint32_t *fb_trace)
{
    assert_int_equal(env->reset(&slot, &key, 1, env->payload), RECO_OK);
    const uint32_t H = env->long_len;
    int32_t long0[64], long1[64];
    uint32_t lfb0[64], lfb1[64];
    assert_int_equal(env->context(NULL, NULL, long0, lfb0, &slot, 1, env->payload), RECO_OK);
    int done = 0;
    uint32_t t = 0;
    double secs = 0.0;
    while (!done) {
        int32_t cand[100];
        uint32_t nc, fb, steps;
        float r, elapsed;
        assert_int_equal(env->candidates(cand, &nc, 100, &slot, 1, env->payload), RECO_OK);
        const int32_t item = cand[(t * 3 + salt) % nc];
        assert_int_equal(env->step(&fb, &r, &done, &slot, &item, 1, env->payload), RECO_OK);
        if (fb_trace != NULL)
            fb_trace[t] = fb | (uint32_t)done << 8;
        if (rec != NULL) {
            assert_true(rec->n < MAX_REC);
            rec->items[rec->n] = item;
            rec->fb[rec->n++] = fb;
        }
        t++;
        secs += dwell(o, fb);
        /* context after the step: works on running and finished sessions alike */
        assert_int_equal(env->context(&steps, &elapsed, long1, lfb1, &slot, 1, env->payload),
                         RECO_OK);
        assert_int_equal(steps, t);
        assert_float_equal(elapsed, secs, 1e-6 * secs);
        assert_memory_equal(long1, long0, H * sizeof(int32_t));
        assert_memory_equal(lfb1, lfb0, H * sizeof(uint32_t));
        /* the window's newest entry is this step */
        int32_t w_items[64];
        uint32_t w_fb[64];
        assert_int_equal(env->observe(w_items, w_fb, NULL, &slot, 1, env->payload), RECO_OK);
        assert_int_equal(w_items[env->lookback - 1], item);
        assert_int_equal(w_fb[env->lookback - 1], fb);
    }
    return t;
}

static void test_world_carry_history(void **state)
{
    (void)state;
    enum { NU = 12, ROUNDS = 4 };
    reco_world_options o = small_opts();
    o.n_users = 40;
    o.lookback = 8;
    o.history_len = 6;  /* ignored while carrying: sessions start from the real past */
    o.long_len = 13;    /* R = max(L, H) = 13: both windows come out of one ring */
    o.max_session_len = 12;
    o.max_sessions = 8;
    o.carry_history = 1;
    o.seconds_base = 1.5;
    o.seconds_click = 2.0;
    o.seconds_long_watch = 30.0;
    o.seconds_like = 0.25;
    reco_world *w = make(&o);
    reco_env env;
    assert_int_equal(reco_world_env(&env, w), RECO_OK);
    assert_int_equal(env.long_len, 13);
    static user_record rec[NU];
    memset(rec, 0, sizeof rec);
    /* logged sessions: round r of every user, users spread over the slots; each user's
     * rounds in order, as reco_log_generate() runs them */
    for (uint32_t r = 0; r < ROUNDS; r++)
        for (uint32_t u = 0; u < NU; u++) {
            const uint32_t slot = (u + r) % o.max_sessions;
            const uint64_t key = RECO_WORLD_SESSION_KEY(u, r);
            uint64_t count;
            assert_int_equal(reco_world_user_history_len(&count, w, &key, 1), RECO_OK);
            assert_true(count == rec[u].n);
            assert_int_equal(env.reset(&slot, &key, 1, env.payload), RECO_OK);
            if (r == 0) { /* a new user starts empty */
                int32_t items[8];
                uint32_t fb[8];
                assert_int_equal(env.observe(items, fb, NULL, &slot, 1, env.payload), RECO_OK);
                for (int t = 0; t < 8; t++)
                    assert_int_equal(items[t], RECO_PAD);
            }
            check_start(&env, slot, &rec[u]);
            run_carried(&env, &o, slot, key, u, &rec[u], NULL);
        }
    /* the ring wrapped for some users (more than R = 13 interactions stored) */
    uint32_t wrapped = 0;
    for (uint32_t u = 0; u < NU; u++)
        wrapped += rec[u].n > 13;
    assert_true(wrapped >= 3);

    /* evaluation keys read the stored history and never write it: every policy (here two
     * selection rules, in either order) starts from the same state, and the logged record
     * is what the next logged session starts from */
    for (uint32_t u = 0; u < NU; u++) {
        uint64_t key;
        assert_int_equal(reco_world_eval_users(&key, w, u, 1), RECO_OK);
        uint32_t ta[16] = { 0 }, tb[16] = { 0 }, tc[16] = { 0 };
        const uint32_t slot = u % o.max_sessions;
        assert_int_equal(env.reset(&slot, &key, 1, env.payload), RECO_OK);
        check_start(&env, slot, &rec[u]);
        const uint32_t na = run_carried(&env, &o, slot, key, 1, NULL, ta);
        assert_int_equal(env.reset(&slot, &key, 1, env.payload), RECO_OK);
        check_start(&env, slot, &rec[u]);
        run_carried(&env, &o, slot, key, 2, NULL, tb);
        const uint32_t nc = run_carried(&env, &o, slot, key, 1, NULL, tc);
        assert_int_equal(na, nc);
        assert_memory_equal(ta, tc, sizeof ta); /* policy A again: the same session */
        uint64_t count;
        assert_int_equal(reco_world_user_history_len(&count, w, &key, 1), RECO_OK);
        assert_true(count == rec[u].n);
    }
    for (uint32_t u = 0; u < NU; u++) {
        const uint32_t slot = (u + 3) % o.max_sessions;
        const uint64_t key = RECO_WORLD_SESSION_KEY(u, ROUNDS);
        assert_int_equal(env.reset(&slot, &key, 1, env.payload), RECO_OK);
        check_start(&env, slot, &rec[u]);
    }
    /* a second world of the same options gets the histories by copy: its sessions start
     * where the first world's do (an evaluation world beside the training one) */
    reco_world *w2 = make(&o);
    reco_env env2;
    assert_int_equal(reco_world_env(&env2, w2), RECO_OK);
    assert_int_equal(reco_world_copy_histories(w2, w), RECO_OK);
    for (uint32_t u = 0; u < NU; u++) {
        uint64_t key;
        assert_int_equal(reco_world_eval_users(&key, w2, u, 1), RECO_OK);
        const uint32_t slot = u % o.max_sessions;
        assert_int_equal(env2.reset(&slot, &key, 1, env2.payload), RECO_OK);
        check_start(&env2, slot, &rec[u]);
    }
    reco_world_options other = o;
    other.long_len = 5; /* a shorter ring */
    reco_world *w3 = make(&other);
    assert_reco_error(reco_world_copy_histories(w3, w), RECO_EINVAL, "stored length");
    assert_reco_error(reco_world_copy_histories(NULL, w), RECO_EINVAL, "dst is NULL");
    /* clearing forgets everyone: the next session is a new user's */
    assert_int_equal(reco_world_clear_histories(w), RECO_OK);
    uint64_t users[NU], counts[NU];
    for (uint32_t u = 0; u < NU; u++)
        users[u] = u;
    assert_int_equal(reco_world_user_history_len(counts, w, users, NU), RECO_OK);
    for (uint32_t u = 0; u < NU; u++)
        assert_true(counts[u] == 0);
    user_record fresh;
    fresh.n = 0;
    uint32_t slot = 0;
    uint64_t key = RECO_WORLD_SESSION_KEY(0, ROUNDS + 1);
    assert_int_equal(env.reset(&slot, &key, 1, env.payload), RECO_OK);
    check_start(&env, slot, &fresh);
    run_carried(&env, &o, slot, key, 0, &fresh, NULL);
    assert_int_equal(reco_world_user_history_len(counts, w, users, 1), RECO_OK);
    assert_true(counts[0] == fresh.n && fresh.n > 0);
    /* reco_world_reset() idles the slots and keeps the users' past (an evaluator resets
     * between policies) */
    assert_int_equal(reco_world_reset(w), RECO_OK);
    assert_int_equal(reco_world_user_history_len(counts, w, users, 1), RECO_OK);
    assert_true(counts[0] == fresh.n);
    key = RECO_WORLD_SESSION_KEY(0, ROUNDS + 2);
    assert_int_equal(env.reset(&slot, &key, 1, env.payload), RECO_OK);
    check_start(&env, slot, &fresh);
    /* argument checks */
    users[0] = o.n_users;
    assert_reco_error(reco_world_user_history_len(counts, w, users, 1), RECO_EINVAL,
                      "user 40 is out of range");
    assert_reco_error(reco_world_user_history_len(NULL, w, users, 1), RECO_EINVAL, "out is NULL");
    assert_reco_error(reco_world_clear_histories(NULL), RECO_EINVAL, "world is NULL");
    /* without carry_history nothing is stored */
    reco_world_options off = small_opts();
    reco_world *w0 = make(&off);
    slot = 0;
    key = RECO_WORLD_SESSION_KEY(3, 0);
    assert_int_equal(reco_world_start(&slot, &key, 1, w0), RECO_OK);
    int32_t one = 0;
    uint32_t fb;
    float r;
    int done;
    assert_int_equal(reco_world_step(&fb, &r, &done, &slot, &one, 1, w0), RECO_OK);
    assert_int_equal(reco_world_user_history_len(counts, w0, &key, 1), RECO_OK);
    assert_true(counts[0] == 0);
    assert_int_equal(reco_world_clear_histories(w0), RECO_OK);
}

/* Without carry_history the long history is the synthetic one (the interactions the window
 * shows before the first step), pads before; context() checks its arguments. */
static void test_world_context_synthetic(void **state)
{
    (void)state;
    reco_world_options o = small_opts();
    o.long_len = 16; /* more than history_len = 10: 6 pads */
    reco_world *w = make(&o);
    reco_env env;
    assert_int_equal(reco_world_env(&env, w), RECO_OK);
    assert_int_equal(env.long_len, 16);
    uint32_t slots[2] = { 5, 2 };
    uint64_t keys[2] = { RECO_WORLD_SESSION_KEY(8, 1), RECO_WORLD_SESSION_KEY(9, 0x80000003u) };
    assert_int_equal(env.reset(slots, keys, 2, env.payload), RECO_OK);
    int32_t win[2 * 20], lng[2 * 16];
    uint32_t wfb[2 * 20], lfb[2 * 16], steps[2];
    float el[2];
    assert_int_equal(env.observe(win, wfb, NULL, slots, 2, env.payload), RECO_OK);
    assert_int_equal(env.context(steps, el, lng, lfb, slots, 2, env.payload), RECO_OK);
    for (uint32_t i = 0; i < 2; i++) {
        assert_int_equal(steps[i], 0);
        assert_float_equal(el[i], 0.0, 0.0);
        for (uint32_t t = 0; t < 6; t++) {
            assert_int_equal(lng[i * 16 + t], RECO_PAD);
            assert_int_equal(lfb[i * 16 + t], 0);
        }
        assert_memory_equal(lng + i * 16 + 6, win + i * 20 + 10, 10 * sizeof(int32_t));
        assert_memory_equal(lfb + i * 16 + 6, wfb + i * 20 + 10, 10 * sizeof(uint32_t));
        assert_true(lng[i * 16 + 6] != RECO_PAD);
    }
    /* each output may be NULL */
    assert_int_equal(env.context(NULL, NULL, NULL, NULL, slots, 2, env.payload), RECO_OK);
    assert_int_equal(env.context(NULL, NULL, NULL, NULL, NULL, 0, env.payload), RECO_OK);
    /* a long history shorter than the synthetic one: its newest entries */
    o.long_len = 4;
    reco_world *w4 = make(&o);
    assert_int_equal(reco_world_start(slots, keys, 1, w4), RECO_OK);
    int32_t l4[4];
    uint32_t f4[4];
    assert_int_equal(reco_world_context(NULL, NULL, l4, f4, slots, 1, w4), RECO_OK);
    assert_memory_equal(l4, win + 16, 4 * sizeof(int32_t));
    assert_memory_equal(f4, wfb + 16, 4 * sizeof(uint32_t));
    /* errors */
    uint32_t idle = 40, bad = o.max_sessions;
    assert_reco_error(env.context(steps, el, lng, lfb, &idle, 1, env.payload), RECO_ESTATE,
                      "slot 40 has no session");
    assert_reco_error(env.context(steps, el, lng, lfb, &bad, 1, env.payload), RECO_EINVAL,
                      "out of range");
    assert_reco_error(env.context(steps, el, lng, lfb, NULL, 1, env.payload), RECO_EINVAL,
                      "slots is NULL");
    assert_reco_error(env.context(steps, el, lng, lfb, slots, 1, NULL), RECO_EINVAL,
                      "world is NULL");
}

/* probabilities() is reco_world_signal_probs() row by row and changes nothing: a session
 * that asks for them before every step (and for other items) runs exactly as one that
 * does not. */
static void test_world_probabilities(void **state)
{
    (void)state;
    reco_world_options o = small_opts();
    reco_world *w = make(&o), *w2 = make(&o);
    reco_env env, env2;
    assert_int_equal(reco_world_env(&env, w), RECO_OK);
    assert_int_equal(reco_world_env(&env2, w2), RECO_OK);
    for (uint64_t u = 0; u < 30; u++) {
        const uint64_t key = RECO_WORLD_SESSION_KEY(u, 2);
        uint32_t sa = 1, sb = 6;
        assert_int_equal(env.reset(&sa, &key, 1, env.payload), RECO_OK);
        assert_int_equal(env2.reset(&sb, &key, 1, env2.payload), RECO_OK);
        int da = 0, db = 0;
        for (uint32_t t = 0; !da; t++) {
            int32_t cand[100];
            uint32_t nc;
            assert_int_equal(env.candidates(cand, &nc, 100, &sa, 1, env.payload), RECO_OK);
            /* a batch: the slot several times, with different items */
            uint32_t bs[6] = { sa, sa, sa, sa, sa, sa };
            float p[6 * RECO_WORLD_N_PROBS], want[RECO_WORLD_N_PROBS];
            assert_int_equal(env.probabilities(p, bs, cand, 6, env.payload), RECO_OK);
            for (uint32_t j = 0; j < 6; j++) {
                assert_int_equal(reco_world_signal_probs(want, w, sa, &cand[j], 1), RECO_OK);
                assert_memory_equal(p + j * RECO_WORLD_N_PROBS, want, sizeof want);
            }
            const int32_t item = cand[(t * 7 + (uint32_t)u) % nc];
            uint32_t fa, fb;
            float ra, rb;
            assert_int_equal(env.step(&fa, &ra, &da, &sa, &item, 1, env.payload), RECO_OK);
            assert_int_equal(env2.step(&fb, &rb, &db, &sb, &item, 1, env2.payload), RECO_OK);
            assert_int_equal(fa, fb);
            assert_int_equal(da, db);
            assert_float_equal(info(w, sa).satisfaction, info(w2, sb).satisfaction, 0.0);
        }
    }
    /* errors */
    uint32_t slot = 0;
    uint64_t key = 3;
    assert_int_equal(reco_world_start(&slot, &key, 1, w), RECO_OK);
    float p[RECO_WORLD_N_PROBS];
    int32_t item = (int32_t)o.n_items;
    assert_reco_error(env.probabilities(p, &slot, &item, 1, env.payload), RECO_EINVAL,
                      "items[0] = 2000 is out of range");
    item = 0;
    uint32_t idle = 50;
    assert_reco_error(env.probabilities(p, &idle, &item, 1, env.payload), RECO_ESTATE,
                      "no session");
    assert_reco_error(env.probabilities(NULL, &slot, &item, 1, env.payload), RECO_EINVAL,
                      "probs_out is NULL");
    assert_reco_error(env.probabilities(p, &slot, &item, 1, NULL), RECO_EINVAL,
                      "world is NULL");
    assert_int_equal(env.probabilities(NULL, NULL, NULL, 0, env.payload), RECO_OK);
}

/* ---- user and item features -------------------------------------------------------------- */

static void test_world_user_features(void **state)
{
    (void)state;
    reco_world_options o = small_opts();
    o.user_features = 1;
    o.user_feature_noise = 0.3;
    reco_world *w = make(&o), *w2 = make(&o);
    reco_env env;
    assert_int_equal(reco_world_env(&env, w), RECO_OK);
    const uint32_t K = o.n_topics, U = 3 + K;
    assert_int_equal(env.user_dim, U);
    enum { NU = 2000 };
    float f[23], g[23];
    int32_t items[20];
    uint32_t fb[20];
    double sum = 0, sum2 = 0, n = 0;
    for (uint32_t u = 0; u < NU; u++) {
        uint32_t slot = u % 8;
        uint64_t key = RECO_WORLD_SESSION_KEY(u, 0);
        assert_int_equal(env.reset(&slot, &key, 1, env.payload), RECO_OK);
        assert_int_equal(env.observe(items, fb, f, &slot, 1, env.payload), RECO_OK);
        uint32_t seg;
        assert_int_equal(reco_world_user_segment(&seg, w, &key, 1), RECO_OK);
        for (uint32_t s = 0; s < 3; s++)
            assert_float_equal(f[s], s == seg ? 1.0 : 0.0, 0.0);
        for (uint32_t k = 0; k < K; k++) {
            const double e = f[3 + k] - reco__world_interest(w, slot, k);
            sum += e;
            sum2 += e * e;
            n += 1;
        }
        if (u < 50) {
            /* fixed per user: another session of the user (an evaluation one, another slot,
             * after some steps), or the same user in another world of the same seed */
            uint32_t s2 = 9;
            uint64_t k2 = RECO_WORLD_SESSION_KEY(u, 0x80000007u);
            assert_int_equal(reco_world_start(&s2, &k2, 1, w2), RECO_OK);
            int32_t item = (int32_t)u;
            uint32_t bits;
            float r;
            int done;
            assert_int_equal(reco_world_step(&bits, &r, &done, &s2, &item, 1, w2), RECO_OK);
            assert_int_equal(reco_world_observe(items, fb, g, &s2, 1, w2), RECO_OK);
            assert_memory_equal(f, g, sizeof f);
        }
    }
    /* the noise: mean 0, sd 0.3; over 40000 draws the sample mean's sd is 0.0015 and the
     * sample sd's 0.0011: tolerances of 5 of those */
    const double mean = sum / n, sd = sqrt(sum2 / n - mean * mean);
    if (!(fabs(mean) < 0.0075 && fabs(sd - 0.3) < 0.0055))
        fail_msg("user feature noise: mean %.5f, sd %.5f (want 0, 0.3)", mean, sd);
    /* NULL features: not wanted */
    uint32_t slot = 0;
    assert_int_equal(env.observe(items, fb, NULL, &slot, 1, env.payload), RECO_OK);
    /* users differ */
    uint32_t s3 = 3;
    uint64_t k3 = 1;
    assert_int_equal(reco_world_start(&s3, &k3, 1, w2), RECO_OK);
    assert_int_equal(reco_world_observe(items, fb, g, &s3, 1, w2), RECO_OK);
    k3 = 2;
    assert_int_equal(reco_world_start(&s3, &k3, 1, w2), RECO_OK);
    assert_int_equal(reco_world_observe(items, fb, f, &s3, 1, w2), RECO_OK);
    assert_true(memcmp(f + 3, g + 3, K * sizeof(float)) != 0);
    /* noise 0: the interests themselves */
    o.user_feature_noise = 0.0;
    reco_world *w0 = make(&o);
    assert_int_equal(reco_world_start(&s3, &k3, 1, w0), RECO_OK);
    assert_int_equal(reco_world_observe(items, fb, f, &s3, 1, w0), RECO_OK);
    for (uint32_t k = 0; k < K; k++)
        assert_float_equal(f[3 + k], (float)reco__world_interest(w0, s3, k), 0.0);
    /* without user_features, features_out is never written */
    o = small_opts();
    reco_world *wn = make(&o);
    assert_int_equal(reco_world_start(&s3, &k3, 1, wn), RECO_OK);
    for (int i = 0; i < 23; i++)
        f[i] = -7.0f;
    assert_int_equal(reco_world_observe(items, fb, f, &s3, 1, wn), RECO_OK);
    for (int i = 0; i < 23; i++)
        assert_float_equal(f[i], -7.0, 0.0);
}

static void test_world_item_features(void **state)
{
    (void)state;
    reco_world_options o = small_opts();
    o.item_feature_noise = 0.2;
    reco_world *w = make(&o), *w2 = make(&o);
    const uint32_t n = o.n_items;
    float *dense = malloc(sizeof(float) * n * RECO_WORLD_ITEM_DENSE);
    float *dense2 = malloc(sizeof(float) * n * RECO_WORLD_ITEM_DENSE);
    int32_t *fields = malloc(sizeof(int32_t) * n * RECO_WORLD_ITEM_FIELDS);
    int32_t *items = malloc(sizeof(int32_t) * n);
    uint32_t *topic = malloc(sizeof(uint32_t) * n);
    float *q = malloc(sizeof(float) * n), *c = malloc(sizeof(float) * n);
    float *pop = malloc(sizeof(float) * n);
    for (uint32_t i = 0; i < n; i++)
        items[i] = (int32_t)i;
    assert_int_equal(reco_world_item_info(topic, q, c, pop, w, items, n), RECO_OK);
    assert_int_equal(reco_world_item_features(dense, fields, w), RECO_OK);
    uint32_t sizes[RECO_WORLD_ITEM_FIELDS];
    assert_int_equal(reco_world_item_field_sizes(sizes, w), RECO_OK);
    assert_int_equal(sizes[0], o.n_topics);
    double eq = 0, eq2 = 0, ec = 0, ec2 = 0, pz = 0, pz2 = 0;
    double sq = 0, sqq = 0, sn = 0, snn = 0, sqn = 0;
    for (uint32_t i = 0; i < n; i++) {
        const float *d = dense + (size_t)i * RECO_WORLD_ITEM_DENSE;
        assert_int_equal(fields[i], (int32_t)topic[i]);
        assert_true(fields[i] >= 0 && (uint32_t)fields[i] < sizes[0]);
        const double nq = d[0] - q[i], nc = d[1] - c[i];
        eq += nq;
        eq2 += nq * nq;
        ec += nc;
        ec2 += nc * nc;
        pz += d[2];
        pz2 += (double)d[2] * d[2];
        sq += q[i];
        sqq += (double)q[i] * q[i];
        sn += d[0];
        snn += (double)d[0] * d[0];
        sqn += (double)q[i] * d[0];
    }
    /* noise sd 0.2 over 2000 items: the sample sd's sd is 0.0032; tolerance 0.016 */
    const double mq = eq / n, sdq = sqrt(eq2 / n - mq * mq);
    const double mc = ec / n, sdc = sqrt(ec2 / n - mc * mc);
    if (!(fabs(mq) < 5 * 0.2 / sqrt(n) && fabs(sdq - 0.2) < 0.016 && fabs(mc) < 5 * 0.2 / sqrt(n) &&
          fabs(sdc - 0.2) < 0.016))
        fail_msg("item feature noise: quality %.4f +- %.4f, clickbait %.4f +- %.4f", mq, sdq, mc,
                 sdc);
    /* noisy quality tracks the true one: q has sd 0.224, so the correlation is about 0.75 */
    const double cov = sqn / n - (sq / n) * (sn / n);
    const double corr = cov / sqrt((sqq / n - (sq / n) * (sq / n)) * (snn / n - (sn / n) * (sn / n)));
    if (!(corr > 0.65 && corr < 0.85))
        fail_msg("corr(noisy quality, quality) = %.3f", corr);
    /* the popularity column: standardised, and in the order of the popularity prior */
    assert_float_equal(pz / n, 0.0, 1e-4);
    assert_float_equal(sqrt(pz2 / n - (pz / n) * (pz / n)), 1.0, 1e-3);
    for (uint32_t i = 1; i < n; i++) {
        const float za = dense[(size_t)(i - 1) * 3 + 2], zb = dense[(size_t)i * 3 + 2];
        const double lr = log((double)pop[i - 1] / pop[i]);
        if (fabs(lr) > 1e-4)
            assert_true((za > zb) == (lr > 0));
    }
    /* the same every call, and in another world of the same seed; NULL outputs skipped */
    assert_int_equal(reco_world_item_features(dense2, NULL, w2), RECO_OK);
    assert_memory_equal(dense, dense2, sizeof(float) * n * RECO_WORLD_ITEM_DENSE);
    assert_int_equal(reco_world_item_features(NULL, NULL, w), RECO_OK);
    /* noise 0: the truth */
    o.item_feature_noise = 0.0;
    reco_world *w0 = make(&o);
    assert_int_equal(reco_world_item_features(dense2, NULL, w0), RECO_OK);
    for (uint32_t i = 0; i < n; i++) {
        assert_float_equal(dense2[(size_t)i * 3], q[i], 0.0);
        assert_float_equal(dense2[(size_t)i * 3 + 1], c[i], 0.0);
        assert_float_equal(dense2[(size_t)i * 3 + 2], dense[(size_t)i * 3 + 2], 0.0);
    }
    /* every item equally popular: the column is 0 */
    o.popularity_sigma = 0.0;
    o.popularity_quality = 0.0;
    o.popularity_clickbait = 0.0;
    reco_world *wf = make(&o);
    assert_int_equal(reco_world_item_features(dense2, NULL, wf), RECO_OK);
    for (uint32_t i = 0; i < n; i++)
        assert_float_equal(dense2[(size_t)i * 3 + 2], 0.0, 0.0);
    assert_reco_error(reco_world_item_features(dense, fields, NULL), RECO_EINVAL,
                      "world is NULL");
    assert_reco_error(reco_world_item_field_sizes(NULL, w), RECO_EINVAL, "out is NULL");
    free(dense);
    free(dense2);
    free(fields);
    free(items);
    free(topic);
    free(q);
    free(c);
    free(pop);
}

/* ---- memory with the version-3 state ----------------------------------------------------- */

static void test_world_zero_allocation_carry(void **state)
{
    (void)state;
    counting c = { 0 };
    reco_allocator a = { RECO_ALLOCATOR_VERSION, counting_alloc, counting_free, &c };
    reco_world_options o = small_opts();
    o.n_users = 300;
    o.carry_history = 1;
    o.long_len = 30;
    o.user_features = 1;
    o.allocator = &a;
    /* the stored histories cost n_users * (8 + 8 * max(L, H)) bytes (each array rounded
     * to 64) */
    size_t with = 0, without = 0;
    assert_int_equal(reco_world_memory_size(&with, &o), RECO_OK);
    o.carry_history = 0;
    assert_int_equal(reco_world_memory_size(&without, &o), RECO_OK);
    o.carry_history = 1;
    const size_t r64 = (300 * 30 * 4 + 63) & ~(size_t)63, c64 = (300 * 8 + 63) & ~(size_t)63;
    assert_int_equal(with - without, c64 + 2 * r64);
    reco_world *w = NULL;
    assert_int_equal(reco_world_create(&w, &o), RECO_OK);
    assert_int_equal(c.largest, with);
    const size_t after_create = c.attempts;
    reco_env env;
    reco_world_env(&env, w);
    float *dense = malloc(sizeof(float) * o.n_items * 3);
    int32_t *fields = malloc(sizeof(int32_t) * o.n_items);
    for (uint32_t round = 0; round < 3; round++) {
        uint32_t slots[8];
        uint64_t users[8];
        for (uint32_t i = 0; i < 8; i++) {
            slots[i] = i * 5;
            users[i] = round < 2 ? RECO_WORLD_SESSION_KEY(i, round)
                                 : RECO_WORLD_SESSION_KEY(i, 0x80000000u);
        }
        assert_int_equal(env.reset(slots, users, 8, env.payload), RECO_OK);
        int32_t cand[8 * 100], items[8 * 20], pick[8], lng[8 * 30];
        uint32_t count[8], fbw[8 * 20], fb[8], lfb[8 * 30], steps[8];
        float rw[8], feat[8 * 23], el[8], pr[8 * 5];
        int done[8] = { 0 };
        for (int t = 0; t < 30; t++) {
            uint32_t n = 0, live[8];
            for (uint32_t i = 0; i < 8; i++)
                if (info(w, slots[i]).status == 1)
                    live[n++] = slots[i];
            if (n == 0)
                break;
            assert_int_equal(env.observe(items, fbw, feat, live, n, env.payload), RECO_OK);
            assert_int_equal(env.context(steps, el, lng, lfb, live, n, env.payload), RECO_OK);
            assert_int_equal(env.candidates(cand, count, 100, live, n, env.payload), RECO_OK);
            for (uint32_t i = 0; i < n; i++)
                pick[i] = cand[i * 100 + (uint32_t)t % count[i]];
            assert_int_equal(env.probabilities(pr, live, pick, n, env.payload), RECO_OK);
            assert_int_equal(env.step(fb, rw, done, live, pick, n, env.payload), RECO_OK);
        }
        uint64_t hl[8];
        assert_int_equal(reco_world_user_history_len(hl, w, users, 8), RECO_OK);
    }
    assert_int_equal(reco_world_item_features(dense, fields, w), RECO_OK);
    assert_int_equal(reco_world_clear_histories(w), RECO_OK);
    assert_int_equal(reco_world_reset(w), RECO_OK);
    assert_int_equal(c.attempts, after_create);
    reco_world_free(w);
    assert_int_equal(c.frees, c.allocs);
    free(dense);
    free(fields);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_world_options_defaults, teardown),
        cmocka_unit_test_teardown(test_world_options_validation, teardown),
        cmocka_unit_test_teardown(test_world_config_good, teardown),
        cmocka_unit_test_teardown(test_world_config_bad, teardown),
        cmocka_unit_test_teardown(test_world_catalog_and_users, teardown),
        cmocka_unit_test_teardown(test_world_sampled_rates_fixed_state, teardown),
        cmocka_unit_test_teardown(test_world_sampled_rates_step, teardown),
        cmocka_unit_test_teardown(test_world_satisfaction_and_fatigue_updates, teardown),
        cmocka_unit_test_teardown(test_world_fatigue_lowers_clicks, teardown),
        cmocka_unit_test_teardown(test_world_clickbait_and_quality_long_term, teardown),
        cmocka_unit_test_teardown(test_world_determinism, teardown),
        cmocka_unit_test_teardown(test_world_common_random_numbers, teardown),
        cmocka_unit_test_teardown(test_world_env_contract, teardown),
        cmocka_unit_test_teardown(test_world_zero_allocation, teardown),
        cmocka_unit_test_teardown(test_world_threads_disjoint_slots, teardown),
        cmocka_unit_test_teardown(test_world_exclude_seen, teardown),
        cmocka_unit_test_teardown(test_world_headroom, teardown),
        cmocka_unit_test_teardown(test_world_options_old_versions, teardown),
        cmocka_unit_test_teardown(test_world_example_yaml_is_the_defaults, teardown),
        cmocka_unit_test_teardown(test_world_carry_history, teardown),
        cmocka_unit_test_teardown(test_world_context_synthetic, teardown),
        cmocka_unit_test_teardown(test_world_probabilities, teardown),
        cmocka_unit_test_teardown(test_world_user_features, teardown),
        cmocka_unit_test_teardown(test_world_item_features, teardown),
        cmocka_unit_test_teardown(test_world_zero_allocation_carry, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
