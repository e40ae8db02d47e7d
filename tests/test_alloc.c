/* Allocator hooks: the default, a caller's hooks, the process default and its guard,
 * alignment, failure and overflow. Links the library's objects to reach reco__alloc(). */
#include "test_common.h"
#include "alloc_private.h"

typedef struct counting {
    size_t allocs;
    size_t frees;
    size_t bytes;
    size_t fail_after; /* fail the allocation with this 1-based index; 0 = never */
    size_t last_align;
} counting;

static void *counting_alloc(void *opaque, size_t size, size_t align)
{
    counting *c = opaque;
    if (c->fail_after != 0 && c->allocs + 1 >= c->fail_after)
        return NULL;
    void *p = NULL;
    if (posix_memalign(&p, align, size) != 0)
        return NULL;
    c->allocs++;
    c->bytes += size;
    c->last_align = align;
    return p;
}

static void counting_free(void *opaque, void *ptr)
{
    counting *c = opaque;
    if (ptr != NULL) {
        c->frees++;
        free(ptr);
    }
}

static unsigned char misaligned_pool[256];
static void *misaligned_alloc(void *opaque, size_t size, size_t align)
{
    (void)opaque;
    (void)size;
    (void)align;
    return misaligned_pool + 1; /* never aligned to 8 or more */
}
static int misaligned_freed;
static void misaligned_free(void *opaque, void *ptr)
{
    (void)opaque;
    (void)ptr;
    misaligned_freed++;
}

static void test_alloc_default_aligned(void **state)
{
    (void)state;
    reco_allocator a;
    assert_int_equal(reco__allocator_resolve(&a, NULL), RECO_OK);
    assert_non_null(a.alloc);
    assert_non_null(a.free);
    for (size_t size = 0; size < 5000; size = size * 3 + 1) {
        unsigned char *p = reco__alloc(&a, size, 0);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % RECO__ALIGN, 0);
        memset(p, 0xab, size); /* ASan catches a short block */
        reco__free(&a, p);
    }
    void *p = reco__alloc(&a, 10, 4096);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 4096, 0);
    reco__free(&a, p);
    reco__free(&a, NULL); /* accepted */
}

static void test_alloc_custom_hooks_used(void **state)
{
    (void)state;
    counting c = {0};
    reco_allocator user = RECO_ALLOCATOR_INIT;
    user.alloc = counting_alloc;
    user.free = counting_free;
    user.opaque = &c;
    reco_allocator a;
    assert_int_equal(reco__allocator_resolve(&a, &user), RECO_OK);
    void *p = reco__alloc(&a, 100, 0);
    char *s = reco__strdup(&a, "hello");
    assert_non_null(p);
    assert_string_equal(s, "hello");
    assert_int_equal(c.allocs, 2);
    /* strdup asks for alignment 1, which reco__alloc raises to sizeof(void *) */
    assert_int_equal(c.last_align, sizeof(void *));
    reco__free(&a, p);
    reco__free(&a, s);
    assert_int_equal(c.frees, 2);
}

static void test_alloc_bad_allocator_rejected(void **state)
{
    (void)state;
    reco_allocator a;
    reco_allocator user = RECO_ALLOCATOR_INIT;
    user.alloc = counting_alloc; /* free missing */
    assert_reco_error(reco__allocator_resolve(&a, &user), RECO_EINVAL,
                      "alloc and free must both be set");
    user.free = counting_free;
    user.version = 0;
    assert_reco_error(reco__allocator_resolve(&a, &user), RECO_EVERSION, "version 0");
    user.version = RECO_ALLOCATOR_VERSION + 1;
    assert_reco_error(reco__allocator_resolve(&a, &user), RECO_EVERSION, "not supported");
}

static void test_alloc_failure_reported(void **state)
{
    (void)state;
    counting c = {0};
    c.fail_after = 1;
    reco_allocator user = {RECO_ALLOCATOR_VERSION, counting_alloc, counting_free, &c};
    reco_error_clear();
    assert_null(reco__alloc(&user, 123, 0));
    assert_int_equal(reco_error_code(), RECO_ENOMEM);
    assert_non_null(strstr(reco_error_message(), "123 bytes"));
    assert_null(reco__strdup(&user, "x"));
    assert_null(reco__calloc(&user, 4, 4));
}

