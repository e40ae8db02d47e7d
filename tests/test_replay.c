/* reco_replay (lib/replay.c): sampling distributions (chi-square at p = 1e-6 with fixed
 * seeds), exact IS weights and beta schedule, stratification, window reconstruction across
 * ring wrap-around, priority updates by index with stale-index detection, the sum-tree
 * against its leaves, guard rails, zero allocation in the hot calls, save/load, and
 * generator threads adding while a learner samples (meaningful under -Db_sanitize=thread).
 *
 * Every sampled row is checked against an oracle: the test computes each transition's
 * expected state, action, reward, next state and done from the segments it added, keyed by
 * the index that reco_replay_add_segment() returned. */
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test_common.h"
#include "file_private.h"
#include "replay_private.h"

/* Chi-square critical values at p = 1e-6, by degrees of freedom. */
#define CHI2_DF7 40.52
#define CHI2_DF9 44.81

/* ---- helpers ------------------------------------------------------------------------------ */

static reco_replay_options opts_of(uint32_t kind, uint64_t capacity, uint64_t records,
                                   uint32_t L)
{
    reco_replay_options o = RECO_REPLAY_OPTIONS_INIT;
    o.kind = kind;
    o.capacity = capacity;
    o.record_capacity = records;
    o.lookback = L;
    o.seed = 7;
    return o;
}

static reco_replay *new_replay(const reco_replay_options *o)
{
    reco_replay *r = NULL;
    int rc = reco_replay_create(&r, o);
    if (rc != RECO_OK)
        fail_msg("reco_replay_create: %s", reco_error_message());
    return r;
}

static double pchi(const uint64_t *counts, const double *probs, size_t bins)
{
    uint64_t total = 0;
    for (size_t i = 0; i < bins; i++)
        total += counts[i];
    double stat = 0.0;
    for (size_t i = 0; i < bins; i++) {
        const double e = (double)total * probs[i];
        stat += ((double)counts[i] - e) * ((double)counts[i] - e) / e;
    }
    return stat;
}

#define assert_chi_square_below(stat, crit)                                                    \
    do {                                                                                       \
        const double stat_ = (stat);                                                           \
        if (!(stat_ < (crit)))                                                                 \
            fail_msg("chi-square %.3f >= critical %.2f (%s)", stat_, (double)(crit), #stat);   \
    } while (0)

#define assert_rel(value, expected, rel)                                                       \
    do {                                                                                       \
        const double v_ = (value), e_ = (expected);                                            \
        if (!(fabs(v_ - e_) <= (rel)*fabs(e_)))                                                \
            fail_msg("%s = %.9g, expected %.9g (relative tolerance %.1g)", #value, v_, e_,     \
                     (double)(rel));                                                           \
    } while (0)

/* What every stored transition must look like, by index. */
typedef struct oracle {
    uint32_t L;
    size_t cap;
    uint64_t n; /* indices known: 0..n-1 */
    int32_t *s_items, *n_items, *action;
    uint32_t *s_fb, *n_fb;
    float *reward;
    uint8_t *done;
    /* the session context (oracle_new_ctx), else NULL */
    int ctx;
    uint32_t U, H;
    float *user, *s_el, *n_el;
    int32_t *long_items;
    uint32_t *long_fb, *s_steps, *n_steps;
} oracle;

static oracle *oracle_new(uint32_t L, size_t cap)
{
    oracle *o = calloc(1, sizeof *o);
    o->L = L;
    o->cap = cap;
    o->s_items = malloc(cap * L * sizeof(int32_t));
    o->n_items = malloc(cap * L * sizeof(int32_t));
    o->s_fb = malloc(cap * L * sizeof(uint32_t));
    o->n_fb = malloc(cap * L * sizeof(uint32_t));
    o->action = malloc(cap * sizeof(int32_t));
    o->reward = malloc(cap * sizeof(float));
    o->done = malloc(cap * sizeof(uint8_t));
    return o;
}

/* An oracle of a buffer with a session context of U user features and H long-term items. */
static oracle *oracle_new_ctx(uint32_t L, uint32_t U, uint32_t H, size_t cap)
{
    oracle *o = oracle_new(L, cap);
    o->ctx = 1;
    o->U = U;
    o->H = H;
    o->user = calloc(cap * U + 1, sizeof(float));
    o->long_items = calloc(cap * H + 1, sizeof(int32_t));
    o->long_fb = calloc(cap * H + 1, sizeof(uint32_t));
    o->s_steps = calloc(cap, sizeof(uint32_t));
    o->n_steps = calloc(cap, sizeof(uint32_t));
    o->s_el = calloc(cap, sizeof(float));
    o->n_el = calloc(cap, sizeof(float));
    return o;
}

static void oracle_free(oracle *o)
{
    free(o->user);
    free(o->long_items);
    free(o->long_fb);
    free(o->s_steps);
    free(o->n_steps);
    free(o->s_el);
    free(o->n_el);
    free(o->s_items);
    free(o->n_items);
    free(o->s_fb);
    free(o->n_fb);
    free(o->action);
    free(o->reward);
    free(o->done);
    free(o);
}

/* The window of the `count` interactions of seq[0..end) that end at `end`, left-padded. */
static void window_of(int32_t *items, uint32_t *fb, uint32_t L, const int32_t *seq_items,
                      const uint32_t *seq_fb, size_t end)
{
    for (uint32_t q = 0; q < L; q++) {
        const long k = (long)end - (long)L + (long)q;
        items[q] = k < 0 ? RECO_PAD : seq_items[k];
        fb[q] = k < 0 || seq_items[k] == RECO_PAD ? 0 : seq_fb[k];
    }
}

/* Records the expected transitions of `seg`, whose first index is `first`. */
static void oracle_add(oracle *o, uint64_t first, const reco_replay_segment *seg)
{
    const uint32_t h = seg->history_len, n = seg->n_steps, L = o->L;
    int32_t *si = malloc((h + n) * sizeof(int32_t));
    uint32_t *sf = malloc((h + n) * sizeof(uint32_t));
    for (uint32_t k = 0; k < h; k++) {
        si[k] = seg->history_items[k];
        sf[k] = seg->history_feedback[k];
    }
    for (uint32_t j = 0; j < n; j++) {
        si[h + j] = seg->items[j];
        sf[h + j] = seg->feedback[j];
    }
    for (uint32_t j = 0; j < n; j++) {
        const uint64_t i = first + j;
        assert_true(i < o->cap);
        window_of(o->s_items + i * L, o->s_fb + i * L, L, si, sf, h + j);
        window_of(o->n_items + i * L, o->n_fb + i * L, L, si, sf, h + j + 1);
        o->action[i] = seg->items[j];
        o->reward[i] = seg->rewards[j];
        o->done[i] = (uint8_t)(j + 1 == n && seg->ends_session);
        if (!o->ctx)
            continue;
        /* a version-1 segment: first step 0, elapsed 0, zero features, pads */
        const int v2 = seg->version >= 2;
        o->s_steps[i] = (v2 ? seg->first_step : 0) + j;
        o->n_steps[i] = o->s_steps[i] + 1;
        o->s_el[i] = v2 && seg->elapsed != NULL ? seg->elapsed[j] : 0.0f;
        o->n_el[i] = v2 && seg->elapsed != NULL ? seg->elapsed[j + 1] : 0.0f;
        for (uint32_t q = 0; q < o->U; q++)
            o->user[i * o->U + q] = v2 ? seg->user_features[q] : 0.0f;
        for (uint32_t q = 0; q < o->H; q++) {
            o->long_items[i * o->H + q] = v2 ? seg->long_items[q] : RECO_PAD;
            o->long_fb[i * o->H + q] =
                v2 && seg->long_items[q] != RECO_PAD ? seg->long_feedback[q] : 0;
        }
    }
    if (first + n > o->n)
        o->n = first + n;
    free(si);
    free(sf);
}

/* Caller-side batch buffers for up to `cap` rows of window length L. */
typedef struct bufs {
    uint32_t L, cap;
    uint64_t *idx;
    int32_t *s_items, *n_items, *act;
    uint32_t *s_fb, *n_fb;
    float *rew, *w, *prob;
    uint8_t *done;
    /* context outputs (bufs_new_ctx), else NULL */
    uint32_t U, H;
    float *user, *s_el, *n_el;
    int32_t *long_items;
    uint32_t *long_fb, *s_steps, *n_steps;
    reco_replay_batch b;
} bufs;

static bufs *bufs_new(uint32_t L, uint32_t cap)
{
    bufs *x = calloc(1, sizeof *x);
    x->L = L;
    x->cap = cap;
    x->idx = malloc(cap * sizeof(uint64_t));
    x->s_items = malloc((size_t)cap * L * sizeof(int32_t));
    x->n_items = malloc((size_t)cap * L * sizeof(int32_t));
    x->s_fb = malloc((size_t)cap * L * sizeof(uint32_t));
    x->n_fb = malloc((size_t)cap * L * sizeof(uint32_t));
    x->act = malloc(cap * sizeof(int32_t));
    x->rew = malloc(cap * sizeof(float));
    x->w = malloc(cap * sizeof(float));
    x->prob = malloc(cap * sizeof(float));
    x->done = malloc(cap);
    reco_replay_batch b = RECO_REPLAY_BATCH_INIT;
    b.indices = x->idx;
    b.state_items = x->s_items;
    b.state_feedback = x->s_fb;
    b.actions = x->act;
    b.rewards = x->rew;
    b.next_items = x->n_items;
    b.next_feedback = x->n_fb;
    b.done = x->done;
    b.weights = x->w;
    b.probabilities = x->prob;
    x->b = b;
    return x;
}

/* bufs_new() with every context output, for U user features and H long-term items. */
static bufs *bufs_new_ctx(uint32_t L, uint32_t U, uint32_t H, uint32_t cap)
{
    bufs *x = bufs_new(L, cap);
    x->U = U;
    x->H = H;
    x->user = malloc(((size_t)cap * U + 1) * sizeof(float));
    x->long_items = malloc(((size_t)cap * H + 1) * sizeof(int32_t));
    x->long_fb = malloc(((size_t)cap * H + 1) * sizeof(uint32_t));
    x->s_steps = malloc(cap * sizeof(uint32_t));
    x->n_steps = malloc(cap * sizeof(uint32_t));
    x->s_el = malloc(cap * sizeof(float));
    x->n_el = malloc(cap * sizeof(float));
    x->b.user_features = x->user;
    x->b.long_items = x->long_items;
    x->b.long_feedback = x->long_fb;
    x->b.state_steps = x->s_steps;
    x->b.next_steps = x->n_steps;
    x->b.state_elapsed = x->s_el;
    x->b.next_elapsed = x->n_el;
    return x;
}

static void bufs_free(bufs *x)
{
    free(x->user);
    free(x->long_items);
    free(x->long_fb);
    free(x->s_steps);
    free(x->n_steps);
    free(x->s_el);
    free(x->n_el);
    free(x->idx);
    free(x->s_items);
    free(x->n_items);
    free(x->s_fb);
    free(x->n_fb);
    free(x->act);
    free(x->rew);
    free(x->w);
    free(x->prob);
    free(x->done);
    free(x);
}

/* Number of rows of `x` (n of them) that differ from the oracle; 0 is a pass. */
static size_t oracle_mismatches(const oracle *o, const bufs *x, uint32_t n)
{
    const uint32_t L = o->L;
    size_t bad = 0;
    for (uint32_t b = 0; b < n; b++) {
        const uint64_t i = x->idx[b];
        if (i >= o->n) {
            bad++;
            continue;
        }
        if (memcmp(x->s_items + (size_t)b * L, o->s_items + i * L, L * sizeof(int32_t)) ||
            memcmp(x->s_fb + (size_t)b * L, o->s_fb + i * L, L * sizeof(uint32_t)) ||
            memcmp(x->n_items + (size_t)b * L, o->n_items + i * L, L * sizeof(int32_t)) ||
            memcmp(x->n_fb + (size_t)b * L, o->n_fb + i * L, L * sizeof(uint32_t)) ||
            x->act[b] != o->action[i] || x->rew[b] != o->reward[i] || x->done[b] != o->done[i])
            bad++;
        else if (o->ctx && x->s_steps != NULL &&
                 (x->s_steps[b] != o->s_steps[i] || x->n_steps[b] != o->n_steps[i] ||
                  x->s_el[b] != o->s_el[i] || x->n_el[b] != o->n_el[i] ||
                  memcmp(x->user + (size_t)b * o->U, o->user + i * o->U,
                         o->U * sizeof(float)) ||
                  memcmp(x->long_items + (size_t)b * o->H, o->long_items + i * o->H,
                         o->H * sizeof(int32_t)) ||
                  memcmp(x->long_fb + (size_t)b * o->H, o->long_fb + i * o->H,
                         o->H * sizeof(uint32_t))))
            bad++;
    }
    return bad;
}

static uint64_t add(reco_replay *r, oracle *o, const int32_t *hi, const uint32_t *hf,
                    uint32_t h, const int32_t *items, const uint32_t *fb, const float *rew,
                    uint32_t n, int ends)
{
    reco_replay_segment s = RECO_REPLAY_SEGMENT_INIT;
    s.history_len = h;
    s.history_items = hi;
    s.history_feedback = hf;
    s.n_steps = n;
    s.items = items;
    s.feedback = fb;
    s.rewards = rew;
    s.ends_session = ends;
    uint64_t first = UINT64_MAX;
    int rc = reco_replay_add_segment(&first, r, &s);
    if (rc != RECO_OK)
        fail_msg("reco_replay_add_segment: %s", reco_error_message());
    if (o != NULL)
        oracle_add(o, first, &s);
    return first;
}

/* Encoded interactions: item of step k of session s, its feedback and reward. */
static int32_t item_of(uint32_t s, uint32_t k)
{
    return (int32_t)(s * 64u + k);
}

static uint32_t fb_of(int32_t item)
{
    return (uint32_t)item % 13u;
}

static float reward_of(int32_t item)
{
    return (float)(item % 101) - 50.0f;
}

/* Adds session `s` of `len` steps in segments of at most `seg_max` steps, each with the
 * last L interactions before it as history. */
static void add_session(reco_replay *r, oracle *o, uint32_t s, uint32_t len, uint32_t seg_max,
                        uint32_t L)
{
    int32_t items[64], hist[512];
    uint32_t fb[64], hfb[512];
    float rew[64];
    assert_true(len <= 64 && L <= 512);
    for (uint32_t k0 = 0; k0 < len; k0 += seg_max) {
        const uint32_t n = len - k0 < seg_max ? len - k0 : seg_max;
        const uint32_t h = k0 < L ? k0 : L;
        for (uint32_t q = 0; q < h; q++) {
            hist[q] = item_of(s, k0 - h + q);
            hfb[q] = fb_of(hist[q]);
        }
        for (uint32_t j = 0; j < n; j++) {
            items[j] = item_of(s, k0 + j);
            fb[j] = fb_of(items[j]);
            rew[j] = reward_of(items[j]);
        }
        add(r, o, hist, hfb, h, items, fb, rew, n, k0 + n == len);
    }
}

static void sample_ok(reco_replay *r, bufs *x, uint32_t n)
{
    int rc = reco_replay_sample(&x->b, r, n);
    if (rc != RECO_OK)
        fail_msg("reco_replay_sample: %s", reco_error_message());
}

static void set_priorities(reco_replay *r, const uint64_t *idx, const float *p, size_t n)
{
    size_t updated = 0;
    assert_int_equal(reco_replay_update_priorities(&updated, r, idx, p, n), RECO_OK);
    assert_int_equal(updated, n);
}

/* One segment of n steps with items 0..n-1 and no history; returns its first index. */
static uint64_t add_plain(reco_replay *r, oracle *o, uint32_t n)
{
    int32_t items[256];
    uint32_t fb[256];
    float rew[256];
    assert_true(n <= 256);
    for (uint32_t j = 0; j < n; j++) {
        items[j] = (int32_t)j;
        fb[j] = j & 3u;
        rew[j] = (float)j;
    }
    return add(r, o, NULL, NULL, 0, items, fb, rew, n, 0);
}

static reco_replay_stats stats_of(const reco_replay *r)
{
    reco_replay_stats s = RECO_REPLAY_STATS_INIT;
    assert_int_equal(reco_replay_get_stats(&s, r), RECO_OK);
    return s;
}

/* Checks the sum-tree against its leaves: every node equals the sum of its children in
 * descent order (so the root is exactly the tree-ordered sum of the leaves), the root is
 * within 1e-12 of a plain sum, the min-tree root is the least positive leaf, and every
 * slot outside the stored range weighs 0. */
static void assert_tree_consistent(reco_replay *r)
{
    const reco__replay_store *st = &r->st;
    if (r->kind != RECO_REPLAY_PROPORTIONAL)
        return;
    for (int k = 1; k <= r->n_levels; k++) {
        for (uint64_t i = 0; i < r->level_nodes[k]; i++) {
            double s = 0.0;
            float m = INFINITY;
            const unsigned fan = k == 1 ? RECO__REPLAY_LEAF_FAN : RECO__REPLAY_NODE_FAN;
            for (unsigned j = 0; j < fan; j++) {
                const double c =
                    k == 1 ? (double)st->leaf[i * fan + j] : st->sum[k - 1][i * fan + j];
                const float cm = k == 1 ? (st->leaf[i * fan + j] > 0.0f ? st->leaf[i * fan + j]
                                                                         : INFINITY)
                                        : st->min[k - 1][i * fan + j];
                s += c;
                m = cm < m ? cm : m;
            }
            if (s != st->sum[k][i] || m != st->min[k][i])
                fail_msg("node %llu of level %d: sum %.17g (children %.17g), min %g (%g)",
                         (unsigned long long)i, k, st->sum[k][i], s, (double)st->min[k][i],
                         (double)m);
        }
    }
    double plain = 0.0;
    float least = INFINITY;
    const uint64_t size = st->head - st->tail;
    for (uint64_t s = 0; s < r->Cp; s++) {
        const uint64_t off = (s + r->C - st->tail % r->C) % r->C;
        const int live = s < r->C && off < size;
        if (!live && st->leaf[s] != 0.0f)
            fail_msg("empty slot %llu has weight %g", (unsigned long long)s,
                     (double)st->leaf[s]);
        plain += st->leaf[s];
        if (st->leaf[s] > 0.0f && st->leaf[s] < least)
            least = st->leaf[s];
    }
    assert_rel(reco__replay_total(r), plain, 1e-12);
    assert_true(st->min[r->n_levels][0] == least);
}

/* ---- options -------------------------------------------------------------------------------- */

static void test_replay_options_macro_equals_init(void **state)
{
    (void)state;
    reco_replay_options a = RECO_REPLAY_OPTIONS_INIT, b;
    memset(&b, 0xab, sizeof b);
    assert_int_equal(reco_replay_options_init(&b, RECO_REPLAY_OPTIONS_VERSION), RECO_OK);
    /* field by field: padding bytes are not part of the value */
    assert_int_equal(a.version, b.version);
    assert_ptr_equal(a.allocator, b.allocator);
    assert_int_equal(a.capacity, b.capacity);
    assert_int_equal(a.record_capacity, b.record_capacity);
    assert_int_equal(a.lookback, b.lookback);
    assert_int_equal(a.kind, b.kind);
    assert_int_equal(a.seed, b.seed);
    assert_true(a.alpha == b.alpha && a.beta0 == b.beta0 && a.beta_final == b.beta_final);
    assert_int_equal(a.beta_steps, b.beta_steps);
    assert_true(a.priority_eps == b.priority_eps && a.initial_priority == b.initial_priority);
    assert_null(a.allocator);
    assert_int_equal(a.capacity, 1000000);
    assert_int_equal(a.lookback, 20);
    assert_int_equal(a.kind, RECO_REPLAY_PROPORTIONAL);
    assert_reco_error(reco_replay_options_init(&b, 0), RECO_EVERSION, "version 0");
    assert_int_equal(a.context, b.context);
    assert_int_equal(a.user_dim, b.user_dim);
    assert_int_equal(a.long_len, b.long_len);
    assert_int_equal(a.segment_capacity, b.segment_capacity);
    assert_int_equal(a.context, 0);
    assert_int_equal(a.segment_capacity, 0);
    /* version 1 stops before the context; the rest of the struct is left alone */
    memset(&b, 0xab, sizeof b);
    assert_int_equal(reco_replay_options_init(&b, 1), RECO_OK);
    assert_int_equal(b.version, 1);
    assert_int_equal(b.capacity, 1000000);
    assert_int_equal(b.user_dim, 0xababababu);
    assert_int_equal(b.segment_capacity, 0xababababababababull);
    assert_reco_error(reco_replay_options_init(&b, 3), RECO_EVERSION, "reco_replay_options");
    assert_reco_error(reco_replay_options_init(NULL, 1), RECO_EINVAL, "NULL");
    reco_replay_segment s = RECO_REPLAY_SEGMENT_INIT;
    assert_int_equal(s.version, RECO_REPLAY_SEGMENT_VERSION);
    reco_replay_batch bb = RECO_REPLAY_BATCH_INIT;
    assert_int_equal(bb.version, RECO_REPLAY_BATCH_VERSION);
    assert_null(bb.probabilities);
}

static void test_replay_create_rejects_bad_options(void **state)
{
    (void)state;
    const size_t live = reco_live_handles();
    reco_replay_options o;
    reco_replay *r = (reco_replay *)&o;
#define BAD(mutation, code, needle)                                                            \
    do {                                                                                       \
        o = opts_of(RECO_REPLAY_PROPORTIONAL, 100, 0, 4);                                     \
        mutation;                                                                              \
        r = (reco_replay *)&o;                                                                 \
        assert_reco_error(reco_replay_create(&r, &o), code, needle);                           \
        assert_null(r);                                                                        \
        size_t bytes_;                                                                         \
        assert_reco_error(reco_replay_memory_size(&bytes_, &o), code, needle);                 \
    } while (0)
    BAD(o.capacity = 0, RECO_EINVAL, "replay.capacity");
    BAD(o.capacity = ((uint64_t)1 << 31) + 1, RECO_EINVAL, "replay.capacity");
    BAD(o.record_capacity = 99, RECO_EINVAL, "replay.record_capacity");
    BAD(o.record_capacity = (uint64_t)1 << 32, RECO_EINVAL, "replay.record_capacity");
    BAD(o.lookback = 0, RECO_EINVAL, "replay.lookback");
    BAD(o.lookback = 513, RECO_EINVAL, "replay.lookback");
    BAD(o.kind = 0, RECO_EINVAL, "replay.kind");
    BAD(o.kind = 3, RECO_EINVAL, "unknown kind 3");
    BAD(o.alpha = 1.5f, RECO_EINVAL, "replay.alpha: 1.5 is out of range [0, 1]");
    BAD(o.alpha = NAN, RECO_EINVAL, "replay.alpha");
    BAD(o.beta0 = -0.1f, RECO_EINVAL, "replay.beta0");
    BAD(o.beta_final = 2.0f, RECO_EINVAL, "replay.beta_final");
    BAD(o.beta_steps = ((uint64_t)1 << 53) + 2, RECO_EINVAL, "replay.beta_steps");
    BAD(o.priority_eps = -1e-6f, RECO_EINVAL, "replay.priority_eps");
    BAD(o.priority_eps = INFINITY, RECO_EINVAL, "replay.priority_eps");
    BAD(o.initial_priority = 0.0f, RECO_EINVAL, "replay.initial_priority");
    BAD(o.version = 0, RECO_EVERSION, "reco_replay_options");
    BAD(o.version = 3, RECO_EVERSION, "reco_replay_options");
    BAD(o.user_dim = 65537, RECO_EINVAL, "replay.user_dim");
    BAD(o.long_len = 4097, RECO_EINVAL, "replay.long_len");
    BAD(o.segment_capacity = 101, RECO_EINVAL, "replay.segment_capacity");
#undef BAD
    reco_allocator bad_alloc = RECO_ALLOCATOR_INIT;
    o = opts_of(RECO_REPLAY_PROPORTIONAL, 100, 0, 4);
    o.allocator = &bad_alloc;
    assert_reco_error(reco_replay_create(&r, &o), RECO_EINVAL, "alloc and free");
    assert_null(r);
    assert_reco_error(reco_replay_create(NULL, NULL), RECO_EINVAL, "out is NULL");
    assert_int_equal(reco_live_handles(), live);

    /* NULL options: the defaults (1M transitions, proportional, L = 20) */
    r = new_replay(NULL);
    reco_replay_stats s = stats_of(r);
    assert_int_equal(s.capacity, 1000000);
    assert_int_equal(s.record_capacity, 2000000);
    assert_int_equal(s.size, 0);
    assert_int_equal(reco_live_handles(), live + 1);
    reco_replay_free(r);
    reco_replay_free(NULL);
    assert_int_equal(reco_live_handles(), live);
}

/* ---- storage and windows -------------------------------------------------------------------- */

static void test_replay_window_reconstruction_exact(void **state)
{
    (void)state;
    const uint32_t L = 4;
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 64, 0, L);
    reco_replay *r = new_replay(&o);
    oracle *or = oracle_new(L, 64);
    bufs *x = bufs_new(L, 64);

    /* history with a leading pad (not stored) and a pad in the middle (stored, fb 0) */
    const int32_t hist[4] = {RECO_PAD, 100, RECO_PAD, 102};
    const uint32_t hfb[4] = {9, 1, 7, 3};
    const int32_t items[6] = {10, 11, 12, 13, 14, 15};
    const uint32_t fb[6] = {1, 2, 4, 8, 0xffff, 0};
    const float rew[6] = {0.5f, -1.0f, 2.0f, 0.0f, -3.25f, 1e6f};
    assert_int_equal(add(r, or, hist, hfb, 4, items, fb, rew, 6, 1), 0);
    reco_replay_stats s = stats_of(r);
    assert_int_equal(s.size, 6);
    assert_int_equal(s.records, 3 + 6); /* the leading pad is not stored */

    /* equal priorities and B = size: stratification draws every transition exactly once */
    sample_ok(r, x, 6);
    assert_int_equal(oracle_mismatches(or, x, 6), 0);
    int seen[6] = {0};
    for (int b = 0; b < 6; b++)
        seen[x->idx[b]]++;
    for (int i = 0; i < 6; i++)
        assert_int_equal(seen[i], 1);

    /* spelled out for two rows, independently of the oracle */
    for (int b = 0; b < 6; b++) {
        const int32_t *si = x->s_items + b * L, *ni = x->n_items + b * L;
        const uint32_t *sf = x->s_fb + b * L, *nf = x->n_fb + b * L;
        if (x->idx[b] == 0) {
            const int32_t want_s[4] = {RECO_PAD, 100, RECO_PAD, 102};
            const uint32_t want_sf[4] = {0, 1, 0, 3};
            const int32_t want_n[4] = {100, RECO_PAD, 102, 10};
            const uint32_t want_nf[4] = {1, 0, 3, 1};
            assert_memory_equal(si, want_s, sizeof want_s);
            assert_memory_equal(sf, want_sf, sizeof want_sf);
            assert_memory_equal(ni, want_n, sizeof want_n);
            assert_memory_equal(nf, want_nf, sizeof want_nf);
            assert_int_equal(x->act[b], 10);
            assert_true(x->rew[b] == 0.5f);
            assert_int_equal(x->done[b], 0);
        }
        if (x->idx[b] == 5) {
            const int32_t want_s[4] = {11, 12, 13, 14};
            const uint32_t want_sf[4] = {2, 4, 8, 0xffff};
            const int32_t want_n[4] = {12, 13, 14, 15};
            const uint32_t want_nf[4] = {4, 8, 0xffff, 0};
            assert_memory_equal(si, want_s, sizeof want_s);
            assert_memory_equal(sf, want_sf, sizeof want_sf);
            assert_memory_equal(ni, want_n, sizeof want_n);
            assert_memory_equal(nf, want_nf, sizeof want_nf);
            assert_int_equal(x->act[b], 15);
            assert_true(x->rew[b] == 1e6f);
            assert_int_equal(x->done[b], 1);
        }
        /* next state = state shifted by one, plus the action and its feedback */
        assert_memory_equal(ni, si + 1, (L - 1) * sizeof(int32_t));
        assert_memory_equal(nf, sf + 1, (L - 1) * sizeof(uint32_t));
        assert_int_equal(ni[L - 1], x->act[b]);
    }
    bufs_free(x);
    oracle_free(or);
    reco_replay_free(r);
}

