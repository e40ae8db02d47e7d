/* serve-qnet end to end (examples/serve_qnet.c): requests in, responses out, through the real
 * program. Its answers must equal reco_model_score() on the same state built here by hand,
 * for a model that takes every input (user features, steps, elapsed, long-term history, item
 * features) and for one that takes none (the two-part request of 0.1); a missing field the
 * model needs and every kind of bad value must be answered with an error line, the server
 * going on to the next request.
 *
 * usage: test_serve PATH-OF-SERVE-QNET (examples/meson.build passes it). Public API only. */
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_common.h"

extern char **environ;

/* The models: small, with large initial weights so that every input moves the scores. */
#define N_ITEMS 60
#define LOOKBACK 5
#define LONG_LEN 4
#define USER_DIM 3
#define MAX_LIST 12 /* interactions of a test request's history or long-term history */
#define MAX_CAND 24

static const char *serve_exe;

typedef struct fixture {
    char dir[64];          /* scratch directory, removed at the end */
    char ctx_model[128];   /* model checkpoint (reco_model_save) with every input */
    char ctx_qnet[128];    /* Q-network checkpoint (reco_qnet_save) warm-started from it */
    char old_qnet[128];    /* Q-network of a version-1 architecture: none of the inputs */
    char req[128], out[128], err[128];
} fixture;

static fixture fx;

/* ---- running the server -------------------------------------------------------------- */

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    const long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Runs `serve-qnet --checkpoint CKPT [EXTRA]` on @p len bytes of @p input; returns its
 * stdout (to free) after checking that it exited with status 0. */
static char *serve_n(const char *ckpt, const char *extra, const char *input, size_t len)
{
    write_file(fx.req, input, len);
    posix_spawn_file_actions_t fa;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, 0, fx.req, O_RDONLY, 0), 0);
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, 1, fx.out,
                                                      O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, 2, fx.err,
                                                      O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
    char checkpoint_flag[] = "--checkpoint";
    char *argv[8] = {(char *)serve_exe, checkpoint_flag, (char *)ckpt, NULL, NULL, NULL};
    char extra_buf[64];
    if (extra != NULL) { /* "--threads 2": two words at most */
        snprintf(extra_buf, sizeof extra_buf, "%s", extra);
        char *sp = strchr(extra_buf, ' ');
        argv[3] = extra_buf;
        if (sp != NULL) {
            *sp = '\0';
            argv[4] = sp + 1;
        }
    }
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, serve_exe, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char *err = read_file(fx.err);
        fail_msg("serve-qnet exited with status 0x%x; stderr:\n%s", status, err);
    }
    return read_file(fx.out);
}

static char *serve(const char *ckpt, const char *extra, const char *input)
{
    return serve_n(ckpt, extra, input, strlen(input));
}

/* Splits @p text into its lines (in place); returns their count. */
static size_t split_lines(char *text, char **lines, size_t max)
{
    size_t n = 0;
    for (char *p = text; *p != '\0';) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl); /* every response ends with a newline */
        *nl = '\0';
        assert_true(n < max);
        lines[n++] = p;
        p = nl + 1;
    }
    return n;
}

/* ---- requests, as text and as a reco_batch built by hand --------------------------------- */

typedef struct request {
    uint32_t n_hist;                    /* the recent history, oldest first */
    int32_t hist[MAX_LIST];
    uint32_t hist_fb[MAX_LIST];
    uint32_t nc;
    int32_t cand[MAX_CAND];
    int has_user, has_steps, has_elapsed, has_long;
    float user[USER_DIM];
    uint32_t steps;
    float elapsed;
    uint32_t n_long;                    /* the long-term history, oldest first */
    int32_t lng[MAX_LIST];
    uint32_t lng_fb[MAX_LIST];
    uint32_t order[4];                  /* the fields' order in the line */
    int tabs;                           /* separate with tabs and double spaces */
} request;

static size_t put(char *buf, size_t cap, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && len + (size_t)n < cap);
    return len + (size_t)n;
}

static size_t put_interactions(char *buf, size_t cap, size_t len, const int32_t *items,
                               const uint32_t *fb, uint32_t n, const char *sep)
{
    for (uint32_t i = 0; i < n; i++)
        len = fb[i] != 0 || i % 3 == 0 ? put(buf, cap, len, "%s%d:%u", sep, items[i], fb[i])
                                      : put(buf, cap, len, "%s%d", sep, items[i]);
    return len;
}

