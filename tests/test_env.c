/* reco_env: what an environment declares (version 4) and reco_env_check(), on the built-in
 * world and on the second environment of the tests (tests/env/budget_env.h). */
#include "test_common.h"
#include "env/budget_env.h"

static void test_env_budget_declares_itself(void **state)
{
    (void)state;
    budget_env *be = calloc(1, sizeof *be);
    assert_non_null(be);
    reco_env env;
    budget_env_init(&env, be, 5, 0, 3);
    assert_int_equal(reco_env_check(&env), RECO_OK);
    assert_string_equal(reco_env_signal_name(&env, 0), "click");
    assert_string_equal(reco_env_signal_name(&env, 1), "watch");
    assert_null(reco_env_signal_name(&env, 2));
    assert_null(reco_env_signal_name(NULL, 0));
    assert_int_equal(env.max_candidates, BUDGET_NC);
    assert_int_equal(env.max_steps, BUDGET_MAX_LEN);
    /* the declared weights are the step's reward: play a few steps and compare */
    uint32_t slots[4] = {0, 1, 2, 3};
    uint64_t users[4] = {5, 6, 7, 8};
    assert_int_equal(env.reset(slots, users, 4, env.payload), RECO_OK);
    for (int t = 0; t < 30; t++) {
        int32_t cand[4 * BUDGET_NC], shown[4];
        uint32_t cnt[4], fb[4];
        float rew[4];
        int done[4];
        assert_int_equal(env.candidates(cand, cnt, BUDGET_NC, slots, 4, env.payload), RECO_OK);
        for (int i = 0; i < 4; i++)
            shown[i] = cand[i * BUDGET_NC + (t % (int)cnt[i])];
        assert_int_equal(env.step(fb, rew, done, slots, shown, 4, env.payload), RECO_OK);
        for (int i = 0; i < 4; i++) {
            float want = 0.0f;
            for (uint32_t f = 0; f < env.n_signals; f++)
                want += env.reward_weights[f] * (float)((fb[i] >> f) & 1u);
            assert_float_equal(rew[i], want, 1e-6);
            if (done[i] != RECO_ENV_CONTINUE)
                assert_int_equal(env.reset(&slots[i], &users[i], 1, env.payload), RECO_OK);
        }
    }
    /* an older version declares nothing: default names */
    reco_env v3 = env;
    v3.version = 3;
    assert_string_equal(reco_env_signal_name(&v3, 1), "signal1");
    v3.signal_names = NULL;
    v3.version = 4;
    assert_string_equal(reco_env_signal_name(&v3, 0), "signal0");
    free(be);
}

static void test_env_world_declares_itself(void **state)
{
    (void)state;
    reco_world_options wo = RECO_WORLD_OPTIONS_INIT;
    wo.n_users = 50;
    wo.n_items = 200;
    wo.n_candidates = 40;
    wo.max_session_len = 30;
    wo.max_sessions = 4;
    wo.reward_like = 0.7;
    reco_world *w = NULL;
    assert_int_equal(reco_world_create(&w, &wo), RECO_OK);
    reco_env env;
    assert_int_equal(reco_world_env(&env, w), RECO_OK);
    assert_int_equal(reco_env_check(&env), RECO_OK);
    assert_int_equal(env.version, 4);
    static const char *const names[] = {"click", "long_watch", "like", "hide"};
    for (uint32_t f = 0; f < 4; f++)
        assert_string_equal(reco_env_signal_name(&env, f), names[f]);
    assert_float_equal(env.reward_weights[RECO_SIGNAL_LIKE], 0.7f, 0);
    assert_float_equal(env.reward_weights[RECO_SIGNAL_HIDE], (float)wo.reward_hide, 0);
    assert_int_equal(env.max_candidates, 40);
    assert_int_equal(env.max_steps, 30);
    reco_world_free(w);
}

static void test_env_check_errors(void **state)
{
    (void)state;
    budget_env *be = calloc(1, sizeof *be);
    assert_non_null(be);
    reco_env good;
    budget_env_init(&good, be, 5, 0, 3);
    reco_env e;
    assert_reco_error(reco_env_check(NULL), RECO_EINVAL, "NULL");
#define BAD(change, code, needle)                                                          \
    do {                                                                                   \
        e = good;                                                                          \
        change;                                                                            \
        assert_reco_error(reco_env_check(&e), code, needle);                               \
    } while (0)
    BAD(e.version = 0, RECO_EVERSION, "version 0");
    BAD(e.version = RECO_ENV_VERSION + 1, RECO_EVERSION, "is not supported");
    BAD(e.step = NULL, RECO_EINVAL, "session callback");
    BAD(e.observe = NULL, RECO_EINVAL, "session callback");
    BAD(e.max_sessions = 0, RECO_EINVAL, "max_sessions 0");
    BAD(e.lookback = 0, RECO_EINVAL, "lookback 0");
    BAD(e.n_items = 0, RECO_EINVAL, "n_items 0");
    BAD(e.n_signals = 0, RECO_EINVAL, "0 signals");
    BAD(e.n_signals = 33, RECO_EINVAL, "33 signals");
    static const char *const upper[2] = {"Click", "watch"};
    static const char *const empty[2] = {"click", ""};
    static const char *const digit[2] = {"1click", "watch"};
    static const char *const space[2] = {"click", "long watch"};
    static const char *const same[2] = {"click", "click"};
    static const char *const none[2] = {"click", NULL};
    static const char *const longn[2] = {"click", "a234567890123456789012345678901x"};
    static const char *const maxn[2] = {"click", "a23456789012345678901234567890x"};
    BAD(e.signal_names = upper, RECO_EINVAL, "signal_names[0]");
    BAD(e.signal_names = empty, RECO_EINVAL, "signal_names[1]");
    BAD(e.signal_names = digit, RECO_EINVAL, "signal_names[0]");
    BAD(e.signal_names = space, RECO_EINVAL, "signal_names[1]");
    BAD(e.signal_names = same, RECO_EINVAL, "both \"click\"");
    BAD(e.signal_names = none, RECO_EINVAL, "signal_names[1]");
    BAD(e.signal_names = longn, RECO_EINVAL, "signal_names[1]");
    e = good;
    e.signal_names = maxn; /* 31 characters: the longest allowed */
    assert_int_equal(reco_env_check(&e), RECO_OK);
    static const float nan_w[2] = {0.2f, NAN};
    BAD(e.reward_weights = nan_w, RECO_EINVAL, "reward_weights[1]");
    /* a version-3 struct is not read past its fields: bad names there are never seen */
    e = good;
    e.version = 3;
    e.signal_names = same;
    assert_int_equal(reco_env_check(&e), RECO_OK);
#undef BAD
    free(be);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_budget_declares_itself),
        cmocka_unit_test(test_env_world_declares_itself),
        cmocka_unit_test(test_env_check_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
