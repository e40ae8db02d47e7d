/* Built-in policies (random, popularity, model greedy, model head) and the batched session
 * runner (see include/reco/policy.h). Policies allocate everything at creation; choose() and
 * choose_states() never allocate. The runner reads states through lib/state.c, as every
 * loop that plays sessions does. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc_private.h"
#include "env_private.h"
#include "error_private.h"
#include "policy_private.h"
#include "reco/policy.h"
#include "reco/rng.h"

#define MAX_HEADS 64

struct reco_policy_state {
    reco_allocator alloc;
    reco_policy_kind kind;
    reco_rng rng;
    float *weights;      /* popularity: (n_weights) */
    uint32_t n_weights;
    const reco_model *model;
    reco_model_options mo; /* model policies: the model's options, for the env check */
    int needs_context;     /* the model takes the position, elapsed time or long history */
    reco_workspace *ws;
    float w[MAX_HEADS];  /* model greedy: signal weights */
    uint32_t heads[MAX_HEADS];
    uint32_t n_sel;      /* heads scored */
    uint32_t L, U, H, MB, MC; /* H: the model's long_len */
    int32_t *cand;       /* (MB, MC) packed candidates of one chunk */
    float *scores;       /* (MB, n_sel, MC) */
};

int reco_policy_options_init(reco_policy_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_policy_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_POLICY_OPTIONS_VERSION, "reco_policy_options");
    if (rc < 0)
        return rc;
    const reco_policy_options d = RECO_POLICY_OPTIONS_INIT;
    *opts = d;
    opts->version = version;
    return RECO_OK;
}

void reco_policy_free(reco_policy_state *state)
{
    if (state == NULL)
        return;
    reco_allocator a = state->alloc;
    reco_workspace_free(state->ws);
    reco__free(&a, state->weights);
    reco__free(&a, state->cand);
    reco__free(&a, state->scores);
    reco__free(&a, state);
    reco__handle_release();
}