/* The request line (with its '\n'). */
static void format_request(char *buf, size_t cap, const request *r)
{
    const char *sep = r->tabs ? " \t " : " ";
    size_t len = put_interactions(buf, cap, 0, r->hist, r->hist_fb, r->n_hist, sep);
    len = put(buf, cap, len, "%s;", sep);
    for (uint32_t c = 0; c < r->nc; c++)
        len = put(buf, cap, len, "%s%d", sep, r->cand[c]);
    for (int k = 0; k < 4; k++) {
        switch (r->order[k]) {
        case 0:
            if (r->has_user) {
                len = put(buf, cap, len, "%s;%suser", sep, sep);
                for (int j = 0; j < USER_DIM; j++) /* %.9g: the float reads back exactly */
                    len = put(buf, cap, len, "%s%.9g", sep, (double)r->user[j]);
            }
            break;
        case 1:
            if (r->has_steps)
                len = put(buf, cap, len, "%s;%ssteps%s%u", sep, sep, sep, r->steps);
            break;
        case 2:
            if (r->has_elapsed)
                len = put(buf, cap, len, "%s;%selapsed%s%.9g", sep, sep, sep,
                          (double)r->elapsed);
            break;
        default:
            if (r->has_long) {
                len = put(buf, cap, len, "%s;%slong", sep, sep);
                len = put_interactions(buf, cap, len, r->lng, r->lng_fb, r->n_long, sep);
            }
            break;
        }
    }
    put(buf, cap, len, r->tabs ? "\r\n" : "\n");
}

/* The last @p W of @p n interactions into a window of W slots, newest last, pads before. */
static void window(int32_t *items, uint32_t *fb, uint32_t W, const int32_t *src,
                   const uint32_t *src_fb, uint32_t n)
{
    const uint32_t k = n < W ? n : W;
    for (uint32_t t = 0; t < W; t++) {
        items[t] = RECO_PAD;
        fb[t] = 0;
    }
    for (uint32_t j = 0; j < k; j++) {
        items[W - k + j] = src[n - k + j];
        fb[W - k + j] = src_fb[n - k + j];
    }
}

/* reco_model_score() on the request's state: @p batch_version 1 for a model without the
 * session context (the reco_batch of 0.1), 2 otherwise. */
static void reference(float *out, const reco_model *m, uint32_t head, const request *r,
                      unsigned batch_version)
{
    int32_t items[LOOKBACK], lng[LONG_LEN];
    uint32_t fb[LOOKBACK], lng_fb[LONG_LEN];
    window(items, fb, LOOKBACK, r->hist, r->hist_fb, r->n_hist);
    window(lng, lng_fb, LONG_LEN, r->lng, r->lng_fb, r->n_long);
    reco_batch b = RECO_BATCH_INIT;
    b.version = batch_version;
    b.size = 1;
    b.items = items;
    b.feedback = fb;
    b.n_candidates = r->nc;
    b.candidates = r->cand;
    b.shared_candidates = 1;
    if (batch_version >= 2) {
        b.user_features = r->user;
        b.steps = &r->steps;
        b.elapsed = &r->elapsed;
        b.long_items = lng;
        b.long_feedback = lng_fb;
    }
    reco_workspace *ws = NULL;
    assert_int_equal(reco_workspace_create(&ws, m), RECO_OK);
    if (reco_model_score(out, m, ws, &b, &head, 1) != RECO_OK)
        fail_msg("reference: %s", reco_error_message());
    reco_workspace_free(ws);
}