static void test_replay_pads_when_history_is_short(void **state)
{
    (void)state;
    const uint32_t L = 5;
    reco_replay_options o = opts_of(RECO_REPLAY_UNIFORM, 16, 0, L);
    reco_replay *r = new_replay(&o);
    oracle *or = oracle_new(L, 16);
    bufs *x = bufs_new(L, 64);
    const int32_t items[3] = {7, 8, 9};
    const uint32_t fb[3] = {1, 0, 2};
    const float rew[3] = {1, 2, 3};
    add(r, or, NULL, NULL, 0, items, fb, rew, 3, 0); /* no history at all */
    const int32_t hist[1] = {42};
    const uint32_t hfb[1] = {5};
    add(r, or, hist, hfb, 1, items, fb, rew, 2, 1); /* one interaction of history */
    int seen[5] = {0};
    for (int it = 0; it < 20; it++) {
        sample_ok(r, x, 5);
        assert_int_equal(oracle_mismatches(or, x, 5), 0);
        for (int b = 0; b < 5; b++) {
            seen[x->idx[b]]++;
            if (x->idx[b] == 0) {
                for (uint32_t q = 0; q < L; q++)
                    assert_int_equal(x->s_items[b * L + q], RECO_PAD);
                assert_int_equal(x->n_items[b * L + L - 1], 7);
                assert_int_equal(x->n_items[b * L + L - 2], RECO_PAD);
            }
            if (x->idx[b] == 3) {
                assert_int_equal(x->s_items[b * L + L - 1], 42);
                assert_int_equal(x->s_items[b * L + L - 2], RECO_PAD);
            }
            assert_true(x->w[b] == 1.0f);
            assert_true(x->prob[b] == 0.2f);
        }
    }
    for (int i = 0; i < 5; i++)
        assert_true(seen[i] > 0);
    bufs_free(x);
    oracle_free(or);
    reco_replay_free(r);
}

static void test_replay_done_flags(void **state)
{
    (void)state;
    const uint32_t L = 3;
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 32, 0, L);
    reco_replay *r = new_replay(&o);
    oracle *or = oracle_new(L, 32);
    bufs *x = bufs_new(L, 32);
    add_session(r, or, 1, 7, 3, L);  /* segments 3 + 3 + 1: only the last step is done */
    add_session(r, or, 2, 4, 10, L); /* one segment ending the session */
    const int32_t items[2] = {5, 6};
    const uint32_t fb[2] = {0, 0};
    const float rew[2] = {0, 0};
    add(r, or, NULL, NULL, 0, items, fb, rew, 2, 0); /* a segment that does not end it */
    sample_ok(r, x, 13);
    assert_int_equal(oracle_mismatches(or, x, 13), 0);
    int done_count = 0;
    for (int b = 0; b < 13; b++) {
        done_count += x->done[b];
        assert_int_equal(x->done[b], x->idx[b] == 6 || x->idx[b] == 10);
    }
    assert_int_equal(done_count, 2);
    bufs_free(x);
    oracle_free(or);
    reco_replay_free(r);
}

