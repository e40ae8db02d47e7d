/* Tests of reco_explorer (lib/explorer.c).
 *
 * Distributions. For each rule the expected action probabilities are computed here, from the
 * closed-form formulas of explorer.h in long double with an independent ranking (insertion
 * sort by Q descending, index ascending), and compared with reco_explorer_probs() (to 1e-6)
 * and with the empirical frequencies of reco_explorer_select() over 200k draws (Pearson
 * chi-square over the cells of non-zero probability, compared with the critical value at
 * p = 1e-6 for its degrees of freedom; cells of probability 0 must have count 0). Every draw
 * also checks that the returned probability equals the probs() entry of the chosen index
 * (bit for bit: both come from the same code).
 *
 * Links the library's objects (internal test) to reach the quickselect directly. Fixed seeds
 * throughout. */
#include <math.h>

#include "test_common.h"
#include "explorer_private.h"

/* Chi-square critical values at p = 1e-6, by degrees of freedom (scipy.stats.chi2.isf). */
static double chi2_crit(size_t df)
{
    switch (df) {
    case 1: return 23.93;
    case 2: return 27.63;
    case 3: return 30.66;
    case 4: return 33.38;
    case 5: return 35.89;
    case 6: return 38.26;
    case 7: return 40.52;
    case 8: return 42.70;
    case 9: return 44.81;
    case 11: return 48.87;
    case 15: return 56.49;
    default: fail_msg("no chi-square critical value for df %zu", df);
    }
    return 0.0;
}

#define assert_near(value, expected, tol)                                                   \
    do {                                                                                    \
        const double v_ = (value), e_ = (expected), t_ = (tol);                             \
        if (!(fabs(v_ - e_) <= t_))                                                         \
            fail_msg("%s = %.17g, expected %.17g +- %.3g", #value, v_, e_, t_);             \
    } while (0)

#define SENTINEL_F 12345.0f
#define SENTINEL_U 0xdeadbeefu
#define MAXC 64

/* ---- tracked handles and buffers ---------------------------------------------------------- */

#define MAX_TRACKED 32
static reco_explorer *tracked[MAX_TRACKED];
static size_t n_tracked;
static void *bufs[MAX_TRACKED];
static size_t n_bufs;

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_tracked; i++)
        reco_explorer_free(tracked[i]);
    for (size_t i = 0; i < n_bufs; i++)
        free(bufs[i]);
    n_tracked = n_bufs = 0;
    return 0;
}

static void *buf_bytes(size_t bytes)
{
    assert_true(n_bufs < MAX_TRACKED);
    void *p = calloc(bytes > 0 ? bytes : 1, 1);
    assert_non_null(p);
    bufs[n_bufs++] = p;
    return p;
}

static reco_explorer *make(const reco_explorer_options *o)
{
    reco_explorer *e = NULL;
    int rc = reco_explorer_create(&e, o);
    if (rc != RECO_OK)
        fail_msg("reco_explorer_create: %s", reco_error_message());
    assert_true(n_tracked < MAX_TRACKED);
    tracked[n_tracked++] = e;
    return e;
}

static reco_explorer_options opts_rule(reco_explorer_rule rule, double eps, double tau)
{
    reco_explorer_options o = RECO_EXPLORER_OPTIONS_INIT;
    o.rule = rule;
    o.epsilon.start = o.epsilon.end = eps;
    o.tau.start = o.tau.end = tau;
    o.seed = 2024;
    o.max_candidates = 512;
    return o;
}

/* ---- independent reference ---------------------------------------------------------------- */

/* Available columns ranked by Q descending, ties by index ascending (insertion sort: stable,
 * so equal values keep their index order). Returns the number available. */
