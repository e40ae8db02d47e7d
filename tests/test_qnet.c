/* Tests of reco_qnet (lib/qnet.c): the Double DQN target on a hand-computed case (online net
 * picks, target net evaluates, EXIT stops the bootstrap, TRUNCATED does not), warm start
 * (user vectors bit-identical to the feedback model, Q head = reward-weighted signal heads,
 * checked naively), hard and Polyak target sync, the divergence guard (planted rewards, planted
 * learning rate, restore), determinism, zero allocation in the update, bad input, and a timing
 * of the update at the default model size.
 * Links the library's objects to set and read the parameter block (m->params, m->lay). */
#include "test_common.h"
#include "model_private.h"
#include "qnet_private.h"

#include <math.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------------------ */

#define MAX_TRACKED 16
static reco_qnet *qnets[MAX_TRACKED];
static size_t n_qnets;
static reco_model *models[MAX_TRACKED];
static size_t n_models;

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_qnets; i++)
        reco_qnet_free(qnets[i]);
    for (size_t i = 0; i < n_models; i++)
        reco_model_free(models[i]);
    n_qnets = n_models = 0;
    return 0;
}

/* The tiny architecture of most tests: N 12, d 8, L 4, F 2 (heads 0, 1 signals, 2 exit,
 * 3 Q), batch up to 8, up to 12 candidates. */
static reco_model_options tiny_model(void)
{
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = 12;
    o.dim = 8;
    o.lookback = 4;
    o.n_blocks = 1;
    o.n_heads = 2;
    o.ffn_dim = 16;
    o.n_signals = 2;
    o.max_batch = 8;
    o.max_candidates = 12;
    o.init_std = 0.3f;
    o.seed = 7;
    return o;
}

static reco_qnet *new_qnet(const reco_qnet_options *o)
{
    reco_qnet *q = NULL;
    int rc = reco_qnet_create(&q, o);
    if (rc != RECO_OK)
        fail_msg("reco_qnet_create: %s", reco_error_message());
    assert_true(n_qnets < MAX_TRACKED);
    qnets[n_qnets++] = q;
    return q;
}

static reco_qnet *new_warm(const reco_model *fb, const float *w, const reco_qnet_options *o)
{
    reco_qnet *q = NULL;
    int rc = reco_qnet_create_warm(&q, fb, w, o);
    if (rc != RECO_OK)
        fail_msg("reco_qnet_create_warm: %s", reco_error_message());
    assert_true(n_qnets < MAX_TRACKED);
    qnets[n_qnets++] = q;
    return q;
}

static reco_model *new_model(const reco_model_options *o)
{
    reco_model *m = NULL;
    if (reco_model_create(&m, o) != RECO_OK)
        fail_msg("reco_model_create: %s", reco_error_message());
    assert_true(n_models < MAX_TRACKED);
    models[n_models++] = m;
    return m;
}

static reco_model *mut(const reco_model *m)
{
    return (reco_model *)(uintptr_t)m;
}

static uint64_t lcg_state;
static uint32_t lcg(void)
{
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(lcg_state >> 33);
}

/* A random batch of transitions over N items (pads in the first slots), B rows, C shared
 * candidates. Storage is static per call site via the struct below. */
typedef struct tbatch {
    int32_t s_items[256 * 20], n_items[256 * 20], actions[256], cand[256 * 512];
    uint32_t s_fb[256 * 20], n_fb[256 * 20];
    float rewards[256], weights[256];
    uint8_t done[256];
    reco_qnet_batch b;
} tbatch;

static void fill_batch(tbatch *t, uint32_t B, uint32_t L, uint32_t N, uint32_t F, uint32_t C,
                       int shared)
{
    for (size_t i = 0; i < (size_t)B * L; i++) {
        t->s_items[i] = (i % L == 0 && lcg() % 3 == 0) ? RECO_PAD : (int32_t)(lcg() % N);
        t->s_fb[i] = t->s_items[i] == RECO_PAD ? 0 : lcg() % (1u << F);
    }
    for (size_t b = 0; b < B; b++) {
        t->actions[b] = (int32_t)(lcg() % N);
        /* s' = s shifted by one, the action appended */
        for (size_t j = 0; j + 1 < L; j++) {
            t->n_items[b * L + j] = t->s_items[b * L + j + 1];
            t->n_fb[b * L + j] = t->s_fb[b * L + j + 1];
        }
        t->n_items[b * L + L - 1] = t->actions[b];
        t->n_fb[b * L + L - 1] = lcg() % (1u << F);
        t->rewards[b] = (float)(lcg() % 5) * 0.5f;
        t->weights[b] = 0.25f + (float)(lcg() % 4) * 0.25f;
        t->done[b] = (uint8_t)(lcg() % 3);
    }
    for (size_t i = 0; i < (size_t)C * (shared ? 1 : B); i++)
        t->cand[i] = (int32_t)(lcg() % N);
    reco_qnet_batch z = RECO_QNET_BATCH_INIT;
    z.size = B;
    z.state_items = t->s_items;
    z.state_feedback = t->s_fb;
    z.actions = t->actions;
    z.rewards = t->rewards;
    z.next_items = t->n_items;
    z.next_feedback = t->n_fb;
    z.done = t->done;
    z.weights = t->weights;
    z.n_candidates = C;
    z.candidates = t->cand;
    z.shared_candidates = shared;
    t->b = z;
}

static tbatch tb;

/* Snapshot of everything an update may change. */
typedef struct snap {
    float *on, *tg, *am, *av;
    uint64_t step, n_updates;
} snap;

static void take(snap *s, const reco_qnet *q)
{
    const reco_model *on = reco_qnet_online(q), *tg = reco_qnet_target(q);
    const size_t P = on->lay.n_params;
    s->on = malloc(P * sizeof(float));
    s->tg = malloc(P * sizeof(float));
    s->am = malloc(P * sizeof(float));
    s->av = malloc(P * sizeof(float));
    assert_true(s->on && s->tg && s->am && s->av);
    memcpy(s->on, on->params, P * sizeof(float));
    memcpy(s->tg, tg->params, P * sizeof(float));
    memcpy(s->am, on->adam_m, P * sizeof(float));
    memcpy(s->av, on->adam_v, P * sizeof(float));
    s->step = on->step;
    s->n_updates = reco_qnet_n_updates(q);
}

/* Asserts that q is as snapshotted and that no gradient is pending; frees the snapshot. */
static void assert_unchanged(snap *s, const reco_qnet *q)
{
    const reco_model *on = reco_qnet_online(q), *tg = reco_qnet_target(q);
    const size_t P = on->lay.n_params;
    assert_memory_equal(s->on, on->params, P * sizeof(float));
    assert_memory_equal(s->tg, tg->params, P * sizeof(float));
    assert_memory_equal(s->am, on->adam_m, P * sizeof(float));
    assert_memory_equal(s->av, on->adam_v, P * sizeof(float));
    assert_int_equal(s->step, on->step);
    assert_int_equal(s->n_updates, reco_qnet_n_updates(q));
    for (size_t i = 0; i < P; i++)
        if (on->grads[i] != 0.0f)
            fail_msg("gradient %zu is %g after a failed update", i, (double)on->grads[i]);
    free(s->on);
    free(s->tg);
    free(s->am);
    free(s->av);
}

