/* Internal error reporting. Every failure site in lib/ records its details through these
 * functions and returns the code they return, so a failure is one line:
 *     return reco__error_set(RECO_EINVAL, "reco_rng_seed: out is NULL");
 */
#ifndef RECO_ERROR_PRIVATE_H
#define RECO_ERROR_PRIVATE_H

#include <stdint.h>

#include "reco/error.h"

#if defined(__GNUC__)
#  define RECO__PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#  define RECO__PRINTF(fmt_index, first_arg)
#endif

/* Records `code` and the formatted message for this thread; returns `code`. */
int reco__error_set(int code, const char *fmt, ...) RECO__PRINTF(2, 3);

/* A counter of the errors recorded on the calling thread: read it before calling a user's
 * callback, and pass it to reco__callback_failed() when the callback fails. */
uint64_t reco__error_generation(void);

/* A callback (`what`, e.g. "the env's step()") returned `rc` < 0: when it recorded no error
 * since `generation`, record one saying so (not a stale earlier message). Returns rc. */
int reco__callback_failed(int rc, uint64_t generation, const char *what);

static inline int reco__callback_result(int rc, uint64_t generation, const char *what)
{
    return rc < 0 ? reco__callback_failed(rc, generation, what) : rc;
}

/* The status of a user callback `call` (an expression), with a message when it failed
 * without recording one; `gen` is a uint64_t lvalue of the caller's. */
#define RECO__CALLBACK(gen, what, call)                                                      \
    ((gen) = reco__error_generation(), reco__callback_result((call), (gen), (what)))

/* As reco__error_set(), with a location: `source` (file or name), 1-based `line` and
 * `column` (0 = unknown) and an option path `field` (NULL or "" = unknown). The message
 * becomes "source:line:column: field: text". */
int reco__error_set_at(int code, const char *source, uint32_t line, uint32_t column,
                       const char *field, const char *fmt, ...) RECO__PRINTF(6, 7);

/* Checks an options struct's version: 1..current is accepted. */
int reco__check_version(unsigned int version, unsigned int current, const char *what);

#endif /* RECO_ERROR_PRIVATE_H */