static size_t ref_rank(size_t *order, const float *q, size_t C)
{
    size_t n = 0;
    for (size_t c = 0; c < C; c++) {
        if (isinf(q[c]) && q[c] < 0)
            continue;
        size_t j = n++;
        while (j > 0 && q[order[j - 1]] < q[c]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = c;
    }
    return n;
}

/* Closed-form probabilities of explorer.h, with K given explicitly (ignored by greedy,
 * epsilon-greedy and Boltzmann). */
static void ref_probs(long double *p, reco_explorer_rule rule, long double eps, long double tau,
                      size_t K, const float *q, size_t C)
{
    size_t order[512];
    assert_true(C <= 512);
    const size_t n = ref_rank(order, q, C);
    assert_true(n >= 1);
    const size_t a = order[0];
    for (size_t c = 0; c < C; c++)
        p[c] = 0.0L;
    switch (rule) {
    case RECO_EXPLORER_GREEDY:
        p[a] = 1.0L;
        break;
    case RECO_EXPLORER_EPSILON_GREEDY:
        for (size_t t = 0; t < n; t++)
            p[order[t]] = eps / (long double)n;
        p[a] += 1.0L - eps;
        break;
    case RECO_EXPLORER_TOP_K_SOFTMAX:
    case RECO_EXPLORER_BOLTZMANN: {
        const size_t m = rule == RECO_EXPLORER_BOLTZMANN ? n : K;
        const long double w = rule == RECO_EXPLORER_BOLTZMANN ? 1.0L : eps;
        const long double qmax = q[a];
        long double z = 0.0L;
        for (size_t t = 0; t < m; t++)
            z += expl(((long double)q[order[t]] - qmax) / tau);
        for (size_t t = 0; t < m; t++)
            p[order[t]] = w * expl(((long double)q[order[t]] - qmax) / tau) / z;
        if (rule == RECO_EXPLORER_TOP_K_SOFTMAX)
            p[a] += 1.0L - eps;
        break;
    }
    }
}

/* ---- sampling helpers --------------------------------------------------------------------- */

#define DRAWS 200000
#define BATCH 2000

/* Counts DRAWS selections of the single row q (C columns), in calls of BATCH identical rows
 * (row stride C + 3, to exercise the stride), and checks that every returned probability
 * equals probs()[index] bit for bit and that no draw picked a zero-probability column. */
static void sample_counts(uint64_t *counts, reco_explorer *e, const float *q, size_t C)
{
    const size_t stride = C + 3;
    float *m = buf_bytes(sizeof(float) * BATCH * stride);
    uint32_t *idx = buf_bytes(sizeof(uint32_t) * BATCH);
    float *prob = buf_bytes(sizeof(float) * BATCH);
    float probs[MAXC];
    assert_true(C <= MAXC);
    for (size_t r = 0; r < BATCH; r++) {
        memcpy(m + r * stride, q, C * sizeof(float));
        for (size_t c = C; c < stride; c++)
            m[r * stride + c] = NAN; /* padding: never read */
    }
    assert_int_equal(reco_explorer_probs(probs, e, q, 1, C, C), RECO_OK);
    for (size_t c = 0; c < C; c++)
        counts[c] = 0;
    for (size_t done = 0; done < DRAWS; done += BATCH) {
        int rc = reco_explorer_select(idx, prob, e, m, BATCH, C, stride);
        if (rc != RECO_OK)
            fail_msg("select: %s", reco_error_message());
        for (size_t r = 0; r < BATCH; r++) {
            assert_true(idx[r] < C);
            if (prob[r] != probs[idx[r]])
                fail_msg("prob_out %.9g != probs[%u] %.9g", (double)prob[r], idx[r],
                         (double)probs[idx[r]]);
            assert_true(prob[r] > 0.0f);
            counts[idx[r]]++;
        }
    }
}

/* probs() for the row equals the closed form within 1e-6, and sums to 1 within 1e-6. */
static void check_probs(reco_explorer *e, const float *q, size_t C, const long double *ref)
{
    float p[MAXC];
    assert_int_equal(reco_explorer_probs(p, e, q, 1, C, C), RECO_OK);
    double sum = 0.0;
    for (size_t c = 0; c < C; c++) {
        if (!(fabs((double)p[c] - (double)ref[c]) <= 1e-6))
            fail_msg("probs[%zu] = %.9g, closed form %.9g", c, (double)p[c], (double)ref[c]);
        if (ref[c] == 0.0L)
            assert_true(p[c] == 0.0f);
        sum += p[c];
    }
    assert_true(fabs(sum - 1.0) <= 1e-6);
}

/* Chi-square of counts against ref over the non-zero cells; zero cells must be empty.
 * `df_expected` pins the degrees of freedom the test intends. */
static void check_frequencies(const uint64_t *counts, const long double *ref, size_t C,
                              size_t df_expected)
{
    uint64_t total = 0;
    size_t cells = 0;
    for (size_t c = 0; c < C; c++)
        total += counts[c];
    double stat = 0.0;
    for (size_t c = 0; c < C; c++) {
        if (ref[c] == 0.0L) {
            if (counts[c] != 0)
                fail_msg("column %zu has probability 0 but was drawn %llu times", c,
                         (unsigned long long)counts[c]);
            continue;
        }
        const double e = (double)total * (double)ref[c];
        assert_true(e >= 5.0); /* the chi-square approximation needs this */
        const double d = (double)counts[c] - e;
        stat += d * d / e;
        cells++;
    }
    assert_int_equal(cells - 1, df_expected);
    const double crit = chi2_crit(cells - 1);
    if (!(stat < crit))
        fail_msg("chi-square %.3f >= critical %.2f (df %zu, p = 1e-6)", stat, crit, cells - 1);
}

/* ---- 1. options ---------------------------------------------------------------------------- */

static void test_explorer_options_defaults(void **state)
{
    (void)state;
    const reco_explorer_options m = RECO_EXPLORER_OPTIONS_INIT;
    reco_explorer_options f;
    memset(&f, 0xab, sizeof f);
    assert_int_equal(reco_explorer_options_init(&f, RECO_EXPLORER_OPTIONS_VERSION), RECO_OK);
    /* macro == function, field by field */
    assert_int_equal(m.version, f.version);
    assert_ptr_equal(m.allocator, f.allocator);
    assert_int_equal(m.rule, f.rule);
    assert_int_equal(m.epsilon.kind, f.epsilon.kind);
    assert_true(m.epsilon.start == f.epsilon.start && m.epsilon.end == f.epsilon.end);
    assert_true(m.epsilon.steps == f.epsilon.steps && m.epsilon.rate == f.epsilon.rate);
    assert_int_equal(m.tau.kind, f.tau.kind);
    assert_true(m.tau.start == f.tau.start && m.tau.end == f.tau.end);
    assert_true(m.tau.steps == f.tau.steps && m.tau.rate == f.tau.rate);
    assert_true(m.top_k_fraction == f.top_k_fraction);
    assert_int_equal(m.top_k_count, f.top_k_count);
    assert_true(m.seed == f.seed && m.stream == f.stream);
    assert_int_equal(m.max_candidates, f.max_candidates);
    /* the documented defaults */
    assert_int_equal(m.version, 1);
    assert_null(m.allocator);
    assert_int_equal(m.rule, RECO_EXPLORER_TOP_K_SOFTMAX);
    assert_int_equal(m.epsilon.kind, RECO_SCHEDULE_CONSTANT);
    assert_true(m.epsilon.start == 0.1);
    assert_int_equal(m.tau.kind, RECO_SCHEDULE_CONSTANT);
    assert_true(m.tau.start == 1.0);
    assert_true(m.top_k_fraction == 0.25);
    assert_int_equal(m.top_k_count, 0);
    assert_true(m.seed == 1 && m.stream == 0);
    assert_int_equal(m.max_candidates, 512);
    /* versions */
    assert_reco_error(reco_explorer_options_init(&f, 0), RECO_EVERSION, "reco_explorer_options");
    assert_reco_error(reco_explorer_options_init(&f, 2), RECO_EVERSION, "reco_explorer_options");
    assert_reco_error(reco_explorer_options_init(NULL, 1), RECO_EINVAL,
                      "reco_explorer_options_init: opts is NULL");
    /* NULL options: defaults */
    reco_explorer *e = make(NULL);
    double v;
    assert_int_equal(reco_explorer_get_param(&v, e, RECO_EXPLORER_PARAM_EPSILON), RECO_OK);
    assert_true(v == 0.1);
    assert_int_equal(reco_explorer_get_param(&v, e, RECO_EXPLORER_PARAM_RULE), RECO_OK);
    assert_true(v == RECO_EXPLORER_TOP_K_SOFTMAX);
}

/* Expects create (and workspace_size) to refuse o with `code` and a message containing
 * `needle`, leaving *out NULL and no handle behind. */
static void expect_bad_options(const reco_explorer_options *o, int code, const char *needle)
{
    const size_t live = reco_live_handles();
    reco_explorer *e = (reco_explorer *)&e; /* non-NULL garbage: must become NULL */
    assert_reco_error(reco_explorer_create(&e, o), code, needle);
    assert_null(e);
    assert_true(strstr(reco_error_message(), "reco_explorer_create") != NULL ||
                code == RECO_EVERSION);
    size_t bytes = 7;
    assert_reco_error(reco_explorer_workspace_size(&bytes, o), code, needle);
    assert_int_equal(bytes, 7);
    assert_int_equal(reco_live_handles(), live);
}

static void test_explorer_bad_options(void **state)
{
    (void)state;
    reco_explorer_options o;
#define BAD(stmt, code, needle)                                                                \
    do {                                                                                       \
        OPTS_RESET(&o);                                                                \
        stmt;                                                                                  \
        expect_bad_options(&o, code, needle);                                                  \
    } while (0)
#define OPTS_RESET(p) reco_explorer_options_init((p), RECO_EXPLORER_OPTIONS_VERSION)
    BAD(o.top_k_fraction = 0.0, RECO_EINVAL, "explorer.top_k_fraction");
    BAD(o.top_k_fraction = -0.25, RECO_EINVAL, "top_k_fraction -0.25 is out of range (0, 1]");
    BAD(o.top_k_fraction = 1.0000001, RECO_EINVAL, "explorer.top_k_fraction");
    BAD(o.top_k_fraction = NAN, RECO_EINVAL, "explorer.top_k_fraction");
    BAD(o.epsilon.start = -0.1, RECO_EINVAL, "explorer.epsilon.start");
    BAD(o.epsilon.start = 1.5, RECO_EINVAL, "epsilon start 1.5 is out of range [0, 1]");
    BAD((o.epsilon.kind = RECO_SCHEDULE_LINEAR, o.epsilon.end = -0.01), RECO_EINVAL,
        "explorer.epsilon.end");
    BAD((o.epsilon.kind = RECO_SCHEDULE_LINEAR, o.epsilon.end = 1.01), RECO_EINVAL,
        "explorer.epsilon.end");
    BAD(o.epsilon.start = NAN, RECO_EINVAL, "explorer.epsilon");
    BAD(o.tau.start = 0.0, RECO_EINVAL, "explorer.tau.start");
    BAD(o.tau.start = -1.0, RECO_EINVAL, "tau start -1 is out of range");
    BAD((o.tau.kind = RECO_SCHEDULE_LINEAR, o.tau.end = 0.0), RECO_EINVAL, "explorer.tau.end");
    BAD(o.tau.start = INFINITY, RECO_EINVAL, "explorer.tau");
    BAD(o.rule = (reco_explorer_rule)0, RECO_EINVAL, "explorer.rule");
    BAD(o.rule = (reco_explorer_rule)5, RECO_EINVAL, "rule 5 is not a reco_explorer_rule");
    BAD(o.epsilon.kind = (reco_schedule_kind)9, RECO_EINVAL, "kind 9 is not a reco_schedule_kind");
    BAD((o.epsilon.kind = RECO_SCHEDULE_EXPONENTIAL, o.epsilon.end = 0.01, o.epsilon.rate = 0.0),
        RECO_EINVAL, "exponential rate 0 is not in (0, 1]");
    BAD((o.epsilon.kind = RECO_SCHEDULE_EXPONENTIAL, o.epsilon.end = 0.01, o.epsilon.rate = 1.5),
        RECO_EINVAL, "exponential rate 1.5");
    BAD((o.tau.kind = RECO_SCHEDULE_EXPONENTIAL, o.tau.end = 2.0, o.tau.rate = 0.9), RECO_EINVAL,
        "exponential decay needs end (2) <= start (1)");
    BAD(o.max_candidates = 0, RECO_EINVAL, "explorer.max_candidates");
    BAD(o.max_candidates = (1u << 24) + 1, RECO_EINVAL, "max_candidates 16777217");
    BAD(o.top_k_count = (1u << 24) + 1, RECO_EINVAL, "explorer.top_k_count");
    BAD(o.version = 0, RECO_EVERSION, "version 0 is not supported");
    BAD(o.version = RECO_EXPLORER_OPTIONS_VERSION + 1, RECO_EVERSION, "reco_explorer_options");
    /* a caller's allocator of an unknown version */
    reco_allocator bad_alloc = {99, NULL, NULL, NULL};
    OPTS_RESET(&o);
    o.allocator = &bad_alloc;
    reco_explorer *e = NULL;
    assert_true(reco_explorer_create(&e, &o) < 0);
    assert_null(e);
#undef BAD
#undef OPTS_RESET
    assert_reco_error(reco_explorer_create(NULL, NULL), RECO_EINVAL,
                      "reco_explorer_create: out is NULL");
    assert_reco_error(reco_explorer_workspace_size(NULL, NULL), RECO_EINVAL,
                      "reco_explorer_workspace_size: out is NULL");
    /* boundary values that are accepted */
    reco_explorer_options_init(&o, RECO_EXPLORER_OPTIONS_VERSION);
    o.top_k_fraction = 1.0;
    o.epsilon.start = 0.0;
    o.tau.start = 1e-30;
    o.max_candidates = 1;
    (void)make(&o);
    o.epsilon.start = 1.0;
    o.tau.start = 1e30;
    o.top_k_fraction = 1e-9;
    (void)make(&o);
    reco_explorer_free(NULL); /* accepted */
}

/* ---- 2. bad input --------------------------------------------------------------------------- */

static void expect_bad_call(reco_explorer *e, const float *q, size_t rows, size_t cols,
                            size_t stride, int code, const char *needle)
{
    uint32_t idx[8];
    float prob[8], probs[8 * 16];
    for (size_t i = 0; i < 8; i++) {
        idx[i] = SENTINEL_U;
        prob[i] = SENTINEL_F;
    }
    for (size_t i = 0; i < 8 * 16; i++)
        probs[i] = SENTINEL_F;
    uint64_t step0, step1;
    reco_rng rng0, rng1;
    assert_int_equal(reco_explorer_get_step(&step0, e), RECO_OK);
    assert_int_equal(reco_explorer_get_rng(&rng0, e), RECO_OK);
    assert_reco_error(reco_explorer_select(idx, prob, e, q, rows, cols, stride), code, needle);
    assert_true(strstr(reco_error_message(), "reco_explorer_select") != NULL);
    assert_reco_error(reco_explorer_probs(probs, e, q, rows, cols, stride), code, needle);
    assert_true(strstr(reco_error_message(), "reco_explorer_probs") != NULL);
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(idx[i], SENTINEL_U);
        assert_true(prob[i] == SENTINEL_F);
    }
    for (size_t i = 0; i < 8 * 16; i++)
        assert_true(probs[i] == SENTINEL_F);
    assert_int_equal(reco_explorer_get_step(&step1, e), RECO_OK);
    assert_int_equal(reco_explorer_get_rng(&rng1, e), RECO_OK);
    assert_true(step0 == step1);
    assert_memory_equal(&rng0, &rng1, sizeof rng0);
}

