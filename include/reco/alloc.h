/**
 * @file alloc.h
 * @brief Memory allocation hooks.
 * @defgroup reco_alloc Allocator
 * @ingroup reco_core
 *
 * Every allocation that libreco makes goes through a @ref reco_allocator, either the one
 * passed in a handle's options, or else the process default, which is aligned
 * `malloc`/`free` unless
 * replaced with reco_set_default_allocator(). A handle copies the allocator at creation and
 * uses it until it is freed.
 *
 * Not covered by these hooks: BLIS's internal packing buffers (chosen when BLIS is built,
 * `BLIS_MALLOC_POOL`) and libyaml's parser internals while a YAML file is read.
 *
 * @code
 * static void *my_alloc(void *opaque, size_t size, size_t align) { ... }
 * static void my_free(void *opaque, void *ptr) { ... }
 *
 * reco_allocator a = RECO_ALLOCATOR_INIT;
 * a.alloc = my_alloc;
 * a.free = my_free;
 * reco_config_options o = RECO_CONFIG_OPTIONS_INIT;
 * o.allocator = &a;          // copied by reco_config_create()
 * reco_config *cfg = NULL;
 * reco_config_create(&cfg, &o);
 * ...
 * reco_config_free(cfg);     // released through my_free
 * @endcode
 *
 * @par API tier
 * **Core**: stable for the life of libreco.so.0 (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_ALLOC_H
#define RECO_ALLOC_H

#include "reco/common.h"

RECO_BEGIN_DECLS

/** Current version of @ref reco_allocator. */
#define RECO_ALLOCATOR_VERSION 1
/** Initialiser for a @ref reco_allocator of the current version, with no functions set. */
#define RECO_ALLOCATOR_INIT { RECO_ALLOCATOR_VERSION, NULL, NULL, NULL }

/**
 * @brief Allocation hooks.
 *
 * @c alloc returns memory of at least @c size bytes aligned to @c alignment (a power of two,
 * at least `sizeof(void *)`), or NULL on failure; @c free releases it and accepts NULL.
 * Both must be thread-safe if handles that use them live on several threads.
 */
typedef struct reco_allocator {
    unsigned int version; /**< Set to @ref RECO_ALLOCATOR_VERSION. */
    /** Allocate @p size bytes aligned to @p alignment; NULL on failure. */
    void *(*alloc)(void *opaque, size_t size, size_t alignment);
    /** Release memory returned by @c alloc; must accept NULL. */
    void (*free)(void *opaque, void *ptr);
    void *opaque; /**< Passed back to both functions; never read by the library. */
} reco_allocator;

/**
 * @brief Replace the process-wide default allocator.
 *
 * Handles created without an allocator in their options copy the default at creation.
 * @param[in] allocator  the new default, copied; NULL restores aligned `malloc`/`free`.
 * @return @ref RECO_OK; @ref RECO_ESTATE if any libreco handle currently exists;
 *         @ref RECO_EVERSION for an unknown version; @ref RECO_EINVAL if a function is NULL.
 * @par Thread safety
 * Not thread-safe: call it before creating handles, from one thread.
 * @since 0.1
 */
RECO_API int reco_set_default_allocator(const reco_allocator *allocator);

/**
 * @brief Copy the current process-wide default allocator into @p out.
 * @param[out] out  receives the default (functions are never NULL).
 * @return @ref RECO_OK, or @ref RECO_EINVAL if @p out is NULL.
 * @par Thread safety
 * Safe from any thread as long as reco_set_default_allocator() is not running.
 * @since 0.1
 */
RECO_API int reco_get_default_allocator(reco_allocator *out);

/**
 * @brief Number of libreco handles that currently exist in this process.
 *
 * Useful in leak checks and to know whether reco_set_default_allocator() may be called.
 * @return the count of created and not yet freed handles.
 * @par Thread safety
 * Safe from any thread (an atomic read).
 * @since 0.1
 */
RECO_API size_t reco_live_handles(void);

RECO_END_DECLS

/** @} */
#endif /* RECO_ALLOC_H */
