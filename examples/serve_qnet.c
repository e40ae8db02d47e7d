/* serve_qnet: rank candidates with a trained Q-network, from several threads.
 *
 * Loads a Q-network checkpoint (reco_qnet_save(); a feedback-model checkpoint from
 * reco_model_save() works too, ranked by its last head) and answers ranking requests read as
 * lines on stdin, one response line per request on stdout, in request order. The model is
 * shared read-only by the worker threads; each thread scores through its own reco_workspace
 * (the concurrency that include/reco/model.h allows). --bench measures latency and throughput
 * on synthetic requests instead. Run with --help for the request format. Public API only.
 *
 * A request carries every input the model may take: the recent history and the candidates,
 * then optional fields for the user features, the position in the session, the elapsed
 * seconds and the long-term history (docs/serving.md). */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECO_LAB_API /* the demo model's world, logs and fit are lab API (docs/abi.md) */
#include <reco/reco.h>

#define MAX_THREADS 64

static void usage(FILE *f)
{
    fprintf(f,
        "NAME\n"
        "    serve-qnet - rank candidate items with a trained Q-network, from several threads\n"
        "\n"
        "SYNOPSIS\n"
        "    serve-qnet [--checkpoint FILE] [--save FILE] [--context] [--threads N] [--top K]\n"
        "               [--max-candidates N] [--bench [--requests N] [--candidates N]] [--help]\n"
        "\n"
        "DESCRIPTION\n"
        "    Loads a Q-network checkpoint (written by reco_qnet_save(), e.g. by the Python\n"
        "    binding's QNet.save(); a feedback-model checkpoint from reco_model_save() is\n"
        "    accepted too and ranked by its last head) and answers ranking requests: a user's\n"
        "    recent interactions and a list of candidate ids in, the candidates ranked by\n"
        "    Q-value out. N worker threads share the model read-only, each with its own\n"
        "    scoring workspace; responses come out in the order of the requests. The message\n"
        "    on stderr at start names the request fields the model needs.\n"
        "\n"
        "    Without --checkpoint a model is made on the spot from the built-in world (1000\n"
        "    items): 20000 interactions logged under the popularity policy, a feedback model\n"
        "    fitted for 2 epochs, and a Q-network warm-started from it (Q head = the world's\n"
        "    reward weights over the signal heads), in a few seconds; --save keeps it.\n"
        "\n"
        "REQUEST FORMAT (one request per line on stdin)\n"
        "    HISTORY ';' CANDIDATES [';' FIELD]...\n"
        "    HISTORY is the user's recent interactions, oldest first, separated by spaces:\n"
        "    ITEM or ITEM:BITS, where BITS is the decimal feedback bit set (bit 0 click,\n"
        "    1 long watch, 2 like, 3 hide; default 0); only the last L (the model's lookback)\n"
        "    are used, and it may be empty. CANDIDATES is the space-separated candidate ids.\n"
        "    Each FIELD (any order, each at most once) is a name and its values:\n"
        "      user F1 .. FU      the user's U dense features (finite numbers)\n"
        "      steps N            steps already taken in this session (0 at its first); the\n"
        "                         newest min(N, L) of HISTORY are this session's\n"
        "      elapsed SECONDS    seconds since the session began (finite, >= 0)\n"
        "      long ITEM[:BITS]...  the user's interactions before this session, oldest\n"
        "                         first, as HISTORY (only the last H are used; may be empty)\n"
        "    A field the model takes is required; one it does not take is checked as above\n"
        "    and ignored. A model with none of these inputs takes the two-part request.\n"
        "    Example: '12:3 7 40:1 ; 5 9 13 200 ; steps 2 ; elapsed 41.5 ; long 8:1 99'\n"
        "\n"
        "RESPONSE FORMAT (one line on stdout per request, in request order)\n"
        "    ITEM:SCORE ... ranked by decreasing Q-value (ties by lower id), the first K with\n"
        "    --top K; or 'error: MESSAGE' for a bad request (the server goes on). Empty lines\n"
        "    and lines starting with '#' get no response.\n"
        "\n");
    fprintf(f, /* in two parts: C99 promises string literals of 4095 bytes only */
        "OPTIONS\n"
        "    --checkpoint FILE    Q-network (or model) checkpoint to serve\n"
        "    --save FILE          write the checkpoint made without --checkpoint to FILE\n"
        "    --context            the model made without --checkpoint takes every input:\n"
        "                         user features, steps, elapsed, a long-term history of\n"
        "                         50 and the item features (the world's)\n"
        "    --threads N          worker threads, 1..%d (default 1)\n"
        "    --top K              answer with the best K candidates only (default: all)\n"
        "    --max-candidates N   largest candidate list of a request (default 1000)\n"
        "    --bench              instead of serving stdin, time synthetic requests (random\n"
        "                         history of L interactions, distinct random candidates,\n"
        "                         and random values of the fields the model takes) at\n"
        "                         1 and 2 threads and print JSON: p50/p99 latency of one\n"
        "                         request (scoring + ranking) and of its scoring alone, in\n"
        "                         microseconds, requests per second of all threads\n"
        "                         together (wall clock) and CPU time per request\n"
        "    --requests N         bench requests per thread count (default 20000)\n"
        "    --candidates N       bench candidates per request (default 500)\n"
        "    --help, -h           this text\n"
        "\n"
        "EXIT STATUS\n"
        "    0 at the end of the input (or of the bench), 1 on a library error while loading\n"
        "    or building the model, 2 on a bad command line.\n", MAX_THREADS);
}

/* ---- the model ---------------------------------------------------------------------------- */

