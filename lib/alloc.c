#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_private.h"
#include "error_private.h"

/* The only place in lib/ that names the C allocator (tests/check_no_malloc.sh enforces it). */
static void *system_alloc(void *opaque, size_t size, size_t alignment)
{
    (void)opaque;
    void *p = NULL;
    if (posix_memalign(&p, alignment, size) != 0)
        return NULL;
    return p;
}

static void system_free(void *opaque, void *ptr)
{
    (void)opaque;
    free(ptr);
}

static reco_allocator default_allocator = {
    RECO_ALLOCATOR_VERSION, system_alloc, system_free, NULL
};

static atomic_size_t live_handles;

void reco__handle_acquire(void)
{
    atomic_fetch_add_explicit(&live_handles, 1, memory_order_relaxed);
}

void reco__handle_release(void)
{
    atomic_fetch_sub_explicit(&live_handles, 1, memory_order_relaxed);
}

size_t reco_live_handles(void)
{
    return atomic_load_explicit(&live_handles, memory_order_relaxed);
}

static int validate(const reco_allocator *a, const char *what)
{
    int rc = reco__check_version(a->version, RECO_ALLOCATOR_VERSION, what);
    if (rc < 0)
        return rc;
    if (a->alloc == NULL || a->free == NULL)
        return reco__error_set(RECO_EINVAL, "%s: alloc and free must both be set", what);
    return RECO_OK;
}

int reco_set_default_allocator(const reco_allocator *allocator)
{
    if (reco_live_handles() != 0)
        return reco__error_set(RECO_ESTATE,
                               "reco_set_default_allocator: %zu handle(s) still exist; the "
                               "default may change only while none does", reco_live_handles());
    if (allocator == NULL) {
        default_allocator.version = RECO_ALLOCATOR_VERSION;
        default_allocator.alloc = system_alloc;
        default_allocator.free = system_free;
        default_allocator.opaque = NULL;
        return RECO_OK;
    }
    int rc = validate(allocator, "reco_set_default_allocator");
    if (rc < 0)
        return rc;
    default_allocator = *allocator;
    default_allocator.version = RECO_ALLOCATOR_VERSION;
    return RECO_OK;
}

int reco_get_default_allocator(reco_allocator *out)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_get_default_allocator: out is NULL");
    *out = default_allocator;
    return RECO_OK;
}

int reco__allocator_resolve(reco_allocator *dst, const reco_allocator *src)
{
    if (src == NULL) {
        *dst = default_allocator;
        return RECO_OK;
    }
    int rc = validate(src, "allocator");
    if (rc < 0)
        return rc;
    *dst = *src;
    dst->version = RECO_ALLOCATOR_VERSION;
    return RECO_OK;
}

void *reco__alloc(const reco_allocator *a, size_t size, size_t align)
{
    if (align == 0)
        align = RECO__ALIGN;
    if (align < sizeof(void *))
        align = sizeof(void *);
    if (size == 0)
        size = 1;
    void *p = a->alloc(a->opaque, size, align);
    if (p == NULL) {
        reco__error_set(RECO_ENOMEM, "out of memory: %zu bytes (alignment %zu)", size, align);
        return NULL;
    }
    if (((uintptr_t)p & (align - 1)) != 0) {
        a->free(a->opaque, p);
        reco__error_set(RECO_ENOMEM, "allocator returned memory not aligned to %zu bytes", align);
        return NULL;
    }
    return p;
}

void *reco__calloc(const reco_allocator *a, size_t count, size_t size)
{
    size_t bytes;
    if (reco__size_mul(&bytes, count, size) < 0)
        return NULL;
    void *p = reco__alloc(a, bytes, 0);
    if (p != NULL)
        memset(p, 0, bytes);
    return p;
}

void reco__free(const reco_allocator *a, void *ptr)
{
    if (ptr != NULL)
        a->free(a->opaque, ptr);
}

char *reco__strdup(const reco_allocator *a, const char *s)
{
    size_t n = strlen(s);
    char *p = reco__alloc(a, n + 1, 1);
    if (p != NULL)
        memcpy(p, s, n + 1);
    return p;
}

int reco__size_mul(size_t *out, size_t a, size_t b)
{
    if (__builtin_mul_overflow(a, b, out))
        return reco__error_set(RECO_ENOMEM, "size overflow: %zu * %zu", a, b);
    return RECO_OK;
}

int reco__size_add(size_t *out, size_t a, size_t b)
{
    if (__builtin_add_overflow(a, b, out))
        return reco__error_set(RECO_ENOMEM, "size overflow: %zu + %zu", a, b);
    return RECO_OK;
}
