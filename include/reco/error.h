/**
 * @file error.h
 * @brief Status codes and thread-local error details.
 * @defgroup reco_error Errors
 * @ingroup reco_core
 *
 * Every fallible libreco call returns an `int`: @ref RECO_OK (0) on success or a negative
 * @ref reco_status. The values are pinned forever; treat any unknown negative value as an
 * error. No libreco call aborts, exits or prints.
 *
 * When a call fails it records, for the calling thread, a message and — where known — the
 * file, 1-based line and column, and the option path (e.g. `replay.alpha`) of the problem.
 * These describe the last failing call on this thread and may be stale after a success.
 *
 * @code
 * reco_config *cfg = NULL;
 * int rc = reco_config_create(&cfg, NULL);
 * if (rc == RECO_OK)
 *     rc = reco_config_load_file(cfg, "experiment.yaml");
 * if (rc < 0) {
 *     reco_error_info info = RECO_ERROR_INFO_INIT;
 *     reco_error_get(&info);
 *     fprintf(stderr, "%s (%s)\n", info.message, reco_status_name(info.code));
 * }
 * reco_config_free(cfg);
 * @endcode
 *
 * @par API tier
 * **Core**: stable for the life of libreco.so.0 (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_ERROR_H
#define RECO_ERROR_H

#include "reco/common.h"

RECO_BEGIN_DECLS

/** Status codes. Values never change; new codes are only appended. */
typedef enum reco_status {
    RECO_OK = 0,        /**< Success. */
    RECO_ERROR = -1,    /**< Any failure without a more specific code. */
    RECO_EINVAL = -2,   /**< Invalid argument: NULL, wrong size, NaN, out of range. */
    RECO_ENOMEM = -3,   /**< An allocation failed, or a size overflowed. */
    RECO_EIO = -4,      /**< Reading or writing a file failed. */
    RECO_EFORMAT = -5,  /**< Malformed input file: syntax, magic, checksum, truncation. */
    RECO_ECONFIG = -6,  /**< Invalid configuration: unknown key, wrong type, bad value. */
    RECO_EVERSION = -7, /**< Unsupported version of an options struct or a file format. */
    RECO_ESTATE = -8    /**< The call is not valid in the object's current state. */
} reco_status;

/** Current version of @ref reco_error_info. */
#define RECO_ERROR_INFO_VERSION 1
/** Initialiser for a @ref reco_error_info of the current version. */
#define RECO_ERROR_INFO_INIT { RECO_ERROR_INFO_VERSION, 0, NULL, NULL, 0, 0, NULL }

/**
 * @brief Details of the last failure on the calling thread.
 *
 * All strings are owned by the library and stay valid until the next libreco call on the same
 * thread that fails or clears the error; copy them to keep them.
 */
typedef struct reco_error_info {
    unsigned int version; /**< Set to @ref RECO_ERROR_INFO_VERSION by the caller. */
    int code;             /**< The @ref reco_status of the failure; 0 when none is recorded. */
    const char *message;  /**< Full message, including location prefix; `""` when none. */
    const char *source;   /**< File or source name the error refers to; `""` when not known. */
    uint32_t line;        /**< 1-based line in @c source; 0 when not known. */
    uint32_t column;      /**< 1-based column in @c source; 0 when not known. */
    const char *field;    /**< Option path such as `replay.alpha`; `""` when not known. */
} reco_error_info;

/**
 * @brief Copy the calling thread's last error details into @p out.
 *
 * @param[out] out  filled with borrowed pointers into thread-local storage; its @c version
 *                  member must be set (1..@ref RECO_ERROR_INFO_VERSION) before the call.
 * @return @ref RECO_OK, or @ref RECO_EINVAL if @p out is NULL, @ref RECO_EVERSION if its
 *         version is unknown. A failure of this call does not overwrite the recorded error.
 * @par Thread safety
 * Safe from any thread; reads only the calling thread's state.
 * @since 0.1
 */
RECO_API int reco_error_get(reco_error_info *out);

/**
 * @brief The calling thread's last error message.
 * @return a string owned by the library, valid until the next failing or clearing libreco call
 *         on this thread; `""` when no error is recorded. Never NULL.
 * @par Thread safety
 * Safe from any thread; reads only the calling thread's state.
 * @since 0.1
 */
RECO_API const char *reco_error_message(void);

/**
 * @brief The calling thread's last error code (0 when none is recorded).
 * @return a @ref reco_status value.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_error_code(void);

/**
 * @brief Forget the calling thread's recorded error.
 * @par Thread safety
 * Safe from any thread; touches only the calling thread's state.
 * @since 0.1
 */
RECO_API void reco_error_clear(void);

/**
 * @brief Record an error for the calling thread, as a libreco call does when it fails: for
 *        implementers of a @ref reco_env, a @ref reco_policy or another callback, so that
 *        their message reaches the caller of the libreco call that invoked them.
 *
 * A callback that fails calls it and returns its value: `return reco_error_set(RECO_EIO,
 * "user store unreachable");`. The libreco call then fails with that status and message
 * (a callback that returns an error without recording one gets a message saying so, never
 * an earlier unrelated one).
 * @param[in] code     a negative status (@ref reco_status, or any negative value); 0 or a
 *                     positive value is recorded as @ref RECO_ERROR.
 * @param[in] message  the text (copied; truncated at 1023 bytes), or NULL for the status's
 *                     description.
 * @return the status recorded (@p code, or @ref RECO_ERROR).
 * @par Thread safety
 * Safe from any thread; touches only the calling thread's state.
 * @since 0.2
 */
RECO_API int reco_error_set(int code, const char *message);

/**
 * @brief Symbolic name of a status code, e.g. `"RECO_EINVAL"`.
 * @param[in] code  any integer.
 * @return a static string; `"RECO_UNKNOWN"` for values that are not status codes. Never NULL.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API const char *reco_status_name(int code);

/**
 * @brief One-line description of a status code, e.g. `"invalid argument"`.
 * @param[in] code  any integer.
 * @return a static string; `"unknown status"` for values that are not status codes.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API const char *reco_status_string(int code);

RECO_END_DECLS

/** @} */
#endif /* RECO_ERROR_H */