static void test_replay_ring_wrap_around(void **state)
{
    (void)state;
    const uint32_t L = 3;
    /* 10 transitions, 14 records: both rings wrap many times, at odd offsets */
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 10, 14, L);
    reco_replay *r = new_replay(&o);
    oracle *or = oracle_new(L, 4096);
    bufs *x = bufs_new(L, 10);
    reco_rng rng;
    reco_rng_seed(&rng, 3, 0);
    uint32_t s = 0;
    uint64_t added = 0;
    while (added < 2000) {
        const uint32_t len = 1 + (uint32_t)reco_rng_below(&rng, 9);
        const uint32_t seg = 1 + (uint32_t)reco_rng_below(&rng, 4);
        add_session(r, or, s++, len, seg, L);
        added += len;
        reco_replay_stats st = stats_of(r);
        assert_true(st.size <= 10 && st.size >= 1);
        assert_true(st.records <= 14);
        assert_int_equal(st.next_index, added);
        assert_int_equal(st.oldest_index + st.size, st.next_index);
        /* every stored transition, every time: B = size draws each exactly once when the
         * priorities are equal (all new transitions get the same max priority) */
        sample_ok(r, x, (uint32_t)st.size);
        assert_int_equal(oracle_mismatches(or, x, (uint32_t)st.size), 0);
        for (uint64_t b = 0; b < st.size; b++)
            assert_true(x->idx[b] >= st.oldest_index && x->idx[b] < st.next_index);
        assert_tree_consistent(r);
    }
    /* the oldest is overwritten: index 0 is long gone */
    reco_replay_stats st = stats_of(r);
    assert_true(st.oldest_index > 1900);
    assert_true(st.bytes_per_transition > 0);
    bufs_free(x);
    oracle_free(or);
    reco_replay_free(r);
}

static void test_replay_history_heavy_segments_evict_by_records(void **state)
{
    (void)state;
    const uint32_t L = 8;
    /* 32 transitions but only 36 records: segments of 2 steps with 8 history records use
     * 10 records each, so the record ring limits the buffer to 3 such segments */
    reco_replay_options o = opts_of(RECO_REPLAY_UNIFORM, 32, 36, L);
    reco_replay *r = new_replay(&o);
    oracle *or = oracle_new(L, 1024);
    bufs *x = bufs_new(L, 64);
    for (uint32_t s = 0; s < 50; s++)
        add_session(r, or, s, 10, 2, L); /* first segment no history, then 2, 4, 6, 8 */
    reco_replay_stats st = stats_of(r);
    assert_true(st.records <= 36);
    assert_true(st.size < 32);
    assert_int_equal(st.next_index, 500);
    for (int it = 0; it < 50; it++) {
        sample_ok(r, x, (uint32_t)st.size);
        assert_int_equal(oracle_mismatches(or, x, (uint32_t)st.size), 0);
    }
    /* a segment that can never fit is refused and changes nothing */
    st = stats_of(r);
    int32_t items[40] = {0};
    uint32_t fb[40] = {0};
    float rew[40] = {0};
    reco_replay_segment seg = RECO_REPLAY_SEGMENT_INIT;
    seg.n_steps = 33;
    seg.items = items;
    seg.feedback = fb;
    seg.rewards = rew;
    assert_reco_error(reco_replay_add_segment(NULL, r, &seg), RECO_EINVAL, "capacity");
    int32_t hist[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint32_t hfb[8] = {0};
    seg.n_steps = 32;
    seg.history_len = 8;
    seg.history_items = hist;
    seg.history_feedback = hfb;
    assert_reco_error(reco_replay_add_segment(NULL, r, &seg), RECO_EINVAL, "record capacity");
    reco_replay_stats after = stats_of(r);
    assert_memory_equal(&st, &after, sizeof st);
    bufs_free(x);
    oracle_free(or);
    reco_replay_free(r);
}

/* ---- distributions -------------------------------------------------------------------------- */

static void test_replay_proportional_frequencies(void **state)
{
    (void)state;
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 10, 0, 2);
    o.alpha = 0.6f;
    o.seed = 11;
    reco_replay *r = new_replay(&o);
    bufs *x = bufs_new(2, 8);
    /* 3 filler transitions that are then evicted, so the 8 live ones straddle the ring */
    add_plain(r, NULL, 3);
    assert_int_equal(add_plain(r, NULL, 8), 3);
    assert_int_equal(reco_replay_size(r), 8);
    uint64_t idx[8];
    const float pr[8] = {0.5f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f};
    for (int i = 0; i < 8; i++)
        idx[i] = (uint64_t)i + 3;
    set_priorities(r, idx, pr, 8);
    double probs[8], total = 0.0;
    for (int i = 0; i < 8; i++)
        total += probs[i] = pow((double)pr[i] + 1e-6, 0.6);
    for (int i = 0; i < 8; i++)
        probs[i] /= total;
    assert_rel(reco__replay_total(r), total, 1e-6);

    /* B = 1: independent draws, a proper multinomial */
    uint64_t counts[8] = {0};
    for (int it = 0; it < 200000; it++) {
        sample_ok(r, x, 1);
        counts[x->idx[0] - 3]++;
        assert_rel(x->prob[0], probs[x->idx[0] - 3], 1e-6);
    }
    assert_chi_square_below(pchi(counts, probs, 8), CHI2_DF7); /* df 7: 40.52 at p = 1e-6 */

    /* B = 8, stratified: the same marginal frequencies (and a smaller variance, so the same
     * critical value is conservative) */
    memset(counts, 0, sizeof counts);
    for (int it = 0; it < 25000; it++) {
        sample_ok(r, x, 8);
        for (int b = 0; b < 8; b++)
            counts[x->idx[b] - 3]++;
    }
    assert_chi_square_below(pchi(counts, probs, 8), CHI2_DF7);
    for (int i = 0; i < 8; i++) { /* within 5 multinomial standard deviations (stratified
                                   * draws vary less) */
        const double e = 200000.0 * probs[i];
        assert_true(fabs((double)counts[i] - e) <= 5.0 * sqrt(e));
    }
    bufs_free(x);
    reco_replay_free(r);
}

static void test_replay_uniform_is_uniform(void **state)
{
    (void)state;
    reco_replay_options o = opts_of(RECO_REPLAY_UNIFORM, 10, 0, 3);
    reco_replay *r = new_replay(&o);
    oracle *or = oracle_new(3, 64);
    bufs *x = bufs_new(3, 5);
    add_plain(r, or, 7);
    add_plain(r, or, 7); /* evicts the first segment (7 + 7 > 10): 7 stored */
    add_plain(r, or, 3); /* 10 stored, wrapping */
    assert_int_equal(reco_replay_size(r), 10);
    uint64_t counts[10] = {0};
    double probs[10];
    for (int i = 0; i < 10; i++)
        probs[i] = 0.1;
    for (int it = 0; it < 40000; it++) {
        sample_ok(r, x, 5);
        assert_int_equal(oracle_mismatches(or, x, 5), 0);
        for (int b = 0; b < 5; b++) {
            assert_true(x->idx[b] >= 7 && x->idx[b] < 17);
            counts[x->idx[b] - 7]++;
            assert_true(x->w[b] == 1.0f);
            assert_true(x->prob[b] == 0.1f);
        }
    }
    assert_chi_square_below(pchi(counts, probs, 10), CHI2_DF9); /* df 9: 44.81 */
    /* priorities are checked and ignored */
    const uint64_t idx[2] = {8, 2};
    const float p[2] = {100.0f, 1.0f};
    size_t updated = 99;
    assert_int_equal(reco_replay_update_priorities(&updated, r, idx, p, 2), RECO_OK);
    assert_int_equal(updated, 1);
    const float nan_p[1] = {NAN};
    assert_reco_error(reco_replay_update_priorities(NULL, r, idx, nan_p, 1), RECO_EINVAL,
                      "priorities[0]");
    bufs_free(x);
    oracle_free(or);
    reco_replay_free(r);
}

static void test_replay_is_weights_match_formula(void **state)
{
    (void)state;
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 16, 0, 2);
    o.alpha = 0.5f;
    o.priority_eps = 0.0f;
    o.beta0 = 0.5f;
    o.beta_final = 0.5f;
    reco_replay *r = new_replay(&o);
    bufs *x = bufs_new(2, 4);
    add_plain(r, NULL, 4);
    const uint64_t idx[4] = {0, 1, 2, 3};
    const float pr[4] = {1.0f, 4.0f, 9.0f, 16.0f}; /* p^0.5 = 1, 2, 3, 4; total 10 */
    set_priorities(r, idx, pr, 4);
    assert_true(reco__replay_total(r) == 10.0);
    /* by hand: P = (0.1, 0.2, 0.3, 0.4); w_i = (N P_i)^-0.5 / (N P_min)^-0.5 = (P_min/P_i)^0.5 */
    const double want_w[4] = {1.0, 0.70710678118654752, 0.57735026918962576, 0.5};
    const double want_p[4] = {0.1, 0.2, 0.3, 0.4};
    int seen[4] = {0};
    for (int it = 0; it < 200; it++) {
        sample_ok(r, x, 4);
        for (int b = 0; b < 4; b++) {
            const uint64_t i = x->idx[b];
            seen[i]++;
            assert_true(x->w[b] == (float)want_w[i]);
            assert_true(x->prob[b] == (float)want_p[i]);
            /* the same from the textbook formula with N = 4 */
            const double formula = pow(4.0 * want_p[i], -0.5) / pow(4.0 * 0.1, -0.5);
            assert_rel(x->w[b], formula, 1e-7);
        }
    }
    for (int i = 0; i < 4; i++)
        assert_true(seen[i] > 0);

    /* beta 0 gives weights of exactly 1; beta 1 gives P_min / P_i */
    assert_int_equal(reco_replay_set_param(r, RECO_REPLAY_PARAM_BETA, 0.0), RECO_OK);
    sample_ok(r, x, 4);
    for (int b = 0; b < 4; b++)
        assert_true(x->w[b] == 1.0f);
    assert_int_equal(reco_replay_set_param(r, RECO_REPLAY_PARAM_BETA, 1.0), RECO_OK);
    sample_ok(r, x, 4);
    for (int b = 0; b < 4; b++)
        assert_true(x->w[b] == (float)(1.0 / (double)(x->idx[b] + 1)));

    /* normalised by the least stored priority, not by the batch: after raising index 0 the
     * smallest weight-1 transition is index 1 */
    const uint64_t i0[1] = {0};
    const float p0[1] = {100.0f}; /* p^0.5 = 10 */
    set_priorities(r, i0, p0, 1);
    sample_ok(r, x, 1); /* B = 1: a single row, whatever it is, is normalised by p_min = 2 */
    const double leaf[4] = {10.0, 2.0, 3.0, 4.0};
    assert_true(x->w[0] == (float)(2.0 / leaf[x->idx[0]]));
    bufs_free(x);
    reco_replay_free(r);
}

static void test_replay_beta_schedule(void **state)
{
    (void)state;
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 16, 0, 2);
    o.beta0 = 0.4f;
    o.beta_final = 1.0f;
    o.beta_steps = 10;
    o.alpha = 1.0f;
    o.priority_eps = 0.0f;
    reco_replay *r = new_replay(&o);
    bufs *x = bufs_new(2, 2);
    add_plain(r, NULL, 2);
    const uint64_t idx[2] = {0, 1};
    const float pr[2] = {1.0f, 4.0f};
    set_priorities(r, idx, pr, 2);
    for (int t = 0; t <= 14; t++) {
        double beta = -1.0, step = -1.0;
        assert_int_equal(reco_replay_get_param(&beta, r, RECO_REPLAY_PARAM_BETA), RECO_OK);
        assert_int_equal(reco_replay_get_param(&step, r, RECO_REPLAY_PARAM_SAMPLE_STEP),
                         RECO_OK);
        assert_true(step == (double)t);
        /* linear from beta0 (0.4f as a double) to 1 over 10 steps, then 1 */
        const double want = t >= 10 ? 1.0 : (double)0.4f + (1.0 - (double)0.4f) * t / 10.0;
        assert_rel(beta, want, 1e-15);
        assert_rel(stats_of(r).beta, want, 1e-15);
        sample_ok(r, x, 2); /* uses beta(t), then moves to t + 1 */
        for (int b = 0; b < 2; b++)
            assert_rel(x->w[b], pow(1.0 / (double)pr[x->idx[b]], want), 1e-6);
    }
    /* beta_steps 0: beta_final from the start */
    assert_int_equal(reco_replay_set_param(r, RECO_REPLAY_PARAM_BETA_STEPS, 0), RECO_OK);
    assert_int_equal(reco_replay_set_param(r, RECO_REPLAY_PARAM_SAMPLE_STEP, 0), RECO_OK);
    double beta = 0.0;
    reco_replay_get_param(&beta, r, RECO_REPLAY_PARAM_BETA);
    assert_true(beta == (double)1.0f);
    /* a failed sample does not move the schedule */
    reco_replay_set_param(r, RECO_REPLAY_PARAM_BETA_STEPS, 4);
    assert_reco_error(reco_replay_sample(&x->b, r, 3), RECO_ESTATE, "fewer than the batch");
    double step = -1;
    reco_replay_get_param(&step, r, RECO_REPLAY_PARAM_SAMPLE_STEP);
    assert_true(step == 0.0);
    bufs_free(x);
    reco_replay_free(r);
}