static void test_alloc_misaligned_result_refused(void **state)
{
    (void)state;
    misaligned_freed = 0;
    reco_allocator user = {RECO_ALLOCATOR_VERSION, misaligned_alloc, misaligned_free, NULL};
    assert_null(reco__alloc(&user, 16, 64));
    assert_int_equal(reco_error_code(), RECO_ENOMEM);
    assert_non_null(strstr(reco_error_message(), "not aligned to 64"));
    assert_int_equal(misaligned_freed, 1); /* handed back, not leaked */
}

static void test_alloc_calloc_zeroes_and_overflow(void **state)
{
    (void)state;
    reco_allocator a;
    reco__allocator_resolve(&a, NULL);
    unsigned char *p = reco__calloc(&a, 100, 3);
    assert_non_null(p);
    for (size_t i = 0; i < 300; i++)
        assert_int_equal(p[i], 0);
    reco__free(&a, p);
    assert_null(reco__calloc(&a, SIZE_MAX / 2, 3));
    assert_int_equal(reco_error_code(), RECO_ENOMEM);
    assert_non_null(strstr(reco_error_message(), "size overflow"));
}

static void test_alloc_size_arithmetic(void **state)
{
    (void)state;
    size_t r = 0;
    assert_int_equal(reco__size_mul(&r, 1u << 20, 1u << 10), RECO_OK);
    assert_int_equal(r, (size_t)1 << 30);
    assert_int_equal(reco__size_mul(&r, SIZE_MAX, 2), RECO_ENOMEM);
    assert_int_equal(reco__size_add(&r, SIZE_MAX - 1, 1), RECO_OK);
    assert_int_equal(r, SIZE_MAX);
    assert_int_equal(reco__size_add(&r, SIZE_MAX, 1), RECO_ENOMEM);
}

static void test_alloc_process_default(void **state)
{
    (void)state;
    assert_int_equal(reco_live_handles(), 0);
    counting c = {0};
    reco_allocator user = {RECO_ALLOCATOR_VERSION, counting_alloc, counting_free, &c};
    assert_int_equal(reco_set_default_allocator(&user), RECO_OK);

    reco_allocator got;
    assert_int_equal(reco_get_default_allocator(&got), RECO_OK);
    assert_ptr_equal(got.opaque, &c);
    reco_allocator a;
    reco__allocator_resolve(&a, NULL);
    void *p = reco__alloc(&a, 8, 0);
    assert_int_equal(c.allocs, 1);
    reco__free(&a, p);
    assert_int_equal(c.frees, 1);

    /* While a handle exists the default may not change. */
    reco__handle_acquire();
    assert_int_equal(reco_live_handles(), 1);
    assert_reco_error(reco_set_default_allocator(NULL), RECO_ESTATE, "1 handle(s) still exist");
    reco__handle_release();
    assert_int_equal(reco_live_handles(), 0);

    /* Invalid hooks are refused and leave the default alone. */
    reco_allocator bad = {RECO_ALLOCATOR_VERSION, NULL, counting_free, NULL};
    assert_reco_error(reco_set_default_allocator(&bad), RECO_EINVAL, "must both be set");
    reco_get_default_allocator(&got);
    assert_ptr_equal(got.opaque, &c);

    assert_int_equal(reco_set_default_allocator(NULL), RECO_OK);
    reco_get_default_allocator(&got);
    assert_null(got.opaque);
    assert_ptr_not_equal(got.alloc, counting_alloc);
    assert_int_equal(reco_get_default_allocator(NULL), RECO_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_default_aligned),
        cmocka_unit_test(test_alloc_custom_hooks_used),
        cmocka_unit_test(test_alloc_bad_allocator_rejected),
        cmocka_unit_test(test_alloc_failure_reported),
        cmocka_unit_test(test_alloc_misaligned_result_refused),
        cmocka_unit_test(test_alloc_calloc_zeroes_and_overflow),
        cmocka_unit_test(test_alloc_size_arithmetic),
        cmocka_unit_test(test_alloc_process_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