static void test_explorer_bad_input(void **state)
{
    (void)state;
    reco_explorer_options o = opts_rule(RECO_EXPLORER_TOP_K_SOFTMAX, 0.5, 1.0);
    o.max_candidates = 16;
    for (int rule = RECO_EXPLORER_GREEDY; rule <= RECO_EXPLORER_BOLTZMANN; rule++) {
        o.rule = (reco_explorer_rule)rule;
        reco_explorer *e = make(&o);
        float q[4 * 16];
        for (size_t i = 0; i < 4 * 16; i++)
            q[i] = sinf((float)i);
        /* NaN, +inf: named by row and column, wherever they are (the last row here) */
        q[3 * 16 + 7] = NAN;
        expect_bad_call(e, q, 4, 16, 16, RECO_EINVAL, "q[3][7] is NaN");
        q[3 * 16 + 7] = INFINITY;
        expect_bad_call(e, q, 4, 16, 16, RECO_EINVAL, "q[3][7] is +infinity");
        q[3 * 16 + 7] = 0.5f;
        /* a row with every candidate masked */
        for (size_t c = 0; c < 16; c++)
            q[2 * 16 + c] = -INFINITY;
        expect_bad_call(e, q, 4, 16, 16, RECO_EINVAL, "row 2 has no available candidate");
        for (size_t c = 0; c < 16; c++)
            q[2 * 16 + c] = 1.0f;
        /* sizes */
        expect_bad_call(e, q, 0, 16, 16, RECO_EINVAL, "rows is 0");
        expect_bad_call(e, q, 4, 0, 16, RECO_EINVAL, "cols is 0");
        expect_bad_call(e, q, 1, 17, 17, RECO_EINVAL, "cols 17 exceeds max_candidates 16");
        expect_bad_call(e, q, 4, 16, 15, RECO_EINVAL, "row_stride 15 is less than cols 16");
        expect_bad_call(e, q, 3, 4, SIZE_MAX / 2, RECO_EINVAL, "overflow");
        expect_bad_call(e, NULL, 4, 16, 16, RECO_EINVAL, "q is NULL");
        /* NULL outputs and handle */
        float p[16];
        uint32_t idx[4];
        assert_reco_error(reco_explorer_select(NULL, NULL, e, q, 1, 16, 16), RECO_EINVAL,
                          "reco_explorer_select: index_out is NULL");
        assert_reco_error(reco_explorer_select(idx, NULL, NULL, q, 1, 16, 16), RECO_EINVAL,
                          "reco_explorer_select: explorer is NULL");
        assert_reco_error(reco_explorer_probs(NULL, e, q, 1, 16, 16), RECO_EINVAL,
                          "reco_explorer_probs: probs_out is NULL");
        assert_reco_error(reco_explorer_probs(p, NULL, q, 1, 16, 16), RECO_EINVAL,
                          "reco_explorer_probs: explorer is NULL");
        /* and a good call still works afterwards (prob_out may be NULL) */
        assert_int_equal(reco_explorer_select(idx, NULL, e, q, 4, 16, 16), RECO_OK);
    }
}

/* ---- 3. distributions ----------------------------------------------------------------------- */

static void test_explorer_greedy(void **state)
{
    (void)state;
    reco_explorer_options o = opts_rule(RECO_EXPLORER_GREEDY, 0.9, 1.0);
    reco_explorer *e = make(&o);
    /* tied maxima at 2, 5 and 9: the lowest index wins */
    const float q[10] = {0.1f, -3.0f, 4.0f, 1.0f, 3.9f, 4.0f, -INFINITY, 0.0f, 2.0f, 4.0f};
    long double ref[10];
    ref_probs(ref, RECO_EXPLORER_GREEDY, 0.9L, 1.0L, 0, q, 10);
    assert_true(ref[2] == 1.0L);
    check_probs(e, q, 10, ref);
    uint64_t counts[10];
    sample_counts(counts, e, q, 10);
    assert_true(counts[2] == DRAWS);
    /* greedy draws nothing */
    reco_rng r0, r1;
    reco_explorer_get_rng(&r0, e);
    uint32_t idx;
    assert_int_equal(reco_explorer_select(&idx, NULL, e, q, 1, 10, 10), RECO_OK);
    reco_explorer_get_rng(&r1, e);
    assert_memory_equal(&r0, &r1, sizeof r0);
}

/* The argmax is the lowest column among the maxima, for every row length (the scan works
 * eight values at a time plus a tail) and with masked columns: greedy picks the reference's
 * first-ranked column on rows full of ties. */
static void test_explorer_argmax_ties(void **state)
{
    (void)state;
    enum { MAXC_ = 64 };
    reco_explorer_options o = opts_rule(RECO_EXPLORER_GREEDY, 0.0, 1.0);
    reco_explorer *e = make(&o);
    reco_rng r;
    reco_rng_seed(&r, 31, 0);
    float q[MAXC_ * 4];
    uint32_t idx[4];
    float prob[4];
    size_t order[MAXC_];
    for (int trial = 0; trial < 3000; trial++) {
        const size_t C = 1 + (size_t)reco_rng_below(&r, MAXC_);
        for (size_t i = 0; i < 4 * C; i++) {
            const uint64_t v = reco_rng_below(&r, 5);
            q[i] = v == 0 ? -INFINITY : v == 1 ? -0.0f : (float)v; /* -0 == +0: a tie */
            if (trial % 4 == 0 && i % 3 == 0)
                q[i] = 0.0f;
        }
        for (size_t b = 0; b < 4; b++)
            q[b * C + (b * 7) % C] = 1.0f; /* available somewhere */
        assert_int_equal(reco_explorer_select(idx, prob, e, q, 4, C, C), RECO_OK);
        for (size_t b = 0; b < 4; b++) {
            (void)ref_rank(order, q + b * C, C);
            if (idx[b] != order[0])
                fail_msg("trial %d C %zu row %zu: argmax %u, expected %zu", trial, C, b, idx[b],
                         order[0]);
            assert_true(prob[b] == 1.0f);
        }
    }
}

static void test_explorer_epsilon_greedy_distribution(void **state)
{
    (void)state;
    reco_explorer_options o = opts_rule(RECO_EXPLORER_EPSILON_GREEDY, 0.3, 1.0);
    reco_explorer *e = make(&o);
    /* tie between columns 1 and 3 (1 is the argmax); column 6 masked: n = 9 */
    const float q[10] = {0.5f, 2.0f, -1.0f, 2.0f, 0.1f, 1.9f, -INFINITY, 0.0f, -5.0f, 1.0f};
    long double ref[10];
    ref_probs(ref, RECO_EXPLORER_EPSILON_GREEDY, 0.3L, 1.0L, 0, q, 10);
    assert_true(fabsl(ref[1] - (0.7L + 0.3L / 9)) < 1e-15L);
    assert_true(fabsl(ref[3] - 0.3L / 9) < 1e-15L);
    assert_true(ref[6] == 0.0L);
    check_probs(e, q, 10, ref);
    uint64_t counts[10];
    sample_counts(counts, e, q, 10);
    /* 9 available cells: df 8, critical 42.70 at p = 1e-6 */
    check_frequencies(counts, ref, 10, 8);
}

static void test_explorer_top_k_softmax_distribution(void **state)
{
    (void)state;
    /* C = 16, fraction 0.25: K = 4. Ranked: 3.0 (col 1), 2.5 (col 3), then 2.0 at cols 4, 7,
     * 10 tied at the boundary: cols 4 and 7 are in, 10 is out (lower index first). */
    const float q[16] = {1.0f, 3.0f, 0.5f, 2.5f, 2.0f, -1.0f, 0.0f, 2.0f,
                         1.5f, -2.0f, 2.0f, 1.9f, 0.25f, -0.5f, 1.0f, 0.0f};
    for (int pass = 0; pass < 2; pass++) {
        reco_explorer_options o = opts_rule(RECO_EXPLORER_TOP_K_SOFTMAX, 0.5, 0.7);
        if (pass == 1) { /* the same K as a count */
            o.top_k_fraction = 0.9;
            o.top_k_count = 4;
        }
        reco_explorer *e = make(&o);
        uint32_t K;
        assert_int_equal(reco_explorer_top_k(&K, e, 16), RECO_OK);
        assert_int_equal(K, 4);
        long double ref[16];
        ref_probs(ref, RECO_EXPLORER_TOP_K_SOFTMAX, 0.5L, 0.7L, 4, q, 16);
        assert_true(ref[10] == 0.0L && ref[4] > 0.0L && ref[7] > 0.0L);
        assert_true(fabsl(ref[4] - ref[7]) < 1e-18L); /* softmax: equal values, equal mass */
        check_probs(e, q, 16, ref);
        uint64_t counts[16];
        sample_counts(counts, e, q, 16);
        /* 4 support cells: df 3, critical 30.66 at p = 1e-6 */
        check_frequencies(counts, ref, 16, 3);
    }
}

