/* Built-in policies (random, popularity, weighted, model greedy / head / softmax / explore) and the batched session
 * runner (see include/reco/policy.h). Policies allocate everything at creation; choose() and
 * choose_states() never allocate. The runner reads states through lib/state.c, as every
 * loop that plays sessions does. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc_private.h"
#include "detmath_private.h"
#include "env_private.h"
#include "error_private.h"
#include "policy_private.h"
#include "reco/policy.h"
#include "reco/rng.h"
#include "runner_private.h"

#define MAX_HEADS 64

struct reco_policy_state {
    reco_allocator alloc;
    reco_policy_kind kind;
    reco_rng rng;
    float *weights;      /* popularity, weighted: (n_weights) */
    uint32_t n_weights;
    const reco_model *model;
    reco_model_options mo; /* model policies: the model's options, for the env check */
    int needs_context;     /* the model takes the position, elapsed time or long history */
    int env_weights;       /* greedy / softmax created without weights: the env's, bound by
                              reco__policy_check (0 until then: `bound`) */
    int bound;
    float temperature;     /* softmax */
    reco_workspace *ws;
    float w[MAX_HEADS];  /* model greedy and softmax: signal weights */
    uint32_t heads[MAX_HEADS];
    uint32_t n_sel;      /* heads scored */
    uint32_t L, U, H, MB, MC; /* H: the model's long_len */
    int32_t *cand;       /* (MB, MC) packed candidates of one chunk */
    float *scores;       /* (MB, n_sel, MC) */
    float *row_w;        /* (MC) softmax: one row's expected rewards */
    float *probs;        /* (MB, MC) explore: one chunk's distributions (probabilities()) */
    reco_explorer *ex;   /* explore: the explorer over the head's scores */
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
    reco_explorer_free(state->ex);
    reco__free(&a, state->weights);
    reco__free(&a, state->cand);
    reco__free(&a, state->scores);
    reco__free(&a, state->row_w);
    reco__free(&a, state->probs);
    reco__free(&a, state);
    reco__handle_release();
}

