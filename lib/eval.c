/* reco_eval: several policies played in turn for the same sessions with common random
 * numbers, per-session metrics, ratio estimates with delta-method intervals, paired lifts,
 * and the JSON / CSV reports (see include/reco/eval.h and docs/eval.md for the formulas). */
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_private.h"
#include "detmath_private.h"
#include "env_private.h"
#include "error_private.h"
#include "eval_private.h"
#include "file_private.h"
#include "policy_private.h"
#include "runner_private.h"
#include "reco/eval.h"

/* Topics are counted in a per-slot bitmap of (max topic + 1) bits, cleared at each session's
 * end; the bound keeps that clear cheap and the bitmap small. */
#define MAX_TOPIC (1u << 20)

/* Longest metric label: a signal's name and "_deep", with the NUL. */
#define LABEL_CAP (RECO_SIGNAL_NAME_MAX + 6)

/* What metric m of a result measures, per session: x_i and d_i (session_xd()). */
typedef enum metric_kind {
    MK_DEPTH = 0,       /* depth, d = 1 */
    MK_SIGNAL = 1,      /* count of signal `arg`, d = 1 */
    MK_DEEP_SHARE = 2,  /* [deep], d = 1 */
    MK_SIGNAL_DEEP = 3, /* count of signal `arg` if deep, d = [deep] */
    MK_DEPTH_DEEP = 4,  /* depth if deep, d = [deep] */
    MK_RETURN = 5,      /* sum of the rewards, d = 1 */
    MK_TOPICS = 6,      /* distinct topics shown, d = 1 */
    MK_USER = 7         /* user metric `arg`: its value, d = [not NaN] */
} metric_kind;

/* Fully initialised (calloc'd, labels zero-padded) so that reco_eval_concat() compares them
 * with memcmp. */
typedef struct metric_def {
    uint32_t kind;     /* metric_kind */
    uint32_t arg;      /* the signal (MK_SIGNAL*) or the user metric (MK_USER) */
    int32_t measured;  /* 0: NaN with n = 0 (a 0.1 metric without its signal or topics) */
    int32_t listed;    /* written in the reports */
    char label[LABEL_CAP];
} metric_def;

struct reco_eval {
    reco_allocator alloc;
    uint32_t n_pol, n_ses;
    double confidence, z;
    uint32_t deep_depth;
    int has_topics;
    uint32_t n_sig, n_user, n_met;
    metric_def *mets; /* (n_met) */
    char **names;     /* (n_pol), entries NULL for unnamed policies */
    /* per session, session-major within a policy: (n_pol, n_ses) or (n_pol, n_ses, width) */
    uint32_t *depth, *topics, *sig; /* sig: (.., n_sig) counts of each signal */
    double *ret, *user;             /* user: (.., n_user) the user metrics' values */
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
        const double q = sqrt(-2.0 * reco__log(p < p_low ? p : 1.0 - p));
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
    const double u = e * sqrt2pi * reco__exp(x * x / 2.0);
    return x - u / (1.0 + x * u / 2.0);
}

/* ---- options ------------------------------------------------------------------------------ */

/* Bytes of a caller's options of `version`: fields past it are never read or written. */
static size_t options_size(unsigned int version)
{
    return version >= 2 ? sizeof(reco_eval_options)
                        : offsetof(reco_eval_options, user_metric_names);
}

int reco_eval_options_init(reco_eval_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_eval_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_EVAL_OPTIONS_VERSION, "reco_eval_options");
    if (rc < 0)
        return rc;
    reco_eval_options d = RECO_EVAL_OPTIONS_INIT;
    d.version = version;
    if (version < 2) { /* version 1 named the built-in world's bits */
        d.long_watch_signal = RECO_SIGNAL_LONG_WATCH;
        d.hide_signal = RECO_SIGNAL_HIDE;
    }
    memcpy(opts, &d, options_size(version));
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
    if (o->long_watch_signal != RECO_EVAL_SIGNAL_BY_NAME && o->long_watch_signal >= nsig)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "eval.long_watch_signal",
                                  "%u is neither RECO_EVAL_SIGNAL_BY_NAME nor a signal of the "
                                  "env (it has %u)", o->long_watch_signal, env->n_signals);
    if (o->hide_signal != -1 && o->hide_signal != RECO_EVAL_SIGNAL_BY_NAME &&
        (o->hide_signal < 0 || (uint32_t)o->hide_signal >= nsig))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "eval.hide_signal",
                                  "%d is neither -1, RECO_EVAL_SIGNAL_BY_NAME nor a signal of "
                                  "the env (it has %u)", o->hide_signal, env->n_signals);
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
    const uint32_t U = o->n_user_metrics;
    if (U > RECO_EVAL_MAX_USER_METRICS)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "eval.n_user_metrics",
                                  "%u is out of range [0, %d]", U, RECO_EVAL_MAX_USER_METRICS);
    if ((o->user_metric_names == NULL) != (U == 0))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "eval.user_metric_names",
                                  "user_metric_names and n_user_metrics (%u) must be both set "
                                  "or both unset", U);
    if ((o->user_metrics == NULL) != (U == 0))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "eval.user_metrics",
                                  "the callback is %s with %u user metrics",
                                  o->user_metrics == NULL ? "NULL" : "set", U);
    for (uint32_t u = 0; u < U; u++) {
        const char *nm = o->user_metric_names[u];
        if (nm == NULL)
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "eval.user_metric_names",
                                      "name %u is NULL", u);
        if (!reco__env_name_ok(nm))
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "eval.user_metric_names",
                                      "name %u \"%.40s\" is not a name (1..%d characters of "
                                      "[a-z0-9_], from a letter)", u, nm, RECO_SIGNAL_NAME_MAX);
    }
    return RECO_OK;
}