static void test_explorer_top_k_one_is_greedy(void **state)
{
    (void)state;
    const float q[12] = {0.0f, 1.0f, 5.0f, 2.0f, 5.0f, 4.0f, 3.0f, -1.0f, 0.5f, 4.9f, 1.0f, 2.0f};
    reco_explorer_options o = opts_rule(RECO_EXPLORER_TOP_K_SOFTMAX, 1.0, 1.0);
    o.top_k_count = 1;
    reco_explorer *e = make(&o);
    long double ref[12];
    ref_probs(ref, RECO_EXPLORER_GREEDY, 0.0L, 1.0L, 0, q, 12);
    check_probs(e, q, 12, ref);
    uint64_t counts[12];
    sample_counts(counts, e, q, 12);
    assert_true(counts[2] == DRAWS);
    /* the fraction route to K = 1: ceil(0.05 * 12) = 1 */
    assert_int_equal(reco_explorer_set_param(e, RECO_EXPLORER_PARAM_TOP_K_FRACTION, 0.05),
                     RECO_OK);
    check_probs(e, q, 12, ref);
}

static void test_explorer_top_k_all(void **state)
{
    (void)state;
    /* K = C: a softmax over every candidate in the epsilon branch */
    const float q[8] = {0.3f, -0.2f, 1.1f, 0.9f, 1.1f, -1.0f, 0.0f, 0.6f};
    for (int pass = 0; pass < 2; pass++) {
        reco_explorer_options o = opts_rule(RECO_EXPLORER_TOP_K_SOFTMAX, 0.6, 0.5);
        if (pass == 0)
            o.top_k_fraction = 1.0;
        else
            o.top_k_count = 100; /* more than C: clamped to C */
        reco_explorer *e = make(&o);
        long double ref[8];
        ref_probs(ref, RECO_EXPLORER_TOP_K_SOFTMAX, 0.6L, 0.5L, 8, q, 8);
        check_probs(e, q, 8, ref);
        uint64_t counts[8];
        sample_counts(counts, e, q, 8);
        /* 8 cells: df 7, critical 40.52 at p = 1e-6 */
        check_frequencies(counts, ref, 8, 7);
    }
}

static void test_explorer_boltzmann_distribution(void **state)
{
    (void)state;
    reco_explorer_options o = opts_rule(RECO_EXPLORER_BOLTZMANN, 0.0, 0.8);
    reco_explorer *e = make(&o);
    const float q[7] = {0.2f, 1.0f, -0.4f, 1.0f, 0.7f, -INFINITY, 0.1f};
    long double ref[7];
    ref_probs(ref, RECO_EXPLORER_BOLTZMANN, 0.0L, 0.8L, 0, q, 7);
    check_probs(e, q, 7, ref);
    uint64_t counts[7];
    sample_counts(counts, e, q, 7);
    /* 6 available cells: df 5, critical 35.89 at p = 1e-6 */
    check_frequencies(counts, ref, 7, 5);
    /* epsilon plays no part */
    assert_int_equal(reco_explorer_set_param(e, RECO_EXPLORER_PARAM_EPSILON, 1.0), RECO_OK);
    check_probs(e, q, 7, ref);
}

static void test_explorer_masked_candidates(void **state)
{
    (void)state;
    /* -inf columns get probability exactly 0 and are never drawn, under every rule, even
     * with eps = 1 (all exploration); K counts only the available candidates (n = 8 of 12,
     * fraction 0.5: K = 4). */
    const float q[12] = {-INFINITY, 0.4f, 2.0f, -INFINITY, 1.0f, 0.9f,
                         -INFINITY, -0.3f, 1.5f, 0.0f, -INFINITY, 0.8f};
    for (int rule = RECO_EXPLORER_GREEDY; rule <= RECO_EXPLORER_BOLTZMANN; rule++) {
        reco_explorer_options o = opts_rule((reco_explorer_rule)rule, 1.0, 0.6);
        o.top_k_fraction = 0.5;
        reco_explorer *e = make(&o);
        uint32_t K;
        assert_int_equal(reco_explorer_top_k(&K, e, 8), RECO_OK);
        assert_int_equal(K, 4);
        long double ref[12];
        ref_probs(ref, (reco_explorer_rule)rule, 1.0L, 0.6L, 4, q, 12);
        check_probs(e, q, 12, ref);
        uint64_t counts[12];
        sample_counts(counts, e, q, 12);
        static const size_t df[5] = {0, 0, 7, 3, 7};
        if (rule == RECO_EXPLORER_GREEDY)
            assert_true(counts[2] == DRAWS);
        else
            check_frequencies(counts, ref, 12, df[rule]);
    }
}

static void test_explorer_tau_to_zero(void **state)
{
    (void)state;
    /* tau = 1e-6 with large Q: the softmax becomes the argmax (tied maxima share it), with no
     * overflow or NaN; the weights of the rest underflow to exactly 0. */
    const float q[6] = {1.0e6f, 999999.9375f, 1.0e6f, -3.0e38f, 2.0e5f, 3.0e4f};
    for (int rule = RECO_EXPLORER_TOP_K_SOFTMAX; rule <= RECO_EXPLORER_BOLTZMANN; rule++) {
        reco_explorer_options o = opts_rule((reco_explorer_rule)rule, 1.0, 1e-6);
        o.top_k_fraction = 1.0;
        reco_explorer *e = make(&o);
        float p[6];
        assert_int_equal(reco_explorer_probs(p, e, q, 1, 6, 6), RECO_OK);
        for (size_t c = 0; c < 6; c++)
            assert_false(isnan(p[c]));
        assert_true(p[0] == 0.5f && p[2] == 0.5f);
        assert_true(p[1] == 0.0f && p[3] == 0.0f && p[4] == 0.0f && p[5] == 0.0f);
        uint64_t counts[6];
        sample_counts(counts, e, q, 6);
        assert_true(counts[0] + counts[2] == DRAWS);
        /* binomial(200000, 1/2): 6 standard deviations is 1342 */
        assert_true(llabs((long long)counts[0] - DRAWS / 2) < 1342);
        /* the smallest temperature accepted */
        assert_int_equal(reco_explorer_set_param(e, RECO_EXPLORER_PARAM_TAU, 1e-30), RECO_OK);
        assert_int_equal(reco_explorer_probs(p, e, q, 1, 6, 6), RECO_OK);
        assert_true(p[0] == 0.5f && p[2] == 0.5f && p[1] == 0.0f);
    }
    /* and with a unique maximum, the top-K softmax at eps = 1 is exactly greedy */
    const float q2[4] = {3.0e38f, -3.0e38f, 2.9e38f, 0.0f};
    reco_explorer_options o = opts_rule(RECO_EXPLORER_TOP_K_SOFTMAX, 1.0, 1e-6);
    o.top_k_fraction = 1.0;
    reco_explorer *e = make(&o);
    float p[4];
    assert_int_equal(reco_explorer_probs(p, e, q2, 1, 4, 4), RECO_OK);
    assert_true(p[0] == 1.0f && p[1] == 0.0f && p[2] == 0.0f && p[3] == 0.0f);
}

static void test_explorer_huge_q(void **state)
{
    (void)state;
    /* Values near 1e37, one float ulp (2^99) apart, with tau = 2^99: a naive exp(q / tau)
     * overflows (inf / inf = NaN); subtracting the maximum gives exp(-k). -3e38 is 3.1e38
     * below the maximum. */
    float q[6];
    q[0] = 1.0e37f;
    for (size_t c = 1; c < 5; c++)
        q[c] = nextafterf(q[c - 1], 0.0f);
    q[5] = -3.0e38f;
    const double ulp = (double)q[0] - (double)q[1];
    assert_true(ulp == ldexp(1.0, 99));
    for (int rule = RECO_EXPLORER_TOP_K_SOFTMAX; rule <= RECO_EXPLORER_BOLTZMANN; rule++) {
        reco_explorer_options o = opts_rule((reco_explorer_rule)rule, 0.8, ulp);
        o.top_k_fraction = 1.0;
        reco_explorer *e = make(&o);
        long double ref[6];
        ref_probs(ref, (reco_explorer_rule)rule, 0.8L, (long double)ulp, 6, q, 6);
        assert_true(ref[5] == 0.0L);
        /* the closed form is exp(-k) / sum over k = 0..4 (times eps, plus 1 - eps) */
        long double z = 0.0L;
        for (int k = 0; k < 5; k++)
            z += expl(-(long double)k);
        const long double w = rule == RECO_EXPLORER_BOLTZMANN ? 1.0L : 0.8L;
        assert_true(fabsl(ref[3] - w * expl(-3.0L) / z) < 1e-15L);
        check_probs(e, q, 6, ref);
        uint64_t counts[6];
        sample_counts(counts, e, q, 6);
        /* column 5 has probability exp(-6e38 / 2^104) = 0 exactly: 5 cells, df 4, critical
         * 33.38 at p = 1e-6 */
        check_frequencies(counts, ref, 6, 4);
    }
}