typedef struct server {
    reco_qnet *qnet;          /* owner of the model when a Q-network checkpoint was loaded */
    reco_model *own_model;    /* owner when a model checkpoint was loaded or for a fresh one */
    const reco_model *model;  /* what is scored, shared read-only by every thread */
    uint32_t head;            /* the Q head */
    uint32_t lookback, n_items, n_signals, max_candidates;
    /* the inputs beyond the history (reco_model_options version 2): each is a request field
     * that this model requires */
    uint32_t user_dim;        /* U: field "user" */
    int position;             /* field "steps" */
    int elapsed;              /* field "elapsed" */
    uint32_t long_len;        /* H: field "long" */
    unsigned required;        /* the fields above as bits 1 << FIELD_* */
} server;

static int lib_fail(const char *what)
{
    fprintf(stderr, "serve-qnet: %s: %s\n", what, reco_error_message());
    return 1;
}

/* Opens FILE as a Q-network checkpoint, else as a model checkpoint. */
static int open_checkpoint(server *s, const char *path, uint32_t max_candidates)
{
    reco_model_options rt = RECO_MODEL_OPTIONS_INIT;
    rt.max_batch = 1;
    rt.max_candidates = max_candidates;
    reco_qnet_options qo = RECO_QNET_OPTIONS_INIT;
    qo.model = &rt;
    int rc = reco_qnet_open(&s->qnet, path, &qo);
    if (rc == RECO_OK) {
        s->model = reco_qnet_online(s->qnet);
        s->head = reco_qnet_q_head(s->qnet);
        return 0;
    }
    if (rc != RECO_EFORMAT)
        return lib_fail(path);
    if (reco_model_open(&s->own_model, path, &rt) < 0) {
        fprintf(stderr, "serve-qnet: %s is neither a Q-network nor a model checkpoint (%s)\n",
                path, reco_error_message());
        return 1;
    }
    s->model = s->own_model;
    s->head = reco_model_n_heads(s->model) - 1;
    return 0;
}

/* world -> logs -> feedback model -> warm-started Q-network (see --help). With @p context the
 * world carries its users' histories and gives user features, and the model takes them, the
 * session context and the world's item features. */
static int build_fresh(server *s, uint32_t max_candidates, const char *save_path, int context)
{
    reco_world *world = NULL;
    reco_log *log = NULL;
    reco_model *feedback = NULL;
    float *pop = NULL, *item_dense = NULL;
    int32_t *ids = NULL, *item_fields = NULL;
    int rc = 1;
    reco_world_options wo = RECO_WORLD_OPTIONS_INIT;
    wo.n_items = 1000;
    if (context) {
        wo.carry_history = 1;
        wo.user_features = 1;
        wo.long_len = 50;
    }
    if (reco_world_create(&world, &wo) < 0) {
        lib_fail("world");
        goto done;
    }
    pop = malloc(sizeof(float) * wo.n_items);
    ids = malloc(sizeof(int32_t) * wo.n_items);
    item_dense = malloc(sizeof(float) * wo.n_items * RECO_WORLD_ITEM_DENSE);
    item_fields = malloc(sizeof(int32_t) * wo.n_items * RECO_WORLD_ITEM_FIELDS);
    if (pop == NULL || ids == NULL || item_dense == NULL || item_fields == NULL) {
        fprintf(stderr, "serve-qnet: out of memory\n");
        goto done;
    }
    for (uint32_t i = 0; i < wo.n_items; i++)
        ids[i] = (int32_t)i;
    reco_world_item_info(NULL, NULL, NULL, pop, world, ids, wo.n_items);
    reco_env env;
    reco_world_env(&env, world);
    reco_log_policy lp = RECO_LOG_POLICY_INIT;
    lp.kind = RECO_LOG_POLICY_POPULARITY;
    lp.item_weights = pop;
    lp.n_item_weights = wo.n_items;
    /* the pipeline's logging stage (reco_pipeline_logs()): with the user features the
     * service knew at each step */
    reco_pipeline_log_options go = RECO_PIPELINE_LOG_OPTIONS_INIT;
    go.interactions = 20000;
    go.interactions_per_user = 100; /* 200 users */
    go.propensity = 0;
    go.oracle = 0;
    if (reco_pipeline_logs(&log, &env, &lp, &go) < 0) {
        lib_fail("logging");
        goto done;
    }
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    mo.n_items = wo.n_items;
    mo.lookback = wo.lookback;
    mo.dim = 16;
    mo.ffn_dim = 32;
    mo.init_std = 0.1f;
    if (context) {
        mo.user_dim = env.user_dim;
        mo.position = 1;
        mo.elapsed = 1;
        mo.long_len = env.long_len;
        mo.item_dense_dim = RECO_WORLD_ITEM_DENSE;
        mo.item_n_fields = RECO_WORLD_ITEM_FIELDS;
        if (reco_world_item_field_sizes(mo.item_field_sizes, world) < 0 ||
            reco_world_item_features(item_dense, item_fields, world) < 0) {
            lib_fail("item features");
            goto done;
        }
    }
    reco_fit_options fo = RECO_FIT_OPTIONS_INIT;
    fo.epochs = 2;
    fo.lr = 2e-3;
    if (reco_pipeline_fit(&feedback, NULL, log, 0.0, 0, &mo, &fo, context ? item_dense : NULL,
                          context ? item_fields : NULL, wo.n_items) < 0) {
        lib_fail("feedback model");
        goto done;
    }
    const float reward[RECO_WORLD_N_SIGNALS] = {
        (float)wo.reward_click, (float)wo.reward_long_watch, (float)wo.reward_like,
        (float)wo.reward_hide};
    reco_model_options qmo = mo;
    qmo.max_batch = 1;
    qmo.max_candidates = max_candidates;
    reco_qnet_options qo = RECO_QNET_OPTIONS_INIT;
    qo.model = &qmo;
    if (reco_qnet_create_warm(&s->qnet, feedback, reward, &qo) < 0) {
        lib_fail("Q-network");
        goto done;
    }
    if (save_path != NULL && reco_qnet_save(s->qnet, save_path) < 0) {
        lib_fail(save_path);
        goto done;
    }
    s->model = reco_qnet_online(s->qnet);
    s->head = reco_qnet_q_head(s->qnet);
    rc = 0;
done:
    reco_model_free(feedback);
    reco_log_free(log);
    reco_world_free(world);
    free(pop);
    free(ids);
    free(item_dense);
    free(item_fields);
    return rc;
}