/* A random request; @p context: with every field. */
static void random_request(request *r, reco_rng *rng, int context)
{
    memset(r, 0, sizeof *r);
    r->n_hist = (uint32_t)reco_rng_below(rng, MAX_LIST + 1); /* may exceed LOOKBACK */
    for (uint32_t i = 0; i < r->n_hist; i++) {
        r->hist[i] = (int32_t)reco_rng_below(rng, N_ITEMS);
        r->hist_fb[i] = (uint32_t)reco_rng_below(rng, 16);
    }
    r->nc = 1 + (uint32_t)reco_rng_below(rng, MAX_CAND);
    uint32_t pick[MAX_CAND];
    assert_int_equal(reco_rng_sample(pick, rng, N_ITEMS, r->nc), RECO_OK);
    for (uint32_t c = 0; c < r->nc; c++)
        r->cand[c] = (int32_t)pick[c];
    r->has_user = r->has_steps = r->has_elapsed = r->has_long = context;
    for (int j = 0; j < USER_DIM; j++)
        r->user[j] = (float)(4.0 * reco_rng_uniform(rng) - 2.0);
    /* mostly within the lookback, sometimes far beyond the curve's last knot */
    r->steps = reco_rng_below(rng, 8) == 0 ? (uint32_t)reco_rng_below(rng, 100000)
                                           : (uint32_t)reco_rng_below(rng, 12);
    r->elapsed = reco_rng_below(rng, 6) == 0 ? 0.0f : (float)(3600.0 * reco_rng_uniform(rng));
    r->n_long = (uint32_t)reco_rng_below(rng, MAX_LIST + 1); /* 0: a new user */
    for (uint32_t i = 0; i < r->n_long; i++) {
        r->lng[i] = (int32_t)reco_rng_below(rng, N_ITEMS);
        r->lng_fb[i] = (uint32_t)reco_rng_below(rng, 16);
    }
    uint32_t perm[4];
    assert_int_equal(reco_rng_permutation(perm, rng, 4), RECO_OK);
    memcpy(r->order, perm, sizeof perm);
    r->tabs = reco_rng_below(rng, 4) == 0;
}

/* Checks one response line against the reference scores of the request's candidates: each
 * candidate once, its score equal (to the 6 significant digits printed), best first. */
static void check_ranked(const char *line, const request *r, const float *ref)
{
    if (strncmp(line, "error", 5) == 0)
        fail_msg("expected a ranking, got \"%s\"", line);
    int used[MAX_CAND] = {0};
    uint32_t n = 0;
    double prev = INFINITY;
    for (const char *p = line; *p != '\0';) {
        char *end;
        const long item = strtol(p, &end, 10);
        assert_true(end != p && *end == ':');
        p = end + 1;
        const double score = strtod(p, &end);
        assert_true(end != p && (*end == ' ' || *end == '\0'));
        p = *end == ' ' ? end + 1 : end;
        uint32_t c = 0;
        while (c < r->nc && r->cand[c] != item)
            c++;
        if (c == r->nc || used[c])
            fail_msg("item %ld is not a candidate or comes twice in \"%s\"", item, line);
        used[c] = 1;
        const double tol = 1e-5 * fmax(1.0, fabs((double)ref[c]));
        if (fabs(score - (double)ref[c]) > tol)
            fail_msg("item %ld: served %.9g, reco_model_score %.9g", item, score,
                     (double)ref[c]);
        assert_true(score <= prev);
        prev = score;
        n++;
    }
    assert_int_equal(n, r->nc);
}

/* ---- fixtures ----------------------------------------------------------------------------- */

static void ctx_options(reco_model_options *o)
{
    assert_int_equal(reco_model_options_init(o, RECO_MODEL_OPTIONS_VERSION), RECO_OK);
    o->n_items = N_ITEMS;
    o->dim = 8;
    o->lookback = LOOKBACK;
    o->n_heads = 2;
    o->ffn_dim = 16;
    o->user_dim = USER_DIM;
    o->init_std = 0.5f;
    o->seed = 7;
    o->max_batch = 1;
    o->max_candidates = MAX_CAND;
    o->position = 1;
    o->elapsed = 1;
    o->long_len = LONG_LEN;
    o->item_dense_dim = 2;
    o->item_n_fields = 2;
    o->item_field_sizes[0] = 3;
    o->item_field_sizes[1] = 5;
}