/* Random Q matrices: for every rule and several K, the returned probability equals
 * probs()[index] exactly, the chosen index is never masked, and every row sums to 1. */
static void test_explorer_prob_out_and_sums(void **state)
{
    (void)state;
    enum { B = 64, C = 200, S = 203 };
    float *q = buf_bytes(sizeof(float) * B * S);
    float *probs = buf_bytes(sizeof(float) * B * C);
    uint32_t idx[B];
    float prob[B];
    reco_rng r;
    reco_rng_seed(&r, 77, 0);
    static const double fractions[4] = {0.01, 0.25, 0.6, 1.0};
    for (int rule = RECO_EXPLORER_GREEDY; rule <= RECO_EXPLORER_BOLTZMANN; rule++) {
        for (int f = 0; f < 4; f++) {
            reco_explorer_options o = opts_rule((reco_explorer_rule)rule, 0.35, 0.3);
            o.top_k_fraction = fractions[f];
            reco_explorer *e = make(&o);
            for (int round = 0; round < 5; round++) {
                for (size_t i = 0; i < (size_t)B * S; i++) {
                    /* integers in [-6, 6) give many ties; 10% masked */
                    const double u = reco_rng_uniform(&r);
                    q[i] = u < 0.1 ? -INFINITY : (float)((int)reco_rng_below(&r, 12) - 6);
                    if (round == 4)
                        q[i] = u < 0.1 ? -INFINITY : (float)reco_rng_normal(&r);
                }
                for (size_t b = 0; b < B; b++)
                    q[b * S + b % C] = 0.5f; /* at least one available per row */
                assert_int_equal(reco_explorer_probs(probs, e, q, B, C, S), RECO_OK);
                assert_int_equal(reco_explorer_select(idx, prob, e, q, B, C, S), RECO_OK);
                for (size_t b = 0; b < B; b++) {
                    double sum = 0.0;
                    for (size_t c = 0; c < C; c++) {
                        const float p = probs[b * C + c];
                        assert_true(p >= 0.0f && p <= 1.0f);
                        if (isinf(q[b * S + c]))
                            assert_true(p == 0.0f);
                        sum += p;
                    }
                    if (!(fabs(sum - 1.0) <= 1e-6))
                        fail_msg("rule %d row %zu sums to %.9g", rule, b, sum);
                    assert_true(idx[b] < C);
                    assert_false(isinf(q[b * S + idx[b]]));
                    if (prob[b] != probs[b * C + idx[b]])
                        fail_msg("rule %d row %zu: prob_out %.9g != probs %.9g", rule, b,
                                 (double)prob[b], (double)probs[b * C + idx[b]]);
                }
            }
        }
    }
}

/* For C = 500, K = 125, Q with many ties: the support of the top-K softmax (the non-zero
 * probabilities at eps = 1) is exactly the first K of the reference ranking. */
static void test_explorer_top_k_set_matches_sort(void **state)
{
    (void)state;
    enum { C = 500 };
    float q[C];
    float p[C];
    size_t order[C];
    reco_rng r;
    reco_rng_seed(&r, 5, 0);
    reco_explorer_options o = opts_rule(RECO_EXPLORER_TOP_K_SOFTMAX, 1.0, 1e30);
    reco_explorer *e = make(&o);
    for (int trial = 0; trial < 300; trial++) {
        const unsigned levels = trial % 3 == 0 ? 3 : trial % 3 == 1 ? 40 : 100000;
        for (size_t c = 0; c < C; c++)
            q[c] = (float)reco_rng_below(&r, levels);
        if (trial % 5 == 0) /* sorted and reversed runs, a classic quickselect stress */
            for (size_t c = 0; c < C; c++)
                q[c] = (float)(trial % 10 == 0 ? c : C - c) / 7.0f;
        if (trial % 7 == 0)
            for (size_t c = 0; c < C; c += 3)
                q[c] = -INFINITY;
        const size_t n = ref_rank(order, q, C);
        uint32_t K;
        assert_int_equal(reco_explorer_top_k(&K, e, n), RECO_OK);
        assert_int_equal(K, (uint32_t)ceil(0.25 * (double)n - 1e-6));
        assert_int_equal(reco_explorer_probs(p, e, q, 1, C, C), RECO_OK);
        unsigned char in[C] = {0};
        for (size_t t = 0; t < K; t++)
            in[order[t]] = 1;
        for (size_t c = 0; c < C; c++) {
            if ((p[c] > 0.0f) != (in[c] != 0))
                fail_msg("trial %d: column %zu (q %g) support %d, reference %d", trial, c,
                         (double)q[c], p[c] > 0.0f, in[c]);
        }
    }
}

/* ---- 4. K, schedules, knobs ---------------------------------------------------------------- */

