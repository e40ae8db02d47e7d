/* reco_audit: a simulator whose model reproduces a known env (another simulator on the same
 * state-independent model, other seed) gives matching rates within sampling tolerance; a
 * deliberately biased one (click logits + 1) shows a click gap with the right sign overall,
 * in every popularity bucket and where the audit says it is most wrong; the world wrapper
 * on two identical worlds gives identical sides; bad inputs. Internal test: the models' head
 * weights are zeroed so that each head's logit is an item bias chosen here. */
#include <math.h>

#include "test_common.h"
#include "model_private.h"
#include "reco/audit.h"
#include "reco/sim.h"

enum { NI = 50, LB = 4, NSIG = 4, NU = 2000 };

static float logit(double p)
{
    return (float)log(p / (1.0 - p));
}

/* P(signal f | item i) rises with i for click and long watch; exit .08 .. .12. The click
 * logit is shifted by `click_shift` (the bias under test). */
static double prob(size_t i, size_t h)
{
    const double x = (double)i / (NI - 1);
    const double p[5] = {0.2 + 0.5 * x, 0.1 + 0.2 * x, 0.05, 0.3 - 0.2 * x, 0.08 + 0.04 * x};
    return p[h];
}

static reco_model *known_model(float click_shift)
{
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = NI;
    o.dim = 8;
    o.lookback = LB;
    o.n_heads = 2;
    o.ffn_dim = 8;
    o.n_signals = NSIG;
    o.max_batch = 64;
    o.max_candidates = 16;
    reco_model *m = NULL;
    assert_int_equal(reco_model_create(&m, &o), RECO_OK);
    memset(m->params + m->lay.head_w, 0, m->d * m->H * m->d * sizeof(float));
    for (size_t i = 0; i < NI; i++)
        for (size_t h = 0; h < 5; h++)
            m->params[m->lay.item_bias + i * m->H + h] =
                logit(prob(i, h)) + (h == RECO_SIGNAL_CLICK ? click_shift : 0.0f);
    return m;
}

static reco_sim *make_sim(const reco_model *m, uint64_t seed)
{
    reco_sim_options so = RECO_SIM_OPTIONS_INIT;
    so.max_sessions = 64;
    so.max_session_len = 40;
    so.n_candidates = 10;
    so.seed = seed;
    reco_sim *s = NULL;
    assert_int_equal(reco_sim_create(&s, m, &so), RECO_OK);
    return s;
}

typedef struct fixture {
    reco_model *model, *biased;
    reco_sim *real, *sim, *bsim;
    reco_env real_env, sim_env, bsim_env;
    reco_policy_state *ps;
    reco_policy pol;
    uint64_t users[NU];
    uint32_t seg[NU];
    float pop[NI];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->model = known_model(0.0f);
    f->biased = known_model(1.0f);
    f->real = make_sim(f->model, 1);
    f->sim = make_sim(f->model, 2);
    f->bsim = make_sim(f->biased, 3);
    reco_sim_env(&f->real_env, f->real);
    reco_sim_env(&f->sim_env, f->sim);
    reco_sim_env(&f->bsim_env, f->bsim);
    assert_int_equal(reco_policy_create(&f->ps, NULL), RECO_OK);
    reco_policy_get(&f->pol, f->ps);
    for (uint32_t k = 0; k < NU; k++) {
        f->users[k] = 1000 + k;
        f->seg[k] = k % 3 == 0 ? 1 : 0;
    }
    for (uint32_t i = 0; i < NI; i++)
        f->pop[i] = (float)((i * 7) % NI); /* a permutation: buckets are not id ranges */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    reco_policy_free(f->ps);
    reco_sim_free(f->real);
    reco_sim_free(f->sim);
    reco_sim_free(f->bsim);
    reco_model_free(f->model);
    reco_model_free(f->biased);
    free(f);
    return 0;
}

/* 4.5 standard errors of the difference of two independent rates. */
static double tol(double p, uint64_t n1, uint64_t n2)
{
    return 4.5 * sqrt(p * (1.0 - p) * (1.0 / (double)n1 + 1.0 / (double)n2)) + 1e-9;
}

