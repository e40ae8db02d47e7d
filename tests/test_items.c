/* reco_items: options and schema checks, unknown items, reco_items_set, CSV loading (strict,
 * lenient, the bad corpus in tests/items/bad), byte-exact CSV and binary round trips,
 * refusal of mismatched or damaged binary files, and the caller's allocator. */
#include <float.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_common.h"
#include "corpus.h"
#include "file_private.h"

/* ---- helpers ---------------------------------------------------------------------------- */

typedef struct fixture {
    char dir[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/reco-items.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    assert_int_equal(reco_live_handles(), 0);
    return 0;
}

static void data_path(char *out, size_t cap, const char *rel)
{
    snprintf(out, cap, "%s/items/%s", test_data_dir(), rel);
}

static void tmp_path(char *out, size_t cap, const fixture *f, const char *name)
{
    snprintf(out, cap, "%s/%s", f->dir, name);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static void write_all(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

static void assert_files_equal(const char *a, const char *b)
{
    size_t na, nb;
    char *x = read_all(a, &na), *y = read_all(b, &nb);
    if (na != nb || memcmp(x, y, na) != 0)
        fail_msg("%s and %s differ:\n---\n%s\n---\n%s", a, b, x, y);
    free(x);
    free(y);
}

static const char *const dense_names[] = {"quality", "length"};
static const char *const field_names[] = {"topic", "author"};
static const uint32_t field_sizes[] = {20, 5};

/* The schema of tests/items: 100 items, quality, length, topic (20), author (5). */
static reco_items_options test_options(void)
{
    reco_items_options o = RECO_ITEMS_OPTIONS_INIT;
    o.n_items = 100;
    o.n_dense = 2;
    o.dense_names = dense_names;
    o.n_fields = 2;
    o.field_names = field_names;
    o.field_sizes = field_sizes;
    return o;
}

static reco_items *new_items(void)
{
    reco_items_options o = test_options();
    reco_items *t = NULL;
    if (reco_items_create(&t, &o) != RECO_OK)
        fail_msg("%s", reco_error_message());
    return t;
}

static reco_items *load_good(const char *rel)
{
    char path[1024];
    data_path(path, sizeof path, rel);
    reco_items *t = new_items();
    if (reco_items_load_csv(t, path, NULL) != RECO_OK)
        fail_msg("%s: %s", rel, reco_error_message());
    return t;
}

/* Same contents: the known set and every value, bit for bit. */
static void assert_items_equal(const reco_items *a, const reco_items *b)
{
    const uint32_t n = reco_items_n_items(a);
    assert_int_equal(n, reco_items_n_items(b));
    assert_int_equal(reco_items_n_known(a), reco_items_n_known(b));
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(reco_items_is_known(a, (int32_t)i), reco_items_is_known(b, (int32_t)i));
    const uint32_t Kd = reco_items_n_dense(a), Kc = reco_items_n_fields(a);
    if (Kd > 0)
        assert_memory_equal(reco_items_dense(a), reco_items_dense(b), (size_t)n * Kd * 4);
    if (Kc > 0)
        assert_memory_equal(reco_items_fields(a), reco_items_fields(b), (size_t)n * Kc * 4);
}

static void *capped_alloc(void *opaque, size_t size, size_t align)
{
    (void)opaque;
    void *p = NULL;
    if (size > ((size_t)1 << 30) ||
        posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size) != 0)
        return NULL;
    return p;
}

static void capped_free(void *opaque, void *ptr)
{
    (void)opaque;
    free(ptr);
}

/* ---- options and schema ----------------------------------------------------------------- */

static void test_items_options_and_defaults(void **state)
{
    (void)state;
    reco_items_options a, b = RECO_ITEMS_OPTIONS_INIT;
    memset(&a, 0xab, sizeof a);
    assert_int_equal(reco_items_options_init(&a, RECO_ITEMS_OPTIONS_VERSION), RECO_OK);
    assert_int_equal(a.version, b.version);
    assert_ptr_equal(a.allocator, b.allocator);
    assert_int_equal(a.n_items, b.n_items);
    assert_int_equal(a.n_items, 1000);
    assert_int_equal(a.n_dense, b.n_dense);
    assert_ptr_equal(a.dense_names, b.dense_names);
    assert_int_equal(a.n_fields, b.n_fields);
    assert_ptr_equal(a.field_names, b.field_names);
    assert_ptr_equal(a.field_sizes, b.field_sizes);
    reco_items_load_options c, d = RECO_ITEMS_LOAD_OPTIONS_INIT;
    memset(&c, 0xab, sizeof c);
    assert_int_equal(reco_items_load_options_init(&c, RECO_ITEMS_LOAD_OPTIONS_VERSION), RECO_OK);
    assert_int_equal(c.version, d.version);
    assert_int_equal(c.lenient, d.lenient);
    assert_int_equal(c.max_rejections, d.max_rejections);
    assert_int_equal(c.max_rejections, 100);
    assert_reco_error(reco_items_options_init(&a, 0), RECO_EVERSION, "version 0");
    assert_reco_error(reco_items_options_init(&a, 2), RECO_EVERSION, "not supported");
    assert_reco_error(reco_items_options_init(NULL, 1), RECO_EINVAL, "NULL");
    assert_reco_error(reco_items_load_options_init(&c, 2), RECO_EVERSION, "not supported");

    /* NULL options: 1000 items without features; default names. */
    reco_items *t = NULL;
    assert_int_equal(reco_items_create(&t, NULL), RECO_OK);
    assert_int_equal(reco_items_n_items(t), 1000);
    assert_int_equal(reco_items_n_dense(t), 0);
    assert_int_equal(reco_items_n_fields(t), 0);
    assert_null(reco_items_dense(t)); /* what reco_model_set_item_features takes for none */
    assert_null(reco_items_fields(t));
    assert_int_equal(reco_items_n_known(t), 0);
    reco_items_free(t);
    reco_items_options o = RECO_ITEMS_OPTIONS_INIT;
    o.n_items = 3;
    o.n_dense = 2;
    o.n_fields = 1;
    const uint32_t sizes[] = {7};
    o.field_sizes = sizes;
    assert_int_equal(reco_items_create(&t, &o), RECO_OK);
    assert_string_equal(reco_items_dense_name(t, 0), "d0");
    assert_string_equal(reco_items_dense_name(t, 1), "d1");
    assert_null(reco_items_dense_name(t, 2));
    assert_string_equal(reco_items_field_name(t, 0), "f0");
    assert_null(reco_items_field_name(t, 1));
    assert_int_equal(reco_items_field_size(t, 0), 7);
    assert_int_equal(reco_items_field_size(t, 1), 0);
    /* Every item starts unknown: dense 0, fields -1. */
    const float *dense = reco_items_dense(t);
    const int32_t *fields = reco_items_fields(t);
    for (int i = 0; i < 6; i++)
        assert_true(dense[i] == 0.0f && !signbit(dense[i]));
    for (int i = 0; i < 3; i++)
        assert_int_equal(fields[i], -1);
    for (int32_t i = -1; i < 4; i++)
        assert_int_equal(reco_items_is_known(t, i), 0);
    reco_items_free(t);
    reco_items_free(NULL);
    reco_items_reset(NULL);
    assert_int_equal(reco_items_n_items(NULL), 0);
    assert_null(reco_items_dense(NULL));
    assert_int_equal(reco_items_is_known(NULL, 0), 0);
}

static void test_items_create_rejects_bad_schemas(void **state)
{
    (void)state;
    reco_items *t = (reco_items *)1;
    reco_items_options o = test_options();
    reco_error_info info = RECO_ERROR_INFO_INIT;
    o.n_items = 0;
    assert_reco_error(reco_items_create(&t, &o), RECO_EINVAL,
                      "n_items 0 is out of range [1, 2147483647]");
    assert_null(t);
    o.n_items = 0x80000000u;
    assert_reco_error(reco_items_create(&t, &o), RECO_EINVAL, "n_items 2147483648 is out of range");
    o = test_options();
    o.n_dense = RECO_ITEMS_MAX_DENSE + 1;
    o.dense_names = NULL;
    assert_reco_error(reco_items_create(&t, &o), RECO_EINVAL, "n_dense 1025 is out of range");
    reco_error_get(&info);
    assert_string_equal(info.field, "n_dense");
    o = test_options();
    o.n_fields = RECO_MODEL_MAX_ITEM_FIELDS + 1;
    assert_reco_error(reco_items_create(&t, &o), RECO_EINVAL, "n_fields 9 is out of range [0, 8]");
    o = test_options();
    o.field_sizes = NULL;
    assert_reco_error(reco_items_create(&t, &o), RECO_EINVAL, "field_sizes is NULL");
    const uint32_t zero[] = {20, 0}, huge[] = {(1u << 24) + 1, 5};
    o.field_sizes = zero;
    assert_reco_error(reco_items_create(&t, &o), RECO_EINVAL,
                      "field_sizes[1] 0 is out of range [1, 16777216]");
    o.field_sizes = huge;
    assert_reco_error(reco_items_create(&t, &o), RECO_EINVAL, "field_sizes[0] 16777217");
    o = test_options();
    const char *null_name[] = {"quality", NULL};
    o.dense_names = null_name;
    assert_reco_error(reco_items_create(&t, &o), RECO_EINVAL, "dense_names[1] is NULL");
    const char *bad_name[] = {"quality", "len gth"};
    o.dense_names = bad_name;
    assert_reco_error(reco_items_create(&t, &o), RECO_EINVAL,
                      "dense_names[1] \"len gth\" is not a valid name");
    const char *item_name[] = {"quality", "item"};
    o.dense_names = item_name;
    assert_reco_error(reco_items_create(&t, &o), RECO_EINVAL,
                      "dense_names[1] \"item\" is also the name of the item column");
    const char *clash[] = {"topic", "length"};
    o.dense_names = clash;
    assert_reco_error(reco_items_create(&t, &o), RECO_EINVAL,
                      "field_names[0] \"topic\" is also the name of dense_names[0]");
    reco_error_get(&info);
    assert_string_equal(info.field, "field_names");
    o = test_options();
    const char *twice[] = {"topic", "topic"};
    o.field_names = twice;
    assert_reco_error(reco_items_create(&t, &o), RECO_EINVAL,
                      "field_names[1] \"topic\" is also the name of field_names[0]");
    o = test_options();
    o.version = 2;
    assert_reco_error(reco_items_create(&t, &o), RECO_EVERSION, "reco_items_options");
    assert_reco_error(reco_items_create(NULL, NULL), RECO_EINVAL, "out is NULL");
    /* A catalog too large for memory is ENOMEM, with nothing left behind (an allocator that
     * refuses more than 1 GiB stands for the system: sanitizers abort on such requests). */
    o = test_options();
    o.n_items = INT32_MAX;
    o.n_dense = RECO_ITEMS_MAX_DENSE;
    o.dense_names = NULL;
    reco_allocator capped = RECO_ALLOCATOR_INIT;
    capped.alloc = capped_alloc;
    capped.free = capped_free;
    o.allocator = &capped;
    assert_int_equal(reco_items_create(&t, &o), RECO_ENOMEM);
    assert_null(t);
    assert_int_equal(reco_live_handles(), 0);
}

/* ---- setting items ---------------------------------------------------------------------- */

static void test_items_set_validates_and_reset_forgets(void **state)
{
    (void)state;
    reco_items *t = new_items();
    const float dense[] = {0.5f, 30.0f};
    const int32_t fields[] = {19, -1};
    assert_int_equal(reco_items_set(t, 42, dense, fields), RECO_OK);
    assert_int_equal(reco_items_n_known(t), 1);
    assert_int_equal(reco_items_is_known(t, 42), 1);
    assert_true(reco_items_dense(t)[42 * 2 + 1] == 30.0f);
    assert_int_equal(reco_items_fields(t)[42 * 2 + 0], 19);
    assert_int_equal(reco_items_fields(t)[42 * 2 + 1], -1);
    /* Setting again replaces; NULL means zeros / unknown. */
    assert_int_equal(reco_items_set(t, 42, NULL, NULL), RECO_OK);
    assert_int_equal(reco_items_n_known(t), 1);
    assert_true(reco_items_dense(t)[42 * 2] == 0.0f);
    assert_int_equal(reco_items_fields(t)[42 * 2], -1);
    assert_int_equal(reco_items_set(t, 0, dense, fields), RECO_OK);
    assert_int_equal(reco_items_n_known(t), 2);
    /* Bad calls change nothing. */
    const float nan_dense[] = {0.5f, NAN};
    const int32_t big[] = {20, 0}, neg[] = {0, -2};
    reco_error_info info = RECO_ERROR_INFO_INIT;
    assert_reco_error(reco_items_set(t, 0, nan_dense, fields), RECO_EINVAL,
                      "item 0: dense[1] is nan, not a finite number");
    reco_error_get(&info);
    assert_string_equal(info.field, "length");
    assert_reco_error(reco_items_set(t, 0, dense, big), RECO_EINVAL,
                      "item 0: fields[0] 20 is out of range [0, 19] (or -1 for unknown)");
    reco_error_get(&info);
    assert_string_equal(info.field, "topic");
    assert_reco_error(reco_items_set(t, 0, dense, neg), RECO_EINVAL, "fields[1] -2 is out of");
    assert_reco_error(reco_items_set(t, 100, dense, fields), RECO_EINVAL,
                      "item 100 is out of range [0, 99]");
    assert_reco_error(reco_items_set(t, -1, dense, fields), RECO_EINVAL, "item -1");
    assert_reco_error(reco_items_set(NULL, 0, dense, fields), RECO_EINVAL, "NULL");
    assert_true(reco_items_dense(t)[0] == 0.5f);
    assert_int_equal(reco_items_fields(t)[0], 19);
    assert_int_equal(reco_items_n_known(t), 2);
    /* Reset: all unknown again, schema kept. */
    reco_items_reset(t);
    assert_int_equal(reco_items_n_known(t), 0);
    assert_int_equal(reco_items_is_known(t, 0), 0);
    assert_true(reco_items_dense(t)[1] == 0.0f);
    assert_int_equal(reco_items_fields(t)[0], -1);
    assert_int_equal(reco_items_n_dense(t), 2);
    reco_items_free(t);
}

/* ---- CSV -------------------------------------------------------------------------------- */

static void test_items_csv_round_trip_is_byte_exact(void **state)
{
    fixture *f = *state;
    char src[1024], out[256];
    data_path(src, sizeof src, "good/canonical.csv");
    tmp_path(out, sizeof out, f, "items.csv");
    reco_items *t = load_good("good/canonical.csv");
    assert_int_equal(reco_items_n_known(t), 4);
    assert_int_equal(reco_items_n_rejected(t), 0);
    assert_int_equal(reco_items_save_csv(t, out), RECO_OK);
    assert_files_equal(src, out);
    const float *d = reco_items_dense(t);
    const int32_t *c = reco_items_fields(t);
    assert_true(d[0 * 2 + 0] == 0.5f && d[0 * 2 + 1] == 120.0f);
    assert_int_equal(c[0 * 2 + 0], 3);
    assert_int_equal(c[0 * 2 + 1], -1); /* empty: unknown */
    assert_true(d[7 * 2 + 0] == -1.25f);
    assert_int_equal(c[7 * 2 + 0], 19);
    assert_int_equal(c[7 * 2 + 1], 4);
    assert_true(d[42 * 2 + 0] == 1e-6f && d[42 * 2 + 1] == FLT_MAX);
    assert_true(d[99 * 2 + 1] == 0.0f && signbit(d[99 * 2 + 1]));
    /* Items not in the file stay unknown. */
    assert_int_equal(reco_items_is_known(t, 1), 0);
    assert_true(d[1 * 2] == 0.0f);
    assert_int_equal(c[1 * 2], -1);
    /* Other spellings, shuffled, CRLF, a BOM, no final newline: the canonical bytes. */
    reco_items *v = load_good("good/variants.csv");
    assert_items_equal(t, v);
    assert_int_equal(reco_items_save_csv(v, out), RECO_OK);
    assert_files_equal(src, out);
    /* Items given by reco_items_set are saved; a load replaces the whole table. */
    const float dense[] = {2.0f, 3.0f};
    assert_int_equal(reco_items_set(v, 50, dense, NULL), RECO_OK);
    assert_int_equal(reco_items_save_csv(v, out), RECO_OK);
    assert_int_equal(reco_items_load_csv(t, out, NULL), RECO_OK);
    assert_int_equal(reco_items_n_known(t), 5);
    assert_int_equal(reco_items_load_csv(t, src, NULL), RECO_OK);
    assert_int_equal(reco_items_is_known(t, 50), 0);
    assert_true(reco_items_dense(t)[50 * 2] == 0.0f);
    /* A header-only file empties the table. */
    const char *h = "item,quality,length,topic,author\n";
    write_all(out, h, strlen(h));
    assert_int_equal(reco_items_load_csv(t, out, NULL), RECO_OK);
    assert_int_equal(reco_items_n_known(t), 0);
    reco_items_free(v);
    reco_items_free(t);
}

static void test_items_bad_corpus(void **state)
{
    (void)state;
    static manifest_entry entries[128];
    char dir[1024];
    data_path(dir, sizeof dir, "bad");
    size_t n = corpus_read_manifest(entries, 128, dir);
    assert_true(n >= 20);
    corpus_check_complete(dir, entries, n);
    reco_items *t = load_good("good/canonical.csv");
    reco_items *before = load_good("good/canonical.csv");
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%.1000s/%.127s", dir, entries[i].file);
        int rc = reco_items_load_csv(t, path, NULL);
        failures += !corpus_matches(&entries[i], rc, path);
        assert_items_equal(t, before); /* atomic */
    }
    /* Lenient: the same lines are rejected (header problems still fail the load). */
    reco_items_load_options lo = RECO_ITEMS_LOAD_OPTIONS_INIT;
    lo.lenient = 1;
    for (size_t i = 0; i < n; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%.1000s/%.127s", dir, entries[i].file);
        int rc = reco_items_load_csv(t, path, &lo);
        if (entries[i].line == 1) {
            assert_int_equal(rc, RECO_EFORMAT);
            continue;
        }
        if (rc != RECO_OK)
            fail_msg("%s (lenient): %s", entries[i].file, reco_error_message());
        assert_true(reco_items_n_rejected(t) >= 1);
        reco_error_info info = RECO_ERROR_INFO_INIT;
        assert_int_equal(reco_items_rejection(&info, t, 0), RECO_OK);
        assert_non_null(strstr(info.message, entries[i].file));
        assert_int_equal(info.line, entries[i].line);
        assert_int_equal(info.column, entries[i].column);
        assert_string_equal(info.field, entries[i].field);
        /* line 2 of every file is item 7, good, unless the file lists it again */
        assert_int_equal(reco_items_is_known(t, 7), strcmp(entries[i].file, "duplicate.csv") != 0);
    }
    reco_items_free(t);
    reco_items_free(before);
    if (failures > 0)
        fail_msg("%d of %zu corpus files did not fail as expected", failures, n);
}

static void test_items_lenient_rejects_every_line_of_a_duplicate(void **state)
{
    fixture *f = *state;
    char path[256];
    tmp_path(path, sizeof path, f, "lenient.csv");
    const char *text = "item,quality,length,topic,author\n"
                       "1,1,1,1,1\n"      /* 2: kept */
                       "5,1,1,1,1\n"      /* 3: item 5, later duplicated */
                       "6,x,1,1,1\n"      /* 4: bad dense: rejected */
                       "5,2,2,2,2\n"      /* 5: duplicate: rejects lines 3 and 5 */
                       "6,1,1,1,1\n"      /* 6: item 6 again: rejected (line 4 was item 6) */
                       "5,3,3,3,3\n"      /* 7: item 5 a third time: rejected */
                       "200,1,1,1,1\n"    /* 8: out of range */
                       "\n"               /* 9: empty line */
                       "9,0.25,1,,\n";    /* 10: kept */
    write_all(path, text, strlen(text));
    reco_items *t = new_items();
    assert_reco_error(reco_items_load_csv(t, path, NULL), RECO_EFORMAT,
                      "lenient.csv:4:3: quality: \"x\" is not a number");
    assert_int_equal(reco_items_n_known(t), 0); /* atomic */
    reco_items_load_options lo = RECO_ITEMS_LOAD_OPTIONS_INIT;
    lo.lenient = 1;
    assert_int_equal(reco_items_load_csv(t, path, &lo), RECO_OK);
    assert_int_equal(reco_error_code(), 0);
    assert_int_equal(reco_items_n_known(t), 2);
    assert_int_equal(reco_items_is_known(t, 1), 1);
    assert_int_equal(reco_items_is_known(t, 9), 1);
    assert_int_equal(reco_items_is_known(t, 5), 0);
    assert_int_equal(reco_items_is_known(t, 6), 0);
    assert_true(reco_items_dense(t)[5 * 2] == 0.0f); /* a dropped item is unknown */
    assert_int_equal(reco_items_fields(t)[5 * 2], -1);
    assert_int_equal(reco_items_n_rejected(t), 7); /* lines 3, 4, 5, 6, 7, 8, 9 */
    assert_int_equal(reco_items_n_rejections(t), 6);
    static const struct {
        unsigned line, column;
        const char *field, *msg;
    } want[] = {
        {4, 3, "quality", "\"x\" is not a number"},
        {5, 1, "item", "item 5 appears twice (also at line 3); every line of the item is "
                       "rejected"},
        {6, 1, "item", "item 6 appears twice (also at line 4)"},
        {7, 1, "item", "item 5 appears twice (also at line 3)"},
        {8, 1, "item", "item 200 is out of range [0, 99]"},
        {9, 1, "", "empty line"},
    };
    for (size_t i = 0; i < 6; i++) {
        reco_error_info e = RECO_ERROR_INFO_INIT;
        assert_int_equal(reco_items_rejection(&e, t, i), RECO_OK);
        if (e.line != want[i].line || e.column != want[i].column ||
            strcmp(e.field, want[i].field) != 0 || strstr(e.message, want[i].msg) == NULL)
            fail_msg("rejection %zu: got %u:%u \"%s\" \"%s\"", i, e.line, e.column, e.field,
                     e.message);
        assert_int_equal(e.code, RECO_EFORMAT);
        assert_string_equal(e.source, path);
    }
    reco_error_info e = RECO_ERROR_INFO_INIT;
    assert_reco_error(reco_items_rejection(&e, t, 6), RECO_EINVAL, "out of range");
    e.version = 9;
    assert_reco_error(reco_items_rejection(&e, t, 0), RECO_EVERSION, "reco_error_info");
    /* max_rejections bounds the details, not the count; a strict load clears them. */
    lo.max_rejections = 2;
    assert_int_equal(reco_items_load_csv(t, path, &lo), RECO_OK);
    assert_int_equal(reco_items_n_rejected(t), 7);
    assert_int_equal(reco_items_n_rejections(t), 2);
    char good[1024];
    data_path(good, sizeof good, "good/canonical.csv");
    assert_int_equal(reco_items_load_csv(t, good, NULL), RECO_OK);
    assert_int_equal(reco_items_n_rejected(t), 0);
    assert_int_equal(reco_items_n_rejections(t), 0);
    lo.version = 2;
    assert_reco_error(reco_items_load_csv(t, good, &lo), RECO_EVERSION,
                      "reco_items_load_options");
    reco_items_free(t);
}

static void test_items_load_csv_io_errors(void **state)
{
    fixture *f = *state;
    reco_items *t = new_items();
    char path[256];
    tmp_path(path, sizeof path, f, "missing.csv");
    assert_reco_error(reco_items_load_csv(t, path, NULL), RECO_EIO, "cannot open");
    assert_reco_error(reco_items_load_csv(t, f->dir, NULL), RECO_EIO, "directory");
    assert_reco_error(reco_items_load_csv(t, "", NULL), RECO_EINVAL, "empty");
    assert_reco_error(reco_items_load_csv(NULL, path, NULL), RECO_EINVAL, "NULL");
    assert_reco_error(reco_items_save_csv(t, ""), RECO_EINVAL, "empty");
    tmp_path(path, sizeof path, f, "no/such/dir/items.csv");
    assert_reco_error(reco_items_save_csv(t, path), RECO_EIO, "items.csv");
    assert_reco_error(reco_items_save(t, path), RECO_EIO, "items.csv");
    assert_reco_error(reco_items_save(NULL, path), RECO_EINVAL, "NULL");
    reco_items_free(t);
}

/* ---- binary ----------------------------------------------------------------------------- */

static void test_items_binary_round_trip_is_exact(void **state)
{
    fixture *f = *state;
    char bin[256], bin2[256], csv[256], src[1024];
    tmp_path(bin, sizeof bin, f, "items.bin");
    tmp_path(bin2, sizeof bin2, f, "items2.bin");
    tmp_path(csv, sizeof csv, f, "items.csv");
    data_path(src, sizeof src, "good/canonical.csv");
    reco_items *t = load_good("good/canonical.csv");
    assert_int_equal(reco_items_save(t, bin), RECO_OK);
    reco_items *back = new_items();
    const float dense[] = {1, 2};
    assert_int_equal(reco_items_set(back, 3, dense, NULL), RECO_OK); /* replaced by the load */
    assert_int_equal(reco_items_load(back, bin), RECO_OK);
    assert_items_equal(t, back);
    assert_int_equal(reco_items_save(back, bin2), RECO_OK);
    assert_files_equal(bin, bin2);
    assert_int_equal(reco_items_save_csv(back, csv), RECO_OK);
    assert_files_equal(src, csv);
    /* Only the known items are stored. */
    struct stat st;
    stat(bin, &st);
    assert_true(st.st_size < 600);
    /* Tables without dense features or without fields, and an empty one. */
    reco_items_options o = RECO_ITEMS_OPTIONS_INIT;
    o.n_items = 10;
    o.n_fields = 1;
    const uint32_t sizes[] = {3};
    o.field_sizes = sizes;
    reco_items *a = NULL, *b = NULL;
    assert_int_equal(reco_items_create(&a, &o), RECO_OK);
    assert_int_equal(reco_items_create(&b, &o), RECO_OK);
    const int32_t two[] = {2};
    assert_int_equal(reco_items_set(a, 9, NULL, two), RECO_OK);
    assert_int_equal(reco_items_save(a, bin2), RECO_OK);
    assert_int_equal(reco_items_load(b, bin2), RECO_OK);
    assert_items_equal(a, b);
    reco_items_reset(a);
    assert_int_equal(reco_items_save(a, bin2), RECO_OK);
    assert_int_equal(reco_items_load(b, bin2), RECO_OK);
    assert_int_equal(reco_items_n_known(b), 0);
    reco_items_free(a);
    reco_items_free(b);
    reco_items_free(back);
    reco_items_free(t);
}

static void test_items_binary_refuses_other_schemas_and_damage(void **state)
{
    fixture *f = *state;
    char bin[256], bad[256];
    tmp_path(bin, sizeof bin, f, "items.bin");
    tmp_path(bad, sizeof bad, f, "bad.bin");
    reco_items *t = load_good("good/canonical.csv");
    assert_int_equal(reco_items_save(t, bin), RECO_OK);
    reco_error_info info = RECO_ERROR_INFO_INIT;
    /* Each difference of schema is named. */
    reco_items_options o = test_options();
    reco_items *x = NULL;
    o.n_items = 101;
    assert_int_equal(reco_items_create(&x, &o), RECO_OK);
    assert_reco_error(reco_items_load(x, bin), RECO_EFORMAT,
                      "the file's n_items is 100, the table's is 101");
    reco_error_get(&info);
    assert_string_equal(info.field, "n_items");
    reco_items_free(x);
    o = test_options();
    o.n_dense = 1;
    assert_int_equal(reco_items_create(&x, &o), RECO_OK);
    assert_reco_error(reco_items_load(x, bin), RECO_EFORMAT, "the file's n_dense is 2");
    reco_items_free(x);
    o = test_options();
    const char *other[] = {"quality", "duration"};
    o.dense_names = other;
    assert_int_equal(reco_items_create(&x, &o), RECO_OK);
    assert_reco_error(reco_items_load(x, bin), RECO_EFORMAT,
                      "the file's dense_names are \"quality,length\", the table's are "
                      "\"quality,duration\"");
    reco_items_free(x);
    o = test_options();
    const char *fields[] = {"topic", "creator"};
    o.field_names = fields;
    assert_int_equal(reco_items_create(&x, &o), RECO_OK);
    assert_reco_error(reco_items_load(x, bin), RECO_EFORMAT, "the file's field_names are");
    reco_items_free(x);
    o = test_options();
    const uint32_t sizes[] = {20, 6};
    o.field_sizes = sizes;
    assert_int_equal(reco_items_create(&x, &o), RECO_OK);
    assert_reco_error(reco_items_load(x, bin), RECO_EFORMAT,
                      "the file's field \"author\" has 5 values, the table's has 6");
    reco_error_get(&info);
    assert_string_equal(info.field, "field_sizes");
    reco_items_free(x);
    /* Every flipped byte and every truncation is refused; the table is untouched. */
    size_t n;
    char *bytes = read_all(bin, &n);
    reco_items *dst = new_items();
    const float dense[] = {4, 5};
    assert_int_equal(reco_items_set(dst, 11, dense, NULL), RECO_OK);
    for (size_t i = 0; i < n; i++) {
        bytes[i] ^= 0x08;
        write_all(bad, bytes, n);
        bytes[i] ^= 0x08;
        int rc = reco_items_load(dst, bad);
        if (rc != RECO_EFORMAT)
            fail_msg("flipping byte %zu: got %s (%s)", i, reco_status_name(rc),
                     reco_error_message());
    }
    for (size_t len = 0; len < n; len += 3) {
        write_all(bad, bytes, len);
        assert_int_equal(reco_items_load(dst, bad), RECO_EFORMAT);
    }
    assert_int_equal(reco_items_n_known(dst), 1);
    assert_true(reco_items_dense(dst)[11 * 2 + 1] == 5.0f);
    char csv[1024];
    data_path(csv, sizeof csv, "good/canonical.csv");
    assert_reco_error(reco_items_load(dst, csv), RECO_EFORMAT, "not a RECOITM1 file");
    tmp_path(bad, sizeof bad, f, "nothing.bin");
    assert_reco_error(reco_items_load(dst, bad), RECO_EIO, "nothing.bin");
    assert_reco_error(reco_items_load(NULL, bin), RECO_EINVAL, "NULL");
    free(bytes);
    reco_items_free(dst);
    reco_items_free(t);
}

/* A well-checksummed file with the given entries, written with the container directly so
 * that values reco_items_save never writes can be offered to the reader. */
static void write_items_file(const char *path, const uint32_t *ids, const float *dense,
                             const int32_t *fields, uint32_t k)
{
    static const char magic[8] = {'R', 'E', 'C', 'O', 'I', 'T', 'M', '1'};
    const uint32_t shape[3] = {100, 2, 2};
    reco__writer *w = NULL;
    assert_int_equal(reco__writer_open(&w, NULL, path, magic, 1), RECO_OK);
    assert_int_equal(reco__writer_section(w, "shape", RECO__FILE_U32, shape, 3), 0);
    assert_int_equal(reco__writer_section(w, "dense_names", RECO__FILE_BYTES, "quality\nlength",
                                          14), 0);
    assert_int_equal(reco__writer_section(w, "field_names", RECO__FILE_BYTES, "topic\nauthor",
                                          12), 0);
    assert_int_equal(reco__writer_section(w, "field_sizes", RECO__FILE_U32, field_sizes, 2), 0);
    assert_int_equal(reco__writer_section(w, "ids", RECO__FILE_U32, ids, k), 0);
    assert_int_equal(reco__writer_section(w, "dense", RECO__FILE_F32, dense, 2 * k), 0);
    assert_int_equal(reco__writer_section(w, "fields", RECO__FILE_I32, fields, 2 * k), 0);
    assert_int_equal(reco__writer_commit(w), RECO_OK);
}

static void test_items_binary_checks_every_value(void **state)
{
    fixture *f = *state;
    char path[256];
    tmp_path(path, sizeof path, f, "crafted.bin");
    reco_items *t = new_items();
    const uint32_t ids[] = {3, 8};
    const float dense[] = {1, 2, 3, 4};
    const int32_t fields[] = {0, -1, 19, 4};
    write_items_file(path, ids, dense, fields, 2);
    assert_int_equal(reco_items_load(t, path), RECO_OK);
    assert_int_equal(reco_items_n_known(t), 2);
    assert_int_equal(reco_items_fields(t)[8 * 2 + 0], 19);
    const uint32_t backwards[] = {8, 3}, big[] = {3, 100};
    write_items_file(path, backwards, dense, fields, 2);
    assert_reco_error(reco_items_load(t, path), RECO_EFORMAT,
                      "entry 1: item 3 is out of range or out of order");
    write_items_file(path, big, dense, fields, 2);
    assert_reco_error(reco_items_load(t, path), RECO_EFORMAT, "entry 1: item 100");
    const float inf_dense[] = {1, 2, INFINITY, 4};
    write_items_file(path, ids, inf_dense, fields, 2);
    assert_reco_error(reco_items_load(t, path), RECO_EFORMAT,
                      "quality: item 8: inf is not a finite number");
    const int32_t bad_fields[] = {0, 5, 19, 4};
    write_items_file(path, ids, dense, bad_fields, 2);
    assert_reco_error(reco_items_load(t, path), RECO_EFORMAT,
                      "author: item 3: value 5 is out of range [0, 4] (or -1)");
    const int32_t neg_fields[] = {-2, 0, 19, 4};
    write_items_file(path, ids, dense, neg_fields, 2);
    assert_reco_error(reco_items_load(t, path), RECO_EFORMAT, "topic: item 3: value -2");
    /* Nothing changed on any refusal. */
    assert_int_equal(reco_items_n_known(t), 2);
    assert_true(reco_items_dense(t)[8 * 2 + 0] == 3.0f);
    reco_items_free(t);
}

/* ---- allocator -------------------------------------------------------------------------- */

typedef struct counting {
    size_t live, total;
} counting;

static void *count_alloc(void *opaque, size_t size, size_t align)
{
    counting *c = opaque;
    void *p = NULL;
    if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size) != 0)
        return NULL;
    c->live++;
    c->total++;
    return p;
}