/* ---- the metrics of a result -------------------------------------------------------------- */

static int signals_named(const reco_env *env)
{
    return env->version >= 4 && env->signal_names != NULL;
}

/* The signal a 0.1 metric counts: the option `opt` as given, or with
 * RECO_EVAL_SIGNAL_BY_NAME the env's signal called `name` (from an env without names,
 * signal `fallback` when it has one); -1 for none. */
static int32_t resolve_signal(const reco_env *env, int64_t opt, const char *name,
                              uint32_t fallback)
{
    if (opt != RECO_EVAL_SIGNAL_BY_NAME)
        return (int32_t)opt;
    if (!signals_named(env))
        return fallback < env->n_signals ? (int32_t)fallback : -1;
    for (uint32_t f = 0; f < env->n_signals; f++)
        if (strcmp(reco_env_signal_name(env, f), name) == 0)
            return (int32_t)f;
    return -1;
}

static void set_metric(metric_def *m, metric_kind kind, uint32_t arg, int measured, int listed,
                       const char *label, const char *suffix)
{
    m->kind = kind;
    m->arg = arg;
    m->measured = measured;
    m->listed = listed;
    snprintf(m->label, sizeof m->label, "%s%s", label, suffix);
}

/* What a clashing metric is, for a message. */
static void describe_metric(char *buf, size_t cap, const metric_def *m, uint32_t index)
{
    if (index < RECO_EVAL_N_METRICS)
        snprintf(buf, cap, "a metric of the evaluator");
    else if (m->kind == MK_SIGNAL)
        snprintf(buf, cap, "the count of the env's signal %u", m->arg);
    else if (m->kind == MK_SIGNAL_DEEP)
        snprintf(buf, cap, "the count per deep session of the env's signal %u", m->arg);
    else
        snprintf(buf, cap, "user metric %u", m->arg);
}

/* Fills e->mets (e->n_met entries, zeroed): the 0.1 metrics, each signal's count and deep count
 * when the env names its signals, the user metrics; refuses two metrics of one name. */