int reco_policy_create(reco_policy_state **out, const reco_policy_options *opts)
{
    static const char fn[] = "reco_policy_create";
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "%s: out is NULL", fn);
    *out = NULL;
    reco_policy_options o = RECO_POLICY_OPTIONS_INIT;
    if (opts != NULL) {
        int rc = reco__check_version(opts->version, RECO_POLICY_OPTIONS_VERSION,
                                     "reco_policy_options");
        if (rc < 0)
            return rc;
        o = *opts;
    }
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    uint32_t n_heads = 0;
    switch (o.kind) {
    case RECO_POLICY_RANDOM:
        break;
    case RECO_POLICY_POPULARITY:
        if (o.item_weights == NULL || o.n_item_weights == 0)
            return reco__error_set(RECO_EINVAL, "%s: the popularity policy needs item_weights "
                                   "and n_item_weights >= 1", fn);
        for (uint32_t i = 0; i < o.n_item_weights; i++)
            if (!isfinite(o.item_weights[i]))
                return reco__error_set(RECO_EINVAL, "%s: item weight %u is not finite", fn, i);
        break;
    case RECO_POLICY_MODEL_GREEDY:
    case RECO_POLICY_MODEL_HEAD:
        if (o.model == NULL)
            return reco__error_set(RECO_EINVAL, "%s: a model policy needs a model", fn);
        reco_model_get_options(&mo, o.model);
        n_heads = reco_model_n_heads(o.model);
        if (n_heads > MAX_HEADS)
            return reco__error_set(RECO_EINVAL, "%s: the model has %u heads; at most %d are "
                                   "supported", fn, n_heads, MAX_HEADS);
        if (o.kind == RECO_POLICY_MODEL_HEAD && o.head >= n_heads)
            return reco__error_set(RECO_EINVAL, "%s: head %u is not below the model's %u heads",
                                   fn, o.head, n_heads);
        if (o.kind == RECO_POLICY_MODEL_GREEDY) {
            if (o.signal_weights == NULL)
                return reco__error_set(RECO_EINVAL, "%s: the model-greedy policy needs "
                                       "signal_weights", fn);
            for (uint32_t f = 0; f < mo.n_signals; f++)
                if (!isfinite(o.signal_weights[f]))
                    return reco__error_set(RECO_EINVAL, "%s: signal weight %u is not finite",
                                           fn, f);
        }
        break;
    default:
        return reco__error_set(RECO_EINVAL, "%s: unknown policy kind %d", fn, (int)o.kind);
    }
    reco_allocator a;
    int rc = reco__allocator_resolve(&a, o.allocator);
    if (rc < 0)
        return rc;
    reco_policy_state *s = reco__calloc(&a, 1, sizeof *s);
    if (s == NULL)
        return RECO_ENOMEM;
    reco__handle_acquire(); /* balanced by reco_policy_free, also on failure below */
    s->alloc = a;
    s->kind = o.kind;
    reco_rng_seed(&s->rng, o.seed, 0x706f6c6963790001ULL);
    if (o.kind == RECO_POLICY_POPULARITY) {
        s->n_weights = o.n_item_weights;
        s->weights = reco__calloc(&a, o.n_item_weights, sizeof(float));
        if (s->weights == NULL) {
            reco_policy_free(s);
            return RECO_ENOMEM;
        }
        memcpy(s->weights, o.item_weights, (size_t)o.n_item_weights * sizeof(float));
    } else if (o.kind == RECO_POLICY_MODEL_GREEDY || o.kind == RECO_POLICY_MODEL_HEAD) {
        s->model = o.model;
        s->mo = mo;
        s->mo.allocator = NULL; /* borrowed at creation only; never read again */
        s->needs_context = mo.position || mo.elapsed || mo.long_len > 0;
        s->L = mo.lookback;
        s->U = mo.user_dim;
        s->H = mo.long_len;
        s->MB = mo.max_batch;
        s->MC = mo.max_candidates;
        if (o.kind == RECO_POLICY_MODEL_GREEDY) {
            s->n_sel = mo.n_signals;
            for (uint32_t f = 0; f < mo.n_signals; f++) {
                s->heads[f] = f;
                s->w[f] = o.signal_weights[f];
            }
        } else {
            s->n_sel = 1;
            s->heads[0] = o.head;
        }
        if ((rc = reco_workspace_create(&s->ws, o.model)) < 0) {
            reco_policy_free(s);
            return rc;
        }
        s->cand = reco__calloc(&a, (size_t)s->MB * s->MC, sizeof(int32_t));
        s->scores = reco__calloc(&a, (size_t)s->MB * s->MC * s->n_sel, sizeof(float));
        if (s->cand == NULL || s->scores == NULL) {
            reco_policy_free(s);
            return RECO_ENOMEM;
        }
    }
    *out = s;
    return RECO_OK;
}

static int check_common(const int32_t *candidates, const uint32_t *counts, uint32_t *index_out,
                        uint32_t max_candidates, uint32_t n, const char *fn)
{
    if (index_out == NULL || candidates == NULL || counts == NULL)
        return reco__error_set(RECO_EINVAL, "%s: NULL argument", fn);
    for (uint32_t i = 0; i < n; i++)
        if (counts[i] == 0 || counts[i] > max_candidates)
            return reco__error_set(RECO_EINVAL, "%s: row %u has %u candidates (need 1..%u)", fn,
                                   i, counts[i], max_candidates);
    return RECO_OK;
}

/* The checks of a choose_states() call; `stride_out` receives the candidates' row stride
 * (0 for one shared list). */
static int check_states(size_t *stride_out, const reco_batch *states, const uint32_t *counts,
                        uint32_t *index_out, const char *fn)
{
    if (states == NULL)
        return reco__error_set(RECO_EINVAL, "%s: NULL states", fn);
    int rc = reco__check_version(states->version, RECO_BATCH_VERSION, "reco_batch");
    if (rc < 0)
        return rc;
    *stride_out = states->shared_candidates ? 0 : states->n_candidates;
    return check_common(states->candidates, counts, index_out, states->n_candidates,
                        states->size, fn);
}