/* ---- one request --------------------------------------------------------------------------- */

/* Ranking is a sort of (score, id) pairs: descending score, ties by lower id. Each pair is one
 * 64-bit key that sorts ascending in that order (the float's bits mapped to an order-preserving
 * unsigned integer and complemented, then the id), sorted by an LSD radix sort: at 500
 * candidates it took 13 us where qsort() with a comparison callback took 34 us (p50 in --bench,
 * against 5 us of scoring). */
static uint64_t rank_key(float score, int32_t item)
{
    uint32_t u;
    memcpy(&u, &score, sizeof u);
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u); /* ascending with the float */
    return ((uint64_t)~u << 32) | (uint32_t)item;
}

static void radix_sort(uint64_t *keys, uint64_t *tmp, uint32_t n)
{
    for (int shift = 0; shift < 64; shift += 8) {
        uint32_t count[257] = {0};
        for (uint32_t i = 0; i < n; i++)
            count[((keys[i] >> shift) & 0xFF) + 1]++;
        if (count[((keys[0] >> shift) & 0xFF) + 1] == n)
            continue; /* every key has this byte: nothing to do */
        for (int d = 0; d < 256; d++)
            count[d + 1] += count[d];
        for (uint32_t i = 0; i < n; i++)
            tmp[count[(keys[i] >> shift) & 0xFF]++] = keys[i];
        memcpy(keys, tmp, sizeof(uint64_t) * n);
    }
}

/* Per-thread buffers, sized once: answering a request allocates nothing. */
typedef struct worker {
    const server *s;
    reco_workspace *ws;
    int32_t *items;      /* (L) history */
    uint32_t *feedback;  /* (L) */
    float *user;         /* (U) user features; NULL when U is 0 */
    int32_t *long_items; /* (H) long-term history; NULL when H is 0 */
    uint32_t *long_fb;   /* (H) */
    uint32_t steps;      /* steps already taken in the session */
    float elapsed;       /* seconds since the session began */
    int32_t *cand;       /* (max_candidates) */
    float *scores;       /* (max_candidates) */
    uint64_t *ranked;    /* (max_candidates) rank keys, best first after rank() */
    uint64_t *tmp;       /* (max_candidates) radix sort scratch */
    char *out;           /* response text */
    size_t out_cap;
} worker;

static int worker_init(worker *w, const server *s)
{
    memset(w, 0, sizeof *w);
    w->s = s;
    w->items = malloc(sizeof(int32_t) * s->lookback);
    w->feedback = malloc(sizeof(uint32_t) * s->lookback);
    if (s->user_dim > 0)
        w->user = malloc(sizeof(float) * s->user_dim);
    if (s->long_len > 0) {
        w->long_items = malloc(sizeof(int32_t) * s->long_len);
        w->long_fb = malloc(sizeof(uint32_t) * s->long_len);
    }
    w->cand = malloc(sizeof(int32_t) * s->max_candidates);
    w->scores = malloc(sizeof(float) * s->max_candidates);
    w->ranked = malloc(sizeof(uint64_t) * s->max_candidates);
    w->tmp = malloc(sizeof(uint64_t) * s->max_candidates);
    /* room for every ranked pair, or for the longest error message */
    w->out_cap = 32 * (size_t)s->max_candidates + 1024;
    w->out = malloc(w->out_cap);
    if (!w->items || !w->feedback || (s->user_dim > 0 && !w->user) ||
        (s->long_len > 0 && (!w->long_items || !w->long_fb)) || !w->cand || !w->scores ||
        !w->ranked || !w->tmp || !w->out) {
        fprintf(stderr, "serve-qnet: out of memory\n");
        return -1;
    }
    if (reco_workspace_create(&w->ws, s->model) < 0)
        return lib_fail("workspace");
    return 0;
}

static void worker_free(worker *w)
{
    reco_workspace_free(w->ws);
    free(w->items);
    free(w->feedback);
    free(w->user);
    free(w->long_items);
    free(w->long_fb);
    free(w->cand);
    free(w->scores);
    free(w->ranked);
    free(w->tmp);
    free(w->out);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Scores w->cand[0..nc) for the state in the worker (history, and the inputs the model takes)
 * and sorts them into w->ranked; when @p score_s is not NULL it receives the seconds spent in
 * reco_model_score(). Returns 0, -1 on a library error, 1 if a score is not finite. */
static int rank(worker *w, uint32_t nc, double *score_s)
{
    const server *s = w->s;
    const double t0 = score_s ? now() : 0.0;
    reco_batch b = RECO_BATCH_INIT; /* version 2: the session context */
    b.size = 1;
    b.items = w->items;
    b.feedback = w->feedback;
    b.user_features = s->user_dim > 0 ? w->user : NULL;
    b.n_candidates = nc;
    b.candidates = w->cand;
    b.shared_candidates = 1;
    b.steps = s->position ? &w->steps : NULL;
    b.elapsed = s->elapsed ? &w->elapsed : NULL;
    b.long_items = s->long_len > 0 ? w->long_items : NULL;
    b.long_feedback = s->long_len > 0 ? w->long_fb : NULL;
    if (reco_model_score(w->scores, s->model, w->ws, &b, &s->head, 1) < 0)
        return -1;
    if (score_s)
        *score_s = now() - t0;
    int finite = 1;
    for (uint32_t c = 0; c < nc; c++) {
        finite &= isfinite(w->scores[c]) != 0;
        w->ranked[c] = rank_key(w->scores[c], w->cand[c]);
    }
    if (!finite) /* finite inputs far out of the training range can overflow inside */
        return 1;
    radix_sort(w->ranked, w->tmp, nc);
    return 0;
}

/* ---- parsing a request ---------------------------------------------------------------------
 *
 * The line is split at ';' into sections: the history, the candidates, then the optional
 * fields. Each section is parsed in place between its bounds (no copy, no allocation); a
 * number never spans a ';', so strtoll()/strtod() stop inside their section. Every error
 * names its section; no message echoes the request's bytes. */

/* isspace() of the C locale: ' ' and '\t' '\n' '\v' '\f' '\r' (9..13), in two comparisons. */
static int is_space(char c)
{
    return c == ' ' || (unsigned char)(c - '\t') < 5;
}

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && is_space(*p))
        p++;
    return p;
}

