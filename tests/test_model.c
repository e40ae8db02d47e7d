/* Tests of reco_model (lib/model.c): options and their errors, allocation failure, a
 * whole-network finite-difference check of both losses, Adam/AdamW with clipping and the lazy
 * sparse rows, scoring and retrieval against naive double-precision references, determinism,
 * zero allocation in the hot calls, bad input, concurrent read-only calls, and parameter copies.
 * Links the library's objects to read the parameter block (m->params, m->grads, m->lay).
 * Checkpoints (reco_model_save/load/open) are tested elsewhere.
 *
 * Gradient checks. A tiny model (N 13, d 8, L 4, 2 blocks of 2 heads, ffn 12, F 3, U 5,
 * max_batch 6), initialised with std 0.3 plus jitter on every parameter (so that LayerNorm
 * gains, biases and item biases are not at their special initial values), sees a batch of 4
 * with pads, an all-pad row, repeated items, feedback bits (also on pads, where they must be
 * ignored) and user features. For EVERY parameter p (~1.5k per model) the analytic gradient
 * a (zero_grad, train_*) is compared with a Richardson-extrapolated central difference
 * n = (4 D(h/2) - D(h)) / 3, D(h) = (loss(p+) - loss(p-)) / (p+ - p-), p+- = fl(p +- h),
 * h = 2e-2 max(1, |p|), each loss from a fresh train_* call (forward in float32, loss summed
 * in double). Plain central differences were not good enough: with h = 1e-2 the truncation
 * error h^2 |f'''| / 6 reached 7% on an entry (a row whose LayerNorm input has a small
 * variance is strongly curved; n converged to a as h shrank), and with h = 3e-3 the forward's
 * rounding (~1e-7..1e-6 relative on the loss) / 2h left up to 1.6e-4 of noise. Extrapolation
 * cancels the h^2 term, so h can be large and the noise small (measured worst |a - n|: 3e-5).
 * Bounds: |a - n| <= 1e-2 max(|a|, |n|) + 1e-4 per entry, and ||a - n|| / ||n|| < 1e-2 per
 * tensor whose gradient norm exceeds 1e-3 (measured: < 3e-4). A wrong term in a backward (a
 * dropped residual, a missing scale) gives errors of order 1. Both Huber branches occur
 * (targets are set at fixed offsets from the predictions, 0.3 or more from the kink). The same
 * checks run with 1 block and without user features. */
#include "test_common.h"
#include "model_private.h"

#include <math.h>
#include <pthread.h>

/* ---- helpers ------------------------------------------------------------------------------ */

/* Handles and buffers of the running test, freed by teardown even when an assertion fails. */
#define MAX_TRACKED 64
static reco_model *models[MAX_TRACKED];
static size_t n_models;
static reco_workspace *workspaces[MAX_TRACKED];
static size_t n_workspaces;
static void *bufs[MAX_TRACKED];
static size_t n_bufs;

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_models; i++)
        reco_model_free(models[i]);
    for (size_t i = 0; i < n_workspaces; i++)
        reco_workspace_free(workspaces[i]);
    for (size_t i = 0; i < n_bufs; i++)
        free(bufs[i]);
    n_models = n_workspaces = n_bufs = 0;
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

static float *buf(size_t n)
{
    return buf_bytes(n * sizeof(float));
}

static float *buf_copy(const float *src, size_t n)
{
    float *p = buf(n);
    memcpy(p, src, n * sizeof *p);
    return p;
}

static reco_model *new_model(const reco_model_options *o)
{
    reco_model *m = NULL;
    int rc = reco_model_create(&m, o);
    if (rc != RECO_OK)
        fail_msg("reco_model_create: %s", reco_error_message());
    assert_true(n_models < MAX_TRACKED);
    models[n_models++] = m;
    return m;
}

/* Frees a tracked model now (for tests that count handles or allocations). */
static void drop_model(reco_model *m)
{
    for (size_t i = 0; i < n_models; i++) {
        if (models[i] == m) {
            models[i] = models[--n_models];
            reco_model_free(m);
            return;
        }
    }
    fail_msg("drop_model: untracked model");
}

static reco_workspace *new_workspace(const reco_model *m)
{
    reco_workspace *w = NULL;
    int rc = reco_workspace_create(&w, m);
    if (rc != RECO_OK)
        fail_msg("reco_workspace_create: %s", reco_error_message());
    assert_true(n_workspaces < MAX_TRACKED);
    workspaces[n_workspaces++] = w;
    return w;
}

static void drop_workspace(reco_workspace *w)
{
    for (size_t i = 0; i < n_workspaces; i++) {
        if (workspaces[i] == w) {
            workspaces[i] = workspaces[--n_workspaces];
            reco_workspace_free(w);
            return;
        }
    }
    fail_msg("drop_workspace: untracked workspace");
}

/* Allocator that counts, and fails the fail_at-th allocation (0 = never), or with fail_rest
 * every allocation from that one on. */
typedef struct counting {
    size_t allocs, frees, fail_at, attempts;
    int fail_rest;
} counting;

static void *counting_alloc(void *opaque, size_t size, size_t align)
{
    counting *c = opaque;
    c->attempts++;
    if (c->fail_at != 0 &&
        (c->attempts == c->fail_at || (c->fail_rest && c->attempts > c->fail_at)))
        return NULL;
    void *p = NULL;
    if (posix_memalign(&p, align, size) != 0)
        return NULL;
    c->allocs++;
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

#define SENTINEL 12345.0f

static int all_sentinel(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != SENTINEL)
            return 0;
    return 1;
}

static void fill_sentinel(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = SENTINEL;
}

/* Adds scale * N(0, 1) to every parameter. */
static void jitter_params(reco_model *m, uint64_t seed, float scale)
{
    reco_rng r;
    assert_int_equal(reco_rng_seed(&r, seed, 17), RECO_OK);
    for (size_t i = 0; i < m->lay.n_params; i++)
        m->params[i] += scale * (float)reco_rng_normal(&r);
}

/* ---- the tiny model and its batch ---------------------------------------------------------- */

#define TN 13 /* items */
#define TD 8  /* dim */
#define TL 4  /* lookback */
#define TF 3  /* signals */
#define TU 5  /* user features */
#define TB 4  /* the batch size; max_batch is TB + 2 */
#define TC 16 /* max_candidates */
#define TH (TF + 2)
#define TLL 3 /* long_len of the full-input models */
#define TDI 2 /* dense item features */
#define TKC 2 /* categorical item fields, of sizes 3 and 4 */

/* The version-2 inputs: position, elapsed time, long-term history, item features. */
enum { INPUTS_V1 = 0, INPUTS_ALL = 1 };

static void set_all_inputs(reco_model_options *o)
{
    o->position = 1;
    o->elapsed = 1;
    o->long_len = TLL;
    o->item_dense_dim = TDI;
    o->item_n_fields = TKC;
    o->item_field_sizes[0] = 3;
    o->item_field_sizes[1] = 4;
}

/* Item features of the tiny catalog: dense values of both signs and zeros, fields with some
 * items unknown (-1). */
static void tiny_item_features(float dense[TN * TDI], int32_t fields[TN * TKC])
{
    for (size_t i = 0; i < TN; i++) {
        dense[i * TDI] = i % 4 == 0 ? 0.0f : cosf(0.7f * (float)i);
        dense[i * TDI + 1] = 0.5f * sinf(1.1f * (float)i + 0.3f);
        fields[i * TKC] = i % 5 == 4 ? -1 : (int32_t)(i % 3);
        fields[i * TKC + 1] = i % 7 == 6 ? -1 : (int32_t)((i * 3) % 4);
    }
}

static reco_model_options tiny_options_in(uint32_t n_blocks, uint32_t user_dim, int inputs)
{
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = TN;
    o.dim = TD;
    o.lookback = TL;
    o.n_blocks = n_blocks;
    o.n_heads = 2;
    o.ffn_dim = 12;
    o.n_signals = TF;
    o.user_dim = user_dim;
    o.max_batch = TB + 2;
    o.max_candidates = TC;
    o.init_std = 0.3f;
    o.seed = 7;
    if (inputs == INPUTS_ALL)
        set_all_inputs(&o);
    return o;
}

static reco_model_options tiny_options(uint32_t n_blocks, uint32_t user_dim)
{
    return tiny_options_in(n_blocks, user_dim, INPUTS_V1);
}

static reco_model *tiny_model_in(uint32_t n_blocks, uint32_t user_dim, int inputs)
{
    reco_model_options o = tiny_options_in(n_blocks, user_dim, inputs);
    reco_model *m = new_model(&o);
    jitter_params(m, 11, 0.1f);
    if (inputs == INPUTS_ALL) {
        float dense[TN * TDI];
        int32_t fields[TN * TKC];
        tiny_item_features(dense, fields);
        assert_int_equal(reco_model_set_item_features(m, dense, fields, TN), RECO_OK);
    }
    return m;
}

static reco_model *tiny_model(uint32_t n_blocks, uint32_t user_dim)
{
    return tiny_model_in(n_blocks, user_dim, INPUTS_V1);
}

typedef struct tiny_batch {
    int32_t items[TB * TL];
    uint32_t feedback[TB * TL];
    float user[TB * TU];
    int32_t cand[TB * TC];
    int32_t shown[TB];  /* train_bce's shown items */
    int32_t chosen[TB]; /* train_scalar's items */
    float labels[TB * (TF + 1)];
    float weights[TB];
    uint32_t steps[TB];
    float elapsed[TB];
    int32_t long_items[TB * TLL];
    uint32_t long_fb[TB * TLL];
    reco_batch b;
} tiny_batch;

static void tiny_batch_init(tiny_batch *t, uint32_t user_dim)
{
    static const int32_t items[TB * TL] = {
        3, RECO_PAD, 5, 7,
        RECO_PAD, RECO_PAD, RECO_PAD, RECO_PAD, /* all pads: only the user slot */
        1, 3, 3, 9,                             /* a repeated item */
        RECO_PAD, 11, 2, 5,
    };
    static const uint32_t feedback[TB * TL] = {
        1, 7, 6, 0,
        5, 2, 7, 1, /* on pads: ignored */
        0, 7, 1, 4,
        3, 3, 0, 6,
    };
    static const int32_t shown[TB] = {4, 0, 9, 4};
    static const int32_t chosen[TB] = {6, 3, 12, 0};
    static const float labels[TB * (TF + 1)] = {
        1, 0, 0, 1,
        0, 0.3f, 1, 0,
        1, 1, 0, 0,
        0, 0, 1, 1,
    };
    static const float weights[TB] = {1.0f, 0.5f, 2.0f, 0.25f};
    memcpy(t->items, items, sizeof items);
    memcpy(t->feedback, feedback, sizeof feedback);
    memcpy(t->shown, shown, sizeof shown);
    memcpy(t->chosen, chosen, sizeof chosen);
    memcpy(t->labels, labels, sizeof labels);
    memcpy(t->weights, weights, sizeof weights);
    for (size_t i = 0; i < TB * TU; i++)
        t->user[i] = sinf(1.3f * (float)i + 0.2f);
    for (size_t i = 0; i < TB * TC; i++)
        t->cand[i] = (int32_t)((i * 5 + 3) % TN);
    /* the session context: first step, mid-window, one step in, past the window; the long
     * history with pads, an all-pad row, a repeated item and signals of every kind */
    static const uint32_t steps[TB] = {0, 3, 1, 7};
    static const float elapsed[TB] = {0.0f, 45.5f, 3.0f, 700.0f};
    static const int32_t long_items[TB * TLL] = {2, 5, RECO_PAD, RECO_PAD, RECO_PAD, RECO_PAD,
                                                 9, 9, 1, 12, RECO_PAD, 0};
    static const uint32_t long_fb[TB * TLL] = {1, 3, 7, 0, 0, 0, 5, 0, 2, 7, 1, 4};
    memcpy(t->steps, steps, sizeof steps);
    memcpy(t->elapsed, elapsed, sizeof elapsed);
    memcpy(t->long_items, long_items, sizeof long_items);
    memcpy(t->long_fb, long_fb, sizeof long_fb);
    const reco_batch b = {RECO_BATCH_VERSION, TB, t->items, t->feedback,
                          user_dim > 0 ? t->user : NULL, TC, t->cand, 1,
                          t->steps, t->elapsed, t->long_items, t->long_fb};
    t->b = b;
}

/* ---- 1. options ---------------------------------------------------------------------------- */

static void assert_options_equal(const reco_model_options *a, const reco_model_options *b)
{
    assert_int_equal(a->version, b->version);
    assert_ptr_equal(a->allocator, b->allocator);
    assert_int_equal(a->n_items, b->n_items);
    assert_int_equal(a->dim, b->dim);
    assert_int_equal(a->lookback, b->lookback);
    assert_int_equal(a->n_blocks, b->n_blocks);
    assert_int_equal(a->n_heads, b->n_heads);
    assert_int_equal(a->ffn_dim, b->ffn_dim);
    assert_int_equal(a->n_signals, b->n_signals);
    assert_int_equal(a->user_dim, b->user_dim);
    assert_true(a->seed == b->seed);
    assert_true(a->init_std == b->init_std);
    assert_int_equal(a->max_batch, b->max_batch);
    assert_int_equal(a->max_candidates, b->max_candidates);
    assert_int_equal(a->threads, b->threads);
    assert_true(a->lr == b->lr);
    assert_true(a->beta1 == b->beta1);
    assert_true(a->beta2 == b->beta2);
    assert_true(a->adam_eps == b->adam_eps);
    assert_true(a->weight_decay == b->weight_decay);
    assert_true(a->clip_norm == b->clip_norm);
    if (a->version < 2 || b->version < 2)
        return;
    assert_int_equal(a->position, b->position);
    assert_int_equal(a->elapsed, b->elapsed);
    assert_int_equal(a->long_len, b->long_len);
    assert_int_equal(a->item_dense_dim, b->item_dense_dim);
    assert_int_equal(a->item_n_fields, b->item_n_fields);
    for (size_t k = 0; k < RECO_MODEL_MAX_ITEM_FIELDS; k++)
        assert_int_equal(a->item_field_sizes[k], b->item_field_sizes[k]);
    assert_int_equal(a->state_bias, b->state_bias);
    assert_int_equal(a->deterministic, b->deterministic);
}