static void test_explorer_k_rounding(void **state)
{
    (void)state;
    reco_explorer_options o = RECO_EXPLORER_OPTIONS_INIT;
    reco_explorer *e = make(&o);
    uint32_t K;
    struct {
        double f;
        size_t n;
        uint32_t k;
    } cases[] = {
        {0.25, 500, 125}, {0.25, 10, 3},   {0.25, 4, 1},  {0.25, 1, 1},  {0.25, 3, 1},
        {0.25, 5, 2},     {0.1, 30, 3},    {0.1, 31, 4},  {0.3, 10, 3},  {1.0, 7, 7},
        {1e-9, 1000, 1},  {0.999, 1000, 999}, {0.7, 10, 7}, {0.5, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(reco_explorer_set_param(e, RECO_EXPLORER_PARAM_TOP_K_FRACTION,
                                                 cases[i].f),
                         RECO_OK);
        assert_int_equal(reco_explorer_top_k(&K, e, cases[i].n), RECO_OK);
        if (K != cases[i].k)
            fail_msg("f %g n %zu: K %u, expected %u", cases[i].f, cases[i].n, K, cases[i].k);
    }
    /* a count overrides the fraction and is clamped to n */
    assert_int_equal(reco_explorer_set_param(e, RECO_EXPLORER_PARAM_TOP_K_COUNT, 7), RECO_OK);
    assert_int_equal(reco_explorer_top_k(&K, e, 500), RECO_OK);
    assert_int_equal(K, 7);
    assert_int_equal(reco_explorer_top_k(&K, e, 5), RECO_OK);
    assert_int_equal(K, 5);
    /* setting the fraction clears the count */
    assert_int_equal(reco_explorer_set_param(e, RECO_EXPLORER_PARAM_TOP_K_FRACTION, 0.5),
                     RECO_OK);
    assert_int_equal(reco_explorer_top_k(&K, e, 500), RECO_OK);
    assert_int_equal(K, 250);
    assert_reco_error(reco_explorer_top_k(&K, e, 0), RECO_EINVAL, "n_available is 0");
    assert_reco_error(reco_explorer_top_k(NULL, e, 3), RECO_EINVAL, "reco_explorer_top_k");
}

static double sched(reco_schedule_kind kind, double start, double end, uint64_t steps,
                    double rate, uint64_t t)
{
    const reco_explorer_schedule s = {kind, start, end, steps, rate};
    double v = -1.0;
    int rc = reco_explorer_schedule_value(&v, &s, t);
    if (rc != RECO_OK)
        fail_msg("schedule_value: %s", reco_error_message());
    return v;
}

static void test_explorer_schedules(void **state)
{
    (void)state;
    /* constant */
    assert_true(sched(RECO_SCHEDULE_CONSTANT, 0.3, 0.9, 10, 0.5, 0) == 0.3);
    assert_true(sched(RECO_SCHEDULE_CONSTANT, 0.3, 0.9, 10, 0.5, UINT64_MAX) == 0.3);
    /* linear 1.0 -> 0.1 over 100 steps, then 0.1 */
    assert_true(sched(RECO_SCHEDULE_LINEAR, 1.0, 0.1, 100, 1.0, 0) == 1.0);
    assert_near(sched(RECO_SCHEDULE_LINEAR, 1.0, 0.1, 100, 1.0, 50), 0.55, 1e-12);
    assert_near(sched(RECO_SCHEDULE_LINEAR, 1.0, 0.1, 100, 1.0, 99), 0.109, 1e-12);
    assert_true(sched(RECO_SCHEDULE_LINEAR, 1.0, 0.1, 100, 1.0, 100) == 0.1);
    assert_true(sched(RECO_SCHEDULE_LINEAR, 1.0, 0.1, 100, 1.0, 1000000) == 0.1);
    assert_true(sched(RECO_SCHEDULE_LINEAR, 1.0, 0.1, 0, 1.0, 0) == 0.1); /* steps 0: end */
    /* increasing */
    assert_near(sched(RECO_SCHEDULE_LINEAR, 0.5, 2.5, 4, 1.0, 1), 1.0, 1e-12);
    assert_true(sched(RECO_SCHEDULE_LINEAR, 0.5, 2.5, 4, 1.0, 7) == 2.5);
    /* exponential 1.0 * 0.99^t floored at 0.05: 0.99^t = 0.05 at t = 298.07 */
    assert_true(sched(RECO_SCHEDULE_EXPONENTIAL, 1.0, 0.05, 0, 0.99, 0) == 1.0);
    assert_near(sched(RECO_SCHEDULE_EXPONENTIAL, 1.0, 0.05, 0, 0.99, 10), pow(0.99, 10),
                       1e-12);
    assert_near(sched(RECO_SCHEDULE_EXPONENTIAL, 1.0, 0.05, 0, 0.99, 298),
                       pow(0.99, 298), 1e-12);
    assert_true(sched(RECO_SCHEDULE_EXPONENTIAL, 1.0, 0.05, 0, 0.99, 299) == 0.05);
    assert_true(sched(RECO_SCHEDULE_EXPONENTIAL, 1.0, 0.05, 0, 0.99, UINT64_MAX) == 0.05);
    /* half-life 10 steps: rate 0.5^(1/10) */
    assert_near(sched(RECO_SCHEDULE_EXPONENTIAL, 2.0, 0.0, 0, pow(0.5, 0.1), 10), 1.0,
                       1e-12);
    assert_true(sched(RECO_SCHEDULE_EXPONENTIAL, 2.0, 0.0, 0, 1.0, 1000) == 2.0);
    /* malformed schedules */
    reco_explorer_schedule s = {(reco_schedule_kind)0, 1.0, 1.0, 0, 1.0};
    double v;
    assert_reco_error(reco_explorer_schedule_value(&v, &s, 0), RECO_EINVAL,
                      "reco_explorer_schedule_value: kind 0");
    s.kind = RECO_SCHEDULE_LINEAR;
    s.end = NAN;
    assert_reco_error(reco_explorer_schedule_value(&v, &s, 0), RECO_EINVAL, "end nan");
    assert_reco_error(reco_explorer_schedule_value(NULL, &s, 0), RECO_EINVAL, "out is NULL");
    assert_reco_error(reco_explorer_schedule_value(&v, NULL, 0), RECO_EINVAL,
                      "schedule is NULL");

    /* in an explorer: each select is one step; probs does not advance it */
    reco_explorer_options o = opts_rule(RECO_EXPLORER_EPSILON_GREEDY, 0.0, 1.0);
    o.epsilon.kind = RECO_SCHEDULE_LINEAR;
    o.epsilon.start = 1.0;
    o.epsilon.end = 0.0;
    o.epsilon.steps = 4;
    o.tau.kind = RECO_SCHEDULE_EXPONENTIAL;
    o.tau.start = 8.0;
    o.tau.end = 1.0;
    o.tau.rate = 0.5;
    reco_explorer *e = make(&o);
    const float q[3] = {0.0f, 1.0f, 0.5f};
    float p[3];
    uint32_t idx[5];
    uint64_t step;
    static const double eps_at[6] = {1.0, 0.75, 0.5, 0.25, 0.0, 0.0};
    static const double tau_at[6] = {8.0, 4.0, 2.0, 1.0, 1.0, 1.0};
    for (uint64_t t = 0; t < 6; t++) {
        assert_int_equal(reco_explorer_get_step(&step, e), RECO_OK);
        assert_true(step == t);
        assert_int_equal(reco_explorer_get_param(&v, e, RECO_EXPLORER_PARAM_EPSILON), RECO_OK);
        assert_true(v == eps_at[t]);
        assert_int_equal(reco_explorer_get_param(&v, e, RECO_EXPLORER_PARAM_TAU), RECO_OK);
        assert_true(v == tau_at[t]);
        assert_int_equal(reco_explorer_probs(p, e, q, 1, 3, 3), RECO_OK);
        assert_near(p[1], 1.0 - eps_at[t] + eps_at[t] / 3.0, 1e-7);
        assert_near(p[0], eps_at[t] / 3.0, 1e-7);
        assert_int_equal(reco_explorer_select(idx, NULL, e, q, 1, 3, 3), RECO_OK);
    }
    /* a batch of 5 rows is one step */
    assert_int_equal(reco_explorer_select(idx, NULL, e, q, 1, 3, 0 + 3), RECO_OK);
    float q5[15];
    for (size_t i = 0; i < 15; i++)
        q5[i] = (float)i;
    assert_int_equal(reco_explorer_select(idx, NULL, e, q5, 5, 3, 3), RECO_OK);
    assert_int_equal(reco_explorer_get_step(&step, e), RECO_OK);
    assert_true(step == 8);
    /* resume: set_step moves the schedules */
    assert_int_equal(reco_explorer_set_step(e, 2), RECO_OK);
    assert_int_equal(reco_explorer_get_param(&v, e, RECO_EXPLORER_PARAM_EPSILON), RECO_OK);
    assert_true(v == 0.5);
    assert_int_equal(reco_explorer_set_step(e, UINT64_MAX), RECO_OK);
    assert_int_equal(reco_explorer_select(idx, NULL, e, q, 1, 3, 3), RECO_OK);
    assert_int_equal(reco_explorer_get_step(&step, e), RECO_OK);
    assert_true(step == UINT64_MAX); /* saturates */
    /* reset: step 0 */
    assert_int_equal(reco_explorer_reset(e), RECO_OK);
    assert_int_equal(reco_explorer_get_step(&step, e), RECO_OK);
    assert_true(step == 0);
    assert_reco_error(reco_explorer_set_step(NULL, 1), RECO_EINVAL, "reco_explorer_set_step");
    assert_reco_error(reco_explorer_get_step(NULL, e), RECO_EINVAL, "reco_explorer_get_step");
    assert_reco_error(reco_explorer_reset(NULL), RECO_EINVAL, "reco_explorer_reset");
}

static void test_explorer_params(void **state)
{
    (void)state;
    double lo, hi, v;
    static const struct {
        reco_explorer_param p;
        double lo, hi;
    } bounds[] = {
        {RECO_EXPLORER_PARAM_EPSILON, 0.0, 1.0},
        {RECO_EXPLORER_PARAM_TAU, 1e-30, 1e30},
        {RECO_EXPLORER_PARAM_TOP_K_FRACTION, 1e-9, 1.0},
        {RECO_EXPLORER_PARAM_TOP_K_COUNT, 0.0, 16777216.0},
        {RECO_EXPLORER_PARAM_RULE, 1.0, 4.0},
    };
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(reco_explorer_param_bounds(&lo, &hi, bounds[i].p), RECO_OK);
        assert_true(lo == bounds[i].lo && hi == bounds[i].hi);
    }
    assert_reco_error(reco_explorer_param_bounds(&lo, &hi, (reco_explorer_param)0), RECO_EINVAL,
                      "unknown parameter 0");
    assert_reco_error(reco_explorer_param_bounds(&lo, &hi, (reco_explorer_param)6), RECO_EINVAL,
                      "unknown parameter 6");
    assert_reco_error(reco_explorer_param_bounds(NULL, &hi, RECO_EXPLORER_PARAM_TAU),
                      RECO_EINVAL, "min_out is NULL");

    reco_explorer_options o = opts_rule(RECO_EXPLORER_TOP_K_SOFTMAX, 0.2, 2.0);
    o.epsilon.kind = RECO_SCHEDULE_LINEAR;
    o.epsilon.start = 0.2;
    o.epsilon.end = 0.0;
    o.epsilon.steps = 10;
    reco_explorer *e = make(&o);
    /* an override replaces the schedule until reset */
    assert_int_equal(reco_explorer_set_param(e, RECO_EXPLORER_PARAM_EPSILON, 0.7), RECO_OK);
    assert_int_equal(reco_explorer_set_step(e, 5), RECO_OK);
    assert_int_equal(reco_explorer_get_param(&v, e, RECO_EXPLORER_PARAM_EPSILON), RECO_OK);
    assert_true(v == 0.7);
    assert_int_equal(reco_explorer_set_param(e, RECO_EXPLORER_PARAM_TAU, 0.25), RECO_OK);
    assert_int_equal(reco_explorer_get_param(&v, e, RECO_EXPLORER_PARAM_TAU), RECO_OK);
    assert_true(v == 0.25);
    assert_int_equal(reco_explorer_set_param(e, RECO_EXPLORER_PARAM_RULE, 2), RECO_OK);
    assert_int_equal(reco_explorer_get_param(&v, e, RECO_EXPLORER_PARAM_RULE), RECO_OK);
    assert_true(v == 2.0);
    assert_int_equal(reco_explorer_set_param(e, RECO_EXPLORER_PARAM_TOP_K_COUNT, 3), RECO_OK);
    assert_int_equal(reco_explorer_get_param(&v, e, RECO_EXPLORER_PARAM_TOP_K_COUNT), RECO_OK);
    assert_true(v == 3.0);
    /* the rule change takes effect: epsilon-greedy over 4 candidates at eps 0.7 */
    const float q[4] = {0.0f, 1.0f, 2.0f, 3.0f};
    float p[4];
    assert_int_equal(reco_explorer_probs(p, e, q, 1, 4, 4), RECO_OK);
    assert_near(p[0], 0.7 / 4, 1e-7);
    assert_near(p[3], 0.3 + 0.7 / 4, 1e-7);
    /* bad values change nothing */
    assert_reco_error(reco_explorer_set_param(e, RECO_EXPLORER_PARAM_EPSILON, 1.5), RECO_EINVAL,
                      "out of range [0, 1]");
    assert_reco_error(reco_explorer_set_param(e, RECO_EXPLORER_PARAM_EPSILON, -0.1),
                      RECO_EINVAL, "reco_explorer_set_param");
    assert_reco_error(reco_explorer_set_param(e, RECO_EXPLORER_PARAM_TAU, 0.0), RECO_EINVAL,
                      "out of range");
    assert_reco_error(reco_explorer_set_param(e, RECO_EXPLORER_PARAM_TAU, NAN), RECO_EINVAL,
                      "out of range");
    assert_reco_error(reco_explorer_set_param(e, RECO_EXPLORER_PARAM_TOP_K_FRACTION, 0.0),
                      RECO_EINVAL, "out of range");
    assert_reco_error(reco_explorer_set_param(e, RECO_EXPLORER_PARAM_TOP_K_COUNT, 2.5),
                      RECO_EINVAL, "needs an integer");
    assert_reco_error(reco_explorer_set_param(e, RECO_EXPLORER_PARAM_RULE, 0), RECO_EINVAL,
                      "out of range [1, 4]");
    assert_reco_error(reco_explorer_set_param(e, (reco_explorer_param)9, 0), RECO_EINVAL,
                      "unknown parameter 9");
    assert_reco_error(reco_explorer_set_param(NULL, RECO_EXPLORER_PARAM_TAU, 1), RECO_EINVAL,
                      "explorer is NULL");
    assert_reco_error(reco_explorer_get_param(&v, e, (reco_explorer_param)9), RECO_EINVAL,
                      "unknown parameter 9");
    assert_reco_error(reco_explorer_get_param(NULL, e, RECO_EXPLORER_PARAM_TAU), RECO_EINVAL,
                      "out is NULL");
    assert_int_equal(reco_explorer_get_param(&v, e, RECO_EXPLORER_PARAM_EPSILON), RECO_OK);
    assert_true(v == 0.7);
    assert_int_equal(reco_explorer_get_param(&v, e, RECO_EXPLORER_PARAM_TOP_K_COUNT), RECO_OK);
    assert_true(v == 3.0);
    /* reset restores the options: the schedule at step 0, the rule, K */
    assert_int_equal(reco_explorer_reset(e), RECO_OK);
    assert_int_equal(reco_explorer_get_param(&v, e, RECO_EXPLORER_PARAM_EPSILON), RECO_OK);
    assert_true(v == 0.2);
    assert_int_equal(reco_explorer_set_step(e, 5), RECO_OK);
    assert_int_equal(reco_explorer_get_param(&v, e, RECO_EXPLORER_PARAM_EPSILON), RECO_OK);
    assert_near(v, 0.1, 1e-15);
    assert_int_equal(reco_explorer_get_param(&v, e, RECO_EXPLORER_PARAM_RULE), RECO_OK);
    assert_true(v == RECO_EXPLORER_TOP_K_SOFTMAX);
    assert_int_equal(reco_explorer_get_param(&v, e, RECO_EXPLORER_PARAM_TOP_K_COUNT), RECO_OK);
    assert_true(v == 0.0);
    assert_int_equal(reco_explorer_get_param(&v, e, RECO_EXPLORER_PARAM_TAU), RECO_OK);
    assert_true(v == 2.0);
}