static int group_setup(void **state)
{
    (void)state;
    memset(&fx, 0, sizeof fx);
    const char *tmp = getenv("TMPDIR");
    snprintf(fx.dir, sizeof fx.dir, "%s/test_serve.XXXXXX",
             tmp != NULL && strlen(tmp) < 32 ? tmp : "/tmp");
    if (mkdtemp(fx.dir) == NULL)
        return -1;
    snprintf(fx.ctx_model, sizeof fx.ctx_model, "%s/ctx_model.reco", fx.dir);
    snprintf(fx.ctx_qnet, sizeof fx.ctx_qnet, "%s/ctx_qnet.reco", fx.dir);
    snprintf(fx.old_qnet, sizeof fx.old_qnet, "%s/old_qnet.reco", fx.dir);
    snprintf(fx.req, sizeof fx.req, "%s/requests.txt", fx.dir);
    snprintf(fx.out, sizeof fx.out, "%s/responses.txt", fx.dir);
    snprintf(fx.err, sizeof fx.err, "%s/stderr.txt", fx.dir);

    /* every input on, item features set (they travel in the checkpoint) */
    reco_model_options o;
    ctx_options(&o);
    reco_model *m = NULL;
    reco_qnet *q = NULL;
    float dense[N_ITEMS * 2];
    int32_t fields[N_ITEMS * 2];
    for (int i = 0; i < N_ITEMS; i++) {
        dense[2 * i] = (float)(i % 7) - 3.0f;
        dense[2 * i + 1] = 0.25f * (float)(i % 4);
        fields[2 * i] = i % 11 == 0 ? -1 : i % 3;
        fields[2 * i + 1] = i % 5;
    }
    const float reward[4] = {1.0f, 2.0f, 0.5f, -1.0f};
    reco_qnet_options qo = RECO_QNET_OPTIONS_INIT;
    qo.model = &o;
    int rc = reco_model_create(&m, &o);
    if (rc == RECO_OK)
        rc = reco_model_set_item_features(m, dense, fields, N_ITEMS);
    if (rc == RECO_OK)
        rc = reco_model_save(m, fx.ctx_model, 0);
    if (rc == RECO_OK)
        rc = reco_qnet_create_warm(&q, m, reward, &qo);
    if (rc == RECO_OK)
        rc = reco_qnet_save(q, fx.ctx_qnet);
    reco_qnet_free(q);
    reco_model_free(m);
    q = NULL;
    /* the architecture of 0.1: a version-1 options struct */
    reco_model_options o1;
    if (rc == RECO_OK)
        rc = reco_model_options_init(&o1, 1);
    o1.n_items = N_ITEMS;
    o1.dim = 8;
    o1.lookback = LOOKBACK;
    o1.ffn_dim = 16;
    o1.init_std = 0.5f;
    o1.max_batch = 1;
    o1.max_candidates = MAX_CAND;
    qo.model = &o1;
    if (rc == RECO_OK)
        rc = reco_qnet_create(&q, &qo);
    if (rc == RECO_OK)
        rc = reco_qnet_save(q, fx.old_qnet);
    reco_qnet_free(q);
    if (rc != RECO_OK)
        fprintf(stderr, "test_serve: fixture: %s\n", reco_error_message());
    return rc == RECO_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    const char *files[] = {fx.ctx_model, fx.ctx_qnet, fx.old_qnet, fx.req, fx.out, fx.err};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(files[i]);
    rmdir(fx.dir);
    return 0;
}

/* The model a checkpoint serves and its head, as serve-qnet picks them. */
typedef struct served {
    reco_qnet *q;
    reco_model *own;
    const reco_model *m;
    uint32_t head;
} served;

static void open_served(served *s, const char *path, int is_qnet)
{
    memset(s, 0, sizeof *s);
    reco_model_options rt;
    assert_int_equal(reco_model_options_init(&rt, RECO_MODEL_OPTIONS_VERSION), RECO_OK);
    rt.max_batch = 1;
    rt.max_candidates = MAX_CAND;
    if (is_qnet) {
        reco_qnet_options qo = RECO_QNET_OPTIONS_INIT;
        qo.model = &rt;
        assert_int_equal(reco_qnet_open(&s->q, path, &qo), RECO_OK);
        s->m = reco_qnet_online(s->q);
        s->head = reco_qnet_q_head(s->q);
    } else {
        assert_int_equal(reco_model_open(&s->own, path, &rt), RECO_OK);
        s->m = s->own;
        s->head = reco_model_n_heads(s->m) - 1;
    }
}

static void close_served(served *s)
{
    reco_qnet_free(s->q);
    reco_model_free(s->own);
}

/* ---- tests ---------------------------------------------------------------------------------- */

#define N_REQ 60

/* Random requests with every field, in random order and spacing, against the model and the
 * Q-network checkpoints: each answer equals reco_model_score() on the state built by hand,
 * and two threads answer exactly what one does. */
