/* reco_eval: several policies played in turn for the same sessions with common random
 * numbers, per-session metrics, ratio estimates with delta-method intervals, paired lifts,
 * and the JSON / CSV reports (see include/reco/eval.h and docs/eval.md for the formulas). */
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_private.h"
#include "env_private.h"
#include "error_private.h"
#include "eval_private.h"
#include "file_private.h"
#include "policy_private.h"
#include "reco/eval.h"

/* Topics are counted in a per-slot bitmap of (max topic + 1) bits, cleared at each session's
 * end; the bound keeps that clear cheap and the bitmap small. */
#define MAX_TOPIC (1u << 20)

struct reco_eval {
    reco_allocator alloc;
    uint32_t n_pol, n_ses;
    double confidence, z;
    uint32_t deep_depth;
    int has_hides, has_topics;
    char **names;     /* (n_pol), entries NULL for unnamed policies */
    /* (n_pol, n_ses) each, session-major within a policy */
    uint32_t *depth, *lw, *hides, *topics;
    double *ret;
};

/* ---- the normal quantile ----------------------------------------------------------------- */

double reco__normal_quantile(double p)
{
    /* Acklam's coefficients: a central rational function in (p - 1/2)^2 and tail ones in
     * sqrt(-2 log p), switching at p_low = 0.02425. */
    static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                -2.759285104469687e+02, 1.383577518672690e+02,
                                -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                -1.556989798598866e+02, 6.680131188771972e+01,
                                -1.328068155288572e+01};
    static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                -2.400758277161838e+00, -2.549732539343734e+00,
                                4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01,
                                2.445134137142996e+00, 3.754408661907416e+00};
    const double p_low = 0.02425;
    if (!(p > 0.0 && p < 1.0))
        return NAN;
    double x;
    if (p < p_low || p > 1.0 - p_low) {
        const double q = sqrt(-2.0 * log(p < p_low ? p : 1.0 - p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
        if (p > 1.0 - p_low)
            x = -x;
    } else {
        const double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
    }
    /* One Halley step on F(x) = Phi(x) - p, with Phi from erfc (accurate in both tails). In
     * the upper tail work on the complement, 1 - p, which has no cancellation there. */
    const double sqrt2pi = 2.50662827463100050242;
    double e;
    if (p > 0.5)
        e = (1.0 - p) - 0.5 * erfc(x / 1.41421356237309504880);
    else
        e = 0.5 * erfc(-x / 1.41421356237309504880) - p;
    const double u = e * sqrt2pi * exp(x * x / 2.0);
    return x - u / (1.0 + x * u / 2.0);
}

/* ---- options ------------------------------------------------------------------------------ */

int reco_eval_options_init(reco_eval_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_eval_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_EVAL_OPTIONS_VERSION, "reco_eval_options");
    if (rc < 0)
        return rc;
    const reco_eval_options d = RECO_EVAL_OPTIONS_INIT;
    *opts = d;
    opts->version = version;
    return RECO_OK;
}

const char *reco_eval_metric_name(reco_eval_metric metric)
{
    static const char *const names[RECO_EVAL_N_METRICS] = {
        "depth", "long_watches", "deep_share", "long_watches_deep", "depth_deep", "return",
        "hides", "topics"};
    if ((unsigned)metric >= RECO_EVAL_N_METRICS)
        return NULL;
    return names[metric];
}

static int validate(const reco_eval_options *o, const reco_env *env, uint32_t *max_topic_out)
{
    if (o->max_candidates < 1 || o->max_candidates > (1u << 20))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "eval.max_candidates",
                                  "%u is out of range [1, 1048576]", o->max_candidates);
    if (o->max_steps < 1 || o->max_steps > (1u << 31))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "eval.max_steps",
                                  "%u is out of range [1, 2^31]", o->max_steps);
    const uint32_t nsig = env->n_signals < 32 ? env->n_signals : 32;
    if (o->long_watch_signal >= nsig)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "eval.long_watch_signal",
                                  "%u is not a signal of the env (it has %u)",
                                  o->long_watch_signal, env->n_signals);
    if (o->hide_signal != -1 && (o->hide_signal < 0 || (uint32_t)o->hide_signal >= nsig))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "eval.hide_signal",
                                  "%d is neither -1 nor a signal of the env (it has %u)",
                                  o->hide_signal, env->n_signals);
    if (o->deep_depth < 1)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "eval.deep_depth",
                                  "%u is not >= 1", o->deep_depth);
    if (!(o->confidence > 0.0 && o->confidence < 1.0))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "eval.confidence",
                                  "%g is not in (0, 1)", o->confidence);
    *max_topic_out = 0;
    if ((o->item_topics == NULL) != (o->n_item_topics == 0))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "eval.item_topics",
                                  "item_topics and n_item_topics (%u) must be both set or "
                                  "both unset", o->n_item_topics);
    if (o->item_topics != NULL) {
        if (o->n_item_topics < env->n_items)
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "eval.n_item_topics",
                                      "%u topics for the env's %u items", o->n_item_topics,
                                      env->n_items);
        for (uint32_t i = 0; i < o->n_item_topics; i++) {
            if (o->item_topics[i] >= MAX_TOPIC)
                return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "eval.item_topics",
                                          "item %u has topic %u; topics must be below 2^20", i,
                                          o->item_topics[i]);
            if (o->item_topics[i] > *max_topic_out)
                *max_topic_out = o->item_topics[i];
        }
    }
    return RECO_OK;
}