static void test_model_options_defaults(void **state)
{
    (void)state;
    const reco_model_options macro = RECO_MODEL_OPTIONS_INIT;
    reco_model_options fn;
    memset(&fn, 0xab, sizeof fn);
    assert_int_equal(reco_model_options_init(&fn, RECO_MODEL_OPTIONS_VERSION), RECO_OK);
    assert_options_equal(&macro, &fn);
    /* the documented defaults */
    assert_int_equal(macro.version, 3);
    assert_null(macro.allocator);
    assert_int_equal(macro.n_items, 1000);
    assert_int_equal(macro.dim, 64);
    assert_int_equal(macro.lookback, 20);
    assert_int_equal(macro.n_blocks, 1);
    assert_int_equal(macro.n_heads, 2);
    assert_int_equal(macro.ffn_dim, 256);
    assert_int_equal(macro.n_signals, 4);
    assert_int_equal(macro.user_dim, 0);
    assert_true(macro.seed == 1);
    assert_true(macro.init_std == 0.02f);
    assert_int_equal(macro.max_batch, 256);
    assert_int_equal(macro.max_candidates, 512);
    assert_int_equal(macro.threads, 1);
    assert_true(macro.lr == 1e-3f && macro.beta1 == 0.9f && macro.beta2 == 0.999f);
    assert_true(macro.adam_eps == 1e-8f && macro.weight_decay == 0.0f);
    assert_true(macro.clip_norm == 1.0f);
    /* version 2: the new inputs are off, except the state term */
    assert_int_equal(macro.position, 0);
    assert_int_equal(macro.elapsed, 0);
    assert_int_equal(macro.long_len, 0);
    assert_int_equal(macro.item_dense_dim, 0);
    assert_int_equal(macro.item_n_fields, 0);
    assert_int_equal(macro.state_bias, 1);
    /* version 3: BLIS products unless asked */
    assert_int_equal(macro.deterministic, 0);

    assert_reco_error(reco_model_options_init(NULL, 1), RECO_EINVAL, "NULL");
    assert_reco_error(reco_model_options_init(&fn, 0), RECO_EVERSION, "version");
    assert_reco_error(reco_model_options_init(&fn, 4), RECO_EVERSION, "version");
    /* a version-1 struct ends before `position`: init and get_options never write past it */
    const size_t v1_size = offsetof(reco_model_options, position);
    memset(&fn, 0xab, sizeof fn);
    assert_int_equal(reco_model_options_init(&fn, 1), RECO_OK);
    for (size_t i = v1_size; i < sizeof fn; i++)
        assert_int_equal(((const unsigned char *)&fn)[i], 0xab);
    assert_int_equal(fn.version, 1);
    assert_int_equal(fn.dim, 64);

    /* NULL options = defaults; get_options returns what was created */
    reco_model *m = new_model(NULL);
    reco_model_options got = {.version = 3};
    assert_int_equal(reco_model_get_options(&got, m), RECO_OK);
    assert_options_equal(&got, &macro);
    assert_int_equal(reco_model_n_heads(m), 6);
    memset(&got, 0xab, sizeof got);
    got.version = 1;
    assert_int_equal(reco_model_get_options(&got, m), RECO_OK);
    for (size_t i = v1_size; i < sizeof got; i++)
        assert_int_equal(((const unsigned char *)&got)[i], 0xab);
    assert_int_equal(got.version, 1);
    assert_int_equal(got.n_items, 1000);
    /* the fields past a version-1 struct are never read: they take their defaults */
    reco_model_options v1 = RECO_MODEL_OPTIONS_INIT;
    v1.version = 1;
    v1.state_bias = 99;
    v1.long_len = 100000;
    reco_model *m1 = new_model(&v1);
    got.version = 2;
    assert_int_equal(reco_model_get_options(&got, m1), RECO_OK);
    assert_int_equal(got.state_bias, 1);
    assert_int_equal(got.long_len, 0);
    assert_int_equal(reco_model_n_params(m1), reco_model_n_params(m));
    /* a version-2 struct ends before `deterministic`: never read, never written */
    reco_model_options v2 = RECO_MODEL_OPTIONS_INIT;
    v2.version = 2;
    v2.deterministic = 99;
    reco_model *m2 = new_model(&v2);
    memset(&got, 0xab, sizeof got);
    got.version = 2;
    assert_int_equal(reco_model_get_options(&got, m2), RECO_OK);
    for (size_t i = offsetof(reco_model_options, deterministic); i < sizeof got; i++)
        assert_int_equal(((const unsigned char *)&got)[i], 0xab);
    got.version = 3;
    assert_int_equal(reco_model_get_options(&got, m2), RECO_OK);
    assert_int_equal(got.deterministic, 0);
    got.version = 4;
    assert_reco_error(reco_model_get_options(&got, m), RECO_EVERSION, "version");
    assert_reco_error(reco_model_get_options(NULL, m), RECO_EINVAL, "NULL");

    reco_model_options t = tiny_options(2, TU);
    reco_model *tm = new_model(&t);
    got.version = 3;
    assert_int_equal(reco_model_get_options(&got, tm), RECO_OK);
    assert_options_equal(&got, &t);
    assert_int_equal(reco_model_n_heads(tm), TH);

    size_t ws_bytes = 0;
    assert_int_equal(reco_model_workspace_size(&ws_bytes, &t), RECO_OK);
    assert_true(ws_bytes > 0);
    assert_reco_error(reco_model_workspace_size(NULL, &t), RECO_EINVAL, "NULL");
}

/* The layout tiles [0, n_params) without gaps or overlaps, dense tensors first. */
static void test_model_layout_tiles_block(void **state)
{
    (void)state;
    for (uint32_t U = 0; U <= TU; U += TU) {
        reco_model_options o = tiny_options(2, U);
        reco__model_layout lay;
        assert_int_equal(reco__model_layout_init(&lay, &o), RECO_OK);
        const size_t d = TD, T = TL + 1, f = 12, H = TH;
        size_t expect = 0;
        assert_int_equal(lay.pos_emb, expect);
        expect += T * d;
        assert_int_equal(lay.sig_emb, expect);
        expect += TF * d;
        assert_int_equal(lay.user_tok, expect);
        expect += d;
        assert_int_equal(lay.user_proj, expect);
        expect += U * d;
        /* the state term is on by default; the other version-2 inputs are off (no room) */
        assert_int_equal(lay.item_femb, expect);
        assert_int_equal(lay.item_fbias, expect);
        assert_int_equal(lay.state_w, expect);
        expect += d * H;
        assert_int_equal(lay.state_b, expect);
        expect += H;
        for (size_t l = 0; l < 2; l++) {
            const reco__block_layout *b = &lay.blk[l];
            const size_t offs[] = {b->ln1_g, b->ln1_b, b->w_qkv, b->b_qkv, b->w_o, b->b_o,
                                   b->ln2_g, b->ln2_b, b->w_ff1, b->b_ff1, b->w_ff2, b->b_ff2};
            const size_t sizes[] = {d, d, 3 * d * d, 3 * d, d * d, d, d, d, d * f, f, f * d, d};
            for (size_t k = 0; k < 12; k++) {
                assert_int_equal(offs[k], expect);
                expect += sizes[k];
            }
        }
        assert_int_equal(lay.lnf_g, expect);
        assert_int_equal(lay.lnf_b, expect + d);
        assert_int_equal(lay.head_w, expect + 2 * d);
        expect += 2 * d + d * H * d;
        assert_int_equal(lay.n_dense, expect);
        assert_int_equal(lay.item_emb, expect);
        assert_int_equal(lay.item_bias, expect + TN * d);
        assert_int_equal(lay.n_params, expect + TN * d + TN * H);
    }
    /* with every input: each tensor where the file comment of model_private.h puts it */
    reco_model_options o = tiny_options_in(1, TU, INPUTS_ALL);
    reco__model_layout lay;
    assert_int_equal(reco__model_layout_init(&lay, &o), RECO_OK);
    const size_t d = TD, T = TL + 1, H = TH, F1 = TF + 1, K = RECO__CURVE_KNOTS;
    size_t expect = T * d + TF * d + d + TU * d;
    const size_t offs[] = {lay.sess_emb, lay.step_curve, lay.time_curve, lay.long_proj,
                           lay.long_stat, lay.item_dproj, lay.item_dbias, lay.item_femb,
                           lay.item_fbias, lay.state_w, lay.state_b, lay.blk[0].ln1_g};
    const size_t sizes[] = {d, K * d, K * d, F1 * d * d, F1 * d, TDI * d, TDI * H, 7 * d, 7 * H,
                            d * H, H};
    for (size_t k = 0; k < sizeof offs / sizeof offs[0]; k++) {
        assert_int_equal(offs[k], expect);
        if (k < sizeof sizes / sizeof sizes[0])
            expect += sizes[k];
    }
    assert_int_equal(lay.field_off[0], 0);
    assert_int_equal(lay.field_off[1], 3);
    assert_int_equal(lay.n_field_rows, 7);
}

static void test_model_options_invalid(void **state)
{
    (void)state;
    reco_model_options o;
    reco_model *m = (reco_model *)&o; /* must be reset to NULL on failure */
    size_t bytes = 12345;

#define EXPECT_BAD(stmt, code, needle)                                                        \
    do {                                                                                      \
        o = tiny_options(2, TU);                                                              \
        stmt;                                                                                 \
        m = (reco_model *)&o;                                                                 \
        assert_reco_error(reco_model_create(&m, &o), code, needle);                           \
        assert_null(m);                                                                       \
        assert_reco_error(reco_model_workspace_size(&bytes, &o), code, needle);               \
        assert_int_equal(bytes, 12345);                                                       \
    } while (0)

    const size_t live = reco_live_handles();
    EXPECT_BAD(o.version = 0, RECO_EVERSION, "version");
    EXPECT_BAD(o.version = 4, RECO_EVERSION, "version");
    EXPECT_BAD(o.deterministic = 2, RECO_EINVAL, "model.deterministic");
    EXPECT_BAD(o.position = 2, RECO_EINVAL, "model.position");
    EXPECT_BAD(o.elapsed = -1, RECO_EINVAL, "model.elapsed");
    EXPECT_BAD(o.long_len = 4097, RECO_EINVAL, "model.long_len");
    EXPECT_BAD(o.item_dense_dim = 1025, RECO_EINVAL, "model.item_dense_dim");
    EXPECT_BAD(o.item_n_fields = RECO_MODEL_MAX_ITEM_FIELDS + 1, RECO_EINVAL,
               "model.item_n_fields");
    EXPECT_BAD(o.item_n_fields = 2; o.item_field_sizes[0] = 3, RECO_EINVAL,
               "model.item_field_sizes");
    EXPECT_BAD(o.item_n_fields = 1; o.item_field_sizes[0] = (1u << 24) + 1, RECO_EINVAL,
               "model.item_field_sizes");
    EXPECT_BAD(o.state_bias = 2, RECO_EINVAL, "model.state_bias");
    EXPECT_BAD(o.n_items = 0, RECO_EINVAL, "model.n_items");
    EXPECT_BAD(o.n_items = 0x80000000u, RECO_EINVAL, "model.n_items");
    EXPECT_BAD(o.dim = 0, RECO_EINVAL, "model.dim");
    EXPECT_BAD(o.dim = 4097, RECO_EINVAL, "model.dim");
    EXPECT_BAD(o.dim = 6; o.n_heads = 4, RECO_EINVAL, "model.n_heads");
    EXPECT_BAD(o.dim = 9, RECO_EINVAL, "not a multiple");
    EXPECT_BAD(o.lookback = 0, RECO_EINVAL, "model.lookback");
    EXPECT_BAD(o.lookback = 513, RECO_EINVAL, "model.lookback");
    EXPECT_BAD(o.n_blocks = 0, RECO_EINVAL, "model.n_blocks");
    EXPECT_BAD(o.n_blocks = 17, RECO_EINVAL, "model.n_blocks");
    EXPECT_BAD(o.n_heads = 0, RECO_EINVAL, "model.n_heads");
    EXPECT_BAD(o.ffn_dim = 0, RECO_EINVAL, "model.ffn_dim");
    EXPECT_BAD(o.n_signals = 0, RECO_EINVAL, "model.n_signals");
    EXPECT_BAD(o.n_signals = 17, RECO_EINVAL, "model.n_signals");
    EXPECT_BAD(o.max_batch = 0, RECO_EINVAL, "model.max_batch");
    EXPECT_BAD(o.max_candidates = 0, RECO_EINVAL, "model.max_candidates");
    EXPECT_BAD(o.threads = 0, RECO_EINVAL, "model.threads");
    EXPECT_BAD(o.init_std = 0.0f, RECO_EINVAL, "model.init_std");
    EXPECT_BAD(o.init_std = NAN, RECO_EINVAL, "model.init_std");
    EXPECT_BAD(o.init_std = 1.5f, RECO_EINVAL, "model.init_std");
    EXPECT_BAD(o.lr = NAN, RECO_EINVAL, "model.lr");
    EXPECT_BAD(o.lr = 0.0f, RECO_EINVAL, "model.lr");
    EXPECT_BAD(o.lr = INFINITY, RECO_EINVAL, "model.lr");
    EXPECT_BAD(o.beta1 = 1.0f, RECO_EINVAL, "model.beta1");
    EXPECT_BAD(o.beta2 = NAN, RECO_EINVAL, "model.beta2");
    EXPECT_BAD(o.adam_eps = 0.0f, RECO_EINVAL, "model.adam_eps");
    EXPECT_BAD(o.weight_decay = -0.1f, RECO_EINVAL, "model.weight_decay");
    EXPECT_BAD(o.clip_norm = -1.0f, RECO_EINVAL, "model.clip_norm");
    EXPECT_BAD(o.clip_norm = NAN, RECO_EINVAL, "model.clip_norm");
#undef EXPECT_BAD
    assert_int_equal(reco_live_handles(), live);

    o = tiny_options(2, TU);
    assert_reco_error(reco_model_create(NULL, &o), RECO_EINVAL, "NULL");
    /* a caller's allocator of an unknown version */
    reco_allocator bad_alloc = {99, counting_alloc, counting_free, NULL};
    o.allocator = &bad_alloc;
    m = (reco_model *)&o;
    assert_true(reco_model_create(&m, &o) < 0);
    assert_null(m);
    assert_int_equal(reco_live_handles(), live);

    reco_workspace *w = (reco_workspace *)&o;
    assert_reco_error(reco_workspace_create(&w, NULL), RECO_EINVAL, "NULL");
    assert_null(w);
    assert_reco_error(reco_workspace_create(NULL, NULL), RECO_EINVAL, "NULL");
    reco_model_free(NULL);
    reco_workspace_free(NULL);
}

/* RECO_FORCE_KERNEL (lib/nn.c) is read at creation: a value that names no path is refused
 * with nothing to free; a valid one gives the same model as the option it stands for. */
static void test_model_force_kernel_env(void **state)
{
    (void)state;
    const size_t live = reco_live_handles();
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = 50;
    o.dim = 8;
    o.ffn_dim = 16;
    o.max_batch = 8;
    o.max_candidates = 8;
    reco_model *m = (reco_model *)&o;
    setenv("RECO_FORCE_KERNEL", "avx512", 1);
    assert_reco_error(reco_model_create(&m, &o), RECO_EINVAL,
                      "RECO_FORCE_KERNEL: 'avx512' is neither 'portable' nor 'blis'");
    assert_null(m);
    assert_int_equal(reco_live_handles(), live);
    setenv("RECO_FORCE_KERNEL", "portable", 1);
    assert_int_equal(reco_model_create(&m, &o), RECO_OK);
    assert_int_equal(m->blas.portable, 1);
    reco_model_free(m);
    unsetenv("RECO_FORCE_KERNEL");
    o.deterministic = 1;
    assert_int_equal(reco_model_create(&m, &o), RECO_OK);
    assert_int_equal(m->blas.portable, 1);
    reco_model_free(m);
    o.deterministic = 0;
    assert_int_equal(reco_model_create(&m, &o), RECO_OK);
    assert_int_equal(m->blas.portable, 0);
    reco_model_free(m);
    assert_int_equal(reco_live_handles(), live);
}

static void test_model_create_enomem(void **state)
{
    (void)state;
    const size_t live = reco_live_handles();
    counting c = {0};
    reco_allocator a = {RECO_ALLOCATOR_VERSION, counting_alloc, counting_free, &c};
    reco_model_options o = tiny_options(2, TU);
    o.allocator = &a;
    reco_model *m = new_model(&o);
    const size_t n_create = c.allocs;
    assert_true(n_create >= 2);
    reco_workspace *w = new_workspace(m);
    const size_t n_ws = c.allocs - n_create;
    assert_true(n_ws >= 1);
    drop_workspace(w);
    drop_model(m);
    assert_int_equal(c.allocs, c.frees);
    assert_int_equal(reco_live_handles(), live);

    for (int rest = 0; rest < 2; rest++) {
        for (size_t k = 1; k <= n_create; k++) {
            counting f = {0, 0, k, 0, rest};
            reco_allocator fa = {RECO_ALLOCATOR_VERSION, counting_alloc, counting_free, &f};
            o.allocator = &fa;
            reco_model *out = (reco_model *)&o;
            assert_reco_error(reco_model_create(&out, &o), RECO_ENOMEM, "");
            assert_null(out);
            assert_int_equal(f.allocs, f.frees);
            assert_int_equal(reco_live_handles(), live);
        }
    }
    /* a workspace whose allocation fails: the model is fine, nothing leaks */
    for (size_t k = 1; k <= n_ws; k++) {
        counting f = {0};
        reco_allocator fa = {RECO_ALLOCATOR_VERSION, counting_alloc, counting_free, &f};
        o.allocator = &fa;
        reco_model *mm = new_model(&o);
        f.fail_at = f.attempts + k;
        reco_workspace *out = (reco_workspace *)&o;
        assert_reco_error(reco_workspace_create(&out, mm), RECO_ENOMEM, "");
        assert_null(out);
        assert_int_equal(reco_live_handles(), live + 1);
        drop_model(mm);
        assert_int_equal(f.allocs, f.frees);
        assert_int_equal(reco_live_handles(), live);
    }
}

/* ---- 2. gradient checks -------------------------------------------------------------------- */

typedef struct tensor_ref {
    char name[32];
    size_t off, n;
} tensor_ref;