static int choose_random(uint32_t *index_out, const int32_t *items, const uint32_t *feedback,
                         const float *features, const int32_t *candidates,
                         const uint32_t *counts, uint32_t max_candidates, uint32_t n,
                         void *payload)
{
    (void)items, (void)feedback, (void)features;
    reco_policy_state *s = payload;
    int rc = check_common(candidates, counts, index_out, max_candidates, n, "random policy");
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < n; i++)
        index_out[i] = (uint32_t)reco_rng_below(&s->rng, counts[i]);
    return RECO_OK;
}

static int choose_popularity(uint32_t *index_out, const int32_t *items,
                             const uint32_t *feedback, const float *features,
                             const int32_t *candidates, const uint32_t *counts,
                             uint32_t max_candidates, uint32_t n, void *payload)
{
    (void)items, (void)feedback, (void)features;
    static const char fn[] = "popularity policy";
    reco_policy_state *s = payload;
    int rc = check_common(candidates, counts, index_out, max_candidates, n, fn);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        const int32_t *c = candidates + (size_t)i * max_candidates;
        uint32_t best = 0;
        float bw = 0.0f;
        for (uint32_t j = 0; j < counts[i]; j++) {
            if (c[j] < 0 || (uint32_t)c[j] >= s->n_weights)
                return reco__error_set(RECO_EINVAL, "%s: candidate %d (row %u) has no weight "
                                       "(%u weights)", fn, c[j], i, s->n_weights);
            if (j == 0 || s->weights[c[j]] > bw) {
                bw = s->weights[c[j]];
                best = j;
            }
        }
        index_out[i] = best;
    }
    return RECO_OK;
}

static float sigmoid(float z)
{
    return z >= 0 ? 1.0f / (1.0f + expf(-z)) : expf(z) / (1.0f + expf(z));
}

/* The state inputs of n rows, each in the model's widths: (n, L), (n, L), (n, U), (n), (n),
 * (n, H), (n, H); the context ones may be NULL (the model then refuses if it needs them). */
typedef struct state_rows {
    const int32_t *items;
    const uint32_t *fb;
    const float *feat;
    const uint32_t *steps;
    const float *elapsed;
    const int32_t *long_items;
    const uint32_t *long_fb;
} state_rows;

/* Scores rows of candidates `stride` apart (0: one shared row) in chunks of max_batch rows
 * and takes each row's argmax. */