/* ---- the result --------------------------------------------------------------------------- */

void reco_eval_free(reco_eval *eval)
{
    if (eval == NULL)
        return;
    reco_allocator a = eval->alloc;
    if (eval->names != NULL)
        for (uint32_t p = 0; p < eval->n_pol; p++)
            reco__free(&a, eval->names[p]);
    void *bufs[] = {eval->names, eval->depth, eval->lw, eval->hides, eval->topics, eval->ret};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        reco__free(&a, bufs[i]);
    reco__free(&a, eval);
    reco__handle_release();
}

uint32_t reco_eval_n_policies(const reco_eval *eval)
{
    return eval != NULL ? eval->n_pol : 0;
}

uint32_t reco_eval_n_sessions(const reco_eval *eval)
{
    return eval != NULL ? eval->n_ses : 0;
}

double reco_eval_confidence(const reco_eval *eval)
{
    return eval != NULL ? eval->confidence : NAN;
}

const char *reco_eval_policy_name(const reco_eval *eval, uint32_t policy)
{
    if (eval == NULL || policy >= eval->n_pol)
        return NULL;
    return eval->names[policy];
}

/* ---- the runner --------------------------------------------------------------------------- */

typedef struct eval_bufs {
    uint32_t *sess, *len, *act, *reset_slots, *idx, *counts, *fb;
    uint32_t *lw, *hides, *ntop; /* (P) running counts per slot */
    double *ret;                 /* (P) */
    uint64_t *reset_users;
    uint64_t *seen;              /* (P, W) topic bitmaps */
    size_t W;
    uint32_t *known;             /* (P) steps of each running row, for envs without context() */
    int32_t *cand, *shown;
    float *reward;
    int *done;
    reco__states st;             /* the running rows' states (lib/state.c) */
} eval_bufs;

typedef struct run_ctx {
    const reco_env *env;
    const reco_eval_options *o;
    const uint64_t *users;
    uint32_t n_users, P;
    eval_bufs b;
} run_ctx;

static void start_slot(eval_bufs *b, uint32_t sl, uint32_t session)
{
    b->sess[sl] = session;
    b->len[sl] = 0;
    b->lw[sl] = 0;
    b->hides[sl] = 0;
    b->ntop[sl] = 0;
    b->ret[sl] = 0.0;
    if (b->W > 0)
        memset(b->seen + (size_t)sl * b->W, 0, b->W * sizeof(uint64_t));
}

/* Plays every session of the list with one policy on the fixed schedule: slot p plays
 * sessions p, p + P, p + 2P, ... */
static int run_policy(reco_eval *e, run_ctx *c, const reco_policy *policy, uint32_t pi)
{
    uint64_t cb_gen = 0; /* reco__error_generation() before each callback */
    static const char fn[] = "reco_eval_run";
    const reco_env *env = c->env;
    const reco_eval_options *o = c->o;
    eval_bufs *b = &c->b;
    const uint32_t P = c->P, N = c->n_users;
    const size_t C = o->max_candidates;
    const size_t base = (size_t)pi * N;
    const uint32_t lw_bit = o->long_watch_signal;
    const int hide_bit = o->hide_signal;
    int rc;
    for (uint32_t p = 0; p < P; p++) {
        b->act[p] = p;
        start_slot(b, p, p);
        b->reset_users[p] = c->users[p];
    }
    uint32_t n_act = P;
    if ((rc = RECO__CALLBACK(cb_gen, "the env's reset()",
                             env->reset(b->act, b->reset_users, P, env->payload))) < 0)
        return rc;
    const uint64_t report_every = N / 100 > 0 ? N / 100 : 1;
    uint64_t finished = 0, next_report = report_every;
    while (n_act > 0) {
        for (uint32_t i = 0; i < n_act; i++)
            b->known[i] = b->len[b->act[i]];
        if ((rc = reco__states_observe(&b->st, env, b->act, n_act, b->known)) < 0 ||
            (rc = RECO__CALLBACK(cb_gen, "the env's candidates()",
                                 env->candidates(b->cand, b->counts, (uint32_t)C, b->act, n_act,
                                                 env->payload))) < 0)
            return rc;
        for (uint32_t i = 0; i < n_act; i++)
            if (b->counts[i] == 0 || b->counts[i] > C)
                return reco__error_set(RECO_EINVAL, "%s: the env gave slot %u %u candidates "
                                       "(need 1..%zu)", fn, b->act[i], b->counts[i], C);
        if ((rc = reco__policy_choose(b->idx, policy, &b->st, b->cand, b->counts, (uint32_t)C,
                                      n_act)) < 0)
            return rc;
        for (uint32_t i = 0; i < n_act; i++) {
            if (b->idx[i] >= b->counts[i])
                return reco__error_set(RECO_EINVAL, "%s: policy %u chose index %u of %u "
                                       "candidates", fn, pi, b->idx[i], b->counts[i]);
            b->shown[i] = b->cand[(size_t)i * C + b->idx[i]];
            if (e->has_topics && (b->shown[i] < 0 ||
                                  (uint32_t)b->shown[i] >= o->n_item_topics))
                return reco__error_set(RECO_EINVAL, "%s: item %d has no topic (%u topics)", fn,
                                       b->shown[i], o->n_item_topics);
        }
        if ((rc = RECO__CALLBACK(
                 cb_gen, "the env's step()",
                 env->step(b->fb, b->reward, b->done, b->act, b->shown, n_act, env->payload))) < 0)
            return rc;
        uint32_t n_reset = 0, n_keep = 0;
        for (uint32_t i = 0; i < n_act; i++) {
            const uint32_t sl = b->act[i], k = b->sess[sl];
            b->len[sl]++;
            b->lw[sl] += (b->fb[i] >> lw_bit) & 1u;
            if (hide_bit >= 0)
                b->hides[sl] += (b->fb[i] >> hide_bit) & 1u;
            b->ret[sl] += b->reward[i];
            if (e->has_topics) {
                const uint32_t t = o->item_topics[b->shown[i]];
                uint64_t *w = b->seen + (size_t)sl * b->W + (t >> 6);
                const uint64_t bit = 1ULL << (t & 63);
                if (!(*w & bit)) {
                    *w |= bit;
                    b->ntop[sl]++;
                }
            }
            if (b->done[i] == RECO_ENV_CONTINUE && b->len[sl] < o->max_steps) {
                b->act[n_keep++] = sl;
                continue;
            }
            e->depth[base + k] = b->len[sl];
            e->lw[base + k] = b->lw[sl];
            e->hides[base + k] = b->hides[sl];
            e->topics[base + k] = b->ntop[sl];
            e->ret[base + k] = b->ret[sl];
            finished++;
            if ((uint64_t)k + P < N) {
                start_slot(b, sl, k + P);
                b->reset_slots[n_reset] = sl;
                b->reset_users[n_reset++] = c->users[k + P];
            }
        }
        if (n_reset > 0 && (rc = RECO__CALLBACK(cb_gen, "the env's reset()",
                                                env->reset(b->reset_slots, b->reset_users, n_reset,
                                                           env->payload))) < 0)
            return rc;
        for (uint32_t i = 0; i < n_reset; i++)
            b->act[n_keep++] = b->reset_slots[i];
        n_act = n_keep;
        if (o->progress != NULL && finished >= next_report && finished < N) {
            o->progress(pi, finished, o->progress_payload);
            next_report = finished + report_every;
        }
    }
    if (o->progress != NULL)
        o->progress(pi, finished, o->progress_payload);
    return RECO_OK;
}