/* Every tensor of the layout, in order. */
static size_t list_tensors(tensor_ref *t, const reco_model *m)
{
    const reco__model_layout *y = &m->lay;
    const size_t d = m->d, f = m->ffn, H = m->H;
    size_t k = 0;
#define ADD(label, offset, count)                                                             \
    do {                                                                                      \
        snprintf(t[k].name, sizeof t[k].name, "%s", label);                                   \
        t[k].off = (offset);                                                                  \
        t[k].n = (count);                                                                     \
        k++;                                                                                  \
    } while (0)
    ADD("pos_emb", y->pos_emb, m->T * d);
    ADD("sig_emb", y->sig_emb, m->F * d);
    ADD("user_tok", y->user_tok, d);
    if (m->U > 0)
        ADD("user_proj", y->user_proj, m->U * d);
    if (m->opts.position) {
        ADD("sess_emb", y->sess_emb, d);
        ADD("step_curve", y->step_curve, RECO__CURVE_KNOTS * d);
    }
    if (m->opts.elapsed)
        ADD("time_curve", y->time_curve, RECO__CURVE_KNOTS * d);
    if (m->Hl > 0) {
        ADD("long_proj", y->long_proj, (m->F + 1) * d * d);
        ADD("long_stat", y->long_stat, (m->F + 1) * d);
    }
    if (m->Di > 0) {
        ADD("item_dproj", y->item_dproj, m->Di * d);
        ADD("item_dbias", y->item_dbias, m->Di * H);
    }
    if (m->Kc > 0) {
        ADD("item_femb", y->item_femb, y->n_field_rows * d);
        ADD("item_fbias", y->item_fbias, y->n_field_rows * H);
    }
    if (m->opts.state_bias) {
        ADD("state_w", y->state_w, d * H);
        ADD("state_b", y->state_b, H);
    }
    for (size_t l = 0; l < m->nb; l++) {
        const reco__block_layout *b = &y->blk[l];
        const struct {
            const char *s;
            size_t off, n;
        } parts[] = {
            {"ln1_g", b->ln1_g, d}, {"ln1_b", b->ln1_b, d}, {"w_qkv", b->w_qkv, 3 * d * d},
            {"b_qkv", b->b_qkv, 3 * d}, {"w_o", b->w_o, d * d}, {"b_o", b->b_o, d},
            {"ln2_g", b->ln2_g, d}, {"ln2_b", b->ln2_b, d}, {"w_ff1", b->w_ff1, d * f},
            {"b_ff1", b->b_ff1, f}, {"w_ff2", b->w_ff2, f * d}, {"b_ff2", b->b_ff2, d},
        };
        for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++) {
            char label[32];
            snprintf(label, sizeof label, "blk%u.%s", (unsigned)l, parts[p].s);
            ADD(label, parts[p].off, parts[p].n);
        }
    }
    ADD("lnf_g", y->lnf_g, d);
    ADD("lnf_b", y->lnf_b, d);
    ADD("head_w", y->head_w, d * H * d);
    ADD("item_emb", y->item_emb, m->N * d);
    ADD("item_bias", y->item_bias, m->N * H);
#undef ADD
    return k;
}

enum { LOSS_BCE, LOSS_SCALAR, LOSS_CQL };

/* The conservative penalty's candidates in the gradient checks: row b's are the CQL_C
 * entries of tb->cand from b * CQL_C (per-row lists, some repeating the row's item). */
#define CQL_C 4

typedef struct loss_case {
    int kind;
    uint32_t head;
    float delta;
    const float *targets;
    const tiny_batch *tb;
    float alpha; /* LOSS_CQL */
} loss_case;

static double case_loss(reco_model *m, const loss_case *c, float *pred_out)
{
    double loss = NAN;
    int rc;
    if (c->kind == LOSS_BCE)
        rc = reco_model_train_bce(&loss, m, &c->tb->b, c->tb->shown, c->tb->labels,
                                  c->tb->weights);
    else if (c->kind == LOSS_SCALAR)
        rc = reco_model_train_scalar(&loss, pred_out, m, &c->tb->b, c->tb->chosen, c->head,
                                     c->targets, c->tb->weights, c->delta);
    else
        rc = reco__model_train_scalar_cql(&loss, NULL, pred_out, m, &c->tb->b, c->tb->chosen,
                                          c->head, c->targets, c->tb->weights, c->delta,
                                          c->alpha, c->tb->cand, CQL_C, 0);
    if (rc != RECO_OK)
        fail_msg("train: %s", reco_error_message());
    assert_true(isfinite(loss));
    return loss;
}

/* (loss(p + h) - loss(p - h)) / (p+ - p-) for parameter i, with the float steps actually
 * taken; restores nothing (the caller does). */
static double central_step(reco_model *m, const loss_case *c, size_t i, float p, float h)
{
    const float pp = p + h, pm = p - h;
    m->params[i] = pp;
    const double lp = case_loss(m, c, NULL);
    assert_int_equal(reco_model_zero_grad(m), RECO_OK);
    m->params[i] = pm;
    const double lm = case_loss(m, c, NULL);
    assert_int_equal(reco_model_zero_grad(m), RECO_OK);
    return (lp - lm) / ((double)pp - (double)pm);
}

/* Richardson-extrapolated central difference (4 D(h/2) - D(h)) / 3: truncation O(h^4). */
static double central_difference(reco_model *m, const loss_case *c, size_t i, float h)
{
    const float p = m->params[i];
    const double d1 = central_step(m, c, i, p, h), d2 = central_step(m, c, i, p, 0.5f * h);
    m->params[i] = p;
    return (4.0 * d2 - d1) / 3.0;
}

typedef struct gc_stats {
    double worst_rel; /* over entries with max(|a|, |n|) >= 1e-3 */
    double worst_abs;
    double worst_rel_big; /* over entries with max(|a|, |n|) >= 1e-2 */
    char worst_where[64];
    double worst_tensor_rel;
    size_t n_checked;
} gc_stats;

/* Checks every parameter of `m` under the loss `c` (see the file comment for the bounds), that
 * item rows outside the batch get exactly zero gradient, and that the touched-row list is
 * exactly the set of items in the batch. */
static void gradcheck(reco_model *m, const loss_case *c, gc_stats *st)
{
    const size_t P = m->lay.n_params, d = m->d, H = m->H;
    assert_int_equal(reco_model_zero_grad(m), RECO_OK);
    const double loss0 = case_loss(m, c, NULL);
    float *a = buf_copy(m->grads, P);
    const float *params0 = buf_copy(m->params, P);

    /* item rows: the history's non-pad items and the scored items */
    int seen[TN] = {0};
    size_t n_seen = 0;
    for (size_t i = 0; i < (size_t)c->tb->b.size * m->L; i++)
        if (c->tb->b.items[i] != RECO_PAD)
            seen[c->tb->b.items[i]] = 1;
    for (size_t i = 0; i < (size_t)c->tb->b.size * m->Hl; i++)
        if (c->tb->b.long_items[i] != RECO_PAD)
            seen[c->tb->b.long_items[i]] = 1;
    const int32_t *scored = c->kind == LOSS_BCE ? c->tb->shown : c->tb->chosen;
    for (size_t r = 0; r < c->tb->b.size; r++)
        seen[scored[r]] = 1;
    for (size_t i = 0; c->kind == LOSS_CQL && i < (size_t)c->tb->b.size * CQL_C; i++)
        seen[c->tb->cand[i]] = 1;
    for (size_t i = 0; i < TN; i++)
        n_seen += (size_t)seen[i];
    assert_int_equal(m->n_touched, n_seen);
    for (size_t i = 0; i < m->n_touched; i++)
        assert_true(seen[m->touched[i]]);
    for (size_t i = 0; i < TN; i++) {
        assert_int_equal(m->row_touched[i], seen[i]);
        if (seen[i])
            continue;
        for (size_t j = 0; j < d; j++)
            assert_true(a[m->lay.item_emb + i * d + j] == 0.0f);
        for (size_t j = 0; j < H; j++)
            assert_true(a[m->lay.item_bias + i * H + j] == 0.0f);
    }
    assert_int_equal(reco_model_zero_grad(m), RECO_OK);

    tensor_ref t[64];
    const size_t nt = list_tensors(t, m);
    size_t covered = 0;
    for (size_t k = 0; k < nt; k++) {
        assert_int_equal(t[k].off, covered); /* every parameter is checked */
        covered += t[k].n;
        double err2 = 0.0, ref2 = 0.0;
        for (size_t i = t[k].off; i < t[k].off + t[k].n; i++) {
            const float p = m->params[i];
            const double n = central_difference(m, c, i, 2e-2f * fmaxf(1.0f, fabsf(p)));
            m->params[i] = p;
            const double ai = a[i], diff = fabs(ai - n), mx = fmax(fabs(ai), fabs(n));
            err2 += diff * diff;
            st->worst_abs = fmax(st->worst_abs, diff);
            if (mx >= 1e-2)
                st->worst_rel_big = fmax(st->worst_rel_big, diff / mx);
            ref2 += n * n;
            if (mx >= 1e-3 && diff / mx > st->worst_rel) {
                st->worst_rel = diff / mx;
                snprintf(st->worst_where, sizeof st->worst_where, "%.31s[%zu]", t[k].name,
                         i - t[k].off);
            }
            if (!(diff <= 1e-2 * mx + 1e-4))
                fail_msg("%s[%zu]: analytic %.6g, numerical %.6g (loss %.9g)", t[k].name,
                         i - t[k].off, ai, n, loss0);
            st->n_checked++;
        }
        if (sqrt(ref2) > 1e-3) {
            const double rel = sqrt(err2 / ref2);
            if (rel > st->worst_tensor_rel)
                st->worst_tensor_rel = rel;
            if (!(rel < 1e-2))
                fail_msg("%s: ||a - n|| / ||n|| = %.3g", t[k].name, rel);
        }
    }
    assert_int_equal(covered, P);
    /* the check restored every parameter exactly */
    assert_memory_equal(m->params, params0, P * sizeof(float));
}

/* Model configurations of the gradient checks: (n_blocks, user_dim, inputs). */
static const uint32_t gc_configs[][3] = {
    {2, TU, INPUTS_V1}, {1, TU, INPUTS_V1}, {2, 0, INPUTS_V1}, {2, TU, INPUTS_ALL},
    {1, 0, INPUTS_ALL}};

static void run_gradchecks(int kind, uint32_t head, const char *label)
{
    gc_stats st = {0};
    for (size_t k = 0; k < sizeof gc_configs / sizeof gc_configs[0]; k++) {
        reco_model *m = tiny_model_in(gc_configs[k][0], gc_configs[k][1], (int)gc_configs[k][2]);
        tiny_batch *tb = buf_bytes(sizeof *tb);
        tiny_batch_init(tb, gc_configs[k][1]);
        loss_case c = {kind, head, 0.0f, NULL, tb, kind == LOSS_CQL ? 0.7f : 0.0f};
        float *targets = buf(TB);
        if (kind == LOSS_SCALAR || kind == LOSS_CQL) {
            /* targets at fixed offsets from the predictions: rows 0 and 2 in the quadratic
             * branch of the Huber loss, rows 1 and 3 in the linear one */
            static const float offs[TB] = {0.1f, -1.5f, -0.2f, 2.0f};
            float pred[TB];
            c.delta = 0.5f;
            c.targets = targets;
            case_loss(m, &c, pred);
            assert_int_equal(reco_model_zero_grad(m), RECO_OK);
            for (size_t r = 0; r < TB; r++)
                targets[r] = pred[r] + offs[r];
        }
        gradcheck(m, &c, &st);
    }
    print_message("gradcheck %s: %zu parameters; worst rel err %.3g (|grad| >= 1e-3, at %s), "
                  "%.3g (|grad| >= 1e-2); worst abs err %.3g; worst tensor rel err %.3g\n",
                  label, st.n_checked, st.worst_rel, st.worst_where, st.worst_rel_big,
                  st.worst_abs, st.worst_tensor_rel);
}

static void test_model_gradcheck_bce(void **state)
{
    (void)state;
    run_gradchecks(LOSS_BCE, 0, "bce");
}

static void test_model_gradcheck_scalar_q(void **state)
{
    (void)state;
    run_gradchecks(LOSS_SCALAR, TF + 1, "scalar/Q");
}

static void test_model_gradcheck_scalar_signal(void **state)
{
    (void)state;
    run_gradchecks(LOSS_SCALAR, 1, "scalar/signal 1");
}

/* The Q-network's conservative update: Huber plus alpha * (log-sum-exp over the row's
 * candidates and item - the item's score), per-row candidates. */
static void test_model_gradcheck_cql(void **state)
{
    (void)state;
    run_gradchecks(LOSS_CQL, TF + 1, "scalar+CQL/Q");
}

/* Its value against a naive computation from score(), with the penalty alone reported. */
static void test_model_cql_loss_value(void **state)
{
    (void)state;
    reco_model *m = tiny_model(2, TU);
    tiny_batch *tb = buf_bytes(sizeof *tb);
    tiny_batch_init(tb, TU);
    const uint32_t hq = TF + 1;
    reco_batch b = tb->b;
    b.n_candidates = 1;
    b.shared_candidates = 0;
    b.candidates = tb->chosen;
    float qa[TB], qc[TB * CQL_C];
    assert_int_equal(reco_model_score(qa, m, NULL, &b, &hq, 1), RECO_OK);
    b.n_candidates = CQL_C;
    b.candidates = tb->cand;
    assert_int_equal(reco_model_score(qc, m, NULL, &b, &hq, 1), RECO_OK);
    const float targets[TB] = {0.3f, -2.0f, 1.0f, 0.0f}, delta = 0.7f, alpha = 0.4f;
    double huber = 0.0, pen = 0.0;
    for (size_t r = 0; r < TB; r++) {
        const double e = (double)qa[r] - targets[r];
        huber += tb->weights[r] * (fabs(e) <= delta ? 0.5 * e * e
                                                     : delta * (fabs(e) - 0.5 * delta));
        double z = exp(qa[r]);
        for (size_t c = 0; c < CQL_C; c++)
            z += exp(qc[r * CQL_C + c]);
        pen += tb->weights[r] * (log(z) - qa[r]);
    }
    double loss = 0.0, p = 0.0;
    float pred[TB];
    assert_int_equal(reco_model_zero_grad(m), RECO_OK);
    assert_int_equal(reco__model_train_scalar_cql(&loss, &p, pred, m, &tb->b, tb->chosen, hq,
                                                  targets, tb->weights, delta, alpha, tb->cand,
                                                  CQL_C, 0), RECO_OK);
    assert_true(p > 0.0);
    assert_float_equal(p, pen / TB, 1e-5);
    assert_float_equal(loss, (huber + alpha * pen) / TB, 1e-5);
    for (size_t r = 0; r < TB; r++)
        assert_float_equal(pred[r], qa[r], 1e-5);
    /* a candidate id outside the catalog is refused */
    int32_t bad[TB * CQL_C];
    memcpy(bad, tb->cand, sizeof bad);
    bad[5] = TN;
    assert_int_equal(reco_model_zero_grad(m), RECO_OK);
    assert_reco_error(reco__model_train_scalar_cql(&loss, &p, pred, m, &tb->b, tb->chosen, hq,
                                                   targets, tb->weights, delta, alpha, bad,
                                                   CQL_C, 0),
                      RECO_EINVAL, "candidates");
}

/* The losses themselves, against a naive computation from score(): BCE over the F + 1 heads
 * with row weights, Huber with weights, both divided by B; pred_out equals score() on the Q
 * head. */