/* ---- 5. determinism, streams, memory ------------------------------------------------------- */

static void fill_random(float *q, size_t n, uint64_t seed)
{
    reco_rng r;
    reco_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n; i++)
        q[i] = (float)reco_rng_normal(&r);
}

static void test_explorer_determinism(void **state)
{
    (void)state;
    enum { B = 100, C = 50 };
    float *q = buf_bytes(sizeof(float) * B * C);
    fill_random(q, (size_t)B * C, 3);
    uint32_t a[B], b[B];
    float pa[B], pb[B];
    for (int rule = RECO_EXPLORER_GREEDY; rule <= RECO_EXPLORER_BOLTZMANN; rule++) {
        reco_explorer_options o = opts_rule((reco_explorer_rule)rule, 0.5, 0.5);
        o.stream = 3;
        reco_explorer *e1 = make(&o), *e2 = make(&o);
        for (int round = 0; round < 3; round++) {
            assert_int_equal(reco_explorer_select(a, pa, e1, q, B, C, C), RECO_OK);
            /* prob_out NULL must not change the draws */
            assert_int_equal(reco_explorer_select(b, round == 1 ? NULL : pb, e2, q, B, C, C),
                             RECO_OK);
            assert_memory_equal(a, b, sizeof a);
            if (round != 1)
                assert_memory_equal(pa, pb, sizeof pa);
        }
        /* rows are processed in order with a fixed number of draws each: two calls of 40 and
         * 60 rows give what one call of 100 gives (constant schedules) */
        reco_rng snap;
        assert_int_equal(reco_explorer_get_rng(&snap, e1), RECO_OK);
        assert_int_equal(reco_explorer_select(a, pa, e1, q, B, C, C), RECO_OK);
        assert_int_equal(reco_explorer_set_rng(e2, &snap), RECO_OK);
        assert_int_equal(reco_explorer_select(b, pb, e2, q, 40, C, C), RECO_OK);
        assert_int_equal(reco_explorer_select(b + 40, pb + 40, e2, q + 40 * C, 60, C, C),
                         RECO_OK);
        assert_memory_equal(a, b, sizeof a);
        assert_memory_equal(pa, pb, sizeof pa);
        /* reset replays from the start */
        assert_int_equal(reco_explorer_reset(e1), RECO_OK);
        assert_int_equal(reco_explorer_reset(e2), RECO_OK);
        reco_explorer *e3 = make(&o);
        assert_int_equal(reco_explorer_select(a, pa, e1, q, B, C, C), RECO_OK);
        assert_int_equal(reco_explorer_select(b, pb, e3, q, B, C, C), RECO_OK);
        assert_memory_equal(a, b, sizeof a);
    }
    reco_rng zero = {{0, 0, 0, 0}};
    assert_reco_error(reco_explorer_set_rng(tracked[0], &zero), RECO_EINVAL, "all zero");
    assert_reco_error(reco_explorer_set_rng(tracked[0], NULL), RECO_EINVAL, "rng is NULL");
    assert_reco_error(reco_explorer_get_rng(NULL, tracked[0]), RECO_EINVAL, "out is NULL");
}

static void test_explorer_stream_independence(void **state)
{
    (void)state;
    /* epsilon-greedy, eps 0.5 over 100 candidates: two independent streams agree on a row
     * with probability sum_i p_i^2 = 0.505^2 + 99 * 0.005^2 = 0.257500. Over 20000 rows the
     * agreement rate has sd 0.0031; 6 sd = 0.0185. Identical streams would agree always, and
     * correlated branch decisions would move the rate. */
    enum { B = 2000, C = 100, ROUNDS = 10 };
    float *q = buf_bytes(sizeof(float) * B * C);
    fill_random(q, (size_t)B * C, 11);
    uint32_t *a = buf_bytes(sizeof(uint32_t) * B), *b = buf_bytes(sizeof(uint32_t) * B);
    reco_explorer_options o = opts_rule(RECO_EXPLORER_EPSILON_GREEDY, 0.5, 1.0);
    o.stream = 0;
    reco_explorer *e0 = make(&o);
    o.stream = 1;
    reco_explorer *e1 = make(&o);
    size_t agree = 0, explore_both = 0, explore0 = 0, explore1 = 0;
    for (int round = 0; round < ROUNDS; round++) {
        assert_int_equal(reco_explorer_select(a, NULL, e0, q, B, C, C), RECO_OK);
        assert_int_equal(reco_explorer_select(b, NULL, e1, q, B, C, C), RECO_OK);
        for (size_t r = 0; r < B; r++) {
            size_t amax = 0;
            for (size_t c = 1; c < C; c++)
                if (q[r * C + c] > q[r * C + amax])
                    amax = c;
            const int x0 = a[r] != amax, x1 = b[r] != amax;
            agree += a[r] == b[r];
            explore0 += x0;
            explore1 += x1;
            explore_both += x0 && x1;
        }
    }
    const double n = (double)B * ROUNDS;
    const double rate = (double)agree / n;
    if (!(fabs(rate - 0.2575) < 0.0185))
        fail_msg("streams agree on %.4f of rows, expected 0.2575", rate);
    /* "off the argmax" happens w.p. 0.495 in each stream; both: 0.245025 if independent
     * (sd 0.0030 over 20000 rows; 6 sd = 0.018) */
    assert_true(fabs((double)explore0 / n - 0.495) < 0.0212);
    assert_true(fabs((double)explore1 / n - 0.495) < 0.0212);
    assert_true(fabs((double)explore_both / n - 0.245025) < 0.018);
}