/* The end of the section that starts at @p p: its ';' or the end of the line. */
static const char *section_end(const char *p)
{
    return p + strcspn(p, ";");
}

static int parse_ll(const char **p, long long *out)
{
    char *end;
    errno = 0;
    const long long v = strtoll(*p, &end, 10);
    if (end == *p || errno != 0)
        return -1;
    *p = end;
    *out = v;
    return 0;
}

/* Any number strtod() reads, "nan" and "inf" included: the caller checks the value. An
 * underflow (ERANGE with a tiny value) is a number like any other. */
static int parse_double(const char **p, double *out)
{
    char *end;
    const double v = strtod(*p, &end);
    if (end == *p)
        return -1;
    *p = end;
    *out = v;
    return 0;
}

/* Writes "error: MESSAGE\n" as the response. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void reply_error(worker *w, const char *fmt, ...)
{
    static const char prefix[] = "error: ";
    memcpy(w->out, prefix, sizeof prefix - 1);
    const size_t room = w->out_cap - (sizeof prefix - 1) - 1; /* keep one byte for '\n' */
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(w->out + sizeof prefix - 1, room, fmt, ap);
    va_end(ap);
    size_t len = sizeof prefix - 1 + (n < 0 ? 0 : (size_t)n < room ? (size_t)n : room - 1);
    w->out[len++] = '\n';
    w->out[len] = '\0';
}

static void reverse_window(int32_t *items, uint32_t *fb, uint32_t lo, uint32_t hi)
{
    while (lo + 1 < hi) {
        hi--;
        const int32_t i = items[lo];
        items[lo] = items[hi];
        items[hi] = i;
        const uint32_t f = fb[lo];
        fb[lo] = fb[hi];
        fb[hi] = f;
        lo++;
    }
}

/* Parses "ITEM[:BITS] ..." (oldest first) in [p, end) into a window of @p W slots, newest
 * last, RECO_PAD before the first; of more than W the last W are kept. W == 0 (an input the
 * model does not take) only checks them. Returns 0, or -1 with the error response written. */
static int parse_interactions(worker *w, const char *what, const char *p, const char *end,
                              int32_t *items, uint32_t *fb, uint32_t W)
{
    const server *s = w->s;
    uint64_t n = 0;
    for (;;) {
        p = skip_space(p, end);
        if (p >= end)
            break;
        long long item, bits = 0;
        if (parse_ll(&p, &item) < 0 || item < 0 || item >= (long long)s->n_items) {
            reply_error(w, "%s: an item id in [0, n_items) expected", what);
            return -1;
        }
        if (p < end && *p == ':') {
            p++;
            if (parse_ll(&p, &bits) < 0 || bits < 0 || bits >= (1LL << s->n_signals)) {
                reply_error(w, "%s: feedback bits after ':' out of range", what);
                return -1;
            }
        }
        if (p < end && !is_space(*p)) {
            reply_error(w, "%s: expected ITEM or ITEM:BITS separated by spaces", what);
            return -1;
        }
        if (W > 0) { /* a ring: the newest W stay */
            items[n % W] = (int32_t)item;
            fb[n % W] = (uint32_t)bits;
        }
        n++;
    }
    if (W == 0)
        return 0;
    if (n < W) { /* newest last: move the n interactions to the end of the window */
        memmove(items + (W - n), items, sizeof(int32_t) * n);
        memmove(fb + (W - n), fb, sizeof(uint32_t) * n);
        for (uint32_t t = 0; t < W - n; t++) {
            items[t] = RECO_PAD;
            fb[t] = 0;
        }
    } else { /* rotate the ring left by n % W: its oldest entry first */
        const uint32_t k = (uint32_t)(n % W);
        reverse_window(items, fb, 0, k);
        reverse_window(items, fb, k, W);
        reverse_window(items, fb, 0, W);
    }
    return 0;
}

/* The optional fields, in the order of the missing-field message. */
enum { FIELD_USER, FIELD_STEPS, FIELD_ELAPSED, FIELD_LONG, N_FIELDS };
static const char *const field_names[N_FIELDS] = {"user", "steps", "elapsed", "long"};
#define FIELD_LIST "user, steps, elapsed or long"

/* After a one-value field's value: only spaces to the end of the section. */
static int one_value(worker *w, const char *name, const char *p, const char *end)
{
    if (skip_space(p, end) < end) {
        reply_error(w, "%s: one value expected", name);
        return -1;
    }
    return 0;
}