static void free_bufs(const reco_allocator *a, eval_bufs *b)
{
    void *all[] = {b->sess, b->len, b->act, b->reset_slots, b->idx, b->counts, b->fb,
                   b->lw, b->hides, b->ntop, b->ret, b->reset_users, b->seen, b->known,
                   b->cand, b->shown, b->reward, b->done};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        reco__free(a, all[i]);
    reco__states_free(&b->st);
}

int reco_eval_run(reco_eval **out, const reco_env *env, const reco_policy *policies,
                  uint32_t n_policies, const uint64_t *users, uint32_t n_users,
                  const reco_eval_options *opts)
{
    static const char fn[] = "reco_eval_run";
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "%s: out is NULL", fn);
    *out = NULL;
    if (env == NULL || policies == NULL || users == NULL)
        return reco__error_set(RECO_EINVAL, "%s: NULL env, policies or users", fn);
    if (n_policies == 0)
        return reco__error_set(RECO_EINVAL, "%s: n_policies is 0", fn);
    if (n_users == 0)
        return reco__error_set(RECO_EINVAL, "%s: n_users is 0", fn);
    reco_eval_options o = RECO_EVAL_OPTIONS_INIT;
    if (opts != NULL) {
        int rc = reco__check_version(opts->version, RECO_EVAL_OPTIONS_VERSION,
                                     "reco_eval_options");
        if (rc < 0)
            return rc;
        o = *opts;
    }
    int env_rc = reco__check_session_env(env, fn);
    if (env_rc < 0)
        return env_rc;
    for (uint32_t p = 0; p < n_policies; p++) {
        char who[32];
        snprintf(who, sizeof who, "policy %u", p);
        if ((env_rc = reco__policy_check(&policies[p], env, fn, who)) < 0)
            return env_rc;
    }
    uint32_t max_topic = 0;
    int rc = validate(&o, env, &max_topic);
    if (rc < 0)
        return rc;
    uint32_t P = o.parallel == 0 || o.parallel > env->max_sessions ? env->max_sessions
                                                                    : o.parallel;
    if (P > n_users)
        P = n_users;
    reco_allocator a;
    if ((rc = reco__allocator_resolve(&a, o.allocator)) < 0)
        return rc;

    reco_eval *e = reco__calloc(&a, 1, sizeof *e);
    if (e == NULL)
        return RECO_ENOMEM;
    reco__handle_acquire(); /* balanced by reco_eval_free, also on failure below */
    e->alloc = a;
    e->n_pol = n_policies;
    e->n_ses = n_users;
    e->confidence = o.confidence;
    e->z = reco__normal_quantile(0.5 + o.confidence / 2.0);
    e->deep_depth = o.deep_depth;
    e->has_hides = o.hide_signal >= 0;
    e->has_topics = o.item_topics != NULL;
    const size_t total = (size_t)n_policies * n_users;
    e->names = reco__calloc(&a, n_policies, sizeof(char *));
    e->depth = reco__calloc(&a, total, sizeof(uint32_t));
    e->lw = reco__calloc(&a, total, sizeof(uint32_t));
    e->hides = reco__calloc(&a, total, sizeof(uint32_t));
    e->topics = reco__calloc(&a, total, sizeof(uint32_t));
    e->ret = reco__calloc(&a, total, sizeof(double));
    run_ctx c;
    memset(&c, 0, sizeof c);
    c.env = env;
    c.o = &o;
    c.users = users;
    c.n_users = n_users;
    c.P = P;
    eval_bufs *b = &c.b;
    const size_t C = o.max_candidates;
    b->W = e->has_topics ? (size_t)(max_topic >> 6) + 1 : 0;
    b->sess = reco__calloc(&a, P, sizeof(uint32_t));
    b->len = reco__calloc(&a, P, sizeof(uint32_t));
    b->act = reco__calloc(&a, P, sizeof(uint32_t));
    b->reset_slots = reco__calloc(&a, P, sizeof(uint32_t));
    b->idx = reco__calloc(&a, P, sizeof(uint32_t));
    b->counts = reco__calloc(&a, P, sizeof(uint32_t));
    b->fb = reco__calloc(&a, P, sizeof(uint32_t));
    b->lw = reco__calloc(&a, P, sizeof(uint32_t));
    b->hides = reco__calloc(&a, P, sizeof(uint32_t));
    b->ntop = reco__calloc(&a, P, sizeof(uint32_t));
    b->ret = reco__calloc(&a, P, sizeof(double));
    b->reset_users = reco__calloc(&a, P, sizeof(uint64_t));
    b->seen = b->W > 0 ? reco__calloc(&a, (size_t)P * b->W, sizeof(uint64_t)) : NULL;
    b->known = reco__calloc(&a, P, sizeof(uint32_t));
    const int st_rc = reco__states_init(&b->st, &a, env, P);
    b->cand = reco__calloc(&a, (size_t)P * C, sizeof(int32_t));
    b->shown = reco__calloc(&a, P, sizeof(int32_t));
    b->reward = reco__calloc(&a, P, sizeof(float));
    b->done = reco__calloc(&a, P, sizeof(int));
    if (e->names == NULL || e->depth == NULL || e->lw == NULL || e->hides == NULL ||
        e->topics == NULL || e->ret == NULL || b->sess == NULL || b->len == NULL ||
        b->act == NULL || b->reset_slots == NULL || b->idx == NULL || b->counts == NULL ||
        b->fb == NULL || b->lw == NULL || b->hides == NULL || b->ntop == NULL ||
        b->ret == NULL || b->reset_users == NULL || (b->W > 0 && b->seen == NULL) ||
        b->known == NULL || st_rc < 0 || b->cand == NULL ||
        b->shown == NULL || b->reward == NULL || b->done == NULL) {
        rc = RECO_ENOMEM;
        goto fail;
    }
    for (uint32_t p = 0; p < n_policies; p++)
        if (policies[p].name != NULL &&
            (e->names[p] = reco__strdup(&a, policies[p].name)) == NULL) {
            rc = RECO_ENOMEM;
            goto fail;
        }
    for (uint32_t p = 0; p < n_policies; p++) {
        if (o.reset_env != NULL && (rc = o.reset_env(o.reset_env_payload)) < 0)
            goto fail;
        if ((rc = run_policy(e, &c, &policies[p], p)) < 0)
            goto fail;
    }
    free_bufs(&a, b);
    *out = e;
    return RECO_OK;
