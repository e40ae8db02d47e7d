/**
 * @file common.h
 * @brief Export and linkage macros shared by every libreco header.
 * @ingroup reco_core
 *
 * This header has no functions. It defines @ref RECO_API, which marks every exported
 * declaration, and the C++ linkage guards. It is included by every other public header.
 *
 * @par API tier
 * **Core**: stable for the life of libreco.so.0 (@ref abi_tiers "API tiers").
 */
#ifndef RECO_COMMON_H
#define RECO_COMMON_H

#include <stddef.h>
#include <stdint.h>

/**
 * @def RECO_API
 * @brief Marks a public declaration as exported from the shared library.
 *
 * The library is built with hidden visibility by default; only declarations carrying this
 * macro (all of them `reco_`-prefixed, all listed in the version script) are exported.
 */
#if defined(_WIN32) || defined(__CYGWIN__)
#  if defined(RECO_BUILDING_LIBRARY)
#    define RECO_API __declspec(dllexport)
#  else
#    define RECO_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define RECO_API __attribute__((visibility("default")))
#else
#  define RECO_API
#endif

/**
 * @def RECO_DEPRECATED
 * @brief Marks a declaration as deprecated, with a hint of what to use instead.
 *
 * Define `RECO_DISABLE_DEPRECATION_WARNINGS` before including libreco headers to silence it.
 */
#if defined(RECO_DISABLE_DEPRECATION_WARNINGS)
#  define RECO_DEPRECATED(hint)
#elif defined(__GNUC__) && (__GNUC__ > 4 || (__GNUC__ == 4 && __GNUC_MINOR__ >= 5))
#  define RECO_DEPRECATED(hint) __attribute__((deprecated(hint)))
#elif defined(_MSC_VER)
#  define RECO_DEPRECATED(hint) __declspec(deprecated(hint))
#else
#  define RECO_DEPRECATED(hint)
#endif

/** @cond INTERNAL */
#ifdef __cplusplus
#  define RECO_BEGIN_DECLS extern "C" {
#  define RECO_END_DECLS }
#else
#  define RECO_BEGIN_DECLS
#  define RECO_END_DECLS
#endif
/** @endcond */

#endif /* RECO_COMMON_H */