static void test_model_loss_values(void **state)
{
    (void)state;
    reco_model *m = tiny_model(2, TU);
    tiny_batch *tb = buf_bytes(sizeof *tb);
    tiny_batch_init(tb, TU);
    const uint32_t heads[TH] = {0, 1, 2, 3, 4};
    reco_batch b = tb->b;
    b.n_candidates = 1;
    b.shared_candidates = 0;
    b.candidates = tb->shown;
    float s[TB * TH];
    assert_int_equal(reco_model_score(s, m, NULL, &b, heads, TH), RECO_OK);
    double ref = 0.0;
    for (size_t r = 0; r < TB; r++)
        for (size_t h = 0; h < TF + 1; h++) {
            const double z = s[r * TH + h], y = tb->labels[r * (TF + 1) + h];
            ref += tb->weights[r] * (log1p(exp(-fabs(z))) + fmax(z, 0.0) - y * z);
        }
    ref /= TB;
    double loss = 0.0;
    assert_int_equal(reco_model_zero_grad(m), RECO_OK);
    assert_int_equal(reco_model_train_bce(&loss, m, &tb->b, tb->shown, tb->labels, tb->weights),
                     RECO_OK);
    assert_true(fabs(loss - ref) <= 1e-5 * fmax(1.0, fabs(ref)));

    /* Huber on the Q head */
    b.candidates = tb->chosen;
    assert_int_equal(reco_model_score(s, m, NULL, &b, heads, TH), RECO_OK);
    const float targets[TB] = {0.3f, -2.0f, 1.0f, 0.0f};
    const float delta = 0.7f;
    ref = 0.0;
    for (size_t r = 0; r < TB; r++) {
        const double e = (double)s[r * TH + TF + 1] - targets[r];
        const double l = fabs(e) <= delta ? 0.5 * e * e : delta * (fabs(e) - 0.5 * delta);
        ref += tb->weights[r] * l;
    }
    ref /= TB;
    float pred[TB];
    assert_int_equal(reco_model_zero_grad(m), RECO_OK);
    assert_int_equal(reco_model_train_scalar(&loss, pred, m, &tb->b, tb->chosen, TF + 1, targets,
                                             tb->weights, delta), RECO_OK);
    assert_true(fabs(loss - ref) <= 1e-5 * fmax(1.0, fabs(ref)));
    for (size_t r = 0; r < TB; r++) {
        const float q = s[r * TH + TF + 1];
        if (!(fabsf(pred[r] - q) <= 1e-5f * fmaxf(1.0f, fabsf(q))))
            fail_msg("row %zu: pred_out %.9g, score %.9g", r, (double)pred[r], (double)q);
    }
    /* NULL weights mean 1 */
    double l1 = 0.0, l2 = 0.0;
    const float ones[TB] = {1, 1, 1, 1};
    assert_int_equal(reco_model_train_bce(&l1, m, &tb->b, tb->shown, tb->labels, NULL), RECO_OK);
    assert_int_equal(reco_model_train_bce(&l2, m, &tb->b, tb->shown, tb->labels, ones), RECO_OK);
    assert_true(l1 == l2);
}

/* Training calls accumulate: bce then scalar gives the sum of their separate gradients, and
 * zero_grad (or a step) starts afresh. */
static void test_model_grads_accumulate(void **state)
{
    (void)state;
    reco_model *m = tiny_model(2, TU);
    tiny_batch *tb = buf_bytes(sizeof *tb);
    tiny_batch_init(tb, TU);
    const size_t P = m->lay.n_params;
    const float targets[TB] = {1.0f, -1.0f, 0.5f, 2.0f};
    assert_int_equal(reco_model_train_bce(NULL, m, &tb->b, tb->shown, tb->labels, tb->weights),
                     RECO_OK);
    const float *g1 = buf_copy(m->grads, P);
    assert_int_equal(reco_model_zero_grad(m), RECO_OK);
    for (size_t i = 0; i < P; i++)
        assert_true(m->grads[i] == 0.0f);
    assert_int_equal(m->n_touched, 0);
    assert_int_equal(reco_model_train_scalar(NULL, NULL, m, &tb->b, tb->chosen, TF + 1, targets,
                                             NULL, 0.7f), RECO_OK);
    const float *g2 = buf_copy(m->grads, P);
    assert_int_equal(reco_model_zero_grad(m), RECO_OK);
    assert_int_equal(reco_model_train_bce(NULL, m, &tb->b, tb->shown, tb->labels, tb->weights),
                     RECO_OK);
    assert_int_equal(reco_model_train_scalar(NULL, NULL, m, &tb->b, tb->chosen, TF + 1, targets,
                                             NULL, 0.7f), RECO_OK);
    assert_int_equal(reco_model_train_bce(NULL, m, &tb->b, tb->shown, tb->labels, tb->weights),
                     RECO_OK);
    for (size_t i = 0; i < P; i++) {
        const float want = 2.0f * g1[i] + g2[i];
        if (!(fabsf(m->grads[i] - want) <= 1e-5f * fmaxf(1e-2f, fabsf(want))))
            fail_msg("param %zu: %.9g, expected 2 * %.9g + %.9g", i, (double)m->grads[i],
                     (double)g1[i], (double)g2[i]);
    }
    /* the touched list is the union, without duplicates */
    int in_list[TN] = {0};
    for (size_t k = 0; k < m->n_touched; k++) {
        assert_false(in_list[m->touched[k]]);
        in_list[m->touched[k]] = 1;
    }
    for (size_t i = 0; i < TN; i++) {
        const int any = g1[m->lay.item_bias + i * TH + 0] != 0.0f ||
                        g2[m->lay.item_bias + i * TH + TF + 1] != 0.0f ||
                        g1[m->lay.item_emb + i * TD] != 0.0f ||
                        g2[m->lay.item_emb + i * TD] != 0.0f;
        if (any)
            assert_true(in_list[i]);
    }
    assert_int_equal(reco_model_step(NULL, m), RECO_OK);
    assert_int_equal(m->n_touched, 0);
    for (size_t i = 0; i < P; i++)
        assert_true(m->grads[i] == 0.0f && (i >= TN || !m->row_touched[i]));
}

/* ---- 3. Adam ------------------------------------------------------------------------------- */

static reco_model_options adam_options(void)
{
    reco_model_options o = tiny_options(2, TU);
    o.lr = 1e-2f;
    o.beta1 = 0.9f;
    o.beta2 = 0.99f;
    o.adam_eps = 1e-8f;
    o.weight_decay = 0.1f;
    o.clip_norm = 0.0f;
    return o;
}

static float g_step1(size_t i)
{
    return 0.1f * sinf(0.37f * (float)i + 1.0f);
}

static float g_step2(size_t i)
{
    return 0.05f * cosf(0.11f * (float)i) - 0.02f;
}

/* One AdamW update in double with the float hyper-parameters (bias corrections at step t). */
static void adam_ref(double *p, double *mo, double *ve, double g, const reco_model_options *o,
                     unsigned t)
{
    const double b1 = o->beta1, b2 = o->beta2;
    *mo = b1 * *mo + (1.0 - b1) * g;
    *ve = b2 * *ve + (1.0 - b2) * g * g;
    const double mh = *mo / (1.0 - pow(b1, t)), vh = *ve / (1.0 - pow(b2, t));
    *p -= (double)o->lr * (mh / (sqrt(vh) + (double)o->adam_eps) + (double)o->weight_decay * *p);
}

static void test_model_adam_dense(void **state)
{
    (void)state;
    const reco_model_options o = adam_options();
    reco_model *m = new_model(&o);
    const size_t P = m->lay.n_params, nd = m->lay.n_dense;
    const float *p0 = buf_copy(m->params, P);
    double *p = buf_bytes(nd * sizeof(double)), *mo = buf_bytes(nd * sizeof(double));
    double *ve = buf_bytes(nd * sizeof(double));
    for (size_t i = 0; i < nd; i++)
        p[i] = p0[i];
    for (unsigned t = 1; t <= 2; t++) {
        assert_int_equal(reco_model_zero_grad(m), RECO_OK);
        double sq = 0.0;
        for (size_t i = 0; i < nd; i++) {
            m->grads[i] = t == 1 ? g_step1(i) : g_step2(i);
            sq += (double)m->grads[i] * m->grads[i];
            adam_ref(&p[i], &mo[i], &ve[i], m->grads[i], &o, t);
        }
        double norm = -1.0;
        assert_int_equal(reco_model_step(&norm, m), RECO_OK);
        assert_true(fabs(norm - sqrt(sq)) <= 1e-12 * sqrt(sq));
        assert_true(m->step == t);
        double worst = 0.0;
        for (size_t i = 0; i < nd; i++) {
            const double e = fabs(m->params[i] - p[i]);
            worst = fmax(worst, e);
            if (!(e <= 1e-6 + 1e-6 * fabs(p[i])))
                fail_msg("step %u, param %zu: %.9g, expected %.9g", t, i, (double)m->params[i],
                         p[i]);
            assert_true(fabs(m->adam_m[i] - mo[i]) <= 1e-7 + 1e-6 * fabs(mo[i]));
            assert_true(fabs(m->adam_v[i] - ve[i]) <= 1e-9 + 1e-6 * fabs(ve[i]));
        }
        /* the step zeroed the gradients */
        for (size_t i = 0; i < P; i++)
            assert_true(m->grads[i] == 0.0f);
    }
    /* a hand-checked value: step 1 moves every parameter by lr (1 + wd p) against the sign
     * of its gradient (mhat / sqrt(vhat) = sign(g) at step 1) */
    {
        const size_t i = 5;
        const double g = g_step1(i), p1 = p0[i] - 1e-2 * (copysign(1.0, g) + 0.1 * p0[i]);
        (void)p1;
        double pr = p0[i], mr = 0.0, vr = 0.0;
        adam_ref(&pr, &mr, &vr, g, &o, 1);
        assert_true(fabs(pr - p1) <= 1e-7);
    }
    /* item rows had no gradient: unchanged, moments zero (lazy: not even weight decay) */
    assert_memory_equal(m->params + nd, p0 + nd, (P - nd) * sizeof(float));
    for (size_t i = nd; i < P; i++)
        assert_true(m->adam_m[i] == 0.0f && m->adam_v[i] == 0.0f);
}

static void test_model_adam_clipping(void **state)
{
    (void)state;
    reco_model_options o = adam_options();
    o.clip_norm = 0.5f;
    reco_model *clip = new_model(&o);
    o.clip_norm = 0.0f;
    reco_model *ref = new_model(&o);
    const size_t P = clip->lay.n_params, nd = clip->lay.n_dense;
    assert_memory_equal(clip->params, ref->params, P * sizeof(float));

    /* a gradient of norm > 0.5 (on dense params and on a touched item row) */
    tiny_batch *tb = buf_bytes(sizeof *tb);
    tiny_batch_init(tb, TU);
    for (int pass = 0; pass < 2; pass++) {
        reco_model *m = pass == 0 ? clip : ref;
        assert_int_equal(reco_model_zero_grad(m), RECO_OK);
        assert_int_equal(reco_model_train_bce(NULL, m, &tb->b, tb->shown, tb->labels, NULL),
                         RECO_OK);
        for (size_t i = 0; i < nd; i++)
            m->grads[i] += g_step1(i);
    }
    assert_memory_equal(clip->grads, ref->grads, P * sizeof(float));
    double sq = 0.0;
    for (size_t i = 0; i < nd; i++)
        sq += (double)clip->grads[i] * clip->grads[i];
    for (size_t k = 0; k < clip->n_touched; k++) {
        const size_t id = (size_t)clip->touched[k];
        for (size_t j = 0; j < TD; j++) {
            const double g = clip->grads[clip->lay.item_emb + id * TD + j];
            sq += g * g;
        }
        for (size_t j = 0; j < TH; j++) {
            const double g = clip->grads[clip->lay.item_bias + id * TH + j];
            sq += g * g;
        }
    }
    const double norm = sqrt(sq);
    assert_true(norm > 1.0);
    /* the reference model gets the gradient scaled by hand, with clipping off */
    const float scale = (float)(0.5 / norm);
    for (size_t i = 0; i < P; i++)
        ref->grads[i] *= scale;
    double got = 0.0, got_ref = 0.0;
    assert_int_equal(reco_model_step(&got, clip), RECO_OK);
    assert_int_equal(reco_model_step(&got_ref, ref), RECO_OK);
    assert_true(fabs(got - norm) <= 1e-9 * norm); /* the norm before clipping */
    assert_true(fabs(got_ref - 0.5) <= 1e-6);
    for (size_t i = 0; i < P; i++)
        if (!(fabsf(clip->params[i] - ref->params[i]) <=
              1e-7f * fmaxf(1.0f, fabsf(ref->params[i]))))
            fail_msg("param %zu: clipped %.9g, scaled by hand %.9g", i, (double)clip->params[i],
                     (double)ref->params[i]);

    /* a gradient below the clip norm is not scaled */
    reco_model_options o2 = adam_options();
    o2.clip_norm = 1e3f;
    reco_model *loose = new_model(&o2);
    o2.clip_norm = 0.0f;
    reco_model *none = new_model(&o2);
    for (size_t i = 0; i < nd; i++)
        loose->grads[i] = none->grads[i] = g_step2(i);
    assert_int_equal(reco_model_step(&got, loose), RECO_OK);
    assert_int_equal(reco_model_step(&got_ref, none), RECO_OK);
    assert_true(got == got_ref);
    assert_memory_equal(loose->params, none->params, P * sizeof(float));

    /* set_param changes the clip norm */
    double v = 0.0;
    assert_int_equal(reco_model_set_param(none, RECO_MODEL_PARAM_CLIP_NORM, 0.25), RECO_OK);
    assert_int_equal(reco_model_get_param(&v, none, RECO_MODEL_PARAM_CLIP_NORM), RECO_OK);
    assert_true(v == 0.25);
    assert_reco_error(reco_model_set_param(none, RECO_MODEL_PARAM_CLIP_NORM, -1.0), RECO_EINVAL,
                      "range");
    assert_reco_error(reco_model_set_param(none, RECO_MODEL_PARAM_LR, NAN), RECO_EINVAL, "range");
    assert_reco_error(reco_model_set_param(none, (reco_model_param)9, 1.0), RECO_EINVAL,
                      "unknown");
    assert_reco_error(reco_model_set_param(none, RECO_MODEL_PARAM_THREADS, 1.5), RECO_EINVAL,
                      "integer");
}

static void test_model_adam_nonfinite_gradient(void **state)
{
    (void)state;
    const reco_model_options o = adam_options();
    reco_model *m = new_model(&o);
    const size_t P = m->lay.n_params;
    tiny_batch *tb = buf_bytes(sizeof *tb);
    tiny_batch_init(tb, TU);
    const float bad[] = {NAN, INFINITY, -INFINITY};
    float *p = buf(P), *mo = buf(P), *ve = buf(P);
    for (int where = 0; where < 2; where++) {
        for (size_t k = 0; k < 3; k++) {
            assert_int_equal(reco_model_zero_grad(m), RECO_OK);
            assert_int_equal(reco_model_train_bce(NULL, m, &tb->b, tb->shown, tb->labels, NULL),
                             RECO_OK);
            /* a dense parameter, or a touched item row */
            const size_t i = where == 0
                                 ? m->lay.blk[1].w_ff2 + 3
                                 : m->lay.item_emb + (size_t)m->touched[m->n_touched - 1] * TD + 2;
            m->grads[i] = bad[k];
            memcpy(p, m->params, P * sizeof(float));
            memcpy(mo, m->adam_m, P * sizeof(float));
            memcpy(ve, m->adam_v, P * sizeof(float));
            const uint64_t step = m->step;
            double norm = 42.0;
            assert_reco_error(reco_model_step(&norm, m), RECO_EINVAL, "not finite");
            assert_true(norm == 42.0);
            assert_true(m->step == step);
            assert_memory_equal(m->params, p, P * sizeof(float));
            assert_memory_equal(m->adam_m, mo, P * sizeof(float));
            assert_memory_equal(m->adam_v, ve, P * sizeof(float));
        }
        /* a good step after the failures works */
        assert_int_equal(reco_model_zero_grad(m), RECO_OK);
        assert_int_equal(reco_model_train_bce(NULL, m, &tb->b, tb->shown, tb->labels, NULL),
                         RECO_OK);
        assert_int_equal(reco_model_step(NULL, m), RECO_OK);
    }
    assert_reco_error(reco_model_step(NULL, NULL), RECO_EINVAL, "NULL");
    assert_reco_error(reco_model_zero_grad(NULL), RECO_EINVAL, "NULL");
}

/* ---- 4. sparse rows ------------------------------------------------------------------------ */

/* Five steps of train_bce + step against a dense AdamW in double over the same (captured)
 * gradients. Items 1, 2, 3, 5, 7 are in every batch: their rows follow dense Adam. Item 10 is
 * shown at steps 1 and 4 only: its row is frozen at steps 2 and 3, and at step 4 its moments
 * equal dense Adam's (zero gradients at 2 and 3, i.e. decayed by b1^2, b2^2) and its update is
 * Adam's from those moments. Items never in a batch keep their parameters and zero moments. */