static int is_model_kind(reco_policy_kind k)
{
    return k == RECO_POLICY_MODEL_GREEDY || k == RECO_POLICY_MODEL_HEAD ||
           k == RECO_POLICY_MODEL_SOFTMAX || k == RECO_POLICY_MODEL_EXPLORE;
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
        if (opts->version < 2) { /* read a version-1 struct up to its own fields */
            memcpy(&o, opts, offsetof(reco_policy_options, temperature));
        } else if (opts->version < 3) {
            memcpy(&o, opts, offsetof(reco_policy_options, explorer));
        } else {
            o = *opts;
        }
    }
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    uint32_t n_heads = 0;
    switch (o.kind) {
    case RECO_POLICY_RANDOM:
        break;
    case RECO_POLICY_POPULARITY:
    case RECO_POLICY_WEIGHTED:
        if (o.item_weights == NULL || o.n_item_weights == 0)
            return reco__error_set(RECO_EINVAL, "%s: the %s policy needs item_weights and "
                                   "n_item_weights >= 1", fn,
                                   o.kind == RECO_POLICY_WEIGHTED ? "weighted" : "popularity");
        for (uint32_t i = 0; i < o.n_item_weights; i++)
            if (!isfinite(o.item_weights[i]) ||
                (o.kind == RECO_POLICY_WEIGHTED && o.item_weights[i] < 0.0f))
                return reco__error_set(RECO_EINVAL, "%s: item weight %u is not finite%s", fn, i,
                                       o.kind == RECO_POLICY_WEIGHTED ? " and >= 0" : "");
        break;
    case RECO_POLICY_MODEL_GREEDY:
    case RECO_POLICY_MODEL_HEAD:
    case RECO_POLICY_MODEL_SOFTMAX:
    case RECO_POLICY_MODEL_EXPLORE:
        if (o.model == NULL)
            return reco__error_set(RECO_EINVAL, "%s: a model policy needs a model", fn);
        reco_model_get_options(&mo, o.model);
        n_heads = reco_model_n_heads(o.model);
        if (n_heads > MAX_HEADS)
            return reco__error_set(RECO_EINVAL, "%s: the model has %u heads; at most %d are "
                                   "supported", fn, n_heads, MAX_HEADS);
        if ((o.kind == RECO_POLICY_MODEL_HEAD || o.kind == RECO_POLICY_MODEL_EXPLORE) &&
            o.head >= n_heads)
            return reco__error_set(RECO_EINVAL, "%s: head %u is not below the model's %u heads",
                                   fn, o.head, n_heads);
        if ((o.kind == RECO_POLICY_MODEL_GREEDY || o.kind == RECO_POLICY_MODEL_SOFTMAX) &&
            o.signal_weights != NULL)
            for (uint32_t f = 0; f < mo.n_signals; f++)
                if (!isfinite(o.signal_weights[f]))
                    return reco__error_set(RECO_EINVAL, "%s: signal weight %u is not finite",
                                           fn, f);
        if (o.kind == RECO_POLICY_MODEL_SOFTMAX &&
            !(isfinite(o.temperature) && o.temperature > 0.0f))
            return reco__error_set(RECO_EINVAL, "%s: the temperature %g is not finite and "
                                   "positive", fn, (double)o.temperature);
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
    s->temperature = o.temperature;
    s->bound = 1;
    reco_rng_seed(&s->rng, o.seed, 0x706f6c6963790001ULL);
    if (o.kind == RECO_POLICY_POPULARITY || o.kind == RECO_POLICY_WEIGHTED) {
        s->n_weights = o.n_item_weights;
        s->weights = reco__calloc(&a, o.n_item_weights, sizeof(float));
        if (s->weights == NULL) {
            reco_policy_free(s);
            return RECO_ENOMEM;
        }
        memcpy(s->weights, o.item_weights, (size_t)o.n_item_weights * sizeof(float));
    } else if (is_model_kind(o.kind)) {
        s->model = o.model;
        s->mo = mo;
        s->mo.allocator = NULL; /* borrowed at creation only; never read again */
        s->needs_context = mo.position || mo.elapsed || mo.long_len > 0;
        s->L = mo.lookback;
        s->U = mo.user_dim;
        s->H = mo.long_len;
        s->MB = mo.max_batch;
        s->MC = mo.max_candidates;
        if (o.kind == RECO_POLICY_MODEL_GREEDY || o.kind == RECO_POLICY_MODEL_SOFTMAX) {
            s->n_sel = mo.n_signals;
            for (uint32_t f = 0; f < mo.n_signals; f++) {
                s->heads[f] = f;
                s->w[f] = o.signal_weights != NULL ? o.signal_weights[f] : 0.0f;
            }
            s->env_weights = o.signal_weights == NULL;
            s->bound = !s->env_weights;
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
        s->row_w = reco__calloc(&a, s->MC, sizeof(float));
        if (o.kind == RECO_POLICY_MODEL_EXPLORE)
            s->probs = reco__calloc(&a, (size_t)s->MB * s->MC, sizeof(float));
        if (s->cand == NULL || s->scores == NULL || s->row_w == NULL ||
            (o.kind == RECO_POLICY_MODEL_EXPLORE && s->probs == NULL)) {
            reco_policy_free(s);
            return RECO_ENOMEM;
        }
        if (o.kind == RECO_POLICY_MODEL_EXPLORE) {
            reco_explorer_options eo = RECO_EXPLORER_OPTIONS_INIT;
            if (o.explorer != NULL &&
                (rc = reco__check_version(o.explorer->version, RECO_EXPLORER_OPTIONS_VERSION,
                                          "reco_explorer_options")) < 0) {
                reco_policy_free(s);
                return rc;
            }
            if (o.explorer != NULL)
                memcpy(&eo, o.explorer, sizeof eo); /* only version 1 exists */
            eo.version = RECO_EXPLORER_OPTIONS_VERSION;
            eo.allocator = &s->alloc;
            eo.max_candidates = s->MC;
            if ((rc = reco_explorer_create(&s->ex, &eo)) < 0) {
                reco_policy_free(s);
                return rc;
            }
        }
    }
    *out = s;
    return RECO_OK;
}

void reco__policy_set_stream(reco_policy_state *s, uint64_t seed, uint64_t stream)
{
    reco_rng_seed(&s->rng, seed, stream);
    if (s->ex != NULL) {
        reco_rng r;
        reco_rng_seed(&r, seed, stream ^ 0x6578706c6f726572ULL); /* "explorer" */
        (void)reco_explorer_set_rng(s->ex, &r);
    }
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

static const char *kind_label(reco_policy_kind k)
{
    switch (k) {
    case RECO_POLICY_RANDOM: return "random";
    case RECO_POLICY_POPULARITY: return "popularity";
    case RECO_POLICY_WEIGHTED: return "weighted";
    case RECO_POLICY_MODEL_HEAD: return "model-head";
    case RECO_POLICY_MODEL_SOFTMAX: return "model-softmax";
    case RECO_POLICY_MODEL_EXPLORE: return "model-explore";
    default: return "model-greedy";
    }
}

/* Rows that read no state: random, popularity (argmax), weighted (draw). `prop` may be
 * NULL. */
static int pick_items(uint32_t *index_out, float *prop, reco_policy_state *s,
                      const int32_t *candidates, size_t stride, const uint32_t *counts,
                      uint32_t n, const char *fn)
{
    for (uint32_t i = 0; i < n; i++) {
        const int32_t *c = candidates + (size_t)i * stride;
        if (s->kind == RECO_POLICY_RANDOM) {
            index_out[i] = (uint32_t)reco_rng_below(&s->rng, counts[i]);
            if (prop != NULL)
                prop[i] = 1.0f / (float)counts[i];
            continue;
        }
        for (uint32_t j = 0; j < counts[i]; j++)
            if (c[j] < 0 || (uint32_t)c[j] >= s->n_weights)
                return reco__error_set(RECO_EINVAL, "%s: candidate %d (row %u) has no weight "
                                       "(%u weights)", fn, c[j], i, s->n_weights);
        if (s->kind == RECO_POLICY_POPULARITY) {
            uint32_t best = 0;
            float bw = 0.0f;
            for (uint32_t j = 0; j < counts[i]; j++)
                if (j == 0 || s->weights[c[j]] > bw) {
                    bw = s->weights[c[j]];
                    best = j;
                }
            index_out[i] = best;
            if (prop != NULL)
                prop[i] = 1.0f;
            continue;
        }
        /* weighted: w_j / sum, uniform when all weigh 0 (the logging rule); the draw of
         * reco_rng_categorical() over the row's weights, read in place */
        double sum = 0.0;
        uint32_t last = 0;
        for (uint32_t j = 0; j < counts[i]; j++) {
            if (s->weights[c[j]] > 0.0f)
                last = j;
            sum += (double)s->weights[c[j]];
        }
        uint32_t pick = last;
        if (sum > 0.0) {
            const double target = reco_rng_uniform(&s->rng) * sum;
            double acc = 0.0;
            for (uint32_t j = 0; j < last; j++) {
                acc += (double)s->weights[c[j]];
                if (target < acc) {
                    pick = j;
                    break;
                }
            }
            if (prop != NULL)
                prop[i] = (float)((double)s->weights[c[pick]] / sum);
        } else {
            pick = (uint32_t)reco_rng_below(&s->rng, counts[i]);
            if (prop != NULL)
                prop[i] = 1.0f / (float)counts[i];
        }
        index_out[i] = (uint32_t)pick;
    }
    return RECO_OK;
}

static int choose_items(uint32_t *index_out, const int32_t *items, const uint32_t *feedback,
                        const float *features, const int32_t *candidates,
                        const uint32_t *counts, uint32_t max_candidates, uint32_t n,
                        void *payload)
{
    (void)items, (void)feedback, (void)features;
    reco_policy_state *s = payload;
    const char *fn = kind_label(s->kind);
    int rc = check_common(candidates, counts, index_out, max_candidates, n, fn);
    if (rc < 0)
        return rc;
    return pick_items(index_out, NULL, s, candidates, max_candidates, counts, n, fn);
}

static float sigmoid(float z)
{
    return z >= 0 ? 1.0f / (1.0f + reco__expf(-z)) : reco__expf(z) / (1.0f + reco__expf(z));
}

static double sigmoid_d(double x)
{
    return x >= 0 ? 1.0 / (1.0 + reco__exp(-x)) : reco__exp(x) / (1.0 + reco__exp(x));
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

/* One row's decision from its scores (K heads of C entries, `count` valid); or, when `dist`
 * is not NULL, the row's whole distribution written to dist[0 .. count-1] (nothing drawn). */
static int decide_row(uint32_t *index_out, float *prop, float *dist, reco_policy_state *s,
                      const float *sc, size_t C, uint32_t count)
{
    const size_t K = s->n_sel;
    if (s->kind == RECO_POLICY_MODEL_SOFTMAX && dist != NULL) {
        /* the law of the draw below: softmax of the expected rewards, as float, at T */
        double mx = -INFINITY, z = 0.0;
        for (uint32_t j = 0; j < count; j++) {
            double r = 0.0;
            for (size_t f = 0; f < K; f++)
                r += (double)s->w[f] * sigmoid_d((double)sc[f * C + j]);
            s->row_w[j] = (float)r;
            mx = fmax(mx, (double)s->row_w[j] / s->temperature);
        }
        for (uint32_t j = 0; j < count; j++)
            z += reco__exp((double)s->row_w[j] / s->temperature - mx);
        for (uint32_t j = 0; j < count; j++)
            dist[j] = (float)(reco__exp((double)s->row_w[j] / s->temperature - mx) / z);
        return RECO_OK;
    }
    if (s->kind == RECO_POLICY_MODEL_SOFTMAX) {
        /* the expected immediate reward in double, then a softmax draw (the logging rule) */
        float *w = s->row_w;
        for (uint32_t j = 0; j < count; j++) {
            double r = 0.0;
            for (size_t f = 0; f < K; f++)
                r += (double)s->w[f] * sigmoid_d((double)sc[f * C + j]);
            w[j] = (float)r;
        }
        size_t pick = 0;
        int rc = reco_rng_categorical_logits(&pick, &s->rng, w, count, s->temperature);
        if (rc < 0)
            return rc;
        *index_out = (uint32_t)pick;
        if (prop != NULL) {
            double mx = -INFINITY, z = 0.0;
            for (uint32_t j = 0; j < count; j++)
                mx = fmax(mx, (double)w[j] / s->temperature);
            for (uint32_t j = 0; j < count; j++)
                z += reco__exp((double)w[j] / s->temperature - mx);
            *prop = (float)(exp((double)w[pick] / s->temperature - mx) / z);
        }
        return RECO_OK;
    }
    uint32_t best = 0;
    float bv = -INFINITY;
    for (uint32_t j = 0; j < count; j++) {
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
    if (dist != NULL) {
        for (uint32_t j = 0; j < count; j++)
            dist[j] = j == best ? 1.0f : 0.0f;
        return RECO_OK;
    }
    *index_out = best;
    if (prop != NULL)
        *prop = 1.0f;
    return RECO_OK;
}

/* Scores rows of candidates `stride` apart (0: one shared row) in chunks of max_batch rows
 * and decides each row (argmax, or a softmax draw). `prop` may be NULL. With `dist` not NULL
 * it writes each row's distribution instead, (n, dstride) with zeros past the row's count,
 * and draws nothing (`index_out` is not read). */
static int pick_model(uint32_t *index_out, float *prop, float *dist, size_t dstride,
                      reco_policy_state *s, const state_rows *r, const int32_t *candidates,
                      size_t stride, const uint32_t *counts, uint32_t n, const char *fn)
{
    if (!s->bound)
        return reco__error_set(RECO_EINVAL, "%s: created without signal weights (the env's), "
                               "it must be played by a runner, which takes them from the env",
                               fn);
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
        if (s->kind == RECO_POLICY_MODEL_EXPLORE) {
            /* one head (K = 1): the padding is unavailable, then one select of the chunk */
            for (uint32_t b = 0; b < k; b++)
                for (uint32_t j = counts[i0 + b]; j < C; j++)
                    s->scores[(size_t)b * C + j] = -INFINITY;
            if (dist != NULL) {
                if ((rc = reco_explorer_probs(s->probs, s->ex, s->scores, k, C, C)) < 0)
                    return rc;
                for (uint32_t b = 0; b < k; b++) {
                    float *d = dist + (size_t)(i0 + b) * dstride;
                    memcpy(d, s->probs + (size_t)b * C, counts[i0 + b] * sizeof(float));
                    for (size_t j = counts[i0 + b]; j < dstride; j++)
                        d[j] = 0.0f;
                }
                continue;
            }
            if ((rc = reco_explorer_select(index_out + i0, prop != NULL ? prop + i0 : NULL,
                                           s->ex, s->scores, k, C, C)) < 0)
                return rc;
            continue;
        }
        for (uint32_t b = 0; b < k; b++) {
            float *d = dist != NULL ? dist + (size_t)(i0 + b) * dstride : NULL;
            if ((rc = decide_row(d != NULL ? NULL : &index_out[i0 + b],
                                 prop != NULL ? &prop[i0 + b] : NULL, d, s,
                                 s->scores + (size_t)b * K * C, C, counts[i0 + b])) < 0)
                return rc;
            for (size_t j = counts[i0 + b]; d != NULL && j < dstride; j++)
                d[j] = 0.0f;
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
    return pick_model(index_out, NULL, NULL, 0, s, &r, candidates, max_candidates, counts, n,
                      fn);
}

static state_rows rows_of(const reco_batch *states)
{
    state_rows r = {states->items, states->feedback, states->user_features, NULL, NULL, NULL,
                    NULL};
    if (states->version >= 2) {
        r.steps = states->steps;
        r.elapsed = states->elapsed;
        r.long_items = states->long_items;
        r.long_fb = states->long_feedback;
    }
    return r;
}

static int choose_states_model(uint32_t *index_out, const reco_batch *states,
                               const uint32_t *counts, void *payload)
{
    static const char fn[] = "model policy";
    size_t stride = 0;
    int rc = check_states(&stride, states, counts, index_out, fn);
    if (rc < 0)
        return rc;
    const state_rows r = rows_of(states);
    return pick_model(index_out, NULL, NULL, 0, payload, &r, states->candidates, stride,
                      counts, states->size, fn);
}

/* Version 3, every built-in kind: the choice and its probability. */
static int choose_sessions_builtin(uint32_t *index_out, const reco_batch *states,
                                   const uint32_t *counts, const reco_policy_sessions *sessions,
                                   void *payload)
{
    reco_policy_state *s = payload;
    const char *fn = kind_label(s->kind);
    size_t stride = 0;
    int rc = check_states(&stride, states, counts, index_out, fn);
    if (rc < 0)
        return rc;
    if (sessions != NULL &&
        (rc = reco__check_version(sessions->version, RECO_POLICY_SESSIONS_VERSION,
                                  "reco_policy_sessions")) < 0)
        return rc;
    float *prop = sessions != NULL ? sessions->propensity_out : NULL;
    if (!is_model_kind(s->kind))
        return pick_items(index_out, prop, s, states->candidates, stride, counts, states->size,
                          fn);
    const state_rows r = rows_of(states);
    return pick_model(index_out, prop, NULL, 0, s, &r, states->candidates, stride, counts,
                      states->size, fn);
}

/* The distributions of the rows that read no state (random, popularity, weighted): the law
 * of pick_items()'s draw, row by row. */
static int dist_items(float *dist, size_t dstride, const reco_policy_state *s,
                      const int32_t *candidates, size_t stride, const uint32_t *counts,
                      uint32_t n, const char *fn)
{
    for (uint32_t i = 0; i < n; i++) {
        const int32_t *c = candidates + (size_t)i * stride;
        float *d = dist + (size_t)i * dstride;
        for (size_t j = 0; j < dstride; j++)
            d[j] = 0.0f;
        if (s->kind != RECO_POLICY_RANDOM)
            for (uint32_t j = 0; j < counts[i]; j++)
                if (c[j] < 0 || (uint32_t)c[j] >= s->n_weights)
                    return reco__error_set(RECO_EINVAL, "%s: candidate %d (row %u) has no "
                                           "weight (%u weights)", fn, c[j], i, s->n_weights);
        double sum = 0.0;
        if (s->kind == RECO_POLICY_WEIGHTED)
            for (uint32_t j = 0; j < counts[i]; j++)
                sum += (double)s->weights[c[j]];
        if (s->kind == RECO_POLICY_POPULARITY) {
            uint32_t best = 0;
            for (uint32_t j = 1; j < counts[i]; j++)
                if (s->weights[c[j]] > s->weights[c[best]])
                    best = j;
            d[best] = 1.0f;
        } else if (s->kind == RECO_POLICY_WEIGHTED && sum > 0.0) {
            for (uint32_t j = 0; j < counts[i]; j++)
                d[j] = (float)((double)s->weights[c[j]] / sum);
        } else { /* random, or weighted with a row of zero weights */
            for (uint32_t j = 0; j < counts[i]; j++)
                d[j] = 1.0f / (float)counts[i];
        }
    }
    return RECO_OK;
}

/* Version 4, every built-in kind: the distribution choose_sessions() draws from. */
static int probabilities_builtin(float *probs_out, const reco_batch *states,
                                 const uint32_t *counts, const reco_policy_sessions *sessions,
                                 void *payload)
{
    reco_policy_state *s = payload;
    const char *fn = kind_label(s->kind);
    (void)sessions;
    if (probs_out == NULL)
        return reco__error_set(RECO_EINVAL, "%s: probabilities(): NULL probs_out", fn);
    size_t stride = 0;
    uint32_t dummy = 0; /* check_states() wants an index output; nothing is chosen here */
    int rc = check_states(&stride, states, counts, &dummy, fn);
    if (rc < 0)
        return rc;
    if (!is_model_kind(s->kind))
        return dist_items(probs_out, states->n_candidates, s, states->candidates, stride,
                          counts, states->size, fn);
    const state_rows r = rows_of(states);
    return pick_model(NULL, NULL, probs_out, states->n_candidates, s, &r, states->candidates,
                      stride, counts, states->size, fn);
}

int reco_policy_get(reco_policy *out, reco_policy_state *state)
{
    if (out == NULL || state == NULL)
        return reco__error_set(RECO_EINVAL, "reco_policy_get: NULL argument");
    memset(out, 0, sizeof *out);
    out->version = RECO_POLICY_VERSION;
    out->payload = state;
    out->name = kind_label(state->kind);
    out->choose_sessions = choose_sessions_builtin;
    out->probabilities = probabilities_builtin;
    if (!is_model_kind(state->kind)) {
        out->choose = choose_items; /* reads no state: no choose_states() */
        return RECO_OK;
    }
    out->choose = choose_model;
    out->choose_states = choose_states_model;
    out->lookback = state->L;
    out->user_dim = state->U;
    return RECO_OK;
}

int reco__policy_reads_states(const reco_policy *policy)
{
    return policy->choose != choose_items; /* built-in random, popularity, weighted */
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
    reco_policy_state *s = policy->payload;
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
    const int v3 = policy->version >= 3 && policy->choose_sessions != NULL;
    if (s->needs_context && !v3 && (policy->version < 2 || policy->choose_states == NULL))
        return reco__error_set(RECO_EINVAL, "%s: %s is a model policy whose model takes the "
                               "session context, but the struct is version %u without "
                               "choose_states(), and choose() does not receive the context",
                               fn, who, policy->version);
    if (s->kind == RECO_POLICY_MODEL_HEAD || s->kind == RECO_POLICY_MODEL_EXPLORE)
        return RECO_OK;
    /* the reward weights: the env's, or the policy's own, which must then be the env's */
    const float *ew = reco__env_reward_weights(env);
    if (s->env_weights) {
        if (ew == NULL)
            return reco__error_set(RECO_EINVAL, "%s: %s was created without signal weights, "
                                   "and the env declares no reward weights (reco_env version "
                                   "4 reward_weights)", fn, who);
        if (env->n_signals != s->mo.n_signals)
            return reco__error_set(RECO_EINVAL, "%s: %s's model has %u signals; the env %u", fn,
                                   who, s->mo.n_signals, env->n_signals);
        for (uint32_t f = 0; f < s->mo.n_signals; f++)
            s->w[f] = ew[f];
        s->bound = 1;
        return RECO_OK;
    }
    return reco__env_check_weights(env, s->w, s->mo.n_signals, fn, who);
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

/* reco_run_sessions on the session loop (lib/runner.c): sessions in list order, a slot
 * taking the next one as soon as its own ends; the totals and the observer in a sink. */
typedef struct run_ctx {
    const uint64_t *users;
    uint32_t n_users, next, nf;
    uint32_t *depth_out;
    float *return_out;
    const reco_run_options *o;
    reco_run_stats st;
    reco_run_step *rec; /* (P) */
} run_ctx;

static int run_schedule(void *payload, uint32_t slot, uint64_t *user_out, uint64_t *session_out)
{
    (void)slot;
    run_ctx *c = payload;
    if (c->next >= c->n_users)
        return 0;
    *session_out = c->next;
    *user_out = c->users[c->next++];
    return 1;
}

static int run_after_step(void *payload, const reco__round *r)
{
    run_ctx *c = payload;
    for (uint32_t i = 0; i < r->n; i++) {
        const uint32_t k = (uint32_t)r->sessions[i];
        c->rec[i].session = k;
        c->rec[i].step = r->steps[i];
        c->rec[i].item = r->shown[i];
        c->rec[i].feedback = r->fb[i];
        c->rec[i].reward = r->reward[i];
        c->rec[i].done = r->done[i];
        c->st.steps++;
        c->st.reward += r->reward[i];
        for (uint32_t f = 0; f < c->nf; f++)
            c->st.count[f] += (r->fb[i] >> f) & 1u;
        if (c->return_out != NULL)
            c->return_out[k] += r->reward[i];
        if (!r->over[i])
            continue;
        c->st.sessions++;
        if (r->done[i] == RECO_ENV_EXIT)
            c->st.exits++;
        else if (r->done[i] != RECO_ENV_CONTINUE)
            c->st.truncated++;
        else
            c->st.cut++;
        if (c->depth_out != NULL)
            c->depth_out[k] = r->steps[i] + 1;
    }
    if (c->o->on_step != NULL)
        c->o->on_step(c->rec, r->n, c->o->on_step_payload);
    return RECO_OK;
}

int reco_run_sessions(reco_run_stats *out, uint32_t *depth_out, float *return_out,
                      const reco_env *env, const reco_policy *policy, const uint64_t *users,
                      uint32_t n_users, const reco_run_options *opts)
{
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
    run_ctx c;
    memset(&c, 0, sizeof c);
    c.users = users;
    c.n_users = n_users;
    c.depth_out = depth_out;
    c.return_out = return_out;
    c.o = &o;
    c.st = (reco_run_stats)RECO_RUN_STATS_INIT;
    c.st.n_signals = env->n_signals;
    c.nf = env->n_signals < RECO_RUN_MAX_SIGNALS ? env->n_signals : RECO_RUN_MAX_SIGNALS;
    c.rec = reco__calloc(&a, P, sizeof(reco_run_step));
    if (c.rec == NULL)
        return RECO_ENOMEM;
    const reco__sink sink = {NULL, run_after_step, NULL, &c};
    reco__runner_config rc_cfg;
    memset(&rc_cfg, 0, sizeof rc_cfg);
    rc_cfg.env = env;
    rc_cfg.policy = policy;
    rc_cfg.P = P;
    rc_cfg.C = o.max_candidates;
    rc_cfg.max_steps = o.max_steps;
    rc_cfg.order = RECO__ROWS_KEEP_THEN_NEW;
    rc_cfg.observe = 1;
    rc_cfg.fn = fn;
    rc_cfg.schedule = run_schedule;
    rc_cfg.schedule_payload = &c;
    rc_cfg.sinks = &sink;
    rc_cfg.n_sinks = 1;
    reco__runner *r = NULL;
    if (depth_out != NULL)
        memset(depth_out, 0, (size_t)n_users * sizeof(uint32_t));
    if (return_out != NULL)
        memset(return_out, 0, (size_t)n_users * sizeof(float));
    if ((rc = reco__runner_create(&r, &a, &rc_cfg)) < 0 || (rc = reco__runner_start(r)) < 0 ||
        (rc = reco__runner_run(r, NULL, NULL)) < 0)
        goto done;
    if (out != NULL) {
        c.st.version = out->version;
        *out = c.st;
    }
    rc = RECO_OK;
done:
    reco__runner_free(r);
    reco__free(&a, c.rec);
    return rc;
}