static reco_audit_options opts_for(const fixture *f)
{
    reco_audit_options o = RECO_AUDIT_OPTIONS_INIT;
    o.item_popularity = f->pop;
    o.user_segment = f->seg;
    o.n_segments = 2;
    o.max_candidates = 10;
    return o;
}

static void test_audit_matching_sim(void **state)
{
    fixture *f = *state;
    reco_audit_options o = opts_for(f);
    reco_audit_report r;
    r.version = RECO_AUDIT_REPORT_VERSION;
    assert_int_equal(reco_audit_run(&r, &f->sim_env, &f->real_env, &f->pol, f->users, NU, &o),
                     RECO_OK);
    assert_int_equal(r.n_signals, NSIG);
    assert_int_equal(r.n_sessions, NU);
    assert_int_equal(r.n_buckets, 5);
    assert_int_equal(r.sim.sessions, NU);
    assert_int_equal(r.real.sessions, NU);
    /* known rates: a random policy over uniform candidates shows uniform items */
    double mean[5] = {0};
    for (size_t i = 0; i < NI; i++)
        for (size_t h = 0; h < 5; h++)
            mean[h] += prob(i, h) / NI;
    for (uint32_t q = 0; q <= NSIG; q++) {
        const double t = tol(r.real.rate[q], r.sim.steps, r.real.steps);
        assert_true(fabs(r.sim.rate[q] - r.real.rate[q]) < t);
        assert_true(fabs(r.real.rate[q] - mean[q]) < t);
        for (uint32_t b = 0; b < r.n_buckets; b++) {
            const reco_audit_stats *s = &r.sim_bucket[b], *w = &r.real_bucket[b];
            assert_true(fabs(s->rate[q] - w->rate[q]) < tol(w->rate[q], s->steps, w->steps));
        }
        for (uint32_t g = 0; g < 2; g++) {
            const reco_audit_stats *s = &r.sim_segment[g], *w = &r.real_segment[g];
            assert_true(fabs(s->rate[q] - w->rate[q]) < tol(w->rate[q], s->steps, w->steps));
        }
    }
    /* depth ~ 1 / 0.1 (cut at 40): both sides within 10% */
    assert_true(fabs(r.sim.mean_depth - r.real.mean_depth) < 0.1 * r.real.mean_depth);
    assert_true(r.real.mean_depth > 7.0 && r.real.mean_depth < 12.0);
    /* buckets: 10 items each, going up in popularity; steps and sessions add up */
    uint64_t steps = 0, sessions = 0;
    for (uint32_t b = 0; b < 5; b++) {
        assert_int_equal(r.bucket_items[b], 10);
        assert_float_equal(r.bucket_max_popularity[b], 10.0f * (float)b + 9.0f, 0.0f);
        steps += r.real_bucket[b].steps;
        assert_int_equal(r.real_bucket[b].sessions, 0);
    }
    assert_int_equal(steps, r.real.steps);
    steps = 0;
    for (uint32_t g = 0; g < 2; g++) {
        steps += r.real_segment[g].steps;
        sessions += r.real_segment[g].sessions;
    }
    assert_int_equal(steps, r.real.steps);
    assert_int_equal(sessions, NU);
    assert_int_equal(r.real_segment[1].sessions, (NU + 2) / 3);
    assert_int_equal(r.real.exits + r.real.truncated, NU);
}

