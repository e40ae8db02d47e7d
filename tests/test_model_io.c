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
    assert_int_equal(reco__writer_open(&w, NULL, f->path, "RECOMDL1", 2), RECO_OK);
    assert_int_equal(reco__writer_commit(w), RECO_OK);
    assert_refused(f->path, RECO_EVERSION, "format version 2 not supported (1..1)");
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
    assert_int_equal(reco__writer_open(&w, NULL, f->path, "RECOMDL1", 1), RECO_OK);
    assert_int_equal(reco__writer_section(w, "arch", RECO__FILE_U32, arch, 8), RECO_OK);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
