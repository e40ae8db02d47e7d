/* reco_qnet checkpoints (lib/qnet_io.c): bit-exact round trips, exact resume of Double DQN
 * training (N updates, save, M more vs open/load + M), and refusal of truncated, bit-flipped,
 * wrong-version, foreign and wrong-architecture files with the handle left untouched.
 * Links the library's objects to compare the parameter blocks and optimiser state. */
#include <sys/stat.h>
#include <unistd.h>

#include "test_common.h"
#include "file_private.h"
#include "model_private.h"

enum { NI = 12, DIM = 8, LB = 4, SIG = 2, BS = 8, NC = 12 };

typedef struct fixture {
    char dir[64];
    char path[128];
    char bad[160];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/reco-qnet-io.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof f->path, "%s/q.reco", f->dir);
    snprintf(f->bad, sizeof f->bad, "%s/bad.reco", f->dir);
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

static reco_model_options tiny_model(uint32_t dim, uint64_t seed)
{
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = NI;
    o.dim = dim;
    o.lookback = LB;
    o.n_blocks = 1;
    o.n_heads = 2;
    o.ffn_dim = 16;
    o.n_signals = SIG;
    o.max_batch = BS;
    o.max_candidates = NC;
    o.init_std = 0.3f;
    o.seed = seed;
    o.lr = 3e-3f;
    return o;
}

/* A Q-network with non-default options (so that the round trip has something to carry). */
static reco_qnet *tiny(uint32_t dim, uint64_t seed, float tau)
{
    reco_model_options mo = tiny_model(dim, seed);
    reco_qnet_options o = RECO_QNET_OPTIONS_INIT;
    o.model = &mo;
    o.gamma = 0.9f;
    o.huber_delta = 0.75f;
    o.target_period = 3;
    o.tau = tau;
    o.priority_eps = 0.01f;
    o.max_abs_q = 5e3f;
    o.max_loss = 7e3f;
    reco_qnet *q = NULL;
    if (reco_qnet_create(&q, &o) != RECO_OK)
        fail_msg("reco_qnet_create: %s", reco_error_message());
    return q;
}

/* Deterministic batches: batch k depends only on k. */
typedef struct tbatch {
    int32_t s_items[BS * LB], n_items[BS * LB], actions[BS], cand[NC];
    uint32_t s_fb[BS * LB], n_fb[BS * LB];
    float rewards[BS], weights[BS];
    uint8_t done[BS];
    reco_qnet_batch b;
} tbatch;

static void make_batch(tbatch *t, uint64_t k)
{
    uint64_t s = 0x9e3779b97f4a7c15ull * (k + 1);
#define NEXT() (s = s * 6364136223846793005ull + 1442695040888963407ull, (uint32_t)(s >> 33))
    for (size_t i = 0; i < BS * LB; i++) {
        t->s_items[i] = (i % LB == 0 && NEXT() % 3 == 0) ? RECO_PAD : (int32_t)(NEXT() % NI);
        t->s_fb[i] = t->s_items[i] == RECO_PAD ? 0 : NEXT() % (1u << SIG);
    }
    for (size_t b = 0; b < BS; b++) {
        t->actions[b] = (int32_t)(NEXT() % NI);
        for (size_t j = 0; j + 1 < LB; j++) {
            t->n_items[b * LB + j] = t->s_items[b * LB + j + 1];
            t->n_fb[b * LB + j] = t->s_fb[b * LB + j + 1];
        }
        t->n_items[b * LB + LB - 1] = t->actions[b];
        t->n_fb[b * LB + LB - 1] = NEXT() % (1u << SIG);
        t->rewards[b] = (float)(NEXT() % 5) * 0.5f;
        t->weights[b] = 0.25f + (float)(NEXT() % 4) * 0.25f;
        t->done[b] = (uint8_t)(NEXT() % 3);
    }
    for (size_t i = 0; i < NC; i++)
        t->cand[i] = (int32_t)(NEXT() % NI);
#undef NEXT
    reco_qnet_batch z = RECO_QNET_BATCH_INIT;
    z.size = BS;
    z.state_items = t->s_items;
    z.state_feedback = t->s_fb;
    z.actions = t->actions;
    z.rewards = t->rewards;
    z.next_items = t->n_items;
    z.next_feedback = t->n_fb;
    z.done = t->done;
    z.weights = t->weights;
    z.n_candidates = NC;
    z.candidates = t->cand;
    z.shared_candidates = 1;
    t->b = z;
}