/* Parses one optional field, "NAME VALUES", in [p, end); @p seen collects the fields given. */
static int parse_field(worker *w, const char *p, const char *end, unsigned *seen)
{
    const server *s = w->s;
    p = skip_space(p, end);
    const char *name = p;
    while (p < end && !is_space(*p))
        p++;
    const size_t len = (size_t)(p - name);
    int f = -1;
    for (int k = 0; k < N_FIELDS; k++)
        if (strlen(field_names[k]) == len && memcmp(field_names[k], name, len) == 0)
            f = k;
    if (len == 0) {
        reply_error(w, "empty field after ';' (expected " FIELD_LIST ")");
        return -1;
    }
    if (f < 0) {
        reply_error(w, "unknown field (expected " FIELD_LIST ")");
        return -1;
    }
    if (*seen & (1u << f)) {
        reply_error(w, "field '%s' given twice", field_names[f]);
        return -1;
    }
    *seen |= 1u << f;
    switch (f) {
    case FIELD_USER: {
        uint32_t n = 0;
        for (;;) {
            p = skip_space(p, end);
            if (p >= end)
                break;
            double v;
            if (parse_double(&p, &v) < 0 || (p < end && !is_space(*p))) {
                reply_error(w, "user: numbers separated by spaces expected");
                return -1;
            }
            if (!isfinite(v) || fabs(v) > FLT_MAX) {
                reply_error(w, "user: feature %u is not a finite number", n + 1);
                return -1;
            }
            if (n < s->user_dim)
                w->user[n] = (float)v;
            if (n < UINT32_MAX)
                n++;
        }
        if (s->user_dim > 0 && n != s->user_dim) {
            reply_error(w, "user: %u value(s), the model takes %u user features", n,
                        s->user_dim);
            return -1;
        }
        return 0;
    }
    case FIELD_STEPS: {
        long long v;
        p = skip_space(p, end);
        if (p >= end || parse_ll(&p, &v) < 0 || v < 0 || v > (long long)UINT32_MAX ||
            (p < end && !is_space(*p))) {
            reply_error(w, "steps: an integer in [0, %u] expected", UINT32_MAX);
            return -1;
        }
        w->steps = (uint32_t)v;
        return one_value(w, "steps", p, end);
    }
    case FIELD_ELAPSED: {
        double v;
        p = skip_space(p, end);
        if (p >= end || parse_double(&p, &v) < 0 || (p < end && !is_space(*p)) ||
            !isfinite(v) || !(v >= 0.0) || v > FLT_MAX) {
            reply_error(w, "elapsed: a finite number of seconds >= 0 expected");
            return -1;
        }
        w->elapsed = (float)v;
        return one_value(w, "elapsed", p, end);
    }
    default:
        return parse_interactions(w, "long", p, end, w->long_items, w->long_fb, s->long_len);
    }
}

/* A field the model takes must be in the request: one message names every one missing,
 * e.g. "missing field 'steps' (the model takes the position in the session: steps N), ...". */
static int check_required(worker *w, unsigned seen)
{
    const server *s = w->s;
    if ((s->required & ~seen) == 0)
        return 0;
    char user[64], hist[96];
    snprintf(user, sizeof user, "%u user features: user F1 .. F%u", s->user_dim, s->user_dim);
    snprintf(hist, sizeof hist, "the last %u interactions before the session: long "
             "ITEM[:BITS] ..., may be empty", s->long_len);
    const char *const what[N_FIELDS] = {
        s->user_dim > 0 ? user : NULL,
        s->position ? "the position in the session: steps N" : NULL,
        s->elapsed ? "the seconds since the session began: elapsed SECONDS" : NULL,
        s->long_len > 0 ? hist : NULL};
    char msg[640]; /* the four messages together fit */
    size_t len = 0;
    for (int f = 0; f < N_FIELDS; f++) {
        if (what[f] == NULL || (seen & (1u << f)))
            continue;
        const int n = snprintf(msg + len, sizeof msg - len, "%smissing field '%s' (the model "
                               "takes %s)", len ? ", " : "", field_names[f], what[f]);
        if (n > 0)
            len = len + (size_t)n < sizeof msg ? len + (size_t)n : sizeof msg - 1;
    }
    reply_error(w, "%s", msg);
    return -1;
}

/* Parses and answers one request line into w->out (NUL-terminated, with '\n'). */
static void answer(worker *w, const char *line, uint32_t top)
{
    const server *s = w->s;
    const char *semi = strchr(line, ';');
    uint32_t nc = 0;
    if (semi == NULL) {
        reply_error(w, "missing ';' between the history and the candidates");
        return;
    }
    if (parse_interactions(w, "history", line, semi, w->items, w->feedback, s->lookback) < 0)
        return;
    const char *p = semi + 1;
    const char *end = section_end(p);
    for (;;) {
        while (p < end && is_space(*p))
            p++;
        if (p >= end)
            break;
        long long item;
        if (parse_ll(&p, &item) < 0 || item < INT32_MIN || item > INT32_MAX ||
            (p < end && !is_space(*p))) {
            reply_error(w, "candidates: integer item ids separated by spaces expected");
            return;
        }
        if (nc == s->max_candidates) {
            reply_error(w, "too many candidates (see --max-candidates)");
            return;
        }
        w->cand[nc++] = (int32_t)item;
    }
    if (nc == 0) {
        reply_error(w, "no candidates");
        return;
    }
    unsigned seen = 0;
    while (*end == ';') {
        p = end + 1;
        end = section_end(p);
        if (parse_field(w, p, end, &seen) < 0)
            return;
    }
    if (check_required(w, seen) < 0)
        return;
    const int rc = rank(w, nc, NULL);
    if (rc < 0) {
        reply_error(w, "%s", reco_error_message());
        return;
    }
    if (rc > 0) {
        reply_error(w, "the model's scores for this state are not finite (an input far out "
                    "of the range it was trained on?)");
        return;
    }
    const uint32_t k = top && top < nc ? top : nc;
    size_t len = 0;
    for (uint32_t c = 0; c < k; c++) {
        const int32_t item = (int32_t)(uint32_t)w->ranked[c];
        uint32_t u = ~(uint32_t)(w->ranked[c] >> 32);
        u = (u & 0x80000000u) ? (u & 0x7FFFFFFFu) : ~u; /* back to the float's bits */
        float score;
        memcpy(&score, &u, sizeof score);
        len += (size_t)snprintf(w->out + len, w->out_cap - len, "%s%d:%.6g", c ? " " : "",
                                item, (double)score);
    }
    snprintf(w->out + len, w->out_cap - len, "\n");
}