static void test_model_sparse_rows(void **state)
{
    (void)state;
    reco_model_options o = adam_options();
    o.weight_decay = 0.01f;
    o.n_blocks = 1;
    reco_model *m = new_model(&o);
    jitter_params(m, 5, 0.1f);
    const size_t P = m->lay.n_params, nd = m->lay.n_dense, d = TD, H = TH;
    double *p = buf_bytes(P * sizeof(double)), *mo = buf_bytes(P * sizeof(double));
    double *ve = buf_bytes(P * sizeof(double));
    float *g = buf(P);
    const float *init = buf_copy(m->params, P);
    for (size_t i = 0; i < P; i++)
        p[i] = m->params[i];
    const size_t e10 = m->lay.item_emb + 10 * d, b10 = m->lay.item_bias + 10 * H;
    float row10[TD + TH];
    static const int32_t every[] = {1, 2, 3, 5, 7};
    static const int32_t never[] = {4, 6, 8, 9, 11, 12};

    for (unsigned t = 1; t <= 5; t++) {
        const int32_t items[2 * TL] = {3, 1, RECO_PAD, 2, 5, RECO_PAD, 7, 3};
        const uint32_t fb[2 * TL] = {t & 7u, 1, 0, 2, 4, 0, (t * 3) & 7u, 1};
        const float user[2 * TU] = {0.1f * (float)t, -0.2f, 0.3f, 0.0f, 1.0f,
                                    -1.0f, 0.5f, 0.25f * (float)t, 0.0f, 0.2f};
        const int32_t shown[2] = {t == 1 || t == 4 ? 10 : 0, 7};
        const float labels[2 * (TF + 1)] = {1, 0, (float)(t & 1), 0, 0, 1, 1, 0.5f};
        const reco_batch b = {RECO_BATCH_VERSION, 2, items, fb, user, 0, NULL, 0, NULL, NULL, NULL, NULL};
        assert_int_equal(reco_model_zero_grad(m), RECO_OK);
        assert_int_equal(reco_model_train_bce(NULL, m, &b, shown, labels, NULL), RECO_OK);
        memcpy(g, m->grads, P * sizeof(float));
        for (size_t i = 0; i < P; i++)
            adam_ref(&p[i], &mo[i], &ve[i], g[i], &o, t);
        assert_int_equal(reco_model_step(NULL, m), RECO_OK);

        /* dense part and the every-step rows: dense Adam */
        for (size_t i = 0; i < nd; i++)
            if (!(fabs(m->params[i] - p[i]) <= 2e-6 + 2e-6 * fabs(p[i])))
                fail_msg("step %u, dense %zu: %.9g, dense Adam %.9g", t, i,
                         (double)m->params[i], p[i]);
        for (size_t k = 0; k < sizeof every / sizeof every[0]; k++) {
            const size_t id = (size_t)every[k];
            for (size_t j = 0; j < d + H; j++) {
                const size_t i = j < d ? m->lay.item_emb + id * d + j
                                       : m->lay.item_bias + id * H + (j - d);
                if (!(fabs(m->params[i] - p[i]) <= 2e-6 + 2e-6 * fabs(p[i])))
                    fail_msg("step %u, item %zu entry %zu: %.9g, dense Adam %.9g", t, id, j,
                             (double)m->params[i], p[i]);
                assert_true(fabs(m->adam_m[i] - mo[i]) <= 1e-8 + 1e-5 * fabs(mo[i]));
                assert_true(fabs(m->adam_v[i] - ve[i]) <= 1e-10 + 1e-5 * fabs(ve[i]));
            }
        }
        /* item 0 is first shown at step 2: untouched at step 1 (no weight decay either) */
        if (t == 1) {
            assert_memory_equal(m->params + m->lay.item_emb, init + m->lay.item_emb,
                                d * sizeof(float));
            assert_true(m->adam_m[m->lay.item_emb] == 0.0f);
        }
        /* item 10 */
        if (t == 1) {
            for (size_t j = 0; j < d; j++)
                assert_true(fabs(m->params[e10 + j] - p[e10 + j]) <= 2e-6);
            memcpy(row10, m->params + e10, d * sizeof(float));
            memcpy(row10 + d, m->params + b10, H * sizeof(float));
        } else if (t < 4) {
            assert_memory_equal(m->params + e10, row10, d * sizeof(float));
            assert_memory_equal(m->params + b10, row10 + d, H * sizeof(float));
        } else if (t == 4) {
            const double b1 = o.beta1, b2 = o.beta2;
            for (size_t j = 0; j < d + H; j++) {
                const size_t i = j < d ? e10 + j : b10 + (j - d);
                /* moments: dense Adam's, which saw zero gradients at steps 2 and 3 */
                if (!(fabs(m->adam_m[i] - mo[i]) <= 1e-8 + 1e-5 * fabs(mo[i])))
                    fail_msg("item 10 entry %zu: m %.9g, dense Adam %.9g", j,
                             (double)m->adam_m[i], mo[i]);
                assert_true(fabs(m->adam_v[i] - ve[i]) <= 1e-10 + 1e-5 * fabs(ve[i]));
                /* parameter: one Adam update at t = 4 from the value frozen since step 1 */
                const double p1 = row10[j];
                const double mh = mo[i] / (1.0 - pow(b1, 4)), vh = ve[i] / (1.0 - pow(b2, 4));
                const double want =
                    p1 - (double)o.lr * (mh / (sqrt(vh) + (double)o.adam_eps) +
                                         (double)o.weight_decay * p1);
                if (!(fabs(m->params[i] - want) <= 2e-6))
                    fail_msg("item 10 entry %zu at step 4: %.9g, expected %.9g", j,
                             (double)m->params[i], want);
            }
        }
        for (size_t k = 0; k < sizeof never / sizeof never[0]; k++) {
            const size_t id = (size_t)never[k];
            const size_t ie = m->lay.item_emb + id * d, ib = m->lay.item_bias + id * H;
            for (size_t j = 0; j < d; j++)
                assert_true(m->params[ie + j] == init[ie + j] && m->adam_m[ie + j] == 0.0f);
            for (size_t j = 0; j < H; j++)
                assert_true(m->params[ib + j] == init[ib + j] && m->adam_v[ib + j] == 0.0f);
        }
    }
}

/* ---- 5. scoring ---------------------------------------------------------------------------- */

/* Naive double score of item `id` under head h for user vector u: the effective embedding
 * and bias of the item (its row and bias, plus its fields' embeddings and biases and the
 * projection of its dense features), then (u W_h) . e + b + the state term u . v_h + c_h. */
static double naive_score(const reco_model *m, const float *u, size_t h, int32_t id)
{
    const size_t d = m->d, H = m->H, Hd = H * d;
    const float *P = m->params;
    const float *W = P + m->lay.head_w;
    assert_true(d <= 64);
    double e[64];
    double s = P[m->lay.item_bias + (size_t)id * H + h];
    for (size_t j = 0; j < d; j++)
        e[j] = P[m->lay.item_emb + (size_t)id * d + j];
    for (size_t k = 0; k < m->Kc; k++) {
        const int32_t v = m->item_fields[(size_t)id * m->Kc + k];
        if (v < 0)
            continue;
        const size_t row = m->lay.field_off[k] + (size_t)v;
        for (size_t j = 0; j < d; j++)
            e[j] += P[m->lay.item_femb + row * d + j];
        s += P[m->lay.item_fbias + row * H + h];
    }
    for (size_t k = 0; k < m->Di; k++) {
        const double x = m->item_dense[(size_t)id * m->Di + k];
        for (size_t j = 0; j < d; j++)
            e[j] += x * P[m->lay.item_dproj + k * d + j];
        s += x * P[m->lay.item_dbias + k * H + h];
    }
    for (size_t j = 0; j < d; j++) {
        double pj = 0.0;
        for (size_t k = 0; k < d; k++)
            pj += (double)u[k] * W[k * Hd + h * d + j];
        s += pj * e[j];
    }
    if (m->opts.state_bias) {
        s += P[m->lay.state_b + h];
        for (size_t k = 0; k < d; k++)
            s += (double)u[k] * P[m->lay.state_w + k * H + h];
    }
    return s;
}

static void score_matches_naive(int inputs)
{
    reco_model *m = tiny_model_in(2, TU, inputs);
    tiny_batch *tb = buf_bytes(sizeof *tb);
    tiny_batch_init(tb, TU);
    float u[TB * TD];
    assert_int_equal(reco_model_user_vectors(u, m, NULL, &tb->b), RECO_OK);
    /* u is a LayerNorm output: per row mean ~ lnf_b mean, finite */
    for (size_t i = 0; i < TB * TD; i++)
        assert_true(isfinite(u[i]));
    /* candidates may be NULL for user_vectors */
    reco_batch nb = tb->b;
    nb.candidates = NULL;
    nb.n_candidates = 0;
    float u2[TB * TD];
    assert_int_equal(reco_model_user_vectors(u2, m, NULL, &nb), RECO_OK);
    assert_memory_equal(u, u2, sizeof u);

    static const uint32_t sel_sets[][TH] = {{TF + 1, 0, TF, 0, 0}, {0, 1, 2, 3, 4}, {2}};
    static const uint32_t n_sel[] = {3, TH, 1};
    float *out = buf(TB * TH * TC);
    double worst = 0.0;
    /* C = max_candidates and C = 5; the candidates array is (C) if shared, else (B, C) */
    static const uint32_t n_cands[] = {TC, 5};
    for (int shared = 0; shared < 2; shared++)
        for (size_t ci = 0; ci < 2; ci++)
            for (size_t s = 0; s < 3; s++) {
                const size_t C = n_cands[ci];
                reco_batch b = tb->b;
                b.shared_candidates = shared;
                b.n_candidates = (uint32_t)C;
                fill_sentinel(out, TB * TH * TC);
                assert_int_equal(reco_model_score(out, m, NULL, &b, sel_sets[s], n_sel[s]),
                                 RECO_OK);
                for (size_t r = 0; r < TB; r++)
                    for (size_t j = 0; j < n_sel[s]; j++)
                        for (size_t c = 0; c < C; c++) {
                            const int32_t id = tb->cand[(shared ? 0 : r * C) + c];
                            const double ref = naive_score(m, u + r * TD, sel_sets[s][j], id);
                            const double got = out[(r * n_sel[s] + j) * C + c];
                            const double e = fabs(got - ref) / fmax(1.0, fabs(ref));
                            worst = fmax(worst, e);
                            if (!(e <= 1e-4))
                                fail_msg("shared %d C %zu row %zu head %u cand %zu: %.9g, naive "
                                         "%.9g", shared, C, r, sel_sets[s][j], c, got, ref);
                        }
                /* nothing written past (B, n_sel, C) */
                assert_true(all_sentinel(out + TB * n_sel[s] * C, (TH - n_sel[s]) * TB * TC +
                                                                  TB * n_sel[s] * (TC - C)));
            }
    /* the same computation through a separate workspace is bit-identical */
    reco_workspace *w = new_workspace(m);
    float *out2 = buf(TB * TH * TC);
    assert_int_equal(reco_model_score(out, m, NULL, &tb->b, sel_sets[1], TH), RECO_OK);
    assert_int_equal(reco_model_score(out2, m, w, &tb->b, sel_sets[1], TH), RECO_OK);
    assert_memory_equal(out, out2, TB * TH * TC * sizeof(float));
    /* a batch of one row gives that row's scores */
    reco_batch one = tb->b;
    one.size = 1;
    one.items = tb->items + 2 * TL;
    one.feedback = tb->feedback + 2 * TL;
    one.user_features = tb->user + 2 * TU;
    one.steps = tb->steps + 2;
    one.elapsed = tb->elapsed + 2;
    one.long_items = tb->long_items + 2 * TLL;
    one.long_feedback = tb->long_fb + 2 * TLL;
    float single[TH * TC];
    assert_int_equal(reco_model_score(single, m, w, &one, sel_sets[1], TH), RECO_OK);
    for (size_t i = 0; i < TH * TC; i++)
        assert_true(fabsf(single[i] - out[2 * TH * TC + i]) <= 1e-5f * fmaxf(1.0f,
                                                                              fabsf(single[i])));
    /* feedback bits on pads are ignored, even bits beyond n_signals */
    tiny_batch *tp = buf_bytes(sizeof *tp);
    tiny_batch_init(tp, TU);
    for (size_t i = 0; i < TB * TL; i++)
        if (tp->items[i] == RECO_PAD)
            tp->feedback[i] = i % 2 == 0 ? 0u : 0xffffffffu;
    assert_int_equal(reco_model_score(out2, m, w, &tp->b, sel_sets[1], TH), RECO_OK);
    assert_memory_equal(out, out2, TB * TH * TC * sizeof(float));
    /* BLIS threads: the same scores up to rounding */
    double v = 0.0;
    assert_int_equal(reco_model_set_param(m, RECO_MODEL_PARAM_THREADS, 2), RECO_OK);
    assert_int_equal(reco_model_get_param(&v, m, RECO_MODEL_PARAM_THREADS), RECO_OK);
    assert_true(v == 2.0);
    assert_int_equal(reco_model_score(out2, m, NULL, &tb->b, sel_sets[1], TH), RECO_OK);
    for (size_t i = 0; i < TB * TH * TC; i++)
        assert_true(fabsf(out2[i] - out[i]) <= 1e-5f * fmaxf(1.0f, fabsf(out[i])));
    print_message("score vs naive double (%s): worst rel err %.3g\n",
                  inputs == INPUTS_ALL ? "all inputs" : "version-1 inputs", worst);
}

static void test_model_score_matches_naive(void **state)
{
    (void)state;
    score_matches_naive(INPUTS_V1);
    score_matches_naive(INPUTS_ALL);
}

/* Pads are masked out of attention: the all-pad row's user vector depends on no history
 * position embedding (changing them leaves it bit-identical), while the other rows' do; and a
 * row's user vector does not depend on the other rows of the batch. */
static void test_model_padding_is_masked(void **state)
{
    (void)state;
    for (uint32_t nb = 1; nb <= 2; nb++) {
        reco_model *m = tiny_model(nb, TU);
        tiny_batch *tb = buf_bytes(sizeof *tb);
        tiny_batch_init(tb, TU);
        float u0[TB * TD], u1[TB * TD];
        assert_int_equal(reco_model_user_vectors(u0, m, NULL, &tb->b), RECO_OK);
        for (size_t i = 0; i < TL * TD; i++)
            m->params[m->lay.pos_emb + i] += 0.5f * cosf((float)i);
        assert_int_equal(reco_model_user_vectors(u1, m, NULL, &tb->b), RECO_OK);
        assert_memory_equal(u0 + 1 * TD, u1 + 1 * TD, TD * sizeof(float));
        for (size_t r = 0; r < TB; r++)
            if (r != 1)
                assert_true(memcmp(u0 + r * TD, u1 + r * TD, TD * sizeof(float)) != 0);
        /* row 2 alone, at row 0 of a batch of one */
        reco_batch one = tb->b;
        one.size = 1;
        one.items = tb->items + 2 * TL;
        one.feedback = tb->feedback + 2 * TL;
        one.user_features = tb->user + 2 * TU;
    one.steps = tb->steps + 2;
    one.elapsed = tb->elapsed + 2;
    one.long_items = tb->long_items + 2 * TLL;
    one.long_feedback = tb->long_fb + 2 * TLL;
        float u2[TD];
        assert_int_equal(reco_model_user_vectors(u2, m, NULL, &one), RECO_OK);
        for (size_t j = 0; j < TD; j++)
            assert_true(fabsf(u2[j] - u1[2 * TD + j]) <= 1e-5f);
    }
}

/* ---- 6. top-N ------------------------------------------------------------------------------ */