static void test_audit_biased_sim(void **state)
{
    fixture *f = *state;
    reco_audit_options o = opts_for(f);
    reco_audit_report r;
    r.version = RECO_AUDIT_REPORT_VERSION;
    assert_int_equal(reco_audit_run(&r, &f->bsim_env, &f->real_env, &f->pol, f->users, NU, &o),
                     RECO_OK);
    const int c = RECO_SIGNAL_CLICK;
    /* logit + 1 raises every click probability (by .07 to .22 here) */
    assert_true(r.sim.rate[c] - r.real.rate[c] > 0.1);
    for (uint32_t b = 0; b < r.n_buckets; b++)
        assert_true(r.sim_bucket[b].rate[c] > r.real_bucket[b].rate[c] + 0.03);
    for (uint32_t g = 0; g < r.n_segments; g++)
        assert_true(r.sim_segment[g].rate[c] > r.real_segment[g].rate[c] + 0.05);
    assert_true(r.worst_bucket_gap[c] > 0.1);
    assert_true(r.worst_segment_gap[c] > 0.1);
    /* the gap is largest in the middle of the probability range (p near .5), not at p = .2:
     * the least clicked items are in no particular bucket, so only check consistency */
    const uint32_t wb = r.worst_bucket[c];
    assert_true(wb < r.n_buckets);
    assert_float_equal(r.worst_bucket_gap[c], r.sim_bucket[wb].rate[c] - r.real_bucket[wb].rate[c],
                       1e-12);
    for (uint32_t b = 0; b < r.n_buckets; b++)
        assert_true(fabs(r.sim_bucket[b].rate[c] - r.real_bucket[b].rate[c]) <=
                    fabs(r.worst_bucket_gap[c]) + 1e-12);
    /* the exit head was not biased */
    assert_true(fabs(r.sim.rate[NSIG] - r.real.rate[NSIG]) <
                tol(r.real.rate[NSIG], r.sim.steps, r.real.steps));
}

static void test_audit_world(void **state)
{
    (void)state;
    reco_world_options wo = RECO_WORLD_OPTIONS_INIT;
    wo.n_items = 200;
    wo.n_users = 500;
    wo.n_candidates = 50;
    wo.max_sessions = 16;
    wo.max_session_len = 30;
    reco_world *w1 = NULL, *w2 = NULL;
    assert_int_equal(reco_world_create(&w1, &wo), RECO_OK);
    assert_int_equal(reco_world_create(&w2, &wo), RECO_OK);
    reco_env e2;
    reco_world_env(&e2, w2);
    float pop[200];
    int32_t ids[200];
    for (int i = 0; i < 200; i++)
        ids[i] = i;
    reco_world_item_info(NULL, NULL, NULL, pop, w1, ids, 200);
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    po.kind = RECO_POLICY_POPULARITY;
    po.item_weights = pop;
    po.n_item_weights = 200;
    reco_policy_state *ps = NULL;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    reco_policy pol;
    reco_policy_get(&pol, ps);
    reco_audit_report r;
    r.version = RECO_AUDIT_REPORT_VERSION;
    /* an identical world as the "simulator": a deterministic policy gives identical sides */
    assert_int_equal(reco_audit_world(&r, &e2, w1, &pol, 0, 300, NULL), RECO_OK);
    assert_int_equal(r.n_segments, RECO_WORLD_N_SEGMENTS);
    assert_int_equal(r.n_buckets, 5);
    assert_memory_equal(&r.sim, &r.real, sizeof r.sim);
    assert_memory_equal(r.sim_bucket, r.real_bucket, sizeof r.sim_bucket);
    assert_memory_equal(r.sim_segment, r.real_segment, sizeof r.sim_segment);
    uint64_t keys[300];
    uint32_t seg[300], n_seg[3] = {0};
    reco_world_eval_users(keys, w1, 0, 300);
    reco_world_user_segment(seg, w1, keys, 300);
    for (int k = 0; k < 300; k++)
        n_seg[seg[k]]++;
    for (int g = 0; g < 3; g++)
        assert_int_equal(r.real_segment[g].sessions, n_seg[g]);
    /* the popularity policy shows popular items: the top quintile gets most steps */
    assert_true(r.real_bucket[4].steps > r.real.steps / 2);
    assert_true(r.bucket_max_popularity[4] >= r.bucket_max_popularity[0]);
    /* the world's grouping cannot be overridden */
    reco_audit_options o = RECO_AUDIT_OPTIONS_INIT;
    o.n_segments = 2;
    assert_reco_error(reco_audit_world(&r, &e2, w1, &pol, 0, 10, &o), RECO_EINVAL,
                      "from the world");
    assert_reco_error(reco_audit_world(&r, &e2, w1, &pol, 0, 0, NULL), RECO_EINVAL, "n is 0");
    reco_policy_free(ps);
    reco_world_free(w1);
    reco_world_free(w2);
}

