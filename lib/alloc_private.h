/* Internal allocation. All memory in lib/ comes from these functions (a test greps lib/ for
 * bare malloc/free), so a caller's reco_allocator sees every byte we own. */
#ifndef RECO_ALLOC_PRIVATE_H
#define RECO_ALLOC_PRIVATE_H

#include <stddef.h>

#include "reco/alloc.h"

/* Default alignment: enough for AVX-512 loads of float rows. */
#define RECO__ALIGN 64

/* Fills `dst` from `src` (a caller's allocator, validated) or, when `src` is NULL, from the
 * process default. Returns RECO_OK or an error (recorded). */
int reco__allocator_resolve(reco_allocator *dst, const reco_allocator *src);

/* Allocates `size` bytes (0 is treated as 1) aligned to `align` (0 means RECO__ALIGN).
 * Records RECO_ENOMEM and returns NULL on failure. */
void *reco__alloc(const reco_allocator *a, size_t size, size_t align);

/* As reco__alloc(), zero-filled, for `count * size` bytes with an overflow check. */
void *reco__calloc(const reco_allocator *a, size_t count, size_t size);

/* Releases memory from reco__alloc()/reco__calloc(); NULL is ignored. */
void reco__free(const reco_allocator *a, void *ptr);

/* Copies a NUL-terminated string into memory from `a`; NULL on failure (recorded). */
char *reco__strdup(const reco_allocator *a, const char *s);

/* Overflow-checked size arithmetic: return 0 and store the result, or return RECO_ENOMEM
 * (recorded) on overflow. */
int reco__size_mul(size_t *out, size_t a, size_t b);
int reco__size_add(size_t *out, size_t a, size_t b);

/* Every handle constructor calls acquire after it succeeds, and its free calls release, so
 * reco_set_default_allocator() can refuse to run while handles exist. */
void reco__handle_acquire(void);
void reco__handle_release(void);

#endif /* RECO_ALLOC_PRIVATE_H */