static void test_model_topn_full_sort(void **state)
{
    (void)state;
    enum { N = 5000, B = 3, D = 4 };
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = N;
    o.dim = D;
    o.n_heads = 2;
    o.lookback = 3;
    o.ffn_dim = 8;
    o.n_signals = 2;
    o.max_batch = B + 1;
    o.max_candidates = N;
    o.init_std = 0.5f;
    o.seed = 3;
    reco_model *m = new_model(&o);
    jitter_params(m, 4, 0.01f); /* item biases too */
    const size_t H = 4, head = 3;
    const int32_t items[B * 3] = {17, RECO_PAD, 4999, RECO_PAD, RECO_PAD, RECO_PAD, 0, 2048, 7};
    const uint32_t fb[B * 3] = {1, 0, 3, 0, 0, 0, 2, 0, 1};
    const reco_batch b = {RECO_BATCH_VERSION, B, items, fb, NULL, 0, NULL, 0, NULL, NULL, NULL, NULL};
    float u[B * D];
    assert_int_equal(reco_model_user_vectors(u, m, NULL, &b), RECO_OK);

    /* Plant ties at the top for row 0: items (7, 8), (100, 4100) and (2047, 2048) get
     * identical embeddings and biases, along row 0's projection and longer than any other. */
    float *emb = m->params + m->lay.item_emb, *bias = m->params + m->lay.item_bias;
    double pr[D], pn = 0.0, emax = 0.0;
    for (size_t j = 0; j < D; j++) {
        pr[j] = 0.0;
        for (size_t k = 0; k < D; k++)
            pr[j] += (double)u[k] * m->params[m->lay.head_w + k * H * D + head * D + j];
        pn += pr[j] * pr[j];
    }
    pn = sqrt(pn);
    for (size_t i = 0; i < (size_t)N * D; i += D) {
        double s = 0.0;
        for (size_t j = 0; j < D; j++)
            s += (double)emb[i + j] * emb[i + j];
        emax = fmax(emax, sqrt(s));
    }
    static const int32_t pairs[3][2] = {{7, 8}, {100, 4100}, {2047, 2048}};
    static const double len[3] = {4.0, 3.0, 2.0};
    for (size_t k = 0; k < 3; k++) {
        for (size_t j = 0; j < D; j++)
            emb[(size_t)pairs[k][0] * D + j] = (float)(len[k] * emax * pr[j] / pn);
        memcpy(emb + (size_t)pairs[k][1] * D, emb + (size_t)pairs[k][0] * D, D * sizeof(float));
        memcpy(bias + (size_t)pairs[k][1] * H, bias + (size_t)pairs[k][0] * H, H * sizeof(float));
    }
    /* row 2's history holds planted items: its user vector changed */
    assert_int_equal(reco_model_user_vectors(u, m, NULL, &b), RECO_OK);

    int32_t *all_ids = buf_bytes((size_t)B * N * sizeof(int32_t));
    float *all_s = buf((size_t)B * N);
    assert_int_equal(reco_model_topn(all_ids, all_s, m, NULL, &b, (uint32_t)head, N), RECO_OK);
    /* n = N: a full sort of the scores by (score desc, id asc), every item once, and the
     * scores equal the naive double ones */
    uint8_t *seen = buf_bytes(N);
    size_t n_ties = 0;
    for (size_t r = 0; r < B; r++) {
        const int32_t *id = all_ids + r * N;
        const float *s = all_s + r * N;
        memset(seen, 0, N);
        for (size_t k = 0; k < N; k++) {
            assert_true(id[k] >= 0 && id[k] < N);
            assert_false(seen[id[k]]);
            seen[id[k]] = 1;
            if (k > 0) {
                if (!(s[k - 1] > s[k] || (s[k - 1] == s[k] && id[k - 1] < id[k])))
                    fail_msg("row %zu, rank %zu: (%d, %.9g) after (%d, %.9g)", r, k, id[k],
                             (double)s[k], id[k - 1], (double)s[k - 1]);
                n_ties += s[k - 1] == s[k];
            }
            const double ref = naive_score(m, u + r * D, head, id[k]);
            assert_true(fabs(s[k] - ref) <= 1e-5 * fmax(1.0, fabs(ref)));
        }
    }
    assert_true(n_ties >= 3 * B); /* the planted pairs tie in every row */
    static const int32_t top6[6] = {7, 8, 100, 4100, 2047, 2048};
    assert_memory_equal(all_ids, top6, sizeof top6);

    /* smaller n: exactly the prefix of the full sort (ids and scores), including ties cut at
     * the boundary (n = 1, 3, 5 split a tied pair: the lower id is kept) */
    static const uint32_t ns[] = {1, 2, 3, 5, 6, 7, 100, 2047, 2048, 2049, 4999};
    int32_t *ids = buf_bytes((size_t)B * N * sizeof(int32_t));
    float *sc = buf((size_t)B * N);
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        const uint32_t n = ns[k];
        assert_int_equal(reco_model_topn(ids, sc, m, NULL, &b, (uint32_t)head, n), RECO_OK);
        for (size_t r = 0; r < B; r++) {
            assert_memory_equal(ids + r * n, all_ids + r * N, n * sizeof(int32_t));
            assert_memory_equal(sc + r * n, all_s + r * N, n * sizeof(float));
        }
        /* scores_out may be NULL */
        assert_int_equal(reco_model_topn(ids, NULL, m, NULL, &b, (uint32_t)head, n), RECO_OK);
        for (size_t r = 0; r < B; r++)
            assert_memory_equal(ids + r * n, all_ids + r * N, n * sizeof(int32_t));
    }
    /* one state at a time (the single-state path scans the catalog in one pass): a full
     * sort by its own scores, scores equal to the naive ones, the planted ties and the prefix
     * property */
    for (size_t r = 0; r < B; r++) {
        reco_batch b1 = b;
        b1.size = 1;
        b1.items = b.items + r * 3; /* lookback 3 */
        b1.feedback = b.feedback + r * 3;
        int32_t *id1 = buf_bytes((size_t)N * sizeof(int32_t));
        float *s1 = buf(N);
        assert_int_equal(reco_model_topn(id1, s1, m, NULL, &b1, (uint32_t)head, N), RECO_OK);
        memset(seen, 0, N);
        for (size_t k = 0; k < N; k++) {
            assert_false(seen[id1[k]]);
            seen[id1[k]] = 1;
            if (k > 0)
                assert_true(s1[k - 1] > s1[k] || (s1[k - 1] == s1[k] && id1[k - 1] < id1[k]));
            const double ref = naive_score(m, u + r * D, head, id1[k]);
            assert_true(fabs(s1[k] - ref) <= 1e-5 * fmax(1.0, fabs(ref)));
        }
        if (r == 0)
            assert_memory_equal(id1, top6, sizeof top6);
        for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
            assert_int_equal(reco_model_topn(ids, sc, m, NULL, &b1, (uint32_t)head, ns[k]),
                             RECO_OK);
            assert_memory_equal(ids, id1, ns[k] * sizeof(int32_t));
            assert_memory_equal(sc, s1, ns[k] * sizeof(float));
        }
    }
    /* the same scores as reco_model_score over the whole catalog */
    int32_t *cand = buf_bytes((size_t)N * sizeof(int32_t));
    for (int32_t i = 0; i < N; i++)
        cand[i] = i;
    reco_batch bc = b;
    bc.candidates = cand;
    bc.n_candidates = N;
    bc.shared_candidates = 1;
    float *full = buf((size_t)B * N);
    const uint32_t hsel = (uint32_t)head;
    assert_int_equal(reco_model_score(full, m, NULL, &bc, &hsel, 1), RECO_OK);
    for (size_t r = 0; r < B; r++)
        for (size_t k = 0; k < N; k++) {
            const float ref = full[r * N + (size_t)all_ids[r * N + k]];
            assert_true(fabsf(all_s[r * N + k] - ref) <= 1e-5f * fmaxf(1.0f, fabsf(ref)));
        }
    /* n out of range */
    assert_reco_error(reco_model_topn(ids, sc, m, NULL, &b, (uint32_t)head, 0), RECO_EINVAL,
                      "n = 0");
    assert_reco_error(reco_model_topn(ids, sc, m, NULL, &b, (uint32_t)head, N + 1), RECO_EINVAL,
                      "n = ");
    /* n is also bounded by max_candidates */
    reco_model *t = tiny_model(1, 0);
    tiny_batch *tb = buf_bytes(sizeof *tb);
    tiny_batch_init(tb, 0);
    assert_int_equal(reco_model_topn(ids, sc, t, NULL, &tb->b, 0, TN), RECO_OK);
    assert_reco_error(reco_model_topn(ids, sc, t, NULL, &tb->b, 0, TN + 1), RECO_EINVAL, "n = ");
}

/* ---- 7. determinism ------------------------------------------------------------------------ */

static void train_steps(reco_model *m, const tiny_batch *tb, int steps)
{
    for (int s = 0; s < steps; s++) {
        assert_int_equal(reco_model_zero_grad(m), RECO_OK);
        assert_int_equal(reco_model_train_bce(NULL, m, &tb->b, tb->shown, tb->labels,
                                              tb->weights), RECO_OK);
        const float targets[TB] = {0.5f, -0.5f, 1.0f, (float)s};
        assert_int_equal(reco_model_train_scalar(NULL, NULL, m, &tb->b, tb->chosen, TF + 1,
                                                 targets, NULL, 1.0f), RECO_OK);
        assert_int_equal(reco_model_step(NULL, m), RECO_OK);
    }
}

static void test_model_determinism(void **state)
{
    (void)state;
    tiny_batch *tb = buf_bytes(sizeof *tb);
    tiny_batch_init(tb, TU);
    reco_model_options o = tiny_options(2, TU);
    o.lr = 1e-2f;
    o.weight_decay = 0.01f;
    reco_model *a = new_model(&o), *b = new_model(&o);
    const size_t P = a->lay.n_params;
    assert_memory_equal(a->params, b->params, P * sizeof(float));
    const float *init = buf_copy(a->params, P);
    train_steps(a, tb, 5);
    train_steps(b, tb, 5);
    assert_memory_equal(a->params, b->params, P * sizeof(float));
    assert_memory_equal(a->adam_m, b->adam_m, P * sizeof(float));
    assert_memory_equal(a->adam_v, b->adam_v, P * sizeof(float));
    assert_true(memcmp(a->params, init, P * sizeof(float)) != 0);
    o.seed = 8;
    reco_model *c = new_model(&o);
    assert_true(memcmp(c->params, init, P * sizeof(float)) != 0);
    train_steps(c, tb, 5);
    assert_true(memcmp(a->params, c->params, P * sizeof(float)) != 0);
    /* init: LayerNorm gains 1, biases 0, item biases 0, the rest ~ N(0, init_std) */
    reco_model *f = new_model(&o);
    for (size_t j = 0; j < TD; j++) {
        assert_true(f->params[f->lay.blk[0].ln1_g + j] == 1.0f);
        assert_true(f->params[f->lay.blk[1].ln2_b + j] == 0.0f);
        assert_true(f->params[f->lay.lnf_g + j] == 1.0f);
    }
    for (size_t i = 0; i < TN * TH; i++)
        assert_true(f->params[f->lay.item_bias + i] == 0.0f);
    double s2 = 0.0;
    const size_t w0 = f->lay.head_w, nw = TD * TH * TD;
    for (size_t i = 0; i < nw; i++)
        s2 += (double)f->params[w0 + i] * f->params[w0 + i];
    const double sd = sqrt(s2 / (double)nw);
    assert_true(sd > 0.25 && sd < 0.35); /* init_std 0.3 over 320 draws */
}

/* ---- 8. zero allocation -------------------------------------------------------------------- */

static void no_allocation_in_hot_calls(int inputs)
{
    counting c = {0};
    reco_allocator a = {RECO_ALLOCATOR_VERSION, counting_alloc, counting_free, &c};
    reco_model_options o = tiny_options_in(2, TU, inputs);
    o.allocator = &a;
    reco_model *m = new_model(&o);
    reco_model *t = new_model(&o);
    if (inputs == INPUTS_ALL) {
        float dense[TN * TDI];
        int32_t fields[TN * TKC];
        tiny_item_features(dense, fields);
        assert_int_equal(reco_model_set_item_features(m, dense, fields, TN), RECO_OK);
    }
    reco_workspace *w = new_workspace(m);
    tiny_batch *tb = buf_bytes(sizeof *tb);
    tiny_batch_init(tb, TU);
    const size_t allocs = c.allocs, frees = c.frees;
    const uint32_t heads[2] = {TF + 1, 0};
    float out[TB * 2 * TC], u[TB * TD], pred[TB], sc[TB * 3];
    int32_t ids[TB * 3];
    double loss, norm;
    const float targets[TB] = {1, 2, 3, 4};
    for (int rep = 0; rep < 3; rep++) {
        assert_int_equal(reco_model_zero_grad(m), RECO_OK);
        assert_int_equal(reco_model_train_bce(&loss, m, &tb->b, tb->shown, tb->labels,
                                              tb->weights), RECO_OK);
        assert_int_equal(reco_model_train_scalar(&loss, pred, m, &tb->b, tb->chosen, TF + 1,
                                                 targets, tb->weights, 1.0f), RECO_OK);
        assert_int_equal(reco_model_step(&norm, m), RECO_OK);
        assert_int_equal(reco_model_score(out, m, NULL, &tb->b, heads, 2), RECO_OK);
        assert_int_equal(reco_model_score(out, m, w, &tb->b, heads, 2), RECO_OK);
        assert_int_equal(reco_model_user_vectors(u, m, w, &tb->b), RECO_OK);
        assert_int_equal(reco_model_user_vectors(u, m, NULL, &tb->b), RECO_OK);
        assert_int_equal(reco_model_topn(ids, sc, m, w, &tb->b, TF + 1, 3), RECO_OK);
        assert_int_equal(reco_model_topn(ids, sc, m, NULL, &tb->b, 0, 3), RECO_OK);
        assert_int_equal(reco_model_copy_params(t, m), RECO_OK);
        assert_int_equal(reco_model_blend_params(t, m, 0.1f), RECO_OK);
        assert_int_equal(reco_model_set_param(m, RECO_MODEL_PARAM_LR, 1e-3), RECO_OK);
        /* error paths do not allocate either */
        assert_int_equal(reco_model_topn(ids, sc, m, w, &tb->b, TH, 3), RECO_EINVAL);
    }
    assert_int_equal(c.allocs, allocs);
    assert_int_equal(c.frees, frees);
    drop_workspace(w);
    drop_model(t);
    drop_model(m);
    assert_int_equal(c.allocs, c.frees);
}

static void test_model_no_allocation_in_hot_calls(void **state)
{
    (void)state;
    no_allocation_in_hot_calls(INPUTS_V1);
    no_allocation_in_hot_calls(INPUTS_ALL);
}

/* ---- 9. the version-2 inputs ------------------------------------------------------------- */

/* Each input reaches the user vector (or, for item features, the scores), and only where it
 * should: the position changes the user slot and which history slots count as earlier
 * sessions; the elapsed time and the long-term history change the user slot; item features
 * change the effective embeddings. An input the model does not take is ignored. */
static void test_model_inputs_reach_the_output(void **state)
{
    (void)state;
    reco_model *m = tiny_model_in(1, TU, INPUTS_ALL);
    reco_model *v1 = tiny_model_in(1, TU, INPUTS_V1);
    tiny_batch *tb = buf_bytes(sizeof *tb);
    tiny_batch_init(tb, TU);
    float u0[TB * TD], u1[TB * TD];
    assert_int_equal(reco_model_user_vectors(u0, m, NULL, &tb->b), RECO_OK);
#define CHANGES(stmt, undo, row)                                                                  do {                                                                                              stmt;                                                                                         assert_int_equal(reco_model_user_vectors(u1, m, NULL, &tb->b), RECO_OK);                      for (size_t r_ = 0; r_ < TB; r_++) {                                                              const int same_ = memcmp(u0 + r_ * TD, u1 + r_ * TD, TD * sizeof(float)) == 0;                if (r_ == (row))                                                                                  assert_false(same_);                                                                      else                                                                                              assert_true(same_);                                                                   }                                                                                             undo;                                                                                     } while (0)
    /* row 3: 7 steps (the whole window is this session's): 8 steps moves the curve only */
    CHANGES(tb->steps[3] = 8, tb->steps[3] = 7, 3);
    CHANGES(tb->steps[1] = 1, tb->steps[1] = 3, 1);
    CHANGES(tb->elapsed[2] = 30.0f, tb->elapsed[2] = 3.0f, 2);
    CHANGES(tb->long_items[0] = 7, tb->long_items[0] = 2, 0);
    CHANGES(tb->long_fb[8] = 1, tb->long_fb[8] = 2, 2);
    /* the earlier-session embedding: row 1 has 3 of its 4 slots in the session (slot 0 is
     * earlier, and holds item 3); moving the embedding moves row 1 and row 2 (2 earlier
     * slots), not row 3 (none earlier) nor the all-pad row 1... */
    float *se = m->params + m->lay.sess_emb;
    for (size_t j = 0; j < TD; j++)
        se[j] += 0.3f;
    assert_int_equal(reco_model_user_vectors(u1, m, NULL, &tb->b), RECO_OK);
    assert_false(memcmp(u0 + 0 * TD, u1 + 0 * TD, TD * sizeof(float)) == 0); /* 0 steps */
    assert_true(memcmp(u0 + 1 * TD, u1 + 1 * TD, TD * sizeof(float)) == 0);  /* all pads */
    assert_false(memcmp(u0 + 2 * TD, u1 + 2 * TD, TD * sizeof(float)) == 0); /* 1 step */
    assert_true(memcmp(u0 + 3 * TD, u1 + 3 * TD, TD * sizeof(float)) == 0);  /* 7 steps */
    for (size_t j = 0; j < TD; j++)
        se[j] -= 0.3f;
#undef CHANGES
    /* the version-1 model ignores the context (and works without it) */
    float w0[TB * TD], w1[TB * TD];
    assert_int_equal(reco_model_user_vectors(w0, v1, NULL, &tb->b), RECO_OK);
    reco_batch bare = tb->b;
    bare.steps = NULL;
    bare.elapsed = NULL;
    bare.long_items = NULL;
    bare.long_feedback = NULL;
    assert_int_equal(reco_model_user_vectors(w1, v1, NULL, &bare), RECO_OK);
    assert_memory_equal(w0, w1, sizeof w0);
    /* item features move the scores of the items that have them */
    const uint32_t head = 0;
    float s0[TB * TC], s1[TB * TC];
    assert_int_equal(reco_model_score(s0, m, NULL, &tb->b, &head, 1), RECO_OK);
    float dense[TN * TDI];
    int32_t fields[TN * TKC];
    tiny_item_features(dense, fields);
    dense[3 * TDI] += 1.0f; /* item 3: a candidate and in row 0's history */
    assert_int_equal(reco_model_set_item_features(m, dense, NULL, TN), RECO_OK);
    assert_int_equal(reco_model_score(s1, m, NULL, &tb->b, &head, 1), RECO_OK);
    size_t changed = 0;
    for (size_t c = 0; c < TC; c++)
        if (tb->cand[c] == 3) {
            assert_true(s0[c] != s1[c]);
            changed++;
        } else if (c < TC) {
            /* rows without item 3 in their history keep their other scores */
            assert_true(s0[3 * TC + c] == s1[3 * TC + c]);
        }
    assert_true(changed > 0);
}