static int build_metrics(reco_eval *e, const reco_env *env, const reco_eval_options *o,
                         const char *fn)
{
    const int named = signals_named(env);
    const int32_t L = resolve_signal(env, o->long_watch_signal, "long_watch",
                                     RECO_SIGNAL_LONG_WATCH);
    const int32_t H = resolve_signal(env, o->hide_signal, "hide", RECO_SIGNAL_HIDE);
    metric_def *m = e->mets;
    /* The 0.1 metrics: all of them in the reports of an env without names, as in 0.1; the
     * measured ones for the others. */
    const struct {
        metric_kind kind;
        int32_t arg;
        int measured;
    } v1[RECO_EVAL_N_METRICS] = {
        {MK_DEPTH, 0, 1},              /* RECO_EVAL_DEPTH */
        {MK_SIGNAL, L, L >= 0},        /* RECO_EVAL_LONG_WATCHES */
        {MK_DEEP_SHARE, 0, 1},         /* RECO_EVAL_DEEP_SHARE */
        {MK_SIGNAL_DEEP, L, L >= 0},   /* RECO_EVAL_LONG_WATCHES_DEEP */
        {MK_DEPTH_DEEP, 0, 1},         /* RECO_EVAL_DEPTH_DEEP */
        {MK_RETURN, 0, 1},             /* RECO_EVAL_RETURN */
        {MK_SIGNAL, H, H >= 0},        /* RECO_EVAL_HIDES */
        {MK_TOPICS, 0, e->has_topics}, /* RECO_EVAL_TOPICS */
    };
    for (uint32_t i = 0; i < RECO_EVAL_N_METRICS; i++)
        set_metric(&m[i], v1[i].kind, v1[i].arg >= 0 ? (uint32_t)v1[i].arg : 0, v1[i].measured,
                   !named || v1[i].measured, reco_eval_metric_name((reco_eval_metric)i), "");
    uint32_t at = RECO_EVAL_N_METRICS;
    if (named) {
        for (uint32_t f = 0; f < e->n_sig; f++)
            set_metric(&m[at++], MK_SIGNAL, f, 1, 1, reco_env_signal_name(env, f), "");
        for (uint32_t f = 0; f < e->n_sig; f++)
            set_metric(&m[at++], MK_SIGNAL_DEEP, f, 1, 1, reco_env_signal_name(env, f), "_deep");
    }
    for (uint32_t u = 0; u < e->n_user; u++)
        set_metric(&m[at++], MK_USER, u, 1, 1, o->user_metric_names[u], "");
    for (uint32_t j = 1; j < e->n_met; j++)
        for (uint32_t i = 0; i < j; i++) {
            if (strcmp(m[i].label, m[j].label) != 0)
                continue;
            char what[80];
            describe_metric(what, sizeof what, &m[i], i);
            if (m[j].kind == MK_USER)
                return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "eval.user_metric_names",
                                          "%s: user metric %u is named \"%s\" like %s", fn,
                                          m[j].arg, m[j].label, what);
            return reco__error_set(RECO_EINVAL, "%s: the env's signal %u \"%s\" gives a metric "
                                   "named \"%s\" like %s", fn, m[j].arg,
                                   reco_env_signal_name(env, m[j].arg), m[j].label, what);
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
    void *bufs[] = {eval->names, eval->mets, eval->depth, eval->topics, eval->sig, eval->ret,
                    eval->user};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        reco__free(&a, bufs[i]);
    reco__free(&a, eval);
    reco__handle_release();
}

/* A result with its buffers for n_pol x n_ses sessions and n_met metrics (names and metric
 * definitions zeroed); NULL when out of memory, with nothing left to free. */
static reco_eval *result_new(const reco_allocator *a, uint32_t n_pol, uint32_t n_ses,
                             uint32_t n_sig, uint32_t n_user, uint32_t n_met)
{
    reco_eval *e = reco__calloc(a, 1, sizeof *e);
    if (e == NULL)
        return NULL;
    reco__handle_acquire(); /* balanced by reco_eval_free, also on failure below */
    e->alloc = *a;
    e->n_pol = n_pol;
    e->n_ses = n_ses;
    e->n_sig = n_sig;
    e->n_user = n_user;
    e->n_met = n_met;
    const size_t total = (size_t)n_pol * n_ses;
    e->names = reco__calloc(a, n_pol, sizeof(char *));
    e->mets = reco__calloc(a, n_met, sizeof(metric_def));
    e->depth = reco__calloc(a, total, sizeof(uint32_t));
    e->topics = reco__calloc(a, total, sizeof(uint32_t));
    e->sig = reco__calloc(a, total * n_sig, sizeof(uint32_t));
    e->ret = reco__calloc(a, total, sizeof(double));
    e->user = n_user > 0 ? reco__calloc(a, total * n_user, sizeof(double)) : NULL;
    if (e->names == NULL || e->mets == NULL || e->depth == NULL || e->topics == NULL ||
        e->sig == NULL || e->ret == NULL || (n_user > 0 && e->user == NULL)) {
        reco_eval_free(e);
        return NULL;
    }
    return e;
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

uint32_t reco_eval_n_metrics(const reco_eval *eval)
{
    return eval != NULL ? eval->n_met : 0;
}

const char *reco_eval_metric_label(const reco_eval *eval, uint32_t metric)
{
    if (eval == NULL || metric >= eval->n_met)
        return NULL;
    return eval->mets[metric].label;
}

int reco_eval_metric_index(uint32_t *out, const reco_eval *eval, const char *name)
{
    static const char fn[] = "reco_eval_metric_index";
    if (out == NULL || eval == NULL || name == NULL)
        return reco__error_set(RECO_EINVAL, "%s: NULL argument", fn);
    for (uint32_t m = 0; m < eval->n_met; m++)
        if (strcmp(eval->mets[m].label, name) == 0) {
            *out = m;
            return RECO_OK;
        }
    char known[768];
    size_t len = 0;
    known[0] = '\0';
    for (uint32_t m = 0; m < eval->n_met && len + LABEL_CAP + 8 < sizeof known; m++)
        len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", m > 0 ? ", " : "",
                                eval->mets[m].label);
    return reco__error_set(RECO_EINVAL, "%s: no metric named \"%.40s\" (the result has %s%s)",
                           fn, name, known, len + LABEL_CAP + 8 < sizeof known ? "" : ", ...");
}