fail:
    free_bufs(&a, b);
    reco_eval_free(e);
    return rc;
}

/* ---- statistics --------------------------------------------------------------------------- */

static int measured(const reco_eval *e, reco_eval_metric m)
{
    return (m != RECO_EVAL_HIDES || e->has_hides) && (m != RECO_EVAL_TOPICS || e->has_topics);
}

/* Numerator x and denominator d of metric m for the session at index k = policy * n + i. */
static void session_xd(double *x, double *d, const reco_eval *e, size_t k, reco_eval_metric m)
{
    const double depth = e->depth[k];
    const int deep = e->depth[k] >= e->deep_depth;
    *d = 1.0;
    switch (m) {
    case RECO_EVAL_DEPTH:
        *x = depth;
        break;
    case RECO_EVAL_LONG_WATCHES:
        *x = e->lw[k];
        break;
    case RECO_EVAL_DEEP_SHARE:
        *x = deep;
        break;
    case RECO_EVAL_LONG_WATCHES_DEEP:
        *x = deep ? (double)e->lw[k] : 0.0;
        *d = deep;
        break;
    case RECO_EVAL_DEPTH_DEEP:
        *x = deep ? depth : 0.0;
        *d = deep;
        break;
    case RECO_EVAL_RETURN:
        *x = e->ret[k];
        break;
    case RECO_EVAL_HIDES:
        *x = e->hides[k];
        break;
    default: /* RECO_EVAL_TOPICS */
        *x = e->topics[k];
        break;
    }
}

static void set_nan(reco_eval_stat *s, uint64_t n)
{
    s->mean = s->lo = s->hi = NAN;
    s->n = n;
}

/* mean +- z se, or NaN ends when the variance is undefined (fewer than 2 sessions) */
static void set_interval(reco_eval_stat *s, double mean, double ss, uint32_t n, double z)
{
    s->mean = mean;
    if (n < 2 || !isfinite(ss)) {
        s->lo = s->hi = NAN;
        return;
    }
    const double se = sqrt(ss / (double)(n - 1) / (double)n);
    s->lo = mean - z * se;
    s->hi = mean + z * se;
}