/* Updates number first..first+n-1 (batch k for update k). */
static void run_updates(reco_qnet *q, uint64_t first, int n)
{
    static tbatch t;
    float prio[BS];
    for (int i = 0; i < n; i++) {
        make_batch(&t, first + (uint64_t)i);
        reco_qnet_update_info info = RECO_QNET_UPDATE_INFO_INIT;
        if (reco_qnet_update(&info, prio, q, &t.b) != RECO_OK)
            fail_msg("reco_qnet_update: %s", reco_error_message());
    }
}

static void assert_same_qnet(const reco_qnet *a, const reco_qnet *b)
{
    const reco_model *ao = reco_qnet_online(a), *bo = reco_qnet_online(b);
    const reco_model *at = reco_qnet_target(a), *bt = reco_qnet_target(b);
    const size_t P = ao->lay.n_params;
    assert_int_equal(P, bo->lay.n_params);
    assert_memory_equal(ao->params, bo->params, P * sizeof(float));
    assert_memory_equal(at->params, bt->params, P * sizeof(float));
    assert_memory_equal(ao->adam_m, bo->adam_m, P * sizeof(float));
    assert_memory_equal(ao->adam_v, bo->adam_v, P * sizeof(float));
    assert_memory_equal(ao->row_step, bo->row_step, ao->N * sizeof(uint64_t));
    assert_int_equal(ao->step, bo->step);
    assert_int_equal(reco_qnet_n_updates(a), reco_qnet_n_updates(b));
    static const reco_qnet_param knobs[] = {RECO_QNET_PARAM_GAMMA, RECO_QNET_PARAM_LR,
                                            RECO_QNET_PARAM_TAU, RECO_QNET_PARAM_HUBER_DELTA};
    for (size_t i = 0; i < sizeof knobs / sizeof knobs[0]; i++) {
        double x = -1.0, y = -2.0;
        assert_int_equal(reco_qnet_get_param(&x, a, knobs[i]), RECO_OK);
        assert_int_equal(reco_qnet_get_param(&y, b, knobs[i]), RECO_OK);
        assert_memory_equal(&x, &y, sizeof x);
    }
}

/* ---- snapshots of a handle, to prove a failed load changed nothing ----------------------- */

typedef struct snap {
    float *on, *tg, *am, *av;
    uint64_t step, n_updates, *rs;
    double knobs[4];
} snap;

static void take(snap *s, const reco_qnet *q)
{
    const reco_model *on = reco_qnet_online(q), *tg = reco_qnet_target(q);
    const size_t P = on->lay.n_params;
    s->on = malloc(P * sizeof(float));
    s->tg = malloc(P * sizeof(float));
    s->am = malloc(P * sizeof(float));
    s->av = malloc(P * sizeof(float));
    s->rs = malloc(on->N * sizeof(uint64_t));
    assert_true(s->on && s->tg && s->am && s->av && s->rs);
    memcpy(s->on, on->params, P * sizeof(float));
    memcpy(s->tg, tg->params, P * sizeof(float));
    memcpy(s->am, on->adam_m, P * sizeof(float));
    memcpy(s->av, on->adam_v, P * sizeof(float));
    memcpy(s->rs, on->row_step, on->N * sizeof(uint64_t));
    s->step = on->step;
    s->n_updates = reco_qnet_n_updates(q);
    for (int k = 0; k < 4; k++)
        assert_int_equal(reco_qnet_get_param(&s->knobs[k], q, (reco_qnet_param)(k + 1)),
                         RECO_OK);
}

