/* reco_model checkpoints (lib/model_io.c): bit-exact round trips, exact resume of training,
 * and refusal of truncated, corrupted, wrong-version, wrong-shape and foreign files with the
 * model left untouched. */
#include <sys/stat.h>
#include <unistd.h>

#include "test_common.h"
#include "file_private.h"
#include "model_private.h"

enum { NI = 50, DIM = 8, LB = 5, SIG = 3, BS = 4 };

typedef struct fixture {
    char dir[64];
    char path[128];
    int32_t items[BS * LB];
    uint32_t fb[BS * LB];
    int32_t shown[BS];
    float labels[BS * (SIG + 1)];
    reco_batch batch;
} fixture;

static reco_model *tiny(uint32_t dim, uint64_t seed)
{
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = NI;
    o.dim = dim;
    o.lookback = LB;
    o.n_blocks = 2;
    o.n_heads = 2;
    o.ffn_dim = 12;
    o.n_signals = SIG;
    o.max_batch = BS;
    o.max_candidates = 8;
    o.seed = seed;
    reco_model *m = NULL;
    assert_int_equal(reco_model_create(&m, &o), RECO_OK);
    return m;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/reco-model-io.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof f->path, "%s/model.reco", f->dir);
    reco_rng rng;
    reco_rng_seed(&rng, 5, 0);
    for (int i = 0; i < BS * LB; i++) {
        f->items[i] = i % 3 == 0 ? RECO_PAD : (int32_t)reco_rng_below(&rng, NI);
        f->fb[i] = (uint32_t)reco_rng_below(&rng, 1u << SIG);
    }
    for (int i = 0; i < BS; i++)
        f->shown[i] = (int32_t)reco_rng_below(&rng, NI);
    for (int i = 0; i < BS * (SIG + 1); i++)
        f->labels[i] = (float)reco_rng_bernoulli(&rng, 0.4);
    reco_batch b = RECO_BATCH_INIT;
    b.size = BS;
    b.items = f->items;
    b.feedback = f->fb;
    f->batch = b;
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
    return 0;
}

static void train(reco_model *m, const fixture *f, int steps)
{
    for (int s = 0; s < steps; s++) {
        assert_int_equal(reco_model_train_bce(NULL, m, &f->batch, f->shown, f->labels, NULL),
                         RECO_OK);
        assert_int_equal(reco_model_step(NULL, m), RECO_OK);
    }
}

static void assert_same_state(const reco_model *a, const reco_model *b, int optimizer)
{
    assert_int_equal(a->lay.n_params, b->lay.n_params);
    assert_memory_equal(a->params, b->params, a->lay.n_params * sizeof(float));
    if (optimizer) {
        assert_memory_equal(a->adam_m, b->adam_m, a->lay.n_params * sizeof(float));
        assert_memory_equal(a->adam_v, b->adam_v, a->lay.n_params * sizeof(float));
        assert_memory_equal(a->row_step, b->row_step, a->N * sizeof(uint64_t));
        assert_int_equal(a->step, b->step);
    }
}

static void test_model_io_round_trip_bit_exact(void **state)
{
    fixture *f = *state;
    reco_model *m = tiny(DIM, 1);
    train(m, f, 3);
    assert_int_equal(reco_model_save(m, f->path, RECO_MODEL_SAVE_OPTIMIZER), RECO_OK);

    reco_model *o = NULL;
    assert_int_equal(reco_model_open(&o, f->path, NULL), RECO_OK);
    assert_same_state(m, o, 1);
    reco_model_options a = RECO_MODEL_OPTIONS_INIT, b = RECO_MODEL_OPTIONS_INIT;
    reco_model_get_options(&a, m);
    reco_model_get_options(&b, o);
    assert_int_equal(a.dim, b.dim);
    assert_int_equal(a.n_blocks, b.n_blocks);
    assert_int_equal(a.seed, b.seed);
    assert_true(a.lr == b.lr);

    /* load into an existing model of the same architecture (another seed) */
    reco_model *l = tiny(DIM, 99);
    assert_int_equal(reco_model_load(l, f->path), RECO_OK);
    assert_same_state(m, l, 1);

    /* saving the reopened model gives the same bytes */
    char again[160];
    snprintf(again, sizeof again, "%s/again.reco", f->dir);
    assert_int_equal(reco_model_save(o, again, RECO_MODEL_SAVE_OPTIMIZER), RECO_OK);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", f->path, again);
    assert_int_equal(system(cmd), 0);
    reco_model_free(m);
    reco_model_free(o);
    reco_model_free(l);
}