static void test_replay_stratified_one_draw_per_segment(void **state)
{
    (void)state;
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 64, 0, 2);
    o.alpha = 1.0f;
    o.priority_eps = 0.0f;
    reco_replay *r = new_replay(&o);
    bufs *x = bufs_new(2, 64);
    add_plain(r, NULL, 8);
    /* masses 4:2:1:1:0:0:0:0 of 8; B = 8 strata of mass 1: exactly 4, 2, 1, 1, 0... draws
     * in every batch, in stratum order; zero-priority transitions are never drawn */
    const uint64_t idx[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    const float pr[8] = {4.0f, 2.0f, 1.0f, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    set_priorities(r, idx, pr, 8);
    const uint64_t want[8] = {0, 0, 0, 0, 1, 1, 2, 3};
    for (int it = 0; it < 500; it++) {
        sample_ok(r, x, 8);
        for (int b = 0; b < 8; b++)
            assert_int_equal(x->idx[b], want[b]);
    }
    /* B = 4 strata of mass 2: index 0 twice, index 1 once, index 2 or 3 once */
    for (int it = 0; it < 500; it++) {
        sample_ok(r, x, 4);
        assert_int_equal(x->idx[0], 0);
        assert_int_equal(x->idx[1], 0);
        assert_int_equal(x->idx[2], 1);
        assert_true(x->idx[3] == 2 || x->idx[3] == 3);
    }
    /* one transition holding all the mass in a large sparse tree: always that one */
    reco_replay_options big = opts_of(RECO_REPLAY_PROPORTIONAL, 5000, 0, 2);
    big.alpha = 1.0f;
    big.priority_eps = 0.0f;
    reco_replay *rb = new_replay(&big);
    for (int k = 0; k < 20; k++)
        add_plain(rb, NULL, 250);
    uint64_t all[250];
    float zero[250];
    for (uint64_t base = 0; base < 5000; base += 250) {
        for (int k = 0; k < 250; k++) {
            all[k] = base + (uint64_t)k;
            zero[k] = all[k] == 3777 ? 5.0f : 0.0f;
        }
        set_priorities(rb, all, zero, 250);
    }
    sample_ok(rb, x, 64);
    for (int b = 0; b < 64; b++) {
        assert_int_equal(x->idx[b], 3777);
        assert_true(x->w[b] == 1.0f);
        assert_true(x->prob[b] == 1.0f);
    }
    assert_tree_consistent(rb);
    reco_replay_free(rb);
    bufs_free(x);
    reco_replay_free(r);
}

/* Large batches go through the sweep of a middle tree level (lib/replay.c, sweep()) before
 * the descents: the same exact strata and the same distribution. */
static void test_replay_large_batch_strata_and_frequencies(void **state)
{
    (void)state;
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 50000, 0, 2);
    o.alpha = 1.0f;
    o.priority_eps = 0.0f;
    reco_replay *r = new_replay(&o);
    for (int k = 0; k < 200; k++)
        add_plain(r, NULL, 250);
    assert_int_equal(reco_replay_size(r), 50000);
    uint64_t idx[250];
    float p[250];
    /* 256 transitions of equal mass, evenly spread, everything else 0 */
    for (uint64_t base = 0; base < 50000; base += 250) {
        for (int k = 0; k < 250; k++) {
            idx[k] = base + (uint64_t)k;
            p[k] = idx[k] % 195 == 97 && idx[k] / 195 < 256 ? 1.0f : 0.0f;
        }
        set_priorities(r, idx, p, 250);
    }
    bufs *x = bufs_new(2, 256);
    for (int it = 0; it < 50; it++) {
        sample_ok(r, x, 256);
        for (uint64_t b = 0; b < 256; b++) {
            assert_int_equal(x->idx[b], b * 195 + 97);
            assert_true(x->w[b] == 1.0f && x->prob[b] == 1.0f / 256.0f);
        }
    }
    /* masses 1..7 by index mod 7: frequencies by class, at B = 256 and B = 8 */
    for (uint64_t base = 0; base < 50000; base += 250) {
        for (int k = 0; k < 250; k++) {
            idx[k] = base + (uint64_t)k;
            p[k] = (float)(idx[k] % 7 + 1);
        }
        set_priorities(r, idx, p, 250);
    }
    double probs[7], total = 0.0;
    for (int c = 0; c < 7; c++) {
        const double n_c = (double)((50000 - c + 6) / 7);
        total += probs[c] = (double)(c + 1) * n_c;
    }
    for (int c = 0; c < 7; c++)
        probs[c] /= total;
    assert_true(reco__replay_total(r) == total);
    const uint32_t batch[2] = {256, 8};
    for (int t = 0; t < 2; t++) {
        uint64_t counts[7] = {0};
        for (int it = 0; it < (int)(102400 / batch[t]); it++) {
            sample_ok(r, x, batch[t]);
            for (uint32_t b = 0; b < batch[t]; b++) {
                counts[x->idx[b] % 7]++;
                assert_rel(x->prob[b], (double)(x->idx[b] % 7 + 1) / total, 1e-6);
            }
        }
        assert_chi_square_below(pchi(counts, probs, 7), 38.26); /* df 6 at p = 1e-6 */
    }
    bufs_free(x);
    reco_replay_free(r);
}

static void test_replay_new_transitions_get_max_priority(void **state)
{
    (void)state;
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 32, 0, 2);
    o.alpha = 1.0f;
    o.priority_eps = 0.5f;
    o.initial_priority = 2.0f;
    reco_replay *r = new_replay(&o);
    add_plain(r, NULL, 4);
    assert_true(reco__replay_total(r) == 8.0); /* 4 x initial 2 */
    const uint64_t idx[2] = {1, 2};
    const float pr[2] = {5.5f, 0.5f}; /* + eps: 6 and 1 */
    set_priorities(r, idx, pr, 2);
    assert_true(reco__replay_total(r) == 2 + 6 + 1 + 2);
    assert_true(stats_of(r).max_priority == 6.0);
    add_plain(r, NULL, 3); /* at the max: 6 each */
    assert_true(reco__replay_total(r) == 11 + 18);
    for (uint64_t s = 4; s < 7; s++)
        assert_true(r->st.leaf[s] == 6.0f);
    /* lowering priorities never lowers the max (Schaul: max over all priorities so far) */
    const float low[2] = {0.0f, 0.0f};
    set_priorities(r, idx, low, 2);
    assert_true(stats_of(r).max_priority == 6.0);
    /* explicit priorities in a segment raise it too */
    int32_t items[2] = {1, 2};
    uint32_t fb[2] = {0, 0};
    float rew[2] = {0, 0}, p[2] = {1.0f, 9.5f};
    reco_replay_segment seg = RECO_REPLAY_SEGMENT_INIT;
    seg.n_steps = 2;
    seg.items = items;
    seg.feedback = fb;
    seg.rewards = rew;
    seg.priorities = p;
    assert_int_equal(reco_replay_add_segment(NULL, r, &seg), RECO_OK);
    assert_true(r->st.leaf[7] == 1.5f && r->st.leaf[8] == 10.0f);
    assert_true(stats_of(r).max_priority == 10.0);
    assert_int_equal(reco_replay_set_param(r, RECO_REPLAY_PARAM_MAX_PRIORITY, 3.0), RECO_OK);
    add_plain(r, NULL, 1);
    assert_true(r->st.leaf[9] == 3.0f);
    assert_tree_consistent(r);
    reco_replay_free(r);
}

static void test_replay_update_by_index_and_stale_indices(void **state)
{
    (void)state;
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 8, 0, 2);
    o.alpha = 1.0f;
    o.priority_eps = 0.0f;
    reco_replay *r = new_replay(&o);
    add_plain(r, NULL, 4); /* indices 0..3 */
    add_plain(r, NULL, 4); /* 4..7 */
    const uint64_t idx[3] = {1, 6, 1};
    const float pr[3] = {3.0f, 5.0f, 7.0f}; /* index 1 twice: the later value wins */
    set_priorities(r, idx, pr, 3);
    assert_true(r->st.leaf[1] == 7.0f && r->st.leaf[6] == 5.0f);
    assert_true(reco__replay_total(r) == 6 + 7 + 5);

    add_plain(r, NULL, 2); /* evicts the segment 0..3 whole: 4 slots freed, 2 reused */
    reco_replay_stats s = stats_of(r);
    assert_int_equal(s.oldest_index, 4);
    assert_int_equal(s.size, 6);
    assert_true(r->st.leaf[2] == 0.0f && r->st.leaf[3] == 0.0f); /* freed, not reused */
    const double before = reco__replay_total(r);
    /* stale (evicted) indices are skipped, live ones applied */
    const uint64_t mixed[3] = {1, 5, 3};
    const float p3[3] = {100.0f, 2.0f, 100.0f};
    size_t updated = 99;
    assert_int_equal(reco_replay_update_priorities(&updated, r, mixed, p3, 3), RECO_OK);
    assert_int_equal(updated, 1);
    assert_true(r->st.leaf[5] == 2.0f);
    assert_true(reco__replay_total(r) == before - 1.0 + 2.0); /* index 5 had the initial 1 */

    /* an index never issued, or a bad priority anywhere: nothing at all is applied */
    const double total = reco__replay_total(r);
    const uint64_t future[2] = {5, 10};
    const float p2[2] = {1.0f, 1.0f};
    assert_reco_error(reco_replay_update_priorities(NULL, r, future, p2, 2), RECO_EINVAL,
                      "indices[1] = 10 was never issued");
    const uint64_t ok[2] = {5, 6};
    const float bad[4][2] = {{1.0f, NAN}, {1.0f, -0.5f}, {INFINITY, 1.0f}, {1.0f, -INFINITY}};
    for (int k = 0; k < 4; k++)
        assert_reco_error(reco_replay_update_priorities(NULL, r, ok, bad[k], 2), RECO_EINVAL,
                          "priorities[");
    assert_true(reco__replay_total(r) == total);
    assert_true(r->st.leaf[5] == 2.0f);
    assert_reco_error(reco_replay_update_priorities(NULL, r, NULL, p2, 2), RECO_EINVAL, "NULL");
    assert_reco_error(reco_replay_update_priorities(NULL, NULL, ok, p2, 2), RECO_EINVAL, "NULL");
    assert_int_equal(reco_replay_update_priorities(NULL, r, NULL, NULL, 0), RECO_OK);

    /* after a reset every earlier index is stale, and numbering continues */
    assert_int_equal(reco_replay_reset(r), RECO_OK);
    assert_int_equal(reco_replay_update_priorities(&updated, r, ok, p2, 2), RECO_OK);
    assert_int_equal(updated, 0);
    assert_int_equal(add_plain(r, NULL, 1), 10);
    assert_tree_consistent(r);
    reco_replay_free(r);
}

static void test_replay_set_alpha_reweights_stored_priorities(void **state)
{
    (void)state;
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 16, 0, 2);
    o.alpha = 0.5f;
    o.priority_eps = 0.0f;
    reco_replay *r = new_replay(&o);
    add_plain(r, NULL, 3);
    const uint64_t idx[3] = {0, 1, 2};
    const float pr[3] = {1.0f, 4.0f, 16.0f};
    set_priorities(r, idx, pr, 3);
    assert_true(reco__replay_total(r) == 1 + 2 + 4);
    assert_int_equal(reco_replay_set_param(r, RECO_REPLAY_PARAM_ALPHA, 1.0), RECO_OK);
    assert_true(r->st.leaf[0] == 1.0f && r->st.leaf[1] == 4.0f && r->st.leaf[2] == 16.0f);
    assert_true(reco__replay_total(r) == 21.0);
    assert_true(r->st.leaf[3] == 0.0f); /* empty slots stay empty */
    /* alpha 0: every stored weight is 1 (uniform over the stored transitions) */
    assert_int_equal(reco_replay_set_param(r, RECO_REPLAY_PARAM_ALPHA, 0.0), RECO_OK);
    assert_true(reco__replay_total(r) == 3.0);
    double a = -1;
    assert_int_equal(reco_replay_get_param(&a, r, RECO_REPLAY_PARAM_ALPHA), RECO_OK);
    assert_true(a == 0.0);
    assert_tree_consistent(r);
    reco_replay_free(r);
}

/* ---- guard rails ---------------------------------------------------------------------------- */

static void test_replay_bad_inputs_store_nothing(void **state)
{
    (void)state;
    const uint32_t L = 3;
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 16, 0, L);
    o.alpha = 1.0f;
    reco_replay *r = new_replay(&o);
    bufs *x = bufs_new(L, 16);
    assert_reco_error(reco_replay_sample(&x->b, r, 1), RECO_ESTATE, "the buffer is empty");
    add_plain(r, NULL, 2);
    const reco_replay_stats before = stats_of(r);
    const double total = reco__replay_total(r);

    int32_t hist[4] = {1, 2, 3, 4}, items[2] = {5, 6};
    uint32_t hfb[4] = {0, 0, 0, 0}, fb[2] = {1, 2};
    float rew[2] = {1.0f, 2.0f}, pri[2] = {1.0f, 1.0f};
    reco_replay_segment good = RECO_REPLAY_SEGMENT_INIT;
    good.history_len = 2;
    good.history_items = hist;
    good.history_feedback = hfb;
    good.n_steps = 2;
    good.items = items;
    good.feedback = fb;
    good.rewards = rew;
    reco_replay_segment s;
#define BAD_SEG(mutation, code, needle)                                                        \
    do {                                                                                       \
        s = good;                                                                              \
        int32_t hi_[4], it_[2];                                                                \
        uint32_t hf_[4], fb_[2];                                                               \
        float rw_[2], pr_[2];                                                                  \
        memcpy(hi_, hist, sizeof hi_);                                                         \
        memcpy(it_, items, sizeof it_);                                                        \
        memcpy(hf_, hfb, sizeof hf_);                                                          \
        memcpy(fb_, fb, sizeof fb_);                                                           \
        memcpy(rw_, rew, sizeof rw_);                                                          \
        memcpy(pr_, pri, sizeof pr_);                                                          \
        s.history_items = hi_;                                                                 \
        s.items = it_;                                                                         \
        s.history_feedback = hf_;                                                              \
        s.feedback = fb_;                                                                      \
        s.rewards = rw_;                                                                       \
        mutation;                                                                              \
        uint64_t first_ = 12345;                                                               \
        assert_reco_error(reco_replay_add_segment(&first_, r, &s), code, needle);              \
        assert_int_equal(first_, 12345);                                                       \
        (void)pr_;                                                                             \
    } while (0)
    BAD_SEG(rw_[1] = NAN, RECO_EINVAL, "rewards[1] is nan");
    BAD_SEG(rw_[0] = INFINITY, RECO_EINVAL, "rewards[0] is inf");
    BAD_SEG(rw_[0] = -INFINITY, RECO_EINVAL, "rewards[0] is -inf");
    BAD_SEG(it_[1] = -1, RECO_EINVAL, "items[1] is -1, expected an item id >= 0");
    BAD_SEG(hi_[1] = -2, RECO_EINVAL, "history_items[1] is -2");
    BAD_SEG(fb_[0] = 0x10000, RECO_EINVAL, "feedback[0] is 0x10000");
    BAD_SEG(hf_[0] = 0x80000000u, RECO_EINVAL, "history_feedback[0]");
    BAD_SEG(s.n_steps = 0, RECO_EINVAL, "n_steps is 0");
    BAD_SEG(s.history_len = 4, RECO_EINVAL, "history_len 4 exceeds the lookback 3");
    BAD_SEG(s.history_items = NULL, RECO_EINVAL, "history_items");
    BAD_SEG(s.items = NULL, RECO_EINVAL, "must not be NULL");
    BAD_SEG(s.rewards = NULL, RECO_EINVAL, "must not be NULL");
    BAD_SEG((s.priorities = pr_, pr_[1] = -1.0f), RECO_EINVAL, "priorities[1] is -1");
    BAD_SEG((s.priorities = pr_, pr_[0] = NAN), RECO_EINVAL, "priorities[0] is nan");
    BAD_SEG((s.priorities = pr_, pr_[0] = INFINITY), RECO_EINVAL, "priorities[0] is inf");
    BAD_SEG(s.version = 0, RECO_EVERSION, "reco_replay_segment");
    BAD_SEG(s.version = 3, RECO_EVERSION, "reco_replay_segment");