static void assert_unchanged(snap *s, const reco_qnet *q)
{
    const reco_model *on = reco_qnet_online(q), *tg = reco_qnet_target(q);
    const size_t P = on->lay.n_params;
    assert_memory_equal(s->on, on->params, P * sizeof(float));
    assert_memory_equal(s->tg, tg->params, P * sizeof(float));
    assert_memory_equal(s->am, on->adam_m, P * sizeof(float));
    assert_memory_equal(s->av, on->adam_v, P * sizeof(float));
    assert_memory_equal(s->rs, on->row_step, on->N * sizeof(uint64_t));
    assert_int_equal(s->step, on->step);
    assert_int_equal(s->n_updates, reco_qnet_n_updates(q));
    for (int k = 0; k < 4; k++) {
        double v = 0.0;
        assert_int_equal(reco_qnet_get_param(&v, q, (reco_qnet_param)(k + 1)), RECO_OK);
        assert_memory_equal(&v, &s->knobs[k], sizeof v);
    }
    free(s->on);
    free(s->tg);
    free(s->am);
    free(s->av);
    free(s->rs);
}

/* ---- file helpers ------------------------------------------------------------------------- */

static long file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (long)st.st_size;
}

/* Copies the first `n` bytes of `src` to `dst`, flipping one bit of byte `flip` (if >= 0). */
static void copy_prefix(const char *src, const char *dst, long n, long flip)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    assert_non_null(in);
    assert_non_null(out);
    for (long i = 0; i < n; i++) {
        int c = fgetc(in);
        assert_true(c != EOF);
        if (i == flip)
            c ^= 0x10;
        fputc(c, out);
    }
    fclose(in);
    fclose(out);
}