static void test_model_io_without_optimizer_resets_it(void **state)
{
    fixture *f = *state;
    reco_model *m = tiny(DIM, 1);
    train(m, f, 2);
    assert_int_equal(reco_model_save(m, f->path, 0), RECO_OK);
    reco_model *l = tiny(DIM, 3);
    train(l, f, 1); /* has optimiser state that the load must clear */
    assert_int_equal(reco_model_load(l, f->path), RECO_OK);
    assert_memory_equal(m->params, l->params, m->lay.n_params * sizeof(float));
    assert_int_equal(l->step, 0);
    for (size_t i = 0; i < l->lay.n_params; i++)
        assert_true(l->adam_m[i] == 0.0f && l->adam_v[i] == 0.0f);
    assert_int_equal(reco_model_save(m, f->path, 0x80), RECO_EINVAL);
    reco_model_free(m);
    reco_model_free(l);
}

/* Train 3 steps, checkpoint, train 2 more; a run resumed from the checkpoint must reach
 * exactly the same parameters. */
static void test_model_io_resume_is_exact(void **state)
{
    fixture *f = *state;
    reco_model *m = tiny(DIM, 1);
    train(m, f, 3);
    assert_int_equal(reco_model_save(m, f->path, RECO_MODEL_SAVE_OPTIMIZER), RECO_OK);
    train(m, f, 2);
    reco_model *r = NULL;
    assert_int_equal(reco_model_open(&r, f->path, NULL), RECO_OK);
    train(r, f, 2);
    assert_same_state(m, r, 1);
    reco_model_free(m);
    reco_model_free(r);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void copy_prefix(const char *src, const char *dst, long n, long flip_at)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    assert_non_null(in);
    assert_non_null(out);
    for (long i = 0; i < n; i++) {
        int c = fgetc(in);
        assert_true(c != EOF);
        if (i == flip_at)
            c ^= 0x10;
        fputc(c, out);
    }
    fclose(in);
    fclose(out);
}

/* Loads `path` into a model and checks that it is refused with `code` and left untouched. */
static void assert_refused(const char *path, int code, const char *needle)
{
    reco_model *m = tiny(DIM, 7);
    float *before = malloc(m->lay.n_params * sizeof(float));
    memcpy(before, m->params, m->lay.n_params * sizeof(float));
    assert_reco_error(reco_model_load(m, path), code, needle);
    assert_memory_equal(before, m->params, m->lay.n_params * sizeof(float));
    assert_int_equal(m->step, 0);
    free(before);
    reco_model_free(m);
    reco_model *o = (reco_model *)(uintptr_t)1;
    assert_int_equal(reco_model_open(&o, path, NULL), code);
    assert_null(o);
}

static void test_model_io_truncated_refused(void **state)
{
    fixture *f = *state;
    reco_model *m = tiny(DIM, 1);
    assert_int_equal(reco_model_save(m, f->path, RECO_MODEL_SAVE_OPTIMIZER), RECO_OK);
    reco_model_free(m);
    const long n = file_size(f->path);
    char bad[160];
    snprintf(bad, sizeof bad, "%s/bad.reco", f->dir);
    const long cuts[] = {0, 7, 8, 39, 40, 100, n / 2, n - 9, n - 8, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        copy_prefix(f->path, bad, cuts[i], -1);
        assert_refused(bad, RECO_EFORMAT, cuts[i] < 8 ? "" : "truncated");
    }
}

static void test_model_io_bit_flips_refused(void **state)
{
    fixture *f = *state;
    reco_model *m = tiny(DIM, 1);
    assert_int_equal(reco_model_save(m, f->path, 0), RECO_OK);
    reco_model_free(m);
    const long n = file_size(f->path);
    char bad[160];
    snprintf(bad, sizeof bad, "%s/flip.reco", f->dir);
    /* header, section headers, parameter data, trailer */
    const long at[] = {0, 9, 20, 30, 40, 70, 200, n / 2, n - 20, n - 6, n - 1};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        copy_prefix(f->path, bad, n, at[i]);
        assert_refused(bad, RECO_EFORMAT, "");
    }
}

