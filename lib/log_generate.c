/* reco_log_generate: run sessions in any reco_env under a logging policy and log them.
 *
 * All P slots step together: one candidates() call and one step() call per step for every
 * running session (plus observe() and context() when the model policy, the log's user
 * features or the env's clock need the state, and probabilities() for a log with the oracle
 * columns), then one reset() for the slots whose session ended and that have another to
 * run. Rows are collected in the order they happen and sorted into canonical order once at
 * the end (reco__log_build), so the log is swapped in only when everything succeeded. */
#include <math.h>
#include <string.h>

#include "alloc_private.h"
#include "error_private.h"
#include "log_private.h"
#include "env_private.h"
#include "policy_private.h"
#include "reco/rng.h"
#include "runner_private.h"
#include "state_private.h"

#define MAX_CANDIDATES (1u << 20)

int reco_log_generate_options_init(reco_log_generate_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_log_generate_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_LOG_GENERATE_OPTIONS_VERSION,
                                 "reco_log_generate_options");
    if (rc < 0)
        return rc;
    const reco_log_generate_options d = RECO_LOG_GENERATE_OPTIONS_INIT;
    *opts = d;
    opts->version = version;
    return RECO_OK;
}

typedef struct slot_state {
    uint64_t j;     /* user index of the current session */
    uint64_t r;     /* its round */
    uint64_t k;     /* its session id */
    uint32_t t;     /* steps taken */
    int active;
    int started;    /* has had a session (j, r valid) */
} slot_state;

typedef struct gen_ctx {
    const reco_env *env;
    reco_log_generate_options o;
    const reco_allocator *a;
    uint32_t P, C, F;
    slot_state *slot;
    uint64_t started, rows;
    reco__log_cols cols;
} gen_ctx;

static uint64_t user_id(const gen_ctx *g, uint64_t j)
{
    return g->o.users != NULL ? g->o.users[j] : g->o.first_user + j;
}

/* What reset() receives for slot p's current session. */
static uint64_t reset_key(const gen_ctx *g, uint32_t p)
{
    const uint64_t u = user_id(g, g->slot[p].j);
    return g->o.session_key != NULL ? g->o.session_key(u, g->slot[p].r, g->o.session_key_payload)
                                    : u;
}

/* Moves slot p to its next session; returns 1 if it has one. */
static int next_session(gen_ctx *g, uint32_t p)
{
    slot_state *s = &g->slot[p];
    s->active = 0;
    if (g->o.n_interactions > 0 && g->rows >= g->o.n_interactions)
        return 0;
    if (g->o.n_sessions > 0 && g->started >= g->o.n_sessions)
        return 0;
    uint64_t j, r;
    if (!s->started) {
        j = p;
        r = 0;
    } else {
        j = s->j + g->P;
        r = s->r;
        if (j >= g->o.n_users) {
            j = p;
            r++;
        }
    }
    const uint64_t k = r * g->o.n_users + j; /* fits: checked against n_sessions or rows */
    if (g->o.n_sessions > 0 && k >= g->o.n_sessions)
        return 0;
    s->j = j;
    s->r = r;
    s->k = k;
    s->t = 0;
    s->active = 1;
    s->started = 1;
    g->started++;
    return 1;
}

static int64_t wrap_add_mul(int64_t base, uint64_t n, int64_t step)
{
    /* Unsigned arithmetic wraps instead of overflowing; absurd options give absurd times, not
     * undefined behaviour. */
    return (int64_t)((uint64_t)base + n * (uint64_t)step);
}

/* One row's optional columns: its user features (U), the policy's probability of the
 * shown item and the env's true probabilities (F + 1); each NULL / NaN when unknown. */
typedef struct row_extras {
    const float *features;
    float propensity;
    const float *oracle;
    const int32_t *cand; /* the candidates the policy chose from (n_cand), or NULL */
    uint32_t n_cand;
    int have_time;
    double elapsed; /* the env's clock: seconds since the session began, before the step */
} row_extras;