static void test_audit_bad_input(void **state)
{
    fixture *f = *state;
    reco_audit_options o = opts_for(f);
    reco_audit_report r;
    r.version = RECO_AUDIT_REPORT_VERSION;
    assert_reco_error(reco_audit_run(NULL, &f->sim_env, &f->real_env, &f->pol, f->users, 10, &o),
                      RECO_EINVAL, "NULL");
    assert_reco_error(reco_audit_run(&r, &f->sim_env, &f->real_env, &f->pol, f->users, 0, &o),
                      RECO_EINVAL, "n_users");
    reco_env odd = f->real_env;
    odd.lookback = LB + 1;
    assert_reco_error(reco_audit_run(&r, &f->sim_env, &odd, &f->pol, f->users, 10, &o),
                      RECO_EINVAL, "differ");
    o.n_buckets = 0;
    assert_reco_error(reco_audit_run(&r, &f->sim_env, &f->real_env, &f->pol, f->users, 10, &o),
                      RECO_EINVAL, "out of range");
    o.n_buckets = RECO_AUDIT_MAX_BUCKETS + 1;
    assert_reco_error(reco_audit_run(&r, &f->sim_env, &f->real_env, &f->pol, f->users, 10, &o),
                      RECO_EINVAL, "out of range");
    o = opts_for(f);
    o.n_segments = 1; /* segment 1 appears */
    assert_reco_error(reco_audit_run(&r, &f->sim_env, &f->real_env, &f->pol, f->users, 10, &o),
                      RECO_EINVAL, "segment");
    o.n_segments = RECO_AUDIT_MAX_SEGMENTS + 1;
    assert_reco_error(reco_audit_run(&r, &f->sim_env, &f->real_env, &f->pol, f->users, 10, &o),
                      RECO_EINVAL, "n_segments");
    o = opts_for(f);
    float pop[NI];
    memcpy(pop, f->pop, sizeof pop);
    pop[3] = NAN;
    o.item_popularity = pop;
    assert_reco_error(reco_audit_run(&r, &f->sim_env, &f->real_env, &f->pol, f->users, 10, &o),
                      RECO_EINVAL, "finite");
    o = opts_for(f);
    o.version = 0;
    assert_reco_error(reco_audit_run(&r, &f->sim_env, &f->real_env, &f->pol, f->users, 10, &o),
                      RECO_EVERSION, "reco_audit_options");
    o = opts_for(f);
    r.version = 5;
    assert_reco_error(reco_audit_run(&r, &f->sim_env, &f->real_env, &f->pol, f->users, 10, &o),
                      RECO_EVERSION, "reco_audit_report");
    r.version = RECO_AUDIT_REPORT_VERSION;
    /* errors of the runner come through */
    o.max_candidates = 0;
    assert_reco_error(reco_audit_run(&r, &f->sim_env, &f->real_env, &f->pol, f->users, 10, &o),
                      RECO_EINVAL, "max_candidates");
    assert_reco_error(reco_audit_options_init(NULL, 1), RECO_EINVAL, "NULL");
    assert_reco_error(reco_audit_options_init(&o, 2), RECO_EVERSION, "reco_audit_options");
    /* without popularity: one bucket holding every item */
    o = opts_for(f);
    o.item_popularity = NULL;
    assert_int_equal(reco_audit_run(&r, &f->sim_env, &f->real_env, &f->pol, f->users, 50, &o),
                     RECO_OK);
    assert_int_equal(r.n_buckets, 1);
    assert_int_equal(r.bucket_items[0], NI);
    assert_int_equal(r.real_bucket[0].steps, r.real.steps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audit_matching_sim),
        cmocka_unit_test(test_audit_biased_sim),
        cmocka_unit_test(test_audit_world),
        cmocka_unit_test(test_audit_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