static void count_free(void *opaque, void *ptr)
{
    counting *c = opaque;
    if (ptr != NULL)
        c->live--;
    free(ptr);
}

static void test_items_use_the_given_allocator(void **state)
{
    fixture *f = *state;
    counting cnt = {0, 0};
    reco_allocator al = RECO_ALLOCATOR_INIT;
    al.alloc = count_alloc;
    al.free = count_free;
    al.opaque = &cnt;
    reco_items_options o = test_options();
    o.allocator = &al;
    reco_items *t = NULL;
    assert_int_equal(reco_items_create(&t, &o), RECO_OK);
    char src[1024], csv[256], bin[256];
    data_path(src, sizeof src, "good/canonical.csv");
    tmp_path(csv, sizeof csv, f, "x.csv");
    tmp_path(bin, sizeof bin, f, "x.bin");
    reco_items_load_options lo = RECO_ITEMS_LOAD_OPTIONS_INIT;
    lo.lenient = 1;
    assert_int_equal(reco_items_load_csv(t, src, &lo), RECO_OK);
    assert_int_equal(reco_items_save_csv(t, csv), RECO_OK);
    assert_int_equal(reco_items_save(t, bin), RECO_OK);
    assert_int_equal(reco_items_load(t, bin), RECO_OK);
    assert_true(cnt.total > 10);
    reco_items_free(t);
    assert_int_equal(cnt.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_items_options_and_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_items_create_rejects_bad_schemas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_items_set_validates_and_reset_forgets, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_items_csv_round_trip_is_byte_exact, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_items_bad_corpus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_items_lenient_rejects_every_line_of_a_duplicate,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_items_load_csv_io_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_items_binary_round_trip_is_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_items_binary_refuses_other_schemas_and_damage, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_items_binary_checks_every_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_items_use_the_given_allocator, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