static void test_model_io_wrong_version_refused(void **state)
{
    fixture *f = *state;
    reco__writer *w = NULL;
    assert_int_equal(reco__writer_open(&w, NULL, f->path, "RECOMDL1", 3), RECO_OK);
    assert_int_equal(reco__writer_commit(w), RECO_OK);
    assert_refused(f->path, RECO_EVERSION, "format version 3 not supported (1..2)");
}

static void test_model_io_foreign_file_refused(void **state)
{
    fixture *f = *state;
    reco__writer *w = NULL;
    assert_int_equal(reco__writer_open(&w, NULL, f->path, "RECORPL1", 1), RECO_OK);
    assert_int_equal(reco__writer_commit(w), RECO_OK);
    assert_refused(f->path, RECO_EFORMAT, "not a RECOMDL1 file");
    FILE *t = fopen(f->path, "w");
    fputs("experiment:\n  seed: 1\n", t);
    fclose(t);
    assert_refused(f->path, RECO_EFORMAT, "not a RECOMDL1 file");
}

static void test_model_io_wrong_shape_refused(void **state)
{
    fixture *f = *state;
    reco_model *m = tiny(2 * DIM, 1);
    assert_int_equal(reco_model_save(m, f->path, 0), RECO_OK);
    reco_model_free(m);
    reco_model *small = tiny(DIM, 7);
    float before0 = small->params[0];
    assert_reco_error(reco_model_load(small, f->path), RECO_EFORMAT,
                      "dim is 16 in the file but 8 in the model");
    assert_true(small->params[0] == before0);
    reco_model_free(small);

    /* a checksummed file whose params section does not fit its arch */
    uint32_t arch[8] = {NI, DIM, LB, 2, 2, 12, SIG, 0};
    uint64_t seed = 1;
    float hyper[7] = {0.02f, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, 1.0f};
    float few[10] = {0};
    reco__writer *w = NULL;
    const uint32_t arch2[14] = {0, 0, 0, 0, 0, 1}; /* the state term, as the default model */
    assert_int_equal(reco__writer_open(&w, NULL, f->path, "RECOMDL1", 2), RECO_OK);
    assert_int_equal(reco__writer_section(w, "arch", RECO__FILE_U32, arch, 8), RECO_OK);
    assert_int_equal(reco__writer_section(w, "arch2", RECO__FILE_U32, arch2, 14), RECO_OK);
    assert_int_equal(reco__writer_section(w, "seed", RECO__FILE_U64, &seed, 1), RECO_OK);
    assert_int_equal(reco__writer_section(w, "hyper", RECO__FILE_F32, hyper, 7), RECO_OK);
    assert_int_equal(reco__writer_section(w, "params", RECO__FILE_F32, few, 10), RECO_OK);
    assert_int_equal(reco__writer_commit(w), RECO_OK);
    assert_refused(f->path, RECO_EFORMAT, "10 f32 values");

    /* an architecture the library refuses (dim not a multiple of n_heads) */
    arch[1] = 7;
    assert_int_equal(reco__writer_open(&w, NULL, f->path, "RECOMDL1", 1), RECO_OK);
    assert_int_equal(reco__writer_section(w, "arch", RECO__FILE_U32, arch, 8), RECO_OK);
    assert_int_equal(reco__writer_commit(w), RECO_OK);
    reco_model *o = NULL;
    assert_reco_error(reco_model_open(&o, f->path, NULL), RECO_EFORMAT,
                      "the stored architecture is invalid");
    assert_null(o);
}

/* A model with every version-2 input and item features: the round trip is bit-exact (the
 * feature values included), a model without the same inputs refuses the file by name, and
 * scores after the round trip are identical. */
