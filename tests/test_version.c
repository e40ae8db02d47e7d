#include "test_common.h"

static void test_version_number_matches_header(void **state)
{
    (void)state;
    assert_int_equal(reco_version(), RECO_VERSION_NUMBER);
    assert_int_equal(RECO_VERSION_NUMBER,
                     RECO_VERSION_MAJOR * 10000 + RECO_VERSION_MINOR * 100 + RECO_VERSION_PATCH);
}

static void test_version_string_matches_parts(void **state)
{
    (void)state;
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", RECO_VERSION_MAJOR, RECO_VERSION_MINOR,
             RECO_VERSION_PATCH);
    assert_string_equal(reco_version_string(), expect);
    assert_string_equal(RECO_VERSION_STRING, expect);
}

/* The soname may move only on an incompatible ABI change. Changing this number is a
 * deliberate act that also replaces abi/libreco.abi (docs/abi.md). */
static void test_version_soversion_pinned(void **state)
{
    (void)state;
    assert_int_equal(RECO_SOVERSION, 0);
}

static void test_version_check_macro(void **state)
{
    (void)state;
    assert_true(RECO_VERSION_CHECK(0, 0, 0));
    assert_true(RECO_VERSION_CHECK(RECO_VERSION_MAJOR, RECO_VERSION_MINOR, RECO_VERSION_PATCH));
    assert_false(RECO_VERSION_CHECK(RECO_VERSION_MAJOR, RECO_VERSION_MINOR,
                                    RECO_VERSION_PATCH + 1));
    assert_false(RECO_VERSION_CHECK(RECO_VERSION_MAJOR + 1, 0, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_number_matches_header),
        cmocka_unit_test(test_version_string_matches_parts),
        cmocka_unit_test(test_version_soversion_pinned),
        cmocka_unit_test(test_version_check_macro),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