/* ---- the accumulator: per-session metrics of the running sessions ------------------------- */

/* Turns the steps of the sessions running in the slots into per-session metrics, apart from
 * the loop that plays them: acc_begin() when a slot starts a session, acc_step() after each
 * batched step, acc_end() when a slot's session is over. */
typedef struct eval_acc {
    reco_eval *e;
    const reco_eval_options *o;
    uint32_t S, U;          /* signals, user metrics */
    size_t W;               /* words of a topic bitmap; 0 without topics */
    uint32_t *depth, *ntop; /* (P) */
    uint32_t *sig;          /* (P, S) */
    double *ret;            /* (P) */
    double *user;           /* (P, U) running values of the user metrics, per slot */
    double *rows;           /* (P, U) the same, in the order of a batch's rows */
    uint64_t *seen;         /* (P, W) topic bitmaps */
} eval_acc;

static int acc_init(eval_acc *a, const reco_allocator *al, reco_eval *e,
                    const reco_eval_options *o, uint32_t P, uint32_t max_topic)
{
    memset(a, 0, sizeof *a);
    a->e = e;
    a->o = o;
    a->S = e->n_sig;
    a->U = e->n_user;
    a->W = e->has_topics ? (size_t)(max_topic >> 6) + 1 : 0;
    a->depth = reco__calloc(al, P, sizeof(uint32_t));
    a->ntop = reco__calloc(al, P, sizeof(uint32_t));
    a->sig = reco__calloc(al, (size_t)P * a->S, sizeof(uint32_t));
    a->ret = reco__calloc(al, P, sizeof(double));
    a->user = a->U > 0 ? reco__calloc(al, (size_t)P * a->U, sizeof(double)) : NULL;
    a->rows = a->U > 0 ? reco__calloc(al, (size_t)P * a->U, sizeof(double)) : NULL;
    a->seen = a->W > 0 ? reco__calloc(al, (size_t)P * a->W, sizeof(uint64_t)) : NULL;
    if (a->depth == NULL || a->ntop == NULL || a->sig == NULL || a->ret == NULL ||
        (a->U > 0 && (a->user == NULL || a->rows == NULL)) || (a->W > 0 && a->seen == NULL))
        return RECO_ENOMEM;
    return RECO_OK;
}

static void acc_free(eval_acc *a, const reco_allocator *al)
{
    void *all[] = {a->depth, a->ntop, a->sig, a->ret, a->user, a->rows, a->seen};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        reco__free(al, all[i]);
}

static void acc_begin(eval_acc *a, uint32_t slot)
{
    a->depth[slot] = 0;
    a->ntop[slot] = 0;
    a->ret[slot] = 0.0;
    memset(a->sig + (size_t)slot * a->S, 0, a->S * sizeof(uint32_t));
    if (a->U > 0)
        memset(a->user + (size_t)slot * a->U, 0, a->U * sizeof(double));
    if (a->W > 0)
        memset(a->seen + (size_t)slot * a->W, 0, a->W * sizeof(uint64_t));
}

/* One batched step: rows[i] is the step of the session running in slots[i]. The items have
 * topics (checked by the loop before the env stepped). */
static int acc_step(eval_acc *a, const uint32_t *slots, const reco_run_step *rows, uint32_t n)
{
    const uint32_t S = a->S, U = a->U;
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t sl = slots[i], fb = rows[i].feedback;
        uint32_t *c = a->sig + (size_t)sl * S;
        a->depth[sl]++;
        for (uint32_t f = 0; f < S; f++)
            c[f] += (fb >> f) & 1u;
        a->ret[sl] += rows[i].reward;
        if (a->W > 0) {
            const uint32_t t = a->o->item_topics[rows[i].item];
            uint64_t *w = a->seen + (size_t)sl * a->W + (t >> 6);
            const uint64_t bit = 1ULL << (t & 63);
            if (!(*w & bit)) {
                *w |= bit;
                a->ntop[sl]++;
            }
        }
    }
    if (U == 0)
        return RECO_OK;
    for (uint32_t i = 0; i < n; i++)
        memcpy(a->rows + (size_t)i * U, a->user + (size_t)slots[i] * U, U * sizeof(double));
    uint64_t gen = 0;
    const int rc = RECO__CALLBACK(gen, "the evaluation's user_metrics()",
                                  a->o->user_metrics(a->rows, U, rows, n,
                                                     a->o->user_metrics_payload));
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < n; i++)
        memcpy(a->user + (size_t)slots[i] * U, a->rows + (size_t)i * U, U * sizeof(double));
    return RECO_OK;
}