static int push_row(gen_ctx *g, uint32_t p, int32_t item, uint32_t fb, int exit_flag,
                    const row_extras *x)
{
    reco__log_cols *c = &g->cols;
    if (c->n == c->cap) {
        size_t cap = c->cap < 4096 ? 4096 : c->cap * 2;
        int rc = reco__log_cols_reserve(g->a, c, cap);
        if (rc < 0)
            return rc;
    }
    const slot_state *s = &g->slot[p];
    const size_t w = c->n++;
    c->user[w] = user_id(g, s->j);
    c->session[w] = s->k;
    c->step[w] = s->t;
    const int64_t start = wrap_add_mul(g->o.start_time, s->r, g->o.session_interval);
    c->ts[w] = x->have_time ? wrap_add_mul(start, (uint64_t)llround(x->elapsed), 1)
                            : wrap_add_mul(start, s->t, g->o.step_interval);
    c->item[w] = item;
    c->fb[w] = fb;
    c->exit[w] = (uint8_t)exit_flag;
    if (c->U > 0)
        memcpy(c->uf + w * c->U, x->features, c->U * sizeof(float));
    if (c->has_prop)
        c->prop[w] = x->propensity;
    for (uint32_t h = 0; h < c->n_oracle; h++)
        c->oracle[w * c->n_oracle + h] = x->oracle != NULL ? x->oracle[h] : NAN;
    if (c->Cmax > 0) {
        if (x->n_cand > c->Cmax) {
            c->n--;
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "max_candidates",
                                      "reco_log_generate: a step offered %u candidates, more "
                                      "than the log's max_candidates %u", x->n_cand, c->Cmax);
        }
        c->ncand[w] = x->n_cand;
        for (uint32_t j = 0; j < c->Cmax; j++)
            c->cand[w * c->Cmax + j] = j < x->n_cand ? x->cand[j] : RECO_PAD;
    }
    g->rows++;
    return RECO_OK;
}