/* `path` is refused by reco_qnet_load (handle untouched) and reco_qnet_open. */
static void assert_refused(const char *path, int code, const char *needle)
{
    reco_qnet *q = tiny(DIM, 9, 0.0f);
    run_updates(q, 100, 2);
    snap s;
    take(&s, q);
    assert_reco_error(reco_qnet_load(q, path), code, needle);
    assert_unchanged(&s, q);
    /* still usable */
    run_updates(q, 200, 1);
    reco_qnet_free(q);
    reco_qnet *o = (reco_qnet *)(uintptr_t)1;
    assert_reco_error(reco_qnet_open(&o, path, NULL), code, needle);
    assert_null(o);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_qnet_io_round_trip_bit_exact(void **state)
{
    fixture *f = *state;
    reco_qnet *q = tiny(DIM, 3, 0.0f);
    run_updates(q, 0, 5); /* 5 updates, period 3: one hard sync, target != online */
    assert_int_equal(reco_qnet_set_param(q, RECO_QNET_PARAM_LR, 2e-3), RECO_OK);
    assert_int_equal(reco_qnet_set_param(q, RECO_QNET_PARAM_GAMMA, 0.8), RECO_OK);
    assert_int_equal(reco_qnet_save(q, f->path), RECO_OK);

    reco_qnet *o = NULL;
    assert_int_equal(reco_qnet_open(&o, f->path, NULL), RECO_OK);
    assert_non_null(o);
    assert_same_qnet(q, o);
    const reco_model *a = reco_qnet_online(q), *b = reco_qnet_online(o);
    assert_true(memcmp(a->params, reco_qnet_target(q)->params,
                       a->lay.n_params * sizeof(float)) != 0);
    assert_int_equal(b->opts.max_batch, BS);
    assert_int_equal(b->opts.max_candidates, NC);
    assert_int_equal(b->opts.seed, 3);
    assert_int_equal(reco_qnet_q_head(o), reco_qnet_q_head(q));
    /* no last-good copy after a load */
    assert_reco_error(reco_qnet_restore_last_good(o), RECO_ESTATE, "no last good");

    /* load into a handle of the same architecture, other seed and options */
    reco_qnet *c = tiny(DIM, 11, 0.5f);
    assert_int_equal(reco_qnet_load(c, f->path), RECO_OK);
    assert_same_qnet(q, c);

    /* save of the loaded handle gives the same bytes */
    char again[160];
    snprintf(again, sizeof again, "%s/again.reco", f->dir);
    assert_int_equal(reco_qnet_save(o, again), RECO_OK);
    const long n = file_size(f->path);
    assert_int_equal(n, file_size(again));
    char *x = malloc((size_t)n), *y = malloc((size_t)n);
    FILE *fx = fopen(f->path, "rb"), *fy = fopen(again, "rb");
    assert_int_equal(fread(x, 1, (size_t)n, fx), (size_t)n);
    assert_int_equal(fread(y, 1, (size_t)n, fy), (size_t)n);
    fclose(fx);
    fclose(fy);
    assert_memory_equal(x, y, (size_t)n);
    free(x);
    free(y);
    reco_qnet_free(q);
    reco_qnet_free(o);
    reco_qnet_free(c);
}

static void resume_case(fixture *f, float tau)
{
    enum { N_FIRST = 4, M_MORE = 5 };
    reco_qnet *a = tiny(DIM, 3, tau);
    run_updates(a, 0, N_FIRST);
    assert_int_equal(reco_qnet_save(a, f->path), RECO_OK);
    run_updates(a, N_FIRST, M_MORE);

    reco_qnet *b = NULL;
    assert_int_equal(reco_qnet_open(&b, f->path, NULL), RECO_OK);
    run_updates(b, N_FIRST, M_MORE);
    assert_same_qnet(a, b);

    reco_qnet *c = tiny(DIM, 77, 0.25f); /* other initialisation and options */
    run_updates(c, 50, 2);
    assert_int_equal(reco_qnet_load(c, f->path), RECO_OK);
    run_updates(c, N_FIRST, M_MORE);
    assert_same_qnet(a, c);
    assert_int_equal(reco_qnet_n_updates(c), N_FIRST + M_MORE);
    reco_qnet_free(a);
    reco_qnet_free(b);
    reco_qnet_free(c);
}

static void test_qnet_io_resume_is_exact(void **state)
{
    resume_case(*state, 0.0f);  /* hard sync every 3 updates: crosses a sync after resume */
    resume_case(*state, 0.05f); /* Polyak */
}

static void test_qnet_io_truncated_refused(void **state)
{
    fixture *f = *state;
    reco_qnet *q = tiny(DIM, 1, 0.0f);
    assert_int_equal(reco_qnet_save(q, f->path), RECO_OK);
    reco_qnet_free(q);
    const long n = file_size(f->path);
    const long cuts[] = {0, 7, 8, 39, 40, 100, n / 2, n - 9, n - 8, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        copy_prefix(f->path, f->bad, cuts[i], -1);
        assert_refused(f->bad, RECO_EFORMAT, cuts[i] < 8 ? "" : "truncated");
    }
}

static void test_qnet_io_bit_flips_refused(void **state)
{
    fixture *f = *state;
    reco_qnet *q = tiny(DIM, 1, 0.0f);
    run_updates(q, 0, 1);
    assert_int_equal(reco_qnet_save(q, f->path), RECO_OK);
    reco_qnet_free(q);
    const long n = file_size(f->path);
    const long at[] = {0, 9, 20, 30, 40, 70, 200, 400, n / 3, n / 2, n - 20, n - 6, n - 1};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        copy_prefix(f->path, f->bad, n, at[i]);
        assert_refused(f->bad, RECO_EFORMAT, "");
    }
}

static void test_qnet_io_wrong_version_refused(void **state)
{
    fixture *f = *state;
    reco__writer *w = NULL;
    assert_int_equal(reco__writer_open(&w, NULL, f->path, "RECOQNT1", 3), RECO_OK);
    assert_int_equal(reco__writer_commit(w), RECO_OK);
    assert_refused(f->path, RECO_EVERSION, "format version 3 not supported (1..2)");
}