#undef BAD_SEG
    assert_reco_error(reco_replay_add_segment(NULL, r, NULL), RECO_EINVAL, "NULL");
    assert_reco_error(reco_replay_add_segment(NULL, NULL, &good), RECO_EINVAL, "NULL");
    /* nothing was stored or evicted, and the tree did not move */
    const reco_replay_stats after = stats_of(r);
    assert_memory_equal(&before, &after, sizeof before);
    assert_true(reco__replay_total(r) == total);

    /* sampling */
    assert_reco_error(reco_replay_sample(&x->b, r, 3), RECO_ESTATE,
                      "2 transitions stored, fewer than the batch of 3");
    assert_reco_error(reco_replay_sample(&x->b, r, 0), RECO_EINVAL, "batch size is 0");
    assert_reco_error(reco_replay_sample(NULL, r, 1), RECO_EINVAL, "NULL");
    reco_replay_batch vb = x->b;
    vb.version = 9;
    assert_reco_error(reco_replay_sample(&vb, r, 1), RECO_EVERSION, "reco_replay_batch");
    /* all priorities 0 (possible only with eps 0) */
    assert_int_equal(reco_replay_set_param(r, RECO_REPLAY_PARAM_PRIORITY_EPS, 0.0), RECO_OK);
    const uint64_t idx[2] = {0, 1};
    const float zero[2] = {0.0f, 0.0f};
    set_priorities(r, idx, zero, 2);
    assert_reco_error(reco_replay_sample(&x->b, r, 1), RECO_ESTATE, "every stored priority");

    /* knobs */
    double lo = 0, hi = 0, v = 0;
    assert_int_equal(reco_replay_param_bounds(&lo, &hi, RECO_REPLAY_PARAM_ALPHA), RECO_OK);
    assert_true(lo == 0.0 && hi == 1.0);
    assert_reco_error(reco_replay_param_bounds(&lo, &hi, (reco_replay_param)0), RECO_EINVAL,
                      "unknown parameter 0");
    assert_reco_error(reco_replay_param_bounds(&lo, &hi, (reco_replay_param)9), RECO_EINVAL,
                      "unknown parameter 9");
    assert_reco_error(reco_replay_param_bounds(NULL, &hi, RECO_REPLAY_PARAM_ALPHA), RECO_EINVAL,
                      "NULL");
    assert_reco_error(reco_replay_set_param(r, RECO_REPLAY_PARAM_ALPHA, 1.5), RECO_EINVAL,
                      "out of range");
    assert_reco_error(reco_replay_set_param(r, RECO_REPLAY_PARAM_BETA, NAN), RECO_EINVAL,
                      "out of range");
    assert_reco_error(reco_replay_set_param(r, RECO_REPLAY_PARAM_BETA_STEPS, 2.5), RECO_EINVAL,
                      "integer");
    assert_reco_error(reco_replay_set_param(r, (reco_replay_param)42, 1.0), RECO_EINVAL,
                      "unknown parameter 42");
    assert_reco_error(reco_replay_set_param(NULL, RECO_REPLAY_PARAM_ALPHA, 1.0), RECO_EINVAL,
                      "NULL");
    assert_reco_error(reco_replay_get_param(&v, r, (reco_replay_param)42), RECO_EINVAL,
                      "unknown parameter 42");
    assert_reco_error(reco_replay_get_param(NULL, r, RECO_REPLAY_PARAM_ALPHA), RECO_EINVAL,
                      "NULL");
    reco_replay_stats sv = RECO_REPLAY_STATS_INIT;
    sv.version = 3;
    assert_reco_error(reco_replay_get_stats(&sv, r), RECO_EVERSION, "reco_replay_stats");
    /* a version-1 stats struct is not written past its end */
    sv.version = 1;
    sv.segments = sv.segment_capacity = 77;
    assert_int_equal(reco_replay_get_stats(&sv, r), RECO_OK);
    assert_int_equal(sv.segments, 77);
    assert_int_equal(sv.segment_capacity, 77);
    assert_reco_error(reco_replay_get_stats(NULL, r), RECO_EINVAL, "NULL");
    assert_int_equal(reco_replay_size(NULL), 0);
    assert_reco_error(reco_replay_reset(NULL), RECO_EINVAL, "NULL");
    size_t bytes = 0;
    assert_reco_error(reco_replay_memory_size(NULL, NULL), RECO_EINVAL, "NULL");
    assert_int_equal(reco_replay_memory_size(&bytes, NULL), RECO_OK);
    bufs_free(x);
    reco_replay_free(r);
}

/* ---- memory --------------------------------------------------------------------------------- */

typedef struct counting {
    atomic_size_t allocs, frees, attempts;
    size_t fail_at;
} counting;

static void *counting_alloc(void *opaque, size_t size, size_t align)
{
    counting *c = opaque;
    const size_t attempt = atomic_fetch_add(&c->attempts, 1) + 1;
    if (c->fail_at != 0 && attempt >= c->fail_at)
        return NULL;
    void *p = NULL;
    if (posix_memalign(&p, align, size) != 0)
        return NULL;
    atomic_fetch_add(&c->allocs, 1);
    return p;
}

static void counting_free(void *opaque, void *ptr)
{
    counting *c = opaque;
    if (ptr != NULL) {
        atomic_fetch_add(&c->frees, 1);
        free(ptr);
    }
}

static void test_replay_zero_allocation_in_add_sample_update(void **state)
{
    (void)state;
    const uint32_t L = 20;
    counting c = {0};
    reco_allocator a = {RECO_ALLOCATOR_VERSION, counting_alloc, counting_free, &c};
    for (uint32_t kind = RECO_REPLAY_UNIFORM; kind <= RECO_REPLAY_PROPORTIONAL; kind++) {
        reco_replay_options o = opts_of(kind, 500, 0, L);
        o.allocator = &a;
        reco_replay *r = new_replay(&o);
        const size_t after_create = atomic_load(&c.allocs);
        bufs *x = bufs_new(L, 64);
        float p[64];
        for (uint32_t s = 0; s < 200; s++) {
            add_session(r, NULL, s, 30, 7, L);
            if (reco_replay_size(r) < 64)
                continue;
            sample_ok(r, x, 64);
            for (int b = 0; b < 64; b++)
                p[b] = (float)(b % 9) * 0.25f;
            assert_int_equal(reco_replay_update_priorities(NULL, r, x->idx, p, 64), RECO_OK);
            reco_replay_stats st = stats_of(r);
            (void)st;
            (void)reco_replay_size(r);
        }
        assert_int_equal(atomic_load(&c.allocs), after_create);
        bufs_free(x);
        reco_replay_free(r);
        assert_int_equal(atomic_load(&c.allocs), atomic_load(&c.frees));
    }
}

static void test_replay_create_enomem_leaks_nothing(void **state)
{
    (void)state;
    const size_t live = reco_live_handles();
    for (size_t k = 1; k <= 2; k++) { /* create makes two allocations: handle, storage */
        counting f = {0};
        f.fail_at = k;
        reco_allocator fa = {RECO_ALLOCATOR_VERSION, counting_alloc, counting_free, &f};
        reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 100, 0, 4);
        o.allocator = &fa;
        reco_replay *r = (reco_replay *)&o;
        assert_reco_error(reco_replay_create(&r, &o), RECO_ENOMEM, "out of memory");
        assert_null(r);
        assert_int_equal(atomic_load(&f.allocs), atomic_load(&f.frees));
        assert_int_equal(reco_live_handles(), live);
    }
    counting ok = {0};
    reco_allocator oa = {RECO_ALLOCATOR_VERSION, counting_alloc, counting_free, &ok};
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 100, 0, 4);
    o.allocator = &oa;
    reco_replay *r = new_replay(&o);
    assert_int_equal(atomic_load(&ok.allocs), 2);
    reco_replay_free(r);
}

static void test_replay_memory_report(void **state)
{
    (void)state;
    /* 1M transitions at L = 20: the issue's target is <= 32 bytes per transition */
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 1000000, 0, 20);
    size_t bytes = 0;
    assert_int_equal(reco_replay_memory_size(&bytes, &o), RECO_OK);
    const double per = (double)bytes / 1e6;
    print_message("replay: proportional, 1M transitions, L = 20: %zu bytes (%.2f per "
                  "transition)\n", bytes, per);
    assert_true(per <= 32.0);
    /* records 12 + transitions 10 + leaves 4 + tree < 1 */
    assert_true(per > 26.0 && per < 27.5);
    o.kind = RECO_REPLAY_UNIFORM;
    assert_int_equal(reco_replay_memory_size(&bytes, &o), RECO_OK);
    assert_true((double)bytes / 1e6 < 22.5);
    /* stats of a created buffer report the same figure */
    o = opts_of(RECO_REPLAY_PROPORTIONAL, 5000, 0, 20);
    assert_int_equal(reco_replay_memory_size(&bytes, &o), RECO_OK);
    reco_replay *r = new_replay(&o);
    reco_replay_stats s = stats_of(r);
    assert_int_equal(s.bytes, bytes);
    assert_true(s.bytes_per_transition == (double)bytes / 5000.0);
    reco_replay_free(r);
}

static void test_replay_tree_matches_leaves_after_churn(void **state)
{
    (void)state;
    /* a capacity that is not a multiple of 16 (a partial last leaf group) */
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 1234, 0, 5);
    o.alpha = 0.7f;
    reco_replay *r = new_replay(&o);
    bufs *x = bufs_new(5, 32);
    reco_rng rng;
    reco_rng_seed(&rng, 99, 0);
    float p[32];
    for (uint32_t s = 0; s < 600; s++) {
        add_session(r, NULL, s, 1 + (uint32_t)reco_rng_below(&rng, 20),
                    1 + (uint32_t)reco_rng_below(&rng, 6), 5);
        if (reco_replay_size(r) >= 32) {
            sample_ok(r, x, 32);
            for (int b = 0; b < 32; b++)
                p[b] = (float)(reco_rng_uniform(&rng) * 1e3 * reco_rng_uniform(&rng));
            set_priorities(r, x->idx, p, 32);
        }
        if (s % 50 == 0)
            assert_tree_consistent(r);
    }
    assert_tree_consistent(r);
    bufs_free(x);
    reco_replay_free(r);
}

static void test_replay_same_seed_same_samples(void **state)
{
    (void)state;
    reco_replay *r[2];
    bufs *x[2];
    for (int k = 0; k < 2; k++) {
        reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 300, 0, 4);
        r[k] = new_replay(&o);
        x[k] = bufs_new(4, 16);
        for (uint32_t s = 0; s < 40; s++)
            add_session(r[k], NULL, s, 9, 4, 4);
    }
    float p[16];
    for (int it = 0; it < 100; it++) {
        for (int k = 0; k < 2; k++) {
            sample_ok(r[k], x[k], 16);
            for (int b = 0; b < 16; b++)
                p[b] = (float)((x[k]->idx[b] * 7919u) % 101u);
            set_priorities(r[k], x[k]->idx, p, 16);
        }
        assert_memory_equal(x[0]->idx, x[1]->idx, 16 * sizeof(uint64_t));
        assert_memory_equal(x[0]->w, x[1]->w, 16 * sizeof(float));
    }
    for (int k = 0; k < 2; k++) {
        bufs_free(x[k]);
        reco_replay_free(r[k]);
    }
}

/* ---- the session context ------------------------------------------------------------------ */

/* The context of session s: U user features, H long-term interactions (s % 3 pads in front)
 * and the elapsed seconds at step k, distinct per session and step (and not linear in k, so
 * that an off-by-one step gives another value). */
static float ctx_user(uint32_t s, uint32_t q)
{
    return (float)s * 0.5f - (float)q;
}

static int32_t ctx_long(uint32_t s, uint32_t q)
{
    return q < s % 3 ? RECO_PAD : (int32_t)((s * 31u + q) % 997u);
}

static uint32_t ctx_long_fb(uint32_t s, uint32_t q)
{
    return ctx_long(s, q) == RECO_PAD ? 0 : (s + q) % 16u;
}

static float ctx_elapsed(uint32_t s, uint32_t k)
{
    return 100.0f * (float)s + 0.5f * (float)(k * k) + 0.25f;
}

/* Steps k0 .. k0 + n - 1 of session s (of len steps) as a version-2 segment with the last L
 * interactions before it as history and the session's context; `version` 1 adds it as a
 * version-1 segment (no context). Returns the first index. */
static uint64_t add_ctx_segment(reco_replay *r, oracle *o, uint32_t s, uint32_t k0, uint32_t n,
                                uint32_t len, uint32_t L, uint32_t U, uint32_t H,
                                unsigned int version)
{
    int32_t items[64], hist[64], li[64];
    uint32_t fb[64], hfb[64], lf[64];
    float rew[64], el[65], user[64];
    assert_true(k0 + n <= 64 && L <= 64 && U <= 64 && H <= 64);
    const uint32_t h = k0 < L ? k0 : L;
    for (uint32_t q = 0; q < h; q++) {
        hist[q] = item_of(s, k0 - h + q);
        hfb[q] = fb_of(hist[q]);
    }
    for (uint32_t j = 0; j < n; j++) {
        items[j] = item_of(s, k0 + j);
        fb[j] = fb_of(items[j]);
        rew[j] = reward_of(items[j]);
    }
    for (uint32_t j = 0; j <= n; j++)
        el[j] = ctx_elapsed(s, k0 + j);
    for (uint32_t q = 0; q < U; q++)
        user[q] = ctx_user(s, q);
    for (uint32_t q = 0; q < H; q++) {
        li[q] = ctx_long(s, q);
        lf[q] = ctx_long_fb(s, q);
    }
    reco_replay_segment g = RECO_REPLAY_SEGMENT_INIT;
    g.version = version;
    g.history_len = h;
    g.history_items = hist;
    g.history_feedback = hfb;
    g.n_steps = n;
    g.items = items;
    g.feedback = fb;
    g.rewards = rew;
    g.ends_session = k0 + n == len;
    g.first_step = k0;
    g.elapsed = el;
    g.user_dim = U;
    g.user_features = U > 0 ? user : NULL;
    g.long_len = H;
    g.long_items = H > 0 ? li : NULL;
    g.long_feedback = H > 0 ? lf : NULL;
    uint64_t first = UINT64_MAX;
    if (reco_replay_add_segment(&first, r, &g) != RECO_OK)
        fail_msg("reco_replay_add_segment: %s", reco_error_message());
    if (o != NULL)
        oracle_add(o, first, &g);
    return first;
}

/* Sessions played side by side: `open` sessions at a time, each adding its next segment in
 * turn, so that consecutive slots of the ring belong to different sessions (a next state
 * read from the wrong slot would show). Every 7th segment is a version-1 one. */
typedef struct ctx_player {
    uint32_t L, U, H, open;
    uint32_t sess[8], done[8], next_session;
    uint64_t segments;
} ctx_player;

static void ctx_play(reco_replay *r, oracle *o, ctx_player *p)
{
    const uint32_t i = (uint32_t)(p->segments % p->open);
    if (p->segments < p->open || p->done[i] == 1 + p->sess[i] % 23) { /* a new session */
        p->sess[i] = p->next_session++;
        p->done[i] = 0;
    }
    const uint32_t s = p->sess[i], len = 1 + s % 23, seg_max = 1 + s % 5;
    const uint32_t n = len - p->done[i] < seg_max ? len - p->done[i] : seg_max;
    add_ctx_segment(r, o, s, p->done[i], n, len, p->L, p->U, p->H,
                    p->segments % 7 == 6 ? 1u : 2u);
    p->done[i] += n;
    p->segments++;
}

/* Sampled contexts equal what was added: steps (first_step + j at s, one more at s'), the
 * elapsed times at s and s' (the next step's, or the segment's end across its boundary),
 * the user features and the long-term history; across ring wrap-around, eviction by the
 * segment ring, version-1 segments (the defaults) and a version-1 batch. */