static int check_options(gen_ctx *g, const reco_log *out, const reco_env *env,
                         const reco_log_policy *pol, const reco_log_generate_options *opts)
{
    static const char fn[] = "reco_log_generate";
    const reco_log_generate_options d = RECO_LOG_GENERATE_OPTIONS_INIT;
    g->o = d;
    int rc;
    if (opts != NULL) {
        if ((rc = reco__check_version(opts->version, RECO_LOG_GENERATE_OPTIONS_VERSION,
                                      "reco_log_generate_options")) < 0)
            return rc;
        g->o = *opts;
    }
    if (env->version < 1 || env->version > RECO_ENV_VERSION)
        return reco__error_set(RECO_EVERSION, "%s: reco_env version %u is not supported "
                               "(accepted: 1..%d)", fn, env->version, RECO_ENV_VERSION);
    if (env->reset == NULL || env->candidates == NULL || env->step == NULL ||
        (pol->kind == RECO_LOG_POLICY_MODEL && env->observe == NULL))
        return reco__error_set(RECO_EINVAL, "%s: the env lacks a callback", fn);
    if (env->n_signals != out->n_signals)
        return reco__error_set(RECO_EINVAL, "%s: the env has %u signals, the log %u", fn,
                               env->n_signals, out->n_signals);
    if (out->user_dim != 0 && out->user_dim != env->user_dim)
        return reco__error_set(RECO_EINVAL, "%s: the log has %u user features per row, the env "
                               "%u", fn, out->user_dim, env->user_dim);
    if (out->user_dim != 0 && env->observe == NULL)
        return reco__error_set(RECO_EINVAL, "%s: the log has user features, but the env has no "
                               "observe()", fn);
    if (env->n_items < 1 || env->n_items > (uint32_t)INT32_MAX || env->max_sessions < 1)
        return reco__error_set(RECO_EINVAL, "%s: the env has %u items and %u session slots", fn,
                               env->n_items, env->max_sessions);
    const reco_log_generate_options *o = &g->o;
    if (o->n_users < 1)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "n_users", "%s: n_users is 0", fn);
    if (o->n_sessions == 0 && o->n_interactions == 0)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "n_sessions", "%s: n_sessions and "
                                  "n_interactions are both 0 (no limit)", fn);
    if (o->max_candidates < 1 || o->max_candidates > MAX_CANDIDATES)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "max_candidates", "%s: "
                                  "max_candidates %u is out of range [1, %u]", fn,
                                  o->max_candidates, MAX_CANDIDATES);
    if (o->max_steps < 1 || o->max_steps > (uint32_t)INT32_MAX)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "max_steps", "%s: max_steps %u is "
                                  "out of range [1, %d]", fn, o->max_steps, INT32_MAX);
    if (o->parallel > env->max_sessions)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "parallel", "%s: parallel %u exceeds "
                                  "the env's %u slots", fn, o->parallel, env->max_sessions);
    if (o->session_interval < 0 || o->step_interval < 0)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "step_interval", "%s: intervals must "
                                  "not be negative", fn);
    /* Session ids r * n_users + j must fit in 64 bits. */
    if (o->n_sessions == 0 && o->n_interactions > UINT64_MAX / 2)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "n_interactions", "%s: "
                                  "n_interactions is too large", fn);

    if (pol->version < 1 || pol->version > RECO_LOG_POLICY_VERSION)
        return reco__error_set(RECO_EVERSION, "%s: reco_log_policy version %u is not supported "
                               "(accepted: 1..%d)", fn, pol->version, RECO_LOG_POLICY_VERSION);
    g->C = o->max_candidates;
    switch (pol->kind) {
    case RECO_LOG_POLICY_UNIFORM:
        break;
    case RECO_LOG_POLICY_POPULARITY:
        if (pol->item_weights == NULL || pol->n_item_weights < env->n_items)
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "item_weights", "%s: the "
                                      "popularity policy needs %u item weights", fn, env->n_items);
        for (uint32_t i = 0; i < env->n_items; i++)
            if (!(pol->item_weights[i] >= 0.0f) || isinf(pol->item_weights[i]))
                return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "item_weights", "%s: "
                                          "item_weights[%u] = %g is not a finite weight >= 0",
                                          fn, i, (double)pol->item_weights[i]);
        break;
    case RECO_LOG_POLICY_MODEL: {
        if (pol->model == NULL)
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "model", "%s: the model policy "
                                      "needs a model", fn);
        reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
        if ((rc = reco_model_get_options(&mo, pol->model)) < 0)
            return rc;
        if (mo.lookback != env->lookback || mo.n_signals != env->n_signals ||
            mo.user_dim != env->user_dim || mo.n_items < env->n_items)
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "model", "%s: the model "
                                      "(lookback %u, %u signals, user_dim %u, %u items) does not "
                                      "fit the env (lookback %u, %u signals, user_dim %u, %u "
                                      "items)", fn, mo.lookback, mo.n_signals, mo.user_dim,
                                      mo.n_items, env->lookback, env->n_signals, env->user_dim,
                                      env->n_items);
        if ((rc = reco__states_check_model(env, &mo, fn)) < 0)
            return rc;
        if (pol->signal_weights == NULL && reco__env_reward_weights(env) == NULL)
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "signal_weights", "%s: the model "
                                      "policy needs signal weights (the env declares no reward "
                                      "weights)", fn);
        for (uint32_t f = 0; pol->signal_weights != NULL && f < env->n_signals; f++)
            if (!isfinite(pol->signal_weights[f]))
                return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "signal_weights", "%s: "
                                          "signal_weights[%u] is not finite", fn, f);
        if (!(pol->temperature > 0.0f) || isinf(pol->temperature))
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "temperature", "%s: temperature "
                                      "%g is not positive and finite", fn,
                                      (double)pol->temperature);
        if (g->C > mo.max_candidates)
            g->C = mo.max_candidates;
        break;
    }
    default:
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "kind", "%s: policy kind %d is not a "
                                  "reco_log_policy_kind", fn, (int)pol->kind);
    }
    uint64_t P = o->parallel != 0 ? o->parallel : env->max_sessions;
    if (P > o->n_users)
        P = o->n_users;
    g->P = (uint32_t)P;
    g->F = env->n_signals;
    return RECO_OK;
}