static void test_qnet_io_foreign_file_refused(void **state)
{
    fixture *f = *state;
    /* a feedback-model checkpoint */
    reco_model_options mo = tiny_model(DIM, 1);
    reco_model *m = NULL;
    assert_int_equal(reco_model_create(&m, &mo), RECO_OK);
    assert_int_equal(reco_model_save(m, f->path, RECO_MODEL_SAVE_OPTIMIZER), RECO_OK);
    reco_model_free(m);
    assert_refused(f->path, RECO_EFORMAT, "not a RECOQNT1 file");
    /* a YAML file */
    FILE *t = fopen(f->path, "w");
    fputs("experiment:\n  seed: 1\n", t);
    fclose(t);
    assert_refused(f->path, RECO_EFORMAT, "not a RECOQNT1 file");
    /* the right magic, but sections missing */
    reco__writer *w = NULL;
    const uint32_t arch[8] = {NI, DIM, LB, 1, 2, 16, SIG, 0};
    assert_int_equal(reco__writer_open(&w, NULL, f->path, "RECOQNT1", 1), RECO_OK);
    assert_int_equal(reco__writer_section(w, "arch", RECO__FILE_U32, arch, 8), RECO_OK);
    assert_int_equal(reco__writer_commit(w), RECO_OK);
    assert_refused(f->path, RECO_EFORMAT, "missing");
}

static void test_qnet_io_wrong_architecture_refused(void **state)
{
    fixture *f = *state;
    reco_qnet *q = tiny(16, 1, 0.0f); /* dim 16 instead of 8 */
    assert_int_equal(reco_qnet_save(q, f->path), RECO_OK);
    reco_qnet_free(q);
    reco_qnet *t = tiny(DIM, 9, 0.0f);
    snap s;
    take(&s, t);
    assert_reco_error(reco_qnet_load(t, f->path), RECO_EFORMAT,
                      "dim is 16 in the file but 8 in the model");
    assert_unchanged(&s, t);
    reco_qnet_free(t);
    /* open adopts the file's architecture */
    reco_qnet *o = NULL;
    assert_int_equal(reco_qnet_open(&o, f->path, NULL), RECO_OK);
    assert_int_equal(reco_qnet_online(o)->d, 16);
    reco_qnet_free(o);
}

/* A Q-network warm-started from a feedback model with item features: the checkpoint keeps
 * the feature values (online and target) and the version-2 architecture. */
static void test_qnet_io_item_features_round_trip(void **state)
{
    fixture *f = *state;
    reco_model_options mo = tiny_model(DIM, 3);
    mo.item_dense_dim = 1;
    mo.item_n_fields = 1;
    mo.item_field_sizes[0] = 3;
    mo.long_len = 2;
    mo.position = 1;
    reco_model *fb = NULL;
    assert_int_equal(reco_model_create(&fb, &mo), RECO_OK);
    const size_t N = mo.n_items;
    float *dense = calloc(N, sizeof(float));
    int32_t *fields = calloc(N, sizeof(int32_t));
    for (size_t i = 0; i < N; i++) {
        dense[i] = 0.25f * (float)(i % 5);
        fields[i] = i % 4 == 3 ? -1 : (int32_t)(i % 3);
    }
    assert_int_equal(reco_model_set_item_features(fb, dense, fields, (uint32_t)N), RECO_OK);
    const float w[SIG] = {0.5f, -0.25f};
    reco_qnet *q = NULL;
    assert_int_equal(reco_qnet_create_warm(&q, fb, w, NULL), RECO_OK);
    assert_int_equal(reco_qnet_save(q, f->path), RECO_OK);
    reco_qnet *back = NULL;
    assert_int_equal(reco_qnet_open(&back, f->path, NULL), RECO_OK);
    const reco_model *on = reco_qnet_online(back), *tg = reco_qnet_target(back);
    assert_memory_equal(on->item_dense, dense, N * sizeof(float));
    assert_memory_equal(tg->item_fields, fields, N * sizeof(int32_t));
    assert_int_equal(on->opts.long_len, 2);
    assert_memory_equal(on->params, reco_qnet_online(q)->params,
                        on->lay.n_params * sizeof(float));
    /* a Q-network without item features refuses the file */
    reco_qnet *plain = tiny(DIM, 9, 0.0f);
    assert_reco_error(reco_qnet_load(plain, f->path), RECO_EFORMAT, "in the file but");
    reco_qnet_free(plain);
    reco_qnet_free(back);
    reco_qnet_free(q);
    reco_model_free(fb);
    free(dense);
    free(fields);
}