/* Makes Q(s, i) = bias[i] for every state: zero Q-head weights, chosen Q item biases. */
static void plant_q(reco_model *m, const float *bias)
{
    const size_t d = m->d, H = m->H, hq = H - 1;
    for (size_t j = 0; j < d; j++)
        memset(m->params + m->lay.head_w + j * H * d + hq * d, 0, d * sizeof(float));
    for (size_t i = 0; i < m->N; i++)
        m->params[m->lay.item_bias + i * H + hq] = bias[i];
    /* the Q head's state term is zero too: Q(s, i) is the item's bias alone */
    if (m->opts.state_bias)
        for (size_t j = 0; j <= d; j++) /* state_w rows, then state_b */
            m->params[m->lay.state_w + j * H + hq] = 0.0f;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_qnet_options(void **state)
{
    (void)state;
    reco_qnet_options a = RECO_QNET_OPTIONS_INIT, b;
    memset(&b, 0xab, sizeof b);
    assert_int_equal(reco_qnet_options_init(&b, RECO_QNET_OPTIONS_VERSION), RECO_OK);
    assert_int_equal(b.version, a.version);
    assert_null(b.allocator);
    assert_null(b.model);
    assert_float_equal(b.gamma, 0.99f, 0.0f);
    assert_float_equal(b.huber_delta, 1.0f, 0.0f);
    assert_int_equal(b.target_period, 500);
    assert_float_equal(b.tau, 0.0f, 0.0f);
    assert_float_equal(b.priority_eps, 0.0f, 0.0f);
    assert_float_equal(b.max_abs_q, 1e4f, 0.0f);
    assert_float_equal(b.max_loss, 1e4f, 0.0f);
    assert_int_equal(b.keep_last_good, 1);
    assert_float_equal(b.conservative_alpha, 0.0f, 0.0f);
    assert_int_equal(a.target_period, b.target_period);
    assert_int_equal(reco_qnet_options_init(&b, 0), RECO_EVERSION);
    assert_int_equal(reco_qnet_options_init(&b, RECO_QNET_OPTIONS_VERSION + 1), RECO_EVERSION);
    assert_int_equal(reco_qnet_options_init(NULL, 1), RECO_EINVAL);

    reco_qnet *q = (reco_qnet *)&a;
    reco_qnet_options o = RECO_QNET_OPTIONS_INIT;
    o.gamma = 1.5f;
    assert_reco_error(reco_qnet_create(&q, &o), RECO_EINVAL, "gamma");
    assert_null(q);
    o = a;
    o.tau = -0.1f;
    assert_reco_error(reco_qnet_create(&q, &o), RECO_EINVAL, "tau");
    o = a;
    o.target_period = 0;
    assert_reco_error(reco_qnet_create(&q, &o), RECO_EINVAL, "target_period");
    o = a;
    o.max_abs_q = 0.0f;
    assert_reco_error(reco_qnet_create(&q, &o), RECO_EINVAL, "max_abs_q");
    o = a;
    o.huber_delta = NAN;
    assert_reco_error(reco_qnet_create(&q, &o), RECO_EINVAL, "huber_delta");
    o = a;
    o.conservative_alpha = -0.5f;
    assert_reco_error(reco_qnet_create(&q, &o), RECO_EINVAL, "conservative_alpha");
    o.conservative_alpha = INFINITY;
    assert_reco_error(reco_qnet_create(&q, &o), RECO_EINVAL, "conservative_alpha");
    assert_null(q);
    o = a;
    o.version = RECO_QNET_OPTIONS_VERSION + 1;
    assert_int_equal(reco_qnet_create(&q, &o), RECO_EVERSION);
    reco_model_options mo = tiny_model();
    mo.dim = 7; /* not a multiple of n_heads */
    o = a;
    o.model = &mo;
    assert_int_equal(reco_qnet_create(&q, &o), RECO_EINVAL);
    assert_null(q);
    assert_int_equal(reco_qnet_create(NULL, NULL), RECO_EINVAL);
    assert_int_equal(reco_live_handles(), 0);

    /* knobs */
    mo = tiny_model();
    o = a;
    o.model = &mo;
    q = new_qnet(&o);
    double v = 0.0;
    assert_int_equal(reco_qnet_set_param(q, RECO_QNET_PARAM_GAMMA, 0.5), RECO_OK);
    assert_int_equal(reco_qnet_get_param(&v, q, RECO_QNET_PARAM_GAMMA), RECO_OK);
    assert_float_equal(v, 0.5, 0.0);
    assert_int_equal(reco_qnet_set_param(q, RECO_QNET_PARAM_LR, 0.01), RECO_OK);
    assert_int_equal(reco_model_get_param(&v, reco_qnet_online(q), RECO_MODEL_PARAM_LR), RECO_OK);
    assert_float_equal(v, 0.01, 1e-9);
    assert_int_equal(reco_qnet_set_param(q, RECO_QNET_PARAM_GAMMA, 1.5), RECO_EINVAL);
    assert_int_equal(reco_qnet_set_param(q, RECO_QNET_PARAM_TAU, NAN), RECO_EINVAL);
    assert_int_equal(reco_qnet_set_param(q, (reco_qnet_param)99, 0.5), RECO_EINVAL);
    assert_int_equal(reco_qnet_get_param(&v, q, RECO_QNET_PARAM_GAMMA), RECO_OK);
    assert_float_equal(v, 0.5, 0.0);
    assert_int_equal(reco_qnet_q_head(q), 3);
    assert_int_equal(reco_qnet_restore_last_good(q), RECO_ESTATE); /* nothing to restore */
    reco_qnet_free(NULL);
}

/* The hand-computed case. Q(s, i) = bias[i] in both nets (zero Q-head weights), with
 *   online: b_3 = 5, b_4 = 1, b_5 = 2, b_7 = 0.25 (the action)
 *   target: b_3 = 10, b_4 = 100, b_5 = -7
 * so over candidates {4, 5, 3} the online net picks 3 and the target values it at 10 (the
 * target's own argmax would give 100, the online value of the pick 5). gamma = 0.5. */
static void test_qnet_ddqn_target(void **state)
{
    (void)state;
    reco_model_options mo = tiny_model();
    reco_qnet_options o = RECO_QNET_OPTIONS_INIT;
    o.model = &mo;
    o.gamma = 0.5f;
    o.target_period = 1000;
    o.priority_eps = 0.0f;
    reco_qnet *q = new_qnet(&o);
    float on_b[12] = {0}, tg_b[12] = {0};
    on_b[3] = 5.0f; on_b[4] = 1.0f; on_b[5] = 2.0f; on_b[7] = 0.25f;
    tg_b[3] = 10.0f; tg_b[4] = 100.0f; tg_b[5] = -7.0f; tg_b[7] = 3.0f;
    plant_q(mut(reco_qnet_online(q)), on_b);
    plant_q(mut(reco_qnet_target(q)), tg_b);

    lcg_state = 1;
    fill_batch(&tb, 4, 4, 12, 2, 3, 1);
    const int32_t cand[3] = {4, 5, 3};
    memcpy(tb.cand, cand, sizeof cand);
    const uint8_t done[4] = {RECO_ENV_CONTINUE, RECO_ENV_EXIT, RECO_ENV_TRUNCATED,
                             RECO_ENV_CONTINUE};
    const float rew[4] = {1.0f, 2.0f, -1.0f, 0.5f};
    for (int b = 0; b < 4; b++) {
        tb.actions[b] = 7;
        tb.n_items[b * 4 + 3] = 7;
        tb.done[b] = done[b];
        tb.rewards[b] = rew[b];
    }
    const float y[4] = {1.0f + 5.0f, 2.0f, -1.0f + 5.0f, 0.5f + 5.0f};
    float pr[4];
    reco_qnet_update_info info = RECO_QNET_UPDATE_INFO_INIT;
    assert_int_equal(reco_qnet_update(&info, pr, q, &tb.b), RECO_OK);
    for (int b = 0; b < 4; b++)
        assert_float_equal(pr[b], fabsf(0.25f - y[b]), 0.0f);
    assert_float_equal(info.mean_q, 0.25, 1e-12);
    assert_float_equal(info.mean_target, (6.0 + 2.0 + 4.0 + 5.5) / 4.0, 1e-12);
    assert_float_equal(info.mean_abs_td, (5.75 + 1.75 + 3.75 + 5.25) / 4.0, 1e-12);
    assert_float_equal(info.max_abs_q, 10.0, 0.0); /* target 10; online over s' at most 5 */
    assert_int_equal(info.n_updates, 1);
    assert_int_equal(info.target_synced, 0);
    assert_true(info.grad_norm > 0.0);
    /* Huber(delta 1), IS weights: loss = sum_b w_b (|td_b| - 0.5) / B */
    double l = 0.0;
    for (int b = 0; b < 4; b++)
        l += tb.weights[b] * (fabs(0.25 - y[b]) - 0.5);
    assert_float_equal(info.loss, l / 4.0, 1e-6);

    /* Per-row candidates: row 0 {4, 5} picks 5 (target -7), row 1 {3, 3} picks 3 (10), row
     * 2 {4, 4} picks 4 (100), row 3 {5, 4} picks 5 (-7). Re-plant (the step moved them). */
    plant_q(mut(reco_qnet_online(q)), on_b);
    plant_q(mut(reco_qnet_target(q)), tg_b);
    const int32_t rc8[8] = {4, 5, 3, 3, 4, 4, 5, 4};
    memcpy(tb.cand, rc8, sizeof rc8);
    tb.b.n_candidates = 2;
    tb.b.shared_candidates = 0;
    for (int b = 0; b < 4; b++)
        tb.done[b] = RECO_ENV_TRUNCATED;
    tb.b.weights = NULL;
    const float y2[4] = {1.0f - 3.5f, 2.0f + 5.0f, -1.0f + 50.0f, 0.5f - 3.5f};
    assert_int_equal(reco_qnet_update(&info, pr, q, &tb.b), RECO_OK);
    for (int b = 0; b < 4; b++)
        assert_float_equal(pr[b], fabsf(0.25f - y2[b]), 0.0f);
    assert_float_equal(info.max_abs_q, 100.0, 0.0);

    /* Ties in the online values: the first candidate is picked. b_4 = b_5 = 2 online. */
    on_b[4] = 2.0f;
    on_b[3] = 0.0f;
    plant_q(mut(reco_qnet_online(q)), on_b);
    plant_q(mut(reco_qnet_target(q)), tg_b);
    const int32_t tie[8] = {5, 4, 4, 5, 5, 4, 4, 5};
    memcpy(tb.cand, tie, sizeof tie);
    assert_int_equal(reco_qnet_update(&info, pr, q, &tb.b), RECO_OK);
    const float yt[4] = {1.0f - 3.5f, 2.0f + 50.0f, -1.0f - 3.5f, 0.5f + 50.0f};
    for (int b = 0; b < 4; b++)
        assert_float_equal(pr[b], fabsf(0.25f - yt[b]), 0.0f);

    /* priority_eps is added */
    reco_qnet_options o2 = o;
    o2.priority_eps = 0.125f;
    reco_qnet *q2 = new_qnet(&o2);
    plant_q(mut(reco_qnet_online(q2)), on_b);
    plant_q(mut(reco_qnet_target(q2)), tg_b);
    assert_int_equal(reco_qnet_update(NULL, pr, q2, &tb.b), RECO_OK);
    for (int b = 0; b < 4; b++)
        assert_float_equal(pr[b], fabsf(0.25f - yt[b]) + 0.125f, 0.0f);
}

static void jitter(reco_model *m, uint64_t seed)
{
    lcg_state = seed;
    for (size_t i = 0; i < m->lay.n_params; i++)
        m->params[i] += ((float)(lcg() % 2001) - 1000.0f) * 1e-4f;
}

/* Warm start of a feedback model with every version-2 input (position, elapsed time, the
 * long-term history, dense and categorical item features, the state term): the Q score is
 * the reward-weighted sum of the signal scores, on a batch that carries the context. */
static void test_qnet_warm_start_v2_inputs(void **state)
{
    (void)state;
    reco_model_options mo = tiny_model();
    mo.position = 1;
    mo.elapsed = 1;
    mo.long_len = 3;
    mo.item_dense_dim = 2;
    mo.item_n_fields = 1;
    mo.item_field_sizes[0] = 5;
    reco_model *fb = new_model(&mo);
    jitter(fb, 13);
    float dense[12 * 2];
    int32_t fields[12];
    for (int i = 0; i < 12; i++) {
        dense[2 * i] = 0.3f * (float)(i % 4) - 0.5f;
        dense[2 * i + 1] = i % 2 == 0 ? 1.0f : 0.0f;
        fields[i] = i % 6 == 5 ? -1 : i % 5;
    }
    assert_int_equal(reco_model_set_item_features(fb, dense, fields, 12), RECO_OK);
    const float w[2] = {1.1f, -0.4f};
    reco_qnet *q = new_warm(fb, w, NULL);
    const reco_model *on = reco_qnet_online(q);
    lcg_state = 9;
    fill_batch(&tb, 4, 4, 12, 2, 12, 1);
    uint32_t steps[4] = {0, 1, 6, 30};
    float elapsed[4] = {0.0f, 10.0f, 200.0f, 5000.0f};
    int32_t long_items[12] = {1, RECO_PAD, 3, 4, 4, 11, RECO_PAD, RECO_PAD, RECO_PAD, 0, 7, 2};
    uint32_t long_fb[12] = {1, 0, 3, 2, 0, 1, 0, 0, 0, 3, 3, 1};
    reco_batch b = RECO_BATCH_INIT;
    b.size = 4;
    b.items = tb.s_items;
    b.feedback = tb.s_fb;
    b.steps = steps;
    b.elapsed = elapsed;
    b.long_items = long_items;
    b.long_feedback = long_fb;
    for (int i = 0; i < 12; i++)
        tb.cand[i] = i;
    b.n_candidates = 12;
    b.candidates = tb.cand;
    b.shared_candidates = 1;
    const uint32_t heads[2] = {0, 1}, qh = reco_qnet_q_head(q);
    float sig[4 * 2 * 12], qs[4 * 12];
    assert_int_equal(reco_model_score(sig, fb, NULL, &b, heads, 2), RECO_OK);
    assert_int_equal(reco_model_score(qs, on, NULL, &b, &qh, 1), RECO_OK);
    for (size_t r = 0; r < 4; r++)
        for (size_t c = 0; c < 12; c++) {
            const double want = w[0] * (double)sig[(r * 2) * 12 + c] +
                                w[1] * (double)sig[(r * 2 + 1) * 12 + c];
            if (fabs(qs[r * 12 + c] - want) > 1e-4 * (1.0 + fabs(want)))
                fail_msg("Q(%zu, %zu) = %.7g, from the signal scores %.7g", r, c,
                         (double)qs[r * 12 + c], want);
        }
    /* the Q-network carries the item features */
    assert_memory_equal(on->item_dense, dense, sizeof dense);
    assert_memory_equal(on->item_fields, fields, sizeof fields);
}

static void test_qnet_warm_start(void **state)
{
    (void)state;
    reco_model_options mo = tiny_model();
    mo.user_dim = 3;
    reco_model *fb = new_model(&mo);
    jitter(fb, 11); /* item biases and gains away from their initial values */
    const float w[2] = {0.7f, -1.3f};
    reco_model_options run = tiny_model();
    run.lr = 0.0123f;
    run.max_batch = 6;
    reco_qnet_options o = RECO_QNET_OPTIONS_INIT;
    o.model = &run;
    reco_qnet *q = new_warm(fb, w, &o);
    const reco_model *on = reco_qnet_online(q), *tg = reco_qnet_target(q);
    double lr = 0.0;
    assert_int_equal(reco_model_get_param(&lr, on, RECO_MODEL_PARAM_LR), RECO_OK);
    assert_float_equal(lr, 0.0123, 1e-9);
    assert_int_equal(on->opts.max_batch, 6);
    assert_int_equal(on->U, 3); /* architecture from the feedback model */

    /* Every parameter except the Q head is the feedback model's; target == online. */
    const size_t d = fb->d, H = fb->H, hq = H - 1, P = fb->lay.n_params;
    assert_memory_equal(on->params, tg->params, P * sizeof(float));
    for (size_t i = 0; i < P; i++) {
        int is_q = 0;
        if (i >= fb->lay.head_w && i < fb->lay.head_w + d * H * d)
            is_q = ((i - fb->lay.head_w) % (H * d)) / d == hq;
        if (i >= fb->lay.item_bias)
            is_q = (i - fb->lay.item_bias) % H == hq;
        if (i >= fb->lay.state_w && i < fb->lay.state_b + H) /* state_w then state_b */
            is_q = (i - fb->lay.state_w) % H == hq;
        if (!is_q && memcmp(&on->params[i], &fb->params[i], sizeof(float)) != 0)
            fail_msg("parameter %zu differs from the feedback model's", i);
    }

    /* User vectors bit-identical. */
    lcg_state = 5;
    fill_batch(&tb, 6, 4, 12, 2, 12, 1);
    float uf[6 * 3];
    for (int i = 0; i < 18; i++)
        uf[i] = (float)(lcg() % 100) * 0.02f - 1.0f;
    reco_batch b = RECO_BATCH_INIT;
    b.size = 6;
    b.items = tb.s_items;
    b.feedback = tb.s_fb;
    b.user_features = uf;
    for (int i = 0; i < 12; i++)
        tb.cand[i] = i;
    b.n_candidates = 12;
    b.candidates = tb.cand;
    b.shared_candidates = 1;
    float u_fb[6 * 8], u_on[6 * 8], u_tg[6 * 8];
    assert_int_equal(reco_model_user_vectors(u_fb, fb, NULL, &b), RECO_OK);
    assert_int_equal(reco_model_user_vectors(u_on, on, NULL, &b), RECO_OK);
    assert_int_equal(reco_model_user_vectors(u_tg, tg, NULL, &b), RECO_OK);
    assert_memory_equal(u_fb, u_on, sizeof u_fb);
    assert_memory_equal(u_fb, u_tg, sizeof u_fb);

    /* Q(s, i) = sum_f w_f logit_f(s, i), naively: from the feedback model's own signal
     * scores, and from the user vectors and the raw parameters in double. */
    const uint32_t heads[2] = {0, 1}, qh = reco_qnet_q_head(q);
    float sig[6 * 2 * 12], qs[6 * 12];
    assert_int_equal(reco_model_score(sig, fb, NULL, &b, heads, 2), RECO_OK);
    assert_int_equal(reco_model_score(qs, on, NULL, &b, &qh, 1), RECO_OK);
    double worst = 0.0;
    for (size_t r = 0; r < 6; r++) {
        for (size_t c = 0; c < 12; c++) {
            const double via_scores = w[0] * (double)sig[(r * 2 + 0) * 12 + c] +
                                      w[1] * (double)sig[(r * 2 + 1) * 12 + c];
            double naive = 0.0;
            for (size_t f = 0; f < 2; f++) {
                double s = fb->params[fb->lay.item_bias + c * H + f];
                for (size_t j = 0; j < d; j++)
                    for (size_t k = 0; k < d; k++)
                        s += (double)u_fb[r * d + j] *
                             fb->params[fb->lay.head_w + j * H * d + f * d + k] *
                             fb->params[fb->lay.item_emb + c * d + k];
                /* the state term u . v_f + c_f */
                s += fb->params[fb->lay.state_b + f];
                for (size_t j = 0; j < d; j++)
                    s += (double)u_fb[r * d + j] * fb->params[fb->lay.state_w + j * H + f];
                naive += w[f] * s;
            }
            const double got = qs[r * 12 + c];
            const double e1 = fabs(got - naive), e2 = fabs(got - via_scores);
            if (e1 > worst)
                worst = e1;
            if (e1 > 1e-4 * (1.0 + fabs(naive)) || e2 > 1e-4 * (1.0 + fabs(naive)))
                fail_msg("Q(%zu, %zu) = %.7g, naive %.7g, from the signal scores %.7g", r, c,
                         got, naive, via_scores);
        }
    }
    /* The head parameters themselves, naively. */
    for (size_t j = 0; j < d; j++)
        for (size_t k = 0; k < d; k++) {
            const size_t o0 = fb->lay.head_w + j * H * d;
            const double e = w[0] * (double)fb->params[o0 + k] +
                             w[1] * (double)fb->params[o0 + d + k];
            assert_float_equal(on->params[o0 + hq * d + k], e, 1e-6);
        }
    for (size_t i = 0; i < fb->N; i++) {
        const size_t o0 = fb->lay.item_bias + i * H;
        const double e = w[0] * (double)fb->params[o0] + w[1] * (double)fb->params[o0 + 1];
        assert_float_equal(on->params[o0 + hq], e, 1e-6);
    }

    /* Bad inputs */
    reco_qnet *bad = (reco_qnet *)fb;
    const float wn[2] = {0.5f, NAN};
    assert_reco_error(reco_qnet_create_warm(&bad, fb, wn, NULL), RECO_EINVAL, "reward_weights");
    assert_null(bad);
    assert_int_equal(reco_qnet_create_warm(&bad, NULL, w, NULL), RECO_EINVAL);
    assert_int_equal(reco_qnet_create_warm(&bad, fb, NULL, NULL), RECO_EINVAL);
    run.max_batch = 0;
    assert_int_equal(reco_qnet_create_warm(&bad, fb, w, &o), RECO_EINVAL);
    assert_null(bad);
}

static void test_qnet_target_sync(void **state)
{
    (void)state;
    reco_model_options mo = tiny_model();
    mo.lr = 0.01f;
    reco_qnet_options o = RECO_QNET_OPTIONS_INIT;
    o.model = &mo;
    o.target_period = 3;
    reco_qnet *q = new_qnet(&o);
    const reco_model *on = reco_qnet_online(q), *tg = reco_qnet_target(q);
    const size_t P = on->lay.n_params;
    assert_memory_equal(on->params, tg->params, P * sizeof(float));
    float *t0 = malloc(P * sizeof(float));
    assert_non_null(t0);
    memcpy(t0, tg->params, P * sizeof(float));
    lcg_state = 3;
    reco_qnet_update_info info = RECO_QNET_UPDATE_INFO_INIT;
    for (int k = 1; k <= 7; k++) {
        fill_batch(&tb, 8, 4, 12, 2, 12, 1);
        assert_int_equal(reco_qnet_update(&info, NULL, q, &tb.b), RECO_OK);
        assert_int_equal(info.target_synced, k % 3 == 0);
        if (k % 3 == 0) {
            assert_memory_equal(on->params, tg->params, P * sizeof(float));
            memcpy(t0, tg->params, P * sizeof(float));
        } else {
            assert_memory_equal(t0, tg->params, P * sizeof(float));
            assert_true(memcmp(on->params, tg->params, P * sizeof(float)) != 0);
        }
    }
    assert_int_equal(reco_qnet_n_updates(q), 7);
    assert_int_equal(reco_qnet_sync_target(q), RECO_OK);
    assert_memory_equal(on->params, tg->params, P * sizeof(float));

    /* Polyak: target = (1 - tau) target + tau online after every update. The library may
     * fuse the multiply-add, so either rounding is accepted, nothing else. */
    o.tau = 0.25f;
    reco_qnet *p = new_qnet(&o);
    on = reco_qnet_online(p);
    tg = reco_qnet_target(p);
    for (int k = 0; k < 4; k++) {
        memcpy(t0, tg->params, P * sizeof(float));
        fill_batch(&tb, 8, 4, 12, 2, 12, 1);
        assert_int_equal(reco_qnet_update(&info, NULL, p, &tb.b), RECO_OK);
        assert_int_equal(info.target_synced, 0);
        const float tau = 0.25f, keep = 1.0f - tau;
        for (size_t i = 0; i < P; i++) {
            volatile float a = keep * t0[i];
            volatile float bb = tau * on->params[i];
            const float plain = a + bb;
            const float fused = fmaf(tau, on->params[i], keep * t0[i]);
            const float fused2 = fmaf(keep, t0[i], tau * on->params[i]);
            if (tg->params[i] != plain && tg->params[i] != fused && tg->params[i] != fused2)
                fail_msg("Polyak parameter %zu: %.9g, expected %.9g", i,
                         (double)tg->params[i], (double)plain);
        }
    }
    free(t0);
}

static void test_qnet_divergence_guard(void **state)
{
    (void)state;
    reco_model_options mo = tiny_model();
    reco_qnet_options o = RECO_QNET_OPTIONS_INIT;
    o.model = &mo;
    o.max_abs_q = 50.0f;
    o.max_loss = 100.0f;
    reco_qnet *q = new_qnet(&o);
    lcg_state = 9;
    fill_batch(&tb, 8, 4, 12, 2, 12, 1);
    assert_int_equal(reco_qnet_update(NULL, NULL, q, &tb.b), RECO_OK);

    /* Planted rewards: the loss passes max_loss. */
    for (int b = 0; b < 8; b++)
        tb.rewards[b] = 1e6f;
    float pr[8];
    for (int b = 0; b < 8; b++)
        pr[b] = -1.0f;
    snap s;
    take(&s, q);
    assert_reco_error(reco_qnet_update(NULL, pr, q, &tb.b), RECO_ESTATE, "diverged: loss");
    assert_unchanged(&s, q);
    for (int b = 0; b < 8; b++)
        assert_float_equal(pr[b], -1.0f, 0.0f);

    /* Planted learning rate: Q passes max_abs_q within a few updates. */
    assert_int_equal(reco_qnet_set_param(q, RECO_QNET_PARAM_LR, 10.0), RECO_OK);
    const size_t P = reco_qnet_online(q)->lay.n_params;
    int fired = 0;
    for (int k = 0; k < 50 && !fired; k++) {
        fill_batch(&tb, 8, 4, 12, 2, 12, 1);
        take(&s, q);
        int rc = reco_qnet_update(NULL, pr, q, &tb.b);
        if (rc == RECO_OK) {
            free(s.on); free(s.tg); free(s.am); free(s.av);
            continue;
        }
        assert_reco_error(rc, RECO_ESTATE, "diverged:");
        assert_unchanged(&s, q);
        fired = 1;
    }
    assert_true(fired);
    /* The last applied step is undone (exactness: test_qnet_restore_exact); from there, with
     * a small learning rate, updates work again. */
    const reco_model *on = reco_qnet_online(q);
    assert_int_equal(reco_qnet_restore_last_good(q), RECO_OK);
    assert_memory_equal(on->params, reco_qnet_target(q)->params, P * sizeof(float));
    assert_int_equal(reco_qnet_set_param(q, RECO_QNET_PARAM_LR, 1e-4), RECO_OK);
    for (int b = 0; b < 8; b++)
        tb.rewards[b] = 0.5f;
    assert_int_equal(reco_qnet_update(NULL, pr, q, &tb.b), RECO_OK);

    /* keep_last_good off: nothing to restore. */
    o.keep_last_good = 0;
    reco_qnet *q2 = new_qnet(&o);
    assert_int_equal(reco_qnet_update(NULL, NULL, q2, &tb.b), RECO_OK);
    assert_int_equal(reco_qnet_restore_last_good(q2), RECO_ESTATE);
}

/* restore_last_good brings back exactly the parameters from before the last applied step. */
static void test_qnet_restore_exact(void **state)
{
    (void)state;
    reco_model_options mo = tiny_model();
    mo.lr = 0.05f;
    reco_qnet_options o = RECO_QNET_OPTIONS_INIT;
    o.model = &mo;
    reco_qnet *q = new_qnet(&o);
    const size_t P = reco_qnet_online(q)->lay.n_params;
    lcg_state = 17;
    fill_batch(&tb, 8, 4, 12, 2, 12, 1);
    assert_int_equal(reco_qnet_update(NULL, NULL, q, &tb.b), RECO_OK);
    float *before = malloc(P * sizeof(float));
    assert_non_null(before);
    memcpy(before, reco_qnet_online(q)->params, P * sizeof(float));
    fill_batch(&tb, 8, 4, 12, 2, 12, 1);
    assert_int_equal(reco_qnet_update(NULL, NULL, q, &tb.b), RECO_OK);
    assert_true(memcmp(before, reco_qnet_online(q)->params, P * sizeof(float)) != 0);
    assert_int_equal(reco_qnet_restore_last_good(q), RECO_OK);
    assert_memory_equal(before, reco_qnet_online(q)->params, P * sizeof(float));
    assert_memory_equal(before, reco_qnet_target(q)->params, P * sizeof(float));
    free(before);
}

static void run_updates(float *out_on, float *out_tg, double *losses, int n)
{
    reco_model_options mo = tiny_model();
    mo.lr = 0.01f;
    reco_qnet_options o = RECO_QNET_OPTIONS_INIT;
    o.model = &mo;
    o.target_period = 4;
    reco_qnet *q = new_qnet(&o);
    lcg_state = 77;
    reco_qnet_update_info info = RECO_QNET_UPDATE_INFO_INIT;
    for (int k = 0; k < n; k++) {
        fill_batch(&tb, 8, 4, 12, 2, 10, k % 2);
        assert_int_equal(reco_qnet_update(&info, NULL, q, &tb.b), RECO_OK);
        losses[k] = info.loss;
    }
    const size_t P = reco_qnet_online(q)->lay.n_params;
    memcpy(out_on, reco_qnet_online(q)->params, P * sizeof(float));
    memcpy(out_tg, reco_qnet_target(q)->params, P * sizeof(float));
}

static void test_qnet_determinism(void **state)
{
    (void)state;
    reco_model_options mo = tiny_model();
    reco_model *m = new_model(&mo);
    const size_t P = m->lay.n_params;
    float *a_on = malloc(P * sizeof(float)), *a_tg = malloc(P * sizeof(float));
    float *b_on = malloc(P * sizeof(float)), *b_tg = malloc(P * sizeof(float));
    double la[30], lb[30];
    assert_true(a_on && a_tg && b_on && b_tg);
    run_updates(a_on, a_tg, la, 30);
    run_updates(b_on, b_tg, lb, 30);
    assert_memory_equal(a_on, b_on, P * sizeof(float));
    assert_memory_equal(a_tg, b_tg, P * sizeof(float));
    assert_memory_equal(la, lb, sizeof la);
    assert_true(memcmp(a_on, m->params, P * sizeof(float)) != 0); /* it did learn something */
    free(a_on); free(a_tg); free(b_on); free(b_tg);
}


/* ---- the conservative (CQL) penalty ------------------------------------------------------- */

static void run_updates_with(float *out_on, double *losses, int n, const reco_qnet_options *base)
{
    reco_model_options mo = tiny_model();
    mo.lr = 0.01f;
    reco_qnet_options o = *base;
    o.model = &mo;
    o.target_period = 4;
    reco_qnet *q = new_qnet(&o);
    lcg_state = 77;
    reco_qnet_update_info info = RECO_QNET_UPDATE_INFO_INIT;
    for (int k = 0; k < n; k++) {
        fill_batch(&tb, 8, 4, 12, 2, 10, k % 2);
        assert_int_equal(reco_qnet_update(&info, NULL, q, &tb.b), RECO_OK);
        losses[k] = info.loss;
    }
    memcpy(out_on, reco_qnet_online(q)->params,
           reco_qnet_online(q)->lay.n_params * sizeof(float));
}

/* alpha 0 is today's update bit for bit (a version-1 options struct, whose caller never set
 * the field, reads as alpha 0 whatever lies there); alpha > 0 changes it. */
static void test_qnet_conservative_alpha_zero(void **state)
{
    (void)state;
    reco_model_options mo = tiny_model();
    const size_t P = new_model(&mo)->lay.n_params;
    float *v1 = malloc(P * sizeof(float)), *v2 = malloc(P * sizeof(float));
    float *on = malloc(P * sizeof(float));
    double l1[12], l2[12], l3[12];
    assert_true(v1 && v2 && on);
    reco_qnet_options o = RECO_QNET_OPTIONS_INIT;
    o.version = 1;
    o.conservative_alpha = 5.0f; /* past a version-1 struct: never read */
    run_updates_with(v1, l1, 12, &o);
    o = (reco_qnet_options)RECO_QNET_OPTIONS_INIT;
    run_updates_with(v2, l2, 12, &o);
    assert_memory_equal(v1, v2, P * sizeof(float));
    assert_memory_equal(l1, l2, sizeof l1);
    o.conservative_alpha = 0.5f;
    run_updates_with(on, l3, 12, &o);
    assert_true(memcmp(v1, on, P * sizeof(float)) != 0);
    assert_true(l3[0] > l1[0]); /* the same first batch: the loss gained the penalty */
    free(v1);
    free(v2);
    free(on);
}

/* Q(s, i) = 0.5 for every item, every row takes item 1 and gets reward 0.5 at an exit: the TD
 * error is 0, so only the penalty moves the network. It costs log 7 per row (seven equal
 * values: the action and six candidates), raises Q(s, 1) and pushes down the candidates the
 * data never took, relative to the same update without it. The checkpoint keeps alpha. */
static void test_qnet_conservative_pushes_down(void **state)
{
    (void)state;
    float bias[12], qa[2][8 * 12], ib[2][12];
    double loss[2];
    for (int run = 0; run < 2; run++) {
        reco_model_options mo = tiny_model();
        mo.lr = 0.01f;
        reco_qnet_options o = RECO_QNET_OPTIONS_INIT;
        o.model = &mo;
        o.conservative_alpha = run == 0 ? 0.0f : 1.0f;
        reco_qnet *q = new_qnet(&o);
        for (int i = 0; i < 12; i++)
            bias[i] = 0.5f;
        plant_q(mut(reco_qnet_online(q)), bias);
        assert_int_equal(reco_qnet_sync_target(q), RECO_OK);
        lcg_state = 5;
        fill_batch(&tb, 8, 4, 12, 2, 6, 1);
        for (int b = 0; b < 8; b++) {
            tb.actions[b] = 1;
            tb.rewards[b] = 0.5f;
            tb.done[b] = RECO_ENV_EXIT;
            tb.weights[b] = 1.0f;
            tb.n_items[b * 4 + 3] = 1;
        }
        for (int c = 0; c < 6; c++)
            tb.cand[c] = 2 + c;
        reco_qnet_update_info info = RECO_QNET_UPDATE_INFO_INIT;
        assert_int_equal(reco_qnet_update(&info, NULL, q, &tb.b), RECO_OK);
        loss[run] = info.loss;
        /* Q of every item at the batch's states after the step */
        int32_t all[12];
        for (int i = 0; i < 12; i++)
            all[i] = i;
        reco_batch sb = RECO_BATCH_INIT;
        sb.size = 8;
        sb.items = tb.s_items;
        sb.feedback = tb.s_fb;
        sb.n_candidates = 12;
        sb.candidates = all;
        sb.shared_candidates = 1;
        const uint32_t hq = reco_qnet_q_head(q);
        assert_int_equal(reco_model_score(qa[run], reco_qnet_online(q), NULL, &sb, &hq, 1),
                         RECO_OK);
        const reco_model *on = reco_qnet_online(q);
        for (int i = 0; i < 12; i++)
            ib[run][i] = on->params[on->lay.item_bias + (size_t)i * on->H + hq];
        if (run == 1) {
            char dir[] = "/tmp/reco-qnet-cql.XXXXXX", path[64];
            assert_non_null(mkdtemp(dir));
            snprintf(path, sizeof path, "%s/q.bin", dir);
            assert_int_equal(reco_qnet_save(q, path), RECO_OK);
            reco_qnet *back = NULL;
            assert_int_equal(reco_qnet_open(&back, path, NULL), RECO_OK);
            assert_float_equal(back->opts.conservative_alpha, 1.0f, 0.0f);
            reco_qnet_free(back);
            remove(path);
            rmdir(dir);
        }
    }
    assert_float_equal(loss[0], 0.0, 1e-9);
    assert_float_equal(loss[1], log(7.0), 1e-5);
    /* the item biases: the action's up, the six candidates' down, the rest as without */
    assert_true(ib[1][1] > ib[0][1] + 1e-3f);
    for (int c = 2; c < 8; c++)
        if (!(ib[1][c] < ib[0][c] - 1e-3f))
            fail_msg("candidate %d: bias %g with the penalty, %g without", c,
                     (double)ib[1][c], (double)ib[0][c]);
    for (int i = 8; i < 12; i++)
        assert_float_equal(ib[1][i], ib[0][i], 0.0f);
    /* every state now prefers the data action to each never-taken candidate; without the
     * penalty nothing moved */
    for (int b = 0; b < 8; b++)
        for (int c = 2; c < 8; c++) {
            assert_true(qa[1][b * 12 + 1] > qa[1][b * 12 + c]);
            assert_float_equal(qa[0][b * 12 + 1], qa[0][b * 12 + c], 1e-6f);
        }
}

/* ---- the session context ------------------------------------------------------------------ */

/* The tiny model with every state input: user features, position, elapsed time, a long-term
 * history of 3. */
static reco_model_options ctx_model(void)
{
    reco_model_options o = tiny_model();
    o.user_dim = 2;
    o.position = 1;
    o.elapsed = 1;
    o.long_len = 3;
    o.lr = 0.01f;
    return o;
}

typedef struct tctx {
    uint32_t s_steps[8], n_steps[8], long_fb[8 * 3];
    float s_el[8], n_el[8], s_user[8 * 2], n_user[8 * 2];
    int32_t long_items[8 * 3];
} tctx;

/* A context for the B rows of tb: s' one step and some seconds after s, one session. */
static void fill_context(tctx *c, reco_qnet_batch *b, uint32_t B, uint32_t shift)
{
    for (uint32_t r = 0; r < B; r++) {
        c->s_steps[r] = (lcg() % 40) + shift;
        c->n_steps[r] = c->s_steps[r] + 1;
        c->s_el[r] = (float)(lcg() % 3000) * 0.5f;
        c->n_el[r] = c->s_el[r] + 1.0f + (float)(lcg() % 60);
        for (int k = 0; k < 2; k++)
            c->s_user[r * 2 + k] = c->n_user[r * 2 + k] = (float)(lcg() % 200) * 0.01f - 1.0f;
        for (int k = 0; k < 3; k++) {
            c->long_items[r * 3 + k] = lcg() % 4 == 0 ? RECO_PAD : (int32_t)(lcg() % 12);
            c->long_fb[r * 3 + k] = c->long_items[r * 3 + k] == RECO_PAD ? 0 : lcg() % 4;
        }
    }
    b->version = 2;
    b->state_user_features = c->s_user;
    b->next_user_features = c->n_user;
    b->state_steps = c->s_steps;
    b->next_steps = c->n_steps;
    b->state_elapsed = c->s_el;
    b->next_elapsed = c->n_el;
    b->long_items = c->long_items;
    b->long_feedback = c->long_fb;
}

static tctx tc;

/* The update by hand on models of the same parameters: the online Q over the candidates of
 * s' (with the context of s'), the target at the argmax, the targets y, then
 * reco_model_train_scalar with the context of s and a step. Returns the loss. */
static double ddqn_by_hand(reco_model *on, reco_model *tg, const reco_qnet_batch *qb,
                           float gamma, float *pred)
{
    const uint32_t B = qb->size, C = qb->n_candidates, head = reco_model_n_heads(on) - 1;
    reco_batch nb = RECO_BATCH_INIT;
    nb.size = B;
    nb.items = qb->next_items;
    nb.feedback = qb->next_feedback;
    nb.user_features = qb->next_user_features;
    nb.steps = qb->next_steps;
    nb.elapsed = qb->next_elapsed;
    nb.long_items = qb->long_items;
    nb.long_feedback = qb->long_feedback;
    nb.n_candidates = C;
    nb.candidates = qb->candidates;
    nb.shared_candidates = qb->shared_candidates;
    float qn[8 * 12], qt[8], y[8];
    int32_t astar[8];
    assert_int_equal(reco_model_score(qn, on, NULL, &nb, &head, 1), RECO_OK);
    for (uint32_t r = 0; r < B; r++) {
        uint32_t best = 0;
        for (uint32_t c = 1; c < C; c++)
            if (qn[r * C + c] > qn[r * C + best])
                best = c;
        astar[r] = qb->candidates[(qb->shared_candidates ? 0 : r * C) + best];
    }
    nb.n_candidates = 1;
    nb.candidates = astar;
    nb.shared_candidates = 0;
    assert_int_equal(reco_model_score(qt, tg, NULL, &nb, &head, 1), RECO_OK);
    for (uint32_t r = 0; r < B; r++)
        y[r] = qb->rewards[r] + (qb->done[r] == RECO_ENV_EXIT ? 0.0f : gamma * qt[r]);
    reco_batch sb = RECO_BATCH_INIT;
    sb.size = B;
    sb.items = qb->state_items;
    sb.feedback = qb->state_feedback;
    sb.user_features = qb->state_user_features;
    sb.steps = qb->state_steps;
    sb.elapsed = qb->state_elapsed;
    sb.long_items = qb->long_items;
    sb.long_feedback = qb->long_feedback;
    double loss = 0.0;
    assert_int_equal(reco_model_train_scalar(&loss, pred, on, &sb, qb->actions, head, y,
                                             qb->weights, 1.0f), RECO_OK);
    assert_int_equal(reco_model_step(NULL, on), RECO_OK);
    return loss;
}

/* A Q-network with the session context: each update equals the hand-built one on the same
 * batches (bit for bit), the context of s and s' each change the update, and a version-1 batch
 * or a missing array is refused with nothing changed. */
static void test_qnet_update_with_context(void **state)
{
    (void)state;
    reco_model_options mo = ctx_model();
    reco_qnet_options o = RECO_QNET_OPTIONS_INIT;
    o.model = &mo;
    o.gamma = 0.9f;
    o.target_period = 3;
    reco_qnet *q = new_qnet(&o);
    reco_model *on = new_model(&mo), *tg = new_model(&mo);
    assert_int_equal(reco_model_copy_params(on, reco_qnet_online(q)), RECO_OK);
    assert_int_equal(reco_model_copy_params(tg, reco_qnet_target(q)), RECO_OK);
    jitter(mut(reco_qnet_target(q)), 5); /* the target differs from the online network */
    assert_int_equal(reco_model_copy_params(tg, reco_qnet_target(q)), RECO_OK);
    const size_t P = on->lay.n_params;
    lcg_state = 31;
    for (int k = 0; k < 6; k++) {
        fill_batch(&tb, 8, 4, 12, 2, 12, k % 2);
        fill_context(&tc, &tb.b, 8, 0);
        float want_pred[8], got_prio[8];
        reco_qnet_update_info info = RECO_QNET_UPDATE_INFO_INIT;
        if (reco_qnet_update(&info, got_prio, q, &tb.b) != RECO_OK)
            fail_msg("update %d: %s", k, reco_error_message());
        const double loss = ddqn_by_hand(on, tg, &tb.b, 0.9f, want_pred);
        if ((k + 1) % 3 == 0)
            assert_int_equal(reco_model_copy_params(tg, on), RECO_OK); /* the hard sync */
        assert_true(info.loss == loss);
        assert_memory_equal(reco_qnet_online(q)->params, on->params, P * sizeof(float));
        assert_memory_equal(reco_qnet_target(q)->params, tg->params, P * sizeof(float));
        (void)got_prio;
    }

    /* the context of s' and of s each matter: a shifted one gives another update */
    for (int which = 0; which < 3; which++) {
        reco_qnet *a = new_qnet(&o), *b = new_qnet(&o);
        lcg_state = 77;
        fill_batch(&tb, 8, 4, 12, 2, 12, 1);
        fill_context(&tc, &tb.b, 8, 0);
        reco_qnet_update_info ia = RECO_QNET_UPDATE_INFO_INIT, ib = RECO_QNET_UPDATE_INFO_INIT;
        assert_int_equal(reco_qnet_update(&ia, NULL, a, &tb.b), RECO_OK);
        if (which == 0)
            for (int r = 0; r < 8; r++)
                tc.n_el[r] += 500.0f;
        else if (which == 1)
            for (int r = 0; r < 8; r++)
                tc.s_steps[r] += 30;
        else
            for (int r = 0; r < 24; r++)
                tc.long_items[r] = (tc.long_items[r] + 5) % 12;
        assert_int_equal(reco_qnet_update(&ib, NULL, b, &tb.b), RECO_OK);
        /* the first Adam step moves each parameter by +-lr whatever the gradient's size, so
         * the parameters can agree; the update's figures cannot */
        assert_true(ia.loss != ib.loss);
        if (which == 0) /* s' only enters through the target */
            assert_true(ia.mean_target != ib.mean_target);
        else /* s through Q(s, a) */
            assert_true(ia.mean_q != ib.mean_q);
    }

    /* refused, nothing changed: a version-1 batch, and missing arrays */
    lcg_state = 5;
    fill_batch(&tb, 8, 4, 12, 2, 12, 1);
    fill_context(&tc, &tb.b, 8, 0);
    snap sn;
    take(&sn, q);
    reco_qnet_batch v1 = tb.b;
    v1.version = 1;
    assert_reco_error(reco_qnet_update(NULL, NULL, q, &v1), RECO_EINVAL,
                      "version-1 reco_qnet_batch");
    reco_qnet_batch m = tb.b;
    m.next_steps = NULL;
    assert_reco_error(reco_qnet_update(NULL, NULL, q, &m), RECO_EINVAL, "next_steps");
    m = tb.b;
    m.state_elapsed = NULL;
    assert_reco_error(reco_qnet_update(NULL, NULL, q, &m), RECO_EINVAL, "state_elapsed");
    m = tb.b;
    m.long_feedback = NULL;
    assert_reco_error(reco_qnet_update(NULL, NULL, q, &m), RECO_EINVAL, "long_feedback");
    m = tb.b;
    tc.n_el[3] = -1.0f;
    assert_reco_error(reco_qnet_update(NULL, NULL, q, &m), RECO_EINVAL, "elapsed[3]");
    tc.n_el[3] = 1.0f;
    m.version = 3;
    assert_int_equal(reco_qnet_update(NULL, NULL, q, &m), RECO_EVERSION);
    assert_unchanged(&sn, q);
    assert_int_equal(reco_qnet_update(NULL, NULL, q, &tb.b), RECO_OK);

    /* a model without the context takes a version-1 batch (and ignores a version-2 one's) */
    reco_model_options plain = tiny_model();
    o.model = &plain;
    reco_qnet *p1 = new_qnet(&o), *p2 = new_qnet(&o);
    lcg_state = 8;
    fill_batch(&tb, 8, 4, 12, 2, 12, 1);
    v1 = tb.b;
    v1.version = 1;
    assert_int_equal(reco_qnet_update(NULL, NULL, p1, &v1), RECO_OK);
    fill_context(&tc, &tb.b, 8, 0);
    tb.b.state_user_features = tb.b.next_user_features = NULL;
    assert_int_equal(reco_qnet_update(NULL, NULL, p2, &tb.b), RECO_OK);
    assert_memory_equal(reco_qnet_online(p1)->params, reco_qnet_online(p2)->params,
                        reco_qnet_online(p1)->lay.n_params * sizeof(float));
}

/* Counting allocator: the update allocates nothing. */
static size_t n_allocs;
static void *count_alloc(void *opaque, size_t size, size_t align)
{
    (void)opaque;
    n_allocs++;
    void *p = NULL;
    if (align < sizeof(void *))
        align = sizeof(void *);
    return posix_memalign(&p, align, size) == 0 ? p : NULL;
}
static void count_free(void *opaque, void *p)
{
    (void)opaque;
    free(p);
}

static void test_qnet_no_alloc(void **state)
{
    (void)state;
    reco_allocator a = RECO_ALLOCATOR_INIT;
    a.alloc = count_alloc;
    a.free = count_free;
    reco_model_options mo = tiny_model();
    reco_qnet_options o = RECO_QNET_OPTIONS_INIT;
    o.model = &mo;
    o.allocator = &a;
    n_allocs = 0;
    reco_qnet *q = new_qnet(&o);
    const size_t after_create = n_allocs;
    assert_true(after_create > 0);
    lcg_state = 4;
    for (int k = 0; k < 5; k++) {
        fill_batch(&tb, 8, 4, 12, 2, 12, k % 2);
        assert_int_equal(reco_qnet_update(NULL, NULL, q, &tb.b), RECO_OK);
    }
    assert_int_equal(n_allocs, after_create);
    /* with the session context too */
    reco_model_options cm = ctx_model();
    o.model = &cm;
    n_allocs = 0;
    q = new_qnet(&o);
    const size_t after_ctx = n_allocs;
    for (int k = 0; k < 5; k++) {
        fill_batch(&tb, 8, 4, 12, 2, 12, k % 2);
        fill_context(&tc, &tb.b, 8, 0);
        assert_int_equal(reco_qnet_update(NULL, NULL, q, &tb.b), RECO_OK);
    }
    assert_int_equal(n_allocs, after_ctx);
    /* and with the conservative penalty, shared and per-row candidates */
    o.conservative_alpha = 0.5f;
    n_allocs = 0;
    q = new_qnet(&o);
    const size_t after_cql = n_allocs;
    for (int k = 0; k < 5; k++) {
        fill_batch(&tb, 8, 4, 12, 2, 12, k % 2);
        fill_context(&tc, &tb.b, 8, 0);
        assert_int_equal(reco_qnet_update(NULL, NULL, q, &tb.b), RECO_OK);
    }
    assert_int_equal(n_allocs, after_cql);
}

static void test_qnet_bad_input(void **state)
{
    (void)state;
    reco_model_options mo = tiny_model();
    reco_qnet_options o = RECO_QNET_OPTIONS_INIT;
    o.model = &mo;
    reco_qnet *q = new_qnet(&o);
    lcg_state = 21;
    fill_batch(&tb, 8, 4, 12, 2, 12, 1);
    assert_int_equal(reco_qnet_update(NULL, NULL, q, &tb.b), RECO_OK);
    const reco_qnet_batch good = tb.b;
    float pr[8];
    snap s;
#define EXPECT_FAIL(code, needle)                                             \
    do {                                                                      \
        take(&s, q);                                                          \
        assert_reco_error(reco_qnet_update(NULL, pr, q, &tb.b), code, needle); \
        assert_unchanged(&s, q);                                              \
        tb.b = good;                                                          \
    } while (0)

    assert_int_equal(reco_qnet_update(NULL, pr, NULL, &tb.b), RECO_EINVAL);
    take(&s, q);
    assert_int_equal(reco_qnet_update(NULL, pr, q, NULL), RECO_EINVAL);
    assert_unchanged(&s, q);
    tb.b.version = 0;
    EXPECT_FAIL(RECO_EVERSION, "reco_qnet_batch");
    tb.b.size = 0;
    EXPECT_FAIL(RECO_EINVAL, "batch size");
    tb.b.size = 9;
    EXPECT_FAIL(RECO_EINVAL, "batch size");
    tb.b.n_candidates = 13;
    EXPECT_FAIL(RECO_EINVAL, "candidates");
    tb.b.rewards = NULL;
    EXPECT_FAIL(RECO_EINVAL, "NULL");
    tb.done[3] = 3;
    EXPECT_FAIL(RECO_EINVAL, "done[3]");
    tb.done[3] = 0;
    tb.rewards[2] = NAN;
    EXPECT_FAIL(RECO_EINVAL, "rewards[2]");
    tb.rewards[2] = 0.0f;
    tb.weights[1] = -1.0f;
    EXPECT_FAIL(RECO_EINVAL, "weights[1]");
    tb.weights[1] = NAN;
    EXPECT_FAIL(RECO_EINVAL, "weights[1]");
    tb.weights[1] = 1.0f;
    tb.actions[0] = 12;
    EXPECT_FAIL(RECO_EINVAL, "actions[0]");
    tb.actions[0] = 1;
    tb.cand[5] = -1;
    EXPECT_FAIL(RECO_EINVAL, "candidate");
    tb.cand[5] = 1;
    tb.n_items[6] = 40; /* next state */
    EXPECT_FAIL(RECO_EINVAL, "history item");
    tb.n_items[6] = 2;
    tb.s_items[9] = 12; /* state: found after the next states were scored */
    EXPECT_FAIL(RECO_EINVAL, "history item");
    tb.s_items[9] = 2;
    tb.s_fb[0] = 8; /* bit beyond F = 2 */
    tb.s_items[0] = 1;
    EXPECT_FAIL(RECO_EINVAL, "feedback");
    tb.s_fb[0] = 0;
    reco_qnet_update_info info = RECO_QNET_UPDATE_INFO_INIT;
    info.version = 99;
    take(&s, q);
    assert_int_equal(reco_qnet_update(&info, pr, q, &tb.b), RECO_EVERSION);
    assert_unchanged(&s, q);
    assert_int_equal(reco_qnet_update(NULL, pr, q, &tb.b), RECO_OK);
#undef EXPECT_FAIL
}

/* Cost of one update at the default model size (N 1000, d 64, L 20, 1 block, F 4) with B 256
 * and C shared candidates: printed, not asserted. */
static void test_qnet_timing(void **state)
{
    (void)state;
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    reco_qnet_options o = RECO_QNET_OPTIONS_INIT;
    o.model = &mo;
    reco_qnet *q = new_qnet(&o);
    o.conservative_alpha = 0.1f;
    reco_qnet *qc = new_qnet(&o);
    const uint32_t Cs[3] = {1, 128, 512};
    lcg_state = 99;
    for (int ci = 0; ci < 5; ci++) {
        if (ci == 3) /* the conservative penalty: one more score and backward per candidate */
            q = qc;
        fill_batch(&tb, 256, 20, 1000, 4, Cs[ci < 3 ? ci : ci - 2], 1);
        assert_int_equal(reco_qnet_update(NULL, NULL, q, &tb.b), RECO_OK); /* warm-up */
        const int reps = 10;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int k = 0; k < reps; k++)
            assert_int_equal(reco_qnet_update(NULL, NULL, q, &tb.b), RECO_OK);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        const double ms = ((double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                           (double)(t1.tv_nsec - t0.tv_nsec) * 1e-6) / reps;
        printf("[ timing ] qnet update B 256, C %4u, d 64, L 20%s: %.2f ms\n",
               Cs[ci < 3 ? ci : ci - 2], ci < 3 ? "" : ", conservative", ms);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_qnet_options, teardown),
        cmocka_unit_test_teardown(test_qnet_ddqn_target, teardown),
        cmocka_unit_test_teardown(test_qnet_warm_start, teardown),
        cmocka_unit_test_teardown(test_qnet_warm_start_v2_inputs, teardown),
        cmocka_unit_test_teardown(test_qnet_target_sync, teardown),
        cmocka_unit_test_teardown(test_qnet_divergence_guard, teardown),
        cmocka_unit_test_teardown(test_qnet_restore_exact, teardown),
        cmocka_unit_test_teardown(test_qnet_determinism, teardown),
        cmocka_unit_test_teardown(test_qnet_conservative_alpha_zero, teardown),
        cmocka_unit_test_teardown(test_qnet_conservative_pushes_down, teardown),
        cmocka_unit_test_teardown(test_qnet_update_with_context, teardown),
        cmocka_unit_test_teardown(test_qnet_no_alloc, teardown),
        cmocka_unit_test_teardown(test_qnet_bad_input, teardown),
        cmocka_unit_test_teardown(test_qnet_timing, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