/* ---- the loop: the session runner with the log as a sink ------------------------------ */

typedef struct log_sink {
    gen_ctx *g;
    const reco_env *env;
    int want_oracle, has_ctx;
    float *oracle; /* (P, F + 1) */
} log_sink;

static int log_schedule(void *payload, uint32_t slot, uint64_t *user_out, uint64_t *session_out)
{
    gen_ctx *g = payload;
    if (!next_session(g, slot))
        return 0;
    *user_out = reset_key(g, slot);
    *session_out = g->slot[slot].k;
    return 1;
}

/* the truth of what is about to be shown, before the step moves the state */
static int log_before_step(void *payload, const reco__round *r)
{
    uint64_t cb_gen = 0;
    log_sink *ls = payload;
    if (!ls->want_oracle)
        return RECO_OK;
    return RECO__CALLBACK(cb_gen, "the env's probabilities()",
                          ls->env->probabilities(ls->oracle, r->slots, r->shown, r->n,
                                                 ls->env->payload));
}

static int log_on_row(void *payload, const reco__round *r, uint32_t i)
{
    log_sink *ls = payload;
    gen_ctx *g = ls->g;
    const uint32_t p = r->slots[i];
    const reco__states *st = r->st;
    /* only a real exit is logged as one; a session cut at the env's length limit ends
     * without exit, as a truncated session */
    row_extras x;
    x.features = st != NULL && st->U > 0 ? st->feat + (size_t)i * st->U : NULL;
    x.propensity = r->prop[i];
    x.oracle = ls->want_oracle ? ls->oracle + (size_t)i * (g->F + 1) : NULL;
    x.cand = r->cand + (size_t)i * r->C;
    x.n_cand = r->counts[i];
    x.have_time = ls->has_ctx;
    x.elapsed = ls->has_ctx ? (double)st->elapsed[i] : 0.0;
    int rc = push_row(g, p, r->shown[i], r->fb[i], r->done[i] == RECO_ENV_EXIT, &x);
    if (rc < 0)
        return rc;
    g->slot[p].t++;
    return RECO_OK;
}

/* Plays the sessions with `policy` (checked) and installs the log. */
static int generate(reco_log *out, const reco_env *env, const reco_policy *policy, gen_ctx *g,
                    const char *fn)
{
    const uint32_t P = g->P, C = g->C, F = g->F;
    const reco_allocator *a = g->a;
    /* the state is read when the policy scores it, when the log records the user features,
     * or when the env keeps time (its elapsed seconds make the timestamps) */
    log_sink ls;
    memset(&ls, 0, sizeof ls);
    ls.g = g;
    ls.env = env;
    ls.has_ctx = reco__env_has_context(env);
    ls.want_oracle = out->has_oracle && env->version >= 3 && env->probabilities != NULL;
    reco__log_built b;
    memset(&b, 0, sizeof b);
    reco__runner *r = NULL;
    reco__log_cols_layout(&g->cols, out);
    int rc = RECO_ENOMEM;
    g->slot = reco__calloc(a, P, sizeof *g->slot);
    ls.oracle = reco__alloc(a, ((size_t)P * (F + 1)) * sizeof(float), 0);
    if (g->slot == NULL || ls.oracle == NULL)
        goto done;
    const reco__sink sink = {log_before_step, NULL, log_on_row, &ls};
    reco__runner_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.env = env;
    cfg.policy = policy;
    cfg.P = P;
    cfg.C = C;
    cfg.max_steps = g->o.max_steps;
    cfg.order = RECO__ROWS_BY_SLOT;
    cfg.observe = out->user_dim > 0 || ls.has_ctx;
    cfg.check_items = 1;
    cfg.fn = fn;
    cfg.schedule = log_schedule;
    cfg.schedule_payload = g;
    cfg.sinks = &sink;
    cfg.n_sinks = 1;
    if ((rc = reco__runner_create(&r, a, &cfg)) < 0 || (rc = reco__runner_start(r)) < 0 ||
        (rc = reco__runner_run(r, NULL, NULL)) < 0)
        goto done;
    reco__log_locator loc;
    memset(&loc, 0, sizeof loc);
    loc.call_base = 0;
    loc.fn = fn;
    loc.code = RECO_EINVAL;
    if ((rc = reco__log_build(&b, a, &g->cols, &loc, NULL, NULL, NULL, 0)) < 0)
        goto done;
    reco__log_install(out, &b);
    reco__log_set_rejects(out, NULL, NULL);
    rc = RECO_OK;
done:
    reco__runner_free(r);
    reco__log_built_free(a, &b);
    reco__log_cols_free(a, &g->cols);
    reco__free(a, g->slot);
    reco__free(a, ls.oracle);
    return rc;
}