/* Bad context and item features: each refused with a message naming it, nothing written. */
static void test_model_inputs_bad(void **state)
{
    (void)state;
    reco_model *m = tiny_model_in(1, TU, INPUTS_ALL);
    tiny_batch *tb = buf_bytes(sizeof *tb);
    tiny_batch_init(tb, TU);
    float u[TB * TD];
    fill_sentinel(u, TB * TD);
    reco_batch b = tb->b;
    b.steps = NULL;
    assert_reco_error(reco_model_user_vectors(u, m, NULL, &b), RECO_EINVAL, "steps");
    b = tb->b;
    b.version = 1; /* a version-1 batch carries no context */
    assert_reco_error(reco_model_user_vectors(u, m, NULL, &b), RECO_EINVAL, "steps");
    b = tb->b;
    b.elapsed = NULL;
    assert_reco_error(reco_model_user_vectors(u, m, NULL, &b), RECO_EINVAL, "elapsed");
    tb->elapsed[2] = NAN;
    assert_reco_error(reco_model_user_vectors(u, m, NULL, &tb->b), RECO_EINVAL, "elapsed[2]");
    tb->elapsed[2] = -1.0f;
    assert_reco_error(reco_model_user_vectors(u, m, NULL, &tb->b), RECO_EINVAL, "elapsed[2]");
    tb->elapsed[2] = 3.0f;
    b = tb->b;
    b.long_feedback = NULL;
    assert_reco_error(reco_model_user_vectors(u, m, NULL, &b), RECO_EINVAL, "long_feedback");
    tb->long_items[4] = TN;
    assert_reco_error(reco_model_user_vectors(u, m, NULL, &tb->b), RECO_EINVAL,
                      "long-term item 13 at row 1, slot 1");
    tb->long_items[4] = -2;
    assert_reco_error(reco_model_user_vectors(u, m, NULL, &tb->b), RECO_EINVAL, "long-term item");
    tb->long_items[4] = 1;
    tb->long_fb[4] = 1u << TF;
    assert_reco_error(reco_model_user_vectors(u, m, NULL, &tb->b), RECO_EINVAL,
                      "long-term feedback");
    assert_true(all_sentinel(u, TB * TD));

    /* item features */
    float dense[TN * TDI];
    int32_t fields[TN * TKC];
    tiny_item_features(dense, fields);
    assert_reco_error(reco_model_set_item_features(NULL, dense, fields, TN), RECO_EINVAL,
                      "NULL");
    assert_reco_error(reco_model_set_item_features(m, dense, fields, TN - 1), RECO_EINVAL,
                      "12 items");
    dense[5 * TDI + 1] = INFINITY;
    assert_reco_error(reco_model_set_item_features(m, dense, fields, TN), RECO_EINVAL,
                      "dense feature 1 of item 5");
    tiny_item_features(dense, fields);
    fields[6 * TKC + 1] = 4; /* field 1 has size 4 */
    assert_reco_error(reco_model_set_item_features(m, dense, fields, TN), RECO_EINVAL,
                      "field 1 of item 6");
    fields[6 * TKC + 1] = -2;
    assert_reco_error(reco_model_set_item_features(m, dense, fields, TN), RECO_EINVAL,
                      "field 1 of item 6");
    /* refused calls changed nothing: item 5's features are still the first ones */
    float d0[TN * TDI];
    int32_t f0[TN * TKC];
    tiny_item_features(d0, f0);
    assert_memory_equal(m->item_dense, d0, sizeof d0);
    assert_memory_equal(m->item_fields, f0, sizeof f0);
    reco_model *v1 = tiny_model(1, TU);
    assert_reco_error(reco_model_set_item_features(v1, NULL, NULL, TN), RECO_EINVAL,
                      "no item features");
    /* copies carry the features; a model of another architecture is refused */
    reco_model_options o = tiny_options_in(1, TU, INPUTS_ALL);
    reco_model *c = new_model(&o);
    assert_int_equal(reco_model_copy_params(c, m), RECO_OK);
    assert_memory_equal(c->item_dense, d0, sizeof d0);
    assert_memory_equal(c->item_fields, f0, sizeof f0);
    o.item_field_sizes[1] = 5;
    reco_model *other = new_model(&o);
    assert_reco_error(reco_model_copy_params(other, m), RECO_EINVAL, "architectures");
}

/* Retrieval with item features (every item's effective embedding and bias) equals a full
 * sort of the naive scores, for one state and for several. */
static void test_model_topn_item_features(void **state)
{
    (void)state;
    enum { N = 3000, D = 8 };
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = N;
    o.dim = D;
    o.lookback = 3;
    o.ffn_dim = 8;
    o.n_signals = 2;
    o.max_batch = 4;
    o.max_candidates = 64;
    o.init_std = 0.5f;
    o.item_dense_dim = 2;
    o.item_n_fields = 1;
    o.item_field_sizes[0] = 17;
    reco_model *m = new_model(&o);
    jitter_params(m, 5, 0.05f);
    float *dense = buf((size_t)N * 2);
    int32_t *fields = buf_bytes((size_t)N * sizeof(int32_t));
    for (size_t i = 0; i < N; i++) {
        dense[2 * i] = sinf(0.01f * (float)i);
        dense[2 * i + 1] = (float)(i % 3) - 1.0f;
        fields[i] = i % 11 == 0 ? -1 : (int32_t)(i % 17);
    }
    assert_int_equal(reco_model_set_item_features(m, dense, fields, N), RECO_OK);
    const int32_t items[3 * 3] = {17, RECO_PAD, 2999, 5, 6, 7, RECO_PAD, RECO_PAD, 0};
    const uint32_t fb[3 * 3] = {1, 0, 3, 0, 2, 1, 0, 0, 1};
    for (uint32_t B = 1; B <= 3; B += 2) {
        const reco_batch b = {RECO_BATCH_VERSION, B, items, fb, NULL, 0, NULL, 0,
                              NULL, NULL, NULL, NULL};
        float u[3 * D];
        assert_int_equal(reco_model_user_vectors(u, m, NULL, &b), RECO_OK);
        int32_t ids[3 * 64];
        float sc[3 * 64];
        const uint32_t head = 1, n = 64;
        assert_int_equal(reco_model_topn(ids, sc, m, NULL, &b, head, n), RECO_OK);
        for (size_t r = 0; r < B; r++) {
            /* the naive n-th best score: every item above it is in the list */
            double *all = (double *)buf_bytes(N * sizeof(double));
            for (size_t i = 0; i < N; i++)
                all[i] = naive_score(m, u + r * D, head, (int32_t)i);
            for (size_t k = 0; k < n; k++) {
                const int32_t id = ids[r * n + k];
                assert_true(fabs(sc[r * n + k] - all[id]) <= 1e-5 * fmax(1.0, fabs(all[id])));
                if (k > 0)
                    assert_true(sc[r * n + k - 1] >= sc[r * n + k]);
            }
            const double last = all[ids[r * n + n - 1]];
            size_t above = 0;
            for (size_t i = 0; i < N; i++)
                above += all[i] > last + 1e-5 * fmax(1.0, fabs(last));
            assert_true(above < n);
        }
    }
}

/* ---- 9. bad input -------------------------------------------------------------------------- */

/* Every read-only call rejects `b` with EINVAL and a message containing `needle`, writing
 * nothing; every training call too, leaving gradients and the touched list alone. */
static void expect_bad_batch(reco_model *m, reco_workspace *w, const reco_batch *b,
                             const tiny_batch *tb, const char *needle, int reads_candidates)
{
    float out[TB * TH * TC], sc[TB * 2];
    int32_t ids[TB * 2];
    const uint32_t heads[2] = {0, TF + 1};
    const size_t P = m->lay.n_params;
    for (int k = 0; k < 2; k++) {
        reco_workspace *ws = k == 0 ? NULL : w;
        fill_sentinel(out, TB * TH * TC);
        assert_reco_error(reco_model_score(out, m, ws, b, heads, 2), RECO_EINVAL, needle);
        assert_true(all_sentinel(out, TB * TH * TC));
        if (reads_candidates)
            continue;
        assert_reco_error(reco_model_user_vectors(out, m, ws, b), RECO_EINVAL, needle);
        assert_true(all_sentinel(out, TB * TH * TC));
        fill_sentinel(sc, TB * 2);
        for (size_t i = 0; i < TB * 2; i++)
            ids[i] = -7;
        assert_reco_error(reco_model_topn(ids, sc, m, ws, b, 0, 2), RECO_EINVAL, needle);
        assert_true(all_sentinel(sc, TB * 2));
        for (size_t i = 0; i < TB * 2; i++)
            assert_int_equal(ids[i], -7);
    }
    if (reads_candidates)
        return;
    float *g = buf_copy(m->grads, P);
    const size_t n_touched = m->n_touched;
    double loss = SENTINEL;
    float pred[TB];
    fill_sentinel(pred, TB);
    const float targets[TB] = {0};
    assert_reco_error(reco_model_train_bce(&loss, m, b, tb->shown, tb->labels, NULL), RECO_EINVAL,
                      needle);
    assert_reco_error(reco_model_train_scalar(&loss, pred, m, b, tb->chosen, 0, targets, NULL,
                                              1.0f), RECO_EINVAL, needle);
    assert_true(loss == SENTINEL);
    assert_true(all_sentinel(pred, TB));
    assert_memory_equal(m->grads, g, P * sizeof(float));
    assert_int_equal(m->n_touched, n_touched);
}

static void test_model_bad_input(void **state)
{
    (void)state;
    reco_model *m = tiny_model(2, TU);
    reco_workspace *w = new_workspace(m);
    tiny_batch *tb = buf_bytes(sizeof *tb);
    tiny_batch_init(tb, TU);
    const size_t P = m->lay.n_params;
    /* nonzero gradients to protect */
    assert_int_equal(reco_model_train_bce(NULL, m, &tb->b, tb->shown, tb->labels, NULL), RECO_OK);
    assert_true(m->n_touched > 0);

    int32_t items[TB * TL];
    uint32_t fb[TB * TL];
    float user[TB * TU];
    int32_t cand[TB * TC];
    reco_batch b;
#define RESET()                                                                               \
    do {                                                                                      \
        memcpy(items, tb->items, sizeof items);                                               \
        memcpy(fb, tb->feedback, sizeof fb);                                                  \
        memcpy(user, tb->user, sizeof user);                                                  \
        memcpy(cand, tb->cand, sizeof cand);                                                  \
        b = tb->b;                                                                            \
        b.items = items;                                                                      \
        b.feedback = fb;                                                                      \
        b.user_features = user;                                                               \
        b.candidates = cand;                                                                  \
    } while (0)

    RESET();
    items[5] = TN;
    expect_bad_batch(m, w, &b, tb, "history item 13", 0);
    RESET();
    items[0] = -2;
    expect_bad_batch(m, w, &b, tb, "history item -2", 0);
    RESET();
    fb[2] = 1u << TF;
    expect_bad_batch(m, w, &b, tb, "feedback", 0);
    RESET();
    user[7] = NAN;
    expect_bad_batch(m, w, &b, tb, "user feature", 0);
    RESET();
    user[0] = INFINITY;
    expect_bad_batch(m, w, &b, tb, "user feature", 0);
    RESET();
    b.user_features = NULL;
    expect_bad_batch(m, w, &b, tb, "user_features", 0);
    RESET();
    b.size = 0;
    expect_bad_batch(m, w, &b, tb, "batch size 0", 0);
    RESET();
    b.size = TB + 3;
    expect_bad_batch(m, w, &b, tb, "batch size 7", 0);
    RESET();
    b.items = NULL;
    expect_bad_batch(m, w, &b, tb, "NULL", 0);
    RESET();
    b.version = 0;
    float out[TB * TH * TC];
    const uint32_t heads[3] = {0, TF + 1, TH};
    fill_sentinel(out, TB * TH * TC);
    assert_reco_error(reco_model_score(out, m, NULL, &b, heads, 2), RECO_EVERSION, "version");
    assert_true(all_sentinel(out, TB * TH * TC));
    assert_reco_error(reco_model_score(out, m, NULL, NULL, heads, 2), RECO_EINVAL, "NULL");
    /* candidates (read by score only) */
    RESET();
    b.n_candidates = TC + 1;
    expect_bad_batch(m, w, &b, tb, "17 candidates", 1);
    RESET();
    b.n_candidates = 0;
    expect_bad_batch(m, w, &b, tb, "0 candidates", 1);
    RESET();
    cand[3] = TN;
    expect_bad_batch(m, w, &b, tb, "candidate 13", 1);
    RESET();
    b.shared_candidates = 0;
    cand[TB * TC - 1] = -1;
    expect_bad_batch(m, w, &b, tb, "candidate -1", 1);
    RESET();
    b.candidates = NULL;
    expect_bad_batch(m, w, &b, tb, "candidates is NULL", 1);

    /* heads */
    RESET();
    fill_sentinel(out, TB * TH * TC);
    assert_reco_error(reco_model_score(out, m, w, &b, heads, 3), RECO_EINVAL, "head 5");
    assert_reco_error(reco_model_score(out, m, w, &b, heads, 0), RECO_EINVAL, "n_sel");
    assert_reco_error(reco_model_score(out, m, w, &b, heads, TH + 1), RECO_EINVAL, "n_sel");
    assert_reco_error(reco_model_score(out, m, w, &b, NULL, 1), RECO_EINVAL, "NULL");
    assert_true(all_sentinel(out, TB * TH * TC));
    int32_t ids[TB];
    assert_reco_error(reco_model_topn(ids, NULL, m, w, &b, TH, 1), RECO_EINVAL, "head 5");

    /* training-only arguments */
    const float *g = buf_copy(m->grads, P);
    const size_t n_touched = m->n_touched;
    double loss = SENTINEL;
    float pred[TB];
    fill_sentinel(pred, TB);
    float labels[TB * (TF + 1)], wts[TB], targets[TB] = {0, 1, 2, 3};
    int32_t shown[TB];
#define CHECK_UNTOUCHED()                                                                     \
    do {                                                                                      \
        assert_true(loss == SENTINEL);                                                        \
        assert_true(all_sentinel(pred, TB));                                                  \
        assert_memory_equal(m->grads, g, P * sizeof(float));                                  \
        assert_int_equal(m->n_touched, n_touched);                                            \
    } while (0)
    memcpy(labels, tb->labels, sizeof labels);
    labels[6] = NAN;
    assert_reco_error(reco_model_train_bce(&loss, m, &b, tb->shown, labels, NULL), RECO_EINVAL,
                      "label 2 of row 1");
    labels[6] = 1.5f;
    assert_reco_error(reco_model_train_bce(&loss, m, &b, tb->shown, labels, NULL), RECO_EINVAL,
                      "label");
    labels[6] = -0.5f;
    assert_reco_error(reco_model_train_bce(&loss, m, &b, tb->shown, labels, NULL), RECO_EINVAL,
                      "label");
    assert_reco_error(reco_model_train_bce(&loss, m, &b, tb->shown, NULL, NULL), RECO_EINVAL,
                      "labels is NULL");
    memcpy(wts, tb->weights, sizeof wts);
    wts[2] = -1.0f;
    assert_reco_error(reco_model_train_bce(&loss, m, &b, tb->shown, tb->labels, wts), RECO_EINVAL,
                      "row_weights[2]");
    wts[2] = NAN;
    assert_reco_error(reco_model_train_bce(&loss, m, &b, tb->shown, tb->labels, wts), RECO_EINVAL,
                      "row_weights[2]");
    assert_reco_error(reco_model_train_scalar(&loss, pred, m, &b, tb->chosen, 0, targets, wts,
                                              1.0f), RECO_EINVAL, "weights[2]");
    wts[2] = INFINITY;
    assert_reco_error(reco_model_train_scalar(&loss, pred, m, &b, tb->chosen, 0, targets, wts,
                                              1.0f), RECO_EINVAL, "weights[2]");
    memcpy(shown, tb->shown, sizeof shown);
    shown[3] = TN;
    assert_reco_error(reco_model_train_bce(&loss, m, &b, shown, tb->labels, NULL), RECO_EINVAL,
                      "shown[3]");
    assert_reco_error(reco_model_train_scalar(&loss, pred, m, &b, shown, 0, targets, NULL, 1.0f),
                      RECO_EINVAL, "items[3]");
    shown[3] = RECO_PAD;
    assert_reco_error(reco_model_train_bce(&loss, m, &b, shown, tb->labels, NULL), RECO_EINVAL,
                      "shown[3]");
    assert_reco_error(reco_model_train_bce(&loss, m, &b, NULL, tb->labels, NULL), RECO_EINVAL,
                      "shown is NULL");
    assert_reco_error(reco_model_train_scalar(&loss, pred, m, &b, tb->chosen, TH, targets, NULL,
                                              1.0f), RECO_EINVAL, "head 5");
    targets[1] = NAN;
    assert_reco_error(reco_model_train_scalar(&loss, pred, m, &b, tb->chosen, 0, targets, NULL,
                                              1.0f), RECO_EINVAL, "targets[1]");
    targets[1] = 0.0f;
    assert_reco_error(reco_model_train_scalar(&loss, pred, m, &b, tb->chosen, 0, NULL, NULL,
                                              1.0f), RECO_EINVAL, "targets is NULL");
    assert_reco_error(reco_model_train_scalar(&loss, pred, m, &b, tb->chosen, 0, targets, NULL,
                                              0.0f), RECO_EINVAL, "huber_delta");
    assert_reco_error(reco_model_train_scalar(&loss, pred, m, &b, tb->chosen, 0, targets, NULL,
                                              NAN), RECO_EINVAL, "huber_delta");
    assert_reco_error(reco_model_train_bce(&loss, NULL, &b, tb->shown, tb->labels, NULL),
                      RECO_EINVAL, "NULL");
    CHECK_UNTOUCHED();
#undef CHECK_UNTOUCHED
#undef RESET

    /* a workspace made for another architecture */
    reco_model_options o2 = tiny_options(1, TU);
    reco_model *other = new_model(&o2);
    reco_workspace *w_other = new_workspace(other);
    fill_sentinel(out, TB * TH * TC);
    assert_reco_error(reco_model_score(out, m, w_other, &tb->b, heads, 2), RECO_EINVAL,
                      "architecture");
    assert_reco_error(reco_model_user_vectors(out, m, w_other, &tb->b), RECO_EINVAL,
                      "architecture");
    assert_reco_error(reco_model_topn(ids, NULL, m, w_other, &tb->b, 0, 1), RECO_EINVAL,
                      "architecture");
    assert_true(all_sentinel(out, TB * TH * TC));
    /* a workspace of the same architecture with a smaller max_batch limits the batch */
    reco_model_options o3 = tiny_options(2, TU);
    o3.max_batch = 2;
    o3.n_items = 50;
    reco_model *small = new_model(&o3);
    reco_workspace *w_small = new_workspace(small);
    assert_reco_error(reco_model_score(out, m, w_small, &tb->b, heads, 2), RECO_EINVAL,
                      "batch size 4");
    assert_true(all_sentinel(out, TB * TH * TC));
    reco_batch two = tb->b;
    two.size = 2;
    assert_int_equal(reco_model_score(out, m, w_small, &two, heads, 2), RECO_OK);
    /* the workspace outlives its model */
    drop_model(other);
    assert_reco_error(reco_model_user_vectors(out, m, w_other, &tb->b), RECO_EINVAL,
                      "architecture");
}