int reco_eval_stat_get(reco_eval_stat *out, const reco_eval *eval, uint32_t policy,
                       reco_eval_metric metric)
{
    static const char fn[] = "reco_eval_stat_get";
    if (out == NULL || eval == NULL)
        return reco__error_set(RECO_EINVAL, "%s: NULL argument", fn);
    if (policy >= eval->n_pol)
        return reco__error_set(RECO_EINVAL, "%s: policy %u is not below %u", fn, policy,
                               eval->n_pol);
    if ((unsigned)metric >= RECO_EVAL_N_METRICS)
        return reco__error_set(RECO_EINVAL, "%s: unknown metric %d", fn, (int)metric);
    if (!measured(eval, metric)) {
        set_nan(out, 0);
        return RECO_OK;
    }
    const uint32_t N = eval->n_ses;
    const size_t base = (size_t)policy * N;
    double sx = 0.0, sd = 0.0, x, d;
    for (uint32_t i = 0; i < N; i++) {
        session_xd(&x, &d, eval, base + i, metric);
        sx += x;
        sd += d;
    }
    if (sd == 0.0) {
        set_nan(out, 0);
        return RECO_OK;
    }
    /* ratio R = sum x / sum d; its linearisation (x_i - R d_i) / dbar has mean 0 */
    const double R = sx / sd, dbar = sd / N;
    double ss = 0.0;
    for (uint32_t i = 0; i < N; i++) {
        session_xd(&x, &d, eval, base + i, metric);
        const double z = (x - R * d) / dbar;
        ss += z * z;
    }
    out->n = (uint64_t)sd;
    set_interval(out, R, ss, N, eval->z);
    return RECO_OK;
}

int reco_eval_lift(reco_eval_stat *relative_out, reco_eval_stat *difference_out,
                   const reco_eval *eval, uint32_t policy, uint32_t baseline,
                   reco_eval_metric metric)
{
    static const char fn[] = "reco_eval_lift";
    if (eval == NULL)
        return reco__error_set(RECO_EINVAL, "%s: eval is NULL", fn);
    if (policy >= eval->n_pol || baseline >= eval->n_pol)
        return reco__error_set(RECO_EINVAL, "%s: policy %u or baseline %u is not below %u", fn,
                               policy, baseline, eval->n_pol);
    if ((unsigned)metric >= RECO_EVAL_N_METRICS)
        return reco__error_set(RECO_EINVAL, "%s: unknown metric %d", fn, (int)metric);
    reco_eval_stat rel, dif;
    const uint32_t N = eval->n_ses;
    set_nan(&rel, N);
    set_nan(&dif, N);
    if (!measured(eval, metric)) {
        rel.n = dif.n = 0;
        goto done;
    }
    const size_t bp = (size_t)policy * N, bb = (size_t)baseline * N;
    double sxp = 0.0, sdp = 0.0, sxb = 0.0, sdb = 0.0, xp, dp, xb, db;
    for (uint32_t i = 0; i < N; i++) {
        session_xd(&xp, &dp, eval, bp + i, metric);
        session_xd(&xb, &db, eval, bb + i, metric);
        sxp += xp;
        sdp += dp;
        sxb += xb;
        sdb += db;
    }
    if (sdp == 0.0 || sdb == 0.0)
        goto done;
    const double Rp = sxp / sdp, Rb = sxb / sdb, dbp = sdp / N, dbb = sdb / N;
    const int rel_ok = Rb != 0.0;
    const double g = rel_ok ? Rp / Rb : 0.0;
    /* Per-session linearisations a_i of R_p and b_i of R_b (mean 0). The difference has
     * influence a - b; the ratio g = R_p / R_b has a / R_b - R_p b / R_b^2 = (a - g b) / R_b
     * (its gradient; written so that identical policies give exactly 0). The sums of their
     * squares are (N - 1) times the gradients' quadratic forms in the sample covariance of
     * (x_p, d_p, x_b, d_b). */
    double ss_rel = 0.0, ss_dif = 0.0;
    for (uint32_t i = 0; i < N; i++) {
        session_xd(&xp, &dp, eval, bp + i, metric);
        session_xd(&xb, &db, eval, bb + i, metric);
        const double ai = (xp - Rp * dp) / dbp, bi = (xb - Rb * db) / dbb;
        ss_dif += (ai - bi) * (ai - bi);
        if (rel_ok) {
            const double q = (ai - g * bi) / Rb;
            ss_rel += q * q;
        }
    }
    set_interval(&dif, Rp - Rb, ss_dif, N, eval->z);
    if (rel_ok)
        set_interval(&rel, g - 1.0, ss_rel, N, eval->z);
done:
    if (relative_out != NULL)
        *relative_out = rel;
    if (difference_out != NULL)
        *difference_out = dif;
    return RECO_OK;
}

int reco_eval_session(double *values_out, const reco_eval *eval, uint32_t policy,
                      uint32_t session)
{
    static const char fn[] = "reco_eval_session";
    if (values_out == NULL || eval == NULL)
        return reco__error_set(RECO_EINVAL, "%s: NULL argument", fn);
    if (policy >= eval->n_pol || session >= eval->n_ses)
        return reco__error_set(RECO_EINVAL, "%s: policy %u or session %u out of range (%u "
                               "policies, %u sessions)", fn, policy, session, eval->n_pol,
                               eval->n_ses);
    const size_t k = (size_t)policy * eval->n_ses + session;
    for (int m = 0; m < RECO_EVAL_N_METRICS; m++) {
        double x, d;
        session_xd(&x, &d, eval, k, (reco_eval_metric)m);
        values_out[m] = measured(eval, (reco_eval_metric)m) && d != 0.0 ? x / d : NAN;
    }
    return RECO_OK;
}