static int pick_model(uint32_t *index_out, reco_policy_state *s, const state_rows *r,
                      const int32_t *candidates, size_t stride, const uint32_t *counts,
                      uint32_t n, const char *fn)
{
    if (r->items == NULL || r->fb == NULL || (s->U > 0 && r->feat == NULL))
        return reco__error_set(RECO_EINVAL, "%s: NULL state", fn);
    for (uint32_t i = 0; i < n; i++)
        if (counts[i] > s->MC)
            return reco__error_set(RECO_EINVAL, "%s: row %u has %u candidates; the model takes "
                                   "at most %u", fn, i, counts[i], s->MC);
    const size_t L = s->L, U = s->U, H = s->H, K = s->n_sel;
    int rc;
    for (uint32_t i0 = 0; i0 < n; i0 += s->MB) {
        const uint32_t k = n - i0 < s->MB ? n - i0 : s->MB;
        uint32_t C = 1;
        for (uint32_t b = 0; b < k; b++)
            if (counts[i0 + b] > C)
                C = counts[i0 + b];
        /* pack rows to a common width C, padding short rows with their first candidate */
        for (uint32_t b = 0; b < k; b++) {
            const int32_t *src = candidates + (size_t)(i0 + b) * stride;
            int32_t *dst = s->cand + (size_t)b * C;
            memcpy(dst, src, counts[i0 + b] * sizeof(int32_t));
            for (uint32_t j = counts[i0 + b]; j < C; j++)
                dst[j] = src[0];
        }
        reco_batch batch = RECO_BATCH_INIT;
        batch.size = k;
        batch.items = r->items + (size_t)i0 * L;
        batch.feedback = r->fb + (size_t)i0 * L;
        batch.user_features = U > 0 ? r->feat + (size_t)i0 * U : NULL;
        batch.n_candidates = C;
        batch.candidates = s->cand;
        batch.steps = r->steps != NULL ? r->steps + i0 : NULL;
        batch.elapsed = r->elapsed != NULL ? r->elapsed + i0 : NULL;
        batch.long_items = H > 0 && r->long_items != NULL ? r->long_items + (size_t)i0 * H
                                                          : NULL;
        batch.long_feedback = H > 0 && r->long_fb != NULL ? r->long_fb + (size_t)i0 * H : NULL;
        if ((rc = reco_model_score(s->scores, s->model, s->ws, &batch, s->heads,
                                   (uint32_t)K)) < 0)
            return rc;
        for (uint32_t b = 0; b < k; b++) {
            const float *sc = s->scores + (size_t)b * K * C;
            uint32_t best = 0;
            float bv = -INFINITY;
            for (uint32_t j = 0; j < counts[i0 + b]; j++) {
                float v;
                if (s->kind == RECO_POLICY_MODEL_HEAD) {
                    v = sc[j];
                } else {
                    v = 0.0f;
                    for (size_t f = 0; f < K; f++)
                        v += s->w[f] * sigmoid(sc[f * C + j]);
                }
                if (j == 0 || v > bv) {
                    bv = v;
                    best = j;
                }
            }
            index_out[i0 + b] = best;
        }
    }
    return RECO_OK;
}

/* Version-1 entry: no session context reaches it, so a model that takes one is refused
 * rather than fed a guess (steps 0 would read every history slot as this session's). */
static int choose_model(uint32_t *index_out, const int32_t *items, const uint32_t *feedback,
                        const float *features, const int32_t *candidates, const uint32_t *counts,
                        uint32_t max_candidates, uint32_t n, void *payload)
{
    static const char fn[] = "model policy";
    reco_policy_state *s = payload;
    int rc = check_common(candidates, counts, index_out, max_candidates, n, fn);
    if (rc < 0)
        return rc;
    if (s->needs_context)
        return reco__error_set(RECO_EINVAL, "%s: the model takes the session context (%s), "
                               "which choose() does not receive; call choose_states() (a "
                               "version-2 reco_policy)", fn,
                               s->mo.position ? "position" : s->mo.elapsed ? "elapsed time"
                                                                           : "long-term history");
    const state_rows r = {items, feedback, features, NULL, NULL, NULL, NULL};
    return pick_model(index_out, s, &r, candidates, max_candidates, counts, n, fn);
}

static int choose_states_model(uint32_t *index_out, const reco_batch *states,
                               const uint32_t *counts, void *payload)
{
    static const char fn[] = "model policy";
    size_t stride = 0;
    int rc = check_states(&stride, states, counts, index_out, fn);
    if (rc < 0)
        return rc;
    state_rows r = {states->items, states->feedback, states->user_features, NULL, NULL, NULL,
                    NULL};
    if (states->version >= 2) {
        r.steps = states->steps;
        r.elapsed = states->elapsed;
        r.long_items = states->long_items;
        r.long_fb = states->long_feedback;
    }
    return pick_model(index_out, payload, &r, states->candidates, stride, counts, states->size,
                      fn);
}