/* ---- serving stdin ------------------------------------------------------------------------ */

typedef struct queue {
    pthread_mutex_t in_lock;     /* reading stdin and numbering requests */
    pthread_mutex_t out_lock;    /* writing in request order */
    pthread_cond_t out_turn;
    uint64_t next_in, next_out;
    int eof;
    uint32_t top;
} queue;

typedef struct serve_arg {
    worker w;
    queue *q;
} serve_arg;

static void *serve_thread(void *arg)
{
    serve_arg *a = arg;
    queue *q = a->q;
    char *line = NULL;
    size_t cap = 0;
    for (;;) {
        pthread_mutex_lock(&q->in_lock);
        ssize_t n = -1;
        uint64_t seq = 0;
        while (!q->eof) {
            n = getline(&line, &cap, stdin);
            if (n < 0) {
                q->eof = 1;
                break;
            }
            if (line[0] == '\n' || line[0] == '#' || (line[0] == '\r' && line[1] == '\n'))
                continue;
            seq = q->next_in++;
            break;
        }
        pthread_mutex_unlock(&q->in_lock);
        if (n < 0)
            break;
        answer(&a->w, line, q->top);
        pthread_mutex_lock(&q->out_lock);
        while (q->next_out != seq)
            pthread_cond_wait(&q->out_turn, &q->out_lock);
        fputs(a->w.out, stdout);
        fflush(stdout);
        q->next_out++;
        pthread_cond_broadcast(&q->out_turn);
        pthread_mutex_unlock(&q->out_lock);
    }
    free(line);
    return NULL;
}

