/* Shared by every cmocka test program: the includes cmocka needs, in the order it needs
 * them, and small helpers. */
#ifndef RECO_TEST_COMMON_H
#define RECO_TEST_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reco/reco.h"

/* Directory of test data (tests/ in the source tree), from the RECO_TEST_DATA environment
 * variable that tests/meson.build sets. */
static inline const char *test_data_dir(void)
{
    const char *d = getenv("RECO_TEST_DATA");
    return d != NULL ? d : "tests";
}

/* Asserts that `rc` is `code` and that the thread's error message contains `needle`. */
#define assert_reco_error(rc, code, needle)                                               \
    do {                                                                                  \
        int rc_ = (rc);                                                                   \
        if (rc_ != (code))                                                                \
            fail_msg("expected %s, got %s (%d): %s", reco_status_name(code),              \
                     reco_status_name(rc_), rc_, reco_error_message());                   \
        if (strstr(reco_error_message(), (needle)) == NULL)                               \
            fail_msg("error message \"%s\" lacks \"%s\"", reco_error_message(), (needle)); \
    } while (0)

#endif /* RECO_TEST_COMMON_H */