static void test_serve_context_matches_score(void **state)
{
    (void)state;
    static char input[N_REQ * 1024];
    static request reqs[N_REQ];
    for (int is_qnet = 0; is_qnet < 2; is_qnet++) {
        const char *ckpt = is_qnet ? fx.ctx_qnet : fx.ctx_model;
        reco_rng rng;
        reco_rng_seed(&rng, 2026, (uint64_t)is_qnet);
        size_t len = 0;
        for (int k = 0; k < N_REQ; k++) {
            random_request(&reqs[k], &rng, 1);
            format_request(input + len, sizeof input - len, &reqs[k]);
            len += strlen(input + len);
        }
        char *out = serve(ckpt, NULL, input);
        char *lines[N_REQ + 1];
        assert_int_equal(split_lines(out, lines, N_REQ + 1), N_REQ);
        served s;
        open_served(&s, ckpt, is_qnet);
        for (int k = 0; k < N_REQ; k++) {
            float ref[MAX_CAND];
            reference(ref, s.m, s.head, &reqs[k], 2);
            check_ranked(lines[k], &reqs[k], ref);
        }
        close_served(&s);
        char *out1 = serve(ckpt, NULL, input); /* lines[] split out in place: run again */
        char *out2 = serve(ckpt, "--threads 2", input);
        assert_string_equal(out1, out2);
        free(out);
        free(out1);
        free(out2);
    }
}

/* The scores of the first candidates of a response, in candidate order. */
static void scores_of(float *out, const char *line, const request *r)
{
    for (uint32_t c = 0; c < r->nc; c++) {
        char key[16];
        snprintf(key, sizeof key, "%d:", r->cand[c]);
        const char *p = line;
        while ((p = strstr(p, key)) != NULL && p != line && p[-1] != ' ')
            p++;
        if (p == NULL)
            fail_msg("candidate %d missing from \"%s\"", r->cand[c], line);
        out[c] = strtof(p + strlen(key), NULL);
    }
}

static float max_abs_diff(const float *a, const float *b, uint32_t n)
{
    float d = 0.0f;
    for (uint32_t i = 0; i < n; i++)
        d = fmaxf(d, fabsf(a[i] - b[i]));
    return d;
}

/* Each field is an input: changing steps (which also decides which history slots are this
 * session's), elapsed, the long-term history or the user features changes the scores, the
 * same way reco_model_score() sees it. */
static void test_serve_context_changes_scores(void **state)
{
    (void)state;
    request base;
    reco_rng rng;
    reco_rng_seed(&rng, 99, 0);
    random_request(&base, &rng, 1);
    base.n_hist = 8;
    base.steps = 1;
    base.elapsed = 30.0f;
    base.n_long = 3;
    base.nc = 10;
    for (uint32_t c = 0; c < base.nc; c++)
        base.cand[c] = (int32_t)(5 * c + 1);
    enum { N_VAR = 8 };
    request v[N_VAR];
    for (int k = 0; k < N_VAR; k++)
        v[k] = base;
    v[1].steps = 4;              /* three more slots of the window in this session */
    v[2].steps = 500;            /* far into the session */
    v[3].elapsed = 900.0f;
    v[4].n_long = 0;             /* a new user */
    v[5].lng[2] = (v[5].lng[2] + 1) % N_ITEMS;
    v[5].lng_fb[2] ^= 1u;
    v[6].user[1] += 1.0f;
    v[7].order[0] = base.order[3]; /* the fields' order does not matter */
    v[7].order[3] = base.order[0];
    v[7].tabs = !base.tabs;
    char input[N_VAR * 1024];
    size_t len = 0;
    for (int k = 0; k < N_VAR; k++) {
        format_request(input + len, sizeof input - len, &v[k]);
        len += strlen(input + len);
    }
    char *out = serve(fx.ctx_qnet, NULL, input);
    char *lines[N_VAR + 1];
    assert_int_equal(split_lines(out, lines, N_VAR + 1), N_VAR);
    served s;
    open_served(&s, fx.ctx_qnet, 1);
    float got[N_VAR][MAX_CAND];
    for (int k = 0; k < N_VAR; k++) {
        float ref[MAX_CAND];
        reference(ref, s.m, s.head, &v[k], 2);
        check_ranked(lines[k], &v[k], ref);
        scores_of(got[k], lines[k], &v[k]);
    }
    close_served(&s);
    static const char *const what[N_VAR] = {"", "steps 1 -> 4", "steps 1 -> 500",
                                            "elapsed 30 -> 900", "long history emptied",
                                            "one long interaction changed",
                                            "one user feature changed", ""};
    for (int k = 1; k < N_VAR - 1; k++)
        if (!(max_abs_diff(got[0], got[k], base.nc) > 1e-3f))
            fail_msg("%s: the scores did not change", what[k]);
    assert_string_equal(lines[0], lines[N_VAR - 1]);
    free(out);
}