static void test_model_io_v2_inputs_round_trip(void **state)
{
    fixture *f = *state;
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = NI;
    o.dim = DIM;
    o.lookback = LB;
    o.n_signals = SIG;
    o.max_batch = BS;
    o.max_candidates = 8;
    o.position = 1;
    o.elapsed = 1;
    o.long_len = 6;
    o.item_dense_dim = 3;
    o.item_n_fields = 2;
    o.item_field_sizes[0] = 4;
    o.item_field_sizes[1] = 9;
    reco_model *m = NULL;
    assert_int_equal(reco_model_create(&m, &o), RECO_OK);
    float dense[NI * 3];
    int32_t fields[NI * 2];
    for (int i = 0; i < NI; i++) {
        for (int k = 0; k < 3; k++)
            dense[i * 3 + k] = (float)((i * 7 + k) % 5) - 2.0f;
        fields[i * 2] = i % 6 == 0 ? -1 : i % 4;
        fields[i * 2 + 1] = i % 9;
    }
    assert_int_equal(reco_model_set_item_features(m, dense, fields, NI), RECO_OK);
    assert_int_equal(reco_model_save(m, f->path, RECO_MODEL_SAVE_OPTIMIZER), RECO_OK);
    reco_model *back = NULL;
    assert_int_equal(reco_model_open(&back, f->path, NULL), RECO_OK);
    assert_same_state(m, back, 1);
    assert_memory_equal(back->item_dense, dense, sizeof dense);
    assert_memory_equal(back->item_fields, fields, sizeof fields);
    reco_model_options b = RECO_MODEL_OPTIONS_INIT;
    assert_int_equal(reco_model_get_options(&b, back), RECO_OK);
    assert_int_equal(b.long_len, 6);
    assert_int_equal(b.item_field_sizes[1], 9);
    assert_int_equal(b.position, 1);
    assert_int_equal(b.elapsed, 1);
    /* same scores */
    uint32_t steps[BS] = {0, 2, 5, 40};
    float elapsed[BS] = {0.0f, 12.0f, 90.0f, 3600.0f};
    int32_t long_items[BS * 6];
    uint32_t long_fb[BS * 6];
    for (int i = 0; i < BS * 6; i++) {
        long_items[i] = i % 4 == 1 ? RECO_PAD : (i * 11) % NI;
        long_fb[i] = (uint32_t)(i % 8);
    }
    int32_t cand[8] = {0, 6, 12, 18, 24, 30, 36, 42};
    reco_batch bt = f->batch;
    bt.steps = steps;
    bt.elapsed = elapsed;
    bt.long_items = long_items;
    bt.long_feedback = long_fb;
    bt.n_candidates = 8;
    bt.candidates = cand;
    bt.shared_candidates = 1;
    const uint32_t heads[2] = {0, SIG + 1};
    float s1[BS * 2 * 8], s2[BS * 2 * 8];
    assert_int_equal(reco_model_score(s1, m, NULL, &bt, heads, 2), RECO_OK);
    assert_int_equal(reco_model_score(s2, back, NULL, &bt, heads, 2), RECO_OK);
    assert_memory_equal(s1, s2, sizeof s1);
    /* another architecture refuses it, naming what differs */
    o.item_field_sizes[1] = 8;
    reco_model *other = NULL;
    assert_int_equal(reco_model_create(&other, &o), RECO_OK);
    assert_reco_error(reco_model_load(other, f->path), RECO_EFORMAT, "item_field_sizes[1]");
    reco_model_free(other);
    o.item_field_sizes[1] = 9;
    o.long_len = 5;
    assert_int_equal(reco_model_create(&other, &o), RECO_OK);
    assert_reco_error(reco_model_load(other, f->path), RECO_EFORMAT,
                      "long_len is 6 in the file but 5 in the model");
    reco_model_free(other);
    reco_model_free(m);
    reco_model_free(back);
}

/* A format-1 file (0.1: "arch" only, no "arch2") opens as the version-1 architecture: none
 * of the new inputs and no state term, its parameters where they were. */
static void test_model_io_format1_still_loads(void **state)
{
    fixture *f = *state;
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = NI;
    o.dim = DIM;
    o.lookback = LB;
    o.n_signals = SIG;
    o.state_bias = 0;
    reco__model_layout lay;
    assert_int_equal(reco__model_layout_init(&lay, &o), RECO_OK);
    float *params = calloc(lay.n_params, sizeof(float));
    for (size_t i = 0; i < lay.n_params; i++)
        params[i] = 0.001f * (float)(i % 997);
    uint32_t arch[8] = {NI, DIM, LB, 1, 2, 256, SIG, 0};
    uint64_t seed = 3;
    float hyper[7] = {0.02f, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, 1.0f};
    reco__writer *w = NULL;
    assert_int_equal(reco__writer_open(&w, NULL, f->path, "RECOMDL1", 1), RECO_OK);
    assert_int_equal(reco__writer_section(w, "arch", RECO__FILE_U32, arch, 8), RECO_OK);
    assert_int_equal(reco__writer_section(w, "seed", RECO__FILE_U64, &seed, 1), RECO_OK);
    assert_int_equal(reco__writer_section(w, "hyper", RECO__FILE_F32, hyper, 7), RECO_OK);
    assert_int_equal(reco__writer_section(w, "params", RECO__FILE_F32, params, lay.n_params),
                     RECO_OK);
    assert_int_equal(reco__writer_commit(w), RECO_OK);
    reco_model *m = NULL;
    assert_int_equal(reco_model_open(&m, f->path, NULL), RECO_OK);
    reco_model_options got = RECO_MODEL_OPTIONS_INIT;
    assert_int_equal(reco_model_get_options(&got, m), RECO_OK);
    assert_int_equal(got.state_bias, 0);
    assert_int_equal(got.position, 0);
    assert_int_equal(got.long_len, 0);
    assert_int_equal(reco_model_n_params(m), lay.n_params);
    assert_memory_equal(m->params, params, lay.n_params * sizeof(float));
    reco_model_free(m);
    free(params);
}