/* ---- reports ------------------------------------------------------------------------------ */

/* Growing text buffer; `err` keeps the first failure (RECO_ENOMEM). */
typedef struct text {
    const reco_allocator *a;
    char *buf;
    size_t len, cap;
    int err;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->err != 0)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap > 0 ? t->cap : 4096;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *nb = reco__alloc(t->a, cap, 0);
        if (nb == NULL) {
            t->err = RECO_ENOMEM;
            return;
        }
        if (t->len > 0)
            memcpy(nb, t->buf, t->len);
        reco__free(t->a, t->buf);
        t->buf = nb;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
}

static void puts_(text *t, const char *s)
{
    put(t, s, strlen(s));
}

static void put_u64(text *t, uint64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    put(t, buf, (size_t)n);
}

/* The shortest "%.Ng" text that reads back as exactly v, with a '.' whatever the locale;
 * non-finite values as `nan_text` ("null" in JSON, "" in CSV). */
static void put_num(text *t, double v, const char *nan_text)
{
    if (!isfinite(v)) {
        puts_(t, nan_text);
        return;
    }
    const struct lconv *lc = localeconv();
    const char point = lc != NULL && lc->decimal_point != NULL && lc->decimal_point[0] != '\0'
                           ? lc->decimal_point[0]
                           : '.';
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    for (char *p = buf; *p != '\0'; p++)
        if (*p == point)
            *p = '.';
    if (strcmp(buf, "-0") == 0)
        strcpy(buf, "0");
    puts_(t, buf);
}

static void put_json_str(text *t, const char *s)
{
    put(t, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            put(t, esc, 2);
        } else if (*p < 0x20) {
            int n = snprintf(esc, sizeof esc, "\\u%04x", *p);
            put(t, esc, (size_t)n);
        } else {
            put(t, (const char *)p, 1);
        }
    }
    put(t, "\"", 1);
}

static void put_csv_str(text *t, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        puts_(t, s);
        return;
    }
    put(t, "\"", 1);
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '"')
            put(t, "\"", 1);
        put(t, p, 1);
    }
    put(t, "\"", 1);
}

/* Names and checks shared by both writers. */
typedef struct report {
    const reco_eval *const *evals;
    uint32_t n_envs, n_pol, baseline;
    const char **env_names, **pol_names; /* resolved */
    char (*fallback)[24];                 /* (n_envs + n_pol) generated names */
    reco_allocator alloc;
} report;

static void report_free(report *r)
{
    reco__free(&r->alloc, r->env_names);
    reco__free(&r->alloc, r->pol_names);
    reco__free(&r->alloc, r->fallback);
}

static int check_unique(const char **names, uint32_t n, const char *what, const char *fn)
{
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                return reco__error_set(RECO_EINVAL, "%s: %s name \"%s\" appears twice", fn,
                                       what, names[i]);
    return RECO_OK;
}

static int report_init(report *r, const reco_eval *const *evals, const char *const *env_names,
                       uint32_t n_envs, const char *const *policy_names, uint32_t baseline,
                       const char *path, const char *fn)
{
    memset(r, 0, sizeof *r);
    if (evals == NULL || path == NULL)
        return reco__error_set(RECO_EINVAL, "%s: NULL evals or path", fn);
    if (n_envs == 0)
        return reco__error_set(RECO_EINVAL, "%s: n_envs is 0", fn);
    for (uint32_t k = 0; k < n_envs; k++) {
        if (evals[k] == NULL)
            return reco__error_set(RECO_EINVAL, "%s: result %u is NULL", fn, k);
        if (evals[k]->n_pol != evals[0]->n_pol || evals[k]->confidence != evals[0]->confidence)
            return reco__error_set(RECO_EINVAL, "%s: result %u has %u policies at confidence "
                                   "%g; result 0 has %u at %g", fn, k, evals[k]->n_pol,
                                   evals[k]->confidence, evals[0]->n_pol,
                                   evals[0]->confidence);
        if (env_names != NULL && env_names[k] == NULL)
            return reco__error_set(RECO_EINVAL, "%s: environment name %u is NULL", fn, k);
    }
    const uint32_t n_pol = evals[0]->n_pol;
    if (baseline >= n_pol)
        return reco__error_set(RECO_EINVAL, "%s: baseline %u is not below the %u policies", fn,
                               baseline, n_pol);
    if (policy_names != NULL)
        for (uint32_t p = 0; p < n_pol; p++)
            if (policy_names[p] == NULL)
                return reco__error_set(RECO_EINVAL, "%s: policy name %u is NULL", fn, p);
    r->evals = evals;
    r->n_envs = n_envs;
    r->n_pol = n_pol;
    r->baseline = baseline;
    r->alloc = evals[0]->alloc;
    r->env_names = reco__calloc(&r->alloc, n_envs, sizeof(char *));
    r->pol_names = reco__calloc(&r->alloc, n_pol, sizeof(char *));
    r->fallback = reco__calloc(&r->alloc, (size_t)n_envs + n_pol, sizeof *r->fallback);
    if (r->env_names == NULL || r->pol_names == NULL || r->fallback == NULL) {
        report_free(r);
        return RECO_ENOMEM;
    }
    for (uint32_t k = 0; k < n_envs; k++) {
        if (env_names != NULL) {
            r->env_names[k] = env_names[k];
        } else {
            snprintf(r->fallback[k], sizeof r->fallback[k], "env%u", k);
            r->env_names[k] = r->fallback[k];
        }
    }
    for (uint32_t p = 0; p < n_pol; p++) {
        if (policy_names != NULL) {
            r->pol_names[p] = policy_names[p];
        } else if (evals[0]->names[p] != NULL) {
            r->pol_names[p] = evals[0]->names[p];
        } else {
            snprintf(r->fallback[n_envs + p], sizeof r->fallback[0], "policy%u", p);
            r->pol_names[p] = r->fallback[n_envs + p];
        }
    }
    int rc = check_unique(r->env_names, n_envs, "environment", fn);
    if (rc == RECO_OK)
        rc = check_unique(r->pol_names, n_pol, "policy", fn);
    if (rc < 0)
        report_free(r);
    return rc;
}