/* The session of `slot` is over: its metrics become session k of policy p. */
static int acc_end(eval_acc *a, uint32_t slot, uint32_t p, uint32_t k)
{
    reco_eval *e = a->e;
    const size_t at = (size_t)p * e->n_ses + k;
    e->depth[at] = a->depth[slot];
    e->topics[at] = a->ntop[slot];
    e->ret[at] = a->ret[slot];
    memcpy(e->sig + at * a->S, a->sig + (size_t)slot * a->S, a->S * sizeof(uint32_t));
    for (uint32_t u = 0; u < a->U; u++) {
        const double v = a->user[(size_t)slot * a->U + u];
        if (isinf(v))
            return reco__error_set(RECO_EINVAL, "reco_eval_run: user metric \"%s\" is %g for "
                                   "session %u of policy %u (NaN leaves a session out; "
                                   "infinities are refused)",
                                   e->mets[e->n_met - a->U + u].label, v, k, p);
        e->user[at * a->U + u] = v;
    }
    return RECO_OK;
}

/* ---- the loop: the session runner with the accumulator as a sink --------------------- */

typedef struct run_ctx {
    const reco_eval_options *o;
    reco_eval *e;
    const uint64_t *users;
    uint32_t n_users, P, pi;
    uint32_t *sess;              /* (P) each slot's session */
    uint8_t *begun;              /* (P) the slot had a session in this policy's run */
    reco_run_step *rows;         /* (P) the rows of a step, for the accumulator */
    uint64_t finished, next_report, report_every;
    eval_acc acc;
} run_ctx;

/* The fixed schedule: slot p plays sessions p, p + P, p + 2P, ... */
static int eval_schedule(void *payload, uint32_t slot, uint64_t *user_out,
                         uint64_t *session_out)
{
    run_ctx *c = payload;
    const uint64_t k = c->begun[slot] ? (uint64_t)c->sess[slot] + c->P : slot;
    if (k >= c->n_users)
        return 0;
    c->begun[slot] = 1;
    c->sess[slot] = (uint32_t)k;
    acc_begin(&c->acc, slot);
    *user_out = c->users[k];
    *session_out = k;
    return 1;
}

static int eval_before_step(void *payload, const reco__round *r)
{
    run_ctx *c = payload;
    if (!c->e->has_topics)
        return RECO_OK;
    for (uint32_t i = 0; i < r->n; i++)
        if (r->shown[i] < 0 || (uint32_t)r->shown[i] >= c->o->n_item_topics)
            return reco__error_set(RECO_EINVAL, "reco_eval_run: item %d has no topic (%u "
                                   "topics)", r->shown[i], c->o->n_item_topics);
    return RECO_OK;
}

static int eval_after_step(void *payload, const reco__round *r)
{
    run_ctx *c = payload;
    for (uint32_t i = 0; i < r->n; i++) {
        const reco_run_step row = {(uint32_t)r->sessions[i], r->steps[i], r->shown[i], r->fb[i],
                                   r->reward[i], r->done[i]};
        c->rows[i] = row;
    }
    return acc_step(&c->acc, r->slots, c->rows, r->n);
}

static int eval_on_row(void *payload, const reco__round *r, uint32_t i)
{
    run_ctx *c = payload;
    if (!r->over[i])
        return RECO_OK;
    c->finished++;
    return acc_end(&c->acc, r->slots[i], c->pi, (uint32_t)r->sessions[i]);
}

static int eval_after_round(void *payload)
{
    run_ctx *c = payload;
    const reco_eval_options *o = c->o;
    if (o->progress != NULL && c->finished >= c->next_report && c->finished < c->n_users) {
        o->progress(c->pi, c->finished, o->progress_payload);
        c->next_report = c->finished + c->report_every;
    }
    return RECO_OK;
}