static int serve(const server *s, uint32_t n_threads, uint32_t top)
{
    queue q;
    memset(&q, 0, sizeof q);
    q.top = top;
    pthread_mutex_init(&q.in_lock, NULL);
    pthread_mutex_init(&q.out_lock, NULL);
    pthread_cond_init(&q.out_turn, NULL);
    serve_arg args[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    uint32_t started = 0;
    int rc = 0;
    for (uint32_t t = 0; t < n_threads; t++) {
        args[t].q = &q;
        if (worker_init(&args[t].w, s) < 0) {
            worker_free(&args[t].w);
            rc = 1;
            break;
        }
        if (pthread_create(&tid[t], NULL, serve_thread, &args[t]) != 0) {
            fprintf(stderr, "serve-qnet: cannot start a thread\n");
            worker_free(&args[t].w);
            rc = 1;
            break;
        }
        started++;
    }
    for (uint32_t t = 0; t < started; t++) {
        pthread_join(tid[t], NULL);
        worker_free(&args[t].w);
    }
    pthread_cond_destroy(&q.out_turn);
    pthread_mutex_destroy(&q.out_lock);
    pthread_mutex_destroy(&q.in_lock);
    return rc;
}

/* ---- --bench ------------------------------------------------------------------------------- */

typedef struct bench_arg {
    worker w;
    uint32_t n, thread;
    float *lat_us;    /* (n) latency of each request */
    float *score_us;  /* (n) the part of it spent scoring */
    const struct request_pool *pool;
    int failed;
    char error[256];  /* the failure's message (error details are per thread) */
} bench_arg;

/* Synthetic requests, made before the clock starts and cycled through by every thread. */
#define POOL 256

typedef struct request_pool {
    uint32_t n_candidates;
    int32_t *items;      /* (POOL, L) */
    uint32_t *feedback;  /* (POOL, L) */
    int32_t *cand;       /* (POOL, n_candidates) */
    /* the inputs the model takes (NULL for those it does not) */
    float *user;         /* (POOL, U) */
    uint32_t *steps;     /* (POOL) */
    float *elapsed;      /* (POOL) */
    int32_t *long_items; /* (POOL, H) */
    uint32_t *long_fb;   /* (POOL, H) */
} request_pool;

static void pool_free(request_pool *p)
{
    free(p->items);
    free(p->feedback);
    free(p->cand);
    free(p->user);
    free(p->steps);
    free(p->elapsed);
    free(p->long_items);
    free(p->long_fb);
}

static void *bench_thread(void *arg)
{
    bench_arg *a = arg;
    const server *s = a->w.s;
    const request_pool *p = a->pool;
    const uint32_t L = s->lookback, C = p->n_candidates, U = s->user_dim, H = s->long_len;
    for (uint32_t r = 0; r < a->n; r++) {
        const size_t k = (r + 97u * a->thread) % POOL;
        memcpy(a->w.items, p->items + k * L, sizeof(int32_t) * L);
        memcpy(a->w.feedback, p->feedback + k * L, sizeof(uint32_t) * L);
        memcpy(a->w.cand, p->cand + k * C, sizeof(int32_t) * C);
        if (U > 0)
            memcpy(a->w.user, p->user + k * U, sizeof(float) * U);
        if (H > 0) {
            memcpy(a->w.long_items, p->long_items + k * H, sizeof(int32_t) * H);
            memcpy(a->w.long_fb, p->long_fb + k * H, sizeof(uint32_t) * H);
        }
        a->w.steps = p->steps[k];
        a->w.elapsed = p->elapsed[k];
        const double t0 = now();
        double score_s;
        const int rc = rank(&a->w, C, &score_s);
        if (rc != 0) {
            a->failed = 1;
            snprintf(a->error, sizeof a->error, "%s",
                     rc < 0 ? reco_error_message() : "a score is not finite");
            break;
        }
        a->lat_us[r] = (float)((now() - t0) * 1e6);
        a->score_us[r] = (float)(score_s * 1e6);
    }
    return NULL;
}

static int cmp_float(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static int bench(const server *s, uint32_t n_requests, uint32_t n_candidates)
{
    static const uint32_t thread_counts[2] = {1, 2};
    const uint32_t L = s->lookback, U = s->user_dim, H = s->long_len;
    request_pool pool;
    memset(&pool, 0, sizeof pool);
    pool.n_candidates = n_candidates;
    pool.items = malloc(sizeof(int32_t) * POOL * L);
    pool.feedback = malloc(sizeof(uint32_t) * POOL * L);
    pool.cand = malloc(sizeof(int32_t) * POOL * (size_t)n_candidates);
    pool.steps = malloc(sizeof(uint32_t) * POOL);
    pool.elapsed = malloc(sizeof(float) * POOL);
    if (U > 0)
        pool.user = malloc(sizeof(float) * POOL * U);
    if (H > 0) {
        pool.long_items = malloc(sizeof(int32_t) * POOL * H);
        pool.long_fb = malloc(sizeof(uint32_t) * POOL * H);
    }
    uint32_t *pick = malloc(sizeof(uint32_t) * n_candidates);
    float *lat = malloc(sizeof(float) * n_requests);
    float *score = malloc(sizeof(float) * n_requests);
    if (lat == NULL || score == NULL || pick == NULL || pool.items == NULL ||
        pool.feedback == NULL || pool.cand == NULL || pool.steps == NULL ||
        pool.elapsed == NULL || (U > 0 && pool.user == NULL) ||
        (H > 0 && (pool.long_items == NULL || pool.long_fb == NULL))) {
        free(lat);
        free(score);
        free(pick);
        pool_free(&pool);
        fprintf(stderr, "serve-qnet: out of memory\n");
        return 1;
    }
    reco_rng rng;
    reco_rng_seed(&rng, 12345, 0);
    for (size_t k = 0; k < POOL; k++) {
        for (uint32_t t = 0; t < L; t++) {
            pool.items[k * L + t] = (int32_t)reco_rng_below(&rng, s->n_items);
            pool.feedback[k * L + t] = (uint32_t)reco_rng_below(&rng, 1u << s->n_signals);
        }
        reco_rng_sample(pick, &rng, s->n_items, n_candidates);
        for (uint32_t c = 0; c < n_candidates; c++)
            pool.cand[k * n_candidates + c] = (int32_t)pick[c];
        /* a session of up to 50 steps, up to half an hour in, a full long-term history */
        pool.steps[k] = (uint32_t)reco_rng_below(&rng, 50);
        pool.elapsed[k] = (float)reco_rng_below(&rng, 1800);
        for (uint32_t j = 0; j < U; j++)
            pool.user[k * U + j] = (float)reco_rng_below(&rng, 2001) / 1000.0f - 1.0f;
        for (uint32_t j = 0; j < H; j++) {
            pool.long_items[k * H + j] = (int32_t)reco_rng_below(&rng, s->n_items);
            pool.long_fb[k * H + j] = (uint32_t)reco_rng_below(&rng, 1u << s->n_signals);
        }
    }
    printf("{\"candidates\": %u, \"lookback\": %u, \"n_items\": %u, \"user_dim\": %u, "
           "\"position\": %d, \"elapsed\": %d, \"long_len\": %u, \"requests\": %u, "
           "\"results\": [", n_candidates, s->lookback, s->n_items, U, s->position,
           s->elapsed, H, n_requests);
    int rc = 0;
    for (int k = 0; k < 2 && rc == 0; k++) {
        const uint32_t nt = thread_counts[k];
        bench_arg args[2];
        pthread_t tid[2];
        uint32_t done = 0, inited = 0, started = 0;
        for (uint32_t t = 0; t < nt; t++) {
            bench_arg *a = &args[t];
            a->thread = t;
            a->pool = &pool;
            a->n = n_requests / nt + (t < n_requests % nt);
            a->lat_us = lat + done;
            a->score_us = score + done;
            a->failed = 0;
            done += a->n;
            const int ok = worker_init(&a->w, s) == 0;
            inited++;
            if (!ok) {
                rc = 1;
                break;
            }
        }
        struct timespec c0, c1;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
        const double t0 = now();
        for (uint32_t t = 0; rc == 0 && t < nt; t++) {
            if (pthread_create(&tid[t], NULL, bench_thread, &args[t]) != 0) {
                fprintf(stderr, "serve-qnet: cannot start a thread\n");
                rc = 1;
                break;
            }
            started++;
        }
        for (uint32_t t = 0; t < started; t++)
            pthread_join(tid[t], NULL);
        const double wall = now() - t0;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
        const double cpu =
            (double)(c1.tv_sec - c0.tv_sec) + 1e-9 * (double)(c1.tv_nsec - c0.tv_nsec);
        for (uint32_t t = 0; t < started; t++) {
            if (args[t].failed) {
                fprintf(stderr, "serve-qnet: bench: %s\n", args[t].error);
                rc = 1;
            }
        }
        for (uint32_t t = 0; t < inited; t++)
            worker_free(&args[t].w);
        if (rc != 0)
            break;
        qsort(lat, n_requests, sizeof(float), cmp_float);
        qsort(score, n_requests, sizeof(float), cmp_float);
        const size_t i50 = (size_t)(0.50 * (n_requests - 1));
        const size_t i99 = (size_t)(0.99 * (n_requests - 1));
        printf("%s{\"threads\": %u, \"p50_us\": %.1f, \"p99_us\": %.1f, "
               "\"score_p50_us\": %.1f, \"score_p99_us\": %.1f, \"requests_per_s\": %.0f, "
               "\"cpu_us_per_request\": %.1f}",
               k ? ", " : "", nt, (double)lat[i50], (double)lat[i99], (double)score[i50],
               (double)score[i99], (double)n_requests / wall, 1e6 * cpu / n_requests);
        fflush(stdout);
    }
    printf("]}\n");
    free(lat);
    free(score);
    free(pick);
    pool_free(&pool);
    return rc;
}

/* ---- main ----------------------------------------------------------------------------------- */

static int parse_u32(const char *flag, const char *v, uint32_t lo, uint32_t hi, uint32_t *out)
{
    char *end = NULL;
    errno = 0;
    const unsigned long long x = v ? strtoull(v, &end, 10) : 0;
    if (v == NULL || end == v || *end != '\0' || errno != 0 || x < lo || x > hi) {
        fprintf(stderr, "serve-qnet: %s needs an integer in [%u, %u] (see --help)\n", flag, lo,
                hi);
        return -1;
    }
    *out = (uint32_t)x;
    return 0;
}

int main(int argc, char **argv)
{
    const char *checkpoint = NULL, *save_path = NULL;
    uint32_t n_threads = 1, top = 0, max_candidates = 1000, n_requests = 20000;
    uint32_t n_candidates = 500;
    int do_bench = 0, context = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--bench") == 0) {
            do_bench = 1;
            continue;
        } else if (strcmp(a, "--context") == 0) {
            context = 1;
            continue;
        } else if (strcmp(a, "--checkpoint") == 0 || strcmp(a, "--save") == 0) {
            if (v == NULL) {
                fprintf(stderr, "serve-qnet: %s needs a file name (see --help)\n", a);
                return 2;
            }
            *(a[2] == 'c' ? &checkpoint : &save_path) = v;
        } else if (strcmp(a, "--threads") == 0) {
            bad = parse_u32(a, v, 1, MAX_THREADS, &n_threads);
        } else if (strcmp(a, "--top") == 0) {
            bad = parse_u32(a, v, 1, 1u << 20, &top);
        } else if (strcmp(a, "--max-candidates") == 0) {
            bad = parse_u32(a, v, 1, 1u << 20, &max_candidates);
        } else if (strcmp(a, "--requests") == 0) {
            bad = parse_u32(a, v, 1, 100000000, &n_requests);
        } else if (strcmp(a, "--candidates") == 0) {
            bad = parse_u32(a, v, 1, 1u << 20, &n_candidates);
        } else {
            fprintf(stderr, "serve-qnet: unknown argument '%s' (see --help)\n", a);
            return 2;
        }
        if (bad)
            return 2;
        i++;
    }
    if (checkpoint != NULL && (save_path != NULL || context)) {
        fprintf(stderr, "serve-qnet: %s applies only without --checkpoint\n",
                save_path != NULL ? "--save" : "--context");
        return 2;
    }
    if (do_bench && n_candidates > max_candidates)
        max_candidates = n_candidates;

    server s;
    memset(&s, 0, sizeof s);
    const double t0 = now();
    int rc = checkpoint ? open_checkpoint(&s, checkpoint, max_candidates)
                        : build_fresh(&s, max_candidates, save_path, context);
    if (rc == 0) {
        reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
        reco_model_get_options(&mo, s.model);
        s.lookback = mo.lookback;
        s.n_items = mo.n_items;
        s.n_signals = mo.n_signals;
        s.max_candidates = max_candidates;
        s.user_dim = mo.user_dim;
        s.position = mo.position != 0;
        s.elapsed = mo.elapsed != 0;
        s.long_len = mo.long_len;
        s.required = (s.user_dim > 0 ? 1u << FIELD_USER : 0) |
                     (s.position ? 1u << FIELD_STEPS : 0) |
                     (s.elapsed ? 1u << FIELD_ELAPSED : 0) |
                     (s.long_len > 0 ? 1u << FIELD_LONG : 0);
        char user[40] = "", hist[40] = "";
        if (s.user_dim > 0)
            snprintf(user, sizeof user, " user (%u values)", s.user_dim);
        if (s.long_len > 0)
            snprintf(hist, sizeof hist, " long (the last %u used)", s.long_len);
        fprintf(stderr, "serve-qnet: %s: %u items, lookback %u, Q head %u, %u thread(s) "
                "(ready in %.1f s)\n", checkpoint ? checkpoint : "fresh warm-started Q-network",
                s.n_items, s.lookback, s.head, do_bench ? 2 : n_threads, now() - t0);
        fprintf(stderr, "serve-qnet: request fields required:%s%s%s%s\n",
                s.required ? user : " none", s.position ? " steps" : "",
                s.elapsed ? " elapsed" : "", hist);
        if (do_bench && n_candidates > s.n_items) {
            fprintf(stderr, "serve-qnet: --candidates exceeds the catalog (%u items)\n",
                    s.n_items);
            rc = 2;
        } else {
            rc = do_bench ? bench(&s, n_requests, n_candidates) : serve(&s, n_threads, top);
        }
    }
    reco_qnet_free(s.qnet);
    reco_model_free(s.own_model);
    return rc;
}