/* A field the model takes is required: the error names each one missing and what it is. */
static void test_serve_missing_fields(void **state)
{
    (void)state;
    const char *input =
        "1 2:1 ; 3 4\n"                                                  /* 0.1's format */
        "1 2:1 ; 3 4 ; user 0 0 0 ; elapsed 1 ; long\n"                  /* no steps */
        "1 2:1 ; 3 4 ; user 0 0 0 ; steps 1 ; long 5\n"                  /* no elapsed */
        "1 2:1 ; 3 4 ; steps 1 ; elapsed 1 ; long 5\n"                   /* no user */
        "1 2:1 ; 3 4 ; user 0 0 0 ; steps 1 ; elapsed 1\n"               /* no long */
        "1 2:1 ; 3 4 ; user 0 0 0 ; steps 1 ; elapsed 1 ; long\n";       /* all: a new user */
    static const char *const missing[6][4] = {
        {"'user'", "'steps'", "'elapsed'", "'long'"}, {"'steps'"}, {"'elapsed'"}, {"'user'"},
        {"'long'"}, {NULL}};
    static const char *const all[4] = {"'user'", "'steps'", "'elapsed'", "'long'"};
    for (int is_qnet = 0; is_qnet < 2; is_qnet++) {
        char *out = serve(is_qnet ? fx.ctx_qnet : fx.ctx_model, NULL, input);
        char *lines[7];
        assert_int_equal(split_lines(out, lines, 7), 6);
        for (int k = 0; k < 5; k++) {
            if (strncmp(lines[k], "error: missing field ", 21) != 0)
                fail_msg("request %d: expected a missing-field error, got \"%s\"", k, lines[k]);
            for (int f = 0; f < 4; f++) {
                int expected = 0;
                for (int j = 0; j < 4 && missing[k][j] != NULL; j++)
                    expected |= strcmp(missing[k][j], all[f]) == 0;
                if ((strstr(lines[k], all[f]) != NULL) != expected)
                    fail_msg("request %d: \"%s\" %s %s", k, lines[k],
                             expected ? "does not name" : "names", all[f]);
            }
        }
        /* what the model takes, with the sizes */
        assert_non_null(strstr(lines[0], "3 user features"));
        assert_non_null(strstr(lines[0], "the last 4 interactions before the session"));
        assert_non_null(strstr(lines[0], "position in the session"));
        assert_non_null(strstr(lines[0], "seconds since the session began"));
        assert_true(strncmp(lines[5], "error", 5) != 0);
        free(out);
    }
}

/* Every bad value gets an error line naming its field, and the server goes on: the valid
 * request after each one is answered exactly as alone. */