/* Plays every session of the list with one policy on the fixed schedule. */
static int run_policy(run_ctx *c, const reco_env *env, const reco_policy *policy, uint32_t pi,
                      const reco_allocator *a)
{
    const reco_eval_options *o = c->o;
    c->pi = pi;
    c->finished = 0;
    c->report_every = c->n_users / 100 > 0 ? c->n_users / 100 : 1;
    c->next_report = c->report_every;
    memset(c->begun, 0, c->P);
    const reco__sink sink = {eval_before_step, eval_after_step, eval_on_row, c};
    reco__runner_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.env = env;
    cfg.policy = policy;
    cfg.P = c->P;
    cfg.C = o->max_candidates;
    cfg.max_steps = o->max_steps;
    cfg.order = RECO__ROWS_KEEP_THEN_NEW;
    cfg.observe = 1;
    cfg.fn = "reco_eval_run";
    char who[32];
    snprintf(who, sizeof who, "policy %u", pi);
    cfg.who = who;
    cfg.schedule = eval_schedule;
    cfg.schedule_payload = c;
    cfg.sinks = &sink;
    cfg.n_sinks = 1;
    reco__runner *r = NULL;
    int rc = reco__runner_create(&r, a, &cfg);
    if (rc == RECO_OK && (rc = reco__runner_start(r)) == RECO_OK)
        rc = reco__runner_run(r, eval_after_round, c);
    reco__runner_free(r);
    if (rc == RECO_OK && o->progress != NULL)
        o->progress(pi, c->finished, o->progress_payload);
    return rc;
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
        memcpy(&o, opts, options_size(opts->version));
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

    const uint32_t S = env->n_signals, U = o.n_user_metrics;
    const uint32_t n_met = RECO_EVAL_N_METRICS + (signals_named(env) ? 2 * S : 0) + U;
    reco_eval *e = result_new(&a, n_policies, n_users, S, U, n_met);
    if (e == NULL)
        return RECO_ENOMEM;
    e->confidence = o.confidence;
    e->z = reco__normal_quantile(0.5 + o.confidence / 2.0);
    e->deep_depth = o.deep_depth;
    e->has_topics = o.item_topics != NULL;
    run_ctx c;
    memset(&c, 0, sizeof c);
    if ((rc = build_metrics(e, env, &o, fn)) < 0)
        goto fail;
    c.o = &o;
    c.e = e;
    c.users = users;
    c.n_users = n_users;
    c.P = P;
    c.sess = reco__calloc(&a, P, sizeof(uint32_t));
    c.begun = reco__calloc(&a, P, sizeof(uint8_t));
    c.rows = reco__calloc(&a, P, sizeof(reco_run_step));
    const int acc_rc = acc_init(&c.acc, &a, e, &o, P, max_topic);
    if (c.sess == NULL || c.begun == NULL || c.rows == NULL || acc_rc < 0) {
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
        uint64_t cb_gen = 0;
        if (o.reset_env != NULL &&
            (rc = RECO__CALLBACK(cb_gen, "the evaluation's reset_env()",
                                 o.reset_env(o.reset_env_payload))) < 0)
            goto fail;
        if ((rc = run_policy(&c, env, &policies[p], p, &a)) < 0)
            goto fail;
    }
    rc = RECO_OK;
fail:
    reco__free(&a, c.sess);
    reco__free(&a, c.begun);
    reco__free(&a, c.rows);
    acc_free(&c.acc, &a);
    if (rc < 0) {
        reco_eval_free(e);
        return rc;
    }
    *out = e;
    return RECO_OK;
}

/* ---- statistics --------------------------------------------------------------------------- */

static int measured(const reco_eval *e, uint32_t m)
{
    return e->mets[m].measured;
}

/* Numerator x and denominator d of metric m for the session at index k = policy * n + i. */
static void session_xd(double *x, double *d, const reco_eval *e, size_t k, uint32_t m)
{
    const metric_def *md = &e->mets[m];
    const double depth = e->depth[k];
    const int deep = e->depth[k] >= e->deep_depth;
    *d = 1.0;
    switch ((metric_kind)md->kind) {
    case MK_DEPTH:
        *x = depth;
        break;
    case MK_SIGNAL:
        *x = e->sig[k * e->n_sig + md->arg];
        break;
    case MK_DEEP_SHARE:
        *x = deep;
        break;
    case MK_SIGNAL_DEEP:
        *x = deep ? (double)e->sig[k * e->n_sig + md->arg] : 0.0;
        *d = deep;
        break;
    case MK_DEPTH_DEEP:
        *x = deep ? depth : 0.0;
        *d = deep;
        break;
    case MK_RETURN:
        *x = e->ret[k];
        break;
    case MK_TOPICS:
        *x = e->topics[k];
        break;
    default: { /* MK_USER: NaN leaves the session out */
        const double v = e->user[k * e->n_user + md->arg];
        *x = isnan(v) ? 0.0 : v;
        *d = isnan(v) ? 0.0 : 1.0;
        break;
    }
    }
}

/* x_i / d_i of metric m for the session at index k; NaN where undefined. */
static double session_value(const reco_eval *e, size_t k, uint32_t m)
{
    double x, d;
    session_xd(&x, &d, e, k, m);
    return measured(e, m) && d != 0.0 ? x / d : NAN;
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
    if ((unsigned)metric >= eval->n_met)
        return reco__error_set(RECO_EINVAL, "%s: unknown metric %d (the result has %u)", fn,
                               (int)metric, eval->n_met);
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
    if ((unsigned)metric >= eval->n_met)
        return reco__error_set(RECO_EINVAL, "%s: unknown metric %d (the result has %u)", fn,
                               (int)metric, eval->n_met);
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
    for (uint32_t m = 0; m < RECO_EVAL_N_METRICS; m++)
        values_out[m] = session_value(eval, k, m);
    return RECO_OK;
}