int reco_policy_get(reco_policy *out, reco_policy_state *state)
{
    if (out == NULL || state == NULL)
        return reco__error_set(RECO_EINVAL, "reco_policy_get: NULL argument");
    memset(out, 0, sizeof *out);
    out->version = RECO_POLICY_VERSION;
    out->payload = state;
    switch (state->kind) {
    case RECO_POLICY_RANDOM:
        out->name = "random";
        out->choose = choose_random; /* reads no state: no choose_states() */
        break;
    case RECO_POLICY_POPULARITY:
        out->name = "popularity";
        out->choose = choose_popularity;
        break;
    default:
        out->name = state->kind == RECO_POLICY_MODEL_HEAD ? "model-head" : "model-greedy";
        out->choose = choose_model;
        out->choose_states = choose_states_model;
        out->lookback = state->L;
        out->user_dim = state->U;
        break;
    }
    return RECO_OK;
}

int reco__policy_check(const reco_policy *policy, const reco_env *env, const char *fn,
                       const char *who)
{
    if (policy->version < 1 || policy->version > RECO_POLICY_VERSION || policy->choose == NULL)
        return reco__error_set(RECO_EINVAL, "%s: %s is not a valid reco_policy (version or "
                               "callback)", fn, who);
    if ((policy->lookback != 0 && policy->lookback != env->lookback) ||
        (policy->user_dim != 0 && policy->user_dim != env->user_dim))
        return reco__error_set(RECO_EINVAL, "%s: %s expects lookback %u and user_dim %u; the "
                               "env has %u and %u", fn, who, policy->lookback,
                               policy->user_dim, env->lookback, env->user_dim);
    /* A built-in model policy (recognised by its callback) names its model: check the model
     * itself, whose long-term history and context are not in the reco_policy struct. */
    if (policy->choose != choose_model)
        return RECO_OK;
    const reco_policy_state *s = policy->payload;
    reco_model_options mo = s->mo;
    /* A model without user features reads none: it plays in an env that has them, as the
     * struct's user_dim of 0 says (and as in 0.1). */
    if (mo.user_dim == 0)
        mo.user_dim = env->user_dim;
    char prefix[160];
    snprintf(prefix, sizeof prefix, "%s: %s", fn, who);
    int rc = reco__states_check_model(env, &mo, prefix);
    if (rc < 0)
        return rc;
    if (s->needs_context && (policy->version < 2 || policy->choose_states == NULL))
        return reco__error_set(RECO_EINVAL, "%s: %s is a model policy whose model takes the "
                               "session context, but the struct is version %u without "
                               "choose_states(), and choose() does not receive the context",
                               fn, who, policy->version);
    return RECO_OK;
}

/* ---- the runner ------------------------------------------------------------------------ */

int reco_run_options_init(reco_run_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_run_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_RUN_OPTIONS_VERSION, "reco_run_options");
    if (rc < 0)
        return rc;
    const reco_run_options d = RECO_RUN_OPTIONS_INIT;
    *opts = d;
    opts->version = version;
    return RECO_OK;
}

typedef struct run_bufs {
    uint32_t *sess, *len, *act, *reset_slots, *idx, *counts, *fb;
    uint32_t *known; /* (P) steps of each running row, for envs without context() */
    uint64_t *reset_users;
    int32_t *cand, *shown;
    float *reward;
    int *done;
    reco_run_step *rec;
} run_bufs;