static void test_serve_bad_values(void **state)
{
    (void)state;
    static const struct {
        const char *fields; /* after "3 1:2 ; 4 5 6" */
        const char *needle;
    } bad[] = {
        {"; user 1 2 ; steps 1 ; elapsed 1 ; long", "user: 2 value(s), the model takes 3"},
        {"; user 1 2 3 4 ; steps 1 ; elapsed 1 ; long", "user: 4 value(s)"},
        {"; user 1 nan 3 ; steps 1 ; elapsed 1 ; long", "user: feature 2 is not a finite"},
        {"; user 1 2 -inf ; steps 1 ; elapsed 1 ; long", "user: feature 3 is not a finite"},
        {"; user 1e39 2 3 ; steps 1 ; elapsed 1 ; long", "user: feature 1 is not a finite"},
        {"; user 1,2,3 ; steps 1 ; elapsed 1 ; long", "user: numbers"},
        {"; user 1 x 3 ; steps 1 ; elapsed 1 ; long", "user: numbers"},
        {"; user 1 2 3 ; steps -1 ; elapsed 1 ; long", "steps: an integer"},
        {"; user 1 2 3 ; steps 1.5 ; elapsed 1 ; long", "steps: an integer"},
        {"; user 1 2 3 ; steps 4294967296 ; elapsed 1 ; long", "steps: an integer"},
        {"; user 1 2 3 ; steps 99999999999999999999999 ; elapsed 1 ; long", "steps: an integer"},
        {"; user 1 2 3 ; steps ; elapsed 1 ; long", "steps: an integer"},
        {"; user 1 2 3 ; steps 1 2 ; elapsed 1 ; long", "steps: one value"},
        {"; user 1 2 3 ; steps 1 ; elapsed -0.5 ; long", "elapsed: a finite number"},
        {"; user 1 2 3 ; steps 1 ; elapsed nan ; long", "elapsed: a finite number"},
        {"; user 1 2 3 ; steps 1 ; elapsed inf ; long", "elapsed: a finite number"},
        {"; user 1 2 3 ; steps 1 ; elapsed 1e39 ; long", "elapsed: a finite number"},
        {"; user 1 2 3 ; steps 1 ; elapsed ; long", "elapsed: a finite number"},
        {"; user 1 2 3 ; steps 1 ; elapsed 1 2 ; long", "elapsed: one value"},
        {"; user 1 2 3 ; steps 1 ; elapsed 1 ; long 60", "long: an item id"},
        {"; user 1 2 3 ; steps 1 ; elapsed 1 ; long -1", "long: an item id"},
        {"; user 1 2 3 ; steps 1 ; elapsed 1 ; long 3:16", "long: feedback bits"},
        {"; user 1 2 3 ; steps 1 ; elapsed 1 ; long 3:x", "long: feedback bits"},
        {"; user 1 2 3 ; steps 1 ; elapsed 1 ; long 3x", "long: expected ITEM"},
        {"; user 1 2 3 ; steps 1 ; elapsed 1 ; long 1 ; steps 2", "field 'steps' given twice"},
        {"; user 1 2 3 ; Steps 1 ; elapsed 1 ; long", "unknown field"},
        {"; user 1 2 3 ; steps=1 ; elapsed 1 ; long", "unknown field"},
        {"; user 1 2 3 ; steps 1 ; elapsed 1 ; long ;", "empty field"},
        {"; ; user 1 2 3 ; steps 1 ; elapsed 1 ; long", "empty field"},
    };
    const size_t n_bad = sizeof bad / sizeof bad[0];
    const char *good = "3 1:2 ; 4 5 6 ; user 0.5 -1 2 ; steps 3 ; elapsed 12.5 ; long 7:1 8\n";
    static char input[64 * 1024];
    size_t len = 0;
    for (size_t k = 0; k < n_bad; k++)
        len += (size_t)snprintf(input + len, sizeof input - len, "3 1:2 ; 4 5 6 %s\n%s",
                                bad[k].fields, good);
    /* and garbage: bytes that are no request, no ';', a huge number, a long line */
    const char garbage[] = "\x01\x02\xff\xfe ; \x80\x81\n"
                           ";\n"
                           "\xff;\n"
                           "1 ; 2 ; user \xc3\xa9 ; steps 1\n"
                           "no separator at all\n"
                           "1 ; 184467440737095516160\n"
                           "1 ; 5 1000000 ; user 1 2 3 ; steps 1 ; elapsed 1 ; long\n";
    memcpy(input + len, garbage, sizeof garbage - 1);
    len += sizeof garbage - 1;
    const size_t n_garbage = 7;
    len += (size_t)snprintf(input + len, sizeof input - len, "%s", good);
    /* finite values at the edge of the float range: a ranking of finite scores, or an error
     * (the model may overflow inside), never "nan" */
    len += (size_t)snprintf(input + len, sizeof input - len, "3 ; 4 5 ; user 3e38 -3e38 3e38 "
                            "; steps 4294967295 ; elapsed 3e38 ; long 1 2 3 4 5 6 7 8 9\n");
    /* a line of 200000 characters: many candidates over --max-candidates */
    for (int i = 0; i < 40000 && len + 8 < sizeof input; i++)
        input[len++] = i == 0 ? ';' : (i % 2 ? '7' : ' ');
    assert_true(len < sizeof input - 2);
    input[len++] = '\n';
    char *out = serve_n(fx.ctx_qnet, "--max-candidates 16", input, len);
    char *lines[2 * 64 + 16];
    const size_t n_lines = split_lines(out, lines, sizeof lines / sizeof lines[0]);
    assert_int_equal(n_lines, 2 * n_bad + n_garbage + 3);
    for (size_t k = 0; k < n_bad; k++) {
        const char *e = lines[2 * k];
        if (strncmp(e, "error: ", 7) != 0 || strstr(e, bad[k].needle) == NULL)
            fail_msg("\"%s\": expected an error with \"%s\", got \"%s\"", bad[k].fields,
                     bad[k].needle, e);
        assert_string_equal(lines[2 * k + 1], lines[1]);
    }
    for (size_t k = 0; k < n_garbage; k++)
        if (strncmp(lines[2 * n_bad + k], "error: ", 7) != 0)
            fail_msg("garbage line %zu answered \"%s\"", k, lines[2 * n_bad + k]);
    assert_non_null(strstr(lines[2 * n_bad + 6], "candidate 1000000"));
    assert_string_equal(lines[2 * n_bad + n_garbage], lines[1]);
    const char *edge = lines[2 * n_bad + n_garbage + 1];
    if (strncmp(edge, "error: ", 7) != 0 && (strstr(edge, "nan") || strstr(edge, "inf")))
        fail_msg("scores that are not finite were served: \"%s\"", edge);
    assert_non_null(strstr(lines[n_lines - 1], "too many candidates"));
    /* and the good request is what reco_model_score says */
    request r;
    memset(&r, 0, sizeof r);
    r.n_hist = 2;
    r.hist[0] = 3;
    r.hist[1] = 1;
    r.hist_fb[1] = 2;
    r.nc = 3;
    r.cand[0] = 4;
    r.cand[1] = 5;
    r.cand[2] = 6;
    r.user[0] = 0.5f;
    r.user[1] = -1.0f;
    r.user[2] = 2.0f;
    r.steps = 3;
    r.elapsed = 12.5f;
    r.n_long = 2;
    r.lng[0] = 7;
    r.lng_fb[0] = 1;
    r.lng[1] = 8;
    served s;
    open_served(&s, fx.ctx_qnet, 1);
    float ref[3];
    reference(ref, s.m, s.head, &r, 2);
    check_ranked(lines[1], &r, ref);
    close_served(&s);
    free(out);
}