int reco_eval_session_values(double *values_out, uint32_t n_values, const reco_eval *eval,
                             uint32_t policy, uint32_t session)
{
    static const char fn[] = "reco_eval_session_values";
    if (values_out == NULL || eval == NULL)
        return reco__error_set(RECO_EINVAL, "%s: NULL argument", fn);
    if (n_values > eval->n_met)
        return reco__error_set(RECO_EINVAL, "%s: n_values %u is more than the result's %u "
                               "metrics", fn, n_values, eval->n_met);
    if (policy >= eval->n_pol || session >= eval->n_ses)
        return reco__error_set(RECO_EINVAL, "%s: policy %u or session %u out of range (%u "
                               "policies, %u sessions)", fn, policy, session, eval->n_pol,
                               eval->n_ses);
    const size_t k = (size_t)policy * eval->n_ses + session;
    for (uint32_t m = 0; m < n_values; m++)
        values_out[m] = session_value(eval, k, m);
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
static void format_num(char *out, size_t cap, double v, const char *nan_text)
{
    if (!isfinite(v)) {
        snprintf(out, cap, "%s", nan_text);
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
    snprintf(out, cap, "%s", buf);
}

static void put_num(text *t, double v, const char *nan_text)
{
    char buf[40];
    format_num(buf, sizeof buf, v, nan_text);
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

/* The "lifts" object's body of env `e`: each policy but `baseline` (or only `only`, when it is
 * below n_pol) over `baseline`, each listed metric's relative and difference. Returns whether
 * it wrote a policy. */
static int render_lifts(text *t, const report *r, const reco_eval *e, uint32_t baseline,
                        uint32_t only)
{
    int first = 1;
    for (uint32_t p = 0; p < r->n_pol; p++) {
        if (p == baseline || (only < r->n_pol && p != only))
            continue;
        puts_(t, first ? "\n        " : ",\n        ");
        first = 0;
        put_json_str(t, r->pol_names[p]);
        puts_(t, ": {");
        const char *sep = "\n          \"";
        for (uint32_t m = 0; m < e->n_met; m++) {
            if (!e->mets[m].listed)
                continue;
            reco_eval_stat rel, dif;
            reco_eval_lift(&rel, &dif, e, p, baseline, (reco_eval_metric)m);
            puts_(t, sep);
            sep = ",\n          \"";
            puts_(t, e->mets[m].label);
            puts_(t, "\": {\"relative\": ");
            json_stat(t, &rel, 0);
            puts_(t, ", \"difference\": ");
            json_stat(t, &dif, 0);
            puts_(t, "}");
        }
        puts_(t, "\n        }");
    }
    return !first;
}

static void render_json(text *t, const report *r, const reco__eval_json_extra *x)
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
            const char *sep = "\n          \"";
            for (uint32_t m = 0; m < e->n_met; m++) {
                if (!e->mets[m].listed)
                    continue;
                reco_eval_stat s;
                reco_eval_stat_get(&s, e, p, (reco_eval_metric)m);
                puts_(t, sep);
                sep = ",\n          \"";
                puts_(t, e->mets[m].label);
                puts_(t, "\": ");
                json_stat(t, &s, 1);
            }
            puts_(t, "\n        }");
        }
        puts_(t, "\n      },\n      \"lifts\": {");
        int any = render_lifts(t, r, e, r->baseline, r->n_pol);
        puts_(t, any ? "\n      }" : "}");
        if (x != NULL && x->control != NULL && x->control[k]) {
            puts_(t, ",\n      \"control\": ");
            put_json_str(t, r->pol_names[x->control_baseline]);
            puts_(t, ",\n      \"control_lifts\": {");
            any = render_lifts(t, r, e, x->control_baseline, x->control_policy);
            puts_(t, any ? "\n      }" : "}");
        }
        puts_(t, "\n    }");
        if (x != NULL && x->after != NULL && x->after[k] != NULL)
            puts_(t, x->after[k]);
    }
    puts_(t, "\n  }\n}\n");
}