static void test_replay_context_round_trip(void **state)
{
    (void)state;
    const uint32_t L = 4, U = 3, H = 5, B = 32;
    for (uint32_t kind = RECO_REPLAY_UNIFORM; kind <= RECO_REPLAY_PROPORTIONAL; kind++) {
        reco_replay_options o = opts_of(kind, 97, 0, L);
        o.user_dim = U; /* implies the context */
        o.long_len = H;
        o.segment_capacity = 20;
        reco_replay *r = new_replay(&o);
        oracle *or = oracle_new_ctx(L, U, H, 8192);
        bufs *x = bufs_new_ctx(L, U, H, B);
        ctx_player p = {L, U, H, 5, {0}, {0}, 0, 0};
        float pr[32];
        int seg_bound = 0, full_segments = 0, crossings = 0;
        while (or->n < 4000) {
            ctx_play(r, or, &p);
            const reco_replay_stats st = stats_of(r);
            assert_true(st.segments <= 20 && st.segment_capacity == 20);
            full_segments += st.segments == 20;
            seg_bound += st.segments == 20 && st.size + 5 <= 97;
            if (st.size < B)
                continue;
            sample_ok(r, x, B);
            assert_int_equal(oracle_mismatches(or, x, B), 0);
            for (uint32_t b = 0; b < B; b++) {
                pr[b] = (float)((x->idx[b] * 2654435761u) % 17u);
                /* the last step of a segment whose ring successor is another session's */
                crossings += x->n_el[b] != x->s_el[b] && x->idx[b] + 1 < or->n &&
                             or->s_el[x->idx[b] + 1] != x->n_el[b];
            }
            set_priorities(r, x->idx, pr, B);
        }
        /* the segment ring, not the transition ring, limited what was stored */
        assert_true(full_segments > 100 && seg_bound > 100);
        assert_true(crossings > 100);
        assert_true(p.segments > 1000);

        /* a version-1 batch: the same rows, no context written */
        bufs *y = bufs_new(L, B);
        y->b.version = 1;
        sample_ok(r, y, B);
        assert_int_equal(oracle_mismatches(or, y, B), 0);
        bufs_free(y);
        /* some context outputs only */
        x->b.user_features = NULL;
        x->b.long_items = NULL;
        x->s_steps[0] = 12345u;
        sample_ok(r, x, B);
        assert_int_equal(x->s_steps[0], or->s_steps[x->idx[0]]);
        x->b.user_features = x->user;
        x->b.long_items = x->long_items;
        bufs_free(x);
        oracle_free(or);
        reco_replay_free(r);
    }

    /* without a context: a version-2 batch gets steps and elapsed times 0, and a segment's
     * context is ignored */
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 50, 0, L);
    reco_replay *r = new_replay(&o);
    oracle *or = oracle_new(L, 1024);
    for (uint32_t s = 0; s < 8; s++)
        add_ctx_segment(r, or, s, 0, 5, 5, L, 2, 3, 2);
    bufs *x = bufs_new_ctx(L, 0, 0, 16);
    for (uint32_t b = 0; b < 16; b++)
        x->s_steps[b] = x->n_steps[b] = 9, x->s_el[b] = x->n_el[b] = 9.0f;
    sample_ok(r, x, 16);
    assert_int_equal(oracle_mismatches(or, x, 16), 0);
    for (uint32_t b = 0; b < 16; b++)
        assert_true(x->s_steps[b] == 0 && x->n_steps[b] == 0 && x->s_el[b] == 0.0f &&
                    x->n_el[b] == 0.0f);
    assert_int_equal(stats_of(r).segments, 0);
    assert_int_equal(stats_of(r).segment_capacity, 0);
    bufs_free(x);
    oracle_free(or);
    reco_replay_free(r);
}

/* Memory: 8 bytes per transition and 16 + 4U + 6H per segment context, ceil(C / 8) of them
 * by default; a buffer without a context costs what it did. */
static void test_replay_context_memory(void **state)
{
    (void)state;
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 1000000, 0, 20);
    size_t plain = 0, ctx = 0, big = 0;
    assert_int_equal(reco_replay_memory_size(&plain, &o), RECO_OK);
    o.context = 1;
    assert_int_equal(reco_replay_memory_size(&ctx, &o), RECO_OK);
    o.user_dim = 8;
    o.long_len = 20;
    assert_int_equal(reco_replay_memory_size(&big, &o), RECO_OK);
    print_message("replay: 1M, L = 20: %.2f bytes per transition; with the context %.2f; "
                  "with U = 8, H = 20 %.2f\n", (double)plain / 1e6, (double)ctx / 1e6,
                  (double)big / 1e6);
    /* 8 per transition + 16 / 8 per segment context (+ alignment) */
    assert_true(ctx - plain >= 10000000 && ctx - plain < 10000000 + 256);
    assert_true(big - ctx >= (size_t)125000 * (32 + 120) && big - ctx < (size_t)125000 * 152 + 256);
    o.segment_capacity = 1000000;
    assert_int_equal(reco_replay_memory_size(&big, &o), RECO_OK);
    assert_true(big - plain >= (size_t)1000000 * (8 + 16 + 32 + 120));
    /* the stats of a created buffer say the same */
    o = opts_of(RECO_REPLAY_UNIFORM, 1000, 0, 4);
    o.long_len = 3;
    size_t bytes = 0;
    assert_int_equal(reco_replay_memory_size(&bytes, &o), RECO_OK);
    reco_replay *r = new_replay(&o);
    const reco_replay_stats st = stats_of(r);
    assert_int_equal(st.bytes, bytes);
    assert_int_equal(st.segment_capacity, 125);
    assert_int_equal(st.segments, 0);
    reco_replay_free(r);
}

/* A version-2 segment's context is checked before anything changes. */
static void test_replay_context_bad_inputs(void **state)
{
    (void)state;
    const uint32_t L = 3;
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 40, 0, L);
    o.user_dim = 2;
    o.long_len = 2;
    o.segment_capacity = 10;
    reco_replay *r = new_replay(&o);
    add_ctx_segment(r, NULL, 1, 0, 3, 3, L, 2, 2, 2);
    const reco_replay_stats before = stats_of(r);
    int32_t items[2] = {1, 2}, li[2] = {4, RECO_PAD};
    uint32_t fb[2] = {0, 1}, lf[2] = {1, 0};
    float rew[2] = {0.5f, 1.0f}, el[3] = {0.0f, 1.0f, 2.0f}, user[2] = {0.5f, -1.0f};
    reco_replay_segment good = RECO_REPLAY_SEGMENT_INIT;
    good.n_steps = 2;
    good.items = items;
    good.feedback = fb;
    good.rewards = rew;
    good.first_step = 4;
    good.elapsed = el;
    good.user_dim = 2;
    good.user_features = user;
    good.long_len = 2;
    good.long_items = li;
    good.long_feedback = lf;
    reco_replay_segment s;
#define BAD_SEG(mutation, needle)                                                              \
    do {                                                                                       \
        s = good;                                                                              \
        mutation;                                                                              \
        assert_reco_error(reco_replay_add_segment(NULL, r, &s), RECO_EINVAL, needle);          \
        el[0] = 0.0f, el[2] = 2.0f, user[1] = -1.0f, li[1] = RECO_PAD, lf[0] = 1;              \
    } while (0)
    BAD_SEG(s.user_dim = 1, "user_dim 1, the buffer stores 2");
    BAD_SEG(s.user_dim = 0, "user_dim 0");
    BAD_SEG(s.long_len = 3, "long_len 3");
    BAD_SEG(s.user_features = NULL, "NULL");
    BAD_SEG(s.long_feedback = NULL, "NULL");
    BAD_SEG(s.first_step = UINT32_MAX - 1, "does not fit in 32 bits");
    BAD_SEG(el[2] = -1.0f, "elapsed[2] is -1");
    BAD_SEG(el[0] = NAN, "elapsed[0] is nan");
    BAD_SEG(el[2] = INFINITY, "elapsed[2] is inf");
    BAD_SEG(user[1] = NAN, "user_features[1] is nan");
    BAD_SEG(li[1] = -2, "long_items[1] is -2");
    BAD_SEG(lf[0] = 1u << 16, "long_feedback[0]");
#undef BAD_SEG
    const reco_replay_stats after = stats_of(r);
    assert_memory_equal(&before, &after, sizeof before);
    /* the good one, and with elapsed NULL (all 0) and first_step at the limit */
    assert_int_equal(reco_replay_add_segment(NULL, r, &good), RECO_OK);
    s = good;
    s.elapsed = NULL;
    s.first_step = UINT32_MAX - 2;
    assert_int_equal(reco_replay_add_segment(NULL, r, &s), RECO_OK);
    bufs *x = bufs_new_ctx(L, 2, 2, 2);
    x->b.indices = NULL;
    int seen = 0;
    for (int it = 0; it < 200 && seen < 3; it++) {
        sample_ok(r, x, 2);
        for (int b = 0; b < 2; b++)
            if (x->s_steps[b] >= UINT32_MAX - 2) {
                assert_true(x->s_el[b] == 0.0f && x->n_el[b] == 0.0f);
                assert_int_equal(x->n_steps[b], x->s_steps[b] + 1);
                seen |= x->s_steps[b] == UINT32_MAX - 1 ? 2 : 1;
            }
    }
    assert_int_equal(seen, 3);
    bufs_free(x);
    reco_replay_free(r);
}

/* Adds, samples of every context output and updates allocate nothing. */
static void test_replay_context_zero_allocation(void **state)
{
    (void)state;
    counting c = {0};
    reco_allocator a = {RECO_ALLOCATOR_VERSION, counting_alloc, counting_free, &c};
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 500, 0, 8);
    o.allocator = &a;
    o.user_dim = 4;
    o.long_len = 6;
    reco_replay *r = new_replay(&o);
    const size_t after_create = atomic_load(&c.allocs);
    bufs *x = bufs_new_ctx(8, 4, 6, 64);
    ctx_player pl = {8, 4, 6, 4, {0}, {0}, 0, 0};
    float p[64];
    for (int it = 0; it < 600; it++) {
        ctx_play(r, NULL, &pl);
        if (reco_replay_size(r) < 64)
            continue;
        sample_ok(r, x, 64);
        for (int b = 0; b < 64; b++)
            p[b] = (float)(b % 9) * 0.25f;
        assert_int_equal(reco_replay_update_priorities(NULL, r, x->idx, p, 64), RECO_OK);
    }
    assert_int_equal(atomic_load(&c.allocs), after_create);
    bufs_free(x);
    reco_replay_free(r);
    assert_int_equal(atomic_load(&c.allocs), atomic_load(&c.frees));
}

/* ---- files ---------------------------------------------------------------------------------- */

typedef struct dirfix {
    char dir[64];
    char path[128];
} dirfix;

static int setup_dir(void **state)
{
    dirfix *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/reco-replay.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof f->path, "%s/replay.reco", f->dir);
    *state = f;
    return 0;
}

static int teardown_dir(void **state)
{
    dirfix *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static int files_equal(const char *a, const char *b)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
    return system(cmd) == 0;
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* A buffer that has wrapped both rings, with updated priorities and a moved schedule. */
static reco_replay *used_buffer(uint32_t kind, oracle *or)
{
    reco_replay_options o = opts_of(kind, 200, 310, 6);
    o.beta_steps = 1000;
    reco_replay *r = new_replay(&o);
    bufs *x = bufs_new(6, 16);
    float p[16];
    for (uint32_t s = 0; s < 90; s++) {
        add_session(r, or, s, 1 + s % 17, 1 + s % 5, 6);
        if (reco_replay_size(r) >= 16) {
            sample_ok(r, x, 16);
            for (int b = 0; b < 16; b++)
                p[b] = (float)((s * 31u + (uint32_t)b) % 23u) * 0.5f;
            set_priorities(r, x->idx, p, 16);
        }
    }
    bufs_free(x);
    return r;
}

static void test_replay_save_load_round_trip(void **state)
{
    dirfix *f = *state;
    for (uint32_t kind = RECO_REPLAY_UNIFORM; kind <= RECO_REPLAY_PROPORTIONAL; kind++) {
        oracle *or = oracle_new(6, 4096);
        reco_replay *r = used_buffer(kind, or);
        assert_int_equal(reco_replay_save(r, f->path), RECO_OK);

        reco_replay_options o = opts_of(kind, 200, 310, 6);
        o.seed = 12345; /* the file's generator state replaces it */
        o.alpha = 0.2f;
        reco_replay *l = new_replay(&o);
        add_plain(l, NULL, 5); /* contents that the load replaces */
        assert_int_equal(reco_replay_load(l, f->path), RECO_OK);
        reco_replay_stats a = stats_of(r), b = stats_of(l);
        assert_memory_equal(&a, &b, sizeof a);
        if (kind == RECO_REPLAY_PROPORTIONAL) {
            assert_memory_equal(r->st.leaf, l->st.leaf, r->Cp * sizeof(float));
            for (int k = 1; k <= r->n_levels; k++)
                assert_memory_equal(r->st.sum[k], l->st.sum[k],
                                    r->level_alloc[k] * sizeof(double));
            assert_tree_consistent(l);
        }
        /* saving the loaded buffer gives the same bytes */
        char again[160];
        snprintf(again, sizeof again, "%s/again.reco", f->dir);
        assert_int_equal(reco_replay_save(l, again), RECO_OK);
        assert_true(files_equal(f->path, again));

        /* and both continue identically: samples, updates, adds, evictions */
        bufs *x = bufs_new(6, 16), *y = bufs_new(6, 16);
        float p[16];
        for (int it = 0; it < 60; it++) {
            sample_ok(r, x, 16);
            sample_ok(l, y, 16);
            assert_memory_equal(x->idx, y->idx, sizeof(uint64_t) * 16);
            assert_memory_equal(x->w, y->w, sizeof(float) * 16);
            assert_memory_equal(x->s_items, y->s_items, sizeof(int32_t) * 16 * 6);
            assert_memory_equal(x->n_fb, y->n_fb, sizeof(uint32_t) * 16 * 6);
            assert_int_equal(oracle_mismatches(or, y, 16), 0);
            for (int k = 0; k < 16; k++)
                p[k] = (float)((it * 16 + k) % 13);
            set_priorities(r, x->idx, p, 16);
            set_priorities(l, y->idx, p, 16);
            add_session(r, or, 1000 + (uint32_t)it, 5, 3, 6);
            add_session(l, NULL, 1000 + (uint32_t)it, 5, 3, 6);
        }
        bufs_free(x);
        bufs_free(y);
        reco_replay_free(l);
        reco_replay_free(r);
        oracle_free(or);
    }
    /* an empty buffer round-trips too */
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 50, 0, 3);
    reco_replay *e = new_replay(&o), *e2 = new_replay(&o);
    add_plain(e2, NULL, 4);
    assert_int_equal(reco_replay_save(e, f->path), RECO_OK);
    assert_int_equal(reco_replay_load(e2, f->path), RECO_OK);
    assert_int_equal(reco_replay_size(e2), 0);
    assert_tree_consistent(e2);
    reco_replay_free(e);
    reco_replay_free(e2);
}

/* Loads `path` into `r` expecting failure `code` with `needle`, and checks that `r` is
 * exactly as it was (it saves to `check` before and after). */
static void assert_load_refused(reco_replay *r, const char *path, const char *check, int code,
                                const char *needle)
{
    char before[200];
    snprintf(before, sizeof before, "%s.before", check);
    assert_int_equal(reco_replay_save(r, before), RECO_OK);
    assert_reco_error(reco_replay_load(r, path), code, needle);
    assert_int_equal(reco_replay_save(r, check), RECO_OK);
    assert_true(files_equal(before, check));
}

static void copy_prefix(const char *src, const char *dst, long n)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    assert_non_null(in);
    assert_non_null(out);
    for (long k = 0; k < n; k++) {
        int c = fgetc(in);
        assert_true(c != EOF);
        fputc(c, out);
    }
    fclose(in);
    fclose(out);
}

static void flip_bit(const char *path, long offset, int bit)
{
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, offset, SEEK_SET);
    int c = fgetc(fp);
    fseek(fp, offset, SEEK_SET);
    fputc(c ^ (1 << bit), fp);
    fclose(fp);
}