int reco_log_generate(reco_log *out, const reco_env *env, const reco_log_policy *policy,
                      const reco_log_generate_options *opts)
{
    static const char fn[] = "reco_log_generate";
    if (out == NULL || env == NULL || policy == NULL)
        return reco__error_set(RECO_EINVAL, "%s: out, env and policy must not be NULL", fn);
    gen_ctx g;
    memset(&g, 0, sizeof g);
    g.env = env;
    g.a = &out->alloc;
    int rc = check_options(&g, out, env, policy, opts);
    if (rc < 0)
        return rc;
    /* the logging rule as a built-in policy, drawing from the stream it always drew from */
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    po.allocator = &out->alloc;
    switch (policy->kind) {
    case RECO_LOG_POLICY_POPULARITY:
        po.kind = RECO_POLICY_WEIGHTED;
        po.item_weights = policy->item_weights;
        po.n_item_weights = env->n_items;
        break;
    case RECO_LOG_POLICY_MODEL:
        po.kind = RECO_POLICY_MODEL_SOFTMAX;
        po.model = policy->model;
        po.signal_weights = policy->signal_weights;
        po.temperature = policy->temperature;
        break;
    default:
        po.kind = RECO_POLICY_RANDOM;
        break;
    }
    reco_policy_state *ps = NULL;
    reco_policy pol;
    if ((rc = reco_policy_create(&ps, &po)) < 0)
        return rc;
    reco__policy_set_stream(ps, g.o.seed, 0);
    if ((rc = reco_policy_get(&pol, ps)) == RECO_OK &&
        (rc = reco__policy_check(&pol, env, fn, "the logging policy")) == RECO_OK)
        rc = generate(out, env, &pol, &g, fn);
    reco_policy_free(ps);
    return rc;
}

int reco_log_generate_with(reco_log *out, const reco_env *env, const reco_policy *policy,
                           const reco_log_generate_options *opts)
{
    static const char fn[] = "reco_log_generate_with";
    if (out == NULL || env == NULL || policy == NULL)
        return reco__error_set(RECO_EINVAL, "%s: out, env and policy must not be NULL", fn);
    gen_ctx g;
    memset(&g, 0, sizeof g);
    g.env = env;
    g.a = &out->alloc;
    static const reco_log_policy uniform = RECO_LOG_POLICY_INIT;
    int rc = check_options(&g, out, env, &uniform, opts);
    if (rc < 0)
        return rc;
    if ((rc = reco__check_session_env(env, fn)) < 0 ||
        (rc = reco__policy_check(policy, env, fn, "the policy")) < 0)
        return rc;
    return generate(out, env, policy, &g, fn);
}