static void render_csv(text *t, const report *r)
{
    puts_(t, "env,policy,metric,mean,lo,hi,n,lift_rel,lift_rel_lo,lift_rel_hi,diff,diff_lo,"
             "diff_hi\n");
    for (uint32_t k = 0; k < r->n_envs; k++)
        for (uint32_t p = 0; p < r->n_pol; p++)
            for (uint32_t m = 0; m < r->evals[k]->n_met; m++) {
                if (!r->evals[k]->mets[m].listed)
                    continue;
                reco_eval_stat s, rel, dif;
                reco_eval_stat_get(&s, r->evals[k], p, (reco_eval_metric)m);
                put_csv_str(t, r->env_names[k]);
                puts_(t, ",");
                put_csv_str(t, r->pol_names[p]);
                puts_(t, ",");
                puts_(t, r->evals[k]->mets[m].label);
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
                        const char *path, int json, const reco__eval_json_extra *x,
                        const char *fn)
{
    report r;
    int rc = report_init(&r, evals, env_names, n_envs, policy_names, baseline, path, fn);
    if (rc < 0)
        return rc;
    if (x != NULL && x->control != NULL &&
        (x->control_policy >= r.n_pol || x->control_baseline >= r.n_pol)) {
        report_free(&r);
        return reco__error_set(RECO_EINVAL, "%s: control policy %u or baseline %u is not "
                               "below the %u policies", fn, x->control_policy,
                               x->control_baseline, r.n_pol);
    }
    text t = {&r.alloc, NULL, 0, 0, 0};
    if (json)
        render_json(&t, &r, x);
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
    return write_report(evals, env_names, n_envs, policy_names, baseline, path, 1, NULL,
                        "reco_eval_write_json");
}

int reco__eval_write_json_ext(const reco_eval *const *evals, const char *const *env_names,
                              uint32_t n_envs, const char *const *policy_names,
                              uint32_t baseline, const reco__eval_json_extra *x,
                              const char *path)
{
    return write_report(evals, env_names, n_envs, policy_names, baseline, path, 1, x,
                        "reco_eval_write_json");
}

void reco__eval_format_num(char *buf, size_t cap, double v)
{
    format_num(buf, cap, v, "null");
}

int reco__eval_metric_listed(const reco_eval *eval, uint32_t metric)
{
    return eval != NULL && metric < eval->n_met && eval->mets[metric].listed;
}

int reco_eval_write_csv(const reco_eval *const *evals, const char *const *env_names,
                        uint32_t n_envs, const char *const *policy_names, uint32_t baseline,
                        const char *path)
{
    return write_report(evals, env_names, n_envs, policy_names, baseline, path, 0, NULL,
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
            q->deep_depth != p0->deep_depth || q->has_topics != p0->has_topics ||
            q->n_sig != p0->n_sig || q->n_user != p0->n_user || q->n_met != p0->n_met ||
            memcmp(q->mets, p0->mets, q->n_met * sizeof(metric_def)) != 0)
            return reco__error_set(RECO_EINVAL, "%s: part %u differs from part 0 in its number "
                                   "of policies, confidence, deep_depth or measured metrics",
                                   fn, k);
        n_ses += q->n_ses;
    }
    if (n_ses > UINT32_MAX)
        return reco__error_set(RECO_EINVAL, "%s: more than 2^32-1 sessions in all", fn);
    const reco_eval *p0 = parts[0];
    reco_allocator a = p0->alloc;
    reco_eval *e = result_new(&a, p0->n_pol, (uint32_t)n_ses, p0->n_sig, p0->n_user,
                              p0->n_met);
    if (e == NULL)
        return RECO_ENOMEM;
    e->confidence = p0->confidence;
    e->z = p0->z;
    e->deep_depth = p0->deep_depth;
    e->has_topics = p0->has_topics;
    memcpy(e->mets, p0->mets, e->n_met * sizeof(metric_def));
    for (uint32_t p = 0; p < e->n_pol; p++)
        if (p0->names[p] != NULL && (e->names[p] = reco__strdup(&a, p0->names[p])) == NULL) {
            reco_eval_free(e);
            return RECO_ENOMEM;
        }
    const size_t S = e->n_sig, U = e->n_user;
    for (uint32_t p = 0; p < e->n_pol; p++) {
        size_t at = (size_t)p * e->n_ses;
        for (uint32_t k = 0; k < n_parts; k++) {
            const reco_eval *q = parts[k];
            const size_t from = (size_t)p * q->n_ses, n = q->n_ses;
            memcpy(e->depth + at, q->depth + from, n * sizeof(uint32_t));
            memcpy(e->topics + at, q->topics + from, n * sizeof(uint32_t));
            memcpy(e->sig + at * S, q->sig + from * S, n * S * sizeof(uint32_t));
            memcpy(e->ret + at, q->ret + from, n * sizeof(double));
            if (U > 0)
                memcpy(e->user + at * U, q->user + from * U, n * U * sizeof(double));
            at += n;
        }
    }
    *out = e;
    return RECO_OK;
}