/* ---- 10. threads --------------------------------------------------------------------------- */

enum { THR_B = 8, THR_C = 64, THR_NB = 4, THR_REPS = 150, THR_TOPN = 20 };

typedef struct thread_ctx {
    const reco_model *m;
    reco_workspace *w;
    const reco_batch *batches;
    const float *ref_score, *ref_u, *ref_topn_s; /* per batch */
    const int32_t *ref_topn_i;
    size_t n_score, n_u;
    int tid;
    int errors, mismatches;
} thread_ctx;

static void *thread_main(void *arg)
{
    thread_ctx *c = arg;
    const uint32_t heads[3] = {4, 0, 3};
    float score[THR_B * 3 * THR_C], u[THR_B * 32], ts[THR_B * THR_TOPN];
    int32_t ti[THR_B * THR_TOPN];
    for (int rep = 0; rep < THR_REPS; rep++) {
        const size_t k = (size_t)(rep + c->tid) % THR_NB;
        const reco_batch *b = &c->batches[k];
        if (reco_model_score(score, c->m, c->w, b, heads, 3) != RECO_OK ||
            reco_model_user_vectors(u, c->m, c->w, b) != RECO_OK ||
            reco_model_topn(ti, ts, c->m, c->w, b, 4, THR_TOPN) != RECO_OK) {
            c->errors++;
            continue;
        }
        if (memcmp(score, c->ref_score + k * c->n_score, c->n_score * sizeof(float)) != 0 ||
            memcmp(u, c->ref_u + k * c->n_u, c->n_u * sizeof(float)) != 0 ||
            memcmp(ts, c->ref_topn_s + k * THR_B * THR_TOPN,
                   THR_B * THR_TOPN * sizeof(float)) != 0 ||
            memcmp(ti, c->ref_topn_i + k * THR_B * THR_TOPN,
                   THR_B * THR_TOPN * sizeof(int32_t)) != 0)
            c->mismatches++;
    }
    return NULL;
}

static void test_model_threads_read_only(void **state)
{
    (void)state;
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = 3000;
    o.dim = 32;
    o.lookback = 6;
    o.n_blocks = 2;
    o.n_heads = 4;
    o.ffn_dim = 48;
    o.n_signals = 3;
    o.user_dim = 3;
    o.max_batch = THR_B;
    o.max_candidates = THR_C;
    o.init_std = 0.2f;
    reco_model *m = new_model(&o);
    jitter_params(m, 9, 0.05f);
    const size_t d = 32, L = 6, U = 3;
    int32_t *items = buf_bytes(THR_NB * THR_B * L * sizeof(int32_t));
    uint32_t *fb = buf_bytes(THR_NB * THR_B * L * sizeof(uint32_t));
    float *user = buf(THR_NB * THR_B * U);
    int32_t *cand = buf_bytes(THR_NB * THR_B * THR_C * sizeof(int32_t));
    reco_batch *batches = buf_bytes(THR_NB * sizeof(reco_batch));
    reco_rng r;
    assert_int_equal(reco_rng_seed(&r, 123, 0), RECO_OK);
    for (size_t k = 0; k < THR_NB; k++) {
        for (size_t i = 0; i < THR_B * L; i++) {
            const size_t x = k * THR_B * L + i;
            items[x] = reco_rng_below(&r, 4) == 0 ? RECO_PAD : (int32_t)reco_rng_below(&r, 3000);
            fb[x] = (uint32_t)reco_rng_below(&r, 8);
        }
        for (size_t i = 0; i < THR_B * U; i++)
            user[k * THR_B * U + i] = (float)reco_rng_normal(&r);
        for (size_t i = 0; i < THR_B * THR_C; i++)
            cand[k * THR_B * THR_C + i] = (int32_t)reco_rng_below(&r, 3000);
        const reco_batch b = {RECO_BATCH_VERSION, THR_B, items + k * THR_B * L,
                              fb + k * THR_B * L, user + k * THR_B * U, THR_C,
                              cand + k * THR_B * THR_C, (int)(k & 1), NULL, NULL, NULL, NULL};
        batches[k] = b;
    }
    const size_t n_score = THR_B * 3 * THR_C, n_u = THR_B * d;
    float *ref_score = buf(THR_NB * n_score), *ref_u = buf(THR_NB * n_u);
    float *ref_ts = buf(THR_NB * THR_B * THR_TOPN);
    int32_t *ref_ti = buf_bytes(THR_NB * THR_B * THR_TOPN * sizeof(int32_t));
    reco_workspace *w0 = new_workspace(m);
    const uint32_t heads[3] = {4, 0, 3};
    for (size_t k = 0; k < THR_NB; k++) {
        assert_int_equal(reco_model_score(ref_score + k * n_score, m, w0, &batches[k], heads, 3),
                         RECO_OK);
        assert_int_equal(reco_model_user_vectors(ref_u + k * n_u, m, w0, &batches[k]), RECO_OK);
        assert_int_equal(reco_model_topn(ref_ti + k * THR_B * THR_TOPN,
                                         ref_ts + k * THR_B * THR_TOPN, m, w0, &batches[k], 4,
                                         THR_TOPN), RECO_OK);
    }
    const float *snapshot = buf_copy(m->params, m->lay.n_params);
    for (int nt = 2; nt <= 4; nt += 2) {
        pthread_t th[4];
        thread_ctx ctx[4];
        for (int i = 0; i < nt; i++) {
            const thread_ctx c = {m, new_workspace(m), batches, ref_score, ref_u, ref_ts, ref_ti,
                                  n_score, n_u, i, 0, 0};
            ctx[i] = c;
        }
        for (int i = 0; i < nt; i++)
            assert_int_equal(pthread_create(&th[i], NULL, thread_main, &ctx[i]), 0);
        for (int i = 0; i < nt; i++)
            assert_int_equal(pthread_join(th[i], NULL), 0);
        for (int i = 0; i < nt; i++) {
            assert_int_equal(ctx[i].errors, 0);
            assert_int_equal(ctx[i].mismatches, 0);
            drop_workspace(ctx[i].w);
        }
    }
    assert_memory_equal(m->params, snapshot, m->lay.n_params * sizeof(float));
}

/* ---- 11. parameter copies ------------------------------------------------------------------ */

static void test_model_copy_and_blend(void **state)
{
    (void)state;
    reco_model_options o = tiny_options(2, TU);
    reco_model *a = new_model(&o);
    o.seed = 99;
    reco_model *b = new_model(&o);
    const size_t P = a->lay.n_params;
    tiny_batch *tb = buf_bytes(sizeof *tb);
    tiny_batch_init(tb, TU);
    float ua[TB * TD], ub[TB * TD];
    assert_int_equal(reco_model_user_vectors(ua, a, NULL, &tb->b), RECO_OK);
    assert_int_equal(reco_model_user_vectors(ub, b, NULL, &tb->b), RECO_OK);
    assert_true(memcmp(ua, ub, sizeof ua) != 0);

    const float *pa = buf_copy(a->params, P), *pb = buf_copy(b->params, P);
    assert_int_equal(reco_model_blend_params(b, a, 0.0f), RECO_OK);
    assert_memory_equal(b->params, pb, P * sizeof(float));
    assert_int_equal(reco_model_blend_params(b, a, 0.5f), RECO_OK);
    for (size_t i = 0; i < P; i++) {
        const float want = 0.5f * pb[i] + 0.5f * pa[i];
        assert_true(b->params[i] == want);
    }
    assert_int_equal(reco_model_blend_params(b, a, 1.0f), RECO_OK);
    assert_memory_equal(b->params, pa, P * sizeof(float));
    assert_memory_equal(a->params, pa, P * sizeof(float)); /* src untouched */

    memcpy(b->params, pb, P * sizeof(float));
    assert_int_equal(reco_model_copy_params(b, a), RECO_OK);
    assert_memory_equal(b->params, a->params, P * sizeof(float));
    assert_int_equal(reco_model_user_vectors(ub, b, NULL, &tb->b), RECO_OK);
    assert_memory_equal(ua, ub, sizeof ua);
    assert_int_equal(reco_model_copy_params(a, a), RECO_OK);

    /* errors */
    assert_reco_error(reco_model_blend_params(b, a, -0.1f), RECO_EINVAL, "tau");
    assert_reco_error(reco_model_blend_params(b, a, 1.5f), RECO_EINVAL, "tau");
    assert_reco_error(reco_model_blend_params(b, a, NAN), RECO_EINVAL, "tau");
    assert_reco_error(reco_model_blend_params(NULL, a, 0.5f), RECO_EINVAL, "NULL");
    assert_reco_error(reco_model_copy_params(b, NULL), RECO_EINVAL, "NULL");
    const reco_model_options variants[] = {tiny_options(1, TU), tiny_options(2, 0)};
    for (size_t k = 0; k < 2; k++) {
        reco_model *c = new_model(&variants[k]);
        assert_reco_error(reco_model_copy_params(c, a), RECO_EINVAL, "architecture");
        assert_reco_error(reco_model_blend_params(c, a, 0.5f), RECO_EINVAL, "architecture");
    }
    reco_model_options o4 = tiny_options(2, TU);
    o4.n_heads = 4; /* same parameter count, another architecture */
    reco_model *c = new_model(&o4);
    assert_int_equal(reco_model_n_params(c), P);
    assert_reco_error(reco_model_copy_params(c, a), RECO_EINVAL, "architecture");
    /* different capacities (max_batch) are fine */
    reco_model_options o5 = tiny_options(2, TU);
    o5.max_batch = 2;
    o5.max_candidates = 3;
    reco_model *e = new_model(&o5);
    assert_int_equal(reco_model_copy_params(e, a), RECO_OK);
    assert_memory_equal(e->params, a->params, P * sizeof(float));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_model_options_defaults, teardown),
        cmocka_unit_test_teardown(test_model_layout_tiles_block, teardown),
        cmocka_unit_test_teardown(test_model_options_invalid, teardown),
        cmocka_unit_test_teardown(test_model_force_kernel_env, teardown),
        cmocka_unit_test_teardown(test_model_create_enomem, teardown),
        cmocka_unit_test_teardown(test_model_gradcheck_bce, teardown),
        cmocka_unit_test_teardown(test_model_gradcheck_scalar_q, teardown),
        cmocka_unit_test_teardown(test_model_gradcheck_scalar_signal, teardown),
        cmocka_unit_test_teardown(test_model_gradcheck_cql, teardown),
        cmocka_unit_test_teardown(test_model_cql_loss_value, teardown),
        cmocka_unit_test_teardown(test_model_loss_values, teardown),
        cmocka_unit_test_teardown(test_model_grads_accumulate, teardown),
        cmocka_unit_test_teardown(test_model_adam_dense, teardown),
        cmocka_unit_test_teardown(test_model_adam_clipping, teardown),
        cmocka_unit_test_teardown(test_model_adam_nonfinite_gradient, teardown),
        cmocka_unit_test_teardown(test_model_sparse_rows, teardown),
        cmocka_unit_test_teardown(test_model_score_matches_naive, teardown),
        cmocka_unit_test_teardown(test_model_padding_is_masked, teardown),
        cmocka_unit_test_teardown(test_model_topn_full_sort, teardown),
        cmocka_unit_test_teardown(test_model_determinism, teardown),
        cmocka_unit_test_teardown(test_model_no_allocation_in_hot_calls, teardown),
        cmocka_unit_test_teardown(test_model_inputs_reach_the_output, teardown),
        cmocka_unit_test_teardown(test_model_inputs_bad, teardown),
        cmocka_unit_test_teardown(test_model_topn_item_features, teardown),
        cmocka_unit_test_teardown(test_model_bad_input, teardown),
        cmocka_unit_test_teardown(test_model_threads_read_only, teardown),
        cmocka_unit_test_teardown(test_model_copy_and_blend, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