/* Allocator that counts calls and bytes, and fails the fail_at-th call (0 = never). */
typedef struct counting {
    size_t allocs, frees, bytes, fail_at, attempts;
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

static void test_explorer_zero_allocation(void **state)
{
    (void)state;
    enum { B = 256, C = 500 };
    float *q = buf_bytes(sizeof(float) * B * C);
    float *probs = buf_bytes(sizeof(float) * B * C);
    fill_random(q, (size_t)B * C, 9);
    for (size_t i = 0; i < (size_t)B * C; i += 17)
        q[i] = -INFINITY;
    uint32_t idx[B];
    float prob[B];
    counting c = {0};
    reco_allocator a = {RECO_ALLOCATOR_VERSION, counting_alloc, counting_free, &c};
    reco_explorer_options o = opts_rule(RECO_EXPLORER_TOP_K_SOFTMAX, 0.3, 0.5);
    o.allocator = &a;
    const size_t live = reco_live_handles();
    reco_explorer *e = NULL;
    assert_int_equal(reco_explorer_create(&e, &o), RECO_OK);
    assert_int_equal(reco_live_handles(), live + 1);
    size_t ws = 0;
    assert_int_equal(reco_explorer_workspace_size(&ws, &o), RECO_OK);
    assert_int_equal(c.allocs, 1);
    assert_int_equal(c.bytes, ws);
    assert_true(ws >= (size_t)o.max_candidates * 16);
    const size_t after_create = c.attempts;
    for (int rule = RECO_EXPLORER_GREEDY; rule <= RECO_EXPLORER_BOLTZMANN; rule++) {
        assert_int_equal(reco_explorer_set_param(e, RECO_EXPLORER_PARAM_RULE, rule), RECO_OK);
        assert_int_equal(reco_explorer_select(idx, prob, e, q, B, C, C), RECO_OK);
        assert_int_equal(reco_explorer_select(idx, NULL, e, q, B, C, C), RECO_OK);
        assert_int_equal(reco_explorer_probs(probs, e, q, B, C, C), RECO_OK);
    }
    assert_int_equal(reco_explorer_set_param(e, RECO_EXPLORER_PARAM_TAU, 0.1), RECO_OK);
    assert_int_equal(reco_explorer_reset(e), RECO_OK);
    q[5] = NAN;
    assert_int_equal(reco_explorer_select(idx, prob, e, q, B, C, C), RECO_EINVAL);
    assert_int_equal(c.attempts, after_create);
    reco_explorer_free(e);
    assert_int_equal(c.frees, c.allocs);
    assert_int_equal(reco_live_handles(), live);
    /* a failing allocator: ENOMEM, nothing to free, nothing leaked */
    counting f = {0};
    f.fail_at = 1;
    reco_allocator fa = {RECO_ALLOCATOR_VERSION, counting_alloc, counting_free, &f};
    o.allocator = &fa;
    e = (reco_explorer *)&e;
    assert_int_equal(reco_explorer_create(&e, &o), RECO_ENOMEM);
    assert_null(e);
    assert_int_equal(f.allocs, f.frees);
    assert_int_equal(reco_live_handles(), live);
}

static void test_explorer_row_stride(void **state)
{
    (void)state;
    /* the same rows, contiguous and with a stride whose padding holds NaN (never read) */
    enum { B = 30, C = 40, S = 57 };
    float *dense = buf_bytes(sizeof(float) * B * C);
    float *strided = buf_bytes(sizeof(float) * B * S);
    fill_random(dense, (size_t)B * C, 21);
    for (size_t r = 0; r < B; r++)
        for (size_t c = 0; c < S; c++)
            strided[r * S + c] = c < C ? dense[r * C + c] : NAN;
    float pd[B * C], ps[B * C], prd[B], prs[B];
    uint32_t id[B], is[B];
    for (int rule = RECO_EXPLORER_GREEDY; rule <= RECO_EXPLORER_BOLTZMANN; rule++) {
        reco_explorer_options o = opts_rule((reco_explorer_rule)rule, 0.4, 0.7);
        reco_explorer *e1 = make(&o), *e2 = make(&o);
        assert_int_equal(reco_explorer_probs(pd, e1, dense, B, C, C), RECO_OK);
        assert_int_equal(reco_explorer_probs(ps, e2, strided, B, C, S), RECO_OK);
        assert_memory_equal(pd, ps, sizeof pd);
        assert_int_equal(reco_explorer_select(id, prd, e1, dense, B, C, C), RECO_OK);
        assert_int_equal(reco_explorer_select(is, prs, e2, strided, B, C, S), RECO_OK);
        assert_memory_equal(id, is, sizeof id);
        assert_memory_equal(prd, prs, sizeof prd);
    }
}

/* ---- 6. the quickselect itself ------------------------------------------------------------- */

static int cmp_float(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void test_explorer_kth_largest(void **state)
{
    (void)state;
    enum { N = 700 };
    float a[N], sorted[N], b[N], tmp[N], tmp2[N];
    reco_rng r;
    reco_rng_seed(&r, 99, 0);
    for (int trial = 0; trial < 600; trial++) {
        const size_t n = 1 + (size_t)reco_rng_below(&r, trial < 100 ? 8 : N);
        const int pattern = trial % 6;
        for (size_t i = 0; i < n; i++) {
            switch (pattern) {
            case 0: a[i] = (float)reco_rng_normal(&r); break;
            case 1: a[i] = (float)reco_rng_below(&r, 4); break; /* heavy ties */
            case 2: a[i] = (float)i; break;                     /* sorted */
            case 3: a[i] = (float)(n - i); break;               /* reversed */
            case 4: a[i] = 1.5f; break;                         /* all equal */
            default: a[i] = (float)(i < n / 2 ? i : n - i); break; /* organ pipe */
            }
        }
        memcpy(sorted, a, n * sizeof(float));
        qsort(sorted, n, sizeof(float), cmp_float);
        const size_t k = 1 + (size_t)reco_rng_below(&r, n);
        const float want = sorted[n - k];
        size_t want_greater = 0, want_equal = 0;
        for (size_t i = 0; i < n; i++) {
            want_greater += a[i] > want;
            want_equal += a[i] == want;
        }
        /* the normal budget, and 0 and 1 passes to force the heapsort fallback */
        const unsigned limits[3] = {reco__explorer_depth_limit(n), 0, 1};
        for (int l = 0; l < 3; l++) {
            memcpy(b, a, n * sizeof(float));
            size_t greater = SIZE_MAX, equal = SIZE_MAX;
            const float v = reco__explorer_kth_largest(&greater, &equal, b, tmp, tmp2, n, k,
                                                       limits[l]);
            if (v != want || greater != want_greater || equal != want_equal)
                fail_msg("trial %d (pattern %d, n %zu, k %zu, limit %u): %g (%zu greater, %zu "
                         "equal), expected %g (%zu, %zu)",
                         trial, pattern, n, k, limits[l], (double)v, greater, equal,
                         (double)want, want_greater, want_equal);
        }
    }
    assert_int_equal(reco__explorer_depth_limit(1), 8);
    assert_int_equal(reco__explorer_depth_limit(500), 2 * 8 + 8);
}

static void test_explorer_exp(void **state)
{
    (void)state;
    /* the softmax weights' exponential against libm, over its whole range */
    assert_true(reco__explorer_exp_neg(0.0f) == 1.0f);
    assert_true(reco__explorer_exp_neg(-0.0f) == 1.0f);
    assert_true(reco__explorer_exp_neg(-87.0001f) == 0.0f);
    assert_true(reco__explorer_exp_neg(-1e30f) == 0.0f);
    assert_true(reco__explorer_exp_neg(-INFINITY) == 0.0f);
    double worst = 0.0;
    for (int i = 0; i <= 2000000; i++) {
        const float x = -87.0f * (float)i / 2000000.0f;
        const double want = exp((double)x);
        const double got = reco__explorer_exp_neg(x);
        const double rel = fabs(got - want) / want;
        if (rel > worst)
            worst = rel;
    }
    if (!(worst < 3e-7))
        fail_msg("worst relative error %.3g", worst);
    /* monotone on a fine grid near 0 (the weights of close Q-values keep their order) */
    float prev = 1.0f;
    for (int i = 1; i <= 100000; i++) {
        const float v = reco__explorer_exp_neg(-1e-5f * (float)i);
        assert_true(v <= prev);
        prev = v;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_explorer_options_defaults, teardown),
        cmocka_unit_test_teardown(test_explorer_bad_options, teardown),
        cmocka_unit_test_teardown(test_explorer_bad_input, teardown),
        cmocka_unit_test_teardown(test_explorer_greedy, teardown),
        cmocka_unit_test_teardown(test_explorer_argmax_ties, teardown),
        cmocka_unit_test_teardown(test_explorer_epsilon_greedy_distribution, teardown),
        cmocka_unit_test_teardown(test_explorer_top_k_softmax_distribution, teardown),
        cmocka_unit_test_teardown(test_explorer_top_k_one_is_greedy, teardown),
        cmocka_unit_test_teardown(test_explorer_top_k_all, teardown),
        cmocka_unit_test_teardown(test_explorer_boltzmann_distribution, teardown),
        cmocka_unit_test_teardown(test_explorer_masked_candidates, teardown),
        cmocka_unit_test_teardown(test_explorer_tau_to_zero, teardown),
        cmocka_unit_test_teardown(test_explorer_huge_q, teardown),
        cmocka_unit_test_teardown(test_explorer_prob_out_and_sums, teardown),
        cmocka_unit_test_teardown(test_explorer_top_k_set_matches_sort, teardown),
        cmocka_unit_test_teardown(test_explorer_k_rounding, teardown),
        cmocka_unit_test_teardown(test_explorer_schedules, teardown),
        cmocka_unit_test_teardown(test_explorer_params, teardown),
        cmocka_unit_test_teardown(test_explorer_determinism, teardown),
        cmocka_unit_test_teardown(test_explorer_stream_independence, teardown),
        cmocka_unit_test_teardown(test_explorer_zero_allocation, teardown),
        cmocka_unit_test_teardown(test_explorer_row_stride, teardown),
        cmocka_unit_test_teardown(test_explorer_kth_largest, teardown),
        cmocka_unit_test_teardown(test_explorer_exp, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