/* A checkpoint of 0.1's architecture takes 0.1's request and answers what reco_model_score()
 * gives for a version-1 reco_batch. Fields it does not take are checked and ignored. */
static void test_serve_old_format_old_checkpoint(void **state)
{
    (void)state;
    enum { N_OLD = 30 };
    static char input[(N_OLD + 8) * 1024];
    request reqs[N_OLD];
    reco_rng rng;
    reco_rng_seed(&rng, 11, 0);
    size_t len = 0;
    for (int k = 0; k < N_OLD; k++) {
        random_request(&reqs[k], &rng, 0);
        format_request(input + len, sizeof input - len, &reqs[k]);
        len += strlen(input + len);
    }
    /* request 0 again with every field: ignored */
    request with = reqs[0];
    with.has_user = with.has_steps = with.has_elapsed = with.has_long = 1;
    with.steps = 9;
    with.elapsed = 77.0f;
    with.n_long = 2;
    with.user[0] = 3.0f;
    format_request(input + len, sizeof input - len, &with);
    len += strlen(input + len);
    len += (size_t)snprintf(input + len, sizeof input - len,
                            "# a comment, then an empty line: no response\n\n"
                            "1 ; 2 ; user 1 2 3 4 5 6 7\n" /* any length */
                            "1 ; 2 ; steps -1\n"
                            "1 ; 2 ; long 60\n");
    char *out = serve(fx.old_qnet, NULL, input);
    char *lines[N_OLD + 8];
    assert_int_equal(split_lines(out, lines, N_OLD + 8), N_OLD + 4);
    served s;
    open_served(&s, fx.old_qnet, 1);
    for (int k = 0; k < N_OLD; k++) {
        float ref[MAX_CAND];
        reference(ref, s.m, s.head, &reqs[k], 1);
        check_ranked(lines[k], &reqs[k], ref);
    }
    close_served(&s);
    assert_string_equal(lines[N_OLD], lines[0]);
    assert_true(strncmp(lines[N_OLD + 1], "error", 5) != 0);
    assert_non_null(strstr(lines[N_OLD + 2], "error: steps: an integer"));
    assert_non_null(strstr(lines[N_OLD + 3], "error: long: an item id"));
    free(out);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_serve PATH-OF-SERVE-QNET\n");
        return 2;
    }
    serve_exe = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serve_context_matches_score),
        cmocka_unit_test(test_serve_context_changes_scores),
        cmocka_unit_test(test_serve_missing_fields),
        cmocka_unit_test(test_serve_bad_values),
        cmocka_unit_test(test_serve_old_format_old_checkpoint),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