static void json_stat(text *t, const reco_eval_stat *s, int with_n)
{
    puts_(t, "{\"mean\": ");
    put_num(t, s->mean, "null");
    puts_(t, ", \"lo\": ");
    put_num(t, s->lo, "null");
    puts_(t, ", \"hi\": ");
    put_num(t, s->hi, "null");
    if (with_n) {
        puts_(t, ", \"n\": ");
        put_u64(t, s->n);
    }
    puts_(t, "}");
}

static void render_json(text *t, const report *r)
{
    puts_(t, "{\n  \"schema\": \"libreco.eval/1\",\n  \"confidence\": ");
    put_num(t, r->evals[0]->confidence, "null");
    puts_(t, ",\n  \"baseline\": ");
    put_json_str(t, r->pol_names[r->baseline]);
    puts_(t, ",\n  \"environments\": {");
    for (uint32_t k = 0; k < r->n_envs; k++) {
        const reco_eval *e = r->evals[k];
        puts_(t, k > 0 ? ",\n    " : "\n    ");
        put_json_str(t, r->env_names[k]);
        puts_(t, ": {\n      \"sessions\": ");
        put_u64(t, e->n_ses);
        puts_(t, ",\n      \"policies\": {");
        for (uint32_t p = 0; p < r->n_pol; p++) {
            puts_(t, p > 0 ? ",\n        " : "\n        ");
            put_json_str(t, r->pol_names[p]);
            puts_(t, ": {");
            for (int m = 0; m < RECO_EVAL_N_METRICS; m++) {
                reco_eval_stat s;
                reco_eval_stat_get(&s, e, p, (reco_eval_metric)m);
                puts_(t, m > 0 ? ",\n          \"" : "\n          \"");
                puts_(t, reco_eval_metric_name((reco_eval_metric)m));
                puts_(t, "\": ");
                json_stat(t, &s, 1);
            }
            puts_(t, "\n        }");
        }
        puts_(t, "\n      },\n      \"lifts\": {");
        int first = 1;
        for (uint32_t p = 0; p < r->n_pol; p++) {
            if (p == r->baseline)
                continue;
            puts_(t, first ? "\n        " : ",\n        ");
            first = 0;
            put_json_str(t, r->pol_names[p]);
            puts_(t, ": {");
            for (int m = 0; m < RECO_EVAL_N_METRICS; m++) {
                reco_eval_stat rel, dif;
                reco_eval_lift(&rel, &dif, e, p, r->baseline, (reco_eval_metric)m);
                puts_(t, m > 0 ? ",\n          \"" : "\n          \"");
                puts_(t, reco_eval_metric_name((reco_eval_metric)m));
                puts_(t, "\": {\"relative\": ");
                json_stat(t, &rel, 0);
                puts_(t, ", \"difference\": ");
                json_stat(t, &dif, 0);
                puts_(t, "}");
            }
            puts_(t, "\n        }");
        }
        puts_(t, first ? "}\n    }" : "\n      }\n    }");
    }
    puts_(t, "\n  }\n}\n");
}

static void render_csv(text *t, const report *r)
{
    puts_(t, "env,policy,metric,mean,lo,hi,n,lift_rel,lift_rel_lo,lift_rel_hi,diff,diff_lo,"
             "diff_hi\n");
    for (uint32_t k = 0; k < r->n_envs; k++)
        for (uint32_t p = 0; p < r->n_pol; p++)
            for (int m = 0; m < RECO_EVAL_N_METRICS; m++) {
                reco_eval_stat s, rel, dif;
                reco_eval_stat_get(&s, r->evals[k], p, (reco_eval_metric)m);
                put_csv_str(t, r->env_names[k]);
                puts_(t, ",");
                put_csv_str(t, r->pol_names[p]);
                puts_(t, ",");
                puts_(t, reco_eval_metric_name((reco_eval_metric)m));
                const double v[3] = {s.mean, s.lo, s.hi};
                for (int j = 0; j < 3; j++) {
                    puts_(t, ",");
                    put_num(t, v[j], "");
                }
                puts_(t, ",");
                put_u64(t, s.n);
                if (p == r->baseline) {
                    puts_(t, ",,,,,,\n");
                    continue;
                }
                reco_eval_lift(&rel, &dif, r->evals[k], p, r->baseline, (reco_eval_metric)m);
                const double l[6] = {rel.mean, rel.lo, rel.hi, dif.mean, dif.lo, dif.hi};
                for (int j = 0; j < 6; j++) {
                    puts_(t, ",");
                    put_num(t, l[j], "");
                }
                puts_(t, "\n");
            }
}

