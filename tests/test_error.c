/* Errors: pinned codes, thread-local details, location formatting, truncation. Links the
 * library's objects to reach reco__error_set_at(). */
#include <pthread.h>

#include "test_common.h"
#include "error_private.h"

static void test_error_codes_pinned(void **state)
{
    (void)state;
    /* These values are ABI: they may never change. */
    assert_int_equal(RECO_OK, 0);
    assert_int_equal(RECO_ERROR, -1);
    assert_int_equal(RECO_EINVAL, -2);
    assert_int_equal(RECO_ENOMEM, -3);
    assert_int_equal(RECO_EIO, -4);
    assert_int_equal(RECO_EFORMAT, -5);
    assert_int_equal(RECO_ECONFIG, -6);
    assert_int_equal(RECO_EVERSION, -7);
    assert_int_equal(RECO_ESTATE, -8);
}

static void test_error_names_and_strings(void **state)
{
    (void)state;
    static const struct { int code; const char *name; const char *text; } known[] = {
        {RECO_OK, "RECO_OK", "success"},
        {RECO_ERROR, "RECO_ERROR", "error"},
        {RECO_EINVAL, "RECO_EINVAL", "invalid argument"},
        {RECO_ENOMEM, "RECO_ENOMEM", "out of memory"},
        {RECO_EIO, "RECO_EIO", "input/output error"},
        {RECO_EFORMAT, "RECO_EFORMAT", "malformed input"},
        {RECO_ECONFIG, "RECO_ECONFIG", "invalid configuration"},
        {RECO_EVERSION, "RECO_EVERSION", "unsupported version"},
        {RECO_ESTATE, "RECO_ESTATE", "invalid state for this call"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        assert_string_equal(reco_status_name(known[i].code), known[i].name);
        assert_string_equal(reco_status_string(known[i].code), known[i].text);
    }
    assert_string_equal(reco_status_name(-999), "RECO_UNKNOWN");
    assert_string_equal(reco_status_name(5), "RECO_UNKNOWN");
    assert_string_equal(reco_status_string(-999), "unknown status");
}

static void test_error_set_plain(void **state)
{
    (void)state;
    reco_error_clear();
    assert_int_equal(reco_error_code(), 0);
    assert_string_equal(reco_error_message(), "");
    int rc = reco__error_set(RECO_EINVAL, "reco_thing: %s is %d", "size", 7);
    assert_int_equal(rc, RECO_EINVAL);
    assert_int_equal(reco_error_code(), RECO_EINVAL);
    assert_string_equal(reco_error_message(), "reco_thing: size is 7");

    reco_error_info info = RECO_ERROR_INFO_INIT;
    assert_int_equal(reco_error_get(&info), RECO_OK);
    assert_int_equal(info.code, RECO_EINVAL);
    assert_string_equal(info.message, "reco_thing: size is 7");
    assert_string_equal(info.source, "");
    assert_string_equal(info.field, "");
    assert_int_equal(info.line, 0);
    assert_int_equal(info.column, 0);
}

static void test_error_set_at_location(void **state)
{
    (void)state;
    int rc = reco__error_set_at(RECO_ECONFIG, "exp.yaml", 12, 5, "replay.alpha",
                                "%g is out of range [0, 1]", 1.5);
    assert_int_equal(rc, RECO_ECONFIG);
    reco_error_info info = RECO_ERROR_INFO_INIT;
    assert_int_equal(reco_error_get(&info), RECO_OK);
    assert_int_equal(info.code, RECO_ECONFIG);
    assert_string_equal(info.source, "exp.yaml");
    assert_int_equal(info.line, 12);
    assert_int_equal(info.column, 5);
    assert_string_equal(info.field, "replay.alpha");
    assert_string_equal(info.message, "exp.yaml:12:5: replay.alpha: 1.5 is out of range [0, 1]");

    /* Partial locations print only what is known. */
    reco__error_set_at(RECO_EIO, "log.csv", 3, 0, NULL, "short row");
    assert_string_equal(reco_error_message(), "log.csv:3: short row");
    reco__error_set_at(RECO_EIO, "log.csv", 0, 0, "", "cannot open");
    assert_string_equal(reco_error_message(), "log.csv: cannot open");
    reco__error_set_at(RECO_ECONFIG, NULL, 0, 0, "qnet.lr", "must be positive");
    assert_string_equal(reco_error_message(), "qnet.lr: must be positive");
}

static void test_error_clear(void **state)
{
    (void)state;
    reco__error_set_at(RECO_ECONFIG, "a.yaml", 1, 2, "x", "bad");
    reco_error_clear();
    reco_error_info info = RECO_ERROR_INFO_INIT;
    assert_int_equal(reco_error_get(&info), RECO_OK);
    assert_int_equal(info.code, 0);
    assert_string_equal(info.message, "");
    assert_string_equal(info.source, "");
    assert_string_equal(info.field, "");
    assert_int_equal(info.line, 0);
}

static void test_error_get_bad_arguments(void **state)
{
    (void)state;
    reco__error_set(RECO_EIO, "keep me");
    assert_int_equal(reco_error_get(NULL), RECO_EINVAL);
    reco_error_info info = RECO_ERROR_INFO_INIT;
    info.version = 0;
    assert_int_equal(reco_error_get(&info), RECO_EVERSION);
    info.version = RECO_ERROR_INFO_VERSION + 1;
    assert_int_equal(reco_error_get(&info), RECO_EVERSION);
    /* Asking for the error must not overwrite it. */
    assert_string_equal(reco_error_message(), "keep me");
    assert_int_equal(reco_error_code(), RECO_EIO);
}

static void test_error_long_message_truncated_safely(void **state)
{
    (void)state;
    char big[4096];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    reco__error_set_at(RECO_EFORMAT, big, 1, 1, big, "%s", big);
    const char *m = reco_error_message();
    size_t n = strlen(m);
    assert_true(n > 0 && n < 1024);
    assert_int_equal(m[0], 'x');
    reco_error_info info = RECO_ERROR_INFO_INIT;
    reco_error_get(&info);
    assert_true(strlen(info.source) < 512);
    assert_true(strlen(info.field) < 256);
}

static void test_error_check_version(void **state)
{
    (void)state;
    assert_int_equal(reco__check_version(1, 3, "reco_x_options"), RECO_OK);
    assert_int_equal(reco__check_version(3, 3, "reco_x_options"), RECO_OK);
    assert_reco_error(reco__check_version(0, 3, "reco_x_options"), RECO_EVERSION,
                      "reco_x_options: version 0 is not supported");
    assert_reco_error(reco__check_version(4, 3, "reco_x_options"), RECO_EVERSION, "1..3");
}

/* Each thread sees only its own error. */
typedef struct { int code; char seen[256]; int seen_code; } thread_probe;

static void *thread_main(void *arg)
{
    thread_probe *p = arg;
    reco_error_clear();
    reco__error_set(p->code, "thread %d", p->code);
    for (int i = 0; i < 1000; i++)  /* give the other thread time to write its own */
        reco__error_set(p->code, "thread %d", p->code);
    snprintf(p->seen, sizeof p->seen, "%s", reco_error_message());
    p->seen_code = reco_error_code();
    return NULL;
}

static void test_error_thread_local(void **state)
{
    (void)state;
    reco__error_set(RECO_ESTATE, "main thread");
    thread_probe a = {RECO_EINVAL, "", 0}, b = {RECO_EIO, "", 0};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, thread_main, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, thread_main, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_string_equal(a.seen, "thread -2");
    assert_int_equal(a.seen_code, RECO_EINVAL);
    assert_string_equal(b.seen, "thread -4");
    assert_int_equal(b.seen_code, RECO_EIO);
    assert_string_equal(reco_error_message(), "main thread");
    assert_int_equal(reco_error_code(), RECO_ESTATE);
}

/* reco_error_set, for callback implementers: records the status and the message (copied,
 * truncated), maps a non-negative code to RECO_ERROR, and a NULL message to the status's
 * description. */
static void test_error_set_public(void **state)
{
    (void)state;
    char msg[64];
    snprintf(msg, sizeof msg, "store %d unreachable", 7);
    assert_int_equal(reco_error_set(RECO_EIO, msg), RECO_EIO);
    msg[0] = 'X'; /* copied: the record does not change */
    assert_int_equal(reco_error_code(), RECO_EIO);
    assert_string_equal(reco_error_message(), "store 7 unreachable");
    assert_int_equal(reco_error_set(0, "zero"), RECO_ERROR);
    assert_int_equal(reco_error_code(), RECO_ERROR);
    assert_int_equal(reco_error_set(-42, NULL), -42);
    assert_string_equal(reco_error_message(), reco_status_string(-42));
    char big[4000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(reco_error_set(RECO_EINVAL, big), RECO_EINVAL);
    assert_int_equal(strlen(reco_error_message()), 1023);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_set_public),
        cmocka_unit_test(test_error_codes_pinned),
        cmocka_unit_test(test_error_names_and_strings),
        cmocka_unit_test(test_error_set_plain),
        cmocka_unit_test(test_error_set_at_location),
        cmocka_unit_test(test_error_clear),
        cmocka_unit_test(test_error_get_bad_arguments),
        cmocka_unit_test(test_error_long_message_truncated_safely),
        cmocka_unit_test(test_error_check_version),
        cmocka_unit_test(test_error_thread_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