/* The reliability pass's reproducer: 25 KB, valid checksums, stored n_items 989,855,743.
 * Refused as a bad file before anything is allocated for the architecture. */
static void test_qnet_io_huge_arch_refused_cheaply(void **state)
{
    (void)state;
    char path[512];
    const char *dir = getenv("RECO_TEST_DATA");
    snprintf(path, sizeof path, "%s/data/qnet_huge_alloc.bin", dir != NULL ? dir : "tests");
    reco_qnet *q = NULL;
    assert_reco_error(reco_qnet_open(&q, path, NULL), RECO_EFORMAT, "online");
    assert_null(q);
}

static void test_qnet_io_errors(void **state)
{
    fixture *f = *state;
    reco_qnet *q = tiny(DIM, 1, 0.0f);
    assert_reco_error(reco_qnet_save(NULL, f->path), RECO_EINVAL, "NULL");
    assert_reco_error(reco_qnet_save(q, NULL), RECO_EINVAL, "NULL");
    assert_reco_error(reco_qnet_load(NULL, f->path), RECO_EINVAL, "NULL");
    assert_reco_error(reco_qnet_load(q, NULL), RECO_EINVAL, "NULL");
    reco_qnet *o = (reco_qnet *)(uintptr_t)1;
    assert_reco_error(reco_qnet_open(NULL, f->path, NULL), RECO_EINVAL, "out is NULL");
    assert_reco_error(reco_qnet_open(&o, NULL, NULL), RECO_EINVAL, "path is NULL");
    assert_null(o);
    /* missing file, unwritable directory */
    char missing[200];
    snprintf(missing, sizeof missing, "%s/none.reco", f->dir);
    assert_reco_error(reco_qnet_load(q, missing), RECO_EIO, "none.reco");
    assert_reco_error(reco_qnet_open(&o, missing, NULL), RECO_EIO, "none.reco");
    snprintf(missing, sizeof missing, "%s/no/such/dir/q.reco", f->dir);
    assert_int_equal(reco_qnet_save(q, missing), RECO_EIO);
    /* bad run-time options */
    assert_int_equal(reco_qnet_save(q, f->path), RECO_OK);
    reco_qnet_options rt = RECO_QNET_OPTIONS_INIT;
    rt.version = 99;
    assert_int_equal(reco_qnet_open(&o, f->path, &rt), RECO_EVERSION);
    assert_null(o);
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    mo.max_batch = 0;
    rt = (reco_qnet_options)RECO_QNET_OPTIONS_INIT;
    rt.model = &mo;
    assert_int_equal(reco_qnet_open(&o, f->path, &rt), RECO_EINVAL);
    assert_null(o);
    /* run-time capacity override */
    mo = (reco_model_options)RECO_MODEL_OPTIONS_INIT;
    mo.max_batch = 3;
    mo.max_candidates = 5;
    assert_int_equal(reco_qnet_open(&o, f->path, &rt), RECO_OK);
    assert_int_equal(reco_qnet_online(o)->opts.max_batch, 3);
    assert_int_equal(reco_qnet_online(o)->opts.max_candidates, 5);
    assert_same_qnet(q, o);
    reco_qnet_free(o);
    reco_qnet_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_qnet_io_round_trip_bit_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qnet_io_resume_is_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qnet_io_truncated_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qnet_io_bit_flips_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qnet_io_wrong_version_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qnet_io_foreign_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qnet_io_wrong_architecture_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_qnet_io_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qnet_io_item_features_round_trip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_qnet_io_huge_arch_refused_cheaply, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