static void test_replay_load_refuses_bad_files(void **state)
{
    dirfix *f = *state;
    reco_replay *r = used_buffer(RECO_REPLAY_PROPORTIONAL, NULL);
    assert_int_equal(reco_replay_save(r, f->path), RECO_OK);
    reco_replay *victim = used_buffer(RECO_REPLAY_PROPORTIONAL, NULL);
    add_plain(victim, NULL, 3); /* differs from the file */
    char bad[160], check[160];
    snprintf(bad, sizeof bad, "%s/bad.reco", f->dir);
    snprintf(check, sizeof check, "%s/check.reco", f->dir);
    const long size = file_size(f->path);
    assert_true(size > 1000);

    /* truncated anywhere */
    const long cuts[] = {0, 4, 20, 39, 100, size / 2, size - 8, size - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        copy_prefix(f->path, bad, cuts[k]);
        assert_load_refused(victim, bad, check, RECO_EFORMAT,
                            cuts[k] < 8 && cuts[k] > 0 ? "truncated" : "");
    }
    /* a flipped bit anywhere */
    for (long off = 0; off < size; off += size / 37 + 1) {
        copy_prefix(f->path, bad, size);
        flip_bit(bad, off, (int)(off % 8));
        assert_load_refused(victim, bad, check, RECO_EFORMAT, "");
    }
    /* missing file, not a replay file, a directory */
    char missing[160];
    snprintf(missing, sizeof missing, "%s/nope.reco", f->dir);
    assert_load_refused(victim, missing, check, RECO_EIO, "nope.reco");
    FILE *fp = fopen(bad, "wb");
    fputs("RECOMDL1 this is something else entirely, long enough to be checked", fp);
    fclose(fp);
    assert_load_refused(victim, bad, check, RECO_EFORMAT, "not a RECORPL1 file");

    /* another format version, written with a valid container */
    reco_allocator a;
    reco_get_default_allocator(&a);
    reco__writer *w = NULL;
    assert_int_equal(reco__writer_open(&w, &a, bad, "RECORPL1", 3), RECO_OK);
    assert_int_equal(reco__writer_commit(w), RECO_OK);
    assert_load_refused(victim, bad, check, RECO_EVERSION, "format version 3 not supported");

    /* another geometry */
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 201, 310, 6);
    reco_replay *other = new_replay(&o);
    assert_load_refused(other, f->path, check, RECO_EFORMAT,
                        "capacity is 200 in the file but 201 in this buffer");
    reco_replay_free(other);
    o = opts_of(RECO_REPLAY_PROPORTIONAL, 200, 310, 7);
    other = new_replay(&o);
    assert_load_refused(other, f->path, check, RECO_EFORMAT, "lookback is 6");
    reco_replay_free(other);
    o = opts_of(RECO_REPLAY_UNIFORM, 200, 310, 6);
    other = new_replay(&o);
    assert_load_refused(other, f->path, check, RECO_EFORMAT, "kind is 2");
    reco_replay_free(other);

    /* well-checksummed but inconsistent contents: rewrite the file with one field changed */
    const reco__replay_store *st = &r->st;
    const uint64_t size_t_ = st->head - st->tail;
    const uint64_t rec_tail = (st->rec_head + r->R - st->rec_count) % r->R;
    /* (mutation 6 changes nothing: an intact format-1 file, written before the session
     * context existed, loads into a buffer without one) */
    for (int mutation = 0; mutation < 7; mutation++) {
        uint64_t geometry[4] = {r->C, r->R, r->L, r->kind};
        double params[5] = {st->alpha, st->beta0, st->beta_final, st->eps, st->max_priority};
        uint64_t counters[6] = {st->head, st->tail, st->rec_head, st->rec_count, st->beta_steps,
                                st->sample_step};
        int32_t *items = malloc(st->rec_count * sizeof(int32_t));
        uint16_t *fbs = malloc(st->rec_count * sizeof(uint16_t));
        uint32_t *pos = malloc(size_t_ * sizeof(uint32_t));
        float *rew = malloc(size_t_ * sizeof(float)), *leaf = malloc(size_t_ * sizeof(float));
        uint16_t *info = malloc(size_t_ * sizeof(uint16_t));
        for (uint64_t k = 0; k < st->rec_count; k++) {
            items[k] = st->rec_item[(rec_tail + k) % r->R];
            fbs[k] = st->rec_fb[(rec_tail + k) % r->R];
        }
        for (uint64_t k = 0; k < size_t_; k++) {
            const uint64_t s = (st->tail + k) % r->C;
            pos[k] = reco__replay_pos(st, s);
            rew[k] = reco__replay_reward(st, s);
            leaf[k] = st->leaf[s];
            info[k] = reco__replay_info(st, s);
        }
        const char *needle = "";
        switch (mutation) {
        case 0: pos[7] = (pos[7] + 1) % (uint32_t)r->R; needle = "not contiguous"; break;
        case 1: info[0] &= (uint16_t)~RECO__REPLAY_SEG_START; needle = "does not start"; break;
        case 2: leaf[3] = -1.0f; needle = "priority negative"; break;
        case 3: counters[3] -= 1; break; /* section sizes no longer match */
        case 4: params[0] = 2.0; needle = "alpha = 2 is out of range"; break;
        case 5: items[(uint64_t)pos[5] >= rec_tail ? pos[5] - rec_tail
                                                   : pos[5] + r->R - rec_tail] = -1;
            needle = "action item id below 0";
            break;
        }
        assert_int_equal(reco__writer_open(&w, &a, bad, "RECORPL1", 1), RECO_OK);
        assert_int_equal(reco__writer_section(w, "geometry", RECO__FILE_U64, geometry, 4), 0);
        assert_int_equal(reco__writer_section(w, "params", RECO__FILE_F64, params, 5), 0);
        assert_int_equal(reco__writer_section(w, "counters", RECO__FILE_U64, counters, 6), 0);
        assert_int_equal(reco__writer_section(w, "rng", RECO__FILE_U64, st->rng.s, 4), 0);
        assert_int_equal(reco__writer_section(w, "rec_item", RECO__FILE_I32, items,
                                              st->rec_count), 0);
        assert_int_equal(reco__writer_section(w, "rec_fb", RECO__FILE_BYTES, fbs,
                                              2 * st->rec_count), 0);
        /* transitions: 10 packed bytes each, pos u32, reward f32, info u16 */
        unsigned char *trans = malloc(size_t_ * RECO__REPLAY_TREC);
        for (uint64_t k = 0; k < size_t_; k++) {
            memcpy(trans + k * RECO__REPLAY_TREC, &pos[k], 4);
            memcpy(trans + k * RECO__REPLAY_TREC + 4, &rew[k], 4);
            memcpy(trans + k * RECO__REPLAY_TREC + 8, &info[k], 2);
        }
        assert_int_equal(reco__writer_section(w, "transitions", RECO__FILE_BYTES, trans,
                                              RECO__REPLAY_TREC * size_t_), 0);
        free(trans);
        assert_int_equal(reco__writer_section(w, "t_leaf", RECO__FILE_F32, leaf, size_t_), 0);
        assert_int_equal(reco__writer_commit(w), RECO_OK);
        if (mutation < 6) {
            assert_load_refused(victim, bad, check, RECO_EFORMAT, needle);
        } else {
            assert_int_equal(reco_replay_load(victim, bad), RECO_OK);
            assert_int_equal(reco_replay_save(victim, check), RECO_OK);
            assert_true(files_equal(f->path, check)); /* as the buffer saved it */
            /* a buffer that stores a context refuses it */
            reco_replay_options co = opts_of(RECO_REPLAY_PROPORTIONAL, 200, 310, 6);
            co.context = 1;
            co.segment_capacity = 60;
            reco_replay *cb = new_replay(&co);
            assert_load_refused(cb, bad, check, RECO_EFORMAT, "context (format 1 has none)");
            reco_replay_free(cb);
            add_plain(victim, NULL, 3);
        }
        free(items);
        free(fbs);
        free(pos);
        free(rew);
        free(leaf);
        free(info);
    }
    /* the original file is still accepted */
    assert_int_equal(reco_replay_load(victim, f->path), RECO_OK);

    /* a load that runs out of memory leaves the buffer as it was */
    counting c = {0};
    reco_allocator ca = {RECO_ALLOCATOR_VERSION, counting_alloc, counting_free, &c};
    reco_replay_options co = opts_of(RECO_REPLAY_PROPORTIONAL, 200, 310, 6);
    co.allocator = &ca;
    reco_replay *small = new_replay(&co);
    reco_replay *probe = new_replay(&co);
    size_t n_load = atomic_load(&c.attempts);
    assert_int_equal(reco_replay_load(probe, f->path), RECO_OK);
    n_load = atomic_load(&c.attempts) - n_load;
    assert_true(n_load >= 2);
    reco_replay_free(probe);
    add_plain(small, NULL, 9);
    for (size_t k = 1; k <= n_load; k++) {
        char before[200];
        snprintf(before, sizeof before, "%s.before", check);
        assert_int_equal(reco_replay_save(small, before), RECO_OK);
        c.fail_at = atomic_load(&c.attempts) + k;
        int rc = reco_replay_load(small, f->path);
        c.fail_at = 0;
        assert_int_equal(rc, RECO_ENOMEM);
        assert_int_equal(reco_replay_save(small, check), RECO_OK);
        assert_true(files_equal(before, check));
    }
    reco_replay_free(small);
    assert_int_equal(atomic_load(&c.allocs), atomic_load(&c.frees));
    assert_reco_error(reco_replay_load(NULL, f->path), RECO_EINVAL, "NULL");
    assert_reco_error(reco_replay_save(r, NULL), RECO_EINVAL, "NULL");
    char nodir[160];
    snprintf(nodir, sizeof nodir, "%s/no/such/dir.reco", f->dir);
    assert_reco_error(reco_replay_save(r, nodir), RECO_EIO, "");
    reco_replay_free(victim);
    reco_replay_free(r);
}


/* ---- files with a session context ------------------------------------------------------------ */

static reco_replay_options ctx_opts(uint32_t kind)
{
    reco_replay_options o = opts_of(kind, 200, 310, 6);
    o.beta_steps = 1000;
    o.user_dim = 3;
    o.long_len = 4;
    o.segment_capacity = 37;
    return o;
}

/* A context buffer that has wrapped all three rings, with updated priorities. */
static reco_replay *used_ctx_buffer(uint32_t kind, oracle *or)
{
    reco_replay_options o = ctx_opts(kind);
    reco_replay *r = new_replay(&o);
    bufs *x = bufs_new(6, 16);
    ctx_player p = {6, 3, 4, 3, {0}, {0}, 0, 0};
    float pr[16];
    for (int it = 0; it < 260; it++) {
        ctx_play(r, or, &p);
        if (reco_replay_size(r) >= 16) {
            sample_ok(r, x, 16);
            for (int b = 0; b < 16; b++)
                pr[b] = (float)((it * 31u + (uint32_t)b) % 23u) * 0.5f;
            set_priorities(r, x->idx, pr, 16);
        }
    }
    bufs_free(x);
    return r;
}

static void test_replay_context_save_load(void **state)
{
    dirfix *f = *state;
    for (uint32_t kind = RECO_REPLAY_UNIFORM; kind <= RECO_REPLAY_PROPORTIONAL; kind++) {
        oracle *or = oracle_new_ctx(6, 3, 4, 8192);
        reco_replay *r = used_ctx_buffer(kind, or);
        assert_true(r->st.seg_head < r->st.seg_count); /* the context ring has wrapped */
        assert_int_equal(reco_replay_save(r, f->path), RECO_OK);
        reco_replay_options o = ctx_opts(kind);
        o.seed = 999;
        reco_replay *l = new_replay(&o);
        add_ctx_segment(l, NULL, 7, 0, 4, 4, 6, 3, 4, 2); /* replaced by the load */
        assert_int_equal(reco_replay_load(l, f->path), RECO_OK);
        reco_replay_stats a = stats_of(r), b = stats_of(l);
        assert_memory_equal(&a, &b, sizeof a);
        char again[160];
        snprintf(again, sizeof again, "%s/again.reco", f->dir);
        assert_int_equal(reco_replay_save(l, again), RECO_OK);
        assert_true(files_equal(f->path, again));
        /* both continue identically, contexts included */
        bufs *x = bufs_new_ctx(6, 3, 4, 16), *y = bufs_new_ctx(6, 3, 4, 16);
        ctx_player p = {6, 3, 4, 3, {0}, {0}, 5000, 0}, q = p;
        float pr[16];
        for (int it = 0; it < 60; it++) {
            sample_ok(r, x, 16);
            sample_ok(l, y, 16);
            assert_memory_equal(x->idx, y->idx, sizeof(uint64_t) * 16);
            assert_memory_equal(x->user, y->user, sizeof(float) * 16 * 3);
            assert_memory_equal(x->long_items, y->long_items, sizeof(int32_t) * 16 * 4);
            assert_memory_equal(x->n_el, y->n_el, sizeof(float) * 16);
            assert_int_equal(oracle_mismatches(or, y, 16), 0);
            for (int k = 0; k < 16; k++)
                pr[k] = (float)((it * 16 + k) % 13);
            set_priorities(r, x->idx, pr, 16);
            set_priorities(l, y->idx, pr, 16);
            ctx_play(r, or, &p);
            ctx_play(l, NULL, &q);
        }
        bufs_free(x);
        bufs_free(y);
        /* another context geometry, or none, is refused */
        char check[160];
        snprintf(check, sizeof check, "%s/check.reco", f->dir);
        static const char *const needles[4] = {"user_dim is 3", "long_len is 4",
                                               "segment_capacity is 37", "context is 1"};
        for (int k = 0; k < 4; k++) {
            reco_replay_options m = ctx_opts(kind);
            if (k == 0)
                m.user_dim = 2;
            if (k == 1)
                m.long_len = 5;
            if (k == 2)
                m.segment_capacity = 38;
            if (k == 3)
                m.user_dim = m.long_len = 0, m.context = 0;
            reco_replay *other = new_replay(&m);
            assert_load_refused(other, f->path, check, RECO_EFORMAT, needles[k]);
            reco_replay_free(other);
        }
        reco_replay_free(l);
        reco_replay_free(r);
        oracle_free(or);
    }
}

/* Copies a replay file section by section, letting `mutation` change one section's values;
 * the copy has valid checksums. */
static void rewrite_replay(const char *src, const char *dst, int mutation)
{
    static const char *const names[] = {"geometry", "params", "counters", "rng", "rec_item",
                                        "rec_fb", "transitions", "t_leaf", "t_ctx", "seg",
                                        "seg_user", "seg_long", "seg_long_fb"};
    reco_allocator a;
    reco_get_default_allocator(&a);
    reco__reader *rd = NULL;
    uint32_t version = 0;
    assert_int_equal(reco__reader_open(&rd, &a, src, "RECORPL1", 1, 2, &version), RECO_OK);
    reco__writer *w = NULL;
    assert_int_equal(reco__writer_open(&w, &a, dst, "RECORPL1", version), RECO_OK);
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        if (!reco__reader_has_section(rd, names[k]))
            continue;
        uint32_t type = 0;
        uint64_t count = 0;
        assert_int_equal(reco__reader_section_info(rd, names[k], &type, &count), RECO_OK);
        unsigned char *v = calloc(count * reco__file_type_size(type) + 16, 1);
        assert_int_equal(reco__reader_section(rd, names[k], type, v, count), RECO_OK);
        reco__replay_tctx *tc = (reco__replay_tctx *)(void *)v;
        reco__replay_seg *sg = (reco__replay_seg *)(void *)v;
        const int is = strcmp(names[k], "t_ctx") == 0 ? 1 : strcmp(names[k], "seg") == 0 ? 2
                     : strcmp(names[k], "seg_user") == 0 ? 3
                     : strcmp(names[k], "seg_long") == 0 ? 4
                     : strcmp(names[k], "counters") == 0 ? 5 : 0;
        switch (mutation * 10 + is) {
        case 11: tc[3].seg = (tc[3].seg + 1) % 37u; break;
        case 22: sg[0].first_pos += 1; break;
        case 32: sg[1].n_steps += 1; break;
        case 41: tc[2].elapsed = -1.0f; break;
        case 52: sg[2].end_elapsed = NAN; break;
        case 63: ((float *)(void *)v)[4] = NAN; break;
        case 74: ((int32_t *)(void *)v)[5] = -2; break;
        case 85: ((uint64_t *)(void *)v)[6] = 37; break;  /* seg_head past the ring */
        case 95: ((uint64_t *)(void *)v)[7] -= 1; break;  /* a context fewer */
        }
        assert_int_equal(reco__writer_section(w, names[k], type, v, count), RECO_OK);
        free(v);
    }
    assert_int_equal(reco__writer_commit(w), RECO_OK);
    reco__reader_close(rd);
}