int reco_run_sessions(reco_run_stats *out, uint32_t *depth_out, float *return_out,
                      const reco_env *env, const reco_policy *policy, const uint64_t *users,
                      uint32_t n_users, const reco_run_options *opts)
{
    uint64_t cb_gen = 0; /* reco__error_generation() before each callback */
    static const char fn[] = "reco_run_sessions";
    if (env == NULL || policy == NULL || users == NULL)
        return reco__error_set(RECO_EINVAL, "%s: NULL env, policy or users", fn);
    if (out != NULL && (out->version < 1 || out->version > RECO_RUN_STATS_VERSION))
        return reco__error_set(RECO_EVERSION, "%s: reco_run_stats version %u is not in [1, %d]",
                               fn, out->version, RECO_RUN_STATS_VERSION);
    if (n_users == 0)
        return reco__error_set(RECO_EINVAL, "%s: n_users is 0", fn);
    reco_run_options o = RECO_RUN_OPTIONS_INIT;
    if (opts != NULL) {
        int rc = reco__check_version(opts->version, RECO_RUN_OPTIONS_VERSION,
                                     "reco_run_options");
        if (rc < 0)
            return rc;
        o = *opts;
    }
    int env_rc = reco__check_session_env(env, fn);
    if (env_rc < 0)
        return env_rc;
    if ((env_rc = reco__policy_check(policy, env, fn, "the policy")) < 0)
        return env_rc;
    if (o.max_candidates < 1 || o.max_candidates > (1u << 20))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "run.max_candidates",
                                  "%u is out of range [1, 1048576]", o.max_candidates);
    if (o.max_steps < 1 || o.max_steps > (1u << 31))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "run.max_steps",
                                  "%u is out of range [1, 2^31]", o.max_steps);
    uint32_t P = o.parallel == 0 || o.parallel > env->max_sessions ? env->max_sessions
                                                                    : o.parallel;
    if (P > n_users)
        P = n_users;
    reco_allocator a;
    int rc = reco__allocator_resolve(&a, o.allocator);
    if (rc < 0)
        return rc;
    const size_t C = o.max_candidates;
    run_bufs b;
    memset(&b, 0, sizeof b);
    reco__states sts;
    if ((rc = reco__states_init(&sts, &a, env, P)) < 0)
        return rc;
    b.sess = reco__calloc(&a, P, sizeof(uint32_t));
    b.len = reco__calloc(&a, P, sizeof(uint32_t));
    b.act = reco__calloc(&a, P, sizeof(uint32_t));
    b.reset_slots = reco__calloc(&a, P, sizeof(uint32_t));
    b.reset_users = reco__calloc(&a, P, sizeof(uint64_t));
    b.idx = reco__calloc(&a, P, sizeof(uint32_t));
    b.counts = reco__calloc(&a, P, sizeof(uint32_t));
    b.fb = reco__calloc(&a, P, sizeof(uint32_t));
    b.known = reco__calloc(&a, P, sizeof(uint32_t));
    b.cand = reco__calloc(&a, (size_t)P * C, sizeof(int32_t));
    b.shown = reco__calloc(&a, P, sizeof(int32_t));
    b.reward = reco__calloc(&a, P, sizeof(float));
    b.done = reco__calloc(&a, P, sizeof(int));
    b.rec = reco__calloc(&a, P, sizeof(reco_run_step));
    reco_run_stats st = RECO_RUN_STATS_INIT;
    st.n_signals = env->n_signals;
    const uint32_t nf = env->n_signals < RECO_RUN_MAX_SIGNALS ? env->n_signals
                                                              : RECO_RUN_MAX_SIGNALS;
    if (b.sess == NULL || b.len == NULL || b.act == NULL ||
        b.reset_slots == NULL || b.reset_users == NULL || b.idx == NULL || b.counts == NULL ||
        b.fb == NULL || b.known == NULL || b.cand == NULL || b.shown == NULL ||
        b.reward == NULL || b.done == NULL || b.rec == NULL) {
        rc = RECO_ENOMEM;
        goto done;
    }
    /* start the first P sessions in slots 0 .. P-1 */
    uint32_t next = 0, n_act = 0;
    for (uint32_t p = 0; p < P; p++) {
        b.act[p] = p;
        b.sess[p] = next;
        b.len[p] = 0;
        b.reset_users[p] = users[next++];
    }
    n_act = P;
    if ((rc = RECO__CALLBACK(cb_gen, "the env's reset()",
                             env->reset(b.act, b.reset_users, P, env->payload))) < 0)
        goto done;
    if (depth_out != NULL)
        memset(depth_out, 0, (size_t)n_users * sizeof(uint32_t));
    if (return_out != NULL)
        memset(return_out, 0, (size_t)n_users * sizeof(float));
    while (n_act > 0) {
        /* b.act lists the running slots; b.sess / b.len are indexed by slot */
        for (uint32_t i = 0; i < n_act; i++)
            b.known[i] = b.len[b.act[i]];
        if ((rc = reco__states_observe(&sts, env, b.act, n_act, b.known)) < 0 ||
            (rc = RECO__CALLBACK(
                 cb_gen, "the env's candidates()",
                 env->candidates(b.cand, b.counts, (uint32_t)C, b.act, n_act, env->payload))) < 0)
            goto done;
        for (uint32_t i = 0; i < n_act; i++)
            if (b.counts[i] == 0 || b.counts[i] > C) {
                rc = reco__error_set(RECO_EINVAL, "%s: the env gave slot %u %u candidates "
                                     "(need 1..%zu)", fn, b.act[i], b.counts[i], C);
                goto done;
            }
        if ((rc = reco__policy_choose(b.idx, policy, &sts, b.cand, b.counts, (uint32_t)C,
                                      n_act)) < 0)
            goto done;
        for (uint32_t i = 0; i < n_act; i++) {
            if (b.idx[i] >= b.counts[i]) {
                rc = reco__error_set(RECO_EINVAL, "%s: the policy chose index %u of %u "
                                     "candidates", fn, b.idx[i], b.counts[i]);
                goto done;
            }
            b.shown[i] = b.cand[(size_t)i * C + b.idx[i]];
        }
        if ((rc = RECO__CALLBACK(
                 cb_gen, "the env's step()",
                 env->step(b.fb, b.reward, b.done, b.act, b.shown, n_act, env->payload))) < 0)
            goto done;
        uint32_t n_reset = 0, n_keep = 0;
        for (uint32_t i = 0; i < n_act; i++) {
            const uint32_t sl = b.act[i], k = b.sess[sl];
            b.rec[i].session = k;
            b.rec[i].step = b.len[sl];
            b.rec[i].item = b.shown[i];
            b.rec[i].feedback = b.fb[i];
            b.rec[i].reward = b.reward[i];
            b.rec[i].done = b.done[i];
            b.len[sl]++;
            st.steps++;
            st.reward += b.reward[i];
            for (uint32_t f = 0; f < nf; f++)
                st.count[f] += (b.fb[i] >> f) & 1u;
            if (return_out != NULL)
                return_out[k] += b.reward[i];
            const int over = b.done[i] != RECO_ENV_CONTINUE || b.len[sl] >= o.max_steps;
            if (!over) {
                b.act[n_keep++] = sl;
                continue;
            }
            st.sessions++;
            if (b.done[i] == RECO_ENV_EXIT)
                st.exits++;
            else if (b.done[i] != RECO_ENV_CONTINUE)
                st.truncated++;
            else
                st.cut++;
            if (depth_out != NULL)
                depth_out[k] = b.len[sl];
            if (next < n_users) {
                b.sess[sl] = next;
                b.len[sl] = 0;
                b.reset_slots[n_reset] = sl;
                b.reset_users[n_reset++] = users[next++];
            }
        }
        if (o.on_step != NULL)
            o.on_step(b.rec, n_act, o.on_step_payload);
        if (n_reset > 0 && (rc = RECO__CALLBACK(cb_gen, "the env's reset()",
                                                env->reset(b.reset_slots, b.reset_users, n_reset,
                                                           env->payload))) < 0)
            goto done;
        for (uint32_t i = 0; i < n_reset; i++)
            b.act[n_keep++] = b.reset_slots[i];
        n_act = n_keep;
    }
    if (out != NULL) {
        st.version = out->version;
        *out = st;
    }
    rc = RECO_OK;
done:;
    void *all[] = {b.sess, b.len, b.act, b.reset_slots, b.reset_users, b.idx,
                   b.counts, b.fb, b.known, b.cand, b.shown, b.reward, b.done, b.rec};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        reco__free(&a, all[i]);
    reco__states_free(&sts);
    return rc;
}