/* The reliability pass's reproducer: a 6 KB file, valid checksums, whose stored n_items
 * (989,855,743) does not fit its params section. Refused before anything is allocated for
 * it (a counting allocator sees no allocation of more than a few KB). */
typedef struct big_count {
    size_t largest;
} big_count;

static void *big_alloc(void *opaque, size_t size, size_t align)
{
    big_count *c = opaque;
    if (size > c->largest)
        c->largest = size;
    void *p = NULL;
    return posix_memalign(&p, align, size) == 0 ? p : NULL;
}

static void big_free(void *opaque, void *ptr)
{
    (void)opaque;
    free(ptr);
}

static void test_model_io_huge_arch_refused_cheaply(void **state)
{
    (void)state;
    char path[512];
    const char *dir = getenv("RECO_TEST_DATA");
    snprintf(path, sizeof path, "%s/data/model_huge_alloc.bin", dir != NULL ? dir : "tests");
    big_count c = {0};
    reco_allocator a = {RECO_ALLOCATOR_VERSION, big_alloc, big_free, &c};
    reco_model_options rt = RECO_MODEL_OPTIONS_INIT;
    rt.allocator = &a;
    reco_model *m = NULL;
    assert_reco_error(reco_model_open(&m, path, &rt), RECO_EFORMAT, "params");
    assert_null(m);
    assert_true(c.largest < (1u << 20));
}

static void test_model_io_missing_and_unwritable(void **state)
{
    fixture *f = *state;
    char p[200];
    snprintf(p, sizeof p, "%s/none.reco", f->dir);
    assert_refused(p, RECO_EIO, "none.reco");
    reco_model *m = tiny(DIM, 1);
    snprintf(p, sizeof p, "%s/no/such/dir/m.reco", f->dir);
    assert_reco_error(reco_model_save(m, p, 0), RECO_EIO, "m.reco");
    assert_int_equal(reco_model_save(NULL, p, 0), RECO_EINVAL);
    assert_int_equal(reco_model_save(m, NULL, 0), RECO_EINVAL);
    assert_int_equal(reco_model_load(m, NULL), RECO_EINVAL);
    assert_int_equal(reco_model_open(NULL, f->path, NULL), RECO_EINVAL);
    reco_model_free(m);
}

static void test_model_io_open_runtime_overrides(void **state)
{
    fixture *f = *state;
    reco_model *m = tiny(DIM, 1);
    assert_int_equal(reco_model_save(m, f->path, 0), RECO_OK);
    reco_model_options rt = RECO_MODEL_OPTIONS_INIT;
    rt.max_batch = 2;
    rt.max_candidates = 3;
    rt.threads = 2;
    rt.dim = 999; /* ignored: the file's architecture wins */
    reco_model *o = NULL;
    assert_int_equal(reco_model_open(&o, f->path, &rt), RECO_OK);
    reco_model_options got = RECO_MODEL_OPTIONS_INIT;
    reco_model_get_options(&got, o);
    assert_int_equal(got.max_batch, 2);
    assert_int_equal(got.max_candidates, 3);
    assert_int_equal(got.threads, 2);
    assert_int_equal(got.dim, DIM);
    assert_memory_equal(m->params, o->params, m->lay.n_params * sizeof(float));
    reco_model_free(m);
    reco_model_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_model_io_round_trip_bit_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_io_without_optimizer_resets_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_io_resume_is_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_io_truncated_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_io_bit_flips_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_io_wrong_version_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_io_foreign_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_io_wrong_shape_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_io_missing_and_unwritable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_io_open_runtime_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_io_v2_inputs_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_io_format1_still_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_io_huge_arch_refused_cheaply, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