/* Well-checksummed files whose context is inconsistent are refused; the buffer is unchanged. */
static void test_replay_context_load_refuses_inconsistent(void **state)
{
    dirfix *f = *state;
    reco_replay *r = used_ctx_buffer(RECO_REPLAY_PROPORTIONAL, NULL);
    assert_int_equal(reco_replay_save(r, f->path), RECO_OK);
    reco_replay_options o = ctx_opts(RECO_REPLAY_PROPORTIONAL);
    reco_replay *victim = new_replay(&o);
    add_ctx_segment(victim, NULL, 3, 0, 5, 5, 6, 3, 4, 2);
    char bad[160], check[160];
    snprintf(bad, sizeof bad, "%s/bad.reco", f->dir);
    snprintf(check, sizeof check, "%s/check.reco", f->dir);
    static const char *const needles[10] = {
        NULL, "names another segment context", "names another first record",
        "length differs from its context", "elapsed time negative", "elapsed time negative",
        "user feature not finite", "long-term item id below RECO_PAD", "counters out of range",
        "" /* the sections no longer have the counted sizes */};
    for (int m = 0; m < 10; m++) {
        rewrite_replay(f->path, bad, m);
        if (m == 0) { /* the copy itself is fine */
            assert_int_equal(reco_replay_load(victim, bad), RECO_OK);
            assert_int_equal(reco_replay_save(victim, check), RECO_OK);
            assert_true(files_equal(f->path, check));
            add_ctx_segment(victim, NULL, 3, 0, 5, 5, 6, 3, 4, 2);
            continue;
        }
        assert_load_refused(victim, bad, check, RECO_EFORMAT, needles[m]);
    }
    reco_replay_free(victim);
    reco_replay_free(r);
}

/* ---- threads -------------------------------------------------------------------------------- */

enum { N_ADDERS = 4, SESSIONS_PER_ADDER = 400, TL = 6, TB = 32, MAX_SAMPLES = 200000 };

/* Session s has 1..40 steps, fixed by s. */
static uint32_t session_len(uint32_t s)
{
    return 1 + (s * 2654435761u >> 7) % 40u;
}

typedef struct thread_ctx {
    reco_replay *r;
    uint32_t id;
    /* adder: the first index of each of its segments and what it holds */
    uint64_t *seg_first;
    uint32_t *seg_session, *seg_k0, *seg_n;
    size_t n_segs;
    int failures; /* calls that returned an error */
    /* sampler */
    atomic_int *adders_left;
    uint64_t *log_index;
    int32_t *log_action;
    size_t n_log;
    size_t window_errors, batches, updated;
    size_t batches_while_adding; /* sampled while adders were still running */
    atomic_int *sampled;          /* batches sampled so far, shared */
} thread_ctx;

static void *adder_main(void *arg)
{
    thread_ctx *c = arg;
    reco_rng rng;
    reco_rng_seed(&rng, 500 + c->id, 0);
    int32_t items[40], hist[TL];
    uint32_t fb[40], hfb[TL];
    float rew[40];
    for (uint32_t i = 0; i < SESSIONS_PER_ADDER; i++) {
        /* Halfway, wait until the sampler has drawn a few batches, so that sampling and
         * adding overlap whatever the scheduler does (bounded: ~10 s at most). */
        for (int spin = 0; i == SESSIONS_PER_ADDER / 2 && atomic_load(c->sampled) < 5 &&
                           spin < 100000; spin++)
            nanosleep(&(struct timespec){0, 100000}, NULL);
        const uint32_t s = c->id * 100000u + i, len = session_len(s);
        for (uint32_t k0 = 0; k0 < len;) {
            const uint32_t n0 = 1 + (uint32_t)reco_rng_below(&rng, 8);
            const uint32_t n = len - k0 < n0 ? len - k0 : n0;
            const uint32_t h = k0 < TL ? k0 : TL;
            for (uint32_t q = 0; q < h; q++) {
                hist[q] = item_of(s, k0 - h + q);
                hfb[q] = fb_of(hist[q]);
            }
            for (uint32_t j = 0; j < n; j++) {
                items[j] = item_of(s, k0 + j);
                fb[j] = fb_of(items[j]);
                rew[j] = reward_of(items[j]);
            }
            reco_replay_segment seg = RECO_REPLAY_SEGMENT_INIT;
            seg.history_len = h;
            seg.history_items = hist;
            seg.history_feedback = hfb;
            seg.n_steps = n;
            seg.items = items;
            seg.feedback = fb;
            seg.rewards = rew;
            seg.ends_session = k0 + n == len;
            uint64_t first = 0;
            if (reco_replay_add_segment(&first, c->r, &seg) != RECO_OK) {
                c->failures++;
            } else {
                c->seg_first[c->n_segs] = first;
                c->seg_session[c->n_segs] = s;
                c->seg_k0[c->n_segs] = k0;
                c->seg_n[c->n_segs] = n;
                c->n_segs++;
            }
            k0 += n;
        }
    }
    atomic_fetch_sub(c->adders_left, 1);
    return NULL;
}

/* Checks a sampled row against the encoding of its action: (session, step) -> windows. */
static int row_ok(const bufs *x, uint32_t b)
{
    const int32_t a = x->act[b];
    if (a < 0)
        return 0;
    const uint32_t s = (uint32_t)a / 64u, k = (uint32_t)a % 64u, len = session_len(s);
    if (k >= len || x->rew[b] != reward_of(a) || x->done[b] != (k + 1 == len))
        return 0;
    for (uint32_t q = 0; q < TL; q++) {
        const long ks = (long)k - TL + (long)q, kn = ks + 1;
        const int32_t ws = ks < 0 ? RECO_PAD : item_of(s, (uint32_t)ks);
        const int32_t wn = kn < 0 ? RECO_PAD : item_of(s, (uint32_t)kn);
        if (x->s_items[b * TL + q] != ws || x->n_items[b * TL + q] != wn ||
            x->s_fb[b * TL + q] != (ws < 0 ? 0 : fb_of(ws)) ||
            x->n_fb[b * TL + q] != (wn < 0 ? 0 : fb_of(wn)))
            return 0;
    }
    return x->w[b] > 0.0f && x->w[b] <= 1.0f && x->prob[b] > 0.0f;
}

static void *sampler_main(void *arg)
{
    thread_ctx *c = arg;
    bufs *x = bufs_new(TL, TB);
    float p[TB];
    reco_rng rng;
    reco_rng_seed(&rng, 900, 0);
    while (atomic_load(c->adders_left) > 0 || c->batches < 200) {
        const int rc = reco_replay_sample(&x->b, c->r, TB);
        if (rc == RECO_ESTATE)
            continue; /* not enough yet */
        if (rc != RECO_OK) {
            c->failures++;
            break;
        }
        c->batches++;
        atomic_fetch_add(c->sampled, 1);
        if (atomic_load(c->adders_left) > 0)
            c->batches_while_adding++;
        for (uint32_t b = 0; b < TB; b++) {
            if (!row_ok(x, b))
                c->window_errors++;
            if (c->n_log < MAX_SAMPLES) {
                c->log_index[c->n_log] = x->idx[b];
                c->log_action[c->n_log] = x->act[b];
                c->n_log++;
            }
            p[b] = (float)(reco_rng_uniform(&rng) * 10.0);
        }
        size_t updated = 0;
        if (reco_replay_update_priorities(&updated, c->r, x->idx, p, TB) != RECO_OK)
            c->failures++;
        c->updated += updated;
        if (c->batches % 64 == 0) {
            double beta;
            reco_replay_stats st = RECO_REPLAY_STATS_INIT;
            if (reco_replay_get_stats(&st, c->r) != RECO_OK ||
                reco_replay_get_param(&beta, c->r, RECO_REPLAY_PARAM_BETA) != RECO_OK)
                c->failures++;
        }
    }
    bufs_free(x);
    return NULL;
}

static void test_replay_threads_add_while_sampling(void **state)
{
    dirfix *f = *state;
    reco_replay_options o = opts_of(RECO_REPLAY_PROPORTIONAL, 3000, 0, TL);
    o.beta_steps = 500;
    reco_replay *r = new_replay(&o);
    atomic_int adders_left = N_ADDERS, sampled = 0;
    thread_ctx ctx[N_ADDERS + 1];
    pthread_t th[N_ADDERS + 1];
    const size_t max_segs = SESSIONS_PER_ADDER * 40;
    for (int t = 0; t <= N_ADDERS; t++) {
        memset(&ctx[t], 0, sizeof ctx[t]);
        ctx[t].r = r;
        ctx[t].id = (uint32_t)t;
        ctx[t].adders_left = &adders_left;
        ctx[t].sampled = &sampled;
        if (t < N_ADDERS) {
            ctx[t].seg_first = malloc(max_segs * sizeof(uint64_t));
            ctx[t].seg_session = malloc(max_segs * sizeof(uint32_t));
            ctx[t].seg_k0 = malloc(max_segs * sizeof(uint32_t));
            ctx[t].seg_n = malloc(max_segs * sizeof(uint32_t));
        } else {
            ctx[t].log_index = malloc(MAX_SAMPLES * sizeof(uint64_t));
            ctx[t].log_action = malloc(MAX_SAMPLES * sizeof(int32_t));
        }
    }
    assert_int_equal(pthread_create(&th[N_ADDERS], NULL, sampler_main, &ctx[N_ADDERS]), 0);
    for (int t = 0; t < N_ADDERS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, adder_main, &ctx[t]), 0);
    for (int t = 0; t <= N_ADDERS; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);

    /* every call succeeded and every sampled window matched its (session, step) */
    uint64_t total = 0;
    for (int t = 0; t <= N_ADDERS; t++)
        assert_int_equal(ctx[t].failures, 0);
    const thread_ctx *smp = &ctx[N_ADDERS];
    assert_int_equal(smp->window_errors, 0);
    assert_true(smp->batches >= 200);
    assert_true(smp->batches_while_adding > 0); /* the calls did overlap */
    assert_true(smp->updated > 0);
    for (int t = 0; t < N_ADDERS; t++)
        for (size_t k = 0; k < ctx[t].n_segs; k++)
            total += ctx[t].seg_n[k];
    reco_replay_stats st = stats_of(r);
    assert_int_equal(st.next_index, total);
    assert_true(st.size <= 3000 && st.size > 1000);
    print_message("replay threads: %llu transitions added by %d threads, %zu batches of %d "
                  "sampled (%zu while adding), %zu priorities updated\n",
                  (unsigned long long)total, N_ADDERS, smp->batches, TB,
                  smp->batches_while_adding, smp->updated);

    /* every sampled index is one that was issued, for the action that was added under it */
    int32_t *action_of = malloc(total * sizeof(int32_t));
    for (uint64_t i = 0; i < total; i++)
        action_of[i] = -7;
    for (int t = 0; t < N_ADDERS; t++)
        for (size_t k = 0; k < ctx[t].n_segs; k++)
            for (uint32_t j = 0; j < ctx[t].seg_n[k]; j++)
                action_of[ctx[t].seg_first[k] + j] = item_of(ctx[t].seg_session[k],
                                                             ctx[t].seg_k0[k] + j);
    for (uint64_t i = 0; i < total; i++)
        assert_true(action_of[i] >= 0); /* indices are dense: each issued once */
    for (size_t k = 0; k < smp->n_log; k++) {
        assert_true(smp->log_index[k] < total);
        assert_int_equal(smp->log_action[k], action_of[smp->log_index[k]]);
    }
    free(action_of);

    /* the tree equals its leaves, and the stored segments are consistent (a load checks
     * every window of the saved contents) */
    assert_tree_consistent(r);
    assert_int_equal(reco_replay_save(r, f->path), RECO_OK);
    reco_replay *l = new_replay(&o);
    assert_int_equal(reco_replay_load(l, f->path), RECO_OK);
    reco_replay_free(l);
    bufs *x = bufs_new(TL, 3000);
    sample_ok(r, x, (uint32_t)st.size);
    for (uint32_t b = 0; b < st.size; b++)
        assert_true(row_ok(x, b));
    bufs_free(x);

    for (int t = 0; t <= N_ADDERS; t++) {
        free(ctx[t].seg_first);
        free(ctx[t].seg_session);
        free(ctx[t].seg_k0);
        free(ctx[t].seg_n);
        free(ctx[t].log_index);
        free(ctx[t].log_action);
    }
    reco_replay_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_options_macro_equals_init),
        cmocka_unit_test(test_replay_create_rejects_bad_options),
        cmocka_unit_test(test_replay_window_reconstruction_exact),
        cmocka_unit_test(test_replay_pads_when_history_is_short),
        cmocka_unit_test(test_replay_done_flags),
        cmocka_unit_test(test_replay_ring_wrap_around),
        cmocka_unit_test(test_replay_history_heavy_segments_evict_by_records),
        cmocka_unit_test(test_replay_proportional_frequencies),
        cmocka_unit_test(test_replay_uniform_is_uniform),
        cmocka_unit_test(test_replay_is_weights_match_formula),
        cmocka_unit_test(test_replay_beta_schedule),
        cmocka_unit_test(test_replay_stratified_one_draw_per_segment),
        cmocka_unit_test(test_replay_large_batch_strata_and_frequencies),
        cmocka_unit_test(test_replay_new_transitions_get_max_priority),
        cmocka_unit_test(test_replay_update_by_index_and_stale_indices),
        cmocka_unit_test(test_replay_set_alpha_reweights_stored_priorities),
        cmocka_unit_test(test_replay_bad_inputs_store_nothing),
        cmocka_unit_test(test_replay_zero_allocation_in_add_sample_update),
        cmocka_unit_test(test_replay_create_enomem_leaks_nothing),
        cmocka_unit_test(test_replay_memory_report),
        cmocka_unit_test(test_replay_tree_matches_leaves_after_churn),
        cmocka_unit_test(test_replay_same_seed_same_samples),
        cmocka_unit_test(test_replay_context_round_trip),
        cmocka_unit_test(test_replay_context_memory),
        cmocka_unit_test(test_replay_context_bad_inputs),
        cmocka_unit_test(test_replay_context_zero_allocation),
        cmocka_unit_test_setup_teardown(test_replay_save_load_round_trip, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_replay_context_save_load, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_replay_context_load_refuses_inconsistent,
                                        setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_replay_load_refuses_bad_files, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_replay_threads_add_while_sampling, setup_dir,
                                        teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