static int write_report(const reco_eval *const *evals, const char *const *env_names,
                        uint32_t n_envs, const char *const *policy_names, uint32_t baseline,
                        const char *path, int json, const char *fn)
{
    report r;
    int rc = report_init(&r, evals, env_names, n_envs, policy_names, baseline, path, fn);
    if (rc < 0)
        return rc;
    text t = {&r.alloc, NULL, 0, 0, 0};
    if (json)
        render_json(&t, &r);
    else
        render_csv(&t, &r);
    if (t.err != 0) {
        rc = t.err;
    } else {
        reco__atomic_file f;
        rc = reco__atomic_open(&f, &r.alloc, path);
        if (rc == RECO_OK)
            rc = reco__atomic_commit(&f, reco__write_all(f.fd, t.buf, t.len),
                                     "cannot write the evaluation report");
    }
    reco__free(&r.alloc, t.buf);
    report_free(&r);
    return rc;
}

int reco_eval_write_json(const reco_eval *const *evals, const char *const *env_names,
                         uint32_t n_envs, const char *const *policy_names, uint32_t baseline,
                         const char *path)
{
    return write_report(evals, env_names, n_envs, policy_names, baseline, path, 1,
                        "reco_eval_write_json");
}

int reco_eval_write_csv(const reco_eval *const *evals, const char *const *env_names,
                        uint32_t n_envs, const char *const *policy_names, uint32_t baseline,
                        const char *path)
{
    return write_report(evals, env_names, n_envs, policy_names, baseline, path, 0,
                        "reco_eval_write_csv");
}

/* ---- concatenation ------------------------------------------------------------------------ */

int reco_eval_concat(reco_eval **out, const reco_eval *const *parts, uint32_t n_parts)
{
    static const char fn[] = "reco_eval_concat";
    if (out == NULL || parts == NULL)
        return reco__error_set(RECO_EINVAL, "%s: NULL %s", fn, out == NULL ? "out" : "parts");
    *out = NULL;
    if (n_parts == 0)
        return reco__error_set(RECO_EINVAL, "%s: n_parts is 0", fn);
    uint64_t n_ses = 0;
    for (uint32_t k = 0; k < n_parts; k++) {
        const reco_eval *q = parts[k];
        if (q == NULL)
            return reco__error_set(RECO_EINVAL, "%s: part %u is NULL", fn, k);
        const reco_eval *p0 = parts[0];
        if (q->n_pol != p0->n_pol || q->confidence != p0->confidence ||
            q->deep_depth != p0->deep_depth || q->has_hides != p0->has_hides ||
            q->has_topics != p0->has_topics)
            return reco__error_set(RECO_EINVAL, "%s: part %u differs from part 0 in its number "
                                   "of policies, confidence, deep_depth or measured metrics",
                                   fn, k);
        n_ses += q->n_ses;
    }
    if (n_ses > UINT32_MAX)
        return reco__error_set(RECO_EINVAL, "%s: more than 2^32-1 sessions in all", fn);
    const reco_eval *p0 = parts[0];
    reco_allocator a = p0->alloc;
    reco_eval *e = reco__calloc(&a, 1, sizeof *e);
    if (e == NULL)
        return RECO_ENOMEM;
    reco__handle_acquire(); /* balanced by reco_eval_free, also on failure below */
    e->alloc = a;
    e->n_pol = p0->n_pol;
    e->n_ses = (uint32_t)n_ses;
    e->confidence = p0->confidence;
    e->z = p0->z;
    e->deep_depth = p0->deep_depth;
    e->has_hides = p0->has_hides;
    e->has_topics = p0->has_topics;
    const size_t total = (size_t)e->n_pol * e->n_ses;
    e->names = reco__calloc(&a, e->n_pol, sizeof(char *));
    e->depth = reco__calloc(&a, total, sizeof(uint32_t));
    e->lw = reco__calloc(&a, total, sizeof(uint32_t));
    e->hides = reco__calloc(&a, total, sizeof(uint32_t));
    e->topics = reco__calloc(&a, total, sizeof(uint32_t));
    e->ret = reco__calloc(&a, total, sizeof(double));
    int failed = e->names == NULL || e->depth == NULL || e->lw == NULL || e->hides == NULL ||
                 e->topics == NULL || e->ret == NULL;
    for (uint32_t p = 0; !failed && p < e->n_pol; p++)
        failed = p0->names[p] != NULL &&
                 (e->names[p] = reco__strdup(&a, p0->names[p])) == NULL;
    if (failed) {
        reco_eval_free(e);
        return RECO_ENOMEM;
    }
    for (uint32_t p = 0; p < e->n_pol; p++) {
        size_t at = (size_t)p * e->n_ses;
        for (uint32_t k = 0; k < n_parts; k++) {
            const reco_eval *q = parts[k];
            const size_t from = (size_t)p * q->n_ses, n = q->n_ses;
            memcpy(e->depth + at, q->depth + from, n * sizeof(uint32_t));
            memcpy(e->lw + at, q->lw + from, n * sizeof(uint32_t));
            memcpy(e->hides + at, q->hides + from, n * sizeof(uint32_t));
            memcpy(e->topics + at, q->topics + from, n * sizeof(uint32_t));
            memcpy(e->ret + at, q->ret + from, n * sizeof(double));
            at += n;
        }
    }
    *out = e;
    return RECO_OK;
}
